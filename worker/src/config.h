/*
 * config.h — the daemon's settings.  One table in config.c lists every setting with its
 * environment variable, flag, type, bounds and default; parsing, validation and --help all come
 * from it.  Precedence: default < environment < flag.
 */
#ifndef ZX_CONFIG_H
#define ZX_CONFIG_H

#include <stdio.h>

#include "log.h"

struct zx_config {
	char *database_url;		/* libpq conninfo or URI; "" = libpq's PG* defaults */
	char *worker_id;		/* default <hostname>-<pid> */
	int concurrency;		/* trading-sweep jobs run at once */
	int threads;			/* engine threads per job, 0 = one per CPU */
	int metrics_port;		/* 0 = no /metrics */
	char *metrics_address;		/* "" = every interface */
	char *artifact_dir;		/* default <project>/data/artifacts */
	char *queues;			/* comma-separated; "" = every queue */
	enum zx_log_level log_level;
	double shutdown_timeout;	/* seconds to finish in-flight jobs after SIGTERM */
	int lease;			/* seconds a claim stays ours without a heartbeat */
	int claim_batch;		/* jobs per claim when draining (1..1000) */
	int claim_connections;		/* connections claiming in parallel while draining */
	int durable_claims;		/* claims wait for their WAL flush (see db.h) */
	double poll_interval;		/* safety poll, seconds (the wake-up path is LISTEN) */
	double rescue_interval;		/* seconds between zixly_rescue() calls */
	double artifact_failure_pause;	/* seconds without claims after an artifact store failure */
	double webhook_timeout;		/* seconds for a job callback */
	char *webhook_secret;		/* signs callbacks (HMAC-SHA256); "" = unsigned; never logged */
	int webhook_allow_private;	/* callbacks may go to loopback and private addresses */
	char *latency_file;		/* benchmarks: noop start - enq_mono_ms, one line per job */
	int paused;			/* benchmarks: connect, then wait for SIGUSR1 before claiming */
};

/*
 * Fills cfg from defaults, the environment and argv.  Returns 0 to run, 1 when --help or
 * --version was printed (exit 0), -1 after printing a one-line reason to stderr (exit 2).
 */
int zx_config_load(struct zx_config *cfg, int argc, char **argv);
void zx_config_free(struct zx_config *cfg);

/* Logs the effective settings (one line, no secrets). */
void zx_config_log(const struct zx_config *cfg);

/*
 * The names of a comma-separated queue list, the spaces around each trimmed ("a, b" is a and
 * b); NULL if one is empty.  Free with zx_queue_names_free.
 */
char **zx_queue_names(const char *list, size_t *n);
void zx_queue_names_free(char **names, size_t n);

#endif /* ZX_CONFIG_H */
