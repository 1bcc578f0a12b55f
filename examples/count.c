/* SPDX-License-Identifier: Apache-2.0 */
/*
 * count — how many events of each type the machine produces, per second.
 *
 *   count [--interval-ms N]
 *
 * Subscribes (NOTIFY) to every event type this libward knows and prints one
 * line per interval (default 1000 ms) with the types seen in it:
 *
 *   12:00:01 exec=3 open=120 exit=3
 *   12:00:02 open=7 lost=0 gaps=0      <- lost/gaps only when they changed
 *
 * lost and gaps come from ward_client_stats(): events wardd could not put in
 * this client's ring, and the number of holes libward saw in the sequence
 * (docs/events.md, "Lost events").  They are totals since the start.
 * Stops on SIGINT/SIGTERM (exit 0); exit 1 when wardd is not running or goes
 * away, 2 on a usage error.
 *
 * A NOTIFY subscription to an AUTH type (auth_exec, auth_open) asks nothing
 * and places no fanotify mark: it shows the requests that some AUTH client
 * was asked about, once decided.  auth_connect and auth_bind count the
 * connect()/bind() calls a network rule denied.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <ward/ward.h>

struct counts {
	uint64_t per_type[WARD_EV_MAX_];
	uint64_t other; /* a type number this build does not know */
};

/* ward_client_dispatch() callback: count, nothing else. */
static int on_event(const ward_event *ev, void *userdata)
{
	struct counts *n = userdata;
	uint32_t t = ward_event_type(ev);
	if (t < WARD_EV_MAX_)
		n->per_type[t]++;
	else
		n->other++;
	return 0;
}

/* One line for the interval that just ended; then start the next. */
static void print_line(ward_client *c, struct counts *n, struct ward_client_stats *last)
{
	char when[16];
	time_t now = time(NULL);
	struct tm tm;
	struct ward_client_stats st;
	int any = 0;

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	printf("%s", when);
	for (uint32_t t = 1; t < WARD_EV_MAX_; t++)
		if (n->per_type[t]) {
			printf(" %s=%llu", ward_event_type_name(t), (unsigned long long)n->per_type[t]);
			any = 1;
		}
	if (n->other) {
		printf(" other=%llu", (unsigned long long)n->other);
		any = 1;
	}
	if (!any)
		printf(" -");
	if (ward_client_stats(c, &st) == 0 && (st.lost != last->lost || st.gaps != last->gaps)) {
		printf(" lost=%llu gaps=%llu", (unsigned long long)st.lost, (unsigned long long)st.gaps);
		*last = st;
	}
	putchar('\n');
	fflush(stdout);
	memset(n, 0, sizeof(*n));
}

static void usage(FILE *f)
{
	fprintf(f, "usage: count [--interval-ms N]   (N from 10 to 3600000, default 1000)\n");
}

/* Count until a signal on @sfd (returns 0) or until wardd is gone or
 * refuses us (returns 1); a line each time @tfd expires. */
static int run(int sfd, int tfd, const struct itimerspec *every)
{
	static struct counts counts;
	struct ward_client_stats last = {0};
	ward_client *c = NULL;
	int r = ward_client_new(&c, "count"), status = 1;
	if (r < 0) {
		fprintf(stderr, "count: %s\n", ward_strerror(r));
		return 1;
	}
	/* Every type: 1 .. WARD_EV_MAX_ - 1 (0 is not a type). */
	uint32_t types[WARD_EV_MAX_];
	size_t ntypes = 0;
	for (uint32_t t = 1; t < WARD_EV_MAX_; t++)
		types[ntypes++] = t;
	r = ward_client_subscribe(c, types, ntypes);
	if (r < 0) {
		fprintf(stderr, "count: subscribe: %s\n", ward_strerror(r));
		ward_client_free(c);
		return 1;
	}
	timerfd_settime(tfd, 0, every, NULL);

	struct pollfd pfd[3] = {
		{.fd = ward_client_fd(c), .events = POLLIN}, /* events, or wardd gone */
		{.fd = tfd, .events = POLLIN},
		{.fd = sfd, .events = POLLIN},
	};
	for (;;) {
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("count: poll");
			break;
		}
		if (pfd[2].revents) {
			status = 0;
			break;
		}
		if (pfd[0].revents) {
			/* timeout 0: what is waiting, released to wardd in one
			 * step; -EPIPE once wardd is gone */
			r = ward_client_dispatch(c, on_event, &counts, 0);
			if (r < 0) {
				fprintf(stderr, "count: %s\n", ward_strerror(r));
				break;
			}
		}
		if (pfd[1].revents) {
			uint64_t expirations;
			if (read(tfd, &expirations, sizeof(expirations)) == (ssize_t)sizeof(expirations))
				print_line(c, &counts, &last);
		}
	}
	ward_client_free(c);
	return status;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"interval-ms", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	unsigned long interval_ms = 1000;
	char *end;
	int opt;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			errno = 0;
			interval_ms = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || interval_ms < 10 || interval_ms > 3600000) {
				usage(stderr);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	/* Signals and the interval arrive as descriptors, polled with the
	 * client's own: one loop, no handlers. */
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	int sfd = signalfd(-1, &stop, SFD_CLOEXEC);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	int status = 1;
	if (sfd < 0 || tfd < 0) {
		perror("count: signalfd/timerfd");
	} else {
		struct timespec ts = {(time_t)(interval_ms / 1000), (long)(interval_ms % 1000) * 1000000};
		struct itimerspec every = {.it_interval = ts, .it_value = ts};
		status = run(sfd, tfd, &every);
	}
	if (sfd >= 0)
		close(sfd);
	if (tfd >= 0)
		close(tfd);
	return status;
}
