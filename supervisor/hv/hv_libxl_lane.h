/*
 * hv_libxl_lane.h - lanes: worker threads that each own a libxl context
 * and carry out one long libxl operation at a time (a domain's create or
 * destroy), so that several run at once while the libxl thread of
 * hv_libxl.c goes on listing and watching.
 *
 * Why: libxl runs the CPU-bound part of a domain build inside the call that
 * starts it, holding its context's lock; on one context two builds, or a
 * build and the 1 s domain list, cannot overlap. libxl allows several
 * contexts in one process when all of them use
 * libxl_sigchld_owner_libxl_always_selective_reap, as yaokid's do.
 */
#ifndef YK_HV_LIBXL_LANE_H
#define YK_HV_LIBXL_LANE_H

#include <sys/queue.h>

#include <stdbool.h>

#ifndef LIBXL_API_VERSION
#define LIBXL_API_VERSION 0x041400      /* as hv_libxl.c */
#endif
#include <libxl.h>

/* One operation; the submitter owns it (and arg) until done is called. */
struct xl_lane_job {
	/*
	 * Starts the operation on ctx as a libxl asynchronous operation
	 * reporting to how; returns libxl's return code (non-zero: it did
	 * not start, and no completion follows).
	 */
	int (*start)(libxl_ctx *ctx, void *arg, const libxl_asyncop_how *how);
	/*
	 * Called once, on the lane's thread, with the operation's result
	 * (ERROR_ABORTED when the lanes were stopping before or while it
	 * ran). It must only hand the result over, never call libxl.
	 */
	void (*done)(void *arg, int rc);
	void *arg;
	TAILQ_ENTRY(xl_lane_job) entry;     /* the lanes' queue */
};

struct xl_lanes;

/*
 * Opens n lanes, each with its own libxl context logging to logger (which
 * must be thread-safe and outlive the lanes). NULL with err set when a
 * context or a thread cannot be made.
 */
struct xl_lanes *xl_lanes_open(unsigned n, xentoollog_logger *logger,
    char *err, size_t errlen);
/* Queues job; the first free lane runs it. */
void xl_lanes_submit(struct xl_lanes *lanes, struct xl_lane_job *job);
/*
 * yaokid is stopping: operations in progress are aborted (libxl_ao_abort)
 * and queued ones end with ERROR_ABORTED without starting. Returns at once;
 * each job's done still comes, from its lane.
 */
void xl_lanes_stop(struct xl_lanes *lanes);
/*
 * Stops (if not yet), then waits at most bound_s for the lanes to end and
 * frees them. false: a lane is still inside libxl; everything is left as
 * it is (the process is about to exit).
 */
bool xl_lanes_close(struct xl_lanes *lanes, int bound_s);

#endif
