/*
 * simhv.c - yaoki-simhv, the simulated hypervisor: main, options, the
 * `serve` loop and the `ctl` client.
 *
 *   yaoki-simhv serve -c FILE -s SOCKET [-f] [-v]...
 *   yaoki-simhv ctl -s SOCKET COMMAND [ARGS...]
 *
 * Owns the process: limits, signals, daemonizing, the event base and the
 * order things start and stop in. The domains, guests and protocol live in
 * their own files (sim_*.c).
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "log.h"
#include "unix_socket.h"
#include "sim_cmd.h"
#include "sim_conf.h"
#include "sim_domain.h"
#include "sim_proto.h"
#include "sim_prog.h"

#define PROGNAME	"yaoki-simhv"
/* When the hard limit is "unlimited", the kernel caps at nr_open anyway. */
#define NOFILE_CAP	1048576

static void usage(void) __attribute__((noreturn));
static int serve_main(int argc, char **argv);
static int ctl_main(int argc, char **argv);
static void raise_nofile(void);
static char *absolute_path(const char *path);
static void stop_cb(evutil_socket_t sig, short what, void *arg);

static void
usage(void)
{
	fprintf(stderr,
	    "usage: %s serve -c FILE -s SOCKET [-f] [-v]...\n"
	    "       %s ctl -s SOCKET COMMAND [ARGS...]\n", PROGNAME, PROGNAME);
	exit(1);
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "serve") == 0)
		return serve_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "ctl") == 0)
		return ctl_main(argc - 1, argv + 1);
	usage();
}

/* ---- serve --------------------------------------------------------------- */

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > NOFILE_CAP)
		rl.rlim_cur = NOFILE_CAP;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		fprintf(stderr, "%s: cannot raise the open file limit: %s\n",
		    PROGNAME, strerror(errno));
}

/* The socket is removed at exit, after the daemon has left the directory. */
static char *
absolute_path(const char *path)
{
	char cwd[PATH_MAX], *out;

	if (path[0] == '/')
		return strdup(path);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		return NULL;
	if (asprintf(&out, "%s/%s", cwd, path) == -1)
		return NULL;
	return out;
}

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(arg);
}

static int
serve_main(int argc, char **argv)
{
	struct event *sigterm_ev, *sigint_ev;
	const char *conf_path = NULL, *sock_arg = NULL;
	int ch, fd, foreground = 0, verbose = 0;
	struct event_base *base;
	struct sim_conf *conf;
	char err[512], *sock;

	optind = 1;
	while ((ch = getopt(argc, argv, "c:fs:v")) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 's':
			sock_arg = optarg;
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || conf_path == NULL || sock_arg == NULL)
		usage();
	if ((conf = sim_conf_load(conf_path)) == NULL)
		return 1;
	raise_nofile();
	if ((sock = absolute_path(sock_arg)) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", PROGNAME, sock_arg,
		    strerror(errno));
		sim_conf_free(conf);
		return 2;
	}
	if ((fd = sim_proto_bind(sock, err, sizeof(err))) == -1) {
		fprintf(stderr, "%s: %s\n", PROGNAME, err);
		sim_conf_free(conf);
		free(sock);
		return 2;
	}
	if (!foreground && daemon(0, 0) == -1) {
		fprintf(stderr, "%s: daemon: %s\n", PROGNAME, strerror(errno));
		unlink(sock);
		sim_conf_free(conf);
		free(sock);
		return 2;
	}
	log_init(PROGNAME, foreground, verbose);
	signal(SIGPIPE, SIG_IGN);

	if ((base = event_base_new()) == NULL)
		fatalx("cannot create the event base");
	if (sim_progs_init(base) == -1)
		fatalx("cannot watch SIGCHLD");
	sim_domains_init(base, conf, sim_proto_event);
	if (sim_proto_start(base, fd, sock, sim_cmd_dispatch) == -1)
		fatalx("cannot serve %s", sock);
	sigterm_ev = evsignal_new(base, SIGTERM, stop_cb, base);
	sigint_ev = evsignal_new(base, SIGINT, stop_cb, base);
	if (sigterm_ev == NULL || sigint_ev == NULL ||
	    evsignal_add(sigterm_ev, NULL) == -1 ||
	    evsignal_add(sigint_ev, NULL) == -1)
		fatalx("cannot watch SIGTERM and SIGINT");

	sim_domains_boot(conf);
	log_info("serving %s with %zu configured domains", sock,
	    conf->ndomains);
	event_base_dispatch(base);

	sim_proto_close();
	sim_domains_free();
	sim_progs_shutdown();
	event_free(sigterm_ev);
	event_free(sigint_ev);
	event_base_free(base);
	libevent_global_shutdown();
	sim_conf_free(conf);
	log_info("stopped");
	free(sock);
	return 0;
}

/* ---- ctl ----------------------------------------------------------------- */

static int
ctl_send(int fd, const char *cmd, int argc, char **argv)
{
	json_object *o, *args;
	const char *s;
	size_t len, off = 0;
	ssize_t n;
	int i, rc = 0;

	o = json_object_new_object();
	args = json_object_new_array();
	json_object_object_add(o, "cmd", json_object_new_string(cmd));
	for (i = 0; i < argc; i++)
		json_object_array_add(args, json_object_new_string(argv[i]));
	json_object_object_add(o, "args", args);
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	while (off < len + 1) {
		if (off < len)
			n = write(fd, s + off, len - off);
		else
			n = write(fd, "\n", 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = -1;
			break;
		}
		off += (size_t)n;
	}
	json_object_put(o);
	return rc;
}

/* 0 when the reply says ok, 1 when it does not. */
static int
ctl_reply_status(const char *line)
{
	json_object *o, *ok;
	int rc = 1;

	if ((o = json_tokener_parse(line)) == NULL)
		return 1;
	if (json_object_object_get_ex(o, "ok", &ok) &&
	    json_object_is_type(ok, json_type_boolean) &&
	    json_object_get_boolean(ok))
		rc = 0;
	json_object_put(o);
	return rc;
}

static int
ctl_main(int argc, char **argv)
{
	const char *sock = NULL;
	char *line = NULL;
	size_t cap = 0;
	FILE *in;
	int ch, fd, rc;

	optind = 1;
	while ((ch = getopt(argc, argv, "+s:")) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		default:
			usage();
		}
	}
	if (sock == NULL || optind >= argc)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if ((fd = yk_unix_connect(sock, 0)) == -1) {
		fprintf(stderr, "%s: cannot connect to %s: %s\n", PROGNAME,
		    sock, strerror(errno));
		return 2;
	}
	if (ctl_send(fd, argv[optind], argc - optind - 1,
	    argv + optind + 1) == -1 || (in = fdopen(fd, "r")) == NULL) {
		fprintf(stderr, "%s: %s: %s\n", PROGNAME, sock,
		    strerror(errno));
		close(fd);
		return 2;
	}
	if (getline(&line, &cap, in) <= 0) {
		fprintf(stderr, "%s: %s closed the connection without a "
		    "reply\n", PROGNAME, sock);
		free(line);
		fclose(in);
		return 2;
	}
	fputs(line, stdout);
	fflush(stdout);
	rc = ctl_reply_status(line);
	/* `events`: go on printing the stream until simhv closes it. */
	if (rc == 0 && strcmp(argv[optind], "events") == 0) {
		while (getline(&line, &cap, in) > 0) {
			fputs(line, stdout);
			fflush(stdout);
		}
	}
	free(line);
	fclose(in);
	return rc;
}
