/*
 * metrics_text.c
 *	Counting and the Prometheus text exposition format (version 0.0.4).
 *
 * The one place metrics are formatted. Histograms store per-bucket
 * counts; rendering accumulates them, and derives _count and the request
 * counter from the same numbers, so the three always agree even while
 * other processes keep counting.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "metrics.h"

struct zx_metrics *zx_metrics;

const char *const zx_queue_statuses[ZX_QUEUE_STATUSES] = {
	"QUEUED", "RUNNING", "FAILED"
};

static const char *const routes[ZX_ROUTE_COUNT] = {
	"/webhook/trading-sweep",
	"/health",
	"/metrics",
	"/api/login",
	"/api/pipelines",
	"/api/pipelines/{id}",
	"/api/pipelines/{id}/results",
	"/api/pipelines/{id}/cancel",
	"/api/pipelines/{id}/retry",
	"/api/strategies/top",
	"/api/tickers",
	"/api/live",
	"pages",
	"other",
};

/* Status codes the app can answer with; anything else counts as 500. */
static const int codes[ZX_CODE_COUNT] = {
	101, 200, 201, 202, 204, 304, 400, 401, 403, 404, 405,
	408, 409, 411, 413, 415, 422, 429, 500, 501, 503, 504
};

/* Upper bounds in microseconds and as printed. */
static const uint64_t bucket_us[ZX_BUCKET_COUNT] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	500000, 1000000, 2500000, 5000000, 10000000
};
static const char *const bucket_le[ZX_BUCKET_COUNT] = {
	"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
	"0.25", "0.5", "1", "2.5", "5", "10"
};

const char *
zx_route_name(int r)
{
	if (r < 0 || r >= ZX_ROUTE_COUNT)
		r = ZX_ROUTE_OTHER;
	return (routes[r]);
}

static int
code_index(int code)
{
	int	i;

	for (i = 0; i < ZX_CODE_COUNT; i++) {
		if (codes[i] == code)
			return (i);
	}
	return (code_index(500));
}

void
zx_metrics_observe(struct zx_metrics *m, int route, int code, uint64_t usec)
{
	int	c, b;

	if (m == NULL)
		return;
	if (route < 0 || route >= ZX_ROUTE_COUNT)
		route = ZX_ROUTE_OTHER;
	c = code_index(code);
	for (b = 0; b < ZX_BUCKET_COUNT && usec > bucket_us[b]; b++)
		;
	__atomic_fetch_add(&m->hist[route][c][b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&m->sum_us[route][c], usec, __ATOMIC_RELAXED);
}

void
zx_metrics_job_queued(struct zx_metrics *m)
{
	if (m != NULL)
		__atomic_fetch_add(&m->jobs_queued, 1, __ATOMIC_RELAXED);
}

static uint64_t
load(const uint64_t *p)
{
	return (__atomic_load_n(p, __ATOMIC_RELAXED));
}

void
zx_metrics_render(const struct zx_metrics *m, const int64_t *depth,
    struct zx_buf *out)
{
	struct zx_metrics	*snap;
	uint64_t		 total, sum;
	int			 r, c, b, i;

	/* One snapshot, so the counter, buckets and _count agree. */
	snap = zx_xmalloc(sizeof(*snap));
	for (r = 0; r < ZX_ROUTE_COUNT; r++) {
		for (c = 0; c < ZX_CODE_COUNT; c++) {
			for (b = 0; b <= ZX_BUCKET_COUNT; b++)
				snap->hist[r][c][b] = load(&m->hist[r][c][b]);
			snap->sum_us[r][c] = load(&m->sum_us[r][c]);
		}
	}

	zx_buf_puts(out,
	    "# HELP pipeline_jobs_queued_total Jobs queued through this app.\n"
	    "# TYPE pipeline_jobs_queued_total counter\n");
	zx_buf_appendf(out,
	    "pipeline_jobs_queued_total{job_type=\"trading-sweep\"} %llu\n",
	    (unsigned long long)load(&m->jobs_queued));

	if (depth != NULL) {
		zx_buf_puts(out,
		    "# HELP pipeline_queue_depth Jobs waiting, running and failed "
		    "for good, in the database.\n"
		    "# TYPE pipeline_queue_depth gauge\n");
		for (i = 0; i < ZX_QUEUE_STATUSES; i++) {
			zx_buf_appendf(out,
			    "pipeline_queue_depth{status=\"%s\"} %lld\n",
			    zx_queue_statuses[i], (long long)depth[i]);
		}
	}

	zx_buf_puts(out,
	    "# HELP http_requests_total HTTP requests answered, by route and "
	    "status code.\n"
	    "# TYPE http_requests_total counter\n");
	for (r = 0; r < ZX_ROUTE_COUNT; r++) {
		for (c = 0; c < ZX_CODE_COUNT; c++) {
			for (total = 0, b = 0; b <= ZX_BUCKET_COUNT; b++)
				total += snap->hist[r][c][b];
			if (total == 0)
				continue;
			zx_buf_appendf(out, "http_requests_total{route=\"%s\","
			    "code=\"%d\"} %llu\n", routes[r], codes[c],
			    (unsigned long long)total);
		}
	}

	zx_buf_puts(out,
	    "# HELP http_request_duration_seconds Time from a request's "
	    "first handling to its answer.\n"
	    "# TYPE http_request_duration_seconds histogram\n");
	for (r = 0; r < ZX_ROUTE_COUNT; r++) {
		for (c = 0; c < ZX_CODE_COUNT; c++) {
			for (total = 0, b = 0; b <= ZX_BUCKET_COUNT; b++)
				total += snap->hist[r][c][b];
			if (total == 0)
				continue;
			sum = snap->sum_us[r][c];
			for (total = 0, b = 0; b < ZX_BUCKET_COUNT; b++) {
				total += snap->hist[r][c][b];
				zx_buf_appendf(out,
				    "http_request_duration_seconds_bucket{route="
				    "\"%s\",code=\"%d\",le=\"%s\"} %llu\n",
				    routes[r], codes[c], bucket_le[b],
				    (unsigned long long)total);
			}
			total += snap->hist[r][c][ZX_BUCKET_COUNT];
			zx_buf_appendf(out,
			    "http_request_duration_seconds_bucket{route=\"%s\","
			    "code=\"%d\",le=\"+Inf\"} %llu\n", routes[r],
			    codes[c], (unsigned long long)total);
			zx_buf_appendf(out,
			    "http_request_duration_seconds_sum{route=\"%s\","
			    "code=\"%d\"} %llu.%06llu\n", routes[r], codes[c],
			    (unsigned long long)(sum / 1000000),
			    (unsigned long long)(sum % 1000000));
			zx_buf_appendf(out,
			    "http_request_duration_seconds_count{route=\"%s\","
			    "code=\"%d\"} %llu\n", routes[r], codes[c],
			    (unsigned long long)total);
		}
	}
	free(snap);
}

static void
family(struct zx_buf *out, const char *name, const char *type,
    const char *help)
{
	zx_buf_appendf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

void
zx_metrics_render_processes(const struct zx_proc_sample *p, int n,
    int64_t db_busy, int64_t db_idle, struct zx_buf *out)
{
	int	i;

	family(out, "process_cpu_seconds_total", "counter",
	    "User and system CPU time spent, by process.");
	for (i = 0; i < n; i++) {
		zx_buf_appendf(out, "process_cpu_seconds_total{process=\"%s\"} "
		    "%.2f\n", p[i].name, p[i].st.cpu_seconds);
	}
	family(out, "process_resident_memory_bytes", "gauge",
	    "Resident memory size in bytes, by process.");
	for (i = 0; i < n; i++) {
		zx_buf_appendf(out, "process_resident_memory_bytes{process="
		    "\"%s\"} %lld\n", p[i].name, (long long)p[i].st.rss_bytes);
	}
	family(out, "process_start_time_seconds", "gauge",
	    "Start time of the process since the Unix epoch in seconds.");
	for (i = 0; i < n; i++) {
		zx_buf_appendf(out, "process_start_time_seconds{process=\"%s\"} "
		    "%.2f\n", p[i].name, p[i].st.start_time);
	}
	family(out, "process_open_fds", "gauge",
	    "Number of open file descriptors, by process.");
	for (i = 0; i < n; i++) {
		if (p[i].st.open_fds < 0)
			continue;
		zx_buf_appendf(out, "process_open_fds{process=\"%s\"} %lld\n",
		    p[i].name, (long long)p[i].st.open_fds);
	}
	family(out, "zixly_app_db_connections", "gauge",
	    "Pooled database connections of all app workers, by state.");
	zx_buf_appendf(out, "zixly_app_db_connections{state=\"active\"} %lld\n"
	    "zixly_app_db_connections{state=\"idle\"} %lld\n",
	    (long long)db_busy, (long long)db_idle);
}
