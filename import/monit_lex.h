/*
 * monit_lex.h - the tokens of a monit control file, read across its
 * include lines, each token with the file and line it came from.
 */
#ifndef YK_MONIT_LEX_H
#define YK_MONIT_LEX_H

#include <stddef.h>
#include <stdio.h>

enum mtok_kind {
	MTOK_EOF,
	MTOK_WORD,		/* unquoted: keyword, number, name, path, URL */
	MTOK_STRING,		/* "..." or '...' (quotes removed) */
	MTOK_OP,		/* = == != < > <= >= <> */
	MTOK_LBRACE,
	MTOK_RBRACE,
	MTOK_BRACKET,		/* [ ... ] taken whole (HTTP header lists) */
	MTOK_RAW,		/* subject: / message: text of a mail-format */
};

struct mtok {
	enum mtok_kind kind;
	const char *text;	/* valid until the next mlex_next */
	const char *file;	/* valid until mlex_close */
	int line;
};

struct mlex;

/*
 * Opens the control file path. Notes (an include glob that matches
 * nothing, a file included twice) go to notes. NULL with a message in err
 * ("PATH: reason") when it cannot be read.
 */
struct mlex *mlex_open(const char *path, FILE *notes, char *err,
    size_t errlen);

/*
 * The next token into *t, following "include PATH" lines (a glob, as monit
 * allows; a relative path is taken from the including file's folder).
 * 0, or -1 with "FILE:LINE: what is wrong" in err: an unterminated string,
 * an include of a missing file, an include cycle.
 */
int mlex_next(struct mlex *lx, struct mtok *t, char *err, size_t errlen);

void mlex_close(struct mlex *lx);

#endif
