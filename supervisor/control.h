/*
 * control.h - the status socket: one request line in, one reply out.
 */
#ifndef YK_CONTROL_H
#define YK_CONTROL_H

#include <stddef.h>

struct sup;
struct control;

struct control *control_open(struct sup *s, const char *path,
    const char *group, char *err, size_t errlen);
void control_close(struct control *c);

#endif
