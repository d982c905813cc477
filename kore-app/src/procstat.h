/*
 * procstat.h
 *	What Linux says about a process, for the process_* metrics.
 *
 * Plain C (no Kore calls). Reads /proc/<pid>/stat and counts the
 * entries of /proc/<pid>/fd: the same figures Prometheus client
 * libraries export (process_cpu_seconds_total and friends). The worker
 * builds this file too, for its own /metrics (worker/src/process.c).
 */
#ifndef ZX_PROCSTAT_H
#define ZX_PROCSTAT_H

#include <stdint.h>

struct zx_procstat {
	double		cpu_seconds;	/* user + system */
	int64_t		rss_bytes;
	int64_t		vsize_bytes;
	double		start_time;	/* Unix seconds */
	int64_t		open_fds;	/* -1 when /proc/<pid>/fd is not readable */
};

/* The constants the conversion needs, fixed per boot (zx_procstat_init). */
struct zx_procstat_base {
	long		clk_tck;
	long		page_size;
	int64_t		boot_time;	/* "btime" of /proc/stat */
};

/* Fills base from sysconf and /proc/stat; 0 or -1. */
int	zx_procstat_init(struct zx_procstat_base *);

/* The "btime" value of /proc/stat's text, or -1. */
int64_t	zx_procstat_btime(const char *);

/* Parses the text of /proc/<pid>/stat (open_fds is left alone); 0 or -1. */
int	zx_procstat_parse(const char *, const struct zx_procstat_base *,
	    struct zx_procstat *);

/* Reads a process's figures; 0, or -1 when it is gone or not readable. */
int	zx_procstat_read(int pid, const struct zx_procstat_base *,
	    struct zx_procstat *);

#endif
