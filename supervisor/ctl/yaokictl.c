/*
 * yaokictl.c - the operators' client of yaokid's status socket.
 *
 * Owns: the command line (getopt), local validation of the command and its
 * argument, one request/reply exchange over the UNIX socket, and turning the
 * reply into text for humans (the status table) or passing it through (-j,
 * metrics). It never decides anything about domains and never retries: what
 * the daemon answers is what the operator sees. Exit status: 0 success,
 * 1 usage error or an error answered by the daemon, 2 daemon unreachable or
 * its answer unusable.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "control_proto.h"
#include "text.h"
#include "unix_socket.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define EXIT_USAGE	1
#define EXIT_REFUSED	1
#define EXIT_UNREACHABLE 2

#define REPLY_MAX	(16u * 1024 * 1024)	/* bytes */
#define IO_TIMEOUT_S	30
#define ERROR_SHOWN	40		/* probe error text in a cell */
#define REASON_SHOWN	40		/* a state's reason in a cell */
#define CELL		128
#define NCOLS		7

struct reply {
	char	*buf;
	size_t	 len;
};

static void usage(FILE *fp);
static void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int ctl_send(int fd, const char *req);
static int ctl_receive(int fd, struct reply *r, const char **why);
static struct json_object *reply_parse(const struct reply *r);
static bool reply_failed(struct json_object *obj, bool raw);
static void print_raw_line(const struct reply *r);
static int print_status(struct json_object *obj, time_t now);
static int iso8601_parse(const char *text, time_t *out);
static void format_ago(char *buf, size_t len, const char *at, time_t now);
static void format_probe(char *buf, size_t len, struct json_object *p,
    time_t now);
static void format_recovery(char *buf, size_t len, struct json_object *r,
    time_t now);
static void format_state(char *buf, size_t len, struct json_object *d);
static void format_domain_row(char row[NCOLS][CELL], struct json_object *d,
    time_t now);
static void print_row(char row[NCOLS][CELL], const size_t width[NCOLS]);
static int handle_metrics(const struct reply *r);
static int handle_json(const struct yk_ctl_command *cmd, const struct reply *r,
    bool json_out, const char *sockpath);
static const char *obj_string(struct json_object *o, const char *key);
static bool obj_number(struct json_object *o, const char *key, double *out);

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp,
	    "usage: yaokictl [-j] [-s SOCKET] COMMAND [DOMAIN]\n"
	    "       yaokictl -h | -V\n"
	    "commands:\n");
	for (i = 0; i < yk_ctl_ncommands; i++)
		fprintf(fp, "  %-17s %s\n", yk_ctl_commands[i].synopsis,
		    yk_ctl_commands[i].help);
	fprintf(fp, "default socket: %s (or $YAOKI_SOCKET)\n",
	    YK_CTL_DEFAULT_SOCKET);
}

static void
errmsg(const char *fmt, ...)
{
	va_list ap;

	fputs("yaokictl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
ctl_send(int fd, const char *req)
{
	size_t off = 0, len = strlen(req);
	ssize_t n;

	while (off < len) {
		n = send(fd, req + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/* Reads until EOF. On failure returns -1 and sets *why (or errno). */
static int
ctl_receive(int fd, struct reply *r, const char **why)
{
	size_t cap = 0;
	ssize_t n;
	char *nb;

	*why = NULL;
	r->buf = NULL;
	r->len = 0;
	for (;;) {
		if (cap - r->len < 4096) {
			cap = cap ? cap * 2 : 8192;
			if (cap > REPLY_MAX + 1)
				cap = REPLY_MAX + 1;
			if ((nb = realloc(r->buf, cap + 1)) == NULL) {
				*why = "out of memory";
				return -1;
			}
			r->buf = nb;
		}
		n = recv(fd, r->buf + r->len, cap - r->len, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			*why = "no reply within 30s";
			return -1;
		}
		/* A reset after the whole reply is the daemon's close. */
		if (n == -1 && errno == ECONNRESET && r->len > 0)
			break;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		r->len += (size_t)n;
		if (r->len > REPLY_MAX) {
			*why = "reply larger than 16 MiB";
			return -1;
		}
	}
	r->buf[r->len] = '\0';
	if (r->len == 0) {
		*why = "connection closed without a reply";
		return -1;
	}
	return 0;
}

/* The whole reply must be one JSON object (white space around it allowed). */
static struct json_object *
reply_parse(const struct reply *r)
{
	struct json_tokener *tok;
	struct json_object *obj;
	size_t end;

	if (r->len > INT32_MAX || (tok = json_tokener_new()) == NULL)
		return NULL;
	obj = json_tokener_parse_ex(tok, r->buf, (int)r->len);
	if (obj == NULL ||
	    json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(obj);
		json_tokener_free(tok);
		return NULL;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	for (; end < r->len; end++)
		if (strchr(" \t\r\n", r->buf[end]) == NULL) {
			json_object_put(obj);
			return NULL;
		}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

/*
 * Prints the daemon's error and returns true when the reply says ok=false.
 * Each line of the error is printed on its own, sanitized for a terminal;
 * raw lines (reload's "FILE:LINE: what", like yaokid -t) go without the
 * "yaokictl: " prefix.
 */
static bool
reply_failed(struct json_object *obj, bool raw)
{
	struct json_object *ok;
	const char *e, *nl;
	char shown[1024];
	size_t n;

	if (json_object_object_get_ex(obj, "ok", &ok) &&
	    json_object_is_type(ok, json_type_boolean) &&
	    json_object_get_boolean(ok))
		return false;
	if ((e = obj_string(obj, "error")) == NULL || *e == '\0')
		e = "the daemon refused the request";
	for (;;) {
		nl = strchr(e, '\n');
		n = nl != NULL ? (size_t)(nl - e) : strlen(e);
		if (n >= sizeof(shown))
			n = sizeof(shown) - 1;
		memcpy(shown, e, n);
		shown[n] = '\0';
		yk_text_printable(shown, sizeof(shown), shown);
		if (raw)
			fprintf(stderr, "%s\n", shown);
		else
			errmsg("%s", shown);
		if (nl == NULL || nl[1] == '\0')
			break;
		e = nl + 1;
	}
	return true;
}

static void
print_raw_line(const struct reply *r)
{
	size_t len = r->len;

	while (len > 0 && strchr(" \t\r\n", r->buf[len - 1]) != NULL)
		len--;
	fwrite(r->buf, 1, len, stdout);
	fputc('\n', stdout);
}

static const char *
obj_string(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool
obj_number(struct json_object *o, const char *key, double *out)
{
	struct json_object *v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !(json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double)))
		return false;
	*out = json_object_get_double(v);
	return true;
}

/* "2026-11-27T17:00:00Z", optionally with ".fff" and/or "+00:00". */
static int
iso8601_parse(const char *text, time_t *out)
{
	struct tm tm;
	int n = 0;
	const char *p;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &n) != 6 || n == 0)
		return -1;
	p = text + n;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	*out = t;
	return 0;
}

static void
format_ago(char *buf, size_t len, const char *at, time_t now)
{
	time_t t;
	long long d;

	if (at == NULL || iso8601_parse(at, &t) == -1) {
		yk_text_printable(buf, len, at ? at : "?");
		return;
	}
	d = (long long)now - (long long)t;
	if (d < 0)
		d = 0;	/* clocks a little apart: never "in the future" */
	if (d < 60)
		snprintf(buf, len, "%llds ago", d);
	else if (d < 3600)
		snprintf(buf, len, "%lldm ago", d / 60);
	else if (d < 86400)
		snprintf(buf, len, "%lldh ago", d / 3600);
	else
		snprintf(buf, len, "%lldd ago", d / 86400);
}

/* "ok 200 3.1ms 5s ago", "fail connection refused 2s ago" or "-". */
static void
format_probe(char *buf, size_t len, struct json_object *p, time_t now)
{
	struct json_object *okv;
	char ago[48], what[ERROR_SHOWN + 8], ms[32] = "";
	const char *err;
	double v;

	if (p == NULL || !json_object_is_type(p, json_type_object)) {
		snprintf(buf, len, "-");
		return;
	}
	format_ago(ago, sizeof(ago), obj_string(p, "at"), now);
	if (obj_number(p, "ms", &v))
		snprintf(ms, sizeof(ms), v < 1000 ? "%.1fms " : "%.0fms ", v);
	if (json_object_object_get_ex(p, "ok", &okv) &&
	    json_object_get_boolean(okv)) {
		if (obj_number(p, "http_status", &v))
			snprintf(buf, len, "ok %.0f %s%s", v, ms, ago);
		else
			snprintf(buf, len, "ok %s%s", ms, ago);
		return;
	}
	if ((err = obj_string(p, "error")) != NULL) {
		yk_text_printable(what, sizeof(what), err);
		if (strlen(err) > ERROR_SHOWN)
			memcpy(what + ERROR_SHOWN - 3, "...", 4);
	} else if (obj_number(p, "http_status", &v))
		snprintf(what, sizeof(what), "%.0f", v);
	else
		snprintf(what, sizeof(what), "?");
	snprintf(buf, len, "fail %s %s", what, ago);
}

/* "ok 11.8s 20m ago" or "-". */
static void
format_recovery(char *buf, size_t len, struct json_object *r, time_t now)
{
	char ago[48], result[32], secs[32] = "";
	const char *res;
	double v;

	if (r == NULL || !json_object_is_type(r, json_type_object)) {
		snprintf(buf, len, "-");
		return;
	}
	res = obj_string(r, "result");
	yk_text_printable(result, sizeof(result), res ? res : "?");
	if (obj_number(r, "seconds", &v))
		snprintf(secs, sizeof(secs), "%.1fs ", v);
	format_ago(ago, sizeof(ago), obj_string(r, "at"), now);
	snprintf(buf, len, "%s %s%s", result, secs, ago);
}

/*
 * "healthy"; with the reason where it says what a human should know:
 * "paused (migrating away)", "unrecoverable (recovery limit reached ...)".
 */
static void
format_state(char *buf, size_t len, struct json_object *d)
{
	const char *st = obj_string(d, "state"), *why = obj_string(d, "reason");
	char text[CELL + REASON_SHOWN + 4];

	if (st == NULL)
		st = "?";
	if (why != NULL && *why != '\0' && (strcmp(st, "paused") == 0 ||
	    strcmp(st, "absent") == 0 || strcmp(st, "backoff") == 0 ||
	    strcmp(st, "unrecoverable") == 0))
		snprintf(text, sizeof(text), "%s (%.*s%s)", st, REASON_SHOWN, why,
		    strlen(why) > REASON_SHOWN ? "..." : "");
	else
		snprintf(text, sizeof(text), "%s", st);
	yk_text_printable(buf, len, text);
}

static void
format_domain_row(char row[NCOLS][CELL], struct json_object *d, time_t now)
{
	struct json_object *v;
	const char *s;
	double n;

	s = obj_string(d, "name");
	yk_text_printable(row[0], CELL, s ? s : "?");
	if (obj_number(d, "domid", &n))
		snprintf(row[1], CELL, "%.0f", n);
	else
		snprintf(row[1], CELL, "-");
	format_state(row[2], CELL, d);
	if (obj_number(d, "consecutive_failures", &n))
		snprintf(row[3], CELL, "%.0f", n);
	else
		snprintf(row[3], CELL, "-");
	if (obj_number(d, "recoveries_in_window", &n))
		snprintf(row[4], CELL, "%.0f", n);
	else
		snprintf(row[4], CELL, "-");
	format_probe(row[5], CELL,
	    json_object_object_get_ex(d, "last_probe", &v) ? v : NULL, now);
	format_recovery(row[6], CELL,
	    json_object_object_get_ex(d, "last_recovery", &v) ? v : NULL, now);
}

static void
print_row(char row[NCOLS][CELL], const size_t width[NCOLS])
{
	int i;

	for (i = 0; i < NCOLS - 1; i++)
		printf("%-*s  ", (int)width[i], row[i]);
	printf("%s\n", row[NCOLS - 1]);
}

static int
print_status(struct json_object *obj, time_t now)
{
	static const char *const head[NCOLS] = { "NAME", "DOMID", "STATE",
	    "FAILS", "RECOV", "LAST-PROBE", "LAST-RECOVERY" };
	struct json_object *domains, *hold;
	char (*rows)[NCOLS][CELL];
	char host[CELL], version[CELL];
	size_t width[NCOLS], n, i;
	const char *s;
	int c;
	bool held;

	if (!json_object_object_get_ex(obj, "domains", &domains) ||
	    !json_object_is_type(domains, json_type_array))
		return -1;
	n = json_object_array_length(domains);
	if ((rows = calloc(n + 1, sizeof(*rows))) == NULL)
		return -1;
	for (c = 0; c < NCOLS; c++)
		snprintf(rows[0][c], CELL, "%s", head[c]);
	for (i = 0; i < n; i++)
		format_domain_row(rows[i + 1],
		    json_object_array_get_idx(domains, i), now);
	for (c = 0; c < NCOLS; c++) {
		width[c] = 0;
		for (i = 0; i <= n; i++)
			if (strlen(rows[i][c]) > width[c])
				width[c] = strlen(rows[i][c]);
	}

	s = obj_string(obj, "host");
	yk_text_printable(host, sizeof(host), s ? s : "?");
	s = obj_string(obj, "version");
	yk_text_printable(version, sizeof(version), s ? s : "?");
	held = json_object_object_get_ex(obj, "hold", &hold) &&
	    json_object_get_boolean(hold);
	printf("host %s, yaokid %s, hold: %s\n", host, version,
	    held ? "YES (recoveries held: mass failure)" : "no");
	for (i = 0; i <= n; i++)
		print_row(rows[i], width);
	free(rows);
	return 0;
}

/* Metrics are text; a JSON object instead is the daemon refusing them. */
static int
handle_metrics(const struct reply *r)
{
	struct json_object *obj;
	int rv = 0;

	if (r->buf[0] == '{' && (obj = reply_parse(r)) != NULL) {
		if (reply_failed(obj, false))
			rv = EXIT_REFUSED;
		json_object_put(obj);
		if (rv != 0)
			return rv;
	}
	fwrite(r->buf, 1, r->len, stdout);
	return 0;
}

static int
handle_json(const struct yk_ctl_command *cmd, const struct reply *r, bool json_out,
    const char *sockpath)
{
	struct json_object *obj;
	const char *v;
	int rv = 0;

	if ((obj = reply_parse(r)) == NULL) {
		errmsg("malformed reply from yaokid at %s", sockpath);
		return EXIT_UNREACHABLE;
	}
	if (reply_failed(obj, strcmp(cmd->name, "reload") == 0)) {
		json_object_put(obj);
		return EXIT_REFUSED;
	}
	if (json_out)
		print_raw_line(r);
	else if (cmd->reply == YK_REPLY_STATUS) {
		if (print_status(obj, time(NULL)) == -1) {
			errmsg("malformed status reply from yaokid at %s",
			    sockpath);
			rv = EXIT_UNREACHABLE;
		}
	} else if (cmd->reply == YK_REPLY_VERSION) {
		if ((v = obj_string(obj, "version")) != NULL)
			printf("%s\n", v);
		else {
			errmsg("reply from yaokid at %s has no version",
			    sockpath);
			rv = EXIT_UNREACHABLE;
		}
	}
	json_object_put(obj);
	return rv;
}

int
main(int argc, char *argv[])
{
	const struct yk_ctl_command *cmd;
	const char *sockpath = NULL, *why;
	char req[YK_CTL_REQUEST_MAX];
	struct reply r;
	bool json_out = false;
	int ch, nargs, fd, rv;

	while ((ch = getopt(argc, argv, "hjs:V")) != -1) {
		switch (ch) {
		case 'h':
			usage(stdout);
			return 0;
		case 'j':
			json_out = true;
			break;
		case 's':
			sockpath = optarg;
			break;
		case 'V':
			printf("yaokictl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;

	if (argc == 0) {
		errmsg("no command given (try yaokictl -h)");
		return EXIT_USAGE;
	}
	if ((cmd = yk_ctl_command_find(argv[0])) == NULL) {
		errmsg("unknown command: %s (try yaokictl -h)", argv[0]);
		return EXIT_USAGE;
	}
	nargs = argc - 1;
	if (nargs > (cmd->arg == YK_ARG_NONE ? 0 : 1) ||
	    (nargs == 0 && cmd->arg == YK_ARG_REQUIRED)) {
		if (cmd->arg == YK_ARG_NONE)
			errmsg("%s takes no argument", cmd->name);
		else
			errmsg("usage: yaokictl %s", cmd->synopsis);
		return EXIT_USAGE;
	}
	if (nargs == 1 && !yk_domain_name_valid(argv[1])) {
		errmsg("invalid domain name: 1 to %d characters of "
		    "[A-Za-z0-9_.-], not starting with '.' or '-'",
		    YK_DOMAIN_NAME_MAX);
		return EXIT_USAGE;
	}

	if (sockpath == NULL && (sockpath = getenv("YAOKI_SOCKET")) != NULL &&
	    *sockpath == '\0')
		sockpath = NULL;
	if (sockpath == NULL)
		sockpath = YK_CTL_DEFAULT_SOCKET;
	if (*sockpath == '\0' ||
	    strlen(sockpath) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		errmsg("socket path empty or too long: %s", sockpath);
		return EXIT_USAGE;
	}

	snprintf(req, sizeof(req), "%s%s%s\n", cmd->name, nargs ? " " : "",
	    nargs ? argv[1] : "");
	if ((fd = yk_unix_connect(sockpath, IO_TIMEOUT_S)) == -1 ||
	    ctl_send(fd, req) == -1) {
		errmsg("cannot reach yaokid at %s: %s", sockpath,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return EXIT_UNREACHABLE;
	}
	rv = ctl_receive(fd, &r, &why);
	if (rv == -1) {
		errmsg("cannot reach yaokid at %s: %s", sockpath,
		    why ? why : strerror(errno));
		close(fd);
		free(r.buf);
		return EXIT_UNREACHABLE;
	}
	close(fd);

	if (cmd->reply == YK_REPLY_METRICS)
		rv = handle_metrics(&r);
	else
		rv = handle_json(cmd, &r, json_out, sockpath);
	free(r.buf);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		errmsg("writing output: %s", strerror(errno));
		return 1;
	}
	return rv;
}
