/*
 * test_app_json.c — the app's RFC 8259 check (kore-app/src/json_check.c): every value kind,
 * the leniencies json-c has and PostgreSQL does not (single quotes, "1.", lone surrogates,
 * \u0000), numbers, escapes, depth, truncation and trailing text, with the error offset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json_check.h"

struct jcase {
	const char		*text;
	enum zx_json_status	 want;
	size_t			 at;		/* checked when want != OK */
};

static void
run_cases(const struct jcase *c, size_t n, int depth)
{
	enum zx_json_status	r;
	size_t			i, at;

	for (i = 0; i < n; i++) {
		at = 999;
		r = zx_json_check(c[i].text, strlen(c[i].text), depth, &at, NULL);
		if (r != c[i].want)
			fail_msg("%s: got %d (%s), want %d", c[i].text, r,
			    zx_json_strerror(r), c[i].want);
		if (r != ZX_JC_OK && at != c[i].at)
			fail_msg("%s: error at %zu, want %zu", c[i].text, at, c[i].at);
	}
}

static void
test_valid(void **state)
{
	static const struct jcase c[] = {
		{ "{}", ZX_JC_OK, 0 },
		{ " \t\r\n{ } \n", ZX_JC_OK, 0 },
		{ "[]", ZX_JC_OK, 0 },
		{ "\"s\"", ZX_JC_OK, 0 },
		{ "0", ZX_JC_OK, 0 },
		{ "-0", ZX_JC_OK, 0 },
		{ "true", ZX_JC_OK, 0 },
		{ "null", ZX_JC_OK, 0 },
		{ "{\"a\":[1,-2.5,3e10,4E-2,0.5e+3,true,false,null,\"x\"],\"b\":{}}",
		    ZX_JC_OK, 0 },
		{ "{\"esc\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00\"}",
		    ZX_JC_OK, 0 },
		{ "{\"utf8\":\"caf\xc3\xa9\"}", ZX_JC_OK, 0 },
		{ "{\"big\":1e400,\"long\":123456789012345678901234567890}", ZX_JC_OK,
		    0 },
		{ "{\"a\" : 1 , \"a\" : 2}", ZX_JC_OK, 0 },	/* duplicates: jsonb's call */
	};

	(void)state;
	run_cases(c, sizeof(c) / sizeof(c[0]), 32);
}

static void
test_invalid(void **state)
{
	static const struct jcase c[] = {
		/* What json-c's strict mode lets through. */
		{ "{'a':1}", ZX_JC_SYNTAX, 1 },
		{ "{\"a\":1.}", ZX_JC_NUMBER, 7 },
		{ "{\"a\":1.", ZX_JC_TRUNCATED, 7 },
		{ "{\"a\":\"\\ud800\"}", ZX_JC_ESCAPE, 12 },
		{ "{\"a\":\"\\udc00\"}", ZX_JC_ESCAPE, 12 },
		{ "{\"a\":\"\\ud800\\u0041\"}", ZX_JC_ESCAPE, 18 },
		{ "{\"a\":\"\\u0000\"}", ZX_JC_ESCAPE, 12 },
		/* Numbers. */
		{ "{\"a\":NaN}", ZX_JC_NUMBER, 5 },
		{ "{\"a\":Infinity}", ZX_JC_NUMBER, 5 },
		{ "{\"a\":-Infinity}", ZX_JC_NUMBER, 6 },
		{ "{\"a\":+1}", ZX_JC_NUMBER, 5 },
		{ "{\"a\":.5}", ZX_JC_NUMBER, 5 },
		{ "{\"a\":01}", ZX_JC_NUMBER, 6 },
		{ "{\"a\":1e}", ZX_JC_NUMBER, 7 },
		{ "{\"a\":1e+}", ZX_JC_NUMBER, 8 },
		{ "{\"a\":0x10}", ZX_JC_SYNTAX, 6 },
		/* Strings and escapes. */
		{ "{\"a\":\"tab\there\"}", ZX_JC_CONTROL, 9 },
		{ "{\"a\":\"\\x\"}", ZX_JC_ESCAPE, 7 },
		{ "{\"a\":\"\\u12g4\"}", ZX_JC_ESCAPE, 10 },
		{ "{a:1}", ZX_JC_SYNTAX, 1 },
		/* Structure. */
		{ "{\"a\":1,}", ZX_JC_SYNTAX, 7 },
		{ "[1,]", ZX_JC_SYNTAX, 3 },
		{ "{\"a\" 1}", ZX_JC_SYNTAX, 5 },
		{ "{\"a\":1 \"b\":2}", ZX_JC_SYNTAX, 7 },
		{ "{\"a\":1 /* c */}", ZX_JC_SYNTAX, 7 },
		{ "{\"a\":tru}", ZX_JC_SYNTAX, 8 },
		{ "{\"a\":True}", ZX_JC_SYNTAX, 5 },
		{ "{\"a\":1}}", ZX_JC_TRAILING, 7 },
		{ "{} x", ZX_JC_TRAILING, 3 },
		{ "{}{}", ZX_JC_TRAILING, 2 },
		{ "", ZX_JC_TRUNCATED, 0 },
		{ "   ", ZX_JC_TRUNCATED, 3 },
		/* Truncated anywhere. */
		{ "{", ZX_JC_TRUNCATED, 1 },
		{ "{\"a", ZX_JC_TRUNCATED, 3 },
		{ "{\"a\"", ZX_JC_TRUNCATED, 4 },
		{ "{\"a\":", ZX_JC_TRUNCATED, 5 },
		{ "{\"a\":[1,", ZX_JC_TRUNCATED, 8 },
		{ "{\"a\":-", ZX_JC_TRUNCATED, 6 },
		{ "{\"a\":\"\\", ZX_JC_TRUNCATED, 7 },
		{ "{\"a\":\"\\u12", ZX_JC_TRUNCATED, 10 },
		{ "{\"a\":\"\\ud83d", ZX_JC_TRUNCATED, 12 },
		{ "{\"a\":nul", ZX_JC_TRUNCATED, 8 },
		{ "{\"a\":1", ZX_JC_TRUNCATED, 6 },
	};

	(void)state;
	run_cases(c, sizeof(c) / sizeof(c[0]), 32);
}

static void
test_depth(void **state)
{
	char			*s;
	size_t			 n = 100000, at;

	(void)state;
	/* Depth 3 allows {"a":[[1]]} but not one more level. */
	{
		static const struct jcase c[] = {
			{ "{\"a\":[[1]]}", ZX_JC_OK, 0 },
			{ "{\"a\":[[[1]]]}", ZX_JC_TOO_DEEP, 7 },
			{ "[[[{}]]]", ZX_JC_TOO_DEEP, 3 },
		};

		run_cases(c, sizeof(c) / sizeof(c[0]), 3);
	}
	/* 100000 '[' stop at the limit: no deep recursion, no crash. */
	s = malloc(n);
	memset(s, '[', n);
	assert_int_equal(zx_json_check(s, n, 32, &at, NULL), ZX_JC_TOO_DEEP);
	assert_int_equal(at, 32);
	free(s);
}

static void
test_messages(void **state)
{
	int	r, k;

	(void)state;
	for (r = ZX_JC_OK; r <= ZX_JC_TRAILING; r++) {
		for (k = ZX_JC_OK; k < r; k++)
			assert_string_not_equal(zx_json_strerror(r), zx_json_strerror(k));
	}
	assert_non_null(strstr(zx_json_strerror(ZX_JC_NUMBER), "NaN"));
}

/* Name/value pairs as written, in every object: what a parser that keeps one per name drops. */
static void
test_members(void **state)
{
	static const struct {
		const char	*text;
		size_t		 members;
	} c[] = {
		{"{}", 0}, {"[]", 0}, {"1", 0}, {"\"a:b\"", 0},
		{"{\"a\":1}", 1},
		{"{\"a\":1,\"a\":2}", 2},
		{"{\"a\":{\"b\":[{\"c\":1,\"d\":2}]},\"e\":[1,{}]}", 5},
		{"{\"ticker\":\"DAX\",\"\\u0074icker\":\"CAC\"}", 2},
		{"[{\"x\":1},{\"x\":1}]", 2},
	};
	size_t	i, at, n;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		n = 99;
		assert_int_equal(zx_json_check(c[i].text, strlen(c[i].text), 8,
		    &at, &n), ZX_JC_OK);
		if (n != c[i].members)
			fail_msg("%s: %zu members, want %zu", c[i].text, n,
			    c[i].members);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_members),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
