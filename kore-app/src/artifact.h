/*
 * artifact.h
 *	Finding and opening a job's grid file in the artifact store.
 *
 * Plain C (no Kore calls). The worker writes <dir>/<job id>.csv and
 * records its size in the job's result (worker/src/artifact.c). The app
 * reads from its own ZIXLY_ARTIFACT_DIR, the same directory when both run
 * on one host or share a volume, and never from a path stored in the
 * database: a job id ([a-z0-9]) names the file, so nothing a row holds
 * can point the app at another file.
 */
#ifndef ZX_ARTIFACT_H
#define ZX_ARTIFACT_H

#include <stddef.h>

/* <dir>/<job id>.csv into out; -1 if it does not fit or the id is odd. */
int	zx_artifact_path(const char *dir, const char *job_id, char *out,
	    size_t len);

/*
 * Opens a grid file for reading and checks it is the one the job's
 * result describes: a regular file (not a symbolic link) of exactly
 * `bytes` bytes whose first line is the grid header. Returns the
 * descriptor, positioned at the start, or -1 with a reason fit for
 * clients (no paths) in *why.
 */
int	zx_artifact_open(const char *path, long long bytes, const char **why);

/*
 * The default store for a module at module_path: <project>/data/artifacts
 * when the module lives in <project>/build/<dir>/ (as bin/zixly-app runs
 * it), the worker's default too. malloc'd, or NULL for other layouts.
 */
char	*zx_artifact_default_dir(const char *module_path);

#endif
