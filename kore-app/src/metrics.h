/*
 * metrics.h
 *	Prometheus metrics shared by every Kore worker process.
 *
 * The counters live in one struct zx_metrics that the parent maps
 * MAP_SHARED before it forks the workers, so /metrics served by any
 * worker shows the same numbers. Updates are relaxed atomic adds.
 * Rendering (metrics_text.c) is plain C so tests reach it.
 */
#ifndef ZX_METRICS_H
#define ZX_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "procstat.h"

enum zx_route {
	ZX_ROUTE_WEBHOOK = 0,
	ZX_ROUTE_HEALTH,
	ZX_ROUTE_METRICS,
	ZX_ROUTE_LOGIN,
	ZX_ROUTE_PIPELINES,
	ZX_ROUTE_PIPELINE,
	ZX_ROUTE_RESULTS,
	ZX_ROUTE_CANCEL,
	ZX_ROUTE_RETRY,
	ZX_ROUTE_STRATEGIES,
	ZX_ROUTE_TICKERS,
	ZX_ROUTE_LIVE,
	ZX_ROUTE_PAGES,		/* dashboard pages and their assets */
	ZX_ROUTE_OTHER,
	ZX_ROUTE_COUNT
};

#define ZX_CODE_COUNT		22	/* see metrics_text.c codes[] */
#define ZX_BUCKET_COUNT		14	/* finite buckets; +Inf is implied */

/* What zixly_queue_stats counts cheaply: waiting, running, dead letters. */
#define ZX_QUEUE_STATUSES	3	/* QUEUED RUNNING FAILED */

#define ZX_PROC_SLOTS		64	/* Kore workers (ZIXLY_APP_WORKERS <= 64) */

/* What a Kore worker publishes about itself (dbconns.c). */
struct zx_proc_slot {
	int32_t		pid;		/* 0: no worker in this slot */
	int32_t		db_open;	/* pooled database connections it holds */
	int32_t		db_busy;	/* of which are running statements */
};

struct zx_metrics {
	uint64_t	jobs_queued;	/* jobs this app created (not replays) */
	/* per route, status code and latency bucket (last = +Inf only) */
	uint64_t	hist[ZX_ROUTE_COUNT][ZX_CODE_COUNT][ZX_BUCKET_COUNT + 1];
	uint64_t	sum_us[ZX_ROUTE_COUNT][ZX_CODE_COUNT];
	int32_t		parent_pid;	/* Kore's parent (main) process */
	struct zx_proc_slot workers[ZX_PROC_SLOTS];	/* by Kore worker id - 1 */
};

extern const char *const zx_queue_statuses[ZX_QUEUE_STATUSES];

/* The shared counters (set up by zx_metrics_init in the parent). */
extern struct zx_metrics *zx_metrics;

void	 zx_metrics_observe(struct zx_metrics *, int route, int code,
	    uint64_t usec);
void	 zx_metrics_job_queued(struct zx_metrics *);

/*
 * The exposition text. depth holds the job counts per status of
 * zx_queue_statuses, or is NULL when the database could not be asked
 * (then pipeline_queue_depth is left out rather than reported as 0).
 */
void	 zx_metrics_render(const struct zx_metrics *, const int64_t *depth,
	    struct zx_buf *);

/*
 * The process_* families, one series per process labelled process="main"
 * (Kore's parent) or "worker<id>" -- names that survive restarts, unlike
 * pids -- and the pooled database connections of all workers by state.
 */
struct zx_proc_sample {
	char			name[24];
	struct zx_procstat	st;
};

void	 zx_metrics_render_processes(const struct zx_proc_sample *, int,
	    int64_t db_busy, int64_t db_idle, struct zx_buf *);

const char *zx_route_name(int);

#endif
