// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * process.bpf.c — process lifecycle: fork, exec, exit, from the scheduler's
 * raw tracepoints.  These always run (wardd's process table depends on
 * them); wardd forwards them only to subscribers.
 */
#include "common.bpf.h"

#define SIGNAL_GROUP_EXIT 0x00000004

SEC("raw_tp/sched_process_fork")
int wk_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u32 pid = BPF_CORE_READ(child, tgid);
	if (pid != BPF_CORE_READ(child, pid))
		return 0; /* a new thread, not a new process */
	__u8 *ev = wk_begin_lifecycle(WARD_EV_FORK);
	if (!ev)
		return 0;
	struct wk_fork *p = &WK_PAYLOAD(ev)->fork;
	p->child_pid = pid;
	p->child_tid = pid;
	p->child_start_time = BPF_CORE_READ(child, start_boottime);
	wk_submit(ev);
	return 0;
}

/* The arguments of the current task (its own user memory) into string slot
 * 2, up to WK_ARGV_MAX - 1 bytes.  Returns 1 when they were cut. */
static __always_inline __u32 read_argv(__u8 *ev, struct task_struct *t)
{
	struct mm_struct *mm = BPF_CORE_READ(t, mm);
	unsigned long a0 = BPF_CORE_READ(mm, arg_start), a1 = BPF_CORE_READ(mm, arg_end);
	__u64 n = a1 - a0;
	__u32 cut = 0;
	struct wk_hdr *h = (struct wk_hdr *)ev;
	__u32 off = wk_str_off(h, 2);
	if (n >= WK_ARGV_MAX) {
		n = WK_ARGV_MAX - 1; /* wardd ends a cut argument with a NUL */
		cut = 1;
	}
	barrier_var(n);
	if (off <= WK_EVENT_MAX - WK_ARGV_MAX && n > 0 && n < WK_ARGV_MAX &&
	    bpf_probe_read_user(ev + off, n, (void *)a0) == 0)
		h->str_len[2] = n;
	return cut;
}

SEC("raw_tp/sched_process_exec")
int wk_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t = (struct task_struct *)ctx->args[0];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	__u8 *ev = wk_begin_lifecycle(WARD_EV_EXEC);
	if (!ev)
		return 0;
	struct wk_exec *p = &WK_PAYLOAD(ev)->exec;
	p->old_pid = (__u32)ctx->args[1];
	struct file *f = BPF_CORE_READ(bprm, file);
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	p->dev = BPF_CORE_READ(ino, i_sb, s_dev);
	p->ino = BPF_CORE_READ(ino, i_ino);
	p->size = BPF_CORE_READ(ino, i_size);
	if (bpf_core_field_exists(ino->i_mtime_sec)) { /* 6.11 and later */
		p->mtime_ns = BPF_CORE_READ(ino, i_mtime_sec) * 1000000000ull + BPF_CORE_READ(ino, i_mtime_nsec);
		p->ctime_ns = BPF_CORE_READ(ino, i_ctime_sec) * 1000000000ull + BPF_CORE_READ(ino, i_ctime_nsec);
	}
	wk_path_str(ev, 0, BPF_CORE_READ(f, f_path.dentry), BPF_CORE_READ(f, f_path.mnt));
	wk_kernel_str(ev, 1, BPF_CORE_READ(bprm, filename), WK_STR_MAX - 1);

	p->argv_truncated = read_argv(ev, t);
	wk_submit(ev);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int wk_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t = (struct task_struct *)ctx->args[0];
	struct signal_struct *sig = BPF_CORE_READ(t, signal);
	if (BPF_CORE_READ(sig, live.counter) != 0)
		return 0; /* other threads of the process still run */
	__u8 *ev = wk_begin_lifecycle(WARD_EV_EXIT);
	if (!ev)
		return 0;
	struct wk_exit *p = &WK_PAYLOAD(ev)->exit;
	if (BPF_CORE_READ(sig, flags) & SIGNAL_GROUP_EXIT)
		p->status = BPF_CORE_READ(sig, group_exit_code);
	else
		p->status = BPF_CORE_READ(t, exit_code);
	wk_submit(ev);
	return 0;
}

/*
 * A task that moves itself into a cgroup: with wardd scoped to a cgroup
 * (--cgroup), a process that forked outside the scope and then joined it was
 * never seen forking or exec'ing, and by the time its first event is read it
 * may be gone from /proc.  This snapshot gives wardd its identity: exe, argv
 * and cwd.  Only self-moves (the task is the writer, so its memory is
 * readable) on the cgroup v2 hierarchy, and only when scoped.
 */
SEC("raw_tp/cgroup_attach_task")
int wk_attach(struct bpf_raw_tracepoint_args *ctx)
{
	struct cgroup *dst = (struct cgroup *)ctx->args[0];
	struct task_struct *t = (struct task_struct *)ctx->args[2];
	if (!wk_scoped || t != (struct task_struct *)bpf_get_current_task() ||
	    BPF_CORE_READ(dst, root, hierarchy_id) != 0)
		return 0;
	__u8 *ev = wk_begin_always(WK_SNAPSHOT);
	if (!ev)
		return 0;
	struct file *exe = BPF_CORE_READ(t, mm, exe_file);
	wk_path_str(ev, 0, BPF_CORE_READ(exe, f_path.dentry), BPF_CORE_READ(exe, f_path.mnt));
	read_argv(ev, t);
	struct fs_struct *fs = BPF_CORE_READ(t, fs);
	wk_path_str(ev, 3, BPF_CORE_READ(fs, pwd.dentry), BPF_CORE_READ(fs, pwd.mnt));
	wk_submit(ev);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
