/*
 * monit_xlate.h - from the monit model (monit_parse.h) to yaoki.conf:
 * which tests become domains, and what the rest is noted as.
 */
#ifndef YK_MONIT_XLATE_H
#define YK_MONIT_XLATE_H

#include <stddef.h>
#include <stdio.h>

#include "monit_parse.h"

struct xlate_result {
	size_t domains;		/* domain sections written */
	size_t notes;		/* "not translated" lines written by the translator */
};

/*
 * Writes the yaoki.conf for c (read from source) to out and what it
 * cannot translate to notes ("FILE:LINE: not translated: ...").
 */
void monit_xlate(const struct mconf *c, const char *source, FILE *out,
    FILE *notes, struct xlate_result *res);

/*
 * The domain an exec command recreates: "... xm|xl destroy NAME ... xm|xl
 * create ..." (any path to xm or xl, options skipped, joined by &&, ; or
 * ||). NAME copied into name, or -1 when the command is not that.
 */
int monit_exec_domain(const char *cmd, char *name, size_t namelen);

/*
 * The accepted status codes for monit's "status OP CODE", as yaoki's
 * expect_status ("200", "100-403,405-599"), or -1 when none is left.
 */
int monit_status_set(const char *op, long code, char *out, size_t outlen);

/*
 * A regular expression that is a plain string (no operator unescaped)
 * into out, unescaped; -1 when it is not, or does not fit.
 */
int monit_regex_literal(const char *re, char *out, size_t outlen);

#endif
