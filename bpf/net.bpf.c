// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * net.bpf.c — network sensors: connect, bind, listen, accept (sys_exit of
 * connect, bind, listen, accept, accept4).  Addresses come from the socket
 * the descriptor names (family, type, protocol, local and remote address and
 * port as the kernel holds them after the call); for connect and bind the
 * address the caller passed fills in what the socket does not hold yet (a
 * failed connect, an AF_UNIX path).
 */
#include "common.bpf.h"

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10

static __always_inline struct sock *fd_sock(int fd)
{
	struct file *f = wk_fd_file(fd);
	if (!f)
		return NULL;
	struct socket *so = BPF_CORE_READ(f, private_data);
	/* only sockets have f_op == socket_file_ops; check the inode mode */
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & 00170000) != 0140000)
		return NULL;
	return BPF_CORE_READ(so, sk);
}

static __always_inline void net_from_sock(struct wk_net *p, struct sock *sk)
{
	if (!sk)
		return;
	p->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	p->sock_type = BPF_CORE_READ(sk, sk_type);
	p->protocol = BPF_CORE_READ(sk, sk_protocol);
	p->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	p->remote_port = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (p->family == AF_INET) {
		__u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		__builtin_memcpy(p->local_addr, &l, 4);
		__builtin_memcpy(p->remote_addr, &r, 4);
	} else if (p->family == AF_INET6) {
		BPF_CORE_READ_INTO(&p->local_addr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&p->remote_addr, sk, __sk_common.skc_v6_daddr);
	}
}

/* An AF_UNIX address as passed: addrlen - 2 bytes of sun_path, copied as
 * bytes (an abstract name starts with a NUL and need not end with one). */
static __always_inline void net_unix_path(__u8 *ev, const void *uaddr, __u32 addrlen)
{
	struct wk_hdr *h = (struct wk_hdr *)ev;
	__u32 off = wk_str_off(h, 0);
	__u32 n = addrlen > 2 ? addrlen - 2 : 0;
	if (n > 108)
		n = 108;
	barrier_var(n);
	if (n == 0 || n > 108 || off > WK_EVENT_MAX - 128)
		return;
	if (bpf_probe_read_user(ev + off, n, (const char *)uaddr + 2) == 0)
		h->str_len[0] = n;
}

/* Address the caller passed: fills remote (connect) or local (bind) side. */
static __always_inline void net_from_user(__u8 *ev, struct wk_net *p, const void *uaddr,
					  __u32 addrlen, bool remote)
{
	struct sockaddr_in6 sa = {};
	if (!uaddr || bpf_probe_read_user(&sa, sizeof(sa), uaddr))
		return;
	if (!p->family)
		p->family = sa.sin6_family;
	__u16 port = __builtin_bswap16(sa.sin6_port);
	__u8 *addr = remote ? p->remote_addr : p->local_addr;
	if (sa.sin6_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&sa;
		__builtin_memcpy(addr, &s4->sin_addr.s_addr, 4);
	} else if (sa.sin6_family == AF_INET6) {
		__builtin_memcpy(addr, &sa.sin6_addr, 16);
	} else if (sa.sin6_family == AF_UNIX) {
		net_unix_path(ev, uaddr, addrlen);
		return;
	} else {
		return;
	}
	if (remote)
		p->remote_port = port;
	else if (!p->local_port)
		p->local_port = port;
}

static __always_inline __u8 *net_begin(WK_CTX *ctx, __u16 type,
					struct wk_net **out)
{
	__u8 *ev = wk_begin(type);
	if (!ev)
		return NULL;
	struct wk_net *p = &WK_PAYLOAD(ev)->net;
	p->result = WK_RET(ctx);
	p->fd = (int)WK_ARG1(WK_REGS(ctx));
	*out = p;
	return ev;
}

/* connect(fd, addr, len) */
WK_SYS_EXIT
int wk_connect_exit(WK_CTX *ctx)
{
	struct wk_net *p;
	__u8 *ev = net_begin(ctx, WARD_EV_CONNECT, &p);
	if (!ev)
		return 0;
	net_from_sock(p, fd_sock(p->fd));
	struct pt_regs *r = WK_REGS(ctx);
	net_from_user(ev, p, (void *)WK_ARG2(r), WK_ARG3(r), true);
	wk_submit(ev);
	return 0;
}

/* bind(fd, addr, len) */
WK_SYS_EXIT
int wk_bind_exit(WK_CTX *ctx)
{
	struct wk_net *p;
	__u8 *ev = net_begin(ctx, WARD_EV_BIND, &p);
	if (!ev)
		return 0;
	net_from_sock(p, fd_sock(p->fd));
	struct pt_regs *r = WK_REGS(ctx);
	net_from_user(ev, p, (void *)WK_ARG2(r), WK_ARG3(r), false);
	wk_submit(ev);
	return 0;
}

/* listen(fd, backlog) */
WK_SYS_EXIT
int wk_listen_exit(WK_CTX *ctx)
{
	struct wk_net *p;
	__u8 *ev = net_begin(ctx, WARD_EV_LISTEN, &p);
	if (!ev)
		return 0;
	p->backlog = WK_ARG2(WK_REGS(ctx));
	net_from_sock(p, fd_sock(p->fd));
	wk_submit(ev);
	return 0;
}

/* accept(fd, addr, len) / accept4(fd, addr, len, flags): the new socket */
WK_SYS_EXIT
int wk_accept_exit(WK_CTX *ctx)
{
	struct wk_net *p;
	__u8 *ev = net_begin(ctx, WARD_EV_ACCEPT, &p);
	if (!ev)
		return 0;
	net_from_sock(p, fd_sock(p->result >= 0 ? (int)p->result : p->fd));
	wk_submit(ev);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
