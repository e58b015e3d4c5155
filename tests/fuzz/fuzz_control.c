/*
 * fuzz_control.c - libFuzzer target for the status socket's request path:
 * the bytes a client sends, through supervisor/control.c (included here so
 * its static reader and dispatcher run as in the daemon) into a real
 * supervisor with two domains, status JSON, metrics and the operator
 * commands. The hypervisor is a stub that never answers, so nothing
 * outside this process is touched; state files go to a private temporary
 * directory.
 *
 * Input: the first byte picks the peer's access (none, read, root); the
 * rest is what the client writes on the socket.
 */
#include "../../supervisor/control.c"

#include <event2/event.h>

#include "conf.h"
#include "hv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct event_base *fz_base;
static struct sup *fz_sup;
static struct control fz_ctl;

/* hv.c (hv_open) would pull in both backends: its one other function here. */
void
hv_set_event_handler(struct hv *hv, hv_event_fn *on_event, void *arg)
{
	hv->on_event = on_event;
	hv->event_arg = arg;
}

static void stub_close(struct hv *hv) { (void)hv; }
static void stub_list(struct hv *hv, unsigned flags, hv_list_fn *cb, void *arg)
{ (void)hv; (void)flags; (void)cb; (void)arg; }
static void stub_capture(struct hv *hv, int domid, hv_capture_fn *cb, void *arg)
{ (void)hv; (void)domid; (void)cb; (void)arg; }
static void stub_done(struct hv *hv, int domid, hv_done_fn *cb, void *arg)
{ (void)hv; (void)domid; (void)cb; (void)arg; }
static void stub_create(struct hv *hv, const char *cfg, hv_create_fn *cb, void *arg)
{ (void)hv; (void)cfg; (void)cb; (void)arg; }
static void stub_destroy(struct hv *hv, int domid, const struct hv_ident *who,
    hv_done_fn *cb, void *arg)
{ (void)hv; (void)domid; (void)who; (void)cb; (void)arg; }

static const struct hv_ops stub_ops = {
	.name = "fuzz",
	.close = stub_close,
	.list = stub_list,
	.capture = stub_capture,
	.destroy = stub_destroy,
	.create = stub_create,
	.reboot = stub_done,
};
static struct hv stub_hv = { .ops = &stub_ops };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct yk_conf_errors errs = { 0, NULL };
	struct yk_config *cfg;
	char dir[] = "/tmp/yaoki-fuzz-control.XXXXXX", text[1024];

	(void)argc; (void)argv;
	log_init("fuzz_control", 1, 0);
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(text, sizeof(text),
	    "hypervisor = \"sim\"\nstate_dir = \"%s\"\n"
	    "domain \"web01\" { url = \"http://127.0.0.1:9/\" }\n"
	    "domain \"web02\" { url = \"http://127.0.0.1:9/\"\n"
	    "  domain_config = \"%s/none.json\" }\n", dir, dir);
	if ((cfg = yk_config_load_text("fuzz.conf", text, &errs)) == NULL)
		abort();
	if ((fz_base = event_base_new()) == NULL)
		abort();
	stub_hv.base = fz_base;
	fz_sup = sup_new(fz_base, cfg, &stub_hv);
	fz_ctl.sup = fz_sup;
	fz_ctl.gid = (gid_t)-1;
	TAILQ_INIT(&fz_ctl.clients);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client *cl;
	struct evbuffer *out;
	int i;

	if (size == 0 || size > 4 * YK_CTL_REQUEST_MAX)
		return 0;
	if ((cl = calloc(1, sizeof(*cl))) == NULL)
		return 0;
	cl->ctl = &fz_ctl;
	cl->access = data[0] % 3 == 0 ? ACCESS_NONE :
	    data[0] % 3 == 1 ? ACCESS_READ : ACCESS_ROOT;
	cl->bev = bufferevent_socket_new(fz_base, -1, 0);
	if (cl->bev == NULL)
		abort();
	/* A socket bufferevent freezes the end of its input: thaw to feed it. */
	evbuffer_unfreeze(bufferevent_get_input(cl->bev), 0);
	if (evbuffer_add(bufferevent_get_input(cl->bev), data + 1, size - 1) == -1)
		abort();
	evbuffer_freeze(bufferevent_get_input(cl->bev), 0);
	/* A few read events, as the socket would deliver them. */
	for (i = 0; i < 3 && !cl->replied; i++)
		client_read_cb(cl->bev, cl);
	/* A whole line always gets its answer. */
	if (memchr(data + 1, '\n', size - 1) != NULL && !cl->replied)
		abort();
	out = bufferevent_get_output(cl->bev);
	evbuffer_unfreeze(out, 1);
	if (cl->replied) {
		/* One reply: a JSON line, or the metrics text. */
		size_t len = evbuffer_get_length(out);
		char *text = malloc(len + 1);

		if (text == NULL)
			abort();
		if (evbuffer_remove(out, text, len) != (int)len)
			abort();
		text[len] = '\0';
		if (text[0] == '{') {
			struct json_object *o = json_tokener_parse(text);

			if (o == NULL || strchr(text, '\n') != text + len - 1)
				abort();
			json_object_put(o);
		}
		free(text);
	}
	bufferevent_free(cl->bev);
	free(cl);
	/* libevent frees a bufferevent from the loop: let it. */
	event_base_loop(fz_base, EVLOOP_NONBLOCK);
	return 0;
}
