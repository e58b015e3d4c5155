/*
 * unix_socket.h - UNIX stream sockets by path: connecting to one, and
 * listening on one without ever stealing a live daemon's socket.
 */
#ifndef YK_UNIX_SOCKET_H
#define YK_UNIX_SOCKET_H

#include <stddef.h>
#include <sys/types.h>

/*
 * A connected, blocking, close-on-exec fd, or -1 with errno set. With
 * timeout_s > 0, connecting (a full listen queue), sending and receiving
 * each give up after that many seconds.
 */
int yk_unix_connect(const char *path, int timeout_s);

/*
 * A listening, non-blocking, close-on-exec socket at path, with the given
 * mode and (gid != -1) group. A stale socket file (nobody accepts on it) is
 * replaced; a live one, or anything that is not a socket, is left alone.
 * who names the program that would be serving a live one ("yaokid").
 * Returns the fd, or -1 with a one-line reason in err ("socket PATH: ...").
 */
int yk_unix_listen(const char *path, mode_t mode, gid_t gid, const char *who,
    char *err, size_t errlen);

#endif
