# man/: manual pages.
dist_man_MANS += man/yaokid.8 man/yaokictl.8 man/yaoki.conf.5 \
	man/yaoki-import-monit.8
