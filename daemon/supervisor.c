/* SPDX-License-Identifier: Apache-2.0 */
/*
 * supervisor.c — see supervisor.h.
 *
 * A client's life: verifying (its executable is hashed and compared with
 * the manifest) → starting (forked into its sandbox, execve pending) →
 * running → on exit, by its manifest's restart policy: backoff (restarted
 * after a delay that doubles with each crash, up to a maximum), exited
 * (a clean exit under on-failure, or policy never), or quarantined (too
 * many crashes within the window: it is not started again and nothing
 * waits on it).  A hash mismatch is "failed", checked again after the
 * maximum back-off in case the administrator fixes the file.
 *
 * A crash is an exit by a signal or with a non-zero status, and also an
 * exit wardd caused: a client whose connection wardd dropped for garbage
 * on the socket or for missing deadlines is killed (its whole cgroup) and
 * restarted, since a client that hangs while holding AUTH requests would
 * otherwise hang forever.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <ward/ward.h>
#include "broker.h"
#include "cgroups.h"
#include "content.h"
#include "hashcache.h"
#include "log.h"
#include "manifest.h"
#include "pipeline.h"
#include "protect.h"
#include "record.h"
#include "sandbox.h"
#include "supervisor.h"
#include "wire.h"

#define SUP_TAG 0x53555056          /* first int of every epoll tag of ours */
#define SUP_COOKIE (1ull << 62)     /* hash results for us (pipeline: bit 63) */
#define PENDING_MAX 64              /* identifications waiting for a hash */
#define LOG_LINES_PER_S 20          /* a client's stderr cannot flood wardd's log */
#define LOG_LINE_MAX 200
#define HEALTHY_MS 60000            /* running this long resets the back-off */
#define STOP_GRACE_MS 2000          /* SIGTERM, then SIGKILL */

enum sstate { S_DISABLED, S_VERIFYING, S_STARTING, S_RUNNING, S_BACKOFF, S_EXITED, S_FAILED, S_QUARANTINED };
static const char *const state_names[] = {
	[S_DISABLED] = "disabled", [S_VERIFYING] = "verifying", [S_STARTING] = "starting",
	[S_RUNNING] = "running",   [S_BACKOFF] = "backoff",     [S_EXITED] = "exited",
	[S_FAILED] = "failed",     [S_QUARANTINED] = "quarantined",
};

enum { K_PIDFD = 1, K_ERRFD, K_LOGFD, K_RESFD };
struct sproc;
struct tag {
	int magic; /* SUP_TAG */
	int kind;
	struct sproc *p;
};

/* A client runs as up to three processes, each in its own cgroup: the
 * active instance (the one whose verdicts count), a shadow instance on
 * candidate content (verdicts recorded, never enforced) and a validator
 * (the client's own parser on a candidate payload).  docs/content.md. */
enum role { R_ACTIVE, R_SHADOW, R_VALIDATE, R_MAX_ };
static const char *const role_suffix[R_MAX_] = {[R_ACTIVE] = "", [R_SHADOW] = "@shadow", [R_VALIDATE] = "@validate"};

struct sproc {
	struct sclient *c;
	enum role role;
	pid_t pid;
	int pidfd, errfd, logfd, resfd;
	struct tag t_pid, t_err, t_log, t_res;
	struct ward_cgroup cg;
	int cg_made;
	uint64_t started_ms;
	uint64_t deadline_ms;   /* validator: killed after this (monotonic ms) */
	int last_code, last_signal;
	int replacing;          /* active: stopped on purpose for other content (no crash) */
	char spawn_err[160];
	char kill_why[96];      /* wardd killed it: why (counts as a crash) */
	char logbuf[LOG_LINE_MAX + 1];
	size_t loglen;
	long log_second;
	unsigned log_lines, log_dropped;
	char result[CONTENT_REASON_MAX]; /* validator: the last line of its stdout */
	size_t reslen;
	char resline[CONTENT_REASON_MAX];
};

struct sclient {
	const struct ward_manifest *m;
	gid_t gid;              /* its user's primary group, looked up at start */
	char exe[PATH_MAX];     /* its executable, symbolic links resolved */
	enum sstate state;
	char reason[192];
	struct sproc a;         /* the active instance */
	struct sproc sh, val;   /* shadow and validator (content.c asks for them) */
	uint64_t start_at_ms;   /* backoff/failed: when to try again */
	uint32_t backoff_ms;    /* the last delay */
	uint64_t *crash_ms;     /* the last quarantine_after crash times (ring) */
	unsigned crash_next;
	uint32_t restarts, crashes;
	char last_exit[192];    /* how it last ended */
	uint64_t cookie;        /* verifying: our hash job */
	struct broker_conn_stats past; /* connections that ended */
	uint64_t last_mask;     /* its last NOTIFY subscription, held while it restarts */
	unsigned connections;
};

_Static_assert(R_ACTIVE == (int)CONTENT_ACTIVE && R_SHADOW == (int)CONTENT_SHADOW &&
	       R_VALIDATE == (int)CONTENT_VALIDATE, "content.h's roles are these");

/* Instance @role of @c. */
static struct sproc *inst(struct sclient *c, enum role role)
{
	return role == R_SHADOW ? &c->sh : role == R_VALIDATE ? &c->val : &c->a;
}

static struct {
	int epfd;
	struct supervisor_cfg cfg;
	struct manifest_set set;
	struct sclient *c;      /* one per manifest, same order */
	size_t n;
	struct cg_env env;
	int cg_ok;
	struct sandbox_support sbx;
	uint64_t next_cookie;
	unsigned manifest_errors;
	char last_manifest_error[256];
	struct {
		uint64_t cookie;
		uint32_t client_id;
		struct sclient *c;
		int shadow;
		int pidfd;
	} pending[PENDING_MAX];
	uint64_t refused_unregistered, refused_quarantined, refused_hash;
} S;

static struct sclient *by_name(const char *name, size_t len);

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int supervisor_owns(const void *tag)
{
	return tag && *(const int *)tag == SUP_TAG;
}

/* ---- client_state events ---- */

static void emit(struct sclient *c, const char *why)
{
	if (!((broker_mask() >> WARD_EV_CLIENT_STATE) & 1))
		return;
	static _Alignas(8) uint8_t buf[4096];
	struct ward_rec_builder b;
	ward_rb_init(&b, buf, sizeof(buf), WARD_EV_CLIENT_STATE);
	if (c->a.pid > 0)
		ward_rb_u64(&b, WARD_F_PID, (uint64_t)c->a.pid);
	ward_rb_str(&b, WARD_F_NAME, c->m->name, strlen(c->m->name));
	const char *st = state_names[c->state];
	ward_rb_str(&b, WARD_F_STATE, st, strlen(st));
	if (why && *why)
		ward_rb_str(&b, WARD_F_REASON, why, strnlen(why, 180));
	ward_rb_u64(&b, WARD_F_RESTARTS, c->restarts);
	if (c->state != S_RUNNING && c->state != S_STARTING && c->state != S_VERIFYING &&
	    (c->a.last_code >= 0 || c->a.last_signal > 0)) {
		if (c->a.last_signal > 0)
			ward_rb_u64(&b, WARD_F_EXIT_SIGNAL, (uint64_t)c->a.last_signal);
		else
			ward_rb_u64(&b, WARD_F_EXIT_CODE, (uint64_t)c->a.last_code);
	}
	size_t n = ward_rb_finish(&b);
	if (!n)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	pipeline_stamp(buf, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
	broker_deliver(WARD_EV_CLIENT_STATE, buf, n);
}

/* While a client is on its way back, its last subscription stays: the
 * events it would have had are journaled, and it can resume from them.
 * Released when it is not coming back (quarantined, exited, failed). */
static void update_hold(void)
{
	uint64_t m = 0;
	for (size_t i = 0; i < S.n; i++) {
		enum sstate st = S.c[i].state;
		if (st == S_VERIFYING || st == S_STARTING || st == S_RUNNING || st == S_BACKOFF)
			m |= S.c[i].last_mask;
	}
	broker_hold_mask(m);
}

static void set_state(struct sclient *c, enum sstate st, const char *fmt, ...) WARDD_PRINTF(3, 4);
static void set_state(struct sclient *c, enum sstate st, const char *fmt, ...)
{
	c->state = st;
	c->reason[0] = '\0';
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
		va_end(ap);
	}
	if (st == S_QUARANTINED || st == S_FAILED)
		log_warnx("client %s: %s%s%s", c->m->name, state_names[st], c->reason[0] ? ": " : "", c->reason);
	else
		log_info("client %s: %s%s%s", c->m->name, state_names[st], c->reason[0] ? ": " : "", c->reason);
	emit(c, c->reason);
	update_hold();
}

/* ---- descriptors ---- */

static void watch(struct sproc *p, int fd, struct tag *t, int kind)
{
	t->magic = SUP_TAG;
	t->kind = kind;
	t->p = p;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = t};
	if (epoll_ctl(S.epfd, EPOLL_CTL_ADD, fd, &ev))
		log_warn("client %s: epoll_ctl", p->c->m->name);
}

static void unwatch(int *fd)
{
	if (*fd < 0)
		return;
	epoll_ctl(S.epfd, EPOLL_CTL_DEL, *fd, NULL);
	close(*fd);
	*fd = -1;
}

/* ---- the client's stdout and stderr, into wardd's log ---- */

/* @len bytes of @in into @out (@cap bytes with the NUL, cut to fit),
 * anything but printable ASCII as '?': a client's output goes into logs. */
static void printable(char *out, size_t cap, const char *in, size_t len)
{
	size_t i;
	for (i = 0; i < len && i < cap - 1; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
}

static void log_line(struct sproc *p, const char *line, size_t len)
{
	long sec = (long)(now_ms() / 1000);
	if (sec != p->log_second) {
		if (p->log_dropped)
			log_warnx("client %s%s: %u lines of its output left out", p->c->m->name, role_suffix[p->role],
				  p->log_dropped);
		p->log_second = sec;
		p->log_lines = p->log_dropped = 0;
	}
	if (++p->log_lines > LOG_LINES_PER_S) {
		p->log_dropped++;
		return;
	}
	char clean[LOG_LINE_MAX + 1];
	printable(clean, sizeof(clean), line, len);
	log_info("client %s%s: %s", p->c->m->name, role_suffix[p->role], clean);
}

/* Lines from @fd into @buf/@len (at most @max bytes a line), each handed
 * to @line; at EOF or an error the descriptor is closed. */
static void read_lines(struct sproc *p, int *fd, char *buf, size_t *len, size_t max,
		       void (*line)(struct sproc *, const char *, size_t))
{
	char in[4096];
	for (int round = 0; round < 4; round++) { /* bounded: a chatty client waits its turn */
		ssize_t n = read(*fd, in, sizeof(in));
		if (n <= 0) {
			if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				if (*len)
					line(p, buf, *len);
				*len = 0;
				unwatch(fd);
			}
			return;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (in[i] == '\n' || *len == max) {
				line(p, buf, *len);
				*len = 0;
				if (in[i] == '\n')
					continue;
			}
			buf[(*len)++] = in[i];
		}
	}
}

static void read_log(struct sproc *p)
{
	read_lines(p, &p->logfd, p->logbuf, &p->loglen, LOG_LINE_MAX, log_line);
}

/* A validator's stdout: its last non-empty line is its verdict's reason. */
static void result_line(struct sproc *p, const char *line, size_t len)
{
	if (len)
		printable(p->resline, sizeof(p->resline), line, len);
}

static void read_result(struct sproc *p)
{
	read_lines(p, &p->resfd, p->result, &p->reslen, sizeof(p->result) - 1, result_line);
}

/* ---- starting ---- */

/* mkdir -p of @path's parents (root, 0755) and of @path itself. */
static int make_dirs(const char *path, uid_t uid, gid_t gid, mode_t mode)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	/* by descriptor, never following a link: whoever can write the
	 * parent must not turn wardd's chown onto another file (opening a
	 * directory raises no permission event: no mark asks FAN_ONDIR) */
	int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	struct stat st;
	int r = 0;
	if (fstat(fd, &st))
		r = -errno;
	else if ((st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid))
		r = -errno;
	else if ((st.st_mode & 07777) != mode && fchmod(fd, mode))
		r = -errno;
	close(fd);
	return r;
}

static void crash(struct sclient *c, const char *what);

/* Start instance @p of its client in its sandbox and its own cgroup
 * (<name><role suffix>), with the content the content manager gives that
 * role.  0, or -errno with a message in @err. */
static int spawn_proc(struct sproc *p, char *err, size_t errlen)
{
	struct sclient *c = p->c;
	const struct ward_manifest *m = c->m;
	int r;
	/* looked up at start: the user database is files this thread must
	 * not open once AUTH marks exist (it would wait on itself) */
	gid_t gid = c->gid;
	if (!S.cg_ok) {
		snprintf(err, errlen, "no cgroups: its limits cannot be enforced");
		return -ENOTSUP;
	}
	struct cg_limits lim = {.memory_bytes = m->limits.memory_bytes, .cpu_percent = m->limits.cpu_percent,
				.pids = m->limits.pids};
	char cgname[MANIFEST_NAME_MAX + 16];
	snprintf(cgname, sizeof(cgname), "%s%s", m->name, role_suffix[p->role]);
	char cgerr[200] = "";
	if ((r = cg_create(&S.env, S.cfg.cgroup_base, cgname, &lim, &p->cg, cgerr, sizeof(cgerr)))) {
		snprintf(err, errlen, "cgroup: %s", cgerr[0] ? cgerr : strerror(-r));
		return r;
	}
	p->cg_made = 1;
	/* leftovers of an earlier run (a wardd that was killed) go first;
	 * cgroup.kill takes them even as the new one starts */
	cg_kill_nowait(&p->cg);
	if ((r = make_dirs(m->state_dir, m->uid, gid, 0700)) || (r = make_dirs(m->content_dir, 0, 0, 0755))) {
		snprintf(err, errlen, "its directories: %s", strerror(-r));
		return r;
	}
	char *argv[MANIFEST_ARGS_MAX + 2];
	argv[0] = c->exe;
	for (size_t i = 0; i < m->nargs; i++)
		argv[i + 1] = m->args[i];
	argv[m->nargs + 1] = NULL;
	char e_rt[PATH_MAX + 32], e_name[96], e_state[PATH_MAX + 32], e_content[PATH_MAX + 32], e_home[PATH_MAX + 8];
	char e_cont[4][512];
	snprintf(e_rt, sizeof(e_rt), "WARD_RUNTIME_DIR=%s", S.cfg.runtime_dir);
	snprintf(e_name, sizeof(e_name), "WARD_CLIENT_NAME=%s", m->name);
	snprintf(e_state, sizeof(e_state), "WARD_STATE_DIR=%s", m->state_dir);
	snprintf(e_content, sizeof(e_content), "WARD_CONTENT_DIR=%s", m->content_dir);
	snprintf(e_home, sizeof(e_home), "HOME=%s", m->state_dir);
	char *envp[12] = {e_rt, e_name, e_state, e_content, e_home, "PATH=/usr/local/bin:/usr/bin:/bin"};
	int ne = content_env(m->name, (enum content_role)p->role, e_cont, 4);
	for (int i = 0; i < ne; i++)
		envp[6 + i] = e_cont[i];
	int logp[2], resp[2] = {-1, -1};
	if (pipe2(logp, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -EMFILE;
	}
	/* a validator's stdout is its verdict's reason; stderr is logged */
	if (p->role == R_VALIDATE && pipe2(resp, O_CLOEXEC)) {
		close(logp[0]);
		close(logp[1]);
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -EMFILE;
	}
	struct sandbox_spec spec = {
		/* no supplementary groups: the user's (docker, say) could give
		 * the client more than its manifest */
		.executable = c->exe, .argv = argv, .envp = envp,
		.uid = m->uid, .gid = gid, .groups = NULL, .ngroups = 0,
		.content_dir = m->content_dir, .state_dir = m->state_dir, .ro_paths = NULL,
		.open_files = m->limits.open_files, .cg = &p->cg,
		.stdout_fd = resp[1] >= 0 ? resp[1] : logp[1], .stderr_fd = logp[1],
	};
	char serr[200] = "";
	r = sandbox_spawn(&spec, &p->pid, &p->pidfd, &p->errfd, serr, sizeof(serr));
	close(logp[1]);
	if (resp[1] >= 0)
		close(resp[1]);
	if (r) {
		close(logp[0]);
		if (resp[0] >= 0)
			close(resp[0]);
		p->pid = 0;
		p->pidfd = p->errfd = -1;
		snprintf(err, errlen, "sandbox: %s", serr[0] ? serr : strerror(-r));
		return r;
	}
	fcntl(logp[0], F_SETFL, O_NONBLOCK);
	p->logfd = logp[0];
	p->loglen = p->reslen = 0;
	p->resline[0] = '\0';
	p->spawn_err[0] = p->kill_why[0] = '\0';
	p->replacing = 0;
	p->deadline_ms = 0;
	p->last_code = -1;
	p->last_signal = 0;
	p->started_ms = now_ms();
	watch(p, p->pidfd, &p->t_pid, K_PIDFD);
	watch(p, p->errfd, &p->t_err, K_ERRFD);
	watch(p, p->logfd, &p->t_log, K_LOGFD);
	if (resp[0] >= 0) {
		fcntl(resp[0], F_SETFL, O_NONBLOCK);
		p->resfd = resp[0];
		watch(p, p->resfd, &p->t_res, K_RESFD);
	}
	return 0;
}

static void spawn(struct sclient *c)
{
	char err[256] = "";
	if (spawn_proc(&c->a, err, sizeof(err))) {
		set_state(c, S_FAILED, "%s", err);
		c->start_at_ms = now_ms() + c->m->restart.backoff_max_ms;
		return;
	}
	set_state(c, S_STARTING, NULL);
}

static int hex_matches(const uint8_t *digest, const char *want)
{
	char hex[HASHCACHE_HEX_LEN];
	hashcache_hex(digest, hex);
	return strcmp(hex, want) == 0;
}

/* Check the executable against the manifest's SHA-256, then spawn. */
static void verify_and_start(struct sclient *c)
{
	const struct ward_manifest *m = c->m;
	struct stat st;
	uint8_t d[HASHCACHE_DIGEST_LEN];
	if (stat(c->exe, &st) || !S_ISREG(st.st_mode)) {
		set_state(c, S_FAILED, "executable %s: %s", m->executable,
			  errno ? strerror(errno) : "not a regular file");
		c->start_at_ms = now_ms() + m->restart.backoff_max_ms;
		return;
	}
	if (hashcache_lookup(&st, d) == 0) {
		if (hex_matches(d, m->sha256)) {
			spawn(c);
		} else {
			S.refused_hash++;
			set_state(c, S_FAILED, "the SHA-256 of %s is not the manifest's", m->executable);
			c->start_at_ms = now_ms() + m->restart.backoff_max_ms;
		}
		return;
	}
	c->cookie = SUP_COOKIE | ++S.next_cookie;
	int r = hashcache_submit_path(c->exe, st.st_dev, st.st_ino, c->cookie);
	if (r) {
		c->cookie = 0;
		set_state(c, S_BACKOFF, "cannot hash the executable now: %s", strerror(-r));
		c->start_at_ms = now_ms() + 1000;
		return;
	}
	set_state(c, S_VERIFYING, NULL);
}

/* ---- exits ---- */

static int crashes_in_window(struct sclient *c, uint64_t now)
{
	uint32_t n = c->m->restart.quarantine_after;
	uint64_t window = (uint64_t)c->m->restart.quarantine_window_s * 1000;
	int k = 0;
	for (uint32_t i = 0; i < n; i++)
		if (c->crash_ms[i] && now - c->crash_ms[i] <= window)
			k++;
	return k;
}

static void quarantine(struct sclient *c, const char *last)
{
	/* nothing may wait on it: its connections go, and with them its AUTH
	 * subscriptions (their pending requests take its defaults now) */
	broker_disconnect_manifest(c->m->name, "quarantined");
	if (c->a.cg_made)
		cg_kill_nowait(&c->a.cg);
	set_state(c, S_QUARANTINED, "%u crashes within %u s (last: %s)", c->m->restart.quarantine_after,
		  c->m->restart.quarantine_window_s, last);
}

/* A crash (or wardd's kill): quarantine, or back off and restart. */
static void crash(struct sclient *c, const char *what)
{
	uint64_t now = now_ms();
	c->crashes++;
	c->crash_ms[c->crash_next++ % c->m->restart.quarantine_after] = now;
	if ((uint32_t)crashes_in_window(c, now) >= c->m->restart.quarantine_after) {
		quarantine(c, what);
		return;
	}
	if (c->m->restart.policy == MANIFEST_RESTART_NEVER) {
		set_state(c, S_EXITED, "%s; restart policy never", what);
		return;
	}
	uint32_t b = c->backoff_ms;
	if (!b || (c->a.started_ms && now - c->a.started_ms >= HEALTHY_MS))
		b = c->m->restart.backoff_initial_ms;
	else
		b = b > c->m->restart.backoff_max_ms / 2 ? c->m->restart.backoff_max_ms : b * 2;
	c->backoff_ms = b;
	c->start_at_ms = now + b;
	set_state(c, S_BACKOFF, "%s; restart in %u ms", what, b);
}

/* How instance @p ended, into @what; whether that is a crash. */
static int ended(struct sproc *p, const siginfo_t *si, char *what, size_t len)
{
	unwatch(&p->pidfd);
	unwatch(&p->errfd);
	if (p->logfd >= 0)
		read_log(p);
	unwatch(&p->logfd);
	if (p->resfd >= 0)
		read_result(p);
	unwatch(&p->resfd);
	/* whatever it forked goes with it: a restart starts clean */
	if (p->cg_made)
		cg_kill_nowait(&p->cg);
	p->pid = 0;
	p->last_code = si->si_code == CLD_EXITED ? si->si_status : -1;
	p->last_signal = si->si_code == CLD_EXITED ? 0 : si->si_status;
	if (p->kill_why[0]) {
		snprintf(what, len, "killed by wardd: %s", p->kill_why);
		return 1;
	}
	if (p->spawn_err[0]) {
		snprintf(what, len, "could not start: %s", p->spawn_err);
		return 1;
	}
	if (si->si_code == CLD_EXITED) {
		snprintf(what, len, "exited with status %d", si->si_status);
		return si->si_status != 0;
	}
	snprintf(what, len, "killed by signal %d (%s)%s", si->si_status, strsignal(si->si_status),
		 si->si_status == SIGKILL ? ", maybe by its memory limit" :
		 si->si_status == SIGSYS ? ", a system call its seccomp filter does not allow" : "");
	return 1;
}

static void reaped(struct sproc *p, const siginfo_t *si)
{
	struct sclient *c = p->c;
	char what[192];
	int replacing = p->replacing;
	int crashed = ended(p, si, what, sizeof(what));
	if (p->role == R_SHADOW) {
		if (!replacing)
			content_shadow_exited(c->m->name, what);
		return;
	}
	if (p->role == R_VALIDATE) {
		if (replacing)
			return;
		int accepted = si->si_code == CLD_EXITED && si->si_status == 0 && !p->kill_why[0];
		char reason[CONTENT_REASON_MAX + 230];
		if (accepted || (si->si_code == CLD_EXITED && si->si_status == 65 && !p->kill_why[0]))
			snprintf(reason, sizeof(reason), "%s", p->resline[0] ? p->resline : what);
		else
			snprintf(reason, sizeof(reason), "the validator failed: %.190s%s%.200s", what,
				 p->resline[0] ? "; it said: " : "", p->resline);
		content_validated(c->m->name, accepted, reason);
		return;
	}
	snprintf(c->last_exit, sizeof(c->last_exit), "%s", what);
	if (replacing) {
		/* stopped for other content: back at once, not a crash */
		verify_and_start(c);
	} else if (crashed && c->m->content.trust && content_active_crashed(c->m->name, what)) {
		/* rolled back: its crashes were the content's, not its own */
		memset(c->crash_ms, 0, c->m->restart.quarantine_after * sizeof(uint64_t));
		c->backoff_ms = c->m->restart.backoff_initial_ms;
		c->start_at_ms = now_ms() + c->backoff_ms;
		set_state(c, S_BACKOFF, "%s; rolled back to its last-known-good content", what);
	} else if (crashed) {
		crash(c, what);
	} else if (c->m->restart.policy == MANIFEST_RESTART_ALWAYS) {
		c->backoff_ms = c->m->restart.backoff_initial_ms;
		c->start_at_ms = now_ms() + c->backoff_ms;
		set_state(c, S_BACKOFF, "%s; restart policy always", what);
	} else {
		set_state(c, S_EXITED, "%s", what);
	}
}

/* Kill instance @p (its cgroup). */
static void kill_proc(struct sproc *p)
{
	if (p->cg_made)
		cg_kill_nowait(&p->cg);
	else if (p->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
}

/* Kill a running client on purpose (it misbehaved): counted as a crash
 * when its exit arrives. */
static void kill_client(struct sclient *c, const char *why)
{
	if (c->state != S_RUNNING && c->state != S_STARTING)
		return;
	if (!c->a.kill_why[0])
		snprintf(c->a.kill_why, sizeof(c->a.kill_why), "%s", why);
	log_warnx("client %s: killing it: %s", c->m->name, why);
	kill_proc(&c->a);
}

void supervisor_on_event(void *tag, uint32_t events)
{
	struct tag *t = tag;
	struct sproc *p = t->p;
	struct sclient *c = p->c;
	(void)events;
	switch (t->kind) {
	case K_PIDFD: {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		if (waitid((idtype_t)3 /* P_PIDFD */, (id_t)p->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid)
			reaped(p, &si);
		break;
	}
	case K_ERRFD: {
		char buf[160];
		ssize_t n = read(p->errfd, buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			snprintf(p->spawn_err, sizeof(p->spawn_err), "%s", buf);
			log_warnx("client %s%s: sandbox set-up failed: %s", c->m->name, role_suffix[p->role],
				  p->spawn_err);
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			break;
		}
		/* EOF: execve succeeded (the pipe was close-on-exec) */
		unwatch(&p->errfd);
		if (p->role == R_ACTIVE && !p->spawn_err[0] && c->state == S_STARTING)
			set_state(c, S_RUNNING, NULL);
		break;
	}
	case K_LOGFD:
		read_log(p);
		break;
	case K_RESFD:
		read_result(p);
		break;
	}
}

/* ---- the content manager's instances (docs/content.md) ---- */

/* Start the shadow or the validator of client @name: 0 or -errno with
 * a message in @err. */
int supervisor_start_instance(const char *name, enum content_role role, uint32_t timeout_ms, char *err,
			      size_t errlen)
{
	struct sclient *c = by_name(name, strlen(name));
	if (!c || role == CONTENT_ACTIVE) {
		snprintf(err, errlen, "no such client");
		return -ENOENT;
	}
	struct sproc *p = inst(c, (enum role)role);
	if (p->pidfd >= 0) {
		snprintf(err, errlen, "already running");
		return -EBUSY;
	}
	if (c->state == S_QUARANTINED || c->state == S_DISABLED) {
		snprintf(err, errlen, "the client is %s", state_names[c->state]);
		return -EPERM;
	}
	int r = spawn_proc(p, err, errlen);
	if (!r)
		p->deadline_ms = timeout_ms ? now_ms() + timeout_ms : 0;
	return r;
}

/* Stop it (no news comes of its exit). */
void supervisor_stop_instance(const char *name, enum content_role role)
{
	struct sclient *c = by_name(name, strlen(name));
	if (!c)
		return;
	struct sproc *p = inst(c, (enum role)role);
	if (role != CONTENT_ACTIVE && p->pidfd >= 0) {
		p->replacing = 1;
		kill_proc(p);
	}
}

/* Restart the active instance on other content (not a crash). */
void supervisor_replace_active(const char *name, const char *why)
{
	struct sclient *c = by_name(name, strlen(name));
	if (!c || !c->m->enabled || c->state == S_QUARANTINED)
		return;
	log_info("client %s: restarting it: %s", name, why);
	if (c->a.pidfd >= 0) {
		c->a.replacing = 1;
		syscall(SYS_pidfd_send_signal, c->a.pidfd, SIGTERM, NULL, 0);
		c->a.deadline_ms = now_ms() + STOP_GRACE_MS; /* then SIGKILL */
	} else if (c->state == S_BACKOFF || c->state == S_EXITED || c->state == S_FAILED) {
		c->start_at_ms = now_ms();
		c->state = S_BACKOFF;
	}
}

/* CPU and memory of an instance, for the gates.  0 or -errno. */
int supervisor_instance_stats(const char *name, enum content_role role, struct cg_stats *st)
{
	struct sclient *c = by_name(name, strlen(name));
	if (!c)
		return -ENOENT;
	struct sproc *p = inst(c, (enum role)role);
	return p->cg_made ? cg_stats(&p->cg, st) : -ENOENT;
}

void supervisor_tick(void)
{
	uint64_t now = 0;
	for (size_t i = 0; i < S.n; i++) {
		struct sclient *c = &S.c[i];
		/* a validator past its time, an active instance that did not
		 * stop for its replacement */
		struct sproc *late[] = {&c->val, &c->a};
		for (size_t k = 0; k < 2; k++) {
			struct sproc *p = late[k];
			if (p->pidfd < 0 || !p->deadline_ms || (!now && !(now = now_ms())) || now < p->deadline_ms)
				continue;
			p->deadline_ms = 0;
			if (p->role == R_VALIDATE && !p->replacing)
				snprintf(p->kill_why, sizeof(p->kill_why), "did not finish within %u ms",
					 c->m->content.validate_timeout_ms);
			kill_proc(p);
		}
		if (c->state != S_BACKOFF && c->state != S_FAILED)
			continue;
		if (!now)
			now = now_ms();
		if (now < c->start_at_ms)
			continue;
		if (c->state == S_BACKOFF)
			c->restarts++;
		verify_and_start(c);
	}
}

/* What the manifest of @c grants. */
static void fill(struct sclient *c, struct broker_entitlements *e, int shadow)
{
	const struct ward_manifest *m = c->m;
	memset(e, 0, sizeof(*e));
	e->shadow = shadow; /* its verdicts are compared, never enforced */
	snprintf(e->manifest, sizeof(e->manifest), "%s", m->name);
	e->notify_mask = m->notify_mask;
	e->auth_mask = m->auth_mask;
	e->file_descriptors = m->file_descriptors;
	e->net_rules = m->net_rules;
	e->clear_cache = m->clear_cache;
	e->status = false;
	for (uint32_t t = 0; t < WARD_EV_MAX_; t++) {
		e->on_miss[t] = -1;
		if ((m->auth_mask >> t) & 1) {
			e->deadline_ms[t] = m->auth[t].deadline_ms;
			e->on_miss[t] = (int8_t)m->auth[t].on_miss;
		}
	}
}

int supervisor_on_hash(uint64_t cookie, int err, const uint8_t *digest)
{
	if (!(cookie & SUP_COOKIE) || (cookie & (1ull << 63)))
		return 0;
	for (size_t i = 0; i < S.n; i++) {
		struct sclient *c = &S.c[i];
		if (c->state != S_VERIFYING || c->cookie != cookie)
			continue;
		c->cookie = 0;
		if (err) {
			set_state(c, S_FAILED, "cannot hash %s: %s", c->m->executable, strerror(-err));
			c->start_at_ms = now_ms() + c->m->restart.backoff_max_ms;
		} else if (!hex_matches(digest, c->m->sha256)) {
			S.refused_hash++;
			set_state(c, S_FAILED, "the SHA-256 of %s is not the manifest's", c->m->executable);
			c->start_at_ms = now_ms() + c->m->restart.backoff_max_ms;
		} else {
			spawn(c);
		}
		return 1;
	}
	for (int i = 0; i < PENDING_MAX; i++) {
		if (S.pending[i].cookie != cookie)
			continue;
		struct sclient *c = S.pending[i].c;
		uint32_t id = S.pending[i].client_id;
		int shadow = S.pending[i].shadow;
		int pidfd = S.pending[i].pidfd;
		S.pending[i].cookie = 0;
		S.pending[i].pidfd = -1;
		int alive = pidfd < 0 || syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0;
		if (pidfd >= 0)
			close(pidfd);
		struct broker_entitlements ent;
		if (err || !alive || !hex_matches(digest, c->m->sha256)) {
			if (!err && alive)
				S.refused_hash++;
			broker_identified(id, -EACCES, NULL);
		} else if (c->state == S_QUARANTINED || !c->m->enabled) {
			S.refused_quarantined++;
			broker_identified(id, -EPERM, NULL);
		} else {
			fill(c, &ent, shadow);
			broker_identified(id, 0, &ent);
		}
		return 1;
	}
	return 1; /* ours, but nobody waits any more */
}

/* ---- identification ---- */

static int root_entitlements(struct broker_entitlements *e)
{
	memset(e, 0, sizeof(*e));
	memset(e->on_miss, -1, sizeof(e->on_miss));
	uint64_t all = ((1ull << WARD_EV_MAX_) - 1) & ~1ull;
	e->notify_mask = all;
	e->status = true;
	e->content_admin = true; /* root manages content; a registered client never */
	if (S.cfg.root_full) {
		e->auth_mask = (1ull << WARD_EV_AUTH_EXEC) | (1ull << WARD_EV_AUTH_OPEN);
		e->file_descriptors = e->net_rules = e->clear_cache = true;
	}
	return 0;
}

static struct sclient *by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < S.n; i++)
		if (strlen(S.c[i].m->name) == len && memcmp(S.c[i].m->name, name, len) == 0)
			return &S.c[i];
	return NULL;
}

/* The client name in "/<cgroup_base>/<name>[@role][/...]", process @pid's
 * cgroup v2 path (read into @cg), with its length in *@nlen and the
 * instance in *@role; NULL when @pid is in no client's cgroup. */
static const char *cgroup_client_name(pid_t pid, char *cg, size_t cglen, size_t *nlen, enum role *role)
{
	size_t blen = strlen(S.cfg.cgroup_base ? S.cfg.cgroup_base : "");
	if (!blen || cg_of_pid(pid, cg, cglen) || cg[0] != '/' || strncmp(cg + 1, S.cfg.cgroup_base, blen) ||
	    cg[1 + blen] != '/')
		return NULL;
	const char *name = cg + 2 + blen;
	size_t len = strcspn(name, "/");
	*nlen = strcspn(name, "/@");
	*role = R_ACTIVE;
	for (int r = R_SHADOW; r < R_MAX_ && *nlen < len; r++)
		if (len - *nlen == strlen(role_suffix[r]) && !memcmp(name + *nlen, role_suffix[r], len - *nlen))
			*role = (enum role)r;
	if (*nlen < len && *role == R_ACTIVE)
		return NULL; /* "@something else": nobody's */
	return name;
}

int supervisor_identify(uint32_t client_id, pid_t pid, uid_t uid, int pidfd, struct broker_entitlements *out)
{
	struct sclient *c = NULL;
	char path[64], exe[PATH_MAX], cg[512];
	if (pid <= 0)
		return uid == 0 ? root_entitlements(out) : -EACCES;
	/* 1. a process in a client's cgroup is that client (only root can
	 * move processes between them) */
	size_t nlen;
	enum role role = R_ACTIVE;
	const char *name = cgroup_client_name(pid, cg, sizeof(cg), &nlen, &role);
	if (name) {
		c = by_name(name, nlen);
		if (c && c->m->uid != uid)
			c = NULL;
		/* a validator only parses; a shadow only while there is one */
		if (c && (role == R_VALIDATE || (role == R_SHADOW && c->sh.pidfd < 0))) {
			S.refused_unregistered++;
			return -EACCES;
		}
	}
	if (!c)
		role = R_ACTIVE;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return uid == 0 ? root_entitlements(out) : -EACCES;
	exe[n] = '\0';
	/* 2. otherwise its user and executable */
	for (size_t i = 0; !c && i < S.n; i++)
		if (S.c[i].m->uid == uid && strcmp(S.c[i].exe, exe) == 0)
			c = &S.c[i];
	if (!c) {
		if (uid == 0)
			return root_entitlements(out);
		S.refused_unregistered++;
		return -EACCES;
	}
	if (strcmp(c->exe, exe)) {
		/* in the client's cgroup, but running something else */
		S.refused_unregistered++;
		return -EACCES;
	}
	if (c->state == S_QUARANTINED || !c->m->enabled) {
		S.refused_quarantined++;
		return -EPERM;
	}
	/* 3. the file it runs is the one the manifest names */
	struct stat st;
	uint8_t d[HASHCACHE_DIGEST_LEN];
	if (stat(path, &st))
		return -EACCES;
	if (hashcache_lookup(&st, d) == 0) {
		if (!hex_matches(d, c->m->sha256)) {
			S.refused_hash++;
			return -EACCES;
		}
		/* the pid still is the process that connected */
		if (pidfd >= 0 && syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0))
			return -ESRCH;
		fill(c, out, role == R_SHADOW);
		return 0;
	}
	int slot = -1;
	for (int i = 0; i < PENDING_MAX && slot < 0; i++)
		if (!S.pending[i].cookie)
			slot = i;
	if (slot < 0)
		return -EAGAIN;
	uint64_t cookie = SUP_COOKIE | ++S.next_cookie;
	if (hashcache_submit_path(path, st.st_dev, st.st_ino, cookie))
		return -EAGAIN;
	S.pending[slot].cookie = cookie;
	S.pending[slot].client_id = client_id;
	S.pending[slot].c = c;
	S.pending[slot].shadow = role == R_SHADOW;
	S.pending[slot].pidfd = pidfd >= 0 ? fcntl(pidfd, F_DUPFD_CLOEXEC, 0) : -1;
	return -EINPROGRESS;
}

void supervisor_conn_gone(const char *manifest, uint32_t client_id, pid_t pid, const char *why, int misbehaved,
			  const struct broker_conn_stats *st)
{
	(void)client_id;
	struct sclient *c = by_name(manifest, strlen(manifest));
	if (!c)
		return;
	if (!st->shadow) {
		c->past.delivered += st->delivered;
		c->past.lost += st->lost;
		c->past.verdicts += st->verdicts;
		c->past.deadlines_missed += st->deadlines_missed;
		c->past.muted += st->muted;
		if (st->mask) {
			c->last_mask = st->mask;
			update_hold();
		}
	}
	/* A client that broke the protocol or stopped answering is not left
	 * half-alive: it is restarted clean (or quarantined).  Only when the
	 * connection was the supervised process's own (in its cgroup): a copy
	 * started by hand does not cost the supervised one a crash.  A shadow
	 * is killed too, which its gates count as a crash. */
	char cg[512];
	size_t nlen;
	enum role role;
	const char *name = misbehaved && pid > 0 ? cgroup_client_name(pid, cg, sizeof(cg), &nlen, &role) : NULL;
	if (!name || by_name(name, nlen) != c || strchr(name + nlen, '/'))
		return;
	if (role == R_ACTIVE) {
		kill_client(c, why ? why : "misbehaved");
	} else if (role == R_SHADOW && c->sh.pidfd >= 0) {
		snprintf(c->sh.kill_why, sizeof(c->sh.kill_why), "%s", why ? why : "misbehaved");
		kill_proc(&c->sh);
	}
}

int supervisor_is_client_pid(pid_t pid)
{
	char cg[512];
	size_t nlen;
	enum role role;
	return cgroup_client_name(pid, cg, sizeof(cg), &nlen, &role) != NULL;
}

void supervisor_protect_paths(void)
{
	protect_add(S.cfg.clients_dir);
	for (size_t i = 0; i < S.n; i++) {
		protect_add(S.c[i].exe);
		protect_add(S.c[i].m->content_dir);
	}
}

/* ---- set-up and status ---- */

static void on_manifest_error(const char *msg, void *ctx)
{
	(void)ctx;
	S.manifest_errors++;
	snprintf(S.last_manifest_error, sizeof(S.last_manifest_error), "%s", msg);
	log_warnx("manifest skipped: %s", msg);
}

int supervisor_init(int epfd, const struct supervisor_cfg *cfg)
{
	S.epfd = epfd;
	S.cfg = *cfg;
	if (!S.cfg.clients_dir)
		S.cfg.clients_dir = MANIFEST_DEFAULT_DIR;
	if (!S.cfg.cgroup_base)
		S.cfg.cgroup_base = SUPERVISOR_DEFAULT_CGROUP;
	for (int i = 0; i < PENDING_MAX; i++)
		S.pending[i].pidfd = -1;
	sandbox_probe(&S.sbx);
	S.cg_ok = cg_detect(&S.env) == 0;
	struct stat dst;
	if (lstat(S.cfg.clients_dir, &dst) && errno == ENOENT) {
		log_info("no client manifests (%s does not exist)", S.cfg.clients_dir);
		return 0;
	}
	int r = manifest_load_dir(S.cfg.clients_dir, &S.set, on_manifest_error, NULL);
	if (r == -ENOENT) {
		/* no directory is no client, not an error */
		S.manifest_errors = 0;
		S.last_manifest_error[0] = '\0';
		log_info("no client manifests (%s does not exist)", S.cfg.clients_dir);
		return 0;
	}
	if (r < 0)
		return 0; /* reported; wardd runs without clients */
	S.c = calloc(S.set.n ? S.set.n : 1, sizeof(*S.c));
	if (!S.c)
		return -ENOMEM;
	S.n = S.set.n;
	for (size_t i = 0; i < S.n; i++) {
		struct sclient *c = &S.c[i];
		c->m = &S.set.m[i];
		for (int r = 0; r < R_MAX_; r++) {
			struct sproc *p = inst(c, (enum role)r);
			p->c = c;
			p->role = (enum role)r;
			p->pidfd = p->errfd = p->logfd = p->resfd = -1;
			p->last_code = -1;
		}
		if (c->m->content.trust)
			content_load(c->m);
		c->crash_ms = calloc(c->m->restart.quarantine_after, sizeof(uint64_t));
		if (!c->crash_ms)
			return -ENOMEM;
		/* Now, before any mark: the user database and the file system
		 * are read here once, never from the main loop. */
		struct passwd *pw = getpwuid(c->m->uid);
		c->gid = pw ? pw->pw_gid : (gid_t)c->m->uid;
		/* /proc/PID/exe names the file, links resolved: compare that */
		if (!realpath(c->m->executable, c->exe))
			snprintf(c->exe, sizeof(c->exe), "%s", c->m->executable);
	}
	log_info("%zu client manifests loaded from %s (%u skipped); cgroups: %s; landlock ABI %d; seccomp %s",
		 S.n, S.cfg.clients_dir, S.manifest_errors,
		 !S.cg_ok ? "none" : S.env.mode == CG_V2 ? "v2" : S.env.mode == CG_HYBRID ? "hybrid (v1 resources, v2 identity)" : "v1 only",
		 S.sbx.landlock_abi, S.sbx.seccomp ? "yes" : "no");
	for (size_t i = 0; i < S.n; i++) {
		struct sclient *c = &S.c[i];
		size_t ls = strlen(c->m->state_dir), lc = strlen(c->m->content_dir);
		if (!c->m->enabled) {
			set_state(c, S_DISABLED, "enabled: false in its manifest");
		} else if ((!strncmp(c->m->content_dir, c->m->state_dir, ls) &&
			    (c->m->content_dir[ls] == '/' || !c->m->content_dir[ls])) ||
			   (!strncmp(c->m->state_dir, c->m->content_dir, lc) && c->m->state_dir[lc] == '/')) {
			/* the client writes its state directory: it must not
			 * hold (or be) the directory wardd keeps read-only */
			set_state(c, S_FAILED, "content_dir and state_dir must not be inside one another");
			c->start_at_ms = UINT64_MAX;
		} else {
			/* now, so that self-protection (set up next) finds the
			 * content directory there to protect */
			int r = make_dirs(c->m->state_dir, c->m->uid, c->gid, 0700);
			if (!r)
				r = make_dirs(c->m->content_dir, 0, 0, 0755);
			if (r) {
				set_state(c, S_FAILED, "its directories: %s", strerror(-r));
				c->start_at_ms = now_ms() + c->m->restart.backoff_max_ms;
			} else {
				verify_and_start(c);
			}
		}
	}
	return 0;
}

void supervisor_status(struct json_object *o)
{
	struct json_object *sup = json_object_new_object();
	json_object_object_add(sup, "clients_dir", json_object_new_string(S.cfg.clients_dir ? S.cfg.clients_dir : ""));
	json_object_object_add(sup, "cgroup_base", json_object_new_string(S.cfg.cgroup_base ? S.cfg.cgroup_base : ""));
	json_object_object_add(sup, "cgroups",
			       json_object_new_string(!S.cg_ok ? "none" : S.env.mode == CG_V2 ? "v2" : S.env.mode == CG_HYBRID ? "hybrid" : "v1"));
	json_object_object_add(sup, "landlock_abi", json_object_new_int(S.sbx.landlock_abi));
	json_object_object_add(sup, "seccomp", json_object_new_boolean(S.sbx.seccomp));
	json_object_object_add(sup, "unregistered_root", json_object_new_string(S.cfg.root_full ? "full" : "events_and_status"));
	json_object_object_add(sup, "manifest_errors", json_object_new_uint64(S.manifest_errors));
	if (S.manifest_errors)
		json_object_object_add(sup, "last_manifest_error", json_object_new_string(S.last_manifest_error));
	json_object_object_add(sup, "refused_unregistered", json_object_new_uint64(S.refused_unregistered));
	json_object_object_add(sup, "refused_quarantined", json_object_new_uint64(S.refused_quarantined));
	json_object_object_add(sup, "refused_sha256", json_object_new_uint64(S.refused_hash));
	struct json_object *arr = json_object_new_array();
	uint64_t now = now_ms();
	for (size_t i = 0; i < S.n; i++) {
		struct sclient *c = &S.c[i];
		struct json_object *j = json_object_new_object();
		json_object_object_add(j, "name", json_object_new_string(c->m->name));
		json_object_object_add(j, "state", json_object_new_string(state_names[c->state]));
		if (c->reason[0])
			json_object_object_add(j, "reason", json_object_new_string(c->reason));
		json_object_object_add(j, "pid", json_object_new_int64(c->a.pid));
		json_object_object_add(j, "uid", json_object_new_int64(c->m->uid));
		json_object_object_add(j, "restarts", json_object_new_uint64(c->restarts));
		if (c->last_exit[0])
			json_object_object_add(j, "last_exit", json_object_new_string(c->last_exit));
		json_object_object_add(j, "crashes", json_object_new_uint64(c->crashes));
		if (c->state == S_BACKOFF || c->state == S_FAILED)
			json_object_object_add(j, "restart_in_ms",
					       json_object_new_uint64(c->start_at_ms > now ? c->start_at_ms - now : 0));
		if (c->state == S_RUNNING)
			json_object_object_add(j, "uptime_ms", json_object_new_uint64(now - c->a.started_ms));
		struct broker_conn_stats live;
		int conns = broker_manifest_stats(c->m->name, &live);
		json_object_object_add(j, "connections", json_object_new_int(conns));
		json_object_object_add(j, "delivered", json_object_new_uint64(c->past.delivered + live.delivered));
		json_object_object_add(j, "drops", json_object_new_uint64(c->past.lost + live.lost));
		json_object_object_add(j, "verdicts", json_object_new_uint64(c->past.verdicts + live.verdicts));
		json_object_object_add(j, "deadlines_missed",
				       json_object_new_uint64(c->past.deadlines_missed + live.deadlines_missed));
		struct cg_stats cs;
		if (c->a.cg_made && cg_stats(&c->a.cg, &cs) == 0) {
			json_object_object_add(j, "cpu_usage_ns", json_object_new_uint64(cs.cpu_usage_ns));
			json_object_object_add(j, "memory_bytes", json_object_new_uint64(cs.memory_bytes));
			json_object_object_add(j, "memory_max", json_object_new_uint64(cs.memory_max));
			json_object_object_add(j, "pids", json_object_new_uint64(cs.pids));
			json_object_object_add(j, "pids_max", json_object_new_uint64(cs.pids_max));
			json_object_object_add(j, "oom_kills", json_object_new_uint64(cs.oom_kills));
		}
		json_object_array_add(arr, j);
	}
	json_object_object_add(sup, "clients", arr);
	json_object_object_add(o, "supervisor", sup);
}

void supervisor_stop(void)
{
	uint64_t deadline = now_ms() + STOP_GRACE_MS;
	int running = 0;
	for (size_t i = 0; i < S.n; i++)
		for (int r = 0; r < R_MAX_; r++)
			if (inst(&S.c[i], (enum role)r)->pidfd >= 0) {
				syscall(SYS_pidfd_send_signal, inst(&S.c[i], (enum role)r)->pidfd, SIGTERM, NULL, 0);
				running++;
			}
	while (running && now_ms() < deadline) {
		running = 0;
		for (size_t i = 0; i < S.n; i++) {
			for (int r = 0; r < R_MAX_; r++) {
				struct sproc *p = inst(&S.c[i], (enum role)r);
				siginfo_t si;
				memset(&si, 0, sizeof(si));
				if (p->pidfd < 0)
					continue;
				if (waitid((idtype_t)3, (id_t)p->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid)
					unwatch(&p->pidfd);
				else
					running++;
			}
		}
		if (running)
			usleep(20000);
	}
	for (size_t i = 0; i < S.n; i++) {
		struct sclient *c = &S.c[i];
		for (int r = 0; r < R_MAX_; r++) {
			struct sproc *p = inst(c, (enum role)r);
			if (p->cg_made) {
				cg_kill(&p->cg); /* waits, bounded (2 s) */
				for (int k = 0; p->pidfd >= 0 && k < 100; k++) {
					siginfo_t si;
					memset(&si, 0, sizeof(si));
					if (waitid((idtype_t)3, (id_t)p->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid)
						break;
					usleep(10000);
				}
				for (int k = 0; k < 50 && cg_destroy(&p->cg) == -EBUSY; k++)
					usleep(10000);
			}
			unwatch(&p->pidfd);
			unwatch(&p->errfd);
			unwatch(&p->logfd);
			unwatch(&p->resfd);
		}
		free(c->crash_ms);
	}
	for (int i = 0; i < PENDING_MAX; i++)
		if (S.pending[i].pidfd >= 0)
			close(S.pending[i].pidfd);
	if (S.cg_ok && S.n)
		cg_remove_base(&S.env, S.cfg.cgroup_base);
	free(S.c);
	S.c = NULL;
	S.n = 0;
	manifest_set_free(&S.set);
}
