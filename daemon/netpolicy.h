/* SPDX-License-Identifier: Apache-2.0 */
/*
 * netpolicy.h — kernel-enforced network policy (bpf/netpolicy.bpf.c): deny
 * rules for connect() and bind() that cgroup-bpf programs apply in the
 * kernel, and the records of what they denied.
 *
 * The programs are attached (BPF links, multi-attach) to one cgroup v2
 * directory and see every socket created in it or below it; a rule can be
 * narrowed further to one cgroup (and its descendants) by id.  A denied
 * syscall fails with EPERM.  Links are not pinned: enforcement ends when
 * wardd exits or calls netpolicy_stop().  Not thread-safe (wardd's main
 * loop is the only caller).
 *
 * Not covered: unconnected UDP sendto()/sendmsg() (the cgroup sendmsg hooks)
 * and sockets created before they entered the attached cgroup (a socket
 * stays in the cgroup it was created in).
 */
#ifndef WARDD_NETPOLICY_H
#define WARDD_NETPOLICY_H

#include <stdint.h>

#include "../bpf/netpolicy.h" /* struct wk_net_enforce, WK_NP_* */

struct json_object;

/* A deny rule as a client states it.  Every field must match. */
struct netpolicy_rule {
	uint32_t type;       /* WARD_EV_AUTH_CONNECT (28) or WARD_EV_AUTH_BIND (29) */
	uint16_t family;     /* AF_INET or AF_INET6 */
	uint8_t prefix_len;  /* leading bits of addr that must match: <= 32 / <= 128 */
	uint8_t protocol;    /* 0 = any, IPPROTO_TCP or IPPROTO_UDP */
	uint8_t addr[16];    /* network order; AF_INET: the first 4 bytes, the rest 0.
			      * Bits past prefix_len are ignored (stored as 0). */
	uint16_t port_lo;    /* host order, inclusive; 0..65535 = any port */
	uint16_t port_hi;
	uint64_t cgroup_id;  /* 0 = every task under the attached cgroup; else only
			      * tasks in this cgroup v2 (by id = inode number) or below */
};

/* Load the programs and attach them to cgroup v2 directory @cgroup_dir
 * (e.g. /sys/fs/cgroup/unified for the whole system on a hybrid layout).
 * Returns 0, -EALREADY when running, or a negative errno (logged); on
 * failure nothing stays loaded or attached. */
int netpolicy_start(const char *cgroup_dir);
/* Detach and unload everything, drop every rule.  Safe to call twice or
 * without a start. */
void netpolicy_stop(void);

/* Add deny rule @r owned by @client_id; its id (never 0, never reused while
 * wardd runs, not even across stop and start) goes to *@rule_id.  Returns
 * 0, -EINVAL for a malformed rule, -ENOENT when r->cgroup_id names no
 * cgroup v2 directory (found by a walk of the cgroup2 mount, at most 10000
 * directories), -EOPNOTSUPP for a scoped rule when the cgroup2 mount is not
 * the whole hierarchy (a cgroup namespace), -ENOSPC when WK_NP_MAX_RULES
 * rules exist, -ENODEV when not started (-EOVERFLOW once 2^32 - 1 ids were
 * used).  On error no rule changed. */
int netpolicy_add(const struct netpolicy_rule *r, uint32_t client_id, uint32_t *rule_id);
/* Remove rule @rule_id.  Returns 0, -ENOENT (no such rule), -EPERM (owned by
 * another client) or -ENODEV. */
int netpolicy_remove(uint32_t rule_id, uint32_t client_id);
/* Remove every rule of @client_id (a client disconnected). */
void netpolicy_remove_client(uint32_t client_id);
/* Rules in force now. */
unsigned netpolicy_rule_count(void);

/* Called once per enforcement record; a negative return stops
 * netpolicy_poll, which returns it (libbpf ignores positive ones). */
typedef int (*netpolicy_enforce_fn)(void *ctx, const struct wk_net_enforce *e);
/* Consume every waiting enforcement record without blocking.  Returns the
 * number consumed, a callback's negative return, or a negative errno. */
int netpolicy_poll(netpolicy_enforce_fn cb, void *ctx);
/* fd to add to epoll: readable when enforcement records wait; -1 when not
 * started. */
int netpolicy_epoll_fd(void);

/* Adds to @o: "attached" (bool), "cgroup" (the directory), "rules",
 * "max_rules", "enforcements" (syscalls denied since start), "drops"
 * (records lost to a full ring) and "rule_hits" ([{id, client, hits}]). */
void netpolicy_status(struct json_object *o);

#endif
