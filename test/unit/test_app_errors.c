/*
 * test_app_errors.c — the app's JSON error bodies and how PostgreSQL errors become HTTP
 * answers (kore-app/src/errors.c): the extension's 22023 with one details entry per DETAIL
 * line, other data errors, not found, conflicts, permissions, a lost or overloaded database
 * (503) and everything else (500 that leaks nothing).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <json-c/json.h>

#include "buf.h"
#include "errors.h"

/* Maps e and parses the body, which must be {"error","message"[,"details"]}. */
static struct json_object *
map(const char *sqlstate, const char *message, const char *detail,
    const char *column, int *status)
{
	struct zx_pgerr		 e = { sqlstate, message, detail, column };
	struct zx_buf		 b;
	struct json_object	*o, *v;

	zx_buf_init(&b, 128);
	*status = zx_pgerr_map(&e, &b);
	o = json_tokener_parse(b.data);
	if (o == NULL)
		fail_msg("not JSON: %s", b.data);
	assert_true(json_object_object_get_ex(o, "error", &v));
	assert_true(json_object_is_type(v, json_type_string));
	assert_true(json_object_object_get_ex(o, "message", &v));
	assert_true(json_object_is_type(v, json_type_string));
	zx_buf_free(&b);
	return (o);
}

static const char *
member(struct json_object *o, const char *name)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, name, &v))
		return (NULL);
	return (json_object_is_type(v, json_type_null) ? "null" :
	    json_object_get_string(v));
}

static struct json_object *
detail_at(struct json_object *o, size_t i)
{
	struct json_object	*d;

	assert_true(json_object_object_get_ex(o, "details", &d));
	assert_true(json_object_is_type(d, json_type_array));
	assert_true(i < json_object_array_length(d));
	return (json_object_array_get_idx(d, i));
}

static size_t
details_len(struct json_object *o)
{
	struct json_object	*d;

	if (!json_object_object_get_ex(o, "details", &d))
		return (0);
	return (json_object_array_length(d));
}

static void
test_validation_details(void **state)
{
	struct json_object	*o;
	int			 st;

	(void)state;
	o = map("22023", "invalid trading-sweep parameter strategy_type: must be "
	    "one of SMA, EMA, MACD",
	    "strategy_type: must be one of SMA, EMA, MACD\n"
	    "fast_range: the low end (20) is above the high end (10)\n"
	    "\n"
	    "step: must be an integer from 1 to 1000", "strategy_type", &st);
	assert_int_equal(st, 400);
	assert_string_equal(member(o, "error"), "invalid_payload");
	assert_non_null(strstr(member(o, "message"), "strategy_type"));
	assert_int_equal(details_len(o), 3);	/* the empty line is skipped */
	assert_string_equal(member(detail_at(o, 0), "field"), "strategy_type");
	assert_string_equal(member(detail_at(o, 0), "message"),
	    "must be one of SMA, EMA, MACD");
	assert_string_equal(member(detail_at(o, 1), "field"), "fast_range");
	assert_string_equal(member(detail_at(o, 1), "message"),
	    "the low end (20) is above the high end (10)");
	assert_string_equal(member(detail_at(o, 2), "field"), "step");
	json_object_put(o);

	/* A line without "field: " keeps its text with a null field. */
	o = map("22023", "bad", "something odd\nticker: \"quoted\" value", NULL, &st);
	assert_int_equal(st, 400);
	assert_int_equal(details_len(o), 2);
	assert_string_equal(member(detail_at(o, 0), "field"), "null");
	assert_string_equal(member(detail_at(o, 0), "message"), "something odd");
	assert_string_equal(member(detail_at(o, 1), "message"), "\"quoted\" value");
	json_object_put(o);

	/* No DETAIL: one entry from the column name and the message. */
	o = map("22023", "ticker must be a string", NULL, "ticker", &st);
	assert_int_equal(details_len(o), 1);
	assert_string_equal(member(detail_at(o, 0), "field"), "ticker");
	assert_string_equal(member(detail_at(o, 0), "message"),
	    "ticker must be a string");
	json_object_put(o);
	o = map("22023", "no column", "", NULL, &st);
	assert_int_equal(details_len(o), 1);
	assert_string_equal(member(detail_at(o, 0), "field"), "null");
	json_object_put(o);
}

static void
test_statuses(void **state)
{
	static const struct {
		const char	*sqlstate;
		int		 status;
		const char	*code;
		int		 has_details;
	} cases[] = {
		{ "22P02", 400, "invalid_payload", 0 },	/* bad jsonb text */
		{ "22003", 400, "invalid_payload", 0 },	/* out of range */
		{ "22P05", 400, "invalid_payload", 0 },	/* \u0000 in text */
		{ "P0002", 404, "not_found", 0 },
		{ "55000", 409, "conflict", 0 },
		{ "23505", 409, "conflict", 0 },
		{ "42501", 403, "forbidden", 0 },
		{ "08006", 503, "service_unavailable", 0 },
		{ "08001", 503, "service_unavailable", 0 },
		{ "57P01", 503, "service_unavailable", 0 },
		{ "57P03", 503, "service_unavailable", 0 },
		{ "53300", 503, "service_unavailable", 0 },	/* too many connections */
		{ "57014", 503, "service_unavailable", 0 },	/* statement timeout */
		{ "40001", 503, "service_unavailable", 0 },
		{ "40P01", 503, "service_unavailable", 0 },
		{ NULL, 503, "service_unavailable", 0 },	/* no connection at all */
		{ "XX000", 500, "internal_error", 0 },
		{ "42P01", 500, "internal_error", 0 },
		{ "42883", 500, "internal_error", 0 },
	};
	struct json_object	*o;
	size_t			 i;
	int			 st;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o = map(cases[i].sqlstate, "relation \"zixly.secret\" does not exist",
		    NULL, NULL, &st);
		if (st != cases[i].status)
			fail_msg("SQLSTATE %s: %d, want %d", cases[i].sqlstate ?
			    cases[i].sqlstate : "(none)", st, cases[i].status);
		assert_string_equal(member(o, "error"), cases[i].code);
		assert_int_equal(details_len(o) > 0, cases[i].has_details);
		/* Internals never leak into 403, 500 and 503 answers. */
		if (st == 403 || st >= 500)
			assert_null(strstr(member(o, "message"), "zixly.secret"));
		json_object_put(o);
	}
	/* The messages that clients may see come through (404, 409). */
	o = map("55000", "job x is CANCELLED and cannot be cancelled", NULL, NULL,
	    &st);
	assert_string_equal(member(o, "message"),
	    "job x is CANCELLED and cannot be cancelled");
	json_object_put(o);
	/* A NULL message does not crash. */
	o = map("P0002", NULL, NULL, NULL, &st);
	assert_int_equal(st, 404);
	json_object_put(o);
}

static void
test_conn_lost(void **state)
{
	(void)state;
	assert_true(zx_pgerr_conn_lost(NULL));
	assert_true(zx_pgerr_conn_lost("08006"));
	assert_true(zx_pgerr_conn_lost("08003"));
	assert_true(zx_pgerr_conn_lost("57P01"));
	assert_true(zx_pgerr_conn_lost("57P02"));
	assert_true(zx_pgerr_conn_lost("57P03"));
	assert_false(zx_pgerr_conn_lost("57014"));	/* the query, not the link */
	assert_false(zx_pgerr_conn_lost("22023"));
	assert_false(zx_pgerr_conn_lost("53300"));
}

static void
test_error_body(void **state)
{
	struct zx_buf	b;

	(void)state;
	zx_buf_init(&b, 64);
	zx_error_body(&b, "not_found", "no such job", NULL);
	assert_string_equal(b.data, "{\"error\":\"not_found\",\"message\":\"no such job\"}");
	zx_buf_reset(&b);
	zx_error_body(&b, "invalid_payload", "a \"quoted\"\nline\\",
	    "[{\"field\":\"x\",\"message\":\"y\"}]");
	assert_string_equal(b.data, "{\"error\":\"invalid_payload\",\"message\":"
	    "\"a \\\"quoted\\\"\\nline\\\\\",\"details\":[{\"field\":\"x\","
	    "\"message\":\"y\"}]}");
	zx_buf_reset(&b);
	/* Invalid UTF-8 from a database message still gives valid JSON. */
	zx_error_body(&b, "conflict", "bad \xff byte", NULL);
	assert_string_equal(b.data, "{\"error\":\"conflict\",\"message\":"
	    "\"bad \\ufffd byte\"}");
	zx_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validation_details),
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_conn_lost),
		cmocka_unit_test(test_error_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
