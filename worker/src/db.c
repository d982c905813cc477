/*
 * db.c — libpq for the worker (see db.h): connections with their prepared statements, the
 * extension's worker API, and non-blocking reads of asynchronously sent commands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "db.h"
#include "log.h"
#include "metrics.h"

struct stmt {
	const char *name;
	const char *sql;
};

/* Statements of each role, prepared once per connection. */
static const struct stmt control_stmts[] = {
	{"heartbeat", "SELECT id FROM zixly_heartbeat($1, $2::text[],"
	    " pg_catalog.make_interval(secs => $3::int)) AS h(id)"},
	{"release", "SELECT id FROM zixly_release($1, $2)"},
	{"fail", "SELECT status FROM zixly_fail($1, $2, $3, $4::boolean, $5::int)"},
	{"next_run_at", "SELECT EXTRACT(EPOCH FROM zixly_next_run_at($1::text[]) - pg_catalog.now())"},
};

/* The claim columns (ZX_CLAIM_COL_*) and zixly_claim with its synchronous_commit: $1..$5 of
 * both the claim and the wait statement. */
#define CLAIM_COLS "c.id, c.job_type, c.tenant_id, c.queue, c.parameters, c.attempts, c.max_attempts"
#define CLAIM_FROM "pg_catalog.set_config('synchronous_commit', $5, true) AS sc," \
	" zixly_claim($1, $2::int, $3::text[], pg_catalog.make_interval(secs => $4::int)) AS c"

/*
 * The rescue, prepared as "rescue": since 0.1.2 with the jobs it rescued (the columns are
 * ZX_RESCUE_COL_*), so that the dead-lettered ones' callbacks can be sent; before, a count.
 */
static const struct stmt rescue_jobs = {"rescue",
	"SELECT r.id, r.job_type, r.tenant_id, r.status, r.attempts, r.error_message,"
	" r.parameters->>'webhook_url', r.parameters->>'ticker' FROM zixly_rescue_jobs() AS r"};
static const struct stmt rescue_count = {"rescue", "SELECT zixly_rescue()"};

static const struct stmt claim_stmts[] = {
	{"claim", "SELECT " CLAIM_COLS " FROM " CLAIM_FROM},
	{"complete_batch", "SELECT id FROM zixly_complete_batch($1, $2::text[]) AS c(id)"},
};

static const struct stmt wait_stmts[] = {
	/*
	 * zixly_wait($6, $7), then, if $8 and the wait answered a generation other than $6, a
	 * claim in the same statement.  The claim runs after the wait returns, with a snapshot and
	 * a clock of its own (SPI, claim.c), so it sees the commit that ended the wait.  OFFSET 0
	 * keeps the subquery whole, which makes its condition a one-time filter: a wait that timed
	 * out claims nothing.  Without a claim the one row has NULL claim columns.
	 */
	{"wait", "SELECT " CLAIM_COLS ", g.gen FROM zixly_wait($6::bigint, $7::int) AS g(gen)"
	    " LEFT JOIN LATERAL (SELECT c.* FROM " CLAIM_FROM
	    "   WHERE $8::boolean AND g.gen OPERATOR(pg_catalog.<>) $6::bigint OFFSET 0) AS c ON true"},
};

static const struct stmt sweep_stmts[] = {
	/* dates as written for daily bars, ISO 8601 with offset for intraday ones */
	{"prices", "SELECT CASE WHEN p.ts = pg_catalog.date_trunc('day', p.ts)"
	    "            THEN pg_catalog.to_char(p.ts, 'YYYY-MM-DD')"
	    "            ELSE pg_catalog.to_char(p.ts, 'YYYY-MM-DD\"T\"HH24:MI:SSOF') END, p.close"
	    "  FROM zixly.prices p WHERE p.ticker = $1 ORDER BY p.ts"},
	{"delete_results", "DELETE FROM zixly.trading_sweep_results WHERE job_id = $1"},
	/* $7: JSON array of the rows, numbers printed with 17 significant digits (exact) */
	{"insert_results",
	    "INSERT INTO zixly.trading_sweep_results (id, job_id, tenant_id, sweep_run_id, ticker,"
	    "   strategy_type, fast_period, slow_period, signal_period, rank, score, sharpe_ratio,"
	    "   total_return_pct, max_drawdown_pct, total_trades, sortino_ratio, win_rate_pct,"
	    "   profit_factor, exposure_pct)"
	    " SELECT zixly_new_id(), $1, $2, $3, $4, $5, r.fast, r.slow, $6::int, r.rank, r.score,"
	    "   r.sharpe_ratio, r.total_return_pct, r.max_drawdown_pct, r.total_trades,"
	    "   r.sortino_ratio, r.win_rate_pct, r.profit_factor, r.exposure_pct"
	    "   FROM pg_catalog.jsonb_to_recordset($7::jsonb) AS r(fast int, slow int, rank int,"
	    "     score float8, sharpe_ratio float8, total_return_pct float8, max_drawdown_pct float8,"
	    "     total_trades int, sortino_ratio float8, win_rate_pct float8, profit_factor float8,"
	    "     exposure_pct float8)"},
	{"complete", "SELECT status FROM zixly_complete($1, $2, $3::jsonb, $4::jsonb, $5::int)"},
	{"new_id", "SELECT zixly_new_id()"},
	{"fail", "SELECT status FROM zixly_fail($1, $2, $3, $4::boolean, $5::int)"},
};

const char *
zx_db_role_name(enum zx_db_role role)
{
	switch (role) {
	case ZX_DB_CONTROL:
		return "control";
	case ZX_DB_CLAIM:
		return "claim";
	case ZX_DB_WAIT:
		return "wait";
	default:
		return "sweep";
	}
}

const char *
zx_db_errmsg(PGconn *c, const PGresult *r)
{
	static __thread char buf[512];
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	size_t n;

	if (m == NULL && c != NULL)
		m = PQerrorMessage(c);
	snprintf(buf, sizeof(buf), "%s", m ? m : "unknown error");
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return buf;
}

int
zx_db_not_held(const PGresult *r)
{
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	/* 55000: not RUNNING or another worker's; P0002: no such job */
	return st != NULL && (strcmp(st, "55000") == 0 || strcmp(st, "02000") == 0 ||
	    strcmp(st, "P0002") == 0);
}

/*
 * Messages the server sends outside a statement's answer (a FATAL before it closes the
 * connection, a NOTICE or WARNING) as log lines, instead of libpq's raw lines on stderr.
 */
static void
log_notice(void *role, const PGresult *r)
{
	const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
	int quiet = sev != NULL && (strcmp(sev, "NOTICE") == 0 || strcmp(sev, "INFO") == 0 ||
	    strcmp(sev, "LOG") == 0 || strcmp(sev, "DEBUG") == 0);

	zlog(quiet ? ZX_DEBUG : ZX_WARN, "db_notice", "role=%s severity=%s message=%s",
	    (const char *)role, sev ? sev : "unknown", zx_q(zx_db_errmsg(NULL, r)));
}

static void
log_failure(PGconn *c, PGresult *r, const char *what)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	zlog(zx_db_broken(c) ? ZX_WARN : ZX_ERROR, "db_error", "call=%s sqlstate=%s error=%s%s",
	    what, state ? state : "none", zx_q(zx_db_errmsg(c, r)),
	    zx_db_broken(c) ? " connection=lost" : "");
}

/*
 * A statement named a function the database lacks: the zixly extension is missing there, or
 * older than the calls of this worker.  Says which, and how to mend it (the worker keeps retrying,
 * so it carries on once the DBA has run the hint).
 */
static void
log_extension_mismatch(PGconn *c)
{
	PGresult *r = PQexec(c, "SELECT extversion FROM pg_catalog.pg_extension"
	    " WHERE extname OPERATOR(pg_catalog.=) 'zixly'");

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 0)
		zlog(ZX_ERROR, "db_extension_missing", "database=%s needed=%s hint=%s",
		    zx_q(PQdb(c)), ZX_EXTENSION_VERSION, zx_q("CREATE EXTENSION zixly"));
	else if (PQresultStatus(r) == PGRES_TUPLES_OK)
		zlog(ZX_ERROR, "db_extension_outdated",
		    "database=%s installed=%s needed=%s hint=%s", zx_q(PQdb(c)),
		    zx_q(PQgetvalue(r, 0, 0)), ZX_EXTENSION_VERSION,
		    zx_q("ALTER EXTENSION zixly UPDATE"));
	PQclear(r);
}

static int
was_cancelled(const PGresult *r)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

	return state != NULL && strcmp(state, "57014") == 0;	/* query_canceled */
}

int
zx_db_check_url(const char *url)
{
	char *err = NULL;
	PQconninfoOption *o = PQconninfoParse(url, &err);

	if (o == NULL) {
		fprintf(stderr, "zixly-worker: DATABASE_URL: %s", err ? err : "cannot parse\n");
		PQfreemem(err);
		return -1;
	}
	PQconninfoFree(o);
	return 0;
}

int
zx_db_broken(PGconn *c)
{
	return c == NULL || PQstatus(c) == CONNECTION_BAD;
}

/* Prepares one statement; on failure logs why and closes c (ZX_ERR). */
static int
prepare(PGconn *c, const struct stmt *st)
{
	PGresult *r = PQprepare(c, st->name, st->sql, 0, NULL);

	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

		log_failure(c, r, st->name);
		/* undefined_function: the extension is missing or older than this worker */
		if (state != NULL && strcmp(state, "42883") == 0)
			log_extension_mismatch(c);
		PQclear(r);
		PQfinish(c);
		return ZX_ERR;
	}
	PQclear(r);
	return ZX_OK;
}

/*
 * Whether the database has the function (a regprocedure text) and this role may execute it: 1
 * or 0; -1 (logged) on error.
 */
static int
may_execute(PGconn *c, const char *signature)
{
	const char *v[1] = {signature};
	PGresult *r = PQexecParams(c, "SELECT coalesce(pg_catalog.has_function_privilege("
	    "pg_catalog.to_regprocedure($1), 'EXECUTE'), false)", 1, NULL, v, NULL, NULL, 0);
	int may;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_failure(c, r, "look up a function");
		PQclear(r);
		return -1;
	}
	may = PQgetvalue(r, 0, 0)[0] == 't';
	PQclear(r);
	return may;
}

PGconn *
zx_db_connect(const char *url, enum zx_db_role role)
{
	/* defaults first: anything in url (expanded from dbname) overrides them */
	const char *keys[] = {"fallback_application_name", "connect_timeout", "keepalives_idle",
	    "keepalives_interval", "keepalives_count", "dbname", NULL};
	const char *vals[] = {"zixly-worker", "5", "10", "5", "3", url, NULL};
	const struct stmt *stmts;
	size_t n;
	PGconn *c;

	c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		zlog(ZX_WARN, "db_connect_failed", "role=%s error=%s", zx_db_role_name(role),
		    zx_q(zx_db_errmsg(c, NULL)));
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeReceiver(c, log_notice, (void *)zx_db_role_name(role));
	/* the wait blocks in the server by design; a database's statement_timeout must not cut it */
	if (role == ZX_DB_WAIT && zx_db_command(c, "SET statement_timeout = 0") < 0) {
		PQfinish(c);
		return NULL;
	}
	if (role == ZX_DB_CONTROL) {
		stmts = control_stmts;
		n = ZX_ARRAY_LEN(control_stmts);
	} else if (role == ZX_DB_CLAIM) {
		stmts = claim_stmts;
		n = ZX_ARRAY_LEN(claim_stmts);
	} else if (role == ZX_DB_WAIT) {
		stmts = wait_stmts;
		n = ZX_ARRAY_LEN(wait_stmts);
	} else {
		stmts = sweep_stmts;
		n = ZX_ARRAY_LEN(sweep_stmts);
	}
	for (size_t i = 0; i < n; i++)
		if (prepare(c, &stmts[i]) != ZX_OK)
			return NULL;
	if (role == ZX_DB_CONTROL) {
		int has = may_execute(c, "zixly_rescue_jobs()");

		if (has < 0 || prepare(c, has ? &rescue_jobs : &rescue_count) != ZX_OK) {
			if (has < 0)
				PQfinish(c);
			return NULL;
		}
	}
	zx_metrics_db_connections(role, 1);
	zlog(ZX_DEBUG, "db_connected", "role=%s host=%s port=%s database=%s backend_pid=%d",
	    zx_db_role_name(role), zx_q(PQhost(c) ? PQhost(c) : ""), PQport(c), zx_q(PQdb(c)),
	    PQbackendPID(c));
	return c;
}

void
zx_db_close(PGconn *c, enum zx_db_role role)
{
	if (c == NULL)
		return;
	PQfinish(c);
	zx_metrics_db_connections(role, -1);
}

PGresult *
zx_db_exec(PGconn *c, const char *stmt, int n, const char *const *values, ExecStatusType expect,
    const char *what)
{
	PGresult *r = PQexecPrepared(c, stmt, n, values, NULL, NULL, 0);

	if (PQresultStatus(r) != expect) {
		log_failure(c, r, what);
		PQclear(r);
		return NULL;
	}
	return r;
}

int
zx_db_command(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int rc = ZX_OK;

	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		log_failure(c, r, sql);
		rc = ZX_ERR;
	}
	PQclear(r);
	return rc;
}

int
zx_db_rescue(PGconn *c, int *rescued, PGresult **jobs)
{
	PGresult *r = zx_db_exec(c, "rescue", 0, NULL, PGRES_TUPLES_OK, "zixly_rescue");

	*jobs = NULL;
	if (r == NULL)
		return ZX_ERR;
	if (PQnfields(r) == 1) {	/* the count of a database before 0.1.2 */
		*rescued = atoi(PQgetvalue(r, 0, 0));
		PQclear(r);
		return ZX_OK;
	}
	*rescued = PQntuples(r);
	*jobs = r;
	return ZX_OK;
}

int
zx_db_heartbeat(PGconn *c, const char *worker_id, char *const *ids, size_t n, int lease, int *held)
{
	struct zx_buf arr;
	char lease_s[16];
	const char *v[3];
	PGresult *r;

	zx_buf_init(&arr, 0);
	zx_buf_text_array(&arr, ids, n);
	snprintf(lease_s, sizeof(lease_s), "%d", lease);
	v[0] = worker_id;
	v[1] = arr.data;
	v[2] = lease_s;
	r = zx_db_exec(c, "heartbeat", 3, v, PGRES_TUPLES_OK, "zixly_heartbeat");
	zx_buf_free(&arr);
	if (r == NULL)
		return ZX_ERR;
	for (size_t i = 0; i < n; i++) {
		held[i] = 0;
		for (int k = 0; k < PQntuples(r) && !held[i]; k++)
			held[i] = strcmp(PQgetvalue(r, k, 0), ids[i]) == 0;
	}
	PQclear(r);
	return ZX_OK;
}

int
zx_db_release(PGconn *c, const char *job_id, const char *worker_id)
{
	const char *v[2] = {job_id, worker_id};
	PGresult *r = PQexecPrepared(c, "release", 2, v, NULL, NULL, 0);
	int rc = ZX_OK;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = zx_db_not_held(r) ? ZX_DB_NOT_HELD : ZX_ERR;
		if (rc == ZX_ERR)
			log_failure(c, r, "zixly_release");
	}
	PQclear(r);
	return rc;
}

int
zx_db_fail(PGconn *c, const char *job_id, const char *worker_id, int attempt, const char *error,
    int retryable, int *requeued)
{
	char attempt_s[16];
	const char *v[5] = {job_id, worker_id, error, retryable ? "true" : "false", attempt_s};
	PGresult *r;

	snprintf(attempt_s, sizeof(attempt_s), "%d", attempt);
	r = zx_db_exec(c, "fail", 5, v, PGRES_TUPLES_OK, "zixly_fail");

	if (r == NULL)
		return ZX_ERR;
	if (requeued != NULL)
		*requeued = strcmp(PQgetvalue(r, 0, 0), "QUEUED") == 0;
	PQclear(r);
	return ZX_OK;
}

int
zx_db_next_run_at(PGconn *c, const char *queues_array, double *seconds, int *has)
{
	const char *v[1] = {queues_array};
	PGresult *r = zx_db_exec(c, "next_run_at", 1, v, PGRES_TUPLES_OK, "zixly_next_run_at");

	if (r == NULL)
		return ZX_ERR;
	*has = !PQgetisnull(r, 0, 0);
	*seconds = *has ? strtod(PQgetvalue(r, 0, 0), NULL) : 0;
	PQclear(r);
	return ZX_OK;
}

/* The claim's parameters $1..$5 into v[0..4]; the numbers are written into n_s and lease_s. */
static void
claim_values(const struct zx_claim_req *q, const char **v, char n_s[16], char lease_s[16])
{
	snprintf(n_s, 16, "%d", q->max_jobs);
	snprintf(lease_s, 16, "%d", q->lease);
	v[0] = q->worker_id;
	v[1] = n_s;
	v[2] = q->queues_array;
	v[3] = lease_s;
	v[4] = q->durable ? "on" : "off";
}

int
zx_db_send_claim(PGconn *c, const struct zx_claim_req *q)
{
	char n_s[16], lease_s[16];
	const char *v[5];

	claim_values(q, v, n_s, lease_s);
	if (!PQsendQueryPrepared(c, "claim", 5, v, NULL, NULL, 0)) {
		log_failure(c, NULL, "send zixly_claim");
		return ZX_ERR;
	}
	return ZX_OK;
}

int
zx_db_send_wait(PGconn *c, long long since, int timeout_ms, const struct zx_claim_req *q)
{
	/* placeholders for $1..$5 when the wait does not claim ($8 false: never evaluated) */
	static const struct zx_claim_req none = {"-", 1, NULL, 1, 0};
	char n_s[16], lease_s[16], since_s[32], timeout_s[16];
	const char *v[8];

	claim_values(q ? q : &none, v, n_s, lease_s);
	snprintf(since_s, sizeof(since_s), "%lld", since);
	snprintf(timeout_s, sizeof(timeout_s), "%d", timeout_ms);
	v[5] = since < 0 ? NULL : since_s;
	v[6] = timeout_s;
	v[7] = q ? "true" : "false";
	if (!PQsendQueryPrepared(c, "wait", 8, v, NULL, NULL, 0)) {
		log_failure(c, NULL, "send zixly_wait");
		return ZX_ERR;
	}
	return ZX_OK;
}

int
zx_db_cancel(PGconn *c)
{
	char err[256] = "no cancel handle";
	PGcancel *cn = PQgetCancel(c);
	int ok = cn != NULL && PQcancel(cn, err, sizeof(err));

	PQfreeCancel(cn);
	if (!ok)
		zlog(ZX_WARN, "db_cancel_failed", "error=%s", zx_q(err));
	return ok ? ZX_OK : ZX_ERR;
}

int
zx_db_has_wait(PGconn *c)
{
	/* since 0.1.1 only zixly_worker members (and superusers) may wait; others LISTEN */
	return may_execute(c, "zixly_wait(bigint,integer)");
}

int
zx_db_send_complete_batch(PGconn *c, const char *worker_id, const char *ids_array)
{
	const char *v[2] = {worker_id, ids_array};

	if (!PQsendQueryPrepared(c, "complete_batch", 2, v, NULL, NULL, 0)) {
		log_failure(c, NULL, "send zixly_complete_batch");
		return ZX_ERR;
	}
	return ZX_OK;
}

int
zx_db_async_read(PGconn *c, PGresult **pending, PGresult **res, const char *what, int cancelled)
{
	*res = NULL;
	if (!PQconsumeInput(c)) {
		log_failure(c, NULL, what);
		if (*pending != NULL) {
			PQclear(*pending);
			*pending = NULL;
		}
		return -1;
	}
	while (!PQisBusy(c)) {
		PGresult *r = PQgetResult(c);

		if (r == NULL) {	/* the command is over */
			*res = *pending;
			*pending = NULL;
			if (*res != NULL && PQresultStatus(*res) != PGRES_TUPLES_OK) {
				if (cancelled && was_cancelled(*res))
					zlog(ZX_INFO, "db_cancelled", "call=%s", what);
				else
					log_failure(c, *res, what);
				PQclear(*res);
				*res = NULL;
			}
			if (*res == NULL && zx_db_broken(c))
				return -1;
			return 1;
		}
		if (*pending != NULL)
			PQclear(*pending);	/* keep the last result of the command */
		*pending = r;
	}
	if (zx_db_broken(c)) {
		if (*pending != NULL) {
			PQclear(*pending);
			*pending = NULL;
		}
		return -1;
	}
	return 0;
}
