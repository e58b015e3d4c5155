/*
 * hv_libxl_lane.c - worker threads ("lanes") with a libxl context each,
 * running one create or destroy at a time for the libxl backend.
 *
 * A lane starts its job as a libxl asynchronous operation on its own
 * context and drives it with its own libxl_osevent_beforepoll / poll /
 * afterpoll loop, waking at least every LANE_TICK_MS to notice a stop,
 * so that yaokid's stop can abort it (libxl_ao_abort) instead of waiting
 * for a build to finish. Lanes share one queue (mutex + condition); they
 * never call yaokid but through a job's done function.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "hv_libxl_lane.h"
#include "log.h"

#define LANE_TICK_MS     200     /* a lane looks at "stopping" this often */
#define LANE_POLLFD_INIT 16

struct xl_lane {
	struct xl_lanes *lanes;
	libxl_ctx *ctx;
	pthread_t thread;
	bool started;
	struct pollfd *pfds;
	int npfds;
	/* The operation in progress (this lane's thread only). */
	bool ao_done;
	int ao_rc;
};

TAILQ_HEAD(xl_lane_queue, xl_lane_job);

struct xl_lanes {
	unsigned n;
	struct xl_lane *v;
	libxl_childproc_hooks chld_hooks;   /* libxl keeps a pointer */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct xl_lane_queue queue;         /* under lock */
	bool stopping;                      /* under lock */
	unsigned running;                   /* lane threads alive, under lock */
};

static void *lane_main(void *arg);
static void lane_run(struct xl_lane *l, struct xl_lane_job *job);
static void lane_poll(struct xl_lane *l);
static bool lanes_stopping(struct xl_lanes *ls);
static void lanes_free(struct xl_lanes *ls);

static bool
lanes_stopping(struct xl_lanes *ls)
{
	bool s;

	pthread_mutex_lock(&ls->lock);
	s = ls->stopping;
	pthread_mutex_unlock(&ls->lock);
	return s;
}

/* libxl's completion; runs inside this lane's own libxl calls. */
static void
lane_ao_complete(libxl_ctx *ctx, int rc, void *for_callback)
{
	struct xl_lane *l = for_callback;

	(void)ctx;
	l->ao_rc = rc;
	l->ao_done = true;
}

/* One round of libxl's event loop for this lane's context. */
static void
lane_poll(struct xl_lane *l)
{
	struct timeval now;
	int nfds, timeout = LANE_TICK_MS, rc;

	for (;;) {
		nfds = l->npfds;
		gettimeofday(&now, NULL);
		rc = libxl_osevent_beforepoll(l->ctx, &nfds, l->pfds, &timeout,
		    now);
		if (rc != ERROR_BUFFERFULL)
			break;
		l->pfds = realloc(l->pfds, (size_t)nfds * sizeof(*l->pfds));
		if (l->pfds == NULL)
			fatalx("libxl lane: out of memory");
		l->npfds = nfds;
	}
	if (rc != 0) {
		log_warnx("libxl lane: libxl_osevent_beforepoll failed "
		    "(libxl error %d)", rc);
		poll(NULL, 0, LANE_TICK_MS);
		return;
	}
	if (timeout < 0 || timeout > LANE_TICK_MS)
		timeout = LANE_TICK_MS;
	if (poll(l->pfds, (nfds_t)nfds, timeout) == -1 && errno != EINTR)
		log_warn("libxl lane: poll");
	gettimeofday(&now, NULL);
	libxl_osevent_afterpoll(l->ctx, nfds, l->pfds, now);
}

/* Starts job on this lane's context and drives it to its end. */
static void
lane_run(struct xl_lane *l, struct xl_lane_job *job)
{
	libxl_asyncop_how how;
	bool aborted = false;
	int rc;

	memset(&how, 0, sizeof(how));
	how.callback = lane_ao_complete;
	how.u.for_callback = l;
	l->ao_done = false;
	l->ao_rc = 0;
	rc = job->start(l->ctx, job->arg, &how);
	if (rc != 0) {
		job->done(job->arg, rc);        /* not started: no completion */
		return;
	}
	while (!l->ao_done) {
		if (!aborted && lanes_stopping(l->lanes)) {
			rc = libxl_ao_abort(l->ctx, &how);
			if (rc != 0 && rc != ERROR_NOTFOUND)
				log_warnx("libxl lane: libxl_ao_abort: libxl "
				    "error %d", rc);
			aborted = true;
		}
		lane_poll(l);
	}
	job->done(job->arg, l->ao_rc);
}

static void *
lane_main(void *arg)
{
	struct xl_lane *l = arg;
	struct xl_lanes *ls = l->lanes;
	struct xl_lane_job *job;
	bool stopping;

	for (;;) {
		pthread_mutex_lock(&ls->lock);
		while (TAILQ_EMPTY(&ls->queue) && !ls->stopping)
			pthread_cond_wait(&ls->cond, &ls->lock);
		job = TAILQ_FIRST(&ls->queue);
		if (job != NULL)
			TAILQ_REMOVE(&ls->queue, job, entry);
		stopping = ls->stopping;
		pthread_mutex_unlock(&ls->lock);
		if (job == NULL)
			break;                  /* stopping, nothing queued */
		if (stopping)
			job->done(job->arg, ERROR_ABORTED);
		else
			lane_run(l, job);
	}
	pthread_mutex_lock(&ls->lock);
	ls->running--;
	pthread_cond_broadcast(&ls->cond);
	pthread_mutex_unlock(&ls->lock);
	return NULL;
}

struct xl_lanes *
xl_lanes_open(unsigned n, xentoollog_logger *logger, char *err,
    size_t errlen)
{
	struct xl_lanes *ls;
	unsigned i;
	int rc;

	if ((ls = calloc(1, sizeof(*ls))) == NULL ||
	    (ls->v = calloc(n, sizeof(*ls->v))) == NULL)
		fatalx("libxl lanes: out of memory");
	ls->n = n;
	TAILQ_INIT(&ls->queue);
	pthread_mutex_init(&ls->lock, NULL);
	pthread_cond_init(&ls->cond, NULL);
	/* As the libxl thread's context: every context must be so. */
	ls->chld_hooks.chldowner =
	    libxl_sigchld_owner_libxl_always_selective_reap;
	for (i = 0; i < n; i++) {
		struct xl_lane *l = &ls->v[i];

		l->lanes = ls;
		rc = libxl_ctx_alloc(&l->ctx, LIBXL_VERSION, 0, logger);
		if (rc != 0 || l->ctx == NULL) {
			l->ctx = NULL;
			snprintf(err, errlen, "cannot open libxl context %u of "
			    "%u for creates and destroys (libxl error %d)",
			    i + 1, n, rc);
			goto fail;
		}
		libxl_childproc_setmode(l->ctx, &ls->chld_hooks, NULL);
		if ((l->pfds = calloc(LANE_POLLFD_INIT, sizeof(*l->pfds))) ==
		    NULL)
			fatalx("libxl lanes: out of memory");
		l->npfds = LANE_POLLFD_INIT;
	}
	for (i = 0; i < n; i++) {
		if ((rc = pthread_create(&ls->v[i].thread, NULL, lane_main,
		    &ls->v[i])) != 0) {
			snprintf(err, errlen, "cannot start a libxl lane "
			    "thread: %s", strerror(rc));
			goto fail;
		}
		ls->v[i].started = true;
		pthread_mutex_lock(&ls->lock);
		ls->running++;
		pthread_mutex_unlock(&ls->lock);
	}
	return ls;
fail:
	(void)xl_lanes_close(ls, 5);
	return NULL;
}

void
xl_lanes_submit(struct xl_lanes *ls, struct xl_lane_job *job)
{
	pthread_mutex_lock(&ls->lock);
	TAILQ_INSERT_TAIL(&ls->queue, job, entry);
	pthread_cond_signal(&ls->cond);
	pthread_mutex_unlock(&ls->lock);
}

void
xl_lanes_stop(struct xl_lanes *ls)
{
	pthread_mutex_lock(&ls->lock);
	ls->stopping = true;
	pthread_cond_broadcast(&ls->cond);
	pthread_mutex_unlock(&ls->lock);
}

/* Everything, once no lane thread runs. */
static void
lanes_free(struct xl_lanes *ls)
{
	unsigned i;

	for (i = 0; i < ls->n; i++) {
		if (ls->v[i].started)
			pthread_join(ls->v[i].thread, NULL);
		libxl_ctx_free(ls->v[i].ctx);     /* NULL is fine */
		free(ls->v[i].pfds);
	}
	pthread_cond_destroy(&ls->cond);
	pthread_mutex_destroy(&ls->lock);
	free(ls->v);
	free(ls);
}

bool
xl_lanes_close(struct xl_lanes *ls, int bound_s)
{
	struct timespec until;
	int rc = 0;

	xl_lanes_stop(ls);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += bound_s;
	pthread_mutex_lock(&ls->lock);
	while (ls->running > 0 && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&ls->cond, &ls->lock, &until);
	rc = ls->running > 0;
	pthread_mutex_unlock(&ls->lock);
	if (rc) {
		log_warnx("libxl: a create or destroy is still inside libxl "
		    "after %d s; exiting without waiting for it", bound_s);
		return false;
	}
	lanes_free(ls);
	return true;
}
