/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroups.h — one cgroup per sandboxed client, with its resource limits,
 * on whatever cgroup layout the machine has.
 *
 * Layouts (found at run time from /proc/self/mountinfo, as runc and systemd
 * do):
 *   - unified: one cgroup2 mount holds identity and the controllers;
 *   - hybrid: cgroup2 holds identity (the id BPF programs see, cgroup.kill,
 *     cgroup-bpf) but no controllers; memory, cpu and pids are cgroup v1
 *     hierarchies;
 *   - legacy (no cgroup2 mount at all): v1 hierarchies only.  The mode is
 *     then CG_NONE, v2_id is 0, and only the v1 directories are used.
 *
 * A client's cgroup is <root>/<base>/<name> in every hierarchy used:
 * always the v2 one when there is one, and for each of memory, cpu and pids
 * the hierarchy that holds that controller — v2 when the v2 root's
 * cgroup.controllers offers it, else the v1 mount of that controller.
 *
 * Paths are those of the mounts in wardd's mount namespace.  Not
 * thread-safe for one struct ward_cgroup; distinct ones are independent.
 * Errors are negative errno values.
 */
#ifndef WARDD_CGROUPS_H
#define WARDD_CGROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CG_PATH_MAX 512

enum cg_mode {
	CG_NONE = 0,    /* no cgroup2 mount (v1 hierarchies may still be used) */
	CG_V2 = 1,      /* unified: cgroup2 only */
	CG_HYBRID = 2,  /* v2 for identity, v1 for resources */
};

struct cg_env {
	enum cg_mode mode;
	char v2_root[256];      /* mount point of the whole cgroup2 hierarchy, "" if none */
	char v1_memory[256];    /* mount points of the v1 hierarchies holding each */
	char v1_cpu[256];       /* controller, "" if not mounted (the cpu one may be */
	char v1_pids[256];      /* a co-mount such as .../cpu,cpuacct) */
	/* which limits can be enforced at all, whichever hierarchy does it */
	bool memory, cpu, pids;
};

/* Find the cgroup layout: the first cgroup2 mount whose root is the
 * hierarchy's root, the first v1 mount (root "/") of each of memory, cpu
 * and pids, and which of those controllers the v2 root offers
 * (cgroup.controllers).  Fills *@env whole.  Returns 0, or -errno when
 * /proc/self/mountinfo cannot be read.  A machine without any cgroup is
 * not an error: mode CG_NONE, every flag false. */
int cg_detect(struct cg_env *env);

/* Limits of one client; 0 in a field means "no limit" for it. */
struct cg_limits {
	uint64_t memory_bytes;  /* RAM; swap is refused wherever the kernel lets us */
	uint32_t cpu_percent;   /* 100 = one CPU; may exceed 100 on several CPUs */
	uint32_t pids;          /* processes and threads */
};

struct ward_cgroup {
	char v2[CG_PATH_MAX];       /* the client's v2 directory, "" if none */
	char memory[CG_PATH_MAX];   /* its v1 directories, "" if unused (the */
	char cpu[CG_PATH_MAX];      /* controller is in v2, or not mounted) */
	char pids[CG_PATH_MAX];
	uint64_t v2_id;             /* inode number of the v2 directory = the
				     * kernel's cgroup id (0 if none) */
};

/*
 * Create <root>/<base>/<name> in every hierarchy the client needs (or reuse
 * it, re-applying the limits), and describe it in *@out.
 *
 * @base: one or more path components ("ward/clients"), no "." or ".." and
 * no empty component; missing ones are created.  @name: one component.
 * Directories are made 0755, owned by root.
 *
 * v2 (when mounted): always created (identity, cgroup.kill, cgroup-bpf).
 * Each of memory.max (with memory.swap.max 0), cpu.max (period 100 ms) and
 * pids.max is written there when the v2 root's cgroup.controllers offers
 * the controller; the controller is then enabled in cgroup.subtree_control
 * of the root and of every directory down to <base>.
 *
 * v1, for a controller v2 does not offer: memory.limit_in_bytes,
 * memory.memsw.limit_in_bytes (the same value, when the file exists) and
 * memory.swappiness 0 (when settable); cpu.cfs_period_us 100000 and
 * cpu.cfs_quota_us; pids.max.  The directory is made even when that limit
 * is 0 (unlimited is then written), so usage is accounted.
 *
 * A non-zero limit that no hierarchy can enforce fails with -EOPNOTSUPP: a
 * client never runs with a limit silently missing.  Other errors: -EINVAL
 * (bad @base or @name), -ENAMETOOLONG, -errno of mkdir or of a write (a
 * memory limit below the current usage of a reused cgroup: -EBUSY).  Every
 * failure puts a message in @err (may be NULL) and removes the directories
 * this call could remove (rmdir: never a populated one); *@out is then
 * zeroed.
 */
int cg_create(const struct cg_env *env, const char *base, const char *name, const struct cg_limits *lim,
	      struct ward_cgroup *out, char *err, size_t errlen);

/* Move process @pid (0 = the caller) into every directory of @cg: v2 first,
 * then memory, cpu, pids.  Returns 0 or the -errno of the first write that
 * failed (then the later hierarchies were not tried).  Async-signal-safe
 * (open, write, close only; no malloc, no stdio): sandbox_spawn calls it in
 * the forked child before exec. */
int cg_enter(const struct ward_cgroup *cg, pid_t pid);

/* Kill every process in @cg and wait for them to be gone: v2 cgroup.kill
 * when the file exists (written again each round while processes remain);
 * otherwise SIGKILL for each pid listed in cgroup.procs (the only way on
 * v1), repeated until every directory is empty — a fork bomb cannot outrun
 * it, since each round kills what the last one missed.  A process left in a
 * v1 directory alone (moved out of v2 by someone) is killed by pid after
 * 200 ms.  (By pid, a process that exits and whose
 * pid is reused between the read and the kill would be hit: only where
 * cgroup.kill is missing — v1 alone, or Linux < 5.14 — and only after a
 * full wrap of the pid space.)  Bounded: about 2 s.  Returns 0, -EBUSY
 * if processes remain after that (stuck in the kernel), or -errno of
 * reading cgroup.procs (-ENOENT: the cgroup is gone).  Async-signal-safe
 * (open, read, write, kill, nanosleep). */
int cg_kill(const struct ward_cgroup *cg);

/* Processes (thread-group ids) in @cg: v2 cgroup.procs, else the first v1
 * directory (pids, memory, cpu).  Stores the first @max in @out (may be
 * NULL when @max is 0) and returns how many there are, which may be more
 * than @max; or -errno (-ENOENT: no directory).  Async-signal-safe. */
int cg_procs(const struct ward_cgroup *cg, pid_t *out, size_t max);

/* Usage and limits; fields not available are 0, and a limit that is not
 * set reads as UINT64_MAX (memory_max) or UINT32_MAX (pids_max). */
struct cg_stats {
	uint64_t memory_bytes;  /* v2 memory.current, v1 memory.usage_in_bytes */
	uint64_t memory_max;    /* v2 memory.max, v1 memory.limit_in_bytes */
	uint64_t memory_peak;   /* v2 memory.peak (Linux 5.19), v1 memory.max_usage_in_bytes */
	uint64_t cpu_usage_ns;  /* v2 cpu.stat usage_usec (always there), else v1 cpuacct.usage */
	uint64_t oom_kills;     /* v2 memory.events, v1 memory.oom_control: oom_kill */
	uint32_t pids;          /* pids.current */
	uint32_t pids_max;      /* pids.max */
};

/* Read the statistics of @cg, each from whichever hierarchy holds it.
 * Returns 0, or -errno when a directory of @cg cannot be read (-ENOENT:
 * removed); *@st is zeroed first. */
int cg_stats(const struct ward_cgroup *cg, struct cg_stats *st);

/* rmdir every directory of @cg (not <base>).  A directory already gone
 * counts as removed.  Tries them all; returns 0, or the first error
 * (-EBUSY: still populated).  Async-signal-safe. */
int cg_destroy(const struct ward_cgroup *cg);

/* The v2 path of @cg relative to the v2 root, as the kernel prints it in
 * the "0::" line of /proc/PID/cgroup ("/<base>/<name>"); "" when @cg has no
 * v2 directory or it is not under env->v2_root.  Points into @cg. */
const char *cg_v2_relative(const struct cg_env *env, const struct ward_cgroup *cg);

/* The v2 path of process @pid (0 = the caller) from /proc/PID/cgroup: what
 * follows "0::" on its line, e.g. "/ward/clients/edr", into @out.  Returns
 * 0, -ENOENT (no such process, or no v2 line), -ENAMETOOLONG, or -errno. */
int cg_of_pid(pid_t pid, char *out, size_t len);

/* As cg_kill, without waiting: cgroup.kill, or else one SIGKILL to every
 * process there now.  For an event loop, which learns of the deaths from
 * pidfds.  Returns 0 (cgroup.kill written) or how many were signalled. */
int cg_kill_nowait(const struct ward_cgroup *cg);

/* Remove the directory @base under every root of @env, where it is empty
 * (after the last client's cg_destroy). */
void cg_remove_base(const struct cg_env *env, const char *base);

/* Undo /proc/PID/mountinfo's octal escapes (\040 for a space) in @s, in
 * place.  Async-signal-safe. */
void cg_unescape_mountinfo(char *s);

#endif
