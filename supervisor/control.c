/*
 * control.c - the status socket server.
 *
 * A UNIX stream socket (mode 0660, root:socket_group). Each client sends one
 * request line (at most 1024 bytes) and gets one reply, then the connection
 * closes. The peer's credentials (SO_PEERCRED) decide: root may change
 * things, anybody else who can connect (socket_group) may only read.
 * Bounded: a per-connection timeout and a cap on simultaneous clients; a
 * hostile client gets an error reply and never disturbs the daemon.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <json-c/json.h>

#include "control.h"
#include "log.h"
#include "metrics.h"
#include "status_json.h"
#include "supervisor.h"

#define CTL_MAX_REQUEST 1024
#define CTL_MAX_CLIENTS 64
#define CTL_TIMEOUT_S 5

struct control {
	struct sup *sup;
	struct evconnlistener *lev;
	char *path;
	unsigned nclients;
};

struct client {
	struct control *ctl;
	struct bufferevent *bev;
	uid_t uid;
	bool replied;
};

static void
client_free(struct client *cl)
{
	cl->ctl->nclients--;
	bufferevent_free(cl->bev);
	free(cl);
}

static void
client_write_cb(struct bufferevent *bev, void *arg)
{
	struct client *cl = arg;

	if (cl->replied && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		client_free(cl);
}

static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev; (void)what;
	client_free(arg);
}

static void
reply_json(struct client *cl, struct json_object *o)
{
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	bufferevent_write(cl->bev, text, strlen(text));
	bufferevent_write(cl->bev, "\n", 1);
	json_object_put(o);
	cl->replied = true;
	bufferevent_disable(cl->bev, EV_READ);
}

static void
reply_error(struct client *cl, const char *fmt, ...) YK_PRINTF(2, 3);

static void
reply_error(struct client *cl, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	reply_json(cl, o);
}

static void
reply_ok(struct client *cl)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	reply_json(cl, o);
}

static bool
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isprint((unsigned char)*s))
			return false;
	return true;
}

static void
do_reload(struct client *cl)
{
	struct sup *s = cl->ctl->sup;
	char err[4096];

	if (s->reload == NULL || s->reload(s, err, sizeof(err)) == -1)
		reply_error(cl, "%s", s->reload ? err : "reload is not available");
	else
		reply_ok(cl);
}

static void
do_metrics(struct client *cl)
{
	metrics_render(cl->ctl->sup, bufferevent_get_output(cl->bev));
	cl->replied = true;
	bufferevent_disable(cl->bev, EV_READ);
}

static void
dispatch(struct client *cl, char *line)
{
	struct sup *s = cl->ctl->sup;
	struct sup_domain *d = NULL;
	char *arg, err[512];
	bool mutating;

	arg = strchr(line, ' ');
	if (arg != NULL)
		*arg++ = '\0';
	if (!printable(line) || (arg != NULL && (!printable(arg) ||
	    *arg == '\0' || strchr(arg, ' ') != NULL))) {
		reply_error(cl, "malformed request");
		return;
	}
	mutating = strcmp(line, "pause") == 0 || strcmp(line, "resume") == 0 ||
	    strcmp(line, "recover") == 0 || strcmp(line, "reset") == 0;
	if (mutating || strcmp(line, "reload") == 0) {
		if (cl->uid != 0) {
			reply_error(cl, "permission denied: only root may %s", line);
			return;
		}
	}
	if (arg != NULL && (d = sup_find(s, arg)) == NULL &&
	    (mutating || strcmp(line, "status") == 0)) {
		reply_error(cl, "unknown domain: %s", arg);
		return;
	}
	if (strcmp(line, "status") == 0)
		reply_json(cl, status_json(s, d));
	else if (strcmp(line, "version") == 0 && arg == NULL) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
		reply_json(cl, o);
	} else if (strcmp(line, "metrics") == 0 && arg == NULL)
		do_metrics(cl);
	else if (strcmp(line, "reload") == 0 && arg == NULL)
		do_reload(cl);
	else if (mutating && d == NULL)
		reply_error(cl, "%s needs a domain name", line);
	else if (mutating) {
		if (sup_command(s, line, d, err, sizeof(err)) == -1)
			reply_error(cl, "%s", err);
		else
			reply_ok(cl);
	} else if (arg != NULL && (strcmp(line, "version") == 0 ||
	    strcmp(line, "metrics") == 0 || strcmp(line, "reload") == 0))
		reply_error(cl, "%s takes no argument", line);
	else
		reply_error(cl, "unknown command: %.40s", line);
}

static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	struct client *cl = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len;
	char *line;

	if (cl->replied)
		return;
	line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF);
	if (line == NULL) {
		if (evbuffer_get_length(in) > CTL_MAX_REQUEST)
			reply_error(cl, "request too long (at most %d bytes)",
			    CTL_MAX_REQUEST);
		return;
	}
	if (len > CTL_MAX_REQUEST)
		reply_error(cl, "request too long (at most %d bytes)", CTL_MAX_REQUEST);
	else {
		if (len > 0 && line[len - 1] == '\r')
			line[len - 1] = '\0';
		dispatch(cl, line);
	}
	free(line);
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct control *ctl = arg;
	struct timeval tv = { CTL_TIMEOUT_S, 0 };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct client *cl;

	(void)lev; (void)sa; (void)salen;
	if (ctl->nclients >= CTL_MAX_CLIENTS ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1) {
		evutil_closesocket(fd);
		return;
	}
	cl = calloc(1, sizeof(*cl));
	if (cl == NULL) {
		evutil_closesocket(fd);
		return;
	}
	cl->ctl = ctl;
	cl->uid = cred.uid;
	cl->bev = bufferevent_socket_new(ctl->sup->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (cl->bev == NULL) {
		evutil_closesocket(fd);
		free(cl);
		return;
	}
	ctl->nclients++;
	bufferevent_setcb(cl->bev, client_read_cb, client_write_cb,
	    client_event_cb, cl);
	bufferevent_set_timeouts(cl->bev, &tv, &tv);
	bufferevent_setwatermark(cl->bev, EV_READ, 0, CTL_MAX_REQUEST + 2);
	bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
}

/* A live daemon answers a connect; a stale socket file refuses it. */
static int
socket_in_use(const struct sockaddr_un *sun)
{
	int fd, rc;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return 0;
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	return rc == 0;
}

static int
prepare_dir(const char *path, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	struct stat st;
	char *dir;

	snprintf(tmp, sizeof(tmp), "%s", path);
	dir = dirname(tmp);
	if (stat(dir, &st) == 0)
		return 0;
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "socket %s: cannot create %s: %s", path,
		    dir, strerror(errno));
		return -1;
	}
	return 0;
}

struct control *
control_open(struct sup *s, const char *path, const char *group, char *err,
    size_t errlen)
{
	struct sockaddr_un sun;
	struct control *ctl;
	gid_t gid = (gid_t)-1;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket %s: path too long", path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	if (group != NULL) {
		struct group *gr = getgrnam(group);

		if (gr == NULL) {
			snprintf(err, errlen, "socket_group %s: no such group", group);
			return NULL;
		}
		gid = gr->gr_gid;
	}
	if (prepare_dir(path, err, errlen) == -1)
		return NULL;
	if (socket_in_use(&sun)) {
		snprintf(err, errlen, "socket %s: another yaokid is serving it",
		    path);
		return NULL;
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		umask(old);
		snprintf(err, errlen, "socket %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	umask(old);
	if (chmod(path, 0660) == -1 ||
	    (gid != (gid_t)-1 && chown(path, 0, gid) == -1)) {
		snprintf(err, errlen, "socket %s: cannot set owner and mode: %s",
		    path, strerror(errno));
		close(fd);
		unlink(path);
		return NULL;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL || (ctl->path = strdup(path)) == NULL)
		fatalx("out of memory");
	ctl->sup = s;
	ctl->lev = evconnlistener_new(s->base, accept_cb, ctl,
	    LEV_OPT_CLOSE_ON_FREE, 64, fd);
	if (ctl->lev == NULL) {
		snprintf(err, errlen, "socket %s: cannot listen", path);
		close(fd);
		free(ctl->path);
		free(ctl);
		return NULL;
	}
	return ctl;
}

void
control_close(struct control *c)
{
	if (c == NULL)
		return;
	evconnlistener_free(c->lev);
	unlink(c->path);
	free(c->path);
	free(c);
}
