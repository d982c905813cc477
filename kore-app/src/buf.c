/*
 * buf.c
 *	A growable byte buffer with JSON, CSV and base64url helpers.
 *
 * Everything the app sends is assembled here, so escaping rules live in
 * one place: JSON strings are always valid (bad UTF-8 is replaced), CSV
 * cells are quoted per RFC 4180 and defused against formula injection.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static void (*oom_handler)(size_t);

void
zx_set_oom_handler(void (*handler)(size_t))
{
	oom_handler = handler;
}

static void
out_of_memory(size_t len)
{
	if (oom_handler != NULL)
		oom_handler(len);
	else
		fprintf(stderr, "out of memory (%zu bytes)\n", len);
	abort();
}

void *
zx_xmalloc(size_t len)
{
	void	*p;

	if ((p = malloc(len == 0 ? 1 : len)) == NULL)
		out_of_memory(len);
	return (p);
}

void *
zx_xcalloc(size_t n, size_t size)
{
	void	*p;

	if (size != 0 && n > SIZE_MAX / size)
		out_of_memory(SIZE_MAX);
	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		out_of_memory(n * size);
	return (p);
}

void *
zx_xrealloc(void *ptr, size_t len)
{
	void	*p;

	if ((p = realloc(ptr, len == 0 ? 1 : len)) == NULL)
		out_of_memory(len);
	return (p);
}

char *
zx_xstrdup(const char *s)
{
	size_t	 len = strlen(s);
	char	*p = zx_xmalloc(len + 1);

	memcpy(p, s, len + 1);
	return (p);
}

void
zx_buf_init(struct zx_buf *b, size_t cap)
{
	b->cap = cap < 64 ? 64 : cap;
	b->data = zx_xmalloc(b->cap);
	b->len = 0;
	b->data[0] = '\0';
}

void
zx_buf_free(struct zx_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void
zx_buf_reset(struct zx_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static void
buf_reserve(struct zx_buf *b, size_t more)
{
	size_t	need;

	if (b->data == NULL)
		zx_buf_init(b, more + 1);
	need = b->len + more + 1;
	if (need <= b->cap)
		return;
	while (b->cap < need)
		b->cap *= 2;
	b->data = zx_xrealloc(b->data, b->cap);
}

void
zx_buf_append(struct zx_buf *b, const void *d, size_t len)
{
	buf_reserve(b, len);
	memcpy(b->data + b->len, d, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
zx_buf_puts(struct zx_buf *b, const char *s)
{
	zx_buf_append(b, s, strlen(s));
}

void
zx_buf_vappendf(struct zx_buf *b, const char *fmt, va_list ap)
{
	va_list	again;
	int	n;

	/* Format into the spare room first; grow and redo only if it did not fit. */
	buf_reserve(b, 0);
	va_copy(again, ap);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	if (n >= 0 && (size_t)n >= b->cap - b->len) {
		buf_reserve(b, (size_t)n);
		(void)vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
	}
	va_end(again);
	if (n >= 0)
		b->len += (size_t)n;
}

void
zx_buf_appendf(struct zx_buf *b, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	zx_buf_vappendf(b, fmt, ap);
	va_end(ap);
}

char *
zx_xasprintf(const char *fmt, ...)
{
	struct zx_buf	b;
	va_list		ap;

	zx_buf_init(&b, 0);
	va_start(ap, fmt);
	zx_buf_vappendf(&b, fmt, ap);
	va_end(ap);
	return (b.data);
}

const char *
zx_buf_cstr(struct zx_buf *b)
{
	if (b->data == NULL)
		zx_buf_init(b, 64);
	return (b->data);
}

/* Length of the UTF-8 sequence at s (1-4), or 0 if it is not valid. */
static size_t
utf8_seq(const unsigned char *s, size_t left)
{
	unsigned int	cp;
	size_t		n, i;

	if (s[0] < 0x80)
		return (1);
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return (0);
	}
	if (n > left)
		return (0);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return (0);
	return (n);
}

int
zx_utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, n;

	for (i = 0; i < len; i += n) {
		if (p[i] == 0)
			return (0);
		if ((n = utf8_seq(p + i, len - i)) == 0)
			return (0);
	}
	return (1);
}

void
zx_buf_json_str(struct zx_buf *b, const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, n;

	zx_buf_append(b, "\"", 1);
	for (i = 0; i < len; i += n) {
		n = 1;
		switch (p[i]) {
		case '"':
			zx_buf_append(b, "\\\"", 2);
			continue;
		case '\\':
			zx_buf_append(b, "\\\\", 2);
			continue;
		case '\n':
			zx_buf_append(b, "\\n", 2);
			continue;
		case '\r':
			zx_buf_append(b, "\\r", 2);
			continue;
		case '\t':
			zx_buf_append(b, "\\t", 2);
			continue;
		default:
			break;
		}
		if (p[i] < 0x20 || p[i] == 0x7f) {
			zx_buf_appendf(b, "\\u%04x", p[i]);
			continue;
		}
		if ((n = utf8_seq(p + i, len - i)) == 0) {
			zx_buf_puts(b, "\\ufffd");
			n = 1;
			continue;
		}
		zx_buf_append(b, p + i, n);
	}
	zx_buf_append(b, "\"", 1);
}

void
zx_buf_json_cstr(struct zx_buf *b, const char *s)
{
	zx_buf_json_str(b, s, strlen(s));
}

void
zx_buf_json_cstr_or_null(struct zx_buf *b, const char *s)
{
	if (s == NULL)
		zx_buf_puts(b, "null");
	else
		zx_buf_json_cstr(b, s);
}

void
zx_buf_csv_cell(struct zx_buf *b, const char *s, int is_text)
{
	const char	*p;
	int		 quote, defuse;

	if (s == NULL)
		return;
	defuse = is_text && strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0';
	quote = defuse || strpbrk(s, ",\"\r\n") != NULL;
	if (!quote) {
		zx_buf_puts(b, s);
		return;
	}
	zx_buf_append(b, "\"", 1);
	if (defuse)
		zx_buf_append(b, "'", 1);
	for (p = s; *p != '\0'; p++) {
		if (*p == '"')
			zx_buf_append(b, "\"\"", 2);
		else
			zx_buf_append(b, p, 1);
	}
	zx_buf_append(b, "\"", 1);
}

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void
zx_base64url_encode(struct zx_buf *b, const void *data, size_t len)
{
	const unsigned char	*p = data;
	char			 out[4];
	size_t			 i;
	unsigned int		 v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (p[i] << 16) | (p[i + 1] << 8) | p[i + 2];
		out[0] = b64url[(v >> 18) & 63];
		out[1] = b64url[(v >> 12) & 63];
		out[2] = b64url[(v >> 6) & 63];
		out[3] = b64url[v & 63];
		zx_buf_append(b, out, 4);
	}
	if (len - i == 1) {
		v = p[i] << 16;
		out[0] = b64url[(v >> 18) & 63];
		out[1] = b64url[(v >> 12) & 63];
		zx_buf_append(b, out, 2);
	} else if (len - i == 2) {
		v = (p[i] << 16) | (p[i + 1] << 8);
		out[0] = b64url[(v >> 18) & 63];
		out[1] = b64url[(v >> 12) & 63];
		out[2] = b64url[(v >> 6) & 63];
		zx_buf_append(b, out, 3);
	}
}

static int
b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '-')
		return (62);
	if (c == '_')
		return (63);
	return (-1);
}

int
zx_base64url_decode(const char *s, size_t len, struct zx_buf *out)
{
	unsigned char	 o[3];
	unsigned int	 v;
	size_t		 i, k, rem;
	int		 d[4];

	rem = len % 4;
	if (rem == 1)
		return (-1);
	for (i = 0; i < len; i += 4) {
		k = len - i < 4 ? len - i : 4;
		d[0] = d[1] = d[2] = d[3] = 0;
		for (size_t j = 0; j < k; j++) {
			if ((d[j] = b64url_value(s[i + j])) < 0)
				return (-1);
		}
		v = (d[0] << 18) | (d[1] << 12) | (d[2] << 6) | d[3];
		o[0] = (v >> 16) & 0xff;
		o[1] = (v >> 8) & 0xff;
		o[2] = v & 0xff;
		if (k == 4) {
			zx_buf_append(out, o, 3);
		} else if (k == 3) {
			/* the unused low bits must be zero (canonical form) */
			if (d[2] & 0x3)
				return (-1);
			zx_buf_append(out, o, 2);
		} else {
			if (d[1] & 0xf)
				return (-1);
			zx_buf_append(out, o, 1);
		}
	}
	return (0);
}
