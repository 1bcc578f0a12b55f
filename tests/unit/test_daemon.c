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
#include "pipeline.h"
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_container_ids),
		cmocka_unit_test(test_unreverse),
		cmocka_unit_test(test_proctable_fork_exit),
		cmocka_unit_test(test_proctable_reuse_and_sweep),
		cmocka_unit_test(test_exec_makes_start_exact),
		cmocka_unit_test(test_consume_budget),
	};
	return cmocka_run_group_tests_name("daemon", tests, NULL, NULL);
}
