/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_cli.c — the `ward` command against a real wardd: `ward events`
 * prints one JSON object per line in the documented shape, and `ward status`
 * reports what the kernel allows, probed at start.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "harness.h"

static int do_open(void *arg)
{
	int fd = open(arg, O_RDONLY);
	if (fd >= 0)
		close(fd);
	return 0;
}

static json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no \"%s\" in %s", key, json_object_to_json_string(o));
	return v;
}

/* Start `ward @a1 @a2 @a3` (NULLs end the list) with its stdout on a pipe;
 * returns the pipe's read end and sets *pid. */
static int spawn_cli(pid_t *pid, const char *a1, const char *a2, const char *a3)
{
	int out[2];
	assert_int_equal(pipe(out), 0);
	*pid = fork();
	if (*pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execl(WARD_CLI_PATH, "ward", a1, a2, a3, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	return out[0];
}

static void test_events_json_lines(void **state)
{
	pid_t cli;
	int out = spawn_cli(&cli, "events", "--type", "open,exit");
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/cli-sees-this", test_dir());
	FILE *f = fdopen(out, "r");
	assert_non_null(f);
	/* the CLI subscribes asynchronously: open until it shows up */
	char line[65536];
	json_object *ev = NULL;
	for (int tries = 0; tries < 50 && !ev; tries++) {
		pid_t pid = run_child(do_open, path, NULL);
		fd_set rd;
		struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
		while (!ev) {
			FD_ZERO(&rd);
			FD_SET(out, &rd);
			if (select(out + 1, &rd, NULL, NULL, &tv) != 1 || !fgets(line, sizeof(line), f))
				break;
			json_object *o = json_tokener_parse(line);
			assert_non_null(o); /* every line is one JSON object */
			json_object *proc = member(o, "process");
			if (strcmp(json_object_get_string(member(o, "type")), "open") == 0 &&
			    json_object_get_int(member(proc, "pid")) == pid)
				ev = o;
			else
				json_object_put(o);
		}
	}
	assert_non_null(ev);
	assert_string_equal(json_object_get_string(member(ev, "action")), "notify");
	assert_true(json_object_get_int64(member(ev, "seq")) > 0);
	assert_true(json_object_get_int64(member(ev, "global_seq")) > 0);
	regex_t re;
	assert_int_equal(regcomp(&re, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9}Z$",
				 REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regexec(&re, json_object_get_string(member(ev, "time")), 0, NULL, 0), 0);
	regfree(&re);
	json_object *proc = member(ev, "process");
	static const char *const keys[] = {"pid", "ppid", "uid", "gid", "euid", "egid", "comm", "exe",
					   "argv", "cwd", "start_time", "cgroup_id", "container_id"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		member(proc, keys[i]);
	assert_true(json_object_is_type(member(proc, "argv"), json_type_array));
	json_object *file = member(ev, "file");
	assert_string_equal(json_object_get_string(member(file, "path")), path);
	assert_true(json_object_get_int(member(file, "result")) < 0); /* no such file */
	json_object_put(ev);
	kill(cli, SIGTERM);
	int st;
	waitpid(cli, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0); /* SIGTERM ends it cleanly */
	fclose(f);
}

static void test_status_reports_probes(void **state)
{
	pid_t cli;
	int out = spawn_cli(&cli, "status", "--json", NULL);
	static char buf[65536];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof(buf) - 1 && (r = read(out, buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(out);
	int st;
	waitpid(cli, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	json_object *o = json_tokener_parse(buf);
	assert_non_null(o);
	json_object *k = member(o, "kernel");
	assert_true(json_object_get_boolean(member(k, "bpf_raw_tracepoint")));
	assert_true(json_object_get_boolean(member(k, "bpf_ringbuf")));
	/* probed by loading and attaching, so the answer is a verdict */
	const char *lsm = json_object_get_string(member(k, "lsm_bpf_file_open"));
	assert_true(strcmp(lsm, "attached") == 0 || strstr(lsm, "refused") != NULL);
	const char *backend = json_object_get_string(member(member(o, "sensors"), "backend"));
	assert_true(strcmp(backend, "syscall-tracepoints") == 0 || strcmp(backend, "raw-syscall-dispatch") == 0);
	assert_true(json_object_is_type(member(o, "clients"), json_type_array));
	json_object *open_ev = member(member(o, "events"), "open");
	member(open_ev, "seen");
	member(open_ev, "drops");
	json_object_put(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events_json_lines),
		cmocka_unit_test(test_status_reports_probes),
	};
	return cmocka_run_group_tests_name("cli", tests, harness_group_setup, harness_group_teardown);
}
