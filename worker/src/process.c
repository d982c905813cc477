/*
 * process.c — process figures from /proc/self (see process.h), computed the way the Prometheus
 * Go client does: CPU and start time from /proc/self/stat in clock ticks (start time relative
 * to the boot time in /proc/stat), memory from /proc/self/stat's vsize and rss, open file
 * descriptors by counting /proc/self/fd.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common.h"
#include "process.h"

/* "btime N" of /proc/stat: the boot time in seconds since the epoch. */
static int
boot_time(double *out)
{
	FILE *fp = fopen("/proc/stat", "r");
	char line[256];
	int rc = ZX_ERR;

	if (fp == NULL)
		return ZX_ERR;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "btime ", 6) == 0) {
			*out = strtod(line + 6, NULL);
			rc = ZX_OK;
			break;
		}
	fclose(fp);
	return rc;
}

/* Open descriptors, not counting the one that reads the directory. */
static int
count_fds(double *out)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	long n = 0;

	if (d == NULL)
		return ZX_ERR;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
			n++;
	closedir(d);
	*out = (double)n;
	return ZX_OK;
}

/*
 * Fields 14 (utime), 15 (stime), 22 (starttime), 23 (vsize) and 24 (rss) of /proc/self/stat.
 * The command name (field 2) may hold spaces and parentheses: field 3 follows the last ')'.
 */
static int
read_stat(double *ticks_cpu, double *ticks_start, double *vsize, double *rss_pages)
{
	char buf[1024], *p, *save = NULL;
	FILE *fp = fopen("/proc/self/stat", "r");
	size_t n;
	int field = 3, found = 0;

	if (fp == NULL)
		return ZX_ERR;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return ZX_ERR;
	*ticks_cpu = 0;
	for (char *t = strtok_r(p + 1, " \n", &save); t != NULL && field <= 24;
	    t = strtok_r(NULL, " \n", &save), field++) {
		double x = strtod(t, NULL);

		if (field == 14 || field == 15)
			*ticks_cpu += x;
		else if (field == 22)
			*ticks_start = x;
		else if (field == 23)
			*vsize = x;
		else if (field == 24)
			*rss_pages = x;
		else
			continue;
		found++;
	}
	return found == 5 ? ZX_OK : ZX_ERR;
}

int
zx_process_stats(struct zx_process_stats *st)
{
	long ticks = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	double cpu, start, vsize, rss, btime;
	struct rlimit rl;

	if (ticks <= 0 || page <= 0 || read_stat(&cpu, &start, &vsize, &rss) != ZX_OK ||
	    boot_time(&btime) != ZX_OK || count_fds(&st->open_fds) != ZX_OK)
		return ZX_ERR;
	st->cpu_seconds = cpu / (double)ticks;
	st->start_time = btime + start / (double)ticks;
	st->virtual_bytes = vsize;
	st->resident_bytes = rss * (double)page;
	st->max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ?
	    (double)rl.rlim_cur : -1;
	return ZX_OK;
}
