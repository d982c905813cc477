/*
 * artifact.c — the local-directory artifact store (see artifact.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "artifact.h"
#include "common.h"
#include "log.h"

int
zx_artifact_init(const char *dir)
{
	char path[PATH_MAX];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof(path)) {
		zlog(ZX_ERROR, "artifact_dir_invalid", "dir=%s", zx_q(dir));
		return ZX_ERR;
	}
	memcpy(path, dir, n + 1);
	for (char *p = path + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;

			*p = '\0';
			if (mkdir(path, 0755) != 0 && errno != EEXIST) {
				zlog(ZX_ERROR, "artifact_dir_failed", "dir=%s error=%s", zx_q(path),
				    zx_q(strerror(errno)));
				return ZX_ERR;
			}
			*p = saved;
			if (saved == '\0')
				break;
		}
	}
	if (access(dir, W_OK | X_OK) != 0) {
		zlog(ZX_ERROR, "artifact_dir_failed", "dir=%s error=%s", zx_q(dir),
		    zx_q(strerror(errno)));
		return ZX_ERR;
	}
	return ZX_OK;
}

/* A file name from a job id: letters, digits, '-' and '_' kept, anything else as _xx. */
static void
file_stem(const char *id, char *out, size_t outlen)
{
	size_t o = 0;

	for (const unsigned char *c = (const unsigned char *)id; *c && o + 4 < outlen; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    *c == '-' || *c == '_')
			out[o++] = (char)*c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "_%02x", *c);
	}
	out[o] = '\0';
}

int
zx_artifact_write_grid(const char *dir, const char *job_id, int attempt,
    const struct zx_sweep_result *r, char *path, char *tmp, size_t pathlen, long *bytes,
    char *err, size_t errlen)
{
	char stem[200], abs_dir[PATH_MAX];
	FILE *fp;
	int ok;

	if (realpath(dir, abs_dir) == NULL &&
	    (zx_artifact_init(dir) != ZX_OK || realpath(dir, abs_dir) == NULL)) {
		snprintf(err, errlen, "artifact directory %s is not usable", dir);
		return ZX_ERR;
	}
	file_stem(job_id, stem, sizeof(stem));
	snprintf(path, pathlen, "%s/%s.csv", abs_dir, stem);
	/* one name per process and attempt: a lost attempt may still be writing its own */
	snprintf(tmp, pathlen, "%s/%s.csv.tmp.%ld.%d", abs_dir, stem, (long)getpid(), attempt);
	if ((fp = fopen(tmp, "w")) == NULL) {
		snprintf(err, errlen, "cannot write artifact %s: %s", tmp, strerror(errno));
		return ZX_ERR;
	}
	/* the columns and format of zixly-sweep --format csv */
	fputs("fast,slow,total_return_pct,sharpe_ratio,max_drawdown_pct,total_trades,"
	    "sortino_ratio,win_rate_pct,profit_factor,exposure_pct,score,rank\n", fp);
	for (size_t k = 0; k < r->n_combos; k++) {
		const struct zx_combo_result *c = &r->combos[k];

		fprintf(fp, "%d,%d,%.17g,%.17g,%.17g,%ld,%.17g,%.17g,%.17g,%.17g,%.17g,%d\n",
		    c->fast, c->slow, c->total_return_pct, c->sharpe_ratio, c->max_drawdown_pct,
		    c->total_trades, c->sortino_ratio, c->win_rate_pct, c->profit_factor,
		    c->exposure_pct, c->score, c->rank);
	}
	*bytes = ftell(fp);
	ok = !ferror(fp);
	ok = (fclose(fp) == 0) && ok;
	if (!ok) {
		snprintf(err, errlen, "cannot write artifact %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return ZX_ERR;
	}
	return ZX_OK;
}

int
zx_artifact_publish(const char *tmp, const char *path, char *err, size_t errlen)
{
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot write artifact %s: %s", path, strerror(errno));
		return ZX_ERR;
	}
	return ZX_OK;
}

void
zx_artifact_discard(const char *tmp)
{
	if (unlink(tmp) != 0 && errno != ENOENT)
		zlog(ZX_WARN, "artifact_discard_failed", "path=%s error=%s", zx_q(tmp),
		    zx_q(strerror(errno)));
}
