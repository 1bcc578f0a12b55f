/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_events.c — one test per event type: a child in the test cgroup makes
 * the real syscall; the test asserts the event wardd delivers and its fields.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static char p1[PATH_MAX], p2[PATH_MAX];

static void paths(const char *a, const char *b)
{
	snprintf(p1, sizeof(p1), "%s/%s", test_dir(), a);
	if (b)
		snprintf(p2, sizeof(p2), "%s/%s", test_dir(), b);
}

/* The acting-process fields every event carries. */
static void assert_process(const ward_event *ev, pid_t pid)
{
	assert_int_equal(ev_u64(ev, WARD_F_PID), pid);
	assert_int_equal(ev_u64(ev, WARD_F_PPID), getpid());
	assert_int_equal(ev_u64(ev, WARD_F_UID), getuid());
	assert_int_equal(ev_u64(ev, WARD_F_EUID), geteuid());
	assert_int_equal(ev_u64(ev, WARD_F_GID), getgid());
	assert_int_equal(ev_u64(ev, WARD_F_EGID), getegid());
	assert_true(ev_u64(ev, WARD_F_CGROUP_ID) > 1);
	assert_true(ev_u64(ev, WARD_F_START_TIME) > 0);
	assert_true(ward_event_seq(ev) > 0);
	assert_true(ward_event_global_seq(ev) > 0);
	assert_true(ward_event_time(ev) > 1700000000ull * 1000000000ull);
	assert_non_null(ev_str(ev, WARD_F_COMM));
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	/* known even for a child that forked outside the scope and was gone
	 * before wardd read its first event (the cgroup-attach snapshot) */
	if (ward_event_type(ev) != WARD_EV_EXEC)
		assert_string_equal(ev_str(ev, WARD_F_EXE), self);
	assert_non_null(ev_str(ev, WARD_F_CWD));
	assert_true(ev_has(ev, WARD_F_ARGV));
}

/* ---- process ---- */

static int do_fork(void *arg)
{
	pid_t c = fork();
	if (c == 0)
		_exit(0);
	*(volatile pid_t *)arg = c;
	int st;
	waitpid(c, &st, 0);
	return c & 0x7f; /* lets the parent check the grandchild's pid's low bits */
}

/* The type's own object holds exactly @want (field numbers past the
 * process fields), nothing from another family. */
static void assert_own_fields(const ward_event *ev, const uint32_t *want, size_t n)
{
	uint32_t f;
	for (unsigned i = 0; (f = ward_event_field_at(ev, i)) != 0; i++) {
		if (ward_field_is_process(f))
			continue;
		size_t k = 0;
		while (k < n && want[k] != f)
			k++;
		if (k == n)
			fail_msg("unexpected field %u (%s) in a %s event", f, ward_field_name(f),
				 ward_event_type_name(ward_event_type(ev)));
	}
}

static void test_fork(void **state)
{
	pid_t grandchild = 0;
	int st;
	pid_t pid = run_child(do_fork, &grandchild, &st);
	const ward_event *ev = expect_event(WARD_EV_FORK, pid, NULL);
	assert_non_null(ev);
	assert_process(ev, pid);
	uint64_t child = ev_u64(ev, WARD_F_CHILD_PID);
	assert_true(child > 0 && (int)child != pid);
	assert_int_equal(child & 0x7f, WEXITSTATUS(st));
	static const uint32_t own[] = {WARD_F_CHILD_PID};
	assert_own_fields(ev, own, 1);
	free((void *)ev);
}

static int do_exec(void *arg)
{
	if (chdir(test_dir()))
		return 1;
	execl("/bin/true", "true", "first arg", "second", (char *)NULL);
	return 2;
}

static void test_exec(void **state)
{
	pid_t pid = run_child(do_exec, NULL, NULL);
	const ward_event *ev = expect_event(WARD_EV_EXEC, pid, NULL);
	assert_non_null(ev);
	assert_process(ev, pid);
	char real[PATH_MAX];
	assert_non_null(realpath("/bin/true", real));
	assert_string_equal(ev_str(ev, WARD_F_EXE), real);
	assert_string_equal(ev_str(ev, WARD_F_FILENAME), "/bin/true");
	assert_string_equal(ev_str(ev, WARD_F_COMM), "true");
	assert_string_equal(ev_str(ev, WARD_F_CWD), test_dir());
	static const char want[] = "true\0first arg\0second";
	assert_argv(ev, want, sizeof(want));
	assert_false(ev_has(ev, WARD_F_ARGV_TRUNCATED));
	static const uint32_t own[] = {WARD_F_FILENAME, WARD_F_SHA256};
	assert_own_fields(ev, own, 2);
	free((void *)ev);

	/* the process's later events carry the new image */
	ev = expect_event(WARD_EV_EXIT, pid, NULL);
	assert_non_null(ev);
	assert_string_equal(ev_str(ev, WARD_F_EXE), real);
	free((void *)ev);
}

static int do_exit7(void *arg) { return 7; }

static int do_killed(void *arg)
{
	raise(SIGKILL);
	return 0;
}

static void test_exit(void **state)
{
	pid_t pid = run_child(do_exit7, NULL, NULL);
	const ward_event *ev = expect_event(WARD_EV_EXIT, pid, NULL);
	assert_non_null(ev);
	assert_process(ev, pid);
	assert_int_equal(ev_u64(ev, WARD_F_EXIT_CODE), 7);
	assert_int_equal(ev_u64(ev, WARD_F_EXIT_SIGNAL), 0);
	static const uint32_t own[] = {WARD_F_EXIT_CODE, WARD_F_EXIT_SIGNAL, WARD_F_CORE_DUMPED};
	assert_own_fields(ev, own, 3);
	free((void *)ev);

	pid = run_child(do_killed, NULL, NULL);
	ev = expect_event(WARD_EV_EXIT, pid, NULL);
	assert_non_null(ev);
	assert_int_equal(ev_u64(ev, WARD_F_EXIT_SIGNAL), SIGKILL);
	assert_int_equal(ev_u64(ev, WARD_F_CORE_DUMPED), 0);
	free((void *)ev);
}

/* ---- file ---- */

static int do_open(void *arg)
{
	int fd = open(p1, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	close(fd);
	/* relative to the cwd, and a failure */
	if (chdir(test_dir()))
		return 2;
	fd = openat(AT_FDCWD, "does-not-exist", O_RDONLY);
	return fd < 0 && errno == ENOENT ? 0 : 3;
}

static void test_open(void **state)
{
	paths("open-me", "does-not-exist");
	touch(p1);
	int st;
	pid_t pid = run_child(do_open, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_OPEN, pid, p1);
	assert_non_null(ev);
	assert_process(ev, pid);
	assert_true(ev_i64(ev, WARD_F_RESULT) >= 0);
	assert_int_equal(ev_u64(ev, WARD_F_FLAGS), O_RDONLY | O_CLOEXEC);
	assert_string_equal(ev_str(ev, WARD_F_SYSCALL), "openat");
	free((void *)ev);
	ev = expect_event(WARD_EV_OPEN, pid, p2);
	assert_non_null(ev);
	assert_int_equal(ev_i64(ev, WARD_F_RESULT), -ENOENT);
	free((void *)ev);
}

static int do_create(void *arg)
{
	int fd = open(p1, O_WRONLY | O_CREAT | O_EXCL, 0640);
	if (fd < 0)
		return 1;
	close(fd);
	return mkdir(p2, 0750) ? 2 : 0;
}

static void test_create(void **state)
{
	paths("created", "created-dir");
	int st;
	pid_t pid = run_child(do_create, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_CREATE, pid, p1);
	assert_non_null(ev);
	assert_process(ev, pid);
	assert_int_equal(ev_u64(ev, WARD_F_MODE), 0640);
	assert_true(ev_u64(ev, WARD_F_FLAGS) & O_CREAT);
	assert_true(ev_i64(ev, WARD_F_RESULT) >= 0);
	free((void *)ev);
	ev = expect_event(WARD_EV_CREATE, pid, p2);
	assert_non_null(ev);
	assert_int_equal(ev_u64(ev, WARD_F_MODE), S_IFDIR | 0750);
	free((void *)ev);
}

static int do_unlink(void *arg)
{
	return unlink(p1) ? 1 : rmdir(p2) ? 2 : 0;
}

static void test_unlink(void **state)
{
	paths("unlink-me", "rmdir-me");
	touch(p1);
	assert_int_equal(mkdir(p2, 0755), 0);
	int st;
	pid_t pid = run_child(do_unlink, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_UNLINK, pid, p1);
	assert_non_null(ev);
	assert_process(ev, pid);
	assert_int_equal(ev_i64(ev, WARD_F_RESULT), 0);
	free((void *)ev);
	ev = expect_event(WARD_EV_UNLINK, pid, p2);
	assert_non_null(ev);
	assert_int_equal(ev_u64(ev, WARD_F_FLAGS), AT_REMOVEDIR);
	free((void *)ev);
}

static int do_rename(void *arg) { return rename(p1, p2) ? 1 : 0; }

static void test_rename(void **state)
{
	paths("rename-from", "rename-to");
	touch(p1);
	int st;
	pid_t pid = run_child(do_rename, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_RENAME, pid, p1);
	assert_non_null(ev);
	assert_process(ev, pid);
	assert_string_equal(ev_str(ev, WARD_F_NEW_PATH), p2);
	assert_int_equal(ev_i64(ev, WARD_F_RESULT), 0);
	free((void *)ev);
}

static int do_chmod(void *arg)
{
	if (chmod(p1, 0600))
		return 1;
	int fd = open(p2, O_RDONLY);
	return fd < 0 || fchmod(fd, 0604) ? 2 : 0;
}

static void test_chmod(void **state)
{
	paths("chmod-me", "fchmod-me");
	touch(p1);
	touch(p2);
	int st;
	pid_t pid = run_child(do_chmod, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_CHMOD, pid, p1);
	assert_non_null(ev);
	assert_process(ev, pid);
	assert_int_equal(ev_u64(ev, WARD_F_MODE), 0600);
	assert_int_equal(ev_i64(ev, WARD_F_RESULT), 0);
	free((void *)ev);
	/* fchmod: the path comes from the descriptor */
	ev = expect_event(WARD_EV_CHMOD, pid, p2);
	assert_non_null(ev);
	assert_int_equal(ev_u64(ev, WARD_F_MODE), 0604);
	assert_true(ev_i64(ev, WARD_F_FD) >= 0);
	free((void *)ev);
}

static int do_chown(void *arg) { return chown(p1, 1234, 5678) ? 1 : 0; }

static void test_chown(void **state)
{
	paths("chown-me", NULL);
	touch(p1);
	int st;
	pid_t pid = run_child(do_chown, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_CHOWN, pid, p1);
	assert_non_null(ev);
	assert_process(ev, pid);
	assert_int_equal(ev_i64(ev, WARD_F_OWNER_UID), 1234);
	assert_int_equal(ev_i64(ev, WARD_F_OWNER_GID), 5678);
	assert_int_equal(ev_i64(ev, WARD_F_RESULT), 0);
	free((void *)ev);
}

static int do_truncate(void *arg)
{
	if (truncate(p1, 100))
		return 1;
	int fd = open(p2, O_WRONLY);
	return fd < 0 || ftruncate(fd, 4096) ? 2 : 0;
}

static void test_truncate(void **state)
{
	paths("truncate-me", "ftruncate-me");
	touch(p1);
	touch(p2);
	int st;
	pid_t pid = run_child(do_truncate, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_TRUNCATE, pid, p1);
	assert_non_null(ev);
	assert_process(ev, pid);
	assert_int_equal(ev_i64(ev, WARD_F_LENGTH), 100);
	free((void *)ev);
	ev = expect_event(WARD_EV_TRUNCATE, pid, p2);
	assert_non_null(ev);
	assert_int_equal(ev_i64(ev, WARD_F_LENGTH), 4096);
	free((void *)ev);
}

static int do_link(void *arg) { return link(p1, p2) ? 1 : 0; }

static void test_link(void **state)
{
	paths("link-target", "link-new");
	touch(p1);
	int st;
	pid_t pid = run_child(do_link, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_LINK, pid, p1);
	assert_non_null(ev);
	assert_process(ev, pid);
	assert_string_equal(ev_str(ev, WARD_F_NEW_PATH), p2);
	assert_int_equal(ev_i64(ev, WARD_F_RESULT), 0);
	free((void *)ev);
}

static int do_symlink(void *arg) { return symlink("some/target", p1) ? 1 : 0; }

static void test_symlink(void **state)
{
	paths("symlink-new", NULL);
	int st;
	pid_t pid = run_child(do_symlink, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_SYMLINK, pid, p1);
	assert_non_null(ev);
	assert_process(ev, pid);
	assert_string_equal(ev_str(ev, WARD_F_LINK_TARGET), "some/target");
	assert_int_equal(ev_i64(ev, WARD_F_RESULT), 0);
	free((void *)ev);
}

/* ---- network ---- */

static int listener(uint16_t *port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	if (s < 0 || bind(s, (void *)&a, sizeof(a)) || listen(s, 17) || getsockname(s, (void *)&a, &len))
		return -1;
	*port = ntohs(a.sin_port);
	return s;
}

struct net_run {
	uint16_t port;       /* listener's port */
	uint16_t client_port;
};

static int do_net(void *arg)
{
	struct net_run *n = arg;
	int l = listener(&n->port);
	if (l < 0)
		return 1;
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(n->port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(c, (void *)&a, sizeof(a)))
		return 2;
	int s = accept(l, NULL, NULL);
	if (s < 0)
		return 3;
	/* report the ports through the exit status is too narrow: write them */
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/ports", test_dir());
	FILE *f = fopen(path, "w");
	socklen_t len = sizeof(a);
	getsockname(c, (void *)&a, &len);
	if (!f)
		return 4;
	fprintf(f, "%u %u\n", n->port, ntohs(a.sin_port));
	fclose(f);
	return 0;
}

static void read_ports(struct net_run *n)
{
	char path[PATH_MAX];
	unsigned a = 0, b = 0;
	snprintf(path, sizeof(path), "%s/ports", test_dir());
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%u %u", &a, &b), 2);
	fclose(f);
	n->port = (uint16_t)a;
	n->client_port = (uint16_t)b;
}

static struct net_run netrun;
static pid_t netpid;

static void run_net_once(void)
{
	if (netpid)
		return;
	int st;
	netpid = run_child(do_net, &netrun, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	read_ports(&netrun);
}

static void test_bind(void **state)
{
	run_net_once();
	const ward_event *ev = expect_event(WARD_EV_BIND, netpid, NULL);
	assert_non_null(ev);
	assert_process(ev, netpid);
	assert_int_equal(ev_u64(ev, WARD_F_FAMILY), AF_INET);
	assert_int_equal(ev_u64(ev, WARD_F_PROTOCOL), IPPROTO_TCP);
	assert_int_equal(ev_u64(ev, WARD_F_SOCK_TYPE), SOCK_STREAM);
	assert_string_equal(ev_str(ev, WARD_F_LOCAL_ADDR), "127.0.0.1");
	assert_int_equal(ev_i64(ev, WARD_F_RESULT), 0);
	free((void *)ev);
}

static void test_listen(void **state)
{
	run_net_once();
	const ward_event *ev = expect_event(WARD_EV_LISTEN, netpid, NULL);
	assert_non_null(ev);
	assert_process(ev, netpid);
	assert_int_equal(ev_u64(ev, WARD_F_BACKLOG), 17);
	assert_int_equal(ev_u64(ev, WARD_F_LOCAL_PORT), netrun.port);
	assert_string_equal(ev_str(ev, WARD_F_LOCAL_ADDR), "127.0.0.1");
	free((void *)ev);
}

static void test_connect(void **state)
{
	run_net_once();
	const ward_event *ev = expect_event(WARD_EV_CONNECT, netpid, NULL);
	assert_non_null(ev);
	assert_process(ev, netpid);
	assert_int_equal(ev_i64(ev, WARD_F_RESULT), 0);
	assert_int_equal(ev_u64(ev, WARD_F_FAMILY), AF_INET);
	assert_int_equal(ev_u64(ev, WARD_F_PROTOCOL), IPPROTO_TCP);
	assert_string_equal(ev_str(ev, WARD_F_REMOTE_ADDR), "127.0.0.1");
	assert_int_equal(ev_u64(ev, WARD_F_REMOTE_PORT), netrun.port);
	assert_string_equal(ev_str(ev, WARD_F_LOCAL_ADDR), "127.0.0.1");
	assert_int_equal(ev_u64(ev, WARD_F_LOCAL_PORT), netrun.client_port);
	free((void *)ev);
}

static void test_accept(void **state)
{
	run_net_once();
	const ward_event *ev = expect_event(WARD_EV_ACCEPT, netpid, NULL);
	assert_non_null(ev);
	assert_process(ev, netpid);
	assert_true(ev_i64(ev, WARD_F_RESULT) >= 0);
	assert_int_equal(ev_u64(ev, WARD_F_LOCAL_PORT), netrun.port);
	assert_int_equal(ev_u64(ev, WARD_F_REMOTE_PORT), netrun.client_port);
	assert_string_equal(ev_str(ev, WARD_F_REMOTE_ADDR), "127.0.0.1");
	free((void *)ev);
}

/* ---- privilege and process control ---- */

static int do_setuid(void *arg)
{
	/* first away from root, so that the second call's old ids are not 0:
	 * an old id of 0 must come from the saved ids, not from missing ones */
	if (setresuid(-1, 1000, -1))
		return 1;
	if (setresuid(-1, 0, -1)) /* back: 0 is still the real and saved uid */
		return 2;
	return setresuid(65534, 65534, 65534) ? 3 : 0;
}

static void test_setuid(void **state)
{
	int st;
	pid_t pid = run_child(do_setuid, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_SETUID, pid, NULL);
	assert_non_null(ev);
	assert_int_equal(ev_u64(ev, WARD_F_OLD_EUID), geteuid());
	assert_int_equal(ev_u64(ev, WARD_F_NEW_EUID), 1000);
	assert_int_equal(ev_u64(ev, WARD_F_NEW_UID), getuid());
	free((void *)ev);
	ev = expect_event(WARD_EV_SETUID, pid, NULL);
	assert_non_null(ev);
	assert_int_equal(ev_u64(ev, WARD_F_OLD_EUID), 1000); /* saved at entry, not 0 */
	assert_int_equal(ev_u64(ev, WARD_F_NEW_EUID), 0);
	free((void *)ev);
	ev = expect_event(WARD_EV_SETUID, pid, NULL);
	assert_non_null(ev);
	assert_int_equal(ev_u64(ev, WARD_F_PID), pid);
	assert_string_equal(ev_str(ev, WARD_F_SYSCALL), "setresuid");
	assert_int_equal(ev_u64(ev, WARD_F_OLD_UID), getuid());
	assert_int_equal(ev_u64(ev, WARD_F_OLD_EUID), geteuid());
	assert_int_equal(ev_u64(ev, WARD_F_OLD_SUID), 0);
	assert_int_equal(ev_u64(ev, WARD_F_NEW_UID), 65534);
	assert_int_equal(ev_u64(ev, WARD_F_NEW_EUID), 65534);
	assert_int_equal(ev_u64(ev, WARD_F_NEW_SUID), 65534);
	/* the acting process's ids are the new ones */
	assert_int_equal(ev_u64(ev, WARD_F_UID), 65534);
	assert_int_equal(ev_i64(ev, WARD_F_RESULT), 0);
	free((void *)ev);
}

static int do_capset(void *arg)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d))
		return 1;
	d[0].effective &= ~(1u << CAP_NET_RAW);
	d[0].permitted &= ~(1u << CAP_NET_RAW);
	return syscall(SYS_capset, &h, d) ? 2 : 0;
}

static void test_capset(void **state)
{
	int st;
	pid_t pid = run_child(do_capset, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_CAPSET, pid, NULL);
	assert_non_null(ev);
	assert_process(ev, pid);
	uint64_t eff = ev_u64(ev, WARD_F_CAP_EFFECTIVE), old = ev_u64(ev, WARD_F_OLD_CAP_EFFECTIVE);
	assert_false(eff & (1ull << CAP_NET_RAW));
	assert_true(old & (1ull << CAP_NET_RAW));
	assert_int_equal(old & ~(1ull << CAP_NET_RAW), eff);
	assert_int_equal(ev_i64(ev, WARD_F_RESULT), 0);
	free((void *)ev);
}

static pid_t victim;

static int do_ptrace_and_signal(void *arg)
{
	pid_t v = fork();
	if (v == 0) {
		for (;;)
			pause();
	}
	if (ptrace(PTRACE_ATTACH, v, NULL, NULL))
		return 1;
	int st;
	waitpid(v, &st, 0);
	ptrace(PTRACE_DETACH, v, NULL, NULL);
	syscall(SYS_tgkill, v, v, SIGCONT);
	kill(v, SIGKILL);
	waitpid(v, &st, 0);
	return v & 0x7f;
}

static void test_ptrace(void **state)
{
	int st;
	pid_t pid = run_child(do_ptrace_and_signal, NULL, &st);
	const ward_event *ev = expect_event(WARD_EV_PTRACE, pid, NULL);
	assert_non_null(ev);
	assert_process(ev, pid);
	assert_int_equal(ev_u64(ev, WARD_F_REQUEST), PTRACE_ATTACH);
	victim = (pid_t)ev_i64(ev, WARD_F_TARGET_PID);
	assert_int_equal(victim & 0x7f, WEXITSTATUS(st));
	assert_int_equal(ev_i64(ev, WARD_F_RESULT), 0);
	free((void *)ev);

	ev = expect_event(WARD_EV_SIGNAL, pid, NULL);
	assert_non_null(ev);
	assert_string_equal(ev_str(ev, WARD_F_SYSCALL), "tgkill");
	assert_int_equal(ev_i64(ev, WARD_F_TARGET_PID), victim);
	assert_int_equal(ev_i64(ev, WARD_F_TARGET_TID), victim);
	assert_int_equal(ev_u64(ev, WARD_F_SIGNAL), SIGCONT);
	free((void *)ev);
}

static int do_kill(void *arg)
{
	pid_t v = fork();
	if (v == 0) {
		for (;;)
			pause();
	}
	int st;
	kill(v, SIGUSR1);
	waitpid(v, &st, 0);
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1 ? 0 : 1;
}

static void test_signal(void **state)
{
	int st;
	pid_t pid = run_child(do_kill, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_SIGNAL, pid, NULL);
	assert_non_null(ev);
	assert_process(ev, pid);
	assert_string_equal(ev_str(ev, WARD_F_SYSCALL), "kill");
	assert_int_equal(ev_u64(ev, WARD_F_SIGNAL), SIGUSR1);
	assert_true(ev_i64(ev, WARD_F_TARGET_PID) > 0);
	assert_int_equal(ev_i64(ev, WARD_F_RESULT), 0);
	free((void *)ev);
}

/* ---- system ---- */

static int do_module(void *arg)
{
	/* Not a module: the kernel refuses it, and the attempt is the event. */
	int fd = open(p1, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	long r = syscall(SYS_finit_module, fd, "ward_param=1", 0);
	return r == 0 ? 2 : 0;
}

/* Whether wardd reports @syscall as absent from this kernel. */
static int syscall_not_in_kernel(const char *syscall)
{
	char *json = NULL;
	assert_int_equal(ward_client_status_json(harness_client(), &json), 0);
	char needle[64];
	snprintf(needle, sizeof(needle), "\"%s\"", syscall);
	const char *absent = strstr(json, "\"syscalls_not_in_kernel\"");
	const char *end = absent ? strchr(absent, ']') : NULL;
	const char *hit = absent ? strstr(absent, needle) : NULL;
	int r = hit && hit < end;
	free(json);
	return r;
}

static void test_module_load(void **state)
{
	if (syscall_not_in_kernel("finit_module")) {
		/* the tracepoint backend on a kernel without module support:
		 * the syscall cannot load anything, and there is no tracepoint
		 * to see the attempt (the raw backend run of this suite does) */
		assert_int_equal(access("/proc/modules", F_OK), -1);
		skip();
	}
	paths("not-a-module.ko", NULL);
	int fd = open(p1, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "garbage, not ELF\n", 17), 17);
	close(fd);
	int st;
	pid_t pid = run_child(do_module, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_MODULE_LOAD, pid, p1);
	assert_non_null(ev);
	assert_process(ev, pid);
	assert_string_equal(ev_str(ev, WARD_F_ARGS), "ward_param=1");
	assert_string_equal(ev_str(ev, WARD_F_SYSCALL), "finit_module");
	assert_true(ev_i64(ev, WARD_F_RESULT) < 0);
	free((void *)ev);
}

static int do_bpf(void *arg)
{
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr a;
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	a.insns = (uintptr_t)insns;
	a.insn_cnt = 2;
	a.license = (uintptr_t) "GPL";
	strcpy(a.prog_name, "ward_test");
	int fd = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof(a));
	return fd < 0 ? 1 : 0;
}

static void test_bpf(void **state)
{
	int st;
	pid_t pid = run_child(do_bpf, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_BPF, pid, NULL);
	assert_non_null(ev);
	assert_process(ev, pid);
	assert_int_equal(ev_u64(ev, WARD_F_BPF_CMD), BPF_PROG_LOAD);
	assert_int_equal(ev_u64(ev, WARD_F_PROG_TYPE), BPF_PROG_TYPE_SOCKET_FILTER);
	assert_int_equal(ev_u64(ev, WARD_F_INSN_COUNT), 2);
	assert_string_equal(ev_str(ev, WARD_F_NAME), "ward_test");
	assert_true(ev_i64(ev, WARD_F_RESULT) >= 0);
	free((void *)ev);
}

static int do_mount(void *arg)
{
	/* a private mount namespace: nothing outside the child sees the mount */
	if (unshare(CLONE_NEWNS) || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL))
		return 1;
	if (mount("wardtest", p1, "tmpfs", MS_NOSUID, "size=1m"))
		return 2;
	return umount2(p1, MNT_DETACH) ? 3 : 0;
}

static pid_t mountpid;

static void run_mount_once(void)
{
	if (mountpid)
		return;
	paths("mnt", NULL);
	assert_int_equal(mkdir(p1, 0755), 0);
	int st;
	mountpid = run_child(do_mount, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_mount(void **state)
{
	run_mount_once();
	paths("mnt", NULL);
	const ward_event *ev = expect_event(WARD_EV_MOUNT, mountpid, p1);
	assert_non_null(ev);
	assert_process(ev, mountpid);
	assert_string_equal(ev_str(ev, WARD_F_SOURCE), "wardtest");
	assert_string_equal(ev_str(ev, WARD_F_FSTYPE), "tmpfs");
	assert_int_equal(ev_u64(ev, WARD_F_FLAGS), MS_NOSUID);
	assert_int_equal(ev_i64(ev, WARD_F_RESULT), 0);
	free((void *)ev);
}

static void test_umount(void **state)
{
	run_mount_once();
	paths("mnt", NULL);
	const ward_event *ev = expect_event(WARD_EV_UMOUNT, mountpid, p1);
	assert_non_null(ev);
	assert_process(ev, mountpid);
	assert_int_equal(ev_u64(ev, WARD_F_FLAGS), MNT_DETACH);
	assert_int_equal(ev_i64(ev, WARD_F_RESULT), 0);
	free((void *)ev);
}

static int do_memfd(void *arg)
{
	int fd = memfd_create("ward-memfd", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	return fd < 0 ? 1 : 0;
}

static void test_memfd_create(void **state)
{
	int st;
	pid_t pid = run_child(do_memfd, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_MEMFD_CREATE, pid, NULL);
	assert_non_null(ev);
	assert_process(ev, pid);
	assert_string_equal(ev_str(ev, WARD_F_NAME), "ward-memfd");
	assert_int_equal(ev_u64(ev, WARD_F_FLAGS), MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(ev_i64(ev, WARD_F_RESULT) >= 0);
	free((void *)ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_exit),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_unlink),
		cmocka_unit_test(test_rename),
		cmocka_unit_test(test_chmod),
		cmocka_unit_test(test_chown),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_link),
		cmocka_unit_test(test_symlink),
		cmocka_unit_test(test_connect),
		cmocka_unit_test(test_bind),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_setuid),
		cmocka_unit_test(test_capset),
		cmocka_unit_test(test_ptrace),
		cmocka_unit_test(test_signal),
		cmocka_unit_test(test_module_load),
		cmocka_unit_test(test_bpf),
		cmocka_unit_test(test_mount),
		cmocka_unit_test(test_umount),
		cmocka_unit_test(test_memfd_create),
	};
	return cmocka_run_group_tests_name("events", tests, harness_group_setup, harness_group_teardown);
}
