/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_edges.c — the corners of the sensors, each once a bug: 32-bit
 * syscalls, the root directory as a path, directory descriptors of
 * two-path calls, AT_EMPTY_PATH, paths deeper than the walk's bounds, long
 * argument lists, and a renamed signal target.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static char sentinel[PATH_MAX];

static void set_sentinel(const char *name)
{
	snprintf(sentinel, sizeof(sentinel), "%s/%s", test_dir(), name);
}

/* Open the sentinel: its event marks the end of what the child did. */
static void touch_sentinel(void)
{
	int fd = open(sentinel, O_RDONLY);
	if (fd >= 0)
		close(fd);
}

static int do_compat(void *arg)
{
	/* i386 symlink is number 83, which on x86-64 is mkdir: a 64-bit
	 * sensor run for it would report a create.  int 0x80 makes a 32-bit
	 * syscall from this 64-bit process. */
	/* int 0x80 takes 32-bit pointers: the strings must live below 4 GiB */
	char *low = mmap(NULL, 2 * PATH_MAX, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (low == MAP_FAILED)
		return 1;
	char *target = low, *link = low + PATH_MAX;
	strcpy(target, "compat-target");
	snprintf(link, PATH_MAX, "%s/compat-link", test_dir());
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(83), "b"((long)(uintptr_t)target), "c"((long)(uintptr_t)link)
			 : "memory");
	touch_sentinel();
	return ret == 0 ? 0 : 2; /* the symlink itself must have worked */
}

static void test_compat_syscall_not_misread(void **state)
{
	set_sentinel("compat-done");
	int st;
	pid_t pid = run_child(do_compat, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_OPEN, pid, sentinel);
	assert_non_null(ev);
	free((void *)ev);
	/* the child's events before the sentinel have all been received (one
	 * thread's events keep their order): none may be a create */
	assert_int_equal(kept_count(WARD_EV_CREATE, pid), 0);
	assert_int_equal(kept_count(WARD_EV_SYMLINK, pid), 0);
}

static int do_root_paths(void *arg)
{
	if (chdir("/"))
		return 1;
	int fd = open("etc/hostname", O_RDONLY); /* relative to "/" */
	if (fd >= 0)
		close(fd);
	int root = open("/", O_RDONLY | O_DIRECTORY);
	fd = openat(root, "etc/hosts", O_RDONLY);
	if (fd >= 0)
		close(fd);
	return 0;
}

static void test_root_as_cwd_and_dirfd(void **state)
{
	pid_t pid = run_child(do_root_paths, NULL, NULL);
	const ward_event *ev = expect_event(WARD_EV_OPEN, pid, "/etc/hostname");
	assert_non_null(ev);
	free((void *)ev);
	ev = expect_event(WARD_EV_OPEN, pid, "/etc/hosts");
	assert_non_null(ev);
	free((void *)ev);
}

static int do_renameat(void *arg)
{
	char a[PATH_MAX], b[PATH_MAX];
	snprintf(a, sizeof(a), "%s/ra", test_dir());
	snprintf(b, sizeof(b), "%s/rb", test_dir());
	int da = open(a, O_RDONLY | O_DIRECTORY), db = open(b, O_RDONLY | O_DIRECTORY);
	if (da < 0 || db < 0 || chdir("/"))
		return 1;
	if (renameat(da, "f", db, "g"))
		return 2;
	return linkat(db, "g", da, "h", 0) ? 3 : 0;
}

static void test_two_path_dirfds(void **state)
{
	char a[PATH_MAX], b[PATH_MAX], f[PATH_MAX + 8], g[PATH_MAX + 8], h[PATH_MAX + 8];
	snprintf(a, sizeof(a), "%s/ra", test_dir());
	snprintf(b, sizeof(b), "%s/rb", test_dir());
	snprintf(f, sizeof(f), "%s/f", a);
	snprintf(g, sizeof(g), "%s/g", b);
	snprintf(h, sizeof(h), "%s/h", a);
	assert_int_equal(mkdir(a, 0755), 0);
	assert_int_equal(mkdir(b, 0755), 0);
	touch(f);
	int st;
	pid_t pid = run_child(do_renameat, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_RENAME, pid, f);
	assert_non_null(ev);
	assert_string_equal(ev_str(ev, WARD_F_NEW_PATH), g);
	free((void *)ev);
	ev = expect_event(WARD_EV_LINK, pid, g);
	assert_non_null(ev);
	assert_string_equal(ev_str(ev, WARD_F_NEW_PATH), h);
	free((void *)ev);
}

static int do_empty_path(void *arg)
{
	int fd = open(arg, O_RDONLY);
	if (fd < 0 || fchownat(fd, "", 4321, 4321, AT_EMPTY_PATH))
		return 1;
	/* with AT_FDCWD, the empty path is the cwd itself */
	if (chdir(test_dir()) || fchownat(AT_FDCWD, "", 4322, 4322, AT_EMPTY_PATH))
		return 2;
	return 0;
}

static void test_at_empty_path(void **state)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/empty-path", test_dir());
	touch(path);
	int st;
	pid_t pid = run_child(do_empty_path, path, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_CHOWN, pid, path);
	assert_non_null(ev);
	assert_int_equal(ev_i64(ev, WARD_F_OWNER_UID), 4321);
	assert_true(ev_i64(ev, WARD_F_FD) >= 0);
	free((void *)ev);
	ev = expect_event(WARD_EV_CHOWN, pid, test_dir());
	assert_non_null(ev);
	assert_int_equal(ev_i64(ev, WARD_F_OWNER_UID), 4322);
	free((void *)ev);
	assert_int_equal(chown(test_dir(), 0, 0), 0);
}

#define DEPTH 90
#define NAME50 "dddddddddddddddddddddddddddddddddddddddddddddddddd"

static int do_deep(void *arg)
{
	if (chdir(test_dir()))
		return 1;
	for (int i = 0; i < DEPTH; i++)
		if ((mkdir(NAME50, 0755) && errno != EEXIST) || chdir(NAME50))
			return 2;
	int fd = open("leaf", O_CREAT | O_WRONLY, 0644);
	return fd < 0 || fchmod(fd, 0600) ? 3 : 0;
}

static void test_deep_path_is_marked_cut(void **state)
{
	int st;
	pid_t pid = run_child(do_deep, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	for (;;) {
		const ward_event *ev = expect_event(WARD_EV_CHMOD, pid, NULL);
		assert_non_null(ev);
		const char *p = ev_str(ev, WARD_F_PATH);
		/* 90 x 51 bytes exceed the walk's 4 KiB: the top is cut, and
		 * the path says so instead of posing as absolute */
		assert_memory_equal(p, "...", 3);
		assert_int_equal(strcmp(p + strlen(p) - 5, "/leaf"), 0);
		/* a cut path is shown as it is, never joined with the cwd */
		assert_true(strlen(p) <= 4096 + 3);
		free((void *)ev);
		break;
	}
}

static int do_long_argv(void *arg)
{
	char *big = malloc(5001);
	if (!big)
		return 1;
	memset(big, 'a', 5000);
	big[5000] = '\0';
	execl("/bin/true", "true", big, (char *)NULL);
	return 2;
}

static void test_long_argv_is_cut_not_lost(void **state)
{
	pid_t pid = run_child(do_long_argv, NULL, NULL);
	const ward_event *ev = expect_event(WARD_EV_EXEC, pid, NULL);
	assert_non_null(ev);
	const char *argv;
	size_t len;
	assert_int_equal(ward_event_str(ev, WARD_F_ARGV, &argv, &len), 0);
	assert_string_equal(argv, "true");
	assert_true(len >= 4000 && len <= 4096);
	assert_int_equal(argv[5], 'a');
	assert_int_equal(ev_u64(ev, WARD_F_ARGV_TRUNCATED), 1);
	free((void *)ev);
}

static int do_signal_renamed(void *arg)
{
	int p[2];
	if (pipe(p))
		return 1;
	pid_t v = fork();
	if (v == 0) {
		prctl(PR_SET_NAME, "renamed-victim");
		touch_sentinel(); /* an event under the new name */
		char c = 0;
		/* tell the parent the name is set, then wait to be killed */
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	char c;
	if (read(p[0], &c, 1) != 1)
		return 2;
	kill(v, SIGTERM);
	waitpid(v, NULL, 0);
	return 0;
}

static void test_signal_target_comm(void **state)
{
	set_sentinel("renamed");
	pid_t pid = run_child(do_signal_renamed, NULL, NULL);
	const ward_event *ev = expect_event(WARD_EV_SIGNAL, pid, NULL);
	assert_non_null(ev);
	assert_int_equal(ev_u64(ev, WARD_F_SIGNAL), SIGTERM);
	/* the target's name as wardd last saw it act, not its executable's */
	assert_string_equal(ev_str(ev, WARD_F_TARGET_COMM), "renamed-victim");
	free((void *)ev);
}

static int do_open_sentinel(void *arg)
{
	touch_sentinel();
	return 0;
}

static void test_muted_cgroup_is_silent(void **state)
{
	set_sentinel("muted-open");
	pid_t muted = run_child_muted(do_open_sentinel, NULL, NULL);
	pid_t loud = run_child(do_open_sentinel, NULL, NULL);
	const ward_event *ev = expect_event(WARD_EV_OPEN, loud, sentinel);
	assert_non_null(ev);
	free((void *)ev);
	/* the muted child ran first, so its events would be here by now */
	assert_int_equal(kept_count(WARD_EV_OPEN, muted), 0);
	assert_int_equal(kept_count(WARD_EV_EXIT, muted), 0);
}

static void *exit_now(void *arg)
{
	pthread_barrier_wait(arg);
	_exit(0);
}

/* Four threads leave at once: the process still has one exit event. */
static int do_threaded_exit(void *arg)
{
	pthread_barrier_t b;
	pthread_barrier_init(&b, NULL, 4);
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, exit_now, &b);
	exit_now(&b);
	return 0;
}

static void test_one_exit_per_process(void **state)
{
	pid_t pids[100];
	for (int i = 0; i < 100; i++)
		pids[i] = run_child(do_threaded_exit, NULL, NULL);
	set_sentinel("threads-done");
	pid_t last = run_child(do_open_sentinel, NULL, NULL);
	const ward_event *ev = expect_event(WARD_EV_OPEN, last, sentinel);
	assert_non_null(ev);
	free((void *)ev);
	for (int i = 0; i < 100; i++)
		assert_int_equal(kept_count(WARD_EV_EXIT, pids[i]), 1);
}

static int do_unix(void *arg)
{
	int a = socket(AF_UNIX, SOCK_STREAM, 0), b = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, "\0ward-abstract", 14); /* abstract: no NUL at the end */
	if (bind(a, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + 14))
		return 1;
	struct sockaddr_un sp = {.sun_family = AF_UNIX};
	snprintf(sp.sun_path, sizeof(sp.sun_path), "%s/ward.sock", test_dir());
	return bind(b, (struct sockaddr *)&sp, sizeof(sp)) ? 2 : 0;
}

static void test_unix_addresses(void **state)
{
	int st;
	pid_t pid = run_child(do_unix, NULL, &st);
	assert_int_equal(WEXITSTATUS(st), 0);
	const ward_event *ev = expect_event(WARD_EV_BIND, pid, NULL);
	assert_non_null(ev);
	assert_int_equal(ev_u64(ev, WARD_F_FAMILY), AF_UNIX);
	assert_string_equal(ev_str(ev, WARD_F_LOCAL_ADDR), "@ward-abstract");
	free((void *)ev);
	ev = expect_event(WARD_EV_BIND, pid, NULL);
	assert_non_null(ev);
	char want[PATH_MAX];
	snprintf(want, sizeof(want), "%s/ward.sock", test_dir());
	assert_string_equal(ev_str(ev, WARD_F_LOCAL_ADDR), want);
	free((void *)ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compat_syscall_not_misread),
		cmocka_unit_test(test_root_as_cwd_and_dirfd),
		cmocka_unit_test(test_two_path_dirfds),
		cmocka_unit_test(test_at_empty_path),
		cmocka_unit_test(test_deep_path_is_marked_cut),
		cmocka_unit_test(test_long_argv_is_cut_not_lost),
		cmocka_unit_test(test_signal_target_comm),
		cmocka_unit_test(test_muted_cgroup_is_silent),
		cmocka_unit_test(test_one_exit_per_process),
		cmocka_unit_test(test_unix_addresses),
	};
	return cmocka_run_group_tests_name("edges", tests, harness_group_setup, harness_group_teardown);
}
