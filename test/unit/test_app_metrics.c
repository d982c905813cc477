/*
 * test_app_metrics.c — counting and the Prometheus text the app serves on /metrics
 * (kore-app/src/metrics_text.c): the exposition's shape (HELP and TYPE once per family, before
 * its samples; every sample line "name{labels} value"), cumulative histogram buckets that agree
 * with _count and the request counter, codes and routes outside the tables, and the queue depth
 * gauge left out when the database could not be asked; the process_* families and database
 * connections, and /proc/<pid>/stat read for them (kore-app/src/procstat.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "metrics.h"
#include "procstat.h"

static struct zx_metrics *
fresh(void)
{
	return (calloc(1, sizeof(struct zx_metrics)));
}

static char *
render(const struct zx_metrics *m, const int64_t *depth)
{
	struct zx_buf	b;

	zx_buf_init(&b, 4096);
	zx_metrics_render(m, depth, &b);
	return (b.data);
}

/* The value of the sample line that starts with `series` + ' ', or -1. */
static double
sample(const char *text, const char *series)
{
	const char	*p = text;
	size_t		 n = strlen(series);

	while ((p = strstr(p, series)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return (strtod(p + n + 1, NULL));
		p += n;
	}
	return (-1);
}

static int
count_lines_with(const char *text, const char *prefix)
{
	const char	*p = text;
	int		 n = 0;

	while (*p != '\0') {
		if (strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
		if ((p = strchr(p, '\n')) == NULL)
			break;
		p++;
	}
	return (n);
}

/*
 * Checks the exposition format: lines end in '\n'; comments are HELP or TYPE; a family's
 * TYPE comes once and before its samples; samples are name{labels} number.
 */
static void
assert_exposition(const char *text)
{
	char		 line[512], name[128], family[128] = "", *sp, *end;
	char		 seen[64][128];
	const char	*p = text, *nl;
	int		 nseen = 0, i;
	size_t		 len;

	assert_true(strlen(text) > 0);
	assert_int_equal(text[strlen(text) - 1], '\n');
	for (; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		len = (size_t)(nl - p);
		assert_true(len > 0 && len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		if (strncmp(line, "# HELP ", 7) == 0)
			continue;
		if (strncmp(line, "# TYPE ", 7) == 0) {
			assert_int_equal(sscanf(line + 7, "%127s", family), 1);
			for (i = 0; i < nseen; i++)
				assert_string_not_equal(seen[i], family);
			assert_true(nseen < 64);
			strcpy(seen[nseen++], family);
			assert_true(strstr(line, " counter") || strstr(line, " gauge") ||
			    strstr(line, " histogram"));
			continue;
		}
		assert_int_not_equal(line[0], '#');
		/* name, optional {labels}, one space, a number and nothing else */
		len = strcspn(line, "{ ");
		memcpy(name, line, len);
		name[len] = '\0';
		if (strncmp(name, family, strlen(family)) != 0)
			fail_msg("sample %s outside its family %s", line, family);
		if ((sp = strrchr(line, ' ')) == NULL)
			fail_msg("no value: %s", line);
		(void)strtod(sp + 1, &end);
		if (*end != '\0' || end == sp + 1)
			fail_msg("bad value: %s", line);
		if (line[len] == '{' && sp[-1] != '}')
			fail_msg("bad labels: %s", line);
	}
}

static void
test_empty(void **state)
{
	struct zx_metrics	*m = fresh();
	char			*t;

	(void)state;
	t = render(m, NULL);
	assert_exposition(t);
	assert_true(sample(t, "pipeline_jobs_queued_total{job_type=\"trading-sweep\"}") == 0);
	/* Families are declared, but no request series exist yet. */
	assert_non_null(strstr(t, "# TYPE http_requests_total counter\n"));
	assert_non_null(strstr(t, "# TYPE http_request_duration_seconds histogram\n"));
	assert_int_equal(count_lines_with(t, "http_requests_total{"), 0);
	/* The database was not asked: no queue depth at all (not zeros). */
	assert_null(strstr(t, "pipeline_queue_depth"));
	free(t);
	free(m);
}

static void
test_depth(void **state)
{
	struct zx_metrics	*m = fresh();
	const int64_t		 depth[ZX_QUEUE_STATUSES] = { 5, 2, 1000000 };
	char			*t;

	(void)state;
	t = render(m, depth);
	assert_exposition(t);
	assert_non_null(strstr(t, "# TYPE pipeline_queue_depth gauge\n"));
	assert_true(sample(t, "pipeline_queue_depth{status=\"QUEUED\"}") == 5);
	assert_true(sample(t, "pipeline_queue_depth{status=\"RUNNING\"}") == 2);
	assert_true(sample(t, "pipeline_queue_depth{status=\"FAILED\"}") == 1000000);
	/* Finished jobs are no queue (and would cost a scan at a million jobs). */
	assert_int_equal(count_lines_with(t, "pipeline_queue_depth{"), 3);
	free(t);
	free(m);
}

static void
test_histogram(void **state)
{
	struct zx_metrics	*m = fresh();
	static const char	*const le[] = { "0.0005", "0.001", "0.0025", "0.005",
	    "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10",
	    "+Inf" };
	/* bucket le=0.0005 1, le=0.005 +1 (3 ms), le=0.005 +1 (5 ms exactly), +Inf +1 */
	static const double	 want[] = { 1, 1, 1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4 };
	char			*t, series[200];
	double			 v, prev = 0;
	size_t			 i;

	(void)state;
	zx_metrics_observe(m, ZX_ROUTE_WEBHOOK, 202, 300);
	zx_metrics_observe(m, ZX_ROUTE_WEBHOOK, 202, 3000);
	zx_metrics_observe(m, ZX_ROUTE_WEBHOOK, 202, 5000);
	zx_metrics_observe(m, ZX_ROUTE_WEBHOOK, 202, 20000000);
	zx_metrics_observe(m, ZX_ROUTE_WEBHOOK, 400, 100);
	t = render(m, NULL);
	assert_exposition(t);
	for (i = 0; i < sizeof(le) / sizeof(le[0]); i++) {
		(void)snprintf(series, sizeof(series), "http_request_duration_seconds_bucket"
		    "{route=\"/webhook/trading-sweep\",code=\"202\",le=\"%s\"}", le[i]);
		v = sample(t, series);
		if (v != want[i])
			fail_msg("%s = %g, want %g", series, v, want[i]);
		assert_true(v >= prev);		/* cumulative */
		prev = v;
	}
	assert_true(sample(t, "http_request_duration_seconds_count{route="
	    "\"/webhook/trading-sweep\",code=\"202\"}") == 4);
	assert_true(sample(t, "http_request_duration_seconds_sum{route="
	    "\"/webhook/trading-sweep\",code=\"202\"}") == 20.0083);
	assert_true(sample(t, "http_requests_total{route=\"/webhook/trading-sweep\","
	    "code=\"202\"}") == 4);
	assert_true(sample(t, "http_requests_total{route=\"/webhook/trading-sweep\","
	    "code=\"400\"}") == 1);
	/* Only the combinations seen get series. */
	assert_int_equal(count_lines_with(t, "http_requests_total{"), 2);
	assert_int_equal(count_lines_with(t, "http_request_duration_seconds_bucket{"),
	    2 * 15);
	free(t);
	free(m);
}

static void
test_out_of_table(void **state)
{
	struct zx_metrics	*m = fresh();
	char			*t;

	(void)state;
	zx_metrics_observe(m, ZX_ROUTE_RESULTS, 418, 10);	/* not in the code table */
	zx_metrics_observe(m, ZX_ROUTE_COUNT + 3, 200, 10);	/* no such route */
	zx_metrics_observe(m, -1, 404, 10);
	zx_metrics_observe(NULL, ZX_ROUTE_HEALTH, 200, 10);	/* no shared memory: no-op */
	zx_metrics_job_queued(m);
	zx_metrics_job_queued(m);
	zx_metrics_job_queued(NULL);
	t = render(m, NULL);
	assert_exposition(t);
	assert_true(sample(t, "http_requests_total{route=\"/api/pipelines/{id}/results\","
	    "code=\"500\"}") == 1);
	assert_true(sample(t, "http_requests_total{route=\"other\",code=\"200\"}") == 1);
	assert_true(sample(t, "http_requests_total{route=\"other\",code=\"404\"}") == 1);
	assert_int_equal(count_lines_with(t, "http_requests_total{"), 3);
	assert_true(sample(t, "pipeline_jobs_queued_total{job_type=\"trading-sweep\"}") == 2);
	assert_string_equal(zx_route_name(ZX_ROUTE_HEALTH), "/health");
	assert_string_equal(zx_route_name(99), "other");
	free(t);
	free(m);
}

static void
test_processes(void **state)
{
	struct zx_proc_sample	p[2];
	struct zx_buf		b;

	(void)state;
	memset(p, 0, sizeof(p));
	strcpy(p[0].name, "main");
	p[0].st.cpu_seconds = 1.234;
	p[0].st.rss_bytes = 23456789;
	p[0].st.start_time = 1700000000.5;
	p[0].st.open_fds = 11;
	strcpy(p[1].name, "worker1");
	p[1].st.cpu_seconds = 0;
	p[1].st.rss_bytes = 4096;
	p[1].st.start_time = 1700000001;
	p[1].st.open_fds = -1;		/* not readable: left out */
	zx_buf_init(&b, 1024);
	zx_metrics_render_processes(p, 2, 3, 13, &b);
	assert_exposition(b.data);
	assert_true(sample(b.data, "process_cpu_seconds_total{process=\"main\"}") == 1.23);
	assert_true(sample(b.data, "process_cpu_seconds_total{process=\"worker1\"}") == 0);
	assert_true(sample(b.data, "process_resident_memory_bytes{process=\"main\"}") ==
	    23456789);
	assert_true(sample(b.data, "process_start_time_seconds{process=\"main\"}") ==
	    1700000000.5);
	assert_true(sample(b.data, "process_open_fds{process=\"main\"}") == 11);
	assert_int_equal(count_lines_with(b.data, "process_open_fds{"), 1);
	assert_int_equal(count_lines_with(b.data, "process_resident_memory_bytes{"), 2);
	assert_true(sample(b.data, "zixly_app_db_connections{state=\"active\"}") == 3);
	assert_true(sample(b.data, "zixly_app_db_connections{state=\"idle\"}") == 13);
	assert_non_null(strstr(b.data, "# TYPE process_cpu_seconds_total counter\n"));
	/* No processes readable: the families stay declared, without samples. */
	zx_buf_reset(&b);
	zx_metrics_render_processes(p, 0, 0, 0, &b);
	assert_exposition(b.data);
	assert_int_equal(count_lines_with(b.data, "process_"), 0);
	zx_buf_free(&b);
}

static void
test_procstat_parse(void **state)
{
	static const struct zx_procstat_base base = { 100, 4096, 1700000000 };
	struct zx_procstat	st;

	(void)state;
	/* A command name with spaces and parentheses; negative priority and nice. */
	assert_int_equal(zx_procstat_parse("4242 (kore (wrk) 1) S 4200 4242 4200 0 -1 "
	    "4194560 1234 0 0 0 250 150 0 0 -20 -5 1 0 12345 23456789 5000 "
	    "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n",
	    &base, &st), 0);
	assert_true(st.cpu_seconds == 4.0);		/* (250 + 150) / 100 */
	assert_true(st.start_time == 1700000123.45);	/* btime + 12345 / 100 */
	assert_int_equal(st.rss_bytes, 5000 * 4096);
	assert_int_equal(st.vsize_bytes, 23456789);
	assert_int_equal(zx_procstat_parse("4242 (kore) S 1 2 3", &base, &st), -1);
	assert_int_equal(zx_procstat_parse("4242 kore S 1 2 3", &base, &st), -1);
	assert_int_equal(zx_procstat_parse("", &base, &st), -1);

	assert_int_equal(zx_procstat_btime("cpu  1 2 3\nintr 5 6\nbtime 1699999999\n"
	    "processes 4\n"), 1699999999);
	assert_int_equal(zx_procstat_btime("btime 42"), 42);
	assert_int_equal(zx_procstat_btime("cpu 1\nxbtime 5\n"), -1);
	assert_int_equal(zx_procstat_btime("btime x\n"), -1);
}

static void
test_procstat_self(void **state)
{
	struct zx_procstat_base	base;
	struct zx_procstat	st;
	int			fd, n = 0;

	(void)state;
	assert_int_equal(zx_procstat_init(&base), 0);
	assert_int_equal(zx_procstat_read(getpid(), &base, &st), 0);
	assert_true(st.rss_bytes > 1024 * 1024);
	assert_true(st.cpu_seconds >= 0);
	assert_true(st.start_time > (double)base.boot_time &&
	    st.start_time <= (double)time(NULL) + 1);
	/* The descriptors open here, counted another way. */
	for (fd = 0; fd < 4096; fd++) {
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	}
	assert_int_equal(st.open_fds, n);
	/* A process that does not exist. */
	assert_int_equal(zx_procstat_read(0x7ffffff0, &base, &st), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_out_of_table),
		cmocka_unit_test(test_processes),
		cmocka_unit_test(test_procstat_parse),
		cmocka_unit_test(test_procstat_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
