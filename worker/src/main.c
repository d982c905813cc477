/*
 * main.c — zixly-worker: start-up, signals, and the main loop.
 *
 * One thread runs the loop; it owns every connection but the sweep threads' and all state
 * below, so none of it is locked.  It sleeps in ppoll() on:
 *   - the wait connection: zixly_wait(generation, 1000) in the server, answered at the commit
 *     that makes jobs due (or due later).  While the worker may claim, the same statement
 *     claims after such a wake-up (one round trip from the producer's commit to the job);
 *     otherwise an answer with a new generation sets want_claim.  The next wait is sent at
 *     once.  Producers may turn NOTIFY off (SET zixly.notify = off), never this;
 *   - the control connection: the synchronous calls (rescue every rescue-interval, heartbeats
 *     every lease/3, release, fail, next_run_at) and, only where the extension lacks
 *     zixly_wait, LISTEN zixly_jobs (a notification with one of our queues sets want_claim);
 *   - the claim connections: zixly_claim and zixly_complete_batch sent asynchronously, one
 *     command in flight per connection.  Connection 0 claims on every wake-up; the others join
 *     only while a backlog drains (the previous claim came back full), so a drain runs several
 *     claims and completions in parallel while an idle worker costs one claim per wake-up;
 *   - the sweep pool's eventfd: trading-sweep jobs finished on pool threads;
 *   - timers: rescue, heartbeat, the safety poll, the due time of the next delayed job
 *     (zixly_next_run_at), reconnect backoff, the shutdown deadline.
 * Signals are blocked except inside ppoll(); the handlers only set flags.
 *
 * Jobs: a noop job runs inline when its claim returns and its id joins a list completed with
 * one zixly_complete_batch on the next idle claim connection.  A trading-sweep job goes to the
 * pool when a slot is free (at most `concurrency` held); one claimed beyond that is released
 * at once and later claims ask only for the free slots until a claim returns only noop jobs.
 * Right after a claim, held sweep jobs are heartbeated on the control connection, which binds
 * them to its session: a claim connection dropping alone then costs nothing, and after a
 * database restart the first thing the reconnected control connection does is heartbeat them.
 *
 * Exactly-once completion comes from the extension: complete, complete_batch and fail succeed
 * only for a RUNNING job whose locked_by is this worker, so work on a job that was rescued or
 * cancelled meanwhile is thrown away (its results transaction rolls back).
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifact.h"
#include "callback.h"
#include "common.h"
#include "config.h"
#include "db.h"
#include "job.h"
#include "log.h"
#include "metrics.h"
#include "webhook.h"

#define MAX_LANES 16
#define BACKOFF_MIN 0.1
#define BACKOFF_MAX 5.0

enum lane_state { LANE_IDLE, LANE_CLAIMING, LANE_COMPLETING };

/* A claim connection and the command it has in flight. */
struct lane {
	PGconn *conn;
	PGresult *pending;
	enum lane_state state;
	int requested;			/* LANE_CLAIMING: max_jobs sent */
	char **ids;			/* LANE_COMPLETING: the noop ids sent, owned */
	size_t nids;
	double started;			/* LANE_COMPLETING: earliest handler start of the ids */
	double sent;			/* when the command in flight was sent */
	double retry_at, backoff;	/* reconnecting */
};

/* heartbeats at most this far apart: a cancelled sweep stops within it */
#define HEARTBEAT_MAX_S 5.0

/* count of SIGTERM/SIGINT/SIGHUP; atomic, as the callback sender's thread reads it too */
static atomic_int got_stop;
static volatile sig_atomic_t got_go;	/* SIGUSR1 */

static struct {
	struct zx_config cfg;
	char *queues_array;		/* text[] literal of cfg.queues, NULL = every queue */
	PGconn *control;
	double control_retry_at, control_backoff;
	int control_connects;		/* successful connects of the control connection */
	struct {
		int available;		/* the extension has zixly_wait (checked on connect) */
		PGconn *conn;
		PGresult *pending;
		int busy;		/* a zixly_wait is in flight */
		int claiming;		/* ... that claims if it answers a new generation */
		int requested;		/* ... asking for this many jobs */
		int cancelled;		/* ... and was cancelled (shutdown) */
		double sent;
		long long gen;		/* last generation seen, -1 = none since connecting */
		double retry_at, backoff;
	} waiter;
	struct lane lanes[MAX_LANES];
	int nlanes;
	struct zx_pool *pool;
	struct zx_job **held;		/* sweep jobs claimed and not finished */
	size_t nheld, capheld;
	char **done;			/* noop ids run, not yet sent for completion */
	size_t ndone, capdone;
	double done_started;		/* earliest handler start among them */
	int want_claim;
	int draining;			/* the last claim came back full */
	/*
	 * Claim free slots only, not claim_batch jobs: at start, after an empty claim, and after a
	 * claim with sweeps.  Only a full claim of noop jobs opens the batch, so a backlog of sweeps
	 * is not claimed a thousand at a time and handed back.
	 */
	int sized;
	int paused;
	int stopping;
	double deadline;
	double next_rescue, next_heartbeat, next_poll, next_due;
	/* the artifact store failed: no claims until claims_resume_at; pause doubles on repeats */
	double claims_resume_at, store_pause;
	FILE *latency;
	struct zx_sender *sender;	/* job.failed of the jobs our rescues dead-letter */
} w;

static void
on_stop(int sig)
{
	(void)sig;
	got_stop++;
}

/* For the callback sender's thread: a second stop signal means no more callbacks either. */
static int
second_stop(void)
{
	return atomic_load(&got_stop) > 1;
}

static void
on_go(int sig)
{
	(void)sig;
	got_go = 1;
}

/* ---------------------------------------------------------------- helpers */
static int
queue_is_ours(const char *queue)
{
	const char *q = w.cfg.queues;
	size_t n = strlen(queue);

	if (q[0] == '\0')
		return 1;
	while (*q) {
		const char *comma = strchr(q, ',');
		size_t len = comma ? (size_t)(comma - q) : strlen(q);

		if (len == n && strncmp(q, queue, n) == 0)
			return 1;
		q += len + (comma ? 1 : 0);
	}
	return 0;
}

static char *
make_queues_array(const char *queues)
{
	struct zx_buf b;
	char **names;
	size_t n;

	if (queues[0] == '\0')
		return NULL;
	names = zx_queue_names(queues, &n);	/* checked by the configuration */
	zx_buf_init(&b, 0);
	zx_buf_text_array(&b, names, n);
	zx_queue_names_free(names, n);
	return b.data;
}

static void
hold(struct zx_job *j)
{
	if (w.nheld == w.capheld) {
		w.capheld = w.capheld ? w.capheld * 2 : 16;
		w.held = zx_xrealloc(w.held, w.capheld * sizeof(*w.held));
	}
	w.held[w.nheld++] = j;
}

static void
unhold(struct zx_job *j)
{
	for (size_t i = 0; i < w.nheld; i++)
		if (w.held[i] == j) {
			w.held[i] = w.held[--w.nheld];
			return;
		}
}

static void
add_done(const char *id, double started)
{
	if (w.ndone == w.capdone) {
		w.capdone = w.capdone ? w.capdone * 2 : 1024;
		w.done = zx_xrealloc(w.done, w.capdone * sizeof(*w.done));
	}
	if (w.ndone == 0 || started < w.done_started)
		w.done_started = started;
	w.done[w.ndone++] = zx_xstrdup(id);
}

static void
free_ids(char **ids, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

static int
control_up(void)
{
	if (w.control != NULL && zx_db_broken(w.control)) {
		zlog(ZX_WARN, "db_disconnected", "role=control");
		zx_db_close(w.control, ZX_DB_CONTROL);
		w.control = NULL;
		zx_metrics_db_connected(0);
		w.control_retry_at = zx_mono_s();
		w.control_backoff = BACKOFF_MIN;
	}
	return w.control != NULL;
}

/* ---------------------------------------------------------------- control calls */
/*
 * Heartbeats every held sweep job; the ones no longer ours are flagged lost for their thread,
 * which stops its engine.  A job whose thread is storing its outcome (or is past that) may be
 * gone because it has just completed: its thread reports what happened, not this.
 */
static void
heartbeat(void)
{
	char **ids;
	int *held;

	w.next_heartbeat = zx_mono_s() + fmin(w.cfg.lease / 3.0, HEARTBEAT_MAX_S);
	if (w.nheld == 0 || !control_up())
		return;
	ids = zx_xmalloc(w.nheld * sizeof(*ids));
	held = zx_xmalloc(w.nheld * sizeof(*held));
	for (size_t i = 0; i < w.nheld; i++)
		ids[i] = w.held[i]->id;
	if (zx_db_heartbeat(w.control, w.cfg.worker_id, ids, w.nheld, w.cfg.lease, held) == ZX_OK) {
		for (size_t i = 0; i < w.nheld; i++)
			if (!held[i] && !atomic_exchange(&w.held[i]->lost, 1) &&
			    !atomic_load(&w.held[i]->finishing))
				zlog(ZX_WARN, "job_lost", "job_id=%s reason=%s", w.held[i]->id,
				    zx_q("heartbeat: cancelled or taken over by another worker"));
		zlog(ZX_DEBUG, "heartbeat", "jobs=%zu", w.nheld);
	}
	free(ids);
	free(held);
}

/*
 * Sets the due timer from zixly_next_run_at, after a claim found nothing or from the idle
 * lookahead in rescue().
 */
static void
schedule_next_due(void)
{
	double secs;
	int has;

	if (!control_up() || zx_db_next_run_at(w.control, w.queues_array, &secs, &has) != ZX_OK)
		return;
	if (!has)
		w.next_due = 0;
	else
		/* due now but not claimable: locked by a claim in progress elsewhere; look again soon */
		w.next_due = zx_mono_s() + (secs > 0 ? secs + 0.001 : 0.05);
}

/*
 * The jobs a rescue dead-lettered (their worker died during the last attempt): logged, and a
 * trading-sweep one with a webhook_url gets its job.failed callback, as if its worker had
 * failed it.
 */
static void
dead_lettered(PGresult *jobs)
{
	for (int i = 0; i < PQntuples(jobs); i++) {
		const char *id = PQgetvalue(jobs, i, ZX_RESCUE_COL_ID);
		const char *error = PQgetvalue(jobs, i, ZX_RESCUE_COL_ERROR);
		const char *url = PQgetvalue(jobs, i, ZX_RESCUE_COL_WEBHOOK_URL);
		const char *ticker = PQgetvalue(jobs, i, ZX_RESCUE_COL_TICKER);
		char *body;

		if (strcmp(PQgetvalue(jobs, i, ZX_RESCUE_COL_STATUS), "FAILED") != 0)
			continue;
		zlog(ZX_WARN, "job_dead_lettered", "job_id=%s job_type=%s attempts=%s error=%s", id,
		    zx_q(PQgetvalue(jobs, i, ZX_RESCUE_COL_JOB_TYPE)),
		    PQgetvalue(jobs, i, ZX_RESCUE_COL_ATTEMPTS), zx_q(error));
		if (strcmp(PQgetvalue(jobs, i, ZX_RESCUE_COL_JOB_TYPE), "trading-sweep") != 0 ||
		    url[0] == '\0' || w.sender == NULL)
			continue;
		body = zx_callback_body("job.failed", id, "trading-sweep", "FAILED",
		    PQgetvalue(jobs, i, ZX_RESCUE_COL_TENANT),
		    PQgetisnull(jobs, i, ZX_RESCUE_COL_TICKER) ? NULL : ticker,
		    zx_callback_failure(error, atoi(PQgetvalue(jobs, i, ZX_RESCUE_COL_ATTEMPTS))));
		zx_sender_queue(w.sender, url, body, "job.failed", id);
		free(body);
	}
}

static void
rescue(void)
{
	int n = 0;
	PGresult *jobs;

	w.next_rescue = zx_mono_s() + w.cfg.rescue_interval;
	if (!control_up() || zx_db_rescue(w.control, &n, &jobs) != ZX_OK)
		return;
	if (jobs != NULL) {
		dead_lettered(jobs);
		PQclear(jobs);
	}
	if (n > 0) {
		zlog(ZX_INFO, "rescued", "jobs=%d", n);
		zx_metrics_rescued(n);
		w.want_claim = 1;
	} else if (!w.want_claim && !w.paused && !w.stopping) {
		/*
		 * Idle: look for delayed jobs enqueued since the last empty claim.  Their enqueue
		 * wakes nobody (they are not due), so without this only the safety poll would see
		 * them; with it, one enqueued a rescue interval or more before its run_at starts
		 * on time.
		 */
		schedule_next_due();
	}
}

/* Gives a job back to the queue; 1 if it was (or would have been, without a database). */
static int
release_job(struct zx_job *j, const char *why)
{
	int rc = ZX_ERR;

	if (!atomic_load(&j->lost) && control_up())
		rc = zx_db_release(w.control, j->id, w.cfg.worker_id);
	if (rc == ZX_OK) {
		zlog(ZX_INFO, "job_released", "job_id=%s job_type=%s reason=%s", j->id, j->job_type,
		    zx_q(why));
		zx_metrics_jobs_done(j->kind, ZX_ST_RELEASED, 1, 0);
		return 1;
	}
	if (atomic_load(&j->lost) || rc == ZX_DB_NOT_HELD) {
		zlog(ZX_INFO, "job_not_released", "job_id=%s reason=%s", j->id,
		    zx_q("no longer held by this worker (cancelled or taken over)"));
		return 0;
	}
	zlog(ZX_WARN, "job_not_released", "job_id=%s reason=%s", j->id,
	    zx_q("no database; it comes back through zixly_rescue"));
	return 1;
}

static void
fail_unknown(struct zx_job *j)
{
	char *msg = zx_xasprintf("unknown job type \"%s\" (this worker runs noop and trading-sweep)",
	    j->job_type);

	if (control_up() &&
	    zx_db_fail(w.control, j->id, w.cfg.worker_id, j->attempts, msg, 0, NULL) == ZX_OK) {
		zlog(ZX_WARN, "job_failed", "job_id=%s job_type=%s status=failed error=%s", j->id,
		    zx_q(j->job_type), zx_q(msg));
		zx_metrics_jobs_done(ZX_KIND_UNKNOWN, ZX_ST_FAILED, 1, 0);
	}
	free(msg);
}

/* Connects the control connection; then rebinds held jobs before anything else. */
static void
control_connect(void)
{
	double now = zx_mono_s();
	int has_wait;

	if (w.control != NULL || now < w.control_retry_at)
		return;
	w.control = zx_db_connect(w.cfg.database_url, ZX_DB_CONTROL);
	if (w.control == NULL) {
		w.control_retry_at = now + w.control_backoff;
		w.control_backoff = fmin(w.control_backoff * 2, BACKOFF_MAX);
		return;
	}
	zx_metrics_db_connected(1);
	if (w.control_connects++ > 0)
		zx_metrics_reconnect();
	w.control_backoff = BACKOFF_MIN;
	if ((has_wait = zx_db_has_wait(w.control)) >= 0)
		w.waiter.available = has_wait;
	/*
	 * NOTIFY is the wake-up only without zixly_wait.  Listening as well would have every
	 * producer's commit signal this session and send a second claim for each job the wait
	 * already claimed: work on both cores just when a job should start.
	 */
	if (has_wait != 1 && zx_db_command(w.control, "LISTEN zixly_jobs") < 0) {
		zx_db_close(w.control, ZX_DB_CONTROL);
		w.control = NULL;
		zx_metrics_db_connected(0);
		w.control_retry_at = now + w.control_backoff;
		w.control_backoff = fmin(w.control_backoff * 2, BACKOFF_MAX);
		return;
	}
	zlog(ZX_INFO, "db_connected", "role=control host=%s port=%s database=%s held_jobs=%zu wakeup=%s",
	    zx_q(PQhost(w.control) ? PQhost(w.control) : ""), PQport(w.control), zx_q(PQdb(w.control)),
	    w.nheld, has_wait == 1 ? "zixly_wait" : "listen");
	heartbeat();		/* first: our jobs are bound to this new session */
	rescue();
	w.want_claim = 1;	/* whatever was enqueued while we were away */
}

/* ---------------------------------------------------------------- the wait connection */
static struct zx_claim_req claim_request(void);
static int may_claim(void);
static void claimed(PGresult *r, int n, int requested, const char *via, double sent);

static void
waiter_drop(void)
{
	if (w.waiter.pending != NULL)
		PQclear(w.waiter.pending);
	w.waiter.pending = NULL;
	zx_db_close(w.waiter.conn, ZX_DB_WAIT);
	w.waiter.conn = NULL;
	w.waiter.busy = w.waiter.claiming = 0;
	w.waiter.retry_at = zx_mono_s() + w.waiter.backoff;
	w.waiter.backoff = fmin(w.waiter.backoff * 2, BACKOFF_MAX);
}

/* Keeps a zixly_wait in flight whenever the extension has it and the database is up. */
static void
waiter_step(void)
{
	struct zx_claim_req q;

	if (!w.waiter.available || w.control == NULL || w.waiter.busy || w.stopping)
		return;
	if (w.waiter.conn == NULL) {
		if (zx_mono_s() < w.waiter.retry_at)
			return;
		if ((w.waiter.conn = zx_db_connect(w.cfg.database_url, ZX_DB_WAIT)) == NULL) {
			w.waiter.retry_at = zx_mono_s() + w.waiter.backoff;
			w.waiter.backoff = fmin(w.waiter.backoff * 2, BACKOFF_MAX);
			return;
		}
		w.waiter.backoff = BACKOFF_MIN;
		w.waiter.gen = -1;	/* generations restart with the server */
	}
	q = claim_request();
	/* a first wait (gen < 0) answers at once and never claims */
	w.waiter.claiming = w.waiter.gen >= 0 && may_claim();
	if (zx_db_send_wait(w.waiter.conn, w.waiter.gen, w.waiter.gen < 0 ? 0 : 1000,
	    w.waiter.claiming ? &q : NULL) != ZX_OK) {
		waiter_drop();
		return;
	}
	w.waiter.busy = 1;
	w.waiter.cancelled = 0;
	w.waiter.requested = q.max_jobs;
	w.waiter.sent = zx_mono_s();
}

static void
waiter_input(void)
{
	PGresult *r;
	int rc = zx_db_async_read(w.waiter.conn, &w.waiter.pending, &r, "zixly_wait",
	    w.waiter.cancelled);
	long long gen;

	if (rc < 0) {
		waiter_drop();
		return;
	}
	if (rc == 0)
		return;
	w.waiter.busy = 0;
	if (r == NULL) {	/* an SQL error (logged): back off */
		waiter_drop();
		return;
	}
	gen = strtoll(PQgetvalue(r, 0, ZX_WAIT_COL_GEN), NULL, 10);
	/*
	 * A new generation: some commit made jobs due (or due later: a claim that finds nothing
	 * re-reads the next due time).  A claim made after the wait returned (in
	 * its statement, or sent after this answer) sees every commit counted in gen, and the next
	 * wait returns on any later one: no lost wake-ups.
	 */
	if (gen != w.waiter.gen && w.waiter.claiming)
		claimed(r, PQgetisnull(r, 0, ZX_CLAIM_COL_ID) ? 0 : PQntuples(r), w.waiter.requested,
		    "wait", w.waiter.sent);
	else if (gen != w.waiter.gen)
		w.want_claim = 1;
	PQclear(r);
	w.waiter.claiming = 0;
	w.waiter.gen = gen;
	waiter_step();
}

/* ---------------------------------------------------------------- claim connections */
static void
lane_drop(struct lane *l)
{
	zlog(ZX_WARN, "db_disconnected", "role=claim lane=%d", (int)(l - w.lanes));
	if (l->pending != NULL)
		PQclear(l->pending);
	l->pending = NULL;
	zx_db_close(l->conn, ZX_DB_CLAIM);
	l->conn = NULL;
	if (l->state == LANE_COMPLETING) {
		/* not known whether they committed: send them again (a no-op for completed ones) */
		for (size_t i = 0; i < l->nids; i++)
			add_done(l->ids[i], l->started);
		free_ids(l->ids, l->nids);
		l->ids = NULL;
		l->nids = 0;
	}
	/* a claim in flight: its jobs, if any, come back through rescue (the session ended) */
	l->state = LANE_IDLE;
	l->retry_at = zx_mono_s() + l->backoff;
	l->backoff = fmin(l->backoff * 2, BACKOFF_MAX);
}

static int
lane_ready(struct lane *l)
{
	if (l->conn != NULL)
		return 1;
	if (zx_mono_s() < l->retry_at || w.control == NULL)
		return 0;	/* the control connection goes first after an outage */
	l->conn = zx_db_connect(w.cfg.database_url, ZX_DB_CLAIM);
	if (l->conn == NULL) {
		l->retry_at = zx_mono_s() + l->backoff;
		l->backoff = fmin(l->backoff * 2, BACKOFF_MAX);
		return 0;
	}
	l->backoff = BACKOFF_MIN;
	return 1;
}

static void
send_complete(struct lane *l)
{
	struct zx_buf arr;

	zx_buf_init(&arr, 0);
	zx_buf_text_array(&arr, w.done, w.ndone);
	l->ids = w.done;
	l->nids = w.ndone;
	l->started = w.done_started;
	w.done = NULL;
	w.ndone = w.capdone = 0;
	l->sent = zx_mono_s();
	if (zx_db_send_complete_batch(l->conn, w.cfg.worker_id, arr.data) == ZX_OK)
		l->state = LANE_COMPLETING;
	else {
		l->state = LANE_COMPLETING;	/* so lane_drop puts the ids back */
		lane_drop(l);
	}
	zx_buf_free(&arr);
}

static int
free_slots(void)
{
	return w.cfg.concurrency - (int)w.nheld;
}

/* A claim for every free slot while sweeps are held, else a batch. */
static struct zx_claim_req
claim_request(void)
{
	struct zx_claim_req q = {w.cfg.worker_id, w.sized ? free_slots() : w.cfg.claim_batch,
	    w.queues_array, w.cfg.lease, w.cfg.durable_claims};

	return q;
}

static int
may_claim(void)
{
	return !w.paused && !w.stopping && free_slots() > 0 && w.claims_resume_at == 0;
}

static void
send_claim(struct lane *l)
{
	struct zx_claim_req q = claim_request();

	if (zx_db_send_claim(l->conn, &q) != ZX_OK) {
		lane_drop(l);
		return;
	}
	l->state = LANE_CLAIMING;
	l->requested = q.max_jobs;
	l->sent = zx_mono_s();
}

/* Gives idle claim connections work: completions first, then claims. */
static void
dispatch(void)
{
	for (int i = 0; i < w.nlanes; i++) {
		struct lane *l = &w.lanes[i];
		int claim = w.want_claim && may_claim() && (i == 0 || w.draining);

		if (l->state != LANE_IDLE || (w.ndone == 0 && !claim) || !lane_ready(l))
			continue;
		if (w.ndone > 0)
			send_complete(l);
		else
			send_claim(l);
	}
}

/*
 * The first n rows of a claim's result, which asked for `requested` jobs (via: the lane or the
 * wait connection, for the log): noop jobs run now, sweeps go to the pool (or back), others fail.
 */
static void
claimed(PGresult *r, int n, int requested, const char *via, double sent)
{
	int sweeps = 0;
	struct zx_job **new_sweeps = NULL;
	size_t nnew = 0;

	zx_metrics_claim((size_t)n);
	zx_metrics_in_flight(n);
	for (int i = 0; i < n; i++) {
		const char *type = PQgetvalue(r, i, ZX_CLAIM_COL_TYPE);
		struct zx_job *j;

		if (strcmp(type, "noop") == 0) {
			double started = zx_mono_s();
			const char *id = PQgetvalue(r, i, ZX_CLAIM_COL_ID);

			zx_noop_run(id, PQgetvalue(r, i, ZX_CLAIM_COL_PARAMS), w.latency);
			add_done(id, started);
			continue;
		}
		j = zx_job_from_claim(r, i);
		if (j->kind == ZX_KIND_SWEEP) {
			sweeps++;
			if (free_slots() > 0 && !w.stopping) {
				hold(j);
				new_sweeps = zx_xrealloc(new_sweeps, (nnew + 1) * sizeof(*new_sweeps));
				new_sweeps[nnew++] = j;
				continue;
			}
			release_job(j, w.stopping ? "shutting down" : "no free slot");
		} else {
			fail_unknown(j);
		}
		zx_metrics_in_flight(-1);
		zx_job_free(j);
	}
	if (w.latency != NULL)
		fflush(w.latency);
	if (nnew > 0) {
		heartbeat();	/* bind them to the control session before they run */
		for (size_t k = 0; k < nnew; k++)
			zx_pool_submit(w.pool, new_sweeps[k]);
	}
	free(new_sweeps);
	w.sized = sweeps > 0 || n < requested;
	w.draining = n == requested && n > 1;
	if (w.draining)
		w.want_claim = 1;
	if (n == 0) {
		w.want_claim = 0;
		schedule_next_due();
	}
	zlog(ZX_DEBUG, "claimed", "via=%s requested=%d jobs=%d sweeps=%d ms=%.2f", via, requested, n,
	    sweeps, (zx_mono_s() - sent) * 1e3);
}

static void
completed(struct lane *l, PGresult *r)
{
	size_t ok = r ? (size_t)PQntuples(r) : 0;
	double secs = zx_mono_s() - l->started;

	zx_metrics_jobs_done(ZX_KIND_NOOP, ZX_ST_COMPLETED, ok, secs);
	zx_metrics_jobs_done(ZX_KIND_NOOP, ZX_ST_LOST, l->nids - ok, 0);
	zx_metrics_in_flight(-(long)l->nids);
	if (ok < l->nids)
		zlog(ZX_WARN, "jobs_lost", "job_type=noop jobs=%zu reason=%s", l->nids - ok,
		    zx_q(r ? "no longer held by this worker" : "zixly_complete_batch failed"));
	zlog(ZX_DEBUG, "jobs_completed", "lane=%d job_type=noop jobs=%zu ms=%.2f", (int)(l - w.lanes),
	    ok, (zx_mono_s() - l->sent) * 1e3);
	free_ids(l->ids, l->nids);
	l->ids = NULL;
	l->nids = 0;
}

static void
lane_input(struct lane *l)
{
	PGresult *r;
	int rc = zx_db_async_read(l->conn, &l->pending, &r,
	    l->state == LANE_COMPLETING ? "zixly_complete_batch" : "zixly_claim", 0);

	if (rc < 0) {
		lane_drop(l);
		return;
	}
	if (rc == 0)
		return;
	if (l->state == LANE_CLAIMING && r != NULL) {
		char via[16];

		snprintf(via, sizeof(via), "lane%d", (int)(l - w.lanes));
		claimed(r, PQntuples(r), l->requested, via, l->sent);
	}
	else if (l->state == LANE_COMPLETING)
		completed(l, r);
	/* a claim that failed with an SQL error: logged; the safety poll tries again */
	if (l->state == LANE_CLAIMING && r == NULL)
		w.want_claim = 0;
	PQclear(r);
	l->state = LANE_IDLE;
}

/* ---------------------------------------------------------------- finished sweeps */
/*
 * A sweep's grid could not be stored (a full disk, a read-only or lost mount): its attempt
 * failed, to be retried.  This worker claims nothing for a while, reporting itself not ready,
 * so that the retry goes to a worker whose store works (if one is up) rather than spending
 * the job's attempts here.  The pause doubles while the store keeps failing.
 */
static void
store_failed(const struct zx_job *j)
{
	double cap = w.cfg.artifact_failure_pause * 10;

	w.store_pause = w.store_pause > 0 ? fmin(w.store_pause * 2, cap) : w.cfg.artifact_failure_pause;
	w.claims_resume_at = zx_mono_s() + w.store_pause;
	zx_metrics_artifact_failure();
	zx_metrics_ready(0);
	zlog(ZX_WARN, "artifact_store_failing", "job_id=%s dir=%s pause_s=%g", j->id,
	    zx_q(w.cfg.artifact_dir), w.store_pause);
}

/* The pause after a store failure is over: claims again (the next sweep tries the store). */
static void
claims_resume(void)
{
	w.claims_resume_at = 0;
	if (w.paused || w.stopping)
		return;
	zx_metrics_ready(1);
	w.want_claim = 1;
	zlog(ZX_INFO, "claims_resumed", "after_pause_s=%g", w.store_pause);
}

static void
reap(void)
{
	struct zx_job *list = zx_pool_reap(w.pool);

	while (list != NULL) {
		struct zx_job *j = list;

		list = j->next;
		unhold(j);
		if (j->store_failed)
			store_failed(j);
		else if (j->outcome == ZX_ST_COMPLETED)
			w.store_pause = 0;	/* the store works again */
		zx_metrics_in_flight(-1);
		zx_metrics_jobs_done(j->kind, j->outcome, 1, zx_mono_s() - j->t_start);
		zx_job_free(j);
		if (!w.stopping)
			w.want_claim = 1;	/* a slot is free */
	}
}

/* ---------------------------------------------------------------- shutdown */
static void
begin_shutdown(void)
{
	struct zx_job *queued;

	if (!w.stopping) {
		w.stopping = 1;
		zx_metrics_ready(0);
		w.deadline = zx_mono_s() + w.cfg.shutdown_timeout;
		/* a wait that would claim: cancelled, and its answer awaited (it may have claimed) */
		if (w.waiter.busy && w.waiter.claiming && zx_db_cancel(w.waiter.conn) == ZX_OK)
			w.waiter.cancelled = 1;
		zlog(ZX_INFO, "shutdown", "held_jobs=%zu timeout_s=%g", w.nheld, w.cfg.shutdown_timeout);
		/* jobs no thread has started go back now */
		for (queued = zx_pool_take_queued(w.pool); queued != NULL;) {
			struct zx_job *j = queued;

			queued = j->next;
			release_job(j, "shutting down");
			unhold(j);
			zx_metrics_in_flight(-1);
			zx_job_free(j);
		}
	} else if (got_stop > 1 && w.deadline > zx_mono_s()) {
		zlog(ZX_INFO, "shutdown_now", "reason=%s", zx_q("second signal"));
		w.deadline = zx_mono_s();
	}
}

/*
 * The deadline passed: give the running sweeps back; their threads' work is discarded.  A job
 * whose thread is storing its outcome is left to that (if the process ends first, its session
 * ends and zixly_rescue puts it back), and a completed one's pending webhook is dropped.
 * Returns how many were released.
 */
static size_t
release_held(void)
{
	size_t released = 0;

	for (size_t i = 0; i < w.nheld; i++) {
		struct zx_job *j = w.held[i];

		if (atomic_load(&j->finishing)) {
			zlog(ZX_WARN, "job_not_waited", "job_id=%s reason=%s", j->id,
			    zx_q("shutdown timeout while its outcome was stored or its webhook sent"));
			continue;
		}
		atomic_store(&j->abandon, 1);
		released += (size_t)release_job(j, "shutdown timeout");
	}
	return released;
}

static int
lanes_busy(void)
{
	for (int i = 0; i < w.nlanes; i++)
		if (w.lanes[i].state != LANE_IDLE)
			return 1;
	return 0;
}

/* ---------------------------------------------------------------- the loop */
static double
earliest(double a, double b)
{
	if (a <= 0)
		return b;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

static void
run(const sigset_t *wait_mask)
{
	struct pollfd fds[3 + MAX_LANES];
	int lane_fd_of[3 + MAX_LANES];	/* -1 control, -2 pool, -3 wait, else a lane */

	for (;;) {
		double now = zx_mono_s(), wake;
		int nfds = 0, timeout_ms;

		if (got_stop)
			begin_shutdown();
		if (w.paused && got_go) {
			w.paused = 0;
			w.want_claim = 1;
			zx_metrics_ready(1);
			zlog(ZX_INFO, "go", "signal=SIGUSR1");
		}
		if (w.stopping) {
			if (w.nheld == 0 && w.ndone == 0 && !lanes_busy() &&
			    !(w.waiter.busy && w.waiter.claiming))
				break;
			if (now >= w.deadline)
				break;
		}
		if (w.claims_resume_at > 0 && now >= w.claims_resume_at)
			claims_resume();
		control_connect();
		waiter_step();
		if (!w.paused && w.control != NULL) {
			if (now >= w.next_rescue)
				rescue();
			if (now >= w.next_heartbeat)
				heartbeat();
			if (now >= w.next_poll) {
				w.want_claim = 1;
				w.next_poll = now + w.cfg.poll_interval;
			}
			if (w.next_due > 0 && now >= w.next_due) {
				w.want_claim = 1;
				w.next_due = 0;
			}
		}
		dispatch();

		/* what to wait for, and until when */
		if (control_up()) {
			fds[nfds].fd = PQsocket(w.control);
			fds[nfds].events = POLLIN;
			lane_fd_of[nfds++] = -1;
		}
		fds[nfds].fd = zx_pool_fd(w.pool);
		fds[nfds].events = POLLIN;
		lane_fd_of[nfds++] = -2;
		if (w.waiter.conn != NULL) {
			fds[nfds].fd = PQsocket(w.waiter.conn);
			fds[nfds].events = POLLIN;
			lane_fd_of[nfds++] = -3;
		}
		for (int i = 0; i < w.nlanes; i++)
			if (w.lanes[i].conn != NULL) {
				fds[nfds].fd = PQsocket(w.lanes[i].conn);
				fds[nfds].events = POLLIN;
				lane_fd_of[nfds++] = i;
			}
		wake = 0;
		if (w.control == NULL)
			wake = earliest(wake, w.control_retry_at);
		else if (w.waiter.available && w.waiter.conn == NULL)
			wake = earliest(wake, w.waiter.retry_at);
		else if (!w.paused) {
			wake = earliest(wake, w.next_rescue);
			wake = earliest(wake, w.nheld ? w.next_heartbeat : 0);
			wake = earliest(wake, w.next_poll);
			wake = earliest(wake, w.next_due);
		}
		for (int i = 0; i < w.nlanes; i++)
			if (w.lanes[i].conn == NULL && (w.ndone > 0 || w.want_claim))
				wake = earliest(wake, w.lanes[i].retry_at);
		if (w.stopping)
			wake = earliest(wake, w.deadline);
		wake = earliest(wake, w.claims_resume_at);
		timeout_ms = wake <= 0 ? 1000 : (int)ceil(fmax(0, wake - zx_mono_s()) * 1000);
		if (timeout_ms > 1000)
			timeout_ms = 1000;

		{
			struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};

			if (ppoll(fds, (nfds_t)nfds, &ts, wait_mask) < 0) {
				if (errno != EINTR)
					zlog(ZX_ERROR, "poll_failed", "error=%s", zx_q(strerror(errno)));
				continue;
			}
		}
		for (int k = 0; k < nfds; k++) {
			if (fds[k].revents == 0)
				continue;
			if (lane_fd_of[k] == -2) {
				reap();
			} else if (lane_fd_of[k] == -3) {
				if (w.waiter.conn == NULL)
					continue;
				if (w.waiter.busy)
					waiter_input();
				else if (!PQconsumeInput(w.waiter.conn) || zx_db_broken(w.waiter.conn))
					waiter_drop();
			} else if (lane_fd_of[k] == -1) {
				PGnotify *nt;

				if (w.control == NULL)
					continue;
				if (!PQconsumeInput(w.control)) {
					control_up();
					continue;
				}
				while ((nt = PQnotifies(w.control)) != NULL) {
					if (queue_is_ours(nt->extra))
						w.want_claim = 1;
					PQfreemem(nt);
				}
				control_up();
			} else if (w.lanes[lane_fd_of[k]].conn != NULL) {
				struct lane *l = &w.lanes[lane_fd_of[k]];

				if (l->state == LANE_IDLE) {
					/* nothing expected: a closing connection or a notice */
					if (!PQconsumeInput(l->conn) || zx_db_broken(l->conn))
						lane_drop(l);
				} else {
					lane_input(l);
				}
			}
		}
		/* synchronous control calls may have read notifications already */
		if (w.control != NULL) {
			PGnotify *nt;

			while ((nt = PQnotifies(w.control)) != NULL) {
				if (queue_is_ours(nt->extra))
					w.want_claim = 1;
				PQfreemem(nt);
			}
		}
	}
}

int
main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t block, wait_mask, held;
	struct zx_webhook_opts hook_opts;
	int rc, abandoned = 0;
	size_t released = 0;

	zx_set_oom_handler(zx_log_out_of_memory);
	rc = zx_config_load(&w.cfg, argc, argv);
	if (rc != 0) {
		zx_config_free(&w.cfg);
		return rc > 0 ? 0 : 2;
	}
	zx_log_threshold = w.cfg.log_level;
	if (zx_db_check_url(w.cfg.database_url) < 0)
		return 2;
	zx_config_log(&w.cfg);
	w.queues_array = make_queues_array(w.cfg.queues);
	w.nlanes = w.cfg.claim_connections;
	w.paused = w.cfg.paused;
	if (zx_artifact_init(w.cfg.artifact_dir) != ZX_OK || zx_webhook_init() != ZX_OK)
		return 1;
	if (w.cfg.latency_file[0] != '\0' && (w.latency = fopen(w.cfg.latency_file, "a")) == NULL) {
		zlog(ZX_ERROR, "latency_file_failed", "path=%s error=%s", zx_q(w.cfg.latency_file),
		    zx_q(strerror(errno)));
		return 1;
	}

	/* signals: blocked everywhere (threads inherit the mask), delivered only inside ppoll */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);	/* the terminal went away: stop as for SIGTERM */
	sa.sa_handler = on_go;
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);	/* stray signals must not kill a worker holding jobs */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigdelset(&wait_mask, SIGTERM);
	sigdelset(&wait_mask, SIGINT);
	sigdelset(&wait_mask, SIGHUP);
	sigdelset(&wait_mask, SIGUSR1);

	if (zx_metrics_start(w.cfg.metrics_port, w.cfg.metrics_address, w.cfg.worker_id) != ZX_OK)
		return 1;
	if ((w.pool = zx_pool_start(&w.cfg, w.cfg.concurrency)) == NULL)
		return 1;
	hook_opts = (struct zx_webhook_opts){w.cfg.webhook_secret, w.cfg.webhook_allow_private,
	    w.cfg.webhook_timeout, NULL, NULL};
	if ((w.sender = zx_sender_start(&hook_opts, second_stop)) == NULL)
		return 1;
	for (int i = 0; i < w.nlanes; i++)
		w.lanes[i].backoff = BACKOFF_MIN;
	w.control_backoff = BACKOFF_MIN;
	w.waiter.backoff = BACKOFF_MIN;
	w.waiter.gen = -1;
	w.sized = 1;
	w.next_poll = zx_mono_s() + w.cfg.poll_interval;

	/* connect before announcing readiness (benchmarks start the clock after "ready") */
	while (w.control == NULL && !got_stop) {
		struct timespec ts = {0, 100 * 1000000L};

		control_connect();
		if (w.control == NULL)
			pselect(0, NULL, NULL, NULL, &ts, &wait_mask);
	}
	for (int i = 0; i < w.nlanes && !got_stop; i++)
		lane_ready(&w.lanes[i]);
	waiter_step();		/* the wait connection too: ready means every connection is up */
	if (!got_stop)		/* not when a stop signal ended the wait for the database */
		zlog(ZX_INFO, "ready", "worker_id=%s concurrency=%d claim_connections=%d paused=%d",
		    zx_q(w.cfg.worker_id), w.cfg.concurrency, w.nlanes, w.paused);
	if (!w.paused && !got_stop) {
		w.want_claim = 1;
		zx_metrics_ready(1);
	}

	run(&wait_mask);

	if (w.nheld > 0) {
		released = release_held();
		abandoned = 1;
	}
	/* the sender's last callbacks: until the deadline, or a stop signal (now deliverable) */
	pthread_sigmask(SIG_SETMASK, &wait_mask, &held);
	zx_sender_stop(w.sender, w.stopping ? w.deadline : zx_mono_s());
	pthread_sigmask(SIG_SETMASK, &held, NULL);
	zlog(ZX_INFO, "stopped", "released_running_jobs=%zu", released);
	if (w.latency != NULL)
		fclose(w.latency);
	if (abandoned) {
		/* sweep threads are still computing: leave without waiting for them */
		zx_pool_stop(w.pool, 0);
		_exit(0);
	}
	zx_pool_stop(w.pool, 1);
	for (int i = 0; i < w.nlanes; i++) {
		if (w.lanes[i].pending != NULL)
			PQclear(w.lanes[i].pending);
		free_ids(w.lanes[i].ids, w.lanes[i].nids);
		zx_db_close(w.lanes[i].conn, ZX_DB_CLAIM);
	}
	zx_db_close(w.control, ZX_DB_CONTROL);
	if (w.waiter.pending != NULL)
		PQclear(w.waiter.pending);
	zx_db_close(w.waiter.conn, ZX_DB_WAIT);
	free_ids(w.done, w.ndone);
	free(w.held);
	free(w.queues_array);
	zx_metrics_stop();
	zx_webhook_cleanup();
	zx_config_free(&w.cfg);
	return 0;
}
