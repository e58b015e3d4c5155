/*
 * monit_lex.c - the tokenizer of monit control files for
 * yaoki-import-monit.
 *
 * Owns: reading the files (the one given and what its "include" lines
 * name, globs expanded with glob(3)), the stack of open files, include
 * cycles, and cutting text into tokens the way monit's lexer does: blanks,
 * newlines, ';', ',', '(' and ')' separate tokens; '#' at the start of a
 * token comments out the rest of the line; a backslash before a newline
 * joins lines; strings are quoted with " or ' and may span lines, with no
 * escapes. It knows no statement but "include"; what tokens mean is
 * monit_parse.c's business.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "file.h"
#include "monit_lex.h"

#define MLEX_MAX_FILE	(4u << 20)	/* a monitrc larger than this is not one */
#define MLEX_MAX_DEPTH	32

struct mfile {
	char *path;		/* as shown in messages */
	char *text;
	size_t pos;
	int line;
	dev_t dev;
	ino_t ino;
	glob_t matches;		/* of the include being read from this file */
	size_t next_match;
	bool including;
	int include_line;
};

struct mlex {
	struct mfile stack[MLEX_MAX_DEPTH];
	int depth;		/* open files on the stack */
	char **names;		/* every file read, kept for tokens' file */
	struct { dev_t dev; ino_t ino; } *seen;
	size_t nseen;
	FILE *notes;
	char *tok;		/* the text of the last token */
	size_t toklen, tokcap;
};

static int lx_error(char *err, size_t errlen, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int push_file(struct mlex *lx, const char *path, const char *from,
    int line, char *err, size_t errlen);
static int include(struct mlex *lx, struct mfile *f, const char *pattern,
    int line, char *err, size_t errlen);
static int next_match(struct mlex *lx, struct mfile *f, char *err,
    size_t errlen);
static char *resolve(const char *pattern, const char *from);
static void tok_reset(struct mlex *lx);
static void tok_add(struct mlex *lx, char c);
static void skip_blanks(struct mfile *f);
static int scan(struct mlex *lx, struct mfile *f, struct mtok *t, char *err,
    size_t errlen);
static void scan_until(struct mlex *lx, struct mfile *f, const char *stops);
static bool is_separator(char c);

static int
lx_error(char *err, size_t errlen, const char *file, int line,
    const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(err, errlen, "%s:%d: ", file, line);
	if (n < 0 || (size_t)n >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

struct mlex *
mlex_open(const char *path, FILE *notes, char *err, size_t errlen)
{
	struct mlex *lx;

	if ((lx = calloc(1, sizeof(*lx))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	lx->notes = notes;
	if (push_file(lx, path, NULL, 0, err, errlen) == -1) {
		mlex_close(lx);
		return NULL;
	}
	return lx;
}

void
mlex_close(struct mlex *lx)
{
	size_t i;

	if (lx == NULL)
		return;
	while (lx->depth > 0) {
		struct mfile *f = &lx->stack[--lx->depth];

		free(f->text);
		if (f->including)
			globfree(&f->matches);
	}
	for (i = 0; i < lx->nseen; i++)
		free(lx->names[i]);
	free(lx->names);
	free(lx->seen);
	free(lx->tok);
	free(lx);
}

/*
 * Opens path and makes it the file tokens come from. from/line: where it
 * was included (NULL for the control file itself). A file being read
 * already is a cycle; one read before is read once only, as a second
 * reading would define its checks twice.
 */
static int
push_file(struct mlex *lx, const char *path, const char *from, int line,
    char *err, size_t errlen)
{
	struct mfile *f;
	struct stat st;
	char *text, *name, **names;
	void *seen;
	size_t i;
	int d;

	if (stat(path, &st) == -1 || (text = yk_file_read(path, MLEX_MAX_FILE,
	    YK_FILE_NO_NUL, NULL)) == NULL) {
		if (from == NULL) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		return lx_error(err, errlen, from, line, "include %s: %s",
		    path, strerror(errno));
	}
	for (d = 0; d < lx->depth; d++)
		if (lx->stack[d].dev == st.st_dev &&
		    lx->stack[d].ino == st.st_ino) {
			free(text);
			return lx_error(err, errlen, from, line, "include "
			    "cycle: %s is already being read (%s%s)", path,
			    d == 0 ? "it is the control file" : "included "
			    "from ", d == 0 ? "" : lx->stack[d - 1].path);
		}
	for (i = 0; i < lx->nseen; i++)
		if (lx->seen[i].dev == st.st_dev &&
		    lx->seen[i].ino == st.st_ino) {
			free(text);
			if (lx->notes != NULL)
				fprintf(lx->notes, "%s:%d: note: %s was "
				    "included before; not read again\n", from,
				    line, path);
			return 0;
		}
	if (lx->depth == MLEX_MAX_DEPTH) {
		free(text);
		return lx_error(err, errlen, from, line, "include %s: more "
		    "than %d files deep", path, MLEX_MAX_DEPTH);
	}
	names = realloc(lx->names, (lx->nseen + 1) * sizeof(*names));
	if (names != NULL)
		lx->names = names;
	seen = realloc(lx->seen, (lx->nseen + 1) * sizeof(*lx->seen));
	if (seen != NULL)
		lx->seen = seen;
	if (names == NULL || seen == NULL || (name = strdup(path)) == NULL) {
		free(text);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	lx->names[lx->nseen] = name;
	lx->seen[lx->nseen].dev = st.st_dev;
	lx->seen[lx->nseen].ino = st.st_ino;
	lx->nseen++;
	f = &lx->stack[lx->depth++];
	memset(f, 0, sizeof(*f));
	f->path = name;
	f->text = text;
	f->pos = 0;
	f->line = 1;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	return 0;
}

/* A relative include is taken from the including file's folder. */
static char *
resolve(const char *pattern, const char *from)
{
	const char *slash;
	char *out;
	int n;

	if (pattern[0] == '/' || (slash = strrchr(from, '/')) == NULL)
		return strdup(pattern);
	n = (int)(slash - from);
	if (asprintf(&out, "%.*s/%s", n, from, pattern) == -1)
		return NULL;
	return out;
}

/*
 * "include PATTERN" read from f: every regular file the glob matches, one
 * after the other in glob's (sorted) order. A pattern without wildcards
 * must name a file; one with wildcards may match nothing, as in monit,
 * which is noted.
 */
static int
include(struct mlex *lx, struct mfile *f, const char *pattern, int line,
    char *err, size_t errlen)
{
	struct stat st;
	char *full;
	int rc;

	if ((full = resolve(pattern, f->path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", f->path);
		return -1;
	}
	rc = glob(full, 0, NULL, &f->matches);
	if (rc == GLOB_NOMATCH) {
		globfree(&f->matches);
		if (strpbrk(pattern, "*?[") == NULL) {
			lx_error(err, errlen, f->path, line, "include %s: %s",
			    full, strerror(stat(full, &st) == -1 ? errno :
			    ENOENT));
			free(full);
			return -1;
		}
		if (lx->notes != NULL)
			fprintf(lx->notes, "%s:%d: note: include %s matches "
			    "no file\n", f->path, line, full);
		free(full);
		return 0;
	}
	if (rc != 0) {
		lx_error(err, errlen, f->path, line, "include %s: %s", full,
		    rc == GLOB_NOSPACE ? "out of memory" : "cannot be read");
		free(full);
		return -1;
	}
	free(full);
	f->including = true;
	f->next_match = 0;
	f->include_line = line;
	return next_match(lx, f, err, errlen);
}

/* Opens the next file of f's include, if one is left. */
static int
next_match(struct mlex *lx, struct mfile *f, char *err, size_t errlen)
{
	struct stat st;
	int depth = lx->depth;

	while (f->including && lx->depth == depth) {
		const char *path;

		if (f->next_match == f->matches.gl_pathc) {
			globfree(&f->matches);
			f->including = false;
			break;
		}
		path = f->matches.gl_pathv[f->next_match++];
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
			continue;
		if (push_file(lx, path, f->path, f->include_line, err,
		    errlen) == -1)
			return -1;
	}
	return 0;
}

static void
tok_reset(struct mlex *lx)
{
	lx->toklen = 0;
	tok_add(lx, '\0');
	lx->toklen = 0;
}

static void
tok_add(struct mlex *lx, char c)
{
	char *p;

	if (lx->toklen + 2 > lx->tokcap) {
		size_t cap = lx->tokcap ? lx->tokcap * 2 : 128;

		if ((p = realloc(lx->tok, cap)) == NULL) {
			fprintf(stderr, "yaoki-import-monit: out of memory\n");
			exit(1);
		}
		lx->tok = p;
		lx->tokcap = cap;
	}
	lx->tok[lx->toklen++] = c;
	lx->tok[lx->toklen] = '\0';
}

/* monit's lexer takes these for white space. */
static bool
is_separator(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' ||
	    c == ',' || c == '(' || c == ')';
}

/* Blanks, newlines, backslash-newline and comments. */
static void
skip_blanks(struct mfile *f)
{
	const char *s = f->text;

	for (;;) {
		char c = s[f->pos];

		if (c == '\n') {
			f->line++;
			f->pos++;
		} else if (c == '\\' && s[f->pos + 1] == '\n') {
			f->line++;
			f->pos += 2;
		} else if (c == '\\' && s[f->pos + 1] == '\r' &&
		    s[f->pos + 2] == '\n') {
			f->line++;
			f->pos += 3;
		} else if (is_separator(c)) {
			f->pos++;
		} else if (c == '#') {
			while (s[f->pos] != '\0' && s[f->pos] != '\n')
				f->pos++;
		} else {
			return;
		}
	}
}

/* Appends text up to (not including) one of stops, a newline or the end. */
static void
scan_until(struct mlex *lx, struct mfile *f, const char *stops)
{
	char c;

	while ((c = f->text[f->pos]) != '\0' && strchr(stops, c) == NULL) {
		if (c == '\n')
			f->line++;
		tok_add(lx, c);
		f->pos++;
	}
}

/* One token of file f; MTOK_EOF at its end. */
static int
scan(struct mlex *lx, struct mfile *f, struct mtok *t, char *err,
    size_t errlen)
{
	const char *s = f->text;
	char c;

	tok_reset(lx);
	skip_blanks(f);
	t->file = f->path;
	t->line = f->line;
	c = s[f->pos];
	if (c == '\0') {
		t->kind = MTOK_EOF;
	} else if (c == '"' || c == '\'') {
		f->pos++;
		scan_until(lx, f, c == '"' ? "\"" : "'");
		if (s[f->pos] != c)
			return lx_error(err, errlen, f->path, t->line,
			    "unterminated string (the %c opened here is never "
			    "closed)", c);
		f->pos++;
		t->kind = MTOK_STRING;
	} else if (c == '{' || c == '}') {
		f->pos++;
		tok_add(lx, c);
		t->kind = c == '{' ? MTOK_LBRACE : MTOK_RBRACE;
	} else if (c == '[') {
		f->pos++;
		scan_until(lx, f, "]");
		if (s[f->pos] != ']')
			return lx_error(err, errlen, f->path, t->line,
			    "unterminated list (the [ opened here is never "
			    "closed)");
		f->pos++;
		t->kind = MTOK_BRACKET;
	} else if (strchr("=!<>", c) != NULL) {
		while (s[f->pos] != '\0' && strchr("=!<>", s[f->pos]) != NULL)
			tok_add(lx, s[f->pos++]);
		t->kind = MTOK_OP;
	} else {
		while ((c = s[f->pos]) != '\0' && !is_separator(c) &&
		    strchr("\"'{}[", c) == NULL) {
			tok_add(lx, c);
			f->pos++;
			/* A mail-format's text is free text up to its '}'. */
			if (lx->toklen == 8 &&
			    strncasecmp(lx->tok, "message:", 8) == 0) {
				scan_until(lx, f, "}");
				t->kind = MTOK_RAW;
				return 0;
			}
			if (lx->toklen == 8 &&
			    strncasecmp(lx->tok, "subject:", 8) == 0) {
				scan_until(lx, f, "}\n");
				t->kind = MTOK_RAW;
				return 0;
			}
		}
		t->kind = MTOK_WORD;
	}
	return 0;
}

int
mlex_next(struct mlex *lx, struct mtok *t, char *err, size_t errlen)
{
	for (;;) {
		struct mfile *f;
		char *pattern;
		int line, rc;

		f = &lx->stack[lx->depth - 1];
		if (scan(lx, f, t, err, errlen) == -1)
			return -1;
		t->text = lx->tok;
		/* The control file itself stays: its end is the end. */
		if (t->kind == MTOK_EOF && lx->depth > 1) {
			free(f->text);
			f->text = NULL;
			lx->depth--;
			if (next_match(lx, &lx->stack[lx->depth - 1], err,
			    errlen) == -1)
				return -1;
			continue;
		}
		if (t->kind != MTOK_WORD || strcasecmp(t->text, "include") != 0)
			return 0;
		line = t->line;
		if (scan(lx, f, t, err, errlen) == -1)
			return -1;
		if (t->kind != MTOK_WORD && t->kind != MTOK_STRING)
			return lx_error(err, errlen, f->path, line, "include "
			    "needs a file name or a glob");
		if ((pattern = strdup(lx->tok)) == NULL)
			return lx_error(err, errlen, f->path, line, "out of "
			    "memory");
		rc = include(lx, f, pattern, line, err, errlen);
		free(pattern);
		if (rc == -1)
			return -1;
	}
}
