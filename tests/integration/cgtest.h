/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgtest.h — making and removing a test's cgroups, for the harness and the
 * tests that run a module without wardd (test_netpolicy, test_pinning).
 */
#ifndef WARD_TEST_CGTEST_H
#define WARD_TEST_CGTEST_H

#include <stdbool.h>
#include <stddef.h>

/* Make cgroup @top = <cgroup v2 root>/@name (the root is /sys/fs/cgroup,
 * or /sys/fs/cgroup/unified on a hybrid machine) and its child @sub =
 * @top/@subname; with @reuse, ones that exist already do.  0, or -1 with
 * a message on stderr (prefixed "@who: ") and what was not made left "". */
int cgtest_make(const char *who, const char *name, const char *subname, bool reuse, char *top, size_t toplen,
		char *sub, size_t sublen);

/* SIGKILL every process in cgroup @dir ("" : nothing). */
void cgtest_kill(const char *dir);
/* Kill what is left in @sub (a child cgroup of @top) and in @top, then
 * remove both, retrying (bounded, 1 s each) while the dying processes
 * still populate them.  Either may be "" (nothing to do for it). */
void cgtest_remove(const char *sub, const char *top);

#endif
