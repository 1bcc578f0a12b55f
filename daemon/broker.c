/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broker.c — see broker.h.
 *
 * Every request a client may send is a row of req_table: its type, the exact
 * body size it must have, and its handler.  Anything else — a bad magic, an
 * unknown type, a wrong size, an oversized datagram, a second HELLO —
 * disconnects that client with a logged reason and touches no other state.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <ward/ward.h>
#include "auth.h"
#include "broker.h"
#include "content.h"
#include "journal.h"
#include "log.h"
#include "mutes.h"
#include "netpolicy.h"
#include "wire.h"

#define MAX_CLIENTS 256
#define MAX_CLIENTS_PER_UID 64   /* one user cannot take every slot */
#define MAX_UNIDENTIFIED 32      /* connections not yet welcomed, all users together */
#define MAX_CONNS_PER_MANIFEST 8 /* connections of one registered client */
#define MANIFEST_RING_MAX_LOG2 26 /* a registered client's ring: at most 64 MiB */
#define HELLO_TIMEOUT_S 5        /* a connection that never says HELLO is dropped */
#define ACCEPT_PER_TURN 16       /* bounds the work one loop turn gives connections */
#define SUBSCRIBE_PER_S 20       /* re-subscribing re-attaches sensors: not for free */
#define RING_TOTAL_MAX (1ull << 30) /* shared memory for all clients' rings */
#define STATUS_CLIENTS_MAX 64    /* clients listed in full in a status reply */
#define FLUSH_EVERY 256 /* publish head at least this often within a batch */
#define AUTH_TYPES ((1ull << WARD_EV_AUTH_EXEC) | (1ull << WARD_EV_AUTH_OPEN))
#define STRIKE_WINDOW_S 60       /* missed deadlines count within this window */
#define NET_RULES_PER_CLIENT 64  /* one client cannot take every kernel slot */
#define AUTH_CLIENTS_MAX 32      /* clients asked per request (auth.c MAX_VOTERS) */
#define CACHE_CLEAR_MS 1000      /* CLEAR_CACHE: once a second, for all clients */
#define JOIN_FLUSHES_PER_S 8     /* AUTH joins (each flushes the caches) a second */
#define BODY_TEXT UINT32_MAX     /* req_table: a text body of any length */
#define REPLAY_PER_TURN 8192     /* journaled records copied to one resuming client per turn */

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5: a pidfd of the peer, taken at connect() */
#endif
#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83 /* Linux 6.16: refuse SCM_RIGHTS on this socket */
#endif

struct client {
	int kind; /* TAG_CLIENT: first member, so data.ptr identifies it */
	int fd;
	uint32_t id;
	pid_t pid;
	uid_t uid;
	int pidfd;          /* the peer process, taken at connect (-1 if none) */
	char name[64];
	int welcomed;
	int identifying;    /* HELLO seen, identification under way */
	int misbehaved;     /* dropped for breaking the protocol or missing deadlines */
	struct ward_msg_hello hello; /* kept while identifying */
	struct broker_entitlements ent;
	uint64_t mask;
	/* ring */
	struct ward_ring_hdr *hdr;
	uint8_t *data;
	uint64_t size;
	struct ward_ring_ctl *ctl;
	int ring_fd, ctl_fd;
	int event_fd;       /* write end of the wake-up pipe (non-blocking) */
	int wake_rd;        /* its read end, until handed to the client */
	long hello_deadline; /* monotonic s: a client must say HELLO by then */
	long sub_window;    /* monotonic s of the current SUBSCRIBE window */
	int sub_count;      /* SUBSCRIBEs in that window */
	int ring_counted;   /* size is in B.ring_total */
	uint64_t head;      /* our write position, published at flush */
	uint64_t seq;       /* last seq stamped */
	uint64_t delivered, lost;
	unsigned unflushed;
	/* authorization */
	uint64_t auth_mask;      /* AUTH types this client answers */
	uint64_t auth_deny_mask; /* of those, fail-closed */
	uint64_t auth_file_mask; /* of those, the ones it gets descriptors for */
	uint64_t deadline_ns[WARD_EV_MAX_]; /* its time per request, per AUTH type */
	long strike_window;      /* monotonic s the current window began */
	unsigned strikes;        /* missed deadlines in that window */
	uint64_t missed;         /* missed deadlines, ever */
	uint64_t answered;       /* verdicts received */
	unsigned net_rules;      /* network rules it installed */
	struct muteset mutes;
	uint64_t muted;          /* events and requests its mutes held back */
	const char *doomed;      /* to be dropped at the end of the turn, and why */
	/* resuming: copied from the journal, not live, until caught up */
	int replaying;
	int resumed;             /* RESUME was asked (once per connection) */
	uint64_t acked;          /* its ctl's acked_global_seq, as last seen */
	int content_pending;     /* a CONTENT request waits for its answer */
	uint64_t jpos;           /* its next journal position */
	uint64_t replayed;       /* records it got from the journal */
};

enum { TAG_LISTEN = 1, TAG_CLIENT = 2 };

static struct {
	int kind;
	int fd;
	int epfd;
	char path[108];
	uint64_t ring_bytes;
	broker_mask_fn on_mask;
	broker_status_fn status_fn;
	broker_pids_fn on_pids;
	broker_identify_fn identify;
	broker_gone_fn on_gone;
	uint32_t next_id;
	struct client *clients[MAX_CLIENTS];
	uint64_t mask;
	uint64_t auth_mask;    /* union of the clients' AUTH subscriptions */
	/* after a restart: what the previous wardd's clients subscribed to,
	 * recorded until they are back (so their events are journaled) */
	uint64_t inherited_mask;
	long inherited_until;  /* monotonic s */
	uint64_t held_mask;    /* broker_hold_mask() */
	int shutting_down;
	struct broker_auth_cfg auth;
	long cache_cleared;    /* monotonic ms of the last CLEAR_CACHE */
	long join_window;      /* monotonic ms: this second's AUTH joins ... */
	unsigned join_flushes; /* ... and how many flushed the caches */
	uint64_t disconnects_bad_msg;
	uint64_t ring_total;   /* bytes of all clients' rings */
	uint64_t refused;      /* connections refused (slots, per-uid cap, fds) */
	long refused_logged;   /* monotonic s of the last "refused" log line */
	int listen_paused;     /* out of descriptors: not accepting until one frees */
} B = {.kind = TAG_LISTEN, .fd = -1};

static long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Stop or resume watching the listening socket (EMFILE: it would stay
 * readable and spin the loop until a descriptor frees). */
static void listen_pause(int pause)
{
	if (B.listen_paused == pause || B.fd < 0)
		return;
	struct epoll_event ev = {.events = pause ? 0 : EPOLLIN, .data.ptr = &B.kind};
	if (epoll_ctl(B.epfd, EPOLL_CTL_MOD, B.fd, &ev) == 0)
		B.listen_paused = pause;
}

/* Lines about single clients: at most CLIENT_LOG_PER_S a second, then one
 * line saying how many were left out — clients that connect, misbehave and
 * reconnect in a loop must not flood the log. */
#define CLIENT_LOG_PER_S 50
static struct {
	long second;
	unsigned lines, dropped;
} CL;

/* Start a new second: say how many lines the last one left out. */
static void client_log_roll(void)
{
	long now = now_s();
	if (now == CL.second)
		return;
	if (CL.dropped)
		log_warnx("%u lines about clients left out in the last second", CL.dropped);
	CL.second = now;
	CL.lines = CL.dropped = 0;
}

static void client_log(const char *fmt, ...) WARDD_PRINTF(1, 2);
static void client_log(const char *fmt, ...)
{
	client_log_roll();
	if (++CL.lines > CLIENT_LOG_PER_S) {
		CL.dropped++;
		return;
	}
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_info("%s", buf);
}

/* One line per second at most: a connection storm must not flood the log. */
static void refuse(int fd, const char *why)
{
	B.refused++;
	if (fd >= 0)
		close(fd);
	long now = now_s();
	if (now != B.refused_logged) {
		B.refused_logged = now;
		log_warnx("refusing connections: %s (%llu refused so far)", why,
			  (unsigned long long)B.refused);
	}
}

void broker_set_status_fn(broker_status_fn fn)
{
	B.status_fn = fn;
}

static void recompute_mask(void)
{
	uint64_t m = 0, a = 0;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (B.clients[i]) {
			m |= B.clients[i]->mask;
			a |= B.clients[i]->auth_mask;
		}
	m |= B.inherited_mask | B.held_mask;
	if (m != B.mask) {
		B.mask = m;
		if (B.on_mask)
			B.on_mask(m);
		/* a wardd that is killed leaves this for the next one */
		if (!B.shutting_down)
			journal_save_mask(m);
	}
	if (a != B.auth_mask) {
		B.auth_mask = a;
		auth_set_mask(a);
	}
}

/*
 * What every client mutes need not reach wardd at all: a process that each
 * NOTIFY subscriber mutes for all the types it subscribed to goes into the
 * sensors' BPF map (through wardd's callback).  Recomputed on every change
 * of mutes or clients.  Path mutes stay here: the kernel could only ignore
 * an inode, and an ignore mark follows a file renamed to any other name —
 * a muted temporary file renamed into /usr/bin would never be asked about.
 */
#define PUSHDOWN_MAX 256

static void pushdown(void)
{
	uint32_t pids[PUSHDOWN_MAX];
	size_t npids = 0;
	struct client *first = NULL;
	for (int i = 0; i < MAX_CLIENTS && !first; i++)
		if (B.clients[i] && B.clients[i]->mask)
			first = B.clients[i];
	for (size_t k = 0; first && k < first->mutes.n && npids < PUSHDOWN_MAX; k++) {
		const struct mute *m = &first->mutes.m[k];
		if (m->kind != WARD_MUTE_PROCESS || m->pid == 0 || m->pid > UINT32_MAX)
			continue;
		int all = 1;
		for (int i = 0; i < MAX_CLIENTS && all; i++) {
			struct client *c = B.clients[i];
			if (c && c->mask && !muteset_mutes_pid(&c->mutes, m->pid, c->mask))
				all = 0;
		}
		if (all)
			pids[npids++] = (uint32_t)m->pid;
	}
	if (B.on_pids)
		B.on_pids(pids, npids);
}

void broker_set_pids_fn(broker_pids_fn fn)
{
	B.on_pids = fn;
}

uint64_t broker_mask(void)
{
	return B.mask;
}

static void pushdown(void);
static struct client *client_by_id(uint32_t id);

static void client_free(struct client *c, const char *why)
{
	if (why)
		client_log("client %u (%s, pid %d) disconnected: %s", c->id, c->name, (int)c->pid, why);
	if (c->welcomed && c->ent.manifest[0] && B.on_gone) {
		struct broker_conn_stats st = {.delivered = c->delivered, .lost = c->lost, .verdicts = c->answered,
					       .deadlines_missed = c->missed, .muted = c->muted, .mask = c->mask,
					       .shadow = c->ent.shadow};
		B.on_gone(c->ent.manifest, c->id, c->pid, why, c->misbehaved, &st);
	}
	if (c->pidfd >= 0)
		close(c->pidfd);
	/* its pending requests take its defaults now, not at their deadline */
	if (c->auth_mask)
		auth_client_gone(c->id, c->auth_mask);
	if (c->net_rules)
		netpolicy_remove_client(c->id);
	epoll_ctl(B.epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->hdr) {
		atomic_store((_Atomic uint32_t *)&c->hdr->closed, 1);
		munmap(c->hdr, WARD_RING_HDR_SIZE + c->size);
	}
	if (c->ctl)
		munmap(c->ctl, sizeof(*c->ctl) < 4096 ? 4096 : sizeof(*c->ctl));
	if (c->event_fd >= 0) {
		uint64_t one = 1;
		(void)!write(c->event_fd, &one, sizeof(one)); /* wake a sleeper to see closed */
		close(c->event_fd);
	}
	if (c->ring_fd >= 0)
		close(c->ring_fd);
	if (c->ctl_fd >= 0)
		close(c->ctl_fd);
	if (c->wake_rd >= 0)
		close(c->wake_rd);
	if (c->ring_counted)
		B.ring_total -= c->size;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (B.clients[i] == c)
			B.clients[i] = NULL;
	muteset_clear(&c->mutes);
	free(c);
	listen_pause(0); /* a descriptor and a slot are free again */
	recompute_mask();
	/* what it did not mute can no longer be dropped in the kernel, and
	 * what only it had not muted now can */
	pushdown();
}

int broker_init(int epfd, const char *runtime_dir, uint64_t ring_bytes, broker_mask_fn on_mask,
		const struct broker_auth_cfg *auth)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	B.epfd = epfd;
	B.auth = *auth;
	B.ring_bytes = ring_bytes;
	B.on_mask = on_mask;
	if (mkdir(runtime_dir, 0755) && errno != EEXIST) {
		log_warn("mkdir %s", runtime_dir);
		return -errno;
	}
	if ((size_t)snprintf(B.path, sizeof(B.path), "%s/%s", runtime_dir, WARD_SOCK_NAME) >= sizeof(B.path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, B.path, sizeof(B.path));
	B.fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (B.fd < 0)
		return -errno;
	/* A socket someone answers on belongs to a running wardd: never steal
	 * it.  One nobody answers on was left by a wardd that died. */
	int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(probe);
		close(B.fd);
		B.fd = -1;
		log_warnx("%s: another wardd is running there", B.path);
		return -EADDRINUSE;
	}
	if (probe >= 0)
		close(probe);
	unlink(B.path);
	/* Anyone may connect: HELLO identifies the process, and one that no
	 * manifest names (root aside) is refused there. */
	mode_t old = umask(0);
	int r = bind(B.fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r || listen(B.fd, 64)) {
		int err = -errno;
		log_warn("bind/listen %s", B.path);
		close(B.fd);
		B.fd = -1;
		return err;
	}
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &B.kind};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, B.fd, &ev))
		return -errno;
	return 0;
}

static int clients_of_uid(uid_t uid)
{
	int n = 0;
	for (int i = 0; i < MAX_CLIENTS; i++)
		n += B.clients[i] && B.clients[i]->uid == uid;
	return n;
}

static void accept_clients(void)
{
	for (int k = 0; k < ACCEPT_PER_TURN; k++) {
		int fd = accept4(B.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				listen_pause(1);
				refuse(-1, "out of file descriptors");
			} else if (errno != EAGAIN && errno != EINTR) {
				log_warn("accept");
			}
			return;
		}
		struct ucred cred = {.pid = 0, .uid = (uid_t)-1};
		socklen_t len = sizeof(cred);
		getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
		int slot = -1;
		for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
			if (!B.clients[i])
				slot = i;
		if (slot < 0) {
			refuse(fd, "too many clients");
			continue;
		}
		if (clients_of_uid(cred.uid) >= MAX_CLIENTS_PER_UID) {
			refuse(fd, "too many clients of one user");
			continue;
		}
		/* the socket is open to everyone: connections that have not
		 * been identified yet must not crowd out the clients */
		int unidentified = 0;
		for (int i = 0; i < MAX_CLIENTS; i++)
			unidentified += B.clients[i] && !B.clients[i]->welcomed;
		if (unidentified >= MAX_UNIDENTIFIED) {
			refuse(fd, "too many connections not yet identified");
			continue;
		}
		struct client *c = calloc(1, sizeof(*c));
		if (!c) {
			refuse(fd, "out of memory");
			continue;
		}
		/* Descriptors a client sends would be closed by wardd, which can
		 * block (a lingering socket): have the kernel refuse them. */
		int off = 0;
		setsockopt(fd, SOL_SOCKET, SO_PASSRIGHTS, &off, sizeof(off));
		c->pid = cred.pid;
		c->uid = cred.uid;
		/* the process itself, whatever happens to its pid later */
		c->pidfd = -1;
		len = sizeof(c->pidfd);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &c->pidfd, &len) || c->pidfd < 0) {
			c->pidfd = cred.pid > 0 ? (int)syscall(SYS_pidfd_open, cred.pid, 0) : -1;
			if (c->pidfd >= 0)
				fcntl(c->pidfd, F_SETFD, FD_CLOEXEC);
		}
		c->kind = TAG_CLIENT;
		c->fd = fd;
		c->id = ++B.next_id;
		c->ring_fd = c->ctl_fd = c->event_fd = c->wake_rd = -1;
		c->hello_deadline = now_s() + HELLO_TIMEOUT_S;
		snprintf(c->name, sizeof(c->name), "pid-%d", (int)c->pid);
		B.clients[slot] = c;
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
		if (epoll_ctl(B.epfd, EPOLL_CTL_ADD, fd, &ev))
			client_free(c, "epoll_ctl failed");
	}
}

void broker_hold_mask(uint64_t mask)
{
	if (mask == B.held_mask)
		return;
	B.held_mask = mask;
	recompute_mask();
}

void broker_inherit_mask(uint64_t mask, unsigned grace_s)
{
	B.inherited_mask = mask;
	B.inherited_until = now_s() + (long)grace_s;
	recompute_mask();
}

void broker_tick(void)
{
	long now = now_s();
	if (B.inherited_mask && now >= B.inherited_until) {
		log_info("the previous wardd's subscriptions are no longer kept: only the clients' own count now");
		B.inherited_mask = 0;
		recompute_mask();
	}
	listen_pause(0); /* paused on EMFILE: try again (it pauses again if need be) */
	client_log_roll();
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = B.clients[i];
		if (c && !c->welcomed && now > c->hello_deadline)
			client_free(c, "no HELLO in time");
	}
}

static int send_msg(struct client *c, uint16_t type, const void *body, size_t len, const int *fds, int nfds)
{
	struct ward_msg h = {.magic = WARD_MSG_MAGIC, .type = type, .len = (uint32_t)(sizeof(h) + len)};
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)body, len}};
	union {
		char buf[CMSG_SPACE(sizeof(int) * 3)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
	if (nfds) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	/* The socket is non-blocking: a client that does not read its answers
	 * is disconnected rather than allowed to stall wardd. */
	return sendmsg(c->fd, &mh, MSG_NOSIGNAL) == (ssize_t)h.len ? 0 : -1;
}

static int reply_value(struct client *c, int error, uint32_t value)
{
	struct ward_msg_reply r = {.error = error, .value = value};
	return send_msg(c, WARD_MSG_REPLY, &r, sizeof(r), NULL, 0);
}

static int reply(struct client *c, int error)
{
	struct ward_msg_reply r = {.error = error};
	return send_msg(c, WARD_MSG_REPLY, &r, sizeof(r), NULL, 0);
}

/* Create the ring memfd (sealed against new writable mappings once wardd has
 * its own), the ctl page (sealed against resizing: a client that could
 * shrink it would fault wardd), and the wake-up pipe.  The pipe, not an
 * eventfd: the client gets only the read end, a file description of its
 * own, so it can neither make wardd's writes block nor fill them up. */
static int ring_create(struct client *c, uint64_t size)
{
	int wake[2];
	c->ring_fd = memfd_create("ward-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	c->ctl_fd = memfd_create("ward-ctl", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (c->ring_fd < 0 || c->ctl_fd < 0 || pipe2(wake, O_CLOEXEC))
		return -errno;
	c->wake_rd = wake[0];
	c->event_fd = wake[1];
	if (fcntl(c->event_fd, F_SETFL, O_NONBLOCK) ||
	    ftruncate(c->ring_fd, (off_t)(WARD_RING_HDR_SIZE + size)) || ftruncate(c->ctl_fd, 4096) ||
	    fcntl(c->ctl_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		return -errno;
	void *r = mmap(NULL, WARD_RING_HDR_SIZE + size, PROT_READ | PROT_WRITE, MAP_SHARED, c->ring_fd, 0);
	void *k = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, c->ctl_fd, 0);
	if (r == MAP_FAILED || k == MAP_FAILED) {
		if (r != MAP_FAILED)
			munmap(r, WARD_RING_HDR_SIZE + size);
		if (k != MAP_FAILED)
			munmap(k, 4096);
		return -ENOMEM;
	}
	c->hdr = r;
	c->data = (uint8_t *)r + WARD_RING_HDR_SIZE;
	c->size = size;
	c->ctl = k;
	c->hdr->magic = WARD_RING_MAGIC;
	c->hdr->version = WARD_API_VERSION;
	c->hdr->size = size;
	/* armed from the start, so ward_client_fd() wakes on the first event */
	c->ctl->waiting = 1;
	if (fcntl(c->ring_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL))
		return -errno;
	return 0;
}

/* A read-only descriptor of the ring for the client. */
static int ring_ro_fd(struct client *c)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", c->ring_fd);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* A client name as logs and status show it: printable ASCII only, so a name
 * can neither forge log lines nor bloat the status with escapes. */
static void sanitize_name(char *out, size_t outlen, const char *in)
{
	size_t i = 0;
	for (; in[i] && i + 1 < outlen; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f ? in[i] : '?';
	out[i] = '\0';
}

/* Without an identify callback (the broker alone, in tests): root may do
 * everything, anyone else nothing. */
static int identify_default(uint32_t client_id, pid_t pid, uid_t uid, int pidfd, struct broker_entitlements *out)
{
	(void)client_id, (void)pid, (void)pidfd;
	if (uid != 0)
		return -EACCES;
	memset(out, 0, sizeof(*out));
	out->notify_mask = ((1ull << WARD_EV_MAX_) - 1) & ~1ull;
	out->auth_mask = AUTH_TYPES;
	out->file_descriptors = out->net_rules = out->clear_cache = out->status = true;
	memset(out->on_miss, -1, sizeof(out->on_miss));
	return 0;
}

void broker_set_identify_fn(broker_identify_fn fn)
{
	B.identify = fn;
}

void broker_set_gone_fn(broker_gone_fn fn)
{
	B.on_gone = fn;
}

/* Identification is over: refuse the connection, or map its ring and send
 * WELCOME.  Returns why the client must go, or NULL. */
static const char *finish_hello(struct client *c, int err, const struct broker_entitlements *ent)
{
	const struct ward_msg_hello *h = &c->hello;
	c->identifying = 0;
	if (err) {
		client_log("client %u (%s, pid %d, uid %u) refused: %s", c->id, c->name, (int)c->pid,
			   (unsigned)c->uid, err == -EACCES ? "no manifest names this process" :
			   err == -EPERM ? "its manifest is quarantined or disabled" : strerror(-err));
		(void)reply(c, err);
		/* a refusal, not a fault of the client's: not counted as a bad
		 * message; it goes at the end of the turn */
		c->doomed = err == -EACCES ? "not registered" : "refused";
		return NULL;
	}
	c->ent = *ent;
	c->ent.manifest[sizeof(c->ent.manifest) - 1] = '\0';
	uint64_t size = h->ring_size_log2 ? 1ull << h->ring_size_log2 : B.ring_bytes;
	if (c->ent.manifest[0]) {
		sanitize_name(c->name, sizeof(c->name), c->ent.manifest);
		/* a registered client gets a bounded share of the connections
		 * and of the ring memory, whatever it asks for */
		int conns = 0;
		for (int i = 0; i < MAX_CLIENTS; i++)
			conns += B.clients[i] && B.clients[i]->welcomed && !strcmp(B.clients[i]->ent.manifest, c->ent.manifest);
		if (conns >= MAX_CONNS_PER_MANIFEST) {
			client_log("client %u (%s): already %d connections", c->id, c->name, conns);
			(void)reply(c, -EBUSY);
			c->doomed = "too many connections of its manifest";
			return NULL;
		}
		if (size > (1ull << MANIFEST_RING_MAX_LOG2))
			size = 1ull << MANIFEST_RING_MAX_LOG2;
	}
	if (B.ring_total + size > RING_TOTAL_MAX) {
		client_log("client %u (%s): ring memory for all clients would exceed %llu MiB", c->id,
			  c->name, RING_TOTAL_MAX >> 20);
		return "ring memory limit reached";
	}
	if (ring_create(c, size))
		return "cannot create the event ring";
	B.ring_total += size;
	c->ring_counted = 1;
	int ro = ring_ro_fd(c);
	if (ro < 0)
		return "cannot open the ring read-only";
	struct ward_msg_welcome w = {.api_version = WARD_API_VERSION, .client_id = c->id, .ring_size = size};
	int fds[3] = {ro, c->ctl_fd, c->wake_rd};
	err = send_msg(c, WARD_MSG_WELCOME, &w, sizeof(w), fds, 3);
	close(ro);
	close(c->wake_rd); /* the client's now */
	c->wake_rd = -1;
	if (err)
		return "cannot send WELCOME";
	c->welcomed = 1;
	client_log("client %u (%s, pid %d, uid %u) connected%s%s", c->id, c->name, (int)c->pid, (unsigned)c->uid,
		   c->ent.manifest[0] ? ", manifest " : ", unregistered", c->ent.manifest);
	return NULL;
}

static const char *on_hello(struct client *c, const void *body)
{
	const struct ward_msg_hello *h = body;
	if (c->welcomed || c->identifying)
		return "second HELLO";
	if (h->api_version != WARD_API_VERSION)
		return "unsupported API version";
	if (h->ring_size_log2 && (h->ring_size_log2 < 16 || h->ring_size_log2 > 28))
		return "ring size out of range";
	if (memchr(h->name, '\0', sizeof(h->name)) && h->name[0])
		sanitize_name(c->name, sizeof(c->name), h->name);
	c->hello = *h;
	struct broker_entitlements ent;
	memset(&ent, 0, sizeof(ent));
	int err = (B.identify ? B.identify : identify_default)(c->id, c->pid, c->uid, c->pidfd, &ent);
	if (err == -EINPROGRESS) {
		c->identifying = 1;
		return NULL;
	}
	return finish_hello(c, err, &ent);
}

void broker_identified(uint32_t client_id, int err, const struct broker_entitlements *ent)
{
	struct client *c = client_by_id(client_id);
	if (!c || !c->identifying)
		return;
	if (!err && !ent)
		err = -EACCES;
	const char *why = finish_hello(c, err, ent);
	/* not freed here: this runs on the hash worker's event, and the
	 * client's own socket event may still be in this turn's batch */
	if (why)
		c->doomed = why;
}

static const char *on_subscribe(struct client *c, const void *body)
{
	const struct ward_msg_subscribe *s = body;
	uint64_t valid = ((1ull << WARD_EV_MAX_) - 1) & ~1ull;
	if (!c->welcomed)
		return "SUBSCRIBE before HELLO";
	if ((s->notify_mask & ~valid) || (s->auth_mask & ~AUTH_TYPES) ||
	    (s->auth_deny_mask & ~s->auth_mask) || (s->auth_file_mask & ~s->auth_mask) || s->reserved) {
		/* a well-formed request for something that does not exist: say so */
		return reply(c, -EINVAL) ? "cannot send REPLY" : NULL;
	}
	long now = now_s();
	if (now != c->sub_window) {
		c->sub_window = now;
		c->sub_count = 0;
	}
	if (++c->sub_count > SUBSCRIBE_PER_S)
		return reply(c, -EAGAIN) ? "cannot send REPLY" : NULL;
	/* Exactly what the manifest grants: anything beyond is refused whole. */
	if ((s->notify_mask & ~c->ent.notify_mask) || (s->auth_mask & ~c->ent.auth_mask) ||
	    (s->auth_file_mask && !c->ent.file_descriptors)) {
		client_log("client %u (%s): subscription beyond its entitlements refused", c->id, c->name);
		return reply(c, -EPERM) ? "cannot send REPLY" : NULL;
	}
	if (s->auth_mask && !auth_available())
		return reply(c, -EOPNOTSUPP) ? "cannot send REPLY" : NULL;
	/* Deadlines: the manifest's when it sets one (the client may only ask
	 * for less), else the client's or wardd's default; never above the
	 * maximum.  The verdict on a miss: the manifest's when it sets one. */
	uint64_t deadline_ns[WARD_EV_MAX_] = {0};
	uint64_t deny_mask = s->auth_deny_mask;
	for (uint32_t t = 1; t < WARD_EV_MAX_; t++) {
		if (!((s->auth_mask >> t) & 1))
			continue;
		uint32_t ms = s->deadline_ms ? s->deadline_ms : B.auth.deadline_ms;
		if (c->ent.deadline_ms[t] && (!s->deadline_ms || ms > c->ent.deadline_ms[t]))
			ms = c->ent.deadline_ms[t];
		if (ms > B.auth.deadline_max_ms)
			ms = B.auth.deadline_max_ms;
		deadline_ns[t] = (uint64_t)ms * 1000000ull;
		if (c->ent.on_miss[t] >= 0)
			deny_mask = (deny_mask & ~(1ull << t)) |
				    ((uint64_t)(c->ent.on_miss[t] == WARD_VERDICT_DENY) << t);
	}
	uint64_t dropped = c->auth_mask & ~s->auth_mask;
	uint64_t added = s->auth_mask & ~c->auth_mask;
	if (added && !c->auth_mask) {
		int voters = 0;
		for (int i = 0; i < MAX_CLIENTS; i++)
			voters += B.clients[i] && B.clients[i]->auth_mask;
		if (voters >= AUTH_CLIENTS_MAX)
			return reply(c, -ENOSPC) ? "cannot send REPLY" : NULL;
	}
	/* Joining flushes every cache (below): at most JOIN_FLUSHES_PER_S
	 * times a second for all clients together (several products may
	 * start at once), so that reconnecting and subscribing in a loop is
	 * no way around CLEAR_CACHE's limit. */
	long now_ms = mono_ms();
	if (added) {
		if (now_ms - B.join_window >= 1000) {
			B.join_window = now_ms;
			B.join_flushes = 0;
		}
		if (B.join_flushes >= JOIN_FLUSHES_PER_S)
			return reply(c, -EAGAIN) ? "cannot send REPLY" : NULL;
		B.join_flushes++;
	}
	/* types it no longer answers: its pending requests take its defaults */
	if (dropped)
		auth_client_gone(c->id, dropped);
	c->mask = s->notify_mask;
	c->auth_mask = s->auth_mask;
	c->auth_deny_mask = deny_mask;
	c->auth_file_mask = s->auth_file_mask;
	memcpy(c->deadline_ns, deadline_ns, sizeof(deadline_ns));
	/* Cached verdicts were given without this client: it must be asked. */
	if (added)
		auth_clear_cache();
	recompute_mask();
	pushdown();
	return reply(c, 0) ? "cannot send REPLY" : NULL;
}

static const char *on_verdict(struct client *c, const void *body)
{
	const struct ward_msg_verdict *v = body;
	if (!c->welcomed)
		return "VERDICT before HELLO";
	if (v->verdict > WARD_VERDICT_DENY || (v->flags & ~WARD_RESPOND_CACHE))
		return "malformed VERDICT";
	c->answered++;
	auth_vote(c->id, v->auth_id, v->verdict, v->flags);
	return NULL;
}

/* Clearing the cache costs every client a round of requests: at most once
 * a second, whoever asks. */
static const char *on_clear_cache(struct client *c, const void *body)
{
	if (!c->welcomed)
		return "CLEAR_CACHE before HELLO";
	long now = mono_ms();
	int err = 0;
	if (!c->ent.clear_cache) {
		err = -EPERM;
	} else if (B.cache_cleared && now - B.cache_cleared < CACHE_CLEAR_MS) {
		err = -EAGAIN;
	} else {
		B.cache_cleared = now;
		auth_clear_cache();
		client_log("client %u (%s) cleared the verdict cache", c->id, c->name);
	}
	return reply(c, err) ? "cannot send REPLY" : NULL;
}

static const char *on_status(struct client *c, const void *body)
{
	if (!c->welcomed)
		return "STATUS before HELLO";
	if (!c->ent.status)
		return reply(c, -EPERM) ? "cannot send REPLY" : NULL;
	if (!B.status_fn)
		return "no status available";
	struct json_object *o = B.status_fn();
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	size_t len = strlen(s);
	const char *err = NULL;
	if (len + sizeof(struct ward_msg) > WARD_MSG_MAX) {
		/* cannot happen with STATUS_CLIENTS_MAX; say so rather than drop */
		log_warnx("status of %zu bytes does not fit a message", len);
		err = reply(c, -EMSGSIZE) ? "cannot send REPLY" : NULL;
	} else if (send_msg(c, WARD_MSG_STATUS_REPLY, s, len, NULL, 0)) {
		err = "cannot send STATUS_REPLY";
	}
	json_object_put(o);
	return err;
}

static const char *on_net_rule_add(struct client *c, const void *body)
{
	const struct ward_net_rule *w = body;
	if (!c->welcomed)
		return "NET_RULE_ADD before HELLO";
	uint32_t id = 0;
	int err;
	if (!c->ent.net_rules) {
		err = -EPERM;
	} else if (netpolicy_epoll_fd() < 0) {
		err = -EOPNOTSUPP;
	} else if (c->net_rules >= NET_RULES_PER_CLIENT) {
		err = -ENOSPC;
	} else {
		struct netpolicy_rule r = {.type = w->type, .family = w->family, .prefix_len = w->prefix_len,
					   .protocol = w->protocol, .port_lo = w->port_lo, .port_hi = w->port_hi,
					   .cgroup_id = w->cgroup_id};
		memcpy(r.addr, w->addr, sizeof(r.addr));
		err = netpolicy_add(&r, c->id, &id);
		if (err == 0) {
			c->net_rules++;
			client_log("client %u (%s) added network rule %u", c->id, c->name, id);
		}
	}
	return reply_value(c, err, id) ? "cannot send REPLY" : NULL;
}

static const char *on_net_rule_remove(struct client *c, const void *body)
{
	const struct ward_msg_net_rule_remove *m = body;
	if (!c->welcomed)
		return "NET_RULE_REMOVE before HELLO";
	if (m->reserved)
		return reply(c, -EINVAL) ? "cannot send REPLY" : NULL;
	int err = netpolicy_epoll_fd() < 0 ? -ENOENT : netpolicy_remove(m->rule_id, c->id);
	if (err == 0 && c->net_rules)
		c->net_rules--;
	return reply(c, err) ? "cannot send REPLY" : NULL;
}

static const char *on_mute(struct client *c, const void *body)
{
	const struct ward_msg_mute *m = body;
	if (!c->welcomed)
		return "MUTE before HELLO";
	uint64_t valid = ((1ull << WARD_EV_MAX_) - 1) & ~1ull;
	int err;
	if (m->path_len >= sizeof(m->path) || (m->types & ~valid)) {
		err = -EINVAL;
	} else {
		switch (m->op) {
		case WARD_MUTE_OP_ADD:
			err = muteset_add(&c->mutes, m->kind, m->types, m->pid, m->path, m->path_len);
			break;
		case WARD_MUTE_OP_REMOVE:
			err = muteset_remove(&c->mutes, m->kind, m->types, m->pid, m->path, m->path_len);
			break;
		case WARD_MUTE_OP_CLEAR:
			muteset_clear(&c->mutes);
			err = 0;
			break;
		case WARD_MUTE_OP_INVERT:
			err = m->inverted > 1 ? -EINVAL : muteset_invert(&c->mutes, m->kind, (int)m->inverted);
			break;
		default:
			err = -EINVAL;
		}
	}
	if (err == 0)
		pushdown();
	return reply(c, err) ? "cannot send REPLY" : NULL;
}

static const char *on_resume(struct client *c, const void *body)
{
	const struct ward_msg_resume *m = body;
	if (!c->welcomed)
		return "RESUME before HELLO";
	if (!journal_active())
		return reply(c, -EOPNOTSUPP) ? "cannot send REPLY" : NULL;
	/* once per connection (it walks the journal), and before any live
	 * event: replayed events must come before every new one */
	if (c->resumed || c->delivered)
		return reply(c, c->resumed ? -EALREADY : -EBUSY) ? "cannot send REPLY" : NULL;
	c->resumed = 1;
	uint64_t after = m->after_global_seq;
	if (after == UINT64_MAX) {
		/* where its manifest's client last got to (0: nothing yet,
		 * nothing to replay) */
		after = c->ent.manifest[0] ? journal_cursor(c->ent.manifest) : 0;
		if (!after) {
			c->replaying = 0;
			return reply_value(c, 0, 0) ? "cannot send REPLY" : NULL;
		}
	}
	uint64_t pos;
	int missed = journal_find(after, &pos);
	c->jpos = pos;
	c->replaying = 1;
	c->replayed = 0;
	client_log("client %u (%s) resumes after global_seq %llu%s", c->id, c->name,
		   (unsigned long long)after, missed ? " (the journal no longer holds all of it)" : "");
	return reply_value(c, 0, (uint32_t)missed) ? "cannot send REPLY" : NULL;
}

/* A request for content (docs/content.md): root only, answered by
 * content.c through broker_content_reply(), now or when its worker is
 * done.  One at a time per connection: the client waits for the answer. */
static const char *on_content(struct client *c, const void *body)
{
	if (!c->welcomed)
		return "CONTENT before HELLO";
	if (!c->ent.content_admin)
		return reply(c, -EPERM) ? "cannot send REPLY" : NULL;
	if (c->content_pending)
		return "CONTENT while one is pending";
	c->content_pending = 1;
	content_request(c->id, body, strlen(body));
	return NULL;
}

void broker_content_reply(uint32_t client_id, const char *json)
{
	struct client *c = client_by_id(client_id);
	if (!c || c->doomed || !c->content_pending)
		return; /* gone meanwhile */
	c->content_pending = 0;
	size_t len = strlen(json);
	if (len + sizeof(struct ward_msg) > WARD_MSG_MAX) {
		if (reply(c, -EMSGSIZE))
			broker_disconnect(c->id, "cannot send REPLY");
	} else if (send_msg(c, WARD_MSG_CONTENT_REPLY, json, len, NULL, 0)) {
		broker_disconnect(c->id, "cannot send CONTENT_REPLY");
	}
}

/* Every request a client may make: type, exact body size (BODY_TEXT: any
 * text without NUL), handler. */
static const struct {
	uint16_t type;
	uint32_t body;
	const char *(*handler)(struct client *, const void *);
} req_table[] = {
	{WARD_MSG_HELLO, sizeof(struct ward_msg_hello), on_hello},
	{WARD_MSG_SUBSCRIBE, sizeof(struct ward_msg_subscribe), on_subscribe},
	{WARD_MSG_STATUS, 0, on_status},
	{WARD_MSG_VERDICT, sizeof(struct ward_msg_verdict), on_verdict},
	{WARD_MSG_CLEAR_CACHE, 0, on_clear_cache},
	{WARD_MSG_NET_RULE_ADD, sizeof(struct ward_net_rule), on_net_rule_add},
	{WARD_MSG_NET_RULE_REMOVE, sizeof(struct ward_msg_net_rule_remove), on_net_rule_remove},
	{WARD_MSG_MUTE, sizeof(struct ward_msg_mute), on_mute},
	{WARD_MSG_RESUME, sizeof(struct ward_msg_resume), on_resume},
	{WARD_MSG_CONTENT, BODY_TEXT, on_content},
};

/* Check and run one datagram; returns why the client must go, or NULL. */
static const char *handle_msg(struct client *c, const uint8_t *buf, ssize_t n, int truncated)
{
	const struct ward_msg *h = (const void *)buf;
	if (truncated)
		return "oversized message";
	if (n < (ssize_t)sizeof(*h))
		return "truncated message";
	if (h->magic != WARD_MSG_MAGIC)
		return "bad magic (garbage on the socket)";
	if (h->len != (uint32_t)n || h->flags || h->reserved)
		return "malformed header";
	for (size_t i = 0; i < sizeof(req_table) / sizeof(req_table[0]); i++) {
		if (req_table[i].type != h->type)
			continue;
		if (req_table[i].body == BODY_TEXT) {
			/* text of any length; the handler gets it NUL-terminated */
			static char text[WARD_MSG_MAX];
			size_t len = (size_t)n - sizeof(*h);
			if (len >= sizeof(text))
				return "text message too long";
			if (memchr(buf + sizeof(*h), '\0', len))
				return "NUL in a text message";
			memcpy(text, buf + sizeof(*h), len);
			text[len] = '\0';
			return req_table[i].handler(c, text);
		}
		if ((size_t)n - sizeof(*h) != req_table[i].body)
			return "wrong body size";
		return req_table[i].handler(c, buf + sizeof(*h));
	}
	return "unknown message type";
}

/*
 * Closing a descriptor a client slipped in can block wardd (the last
 * reference to a TCP socket with SO_LINGER and unsent data waits out the
 * linger time).  Such descriptors go down a pipe to a thread that only
 * closes them.  If the thread or the pipe cannot be had, or the pipe is
 * full (a flood), the descriptor is closed here after all.
 */
static int closer_pipe[2] = {-1, -1};

static void *closer_main(void *arg)
{
	(void)arg;
	int fd;
	while (read(closer_pipe[0], &fd, sizeof(fd)) == sizeof(fd))
		close(fd);
	return NULL;
}

static void close_elsewhere(int fd)
{
	static int started;
	if (!started) {
		started = 1;
		pthread_t t;
		if (pipe2(closer_pipe, O_CLOEXEC) == 0) {
			fcntl(closer_pipe[1], F_SETFL, O_NONBLOCK);
			if (pthread_create(&t, NULL, closer_main, NULL) == 0) {
				pthread_detach(t);
			} else {
				close(closer_pipe[0]);
				close(closer_pipe[1]);
				closer_pipe[0] = closer_pipe[1] = -1;
			}
		}
	}
	if (closer_pipe[1] < 0 || write(closer_pipe[1], &fd, sizeof(fd)) != sizeof(fd))
		close(fd);
}

static void client_readable(struct client *c, uint32_t events)
{
	if (c->doomed)
		return; /* going at the end of this turn: nothing more from it */
	static uint8_t buf[WARD_MSG_MAX];
	for (int i = 0; i < 16; i++) { /* bounded: one client cannot monopolise wardd */
		struct iovec iov = {buf, sizeof(buf)};
		char cbuf[CMSG_SPACE(sizeof(int) * 8)];
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			client_free(c, strerror(errno));
			return;
		}
		if (n == 0) {
			client_free(c, "closed the connection");
			return;
		}
		/* Descriptors are never expected from a client (kernels before
		 * 6.16 cannot refuse them): closing one can block, so another
		 * thread does it. */
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_type == SCM_RIGHTS)
				for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++)
					close_elsewhere(((int *)CMSG_DATA(cm))[k]);
		const char *why = handle_msg(c, buf, n, (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0);
		if (why) {
			B.disconnects_bad_msg++;
			c->misbehaved = 1;
			client_log("client %u (%s, pid %d): %s", c->id, c->name, (int)c->pid, why);
			client_free(c, why);
			return;
		}
	}
	if (events & (EPOLLHUP | EPOLLRDHUP | EPOLLERR)) {
		/* drain first (above), then go */
		client_free(c, "hung up");
	}
}

void broker_on_event(void *tag, uint32_t events)
{
	if (*(int *)tag == TAG_LISTEN)
		accept_clients();
	else
		client_readable(tag, events);
}

/* ---- rings ---- */

static void publish(struct client *c)
{
	/* seq_cst store, then load of waiting: pairs with the client's store of
	 * waiting and load of head, so one of the two always sees the other
	 * (a release store could pass the load and lose the wake-up). */
	atomic_store((_Atomic uint64_t *)&c->hdr->head, c->head);
	c->unflushed = 0;
	if (atomic_load((_Atomic uint32_t *)&c->ctl->waiting)) {
		atomic_store((_Atomic uint32_t *)&c->ctl->waiting, 0);
		uint64_t one = 1;
		(void)!write(c->event_fd, &one, sizeof(one));
	}
}

/* Copy one record into @c's ring; returns 0, -ENOSPC if full, -EPROTO if the
 * client's tail is impossible. */
static int ring_put(struct client *c, const void *rec, uint32_t size)
{
	uint64_t tail = atomic_load_explicit((_Atomic uint64_t *)&c->ctl->tail, memory_order_acquire);
	if (tail > c->head || c->head - tail > c->size)
		return -EPROTO;
	uint64_t off = c->head & (c->size - 1);
	uint64_t room_to_end = c->size - off;
	uint64_t need = size <= room_to_end ? size : room_to_end + size;
	if (c->size - (c->head - tail) < need)
		return -ENOSPC;
	if (size > room_to_end) {
		/* too short for a PAD header: skipped implicitly (wire.h §2) */
		if (room_to_end >= sizeof(struct ward_rec)) {
			struct ward_rec pad = {.size = (uint32_t)room_to_end, .type = WARD_REC_PAD};
			memcpy(c->data + off, &pad, sizeof(pad));
		}
		c->head += room_to_end;
		off = 0;
	}
	memcpy(c->data + off, rec, size);
	c->head += size;
	return 0;
}

void broker_deliver(uint32_t type, void *rec, size_t size)
{
	struct ward_rec *r = rec;
	if (journal_active() && ((B.mask >> type) & 1)) {
		r->seq = 0;
		journal_append(r);
	}
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = B.clients[i];
		if (!c || !((c->mask >> type) & 1) || !c->hdr || c->doomed || c->replaying)
			continue;
		if ((c->mutes.n || c->mutes.inverted) && muteset_drops(&c->mutes, type, r)) {
			c->muted++;
			continue;
		}
		r->seq = ++c->seq;
		int err = ring_put(c, rec, (uint32_t)size);
		if (err == -EPROTO) {
			/* dropped at the end of the turn: freeing it here would
			 * settle AUTH requests under the feet of whoever is
			 * delivering (auth.c's loops) */
			c->misbehaved = 1;
			c->doomed = "corrupt ring tail";
			continue;
		}
		if (err) {
			c->lost++;
			atomic_store_explicit((_Atomic uint64_t *)&c->hdr->lost, c->lost, memory_order_relaxed);
			continue;
		}
		c->delivered++;
		if (++c->unflushed >= FLUSH_EVERY)
			publish(c);
	}
}

/* Copy journaled records to a resuming client, as many as its ring takes
 * this turn; live delivery starts again once it has caught up. */
static void replay(struct client *c)
{
	if (!c->mask)
		return; /* resumed before subscribing: starts with the subscription */
	for (int k = 0; k < REPLAY_PER_TURN; k++) {
		uint64_t before = c->jpos;
		bool skipped = false;
		struct ward_rec *r = (struct ward_rec *)journal_next(&c->jpos, &skipped);
		if (skipped) {
			/* it fell so far behind that the journal dropped
			 * records it had not had: a gap it will see */
			c->seq++;
			c->lost++;
			atomic_store_explicit((_Atomic uint64_t *)&c->hdr->lost, c->lost, memory_order_relaxed);
		}
		if (!r) {
			c->replaying = 0;
			client_log("client %u (%s) caught up with the journal (%llu records replayed)", c->id, c->name,
				   (unsigned long long)c->replayed);
			break;
		}
		if (!((c->mask >> r->type) & 1))
			continue;
		if ((c->mutes.n || c->mutes.inverted) && muteset_drops(&c->mutes, r->type, r)) {
			c->muted++;
			continue;
		}
		r->seq = c->seq + 1; /* the journal's copy: its seq is nobody's */
		int err = ring_put(c, r, r->size);
		if (err == -ENOSPC) {
			c->jpos = before; /* again next turn, once it has read */
			break;
		}
		if (err) {
			c->misbehaved = 1;
			c->doomed = "corrupt ring tail";
			break;
		}
		c->seq++;
		c->delivered++;
		c->replayed++;
	}
	publish(c);
}

void broker_flush(void)
{
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (B.clients[i] && B.clients[i]->doomed)
			client_free(B.clients[i], B.clients[i]->doomed);
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = B.clients[i];
		if (c && c->replaying && c->hdr && !c->doomed)
			replay(c);
		/* a registered client's acknowledged position, for its next
		 * start (untrusted: it only ever moves its own replay) */
		if (c && c->ctl && c->ent.manifest[0] && !c->ent.shadow) {
			uint64_t a = atomic_load_explicit((_Atomic uint64_t *)&c->ctl->acked_global_seq,
							  memory_order_relaxed);
			if (a != c->acked && a <= journal_seq_hwm()) {
				c->acked = a;
				journal_set_cursor(c->ent.manifest, a);
			}
		}
		if (c && c->hdr && c->hdr->head != c->head)
			publish(c);
	}
}

/* ---- authorization ---- */

static struct client *client_by_id(uint32_t id)
{
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (B.clients[i] && B.clients[i]->id == id)
			return B.clients[i];
	return NULL;
}

int broker_auth_voters(uint32_t type, struct auth_voter *v, int max)
{
	int n = 0;
	for (int i = 0; i < MAX_CLIENTS && n < max; i++) {
		struct client *c = B.clients[i];
		if (!c || !c->hdr || c->doomed || !((c->auth_mask >> type) & 1))
			continue;
		v[n].client_id = c->id;
		v[n].pid = (uint32_t)c->pid;
		v[n].deadline_ns = c->deadline_ns[type];
		v[n].default_verdict = (c->auth_deny_mask >> type) & 1 ? WARD_VERDICT_DENY : WARD_VERDICT_ALLOW;
		v[n].want_file = (c->auth_file_mask >> type) & 1;
		v[n].shadow = c->ent.shadow;
		snprintf(v[n].manifest, sizeof(v[n].manifest), "%s", c->ent.manifest);
		n++;
	}
	return n;
}

int broker_send_to(uint32_t client_id, void *rec, size_t size)
{
	struct client *c = client_by_id(client_id);
	if (!c || !c->hdr || c->doomed)
		return -ENOENT;
	struct ward_rec *r = rec;
	r->seq = ++c->seq;
	int err = ring_put(c, rec, (uint32_t)size);
	if (err == -EPROTO) {
		c->misbehaved = 1;
		c->doomed = "corrupt ring tail"; /* see broker_deliver */
		return -ENOENT;
	}
	if (err) {
		c->lost++;
		atomic_store_explicit((_Atomic uint64_t *)&c->hdr->lost, c->lost, memory_order_relaxed);
		return err;
	}
	c->delivered++;
	publish(c); /* a request waits on it: no batching */
	return 0;
}

int broker_muted(uint32_t client_id, uint32_t type, const void *rec)
{
	struct client *c = client_by_id(client_id);
	if (!c || !(c->mutes.n || c->mutes.inverted) || !muteset_drops(&c->mutes, type, rec))
		return 0;
	c->muted++;
	return 1;
}

int broker_send_file(uint32_t client_id, uint64_t auth_id, int fd)
{
	struct client *c = client_by_id(client_id);
	if (!c)
		return -ENOENT;
	struct ward_msg_file f = {.auth_id = auth_id};
	return send_msg(c, WARD_MSG_FILE, &f, sizeof(f), &fd, 1) ? -EAGAIN : 0;
}

const char *broker_client_name(uint32_t client_id)
{
	struct client *c = client_by_id(client_id);
	return c ? c->name : "(gone)";
}

int broker_strike(uint32_t client_id)
{
	struct client *c = client_by_id(client_id);
	if (!c)
		return 0;
	long now = now_s();
	if (now - c->strike_window >= STRIKE_WINDOW_S) {
		c->strike_window = now;
		c->strikes = 0;
	}
	c->missed++;
	return ++c->strikes >= B.auth.strikes;
}

void broker_disconnect(uint32_t client_id, const char *why)
{
	struct client *c = client_by_id(client_id);
	if (c && !c->doomed) {
		c->misbehaved = 1; /* auth.c: too many missed deadlines */
		c->doomed = why; /* freed at the end of the turn (broker_flush) */
	}
}

int broker_manifest_stats(const char *manifest, struct broker_conn_stats *st)
{
	int n = 0;
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = B.clients[i];
		if (!c || !c->welcomed || strcmp(c->ent.manifest, manifest) || c->ent.shadow)
			continue;
		n++;
		st->delivered += c->delivered;
		st->lost += c->lost;
		st->verdicts += c->answered;
		st->deadlines_missed += c->missed;
		st->muted += c->muted;
	}
	return n;
}

void broker_disconnect_manifest(const char *manifest, const char *why)
{
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = B.clients[i];
		if (c && c->welcomed && manifest[0] && !strcmp(c->ent.manifest, manifest) && !c->doomed)
			c->doomed = why; /* freed at the end of the turn (broker_flush) */
	}
}

void broker_status(struct json_object *obj)
{
	struct json_object *arr = json_object_new_array();
	int listed = 0, welcomed = 0;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = B.clients[i];
		if (!c || !c->welcomed)
			continue;
		if (++welcomed > STATUS_CLIENTS_MAX)
			continue; /* counted below; the reply must fit one message */
		listed++;
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(c->id));
		json_object_object_add(o, "name", json_object_new_string(c->name));
		json_object_object_add(o, "pid", json_object_new_int64(c->pid));
		json_object_object_add(o, "uid", json_object_new_int64(c->uid));
		json_object_object_add(o, "manifest",
				       c->ent.manifest[0] ? json_object_new_string(c->ent.manifest) : NULL);
		struct json_object *subs = json_object_new_array();
		for (uint32_t t = 1; t < WARD_EV_MAX_; t++)
			if ((c->mask >> t) & 1)
				json_object_array_add(subs, json_object_new_string(ward_event_type_name(t)));
		json_object_object_add(o, "subscribed", subs);
		if (c->auth_mask) {
			struct json_object *auth = json_object_new_array();
			for (uint32_t t = 1; t < WARD_EV_MAX_; t++)
				if ((c->auth_mask >> t) & 1)
					json_object_array_add(auth, json_object_new_string(ward_event_type_name(t)));
			json_object_object_add(o, "auth", auth);
			for (uint32_t t = 1; t < WARD_EV_MAX_; t++)
				if ((c->auth_mask >> t) & 1) {
					json_object_object_add(o, "deadline_ms",
							       json_object_new_uint64(c->deadline_ns[t] / 1000000));
					break; /* the first; "deadlines_ms" has each */
				}
			struct json_object *dl = json_object_new_object();
			for (uint32_t t = 1; t < WARD_EV_MAX_; t++)
				if ((c->auth_mask >> t) & 1)
					json_object_object_add(dl, ward_event_type_name(t),
							       json_object_new_uint64(c->deadline_ns[t] / 1000000));
			json_object_object_add(o, "deadlines_ms", dl);
			json_object_object_add(o, "verdicts", json_object_new_uint64(c->answered));
			json_object_object_add(o, "deadlines_missed", json_object_new_uint64(c->missed));
		}
		if (c->net_rules)
			json_object_object_add(o, "net_rules", json_object_new_uint64(c->net_rules));
		if (c->mutes.n || c->mutes.inverted) {
			json_object_object_add(o, "mutes", json_object_new_uint64(c->mutes.n));
			json_object_object_add(o, "muted", json_object_new_uint64(c->muted));
		}
		json_object_object_add(o, "delivered", json_object_new_uint64(c->delivered));
		json_object_object_add(o, "lost", json_object_new_uint64(c->lost));
		if (c->replaying || c->replayed) {
			json_object_object_add(o, "replaying", json_object_new_boolean(c->replaying));
			json_object_object_add(o, "replayed", json_object_new_uint64(c->replayed));
		}
		json_object_object_add(o, "ring_bytes", json_object_new_uint64(c->size));
		json_object_array_add(arr, o);
	}
	json_object_object_add(obj, "clients", arr);
	json_object_object_add(obj, "clients_connected", json_object_new_int(welcomed));
	json_object_object_add(obj, "clients_not_listed", json_object_new_int(welcomed - listed));
	json_object_object_add(obj, "connections_refused", json_object_new_uint64(B.refused));
	json_object_object_add(obj, "client_ring_bytes_total", json_object_new_uint64(B.ring_total));
	if (B.inherited_mask)
		json_object_object_add(obj, "inherited_subscriptions_for_s",
				       json_object_new_int64(B.inherited_until - now_s()));
	json_object_object_add(obj, "clients_disconnected_bad_messages",
			       json_object_new_uint64(B.disconnects_bad_msg));
}

void broker_shutdown(void)
{
	B.shutting_down = 1; /* the journal keeps the subscriptions of before */
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (B.clients[i])
			client_free(B.clients[i], NULL);
	if (B.fd >= 0) {
		close(B.fd);
		unlink(B.path);
		B.fd = -1;
	}
}
