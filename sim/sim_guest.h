/*
 * sim_guest.h - the HTTP endpoint of one simulated guest (evhttp) and its
 * switchable behaviour: ok, hang, refuse, error, slow MS, garbage.
 */
#ifndef SIM_GUEST_H
#define SIM_GUEST_H

#include <stdbool.h>

struct event_base;
struct sim_guest;

enum sim_behaviour {
	SIM_B_OK,
	SIM_B_HANG,
	SIM_B_REFUSE,
	SIM_B_ERROR,
	SIM_B_SLOW,
	SIM_B_GARBAGE,
};

/* Longest `slow MS` accepted: one hour. */
#define SIM_SLOW_MAX_MS 3600000u

/* Returns 0 and sets *b, or -1 for an unknown word. */
int sim_behaviour_parse(const char *word, enum sim_behaviour *b);
const char *sim_behaviour_name(enum sim_behaviour b);

/*
 * A guest that answers nothing yet (its listener is closed). name is used
 * in log lines; listen is "IP:PORT" (or "[IPv6]:PORT"), already validated.
 */
struct sim_guest *sim_guest_new(struct event_base *base, const char *name,
    const char *listen);
/* The name used in log lines (after a rename). */
void sim_guest_set_name(struct sim_guest *g, const char *name);
/* Closes the listener and every connection, then frees. */
void sim_guest_free(struct sim_guest *g);

/* up: booted and not shut down. The listener is open iff up and not refuse. */
void sim_guest_set_up(struct sim_guest *g, bool up);
void sim_guest_set_behaviour(struct sim_guest *g, enum sim_behaviour b,
    unsigned slow_ms);
/* While paused, no connection is accepted and no request is answered. */
void sim_guest_set_paused(struct sim_guest *g, bool paused);
enum sim_behaviour sim_guest_behaviour(const struct sim_guest *g);

/* Parses "IP:PORT"; returns 0 or -1. */
int sim_listen_valid(const char *listen);

#endif
