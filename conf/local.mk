# conf/: the configuration schema and its value parsers; the example
# configuration, the systemd unit and the LSB init script.
noinst_LIBRARIES += libykconf.a
libykconf_a_SOURCES = conf/config.c conf/conf.h
libykconf_a_CPPFLAGS = $(AM_CPPFLAGS) $(CONF_INC)
libykconf_a_CFLAGS = $(AM_CFLAGS) $(CONFUSE_CFLAGS) $(CURL_CFLAGS)

EXTRA_DIST += conf/yaoki.conf conf/yaokid.service conf/yaokid.init

# The unit and the init script name /usr/sbin/yaokid and /etc/yaoki; they
# are installed with the paths of this configure run. The unit goes to
# $(systemdsystemunitdir) (configure: pkg-config systemd), or, when that is
# not set, to what pkg-config says now, else /lib/systemd/system.
yk_edit = sed -e 's|/usr/sbin/yaokid|$(sbindir)/yaokid|g' \
	-e 's|/etc/yaoki/|$(sysconfdir)/yaoki/|g'
yk_unitdir = unitdir='$(systemdsystemunitdir)'; \
	test -n "$$unitdir" || \
	unitdir=`$(PKG_CONFIG) --variable=systemdsystemunitdir systemd 2>/dev/null`; \
	test -n "$$unitdir" || unitdir=/lib/systemd/system

install-data-local: install-yaoki-service install-yaoki-conf
uninstall-local: uninstall-yaoki-service uninstall-yaoki-conf

# $(sysconfdir)/yaoki/yaoki.conf: the example with its domain blocks
# commented out, so that a fresh install supervises nothing until the
# operator names a domain (an example "web01" must never judge a real one).
# An existing file is the operator's: never overwritten, and removed by
# uninstall only while it is still the one installed.
yk_conf_gen = { echo '\# Installed by make install from conf/yaoki.conf: no domain is'; \
	echo '\# supervised until you add a domain block (yaoki.conf(5)).'; \
	$(yk_edit) -e '/^domain "/,$$s/^/\#/' < $(srcdir)/conf/yaoki.conf; }
yk_conf = $(DESTDIR)$(sysconfdir)/yaoki/yaoki.conf

install-yaoki-conf:
	@if test -f "$(yk_conf)"; then \
		echo " keeping $(yk_conf)"; \
	else \
		echo " installing $(yk_conf)"; \
		$(MKDIR_P) "$(DESTDIR)$(sysconfdir)/yaoki" && \
		$(yk_conf_gen) > yaoki.conf.tmp && \
		$(INSTALL) -m 0640 yaoki.conf.tmp "$(yk_conf)" && \
		rm -f yaoki.conf.tmp; \
	fi

uninstall-yaoki-conf:
	@$(yk_conf_gen) > yaoki.conf.tmp; \
	if test -f "$(yk_conf)" && cmp -s yaoki.conf.tmp "$(yk_conf)"; then \
		rm -f "$(yk_conf)"; \
	elif test -f "$(yk_conf)"; then \
		echo " keeping $(yk_conf) (changed since install)"; \
	fi; \
	rm -f yaoki.conf.tmp

install-yaoki-service:
	@$(yk_unitdir); \
	echo " installing $(DESTDIR)$$unitdir/yaokid.service"; \
	$(MKDIR_P) "$(DESTDIR)$$unitdir" && \
	$(yk_edit) < $(srcdir)/conf/yaokid.service > yaokid.service.tmp && \
	$(INSTALL_DATA) yaokid.service.tmp "$(DESTDIR)$$unitdir/yaokid.service" && \
	rm -f yaokid.service.tmp
	@echo " installing $(DESTDIR)$(sysconfdir)/init.d/yaokid"; \
	$(MKDIR_P) "$(DESTDIR)$(sysconfdir)/init.d" && \
	$(yk_edit) < $(srcdir)/conf/yaokid.init > yaokid.init.tmp && \
	$(INSTALL_SCRIPT) yaokid.init.tmp "$(DESTDIR)$(sysconfdir)/init.d/yaokid" && \
	rm -f yaokid.init.tmp

uninstall-yaoki-service:
	@$(yk_unitdir); \
	rm -f "$(DESTDIR)$$unitdir/yaokid.service"
	rm -f "$(DESTDIR)$(sysconfdir)/init.d/yaokid"

.PHONY: install-yaoki-service uninstall-yaoki-service install-yaoki-conf \
	uninstall-yaoki-conf
CLEANFILES += yaokid.service.tmp yaokid.init.tmp yaoki.conf.tmp
