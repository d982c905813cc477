/*
 * buf.h
 *	A growable byte buffer and the JSON / CSV text helpers built on it.
 *
 * Plain C (no Kore calls) so unit tests link it directly. Memory comes
 * from malloc; running out of it aborts, as kore_malloc does.
 */
#ifndef ZX_BUF_H
#define ZX_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct zx_buf {
	char		*data;
	size_t		 len;
	size_t		 cap;
};

/*
 * Allocation that never returns NULL: out of memory, the handler set with
 * zx_set_oom_handler is called with the size asked for (the worker logs an
 * event), or else a line goes to stderr, then abort().
 */
void	 zx_set_oom_handler(void (*)(size_t));
void	*zx_xmalloc(size_t);
void	*zx_xcalloc(size_t, size_t);
void	*zx_xrealloc(void *, size_t);
char	*zx_xstrdup(const char *);
/* A newly allocated formatted string (the caller frees it). */
char	*zx_xasprintf(const char *, ...)
	    __attribute__((format(printf, 1, 2)));

void	 zx_buf_init(struct zx_buf *, size_t);
void	 zx_buf_free(struct zx_buf *);
void	 zx_buf_reset(struct zx_buf *);
void	 zx_buf_append(struct zx_buf *, const void *, size_t);
void	 zx_buf_puts(struct zx_buf *, const char *);
void	 zx_buf_vappendf(struct zx_buf *, const char *, va_list);
void	 zx_buf_appendf(struct zx_buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
const char *zx_buf_cstr(struct zx_buf *);

/* A quoted JSON string; invalid UTF-8 becomes U+FFFD so output stays valid. */
void	 zx_buf_json_str(struct zx_buf *, const char *, size_t);
void	 zx_buf_json_cstr(struct zx_buf *, const char *);
/* A JSON string, or null when the value is NULL. */
void	 zx_buf_json_cstr_or_null(struct zx_buf *, const char *);

/*
 * One CSV cell (RFC 4180 quoting). Text cells that a spreadsheet would
 * read as a formula (= + - @ tab CR first) get a leading apostrophe.
 */
void	 zx_buf_csv_cell(struct zx_buf *, const char *, int is_text);

/* Whether a string is valid UTF-8 without NUL bytes. */
int	 zx_utf8_valid(const char *, size_t);

/* base64url without padding (RFC 4648 section 5). */
void	 zx_base64url_encode(struct zx_buf *, const void *, size_t);
/* Strict decode: no padding, no other characters; -1 on bad input. */
int	 zx_base64url_decode(const char *, size_t, struct zx_buf *);

#endif
