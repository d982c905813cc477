/*
 * artifact.c
 *	The app's side of the artifact store: a job's grid file, checked
 *	before it is served.
 *
 * Opening is a few system calls on a local file (or a shared volume), so
 * the Kore worker does it in line; the file's contents are then sent by
 * sendfile (CSV) or converted in pieces as the client reads (JSON), so a
 * 30 MB grid never sits in memory or holds up the event loop.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "artifact.h"
#include "buf.h"
#include "grid.h"

int
zx_artifact_path(const char *dir, const char *job_id, char *out, size_t len)
{
	size_t	i;
	int	n;

	if (job_id[0] == '\0')
		return (-1);
	for (i = 0; job_id[i] != '\0'; i++) {
		if (!((job_id[i] >= 'a' && job_id[i] <= 'z') ||
		    (job_id[i] >= '0' && job_id[i] <= '9')))
			return (-1);
	}
	n = snprintf(out, len, "%s/%s.csv", dir, job_id);
	return (n < 0 || (size_t)n >= len ? -1 : 0);
}

int
zx_artifact_open(const char *path, long long bytes, const char **why)
{
	struct stat	 st;
	char		 head[sizeof(ZX_GRID_HEADER)];
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			*why = "the grid file is not in this app's artifact store";
		else if (errno == ELOOP)
			*why = "the grid file is a symbolic link; it is not served";
		else
			*why = "the grid file cannot be opened by this app";
		return (-1);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		*why = "the grid file is not a regular file";
		goto fail;
	}
	if ((long long)st.st_size != bytes) {
		*why = "the grid file does not match the job's result (its size "
		    "differs)";
		goto fail;
	}
	/* The header and its newline. */
	while (got < sizeof(head)) {
		if ((n = read(fd, head + got, sizeof(head) - got)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			break;
		}
		got += (size_t)n;
	}
	if (got != sizeof(head) || memcmp(head, ZX_GRID_HEADER,
	    sizeof(head) - 1) != 0 || head[sizeof(head) - 1] != '\n') {
		*why = "the grid file is not in the worker's CSV format";
		goto fail;
	}
	if (lseek(fd, 0, SEEK_SET) == -1) {
		*why = "the grid file cannot be read by this app";
		goto fail;
	}
	return (fd);
fail:
	(void)close(fd);
	return (-1);
}

char *
zx_artifact_default_dir(const char *module_path)
{
	const char	*file, *dir, *build;
	struct zx_buf	 b;

	/* <root>/build/<dir>/<module> */
	if (module_path[0] != '/' || (file = strrchr(module_path, '/')) == NULL)
		return (NULL);
	for (dir = file - 1; dir > module_path && *dir != '/'; dir--)
		;
	for (build = dir - 1; build > module_path && *build != '/'; build--)
		;
	if (dir <= module_path || *build != '/' || dir - build != 6 ||
	    strncmp(build, "/build", 6) != 0 || file - dir < 2)
		return (NULL);
	zx_buf_init(&b, (size_t)(build - module_path) + 32);
	zx_buf_append(&b, module_path, (size_t)(build - module_path));
	zx_buf_puts(&b, "/data/artifacts");
	return (b.data);
}
