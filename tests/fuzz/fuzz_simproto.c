/*
 * fuzz_simproto.c - libFuzzer target for yaoki-simhv's control protocol:
 * the framing (lines of at most 1 MiB, several per read), the JSON request
 * parser and every command's argument checks (sim/sim_proto.c included
 * here so its static reader runs as in simhv; sim/sim_cmd.c linked).
 *
 * `create` is checked by its configuration parser only: a fuzzer must not
 * start guest programs or open listeners. No domains exist, so the other
 * commands act on names and delays only. Every request must get exactly
 * one reply line of JSON (until the connection turns into an event stream).
 */
#include "../../sim/sim_proto.c"

#include "sim_cmd.h"
#include "sim_conf.h"
#include "sim_domain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct event_base *fz_base;

static void
fuzz_dispatch(struct sim_req *req, const char *cmd, size_t argc,
    const char *const *argv)
{
	struct sim_dconf c;
	char err[512];

	if (strcmp(cmd, "create") == 0) {
		if (argc != 1)
			sim_req_fail(req, "usage: create CONFIG");
		else if (sim_dconf_parse(argv[0], &c, err, sizeof(err)) == -1)
			sim_req_fail(req, "%s", err);
		else {
			if (c.listen == NULL && c.guest == NULL)
				abort();
			sim_dconf_clear(&c);
			sim_req_fail(req, "not created (fuzzing)");
		}
		return;
	}
	sim_cmd_dispatch(req, cmd, argc, argv);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static struct sim_conf conf = { .boot_time_ms = 2000 };

	(void)argc; (void)argv;
	log_init("fuzz_simproto", 1, 0);
	if ((fz_base = event_base_new()) == NULL)
		abort();
	sim_domains_init(fz_base, &conf, sim_proto_event);
	proto_base = fz_base;
	proto_dispatch = fuzz_dispatch;
	return 0;
}

/* Counts the newline-terminated lines of out; each must be a JSON object. */
static size_t
check_replies(struct evbuffer *out)
{
	size_t n = 0, len;
	char *line;

	while ((line = evbuffer_readln(out, &len, EVBUFFER_EOL_LF)) != NULL) {
		struct json_object *o = json_tokener_parse(line);

		if (o == NULL || !json_object_is_type(o, json_type_object))
			abort();
		json_object_put(o);
		free(line);
		n++;
	}
	if (evbuffer_get_length(out) != 0)
		abort();                /* a reply without its newline */
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_conn *c;
	size_t lines = 0, i, replies;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return 0;
	if ((c->bev = bufferevent_socket_new(fz_base, -1, 0)) == NULL)
		abort();
	TAILQ_INIT(&c->reqs);
	TAILQ_INSERT_TAIL(&conns, c, entry);
	/* A socket bufferevent freezes the end of its input: thaw to feed it. */
	evbuffer_unfreeze(bufferevent_get_input(c->bev), 0);
	if (evbuffer_add(bufferevent_get_input(c->bev), data, size) == -1)
		abort();
	evbuffer_freeze(bufferevent_get_input(c->bev), 0);
	for (i = 0; i < size; i++)
		if (data[i] == '\n')
			lines++;
	proto_read_cb(c->bev, c);
	evbuffer_unfreeze(bufferevent_get_output(c->bev), 1);
	replies = check_replies(bufferevent_get_output(c->bev));
	/* One reply per request line, unless it became an event stream. */
	if (!c->events && !c->dead && !c->closing && replies != lines)
		abort();
	if (!TAILQ_EMPTY(&c->reqs))
		abort();                /* every request was answered */
	if (!c->dead)
		conn_kill(c);
	proto_reap_cb(-1, 0, NULL);
	/* libevent frees a bufferevent from the loop: let it. */
	event_base_loop(fz_base, EVLOOP_NONBLOCK);
	return 0;
}
