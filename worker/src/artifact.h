/*
 * artifact.h — the artifact store: one file per job under ZIXLY_ARTIFACT_DIR (a local
 * directory; default <project>/data/artifacts, see config.c).  A trading-sweep job stores its
 * full grid there as <job id>.csv, in zixly-sweep's CSV format (grid order, 17 significant
 * digits); a retried job overwrites its own file.  Files appear atomically: written under a
 * temporary name, then renamed by the job's owner inside the transaction that completes the job
 * (its row locked), so a worker that has lost the job never replaces the file of the run that
 * completed it.
 */
#ifndef ZX_ARTIFACT_H
#define ZX_ARTIFACT_H

#include <stddef.h>

#include "../engine/sweep.h"

/* Creates the directory (and its parents) if needed; 0 or -1 (logged). */
int zx_artifact_init(const char *dir);

/*
 * Writes the grid of r for the attempt of job_id under a temporary name.  On success stores the
 * file's final absolute path in path and its temporary one in tmp (each of size pathlen), and
 * its size in *bytes; returns 0, or -1 with the reason in err (nothing left behind).
 */
int zx_artifact_write_grid(const char *dir, const char *job_id, int attempt,
    const struct zx_sweep_result *r, char *path, char *tmp, size_t pathlen, long *bytes,
    char *err, size_t errlen);

/* Gives the temporary file its final name; 0, or -1 with the reason in err. */
int zx_artifact_publish(const char *tmp, const char *path, char *err, size_t errlen);

/* Removes a temporary file that will not be published (the job failed or was lost). */
void zx_artifact_discard(const char *tmp);

#endif /* ZX_ARTIFACT_H */
