# supervisor/proto/: the status-socket protocol shared by yaokid and yaokictl
# (command table, request parsing, default socket, domain-name rule).
noinst_LIBRARIES += libykproto.a
libykproto_a_SOURCES = supervisor/proto/control_proto.c \
	supervisor/proto/control_proto.h
libykproto_a_CPPFLAGS = $(AM_CPPFLAGS) $(PROTO_INC)
