/*
 * common.h — what every zixly-worker module shares: the result convention, allocation helpers
 * that never return NULL, and clocks.
 *
 * Result convention (whole daemon): a function that can fail returns ZX_OK (0) or ZX_ERR (-1),
 * and the function that detected the error logs the reason once.  Functions returning pointers
 * return NULL on error under the same rule.  Out of memory is not an error to handle: the
 * zx_x* helpers (buf.h) log and abort.
 */
#ifndef ZX_COMMON_H
#define ZX_COMMON_H

#include <stddef.h>

#define ZX_VERSION "0.1.2"

#define ZX_OK	0
#define ZX_ERR	(-1)

#define ZX_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The handler main() gives zx_set_oom_handler (buf.h): an out_of_memory event. */
void zx_log_out_of_memory(size_t n);

/* CLOCK_MONOTONIC in seconds and in milliseconds (shared by every process on the host). */
double zx_mono_s(void);
double zx_mono_ms(void);

/* The growable byte buffer is the app's (kore-app/src/buf.c, plain C): one implementation. */
#include "buf.h"

/*
 * Appends ids as a PostgreSQL text[] literal ({"a","b"}) to b: quoted, with " and \ escaped,
 * so it is passed as one bound parameter whatever the ids hold.
 */
void zx_buf_text_array(struct zx_buf *b, char *const *ids, size_t n);

#endif /* ZX_COMMON_H */
