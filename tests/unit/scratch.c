/*
 * scratch.c - scratch directories for the unit tests that touch files.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch.h"

int
scratch_remove(const char *path)
{
	char sub[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *dp;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	chmod(path, 0700);
	if ((dp = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		scratch_remove(sub);
	}
	closedir(dp);
	return rmdir(path);
}

int
scratch_setup(void **state)
{
	char *dir;

	if ((dir = strdup("/tmp/yaoki-unit.XXXXXX")) == NULL)
		return -1;
	if (mkdtemp(dir) == NULL) {
		free(dir);
		return -1;
	}
	*state = dir;
	return 0;
}

int
scratch_teardown(void **state)
{
	char *dir = *state;

	scratch_remove(dir);
	free(dir);
	return 0;
}

void
scratch_path(char *buf, size_t len, const char *dir, const char *file)
{
	assert_true((size_t)snprintf(buf, len, "%s/%s", dir, file) < len);
}
