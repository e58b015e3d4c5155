# supervisor/: yaokid, yaokictl and the libraries the unit tests link.

# Shared by every program: logging, clocks.
noinst_LIBRARIES += libykbase.a
libykbase_a_SOURCES = supervisor/log.c supervisor/log.h \
	supervisor/clock.c supervisor/clock.h \
	supervisor/unix_socket.c supervisor/unix_socket.h

# Pure logic, unit-tested: the state machine.
noinst_LIBRARIES += libyksm.a
libyksm_a_SOURCES = supervisor/domain.c supervisor/domain.h

sbin_PROGRAMS += yaokid
yaokid_SOURCES = supervisor/yaokid.c \
	supervisor/supervisor.c supervisor/supervisor.h \
	supervisor/recovery.c supervisor/recovery.h \
	supervisor/state.c supervisor/state.h \
	supervisor/control.c supervisor/control.h \
	supervisor/hook.c supervisor/hook.h \
	supervisor/metrics.c supervisor/metrics.h \
	supervisor/status_json.c supervisor/status_json.h \
	supervisor/hv.c supervisor/hv.h \
	supervisor/hv_sim.c \
	supervisor/hv_libxl.c \
	supervisor/hv_libxl_log.c supervisor/hv_libxl_log.h
yaokid_CFLAGS = $(AM_CFLAGS) $(XEN_CFLAGS) $(CURL_CFLAGS) $(CONFUSE_CFLAGS) \
	$(EVENT_CFLAGS) $(JSONC_CFLAGS) $(SYSTEMD_CFLAGS)
yaokid_LDADD = libyksm.a libykprobe.a libykconf.a libykbase.a \
	$(XEN_LIBS) $(CURL_LIBS) $(CONFUSE_LIBS) $(EVENT_LIBS) $(JSONC_LIBS) \
	$(SYSTEMD_LIBS) $(PTHREAD_LIBS)

sbin_PROGRAMS += yaokictl
yaokictl_SOURCES = supervisor/yaokictl.c
yaokictl_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
yaokictl_LDADD = libykbase.a $(JSONC_LIBS)
