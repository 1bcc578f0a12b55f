/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_faults — the fault-injection suite.  For each fault, a fresh wardd
 * (the integration harness: its own runtime directory, scoped to a test
 * cgroup, AUTH marks only on a tmpfs in a private mount namespace) runs two
 * supervised clients from manifests written here:
 *
 *   healthy   fault_client healthy (uid 61001): NOTIFY exec/exit/fork/open,
 *             answers auth_exec ALLOW, writes its counters to its state dir
 *   faulty    fault_client MODE   (uid 61002): the fault under test
 *
 * While the fault goes on, the test execs a program on the tmpfs from the
 * test cgroup (each exec is an auth_exec both clients are asked about) and
 * then checks, for every fault:
 *   - wardd is still up and answers;
 *   - the healthy client saw no seq gap and lost nothing, and was never
 *     restarted;
 *   - every auth_exec was decided within the deadline (plus a margin for a
 *     loaded machine);
 *   - the faulty client was restarted or quarantined, as its manifest says
 *     (or, for faults that are contained rather than fatal, kept running
 *     within its limits).
 *
 * Every wait is bounded; the harness stops wardd (which stops its clients
 * and removes their cgroups) after each test, also when one fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include <ward/ward.h>
#include "common.h"
#include "harness.h"

#define UID_HEALTHY 61001
#define UID_FAULTY 61002
#define DEADLINE_MS 250
#define DEADLINE_MARGIN_MS 400 /* a loaded two-CPU machine, one fault spinning */
#define EXECS 12

/* A fresh wardd with the healthy client and one faulty one. */
static int start(const char *mode, const char *faulty_extra)
{
	if (fc_fresh_dirs())
		return -1;
	fc_manifest("healthy", UID_HEALTHY, "healthy", NULL, DEADLINE_MS, NULL);
	if (mode)
		fc_manifest("faulty", UID_FAULTY, mode, NULL, DEADLINE_MS, faulty_extra);
	fc_wardd_options();
	harness_wardd_option("--auth-strikes");
	harness_wardd_option("3");
	return harness_start();
}

struct want {
	const char *state;     /* NULL: any */
	uint64_t restarts;     /* at least */
	uint64_t crashes;      /* at least */
	uint64_t connections;  /* at least */
};

/* Wait (bounded) until client @name is as @w says.  Returns its entry as
 * JSON text (static) or NULL after @timeout_ms. */
static const char *wait_client(const char *name, struct want w, int timeout_ms)
{
	static char last[4096];
	last[0] = '\0';
	for (long t0 = fc_now_ms(); fc_now_ms() - t0 < timeout_ms; usleep(50000)) {
		json_object *st = fc_status();
		json_object *c = fc_client(st, name);
		int ok = 0;
		if (c) {
			snprintf(last, sizeof(last), "%s", json_object_to_json_string(c));
			const char *s = json_object_get_string(fc_get(c, "state"));
			ok = (!w.state || (s && !strcmp(s, w.state))) && fc_u64(c, "restarts") >= w.restarts &&
			     fc_u64(c, "crashes") >= w.crashes && fc_u64(c, "connections") >= w.connections;
		}
		json_object_put(st);
		if (ok)
			return last;
	}
	fprintf(stderr, "client %s never got there; last seen: %s\n", name, last);
	return NULL;
}

struct hstats {
	unsigned long long received, gaps, lost, auth, exec;
};

static int healthy_stats(struct hstats *h)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/state/healthy/stats", fc_root);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int n = fscanf(f, "received=%llu gaps=%llu lost=%llu auth=%llu exec=%llu", &h->received, &h->gaps, &h->lost,
		       &h->auth, &h->exec);
	fclose(f);
	return n == 5 ? 0 : -1;
}

/* Both clients connected and the healthy one answering. */
static void wait_ready(int faulty_connects)
{
	assert_non_null(wait_client("healthy", (struct want){.state = "running", .connections = 1}, 15000));
	struct hstats h;
	long t0 = fc_now_ms();
	while (healthy_stats(&h) && fc_now_ms() - t0 < 10000)
		usleep(50000);
	assert_int_equal(healthy_stats(&h), 0);
	if (faulty_connects)
		assert_non_null(wait_client("faulty", (struct want){.connections = 1}, 15000));
}

static char prog[PATH_MAX + 16];

static int exec_prog(void *arg)
{
	(void)arg;
	execl(prog, "t", (char *)NULL);
	return 127;
}

/* Exec @n times from the test cgroup; every auth_exec must be decided
 * within the deadline bound.  Returns the worst latency in µs. */
static uint64_t exec_load(int n)
{
	snprintf(prog, sizeof(prog), "%s/t", harness_auth_dir());
	if (access(prog, X_OK))
		assert_int_equal(fc_run("cp /usr/bin/true '%s' && chmod 0755 '%s'", prog, prog), 0);
	uint64_t worst = 0;
	for (int i = 0; i < n; i++) {
		int status;
		pid_t pid = run_child(exec_prog, NULL, &status);
		assert_true(pid > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		const ward_event *ev = expect_event(WARD_EV_AUTH_EXEC, pid, NULL);
		assert_non_null(ev);
		uint64_t lat = ev_u64(ev, WARD_F_LATENCY_NS);
		assert_int_equal(ev_u64(ev, WARD_F_VERDICT), WARD_VERDICT_ALLOW);
		free((void *)ev);
		if (lat > (uint64_t)(DEADLINE_MS + DEADLINE_MARGIN_MS) * 1000000ull)
			fail_msg("auth_exec %d decided after %llu ms (deadline %d ms)", i,
				 (unsigned long long)(lat / 1000000), DEADLINE_MS);
		if (lat / 1000 > worst)
			worst = lat / 1000;
	}
	return worst;
}

/* What every fault must leave true. */
static void check_healthy(int execs)
{
	assert_true(kill(harness_wardd_pid(), 0) == 0);
	json_object *st = fc_status();
	assert_non_null(st); /* wardd answers */
	json_object *h = fc_client(st, "healthy");
	assert_non_null(h);
	assert_string_equal(json_object_get_string(fc_get(h, "state")), "running");
	assert_int_equal(fc_u64(h, "restarts"), 0);
	assert_int_equal(fc_u64(h, "drops"), 0);
	json_object_put(st);
	/* its own view: no seq gap, nothing lost, every exec seen (its file is
	 * rewritten every 50 ms) */
	struct hstats hs = {0};
	for (long t0 = fc_now_ms(); fc_now_ms() - t0 < 5000; usleep(50000))
		if (healthy_stats(&hs) == 0 && hs.exec >= (unsigned long long)execs)
			break;
	assert_int_equal(hs.gaps, 0);
	assert_int_equal(hs.lost, 0);
	assert_true(hs.exec >= (unsigned long long)execs);
}

static const char *wardd_log_has(const char *needle)
{
	static char line[1024];
	FILE *f = fopen(harness_wardd_log(), "r");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, needle)) {
			fclose(f);
			return line;
		}
	if (f)
		fclose(f);
	return NULL;
}

static int teardown(void **state)
{
	(void)state;
	harness_stop();
	return 0;
}

/* ---- the faults ---- */

static const char *fast_restart =
	"restart: {backoff_initial_ms: 100, backoff_max_ms: 400, quarantine_after: 3, quarantine_window_s: 60}\n";

static void t_segv(void **state)
{
	(void)state;
	assert_int_equal(start("segv", fast_restart), 0);
	wait_ready(0);
	exec_load(EXECS);
	const char *c = wait_client("faulty", (struct want){.state = "quarantined", .crashes = 3}, 20000);
	assert_non_null(c);
	assert_non_null(strstr(c, "signal 11"));
	assert_true(kept_count(WARD_EV_CLIENT_STATE, 0) > 0 || expect_event(WARD_EV_CLIENT_STATE, 0, NULL));
	check_healthy(EXECS);
}

static void t_abort(void **state)
{
	(void)state;
	assert_int_equal(start("abort", "restart: {backoff_initial_ms: 100, backoff_max_ms: 200, "
					"quarantine_after: 50, quarantine_window_s: 60}\n"),
			 0);
	wait_ready(0);
	exec_load(EXECS);
	const char *c = wait_client("faulty", (struct want){.restarts = 2, .crashes = 2}, 20000);
	assert_non_null(c);
	assert_non_null(strstr(c, "\"last_exit\": \"killed by signal 6"));
	check_healthy(EXECS);
}

static void t_hang_auth(void **state)
{
	(void)state;
	assert_int_equal(start("hang-auth", fast_restart), 0);
	wait_ready(1);
	/* every request waits for the hung client's deadline, no longer */
	uint64_t worst = exec_load(EXECS);
	print_message("hang-auth: worst auth_exec latency %llu µs (deadline %d ms)\n", (unsigned long long)worst,
		      DEADLINE_MS);
	/* 3 missed deadlines disconnect it; the supervisor kills and
	 * restarts it; three such kills quarantine it */
	const char *c = wait_client("faulty", (struct want){.restarts = 1, .crashes = 1}, 20000);
	assert_non_null(c);
	assert_non_null(strstr(c, "killed by wardd") ? c : wardd_log_has("killing it"));
	check_healthy(EXECS);
}

static void t_busy(void **state)
{
	(void)state;
	assert_int_equal(start("busy", "limits: {cpu: 10%}\n"), 0);
	wait_ready(1);
	usleep(500000);
	exec_load(EXECS);
	/* contained, not killed: it keeps spinning within its CPU share */
	json_object *st = fc_status();
	json_object *f = fc_client(st, "faulty");
	assert_non_null(f);
	if (strcmp(json_object_get_string(fc_get(f, "state")), "running") || fc_u64(f, "restarts"))
		fail_msg("the busy client was not left running: %s (wardd log %s)", json_object_to_json_string(f),
			 harness_wardd_log());
	uint64_t cpu0 = fc_u64(f, "cpu_usage_ns");
	json_object_put(st);
	usleep(1000000);
	st = fc_status();
	uint64_t cpu1 = fc_u64(fc_client(st, "faulty"), "cpu_usage_ns");
	json_object_put(st);
	/* 10% of one CPU over ~1 s is ~100 ms; far below a whole CPU */
	print_message("busy: %llu ms of CPU in ~1 s\n", (unsigned long long)((cpu1 - cpu0) / 1000000));
	assert_true(cpu1 > cpu0);
	assert_true(cpu1 - cpu0 < 600000000ull);
	check_healthy(EXECS);
}

static void t_oom(void **state)
{
	(void)state;
	assert_int_equal(start("oom", "limits: {memory: 32M}\nrestart: {backoff_initial_ms: 100, "
				      "backoff_max_ms: 200, quarantine_after: 50, quarantine_window_s: 60}\n"),
			 0);
	wait_ready(0);
	exec_load(EXECS);
	const char *c = wait_client("faulty", (struct want){.restarts = 1, .crashes = 1}, 20000);
	assert_non_null(c);
	assert_non_null(strstr(c, "\"last_exit\": \"killed by signal 9"));
	check_healthy(EXECS);
}

static void t_forkbomb(void **state)
{
	(void)state;
	assert_int_equal(start("forkbomb", "limits: {pids: 16}\n"), 0);
	wait_ready(1);
	const char *line = NULL;
	for (long t0 = fc_now_ms(); !line && fc_now_ms() - t0 < 10000; usleep(50000))
		line = wardd_log_has("forkbomb:");
	assert_non_null(line); /* fork failed inside its limit */
	exec_load(EXECS);
	json_object *st = fc_status();
	json_object *f = fc_client(st, "faulty");
	assert_non_null(f);
	assert_true(fc_u64(f, "pids") <= 16);
	assert_true(fc_u64(f, "pids") >= 8);
	json_object_put(st);
	check_healthy(EXECS);
}

static void t_garbage(void **state)
{
	(void)state;
	assert_int_equal(start("garbage", fast_restart), 0);
	wait_ready(0);
	exec_load(EXECS);
	const char *c = wait_client("faulty", (struct want){.restarts = 1, .crashes = 1}, 20000);
	assert_non_null(c);
	assert_non_null(wardd_log_has("bad magic"));
	check_healthy(EXECS);
}

static int open_many(void *arg)
{
	const char *path = arg;
	for (int i = 0; i < 60000; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return 1;
		close(fd);
	}
	return 0;
}

static void t_noread(void **state)
{
	(void)state;
	assert_int_equal(start("noread", NULL), 0);
	wait_ready(1);
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/f", test_dir());
	touch(path);
	/* the harness's own client reads only when a test waits for an
	 * event: it must not fill up with these opens either */
	uint32_t types[WARD_EV_MAX_];
	size_t n = 0;
	for (uint32_t t = 1; t < WARD_EV_MAX_; t++)
		if (t != WARD_EV_OPEN)
			types[n++] = t;
	assert_int_equal(ward_client_subscribe(harness_client(), types, n), 0);
	/* more opens than its ring holds: it loses them, nobody else does */
	for (int k = 0; k < 3; k++) {
		int status;
		assert_true(run_child(open_many, path, &status) > 0);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	exec_load(EXECS);
	drain_events();
	const char *c = NULL;
	json_object *st = NULL;
	for (long t0 = fc_now_ms(); fc_now_ms() - t0 < 10000; usleep(100000)) {
		json_object_put(st);
		st = fc_status();
		if (fc_u64(fc_client(st, "faulty"), "drops") > 0)
			break;
	}
	json_object *f = fc_client(st, "faulty");
	assert_non_null(f);
	c = json_object_get_string(fc_get(f, "state"));
	assert_string_equal(c, "running");
	assert_true(fc_u64(f, "drops") > 0);
	json_object_put(st);
	check_healthy(EXECS);
}

/* ---- wardd itself killed: a supervised client loses nothing ---- */

#define SIGKILL_EXECS 300

struct exec_load {
	pid_t pids[SIGKILL_EXECS];
	int done;
};

/* In the test cgroup: SIGKILL_EXECS execs of /usr/bin/true, about 150 a
 * second, each child's pid noted (shared memory). */
static int steady_execs(void *arg)
{
	struct exec_load *l = arg;
	for (int i = 0; i < SIGKILL_EXECS; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			execl("/usr/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		if (pid < 0)
			return 1;
		l->pids[i] = pid;
		waitpid(pid, NULL, 0);
		l->done = i + 1;
		usleep(5000);
	}
	return 0;
}

/* Does $state/healthy/execs hold every pid of @l? Returns how many miss. */
static int execs_missing(const struct exec_load *l)
{
	char path[PATH_MAX + 32], line[64];
	snprintf(path, sizeof(path), "%s/state/healthy/execs", fc_root);
	static unsigned char seen[1 << 22];
	memset(seen, 0, sizeof(seen));
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long p = strtoul(line, NULL, 10);
		if (p < sizeof(seen))
			seen[p] = 1;
	}
	if (f)
		fclose(f);
	int missing = 0;
	for (int i = 0; i < SIGKILL_EXECS; i++)
		missing += l->pids[i] <= 0 || (size_t)l->pids[i] >= sizeof(seen) || !seen[l->pids[i]];
	return missing;
}

static void t_wardd_sigkill(void **state)
{
	(void)state;
	assert_int_equal(start(NULL, NULL), 0);
	wait_ready(0);
	struct exec_load *l = mmap(NULL, sizeof(*l), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(l != MAP_FAILED);
	memset(l, 0, sizeof(*l));
	pid_t load = start_child(steady_execs, l);
	assert_true(load > 0);
	while (l->done < SIGKILL_EXECS / 3)
		usleep(10000);
	/* wardd dies with the load going on; the healthy client loses its
	 * connection, the sensors go on into the pinned ring */
	assert_int_equal(harness_kill_wardd(), 0);
	usleep(300000);
	/* the new wardd takes the sensors over, restarts the client, which
	 * resumes after what it had acknowledged */
	assert_int_equal(harness_restart_wardd(), 0);
	int st;
	assert_int_equal(wait_child(load, &st), 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	int missing = SIGKILL_EXECS;
	for (long t0 = fc_now_ms(); fc_now_ms() - t0 < 20000 && missing; usleep(100000))
		missing = execs_missing(l);
	print_message("wardd SIGKILLed at exec %d of %d: the supervised client, restarted, saw all but %d\n",
		      SIGKILL_EXECS / 3, SIGKILL_EXECS, missing);
	assert_int_equal(missing, 0);
	munmap(l, sizeof(*l));
}

int main(void)
{
	if (fc_prepare("faults")) {
		fprintf(stderr, "test_faults: cannot prepare %s\n", fc_root);
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(t_segv, teardown),
		cmocka_unit_test_teardown(t_abort, teardown),
		cmocka_unit_test_teardown(t_hang_auth, teardown),
		cmocka_unit_test_teardown(t_busy, teardown),
		cmocka_unit_test_teardown(t_oom, teardown),
		cmocka_unit_test_teardown(t_forkbomb, teardown),
		cmocka_unit_test_teardown(t_garbage, teardown),
		cmocka_unit_test_teardown(t_noread, teardown),
		cmocka_unit_test_teardown(t_wardd_sigkill, teardown),
	};
	int failed = cmocka_run_group_tests_name("faults", tests, NULL, NULL);
	if (!getenv("WARD_TEST_KEEP"))
		fc_run("rm -rf '%s'", fc_root);
	return failed;
}
