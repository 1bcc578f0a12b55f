/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * common.bpf.h — what every sensor shares: the maps (defined in each object;
 * wardd loads core.bpf.o first and makes the other objects reuse its maps, so
 * there is one ring buffer and one set of filters), the event header, the
 * filters, string and path helpers.
 *
 * Syscall sensors are tail-called from core.bpf.c's raw_tp/sys_exit (and
 * sys_enter) dispatchers through wk_sys_exit / wk_sys_enter, indexed by
 * syscall number.  wardd fills an index only when someone subscribed to an
 * event that syscall produces, so an unwatched syscall costs one failed
 * tail call.
 */
#ifndef WARD_COMMON_BPF_H
#define WARD_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "events.h"

#ifndef AT_FDCWD
#define AT_FDCWD -100
#endif
#define WK_NR_SYSCALLS 512
#define WK_NAME_MAX 256
#define WK_PATH_DEPTH 160 /* steps: components plus mount crossings */

/* The one ring buffer every sensor writes to (size set by wardd). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} wk_events SEC(".maps");

/* Ring-buffer reserve/output failures per CPU and event type. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WK_MAX_TYPES);
	__type(key, __u32);
	__type(value, __u64);
} wk_drops SEC(".maps");

/* Settings wardd changes at run time (enum wk_config_key). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WK_CFG_NKEYS);
	__type(key, __u32);
	__type(value, __u64);
} wk_config SEC(".maps");

/* Processes (tgid) whose events are never reported. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u8);
} wk_muted_pids SEC(".maps");

/* cgroup v2 ids whose events are never reported. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} wk_muted_cgroups SEC(".maps");

/* When slot 0 holds a cgroup, only tasks under it are reported (wardd --cgroup). */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} wk_scope SEC(".maps");

/* Syscall number -> sensor program, for the dispatchers in core.bpf.c. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, WK_NR_SYSCALLS);
	__type(key, __u32);
	__type(value, __u32);
} wk_sys_exit SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, WK_NR_SYSCALLS);
	__type(key, __u32);
	__type(value, __u32);
} wk_sys_enter SEC(".maps");

/* What a sys_enter sensor saves for its sys_exit twin, by thread id. */
struct wk_stash {
	__u32 uid, gid, euid, egid, suid;
	__u32 pad;
	__u64 cap_eff, cap_prm;
};

/* LRU: an entry whose exit never came (a thread killed in the call) ages
 * out instead of filling the map. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct wk_stash);
} wk_stash_map SEC(".maps");

/* Scratch where an event is assembled before it is copied into the ring
 * (records have variable length; bpf_ringbuf_output copies only the used
 * part).  One slot per CPU, indexed by CPU id: tracepoint programs do not
 * nest on one CPU.  A plain array rather than a per-CPU one because a
 * per-CPU value is limited to 32 KiB.  wardd sets max_entries to the number
 * of possible CPUs. */
#define WK_SCRATCH_MASK 32767 /* > WK_EVENT_MAX: masked offsets stay inside */
struct wk_scratch {
	__u8 buf[WK_SCRATCH_MASK + 1 + WK_NAME_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wk_scratch);
} wk_scratch_map SEC(".maps");

/* Set by wardd before load: non-zero when wk_scope holds a cgroup. */
const volatile __u32 wk_scoped = 0;

static __always_inline __u64 wk_config_get(__u32 key)
{
	__u64 *v = bpf_map_lookup_elem(&wk_config, &key);
	return v ? *v : 0;
}

static __always_inline void wk_count_drop(__u32 type)
{
	__u32 k = type & (WK_MAX_TYPES - 1);
	__u64 *v = bpf_map_lookup_elem(&wk_drops, &k);
	if (v)
		*v += 1;
}

/* Whether the current task's events may be reported at all. */
static __always_inline bool wk_task_wanted_ex(__u64 cg, bool pid_mutes)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (tgid == (__u32)wk_config_get(WK_CFG_SELF_TGID))
		return false;
	__u64 muting = wk_config_get(WK_CFG_MUTING);
	if (pid_mutes && (muting & WK_MUTING_PIDS) && bpf_map_lookup_elem(&wk_muted_pids, &tgid))
		return false;
	if ((muting & WK_MUTING_CGROUPS) && bpf_map_lookup_elem(&wk_muted_cgroups, &cg))
		return false;
	if (wk_scoped && bpf_current_task_under_cgroup(&wk_scope, 0) != 1)
		return false;
	return true;
}

static __always_inline bool wk_task_wanted(__u64 cg)
{
	return wk_task_wanted_ex(cg, true);
}

static __always_inline bool wk_type_subscribed(__u32 type)
{
	return (wk_config_get(WK_CFG_SUBSCRIBED) >> (type & 63)) & 1;
}

/* Scratch buffer, or NULL (never on a working kernel). */
static __always_inline __u8 *wk_scratch(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct wk_scratch *s = bpf_map_lookup_elem(&wk_scratch_map, &cpu);
	return s ? s->buf : NULL;
}

/* Fill the common header from the current task.  The task is read through
 * its BTF-typed pointer: plain loads, not one helper call per field (this
 * runs for every event; probe reads cost about twice as much here). */
static __always_inline void wk_fill_hdr(struct wk_hdr *h, __u16 type, __u64 cg)
{
	struct task_struct *t = bpf_get_current_task_btf();
	__u64 id = bpf_get_current_pid_tgid();

	h->type = type;
	h->size = 0;
	h->str_len[0] = h->str_len[1] = h->str_len[2] = h->str_len[3] = 0;
	h->str_rev = 0;
	h->pad16 = 0;
	h->ktime = bpf_ktime_get_boot_ns();
	h->cgroup_id = cg;
	h->start_time = t->group_leader->start_boottime;
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->ppid = t->real_parent->tgid;
	const struct cred *c = t->real_cred;
	h->uid = c->uid.val;
	h->gid = c->gid.val;
	h->euid = c->euid.val;
	h->egid = c->egid.val;
	h->pad = 0;
	/* two loads instead of a helper call */
	__builtin_memcpy(h->comm, t->comm, sizeof(h->comm));
}

/* Offset of string @i's first byte, given the lengths before it. */
static __always_inline __u32 wk_str_off(struct wk_hdr *h, int i)
{
	__u32 off = WK_FIXED_SIZE;
	if (i > 0)
		off += h->str_len[0];
	if (i > 1)
		off += h->str_len[1];
	if (i > 2)
		off += h->str_len[2];
	return off;
}

/* Copy a user string into string slot @i (slots are filled in order). */
static __always_inline void wk_user_str(__u8 *ev, int i, const void *uptr)
{
	struct wk_hdr *h = (struct wk_hdr *)ev;
	__u32 off = wk_str_off(h, i);
	if (!uptr || off > WK_EVENT_MAX - WK_STR_MAX)
		return;
	long n = bpf_probe_read_user_str(ev + off, WK_STR_MAX, uptr);
	if (n > 0)
		h->str_len[i & 3] = n;
}

/* As wk_user_str, for a kernel string of at most @max bytes (<= WK_STR_MAX). */
static __always_inline void wk_kernel_str(__u8 *ev, int i, const void *kptr, __u32 max)
{
	struct wk_hdr *h = (struct wk_hdr *)ev;
	__u32 off = wk_str_off(h, i);
	if (!kptr || off > WK_EVENT_MAX - WK_STR_MAX)
		return;
	long n = bpf_probe_read_kernel_str(ev + off, max & (WK_STR_MAX - 1), kptr);
	if (n > 0)
		h->str_len[i & 3] = n;
}

/* State of one dentry walk (wk_path_str), on the caller's stack. */
struct wk_walk {
	struct dentry *d;
	struct mount *mnt;
	__u32 base;
	__u32 len;
	__u32 done; /* reached the root of the mount tree: nothing was cut */
};

/* One step of the walk: write the current component, move to the parent,
 * crossing mount points.  Returns 1 to stop. */
static long wk_walk_step(__u64 idx, void *arg)
{
	struct wk_walk *w = arg;
	__u8 *ev = wk_scratch();
	if (!ev)
		return 1;
	struct dentry *d = w->d;
	struct mount *mnt = w->mnt;
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	struct dentry *mroot = BPF_CORE_READ(mnt, mnt.mnt_root);
	if (d == mroot || d == parent) {
		struct mount *up = BPF_CORE_READ(mnt, mnt_parent);
		if (up == mnt || !up) {
			w->done = 1; /* the root of this mount tree */
			return 1;
		}
		w->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = up;
		return 0;
	}
	if (w->len >= WK_PATH_BUF - WK_NAME_MAX || w->base > WK_EVENT_MAX - WK_PATH_BUF)
		return 1;
	const unsigned char *name = BPF_CORE_READ(d, d_name.name);
	__u32 off = (w->base + w->len) & (WK_SCRATCH_MASK);
	long n = bpf_probe_read_kernel_str(ev + off, WK_NAME_MAX, name);
	if (n <= 1)
		return 1; /* unreadable name: stop, and the path is marked cut */
	w->len += n;
	w->d = parent;
	return 0;
}

/*
 * Walk a path from its dentry up to the root of the mount tree, writing each
 * component leaf first into string slot @i (see events.h).  Bounded by
 * WK_PATH_DEPTH steps and WK_PATH_BUF bytes.  bpf_loop keeps the verifier's
 * work to one pass over the step, whatever the number of callers.
 */
static __always_inline void wk_path_str(__u8 *ev, int i, struct dentry *d, struct vfsmount *vm)
{
	struct wk_hdr *h = (struct wk_hdr *)ev;
	struct wk_walk w = {
		.d = d,
		.mnt = container_of(vm, struct mount, mnt),
		.base = wk_str_off(h, i),
		.len = 0,
		.done = 0,
	};
	if (!d || !vm)
		return;
	bpf_loop(WK_PATH_DEPTH, wk_walk_step, &w, 0);
	h->str_len[i & 3] = w.len;
	h->str_rev |= WK_REV(i);
	if (!w.done)
		h->str_rev |= WK_CUT(i);
}

/* The struct file behind descriptor @fd of the current task, or NULL. */
static __always_inline struct file *wk_fd_file(int fd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct files_struct *files = BPF_CORE_READ(t, files);
	struct fdtable *fdt = BPF_CORE_READ(files, fdt);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = NULL;

	if (fd < 0 || (unsigned int)fd >= max)
		return NULL;
	bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* Path of descriptor @fd into string slot @i. */
static __always_inline void wk_fd_path(__u8 *ev, int i, int fd)
{
	struct file *f = wk_fd_file(fd);
	if (f)
		wk_path_str(ev, i, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt));
}

/* Size of the record so far (header + payload + strings). */
static __always_inline __u32 wk_size(__u8 *ev)
{
	struct wk_hdr *h = (struct wk_hdr *)ev;
	return WK_FIXED_SIZE + h->str_len[0] + h->str_len[1] + h->str_len[2] + h->str_len[3];
}

/* Copy the record into the ring buffer; count a drop if it does not fit.
 * Wakes the reader only when enough has accumulated (wardd also polls on a
 * short timer), so a busy system does not pay a wake-up per event. */
static __always_inline void wk_submit(__u8 *ev)
{
	struct wk_hdr *h = (struct wk_hdr *)ev;
	__u32 size = wk_size(ev);
	if (size > WK_EVENT_MAX)
		size = WK_EVENT_MAX;
	h->size = size;
	__u64 flags = bpf_ringbuf_query(&wk_events, BPF_RB_AVAIL_DATA) > (256 << 10)
			      ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&wk_events, ev, size, flags))
		wk_count_drop(h->type);
}

/* Syscall arguments from the saved user registers (x86-64 ABI), through
 * the BTF-typed pointer bpf_task_pt_regs() gives: plain loads. */
#define WK_ARG1(r) ((r)->di)
#define WK_ARG2(r) ((r)->si)
#define WK_ARG3(r) ((r)->dx)
#define WK_ARG4(r) ((r)->r10)
#define WK_ARG5(r) ((r)->r8)
#define WK_NR(r) ((long)(r)->orig_ax)

/*
 * Start an event: checks the process filters, returns the scratch buffer
 * with header and zeroed payload, or NULL if the event is not wanted.  The
 * process family uses this directly: wardd's process table needs its events
 * whoever subscribed.
 */
static __always_inline __u8 *wk_begin_ex(__u16 type, bool pid_mutes)
{
	__u64 cg = bpf_get_current_cgroup_id();
	if (!wk_task_wanted_ex(cg, pid_mutes))
		return NULL;
	__u8 *ev = wk_scratch();
	if (!ev)
		return NULL;
	wk_fill_hdr((struct wk_hdr *)ev, type, cg);
	__builtin_memset(ev + sizeof(struct wk_hdr), 0, sizeof(union wk_payload));
	return ev;
}

static __always_inline __u8 *wk_begin_always(__u16 type)
{
	return wk_begin_ex(type, true);
}

/* Fork, exec, exit and cwd keep wardd's process table true, which AUTH
 * requests draw on: they come even for muted pids (wardd then delivers
 * them to nobody).  Cgroup mutes and the scope still apply. */
static __always_inline __u8 *wk_begin_lifecycle(__u16 type)
{
	return wk_begin_ex(type, false);
}

/* As wk_begin_always, but only when someone subscribed to @type. */
static __always_inline __u8 *wk_begin(__u16 type)
{
	if (!wk_type_subscribed(type))
		return NULL;
	return wk_begin_always(type);
}

/* The current task's saved user registers (the same as the tracepoint's
 * first argument for a syscall, but typed, so fields are plain loads). */
/*
 * Two ways to run a syscall sensor, chosen by wardd at start (each family
 * but core and process is built once for each):
 *   - WK_TP: a tracepoint program attached through perf to the syscall's own
 *     syscalls/sys_exit_<name> tracepoint; the kernel filters by syscall
 *     number, so a syscall nobody watches runs no BPF at all.  Needs the
 *     tracepoint ids from tracefs.
 *   - otherwise: a raw tracepoint program tail-called by core.bpf.c's
 *     sys_exit dispatcher (works without tracefs).
 */
#ifdef WK_TP
#define WK_CTX struct trace_event_raw_sys_exit
#define WK_RET(ctx) ((long)(ctx)->ret)
#define WK_SYS_EXIT SEC("tp/syscalls/sys_exit_ward")
#define WK_SYS_ENTER SEC("tp/syscalls/sys_enter_ward")
#else
#define WK_CTX struct bpf_raw_tracepoint_args
#define WK_RET(ctx) ((long)(ctx)->args[1])
#define WK_SYS_EXIT SEC("raw_tp/sys_exit")
#define WK_SYS_ENTER SEC("raw_tp/sys_enter")
#endif

#define WK_REGS(ctx) ((struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf()))
#define WK_PAYLOAD(ev) ((union wk_payload *)((ev) + sizeof(struct wk_hdr)))

#endif /* WARD_COMMON_BPF_H */
