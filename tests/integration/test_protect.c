/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_protect — self-protection.  wardd runs with --protect on a file and
 * on a directory made for the test:
 *
 *   write_denied   opening them for writing, as root, fails with EPERM
 *                  (open, openat with O_TRUNC, O_RDWR, openat2, creat on an
 *                  existing name); reading still works; each denial is a
 *                  `tamper` event (name "write", prevented 1);
 *   only_while_up  once wardd is gone (SIGKILL), the same write works, and
 *                  is denied again when wardd is back;
 *   kill_ptrace    a signal to wardd and a ptrace of it are `tamper` events
 *                  (prevented 0: this kernel can only report them);
 *   status         `ward status` says what is prevented and what detected.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <ward/ward.h>
#include "harness.h"

static char dir[64], file[96], pdir[96], pfile[128];

static int try_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int try_openat2(const char *path, uint64_t flags)
{
	struct open_how how = {.flags = flags | O_CLOEXEC};
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* A child in the test cgroup does the opens (its events are in scope). */
struct attempt {
	const char *path;
	int flags;
	int openat2;
};

static int attempt_fn(void *arg)
{
	const struct attempt *a = arg;
	int r = a->openat2 ? try_openat2(a->path, (uint64_t)a->flags) : try_open(a->path, a->flags);
	return r == 0 ? 0 : -r;
}

static int attempt(const char *path, int flags, int openat2)
{
	struct attempt a = {path, flags, openat2};
	int status;
	assert_true(run_child(attempt_fn, &a, &status) > 0);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void expect_tamper(const char *name, int prevented)
{
	for (int i = 0; i < 20; i++) {
		const ward_event *ev = expect_event(WARD_EV_TAMPER, 0, NULL);
		assert_non_null(ev);
		int match = !strcmp(ev_str(ev, WARD_F_NAME), name) && (int)ev_u64(ev, WARD_F_PREVENTED) == prevented;
		free((void *)ev);
		if (match)
			return;
	}
	fail_msg("no tamper event %s", name);
}

static void t_write_denied(void **state)
{
	(void)state;
	assert_int_equal(attempt(file, O_WRONLY, 0), EPERM);
	expect_tamper("write", 1);
	assert_int_equal(attempt(file, O_RDWR, 0), EPERM);
	assert_int_equal(attempt(file, O_RDONLY | O_TRUNC, 0), EPERM);
	assert_int_equal(attempt(file, O_WRONLY | O_APPEND, 1), EPERM);
	assert_int_equal(attempt(file, O_WRONLY | O_CREAT | O_TRUNC, 0), EPERM); /* creat() of it */
	assert_int_equal(attempt(pfile, O_WRONLY, 0), EPERM);                   /* in a protected dir */
	/* reading is fine */
	assert_int_equal(attempt(file, O_RDONLY, 0), 0);
	assert_int_equal(attempt(pfile, O_RDONLY, 0), 0);
	/* openat2's flags live in the caller's memory: not trusted, refused */
	assert_int_equal(attempt(pfile, O_RDONLY, 1), EPERM);
	/* a hard link elsewhere is the same file: still refused */
	char hl[160];
	snprintf(hl, sizeof(hl), "%s/hardlink", dir);
	assert_int_equal(link(pfile, hl) == 0 ? 0 : errno, 0);
	assert_int_equal(attempt(hl, O_WRONLY, 0), EPERM);
	unlink(hl);
	/* and the content is unchanged */
	char buf[16] = "";
	FILE *f = fopen(file, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "original\n");
}

static void t_kill_ptrace(void **state)
{
	(void)state;
	pid_t wardd = harness_wardd_pid();
	drain_events();
	/* SIGCONT: harmless to wardd, still a signal aimed at it */
	int status;
	pid_t kid = fork();
	if (kid == 0) {
		char procs[256];
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", harness_cgroup_dir());
		FILE *f = fopen(procs, "w");
		if (f) {
			fprintf(f, "0\n");
			fclose(f);
		}
		kill(wardd, SIGCONT);
		/* seize and let go: wardd is never stopped */
		if (ptrace(PTRACE_SEIZE, wardd, NULL, NULL) == 0)
			ptrace(PTRACE_DETACH, wardd, NULL, NULL);
		_exit(0);
	}
	assert_int_equal(wait_child(kid, &status), 0);
	expect_tamper("kill", 0);
	expect_tamper("ptrace", 0);
	assert_true(kill(wardd, 0) == 0);
}

static void t_status(void **state)
{
	(void)state;
	char *text = NULL;
	assert_int_equal(ward_client_status_json(harness_client(), &text), 0);
	assert_non_null(strstr(text, "\"write_open_of_ward_files\":\"prevented\""));
	assert_non_null(strstr(text, "\"kill\":\"detected\""));
	assert_non_null(strstr(text, "\"writes_denied\":"));
	free(text);
}

static void t_only_while_up(void **state)
{
	(void)state;
	assert_int_equal(harness_kill_wardd(), 0);
	assert_int_equal(try_open(file, O_WRONLY | O_APPEND), 0);
	assert_int_equal(harness_restart_wardd(), 0);
	assert_int_equal(attempt(file, O_WRONLY, 0), EPERM);
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ward-protect-%d", (int)getpid());
	snprintf(file, sizeof(file), "%s/file", dir);
	snprintf(pdir, sizeof(pdir), "%s/dir", dir);
	snprintf(pfile, sizeof(pfile), "%s/inner", pdir);
	if (mkdir(dir, 0755) || mkdir(pdir, 0755))
		return 1;
	FILE *f = fopen(file, "w");
	if (!f)
		return 1;
	fputs("original\n", f);
	fclose(f);
	if (!(f = fopen(pfile, "w")))
		return 1;
	fclose(f);
	harness_wardd_option("--protect");
	harness_wardd_option(file);
	harness_wardd_option("--protect");
	harness_wardd_option(pdir);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_write_denied),
		cmocka_unit_test(t_kill_ptrace),
		cmocka_unit_test(t_status),
		cmocka_unit_test(t_only_while_up),
	};
	int r = cmocka_run_group_tests_name("protect", tests, harness_group_setup, harness_group_teardown);
	unlink(pfile);
	unlink(file);
	rmdir(pdir);
	rmdir(dir);
	return r;
}
