# tests/fuzz/: libFuzzer targets (clang), outside `all` and `check`.
#
#   make fuzz                      builds tests/fuzz/fuzz_* with clang
#   make fuzz-run [FUZZ_SECONDS=N] runs each for N seconds (default 60) over
#                                  its committed seed corpus, after replaying
#                                  every committed regression input
#
# Each target is built straight from the sources (one clang command) with
# -fsanitize=fuzzer,address,undefined; a few include the .c file they
# fuzz, to reach its static functions. Debian: clang, libclang-rt-dev.
CLANG = clang
FUZZ_SECONDS = 60
FUZZ_TARGETS = fuzz_config fuzz_status fuzz_body fuzz_control fuzz_simproto
FUZZ_CFLAGS = -std=gnu11 -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	$(DEFS) $(AM_CPPFLAGS) $(CORE_INC) -I$(top_srcdir)/sim \
	$(CONFUSE_CFLAGS) $(CURL_CFLAGS) $(EVENT_CFLAGS) $(JSONC_CFLAGS)
FUZZ_LIBS = $(CONFUSE_LIBS) $(CURL_LIBS) $(EVENT_LIBS) $(JSONC_LIBS) \
	$(PTHREAD_LIBS)
FUZZ_CC = $(CLANG) $(FUZZ_CFLAGS) -o $@
FUZZ_CONF = $(srcdir)/conf/config.c $(srcdir)/base/duration.c \
	$(srcdir)/base/status_set.c $(srcdir)/base/log.c $(srcdir)/base/file.c \
	$(srcdir)/base/text.c $(srcdir)/base/failpoint.c \
	$(srcdir)/supervisor/proto/control_proto.c
FUZZ_SUP = $(srcdir)/supervisor/supervisor.c $(srcdir)/supervisor/recovery.c \
	$(srcdir)/supervisor/persist.c $(srcdir)/supervisor/writer.c \
	$(srcdir)/supervisor/hook.c \
	$(srcdir)/supervisor/metrics.c $(srcdir)/supervisor/status_json.c \
	$(srcdir)/supervisor/latency.c $(srcdir)/supervisor/sm.c \
	$(srcdir)/supervisor/hold.c \
	$(srcdir)/supervisor/hv/hv_types.c $(srcdir)/supervisor/hv/hv_toolsop.c \
	$(srcdir)/base/clock.c \
	$(srcdir)/base/unix_socket.c $(srcdir)/probes/http.c
FUZZ_SIM = $(srcdir)/base/unix_socket.c $(srcdir)/sim/sim_cmd.c $(srcdir)/sim/sim_domain.c \
	$(srcdir)/sim/sim_guest.c $(srcdir)/sim/sim_prog.c $(srcdir)/sim/sim_conf.c

# The .c files a target #includes are prerequisites, never compiled apart.
tests/fuzz/fuzz_config: $(srcdir)/tests/fuzz/fuzz_config.c $(FUZZ_CONF)
	@mkdir -p tests/fuzz
	$(AM_V_GEN)$(FUZZ_CC) $(srcdir)/tests/fuzz/fuzz_config.c $(FUZZ_CONF) $(FUZZ_LIBS)
tests/fuzz/fuzz_status: $(srcdir)/tests/fuzz/fuzz_status.c $(FUZZ_CONF)
	@mkdir -p tests/fuzz
	$(AM_V_GEN)$(FUZZ_CC) $(srcdir)/tests/fuzz/fuzz_status.c $(FUZZ_CONF) $(FUZZ_LIBS)
tests/fuzz/fuzz_body: $(srcdir)/tests/fuzz/fuzz_body.c $(srcdir)/probes/http.c \
	$(FUZZ_CONF) $(srcdir)/base/clock.c
	@mkdir -p tests/fuzz
	$(AM_V_GEN)$(FUZZ_CC) $(srcdir)/tests/fuzz/fuzz_body.c $(FUZZ_CONF) \
	    $(srcdir)/base/clock.c $(FUZZ_LIBS)
tests/fuzz/fuzz_control: $(srcdir)/tests/fuzz/fuzz_control.c \
	$(srcdir)/supervisor/control.c $(FUZZ_SUP) $(FUZZ_CONF)
	@mkdir -p tests/fuzz
	$(AM_V_GEN)$(FUZZ_CC) $(srcdir)/tests/fuzz/fuzz_control.c $(FUZZ_SUP) \
	    $(FUZZ_CONF) $(FUZZ_LIBS)
tests/fuzz/fuzz_simproto: $(srcdir)/tests/fuzz/fuzz_simproto.c \
	$(srcdir)/sim/sim_proto.c $(FUZZ_SIM) $(FUZZ_CONF)
	@mkdir -p tests/fuzz
	$(AM_V_GEN)$(FUZZ_CC) $(srcdir)/tests/fuzz/fuzz_simproto.c $(FUZZ_SIM) \
	    $(FUZZ_CONF) $(FUZZ_LIBS)

FUZZ_BINS = tests/fuzz/fuzz_config tests/fuzz/fuzz_status \
	tests/fuzz/fuzz_body tests/fuzz/fuzz_control tests/fuzz/fuzz_simproto
fuzz: $(FUZZ_BINS)
fuzz-run: fuzz
	$(SHELL) $(srcdir)/tests/fuzz/run $(FUZZ_SECONDS) tests/fuzz \
	    $(srcdir)/tests/fuzz $(FUZZ_TARGETS)
.PHONY: fuzz fuzz-run

CLEANFILES += $(FUZZ_BINS)
clean-local: clean-fuzz
clean-fuzz:
	rm -rf tests/fuzz/work tests/fuzz/artifacts
.PHONY: clean-fuzz
EXTRA_DIST += tests/fuzz/run tests/fuzz/corpus tests/fuzz/regressions \
	tests/fuzz/fuzz_config.c tests/fuzz/fuzz_status.c \
	tests/fuzz/fuzz_body.c tests/fuzz/fuzz_control.c \
	tests/fuzz/fuzz_simproto.c
