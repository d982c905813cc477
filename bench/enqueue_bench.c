/*
 * enqueue_bench.c — workloads Q1 (enqueue-single) and Q2 (enqueue-batch) of
 * bench/peers/WORKLOAD.md for zixly, over one libpq connection.
 *
 *   enqueue_bench q1 N            N calls of SELECT zixly_enqueue(...), autocommit
 *   enqueue_bench q2 N BATCH      N/BATCH calls of zixly_enqueue_batch with BATCH jobs
 *
 * The connection comes from DATABASE_URL (libpq conninfo). One untimed warm-up
 * call of the same kind comes first; its job stays in the store. Prints
 *   RESULT system=zixly bench=Q1|Q2 metric=jobs_per_s value=<n>
 * after checking that the store holds exactly N+1 jobs, else exits non-zero.
 * (Q2's warm-up, like the peers', is a batch of one job.)
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#define PAYLOAD "{\"ticker\":\"BTC-USD\",\"fast_range\":[10,20],\"slow_range\":[20,30],\"step\":5,\"strategy_type\":\"SMA\"}"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(PGconn *conn, const char *what, PGresult *res)
{
	fprintf(stderr, "enqueue_bench: %s: %s", what, conn ? PQerrorMessage(conn) : "");
	if (res)
		PQclear(res);
	if (conn)
		PQfinish(conn);
	exit(1);
}

/* Runs the prepared statement with one text parameter; the call must return a row. */
static void
call(PGconn *conn, const char *stmt, const char *param)
{
	PGresult   *res = PQexecPrepared(conn, stmt, 1, &param, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		die(conn, stmt, res);
	PQclear(res);
}

static long
parse_positive(const char *s, const char *what)
{
	char	   *end;
	long		v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v <= 0 || v > 100000000)
	{
		fprintf(stderr, "enqueue_bench: %s must be a positive integer, got '%s'\n", what, s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	const char *url = getenv("DATABASE_URL");
	PGconn	   *conn;
	PGresult   *res;
	long		n,
				batch = 1,
				expected;
	char	   *batch_json = NULL;
	const char *bench;
	double		t0,
				t1;

	if (argc < 3 || (strcmp(argv[1], "q1") != 0 && strcmp(argv[1], "q2") != 0) ||
		(strcmp(argv[1], "q2") == 0 && argc != 4))
	{
		fprintf(stderr, "usage: enqueue_bench q1 N | enqueue_bench q2 N BATCH\n");
		return 2;
	}
	n = parse_positive(argv[2], "N");
	if (strcmp(argv[1], "q2") == 0)
	{
		batch = parse_positive(argv[3], "BATCH");
		if (n % batch != 0)
		{
			fprintf(stderr, "enqueue_bench: N must be a multiple of BATCH\n");
			return 2;
		}
	}
	conn = PQconnectdb(url ? url : "");
	if (PQstatus(conn) != CONNECTION_OK)
		die(conn, "connect", NULL);

	if (batch == 1)
	{
		bench = "Q1";
		res = PQprepare(conn, "enqueue",
						"SELECT id FROM zixly_enqueue('trading-sweep', $1::jsonb)", 1, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			die(conn, "prepare", res);
		PQclear(res);
		call(conn, "enqueue", PAYLOAD);			/* warm-up */
		t0 = now_s();
		for (long i = 0; i < n; i++)
			call(conn, "enqueue", PAYLOAD);
		t1 = now_s();
		expected = n + 1;
	}
	else
	{
		size_t		plen = strlen(PAYLOAD);
		char	   *p;

		bench = "Q2";
		batch_json = malloc(batch * (plen + 1) + 2);
		if (batch_json == NULL)
			die(conn, "out of memory", NULL);
		p = batch_json;
		*p++ = '[';
		for (long i = 0; i < batch; i++)
		{
			if (i > 0)
				*p++ = ',';
			memcpy(p, PAYLOAD, plen);
			p += plen;
		}
		*p++ = ']';
		*p = '\0';
		res = PQprepare(conn, "enqueue_batch",
						"SELECT count(*) FROM zixly_enqueue_batch('trading-sweep', $1::jsonb)", 1, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			die(conn, "prepare", res);
		PQclear(res);
		call(conn, "enqueue_batch", "[" PAYLOAD "]");	/* warm-up */
		t0 = now_s();
		for (long i = 0; i < n / batch; i++)
			call(conn, "enqueue_batch", batch_json);
		t1 = now_s();
		expected = n + 1;
	}

	res = PQexec(conn, "SELECT count(*) FROM zixly.pipeline_jobs");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		die(conn, "count", res);
	if (atol(PQgetvalue(res, 0, 0)) != expected)
	{
		fprintf(stderr, "enqueue_bench: store holds %s jobs, expected %ld\n", PQgetvalue(res, 0, 0), expected);
		PQclear(res);
		PQfinish(conn);
		return 1;
	}
	PQclear(res);
	fprintf(stderr, "INFO bench=%s jobs=%ld seconds=%.3f\n", bench, n, t1 - t0);
	printf("RESULT system=zixly bench=%s metric=jobs_per_s value=%.2f\n", bench, n / (t1 - t0));
	free(batch_json);
	PQfinish(conn);
	return 0;
}
