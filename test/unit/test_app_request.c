/*
 * test_app_request.c — what the Kore app checks before the database sees a request
 * (kore-app/src/request.c): the job body (64 KiB limit, UTF-8, strict JSON, nesting depth,
 * an object, the priority and idempotency_key options), the login body, media types,
 * credentials, the Idempotency-Key header, job ids in paths, query strings and numbers,
 * page cursors, CSV negotiation and ISO 8601 times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "buf.h"
#include "request.h"

/* Parses a job body; on an error, checks the body is {"error":code,"message":...}. */
static int
parse(const char *body, size_t len, struct zx_job_body *jb, const char *code,
    const char *msg_part)
{
	struct zx_buf		 err;
	struct json_object	*o, *v;
	int			 r;

	zx_buf_init(&err, 128);
	r = zx_job_body_parse(body, len, jb, &err);
	if (r == 0) {
		assert_int_equal(err.len, 0);
	} else {
		o = json_tokener_parse(err.data);
		if (o == NULL)
			fail_msg("error body is not JSON: %s", err.data);
		assert_true(json_object_object_get_ex(o, "error", &v));
		if (code != NULL)
			assert_string_equal(json_object_get_string(v), code);
		assert_true(json_object_object_get_ex(o, "message", &v));
		if (msg_part != NULL && strstr(json_object_get_string(v), msg_part) == NULL)
			fail_msg("message \"%s\" lacks \"%s\"", json_object_get_string(v),
			    msg_part);
		json_object_put(o);
	}
	zx_buf_free(&err);
	return (r);
}

static int
parse_s(const char *body, const char *code, const char *msg_part)
{
	struct zx_job_body	jb;
	int			r;

	r = parse(body, strlen(body), &jb, code, msg_part);
	zx_job_body_clear(&jb);
	return (r);
}

/* {"a": [[...1...]]} with `arrays` levels of arrays inside the object. */
static char *
nested(int arrays)
{
	struct zx_buf	b;
	int		i;

	zx_buf_init(&b, 64);
	zx_buf_puts(&b, "{\"a\":");
	for (i = 0; i < arrays; i++)
		zx_buf_puts(&b, "[");
	zx_buf_puts(&b, "1");
	for (i = 0; i < arrays; i++)
		zx_buf_puts(&b, "]");
	zx_buf_puts(&b, "}");
	return (b.data);
}

static void
test_body_ok(void **state)
{
	static const char	 p[] = "{\"ticker\":\"BTC-USD\",\"fast_range\":[10,20],"
	    "\"slow_range\":[20,30],\"step\":5,\"strategy_type\":\"SMA\"}";
	struct zx_job_body	 jb;

	(void)state;
	assert_int_equal(parse(p, strlen(p), &jb, NULL, NULL), 0);
	assert_false(jb.has_priority);
	assert_null(jb.idempotency_key);
	zx_job_body_clear(&jb);

	assert_int_equal(parse_s(" \n{\"ticker\":\"X\"}\r\n ", NULL, NULL), 0);
	/* Values are not range-checked here: that is the extension's job. */
	assert_int_equal(parse_s("{\"step\":-5,\"fast_range\":\"nonsense\"}", NULL,
	    NULL), 0);
}

static void
test_body_size(void **state)
{
	struct zx_job_body	 jb;
	char			*big;

	(void)state;
	big = malloc(ZX_BODY_MAX + 2);
	memset(big, ' ', ZX_BODY_MAX + 1);
	memcpy(big, "{}", 2);
	/* Exactly the limit is accepted, one byte more is a 413. */
	assert_int_equal(parse(big, ZX_BODY_MAX, &jb, NULL, NULL), 0);
	zx_job_body_clear(&jb);
	assert_int_equal(parse(big, ZX_BODY_MAX + 1, &jb, "payload_too_large",
	    "65537 bytes"), 413);
	free(big);
}

static void
test_body_text(void **state)
{
	struct zx_job_body	jb;

	(void)state;
	assert_int_equal(parse_s("", "invalid_json", "empty"), 400);
	assert_int_equal(parse_s("  \t\n", "invalid_json", "empty"), 400);
	assert_int_equal(parse_s("{\"ticker\":\"\xff\xfe\"}", "invalid_json",
	    "UTF-8"), 400);
	/* Overlong encoding of '/' and a UTF-16 surrogate. */
	assert_int_equal(parse_s("{\"t\":\"\xc0\xaf\"}", "invalid_json", NULL), 400);
	assert_int_equal(parse_s("{\"t\":\"\xed\xa0\x80\"}", "invalid_json", NULL),
	    400);
	/* A raw NUL byte inside the body. */
	assert_int_equal(parse("{\"t\":\"a\0b\"}", 11, &jb, "invalid_json", NULL),
	    400);
	zx_job_body_clear(&jb);
	/* Valid multi-byte UTF-8 is fine. */
	assert_int_equal(parse_s("{\"t\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}",
	    NULL, NULL), 0);
}

static void
test_body_json(void **state)
{
	(void)state;
	assert_int_equal(parse_s("{ticker: 1}", "invalid_json", "malformed JSON"),
	    400);
	assert_int_equal(parse_s("{\"ticker\":\"BTC\",\"fast_range\":[10,",
	    "invalid_json", "ends after"), 400);
	assert_int_equal(parse_s("{\"a\":1} x", "invalid_json", "at byte 8"), 400);
	assert_int_equal(parse_s("{\"a\":1}{\"a\":1}", "invalid_json",
	    "at byte 7"), 400);
	assert_int_equal(parse_s("{\"a\":1,}", "invalid_json", NULL), 400);
	assert_int_equal(parse_s("{'a':1}", "invalid_json", NULL), 400);
	assert_int_equal(parse_s("{\"a\":1 /* c */}", "invalid_json", NULL), 400);
	assert_int_equal(parse_s("{\"a\":NaN}", "invalid_json", "NaN"), 400);
	assert_int_equal(parse_s("{\"a\":[-Infinity]}", "invalid_json", "NaN"), 400);
	assert_int_equal(parse_s("{\"a\":\"tab\there\"}", "invalid_json",
	    "control character"), 400);
	/* Escaped, they are fine. */
	assert_int_equal(parse_s("{\"a\":\"tab\\there \\\"q\\\"\"}", NULL, NULL), 0);
}

static void
test_body_depth(void **state)
{
	char	*s;

	(void)state;
	/* The object plus 31 arrays is 32 levels: accepted; 33 levels are not. */
	s = nested(ZX_JSON_DEPTH - 1);
	assert_int_equal(parse_s(s, NULL, NULL), 0);
	free(s);
	s = nested(ZX_JSON_DEPTH);
	assert_int_equal(parse_s(s, "invalid_json", "nested deeper than 32"), 400);
	free(s);
	s = nested(5000);
	assert_int_equal(parse_s(s, "invalid_json", "nested deeper"), 400);
	free(s);
}

static void
test_body_not_object(void **state)
{
	static const char *const bodies[] = {
		"[1,2,3]", "\"hello\"", "null", "42", "true", "[{\"ticker\":\"X\"}]"
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		if (parse_s(bodies[i], "invalid_payload", "JSON object") != 400)
			fail_msg("body %s was accepted", bodies[i]);
	}
}

static void
test_body_options(void **state)
{
	struct zx_job_body	 jb;
	char			 body[400], key[300];
	const char		*s;

	(void)state;
	s = "{\"ticker\":\"X\",\"priority\":7,\"idempotency_key\":\"order-1\"}";
	assert_int_equal(parse(s, strlen(s), &jb, NULL, NULL), 0);
	assert_true(jb.has_priority);
	assert_int_equal(jb.priority, 7);
	assert_string_equal(jb.idempotency_key, "order-1");
	zx_job_body_clear(&jb);
	assert_null(jb.idempotency_key);

	s = "{\"priority\":-2147483648}";
	assert_int_equal(parse(s, strlen(s), &jb, NULL, NULL), 0);
	assert_int_equal(jb.priority, INT32_MIN);
	zx_job_body_clear(&jb);

	assert_int_equal(parse_s("{\"priority\":2147483648}", "invalid_payload",
	    "priority"), 400);
	assert_int_equal(parse_s("{\"priority\":\"high\"}", "invalid_payload",
	    "priority"), 400);
	assert_int_equal(parse_s("{\"priority\":1.5}", "invalid_payload",
	    "priority"), 400);
	assert_int_equal(parse_s("{\"priority\":null}", "invalid_payload",
	    "priority"), 400);
	assert_int_equal(parse_s("{\"idempotency_key\":\"\"}", "invalid_payload",
	    "idempotency_key"), 400);
	assert_int_equal(parse_s("{\"idempotency_key\":5}", "invalid_payload",
	    "idempotency_key"), 400);
	assert_int_equal(parse_s("{\"idempotency_key\":\"caf\xc3\xa9\"}",
	    "invalid_payload", "idempotency_key"), 400);

	/* 255 characters are fine, 256 are not. */
	memset(key, 'k', sizeof(key));
	key[ZX_IDEM_KEY_MAX] = '\0';
	(void)snprintf(body, sizeof(body), "{\"idempotency_key\":\"%s\"}", key);
	assert_int_equal(parse_s(body, NULL, NULL), 0);
	key[ZX_IDEM_KEY_MAX] = 'k';
	key[ZX_IDEM_KEY_MAX + 1] = '\0';
	(void)snprintf(body, sizeof(body), "{\"idempotency_key\":\"%s\"}", key);
	assert_int_equal(parse_s(body, "invalid_payload", NULL), 400);

	/* The details name the field. */
	{
		struct zx_buf		 err;
		struct json_object	*o, *d, *f;

		zx_buf_init(&err, 64);
		assert_int_equal(zx_job_body_parse("{\"priority\":\"x\"}", 16, &jb,
		    &err), 400);
		o = json_tokener_parse(err.data);
		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, "details", &d));
		assert_int_equal(json_object_array_length(d), 1);
		assert_true(json_object_object_get_ex(
		    json_object_array_get_idx(d, 0), "field", &f));
		assert_string_equal(json_object_get_string(f), "priority");
		json_object_put(o);
		zx_buf_free(&err);
	}
}

static int
login(const char *body, char **email, char **password, struct zx_buf *err)
{
	return (zx_login_body_parse(body, strlen(body), email, password, err));
}

static void
test_login_body(void **state)
{
	struct zx_buf	 err;
	char		*email, *password, big[1200];

	(void)state;
	zx_buf_init(&err, 64);
	assert_int_equal(login("{\"email\":\"a@b.c\",\"password\":\"pw\"}", &email,
	    &password, &err), 0);
	assert_string_equal(email, "a@b.c");
	assert_string_equal(password, "pw");
	free(email);
	free(password);

	assert_int_equal(login("{\"email\":\"a@b.c\"}", &email, &password, &err),
	    400);
	assert_null(email);
	assert_non_null(strstr(err.data, "\"invalid_payload\""));
	zx_buf_reset(&err);
	assert_int_equal(login("{\"email\":1,\"password\":\"x\"}", &email,
	    &password, &err), 400);
	zx_buf_reset(&err);
	(void)snprintf(big, sizeof(big), "{\"email\":\"a\",\"password\":\"%01100d\"}",
	    0);
	assert_int_equal(login(big, &email, &password, &err), 400);
	zx_buf_reset(&err);
	assert_int_equal(login("{\"email\":", &email, &password, &err), 400);
	assert_non_null(strstr(err.data, "\"invalid_json\""));
	zx_buf_free(&err);
}

static void
test_media_type(void **state)
{
	(void)state;
	assert_true(zx_media_type_is_json("application/json"));
	assert_true(zx_media_type_is_json("Application/JSON"));
	assert_true(zx_media_type_is_json(" application/json ; charset=utf-8"));
	assert_true(zx_media_type_is_json("application/json; charset=\"UTF-8\""));
	assert_true(zx_media_type_is_json("application/json;charset=utf8"));
	assert_true(zx_media_type_is_json("application/merge-patch+json"));
	assert_false(zx_media_type_is_json(NULL));
	assert_false(zx_media_type_is_json(""));
	assert_false(zx_media_type_is_json("text/plain"));
	assert_false(zx_media_type_is_json("text/json"));
	assert_false(zx_media_type_is_json("application/jsonx"));
	assert_false(zx_media_type_is_json("application/+json"));
	assert_false(zx_media_type_is_json("application/x-www-form-urlencoded"));
	assert_false(zx_media_type_is_json("application/json; charset=latin1"));
	assert_false(zx_media_type_is_json("multipart/form-data; boundary=x"));
}

static void
test_credentials(void **state)
{
	char	out[ZX_TOKEN_MAX + 1], *long_key;

	(void)state;
	assert_int_equal(zx_credential(NULL, NULL, out, sizeof(out)), ZX_CRED_NONE);
	assert_int_equal(zx_credential("zx_abc_def", NULL, out, sizeof(out)),
	    ZX_CRED_API_KEY);
	assert_string_equal(out, "zx_abc_def");
	assert_int_equal(zx_credential(NULL, "Bearer zx_abc_def", out, sizeof(out)),
	    ZX_CRED_API_KEY);
	assert_string_equal(out, "zx_abc_def");
	assert_int_equal(zx_credential(NULL, "bearer   a.b.c  ", out, sizeof(out)),
	    ZX_CRED_JWT);
	assert_string_equal(out, "a.b.c");
	assert_int_equal(zx_credential(" zx_k", "Bearer zx_k", out, sizeof(out)),
	    ZX_CRED_API_KEY);
	/* Two different credentials, other schemes, empty or odd tokens. */
	assert_int_equal(zx_credential("zx_a", "Bearer zx_b", out, sizeof(out)),
	    ZX_CRED_BAD);
	assert_int_equal(zx_credential(NULL, "Basic dXNlcjpwYXNz", out,
	    sizeof(out)), ZX_CRED_BAD);
	assert_int_equal(zx_credential(NULL, "Bearer", out, sizeof(out)),
	    ZX_CRED_BAD);
	assert_int_equal(zx_credential(NULL, "Bearer ", out, sizeof(out)),
	    ZX_CRED_BAD);
	assert_int_equal(zx_credential("", NULL, out, sizeof(out)), ZX_CRED_BAD);
	assert_int_equal(zx_credential("zx_a b", NULL, out, sizeof(out)),
	    ZX_CRED_BAD);
	assert_int_equal(zx_credential("zx_\x01", NULL, out, sizeof(out)),
	    ZX_CRED_BAD);
	assert_int_equal(zx_credential("zx_caf\xc3\xa9", NULL, out, sizeof(out)),
	    ZX_CRED_BAD);
	assert_string_equal(out, "");

	long_key = malloc(ZX_TOKEN_MAX + 2);
	memset(long_key, 'k', ZX_TOKEN_MAX + 1);
	long_key[ZX_TOKEN_MAX + 1] = '\0';
	assert_int_equal(zx_credential(long_key, NULL, out, sizeof(out)),
	    ZX_CRED_BAD);
	long_key[ZX_TOKEN_MAX] = '\0';
	assert_int_equal(zx_credential(long_key, NULL, out, sizeof(out)),
	    ZX_CRED_API_KEY);
	free(long_key);
}

static void
test_idempotency_key(void **state)
{
	char	out[ZX_IDEM_KEY_MAX + 1], in[ZX_IDEM_KEY_MAX + 3];

	(void)state;
	assert_int_equal(zx_idempotency_key_parse("order-1", out, sizeof(out)), 0);
	assert_string_equal(out, "order-1");
	/* An sf-string's quotes are not part of the key. */
	assert_int_equal(zx_idempotency_key_parse("\"order-1\"", out, sizeof(out)),
	    0);
	assert_string_equal(out, "order-1");
	assert_int_equal(zx_idempotency_key_parse("'; DROP TABLE x; --", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "'; DROP TABLE x; --");
	assert_int_equal(zx_idempotency_key_parse("", out, sizeof(out)), -1);
	assert_int_equal(zx_idempotency_key_parse("\"\"", out, sizeof(out)), -1);
	assert_int_equal(zx_idempotency_key_parse(" x", out, sizeof(out)), -1);
	assert_int_equal(zx_idempotency_key_parse("x ", out, sizeof(out)), -1);
	assert_int_equal(zx_idempotency_key_parse("a\tb", out, sizeof(out)), -1);
	assert_int_equal(zx_idempotency_key_parse("caf\xc3\xa9", out, sizeof(out)),
	    -1);
	memset(in, 'k', sizeof(in));
	in[ZX_IDEM_KEY_MAX] = '\0';
	assert_int_equal(zx_idempotency_key_parse(in, out, sizeof(out)), 0);
	in[ZX_IDEM_KEY_MAX] = 'k';
	in[ZX_IDEM_KEY_MAX + 1] = '\0';
	assert_int_equal(zx_idempotency_key_parse(in, out, sizeof(out)), -1);
}

static void
test_path_job_id(void **state)
{
	char		 id[ZX_ID_MAX + 1], path[200];
	const char	*a;

	(void)state;
	a = zx_path_job_id("/api/pipelines/cm4x8y9z0000108l7a1b2c3d4", id, sizeof(id));
	assert_non_null(a);
	assert_string_equal(a, "");
	assert_string_equal(id, "cm4x8y9z0000108l7a1b2c3d4");
	a = zx_path_job_id("/api/pipelines/abc123/results", id, sizeof(id));
	assert_string_equal(a, "results");
	assert_string_equal(id, "abc123");
	a = zx_path_job_id("/api/pipelines/abc/cancel/extra", id, sizeof(id));
	assert_string_equal(a, "cancel/extra");

	assert_null(zx_path_job_id("/api/pipelines/", id, sizeof(id)));
	assert_null(zx_path_job_id("/api/pipelines", id, sizeof(id)));
	assert_null(zx_path_job_id("/api/pipelines/ABC", id, sizeof(id)));
	assert_null(zx_path_job_id("/api/pipelines/x'%20OR%20'1'='1", id,
	    sizeof(id)));
	assert_null(zx_path_job_id("/api/pipelines/x';DROP", id, sizeof(id)));
	assert_null(zx_path_job_id("/api/pipelines/../etc", id, sizeof(id)));
	assert_null(zx_path_job_id("/api/other/abc", id, sizeof(id)));
	/* 64 characters are an id, 65 are not. */
	(void)snprintf(path, sizeof(path), "/api/pipelines/%0*d", ZX_ID_MAX, 0);
	assert_non_null(zx_path_job_id(path, id, sizeof(id)));
	(void)snprintf(path, sizeof(path), "/api/pipelines/%0*d", ZX_ID_MAX + 1, 0);
	assert_null(zx_path_job_id(path, id, sizeof(id)));
}

static void
test_query(void **state)
{
	long	v = -99;

	(void)state;
	assert_true(zx_qs_present("status=QUEUED&limit=2", "limit"));
	assert_true(zx_qs_present("status=QUEUED&limit", "limit"));
	assert_true(zx_qs_present("limit=&x=1", "limit"));
	assert_false(zx_qs_present("limits=2", "limit"));
	assert_false(zx_qs_present("xlimit=2", "limit"));
	assert_false(zx_qs_present("", "limit"));
	assert_false(zx_qs_present(NULL, "limit"));

	assert_int_equal(zx_parse_long("42", 1, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(zx_parse_long("-5", -5, 5, &v), 0);
	assert_int_equal(v, -5);
	v = 7;
	assert_int_equal(zx_parse_long("0", 1, 100, &v), -1);
	assert_int_equal(zx_parse_long("101", 1, 100, &v), -1);
	assert_int_equal(zx_parse_long("", 1, 100, &v), -1);
	assert_int_equal(zx_parse_long(NULL, 1, 100, &v), -1);
	assert_int_equal(zx_parse_long(" 5", 1, 100, &v), -1);
	assert_int_equal(zx_parse_long("5 ", 1, 100, &v), -1);
	assert_int_equal(zx_parse_long("5a", 1, 100, &v), -1);
	assert_int_equal(zx_parse_long("0x10", 1, 100, &v), -1);
	assert_int_equal(zx_parse_long("99999999999999999999", 1, 100, &v), -1);
	assert_int_equal(v, 7);		/* untouched on failure */
}

static void
test_cursor(void **state)
{
	struct zx_buf	 b;
	char		 us[24], id[ZX_ID_MAX + 1];

	(void)state;
	zx_buf_init(&b, 64);
	zx_cursor_encode(&b, "1700000000123456", "cm4x8y9z0000108l7a1b2c3d4");
	assert_null(strpbrk(b.data, "+/="));
	assert_int_equal(zx_cursor_decode(b.data, us, sizeof(us), id, sizeof(id)), 0);
	assert_string_equal(us, "1700000000123456");
	assert_string_equal(id, "cm4x8y9z0000108l7a1b2c3d4");

	/* A changed character gives another cursor or none, never a crash. */
	b.data[3] = b.data[3] == 'A' ? 'B' : 'A';
	(void)zx_cursor_decode(b.data, us, sizeof(us), id, sizeof(id));

	assert_int_equal(zx_cursor_decode("", us, sizeof(us), id, sizeof(id)), -1);
	assert_int_equal(zx_cursor_decode("!!!!", us, sizeof(us), id, sizeof(id)),
	    -1);
	assert_int_equal(zx_cursor_decode("bm90LWEtY3Vyc29y", us, sizeof(us), id,
	    sizeof(id)), -1);			/* "not-a-cursor" */
	assert_int_equal(zx_cursor_decode("'; DROP TABLE x--", us, sizeof(us), id,
	    sizeof(id)), -1);

	/* Well-formed base64url of bad contents. */
#define DECODES(raw, want) do {						\
	zx_buf_reset(&b);						\
	zx_base64url_encode(&b, raw, sizeof(raw) - 1);			\
	assert_int_equal(zx_cursor_decode(b.data, us, sizeof(us), id,	\
	    sizeof(id)), want);						\
} while (0)
	DECODES("123:abc", 0);
	DECODES("123abc", -1);			/* no colon */
	DECODES(":abc", -1);			/* no time */
	DECODES("12a:abc", -1);
	DECODES("-12:abc", -1);
	DECODES("1234567890123456789:abc", -1);	/* 19 digits */
	DECODES("123:", -1);
	DECODES("123:ABC", -1);
	DECODES("123:a'b", -1);
	DECODES("123:a:b", -1);
	DECODES("123:a\0b", -1);
#undef DECODES
	zx_buf_free(&b);
}

static void
test_wants_csv(void **state)
{
	(void)state;
	assert_true(zx_wants_csv(NULL, "csv"));
	assert_false(zx_wants_csv("text/csv", "json"));	/* format wins */
	assert_false(zx_wants_csv(NULL, NULL));
	assert_true(zx_wants_csv("text/csv", NULL));
	assert_true(zx_wants_csv("TEXT/CSV; charset=utf-8", NULL));
	assert_false(zx_wants_csv("application/json", NULL));
	assert_false(zx_wants_csv("*/*", NULL));
	assert_false(zx_wants_csv("text/csv;q=0", NULL));
	assert_false(zx_wants_csv("text/csv;q=0.5, application/json", NULL));
	assert_true(zx_wants_csv("text/csv, application/json;q=0.9", NULL));
	assert_true(zx_wants_csv("application/json;q=0.1, text/csv;q=0.2", NULL));
	assert_false(zx_wants_csv("text/csvx", NULL));
}

static void
test_iso8601(void **state)
{
	char	out[40];

	(void)state;
	zx_iso8601(0, out, sizeof(out));
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	zx_iso8601(1700000000, out, sizeof(out));
	assert_string_equal(out, "2023-11-14T22:13:20.000Z");
	zx_iso8601(951782400, out, sizeof(out));	/* a leap day */
	assert_string_equal(out, "2000-02-29T00:00:00.000Z");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_ok),
		cmocka_unit_test(test_body_size),
		cmocka_unit_test(test_body_text),
		cmocka_unit_test(test_body_json),
		cmocka_unit_test(test_body_depth),
		cmocka_unit_test(test_body_not_object),
		cmocka_unit_test(test_body_options),
		cmocka_unit_test(test_login_body),
		cmocka_unit_test(test_media_type),
		cmocka_unit_test(test_credentials),
		cmocka_unit_test(test_idempotency_key),
		cmocka_unit_test(test_path_job_id),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_cursor),
		cmocka_unit_test(test_wants_csv),
		cmocka_unit_test(test_iso8601),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
