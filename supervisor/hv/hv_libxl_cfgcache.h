/*
 * hv_libxl_cfgcache.h - domain configurations parsed when they are
 * captured, so that a recovery copies one instead of parsing it.
 */
#ifndef YK_HV_LIBXL_CFGCACHE_H
#define YK_HV_LIBXL_CFGCACHE_H

#include <stdbool.h>

#include <libxl.h>

struct xl_cfgcache;

struct xl_cfgcache *xl_cfgcache_new(void);
void xl_cfgcache_free(struct xl_cfgcache *c);
/*
 * Parses json (a captured configuration) and keeps it, in place of what
 * was kept for the same domain name. Nothing is kept if it does not parse.
 */
void xl_cfgcache_put(struct xl_cfgcache *c, libxl_ctx *ctx, const char *json);
/*
 * A copy of what was parsed from exactly json, into out (initialised by
 * the caller): true; false (out untouched) when json was never kept.
 */
bool xl_cfgcache_copy(struct xl_cfgcache *c, libxl_ctx *ctx, const char *json,
    libxl_domain_config *out);

#endif
