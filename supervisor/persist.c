/*
 * persist.c - reads and writes yaokid's files under state_dir.
 *
 * Owns the on-disk format (json-c), the atomic-write discipline and the
 * state dir's lock (one yaokid per state_dir). A file that cannot be
 * trusted is moved aside, never fatal: yaokid starts fresh for that domain
 * rather than refusing to start. The state dir itself must be root's and
 * writable only by root (it holds configurations libxl runs as root).
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "file.h"
#include "log.h"
#include "persist.h"

#define STATE_FORMAT 1
#define STATE_MAX_FILE (8u << 20)

static int
mkdir_p(const char *dir, mode_t mode)
{
	char tmp[PATH_MAX];
	char *p;

	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * A write interrupted by a crash leaves NAME.tmp.PID behind (the real file
 * is intact: rename never happened). They are removed at start.
 */
static void
remove_stale_temporaries(const char *dir)
{
	struct dirent *de;
	char path[PATH_MAX];
	DIR *dp;

	if ((dp = opendir(dir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		if (strstr(de->d_name, ".json.tmp.") == NULL)
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (unlink(path) == 0)
			log_info("state: removed %s, left by an interrupted write",
			    path);
	}
	closedir(dp);
}

/* The holder's PID as written in the lock file, or 0 when unknown. */
static long
lock_holder(int fd)
{
	char buf[32];
	ssize_t n;
	char *end;
	long pid;

	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	return (pid > 0 && (*end == '\n' || *end == '\0')) ? pid : 0;
}

/*
 * One yaokid per state_dir: an exclusive flock on STATE_DIR/yaokid.lock,
 * held (the descriptor open, close-on-exec) until the process ends, and
 * the holder's PID written in it for the next one's message.
 */
static int
lock_dir(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX], pid[32];
	long holder;
	int fd, n;

	snprintf(path, sizeof(path), "%s/%s", dir, PERSIST_LOCK_FILE);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		snprintf(err, errlen, "state dir %s: cannot open %s: %s", dir,
		    path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK && (holder = lock_holder(fd)) > 0)
			snprintf(err, errlen, "state dir %s is in use by another "
			    "yaokid (pid %ld); one yaokid per state_dir", dir,
			    holder);
		else if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "state dir %s is in use by another "
			    "yaokid (it holds %s); one yaokid per state_dir",
			    dir, path);
		else
			snprintf(err, errlen, "state dir %s: cannot lock %s: %s",
			    dir, path, strerror(errno));
		close(fd);
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, pid, (size_t)n, 0) != n)
		log_warn("state: cannot write the pid into %s", path);
	return fd;
}

/* state_dir holds code that runs as root (captured configurations). */
static int
check_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;
	char why[128];

	if (stat(dir, &st) == -1) {
		snprintf(err, errlen, "state dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "state dir %s: not a directory", dir);
		return -1;
	}
	if (yk_file_untrusted(&st, 0, why, sizeof(why)) != NULL) {
		snprintf(err, errlen, "state dir %s: %s", dir, why);
		return -1;
	}
	if (access(dir, W_OK | X_OK) == -1) {
		snprintf(err, errlen, "state dir %s: not writable: %s", dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
persist_dir_prepare(const char *dir, char *err, size_t errlen)
{
	int fd;

	if (mkdir_p(dir, 0700) == -1) {
		snprintf(err, errlen, "state dir %s: cannot create: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (check_dir(dir, err, errlen) == -1 ||
	    (fd = lock_dir(dir, err, errlen)) == -1)
		return -1;
	/* Only now: another yaokid's temporaries are never ours to remove. */
	remove_stale_temporaries(dir);
	return fd;
}

static void
state_path(char *buf, size_t len, const char *dir, const char *name,
    const char *suffix)
{
	snprintf(buf, len, "%s/%s.%s", dir, name, suffix);
}

/* The whole text must be one JSON value (a torn write is not). */
static struct json_object *
parse_json(const char *text, size_t len)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t end;

	if ((tok = json_tokener_new()) == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, text, (int)len);
	if (o != NULL) {
		end = json_tokener_get_parse_end(tok);
		while (end < len && strchr(" \t\r\n", text[end]) != NULL)
			end++;
		if (end != len) {
			json_object_put(o);
			o = NULL;
		}
	}
	json_tokener_free(tok);
	return o;
}

static void
move_aside(const char *path, const char *why)
{
	char aside[PATH_MAX];

	snprintf(aside, sizeof(aside), "%s.corrupt-%lld", path,
	    (long long)time(NULL));
	if (rename(path, aside) == -1)
		log_warn("state: %s is %s and cannot be moved aside", path, why);
	else
		log_warnx("state: %s is %s; moved to %s, starting fresh", path,
		    why, aside);
}

/* Optional members: absent is fine, the wrong type is not. */
static int
opt_bool(struct json_object *o, const char *key, bool *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return -1;
	*out = json_object_get_boolean(v);
	return 0;
}

static int
opt_int(struct json_object *o, const char *key, int64_t lo, int64_t hi,
    int64_t *out)
{
	struct json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return -1;
	x = json_object_get_int64(v);
	if (x < lo || x > hi)
		return -1;
	*out = x;
	return 0;
}

/* An optional identifier (a uuid, a boot id): printable, no spaces. */
static int
opt_id(struct json_object *o, const char *key, char *out, size_t len)
{
	struct json_object *v;
	const char *s;
	size_t i, n;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	n = strlen(s);
	if (n >= len)
		return -1;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return -1;
	memcpy(out, s, n + 1);
	return 0;
}

static int
parse_intent(struct json_object *o, struct yk_persist *p)
{
	struct json_object *intent;
	int64_t domid = -1, at = 0;

	if (!json_object_object_get_ex(o, "intent", &intent) || intent == NULL)
		return 0;             /* absent or null: no recovery in flight */
	if (!json_object_is_type(intent, json_type_object) ||
	    opt_int(intent, "domid", -1, INT32_MAX, &domid) == -1 ||
	    opt_int(intent, "at_ms", 0, INT64_MAX, &at) == -1 ||
	    opt_id(intent, "uuid", p->intent_uuid, sizeof(p->intent_uuid)) == -1 ||
	    opt_bool(intent, "creating", &p->intent_creating) == -1)
		return -1;
	p->intent = true;
	p->intent_domid = (int)domid;
	p->intent_wall_ms = at;
	return 0;
}

/* Anything unexpected makes the whole record untrusted. */
static int
parse_record(struct json_object *o, const char *name, struct yk_persist *p)
{
	struct json_object *v, *hist;
	int64_t x, domid = -1, streak = 0;
	size_t i, n;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "format", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int(v) != STATE_FORMAT ||
	    !json_object_object_get_ex(o, "domain", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), name) != 0 ||
	    !json_object_object_get_ex(o, "history", &hist) ||
	    !json_object_is_type(hist, json_type_array))
		return -1;
	if (opt_bool(o, "maintenance", &p->maintenance) == -1 ||
	    opt_bool(o, "unrecoverable", &p->unrecoverable) == -1 ||
	    opt_bool(o, "created_by_us", &p->created_by_us) == -1 ||
	    opt_int(o, "created_domid", -1, INT32_MAX, &domid) == -1 ||
	    opt_int(o, "streak", 0, UINT_MAX, &streak) == -1 ||
	    opt_id(o, "boot_id", p->boot_id, sizeof(p->boot_id)) == -1)
		return -1;
	p->created_domid = (int)domid;
	p->streak = (unsigned)streak;
	if (json_object_object_get_ex(o, "reason", &v)) {
		if (!json_object_is_type(v, json_type_string))
			return -1;
		snprintf(p->reason, sizeof(p->reason), "%s",
		    json_object_get_string(v));
	}
	n = json_object_array_length(hist);
	if (n > YK_SM_HIST_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(hist, i);
		if (!json_object_is_type(v, json_type_int) ||
		    (x = json_object_get_int64(v)) < 0 ||
		    (i > 0 && x < p->hist_wall_ms[i - 1]))
			return -1;
		p->hist_wall_ms[i] = x;
	}
	p->nhist = (unsigned)n;
	return parse_intent(o, p);
}

static void
persist_clear(struct yk_persist *p)
{
	memset(p, 0, sizeof(*p));
	p->intent_domid = -1;
	p->created_domid = -1;
}

int
persist_load(const char *dir, const char *name, struct yk_persist *p)
{
	char path[PATH_MAX];
	struct json_object *o;
	size_t len;
	char *text;

	persist_clear(p);
	state_path(path, sizeof(path), dir, name, "state.json");
	text = yk_file_read(path, STATE_MAX_FILE, YK_FILE_NOFOLLOW | YK_FILE_NO_NUL |
	    YK_FILE_TRUSTED, &len);
	if (text == NULL) {
		if (errno != ENOENT)
			move_aside(path, "unreadable");
		return 0;
	}
	o = parse_json(text, len);
	free(text);
	if (o == NULL || parse_record(o, name, p) == -1) {
		json_object_put(o);
		persist_clear(p);
		move_aside(path, "truncated, corrupt or not yaokid's");
		return 0;
	}
	json_object_put(o);
	return 1;
}

void
persist_state_path(char *buf, size_t len, const char *dir, const char *name)
{
	state_path(buf, len, dir, name, "state.json");
}

void
persist_config_path(char *buf, size_t len, const char *dir, const char *name)
{
	state_path(buf, len, dir, name, "domain.json");
}

char *
persist_record_text(const char *name, const struct yk_persist *p)
{
	struct json_object *o, *hist, *intent;
	char *text;
	unsigned i;

	o = json_object_new_object();
	json_object_object_add(o, "format", json_object_new_int(STATE_FORMAT));
	json_object_object_add(o, "domain", json_object_new_string(name));
	json_object_object_add(o, "maintenance", json_object_new_boolean(p->maintenance));
	json_object_object_add(o, "unrecoverable", json_object_new_boolean(p->unrecoverable));
	json_object_object_add(o, "created_by_us", json_object_new_boolean(p->created_by_us));
	json_object_object_add(o, "created_domid", json_object_new_int(p->created_domid));
	json_object_object_add(o, "streak", json_object_new_int64(p->streak));
	if (p->boot_id[0] != '\0')
		json_object_object_add(o, "boot_id",
		    json_object_new_string(p->boot_id));
	json_object_object_add(o, "reason", json_object_new_string(p->reason));
	hist = json_object_new_array();
	for (i = 0; i < p->nhist; i++)
		json_object_array_add(hist, json_object_new_int64(p->hist_wall_ms[i]));
	json_object_object_add(o, "history", hist);
	if (p->intent) {
		intent = json_object_new_object();
		json_object_object_add(intent, "domid", json_object_new_int(p->intent_domid));
		json_object_object_add(intent, "at_ms", json_object_new_int64(p->intent_wall_ms));
		if (p->intent_uuid[0] != '\0')
			json_object_object_add(intent, "uuid",
			    json_object_new_string(p->intent_uuid));
		json_object_object_add(intent, "creating",
		    json_object_new_boolean(p->intent_creating));
		json_object_object_add(o, "intent", intent);
	} else
		json_object_object_add(o, "intent", NULL);
	text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	if (text == NULL)
		fatalx("out of memory");
	return text;
}

int
persist_save(const char *dir, const char *name, const struct yk_persist *p)
{
	char path[PATH_MAX];
	char *text;
	int rc;

	text = persist_record_text(name, p);
	persist_state_path(path, sizeof(path), dir, name);
	rc = yk_file_write_atomic(path, text, strlen(text), 0600);
	if (rc == -1)
		log_warn("%s: cannot save state to %s", name, path);
	free(text);
	return rc;
}

char *
persist_load_config(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct json_object *o;
	size_t len;
	char *text;

	state_path(path, sizeof(path), dir, name, "domain.json");
	text = yk_file_read(path, STATE_MAX_FILE, YK_FILE_NOFOLLOW | YK_FILE_NO_NUL |
	    YK_FILE_TRUSTED, &len);
	if (text == NULL) {
		if (errno != ENOENT)
			move_aside(path, "unreadable");
		return NULL;
	}
	o = parse_json(text, len);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		free(text);
		move_aside(path, "truncated or not a JSON object");
		return NULL;
	}
	json_object_put(o);
	return text;
}

int
persist_save_config(const char *dir, const char *name, const char *json)
{
	char path[PATH_MAX];
	int rc;

	state_path(path, sizeof(path), dir, name, "domain.json");
	rc = yk_file_write_atomic(path, json, strlen(json), 0600);
	if (rc == -1)
		log_warn("%s: cannot save the captured configuration to %s", name, path);
	return rc;
}
