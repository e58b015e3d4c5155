# sim/: yaoki-simhv, the simulated hypervisor.
pkglibexec_PROGRAMS += yaoki-simhv
yaoki_simhv_SOURCES = sim/simhv.c \
	sim/sim_cmd.c sim/sim_cmd.h \
	sim/sim_conf.c sim/sim_conf.h \
	sim/sim_domain.c sim/sim_domain.h \
	sim/sim_guest.c sim/sim_guest.h \
	sim/sim_prog.c sim/sim_prog.h \
	sim/sim_proto.c sim/sim_proto.h
yaoki_simhv_CPPFLAGS = $(AM_CPPFLAGS) $(SIM_INC)
yaoki_simhv_CFLAGS = $(AM_CFLAGS) $(CONFUSE_CFLAGS) $(EVENT_CFLAGS) $(JSONC_CFLAGS)
yaoki_simhv_LDADD = libykbase.a $(CONFUSE_LIBS) $(EVENT_LIBS) $(JSONC_LIBS)
EXTRA_DIST += sim/PROTOCOL.md
