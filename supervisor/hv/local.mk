# supervisor/hv/: the hypervisor interface and its backends (libxl, sim).
# The only files built with the Xen flags.
noinst_LIBRARIES += libykhv.a
libykhv_a_SOURCES = supervisor/hv/hv.c supervisor/hv/hv.h \
	supervisor/hv/hv_types.c supervisor/hv/hv_types.h \
	supervisor/hv/hv_toolsop.c supervisor/hv/hv_toolsop.h \
	supervisor/hv/hv_sim.c \
	supervisor/hv/hv_xlmon.c supervisor/hv/hv_xlmon.h \
	supervisor/hv/hv_xlproc.c supervisor/hv/hv_xlproc.h \
	supervisor/hv/hv_libxl.c \
	supervisor/hv/hv_libxl_lane.c supervisor/hv/hv_libxl_lane.h \
	supervisor/hv/hv_libxl_cfgcache.c supervisor/hv/hv_libxl_cfgcache.h \
	supervisor/hv/hv_libxl_log.c supervisor/hv/hv_libxl_log.h
libykhv_a_CPPFLAGS = $(AM_CPPFLAGS) $(HV_INC)
libykhv_a_CFLAGS = $(AM_CFLAGS) $(XEN_CFLAGS) $(EVENT_CFLAGS) $(JSONC_CFLAGS)
