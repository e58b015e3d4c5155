/*
 * writer.h - yaokid's file writes, off the event loop: one thread runs the
 * atomic writes (yk_file_write_atomic: temporary file, fsync, rename,
 * fsync of the directory) in the order they were queued, and each one's
 * end is reported on the loop. A slow disk then delays the writes, never
 * the probes.
 */
#ifndef YK_WRITER_H
#define YK_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct writer;

/* A write ended (on the loop): err is 0, or the errno it failed with. */
typedef void writer_done_fn(void *arg, const char *path, int err);
/* How a write is done (yk_file_write_atomic; tests put another in). */
typedef int writer_write_fn(const char *path, const void *data, size_t len,
    mode_t mode);

/*
 * A newer text replaces the one still waiting for the same path, when both
 * were queued with it and with the same done and arg (done is then called
 * once, for the write that ran). A write somebody waits for (the intent
 * record) is queued without it: it is never replaced, and never merged
 * into.
 */
#define WRITER_COALESCE 0x01

/* write NULL: yk_file_write_atomic. Fatal when the thread cannot start. */
struct writer *writer_new(struct event_base *base, writer_write_fn *write);
/*
 * Queues a copy of data for path (mode for a new file). done (may be NULL)
 * is called on the loop once it was written or failed, never before this
 * returns.
 */
void writer_submit(struct writer *w, const char *path, const void *data,
    size_t len, mode_t mode, unsigned flags, writer_done_fn *done,
    void *arg);
/* Writes queued or running, or ends not yet reported. */
bool writer_busy(struct writer *w);
/*
 * Waits (blocking the caller) until every queued write has ended, and
 * reports their ends. For tests, and for whoever must read a file back.
 */
void writer_drain(struct writer *w);
/*
 * Waits for the queued writes to end (blocking: yaokid is exiting), logs
 * the failures and frees w; done is not called any more.
 */
void writer_free(struct writer *w);

#endif
