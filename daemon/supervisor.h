/* SPDX-License-Identifier: Apache-2.0 */
/*
 * supervisor.h — wardd's supervisor: reads the client manifests, runs each
 * enabled client in its sandbox (daemon/sandbox.h) and its own cgroup
 * (daemon/cgroups.h), restarts it with exponential back-off, quarantines a
 * crash loop, and identifies every process that connects to wardd
 * (the broker's identify callback).  docs/supervisor.md describes the
 * states and the rules.
 *
 * Runs on wardd's main thread and never blocks on a client: spawning
 * returns at once (the child's execve raises a permission event only this
 * thread answers), exits arrive through pidfds, and executables are hashed
 * by the hash worker.
 */
#ifndef WARDD_SUPERVISOR_H
#define WARDD_SUPERVISOR_H

#include <stdint.h>
#include <sys/types.h>

struct json_object;
struct broker_entitlements;
struct broker_conn_stats;

#define SUPERVISOR_DEFAULT_CGROUP "ward.clients"

struct supervisor_cfg {
	const char *clients_dir;  /* manifests (default MANIFEST_DEFAULT_DIR) */
	const char *cgroup_base;  /* cgroup directory of all clients, under each root */
	const char *runtime_dir;  /* where clients find wardd's socket */
	int root_full;            /* unregistered root processes get every entitlement */
};

/* Load the manifests (a bad one is logged and skipped), detect cgroups and
 * the sandbox, and start every enabled client.  Registers descriptors with
 * @epfd.  Returns 0, or -errno when nothing could be set up at all. */
int supervisor_init(int epfd, const struct supervisor_cfg *cfg);
/* An epoll event on a descriptor the supervisor registered. */
void supervisor_on_event(void *tag, uint32_t events);
/* Whether @tag is one of the supervisor's. */
int supervisor_owns(const void *tag);
/* Each loop turn: restarts that are due. */
void supervisor_tick(void);
/* A hash worker result: 1 if it was the supervisor's. */
int supervisor_on_hash(uint64_t cookie, int err, const uint8_t *digest);
/* The broker's callbacks (broker.h). */
int supervisor_identify(uint32_t client_id, pid_t pid, uid_t uid, int pidfd, struct broker_entitlements *out);
void supervisor_conn_gone(const char *manifest, uint32_t client_id, pid_t pid, const char *why, int misbehaved,
			  const struct broker_conn_stats *st);
/* Whether @pid runs in a supervised client's cgroup. */
int supervisor_is_client_pid(pid_t pid);
/* Hand the manifests directory and every client's executable and content
 * directory to self-protection (protect_add). */
void supervisor_protect_paths(void);
/* "supervisor" for `ward status` and `ward clients`. */
void supervisor_status(struct json_object *o);
/* The content manager's instances (daemon/content.h): a shadow or a
 * validator of client @name (its own cgroup <name>@shadow or @validate,
 * the same sandbox and limits; a validator is killed after @timeout_ms).
 * 0 or -errno with a message in @err. */
enum content_role;
struct cg_stats;
int supervisor_start_instance(const char *name, enum content_role role, uint32_t timeout_ms, char *err,
			      size_t errlen);
/* Stop it; no news comes of its exit. */
void supervisor_stop_instance(const char *name, enum content_role role);
/* Restart the active instance on other content (SIGTERM, SIGKILL after a
 * grace period; not counted as a crash). */
void supervisor_replace_active(const char *name, const char *why);
/* CPU and memory of an instance's cgroup.  0 or -errno. */
int supervisor_instance_stats(const char *name, enum content_role role, struct cg_stats *st);
/* Stop every client (SIGTERM, then SIGKILL to the cgroup after a grace
 * period) and remove their cgroups. */
void supervisor_stop(void);

#endif
