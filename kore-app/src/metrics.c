/*
 * metrics.c
 *	GET /metrics, and the shared counters behind it.
 *
 * zx_metrics_init runs in the parent before Kore forks its workers: one
 * anonymous MAP_SHARED mapping that every worker inherits, so each
 * counts into the same struct and any of them can answer a scrape with
 * the whole picture. Queue depth comes from the database
 * (zixly_queue_stats: counts only, no tenant rows) on each scrape; if the
 * database is down the scrape still answers, without that gauge. The
 * process_* figures cover Kore's parent and every worker (procstat.c),
 * the database connections every worker's pool (dbconns.c).
 */
#include <sys/types.h>
#include <sys/mman.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "app.h"

struct metrics_state {
	struct zx_ctx	ctx;
	int		have_depth;
	int64_t		depth[ZX_QUEUE_STATUSES];
};

static struct zx_procstat_base	procbase;
static int			have_procbase;

static void	render_processes(struct zx_buf *);
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
	zx_metrics->parent_pid = (int32_t)getpid();
	if (zx_procstat_init(&procbase) == -1)
		kore_log(LOG_NOTICE, "zixly: /proc is not readable: /metrics "
		    "leaves the process_* figures out");
	else
		have_procbase = 1;
}

/*
 * Every process of this app: Kore's parent and each worker (pids from
 * the shared slots), read from /proc by whichever worker answers, so
 * every scrape shows them all. Connection counts are the workers' own.
 */
static void
render_processes(struct zx_buf *out)
{
	struct zx_proc_sample	 p[ZX_PROC_SLOTS + 1];
	struct zx_proc_slot	*w;
	int64_t			 busy = 0, open = 0;
	int			 i, n = 0, pid;

	zx_dbconns_publish();
	if (have_procbase && zx_procstat_read(zx_metrics->parent_pid,
	    &procbase, &p[n].st) == 0) {
		(void)kore_strlcpy(p[n].name, "main", sizeof(p[n].name));
		n++;
	}
	for (i = 0; i < ZX_PROC_SLOTS; i++) {
		w = &zx_metrics->workers[i];
		if ((pid = __atomic_load_n(&w->pid, __ATOMIC_RELAXED)) == 0)
			continue;
		/* A worker that is gone (and not restarted) is left out. */
		if (kill(pid, 0) == -1 && errno == ESRCH)
			continue;
		open += __atomic_load_n(&w->db_open, __ATOMIC_RELAXED);
		busy += __atomic_load_n(&w->db_busy, __ATOMIC_RELAXED);
		if (have_procbase &&
		    zx_procstat_read(pid, &procbase, &p[n].st) == 0) {
			(void)snprintf(p[n].name, sizeof(p[n].name), "worker%d",
			    i + 1);
			n++;
		}
	}
	zx_metrics_render_processes(p, n, busy, open > busy ? open - busy : 0,
	    out);
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
	render_processes(&ctx->body);
	ctx->content_type = "text/plain; version=0.0.4; charset=utf-8";
	ctx->status = 200;
}
