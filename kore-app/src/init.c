/*
 * init.c
 *	Start-up: settings from the environment, the shared metrics, the
 *	database registration, and Kore's process hooks.
 *
 * kore_parent_configure runs once in the parent before the workers are
 * forked, so everything it sets up (settings, the JWT secret, the
 * MAP_SHARED metrics, the pgsql registration) is inherited by every
 * worker. A bad setting stops the app here, before it listens.
 */
#include <sys/types.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "app.h"
#include "artifact.h"
#include "version.h"

void	kore_parent_configure(int, char **);
void	kore_worker_configure(void);

static const char	*env(const char *);
static void		 runtime_dir_remove(void);
static void		 artifact_dir_default(void);

static const char *
env(const char *name)
{
	return (getenv(name));
}

/*
 * bin/zixly-app writes Kore's configuration into a private directory
 * named by ZIXLY_RUNTIME_DIR. Kore has read it by now, so it goes; the
 * pidfile inside is unlinked too (Kore ignores ENOENT at exit).
 */
static void
runtime_dir_remove(void)
{
	const char	*dir = getenv("ZIXLY_RUNTIME_DIR");
	char		 path[1024];

	if (dir == NULL || *dir == '\0')
		return;
	(void)snprintf(path, sizeof(path), "%s/kore.conf", dir);
	(void)unlink(path);
	(void)snprintf(path, sizeof(path), "%s/kore.pid", dir);
	(void)unlink(path);
	(void)rmdir(dir);
}

/*
 * Without ZIXLY_ARTIFACT_DIR, the worker's default store: <project>/
 * data/artifacts beside this module's build directory (artifact.c).
 */
static void
artifact_dir_default(void)
{
	Dl_info	 info;
	char	*module;

	if (zx_config.artifact_dir == NULL &&
	    dladdr((void *)artifact_dir_default, &info) != 0 &&
	    info.dli_fname != NULL &&
	    (module = realpath(info.dli_fname, NULL)) != NULL) {
		zx_config.artifact_dir = zx_artifact_default_dir(module);
		free(module);
	}
	if (zx_config.artifact_dir == NULL) {
		kore_log(LOG_NOTICE, "zixly: no artifact store (set "
		    "ZIXLY_ARTIFACT_DIR): results come from the database only");
	} else {
		kore_log(LOG_NOTICE, "zixly: grid files from %s",
		    zx_config.artifact_dir);
	}
}

void
kore_parent_configure(int argc, char **argv)
{
	char	 err[256];
	char	*conninfo;

	(void)argc;
	(void)argv;
	/* Kore logs with printf in the foreground: keep lines whole. */
	(void)setvbuf(stdout, NULL, _IOLBF, 0);
	runtime_dir_remove();

	if (zx_config_load(&zx_config, env, err, sizeof(err)) == -1)
		fatal("zixly: %s", err);

	if (zx_config.jwt_secret_len == 0) {
		/* ZIXLY_DEV=1 without a secret: tokens last until restart. */
		if (RAND_bytes(zx_config.jwt_secret, 32) != 1)
			fatal("zixly: cannot make a random JWT secret");
		zx_config.jwt_secret_len = 32;
		kore_log(LOG_NOTICE, "zixly: development mode, random JWT "
		    "secret (login tokens end with this process)");
	}
	zx_auth_setup();

	/*
	 * libpq defaults (DATABASE_URL still wins): never hang on an
	 * unreachable server, name ourselves, and skip the GSSAPI probe
	 * every new connection would otherwise make.
	 */
	(void)setenv("PGCONNECT_TIMEOUT", "3", 0);
	(void)setenv("PGAPPNAME", "zixly-app", 0);
	(void)setenv("PGGSSENCMODE", "disable", 0);

	worker_count = (u_int8_t)zx_config.workers;
	pgsql_conn_max = (u_int16_t)zx_config.db_pool;
	/*
	 * Session settings for every pooled connection: enqueues from the
	 * app wake workers through zixly_wait's commit hook, not NOTIFY
	 * zixly_jobs, whose database-wide lock is held across the commit
	 * flush and would serialise concurrent webhook commits; the status
	 * events live dashboards follow are still sent (one per statement,
	 * and webhooks are enqueued many per statement); and no JIT, which
	 * the batch statements' (over)estimated costs would trigger for
	 * nothing.  A locked table or a stuck statement must not hold a
	 * request (and the pool behind it) forever: 5 s waiting for a lock,
	 * 30 s for a statement, then a 503.
	 */
	if ((conninfo = zx_conninfo_with_options(zx_config.database_url,
	    "-c zixly.notify=events -c jit=off -c lock_timeout=5s "
	    "-c statement_timeout=30s", err, sizeof(err))) == NULL)
		fatal("zixly: %s", err);
	zx_db_register(conninfo);
	free(conninfo);
	zx_metrics_init();
	artifact_dir_default();

	kore_log(LOG_NOTICE, "zixly-app %s: %ld worker(s), %ld database "
	    "connection(s) each, rate limit %ld/min per API key",
	    ZX_APP_VERSION, zx_config.workers, zx_config.db_pool,
	    zx_config.rate_limit);
}

void
kore_worker_configure(void)
{
	(void)setvbuf(stdout, NULL, _IOLBF, 0);
	zx_dbconns_worker_start();
}
