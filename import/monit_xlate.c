/*
 * monit_xlate.c - the translation of a parsed monit control file into a
 * yaoki.conf, for yaoki-import-monit.
 *
 * Owns: which "check host" tests become a domain (an "if failed" HTTP(S)
 * test whose action execs xm/xl destroy and create of a domain), the
 * mapping of each of monit's settings to yaoki's keys (the interval from
 * "set daemon" and "every", failures from the cycles, timeout, status,
 * content, start delay), and the notes for everything else. The rule for
 * what yaoki cannot express: leave it out and say so, never replace it by
 * something stricter, so that yaoki never recovers a domain monit would
 * have left alone. Writes through conf_writer.c only.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "conf_writer.h"
#include "monit_xlate.h"
#include "status_set.h"

#define MONIT_DEFAULT_TIMEOUT_MS	5000	/* monit's connection timeout */
#define NAME_MAX_LEN			63
#define MS_DAY				(24L * 3600 * 1000)

struct xlate {
	const struct mconf *c;
	struct cw w;
	FILE *notes;
	struct xlate_result *res;
	char **names;		/* domains written so far */
	size_t nnames;
};

static void xnote(struct xlate *x, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool valid_domain_name(const char *name);
static void describe(const struct mtest *t, char *out, size_t len);
static const char *why_not(const struct mtest *t, char *name, size_t len);
static int make_url(const struct mcheck *ck, const struct mtest *t,
    char *url, size_t len, char *why, size_t whylen);
static long clamp(struct xlate *x, const char *file, int line,
    const char *key, long ms, long lo, long hi);
static void write_defaults(struct xlate *x);
static void write_check(struct xlate *x, const struct mcheck *ck);
static void write_domain(struct xlate *x, const struct mcheck *ck,
    const struct mtest *t, const char *name, const char *url);
static void write_expectations(struct xlate *x, const struct mcheck *ck,
    const struct mtest *t);
static bool seen_name(struct xlate *x, const char *name);

static void
xnote(struct xlate *x, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	x->res->notes++;
	va_start(ap, fmt);
	monit_vnote(x->notes, file, line, fmt, ap);
	va_end(ap);
}

/* The rule of yaokid's configuration: as "xl list" shows a name. */
static bool
valid_domain_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > NAME_MAX_LEN || name[0] == '.' || name[0] == '-')
		return false;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") == n;
}

/* The basename of word is xm or xl. */
static bool
is_toolstack(const char *word)
{
	const char *b = strrchr(word, '/');

	b = b ? b + 1 : word;
	return strcmp(b, "xm") == 0 || strcmp(b, "xl") == 0;
}

int
monit_exec_domain(const char *cmd, char *name, size_t namelen)
{
	static const char delims[] = " \t\r\n;&|'\"`()";
	char *copy, *save = NULL, *w, *prev = NULL, *dom = NULL;
	bool want_name = false, created = false;
	int rc = -1;

	if ((copy = strdup(cmd)) == NULL)
		return -1;
	for (w = strtok_r(copy, delims, &save); w != NULL;
	    prev = w, w = strtok_r(NULL, delims, &save)) {
		if (want_name) {
			if (w[0] == '-')
				continue;
			dom = w;
			want_name = false;
		} else if (prev != NULL && is_toolstack(prev)) {
			if (strcmp(w, "destroy") == 0 && dom == NULL)
				want_name = true;
			else if (strcmp(w, "create") == 0 && dom != NULL)
				created = true;
		}
	}
	if (dom != NULL && created && strlen(dom) < namelen) {
		strcpy(name, dom);
		rc = 0;
	}
	free(copy);
	return rc;
}

/* monit's test passes when "STATUS op code" holds; within 100-599. */
int
monit_status_set(const char *op, long code, char *out, size_t outlen)
{
	long lo = 100, hi = 599;

	if (code < 100 || code > 599)
		return -1;
	if (strcmp(op, "=") == 0)
		snprintf(out, outlen, "%ld", code);
	else if (strcmp(op, "!=") == 0 && code == 100)
		snprintf(out, outlen, "101-599");
	else if (strcmp(op, "!=") == 0 && code == 599)
		snprintf(out, outlen, "100-598");
	else if (strcmp(op, "!=") == 0)
		snprintf(out, outlen, "100-%ld,%ld-599", code - 1, code + 1);
	else {
		if (strcmp(op, "<") == 0)
			hi = code - 1;
		else if (strcmp(op, "<=") == 0)
			hi = code;
		else if (strcmp(op, ">") == 0)
			lo = code + 1;
		else if (strcmp(op, ">=") == 0)
			lo = code;
		else
			return -1;
		if (lo > hi)
			return -1;
		if (lo == hi)
			snprintf(out, outlen, "%ld", lo);
		else
			snprintf(out, outlen, "%ld-%ld", lo, hi);
	}
	return 0;
}

int
monit_regex_literal(const char *re, char *out, size_t outlen)
{
	size_t n = 0;

	for (; *re != '\0'; re++) {
		char c = *re;

		if (c == '\\') {
			c = *++re;
			/* \. is a dot; \d, \w, \1... are operators. */
			if (c == '\0' || isalnum((unsigned char)c))
				return -1;
		} else if (strchr(".[]()*+?{}|^$", c) != NULL) {
			return -1;
		}
		if (n + 1 >= outlen)
			return -1;
		out[n++] = c;
	}
	if (n == 0)
		return -1;
	out[n] = '\0';
	return 0;
}

/* The head of a test as monit wrote it, for notes. */
static void
describe(const struct mtest *t, char *out, size_t len)
{
	const char *f = t->failed ? "failed " : "";

	if (t->kind == MTEST_URL)
		snprintf(out, len, "%surl %s", f, t->url);
	else if (t->kind == MTEST_OTHER)
		snprintf(out, len, "%s%s", f, t->what ? t->what : "");
	else if (t->protocol != NULL)
		snprintf(out, len, "%sport %d protocol %s", f, t->port,
		    t->protocol);
	else
		snprintf(out, len, "%sport %d", f, t->port);
}

/* NULL when t recreates a domain (its name in name), else why not. */
static const char *
why_not(const struct mtest *t, char *name, size_t len)
{
	if (!t->failed)
		return "only \"if failed\" tests are translated";
	if (t->kind == MTEST_OTHER)
		return "only HTTP(S) tests are translated";
	if (t->kind == MTEST_PORT && t->protocol == NULL)
		return "a TCP test without \"protocol http\" (yaoki probes "
		    "HTTP(S))";
	if (t->kind == MTEST_PORT && strcmp(t->protocol, "http") != 0 &&
	    strcmp(t->protocol, "https") != 0)
		return "yaoki probes HTTP(S) only";
	switch (t->action) {
	case MACT_ALERT:
		return "an alert-only test (yaoki alerts through its hook "
		    "only when a domain is unrecoverable)";
	case MACT_RESTART:
	case MACT_START:
	case MACT_STOP:
		return "monit's restart/start/stop of the check (only \"then "
		    "exec\" of xm/xl destroy and create is translated)";
	case MACT_EXEC:
		if (monit_exec_domain(t->exec, name, len) == -1)
			return "the exec is not \"xm|xl destroy NAME\" followed "
			    "by \"xm|xl create\"";
		if (!valid_domain_name(name))
			return "the exec's domain name is not a Xen domain "
			    "name";
		return NULL;
	default:
		return "only \"then exec\" of xm/xl destroy and create is "
		    "translated";
	}
}

static int
make_url(const struct mcheck *ck, const struct mtest *t, char *url,
    size_t len, char *why, size_t whylen)
{
	CURLU *u;
	CURLUcode rc;
	char *text = NULL, *norm = NULL, *scheme = NULL;
	const char *host, *path;
	char port[8] = "";
	bool https, v6;
	int ret = -1;

	if (t->kind == MTEST_URL) {
		text = strdup(t->url);
	} else {
		https = strcmp(t->protocol, "https") == 0 || t->ssl;
		host = t->host ? t->host : ck->address;
		v6 = strchr(host, ':') != NULL && host[0] != '[';
		path = t->request ? t->request : "/";
		if (t->port != 0)
			snprintf(port, sizeof(port), ":%d", t->port);
		if (asprintf(&text, "%s://%s%s%s%s%s%s",
		    https ? "https" : "http", v6 ? "[" : "", host,
		    v6 ? "]" : "", port, path[0] == '/' ? "" : "/",
		    path) == -1)
			text = NULL;
	}
	if (text == NULL || (u = curl_url()) == NULL) {
		snprintf(why, whylen, "out of memory");
		free(text);
		return -1;
	}
	if ((rc = curl_url_set(u, CURLUPART_URL, text, 0)) != CURLUE_OK)
		snprintf(why, whylen, "%s is not a valid URL (%s)", text,
		    curl_url_strerror(rc));
	else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
		snprintf(why, whylen, "%s is not an http:// or https:// URL",
		    text);
	else if (curl_url_get(u, CURLUPART_URL, &norm,
	    CURLU_NO_DEFAULT_PORT) != CURLUE_OK ||
	    strlen(norm) >= len)
		snprintf(why, whylen, "%s cannot be used as a URL", text);
	else {
		strcpy(url, norm);
		ret = 0;
	}
	curl_free(scheme);
	curl_free(norm);
	curl_url_cleanup(u);
	free(text);
	return ret;
}

/* ms within [lo, hi] for key, noted when it was not. */
static long
clamp(struct xlate *x, const char *file, int line, const char *key,
    long ms, long lo, long hi)
{
	char a[32], b[32];
	long v = ms < lo ? lo : ms > hi ? hi : ms;

	if (v != ms) {
		cw_format_duration(a, sizeof(a), ms);
		cw_format_duration(b, sizeof(b), v);
		xnote(x, file, line, "%s %s is outside yaoki's range; %s "
		    "written instead", key, a, b);
	}
	return v;
}

static bool
seen_name(struct xlate *x, const char *name)
{
	size_t i;
	char **names;

	for (i = 0; i < x->nnames; i++)
		if (strcmp(x->names[i], name) == 0)
			return true;
	names = realloc(x->names, (x->nnames + 1) * sizeof(*names));
	if (names == NULL || (names[x->nnames] = strdup(name)) == NULL) {
		fprintf(stderr, "yaoki-import-monit: out of memory\n");
		exit(1);
	}
	x->names = names;
	x->nnames++;
	return false;
}

static void
write_defaults(struct xlate *x)
{
	const struct mconf *c = x->c;
	char note[128];
	long ms;

	if (c->daemon_s < 0 && c->start_delay_s < 0)
		return;
	cw_begin(&x->w, "defaults", NULL);
	if (c->daemon_s >= 0) {
		ms = clamp(x, c->daemon_file, c->daemon_line, "set daemon",
		    c->daemon_s * 1000, 1000, MS_DAY);
		snprintf(note, sizeof(note), "monit: set daemon %ld",
		    c->daemon_s);
		cw_duration(&x->w, "interval", ms, note);
	}
	if (c->start_delay_s >= 0) {
		ms = clamp(x, c->daemon_file, c->daemon_line, "start delay",
		    c->start_delay_s * 1000, 0, MS_DAY);
		snprintf(note, sizeof(note), "monit: start delay %ld",
		    c->start_delay_s);
		cw_duration(&x->w, "start_period", ms, note);
	}
	cw_end(&x->w);
	cw_blank(&x->w);
}

static void
write_expectations(struct xlate *x, const struct mcheck *ck,
    const struct mtest *t)
{
	char buf[1024];

	if (t->status_op != NULL) {
		if (monit_status_set(t->status_op, t->status, buf,
		    sizeof(buf)) == 0)
			cw_string(&x->w, "expect_status", buf, NULL);
		else
			xnote(x, t->file, t->line, "check host %s: status %s "
			    "%ld (no status code is left; the default "
			    "200-399 is used)", ck->name, t->status_op,
			    t->status);
	}
	if (t->content_op == NULL)
		return;
	if (strcmp(t->content_op, "=") == 0 &&
	    monit_regex_literal(t->content, buf, sizeof(buf)) == 0)
		cw_string(&x->w, "expect_body", buf, NULL);
	else
		xnote(x, t->file, t->line, "check host %s: content %s \"%s\" "
		    "(yaoki's expect_body is a plain substring that must "
		    "occur; the body is not checked)", ck->name,
		    t->content_op, t->content);
}

static void
write_domain(struct xlate *x, const struct mcheck *ck,
    const struct mtest *t, const char *name, const char *url)
{
	char note[160];
	long ms;
	size_t i;

	cw_comment(&x->w, "monit: check host %s (%s:%d), if failed at "
	    "line %d", ck->name, ck->file, ck->line, t->line);
	cw_comment(&x->w, "monit: exec \"%s\"", t->exec);
	if (strcmp(name, ck->name) != 0)
		cw_comment(&x->w, "the domain's name is the exec's, not the "
		    "check's");
	cw_begin(&x->w, "domain", name);
	cw_string(&x->w, "url", url, NULL);
	ms = t->timeout_ms >= 0 ? t->timeout_ms : MONIT_DEFAULT_TIMEOUT_MS;
	ms = clamp(x, t->file, t->line, "timeout", ms, 1000, 3600L * 1000);
	cw_duration(&x->w, "timeout", ms, t->timeout_ms >= 0 ? NULL :
	    "monit's default");
	if (t->within != 0) {
		snprintf(note, sizeof(note), "monit: %d times within %d "
		    "cycles", t->cycles, t->within);
		xnote(x, t->file, t->line, "check host %s: %d times within %d "
		    "cycles (yaoki counts failures in a row: failures = %d)",
		    ck->name, t->cycles, t->within, t->cycles);
	} else {
		snprintf(note, sizeof(note), "monit: for %d cycles",
		    t->cycles);
	}
	cw_number(&x->w, "failures", t->cycles > 1000 ? 1000 : t->cycles,
	    note);
	if (ck->every > 1 && x->c->daemon_s > 0) {
		ms = clamp(x, ck->file, ck->line, "every", ck->every *
		    x->c->daemon_s * 1000, 1000, MS_DAY);
		snprintf(note, sizeof(note), "monit: every %d cycles",
		    ck->every);
		cw_duration(&x->w, "interval", ms, note);
	} else if (ck->every > 1) {
		xnote(x, ck->file, ck->line, "check host %s: every %d cycles "
		    "without \"set daemon\"", ck->name, ck->every);
	}
	write_expectations(x, ck, t);
	if (strncmp(url, "https:", 6) == 0)
		cw_bool(&x->w, "tls_verify", 0, "as monit: no certificate "
		    "check; set ca_file and remove this to verify");
	cw_end(&x->w);
	cw_blank(&x->w);
	for (i = 0; i < t->ndropped; i++)
		xnote(x, t->file, t->dropped[i].line, "check host %s: %s",
		    ck->name, t->dropped[i].what);
	x->res->domains++;
}

static void
write_check(struct xlate *x, const struct mcheck *ck)
{
	char name[NAME_MAX_LEN + 64], url[2048], why[512], what[256];
	const char *reason;
	bool done = false;
	size_t i;

	if (ck->ntests == 0)
		xnote(x, ck->file, ck->line, "check host %s: no \"if\" test",
		    ck->name);
	for (i = 0; i < ck->ntests; i++) {
		const struct mtest *t = &ck->tests[i];

		if ((reason = why_not(t, name, sizeof(name))) != NULL) {
			describe(t, what, sizeof(what));
			xnote(x, t->file, t->line, "check host %s: if %s ... "
			    "then %s: %s", ck->name, what, t->action_word,
			    reason);
		} else if (done) {
			xnote(x, t->file, t->line, "check host %s: a second "
			    "recovery test (yaoki probes one URL per "
			    "domain)", ck->name);
		} else if (seen_name(x, name)) {
			xnote(x, t->file, t->line, "check host %s: domain %s "
			    "is recovered by an earlier check already",
			    ck->name, name);
			done = true;
		} else if (make_url(ck, t, url, sizeof(url), why,
		    sizeof(why)) == -1) {
			xnote(x, t->file, t->line, "check host %s: %s",
			    ck->name, why);
		} else {
			write_domain(x, ck, t, name, url);
			done = true;
		}
	}
}

void
monit_xlate(const struct mconf *c, const char *source, FILE *out,
    FILE *notes, struct xlate_result *res)
{
	struct xlate x;
	size_t i;

	memset(&x, 0, sizeof(x));
	memset(res, 0, sizeof(*res));
	x.c = c;
	x.notes = notes;
	x.res = res;
	cw_init(&x.w, out);
	cw_comment(&x.w, "yaoki.conf written by yaoki-import-monit from %s.",
	    source);
	cw_comment(&x.w, "Check it with: yaokid -t -c FILE. yaokid re-creates "
	    "a domain from the");
	cw_comment(&x.w, "configuration it captured while the domain ran, "
	    "not from the file");
	cw_comment(&x.w, "that monit's \"xm|xl create\" named. See "
	    "yaoki.conf(5).");
	cw_blank(&x.w);
	if (c->daemon_s < 0)
		xnote(&x, source, 1, "no \"set daemon\": yaoki's interval "
		    "(5s) applies");
	write_defaults(&x);
	for (i = 0; i < c->nchecks; i++)
		write_check(&x, &c->checks[i]);
	for (i = 0; i < x.nnames; i++)
		free(x.names[i]);
	free(x.names);
}
