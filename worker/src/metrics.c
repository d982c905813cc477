/*
 * metrics.c — counters, the histogram, their Prometheus text, and the HTTP server.
 *
 * Locking: one mutex guards every value; rendering copies them under it.  The HTTP server runs
 * in libmicrohttpd's own thread and only renders.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "log.h"
#include "metrics.h"
#include "process.h"

static const double buckets[] = {1, 5, 15, 30, 60, 300, 600, 1800};
#define NBUCKETS ZX_ARRAY_LEN(buckets)

static const char *const kind_labels[ZX_KIND_COUNT] = {"noop", "trading-sweep", "unknown"};
static const char *const status_labels[ZX_ST_COUNT] = {
	"completed", "failed", "retried", "released", "lost"
};

struct values {
	double processed[ZX_KIND_COUNT][ZX_ST_COUNT];
	double bucket[ZX_KIND_COUNT][NBUCKETS];	/* not cumulative; summed when rendered */
	double dur_count[ZX_KIND_COUNT];
	double dur_sum[ZX_KIND_COUNT];
	double bar_combinations, engine_seconds;
	long in_flight;
	double claims, claimed_jobs, rescued, reconnects, artifact_failures;
	int db_connected;
	long db_connections[ZX_DB_ROLE_COUNT];
	int accepting;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct values v;
static struct MHD_Daemon *daemon_;
static char *worker_label;

const char *
zx_kind_label(enum zx_job_kind k)
{
	return k < ZX_KIND_COUNT ? kind_labels[k] : "unknown";
}

void
zx_metrics_jobs_done(enum zx_job_kind k, enum zx_job_status st, size_t n, double seconds)
{
	size_t b = 0;

	if (n == 0)
		return;
	while (b < NBUCKETS && seconds > buckets[b])
		b++;
	pthread_mutex_lock(&mu);
	v.processed[k][st] += (double)n;
	if (st == ZX_ST_COMPLETED || st == ZX_ST_FAILED || st == ZX_ST_RETRIED) {
		if (b < NBUCKETS)
			v.bucket[k][b] += (double)n;
		v.dur_count[k] += (double)n;
		v.dur_sum[k] += seconds * (double)n;
	}
	pthread_mutex_unlock(&mu);
}

void
zx_metrics_engine(double bar_combinations, double seconds)
{
	pthread_mutex_lock(&mu);
	v.bar_combinations += bar_combinations;
	v.engine_seconds += seconds;
	pthread_mutex_unlock(&mu);
}

void
zx_metrics_in_flight(long delta)
{
	pthread_mutex_lock(&mu);
	v.in_flight += delta;
	pthread_mutex_unlock(&mu);
}

void
zx_metrics_claim(size_t jobs)
{
	pthread_mutex_lock(&mu);
	v.claims += 1;
	v.claimed_jobs += (double)jobs;
	pthread_mutex_unlock(&mu);
}

void
zx_metrics_rescued(long jobs)
{
	pthread_mutex_lock(&mu);
	v.rescued += (double)jobs;
	pthread_mutex_unlock(&mu);
}

void
zx_metrics_artifact_failure(void)
{
	pthread_mutex_lock(&mu);
	v.artifact_failures += 1;
	pthread_mutex_unlock(&mu);
}

void
zx_metrics_reconnect(void)
{
	pthread_mutex_lock(&mu);
	v.reconnects += 1;
	pthread_mutex_unlock(&mu);
}

void
zx_metrics_db_connected(int up)
{
	pthread_mutex_lock(&mu);
	v.db_connected = up;
	pthread_mutex_unlock(&mu);
}

void
zx_metrics_db_connections(enum zx_db_role role, int delta)
{
	pthread_mutex_lock(&mu);
	v.db_connections[role] += delta;
	pthread_mutex_unlock(&mu);
}

void
zx_metrics_ready(int accepting)
{
	pthread_mutex_lock(&mu);
	v.accepting = accepting;
	pthread_mutex_unlock(&mu);
}

/* The one place metric families are formatted: HELP and TYPE, then the samples. */
static void
family(struct zx_buf *b, const char *name, const char *type, const char *help)
{
	zx_buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A sample line; the value in the fewest of 15 or 17 significant digits that reads back exactly. */
static void
sample(struct zx_buf *b, const char *name, const char *labels, double value)
{
	char num[32];

	snprintf(num, sizeof(num), "%.15g", value);
	if (strtod(num, NULL) != value)
		snprintf(num, sizeof(num), "%.17g", value);
	zx_buf_appendf(b, "%s%s%s%s %s\n", name, labels ? "{" : "", labels ? labels : "",
	    labels ? "}" : "", num);
}

/* The process_* families of Prometheus client libraries; left out if /proc cannot be read. */
static void
process_metrics(struct zx_buf *b)
{
	struct zx_process_stats p;

	if (zx_process_stats(&p) != ZX_OK)
		return;
	family(b, "process_cpu_seconds_total", "counter",
	    "Total user and system CPU time spent in seconds.");
	sample(b, "process_cpu_seconds_total", NULL, p.cpu_seconds);
	family(b, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
	sample(b, "process_resident_memory_bytes", NULL, p.resident_bytes);
	family(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
	sample(b, "process_virtual_memory_bytes", NULL, p.virtual_bytes);
	family(b, "process_start_time_seconds", "gauge",
	    "Start time of the process since unix epoch in seconds.");
	sample(b, "process_start_time_seconds", NULL, p.start_time);
	family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
	sample(b, "process_open_fds", NULL, p.open_fds);
	if (p.max_fds >= 0) {
		family(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
		sample(b, "process_max_fds", NULL, p.max_fds);
	}
}

char *
zx_metrics_render(void)
{
	struct values s;
	struct zx_buf b;
	char lab[160];

	pthread_mutex_lock(&mu);
	s = v;
	pthread_mutex_unlock(&mu);
	zx_buf_init(&b, 0);

	family(&b, "pipeline_jobs_processed_total", "counter",
	    "Jobs this worker finished, by job type and outcome.");
	for (int k = 0; k < ZX_KIND_COUNT; k++)
		for (int st = 0; st < ZX_ST_COUNT; st++) {
			snprintf(lab, sizeof(lab), "job_type=\"%s\",status=\"%s\"", kind_labels[k],
			    status_labels[st]);
			sample(&b, "pipeline_jobs_processed_total", lab, s.processed[k][st]);
		}

	family(&b, "pipeline_job_duration_seconds", "histogram",
	    "Time from a job's start on this worker to its completion or failure.");
	for (int k = 0; k < ZX_KIND_COUNT; k++) {
		double cum = 0;

		for (size_t i = 0; i < NBUCKETS; i++) {
			cum += s.bucket[k][i];
			snprintf(lab, sizeof(lab), "job_type=\"%s\",le=\"%g\"", kind_labels[k], buckets[i]);
			sample(&b, "pipeline_job_duration_seconds_bucket", lab, cum);
		}
		snprintf(lab, sizeof(lab), "job_type=\"%s\",le=\"+Inf\"", kind_labels[k]);
		sample(&b, "pipeline_job_duration_seconds_bucket", lab, s.dur_count[k]);
		snprintf(lab, sizeof(lab), "job_type=\"%s\"", kind_labels[k]);
		sample(&b, "pipeline_job_duration_seconds_sum", lab, s.dur_sum[k]);
		sample(&b, "pipeline_job_duration_seconds_count", lab, s.dur_count[k]);
	}

	family(&b, "zixly_engine_bar_combinations_total", "counter",
	    "Bars times parameter combinations backtested by the sweep engine.");
	sample(&b, "zixly_engine_bar_combinations_total", NULL, s.bar_combinations);
	family(&b, "zixly_engine_seconds_total", "counter",
	    "Wall-clock seconds spent in the sweep engine.");
	sample(&b, "zixly_engine_seconds_total", NULL, s.engine_seconds);
	family(&b, "zixly_worker_jobs_in_flight", "gauge",
	    "Jobs claimed by this worker and not yet finished.");
	sample(&b, "zixly_worker_jobs_in_flight", NULL, (double)s.in_flight);
	family(&b, "zixly_worker_claims_total", "counter", "zixly_claim calls made.");
	sample(&b, "zixly_worker_claims_total", NULL, s.claims);
	family(&b, "zixly_worker_claimed_jobs_total", "counter", "Jobs returned by zixly_claim.");
	sample(&b, "zixly_worker_claimed_jobs_total", NULL, s.claimed_jobs);
	family(&b, "zixly_worker_rescued_jobs_total", "counter",
	    "Jobs of lost workers put back by this worker's zixly_rescue calls.");
	sample(&b, "zixly_worker_rescued_jobs_total", NULL, s.rescued);
	family(&b, "zixly_worker_artifact_failures_total", "counter",
	    "Grids this worker could not store (each pauses its claims: ZIXLY_ARTIFACT_FAILURE_PAUSE).");
	sample(&b, "zixly_worker_artifact_failures_total", NULL, s.artifact_failures);
	family(&b, "zixly_worker_db_reconnects_total", "counter",
	    "Times the control connection was re-established.");
	sample(&b, "zixly_worker_db_reconnects_total", NULL, s.reconnects);
	family(&b, "zixly_worker_db_connected", "gauge",
	    "1 when the control connection to the database is up.");
	sample(&b, "zixly_worker_db_connected", NULL, s.db_connected);
	family(&b, "zixly_worker_db_connections", "gauge",
	    "Open database connections of this worker, by role.");
	for (int r = 0; r < ZX_DB_ROLE_COUNT; r++) {
		snprintf(lab, sizeof(lab), "role=\"%s\"", zx_db_role_name((enum zx_db_role)r));
		sample(&b, "zixly_worker_db_connections", lab, (double)s.db_connections[r]);
	}
	family(&b, "zixly_worker_ready", "gauge",
	    "1 while this worker claims jobs: started, not paused, not shutting down, database up,"
	    " store not failing.");
	sample(&b, "zixly_worker_ready", NULL, s.accepting && s.db_connected);
	family(&b, "zixly_worker_info", "gauge", "Constant 1, labelled with the worker id and version.");
	zx_buf_puts(&b, "zixly_worker_info{worker_id=\"");
	for (const char *c = worker_label ? worker_label : ""; *c; c++) {
		if (*c == '"' || *c == '\\')
			zx_buf_append(&b, "\\", 1);
		if (*c == '\n')
			zx_buf_puts(&b, "\\n");
		else
			zx_buf_append(&b, c, 1);
	}
	zx_buf_puts(&b, "\",version=\"" ZX_VERSION "\"} 1\n");
	process_metrics(&b);
	return b.data;
}

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned status, const char *type, char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body,
	    MHD_RESPMEM_MUST_FREE);
	enum MHD_Result rc;

	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **state)
{
	(void)cls;
	(void)version;
	(void)upload;
	(void)upload_size;
	(void)state;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
		    zx_xstrdup("method not allowed\n"));
	if (strcmp(url, "/metrics") == 0)
		return reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
		    zx_metrics_render());
	if (strcmp(url, "/health") == 0) {
		int up;

		pthread_mutex_lock(&mu);
		up = v.db_connected;
		pthread_mutex_unlock(&mu);
		return reply(conn, up ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "application/json",
		    zx_xasprintf("{\"status\":\"%s\",\"database_connected\":%s}\n",
		    up ? "healthy" : "unhealthy", up ? "true" : "false"));
	}
	return reply(conn, MHD_HTTP_NOT_FOUND, "text/plain", zx_xstrdup("not found\n"));
}

/*
 * libmicrohttpd's errors (refused connections, timeouts) as log lines, at most one a second
 * with a count of those left out: a client holding every connection must not flood the log.
 * Called on the daemon's one polling thread only.
 */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	static double last;
	static unsigned long skipped;
	char msg[512];
	size_t n;
	double now = zx_mono_s();

	(void)cls;
	if (last > 0 && now - last < 1.0) {
		skipped++;
		return;
	}
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	zlog(ZX_WARN, "metrics_http", "error=%s skipped_before=%lu", zx_q(msg), skipped);
	last = now;
	skipped = 0;
}

int
zx_metrics_address(const char *address, struct sockaddr_storage *ss)
{
	struct sockaddr_storage tmp;
	struct sockaddr_in *v4;
	struct sockaddr_in6 *v6;

	if (ss == NULL)
		ss = &tmp;
	memset(ss, 0, sizeof(*ss));
	v4 = (struct sockaddr_in *)ss;
	v6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		return AF_INET;
	}
	if (inet_pton(AF_INET6, address, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		return AF_INET6;
	}
	return -1;
}

int
zx_metrics_start(int port, const char *address, const char *worker_id)
{
	struct sockaddr_storage ss;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	int family = address[0] != '\0' ? zx_metrics_address(address, &ss) : 0;

	free(worker_label);
	worker_label = zx_xstrdup(worker_id);
	if (port == 0)
		return ZX_OK;
	if (family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
	else if (family == AF_INET6) {
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		flags |= MHD_USE_IPv6;
	}
	daemon_ = MHD_start_daemon(flags,
	    (uint16_t)port, NULL, NULL, handle, NULL,
	    /* an address given: only there (MHD_OPTION_SOCK_ADDR with NULL is ignored) */
	    MHD_OPTION_SOCK_ADDR, family > 0 ? (struct sockaddr *)&ss : NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
	    /* one client (a stuck scraper, a port scan) cannot take every connection */
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)16,
	    MHD_OPTION_END);
	if (daemon_ == NULL) {
		zlog(ZX_ERROR, "metrics_start_failed", "port=%d address=%s error=%s", port,
		    zx_q(address[0] ? address : "*"), zx_q("cannot listen (port in use?)"));
		return ZX_ERR;
	}
	zlog(ZX_INFO, "metrics_listening", "port=%d address=%s paths=/metrics,/health", port,
	    zx_q(address[0] ? address : "*"));
	return ZX_OK;
}

void
zx_metrics_stop(void)
{
	if (daemon_ != NULL)
		MHD_stop_daemon(daemon_);
	daemon_ = NULL;
	free(worker_label);
	worker_label = NULL;
}
