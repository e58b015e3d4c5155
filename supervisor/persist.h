/*
 * persist.h - yaokid's persistent state under state_dir: per-domain records
 * (recovery history, flags, the recovery intent) and captured domain
 * configurations. Every write is atomic (temporary file, fsync, rename,
 * fsync of the directory), mode 0600. yaokid itself writes through
 * writer.h (off the loop) with the paths and text given here; the
 * persist_save* functions write at once, blocking.
 */
#ifndef YK_PERSIST_H
#define YK_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sm.h"

struct yk_persist {
	bool maintenance;
	bool unrecoverable;
	bool created_by_us;
	int created_domid;      /* the incarnation yaokid created, -1 */
	unsigned streak;
	unsigned nhist;
	int64_t hist_wall_ms[YK_SM_HIST_MAX];   /* wall clock, ms since the epoch */
	char reason[200];
	bool intent;            /* a recovery was begun and not finished */
	int intent_domid;       /* the domid it was to destroy (-1: none) */
	int64_t intent_wall_ms;
	char intent_uuid[40];   /* the uuid of that incarnation ("" unknown) */
	bool intent_creating;   /* its create was started (a paused domain
	                           found then is half-built) */
	char boot_id[40];       /* the host boot the domids above belong to
	                           ("" unknown: a record of an older yaokid) */
};

#define PERSIST_LOCK_FILE "yaokid.lock"

/*
 * Creates state_dir (0700) if needed, checks that it is a directory owned
 * by root (or the effective uid) that nobody else may write, and locks it
 * (another yaokid holding it: an error naming its PID). Returns the lock's
 * descriptor (close-on-exec), to keep open for the life of the process, or
 * -1 with the reason in err.
 */
int persist_dir_prepare(const char *dir, char *err, size_t errlen);

/*
 * Loads NAME's record. Returns 1 when found, 0 when there is none (p is
 * zeroed). A truncated, corrupt or foreign file is moved aside to
 * FILE.corrupt-TIMESTAMP with one log line, and 0 is returned.
 */
int persist_load(const char *dir, const char *name, struct yk_persist *p);
int persist_save(const char *dir, const char *name, const struct yk_persist *p);
/* NAME's record as persist_save writes it (malloc'ed). */
char *persist_record_text(const char *name, const struct yk_persist *p);
/* Where NAME's record and its captured configuration live. */
void persist_state_path(char *buf, size_t len, const char *dir,
    const char *name);
void persist_config_path(char *buf, size_t len, const char *dir,
    const char *name);

/* The captured configuration (JSON text); NULL when none or unreadable. */
char *persist_load_config(const char *dir, const char *name);
int persist_save_config(const char *dir, const char *name, const char *json);

#endif
