/*
 * slowfsync.c - an LD_PRELOAD shim for test_slow_disk.py: fsync and
 * fdatasync of a regular file whose path contains one of the
 * colon-separated strings of YAOKI_SLOWFSYNC_MATCH take YAOKI_SLOWFSYNC_MS
 * longer (a slow or busy disk). Every fsync of a matching file or
 * directory is logged to YAOKI_SLOWFSYNC_LOG, one line each:
 *
 *   START END INTENT TID PATH      (CLOCK_REALTIME seconds; INTENT 1 when
 *                                   the file holds an intent record)
 *
 * Built by the test with cc -shared -fPIC; a test tool, never installed.
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/syscall.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef int sync_fn(int);

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* path contains one of the colon-separated strings of list. */
static int
matches(const char *path, const char *list)
{
	char buf[4096], *tok, *save;

	if (list == NULL || *list == '\0')
		return 0;
	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ":", &save); tok != NULL;
	    tok = strtok_r(NULL, ":", &save))
		if (strstr(path, tok) != NULL)
			return 1;
	return 0;
}

/* The file behind fd holds yaokid's intent record (read afresh). */
static int
holds_intent(const char *proc)
{
	static char text[65536];
	ssize_t n;
	int fd;

	if ((fd = open(proc, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	return strstr(text, "\"intent\":{") != NULL;
}

static int
slow(const char *name, int fd)
{
	sync_fn *real = (sync_fn *)dlsym(RTLD_NEXT, name);
	char proc[64], path[4096], line[4300];
	const char *logp = getenv("YAOKI_SLOWFSYNC_LOG");
	double start, end;
	struct stat st;
	int rc, saved, intent = 0, logfd;
	ssize_t n;

	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, path, sizeof(path) - 1);
	if (n <= 0 || !matches((path[n] = '\0', path),
	    getenv("YAOKI_SLOWFSYNC_MATCH")))
		return real(fd);
	start = now_s();
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		const char *ms = getenv("YAOKI_SLOWFSYNC_MS");
		long delay = ms != NULL ? atol(ms) : 3000;
		struct timespec ts = { delay / 1000, (delay % 1000) * 1000000L };

		intent = holds_intent(proc);
		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
	}
	rc = real(fd);
	saved = errno;
	end = now_s();
	if (logp != NULL &&
	    (logfd = open(logp, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0644)) != -1) {
		n = snprintf(line, sizeof(line), "%.6f %.6f %d %ld %s\n", start,
		    end, intent, (long)syscall(SYS_gettid), path);
		if (n > 0 && write(logfd, line, (size_t)n) < 0)
			;
		close(logfd);
	}
	errno = saved;
	return rc;
}

int
fsync(int fd)
{
	return slow("fsync", fd);
}

int
fdatasync(int fd)
{
	return slow("fdatasync", fd);
}
