/*
 * job.h — a claimed job, dispatch by job type, and the pool of threads that run the long ones.
 *
 *   noop           completes at once: the main loop batches its completion (zixly_complete_batch)
 *   trading-sweep  runs on a pool thread with its own database connection (sweep_job.c)
 *   anything else  fails at once, not retryable
 *
 * Ownership: the main loop allocates a job from its claim row and hands it to the pool; the
 * pool thread sets job->outcome and hands it back through zx_pool_reap; the main loop frees it.
 * job->lost, job->abandon and job->finishing are the only fields both sides touch while it runs
 * (atomics).
 */
#ifndef ZX_JOB_H
#define ZX_JOB_H

#include <stdatomic.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "config.h"
#include "metrics.h"

struct zx_job {
	char *id, *job_type, *tenant_id, *queue, *params;
	int attempts, max_attempts;
	enum zx_job_kind kind;
	double t_start;			/* zx_mono_s() when its handler started */
	atomic_int lost;		/* a heartbeat said another worker or a cancel took it */
	atomic_int abandon;		/* shutdown deadline: the main loop released it */
	atomic_int finishing;		/* the handler is storing its outcome, or is past that */
	enum zx_job_status outcome;	/* set by the handler */
	int store_failed;		/* set by the handler: the artifact store refused the grid */
	struct zx_job *next;		/* pool queues */
};

enum zx_job_kind zx_job_kind_of(const char *job_type);

/* A job from row i of a claim result (db.h's ZX_CLAIM_COL_*). */
struct zx_job *zx_job_from_claim(PGresult *r, int row);
void zx_job_free(struct zx_job *job);

/*
 * The noop handler.  Its first action reads CLOCK_MONOTONIC; if the parameters carry
 * enq_mono_ms and latency is not NULL, writes "<id> <start - enq_mono_ms in ms>" to it.
 */
void zx_noop_run(const char *id, const char *params, FILE *latency);

/* ---------------------------------------------------------------- the sweep pool */
struct zx_pool;

/* Starts nthreads threads (each connects on its first job). */
struct zx_pool *zx_pool_start(const struct zx_config *cfg, int nthreads);

/* Queues a job for the next free thread. */
void zx_pool_submit(struct zx_pool *p, struct zx_job *job);

/* A file descriptor that becomes readable when jobs have finished. */
int zx_pool_fd(struct zx_pool *p);

/* The finished jobs (a list through ->next), or NULL; clears the readiness of zx_pool_fd. */
struct zx_job *zx_pool_reap(struct zx_pool *p);

/* The queued jobs no thread has started (a list), taken back from the pool. */
struct zx_job *zx_pool_take_queued(struct zx_pool *p);

/*
 * Stops the threads once their current job is over.  With wait, joins them and frees the
 * pool; without (shutdown deadline passed), leaves them running for process exit.
 */
void zx_pool_stop(struct zx_pool *p, int wait);

/* Runs a trading-sweep job on a pool thread (sweep_job.c); sets job->outcome. */
void zx_sweep_job_run(const struct zx_config *cfg, PGconn **conn, struct zx_job *job);

#endif /* ZX_JOB_H */
