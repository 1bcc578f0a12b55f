// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * core.bpf.c — the syscall dispatchers.  One raw tracepoint on sys_exit (and
 * one on sys_enter) tail-calls the sensor registered for the syscall number
 * in wk_sys_exit / wk_sys_enter.  wardd registers sensors only for event types
 * someone subscribed to; everything else falls through at the cost of one
 * failed tail call.  This object owns the maps the other sensors reuse.
 */
#include "common.bpf.h"

#define TS_COMPAT 0x0002 /* x86: the current syscall is a 32-bit one */

/* A 32-bit syscall (int 0x80 or a 32-bit process) numbers its calls
 * differently: it must not run the 64-bit sensor of the same number. */
static __always_inline bool in_compat_syscall(void)
{
	struct task_struct *t = bpf_get_current_task_btf();
	return t->thread_info.status & TS_COMPAT;
}

SEC("raw_tp/sys_exit")
int wk_dispatch_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = WK_REGS(ctx);
	long nr = WK_NR(regs);
	if (nr < 0 || nr >= WK_NR_SYSCALLS || in_compat_syscall())
		return 0;
	bpf_tail_call(ctx, &wk_sys_exit, (__u32)nr);
	return 0;
}

SEC("raw_tp/sys_enter")
int wk_dispatch_enter(struct bpf_raw_tracepoint_args *ctx)
{
	long nr = (long)ctx->args[1];
	if (nr < 0 || nr >= WK_NR_SYSCALLS || in_compat_syscall())
		return 0;
	bpf_tail_call(ctx, &wk_sys_enter, (__u32)nr);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
