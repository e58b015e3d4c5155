/*
 * file.h - whole files: read one into memory (or only its end), write one
 * atomically (temporary file, fsync, rename, fsync of the directory).
 */
#ifndef YK_FILE_H
#define YK_FILE_H

#include <stddef.h>
#include <sys/types.h>

#define YK_FILE_NOFOLLOW 0x01  /* a symbolic link is refused (ELOOP) */
#define YK_FILE_NO_NUL   0x02  /* a NUL byte inside is refused (EINVAL) */
#define YK_FILE_TRUSTED  0x04  /* one yk_file_untrusted() rejects is refused
                                  (EPERM) */

struct stat;

/*
 * Why a file (or, with dir, a directory) that root will act upon cannot be
 * trusted, into why; NULL when it can. Trusted: owned by root or by the
 * effective uid (the tests run yaokid as root, but not everywhere), and
 * writable by nobody else: no group or other write bit, except that a
 * directory with the sticky bit may have them when sticky_ok (nobody can
 * then remove or rename what another user owns in it).
 */
const char *yk_file_untrusted(const struct stat *st, int sticky_ok, char *why,
    size_t whylen);

/*
 * The whole file as a NUL-terminated string (length in *lenp if not NULL),
 * or NULL with errno set: EISDIR for a directory, EFBIG when it holds more
 * than max bytes, ENOMEM, or what open/read said.
 */
char *yk_file_read(const char *path, size_t max, int flags, size_t *lenp);

/*
 * The last max bytes of a regular file (all of it when it is shorter) as a
 * NUL-terminated string, or NULL with errno set. The first line may be
 * cut; a file that grows meanwhile is read up to max bytes.
 */
char *yk_file_read_tail(const char *path, size_t max, size_t *lenp);

/*
 * Replaces path with data atomically: written to PATH.tmp.PID with the
 * given mode, fsynced, renamed over path, and the directory fsynced.
 * The temporary file is created with O_EXCL|O_NOFOLLOW (a stale one of
 * this PID, never a link, is removed first) and its mode set through the
 * descriptor, so nothing planted in the directory can make the caller
 * write, truncate or chmod another file; a link planted at path itself is
 * replaced by the rename, never followed. The directory must pass
 * yk_file_untrusted() (sticky allowed), else EPERM.
 * 0, or -1 with errno set (path is then untouched).
 */
int yk_file_write_atomic(const char *path, const void *data, size_t len,
    mode_t mode);

#endif
