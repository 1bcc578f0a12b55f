// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * core.bpf.c — the syscall dispatchers.  One raw tracepoint on sys_exit (and
 * one on sys_enter) tail-calls the sensor registered for the syscall number
 * in wk_sys_exit / wk_sys_enter.  wardd registers sensors only for event types
 * someone subscribed to; everything else falls through at the cost of one
 * failed tail call.  This object owns the maps the other sensors reuse.
 */
#include "common.bpf.h"

SEC("raw_tp/sys_exit")
int wk_dispatch_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct pt_regs *regs = WK_REGS(ctx);
	long nr = WK_NR(regs);
	if (nr < 0 || nr >= WK_NR_SYSCALLS)
		return 0;
	bpf_tail_call(ctx, &wk_sys_exit, (__u32)nr);
	return 0;
}

SEC("raw_tp/sys_enter")
int wk_dispatch_enter(struct bpf_raw_tracepoint_args *ctx)
{
	long nr = (long)ctx->args[1];
	if (nr < 0 || nr >= WK_NR_SYSCALLS)
		return 0;
	bpf_tail_call(ctx, &wk_sys_enter, (__u32)nr);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
