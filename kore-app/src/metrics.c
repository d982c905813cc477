/*
 * metrics.c
 *	GET /metrics, and the shared counters behind it.
 *
 * zx_metrics_init runs in the parent before Kore forks its workers: one
 * anonymous MAP_SHARED mapping that every worker inherits, so each
 * counts into the same struct and any of them can answer a scrape with
 * the whole picture. Queue depth comes from the database
 * (zixly_queue_stats: counts only, no tenant rows) on each scrape; if the
 * database is down the scrape still answers, without that gauge.
 */
#include <sys/types.h>
#include <sys/mman.h>

#include <string.h>

#include "app.h"

struct metrics_state {
	struct zx_ctx	ctx;
	int		have_depth;
	int64_t		depth[ZX_QUEUE_STATUSES];
};

static int	metrics_next(struct http_request *, struct zx_ctx *,
		    struct zx_stmt *);
static void	metrics_rows(struct http_request *, struct zx_ctx *,
		    struct kore_pgsql *);
static void	metrics_done(struct http_request *, struct zx_ctx *);

int		zx_metrics_handler(struct http_request *);

static const struct zx_flow metrics_flow = {
	metrics_next, metrics_rows, metrics_done
};

void
zx_metrics_init(void)
{
	void	*p;

	p = mmap(NULL, sizeof(struct zx_metrics), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		fatal("zixly: cannot map the shared metrics: %s", errno_s);
	memset(p, 0, sizeof(struct zx_metrics));
	zx_metrics = p;
}

int
zx_metrics_handler(struct http_request *req)
{
	struct metrics_state	*ms;

	if (http_state_exists(req))
		return (zx_db_run(req));

	ms = zx_ctx_create(req, sizeof(*ms), ZX_ROUTE_METRICS, &metrics_flow,
	    NULL);
	if (!zx_method_ok(req, &ms->ctx, HTTP_METHOD_GET))
		return (zx_reply(req, &ms->ctx));
	return (zx_db_start(req, &ms->ctx));
}

static int
metrics_next(struct http_request *req, struct zx_ctx *ctx, struct zx_stmt *st)
{
	(void)req;
	if (ctx->step != 0)
		return (0);
	st->sql = "SELECT status, sum(jobs)::bigint FROM zixly_queue_stats() "
	    "GROUP BY status";
	st->nparams = 0;
	st->retry_safe = 1;
	return (1);
}

static void
metrics_rows(struct http_request *req, struct zx_ctx *ctx,
    struct kore_pgsql *sql)
{
	struct metrics_state	*ms = (struct metrics_state *)ctx;
	int			 i, k, n = kore_pgsql_ntuples(sql);
	const char		*status;

	(void)req;
	ms->have_depth = 1;
	for (i = 0; i < n; i++) {
		status = kore_pgsql_getvalue(sql, i, 0);
		for (k = 0; k < ZX_QUEUE_STATUSES; k++) {
			if (strcmp(status, zx_queue_statuses[k]) == 0) {
				ms->depth[k] = strtoll(
				    kore_pgsql_getvalue(sql, i, 1), NULL, 10);
			}
		}
	}
}

static void
metrics_done(struct http_request *req, struct zx_ctx *ctx)
{
	struct metrics_state	*ms = (struct metrics_state *)ctx;

	(void)req;
	if (ctx->status != 0 && !ctx->failed)
		return;
	/* The scrape answers even when the database does not. */
	zx_buf_reset(&ctx->body);
	zx_metrics_render(zx_metrics, ms->have_depth ? ms->depth : NULL,
	    &ctx->body);
	ctx->content_type = "text/plain; version=0.0.4; charset=utf-8";
	ctx->status = 200;
}
