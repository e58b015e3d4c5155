/*
 * conf_writer.h - writing a yaoki.conf in libconfuse syntax: sections,
 * keys, strings escaped so that libconfuse reads back exactly the bytes
 * given, durations in yaoki's units, and one-line comments.
 */
#ifndef YK_CONF_WRITER_H
#define YK_CONF_WRITER_H

#include <stddef.h>
#include <stdio.h>

struct cw {
	FILE *out;
	int depth;		/* open sections */
};

void cw_init(struct cw *w, FILE *out);

/* "# text" on its own line; bytes outside printable ASCII become '?'. */
void cw_comment(struct cw *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void cw_blank(struct cw *w);

/* name { ... } or name "label" { ... }. */
void cw_begin(struct cw *w, const char *name, const char *label);
void cw_end(struct cw *w);

/* key = "value", key = N, key = 5s; note (may be NULL) after a '#'. */
void cw_string(struct cw *w, const char *key, const char *value,
    const char *note);
void cw_number(struct cw *w, const char *key, long value, const char *note);
void cw_duration(struct cw *w, const char *key, long ms, const char *note);
void cw_bool(struct cw *w, const char *key, int value, const char *note);

/*
 * value quoted for libconfuse ("...", with \\, \", \$ and \xHH for bytes
 * outside printable ASCII) into dst; the length it needs (as snprintf).
 */
size_t cw_quote(char *dst, size_t dstlen, const char *value);

/* ms as "250ms", "5s", "2m" or "1h" (the largest exact unit). */
void cw_format_duration(char *dst, size_t dstlen, long ms);

#endif
