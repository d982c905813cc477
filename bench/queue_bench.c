/*
 * queue_bench.c — the client side of workloads Q3 (drain) and Q4 (latency) of
 * bench/peers/WORKLOAD.md for zixly; bench/q3.sh and bench/q4.sh drive it.  The connection
 * comes from DATABASE_URL (libpq conninfo; the scripts connect over TCP to 127.0.0.1).
 *
 *   queue_bench preload N
 *       Pre-loads N noop jobs with payload P by the Q2 method (zixly_enqueue_batch, 1000 jobs
 *       per call), then checks that the store holds exactly N jobs.  Untimed.
 *
 *   queue_bench q3 SYSTEM N PID:PORT...
 *       "go": t0 = CLOCK_MONOTONIC, then SIGUSR1 to each worker PID (workers started with
 *       --paused have connected and logged event=ready without taking a job).  As WORKLOAD.md
 *       says, the store is polled only once the handlers have seen N jobs: until then the
 *       workers' counts are read every 20 ms (as the peers' processes report theirs), from each
 *       worker's /metrics on 127.0.0.1:PORT (pipeline_jobs_processed_total of noop jobs
 *       completed, counted once their completion has committed).  Then the store is polled
 *       about every 5 ms on one dedicated connection; t1 is the first poll that reports no job
 *       not yet completed: none QUEUED or RUNNING (asked of their two partial indexes).  After
 *       t1, untimed, the run fails unless exactly N jobs are COMPLETED (of the N preloaded):
 *       none may have ended otherwise.  Prints RESULT system=SYSTEM bench=Q3
 *       metric=jobs_per_s.  (Polling the store all through the drain, as this client did
 *       before, took a fifth of the machine's CPU from it: each poll stepped over the claimed
 *       rows.)
 *
 *   queue_bench q4 M GAP_MS LATENCY_FILE
 *       One producer connection.  Enqueues M noop jobs, one SELECT zixly_enqueue(...) per call
 *       (autocommit), call i starting at max(t0 + i * GAP_MS, the return of call i-1); each
 *       payload is P plus "enq_mono_ms": CLOCK_MONOTONIC in ms read just before the call.
 *       Waits until all M are completed, reads the worker's latency file (lines
 *       "<job id> <start - enq_mono_ms>", written by the noop handler whose first action reads
 *       CLOCK_MONOTONIC), and prints nearest-rank p50/p95/p99 as RESULT lines.  Then the
 *       floor: M calls of a plain INSERT of the same payload into q4_floor (made by q4.sh), at
 *       the same pace; their durations' percentiles as RESULT lines of system=plain-insert.
 *       Last, an INFO line: the same calls as a SELECT of the payload (no write), at the pace
 *       and back to back, which shows what waking idle processes costs on this host.
 *
 * Exit status 0 ok, 1 failed run, 2 usage.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include <curl/curl.h>
#include <libpq-fe.h>

#define PAYLOAD "{\"ticker\":\"BTC-USD\",\"fast_range\":[10,20],\"slow_range\":[20,30],\"step\":5,\"strategy_type\":\"SMA\"}"
#define PRELOAD_BATCH 1000
#define TIMEOUT_S 240.0

static double
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
sleep_ms(double ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)((ms - ts.tv_sec * 1000.0) * 1e6);
	nanosleep(&ts, NULL);
}

static void
die(PGconn *conn, const char *what)
{
	fprintf(stderr, "queue_bench: %s: %s", what, conn ? PQerrorMessage(conn) : "\n");
	exit(1);
}

static PGconn *
connect_db(void)
{
	const char *url = getenv("DATABASE_URL");
	PGconn *conn = PQconnectdb(url ? url : "");

	if (PQstatus(conn) != CONNECTION_OK)
		die(conn, "connect");
	return conn;
}

/* One value of a query with no parameters; the caller frees it. */
static char *
query_value(PGconn *conn, const char *sql)
{
	PGresult *r = PQexec(conn, sql);
	char *v;

	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		fprintf(stderr, "queue_bench: %s: %s", sql, PQresultErrorMessage(r));
		exit(1);
	}
	v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

static long
query_long(PGconn *conn, const char *sql)
{
	char *v = query_value(conn, sql);
	long n = atol(v);

	free(v);
	return n;
}

static long
parse_positive(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || v <= 0 || v > 100000000) {
		fprintf(stderr, "queue_bench: %s must be a positive integer, got '%s'\n", what, s);
		exit(2);
	}
	return v;
}

static int
preload(long n)
{
	PGconn *conn = connect_db();
	size_t plen = strlen(PAYLOAD);
	char *batch = malloc(PRELOAD_BATCH * (plen + 1) + 2);
	PGresult *r;
	long done = 0, have;

	if (batch == NULL)
		die(NULL, "out of memory");
	r = PQprepare(conn, "enqueue_batch",
	    "SELECT count(*) FROM zixly_enqueue_batch('noop', $1::jsonb)", 1, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		die(conn, "prepare");
	PQclear(r);
	while (done < n) {
		long k = n - done < PRELOAD_BATCH ? n - done : PRELOAD_BATCH;
		char *p = batch;
		const char *v[1] = {batch};

		*p++ = '[';
		for (long i = 0; i < k; i++) {
			if (i > 0)
				*p++ = ',';
			memcpy(p, PAYLOAD, plen);
			p += plen;
		}
		*p++ = ']';
		*p = '\0';
		r = PQexecPrepared(conn, "enqueue_batch", 1, v, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK)
			die(conn, "zixly_enqueue_batch");
		PQclear(r);
		done += k;
	}
	free(batch);
	have = query_long(conn, "SELECT count(*) FROM zixly.pipeline_jobs");
	PQfinish(conn);
	if (have != n) {
		fprintf(stderr, "queue_bench: expected %ld queued jobs, store holds %ld\n", n, have);
		return 1;
	}
	fprintf(stderr, "INFO preloaded %ld noop jobs\n", n);
	return 0;
}

/* Whether a job is still QUEUED or RUNNING: not yet completed (see the header). */
static int
busy(PGconn *conn)
{
	char *v = query_value(conn,
	    "SELECT EXISTS (SELECT 1 FROM zixly.pipeline_jobs WHERE status = 'QUEUED')"
	    "    OR EXISTS (SELECT 1 FROM zixly.pipeline_jobs WHERE status = 'RUNNING')");
	int any = v[0] == 't';

	free(v);
	return any;
}

/* A worker of Q3: its PID and its /metrics, read through one kept-alive connection. */
struct q3_worker {
	pid_t pid;
	CURL *curl;
	char *text;		/* the last answer, NUL-ended */
	size_t len;
};

static size_t
collect(char *data, size_t size, size_t nmemb, void *arg)
{
	struct q3_worker *w = arg;
	char *grown = realloc(w->text, w->len + size * nmemb + 1);

	if (grown == NULL)
		return 0;
	w->text = grown;
	memcpy(w->text + w->len, data, size * nmemb);
	w->len += size * nmemb;
	w->text[w->len] = '\0';
	return size * nmemb;
}

/* "PID:PORT" into w; exits on a malformed one. */
static void
q3_worker_open(struct q3_worker *w, const char *spec)
{
	const char *colon = strchr(spec, ':');
	char pid[32], url[64];
	long port;

	if (colon == NULL || (size_t)(colon - spec) >= sizeof(pid)) {
		fprintf(stderr, "queue_bench: a worker is PID:PORT, not \"%s\"\n", spec);
		exit(2);
	}
	memcpy(pid, spec, (size_t)(colon - spec));
	pid[colon - spec] = '\0';
	w->pid = (pid_t)parse_positive(pid, "PID");
	port = parse_positive(colon + 1, "PORT");
	snprintf(url, sizeof(url), "http://127.0.0.1:%ld/metrics", port);
	w->text = NULL;
	w->len = 0;
	if ((w->curl = curl_easy_init()) == NULL) {
		fprintf(stderr, "queue_bench: curl_easy_init failed\n");
		exit(1);
	}
	curl_easy_setopt(w->curl, CURLOPT_URL, url);
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(w->curl, CURLOPT_TIMEOUT_MS, 2000L);
}

/* The noop jobs this worker has completed, from its /metrics; exits if it cannot be read. */
static long
q3_worker_count(struct q3_worker *w)
{
	static const char key[] = "pipeline_jobs_processed_total{job_type=\"noop\",status=\"completed\"} ";
	CURLcode rc;
	const char *at;

	w->len = 0;
	rc = curl_easy_perform(w->curl);
	if (rc != CURLE_OK || w->text == NULL || (at = strstr(w->text, key)) == NULL) {
		fprintf(stderr, "queue_bench: worker %ld's /metrics: %s\n", (long)w->pid,
		    rc != CURLE_OK ? curl_easy_strerror(rc) : "no count of completed noop jobs");
		exit(1);
	}
	return atol(at + sizeof(key) - 1);
}

static int
q3(const char *system, long n, int nworkers, char **specs)
{
	PGconn *conn = connect_db();
	struct q3_worker *workers = calloc((size_t)nworkers, sizeof(*workers));
	double t0, t1, now, t_handled;
	long completed, handled, polls = 0;
	int any_left;
	PGresult *r;

	/* index probes only: the poll must not scan the table the workers are updating */
	r = PQexec(conn, "SET enable_seqscan = off");
	PQclear(r);
	(void)busy(conn);	/* warm the connection and its plans, untimed */
	if (workers == NULL)
		die(NULL, "out of memory");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		die(NULL, "curl_global_init failed");
	for (int i = 0; i < nworkers; i++) {
		q3_worker_open(&workers[i], specs[i]);
		if (q3_worker_count(&workers[i]) != 0) {	/* and warm its connection */
			fprintf(stderr, "queue_bench: worker %ld has run jobs before \"go\"\n",
			    (long)workers[i].pid);
			return 1;
		}
	}
	t0 = mono_ms();
	for (int i = 0; i < nworkers; i++)
		if (kill(workers[i].pid, SIGUSR1) != 0) {
			fprintf(stderr, "queue_bench: cannot signal worker %ld: %s\n",
			    (long)workers[i].pid, strerror(errno));
			return 1;
		}
	for (;;) {
		double next = mono_ms() + 20;

		handled = 0;
		for (int i = 0; i < nworkers; i++)
			handled += q3_worker_count(&workers[i]);
		now = mono_ms();
		if (handled >= n)
			break;
		if (now - t0 > TIMEOUT_S * 1e3) {
			fprintf(stderr, "queue_bench: Q3: %ld of %ld jobs handled after %.0f s\n",
			    handled, n, TIMEOUT_S);
			return 1;
		}
		sleep_ms(next - now);
	}
	t_handled = now;
	for (;;) {
		double next = mono_ms() + 5;

		any_left = busy(conn);
		polls++;
		now = mono_ms();
		if (!any_left)
			break;
		if (now - t0 > TIMEOUT_S * 1e3) {
			fprintf(stderr, "queue_bench: Q3 not drained after %.0f s\n", TIMEOUT_S);
			return 1;
		}
		sleep_ms(next - now);
	}
	t1 = now;
	completed = query_long(conn, "SELECT count(*) FROM zixly.pipeline_jobs WHERE status = 'COMPLETED'");
	PQfinish(conn);
	for (int i = 0; i < nworkers; i++) {
		curl_easy_cleanup(workers[i].curl);
		free(workers[i].text);
	}
	free(workers);
	curl_global_cleanup();
	if (completed != n) {
		fprintf(stderr, "queue_bench: %ld jobs COMPLETED, expected %ld\n", completed, n);
		return 1;
	}
	fprintf(stderr, "INFO %s Q3: %ld jobs drained by %d process(es) in %.1f ms (handlers done"
	    " at %.1f ms, then %ld polls of the store); claims batched, completed rows kept (status"
	    " COMPLETED)\n", system, n, nworkers, t1 - t0, t_handled - t0, polls);
	printf("RESULT system=%s bench=Q3 metric=jobs_per_s value=%.2f\n", system,
	    n / ((t1 - t0) / 1e3));
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the ceil(p/100 * n)-th smallest value. */
static double
percentile(const double *sorted, long n, double p)
{
	long rank = (long)ceil(p / 100.0 * n);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

/*
 * Runs the one-parameter prepared statement `stmt` m times, call i starting at
 * max(t0 + i * gap ms, the return of call i-1), with payload P plus "enq_mono_ms" (read just
 * before the call).  Returns the calls' durations in ms, sorted; the caller frees them.
 */
static double *
paced_calls(PGconn *conn, const char *stmt, long m, long gap)
{
	double t0 = mono_ms(), *call = calloc((size_t)m, sizeof(double));
	char payload[256];

	if (call == NULL)
		die(NULL, "out of memory");
	for (long i = 0; i < m; i++) {
		const char *v[1] = {payload};
		double enq;
		PGresult *r;

		sleep_ms(t0 + (double)i * gap - mono_ms());
		enq = mono_ms();
		snprintf(payload, sizeof(payload), "%.*s,\"enq_mono_ms\":%.6f}",
		    (int)strlen(PAYLOAD) - 1, PAYLOAD, enq);
		r = PQexecPrepared(conn, stmt, 1, v, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
			die(conn, stmt);
		PQclear(r);
		call[i] = mono_ms() - enq;
	}
	qsort(call, (size_t)m, sizeof(double), cmp_double);
	return call;
}

static void
prepare(PGconn *conn, const char *name, const char *sql)
{
	PGresult *r = PQprepare(conn, name, sql, 1, NULL);

	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		die(conn, name);
	PQclear(r);
}

static int
q4(long m, long gap, const char *latency_file)
{
	PGconn *conn = connect_db();
	double *lat, *call;
	long got = 0;
	char line[256];
	FILE *fp;

	prepare(conn, "enqueue", "SELECT id FROM zixly_enqueue('noop', $1::jsonb)");
	prepare(conn, "insert", "INSERT INTO q4_floor (parameters) VALUES ($1::jsonb)");
	prepare(conn, "roundtrip", "SELECT $1::jsonb IS NOT NULL");
	call = paced_calls(conn, "enqueue", m, gap);
	fprintf(stderr, "INFO zixly Q4: the enqueue call itself (commit included) took p50 %.3f ms,"
	    " p99 %.3f ms\n", percentile(call, m, 50), percentile(call, m, 99));
	free(call);
	/* every job handled and completed */
	for (double start = mono_ms(); ; sleep_ms(20)) {
		if (query_long(conn, "SELECT count(*) FROM zixly.pipeline_jobs WHERE status = 'COMPLETED'") >= m)
			break;
		if (mono_ms() - start > 30e3) {
			fprintf(stderr, "queue_bench: Q4 jobs not completed 30 s after the last enqueue\n");
			PQfinish(conn);
			return 1;
		}
	}
	if ((fp = fopen(latency_file, "r")) == NULL) {
		fprintf(stderr, "queue_bench: %s: %s\n", latency_file, strerror(errno));
		PQfinish(conn);
		return 1;
	}
	if ((lat = calloc((size_t)m + 1, sizeof(double))) == NULL)
		die(NULL, "out of memory");
	while (fgets(line, sizeof(line), fp) != NULL) {
		char id[128];
		double ms;

		if (sscanf(line, "%127s %lf", id, &ms) != 2)
			continue;
		if (got == m + 1)
			break;
		lat[got++] = ms;
	}
	fclose(fp);
	if (got != m) {
		fprintf(stderr, "queue_bench: expected %ld latencies, the worker recorded %ld\n", m, got);
		free(lat);
		PQfinish(conn);
		return 1;
	}
	qsort(lat, (size_t)m, sizeof(double), cmp_double);
	fprintf(stderr, "INFO zixly Q4: %ld jobs, %ld ms apart; min %.3f ms, max %.3f ms\n", m, gap,
	    lat[0], lat[m - 1]);
	printf("RESULT system=zixly bench=Q4 metric=p50_ms value=%.2f\n", percentile(lat, m, 50));
	printf("RESULT system=zixly bench=Q4 metric=p95_ms value=%.2f\n", percentile(lat, m, 95));
	printf("RESULT system=zixly bench=Q4 metric=p99_ms value=%.2f\n", percentile(lat, m, 99));
	free(lat);
	/*
	 * The floor: the same calls as a plain INSERT into a table without indexes but its key.  A
	 * job can start only after its commit is visible, so no queue on this database with
	 * synchronous_commit on starts a job sooner than this call returns.
	 */
	call = paced_calls(conn, "insert", m, gap);
	printf("RESULT system=plain-insert bench=Q4 metric=p50_ms value=%.2f\n", percentile(call, m, 50));
	printf("RESULT system=plain-insert bench=Q4 metric=p95_ms value=%.2f\n", percentile(call, m, 95));
	printf("RESULT system=plain-insert bench=Q4 metric=p99_ms value=%.2f\n", percentile(call, m, 99));
	free(call);
	/*
	 * What an idle host adds: the same payload in a round trip that writes nothing, at this
	 * pace and then back to back.  Each call at the pace wakes the server process from idle,
	 * and each job wakes two more (the worker's waiting session, then the worker).
	 */
	call = paced_calls(conn, "roundtrip", m, gap);
	fprintf(stderr, "INFO Q4: a round trip without a write (SELECT of the payload): p50 %.3f ms,"
	    " p99 %.3f ms at this pace;", percentile(call, m, 50), percentile(call, m, 99));
	free(call);
	call = paced_calls(conn, "roundtrip", m, 0);
	fprintf(stderr, " p50 %.3f ms, p99 %.3f ms back to back\n", percentile(call, m, 50),
	    percentile(call, m, 99));
	free(call);
	PQfinish(conn);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: queue_bench preload N\n"
	    "       queue_bench q3 SYSTEM N PID:PORT...\n"
	    "       queue_bench q4 M GAP_MS LATENCY_FILE\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "preload") == 0)
		return preload(parse_positive(argv[2], "N"));
	if (argc >= 5 && strcmp(argv[1], "q3") == 0)
		return q3(argv[2], parse_positive(argv[3], "N"), argc - 4, argv + 4);
	if (argc == 5 && strcmp(argv[1], "q4") == 0)
		return q4(parse_positive(argv[2], "M"), parse_positive(argv[3], "GAP_MS"), argv[4]);
	usage();
	return 2;
}
