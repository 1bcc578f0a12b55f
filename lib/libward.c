/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libward.c — the client side of the wardd protocol (wire.h): the handshake
 * on the control socket, request/reply messages, and consumption of the
 * shared-memory event ring.  The names and record code live in names.c and
 * record.c, the content helpers that need no connection in content.c; this
 * file implements the rest of ward.h.
 *
 * The ring is written by wardd and read here; nothing read from it is
 * trusted until ward_rec_validate() has accepted it, so a corrupt ring
 * yields -EPROTO instead of an out-of-bounds read.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ward/ward.h>
#include "record.h"
#include "wire.h"

_Static_assert(WARD_EV_MAX_ <= 64, "notify_mask holds one bit per event type");

#define CTL_MAP_SIZE 4096u
#define SOCK_TIMEOUT_S 5       /* a hung wardd must not hang the client forever */
#define DISPATCH_BATCH 4096    /* bound one ward_client_dispatch() call */
#define RING_MIN (1ull << 12)  /* sanity bounds on the ring wardd offers */
#define RING_MAX (1ull << 30)
#define WELCOME_NFDS 3
#define FILES_MAX 64           /* file descriptors of requests kept until taken */

struct ward_client {
	int sock;
	int wake_fd;  /* read end of wardd's wake-up pipe (our own description) */
	int kick_fd;  /* our own eventfd: keeps poll_fd readable after a cut batch */
	int poll_fd;  /* epoll of wake_fd, kick_fd and sock, for ward_client_fd() */
	void *ring_map;       /* header page + data area, read-only */
	size_t ring_map_len;
	const struct ward_ring_hdr *hdr;
	const uint8_t *data;
	uint64_t size;        /* data bytes, power of two */
	struct ward_ring_ctl *ctl;
	uint64_t pos;         /* next byte to read */
	uint64_t released;    /* last tail published to wardd */
	uint64_t last_seq;
	uint64_t handed_gseq;  /* global_seq of the last record handed out */
	bool refused;         /* the last msg_recv() got wardd's REPLY refusing */
	uint64_t received;
	uint64_t gaps;
	uint32_t client_id;
	/* the whole subscription, re-sent on every change of either part */
	struct ward_msg_subscribe sub;
	/* descriptors wardd sent with AUTH requests, until taken (oldest
	 * replaced, and closed, when more arrive) */
	struct { uint64_t auth_id; int fd; } files[FILES_MAX];
	unsigned files_next;
};

/* ---- control socket ---- */

static int sock_path(struct sockaddr_un *sa, socklen_t *len)
{
	const char *dir = secure_getenv("WARD_RUNTIME_DIR");
	if (!dir || !*dir)
		dir = WARD_DEFAULT_RUNTIME_DIR;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	int n = snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", dir, WARD_SOCK_NAME);
	if (n < 0 || (size_t)n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
	return 0;
}

static int sock_connect(int *ret)
{
	struct sockaddr_un sa;
	socklen_t salen;
	int r = sock_path(&sa, &salen);
	if (r < 0)
		return r;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct timeval tv = { .tv_sec = SOCK_TIMEOUT_S };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, salen) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*ret = fd;
	return 0;
}

static int io_error(int err)
{
	switch (err) {
	case EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case EWOULDBLOCK:
#endif
		return -ETIMEDOUT; /* SO_RCVTIMEO / SO_SNDTIMEO expired */
	case ECONNRESET:
	case ENOTCONN:
		return -EPIPE;
	default:
		return -err;
	}
}

static int msg_send(int fd, uint16_t type, const void *body, size_t len)
{
	struct ward_msg m = {
		.magic = WARD_MSG_MAGIC,
		.type = type,
		.len = (uint32_t)(sizeof(m) + len),
	};
	struct iovec iov[2] = {
		{ .iov_base = &m, .iov_len = sizeof(m) },
		{ .iov_base = (void *)body, .iov_len = len },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	ssize_t n;
	do
		n = sendmsg(fd, &mh, MSG_NOSIGNAL); /* never raise SIGPIPE in the caller */
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return io_error(errno);
	return (size_t)n == sizeof(m) + len ? 0 : -EPROTO;
}

/* Close every descriptor an SCM_RIGHTS message brought in; store up to
 * @nfds of them in @fds first if @fds is given.  Returns how many there were. */
static size_t take_fds(struct msghdr *mh, int *fds, size_t nfds, bool keep)
{
	size_t count = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		const uint8_t *p = CMSG_DATA(cm);
		for (size_t i = 0; i < n; i++, count++) {
			int fd;
			memcpy(&fd, p + i * sizeof(int), sizeof(int));
			if (keep && count < nfds)
				fds[count] = fd;
			else
				close(fd);
		}
	}
	return count;
}

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Keep the descriptor wardd sent with request @auth_id. */
static void file_stash(ward_client *c, uint64_t auth_id, int fd)
{
	unsigned i = c->files_next++ % FILES_MAX;
	if (c->files[i].fd >= 0)
		close(c->files[i].fd);
	c->files[i].auth_id = auth_id;
	c->files[i].fd = fd;
}

/* A FILE message (@n bytes read into @m and @body, @got descriptors in @fds):
 * stash it.  Returns 0 or -EPROTO (descriptors closed). */
static int file_msg(ward_client *c, const struct ward_msg *m, const void *body, ssize_t n,
		    int *fds, size_t got, int msg_flags)
{
	struct ward_msg_file f;
	if ((msg_flags & MSG_TRUNC) || m->len != (size_t)n || (size_t)n != sizeof(*m) + sizeof(f)) {
		close_fds(fds, got);
		return -EPROTO;
	}
	/* At its descriptor limit, the process gets the message without the
	 * descriptor (MSG_CTRUNC): that request simply has none. */
	if (got == 0 && (msg_flags & MSG_CTRUNC))
		return 0;
	if (got != 1) {
		close_fds(fds, got);
		return -EPROTO;
	}
	memcpy(&f, body, sizeof(f));
	file_stash(c, f.auth_id, fds[0]);
	return 0;
}

/*
 * Receive one message of @type into @body (@cap bytes, at least 8).  *len
 * gets the body length.  If @fds is given, exactly @nfds descriptors must
 * come with it; otherwise none may.  FILE messages (descriptors of AUTH
 * requests, sent whenever wardd asks) met on the way are stashed.  On error
 * no descriptor is left open.
 */
static int msg_recv(ward_client *c, uint16_t type, void *body, size_t cap, size_t *len,
		    int *fds, size_t nfds)
{
	for (;;) {
		struct ward_msg m;
		struct iovec iov[2] = {
			{ .iov_base = &m, .iov_len = sizeof(m) },
			{ .iov_base = body, .iov_len = cap },
		};
		union {
			struct cmsghdr align;
			uint8_t buf[CMSG_SPACE(sizeof(int) * WELCOME_NFDS)];
		} ctrl;
		struct msghdr mh = {
			.msg_iov = iov, .msg_iovlen = 2,
			.msg_control = ctrl.buf, .msg_controllen = sizeof(ctrl.buf),
		};
		ssize_t n;
		do
			n = recvmsg(c->sock, &mh, MSG_CMSG_CLOEXEC);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return io_error(errno);
		if (n == 0)
			return -EPIPE;
		bool truncated = (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0;
		if ((size_t)n >= sizeof(m) && m.magic == WARD_MSG_MAGIC && m.type == WARD_MSG_FILE &&
		    type != WARD_MSG_FILE) {
			int ffds[WELCOME_NFDS];
			size_t got = take_fds(&mh, ffds, WELCOME_NFDS, true);
			int r = file_msg(c, &m, body, n, ffds, got < WELCOME_NFDS ? got : WELCOME_NFDS, mh.msg_flags);
			if (r < 0)
				return r;
			continue;
		}
		size_t got = take_fds(&mh, fds, nfds, fds != NULL);
		bool ok = !truncated && (size_t)n >= sizeof(m) && m.magic == WARD_MSG_MAGIC &&
			  m.type == type && m.len == (size_t)n && got == (fds ? nfds : 0);
		if (!ok) {
			if (fds)
				close_fds(fds, got < nfds ? got : nfds);
			/* wardd refuses a connection, a status or a content
			 * request with a REPLY in place of the answer: pass
			 * its error on (the connection is still in step) */
			struct ward_msg_reply rep;
			if ((type == WARD_MSG_WELCOME || type == WARD_MSG_STATUS_REPLY ||
			     type == WARD_MSG_CONTENT_REPLY) && !truncated && m.magic == WARD_MSG_MAGIC &&
			    m.type == WARD_MSG_REPLY && (size_t)n == sizeof(m) + sizeof(rep) && m.len == (size_t)n &&
			    cap >= sizeof(rep)) {
				memcpy(&rep, body, sizeof(rep));
				if (rep.error < 0 && rep.error > -4096) {
					c->refused = true;
					return rep.error;
				}
			}
			return -EPROTO;
		}
		*len = (size_t)n - sizeof(m);
		return 0;
	}
}

/* Read every FILE message waiting on the socket, without blocking.  Any
 * other message now is a protocol error: no request is outstanding. */
static int drain_files(ward_client *c)
{
	for (;;) {
		struct ward_msg m;
		uint8_t body[sizeof(struct ward_msg_file)];
		struct iovec iov[2] = { { &m, sizeof(m) }, { body, sizeof(body) } };
		union {
			struct cmsghdr align;
			uint8_t buf[CMSG_SPACE(sizeof(int) * WELCOME_NFDS)];
		} ctrl;
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2,
				     .msg_control = ctrl.buf, .msg_controllen = sizeof(ctrl.buf) };
		ssize_t n = recvmsg(c->sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : io_error(errno);
		if (n == 0)
			return -EPIPE;
		int fds[WELCOME_NFDS];
		size_t got = take_fds(&mh, fds, WELCOME_NFDS, true);
		if (got > WELCOME_NFDS)
			got = WELCOME_NFDS;
		if ((size_t)n < sizeof(m) || m.magic != WARD_MSG_MAGIC || m.type != WARD_MSG_FILE) {
			close_fds(fds, got);
			return -EPROTO;
		}
		int r = file_msg(c, &m, body, n, fds, got, mh.msg_flags);
		if (r < 0)
			return r;
	}
}

/* A fixed-size reply whose body is exactly @size bytes. */
static int msg_recv_fixed(ward_client *c, uint16_t type, void *body, size_t size, int *fds, size_t nfds)
{
	size_t len;
	int r = msg_recv(c, type, body, size, &len, fds, nfds);
	if (r < 0)
		return r;
	if (len != size) {
		if (fds)
			close_fds(fds, nfds);
		return -EPROTO;
	}
	return 0;
}

/* After a failed request the reply may still arrive and would be taken as
 * the answer to the next one; the connection is no longer usable, so shut it
 * down (wardd then drops the client, and waits here report -EPIPE). */
static int request_failed(ward_client *c, int err)
{
	shutdown(c->sock, SHUT_RDWR);
	return err;
}

/* ---- handshake ---- */

/* Copy @name into @dst (64 bytes, NUL-padded), not cutting a UTF-8 sequence. */
static void copy_name(char dst[64], const char *name)
{
	memset(dst, 0, 64);
	if (!name)
		return;
	size_t n = strnlen(name, 64);
	if (n == 64) {
		n = 63;
		while (n > 0 && ((unsigned char)name[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, name, n);
}

static int map_ring(ward_client *c, int ring_fd, uint64_t ring_size)
{
	struct stat st;
	if (ring_size < RING_MIN || ring_size > RING_MAX || (ring_size & (ring_size - 1)))
		return -EPROTO;
	size_t len = WARD_RING_HDR_SIZE + (size_t)ring_size;
	/* a memfd shorter than the mapping would turn reads into SIGBUS */
	if (fstat(ring_fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < len)
		return -EPROTO;
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, ring_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	c->ring_map = p;
	c->ring_map_len = len;
	c->hdr = p;
	c->data = (const uint8_t *)p + WARD_RING_HDR_SIZE;
	c->size = ring_size;
	if (c->hdr->magic != WARD_RING_MAGIC || c->hdr->version != WARD_API_VERSION ||
	    c->hdr->size != ring_size)
		return -EPROTO;
	return 0;
}

static int map_ctl(ward_client *c, int ctl_fd)
{
	struct stat st;
	if (fstat(ctl_fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < sizeof(struct ward_ring_ctl))
		return -EPROTO;
	void *p = mmap(NULL, CTL_MAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, ctl_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	c->ctl = p;
	c->pos = c->released = __atomic_load_n(&c->ctl->tail, __ATOMIC_ACQUIRE);
	return (c->pos & 7) ? -EPROTO : 0;
}

/* $WARD_CLIENT_RING_KB as the log2 of a ring size wardd accepts (64 KiB to
 * 256 MiB, rounded up to a power of two); 0 (wardd's default) otherwise. */
static uint32_t ring_size_log2(void)
{
	const char *s = secure_getenv("WARD_CLIENT_RING_KB");
	if (!s || !*s)
		return 0;
	char *end;
	unsigned long kb = strtoul(s, &end, 10);
	if (*end || kb < 64 || kb > 262144)
		return 0;
	uint32_t log2 = 16;
	while ((1ul << log2) < kb * 1024)
		log2++;
	return log2;
}

static int handshake(ward_client *c, const char *name)
{
	struct ward_msg_hello hello = { .api_version = WARD_API_VERSION,
					.ring_size_log2 = ring_size_log2() };
	copy_name(hello.name, name);
	int r = msg_send(c->sock, WARD_MSG_HELLO, &hello, sizeof(hello));
	if (r < 0)
		return r;

	struct ward_msg_welcome w;
	int fds[WELCOME_NFDS];
	r = msg_recv_fixed(c, WARD_MSG_WELCOME, &w, sizeof(w), fds, WELCOME_NFDS);
	if (r < 0)
		return r;
	c->wake_fd = fds[2];
	if (w.api_version != WARD_API_VERSION)
		r = -EPROTO;
	if (r == 0)
		r = map_ring(c, fds[0], w.ring_size);
	if (r == 0)
		r = map_ctl(c, fds[1]);
	/* the mappings keep the memfds alive */
	close(fds[0]);
	close(fds[1]);
	c->client_id = w.client_id;
	return r;
}

/* One descriptor for the caller's poll loop that turns readable both when
 * events wait (the wake-up pipe, or our own kick) and when wardd goes away
 * (the socket hangs up, which the pipe alone would not show at once). */
static int make_poll_fd(ward_client *c)
{
	/* the wake-up pipe's read end is ours alone: non-blocking is safe */
	int fl = fcntl(c->wake_fd, F_GETFL);
	if (fl < 0 || fcntl(c->wake_fd, F_SETFL, fl | O_NONBLOCK))
		return -errno;
	c->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->poll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (c->kick_fd < 0 || c->poll_fd < 0)
		return -errno;
	struct epoll_event ev = { .events = EPOLLIN };
	if (epoll_ctl(c->poll_fd, EPOLL_CTL_ADD, c->wake_fd, &ev) ||
	    epoll_ctl(c->poll_fd, EPOLL_CTL_ADD, c->kick_fd, &ev))
		return -errno;
	ev.events = EPOLLRDHUP;
	if (epoll_ctl(c->poll_fd, EPOLL_CTL_ADD, c->sock, &ev))
		return -errno;
	return 0;
}

int ward_client_new(ward_client **ret, const char *name)
{
	if (!ret)
		return -EINVAL;
	ward_client *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->sock = c->wake_fd = c->kick_fd = c->poll_fd = -1;
	for (unsigned i = 0; i < FILES_MAX; i++)
		c->files[i].fd = -1;
	int r = sock_connect(&c->sock);
	if (r == 0)
		r = handshake(c, name);
	if (r == 0)
		r = make_poll_fd(c);
	if (r < 0) {
		ward_client_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

ward_client *ward_client_free(ward_client *c)
{
	if (!c)
		return NULL;
	if (c->ctl)
		munmap(c->ctl, CTL_MAP_SIZE);
	if (c->ring_map)
		munmap(c->ring_map, c->ring_map_len);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	if (c->poll_fd >= 0)
		close(c->poll_fd);
	if (c->kick_fd >= 0)
		close(c->kick_fd);
	if (c->sock >= 0)
		close(c->sock);
	for (unsigned i = 0; i < FILES_MAX; i++)
		if (c->files[i].fd >= 0)
			close(c->files[i].fd);
	free(c);
	return NULL;
}

/* ---- requests ---- */

/* Send a request answered by REPLY; returns wardd's error (0 or -errno)
 * and stores the reply's value in *@value (if not NULL) on success. */
static int request_value(ward_client *c, uint16_t type, const void *body, size_t len, uint32_t *value)
{
	int r = msg_send(c->sock, type, body, len);
	if (r < 0)
		return request_failed(c, r);
	struct ward_msg_reply rep;
	r = msg_recv_fixed(c, WARD_MSG_REPLY, &rep, sizeof(rep), NULL, 0);
	if (r < 0)
		return request_failed(c, r);
	if (rep.error > 0)
		return -EPROTO;
	if (rep.error == 0 && value)
		*value = rep.value;
	return rep.error;
}

static int request(ward_client *c, uint16_t type, const void *body, size_t len)
{
	return request_value(c, type, body, len, NULL);
}

/* Send the subscription @sub; kept on success. */
static int send_subscription(ward_client *c, const struct ward_msg_subscribe *sub)
{
	int r = request(c, WARD_MSG_SUBSCRIBE, sub, sizeof(*sub));
	if (r == 0)
		c->sub = *sub;
	return r;
}

int ward_client_subscribe(ward_client *c, const uint32_t *types, size_t n)
{
	if (!c || (n && !types))
		return -EINVAL;
	struct ward_msg_subscribe sub = c->sub;
	sub.notify_mask = 0;
	for (size_t i = 0; i < n; i++) {
		if (types[i] == WARD_EV_INVALID || types[i] >= WARD_EV_MAX_)
			return -EINVAL;
		sub.notify_mask |= 1ull << types[i];
	}
	return send_subscription(c, &sub);
}

int ward_client_subscribe_auth(ward_client *c, const struct ward_auth_sub *subs, size_t n,
			       uint32_t deadline_ms)
{
	if (!c || (n && !subs))
		return -EINVAL;
	struct ward_msg_subscribe sub = c->sub;
	sub.auth_mask = sub.auth_deny_mask = sub.auth_file_mask = 0;
	sub.deadline_ms = deadline_ms;
	for (size_t i = 0; i < n; i++) {
		uint32_t t = subs[i].type;
		if ((t != WARD_EV_AUTH_EXEC && t != WARD_EV_AUTH_OPEN) ||
		    subs[i].default_verdict > WARD_VERDICT_DENY || (subs[i].flags & ~WARD_AUTH_FILE))
			return -EINVAL;
		sub.auth_mask |= 1ull << t;
		if (subs[i].default_verdict == WARD_VERDICT_DENY)
			sub.auth_deny_mask |= 1ull << t;
		if (subs[i].flags & WARD_AUTH_FILE)
			sub.auth_file_mask |= 1ull << t;
	}
	return send_subscription(c, &sub);
}

int ward_client_respond(ward_client *c, uint64_t auth_id, uint32_t verdict, uint32_t flags)
{
	if (!c || verdict > WARD_VERDICT_DENY || (flags & ~WARD_RESPOND_CACHE))
		return -EINVAL;
	struct ward_msg_verdict v = { .auth_id = auth_id, .verdict = verdict, .flags = flags };
	struct ward_msg m = { .magic = WARD_MSG_MAGIC, .type = WARD_MSG_VERDICT,
			      .len = (uint32_t)(sizeof(m) + sizeof(v)) };
	struct iovec iov[2] = { { &m, sizeof(m) }, { &v, sizeof(v) } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;
	/* Never blocks: a wardd that does not read is a wardd whose deadline
	 * decides anyway, and a decision thread must not hang on it. */
	do
		n = sendmsg(c->sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? -EAGAIN : io_error(errno);
	return (size_t)n == sizeof(m) + sizeof(v) ? 0 : -EPROTO;
}

int ward_client_clear_cache(ward_client *c)
{
	if (!c)
		return -EINVAL;
	return request(c, WARD_MSG_CLEAR_CACHE, NULL, 0);
}

/* A request whose answer is JSON text (STATUS, CONTENT): send @type with
 * @body, take a @reply_type of text without NUL into a malloc'd string. */
static int text_request(ward_client *c, uint16_t type, const char *body, size_t len, uint16_t reply_type,
			char **ret)
{
	/* allocate first: running out of memory must not cost the connection */
	size_t cap = WARD_MSG_MAX - sizeof(struct ward_msg), got;
	char *buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	int r = msg_send(c->sock, type, body, len);
	if (r < 0) {
		free(buf);
		return request_failed(c, r);
	}
	c->refused = false;
	r = msg_recv(c, reply_type, buf, cap, &got, NULL, 0);
	if (r == 0 && memchr(buf, '\0', got))
		r = -EPROTO; /* the body is text without NUL */
	if (r < 0) {
		free(buf);
		return c->refused ? r : request_failed(c, r);
	}
	buf[got] = '\0';
	char *shrunk = realloc(buf, got + 1);
	*ret = shrunk ? shrunk : buf;
	return 0;
}

int ward_client_status_json(ward_client *c, char **ret)
{
	if (!c || !ret)
		return -EINVAL;
	return text_request(c, WARD_MSG_STATUS, NULL, 0, WARD_MSG_STATUS_REPLY, ret);
}

int ward_client_content(ward_client *c, const char *request_json, char **ret)
{
	if (!c || !request_json || !ret)
		return -EINVAL;
	size_t cap = WARD_MSG_MAX - sizeof(struct ward_msg);
	size_t req_len = strnlen(request_json, cap + 1);
	if (req_len == 0 || req_len > cap)
		return -EINVAL; /* nothing sent: the connection is still in step */
	return text_request(c, WARD_MSG_CONTENT, request_json, req_len, WARD_MSG_CONTENT_REPLY, ret);
}

/* ---- the ring ---- */

static uint64_t ring_head(const ward_client *c)
{
	return __atomic_load_n(&c->hdr->head, __ATOMIC_ACQUIRE);
}

static void ring_release(ward_client *c)
{
	if (c->released == c->pos)
		return;
	/* what was handed out is done with: acknowledged (wardd keeps it for
	 * ward_client_resume(c, WARD_RESUME_LAST)) */
	if (c->handed_gseq)
		__atomic_store_n(&c->ctl->acked_global_seq, c->handed_gseq, __ATOMIC_RELAXED);
	__atomic_store_n(&c->ctl->tail, c->pos, __ATOMIC_RELEASE);
	c->released = c->pos;
}

/*
 * Find the record at pos, skipping padding.  Returns 1 with *rec set,
 * 0 if the ring is empty, -EPROTO if it is corrupt (pos is then left at the
 * bad record, so every later call reports it too).
 */
static int ring_peek(ward_client *c, const struct ward_rec **rec)
{
	for (;;) {
		uint64_t avail = ring_head(c) - c->pos;
		if (avail == 0)
			return 0;
		if (avail > c->size)
			return -EPROTO;
		uint64_t off = c->pos & (c->size - 1);
		uint64_t rem = c->size - off;
		if (rem < sizeof(struct ward_rec)) {
			/* too short for any record, so wardd must have padded it,
			 * with a short PAD stub or nothing at all */
			if (avail < rem)
				return -EPROTO;
			c->pos += rem;
			continue;
		}
		const struct ward_rec *r = (const void *)(c->data + off);
		uint64_t lim = avail < rem ? avail : rem;
		if (lim < sizeof(*r))
			return -EPROTO;
		if (r->type == WARD_REC_PAD) {
			if (r->size != rem || avail < rem)
				return -EPROTO;
			c->pos += rem;
			continue;
		}
		if (ward_rec_validate(r, (size_t)lim) < 0)
			return -EPROTO;
		*rec = r;
		return 1;
	}
}

/* The caller now owns @r: account for it and move past it. */
static void ring_consume(ward_client *c, const struct ward_rec *r)
{
	if (c->last_seq != 0 && r->seq != c->last_seq + 1)
		c->gaps++;
	c->last_seq = r->seq;
	c->handed_gseq = r->global_seq;
	c->received++;
	c->pos += r->size;
}

/* ---- waiting ---- */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int time_left(int timeout_ms, int64_t deadline)
{
	if (timeout_ms <= 0)
		return timeout_ms;
	int64_t left = deadline - now_ms();
	return left > 0 ? (int)left : 0;
}

/* The socket is readable or hung up while no request is outstanding: that is
 * wardd going away (or sending something it must not). */
static int sock_check(ward_client *c, short revents)
{
	if (revents & POLLNVAL)
		return -EBADF;
	if (revents & (POLLHUP | POLLERR))
		return -EPIPE;
	char b;
	ssize_t n = recv(c->sock, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		return -EPIPE;
	return n > 0 ? drain_files(c) : 0; /* only FILE messages may come unasked */
}

/* Empty the wake-up pipe and the kick eventfd (both non-blocking, both
 * ours alone: wardd keeps the pipe's write end). */
static int drain_wakeups(ward_client *c)
{
	char buf[256];
	ssize_t n;
	while ((n = read(c->wake_fd, buf, sizeof(buf))) > 0)
		;
	/* 0: wardd closed its end (the socket says why); EAGAIN: empty */
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		return -errno;
	uint64_t v;
	if (read(c->kick_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

/* Poll the wake-up pipe and the socket for up to @timeout_ms, then drain. */
static int poll_once(ward_client *c, int timeout_ms)
{
	struct pollfd p[2] = {
		{ .fd = c->wake_fd, .events = POLLIN },
		{ .fd = c->sock, .events = POLLIN },
	};
	if (poll(p, 2, timeout_ms) < 0)
		return -errno;
	if (p[1].revents) {
		int r = sock_check(c, p[1].revents);
		if (r < 0)
			return r;
	}
	if (p[0].revents & POLLNVAL)
		return -EBADF;
	return drain_wakeups(c);
}

/*
 * Wait up to @timeout_ms for a record.  Whenever the ring is found empty,
 * even with timeout 0, the wake-up pipe is drained and ctl->waiting armed, so
 * that a caller polling ward_client_fd() is woken by the next record.
 * Draining comes before arming: a wake-up wardd sends after seeing waiting
 * set must not be swallowed.
 */
static int ring_wait(ward_client *c, const struct ward_rec **rec, int timeout_ms)
{
	int64_t deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	bool drained = false;
	for (;;) {
		int r = ring_peek(c, rec);
		if (r != 0)
			return r;
		if (__atomic_load_n(&c->hdr->closed, __ATOMIC_ACQUIRE))
			return -EPIPE;
		if (!drained && (r = poll_once(c, 0)) < 0)
			return r;
		__atomic_store_n(&c->ctl->waiting, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&c->hdr->head, __ATOMIC_SEQ_CST) != c->pos) {
			drained = false;
			continue;
		}
		int left = time_left(timeout_ms, deadline);
		if (left == 0)
			return 0;
		if ((r = poll_once(c, left)) < 0)
			return r;
		drained = true;
	}
}

int ward_client_next(ward_client *c, const ward_event **ev, int timeout_ms)
{
	if (!c || !ev)
		return -EINVAL;
	ring_release(c); /* the event handed out last time is done with */
	const struct ward_rec *r;
	int k = ring_wait(c, &r, timeout_ms);
	if (k <= 0)
		return k;
	ring_consume(c, r);
	*ev = (const ward_event *)r;
	return 1;
}

/* Keep ward_client_fd() readable while records are left behind by a cut-short
 * batch, so a caller that dispatches once per wake-up does not stall.  An
 * eventfd write only blocks near counter overflow, which cannot happen here. */
static void kick(ward_client *c)
{
	uint64_t one = 1;
	if (write(c->kick_fd, &one, sizeof(one)) < 0) {
		/* nothing to do: the next wait still sees the records */
	}
}

int ward_client_dispatch(ward_client *c, ward_event_fn fn, void *userdata, int timeout_ms)
{
	if (!c || !fn)
		return -EINVAL;
	ring_release(c);
	const struct ward_rec *r;
	int k = ring_wait(c, &r, timeout_ms);
	if (k <= 0)
		return k;
	int n = 0;
	do {
		ring_consume(c, r);
		n++;
		if (fn((const ward_event *)r, userdata) != 0 || n >= DISPATCH_BATCH)
			break;
	} while ((k = ring_peek(c, &r)) == 1);
	/* an error met mid-batch is reported by the next call, at the same record */
	ring_release(c);
	if (k != 0 && ring_head(c) != c->pos)
		kick(c);
	return n;
}

int ward_client_fd(const ward_client *c)
{
	return c ? c->poll_fd : -EINVAL;
}

int ward_client_stats(const ward_client *c, struct ward_client_stats *st)
{
	if (!c || !st)
		return -EINVAL;
	st->received = c->received;
	st->lost = __atomic_load_n(&c->hdr->lost, __ATOMIC_RELAXED);
	st->gaps = c->gaps;
	return 0;
}

/* ---- events ---- */

static const struct ward_rec *rec_of(const ward_event *ev)
{
	return (const struct ward_rec *)ev;
}

uint32_t ward_event_type(const ward_event *ev)
{
	return rec_of(ev)->type;
}

uint64_t ward_event_seq(const ward_event *ev)
{
	return rec_of(ev)->seq;
}

uint64_t ward_event_global_seq(const ward_event *ev)
{
	return rec_of(ev)->global_seq;
}

uint64_t ward_event_time(const ward_event *ev)
{
	return rec_of(ev)->time_ns;
}

static int find_num(const ward_event *ev, uint32_t f, uint64_t *out)
{
	/* fields unknown to this library were not checked: never read them */
	if (f > UINT16_MAX || ward_field_kind(f) == WARD_KIND_NONE)
		return -ENOENT;
	const struct ward_field_hdr *h = ward_rec_find(rec_of(ev), (uint16_t)f);
	if (!h)
		return -ENOENT;
	if (h->kind != WARD_KIND_U64 && h->kind != WARD_KIND_I64)
		return -EINVAL;
	memcpy(out, h + 1, sizeof(*out));
	return 0;
}

int ward_event_u64(const ward_event *ev, uint32_t f, uint64_t *out)
{
	uint64_t v;
	int r = find_num(ev, f, &v);
	if (r == 0)
		*out = v;
	return r;
}

int ward_client_take_file(ward_client *c, const ward_event *ev)
{
	if (!c || !ev)
		return -EINVAL;
	uint64_t id;
	if (ward_event_u64(ev, WARD_F_AUTH_ID, &id) < 0)
		return -ENOENT;
	/* wardd sends the descriptor before it puts the request in the ring */
	int r = drain_files(c);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < FILES_MAX; i++)
		if (c->files[i].fd >= 0 && c->files[i].auth_id == id) {
			int fd = c->files[i].fd;
			c->files[i].fd = -1;
			return fd;
		}
	return -ENOENT;
}

static int mute_msg(ward_client *c, uint32_t op, uint32_t kind, uint64_t pid, const char *path,
		    const uint32_t *types, size_t n, uint32_t inverted)
{
	if (!c || (n && !types))
		return -EINVAL;
	struct ward_msg_mute *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->op = op;
	m->kind = kind;
	m->pid = pid;
	m->inverted = inverted;
	m->types = n ? 0 : ((1ull << WARD_EV_MAX_) - 1) & ~1ull;
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		if (types[i] == WARD_EV_INVALID || types[i] >= WARD_EV_MAX_)
			r = -EINVAL;
		else
			m->types |= 1ull << types[i];
	}
	if (r == 0 && path) {
		size_t len = strlen(path);
		if (len >= sizeof(m->path))
			r = -EINVAL;
		else {
			memcpy(m->path, path, len);
			m->path_len = (uint32_t)len;
		}
	}
	if (r == 0)
		r = request(c, WARD_MSG_MUTE, m, sizeof(*m));
	free(m);
	return r;
}

int ward_client_mute(ward_client *c, uint32_t kind, uint64_t pid, const char *path,
		     const uint32_t *types, size_t n)
{
	return mute_msg(c, WARD_MUTE_OP_ADD, kind, pid, path, types, n, 0);
}

int ward_client_unmute(ward_client *c, uint32_t kind, uint64_t pid, const char *path,
		       const uint32_t *types, size_t n)
{
	return mute_msg(c, WARD_MUTE_OP_REMOVE, kind, pid, path, types, n, 0);
}

int ward_client_unmute_all(ward_client *c)
{
	return mute_msg(c, WARD_MUTE_OP_CLEAR, 0, 0, NULL, NULL, 0, 0);
}

int ward_client_invert_muting(ward_client *c, uint32_t kind, int inverted)
{
	if (inverted != 0 && inverted != 1)
		return -EINVAL;
	return mute_msg(c, WARD_MUTE_OP_INVERT, kind, 0, NULL, NULL, 0, (uint32_t)inverted);
}

int ward_client_resume(ward_client *c, uint64_t after_global_seq)
{
	if (!c)
		return -EINVAL;
	struct ward_msg_resume m = { .after_global_seq = after_global_seq };
	uint32_t missed = 0;
	int err = request_value(c, WARD_MSG_RESUME, &m, sizeof(m), &missed);
	if (err < 0)
		return err;
	return missed > 1 ? -EPROTO : (int)missed;
}

int ward_client_add_net_rule(ward_client *c, const struct ward_net_rule *r, uint32_t *rule_id)
{
	if (!c || !r || !rule_id)
		return -EINVAL;
	uint32_t id = 0;
	int err = request_value(c, WARD_MSG_NET_RULE_ADD, r, sizeof(*r), &id);
	if (err == 0) {
		if (id == 0)
			return -EPROTO;
		*rule_id = id;
	}
	return err;
}

int ward_client_remove_net_rule(ward_client *c, uint32_t rule_id)
{
	if (!c)
		return -EINVAL;
	struct ward_msg_net_rule_remove m = { .rule_id = rule_id };
	return request(c, WARD_MSG_NET_RULE_REMOVE, &m, sizeof(m));
}

int ward_event_is_auth(const ward_event *ev)
{
	/* only requests carry an id to answer (and a deadline) */
	return ward_rec_find(rec_of(ev), WARD_F_AUTH_ID) != NULL;
}

int ward_event_i64(const ward_event *ev, uint32_t f, int64_t *out)
{
	uint64_t v;
	int r = find_num(ev, f, &v);
	if (r == 0)
		*out = (int64_t)v;
	return r;
}

int ward_event_str(const ward_event *ev, uint32_t f, const char **out, size_t *len)
{
	if (f > UINT16_MAX || ward_field_kind(f) == WARD_KIND_NONE)
		return -ENOENT;
	const struct ward_field_hdr *h = ward_rec_find(rec_of(ev), (uint16_t)f);
	if (!h)
		return -ENOENT;
	if (h->kind != WARD_KIND_STR && h->kind != WARD_KIND_STRV)
		return -EINVAL;
	*out = (const char *)(h + 1);
	if (len)
		*len = h->len;
	return 0;
}

uint32_t ward_event_field_at(const ward_event *ev, unsigned i)
{
	const struct ward_field_hdr *h = ward_rec_field_at(rec_of(ev), i);
	return h ? h->id : 0;
}
