/* SPDX-License-Identifier: Apache-2.0 */
/*
 * count_client — the "monitored" side of bench/notify: a libward client that
 * subscribes to every event type and only counts what it receives, so the
 * benchmark measures wardd's cost (BPF programs, ring, delivery) rather than
 * any consumer's processing.
 *
 *   count_client [--seconds S] [--ready-file PATH] [--match-path PREFIX]
 *                [--name NAME] [--verbose]
 *
 * Runs until SIGTERM/SIGINT or until S seconds have passed, then prints one
 * line on stdout:
 *   received=N lost=L gaps=G matched=M seconds=T
 * received/lost/gaps come from ward_client_stats(); matched counts events
 * whose `path` field starts with PREFIX (0 without --match-path), which lets
 * the throughput test tell its own burst from the machine's background
 * events.  --verbose adds per-type counts on stderr.
 *
 * Exit status: 0 on a clean stop, 2 if wardd went away or the ring broke
 * (the line is still printed), 1 on a usage or connection error.
 */
#include <errno.h>
#include <fcntl.h>
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

/* Upper bound on one ward_client_dispatch() wait: a stop signal that lands
 * just before the call is noticed within this long at worst. */
#define DISPATCH_TIMEOUT_MS 200

static volatile sig_atomic_t stop_requested;

struct counts {
	uint64_t per_type[WARD_EV_MAX_];
	uint64_t other;   /* types this build does not know (newer wardd) */
	uint64_t matched;
	const char *prefix;
	size_t prefix_len;
};

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_event(const ward_event *ev, void *userdata)
{
	struct counts *c = userdata;
	uint32_t t = ward_event_type(ev);
	const char *path;

	if (t < WARD_EV_MAX_)
		c->per_type[t]++;
	else
		c->other++;
	if (c->prefix && ward_event_str(ev, WARD_F_PATH, &path, NULL) == 0 &&
	    strncmp(path, c->prefix, c->prefix_len) == 0)
		c->matched++;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: count_client [--seconds S] [--ready-file PATH] [--match-path PREFIX]\n"
		   "                    [--name NAME] [--verbose]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "match-path", required_argument, NULL, 'm' },
		{ "name", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct counts counts;
	const char *ready_file = NULL, *name = "count_client";
	double limit_s = 0, t_start, t_end;
	int verbose = 0, opt, r, rc = 0;
	uint32_t types[WARD_EV_MAX_ - 1];
	struct ward_client_stats st = { 0 };
	struct sigaction sa;
	ward_client *c = NULL;
	char *end;

	while ((opt = getopt_long(argc, argv, "s:r:m:n:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			limit_s = strtod(optarg, &end);
			if (*end || limit_s <= 0) {
				fprintf(stderr, "count_client: bad --seconds %s\n", optarg);
				return 1;
			}
			break;
		case 'r':
			ready_file = optarg;
			break;
		case 'm':
			counts.prefix = optarg;
			counts.prefix_len = strlen(optarg);
			break;
		case 'n':
			name = optarg;
			break;
		case 'v':
			verbose = 1;
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

	/* No SA_RESTART: a stop signal should interrupt a waiting dispatch
	 * (-EINTR) instead of letting it sleep out its timeout. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	r = ward_client_new(&c, name);
	if (r < 0) {
		fprintf(stderr, "count_client: cannot connect to wardd: %s\n", ward_strerror(r));
		return 1;
	}
	for (uint32_t t = 1; t < WARD_EV_MAX_; t++)
		types[t - 1] = t;
	r = ward_client_subscribe(c, types, WARD_EV_MAX_ - 1);
	if (r < 0) {
		fprintf(stderr, "count_client: subscribe: %s\n", ward_strerror(r));
		ward_client_free(c);
		return 1;
	}
	if (ready_file && write_ready_file(ready_file) < 0) {
		fprintf(stderr, "count_client: cannot create %s: %m\n", ready_file);
		ward_client_free(c);
		return 1;
	}

	t_start = mono_s();
	while (!stop_requested) {
		int timeout = DISPATCH_TIMEOUT_MS;

		if (limit_s > 0) {
			double left = limit_s - (mono_s() - t_start);

			if (left <= 0)
				break;
			if (left * 1000 < timeout)
				timeout = (int)(left * 1000) + 1;
		}
		r = ward_client_dispatch(c, count_event, &counts, timeout);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "count_client: dispatch: %s\n", ward_strerror(r));
			rc = 2;
			break;
		}
	}
	/* Take what is already in the ring before reporting: the benchmark stops
	 * us after its workload, and events still queued were delivered in time.
	 * Bounded so a flood that never ends cannot keep us from exiting. */
	for (int i = 0; rc == 0 && i < 1000; i++) {
		r = ward_client_dispatch(c, count_event, &counts, 0);
		if (r <= 0)
			break;
	}
	t_end = mono_s();

	ward_client_stats(c, &st);
	printf("received=%llu lost=%llu gaps=%llu matched=%llu seconds=%.3f\n",
	       (unsigned long long)st.received, (unsigned long long)st.lost,
	       (unsigned long long)st.gaps, (unsigned long long)counts.matched,
	       t_end - t_start);
	fflush(stdout);
	if (verbose) {
		for (uint32_t t = 1; t < WARD_EV_MAX_; t++)
			if (counts.per_type[t])
				fprintf(stderr, "%-14s %llu\n", ward_event_type_name(t) ?
					ward_event_type_name(t) : "?",
					(unsigned long long)counts.per_type[t]);
		if (counts.other)
			fprintf(stderr, "%-14s %llu\n", "(unknown)",
				(unsigned long long)counts.other);
	}
	ward_client_free(c);
	return rc;
}
