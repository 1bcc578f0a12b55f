/* SPDX-License-Identifier: Apache-2.0 */
/*
 * proctable.h — wardd's table of live processes, by tgid.  Seeded from /proc
 * at start so processes older than wardd are known; kept current by the
 * fork, exec, exit and cwd events; a process the table missed is read from
 * /proc the first time it acts.  Supplies the exe, argv, cwd and container
 * id that a kernel event does not carry.
 */
#ifndef WARDD_PROCTABLE_H
#define WARDD_PROCTABLE_H

#include <stddef.h>
#include <stdint.h>

struct proc {
	struct proc *next;    /* hash chain */
	uint32_t pid;
	uint32_t ppid;
	uint64_t start_time;  /* boot-based ns, as the kernel's task->start_time */
	uint64_t cgroup_id;
	char *exe;            /* NULL if unknown */
	char *argv;           /* NUL-separated, argv_len bytes; NULL if unknown */
	size_t argv_len;
	char *cwd;
	char container_id[72];
	char comm[16];        /* as the last event saw it, NUL-terminated */
	int from_proc;        /* filled from /proc rather than from events */
};

/* Create an empty table.  Returns 0 or -ENOMEM. */
int proctable_init(void);
void proctable_free(void);
/* Add every process in /proc.  Returns the number added. */
int proctable_seed(void);
/* Entry for @pid or NULL. */
struct proc *proc_find(uint32_t pid);
/* Entry for @pid, created from /proc (if the process lives) or empty. */
struct proc *proc_get(uint32_t pid);
/* What /proc/<pid>/status says of a process's identity now. */
struct proc_status {
	uint32_t ppid, uid, euid, gid, egid;
	char comm[16];
};
/* Read it: 0, -ESRCH when the process is gone, -EPROTO if unreadable. */
int proc_read_status(uint32_t pid, struct proc_status *st);
/* The same ids (comm left empty) and the cgroup v2 id, the cheap way where
 * the kernel has it (PIDFD_GET_INFO), else from /proc/<pid>/status. */
int proc_read_ids(uint32_t pid, struct proc_status *st, uint64_t *cgroup_id);
/* An entry no sensor keeps current (read from /proc): check its exe, and
 * re-read it if it changed; refresh its cwd and comm. */
void proc_refresh(struct proc *p);
/* Entry for a new child: a copy of @parent (may be NULL) under @pid. */
struct proc *proc_fork(uint32_t pid, const struct proc *parent, uint64_t start_time);
void proc_remove(uint32_t pid);
/* Whether @p is the process that started at @start_time (boot-based ns);
 * entries read from /proc know it only to a clock tick. */
int proc_same_start(const struct proc *p, uint64_t start_time);
/* Drop entries whose process is gone (exits the sensors did not report:
 * filtered out by scope or mute, or lost).  Returns how many went. */
size_t proctable_sweep(void);
size_t proctable_count(void);

/* Replace a string member (copies @s; NULL clears). */
void proc_set_str(char **field, const char *s);
void proc_set_argv(struct proc *p, const char *argv, size_t len);
/* Where the cgroup v2 hierarchy is mounted ("" if nowhere); set at init. */
extern char proc_cgroup2_root[64];
/* Container id named by /proc/@pid/cgroup, looked up once per cgroup id. */
const char *proc_container_id(struct proc *p, uint64_t cgroup_id);

/* Container id in a cgroup path ("docker-<64 hex>.scope", "/docker/<id>",
 * "cri-containerd-<id>", "crio-<id>", "libpod-<id>"); writes it to @out
 * (at least 65 bytes) and returns 1, or returns 0. */
int container_id_from_cgroup_path(const char *path, char *out, size_t outlen);

#endif
