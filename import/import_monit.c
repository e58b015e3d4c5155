/*
 * import_monit.c - yaoki-import-monit: writes a yaoki.conf from a monit
 * control file.
 *
 *	yaoki-import-monit [-o FILE] MONITRC
 *
 * Owns: the command line, where the result goes (standard output, or FILE
 * replaced atomically, mode 0644, only when the whole translation
 * succeeded) and the exit status: 0 when a configuration was written
 * (whatever was noted as not translated on stderr), 1 for a usage error,
 * a control file monit would refuse (FILE:LINE: reason) or a write that
 * failed. The monit grammar is monit_lex.c and monit_parse.c's; the
 * translation monit_xlate.c's.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "file.h"
#include "monit_parse.h"
#include "monit_xlate.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

static void usage(void) __attribute__((noreturn));
static int emit(const char *outpath, const char *text, size_t len);

static void
usage(void)
{
	fprintf(stderr, "usage: yaoki-import-monit [-V] [-o FILE] "
	    "MONITRC\n");
	exit(1);
}

/* The whole text to stdout, or atomically to outpath. */
static int
emit(const char *outpath, const char *text, size_t len)
{
	if (outpath != NULL) {
		if (yk_file_write_atomic(outpath, text, len, 0644) == -1) {
			fprintf(stderr, "yaoki-import-monit: %s: %s\n", outpath,
			    strerror(errno));
			return -1;
		}
		return 0;
	}
	if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
		fprintf(stderr, "yaoki-import-monit: standard output: %s\n",
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct mconf conf;
	struct xlate_result res;
	const char *outpath = NULL;
	char err[1024], *text = NULL;
	size_t len = 0;
	FILE *mem;
	int ch, rc;

	while ((ch = getopt(argc, argv, "o:V")) != -1) {
		switch (ch) {
		case 'o':
			outpath = optarg;
			break;
		case 'V':
			printf("yaoki-import-monit %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (argc - optind != 1)
		usage();
	if (monit_parse(argv[optind], stderr, &conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK ||
	    (mem = open_memstream(&text, &len)) == NULL) {
		fprintf(stderr, "yaoki-import-monit: out of memory\n");
		monit_conf_free(&conf);
		return 1;
	}
	monit_xlate(&conf, argv[optind], mem, stderr, &res);
	rc = fclose(mem) == 0 ? emit(outpath, text, len) : -1;
	if (rc == 0)
		fprintf(stderr, "yaoki-import-monit: %zu domain%s from %zu "
		    "check host%s%s%s\n", res.domains,
		    res.domains == 1 ? "" : "s", conf.nchecks,
		    conf.nchecks == 1 ? "" : "s", outpath ? " written to " :
		    "", outpath ? outpath : "");
	free(text);
	monit_conf_free(&conf);
	curl_global_cleanup();
	return rc == 0 ? 0 : 1;
}
