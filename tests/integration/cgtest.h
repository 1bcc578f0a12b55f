/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgtest.h — removing a test's cgroups, for the harness and the tests that
 * run a module without wardd (test_netpolicy, test_pinning).
 */
#ifndef WARD_TEST_CGTEST_H
#define WARD_TEST_CGTEST_H

/* SIGKILL every process in cgroup @dir ("" : nothing). */
void cgtest_kill(const char *dir);
/* Kill what is left in @sub (a child cgroup of @top) and in @top, then
 * remove both, retrying (bounded, 1 s each) while the dying processes
 * still populate them.  Either may be "" (nothing to do for it). */
void cgtest_remove(const char *sub, const char *top);

#endif
