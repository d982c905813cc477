/*
 * errors.c
 *	JSON error bodies and the database-error to HTTP mapping.
 *
 * The extension is the single validation gate: it raises SQLSTATE 22023
 * with the first problem in the message, every problem as "field: message"
 * lines in DETAIL, and the first field in PG_DIAG_COLUMN_NAME. This file
 * turns that into the 400 body clients see; it never re-checks values.
 */
#include <string.h>

#include "buf.h"
#include "errors.h"

static void	details_from_lines(struct zx_buf *, const char *);

void
zx_error_body(struct zx_buf *b, const char *code, const char *msg,
    const char *details_json)
{
	zx_buf_puts(b, "{\"error\":");
	zx_buf_json_cstr(b, code);
	zx_buf_puts(b, ",\"message\":");
	zx_buf_json_cstr(b, msg);
	if (details_json != NULL) {
		zx_buf_puts(b, ",\"details\":");
		zx_buf_puts(b, details_json);
	}
	zx_buf_puts(b, "}");
}

/* "a: x\nb: y" -> [{"field":"a","message":"x"},{"field":"b","message":"y"}] */
static void
details_from_lines(struct zx_buf *b, const char *detail)
{
	const char	*line, *end, *sep;
	int		 first = 1;

	zx_buf_puts(b, "[");
	for (line = detail; *line != '\0'; line = *end ? end + 1 : end) {
		end = strchr(line, '\n');
		if (end == NULL)
			end = line + strlen(line);
		if (end == line)
			continue;
		sep = memmem(line, (size_t)(end - line), ": ", 2);
		if (!first)
			zx_buf_puts(b, ",");
		first = 0;
		zx_buf_puts(b, "{\"field\":");
		if (sep != NULL) {
			zx_buf_json_str(b, line, (size_t)(sep - line));
			zx_buf_puts(b, ",\"message\":");
			zx_buf_json_str(b, sep + 2, (size_t)(end - sep - 2));
		} else {
			zx_buf_puts(b, "null,\"message\":");
			zx_buf_json_str(b, line, (size_t)(end - line));
		}
		zx_buf_puts(b, "}");
	}
	zx_buf_puts(b, "]");
}

int
zx_pgerr_conn_lost(const char *s)
{
	if (s == NULL)
		return (1);
	return (strncmp(s, "08", 2) == 0 || strcmp(s, "57P01") == 0 ||
	    strcmp(s, "57P02") == 0 || strcmp(s, "57P03") == 0);
}

int
zx_pgerr_unavailable(const char *s)
{
	return (zx_pgerr_conn_lost(s) || strncmp(s, "53", 2) == 0 ||
	    strcmp(s, "57014") == 0 || strcmp(s, "40001") == 0 ||
	    strcmp(s, "40P01") == 0 || strcmp(s, "55P03") == 0);
}

int
zx_pgerr_map(const struct zx_pgerr *e, struct zx_buf *b)
{
	struct zx_buf	 d;
	const char	*s = e->sqlstate;
	const char	*msg = e->message != NULL ? e->message : "";

	if (zx_pgerr_unavailable(s)) {
		zx_error_body(b, "service_unavailable",
		    "the database is unavailable; try again shortly", NULL);
		return (503);
	}

	if (strcmp(s, "22023") == 0) {
		zx_buf_init(&d, 128);
		if (e->detail != NULL && *e->detail != '\0') {
			details_from_lines(&d, e->detail);
		} else {
			zx_buf_puts(&d, "[{\"field\":");
			zx_buf_json_cstr_or_null(&d, e->column);
			zx_buf_puts(&d, ",\"message\":");
			zx_buf_json_cstr(&d, msg);
			zx_buf_puts(&d, "}]");
		}
		zx_error_body(b, "invalid_payload", msg, d.data);
		zx_buf_free(&d);
		return (400);
	}

	/* Other data exceptions: bad JSON text, numbers out of range, ... */
	if (strncmp(s, "22", 2) == 0) {
		zx_error_body(b, "invalid_payload", msg, NULL);
		return (400);
	}

	if (strcmp(s, "P0002") == 0) {
		zx_error_body(b, "not_found", msg, NULL);
		return (404);
	}

	if (strcmp(s, "55000") == 0 || strcmp(s, "23505") == 0) {
		zx_error_body(b, "conflict", msg, NULL);
		return (409);
	}

	if (strcmp(s, "42501") == 0) {
		zx_error_body(b, "forbidden",
		    "the database refused this operation", NULL);
		return (403);
	}

	zx_error_body(b, "internal_error",
	    "the request could not be completed", NULL);
	return (500);
}
