/*
 * metrics.h — what this worker has done, as Prometheus text on GET /metrics (libmicrohttpd,
 * its own thread), plus GET /health.  Every update takes one mutex; the noop path updates once
 * per batch.
 *
 *   pipeline_jobs_processed_total{job_type,status}   status: completed, failed, retried,
 *                                                     released, lost
 *   pipeline_job_duration_seconds{job_type}          histogram, buckets 1 5 15 30 60 300 600 1800
 *   zixly_engine_bar_combinations_total              bars x combinations backtested
 *   zixly_engine_seconds_total                       wall time in the engine
 *   zixly_worker_jobs_in_flight                      claimed and not yet finished
 *   zixly_worker_claims_total, zixly_worker_claimed_jobs_total, zixly_worker_rescued_jobs_total,
 *   zixly_worker_db_reconnects_total, zixly_worker_db_connected,
 *   zixly_worker_db_connections{role}                open connections: control, wait, claim, sweep
 *   zixly_worker_ready                               1 while claiming (started, not paused, not
 *                                                     shutting down, control connection up)
 *   zixly_worker_info{worker_id,version}             constant 1
 *   process_cpu_seconds_total, process_resident_memory_bytes, process_virtual_memory_bytes,
 *   process_start_time_seconds, process_open_fds, process_max_fds   (see process.h)
 */
#ifndef ZX_METRICS_H
#define ZX_METRICS_H

#include <sys/socket.h>

#include <stddef.h>

#include "db.h"

enum zx_job_kind { ZX_KIND_NOOP, ZX_KIND_SWEEP, ZX_KIND_UNKNOWN, ZX_KIND_COUNT };
enum zx_job_status {
	ZX_ST_COMPLETED, ZX_ST_FAILED, ZX_ST_RETRIED, ZX_ST_RELEASED, ZX_ST_LOST, ZX_ST_COUNT
};

const char *zx_kind_label(enum zx_job_kind k);

/*
 * Starts the HTTP server on port, at address (an IPv4 or IPv6 literal; "": every IPv4
 * interface); port 0 = none.  0 or -1 (logged).
 */
int zx_metrics_start(int port, const char *address, const char *worker_id);

/*
 * An IPv4 or IPv6 literal into *ss (NULL: only checked): AF_INET or AF_INET6, or -1 when it is
 * neither.
 */
int zx_metrics_address(const char *address, struct sockaddr_storage *ss);

void zx_metrics_stop(void);

/* n jobs of one kind ended with status, each having taken seconds. */
void zx_metrics_jobs_done(enum zx_job_kind k, enum zx_job_status st, size_t n, double seconds);
void zx_metrics_engine(double bar_combinations, double seconds);
void zx_metrics_in_flight(long delta);
void zx_metrics_claim(size_t jobs);
void zx_metrics_rescued(long jobs);
void zx_metrics_artifact_failure(void);
void zx_metrics_reconnect(void);
void zx_metrics_db_connected(int up);
void zx_metrics_db_connections(enum zx_db_role role, int delta);
void zx_metrics_ready(int accepting);

/* The exposition text (also used by tests through GET /metrics); caller frees. */
char *zx_metrics_render(void);

#endif /* ZX_METRICS_H */
