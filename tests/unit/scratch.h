/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scratch.h — a scratch directory for unit tests that run a tool (Debian's
 * minisign) on files they write: test_minisign and test_bundle.
 */
#ifndef WARD_TEST_SCRATCH_H
#define WARD_TEST_SCRATCH_H

#include <stddef.h>

extern char scratch_dir[64];

/* mkdtemp /tmp/ward-@prefix-XXXXXX into scratch_dir: 0 or -1. */
int scratch_make(const char *prefix);
/* rm -rf it. */
void scratch_remove(void);
/* system() of a formatted command; its status. */
int scratch_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* File @name of the directory into @buf (at most @cap - 1 bytes, then a
 * NUL); its length.  Fails the test when it cannot be read. */
size_t scratch_read(const char *name, char *buf, size_t cap);
/* @len bytes of @buf into file @name; fails the test on an error. */
void scratch_write(const char *name, const void *buf, size_t len);

#endif
