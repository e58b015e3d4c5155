/*
 * fuzz_body.c - libFuzzer target for the probe's body matching: the
 * streaming Knuth-Morris-Pratt search for expect_body and the 64 KiB cap,
 * as probes/http.c runs them (its static functions, by inclusion).
 *
 * Input: the expected text up to the first NUL byte, then a body cut into
 * chunks (each chunk's length taken from the body's own bytes, so chunk
 * boundaries fall everywhere). The verdict must equal a plain memmem()
 * over the first 64 KiB of the body.
 */
#include "../../probes/http.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
reference(const uint8_t *body, size_t blen, const char *needle, size_t nlen)
{
	if (blen > PROBE_BODY_MAX)
		blen = PROBE_BODY_MAX;
	if (nlen == 0)
		return true;
	return memmem(body, blen, needle, nlen) != NULL;
}

/* Repeats a short input to reach past the 64 KiB limit now and then. */
static uint8_t *
make_body(const uint8_t *in, size_t len, size_t *outlen)
{
	size_t reps = 1, i;
	uint8_t *b;

	if (len > 0 && in[0] == 0xff)
		reps = (PROBE_BODY_MAX / (len ? len : 1)) + 2;
	if ((b = malloc(len * reps + 1)) == NULL)
		return NULL;
	for (i = 0; i < reps; i++)
		memcpy(b + i * len, in, len);
	*outlen = len * reps;
	return b;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct probe p;
	const uint8_t *nul;
	uint8_t *body;
	size_t nlen, blen, off, chunk, got;
	char *needle;
	bool want;

	nul = memchr(data, 0, size);
	nlen = nul != NULL ? (size_t)(nul - data) : size;
	if (nlen > 1024)
		return 0;
	if ((needle = malloc(nlen + 1)) == NULL)
		return 0;
	memcpy(needle, data, nlen);
	needle[nlen] = '\0';
	off = nul != NULL ? nlen + 1 : size;
	if ((body = make_body(data + off, size - off, &blen)) == NULL) {
		free(needle);
		return 0;
	}

	memset(&p, 0, sizeof(p));
	if (probe_needle_set(&p, needle) == -1)
		abort();
	want = reference(body, blen, needle, nlen);
	for (off = 0; off < blen; off += got) {
		chunk = 1 + body[off] % 97;
		if (body[off] & 0x80)
			chunk *= 257;
		if (chunk > blen - off)
			chunk = blen - off;
		got = probe_body_cb((char *)body + off, 1, chunk, &p);
		if (got != chunk) {
			/* Short only at the cap, and then never again called. */
			if (!p.body_capped || p.body_len != PROBE_BODY_MAX)
				abort();
			break;
		}
	}
	if (p.body_len > PROBE_BODY_MAX)
		abort();
	if (p.body_found != want)
		abort();
	free(p.needle);
	free(p.fail);
	free(needle);
	free(body);
	return 0;
}
