/* SPDX-License-Identifier: Apache-2.0 */
/*
 * supervision — two benchmarks of issue 4 (docs/perf.md, "Faults and
 * restarts"), on the integration harness (a private wardd scoped to a test
 * cgroup, AUTH marks on a tmpfs in a private mount namespace):
 *
 *   supervision faults [--rounds N] [--execs N]
 *     Exec latency while each fault of the fault-injection suite goes on,
 *     as a ratio to a baseline run in the same invocation (the healthy
 *     client alone).  Two execs are timed: one on the tmpfs, which both
 *     clients are asked about (auth_exec), and /usr/bin/true, which only
 *     the sensors see.  Rounds alternate the order of the scenarios; the
 *     table gives medians over rounds.
 *
 *   supervision restart [--rates R1,R2,...] [--down-ms N]
 *     For each rate of opens per second: a client reads, wardd is SIGKILLed
 *     in the middle of the load, started again N ms later (500), the client
 *     reconnects and resumes; were all opens seen?  Reports the highest
 *     rate with zero loss.  The bound is what the pinned ring (16 MiB) holds
 *     while wardd is down, and the journal (64 MiB).
 *
 * Run as root from the build directory: build/tests/faults/bench_supervision.
 */
#include <errno.h>
#include <fcntl.h>
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

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, int n, double q)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	int i = (int)(q * (n - 1) + 0.5);
	return v[i];
}

/* ---- faults ---- */

struct scenario {
	const char *name;
	const char *mode;   /* NULL: the baseline */
	const char *extra;  /* manifest YAML */
	int connects;       /* wait for the faulty client to connect */
};

static const char *restart_fast =
	"restart: {backoff_initial_ms: 100, backoff_max_ms: 400, quarantine_after: 3, quarantine_window_s: 60}\n";

static const struct scenario scenarios[] = {
	{"baseline", NULL, NULL, 0},
	{"segv", "segv", NULL, 0},
	{"abort", "abort", NULL, 0},
	{"hang-auth", "hang-auth", NULL, 1},
	{"busy", "busy", "limits: {cpu: 10%}\n", 1},
	{"oom", "oom", "limits: {memory: 32M}\n", 0},
	{"forkbomb", "forkbomb", "limits: {pids: 16}\n", 1},
	{"garbage", "garbage", NULL, 0},
	{"noread", "noread", NULL, 1},
};
#define NSCEN (sizeof(scenarios) / sizeof(scenarios[0]))

static int start(const struct scenario *s)
{
	char extra[512];
	if (fc_fresh_dirs())
		return -1;
	fc_manifest("healthy", UID_HEALTHY, "healthy", NULL, 250, NULL);
	if (s->mode) {
		snprintf(extra, sizeof(extra), "%s%s", s->extra ? s->extra : "", s->extra && strstr(s->extra, "restart") ? "" : restart_fast);
		fc_manifest("faulty", UID_FAULTY, s->mode, NULL, 250, extra);
	}
	fc_wardd_options();
	harness_wardd_option("--auth-strikes");
	harness_wardd_option("3");
	if (harness_start())
		return -1;
	/* both clients there (or the faulty one started at least) */
	for (long t0 = fc_now_ms(); fc_now_ms() - t0 < 15000; usleep(50000)) {
		json_object *st = fc_status();
		json_object *h = fc_client(st, "healthy"), *f = fc_client(st, "faulty");
		int ok = h && fc_u64(h, "connections") >= 1 &&
			 (!s->mode || (s->connects ? fc_u64(f, "connections") >= 1 : fc_u64(f, "pid") > 0 || fc_u64(f, "crashes") > 0));
		json_object_put(st);
		if (ok)
			return 0;
	}
	return -1;
}

struct execs {
	const char *path;
	int n;
	uint64_t *lat; /* shared with the child that runs them */
};

/* In the test cgroup: @n times fork, exec @path, wait (blocking); each
 * latency from before fork to reaped. */
static int execs_fn(void *arg)
{
	struct execs *e = arg;
	for (int i = 0; i < e->n; i++) {
		uint64_t t0 = now_ns();
		pid_t pid = fork();
		if (pid == 0) {
			execl(e->path, "t", (char *)NULL);
			_exit(127);
		}
		int st;
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
			return 1;
		e->lat[i] = now_ns() - t0;
	}
	return 0;
}

static int time_execs(const char *path, int n, uint64_t *lat)
{
	uint64_t *shared = mmap(NULL, (size_t)n * sizeof(*lat), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return -1;
	struct execs e = {path, n, shared};
	int st, r = -1;
	if (run_child(execs_fn, &e, &st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		memcpy(lat, shared, (size_t)n * sizeof(*lat));
		r = 0;
	}
	munmap(shared, (size_t)n * sizeof(*lat));
	return r;
}

static int bench_faults(int rounds, int execs)
{
	uint64_t p50a[NSCEN][16], p99a[NSCEN][16], p50n[NSCEN][16];
	uint64_t *lat = calloc((size_t)execs, sizeof(*lat));
	char tprog[PATH_MAX];
	if (rounds > 16)
		rounds = 16;
	for (int r = 0; r < rounds; r++) {
		for (size_t k = 0; k < NSCEN; k++) {
			size_t i = r % 2 ? NSCEN - 1 - k : k; /* alternate the order */
			if (start(&scenarios[i])) {
				fprintf(stderr, "faults: %s: wardd or its clients did not come up (log %s)\n", scenarios[i].name,
					harness_wardd_log());
				harness_stop();
				return 1;
			}
			snprintf(tprog, sizeof(tprog), "%s/t", harness_auth_dir());
			fc_run("cp /usr/bin/true '%s' && chmod 0755 '%s'", tprog, tprog);
			usleep(300000); /* let the fault get going */
			if (time_execs(tprog, execs, lat))
				return 1;
			p99a[i][r] = pct(lat, execs, 0.99);
			p50a[i][r] = pct(lat, execs, 0.5);
			if (time_execs("/usr/bin/true", execs, lat))
				return 1;
			p50n[i][r] = pct(lat, execs, 0.5);
			harness_stop();
			fprintf(stderr, "round %d %-10s auth_exec p50 %6.0f µs p99 %8.0f µs; exec p50 %6.0f µs\n", r + 1,
				scenarios[i].name, p50a[i][r] / 1e3, p99a[i][r] / 1e3, p50n[i][r] / 1e3);
		}
	}
	printf("| fault | exec on the tmpfs (auth_exec), p50 | ratio | p99 | ratio | exec of /usr/bin/true, p50 | ratio |\n");
	printf("|---|---|---|---|---|---|---|\n");
	double b50a = 1, b99a = 1, b50n = 1;
	for (size_t i = 0; i < NSCEN; i++) {
		uint64_t m50a = pct(p50a[i], rounds, 0.5), m99a = pct(p99a[i], rounds, 0.5), m50n = pct(p50n[i], rounds, 0.5);
		if (i == 0) {
			b50a = (double)m50a;
			b99a = (double)m99a;
			b50n = (double)m50n;
		}
		printf("| %s | %.0f µs | %.2f | %.0f µs | %.2f | %.0f µs | %.2f |\n", scenarios[i].name, m50a / 1e3,
		       m50a / b50a, m99a / 1e3, m99a / b99a, m50n / 1e3, m50n / b50n);
	}
	free(lat);
	return 0;
}

/* ---- restart ---- */

struct load {
	int n, rate; /* opens, opens per second */
	char prefix[32];
};

static int load_fn(void *arg)
{
	const struct load *l = arg;
	char path[4096];
	uint64_t t0 = now_ns();
	for (int k = 0; k < l->n; k++) {
		snprintf(path, sizeof(path), "%s/%s%d", test_dir(), l->prefix, k);
		/* a name that does not exist: the sensors report failed opens
		 * too, and no file system work slows the load down */
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		if (k % 20 == 19) {
			uint64_t due = t0 + (uint64_t)(k + 1) * 1000000000ull / (uint64_t)l->rate;
			uint64_t now = now_ns();
			if (due > now)
				usleep((useconds_t)((due - now) / 1000));
		}
	}
	return 0;
}

struct seen {
	const char *prefix;
	unsigned char *got;
	int n, distinct;
	uint64_t last;
};

static int pump(ward_client *c, struct seen *s, int want_all, int timeout_ms)
{
	long t0 = fc_now_ms();
	size_t pl = strlen(s->prefix);
	for (;;) {
		if (want_all && s->distinct == s->n)
			return 1;
		if (fc_now_ms() - t0 > timeout_ms)
			return 0;
		const ward_event *ev;
		int r = ward_client_next(c, &ev, 50);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		const char *p;
		size_t len;
		if (ward_event_type(ev) == WARD_EV_OPEN && ward_event_str(ev, WARD_F_PATH, &p, &len) == 0) {
			const char *b = strrchr(p, '/');
			b = b ? b + 1 : p;
			if (!strncmp(b, s->prefix, pl)) {
				int k = atoi(b + pl);
				if (k >= 0 && k < s->n && !s->got[k]) {
					s->got[k] = 1;
					s->distinct++;
				}
			}
		}
		s->last = ward_event_global_seq(ev);
	}
}

/* Connect (waiting for wardd), resume after @after if not 0 (*@res: what
 * ward_client_resume said), subscribe to open. */
static ward_client *client(uint64_t after, int *res)
{
	ward_client *c = NULL;
	for (long t0 = fc_now_ms(); fc_now_ms() - t0 < 10000; usleep(20000))
		if (ward_client_new(&c, "bench-resume") == 0)
			break;
	if (c && after)
		*res = ward_client_resume(c, after);
	uint32_t t = WARD_EV_OPEN;
	if (!c || ward_client_subscribe(c, &t, 1))
		return NULL;
	return c;
}

/* Records the sensors could not put in the kernel ring, as wardd counts
 * them (per-CPU map, pinned: it goes on across restarts). */
static uint64_t ring_drops(void)
{
	json_object *st = fc_status();
	uint64_t d = fc_u64(st, "ringbuf_drops");
	json_object_put(st);
	return d;
}

/* One run at @rate opens/s: how many of them went missing (-1: failure);
 * *@down: ms from the SIGKILL to the new wardd answering; *@achieved: the
 * load's real rate (opens/s, from its start to its end). */
static int restart_run(int rate, int down_ms, int run, long *down, long *achieved)
{
	int secs = 3;
	struct load l = {.n = rate * secs, .rate = rate};
	snprintf(l.prefix, sizeof(l.prefix), "r%d-%d-", rate, run);
	struct seen s = {.prefix = l.prefix, .n = l.n};
	s.got = calloc((size_t)l.n, 1);
	int res = 0;
	ward_client *c = client(0, &res);
	if (!c)
		return -1;
	long t_load = fc_now_ms();
	pid_t kid = start_child(load_fn, &l);
	pump(c, &s, 0, 1000);
	long t_kill = fc_now_ms();
	if (harness_kill_wardd())
		return -1;
	pump(c, &s, 0, 300); /* drain what was delivered */
	ward_client_free(c);
	usleep((useconds_t)down_ms * 1000);
	if (harness_restart_wardd())
		return -1;
	*down = fc_now_ms() - t_kill;
	c = client(s.last, &res);
	if (!c || res < 0)
		return -1;
	if (res == 1)
		fprintf(stderr, "rate %d: the journal no longer held everything after global_seq %llu\n", rate,
			(unsigned long long)s.last);
	/* read while the load goes on: a client that stops reading loses
	 * what its ring cannot hold (that is its own business, not the
	 * restart's) */
	int st;
	for (long t0 = fc_now_ms(); waitpid(kid, &st, WNOHANG) != kid && fc_now_ms() - t0 < 30000;)
		pump(c, &s, 0, 50);
	*achieved = l.n * 1000L / (fc_now_ms() - t_load > 0 ? fc_now_ms() - t_load : 1);
	pump(c, &s, 1, 10000);
	struct ward_client_stats cs;
	ward_client_stats(c, &cs);
	if (cs.lost || cs.gaps)
		fprintf(stderr, "rate %d: the client's ring overflowed: %llu lost, %llu gaps\n", rate,
			(unsigned long long)cs.lost, (unsigned long long)cs.gaps);
	ward_client_free(c);
	int missing = 0, first = -1, last = -1;
	for (int k = 0; k < l.n; k++)
		if (!s.got[k]) {
			missing++;
			if (first < 0)
				first = k;
			last = k;
		}
	if (missing)
		fprintf(stderr, "rate %d: %d missing, from #%d to #%d of %d\n", rate, missing, first, last, l.n);
	free(s.got);
	return missing;
}

static int bench_restart(const char *rates, int down_ms)
{
	harness_clear_options();
	if (harness_start())
		return 1;
	/* the harness's own client reads nothing: it must not hold the ring */
	uint32_t none = WARD_EV_EXIT;
	ward_client_subscribe(harness_client(), &none, 1);
	printf("| opens/s asked | achieved | wardd down (ms) | opens while down (about) | missing after restart | kernel ring drops |\n|---|---|---|---|---|---|\n");
	int best = 0, run = 0;
	char *list = strdup(rates);
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		int rate = atoi(tok);
		if (rate <= 0)
			continue;
		uint64_t drops0 = ring_drops();
		long down = 0, achieved = 0;
		int missing = restart_run(rate, down_ms, run++, &down, &achieved);
		printf("| %d | %ld | %ld | %ld | %d | %llu |\n", rate, achieved, down, achieved * down / 1000, missing,
		       (unsigned long long)(ring_drops() - drops0));
		fflush(stdout);
		if (missing == 0 && achieved > best)
			best = (int)achieved;
		if (missing < 0)
			break;
	}
	free(list);
	printf("highest rate with zero loss across a SIGKILL and a restart %d ms later: %d opens/s\n", down_ms, best);
	printf("kernel ring: wardd's default, 16 MiB (--ring-mb); journal 64 MiB (--journal-mb)\n");
	harness_stop();
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_supervision faults [--rounds N] [--execs N] | restart [--rates A,B,..] [--down-ms N]\n");
		return 2;
	}
	int rounds = 3, execs = 200, down = 500;
	const char *rates = "10000,25000,50000,75000,100000,150000,200000";
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--rounds"))
			rounds = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--execs"))
			execs = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--rates"))
			rates = argv[i + 1];
		else if (!strcmp(argv[i], "--down-ms"))
			down = atoi(argv[i + 1]);
	}
	if (!strcmp(argv[1], "faults")) {
		if (fc_prepare("bench-faults"))
			return 1;
		int r = bench_faults(rounds < 1 ? 1 : rounds, execs < 10 ? 10 : execs);
		fc_run("rm -rf '%s'", fc_root);
		return r;
	}
	if (!strcmp(argv[1], "restart"))
		return bench_restart(rates, down);
	return 2;
}
