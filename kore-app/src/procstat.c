/*
 * procstat.c
 *	/proc/<pid>/stat and /proc/<pid>/fd, read without stdio.
 *
 * A Kore worker runs under seccomp: plain open, read and getdents64
 * (opendir/readdir) are allowed there, and these files are small, so a
 * scrape reads them in line.
 */
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procstat.h"

#define PROC_TEXT_MAX	4096

/* The whole (small) file into buf, NUL-terminated; its length or -1. */
static ssize_t
read_text(const char *path, char *buf, size_t len)
{
	ssize_t	n;
	size_t	got = 0;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	while (got < len - 1) {
		if ((n = read(fd, buf + got, len - 1 - got)) == -1) {
			if (errno == EINTR)
				continue;
			(void)close(fd);
			return (-1);
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	(void)close(fd);
	buf[got] = '\0';
	return ((ssize_t)got);
}

int64_t
zx_procstat_btime(const char *text)
{
	const char	*p;
	char		*end;
	long long	 v;

	for (p = text; p != NULL; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, "btime ", 6) == 0) {
			v = strtoll(p + 6, &end, 10);
			return (end != p + 6 && v > 0 ? v : -1);
		}
	}
	return (-1);
}

int
zx_procstat_init(struct zx_procstat_base *b)
{
	/* /proc/stat's "intr" line grows with the machine's interrupts. */
	size_t	 len = 1024 * 1024;
	char	*text;

	b->clk_tck = sysconf(_SC_CLK_TCK);
	b->page_size = sysconf(_SC_PAGESIZE);
	b->boot_time = -1;
	if ((text = malloc(len)) == NULL)
		return (-1);
	if (read_text("/proc/stat", text, len) > 0)
		b->boot_time = zx_procstat_btime(text);
	free(text);
	return (b->clk_tck > 0 && b->page_size > 0 && b->boot_time > 0 ? 0 : -1);
}

int
zx_procstat_parse(const char *text, const struct zx_procstat_base *b,
    struct zx_procstat *st)
{
	const char		*p;
	char			*end;
	unsigned long long	 v[22];
	int			 i;

	/* After the command name, which may hold spaces and parentheses. */
	if ((p = strrchr(text, ')')) == NULL || p[1] != ' ')
		return (-1);
	p += 2;
	if (*p < 'A' || *p > 'z')		/* field 3, the state */
		return (-1);
	p++;
	/* Fields 4 to 24: ppid ... rss. */
	for (i = 0; i < 21; i++) {
		if (*p != ' ')
			return (-1);
		p++;
		/* priority and nice may be negative; they are not used. */
		v[i] = strtoull(p, &end, 10);
		if (end == p)
			return (-1);
		p = end;
	}
	/* v[k] is field k + 4: utime 14, stime 15, starttime 22, vsize 23, rss 24. */
	st->cpu_seconds = (double)(v[10] + v[11]) / (double)b->clk_tck;
	st->start_time = (double)b->boot_time +
	    (double)v[18] / (double)b->clk_tck;
	st->vsize_bytes = (int64_t)v[19];
	st->rss_bytes = (int64_t)v[20] * b->page_size;
	return (0);
}

int
zx_procstat_read(int pid, const struct zx_procstat_base *b,
    struct zx_procstat *st)
{
	struct dirent	*e;
	DIR		*d;
	char		 path[64], text[PROC_TEXT_MAX];
	int64_t		 n = 0;

	(void)snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_text(path, text, sizeof(text)) <= 0 ||
	    zx_procstat_parse(text, b, st) == -1)
		return (-1);
	(void)snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	st->open_fds = -1;
	if ((d = opendir(path)) == NULL)
		return (0);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	(void)closedir(d);
	/* Our own count includes the descriptor opendir used. */
	st->open_fds = pid == getpid() ? n - 1 : n;
	return (0);
}
