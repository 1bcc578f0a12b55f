/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_restart — nothing is lost when a client reconnects, or when wardd is
 * killed and restarted:
 *
 *   resume        a client reads part of a run of opens, disconnects, more
 *                 opens happen, a new client resumes from the last event the
 *                 first finished with (ward_client_resume()) and gets every
 *                 one after it;
 *   sigkill       under a steady load of opens, wardd is SIGKILLed and
 *                 started again; the sensors keep writing into the pinned
 *                 ring meanwhile, the new wardd takes them over and
 *                 continues the journal, and the client, reconnected and
 *                 resumed, has seen every open of the load.
 * (The journal's bound is tested in tests/unit/test_journal.c.)
 *
 * Each open is of a file with a unique name, so "every event" is checked by
 * name, whatever came twice.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <ward/ward.h>
#include "harness.h"

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the load: opens of <dir>/<prefix><k>, k from first to first+n-1 ---- */

struct load {
	char prefix[64];
	int first, n;
	int per_ms; /* opens per millisecond (paced), 0: as fast as possible */
};

static int load_fn(void *arg)
{
	const struct load *l = arg;
	char path[4096];
	long t0 = now_ms();
	for (int k = 0; k < l->n; k++) {
		snprintf(path, sizeof(path), "%s/%s%d", test_dir(), l->prefix, l->first + k);
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return 1;
		close(fd);
		if (l->per_ms && k % 50 == 49) {
			long due = t0 + (k + 1) / l->per_ms;
			long wait = due - now_ms();
			if (wait > 0)
				usleep((useconds_t)wait * 1000);
		}
	}
	return 0;
}

/* ---- a client that records which names it saw ---- */

struct seen {
	char prefix[64];
	unsigned char *got; /* got[k]: times k was seen */
	int max;
	uint64_t last_gseq; /* the last event finished with */
	uint64_t events, dups;
};

static int index_of(const struct seen *s, const ward_event *ev)
{
	const char *p;
	size_t len;
	if (ward_event_type(ev) != WARD_EV_OPEN || ward_event_str(ev, WARD_F_PATH, &p, &len))
		return -1;
	const char *slash = strrchr(p, '/');
	p = slash ? slash + 1 : p;
	size_t pl = strlen(s->prefix);
	if (strncmp(p, s->prefix, pl))
		return -1;
	int k = atoi(p + pl);
	return k >= 0 && k < s->max ? k : -1;
}

/* Read until @until names were all seen at least once, wardd goes away
 * (-EPIPE) or @timeout_ms passes.  Returns what ward_client_next said last. */
static int read_until(ward_client *c, struct seen *s, int from, int until, int timeout_ms)
{
	long t0 = now_ms();
	int r = 0;
	for (;;) {
		int all = 1;
		for (int k = from; k < until && all; k++)
			all = s->got[k] > 0;
		if (all)
			return 1;
		if (now_ms() - t0 > timeout_ms)
			return 0;
		const ward_event *ev;
		r = ward_client_next(c, &ev, 100);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		s->events++;
		int k = index_of(s, ev);
		if (k >= 0) {
			if (s->got[k])
				s->dups++;
			if (s->got[k] < 255)
				s->got[k]++;
		}
		s->last_gseq = ward_event_global_seq(ev);
	}
}

/* Connect, resume after @after (unless 0), subscribe to open. */
static ward_client *open_client(uint64_t after, int want_resume)
{
	ward_client *c = NULL;
	assert_int_equal(ward_client_new(&c, "resumer"), 0);
	if (after)
		assert_int_equal(ward_client_resume(c, after), want_resume);
	uint32_t t = WARD_EV_OPEN;
	assert_int_equal(ward_client_subscribe(c, &t, 1), 0);
	return c;
}

static void t_resume(void **state)
{
	(void)state;
	struct seen s = {.prefix = "a-", .max = 200};
	s.got = calloc(200, 1);
	ward_client *c = open_client(0, 0);
	struct load l = {.prefix = "a-", .first = 0, .n = 100};
	int st;
	assert_true(run_child(load_fn, &l, &st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* it finishes with the first 50 and goes */
	assert_int_equal(read_until(c, &s, 0, 50, EVENT_TIMEOUT_MS), 1);
	ward_client_free(c);
	uint64_t last = s.last_gseq;
	int last_k = -1;
	for (int k = 0; k < 100; k++)
		if (s.got[k])
			last_k = k;
	l = (struct load){.prefix = "a-", .first = 100, .n = 100};
	assert_true(run_child(load_fn, &l, &st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	c = open_client(last, 0);
	/* once, and only before events: the contract */
	assert_int_equal(ward_client_resume(c, last), -EALREADY);
	assert_int_equal(read_until(c, &s, last_k + 1, 200, EVENT_TIMEOUT_MS), 1);
	struct ward_client_stats cs;
	ward_client_stats(c, &cs);
	assert_int_equal(cs.gaps, 0);
	ward_client_free(c);
	free(s.got);
}

static void t_sigkill(void **state)
{
	(void)state;
	enum { N = 6000 };
	struct seen s = {.prefix = "k-", .max = N};
	s.got = calloc(N, 1);
	ward_client *c = open_client(0, 0);
	/* a steady 2000 opens a second for 3 s */
	struct load l = {.prefix = "k-", .first = 0, .n = N, .per_ms = 2};
	pid_t load = start_child(load_fn, &l);
	assert_true(load > 0);
	assert_int_equal(read_until(c, &s, 0, 1000, 10000), 1);
	/* wardd dies in the middle of the load */
	assert_int_equal(harness_kill_wardd(), 0);
	long killed = now_ms();
	/* the client drains its ring: what wardd had delivered is still there */
	int r = read_until(c, &s, 0, N, 2000);
	assert_true(r == -EPIPE || r == 0);
	ward_client_free(c);
	usleep(500000); /* the load goes on with nobody reading the sensors */
	assert_int_equal(harness_restart_wardd(), 0);
	long back = now_ms();
	c = open_client(s.last_gseq, 0);
	int status;
	assert_int_equal(wait_child(load, &status), 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	r = read_until(c, &s, 0, N, 10000);
	int missing = 0, first_missing = -1;
	for (int k = 0; k < N; k++)
		if (!s.got[k] && missing++ == 0)
			first_missing = k;
	print_message("sigkill: wardd down %ld ms; %d of %d opens seen, %llu twice, first missing %d\n",
		      back - killed, N - missing, N, (unsigned long long)s.dups, first_missing);
	assert_int_equal(missing, 0);
	ward_client_free(c);
	free(s.got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_resume),
		cmocka_unit_test(t_sigkill),
	};
	return cmocka_run_group_tests_name("restart", tests, harness_group_setup, harness_group_teardown);
}
