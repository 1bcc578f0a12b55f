/* SPDX-License-Identifier: Apache-2.0 */
/* scratch.c — see scratch.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "scratch.h"

char scratch_dir[64];

int scratch_make(const char *prefix)
{
	snprintf(scratch_dir, sizeof(scratch_dir), "/tmp/ward-%s-XXXXXX", prefix);
	return mkdtemp(scratch_dir) ? 0 : -1;
}

void scratch_remove(void)
{
	if (scratch_dir[0])
		scratch_sh("rm -rf %s", scratch_dir);
}

int scratch_sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

size_t scratch_read(const char *name, char *buf, size_t cap)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", scratch_dir, name);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n;
}

void scratch_write(const char *name, const void *buf, size_t len)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", scratch_dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}
