/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_pinning.c — "wardd restart without loss" (daemon/sensors.c with a
 * pin directory) on the real kernel, without wardd.  A forked child plays
 * the old wardd: it starts the sensors with a pin directory and is then
 * SIGKILLed, so nothing is unpinned.  Events are generated while nobody
 * reads; then this process starts the sensors on the same pin directory
 * and must receive every one of them, exactly once, and the ones after.
 *
 * Events: a generator child moves itself into the test's scope cgroup and
 * opens files that do not exist, with unique names
 * (/nonexistent-ward-pin-<test pid>-<tag>-<i>); the open sensor reports
 * failed opens too, with the name as passed in str0.
 *
 * Safety: every wait is bounded.  Each test's teardown, the exit handler
 * and the SIGALRM safety net kill the children, remove every pin (a pinned
 * link nobody holds is detached when its pin goes) and the cgroups.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <json-c/json.h>
#include <linux/magic.h>

#include <cmocka.h>

#include <ward/ward.h>
#include "../../bpf/events.h"
#include "cgtest.h"
#include "sensors.h"

#define N_QUIET 200         /* events while nobody reads */
#define N_AFTER 50          /* events after the takeover */
#define MAX_TAGS 16
#define MAX_IDX 1024
#define READY_TIMEOUT_MS 30000
#define CHILD_TIMEOUT_MS 10000
#define RECORD_TIMEOUT_MS 5000
#define GONE_TIMEOUT_MS 5000
#define RING (1u << 20)
#define MASK ((1ULL << WARD_EV_OPEN) | (1ULL << WARD_EV_EXEC) | (1ULL << WARD_EV_SETUID))

static struct {
	pid_t main_pid;
	char cg[PATH_MAX];      /* scope cgroup */
	char sub[PATH_MAX + 8]; /* a child of it, which the old wardd mutes */
	char pin[PATH_MAX];     /* pin directory */
	pid_t child;            /* the old wardd */
	bool started;           /* sensors_start in this process */
} T;

/* Open records seen, by tag and index. */
static int seen[MAX_TAGS][MAX_IDX];

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- cleanup (also from the alarm handler: async-signal-safe calls only) ---- */

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Unlink every entry of directory @dir (not recursive), then rmdir it. */
static void rm_flat(const char *dir)
{
	char buf[4096];
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	for (int round = 0; round < 64; round++) {
		long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
			off += d->d_reclen;
			if (d->d_name[0] == '.' && (!d->d_name[1] || (d->d_name[1] == '.' && !d->d_name[2])))
				continue;
			unlinkat(fd, d->d_name, 0); /* fails on links/ (a directory) */
		}
	}
	close(fd);
	rmdir(dir);
}

static void remove_pins(void)
{
	char links[PATH_MAX + 8];
	size_t n = strlen(T.pin);
	if (!n || n + sizeof("/links") > sizeof(links))
		return;
	memcpy(links, T.pin, n);
	memcpy(links + n, "/links", sizeof("/links"));
	rm_flat(links);
	rm_flat(T.pin);
}

static void remove_cgroups(void)
{
	cgtest_remove(T.sub, T.cg);
}

static void kill_child(void)
{
	if (T.child > 0) {
		kill(T.child, SIGKILL);
		waitpid(T.child, NULL, 0); /* SIGKILL: bounded */
	}
	T.child = 0;
}

/* What one test leaves: the old wardd, our sensors, the pins. */
static void test_cleanup(void)
{
	kill_child();
	if (T.started)
		sensors_stop();
	T.started = false;
	remove_pins();
}

static void cleanup(void)
{
	if (getpid() != T.main_pid)
		return; /* a forked child exiting */
	test_cleanup();
	remove_cgroups();
	T.sub[0] = T.cg[0] = '\0';
}

static void on_alarm(int sig)
{
	static const char msg[] = "test_pinning: timed out\n";
	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	if (T.child > 0)
		kill(T.child, SIGKILL);
	/* our own links and maps die with this process; the pinned ones go
	 * with their pins */
	remove_pins();
	remove_cgroups();
	_exit(2);
}

/* ---- records ---- */

static int on_record(void *ctx, void *data, size_t size)
{
	(void)ctx;
	const struct wk_hdr *h = data;
	if (size < WK_FIXED_SIZE || h->type != WARD_EV_OPEN)
		return 0;
	size_t len = h->str_len[0];
	if (len == 0 || WK_FIXED_SIZE + len > size)
		return 0;
	char path[256];
	if (len >= sizeof(path))
		len = sizeof(path) - 1;
	memcpy(path, (const char *)data + WK_FIXED_SIZE, len);
	path[len] = '\0';
	int pid, tag, idx;
	if (sscanf(path, "/nonexistent-ward-pin-%d-%d-%d", &pid, &tag, &idx) == 3 && pid == T.main_pid &&
	    tag >= 0 && tag < MAX_TAGS && idx >= 0 && idx < MAX_IDX)
		seen[tag][idx]++;
	return 0;
}

/* Consume until @n events of @tag arrived (or the timeout).  Returns how
 * many distinct indexes of @tag were seen. */
static int collect(int tag, int n, long timeout_ms)
{
	long end = now_ms() + timeout_ms;
	int got = 0;
	for (;;) {
		assert_true(sensors_consume() >= 0);
		got = 0;
		for (int i = 0; i < n; i++)
			got += seen[tag][i] > 0;
		if (got == n || now_ms() > end)
			return got;
		usleep(10000);
	}
}

/* Every index of @tag below @n seen exactly once. */
static void assert_exactly_once(int tag, int n)
{
	for (int i = 0; i < n; i++)
		if (seen[tag][i] != 1)
			fail_msg("tag %d event %d seen %d times", tag, i, seen[tag][i]);
}

/* ---- children ---- */

/* Wait for @pid at most @ms; SIGKILL it after.  Its exit status, or -1. */
static int wait_child(pid_t pid, long ms)
{
	long end = now_ms() + ms;
	int st;
	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		if (r < 0)
			return -1;
		if (now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return -1;
		}
		usleep(2000);
	}
}

/* In the child: move into cgroup @dir.  0 or -1. */
static int join_cgroup(const char *dir)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int ok = write(fd, "0", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

/* Open @n files that do not exist, named by @tag, from a child in @cg. */
static void generate(const char *cg, int tag, int n)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (join_cgroup(cg))
			_exit(200);
		char path[128];
		for (int i = 0; i < n; i++) {
			snprintf(path, sizeof(path), "/nonexistent-ward-pin-%d-%d-%d", (int)T.main_pid, tag, i);
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0)
				close(fd);
		}
		_exit(0);
	}
	assert_int_equal(wait_child(pid, CHILD_TIMEOUT_MS), 0);
}

static int ignore_record(void *ctx, void *data, size_t size)
{
	(void)ctx, (void)data, (void)size;
	return 0;
}

/*
 * The old wardd: a child that starts the sensors on the pin directory
 * (backend @backend, ring @ring), subscribes MASK, mutes T.sub and pid 1,
 * says it is ready and never reads.
 */
static void start_old_wardd(const char *backend, uint32_t ring)
{
	int p[2];
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		struct sensors_opts o = {.scope_cgroup = T.cg, .ring_bytes = ring, .backend = backend,
					 .scratch_dir = "/tmp", .pin_dir = T.pin};
		int err = sensors_start(&o, ignore_record, NULL);
		if (!err)
			err = sensors_set_mask(MASK);
		if (!err)
			err = sensors_mute_cgroup(T.sub);
		if (!err)
			err = sensors_mute_pid(1);
		char c = err ? 1 : 0;
		if (write(p[1], &c, 1) != 1 || err)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	T.child = pid;
	struct pollfd pfd = {.fd = p[0], .events = POLLIN};
	char c = 1;
	int r = poll(&pfd, 1, READY_TIMEOUT_MS);
	bool ok = r == 1 && read(p[0], &c, 1) == 1 && c == 0;
	close(p[0]);
	if (!ok)
		fail_msg("the old wardd did not start (%s)", r == 1 ? "sensors_start failed" : "timeout");
}

/* The old wardd dies without a word. */
static void crash_old_wardd(void)
{
	assert_true(T.child > 0);
	assert_int_equal(kill(T.child, SIGKILL), 0);
	assert_int_equal(wait_child(T.child, CHILD_TIMEOUT_MS), -1);
	T.child = 0;
}

static int start_here(const char *backend, uint32_t ring)
{
	struct sensors_opts o = {.scope_cgroup = T.cg, .ring_bytes = ring, .backend = backend,
				 .scratch_dir = "/tmp", .pin_dir = T.pin};
	int err = sensors_start(&o, on_record, NULL);
	T.started = err == 0;
	return err;
}

/* ---- kernel objects ---- */

/* Ids of the links pinned in the pin directory now. */
static int pinned_link_ids(uint32_t *ids, int max)
{
	char dir[PATH_MAX + 8], path[PATH_MAX + 300];
	snprintf(dir, sizeof(dir), "%s/links", T.pin);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		int fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		struct bpf_link_info info = {0};
		uint32_t len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			ids[n++] = info.id;
		close(fd);
	}
	closedir(d);
	return n;
}

static bool link_exists(uint32_t id)
{
	int fd = bpf_link_get_fd_by_id(id);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* How many of @ids still exist, after waiting at most GONE_TIMEOUT_MS for
 * that to be @want (a link is freed by a kernel worker). */
static int links_left_want(const uint32_t *ids, int n, int want)
{
	long end = now_ms() + GONE_TIMEOUT_MS;
	for (;;) {
		int left = 0;
		for (int i = 0; i < n; i++)
			left += link_exists(ids[i]);
		if (left == want || now_ms() > end)
			return left;
		usleep(20000);
	}
}

static int links_left(const uint32_t *ids, int n)
{
	return links_left_want(ids, n, 0);
}

static bool in_list(uint32_t id, const uint32_t *ids, int n)
{
	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* Every link in the kernel whose program is called wk_* and whose id is
 * not in @before: fills @out, returns the count. */
static int our_new_links(const uint32_t *before, int nbefore, uint32_t *out, int max)
{
	uint32_t id = 0;
	int n = 0;
	while (n < max && bpf_link_get_next_id(id, &id) == 0) {
		if (in_list(id, before, nbefore))
			continue;
		int fd = bpf_link_get_fd_by_id(id);
		if (fd < 0)
			continue;
		struct bpf_link_info li = {0};
		uint32_t len = sizeof(li);
		int err = bpf_obj_get_info_by_fd(fd, &li, &len);
		close(fd);
		if (err)
			continue;
		int pfd = bpf_prog_get_fd_by_id(li.prog_id);
		if (pfd < 0)
			continue;
		struct bpf_prog_info pi = {0};
		len = sizeof(pi);
		err = bpf_obj_get_info_by_fd(pfd, &pi, &len);
		close(pfd);
		if (!err && strncmp(pi.name, "wk_", 3) == 0)
			out[n++] = id;
	}
	return n;
}

static int all_link_ids(uint32_t *ids, int max)
{
	uint32_t id = 0;
	int n = 0;
	while (n < max && bpf_link_get_next_id(id, &id) == 0)
		ids[n++] = id;
	return n;
}

static bool pin_dir_exists(void)
{
	struct stat st;
	return stat(T.pin, &st) == 0;
}

/* Look @key up in the map pinned as @name.  0, or -errno. */
static int pinned_lookup(const char *name, const void *key, void *value)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", T.pin, name);
	int fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	int err = bpf_map_lookup_elem(fd, key, value) ? -errno : 0;
	close(fd);
	return err;
}

static uint32_t pinned_max_entries(const char *name)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", T.pin, name);
	int fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	struct bpf_map_info info = {0};
	uint32_t len = sizeof(info);
	int err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	return err ? 0 : info.max_entries;
}

static bool pinned_map_empty(const char *name)
{
	char path[PATH_MAX + 64];
	uint8_t key[16];
	snprintf(path, sizeof(path), "%s/%s", T.pin, name);
	int fd = bpf_obj_get(path);
	if (fd < 0)
		return false;
	bool empty = bpf_map_get_next_key(fd, NULL, key) != 0 && errno == ENOENT;
	close(fd);
	return empty;
}

static int64_t status_int(const char *key)
{
	struct json_object *o = json_object_new_object(), *v;
	sensors_status(o);
	int64_t r = json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : -1;
	json_object_put(o);
	return r;
}

static bool link_pinned(const char *name)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/links/%s", T.pin, name);
	return access(path, F_OK) == 0;
}

/* ---- tests ---- */

/* Stop: no pin directory, and none of these links (nor any other wk_ link
 * made since @before) left. */
static void assert_stop_leaves_nothing(const uint32_t *ids, int n, const uint32_t *before, int nbefore)
{
	uint32_t left[256];
	sensors_stop();
	T.started = false;
	assert_false(pin_dir_exists());
	assert_int_equal(links_left(ids, n), 0);
	long end = now_ms() + GONE_TIMEOUT_MS;
	int k;
	while ((k = our_new_links(before, nbefore, left, 256)) && now_ms() < end)
		usleep(20000);
	if (k)
		fail_msg("%d wk_ links left after sensors_stop (first id %u)", k, left[0]);
}

/*
 * (a) crash and take over: the old wardd is SIGKILLed; its sensors go on
 * recording into the pinned ring; this process takes pins, links and ring
 * over and gets every record, once, then the new ones.
 */
static void crash_and_take_over(const char *backend)
{
	static uint32_t before[4096], old_ids[256], now_ids[256];
	int nbefore = all_link_ids(before, 4096);
	start_old_wardd(backend, RING);
	int nold = pinned_link_ids(old_ids, 256);
	assert_true(nold >= 4); /* fork, exec, exit, attach at least */
	crash_old_wardd();
	assert_true(pin_dir_exists());
	for (int i = 0; i < nold; i++)
		assert_true(link_exists(old_ids[i])); /* alive through their pins */

	generate(T.cg, 1, N_QUIET); /* nobody reads */

	assert_int_equal(start_here(backend, RING), 0);
	assert_true(sensors_taken_over());
	assert_int_equal(sensors_inherited_mask(), MASK);
	assert_int_equal(status_int("links_taken_over"), nold);
	assert_int_equal(status_int("links_replaced"), 0);
	assert_true(status_int("records_pending_at_takeover") >= N_QUIET);
	/* taken over, not made again: the very same links */
	for (int i = 0; i < nold; i++)
		assert_true(link_exists(old_ids[i]));
	assert_int_equal(pinned_link_ids(now_ids, 256), nold);
	for (int i = 0; i < nold; i++)
		assert_true(in_list(now_ids[i], old_ids, nold));

	assert_int_equal(collect(1, N_QUIET, RECORD_TIMEOUT_MS), N_QUIET);
	assert_exactly_once(1, N_QUIET);

	/* what the old wardd set for itself is gone */
	uint32_t k = WK_CFG_SELF_TGID;
	uint64_t v = 0;
	assert_int_equal(pinned_lookup("wk_config", &k, &v), 0);
	assert_int_equal(v, (uint64_t)getpid());
	k = WK_CFG_MUTING;
	assert_int_equal(pinned_lookup("wk_config", &k, &v), 0);
	assert_int_equal(v, 0);
	assert_true(pinned_map_empty("wk_muted_cgroups"));
	assert_true(pinned_map_empty("wk_muted_pids"));

	/* after: from the cgroup the old wardd muted, and from the scope */
	generate(T.sub, 2, N_AFTER);
	generate(T.cg, 3, N_AFTER);
	assert_int_equal(collect(2, N_AFTER, RECORD_TIMEOUT_MS), N_AFTER);
	assert_int_equal(collect(3, N_AFTER, RECORD_TIMEOUT_MS), N_AFTER);
	assert_exactly_once(2, N_AFTER);
	assert_exactly_once(3, N_AFTER);

	/* a sensor the mask drops goes, old link or not; back when added */
	uint32_t nr = SYS_openat, prog_id;
	assert_int_equal(sensors_set_mask(MASK & ~(1ULL << WARD_EV_OPEN) & ~(1ULL << WARD_EV_CREATE)), 0);
	if (strcmp(backend, "tp") == 0) {
		assert_false(link_pinned("exit_openat"));
		assert_true(link_pinned("exit_setuid"));
		assert_true(link_pinned("enter_setuid"));
	} else {
		assert_int_equal(pinned_lookup("wk_sys_exit", &nr, &prog_id), -ENOENT);
		assert_true(link_pinned("dispatch_enter"));
	}
	int nnow = pinned_link_ids(now_ids, 256);
	int dropped = 0;
	for (int i = 0; i < nold; i++)
		dropped += !in_list(old_ids[i], now_ids, nnow);
	assert_int_equal(links_left_want(old_ids, nold, nold - dropped), nold - dropped);
	assert_int_equal(sensors_set_mask(MASK), 0);
	if (strcmp(backend, "tp") == 0)
		assert_true(link_pinned("exit_openat"));
	else
		assert_int_equal(pinned_lookup("wk_sys_exit", &nr, &prog_id), 0);
	generate(T.cg, 4, N_AFTER);
	assert_int_equal(collect(4, N_AFTER, RECORD_TIMEOUT_MS), N_AFTER);
	assert_exactly_once(4, N_AFTER);

	assert_stop_leaves_nothing(old_ids, nold, before, nbefore);
}

static void test_take_over_tp(void **state)
{
	(void)state;
	crash_and_take_over("tp");
}

static void test_take_over_raw(void **state)
{
	(void)state;
	crash_and_take_over("raw");
}

/* (b) clean stop leaves nothing: no pin directory, no link of ours. */
static void clean_stop(const char *backend)
{
	static uint32_t before[4096], ids[256];
	int nbefore = all_link_ids(before, 4096);
	assert_int_equal(start_here(backend, RING), 0);
	assert_false(sensors_taken_over());
	assert_int_equal(sensors_inherited_mask(), 0);
	assert_int_equal(sensors_set_mask(MASK), 0); /* setuid: the sys_enter links too */
	int n = pinned_link_ids(ids, 256);
	assert_true(n >= 5);
	uint32_t made[256];
	assert_int_equal(our_new_links(before, nbefore, made, 256), n); /* every link is pinned */
	assert_stop_leaves_nothing(ids, n, before, nbefore);
}

static void test_clean_stop_tp(void **state)
{
	(void)state;
	clean_stop("tp");
}

static void test_clean_stop_raw(void **state)
{
	(void)state;
	clean_stop("raw");
}

/* (c) pins of another ring size: removed, a fresh start, no stale pins. */
static void test_incompatible(void **state)
{
	(void)state;
	static uint32_t before[4096], old_ids[256], ids[256];
	int nbefore = all_link_ids(before, 4096);
	start_old_wardd("tp", RING);
	int nold = pinned_link_ids(old_ids, 256);
	assert_true(nold >= 4);
	crash_old_wardd();
	assert_int_equal(start_here("tp", 2 * RING), 0);
	assert_false(sensors_taken_over());
	assert_int_equal(sensors_inherited_mask(), 0);
	assert_int_equal(pinned_max_entries("wk_events"), 2 * RING);
	assert_int_equal(links_left(old_ids, nold), 0); /* the stale links are gone */
	int n = pinned_link_ids(ids, 256);
	assert_true(n >= 4);
	for (int i = 0; i < n; i++)
		assert_false(in_list(ids[i], old_ids, nold));
	assert_int_equal(sensors_set_mask(MASK), 0);
	generate(T.cg, 5, N_AFTER);
	assert_int_equal(collect(5, N_AFTER, RECORD_TIMEOUT_MS), N_AFTER);
	n = pinned_link_ids(ids, 256);
	assert_stop_leaves_nothing(ids, n, before, nbefore);
}

/* (d) the old wardd ran the raw backend, this one runs tp: ours attached,
 * theirs detached, and still every record. */
static void test_other_backend(void **state)
{
	(void)state;
	static uint32_t before[4096], old_ids[256], ids[256];
	int nbefore = all_link_ids(before, 4096);
	start_old_wardd("raw", RING);
	int nold = pinned_link_ids(old_ids, 256);
	assert_true(nold >= 5); /* dispatch_exit too */
	crash_old_wardd();
	generate(T.cg, 6, N_QUIET);
	assert_int_equal(start_here("tp", RING), 0);
	assert_true(sensors_taken_over());
	assert_int_equal(sensors_inherited_mask(), MASK);
	assert_int_equal(status_int("links_taken_over"), 0);
	assert_int_equal(status_int("links_replaced"), nold);
	assert_int_equal(links_left(old_ids, nold), 0);
	assert_true(link_pinned("exit_openat")); /* the inherited mask, on tp */
	uint32_t nr = SYS_openat, prog_id;
	assert_int_equal(pinned_lookup("wk_sys_exit", &nr, &prog_id), -ENOENT);
	assert_int_equal(collect(6, N_QUIET, RECORD_TIMEOUT_MS), N_QUIET);
	assert_exactly_once(6, N_QUIET);
	generate(T.cg, 7, N_AFTER);
	assert_int_equal(collect(7, N_AFTER, RECORD_TIMEOUT_MS), N_AFTER);
	assert_exactly_once(7, N_AFTER);
	int n = pinned_link_ids(ids, 256);
	assert_stop_leaves_nothing(ids, n, before, nbefore);
}

/* (e) a live wardd holds the pins: -EBUSY, and nothing of it touched. */
static void test_busy(void **state)
{
	(void)state;
	static uint32_t ids[256], again[256];
	start_old_wardd("tp", RING);
	int n = pinned_link_ids(ids, 256);
	assert_true(n >= 4);
	assert_int_equal(start_here("tp", RING), -EBUSY);
	assert_false(T.started);
	assert_int_equal(pinned_link_ids(again, 256), n);
	for (int i = 0; i < n; i++)
		assert_true(in_list(again[i], ids, n));
	uint32_t k = WK_CFG_SELF_TGID;
	uint64_t v = 0;
	assert_int_equal(pinned_lookup("wk_config", &k, &v), 0);
	assert_int_equal(v, (uint64_t)T.child);
	assert_false(pinned_map_empty("wk_muted_cgroups"));
}

/* ---- setup ---- */

static int test_setup(void **state)
{
	(void)state;
	memset(seen, 0, sizeof(seen));
	remove_pins();
	return pin_dir_exists() ? -1 : 0;
}

static int test_teardown(void **state)
{
	(void)state;
	test_cleanup();
	return pin_dir_exists() ? -1 : 0;
}

static int group_setup(void **state)
{
	(void)state;
	T.main_pid = getpid();
	signal(SIGALRM, on_alarm);
	alarm(110); /* meson's timeout is 120 s */
	atexit(cleanup);
	struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
	setrlimit(RLIMIT_MEMLOCK, &rl);
	snprintf(T.pin, sizeof(T.pin), "/sys/fs/bpf/ward-test-pin-%d", (int)getpid());
	char name[64];
	snprintf(name, sizeof(name), "ward-test-pin-%d", (int)getpid());
	if (cgtest_make("test_pinning", name, "muted", false, T.cg, sizeof(T.cg), T.sub, sizeof(T.sub)))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	cleanup();
	return 0;
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_pinning: needs root\n");
		return 77; /* skipped */
	}
	struct statfs sf;
	if (statfs("/sys/fs/bpf", &sf) || sf.f_type != BPF_FS_MAGIC) {
		fprintf(stderr, "test_pinning: no bpffs at /sys/fs/bpf\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
#define T_(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)
		T_(test_take_over_tp),
		T_(test_take_over_raw),
		T_(test_clean_stop_tp),
		T_(test_clean_stop_raw),
		T_(test_incompatible),
		T_(test_other_backend),
		T_(test_busy),
#undef T_
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
