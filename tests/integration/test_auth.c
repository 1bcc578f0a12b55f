/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_auth.c — AUTH_EXEC and AUTH_OPEN on the real kernel.  wardd marks
 * only a tmpfs in this test's private mount namespace (harness_use_auth_mount),
 * so nothing outside the test ever waits on it.  Voters are libward clients
 * on threads of this process (wardd never asks a client about its own
 * accesses, so the test's own file work is never held up) or, where one must
 * die, in a child process.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "harness.h"

/* ---- a voter: a client on its own thread with a simple policy ---- */

struct voter {
	const char *name;
	uint32_t type;          /* AUTH type it answers */
	uint32_t default_verdict;
	uint32_t deadline_ms;
	const char *deny_path;  /* deny requests for this path, allow the rest */
	const char *deny_sha256; /* deny executables with this digest */
	const char *scan_marker; /* read the file through its descriptor: deny if it holds this */
	volatile int files;     /* descriptors received */
	volatile int read_only; /* every one of them refused a write */
	int silent;             /* never answer */
	int cache;              /* answer with WARD_RESPOND_CACHE */
	int delay_ms;           /* think this long before answering */
	const char *count_path; /* count requests for this path */
	ward_client *c;
	pthread_t thread;
	volatile int stop;
	volatile int requests;  /* for count_path */
	volatile int seen;      /* all requests */
	volatile int gone;      /* wardd ended the connection */
};

static void *voter_main(void *arg)
{
	struct voter *v = arg;
	while (!v->stop) {
		const ward_event *ev;
		int r = ward_client_next(v->c, &ev, 50);
		if (r < 0) {
			v->gone = r;
			break;
		}
		if (r == 0 || !ward_event_is_auth(ev))
			continue;
		uint64_t id = 0;
		const char *path = NULL;
		ward_event_u64(ev, WARD_F_AUTH_ID, &id);
		ward_event_str(ev, WARD_F_PATH, &path, NULL);
		v->seen++;
		if (v->count_path && path && strcmp(path, v->count_path) == 0)
			v->requests++;
		if (v->silent)
			continue;
		if (v->delay_ms)
			usleep((useconds_t)v->delay_ms * 1000);
		const char *sha = NULL;
		ward_event_str(ev, WARD_F_SHA256, &sha, NULL);
		uint32_t verdict = (v->deny_path && path && strcmp(path, v->deny_path) == 0) ||
					   (v->deny_sha256 && sha && strcmp(sha, v->deny_sha256) == 0)
				   ? WARD_VERDICT_DENY
				   : WARD_VERDICT_ALLOW;
		if (v->scan_marker) {
			int fd = ward_client_take_file(v->c, ev);
			if (fd >= 0) {
				char buf[4096] = {0};
				ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
				if (n > 0 && strstr(buf, v->scan_marker))
					verdict = WARD_VERDICT_DENY;
				v->files++;
				if (write(fd, "x", 1) < 0 && errno == EBADF)
					v->read_only++;
				close(fd);
			}
		}
		ward_client_respond(v->c, id, verdict, v->cache ? WARD_RESPOND_CACHE : 0);
	}
	return NULL;
}

/* Subscribe, waiting out wardd's limit on AUTH joins (8 a second, all
 * clients together): tests start voters faster than that.  Bounded. */
static int subscribe_auth(ward_client *c, const struct ward_auth_sub *sub, uint32_t deadline_ms)
{
	int r = -EAGAIN;
	for (int i = 0; i < 50 && r == -EAGAIN; i++)
		if ((r = ward_client_subscribe_auth(c, sub, 1, deadline_ms)) == -EAGAIN)
			usleep(50000);
	return r;
}

/* Connect and subscribe; requests wait in the ring until voter_run(). */
static void voter_connect(struct voter *v)
{
	assert_int_equal(ward_client_new(&v->c, v->name), 0);
	struct ward_auth_sub sub = {.type = v->type, .default_verdict = v->default_verdict,
				    .flags = v->scan_marker ? WARD_AUTH_FILE : 0};
	assert_int_equal(subscribe_auth(v->c, &sub, v->deadline_ms), 0);
}

/* From here on the voter's thread owns its client (one thread at a time). */
static void voter_run(struct voter *v)
{
	v->stop = 0;
	assert_int_equal(pthread_create(&v->thread, NULL, voter_main, v), 0);
}

static void voter_start(struct voter *v)
{
	voter_connect(v);
	voter_run(v);
}

static void voter_stop(struct voter *v)
{
	v->stop = 1;
	pthread_join(v->thread, NULL);
	ward_client_free(v->c);
	v->c = NULL;
}

/* ---- what children do ---- */

static char path_a[256], path_b[256];

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copy /bin/true to @dst, executable. */
static void copy_true(const char *dst)
{
	int in = open("/bin/true", O_RDONLY | O_CLOEXEC);
	int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	assert_true(in >= 0 && out >= 0);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

/* exit status: 0 if the exec worked (true exits 0), else the errno */
static int do_exec(void *arg)
{
	execl((const char *)arg, (const char *)arg, (char *)NULL);
	return errno;
}

/* exit status: 0 if the open worked, else the errno */
static int do_open(void *arg)
{
	int fd = open((const char *)arg, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

/* The NOTIFY side: the decided request, as `ward events` sees it. */
static const ward_event *expect_result(uint32_t type, pid_t pid, const char *path, uint64_t verdict,
				       const char *decided_by, const char *reason)
{
	const ward_event *ev = expect_event(type, pid, path);
	assert_non_null(ev);
	assert_int_equal(ev_u64(ev, WARD_F_VERDICT), verdict);
	if (decided_by)
		assert_string_equal(ev_str(ev, WARD_F_DECIDED_BY), decided_by);
	if (reason)
		assert_string_equal(ev_str(ev, WARD_F_REASON), reason);
	assert_true(ev_u64(ev, WARD_F_LATENCY_NS) > 0);
	assert_false(ev_has(ev, WARD_F_AUTH_ID)); /* not a request */
	return ev;
}

static void paths(const char *a, const char *b)
{
	snprintf(path_a, sizeof(path_a), "%s/%s", harness_auth_dir(), a);
	snprintf(path_b, sizeof(path_b), "%s/%s", harness_auth_dir(), b);
}

/* ---- tests ---- */

static void exec_denied_by_path(void **state)
{
	(void)state;
	paths("denied-true", "allowed-true");
	copy_true(path_a);
	copy_true(path_b);
	struct voter v = {.name = "block-exec", .type = WARD_EV_AUTH_EXEC, .deny_path = path_a};
	voter_start(&v);
	int st;
	pid_t pid = run_child(do_exec, path_a, &st);
	assert_int_equal(exit_code(st), EPERM);
	const ward_event *ev = expect_result(WARD_EV_AUTH_EXEC, pid, path_a, WARD_VERDICT_DENY,
					     "block-exec", "client");
	/* the process's fields are those of the process that asked */
	assert_int_equal(ev_u64(ev, WARD_F_PID), (uint64_t)pid);
	assert_true(ev_has(ev, WARD_F_UID) && ev_has(ev, WARD_F_INO));
	free((void *)ev);
	pid = run_child(do_exec, path_b, &st);
	assert_int_equal(exit_code(st), 0);
	free((void *)expect_result(WARD_EV_AUTH_EXEC, pid, path_b, WARD_VERDICT_ALLOW, "block-exec", "client"));
	voter_stop(&v);
}

/* sha256sum's answer for @path */
static void sha256_of(const char *path, char out[65])
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%64s", out), 1);
	pclose(f);
}

static void exec_denied_by_sha256(void **state)
{
	(void)state;
	/* two different binaries (a byte past the ELF's end changes the digest,
	 * not what runs), then the denied one under a name nobody denies */
	paths("variant-true", "renamed-variant");
	copy_true(path_a);
	int fd = open(path_a, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "ward", 4), 4);
	close(fd);
	char want[65];
	sha256_of(path_a, want);
	assert_int_equal(rename(path_a, path_b), 0);
	char other[256];
	snprintf(other, sizeof(other), "%s/plain-true", harness_auth_dir());
	copy_true(other);
	struct voter v = {.name = "block-sha", .type = WARD_EV_AUTH_EXEC, .deny_sha256 = want};
	voter_start(&v);
	int st;
	pid_t pid = run_child(do_exec, path_b, &st);
	assert_int_equal(exit_code(st), EPERM);
	const ward_event *ev = expect_result(WARD_EV_AUTH_EXEC, pid, path_b, WARD_VERDICT_DENY, "block-sha", "client");
	assert_string_equal(ev_str(ev, WARD_F_SHA256), want);
	free((void *)ev);
	pid = run_child(do_exec, other, &st);
	assert_int_equal(exit_code(st), 0);
	free((void *)expect_result(WARD_EV_AUTH_EXEC, pid, other, WARD_VERDICT_ALLOW, "block-sha", "client"));
	/* the exec event (NOTIFY) carries the digest too */
	char want_other[65];
	sha256_of(other, want_other);
	ev = expect_event(WARD_EV_EXEC, pid, NULL);
	assert_non_null(ev);
	assert_string_equal(ev_str(ev, WARD_F_SHA256), want_other);
	free((void *)ev);
	voter_stop(&v);
}

static void open_denied_by_path(void **state)
{
	(void)state;
	paths("secret", "public");
	touch(path_a);
	touch(path_b);
	struct voter v = {.name = "block-open", .type = WARD_EV_AUTH_OPEN, .deny_path = path_a};
	voter_start(&v);
	int st;
	pid_t pid = run_child(do_open, path_a, &st);
	assert_int_equal(exit_code(st), EPERM);
	free((void *)expect_result(WARD_EV_AUTH_OPEN, pid, path_a, WARD_VERDICT_DENY, "block-open", "client"));
	pid = run_child(do_open, path_b, &st);
	assert_int_equal(exit_code(st), 0);
	free((void *)expect_result(WARD_EV_AUTH_OPEN, pid, path_b, WARD_VERDICT_ALLOW, "block-open", "client"));
	/* with a FAN_OPEN_PERM mark in place, an exec of a binary never seen
	 * still gets its digest (the worker hashes it; wardd answers its own
	 * open at once) */
	char fresh[256], want[65];
	snprintf(fresh, sizeof(fresh), "%s/fresh-true", harness_auth_dir());
	copy_true(fresh);
	int fd = open(fresh, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "fresh", 5), 5);
	close(fd);
	sha256_of(fresh, want);
	pid = run_child(do_exec, fresh, &st);
	assert_int_equal(exit_code(st), 0);
	const ward_event *ev = expect_event(WARD_EV_EXEC, pid, NULL);
	assert_non_null(ev);
	assert_string_equal(ev_str(ev, WARD_F_SHA256), want);
	free((void *)ev);
	voter_stop(&v);
}

static int do_cat(void *arg)
{
	int null = open("/dev/null", O_WRONLY);
	dup2(null, 1);
	execl("/bin/cat", "cat", (const char *)arg, (char *)NULL);
	return errno;
}

/* Right after an exec, a request describes the new image (wardd reads the
 * sensors' exec before the request). */
static void request_after_exec_has_new_image(void **state)
{
	(void)state;
	paths("read-by-cat", "unused");
	touch(path_a);
	struct voter v = {.name = "observer", .type = WARD_EV_AUTH_OPEN};
	voter_start(&v);
	char real[PATH_MAX];
	assert_non_null(realpath("/bin/cat", real));
	for (int i = 0; i < 5; i++) {
		int st;
		pid_t pid = run_child(do_cat, path_a, &st);
		assert_int_equal(exit_code(st), 0);
		const ward_event *ev = expect_result(WARD_EV_AUTH_OPEN, pid, path_a, WARD_VERDICT_ALLOW, "observer", "client");
		assert_string_equal(ev_str(ev, WARD_F_EXE), real);
		assert_string_equal(ev_str(ev, WARD_F_COMM), "cat");
		static const char want[] = "cat";
		const char *argv;
		assert_int_equal(ward_event_str(ev, WARD_F_ARGV, &argv, NULL), 0);
		assert_string_equal(argv, want);
		free((void *)ev);
	}
	voter_stop(&v);
}

/* A content scanner: decides on what the file holds, read through the
 * descriptor wardd passed (no reopening by path). */
static void open_denied_by_content(void **state)
{
	(void)state;
	paths("infected", "clean");
	int fd = open(path_a, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello X5O-WARD-TEST-SIGNATURE bye", 33), 33);
	close(fd);
	fd = open(path_b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello", 5), 5);
	close(fd);
	struct voter v = {.name = "scanner", .type = WARD_EV_AUTH_OPEN, .scan_marker = "X5O-WARD-TEST"};
	voter_start(&v);
	int st;
	pid_t pid = run_child(do_open, path_a, &st);
	assert_int_equal(exit_code(st), EPERM);
	free((void *)expect_result(WARD_EV_AUTH_OPEN, pid, path_a, WARD_VERDICT_DENY, "scanner", "client"));
	pid = run_child(do_open, path_b, &st);
	assert_int_equal(exit_code(st), 0);
	free((void *)expect_result(WARD_EV_AUTH_OPEN, pid, path_b, WARD_VERDICT_ALLOW, "scanner", "client"));
	assert_int_equal(v.files, 2);
	assert_int_equal(v.read_only, 2);
	voter_stop(&v);
}

static void one_allows_one_denies(void **state)
{
	(void)state;
	paths("contested", "unused");
	touch(path_a);
	struct voter yes = {.name = "allower", .type = WARD_EV_AUTH_OPEN};
	struct voter no = {.name = "denier", .type = WARD_EV_AUTH_OPEN, .deny_path = path_a};
	voter_start(&yes);
	voter_start(&no);
	int st;
	pid_t pid = run_child(do_open, path_a, &st);
	assert_int_equal(exit_code(st), EPERM);
	free((void *)expect_result(WARD_EV_AUTH_OPEN, pid, path_a, WARD_VERDICT_DENY, "denier", "client"));
	voter_stop(&no);
	voter_stop(&yes);
}

/* A client that never answers: its default, by its deadline + 50 ms. */
static void silent_client_default(uint32_t def, int want_errno)
{
	paths(def ? "silent-deny" : "silent-allow", "unused");
	touch(path_a);
	struct voter v = {.name = "silent", .type = WARD_EV_AUTH_OPEN, .silent = 1,
			  .default_verdict = def, .deadline_ms = 200};
	voter_start(&v);
	int st;
	long t0 = now_ms();
	pid_t pid = run_child(do_open, path_a, &st);
	long took = now_ms() - t0;
	assert_int_equal(exit_code(st), want_errno);
	const ward_event *ev = expect_result(WARD_EV_AUTH_OPEN, pid, path_a, def, "silent", "timeout");
	uint64_t lat = ev_u64(ev, WARD_F_LATENCY_NS);
	free((void *)ev);
	assert_true(lat >= 200000000ull);
	assert_true(lat <= 250000000ull); /* deadline + 50 ms, as wardd measured it */
	assert_true(took >= 200 && took < 2000);
	assert_true(v.seen >= 1);
	voter_stop(&v);
}

static void silent_client_fail_closed(void **state)
{
	(void)state;
	silent_client_default(WARD_VERDICT_DENY, EPERM);
}

static void silent_client_fail_open(void **state)
{
	(void)state;
	silent_client_default(WARD_VERDICT_ALLOW, 0);
}

/* Five missed deadlines within a minute (wardd's default --auth-strikes)
 * and the client is disconnected; its requests no longer wait for it. */
static void strikes_disconnect(void **state)
{
	(void)state;
	paths("struck", "unused");
	touch(path_a);
	struct voter v = {.name = "sleeper", .type = WARD_EV_AUTH_OPEN, .silent = 1, .deadline_ms = 30};
	voter_start(&v);
	int st;
	for (int i = 0; i < 5; i++) {
		run_child(do_open, path_a, &st);
		assert_int_equal(exit_code(st), 0); /* its default: allow */
	}
	for (long t0 = now_ms(); !v.gone && now_ms() - t0 < 3000;)
		usleep(10000);
	assert_int_equal(v.gone, -EPIPE);
	long t0 = now_ms();
	run_child(do_open, path_a, &st); /* nobody to ask: at once */
	assert_int_equal(exit_code(st), 0);
	assert_true(now_ms() - t0 < 1000);
	voter_stop(&v);
}

/* With no AUTH subscriber nothing is marked: the kernel never asks wardd. */
static void nothing_marked_without_subscribers(void **state)
{
	(void)state;
	char *js;
	assert_int_equal(ward_client_status_json(harness_client(), &js), 0);
	assert_non_null(strstr(js, "\"marked\":[]"));
	free(js);
	struct voter v = {.name = "marker", .type = WARD_EV_AUTH_OPEN};
	voter_start(&v);
	assert_int_equal(ward_client_status_json(harness_client(), &js), 0);
	assert_non_null(strstr(js, "\"marked\":[\"auth_open\"]"));
	free(js);
	voter_stop(&v);
	for (long t0 = now_ms(); now_ms() - t0 < 3000; usleep(10000)) {
		assert_int_equal(ward_client_status_json(harness_client(), &js), 0);
		int empty = strstr(js, "\"marked\":[]") != NULL;
		free(js);
		if (empty)
			return;
	}
	fail_msg("still marked after the last AUTH client left");
}

/* A voter in a child process that subscribes, says it is ready, and then
 * never answers anything. */
static int hold_requests(void *arg)
{
	int fd = *(int *)arg;
	ward_client *c;
	struct ward_auth_sub sub = {.type = WARD_EV_AUTH_OPEN, .default_verdict = WARD_VERDICT_ALLOW};
	if (ward_client_new(&c, "doomed") || subscribe_auth(c, &sub, 10000))
		return 1;
	(void)!write(fd, "r", 1);
	for (;;)
		pause();
}

static void killed_client_resolves_at_once(void **state)
{
	(void)state;
	paths("held", "unused");
	touch(path_a);
	int ready[2];
	assert_int_equal(pipe(ready), 0);
	pid_t holder = start_child(hold_requests, &ready[1]);
	close(ready[1]); /* a holder that fails ends the read */
	char ch;
	assert_int_equal(read(ready[0], &ch, 1), 1);
	pid_t opener = start_child(do_open, path_a);
	usleep(200000); /* the open is held by now */
	assert_int_equal(waitpid(opener, NULL, WNOHANG), 0);
	long t0 = now_ms();
	kill(holder, SIGKILL);
	int st;
	assert_int_equal(wait_child(opener, &st), 0);
	long took = now_ms() - t0;
	assert_int_equal(exit_code(st), 0); /* the default of a dead client: allow */
	assert_true(took < 2000);          /* at once, not at the 10 s deadline */
	free((void *)expect_result(WARD_EV_AUTH_OPEN, opener, path_a, WARD_VERDICT_ALLOW, "doomed", "disconnect"));
	wait_child(holder, NULL);
	close(ready[0]);
}

static void cached_allow_and_modification(void **state)
{
	(void)state;
	paths("cached", "unused");
	touch(path_a);
	struct voter v = {.name = "cacher", .type = WARD_EV_AUTH_OPEN, .cache = 1, .count_path = path_a};
	voter_start(&v);
	int st;
	run_child(do_open, path_a, &st);
	assert_int_equal(exit_code(st), 0);
	assert_int_equal(v.requests, 1);
	for (int i = 0; i < 3; i++) {
		run_child(do_open, path_a, &st);
		assert_int_equal(exit_code(st), 0);
	}
	usleep(100000);
	assert_int_equal(v.requests, 1); /* the kernel answered: nobody was asked */
	/* modify it: the kernel drops the ignore mark, wardd's key changes */
	int fd = open(path_a, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	run_child(do_open, path_a, &st);
	assert_int_equal(exit_code(st), 0);
	for (long t0 = now_ms(); v.requests < 2 && now_ms() - t0 < 2000;)
		usleep(10000);
	assert_int_equal(v.requests, 2);
	/* clearing the cache asks again too; any client may clear it (not the
	 * voter's, which its own thread is using) */
	assert_int_equal(ward_client_clear_cache(harness_client()), 0);
	assert_int_equal(ward_client_clear_cache(harness_client()), -EAGAIN); /* rate-limited */
	run_child(do_open, path_a, &st);
	for (long t0 = now_ms(); v.requests < 3 && now_ms() - t0 < 2000;)
		usleep(10000);
	assert_int_equal(v.requests, 3);
	voter_stop(&v);
}

static long long status_num(const char *section, const char *key);

/* Written while the client decided: the ALLOW was for the old content, so
 * it is applied but not cached — the new content is asked about. */
static void no_cache_for_content_changed_meanwhile(void **state)
{
	(void)state;
	paths("changing", "unused");
	touch(path_a);
	int wfd = open(path_a, O_WRONLY | O_APPEND); /* ours: never asked */
	assert_true(wfd >= 0);
	struct voter v = {.name = "slow-cacher", .type = WARD_EV_AUTH_OPEN, .cache = 1, .delay_ms = 300,
			  .count_path = path_a};
	voter_start(&v);
	pid_t opener = start_child(do_open, path_a);
	for (long t0 = now_ms(); v.requests < 1 && now_ms() - t0 < 3000;)
		usleep(5000);
	assert_int_equal(write(wfd, "EVIL", 4), 4); /* while the voter thinks */
	int st;
	assert_int_equal(wait_child(opener, &st), 0);
	assert_int_equal(exit_code(st), 0);
	run_child(do_open, path_a, &st);
	assert_int_equal(exit_code(st), 0);
	assert_int_equal(v.requests, 2); /* asked again: nothing was cached */
	close(wfd);
	voter_stop(&v);
}

static void bad_subscriptions_refused(void **state)
{
	(void)state;
	ward_client *c;
	assert_int_equal(ward_client_new(&c, "bad"), 0);
	struct ward_auth_sub bad[] = {{.type = WARD_EV_OPEN}, {.type = WARD_EV_AUTH_OPEN, .default_verdict = 7},
				      {.type = WARD_EV_AUTH_CONNECT}};
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(ward_client_subscribe_auth(c, &bad[i], 1, 0), -EINVAL);
	assert_int_equal(ward_client_respond(c, 1, 5, 0), -EINVAL);
	assert_int_equal(ward_client_respond(c, 1, WARD_VERDICT_ALLOW, 0x80), -EINVAL);
	/* a verdict for a request that does not exist is ignored, not fatal */
	assert_int_equal(ward_client_respond(c, 12345, WARD_VERDICT_DENY, 0), 0);
	char *status;
	assert_int_equal(ward_client_status_json(c, &status), 0);
	free(status);
	/* adding AUTH types clears every cache: 8 times a second at most,
	 * for all clients together */
	struct ward_auth_sub ok = {.type = WARD_EV_AUTH_OPEN};
	struct ward_auth_sub none = {.type = WARD_EV_AUTH_EXEC};
	usleep(1100000); /* a fresh second */
	int refused = 0;
	for (int i = 0; i < 10; i++) {
		int r = ward_client_subscribe_auth(c, i & 1 ? &none : &ok, 1, 0);
		assert_true(r == 0 || r == -EAGAIN);
		refused += r == -EAGAIN;
	}
	assert_true(refused >= 1); /* the ninth join in the second */
	assert_int_equal(ward_client_subscribe_auth(c, NULL, 0, 0), 0); /* adds nothing */
	ward_client_free(c);
	/* at most 32 clients answer AUTH types (joins paced under the limit) */
	ward_client *many[33];
	for (int i = 0; i < 33; i++) {
		assert_int_equal(ward_client_new(&many[i], "many"), 0);
		int r;
		while ((r = ward_client_subscribe_auth(many[i], &ok, 1, 0)) == -EAGAIN)
			usleep(100000);
		assert_int_equal(r, i < 32 ? 0 : -ENOSPC);
	}
	for (int i = 0; i < 33; i++)
		ward_client_free(many[i]);
	/* gone before the next test subscribes */
	for (long t0 = now_ms(); status_num(NULL, "clients_connected") > 1 && now_ms() - t0 < 3000;)
		usleep(10000);
}

/* ---- network rules ---- */

static int test_port;

/* exit status: 0 if connect() to 127.0.0.1:test_port worked, else errno */
static int do_connect(void *arg)
{
	(void)arg;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)test_port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? errno : 0;
	close(fd);
	return r;
}

/* exit status: 0 if bind() to 127.0.0.1:test_port+1 worked, else errno */
static int do_bind(void *arg)
{
	(void)arg;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)(test_port + 1)),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ? errno : 0;
	close(fd);
	return r;
}

static void connect_and_bind_denied_by_rule(void **state)
{
	(void)state;
	/* a listener of our own (outside the test cgroup: never judged) */
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 16), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	test_port = ntohs(sa.sin_port);
	int st;
	run_child(do_connect, NULL, &st);
	assert_int_equal(exit_code(st), 0);

	ward_client *c;
	assert_int_equal(ward_client_new(&c, "firewall"), 0);
	struct ward_net_rule r = {.type = WARD_EV_AUTH_CONNECT, .family = AF_INET, .prefix_len = 8,
				  .protocol = IPPROTO_TCP, .port_lo = (uint16_t)test_port,
				  .port_hi = (uint16_t)test_port};
	r.addr[0] = 127;
	uint32_t id = 0, bind_id = 0;
	assert_int_equal(ward_client_add_net_rule(c, &r, &id), 0);
	assert_true(id != 0);
	pid_t pid = run_child(do_connect, NULL, &st);
	assert_int_equal(exit_code(st), EPERM);
	const ward_event *ev = expect_event(WARD_EV_AUTH_CONNECT, pid, NULL);
	assert_non_null(ev);
	assert_int_equal(ev_u64(ev, WARD_F_RULE_ID), id);
	assert_string_equal(ev_str(ev, WARD_F_RULE_CLIENT), "firewall");
	assert_string_equal(ev_str(ev, WARD_F_REMOTE_ADDR), "127.0.0.1");
	assert_int_equal(ev_u64(ev, WARD_F_REMOTE_PORT), (uint64_t)test_port);
	assert_int_equal(ev_u64(ev, WARD_F_VERDICT), WARD_VERDICT_DENY);
	free((void *)ev);

	/* bind */
	struct ward_net_rule b = r;
	b.type = WARD_EV_AUTH_BIND;
	b.port_lo = b.port_hi = (uint16_t)(test_port + 1);
	assert_int_equal(ward_client_add_net_rule(c, &b, &bind_id), 0);
	pid = run_child(do_bind, NULL, &st);
	assert_int_equal(exit_code(st), EPERM);
	ev = expect_event(WARD_EV_AUTH_BIND, pid, NULL);
	assert_non_null(ev);
	assert_int_equal(ev_u64(ev, WARD_F_RULE_ID), bind_id);
	assert_int_equal(ev_u64(ev, WARD_F_LOCAL_PORT), (uint64_t)test_port + 1);
	free((void *)ev);

	/* bad rules change nothing; another client cannot remove ours */
	struct ward_net_rule bad = r;
	bad.prefix_len = 33;
	assert_int_equal(ward_client_add_net_rule(c, &bad, &id), -EINVAL);
	bad = r;
	bad.type = WARD_EV_AUTH_OPEN;
	assert_int_equal(ward_client_add_net_rule(c, &bad, &id), -EINVAL);
	assert_int_equal(ward_client_remove_net_rule(harness_client(), id), -EPERM);
	assert_int_equal(ward_client_remove_net_rule(c, 999999), -ENOENT);

	/* removed: allowed again */
	assert_int_equal(ward_client_remove_net_rule(c, id), 0);
	run_child(do_connect, NULL, &st);
	assert_int_equal(exit_code(st), 0);
	/* the client leaves: its rules go with it */
	run_child(do_bind, NULL, &st);
	assert_int_equal(exit_code(st), EPERM);
	ward_client_free(c);
	/* (another socket may hold that port by now: only EPERM says the rule
	 * is still there) */
	for (long t0 = now_ms(); now_ms() - t0 < 2000; usleep(20000)) {
		run_child(do_bind, NULL, &st);
		if (exit_code(st) != EPERM)
			break;
	}
	assert_int_not_equal(exit_code(st), EPERM);
	close(lfd);
}

/* wardd's status, one number of its "auth" object (or the top level). */
static long long status_num(const char *section, const char *key)
{
	char *js;
	assert_int_equal(ward_client_status_json(harness_client(), &js), 0);
	const char *p = js;
	if (section) {
		char pat[64];
		snprintf(pat, sizeof(pat), "\"%s\":{", section);
		p = strstr(js, pat);
		assert_non_null(p);
	}
	char pat[64];
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	const char *q = strstr(p, pat);
	assert_non_null(q);
	long long v = atoll(q + strlen(pat));
	free(js);
	return v;
}

/* `ward events` shows the decision: verdict, who decided, why, how long. */
static json_object *member(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no \"%s\" in %s", key, json_object_to_json_string(o));
	return v;
}

static void cli_shows_decisions(void **state)
{
	(void)state;
	paths("cli-denied", "unused");
	touch(path_a);
	struct voter v = {.name = "cli-voter", .type = WARD_EV_AUTH_OPEN, .deny_path = path_a};
	voter_start(&v);
	int out[2];
	assert_int_equal(pipe(out), 0);
	pid_t cli = fork();
	if (cli == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execl(WARD_CLI_PATH, "ward", "events", "--type", "auth_open", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	FILE *f = fdopen(out[0], "r");
	assert_non_null(f);
	json_object *ev = NULL;
	char line[65536];
	/* the CLI subscribes in its own time: open until it shows up */
	for (int tries = 0; tries < 50 && !ev; tries++) {
		pid_t pid = run_child(do_open, path_a, NULL);
		struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
		fd_set rd;
		while (!ev) {
			FD_ZERO(&rd);
			FD_SET(out[0], &rd);
			if (select(out[0] + 1, &rd, NULL, NULL, &tv) != 1 || !fgets(line, sizeof(line), f))
				break;
			json_object *o = json_tokener_parse(line);
			assert_non_null(o);
			if (json_object_get_int(member(member(o, "process"), "pid")) == pid)
				ev = o;
			else
				json_object_put(o);
		}
	}
	kill(cli, SIGTERM);
	waitpid(cli, NULL, 0);
	fclose(f);
	voter_stop(&v);
	assert_non_null(ev);
	assert_string_equal(json_object_get_string(member(ev, "type")), "auth_open");
	assert_string_equal(json_object_get_string(member(member(ev, "file"), "path")), path_a);
	json_object *a = member(ev, "auth");
	assert_string_equal(json_object_get_string(member(a, "verdict")), "deny");
	assert_string_equal(json_object_get_string(member(a, "decided_by")), "cli-voter");
	assert_string_equal(json_object_get_string(member(a, "reason")), "client");
	assert_true(json_object_get_int64(member(a, "latency_ns")) > 0);
	json_object_put(ev);
}

/* More requests than wardd holds (--auth-max-pending 16 for this suite):
 * the rest are answered at once with the overflow verdict, never left
 * waiting in the kernel. */
static void overflow_answers_at_once(void **state)
{
	(void)state;
	enum { N = 24 };
	static char files[N][300];
	for (int i = 0; i < N; i++) {
		snprintf(files[i], sizeof(files[i]), "%s/flood-%d", harness_auth_dir(), i);
		touch(files[i]);
	}
	struct voter v = {.name = "silent-flooded", .type = WARD_EV_AUTH_OPEN, .silent = 1, .deadline_ms = 3000};
	voter_start(&v);
	long long overflows = status_num("auth", "queue_overflows");
	pid_t kids[N];
	for (int i = 0; i < N; i++)
		kids[i] = start_child(do_open, files[i]);
	/* 16 held, 8 answered at once */
	int done = 0;
	for (long t0 = now_ms(); done < N - 16 && now_ms() - t0 < 2000; usleep(10000)) {
		done = 0;
		for (int i = 0; i < N; i++) {
			int st;
			if (kids[i] > 0 && waitpid(kids[i], &st, WNOHANG) == kids[i]) {
				assert_int_equal(exit_code(st), 0); /* the overflow verdict: allow */
				kids[i] = -1;
			}
			done += kids[i] < 0;
		}
	}
	assert_int_equal(done, N - 16);
	assert_int_equal(status_num("auth", "pending"), 16);
	assert_int_equal(status_num("auth", "queue_overflows"), overflows + N - 16);
	for (int i = 0; i < N; i++)
		if (kids[i] > 0) {
			int st;
			assert_int_equal(wait_child(kids[i], &st), 0);
			assert_int_equal(exit_code(st), 0); /* the voter's default */
		}
	voter_stop(&v);
}

/* The example clients, as a vendor would first run them. */
static void example_block_denies(void **state)
{
	(void)state;
	paths("ex-denied", "ex-secret");
	copy_true(path_a);
	touch(path_b);
	char okbin[300];
	snprintf(okbin, sizeof(okbin), "%s/ex-allowed", harness_auth_dir());
	copy_true(okbin);
	int out[2];
	assert_int_equal(pipe(out), 0);
	pid_t blk = fork();
	if (blk == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execl(WARD_BLOCK_PATH, "block", "--exec", path_a, "--open", path_b, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	/* block subscribes in its own time: until its first denial shows */
	int st = 0;
	for (int tries = 0; tries < 100; tries++) {
		run_child(do_exec, path_a, &st);
		if (exit_code(st) == EPERM)
			break;
		usleep(50000);
	}
	assert_int_equal(exit_code(st), EPERM);
	run_child(do_open, path_b, &st);
	assert_int_equal(exit_code(st), EPERM);
	run_child(do_exec, okbin, &st);
	assert_int_equal(exit_code(st), 0);
	kill(blk, SIGTERM);
	assert_int_equal(wait_child(blk, &st), 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* it said what it denied, one line each */
	FILE *f = fdopen(out[0], "r");
	char line[1024];
	int denials = 0;
	while (fgets(line, sizeof(line), f))
		denials += strstr(line, " deny ") != NULL;
	fclose(f);
	assert_true(denials >= 2);
}

static void example_count_counts(void **state)
{
	(void)state;
	paths("counted", "unused");
	touch(path_a);
	int out[2];
	assert_int_equal(pipe(out), 0);
	pid_t cnt = fork();
	if (cnt == 0) {
		dup2(out[1], 1);
		close(out[0]);
		execl(WARD_COUNT_PATH, "count", "--interval-ms", "200", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	FILE *f = fdopen(out[0], "r");
	int saw_open = 0;
	char line[4096];
	for (int tries = 0; tries < 30 && !saw_open; tries++) {
		run_child(do_open, path_a, NULL);
		struct timeval tv = {.tv_sec = 1};
		fd_set rd;
		FD_ZERO(&rd);
		FD_SET(out[0], &rd);
		if (select(out[0] + 1, &rd, NULL, NULL, &tv) == 1 && fgets(line, sizeof(line), f))
			saw_open = strstr(line, "open=") != NULL;
	}
	kill(cnt, SIGTERM);
	int st;
	wait_child(cnt, &st);
	fclose(f);
	assert_true(saw_open);
}

/* ---- mutes ---- */

/* A voter that denies everything but muted the one path: it is never asked
 * about it (wardd answers for it at once). */
static void muted_path_not_asked(void **state)
{
	(void)state;
	paths("muted", "asked");
	touch(path_a);
	touch(path_b);
	struct voter v = {.name = "mute-one", .type = WARD_EV_AUTH_OPEN, .deny_path = path_b, .count_path = path_a};
	voter_connect(&v);
	uint32_t t = WARD_EV_AUTH_OPEN;
	assert_int_equal(ward_client_mute(v.c, WARD_MUTE_PATH_LITERAL, 0, path_a, &t, 1), 0);
	assert_int_equal(ward_client_mute(v.c, WARD_MUTE_PATH_LITERAL, 0, "relative", &t, 1), -EINVAL);
	assert_int_equal(ward_client_mute(v.c, 77, 0, path_a, &t, 1), -EINVAL);
	voter_run(&v);
	int st;
	pid_t pid = run_child(do_open, path_a, &st);
	assert_int_equal(exit_code(st), 0);
	free((void *)expect_result(WARD_EV_AUTH_OPEN, pid, path_a, WARD_VERDICT_ALLOW, "mute-one", "muted"));
	assert_int_equal(v.requests, 0);
	run_child(do_open, path_b, &st);
	assert_int_equal(exit_code(st), EPERM);
	/* a fresh voter without the mute is asked */
	voter_stop(&v);
	assert_int_equal(ward_client_new(&v.c, v.name), 0);
	struct ward_auth_sub sub = {.type = WARD_EV_AUTH_OPEN};
	assert_int_equal(subscribe_auth(v.c, &sub, 0), 0);
	assert_int_equal(ward_client_unmute(v.c, WARD_MUTE_PATH_LITERAL, 0, path_a, &t, 1), -ENOENT);
	voter_run(&v);
	run_child(do_open, path_a, &st);
	assert_int_equal(exit_code(st), 0);
	assert_int_equal(v.requests, 1);
	voter_stop(&v);
}

/* Inverted target-path muting: only what is under the named directory is
 * asked about; the rest goes through unasked. */
static void inverted_path_muting(void **state)
{
	(void)state;
	char dir[256], inside[300], outside[300];
	snprintf(dir, sizeof(dir), "%s/watched/", harness_auth_dir());
	mkdir(dir, 0755);
	snprintf(inside, sizeof(inside), "%sfile", dir);
	snprintf(outside, sizeof(outside), "%s/unwatched", harness_auth_dir());
	touch(inside);
	touch(outside);
	/* deny both; but only inside is asked */
	struct voter v = {.name = "inverted", .type = WARD_EV_AUTH_OPEN, .deny_path = inside};
	voter_connect(&v);
	uint32_t t = WARD_EV_AUTH_OPEN;
	assert_int_equal(ward_client_mute(v.c, WARD_MUTE_PATH_PREFIX, 0, dir, &t, 1), 0);
	assert_int_equal(ward_client_invert_muting(v.c, WARD_MUTE_PATH_PREFIX, 1), 0);
	assert_int_equal(ward_client_invert_muting(v.c, 42, 1), -EINVAL);
	voter_run(&v);
	int st;
	int seen = v.seen;
	pid_t pid = run_child(do_open, inside, &st);
	assert_int_equal(exit_code(st), EPERM);
	free((void *)expect_result(WARD_EV_AUTH_OPEN, pid, inside, WARD_VERDICT_DENY, "inverted", "client"));
	pid = run_child(do_open, outside, &st);
	assert_int_equal(exit_code(st), 0);
	free((void *)expect_result(WARD_EV_AUTH_OPEN, pid, outside, WARD_VERDICT_ALLOW, "inverted", "muted"));
	assert_int_equal(v.seen, seen + 1);
	voter_stop(&v);
}

/* NOTIFY mutes: a process every subscriber mutes is dropped by the sensors. */
static void process_mute_pushed_down(void **state)
{
	(void)state;
	ward_client *c = harness_client();
	assert_int_equal(status_num(NULL, "kernel_muted_pids"), 0);
	assert_int_equal(ward_client_mute(c, WARD_MUTE_PROCESS, 4242424, NULL, NULL, 0), 0);
	assert_int_equal(status_num(NULL, "kernel_muted_pids"), 1);
	/* a second subscriber that does not mute it: back out of the kernel */
	ward_client *d;
	uint32_t t = WARD_EV_OPEN;
	assert_int_equal(ward_client_new(&d, "unmuted"), 0);
	assert_int_equal(ward_client_subscribe(d, &t, 1), 0);
	assert_int_equal(status_num(NULL, "kernel_muted_pids"), 0);
	ward_client_free(d);
	/* wardd sees the hang-up in its own time */
	for (long t0 = now_ms(); status_num(NULL, "kernel_muted_pids") != 1 && now_ms() - t0 < 2000;)
		usleep(10000);
	assert_int_equal(status_num(NULL, "kernel_muted_pids"), 1);
	assert_int_equal(ward_client_unmute(c, WARD_MUTE_PROCESS, 4242424, NULL, NULL, 0), 0);
	assert_int_equal(status_num(NULL, "kernel_muted_pids"), 0);
	/* a NOTIFY path mute (done in wardd): the event does not arrive */
	paths("quiet", "loud");
	touch(path_a);
	touch(path_b);
	t = WARD_EV_OPEN;
	assert_int_equal(ward_client_mute(c, WARD_MUTE_PATH_LITERAL, 0, path_a, &t, 1), 0);
	int st;
	pid_t pid = run_child(do_open, path_a, &st);
	pid_t pid2 = run_child(do_open, path_b, &st);
	const ward_event *ev = expect_event(WARD_EV_OPEN, pid2, path_b);
	assert_non_null(ev);
	free((void *)ev);
	assert_int_equal(kept_count(WARD_EV_OPEN, pid), 0);
	assert_int_equal(ward_client_unmute_all(c), 0);
}

/* Last: it kills wardd.  The kernel lets every held request through. */
static void wardd_killed_releases_everyone(void **state)
{
	(void)state;
	paths("orphaned", "unused");
	touch(path_a);
	struct voter v = {.name = "silent-fail-closed", .type = WARD_EV_AUTH_OPEN, .silent = 1,
			  .default_verdict = WARD_VERDICT_DENY, .deadline_ms = 10000};
	voter_start(&v);
	pid_t opener = start_child(do_open, path_a);
	for (long t0 = now_ms(); v.seen < 1 && now_ms() - t0 < 5000;)
		usleep(10000);
	assert_int_equal(v.seen, 1);
	long t0 = now_ms();
	kill(harness_wardd_pid(), SIGKILL);
	int st;
	assert_int_equal(wait_child(opener, &st), 0);
	assert_true(now_ms() - t0 < 2000);
	assert_int_equal(exit_code(st), 0);
	voter_stop(&v);
}

static int setup(void **state)
{
	harness_use_auth_mount();
	harness_wardd_option("--auth-max-pending");
	harness_wardd_option("16");
	return harness_group_setup(state);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nothing_marked_without_subscribers),
		cmocka_unit_test(exec_denied_by_path),
		cmocka_unit_test(exec_denied_by_sha256),
		cmocka_unit_test(open_denied_by_path),
		cmocka_unit_test(open_denied_by_content),
		cmocka_unit_test(request_after_exec_has_new_image),
		cmocka_unit_test(one_allows_one_denies),
		cmocka_unit_test(silent_client_fail_closed),
		cmocka_unit_test(silent_client_fail_open),
		cmocka_unit_test(killed_client_resolves_at_once),
		cmocka_unit_test(strikes_disconnect),
		cmocka_unit_test(cached_allow_and_modification),
		cmocka_unit_test(no_cache_for_content_changed_meanwhile),
		cmocka_unit_test(bad_subscriptions_refused),
		cmocka_unit_test(connect_and_bind_denied_by_rule),
		cmocka_unit_test(cli_shows_decisions),
		cmocka_unit_test(overflow_answers_at_once),
		cmocka_unit_test(example_block_denies),
		cmocka_unit_test(example_count_counts),
		cmocka_unit_test(muted_path_not_asked),
		cmocka_unit_test(inverted_path_muting),
		cmocka_unit_test(process_mute_pushed_down),
		cmocka_unit_test(wardd_killed_releases_everyone),
	};
	return cmocka_run_group_tests_name("auth", tests, setup, harness_group_teardown);
}
