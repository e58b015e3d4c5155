/*
 * state.c - reads and writes yaokid's files under state_dir.
 *
 * Owns the on-disk format (json-c) and the atomic-write discipline. A file
 * that cannot be trusted is moved aside, never fatal: yaokid starts fresh
 * for that domain rather than refusing to start.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "log.h"
#include "state.h"

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

int
state_dir_prepare(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir_p(dir, 0700) == -1) {
		snprintf(err, errlen, "state dir %s: cannot create: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "state dir %s: not a directory", dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK) == -1) {
		snprintf(err, errlen, "state dir %s: not writable: %s", dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
fsync_dir_of(const char *path)
{
	char tmp[PATH_MAX];
	int fd, rc;

	snprintf(tmp, sizeof(tmp), "%s", path);
	fd = open(dirname(tmp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
state_write_atomic(const char *path, const char *data, size_t len, int mode)
{
	char tmp[PATH_MAX];
	size_t off = 0;
	int fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd == -1)
		return -1;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fchmod(fd, mode) == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	return fsync_dir_of(path);
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = saved;
	return -1;
}

static void
state_path(char *buf, size_t len, const char *dir, const char *name,
    const char *suffix)
{
	snprintf(buf, len, "%s/%s.%s", dir, name, suffix);
}

static char *
read_file(const char *path, size_t *lenp)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > STATE_MAX_FILE) {
		close(fd);
		errno = EINVAL;
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		return NULL;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		errno = EIO;
		return NULL;
	}
	buf[n] = '\0';
	if (lenp != NULL)
		*lenp = (size_t)n;
	return buf;
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

static bool
get_bool(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static int
parse_record(struct json_object *o, const char *name, struct yk_persist *p)
{
	struct json_object *v, *hist, *intent;
	size_t i, n;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "format", &v) ||
	    json_object_get_int(v) != STATE_FORMAT ||
	    !json_object_object_get_ex(o, "domain", &v) ||
	    strcmp(json_object_get_string(v), name) != 0 ||
	    !json_object_object_get_ex(o, "history", &hist) ||
	    !json_object_is_type(hist, json_type_array))
		return -1;
	p->maintenance = get_bool(o, "maintenance");
	p->unrecoverable = get_bool(o, "unrecoverable");
	p->created_by_us = get_bool(o, "created_by_us");
	p->created_domid = json_object_object_get_ex(o, "created_domid", &v) ?
	    json_object_get_int(v) : -1;
	if (json_object_object_get_ex(o, "streak", &v))
		p->streak = (unsigned)json_object_get_int(v);
	if (json_object_object_get_ex(o, "reason", &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(p->reason, sizeof(p->reason), "%s", json_object_get_string(v));
	n = json_object_array_length(hist);
	if (n > YK_SM_HIST_MAX)
		return -1;
	for (i = 0; i < n; i++)
		p->hist_wall_ms[i] = json_object_get_int64(json_object_array_get_idx(hist, i));
	p->nhist = (unsigned)n;
	if (json_object_object_get_ex(o, "intent", &intent) &&
	    json_object_is_type(intent, json_type_object)) {
		p->intent = true;
		p->intent_domid = json_object_object_get_ex(intent, "domid", &v) ?
		    json_object_get_int(v) : -1;
		p->intent_wall_ms = json_object_object_get_ex(intent, "at_ms", &v) ?
		    json_object_get_int64(v) : 0;
	}
	return 0;
}

int
state_load(const char *dir, const char *name, struct yk_persist *p)
{
	char path[PATH_MAX];
	struct json_object *o;
	char *text;

	memset(p, 0, sizeof(*p));
	p->intent_domid = -1;
	p->created_domid = -1;
	state_path(path, sizeof(path), dir, name, "state.json");
	text = read_file(path, NULL);
	if (text == NULL) {
		if (errno != ENOENT)
			move_aside(path, "unreadable");
		return 0;
	}
	o = json_tokener_parse(text);
	free(text);
	if (o == NULL || parse_record(o, name, p) == -1) {
		json_object_put(o);
		memset(p, 0, sizeof(*p));
		p->intent_domid = -1;
		p->created_domid = -1;
		move_aside(path, "truncated, corrupt or not yaokid's");
		return 0;
	}
	json_object_put(o);
	return 1;
}

int
state_save(const char *dir, const char *name, const struct yk_persist *p)
{
	char path[PATH_MAX];
	struct json_object *o, *hist, *intent;
	const char *text;
	unsigned i;
	int rc;

	o = json_object_new_object();
	json_object_object_add(o, "format", json_object_new_int(STATE_FORMAT));
	json_object_object_add(o, "domain", json_object_new_string(name));
	json_object_object_add(o, "maintenance", json_object_new_boolean(p->maintenance));
	json_object_object_add(o, "unrecoverable", json_object_new_boolean(p->unrecoverable));
	json_object_object_add(o, "created_by_us", json_object_new_boolean(p->created_by_us));
	json_object_object_add(o, "created_domid", json_object_new_int(p->created_domid));
	json_object_object_add(o, "streak", json_object_new_int((int)p->streak));
	json_object_object_add(o, "reason", json_object_new_string(p->reason));
	hist = json_object_new_array();
	for (i = 0; i < p->nhist; i++)
		json_object_array_add(hist, json_object_new_int64(p->hist_wall_ms[i]));
	json_object_object_add(o, "history", hist);
	if (p->intent) {
		intent = json_object_new_object();
		json_object_object_add(intent, "domid", json_object_new_int(p->intent_domid));
		json_object_object_add(intent, "at_ms", json_object_new_int64(p->intent_wall_ms));
		json_object_object_add(o, "intent", intent);
	} else
		json_object_object_add(o, "intent", NULL);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	state_path(path, sizeof(path), dir, name, "state.json");
	rc = state_write_atomic(path, text, strlen(text), 0600);
	if (rc == -1)
		log_warn("%s: cannot save state to %s", name, path);
	json_object_put(o);
	return rc;
}

char *
state_load_config(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct json_object *o;
	char *text;

	state_path(path, sizeof(path), dir, name, "domain.json");
	text = read_file(path, NULL);
	if (text == NULL) {
		if (errno != ENOENT)
			move_aside(path, "unreadable");
		return NULL;
	}
	o = json_tokener_parse(text);
	if (o == NULL) {
		free(text);
		move_aside(path, "not valid JSON");
		return NULL;
	}
	json_object_put(o);
	return text;
}

int
state_save_config(const char *dir, const char *name, const char *json)
{
	char path[PATH_MAX];
	int rc;

	state_path(path, sizeof(path), dir, name, "domain.json");
	rc = state_write_atomic(path, json, strlen(json), 0600);
	if (rc == -1)
		log_warn("%s: cannot save the captured configuration to %s", name, path);
	return rc;
}
