# tests/: cmocka unit tests, the pytest integration suite and the layer check.
if HAVE_CMOCKA
UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CONFUSE_CFLAGS) $(EVENT_CFLAGS) \
	$(CURL_CFLAGS) $(JSONC_CFLAGS)
UNIT_CPPFLAGS = $(AM_CPPFLAGS) $(CORE_INC)

check_PROGRAMS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_LDADD = libykconf.a libykproto.a libykbase.a \
	$(CMOCKA_LIBS) $(CONFUSE_LIBS) $(CURL_LIBS)

check_PROGRAMS += tests/unit/test_sm
tests_unit_test_sm_SOURCES = tests/unit/test_sm.c
tests_unit_test_sm_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_sm_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sm_LDADD = libyksm.a libykhv.a libykconf.a libykproto.a \
	libykbase.a $(CMOCKA_LIBS) $(CONFUSE_LIBS) $(CURL_LIBS)

check_PROGRAMS += tests/unit/test_probe
tests_unit_test_probe_SOURCES = tests/unit/test_probe.c
tests_unit_test_probe_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_probe_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_probe_LDADD = libykprobe.a libykbase.a $(CMOCKA_LIBS) \
	$(CURL_LIBS) $(EVENT_LIBS)

check_PROGRAMS += tests/unit/test_proto
tests_unit_test_proto_SOURCES = tests/unit/test_proto.c
tests_unit_test_proto_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_proto_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_proto_LDADD = libykproto.a libykbase.a $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_persist
tests_unit_test_persist_SOURCES = tests/unit/test_persist.c \
	tests/unit/scratch.c tests/unit/scratch.h
tests_unit_test_persist_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_persist_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_persist_LDADD = libykcore.a libyksm.a libykhv.a libykconf.a \
	libykproto.a libykbase.a $(CMOCKA_LIBS) $(JSONC_LIBS) $(CONFUSE_LIBS) \
	$(CURL_LIBS) $(EVENT_LIBS)

check_PROGRAMS += tests/unit/test_base
tests_unit_test_base_SOURCES = tests/unit/test_base.c \
	tests/unit/scratch.c tests/unit/scratch.h
tests_unit_test_base_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_base_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_base_LDADD = libykbase.a $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_xlmon
tests_unit_test_xlmon_SOURCES = tests/unit/test_xlmon.c \
	tests/unit/scratch.c tests/unit/scratch.h
tests_unit_test_xlmon_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_xlmon_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_xlmon_LDADD = libykhv.a libykbase.a $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test_xlproc
tests_unit_test_xlproc_SOURCES = tests/unit/test_xlproc.c \
	tests/unit/scratch.c tests/unit/scratch.h
tests_unit_test_xlproc_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_xlproc_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_xlproc_LDADD = libykhv.a libykbase.a $(CMOCKA_LIBS)

# The core against a scripted hypervisor (tests/unit/stub_hv.c).
check_PROGRAMS += tests/unit/test_recovery
tests_unit_test_recovery_SOURCES = tests/unit/test_recovery.c \
	tests/unit/stub_hv.c tests/unit/stub_hv.h
tests_unit_test_recovery_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_recovery_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_recovery_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS) $(CORE_EXT_LIBS)

check_PROGRAMS += tests/unit/test_writer
tests_unit_test_writer_SOURCES = tests/unit/test_writer.c \
	tests/unit/scratch.c tests/unit/scratch.h
tests_unit_test_writer_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_writer_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_writer_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS) $(CORE_EXT_LIBS)

check_PROGRAMS += tests/unit/test_supervisor
tests_unit_test_supervisor_SOURCES = tests/unit/test_supervisor.c \
	tests/unit/stub_hv.c tests/unit/stub_hv.h
tests_unit_test_supervisor_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_supervisor_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_supervisor_LDADD = $(CORE_LIBS) $(CMOCKA_LIBS) $(CORE_EXT_LIBS)

# The monit importer: tokenizer, parser, translation pieces, writer.
check_PROGRAMS += tests/unit/test_import
tests_unit_test_import_SOURCES = tests/unit/test_import.c \
	tests/unit/scratch.c tests/unit/scratch.h
tests_unit_test_import_CPPFLAGS = $(AM_CPPFLAGS) $(IMPORT_INC) \
	-I$(top_srcdir)/tests/unit
tests_unit_test_import_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_import_LDADD = libykimport.a libykbase.a $(CMOCKA_LIBS) \
	$(CONFUSE_LIBS) $(CURL_LIBS)

TESTS += tests/unit/test_import
TESTS += tests/unit/test_config tests/unit/test_sm tests/unit/test_probe \
	tests/unit/test_proto tests/unit/test_persist tests/unit/test_base \
	tests/unit/test_recovery tests/unit/test_supervisor \
	tests/unit/test_writer \
	tests/unit/test_xlmon tests/unit/test_xlproc
endif

# The include graph: no cycles, no upward includes (HACKING.md).
TESTS += tests/check-layers
EXTRA_DIST += tests/check-layers

# Integration: pytest drives the real binaries from the build tree.
TESTS += tests/integration/run
EXTRA_DIST += tests/integration/run tests/integration/slowfsync.c
# Every pytest file of tests/integration goes into the tarball.
dist-hook:
	mkdir -p $(distdir)/tests/integration
	cp -p $(srcdir)/tests/integration/*.py $(distdir)/tests/integration/
	cp -pR $(srcdir)/tests/integration/fixtures $(distdir)/tests/integration/
	cp -pR $(srcdir)/tests/xen $(distdir)/tests/
AM_TESTS_ENVIRONMENT = \
	YAOKI_BUILDDIR='$(abs_top_builddir)'; export YAOKI_BUILDDIR; \
	YAOKI_SRCDIR='$(abs_top_srcdir)'; export YAOKI_SRCDIR; \
	PYTHON3='$(PYTHON3)'; export PYTHON3;
