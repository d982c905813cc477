/*
 * test_jwt.c — the dashboard's HS256 tokens (kore-app/src/jwt.c) against RFC 7519 and the
 * RFC 8725 practices: a sign/verify round trip, exp/nbf/iat with the leeway at its edges,
 * tampered signatures and payloads, the algorithm pinned (none, RS256, HS512, lower case),
 * required claims, iss/aud, crit and typ headers, malformed parts and over-long tokens.
 *
 * Tokens under test are built here from raw JSON with OpenSSL's HMAC, independently of
 * zx_jwt_sign, so a header or payload can say anything an attacker could send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "buf.h"
#include "jwt.h"

#define NOW	INT64_C(1700000000)

static const char secret[] = "unit-test-secret-0123456789abcdef!!";

static const struct zx_jwt_config cfg = {
	(const unsigned char *)secret, sizeof(secret) - 1, "zixly", "zixly-dashboard"
};

/* base64url(header).base64url(payload).base64url(HMAC-SHA256 with key), malloc'd. */
static char *
make_token_key(const char *header, const char *payload, const char *key)
{
	struct zx_buf	b;
	unsigned char	mac[32];
	unsigned int	maclen = 0;

	zx_buf_init(&b, 256);
	zx_base64url_encode(&b, header, strlen(header));
	zx_buf_append(&b, ".", 1);
	zx_base64url_encode(&b, payload, strlen(payload));
	assert_non_null(HMAC(EVP_sha256(), key, (int)strlen(key),
	    (const unsigned char *)b.data, b.len, mac, &maclen));
	assert_int_equal(maclen, 32);
	zx_buf_append(&b, ".", 1);
	zx_base64url_encode(&b, mac, sizeof(mac));
	return (b.data);
}

static char *
make_token(const char *header, const char *payload)
{
	return (make_token_key(header, payload, secret));
}

/* A standard payload with exp and iat relative to NOW, plus extra members. */
static char *
payload_with(int64_t iat, int64_t exp, const char *extra)
{
	char	*p;

	assert_true(asprintf(&p, "{\"iss\":\"zixly\",\"aud\":\"zixly-dashboard\","
	    "\"sub\":\"user-1\",\"tid\":\"acme\",\"email\":\"a@acme.test\","
	    "\"iat\":%lld,\"exp\":%lld%s}", (long long)iat, (long long)exp,
	    extra) > 0);
	return (p);
}

static enum zx_jwt_result
verify_parts(const char *header, const char *payload, struct zx_jwt_claims *c)
{
	char			*tok = make_token(header, payload);
	enum zx_jwt_result	 r;

	r = zx_jwt_verify(&cfg, tok, NOW, c);
	free(tok);
	return (r);
}

/* Verifies header + payload_with(iat, exp, extra). */
static enum zx_jwt_result
verify_claims(int64_t iat, int64_t exp, const char *extra)
{
	struct zx_jwt_claims	 c;
	char			*p = payload_with(iat, exp, extra);
	enum zx_jwt_result	 r;

	r = verify_parts("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", p, &c);
	free(p);
	return (r);
}

static void
test_round_trip(void **state)
{
	struct zx_jwt_claims	 in, out;
	char			*tok;

	(void)state;
	memset(&in, 0, sizeof(in));
	strcpy(in.sub, "user-42");
	strcpy(in.tid, "tenant-7");
	strcpy(in.email, "bob@example.test");
	in.iat = NOW;
	in.exp = NOW + 3600;
	tok = zx_jwt_sign(&cfg, &in);
	assert_non_null(tok);
	assert_true(zx_jwt_shaped(tok));
	assert_int_equal(zx_jwt_verify(&cfg, tok, NOW + 10, &out), ZX_JWT_OK);
	assert_string_equal(out.sub, "user-42");
	assert_string_equal(out.tid, "tenant-7");
	assert_string_equal(out.email, "bob@example.test");
	assert_int_equal(out.exp, NOW + 3600);
	assert_int_equal(out.iat, NOW);

	/* The header is exactly HS256/JWT. */
	{
		struct zx_buf	h;
		const char	*dot = strchr(tok, '.');

		zx_buf_init(&h, 64);
		assert_int_equal(zx_base64url_decode(tok, (size_t)(dot - tok), &h), 0);
		assert_string_equal(h.data, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
		zx_buf_free(&h);
	}

	/* Another key does not verify it. */
	{
		static const char	other[] = "another-secret-another-secret-0123";
		struct zx_jwt_config	c2 = cfg;

		c2.secret = (const unsigned char *)other;
		c2.secret_len = sizeof(other) - 1;
		assert_int_equal(zx_jwt_verify(&c2, tok, NOW, &out),
		    ZX_JWT_BAD_SIGNATURE);
		assert_string_equal(out.tid, "");	/* cleared on failure */
	}
	free(tok);
}

static void
test_sign_refuses_short_secret(void **state)
{
	struct zx_jwt_config	short_cfg = cfg;
	struct zx_jwt_claims	c;

	(void)state;
	memset(&c, 0, sizeof(c));
	strcpy(c.sub, "u");
	strcpy(c.tid, "t");
	c.exp = NOW + 60;
	short_cfg.secret_len = ZX_JWT_MIN_SECRET - 1;
	assert_null(zx_jwt_sign(&short_cfg, &c));
}

static void
test_expiry(void **state)
{
	(void)state;
	assert_int_equal(verify_claims(NOW - 600, NOW + 1, ""), ZX_JWT_OK);
	/* Expired, but within the leeway. */
	assert_int_equal(verify_claims(NOW - 600, NOW - ZX_JWT_LEEWAY + 1, ""),
	    ZX_JWT_OK);
	/* At and beyond exp + leeway. */
	assert_int_equal(verify_claims(NOW - 600, NOW - ZX_JWT_LEEWAY, ""),
	    ZX_JWT_EXPIRED);
	assert_int_equal(verify_claims(NOW - 7200, NOW - 3600, ""),
	    ZX_JWT_EXPIRED);
	/* A float NumericDate is accepted (truncated). */
	assert_int_equal(verify_claims(NOW, NOW, ".5,\"x\":1"), ZX_JWT_OK);
}

static void
test_not_yet_valid(void **state)
{
	char	extra[64];

	(void)state;
	/* iat in the future: within the leeway, then beyond it. */
	assert_int_equal(verify_claims(NOW + ZX_JWT_LEEWAY, NOW + 600, ""),
	    ZX_JWT_OK);
	assert_int_equal(verify_claims(NOW + ZX_JWT_LEEWAY + 1, NOW + 600, ""),
	    ZX_JWT_NOT_YET_VALID);
	/* nbf likewise. */
	(void)snprintf(extra, sizeof(extra), ",\"nbf\":%lld",
	    (long long)(NOW + ZX_JWT_LEEWAY));
	assert_int_equal(verify_claims(NOW, NOW + 600, extra), ZX_JWT_OK);
	(void)snprintf(extra, sizeof(extra), ",\"nbf\":%lld",
	    (long long)(NOW + 3600));
	assert_int_equal(verify_claims(NOW, NOW + 600, extra),
	    ZX_JWT_NOT_YET_VALID);
	/* A mistyped nbf is refused, not ignored. */
	assert_int_equal(verify_claims(NOW, NOW + 600, ",\"nbf\":\"soon\""),
	    ZX_JWT_NOT_YET_VALID);
}

static void
test_tampered(void **state)
{
	struct zx_jwt_claims	 c;
	char			*p, *tok, *other, *forged;
	size_t			 len;

	(void)state;
	p = payload_with(NOW, NOW + 600, "");
	tok = make_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", p);
	assert_int_equal(zx_jwt_verify(&cfg, tok, NOW, &c), ZX_JWT_OK);

	/* One signature character changed. */
	len = strlen(tok);
	tok[len - 2] = tok[len - 2] == 'A' ? 'B' : 'A';
	assert_int_equal(zx_jwt_verify(&cfg, tok, NOW, &c), ZX_JWT_BAD_SIGNATURE);
	tok[len - 2] = tok[len - 2] == 'A' ? 'B' : 'A';

	/* The signature cut short, or missing. */
	tok[len - 4] = '\0';
	assert_int_equal(zx_jwt_verify(&cfg, tok, NOW, &c), ZX_JWT_BAD_SIGNATURE);
	*(strrchr(tok, '.') + 1) = '\0';
	assert_int_equal(zx_jwt_verify(&cfg, tok, NOW, &c), ZX_JWT_BAD_SIGNATURE);
	free(tok);

	/* The payload swapped for another tenant's, the signature kept. */
	tok = make_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", p);
	other = make_token("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
	    "{\"iss\":\"zixly\",\"aud\":\"zixly-dashboard\",\"sub\":\"user-1\","
	    "\"tid\":\"globex\",\"exp\":1800000000}");
	*strrchr(other, '.') = '\0';
	assert_true(asprintf(&forged, "%s%s", other, strrchr(tok, '.')) > 0);
	assert_int_equal(zx_jwt_verify(&cfg, forged, NOW, &c),
	    ZX_JWT_BAD_SIGNATURE);
	assert_string_equal(c.tid, "");
	free(forged);
	free(other);
	free(tok);
	free(p);
}

static void
test_algorithm_pinned(void **state)
{
	static const char *const headers[] = {
		"{\"alg\":\"none\",\"typ\":\"JWT\"}",
		"{\"alg\":\"None\"}",
		"{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
		"{\"alg\":\"HS512\"}",
		"{\"alg\":\"hs256\"}",
		"{\"alg\":\"HS256 \"}",
		"{\"typ\":\"JWT\"}",
		"{\"alg\":null}",
		"{\"alg\":[\"HS256\"]}",
	};
	struct zx_jwt_claims	 c;
	struct zx_buf		 b;
	char			*p;
	size_t			 i;

	(void)state;
	p = payload_with(NOW, NOW + 600, "");
	/* Every one correctly HMAC'd with our key: the header alone fails it. */
	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		if (verify_parts(headers[i], p, &c) != ZX_JWT_BAD_ALG)
			fail_msg("header %s was not refused as BAD_ALG", headers[i]);
	}

	/* The classic alg:none token: no signature at all. */
	zx_buf_init(&b, 256);
	zx_base64url_encode(&b, "{\"alg\":\"none\"}", 14);
	zx_buf_append(&b, ".", 1);
	zx_base64url_encode(&b, p, strlen(p));
	zx_buf_append(&b, ".", 1);
	assert_int_equal(zx_jwt_verify(&cfg, b.data, NOW, &c), ZX_JWT_BAD_ALG);
	zx_buf_free(&b);
	free(p);
}

static void
test_header_checks(void **state)
{
	struct zx_jwt_claims	 c;
	char			*p;

	(void)state;
	p = payload_with(NOW, NOW + 600, "");
	assert_int_equal(verify_parts("{\"alg\":\"HS256\"}", p, &c), ZX_JWT_OK);
	assert_int_equal(verify_parts("{\"alg\":\"HS256\",\"typ\":\"jwt\"}", p, &c),
	    ZX_JWT_OK);
	assert_int_equal(verify_parts("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", p,
	    &c), ZX_JWT_BAD_HEADER);
	assert_int_equal(verify_parts("{\"alg\":\"HS256\",\"crit\":[]}", p, &c),
	    ZX_JWT_BAD_HEADER);
	assert_int_equal(verify_parts("{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", p,
	    &c), ZX_JWT_BAD_HEADER);
	assert_int_equal(verify_parts("{\"alg\":\"HS256\",\"typ\":1}", p, &c),
	    ZX_JWT_BAD_HEADER);
	free(p);
}

static void
test_required_claims(void **state)
{
	static const struct {
		const char		*payload;
		enum zx_jwt_result	 want;
	} cases[] = {
		{ "{\"iss\":\"zixly\",\"aud\":\"zixly-dashboard\",\"sub\":\"u\","
		  "\"tid\":\"t\"}", ZX_JWT_MISSING_CLAIM },		/* no exp */
		{ "{\"iss\":\"zixly\",\"aud\":\"zixly-dashboard\",\"tid\":\"t\","
		  "\"exp\":1800000000}", ZX_JWT_MISSING_CLAIM },	/* no sub */
		{ "{\"iss\":\"zixly\",\"aud\":\"zixly-dashboard\",\"sub\":\"u\","
		  "\"exp\":1800000000}", ZX_JWT_MISSING_CLAIM },	/* no tid */
		{ "{\"iss\":\"zixly\",\"aud\":\"zixly-dashboard\",\"sub\":\"u\","
		  "\"tid\":\"t\",\"exp\":\"1800000000\"}", ZX_JWT_MISSING_CLAIM },
		{ "{\"iss\":\"zixly\",\"aud\":\"zixly-dashboard\",\"sub\":\"\","
		  "\"tid\":\"t\",\"exp\":1800000000}", ZX_JWT_MISSING_CLAIM },
		{ "{\"iss\":\"zixly\",\"aud\":\"zixly-dashboard\",\"sub\":\"u\","
		  "\"tid\":7,\"exp\":1800000000}", ZX_JWT_MISSING_CLAIM },
		{ "{\"iss\":\"zixly\",\"aud\":\"zixly-dashboard\",\"sub\":\"u\","
		  "\"tid\":\"t\\n\",\"exp\":1800000000}", ZX_JWT_MISSING_CLAIM },
		{ "{\"iss\":\"zixly\",\"aud\":\"zixly-dashboard\",\"sub\":\"u\","
		  "\"tid\":\"t\",\"email\":[],\"exp\":1800000000}",
		  ZX_JWT_MISSING_CLAIM },
		/* iss and aud */
		{ "{\"aud\":\"zixly-dashboard\",\"sub\":\"u\",\"tid\":\"t\","
		  "\"exp\":1800000000}", ZX_JWT_BAD_ISSUER },
		{ "{\"iss\":\"evil\",\"aud\":\"zixly-dashboard\",\"sub\":\"u\","
		  "\"tid\":\"t\",\"exp\":1800000000}", ZX_JWT_BAD_ISSUER },
		{ "{\"iss\":\"zixly\",\"sub\":\"u\",\"tid\":\"t\","
		  "\"exp\":1800000000}", ZX_JWT_BAD_AUDIENCE },
		{ "{\"iss\":\"zixly\",\"aud\":\"zixly-api\",\"sub\":\"u\","
		  "\"tid\":\"t\",\"exp\":1800000000}", ZX_JWT_BAD_AUDIENCE },
		{ "{\"iss\":\"zixly\",\"aud\":[\"a\",\"b\"],\"sub\":\"u\","
		  "\"tid\":\"t\",\"exp\":1800000000}", ZX_JWT_BAD_AUDIENCE },
		{ "{\"iss\":\"zixly\",\"aud\":[\"a\",\"zixly-dashboard\"],"
		  "\"sub\":\"u\",\"tid\":\"t\",\"exp\":1800000000}", ZX_JWT_OK },
		/* no email is fine */
		{ "{\"iss\":\"zixly\",\"aud\":\"zixly-dashboard\",\"sub\":\"u\","
		  "\"tid\":\"t\",\"exp\":1800000000}", ZX_JWT_OK },
	};
	struct zx_jwt_claims	c;
	enum zx_jwt_result	r;
	size_t			i;

	char			tid[ZX_JWT_ID_MAX + 2], payload[256];

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = verify_parts("{\"alg\":\"HS256\"}", cases[i].payload, &c);
		if (r != cases[i].want)
			fail_msg("payload %s: got %d (%s), want %d", cases[i].payload,
			    r, zx_jwt_strerror(r), cases[i].want);
	}

	/* Tenant ids up to ZX_JWT_ID_MAX characters; one more is refused. */
	memset(tid, 't', sizeof(tid) - 1);
	tid[sizeof(tid) - 1] = '\0';
	(void)snprintf(payload, sizeof(payload), "{\"iss\":\"zixly\",\"aud\":"
	    "\"zixly-dashboard\",\"sub\":\"u\",\"tid\":\"%s\",\"exp\":1800000000}",
	    tid);
	assert_int_equal(verify_parts("{\"alg\":\"HS256\"}", payload, &c),
	    ZX_JWT_MISSING_CLAIM);
	tid[ZX_JWT_ID_MAX] = '\0';
	(void)snprintf(payload, sizeof(payload), "{\"iss\":\"zixly\",\"aud\":"
	    "\"zixly-dashboard\",\"sub\":\"u\",\"tid\":\"%s\",\"exp\":1800000000}",
	    tid);
	assert_int_equal(verify_parts("{\"alg\":\"HS256\"}", payload, &c),
	    ZX_JWT_OK);
	assert_int_equal(strlen(c.tid), ZX_JWT_ID_MAX);
}

static void
test_malformed(void **state)
{
	static const char *const raw[] = {
		"", "abc", "a.b", "a.b.c.d", "..", "a*b.c.d",
		"e30=.e30.AAAA", "eyJhbGciOiJIUzI1NiJ9 .e30.AAAA",
	};
	struct zx_jwt_claims	 c;
	char			*p;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		if (zx_jwt_verify(&cfg, raw[i], NOW, &c) != ZX_JWT_MALFORMED)
			fail_msg("token \"%s\" was not refused as MALFORMED", raw[i]);
	}
	/* Header not JSON, an array, with trailing text, deeply nested. */
	p = payload_with(NOW, NOW + 600, "");
	assert_int_equal(verify_parts("not json", p, &c), ZX_JWT_MALFORMED);
	assert_int_equal(verify_parts("[\"HS256\"]", p, &c), ZX_JWT_MALFORMED);
	assert_int_equal(verify_parts("{\"alg\":\"HS256\"} x", p, &c),
	    ZX_JWT_MALFORMED);
	assert_int_equal(verify_parts("{\"alg\":\"HS256\",\"x\":[[[[[[[[[[1]]]]]]]]]]}",
	    p, &c), ZX_JWT_MALFORMED);
	free(p);
	/* A correctly signed payload that is not JSON, or invalid UTF-8. */
	assert_int_equal(verify_parts("{\"alg\":\"HS256\"}", "{\"exp\":", &c),
	    ZX_JWT_MALFORMED);
	assert_int_equal(verify_parts("{\"alg\":\"HS256\"}", "\"a string\"", &c),
	    ZX_JWT_MALFORMED);
	assert_int_equal(verify_parts("{\"alg\":\"HS256\"}",
	    "{\"sub\":\"\xff\xfe\"}", &c), ZX_JWT_MALFORMED);
	/* base64url with non-zero unused bits (not canonical) */
	assert_int_equal(zx_jwt_verify(&cfg, "e31.e30.AAAA", NOW, &c),
	    ZX_JWT_MALFORMED);
}

static void
test_over_long(void **state)
{
	struct zx_jwt_claims	 c;
	char			*pad, *extra, *p, *tok;

	(void)state;
	/* Correctly signed and otherwise valid, but longer than ZX_JWT_MAX_LEN. */
	pad = malloc(ZX_JWT_MAX_LEN);
	memset(pad, 'x', ZX_JWT_MAX_LEN - 1);
	pad[ZX_JWT_MAX_LEN - 1] = '\0';
	assert_true(asprintf(&extra, ",\"pad\":\"%s\"", pad) > 0);
	p = payload_with(NOW, NOW + 600, extra);
	tok = make_token("{\"alg\":\"HS256\"}", p);
	assert_true(strlen(tok) > ZX_JWT_MAX_LEN);
	assert_int_equal(zx_jwt_verify(&cfg, tok, NOW, &c), ZX_JWT_MALFORMED);
	free(tok);
	free(p);
	free(extra);

	/* The same with a short pad is fine: the length alone decided. */
	assert_true(asprintf(&extra, ",\"pad\":\"%.100s\"", pad) > 0);
	p = payload_with(NOW, NOW + 600, extra);
	tok = make_token("{\"alg\":\"HS256\"}", p);
	assert_int_equal(zx_jwt_verify(&cfg, tok, NOW, &c), ZX_JWT_OK);
	free(tok);
	free(p);
	free(extra);
	free(pad);
}

static void
test_shape_and_messages(void **state)
{
	int	r, k;

	(void)state;
	assert_true(zx_jwt_shaped("a.b.c"));
	assert_true(zx_jwt_shaped(".."));
	assert_false(zx_jwt_shaped("zx_abc_def"));
	assert_false(zx_jwt_shaped("a.b"));
	assert_false(zx_jwt_shaped("a.b.c.d"));
	/* Every result has its own message. */
	for (r = ZX_JWT_OK; r <= ZX_JWT_BAD_AUDIENCE; r++) {
		for (k = ZX_JWT_OK; k < r; k++) {
			assert_string_not_equal(zx_jwt_strerror((enum zx_jwt_result)r),
			    zx_jwt_strerror((enum zx_jwt_result)k));
		}
	}
	assert_non_null(strstr(zx_jwt_strerror(ZX_JWT_EXPIRED), "expired"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_sign_refuses_short_secret),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_not_yet_valid),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_algorithm_pinned),
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_required_claims),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_over_long),
		cmocka_unit_test(test_shape_and_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
