/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * netpolicy.h — what bpf/netpolicy.bpf.c and wardd (daemon/netpolicy.c)
 * share: the deny rules the cgroup connect/bind programs match, and the
 * enforcement records they write.  Plain C types only, as in events.h: this
 * header is compiled both by clang for BPF (after vmlinux.h) and by the host
 * compiler, and both sides assert the same sizes.
 *
 * Rules live in an mmap-able BPF array (wk_np_rules) that wardd writes in
 * place; see daemon/netpolicy.c for the publication protocol (fields first,
 * the id last) and netpolicy.bpf.c for the matching read.
 */
#ifndef WARD_BPF_NETPOLICY_H
#define WARD_BPF_NETPOLICY_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define WK_NP_MAX_RULES 256
#define WK_NP_RING_BYTES (256 << 10)

/* Rule and record types: the event type numbers clients see
 * (WARD_EV_AUTH_CONNECT, WARD_EV_AUTH_BIND in ward/event_types.h; wardd
 * asserts they agree). */
#define WK_NP_CONNECT 28
#define WK_NP_BIND 29

/* Keys of the per-CPU counter map wk_np_counts. */
enum wk_np_counter {
	WK_NP_CNT_DENIED = 0, /* syscalls failed by a rule */
	WK_NP_CNT_DROPS = 1,  /* enforcement records the ring buffer had no room for */
	WK_NP_CNT_N
};

/*
 * One deny rule; a slot of wk_np_rules.  A syscall matches when every field
 * matches: type, address family (an IPv4-mapped IPv6 address also matches
 * AF_INET rules), protocol (0 = any), the first prefix_len bits of addr,
 * the port range and, when cgroup_id is not 0, the calling task's cgroup v2
 * ancestor at cgroup_level.  48 bytes, no implicit padding.
 */
struct wk_net_rule {
	__u32 id;           /* 0 = empty slot; written last (see above) */
	__u32 client_id;    /* owner */
	__u32 type;         /* WK_NP_CONNECT or WK_NP_BIND */
	__u16 family;       /* AF_INET (2) or AF_INET6 (10) */
	__u8 prefix_len;    /* <= 32 or <= 128 */
	__u8 protocol;      /* 0 = any, IPPROTO_TCP (6), IPPROTO_UDP (17) */
	__u8 addr[16];      /* network order; IPv4 in the first 4 bytes */
	__u16 port_lo;      /* host order, inclusive; 0..65535 = any */
	__u16 port_hi;
	__u32 cgroup_level; /* depth of cgroup_id below the v2 root (root = 0) */
	__u64 cgroup_id;    /* 0 = every task; else tasks in this cgroup or below */
};

/*
 * What the kernel denied: one record per failed syscall in the module's
 * ring buffer (wk_np_events).  family, addr and port are the address the
 * caller passed (an IPv4-mapped IPv6 address stays AF_INET6).  Fields are
 * ordered so that there is no implicit padding: 88 bytes.
 */
struct wk_net_enforce {
	__u64 ktime;        /* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;    /* the task's cgroup v2 */
	__u32 rule_id;
	__u32 client_id;
	__u32 type;         /* WK_NP_CONNECT or WK_NP_BIND */
	__u32 tgid;
	__u32 tid;
	__u32 uid;
	__u32 gid;
	__u16 family;
	__u16 port;         /* host order */
	__u8 protocol;      /* the socket's: IPPROTO_TCP, IPPROTO_UDP, ... */
	__u8 sock_type;     /* SOCK_STREAM, SOCK_DGRAM, ... */
	__u8 pad[2];
	__u8 addr[16];      /* network order; IPv4 in the first 4 bytes */
	char comm[16];
	__u32 pad2;
};

#endif /* WARD_BPF_NETPOLICY_H */
