/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_broker.c — wardd as a broker, on the real kernel:
 *   - a process started before wardd is enriched from /proc (exe, argv, cwd);
 *   - garbage, truncated, oversized and malformed messages on the control
 *     socket get that connection dropped, logged and counted, while the
 *     well-behaved client goes on receiving events;
 *   - a client that stops reading loses events (counted) without costing
 *     the other client any.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "harness.h"
#include "wire.h"

static pid_t veteran;
static int veteran_go = -1;
static char vetdir[] = "/tmp/ward-veteran-XXXXXX";

/* Started before wardd: waits for a line, then opens a file by a relative path. */
static void start_veteran(void)
{
	int p[2];
	if (!mkdtemp(vetdir) || pipe(p))
		abort();
	veteran = fork();
	if (veteran == 0) {
		dup2(p[0], 0);
		close(p[1]);
		if (chdir(vetdir))
			_exit(1);
		execl("/bin/sh", "/bin/sh", "-c", "read line; exec 3>veteran-file", (char *)NULL);
		_exit(2);
	}
	close(p[0]);
	veteran_go = p[1];
}

static void test_process_older_than_wardd(void **state)
{
	char procs[PATH_MAX], buf[32];
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", harness_cgroup_dir());
	int fd = open(procs, O_WRONLY);
	assert_true(fd >= 0);
	int n = snprintf(buf, sizeof(buf), "%d", (int)veteran);
	assert_int_equal(write(fd, buf, (size_t)n), n);
	close(fd);
	assert_int_equal(write(veteran_go, "go\n", 3), 3);

	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/veteran-file", vetdir);
	const ward_event *ev = expect_event(WARD_EV_OPEN, veteran, path);
	assert_non_null(ev);
	char sh[PATH_MAX];
	assert_non_null(realpath("/bin/sh", sh));
	assert_string_equal(ev_str(ev, WARD_F_EXE), sh);
	assert_string_equal(ev_str(ev, WARD_F_CWD), vetdir);
	assert_int_equal(ev_u64(ev, WARD_F_PPID), getpid());
	static const char want[] = "/bin/sh\0-c\0read line; exec 3>veteran-file";
	assert_argv(ev, want, sizeof(want));
	assert_true(ev_i64(ev, WARD_F_RESULT) >= 0);
	free((void *)ev);
	int st;
	waitpid(veteran, &st, 0);
	veteran = 0;
}

static int raw_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", harness_runtime_dir(), WARD_SOCK_NAME);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	struct timeval tv = {.tv_sec = 5};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return s;
}

/* Send @len bytes of @buf and check that wardd hangs up on us. */
static void assert_dropped(const void *buf, size_t len)
{
	int s = raw_connect();
	assert_int_equal(send(s, buf, len, MSG_NOSIGNAL), (ssize_t)len);
	char c;
	ssize_t n = recv(s, &c, 1, 0);
	assert_int_equal(n, 0); /* EOF: disconnected, not a timeout (-1) */
	close(s);
}

static int do_open_p(void *arg)
{
	int fd = open(arg, O_RDONLY);
	if (fd >= 0)
		close(fd);
	return 0;
}

static long status_number(const char *key)
{
	char *json = NULL;
	assert_int_equal(ward_client_status_json(harness_client(), &json), 0);
	struct json_object *o = json_tokener_parse(json), *v;
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, key, &v));
	long r = (long)json_object_get_int64(v);
	json_object_put(o);
	free(json);
	return r;
}

static void test_bad_messages(void **state)
{
	long before = status_number("clients_disconnected_bad_messages");

	static const char garbage[] = "GET / HTTP/1.1\r\nHost: ward\r\n\r\n";
	assert_dropped(garbage, sizeof(garbage));

	struct ward_msg h = {.magic = WARD_MSG_MAGIC, .type = WARD_MSG_HELLO,
			     .len = sizeof(h) + sizeof(struct ward_msg_hello)};
	assert_dropped(&h, 6); /* truncated header */
	assert_dropped(&h, sizeof(h)); /* header says a body follows; none does */

	size_t big = WARD_MSG_MAX + 4096;
	uint8_t *over = calloc(1, big);
	assert_non_null(over);
	memcpy(over, &h, sizeof(h));
	((struct ward_msg *)over)->len = (uint32_t)big;
	assert_dropped(over, big); /* oversized */
	free(over);

	struct {
		struct ward_msg h;
		struct ward_msg_subscribe s;
	} sub = {{WARD_MSG_MAGIC, WARD_MSG_SUBSCRIBE, 0, sizeof(sub), 0}, {~0ull, 0}};
	assert_dropped(&sub, sizeof(sub)); /* SUBSCRIBE before HELLO */
	sub.h.type = 77;
	assert_dropped(&sub, sizeof(sub)); /* unknown type */

	assert_int_equal(status_number("clients_disconnected_bad_messages"), before + 6);

	/* wardd still serves the well-behaved client */
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/after-garbage", test_dir());
	pid_t pid = run_child(do_open_p, path, NULL);
	const ward_event *ev = expect_event(WARD_EV_OPEN, pid, path);
	assert_non_null(ev);
	free((void *)ev);

	/* and said why it dropped them */
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "grep -q 'bad magic' '%s' && grep -q 'oversized' '%s'",
		 harness_wardd_log(), harness_wardd_log());
	assert_int_equal(system(cmd), 0);
}

static int do_many_opens(void *arg)
{
	for (int i = 0; i < 4000; i++)
		do_open_p(arg);
	return 0;
}

static int do_many_opens_3000(void *arg)
{
	for (int i = 0; i < 3000; i++)
		do_open_p(arg);
	return 0;
}

/* HELLO on a raw connection; returns the socket and the three descriptors. */
static int raw_hello(int fds[3], unsigned ring_log2, const char *name)
{
	int s = raw_connect();
	struct {
		struct ward_msg h;
		struct ward_msg_hello b;
	} hello = {{WARD_MSG_MAGIC, WARD_MSG_HELLO, 0, sizeof(hello), 0}, {1, ring_log2, ""}};
	snprintf(hello.b.name, sizeof(hello.b.name), "%s", name);
	assert_int_equal(send(s, &hello, sizeof(hello), 0), (ssize_t)sizeof(hello));
	char buf[256], cbuf[CMSG_SPACE(3 * sizeof(int))];
	struct iovec iov = {buf, sizeof(buf)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	assert_true(recvmsg(s, &mh, MSG_CMSG_CLOEXEC) > 0);
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	assert_non_null(cm);
	memcpy(fds, CMSG_DATA(cm), 3 * sizeof(int));
	return s;
}

/* SUBSCRIBE on a raw connection, and wait for the answer. */
static void raw_subscribe(int s, uint64_t mask)
{
	struct {
		struct ward_msg h;
		struct ward_msg_subscribe b;
	} sub = {{WARD_MSG_MAGIC, WARD_MSG_SUBSCRIBE, 0, sizeof(sub), 0}, {mask, 0}};
	assert_int_equal(send(s, &sub, sizeof(sub), 0), (ssize_t)sizeof(sub));
	char buf[64];
	assert_true(recv(s, buf, sizeof(buf), 0) > 0);
}

/* A client with a 64 KiB ring that never reads. */
static int stalled_client(int fds[3])
{
	int s = raw_hello(fds, 16, "stalled");
	raw_subscribe(s, 1ull << WARD_EV_OPEN);
	return s;
}

static void test_slow_client_loses_alone(void **state)
{
	int fds[3];
	int s = stalled_client(fds);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/flood", test_dir());
	struct ward_client_stats st0, st1;
	ward_client_stats(harness_client(), &st0);
	pid_t pid = run_child(do_many_opens, path, NULL);
	/* the healthy client receives all 4000 */
	for (int i = 0; i < 4000; i++) {
		const ward_event *ev = expect_event(WARD_EV_OPEN, pid, path);
		assert_non_null(ev);
		free((void *)ev);
	}
	ward_client_stats(harness_client(), &st1);
	assert_int_equal(st1.lost, st0.lost);
	assert_int_equal(st1.gaps, st0.gaps);

	/* the stalled one lost most of them, and wardd counted it */
	char *json = NULL;
	assert_int_equal(ward_client_status_json(harness_client(), &json), 0);
	struct json_object *o = json_tokener_parse(json), *clients, *lost = NULL;
	assert_true(json_object_object_get_ex(o, "clients", &clients));
	for (size_t i = 0; i < json_object_array_length(clients); i++) {
		struct json_object *c = json_object_array_get_idx(clients, i), *name;
		if (json_object_object_get_ex(c, "name", &name) &&
		    strcmp(json_object_get_string(name), "stalled") == 0)
			json_object_object_get_ex(c, "lost", &lost);
	}
	assert_non_null(lost);
	assert_true(json_object_get_int64(lost) > 3000);
	json_object_put(o);
	free(json);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	close(s);
}

static void assert_wardd_serves(void)
{
	char *json = NULL;
	assert_int_equal(ward_client_status_json(harness_client(), &json), 0);
	free(json);
}

/* What a hostile client could do with what wardd hands it. */
static void test_client_cannot_hurt_wardd(void **state)
{
	int fds[3];
	int s = raw_hello(fds, 16, "hostile");
	/* the ring is read-only and sealed; the ctl page cannot be resized
	 * (a shrunk page would fault wardd on its next read) */
	assert_int_equal(ftruncate(fds[0], 0), -1);
	assert_int_equal(ftruncate(fds[1], 0), -1);
	assert_int_equal(errno, EPERM);
	/* the wake-up descriptor is the client's own: making it blocking and
	 * never reading it cannot block wardd's writes */
	int fl = fcntl(fds[2], F_GETFL);
	assert_int_equal(fcntl(fds[2], F_SETFL, fl & ~O_NONBLOCK), 0);
	raw_subscribe(s, 1ull << WARD_EV_OPEN);
	/* tell wardd to wake it, many times (a pipe would fill at 64 KiB) */
	volatile struct ward_ring_ctl *ctl = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fds[1], 0);
	assert_true(ctl != MAP_FAILED);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/hostile", test_dir());
	for (int round = 0; round < 20; round++) {
		ctl->waiting = 1;
		pid_t pid = run_child(do_open_p, path, NULL);
		const ward_event *ev = expect_event(WARD_EV_OPEN, pid, path);
		assert_non_null(ev);
		free((void *)ev);
	}
	assert_wardd_serves();
	/* descriptors sent to wardd are refused or dropped, never kept */
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	char cbuf[CMSG_SPACE(sizeof(int))];
	memset(cbuf, 0, sizeof(cbuf));
	struct ward_msg st = {WARD_MSG_MAGIC, WARD_MSG_STATUS, 0, sizeof(st), 0};
	struct iovec iov = {&st, sizeof(st)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pfd[1], sizeof(int));
	sendmsg(s, &mh, MSG_NOSIGNAL); /* refused by the kernel on 6.16+ */
	close(pfd[1]);
	/* whatever happened to that message, our pipe's write end is closed
	 * everywhere: wardd kept no copy */
	char c;
	struct timeval tv = {.tv_sec = 5};
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(pfd[0], &rd);
	assert_int_equal(select(pfd[0] + 1, &rd, NULL, NULL, &tv), 1);
	assert_int_equal(read(pfd[0], &c, 1), 0);
	close(pfd[0]);
	assert_wardd_serves();
	munmap((void *)ctl, 4096);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
	close(s);
}

static void test_silent_connection_is_dropped(void **state)
{
	int s = raw_connect(); /* 5 s receive timeout */
	struct timeval tv = {.tv_sec = 10};
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char c;
	/* no HELLO: wardd hangs up within its HELLO deadline (5 s) */
	assert_int_equal(recv(s, &c, 1, 0), 0);
	close(s);
}

/* ward_client_fd() turns readable for the very first event, before any call
 * to next/dispatch. */
static void test_poll_fd_wakes_first_time(void **state)
{
	ward_client *c;
	assert_int_equal(ward_client_new(&c, "poller"), 0);
	uint32_t t = WARD_EV_OPEN;
	assert_int_equal(ward_client_subscribe(c, &t, 1), 0);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/poll-first", test_dir());
	run_child(do_open_p, path, NULL);
	struct pollfd p = {.fd = ward_client_fd(c), .events = POLLIN};
	assert_int_equal(poll(&p, 1, 5000), 1);
	const ward_event *ev;
	assert_int_equal(ward_client_next(c, &ev, 0), 1);
	ward_client_free(c);
}

/* A 64 KiB ring read while 3000 events pour through it: it wraps dozens of
 * times (PAD records and the implicit skip at its end), and every event is
 * either received intact and in order or counted as lost. */
static void test_small_ring_wraps(void **state)
{
	setenv("WARD_CLIENT_RING_KB", "64", 1);
	ward_client *c;
	int err = ward_client_new(&c, "small-ring");
	unsetenv("WARD_CLIENT_RING_KB");
	assert_int_equal(err, 0);
	uint32_t t = WARD_EV_OPEN;
	assert_int_equal(ward_client_subscribe(c, &t, 1), 0);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/wrap", test_dir());
	pid_t pid = start_child(do_many_opens_3000, path);
	assert_true(pid > 0);
	uint64_t got = 0, last_seq = 0, bytes = 0;
	for (int idle = 0; idle < 20;) {
		const ward_event *ev;
		int r = ward_client_next(c, &ev, 100);
		assert_true(r >= 0);
		if (r == 0) {
			idle++;
			continue;
		}
		idle = 0;
		assert_true(ward_event_seq(ev) > last_seq);
		last_seq = ward_event_seq(ev);
		const char *p;
		assert_int_equal(ward_event_str(ev, WARD_F_PATH, &p, NULL), 0);
		assert_string_equal(p, path);
		bytes += ((const struct ward_rec *)ev)->size;
		got++;
	}
	int st;
	wait_child(pid, &st);
	struct ward_client_stats stats;
	ward_client_stats(c, &stats);
	assert_int_equal(got + stats.lost, 3000); /* every event accounted for */
	assert_true(last_seq <= 3000);            /* seq counts the lost ones too */
	/* a loss shows as a gap in seq, or, at the very end, as a last seq
	 * short of the total */
	assert_true(got > 0 && (stats.lost == 0 || stats.gaps > 0 || last_seq < 3000));
	assert_true(bytes > 2 * 65536);           /* it went round the ring */
	ward_client_free(c);
}

static long log_lines_with(const char *needle)
{
	FILE *f = fopen(harness_wardd_log(), "r");
	assert_non_null(f);
	char line[1024];
	long n = 0;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* 400 clients that each send garbage: wardd drops every one, keeps serving,
 * and writes at most its per-second quota of lines about them. */
static void test_garbage_storm_does_not_flood_the_log(void **state)
{
	long before = log_lines_with("client ");
	for (int i = 0; i < 400; i++) {
		int s = raw_connect();
		(void)!send(s, "garbage!garbage!garbage!", 24, MSG_NOSIGNAL);
		close(s);
	}
	assert_wardd_serves();
	sleep(2); /* let wardd work through the backlog */
	assert_wardd_serves();
	long added = log_lines_with("client ") - before;
	/* unlimited, that would be 800 lines (drop + disconnect per client) */
	assert_true(added > 0 && added < 400);
	assert_true(log_lines_with("lines about clients left out") > 0);
}

static int setup(void **state)
{
	start_veteran();
	return harness_start();
}

static int teardown(void **state)
{
	if (veteran > 0) {
		kill(veteran, SIGKILL);
		waitpid(veteran, NULL, 0);
	}
	harness_stop();
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", vetdir);
	return system(cmd) == 0 ? 0 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_process_older_than_wardd),
		cmocka_unit_test(test_bad_messages),
		cmocka_unit_test(test_slow_client_loses_alone),
		cmocka_unit_test(test_client_cannot_hurt_wardd),
		cmocka_unit_test(test_silent_connection_is_dropped),
		cmocka_unit_test(test_poll_fd_wakes_first_time),
		cmocka_unit_test(test_small_ring_wraps),
		cmocka_unit_test(test_garbage_storm_does_not_flood_the_log),
	};
	return cmocka_run_group_tests_name("broker", tests, setup, teardown);
}
