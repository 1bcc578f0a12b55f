// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * system.bpf.c — system changes: module loading (init_module, finit_module),
 * bpf() program load and attach, mount (mount, move_mount), umount (umount2)
 * and memfd_create.
 */
#include "common.bpf.h"

static __always_inline __u8 *sys_begin(WK_CTX *ctx, __u16 type,
					struct wk_sys **out)
{
	__u8 *ev = wk_begin(type);
	if (!ev)
		return NULL;
	struct wk_sys *p = &WK_PAYLOAD(ev)->sys;
	p->result = WK_RET(ctx);
	p->syscall = WK_NR(WK_REGS(ctx));
	p->fd = -1;
	*out = p;
	return ev;
}

/* init_module(image, len, params): str1 = params */
WK_SYS_EXIT
int wk_init_module_exit(WK_CTX *ctx)
{
	struct wk_sys *p;
	__u8 *ev = sys_begin(ctx, WARD_EV_MODULE_LOAD, &p);
	if (!ev)
		return 0;
	wk_user_str(ev, 1, (void *)WK_ARG3(WK_REGS(ctx)));
	wk_submit(ev);
	return 0;
}

/* finit_module(fd, params, flags): str0 = the module file, str1 = params */
WK_SYS_EXIT
int wk_finit_module_exit(WK_CTX *ctx)
{
	struct wk_sys *p;
	__u8 *ev = sys_begin(ctx, WARD_EV_MODULE_LOAD, &p);
	if (!ev)
		return 0;
	struct pt_regs *r = WK_REGS(ctx);
	p->fd = (int)WK_ARG1(r);
	p->flags = WK_ARG3(r);
	wk_fd_path(ev, 0, p->fd);
	wk_user_str(ev, 1, (void *)WK_ARG2(r));
	wk_submit(ev);
	return 0;
}

/* bpf(cmd, attr, size): program loads and attachments only */
WK_SYS_EXIT
int wk_bpf_exit(WK_CTX *ctx)
{
	struct pt_regs *r = WK_REGS(ctx);
	__u32 cmd = WK_ARG1(r);
	if (cmd != BPF_PROG_LOAD && cmd != BPF_PROG_ATTACH && cmd != BPF_LINK_CREATE &&
	    cmd != BPF_RAW_TRACEPOINT_OPEN)
		return 0;
	struct wk_sys *p;
	__u8 *ev = sys_begin(ctx, WARD_EV_BPF, &p);
	if (!ev)
		return 0;
	union bpf_attr attr = {};
	/* The fields read below lie in the first 128 bytes of every command's
	 * attr; a shorter attr is zero-extended, as the kernel does. */
	__u64 size = WK_ARG3(r);
	size = size > 128 ? 128 : size;
	barrier_var(size);
	if (size > 0 && size <= 128)
		bpf_probe_read_user(&attr, size, (void *)WK_ARG2(r));
	p->cmd = cmd;
	if (cmd == BPF_PROG_LOAD) {
		p->prog_type = attr.prog_type;
		p->attach_type = attr.expected_attach_type;
		p->insn_cnt = attr.insn_cnt;
		wk_kernel_str(ev, 0, attr.prog_name, sizeof(attr.prog_name));
	} else if (cmd == BPF_PROG_ATTACH) {
		p->attach_type = attr.attach_type;
		p->fd = attr.attach_bpf_fd;
	} else if (cmd == BPF_LINK_CREATE) {
		p->attach_type = attr.link_create.attach_type;
		p->fd = attr.link_create.prog_fd;
	} else {
		p->fd = attr.raw_tracepoint.prog_fd;
		wk_user_str(ev, 0, (void *)attr.raw_tracepoint.name);
	}
	wk_submit(ev);
	return 0;
}

/* mount(source, target, fstype, flags, data) */
WK_SYS_EXIT
int wk_mount_exit(WK_CTX *ctx)
{
	struct wk_sys *p;
	__u8 *ev = sys_begin(ctx, WARD_EV_MOUNT, &p);
	if (!ev)
		return 0;
	struct pt_regs *r = WK_REGS(ctx);
	p->flags = WK_ARG4(r);
	wk_user_str(ev, 0, (void *)WK_ARG1(r));
	wk_user_str(ev, 1, (void *)WK_ARG2(r));
	wk_user_str(ev, 2, (void *)WK_ARG3(r));
	wk_submit(ev);
	return 0;
}

/* move_mount(from_dfd, from_path, to_dfd, to_path, flags): the new mount API's
 * attach step; str1 = to_path (empty with MOVE_MOUNT_T_EMPTY_PATH) */
WK_SYS_EXIT
int wk_move_mount_exit(WK_CTX *ctx)
{
	struct wk_sys *p;
	__u8 *ev = sys_begin(ctx, WARD_EV_MOUNT, &p);
	if (!ev)
		return 0;
	struct pt_regs *r = WK_REGS(ctx);
	p->flags = WK_ARG5(r);
	p->fd = (int)WK_ARG1(r);
	wk_user_str(ev, 0, (void *)WK_ARG2(r));
	wk_user_str(ev, 1, (void *)WK_ARG4(r));
	wk_submit(ev);
	return 0;
}

/* umount2(target, flags): str1 = target */
WK_SYS_EXIT
int wk_umount_exit(WK_CTX *ctx)
{
	struct wk_sys *p;
	__u8 *ev = sys_begin(ctx, WARD_EV_UMOUNT, &p);
	if (!ev)
		return 0;
	struct pt_regs *r = WK_REGS(ctx);
	p->flags = WK_ARG2(r);
	wk_user_str(ev, 1, (void *)WK_ARG1(r));
	wk_submit(ev);
	return 0;
}

/* memfd_create(name, flags) */
WK_SYS_EXIT
int wk_memfd_create_exit(WK_CTX *ctx)
{
	struct wk_sys *p;
	__u8 *ev = sys_begin(ctx, WARD_EV_MEMFD_CREATE, &p);
	if (!ev)
		return 0;
	struct pt_regs *r = WK_REGS(ctx);
	p->flags = WK_ARG2(r);
	wk_user_str(ev, 0, (void *)WK_ARG1(r));
	wk_submit(ev);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
