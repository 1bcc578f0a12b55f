/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sandbox.h — start a client program in a sandbox: its own cgroup (see
 * cgroups.h), an unprivileged uid with no capabilities at all and locked
 * securebits, no_new_privs, a Landlock ruleset (the files it may read,
 * write and execute) and a seccomp allowlist of system calls.
 *
 * Everything is prepared in the parent (wardd is multi-threaded): between
 * fork and exec the child makes raw system calls only — no malloc, no
 * stdio, no locks.  The parent never waits for the child: wardd's event
 * loop must keep answering fanotify permission events, among them the one
 * the child's own execve raises.
 *
 * What the client gets (see sandbox.c for the exact tables):
 *   - files: Landlock, every filesystem right the kernel's ABI knows is
 *     handled; allowed are read+execute of the executable and of the
 *     read-only paths (default /usr /lib /lib64 /lib32 /etc/ld.so.cache
 *     /etc/localtime), read of content_dir, read-write-create-remove of
 *     state_dir (no execute), read-write of /dev/null.  Nothing else, not
 *     even /proc.  Connecting to a unix socket by path is not a filesystem
 *     right Landlock knows (up to ABI 7), so it stays possible wherever DAC
 *     allows it.  With ABI >= 6 the client can neither connect to abstract
 *     unix sockets nor signal processes outside its Landlock domain.
 *     TCP is not restricted by Landlock here.
 *   - system calls: an allowlist, EPERM for the rest (clone3: ENOSYS, so
 *     libc falls back to clone, whose namespace flags are refused).
 *   - stdin /dev/null, stdout and stderr as given, no other descriptor; a
 *     new session (no controlling terminal); RLIMIT_NOFILE as given,
 *     RLIMIT_CORE 0; every other resource limit and the umask inherited.
 */
#ifndef WARDD_SANDBOX_H
#define WARDD_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroups.h"

struct sandbox_spec {
	const char *executable;       /* absolute path */
	char *const *argv;            /* NULL-terminated, argv[0] set by caller */
	char *const *envp;            /* NULL-terminated */
	uid_t uid;                    /* never 0 */
	gid_t gid;                    /* never 0 */
	const gid_t *groups;          /* supplementary groups (may be 0 of them); */
	size_t ngroups;               /* none may be 0 */
	const char *content_dir;      /* read-only for the client (NULL: none) */
	const char *state_dir;        /* read-write for the client (NULL: none) */
	const char *const *ro_paths;  /* more read-only(+execute) paths, NULL-terminated;
				       * NULL = the default system list */
	uint32_t open_files;          /* RLIMIT_NOFILE soft and hard, > 0 */
	const struct ward_cgroup *cg; /* entered before exec (NULL: none) */
	int stdout_fd, stderr_fd;     /* become 1 and 2 (-1: /dev/null); stdin is always /dev/null.
				       * Not a terminal: ioctl is allowed, and a session leader
				       * can take a terminal nobody controls as its own */
};

struct sandbox_support {
	int landlock_abi;   /* 0 = none */
	bool seccomp;       /* seccomp filters with SECCOMP_RET_ERRNO */
};

/* What this kernel offers. */
void sandbox_probe(struct sandbox_support *s);

/*
 * Fork and exec the client described by @s in its sandbox.  Never waits for
 * the child.  On success returns 0 with *@pid, *@pidfd (O_CLOEXEC; poll it,
 * then waitid(P_PIDFD) to reap) and *@errfd, the read end (O_CLOEXEC,
 * O_NONBLOCK) of a pipe on which the child writes one line "step: strerror"
 * if a setup step fails before exec, and then _exit(127)s; EOF with nothing
 * read means the exec succeeded.  The caller owns and closes both fds.
 *
 * Child steps, in order, each checked: reset every signal's disposition and
 * unblock all; setsid; stdin /dev/null, stdout and stderr; close every other
 * fd; cg_enter(@s->cg, 0); RLIMIT_NOFILE, RLIMIT_CORE 0; drop every
 * capability from the bounding set, clear the ambient set, lock securebits
 * (NOROOT, NO_SETUID_FIXUP, NO_CAP_AMBIENT_RAISE on, KEEP_CAPS off, all
 * locked); setgroups, setresgid, setresuid; clear every capability;
 * no_new_privs; landlock_restrict_self; the seccomp filter; execve.
 *
 * Preparation failures in the parent return -errno with a message in @err
 * (may be NULL) and no child: -EINVAL (a bad spec: relative executable, uid
 * or gid 0, open_files 0, no argv or envp), -ENOENT and the like (a path of
 * the spec cannot be opened), -EOPNOTSUPP (no Landlock or no seccomp on
 * this kernel: a client never runs without its sandbox), -errno of
 * clone/pipe/memfd, or of libseccomp and libcap.  Thread-safe.
 */
int sandbox_spawn(const struct sandbox_spec *s, pid_t *pid, int *pidfd, int *errfd, char *err, size_t errlen);

#endif
