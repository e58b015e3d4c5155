/*
 * hv_toolsop.h - what Xen's own tools are doing with a domain, read from
 * one domain list.
 */
#ifndef YK_HV_TOOLSOP_H
#define YK_HV_TOOLSOP_H

#include "hv.h"

enum hv_tools_op {
	HV_TOOLS_NONE = 0,
	HV_TOOLS_MIGRATING_OUT,    /* xl migrate (or remus) is sending it */
	HV_TOOLS_MIGRATING_IN,     /* xl migrate-receive is building it here */
	HV_TOOLS_SAVING,           /* xl save (or a save helper) has it */
};

/* What one list says of the domain called NAME (entries not dying). */
struct hv_named {
	const struct hv_dominfo *live;      /* NAME itself */
	const struct hv_dominfo *away;      /* NAME--migratedaway */
	const struct hv_dominfo *incoming;  /* NAME--incoming */
};

/*
 * The rules, in one place for the supervisor's reconciliation and for a
 * recovery's last look before acting: NAME--migratedaway, or a live NAME
 * beside NAME--incoming (the sender of a migration to this very host: xl
 * renames it only for its last round), or an xl migrate naming it: it is
 * migrating away. NAME--incoming alone: migrating in. An xl save naming it,
 * or NAME suspended: being saved.
 */
enum hv_tools_op hv_tools_op(const struct hv_named *n);

/* The entries of doms that tell about name (a linear look). */
void hv_named_find(const struct hv_dominfo *doms, size_t n, const char *name,
    struct hv_named *out);

#endif
