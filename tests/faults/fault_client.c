/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fault_client — a supervised ward client that misbehaves on purpose, for
 * the fault-injection suite (tests/faults/test_faults.c).  wardd's
 * supervisor runs it from a manifest, in its sandbox:
 *
 *   fault_client MODE
 *
 *   healthy    resumes after what its manifest last acknowledged
 *              (WARD_RESUME_LAST), subscribes to exec/exit/fork/open
 *              (NOTIFY) and answers every auth_exec ALLOW at once (DENY
 *              for its content's deny paths); every 50 ms writes its
 *              counters to $WARD_STATE_DIR/stats ("received= gaps= lost=
 *              auth= exec= denied="), and appends the pid
 *              of every exec event to $WARD_STATE_DIR/execs
 *   segv       connects, subscribes, then dereferences NULL
 *   abort      connects, subscribes, then abort()s
 *   hang-auth  answers auth_exec and never answers: sleeps forever
 *   busy       connects, subscribes, then spins on the CPU forever
 *   oom        allocates and touches memory until its limit kills it
 *   forkbomb   forks until fork fails; every child sleeps; then sleeps
 *   garbage    says HELLO properly, then writes garbage to the socket
 *   noread     subscribes as healthy does and never reads its ring
 *   idle       connects and sleeps
 *   manual     (run by hand, not by the supervisor) connects, then exits
 *              0, or with -errno of the refusal
 *   entitle    tries what its manifest grants and what it does not, and
 *              writes each result to $WARD_STATE_DIR/result
 *   escape     tries to leave its sandbox, and writes each result to
 *              $WARD_STATE_DIR/result (argv[2]: a file it must not read)
 *
 * Every mode but healthy first writes "started" to $WARD_STATE_DIR/started
 * (appending a line), so the test can count starts.  Statically linked with
 * libward: its directory is outside what its Landlock rules let it read.
 *
 * Content (docs/content.md).  Started with content (WARD_CONTENT_*), it
 * reads the payload first: lines "KEY VALUE", exactly two fields separated
 * by blanks; blank lines and lines whose first non-blank character is '#'
 * are skipped.  Keys:
 *
 *   mode MODE           one of the modes above, in place of argv[1]
 *                       (at most once)
 *   deny PATH           an absolute path: healthy answers DENY to an AUTH
 *                       request (exec, or open) for exactly that path,
 *                       ALLOW to the rest (at most 64 lines)
 *   crash_after_ms N    abort() N ms (1..3600000) after the start (at most
 *                       once)
 *
 * Anything else is rejected, naming the line.  The same parser answers
 * wardd in validate mode (ward_content_validate()) and loads the content
 * at start; content that does not load ends it with status 65.  With
 * content it appends "MODE VERSION CHANNEL PID" (MODE active or shadow) to
 * $WARD_STATE_DIR/content.  Without content it behaves as it always has.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ward/ward.h>
#include "wire.h"

static const char *state_dir(void)
{
	const char *d = getenv("WARD_STATE_DIR");
	return d && *d ? d : ".";
}

/* ---- content ---- */

#define DENY_MAX 64
#define CRASH_AFTER_MAX 3600000L
#define BLANKS " \t\n\v\f\r"

static const char *const mode_names[] = {
	"healthy", "segv", "abort", "hang-auth", "busy", "oom", "forkbomb",
	"garbage", "noread", "idle", "manual", "entitle", "escape",
};

struct content {
	char *mode;           /* "mode": replaces argv[1]; NULL if absent */
	char *deny[DENY_MAX]; /* "deny": AUTH requests for these paths are denied */
	size_t ndeny;
	long crash_after_ms;  /* "crash_after_ms": 0 if absent */
};

static struct content content;

/* The value of one "KEY VALUE" line into @c; NULL, or what is wrong. */
static const char *content_set(struct content *c, const char *key, const char *value)
{
	if (strcmp(key, "mode") == 0) {
		size_t i = 0, n = sizeof(mode_names) / sizeof(mode_names[0]);
		while (i < n && strcmp(value, mode_names[i]) != 0)
			i++;
		if (i == n)
			return "unknown mode";
		if (c->mode)
			return "mode given twice";
		return (c->mode = strdup(value)) ? NULL : "out of memory";
	}
	if (strcmp(key, "deny") == 0) {
		if (value[0] != '/')
			return "deny needs an absolute path";
		if (c->ndeny == DENY_MAX)
			return "more than 64 deny lines";
		return (c->deny[c->ndeny++] = strdup(value)) ? NULL : "out of memory";
	}
	if (strcmp(key, "crash_after_ms") == 0) {
		char *end;
		errno = 0;
		long ms = strtol(value, &end, 10);
		if (errno || end == value || *end || value[0] < '0' || value[0] > '9' || ms < 1 ||
		    ms > CRASH_AFTER_MAX)
			return "crash_after_ms needs 1 to 3600000";
		if (c->crash_after_ms)
			return "crash_after_ms given twice";
		c->crash_after_ms = ms;
		return NULL;
	}
	return "unknown key";
}

/* The content parser (ward_content_parse_fn), into the struct content
 * @userdata. */
static int parse_content(const char *path, void *userdata, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *field[3], *save;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	int bad = 0;

	if (!f) {
		snprintf(err, errlen, "cannot open the payload: %s", strerror(errno));
		return 1;
	}
	while (!bad && (len = getline(&line, &cap, f)) >= 0) {
		unsigned n = 0;
		const char *why;
		lineno++;
		if (strlen(line) != (size_t)len) {
			snprintf(err, errlen, "line %u: a NUL byte", lineno);
			bad = 1;
			break;
		}
		for (char *t = strtok_r(line, BLANKS, &save); t; t = strtok_r(NULL, BLANKS, &save))
			if (n++ < 3)
				field[n - 1] = t;
		if (n == 0 || field[0][0] == '#')
			continue;
		if (n != 2) {
			snprintf(err, errlen, "line %u: %u field%s, the schema has 2", lineno, n, n == 1 ? "" : "s");
			bad = 1;
		} else if ((why = content_set(userdata, field[0], field[1]))) {
			snprintf(err, errlen, "line %u: %s: %.40s", lineno, why,
				 strcmp(why, "unknown key") == 0 ? field[0] : field[1]);
			bad = 1;
		}
	}
	if (!bad && ferror(f)) {
		snprintf(err, errlen, "cannot read the payload: %s", strerror(errno));
		bad = 1;
	}
	free(line);
	fclose(f);
	return bad;
}

static void on_crash_timer(int sig)
{
	abort();
}

/* Load the content this process was started with, if any, and apply what
 * applies at once: the mode (*@mode) and the crash timer.  Exits 65 when
 * the content cannot be used. */
static void load_content(const char **mode)
{
	struct ward_content_info ci;
	char err[512] = "", path[4096];
	int r = ward_content_info(&ci);
	if (r < 0) {
		fprintf(stderr, "fault_client: content: %s\n", ward_strerror(r));
		exit(65);
	}
	if (ci.mode == WARD_CONTENT_NONE)
		return;
	if (parse_content(ci.path, &content, err, sizeof(err))) {
		fprintf(stderr, "fault_client: content version %llu: %s\n", (unsigned long long)ci.version, err);
		exit(65);
	}
	if (content.mode)
		*mode = content.mode;
	if (content.crash_after_ms) {
		struct itimerval it = {.it_value = {.tv_sec = content.crash_after_ms / 1000,
						    .tv_usec = content.crash_after_ms % 1000 * 1000}};
		signal(SIGALRM, on_crash_timer);
		setitimer(ITIMER_REAL, &it, NULL);
	}
	snprintf(path, sizeof(path), "%s/content", state_dir());
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dprintf(fd, "%s %llu %s %d\n", ci.mode == WARD_CONTENT_SHADOW ? "shadow" : "active",
			(unsigned long long)ci.version, ci.channel, (int)getpid());
		close(fd);
	}
	fprintf(stderr, "fault_client: content version %llu, channel %s: mode %s, %zu deny, crash_after_ms %ld\n",
		(unsigned long long)ci.version, ci.channel, *mode, content.ndeny, content.crash_after_ms);
}

static int denied(const char *path)
{
	for (size_t i = 0; path && i < content.ndeny; i++)
		if (strcmp(content.deny[i], path) == 0)
			return 1;
	return 0;
}

/* ---- modes ---- */

static void mark_started(const char *mode)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/started", state_dir());
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dprintf(fd, "%s %d\n", mode, (int)getpid());
		close(fd);
	}
}

static ward_client *connect_or_die(const char *mode)
{
	ward_client *c = NULL;
	int r = ward_client_new(&c, mode);
	if (r < 0) {
		fprintf(stderr, "fault_client %s: connect: %s\n", mode, ward_strerror(r));
		exit(3);
	}
	return c;
}

static void subscribe_notify(ward_client *c, int everything)
{
	/* what the suite's manifests grant */
	uint32_t types[] = {WARD_EV_EXEC, WARD_EV_EXIT, WARD_EV_FORK, WARD_EV_OPEN};
	size_t n = sizeof(types) / sizeof(types[0]);
	(void)everything;
	int r = ward_client_subscribe(c, types, n);
	if (r < 0) {
		fprintf(stderr, "fault_client: subscribe: %s\n", ward_strerror(r));
		exit(4);
	}
}

static void subscribe_auth(ward_client *c)
{
	struct ward_auth_sub sub = {.type = WARD_EV_AUTH_EXEC, .default_verdict = WARD_VERDICT_ALLOW};
	int r = ward_client_subscribe_auth(c, &sub, 1, 0);
	if (r < 0) {
		fprintf(stderr, "fault_client: subscribe_auth: %s\n", ward_strerror(r));
		exit(5);
	}
}

struct hstate {
	ward_client *c;
	uint64_t auth, exec, denied;
	FILE *execs;
};

static int on_event(const ward_event *ev, void *arg)
{
	struct hstate *h = arg;
	if (ward_event_is_auth(ev)) {
		uint64_t id;
		const char *path = NULL;
		ward_event_str(ev, WARD_F_PATH, &path, NULL);
		uint32_t verdict = denied(path) ? WARD_VERDICT_DENY : WARD_VERDICT_ALLOW;
		if (ward_event_u64(ev, WARD_F_AUTH_ID, &id) == 0 && ward_client_respond(h->c, id, verdict, 0) == 0) {
			h->auth++;
			h->denied += verdict == WARD_VERDICT_DENY;
		}
	} else if (ward_event_type(ev) == WARD_EV_EXEC) {
		uint64_t pid;
		h->exec++;
		/* written before the event is acknowledged (when the next
		 * batch starts), so a kill loses no line */
		if (h->execs && ward_event_u64(ev, WARD_F_PID, &pid) == 0) {
			fprintf(h->execs, "%llu\n", (unsigned long long)pid);
			fflush(h->execs);
		}
	}
	return 0;
}

static void write_stats(struct hstate *h)
{
	struct ward_client_stats st;
	char tmp[4096], path[4096];
	ward_client_stats(h->c, &st);
	snprintf(tmp, sizeof(tmp), "%s/stats.tmp", state_dir());
	snprintf(path, sizeof(path), "%s/stats", state_dir());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	dprintf(fd, "received=%llu gaps=%llu lost=%llu auth=%llu exec=%llu denied=%llu\n",
		(unsigned long long)st.received, (unsigned long long)st.gaps, (unsigned long long)st.lost,
		(unsigned long long)h->auth, (unsigned long long)h->exec, (unsigned long long)h->denied);
	close(fd);
	rename(tmp, path);
}

static int healthy(void)
{
	struct hstate h = {.c = connect_or_die("healthy")};
	char path[4096];
	snprintf(path, sizeof(path), "%s/execs", state_dir());
	h.execs = fopen(path, "ae");
	/* before subscribing: what it missed while it (or wardd) was down */
	int r = ward_client_resume(h.c, WARD_RESUME_LAST);
	if (r < 0)
		fprintf(stderr, "fault_client healthy: resume: %s\n", ward_strerror(r));
	subscribe_notify(h.c, 0);
	subscribe_auth(h.c);
	write_stats(&h);
	for (;;) {
		r = ward_client_dispatch(h.c, on_event, &h, 50);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "fault_client healthy: %s\n", ward_strerror(r));
			return 6;
		}
		write_stats(&h);
	}
}

/* HELLO by hand, then bytes that are no message at all. */
static int garbage(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *dir = getenv("WARD_RUNTIME_DIR");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir ? dir : WARD_DEFAULT_RUNTIME_DIR, WARD_SOCK_NAME);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return 7;
	struct {
		struct ward_msg h;
		struct ward_msg_hello b;
	} hello = {.h = {.magic = WARD_MSG_MAGIC, .type = WARD_MSG_HELLO, .len = sizeof(hello)},
		   .b = {.api_version = WARD_API_VERSION, .name = "garbage"}};
	if (send(fd, &hello, sizeof(hello), MSG_NOSIGNAL) != (ssize_t)sizeof(hello))
		return 8;
	char buf[4096];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, 5000) != 1 || recv(fd, buf, sizeof(buf), 0) <= 0) /* WELCOME (its fds are dropped) */
		return 9;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 131 + 7);
	for (;;) {
		if (send(fd, buf, 1000, MSG_NOSIGNAL) < 0)
			pause(); /* wardd hung up: wait for the supervisor */
		usleep(10000);
	}
}

static FILE *result_file(void)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/result.tmp", state_dir());
	return fopen(path, "we");
}

static void result_done(FILE *f)
{
	char tmp[4096], path[4096];
	fclose(f);
	snprintf(tmp, sizeof(tmp), "%s/result.tmp", state_dir());
	snprintf(path, sizeof(path), "%s/result", state_dir());
	rename(tmp, path);
}

/* What the suite's manifest grants: NOTIFY exec/exit/fork/open and
 * auth_exec, nothing more. */
static int entitle(void)
{
	ward_client *c = connect_or_die("entitle");
	FILE *f = result_file();
	if (!f)
		return 10;
	uint32_t ok[] = {WARD_EV_EXEC, WARD_EV_OPEN};
	uint32_t beyond[] = {WARD_EV_EXEC, WARD_EV_MOUNT};
	fprintf(f, "subscribe_granted=%d\n", ward_client_subscribe(c, ok, 2));
	fprintf(f, "subscribe_beyond=%d\n", ward_client_subscribe(c, beyond, 2));
	struct ward_auth_sub exec = {.type = WARD_EV_AUTH_EXEC};
	struct ward_auth_sub open_ = {.type = WARD_EV_AUTH_OPEN};
	struct ward_auth_sub file = {.type = WARD_EV_AUTH_EXEC, .flags = WARD_AUTH_FILE};
	fprintf(f, "auth_granted=%d\n", ward_client_subscribe_auth(c, &exec, 1, 0));
	fprintf(f, "auth_open=%d\n", ward_client_subscribe_auth(c, &open_, 1, 0));
	fprintf(f, "auth_file=%d\n", ward_client_subscribe_auth(c, &file, 1, 0));
	struct ward_net_rule rule = {.type = WARD_EV_AUTH_CONNECT, .family = 2 /* AF_INET */, .port_hi = 65535};
	uint32_t id;
	fprintf(f, "net_rule=%d\n", ward_client_add_net_rule(c, &rule, &id));
	fprintf(f, "clear_cache=%d\n", ward_client_clear_cache(c));
	char *st = NULL;
	fprintf(f, "status=%d\n", ward_client_status_json(c, &st));
	free(st);
	result_done(f);
	for (;;)
		pause();
}

static int try_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static int escape(const char *forbidden)
{
	FILE *f = result_file();
	if (!f)
		return 10;
	char path[4096];
	const char *content = getenv("WARD_CONTENT_DIR");
	fprintf(f, "read_forbidden=%d\n", try_open(forbidden, O_RDONLY));
	fprintf(f, "read_passwd=%d\n", try_open("/etc/passwd", O_RDONLY));
	fprintf(f, "write_tmp=%d\n", try_open("/tmp/ward-escape", O_WRONLY | O_CREAT));
	snprintf(path, sizeof(path), "%s/x", content ? content : "/nonexistent");
	fprintf(f, "write_content=%d\n", try_open(path, O_WRONLY | O_CREAT));
	snprintf(path, sizeof(path), "%s/own", content ? content : "/nonexistent");
	fprintf(f, "read_content=%d\n", try_open(path, O_RDONLY));
	snprintf(path, sizeof(path), "%s/x", state_dir());
	fprintf(f, "write_state=%d\n", try_open(path, O_WRONLY | O_CREAT));
	fprintf(f, "setuid0=%d\n", setuid(0) ? -errno : 0);
	fprintf(f, "ptrace=%d\n", ptrace(PTRACE_TRACEME, 0, NULL, NULL) ? -errno : 0);
	fprintf(f, "unshare=%d\n", unshare(CLONE_NEWUSER | CLONE_NEWNS) ? -errno : 0);
	result_done(f);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	/* wardd checking new content: parse it, report and exit */
	ward_content_validate(parse_content, &content);
	if (argc < 2 || (argc != 2 && strcmp(argv[1], "escape") != 0)) {
		fprintf(stderr, "usage: fault_client MODE\n");
		return 2;
	}
	const char *mode = argv[1];
	load_content(&mode);
	if (strcmp(mode, "escape") == 0)
		return escape(argc > 2 ? argv[2] : "/etc/shadow");
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(mode, "healthy") == 0)
		return healthy();
	if (strcmp(mode, "manual") == 0) {
		ward_client *c = NULL;
		int r = ward_client_new(&c, "manual");
		ward_client_free(c);
		return r < 0 ? -r : 0;
	}
	if (strcmp(mode, "entitle") == 0)
		return entitle();
	if (strcmp(mode, "idle") == 0) {
		ward_client *c = connect_or_die(mode);
		(void)c;
		for (;;)
			pause();
	}
	mark_started(mode);
	if (strcmp(mode, "garbage") == 0)
		return garbage();
	ward_client *c = connect_or_die(mode);
	if (strcmp(mode, "noread") == 0) {
		subscribe_notify(c, 1);
		for (;;)
			pause();
	}
	subscribe_notify(c, 0);
	if (strcmp(mode, "segv") == 0) {
		usleep(300000);
		volatile int *p = NULL;
		return *p;
	}
	if (strcmp(mode, "abort") == 0) {
		usleep(300000);
		abort();
	}
	if (strcmp(mode, "hang-auth") == 0) {
		subscribe_auth(c);
		for (;;)
			pause();
	}
	if (strcmp(mode, "busy") == 0) {
		volatile uint64_t x = 0;
		for (;;)
			x++;
	}
	if (strcmp(mode, "oom") == 0) {
		for (size_t total = 0;; total += 1 << 20) {
			char *p = malloc(1 << 20);
			if (!p)
				pause();
			memset(p, 0x5a, 1 << 20);
		}
	}
	if (strcmp(mode, "forkbomb") == 0) {
		unsigned forked = 0;
		for (;;) {
			pid_t pid = fork();
			if (pid == 0) {
				for (;;)
					pause();
			}
			if (pid < 0)
				break;
			forked++;
		}
		fprintf(stderr, "forkbomb: %u children, then fork failed: %s\n", forked, strerror(errno));
		for (;;)
			pause();
	}
	fprintf(stderr, "fault_client: unknown mode %s\n", mode);
	return 2;
}
