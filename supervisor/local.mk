# supervisor/: yaokid's core (state machine, reconciliation, recovery,
# persistence, status socket, hook, metrics) and its main.

# Pure logic, unit-tested: the state machine.
noinst_LIBRARIES += libyksm.a
libyksm_a_SOURCES = supervisor/sm.c supervisor/sm.h \
	supervisor/hold.c supervisor/hold.h
libyksm_a_CPPFLAGS = $(AM_CPPFLAGS) $(CORE_INC)

# The rest of the core, in a library so that unit tests link it.
noinst_LIBRARIES += libykcore.a
libykcore_a_SOURCES = \
	supervisor/supervisor.c supervisor/supervisor.h \
	supervisor/recovery.c supervisor/recovery.h \
	supervisor/persist.c supervisor/persist.h \
	supervisor/writer.c supervisor/writer.h \
	supervisor/control.c supervisor/control.h \
	supervisor/hook.c supervisor/hook.h \
	supervisor/metrics.c supervisor/metrics.h \
	supervisor/latency.c supervisor/latency.h \
	supervisor/status_json.c supervisor/status_json.h
libykcore_a_CPPFLAGS = $(AM_CPPFLAGS) $(CORE_INC)
libykcore_a_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(EVENT_CFLAGS) $(JSONC_CFLAGS)

# Libraries of the core, in link order (a library before those it uses).
CORE_LIBS = libykcore.a libyksm.a libykhv.a libykprobe.a libykconf.a \
	libykproto.a libykbase.a
CORE_EXT_LIBS = $(XEN_LIBS) $(CURL_LIBS) $(CONFUSE_LIBS) $(EVENT_LIBS) \
	$(JSONC_LIBS) $(SYSTEMD_LIBS) $(PTHREAD_LIBS)

sbin_PROGRAMS += yaokid
yaokid_SOURCES = supervisor/yaokid.c
yaokid_CPPFLAGS = $(AM_CPPFLAGS) $(CORE_INC)
yaokid_CFLAGS = $(AM_CFLAGS) $(EVENT_CFLAGS) $(SYSTEMD_CFLAGS)
yaokid_LDADD = $(CORE_LIBS) $(CORE_EXT_LIBS)
