/* SPDX-License-Identifier: Apache-2.0 */
/*
 * log.h — wardd's logging.  log_warn/fatal append strerror(errno); the x
 * variants do not.  Everything goes to stderr (journald picks it up when
 * wardd runs as a service).
 */
#ifndef WARDD_LOG_H
#define WARDD_LOG_H

#define WARDD_PRINTF(a, b) __attribute__((format(printf, a, b)))

extern int log_verbose;
extern int log_quiet; /* only fatal messages (fuzzers) */

void log_info(const char *fmt, ...) WARDD_PRINTF(1, 2);
void log_debug(const char *fmt, ...) WARDD_PRINTF(1, 2);
void log_warn(const char *fmt, ...) WARDD_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) WARDD_PRINTF(1, 2);
void fatal(const char *fmt, ...) WARDD_PRINTF(1, 2) __attribute__((noreturn));
void fatalx(const char *fmt, ...) WARDD_PRINTF(1, 2) __attribute__((noreturn));

#endif
