/*
 * hv_libxl_cfgcache.c - domain configurations parsed when they are
 * captured (off a recovery's path), kept by the exact JSON they came from,
 * one per domain name and at most CACHE_MAX in all. A create from that
 * same JSON copies the parsed structure (libxl_domain_config_copy), which
 * costs a fraction of libxl_domain_config_from_json; any other JSON is
 * parsed as before. Used by the libxl thread only.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "hv_libxl_cfgcache.h"
#include "log.h"

#define CACHE_MAX 1024

struct entry {
	TAILQ_ENTRY(entry) link;
	char *json;
	libxl_domain_config cfg;
};

struct xl_cfgcache {
	TAILQ_HEAD(entry_list, entry) entries;   /* the newest first */
	size_t n;
};

struct xl_cfgcache *
xl_cfgcache_new(void)
{
	struct xl_cfgcache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		fatalx("libxl: out of memory");
	TAILQ_INIT(&c->entries);
	return c;
}

static void
drop(struct xl_cfgcache *c, struct entry *e)
{
	TAILQ_REMOVE(&c->entries, e, link);
	c->n--;
	libxl_domain_config_dispose(&e->cfg);
	free(e->json);
	free(e);
}

void
xl_cfgcache_free(struct xl_cfgcache *c)
{
	if (c == NULL)
		return;
	while (!TAILQ_EMPTY(&c->entries))
		drop(c, TAILQ_FIRST(&c->entries));
	free(c);
}

static bool
same_name(const libxl_domain_config *a, const libxl_domain_config *b)
{
	return a->c_info.name != NULL && b->c_info.name != NULL &&
	    strcmp(a->c_info.name, b->c_info.name) == 0;
}

void
xl_cfgcache_put(struct xl_cfgcache *c, libxl_ctx *ctx, const char *json)
{
	struct entry *e, *old, *next;

	if ((e = calloc(1, sizeof(*e))) == NULL || (e->json = strdup(json)) == NULL)
		fatalx("libxl: out of memory");
	libxl_domain_config_init(&e->cfg);
	if (libxl_domain_config_from_json(ctx, &e->cfg, json) != 0) {
		libxl_domain_config_dispose(&e->cfg);
		free(e->json);
		free(e);
		return;
	}
	for (old = TAILQ_FIRST(&c->entries); old != NULL; old = next) {
		next = TAILQ_NEXT(old, link);
		if (same_name(&old->cfg, &e->cfg) || strcmp(old->json, json) == 0)
			drop(c, old);
	}
	TAILQ_INSERT_HEAD(&c->entries, e, link);
	if (++c->n > CACHE_MAX)
		drop(c, TAILQ_LAST(&c->entries, entry_list));
}

bool
xl_cfgcache_copy(struct xl_cfgcache *c, libxl_ctx *ctx, const char *json,
    libxl_domain_config *out)
{
	struct entry *e;

	TAILQ_FOREACH(e, &c->entries, link)
		if (strcmp(e->json, json) == 0) {
			libxl_domain_config_copy(ctx, out, &e->cfg);
			return true;
		}
	return false;
}
