/*
 * hv.c - picks the hypervisor backend the configuration names.
 */
#include "config.h"

#include <stdio.h>

#include "hv.h"

struct hv *
hv_open(const struct yk_config *cfg, struct event_base *base, char *err,
    size_t errlen)
{
	struct hv *hv;

	if (cfg->hypervisor == YK_HV_SIM)
		hv = hv_sim_open(cfg->sim_socket, base, err, errlen);
	else
		hv = hv_libxl_open(base, err, errlen);
	if (hv == NULL)
		return NULL;
	hv->base = base;
	return hv;
}

void
hv_set_event_handler(struct hv *hv, hv_event_fn *on_event, void *arg)
{
	hv->on_event = on_event;
	hv->event_arg = arg;
}
