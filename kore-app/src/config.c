/*
 * config.c
 *	Environment settings: one table of name, bounds and default, so
 *	parsing, validation and the README agree. The app refuses to start
 *	on a bad value rather than guessing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

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
	{ "ZIXLY_LOGIN_RATE_LIMIT", 1, 1000000L, 10,
	    offsetof(struct zx_config, login_rate_limit) },
	{ "ZIXLY_APP_WORKERS", 1, 64, 1,
	    offsetof(struct zx_config, workers) },
	{ "ZIXLY_DB_POOL", 1, 500, 16,
	    offsetof(struct zx_config, db_pool) },
	{ "ZIXLY_JWT_TTL", 60, 604800, 3600,
	    offsetof(struct zx_config, jwt_ttl) },
	{ "ZIXLY_BATCH", 0, 1, 1,
	    offsetof(struct zx_config, batch) },
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

	if ((v = get("ZIXLY_ARTIFACT_DIR")) != NULL && *v != '\0') {
		if (*v != '/' || strlen(v) > ZX_ARTIFACT_DIR_MAX) {
			(void)snprintf(err, errlen, "ZIXLY_ARTIFACT_DIR must be "
			    "an absolute path of at most %d bytes (got \"%.40s\")",
			    ZX_ARTIFACT_DIR_MAX, v);
			zx_config_clear(cfg);
			return (-1);
		}
		cfg->artifact_dir = zx_xstrdup(v);
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
	free(cfg->artifact_dir);
	memset(cfg, 0, sizeof(*cfg));
}

static void
conninfo_value(struct zx_buf *b, const char *v)
{
	zx_buf_puts(b, "'");
	for (; *v != '\0'; v++) {
		if (*v == '\'' || *v == '\\')
			zx_buf_puts(b, "\\");
		zx_buf_append(b, v, 1);
	}
	zx_buf_puts(b, "'");
}

char *
zx_conninfo_with_options(const char *conninfo, const char *extra, char *err,
    size_t errlen)
{
	PQconninfoOption	*opts, *o;
	struct zx_buf		 b;
	char			*perr = NULL;
	int			 have_options = 0;

	if ((opts = PQconninfoParse(conninfo, &perr)) == NULL) {
		(void)snprintf(err, errlen, "DATABASE_URL is not a valid "
		    "connection string: %s", perr != NULL ? perr :
		    "out of memory");
		PQfreemem(perr);
		return (NULL);
	}
	zx_buf_init(&b, 256);
	for (o = opts; o->keyword != NULL; o++) {
		if (strcmp(o->keyword, "options") == 0) {
			struct zx_buf	v;

			zx_buf_init(&v, 64);
			if (o->val != NULL && *o->val != '\0') {
				zx_buf_puts(&v, o->val);
				zx_buf_puts(&v, " ");
			}
			zx_buf_puts(&v, extra);
			zx_buf_appendf(&b, "%soptions=", b.len ? " " : "");
			conninfo_value(&b, v.data);
			zx_buf_free(&v);
			have_options = 1;
			continue;
		}
		if (o->val == NULL)
			continue;
		zx_buf_appendf(&b, "%s%s=", b.len ? " " : "", o->keyword);
		conninfo_value(&b, o->val);
	}
	if (!have_options) {
		zx_buf_appendf(&b, "%soptions=", b.len ? " " : "");
		conninfo_value(&b, extra);
	}
	PQconninfoFree(opts);
	return (b.data);
}
