# tests/: cmocka unit tests and the pytest integration suite.
if HAVE_CMOCKA
UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CONFUSE_CFLAGS) $(EVENT_CFLAGS) \
	$(CURL_CFLAGS) $(JSONC_CFLAGS)

check_PROGRAMS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_LDADD = libykconf.a libykbase.a $(CMOCKA_LIBS) \
	$(CONFUSE_LIBS) $(CURL_LIBS)

check_PROGRAMS += tests/unit/test_domain
tests_unit_test_domain_SOURCES = tests/unit/test_domain.c
tests_unit_test_domain_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_domain_LDADD = libyksm.a libykconf.a libykbase.a $(CMOCKA_LIBS) \
	$(CONFUSE_LIBS) $(CURL_LIBS)

check_PROGRAMS += tests/unit/test_probe
tests_unit_test_probe_SOURCES = tests/unit/test_probe.c
tests_unit_test_probe_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_probe_LDADD = libykprobe.a libykconf.a libykbase.a $(CMOCKA_LIBS) \
	$(CURL_LIBS) $(EVENT_LIBS) $(CONFUSE_LIBS)

TESTS += tests/unit/test_config tests/unit/test_domain tests/unit/test_probe
endif

# Integration: pytest drives the real binaries from the build tree.
TESTS += tests/integration/run
EXTRA_DIST += tests/integration/run
# Every pytest file of tests/integration goes into the tarball.
dist-hook:
	mkdir -p $(distdir)/tests/integration
	cp -p $(srcdir)/tests/integration/*.py $(distdir)/tests/integration/
	cp -pR $(srcdir)/tests/xen $(distdir)/tests/
AM_TESTS_ENVIRONMENT = \
	YAOKI_BUILDDIR='$(abs_top_builddir)'; export YAOKI_BUILDDIR; \
	YAOKI_SRCDIR='$(abs_top_srcdir)'; export YAOKI_SRCDIR; \
	PYTHON3='$(PYTHON3)'; export PYTHON3;
