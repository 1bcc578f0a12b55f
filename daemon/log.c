/* SPDX-License-Identifier: Apache-2.0 */
/* log.c — see log.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int log_verbose;
int log_quiet;

static void vlog(const char *level, int with_errno, const char *fmt, va_list ap)
{
	int saved = errno;
	if (log_quiet && level[0] != 'f')
		return;
	fprintf(stderr, "wardd: %s: ", level);
	vfprintf(stderr, fmt, ap);
	if (with_errno)
		fprintf(stderr, ": %s", strerror(saved));
	fputc('\n', stderr);
	errno = saved;
}

#define LOG_FN(name, level, with_errno, cond)  \
	void name(const char *fmt, ...)        \
	{                                      \
		va_list ap;                    \
		if (!(cond))                   \
			return;                \
		va_start(ap, fmt);             \
		vlog(level, with_errno, fmt, ap); \
		va_end(ap);                    \
	}

LOG_FN(log_info, "info", 0, 1)
LOG_FN(log_debug, "debug", 0, log_verbose)
LOG_FN(log_warn, "warning", 1, 1)
LOG_FN(log_warnx, "warning", 0, 1)

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("fatal", 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog("fatal", 0, fmt, ap);
	va_end(ap);
	exit(1);
}
