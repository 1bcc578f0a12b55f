/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_sandbox.c — the client sandbox (daemon/sandbox.c) and its cgroups
 * (daemon/cgroups.c) on the real kernel, without wardd.  Each case copies
 * the probe program (sandbox_probe.c) into a fresh directory
 * /tmp/ward-sbx-<pid>/<case>/, makes a cgroup <root>/ward-test-sbx-<pid>/<case>
 * in every hierarchy, runs the probe with sandbox_spawn() as uid TEST_UID
 * and checks the line it writes on stdout, its exit, and the cgroup.
 *
 * Files the probe must not write are made writable for everyone (0666,
 * directories 0777) and files it must not read readable for everyone, so a
 * refusal can only come from Landlock, not from file modes.
 *
 * Safety: every wait is bounded (CHILD_TIMEOUT_MS); each case's teardown
 * kills its probe and everything in its cgroup, removes the cgroup and the
 * case directory; the group teardown removes the base cgroups and
 * /tmp/ward-sbx-<pid>.  The test is a child subreaper, so the probe's own
 * children are reaped here.  A SIGALRM safety net does the same cleanup
 * with async-signal-safe calls if the test hangs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/magic.h>
#include <sys/capability.h>

#include <cmocka.h>

#include "cgroups.h"
#include "sandbox.h"

#ifndef SANDBOX_PROBE_PATH
#error SANDBOX_PROBE_PATH must name the built sandbox_probe
#endif

#define TEST_UID 61234
#define TEST_GID 61234
#define TEST_GROUP 61235         /* a supplementary group */
#define CHILD_TIMEOUT_MS 10000
#define MEM_LIMIT (32ull << 20)
#define PIDS_LIMIT 8
#define P_PIDFD_ 3               /* waitid idtype (Linux 5.4); glibc 2.36 lacks the name */

static struct {
	pid_t main_pid;
	struct cg_env env;
	struct sandbox_support sup;
	char dir[64];            /* /tmp/ward-sbx-<pid> */
	char base[64];           /* ward-test-sbx-<pid> */
	char *rm_argv[4];        /* rm -rf dir, for the alarm handler */
	/* the current case */
	char cdir[128];          /* dir/<case> */
	struct ward_cgroup cg;
	pid_t pid;
	int pidfd, errfd, outfd;
	int lfd;                 /* a listening socket (unix case) */
	int afd;                 /* abstract listener */
} T = {.pidfd = -1, .errfd = -1, .outfd = -1, .lfd = -1, .afd = -1};

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- cleanup (the alarm handler's part is async-signal-safe) ---- */

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* rmdir <root>/<base> in every hierarchy. */
static void remove_bases(void)
{
	const char *roots[] = {T.env.v2_root, T.env.v1_memory, T.env.v1_cpu, T.env.v1_pids};
	char path[512];
	for (size_t i = 0; i < 4; i++) {
		size_t a = strlen(roots[i]), b = strlen(T.base);
		if (!a || !b || a + b + 2 > sizeof(path))
			continue;
		memcpy(path, roots[i], a);
		path[a] = '/';
		memcpy(path + a + 1, T.base, b + 1);
		rmdir(path);
	}
}

/* Kill the probe and its cgroup, remove the cgroup.  Async-signal-safe. */
static void kill_case(void)
{
	if (T.pidfd >= 0)
		syscall(SYS_pidfd_send_signal, T.pidfd, SIGKILL, NULL, 0);
	if (T.pid > 0)
		kill(-T.pid, SIGKILL); /* its session's group, should its cgroup fail us */
	cg_kill(&T.cg);
	cg_destroy(&T.cg);
}

/* Run rm -rf on the temp dir (fork and execve: async-signal-safe). */
static void remove_tree_sig(void)
{
	if (!T.dir[0])
		return;
	pid_t pid = fork();
	if (pid == 0) {
		char *envp[] = {NULL};
		execve("/bin/rm", T.rm_argv, envp);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void on_alarm(int sig)
{
	static const char msg[] = "test_sandbox: timed out\n";
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	kill_case();
	remove_bases();
	remove_tree_sig();
	_exit(2);
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (remove(path))
		fprintf(stderr, "remove %s: %s\n", path, strerror(errno));
	return 0;
}

static void remove_tree(const char *dir)
{
	if (dir[0])
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Reap whatever children are left (the probe's orphans come to us). */
static void reap_all(void)
{
	for (int i = 0; i < 100; i++) {
		pid_t w = waitpid(-1, NULL, WNOHANG);
		if (w > 0)
			continue;
		if (w < 0)
			return; /* ECHILD: none left */
		usleep(10000);
	}
}

static void end_case(void)
{
	kill_case();
	if (getpid() == T.main_pid) { /* test_caps lends the test an inheritable, ambient cap */
		prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
		cap_t c = cap_get_proc();
		if (c && cap_clear_flag(c, CAP_INHERITABLE) == 0)
			cap_set_proc(c);
		cap_free(c);
	}
	if (T.pidfd >= 0) {
		siginfo_t si;
		struct pollfd p = {.fd = T.pidfd, .events = POLLIN};
		if (poll(&p, 1, CHILD_TIMEOUT_MS) == 1)
			waitid((idtype_t)P_PIDFD_, (id_t)T.pidfd, &si, WEXITED);
	}
	close_fd(&T.pidfd);
	close_fd(&T.errfd);
	close_fd(&T.outfd);
	close_fd(&T.lfd);
	close_fd(&T.afd);
	memset(&T.cg, 0, sizeof(T.cg));
	reap_all();
	remove_tree(T.cdir);
	T.cdir[0] = '\0';
	T.pid = 0;
}

static void cleanup(void)
{
	if (getpid() != T.main_pid)
		return;
	end_case();
	remove_bases();
	remove_tree(T.dir);
}

/* ---- files ---- */

static void make_dir(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	if (mkdir(path, mode) && errno != EEXIST)
		fail_msg("mkdir %s: %s", path, strerror(errno));
	if (chmod(path, mode) || chown(path, uid, gid))
		fail_msg("chmod/chown %s: %s", path, strerror(errno));
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		fail_msg("writing %s: %s", path, strerror(errno));
	close(fd);
	if (chmod(path, mode))
		fail_msg("chmod %s: %s", path, strerror(errno));
}

static void copy_file(const char *src, const char *dst, mode_t mode)
{
	char buf[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC);
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (in < 0 || out < 0)
		fail_msg("copy %s to %s: %s", src, dst, strerror(errno));
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			fail_msg("copy to %s: %s", dst, strerror(errno));
	close(in);
	close(out);
	if (n < 0 || chmod(dst, mode))
		fail_msg("copy %s: %s", src, strerror(errno));
}

/* dir/<name>/{probe, content/file, state/} */
static void make_case_dir(const char *name)
{
	char p[256];
	snprintf(T.cdir, sizeof(T.cdir), "%s/%s", T.dir, name);
	make_dir(T.cdir, 0755, 0, 0);
	snprintf(p, sizeof(p), "%s/probe", T.cdir);
	copy_file(SANDBOX_PROBE_PATH, p, 0755);
	snprintf(p, sizeof(p), "%s/content", T.cdir);
	make_dir(p, 0777, 0, 0); /* only Landlock keeps the probe from writing here */
	snprintf(p, sizeof(p), "%s/content/file", T.cdir);
	write_file(p, "content\n", 0666);
	snprintf(p, sizeof(p), "%s/state", T.cdir);
	make_dir(p, 0700, TEST_UID, TEST_GID);
}

/* ---- running the probe ---- */

/*
 * Make the case's cgroup with @lim, then run the probe with the arguments
 * after @name (NULL-terminated) in the sandbox, its stdout on a pipe.
 * Fails the case when sandbox_spawn fails.
 */
static void spawn_probe(const char *name, const struct cg_limits *lim, ...)
{
	char err[512], exe[256], content[256], state[256];
	char *argv[16];
	int n = 0, out[2];
	va_list ap;

	make_case_dir(name);
	int e = cg_create(&T.env, T.base, name, lim, &T.cg, err, sizeof(err));
	if (e)
		fail_msg("cg_create: %s (%s)", err, strerror(-e));
	snprintf(exe, sizeof(exe), "%s/probe", T.cdir);
	snprintf(content, sizeof(content), "%s/content", T.cdir);
	snprintf(state, sizeof(state), "%s/state", T.cdir);
	argv[n++] = "probe";
	va_start(ap, lim);
	for (char *a; n < 15 && (a = va_arg(ap, char *));)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	char *envp[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", NULL};
	gid_t groups[] = {TEST_GROUP};
	if (pipe2(out, O_CLOEXEC))
		fail_msg("pipe2: %s", strerror(errno));
	struct sandbox_spec s = {
		.executable = exe, .argv = argv, .envp = envp,
		.uid = TEST_UID, .gid = TEST_GID, .groups = groups, .ngroups = 1,
		.content_dir = content, .state_dir = state, .ro_paths = NULL,
		.open_files = 64, .cg = &T.cg, .stdout_fd = out[1], .stderr_fd = STDERR_FILENO,
	};
	e = sandbox_spawn(&s, &T.pid, &T.pidfd, &T.errfd, err, sizeof(err));
	close(out[1]);
	T.outfd = out[0];
	if (e)
		fail_msg("sandbox_spawn: %s (%s)", err, strerror(-e));
}

/* Wait until the exec happened (EOF on the error pipe); fail with the
 * child's message if a setup step failed. */
static void expect_exec(void)
{
	char buf[512];
	struct pollfd p = {.fd = T.errfd, .events = POLLIN};
	for (long t0 = now_ms();;) {
		long left = CHILD_TIMEOUT_MS - (now_ms() - t0);
		if (left <= 0)
			fail_msg("no exec after %d ms", CHILD_TIMEOUT_MS);
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			fail_msg("poll: %s", strerror(errno));
		ssize_t n = read(T.errfd, buf, sizeof(buf) - 1);
		if (n == 0)
			return;
		if (n > 0) {
			buf[n] = '\0';
			fail_msg("sandbox child failed: %s", buf);
		}
		if (errno != EAGAIN && errno != EINTR)
			fail_msg("read error pipe: %s", strerror(errno));
	}
}

/* The probe's result line (without its newline) into @buf. */
static void read_line(char *buf, size_t len)
{
	size_t off = 0;
	struct pollfd p = {.fd = T.outfd, .events = POLLIN};
	for (long t0 = now_ms();;) {
		long left = CHILD_TIMEOUT_MS - (now_ms() - t0);
		if (left <= 0)
			fail_msg("no result line from the probe within %d ms", CHILD_TIMEOUT_MS);
		int r = poll(&p, 1, (int)left);
		if (r < 0 && errno != EINTR)
			fail_msg("poll: %s", strerror(errno));
		if (r <= 0)
			continue;
		ssize_t n = read(T.outfd, buf + off, len - 1 - off);
		if (n <= 0)
			fail_msg("probe's stdout closed without a result line");
		off += (size_t)n;
		buf[off] = '\0';
		char *nl = strchr(buf, '\n');
		if (nl) {
			*nl = '\0';
			fprintf(stderr, "  probe: %s\n", buf);
			return;
		}
		if (off + 1 >= len)
			fail_msg("result line too long");
	}
}

/* Wait for the probe's end and reap it; its siginfo into *@si. */
static void wait_probe(siginfo_t *si)
{
	struct pollfd p = {.fd = T.pidfd, .events = POLLIN};
	int r;
	do
		r = poll(&p, 1, CHILD_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r != 1)
		fail_msg("probe %d did not end within %d ms", (int)T.pid, CHILD_TIMEOUT_MS);
	memset(si, 0, sizeof(*si));
	if (waitid((idtype_t)P_PIDFD_, (id_t)T.pidfd, si, WEXITED))
		fail_msg("waitid: %s", strerror(errno));
	close_fd(&T.pidfd);
}

static void expect_exit0(void)
{
	siginfo_t si;
	wait_probe(&si);
	if (si.si_code != CLD_EXITED || si.si_status != 0)
		fail_msg("probe: code %d status %d, expected exit 0", si.si_code, si.si_status);
}

/* The value of " key=" in @line, as a string (static buffer). */
static const char *val(const char *line, const char *key)
{
	static char v[128];
	char pat[64];
	snprintf(pat, sizeof(pat), " %s=", key);
	const char *p = strstr(line, pat);
	if (!p)
		return "(missing)";
	p += strlen(pat);
	size_t n = strcspn(p, " ");
	if (n >= sizeof(v))
		n = sizeof(v) - 1;
	memcpy(v, p, n);
	v[n] = '\0';
	return v;
}

#define assert_val(line, key, want) assert_string_equal(val(line, key), want)

/* ---- cases ---- */

/* cg_detect, cg_create (limits written, reuse re-applies them), the errors. */
static void test_cgroups(void **state)
{
	char err[256], buf[128], p[700];
	struct cg_limits lim = {.memory_bytes = 64ull << 20, .cpu_percent = 50, .pids = 16};
	struct statfs sf;

	if (T.env.v2_root[0]) {
		assert_int_equal(statfs(T.env.v2_root, &sf), 0);
		assert_true(sf.f_type == CGROUP2_SUPER_MAGIC);
	}
	assert_true(T.env.memory && T.env.cpu && T.env.pids);
	assert_int_equal(cg_create(&T.env, T.base, "c0", &lim, &T.cg, err, sizeof(err)), 0);

	/* identity */
	if (T.env.v2_root[0]) {
		struct stat st;
		assert_int_equal(stat(T.cg.v2, &st), 0);
		assert_true(T.cg.v2_id == st.st_ino);
		snprintf(p, sizeof(p), "/%s/c0", T.base);
		assert_string_equal(cg_v2_relative(&T.env, &T.cg), p);
		assert_int_equal(cg_of_pid(0, buf, sizeof(buf)), 0);
		assert_string_not_equal(buf, p); /* the test itself stays outside */
	}

	/* the limits, in whichever hierarchy holds each */
	struct cg_stats st;
	assert_int_equal(cg_stats(&T.cg, &st), 0);
	assert_true(st.memory_max == 64ull << 20);
	assert_int_equal(st.pids_max, 16);
	const char *cpu_file = T.cg.cpu[0] ? "cpu.cfs_quota_us" : "cpu.max";
	snprintf(p, sizeof(p), "%s/%s", T.cg.cpu[0] ? T.cg.cpu : T.cg.v2, cpu_file);
	FILE *f = fopen(p, "re");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, T.cg.cpu[0] ? "50000\n" : "50000 100000\n");
	if (T.cg.memory[0]) { /* v1: no swap either */
		snprintf(p, sizeof(p), "%s/memory.memsw.limit_in_bytes", T.cg.memory);
		f = fopen(p, "re");
		if (f) {
			assert_non_null(fgets(buf, sizeof(buf), f));
			fclose(f);
			assert_string_equal(buf, "67108864\n");
		}
	}

	/* reuse: new limits replace the old, raising past the old memsw too */
	struct cg_limits lim2 = {.memory_bytes = 128ull << 20};
	struct ward_cgroup again;
	assert_int_equal(cg_create(&T.env, T.base, "c0", &lim2, &again, err, sizeof(err)), 0);
	assert_memory_equal(&again, &T.cg, sizeof(again));
	assert_int_equal(cg_stats(&T.cg, &st), 0);
	assert_true(st.memory_max == 128ull << 20);
	assert_int_equal(st.pids_max, UINT32_MAX);
	assert_int_equal(cg_procs(&T.cg, NULL, 0), 0);

	/* a limit nothing can enforce is refused, never dropped */
	struct cg_env no_mem = T.env;
	no_mem.v1_memory[0] = '\0';
	no_mem.memory = false;
	struct ward_cgroup x;
	err[0] = '\0';
	if (T.cg.memory[0]) { /* memory is a v1 controller here: v2 cannot take over */
		assert_int_equal(cg_create(&no_mem, T.base, "c0x", &lim, &x, err, sizeof(err)), -EOPNOTSUPP);
		assert_true(strstr(err, "memory") != NULL);
		fprintf(stderr, "  refused as expected: %s\n", err);
	}
	assert_int_equal(cg_create(&T.env, T.base, "..", &lim, &x, err, sizeof(err)), -EINVAL);
	assert_int_equal(cg_create(&T.env, T.base, "a/b", &lim, &x, err, sizeof(err)), -EINVAL);
	assert_int_equal(cg_create(&T.env, "", "c", &lim, &x, err, sizeof(err)), -EINVAL);

	assert_int_equal(cg_destroy(&T.cg), 0);
	const char *dirs[] = {T.cg.v2, T.cg.memory, T.cg.cpu, T.cg.pids};
	for (int i = 0; i < 4; i++)
		if (dirs[i][0])
			assert_int_equal(access(dirs[i], F_OK), -1);
}

/* Parent-side and child-side failures are reported, not hidden. */
static void test_errors(void **state)
{
	char err[256], exe[256], line[512];
	char *argv[] = {"x", NULL}, *envp[] = {NULL};
	pid_t pid;
	int pidfd, errfd;

	make_case_dir("c1");
	struct sandbox_spec s = {
		.executable = "/nonexistent/ward-probe", .argv = argv, .envp = envp,
		.uid = TEST_UID, .gid = TEST_GID, .open_files = 64, .stdout_fd = -1, .stderr_fd = -1,
	};
	assert_int_equal(sandbox_spawn(&s, &pid, &pidfd, &errfd, err, sizeof(err)), -ENOENT);
	assert_true(strstr(err, "/nonexistent/ward-probe") != NULL);
	s.executable = "relative";
	assert_int_equal(sandbox_spawn(&s, &pid, &pidfd, &errfd, err, sizeof(err)), -EINVAL);
	s.executable = "/usr/bin/true";
	s.uid = 0;
	assert_int_equal(sandbox_spawn(&s, &pid, &pidfd, &errfd, err, sizeof(err)), -EINVAL);
	s.uid = TEST_UID;
	s.open_files = 0;
	assert_int_equal(sandbox_spawn(&s, &pid, &pidfd, &errfd, err, sizeof(err)), -EINVAL);
	s.open_files = 64;

	/* a file that is not executable: execve fails in the child */
	snprintf(exe, sizeof(exe), "%s/content/file", T.cdir);
	s.executable = exe;
	assert_int_equal(sandbox_spawn(&s, &T.pid, &T.pidfd, &T.errfd, err, sizeof(err)), 0);
	struct pollfd p = {.fd = T.errfd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, CHILD_TIMEOUT_MS), 1);
	ssize_t n = read(T.errfd, line, sizeof(line) - 1);
	assert_true(n > 0);
	line[n] = '\0';
	fprintf(stderr, "  child reported: %s", line);
	assert_string_equal(line, "execve: Permission denied\n");
	siginfo_t si;
	wait_probe(&si);
	assert_int_equal(si.si_code, CLD_EXITED);
	assert_int_equal(si.si_status, 127);
}

/* 1. Landlock: only its own directories. */
static void test_files(void **state)
{
	char line[1024], outside[128], content[256], st[256], p[300];
	struct cg_limits lim = {.memory_bytes = 256ull << 20, .cpu_percent = 100, .pids = 64};
	snprintf(outside, sizeof(outside), "%s/outside", T.dir);
	snprintf(content, sizeof(content), "%s/c2/content", T.dir);
	snprintf(st, sizeof(st), "%s/c2/state", T.dir);
	spawn_probe("c2", &lim, "fs", outside, content, st, NULL);
	expect_exec();
	read_line(line, sizeof(line));
	expect_exit0();
	assert_val(line, "outside", "EACCES");
	assert_val(line, "passwd", "EACCES");
	assert_val(line, "content_read", "0");
	assert_val(line, "content_write", "EACCES");
	assert_val(line, "content_create", "EACCES");
	assert_val(line, "state_write", "0");
	assert_val(line, "state_mkdir", "0");
	assert_val(line, "dev_null", "0");
	assert_val(line, "proc_status", "EACCES"); /* /proc is not in the default list */

	/* what it wrote is there, and is the sandbox uid's */
	struct stat sb;
	snprintf(p, sizeof(p), "%s/file", st);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_uid, TEST_UID);
	assert_int_equal(sb.st_gid, TEST_GID);
	snprintf(p, sizeof(p), "%s/new", content);
	assert_int_equal(access(p, F_OK), -1);
}

/* The value of "Key:" in /proc/PID/status, tabs turned into spaces. */
static void status_field(pid_t pid, const char *key, char *out, size_t len)
{
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	assert_non_null(f);
	out[0] = '\0';
	size_t k = strlen(key);
	while (fgets(buf, sizeof(buf), f))
		if (strncmp(buf, key, k) == 0 && buf[k] == ':') {
			char *v = buf + k + 1;
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			for (char *c = v; *c; c++)
				if (*c == '\t')
					*c = ' ';
			snprintf(out, len, "%s", v);
		}
	fclose(f);
}

/* Add CAP_NET_RAW to (or drop it from) the test's inheritable set. */
static void set_inheritable(bool on)
{
	cap_t c = cap_get_proc();
	cap_value_t v = CAP_NET_RAW;
	if (!c || cap_set_flag(c, CAP_INHERITABLE, 1, &v, on ? CAP_SET : CAP_CLEAR) || cap_set_proc(c))
		fail_msg("inheritable CAP_NET_RAW: %s", strerror(errno));
	cap_free(c);
}

/* 2. No capability, no_new_privs, seccomp, the sandbox ids. */
static void test_caps(void **state)
{
	char line[1024], v[128], want[64], rel[128];
	struct cg_limits lim = {.memory_bytes = 256ull << 20, .cpu_percent = 100, .pids = 64};
	/* give the test an inheritable and an ambient capability to pass on:
	 * the sandbox must clear both (exec alone would keep them) */
	set_inheritable(true);
	assert_int_equal(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_RAW, 0, 0), 0);
	int leak = open(T.dir, O_RDONLY | O_DIRECTORY); /* no O_CLOEXEC: must not reach the probe */
	assert_true(leak >= 0);
	spawn_probe("c3", &lim, "caps", NULL);
	close(leak);
	set_inheritable(false); /* clears the ambient one too */
	expect_exec();
	read_line(line, sizeof(line));
	/* the probe sleeps now: look at it from outside */
	static const char *zero[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};
	for (size_t i = 0; i < 5; i++) {
		status_field(T.pid, zero[i], v, sizeof(v));
		if (strcmp(v, "0000000000000000") != 0)
			fail_msg("%s is %s", zero[i], v);
	}
	status_field(T.pid, "NoNewPrivs", v, sizeof(v));
	assert_string_equal(v, "1");
	status_field(T.pid, "Seccomp", v, sizeof(v));
	assert_string_equal(v, "2");
	snprintf(want, sizeof(want), "%d %d %d %d", TEST_UID, TEST_UID, TEST_UID, TEST_UID);
	status_field(T.pid, "Uid", v, sizeof(v));
	assert_string_equal(v, want);
	snprintf(want, sizeof(want), "%d %d %d %d", TEST_GID, TEST_GID, TEST_GID, TEST_GID);
	status_field(T.pid, "Gid", v, sizeof(v));
	assert_string_equal(v, want);
	status_field(T.pid, "Groups", v, sizeof(v));
	snprintf(want, sizeof(want), "%d", TEST_GROUP);
	assert_true(strncmp(v, want, strlen(want)) == 0);

	/* ... and from inside */
	assert_val(line, "eff", "0");
	assert_val(line, "prm", "0");
	assert_val(line, "inh", "0");
	assert_val(line, "bnd", "0");
	assert_val(line, "amb", "0");
	assert_val(line, "nnp", "1");
	assert_val(line, "seccomp_mode", "2");
	assert_val(line, "securebits", "ef"); /* NOROOT, NO_SETUID_FIXUP, NO_CAP_AMBIENT_RAISE, all locked */
	assert_val(line, "setuid0", "EPERM");
	assert_val(line, "setgid0", "EPERM");
	snprintf(want, sizeof(want), "%d,%d,%d", TEST_UID, TEST_UID, TEST_UID);
	assert_val(line, "uid", want);
	snprintf(want, sizeof(want), "%d,%d,%d", TEST_GID, TEST_GID, TEST_GID);
	assert_val(line, "gid", want);
	assert_val(line, "ngroups", "1");

	/* it is in its cgroup, every hierarchy of it */
	pid_t pids[8];
	assert_int_equal(cg_procs(&T.cg, pids, 8), 1);
	assert_int_equal(pids[0], T.pid);
	if (T.cg.v2[0]) {
		assert_int_equal(cg_of_pid(T.pid, rel, sizeof(rel)), 0);
		assert_string_equal(rel, cg_v2_relative(&T.env, &T.cg));
	}
	/* stdin is /dev/null, and nothing but 0, 1, 2 is open */
	char fdpath[64], target[256];
	snprintf(fdpath, sizeof(fdpath), "/proc/%d/fd/0", (int)T.pid);
	ssize_t n = readlink(fdpath, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "/dev/null");
	snprintf(fdpath, sizeof(fdpath), "/proc/%d/fd", (int)T.pid);
	DIR *d = opendir(fdpath);
	assert_non_null(d);
	int nfds = 0;
	for (struct dirent *de; (de = readdir(d));)
		if (de->d_name[0] != '.') {
			fprintf(stderr, "  probe fd %s\n", de->d_name);
			nfds++;
		}
	closedir(d);
	assert_int_equal(nfds, 3);
}

/* 3. Seccomp: refused calls get EPERM, an ordinary program works. */
static void test_seccomp(void **state)
{
	char line[1024];
	struct cg_limits lim = {.memory_bytes = 256ull << 20, .cpu_percent = 100, .pids = 64};
	spawn_probe("c4", &lim, "seccomp", NULL);
	expect_exec();
	read_line(line, sizeof(line));
	expect_exit0();
	assert_val(line, "ptrace", "EPERM");
	assert_val(line, "unshare", "EPERM");
	assert_val(line, "clone_newuser", "EPERM");
	assert_val(line, "clone3", "ENOSYS");
	assert_val(line, "mount", "EPERM");
	assert_val(line, "bpf", "EPERM");
	assert_val(line, "io_uring", "EPERM");
	assert_val(line, "keyctl", "EPERM");
	assert_val(line, "setresuid", "EPERM"); /* even the no-op (-1, -1, -1) */
	assert_val(line, "thread", "0");
	assert_val(line, "fork", "0");
	assert_val(line, "exec", "0");
}

/* 4. The memory limit kills. */
static void test_memory(void **state)
{
	char mib[16];
	struct cg_limits lim = {.memory_bytes = MEM_LIMIT, .cpu_percent = 100, .pids = 64};
	snprintf(mib, sizeof(mib), "%llu", (MEM_LIMIT >> 20) * 8);
	spawn_probe("c5", &lim, "mem", mib, NULL);
	expect_exec();
	siginfo_t si;
	wait_probe(&si);
	struct cg_stats st;
	assert_int_equal(cg_stats(&T.cg, &st), 0);
	fprintf(stderr, "  code %d status %d; peak %llu max %llu oom_kills %llu\n", si.si_code, si.si_status,
		(unsigned long long)st.memory_peak, (unsigned long long)st.memory_max,
		(unsigned long long)st.oom_kills);
	assert_int_equal(si.si_code, CLD_KILLED);
	assert_int_equal(si.si_status, SIGKILL);
	assert_true(st.memory_max == MEM_LIMIT);
	assert_true(st.oom_kills >= 1 || st.memory_peak >= MEM_LIMIT - (1 << 20));
}

/* 5. The pids limit stops fork. */
static void test_pids(void **state)
{
	char line[1024];
	struct cg_limits lim = {.memory_bytes = 256ull << 20, .cpu_percent = 100, .pids = PIDS_LIMIT};
	spawn_probe("c6", &lim, "pids", NULL);
	expect_exec();
	read_line(line, sizeof(line));
	expect_exit0();
	int count = atoi(val(line, "count"));
	assert_true(count >= 1);
	assert_true(count < PIDS_LIMIT);
	assert_val(line, "fork", "EAGAIN");
	struct cg_stats st;
	assert_int_equal(cg_stats(&T.cg, &st), 0);
	assert_int_equal(st.pids_max, PIDS_LIMIT);
}

/* 6. A unix socket outside the Landlock rules, as wardd's will be. */
static void test_unix_socket(void **state)
{
	char line[1024], sdir[96], name[64], buf[16];
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct cg_limits lim = {.memory_bytes = 256ull << 20, .cpu_percent = 100, .pids = 64};

	snprintf(sdir, sizeof(sdir), "%s/c7-run", T.dir);
	make_dir(sdir, 0755, 0, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/ward.sock", sdir);
	T.lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(T.lfd >= 0);
	assert_int_equal(bind(T.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(chmod(a.sun_path, 0666), 0); /* DAC lets uid TEST_UID connect */
	assert_int_equal(listen(T.lfd, 4), 0);
	/* an abstract one too */
	struct sockaddr_un b = {.sun_family = AF_UNIX};
	snprintf(name, sizeof(name), "%s", T.base);
	memcpy(b.sun_path + 1, name, strlen(name));
	T.afd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(T.afd >= 0);
	assert_int_equal(bind(T.afd, (struct sockaddr *)&b,
			      (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name))), 0);
	assert_int_equal(listen(T.afd, 4), 0);

	spawn_probe("c7", &lim, "unix", a.sun_path, name, NULL);
	expect_exec();
	read_line(line, sizeof(line));
	expect_exit0();
	fprintf(stderr, "  Landlock ABI %d: connect() by path to a socket outside the rules: %s\n",
		T.sup.landlock_abi, val(line, "path"));
	assert_val(line, "socket", "0");
	assert_val(line, "path", "0");
	assert_val(line, "send", "0");
	struct pollfd p = {.fd = T.lfd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, CHILD_TIMEOUT_MS), 1);
	int c = accept4(T.lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	assert_true(c >= 0);
	ssize_t n = recv(c, buf, sizeof(buf), 0);
	close(c);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "hello", 5);
	/* Landlock ABI 6 scopes abstract sockets to the client's domain */
	assert_val(line, "abstract", T.sup.landlock_abi >= 6 ? "EPERM" : "0");
}

/* 7. cg_kill ends a process tree; the cgroup can then go. */
static void test_kill(void **state)
{
	char line[1024];
	struct cg_limits lim = {.memory_bytes = 256ull << 20, .cpu_percent = 100, .pids = 64};
	spawn_probe("c8", &lim, "tree", "3", NULL);
	expect_exec();
	read_line(line, sizeof(line));
	assert_val(line, "ready", "3");
	pid_t pids[16];
	assert_int_equal(cg_procs(&T.cg, pids, 16), 4);
	assert_int_equal(cg_procs(&T.cg, pids, 2), 4); /* the count, whatever fits */
	struct cg_stats st;
	assert_int_equal(cg_stats(&T.cg, &st), 0);
	assert_int_equal(st.pids, 4);
	assert_true(st.memory_bytes > 0);
	assert_true(st.cpu_usage_ns > 0);

	assert_int_equal(cg_kill(&T.cg), 0);
	assert_int_equal(cg_procs(&T.cg, pids, 16), 0);
	siginfo_t si;
	wait_probe(&si);
	assert_int_equal(si.si_code, CLD_KILLED);
	assert_int_equal(si.si_status, SIGKILL);
	assert_int_equal(cg_destroy(&T.cg), 0);
	const char *dirs[] = {T.cg.v2, T.cg.memory, T.cg.cpu, T.cg.pids};
	for (int i = 0; i < 4; i++)
		if (dirs[i][0])
			assert_int_equal(access(dirs[i], F_OK), -1);
	assert_int_equal(cg_procs(&T.cg, pids, 16), -ENOENT);
}

/* ---- fixtures ---- */

static int test_teardown(void **state)
{
	end_case();
	return 0;
}

static int group_setup(void **state)
{
	char outside[128];
	T.main_pid = getpid();
	snprintf(T.dir, sizeof(T.dir), "/tmp/ward-sbx-%d", (int)getpid());
	snprintf(T.base, sizeof(T.base), "ward-test-sbx-%d", (int)getpid());
	T.rm_argv[0] = "rm";
	T.rm_argv[1] = "-rf";
	T.rm_argv[2] = T.dir;
	T.rm_argv[3] = NULL;
	signal(SIGALRM, on_alarm);
	alarm(100); /* meson's timeout is 120 s */
	atexit(cleanup);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) {
		perror("PR_SET_CHILD_SUBREAPER");
		return -1;
	}
	int e = cg_detect(&T.env);
	if (e) {
		fprintf(stderr, "cg_detect: %s\n", strerror(-e));
		return -1;
	}
	sandbox_probe(&T.sup);
	fprintf(stderr, "cgroups: mode %d v2 \"%s\" v1 memory \"%s\" cpu \"%s\" pids \"%s\"; "
			"Landlock ABI %d, seccomp %d\n",
		T.env.mode, T.env.v2_root, T.env.v1_memory, T.env.v1_cpu, T.env.v1_pids, T.sup.landlock_abi,
		T.sup.seccomp);
	if (!T.sup.landlock_abi || !T.sup.seccomp) {
		fprintf(stderr, "no Landlock or no seccomp on this kernel\n");
		return -1;
	}
	if (mkdir(T.dir, 0755) || chmod(T.dir, 0755)) {
		fprintf(stderr, "mkdir %s: %s\n", T.dir, strerror(errno));
		T.dir[0] = '\0';
		return -1;
	}
	snprintf(outside, sizeof(outside), "%s/outside", T.dir);
	int fd = open(outside, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "outside\n", 8) != 8 || fchmod(fd, 0644)) {
		perror(outside);
		return -1;
	}
	close(fd);
	return 0;
}

static int group_teardown(void **state)
{
	cleanup();
	return 0;
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_sandbox: needs root\n");
		return 77; /* skipped */
	}
	const struct CMUnitTest tests[] = {
#define T_(fn) cmocka_unit_test_teardown(fn, test_teardown)
		T_(test_cgroups),
		T_(test_errors),
		T_(test_files),
		T_(test_caps),
		T_(test_seccomp),
		T_(test_memory),
		T_(test_pids),
		T_(test_unix_socket),
		T_(test_kill),
#undef T_
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
