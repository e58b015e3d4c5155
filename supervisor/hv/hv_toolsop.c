/*
 * hv_toolsop.c - what Xen's own tools (xl migrate, migrate-receive, save,
 * remus) are doing with a domain, from one domain list: its names and the
 * xl processes the list found. Pure; shared by the supervisor and the
 * recovery so that their rules can never disagree.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "hv_toolsop.h"

enum hv_tools_op
hv_tools_op(const struct hv_named *n)
{
	const struct hv_dominfo *live = n->live;

	if (n->away != NULL || (n->incoming != NULL && live != NULL) ||
	    (live != NULL && live->xl_op == HV_XL_MIGRATE))
		return HV_TOOLS_MIGRATING_OUT;
	if (n->incoming != NULL)
		return HV_TOOLS_MIGRATING_IN;
	if (live != NULL && (live->xl_op == HV_XL_SAVE ||
	    (live->state == HV_SHUTDOWN && live->reason == YK_SD_SUSPEND)))
		return HV_TOOLS_SAVING;
	return HV_TOOLS_NONE;
}

/* Whether s is name followed by exactly suffix. */
static bool
is_named(const char *s, const char *name, size_t len, const char *suffix)
{
	return strncmp(s, name, len) == 0 && strcmp(s + len, suffix) == 0;
}

void
hv_named_find(const struct hv_dominfo *doms, size_t n, const char *name,
    struct hv_named *out)
{
	size_t i, len = strlen(name);

	memset(out, 0, sizeof(*out));
	for (i = 0; i < n; i++) {
		if (doms[i].state == HV_DYING)
			continue;
		if (is_named(doms[i].name, name, len, ""))
			out->live = &doms[i];
		else if (is_named(doms[i].name, name, len,
		    HV_SUFFIX_MIGRATEDAWAY))
			out->away = &doms[i];
		else if (is_named(doms[i].name, name, len, HV_SUFFIX_INCOMING))
			out->incoming = &doms[i];
	}
}
