/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_manifest.c — client manifests (daemon/manifest.c): a full manifest
 * and the defaults; every kind of error, each with its file, line and key;
 * the file checks (owner, mode, symbolic links, size); a directory of good,
 * broken and clashing files; and every allocation failing in turn.
 *
 * Allocation failures: the test links with -Wl,--wrap for malloc, calloc,
 * realloc, strdup, asprintf and free, so the calls manifest.c makes go
 * through the counters below (libyaml's own, inside its shared library,
 * do not, and it reports its failures as YAML_MEMORY_ERROR, which the
 * same path handles).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <ward/ward.h>
#include "manifest.h"

/* ---- allocation fault injection ---- */

void *__real_malloc(size_t);
void *__real_calloc(size_t, size_t);
void *__real_realloc(void *, size_t);
char *__real_strdup(const char *);
void __real_free(void *);

static long fail_at = -1; /* the n-th allocation (from 0) fails; -1: none */
static long allocs;       /* allocations made since counting started */
static long live;         /* allocations not freed yet */

static int alloc_fails(void)
{
	return fail_at >= 0 && allocs++ == fail_at;
}

void *__wrap_malloc(size_t n)
{
	if (alloc_fails())
		return NULL;
	void *p = __real_malloc(n);
	live += p != NULL;
	return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
	if (alloc_fails())
		return NULL;
	void *p = __real_calloc(n, size);
	live += p != NULL;
	return p;
}

void *__wrap_realloc(void *old, size_t n)
{
	if (alloc_fails())
		return NULL;
	void *p = __real_realloc(old, n);
	live += p && !old;
	return p;
}

char *__wrap_strdup(const char *s)
{
	if (alloc_fails())
		return NULL;
	char *p = __real_strdup(s);
	live += p != NULL;
	return p;
}

int __wrap_asprintf(char **ret, const char *fmt, ...)
{
	if (alloc_fails()) {
		errno = ENOMEM;
		return -1;
	}
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(ret, fmt, ap);
	va_end(ap);
	live += n >= 0;
	return n;
}

void __wrap_free(void *p)
{
	live -= p != NULL;
	__real_free(p);
}

/* ---- helpers ---- */

#define SHA "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef"
#define SHA_LOWER "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Every key, each with a value other than its default. */
static const char full[] =
	"# a full manifest\n"                                     /* 1 */
	"name: acme-av\n"                                          /* 2 */
	"executable: /opt/acme/bin/avd\n"                          /* 3 */
	"sha256: " SHA "\n"                                        /* 4 */
	"args: [--config, /etc/acme.conf, '', \"8080\", true]\n"   /* 5 */
	"user: nobody\n"                                           /* 6 */
	"enabled: false\n"                                         /* 7 */
	"entitlements:\n"                                          /* 8 */
	"  notify: [exec, open, auth_connect]\n"                   /* 9 */
	"  auth: [auth_exec, auth_open]\n"                         /* 10 */
	"  file_descriptors: true\n"                               /* 11 */
	"  net_rules: True\n"                                      /* 12 */
	"  clear_cache: TRUE\n"                                    /* 13 */
	"auth:\n"                                                  /* 14 */
	"  auth_exec: {deadline_ms: 500, on_miss: deny}\n"         /* 15 */
	"  auth_open:\n"                                           /* 16 */
	"    deadline_ms: 10000\n"                                 /* 17 */
	"limits:\n"                                                /* 18 */
	"  memory: 512M\n"                                         /* 19 */
	"  cpu: 50%\n"                                             /* 20 */
	"  pids: 32\n"                                             /* 21 */
	"  open_files: 2048\n"                                     /* 22 */
	"restart:\n"                                               /* 23 */
	"  policy: always\n"                                       /* 24 */
	"  backoff_initial_ms: 100\n"                              /* 25 */
	"  backoff_max_ms: 60000\n"                                /* 26 */
	"  quarantine_after: 3\n"                                  /* 27 */
	"  quarantine_window_s: 600\n"                             /* 28 */
	"content_dir: /srv/acme/content\n"                         /* 29 */
	"state_dir: \"/srv/acme/state\"\n";                        /* 30 */

/* The required keys only, on lines 1 to 4. */
#define MINIMAL "name: mini\nexecutable: /usr/bin/mini\nsha256: " SHA "\nuser: nobody\n"

static int parse(const char *yaml, struct ward_manifest *m, char *err, size_t errlen)
{
	return manifest_parse_buffer("t.yaml", yaml, strlen(yaml), m, err, errlen);
}

/* Parsing @yaml fails with -EINVAL, leaves the struct alone, and says
 * "t.yaml:LINE:" and @needle. */
static void expect_error_at(const char *yaml, unsigned line, const char *needle, int srcline)
{
	struct ward_manifest m, before;
	memset(&m, 0xa5, sizeof(m));
	memcpy(&before, &m, sizeof(m));
	char err[512], prefix[32];
	long live0 = live;
	int rc = parse(yaml, &m, err, sizeof(err));
	snprintf(prefix, sizeof(prefix), "t.yaml:%u:", line);
	if (rc != -EINVAL || strncmp(err, prefix, strlen(prefix)) || !strstr(err, needle))
		fail_msg("line %d: rc %d, message \"%s\"; wanted -EINVAL, \"%s\" and \"%s\"", srcline, rc,
			 err, prefix, needle);
	assert_memory_equal(&m, &before, sizeof(m));
	assert_int_equal(live, live0);
}
#define expect_error(yaml, line, needle) expect_error_at(yaml, line, needle, __LINE__)

/* ---- parsing ---- */

static void test_full(void **state)
{
	struct ward_manifest m;
	char err[256] = "x";
	assert_int_equal(parse(full, &m, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(m.file, "t.yaml");
	assert_string_equal(m.name, "acme-av");
	assert_int_equal(m.name_line, 2);
	assert_int_equal(m.name_col, 7);
	assert_string_equal(m.executable, "/opt/acme/bin/avd");
	assert_string_equal(m.sha256, SHA_LOWER);
	assert_int_equal(m.nargs, 5);
	assert_string_equal(m.args[0], "--config");
	assert_string_equal(m.args[1], "/etc/acme.conf");
	assert_string_equal(m.args[2], "");
	assert_string_equal(m.args[3], "8080");
	assert_string_equal(m.args[4], "true");
	assert_null(m.args[5]);
	assert_string_equal(m.user, "nobody");
	assert_int_equal(m.uid, 65534);
	assert_false(m.enabled);
	assert_int_equal(m.notify_mask, (1ull << WARD_EV_EXEC) | (1ull << WARD_EV_OPEN) |
					(1ull << WARD_EV_AUTH_CONNECT));
	assert_int_equal(m.auth_mask, (1ull << WARD_EV_AUTH_EXEC) | (1ull << WARD_EV_AUTH_OPEN));
	assert_true(m.file_descriptors);
	assert_true(m.net_rules);
	assert_true(m.clear_cache);
	assert_int_equal(m.auth[WARD_EV_AUTH_EXEC].deadline_ms, 500);
	assert_int_equal(m.auth[WARD_EV_AUTH_EXEC].on_miss, WARD_VERDICT_DENY);
	assert_int_equal(m.auth[WARD_EV_AUTH_OPEN].deadline_ms, 10000);
	assert_int_equal(m.auth[WARD_EV_AUTH_OPEN].on_miss, WARD_VERDICT_ALLOW);
	for (int t = 0; t < WARD_EV_MAX_; t++)
		if (t != WARD_EV_AUTH_EXEC && t != WARD_EV_AUTH_OPEN)
			assert_int_equal(m.auth[t].deadline_ms, 0);
	assert_int_equal(m.limits.memory_bytes, 512ull << 20);
	assert_int_equal(m.limits.cpu_percent, 50);
	assert_int_equal(m.limits.pids, 32);
	assert_int_equal(m.limits.open_files, 2048);
	assert_int_equal(m.restart.policy, MANIFEST_RESTART_ALWAYS);
	assert_int_equal(m.restart.backoff_initial_ms, 100);
	assert_int_equal(m.restart.backoff_max_ms, 60000);
	assert_int_equal(m.restart.quarantine_after, 3);
	assert_int_equal(m.restart.quarantine_window_s, 600);
	assert_string_equal(m.content_dir, "/srv/acme/content");
	assert_string_equal(m.state_dir, "/srv/acme/state");
	manifest_free(&m);
	assert_null(m.name);
	manifest_free(&m); /* zeroed: a no-op */
	manifest_free(NULL);
}

static void test_defaults(void **state)
{
	struct ward_manifest m;
	char err[256];
	long live0 = live;
	assert_int_equal(parse(MINIMAL, &m, err, sizeof(err)), 0);
	assert_int_equal(m.nargs, 0);
	assert_non_null(m.args);
	assert_null(m.args[0]);
	assert_true(m.enabled);
	assert_int_equal(m.notify_mask, 0);
	assert_int_equal(m.auth_mask, 0);
	assert_false(m.file_descriptors);
	assert_false(m.net_rules);
	assert_false(m.clear_cache);
	for (int t = 0; t < WARD_EV_MAX_; t++)
		assert_int_equal(m.auth[t].deadline_ms, 0);
	assert_int_equal(m.limits.memory_bytes, 256ull << 20);
	assert_int_equal(m.limits.cpu_percent, 100);
	assert_int_equal(m.limits.pids, 64);
	assert_int_equal(m.limits.open_files, 1024);
	assert_int_equal(m.restart.policy, MANIFEST_RESTART_ON_FAILURE);
	assert_int_equal(m.restart.backoff_initial_ms, 500);
	assert_int_equal(m.restart.backoff_max_ms, 30000);
	assert_int_equal(m.restart.quarantine_after, 5);
	assert_int_equal(m.restart.quarantine_window_s, 60);
	assert_string_equal(m.content_dir, "/var/lib/ward/content/mini");
	assert_string_equal(m.state_dir, "/var/lib/ward/state/mini");
	manifest_free(&m);
	assert_int_equal(live, live0);

	/* an entitled AUTH type without a policy gets the default one; [all]
	 * is every type; sizes and uids in their other spellings */
	assert_int_equal(parse(MINIMAL "entitlements: {notify: [all], auth: [auth_open]}\n"
			       "limits: {memory: 1048576}\nenabled: true\n", &m, err, sizeof(err)), 0);
	assert_int_equal(m.auth[WARD_EV_AUTH_OPEN].deadline_ms, 1000);
	assert_int_equal(m.auth[WARD_EV_AUTH_OPEN].on_miss, WARD_VERDICT_ALLOW);
	assert_int_equal(m.auth[WARD_EV_AUTH_EXEC].deadline_ms, 0);
	assert_int_equal(m.notify_mask, ((1ull << WARD_EV_MAX_) - 1) & ~1ull);
	assert_int_equal(m.limits.memory_bytes, 1ull << 20);
	manifest_free(&m);
	assert_int_equal(parse("name: n\nexecutable: /x\nsha256: " SHA "\nuser: 4242\n"
			       "limits: {memory: 64G}\n---\n...\n", &m, err, sizeof(err)),
			 -EINVAL); /* a second document, even an empty one */
	assert_int_equal(parse("%YAML 1.1\n---\nname: n\nexecutable: /x\nsha256: " SHA "\nuser: 4242\n"
			       "limits: {memory: 64G}\n...\n", &m, err, sizeof(err)), 0);
	assert_int_equal(m.uid, 4242);
	assert_int_equal(m.limits.memory_bytes, 64ull << 30);
	manifest_free(&m);
	assert_int_equal(live, live0);
}

/* content: (docs/content.md): defaults, every key, and its errors */
static void test_content(void **state)
{
	(void)state;
	struct ward_manifest m;
	char err[256];
	long live0 = live;
	assert_int_equal(parse(MINIMAL, &m, err, sizeof(err)), 0);
	assert_null(m.content.trust); /* takes no content */
	manifest_free(&m);
	assert_int_equal(parse(MINIMAL "content: {trust: /etc/ward/trust/mini.root}\n", &m, err, sizeof(err)), 0);
	assert_string_equal(m.content.trust, "/etc/ward/trust/mini.root");
	assert_string_equal(m.content.channel, "stable");
	assert_int_equal(m.content.max_bytes, 64ull << 20);
	assert_int_equal(m.content.validate_timeout_ms, 10000);
	assert_int_equal(m.content.bake_s, 300);
	assert_int_equal(m.content.delay_s, 0);
	assert_int_equal(m.content.gates.crashes, 0);
	assert_int_equal(m.content.gates.deadline_misses, 0);
	assert_int_equal(m.content.gates.divergence_percent, 1);
	assert_int_equal(m.content.gates.cpu_percent, 200);
	assert_int_equal(m.content.gates.memory_percent, 200);
	assert_int_equal(m.content.rollback.crashes, 3);
	assert_int_equal(m.content.rollback.window_s, 300);
	manifest_free(&m);
	assert_int_equal(parse(MINIMAL "content:\n  trust: /r\n  channel: beta-2\n  max_bytes: 1K\n"
			       "  validate_timeout_ms: 100\n  bake_s: 1\n  delay_s: 60\n"
			       "  gates: {crashes: 1, deadline_misses: 2, divergence_percent: 0, cpu_percent: 100, "
			       "memory_percent: 10000}\n  rollback: {crashes: 1, window_s: 86400}\n",
			       &m, err, sizeof(err)), 0);
	assert_string_equal(m.content.channel, "beta-2");
	assert_int_equal(m.content.max_bytes, 1024);
	assert_int_equal(m.content.bake_s, 1);
	assert_int_equal(m.content.delay_s, 60);
	assert_int_equal(m.content.gates.crashes, 1);
	assert_int_equal(m.content.gates.deadline_misses, 2);
	assert_int_equal(m.content.gates.divergence_percent, 0);
	assert_int_equal(m.content.gates.memory_percent, 10000);
	assert_int_equal(m.content.rollback.window_s, 86400);
	manifest_free(&m);
	assert_int_equal(live, live0);
	expect_error(MINIMAL "content: {channel: beta}\n", 5, "missing required key content.trust");
	expect_error(MINIMAL "content: {trust: relative}\n", 5, "content.trust:");
	expect_error(MINIMAL "content: {trust: /r, channel: Beta}\n", 5, "content.channel: \"Beta\"");
	expect_error(MINIMAL "content: {trust: /r, max_bytes: 2G}\n", 5, "content.max_bytes:");
	expect_error(MINIMAL "content: {trust: /r, bake_s: 0}\n", 5, "content.bake_s:");
	expect_error(MINIMAL "content: {trust: /r, gates: {divergence_percent: 101}}\n", 5,
		     "content.gates.divergence_percent:");
	expect_error(MINIMAL "content: {trust: /r, gates: {speed: 1}}\n", 5, "\"speed\" in content.gates");
	expect_error(MINIMAL "content: {trust: /r, rollback: {crashes: 0}}\n", 5, "content.rollback.crashes:");
	expect_error(MINIMAL "content: /r\n", 5, "content:");
}

static void test_errors(void **state)
{
	/* unknown key, at the top and inside a section */
	expect_error(MINIMAL "colour: red\n", 5, "\"colour\"");
	expect_error(MINIMAL "limits:\n  memory: 1G\n  swap: 1G\n", 7, "\"swap\" in limits");
	/* duplicate key */
	expect_error(MINIMAL "name: again\n", 5, "name: duplicate key (first at line 1)");
	expect_error(MINIMAL "restart: {policy: never, policy: always}\n", 5, "restart.policy: duplicate");
	/* missing required key: reported where the mapping starts */
	expect_error("name: a\nexecutable: /x\nuser: nobody\n", 1, "missing required key sha256");
	/* name */
	expect_error("name: Acme\nexecutable: /x\nsha256: " SHA "\nuser: nobody\n", 1, "name: \"Acme\"");
	expect_error("name: -acme\nexecutable: /x\nsha256: " SHA "\nuser: nobody\n", 1, "name:");
	expect_error("name: a234567890123456789012345678901234567890123456789012345678901234\n"
		     "executable: /x\nsha256: " SHA "\nuser: nobody\n", 1, "name:");
	/* paths */
	expect_error("name: a\nexecutable: bin/avd\nsha256: " SHA "\nuser: nobody\n", 2, "executable:");
	expect_error("name: a\nexecutable: /opt/../bin/sh\nsha256: " SHA "\nuser: nobody\n", 2, "executable:");
	expect_error("name: a\nexecutable: \"/opt/a\\0b\"\nsha256: " SHA "\nuser: nobody\n", 2,
		     "executable: contains a NUL");
	expect_error(MINIMAL "state_dir: relative/state\n", 5, "state_dir:");
	expect_error(MINIMAL "content_dir: /var/lib/..\n", 5, "content_dir:");
	/* sha256 */
	expect_error("name: a\nexecutable: /x\nsha256: 0123\nuser: nobody\n", 3, "sha256: \"0123\"");
	expect_error("name: a\nexecutable: /x\nsha256: " "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
		     "\nuser: nobody\n", 3, "sha256:");
	/* user: root under any spelling, unknown names, bad uids */
	expect_error("name: a\nexecutable: /x\nsha256: " SHA "\nuser: root\n", 4, "user: clients never run as root");
	expect_error("name: a\nexecutable: /x\nsha256: " SHA "\nuser: 0\n", 4, "user: uid 0 is root");
	expect_error("name: a\nexecutable: /x\nsha256: " SHA "\nuser: no-such-user-here\n", 4,
		     "user: no user \"no-such-user-here\"");
	expect_error("name: a\nexecutable: /x\nsha256: " SHA "\nuser: 4294967295\n", 4, "user:");
	expect_error("name: a\nexecutable: /x\nsha256: " SHA "\nuser: \"a b\"\n", 4, "user:");
	/* event types */
	expect_error(MINIMAL "entitlements:\n  notify: [exec, bogus]\n", 6,
		     "entitlements.notify: unknown event type \"bogus\"");
	expect_error(MINIMAL "entitlements:\n  notify: [exec, exec]\n", 6, "entitlements.notify: \"exec\" is listed twice");
	expect_error(MINIMAL "entitlements:\n  notify: [exec, all]\n", 6, "entitlements.notify:");
	expect_error(MINIMAL "entitlements:\n  notify: exec\n", 6, "entitlements.notify: expected a list");
	expect_error(MINIMAL "entitlements:\n  auth: [auth_exec, exec]\n", 6, "entitlements.auth: \"exec\"");
	expect_error(MINIMAL "entitlements:\n  auth: [auth_connect]\n", 6, "entitlements.auth:");
	/* auth: a non-AUTH type; a type not entitled (entitlements after it) */
	expect_error(MINIMAL "auth:\n  exec: {deadline_ms: 10}\n", 6, "auth: \"exec\" is not a type a client answers");
	expect_error(MINIMAL "auth:\n  auth_exec: {}\n  auth_open: {on_miss: deny}\n"
		     "entitlements: {auth: [auth_exec]}\n", 7, "auth.auth_open: a policy for a type the client is not entitled");
	expect_error(MINIMAL "entitlements: {auth: [auth_exec]}\nauth:\n  auth_exec: {}\n  auth_exec: {}\n", 8,
		     "auth.auth_exec: duplicate key");
	/* deadline and on_miss */
	expect_error(MINIMAL "entitlements: {auth: [auth_exec]}\nauth:\n  auth_exec:\n    deadline_ms: 0\n", 8,
		     "auth.auth_exec.deadline_ms: 0 is out of range (1 to 10000)");
	expect_error(MINIMAL "entitlements: {auth: [auth_exec]}\nauth: {auth_exec: {deadline_ms: 10001}}\n", 6,
		     "auth.auth_exec.deadline_ms: 10001 is out of range");
	expect_error(MINIMAL "entitlements: {auth: [auth_exec]}\nauth: {auth_exec: {on_miss: maybe}}\n", 6,
		     "auth.auth_exec.on_miss: \"maybe\" is not allow or deny");
	/* limits */
	expect_error(MINIMAL "limits:\n  memory: 256X\n", 6, "limits.memory: \"256X\" is not a size");
	expect_error(MINIMAL "limits:\n  memory: 256m\n", 6, "limits.memory:");
	expect_error(MINIMAL "limits:\n  memory: 512K\n", 6, "limits.memory: \"512K\" is out of range");
	expect_error(MINIMAL "limits:\n  memory: 65G\n", 6, "limits.memory: \"65G\" is out of range");
	expect_error(MINIMAL "limits:\n  memory: 99999999999999999999G\n", 6, "limits.memory:");
	expect_error(MINIMAL "limits:\n  cpu: 0%\n", 6, "limits.cpu: 0% is out of range");
	char yaml[512], needle[64];
	long over = sysconf(_SC_NPROCESSORS_ONLN) * 100 + 1;
	snprintf(yaml, sizeof(yaml), MINIMAL "limits:\n  cpu: %ld%%\n", over);
	snprintf(needle, sizeof(needle), "limits.cpu: %ld%% is out of range", over);
	expect_error(yaml, 6, needle);
	expect_error(MINIMAL "limits:\n  cpu: 50\n", 6, "limits.cpu: \"50\" is not a percentage");
	expect_error(MINIMAL "limits:\n  pids: 0\n", 6, "limits.pids: 0 is out of range (1 to 32768)");
	expect_error(MINIMAL "limits:\n  open_files: 15\n", 6, "limits.open_files: 15 is out of range");
	expect_error(MINIMAL "limits:\n  pids: \"64\"\n", 6, "limits.pids: expected a number, found the quoted string");
	expect_error(MINIMAL "limits:\n  pids: 064\n", 6, "limits.pids: \"064\" is not a number");
	expect_error(MINIMAL "limits:\n  pids: 0x40\n", 6, "limits.pids:");
	/* restart */
	expect_error(MINIMAL "restart:\n  backoff_max_ms: 100\n  backoff_initial_ms: 200\n", 6,
		     "restart.backoff_max_ms: 100 is less than restart.backoff_initial_ms (200)");
	expect_error(MINIMAL "restart:\n  backoff_initial_ms: 60000\n", 6,
		     "restart.backoff_initial_ms: 60000 is more than restart.backoff_max_ms (30000, the default)");
	expect_error(MINIMAL "restart:\n  policy: sometimes\n", 6, "restart.policy: \"sometimes\"");
	expect_error(MINIMAL "restart:\n  quarantine_after: 1001\n", 6, "restart.quarantine_after:");
	expect_error(MINIMAL "restart:\n  quarantine_window_s: 86401\n", 6, "restart.quarantine_window_s:");
	/* booleans: only true and false */
	expect_error(MINIMAL "enabled: yes\n", 5, "enabled: expected true or false, found \"yes\"");
	expect_error(MINIMAL "enabled: 'true'\n", 5, "enabled: expected true or false, found the quoted string");
	/* anchors, aliases, tags */
	expect_error(MINIMAL "args: &a [x]\nstate_dir: *a\n", 5, "YAML anchor \"a\" in args: anchors and aliases are not allowed");
	expect_error(MINIMAL "args: [x, *a]\n", 5, "YAML alias \"a\" in args");
	expect_error("name: !!str a\nexecutable: /x\nsha256: " SHA "\nuser: nobody\n", 1, "YAML tag \"tag:yaml.org,2002:str\" in name");
	/* documents and the top level */
	expect_error(MINIMAL "---\n" MINIMAL, 5, "a second YAML document");
	expect_error("- name\n- a\n", 1, "a manifest is a mapping of keys");
	expect_error("just words\n", 1, "a manifest is a mapping");
	expect_error("", 1, "empty manifest");
	expect_error("# nothing but a comment\n", 2, "empty manifest");
	/* truncated or malformed YAML: the message says where it broke */
	expect_error(MINIMAL "args: [a, b\n", 6, "not valid YAML in args");
	expect_error(MINIMAL "limits: {memory: 1G\n", 6, "not valid YAML in limits");
	expect_error("name: \"unterminated\n", 2, "not valid YAML");
	expect_error(MINIMAL "args: [a]\n  - b\n", 6, "not valid YAML");
	expect_error(MINIMAL "limits:\n  memory: 1G\n pids: 3\n", 7, "not valid YAML");
	expect_error("name: a\nexecutable: /\xff\n", 2, "not valid YAML");
	/* wrong types, and nesting deeper than the schema */
	expect_error("name: [a, b]\nexecutable: /x\nsha256: " SHA "\nuser: nobody\n", 1,
		     "name: expected a name, found a list");
	expect_error(MINIMAL "executable2: {a: 1}\n", 5, "unknown key \"executable2\"");
	expect_error(MINIMAL "limits:\n  memory: {size: 1G}\n", 6, "limits.memory: expected a size such as 256M, found a mapping");
	expect_error(MINIMAL "args: [a, [b]]\n", 5, "args: expected a string for argument 2, found a list");
	expect_error(MINIMAL "args: [a, ~]\n", 5, "args: expected a string for argument 2, found an empty value");
	expect_error(MINIMAL "limits:\n", 5, "limits: expected a mapping");
	expect_error(MINIMAL "? [complex]\n: key\n", 5, "expected a key, found a list");
	expect_error(MINIMAL "auth: {[x]: 1}\n", 5, "expected a key in auth, found a list");

	/* at most 64 arguments */
	char args[1024] = MINIMAL "args: [";
	for (int i = 0; i < 65; i++)
		strcat(args, i ? ", a" : "a");
	strcat(args, "]\n");
	expect_error(args, 5, "args: more than 64 arguments");
}

/* The message ends in a NUL whatever the buffer's size; bad bytes are
 * escaped; a buffer larger than a manifest is refused. */
static void test_messages(void **state)
{
	struct ward_manifest m;
	char err[16];
	memset(err, 'x', sizeof(err));
	assert_int_equal(parse("colour: red\n", &m, err, sizeof(err)), -EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(parse("colour: red\n", &m, NULL, 0), -EINVAL);

	char big[512];
	assert_int_equal(parse(MINIMAL "state_dir: \"rel\\e[31m\\n\"\n", &m, big, sizeof(big)), -EINVAL);
	assert_non_null(strstr(big, "\"rel\\x1b[31m\\x0a\""));
	assert_null(strchr(big, '\n'));

	char *huge = calloc(1, MANIFEST_FILE_MAX + 2);
	assert_non_null(huge);
	memset(huge, '#', MANIFEST_FILE_MAX + 1);
	assert_int_equal(manifest_parse_buffer("h.yaml", huge, MANIFEST_FILE_MAX + 1, &m, big, sizeof(big)),
			 -EINVAL);
	assert_non_null(strstr(big, "h.yaml: "));
	free(huge);
	/* a NULL name reads as <buffer> */
	assert_int_equal(manifest_parse_buffer(NULL, "x: 1\n", 5, &m, big, sizeof(big)), -EINVAL);
	assert_int_equal(strncmp(big, "<buffer>:1:1: ", 14), 0);
}

/* Every allocation manifest.c makes fails in turn: each run gives -ENOMEM
 * (or, past the last one, success), says so, and leaks nothing. */
static void test_alloc_failures(void **state)
{
	char err[256];
	struct ward_manifest m;
	for (long n = 0;; n++) {
		long live0 = live;
		allocs = 0;
		fail_at = n;
		int rc = parse(full, &m, err, sizeof(err));
		fail_at = -1;
		if (rc == 0) {
			assert_true(n > 10);
			manifest_free(&m);
			assert_int_equal(live, live0);
			break;
		}
		assert_int_equal(rc, -ENOMEM);
		assert_string_equal(err, "t.yaml: out of memory");
		assert_int_equal(live, live0);
	}
}

/* ---- files and directories ---- */

static char dir[64];

static int make_dir(void **state)
{
	strcpy(dir, "/tmp/test_manifest.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *at(const char *name)
{
	static char p[4][128];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void write_file(const char *name, const char *text, mode_t mode)
{
	int fd = open(at(name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void manifest_named(char *out, size_t size, const char *name)
{
	snprintf(out, size, "name: %s\nexecutable: /usr/bin/%s\nsha256: " SHA "\nuser: nobody\n", name, name);
}

static void test_files(void **state)
{
	if (geteuid() != 0)
		skip(); /* manifests must be owned by root */
	struct ward_manifest m;
	char err[512], text[256];
	manifest_named(text, sizeof(text), "good");
	write_file("good.yaml", text, 0644);
	assert_int_equal(manifest_parse_file(at("good.yaml"), &m, err, sizeof(err)), 0);
	assert_string_equal(m.name, "good");
	assert_string_equal(m.file, at("good.yaml"));
	manifest_free(&m);

	/* writable by group: refused, whatever it says */
	write_file("gw.yaml", text, 0664);
	assert_int_equal(manifest_parse_file(at("gw.yaml"), &m, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "gw.yaml: writable by group or others (mode 0664)"));
	write_file("ow.yaml", text, 0646);
	assert_int_equal(manifest_parse_file(at("ow.yaml"), &m, err, sizeof(err)), -EPERM);

	/* not owned by root */
	write_file("nobody.yaml", text, 0644);
	assert_int_equal(chown(at("nobody.yaml"), 65534, 65534), 0);
	assert_int_equal(manifest_parse_file(at("nobody.yaml"), &m, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "nobody.yaml: owned by uid 65534, not root"));

	/* a symbolic link, even to a good manifest, is not followed */
	assert_int_equal(symlink(at("good.yaml"), at("link.yaml")), 0);
	assert_int_equal(manifest_parse_file(at("link.yaml"), &m, err, sizeof(err)), -ELOOP);
	assert_non_null(strstr(err, "link.yaml: is a symbolic link"));

	/* a FIFO (open must not block) and a directory */
	assert_int_equal(mkfifo(at("fifo.yaml"), 0600), 0);
	assert_int_equal(manifest_parse_file(at("fifo.yaml"), &m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "fifo.yaml: not a regular file"));
	assert_int_equal(mkdir(at("sub.yaml"), 0755), 0);
	assert_int_equal(manifest_parse_file(at("sub.yaml"), &m, err, sizeof(err)), -EINVAL);

	/* too big */
	char *huge = malloc(MANIFEST_FILE_MAX + 2);
	assert_non_null(huge);
	memset(huge, '#', MANIFEST_FILE_MAX + 1);
	huge[MANIFEST_FILE_MAX + 1] = '\0';
	write_file("huge.yaml", huge, 0644);
	free(huge);
	assert_int_equal(manifest_parse_file(at("huge.yaml"), &m, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "huge.yaml: 65537 bytes"));

	assert_int_equal(manifest_parse_file(at("none.yaml"), &m, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "none.yaml: cannot open"));

	/* a parse error in a file carries the path */
	write_file("bad.yaml", MINIMAL "\ncolour: red\n", 0600);
	assert_int_equal(manifest_parse_file(at("bad.yaml"), &m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "bad.yaml:6:1: unknown key \"colour\""));
}

struct errors {
	int n;
	char msg[8][512];
};

static void on_error(const char *msg, void *ctx)
{
	struct errors *e = ctx;
	if (e->n < 8)
		snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s", msg);
	e->n++;
}

static void test_load_dir(void **state)
{
	if (geteuid() != 0)
		skip();
	char text[256];
	manifest_named(text, sizeof(text), "alpha");
	write_file("10-alpha.yaml", text, 0644);
	manifest_named(text, sizeof(text), "beta");
	write_file("20-beta.yaml", text, 0600);
	manifest_named(text, sizeof(text), "gamma");
	write_file("30-gamma.yaml", text, 0644);
	write_file("40-broken.yaml", MINIMAL "limits: {pids: 0}\n", 0644);       /* bad value */
	write_file("50-truncated.yaml", "name: x\nargs: [a,\n", 0644);             /* bad YAML */
	manifest_named(text, sizeof(text), "alpha");
	write_file("60-again.yaml", text, 0644);                                   /* name taken */
	write_file("README.txt", "not a manifest: ignored\n", 0644);
	write_file("70-old.yml", "ignored too\n", 0644);
	write_file(".hidden.yaml", "ignored too\n", 0644);

	struct manifest_set set;
	struct errors e = {0};
	long live0 = live;
	assert_int_equal(manifest_load_dir(dir, &set, on_error, &e), 3);
	assert_int_equal(set.n, 3);
	assert_string_equal(set.m[0].name, "alpha");
	assert_string_equal(set.m[1].name, "beta");
	assert_string_equal(set.m[2].name, "gamma");
	assert_string_equal(set.m[0].file, at("10-alpha.yaml"));
	assert_ptr_equal(manifest_find(&set, "beta"), &set.m[1]);
	assert_null(manifest_find(&set, "delta"));
	assert_int_equal(e.n, 3);
	assert_non_null(strstr(e.msg[0], "40-broken.yaml:5:16: limits.pids: 0 is out of range"));
	assert_non_null(strstr(e.msg[1], "50-truncated.yaml:3:"));
	assert_non_null(strstr(e.msg[1], "not valid YAML in args"));
	assert_non_null(strstr(e.msg[2], "60-again.yaml:1:7: name: \"alpha\" is already used by"));
	assert_non_null(strstr(e.msg[2], "10-alpha.yaml"));
	manifest_set_free(&set);
	assert_int_equal(set.n, 0);
	manifest_set_free(&set);
	manifest_set_free(NULL);
	assert_int_equal(live, live0);

	/* a directory others may write to loads nothing */
	assert_int_equal(chmod(dir, 0777), 0);
	e.n = 0;
	assert_int_equal(manifest_load_dir(dir, &set, on_error, &e), -EPERM);
	assert_int_equal(set.n, 0);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], "must be owned by root and writable by nobody else"));
	assert_int_equal(chmod(dir, 0700), 0);

	/* no directory; no error callback */
	assert_int_equal(manifest_load_dir("/nonexistent/ward/clients.d", &set, NULL, NULL), -ENOENT);
	assert_int_equal(set.n, 0);
}

/* At most MANIFEST_DIR_MAX load; every file after that is reported. */
static void test_load_dir_bound(void **state)
{
	if (geteuid() != 0)
		skip();
	char name[64], text[256];
	for (unsigned i = 0; i < MANIFEST_DIR_MAX + 2; i++) {
		snprintf(name, sizeof(name), "c%03u", i);
		manifest_named(text, sizeof(text), name);
		strcat(name, ".yaml");
		write_file(name, text, 0644);
	}
	struct manifest_set set;
	struct errors e = {0};
	assert_int_equal(manifest_load_dir(dir, &set, on_error, &e), MANIFEST_DIR_MAX);
	assert_int_equal(e.n, 2);
	assert_non_null(strstr(e.msg[0], "c256.yaml: skipped: at most 256 manifests"));
	assert_string_equal(set.m[MANIFEST_DIR_MAX - 1].name, "c255");
	manifest_set_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_content),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test_setup_teardown(test_files, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_load_dir, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(test_load_dir_bound, make_dir, remove_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
