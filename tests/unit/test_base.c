/*
 * test_base.c - base/: whole-file reads and atomic writes (file.c), making
 * bytes printable (text.c), the wall clock (clock.c) and UNIX sockets by
 * path (unix_socket.c).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "file.h"
#include "text.h"
#include "unix_socket.h"
#include "scratch.h"

static void
write_file(const char *path, const char *text, size_t len)
{
	FILE *f;

	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* The directory's entries other than . and .., counted. */
static int
count_entries(const char *dir)
{
	struct dirent *de;
	int n = 0;
	DIR *dp;

	assert_non_null(dp = opendir(dir));
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(dp);
	return n;
}

/* ---- yk_file_read -------------------------------------------------------- */

static void
test_read_whole_file(void **state)
{
	char path[PATH_MAX], big[3 * 8192 + 17], *text;
	const char *dir = *state;
	size_t len = 12345, i;

	scratch_path(path, sizeof(path), dir, "f");
	write_file(path, "hello\nworld\n", 12);
	assert_non_null(text = yk_file_read(path, 1024, 0, &len));
	assert_int_equal(len, 12);
	assert_string_equal(text, "hello\nworld\n");
	free(text);
	/* lenp may be NULL. */
	assert_non_null(text = yk_file_read(path, 1024, 0, NULL));
	assert_string_equal(text, "hello\nworld\n");
	free(text);

	/* Larger than one read chunk: every byte, in order. */
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	write_file(path, big, sizeof(big));
	assert_non_null(text = yk_file_read(path, sizeof(big), 0, &len));
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(text, big, sizeof(big));
	assert_int_equal(text[len], '\0');
	free(text);
}

static void
test_read_empty_file(void **state)
{
	char path[PATH_MAX], *text;
	const char *dir = *state;
	size_t len = 99;

	scratch_path(path, sizeof(path), dir, "empty");
	write_file(path, "", 0);
	assert_non_null(text = yk_file_read(path, 0, YK_FILE_NO_NUL, &len));
	assert_int_equal(len, 0);
	assert_string_equal(text, "");
	free(text);
}

static void
test_read_max_size(void **state)
{
	char path[PATH_MAX], *text;
	const char *dir = *state;
	size_t len;

	scratch_path(path, sizeof(path), dir, "f");
	write_file(path, "0123456789", 10);
	/* Exactly max bytes is fine; one more is EFBIG. */
	assert_non_null(text = yk_file_read(path, 10, 0, &len));
	assert_int_equal(len, 10);
	assert_string_equal(text, "0123456789");
	free(text);
	errno = 0;
	assert_null(yk_file_read(path, 9, 0, &len));
	assert_int_equal(errno, EFBIG);
	errno = 0;
	assert_null(yk_file_read(path, 0, 0, &len));
	assert_int_equal(errno, EFBIG);
}

static void
test_read_errors(void **state)
{
	char path[PATH_MAX], link_path[PATH_MAX], *text;
	const char *dir = *state;
	size_t len;

	/* A directory. */
	errno = 0;
	assert_null(yk_file_read(dir, 1024, 0, &len));
	assert_int_equal(errno, EISDIR);

	/* Missing. */
	scratch_path(path, sizeof(path), dir, "missing");
	errno = 0;
	assert_null(yk_file_read(path, 1024, 0, &len));
	assert_int_equal(errno, ENOENT);

	/* A NUL byte inside: refused only with YK_FILE_NO_NUL. */
	scratch_path(path, sizeof(path), dir, "nul");
	write_file(path, "ab\0cd", 5);
	errno = 0;
	assert_null(yk_file_read(path, 1024, YK_FILE_NO_NUL, &len));
	assert_int_equal(errno, EINVAL);
	assert_non_null(text = yk_file_read(path, 1024, 0, &len));
	assert_int_equal(len, 5);
	assert_memory_equal(text, "ab\0cd", 6);
	free(text);

	/* A symbolic link: refused only with YK_FILE_NOFOLLOW. */
	scratch_path(link_path, sizeof(link_path), dir, "link");
	assert_int_equal(symlink(path, link_path), 0);
	errno = 0;
	assert_null(yk_file_read(link_path, 1024, YK_FILE_NOFOLLOW, &len));
	assert_int_equal(errno, ELOOP);
	assert_non_null(text = yk_file_read(link_path, 1024, 0, &len));
	assert_int_equal(len, 5);
	free(text);
}

/* ---- yk_file_write_atomic ------------------------------------------------ */

static void
test_write_atomic_content_and_mode(void **state)
{
	char path[PATH_MAX], *text;
	const char *dir = *state;
	struct stat st;
	mode_t old;
	size_t len;

	scratch_path(path, sizeof(path), dir, "out");
	old = umask(0);
	assert_int_equal(yk_file_write_atomic(path, "first\n", 6, 0640), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_non_null(text = yk_file_read(path, 64, 0, &len));
	assert_int_equal(len, 6);
	assert_string_equal(text, "first\n");
	free(text);

	/* Replaced: the new content, the new mode, even against the umask. */
	umask(077);
	assert_int_equal(yk_file_write_atomic(path, "2\0x", 3, 0644), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_non_null(text = yk_file_read(path, 64, 0, &len));
	assert_int_equal(len, 3);
	assert_memory_equal(text, "2\0x", 3);
	free(text);

	/* An empty file. */
	assert_int_equal(yk_file_write_atomic(path, "", 0, 0600), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* No temporary left behind. */
	assert_int_equal(count_entries(dir), 1);
}

/*
 * yk_file_write_atomic into sub as an unprivileged user: root ignores the
 * directory's mode, so as root the write runs in a child as nobody. The
 * result is 0 when the write failed with EACCES, else 1 (or 2: no setuid).
 */
static int
write_unprivileged(const char *sub, const char *path)
{
	int status;
	pid_t pid;

	if (geteuid() != 0) {
		errno = 0;
		return yk_file_write_atomic(path, "new", 3, 0600) == -1 &&
		    errno == EACCES ? 0 : 1;
	}
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		if (setgid(65534) == -1 || setuid(65534) == -1 ||
		    access(sub, W_OK) == 0)
			_exit(2);
		errno = 0;
		_exit(yk_file_write_atomic(path, "new", 3, 0600) == -1 &&
		    errno == EACCES ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
test_write_atomic_failure_leaves_old_file(void **state)
{
	char sub[PATH_MAX], path[PATH_MAX], *text;
	const char *dir = *state;
	struct stat st;
	size_t len;

	scratch_path(sub, sizeof(sub), dir, "ro");
	assert_int_equal(mkdir(sub, 0700), 0);
	scratch_path(path, sizeof(path), sub, "out");
	assert_int_equal(yk_file_write_atomic(path, "old", 3, 0644), 0);
	/* Searchable, not writable, by anyone but root. */
	assert_int_equal(chmod(dir, 0711), 0);
	assert_int_equal(chmod(sub, 0555), 0);
	assert_int_equal(write_unprivileged(sub, path), 0);
	assert_int_equal(chmod(sub, 0700), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_non_null(text = yk_file_read(path, 64, 0, &len));
	assert_int_equal(len, 3);
	assert_string_equal(text, "old");
	free(text);
	assert_int_equal(count_entries(sub), 1);

	/* A missing directory: -1, ENOENT, nothing created. */
	scratch_path(path, sizeof(path), dir, "nodir/out");
	errno = 0;
	assert_int_equal(yk_file_write_atomic(path, "x", 1, 0600), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(count_entries(dir), 1);
}

/*
 * Links planted at the temporary name and at the final name, pointing at a
 * victim: the victim keeps its content and mode, the links are replaced.
 */
static void
test_write_atomic_never_follows_links(void **state)
{
	char victim[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX + 32], *text;
	const char *dir = *state;
	struct stat st;
	size_t len;

	scratch_path(victim, sizeof(victim), dir, "victim");
	assert_int_equal(yk_file_write_atomic(victim, "precious", 8, 0640), 0);
	scratch_path(path, sizeof(path), dir, "out");
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	assert_int_equal(symlink(victim, tmp), 0);
	assert_int_equal(symlink(victim, path), 0);
	assert_int_equal(yk_file_write_atomic(path, "new", 3, 0644), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_non_null(text = yk_file_read(victim, 64, 0, &len));
	assert_string_equal(text, "precious");
	free(text);
	assert_int_equal(count_entries(dir), 2);       /* victim, out */
}

/* A directory others may write is refused, unless sticky. */
static void
test_write_atomic_checks_the_directory(void **state)
{
	char sub[PATH_MAX], path[PATH_MAX];
	const char *dir = *state;

	scratch_path(sub, sizeof(sub), dir, "textfile");
	assert_int_equal(mkdir(sub, 0700), 0);
	scratch_path(path, sizeof(path), sub, "yaoki.prom");
	assert_int_equal(chmod(sub, 0777), 0);
	errno = 0;
	assert_int_equal(yk_file_write_atomic(path, "x", 1, 0644), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(chmod(sub, 0775), 0);
	errno = 0;
	assert_int_equal(yk_file_write_atomic(path, "x", 1, 0644), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(count_entries(sub), 0);
	assert_int_equal(chmod(sub, 01777), 0);
	assert_int_equal(yk_file_write_atomic(path, "x", 1, 0644), 0);
	assert_int_equal(chmod(sub, 0755), 0);
	assert_int_equal(yk_file_write_atomic(path, "y", 1, 0644), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(sub, 4242, (gid_t)-1), 0);
		errno = 0;
		assert_int_equal(yk_file_write_atomic(path, "z", 1, 0644), -1);
		assert_int_equal(errno, EPERM);
	}
}

/* What yk_file_untrusted says, and what yk_file_read(YK_FILE_TRUSTED) does. */
static void
test_untrusted(void **state)
{
	char path[PATH_MAX], why[128];
	const char *dir = *state;
	struct stat st;
	size_t len;
	char *text;

	memset(&st, 0, sizeof(st));
	st.st_uid = geteuid();
	st.st_mode = S_IFREG | 0644;
	assert_null(yk_file_untrusted(&st, 0, why, sizeof(why)));
	st.st_mode = S_IFREG | 0664;
	assert_string_equal(yk_file_untrusted(&st, 0, why, sizeof(why)),
	    "writable by its group (mode 0664); only its owner may write it");
	st.st_mode = S_IFDIR | 01777;
	assert_null(yk_file_untrusted(&st, 1, why, sizeof(why)));
	assert_non_null(yk_file_untrusted(&st, 0, why, sizeof(why)));
	st.st_mode = S_IFREG | 01777;                 /* sticky: dirs only */
	assert_non_null(yk_file_untrusted(&st, 1, why, sizeof(why)));
	st.st_mode = S_IFREG | 0600;
	st.st_uid = geteuid() == 4242 ? 4243 : 4242;
	snprintf(path, sizeof(path), "owned by uid %ld; it must be owned by "
	    "root", (long)st.st_uid);
	assert_string_equal(yk_file_untrusted(&st, 0, why, sizeof(why)), path);

	scratch_path(path, sizeof(path), dir, "conf.json");
	assert_int_equal(yk_file_write_atomic(path, "{}", 2, 0666), 0);
	errno = 0;
	assert_null(yk_file_read(path, 64, YK_FILE_TRUSTED, &len));
	assert_int_equal(errno, EPERM);
	assert_int_equal(chmod(path, 0644), 0);
	assert_non_null(text = yk_file_read(path, 64, YK_FILE_TRUSTED, &len));
	free(text);
}

/* ---- yk_text_printable --------------------------------------------------- */

static void
test_printable_replaces_bytes(void **state)
{
	char dst[64];

	(void)state;
	memset(dst, 'Z', sizeof(dst));
	assert_int_equal(yk_text_printable(dst, sizeof(dst),
	    "a\tb\nc\rd\x1b[0m\x7f\x80\xff~ !"), 17);
	assert_string_equal(dst, "a?b?c?d?[0m???~ !");
	assert_int_equal(yk_text_printable(dst, sizeof(dst), ""), 0);
	assert_string_equal(dst, "");
	assert_int_equal(yk_text_printable(dst, sizeof(dst), "\x01\x1f\x20"), 3);
	assert_string_equal(dst, "?? ");
}

static void
test_printable_truncates(void **state)
{
	char dst[8];

	(void)state;
	memset(dst, 'Z', sizeof(dst));
	assert_int_equal(yk_text_printable(dst, 5, "abcdefgh"), 4);
	assert_string_equal(dst, "abcd");
	assert_int_equal(dst[5], 'Z');
	/* Exactly dstlen - 1 fits whole. */
	assert_int_equal(yk_text_printable(dst, 4, "x\ny"), 3);
	assert_string_equal(dst, "x?y");
	/* dstlen 1: only the terminator. */
	memset(dst, 'Z', sizeof(dst));
	assert_int_equal(yk_text_printable(dst, 1, "abc"), 0);
	assert_int_equal(dst[0], '\0');
	assert_int_equal(dst[1], 'Z');
	/* dstlen 0: nothing written at all. */
	memset(dst, 'Z', sizeof(dst));
	assert_int_equal(yk_text_printable(dst, 0, "abc"), 0);
	assert_int_equal(dst[0], 'Z');
}

static void
test_printable_in_place(void **state)
{
	char buf[] = "ok\x01\xc3\xa9 fine\n";

	(void)state;
	assert_int_equal(yk_text_printable(buf, sizeof(buf), buf), 11);
	assert_string_equal(buf, "ok??? fine?");
	/* In place and truncated. */
	assert_int_equal(yk_text_printable(buf, 3, buf), 2);
	assert_string_equal(buf, "ok");
}

/* ---- yk_wall_ms ---------------------------------------------------------- */

static void
test_wall_ms(void **state)
{
	int64_t before, ms, after;

	(void)state;
	before = (int64_t)time(NULL) * 1000;
	ms = yk_wall_ms();
	after = (int64_t)time(NULL) * 1000;
	assert_true(ms >= before - 1000 && ms <= after + 1000);
	/* Same second as time(): ms lies within [before, after + 999]. */
	assert_true(ms >= before && ms < after + 1000);
	/* Not the monotonic clock. */
	assert_true(ms > 1000000000000LL);
}

/* ---- yk_unix_listen / yk_unix_connect ------------------------------------ */

static void
test_listen_mode_and_connect(void **state)
{
	char path[PATH_MAX], err[256] = "";
	const char *dir = *state;
	int lfd, cfd, afd, flags;
	struct stat st;
	char c = 0;

	scratch_path(path, sizeof(path), dir, "ctl.sock");
	lfd = yk_unix_listen(path, 0660, (gid_t)-1, "yaokid", err, sizeof(err));
	assert_true(lfd >= 0);
	assert_string_equal(err, "");
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	flags = fcntl(lfd, F_GETFL);
	assert_true(flags & O_NONBLOCK);
	assert_true(fcntl(lfd, F_GETFD) & FD_CLOEXEC);

	cfd = yk_unix_connect(path, 2);
	assert_true(cfd >= 0);
	assert_true(fcntl(cfd, F_GETFD) & FD_CLOEXEC);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	assert_int_equal(write(cfd, "p", 1), 1);
	assert_int_equal(read(afd, &c, 1), 1);
	assert_int_equal(c, 'p');
	assert_int_equal(write(afd, "q", 1), 1);
	assert_int_equal(read(cfd, &c, 1), 1);
	assert_int_equal(c, 'q');
	close(afd);
	close(cfd);
	close(lfd);

	/* Another mode. */
	assert_int_equal(unlink(path), 0);
	lfd = yk_unix_listen(path, 0600, (gid_t)-1, "yaokid", err, sizeof(err));
	assert_true(lfd >= 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	close(lfd);
}

static void
test_listen_replaces_stale_socket(void **state)
{
	char path[PATH_MAX], err[256] = "";
	const char *dir = *state;
	struct sockaddr_un sun;
	int fd, lfd, cfd;
	struct stat st;

	/* A socket file nobody accepts on: bound, then closed. */
	scratch_path(path, sizeof(path), dir, "stale.sock");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path));
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	errno = 0;
	assert_int_equal(yk_unix_connect(path, 1), -1);
	assert_int_equal(errno, ECONNREFUSED);

	lfd = yk_unix_listen(path, 0600, (gid_t)-1, "yaokid", err, sizeof(err));
	assert_true(lfd >= 0);
	assert_string_equal(err, "");
	assert_true((cfd = yk_unix_connect(path, 1)) >= 0);
	close(cfd);
	close(lfd);
}

static void
test_listen_does_not_steal_a_live_socket(void **state)
{
	char path[PATH_MAX], expect[PATH_MAX + 64], err[PATH_MAX + 64] = "";
	const char *dir = *state;
	int lfd, cfd, afd;
	struct stat st1, st2;

	scratch_path(path, sizeof(path), dir, "live.sock");
	lfd = yk_unix_listen(path, 0600, (gid_t)-1, "yaokid", err, sizeof(err));
	assert_true(lfd >= 0);
	assert_int_equal(lstat(path, &st1), 0);

	assert_int_equal(yk_unix_listen(path, 0666, (gid_t)-1, "yaokid", err,
	    sizeof(err)), -1);
	snprintf(expect, sizeof(expect),
	    "socket %s: another yaokid is serving it", path);
	assert_string_equal(err, expect);
	/* The same file, its mode unchanged, still served by the first. */
	assert_int_equal(lstat(path, &st2), 0);
	assert_int_equal(st2.st_ino, st1.st_ino);
	assert_int_equal(st2.st_mode & 07777, 0600);
	assert_true((cfd = yk_unix_connect(path, 1)) >= 0);
	/* The probing connection of yk_unix_listen is queued too; drain both. */
	while ((afd = accept(lfd, NULL, NULL)) >= 0)
		close(afd);
	close(cfd);
	close(lfd);
}

static void
test_listen_refuses_a_regular_file(void **state)
{
	char path[PATH_MAX], expect[PATH_MAX + 64], err[PATH_MAX + 64] = "";
	const char *dir = *state;
	char *text;
	size_t len;

	scratch_path(path, sizeof(path), dir, "not.sock");
	write_file(path, "precious", 8);
	assert_int_equal(yk_unix_listen(path, 0600, (gid_t)-1, "yaokid", err,
	    sizeof(err)), -1);
	snprintf(expect, sizeof(expect),
	    "socket %s: exists and is not a socket; refusing to replace it",
	    path);
	assert_string_equal(err, expect);
	assert_non_null(strstr(err, "not a socket"));
	assert_non_null(text = yk_file_read(path, 64, 0, &len));
	assert_int_equal(len, 8);
	assert_string_equal(text, "precious");
	free(text);
}

static void
test_listen_path_too_long(void **state)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
	char expect[256 + sizeof(path)], err[256 + sizeof(path)] = "";
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	const char *dir = *state;
	size_t n;

	/* One byte too long (no room for the terminator). */
	n = (size_t)snprintf(path, sizeof(path), "%s/", dir);
	memset(path + n, 's', max + 1 - n);
	path[max + 1] = '\0';
	assert_int_equal(strlen(path), max + 1);
	assert_int_equal(yk_unix_listen(path, 0600, (gid_t)-1, "yaokid", err,
	    sizeof(err)), -1);
	snprintf(expect, sizeof(expect),
	    "socket %s: path too long (at most %zu bytes)", path, max);
	assert_string_equal(err, expect);
	errno = 0;
	assert_int_equal(yk_unix_connect(path, 1), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(count_entries(dir), 0);

	/* Exactly at most: fine. */
	path[max] = '\0';
	{
		int lfd, cfd;

		lfd = yk_unix_listen(path, 0600, (gid_t)-1, "yaokid", err,
		    sizeof(err));
		assert_true(lfd >= 0);
		assert_true((cfd = yk_unix_connect(path, 1)) >= 0);
		close(cfd);
		close(lfd);
	}
}

static void
test_connect_nothing_there(void **state)
{
	char path[PATH_MAX];
	const char *dir = *state;

	scratch_path(path, sizeof(path), dir, "none.sock");
	errno = 0;
	assert_int_equal(yk_unix_connect(path, 0), -1);
	assert_int_equal(errno, ENOENT);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, scratch_setup, scratch_teardown)
	const struct CMUnitTest tests[] = {
		T(test_read_whole_file),
		T(test_read_empty_file),
		T(test_read_max_size),
		T(test_read_errors),
		T(test_write_atomic_content_and_mode),
		T(test_write_atomic_failure_leaves_old_file),
		T(test_write_atomic_never_follows_links),
		T(test_write_atomic_checks_the_directory),
		T(test_untrusted),
		cmocka_unit_test(test_printable_replaces_bytes),
		cmocka_unit_test(test_printable_truncates),
		cmocka_unit_test(test_printable_in_place),
		cmocka_unit_test(test_wall_ms),
		T(test_listen_mode_and_connect),
		T(test_listen_replaces_stale_socket),
		T(test_listen_does_not_steal_a_live_socket),
		T(test_listen_refuses_a_regular_file),
		T(test_listen_path_too_long),
		T(test_connect_nothing_there),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
