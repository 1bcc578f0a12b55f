// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * priv.bpf.c — privilege and process control: the setuid family (setuid,
 * setgid, setreuid, setregid, setresuid, setresgid, setfsuid, setfsgid),
 * capset, ptrace, and signals (kill, tkill, tgkill).
 *
 * The setuid family and capset need the ids/capabilities from before the
 * call: their sys_enter sensor saves them in wk_stash_map by thread id and
 * the sys_exit sensor reads the new ones from the task's credentials.
 */
#include "common.bpf.h"

static __always_inline const struct cred *cur_cred(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(t, real_cred);
}

/* kernel_cap_t is a u64 since 6.3 and two u32 before: 8 bytes either way. */
static __always_inline __u64 read_caps(const kernel_cap_t *caps)
{
	__u64 v = 0;
	bpf_probe_read_kernel(&v, sizeof(v), caps);
	return v;
}

static __always_inline void stash_creds(__u16 type)
{
	if (!wk_type_subscribed(type) || !wk_task_wanted(bpf_get_current_cgroup_id()))
		return;
	const struct cred *c = cur_cred();
	struct wk_stash s = {
		.uid = BPF_CORE_READ(c, uid.val),
		.gid = BPF_CORE_READ(c, gid.val),
		.euid = BPF_CORE_READ(c, euid.val),
		.egid = BPF_CORE_READ(c, egid.val),
		.suid = BPF_CORE_READ(c, suid.val),
		.cap_eff = read_caps(__builtin_preserve_access_index(&c->cap_effective)),
		.cap_prm = read_caps(__builtin_preserve_access_index(&c->cap_permitted)),
	};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	bpf_map_update_elem(&wk_stash_map, &tid, &s, BPF_ANY);
}

/* The stash saved by this thread's sys_enter, removed.  Returns 0 (and
 * zeroes @out) when there is none: a call already under way when the sensor
 * was attached.  Then the old values are unknown, not zero. */
static __always_inline __u32 take_stash(struct wk_stash *out)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct wk_stash *s = bpf_map_lookup_elem(&wk_stash_map, &tid);
	if (s) {
		*out = *s;
		bpf_map_delete_elem(&wk_stash_map, &tid);
		return 1;
	}
	__builtin_memset(out, 0, sizeof(*out));
	return 0;
}

WK_SYS_ENTER
int wk_setid_enter(void *ctx)
{
	stash_creds(WARD_EV_SETUID);
	return 0;
}

WK_SYS_EXIT
int wk_setid_exit(WK_CTX *ctx)
{
	struct wk_stash old;
	__u32 have_old = take_stash(&old);
	__u8 *ev = wk_begin(WARD_EV_SETUID);
	if (!ev)
		return 0;
	struct wk_cred *p = &WK_PAYLOAD(ev)->cred;
	p->have_old = have_old;
	const struct cred *c = cur_cred();
	p->result = WK_RET(ctx);
	p->syscall = WK_NR(WK_REGS(ctx));
	p->old_uid = old.uid;
	p->old_gid = old.gid;
	p->old_euid = old.euid;
	p->old_egid = old.egid;
	p->old_suid = old.suid;
	p->new_uid = BPF_CORE_READ(c, uid.val);
	p->new_gid = BPF_CORE_READ(c, gid.val);
	p->new_euid = BPF_CORE_READ(c, euid.val);
	p->new_egid = BPF_CORE_READ(c, egid.val);
	p->new_suid = BPF_CORE_READ(c, suid.val);
	wk_submit(ev);
	return 0;
}

WK_SYS_ENTER
int wk_capset_enter(void *ctx)
{
	stash_creds(WARD_EV_CAPSET);
	return 0;
}

/* capset(hdrp, datap): the new sets as passed, the old ones from the stash */
WK_SYS_EXIT
int wk_capset_exit(WK_CTX *ctx)
{
	struct wk_stash old;
	__u32 have_old = take_stash(&old);
	__u8 *ev = wk_begin(WARD_EV_CAPSET);
	if (!ev)
		return 0;
	struct pt_regs *r = WK_REGS(ctx);
	struct wk_cred *p = &WK_PAYLOAD(ev)->cred;
	struct __user_cap_header_struct hdr = {};
	struct __user_cap_data_struct data[2] = {};
	p->have_old = have_old;
	bpf_probe_read_user(&hdr, sizeof(hdr), (void *)WK_ARG1(r));
	/* version 1 passes one 32-bit set; versions 2 and 3 pass two */
	if (hdr.version == 0x19980330)
		bpf_probe_read_user(&data, sizeof(data[0]), (void *)WK_ARG2(r));
	else
		bpf_probe_read_user(&data, sizeof(data), (void *)WK_ARG2(r));
	p->result = WK_RET(ctx);
	p->syscall = WK_NR(r);
	p->target_pid = hdr.pid;
	p->old_cap_eff = old.cap_eff;
	p->old_cap_prm = old.cap_prm;
	p->cap_eff = data[0].effective | ((__u64)data[1].effective << 32);
	p->cap_prm = data[0].permitted | ((__u64)data[1].permitted << 32);
	p->cap_inh = data[0].inheritable | ((__u64)data[1].inheritable << 32);
	wk_submit(ev);
	return 0;
}

/* ptrace(request, pid, addr, data) */
WK_SYS_EXIT
int wk_ptrace_exit(WK_CTX *ctx)
{
	__u8 *ev = wk_begin(WARD_EV_PTRACE);
	if (!ev)
		return 0;
	struct pt_regs *r = WK_REGS(ctx);
	struct wk_target *p = &WK_PAYLOAD(ev)->target;
	p->result = WK_RET(ctx);
	p->syscall = WK_NR(r);
	p->request = WK_ARG1(r);
	p->pid = (int)WK_ARG2(r);
	wk_submit(ev);
	return 0;
}

static __always_inline int do_signal(WK_CTX *ctx, int pid, int tid, __u32 sig)
{
	__u8 *ev = wk_begin(WARD_EV_SIGNAL);
	if (!ev)
		return 0;
	struct wk_target *p = &WK_PAYLOAD(ev)->target;
	p->result = WK_RET(ctx);
	p->syscall = WK_NR(WK_REGS(ctx));
	p->pid = pid;
	p->tid = tid;
	p->sig = sig;
	wk_submit(ev);
	return 0;
}

/* kill(pid, sig) */
WK_SYS_EXIT
int wk_kill_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_signal(ctx, (int)WK_ARG1(r), 0, WK_ARG2(r));
}

/* tkill(tid, sig) */
WK_SYS_EXIT
int wk_tkill_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_signal(ctx, 0, (int)WK_ARG1(r), WK_ARG2(r));
}

/* tgkill(tgid, tid, sig) */
WK_SYS_EXIT
int wk_tgkill_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	return do_signal(ctx, (int)WK_ARG1(r), (int)WK_ARG2(r), WK_ARG3(r));
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
