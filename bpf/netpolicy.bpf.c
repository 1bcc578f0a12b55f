// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * netpolicy.bpf.c — kernel-enforced network policy: cgroup connect and bind
 * hooks that fail a syscall when a client's deny rule matches it.
 *
 * wardd (daemon/netpolicy.c) attaches the four programs to one cgroup v2
 * directory; they run for every socket created in that cgroup or below it.
 * Returning 0 makes the kernel fail connect()/bind() with EPERM, 1 lets it
 * through.  Each denial is counted and reported in this module's own ring
 * buffer; a full ring loses the record (counted), never the denial.
 *
 * Self-contained on purpose: no common.bpf.h, so loading this object does
 * not create the sensors' maps, and the policy works whether or not any
 * sensor is loaded.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "netpolicy.h"

#define AF_INET 2
#define AF_INET6 10

_Static_assert(sizeof(struct wk_net_rule) == 48, "wk_net_rule layout");
_Static_assert(sizeof(struct wk_net_enforce) == 88, "wk_net_enforce layout");

/* The rules, written in place by wardd through an mmap of the array. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, WK_NP_MAX_RULES);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct wk_net_rule);
} wk_np_rules SEC(".maps");

/* Enforcement records (struct wk_net_enforce). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, WK_NP_RING_BYTES);
} wk_np_events SEC(".maps");

/* enum wk_np_counter, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WK_NP_CNT_N);
	__type(key, __u32);
	__type(value, __u64);
} wk_np_counts SEC(".maps");

/* Denials per rule slot, per CPU (wardd zeroes a slot's count when it puts
 * a new rule there). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, WK_NP_MAX_RULES);
	__type(key, __u32);
	__type(value, __u64);
} wk_np_hits SEC(".maps");

/* Slots [0, wk_np_nslots) may hold rules; wardd raises it after publishing
 * a rule in a new slot and lowers it after freeing the last ones, so an
 * empty policy costs one load. */
__u32 wk_np_nslots = 0;

#define NP_READ_ONCE(x) (*(volatile typeof(x) *)&(x))
#define NP_COMPILER_BARRIER() asm volatile("" ::: "memory")

/* The syscall being checked, and what matched it (bpf_loop's state). */
struct np_query {
	__u32 type;
	__u16 family;     /* of the address passed */
	__u16 port;       /* host order */
	__u8 protocol;
	__u8 sock_type;
	__u8 mapped;      /* family is AF_INET6 and addr is ::ffff:a.b.c.d */
	__u8 pad;
	__u32 v4;         /* the IPv4 address AF_INET rules see (network order) */
	__u32 addr[4];    /* as passed (network order) */
	__u32 matched;
	__u32 slot;
	struct wk_net_rule rule; /* the matching rule, as read */
};

static __always_inline void np_count(void *map, __u32 key)
{
	__u64 *v = bpf_map_lookup_elem(map, &key);
	/* atomic: two tasks on one CPU may interleave in a cgroup program
	 * (they run with migration, not preemption, disabled) */
	if (v)
		__sync_fetch_and_add(v, 1);
}

/* Do the first @plen bits of @a and @r agree?  Both are @nwords 32-bit words
 * in network order. */
static __always_inline bool np_prefix_match(const __u32 *a, const __u32 *r, __u32 plen, int nwords)
{
#pragma unroll
	for (int w = 0; w < 4; w++) {
		int bits = (int)plen - 32 * w;
		if (w >= nwords || bits <= 0)
			break;
		__u32 mask = bits >= 32 ? 0xffffffffu : bpf_htonl(~0u << (32 - bits));
		if ((a[w] ^ r[w]) & mask)
			return false;
	}
	return true;
}

static __always_inline bool np_rule_matches(const struct wk_net_rule *r, const struct np_query *q)
{
	__u32 ra[4];

	if (r->type != q->type)
		return false;
	if (r->protocol && r->protocol != q->protocol)
		return false;
	if (q->port < r->port_lo || q->port > r->port_hi)
		return false;
	__builtin_memcpy(ra, r->addr, sizeof(ra));
	if (r->family == AF_INET) {
		/* an IPv4-mapped address reaches IPv4 through an IPv6 socket:
		 * the IPv4 rules must hold for it too */
		if (q->family != AF_INET && !q->mapped)
			return false;
		if (!np_prefix_match(&q->v4, ra, r->prefix_len, 1))
			return false;
	} else if (r->family == AF_INET6) {
		if (q->family != AF_INET6 || !np_prefix_match(q->addr, ra, r->prefix_len, 4))
			return false;
	} else {
		return false;
	}
	/* Last: the only helper call.  The ancestor at the rule's level is the
	 * rule's cgroup exactly when the task is in it or below it (0 when the
	 * task sits higher up). */
	if (r->cgroup_id && bpf_get_current_ancestor_cgroup_id((int)r->cgroup_level) != r->cgroup_id)
		return false;
	return true;
}

/*
 * bpf_loop step: check slot @i.  wardd writes a slot's fields while its id
 * is 0 and stores the id last; it clears the id before touching a slot
 * again.  So: read the id, copy the rule, read the id again — the same
 * non-zero id twice (ids are never reused) means the copy is one whole rule.
 * A different id means the rule changed under us: skipped, as if the
 * syscall had come just before it was added or just after it was removed.
 * On x86 (the only target, see -D__TARGET_ARCH_x86) loads are not reordered
 * with other loads, nor stores with stores, so compiler barriers suffice.
 */
static long np_match_slot(__u64 i, void *arg)
{
	struct np_query *q = arg;
	__u32 key = (__u32)i;
	struct wk_net_rule *slot = bpf_map_lookup_elem(&wk_np_rules, &key);
	if (!slot)
		return 1;
	__u32 id = NP_READ_ONCE(slot->id);
	if (!id)
		return 0;
	NP_COMPILER_BARRIER();
	__builtin_memcpy(&q->rule, slot, sizeof(q->rule));
	NP_COMPILER_BARRIER();
	if (NP_READ_ONCE(slot->id) != id)
		return 0;
	if (!np_rule_matches(&q->rule, q))
		return 0;
	q->matched = 1;
	q->slot = key;
	return 1; /* first match wins: one record per denial */
}

static __always_inline void np_report(const struct np_query *q)
{
	struct wk_net_enforce *e = bpf_ringbuf_reserve(&wk_np_events, sizeof(*e), 0);
	if (!e) {
		np_count(&wk_np_counts, WK_NP_CNT_DROPS);
		return;
	}
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 uid_gid = bpf_get_current_uid_gid();
	e->ktime = bpf_ktime_get_boot_ns();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->rule_id = q->rule.id;
	e->client_id = q->rule.client_id;
	e->type = q->type;
	e->tgid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->uid = (__u32)uid_gid;
	e->gid = uid_gid >> 32;
	e->family = q->family;
	e->port = q->port;
	e->protocol = q->protocol;
	e->sock_type = q->sock_type;
	e->pad[0] = e->pad[1] = 0;
	e->pad2 = 0;
	__builtin_memcpy(e->addr, q->addr, sizeof(e->addr));
	if (bpf_get_current_comm(e->comm, sizeof(e->comm)))
		__builtin_memset(e->comm, 0, sizeof(e->comm));
	/* denials are rare and a client may be waiting: wake the reader now */
	bpf_ringbuf_submit(e, 0);
}

/* 1 = allow, 0 = deny (EPERM). */
static __always_inline int np_check(struct bpf_sock_addr *ctx, __u32 type, bool v6)
{
	__u32 n = NP_READ_ONCE(wk_np_nslots);
	if (n == 0)
		return 1;
	if (n > WK_NP_MAX_RULES)
		n = WK_NP_MAX_RULES;

	struct np_query q = {};
	q.type = type;
	q.port = bpf_ntohs((__u16)ctx->user_port);
	q.protocol = (__u8)ctx->protocol;
	q.sock_type = (__u8)ctx->type;
	if (v6) {
		q.family = AF_INET6;
		q.addr[0] = ctx->user_ip6[0];
		q.addr[1] = ctx->user_ip6[1];
		q.addr[2] = ctx->user_ip6[2];
		q.addr[3] = ctx->user_ip6[3];
		if (q.addr[0] == 0 && q.addr[1] == 0 && q.addr[2] == bpf_htonl(0x0000ffff)) {
			q.mapped = 1;
			q.v4 = q.addr[3];
		}
	} else {
		q.family = AF_INET;
		q.addr[0] = ctx->user_ip4;
		q.v4 = q.addr[0];
	}

	bpf_loop(n, np_match_slot, &q, 0);
	if (!q.matched)
		return 1;
	np_count(&wk_np_counts, WK_NP_CNT_DENIED);
	np_count(&wk_np_hits, q.slot);
	np_report(&q);
	return 0;
}

SEC("cgroup/connect4")
int wk_np_connect4(struct bpf_sock_addr *ctx)
{
	return np_check(ctx, WK_NP_CONNECT, false);
}

SEC("cgroup/connect6")
int wk_np_connect6(struct bpf_sock_addr *ctx)
{
	return np_check(ctx, WK_NP_CONNECT, true);
}

SEC("cgroup/bind4")
int wk_np_bind4(struct bpf_sock_addr *ctx)
{
	return np_check(ctx, WK_NP_BIND, false);
}

SEC("cgroup/bind6")
int wk_np_bind6(struct bpf_sock_addr *ctx)
{
	return np_check(ctx, WK_NP_BIND, true);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
