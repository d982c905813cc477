/*
 * test_app_config.c — the app's settings from the environment (kore-app/src/config.c):
 * defaults, a JWT secret too short or too long refused, development mode, every number
 * checked against its bounds with the variable named in the error, the artifact directory
 * (absolute or unset), and DATABASE_URL turned
 * into a key=value string with server options added (both conninfo forms, quoting).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libpq-fe.h>

#include "config.h"

/* The environment of one case: NULL-terminated name/value pairs. */
static const char *const *fake_env;

static const char *
fake_get(const char *name)
{
	const char *const	*p;

	for (p = fake_env; p[0] != NULL; p += 2) {
		if (strcmp(p[0], name) == 0)
			return (p[1]);
	}
	return (NULL);
}

static const char	secret32[] = "0123456789abcdef0123456789abcdef";

static int
load(const char *const *env, struct zx_config *cfg, char *err, size_t errlen)
{
	fake_env = env;
	err[0] = '\0';
	return (zx_config_load(cfg, fake_get, err, errlen));
}

/* Loading fails and the message contains each of the given parts. */
static void
assert_refused(const char *const *env, const char *part1, const char *part2)
{
	struct zx_config	cfg;
	char			err[256];

	if (load(env, &cfg, err, sizeof(err)) != -1)
		fail_msg("accepted, expected an error mentioning %s", part1);
	if (strstr(err, part1) == NULL || (part2 != NULL && strstr(err, part2) == NULL))
		fail_msg("error \"%s\" should mention \"%s\" and \"%s\"", err, part1,
		    part2 != NULL ? part2 : "");
	assert_null(cfg.database_url);		/* nothing left allocated */
}

static void
test_defaults(void **state)
{
	static const char *const env[] = {
		"DATABASE_URL", "dbname=zixly", "ZIXLY_JWT_SECRET", secret32, NULL
	};
	struct zx_config	cfg;
	char			err[256];

	(void)state;
	assert_int_equal(load(env, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.database_url, "dbname=zixly");
	assert_int_equal(cfg.jwt_secret_len, 32);
	assert_memory_equal(cfg.jwt_secret, secret32, 32);
	assert_int_equal(cfg.rate_limit, 10);
	assert_int_equal(cfg.workers, 1);
	assert_int_equal(cfg.db_pool, 16);
	assert_int_equal(cfg.jwt_ttl, 3600);
	assert_int_equal(cfg.batch, 1);
	assert_false(cfg.dev);
	zx_config_clear(&cfg);
	assert_null(cfg.database_url);
}

static void
test_values(void **state)
{
	static const char *const env[] = {
		"DATABASE_URL", "host=db", "ZIXLY_JWT_SECRET", secret32,
		"ZIXLY_RATE_LIMIT", "1000000000", "ZIXLY_APP_WORKERS", "4",
		"ZIXLY_DB_POOL", "500", "ZIXLY_JWT_TTL", "60", "ZIXLY_BATCH", "0",
		NULL
	};
	static const char *const empty_is_default[] = {
		"DATABASE_URL", "host=db", "ZIXLY_JWT_SECRET", secret32,
		"ZIXLY_RATE_LIMIT", "", NULL
	};
	struct zx_config	cfg;
	char			err[256];

	(void)state;
	assert_int_equal(load(env, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.rate_limit, 1000000000);
	assert_int_equal(cfg.workers, 4);
	assert_int_equal(cfg.db_pool, 500);
	assert_int_equal(cfg.jwt_ttl, 60);
	assert_int_equal(cfg.batch, 0);
	zx_config_clear(&cfg);
	assert_int_equal(load(empty_is_default, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.rate_limit, 10);
	zx_config_clear(&cfg);
}

static void
test_secret(void **state)
{
	char			 s31[32], s512[513], s513[514];
	struct zx_config	 cfg;
	char			 err[256];

	(void)state;
	memset(s31, 'x', 31);
	s31[31] = '\0';
	memset(s512, 'x', 512);
	s512[512] = '\0';
	memset(s513, 'x', 513);
	s513[513] = '\0';
	{
		const char *const env[] = { "DATABASE_URL", "x=y", "ZIXLY_JWT_SECRET",
		    s31, NULL };

		assert_refused(env, "ZIXLY_JWT_SECRET", "got 31");
	}
	{
		const char *const env[] = { "DATABASE_URL", "x=y", "ZIXLY_JWT_SECRET",
		    s513, NULL };

		assert_refused(env, "ZIXLY_JWT_SECRET", "got 513");
	}
	{
		const char *const env[] = { "DATABASE_URL", "x=y", "ZIXLY_JWT_SECRET",
		    s512, NULL };

		assert_int_equal(load(env, &cfg, err, sizeof(err)), 0);
		assert_int_equal(cfg.jwt_secret_len, 512);
		zx_config_clear(&cfg);
	}
	/* None at all: refused, unless in development mode (then left empty). */
	{
		const char *const env[] = { "DATABASE_URL", "x=y", NULL };

		assert_refused(env, "ZIXLY_JWT_SECRET is not set", "openssl rand");
	}
	{
		const char *const env[] = { "DATABASE_URL", "x=y", "ZIXLY_DEV", "1",
		    NULL };

		assert_int_equal(load(env, &cfg, err, sizeof(err)), 0);
		assert_true(cfg.dev);
		assert_int_equal(cfg.jwt_secret_len, 0);
		zx_config_clear(&cfg);
	}
	{
		/* Only "1" turns development mode on. */
		const char *const env[] = { "DATABASE_URL", "x=y", "ZIXLY_DEV", "yes",
		    NULL };

		assert_refused(env, "ZIXLY_JWT_SECRET", NULL);
	}
	/* A short secret is refused in development mode too. */
	{
		const char *const env[] = { "DATABASE_URL", "x=y", "ZIXLY_DEV", "1",
		    "ZIXLY_JWT_SECRET", "short", NULL };

		assert_refused(env, "ZIXLY_JWT_SECRET", "got 5");
	}
}

static void
test_artifact_dir(void **state)
{
	static const char *const env[] = { "DATABASE_URL", "x=y", "ZIXLY_JWT_SECRET",
	    secret32, "ZIXLY_ARTIFACT_DIR", "/srv/zixly/artifacts", NULL };
	static const char *const unset[] = { "DATABASE_URL", "x=y",
	    "ZIXLY_JWT_SECRET", secret32, NULL };
	static const char *const relative[] = { "DATABASE_URL", "x=y",
	    "ZIXLY_JWT_SECRET", secret32, "ZIXLY_ARTIFACT_DIR", "data/artifacts",
	    NULL };
	struct zx_config	 cfg;
	char			 err[256], long_dir[ZX_ARTIFACT_DIR_MAX + 2];

	(void)state;
	assert_int_equal(load(env, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.artifact_dir, "/srv/zixly/artifacts");
	zx_config_clear(&cfg);
	assert_null(cfg.artifact_dir);
	/* Unset: left to init.c's default. */
	assert_int_equal(load(unset, &cfg, err, sizeof(err)), 0);
	assert_null(cfg.artifact_dir);
	zx_config_clear(&cfg);
	assert_refused(relative, "ZIXLY_ARTIFACT_DIR must be an absolute path",
	    "data/artifacts");
	memset(long_dir, 'a', sizeof(long_dir) - 1);
	long_dir[0] = '/';
	long_dir[sizeof(long_dir) - 1] = '\0';
	{
		const char *const too_long[] = { "DATABASE_URL", "x=y",
		    "ZIXLY_JWT_SECRET", secret32, "ZIXLY_ARTIFACT_DIR", long_dir,
		    NULL };

		assert_refused(too_long, "ZIXLY_ARTIFACT_DIR", "at most 1024 bytes");
	}
}

static void
test_database_url(void **state)
{
	(void)state;
	{
		const char *const env[] = { "ZIXLY_JWT_SECRET", secret32, NULL };

		assert_refused(env, "DATABASE_URL is not set", NULL);
	}
	{
		const char *const env[] = { "DATABASE_URL", "", "ZIXLY_JWT_SECRET",
		    secret32, NULL };

		assert_refused(env, "DATABASE_URL", NULL);
	}
}

static void
test_bad_numbers(void **state)
{
	static const struct {
		const char	*name;
		const char	*value;
		const char	*range;
	} cases[] = {
		{ "ZIXLY_RATE_LIMIT", "abc", "from 1 to 1000000000" },
		{ "ZIXLY_RATE_LIMIT", "0", "from 1 to" },
		{ "ZIXLY_RATE_LIMIT", "-5", "from 1 to" },
		{ "ZIXLY_RATE_LIMIT", "10 ", "from 1 to" },
		{ "ZIXLY_RATE_LIMIT", "1e3", "from 1 to" },
		{ "ZIXLY_RATE_LIMIT", "99999999999999999999", "from 1 to" },
		{ "ZIXLY_APP_WORKERS", "65", "from 1 to 64" },
		{ "ZIXLY_DB_POOL", "0", "from 1 to 500" },
		{ "ZIXLY_JWT_TTL", "59", "from 60 to 604800" },
		{ "ZIXLY_BATCH", "2", "from 0 to 1" },
	};
	char	got[80];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *const env[] = { "DATABASE_URL", "x=y", "ZIXLY_JWT_SECRET",
		    secret32, cases[i].name, cases[i].value, NULL };

		(void)snprintf(got, sizeof(got), "(got \"%s\")", cases[i].value);
		assert_refused(env, cases[i].name, cases[i].range);
		assert_refused(env, got, NULL);
	}
}

/* The value of keyword in a conninfo string, as libpq reads it (malloc'd or NULL). */
static char *
conninfo_value(const char *conninfo, const char *keyword)
{
	PQconninfoOption	*opts, *o;
	char			*v = NULL;

	opts = PQconninfoParse(conninfo, NULL);
	assert_non_null(opts);
	for (o = opts; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, keyword) == 0 && o->val != NULL)
			v = strdup(o->val);
	}
	PQconninfoFree(opts);
	return (v);
}

static void
assert_conninfo(const char *in, const char *keyword, const char *want)
{
	char	err[256], *out, *v;

	out = zx_conninfo_with_options(in, "-c zixly.notify=off -c jit=off", err,
	    sizeof(err));
	if (out == NULL)
		fail_msg("%s: %s", in, err);
	v = conninfo_value(out, keyword);
	if (v == NULL || strcmp(v, want) != 0)
		fail_msg("%s -> %s: %s is \"%s\", want \"%s\"", in, out, keyword,
		    v != NULL ? v : "(unset)", want);
	free(v);
	free(out);
}

static void
test_conninfo_options(void **state)
{
	char	err[256];

	(void)state;
	assert_conninfo("host=db dbname=zixly", "options",
	    "-c zixly.notify=off -c jit=off");
	assert_conninfo("host=db dbname=zixly", "host", "db");
	assert_conninfo("host=db options='-c work_mem=64MB'", "options",
	    "-c work_mem=64MB -c zixly.notify=off -c jit=off");
	assert_conninfo("postgresql://app@db.example:6543/zixly?sslmode=disable",
	    "port", "6543");
	assert_conninfo("postgresql://app@db.example:6543/zixly", "user", "app");
	assert_conninfo("postgresql://app@db/zixly?options=-c%20statement_timeout%3D5s",
	    "options", "-c statement_timeout=5s -c zixly.notify=off -c jit=off");
	/* Quotes and backslashes in values survive the round trip. */
	assert_conninfo("host=db password='it\\'s a \\\\ secret'", "password",
	    "it's a \\ secret");
	assert_conninfo("host=db application_name='my app'", "application_name",
	    "my app");

	assert_null(zx_conninfo_with_options("host='unterminated", "-c x=y", err,
	    sizeof(err)));
	assert_non_null(strstr(err, "DATABASE_URL"));
	assert_null(zx_conninfo_with_options("nosuchkeyword=1", "-c x=y", err,
	    sizeof(err)));
	assert_non_null(strstr(err, "nosuchkeyword"));
	assert_null(zx_conninfo_with_options("postgresql://[bad", "-c x=y", err,
	    sizeof(err)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_artifact_dir),
		cmocka_unit_test(test_database_url),
		cmocka_unit_test(test_bad_numbers),
		cmocka_unit_test(test_conninfo_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
