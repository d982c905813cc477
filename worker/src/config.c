/*
 * config.c — the settings table and everything derived from it: defaults, environment, flags,
 * bounds checks, --help.  Add a setting by adding a field to struct zx_config and a row below.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "metrics.h"

#define PROG "zixly-worker"

/* OPT_SECRET: a string that must not be empty when given, and is never logged */
enum opt_type { OPT_STRING, OPT_SECRET, OPT_INT, OPT_DOUBLE, OPT_BOOL, OPT_LOGLEVEL };

struct opt {
	const char *flag;	/* --flag (the long name), also the name in logs */
	const char *env;	/* environment variable, or NULL for flag only */
	enum opt_type type;
	double min, max;	/* bounds for numbers */
	const char *def;	/* default as text; NULL = computed (see apply_computed_defaults) */
	size_t offset;		/* field in struct zx_config */
	const char *help;
};

#define F(field) offsetof(struct zx_config, field)

static const struct opt opts[] = {
	{"database-url", "DATABASE_URL", OPT_STRING, 0, 0, "", F(database_url),
	    "libpq connection string or URI (empty: libpq's PGHOST, PGDATABASE, ... defaults)"},
	{"worker-id", "ZIXLY_WORKER_ID", OPT_STRING, 0, 0, NULL, F(worker_id),
	    "name recorded on claimed jobs (default <hostname>-<pid>)"},
	{"concurrency", "ZIXLY_CONCURRENCY", OPT_INT, 1, 256, "4", F(concurrency),
	    "jobs run at once (trading-sweep jobs; noop jobs complete in batches)"},
	{"threads", "ZIXLY_THREADS", OPT_INT, 0, 256, "0", F(threads),
	    "engine threads per trading-sweep job, 0 = one per CPU"},
	{"metrics-port", "ZIXLY_METRICS_PORT", OPT_INT, 0, 65535, "3001", F(metrics_port),
	    "port of GET /metrics (Prometheus text) and GET /health; 0 disables"},
	{"metrics-address", "ZIXLY_METRICS_ADDRESS", OPT_STRING, 0, 0, "", F(metrics_address),
	    "the address /metrics and /health listen on, an IPv4 or IPv6 literal (127.0.0.1,\n"
	    "::1); empty: every interface (for a scraper on another host)"},
	{"artifact-dir", "ZIXLY_ARTIFACT_DIR", OPT_STRING, 0, 0, NULL, F(artifact_dir),
	    "directory for each job's full grid CSV (default <project>/data/artifacts, where\n"
	    "<project> is the directory holding the bin/ (or bin/asan/) of this binary;\n"
	    "a binary outside a bin/ directory uses ./data/artifacts)"},
	{"queues", "ZIXLY_QUEUES", OPT_STRING, 0, 0, "", F(queues),
	    "comma-separated queues to claim from (spaces around names are ignored; empty: every queue)"},
	{"log-level", "ZIXLY_LOG_LEVEL", OPT_LOGLEVEL, 0, 0, "info", F(log_level),
	    "debug, info, warn or error"},
	{"shutdown-timeout", "ZIXLY_SHUTDOWN_TIMEOUT", OPT_DOUBLE, 0, 86400, "30", F(shutdown_timeout),
	    "seconds to finish in-flight jobs after SIGTERM/SIGINT/SIGHUP before releasing them"},
	{"lease", "ZIXLY_LEASE", OPT_INT, 3, 86400, "60", F(lease),
	    "seconds a claimed job stays ours without a heartbeat (heartbeats every lease/3)"},
	{"claim-batch", "ZIXLY_CLAIM_BATCH", OPT_INT, 1, 1000, "1000", F(claim_batch),
	    "jobs per claim while the queue holds only noop jobs"},
	{"claim-connections", "ZIXLY_CLAIM_CONNECTIONS", OPT_INT, 1, 16, "2", F(claim_connections),
	    "database connections that claim in parallel while draining a backlog"},
	{"durable-claims", "ZIXLY_DURABLE_CLAIMS", OPT_BOOL, 0, 0, "false", F(durable_claims),
	    "claims wait for their WAL flush (synchronous_commit); off by default: a claim lost\n"
	    "in a crash changes nothing, since the crash also ends the claiming session"},
	{"poll-interval", "ZIXLY_POLL_INTERVAL", OPT_DOUBLE, 0.1, 3600, "5", F(poll_interval),
	    "seconds between safety claims when no wake-up came (zixly_wait, or LISTEN)"},
	{"rescue-interval", "ZIXLY_RESCUE_INTERVAL", OPT_DOUBLE, 0.1, 3600, "1", F(rescue_interval),
	    "seconds between zixly_rescue() calls"},
	{"artifact-failure-pause", "ZIXLY_ARTIFACT_FAILURE_PAUSE", OPT_DOUBLE, 0.1, 3600, "30",
	    F(artifact_failure_pause),
	    "seconds the worker claims nothing after it could not store a job's grid (the job is\n"
	    "retried, by another worker if one is up); doubling while it keeps failing, up to 10x"},
	{"webhook-timeout", "ZIXLY_WEBHOOK_TIMEOUT", OPT_DOUBLE, 0.1, 60, "5", F(webhook_timeout),
	    "seconds allowed for a job's callback (webhook_url)"},
	{"webhook-secret", "ZIXLY_WEBHOOK_SECRET", OPT_SECRET, 0, 0, NULL, F(webhook_secret),
	    "signs job callbacks: Zixly-Timestamp: <unix seconds> and Zixly-Signature:\n"
	    "v1=<hex HMAC-SHA256(secret, \"<timestamp>.<body>\")>; unset: unsigned callbacks\n"
	    "(prefer the variable: a flag shows in ps)"},
	{"webhook-allow-private", "ZIXLY_WEBHOOK_ALLOW_PRIVATE", OPT_BOOL, 0, 0, "false",
	    F(webhook_allow_private),
	    "callbacks may go to loopback and private addresses (127/8, ::1, 10/8, 172.16/12,\n"
	    "192.168/16, 100.64/10, fc00::/7); link-local (169.254/16, fe80::/10),\n"
	    "unspecified, multicast and reserved ones never"},
	{"latency-file", "ZIXLY_LATENCY_FILE", OPT_STRING, 0, 0, "", F(latency_file),
	    "benchmarks: append <job id> <ms> for each noop job carrying enq_mono_ms\n"
	    "(CLOCK_MONOTONIC at handler start minus enq_mono_ms)"},
	{"paused", "ZIXLY_PAUSED", OPT_BOOL, 0, 0, "false", F(paused),
	    "benchmarks: connect and log event=ready, then claim only after SIGUSR1"},
};

static void *
field(struct zx_config *cfg, const struct opt *o)
{
	return (char *)cfg + o->offset;
}

static const char *
type_hint(const struct opt *o)
{
	switch (o->type) {
	case OPT_INT:
		return "N";
	case OPT_DOUBLE:
		return "SECONDS";
	case OPT_BOOL:
		return NULL;
	case OPT_LOGLEVEL:
		return "LEVEL";
	default:
		return "TEXT";
	}
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: " PROG " [options]\n"
	    "\n"
	    "Claims jobs from the zixly queue (zixly_wait + zixly_claim), runs noop and\n"
	    "trading-sweep jobs, stores results, completes them.  Runs in the foreground and logs\n"
	    "one line per event to stderr.  SIGTERM/SIGINT/SIGHUP: stop claiming, finish or release\n"
	    "the jobs in flight, exit 0 (a second one: release them now).  Every option also\n"
	    "comes from the environment variable shown; a flag overrides the environment.\n\n");
	for (size_t i = 0; i < ZX_ARRAY_LEN(opts); i++) {
		const struct opt *o = &opts[i];
		const char *hint = type_hint(o);
		char left[64];

		snprintf(left, sizeof(left), "--%s%s%s", o->flag, hint ? " " : "", hint ? hint : "");
		fprintf(fp, "  %-28s ", left);
		for (const char *h = o->help; *h; h++) {
			fputc(*h, fp);
			if (*h == '\n')
				fprintf(fp, "  %-28s ", "");
		}
		fprintf(fp, "\n  %-28s [%s", "", o->env ? o->env : "flag only");
		if (o->def != NULL && o->def[0] != '\0')
			fprintf(fp, "; default %s", o->def);
		if (o->type == OPT_INT || (o->type == OPT_DOUBLE))
			fprintf(fp, "; %g..%g", o->min, o->max);
		fprintf(fp, "]\n");
	}
	fprintf(fp, "  %-28s this text\n  %-28s print the version\n", "-h, --help", "--version");
}

/* Parses text into the setting; on error prints "<where>: <reason>" and returns -1. */
static int
set_value(struct zx_config *cfg, const struct opt *o, const char *text, const char *where)
{
	void *dst = field(cfg, o);
	char *end;

	switch (o->type) {
	case OPT_SECRET:
		if (text[0] == '\0') {
			fprintf(stderr, PROG ": %s: must not be empty (unset it for unsigned callbacks)\n",
			    where);
			return -1;
		}
		/* FALLTHROUGH */
	case OPT_STRING:
		free(*(char **)dst);
		*(char **)dst = zx_xstrdup(text);
		return 0;
	case OPT_INT: {
		long v;

		errno = 0;
		v = strtol(text, &end, 10);
		if (text[0] == '\0' || *end != '\0' || errno == ERANGE) {
			fprintf(stderr, PROG ": %s: '%s' is not an integer\n", where, text);
			return -1;
		}
		if (v < (long)o->min || v > (long)o->max) {
			fprintf(stderr, PROG ": %s: %ld is out of range (%g..%g)\n", where, v, o->min,
			    o->max);
			return -1;
		}
		*(int *)dst = (int)v;
		return 0;
	}
	case OPT_DOUBLE: {
		double v;

		errno = 0;
		v = strtod(text, &end);
		if (text[0] == '\0' || *end != '\0' || errno == ERANGE || !isfinite(v)) {
			fprintf(stderr, PROG ": %s: '%s' is not a number\n", where, text);
			return -1;
		}
		if (v < o->min || v > o->max) {
			fprintf(stderr, PROG ": %s: %s is out of range (%g..%g)\n", where, text, o->min,
			    o->max);
			return -1;
		}
		*(double *)dst = v;
		return 0;
	}
	case OPT_BOOL:
		if (strcmp(text, "1") == 0 || strcmp(text, "true") == 0 || strcmp(text, "yes") == 0 ||
		    strcmp(text, "on") == 0) {
			*(int *)dst = 1;
		} else if (strcmp(text, "0") == 0 || strcmp(text, "false") == 0 ||
		    strcmp(text, "no") == 0 || strcmp(text, "off") == 0 || text[0] == '\0') {
			*(int *)dst = 0;
		} else {
			fprintf(stderr, PROG ": %s: '%s' is not a boolean (true or false)\n", where, text);
			return -1;
		}
		return 0;
	case OPT_LOGLEVEL:
		if (zx_log_level_parse(text, (enum zx_log_level *)dst) < 0) {
			fprintf(stderr, PROG ": %s: unknown level '%s' (debug, info, warn, error)\n", where,
			    text);
			return -1;
		}
		return 0;
	}
	return -1;
}

static const struct opt *
find_flag(const char *name, size_t len)
{
	for (size_t i = 0; i < ZX_ARRAY_LEN(opts); i++)
		if (strlen(opts[i].flag) == len && strncmp(opts[i].flag, name, len) == 0)
			return &opts[i];
	return NULL;
}

/* <project>/data/artifacts from the binary's location (see the artifact-dir help). */
static char *
default_artifact_dir(void)
{
	char exe[PATH_MAX], cwd[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL)
			*slash = '\0';		/* the binary's directory */
		n = (ssize_t)strlen(exe);
		if (n >= 5 && strcmp(exe + n - 5, "/asan") == 0)
			exe[n -= 5] = '\0';
		if (n >= 4 && strcmp(exe + n - 4, "/bin") == 0) {
			exe[n - 4] = '\0';
			return zx_xasprintf("%s/data/artifacts", exe[0] ? exe : "");
		}
	}
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return zx_xstrdup("data/artifacts");
	return zx_xasprintf("%s/data/artifacts", cwd);
}

static void
apply_computed_defaults(struct zx_config *cfg)
{
	if (cfg->worker_id == NULL || cfg->worker_id[0] == '\0') {
		char host[256];

		if (gethostname(host, sizeof(host)) != 0)
			strcpy(host, "localhost");
		host[sizeof(host) - 1] = '\0';
		free(cfg->worker_id);
		cfg->worker_id = zx_xasprintf("%s-%ld", host, (long)getpid());
	}
	if (cfg->artifact_dir == NULL || cfg->artifact_dir[0] == '\0') {
		free(cfg->artifact_dir);
		cfg->artifact_dir = default_artifact_dir();
	}
}

char **
zx_queue_names(const char *list, size_t *n)
{
	char *copy = zx_xstrdup(list), *rest = copy, *t;
	char **names = NULL;

	*n = 0;
	while ((t = strsep(&rest, ",")) != NULL) {
		char *end;

		while (*t == ' ')
			t++;
		end = t + strlen(t);
		while (end > t && end[-1] == ' ')
			*--end = '\0';
		if (*t == '\0') {
			zx_queue_names_free(names, *n);
			free(copy);
			*n = 0;
			return NULL;
		}
		names = zx_xrealloc(names, (*n + 1) * sizeof(*names));
		names[(*n)++] = zx_xstrdup(t);
	}
	free(copy);
	return names;
}

void
zx_queue_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Checks that involve more than one setting or more than bounds. */
static int
validate(const struct zx_config *cfg)
{
	size_t idlen = strlen(cfg->worker_id);

	/* the extension's rules for a worker id (ZixlyCheckName), so no call can refuse it later */
	if (idlen > 128 || !zx_utf8_valid(cfg->worker_id, idlen)) {
		fprintf(stderr, PROG ": ZIXLY_WORKER_ID / --worker-id: at most 128 characters of "
		    "UTF-8\n");
		return -1;
	}
	for (const char *c = cfg->worker_id; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			fprintf(stderr, PROG ": ZIXLY_WORKER_ID / --worker-id: control characters are"
			    " not allowed\n");
			return -1;
		}
	if (cfg->metrics_address[0] != '\0' && zx_metrics_address(cfg->metrics_address, NULL) < 0) {
		fprintf(stderr, PROG ": ZIXLY_METRICS_ADDRESS / --metrics-address: '%s' is not an IPv4"
		    " or IPv6 address\n", cfg->metrics_address);
		return -1;
	}
	if (cfg->queues[0] != '\0') {
		const char *q = cfg->queues;
		size_t n;
		char **names = zx_queue_names(q, &n);
		int bad = !zx_utf8_valid(q, strlen(q)) || names == NULL;

		for (; *q && !bad; q++)
			bad = (unsigned char)*q < 0x20 || *q == 0x7f || *q == '"' || *q == '\\' ||
			    *q == '{' || *q == '}';
		zx_queue_names_free(names, n);
		if (bad) {
			fprintf(stderr, PROG ": ZIXLY_QUEUES / --queues: queue names are comma-separated"
			    " plain words, none empty\n");
			return -1;
		}
	}
	/* the path goes into the job's result (jsonb), which must be UTF-8 */
	if (!zx_utf8_valid(cfg->artifact_dir, strlen(cfg->artifact_dir))) {
		fprintf(stderr, PROG ": ZIXLY_ARTIFACT_DIR / --artifact-dir: the path must be valid "
		    "UTF-8\n");
		return -1;
	}
	return 0;
}

int
zx_config_load(struct zx_config *cfg, int argc, char **argv)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < ZX_ARRAY_LEN(opts); i++) {
		char where[80];

		snprintf(where, sizeof(where), "default of --%s", opts[i].flag);
		if (opts[i].def != NULL && set_value(cfg, &opts[i], opts[i].def, where) < 0)
			return -1;	/* a broken table: caught by any test run */
		if (opts[i].def == NULL && (opts[i].type == OPT_STRING || opts[i].type == OPT_SECRET))
			*(char **)field(cfg, &opts[i]) = zx_xstrdup("");
	}
	for (size_t i = 0; i < ZX_ARRAY_LEN(opts); i++) {
		const char *v = opts[i].env ? getenv(opts[i].env) : NULL;

		if (v != NULL && set_value(cfg, &opts[i], v, opts[i].env) < 0)
			return -1;
	}
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq, *val = NULL;
		const struct opt *o;
		size_t len;
		char where[80];

		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			usage(stdout);
			return 1;
		}
		if (strcmp(arg, "--version") == 0) {
			printf(PROG " " ZX_VERSION "\n");
			return 1;
		}
		if (strncmp(arg, "--", 2) != 0) {
			fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", arg);
			return -1;
		}
		eq = strchr(arg, '=');
		len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		if ((o = find_flag(arg + 2, len)) == NULL) {
			fprintf(stderr, PROG ": unknown option '%.*s' (see --help)\n", (int)len + 2, arg);
			return -1;
		}
		if (eq != NULL)
			val = eq + 1;
		else if (o->type == OPT_BOOL)
			val = "true";
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			fprintf(stderr, PROG ": --%s needs a value\n", o->flag);
			return -1;
		}
		snprintf(where, sizeof(where), "--%s", o->flag);
		if (set_value(cfg, o, val, where) < 0)
			return -1;
	}
	apply_computed_defaults(cfg);
	return validate(cfg);
}

void
zx_config_free(struct zx_config *cfg)
{
	for (size_t i = 0; i < ZX_ARRAY_LEN(opts); i++)
		if (opts[i].type == OPT_STRING || opts[i].type == OPT_SECRET) {
			free(*(char **)field(cfg, &opts[i]));
			*(char **)field(cfg, &opts[i]) = NULL;
		}
}

void
zx_config_log(const struct zx_config *cfg)
{
	char line[2048];
	size_t n = 0;

	for (size_t i = 0; i < ZX_ARRAY_LEN(opts) && n < sizeof(line) - 200; i++) {
		const struct opt *o = &opts[i];
		const void *v = (const char *)cfg + o->offset;
		int k = 0;

		if (o->offset == F(database_url))
			continue;	/* may hold a password; db.c logs host and database */
		switch (o->type) {
		case OPT_STRING:
			k = snprintf(line + n, sizeof(line) - n, "%s%s=%s", n ? " " : "", o->flag,
			    zx_q(*(char *const *)v));
			break;
		case OPT_SECRET:	/* whether it is set, never its value */
			k = snprintf(line + n, sizeof(line) - n, "%s%s=%s", n ? " " : "", o->flag,
			    (*(char *const *)v)[0] != '\0' ? "set" : "none");
			break;
		case OPT_INT:
		case OPT_BOOL:
			k = snprintf(line + n, sizeof(line) - n, "%s%s=%d", n ? " " : "", o->flag,
			    *(const int *)v);
			break;
		case OPT_DOUBLE:
			k = snprintf(line + n, sizeof(line) - n, "%s%s=%g", n ? " " : "", o->flag,
			    *(const double *)v);
			break;
		case OPT_LOGLEVEL:
			k = snprintf(line + n, sizeof(line) - n, "%s%s=%s", n ? " " : "", o->flag,
			    zx_log_level_name(*(const enum zx_log_level *)v));
			break;
		}
		if (k > 0)
			n += (size_t)k;
	}
	zlog(ZX_INFO, "config", "version=" ZX_VERSION " %s", line);
}
