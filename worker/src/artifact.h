/*
 * artifact.h — the artifact store: one file per job under ZIXLY_ARTIFACT_DIR (a local
 * directory; default <project>/data/artifacts, see config.c).  A trading-sweep job stores its
 * full grid there as <job id>.csv, in zixly-sweep's CSV format (grid order, 17 significant
 * digits); a retried job overwrites its own file.  Files appear atomically (written under a
 * temporary name, then renamed).
 */
#ifndef ZX_ARTIFACT_H
#define ZX_ARTIFACT_H

#include <stddef.h>

#include "../engine/sweep.h"

/* Creates the directory (and its parents) if needed; 0 or -1 (logged). */
int zx_artifact_init(const char *dir);

/*
 * Writes the grid of r for job_id.  On success stores the absolute path in path (size
 * pathlen) and the size in *bytes; returns 0, or -1 with the reason in err.
 */
int zx_artifact_write_grid(const char *dir, const char *job_id, const struct zx_sweep_result *r,
    char *path, size_t pathlen, long *bytes, char *err, size_t errlen);

#endif /* ZX_ARTIFACT_H */
