/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tracepoints.h — per-syscall tracepoints (syscalls/sys_exit_<name>) for the
 * sensors' tracepoint backend: their ids, read from tracefs, and attaching a
 * BPF program to one through a perf event.
 */
#ifndef WARDD_TRACEPOINTS_H
#define WARDD_TRACEPOINTS_H

struct bpf_link;
struct bpf_program;

/*
 * Fill @ids[i] with the id of tracepoint "syscalls/@names[i]" (-1 where it
 * does not exist).  Uses a mounted tracefs; when none is mounted, mounts one
 * for a moment on a private directory in @scratch_dir and unmounts it.
 * Returns 0, or a negative errno when no tracefs could be read at all.
 */
int tracepoint_ids(const char *scratch_dir, const char *const *names, int n, int *ids);

/* Attach @prog to tracepoint @id (every CPU).  NULL with errno set on failure.
 * bpf_link__destroy() detaches it and closes the perf event. */
/* A perf event for tracepoint @id (all CPUs), to attach a program to; -1
 * with errno on failure. */
int tracepoint_perf_fd(int id);
struct bpf_link *tracepoint_attach(struct bpf_program *prog, int id);

#endif
