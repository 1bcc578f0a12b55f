/* SPDX-License-Identifier: Apache-2.0 */
/*
 * workload — the syscall loops that bench/notify and bench/auth time with and
 * without a monitor (wardd, opensnoop, execsnoop, auditd, fapolicyd, a bare
 * fanotify listener) running.
 *
 *   workload open N [PATH]       open+close of one file in a private temp dir,
 *                                or of PATH (an existing file, left as it is)
 *   workload exec N [PATH]       posix_spawn of /bin/true (or of PATH, run
 *                                with no arguments; it must exit 0), then
 *                                waitpid
 *   workload lat N [PATH]        like open, but times each open() on its own
 *                                and reports the latency distribution
 *   workload connect N           TCP connect to a listener of our own on
 *                                127.0.0.1, accept, close both
 *   workload burst RATE SECONDS [PATH]
 *                                about RATE failing openat()s of PATH (default
 *                                a path that does not exist) per second, paced
 *                                in small batches, for SECONDS
 *
 * Each mode prints one machine-parseable line on stdout, e.g.
 *   mode=open ops=100000 ns_per_op=2913.4 seconds=0.291
 * and exits 0; on any error it prints to stderr and exits 1.  lat adds the
 * latency of a single open() (the close is not in it):
 *   mode=lat ops=20000 ns_per_op=3120.8 seconds=0.062 p50_ns=1410 p99_ns=2950 max_ns=41210
 * where ns_per_op is open+close with the clock reads, as a cross-check.
 *
 * The program deliberately does nothing but the measured syscalls inside the
 * timed loop: no allocation, no printing, no clock reads per operation (burst
 * reads the clock once per batch; lat reads it twice per open, which is its
 * point), so the figure is the syscalls' cost plus whatever the monitor adds
 * to them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

extern char **environ;

/* Default burst target: an absolute path under a directory that does not
 * exist, so openat() fails with ENOENT in the path walk without touching any
 * file system state (wardd still reports it as an `open` event). */
#define BURST_DEFAULT_PATH "/nonexistent-ward-bench/burst"

/* Warm-up iterations before the timed loop: fault in code and dentries so the
 * first few cold operations don't count. */
#define WARMUP 16

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void report(const char *mode, unsigned long ops, double ns)
{
	printf("mode=%s ops=%lu ns_per_op=%.1f seconds=%.3f\n", mode, ops,
	       ops ? ns / (double)ops : 0.0, ns / 1e9);
}

static int parse_ulong(const char *s, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || s[0] == '-')
		return -1;
	*out = v;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted @v[0..n). */
static uint64_t percentile(const uint64_t *v, unsigned long n, double q)
{
	unsigned long k = (unsigned long)(q * (double)n + 0.999999);

	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return v[k - 1];
}

/* The timed loops of open and lat, on an existing file @fpath. */
static int open_loop(const char *fpath, unsigned long n, int lat)
{
	uint64_t *samples = NULL;
	struct timespec a, b;
	double t0, t1;
	int fd;

	if (lat) {
		samples = calloc(n, sizeof(*samples));
		if (!samples) {
			perror("workload: calloc");
			return 1;
		}
		/* calloc'd pages are faulted in lazily: touch them all now so the
		 * timed loop takes no page faults of its own */
		memset(samples, 0xff, n * sizeof(*samples));
	}
	for (unsigned long i = 0; i < WARMUP; i++) {
		fd = open(fpath, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			perror("workload: open");
			free(samples);
			return 1;
		}
		close(fd);
	}
	t0 = now_ns();
	for (unsigned long i = 0; i < n; i++) {
		if (lat)
			clock_gettime(CLOCK_MONOTONIC, &a);
		fd = open(fpath, O_RDONLY | O_CLOEXEC);
		if (lat)
			clock_gettime(CLOCK_MONOTONIC, &b);
		if (fd < 0) {
			perror("workload: open");
			free(samples);
			return 1;
		}
		close(fd);
		if (lat)
			samples[i] = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000ull +
				     (uint64_t)b.tv_nsec - (uint64_t)a.tv_nsec;
	}
	t1 = now_ns();
	if (!lat) {
		report("open", n, t1 - t0);
		return 0;
	}
	qsort(samples, n, sizeof(*samples), cmp_u64);
	printf("mode=lat ops=%lu ns_per_op=%.1f seconds=%.3f p50_ns=%llu p99_ns=%llu max_ns=%llu\n",
	       n, (t1 - t0) / (double)n, (t1 - t0) / 1e9,
	       (unsigned long long)percentile(samples, n, 0.50),
	       (unsigned long long)percentile(samples, n, 0.99),
	       (unsigned long long)samples[n - 1]);
	free(samples);
	return 0;
}

static int do_open(unsigned long n, const char *path, int lat)
{
	const char *tmpdir = getenv("TMPDIR");
	char dir[PATH_MAX], fpath[PATH_MAX];
	int fd, rc = 1;

	/* A file the caller made (bench/auth: on the file system a monitor
	 * watches), opened as it is and left there. */
	if (path)
		return open_loop(path, n, lat);

	/* Honour TMPDIR so a caller can pick the file system being measured. */
	if (!tmpdir || !*tmpdir)
		tmpdir = "/tmp";
	if (snprintf(dir, sizeof(dir), "%s/ward-workload.XXXXXX", tmpdir) >= (int)sizeof(dir)) {
		fprintf(stderr, "workload: TMPDIR too long\n");
		return 1;
	}
	if (!mkdtemp(dir)) {
		perror("workload: mkdtemp");
		return 1;
	}
	if (snprintf(fpath, sizeof(fpath), "%s/f", dir) >= (int)sizeof(fpath)) {
		fprintf(stderr, "workload: path too long\n");
		goto out_dir;
	}
	fd = open(fpath, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror("workload: create");
		goto out_dir;
	}
	close(fd);
	rc = open_loop(fpath, n, lat);
	unlink(fpath);
out_dir:
	rmdir(dir);
	return rc;
}

static int spawn_true(const char *path)
{
	static char *const argv[] = { "true", NULL };
	pid_t pid;
	int st, err;

	err = posix_spawn(&pid, path, NULL, NULL, argv, environ);
	if (err) {
		fprintf(stderr, "workload: posix_spawn %s: %s\n", path, strerror(err));
		return -1;
	}
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			perror("workload: waitpid");
			return -1;
		}
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "workload: %s failed (status %#x)\n", path, st);
		return -1;
	}
	return 0;
}

static int do_exec(unsigned long n, const char *path)
{
	double t0, t1;

	/* Fewer warm-up rounds than the cheap modes: each one costs ~1 ms. */
	for (int i = 0; i < 4; i++)
		if (spawn_true(path) < 0)
			return 1;
	t0 = now_ns();
	for (unsigned long i = 0; i < n; i++)
		if (spawn_true(path) < 0)
			return 1;
	t1 = now_ns();
	report("exec", n, t1 - t0);
	return 0;
}

/* One connect/accept/close cycle against listener @lfd at @addr. */
static int connect_once(int lfd, const struct sockaddr_in *addr)
{
	/* Close the client with an RST (linger 0): the connection never enters
	 * TIME_WAIT, so a run of tens of thousands of connections cannot exhaust
	 * the ephemeral port range or leave state behind on the machine. */
	static const struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int cfd, afd;

	cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (cfd < 0) {
		perror("workload: socket");
		return -1;
	}
	/* On loopback the handshake completes inside connect(), so a blocking
	 * connect followed by a blocking accept in one thread cannot deadlock:
	 * the connection is already in the accept queue when connect returns. */
	if (connect(cfd, (const struct sockaddr *)addr, sizeof(*addr)) < 0) {
		perror("workload: connect");
		close(cfd);
		return -1;
	}
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (afd < 0) {
		perror("workload: accept");
		close(cfd);
		return -1;
	}
	setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(cfd);
	close(afd);
	return 0;
}

static int do_connect(unsigned long n)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t alen = sizeof(addr);
	double t0, t1;
	int lfd, rc = 1;

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0; /* ephemeral: never collides with anything else here */
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		perror("workload: socket");
		return 1;
	}
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(lfd, 128) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) {
		perror("workload: listener");
		goto out;
	}
	for (int i = 0; i < WARMUP; i++)
		if (connect_once(lfd, &addr) < 0)
			goto out;
	t0 = now_ns();
	for (unsigned long i = 0; i < n; i++)
		if (connect_once(lfd, &addr) < 0)
			goto out;
	t1 = now_ns();
	report("connect", n, t1 - t0);
	rc = 0;
out:
	close(lfd);
	return rc;
}

/*
 * Paced generator: the number of syscalls due by time t is RATE * t; each
 * pass makes at most one batch of the ones due, and sleeps (absolute
 * CLOCK_MONOTONIC deadline) when it is ahead.  Batches of ~0.5 ms worth keep
 * the rate even on the sub-second scale without a clock read per syscall.
 * If the machine cannot keep up, the loop simply runs flat out; the printed
 * ops count is what was really done.
 */
static int do_burst(unsigned long rate, unsigned long seconds, const char *path)
{
	const double start = now_ns();
	const double end = start + (double)seconds * 1e9;
	const double ns_per_ev = 1e9 / (double)rate;
	unsigned long batch = rate / 2000;
	unsigned long done = 0;
	double t;
	int fd;

	if (batch < 1)
		batch = 1;
	if (batch > 1024)
		batch = 1024;

	/* Refuse to run against a path that exists: the point is a cheap failing
	 * syscall, and a successful open would leak a descriptor per call. */
	fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		fprintf(stderr, "workload: burst path %s exists; give one that does not\n", path);
		return 1;
	}

	while ((t = now_ns()) < end) {
		unsigned long due = (unsigned long)((t - start) / ns_per_ev);

		if (due <= done) {
			/* Ahead of schedule: sleep until the next batch is due. */
			double wake = start + (double)(done + batch) * ns_per_ev;
			struct timespec ts;

			if (wake > end)
				wake = end;
			ts.tv_sec = (time_t)(wake / 1e9);
			ts.tv_nsec = (long)(wake - (double)ts.tv_sec * 1e9);
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			continue;
		}
		unsigned long k = due - done;
		if (k > batch)
			k = batch;
		for (unsigned long i = 0; i < k; i++) {
			fd = openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
			if (fd >= 0)
				close(fd);
		}
		done += k;
	}
	t = now_ns();
	printf("mode=burst ops=%lu ns_per_op=%.1f seconds=%.3f target_rate=%lu rate=%.0f\n",
	       done, done ? (t - start) / (double)done : 0.0, (t - start) / 1e9, rate,
	       (double)done / ((t - start) / 1e9));
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: workload open N [PATH]\n"
		"       workload exec N [PATH]\n"
		"       workload lat N [PATH]\n"
		"       workload connect N\n"
		"       workload burst RATE SECONDS [PATH]\n");
}

int main(int argc, char **argv)
{
	unsigned long n, secs;
	int rc;

	if (argc < 3 || parse_ulong(argv[2], &n) < 0) {
		usage();
		return 1;
	}
	if (!strcmp(argv[1], "open") && (argc == 3 || argc == 4))
		rc = do_open(n, argc == 4 ? argv[3] : NULL, 0);
	else if (!strcmp(argv[1], "lat") && (argc == 3 || argc == 4))
		rc = do_open(n, argc == 4 ? argv[3] : NULL, 1);
	else if (!strcmp(argv[1], "exec") && (argc == 3 || argc == 4))
		rc = do_exec(n, argc == 4 ? argv[3] : "/bin/true");
	else if (!strcmp(argv[1], "connect") && argc == 3)
		rc = do_connect(n);
	else if (!strcmp(argv[1], "burst") && (argc == 4 || argc == 5) &&
		 parse_ulong(argv[3], &secs) == 0)
		rc = do_burst(n, secs, argc == 5 ? argv[4] : BURST_DEFAULT_PATH);
	else {
		usage();
		return 1;
	}
	fflush(stdout);
	return rc;
}
