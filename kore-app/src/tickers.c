/*
 * tickers.c
 *	GET /api/tickers (JWT): the tickers that have prices, for the
 *	new-sweep form: {"tickers":[{"ticker","bars","first_date",
 *	"last_date"}]}, by ticker, at most 1000.
 *
 * Prices are shared by every tenant (zixly.prices has no tenant column),
 * so this is one statement outside a tenant transaction. The JSON is
 * built by PostgreSQL; dates are the UTC days of the first and last bar.
 */
#include <sys/types.h>

#include "app.h"

static const char sql_tickers[] =
    "SELECT pg_catalog.json_build_object('tickers', "
    "coalesce(pg_catalog.json_agg(t ORDER BY t.ticker), '[]'::json)) "
    "FROM (SELECT p.ticker, count(*) AS bars, "
    "(min(p.ts) AT TIME ZONE 'UTC')::date AS first_date, "
    "(max(p.ts) AT TIME ZONE 'UTC')::date AS last_date "
    "FROM zixly.prices p GROUP BY p.ticker ORDER BY p.ticker "
    "LIMIT 1000) t";

int		zx_api_tickers(struct http_request *);

static int	tickers_next(struct http_request *, struct zx_ctx *,
		    struct zx_stmt *);
static void	tickers_rows(struct http_request *, struct zx_ctx *,
		    struct kore_pgsql *);

static const struct zx_flow tickers_flow = {
	tickers_next, tickers_rows, NULL
};

int
zx_api_tickers(struct http_request *req)
{
	struct zx_jwt_claims	 claims;
	struct zx_ctx		*ctx;
	int			 a;

	if (http_state_exists(req))
		return (zx_db_run(req));

	ctx = zx_ctx_create(req, sizeof(*ctx), ZX_ROUTE_TICKERS, &tickers_flow,
	    NULL);
	if ((a = zx_dashboard_begin(req, ctx, HTTP_METHOD_GET, &claims)) !=
	    ZX_AUTH_OK)
		return (zx_dashboard_answer(req, ctx, a));
	return (zx_db_start(req, ctx));
}

static int
tickers_next(struct http_request *req, struct zx_ctx *ctx, struct zx_stmt *st)
{
	(void)req;
	if (ctx->step != 0)
		return (0);
	st->sql = sql_tickers;
	st->nparams = 0;
	st->retry_safe = 1;
	return (1);
}

static void
tickers_rows(struct http_request *req, struct zx_ctx *ctx,
    struct kore_pgsql *sql)
{
	(void)req;
	if (kore_pgsql_ntuples(sql) != 1)
		return;
	zx_buf_reset(&ctx->body);
	zx_buf_puts(&ctx->body, kore_pgsql_getvalue(sql, 0, 0));
	ctx->status = 200;
}
