/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auth.h — AUTH_EXEC and AUTH_OPEN: fanotify permission events, fanned out
 * to the clients that answer them, combined (DENY if any client denies),
 * answered to the kernel by the deadline whatever the clients do, and
 * cached in the kernel (ignore marks) and here.  docs/auth.md explains the
 * rules; this is wardd's side.
 *
 * Runs on wardd's main thread, which never opens a file it could be asked
 * about (the hash worker does that); requests from wardd's own process
 * (other threads) are allowed at once, so wardd cannot wait on itself.
 */
#ifndef WARDD_AUTH_H
#define WARDD_AUTH_H

#include <stdint.h>

struct json_object;

#define AUTH_MAX_MARKS 16

struct auth_config {
	/* where requests come from: whole filesystems, mounts, or directories
	 * (a directory mark covers the files directly in it); when all are
	 * empty, the root filesystem */
	const char *fs[AUTH_MAX_MARKS];
	int n_fs;
	const char *mounts[AUTH_MAX_MARKS];
	int n_mounts;
	const char *dirs[AUTH_MAX_MARKS];
	int n_dirs;
	uint32_t max_pending;      /* requests in flight; beyond, overflow_verdict */
	uint32_t overflow_verdict; /* enum ward_verdict */
	uint32_t deny_cache_ms;    /* how long a cacheable DENY is remembered */
	uint32_t kernel_cache_max; /* ignore marks before the kernel cache is flushed */
};

/* Create the fanotify group (nothing is marked yet) and register it with
 * @epfd under @tag.  Returns 0 or -errno (-EPERM, -ENOSYS: no fanotify). */
int auth_init(int epfd, void *tag, const struct auth_config *cfg);
/* Mark ward's own files (protect.h) on the group; returns how many objects
 * are marked, or -EOPNOTSUPP without fanotify. */
int auth_protect(void);
/* Whether auth_init() succeeded. */
int auth_available(void);
/* A hash worker result for request @cookie (its auth_id). */
void auth_on_hash(uint64_t cookie, int err, const uint8_t *digest);
/* The fanotify descriptor polled readable. */
void auth_on_event(void);
/* Every loop turn: apply missed deadlines. */
void auth_tick(void);
/* The union of AUTH subscriptions changed: mark exactly that. */
void auth_set_mask(uint64_t mask);
/* A client's verdict on request @auth_id. */
void auth_vote(uint32_t client_id, uint64_t auth_id, uint32_t verdict, uint32_t flags);
/* Client @client_id no longer answers the types in @mask (it left, or
 * unsubscribed): its pending votes take its defaults now. */
void auth_client_gone(uint32_t client_id, uint64_t mask);
/* Forget every cached verdict, here and in the kernel. */
void auth_clear_cache(void);
void auth_status(struct json_object *obj);
/* Answer everything pending with ALLOW, remove the marks, close. */
void auth_stop(void);

#endif
