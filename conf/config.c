/*
 * config.c - yaoki.conf: the libconfuse schema, every check on its values,
 * and its translation into struct yk_config.
 *
 * Owns the option table, the compiled-in defaults, the precedence
 * (compiled-in < defaults { } < the domain's own key) and the wording of
 * every configuration error ("FILE:LINE: what is wrong", naming the key and
 * what it accepts). Reads only the configuration file: it never touches the
 * hypervisor, sockets or the state dir, and never checks that the files a
 * configuration names exist. Not reentrant: libconfuse's lexer is global
 * state, so loads happen on one thread, one at a time.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <confuse.h>
#include <curl/curl.h>

#include "conf.h"
#include "control_proto.h"
#include "file.h"
#include "log.h"

#define CONF_FILE_MAX	(4 * 1024 * 1024)
#define SHOW_MAX	80	/* characters of a bad value quoted back */
#define BRACE_DEPTH_MAX	16

#define MS_S	((uint64_t)1000)
#define MS_M	(60 * MS_S)
#define MS_H	(60 * MS_M)
#define MS_D	(24 * MS_H)

/*
 * Every section carries one hidden option whose default value is parsed
 * when libconfuse creates the section: its callback runs at the line of
 * the section's opening brace and records that line, which libconfuse
 * itself forgets by the end of the section.
 */
#define SECINFO_KEY	"yaoki section info"
#define SECINFO_MAGIC	"yaoki-internal"

enum key {
	/* domain keys, also valid in defaults { } */
	K_URL,
	K_INTERVAL,
	K_TIMEOUT,
	K_FAILURES,
	K_SUCCESSES,
	K_START_PERIOD,
	K_EXPECT_STATUS,
	K_EXPECT_BODY,
	K_ON_FAILURE,
	K_ON_CRASH,
	K_MAX_RECOVERIES,
	K_RECOVERY_WINDOW,
	K_BACKOFF,
	K_BACKOFF_MAX,
	K_DOMAIN_CONFIG,
	K_TLS_VERIFY,
	K_CA_FILE,
	/* global keys */
	K_HYPERVISOR,
	K_SIM_SOCKET,
	K_STATE_DIR,
	K_SOCKET,
	K_SOCKET_GROUP,
	K_HOOK,
	K_HOOK_TIMEOUT,
	K_MAX_PARALLEL,
	K_MASS_FRACTION,
	K_MASS_MIN,
	K_MASS_HOOK_MAX,
	K_MASS_HOOK_WINDOW,
	K_METRICS_FILE,
	K_COUNT
};

enum kind {
	KIND_DURATION,		/* min..max milliseconds */
	KIND_COUNT,		/* whole number min..max */
	KIND_FRACTION,		/* 0 < x <= 1 */
	KIND_BOOL,
	KIND_URL,
	KIND_STATUS,
	KIND_TEXT,		/* any non-empty text */
	KIND_PATH,		/* absolute path */
	KIND_WORD,		/* one of words[] */
};

struct key_spec {
	const char *name;
	enum kind kind;
	const char *builtin;		/* compiled-in default; NULL: unset */
	uint64_t min, max;
	const char *const *words;	/* KIND_WORD, in enum order */
};

static const char *const hv_words[] = { "libxl", "sim", NULL };
static const char *const on_failure_words[] = {
	"recreate", "reboot", "none", NULL
};
static const char *const on_crash_words[] = { "recreate", "none", NULL };

/* Builtin defaults are text, checked by the same code as the file's. */
static const struct key_spec keys[K_COUNT] = {
	[K_URL] =		{ "url", KIND_URL, NULL, 0, 0, NULL },
	[K_INTERVAL] =		{ "interval", KIND_DURATION, "5s",
				    100, MS_D, NULL },
	[K_TIMEOUT] =		{ "timeout", KIND_DURATION, "2s",
				    10, MS_H, NULL },
	[K_FAILURES] =		{ "failures", KIND_COUNT, "3", 1, 1000, NULL },
	[K_SUCCESSES] =		{ "successes", KIND_COUNT, "1", 1, 1000, NULL },
	[K_START_PERIOD] =	{ "start_period", KIND_DURATION, "120s",
				    0, MS_D, NULL },
	[K_EXPECT_STATUS] =	{ "expect_status", KIND_STATUS, "200-399",
				    0, 0, NULL },
	[K_EXPECT_BODY] =	{ "expect_body", KIND_TEXT, NULL, 0, 0, NULL },
	[K_ON_FAILURE] =	{ "on_failure", KIND_WORD, "recreate",
				    0, 0, on_failure_words },
	[K_ON_CRASH] =		{ "on_crash", KIND_WORD, "recreate",
				    0, 0, on_crash_words },
	/* At most YK_SM_HIST_MAX (128): the state machine's history. */
	[K_MAX_RECOVERIES] =	{ "max_recoveries", KIND_COUNT, "3",
				    1, 100, NULL },
	[K_RECOVERY_WINDOW] =	{ "recovery_window", KIND_DURATION, "1h",
				    MS_S, 30 * MS_D, NULL },
	[K_BACKOFF] =		{ "backoff", KIND_DURATION, "10s",
				    0, MS_D, NULL },
	[K_BACKOFF_MAX] =	{ "backoff_max", KIND_DURATION, "5m",
				    0, MS_D, NULL },
	[K_DOMAIN_CONFIG] =	{ "domain_config", KIND_PATH, NULL, 0, 0, NULL },
	[K_TLS_VERIFY] =	{ "tls_verify", KIND_BOOL, "true", 0, 0, NULL },
	[K_CA_FILE] =		{ "ca_file", KIND_PATH, NULL, 0, 0, NULL },
	[K_HYPERVISOR] =	{ "hypervisor", KIND_WORD, "libxl",
				    0, 0, hv_words },
	/* Unset means state_dir/simhv.sock, filled in after parsing. */
	[K_SIM_SOCKET] =	{ "sim_socket", KIND_PATH, NULL, 0, 0, NULL },
	[K_STATE_DIR] =		{ "state_dir", KIND_PATH, "/var/lib/yaoki",
				    0, 0, NULL },
	[K_SOCKET] =		{ "socket", KIND_PATH, YK_CTL_DEFAULT_SOCKET,
				    0, 0, NULL },
	[K_SOCKET_GROUP] =	{ "socket_group", KIND_TEXT, NULL, 0, 0, NULL },
	[K_HOOK] =		{ "hook", KIND_PATH, NULL, 0, 0, NULL },
	[K_HOOK_TIMEOUT] =	{ "hook_timeout", KIND_DURATION, "30s",
				    MS_S, MS_H, NULL },
	[K_MAX_PARALLEL] =	{ "max_parallel_recoveries", KIND_COUNT, "2",
				    1, 64, NULL },
	[K_MASS_FRACTION] =	{ "mass_failure_fraction", KIND_FRACTION, "0.5",
				    0, 0, NULL },
	[K_MASS_MIN] =		{ "mass_failure_min", KIND_COUNT, "3",
				    1, 100000, NULL },
	[K_MASS_HOOK_MAX] =	{ "mass_failure_hook_max", KIND_COUNT, "3",
				    1, 1000, NULL },
	[K_MASS_HOOK_WINDOW] =	{ "mass_failure_hook_window", KIND_DURATION,
				    "1h", MS_M, 24 * MS_H, NULL },
	[K_METRICS_FILE] =	{ "metrics_file", KIND_PATH, NULL, 0, 0, NULL },
};

union value {
	uint64_t ms;
	unsigned count;
	double fraction;
	bool flag;
	int word;
	struct yk_status_set set;
};

/* What the hidden option of each section holds. */
struct secinfo {
	int line;			/* of the section's opening brace */
	int key_line[K_COUNT];		/* where each key was last set */
};

struct conf_error {
	int line;			/* 0: about the whole file */
	char *msg;			/* complete "FILE:LINE: ..." */
};

struct seen_domain {
	char *name;
	int line;
};

/* The load in progress; libconfuse's callbacks have no user pointer. */
struct load_ctx {
	const char *name;
	struct conf_error *errs;
	size_t nerrs;
	struct seen_domain *seen;
	size_t nseen;
};

static struct load_ctx *ctx;

static void *xcalloc(size_t n, size_t size);
static void *xreallocarray(void *p, size_t n, size_t size);
static char *xstrdup(const char *s);
static char *xprintf(const char *fmt, ...) YK_PRINTF(1, 2);
static void conf_error(int line, const char *fmt, ...) YK_PRINTF(2, 3);
static void on_confuse_error(cfg_t *sec, const char *fmt, va_list ap)
    YK_PRINTF(2, 0);
static const char *show(const char *v, char *buf, size_t len);
static const struct key_spec *key_by_name(const char *name);
static int check_duration(const struct key_spec *ks, const char *text,
    union value *v, char *why, size_t len);
static int check_count(const struct key_spec *ks, const char *text,
    union value *v, char *why, size_t len);
static int check_fraction(const char *text, union value *v, char *why,
    size_t len);
static int check_url(const char *text, char *why, size_t len);
static int check_word(const struct key_spec *ks, const char *text,
    union value *v, char *why, size_t len);
static int check_value(const struct key_spec *ks, const char *text,
    union value *v, char *why, size_t len);
static void domain_begin(const char *name, int line);
static int opt_parse(cfg_t *sec, cfg_opt_t *opt, const char *value,
    void *result);
static int secinfo_parse(cfg_t *sec, cfg_opt_t *opt, const char *value,
    void *result);
static struct secinfo *secinfo(cfg_t *sec);
static bool key_set(cfg_t *sec, enum key k);
static const char *key_text(cfg_t *own, cfg_t *inherited, enum key k);
static int key_line(cfg_t *own, enum key k);
static int key_value(cfg_t *own, cfg_t *inherited, enum key k,
    union value *v);
static char *key_strdup(cfg_t *own, cfg_t *inherited, enum key k);
static void check_backoff(cfg_t *own, cfg_t *inherited);
static void check_sections(cfg_t *root);
static int blank_comments(char *s);
static void build_domain(cfg_t *dom, cfg_t *defs, struct yk_domain_conf *d);
static struct yk_config *build_config(cfg_t *root, const char *path);
static void domain_conf_clear(struct yk_domain_conf *d);
static bool str_equal(const char *a, const char *b);
static bool status_set_equal(const struct yk_status_set *a,
    const struct yk_status_set *b);
static void errors_flush(struct load_ctx *lc, struct yk_conf_errors *errs);
static struct yk_config *load(const char *name, const char *text,
    struct yk_conf_errors *errs);

#define YK_OPT(name)	CFG_STR_CB(name, NULL, CFGF_NODEFAULT, opt_parse)
#define YK_SECINFO	CFG_PTR_CB(SECINFO_KEY, SECINFO_MAGIC, CFGF_NONE, \
			    secinfo_parse, free)

/* The names here and in keys[] must agree; the unit test sets every key. */
static cfg_opt_t domain_opts[] = {
	YK_OPT("url"),
	YK_OPT("interval"),
	YK_OPT("timeout"),
	YK_OPT("failures"),
	YK_OPT("successes"),
	YK_OPT("start_period"),
	YK_OPT("expect_status"),
	YK_OPT("expect_body"),
	YK_OPT("on_failure"),
	YK_OPT("on_crash"),
	YK_OPT("max_recoveries"),
	YK_OPT("recovery_window"),
	YK_OPT("backoff"),
	YK_OPT("backoff_max"),
	YK_OPT("domain_config"),
	YK_OPT("tls_verify"),
	YK_OPT("ca_file"),
	YK_SECINFO,
	CFG_END()
};

/*
 * Duplicate domain names are found by domain_begin() rather than by
 * CFGF_NO_TITLE_DUPES, which would stop the parse at the first one.
 */
static cfg_opt_t root_opts[] = {
	YK_OPT("hypervisor"),
	YK_OPT("sim_socket"),
	YK_OPT("state_dir"),
	YK_OPT("socket"),
	YK_OPT("socket_group"),
	YK_OPT("hook"),
	YK_OPT("hook_timeout"),
	YK_OPT("max_parallel_recoveries"),
	YK_OPT("mass_failure_fraction"),
	YK_OPT("mass_failure_min"),
	YK_OPT("mass_failure_hook_max"),
	YK_OPT("mass_failure_hook_window"),
	YK_OPT("metrics_file"),
	CFG_SEC("defaults", domain_opts, CFGF_NONE),
	CFG_SEC("domain", domain_opts, CFGF_MULTI | CFGF_TITLE),
	YK_SECINFO,
	CFG_END()
};

/* ---- small helpers ------------------------------------------------------ */

static void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		fatalx("config: out of memory");
	return p;
}

static void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		fatalx("config: out of memory");
	if ((p = realloc(p, n * size == 0 ? 1 : n * size)) == NULL)
		fatalx("config: out of memory");
	return p;
}

static char *
xstrdup(const char *s)
{
	char *p;

	if ((p = strdup(s)) == NULL)
		fatalx("config: out of memory");
	return p;
}

static char *
xprintf(const char *fmt, ...)
{
	char buf[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return xstrdup(buf);
}

/* Records "NAME:LINE: message" (or "NAME: message" for line 0). */
static void
conf_error(int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	char *p;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One line per problem, whatever the file contained. */
	for (p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	ctx->errs = xreallocarray(ctx->errs, ctx->nerrs + 1,
	    sizeof(*ctx->errs));
	ctx->errs[ctx->nerrs].line = line;
	if (line > 0)
		ctx->errs[ctx->nerrs].msg = xprintf("%s:%d: %s", ctx->name,
		    line, msg);
	else
		ctx->errs[ctx->nerrs].msg = xprintf("%s: %s", ctx->name, msg);
	ctx->nerrs++;
}

/* libconfuse's own messages (syntax, unknown keys), with their line. */
static void
on_confuse_error(cfg_t *sec, const char *fmt, va_list ap)
{
	char msg[512], where[160] = "", title[SHOW_MAX + 8];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (sec != NULL && sec->name != NULL) {
		if (strcmp(sec->name, "domain") == 0 && sec->title != NULL)
			snprintf(where, sizeof(where), " (in domain %s)",
			    show(sec->title, title, sizeof(title)));
		else if (strcmp(sec->name, "defaults") == 0)
			snprintf(where, sizeof(where), " (in defaults)");
	}
	conf_error(sec != NULL ? sec->line : 0, "%s%s", msg, where);
}

/* A value quoted back to the user: "...", shortened, printable. */
static const char *
show(const char *v, char *buf, size_t len)
{
	size_t i, o = 0;

	if (len < 8) {
		if (len > 0)
			buf[0] = '\0';
		return buf;
	}
	buf[o++] = '"';
	for (i = 0; v[i] != '\0' && o < len - 5 && i < SHOW_MAX; i++) {
		unsigned char c = (unsigned char)v[i];

		buf[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (v[i] != '\0') {
		buf[o++] = '.';
		buf[o++] = '.';
		buf[o++] = '.';
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static const struct key_spec *
key_by_name(const char *name)
{
	size_t i;

	for (i = 0; i < K_COUNT; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* ---- checks on one value ------------------------------------------------ */

static int
check_duration(const struct key_spec *ks, const char *text, union value *v,
    char *why, size_t len)
{
	char shown[SHOW_MAX + 8], lo[32], hi[32];

	show(text, shown, sizeof(shown));
	if (yk_duration_parse(text, &v->ms) == -1) {
		snprintf(why, len, "%s is not a duration (write e.g. 250ms, "
		    "5s, 2m or 1h; a bare number means seconds)", shown);
		return -1;
	}
	if (v->ms < ks->min || v->ms > ks->max) {
		yk_duration_format(ks->min, lo, sizeof(lo));
		yk_duration_format(ks->max, hi, sizeof(hi));
		snprintf(why, len, "%s is out of range (accepted: %s to %s)",
		    shown, lo, hi);
		return -1;
	}
	return 0;
}

static int
check_count(const struct key_spec *ks, const char *text, union value *v,
    char *why, size_t len)
{
	char shown[SHOW_MAX + 8];
	uint64_t n = 0;
	const char *p;

	show(text, shown, sizeof(shown));
	for (p = text; *p >= '0' && *p <= '9'; p++)
		if (n <= ks->max)
			n = n * 10 + (uint64_t)(*p - '0');
	if (p == text || *p != '\0') {
		snprintf(why, len, "%s is not a whole number (accepted: "
		    "%llu to %llu)", shown, (unsigned long long)ks->min,
		    (unsigned long long)ks->max);
		return -1;
	}
	if (n < ks->min || n > ks->max) {
		snprintf(why, len, "%s is out of range (accepted: %llu to %llu)",
		    shown, (unsigned long long)ks->min,
		    (unsigned long long)ks->max);
		return -1;
	}
	v->count = (unsigned)n;
	return 0;
}

/* Decimal, without strtod: its decimal point depends on the locale. */
static int
check_fraction(const char *text, union value *v, char *why, size_t len)
{
	char shown[SHOW_MAX + 8];
	double x = 0, scale = 1;
	const char *p;
	bool ok;

	for (p = text; *p >= '0' && *p <= '9'; p++)
		x = x * 10 + (*p - '0');
	ok = p != text;
	if (ok && *p == '.') {
		ok = p[1] >= '0' && p[1] <= '9';
		for (p++; *p >= '0' && *p <= '9'; p++) {
			scale /= 10;
			x += (*p - '0') * scale;
		}
	}
	if (!ok || *p != '\0' || !(x > 0 && x <= 1)) {
		snprintf(why, len, "%s is not accepted (a number greater than 0 "
		    "and at most 1, e.g. 0.5)", show(text, shown,
		    sizeof(shown)));
		return -1;
	}
	v->fraction = x;
	return 0;
}

static int
check_url(const char *text, char *why, size_t len)
{
	char shown[SHOW_MAX + 8];
	CURLU *u;
	CURLUcode rc;
	char *host = NULL;
	int ret = -1;

	show(text, shown, sizeof(shown));
	if (strncasecmp(text, "http://", 7) != 0 &&
	    strncasecmp(text, "https://", 8) != 0) {
		snprintf(why, len, "%s is not accepted (it must start with "
		    "http:// or https://)", shown);
		return -1;
	}
	if ((u = curl_url()) == NULL)
		fatalx("config: out of memory");
	if ((rc = curl_url_set(u, CURLUPART_URL, text, 0)) != CURLUE_OK)
		snprintf(why, len, "%s is not a valid URL (%s)", shown,
		    curl_url_strerror(rc));
	else if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    host[0] == '\0')
		snprintf(why, len, "%s has no host", shown);
	else
		ret = 0;
	curl_free(host);
	curl_url_cleanup(u);
	return ret;
}

static int
check_word(const struct key_spec *ks, const char *text, union value *v,
    char *why, size_t len)
{
	char shown[SHOW_MAX + 8];
	size_t i, o;
	int n;

	for (i = 0; ks->words[i] != NULL; i++)
		if (strcmp(ks->words[i], text) == 0) {
			v->word = (int)i;
			return 0;
		}
	n = snprintf(why, len, "%s is not accepted (accepted:",
	    show(text, shown, sizeof(shown)));
	for (i = 0; ks->words[i] != NULL && n >= 0 && (size_t)n < len; i++) {
		o = (size_t)n;
		n += snprintf(why + o, len - o, "%s \"%s\"", i ? "," : "",
		    ks->words[i]);
	}
	if (n >= 0 && (size_t)n < len)
		snprintf(why + n, len - (size_t)n, ")");
	return -1;
}

/* Checks text as a value of ks; fills v (unless it is only text). */
static int
check_value(const struct key_spec *ks, const char *text, union value *v,
    char *why, size_t len)
{
	char shown[SHOW_MAX + 8];
	int b;

	switch (ks->kind) {
	case KIND_DURATION:
		return check_duration(ks, text, v, why, len);
	case KIND_COUNT:
		return check_count(ks, text, v, why, len);
	case KIND_FRACTION:
		return check_fraction(text, v, why, len);
	case KIND_BOOL:
		if ((b = cfg_parse_boolean(text)) == -1) {
			snprintf(why, len, "%s is not accepted (accepted: true, "
			    "false, yes, no, on, off)",
			    show(text, shown, sizeof(shown)));
			return -1;
		}
		v->flag = b == 1;
		return 0;
	case KIND_URL:
		return check_url(text, why, len);
	case KIND_STATUS:
		if (yk_status_set_parse(text, &v->set) == -1) {
			snprintf(why, len, "%s is not a set of status codes "
			    "(codes 100 to 599, e.g. 200, 200-299 or "
			    "200,204,301; at most %d items)",
			    show(text, shown, sizeof(shown)),
			    YK_STATUS_MAX_RANGES);
			return -1;
		}
		return 0;
	case KIND_TEXT:
		if (text[0] == '\0') {
			snprintf(why, len, "must not be empty (leave the key "
			    "out instead)");
			return -1;
		}
		return 0;
	case KIND_PATH:
		if (text[0] != '/') {
			snprintf(why, len, "%s is not an absolute path (it must "
			    "start with /)", show(text, shown, sizeof(shown)));
			return -1;
		}
		return 0;
	case KIND_WORD:
		return check_word(ks, text, v, why, len);
	}
	fatalx("config: key %s has no kind", ks->name);
}

/* ---- libconfuse callbacks ----------------------------------------------- */

static void
domain_begin(const char *name, int line)
{
	char shown[SHOW_MAX + 8];
	size_t i;

	show(name, shown, sizeof(shown));
	if (!yk_domain_name_valid(name))
		conf_error(line, "domain name %s is not accepted (1 to %d "
		    "characters of A-Z a-z 0-9 _ . -, not starting with . "
		    "or -)", shown, YK_DOMAIN_NAME_MAX);
	for (i = 0; i < ctx->nseen; i++)
		if (strcmp(ctx->seen[i].name, name) == 0) {
			conf_error(line, "duplicate domain %s (first defined "
			    "at line %d)", shown, ctx->seen[i].line);
			return;
		}
	ctx->seen = xreallocarray(ctx->seen, ctx->nseen + 1,
	    sizeof(*ctx->seen));
	ctx->seen[ctx->nseen].name = xstrdup(name);
	ctx->seen[ctx->nseen].line = line;
	ctx->nseen++;
}

/*
 * Every key is a string to libconfuse (it accepts unquoted 5s, 3 and
 * true as strings); its meaning is checked here, where the value's line is
 * known. A bad value is recorded and parsing goes on, so that one run
 * reports every bad value.
 */
static int
opt_parse(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result)
{
	const struct key_spec *ks;
	struct secinfo *si;
	union value v;
	char why[512];

	if (value == NULL)
		return -1;
	if ((ks = key_by_name(opt->name)) == NULL)
		fatalx("config: option %s has no key_spec", opt->name);
	if ((si = secinfo(sec)) != NULL)
		si->key_line[ks - keys] = sec->line;
	if (check_value(ks, value, &v, why, sizeof(why)) == -1)
		conf_error(sec->line, "%s: %s", ks->name, why);
	*(const char **)result = value;
	return 0;
}

static int
secinfo_parse(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result)
{
	struct secinfo *si;

	if (value == NULL || strcmp(value, SECINFO_MAGIC) != 0) {
		conf_error(sec->line, "no such option '%s'", opt->name);
		return -1;
	}
	si = xcalloc(1, sizeof(*si));
	si->line = sec->line;
	if (sec->title != NULL)
		domain_begin(sec->title, sec->line);
	*(void **)result = si;
	return 0;
}

/* ---- after parsing ------------------------------------------------------ */

static struct secinfo *
secinfo(cfg_t *sec)
{
	return cfg_getptr(sec, SECINFO_KEY);
}

static bool
key_set(cfg_t *sec, enum key k)
{
	return sec != NULL && cfg_size(sec, keys[k].name) > 0;
}

/* Precedence: own key, then the inherited section's, then compiled-in. */
static const char *
key_text(cfg_t *own, cfg_t *inherited, enum key k)
{
	if (key_set(own, k))
		return cfg_getstr(own, keys[k].name);
	if (key_set(inherited, k))
		return cfg_getstr(inherited, keys[k].name);
	return keys[k].builtin;
}

static int
key_line(cfg_t *own, enum key k)
{
	struct secinfo *si = secinfo(own);

	return si != NULL ? si->key_line[k] : 0;
}

/* 0 and the value; -1 when unset or not valid (already reported). */
static int
key_value(cfg_t *own, cfg_t *inherited, enum key k, union value *v)
{
	const char *text = key_text(own, inherited, k);
	char why[512];

	if (text == NULL)
		return -1;
	return check_value(&keys[k], text, v, why, sizeof(why));
}

static char *
key_strdup(cfg_t *own, cfg_t *inherited, enum key k)
{
	const char *text = key_text(own, inherited, k);

	return text != NULL ? xstrdup(text) : NULL;
}

/*
 * backoff_max >= backoff, reported where own (defaults { } or a domain)
 * sets one of them; a domain that sets neither inherits a pair already
 * checked in defaults { }.
 */
static void
check_backoff(cfg_t *own, cfg_t *inherited)
{
	union value b, m;
	char bs[32], ms[32];
	int line;

	if (!key_set(own, K_BACKOFF) && !key_set(own, K_BACKOFF_MAX))
		return;
	if (key_value(own, inherited, K_BACKOFF, &b) == -1 ||
	    key_value(own, inherited, K_BACKOFF_MAX, &m) == -1)
		return;
	if (m.ms >= b.ms)
		return;
	line = key_line(own, key_set(own, K_BACKOFF_MAX) ? K_BACKOFF_MAX :
	    K_BACKOFF);
	yk_duration_format(b.ms, bs, sizeof(bs));
	yk_duration_format(m.ms, ms, sizeof(ms));
	conf_error(line, "backoff_max: %s is less than backoff (%s); "
	    "backoff_max must be at least backoff", ms, bs);
}

/*
 * A domain_config that exists must be root's and writable only by root:
 * libxl runs what it says (bootloader, device model arguments) as root.
 * One that does not exist yet is the operator's to install before it is
 * needed; a recovery reads it afresh and checks it again.
 */
static void
check_domain_config(cfg_t *own)
{
	const char *path;
	struct stat st;
	char why[128];

	if (!key_set(own, K_DOMAIN_CONFIG))
		return;
	path = cfg_getstr(own, keys[K_DOMAIN_CONFIG].name);
	if (path == NULL || path[0] != '/' || stat(path, &st) == -1)
		return;
	if (yk_file_untrusted(&st, 0, why, sizeof(why)) != NULL)
		conf_error(key_line(own, K_DOMAIN_CONFIG), "domain_config %s: "
		    "%s (a domain configuration runs as root)", path, why);
}

static void
check_sections(cfg_t *root)
{
	cfg_t *defs = cfg_getsec(root, "defaults"), *dom;
	char shown[SHOW_MAX + 8];
	unsigned i, n = cfg_size(root, "domain");

	check_backoff(defs, NULL);
	check_domain_config(defs);
	for (i = 0; i < n; i++) {
		dom = cfg_getnsec(root, "domain", i);
		check_backoff(dom, defs);
		check_domain_config(dom);
		if (!key_set(dom, K_URL) && !key_set(defs, K_URL))
			conf_error(secinfo(dom)->line, "domain %s has no url",
			    show(cfg_title(dom), shown, sizeof(shown)));
	}
}

/*
 * libconfuse 3.3 counts extra lines for every comment (two per '#' or '//'
 * comment, one per block comment) and mis-parses comments inside lists.
 * So comments are blanked out here, newlines kept, and libconfuse never
 * sees one. This follows its lexer: '#' outside a string starts a comment
 * anywhere, "//" and "/" "*" only where a token starts. It also finds a
 * '{' never closed, which libconfuse silently closes at the end of file.
 */
static int
blank_comments(char *s)
{
	char *p = s, q;
	bool in_token = false;
	int line = 1, start, open_line[BRACE_DEPTH_MAX];
	size_t depth = 0;

	while (*p != '\0') {
		if (*p == '"' || *p == '\'') {
			q = *p++;
			start = line;
			while (*p != '\0' && *p != q) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (*p == '\n')
					line++;
				p++;
			}
			if (*p == '\0') {
				conf_error(start, "unterminated string (the "
				    "quote opened here is never closed)");
				return -1;
			}
			p++;
			in_token = false;
		} else if (*p == '#' || (!in_token && p[0] == '/' &&
		    p[1] == '/')) {
			while (*p != '\0' && *p != '\n')
				*p++ = ' ';
			in_token = false;
		} else if (!in_token && p[0] == '/' && p[1] == '*') {
			start = line;
			for (; *p != '\0' && !(p[0] == '*' && p[1] == '/'); p++)
				if (*p == '\n')
					line++;
				else
					*p = ' ';
			if (*p == '\0') {
				conf_error(start, "unterminated comment (the "
				    "/* opened here is never closed)");
				return -1;
			}
			*p++ = ' ';
			*p++ = ' ';
			in_token = false;
		} else {
			if (*p == '\n')
				line++;
			else if (*p == '{' && depth++ < BRACE_DEPTH_MAX)
				open_line[depth - 1] = line;
			else if (*p == '}' && depth > 0)
				depth--;
			in_token = strchr(" \t\n\r=#\"'{}()+,*", *p) == NULL;
			p++;
		}
	}
	if (depth > 0) {
		conf_error(open_line[(depth > BRACE_DEPTH_MAX ? BRACE_DEPTH_MAX :
		    depth) - 1], "the { opened here is never closed");
		return -1;
	}
	return 0;
}

/* ---- building the result ------------------------------------------------ */

static void
build_domain(cfg_t *dom, cfg_t *defs, struct yk_domain_conf *d)
{
	union value v;

	d->name = xstrdup(cfg_title(dom));
	d->line = secinfo(dom)->line;
	d->url = key_strdup(dom, defs, K_URL);
	if (key_value(dom, defs, K_INTERVAL, &v) == 0)
		d->interval_ms = v.ms;
	if (key_value(dom, defs, K_TIMEOUT, &v) == 0)
		d->timeout_ms = v.ms;
	if (key_value(dom, defs, K_FAILURES, &v) == 0)
		d->failures = v.count;
	if (key_value(dom, defs, K_SUCCESSES, &v) == 0)
		d->successes = v.count;
	if (key_value(dom, defs, K_START_PERIOD, &v) == 0)
		d->start_period_ms = v.ms;
	d->expect_status_text = key_strdup(dom, defs, K_EXPECT_STATUS);
	if (key_value(dom, defs, K_EXPECT_STATUS, &v) == 0)
		d->expect_status = v.set;
	d->expect_body = key_strdup(dom, defs, K_EXPECT_BODY);
	if (key_value(dom, defs, K_ON_FAILURE, &v) == 0)
		d->on_failure = (enum yk_on_failure)v.word;
	if (key_value(dom, defs, K_ON_CRASH, &v) == 0)
		d->on_crash = (enum yk_on_crash)v.word;
	if (key_value(dom, defs, K_MAX_RECOVERIES, &v) == 0)
		d->max_recoveries = v.count;
	if (key_value(dom, defs, K_RECOVERY_WINDOW, &v) == 0)
		d->recovery_window_ms = v.ms;
	if (key_value(dom, defs, K_BACKOFF, &v) == 0)
		d->backoff_ms = v.ms;
	if (key_value(dom, defs, K_BACKOFF_MAX, &v) == 0)
		d->backoff_max_ms = v.ms;
	d->domain_config = key_strdup(dom, defs, K_DOMAIN_CONFIG);
	if (key_value(dom, defs, K_TLS_VERIFY, &v) == 0)
		d->tls_verify = v.flag;
	d->ca_file = key_strdup(dom, defs, K_CA_FILE);
}

/* Only called on a configuration without errors: every value is valid. */
static struct yk_config *
build_config(cfg_t *root, const char *path)
{
	struct yk_config *c = xcalloc(1, sizeof(*c));
	cfg_t *defs = cfg_getsec(root, "defaults");
	union value v;
	size_t i, n;

	c->path = xstrdup(path);
	if (key_value(root, NULL, K_HYPERVISOR, &v) == 0)
		c->hypervisor = (enum yk_hv_kind)v.word;
	c->state_dir = key_strdup(root, NULL, K_STATE_DIR);
	c->sim_socket = key_strdup(root, NULL, K_SIM_SOCKET);
	if (c->sim_socket == NULL) {
		n = strlen(c->state_dir);
		while (n > 1 && c->state_dir[n - 1] == '/')
			n--;
		c->sim_socket = xprintf("%.*s/simhv.sock",
		    n == 1 ? 0 : (int)n, c->state_dir);
	}
	c->socket = key_strdup(root, NULL, K_SOCKET);
	c->socket_group = key_strdup(root, NULL, K_SOCKET_GROUP);
	c->hook = key_strdup(root, NULL, K_HOOK);
	if (key_value(root, NULL, K_HOOK_TIMEOUT, &v) == 0)
		c->hook_timeout_ms = v.ms;
	if (key_value(root, NULL, K_MAX_PARALLEL, &v) == 0)
		c->max_parallel_recoveries = v.count;
	if (key_value(root, NULL, K_MASS_FRACTION, &v) == 0)
		c->mass_failure_fraction = v.fraction;
	if (key_value(root, NULL, K_MASS_MIN, &v) == 0)
		c->mass_failure_min = v.count;
	if (key_value(root, NULL, K_MASS_HOOK_MAX, &v) == 0)
		c->mass_failure_hook_max = v.count;
	if (key_value(root, NULL, K_MASS_HOOK_WINDOW, &v) == 0)
		c->mass_failure_hook_window_ms = v.ms;
	c->metrics_file = key_strdup(root, NULL, K_METRICS_FILE);

	c->ndomains = cfg_size(root, "domain");
	c->domains = xcalloc(c->ndomains, sizeof(*c->domains));
	for (i = 0; i < c->ndomains; i++)
		build_domain(cfg_getnsec(root, "domain", (unsigned)i), defs,
		    &c->domains[i]);
	return c;
}

static void
domain_conf_clear(struct yk_domain_conf *d)
{
	free(d->name);
	free(d->url);
	free(d->expect_status_text);
	free(d->expect_body);
	free(d->domain_config);
	free(d->ca_file);
}

/* Appends the messages to errs in line order (file-wide ones first). */
static void
errors_flush(struct load_ctx *lc, struct yk_conf_errors *errs)
{
	struct conf_error tmp;
	size_t i, j;

	for (i = 1; i < lc->nerrs; i++)
		for (j = i; j > 0 && lc->errs[j - 1].line > lc->errs[j].line;
		    j--) {
			tmp = lc->errs[j];
			lc->errs[j] = lc->errs[j - 1];
			lc->errs[j - 1] = tmp;
		}
	if (errs != NULL && lc->nerrs > 0) {
		errs->msg = xreallocarray(errs->msg, errs->n + lc->nerrs,
		    sizeof(*errs->msg));
		for (i = 0; i < lc->nerrs; i++)
			errs->msg[errs->n++] = lc->errs[i].msg;
	} else {
		for (i = 0; i < lc->nerrs; i++)
			free(lc->errs[i].msg);
	}
	free(lc->errs);
	lc->errs = NULL;
	lc->nerrs = 0;
	for (i = 0; i < lc->nseen; i++)
		free(lc->seen[i].name);
	free(lc->seen);
	lc->seen = NULL;
	lc->nseen = 0;
}

static struct yk_config *
load(const char *name, const char *text, struct yk_conf_errors *errs)
{
	struct load_ctx lc;
	struct yk_config *c = NULL;
	cfg_t *root;
	char *copy;
	int rc;

	memset(&lc, 0, sizeof(lc));
	lc.name = name;
	ctx = &lc;
	copy = xstrdup(text);
	if (blank_comments(copy) == 0) {
		if ((root = cfg_init(root_opts, CFGF_NONE)) == NULL)
			fatalx("config: cfg_init failed");
		cfg_set_error_function(root, on_confuse_error);
		rc = cfg_parse_buf(root, copy);
		if (rc != CFG_SUCCESS && lc.nerrs == 0)
			conf_error(root->line, "cannot parse this (libconfuse "
			    "gave no reason)");
		if (rc == CFG_SUCCESS)
			check_sections(root);
		if (lc.nerrs == 0)
			c = build_config(root, name);
		cfg_free(root);
	}
	free(copy);
	errors_flush(&lc, errs);
	ctx = NULL;
	return c;
}

/* ---- the interface ------------------------------------------------------ */

struct yk_config *
yk_config_load(const char *path, struct yk_conf_errors *errs)
{
	struct load_ctx lc;
	struct yk_config *c;
	char *text;
	int err;

	text = yk_file_read(path, CONF_FILE_MAX, YK_FILE_NO_NUL, NULL);
	if (text == NULL) {
		err = errno;
		memset(&lc, 0, sizeof(lc));
		lc.name = path;
		ctx = &lc;
		if (err == EINVAL)
			conf_error(0, "cannot read: not a text file (it "
			    "contains a NUL byte)");
		else
			conf_error(0, "cannot read: %s", strerror(err));
		errors_flush(&lc, errs);
		ctx = NULL;
		return NULL;
	}
	c = load(path, text, errs);
	free(text);
	return c;
}

struct yk_config *
yk_config_load_text(const char *name, const char *text,
    struct yk_conf_errors *errs)
{
	return load(name, text, errs);
}

void
yk_config_free(struct yk_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->ndomains; i++)
		domain_conf_clear(&cfg->domains[i]);
	free(cfg->domains);
	free(cfg->path);
	free(cfg->sim_socket);
	free(cfg->state_dir);
	free(cfg->socket);
	free(cfg->socket_group);
	free(cfg->hook);
	free(cfg->metrics_file);
	free(cfg);
}

void
yk_conf_errors_free(struct yk_conf_errors *errs)
{
	size_t i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++)
		free(errs->msg[i]);
	free(errs->msg);
	errs->msg = NULL;
	errs->n = 0;
}

const struct yk_domain_conf *
yk_config_find(const struct yk_config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->ndomains; i++)
		if (strcmp(cfg->domains[i].name, name) == 0)
			return &cfg->domains[i];
	return NULL;
}

static bool
str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
status_set_equal(const struct yk_status_set *a, const struct yk_status_set *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (a->r[i].lo != b->r[i].lo || a->r[i].hi != b->r[i].hi)
			return false;
	return true;
}

/* Everything but the line: moving a block in the file changes nothing. */
bool
yk_domain_conf_equal(const struct yk_domain_conf *a,
    const struct yk_domain_conf *b)
{
	return str_equal(a->name, b->name) &&
	    str_equal(a->url, b->url) &&
	    a->interval_ms == b->interval_ms &&
	    a->timeout_ms == b->timeout_ms &&
	    a->failures == b->failures &&
	    a->successes == b->successes &&
	    a->start_period_ms == b->start_period_ms &&
	    status_set_equal(&a->expect_status, &b->expect_status) &&
	    str_equal(a->expect_body, b->expect_body) &&
	    a->on_failure == b->on_failure &&
	    a->on_crash == b->on_crash &&
	    a->max_recoveries == b->max_recoveries &&
	    a->recovery_window_ms == b->recovery_window_ms &&
	    a->backoff_ms == b->backoff_ms &&
	    a->backoff_max_ms == b->backoff_max_ms &&
	    str_equal(a->domain_config, b->domain_config) &&
	    a->tls_verify == b->tls_verify &&
	    str_equal(a->ca_file, b->ca_file);
}
