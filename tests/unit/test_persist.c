/*
 * test_persist.c - yaokid's state files under state_dir (persist.c): the
 * directory, the per-domain record, the captured configuration, and how a
 * file that cannot be trusted is moved aside (never fatal).
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "file.h"
#include "log.h"
#include "persist.h"
#include "scratch.h"

#define NAME "web01"

static void
write_file(const char *dir, const char *file, const char *text, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	scratch_path(path, sizeof(path), dir, file);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *
read_whole(const char *path, size_t *lenp)
{
	char *text;

	text = yk_file_read(path, 1u << 20, 0, lenp);
	assert_non_null(text);
	return text;
}

/* access(F_OK) of DIR/NAME. */
static int
access_in(const char *dir, const char *name)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK);
}

/* The directory's entries other than . and .., sorted, joined by spaces. */
static void
list_dir(const char *dir, char *buf, size_t len)
{
	char names[16][NAME_MAX + 1], t[NAME_MAX + 1];
	struct dirent *de;
	size_t n = 0, i, j;
	DIR *dp;

	assert_non_null(dp = opendir(dir));
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		assert_true(n < 16);
		snprintf(names[n++], sizeof(names[0]), "%s", de->d_name);
	}
	closedir(dp);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			memcpy(t, names[j], sizeof(t));
			memcpy(names[j], names[j - 1], sizeof(t));
			memcpy(names[j - 1], t, sizeof(t));
		}
	buf[0] = '\0';
	for (i = 0; i < n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s",
		    i == 0 ? "" : " ", names[i]);
}

/*
 * The directory holds exactly one entry, FILE.corrupt-T with T between
 * before and after, whose content is expect (lstat's type in *modep).
 */
static void
assert_moved_aside(const char *dir, const char *file, time_t before,
    time_t after, const char *expect, size_t expect_len, mode_t *modep)
{
	char names[1024], prefix[NAME_MAX + 1], path[PATH_MAX], *end, *text;
	struct stat st;
	long long t;
	size_t len;

	list_dir(dir, names, sizeof(names));
	snprintf(prefix, sizeof(prefix), "%s.corrupt-", file);
	assert_int_equal(strncmp(names, prefix, strlen(prefix)), 0);
	assert_null(strchr(names, ' '));
	errno = 0;
	t = strtoll(names + strlen(prefix), &end, 10);
	assert_int_equal(errno, 0);
	assert_int_equal(*end, '\0');
	assert_true(t >= (long long)before && t <= (long long)after);
	scratch_path(path, sizeof(path), dir, names);
	assert_int_equal(lstat(path, &st), 0);
	if (modep != NULL)
		*modep = st.st_mode & S_IFMT;
	if (expect != NULL) {
		text = read_whole(path, &len);
		assert_int_equal(len, expect_len);
		assert_memory_equal(text, expect, len);
		free(text);
	}
}

static void
assert_cleared(const struct yk_persist *p)
{
	struct yk_persist z;

	memset(&z, 0, sizeof(z));
	z.created_domid = -1;
	z.intent_domid = -1;
	assert_false(p->maintenance);
	assert_false(p->unrecoverable);
	assert_false(p->created_by_us);
	assert_int_equal(p->created_domid, -1);
	assert_int_equal(p->streak, 0);
	assert_int_equal(p->nhist, 0);
	assert_string_equal(p->reason, "");
	assert_false(p->intent);
	assert_int_equal(p->intent_domid, -1);
	assert_int_equal(p->intent_wall_ms, 0);
	assert_memory_equal(p, &z, sizeof(z));
}

static void
full_record(struct yk_persist *p)
{
	memset(p, 0, sizeof(*p));
	p->maintenance = true;
	p->unrecoverable = true;
	p->created_by_us = true;
	p->created_domid = 17;
	p->streak = 3;
	p->nhist = 4;
	p->hist_wall_ms[0] = 1764630000000LL;
	p->hist_wall_ms[1] = 1764630000000LL;     /* equal is ascending */
	p->hist_wall_ms[2] = 1764630060123LL;
	p->hist_wall_ms[3] = 1764633600999LL;
	snprintf(p->reason, sizeof(p->reason), "%s",
	    "3 consecutive failed probes: \"http\" said 503");
	p->intent = true;
	p->intent_domid = 42;
	p->intent_wall_ms = 1764633601000LL;
	snprintf(p->intent_uuid, sizeof(p->intent_uuid), "%s",
	    "4b5c1f0e-9a3d-4c2b-8e7f-0123456789ab");
	p->intent_creating = true;
	snprintf(p->boot_id, sizeof(p->boot_id), "%s",
	    "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0");
}

static void
assert_same_record(const struct yk_persist *a, const struct yk_persist *b)
{
	unsigned i;

	assert_int_equal(a->maintenance, b->maintenance);
	assert_int_equal(a->unrecoverable, b->unrecoverable);
	assert_int_equal(a->created_by_us, b->created_by_us);
	assert_int_equal(a->created_domid, b->created_domid);
	assert_int_equal(a->streak, b->streak);
	assert_int_equal(a->nhist, b->nhist);
	for (i = 0; i < a->nhist; i++)
		assert_int_equal(a->hist_wall_ms[i], b->hist_wall_ms[i]);
	assert_string_equal(a->reason, b->reason);
	assert_int_equal(a->intent, b->intent);
	assert_int_equal(a->intent_domid, b->intent_domid);
	assert_int_equal(a->intent_wall_ms, b->intent_wall_ms);
	assert_string_equal(a->intent_uuid, b->intent_uuid);
	assert_int_equal(a->intent_creating, b->intent_creating);
	assert_string_equal(a->boot_id, b->boot_id);
}

/* ---- persist_dir_prepare ------------------------------------------------- */

static void
test_dir_prepare_creates_0700(void **state)
{
	char path[PATH_MAX], err[256] = "";
	const char *dir = *state;
	struct stat st;
	mode_t old;
	int fd;

	scratch_path(path, sizeof(path), dir, "var/lib/yaoki");
	old = umask(022);
	assert_true((fd = persist_dir_prepare(path, err, sizeof(err))) >= 0);
	umask(old);
	assert_string_equal(err, "");
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	/* Again (the lock given back): an existing directory is fine. */
	close(fd);
	assert_true((fd = persist_dir_prepare(path, err, sizeof(err))) >= 0);
	assert_string_equal(err, "");
	close(fd);
}

static void
test_dir_prepare_removes_stale_temporaries(void **state)
{
	char names[1024], err[256] = "";
	const char *dir = *state;
	int fd;

	write_file(dir, NAME ".state.json", "{}", 2);
	write_file(dir, NAME ".state.json.tmp.12345", "{\"for", 5);
	write_file(dir, "db02.state.json.tmp.1", "", 0);
	write_file(dir, NAME ".domain.json.tmp.777", "{", 1);
	write_file(dir, "notes.txt", "keep", 4);
	assert_true((fd = persist_dir_prepare(dir, err, sizeof(err))) >= 0);
	close(fd);
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names, "notes.txt " NAME ".state.json "
	    PERSIST_LOCK_FILE);
}

/* A second holder is refused, named by the PID the first wrote. */
static void
test_dir_prepare_locks(void **state)
{
	char err[PATH_MAX + 128] = "", expect[PATH_MAX + 128];
	const char *dir = *state;
	int fd;

	assert_true((fd = persist_dir_prepare(dir, err, sizeof(err))) >= 0);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(persist_dir_prepare(dir, err, sizeof(err)), -1);
	snprintf(expect, sizeof(expect), "state dir %s is in use by another "
	    "yaokid (pid %ld); one yaokid per state_dir", dir, (long)getpid());
	assert_string_equal(err, expect);
	/* Another process's temporaries survive the refused start. */
	write_file(dir, NAME ".state.json.tmp.4242", "{", 1);
	assert_int_equal(persist_dir_prepare(dir, err, sizeof(err)), -1);
	assert_int_equal(access_in(dir, NAME ".state.json.tmp.4242"), 0);
	close(fd);
	assert_true((fd = persist_dir_prepare(dir, err, sizeof(err))) >= 0);
	close(fd);
}

/* A state dir that others may write, or that is not root's, is refused. */
static void
test_dir_prepare_refuses_untrusted(void **state)
{
	char err[PATH_MAX + 128] = "", expect[PATH_MAX + 128];
	const char *dir = *state;

	assert_int_equal(chmod(dir, 0770), 0);
	assert_int_equal(persist_dir_prepare(dir, err, sizeof(err)), -1);
	snprintf(expect, sizeof(expect), "state dir %s: writable by its group "
	    "(mode 0770); only its owner may write it", dir);
	assert_string_equal(err, expect);
	assert_int_equal(chmod(dir, 01777), 0);     /* sticky is no excuse */
	assert_int_equal(persist_dir_prepare(dir, err, sizeof(err)), -1);
	snprintf(expect, sizeof(expect), "state dir %s: writable by anybody "
	    "(mode 1777); only its owner may write it", dir);
	assert_string_equal(err, expect);
	assert_int_equal(chmod(dir, 0700), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(dir, 4242, (gid_t)-1), 0);
		assert_int_equal(persist_dir_prepare(dir, err, sizeof(err)), -1);
		snprintf(expect, sizeof(expect), "state dir %s: owned by uid "
		    "4242; it must be owned by root", dir);
		assert_string_equal(err, expect);
		assert_int_equal(chown(dir, 0, (gid_t)-1), 0);
	}
}

static void
test_dir_prepare_refuses_a_regular_file(void **state)
{
	char path[PATH_MAX], expect[PATH_MAX + 64], err[PATH_MAX + 64] = "";
	const char *dir = *state;
	char *text;
	size_t len;

	write_file(dir, "state", "not a dir", 9);
	scratch_path(path, sizeof(path), dir, "state");
	assert_int_equal(persist_dir_prepare(path, err, sizeof(err)), -1);
	snprintf(expect, sizeof(expect), "state dir %s: not a directory", path);
	assert_string_equal(err, expect);
	text = read_whole(path, &len);
	assert_int_equal(len, 9);
	assert_string_equal(text, "not a dir");
	free(text);
}

/* ---- persist_save / persist_load ---------------------------------------- */

static void
test_round_trip_every_field(void **state)
{
	const char *dir = *state;
	struct yk_persist in, out;

	full_record(&in);
	assert_int_equal(persist_save(dir, NAME, &in), 0);
	memset(&out, 0xa5, sizeof(out));
	assert_int_equal(persist_load(dir, NAME, &out), 1);
	assert_same_record(&out, &in);
	assert_int_equal(out.nhist, 4);
	assert_int_equal(out.hist_wall_ms[3], 1764633600999LL);
	assert_int_equal(out.intent_domid, 42);
	assert_int_equal(out.intent_wall_ms, 1764633601000LL);

	/* The other values of every flag, and a second save replacing the first. */
	memset(&in, 0, sizeof(in));
	in.created_domid = -1;
	in.intent = true;
	in.intent_domid = -1;
	in.intent_wall_ms = 0;
	in.nhist = 1;
	in.hist_wall_ms[0] = 0;
	assert_int_equal(persist_save(dir, NAME, &in), 0);
	memset(&out, 0xa5, sizeof(out));
	assert_int_equal(persist_load(dir, NAME, &out), 1);
	assert_same_record(&out, &in);
}

static void
test_round_trip_without_intent(void **state)
{
	const char *dir = *state;
	struct yk_persist in, out;
	char names[1024];

	full_record(&in);
	in.intent = false;
	in.intent_domid = 99;           /* not saved without an intent */
	in.intent_wall_ms = 12345;
	assert_int_equal(persist_save(dir, NAME, &in), 0);
	memset(&out, 0xa5, sizeof(out));
	assert_int_equal(persist_load(dir, NAME, &out), 1);
	assert_false(out.intent);
	assert_int_equal(out.intent_domid, -1);
	assert_int_equal(out.intent_wall_ms, 0);
	assert_string_equal(out.intent_uuid, "");
	assert_false(out.intent_creating);
	in.intent_domid = -1;
	in.intent_wall_ms = 0;
	in.intent_uuid[0] = '\0';
	in.intent_creating = false;
	assert_same_record(&out, &in);
	/* No temporary is left behind, only the one file. */
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names, NAME ".state.json");
}

static void
test_round_trip_full_history(void **state)
{
	const char *dir = *state;
	struct yk_persist in, out;
	unsigned i;

	memset(&in, 0, sizeof(in));
	in.created_domid = -1;
	in.intent_domid = -1;
	in.nhist = YK_SM_HIST_MAX;
	in.streak = YK_SM_HIST_MAX;
	for (i = 0; i < YK_SM_HIST_MAX; i++)
		in.hist_wall_ms[i] = 1000000LL * i;
	memset(in.reason, 'x', sizeof(in.reason) - 1);
	assert_int_equal(persist_save(dir, NAME, &in), 0);
	assert_int_equal(persist_load(dir, NAME, &out), 1);
	assert_same_record(&out, &in);
}

/*
 * streak counts attempts since the domain was last healthy (sm.c saturates
 * it at UINT_MAX); it is not bounded by the history, which the window
 * prunes. A record with a long streak must load again.
 */
static void
test_round_trip_long_streak(void **state)
{
	const char *dir = *state;
	struct yk_persist in, out;
	char names[1024];

	full_record(&in);
	in.streak = YK_SM_HIST_MAX + 1;
	assert_int_equal(persist_save(dir, NAME, &in), 0);
	assert_int_equal(persist_load(dir, NAME, &out), 1);
	assert_same_record(&out, &in);
	in.streak = UINT_MAX;
	assert_int_equal(persist_save(dir, NAME, &in), 0);
	assert_int_equal(persist_load(dir, NAME, &out), 1);
	assert_int_equal(out.streak, UINT_MAX);
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names, NAME ".state.json");
}

static void
test_load_missing_is_a_cleared_record(void **state)
{
	const char *dir = *state;
	struct yk_persist p;
	char names[1024];

	memset(&p, 0xa5, sizeof(p));
	assert_int_equal(persist_load(dir, NAME, &p), 0);
	assert_cleared(&p);
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names, "");
}

static void
test_files_are_0600(void **state)
{
	char path[PATH_MAX];
	const char *dir = *state;
	struct yk_persist p;
	struct stat st;
	mode_t old;

	full_record(&p);
	old = umask(0);
	assert_int_equal(persist_save(dir, NAME, &p), 0);
	assert_int_equal(persist_save_config(dir, NAME, "{}"), 0);
	umask(old);
	scratch_path(path, sizeof(path), dir, NAME ".state.json");
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	scratch_path(path, sizeof(path), dir, NAME ".domain.json");
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);

	/* An existing file with a wider mode is replaced by a 0600 one. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(persist_save_config(dir, NAME, "{\"a\":1}"), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

/* Writes text as NAME's state file, loads it: 0, cleared, moved aside. */
static void
assert_state_rejected(const char *dir, const char *text, size_t len)
{
	struct yk_persist p;
	time_t before, after;
	mode_t type;

	write_file(dir, NAME ".state.json", text, len);
	memset(&p, 0xa5, sizeof(p));
	before = time(NULL);
	assert_int_equal(persist_load(dir, NAME, &p), 0);
	after = time(NULL);
	assert_cleared(&p);
	assert_moved_aside(dir, NAME ".state.json", before, after, text, len,
	    &type);
	assert_true(S_ISREG(type));
}

#define GOOD_HEAD "{\"format\":1,\"domain\":\"" NAME "\","

/* One test per kind of bad file, each in a fresh directory. */
#define REJECT_TEST(fn, text) \
static void \
fn(void **state) \
{ \
	static const char t[] = text; \
	assert_state_rejected(*state, t, sizeof(t) - 1); \
}

REJECT_TEST(test_reject_empty_file, "")
REJECT_TEST(test_reject_garbage, "\x7f" "ELF\x01\x02 this is not json")
REJECT_TEST(test_reject_trailing_garbage,
    GOOD_HEAD "\"history\":[]} {}")
REJECT_TEST(test_reject_nul_byte,
    GOOD_HEAD "\"history\":[]}\0\n")
REJECT_TEST(test_reject_not_an_object, "[1,2,3]")
REJECT_TEST(test_reject_no_format, "{\"domain\":\"" NAME "\",\"history\":[]}")
REJECT_TEST(test_reject_unknown_format,
    "{\"format\":2,\"domain\":\"" NAME "\",\"history\":[]}")
REJECT_TEST(test_reject_format_as_string,
    "{\"format\":\"1\",\"domain\":\"" NAME "\",\"history\":[]}")
REJECT_TEST(test_reject_other_domain,
    "{\"format\":1,\"domain\":\"db02\",\"history\":[]}")
REJECT_TEST(test_reject_domain_prefix,
    "{\"format\":1,\"domain\":\"" NAME "x\",\"history\":[]}")
REJECT_TEST(test_reject_no_history, GOOD_HEAD "\"streak\":0}")
REJECT_TEST(test_reject_history_not_array, GOOD_HEAD "\"history\":{}}")
REJECT_TEST(test_reject_history_descending,
    GOOD_HEAD "\"maintenance\":true,\"history\":[1000,3000,2000]}")
REJECT_TEST(test_reject_history_negative, GOOD_HEAD "\"history\":[-1]}")
REJECT_TEST(test_reject_history_string, GOOD_HEAD "\"history\":[\"1000\"]}")
REJECT_TEST(test_reject_history_double, GOOD_HEAD "\"history\":[1000.5]}")
REJECT_TEST(test_reject_bool_as_string,
    GOOD_HEAD "\"maintenance\":\"yes\",\"history\":[]}")
REJECT_TEST(test_reject_bool_as_int,
    GOOD_HEAD "\"created_by_us\":1,\"history\":[]}")
REJECT_TEST(test_reject_created_domid_string,
    GOOD_HEAD "\"created_domid\":\"7\",\"history\":[]}")
REJECT_TEST(test_reject_created_domid_below_minus_one,
    GOOD_HEAD "\"created_domid\":-2,\"history\":[]}")
REJECT_TEST(test_reject_streak_negative,
    GOOD_HEAD "\"streak\":-1,\"history\":[]}")
REJECT_TEST(test_reject_streak_above_uint_max,
    GOOD_HEAD "\"streak\":4294967296,\"history\":[]}")
REJECT_TEST(test_reject_reason_not_string,
    GOOD_HEAD "\"reason\":42,\"history\":[]}")
REJECT_TEST(test_reject_intent_not_object,
    GOOD_HEAD "\"history\":[],\"intent\":true}")
REJECT_TEST(test_reject_intent_domid_string,
    GOOD_HEAD "\"history\":[],\"intent\":{\"domid\":\"5\",\"at_ms\":1}}")
REJECT_TEST(test_reject_intent_uuid_not_string,
    GOOD_HEAD "\"history\":[],\"intent\":{\"domid\":5,\"uuid\":5}}")
REJECT_TEST(test_reject_intent_uuid_with_space,
    GOOD_HEAD "\"history\":[],\"intent\":{\"domid\":5,\"uuid\":\"a b\"}}")
REJECT_TEST(test_reject_intent_creating_not_bool,
    GOOD_HEAD "\"history\":[],\"intent\":{\"domid\":5,\"creating\":1}}")
REJECT_TEST(test_reject_boot_id_too_long,
    GOOD_HEAD "\"boot_id\":\"0123456789012345678901234567890123456789\","
    "\"history\":[]}")
REJECT_TEST(test_reject_intent_at_negative,
    GOOD_HEAD "\"history\":[],\"intent\":{\"domid\":5,\"at_ms\":-1}}")

static void
test_reject_truncated_save(void **state)
{
	char path[PATH_MAX], *text;
	const char *dir = *state;
	struct yk_persist in;
	size_t len;

	full_record(&in);
	assert_int_equal(persist_save(dir, NAME, &in), 0);
	scratch_path(path, sizeof(path), dir, NAME ".state.json");
	text = read_whole(path, &len);
	assert_true(len > 20);
	/* Every proper prefix of a good file is a torn write. */
	assert_state_rejected(dir, text, len / 2);
	scratch_remove(dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_state_rejected(dir, text, len - 1);
	free(text);
}

static void
test_reject_too_much_history(void **state)
{
	char text[YK_SM_HIST_MAX * 8 + 128];
	unsigned i;

	snprintf(text, sizeof(text), GOOD_HEAD "\"history\":[");
	for (i = 0; i <= YK_SM_HIST_MAX; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    "%s%u", i == 0 ? "" : ",", i);
	snprintf(text + strlen(text), sizeof(text) - strlen(text), "]}");
	assert_state_rejected(*state, text, strlen(text));
}

/* The smallest record the parser accepts: only format, domain, history. */
static void
test_minimal_record_loads(void **state)
{
	static const char t[] = GOOD_HEAD "\"history\":[5,5,9],\"intent\":null}\n";
	const char *dir = *state;
	struct yk_persist p;
	char names[1024];

	write_file(dir, NAME ".state.json", t, sizeof(t) - 1);
	memset(&p, 0xa5, sizeof(p));
	assert_int_equal(persist_load(dir, NAME, &p), 1);
	assert_false(p.maintenance);
	assert_false(p.unrecoverable);
	assert_false(p.created_by_us);
	assert_int_equal(p.created_domid, -1);
	assert_int_equal(p.streak, 0);
	assert_int_equal(p.nhist, 3);
	assert_int_equal(p.hist_wall_ms[0], 5);
	assert_int_equal(p.hist_wall_ms[1], 5);
	assert_int_equal(p.hist_wall_ms[2], 9);
	assert_string_equal(p.reason, "");
	assert_false(p.intent);
	assert_int_equal(p.intent_domid, -1);
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names, NAME ".state.json");
}

/* A symbolic link in place of the state file is not followed: moved aside. */
static void
test_symlink_is_not_followed(void **state)
{
	char link_path[PATH_MAX], target[PATH_MAX], other[PATH_MAX], *text;
	char expect_target[PATH_MAX], buf[PATH_MAX];
	const char *dir = *state;
	struct yk_persist in, p;
	time_t before, after;
	char names[1024];
	mode_t type;
	ssize_t n;
	size_t len;

	/* A good record of NAME, reached through a link from elsewhere. */
	scratch_path(other, sizeof(other), dir, "elsewhere");
	assert_int_equal(mkdir(other, 0700), 0);
	full_record(&in);
	assert_int_equal(persist_save(other, NAME, &in), 0);
	scratch_path(target, sizeof(target), other, NAME ".state.json");
	scratch_path(link_path, sizeof(link_path), dir, NAME ".state.json");
	assert_int_equal(symlink(target, link_path), 0);

	memset(&p, 0xa5, sizeof(p));
	before = time(NULL);
	assert_int_equal(persist_load(dir, NAME, &p), 0);
	after = time(NULL);
	assert_cleared(&p);

	/* The link itself was renamed; the target is intact. */
	list_dir(dir, names, sizeof(names));
	assert_int_equal(strncmp(names, "elsewhere " NAME ".state.json.corrupt-",
	    strlen("elsewhere " NAME ".state.json.corrupt-")), 0);
	scratch_path(link_path, sizeof(link_path), dir,
	    names + strlen("elsewhere "));
	assert_int_equal(lstat(link_path, &(struct stat){ 0 }), 0);
	n = readlink(link_path, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	snprintf(expect_target, sizeof(expect_target), "%s", target);
	assert_string_equal(buf, expect_target);
	assert_true(strtoll(link_path + strlen(dir) + 1 +
	    strlen(NAME ".state.json.corrupt-"), NULL, 10) >= (long long)before);
	assert_true(strtoll(link_path + strlen(dir) + 1 +
	    strlen(NAME ".state.json.corrupt-"), NULL, 10) <= (long long)after);
	{
		struct stat st;

		assert_int_equal(lstat(link_path, &st), 0);
		type = st.st_mode & S_IFMT;
	}
	assert_true(S_ISLNK(type));
	assert_int_equal(persist_load(other, NAME, &p), 1);
	assert_same_record(&p, &in);

	/* Saving over a link replaces the link, never writes through it. */
	scratch_path(link_path, sizeof(link_path), dir, NAME ".state.json");
	assert_int_equal(symlink(target, link_path), 0);
	text = read_whole(target, &len);
	in.streak = 1;
	in.maintenance = false;
	assert_int_equal(persist_save(dir, NAME, &in), 0);
	{
		struct stat st;
		char *now;
		size_t nlen;

		assert_int_equal(lstat(link_path, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		now = read_whole(target, &nlen);
		assert_int_equal(nlen, len);
		assert_memory_equal(now, text, len);
		free(now);
	}
	free(text);
	assert_int_equal(persist_load(dir, NAME, &p), 1);
	assert_same_record(&p, &in);
}

/* ---- the captured configuration ----------------------------------------- */

static void
test_config_round_trip(void **state)
{
	static const char json[] =
	    "{\"name\":\"web01\",\"memory\":1024,\"vif\":[\"bridge=xenbr0\"]}";
	const char *dir = *state;
	char names[1024], *text;

	assert_int_equal(persist_save_config(dir, NAME, json), 0);
	assert_non_null(text = persist_load_config(dir, NAME));
	assert_string_equal(text, json);
	free(text);
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names, NAME ".domain.json");

	/* A second save replaces it. */
	assert_int_equal(persist_save_config(dir, NAME, "{ }\n"), 0);
	assert_non_null(text = persist_load_config(dir, NAME));
	assert_string_equal(text, "{ }\n");
	free(text);
}

static void
test_config_missing_is_null(void **state)
{
	const char *dir = *state;
	char names[1024];

	assert_null(persist_load_config(dir, NAME));
	list_dir(dir, names, sizeof(names));
	assert_string_equal(names, "");
}

static void
assert_config_rejected(const char *dir, const char *text, size_t len)
{
	time_t before, after;
	mode_t type;

	write_file(dir, NAME ".domain.json", text, len);
	before = time(NULL);
	assert_null(persist_load_config(dir, NAME));
	after = time(NULL);
	assert_moved_aside(dir, NAME ".domain.json", before, after, text, len,
	    &type);
	assert_true(S_ISREG(type));
}

#define REJECT_CONFIG_TEST(fn, text) \
static void \
fn(void **state) \
{ \
	static const char t[] = text; \
	assert_config_rejected(*state, t, sizeof(t) - 1); \
}

REJECT_CONFIG_TEST(test_config_array_rejected, "[\"name\",\"web01\"]")
REJECT_CONFIG_TEST(test_config_string_rejected, "\"web01\"")
REJECT_CONFIG_TEST(test_config_number_rejected, "42\n")
REJECT_CONFIG_TEST(test_config_truncated_rejected, "{\"name\":\"web")
REJECT_CONFIG_TEST(test_config_garbage_rejected, "name = web01\n")
REJECT_CONFIG_TEST(test_config_empty_rejected, "")

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, scratch_setup, scratch_teardown)
	const struct CMUnitTest tests[] = {
		T(test_dir_prepare_creates_0700),
		T(test_dir_prepare_removes_stale_temporaries),
		T(test_dir_prepare_locks),
		T(test_dir_prepare_refuses_untrusted),
		T(test_dir_prepare_refuses_a_regular_file),
		T(test_round_trip_every_field),
		T(test_round_trip_without_intent),
		T(test_round_trip_full_history),
		T(test_round_trip_long_streak),
		T(test_load_missing_is_a_cleared_record),
		T(test_files_are_0600),
		T(test_reject_empty_file),
		T(test_reject_garbage),
		T(test_reject_trailing_garbage),
		T(test_reject_nul_byte),
		T(test_reject_not_an_object),
		T(test_reject_no_format),
		T(test_reject_unknown_format),
		T(test_reject_format_as_string),
		T(test_reject_other_domain),
		T(test_reject_domain_prefix),
		T(test_reject_no_history),
		T(test_reject_history_not_array),
		T(test_reject_history_descending),
		T(test_reject_history_negative),
		T(test_reject_history_string),
		T(test_reject_history_double),
		T(test_reject_bool_as_string),
		T(test_reject_bool_as_int),
		T(test_reject_created_domid_string),
		T(test_reject_created_domid_below_minus_one),
		T(test_reject_streak_negative),
		T(test_reject_streak_above_uint_max),
		T(test_reject_reason_not_string),
		T(test_reject_intent_not_object),
		T(test_reject_intent_domid_string),
		T(test_reject_intent_uuid_not_string),
		T(test_reject_intent_uuid_with_space),
		T(test_reject_intent_creating_not_bool),
		T(test_reject_boot_id_too_long),
		T(test_reject_intent_at_negative),
		T(test_reject_truncated_save),
		T(test_reject_too_much_history),
		T(test_minimal_record_loads),
		T(test_symlink_is_not_followed),
		T(test_config_round_trip),
		T(test_config_missing_is_null),
		T(test_config_array_rejected),
		T(test_config_string_rejected),
		T(test_config_number_rejected),
		T(test_config_truncated_rejected),
		T(test_config_garbage_rejected),
		T(test_config_empty_rejected),
	};
#undef T

	log_init("test_persist", 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
