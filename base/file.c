/*
 * file.c - whole-file reads and atomic whole-file writes, for every file
 * yaoki reads or writes in one piece (configuration, state, captured
 * domain configurations, metrics, pid file), and bounded reads of a
 * growing file's end (a log). Root writes through it into directories
 * other users may write (a node_exporter textfile directory): it never
 * follows a link planted there, and never writes where it cannot trust
 * the directory's owner.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"

#define READ_CHUNK 8192

static int read_all(int fd, size_t max, char **bufp, size_t *lenp);
static int write_all(int fd, const char *data, size_t len);
static int open_dir_of(const char *, char *, size_t, const char **);
static int create_temporary(int, const char *, mode_t);

/* Reads fd to its end into a growing buffer; 0 or -1 with errno set. */
static int
read_all(int fd, size_t max, char **bufp, size_t *lenp)
{
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0;
	ssize_t n;

	for (;;) {
		if (len + 1 >= cap) {
			if (cap > max) {
				free(buf);
				errno = EFBIG;
				return -1;
			}
			cap = cap == 0 ? READ_CHUNK : cap * 2;
			if ((nb = realloc(buf, cap)) == NULL) {
				free(buf);
				errno = ENOMEM;
				return -1;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		free(buf);
		errno = EFBIG;
		return -1;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return 0;
}

char *
yk_file_read(const char *path, size_t max, int flags, size_t *lenp)
{
	char why[128];
	struct stat st;
	char *buf;
	size_t len;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC |
	    ((flags & YK_FILE_NOFOLLOW) ? O_NOFOLLOW : 0));
	if (fd == -1)
		return NULL;
	if (fstat(fd, &st) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		errno = EISDIR;
		return NULL;
	}
	if ((flags & YK_FILE_TRUSTED) &&
	    yk_file_untrusted(&st, 0, why, sizeof(why)) != NULL) {
		close(fd);
		errno = EPERM;
		return NULL;
	}
	if (read_all(fd, max, &buf, &len) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	close(fd);
	if ((flags & YK_FILE_NO_NUL) && strlen(buf) != len) {
		free(buf);
		errno = EINVAL;
		return NULL;
	}
	if (lenp != NULL)
		*lenp = len;
	return buf;
}

char *
yk_file_read_tail(const char *path, size_t max, size_t *lenp)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, saved;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		saved = S_ISDIR(st.st_mode) ? EISDIR : errno;
		goto fail;
	}
	if ((size_t)st.st_size > max &&
	    lseek(fd, st.st_size - (off_t)max, SEEK_SET) == -1) {
		saved = errno;
		goto fail;
	}
	if ((buf = malloc(max + 1)) == NULL) {
		saved = ENOMEM;
		goto fail;
	}
	while (len < max) {
		n = read(fd, buf + len, max - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (lenp != NULL)
		*lenp = len;
	return buf;
fail:
	free(buf);
	close(fd);
	errno = saved;
	return NULL;
}

static int
write_all(int fd, const char *data, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = write(fd, data + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

const char *
yk_file_untrusted(const struct stat *st, int sticky_ok, char *why,
    size_t whylen)
{
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(why, whylen, "owned by uid %ld; it must be owned by "
		    "root", (long)st->st_uid);
		return why;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) &&
	    !(sticky_ok && S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX))) {
		snprintf(why, whylen, "writable by %s (mode %04o); only its "
		    "owner may write it", (st->st_mode & S_IWOTH) ?
		    "anybody" : "its group", (unsigned)(st->st_mode & 07777));
		return why;
	}
	return NULL;
}

/*
 * The directory of path, opened and checked (yk_file_untrusted, sticky
 * allowed); its descriptor, and the file's name in it in *namep, or -1
 * with errno set (EPERM: not trusted).
 */
static int
open_dir_of(const char *path, char *dbuf, size_t dlen, const char **namep)
{
	struct stat st;
	char why[128];
	char *slash;
	int fd, saved;

	if (snprintf(dbuf, dlen, "%s", path) >= (int)dlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((slash = strrchr(dbuf, '/')) == NULL) {
		*namep = path;
		snprintf(dbuf, dlen, ".");
	} else {
		*namep = path + (slash - dbuf) + 1;
		if (slash == dbuf)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	if (**namep == '\0') {
		errno = EISDIR;
		return -1;
	}
	fd = open(dbuf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (yk_file_untrusted(&st, 1, why, sizeof(why)) != NULL) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/* Creates the temporary name afresh: never an existing file or a link. */
static int
create_temporary(int dirfd, const char *tmp, mode_t mode)
{
	int fd;

	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode & 0600);
	if (fd != -1 || errno != EEXIST)
		return fd;
	/* Left by a crash of a process with our PID, or planted: unlink
	 * removes the name (a link, never its target) and we try once more. */
	if (unlinkat(dirfd, tmp, 0) == -1 && errno != ENOENT)
		return -1;
	return openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode & 0600);
}

int
yk_file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode)
{
	char dir[PATH_MAX], tmp[NAME_MAX + 1];
	const char *name;
	int dirfd, fd = -1, saved;

	if ((dirfd = open_dir_of(path, dir, sizeof(dir), &name)) == -1)
		return -1;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", name, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		close(dirfd);
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = create_temporary(dirfd, tmp, mode)) == -1) {
		saved = errno;
		close(dirfd);
		errno = saved;
		return -1;
	}
	if (write_all(fd, data, len) == -1 || fchmod(fd, mode) == -1 ||
	    fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(dirfd, tmp, dirfd, name) == -1)
		goto fail;
	if (fsync(dirfd) == -1)
		goto fail_dir;
	close(dirfd);
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlinkat(dirfd, tmp, 0);
	close(dirfd);
	errno = saved;
	return -1;
fail_dir:
	saved = errno;
	close(dirfd);
	errno = saved;
	return -1;
}
