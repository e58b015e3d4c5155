# sim/: yaoki-simhv, the simulated hypervisor.
pkglibexec_PROGRAMS += yaoki-simhv
yaoki_simhv_SOURCES = sim/simhv.c
yaoki_simhv_CFLAGS = $(AM_CFLAGS) $(CONFUSE_CFLAGS) $(EVENT_CFLAGS) $(JSONC_CFLAGS)
yaoki_simhv_LDADD = libykconf.a libykbase.a $(CONFUSE_LIBS) $(EVENT_LIBS) \
	$(JSONC_LIBS) $(CURL_LIBS)
EXTRA_DIST += sim/PROTOCOL.md
