/*
 * text.h - making untrusted bytes safe to show: one line of printable
 * ASCII, for logs, the hook's environment, tables and error messages.
 */
#ifndef YK_TEXT_H
#define YK_TEXT_H

#include <stddef.h>

/*
 * Copies src into dst (dstlen bytes, always NUL-terminated, truncated to
 * fit), each byte outside printable ASCII (0x20-0x7e) shown as '?'.
 * dst may be src (sanitised in place). Returns the length written.
 */
size_t yk_text_printable(char *dst, size_t dstlen, const char *src);

#endif
