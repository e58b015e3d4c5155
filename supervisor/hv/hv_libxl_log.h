/*
 * hv_libxl_log.h - the xentoollog logger yaokid hands to libxl: every
 * message from libxl (and libxc, libxenstore...) becomes one log.h line.
 */
#ifndef YK_HV_LIBXL_LOG_H
#define YK_HV_LIBXL_LOG_H

#include <xentoollog.h>

/*
 * Returns a new logger for libxl_ctx_alloc, or NULL when out of memory.
 * It must outlive the libxl context; free it with xtl_logger_destroy().
 */
xentoollog_logger *hv_libxl_logger_new(void);

#endif
