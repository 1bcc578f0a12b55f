/* SPDX-License-Identifier: Apache-2.0 */
/* harness.c — see harness.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgtest.h"
#include "harness.h"
#include "wire.h"

#define MAX_KEPT 4096

static struct {
	pid_t wardd;
	ward_client *client;
	char rtdir[PATH_MAX];
	char clientsdir[PATH_MAX + 16]; /* --clients-dir: does not exist unless a test makes it */
	char clientcg[64];         /* --client-cgroup */
	char pindir[64];           /* --pin-dir */
	char cgdir[PATH_MAX];
	char cgmuted[PATH_MAX + 8]; /* a child cgroup wardd is told to mute */
	char tdir[PATH_MAX - 16];
	int auth;               /* wardd asks about files on authdir */
	char authdir[64];
	char extra[16][PATH_MAX]; /* more wardd options */
	int nextra;
	char log[PATH_MAX + 16];
	struct ward_rec *kept[MAX_KEPT];
	int nkept;
	int started;
} H;

const char *harness_wardd_log(void) { return H.log; }
const char *harness_auth_dir(void) { return H.authdir; }

void harness_use_auth_mount(void)
{
	H.auth = 1;
}

void harness_wardd_option(const char *opt)
{
	if (H.nextra < 16)
		snprintf(H.extra[H.nextra++], PATH_MAX, "%s", opt);
}

void harness_clear_options(void)
{
	H.nextra = 0;
}

/* A tmpfs only this process and its children see (a private mount
 * namespace): the only place wardd's fanotify marks reach, so a test can
 * never hold up the rest of the machine. */
static int auth_mount(void)
{
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		fprintf(stderr, "harness: private mount namespace: %s\n", strerror(errno));
		return -1;
	}
	snprintf(H.authdir, sizeof(H.authdir), "/tmp/ward-auth-%d", (int)getpid());
	if ((mkdir(H.authdir, 0755) && errno != EEXIST) ||
	    mount("ward-test", H.authdir, "tmpfs", 0, "size=64m,mode=0755")) {
		fprintf(stderr, "harness: tmpfs on %s: %s\n", H.authdir, strerror(errno));
		return -1;
	}
	return 0;
}
const char *harness_runtime_dir(void) { return H.rtdir; }
const char *harness_cgroup_dir(void) { return H.cgdir; }
const char *test_dir(void) { return H.tdir; }
pid_t harness_wardd_pid(void) { return H.wardd; }
ward_client *harness_client(void) { return H.client; }

static pid_t harness_pid; /* the test process (not its children) */

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wardd_stop(void)
{
	if (H.wardd <= 0)
		return;
	kill(H.wardd, SIGTERM);
	for (long t0 = now_ms(); now_ms() - t0 < 10000;) {
		if (waitpid(H.wardd, NULL, WNOHANG) == H.wardd) {
			H.wardd = 0;
			return;
		}
		usleep(10000);
	}
	kill(H.wardd, SIGKILL);
	waitpid(H.wardd, NULL, 0);
	H.wardd = 0;
}

static void rm_rf(const char *dir)
{
	char cmd[PATH_MAX + 32];
	if (!dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "harness: could not remove %s\n", dir);
}

void harness_stop(void)
{
	if (getpid() != harness_pid)
		return; /* a forked child exiting: not its to stop */
	ward_client_free(H.client);
	H.client = NULL;
	wardd_stop();
	drain_events();
	/* a wardd killed by a test leaves its pins: unlinking them detaches */
	if (H.pindir[0]) {
		rm_rf(H.pindir);
		H.pindir[0] = '\0';
	}
	if (H.cgdir[0]) {
		/* children have exited; a stray one is moved out before rmdir */
		cgtest_remove(H.cgmuted, H.cgdir);
		H.cgdir[0] = '\0';
	}
	/* WARD_TEST_KEEP=1 keeps wardd's log and socket directory for a look */
	if (H.rtdir[0] && !getenv("WARD_TEST_KEEP"))
		rm_rf(H.rtdir);
	else if (H.rtdir[0])
		fprintf(stderr, "harness: kept %s\n", H.rtdir);
	H.rtdir[0] = '\0';
	if (H.tdir[0])
		rm_rf(H.tdir);
	H.tdir[0] = '\0';
	if (H.authdir[0]) {
		umount2(H.authdir, MNT_DETACH);
		rmdir(H.authdir);
		H.authdir[0] = '\0';
	}
}

static void on_fatal_signal(int sig)
{
	/* Leave nothing attached even when a test crashes or hangs.  Only the
	 * test process itself does this: a child killed by a test must not
	 * take wardd with it. */
	if (H.wardd > 0 && getpid() == harness_pid)
		kill(H.wardd, SIGTERM);
	signal(sig, SIG_DFL);
	raise(sig);
}

static const char *wardd_path(void)
{
	const char *p = getenv("WARDD");
	return p && *p ? p : WARDD_BUILD_PATH;
}

/* Start wardd (its log appended to, for a restart).  0 or -1. */
static int spawn_wardd(int append)
{
	H.wardd = fork();
	if (H.wardd == 0) {
		/* if the test process dies, however it dies, wardd is told to
		 * stop (and detaches everything) */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		int fd = open(H.log, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC) | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* WARD_TEST_BACKEND runs the suite on one sensor backend */
		const char *backend = getenv("WARD_TEST_BACKEND");
		char *args[48] = {"wardd", "--runtime-dir", H.rtdir, "--cgroup", H.cgdir,
				  "--mute-cgroup", H.cgmuted, "--client-ring-kb", "16384",
				  "--backend", (char *)(backend && *backend ? backend : "auto"),
				  /* this suite's own clients (none unless a test says so),
				   * and its root clients may do everything */
				  "--clients-dir", H.clientsdir, "--client-cgroup", H.clientcg,
				  "--unregistered-root", "full",
				  /* pins of its own, never a production wardd's */
				  "--pin-dir", H.pindir};
		int na = 19;
		if (H.auth) {
			args[na++] = "--auth-fs";
			args[na++] = H.authdir;
		}
		for (int i = 0; i < H.nextra; i++)
			args[na++] = H.extra[i];
		args[na] = NULL;
		execv(wardd_path(), args);
		_exit(127);
	}
	return H.wardd > 0 ? 0 : -1;
}

int harness_start(void)
{
	char name[64];
	snprintf(name, sizeof(name), "ward-test-%d", (int)getpid());
	if (cgtest_make("harness", name, "muted", true, H.cgdir, sizeof(H.cgdir), H.cgmuted, sizeof(H.cgmuted)))
		return -1;
	snprintf(H.rtdir, sizeof(H.rtdir), "/tmp/ward-rt-XXXXXX");
	snprintf(H.tdir, sizeof(H.tdir), "/tmp/ward-files-XXXXXX");
	if (!mkdtemp(H.rtdir) || !mkdtemp(H.tdir))
		return -1;
	chmod(H.rtdir, 0755); /* supervised clients run as other users */
	snprintf(H.log, sizeof(H.log), "%s/wardd.log", H.rtdir);
	snprintf(H.clientsdir, sizeof(H.clientsdir), "%s/clients.d", H.rtdir);
	snprintf(H.clientcg, sizeof(H.clientcg), "ward-test-%d.clients", (int)getpid());
	snprintf(H.pindir, sizeof(H.pindir), "/sys/fs/bpf/ward-test-%d", (int)getpid());
	harness_pid = getpid();
	if (H.auth && auth_mount())
		return -1;
	atexit(harness_stop);
	signal(SIGALRM, on_fatal_signal);
	signal(SIGSEGV, on_fatal_signal);
	signal(SIGABRT, on_fatal_signal);
	signal(SIGINT, on_fatal_signal);
	signal(SIGTERM, on_fatal_signal);
	alarm(270); /* before meson's and run_tests.py's 300 s */

	if (spawn_wardd(0))
		return -1;
	setenv("WARD_RUNTIME_DIR", H.rtdir, 1);
	int err = -ENOENT;
	for (long t0 = now_ms(); now_ms() - t0 < 15000; usleep(20000)) {
		if (waitpid(H.wardd, NULL, WNOHANG) == H.wardd) {
			H.wardd = 0;
			fprintf(stderr, "harness: wardd exited at start; log %s\n", H.log);
			return -1;
		}
		if ((err = ward_client_new(&H.client, "integration-test")) == 0)
			break;
	}
	if (err) {
		fprintf(stderr, "harness: cannot connect: %s\n", ward_strerror(err));
		return -1;
	}
	uint32_t types[WARD_EV_MAX_];
	size_t n = 0;
	for (uint32_t t = 1; t < WARD_EV_MAX_; t++)
		types[n++] = t;
	if ((err = ward_client_subscribe(H.client, types, n))) {
		fprintf(stderr, "harness: subscribe: %s\n", ward_strerror(err));
		return -1;
	}
	H.started = 1;
	return 0;
}

int harness_kill_wardd(void)
{
	if (H.wardd <= 0)
		return -1;
	ward_client_free(H.client); /* its connection dies with wardd anyway */
	H.client = NULL;
	kill(H.wardd, SIGKILL);
	for (long t0 = now_ms(); now_ms() - t0 < 10000; usleep(5000))
		if (waitpid(H.wardd, NULL, WNOHANG) == H.wardd) {
			H.wardd = 0;
			return 0;
		}
	return -1;
}

int harness_restart_wardd(void)
{
	if (H.wardd > 0 || spawn_wardd(1))
		return -1;
	for (long t0 = now_ms(); now_ms() - t0 < 15000; usleep(20000)) {
		if (waitpid(H.wardd, NULL, WNOHANG) == H.wardd) {
			H.wardd = 0;
			return -1;
		}
		if (ward_client_new(&H.client, "integration-test") == 0)
			break;
	}
	if (!H.client)
		return -1;
	uint32_t types[WARD_EV_MAX_];
	size_t n = 0;
	for (uint32_t t = 1; t < WARD_EV_MAX_; t++)
		types[n++] = t;
	return ward_client_subscribe(H.client, types, n) ? -1 : 0;
}

static pid_t run_child_in(const char *cg, int (*fn)(void *), void *arg, int *status);

int harness_group_setup(void **state)
{
	(void)state;
	return harness_start();
}

int harness_group_teardown(void **state)
{
	(void)state;
	harness_stop();
	return 0;
}

pid_t run_child(int (*fn)(void *), void *arg, int *status)
{
	return run_child_in(H.cgdir, fn, arg, status);
}

static pid_t start_child_in(const char *cg, int (*fn)(void *), void *arg);

pid_t start_child(int (*fn)(void *), void *arg)
{
	return start_child_in(H.cgdir, fn, arg);
}

int wait_child(pid_t pid, int *status)
{
	int st = 0;
	for (long t0 = now_ms();; usleep(2000)) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			break;
		if (r < 0)
			return -1;
		if (now_ms() - t0 > 20000) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
	}
	if (status)
		*status = st;
	return 0;
}

pid_t run_child_muted(int (*fn)(void *), void *arg, int *status)
{
	return run_child_in(H.cgmuted, fn, arg, status);
}

/* Fork a child that moves itself into cgroup @cg, then runs @fn. */
static pid_t start_child_in(const char *cg, int (*fn)(void *), void *arg)
{
	int go[2];
	if (pipe(go))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		static const int sigs[] = {SIGALRM, SIGSEGV, SIGABRT, SIGINT, SIGTERM};
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], SIG_DFL);
		alarm(0);
		char procs[PATH_MAX + 32];
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
		int fd = open(procs, O_WRONLY);
		if (fd < 0 || write(fd, "0", 1) != 1)
			_exit(120);
		close(fd);
		close(go[1]);
		char c;
		if (read(go[0], &c, 1) != 1) /* parent has seen us move */
			_exit(121);
		_exit(fn(arg));
	}
	close(go[0]);
	if (write(go[1], "g", 1) != 1)
		pid = -1;
	close(go[1]);
	return pid;
}

static pid_t run_child_in(const char *cg, int (*fn)(void *), void *arg, int *status)
{
	pid_t pid = start_child_in(cg, fn, arg);
	if (pid > 0)
		wait_child(pid, status);
	return pid;
}

static struct ward_rec *copy_event(const ward_event *ev)
{
	const struct ward_rec *r = (const void *)ev;
	struct ward_rec *c = malloc(r->size);
	if (c)
		memcpy(c, r, r->size);
	return c;
}

static int matches(const struct ward_rec *r, uint32_t type, pid_t pid, const char *path)
{
	const ward_event *ev = (const void *)r;
	uint64_t p = 0;
	const char *s = NULL;
	if (ward_event_type(ev) != type)
		return 0;
	if (pid && (ward_event_u64(ev, WARD_F_PID, &p) || p != (uint64_t)pid))
		return 0;
	if (path && (ward_event_str(ev, WARD_F_PATH, &s, NULL) || strcmp(s, path) != 0))
		return 0;
	return 1;
}

/* Take a kept event that matches, if any. */
static const ward_event *take_kept(uint32_t type, pid_t pid, const char *path)
{
	for (int i = 0; i < H.nkept; i++) {
		if (matches(H.kept[i], type, pid, path)) {
			struct ward_rec *r = H.kept[i];
			memmove(&H.kept[i], &H.kept[i + 1], sizeof(H.kept[0]) * (size_t)(H.nkept - i - 1));
			H.nkept--;
			return (const void *)r;
		}
	}
	return NULL;
}

const ward_event *expect_event(uint32_t type, pid_t pid, const char *path)
{
	const ward_event *got = take_kept(type, pid, path);
	for (long t0 = now_ms(); !got && now_ms() - t0 < EVENT_TIMEOUT_MS;) {
		const ward_event *ev;
		int r = ward_client_next(H.client, &ev, 100);
		if (r < 0) {
			fprintf(stderr, "harness: receive: %s\n", ward_strerror(r));
			return NULL;
		}
		if (r == 0)
			continue;
		struct ward_rec *c = copy_event(ev);
		if (!c)
			return NULL;
		if (matches(c, type, pid, path)) {
			got = (const void *)c;
		} else if (H.nkept < MAX_KEPT) {
			H.kept[H.nkept++] = c;
		} else {
			free(c);
		}
	}
	if (!got)
		fprintf(stderr, "harness: no %s event from pid %d%s%s within %d ms\n",
			ward_event_type_name(type), (int)pid, path ? " for " : "", path ? path : "",
			EVENT_TIMEOUT_MS);
	return got;
}

int kept_count(uint32_t type, pid_t pid)
{
	int n = 0;
	for (int i = 0; i < H.nkept; i++)
		n += matches(H.kept[i], type, pid, NULL);
	return n;
}

void drain_events(void)
{
	for (int i = 0; i < H.nkept; i++)
		free(H.kept[i]);
	H.nkept = 0;
}

static void missing(const ward_event *ev, uint32_t f)
{
	char msg[128];
	snprintf(msg, sizeof(msg), "%s event has no field %s", ward_event_type_name(ward_event_type(ev)),
		 ward_field_name(f));
	fail_msg("%s", msg);
}

uint64_t ev_u64(const ward_event *ev, uint32_t f)
{
	uint64_t v = 0;
	if (ward_event_u64(ev, f, &v))
		missing(ev, f);
	return v;
}

int64_t ev_i64(const ward_event *ev, uint32_t f)
{
	int64_t v = 0;
	if (ward_event_i64(ev, f, &v))
		missing(ev, f);
	return v;
}

const char *ev_str(const ward_event *ev, uint32_t f)
{
	const char *s = NULL;
	if (ward_event_str(ev, f, &s, NULL))
		missing(ev, f);
	return s;
}

void touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	close(fd);
}

void assert_argv(const ward_event *ev, const char *want, size_t size)
{
	const char *argv;
	size_t len;
	assert_int_equal(ward_event_str(ev, WARD_F_ARGV, &argv, &len), 0);
	assert_int_equal(len, size);
	assert_memory_equal(argv, want, size);
}

int ev_has(const ward_event *ev, uint32_t f)
{
	return ward_event_field_at(ev, 0) && (ward_event_u64(ev, f, &(uint64_t){0}) == 0 ||
					      ward_event_str(ev, f, &(const char *){NULL}, NULL) == 0);
}
