/*
 * util.c — the out-of-memory event, clocks, and text[] literals.
 */
#include <time.h>

#include "common.h"
#include "log.h"

void
zx_log_out_of_memory(size_t n)
{
	zlog(ZX_ERROR, "out_of_memory", "bytes=%zu", n);
}

double
zx_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
zx_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void
zx_buf_text_array(struct zx_buf *b, char *const *ids, size_t n)
{
	zx_buf_append(b, "{", 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			zx_buf_append(b, ",", 1);
		zx_buf_append(b, "\"", 1);
		for (const char *c = ids[i]; *c; c++) {
			if (*c == '"' || *c == '\\')
				zx_buf_append(b, "\\", 1);
			zx_buf_append(b, c, 1);
		}
		zx_buf_append(b, "\"", 1);
	}
	zx_buf_append(b, "}", 1);
}
