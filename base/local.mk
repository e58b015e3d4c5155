# base/: utilities every program may use; includes nothing of yaoki's.
noinst_LIBRARIES += libykbase.a
libykbase_a_SOURCES = base/log.c base/log.h \
	base/clock.c base/clock.h \
	base/file.c base/file.h \
	base/fd.c base/fd.h \
	base/unix_socket.c base/unix_socket.h \
	base/text.c base/text.h \
	base/failpoint.c base/failpoint.h \
	base/duration.c base/duration.h \
	base/status_set.c base/status_set.h
libykbase_a_CPPFLAGS = $(AM_CPPFLAGS) $(BASE_INC)
