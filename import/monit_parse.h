/*
 * monit_parse.h - what yaoki-import-monit understands of a monit control
 * file: the daemon's cycle, and every "check host" with its tests and
 * their actions. Everything else is reported as not translated, with its
 * file and line.
 */
#ifndef YK_MONIT_PARSE_H
#define YK_MONIT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>

enum mtest_kind {
	MTEST_PORT,		/* if failed [host H] port N [protocol P] ... */
	MTEST_URL,		/* if failed url URL ... */
	MTEST_OTHER,		/* icmp, ping, unixsocket, resource tests... */
};

enum maction {
	MACT_ALERT,
	MACT_RESTART,
	MACT_START,
	MACT_STOP,
	MACT_EXEC,
	MACT_UNMONITOR,
	MACT_OTHER,		/* monitor, timeout... */
};

/* A part of a test yaoki cannot express, kept to be reported. */
struct mdropped {
	int line;
	char *what;
};

struct mtest {
	char *file;
	int line;		/* of its "if" */
	bool failed;		/* "if failed ...", not another condition */
	enum mtest_kind kind;
	char *what;		/* MTEST_OTHER: its first word, for notes */
	char *host;		/* "host H"; NULL: the check's address */
	int port;		/* 0: unset */
	char *protocol;		/* "http", "https", ... lower case; NULL: TCP */
	bool ssl;		/* "type tcpssl", "ssl", "tls" */
	char *request;		/* path (and query) */
	char *url;		/* MTEST_URL */
	char *status_op;	/* NULL: unset */
	long status;
	char *content_op;	/* NULL: unset */
	char *content;		/* a regular expression, as monit takes it */
	long timeout_ms;	/* -1: unset */
	int cycles;		/* failed cycles needed; 1 when unset */
	int within;		/* "X times within Y cycles": Y; 0: consecutive */
	enum maction action;
	char *action_word;	/* as written, for notes */
	char *exec;		/* MACT_EXEC: the command */
	struct mdropped *dropped;
	size_t ndropped;
};

struct mcheck {
	char *file;
	int line;
	char *name;
	char *address;
	int every;		/* "every N cycles"; 0: every cycle */
	struct mtest *tests;
	size_t ntests;
};

struct mconf {
	long daemon_s;		/* set daemon N; -1: not set */
	char *daemon_file;
	int daemon_line;
	long start_delay_s;	/* with start delay N; -1: not set */
	struct mcheck *checks;	/* check host only */
	size_t nchecks;
};

/*
 * Reads the control file path (with its includes) into *out. Constructs
 * that are valid monit but not about probing hosts are noted on notes as
 * "FILE:LINE: not translated: ...". 0, or -1 with "FILE:LINE: what is
 * wrong" in err for a file monit itself would refuse (or cannot be read).
 */
int monit_parse(const char *path, FILE *notes, struct mconf *out, char *err,
    size_t errlen);

void monit_conf_free(struct mconf *c);

/*
 * Writes one "FILE:LINE: not translated: ..." line to notes (NULL: none);
 * the parser's and the translation's notes all go through it.
 */
void monit_vnote(FILE *notes, const char *file, int line, const char *fmt,
    va_list ap);

#endif
