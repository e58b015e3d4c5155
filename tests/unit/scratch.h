/*
 * scratch.h - a scratch directory per unit test (cmocka setup/teardown),
 * removed with everything in it afterwards.
 */
#ifndef YK_TEST_SCRATCH_H
#define YK_TEST_SCRATCH_H

#include <stddef.h>

/* cmocka setup: *state becomes a new directory's path (malloc'ed). */
int scratch_setup(void **state);
/* cmocka teardown: removes the directory and frees the path. */
int scratch_teardown(void **state);
/* Removes path and everything below it; 0 or -1. */
int scratch_remove(const char *path);
/* dir/file into buf (the test fails if it does not fit). */
void scratch_path(char *buf, size_t len, const char *dir, const char *file);

#endif
