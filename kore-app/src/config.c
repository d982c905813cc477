/*
 * config.c
 *	Environment settings: one table of name, bounds and default, so
 *	parsing, validation and the README agree. The app refuses to start
 *	on a bad value rather than guessing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "jwt.h"
#include "request.h"

struct zx_config zx_config;

static const struct {
	const char	*env;
	long		 lo;
	long		 hi;
	long		 def;
	size_t		 off;
} numbers[] = {
	{ "ZIXLY_RATE_LIMIT", 1, 1000000000L, 10,
	    offsetof(struct zx_config, rate_limit) },
	{ "ZIXLY_APP_WORKERS", 1, 64, 1,
	    offsetof(struct zx_config, workers) },
	{ "ZIXLY_DB_POOL", 1, 500, 16,
	    offsetof(struct zx_config, db_pool) },
	{ "ZIXLY_JWT_TTL", 60, 604800, 3600,
	    offsetof(struct zx_config, jwt_ttl) },
};

int
zx_config_load(struct zx_config *cfg, const char *(*get)(const char *),
    char *err, size_t errlen)
{
	const char	*v;
	size_t		 i, len;
	long		 n;

	memset(cfg, 0, sizeof(*cfg));

	v = get("ZIXLY_DEV");
	cfg->dev = v != NULL && strcmp(v, "1") == 0;

	if ((v = get("DATABASE_URL")) == NULL || *v == '\0') {
		(void)snprintf(err, errlen, "DATABASE_URL is not set "
		    "(a libpq connection string or URI)");
		return (-1);
	}
	cfg->database_url = zx_xstrdup(v);

	if ((v = get("ZIXLY_JWT_SECRET")) != NULL && *v != '\0') {
		len = strlen(v);
		if (len < ZX_JWT_MIN_SECRET || len > ZX_SECRET_MAX) {
			(void)snprintf(err, errlen, "ZIXLY_JWT_SECRET must be "
			    "%d to %d bytes (got %zu); make one with: "
			    "openssl rand -hex 32", ZX_JWT_MIN_SECRET,
			    ZX_SECRET_MAX, len);
			zx_config_clear(cfg);
			return (-1);
		}
		memcpy(cfg->jwt_secret, v, len);
		cfg->jwt_secret_len = len;
	} else if (!cfg->dev) {
		(void)snprintf(err, errlen, "ZIXLY_JWT_SECRET is not set "
		    "(at least %d bytes; make one with: openssl rand -hex 32)",
		    ZX_JWT_MIN_SECRET);
		zx_config_clear(cfg);
		return (-1);
	}

	for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		n = numbers[i].def;
		if ((v = get(numbers[i].env)) != NULL && *v != '\0' &&
		    zx_parse_long(v, numbers[i].lo, numbers[i].hi, &n) == -1) {
			(void)snprintf(err, errlen, "%s must be an integer "
			    "from %ld to %ld (got \"%.40s\")", numbers[i].env,
			    numbers[i].lo, numbers[i].hi, v);
			zx_config_clear(cfg);
			return (-1);
		}
		*(long *)(void *)((char *)cfg + numbers[i].off) = n;
	}
	return (0);
}

void
zx_config_clear(struct zx_config *cfg)
{
	free(cfg->database_url);
	memset(cfg, 0, sizeof(*cfg));
}
