/*
 * fd.h - descriptors that a child must not inherit.
 */
#ifndef YK_FD_H
#define YK_FD_H

/*
 * Marks every open descriptor above 2 close-on-exec, for the ones that
 * libraries open without it (libcurl 7.88's multi wake-up socketpair).
 * 0, or -1 with errno set when /proc/self/fd cannot be read.
 */
int yk_fd_cloexec_all(void);

#endif
