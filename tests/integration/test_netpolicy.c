/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_netpolicy.c — the kernel-enforced network policy (daemon/netpolicy.c,
 * bpf/netpolicy.bpf.c) on the real kernel, without wardd: the module is
 * attached to a fresh cgroup v2 directory, children moved into it try
 * connect() and bind(), and the test checks the errno they get and the
 * enforcement records.  The test process itself stays outside the cgroup
 * (its listeners and its own connects must not be judged).
 *
 * Safety: every wait is bounded; the module is stopped and the cgroups
 * removed by the group teardown, at exit, and by the SIGALRM safety net
 * (the BPF links are fd-owned, so even a killed test leaves nothing
 * attached).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <json-c/json.h>

#include <cmocka.h>

#include "cgtest.h"
#include "netpolicy.h"

#define CHILD_TIMEOUT_MS 10000
#define RECORD_TIMEOUT_MS 5000
#define C1 1 /* client ids */
#define C2 2
#define C3 3

static struct {
	pid_t main_pid;
	char cg[PATH_MAX];       /* the attached test cgroup */
	char sub[PATH_MAX + 8];  /* a child cgroup of it, for scoped rules */
	uint64_t cg_id, sub_id;
	int lfd4, lfd6;          /* TCP listeners on 127.0.0.1 and ::1 */
	uint16_t port4, port6;
	bool have_v6;
} T = {.lfd4 = -1, .lfd6 = -1};

/* Enforcement records read so far (cleared before each test). */
static struct wk_net_enforce recs[512];
static int nrecs;

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- cleanup (also from the alarm handler: async-signal-safe calls only) ---- */

static void remove_cgroups(void)
{
	cgtest_remove(T.sub, T.cg);
}

static void cleanup(void)
{
	if (getpid() != T.main_pid)
		return; /* a forked child exiting */
	netpolicy_stop();
	remove_cgroups();
	T.sub[0] = T.cg[0] = '\0';
	if (T.lfd4 >= 0)
		close(T.lfd4);
	if (T.lfd6 >= 0)
		close(T.lfd6);
	T.lfd4 = T.lfd6 = -1;
}

static void on_alarm(int sig)
{
	static const char msg[] = "test_netpolicy: timed out\n";
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	/* the links die with the process; the cgroups would not */
	remove_cgroups();
	_exit(2);
}

/* ---- addresses, listeners ---- */

static socklen_t make_addr(struct sockaddr_storage *ss, int family, const char *ip, uint16_t port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;
		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		if (inet_pton(AF_INET, ip, &s->sin_addr) != 1)
			return 0;
		return sizeof(*s);
	}
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
	s->sin6_family = AF_INET6;
	s->sin6_port = htons(port);
	if (inet_pton(AF_INET6, ip, &s->sin6_addr) != 1)
		return 0;
	return sizeof(*s);
}

/* A non-blocking TCP listener on @ip, port chosen by the kernel. */
static int listener(int family, const char *ip, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(&ss, family, ip, 0);
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len)) {
		close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/* Accept and close whatever connected (keeps the backlog from filling). */
static void drain(void)
{
	int fds[2] = {T.lfd4, T.lfd6};
	for (int i = 0; i < 2; i++) {
		int c;
		while (fds[i] >= 0 && (c = accept(fds[i], NULL, NULL)) >= 0)
			close(c);
	}
}

/* A port nobody listens on now (bind to port 0, read it, let go). */
static uint16_t free_port(void)
{
	uint16_t port = 0;
	int fd = listener(AF_INET, "127.0.0.1", &port);
	if (fd >= 0)
		close(fd);
	return port;
}

static uint64_t dir_id(const char *dir)
{
	struct stat st;
	return stat(dir, &st) ? 0 : (uint64_t)st.st_ino;
}

/* ---- children ---- */

enum op { OP_CONNECT, OP_BIND };

struct act {
	enum op op;
	int family;
	int type;       /* SOCK_STREAM, SOCK_DGRAM */
	const char *ip;
	uint16_t port;
};

/* In the child: the syscall; 0 or its errno.  200 and up: setup failed. */
static int do_act(const struct act *a)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(&ss, a->family, a->ip, a->port);
	if (!len)
		return 201;
	int fd = socket(a->family, a->type, 0);
	if (fd < 0)
		return 202;
	int r = a->op == OP_CONNECT ? connect(fd, (struct sockaddr *)&ss, len)
				    : bind(fd, (struct sockaddr *)&ss, len);
	int err = r ? errno : 0;
	close(fd);
	return err;
}

/*
 * Fork a child that moves itself into cgroup @cg (NULL: stays where the test
 * process is, outside the attached cgroup) before making its socket, then
 * does @a.  Waits at most CHILD_TIMEOUT_MS.  Returns the child's errno (0 =
 * allowed), or -1 when the child could not be run; the child's pid goes to
 * *@pidp when not NULL.
 */
static int run_in(const char *cg, const struct act *a, pid_t *pidp)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		signal(SIGALRM, SIG_DFL);
		alarm(0);
		if (cg) {
			char procs[PATH_MAX + 32];
			snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
			int fd = open(procs, O_WRONLY | O_CLOEXEC);
			if (fd < 0 || write(fd, "0", 1) != 1)
				_exit(220);
			close(fd);
		}
		_exit(do_act(a));
	}
	if (pidp)
		*pidp = pid;
	int st = 0;
	for (long t0 = now_ms();;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 || now_ms() - t0 > CHILD_TIMEOUT_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			fprintf(stderr, "child %d timed out\n", (int)pid);
			return -1;
		}
		usleep(2000);
	}
	drain();
	if (!WIFEXITED(st) || WEXITSTATUS(st) >= 200) {
		fprintf(stderr, "child %d failed to run (status 0x%x)\n", (int)pid, st);
		return -1;
	}
	return WEXITSTATUS(st);
}

static int tcp4(const char *cg, pid_t *pid)
{
	struct act a = {OP_CONNECT, AF_INET, SOCK_STREAM, "127.0.0.1", T.port4};
	return run_in(cg, &a, pid);
}

/* ---- records ---- */

static int collect(void *ctx, const struct wk_net_enforce *e)
{
	if (nrecs < (int)(sizeof(recs) / sizeof(recs[0])))
		recs[nrecs++] = *e;
	return 0;
}

/* The record of process @pid, waiting up to RECORD_TIMEOUT_MS; NULL if none. */
static const struct wk_net_enforce *wait_record(pid_t pid)
{
	struct pollfd p = {.fd = netpolicy_epoll_fd(), .events = POLLIN};
	for (long t0 = now_ms();;) {
		if (netpolicy_poll(collect, NULL) < 0)
			return NULL;
		for (int i = 0; i < nrecs; i++)
			if (recs[i].tgid == (uint32_t)pid)
				return &recs[i];
		long left = RECORD_TIMEOUT_MS - (now_ms() - t0);
		if (left <= 0)
			return NULL;
		poll(&p, 1, left > 100 ? 100 : (int)left);
	}
}

/* Records of @pid already written (the programs write before the syscall
 * returns, so after the child exited there is nothing more to wait for). */
static int records_of(pid_t pid)
{
	int n = 0;
	assert_true(netpolicy_poll(collect, NULL) >= 0);
	for (int i = 0; i < nrecs; i++)
		n += recs[i].tgid == (uint32_t)pid;
	return n;
}

static void assert_record(const struct wk_net_enforce *e, uint32_t rule_id, uint32_t client, uint32_t type,
			  pid_t pid, uint64_t cg_id, int family, const char *ip, uint16_t port, int proto)
{
	uint8_t addr[16] = {0};
	char comm[16] = "";
	struct timespec ts;
	assert_non_null(e);
	assert_int_equal(e->rule_id, rule_id);
	assert_int_equal(e->client_id, client);
	assert_int_equal(e->type, type);
	assert_int_equal(e->tgid, pid);
	assert_int_equal(e->tid, pid);
	assert_int_equal(e->uid, getuid());
	assert_int_equal(e->gid, getgid());
	assert_int_equal(e->cgroup_id, cg_id);
	assert_int_equal(e->family, family);
	assert_int_equal(e->port, port);
	assert_int_equal(e->protocol, proto);
	assert_int_equal(e->sock_type, proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM);
	assert_int_equal(inet_pton(family, ip, addr), 1);
	assert_memory_equal(e->addr, addr, 16);
	prctl(PR_GET_NAME, comm); /* the child's, inherited */
	assert_string_equal(e->comm, comm);
	clock_gettime(CLOCK_BOOTTIME, &ts);
	assert_true(e->ktime > 0);
	assert_true(e->ktime <= (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
}

/* ---- rules ---- */

static struct netpolicy_rule rule(uint32_t type, int family, const char *ip, int plen, int proto, uint16_t lo,
				  uint16_t hi)
{
	struct netpolicy_rule r = {
		.type = type, .family = (uint16_t)family, .prefix_len = (uint8_t)plen,
		.protocol = (uint8_t)proto, .port_lo = lo, .port_hi = hi,
	};
	if (inet_pton(family, ip, r.addr) != 1)
		fail_msg("bad address %s in a test rule", ip);
	return r;
}

static uint32_t add_ok(const struct netpolicy_rule *r, uint32_t client)
{
	uint32_t id = 0;
	assert_int_equal(netpolicy_add(r, client, &id), 0);
	assert_int_not_equal(id, 0);
	return id;
}

/* One value of netpolicy_status. */
static int64_t status_int(const char *key)
{
	struct json_object *o = json_object_new_object(), *v;
	int64_t n = -1;
	netpolicy_status(o);
	if (json_object_object_get_ex(o, key, &v))
		n = json_object_get_int64(v);
	json_object_put(o);
	return n;
}

/* Hits of rule @id in netpolicy_status, -1 if it is not listed. */
static int64_t rule_hits(uint32_t id)
{
	struct json_object *o = json_object_new_object(), *a, *h, *v;
	int64_t n = -1;
	netpolicy_status(o);
	if (json_object_object_get_ex(o, "rule_hits", &a))
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			h = json_object_array_get_idx(a, i);
			if (json_object_object_get_ex(h, "id", &v) && json_object_get_int64(v) == id &&
			    json_object_object_get_ex(h, "hits", &v))
				n = json_object_get_int64(v);
		}
	json_object_put(o);
	return n;
}

/* Programs attached directly to the test cgroup for @type. */
static int attached(enum bpf_attach_type type)
{
	uint32_t cnt = 0;
	int fd = open(T.cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int err = bpf_prog_query(fd, type, 0, NULL, NULL, &cnt);
	close(fd);
	return err ? -1 : (int)cnt;
}

/* ---- tests ---- */

static void test_attached_outside(void **state)
{
	static const enum bpf_attach_type types[] = {BPF_CGROUP_INET4_CONNECT, BPF_CGROUP_INET6_CONNECT,
						     BPF_CGROUP_INET4_BIND, BPF_CGROUP_INET6_BIND};
	for (int i = 0; i < 4; i++)
		assert_int_equal(attached(types[i]), 1);
	/* the test process is not in the attached cgroup */
	char line[PATH_MAX + 8] = "";
	FILE *f = fopen("/proc/self/cgroup", "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "0::", 3) == 0)
			break;
	fclose(f);
	assert_null(strstr(line, "ward-np-test-"));
	assert_int_equal(netpolicy_start(T.cg), -EALREADY);
	assert_true(netpolicy_epoll_fd() >= 0);
}

static void test_allowed_without_rules(void **state)
{
	pid_t pid;
	assert_int_equal(netpolicy_rule_count(), 0);
	assert_int_equal(tcp4(T.cg, &pid), 0);
	assert_int_equal(records_of(pid), 0);
	struct act b = {OP_BIND, AF_INET, SOCK_STREAM, "127.0.0.1", 0};
	assert_int_equal(run_in(T.cg, &b, &pid), 0);
	struct act u = {OP_CONNECT, AF_INET, SOCK_DGRAM, "127.0.0.1", T.port4};
	assert_int_equal(run_in(T.cg, &u, NULL), 0);
	assert_int_equal(status_int("enforcements"), 0);
}

static void test_connect_denied(void **state)
{
	pid_t pid;
	struct netpolicy_rule r = rule(WK_NP_CONNECT, AF_INET, "127.0.0.0", 8, 0, T.port4, T.port4);
	int64_t before = status_int("enforcements");
	uint32_t id = add_ok(&r, C1);
	assert_int_equal(netpolicy_rule_count(), 1);

	assert_int_equal(tcp4(T.cg, &pid), EPERM);
	assert_record(wait_record(pid), id, C1, WK_NP_CONNECT, pid, T.cg_id, AF_INET, "127.0.0.1", T.port4,
		      IPPROTO_TCP);
	assert_int_equal(status_int("enforcements"), before + 1);
	assert_int_equal(rule_hits(id), 1);
	assert_int_equal(status_int("drops"), 0);

	/* below the attached cgroup: judged as well */
	assert_int_equal(tcp4(T.sub, &pid), EPERM);
	assert_record(wait_record(pid), id, C1, WK_NP_CONNECT, pid, T.sub_id, AF_INET, "127.0.0.1", T.port4,
		      IPPROTO_TCP);

	/* outside it: not affected — a child left where the test is, and the
	 * test process itself */
	assert_int_equal(tcp4(NULL, &pid), 0);
	assert_int_equal(records_of(pid), 0);
	struct sockaddr_storage ss;
	socklen_t len = make_addr(&ss, AF_INET, "127.0.0.1", T.port4);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	close(fd);
	drain();
	assert_int_equal(rule_hits(id), 2);
}

static void test_misses_are_allowed(void **state)
{
	pid_t pid;
	uint16_t p = T.port4;
	struct netpolicy_rule rs[] = {
		rule(WK_NP_CONNECT, AF_INET, "127.0.0.1", 32, 0, p + 1, p + 10),       /* port range */
		rule(WK_NP_CONNECT, AF_INET, "127.0.0.1", 32, 0, 0, p - 1),            /* port range */
		rule(WK_NP_CONNECT, AF_INET, "10.0.0.0", 8, 0, 0, 65535),              /* prefix */
		rule(WK_NP_CONNECT, AF_INET, "127.0.0.2", 32, 0, 0, 65535),            /* address */
		rule(WK_NP_CONNECT, AF_INET, "127.0.0.1", 32, IPPROTO_UDP, p, p),      /* protocol */
		rule(WK_NP_BIND, AF_INET, "127.0.0.1", 32, 0, p, p),                   /* type */
		rule(WK_NP_CONNECT, AF_INET6, "::1", 128, 0, 0, 65535),                /* family */
		rule(WK_NP_CONNECT, AF_INET6, "::ffff:127.0.0.1", 128, 0, 0, 65535),   /* family */
	};
	uint32_t ids[8];
	for (int i = 0; i < 8; i++)
		ids[i] = add_ok(&rs[i], C1);
	assert_int_equal(tcp4(T.cg, &pid), 0);
	assert_int_equal(records_of(pid), 0);

	/* the UDP rule is live: a UDP connect to the same place is denied */
	struct act u = {OP_CONNECT, AF_INET, SOCK_DGRAM, "127.0.0.1", p};
	assert_int_equal(run_in(T.cg, &u, &pid), EPERM);
	assert_record(wait_record(pid), ids[4], C1, WK_NP_CONNECT, pid, T.cg_id, AF_INET, "127.0.0.1", p,
		      IPPROTO_UDP);
	/* /0 with any port: everything IPv4 */
	struct netpolicy_rule all = rule(WK_NP_CONNECT, AF_INET, "0.0.0.0", 0, 0, 0, 65535);
	uint32_t id = add_ok(&all, C1);
	assert_int_equal(tcp4(T.cg, &pid), EPERM);
	assert_int_equal(wait_record(pid)->rule_id, id);
}

static void test_ipv6(void **state)
{
	pid_t pid;
	if (!T.have_v6)
		skip();
	struct act a = {OP_CONNECT, AF_INET6, SOCK_STREAM, "::1", T.port6};
	assert_int_equal(run_in(T.cg, &a, &pid), 0);
	/* an IPv4 rule for everything does not touch ::1 */
	struct netpolicy_rule all4 = rule(WK_NP_CONNECT, AF_INET, "0.0.0.0", 0, 0, 0, 65535);
	add_ok(&all4, C1);
	assert_int_equal(run_in(T.cg, &a, &pid), 0);

	struct netpolicy_rule r = rule(WK_NP_CONNECT, AF_INET6, "::1", 128, IPPROTO_TCP, T.port6, T.port6);
	uint32_t id = add_ok(&r, C1);
	assert_int_equal(run_in(T.cg, &a, &pid), EPERM);
	assert_record(wait_record(pid), id, C1, WK_NP_CONNECT, pid, T.cg_id, AF_INET6, "::1", T.port6,
		      IPPROTO_TCP);
	assert_int_equal(netpolicy_remove(id, C1), 0);
	/* a prefix that covers ::1 */
	struct netpolicy_rule r64 = rule(WK_NP_CONNECT, AF_INET6, "::", 64, 0, 0, 65535);
	id = add_ok(&r64, C1);
	assert_int_equal(run_in(T.cg, &a, &pid), EPERM);
	assert_int_equal(wait_record(pid)->rule_id, id);
}

static void test_ipv4_mapped(void **state)
{
	pid_t pid;
	if (!T.have_v6)
		skip();
	/* an IPv6 socket reaching 127.0.0.1: allowed without rules */
	struct act a = {OP_CONNECT, AF_INET6, SOCK_STREAM, "::ffff:127.0.0.1", T.port4};
	assert_int_equal(run_in(T.cg, &a, &pid), 0);

	/* denied by the IPv4 rule, through connect6 */
	struct netpolicy_rule r = rule(WK_NP_CONNECT, AF_INET, "127.0.0.1", 32, IPPROTO_TCP, T.port4, T.port4);
	uint32_t id = add_ok(&r, C1);
	assert_int_equal(run_in(T.cg, &a, &pid), EPERM);
	assert_record(wait_record(pid), id, C1, WK_NP_CONNECT, pid, T.cg_id, AF_INET6, "::ffff:127.0.0.1",
		      T.port4, IPPROTO_TCP);
	assert_int_equal(netpolicy_remove(id, C1), 0);
	assert_int_equal(run_in(T.cg, &a, &pid), 0);

	/* and by an IPv6 rule for the mapped range */
	struct netpolicy_rule r6 = rule(WK_NP_CONNECT, AF_INET6, "::ffff:0.0.0.0", 96, 0, 0, 65535);
	id = add_ok(&r6, C1);
	assert_int_equal(run_in(T.cg, &a, &pid), EPERM);
	assert_int_equal(wait_record(pid)->rule_id, id);
	/* which is not plain IPv4 */
	assert_int_equal(tcp4(T.cg, &pid), 0);
}

static void test_bind_denied(void **state)
{
	pid_t pid;
	uint16_t p = free_port();
	assert_int_not_equal(p, 0);
	struct netpolicy_rule r = rule(WK_NP_BIND, AF_INET, "127.0.0.1", 32, 0, p, p);
	uint32_t id = add_ok(&r, C1);

	struct act b = {OP_BIND, AF_INET, SOCK_STREAM, "127.0.0.1", p};
	assert_int_equal(run_in(T.cg, &b, &pid), EPERM);
	assert_record(wait_record(pid), id, C1, WK_NP_BIND, pid, T.cg_id, AF_INET, "127.0.0.1", p, IPPROTO_TCP);
	struct act bu = {OP_BIND, AF_INET, SOCK_DGRAM, "127.0.0.1", p};
	assert_int_equal(run_in(T.cg, &bu, &pid), EPERM);
	assert_record(wait_record(pid), id, C1, WK_NP_BIND, pid, T.cg_id, AF_INET, "127.0.0.1", p, IPPROTO_UDP);

	/* another port, and connects: allowed */
	struct act b0 = {OP_BIND, AF_INET, SOCK_STREAM, "127.0.0.1", 0};
	assert_int_equal(run_in(T.cg, &b0, &pid), 0);
	assert_int_equal(tcp4(T.cg, &pid), 0);
	/* outside the cgroup: allowed */
	assert_int_equal(run_in(NULL, &b, &pid), 0);

	if (T.have_v6) {
		/* ::1 is not 127.0.0.1; ::ffff:127.0.0.1 is (bind6) */
		struct act b6 = {OP_BIND, AF_INET6, SOCK_STREAM, "::1", p};
		assert_int_equal(run_in(T.cg, &b6, &pid), 0);
		struct act bm = {OP_BIND, AF_INET6, SOCK_STREAM, "::ffff:127.0.0.1", p};
		assert_int_equal(run_in(T.cg, &bm, &pid), EPERM);
		assert_record(wait_record(pid), id, C1, WK_NP_BIND, pid, T.cg_id, AF_INET6, "::ffff:127.0.0.1", p,
			      IPPROTO_TCP);
	}
}

static void test_remove(void **state)
{
	pid_t pid;
	struct netpolicy_rule r = rule(WK_NP_CONNECT, AF_INET, "127.0.0.1", 32, 0, 0, 65535);
	uint32_t id = add_ok(&r, C1);
	assert_int_equal(tcp4(T.cg, &pid), EPERM);
	assert_int_equal(netpolicy_remove(id, C2), -EPERM);
	assert_int_equal(tcp4(T.cg, &pid), EPERM);
	assert_int_equal(netpolicy_remove(id, C1), 0);
	assert_int_equal(netpolicy_rule_count(), 0);
	assert_int_equal(tcp4(T.cg, &pid), 0);
	assert_int_equal(netpolicy_remove(id, C1), -ENOENT);
	assert_int_equal(netpolicy_remove(0, C1), -ENOENT);
	assert_int_equal(netpolicy_remove(0xfffffff0u, C1), -ENOENT);
	/* a new rule in the freed slot gets a new id */
	uint32_t id2 = add_ok(&r, C1);
	assert_true(id2 > id);
	assert_int_equal(tcp4(T.cg, &pid), EPERM);
	assert_int_equal(wait_record(pid)->rule_id, id2);
	assert_int_equal(rule_hits(id2), 1);
}

static void test_remove_client(void **state)
{
	pid_t pid;
	uint16_t p = free_port();
	struct netpolicy_rule rc = rule(WK_NP_CONNECT, AF_INET, "127.0.0.1", 32, 0, T.port4, T.port4);
	struct netpolicy_rule rb = rule(WK_NP_BIND, AF_INET, "127.0.0.1", 32, 0, p, p);
	struct netpolicy_rule other = rule(WK_NP_CONNECT, AF_INET, "10.0.0.0", 8, 0, 0, 65535);
	add_ok(&rc, C1);
	add_ok(&rb, C1);
	uint32_t id2 = add_ok(&other, C2);
	assert_int_equal(netpolicy_rule_count(), 3);
	assert_int_equal(tcp4(T.cg, &pid), EPERM);

	netpolicy_remove_client(C1);
	assert_int_equal(netpolicy_rule_count(), 1);
	assert_int_equal(status_int("rules"), 1);
	assert_int_equal(tcp4(T.cg, &pid), 0);
	struct act b = {OP_BIND, AF_INET, SOCK_STREAM, "127.0.0.1", p};
	assert_int_equal(run_in(T.cg, &b, &pid), 0);
	netpolicy_remove_client(C1); /* nothing left: harmless */
	assert_int_equal(netpolicy_remove(id2, C1), -EPERM);
	assert_int_equal(netpolicy_remove(id2, C2), 0);
	assert_int_equal(netpolicy_rule_count(), 0);
}

static void test_bad_rules(void **state)
{
	pid_t pid;
	uint32_t id = 0, last;
	struct netpolicy_rule good = rule(WK_NP_CONNECT, AF_INET, "127.0.0.1", 32, 0, T.port4, T.port4);
	last = add_ok(&good, C1);
	assert_int_equal(netpolicy_remove(last, C1), 0);

	struct netpolicy_rule bad[16];
	int n = 0;
#define BAD(field, value) (bad[n] = good, bad[n].field = value, n++)
	BAD(type, 0);
	BAD(type, 27);
	BAD(type, 30);
	BAD(family, 0);
	BAD(family, AF_UNIX);
	BAD(prefix_len, 33);
	BAD(protocol, 1);   /* ICMP */
	BAD(protocol, 255);
	BAD(port_lo, (uint16_t)(T.port4 + 1)); /* lo > hi */
	BAD(addr[4], 1);    /* IPv4 rule with bytes past the address */
#undef BAD
	struct netpolicy_rule v6 = rule(WK_NP_CONNECT, AF_INET6, "::1", 128, 0, 0, 65535);
	bad[n] = v6;
	bad[n++].prefix_len = 129;
	for (int i = 0; i < n; i++) {
		id = 77;
		assert_int_equal(netpolicy_add(&bad[i], C1, &id), -EINVAL);
		assert_int_equal(id, 77);
		assert_int_equal(netpolicy_rule_count(), 0);
	}
	assert_int_equal(netpolicy_add(NULL, C1, &id), -EINVAL);
	assert_int_equal(netpolicy_add(&good, C1, NULL), -EINVAL);
	/* a cgroup id that names nothing */
	struct netpolicy_rule nocg = good;
	nocg.cgroup_id = 0x7ffffffffff0ull;
	assert_int_equal(netpolicy_add(&nocg, C1, &id), -ENOENT);
	assert_int_equal(netpolicy_rule_count(), 0);
	assert_int_equal(status_int("rules"), 0);
	assert_int_equal(tcp4(T.cg, &pid), 0);
	/* failures used no id */
	id = add_ok(&good, C1);
	assert_int_equal(id, last + 1);
	/* host bits past the prefix are dropped, not an error */
	struct netpolicy_rule host = rule(WK_NP_CONNECT, AF_INET, "127.1.2.3", 8, 0, T.port4, T.port4);
	assert_int_equal(netpolicy_remove(id, C1), 0);
	id = add_ok(&host, C1);
	assert_int_equal(tcp4(T.cg, &pid), EPERM);
}

static void test_full_table(void **state)
{
	pid_t pid;
	uint32_t id = 0;
	/* 255 rules that never match, then one that does: found in the last
	 * slot (the programs scan the whole table) */
	for (int i = 0; i < WK_NP_MAX_RULES - 1; i++) {
		char ip[32];
		snprintf(ip, sizeof(ip), "10.9.%d.%d", i / 250, i % 250 + 1);
		struct netpolicy_rule r = rule(WK_NP_CONNECT, AF_INET, ip, 32, 0, 0, 65535);
		add_ok(&r, C3);
	}
	assert_int_equal(tcp4(T.cg, &pid), 0);
	struct netpolicy_rule last = rule(WK_NP_CONNECT, AF_INET, "127.0.0.1", 32, 0, 0, 65535);
	uint32_t lid = add_ok(&last, C3);
	assert_int_equal(netpolicy_rule_count(), WK_NP_MAX_RULES);
	assert_int_equal(netpolicy_add(&last, C3, &id), -ENOSPC);
	assert_int_equal(tcp4(T.cg, &pid), EPERM);
	assert_int_equal(wait_record(pid)->rule_id, lid);
	netpolicy_remove_client(C3);
	assert_int_equal(netpolicy_rule_count(), 0);
	assert_int_equal(tcp4(T.cg, &pid), 0);
}

static void test_cgroup_scoped(void **state)
{
	pid_t pid;
	struct netpolicy_rule r = rule(WK_NP_CONNECT, AF_INET, "127.0.0.1", 32, 0, T.port4, T.port4);
	r.cgroup_id = T.sub_id;
	uint32_t id = add_ok(&r, C1);
	assert_int_equal(tcp4(T.cg, &pid), 0);   /* the attached cgroup, above the rule's */
	assert_int_equal(records_of(pid), 0);
	assert_int_equal(tcp4(T.sub, &pid), EPERM);
	assert_record(wait_record(pid), id, C1, WK_NP_CONNECT, pid, T.sub_id, AF_INET, "127.0.0.1", T.port4,
		      IPPROTO_TCP);
	assert_int_equal(tcp4(NULL, &pid), 0);
	assert_int_equal(netpolicy_remove(id, C1), 0);

	/* scoped to the attached cgroup: also its child */
	r.cgroup_id = T.cg_id;
	id = add_ok(&r, C1);
	assert_int_equal(tcp4(T.sub, &pid), EPERM);
	assert_int_equal(tcp4(T.cg, &pid), EPERM);
	assert_int_equal(netpolicy_remove(id, C1), 0);

	/* the root cgroup (id 1, level 0): everyone the programs see */
	r.cgroup_id = 1;
	id = add_ok(&r, C1);
	assert_int_equal(tcp4(T.cg, &pid), EPERM);
	assert_int_equal(wait_record(pid)->rule_id, id);
}

static void spin_us(long us)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t);
	while ((t.tv_sec - t0.tv_sec) * 1000000 + (t.tv_nsec - t0.tv_nsec) / 1000 < us);
}

/* What test_concurrent_updates learns from the records. */
struct race {
	uint32_t first_a;      /* A ids are first_a, first_a + 2, ... */
	uint32_t last_id;
	long denied, wrong;
};

static int race_check(void *ctx, const struct wk_net_enforce *e)
{
	struct race *r = ctx;
	r->denied++;
	if (e->rule_id < r->first_a || e->rule_id > r->last_id || (e->rule_id - r->first_a) % 2 != 0)
		r->wrong++;
	return 0;
}

/*
 * Rules change while a child keeps connecting: rule A (matches) and rule B
 * (does not) take turns in the same slot.  A program must never use a rule
 * half-written: every denial must name an A rule, never a B.
 */
static void test_concurrent_updates(void **state)
{
	struct netpolicy_rule a = rule(WK_NP_CONNECT, AF_INET, "127.0.0.1", 32, 0, T.port4, T.port4);
	struct netpolicy_rule b = rule(WK_NP_CONNECT, AF_INET, "127.0.0.2", 32, IPPROTO_TCP, 1, 2);
	struct race race = {0};
	int go[2];
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* UDP connects: no handshake, no backlog to fill */
		struct act u = {OP_CONNECT, AF_INET, SOCK_DGRAM, "127.0.0.1", T.port4};
		char procs[PATH_MAX + 32], c;
		signal(SIGALRM, SIG_DFL);
		alarm(0);
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", T.cg);
		int fd = open(procs, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "0", 1) != 1)
			_exit(220);
		close(fd);
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(221);
		int err = 0;
		for (long t0 = now_ms(); now_ms() - t0 < 300 && (err == 0 || err == EPERM);)
			err = do_act(&u);
		_exit(err == 0 || err == EPERM ? 0 : 222);
	}
	close(go[0]);
	/* A and B take turns in slot 0; a rule that never matches holds slot
	 * 1, so that the programs keep scanning slot 0 while it changes.  Ids
	 * from here: first_a (removed), keeper, then A, B, A, B...: the A's
	 * are first_a + 2k. */
	struct netpolicy_rule keeper = rule(WK_NP_BIND, AF_INET, "10.0.0.1", 32, 0, 0, 65535);
	race.first_a = add_ok(&a, C1);
	race.last_id = race.first_a;
	add_ok(&keeper, C2);
	assert_int_equal(netpolicy_remove(race.first_a, C1), 0);
	assert_int_equal(write(go[1], "g", 1), 1);
	close(go[1]);
	int st = 0, rounds = 0;
	for (long t0 = now_ms(); waitpid(pid, &st, WNOHANG) == 0; rounds++) {
		if (now_ms() - t0 > CHILD_TIMEOUT_MS) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			fail_msg("racing child timed out");
		}
		/* each in force for a few microseconds, so that the child's
		 * connects meet both rules and the changes between them */
		uint32_t ida = add_ok(&a, C1);
		spin_us(20);
		assert_int_equal(netpolicy_remove(ida, C1), 0);
		uint32_t idb = add_ok(&b, C1);
		spin_us(20);
		assert_int_equal(netpolicy_remove(idb, C1), 0);
		race.last_id = ida; /* the B after it can never be named */
		assert_true(netpolicy_poll(race_check, &race) >= 0);
	}
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_true(netpolicy_poll(race_check, &race) >= 0);
	fprintf(stderr, "%d rule changes, %ld denials seen, %lld lost\n", rounds * 4, race.denied,
		(long long)status_int("drops"));
	assert_int_equal(race.wrong, 0);
	assert_true(race.denied > 0);
}

/* Last: stop detaches everything; a failed start leaves nothing; a restart
 * starts empty and still never reuses an id. */
static void test_stop_and_restart(void **state)
{
	static const enum bpf_attach_type types[] = {BPF_CGROUP_INET4_CONNECT, BPF_CGROUP_INET6_CONNECT,
						     BPF_CGROUP_INET4_BIND, BPF_CGROUP_INET6_BIND};
	pid_t pid;
	uint32_t id = 0;
	struct netpolicy_rule r = rule(WK_NP_CONNECT, AF_INET, "127.0.0.1", 32, 0, 0, 65535);
	uint32_t old = add_ok(&r, C1);
	assert_int_equal(tcp4(T.cg, &pid), EPERM);

	netpolicy_stop();
	netpolicy_stop(); /* twice: harmless */
	for (int i = 0; i < 4; i++)
		assert_int_equal(attached(types[i]), 0);
	assert_int_equal(tcp4(T.cg, &pid), 0);
	assert_int_equal(netpolicy_add(&r, C1, &id), -ENODEV);
	assert_int_equal(netpolicy_remove(old, C1), -ENODEV);
	assert_int_equal(netpolicy_poll(collect, NULL), -ENODEV);
	assert_int_equal(netpolicy_epoll_fd(), -1);
	assert_int_equal(status_int("rules"), 0);

	assert_int_equal(netpolicy_start("/nonexistent-ward-np"), -ENOENT);
	assert_int_equal(netpolicy_start("/tmp"), -EINVAL);  /* not cgroup v2 */
	assert_int_equal(netpolicy_start(NULL), -EINVAL);
	for (int i = 0; i < 4; i++)
		assert_int_equal(attached(types[i]), 0);

	assert_int_equal(netpolicy_start(T.cg), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(attached(types[i]), 1);
	assert_int_equal(netpolicy_rule_count(), 0);
	assert_int_equal(tcp4(T.cg, &pid), 0);
	uint32_t nid = add_ok(&r, C1);
	assert_true(nid > old);
	assert_int_equal(tcp4(T.cg, &pid), EPERM);
	assert_int_equal(wait_record(pid)->rule_id, nid);
}

/* ---- setup ---- */

static int test_setup(void **state)
{
	nrecs = 0;
	return netpolicy_poll(collect, NULL) < 0 ? -1 : (nrecs = 0, 0);
}

/* Whatever a test left (also after a failed assertion). */
static int test_teardown(void **state)
{
	netpolicy_remove_client(C1);
	netpolicy_remove_client(C2);
	netpolicy_remove_client(C3);
	return netpolicy_rule_count() == 0 ? 0 : -1;
}

static int group_setup(void **state)
{
	T.main_pid = getpid();
	signal(SIGALRM, on_alarm);
	alarm(100); /* meson's timeout is 120 s */
	atexit(cleanup);
	char name[64];
	snprintf(name, sizeof(name), "ward-np-test-%d", (int)getpid());
	if (cgtest_make("test_netpolicy", name, "sub", false, T.cg, sizeof(T.cg), T.sub, sizeof(T.sub)))
		return -1;
	T.cg_id = dir_id(T.cg);
	T.sub_id = dir_id(T.sub);
	T.lfd4 = listener(AF_INET, "127.0.0.1", &T.port4);
	if (T.lfd4 < 0) {
		perror("listener 127.0.0.1");
		return -1;
	}
	T.lfd6 = listener(AF_INET6, "::1", &T.port6);
	T.have_v6 = T.lfd6 >= 0;
	if (!T.have_v6)
		fprintf(stderr, "no IPv6 on loopback: IPv6 cases skipped\n");
	int err = netpolicy_start(T.cg);
	if (err) {
		fprintf(stderr, "netpolicy_start(%s): %s\n", T.cg, strerror(-err));
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	cleanup();
	return 0;
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_netpolicy: needs root\n");
		return 77; /* skipped */
	}
	const struct CMUnitTest tests[] = {
#define T_(fn) cmocka_unit_test_setup_teardown(fn, test_setup, test_teardown)
		T_(test_attached_outside),
		T_(test_allowed_without_rules),
		T_(test_connect_denied),
		T_(test_misses_are_allowed),
		T_(test_ipv6),
		T_(test_ipv4_mapped),
		T_(test_bind_denied),
		T_(test_remove),
		T_(test_remove_client),
		T_(test_bad_rules),
		T_(test_full_table),
		T_(test_cgroup_scoped),
		T_(test_concurrent_updates),
		T_(test_stop_and_restart),
#undef T_
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
