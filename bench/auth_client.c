/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auth_client — the monitoring side of bench/auth: a libward client that
 * answers ALLOW to every AUTH_OPEN and AUTH_EXEC request and does nothing
 * else, so the benchmark measures ward's decision path (fanotify → wardd →
 * client → wardd → kernel) and not any policy.
 *
 *   auth_client [--cache] [--deadline-ms N] [--ready-file PATH] [--name NAME]
 *               [--timing] [--spin]
 *
 * Without --cache every answer is a plain ALLOW, so every access asks again
 * ("cold").  With --cache it answers ALLOW with WARD_RESPOND_CACHE, so wardd
 * caches the verdict in the kernel and the same file is not asked about
 * again until it changes ("warm").  Requests are taken in batches
 * (ward_client_dispatch) and answered from the callback.  The subscription
 * is fail-open (default verdict ALLOW) with a deadline of --deadline-ms
 * (default 1000).
 *
 * --timing records, per request, how long it took from wardd reading the
 * fanotify event (the event's deadline minus the deadline asked for) to
 * this client's callback, and how long from wardd stamping the record to
 * the callback (ward_event_time(), CLOCK_REALTIME), and prints their
 * p50/p99 on stderr at the end: where the round trip's time goes.
 *
 * --spin is an experiment, not what a client should do: it polls the ring
 * without ever sleeping (ward_client_dispatch with timeout 0 in a loop), a
 * core kept busy, to show what waking the client costs the round trip.
 *
 * Runs until SIGTERM/SIGINT, then prints one line on stdout:
 *   answered=N open=O exec=E notify=M respond_errors=R
 * Exit status: 0 on a clean stop, 2 if wardd went away, 1 on a usage or
 * connection error.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ward/ward.h>
#include "ready.h"

#define DISPATCH_TIMEOUT_MS 200
#define TIMING_MAX (1u << 20)  /* samples kept for --timing */

static volatile sig_atomic_t stop_requested;

struct state {
	ward_client *c;
	uint32_t flags;           /* 0 or WARD_RESPOND_CACHE */
	uint64_t deadline_ns;     /* what we asked for */
	uint64_t answered, n_open, n_exec, notify, errors;
	int timing;
	uint64_t *t_read, *t_stamp; /* ns: wardd read → callback, wardd stamp → callback */
	size_t nt;
};

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int on_event(const ward_event *ev, void *userdata)
{
	struct state *s = userdata;
	uint64_t id, deadline;
	uint32_t t;
	int r;

	if (!ward_event_is_auth(ev)) {
		s->notify++;
		return 0;
	}
	if (s->timing && s->nt < TIMING_MAX &&
	    ward_event_u64(ev, WARD_F_DEADLINE, &deadline) == 0) {
		uint64_t mono = clock_ns(CLOCK_MONOTONIC), real = clock_ns(CLOCK_REALTIME);
		uint64_t read_at = deadline - s->deadline_ns, stamped = ward_event_time(ev);

		s->t_read[s->nt] = mono > read_at ? mono - read_at : 0;
		s->t_stamp[s->nt] = real > stamped ? real - stamped : 0;
		s->nt++;
	}
	if (ward_event_u64(ev, WARD_F_AUTH_ID, &id) < 0) {
		s->errors++;
		return 0;
	}
	r = ward_client_respond(s->c, id, WARD_VERDICT_ALLOW, s->flags);
	if (r < 0) {
		s->errors++;
		return 0;
	}
	s->answered++;
	t = ward_event_type(ev);
	if (t == WARD_EV_AUTH_OPEN)
		s->n_open++;
	else if (t == WARD_EV_AUTH_EXEC)
		s->n_exec++;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void print_dist(const char *what, uint64_t *v, size_t n)
{
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_u64);
	fprintf(stderr, "%s: n=%zu p50_us=%.1f p99_us=%.1f max_us=%.1f\n", what, n,
		(double)v[(n - 1) / 2] / 1e3, (double)v[(size_t)((double)(n - 1) * 0.99)] / 1e3,
		(double)v[n - 1] / 1e3);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: auth_client [--cache] [--deadline-ms N] [--ready-file PATH] [--name NAME]\n"
		   "                   [--timing] [--spin]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cache", no_argument, NULL, 'c' },
		{ "deadline-ms", required_argument, NULL, 'd' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "name", required_argument, NULL, 'n' },
		{ "timing", no_argument, NULL, 't' },
		{ "spin", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct state s;
	const char *ready_file = NULL, *name = "auth_client";
	unsigned long deadline_ms = 1000;
	struct sigaction sa;
	char *end;
	int opt, r, rc = 0, spin = 0;

	while ((opt = getopt_long(argc, argv, "cd:r:n:tsh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			s.flags = WARD_RESPOND_CACHE;
			break;
		case 'd':
			errno = 0;
			deadline_ms = strtoul(optarg, &end, 10);
			if (errno || *end || deadline_ms == 0 || deadline_ms > 10000) {
				fprintf(stderr, "auth_client: bad --deadline-ms %s\n", optarg);
				return 1;
			}
			break;
		case 'r':
			ready_file = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 't':
			s.timing = 1;
			break;
		case 's':
			spin = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	s.deadline_ns = (uint64_t)deadline_ms * 1000000ull;
	if (s.timing) {
		s.t_read = calloc(TIMING_MAX, sizeof(*s.t_read));
		s.t_stamp = calloc(TIMING_MAX, sizeof(*s.t_stamp));
		if (!s.t_read || !s.t_stamp) {
			fprintf(stderr, "auth_client: out of memory\n");
			return 1;
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	r = ward_client_new(&s.c, name);
	if (r < 0) {
		fprintf(stderr, "auth_client: cannot connect to wardd: %s\n", ward_strerror(r));
		return 1;
	}
	{
		const struct ward_auth_sub subs[] = {
			{ .type = WARD_EV_AUTH_OPEN, .default_verdict = WARD_VERDICT_ALLOW },
			{ .type = WARD_EV_AUTH_EXEC, .default_verdict = WARD_VERDICT_ALLOW },
		};

		r = ward_client_subscribe_auth(s.c, subs, 2, (uint32_t)deadline_ms);
	}
	if (r < 0) {
		fprintf(stderr, "auth_client: subscribe_auth: %s\n", ward_strerror(r));
		ward_client_free(s.c);
		return 1;
	}
	if (ready_file && write_ready_file(ready_file) < 0) {
		fprintf(stderr, "auth_client: cannot create %s: %m\n", ready_file);
		ward_client_free(s.c);
		return 1;
	}

	while (!stop_requested) {
		r = ward_client_dispatch(s.c, on_event, &s, spin ? 0 : DISPATCH_TIMEOUT_MS);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "auth_client: dispatch: %s\n", ward_strerror(r));
			rc = 2;
			break;
		}
	}
	printf("answered=%llu open=%llu exec=%llu notify=%llu respond_errors=%llu\n",
	       (unsigned long long)s.answered, (unsigned long long)s.n_open,
	       (unsigned long long)s.n_exec, (unsigned long long)s.notify,
	       (unsigned long long)s.errors);
	fflush(stdout);
	if (s.timing) {
		print_dist("wardd read -> client callback", s.t_read, s.nt);
		print_dist("wardd stamp -> client callback", s.t_stamp, s.nt);
	}
	ward_client_free(s.c);
	free(s.t_read);
	free(s.t_stamp);
	return rc;
}
