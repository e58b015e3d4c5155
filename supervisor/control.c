/*
 * control.c - the status socket server.
 *
 * A UNIX stream socket (mode 0660, root:socket_group) in a directory that
 * only root may write. Each client sends one request line (at most 1024
 * bytes) and gets one reply, then the connection closes. The peer's
 * credentials (SO_PEERCRED, SO_PEERGROUPS) decide: root may change things,
 * members of socket_group may only read, anybody else is refused.
 * Bounded: a whole-connection deadline and a cap on simultaneous clients
 * (the oldest client still silent makes room for a new one); a hostile
 * client gets an error reply and never disturbs the daemon.
 * Never blocks the loop and never trusts a byte of the request.
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
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
#include "control_proto.h"
#include "log.h"
#include "metrics.h"
#include "status_json.h"
#include "supervisor.h"
#include "unix_socket.h"

#define CTL_MAX_CLIENTS 64      /* connections served at once */
#define CTL_TIMEOUT_S   5       /* whole exchange, request and reply */
#define CTL_MAX_GROUPS  256     /* supplementary groups looked at */

enum access { ACCESS_NONE, ACCESS_READ, ACCESS_ROOT };

struct client {
	TAILQ_ENTRY(client) entry;
	struct control *ctl;
	struct bufferevent *bev;
	struct event *deadline;
	enum access access;
	bool replied;
};
TAILQ_HEAD(client_list, client);

struct control {
	struct sup *sup;
	struct evconnlistener *lev;
	char *path;
	gid_t gid;                      /* socket_group, or -1 */
	unsigned nclients;
	struct client_list clients;     /* oldest first */
};

static void reply_error(struct client *, const char *, ...) YK_PRINTF(2, 3);

static void
client_free(struct client *cl)
{
	struct control *ctl = cl->ctl;

	TAILQ_REMOVE(&ctl->clients, cl, entry);
	ctl->nclients--;
	event_free(cl->deadline);
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
	struct client *cl = arg;

	(void)bev;
	/* A half-closed client without a whole request still hears why. */
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && !cl->replied)
		reply_error(cl, "incomplete request: no newline before the end");
	else if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		client_free(cl);
}

static void
client_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client *cl = arg;
	struct timeval tv = { 1, 0 };

	(void)fd; (void)what;
	if (cl->replied) {
		/* It does not read its reply: drop it. */
		client_free(cl);
		return;
	}
	reply_error(cl, "no complete request within %d seconds", CTL_TIMEOUT_S);
	/* One more second to take the error, then it goes whatever happens. */
	evtimer_add(cl->deadline, &tv);
}

static void
reply_text(struct client *cl, const char *text, size_t len)
{
	struct evbuffer *out = bufferevent_get_output(cl->bev);

	evbuffer_add(out, text, len);
	cl->replied = true;
	bufferevent_disable(cl->bev, EV_READ);
	/* Nothing more is read: drop what the client sent beyond the line. */
	evbuffer_drain(bufferevent_get_input(cl->bev),
	    evbuffer_get_length(bufferevent_get_input(cl->bev)));
}

static void
reply_json(struct client *cl, struct json_object *o)
{
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	reply_text(cl, text, strlen(text));
	reply_text(cl, "\n", 1);
	json_object_put(o);
}

static void
reply_status(struct client *cl, const struct sup *s, const struct sup_domain *d)
{
	if (status_json_write(s, d, bufferevent_get_output(cl->bev)) == -1)
		log_warnx("control: out of memory writing the status");
	reply_text(cl, "", 0);
}

static void
reply_error(struct client *cl, const char *fmt, ...)
{
	struct json_object *o = json_object_new_object();
	char msg[4096];
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

static void
do_version(struct client *cl)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	reply_json(cl, o);
}

static void
do_metrics(struct client *cl)
{
	struct evbuffer *buf = evbuffer_new();

	if (buf == NULL) {
		reply_error(cl, "out of memory");
		return;
	}
	metrics_render(cl->ctl->sup, buf);
	evbuffer_add_buffer(bufferevent_get_output(cl->bev), buf);
	evbuffer_free(buf);
	reply_text(cl, "", 0);
}

static void
do_reload(struct client *cl)
{
	struct sup *s = cl->ctl->sup;
	char err[4096];

	if (s->reload == NULL) {
		reply_error(cl, "reload is not available");
		return;
	}
	log_notice("operator: reload");
	if (s->reload(s, err, sizeof(err)) == -1)
		reply_error(cl, "%s", err);
	else
		reply_ok(cl);
}

static void
do_domain_command(struct client *cl, const struct yk_ctl_request *req)
{
	struct sup *s = cl->ctl->sup;
	struct sup_domain *d;
	char err[512];

	if ((d = sup_find(s, req->domain)) == NULL) {
		reply_error(cl, "unknown domain: %s", req->domain);
		return;
	}
	if (sup_command(s, req->cmd->cmd, d, err, sizeof(err)) == -1)
		reply_error(cl, "%s", err);
	else
		reply_ok(cl);
}

/*
 * Strangers learn nothing, not even whether their request parsed; members
 * of socket_group learn that a command is root's before its arguments
 * are judged.
 */
static void
dispatch(struct client *cl, char *line, size_t len)
{
	struct sup *s = cl->ctl->sup;
	struct sup_domain *d = NULL;
	struct yk_ctl_request req;
	char err[256];
	int rc;

	rc = yk_ctl_parse(line, len, &req, err, sizeof(err));
	if (cl->access == ACCESS_NONE) {
		reply_error(cl, "permission denied: neither root nor a member "
		    "of socket_group");
		return;
	}
	if (req.cmd != NULL && req.cmd->root_only &&
	    cl->access != ACCESS_ROOT) {
		reply_error(cl, "permission denied: only root may %s",
		    req.cmd->name);
		return;
	}
	if (rc == -1) {
		reply_error(cl, "%s", err);
		return;
	}
	switch (req.cmd->cmd) {
	case YK_CMD_STATUS:
		if (req.domain != NULL && (d = sup_find(s, req.domain)) == NULL)
			reply_error(cl, "unknown domain: %s", req.domain);
		else
			reply_status(cl, s, d);
		break;
	case YK_CMD_METRICS:
		do_metrics(cl);
		break;
	case YK_CMD_VERSION:
		do_version(cl);
		break;
	case YK_CMD_RELOAD:
		do_reload(cl);
		break;
	default:
		do_domain_command(cl, &req);
		break;
	}
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
		if (evbuffer_get_length(in) > YK_CTL_REQUEST_MAX)
			reply_error(cl, "request too long (at most %d bytes)",
			    YK_CTL_REQUEST_MAX);
		return;
	}
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (len > YK_CTL_REQUEST_MAX)
		reply_error(cl, "request too long (at most %d bytes)",
		    YK_CTL_REQUEST_MAX);
	else
		dispatch(cl, line, len);
	free(line);
}

/* Is gid among the peer's groups (SO_PEERGROUPS, Linux 4.13)? */
static bool
peer_in_group(int fd, gid_t primary, gid_t gid)
{
	gid_t groups[CTL_MAX_GROUPS];
	socklen_t len = sizeof(groups);
	size_t i;

	if (primary == gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1)
		return false;
	for (i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == gid)
			return true;
	return false;
}

static enum access
peer_access(const struct control *ctl, int fd)
{
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == -1)
		return ACCESS_NONE;
	if (cred.uid == 0)
		return ACCESS_ROOT;
	if (ctl->gid != (gid_t)-1 && peer_in_group(fd, cred.gid, ctl->gid))
		return ACCESS_READ;
	return ACCESS_NONE;
}

/* A short error sent at once, without waiting: it fits or is lost. */
static void
send_now(int fd, const char *why)
{
	struct json_object *o = json_object_new_object();
	const char *text;

	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(why));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT) >= 0)
		(void)send(fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	json_object_put(o);
}

/* At the cap, the oldest client that has not sent its request goes. */
static bool
make_room(struct control *ctl)
{
	struct client *cl;

	TAILQ_FOREACH(cl, &ctl->clients, entry)
		if (!cl->replied) {
			send_now(bufferevent_getfd(cl->bev),
			    "too many clients; try again");
			client_free(cl);
			return true;
		}
	return false;
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct control *ctl = arg;
	struct timeval tv = { CTL_TIMEOUT_S, 0 };
	struct client *cl;
	enum access access;

	(void)lev; (void)sa; (void)salen;
	/* A stranger is answered like anybody, after its request line. */
	access = peer_access(ctl, fd);
	/*
	 * A newcomer pushes out the oldest client still silent; clients being
	 * answered are on their way out within the deadline.
	 */
	if (ctl->nclients >= CTL_MAX_CLIENTS && !make_room(ctl)) {
		send_now(fd, "too many clients; try again");
		evutil_closesocket(fd);
		return;
	}
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	cl->ctl = ctl;
	cl->access = access;
	cl->bev = bufferevent_socket_new(ctl->sup->base, fd, BEV_OPT_CLOSE_ON_FREE);
	cl->deadline = evtimer_new(ctl->sup->base, client_deadline_cb, cl);
	if (cl->bev == NULL || cl->deadline == NULL) {
		if (cl->bev != NULL)
			bufferevent_free(cl->bev);
		else
			evutil_closesocket(fd);
		if (cl->deadline != NULL)
			event_free(cl->deadline);
		free(cl);
		return;
	}
	TAILQ_INSERT_TAIL(&ctl->clients, cl, entry);
	ctl->nclients++;
	bufferevent_setcb(cl->bev, client_read_cb, client_write_cb,
	    client_event_cb, cl);
	/* Reading stops at one byte past the longest request line. */
	bufferevent_setwatermark(cl->bev, EV_READ, 0, YK_CTL_REQUEST_MAX + 2);
	bufferevent_enable(cl->bev, EV_READ | EV_WRITE);
	evtimer_add(cl->deadline, &tv);
}

/*
 * The socket's directory: created if missing (mode 0750, group
 * socket_group so that its members can reach the socket, 0700 without
 * one); an existing one must be a directory nobody else may write to.
 */
static int
prepare_dir(const char *path, gid_t gid, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	struct stat st;
	char *dir;

	snprintf(tmp, sizeof(tmp), "%s", path);
	dir = dirname(tmp);
	if (stat(dir, &st) == -1) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "socket directory %s: %s", dir,
			    strerror(errno));
			return -1;
		}
		if (mkdir(dir, gid != (gid_t)-1 ? 0750 : 0700) == -1 &&
		    errno != EEXIST) {
			snprintf(err, errlen, "socket %s: cannot create %s: %s",
			    path, dir, strerror(errno));
			return -1;
		}
		if (gid != (gid_t)-1 && (chown(dir, (uid_t)-1, gid) == -1 ||
		    chmod(dir, 0750) == -1)) {
			snprintf(err, errlen, "socket directory %s: cannot set "
			    "its group: %s", dir, strerror(errno));
			return -1;
		}
		if (stat(dir, &st) == -1) {
			snprintf(err, errlen, "socket directory %s: %s", dir,
			    strerror(errno));
			return -1;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "socket %s: %s is not a directory", path, dir);
		return -1;
	}
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		snprintf(err, errlen, "socket directory %s is writable by "
		    "anybody; make it 0755 or 0750", dir);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen, "socket directory %s belongs to uid %ld; "
		    "it must belong to root", dir, (long)st.st_uid);
		return -1;
	}
	return 0;
}

struct control *
control_open(struct sup *s, const char *path, const char *group, char *err,
    size_t errlen)
{
	struct control *ctl;
	gid_t gid = (gid_t)-1;
	int fd;

	if (group != NULL) {
		struct group *gr = getgrnam(group);

		if (gr == NULL) {
			snprintf(err, errlen, "socket_group %s: no such group",
			    group);
			return NULL;
		}
		gid = gr->gr_gid;
	}
	if (prepare_dir(path, gid, err, errlen) == -1)
		return NULL;
	fd = yk_unix_listen(path, 0660, gid, "yaokid", err, errlen);
	if (fd == -1)
		return NULL;
	ctl = calloc(1, sizeof(*ctl));
	if (ctl == NULL || (ctl->path = strdup(path)) == NULL)
		fatalx("out of memory");
	ctl->sup = s;
	ctl->gid = gid;
	TAILQ_INIT(&ctl->clients);
	ctl->lev = evconnlistener_new(s->base, accept_cb, ctl,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (ctl->lev == NULL) {
		snprintf(err, errlen, "socket %s: cannot listen", path);
		close(fd);
		unlink(path);
		free(ctl->path);
		free(ctl);
		return NULL;
	}
	return ctl;
}

void
control_close(struct control *c)
{
	struct client *cl;

	if (c == NULL)
		return;
	while ((cl = TAILQ_FIRST(&c->clients)) != NULL)
		client_free(cl);
	evconnlistener_free(c->lev);
	unlink(c->path);
	free(c->path);
	free(c);
}
