/*
 * unix_socket.h - connecting to a UNIX stream socket by path (the simhv
 * control socket, for yaokid's sim backend and simhv's own ctl client).
 */
#ifndef YK_UNIX_SOCKET_H
#define YK_UNIX_SOCKET_H

/* A connected, blocking, close-on-exec fd, or -1 with errno set. */
int yk_unix_connect(const char *path);

#endif
