/*
 * hv.c - picks the hypervisor backend the configuration names, and the
 * names of hypervisor-level domain states.
 */
#include "config.h"

#include <stdio.h>

#include "hv.h"

struct hv *
hv_open(const struct yk_config *cfg, struct event_base *base,
    hv_event_fn *on_event, void *event_arg, char *err, size_t errlen)
{
	struct hv *hv;

	if (cfg->hypervisor == YK_HV_SIM)
		hv = hv_sim_open(cfg->sim_socket, base, err, errlen);
	else
		hv = hv_libxl_open(base, err, errlen);
	if (hv == NULL)
		return NULL;
	hv->base = base;
	hv->on_event = on_event;
	hv->event_arg = event_arg;
	return hv;
}

const char *
hv_dstate_name(enum hv_dstate s)
{
	switch (s) {
	case HV_RUNNING: return "running";
	case HV_PAUSED: return "paused";
	case HV_SHUTDOWN: return "shutdown";
	case HV_DYING: return "dying";
	}
	return "unknown";
}
