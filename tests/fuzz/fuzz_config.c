/*
 * fuzz_config.c - libFuzzer target for the configuration parser and its
 * validation (yk_config_load_text): any text must give either a whole
 * configuration or at least one "NAME:LINE: what is wrong" message, never
 * a crash, a leak or both.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yk_conf_errors errs = { 0, NULL };
	struct yk_config *cfg;
	size_t i;
	char *text;

	if (size > 64 * 1024)
		return 0;
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	cfg = yk_config_load_text("fuzz.conf", text, &errs);
	if ((cfg == NULL) == (errs.n == 0))
		abort();                /* exactly one of the two */
	for (i = 0; i < errs.n; i++)
		if (strncmp(errs.msg[i], "fuzz.conf:", 10) != 0 ||
		    strchr(errs.msg[i], '\n') != NULL)
			abort();        /* one line each, naming the file */
	if (cfg != NULL) {
		for (i = 0; i < cfg->ndomains; i++)
			if (cfg->domains[i].name == NULL ||
			    cfg->domains[i].url == NULL ||
			    yk_config_find(cfg, cfg->domains[i].name) !=
			    &cfg->domains[i] ||
			    !yk_domain_conf_equal(&cfg->domains[i],
			    &cfg->domains[i]))
				abort();
		if (cfg->state_dir == NULL || cfg->socket == NULL ||
		    cfg->sim_socket == NULL)
			abort();
	}
	yk_config_free(cfg);
	yk_conf_errors_free(&errs);
	free(text);
	return 0;
}
