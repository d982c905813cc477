/*
 * process.c — this process's figures for /metrics (see process.h).  /proc/self/stat and
 * /proc/self/fd are read by the app's procstat.c (kore-app/src, built into the worker too), so
 * both export the same process_* figures computed one way; only the descriptor limit is ours.
 */
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common.h"
#include "process.h"
#include "procstat.h"

static struct zx_procstat_base base;
static int base_ok;
static pthread_once_t base_once = PTHREAD_ONCE_INIT;

/* The boot time, clock tick and page size, fixed per boot: read once. */
static void
init_base(void)
{
	base_ok = zx_procstat_init(&base) == 0;
}

int
zx_process_stats(struct zx_process_stats *st)
{
	struct zx_procstat ps;
	struct rlimit rl;

	pthread_once(&base_once, init_base);
	if (!base_ok || zx_procstat_read((int)getpid(), &base, &ps) != 0 || ps.open_fds < 0)
		return ZX_ERR;
	st->cpu_seconds = ps.cpu_seconds;
	st->start_time = ps.start_time;
	st->virtual_bytes = (double)ps.vsize_bytes;
	st->resident_bytes = (double)ps.rss_bytes;
	st->open_fds = (double)ps.open_fds;
	st->max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ?
	    (double)rl.rlim_cur : -1;
	return ZX_OK;
}
