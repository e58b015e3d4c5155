# supervisor/ctl/: yaokictl, the operators' client of the status socket.
sbin_PROGRAMS += yaokictl
yaokictl_SOURCES = supervisor/ctl/yaokictl.c
yaokictl_CPPFLAGS = $(AM_CPPFLAGS) $(CTL_INC)
yaokictl_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
yaokictl_LDADD = libykproto.a libykbase.a $(JSONC_LIBS)
