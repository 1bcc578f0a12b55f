/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wardd.c — the broker's entry point and event loop.
 *
 * Order: parse options → seed the process table from /proc → load and attach
 * the sensors (taking over those a killed wardd left pinned) → the journal,
 * the control socket, the supervisor and its clients, self-protection →
 * sd_notify READY → loop on epoll (sensor ring, fanotify, control socket,
 * clients, supervised processes, signals).
 *
 * Sensors are pinned in --pin-dir (default /sys/fs/bpf/ward): after a crash
 * they keep recording, and the next wardd takes them over and reads on
 * where the last one stopped.  SIGINT/SIGTERM unpin and detach everything,
 * so a clean stop leaves nothing of ward in the kernel.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <linux/magic.h>

#include <ward/ward.h>
#include "auth.h"
#include "broker.h"
#include "content.h"
#include "hashcache.h"
#include "journal.h"
#include "log.h"
#include "netpolicy.h"
#include "pipeline.h"
#include "protect.h"
#include "proctable.h"
#include "sensors.h"
#include "manifest.h"
#include "supervisor.h"
#include "wire.h"

#define POLL_MS 5 /* sensors wake wardd only in bulk; catch stragglers this often */

static struct {
	const char *runtime_dir;
	const char *scope;
	const char *backend;
	const char *pin_dir; /* NULL: pin nothing */
	int pin_dir_given;
	uint32_t ring_mb;
	uint32_t client_ring_kb;
	time_t started;
	const char *mute_cgroups[16];
	int n_mute_cgroups;
	uint32_t mute_pids[64];
	int n_mute_pids;
	struct auth_config auth;
	uint32_t hash_max_mb;
	struct broker_auth_cfg bauth;
	struct supervisor_cfg sup;
	uint32_t journal_mb;
	int self_protection;
	uint32_t resume_grace_s;
	struct json_object *kernel; /* probed once at start */
} opt;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: wardd [options]\n"
		"  -r, --runtime-dir DIR   sockets go here (default $WARD_RUNTIME_DIR or %s)\n"
		"  -c, --cgroup DIR        report only tasks under this cgroup v2 directory\n"
		"  -R, --ring-mb N         kernel ring buffer size in MiB (power of two, default 16)\n"
		"  -C, --client-ring-kb N  each client's ring in KiB (power of two, default 8192)\n"
		"  -b, --backend B         syscall sensors: auto (default), tp (a tracepoint per\n"
		"                          watched syscall) or raw (one dispatcher, no tracefs)\n"
		"      --pin-dir DIR       bpffs dir: sensors outlive a crash (/sys/fs/bpf/ward; none: off)\n"
		"  -m, --mute-cgroup DIR   never report tasks in this cgroup v2 directory (repeatable)\n"
		"  -p, --mute-pid PID      never report this process (repeatable)\n"
		"AUTH (fanotify permission events; default: the root filesystem):\n"
		"      --auth-fs PATH      ask about files on the filesystem holding PATH (repeatable)\n"
		"      --auth-mount PATH   ask about files under the mount at PATH (repeatable)\n"
		"      --auth-dir DIR      ask about the files directly in DIR (repeatable)\n"
		"      --auth-deadline-ms N      a client's time per request when it names none (1000)\n"
		"      --auth-deadline-max-ms N  the most a client may ask for (10000, at most 10000)\n"
		"      --auth-strikes N    missed deadlines in a minute that disconnect a client (5)\n"
		"      --auth-max-pending N  requests in flight; beyond, --auth-overflow decides (4096)\n"
		"      --auth-overflow V   allow (default) or deny\n"
		"      --hash-max-mb N     executables larger than this get no SHA-256 (64)\n"
		"      --journal-mb N      recent events kept for clients that resume, in\n"
		"                          RUNTIME_DIR/journal (power of two, default 64; 0: none)\n"
		"      --resume-grace-s N  after a restart, keep the previous subscriptions this long (30)\n"
		"Self-protection (docs/self-protection.md):\n"
		"      --protect PATH      also deny writes to this file or directory (repeatable)\n"
		"      --self-protection on|off  (on)\n"
		"Clients (docs/supervisor.md):\n"
		"      --clients-dir DIR   client manifests (default %s)\n"
		"      --client-cgroup NAME  cgroup directory of the clients under each hierarchy (%s)\n"
		"      --unregistered-root M  what a root process no manifest names may do: events\n"
		"                          (NOTIFY events and status: `ward events`, `ward status`; the\n"
		"                          default) or full (everything: development and tests only)\n"
		"  -v, --verbose           debug logging\n"
		"  -h, --help\n"
		"wardd runs in the foreground; as a service, systemd's Type=notify is supported.\n",
		WARD_DEFAULT_RUNTIME_DIR, MANIFEST_DEFAULT_DIR, SUPERVISOR_DEFAULT_CGROUP);
}

static int is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static uint32_t number(const char *s, unsigned long lo, unsigned long hi, const char *what)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		fatalx("%s needs a number from %lu to %lu", what, lo, hi);
	return (uint32_t)v;
}

static void parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
		{"runtime-dir", required_argument, NULL, 'r'}, {"cgroup", required_argument, NULL, 'c'},
		{"ring-mb", required_argument, NULL, 'R'},     {"client-ring-kb", required_argument, NULL, 'C'},
		{"backend", required_argument, NULL, 'b'},     {"mute-cgroup", required_argument, NULL, 'm'}, {"mute-pid", required_argument, NULL, 'p'},
		{"verbose", no_argument, NULL, 'v'},           {"help", no_argument, NULL, 'h'},
		{"auth-fs", required_argument, NULL, 1},       {"auth-mount", required_argument, NULL, 2},
		{"auth-dir", required_argument, NULL, 3},      {"auth-deadline-ms", required_argument, NULL, 4},
		{"auth-deadline-max-ms", required_argument, NULL, 5}, {"auth-strikes", required_argument, NULL, 6},
		{"auth-max-pending", required_argument, NULL, 7}, {"auth-overflow", required_argument, NULL, 8},
		{"hash-max-mb", required_argument, NULL, 9},
		{"clients-dir", required_argument, NULL, 10}, {"client-cgroup", required_argument, NULL, 11},
		{"unregistered-root", required_argument, NULL, 12},
		{"journal-mb", required_argument, NULL, 13}, {"resume-grace-s", required_argument, NULL, 14},
		{"protect", required_argument, NULL, 15}, {"self-protection", required_argument, NULL, 16},
		{"pin-dir", required_argument, NULL, 17},
		{NULL, 0, NULL, 0}};
	const char *env = getenv("WARD_RUNTIME_DIR");
	opt.runtime_dir = env && *env ? env : WARD_DEFAULT_RUNTIME_DIR;
	opt.ring_mb = 16;
	opt.pin_dir = "/sys/fs/bpf/ward";
	opt.client_ring_kb = 8192;
	opt.hash_max_mb = 64;
	opt.journal_mb = 64;
	opt.self_protection = 1;
	opt.resume_grace_s = 30;
	opt.bauth = (struct broker_auth_cfg){.deadline_ms = 1000, .deadline_max_ms = 10000, .strikes = 5};
	opt.auth = (struct auth_config){.max_pending = 4096, .overflow_verdict = WARD_VERDICT_ALLOW,
					.deny_cache_ms = 2000, .kernel_cache_max = 16384};
	int c;
	while ((c = getopt_long(argc, argv, "r:c:R:C:b:m:p:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'r': opt.runtime_dir = optarg; break;
		case 'c': opt.scope = optarg; break;
		case 'R': opt.ring_mb = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'C': opt.client_ring_kb = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'b': opt.backend = optarg; break;
		case 17:
			opt.pin_dir = strcmp(optarg, "none") ? optarg : NULL;
			opt.pin_dir_given = 1;
			break;
		case 'm':
			if (opt.n_mute_cgroups == 16)
				fatalx("at most 16 --mute-cgroup");
			opt.mute_cgroups[opt.n_mute_cgroups++] = optarg;
			break;
		case 'p': {
			char *end;
			unsigned long pid = strtoul(optarg, &end, 10);
			if (*end || pid == 0 || pid > UINT32_MAX || opt.n_mute_pids == 64)
				fatalx("--mute-pid needs a process id (at most 64 of them)");
			opt.mute_pids[opt.n_mute_pids++] = (uint32_t)pid;
			break;
		}
		case 1: case 2: case 3: {
			const char **list = c == 1 ? opt.auth.fs : c == 2 ? opt.auth.mounts : opt.auth.dirs;
			int *n = c == 1 ? &opt.auth.n_fs : c == 2 ? &opt.auth.n_mounts : &opt.auth.n_dirs;
			if (*n == AUTH_MAX_MARKS)
				fatalx("at most %d of each --auth-fs, --auth-mount, --auth-dir", AUTH_MAX_MARKS);
			list[(*n)++] = optarg;
			break;
		}
		case 4: opt.bauth.deadline_ms = number(optarg, 1, 10000, "--auth-deadline-ms"); break;
		case 5: opt.bauth.deadline_max_ms = number(optarg, 1, 10000, "--auth-deadline-max-ms"); break;
		case 6: opt.bauth.strikes = number(optarg, 1, 1000000, "--auth-strikes"); break;
		case 7: opt.auth.max_pending = number(optarg, 16, 65536, "--auth-max-pending"); break;
		case 8:
			if (strcmp(optarg, "allow") && strcmp(optarg, "deny"))
				fatalx("--auth-overflow is allow or deny");
			opt.auth.overflow_verdict = strcmp(optarg, "deny") == 0;
			break;
		case 9: opt.hash_max_mb = number(optarg, 1, 65536, "--hash-max-mb"); break;
		case 10: opt.sup.clients_dir = optarg; break;
		case 11:
			if (!*optarg || strchr(optarg, '/') || !strcmp(optarg, ".") || !strcmp(optarg, ".."))
				fatalx("--client-cgroup is one directory name");
			opt.sup.cgroup_base = optarg;
			break;
		case 13:
			opt.journal_mb = number(optarg, 0, 4096, "--journal-mb");
			if (opt.journal_mb && !is_pow2(opt.journal_mb))
				fatalx("--journal-mb must be 0 or a power of two");
			break;
		case 14: opt.resume_grace_s = number(optarg, 0, 3600, "--resume-grace-s"); break;
		case 15:
			if (optarg[0] != '/')
				fatalx("--protect needs an absolute path");
			protect_add(optarg);
			break;
		case 16:
			if (strcmp(optarg, "on") && strcmp(optarg, "off"))
				fatalx("--self-protection is on or off");
			opt.self_protection = strcmp(optarg, "on") == 0;
			break;
		case 12:
			if (strcmp(optarg, "events") && strcmp(optarg, "full"))
				fatalx("--unregistered-root is events or full");
			opt.sup.root_full = strcmp(optarg, "full") == 0;
			break;
		case 'v': log_verbose = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind != argc) {
		usage(stderr);
		exit(2);
	}
	if (opt.bauth.deadline_ms > opt.bauth.deadline_max_ms)
		opt.bauth.deadline_ms = opt.bauth.deadline_max_ms;
	if (!is_pow2(opt.ring_mb) || opt.ring_mb > 1024)
		fatalx("--ring-mb must be a power of two up to 1024");
	if (!is_pow2(opt.client_ring_kb) || opt.client_ring_kb < 64 || opt.client_ring_kb > 262144)
		fatalx("--client-ring-kb must be a power of two from 64 to 262144");
}

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. */
static void sd_notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !*path)
		return;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	if (len >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@'))
		return;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	const char msg[] = "READY=1\nSTATUS=watching";
	if (sendto(fd, msg, sizeof(msg) - 1, 0, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		log_warn("sd_notify");
	close(fd);
}

/* The processes every client mutes: the sensors' map holds exactly these
 * and the --mute-pid ones. */
static uint32_t pushed_pids[256];
static size_t npushed;

static struct json_object *status_json(void)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_string(WARD_VERSION));
	json_object_object_add(o, "pid", json_object_new_int64(getpid()));
	json_object_object_add(o, "uptime_s", json_object_new_int64(time(NULL) - opt.started));
	json_object_object_add(o, "runtime_dir", json_object_new_string(opt.runtime_dir));
	json_object_object_add(o, "scope_cgroup", opt.scope ? json_object_new_string(opt.scope) : NULL);
	json_object_object_add(o, "kernel", json_object_get(opt.kernel));
	struct json_object *sensors = json_object_new_object();
	sensors_status(sensors);
	json_object_object_add(o, "sensors", sensors);
	broker_status(o);
	auth_status(o);
	json_object_object_add(o, "kernel_muted_pids", json_object_new_uint64(npushed));
	struct json_object *hc = json_object_new_object();
	hashcache_status(hc);
	json_object_object_add(o, "sha256_cache", hc);
	struct json_object *np = json_object_new_object();
	netpolicy_status(np);
	json_object_object_add(o, "net_policy", np);
	pipeline_status(o);
	journal_status(o);
	if (opt.self_protection)
		protect_status(o);
	supervisor_status(o);
	content_status(o, NULL);
	return o;
}

static void on_mask(uint64_t mask)
{
	/* self-protection watches signals, ptrace and bpf() whoever subscribed */
	int err = sensors_set_mask(mask | (opt.self_protection ? protect_sensor_mask() : 0));
	if (err)
		log_warnx("registering sensors for the new subscriptions: %s", strerror(-err));
	else
		log_debug("subscribed types now %#llx", (unsigned long long)mask);
}


static int configured_pid(uint32_t pid)
{
	for (int i = 0; i < opt.n_mute_pids; i++)
		if (opt.mute_pids[i] == pid)
			return 1;
	return 0;
}

static void on_pids(const uint32_t *pids, size_t n)
{
	for (size_t i = 0; i < npushed; i++) {
		size_t k = 0;
		while (k < n && pids[k] != pushed_pids[i])
			k++;
		if (k == n && !configured_pid(pushed_pids[i]))
			sensors_unmute_pid(pushed_pids[i]);
	}
	if (n > sizeof(pushed_pids) / sizeof(pushed_pids[0]))
		n = sizeof(pushed_pids) / sizeof(pushed_pids[0]);
	for (size_t k = 0; k < n; k++)
		if (sensors_mute_pid(pids[k]))
			log_warnx("muting pid %u in the kernel failed", pids[k]);
	memcpy(pushed_pids, pids, n * sizeof(*pids));
	npushed = n;
}

/* A start that fails after the sensors came up: sensors a killed wardd left
 * stay pinned for the next one (their records are not lost); our own go. */
static void sensors_abandon(void)
{
	if (sensors_taken_over())
		sensors_release();
	else
		sensors_stop();
}

static int add_fd(int epfd, int fd, void *tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int tag_ring, tag_signal, tag_fanotify, tag_netpolicy, tag_hash;

/* The hash worker's results: exec events waiting in the pipeline, or
 * AUTH_EXEC requests waiting in auth.c. */
static void on_hash_results(void)
{
	uint64_t cookie;
	int err;
	uint8_t digest[HASHCACHE_DIGEST_LEN];
	while (hashcache_take(&cookie, &err, digest) == 1)
		if (!pipeline_on_hash(cookie, err, digest) && !supervisor_on_hash(cookie, err, digest))
			auth_on_hash(cookie, err, digest);
}

static void run(int epfd, int sfd)
{
	struct epoll_event evs[64];
	struct timespec last_sync;
	unsigned ticks = 0;
	clock_gettime(CLOCK_MONOTONIC, &last_sync);
	for (;;) {
		int n = epoll_wait(epfd, evs, 64, POLL_MS);
		if (n < 0 && errno != EINTR)
			fatal("epoll_wait");
		for (int i = 0; i < n; i++) {
			void *tag = evs[i].data.ptr;
			if (tag == &tag_signal) {
				struct signalfd_siginfo si;
				if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
					log_info("signal %u from pid %u: stopping", si.ssi_signo, si.ssi_pid);
					return;
				}
			} else if (tag == &tag_fanotify) {
				/* the sensors first: an exec just before a request
				 * must be in the process table the request draws on */
				if (!pipeline_parked())
					sensors_consume();
				auth_on_event();
			} else if (tag == &tag_hash) {
				on_hash_results();
			} else if (tag == &tag_netpolicy) {
				netpolicy_poll(pipeline_on_net_enforce, NULL);
			} else if (supervisor_owns(tag)) {
				supervisor_on_event(tag, evs[i].events);
			} else if (content_owns(tag)) {
				content_on_event(tag, evs[i].events);
			} else if (tag != &tag_ring) {
				broker_on_event(tag, evs[i].events);
			}
		}
		/* The ring is read every turn: bulk wake-ups and the timeout
		 * both end up here. */
		pipeline_new_turn();
		/* an exec waiting for its digest holds everything after it */
		int got = pipeline_parked() ? 0 : sensors_consume();
		if (got < 0 && got != -EINTR && got != -EAGAIN /* budget spent */)
			log_warnx("ring buffer: %s", strerror(-got));
		broker_flush();
		auth_tick();
		supervisor_tick();
		content_tick();
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - last_sync.tv_sec >= 1) {
			pipeline_sync_clock();
			journal_check();
			broker_tick();
			if (++ticks % 30 == 0)
				proctable_sweep();
			last_sync = now;
		}
	}
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	opt.started = time(NULL);
	if (geteuid() != 0)
		fatalx("wardd must run as root (it loads BPF programs)");
	/* BPF maps are charged to memlock on older kernels. */
	struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
	setrlimit(RLIMIT_MEMLOCK, &rl);
	/* each client holds four descriptors: use all the kernel allows us */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || epfd < 0)
		fatal("signalfd/epoll");

	if (proctable_init())
		fatalx("out of memory");
	pipeline_init();
	int seeded = proctable_seed();

	if (mkdir(opt.runtime_dir, 0755) && errno != EEXIST)
		fatal("mkdir %s", opt.runtime_dir);
	/* pinning needs bpffs; without it (and without --pin-dir) run unpinned */
	if (opt.pin_dir && !opt.pin_dir_given) {
		struct statfs sf;
		if (statfs("/sys/fs/bpf", &sf) || sf.f_type != BPF_FS_MAGIC) {
			log_warnx("/sys/fs/bpf is not bpffs: sensors are not pinned, a crash of wardd loses events");
			opt.pin_dir = NULL;
		}
	}
	struct sensors_opts so = {.scope_cgroup = opt.scope, .ring_bytes = opt.ring_mb << 20,
				  .backend = opt.backend, .scratch_dir = opt.runtime_dir, .pin_dir = opt.pin_dir};
	int err = sensors_start(&so, pipeline_on_record, NULL);
	if (err)
		fatalx("cannot start the sensors: %s", strerror(-err));
	for (int i = 0; i < opt.n_mute_cgroups; i++)
		if ((err = sensors_mute_cgroup(opt.mute_cgroups[i]))) {
			sensors_abandon();
			fatalx("--mute-cgroup %s: %s", opt.mute_cgroups[i], strerror(-err));
		}
	for (int i = 0; i < opt.n_mute_pids; i++)
		if ((err = sensors_mute_pid(opt.mute_pids[i]))) {
			sensors_abandon();
			fatalx("--mute-pid %u: %s", opt.mute_pids[i], strerror(-err));
		}
	opt.kernel = json_object_new_object();
	sensors_probe_kernel(opt.kernel);

	if ((err = hashcache_init(0, (uint64_t)opt.hash_max_mb << 20)))
		fatalx("SHA-256 cache: %s", strerror(-err));
	if (add_fd(epfd, hashcache_done_fd(), &tag_hash))
		fatal("epoll_ctl");
	if ((err = auth_init(epfd, &tag_fanotify, &opt.auth)))
		log_warnx("no AUTH_EXEC/AUTH_OPEN: fanotify: %s", strerror(-err));
	/* Network rules apply where wardd reports: its scope, or everywhere. */
	const char *np_cg = opt.scope ? opt.scope : proc_cgroup2_root;
	if (!np_cg[0] || (err = netpolicy_start(np_cg)))
		log_warnx("no AUTH_CONNECT/AUTH_BIND: cgroup-bpf on %s: %s", np_cg[0] ? np_cg : "(no cgroup v2)",
			  strerror(np_cg[0] ? -err : ENOENT));
	else if (add_fd(epfd, netpolicy_epoll_fd(), &tag_netpolicy))
		fatal("epoll_ctl");
	broker_set_status_fn(status_json);
	broker_set_pids_fn(on_pids);
	if (opt.journal_mb) {
		char jpath[4200];
		snprintf(jpath, sizeof(jpath), "%s/%s", opt.runtime_dir, JOURNAL_FILE);
		if ((err = journal_open(jpath, (uint64_t)opt.journal_mb << 20)))
			log_warnx("no journal (%s): clients cannot resume", strerror(-err));
		else if (journal_continued())
			pipeline_set_global_seq(journal_seq_hwm());
	}
	broker_set_identify_fn(supervisor_identify);
	broker_set_gone_fn(supervisor_conn_gone);
	err = broker_init(epfd, opt.runtime_dir, (uint64_t)opt.client_ring_kb << 10, on_mask, &opt.bauth);
	if (err) {
		sensors_abandon();
		fatalx("cannot open the control socket in %s: %s", opt.runtime_dir, strerror(-err));
	}
	if (add_fd(epfd, sensors_epoll_fd(), &tag_ring) || add_fd(epfd, sfd, &tag_signal)) {
		sensors_abandon();
		fatal("epoll_ctl");
	}
	/* the previous wardd's clients' events go on being journaled until
	 * they are back */
	uint64_t inherited = journal_saved_mask() | sensors_inherited_mask();
	if (inherited) {
		log_info("keeping the previous subscriptions (%#llx) for %u s", (unsigned long long)inherited,
			 opt.resume_grace_s);
		broker_inherit_mask(inherited, opt.resume_grace_s);
	}
	opt.sup.runtime_dir = opt.runtime_dir;
	if ((err = content_init(epfd)))
		log_warnx("content worker: %s (no content can be installed)", strerror(-err));
	if ((err = supervisor_init(epfd, &opt.sup))) {
		broker_shutdown();
		auth_stop();
		sensors_abandon();
		fatalx("supervisor: %s", strerror(-err));
	}
	if (opt.self_protection) {
		/* ward's files: its executable, manifests, clients' executables
		 * and content, the journal.  Marked after wardd has read them:
		 * its main thread never opens a file it would have to answer
		 * for itself. */
		char self[4096];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n > 0) {
			self[n] = '\0';
			protect_add(self);
		}
		supervisor_protect_paths();
		char jpath[4200];
		snprintf(jpath, sizeof(jpath), "%s/%s", opt.runtime_dir, JOURNAL_FILE);
		if (journal_active())
			protect_add(jpath);
		protect_set_client_fn(supervisor_is_client_pid);
		int k = auth_protect();
		if (k < 0)
			log_warnx("self-protection: no fanotify, ward's files are not protected");
		else
			log_info("self-protection: %d files and directories protected", k);
		on_mask(broker_mask());
	}
	log_info("ready: %d processes known, socket %s/%s%s%s", seeded, opt.runtime_dir, WARD_SOCK_NAME,
		 opt.scope ? ", scope " : "", opt.scope ? opt.scope : "");
	sd_notify_ready();

	run(epfd, sfd);

	broker_shutdown();
	auth_stop();
	supervisor_stop();
	content_stop();
	netpolicy_stop();
	hashcache_free();
	journal_close(false); /* kept: clients resume from it after a restart */
	sensors_stop();
	json_object_put(opt.kernel);
	proctable_free();
	log_info("stopped; every program detached");
	return 0;
}
