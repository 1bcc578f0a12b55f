/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sandbox.c — see sandbox.h.
 *
 * The parent prepares, per spawn, a Landlock ruleset (an fd) and an empty
 * libcap capability set; the seccomp filter is the same for every client,
 * so it is compiled once (libseccomp, exported as classic BPF through a
 * memfd) and kept.  The child is made with clone3(CLONE_PIDFD) — or fork()
 * and pidfd_open() where clone3 is refused — with every signal blocked, so
 * no handler of wardd's runs in it.  From then on it calls only thin
 * syscall wrappers, on memory prepared before the clone.  Ids are changed
 * with raw syscall(): glibc's setresuid() and friends broadcast to every
 * thread glibc knows of, and after a raw clone those are the parent's.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <seccomp.h>
#include <sys/capability.h>

#include "log.h"
#include "sandbox.h"

/* ---- Landlock: the UAPI as of ABI 7, whatever the installed headers ---- */

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)        /* ABI 2 */
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)     /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)    /* ABI 5 */
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#endif
#ifndef LANDLOCK_SCOPE_SIGNAL
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)            /* ABI 6 */
#endif

/* struct landlock_ruleset_attr with every member up to ABI 6 (the kernel
 * takes the size we pass, so older kernels get the prefix they know). */
struct sbx_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;  /* ABI 4 */
	uint64_t scoped;              /* ABI 6 */
};

#define FS_ABI1 ((1ULL << 13) - 1) /* EXECUTE .. MAKE_SYM */
#define FS_R (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define FS_RX (FS_R | LANDLOCK_ACCESS_FS_EXECUTE)
/* state_dir: everything but execute (written files never run) and device
 * nodes (CAP_MKNOD is gone anyway) */
#define FS_STATE                                                                                             \
	(FS_R | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_REMOVE_DIR | \
	 LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |         \
	 LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_SYM |          \
	 LANDLOCK_ACCESS_FS_REFER)
/* /dev/null; TRUNCATE because "> /dev/null" opens with O_TRUNC */
#define FS_DEVNULL (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE)
/* the only rights a rule on a file that is not a directory may carry */
#define FS_FILE_ONLY                                                                             \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE | \
	 LANDLOCK_ACCESS_FS_TRUNCATE | LANDLOCK_ACCESS_FS_IOCTL_DEV)

static const char *const default_ro_paths[] = {
	"/usr", "/lib", "/lib64", "/lib32", "/etc/ld.so.cache", "/etc/localtime", NULL,
};

static int landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	return v < 0 ? 0 : (int)v;
}

/* Every filesystem right Landlock ABI @abi knows (and this file does). */
static uint64_t fs_rights(int abi)
{
	uint64_t r = FS_ABI1;
	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

#define ERR(...) (err ? (void)snprintf(err, errlen, __VA_ARGS__) : (void)0)

/* Allow @access (cut to what @handled has and what @path's type takes) on
 * @path in ruleset @rfd.  A missing path is skipped when @optional.  0 or
 * -errno with a message. */
static int add_path(int rfd, uint64_t handled, const char *path, uint64_t access, bool optional, char *err,
		    size_t errlen)
{
	struct stat st;
	int fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0) {
		if (optional && errno == ENOENT)
			return 0;
		int e = -errno;
		ERR("landlock: %s: %s", path, strerror(errno));
		return e;
	}
	if (fstat(fd, &st)) {
		int e = -errno;
		ERR("landlock: stat %s: %s", path, strerror(errno));
		close(fd);
		return e;
	}
	struct landlock_path_beneath_attr pb = {
		.allowed_access = access & handled & (S_ISDIR(st.st_mode) ? ~0ULL : FS_FILE_ONLY),
		.parent_fd = fd,
	};
	int e = 0;
	if (pb.allowed_access && syscall(SYS_landlock_add_rule, rfd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0)) {
		e = -errno;
		ERR("landlock: rule for %s: %s", path, strerror(errno));
	}
	close(fd);
	return e;
}

/* The ruleset of @s, as an O_CLOEXEC fd.  Returns the fd or -errno with a
 * message. */
static int make_ruleset(const struct sandbox_spec *s, int abi, char *err, size_t errlen)
{
	struct sbx_ruleset_attr attr = {.handled_access_fs = fs_rights(abi)};
	size_t size = offsetof(struct sbx_ruleset_attr, handled_access_net);
	if (abi >= 4)
		size = offsetof(struct sbx_ruleset_attr, scoped);
	if (abi >= 6) {
		attr.scoped = LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	int rfd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (rfd < 0) {
		int e = -errno;
		ERR("landlock_create_ruleset (ABI %d): %s", abi, strerror(errno));
		return e;
	}
	uint64_t h = attr.handled_access_fs;
	int e = add_path(rfd, h, s->executable, LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_EXECUTE, false,
			 err, errlen);
	const char *const *ro = s->ro_paths ? s->ro_paths : default_ro_paths;
	for (size_t i = 0; !e && ro[i]; i++)
		e = add_path(rfd, h, ro[i], FS_RX, !s->ro_paths, err, errlen);
	if (!e && s->content_dir)
		e = add_path(rfd, h, s->content_dir, FS_R, false, err, errlen);
	if (!e && s->state_dir)
		e = add_path(rfd, h, s->state_dir, FS_STATE, false, err, errlen);
	if (!e)
		e = add_path(rfd, h, "/dev/null", FS_DEVNULL, false, err, errlen);
	if (e) {
		close(rfd);
		return e;
	}
	return rfd;
}

/* ---- seccomp ---- */

/*
 * The system calls a client may make: what an ordinary libc program needs.
 * Everything else fails with EPERM.  Names libseccomp does not know (a
 * syscall newer than the installed library) are skipped.  Handled apart,
 * below: clone (no CLONE_NEW* flag), clone3 (ENOSYS: libc falls back to
 * clone, whose flags a filter can see; clone3's are behind a pointer),
 * personality (queries and PER_LINUX only).
 *
 * Left out on purpose (EPERM):
 *   - ptrace, process_vm_readv/writev, pidfd_getfd, kcmp: reach into other
 *     processes' memory or descriptors;
 *   - bpf, perf_event_open, userfaultfd, io_uring_*: large kernel attack
 *     surface (and io_uring's operations bypass this filter);
 *   - mount, umount2, pivot_root, chroot, move_mount, open_tree, fsopen,
 *     fsconfig, fsmount, fspick, mount_setattr, setns, unshare: change the
 *     filesystem view or namespaces, escape Landlock's assumptions;
 *   - kexec_load, kexec_file_load, init_module, finit_module,
 *     delete_module, reboot, swapon, swapoff, iopl, ioperm, modify_ldt,
 *     uselib, vhangup, acct, quotactl, quotactl_fd, syslog, sethostname,
 *     setdomainname, settimeofday, clock_settime, adjtimex, clock_adjtime:
 *     administer the machine;
 *   - keyctl, add_key, request_key: the kernel keyrings are shared;
 *   - fanotify_init, open_by_handle_at, name_to_handle_at: watch or open
 *     files around Landlock's path checks;
 *   - setuid, setgid, setreuid, setregid, setresuid, setresgid, setfsuid,
 *     setfsgid, setgroups, capset: the client's ids and capabilities are
 *     final;
 *   - setxattr and removexattr families: no ordinary program needs them,
 *     and Landlock does not cover them;
 *   - SysV IPC (shm*, sem*, msg*) and POSIX message queues: their objects
 *     are shared with the whole machine's IPC namespace;
 *   - mbind, set_mempolicy, migrate_pages, move_pages: NUMA placement,
 *     move_pages of other processes;
 *   - sync: flushes the whole machine (syncfs and fsync are allowed).
 */
static const char *const sc_allow[] = {
	/* process lifetime and identity (reading only) */
	"execve", "execveat", "exit", "exit_group", "wait4", "waitid", "fork", "vfork",
	"set_tid_address", "set_robust_list", "get_robust_list", "rseq", "arch_prctl", "prctl",
	"getpid", "getppid", "gettid", "getpgrp", "getpgid", "setpgid", "getsid", "setsid",
	"getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups", "capget",
	"uname", "sysinfo", "getrlimit", "setrlimit", "prlimit64", "getrusage", "times",
	"getpriority", "setpriority", "umask", "restart_syscall", "getcpu",
	"sched_yield", "sched_getaffinity", "sched_setaffinity", "sched_getparam",
	"sched_getscheduler", "sched_getattr", "sched_get_priority_max", "sched_get_priority_min",
	"sched_rr_get_interval",
	/* restricting itself further */
	"seccomp", "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
	/* memory */
	"brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "msync", "mincore", "mlock",
	"mlock2", "munlock", "mlockall", "munlockall", "membarrier", "memfd_create",
	"pkey_alloc", "pkey_free", "pkey_mprotect", "get_mempolicy", "map_shadow_stack",
	/* threads */
	"futex", "futex_waitv",
	/* signals (with Landlock ABI >= 6, only within the client's domain) */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigpending", "rt_sigtimedwait",
	"rt_sigsuspend", "rt_sigqueueinfo", "rt_tgsigqueueinfo", "sigaltstack", "kill", "tgkill",
	"tkill", "pause", "signalfd", "signalfd4", "pidfd_open", "pidfd_send_signal",
	/* time */
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
	"alarm", "getitimer", "setitimer", "timer_create", "timer_settime", "timer_gettime",
	"timer_getoverrun", "timer_delete", "timerfd_create", "timerfd_settime", "timerfd_gettime",
	/* I/O on descriptors */
	"read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2",
	"pwritev2", "lseek", "close", "close_range", "dup", "dup2", "dup3", "fcntl", "ioctl",
	"flock", "fsync", "fdatasync", "syncfs", "sync_file_range", "ftruncate", "fallocate",
	"fadvise64", "readahead", "sendfile", "splice", "tee", "vmsplice", "copy_file_range",
	"fstat", "fstatfs", "getdents", "getdents64",
	/* paths (Landlock decides which) */
	"open", "openat", "openat2", "creat", "stat", "lstat", "newfstatat", "statx", "statfs",
	"access", "faccessat", "faccessat2", "readlink", "readlinkat", "getcwd", "chdir", "fchdir",
	"mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2",
	"link", "linkat", "symlink", "symlinkat", "mknod", "mknodat", "chmod", "fchmod",
	"fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat", "truncate", "utime",
	"utimes", "utimensat", "futimesat", "getxattr", "lgetxattr", "fgetxattr", "listxattr",
	"llistxattr", "flistxattr", "inotify_init", "inotify_init1", "inotify_add_watch",
	"inotify_rm_watch",
	/* waiting */
	"poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl",
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2",
	/* pipes and sockets (a client talks to wardd's unix socket) */
	"pipe", "pipe2", "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
	"getsockname", "getpeername", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg",
	"recvmmsg", "shutdown", "setsockopt", "getsockopt",
	/* randomness */
	"getrandom",
};

#define CLONE_NEW_ANY                                                                              \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
	 CLONE_NEWNET)

/* Compiled once, kept for every spawn (never freed). */
static struct {
	pthread_once_t once;
	int err;                 /* 0 or -errno of the compilation */
	char msg[128];
	struct sock_fprog prog;
} filter = {.once = PTHREAD_ONCE_INIT};

/* Compile the filter with libseccomp into filter.prog.  0 or -errno. */
static int compile_filter(char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int e = 0, mfd = -1;
	if (!ctx) {
		ERR("seccomp_init failed");
		return -ENOMEM;
	}
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2); /* binary tree: best effort */
	for (size_t i = 0; i < sizeof(sc_allow) / sizeof(sc_allow[0]); i++) {
		int nr = seccomp_syscall_resolve_name(sc_allow[i]);
		if (nr == __NR_SCMP_ERROR || nr < 0) {
			log_debug("sandbox: syscall %s unknown to libseccomp or not on this arch", sc_allow[i]);
			continue;
		}
		if ((e = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0))) {
			ERR("seccomp: rule for %s: %s", sc_allow[i], strerror(-e));
			goto out;
		}
	}
	if ((e = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
				  SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEW_ANY, 0))) ||
	    (e = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) ||
	    (e = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
				  SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, 0xffffffffu))) ||
	    (e = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(personality), 1,
				  SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, 0 /* PER_LINUX */)))) {
		ERR("seccomp: conditional rules: %s", strerror(-e));
		goto out;
	}
	mfd = memfd_create("ward-seccomp", MFD_CLOEXEC);
	if (mfd < 0) {
		e = -errno;
		ERR("seccomp: memfd_create: %s", strerror(errno));
		goto out;
	}
	if ((e = seccomp_export_bpf(ctx, mfd))) {
		ERR("seccomp_export_bpf: %s", strerror(-e));
		goto out;
	}
	struct stat st;
	if (fstat(mfd, &st)) {
		e = -errno;
		ERR("seccomp: fstat: %s", strerror(errno));
		goto out;
	}
	size_t n = (size_t)st.st_size;
	if (n == 0 || n % sizeof(struct sock_filter) || n / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		e = -E2BIG;
		ERR("seccomp: exported filter of %zu bytes", n);
		goto out;
	}
	struct sock_filter *insns = malloc(n);
	if (!insns) {
		e = -ENOMEM;
		ERR("seccomp: out of memory");
		goto out;
	}
	for (size_t off = 0; off < n;) {
		ssize_t r = pread(mfd, (char *)insns + off, n - off, (off_t)off);
		if (r <= 0) {
			e = r < 0 ? -errno : -EIO;
			ERR("seccomp: reading the filter back: %s", strerror(-e));
			free(insns);
			goto out;
		}
		off += (size_t)r;
	}
	filter.prog.len = (unsigned short)(n / sizeof(struct sock_filter));
	filter.prog.filter = insns;
out:
	if (mfd >= 0)
		close(mfd);
	seccomp_release(ctx);
	return e;
}

static void compile_once(void)
{
	filter.err = compile_filter(filter.msg, sizeof(filter.msg));
}

/* ---- the child ---- */

/* What the child needs, all of it made before the clone. */
struct prep {
	const struct sandbox_spec *s;
	int errw;               /* write end of the error pipe */
	int ruleset;            /* Landlock ruleset fd */
	cap_t nocaps;           /* empty capability set */
	unsigned max_fd;        /* close_range fallback: highest fd to close */
};

/* Fixed fds in the child once its stdio is set. */
#define CHILD_ERR_FD 3
#define CHILD_RULESET_FD 4

/* Write "step: strerror\n" to @fd and _exit(127).  Async-signal-safe. */
static void __attribute__((noreturn)) child_fail(int fd, const char *step, int err)
{
	char line[256];
	size_t n = 0;
	const char *msg = strerrordesc_np(err);
	char num[16];
	if (!msg) {
		/* "errno N" */
		int v = err, k = 0;
		char tmp[12];
		do {
			tmp[k++] = (char)('0' + v % 10);
			v /= 10;
		} while (v > 0 && k < 11);
		memcpy(num, "errno ", 6);
		for (int i = 0; i < k; i++)
			num[6 + i] = tmp[k - 1 - i];
		num[6 + k] = '\0';
		msg = num;
	}
	for (const char *p = step; *p && n < sizeof(line) - 3; p++)
		line[n++] = *p;
	line[n++] = ':';
	line[n++] = ' ';
	for (const char *p = msg; *p && n < sizeof(line) - 1; p++)
		line[n++] = *p;
	line[n++] = '\n';
	if (write(fd, line, n) < 0) {
		/* nothing left to tell it with */
	}
	_exit(127);
}

/* Runs in the child; never returns.  Raw syscalls and thin wrappers only. */
static void __attribute__((noreturn)) child(const struct prep *p)
{
	const struct sandbox_spec *s = p->s;
	int efd = p->errw;
	int e;

	/* signals: default dispositions (glibc's own two refuse: EINVAL), none blocked */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (int sig = 1; sig < _NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, &dfl, NULL) && errno != EINVAL)
			child_fail(efd, "signals", errno);
	sigset_t none;
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL))
		child_fail(efd, "signals", errno);

	if (setsid() < 0)
		child_fail(efd, "setsid", errno);

	/* stdio: copy every source above 9 first, so no dup2 clobbers another */
	int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nul < 0)
		child_fail(efd, "open /dev/null", errno);
	int hw = fcntl(efd, F_DUPFD_CLOEXEC, 10);
	int hr = fcntl(p->ruleset, F_DUPFD_CLOEXEC, 10);
	int ho = fcntl(s->stdout_fd >= 0 ? s->stdout_fd : nul, F_DUPFD_CLOEXEC, 10);
	int he = fcntl(s->stderr_fd >= 0 ? s->stderr_fd : nul, F_DUPFD_CLOEXEC, 10);
	int hn = fcntl(nul, F_DUPFD_CLOEXEC, 10);
	if (hw < 0 || hr < 0 || ho < 0 || he < 0 || hn < 0)
		child_fail(efd, "stdio", errno);
	if (dup3(hw, CHILD_ERR_FD, O_CLOEXEC) < 0)
		child_fail(efd, "stdio", errno);
	efd = CHILD_ERR_FD;
	if (dup3(hr, CHILD_RULESET_FD, O_CLOEXEC) < 0 || dup2(hn, 0) < 0 || dup2(ho, 1) < 0 || dup2(he, 2) < 0)
		child_fail(efd, "stdio", errno);
	if (syscall(SYS_close_range, CHILD_RULESET_FD + 1, ~0U, 0)) {
		if (errno != ENOSYS)
			child_fail(efd, "close_range", errno);
		for (unsigned fd = CHILD_RULESET_FD + 1; fd <= p->max_fd; fd++)
			close((int)fd);
	}

	if (s->cg && (e = cg_enter(s->cg, 0)))
		child_fail(efd, "cgroup", -e);

	struct rlimit nofile = {s->open_files, s->open_files}, core = {0, 0};
	if (setrlimit(RLIMIT_NOFILE, &nofile))
		child_fail(efd, "rlimit nofile", errno);
	if (setrlimit(RLIMIT_CORE, &core))
		child_fail(efd, "rlimit core", errno);

	/* capabilities: bounding set (until the kernel says there is no such
	 * cap), ambient set, securebits */
	for (int cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL && cap > 0)
			break;
		child_fail(efd, "capability bounding set", errno);
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0))
		child_fail(efd, "ambient capabilities", errno);
	if (prctl(PR_SET_SECUREBITS,
		  SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
			  SECBIT_KEEP_CAPS_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
		  0, 0, 0))
		child_fail(efd, "securebits", errno);

	if (syscall(SYS_setgroups, s->ngroups, s->groups))
		child_fail(efd, "setgroups", errno);
	if (syscall(SYS_setresgid, s->gid, s->gid, s->gid))
		child_fail(efd, "setresgid", errno);
	if (syscall(SYS_setresuid, s->uid, s->uid, s->uid))
		child_fail(efd, "setresuid", errno);
	if (cap_set_proc(p->nocaps))
		child_fail(efd, "capabilities", errno);

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		child_fail(efd, "no_new_privs", errno);
	if (syscall(SYS_landlock_restrict_self, CHILD_RULESET_FD, 0))
		child_fail(efd, "landlock", errno);
	close(CHILD_RULESET_FD);
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter.prog, 0, 0))
		child_fail(efd, "seccomp", errno);

	execve(s->executable, s->argv, s->envp);
	child_fail(efd, "execve", errno);
}

/* ---- the parent ---- */

/* clone_args of clone3, version 0 (Linux 5.3). */
struct sbx_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

/* Start the child; *@pidfd gets its pidfd.  Returns its pid, or -errno. */
static pid_t start_child(const struct prep *p, int *pidfd)
{
	int fd = -1;
	struct sbx_clone_args args = {
		.flags = CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&fd,
		.exit_signal = SIGCHLD,
	};
	long r = syscall(SYS_clone3, &args, sizeof(args));
	if (r == 0)
		child(p);
	if (r > 0) {
		*pidfd = fd;
		return (pid_t)r;
	}
	if (errno != ENOSYS && errno != EPERM)
		return -errno;
	/* clone3 refused (an old kernel, or a filter around wardd) */
	pid_t pid = fork();
	if (pid == 0)
		child(p);
	if (pid < 0)
		return -errno;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0) {
		int e = -errno;
		kill(pid, SIGKILL); /* not reaped: the caller's SIGCHLD handling will */
		return e;
	}
	*pidfd = fd;
	return pid;
}

void sandbox_probe(struct sandbox_support *s)
{
	memset(s, 0, sizeof(*s));
	s->landlock_abi = landlock_abi();
	uint32_t action = SECCOMP_RET_ERRNO;
	s->seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 &&
		     syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

static bool check_spec(const struct sandbox_spec *s, char *err, size_t errlen)
{
	if (!s->executable || s->executable[0] != '/') {
		ERR("executable must be an absolute path");
		return false;
	}
	if (!s->argv || !s->argv[0] || !s->envp) {
		ERR("argv (with argv[0]) and envp are required");
		return false;
	}
	if (s->uid == 0 || s->gid == 0 || s->uid == (uid_t)-1 || s->gid == (gid_t)-1) {
		ERR("uid and gid must not be 0 (or -1)");
		return false;
	}
	if (s->ngroups && !s->groups) {
		ERR("ngroups without groups");
		return false;
	}
	for (size_t i = 0; i < s->ngroups; i++)
		if (s->groups[i] == 0 || s->groups[i] == (gid_t)-1) {
			ERR("supplementary group 0 (or -1)");
			return false;
		}
	if (s->open_files == 0) {
		ERR("open_files must be > 0");
		return false;
	}
	return true;
}

int sandbox_spawn(const struct sandbox_spec *s, pid_t *pid, int *pidfd, int *errfd, char *err, size_t errlen)
{
	struct prep p = {.s = s, .errw = -1, .ruleset = -1};
	int pipefd[2] = {-1, -1};
	int e;

	if (err && errlen)
		err[0] = '\0';
	if (!check_spec(s, err, errlen))
		return -EINVAL;

	struct sandbox_support sup;
	sandbox_probe(&sup);
	if (!sup.landlock_abi || !sup.seccomp) {
		ERR("this kernel lacks %s: clients are never run unsandboxed", !sup.landlock_abi ? "Landlock" : "seccomp");
		return -EOPNOTSUPP;
	}
	pthread_once(&filter.once, compile_once);
	if (filter.err) {
		ERR("%s", filter.msg);
		return filter.err;
	}

	int r = make_ruleset(s, sup.landlock_abi, err, errlen);
	if (r < 0)
		return r;
	p.ruleset = r;
	p.nocaps = cap_init(); /* every flag of every capability clear */
	if (!p.nocaps) {
		e = -errno;
		ERR("cap_init: %s", strerror(errno));
		goto out;
	}
	struct rlimit rl;
	p.max_fd = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1u << 20 ? (unsigned)rl.rlim_cur : 1u << 16;
	if (pipe2(pipefd, O_CLOEXEC) || fcntl(pipefd[0], F_SETFL, O_NONBLOCK)) {
		e = -errno;
		ERR("error pipe: %s", strerror(errno));
		goto out;
	}
	p.errw = pipefd[1];

	/* every signal blocked across the clone: the child resets dispositions
	 * before unblocking, so no handler of ours ever runs in it */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int fd = -1;
	pid_t child_pid = start_child(&p, &fd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (child_pid < 0) {
		e = child_pid;
		ERR("clone: %s", strerror(-e));
		goto out;
	}
	*pid = child_pid;
	*pidfd = fd;
	*errfd = pipefd[0];
	pipefd[0] = -1;
	e = 0;
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (p.ruleset >= 0)
		close(p.ruleset);
	if (p.nocaps)
		cap_free(p.nocaps);
	return e;
}
