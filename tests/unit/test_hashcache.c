/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_hashcache.c — unit tests of wardd's executable digest cache: known
 * SHA-256 vectors and sha256sum, hits without reads, invalidation by a
 * write even with mtime put back, the size limit, CLOCK eviction, files
 * that change while read, and the worker: results through the eventfd, the
 * bounded queue, and a free that does not wait for queued work.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "hashcache.h"

#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

/* The test's pread replaces libc's for hashcache.o too (an executable's
 * definition wins at link time): while `stuck` is set, a read first waits
 * for a byte on stuck_pipe, as a read from a hung FUSE server would. */
static int stuck, stuck_entered, stuck_left, stuck_pipe[2] = {-1, -1};

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	if (__atomic_load_n(&stuck, __ATOMIC_ACQUIRE)) {
		char c;
		__atomic_store_n(&stuck_entered, 1, __ATOMIC_RELEASE);
		(void)!read(stuck_pipe[0], &c, 1);
		__atomic_store_n(&stuck_left, 1, __ATOMIC_RELEASE);
	}
	return syscall(SYS_pread64, fd, buf, n, off);
}

static char tmpdir[64];
static char paths[64][128];
static int npaths;

/* Create @name in the temp dir with @len bytes of @data (or a hole of
 * @len bytes when @data is NULL); returns an O_RDWR descriptor. */
static int make_file(const char *name, const void *data, size_t len)
{
	assert_true(npaths < 64);
	char *p = paths[npaths++];
	snprintf(p, sizeof(paths[0]), "%s/%s", tmpdir, name);
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	if (data)
		assert_int_equal(pwrite(fd, data, len, 0), (ssize_t)len);
	else
		assert_int_equal(ftruncate(fd, (off_t)len), 0);
	return fd;
}

static const char *path_of(const char *name)
{
	static char p[128];
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

/* Let the coarse clock that stamps ctime move on, so the files just
 * written are neither racy nor stamped like the next write. */
static void settle(void)
{
	struct timespec res = {0, 10000000};
	clock_getres(CLOCK_REALTIME_COARSE, &res);
	uint64_t ns = 3 * ((uint64_t)res.tv_sec * 1000000000ull + (uint64_t)res.tv_nsec);
	struct timespec d = {(time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull)};
	nanosleep(&d, NULL);
}

static uint64_t stat_of(const char *field)
{
	struct json_object *o = json_object_new_object(), *v;
	hashcache_status(o);
	assert_true(json_object_object_get_ex(o, field, &v));
	uint64_t r = json_object_get_uint64(v);
	json_object_put(o);
	return r;
}

static void hex_of(const uint8_t d[32], char out[65])
{
	hashcache_hex(d, out);
}

/* sha256sum's opinion of a file: an implementation other than ours. */
static void sha256sum(const char *path, char out[65])
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%64s", out), 1);
	assert_int_equal(pclose(f), 0);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	assert_non_null(d);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int group_setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ward-hashcache-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	for (int i = 0; i < npaths; i++)
		unlink(paths[i]);
	return rmdir(tmpdir);
}

/* Every test starts and ends with the cache freed, even when it fails. */
static int test_teardown(void **state)
{
	hashcache_free();
	return 0;
}

static void test_vectors(void **state)
{
	uint8_t d[32];
	char hex[65];
	assert_int_equal(hashcache_init(0, 0), 0);
	int fd = make_file("empty", "", 0);
	assert_int_equal(hashcache_hash_fd(fd, d), 0);
	hex_of(d, hex);
	assert_string_equal(hex, SHA_EMPTY);
	close(fd);
	fd = make_file("abc", "abc", 3);
	assert_int_equal(hashcache_hash_fd(fd, d), 0);
	hex_of(d, hex);
	assert_string_equal(hex, SHA_ABC);
	close(fd);
	assert_int_equal(hashcache_init(0, 0), -EALREADY);
}

static void test_three_mib(void **state)
{
	size_t len = 3u << 20;
	uint8_t *buf = malloc(len), d[32];
	char ours[65], theirs[65];
	assert_non_null(buf);
	uint32_t x = 12345;
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
	assert_int_equal(hashcache_init(0, 0), 0);
	int fd = make_file("3mib", buf, len);
	free(buf);
	/* the descriptor's offset is at the end: pread must not care */
	assert_int_equal(hashcache_hash_fd(fd, d), 0);
	hex_of(d, ours);
	sha256sum(path_of("3mib"), theirs);
	assert_string_equal(ours, theirs);
	assert_int_equal(stat_of("bytes_hashed"), len);
	close(fd);
}

static void test_hit_does_not_read(void **state)
{
	uint8_t d[32], d2[32];
	char hex[65];
	struct stat st;
	assert_int_equal(hashcache_init(16, 0), 0);
	hashcache_set_racy_ns(0);
	int fd = make_file("hit", "abc", 3);
	settle();
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(hashcache_lookup(&st, d), -ENOENT);
	assert_int_equal(hashcache_hash_fd(fd, d), 0);
	uint64_t reads = stat_of("reads");
	assert_int_equal(reads, 2); /* the data, then the probe past the end */
	assert_int_equal(stat_of("files_hashed"), 1);
	assert_int_equal(stat_of("entries"), 1);

	assert_int_equal(hashcache_hash_fd(fd, d2), 0);
	assert_memory_equal(d, d2, 32);
	assert_int_equal(hashcache_lookup(&st, d2), 0);
	assert_memory_equal(d, d2, 32);
	hex_of(d2, hex);
	assert_string_equal(hex, SHA_ABC);
	assert_int_equal(stat_of("reads"), reads);
	assert_int_equal(stat_of("files_hashed"), 1);
	assert_int_equal(stat_of("hits"), 2);
	assert_int_equal(stat_of("misses"), 2); /* the lookup's and hash_fd's */
	close(fd);
}

/* A file whose ctime is within the racy window is hashed every time. */
static void test_racy_not_cached(void **state)
{
	uint8_t d[32];
	struct stat st;
	assert_int_equal(hashcache_init(16, 0), 0); /* default window: 2 s */
	int fd = make_file("racy", "abc", 3);
	assert_int_equal(hashcache_hash_fd(fd, d), 0);
	assert_int_equal(hashcache_hash_fd(fd, d), 0);
	assert_int_equal(stat_of("files_hashed"), 2);
	assert_int_equal(stat_of("not_cached_racy"), 2);
	assert_int_equal(stat_of("entries"), 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(hashcache_lookup(&st, d), -ENOENT);
	close(fd);
}

static void test_write_invalidates(void **state)
{
	uint8_t d[32];
	char hex[65], want[65];
	struct stat before, after;
	assert_int_equal(hashcache_init(16, 0), 0);
	hashcache_set_racy_ns(0);
	int fd = make_file("inval", "abc", 3);
	settle();
	assert_int_equal(hashcache_hash_fd(fd, d), 0);
	assert_int_equal(fstat(fd, &before), 0);
	assert_int_equal(hashcache_lookup(&before, d), 0);
	settle();

	/* same size, mtime put back: only ctime tells */
	assert_int_equal(pwrite(fd, "abd", 3, 0), 3);
	struct timespec times[2] = {before.st_atim, before.st_mtim};
	assert_int_equal(futimens(fd, times), 0);
	assert_int_equal(fstat(fd, &after), 0);
	assert_int_equal(after.st_size, before.st_size);
	assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	assert_int_equal(hashcache_lookup(&after, d), -ENOENT);
	settle();
	assert_int_equal(hashcache_hash_fd(fd, d), 0);
	hex_of(d, hex);
	sha256sum(path_of("inval"), want);
	assert_string_equal(hex, want);
	assert_string_not_equal(hex, SHA_ABC);
	assert_int_equal(stat_of("files_hashed"), 2);
	/* the new version replaced the old one: one entry per inode */
	assert_int_equal(stat_of("entries"), 1);
	assert_int_equal(hashcache_lookup(&before, d), -ENOENT);
	assert_int_equal(hashcache_lookup(&after, d), 0);

	/* an append changes the size */
	assert_int_equal(pwrite(fd, "e", 1, 3), 1);
	assert_int_equal(fstat(fd, &after), 0);
	assert_int_equal(hashcache_lookup(&after, d), -ENOENT);
	assert_int_equal(hashcache_hash_fd(fd, d), 0);
	hex_of(d, hex);
	sha256sum(path_of("inval"), want);
	assert_string_equal(hex, want);
	close(fd);
}

static void test_too_big(void **state)
{
	uint8_t d[32];
	assert_int_equal(hashcache_init(16, 1u << 20), 0);
	assert_int_equal(stat_of("max_bytes"), 1u << 20);
	int fd = make_file("big", NULL, (1u << 20) + 1);
	assert_int_equal(hashcache_hash_fd(fd, d), -EFBIG);
	assert_int_equal(stat_of("reads"), 0);
	assert_int_equal(stat_of("too_big"), 1);
	close(fd);
	fd = make_file("limit", NULL, 1u << 20);
	assert_int_equal(hashcache_hash_fd(fd, d), 0);
	close(fd);
}

/* CLOCK: a full cache drops the first entry without a hit since the hand
 * last passed, and keeps one that was looked up again. */
static void test_eviction(void **state)
{
	uint8_t d[32];
	struct stat st[5];
	int fd[5];
	assert_int_equal(hashcache_init(4, 0), 0);
	hashcache_set_racy_ns(0);
	assert_int_equal(hashcache_init(4, 0), -EALREADY);
	for (int i = 0; i < 5; i++) {
		char name[16], body[2] = {(char)('0' + i), 0};
		snprintf(name, sizeof(name), "ev%d", i);
		fd[i] = make_file(name, body, 1);
		assert_int_equal(fstat(fd[i], &st[i]), 0);
	}
	settle();
	for (int i = 0; i < 4; i++)
		assert_int_equal(hashcache_hash_fd(fd[i], d), 0);
	assert_int_equal(stat_of("entries"), 4);
	assert_int_equal(hashcache_lookup(&st[0], d), 0);
	assert_int_equal(hashcache_hash_fd(fd[4], d), 0);
	assert_int_equal(stat_of("entries"), 4);
	assert_int_equal(stat_of("evictions"), 1);
	assert_int_equal(hashcache_lookup(&st[1], d), -ENOENT);
	for (int i = 0; i < 5; i++)
		if (i != 1)
			assert_int_equal(hashcache_lookup(&st[i], d), 0);
	for (int i = 0; i < 5; i++)
		close(fd[i]);
	assert_int_equal(hashcache_init(HASHCACHE_MAX_CAPACITY + 1, 0), -EALREADY);
	hashcache_free();
	assert_int_equal(hashcache_init(HASHCACHE_MAX_CAPACITY + 1, 0), -EINVAL);
}

/* Files whose size is not their length, as a file that changes while read
 * looks: /proc says 0 and has more (grown), sysfs says 4096 and has less
 * (shrunk).  Neither may be cached or reported with a digest. */
static void test_changed_while_read(void **state)
{
	uint8_t d[32];
	struct stat st;
	assert_int_equal(hashcache_init(16, 0), 0);
	hashcache_set_racy_ns(0);
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(hashcache_hash_fd(fd, d), -EAGAIN);
	close(fd);
	fd = open("/sys/kernel/mm/transparent_hugepage/enabled", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open("/sys/devices/system/cpu/online", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (fstat(fd, &st) == 0 && st.st_size == 4096)
			assert_int_equal(hashcache_hash_fd(fd, d), -EAGAIN);
		close(fd);
	}
	assert_true(stat_of("changed_while_read") >= 1);
	assert_int_equal(stat_of("entries"), 0);
}

static void test_not_regular(void **state)
{
	uint8_t d[32];
	int p[2];
	assert_int_equal(hashcache_init(16, 0), 0);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(hashcache_hash_fd(p[0], d), -EINVAL);
	close(p[0]);
	close(p[1]);
	assert_int_equal(hashcache_hash_fd(p[0], d), -EBADF);
	assert_int_equal(hashcache_submit(p[0], 1), -EBADF);
}

static void test_not_initialised(void **state)
{
	uint8_t d[32];
	uint64_t cookie;
	int err;
	struct stat st;
	assert_int_equal(fstat(0, &st), 0);
	assert_int_equal(hashcache_lookup(&st, d), -ENOENT);
	assert_int_equal(hashcache_hash_fd(0, d), -EINVAL);
	assert_int_equal(hashcache_submit(0, 1), -EINVAL);
	assert_int_equal(hashcache_done_fd(), -1);
	assert_int_equal(hashcache_take(&cookie, &err, d), 0);
	hashcache_set_racy_ns(0);
	struct json_object *o = json_object_new_object();
	hashcache_status(o);
	assert_int_equal(json_object_object_length(o), 0);
	json_object_put(o);
	hashcache_free();
}

/* Take @n results, waiting on the eventfd (5 s at most for each). */
static void take_n(int n, uint64_t *cookies, int *errs, uint8_t (*digests)[32])
{
	struct pollfd pfd = {.fd = hashcache_done_fd(), .events = POLLIN};
	for (int got = 0; got < n;) {
		assert_int_equal(poll(&pfd, 1, 5000), 1);
		while (got < n && hashcache_take(&cookies[got], &errs[got], digests[got]))
			got++;
	}
}

static void test_async(void **state)
{
	uint64_t cookies[3];
	int errs[3];
	uint8_t d[3][32];
	char hex[65];
	int fds_before = count_fds();
	assert_int_equal(hashcache_init(16, 1u << 20), 0);
	int efd = hashcache_done_fd();
	assert_true(efd >= 0);
	hashcache_set_racy_ns(0);
	int a = make_file("async-abc", "abc", 3);
	int b = make_file("async-big", NULL, 2u << 20);
	settle();

	struct pollfd pfd = {.fd = efd, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 0), 0);
	assert_int_equal(hashcache_submit(a, 42), 0);
	assert_int_equal(hashcache_submit(b, 43), 0);
	close(b); /* the worker has its own descriptor */
	take_n(2, cookies, errs, d);
	assert_int_equal(cookies[0], 42);
	assert_int_equal(errs[0], 0);
	hex_of(d[0], hex);
	assert_string_equal(hex, SHA_ABC);
	assert_int_equal(cookies[1], 43);
	assert_int_equal(errs[1], -EFBIG);
	/* drained: the next take re-arms, and the eventfd goes quiet */
	assert_int_equal(hashcache_take(&cookies[2], &errs[2], d[2]), 0);
	assert_int_equal(poll(&pfd, 1, 0), 0);

	/* a second submission of the same file is served from the cache */
	uint64_t reads = stat_of("reads");
	assert_int_equal(hashcache_submit(a, 44), 0);
	take_n(1, cookies, errs, d);
	assert_int_equal(cookies[0], 44);
	assert_int_equal(errs[0], 0);
	hex_of(d[0], hex);
	assert_string_equal(hex, SHA_ABC);
	assert_int_equal(stat_of("reads"), reads);
	assert_int_equal(stat_of("queue_depth"), 0);
	assert_int_equal(stat_of("results_waiting"), 0);
	close(a);
	hashcache_free();
	assert_int_equal(count_fds(), fds_before);
}

/* Results not taken count against the queue: a main loop that stops
 * taking gets -EBUSY, never unbounded memory. */
static void test_queue_full(void **state)
{
	uint64_t cookie;
	int err;
	uint8_t d[32];
	int fds_before = count_fds();
	assert_int_equal(hashcache_init(16, 0), 0);
	hashcache_set_racy_ns(0);
	int fd = make_file("queue", "abc", 3);
	settle();
	for (unsigned i = 0; i < HASHCACHE_QUEUE_MAX; i++)
		assert_int_equal(hashcache_submit(fd, i), 0);
	assert_int_equal(hashcache_submit(fd, 999), -EBUSY);
	assert_int_equal(stat_of("submits_refused"), 1);

	struct pollfd pfd = {.fd = hashcache_done_fd(), .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(hashcache_take(&cookie, &err, d), 1);
	assert_int_equal(cookie, 0);
	assert_int_equal(err, 0);
	assert_int_equal(hashcache_submit(fd, 1000), 0);
	assert_int_equal(hashcache_submit(fd, 1001), -EBUSY);
	close(fd);
	/* free with results (and maybe jobs) outstanding closes every dup */
	hashcache_free();
	assert_int_equal(count_fds(), fds_before);
}

static void on_alarm(int sig)
{
	static const char msg[] = "hashcache_free hung\n";
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(1);
}

/* A full queue of files that take a while each: free drops the queue and
 * abandons the file being read at its next chunk. */
static void test_free_with_queue(void **state)
{
	int fds_before = count_fds();
	signal(SIGALRM, on_alarm);
	alarm(20);
	assert_int_equal(hashcache_init(16, 0), 0);
	/* default racy window: this fresh file is read in full every time */
	int fd = make_file("slow", NULL, 60u << 20);
	for (unsigned i = 0; i < 200; i++)
		assert_int_equal(hashcache_submit(fd, i), 0);
	close(fd);
	struct timespec nap = {0, 20000000}, t0, t1;
	nanosleep(&nap, NULL); /* let the worker get into a read */
	assert_true(stat_of("queue_depth") > 100);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	hashcache_free();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	alarm(0);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* 200 × 60 MiB would be many seconds; one chunk is microseconds */
	assert_true(secs < 1.0);
	assert_int_equal(count_fds(), fds_before);
	/* and the cache can start again */
	assert_int_equal(hashcache_init(16, 0), 0);
}

/* A worker stuck in a read that never returns: free gives up after 2 s
 * and the worker frees everything itself once the read comes back. */
static void test_free_stuck_worker(void **state)
{
	int fds_before = count_fds();
	signal(SIGALRM, on_alarm);
	alarm(20);
	assert_int_equal(pipe(stuck_pipe), 0);
	assert_int_equal(hashcache_init(16, 0), 0);
	int fd = make_file("stuck", "abc", 3);
	__atomic_store_n(&stuck, 1, __ATOMIC_RELEASE);
	assert_int_equal(hashcache_submit(fd, 1), 0);
	close(fd);
	for (int i = 0; i < 500 && !__atomic_load_n(&stuck_entered, __ATOMIC_ACQUIRE); i++)
		usleep(10000);
	if (!__atomic_load_n(&stuck_entered, __ATOMIC_ACQUIRE)) {
		/* libc's pread was bound instead of ours (fortified builds) */
		__atomic_store_n(&stuck, 0, __ATOMIC_RELEASE);
		(void)!write(stuck_pipe[1], "x", 1);
		hashcache_free();
		alarm(0);
		skip();
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	hashcache_free();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs >= 1.5 && secs < 5.0);
	/* a new cache while the old worker is still stuck */
	assert_int_equal(hashcache_init(16, 0), 0);
	hashcache_free();
	/* release the read: the orphan sees stop, closes its dup and its
	 * eventfd, frees the state (ASan checks it is done once, and last) */
	__atomic_store_n(&stuck, 0, __ATOMIC_RELEASE);
	assert_int_equal(write(stuck_pipe[1], "x", 1), 1);
	int fds = -1;
	for (int i = 0; i < 500; i++) {
		if (__atomic_load_n(&stuck_left, __ATOMIC_ACQUIRE) &&
		    (fds = count_fds()) == fds_before + 2) /* + the pipe */
			break;
		usleep(10000);
	}
	assert_int_equal(fds, fds_before + 2);
	close(stuck_pipe[0]);
	close(stuck_pipe[1]);
	alarm(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_not_initialised, test_teardown),
		cmocka_unit_test_teardown(test_vectors, test_teardown),
		cmocka_unit_test_teardown(test_three_mib, test_teardown),
		cmocka_unit_test_teardown(test_hit_does_not_read, test_teardown),
		cmocka_unit_test_teardown(test_racy_not_cached, test_teardown),
		cmocka_unit_test_teardown(test_write_invalidates, test_teardown),
		cmocka_unit_test_teardown(test_too_big, test_teardown),
		cmocka_unit_test_teardown(test_eviction, test_teardown),
		cmocka_unit_test_teardown(test_changed_while_read, test_teardown),
		cmocka_unit_test_teardown(test_not_regular, test_teardown),
		cmocka_unit_test_teardown(test_async, test_teardown),
		cmocka_unit_test_teardown(test_queue_full, test_teardown),
		cmocka_unit_test_teardown(test_free_with_queue, test_teardown),
		cmocka_unit_test_teardown(test_free_stuck_worker, test_teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
