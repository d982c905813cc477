/*
 * json_check.h
 *	An exact RFC 8259 well-formedness check for request bodies.
 *
 * Plain C (no Kore calls). json-c, even in strict mode, takes single
 * quotes, "1." and lone surrogate escapes; PostgreSQL does not. Bodies
 * are checked here first, so whatever reaches the database as jsonb is
 * JSON that PostgreSQL accepts, and a client learns where its text went
 * wrong. UTF-8 validity is checked separately (zx_utf8_valid).
 */
#ifndef ZX_JSON_CHECK_H
#define ZX_JSON_CHECK_H

#include <stddef.h>

enum zx_json_status {
	ZX_JC_OK = 0,
	ZX_JC_TRUNCATED,	/* the text ends inside a value */
	ZX_JC_SYNTAX,		/* an unexpected character */
	ZX_JC_TOO_DEEP,		/* nested deeper than allowed */
	ZX_JC_CONTROL,		/* a raw control character in a string */
	ZX_JC_ESCAPE,		/* a bad escape, \u0000 or a lone surrogate */
	ZX_JC_NUMBER,		/* not a JSON number (NaN, 01, 1., .5, +1) */
	ZX_JC_TRAILING,		/* text after the value */
};

/*
 * Whether s[0..len) is exactly one JSON value, with optional whitespace
 * around it, nested at most max_depth levels (an object is one level).
 * On an error, *at is the offset of the offending byte. *members (if not
 * NULL) is the number of name/value pairs in all its objects as written:
 * more than a parser keeps when a name appears twice in one object.
 */
enum zx_json_status zx_json_check(const char *s, size_t len, int max_depth,
	    size_t *at, size_t *members);

/* What went wrong, as a short phrase ("a raw control character ..."). */
const char	*zx_json_strerror(enum zx_json_status);

#endif
