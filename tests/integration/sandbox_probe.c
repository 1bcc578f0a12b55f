/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sandbox_probe.c — the client program test_sandbox runs in the sandbox
 * (daemon/sandbox.c).  It tries what the case names and writes one line of
 * "key=value" results to stdout: a value is 0 (it worked) or the errno
 * name it failed with.  Exit status 0 after writing the line; 2 for a
 * usage error.  Needs nothing but libc, so it runs with the default
 * read-only paths.
 *
 *   fs OUTSIDE CONTENT_DIR STATE_DIR   open/create/write inside and outside
 *   caps                               ids, capabilities, no_new_privs,
 *                                      seccomp mode; then sleeps 20 s so the
 *                                      test can read /proc/PID/status
 *   seccomp                            refused and allowed system calls
 *   mem MIB                            allocate and touch MIB MiB
 *   pids                               fork until fork fails
 *   unix PATH NAME                     connect to a SOCK_SEQPACKET socket
 *                                      by path, and by abstract NAME
 *   tree N                             fork N children, all sleep 60 s
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char line[4096];
static size_t len;

static void add(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	va_end(ap);
	if (n > 0 && (size_t)n < sizeof(line) - len)
		len += (size_t)n;
}

/* key=0 when @rc >= 0, else key=ERRNAME of errno. */
static void res(const char *key, long rc)
{
	if (rc >= 0) {
		add(" %s=0", key);
		return;
	}
	const char *name = strerrorname_np(errno);
	if (name)
		add(" %s=%s", key, name);
	else
		add(" %s=errno%d", key, errno);
}

static void emit(void)
{
	line[len < sizeof(line) - 1 ? len++ : len - 1] = '\n';
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(1, line + off, len - off);
		if (w <= 0)
			_exit(3);
		off += (size_t)w;
	}
}

static void nap(int seconds)
{
	struct timespec ts = {seconds, 0};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int open_close(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int probe_fs(const char *outside, const char *content, const char *state)
{
	char p[4096], buf[64];
	res("outside", open_close(outside, O_RDONLY));
	res("passwd", open_close("/etc/passwd", O_RDONLY));
	snprintf(p, sizeof(p), "%s/file", content);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	long r = fd < 0 ? -1 : read(fd, buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	res("content_read", r > 0 ? 0 : -1);
	res("content_write", open_close(p, O_WRONLY));
	snprintf(p, sizeof(p), "%s/new", content);
	res("content_create", open_close(p, O_WRONLY | O_CREAT));
	snprintf(p, sizeof(p), "%s/file", state);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	r = fd < 0 ? -1 : write(fd, "state\n", 6) == 6 ? 0 : -1;
	if (fd >= 0)
		close(fd);
	res("state_write", r);
	snprintf(p, sizeof(p), "%s/dir", state);
	res("state_mkdir", mkdir(p, 0755));
	res("dev_null", open_close("/dev/null", O_WRONLY | O_TRUNC));
	res("proc_status", open_close("/proc/self/status", O_RDONLY));
	emit();
	return 0;
}

static int probe_caps(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	unsigned long long eff = ~0ull, prm = ~0ull, inh = ~0ull, bnd = 0, amb = 0;
	if (syscall(SYS_capget, &h, d) == 0) {
		eff = d[0].effective | (unsigned long long)d[1].effective << 32;
		prm = d[0].permitted | (unsigned long long)d[1].permitted << 32;
		inh = d[0].inheritable | (unsigned long long)d[1].inheritable << 32;
	}
	for (int c = 0; c < 64; c++) {
		int b = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
		if (b < 0)
			break;
		if (b)
			bnd |= 1ull << c;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) > 0)
			amb |= 1ull << c;
	}
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[8];
	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	int ng = getgroups(8, groups);
	add("caps eff=%llx prm=%llx inh=%llx bnd=%llx amb=%llx", eff, prm, inh, bnd, amb);
	add(" nnp=%d seccomp_mode=%d securebits=%x", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0),
	    prctl(PR_GET_SECCOMP, 0, 0, 0, 0), prctl(PR_GET_SECUREBITS, 0, 0, 0, 0));
	add(" uid=%u,%u,%u gid=%u,%u,%u ngroups=%d group0=%u", ru, eu, su, rg, eg, sg, ng, ng > 0 ? groups[0] : 0);
	res("setuid0", setuid(0));
	res("setgid0", setgid(0));
	res("proc_status", open_close("/proc/self/status", O_RDONLY));
	emit();
	nap(20);
	return 0;
}

static void *thread_fn(void *arg)
{
	return arg;
}

static int probe_seccomp(void)
{
	add("seccomp");
	res("ptrace", ptrace(PTRACE_TRACEME, 0, NULL, NULL));
	res("unshare", unshare(CLONE_NEWUSER));
	long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);
	if (r == 0)
		_exit(0); /* allowed after all: the child must not go on probing */
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	res("clone_newuser", r);
	res("clone3", syscall(SYS_clone3, NULL, 0));
	res("mount", mount("none", "/tmp", "tmpfs", 0, NULL));
	res("bpf", syscall(SYS_bpf, 0, NULL, 0));
	res("io_uring", syscall(SYS_io_uring_setup, 1, NULL));
	res("keyctl", syscall(SYS_keyctl, 0, 0, 0, 0, 0));
	res("setresuid", syscall(SYS_setresuid, -1, -1, -1));
	/* what must work: a thread (clone3 refused: libc falls back), fork, exec */
	pthread_t t;
	int e = pthread_create(&t, NULL, thread_fn, NULL);
	if (e == 0)
		pthread_join(t, NULL);
	errno = e;
	res("thread", e ? -1 : 0);
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	int st = 0;
	res("fork", pid < 0 ? -1 : waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 7 ? 0 : -1);
	pid = fork();
	if (pid == 0) {
		char *argv[] = {"true", NULL}, *envp[] = {NULL};
		execve("/usr/bin/true", argv, envp);
		_exit(100 + errno);
	}
	errno = 0;
	if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) >= 100)
		errno = WEXITSTATUS(st) - 100;
	res("exec", pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1);
	emit();
	return 0;
}

static int probe_mem(long mib)
{
	for (long i = 0; i < mib; i++) {
		char *p = malloc(1 << 20);
		if (!p) {
			add("mem malloc_failed_at=%ld", i);
			emit();
			return 0;
		}
		memset(p, (int)i + 1, 1 << 20);
	}
	add("mem survived=%ld", mib);
	emit();
	return 0;
}

static int probe_pids(void)
{
	pid_t kids[64];
	int n = 0;
	long r = 0;
	while (n < 64) {
		pid_t pid = fork();
		if (pid == 0) {
			nap(30);
			_exit(0);
		}
		if (pid < 0) {
			r = -1;
			break;
		}
		kids[n++] = pid;
	}
	add("pids count=%d", n);
	res("fork", r);
	emit();
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	return 0;
}

static int probe_unix(const char *path, const char *name)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	add("unix");
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	res("socket", fd);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	long r = connect(fd, (struct sockaddr *)&a, sizeof(a));
	res("path", r);
	res("send", r ? -1 : send(fd, "hello", 5, 0) == 5 ? 0 : -1);
	close(fd);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	memset(a.sun_path, 0, sizeof(a.sun_path));
	size_t n = strlen(name);
	memcpy(a.sun_path + 1, name, n);
	res("abstract", connect(fd, (struct sockaddr *)&a, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n)));
	close(fd);
	emit();
	return 0;
}

static int probe_tree(int n)
{
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			nap(60);
			_exit(0);
		}
		if (pid < 0) {
			res("fork", -1);
			emit();
			return 0;
		}
	}
	add("tree ready=%d", n);
	emit();
	nap(60);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	if (strcmp(mode, "fs") == 0 && argc == 5) {
		add("fs");
		return probe_fs(argv[2], argv[3], argv[4]);
	}
	if (strcmp(mode, "caps") == 0)
		return probe_caps();
	if (strcmp(mode, "seccomp") == 0)
		return probe_seccomp();
	if (strcmp(mode, "mem") == 0 && argc == 3)
		return probe_mem(atol(argv[2]));
	if (strcmp(mode, "pids") == 0)
		return probe_pids();
	if (strcmp(mode, "unix") == 0 && argc == 4)
		return probe_unix(argv[2], argv[3]);
	if (strcmp(mode, "tree") == 0 && argc == 3)
		return probe_tree(atoi(argv[2]));
	fprintf(stderr, "usage: sandbox_probe fs|caps|seccomp|mem|pids|unix|tree ...\n");
	return 2;
}
