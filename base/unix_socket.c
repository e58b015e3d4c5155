/*
 * unix_socket.c - UNIX stream sockets by path: connect, and listen with
 * stale-socket detection (a socket file left by a crash is replaced; one
 * a live process accepts on is never taken over).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "unix_socket.h"

static int sun_set(struct sockaddr_un *sun, const char *path);
static int socket_in_use(const struct sockaddr_un *sun, char *err,
    size_t errlen);
static int bind_listen(const struct sockaddr_un *sun, mode_t mode, gid_t gid,
    char *err, size_t errlen);

static int
sun_set(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun->sun_path, path, strlen(path));
	return 0;
}

int
yk_unix_connect(const char *path, int timeout_s)
{
	struct timeval tv = { .tv_sec = timeout_s };
	struct sockaddr_un sun;
	int fd, saved;

	if (sun_set(&sun, path) == -1)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	/* SO_SNDTIMEO also bounds connect() when the listen queue is full. */
	if ((timeout_s > 0 &&
	    (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)) ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * Is a process serving sun? 1 yes, 0 no (nothing there, or a stale socket
 * file), -1 something else is there or it cannot be told (err set).
 */
static int
socket_in_use(const struct sockaddr_un *sun, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc, saved;

	if (lstat(sun->sun_path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "socket %s: %s", sun->sun_path,
		    strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "socket %s: exists and is not a socket; "
		    "refusing to replace it", sun->sun_path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	saved = errno;
	close(fd);
	/* A full backlog (EAGAIN) is a live listener too. */
	if (rc == 0 || saved == EAGAIN || saved == EINPROGRESS)
		return 1;
	if (saved == ECONNREFUSED)
		return 0;
	snprintf(err, errlen, "socket %s: %s", sun->sun_path, strerror(saved));
	return -1;
}

static int
bind_listen(const struct sockaddr_un *sun, mode_t mode, gid_t gid, char *err,
    size_t errlen)
{
	const char *path = sun->sun_path;
	mode_t old;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* Never reachable by others, not even between bind and chmod. */
	old = umask(0177);
	if (bind(fd, (const struct sockaddr *)sun, sizeof(*sun)) == -1) {
		umask(old);
		snprintf(err, errlen, "socket %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	umask(old);
	if ((gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) == -1) ||
	    chmod(path, mode) == -1) {
		snprintf(err, errlen, "socket %s: cannot set group and mode: %s",
		    path, strerror(errno));
		goto fail;
	}
	if (listen(fd, 128) == -1) {
		snprintf(err, errlen, "socket %s: listen: %s", path,
		    strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	unlink(path);
	return -1;
}

int
yk_unix_listen(const char *path, mode_t mode, gid_t gid, const char *who,
    char *err, size_t errlen)
{
	struct sockaddr_un sun;

	if (sun_set(&sun, path) == -1) {
		snprintf(err, errlen, "socket %s: path too long (at most %zu "
		    "bytes)", path, sizeof(sun.sun_path) - 1);
		return -1;
	}
	switch (socket_in_use(&sun, err, errlen)) {
	case 1:
		snprintf(err, errlen, "socket %s: another %s is serving it",
		    path, who);
		return -1;
	case -1:
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "socket %s: cannot remove the stale "
		    "socket: %s", path, strerror(errno));
		return -1;
	}
	return bind_listen(&sun, mode, gid, err, errlen);
}
