# import/: yaoki-import-monit, which writes a yaoki.conf from a monit
# control file. libykimport.a holds all but main, so that unit tests link it.
noinst_LIBRARIES += libykimport.a
libykimport_a_SOURCES = import/monit_lex.c import/monit_lex.h \
	import/monit_parse.c import/monit_parse.h \
	import/monit_xlate.c import/monit_xlate.h \
	import/conf_writer.c import/conf_writer.h
libykimport_a_CPPFLAGS = $(AM_CPPFLAGS) $(IMPORT_INC)
libykimport_a_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)

sbin_PROGRAMS += yaoki-import-monit
yaoki_import_monit_SOURCES = import/import_monit.c
yaoki_import_monit_CPPFLAGS = $(AM_CPPFLAGS) $(IMPORT_INC)
yaoki_import_monit_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
yaoki_import_monit_LDADD = libykimport.a libykbase.a $(CURL_LIBS)
