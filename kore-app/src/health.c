/*
 * health.c
 *	GET /health, and the JSON 404 for every path no route claims.
 *
 * Health asks the database one cheap question (is the zixly extension
 * there, and which version) through the usual asynchronous path. When
 * the database is down, Kore's pool fails to connect at once (or within
 * PGCONNECT_TIMEOUT for an unreachable host) and the answer is a 503; the
 * next request tries a fresh connection, so health recovers on its own
 * when the database is back.
 */
#include <sys/types.h>

#include <string.h>

#include "app.h"
#include "version.h"

struct health_state {
	struct zx_ctx	ctx;
	int		found;
	char		extversion[32];
};

static int	health_next(struct http_request *, struct zx_ctx *,
		    struct zx_stmt *);
static void	health_rows(struct http_request *, struct zx_ctx *,
		    struct kore_pgsql *);
static void	health_done(struct http_request *, struct zx_ctx *);

int		zx_health(struct http_request *);
int		zx_not_found(struct http_request *);

static const struct zx_flow health_flow = {
	health_next, health_rows, health_done
};

int
zx_health(struct http_request *req)
{
	struct health_state	*hs;

	if (http_state_exists(req))
		return (zx_db_run(req));

	hs = zx_ctx_create(req, sizeof(*hs), ZX_ROUTE_HEALTH, &health_flow,
	    NULL);
	if (!zx_method_ok(req, &hs->ctx, HTTP_METHOD_GET))
		return (zx_reply(req, &hs->ctx));
	return (zx_db_start(req, &hs->ctx));
}

static int
health_next(struct http_request *req, struct zx_ctx *ctx, struct zx_stmt *st)
{
	(void)req;
	if (ctx->step != 0)
		return (0);
	st->sql = "SELECT extversion FROM pg_catalog.pg_extension "
	    "WHERE extname = 'zixly'";
	st->nparams = 0;
	st->retry_safe = 1;
	return (1);
}

static void
health_rows(struct http_request *req, struct zx_ctx *ctx,
    struct kore_pgsql *sql)
{
	struct health_state	*hs = (struct health_state *)ctx;

	(void)req;
	if (kore_pgsql_ntuples(sql) != 1)
		return;
	hs->found = 1;
	(void)kore_strlcpy(hs->extversion, kore_pgsql_getvalue(sql, 0, 0),
	    sizeof(hs->extversion));
}

static void
health_done(struct http_request *req, struct zx_ctx *ctx)
{
	struct health_state	*hs = (struct health_state *)ctx;
	struct zx_buf		*b = &ctx->body;

	(void)req;
	zx_buf_reset(b);
	ctx->content_type = "application/json";
	if (ctx->failed) {
		zx_buf_puts(b, "{\"status\":\"unhealthy\",\"version\":\""
		    ZX_APP_VERSION "\",\"database_connected\":false,"
		    "\"error\":\"service_unavailable\",\"message\":"
		    "\"the database is unreachable\"}");
		ctx->status = 503;
		return;
	}
	if (!hs->found) {
		zx_buf_puts(b, "{\"status\":\"unhealthy\",\"version\":\""
		    ZX_APP_VERSION "\",\"database_connected\":true,"
		    "\"extension_version\":null,"
		    "\"error\":\"service_unavailable\",\"message\":"
		    "\"the zixly extension is not installed in the database\"}");
		ctx->status = 503;
		return;
	}
	zx_buf_puts(b, "{\"status\":\"healthy\",\"version\":\"" ZX_APP_VERSION
	    "\",\"database_connected\":true,\"extension_version\":");
	zx_buf_json_cstr(b, hs->extversion);
	zx_buf_puts(b, "}");
	ctx->status = 200;
}

/* The last route in zixly.conf: any other path. */
int
zx_not_found(struct http_request *req)
{
	struct zx_ctx	*ctx;

	ctx = zx_ctx_create(req, sizeof(*ctx), ZX_ROUTE_OTHER, NULL, NULL);
	zx_fail(ctx, 404, "not_found", "no such resource");
	return (zx_reply(req, ctx));
}
