/*
 * conf_writer.c - a small writer of libconfuse syntax for the yaoki.conf
 * that yaoki-import-monit produces.
 *
 * Owns: indentation, quoting (libconfuse expands ${VAR} inside double
 * quotes and reads \\, \" and \xHH escapes, so '$', '\\', '"' and every
 * byte outside printable ASCII are escaped), duration units and comments.
 * It never decides what to write; it only writes it well-formed.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "conf_writer.h"
#include "text.h"

#define CW_LINE_MAX 1024

static void indent(struct cw *w);
static void end_line(struct cw *w, const char *note);

void
cw_init(struct cw *w, FILE *out)
{
	w->out = out;
	w->depth = 0;
}

static void
indent(struct cw *w)
{
	int i;

	for (i = 0; i < w->depth; i++)
		fputc('\t', w->out);
}

static void
end_line(struct cw *w, const char *note)
{
	char shown[CW_LINE_MAX];

	if (note != NULL) {
		yk_text_printable(shown, sizeof(shown), note);
		fprintf(w->out, "\t# %s", shown);
	}
	fputc('\n', w->out);
}

void
cw_comment(struct cw *w, const char *fmt, ...)
{
	char text[CW_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	yk_text_printable(text, sizeof(text), text);
	indent(w);
	fprintf(w->out, "# %s\n", text);
}

void
cw_blank(struct cw *w)
{
	fputc('\n', w->out);
}

void
cw_begin(struct cw *w, const char *name, const char *label)
{
	char *q;
	size_t n;

	indent(w);
	if (label == NULL) {
		fprintf(w->out, "%s {\n", name);
	} else {
		n = cw_quote(NULL, 0, label) + 1;
		if ((q = malloc(n)) == NULL) {
			fprintf(stderr, "yaoki-import-monit: out of memory\n");
			exit(1);
		}
		cw_quote(q, n, label);
		fprintf(w->out, "%s %s {\n", name, q);
		free(q);
	}
	w->depth++;
}

void
cw_end(struct cw *w)
{
	if (w->depth > 0)
		w->depth--;
	indent(w);
	fputs("}\n", w->out);
}

size_t
cw_quote(char *dst, size_t dstlen, const char *value)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)value;
	size_t n = 0;
	char esc[5];

#define PUT(c) do { if (n + 1 < dstlen) dst[n] = (c); n++; } while (0)
	PUT('"');
	for (; *s != '\0'; s++) {
		const char *e = esc;

		if (*s == '"' || *s == '\\' || *s == '$') {
			esc[0] = '\\';
			esc[1] = (char)*s;
			esc[2] = '\0';
		} else if (*s < 0x20 || *s > 0x7e) {
			esc[0] = '\\';
			esc[1] = 'x';
			esc[2] = hex[*s >> 4];
			esc[3] = hex[*s & 0xf];
			esc[4] = '\0';
		} else {
			esc[0] = (char)*s;
			esc[1] = '\0';
		}
		for (; *e != '\0'; e++)
			PUT(*e);
	}
	PUT('"');
#undef PUT
	if (dstlen > 0)
		dst[n < dstlen ? n : dstlen - 1] = '\0';
	return n;
}

void
cw_format_duration(char *dst, size_t dstlen, long ms)
{
	if (ms != 0 && ms % 3600000 == 0)
		snprintf(dst, dstlen, "%ldh", ms / 3600000);
	else if (ms != 0 && ms % 60000 == 0)
		snprintf(dst, dstlen, "%ldm", ms / 60000);
	else if (ms % 1000 == 0)
		snprintf(dst, dstlen, "%lds", ms / 1000);
	else
		snprintf(dst, dstlen, "%ldms", ms);
}

void
cw_string(struct cw *w, const char *key, const char *value, const char *note)
{
	char *q;
	size_t n = cw_quote(NULL, 0, value) + 1;

	if ((q = malloc(n)) == NULL) {
		fprintf(stderr, "yaoki-import-monit: out of memory\n");
		exit(1);
	}
	cw_quote(q, n, value);
	indent(w);
	fprintf(w->out, "%-13s = %s", key, q);
	free(q);
	end_line(w, note);
}

void
cw_number(struct cw *w, const char *key, long value, const char *note)
{
	indent(w);
	fprintf(w->out, "%-13s = %ld", key, value);
	end_line(w, note);
}

void
cw_duration(struct cw *w, const char *key, long ms, const char *note)
{
	char d[32];

	cw_format_duration(d, sizeof(d), ms);
	indent(w);
	fprintf(w->out, "%-13s = %s", key, d);
	end_line(w, note);
}

void
cw_bool(struct cw *w, const char *key, int value, const char *note)
{
	indent(w);
	fprintf(w->out, "%-13s = %s", key, value ? "true" : "false");
	end_line(w, note);
}
