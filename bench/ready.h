/* SPDX-License-Identifier: Apache-2.0 */
/* ready.h — how a benchmark helper tells its script it is ready. */
#ifndef WARD_BENCH_READY_H
#define WARD_BENCH_READY_H

/* Write our pid to @path atomically (a temp name, then rename), so a
 * poller never sees the file before the helper is set up.  0 or -1. */
int write_ready_file(const char *path);

#endif
