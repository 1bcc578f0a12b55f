/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_content — signed content bundles through a real wardd, its
 * supervisor and the `ward` CLI (docs/content.md):
 *
 *   - every refusal (bad signature, too few signatures, rollback, expiry,
 *     hash mismatch, another client, truncated, oversized) changes
 *     nothing, and a good bundle verifies with Debian's `minisign -V`;
 *   - a payload the client's own parser rejects is never activated;
 *   - a shadow that crashes, misses deadlines or denies what the active
 *     content allows is rejected, and the enforced verdicts never change;
 *   - content that passes its shadow and then crash-loops rolls back to
 *     last-known-good by itself, with a NOTIFY event and a status line;
 *   - pin and pause hold a newer bundle back;
 *   - the example client block takes its lists from its active bundle.
 *
 * Clients are fault_client (tests/faults) and examples/block, with a root
 * of trust of three minisign keys and a threshold of two.
 */
#include <errno.h>
#include <fcntl.h>
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

/* paths here are short (under /tmp); a truncated one fails the test anyway */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define UID_C 61021
#define CLI WARD_CLI_PATH

static char keys[1024], blk_bin[1100], blk_sha[65];

static int start(void)
{
	fc_wardd_options();
	return harness_start();
}

static int teardown(void **state)
{
	(void)state;
	harness_stop();
	return 0;
}

/* A manifest for fault_client @name taking content, baked @bake_s. */
static void manifest(const char *name, int bake_s, const char *more)
{
	char extra[4096];
	snprintf(extra, sizeof(extra),
		 "content:\n"
		 "  trust: %s/root\n"
		 "  max_bytes: 64K\n"
		 "  bake_s: %d\n"
		 "  rollback: {crashes: 2, window_s: 60}\n"
		 "%s",
		 keys, bake_s, more ? more : "");
	fc_manifest(name, UID_C, "healthy", NULL, 500, extra);
}

/* Sign @payload_text as version @v for @client into fc_root/b/@out, with
 * keys @signers ("-k K1 -k K2"); @more: more `ward content sign` options. */
static void make_bundle(const char *out, const char *client, int v, const char *payload_text, const char *signers,
			const char *more)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/b/%s.txt", fc_root, out);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(payload_text, f);
	fclose(f);
	assert_int_equal(fc_run("rm -f '%s/b/%s' '%s/b/%s.minisig' && %s content sign %s --client %s --version %d %s "
				"'%s' -o '%s/b/%s' >/dev/null",
				fc_root, out, fc_root, out, CLI, signers, client, v, more ? more : "", p, fc_root, out),
			 0);
}

static const char *two_keys(void)
{
	static char s[3 * PATH_MAX];
	snprintf(s, sizeof(s), "-k %s/k1.key -k %s/k2.key", keys, keys);
	return s;
}

/* One request; returns the reply (owned by the caller). */
static json_object *request(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_object *request(const char *fmt, ...)
{
	char req[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(req, sizeof(req), fmt, ap);
	va_end(ap);
	char *text = NULL;
	int r = ward_client_content(harness_client(), req, &text);
	if (r) {
		fprintf(stderr, "request %s: %s\n", req, ward_strerror(r));
		return NULL;
	}
	json_object *o = json_tokener_parse(text);
	free(text);
	return o;
}

/* Install fc_root/b/@file for @client: "" when accepted, else the error code. */
static const char *install(const char *client, const char *file)
{
	static char code[64];
	json_object *o = request("{\"op\":\"install\",\"client\":\"%s\",\"bundle\":\"%s/b/%s\"}", client, fc_root, file);
	assert_non_null(o);
	if (json_object_get_boolean(fc_get(o, "ok")))
		code[0] = '\0';
	else
		snprintf(code, sizeof(code), "%s", json_object_get_string(fc_get(o, "error")));
	if (code[0])
		fprintf(stderr, "install %s: %s: %s\n", file, code, json_object_get_string(fc_get(o, "message")));
	json_object_put(o);
	return code;
}

/* @client's content status (owned by the caller). */
static json_object *cstatus(const char *client)
{
	json_object *o = request("{\"op\":\"status\",\"client\":\"%s\"}", client);
	json_object *arr = fc_get(o, "content");
	json_object *c = arr && json_object_array_length(arr) ? json_object_get(json_object_array_get_idx(arr, 0)) : NULL;
	json_object_put(o);
	return c;
}

static uint64_t active_of(const char *client)
{
	json_object *c = cstatus(client);
	uint64_t v = fc_u64(c, "active");
	json_object_put(c);
	return v;
}

static int was_rejected(json_object *c, uint64_t v)
{
	json_object *r = fc_get(c, "rejected");
	for (size_t i = 0; r && i < json_object_array_length(r); i++)
		if (json_object_get_uint64(json_object_array_get_idx(r, i)) == v)
			return 1;
	return 0;
}

/* Wait (bounded) until @client's active version is @v, or @v is rejected:
 * returns 1 (active), 0 (rejected) or -1; the "last" line into @last. */
static int settle(const char *client, uint64_t v, int timeout_s, char *last, size_t lastlen)
{
	for (long t0 = fc_now_ms(); fc_now_ms() - t0 < timeout_s * 1000L; usleep(100000)) {
		json_object *c = cstatus(client);
		int res = fc_u64(c, "active") == v ? 1 : was_rejected(c, v) ? 0 : -1;
		if (res == 0 && !last)
			fprintf(stderr, "%s v%llu rejected: %s\n", client, (unsigned long long)v,
				json_object_get_string(fc_get(c, "last")));
		if (last)
			snprintf(last, lastlen, "%s", c && fc_get(c, "last") ? json_object_get_string(fc_get(c, "last")) : "");
		json_object_put(c);
		if (res == 0 && last)
			fprintf(stderr, "%s v%llu rejected: %s\n", client, (unsigned long long)v, last);
		if (res >= 0)
			return res;
	}
	if (timeout_s)
		fprintf(stderr, "%s v%llu neither active nor rejected after %d s\n", client, (unsigned long long)v,
			timeout_s);
	return -1;
}

/* A copy of /bin/true on the AUTH-marked tmpfs: 0 when its exec worked. */
static int exec_in_auth(const char *name)
{
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/%s", harness_auth_dir(), name);
	if (access(p, X_OK))
		fc_run("cp /bin/true '%s' && chmod 0755 '%s'", p, p);
	return fc_run("'%s' 2>/dev/null", p);
}

static void first_version(const char *client)
{
	make_bundle("v1", client, 1, "mode healthy\n", two_keys(), NULL);
	assert_string_equal(install(client, "v1"), "");
	char last[512];
	assert_int_equal(settle(client, 1, 30, last, sizeof(last)), 1);
}

/* ---- refusals ---- */

static void t_refusals(void **state)
{
	(void)state;
	assert_int_equal(fc_fresh_dirs(), 0);
	manifest("fc", 1, NULL);
	assert_int_equal(start(), 0);
	first_version("fc");
	/* Debian's minisign verifies what ward signed (the first signature) */
	assert_int_equal(fc_run("minisign -Vq -m '%s/b/v1' -x '%s/b/v1.minisig' -p '%s/k1.pub'", fc_root, fc_root, keys),
			 0);

	/* a bad signature: one byte of the signed file changed */
	make_bundle("bad", "fc", 2, "mode healthy\n", two_keys(), NULL);
	fc_run("f='%s/b/bad'; printf 'X' | dd of=\"$f\" bs=1 seek=$(($(stat -c %%s \"$f\") - 3)) conv=notrunc "
	       "2>/dev/null", fc_root);
	assert_string_equal(install("fc", "bad"), "bad_signature");
	/* too few signatures: one key of the two needed */
	char one[PATH_MAX + 8];
	snprintf(one, sizeof(one), "-k %s/k1.key", keys);
	make_bundle("few", "fc", 2, "mode healthy\n", one, NULL);
	assert_string_equal(install("fc", "few"), "too_few_signatures");
	/* the same version again, and an older one */
	make_bundle("same", "fc", 1, "mode healthy\n", two_keys(), NULL);
	assert_string_equal(install("fc", "same"), "rollback");
	/* expired metadata (a freeze) */
	make_bundle("old", "fc", 3, "mode healthy\n", two_keys(),
		    "--created 2020-01-01T00:00:00Z --expires 2020-02-01T00:00:00Z");
	assert_string_equal(install("fc", "old"), "expired");
	/* a payload that is not the one the signed metadata names: the file
	 * re-signed after the payload was swapped */
	make_bundle("swap", "fc", 4, "mode healthy\n", two_keys(), NULL);
	fc_run("f='%s/b/swap'; n=$(stat -c %%s \"$f\"); printf 'mode healthX\\n' | dd of=\"$f\" bs=1 seek=$((n-13)) "
	       "conv=notrunc 2>/dev/null; rm -f \"$f.minisig\"; %s content sign %s --append \"$f\" >/dev/null",
	       fc_root, CLI, two_keys());
	assert_string_equal(install("fc", "swap"), "hash_mismatch");
	/* a bundle for another client */
	make_bundle("other", "someone-else", 5, "mode healthy\n", two_keys(), NULL);
	assert_string_equal(install("fc", "other"), "wrong_client");
	/* truncated, and oversized (max_bytes 64K) */
	make_bundle("cut", "fc", 6, "mode healthy\n", two_keys(), NULL);
	fc_run("truncate -s -1 '%s/b/cut'", fc_root);
	assert_string_equal(install("fc", "cut"), "truncated");
	char big[80 * 1024];
	memset(big, '#', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	make_bundle("big", "fc", 7, big, two_keys(), NULL);
	assert_string_equal(install("fc", "big"), "oversized");

	/* nothing changed */
	json_object *c = cstatus("fc");
	assert_int_equal(fc_u64(c, "active"), 1);
	assert_int_equal(fc_u64(c, "highest"), 1);
	assert_null(fc_get(c, "candidate"));
	json_object_put(c);
	/* and the next good one still goes in */
	make_bundle("v2", "fc", 2, "mode healthy\n", two_keys(), NULL);
	assert_string_equal(install("fc", "v2"), "");
	assert_int_equal(settle("fc", 2, 30, NULL, 0), 1);
}

/* ---- the client's own parser ---- */

static void t_parser_rejects(void **state)
{
	(void)state;
	assert_int_equal(fc_fresh_dirs(), 0);
	manifest("fc", 1, NULL);
	assert_int_equal(start(), 0);
	first_version("fc");
	/* one record with more fields than the schema has */
	make_bundle("v2", "fc", 2, "mode healthy\ndeny /x extra-field\n", two_keys(), NULL);
	assert_string_equal(install("fc", "v2"), "");
	char last[512];
	assert_int_equal(settle("fc", 2, 30, last, sizeof(last)), 0);
	assert_non_null(strstr(last, "parser"));
	assert_int_equal(active_of("fc"), 1);
	/* it never ran, neither as shadow nor active */
	char p[PATH_MAX + 64], line[256];
	snprintf(p, sizeof(p), "%s/state/fc/content", fc_root);
	FILE *f = fopen(p, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		assert_null(strstr(line, " 2 "));
	fclose(f);
}

/* ---- shadows and their gates ---- */

static void t_shadow_gates(void **state)
{
	(void)state;
	assert_int_equal(fc_fresh_dirs(), 0);
	manifest("fc", 3, NULL);
	assert_int_equal(start(), 0);
	first_version("fc");
	char last[512];

	/* a shadow that crashes */
	make_bundle("v2", "fc", 2, "mode segv\n", two_keys(), NULL);
	assert_string_equal(install("fc", "v2"), "");
	assert_int_equal(settle("fc", 2, 30, last, sizeof(last)), 0);
	assert_non_null(strstr(last, "crashed"));

	/* a shadow that misses its deadlines */
	make_bundle("v3", "fc", 3, "mode hang-auth\n", two_keys(), NULL);
	assert_string_equal(install("fc", "v3"), "");
	for (int i = 0; i < 40 && settle("fc", 3, 0, NULL, 0) < 0; i++) {
		assert_int_equal(exec_in_auth("allowed"), 0); /* decided by the active: allowed */
		usleep(100000);
	}
	assert_int_equal(settle("fc", 3, 30, last, sizeof(last)), 0);
	assert_non_null(strstr(last, "deadline"));

	/* a shadow that denies what the active content allows: the exec
	 * still works (enforced verdicts never change), and the bundle goes */
	char deny[PATH_MAX + 32];
	snprintf(deny, sizeof(deny), "deny %s/victim\n", harness_auth_dir());
	make_bundle("v4", "fc", 4, deny, two_keys(), NULL);
	assert_string_equal(install("fc", "v4"), "");
	int execs = 0;
	for (int i = 0; i < 40 && settle("fc", 4, 0, NULL, 0) < 0; i++, execs++) {
		assert_int_equal(exec_in_auth("victim"), 0);
		usleep(100000);
	}
	assert_true(execs > 0);
	assert_int_equal(settle("fc", 4, 30, last, sizeof(last)), 0);
	assert_non_null(strstr(last, "differ"));
	assert_int_equal(active_of("fc"), 1);
	assert_int_equal(exec_in_auth("victim"), 0);
}

/* ---- rollback after promotion ---- */

static void t_rollback(void **state)
{
	(void)state;
	assert_int_equal(fc_fresh_dirs(), 0);
	manifest("fc", 1, NULL);
	assert_int_equal(start(), 0);
	first_version("fc");
	drain_events();
	/* fine for its 1 s shadow, then it aborts 1.5 s after each start */
	make_bundle("v2", "fc", 2, "mode healthy\ncrash_after_ms 1500\n", two_keys(), NULL);
	assert_string_equal(install("fc", "v2"), "");
	assert_int_equal(settle("fc", 2, 30, NULL, 0), 1);
	char last[512] = "";
	int back = 0;
	for (long t0 = fc_now_ms(); !back && fc_now_ms() - t0 < 30000; usleep(100000)) {
		json_object *c = cstatus("fc");
		back = fc_u64(c, "active") == 1 && was_rejected(c, 2);
		snprintf(last, sizeof(last), "%s", json_object_get_string(fc_get(c, "last")));
		json_object_put(c);
	}
	assert_true(back);
	assert_non_null(strstr(last, "rolled back from v2 to v1"));
	assert_non_null(strstr(last, "crashes within"));
	/* the NOTIFY event says so too */
	int seen = 0;
	const ward_event *ev;
	for (long t0 = fc_now_ms(); !seen && fc_now_ms() - t0 < 5000;) {
		if (ward_client_next(harness_client(), &ev, 200) <= 0)
			continue;
		if (ward_event_type(ev) == WARD_EV_CONTENT && !strcmp(ev_str(ev, WARD_F_STATE), "rolled_back")) {
			assert_int_equal(ev_u64(ev, WARD_F_VERSION), 1);
			assert_int_equal(ev_u64(ev, WARD_F_FROM_VERSION), 2);
			seen = 1;
		}
	}
	assert_true(seen);
	/* and it stays on v1: not quarantined, running */
	assert_int_equal(active_of("fc"), 1);
	json_object *st = fc_status();
	assert_string_not_equal(json_object_get_string(fc_get(fc_client(st, "fc"), "state")), "quarantined");
	json_object_put(st);
}

/* ---- pin and pause ---- */

static void t_pin_pause(void **state)
{
	(void)state;
	assert_int_equal(fc_fresh_dirs(), 0);
	manifest("fc", 1, NULL);
	assert_int_equal(start(), 0);
	first_version("fc");
	json_object *o = request("{\"op\":\"pause\",\"client\":\"fc\"}");
	assert_true(json_object_get_boolean(fc_get(o, "ok")));
	json_object_put(o);
	make_bundle("v2", "fc", 2, "mode healthy\n", two_keys(), NULL);
	assert_string_equal(install("fc", "v2"), "");
	sleep(3);
	json_object *c = cstatus("fc");
	assert_int_equal(fc_u64(c, "active"), 1);
	assert_string_equal(json_object_get_string(fc_get(fc_get(c, "candidate"), "phase")), "waiting");
	json_object_put(c);
	o = request("{\"op\":\"resume\",\"client\":\"fc\"}");
	json_object_put(o);
	assert_int_equal(settle("fc", 2, 30, NULL, 0), 1);

	/* pinned to 2: 3 waits; unpinned, it goes */
	o = request("{\"op\":\"pin\",\"client\":\"fc\",\"version\":2}");
	assert_true(json_object_get_boolean(fc_get(o, "ok")));
	json_object_put(o);
	make_bundle("v3", "fc", 3, "mode healthy\n", two_keys(), NULL);
	assert_string_equal(install("fc", "v3"), "");
	sleep(3);
	c = cstatus("fc");
	assert_int_equal(fc_u64(c, "active"), 2);
	assert_non_null(strstr(json_object_get_string(fc_get(fc_get(c, "candidate"), "waiting_for")), "pinned"));
	json_object_put(c);
	o = request("{\"op\":\"promote\",\"client\":\"fc\"}");
	assert_false(json_object_get_boolean(fc_get(o, "ok"))); /* pinned: refused */
	json_object_put(o);
	o = request("{\"op\":\"pin\",\"client\":\"fc\",\"version\":0}");
	json_object_put(o);
	assert_int_equal(settle("fc", 3, 30, NULL, 0), 1);
	/* only the versions in use are kept: v3 active, v2 last-known-good */
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/content/fc/v1.payload", fc_root);
	for (int i = 0; i < 50 && access(p, F_OK) == 0; i++)
		usleep(20000); /* removed by wardd's worker */
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "%s/content/fc/v2.payload", fc_root);
	assert_int_equal(access(p, F_OK), 0);
	/* held back by a delay */
	make_bundle("v4", "fc", 4, "mode healthy\n", two_keys(), NULL);
	o = request("{\"op\":\"install\",\"client\":\"fc\",\"bundle\":\"%s/b/v4\",\"delay_s\":3600}", fc_root);
	assert_true(json_object_get_boolean(fc_get(o, "ok")));
	json_object_put(o);
	sleep(3);
	assert_int_equal(active_of("fc"), 3);
}

/* ---- the example client block ---- */

static void t_block(void **state)
{
	(void)state;
	assert_int_equal(fc_fresh_dirs(), 0);
	char text[4096];
	snprintf(text, sizeof(text),
		 "name: block\nexecutable: %s\nsha256: %s\nuser: %u\n"
		 "entitlements: {auth: [auth_exec, auth_open]}\n"
		 "content_dir: %s/content/block\nstate_dir: %s/state/block\n"
		 "content:\n  trust: %s/root\n  bake_s: 1\n",
		 blk_bin, blk_sha, UID_C, fc_root, fc_root, keys);
	fc_write_file("block.yaml", text);
	assert_int_equal(start(), 0);
	char lists[PATH_MAX + 64];
	snprintf(lists, sizeof(lists), "exec %s/denied\n", harness_auth_dir());
	make_bundle("b1", "block", 1, lists, two_keys(), NULL);
	assert_string_equal(install("block", "b1"), "");
	assert_int_equal(settle("block", 1, 30, NULL, 0), 1);
	/* its lists are its active bundle's (the new instance needs a moment) */
	int denied = 0;
	for (int i = 0; i < 50 && !denied; i++, usleep(100000))
		denied = exec_in_auth("denied") != 0;
	assert_true(denied);
	assert_int_equal(exec_in_auth("fine"), 0);
	/* a bad bundle for it: three fields on a line */
	snprintf(lists, sizeof(lists), "exec %s/fine too-many\n", harness_auth_dir());
	make_bundle("b2", "block", 2, lists, two_keys(), NULL);
	assert_string_equal(install("block", "b2"), "");
	char last[512];
	assert_int_equal(settle("block", 2, 30, last, sizeof(last)), 0);
	assert_non_null(strstr(last, "fields"));
	assert_int_equal(active_of("block"), 1);
	assert_int_equal(exec_in_auth("fine"), 0);
	assert_int_not_equal(exec_in_auth("denied"), 0);
}

int main(void)
{
	if (fc_prepare("content")) {
		fprintf(stderr, "test_content: cannot prepare %s\n", fc_root);
		return 1;
	}
	/* three keys, a root of two of them (signed by two), block beside
	 * fault_client where every uid can run it */
	snprintf(keys, sizeof(keys), "%s/keys", fc_root);
	snprintf(blk_bin, sizeof(blk_bin), "%s/bin/block", fc_root);
	if (fc_run("mkdir -p '%s' '%s/b' && cd '%s' && for k in k1 k2 k3; do minisign -G -W -p $k.pub -s $k.key "
		   ">/dev/null || exit 1; done && %s content root -p k1.pub -p k2.pub -p k3.pub --threshold 2 --version 1 "
		   "-o root >/dev/null && %s content sign -k k1.key -k k2.key --append root >/dev/null && "
		   "chmod -R a+rX '%s' && install -m 0755 '%s' '%s'",
		   keys, fc_root, keys, CLI, CLI, fc_root, WARD_BLOCK_PATH, blk_bin)) {
		fprintf(stderr, "test_content: cannot make keys and a root\n");
		return 1;
	}
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", blk_bin);
	FILE *p = popen(cmd, "r");
	if (!p || fscanf(p, "%64s", blk_sha) != 1)
		return 1;
	pclose(p);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(t_refusals, teardown),
		cmocka_unit_test_teardown(t_parser_rejects, teardown),
		cmocka_unit_test_teardown(t_shadow_gates, teardown),
		cmocka_unit_test_teardown(t_rollback, teardown),
		cmocka_unit_test_teardown(t_pin_pause, teardown),
		cmocka_unit_test_teardown(t_block, teardown),
	};
	int failed = cmocka_run_group_tests_name("content", tests, NULL, NULL);
	if (!getenv("WARD_TEST_KEEP"))
		fc_run("rm -rf '%s'", fc_root);
	return failed;
}
