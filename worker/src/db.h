/*
 * db.h — the worker's libpq calls: connecting, the prepared statements of the extension's
 * worker API (claim, complete, heartbeat, rescue, release, fail, next_run_at), and the reads of a
 * command sent asynchronously.  Every user value is a bound parameter.
 *
 * Which connection does what (see main.c): one control connection LISTENs and makes the rare
 * calls (rescue, heartbeat, release, fail, next_run_at) synchronously; one wait connection sits
 * in zixly_wait(); claim connections send claims and batch completions asynchronously so the
 * main loop never waits on them; each sweep thread has its own connection for prices and
 * results.
 *
 * Errors are logged here, once, with the SQLSTATE and the server's message.
 */
#ifndef ZX_DB_H
#define ZX_DB_H

#include <stddef.h>

#include <libpq-fe.h>

/* the oldest zixly extension whose SQL API has every call below (the attempt of complete/fail) */
#define ZX_EXTENSION_VERSION "0.1.1"

enum zx_db_role {
	ZX_DB_CONTROL,		/* rescue, heartbeat, release, fail, next_run_at; LISTEN */
	ZX_DB_CLAIM,		/* claim, complete_batch (sent asynchronously) */
	ZX_DB_SWEEP,		/* prices, results, complete, fail */
	ZX_DB_WAIT,		/* zixly_wait (sent asynchronously, blocks in the server) */
	ZX_DB_ROLE_COUNT
};

const char *zx_db_role_name(enum zx_db_role role);

/*
 * Connects and prepares the statements of the role.  Returns NULL (reason logged at level warn) when the database cannot be reached.
 * Close it with zx_db_close and the same role.
 */
PGconn *zx_db_connect(const char *url, enum zx_db_role role);

/* Closes a connection of zx_db_connect (NULL is fine); /metrics counts the open ones by role. */
void zx_db_close(PGconn *c, enum zx_db_role role);

/* Checks that url parses as a libpq conninfo/URI (start-up check); -1 with the reason printed. */
int zx_db_check_url(const char *url);

/* Did the connection break (server gone, restarted)? */
int zx_db_broken(PGconn *c);

/* The server's message of r (else the connection's) on one line; valid until the next call. */
const char *zx_db_errmsg(PGconn *c, const PGresult *r);

/* Did this call fail because the job is no longer the worker's (finished, cancelled, gone)? */
int zx_db_not_held(const PGresult *r);

/*
 * Runs a prepared statement and returns its result if its status is the expected one;
 * otherwise logs "what" with the error, clears the result and returns NULL.
 */
PGresult *zx_db_exec(PGconn *c, const char *stmt, int n, const char *const *values,
    ExecStatusType expect, const char *what);

/* Runs a parameterless utility command (BEGIN, COMMIT, ROLLBACK); 0 or -1. */
int zx_db_command(PGconn *c, const char *sql);

/* ---------------------------------------------------------------- control connection */
/*
 * zixly_rescue: *rescued is how many jobs it put back or dead-lettered.  With an extension of
 * 0.1.2 or later, *jobs is those jobs (columns ZX_RESCUE_COL_*; the caller clears it), else
 * NULL.
 */
enum {
	ZX_RESCUE_COL_ID, ZX_RESCUE_COL_JOB_TYPE, ZX_RESCUE_COL_TENANT, ZX_RESCUE_COL_STATUS,
	ZX_RESCUE_COL_ATTEMPTS, ZX_RESCUE_COL_ERROR, ZX_RESCUE_COL_WEBHOOK_URL, ZX_RESCUE_COL_TICKER
};
int zx_db_rescue(PGconn *c, int *rescued, PGresult **jobs);

/*
 * zixly_heartbeat(worker, ids, lease): extends the leases and binds the jobs to this session.
 * held[i] is set to 1 for every ids[i] still held by the worker, 0 for the others.
 */
int zx_db_heartbeat(PGconn *c, const char *worker_id, char *const *ids, size_t n, int lease,
    int *held);

/* zixly_release: ZX_OK, ZX_DB_NOT_HELD (quietly: the job is no longer ours), or ZX_ERR (logged). */
#define ZX_DB_NOT_HELD 1
int zx_db_release(PGconn *c, const char *job_id, const char *worker_id);

/*
 * zixly_fail of the worker's attempt (its claim's attempts: a fencing token, so a stale attempt
 * of a job the same worker claimed again cannot end it); *requeued (if not NULL) tells whether
 * the job went back to QUEUED for another attempt.  Returns -1 when the call failed (the job may
 * then be held by someone else, or by a later attempt).
 */
int zx_db_fail(PGconn *c, const char *job_id, const char *worker_id, int attempt,
    const char *error, int retryable, int *requeued);

/*
 * Seconds until the earliest QUEUED job of the queues is due (<= 0 when one is due now);
 * *has = 0 when no job is queued.
 */
int zx_db_next_run_at(PGconn *c, const char *queues_array, double *seconds, int *has);

/* ---------------------------------------------------------------- claim connections (async) */
/*
 * Sends zixly_claim.  The result's columns: id, job_type, tenant_id, queue, parameters,
 * attempts, max_attempts (see ZX_CLAIM_COL_*).
 *
 * Unless durable, the claim's transaction commits without waiting for its WAL flush
 * (synchronous_commit off for that transaction only).  A claim needs no durability: a crash
 * that loses it also ends the claiming session, and zixly_rescue would put the job back anyway;
 * whatever the worker does with a job afterwards (complete, fail, results) is checked against
 * the job's owner and committed durably.  So a wake-up costs one WAL flush (the producer's), not
 * two.
 */
struct zx_claim_req {
	const char *worker_id;
	int max_jobs;
	const char *queues_array;	/* text[] literal, NULL = every queue */
	int lease;			/* seconds */
	int durable;
};
int zx_db_send_claim(PGconn *c, const struct zx_claim_req *q);
enum {
	ZX_CLAIM_COL_ID, ZX_CLAIM_COL_TYPE, ZX_CLAIM_COL_TENANT, ZX_CLAIM_COL_QUEUE,
	ZX_CLAIM_COL_PARAMS, ZX_CLAIM_COL_ATTEMPTS, ZX_CLAIM_COL_MAX_ATTEMPTS,
	ZX_WAIT_COL_GEN		/* the wait's result only */
};

/*
 * Sends zixly_wait(since, timeout_ms): answers the wake-up generation as soon as a commit
 * after generation `since` made jobs due (or due later), or after the timeout.  since < 0 sends NULL (answers
 * the current generation at once).  With q, a wait that answers a new generation (since >= 0)
 * also claims, in the same statement: a producer's commit reaches a claimed job in one round
 * trip.  The result has the claim's columns, its jobs' rows (one row with NULL claim columns
 * when it claimed none or did not claim), then the generation (ZX_WAIT_COL_GEN).
 */
int zx_db_send_wait(PGconn *c, long long since, int timeout_ms, const struct zx_claim_req *q);

/* Asks the server to cancel the command in flight on c (its answer still comes, or an error). */
int zx_db_cancel(PGconn *c);

/*
 * May this session call zixly_wait() (the extension has it and the role may execute it)?  1, 0,
 * or -1 when the query failed.
 */
int zx_db_has_wait(PGconn *c);

/* Sends zixly_complete_batch(worker, ids); the result has one column: the completed ids. */
int zx_db_send_complete_batch(PGconn *c, const char *worker_id, const char *ids_array);

/*
 * Reads what arrived for the command in flight without blocking.  Returns 1 when it finished
 * (*res is its result, or NULL if it failed: reason logged), 0 when more input is needed, -1
 * when the connection broke.  *pending keeps a result across calls; start with NULL.
 * cancelled: the caller cancelled the command, so an error saying so is expected (info).
 */
int zx_db_async_read(PGconn *c, PGresult **pending, PGresult **res, const char *what,
    int cancelled);

#endif /* ZX_DB_H */
