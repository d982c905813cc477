/*
 * api_jobs.c
 *	The dashboard's JSON API (JWT): jobs, their results and the best
 *	strategies per ticker.
 *
 *	GET  /api/pipelines?status=&limit=&cursor=   recent jobs, top 5 each
 *	POST /api/pipelines                           same as the webhook
 *	GET  /api/pipelines/{id}                      job + top 10 results
 *	GET  /api/pipelines/{id}/results              full grid (results.c)
 *	POST /api/pipelines/{id}/cancel | /retry
 *	GET  /api/strategies/top?ticker=&objective=&limit=
 *
 * Reads run as BEGIN; set_config('zixly.tenant_id'); SELECT; COMMIT
 * (db.c, zx_tenant_next), so row-level security decides what a tenant
 * sees: another tenant's job is simply not found (404). Cancel and retry
 * go through the extension's zixly_cancel / zixly_retry in the same kind
 * of transaction. JSON for rows is built by PostgreSQL (json_build_object
 * writes NaN and infinities as strings, so the output stays valid JSON).
 *
 * A job's results come in the order of their stored rank (1 = best by the
 * job's own objective, which for max_drawdown_pct is the lowest score);
 * unranked rows (rank 0, too few trades) last. The best strategies of a
 * ticker compare scores only among jobs of the same objective.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "errors.h"

#define RESULT_JSON							\
	"pg_catalog.json_build_object('rank', r.rank, "			\
	"'ticker', r.ticker, 'strategy_type', r.strategy_type, "	\
	"'fast_period', r.fast_period, 'slow_period', r.slow_period, "	\
	"'signal_period', r.signal_period, 'score', r.score, "		\
	"'sharpe_ratio', r.sharpe_ratio, "				\
	"'total_return_pct', r.total_return_pct, "			\
	"'max_drawdown_pct', r.max_drawdown_pct, "			\
	"'total_trades', r.total_trades, "				\
	"'sortino_ratio', r.sortino_ratio, "				\
	"'win_rate_pct', r.win_rate_pct, "				\
	"'profit_factor', r.profit_factor, "				\
	"'exposure_pct', r.exposure_pct, "				\
	"'sweep_run_id', r.sweep_run_id)"

#define RESULT_ORDER	"r.rank < 1, r.rank, r.fast_period, r.slow_period"

/*
 * A job's result never shows where the worker put the grid file on its
 * host (artifact.path); the list leaves out the equity curves too.
 */
#define JOB_RESULT	"(j.result #- '{artifact,path}')"
#define JOB_RESULT_BRIEF "((j.result #- '{artifact,path}') - 'equity_curve')"

#define JOB_FIELDS_WITH(res)						\
	"'id', j.id, 'job_type', j.job_type, 'status', j.status, "	\
	"'queue', j.queue, 'priority', j.priority, "			\
	"'attempts', j.attempts, 'max_attempts', j.max_attempts, "	\
	"'parameters', j.parameters, 'result', " res ", "		\
	"'metrics', j.metrics, 'error_message', j.error_message, "	\
	"'created_at', " ZX_SQL_TS("j.created_at") ", "			\
	"'run_at', " ZX_SQL_TS("j.run_at") ", "				\
	"'started_at', " ZX_SQL_TS("j.started_at") ", "			\
	"'completed_at', " ZX_SQL_TS("j.completed_at")
#define JOB_FIELDS	JOB_FIELDS_WITH(JOB_RESULT)

#define JOB_JSON	"pg_catalog.json_build_object(" JOB_FIELDS ")"

#define JOB_JSON_TOP(n, res)						\
	"pg_catalog.json_build_object(" JOB_FIELDS_WITH(res)		\
	", 'top_results', "						\
	"(SELECT coalesce(pg_catalog.json_agg(" RESULT_JSON		\
	" ORDER BY " RESULT_ORDER "), '[]'::json) FROM "		\
	"(SELECT * FROM zixly.trading_sweep_results r "			\
	"WHERE r.job_id = j.id ORDER BY " RESULT_ORDER " LIMIT " n ") r))"

static const char sql_list[] =
    "SELECT " JOB_JSON_TOP("5", JOB_RESULT_BRIEF) ", "
    "(extract(epoch FROM j.created_at) * 1000000)::bigint, j.id "
    "FROM zixly.pipeline_jobs j "
    "WHERE ($1::text IS NULL OR j.status = $1::text) "
    "AND ($2::bigint IS NULL OR (j.created_at, j.id) < "
    "('epoch'::timestamptz + $2::bigint * interval '1 microsecond', "
    "$3::text)) "
    "ORDER BY j.created_at DESC, j.id DESC LIMIT $4::integer";

static const char sql_detail[] =
    "SELECT " JOB_JSON_TOP("10", JOB_RESULT) " FROM zixly.pipeline_jobs j "
    "WHERE j.id = $1";

static const char sql_cancel[] =
    "SELECT " JOB_JSON " FROM zixly_cancel($1) j";
static const char sql_retry[] =
    "SELECT " JOB_JSON " FROM zixly_retry($1) j";

/* $3: the objective; only max_drawdown_pct is lower-is-better. */
static const char sql_top[] =
    "SELECT pg_catalog.json_build_object('job_id', r.job_id, "
    "'result', " RESULT_JSON ") "
    "FROM zixly.trading_sweep_results r "
    "JOIN zixly.pipeline_jobs j ON j.id = r.job_id "
    "WHERE r.ticker = $1 AND r.rank >= 1 AND r.score IS NOT NULL "
    "AND r.score <> 'NaN'::float8 "
    "AND coalesce(j.parameters->>'objective', 'sharpe_ratio') = $3 "
    "ORDER BY CASE WHEN $3 = 'max_drawdown_pct' THEN r.score "
    "ELSE -r.score END, r.created_at DESC, r.id "
    "LIMIT $2::integer";

/* The objectives a sweep can rank by (the extension's list). */
#define OBJECTIVE_WHY	"must be one of sharpe_ratio, sortino_ratio, "	\
			"total_return_pct, max_drawdown_pct, profit_factor, "	\
			"win_rate_pct"
static const char *const objectives[] = {
	"sharpe_ratio", "sortino_ratio", "total_return_pct",
	"max_drawdown_pct", "profit_factor", "win_rate_pct", NULL
};

enum job_action { ACT_LIST, ACT_DETAIL, ACT_CANCEL, ACT_RETRY, ACT_TOP };

struct api_state {
	struct zx_ctx	 ctx;
	enum job_action	 action;
	char		 id[ZX_ID_MAX + 1];
	/* list and top */
	char		*status;
	char		 limit[24];	/* as sent to SQL (list: +1) */
	long		 page;
	char		 cursor_us[24];
	char		 cursor_id[ZX_ID_MAX + 1];
	int		 has_cursor;
	char		*ticker;
	const char	*objective;	/* one of objectives[] */
	/* the answer, built from rows */
	struct zx_buf	 out;
	long		 rows;
	int		 found;
};

static void	api_main(struct zx_ctx *, struct zx_stmt *);
static int	api_next(struct http_request *, struct zx_ctx *,
		    struct zx_stmt *);
static void	api_rows(struct http_request *, struct zx_ctx *,
		    struct kore_pgsql *);
static void	api_done(struct http_request *, struct zx_ctx *);
static void	api_free(struct zx_ctx *);
static void	rows_list(struct api_state *, struct kore_pgsql *);

int		zx_api_pipelines(struct http_request *);
int		zx_api_pipeline(struct http_request *);
int		zx_api_strategies_top(struct http_request *);

static const struct zx_flow api_flow = { api_next, api_rows, api_done };

static void
api_free(struct zx_ctx *ctx)
{
	struct api_state	*as = (struct api_state *)ctx;

	zx_buf_free(&as->out);
	free(as->status);
	free(as->ticker);
}

static struct api_state *
api_state(struct http_request *req, int route, enum job_action action)
{
	struct api_state	*as;

	as = zx_ctx_create(req, sizeof(*as), route, &api_flow, api_free);
	as->action = action;
	zx_buf_init(&as->out, 1024);
	return (as);
}

/* GET and POST /api/pipelines */
int
zx_api_pipelines(struct http_request *req)
{
	struct zx_jwt_claims	 claims;
	struct api_state	*as;
	struct zx_ctx		*ctx;
	char			*v;
	long			 n;
	int			 a;

	if (http_state_exists(req)) {
		return (req->method == HTTP_METHOD_POST ?
		    zx_enqueue_resume(req) : zx_db_run(req));
	}

	if (req->method == HTTP_METHOD_POST) {
		ctx = zx_enqueue_ctx(req, ZX_ROUTE_PIPELINES);
		switch (zx_auth_dashboard(req, ctx, &claims)) {
		case ZX_AUTH_OK:
			return (zx_enqueue_begin(req, ctx));
		case ZX_AUTH_CHECK_KEY:
			return (zx_db_start(req, ctx));
		default:
			return (zx_reply(req, ctx));
		}
	}

	as = api_state(req, ZX_ROUTE_PIPELINES, ACT_LIST);
	ctx = &as->ctx;
	if ((a = zx_dashboard_begin(req, ctx, HTTP_METHOD_GET |
	    HTTP_METHOD_POST, &claims)) != ZX_AUTH_OK)
		return (zx_dashboard_answer(req, ctx, a));

	http_populate_qs(req);
	if (!zx_query_arg(req, ctx, "status", &v, "must be one of QUEUED, "
	    "RUNNING, COMPLETED, FAILED, CANCELLED"))
		return (zx_reply(req, ctx));
	if (v != NULL)
		as->status = zx_xstrdup(v);

	as->page = 20;
	if (!zx_query_arg(req, ctx, "limit", &v, "must be an integer from 1 "
	    "to 100"))
		return (zx_reply(req, ctx));
	if (v != NULL) {
		if (zx_parse_long(v, 1, 100, &n) == -1) {
			zx_fail(ctx, 400, "invalid_request", "query parameter "
			    "\"limit\": must be an integer from 1 to 100");
			return (zx_reply(req, ctx));
		}
		as->page = n;
	}
	(void)snprintf(as->limit, sizeof(as->limit), "%ld", as->page + 1);

	if (!zx_query_arg(req, ctx, "cursor", &v, "is not a cursor this API "
	    "gave out"))
		return (zx_reply(req, ctx));
	if (v != NULL) {
		if (zx_cursor_decode(v, as->cursor_us, sizeof(as->cursor_us),
		    as->cursor_id, sizeof(as->cursor_id)) == -1) {
			zx_fail(ctx, 400, "invalid_request", "query parameter "
			    "\"cursor\": is not a cursor this API gave out");
			return (zx_reply(req, ctx));
		}
		as->has_cursor = 1;
	}
	return (zx_db_start(req, ctx));
}

/* /api/pipelines/{id}[/results|/cancel|/retry] */
int
zx_api_pipeline(struct http_request *req)
{
	struct zx_jwt_claims	 claims;
	struct api_state	*as;
	struct zx_ctx		*ctx;
	const char		*action;
	char			 id[ZX_ID_MAX + 1];
	int			 route, method, a;
	enum job_action		 act;

	if (http_state_exists(req))
		return (zx_db_run(req));

	action = zx_path_job_id(req->path, id, sizeof(id));
	if (action == NULL) {
		route = ZX_ROUTE_PIPELINE;
		act = ACT_DETAIL;
	} else if (*action == '\0') {
		route = ZX_ROUTE_PIPELINE;
		act = ACT_DETAIL;
	} else if (strcmp(action, "results") == 0) {
		return (zx_results_start(req, id));
	} else if (strcmp(action, "cancel") == 0) {
		route = ZX_ROUTE_CANCEL;
		act = ACT_CANCEL;
	} else if (strcmp(action, "retry") == 0) {
		route = ZX_ROUTE_RETRY;
		act = ACT_RETRY;
	} else {
		action = NULL;
		route = ZX_ROUTE_OTHER;
		act = ACT_DETAIL;
	}

	as = api_state(req, route, act);
	ctx = &as->ctx;
	if (action == NULL) {
		zx_fail(ctx, 404, "not_found", "no such resource");
		return (zx_reply(req, ctx));
	}
	(void)kore_strlcpy(as->id, id, sizeof(as->id));

	method = (act == ACT_CANCEL || act == ACT_RETRY) ?
	    HTTP_METHOD_POST : HTTP_METHOD_GET;
	if ((a = zx_dashboard_begin(req, ctx, method, &claims)) != ZX_AUTH_OK)
		return (zx_dashboard_answer(req, ctx, a));
	return (zx_db_start(req, ctx));
}

/* GET /api/strategies/top?ticker=&objective=&limit= */
int
zx_api_strategies_top(struct http_request *req)
{
	struct zx_jwt_claims	 claims;
	struct api_state	*as;
	struct zx_ctx		*ctx;
	char			*v;
	long			 n;
	int			 a, i;

	if (http_state_exists(req))
		return (zx_db_run(req));

	as = api_state(req, ZX_ROUTE_STRATEGIES, ACT_TOP);
	ctx = &as->ctx;
	if ((a = zx_dashboard_begin(req, ctx, HTTP_METHOD_GET, &claims)) !=
	    ZX_AUTH_OK)
		return (zx_dashboard_answer(req, ctx, a));

	http_populate_qs(req);
	if (!zx_query_arg(req, ctx, "ticker", &v, "must be 1 to 64 printable "
	    "characters"))
		return (zx_reply(req, ctx));
	if (v == NULL) {
		zx_fail(ctx, 400, "invalid_request",
		    "query parameter \"ticker\" is required");
		return (zx_reply(req, ctx));
	}
	as->ticker = zx_xstrdup(v);

	as->objective = objectives[0];
	if (!zx_query_arg(req, ctx, "objective", &v, OBJECTIVE_WHY))
		return (zx_reply(req, ctx));
	if (v != NULL) {
		for (i = 0; objectives[i] != NULL; i++) {
			if (strcmp(v, objectives[i]) == 0)
				break;
		}
		if (objectives[i] == NULL) {
			zx_fail(ctx, 400, "invalid_request", "query parameter "
			    "\"objective\": " OBJECTIVE_WHY);
			return (zx_reply(req, ctx));
		}
		as->objective = objectives[i];
	}

	n = 10;
	if (!zx_query_arg(req, ctx, "limit", &v, "must be an integer from 1 "
	    "to 100"))
		return (zx_reply(req, ctx));
	if (v != NULL && zx_parse_long(v, 1, 100, &n) == -1) {
		zx_fail(ctx, 400, "invalid_request", "query parameter "
		    "\"limit\": must be an integer from 1 to 100");
		return (zx_reply(req, ctx));
	}
	(void)snprintf(as->limit, sizeof(as->limit), "%ld", n);
	return (zx_db_start(req, ctx));
}

static void
api_main(struct zx_ctx *ctx, struct zx_stmt *st)
{
	struct api_state	*as = (struct api_state *)ctx;

	switch (as->action) {
	case ACT_LIST:
		st->sql = sql_list;
		st->nparams = 4;
		st->params[0] = as->status;
		st->params[1] = as->has_cursor ? as->cursor_us : NULL;
		st->params[2] = as->has_cursor ? as->cursor_id : NULL;
		st->params[3] = as->limit;
		break;
	case ACT_DETAIL:
		st->sql = sql_detail;
		st->nparams = 1;
		st->params[0] = as->id;
		break;
	case ACT_CANCEL:
	case ACT_RETRY:
		st->sql = as->action == ACT_CANCEL ? sql_cancel : sql_retry;
		st->nparams = 1;
		st->params[0] = as->id;
		break;
	case ACT_TOP:
		st->sql = sql_top;
		st->nparams = 3;
		st->params[0] = as->ticker;
		st->params[1] = as->limit;
		st->params[2] = as->objective;
		break;
	}
}

static int
api_next(struct http_request *req, struct zx_ctx *ctx, struct zx_stmt *st)
{
	(void)req;
	return (zx_tenant_next(ctx, st, api_main));
}

static void
rows_list(struct api_state *as, struct kore_pgsql *sql)
{
	long	i, n = kore_pgsql_ntuples(sql);
	long	shown = n > as->page ? as->page : n;

	zx_buf_puts(&as->out, "{\"jobs\":[");
	for (i = 0; i < shown; i++) {
		if (i > 0)
			zx_buf_puts(&as->out, ",");
		zx_buf_puts(&as->out, kore_pgsql_getvalue(sql, i, 0));
	}
	zx_buf_puts(&as->out, "],\"next_cursor\":");
	if (n > as->page) {
		zx_buf_puts(&as->out, "\"");
		zx_cursor_encode(&as->out, kore_pgsql_getvalue(sql, shown - 1, 1),
		    kore_pgsql_getvalue(sql, shown - 1, 2));
		zx_buf_puts(&as->out, "\"");
	} else {
		zx_buf_puts(&as->out, "null");
	}
	zx_buf_puts(&as->out, "}");
	as->found = 1;
}

static void
api_rows(struct http_request *req, struct zx_ctx *ctx, struct kore_pgsql *sql)
{
	struct api_state	*as = (struct api_state *)ctx;
	int			 i, n;

	(void)req;
	if (ctx->step != ZX_TENANT_MAIN)
		return;
	n = kore_pgsql_ntuples(sql);

	switch (as->action) {
	case ACT_LIST:
		rows_list(as, sql);
		break;
	case ACT_DETAIL:
	case ACT_CANCEL:
	case ACT_RETRY:
		if (n == 1) {
			zx_buf_puts(&as->out, kore_pgsql_getvalue(sql, 0, 0));
			as->found = 1;
		}
		break;
	case ACT_TOP:
		as->found = 1;
		zx_buf_puts(&as->out, "{\"ticker\":");
		zx_buf_json_cstr(&as->out, as->ticker);
		zx_buf_puts(&as->out, ",\"objective\":");
		zx_buf_json_cstr(&as->out, as->objective);
		zx_buf_puts(&as->out, ",\"strategies\":[");
		for (i = 0; i < n; i++) {
			if (i > 0)
				zx_buf_puts(&as->out, ",");
			zx_buf_puts(&as->out, kore_pgsql_getvalue(sql, i, 0));
		}
		zx_buf_puts(&as->out, "]}");
		break;
	}
}

static void
api_done(struct http_request *req, struct zx_ctx *ctx)
{
	struct api_state	*as = (struct api_state *)ctx;

	(void)req;
	if (ctx->status != 0)
		return;
	if (!as->found) {
		zx_fail(ctx, 404, "not_found", "no such job");
		return;
	}
	zx_buf_reset(&ctx->body);
	zx_buf_append(&ctx->body, as->out.data, as->out.len);
	ctx->status = 200;
}
