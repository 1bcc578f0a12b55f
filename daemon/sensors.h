/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sensors.h — loading, wiring and unloading the BPF sensors (the bpf/ directory).
 * One object per family; core owns the maps, the others reuse them.
 * Syscall sensors are registered in the dispatch tables only for the event
 * types someone subscribed to (sensors_set_mask).
 */
#ifndef WARDD_SENSORS_H
#define WARDD_SENSORS_H

#include <stdint.h>
#include <stdbool.h>

struct json_object;

struct sensors_opts {
	const char *scope_cgroup; /* only tasks under this cgroup v2 dir; NULL = all */
	uint32_t ring_bytes;      /* BPF ring buffer size (power of two) */
	const char *backend;      /* "auto" (NULL), "tp" or "raw": see sensors.c */
	const char *scratch_dir;  /* where tracefs may be mounted for a moment */
};

typedef int (*sensors_event_fn)(void *ctx, void *data, size_t size);

/* Load and attach.  Returns 0 or a negative errno (logged). */
int sensors_start(const struct sensors_opts *o, sensors_event_fn fn, void *ctx);
/* Detach and unload everything (nothing stays pinned).  Safe to call twice. */
void sensors_stop(void);
/* Register sensors for exactly the event types in @mask. */
int sensors_set_mask(uint64_t mask);
/* Never report process @pid (tgid) / tasks in cgroup v2 directory @dir
 * (that cgroup only, not its children): the kernel drops their events.
 * Returns 0 or a negative errno. */
int sensors_mute_pid(uint32_t pid);
/* Stop dropping @pid's events in the kernel.  Returns 0 or -errno. */
int sensors_unmute_pid(uint32_t pid);
/* Whether @pid is muted (its fork/exec/exit still reach wardd, for the
 * process table, and must be delivered to nobody). */
int sensors_pid_muted(uint32_t pid);
int sensors_mute_cgroup(const char *dir);
/* fd to add to epoll: readable when the ring buffer has data. */
int sensors_epoll_fd(void);
/* Consume every waiting record.  Returns the count or a negative errno. */
int sensors_consume(void);
/* Ring-buffer drops counted by the kernel for @type (summed over CPUs). */
uint64_t sensors_drops(uint32_t type);
/* The name of syscall number @nr as the sensors know it, or NULL. */
const char *sensors_syscall_name(uint32_t nr);
/* What this kernel allows, probed at start: adds keys to @obj. */
void sensors_probe_kernel(struct json_object *obj);
/* What is attached now: adds keys to @obj. */
void sensors_status(struct json_object *obj);

#endif
