/*
 * fd.c - keeps yaokid's descriptors out of the programs it (or libxl) runs:
 * hotplug scripts, device models, bootloaders and the hook must not inherit
 * a yaokictl connection, the listener or a state file. yaoki's own code
 * opens everything with O_CLOEXEC/SOCK_CLOEXEC; this catches what libraries
 * open without it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "fd.h"

static int set_cloexec(int fd);

static int
set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl == -1)
		return -1;
	if (fl & FD_CLOEXEC)
		return 0;
	return fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

int
yk_fd_cloexec_all(void)
{
	struct dirent *de;
	DIR *dp;
	char *end;
	long fd;

	if ((dp = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(dp)) != NULL) {
		errno = 0;
		fd = strtol(de->d_name, &end, 10);
		if (errno != 0 || *end != '\0' || end == de->d_name || fd <= 2 ||
		    fd == dirfd(dp))
			continue;
		/* EBADF: closed since the listing began; nothing to mark. */
		if (set_cloexec((int)fd) == -1 && errno != EBADF) {
			closedir(dp);
			return -1;
		}
	}
	closedir(dp);
	return 0;
}
