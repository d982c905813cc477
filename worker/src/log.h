/*
 * log.h — the worker's one logging macro.
 *
 *   zlog(ZX_INFO, "job_completed", "job_id=%s duration_ms=%.1f", id, ms);
 *
 * writes one line to stderr, logfmt style:
 *
 *   ts=2024-05-01T12:00:00.123Z pid=4242 level=info event=job_completed job_id=... duration_ms=...
 *
 * Lines below the threshold (ZIXLY_LOG_LEVEL) cost one comparison.  Each line is written with a
 * single write(2), so lines from different threads never interleave.  Values that may hold
 * spaces or quotes go through zx_q(), which quotes them for logfmt.
 */
#ifndef ZX_LOG_H
#define ZX_LOG_H

enum zx_log_level { ZX_DEBUG = 0, ZX_INFO = 1, ZX_WARN = 2, ZX_ERROR = 3 };

extern enum zx_log_level zx_log_threshold;

#define zlog(level, event, ...) \
	do { \
		if ((level) >= zx_log_threshold) \
			zx_log_write((level), (event), __VA_ARGS__); \
	} while (0)

void zx_log_write(enum zx_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "debug", "info", "warn", "error" <-> level; parse returns 0 or -1. */
int zx_log_level_parse(const char *name, enum zx_log_level *out);
const char *zx_log_level_name(enum zx_log_level level);

/*
 * s as a logfmt value: unchanged when it is a plain token, else double-quoted with \" and \\
 * escaped and control characters shown as \n or \xNN; at most about 1000 bytes.  The result
 * lives in a per-thread ring of 8 buffers: use it in the zlog call that needs it.
 */
const char *zx_q(const char *s);

#endif /* ZX_LOG_H */
