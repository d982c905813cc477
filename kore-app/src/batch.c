/*
 * batch.c
 *	Group commit for webhooks: concurrent requests share statements.
 *
 * Every accepted webhook is a durable commit, and a commit waits for a
 * WAL flush; one statement per request would make the disk's flush rate
 * the app's ceiling. So requests that arrive while a statement is in
 * flight wait together and go in the next one:
 *   submit  (same API key and priority; the webhook's usual case): the
 *           key check, N rate-limit hits and one zixly_enqueue_batch of
 *           the jobs within the limit, in one statement and one commit;
 *   admit   (same API key): the key check and N rate-limit hits alone,
 *           in a short transaction that needs no WAL flush, for requests
 *           that must learn their key's fate first (a bad body, an
 *           Idempotency-Key, a submit that failed and is redone alone);
 *   enqueue (same tenant and priority): one zixly_enqueue_batch of N
 *           jobs, one commit (POST /api/pipelines, whose tenant is known).
 * In a submit, the rate-limit row stays locked until the commit, so two
 * submits for one key commit one after the other; the limit counts each
 * accepted job exactly once, across workers and app instances.
 * Each request is answered only after the statement holding its job has
 * committed, so a 202 still means "durably queued". An idle app adds no
 * delay: a lone request goes out at once, on the next turn of the event
 * loop. Requests with an Idempotency-Key are not batched (webhook.c).
 * If a shared statement fails with a SQL error (one bad body fails the
 * whole batch), each member is redone alone, so every request gets its
 * own answer; a lost connection, a timeout or a lock not granted in time
 * is a 503 for all of them (redoing them alone would wait as long again).
 *
 * Kore: statements run on a callback-bound kore_pgsql (no request owns
 * them). The callback only records what happened; everything else --
 * waking members, freeing, starting the next statement -- runs from a
 * zero-delay Kore timer, with no pgsql frame on the stack. Kore drops a
 * connection that errors in epoll without calling back, so while
 * statements are in flight the same timer also looks every 100 ms.
 *
 * Ownership: a member lives in its request's state and leaves (pending
 * list or run slot) from the request's onfree hook; a run copies what it
 * sends, so a request may go away while its statement is in flight.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "errors.h"

#define BATCH_MAX_MEMBERS	256		/* rows per statement */
#define BATCH_MAX_BYTES		(1024 * 1024)	/* JSON per statement */
#define BATCH_WATCH_MS		100

enum { ADMIT, ENQUEUE, SUBMIT };

/*
 * Statements in flight per batch. A submit holds its key's rate-limit
 * row until it commits, so a second one would only wait for that lock:
 * one at a time, and the next one takes everything that came meanwhile.
 */
static const int	max_runs[] = { [ADMIT] = 2, [ENQUEUE] = 2, [SUBMIT] = 1 };

struct zx_run {
	struct kore_pgsql	 sql;
	struct zx_batch		*batch;
	struct zx_member	**slots;	/* by index; NULL once gone */
	int			 n;
	int			 got;		/* rows read */
	int			 bound;
	int			 holds_conn;	/* counted by dbconns.c */
	int			 preparing;	/* its Prepare is in flight */
	int			 prepared;	/* ... and done: execute next */
	int			 started;
	int			 finished;
	int			 failed;
	int			 lost;
	int			 unavailable;	/* a 503 error on a sound connection */
	int			 redials;	/* pooled connections found closed */
	struct zx_buf		 arg;		/* enqueue: the JSON array */
	char			 count[16];
	TAILQ_ENTRY(zx_run)	 list;
};

struct zx_batch {
	int			 kind;
	char			*key;		/* API key, or tenant */
	char			 prio[16];
	TAILQ_HEAD(, zx_member)	 pending;
	int			 npending;
	size_t			 pending_bytes;
	TAILQ_HEAD(, zx_run)	 runs;
	int			 nruns;
	struct kore_timer	*timer;
	uint64_t		 timer_at;
	TAILQ_ENTRY(zx_batch)	 list;
};

static TAILQ_HEAD(, zx_batch)	batches = TAILQ_HEAD_INITIALIZER(batches);

/* The key is checked once (materialized), then one hit per member. */
static const char sql_admit[] =
    "WITH a AS MATERIALIZED (SELECT * FROM zixly_authenticate_api_key($1)) "
    "SELECT g.i, a.tenant_id, r.allowed, r.remaining, r.reset_seconds "
    "FROM a CROSS JOIN pg_catalog.generate_series(1, $3::integer) AS g(i) "
    "CROSS JOIN LATERAL zixly_rate_limit(CASE WHEN g.i > 0 THEN "
    "'apikey:' || a.key_id END, $2::integer, 60) AS r "
    "ORDER BY g.i";

/*
 * Key check, one rate-limit hit per member (h), the members within the
 * limit (b, numbered k in member order) and their jobs (j, by position
 * in the array): one row per member, in member order, with its job's id
 * and time when it got one. A bad key gives no rows (a is empty, and
 * nothing is enqueued); so does a batch with nobody within the limit
 * (the one-time filter keeps zixly_enqueue_batch from running).
 */
static const char sql_submit[] =
    "WITH a AS MATERIALIZED (SELECT * FROM zixly_authenticate_api_key($1)), "
    "h AS MATERIALIZED (SELECT g.i, r.allowed, r.remaining, r.reset_seconds "
    "FROM a CROSS JOIN pg_catalog.generate_series(1, $3::integer) AS g(i) "
    "CROSS JOIN LATERAL zixly_rate_limit(CASE WHEN g.i > 0 THEN "
    "'apikey:' || a.key_id END, $2::integer, 60) AS r), "
    "b AS MATERIALIZED (SELECT x.n, x.e - '" ZX_JOB_OPTION_KEYS "'::text[] "
    "AS e, pg_catalog.row_number() OVER (ORDER BY x.n) AS k "
    "FROM pg_catalog.jsonb_array_elements($4::jsonb) WITH ORDINALITY "
    "AS x(e, n) JOIN h ON h.i = x.n AND h.allowed), "
    "j AS MATERIALIZED (SELECT q.id, q.created_at, q.ordinality AS k "
    "FROM a CROSS JOIN LATERAL zixly_enqueue_batch('trading-sweep', "
    "(SELECT pg_catalog.jsonb_agg(b.e ORDER BY b.n) FROM b), "
    "pg_catalog.set_config('zixly.tenant_id', a.tenant_id, true), "
    "priority => $5::integer) WITH ORDINALITY AS q "
    "WHERE EXISTS (SELECT 1 FROM b)) "
    "SELECT h.i, a.tenant_id, h.allowed, h.remaining, h.reset_seconds, "
    "j.id, " ZX_SQL_TS("j.created_at") " "
    "FROM a CROSS JOIN h LEFT JOIN b ON b.n = h.i "
    "LEFT JOIN j ON j.k = b.k ORDER BY h.i";

/*
 * The tenant is set by an argument of zixly_enqueue_batch, so it is in
 * place (for row-level security) before the function inserts anything.
 * Rows come back in the order of the array.
 */
static const char sql_enqueue[] =
    "SELECT j.id, " ZX_SQL_TS("j.created_at") " "
    "FROM zixly_enqueue_batch('trading-sweep', "
    "(SELECT pg_catalog.jsonb_agg(x.e - '" ZX_JOB_OPTION_KEYS "'::text[] "
    "ORDER BY x.n) FROM pg_catalog.jsonb_array_elements($2::jsonb) "
    "WITH ORDINALITY AS x(e, n)), "
    "pg_catalog.set_config('zixly.tenant_id', $1, true), "
    "priority => $3::integer) AS j";

/* Prepared once per connection (pgsql_more.c), by kind. */
static const struct zx_prepared statements[] = {
	[ADMIT] = { "zx_batch_admit", sql_admit, 3, 0 },
	[ENQUEUE] = { "zx_batch_enqueue", sql_enqueue, 3, 1 },
	[SUBMIT] = { "zx_batch_submit", sql_submit, 5, 2 },
};

static struct zx_batch	*batch_get(int, const char *, const char *);
static void		 batch_join(struct zx_batch *, struct zx_member *,
			    struct http_request *);
static void		 batch_schedule(struct zx_batch *, uint64_t);
static void		 batch_tick(void *, uint64_t);
static void		 run_new(struct zx_batch *);
static void		 run_start(struct zx_run *);
static void		 run_execute(struct zx_run *);
static void		 run_cb(struct kore_pgsql *, void *);
static void		 run_rows(struct zx_run *);
static void		 run_finish(struct zx_run *);

static struct zx_batch *
batch_get(int kind, const char *key, const char *prio)
{
	struct zx_batch	*b;

	TAILQ_FOREACH(b, &batches, list) {
		if (b->kind == kind && strcmp(b->key, key) == 0 &&
		    strcmp(b->prio, prio) == 0)
			return (b);
	}
	b = kore_calloc(1, sizeof(*b));
	b->kind = kind;
	b->key = kore_strdup(key);
	(void)kore_strlcpy(b->prio, prio, sizeof(b->prio));
	TAILQ_INIT(&b->pending);
	TAILQ_INIT(&b->runs);
	TAILQ_INSERT_TAIL(&batches, b, list);
	return (b);
}

static void
batch_join(struct zx_batch *b, struct zx_member *m, struct http_request *req)
{
	m->req = req;
	m->batch = b;
	m->run = NULL;
	m->done = 0;
	m->outcome = 0;
	TAILQ_INSERT_TAIL(&b->pending, m, list);
	b->npending++;
	b->pending_bytes += m->body_len;
	http_request_sleep(req);
	batch_schedule(b, 0);
}

/* Admit: check the API key and take one rate-limit hit. */
void
zx_batch_admit(struct zx_member *m, struct http_request *req,
    const char *api_key)
{
	m->body = NULL;
	m->body_len = 0;
	batch_join(batch_get(ADMIT, api_key, ""), m, req);
}

/* Check the key, count the request and enqueue its job, all at once. */
void
zx_batch_submit(struct zx_member *m, struct http_request *req,
    const char *api_key, const char *prio, const char *body, size_t len)
{
	m->body = body;
	m->body_len = len;
	batch_join(batch_get(SUBMIT, api_key, prio), m, req);
}

/* Enqueue one job body for a tenant at a priority. */
void
zx_batch_enqueue(struct zx_member *m, struct http_request *req,
    const char *tenant, const char *prio, const char *body, size_t len)
{
	m->body = body;
	m->body_len = len;
	batch_join(batch_get(ENQUEUE, tenant, prio), m, req);
}

/* The request is going away (its onfree hook). */
void
zx_batch_leave(struct zx_member *m)
{
	if (m->batch != NULL) {
		TAILQ_REMOVE(&m->batch->pending, m, list);
		m->batch->npending--;
		m->batch->pending_bytes -= m->body_len;
		m->batch = NULL;
	}
	if (m->run != NULL) {
		m->run->slots[m->index] = NULL;
		m->run = NULL;
	}
	m->req = NULL;
}

/* Runs batch_tick after ms (sooner if already due sooner). */
static void
batch_schedule(struct zx_batch *b, uint64_t ms)
{
	uint64_t	at = kore_time_ms() + ms;

	if (b->timer != NULL) {
		if (b->timer_at <= at)
			return;
		kore_timer_remove(b->timer);
	}
	b->timer = kore_timer_add(batch_tick, ms, b, KORE_TIMER_ONESHOT);
	b->timer_at = at;
}

/*
 * The batch's driver, always called from a Kore timer: finish what is
 * done, start what can start, and free the batch when it is idle.
 */
static void
batch_tick(void *arg, uint64_t now)
{
	struct zx_batch	*b = arg;
	struct zx_run	*run, *next;

	(void)now;
	b->timer = NULL;	/* Kore frees the oneshot timer after us */

	for (run = TAILQ_FIRST(&b->runs); run != NULL; run = next) {
		next = TAILQ_NEXT(run, list);
		/* Kore cleaned up a dead connection without calling back. */
		if (run->started && !run->finished && run->sql.conn == NULL &&
		    run->sql.state == KORE_PGSQL_STATE_ERROR) {
			run->failed = run->lost = run->finished = 1;
		}
		if (run->finished)
			run_finish(run);
		else if (!run->started)
			run_start(run);
		else if (run->prepared)
			run_execute(run);
	}

	while (b->npending > 0 && b->nruns < max_runs[b->kind])
		run_new(b);

	if (b->nruns > 0) {
		batch_schedule(b, BATCH_WATCH_MS);
	} else if (b->npending == 0) {
		TAILQ_REMOVE(&batches, b, list);
		kore_free(b->key);
		kore_free(b);
	}
}

/* A statement for the first pending members. */
static void
run_new(struct zx_batch *b)
{
	struct zx_run		*run;
	struct zx_member	*m;
	size_t			 bytes = 0;
	int			 n = 0;

	run = kore_calloc(1, sizeof(*run));
	run->batch = b;
	run->slots = kore_calloc(BATCH_MAX_MEMBERS, sizeof(*run->slots));
	zx_buf_init(&run->arg, b->kind != ADMIT ? b->pending_bytes + 64 : 64);
	if (b->kind != ADMIT)
		zx_buf_puts(&run->arg, "[");

	while ((m = TAILQ_FIRST(&b->pending)) != NULL &&
	    n < BATCH_MAX_MEMBERS &&
	    (n == 0 || bytes + m->body_len <= BATCH_MAX_BYTES)) {
		TAILQ_REMOVE(&b->pending, m, list);
		b->npending--;
		b->pending_bytes -= m->body_len;
		m->batch = NULL;
		m->run = run;
		m->index = n;
		run->slots[n] = m;
		if (b->kind != ADMIT) {
			if (n > 0)
				zx_buf_puts(&run->arg, ",");
			zx_buf_append(&run->arg, m->body, m->body_len);
		}
		bytes += m->body_len;
		n++;
	}
	if (b->kind != ADMIT)
		zx_buf_puts(&run->arg, "]");
	run->n = n;
	(void)snprintf(run->count, sizeof(run->count), "%d", n);

	TAILQ_INSERT_TAIL(&b->runs, run, list);
	b->nruns++;
	run_start(run);
}

static void
run_start(struct zx_run *run)
{
	struct zx_batch	*b = run->batch;

	if (!run->bound) {
		kore_pgsql_init(&run->sql);
		kore_pgsql_bind_callback(&run->sql, run_cb, run);
		run->bound = 1;
	}
	if (!kore_pgsql_setup(&run->sql, ZX_DB, KORE_PGSQL_ASYNC)) {
		/* INIT: queued for a connection; the callback says when. */
		if (run->sql.state == KORE_PGSQL_STATE_INIT)
			return;
		kore_log(LOG_NOTICE, "zixly: database connection failed: %s",
		    run->sql.error != NULL ? run->sql.error : "unknown");
		run->failed = run->lost = run->finished = 1;
		batch_schedule(b, 0);
		return;
	}
	run->started = 1;
	zx_dbconns_acquired(&run->sql);
	run->holds_conn = 1;
	if (!zx_pgsql_usable(&run->sql) &&
	    run->redials++ < (int)pgsql_conn_max + 1) {
		/* Closed by the server while pooled: nothing sent, take another. */
		zx_dbconns_released();
		run->holds_conn = 0;
		kore_pgsql_handle(run->sql.conn, 1);
		kore_pgsql_cleanup(&run->sql);
		run->bound = run->started = 0;
		run_start(run);
		return;
	}

	if (zx_prepared_ready(&run->sql, &statements[b->kind])) {
		run_execute(run);
		return;
	}
	run->preparing = 1;
	if (!zx_prepared_send_prepare(&run->sql, &statements[b->kind])) {
		run->failed = run->lost = run->finished = 1;
		batch_schedule(b, 0);
	}
}

/* The run's statement, by name, on the connection it holds. */
static void
run_execute(struct zx_run *run)
{
	struct zx_batch	*b = run->batch;
	const char	*params[5];

	if (run->prepared) {
		run->prepared = 0;
		switch (zx_pgsql_settle(&run->sql)) {
		case 0:
			return;		/* the Prepare's end is still to come */
		case -1:
			run->failed = run->lost = run->finished = 1;
			batch_schedule(b, 0);
			return;
		}
		zx_prepared_note(&run->sql, &statements[b->kind]);
		run->preparing = 0;
	}

	params[0] = b->key;
	if (b->kind == ENQUEUE) {
		params[1] = run->arg.data;
		params[2] = b->prio;
	} else {
		params[1] = zx_ratelimit_param();
		params[2] = run->count;
		params[3] = run->arg.data;	/* submit only */
		params[4] = b->prio;
	}
	if (!zx_prepared_send(&run->sql, &statements[b->kind], params)) {
		run->failed = run->lost = run->finished = 1;
		batch_schedule(b, 0);
	}
}

/*
 * Kore's pgsql callback: record and move on. It may be called from deep
 * inside Kore's pgsql code, so it never frees or starts anything and
 * returns right after kore_pgsql_continue.
 */
static void
run_cb(struct kore_pgsql *sql, void *arg)
{
	struct zx_run	*run = arg;
	const char	*state;

	switch (sql->state) {
	case KORE_PGSQL_STATE_INIT:
		batch_schedule(run->batch, 0);	/* a connection is free */
		return;
	case KORE_PGSQL_STATE_WAIT:
	case KORE_PGSQL_STATE_NOTIFY:
		return;
	case KORE_PGSQL_STATE_RESULT:
		if (!run->failed)
			run_rows(run);
		kore_pgsql_continue(sql);
		return;
	case KORE_PGSQL_STATE_ERROR:
		state = sql->result != NULL ?
		    PQresultErrorField(sql->result, PG_DIAG_SQLSTATE) : NULL;
		/* Prepared before, by a connection we lost track of: fine. */
		if (run->preparing && state != NULL &&
		    strcmp(state, "42P05") == 0) {
			kore_pgsql_continue(sql);	/* DONE follows */
			return;
		}
		if (!run->failed) {
			kore_log(LOG_NOTICE, "zixly: batch of %d failed "
			    "(SQLSTATE %s): %s", run->n, state != NULL ?
			    state : "none", sql->error != NULL ? sql->error :
			    "unknown");
		}
		run->failed = 1;
		if (sql->conn == NULL ||
		    PQstatus(sql->conn->db) == CONNECTION_BAD ||
		    zx_pgerr_conn_lost(state)) {
			run->lost = run->finished = 1;
			batch_schedule(run->batch, 0);
			return;
		}
		if (zx_pgerr_unavailable(state))
			run->unavailable = 1;
		kore_pgsql_continue(sql);	/* drain; DONE follows */
		return;
	case KORE_PGSQL_STATE_DONE:
		if (run->preparing && !run->failed) {
			run->prepared = 1;	/* keep the connection: execute */
			batch_schedule(run->batch, 0);
			return;
		}
		kore_pgsql_continue(sql);	/* release; COMPLETE follows */
		return;
	case KORE_PGSQL_STATE_COMPLETE:
		run->finished = 1;
		batch_schedule(run->batch, 0);
		return;
	default:
		return;
	}
}

/* Copies each row into its member (rows are in member order). */
static void
run_rows(struct zx_run *run)
{
	struct kore_pgsql	*sql = &run->sql;
	struct zx_member	*m;
	int			 i, idx, rows;

	rows = kore_pgsql_ntuples(sql);
	for (i = 0; i < rows && run->got < run->n; i++, run->got++) {
		idx = run->got;
		if ((m = run->slots[idx]) == NULL)
			continue;
		if (run->batch->kind != ENQUEUE) {
			(void)kore_strlcpy(m->tenant,
			    kore_pgsql_getvalue(sql, i, 1), sizeof(m->tenant));
			m->allowed = strcmp(kore_pgsql_getvalue(sql, i, 2),
			    "t") == 0;
			(void)kore_strlcpy(m->remaining,
			    kore_pgsql_getvalue(sql, i, 3), sizeof(m->remaining));
			(void)kore_strlcpy(m->reset,
			    kore_pgsql_getvalue(sql, i, 4), sizeof(m->reset));
		}
		if (run->batch->kind == SUBMIT) {
			/* No job (NULL) when the request is over the limit. */
			m->job_id[0] = m->created_at[0] = '\0';
			if (!PQgetisnull(sql->result, i, 5)) {
				(void)kore_strlcpy(m->job_id,
				    kore_pgsql_getvalue(sql, i, 5),
				    sizeof(m->job_id));
				(void)kore_strlcpy(m->created_at,
				    kore_pgsql_getvalue(sql, i, 6),
				    sizeof(m->created_at));
			}
		} else if (run->batch->kind == ENQUEUE) {
			(void)kore_strlcpy(m->job_id,
			    kore_pgsql_getvalue(sql, i, 0), sizeof(m->job_id));
			(void)kore_strlcpy(m->created_at,
			    kore_pgsql_getvalue(sql, i, 1),
			    sizeof(m->created_at));
		}
		m->outcome = ZX_MEMBER_OK;
	}
}

/* Gives every member its outcome, wakes it, and frees the run. */
static void
run_finish(struct zx_run *run)
{
	struct zx_batch		*b = run->batch;
	struct zx_member	*m;
	int			 i;

	if (run->holds_conn)
		zx_dbconns_released();
	if (run->bound) {
		if (run->lost && run->sql.conn != NULL)
			kore_pgsql_handle(run->sql.conn, 1);	/* drop it */
		kore_pgsql_cleanup(&run->sql);
	}

	for (i = 0; i < run->n; i++) {
		if ((m = run->slots[i]) == NULL)
			continue;
		if (run->lost || run->unavailable)
			m->outcome = ZX_MEMBER_LOST;
		else if (run->failed)
			m->outcome = ZX_MEMBER_FAILED;
		else if (m->outcome != ZX_MEMBER_OK)
			m->outcome = b->kind != ENQUEUE ? ZX_MEMBER_NOROW :
			    ZX_MEMBER_FAILED;
		if (m->outcome == ZX_MEMBER_OK && b->kind != ADMIT &&
		    m->job_id[0] != '\0')
			zx_metrics_job_queued(zx_metrics);
		m->done = 1;
		m->run = NULL;
		http_request_wakeup(m->req);
	}

	TAILQ_REMOVE(&b->runs, run, list);
	b->nruns--;
	zx_buf_free(&run->arg);
	kore_free(run->slots);
	kore_free(run);
}
