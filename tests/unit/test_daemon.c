/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_daemon.c — unit tests of wardd's pure parts: container ids from
 * cgroup paths, the rebuild of leaf-first paths from the sensors, and the
 * process table's fork/exit bookkeeping.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <ward/ward.h>
#include "events.h"
#include "mutes.h"
#include "pipeline.h"
#include "record.h"
#include "proctable.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_container_ids(void **state)
{
	char id[72];
	static const char *const yes[] = {
		"/system.slice/docker-" ID64 ".scope",
		"/docker/" ID64,
		"/kubepods/besteffort/pod1234/cri-containerd-" ID64 ".scope",
		"/machine.slice/libpod-" ID64 ".scope/container",
		"/crio-" ID64,
	};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		memset(id, 0, sizeof(id));
		assert_int_equal(container_id_from_cgroup_path(yes[i], id, sizeof(id)), 1);
		assert_string_equal(id, ID64);
	}
	static const char *const no[] = {
		"/", "/user.slice/user-0.slice/session-1.scope", "",
		"/docker/" ID64 "0",                 /* 65 hex digits */
		"/docker/0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", /* upper */
		"/x" ID64,                           /* not at a component start or after '-' */
		"/docker-" ID64 ".scopes",
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_int_equal(container_id_from_cgroup_path(no[i], id, sizeof(id)), 0);
	/* too small an output buffer is a "no", never an overflow */
	assert_int_equal(container_id_from_cgroup_path("/docker/" ID64, id, 10), 0);
}

static void test_unreverse(void **state)
{
	char out[64];
	static const char leaf_first[] = "passwd\0etc\0";
	assert_int_equal(pipeline_unreverse(leaf_first, sizeof(leaf_first) - 1, out, sizeof(out)), 11);
	assert_string_equal(out, "/etc/passwd");
	assert_int_equal(pipeline_unreverse("", 0, out, sizeof(out)), 1);
	assert_string_equal(out, "/");
	static const char one[] = "tmp\0";
	pipeline_unreverse(one, sizeof(one) - 1, out, sizeof(out));
	assert_string_equal(out, "/tmp");
	/* a path longer than the output keeps the components that fit, from the top */
	static const char deep[] = "cccccccccc\0bbbbbbbbbb\0aaaaaaaaaa\0";
	pipeline_unreverse(deep, sizeof(deep) - 1, out, 24);
	assert_string_equal(out, "/aaaaaaaaaa/bbbbbbbbbb");
	/* a cut last component (no final NUL) is still bounded */
	static const char cut[] = "abc\0de";
	pipeline_unreverse(cut, sizeof(cut) - 1, out, sizeof(out));
	assert_true(strlen(out) < sizeof(out));
}

static void test_proctable_fork_exit(void **state)
{
	assert_int_equal(proctable_init(), 0);
	struct proc *self = proc_get((uint32_t)getpid());
	assert_non_null(self);
	assert_non_null(self->exe); /* read from /proc */
	assert_non_null(self->cwd);
	assert_true(self->argv_len > 0);
	proc_set_str(&self->cwd, "/somewhere");
	struct proc *child = proc_fork(999999, self, 42);
	assert_int_equal(child->ppid, (uint32_t)getpid());
	assert_string_equal(child->cwd, "/somewhere");
	assert_string_equal(child->exe, self->exe);
	assert_int_equal(child->start_time, 42);
	assert_ptr_equal(proc_find(999999), child);
	size_t n = proctable_count();
	proc_remove(999999);
	assert_null(proc_find(999999));
	assert_int_equal(proctable_count(), n - 1);
	proctable_free();
}

static void test_proctable_reuse_and_sweep(void **state)
{
	assert_int_equal(proctable_init(), 0);
	struct proc *a = proc_fork(0x3ffffff0, NULL, 1000000000ull);
	/* a forked entry knows its start to the nanosecond */
	assert_true(proc_same_start(a, 1000000000ull));
	assert_false(proc_same_start(a, 1000000001ull));
	/* one read from /proc knows it to a clock tick */
	a->from_proc = 1;
	assert_true(proc_same_start(a, 1000000000ull + 1000));
	assert_false(proc_same_start(a, 1000000000ull + 500000000ull));
	/* no such process (beyond any pid_max): the sweep drops it */
	struct proc *self = proc_get((uint32_t)getpid());
	assert_non_null(self);
	assert_int_equal(proctable_sweep(), 1);
	assert_null(proc_find(0x3ffffff0));
	assert_non_null(proc_find((uint32_t)getpid()));
	proctable_free();
}

/* A sensor record of @type from this process, with string 0 = @s0
 * (a leaf-first path when @rev). */
static size_t make_record(uint8_t *buf, uint16_t type, uint64_t start_time, const char *s0,
			  size_t s0len, int rev)
{
	memset(buf, 0, WK_FIXED_SIZE + s0len);
	struct wk_hdr *h = (struct wk_hdr *)buf;
	h->type = type;
	h->pid = h->tid = (uint32_t)getpid();
	h->start_time = start_time;
	h->cgroup_id = 0;
	memcpy(h->comm, "test", 5);
	h->str_len[0] = (uint16_t)s0len;
	h->str_rev = rev ? WK_REV(0) : 0;
	memcpy(buf + WK_FIXED_SIZE, s0, s0len);
	h->size = (uint16_t)(WK_FIXED_SIZE + s0len);
	return WK_FIXED_SIZE + s0len;
}

/* An entry first read from /proc knows its start to a clock tick; after an
 * exec it is exact, and the next event still finds the same process. */
static void test_exec_makes_start_exact(void **state)
{
	static _Alignas(8) uint8_t buf[1024];
	assert_int_equal(proctable_init(), 0);
	pipeline_init();
	struct proc *p = proc_get((uint32_t)getpid());
	assert_true(p->from_proc);
	uint64_t exact = p->start_time + 3000000; /* within a 10 ms tick */
	static const char exe[] = "exe\0fake\0"; /* "/fake/exe", leaf first */
	size_t n = make_record(buf, WARD_EV_EXEC, exact, exe, sizeof(exe) - 1, 1);
	pipeline_on_record(NULL, buf, n);
	p = proc_find((uint32_t)getpid());
	assert_non_null(p);
	assert_string_equal(p->exe, "/fake/exe");
	assert_int_equal(p->start_time, exact);
	n = make_record(buf, WARD_EV_OPEN, exact, "x", 2, 0);
	pipeline_on_record(NULL, buf, n);
	p = proc_find((uint32_t)getpid());
	assert_string_equal(p->exe, "/fake/exe"); /* not re-read from /proc */
	/* another process under the same pid (another start): re-read */
	n = make_record(buf, WARD_EV_OPEN, exact + 1000000000ull, "x", 2, 0);
	pipeline_on_record(NULL, buf, n);
	p = proc_find((uint32_t)getpid());
	assert_string_not_equal(p->exe, "/fake/exe");
	proctable_free();
}

/* A flood cannot keep wardd in the ring forever: every PIPELINE_BUDGET
 * records, the callback tells libbpf to stop. */
static void test_consume_budget(void **state)
{
	uint8_t junk[8] = {0}; /* too short: counted as malformed, still spent */
	pipeline_new_turn();
	for (int i = 1; i < PIPELINE_BUDGET; i++)
		assert_int_equal(pipeline_on_record(NULL, junk, sizeof(junk)), 0);
	assert_int_equal(pipeline_on_record(NULL, junk, sizeof(junk)), -EAGAIN);
	pipeline_new_turn();
	assert_int_equal(pipeline_on_record(NULL, junk, sizeof(junk)), 0);
}

/* A record of @type with pid, exe and path (any may be NULL / 0). */
static const struct ward_rec *mk(uint32_t type, uint64_t pid, const char *exe, const char *path)
{
	static _Alignas(8) uint8_t buf[4096];
	struct ward_rec_builder b;
	ward_rb_init(&b, buf, sizeof(buf), (uint16_t)type);
	if (pid)
		ward_rb_u64(&b, WARD_F_PID, pid);
	if (exe)
		ward_rb_str(&b, WARD_F_EXE, exe, strlen(exe));
	if (path)
		ward_rb_str(&b, WARD_F_PATH, path, strlen(path));
	assert_true(ward_rb_finish(&b) > 0);
	return (const struct ward_rec *)buf;
}

#define T(t) (1ull << (t))

static void test_mutes(void **state)
{
	(void)state;
	struct muteset s = {0};
	const uint64_t all = T(WARD_EV_MAX_) - 2;
	/* nothing muted: everything goes */
	assert_false(muteset_drops(&s, WARD_EV_OPEN, mk(WARD_EV_OPEN, 7, "/bin/a", "/etc/x")));
	/* bad mutes change nothing */
	assert_int_equal(muteset_add(&s, 99, all, 0, NULL, 0), -EINVAL);
	assert_int_equal(muteset_add(&s, WARD_MUTE_PATH_LITERAL, all, 0, "rel", 3), -EINVAL);
	assert_int_equal(muteset_add(&s, WARD_MUTE_PATH_LITERAL, all, 0, "/a\0b", 4), -EINVAL);
	assert_int_equal(muteset_add(&s, WARD_MUTE_PROCESS, 0, 7, NULL, 0), -EINVAL);
	assert_int_equal(s.n, 0);
	/* process, for open only */
	assert_int_equal(muteset_add(&s, WARD_MUTE_PROCESS, T(WARD_EV_OPEN), 7, NULL, 0), 0);
	assert_true(muteset_drops(&s, WARD_EV_OPEN, mk(WARD_EV_OPEN, 7, NULL, NULL)));
	assert_false(muteset_drops(&s, WARD_EV_EXEC, mk(WARD_EV_EXEC, 7, NULL, NULL)));
	assert_false(muteset_drops(&s, WARD_EV_OPEN, mk(WARD_EV_OPEN, 8, NULL, NULL)));
	assert_true(muteset_mutes_pid(&s, 7, T(WARD_EV_OPEN)));
	assert_false(muteset_mutes_pid(&s, 7, T(WARD_EV_OPEN) | T(WARD_EV_EXEC)));
	/* adding types widens the same mute */
	assert_int_equal(muteset_add(&s, WARD_MUTE_PROCESS, T(WARD_EV_EXEC), 7, NULL, 0), 0);
	assert_int_equal(s.n, 1);
	assert_true(muteset_drops(&s, WARD_EV_EXEC, mk(WARD_EV_EXEC, 7, NULL, NULL)));
	/* executable prefix, target literal */
	assert_int_equal(muteset_add(&s, WARD_MUTE_EXE_PREFIX, all, 0, "/usr/lib/", 9), 0);
	assert_true(muteset_drops(&s, WARD_EV_OPEN, mk(WARD_EV_OPEN, 9, "/usr/lib/x/y", "/a")));
	assert_false(muteset_drops(&s, WARD_EV_OPEN, mk(WARD_EV_OPEN, 9, "/usr/libexec", "/a")));
	assert_int_equal(muteset_add(&s, WARD_MUTE_PATH_LITERAL, T(WARD_EV_AUTH_OPEN), 0, "/etc/passwd", 11), 0);
	assert_true(muteset_drops(&s, WARD_EV_AUTH_OPEN, mk(WARD_EV_AUTH_OPEN, 9, "/bin/a", "/etc/passwd")));
	assert_false(muteset_drops(&s, WARD_EV_AUTH_OPEN, mk(WARD_EV_AUTH_OPEN, 9, "/bin/a", "/etc/passwd2")));
	assert_false(muteset_drops(&s, WARD_EV_OPEN, mk(WARD_EV_OPEN, 9, "/bin/a", "/etc/passwd")));
	/* inverted target paths: for the types named, only matches get through;
	 * other types are untouched */
	assert_int_equal(muteset_invert(&s, WARD_MUTE_PATH_PREFIX, 1), 0);
	assert_false(muteset_drops(&s, WARD_EV_AUTH_OPEN, mk(WARD_EV_AUTH_OPEN, 9, "/bin/a", "/etc/passwd")));
	assert_true(muteset_drops(&s, WARD_EV_AUTH_OPEN, mk(WARD_EV_AUTH_OPEN, 9, "/bin/a", "/etc/other")));
	assert_false(muteset_drops(&s, WARD_EV_CREATE, mk(WARD_EV_CREATE, 9, "/bin/a", "/etc/other")));
	assert_int_equal(muteset_invert(&s, WARD_MUTE_PATH_PREFIX, 0), 0);
	/* removing narrows, then removes */
	assert_int_equal(muteset_remove(&s, WARD_MUTE_PROCESS, T(WARD_EV_OPEN), 7, NULL, 0), 0);
	assert_false(muteset_drops(&s, WARD_EV_OPEN, mk(WARD_EV_OPEN, 7, NULL, NULL)));
	assert_true(muteset_drops(&s, WARD_EV_EXEC, mk(WARD_EV_EXEC, 7, NULL, NULL)));
	assert_int_equal(muteset_remove(&s, WARD_MUTE_PROCESS, all, 7, NULL, 0), 0);
	assert_int_equal(muteset_remove(&s, WARD_MUTE_PROCESS, all, 7, NULL, 0), -ENOENT);
	assert_int_equal(s.n, 2);
	/* bounded */
	char p[32];
	int err = 0;
	for (int i = 0; i < MUTES_MAX + 1 && !err; i++) {
		snprintf(p, sizeof(p), "/f%d", i);
		err = muteset_add(&s, WARD_MUTE_PATH_LITERAL, all, 0, p, strlen(p));
	}
	assert_int_equal(err, -ENOSPC);
	assert_int_equal(s.n, MUTES_MAX);
	muteset_clear(&s);
	assert_int_equal(s.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_container_ids),
		cmocka_unit_test(test_unreverse),
		cmocka_unit_test(test_proctable_fork_exit),
		cmocka_unit_test(test_proctable_reuse_and_sweep),
		cmocka_unit_test(test_exec_makes_start_exact),
		cmocka_unit_test(test_consume_budget),
		cmocka_unit_test(test_mutes),
	};
	return cmocka_run_group_tests_name("daemon", tests, NULL, NULL);
}
