/*
 * log.c — one line per event on stderr (see log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

enum zx_log_level zx_log_threshold = ZX_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

int
zx_log_level_parse(const char *name, enum zx_log_level *out)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(name, level_names[i]) == 0) {
			*out = (enum zx_log_level)i;
			return 0;
		}
	return -1;
}

const char *
zx_log_level_name(enum zx_log_level level)
{
	return level >= ZX_DEBUG && level <= ZX_ERROR ? level_names[level] : "?";
}

void
zx_log_write(enum zx_log_level level, const char *event, const char *fmt, ...)
{
	char line[4096];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int k;
	va_list ap;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
	k = snprintf(line + n, sizeof(line) - n, ".%03ldZ pid=%ld level=%s event=%s",
	    (long)(tv.tv_usec / 1000), (long)getpid(), zx_log_level_name(level), event);
	n += k > 0 ? (size_t)k : 0;
	if (fmt[0] != '\0' && n + 1 < sizeof(line)) {
		line[n++] = ' ';
		va_start(ap, fmt);
		k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		n += k > 0 ? (size_t)k : 0;
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;	/* truncated */
	line[n++] = '\n';
	/* one write: lines from several threads never interleave */
	if (write(STDERR_FILENO, line, n) < 0)
		return;
}

const char *
zx_q(const char *s)
{
	static __thread char ring[8][1024];
	static __thread unsigned next;
	char *out;
	size_t o = 0, cap = sizeof(ring[0]);
	int plain;

	if (s == NULL)
		return "null";
	out = ring[next++ % 8];
	plain = s[0] != '\0';
	for (const char *c = s; *c && plain; c++)
		if (*c <= ' ' || *c == '"' || *c == '=' || *c == '\\' || (unsigned char)*c >= 0x7f)
			plain = 0;
	if (plain && strlen(s) < cap)
		return s;
	out[o++] = '"';
	for (const unsigned char *c = (const unsigned char *)s; *c && o + 6 < cap; c++) {
		if (*c == '"' || *c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)*c;
		} else if (*c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (*c < 0x20 || *c == 0x7f) {
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", *c);
		} else {
			out[o++] = (char)*c;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}
