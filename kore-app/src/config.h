/*
 * config.h
 *	The app's settings, read once from the environment by the parent
 *	process before it forks the Kore workers.
 *
 * Plain C (no Kore calls). bin/zixly-app handles ZIXLY_BIND and
 * ZIXLY_HTTP_PORT itself (they go into Kore's server block); everything
 * else is here, in one table.
 */
#ifndef ZX_CONFIG_H
#define ZX_CONFIG_H

#include <stddef.h>

#define ZX_SECRET_MAX		512
#define ZX_ARTIFACT_DIR_MAX	1024

struct zx_config {
	char		*database_url;
	unsigned char	 jwt_secret[ZX_SECRET_MAX];
	size_t		 jwt_secret_len;
	int		 dev;		/* ZIXLY_DEV=1: a random secret if none */
	long		 rate_limit;	/* requests per minute per API key */
	long		 login_rate_limit; /* logins per minute per email */
	long		 workers;	/* Kore worker processes */
	long		 db_pool;	/* connections per worker */
	long		 jwt_ttl;	/* seconds a login token lives */
	long		 batch;		/* 0: one statement per webhook */
	char		*artifact_dir;	/* grid files; NULL: the default */
};

extern struct zx_config zx_config;

/*
 * Fills cfg from getenv-like lookups. Returns 0, or -1 with a message in
 * err naming the variable. A missing secret in dev mode is left empty
 * (jwt_secret_len 0) for the caller to fill with random bytes; so is a
 * missing ZIXLY_ARTIFACT_DIR (artifact_dir NULL; init.c has the default).
 */
int	zx_config_load(struct zx_config *, const char *(*)(const char *),
	    char *err, size_t errlen);
void	zx_config_clear(struct zx_config *);

/*
 * DATABASE_URL (key=value or URI) as a key=value string with extra
 * server options appended to its "options" (e.g. "-c zixly.notify=off").
 * malloc'd, or NULL with the reason in err.
 */
char	*zx_conninfo_with_options(const char *, const char *, char *, size_t);

#endif
