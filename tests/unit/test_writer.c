/*
 * test_writer.c - writer.c: writes in the order they were queued, a
 * coalescing write replacing the text still waiting for its path (never a
 * write somebody waits for), each end reported once on the loop with its
 * error, the loop never blocked by a slow write, and real files written.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
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

#include <event2/event.h>

#include "clock.h"
#include "file.h"
#include "log.h"
#include "scratch.h"
#include "writer.h"

/*
 * A fake disk: records each write ("path=text "), fails those whose text
 * starts with "fail", and blocks while the gate is closed, so that a test
 * can keep the thread busy and queue behind it.
 */
static pthread_mutex_t disk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t disk_cond = PTHREAD_COND_INITIALIZER;
static bool gate_closed;
static bool writing;                    /* the thread is inside fake_write */
static char disk_log[2048];

static int
fake_write(const char *path, const void *data, size_t len, mode_t mode)
{
	size_t off;

	(void)mode;
	pthread_mutex_lock(&disk_lock);
	writing = true;
	pthread_cond_broadcast(&disk_cond);
	while (gate_closed)
		pthread_cond_wait(&disk_cond, &disk_lock);
	off = strlen(disk_log);
	snprintf(disk_log + off, sizeof(disk_log) - off, "%s=%.*s ", path,
	    (int)len, (const char *)data);
	writing = false;
	pthread_mutex_unlock(&disk_lock);
	if (len >= 4 && memcmp(data, "fail", 4) == 0) {
		errno = ENOSPC;
		return -1;
	}
	return 0;
}

static void
gate(bool closed)
{
	pthread_mutex_lock(&disk_lock);
	gate_closed = closed;
	pthread_cond_broadcast(&disk_cond);
	pthread_mutex_unlock(&disk_lock);
}

/* Waits until the thread is held at the gate with a write in hand. */
static void
wait_writing(void)
{
	pthread_mutex_lock(&disk_lock);
	while (!writing)
		pthread_cond_wait(&disk_cond, &disk_lock);
	pthread_mutex_unlock(&disk_lock);
}

/* The ends reported, in order: "tag:path:err ". */
static char ends[2048];

static void
ended(void *arg, const char *path, int err)
{
	size_t off = strlen(ends);

	snprintf(ends + off, sizeof(ends) - off, "%s:%s:%d ",
	    (const char *)arg, path, err);
}

struct fixture {
	struct event_base *base;
	struct writer *w;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->base = event_base_new()) == NULL)
		return -1;
	disk_log[0] = ends[0] = '\0';
	gate_closed = writing = false;
	f->w = writer_new(f->base, fake_write);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	gate(false);
	writer_free(f->w);
	event_base_free(f->base);
	free(f);
	return 0;
}

/* Runs the loop (never blocking) until w is idle; false after ~5 s. */
static bool
loop_until_idle(struct fixture *f)
{
	struct timespec ts = { 0, 1000 * 1000 };
	int i;

	for (i = 0; i < 5000 && writer_busy(f->w); i++) {
		event_base_loop(f->base, EVLOOP_NONBLOCK);
		nanosleep(&ts, NULL);
	}
	return !writer_busy(f->w);
}

static void
submit(struct fixture *f, const char *path, const char *text, unsigned flags,
    const char *tag)
{
	writer_submit(f->w, path, text, strlen(text), 0600, flags,
	    tag != NULL ? ended : NULL, (void *)tag);
}

/* Writes run in the order they were queued; their ends come in that order. */
static void
test_order(void **state)
{
	struct fixture *f = *state;

	submit(f, "a", "1", 0, "t1");
	submit(f, "b", "2", 0, "t2");
	submit(f, "a", "3", 0, "t3");
	submit(f, "c", "4", WRITER_COALESCE, "t4");
	assert_true(loop_until_idle(f));
	assert_string_equal(disk_log, "a=1 b=2 a=3 c=4 ");
	assert_string_equal(ends, "t1:a:0 t2:b:0 t3:a:0 t4:c:0 ");
}

/* Ends are reported on the loop, never inside writer_submit. */
static void
test_ends_on_the_loop(void **state)
{
	struct fixture *f = *state;

	submit(f, "a", "1", 0, "t1");
	writer_drain(f->w);
	assert_string_equal(ends, "t1:a:0 ");
	ends[0] = '\0';
	submit(f, "a", "2", 0, "t2");
	assert_string_equal(ends, "");
	assert_true(writer_busy(f->w));
	assert_true(loop_until_idle(f));
	assert_string_equal(ends, "t2:a:0 ");
}

/*
 * While the thread is busy, a newer coalescing text replaces the one
 * waiting for the same path (one write, one end), keeping its place.
 */
static void
test_coalescing(void **state)
{
	struct fixture *f = *state;

	gate(true);
	submit(f, "busy", "0", 0, NULL);
	wait_writing();
	submit(f, "metrics", "m1", WRITER_COALESCE, "m");
	submit(f, "state", "s1", WRITER_COALESCE, NULL);
	submit(f, "metrics", "m2", WRITER_COALESCE, "m");
	submit(f, "state", "s2", WRITER_COALESCE, NULL);
	submit(f, "metrics", "m3", WRITER_COALESCE, "m");
	gate(false);
	assert_true(loop_until_idle(f));
	assert_string_equal(disk_log, "busy=0 metrics=m3 state=s2 ");
	assert_string_equal(ends, "m:metrics:0 ");
}

/*
 * A write somebody waits for is never replaced nor merged into, and a
 * coalescing write never jumps over it: the order per path holds.
 */
static void
test_waited_write_is_a_barrier(void **state)
{
	struct fixture *f = *state;

	gate(true);
	submit(f, "busy", "0", 0, NULL);
	wait_writing();
	submit(f, "state", "s1", WRITER_COALESCE, NULL);
	submit(f, "state", "intent", 0, "intent");
	submit(f, "state", "s2", WRITER_COALESCE, NULL);
	submit(f, "state", "s3", WRITER_COALESCE, NULL);
	submit(f, "state", "intent2", 0, "intent2");
	/* Without the flag, on either side, nothing merges. */
	submit(f, "other", "x1", 0, NULL);
	submit(f, "other", "x2", WRITER_COALESCE, NULL);
	submit(f, "other", "x3", 0, NULL);
	gate(false);
	assert_true(loop_until_idle(f));
	assert_string_equal(disk_log, "busy=0 state=s1 state=intent state=s3 "
	    "state=intent2 other=x1 other=x2 other=x3 ");
	assert_string_equal(ends, "intent:state:0 intent2:state:0 ");
}

/* The write already running is never replaced: the newer one follows it. */
static void
test_running_write_not_replaced(void **state)
{
	struct fixture *f = *state;

	gate(true);
	submit(f, "state", "s1", WRITER_COALESCE, NULL);
	wait_writing();
	submit(f, "state", "s2", WRITER_COALESCE, NULL);
	gate(false);
	assert_true(loop_until_idle(f));
	assert_string_equal(disk_log, "state=s1 state=s2 ");
}

/* A failure is reported with its errno, and the queue goes on. */
static void
test_failure_reported(void **state)
{
	struct fixture *f = *state;

	submit(f, "a", "fail", 0, "t1");
	submit(f, "b", "ok", 0, "t2");
	assert_true(loop_until_idle(f));
	assert_string_equal(ends, "t1:a:28 t2:b:0 ");
	assert_int_equal(ENOSPC, 28);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd; (void)what;
	(*(int *)arg)++;
}

/* The loop runs its timers while a write takes its time. */
static void
test_loop_not_blocked(void **state)
{
	struct fixture *f = *state;
	struct timeval tv = { 0, 10 * 1000 };
	struct event *tick;
	int ticks = 0, i;

	tick = event_new(f->base, -1, EV_PERSIST, tick_cb, &ticks);
	assert_non_null(tick);
	event_add(tick, &tv);
	gate(true);
	submit(f, "slow", "1", 0, "slow");
	for (i = 0; i < 10; i++)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_true(ticks >= 10);
	assert_string_equal(ends, "");
	gate(false);
	assert_true(loop_until_idle(f));
	assert_string_equal(ends, "slow:slow:0 ");
	event_free(tick);
}

/* writer_free waits for what is queued: nothing queued is lost at exit. */
static void
test_free_flushes(void **state)
{
	struct fixture *f = *state;

	submit(f, "a", "1", 0, "t1");
	submit(f, "b", "2", WRITER_COALESCE, NULL);
	writer_free(f->w);
	f->w = writer_new(f->base, fake_write);
	assert_string_equal(disk_log, "a=1 b=2 ");
	assert_string_equal(ends, "");          /* no callback at exit */
}

/* The real thing: yk_file_write_atomic, the file's text and mode. */
static void
test_real_files(void **state)
{
	struct fixture *f = *state;
	struct writer *w = writer_new(f->base, NULL);
	char dir[] = "/tmp/test_writer.XXXXXX", path[128];
	struct stat st;
	char *text;

	assert_non_null(mkdtemp(dir));
	scratch_path(path, sizeof(path), dir, "web01.state.json");
	writer_submit(w, path, "{\"a\":1}", 7, 0600, 0, ended, "real");
	writer_drain(w);
	assert_non_null(strstr(ends, "real:"));
	assert_non_null(strstr(ends, ":0 "));
	text = yk_file_read(path, 1024, 0, NULL);
	assert_non_null(text);
	assert_string_equal(text, "{\"a\":1}");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	writer_free(w);
	scratch_remove(dir);
}

int
main(void)
{
#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_order),
		T(test_ends_on_the_loop),
		T(test_coalescing),
		T(test_waited_write_is_a_barrier),
		T(test_running_write_not_replaced),
		T(test_failure_reported),
		T(test_loop_not_blocked),
		T(test_free_flushes),
		T(test_real_files),
	};

	log_init("test_writer", 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
