/*
 * json_check.c
 *	RFC 8259 grammar, checked by recursive descent without building
 *	anything. Recursion is bounded by the depth limit, so a body of
 *	65536 '[' costs a few stack frames, not 65536.
 *
 * Beyond the grammar, strings may not hold \u0000 or unpaired UTF-16
 * surrogates: PostgreSQL's jsonb refuses both, and the app wants every
 * body it passes on to be one the database takes.
 */
#include <string.h>

#include "json_check.h"

struct jc {
	const char	*s;
	size_t		 len;
	size_t		 pos;
	int		 depth;
	int		 max_depth;
	size_t		 members;	/* of every object, nested ones too */
};

static enum zx_json_status	jc_value(struct jc *);

static void
jc_ws(struct jc *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' ||
	    p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
	    p->s[p->pos] == '\r'))
		p->pos++;
}

/* TRUNCATED at the end of the text, else the given error. */
static enum zx_json_status
jc_bad(struct jc *p, enum zx_json_status e)
{
	return (p->pos >= p->len ? ZX_JC_TRUNCATED : e);
}

static int
jc_hex4(struct jc *p, unsigned int *cp)
{
	unsigned int	v = 0;
	int		i;
	char		c;

	for (i = 0; i < 4; i++, p->pos++) {
		if (p->pos >= p->len)
			return (-1);
		c = p->s[p->pos];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned int)(c - 'A' + 10);
		else
			return (-1);
	}
	*cp = v;
	return (0);
}

/* \uXXXX at p->pos (after the backslash and 'u'), pairing surrogates. */
static enum zx_json_status
jc_unicode(struct jc *p)
{
	unsigned int	hi, lo;

	if (jc_hex4(p, &hi) == -1)
		return (jc_bad(p, ZX_JC_ESCAPE));
	if (hi == 0 || (hi >= 0xdc00 && hi <= 0xdfff))
		return (ZX_JC_ESCAPE);
	if (hi < 0xd800 || hi > 0xdbff)
		return (ZX_JC_OK);
	/* A high surrogate: a low one must follow. */
	if (p->pos + 1 >= p->len)
		return (ZX_JC_TRUNCATED);
	if (p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u')
		return (ZX_JC_ESCAPE);
	p->pos += 2;
	if (jc_hex4(p, &lo) == -1)
		return (jc_bad(p, ZX_JC_ESCAPE));
	return (lo >= 0xdc00 && lo <= 0xdfff ? ZX_JC_OK : ZX_JC_ESCAPE);
}

static enum zx_json_status
jc_string(struct jc *p)
{
	enum zx_json_status	r;
	unsigned char		c;

	p->pos++;	/* the opening quote */
	while (p->pos < p->len) {
		c = (unsigned char)p->s[p->pos];
		if (c == '"') {
			p->pos++;
			return (ZX_JC_OK);
		}
		if (c < 0x20)
			return (ZX_JC_CONTROL);
		if (c != '\\') {
			p->pos++;
			continue;
		}
		if (++p->pos >= p->len)
			return (ZX_JC_TRUNCATED);
		switch (p->s[p->pos]) {
		case '"': case '\\': case '/': case 'b':
		case 'f': case 'n': case 'r': case 't':
			p->pos++;
			break;
		case 'u':
			p->pos++;
			if ((r = jc_unicode(p)) != ZX_JC_OK)
				return (r);
			break;
		default:
			return (ZX_JC_ESCAPE);
		}
	}
	return (ZX_JC_TRUNCATED);
}

static int
jc_digits(struct jc *p)
{
	size_t	start = p->pos;

	while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
		p->pos++;
	return (p->pos > start);
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static enum zx_json_status
jc_number(struct jc *p)
{
	if (p->s[p->pos] == '-')
		p->pos++;
	if (p->pos < p->len && p->s[p->pos] == '0') {
		p->pos++;
		if (p->pos < p->len && p->s[p->pos] >= '0' &&
		    p->s[p->pos] <= '9')
			return (ZX_JC_NUMBER);
	} else if (!jc_digits(p)) {
		return (jc_bad(p, ZX_JC_NUMBER));
	}
	if (p->pos < p->len && p->s[p->pos] == '.') {
		p->pos++;
		if (!jc_digits(p))
			return (jc_bad(p, ZX_JC_NUMBER));
	}
	if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
		p->pos++;
		if (p->pos < p->len && (p->s[p->pos] == '+' ||
		    p->s[p->pos] == '-'))
			p->pos++;
		if (!jc_digits(p))
			return (jc_bad(p, ZX_JC_NUMBER));
	}
	return (ZX_JC_OK);
}

static enum zx_json_status
jc_literal(struct jc *p, const char *word)
{
	size_t	n = strlen(word), i;

	for (i = 0; i < n; i++, p->pos++) {
		if (p->pos >= p->len)
			return (ZX_JC_TRUNCATED);
		if (p->s[p->pos] != word[i])
			return (ZX_JC_SYNTAX);
	}
	return (ZX_JC_OK);
}

/* An object or array: open at p->pos; members separated by commas. */
static enum zx_json_status
jc_container(struct jc *p, char close)
{
	enum zx_json_status	r;

	if (++p->depth > p->max_depth)
		return (ZX_JC_TOO_DEEP);
	p->pos++;
	jc_ws(p);
	if (p->pos < p->len && p->s[p->pos] == close) {
		p->pos++;
		p->depth--;
		return (ZX_JC_OK);
	}
	for (;;) {
		if (close == '}') {
			if (p->pos >= p->len || p->s[p->pos] != '"')
				return (jc_bad(p, ZX_JC_SYNTAX));
			if ((r = jc_string(p)) != ZX_JC_OK)
				return (r);
			p->members++;
			jc_ws(p);
			if (p->pos >= p->len || p->s[p->pos] != ':')
				return (jc_bad(p, ZX_JC_SYNTAX));
			p->pos++;
		}
		if ((r = jc_value(p)) != ZX_JC_OK)
			return (r);
		jc_ws(p);
		if (p->pos >= p->len)
			return (ZX_JC_TRUNCATED);
		if (p->s[p->pos] == close) {
			p->pos++;
			p->depth--;
			return (ZX_JC_OK);
		}
		if (p->s[p->pos] != ',')
			return (ZX_JC_SYNTAX);
		p->pos++;
		jc_ws(p);
	}
}

static enum zx_json_status
jc_value(struct jc *p)
{
	jc_ws(p);
	if (p->pos >= p->len)
		return (ZX_JC_TRUNCATED);
	switch (p->s[p->pos]) {
	case '{':
		return (jc_container(p, '}'));
	case '[':
		return (jc_container(p, ']'));
	case '"':
		return (jc_string(p));
	case 't':
		return (jc_literal(p, "true"));
	case 'f':
		return (jc_literal(p, "false"));
	case 'n':
		return (jc_literal(p, "null"));
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		return (jc_number(p));
	case 'N': case 'I': case '+': case '.':
		return (ZX_JC_NUMBER);	/* NaN, Infinity, +1, .5 */
	default:
		return (ZX_JC_SYNTAX);
	}
}

enum zx_json_status
zx_json_check(const char *s, size_t len, int max_depth, size_t *at,
    size_t *members)
{
	struct jc		p = { s, len, 0, 0, max_depth, 0 };
	enum zx_json_status	r;

	if ((r = jc_value(&p)) == ZX_JC_OK) {
		jc_ws(&p);
		if (p.pos < p.len)
			r = ZX_JC_TRAILING;
	}
	*at = p.pos;
	if (members != NULL)
		*members = p.members;
	return (r);
}

const char *
zx_json_strerror(enum zx_json_status r)
{
	switch (r) {
	case ZX_JC_OK:
		return ("well-formed");
	case ZX_JC_TRUNCATED:
		return ("the text ends in the middle of a value");
	case ZX_JC_SYNTAX:
		return ("unexpected character");
	case ZX_JC_TOO_DEEP:
		return ("nested too deeply");
	case ZX_JC_CONTROL:
		return ("a control character inside a string must be escaped");
	case ZX_JC_ESCAPE:
		return ("a bad escape (\\u0000 and unpaired surrogates are "
		    "not accepted)");
	case ZX_JC_NUMBER:
		return ("not a JSON number (no NaN, Infinity, leading zeros, "
		    "'+' or bare '.')");
	case ZX_JC_TRAILING:
		return ("unexpected text after the value");
	}
	return ("malformed");
}
