/*
 * process.h — this process's resource figures for /metrics (the process_* metrics that
 * Prometheus client libraries export), read from Linux's /proc and getrlimit(2).
 */
#ifndef ZX_PROCESS_H
#define ZX_PROCESS_H

struct zx_process_stats {
	double cpu_seconds;		/* user + system, every thread */
	double resident_bytes;
	double virtual_bytes;
	double start_time;		/* seconds since the Unix epoch */
	double open_fds;
	double max_fds;			/* soft RLIMIT_NOFILE */
};

/* Fills st; 0, or -1 when /proc could not be read (nothing logged: the caller skips them). */
int zx_process_stats(struct zx_process_stats *st);

#endif /* ZX_PROCESS_H */
