# probes/: the probe engine (HTTP(S) over libcurl multi on libevent).
noinst_LIBRARIES += libykprobe.a
libykprobe_a_SOURCES = probes/probe.h probes/http.c
libykprobe_a_CPPFLAGS = $(AM_CPPFLAGS) $(PROBES_INC)
libykprobe_a_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(EVENT_CFLAGS)
