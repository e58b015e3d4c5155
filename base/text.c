/*
 * text.c - untrusted bytes (a guest's reply, a hook's reason, a request
 * line) turned into one line of printable ASCII.
 */
#include "config.h"

#include "text.h"

size_t
yk_text_printable(char *dst, size_t dstlen, const char *src)
{
	size_t i;

	if (dstlen == 0)
		return 0;
	for (i = 0; src[i] != '\0' && i + 1 < dstlen; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = (c < 0x20 || c > 0x7e) ? '?' : (char)c;
	}
	dst[i] = '\0';
	return i;
}
