# conf/: the configuration schema and its value parsers.
noinst_LIBRARIES += libykconf.a
libykconf_a_SOURCES = conf/config.c conf/conf.h \
	conf/duration.c conf/status_set.c
libykconf_a_CFLAGS = $(AM_CFLAGS) $(CONFUSE_CFLAGS) $(CURL_CFLAGS)

EXTRA_DIST += conf/yaoki.conf
