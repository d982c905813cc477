/*
 * test_app_live.c — the dashboard's live events (kore-app/src/live_event.c): both payload
 * shapes the extension publishes on zixly_job_events (one id, or coalesced ids) become one
 * message for browsers without the tenant; anything else is refused and writes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "live_event.h"

/* Parses payload; returns the message (malloc'd) or NULL, and the tenant. */
static char *
event(const char *payload, char *tenant, size_t tenantlen)
{
	struct zx_buf	b;

	zx_buf_init(&b, 64);
	if (zx_live_event(payload, tenant, tenantlen, &b) == -1) {
		assert_int_equal(b.len, 0);
		zx_buf_free(&b);
		return (NULL);
	}
	return (b.data);
}

static void
test_one_id(void **state)
{
	char	 t[65], *m;

	(void)state;
	m = event("{\"id\":\"cm4x8y9z0000108l7a1b2c3d4\",\"tenant_id\":\"acme\","
	    "\"status\":\"RUNNING\"}", t, sizeof(t));
	assert_non_null(m);
	assert_string_equal(t, "acme");
	assert_string_equal(m, "{\"type\":\"jobs\",\"ids\":"
	    "[\"cm4x8y9z0000108l7a1b2c3d4\"],\"status\":\"RUNNING\"}");
	free(m);
}

static void
test_coalesced_ids(void **state)
{
	char	 t[65], *m;

	(void)state;
	m = event("{\"ids\":[\"a1\",\"b2\",\"c3\"],\"tenant_id\":\"t \\\"x\\\"\","
	    "\"status\":\"COMPLETED\"}", t, sizeof(t));
	assert_non_null(m);
	assert_string_equal(t, "t \"x\"");
	assert_string_equal(m, "{\"type\":\"jobs\",\"ids\":[\"a1\",\"b2\",\"c3\"],"
	    "\"status\":\"COMPLETED\"}");
	free(m);
}

static void
test_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[1,2]",
		"{\"id\":\"a1\",\"tenant_id\":\"t\",\"status\":\"RUNNING\"} trailing",
		"{\"id\":\"a1\",\"status\":\"RUNNING\"}",			/* no tenant */
		"{\"id\":\"a1\",\"tenant_id\":\"\",\"status\":\"RUNNING\"}",
		"{\"id\":\"a1\",\"tenant_id\":7,\"status\":\"RUNNING\"}",
		"{\"id\":\"a1\",\"tenant_id\":\"t\"}",			/* no status */
		"{\"id\":\"a1\",\"tenant_id\":\"t\",\"status\":\"DONE\"}",
		"{\"tenant_id\":\"t\",\"status\":\"RUNNING\"}",		/* no id */
		"{\"id\":\"A1\",\"tenant_id\":\"t\",\"status\":\"RUNNING\"}",
		"{\"id\":\"<script>\",\"tenant_id\":\"t\",\"status\":\"RUNNING\"}",
		"{\"id\":\"a\\u0000b\",\"tenant_id\":\"t\",\"status\":\"RUNNING\"}",
		"{\"id\":\"a1\",\"ids\":[\"b2\"],\"tenant_id\":\"t\",\"status\":\"QUEUED\"}",
		"{\"ids\":[],\"tenant_id\":\"t\",\"status\":\"QUEUED\"}",
		"{\"ids\":[\"a1\",2],\"tenant_id\":\"t\",\"status\":\"QUEUED\"}",
		"{\"ids\":\"a1\",\"tenant_id\":\"t\",\"status\":\"QUEUED\"}",
		"{\"id\":\"a1\",\"tenant_id\":\"t\\u0000u\",\"status\":\"QUEUED\"}",
		"{\"id\":\"a1\",\"tenant_id\":{\"a\":{\"b\":{\"c\":{\"d\":1}}}},"
		    "\"status\":\"QUEUED\"}",
	};
	char	 t[65];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (event(bad[i], t, sizeof(t)) != NULL)
			fail_msg("accepted: %s", bad[i]);
	}
}

static void
test_lengths(void **state)
{
	char	 p[400], id[80], t[65], small[4];
	char	*m;

	(void)state;
	/* a 64-character id is the longest */
	memset(id, 'a', 64);
	id[64] = '\0';
	(void)snprintf(p, sizeof(p), "{\"id\":\"%s\",\"tenant_id\":\"t\","
	    "\"status\":\"FAILED\"}", id);
	assert_non_null(m = event(p, t, sizeof(t)));
	free(m);
	id[64] = 'a';
	id[65] = '\0';
	(void)snprintf(p, sizeof(p), "{\"id\":\"%s\",\"tenant_id\":\"t\","
	    "\"status\":\"FAILED\"}", id);
	assert_null(event(p, t, sizeof(t)));
	/* a tenant longer than the caller's buffer */
	assert_null(event("{\"id\":\"a1\",\"tenant_id\":\"acme\","
	    "\"status\":\"FAILED\"}", small, sizeof(small)));
	assert_non_null(m = event("{\"id\":\"a1\",\"tenant_id\":\"abc\","
	    "\"status\":\"FAILED\"}", small, sizeof(small)));
	assert_string_equal(small, "abc");
	free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_id),
		cmocka_unit_test(test_coalesced_ids),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_lengths),
	};

	return (cmocka_run_group_tests_name("live_event", tests, NULL, NULL));
}
