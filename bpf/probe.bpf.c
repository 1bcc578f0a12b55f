// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * probe.bpf.c — never used for events.  wardd loads and attaches each of
 * these once at start, then detaches them, to learn what this kernel really
 * allows (not what its configuration claims): LSM-BPF and fentry, the hooks
 * a prevention backend and a cheaper file sensor would need.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("lsm/file_open")
int BPF_PROG(wk_probe_lsm, struct file *file)
{
	return 0;
}

SEC("fentry/do_sys_openat2")
int BPF_PROG(wk_probe_fentry, int dfd)
{
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
