/*
 * writer.c - runs yaokid's file writes on a thread of their own.
 *
 * Owns: the queue of writes (in submission order, a coalescing write
 * replacing the text of the one still waiting for its path), the thread
 * that runs them one at a time, and the eventfd through which the loop
 * learns that writes have ended; their done callbacks run on the loop,
 * never on the thread. The thread touches nothing but the queue and the
 * files: no logging, no libevent, no state of yaokid's. The loop never
 * waits for it, except in writer_drain and writer_free.
 */
#include "config.h"

#include <sys/eventfd.h>
#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "file.h"
#include "log.h"
#include "writer.h"

struct job {
	TAILQ_ENTRY(job) entry;
	char *path;
	void *data;
	size_t len;
	mode_t mode;
	unsigned flags;
	writer_done_fn *done;
	void *arg;
	int err;                        /* once it ran: 0 or errno */
};

TAILQ_HEAD(job_list, job);

struct writer {
	pthread_mutex_t lock;
	pthread_cond_t work;            /* queued grew, or stopping */
	pthread_cond_t progress;        /* a job moved to ended */
	pthread_t thread;
	struct job_list queued;         /* in order; the thread takes the head */
	struct job_list ended;          /* ran; their done not yet called */
	struct job *running;
	bool stopping;
	writer_write_fn *write;
	int efd;                        /* the thread's "jobs ended" */
	struct event *ev;
};

static void *writer_main(void *arg);
static void ended_cb(evutil_socket_t fd, short what, void *arg);
static void report_ended(struct writer *w);

static void
job_free(struct job *j)
{
	free(j->path);
	free(j->data);
	free(j);
}

/* The thread gets no signal: they are the loop's (libevent's). */
static void
start_thread(struct writer *w)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err != 0)
		fatalx("cannot start the file writer thread: %s", strerror(err));
}

struct writer *
writer_new(struct event_base *base, writer_write_fn *write)
{
	struct writer *w = calloc(1, sizeof(*w));

	if (w == NULL)
		fatalx("out of memory");
	w->write = write != NULL ? write : yk_file_write_atomic;
	TAILQ_INIT(&w->queued);
	TAILQ_INIT(&w->ended);
	if (pthread_mutex_init(&w->lock, NULL) != 0 ||
	    pthread_cond_init(&w->work, NULL) != 0 ||
	    pthread_cond_init(&w->progress, NULL) != 0)
		fatalx("cannot set up the file writer");
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		fatalx("cannot set up the file writer: eventfd: %s",
		    strerror(errno));
	w->ev = event_new(base, w->efd, EV_READ | EV_PERSIST, ended_cb, w);
	if (w->ev == NULL || event_add(w->ev, NULL) == -1)
		fatalx("cannot set up the file writer: event");
	start_thread(w);
	return w;
}

/* The last job still waiting for path, if a coalescing one may take over. */
static struct job *
coalescible(struct writer *w, const char *path, writer_done_fn *done,
    void *arg)
{
	struct job *j;

	TAILQ_FOREACH_REVERSE(j, &w->queued, job_list, entry) {
		if (strcmp(j->path, path) != 0)
			continue;
		/* Only the last one: replacing an older text would reorder. */
		if ((j->flags & WRITER_COALESCE) && j->done == done &&
		    j->arg == arg)
			return j;
		return NULL;
	}
	return NULL;
}

void
writer_submit(struct writer *w, const char *path, const void *data,
    size_t len, mode_t mode, unsigned flags, writer_done_fn *done,
    void *arg)
{
	struct job *j, *old;
	void *copy;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		fatalx("out of memory");
	memcpy(copy, data, len);
	pthread_mutex_lock(&w->lock);
	if ((flags & WRITER_COALESCE) &&
	    (old = coalescible(w, path, done, arg)) != NULL) {
		free(old->data);
		old->data = copy;
		old->len = len;
		old->mode = mode;
		pthread_mutex_unlock(&w->lock);
		return;
	}
	pthread_mutex_unlock(&w->lock);
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->path = strdup(path)) == NULL)
		fatalx("out of memory");
	j->data = copy;
	j->len = len;
	j->mode = mode;
	j->flags = flags;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&w->lock);
	TAILQ_INSERT_TAIL(&w->queued, j, entry);
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
}

bool
writer_busy(struct writer *w)
{
	bool busy;

	pthread_mutex_lock(&w->lock);
	busy = !TAILQ_EMPTY(&w->queued) || w->running != NULL ||
	    !TAILQ_EMPTY(&w->ended);
	pthread_mutex_unlock(&w->lock);
	return busy;
}

/* ---- the thread ------------------------------------------------------------ */

static void
tell_loop(struct writer *w)
{
	uint64_t one = 1;

	/* Fails only when the counter is full: the loop has a wake-up then. */
	while (write(w->efd, &one, sizeof(one)) == -1 && errno == EINTR)
		;
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct job *j;
	int rc;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (TAILQ_EMPTY(&w->queued) && !w->stopping)
			pthread_cond_wait(&w->work, &w->lock);
		if ((j = TAILQ_FIRST(&w->queued)) == NULL)
			break;                  /* stopping, and nothing left */
		TAILQ_REMOVE(&w->queued, j, entry);
		w->running = j;
		pthread_mutex_unlock(&w->lock);
		rc = w->write(j->path, j->data, j->len, j->mode);
		j->err = rc == -1 ? (errno != 0 ? errno : EIO) : 0;
		pthread_mutex_lock(&w->lock);
		w->running = NULL;
		TAILQ_INSERT_TAIL(&w->ended, j, entry);
		pthread_cond_broadcast(&w->progress);
		tell_loop(w);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* ---- the loop's side --------------------------------------------------------- */

/* Calls done for the jobs that ended, in their order, outside the lock. */
static void
report_ended(struct writer *w)
{
	struct job_list batch;
	struct job *j;

	TAILQ_INIT(&batch);
	pthread_mutex_lock(&w->lock);
	TAILQ_CONCAT(&batch, &w->ended, entry);
	pthread_mutex_unlock(&w->lock);
	while ((j = TAILQ_FIRST(&batch)) != NULL) {
		TAILQ_REMOVE(&batch, j, entry);
		if (j->done != NULL)
			j->done(j->arg, j->path, j->err);
		job_free(j);
	}
}

static void
ended_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t n;

	(void)what;
	while (read(fd, &n, sizeof(n)) == -1 && errno == EINTR)
		;
	report_ended(arg);
}

void
writer_drain(struct writer *w)
{
	pthread_mutex_lock(&w->lock);
	while (!TAILQ_EMPTY(&w->queued) || w->running != NULL)
		pthread_cond_wait(&w->progress, &w->lock);
	pthread_mutex_unlock(&w->lock);
	report_ended(w);
}

void
writer_free(struct writer *w)
{
	struct job *j;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	/* Nobody is left to tell: the failures are logged here. */
	while ((j = TAILQ_FIRST(&w->ended)) != NULL) {
		TAILQ_REMOVE(&w->ended, j, entry);
		if (j->err != 0) {
			errno = j->err;
			log_warn("cannot write %s", j->path);
		}
		job_free(j);
	}
	event_free(w->ev);
	close(w->efd);
	pthread_cond_destroy(&w->progress);
	pthread_cond_destroy(&w->work);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
