/*
 * request.c
 *	Checks on what clients send, before the database sees it.
 *
 * Well-formedness is decided by json_check.c (RFC 8259 exactly, with a
 * depth limit); json-c then reads the two job options. The body
 * text itself is what goes to PostgreSQL (as jsonb, options stripped
 * there), so numbers reach the extension's validator exactly as sent.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "buf.h"
#include "errors.h"
#include "json_check.h"
#include "jwt.h"
#include "request.h"

static int	body_json(const char *, size_t, size_t, struct json_object **,
		    struct zx_buf *);
static int	option_error(struct zx_buf *, const char *, const char *);
static int	printable_ascii(const char *, size_t);
static double	accept_q(const char *, const char *const *);

static int
printable_ascii(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return (0);
	}
	return (1);
}

/* Name/value pairs of every object in o, nested ones included. */
static size_t
json_members(struct json_object *o)
{
	size_t	n = 0, i;

	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, v) {
			(void)key;
			n += 1 + json_members(v);
		}
	} else if (json_object_is_type(o, json_type_array)) {
		for (i = 0; i < json_object_array_length(o); i++)
			n += json_members(json_object_array_get_idx(o, i));
	}
	return (n);
}

/*
 * The shared part of body parsing: limits, then a strict parse into an
 * object. Returns 0 with *out set, or an HTTP status with err filled.
 */
static int
body_json(const char *body, size_t len, size_t max, struct json_object **out,
    struct zx_buf *err)
{
	struct json_tokener	*tok;
	struct json_object	*obj;
	enum json_tokener_error	 jerr;
	enum zx_json_status	 jst;
	char			 msg[256];
	size_t			 i, at, members;

	*out = NULL;
	if (len > max) {
		(void)snprintf(msg, sizeof(msg),
		    "the request body is %zu bytes; at most %zu are accepted",
		    len, max);
		zx_error_body(err, "payload_too_large", msg, NULL);
		return (413);
	}
	for (i = 0; i < len && isspace((unsigned char)body[i]); i++)
		;
	if (i == len) {
		zx_error_body(err, "invalid_json", "the request body is empty",
		    NULL);
		return (400);
	}
	if (memchr(body, '\0', len) != NULL || !zx_utf8_valid(body, len)) {
		zx_error_body(err, "invalid_json",
		    "the request body is not valid UTF-8 text", NULL);
		return (400);
	}
	if (body[i] != '{') {
		zx_error_body(err, "invalid_payload",
		    "the request body must be a JSON object", NULL);
		return (400);
	}

	/* Exactly JSON (json_check.c), then json-c to read the options. */
	if ((jst = zx_json_check(body, len, ZX_JSON_DEPTH, &at,
	    &members)) != ZX_JC_OK) {
		if (jst == ZX_JC_TOO_DEEP) {
			(void)snprintf(msg, sizeof(msg), "malformed JSON: nested "
			    "deeper than %d levels", ZX_JSON_DEPTH);
		} else if (jst == ZX_JC_TRUNCATED) {
			(void)snprintf(msg, sizeof(msg), "malformed JSON: the "
			    "body ends after %zu bytes, in the middle of a value",
			    len);
		} else {
			(void)snprintf(msg, sizeof(msg), "malformed JSON at "
			    "byte %zu: %s", at, zx_json_strerror(jst));
		}
		zx_error_body(err, "invalid_json", msg, NULL);
		return (400);
	}
	/* json-c's depth counts the stack below the top value: one more. */
	if ((tok = json_tokener_new_ex(ZX_JSON_DEPTH + 1)) == NULL)
		abort();
	obj = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (obj == NULL || jerr != json_tokener_success) {
		/* json-c is laxer than RFC 8259; this is only its own limits. */
		json_object_put(obj);
		(void)snprintf(msg, sizeof(msg), "the JSON body cannot be "
		    "read: %s", json_tokener_error_desc(jerr));
		zx_error_body(err, "invalid_json", msg, NULL);
		return (400);
	}
	/*
	 * json-c, like jsonb, keeps the last of a name given twice in one
	 * object: {"ticker":"DAX",...,"ticker":"CAC"} would run CAC unnoticed.
	 */
	if (json_members(obj) != members) {
		json_object_put(obj);
		zx_error_body(err, "invalid_payload", "a name appears twice in "
		    "one object of the JSON body; give each field once", NULL);
		return (400);
	}
	*out = obj;
	return (0);
}

/*
 * A JSON number without a fractional part (1, or 1.0 as the extension
 * reads the sweep's own fields), into *n; 0 for anything else.
 */
static int
json_whole(struct json_object *v, int64_t *n)
{
	double	d;

	if (json_object_is_type(v, json_type_int)) {
		*n = json_object_get_int64(v);
		return (1);
	}
	if (!json_object_is_type(v, json_type_double))
		return (0);
	d = json_object_get_double(v);
	if (!isfinite(d) || d != trunc(d) || fabs(d) > 9007199254740992.0)
		return (0);
	*n = (int64_t)d;
	return (1);
}

static int
option_error(struct zx_buf *err, const char *field, const char *why)
{
	struct zx_buf	d, m;

	zx_buf_init(&d, 128);
	zx_buf_init(&m, 128);
	zx_buf_appendf(&m, "invalid job option \"%s\": %s", field, why);
	zx_buf_puts(&d, "[{\"field\":");
	zx_buf_json_cstr(&d, field);
	zx_buf_puts(&d, ",\"message\":");
	zx_buf_json_cstr(&d, why);
	zx_buf_puts(&d, "}]");
	zx_error_body(err, "invalid_payload", m.data, d.data);
	zx_buf_free(&d);
	zx_buf_free(&m);
	return (400);
}

int
zx_job_body_parse(const char *body, size_t len, struct zx_job_body *out,
    struct zx_buf *err)
{
	struct json_object	*obj, *v;
	const char		*s;
	int64_t			 n;
	int			 r;

	memset(out, 0, sizeof(*out));
	if ((r = body_json(body, len, ZX_BODY_MAX, &obj, err)) != 0)
		return (r);

	if (json_object_object_get_ex(obj, "priority", &v)) {
		if (!json_whole(v, &n) || n < INT32_MIN || n > INT32_MAX) {
			json_object_put(obj);
			return (option_error(err, "priority",
			    "must be an integer from -2147483648 to 2147483647"));
		}
		out->has_priority = 1;
		out->priority = (int32_t)n;
	}
	if (json_object_object_get_ex(obj, "idempotency_key", &v)) {
		s = json_object_get_string(v);
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) < 1 ||
		    json_object_get_string_len(v) > ZX_IDEM_KEY_MAX ||
		    !printable_ascii(s, (size_t)json_object_get_string_len(v))) {
			json_object_put(obj);
			return (option_error(err, "idempotency_key",
			    "must be 1 to 255 printable ASCII characters"));
		}
		out->idempotency_key = zx_xstrdup(s);
	}
	json_object_put(obj);
	return (0);
}

void
zx_job_body_clear(struct zx_job_body *b)
{
	free(b->idempotency_key);
	memset(b, 0, sizeof(*b));
}

int
zx_login_body_parse(const char *body, size_t len, char **email,
    char **password, struct zx_buf *err)
{
	struct json_object	*obj, *e, *p;
	int			 r;

	*email = *password = NULL;
	if ((r = body_json(body, len, 4096, &obj, err)) != 0)
		return (r);
	if (!json_object_object_get_ex(obj, "email", &e) ||
	    !json_object_is_type(e, json_type_string) ||
	    json_object_get_string_len(e) < 1 ||
	    json_object_get_string_len(e) > 254 ||
	    !json_object_object_get_ex(obj, "password", &p) ||
	    !json_object_is_type(p, json_type_string) ||
	    json_object_get_string_len(p) < 1 ||
	    json_object_get_string_len(p) > 1024) {
		json_object_put(obj);
		zx_error_body(err, "invalid_payload",
		    "a login needs \"email\" and \"password\" strings",
		    "[{\"field\":\"email\",\"message\":\"a string of 1 to 254 "
		    "characters\"},{\"field\":\"password\",\"message\":"
		    "\"a string of 1 to 1024 characters\"}]");
		return (400);
	}
	*email = zx_xstrdup(json_object_get_string(e));
	*password = zx_xstrdup(json_object_get_string(p));
	json_object_put(obj);
	return (0);
}

int
zx_media_type_is_json(const char *ct)
{
	const char	*p, *semi, *end;
	size_t		 len;

	if (ct == NULL)
		return (0);
	while (*ct == ' ' || *ct == '\t')
		ct++;
	semi = strchr(ct, ';');
	end = semi != NULL ? semi : ct + strlen(ct);
	while (end > ct && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	len = (size_t)(end - ct);
	if (!(len == 16 && strncasecmp(ct, "application/json", 16) == 0) &&
	    !(len > 17 && strncasecmp(ct, "application/", 12) == 0 &&
	    strncasecmp(end - 5, "+json", 5) == 0))
		return (0);

	/* A charset parameter, if any, must be UTF-8. */
	for (p = semi; p != NULL; p = strchr(p + 1, ';')) {
		const char	*q = p + 1;

		while (*q == ' ' || *q == '\t')
			q++;
		if (strncasecmp(q, "charset=", 8) != 0)
			continue;
		q += 8;
		if (*q == '"')
			q++;
		if (strncasecmp(q, "utf-8", 5) != 0 &&
		    strncasecmp(q, "utf8", 4) != 0)
			return (0);
	}
	return (1);
}

enum zx_cred_kind
zx_credential(const char *x_api_key, const char *authorization, char *out,
    size_t outlen)
{
	const char	*tok = NULL, *end;
	size_t		 len;

	out[0] = '\0';
	if (authorization != NULL) {
		if (strncasecmp(authorization, "Bearer ", 7) != 0)
			return (ZX_CRED_BAD);
		tok = authorization + 7;
		while (*tok == ' ')
			tok++;
	}
	if (x_api_key != NULL) {
		while (*x_api_key == ' ')
			x_api_key++;
		if (tok != NULL && strcmp(tok, x_api_key) != 0)
			return (ZX_CRED_BAD);
		tok = x_api_key;
	}
	if (tok == NULL)
		return (ZX_CRED_NONE);

	end = tok + strlen(tok);
	while (end > tok && end[-1] == ' ')
		end--;
	len = (size_t)(end - tok);
	if (len == 0 || len > ZX_TOKEN_MAX || len >= outlen)
		return (ZX_CRED_BAD);
	if (!printable_ascii(tok, len) || memchr(tok, ' ', len) != NULL)
		return (ZX_CRED_BAD);
	memcpy(out, tok, len);
	out[len] = '\0';
	return (zx_jwt_shaped(out) ? ZX_CRED_JWT : ZX_CRED_API_KEY);
}

int
zx_idempotency_key_parse(const char *hdr, char *out, size_t outlen)
{
	size_t	len;

	len = strlen(hdr);
	if (len >= 2 && hdr[0] == '"' && hdr[len - 1] == '"') {
		hdr++;
		len -= 2;
	}
	if (len < 1 || len > ZX_IDEM_KEY_MAX || len >= outlen)
		return (-1);
	if (!printable_ascii(hdr, len) || hdr[0] == ' ' || hdr[len - 1] == ' ')
		return (-1);
	memcpy(out, hdr, len);
	out[len] = '\0';
	return (0);
}

const char *
zx_path_job_id(const char *path, char *out, size_t outlen)
{
	static const char	 prefix[] = "/api/pipelines/";
	const char		*p;
	size_t			 n;

	if (strncmp(path, prefix, sizeof(prefix) - 1) != 0)
		return (NULL);
	p = path + sizeof(prefix) - 1;
	for (n = 0; (p[n] >= 'a' && p[n] <= 'z') || (p[n] >= '0' && p[n] <= '9');
	    n++)
		;
	if (n == 0 || n > ZX_ID_MAX || n >= outlen)
		return (NULL);
	if (p[n] != '\0' && p[n] != '/')
		return (NULL);
	memcpy(out, p, n);
	out[n] = '\0';
	return (p[n] == '/' ? p + n + 1 : p + n);
}

int
zx_qs_present(const char *qs, const char *name)
{
	size_t		 n = strlen(name);
	const char	*p;

	if (qs == NULL)
		return (0);
	for (p = qs; p != NULL && *p != '\0'; p = strchr(p, '&')) {
		if (*p == '&')
			p++;
		if (strncmp(p, name, n) == 0 &&
		    (p[n] == '=' || p[n] == '&' || p[n] == '\0'))
			return (1);
	}
	return (0);
}

int
zx_parse_long(const char *s, long lo, long hi, long *out)
{
	char	*end;
	long	 v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return (-1);
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return (-1);
	*out = v;
	return (0);
}

void
zx_cursor_encode(struct zx_buf *b, const char *micros, const char *id)
{
	struct zx_buf	raw;

	zx_buf_init(&raw, 96);
	zx_buf_appendf(&raw, "%s:%s", micros, id);
	zx_base64url_encode(b, raw.data, raw.len);
	zx_buf_free(&raw);
}

int
zx_cursor_decode(const char *c, char *micros, size_t mlen, char *id,
    size_t idlen)
{
	struct zx_buf	 raw;
	char		*colon;
	size_t		 i, n;
	int		 r = -1;

	if (strlen(c) > 200)
		return (-1);
	zx_buf_init(&raw, 128);
	if (zx_base64url_decode(c, strlen(c), &raw) == -1 ||
	    memchr(raw.data, '\0', raw.len) != NULL)
		goto out;
	if ((colon = strchr(raw.data, ':')) == NULL)
		goto out;
	n = (size_t)(colon - raw.data);
	if (n < 1 || n > 18 || n >= mlen)
		goto out;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)raw.data[i]))
			goto out;
	}
	memcpy(micros, raw.data, n);
	micros[n] = '\0';
	colon++;
	n = strlen(colon);
	if (n < 1 || n > ZX_ID_MAX || n >= idlen)
		goto out;
	for (i = 0; i < n; i++) {
		if (!((colon[i] >= 'a' && colon[i] <= 'z') ||
		    (colon[i] >= '0' && colon[i] <= '9')))
			goto out;
	}
	memcpy(id, colon, n + 1);
	r = 0;
out:
	zx_buf_free(&raw);
	return (r);
}

/* The highest q among the Accept ranges that match one of the types. */
static double
accept_q(const char *accept, const char *const *types)
{
	const char	*p, *end, *semi, *q;
	double		 best = -1, v;
	size_t		 len;
	int		 i;

	for (p = accept; p != NULL && *p != '\0'; p = *end ? end + 1 : NULL) {
		while (*p == ' ' || *p == ',')
			p++;
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		semi = memchr(p, ';', (size_t)(end - p));
		len = (size_t)((semi != NULL ? semi : end) - p);
		while (len > 0 && p[len - 1] == ' ')
			len--;
		v = 1.0;
		if (semi != NULL && (q = strstr(semi, "q=")) != NULL && q < end)
			v = strtod(q + 2, NULL);
		for (i = 0; types[i] != NULL; i++) {
			if (strlen(types[i]) == len &&
			    strncasecmp(p, types[i], len) == 0 && v > best)
				best = v;
		}
		if (*end == '\0')
			break;
	}
	return (best);
}

int
zx_wants_csv(const char *accept, const char *format)
{
	static const char *const csv[] = { "text/csv", NULL };
	static const char *const json[] = { "application/json", "application/*",
	    "*/*", NULL };
	double			 c;

	if (format != NULL)
		return (strcmp(format, "csv") == 0);
	if (accept == NULL)
		return (0);
	c = accept_q(accept, csv);
	return (c > 0 && c > accept_q(accept, json));
}

void
zx_iso8601(int64_t t, char *out, size_t len)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%dT%H:%M:%S.000Z", &tm) == 0)
		(void)snprintf(out, len, "1970-01-01T00:00:00.000Z");
}
