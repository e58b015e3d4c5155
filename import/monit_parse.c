/*
 * monit_parse.c - a recursive-descent parser for the part of monit's
 * control-file grammar that yaoki-import-monit translates.
 *
 * Owns: statements ("set", "check"), the body of "check host" (its "if"
 * tests, their options, rates and actions), and the model of monit_parse.h.
 * Statements about anything but probing hosts (other "set" settings,
 * "check process", "alert", "group"...) are skipped with a note; a file
 * monit would refuse (a statement it does not know, an "if" without
 * "then", an exec without its command) is an error. Like monit, keywords
 * are case-insensitive and the filler words ("with", "for", "and",
 * "times", "within"...) carry no meaning. No I/O but the lexer's and the
 * notes; it decides nothing about yaoki (monit_xlate.c does).
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "monit_lex.h"
#include "monit_parse.h"

struct parser {
	struct mlex *lx;
	struct mtok tok;	/* the current token, filler words skipped */
	FILE *notes;
	char *err;
	size_t errlen;
};

static const char *const filler[] = {
	"is", "as", "are", "for", "on", "only", "with", "within", "without",
	"program", "programs", "and", "has", "using", "use", "the", "sum",
	"than", "usage", "was", "times", "but", "of", NULL
};

/* What may begin a statement inside a check. */
static const char *const stmt_start[] = {
	"if", "group", "depends", "alert", "noalert", "every", "mode",
	"onreboot", "start", "stop", "restart", "not", "check", "set", NULL
};

static const char *const check_types[] = {
	"process", "file", "fifo", "filesystem", "device", "directory",
	"system", "program", "network", "status", NULL
};

static int advance(struct parser *p);
static int advance_raw(struct parser *p);
static void test_free(struct mtest *t);
static int perr(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(struct parser *p, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool in_list(const char *w, const char *const *list);
static bool is_word(const struct parser *p, const char *w);
static bool is_number(const struct parser *p);
static bool at_end_of_check(const struct parser *p);
static char *xstrdup(const char *s);
static int take_text(struct parser *p, const char *what, char **out);
static int take_number(struct parser *p, const char *what, long *out);
static int skip_group(struct parser *p);
static int skip_until(struct parser *p, const char *const *stops);
static int parse_set(struct parser *p, struct mconf *c);
static int parse_check(struct parser *p, struct mconf *c);
static int parse_host(struct parser *p, struct mconf *c, const char *file,
    int line);
static int parse_every(struct parser *p, struct mcheck *ck);
static int parse_if(struct parser *p, struct mcheck *ck);
static int parse_failed(struct parser *p, struct mtest *t);
static int parse_option(struct parser *p, struct mtest *t);
static int parse_rate(struct parser *p, struct mtest *t);
static int parse_op(struct parser *p, const char *what, char **out);
static int parse_action(struct parser *p, struct mtest *t, bool keep);
static int drop(struct mtest *t, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(p->err, p->errlen, "%s:%d: ", p->tok.file, p->tok.line);
	if (n < 0 || (size_t)n >= p->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

void
monit_vnote(FILE *notes, const char *file, int line, const char *fmt,
    va_list ap)
{
	if (notes == NULL)
		return;
	fprintf(notes, "%s:%d: not translated: ", file, line);
	vfprintf(notes, fmt, ap);
	fputc('\n', notes);
}

static void
note(struct parser *p, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	monit_vnote(p->notes, file, line, fmt, ap);
	va_end(ap);
}

static char *
xstrdup(const char *s)
{
	char *d;

	if ((d = strdup(s)) == NULL) {
		fprintf(stderr, "yaoki-import-monit: out of memory\n");
		exit(1);
	}
	return d;
}

static bool
in_list(const char *w, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcasecmp(w, *list) == 0)
			return true;
	return false;
}

static int
advance(struct parser *p)
{
	do {
		if (mlex_next(p->lx, &p->tok, p->err, p->errlen) == -1)
			return -1;
	} while (p->tok.kind == MTOK_WORD && in_list(p->tok.text, filler));
	return 0;
}

/* The next token even if it is a filler word: a type or a name. */
static int
advance_raw(struct parser *p)
{
	return mlex_next(p->lx, &p->tok, p->err, p->errlen);
}

static bool
is_word(const struct parser *p, const char *w)
{
	return p->tok.kind == MTOK_WORD && strcasecmp(p->tok.text, w) == 0;
}

static bool
is_number(const struct parser *p)
{
	const char *s = p->tok.text;

	if (p->tok.kind != MTOK_WORD || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static bool
at_end_of_check(const struct parser *p)
{
	return p->tok.kind == MTOK_EOF || is_word(p, "check") ||
	    is_word(p, "set");
}

/* A word or a string, copied, then the next token. */
static int
take_text(struct parser *p, const char *what, char **out)
{
	if (p->tok.kind != MTOK_WORD && p->tok.kind != MTOK_STRING)
		return perr(p, "%s: expected a value, found \"%s\"", what,
		    p->tok.text);
	free(*out);
	*out = xstrdup(p->tok.text);
	return advance(p);
}

static int
take_number(struct parser *p, const char *what, long *out)
{
	char *end;

	if (!is_number(p))
		return perr(p, "%s: expected a number, found \"%s\"", what,
		    p->tok.text);
	*out = strtol(p->tok.text, &end, 10);
	if (*out > 1000000000L)
		return perr(p, "%s: %s is too large", what, p->tok.text);
	return advance(p);
}

/* At '{': up to and past the matching '}'. */
static int
skip_group(struct parser *p)
{
	int depth = 0;

	do {
		if (p->tok.kind == MTOK_EOF)
			return perr(p, "a { is never closed");
		if (p->tok.kind == MTOK_LBRACE)
			depth++;
		else if (p->tok.kind == MTOK_RBRACE)
			depth--;
		if (advance(p) == -1)
			return -1;
	} while (depth > 0);
	return 0;
}

/* Past the current token, then up to one of stops (or the end). */
static int
skip_until(struct parser *p, const char *const *stops)
{
	if (p->tok.kind == MTOK_LBRACE ? skip_group(p) : advance(p))
		return -1;
	while (p->tok.kind != MTOK_EOF &&
	    !(p->tok.kind == MTOK_WORD && in_list(p->tok.text, stops))) {
		if (p->tok.kind == MTOK_RBRACE)
			return perr(p, "a } without its {");
		if (p->tok.kind == MTOK_LBRACE ? skip_group(p) : advance(p))
			return -1;
	}
	return 0;
}

static int
drop(struct mtest *t, int line, const char *fmt, ...)
{
	struct mdropped *d;
	va_list ap;
	int rc;

	d = realloc(t->dropped, (t->ndropped + 1) * sizeof(*d));
	if (d == NULL)
		return -1;
	t->dropped = d;
	d = &t->dropped[t->ndropped];
	d->line = line;
	va_start(ap, fmt);
	rc = vasprintf(&d->what, fmt, ap);
	va_end(ap);
	if (rc == -1)
		return -1;
	t->ndropped++;
	return 0;
}

/* "set daemon N [with start delay N]"; every other setting is monit's. */
static int
parse_set(struct parser *p, struct mconf *c)
{
	static const char *const top[] = { "set", "check", NULL };
	const char *file = p->tok.file;
	int line = p->tok.line;

	if (advance(p) == -1)
		return -1;
	if (!is_word(p, "daemon")) {
		note(p, file, line, "set %s (a setting of monit itself)",
		    p->tok.text);
		return skip_until(p, top);
	}
	if (advance(p) == -1 ||
	    take_number(p, "set daemon", &c->daemon_s) == -1)
		return -1;
	free(c->daemon_file);
	c->daemon_file = xstrdup(file);
	c->daemon_line = line;
	if (is_word(p, "start")) {
		if (advance(p) == -1)
			return -1;
		if (is_word(p, "delay") && advance(p) == -1)
			return -1;
		if (take_number(p, "set daemon ... start delay",
		    &c->start_delay_s) == -1)
			return -1;
	}
	return 0;
}

static int
parse_check(struct parser *p, struct mconf *c)
{
	static const char *const top[] = { "set", "check", NULL };
	char *file = xstrdup(p->tok.file), *type = NULL, *name = NULL;
	int line = p->tok.line, rc = -1;

	if (advance_raw(p) == -1)
		goto out;
	if (is_word(p, "host")) {
		rc = advance_raw(p) == -1 ? -1 : parse_host(p, c, file, line);
		goto out;
	}
	if (p->tok.kind != MTOK_WORD || !in_list(p->tok.text, check_types)) {
		rc = perr(p, "unknown check type \"%s\" (monit knows host, "
		    "process, file, fifo, filesystem, directory, system, "
		    "program, network)", p->tok.text);
		goto out;
	}
	type = xstrdup(p->tok.text);
	if (advance_raw(p) == -1 || take_text(p, "check", &name) == -1)
		goto out;
	note(p, file, line, "check %s %s (yaoki probes hosts over HTTP; "
	    "skipped)", type, name);
	rc = at_end_of_check(p) ? 0 : skip_until(p, top);
out:
	free(file);
	free(type);
	free(name);
	return rc;
}

static int
parse_host(struct parser *p, struct mconf *c, const char *file, int line)
{
	struct mcheck *ck;

	ck = realloc(c->checks, (c->nchecks + 1) * sizeof(*ck));
	if (ck == NULL)
		return perr(p, "out of memory");
	c->checks = ck;
	ck = &c->checks[c->nchecks++];
	memset(ck, 0, sizeof(*ck));
	ck->file = xstrdup(file);
	ck->line = line;
	if (take_text(p, "check host", &ck->name) == -1)
		return -1;
	if (!is_word(p, "address"))
		return perr(p, "check host %s: expected \"with address "
		    "ADDRESS\", found \"%s\"", ck->name, p->tok.text);
	if (advance(p) == -1 ||
	    take_text(p, "check host ... address", &ck->address) == -1)
		return -1;
	while (!at_end_of_check(p)) {
		int rc;

		if (is_word(p, "if")) {
			rc = parse_if(p, ck);
		} else if (is_word(p, "every")) {
			rc = parse_every(p, ck);
		} else if (p->tok.kind == MTOK_WORD &&
		    in_list(p->tok.text, stmt_start)) {
			note(p, p->tok.file, p->tok.line, "check host %s: "
			    "\"%s ...\" (no such setting in yaoki)",
			    ck->name, p->tok.text);
			rc = skip_until(p, stmt_start);
		} else {
			return perr(p, "check host %s: unknown statement "
			    "\"%s\"", ck->name, p->tok.text);
		}
		if (rc == -1)
			return -1;
	}
	return 0;
}

/* "every N cycles" (kept) or "every CRON" (noted). */
static int
parse_every(struct parser *p, struct mcheck *ck)
{
	const char *file = p->tok.file;
	int line = p->tok.line;
	long n;

	if (advance(p) == -1)
		return -1;
	if (!is_number(p)) {
		note(p, file, line, "check host %s: every \"%s\" (yaoki "
		    "probes at a fixed interval, not on a schedule)",
		    ck->name, p->tok.text);
		return advance(p);
	}
	if (take_number(p, "every", &n) == -1)
		return -1;
	if (!is_word(p, "cycle") && !is_word(p, "cycles"))
		return perr(p, "every %ld: expected \"cycles\"", n);
	ck->every = n > 0 ? (int)n : 0;
	return advance(p);
}

static int
parse_if(struct parser *p, struct mcheck *ck)
{
	static const char *const then[] = { "then", "check", "set", NULL };
	struct mtest *t;

	t = realloc(ck->tests, (ck->ntests + 1) * sizeof(*t));
	if (t == NULL)
		return perr(p, "out of memory");
	ck->tests = t;
	t = &ck->tests[ck->ntests++];
	memset(t, 0, sizeof(*t));
	t->file = xstrdup(p->tok.file);
	t->line = p->tok.line;
	t->timeout_ms = -1;
	t->cycles = 1;
	if (advance(p) == -1)
		return -1;
	if (is_word(p, "failed")) {
		t->failed = true;
		if (advance(p) == -1 || parse_failed(p, t) == -1)
			return -1;
	} else {
		t->kind = MTEST_OTHER;
		t->what = xstrdup(p->tok.text);
		if (skip_until(p, then) == -1)
			return -1;
	}
	if (!is_word(p, "then"))
		return perr(p, "check host %s: the \"if\" of line %d has no "
		    "\"then\"", ck->name, t->line);
	if (advance(p) == -1 || parse_action(p, t, true) == -1)
		return -1;
	if (!is_word(p, "else"))
		return 0;
	if (drop(t, p->tok.line, "else branch (yaoki alerts only when a "
	    "domain is unrecoverable)") == -1)
		return perr(p, "out of memory");
	if (advance(p) == -1)
		return -1;
	if (!is_word(p, "if"))
		return perr(p, "expected \"if\" after \"else\"");
	if (skip_until(p, then) == -1)
		return -1;
	if (!is_word(p, "then"))
		return perr(p, "check host %s: the \"else if\" of line %d has "
		    "no \"then\"", ck->name, t->line);
	return advance(p) == -1 ? -1 : parse_action(p, t, false);
}

/* The options of "if failed", up to "then". */
static int
parse_failed(struct parser *p, struct mtest *t)
{
	static const char *const then[] = { "then", "check", "set", NULL };

	t->kind = MTEST_PORT;
	while (!is_word(p, "then") && !at_end_of_check(p)) {
		if (t->kind == MTEST_OTHER)
			return skip_until(p, then);
		if (is_number(p)) {
			if (parse_rate(p, t) == -1)
				return -1;
		} else if (parse_option(p, t) == -1) {
			return -1;
		}
	}
	return 0;
}

/* "N cycles" or "X times within Y cycles" (filler words gone). */
static int
parse_rate(struct parser *p, struct mtest *t)
{
	long x, y = 0;

	if (take_number(p, "cycles", &x) == -1)
		return -1;
	if (is_number(p) && take_number(p, "cycles", &y) == -1)
		return -1;
	if (!is_word(p, "cycle") && !is_word(p, "cycles"))
		return perr(p, "expected \"cycles\" after %ld, found \"%s\"",
		    y ? y : x, p->tok.text);
	if (x < 1 || (y != 0 && y < x))
		return perr(p, "%ld times within %ld cycles: not a rate", x,
		    y);
	t->cycles = (int)x;
	t->within = (int)y;
	return advance(p);
}

/* "=", "==", "eq", "!=", "<", "gt"... as one of = != < > <= >=. */
static int
parse_op(struct parser *p, const char *what, char **out)
{
	static const struct { const char *in, *out; } ops[] = {
		{ "=", "=" }, { "==", "=" }, { "eq", "=" }, { "equal", "=" },
		{ "!=", "!=" }, { "<>", "!=" }, { "ne", "!=" },
		{ "notequal", "!=" }, { "<", "<" }, { "lt", "<" },
		{ "less", "<" }, { ">", ">" }, { "gt", ">" },
		{ "greater", ">" }, { "<=", "<=" }, { ">=", ">=" },
	};
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if ((p->tok.kind == MTOK_OP || p->tok.kind == MTOK_WORD) &&
		    strcasecmp(p->tok.text, ops[i].in) == 0) {
			free(*out);
			*out = xstrdup(ops[i].out);
			return advance(p);
		}
	return perr(p, "%s: expected an operator (=, !=, <, >), found "
	    "\"%s\"", what, p->tok.text);
}

static int
parse_option(struct parser *p, struct mtest *t)
{
	int line = p->tok.line;
	char *v = NULL;
	long n;
	int rc = 0;

	if (p->tok.kind != MTOK_WORD)
		return perr(p, "unexpected \"%s\" in an \"if failed\" test",
		    p->tok.text);
	if (is_word(p, "host") || is_word(p, "address")) {
		rc = advance(p) == -1 ? -1 : take_text(p, "host", &t->host);
	} else if (is_word(p, "port")) {
		if (advance(p) == -1 || take_number(p, "port", &n) == -1)
			return -1;
		if (n < 1 || n > 65535)
			return perr(p, "port %ld: not a port number", n);
		t->port = (int)n;
	} else if (is_word(p, "protocol") || is_word(p, "proto")) {
		if (advance(p) == -1 ||
		    take_text(p, "protocol", &t->protocol) == -1)
			return -1;
		for (v = t->protocol; *v != '\0'; v++)
			*v = (char)tolower((unsigned char)*v);
		v = NULL;
	} else if (is_word(p, "request")) {
		rc = advance(p) == -1 ? -1 :
		    take_text(p, "request", &t->request);
	} else if (is_word(p, "url")) {
		t->kind = MTEST_URL;
		rc = advance(p) == -1 ? -1 : take_text(p, "url", &t->url);
	} else if (is_word(p, "status")) {
		if (advance(p) == -1 ||
		    parse_op(p, "status", &t->status_op) == -1)
			return -1;
		rc = take_number(p, "status", &t->status);
	} else if (is_word(p, "content")) {
		if (advance(p) == -1 ||
		    parse_op(p, "content", &t->content_op) == -1)
			return -1;
		if (p->tok.kind != MTOK_STRING)
			return perr(p, "content: expected a quoted regular "
			    "expression, found \"%s\"", p->tok.text);
		rc = take_text(p, "content", &t->content);
	} else if (is_word(p, "timeout")) {
		if (advance(p) == -1 || take_number(p, "timeout", &n) == -1)
			return -1;
		t->timeout_ms = n * 1000;
		if (is_word(p, "second") || is_word(p, "seconds"))
			rc = advance(p);
	} else if (is_word(p, "type")) {
		if (advance(p) == -1 || take_text(p, "type", &v) == -1)
			return -1;
		if (strcasecmp(v, "tcpssl") == 0) {
			t->ssl = true;
		} else if (strcasecmp(v, "udp") == 0) {
			t->kind = MTEST_OTHER;
			t->what = xstrdup("udp");
		}
	} else if (is_word(p, "tcpssl") || is_word(p, "ssl") ||
	    is_word(p, "tls")) {
		t->ssl = true;
		rc = advance(p);
		if (rc == 0 && is_word(p, "options")) {
			rc = advance(p);
			if (rc == 0 && p->tok.kind == MTOK_LBRACE)
				rc = skip_group(p);
			if (rc == 0 && drop(t, line, "ssl options") == -1)
				rc = perr(p, "out of memory");
		}
	} else if (is_word(p, "tcp") || is_word(p, "ipv4") ||
	    is_word(p, "ipv6")) {
		rc = advance(p);
	} else if (is_word(p, "hostheader")) {
		if (advance(p) == -1 || take_text(p, "hostheader", &v) == -1)
			return -1;
		rc = drop(t, line, "hostheader \"%s\" (yaoki sends the URL's "
		    "host)", v);
	} else if (is_word(p, "http")) {
		/* "http headers [...]" */
		if (advance(p) == -1 || !is_word(p, "headers"))
			return perr(p, "expected \"headers\" after \"http\"");
		if (advance(p) == -1)
			return -1;
		if (p->tok.kind != MTOK_BRACKET)
			return perr(p, "http headers: expected [...]");
		if (drop(t, line, "http headers [%s] (yaoki sends no extra "
		    "headers)", p->tok.text) == -1)
			return perr(p, "out of memory");
		rc = advance(p);
	} else if (is_word(p, "method")) {
		if (advance(p) == -1 || take_text(p, "method", &v) == -1)
			return -1;
		if (strcasecmp(v, "GET") != 0)
			rc = drop(t, line, "method %s (yaoki sends GET)", v);
	} else if (is_word(p, "retry")) {
		if (advance(p) == -1 || take_number(p, "retry", &n) == -1)
			return -1;
		rc = drop(t, line, "retry %ld (each yaoki probe is one "
		    "try; raise failures instead)", n);
	} else if (is_word(p, "username") || is_word(p, "password") ||
	    is_word(p, "secret")) {
		if (drop(t, line, "%s (yaoki sends no credentials)",
		    p->tok.text) == -1)
			return perr(p, "out of memory");
		rc = advance(p) == -1 ? -1 : take_text(p, "credential", &v);
	} else {
		/* icmp, ping, unixsocket, send/expect, certificate... */
		t->kind = MTEST_OTHER;
		t->what = xstrdup(p->tok.text);
		rc = advance(p);
	}
	free(v);
	return rc == -1 && p->err[0] == '\0' ? perr(p, "out of memory") : rc;
}

/*
 * After "then": alert, restart, start, stop, unmonitor, monitor,
 * timeout, or exec "COMMAND" [as uid U] [and gid G] [repeat every N
 * cycles]. keep: record it on t (an else branch's is dropped).
 */
static int
parse_action(struct parser *p, struct mtest *t, bool keep)
{
	static const struct { const char *word; enum maction a; } acts[] = {
		{ "alert", MACT_ALERT }, { "restart", MACT_RESTART },
		{ "start", MACT_START }, { "stop", MACT_STOP },
		{ "unmonitor", MACT_UNMONITOR }, { "monitor", MACT_OTHER },
		{ "timeout", MACT_OTHER }, { "exec", MACT_EXEC },
		{ "execute", MACT_EXEC },
	};
	enum maction a = MACT_OTHER;
	char *word = NULL, *cmd = NULL, *v = NULL;
	size_t i;
	long n;

	for (i = 0; i < sizeof(acts) / sizeof(acts[0]); i++)
		if (is_word(p, acts[i].word))
			break;
	if (i == sizeof(acts) / sizeof(acts[0]))
		return perr(p, "expected an action after \"then\" (alert, "
		    "restart, start, stop, exec...), found \"%s\"",
		    p->tok.text);
	a = acts[i].a;
	word = xstrdup(p->tok.text);
	if (advance(p) == -1)
		goto fail;
	if (a == MACT_EXEC) {
		if (p->tok.kind != MTOK_STRING) {
			perr(p, "exec: expected the command in quotes, found "
			    "\"%s\"", p->tok.text);
			goto fail;
		}
		if (take_text(p, "exec", &cmd) == -1)
			goto fail;
		while (is_word(p, "uid") || is_word(p, "gid")) {
			if (advance(p) == -1 || take_text(p, "uid", &v) == -1)
				goto fail;
		}
		if (is_word(p, "repeat")) {
			if (advance(p) == -1 || !is_word(p, "every") ||
			    advance(p) == -1 ||
			    take_number(p, "repeat every", &n) == -1)
				goto fail;
			if ((is_word(p, "cycle") || is_word(p, "cycles")) &&
			    advance(p) == -1)
				goto fail;
			if (keep && drop(t, p->tok.line, "repeat every %ld "
			    "cycles", n) == -1)
				goto fail;
		}
	}
	free(v);
	if (!keep) {
		free(word);
		free(cmd);
		return 0;
	}
	t->action = a;
	t->action_word = word;
	t->exec = cmd;
	return 0;
fail:
	free(word);
	free(cmd);
	free(v);
	return -1;
}

int
monit_parse(const char *path, FILE *notes, struct mconf *out, char *err,
    size_t errlen)
{
	struct parser p;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	out->daemon_s = -1;
	out->start_delay_s = -1;
	memset(&p, 0, sizeof(p));
	p.notes = notes;
	p.err = err;
	p.errlen = errlen;
	err[0] = '\0';
	if ((p.lx = mlex_open(path, notes, err, errlen)) == NULL)
		return -1;
	if (advance(&p) == -1)
		rc = -1;
	while (rc == 0 && p.tok.kind != MTOK_EOF) {
		if (is_word(&p, "set"))
			rc = parse_set(&p, out);
		else if (is_word(&p, "check"))
			rc = parse_check(&p, out);
		else
			rc = perr(&p, "unknown statement \"%s\" (expected "
			    "set, check or include)", p.tok.text);
	}
	mlex_close(p.lx);
	if (rc == -1)
		monit_conf_free(out);
	return rc;
}

static void
test_free(struct mtest *t)
{
	size_t i;

	free(t->file);
	free(t->what);
	free(t->host);
	free(t->protocol);
	free(t->request);
	free(t->url);
	free(t->status_op);
	free(t->content_op);
	free(t->content);
	free(t->action_word);
	free(t->exec);
	for (i = 0; i < t->ndropped; i++)
		free(t->dropped[i].what);
	free(t->dropped);
}

void
monit_conf_free(struct mconf *c)
{
	size_t i, j;

	for (i = 0; i < c->nchecks; i++) {
		struct mcheck *ck = &c->checks[i];

		for (j = 0; j < ck->ntests; j++)
			test_free(&ck->tests[j]);
		free(ck->tests);
		free(ck->file);
		free(ck->name);
		free(ck->address);
	}
	free(c->checks);
	free(c->daemon_file);
	memset(c, 0, sizeof(*c));
	c->daemon_s = -1;
	c->start_delay_s = -1;
}
