/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_clients — authentication, entitlements and the sandbox, through a
 * real wardd and its supervisor (the integration harness, as in
 * test_faults.c, with manifests written here):
 *
 *   - an unregistered process cannot connect; a registered one started by
 *     hand is recognised by its user and executable;
 *   - an unregistered root process may read events and the status, and
 *     nothing else (--unregistered-root events, wardd's default);
 *   - a registered client gets exactly its manifest's entitlements;
 *   - a manifest whose SHA-256 does not match is not run;
 *   - a sandboxed client cannot read or write outside its directories, has
 *     no capability, cannot become root, is under no_new_privs and seccomp;
 *   - a malformed manifest is skipped with its file and line in the log,
 *     and the others load.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include <ward/ward.h>
#include "common.h"
#include "harness.h"

#define UID_A 61011
#define UID_B 61012
#define UID_NOBODY 61099

static void write_manifest(const char *name, unsigned uid, const char *args, const char *hash)
{
	fc_manifest(name, uid, args, hash, 0, NULL);
}

static int start(const char *unregistered_root)
{
	fc_wardd_options();
	if (unregistered_root) {
		harness_wardd_option("--unregistered-root");
		harness_wardd_option(unregistered_root);
	}
	return harness_start();
}

/* Wait until client @name is in @state; returns 0, or -1 after 15 s. */
static int wait_state(const char *name, const char *state)
{
	char last[2048] = "";
	for (long t0 = fc_now_ms(); fc_now_ms() - t0 < 15000; usleep(50000)) {
		json_object *st = fc_status();
		json_object *arr = fc_get(fc_get(st, "supervisor"), "clients");
		int ok = 0;
		for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
			json_object *c = json_object_array_get_idx(arr, i);
			if (strcmp(json_object_get_string(fc_get(c, "name")), name))
				continue;
			snprintf(last, sizeof(last), "%s", json_object_to_json_string(c));
			ok = !strcmp(json_object_get_string(fc_get(c, "state")), state);
		}
		json_object_put(st);
		if (ok)
			return 0;
	}
	fprintf(stderr, "%s never became %s; last: %s\n", name, state, last);
	return -1;
}

/* The "result" file of client @name, once it exists (bounded wait). */
static char *result_of(const char *name)
{
	static char buf[4096];
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/state/%s/result", fc_root, name);
	for (long t0 = fc_now_ms(); fc_now_ms() - t0 < 15000; usleep(50000)) {
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		return buf;
	}
	return NULL;
}

/* The value of "key=" in @text, as a string (static). */
static const char *value(const char *text, const char *key)
{
	static char v[256];
	char k[64];
	snprintf(k, sizeof(k), "%s=", key);
	const char *p = text;
	while ((p = strstr(p, k)) && p != text && p[-1] != '\n')
		p++;
	if (!p)
		return "(missing)";
	p += strlen(k);
	size_t n = strcspn(p, "\n");
	snprintf(v, sizeof(v), "%.*s", (int)(n < sizeof(v) - 1 ? n : sizeof(v) - 1), p);
	return v;
}

static int teardown(void **state)
{
	(void)state;
	harness_stop();
	return 0;
}

/* fault_client manual as @uid, outside any client cgroup; its exit status
 * is 0 (connected) or the errno of the refusal. */
static int manual_run(uid_t uid, const char *exe)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(uid) || setuid(uid))
			_exit(99);
		execl(exe, "fault_client", "manual", (char *)NULL);
		_exit(98);
	}
	int status = 0;
	for (long t0 = fc_now_ms(); fc_now_ms() - t0 < 10000; usleep(10000))
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return 201;
}

static void t_authentication(void **state)
{
	(void)state;
	assert_int_equal(fc_fresh_dirs(), 0);
	write_manifest("alpha", UID_A, "idle", NULL);
	assert_int_equal(start(NULL), 0);
	assert_int_equal(wait_state("alpha", "running"), 0);
	/* the registered user and executable, started by hand: accepted */
	assert_int_equal(manual_run(UID_A, fc_bin), 0);
	/* nobody's manifest: refused */
	assert_int_equal(manual_run(UID_NOBODY, fc_bin), EACCES);
	/* the right user, another executable (a copy elsewhere): refused */
	char copy[PATH_MAX + 16];
	snprintf(copy, sizeof(copy), "%s/bin/copy", fc_root);
	assert_int_equal(fc_run("install -m 0755 '%s' '%s'", fc_bin, copy), 0);
	assert_int_equal(manual_run(UID_A, copy), EACCES);
	json_object *st = fc_status();
	assert_true(json_object_get_int64(fc_get(fc_get(st, "supervisor"), "refused_unregistered")) >= 2);
	json_object_put(st);
}

static void t_unregistered_root(void **state)
{
	(void)state;
	assert_int_equal(fc_fresh_dirs(), 0);
	assert_int_equal(start("events"), 0);
	ward_client *c = harness_client(); /* fc_root, no manifest */
	uint32_t t[] = {WARD_EV_EXEC, WARD_EV_OPEN};
	assert_int_equal(ward_client_subscribe(c, t, 2), 0);
	char *text = NULL;
	assert_int_equal(ward_client_status_json(c, &text), 0);
	free(text);
	struct ward_auth_sub sub = {.type = WARD_EV_AUTH_EXEC};
	assert_int_equal(ward_client_subscribe_auth(c, &sub, 1, 0), -EPERM);
	struct ward_net_rule rule = {.type = WARD_EV_AUTH_CONNECT, .family = 2, .port_hi = 65535};
	uint32_t id;
	assert_int_equal(ward_client_add_net_rule(c, &rule, &id), -EPERM);
	assert_int_equal(ward_client_clear_cache(c), -EPERM);
}

static void t_entitlements(void **state)
{
	(void)state;
	assert_int_equal(fc_fresh_dirs(), 0);
	write_manifest("entitled", UID_A, "entitle", NULL);
	assert_int_equal(start(NULL), 0);
	const char *r = result_of("entitled");
	assert_non_null(r);
	assert_string_equal(value(r, "subscribe_granted"), "0");
	assert_string_equal(value(r, "subscribe_beyond"), "-1"); /* -EPERM */
	assert_string_equal(value(r, "auth_open"), "-1");
	assert_string_equal(value(r, "auth_file"), "-1");
	assert_string_equal(value(r, "net_rule"), "-1");
	assert_string_equal(value(r, "clear_cache"), "-1");
	assert_string_equal(value(r, "status"), "-1");
	assert_string_equal(value(r, "auth_granted"), "0");
}

static void t_hash_mismatch(void **state)
{
	(void)state;
	assert_int_equal(fc_fresh_dirs(), 0);
	write_manifest("tampered", UID_A, "idle", "0000000000000000000000000000000000000000000000000000000000000000");
	write_manifest("fine", UID_B, "idle", NULL);
	assert_int_equal(start(NULL), 0);
	assert_int_equal(wait_state("fine", "running"), 0);
	assert_int_equal(wait_state("tampered", "failed"), 0);
	json_object *st = fc_status();
	assert_true(json_object_get_int64(fc_get(fc_get(st, "supervisor"), "refused_sha256")) >= 1);
	json_object_put(st);
}

static void t_sandbox(void **state)
{
	(void)state;
	assert_int_equal(fc_fresh_dirs(), 0);
	char outside[PATH_MAX + 32], args[2 * PATH_MAX];
	snprintf(outside, sizeof(outside), "%s/outside.txt", fc_root);
	assert_int_equal(fc_run("echo secret > '%s' && chmod 0644 '%s'", outside, outside), 0);
	snprintf(args, sizeof(args), "escape, '%s'", outside);
	write_manifest("prisoner", UID_A, args, NULL);
	/* a file it may read: in its content directory */
	assert_int_equal(fc_run("mkdir -p -m 0755 '%s/content/prisoner' && echo ok > '%s/content/prisoner/own' && "
			     "chmod 0644 '%s/content/prisoner/own'", fc_root, fc_root, fc_root),
			 0);
	assert_int_equal(start(NULL), 0);
	const char *r = result_of("prisoner");
	assert_int_equal(wait_state("prisoner", "running"), 0);
	assert_non_null(r);
	fprintf(stderr, "%s", r);
	assert_string_equal(value(r, "read_forbidden"), "-13"); /* EACCES: Landlock */
	assert_string_equal(value(r, "read_passwd"), "-13");
	assert_string_not_equal(value(r, "write_tmp"), "0");
	assert_string_not_equal(value(r, "write_content"), "0");
	assert_string_equal(value(r, "read_content"), "0");
	assert_string_equal(value(r, "write_state"), "0");
	assert_string_equal(value(r, "setuid0"), "-1");
	assert_string_equal(value(r, "ptrace"), "-1");
	assert_string_equal(value(r, "unshare"), "-1");
	/* its /proc is out of its reach (Landlock): read it from here */
	json_object *st = fc_status();
	json_object *arr = fc_get(fc_get(st, "supervisor"), "clients");
	assert_non_null(arr);
	pid_t pid = (pid_t)json_object_get_int64(fc_get(json_object_array_get_idx(arr, 0), "pid"));
	json_object_put(st);
	assert_true(pid > 0);
	char path[64], buf[8192];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (char *p = buf; (p = strchr(p, ':')); p++) { /* "Key:\tvalue" -> "Key=value" */
		*p = '=';
		size_t ws = strspn(p + 1, " \t");
		memmove(p + 1, p + 1 + ws, strlen(p + 1 + ws) + 1);
	}
	r = buf;
	assert_string_equal(value(r, "CapEff"), "0000000000000000");
	assert_string_equal(value(r, "CapPrm"), "0000000000000000");
	assert_string_equal(value(r, "CapBnd"), "0000000000000000");
	assert_string_equal(value(r, "CapAmb"), "0000000000000000");
	assert_string_equal(value(r, "NoNewPrivs"), "1");
	assert_string_equal(value(r, "Seccomp"), "2");
}

static void t_bad_manifest(void **state)
{
	(void)state;
	assert_int_equal(fc_fresh_dirs(), 0);
	write_manifest("good", UID_A, "idle", NULL);
	fc_write_file("bad.yaml", "name: bad\nexecutable: relative/path\n");
	assert_int_equal(start(NULL), 0);
	assert_int_equal(wait_state("good", "running"), 0);
	json_object *st = fc_status();
	json_object *sup = fc_get(st, "supervisor");
	assert_int_equal(json_object_get_int64(fc_get(sup, "manifest_errors")), 1);
	const char *e = json_object_get_string(fc_get(sup, "last_manifest_error"));
	assert_non_null(e);
	assert_non_null(strstr(e, "bad.yaml:2:"));
	json_object_put(st);
}

int main(void)
{
	if (fc_prepare("clients")) {
		fprintf(stderr, "test_clients: cannot prepare %s\n", fc_root);
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(t_authentication, teardown),
		cmocka_unit_test_teardown(t_unregistered_root, teardown),
		cmocka_unit_test_teardown(t_entitlements, teardown),
		cmocka_unit_test_teardown(t_hash_mismatch, teardown),
		cmocka_unit_test_teardown(t_sandbox, teardown),
		cmocka_unit_test_teardown(t_bad_manifest, teardown),
	};
	int failed = cmocka_run_group_tests_name("clients", tests, NULL, NULL);
	if (!getenv("WARD_TEST_KEEP"))
		fc_run("rm -rf '%s'", fc_root);
	return failed;
}
