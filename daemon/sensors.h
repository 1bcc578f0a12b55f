/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sensors.h — loading, wiring and unloading the BPF sensors (the bpf/ directory).
 * One object per family; core owns the maps, the others reuse them.
 * Syscall sensors are registered in the dispatch tables only for the event
 * types someone subscribed to (sensors_set_mask).
 *
 * Pinning (sensors_opts.pin_dir): the sensors outlive a wardd that dies
 * without stopping them (SIGKILL, a crash), and the next wardd takes them
 * over without a gap.  In the pin directory, on bpffs:
 *   <pin_dir>/wk_*          every wk_ map of the core object (the ring
 *                           buffer, filters, tail-call tables, ...);
 *   <pin_dir>/meta          wardd's own small array map: layout version,
 *                           backend, scoped or not, a hash of the BPF
 *                           objects, the subscribed mask, the owner's pid;
 *   <pin_dir>/links/<name>  every BPF link: "fork", "exec", "exit",
 *                           "attach", "dispatch_exit", "dispatch_enter",
 *                           "exit_<syscall>", "enter_<syscall>".
 * While they are pinned the programs keep writing into the pinned ring
 * buffer, which keeps every record nobody read (up to its size; the rest
 * are counted as drops).  A wardd holds an exclusive flock(2) on the pin
 * directory while it runs: a second one gets -EBUSY from sensors_start
 * and changes nothing.
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
	const char *pin_dir;      /* bpffs directory to pin in; NULL = pin nothing */
};

typedef int (*sensors_event_fn)(void *ctx, void *data, size_t size);

/*
 * Load and attach.  Returns 0 or a negative errno (logged).
 *
 * With a pin_dir holding the pins of a wardd that is gone, this takes them
 * over (sensors_taken_over()): the maps are reused, so the ring buffer is
 * read from where the previous wardd stopped and every record written
 * since is delivered; its links are kept (not detached and attached
 * again); its subscribed mask stays registered (sensors_inherited_mask())
 * until sensors_set_mask() says otherwise.  What that wardd set up for
 * itself is reset: its own pid becomes ours in the filter, the muted pids
 * and cgroups are emptied, the scope is set as asked.  If the previous
 * sensors ran on another backend, with another scope setting or from
 * other BPF objects, new links are attached first and the old ones
 * detached after (both may report a moment; never neither).  Pins that
 * cannot be reused (a map of another size or type, a start that never
 * finished) are removed, logged, and the start is a fresh one.
 *
 * -EBUSY: another live wardd holds pin_dir; nothing was touched.
 * On any other failure everything is undone; pins that were taken over
 * stay pinned (the sensors keep running for the next wardd).
 */
int sensors_start(const struct sensors_opts *o, sensors_event_fn fn, void *ctx);
/* Detach and unload everything.  With a pin_dir, unpin every map and link
 * and remove the directory: a clean stop leaves nothing in the kernel.
 * Safe to call twice. */
void sensors_stop(void);
/* Close wardd's own descriptors and leave every pin in place, as if wardd
 * had been killed: the pinned sensors keep running for the next wardd.
 * Without a pin_dir, the same as sensors_stop().  Safe to call twice. */
void sensors_release(void);
/* Register sensors for exactly the event types in @mask.  After a takeover
 * the inherited mask is registered until this is called. */
int sensors_set_mask(uint64_t mask);
/* Whether sensors_start took over the pins of a previous wardd. */
bool sensors_taken_over(void);
/* The mask that wardd had subscribed (its clients' types), 0 when nothing
 * was taken over.  It stays registered until the next sensors_set_mask(). */
uint64_t sensors_inherited_mask(void);
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
/* Ring-buffer drops counted by the kernel for @type (summed over CPUs;
 * after a takeover, the previous wardd's drops included). */
uint64_t sensors_drops(uint32_t type);
/* The name of syscall number @nr as the sensors know it, or NULL. */
const char *sensors_syscall_name(uint32_t nr);
/* What this kernel allows, probed at start: adds keys to @obj. */
void sensors_probe_kernel(struct json_object *obj);
/* What is attached now, and what was pinned and taken over: adds keys to
 * @obj. */
void sensors_status(struct json_object *obj);

#endif
