/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fan_listener — the physical limit for bench/auth: the least a fanotify
 * permission listener can do.  One thread: wait (ppoll), read as many
 * events as the kernel has queued, write FAN_ALLOW back for each, close the
 * event's descriptor.  Nothing is looked up, built or sent anywhere.
 *
 *   fan_listener [--open] [--exec] [--ignore] [--ready-file FILE] PATH
 *
 * Marks the filesystem holding PATH (FAN_MARK_FILESYSTEM) in a
 * FAN_CLASS_CONTENT group for FAN_OPEN_PERM (--open) and/or
 * FAN_OPEN_EXEC_PERM (--exec); neither option means both.  --ignore adds,
 * after answering, an ignore mark for the event's type on the file's inode
 * (FAN_MARK_IGNORED_MASK on the event descriptor), so the kernel stops
 * asking about that file until it is modified: its "warm" (cached) mode.
 * --ready-file FILE is created once the mark is in place.
 *
 * Runs until SIGTERM/SIGINT, then prints one line on stdout:
 *   events=N open=O exec=E ignore_marks=I
 * and exits 0 (1 on a usage or setup error).  When its parent dies it gets
 * SIGTERM (PR_SET_PDEATHSIG): a listener nobody will stop must not outlive
 * the benchmark.  Whatever happens to it, the kernel lets every pending
 * request through when the group's descriptor closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/prctl.h>
#include <unistd.h>
#include "ready.h"

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: fan_listener [--open] [--exec] [--ignore] [--ready-file FILE] PATH\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "open", no_argument, NULL, 'o' },
		{ "exec", no_argument, NULL, 'x' },
		{ "ignore", no_argument, NULL, 'i' },
		{ "ready-file", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static _Alignas(struct fanotify_event_metadata) char buf[16384];
	const char *ready_file = NULL, *path;
	uint64_t mask = 0, events = 0, n_open = 0, n_exec = 0, n_ign = 0;
	int ignore = 0, opt, fd;
	struct sigaction sa;
	sigset_t stopsigs, waitmask;
	struct pollfd pfd;

	while ((opt = getopt_long(argc, argv, "oxir:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			mask |= FAN_OPEN_PERM;
			break;
		case 'x':
			mask |= FAN_OPEN_EXEC_PERM;
			break;
		case 'i':
			ignore = 1;
			break;
		case 'r':
			ready_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	path = argv[optind];
	if (!mask)
		mask = FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM;

	/* The stop signals are blocked except inside ppoll(), so one that
	 * arrives while events are being answered is not lost: the next
	 * ppoll() returns EINTR at once. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&stopsigs);
	sigaddset(&stopsigs, SIGTERM);
	sigaddset(&stopsigs, SIGINT);
	sigprocmask(SIG_BLOCK, &stopsigs, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() == 1)
		return 1; /* the parent is gone already */

	fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (fd < 0) {
		perror("fan_listener: fanotify_init");
		return 1;
	}
	if (fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, mask, AT_FDCWD, path) < 0) {
		fprintf(stderr, "fan_listener: fanotify_mark %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (ready_file && write_ready_file(ready_file) < 0) {
		fprintf(stderr, "fan_listener: cannot create %s: %s\n", ready_file, strerror(errno));
		return 1;
	}

	pfd.fd = fd;
	pfd.events = POLLIN;
	while (!stop_requested) {
		const struct fanotify_event_metadata *m = (const void *)buf;
		ssize_t n;

		if (ppoll(&pfd, 1, NULL, &waitmask) < 0) {
			if (errno == EINTR)
				continue;
			perror("fan_listener: ppoll");
			break;
		}
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			perror("fan_listener: read");
			break;
		}
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			struct fanotify_response r = { .fd = m->fd, .response = FAN_ALLOW };

			if (m->fd < 0)
				continue; /* FAN_Q_OVERFLOW: nothing to answer */
			events++;
			if (m->mask & FAN_OPEN_EXEC_PERM)
				n_exec++;
			if (m->mask & FAN_OPEN_PERM)
				n_open++;
			if (write(fd, &r, sizeof(r)) != sizeof(r))
				perror("fan_listener: write response");
			if (ignore &&
			    fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK,
					  m->mask & (FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM), m->fd, NULL) == 0)
				n_ign++;
			close(m->fd);
		}
	}
	close(fd);
	printf("events=%llu open=%llu exec=%llu ignore_marks=%llu\n", (unsigned long long)events,
	       (unsigned long long)n_open, (unsigned long long)n_exec, (unsigned long long)n_ign);
	fflush(stdout);
	return 0;
}
