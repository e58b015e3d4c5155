/*
 * file.c - whole-file reads and atomic whole-file writes, for every file
 * yaoki reads or writes in one piece (configuration, state, captured
 * domain configurations, metrics, pid file), and bounded reads of a
 * growing file's end (a log).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"

#define READ_CHUNK 8192

static int read_all(int fd, size_t max, char **bufp, size_t *lenp);
static int write_all(int fd, const char *data, size_t len);
static int fsync_dir_of(const char *path);

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

static int
fsync_dir_of(const char *path)
{
	char tmp[PATH_MAX];
	int fd, rc;

	snprintf(tmp, sizeof(tmp), "%s", path);
	fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
yk_file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode)
{
	char tmp[PATH_MAX];
	int fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd == -1)
		return -1;
	if (write_all(fd, data, len) == -1 || fchmod(fd, mode) == -1 ||
	    fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	return fsync_dir_of(path);
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}
