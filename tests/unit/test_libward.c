/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_libward.c — libward against a fake wardd.
 *
 * The fake is a thread that listens on ward.sock in a temporary runtime
 * directory, answers the handshake with a ring, ctl page and eventfd made as
 * wire.h describes, and answers SUBSCRIBE and STATUS.  The test itself plays
 * wardd's producer side: it writes records into the ring with the record
 * builder, publishes head and wakes the client.  Each test gets a new fake.
 *
 * The content helpers (ward_content_info(), ward_content_validate()) are
 * tested on the environment; validate mode ends the process, so it runs in
 * a forked child whose stdout, stderr and exit status the test reads.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <ward/ward.h>
#include "record.h"
#include "wire.h"

enum fake_mode {
	FAKE_OK,
	FAKE_HANG_HELLO,   /* never answers HELLO */
	FAKE_HANG_SUB,     /* never answers SUBSCRIBE */
	FAKE_BAD_MAGIC,    /* WELCOME with a wrong magic */
	FAKE_TWO_FDS,      /* WELCOME with one descriptor missing */
	FAKE_FOUR_FDS,     /* WELCOME with one descriptor too many */
	FAKE_BAD_VERSION,  /* WELCOME with another api_version */
	FAKE_RING_MAGIC,   /* ring header with a wrong magic */
	FAKE_RING_SIZE,    /* ring header size differs from WELCOME's */
};

struct fake {
	char dir[64];
	int lfd;
	int conn;
	pthread_t thread;
	enum fake_mode mode;
	uint64_t ring_size;
	int32_t sub_error;       /* what SUBSCRIBE is answered with */
	const char *status;      /* STATUS_REPLY body */
	size_t status_len;
	const char *content;     /* CONTENT_REPLY body (a request naming
				    "refuse" gets a REPLY -EPERM instead) */
	size_t content_len;
	char content_req[WARD_MSG_MAX]; /* the last CONTENT request's body */
	size_t content_req_len;
	int pad_garbage;         /* leave short tail gaps as garbage, not PAD stubs */
	/* seen by the fake */
	struct ward_msg_hello hello;
	uint64_t mask;
	int nsub;
	/* the producer side */
	uint8_t *ring;
	struct ward_ring_hdr *hdr;
	uint8_t *data;
	struct ward_ring_ctl *ctl;
	int efd;
	_Alignas(8) uint8_t msg[WARD_MSG_MAX + 4096];
};

/* ---- the fake's socket side ---- */

static void send_msg(struct fake *f, uint16_t type, const void *body, size_t len,
		     const int *fds, size_t nfds)
{
	struct ward_msg m = { .magic = WARD_MSG_MAGIC, .type = type,
			      .len = (uint32_t)(sizeof(m) + len) };
	if (f->mode == FAKE_BAD_MAGIC)
		m.magic ^= 1;
	struct iovec iov[2] = { { &m, sizeof(m) }, { (void *)body, len } };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} ctrl;
	memset(&ctrl, 0, sizeof(ctrl));
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	if (nfds) {
		mh.msg_control = ctrl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	sendmsg(f->conn, &mh, MSG_NOSIGNAL);
}

static int make_memfd(const char *name, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd >= 0 && ftruncate(fd, (off_t)len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A read-only descriptor for the same memfd, as wardd hands out. */
static int reopen_ro(int fd)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	return open(p, O_RDONLY | O_CLOEXEC);
}

static void fake_welcome(struct fake *f)
{
	size_t len = WARD_RING_HDR_SIZE + f->ring_size;
	int rfd = make_memfd("ward-ring", len), cfd = make_memfd("ward-ctl", 4096);
	f->ring = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, rfd, 0);
	f->ctl = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, 0);
	f->hdr = (struct ward_ring_hdr *)f->ring;
	f->data = f->ring + WARD_RING_HDR_SIZE;
	f->hdr->magic = f->mode == FAKE_RING_MAGIC ? 0xdeadbeef : WARD_RING_MAGIC;
	f->hdr->version = WARD_API_VERSION;
	f->hdr->size = f->mode == FAKE_RING_SIZE ? f->ring_size / 2 : f->ring_size;
	f->efd = eventfd(0, EFD_CLOEXEC); /* blocking on purpose: libward must cope */

	struct ward_msg_welcome w = { .api_version = WARD_API_VERSION, .client_id = 7,
				      .ring_size = f->ring_size };
	if (f->mode == FAKE_BAD_VERSION)
		w.api_version++;
	int ro = reopen_ro(rfd);
	int fds[4] = { ro, cfd, f->efd, f->efd };
	size_t nfds = f->mode == FAKE_TWO_FDS ? 2 : f->mode == FAKE_FOUR_FDS ? 4 : 3;
	send_msg(f, WARD_MSG_WELCOME, &w, sizeof(w), fds, nfds);
	close(ro);
	close(rfd);
	close(cfd);
}

static void fake_serve(struct fake *f)
{
	for (;;) {
		ssize_t n = recv(f->conn, f->msg, sizeof(f->msg), 0);
		if (n <= 0)
			return;
		const struct ward_msg *m = (const void *)f->msg;
		if (m->type == WARD_MSG_SUBSCRIBE) {
			const struct ward_msg_subscribe *s = (const void *)(m + 1);
			f->mask = s->notify_mask;
			f->nsub++;
			struct ward_msg_reply rep = { .error = f->sub_error };
			if (f->mode != FAKE_HANG_SUB)
				send_msg(f, WARD_MSG_REPLY, &rep, sizeof(rep), NULL, 0);
		} else if (m->type == WARD_MSG_STATUS) {
			send_msg(f, WARD_MSG_STATUS_REPLY, f->status, f->status_len, NULL, 0);
		} else if (m->type == WARD_MSG_CONTENT) {
			f->content_req_len = (size_t)n - sizeof(*m);
			memcpy(f->content_req, m + 1, f->content_req_len);
			struct ward_msg_reply rep = { .error = -EPERM };
			if (memmem(f->content_req, f->content_req_len, "refuse", 6))
				send_msg(f, WARD_MSG_REPLY, &rep, sizeof(rep), NULL, 0);
			else
				send_msg(f, WARD_MSG_CONTENT_REPLY, f->content, f->content_len, NULL, 0);
		}
	}
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	f->conn = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (f->conn < 0)
		return NULL;
	if (recv(f->conn, f->msg, sizeof(f->msg), 0) !=
	    (ssize_t)(sizeof(struct ward_msg) + sizeof(struct ward_msg_hello)))
		return NULL;
	memcpy(&f->hello, f->msg + sizeof(struct ward_msg), sizeof(f->hello));
	if (f->mode != FAKE_HANG_HELLO)
		fake_welcome(f);
	fake_serve(f);
	return NULL;
}

static struct fake *fake_start(enum fake_mode mode, uint64_t ring_size)
{
	struct fake *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->mode = mode;
	f->ring_size = ring_size;
	f->conn = f->efd = -1;
	f->status = "{\"version\":\"0.1.0\",\"pid\":1}";
	f->status_len = strlen(f->status);
	f->content = "{\"ok\":true,\"installed\":7}";
	f->content_len = strlen(f->content);
	strcpy(f->dir, "/tmp/ward-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	setenv("WARD_RUNTIME_DIR", f->dir, 1);

	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", f->dir, WARD_SOCK_NAME);
	f->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
	return f;
}

/* Make the fake hang up, as wardd does when it drops a client. */
static void fake_hangup(struct fake *f)
{
	shutdown(f->conn, SHUT_RDWR);
}

static void fake_stop(struct fake *f)
{
	char path[128];
	shutdown(f->lfd, SHUT_RDWR); /* wakes accept() if nobody connected */
	if (f->conn >= 0)
		shutdown(f->conn, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	if (f->ring)
		munmap(f->ring, WARD_RING_HDR_SIZE + f->ring_size);
	if (f->ctl)
		munmap(f->ctl, 4096);
	if (f->efd >= 0)
		close(f->efd);
	if (f->conn >= 0)
		close(f->conn);
	close(f->lfd);
	snprintf(path, sizeof(path), "%s/%s", f->dir, WARD_SOCK_NAME);
	unlink(path);
	rmdir(f->dir);
	free(f);
}

/* ---- the fake's producer side ---- */

static void publish(struct fake *f, uint64_t head)
{
	/* seq_cst store then seq_cst load: pairs with the client's waiting/head */
	__atomic_store_n(&f->hdr->head, head, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&f->ctl->waiting, __ATOMIC_SEQ_CST)) {
		uint64_t one = 1;
		__atomic_store_n(&f->ctl->waiting, 0, __ATOMIC_SEQ_CST);
		assert_int_equal(write(f->efd, &one, 8), 8);
	}
}

/* Write a record at head, padding to the start of the ring if it does not
 * fit before the end, as wardd does.  Asserts that there is room. */
static void produce_raw(struct fake *f, const void *rec, size_t len)
{
	uint64_t head = f->hdr->head, size = f->ring_size;
	uint64_t tail = __atomic_load_n(&f->ctl->tail, __ATOMIC_ACQUIRE);
	uint64_t off = head & (size - 1), rem = size - off;
	if (rem < len) {
		assert_true(head + rem + len - tail <= size);
		if (f->pad_garbage && rem < sizeof(struct ward_rec)) {
			memset(f->data + off, 0x5a, rem);
		} else {
			struct ward_rec *pad = (struct ward_rec *)(f->data + off);
			pad->size = (uint32_t)rem; /* size and type fit in a short stub */
			pad->type = WARD_REC_PAD;
		}
		head += rem;
		off = 0;
	}
	assert_true(head + len - tail <= size);
	memcpy(f->data + off, rec, len);
	publish(f, head + len);
}

static uint64_t rec_buf[WARD_REC_MAX / 8];

/* A record of @type and @seq whose size is 56 + ALIGN8(path_len + 1). */
static size_t build(uint16_t type, uint64_t seq, size_t path_len)
{
	static char path[WARD_REC_MAX];
	memset(path, 'p', path_len);
	struct ward_rec_builder b;
	ward_rb_init(&b, rec_buf, sizeof(rec_buf), type);
	ward_rb_u64(&b, WARD_F_PID, 1000 + seq);
	ward_rb_str(&b, WARD_F_PATH, path, path_len);
	size_t n = ward_rb_finish(&b);
	struct ward_rec *r = (struct ward_rec *)rec_buf;
	r->seq = seq;
	r->global_seq = 500 + seq;
	r->time_ns = 1700000000000000000ull + seq;
	return n;
}

static size_t produce(struct fake *f, uint16_t type, uint64_t seq, size_t path_len)
{
	size_t n = build(type, seq, path_len);
	produce_raw(f, rec_buf, n);
	return n;
}

/* ---- helpers ---- */

#define RING_SIZE 4096u

static ward_client *connect_ok(struct fake *f)
{
	ward_client *c = NULL;
	assert_int_equal(ward_client_new(&c, "unit test"), 0);
	assert_non_null(c);
	return c;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fd_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* ---- connect and requests ---- */

static void test_connect_subscribe(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	assert_int_equal(f->hello.api_version, WARD_API_VERSION);
	assert_string_equal(f->hello.name, "unit test");
	assert_true(ward_client_fd(c) >= 0);

	uint32_t types[] = { WARD_EV_EXEC, WARD_EV_OPEN, WARD_EV_MEMFD_CREATE };
	assert_int_equal(ward_client_subscribe(c, types, 3), 0);
	assert_int_equal(f->mask, (1ull << 2) | (1ull << 4) | (1ull << 25));
	assert_int_equal(ward_client_subscribe(c, NULL, 0), 0);
	assert_int_equal(f->mask, 0);
	assert_int_equal(f->nsub, 2);

	/* bad types are refused before anything is sent */
	uint32_t bad0[] = { WARD_EV_EXEC, 0 }, bad_max[] = { WARD_EV_MAX_ };
	assert_int_equal(ward_client_subscribe(c, bad0, 2), -EINVAL);
	assert_int_equal(ward_client_subscribe(c, bad_max, 1), -EINVAL);
	assert_int_equal(f->nsub, 2);

	f->sub_error = -EPERM;
	assert_int_equal(ward_client_subscribe(c, types, 1), -EPERM);
	ward_client_free(c);
	fake_stop(f);
}

static void test_long_name(void **state)
{
	char name[100];
	memset(name, 'n', sizeof(name));
	memcpy(name + 62, "\xc3\xa9", 2); /* an é across the 63-byte limit */
	name[99] = '\0';
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c;
	assert_int_equal(ward_client_new(&c, name), 0);
	assert_int_equal(strlen(f->hello.name), 62); /* cut before the é, not inside it */
	ward_client_free(c);
	fake_stop(f);
}

static void test_status_json(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	char *s = NULL;
	assert_int_equal(ward_client_status_json(c, &s), 0);
	assert_string_equal(s, f->status);
	free(s);

	f->status_len = 0;
	assert_int_equal(ward_client_status_json(c, &s), 0);
	assert_string_equal(s, "");
	free(s);
	ward_client_free(c);
	fake_stop(f);
}

static void test_status_oversize(void **state)
{
	static char big[WARD_MSG_MAX + 100];
	memset(big, ' ', sizeof(big));
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	f->status = big;
	f->status_len = sizeof(big);
	char *s = NULL;
	assert_int_equal(ward_client_status_json(c, &s), -EPROTO);
	assert_null(s);
	/* the connection is no longer in step, so it is closed */
	assert_int_equal(ward_client_subscribe(c, NULL, 0), -EPIPE);
	ward_client_free(c);
	fake_stop(f);
}

static void test_status_with_nul(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	f->status = "{}\0{}";
	f->status_len = 5;
	char *s = NULL;
	assert_int_equal(ward_client_status_json(c, &s), -EPROTO);
	ward_client_free(c);
	fake_stop(f);
}

/* ---- handshake failures ---- */

static void expect_new_fails(enum fake_mode mode, uint64_t ring_size, int err)
{
	int before = count_fds();
	struct fake *f = fake_start(mode, ring_size);
	ward_client *c = (ward_client *)&c; /* must stay untouched */
	ward_client *orig = c;
	assert_int_equal(ward_client_new(&c, "x"), err);
	assert_ptr_equal(c, orig);
	fake_stop(f);
	assert_int_equal(count_fds(), before); /* nothing received was leaked */
}

static void test_handshake_errors(void **state)
{
	expect_new_fails(FAKE_BAD_MAGIC, RING_SIZE, -EPROTO);
	expect_new_fails(FAKE_TWO_FDS, RING_SIZE, -EPROTO);
	expect_new_fails(FAKE_FOUR_FDS, RING_SIZE, -EPROTO);
	expect_new_fails(FAKE_BAD_VERSION, RING_SIZE, -EPROTO);
	expect_new_fails(FAKE_RING_MAGIC, RING_SIZE, -EPROTO);
	expect_new_fails(FAKE_RING_SIZE, RING_SIZE, -EPROTO);
	expect_new_fails(FAKE_OK, RING_SIZE + 8, -EPROTO); /* not a power of two */
}

static void test_no_wardd(void **state)
{
	char dir[] = "/tmp/ward-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	setenv("WARD_RUNTIME_DIR", dir, 1);
	ward_client *c;
	assert_int_equal(ward_client_new(&c, NULL), -ENOENT);
	rmdir(dir);
}

static void test_hello_timeout(void **state)
{
	struct fake *f = fake_start(FAKE_HANG_HELLO, RING_SIZE);
	ward_client *c;
	int64_t t0 = mono_ms();
	assert_int_equal(ward_client_new(&c, NULL), -ETIMEDOUT);
	assert_true(mono_ms() - t0 >= 4900);
	fake_stop(f);
}

static void test_subscribe_timeout(void **state)
{
	struct fake *f = fake_start(FAKE_HANG_SUB, RING_SIZE);
	ward_client *c = connect_ok(f);
	uint32_t t = WARD_EV_EXEC;
	assert_int_equal(ward_client_subscribe(c, &t, 1), -ETIMEDOUT);
	/* a late reply would be taken for the next one's: the connection is closed */
	assert_int_equal(ward_client_subscribe(c, &t, 1), -EPIPE);
	const ward_event *ev;
	assert_int_equal(ward_client_next(c, &ev, 0), -EPIPE);
	ward_client_free(c);
	fake_stop(f);
}

/* ---- the ring ---- */

static void test_events_and_accessors(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);

	struct ward_rec_builder b;
	ward_rb_init(&b, rec_buf, sizeof(rec_buf), WARD_EV_EXEC);
	ward_rb_u64(&b, WARD_F_PID, 77);
	ward_rb_i64(&b, WARD_F_RESULT, -2);
	ward_rb_str(&b, WARD_F_COMM, "cat", 3);
	ward_rb_strv(&b, WARD_F_ARGV, "cat\0/etc/hosts", 14);
	size_t n = ward_rb_finish(&b);
	struct ward_rec *r = (struct ward_rec *)rec_buf;
	r->seq = 1;
	r->global_seq = 99;
	r->time_ns = 123456789;
	produce_raw(f, rec_buf, n);

	const ward_event *ev = NULL;
	assert_int_equal(ward_client_next(c, &ev, 0), 1);
	assert_int_equal(ward_event_type(ev), WARD_EV_EXEC);
	assert_int_equal(ward_event_seq(ev), 1);
	assert_int_equal(ward_event_global_seq(ev), 99);
	assert_int_equal(ward_event_time(ev), 123456789);

	uint64_t u = 5;
	int64_t i = 5;
	const char *s = NULL;
	size_t len = 0;
	assert_int_equal(ward_event_u64(ev, WARD_F_PID, &u), 0);
	assert_int_equal(u, 77);
	assert_int_equal(ward_event_i64(ev, WARD_F_PID, &i), 0);
	assert_int_equal(i, 77);
	assert_int_equal(ward_event_i64(ev, WARD_F_RESULT, &i), 0);
	assert_int_equal(i, -2);
	assert_int_equal(ward_event_u64(ev, WARD_F_RESULT, &u), 0);
	assert_int_equal(u, (uint64_t)-2);
	assert_int_equal(ward_event_str(ev, WARD_F_COMM, &s, &len), 0);
	assert_string_equal(s, "cat");
	assert_int_equal(len, 4);
	assert_int_equal(ward_event_str(ev, WARD_F_ARGV, &s, NULL), 0);
	assert_memory_equal(s, "cat\0/etc/hosts\0", 15);

	/* errors leave the output alone */
	u = 5;
	s = NULL;
	assert_int_equal(ward_event_u64(ev, WARD_F_COMM, &u), -EINVAL);
	assert_int_equal(ward_event_u64(ev, WARD_F_PPID, &u), -ENOENT);
	assert_int_equal(ward_event_u64(ev, 1u << 20, &u), -ENOENT);
	assert_int_equal(u, 5);
	assert_int_equal(ward_event_str(ev, WARD_F_PID, &s, &len), -EINVAL);
	assert_int_equal(ward_event_str(ev, WARD_F_PATH, &s, &len), -ENOENT);
	assert_null(s);

	assert_int_equal(ward_event_field_at(ev, 0), WARD_F_PID);
	assert_int_equal(ward_event_field_at(ev, 3), WARD_F_ARGV);
	assert_int_equal(ward_event_field_at(ev, 4), 0);

	assert_int_equal(ward_client_next(c, &ev, 0), 0);
	ward_client_free(c);
	fake_stop(f);
}

static void test_in_order(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	for (uint64_t s = 1; s <= 20; s++)
		produce(f, WARD_EV_OPEN, s, s * 3);
	const ward_event *ev;
	for (uint64_t s = 1; s <= 20; s++) {
		uint64_t pid;
		assert_int_equal(ward_client_next(c, &ev, 0), 1);
		assert_int_equal(ward_event_seq(ev), s);
		assert_int_equal(ward_event_u64(ev, WARD_F_PID, &pid), 0);
		assert_int_equal(pid, 1000 + s);
	}
	assert_int_equal(ward_client_next(c, &ev, 0), 0);
	struct ward_client_stats st;
	assert_int_equal(ward_client_stats(c, &st), 0);
	assert_int_equal(st.received, 20);
	assert_int_equal(st.gaps, 0);
	assert_int_equal(st.lost, 0);
	ward_client_free(c);
	fake_stop(f);
}

/* Records of 1000 bytes: every fifth one needs a 96-byte PAD first. */
static void test_pad_wrap(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	const ward_event *ev;
	for (uint64_t s = 1; s <= 50; s++) {
		assert_int_equal(produce(f, WARD_EV_OPEN, s, 943), 1000);
		assert_int_equal(ward_client_next(c, &ev, 0), 1);
		assert_int_equal(ward_event_seq(ev), s);
	}
	assert_true(f->hdr->head > 10 * RING_SIZE);
	assert_int_equal(ward_client_next(c, &ev, 0), 0);
	assert_int_equal(f->ctl->tail, f->hdr->head);
	ward_client_free(c);
	fake_stop(f);
}

/* A gap shorter than a record header at the end of the ring: a PAD stub
 * of 8..24 bytes, or nothing written there at all. */
static void short_gap(int garbage, size_t gap)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	f->pad_garbage = garbage;
	ward_client *c = connect_ok(f);
	const ward_event *ev;
	size_t first = RING_SIZE - gap;
	assert_int_equal(produce(f, WARD_EV_OPEN, 1, first - 56 - 1), first);
	assert_int_equal(ward_client_next(c, &ev, 0), 1);
	assert_int_equal(ward_client_next(c, &ev, 0), 0); /* releases the first */
	produce(f, WARD_EV_OPEN, 2, 10);
	produce(f, WARD_EV_OPEN, 3, 10);
	assert_int_equal(ward_client_next(c, &ev, 0), 1);
	assert_int_equal(ward_event_seq(ev), 2);
	assert_int_equal(ward_client_next(c, &ev, 0), 1);
	assert_int_equal(ward_event_seq(ev), 3);
	assert_int_equal(ward_client_next(c, &ev, 0), 0);
	assert_int_equal(f->ctl->tail, RING_SIZE + 2 * 72);
	ward_client_free(c);
	fake_stop(f);
}

static void test_short_gap(void **state)
{
	short_gap(0, 8);
	short_gap(0, 24);
	short_gap(1, 8);
	short_gap(1, 16);
}

static void test_gaps_and_lost(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	uint64_t seqs[] = { 1, 2, 5, 6, 9 };
	for (size_t i = 0; i < 5; i++)
		produce(f, WARD_EV_OPEN, seqs[i], 8);
	f->hdr->lost = 5;
	const ward_event *ev;
	while (ward_client_next(c, &ev, 0) == 1)
		;
	struct ward_client_stats st;
	assert_int_equal(ward_client_stats(c, &st), 0);
	assert_int_equal(st.received, 5);
	assert_int_equal(st.gaps, 2);
	assert_int_equal(st.lost, 5);
	ward_client_free(c);
	fake_stop(f);
}

static void test_next_releases_previous(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	size_t n1 = produce(f, WARD_EV_OPEN, 1, 8);
	size_t n2 = produce(f, WARD_EV_OPEN, 2, 8);
	const ward_event *ev;
	assert_int_equal(ward_client_next(c, &ev, 0), 1);
	assert_int_equal(f->ctl->tail, 0); /* still being read */
	assert_int_equal(ward_client_next(c, &ev, 0), 1);
	assert_int_equal(f->ctl->tail, n1);
	assert_int_equal(ward_client_next(c, &ev, 0), 0);
	assert_int_equal(f->ctl->tail, n1 + n2);
	ward_client_free(c);
	fake_stop(f);
}

struct batch {
	struct fake *f;
	uint64_t tail_at_start;
	int seen;
	int stop_after;
	uint64_t seqs[16];
};

static int on_event(const ward_event *ev, void *userdata)
{
	struct batch *b = userdata;
	/* nothing is released while the batch is being handed out */
	assert_int_equal(__atomic_load_n(&b->f->ctl->tail, __ATOMIC_ACQUIRE), b->tail_at_start);
	b->seqs[b->seen++] = ward_event_seq(ev);
	return b->seen == b->stop_after;
}

static void test_dispatch_batch(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	for (uint64_t s = 1; s <= 5; s++)
		produce(f, WARD_EV_OPEN, s, 100);
	struct batch b = { .f = f };
	assert_int_equal(ward_client_dispatch(c, on_event, &b, 0), 5);
	assert_int_equal(b.seen, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(b.seqs[i], i + 1);
	assert_int_equal(f->ctl->tail, f->hdr->head); /* released in one step */
	assert_int_equal(ward_client_dispatch(c, on_event, &b, 0), 0);
	ward_client_free(c);
	fake_stop(f);
}

static void test_dispatch_stop_early(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	size_t n = 0;
	for (uint64_t s = 1; s <= 4; s++)
		n = produce(f, WARD_EV_OPEN, s, 100);
	struct batch b = { .f = f, .stop_after = 1 };
	assert_int_equal(ward_client_dispatch(c, on_event, &b, 0), 1);
	assert_int_equal(f->ctl->tail, n);
	/* the fd stays readable while events are left */
	assert_true(fd_readable(ward_client_fd(c)));
	b.tail_at_start = n;
	b.stop_after = 0;
	assert_int_equal(ward_client_dispatch(c, on_event, &b, 0), 3);
	assert_int_equal(b.seqs[3], 4);
	ward_client_free(c);
	fake_stop(f);
}

/* The pattern of a caller with its own poll loop: an empty dispatch arms
 * the wake-up and drains the eventfd, so the fd is readable exactly when
 * events arrive. */
static void test_fd_readiness(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	int fd = ward_client_fd(c);
	struct batch b = { .f = f };
	assert_int_equal(ward_client_dispatch(c, on_event, &b, 0), 0);
	assert_false(fd_readable(fd));
	assert_int_equal(f->ctl->waiting, 1);
	produce(f, WARD_EV_OPEN, 1, 8);
	assert_true(fd_readable(fd));
	assert_int_equal(ward_client_dispatch(c, on_event, &b, 0), 1);
	b.tail_at_start = f->hdr->head;
	assert_int_equal(ward_client_dispatch(c, on_event, &b, 0), 0);
	assert_false(fd_readable(fd));
	ward_client_free(c);
	fake_stop(f);
}

static void *late_producer(void *arg)
{
	struct fake *f = arg;
	usleep(100 * 1000);
	produce(f, WARD_EV_EXEC, 1, 8);
	return NULL;
}

static void test_wait_wakeup(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, late_producer, f), 0);
	const ward_event *ev;
	assert_int_equal(ward_client_next(c, &ev, -1), 1);
	assert_int_equal(ward_event_type(ev), WARD_EV_EXEC);
	pthread_join(t, NULL);
	ward_client_free(c);
	fake_stop(f);
}

static void test_wait_timeout(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	const ward_event *ev = NULL;
	int64_t t0 = mono_ms();
	assert_int_equal(ward_client_next(c, &ev, 150), 0);
	int64_t dt = mono_ms() - t0;
	assert_true(dt >= 140 && dt < 2000);
	assert_null(ev);
	/* a stale wake-up does not end the wait early */
	uint64_t one = 1;
	assert_int_equal(write(f->efd, &one, 8), 8);
	t0 = mono_ms();
	assert_int_equal(ward_client_next(c, &ev, 100), 0);
	assert_true(mono_ms() - t0 >= 90);
	ward_client_free(c);
	fake_stop(f);
}

/* ---- wardd going away ---- */

static void test_closed_flag(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	produce(f, WARD_EV_OPEN, 1, 8);
	produce(f, WARD_EV_OPEN, 2, 8);
	__atomic_store_n(&f->hdr->closed, 1, __ATOMIC_RELEASE);
	const ward_event *ev;
	/* what is already in the ring is still delivered */
	assert_int_equal(ward_client_next(c, &ev, -1), 1);
	assert_int_equal(ward_client_next(c, &ev, -1), 1);
	assert_int_equal(ward_client_next(c, &ev, -1), -EPIPE);
	ward_client_free(c);
	fake_stop(f);
}

static void *late_hangup(void *arg)
{
	usleep(100 * 1000);
	fake_hangup(arg);
	return NULL;
}

static void test_wardd_gone(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	produce(f, WARD_EV_OPEN, 1, 8);
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, late_hangup, f), 0);
	const ward_event *ev;
	struct batch b = { .f = f, .tail_at_start = 0 };
	assert_int_equal(ward_client_dispatch(c, on_event, &b, -1), 1);
	assert_int_equal(ward_client_next(c, &ev, -1), -EPIPE); /* woken by the hangup */
	pthread_join(t, NULL);
	assert_int_equal(ward_client_next(c, &ev, 0), -EPIPE);
	uint32_t type = WARD_EV_EXEC;
	assert_int_equal(ward_client_subscribe(c, &type, 1), -EPIPE);
	char *s;
	assert_int_equal(ward_client_status_json(c, &s), -EPIPE);
	ward_client_free(c);
	fake_stop(f);
}

/* ---- corrupt rings ---- */

typedef void (*corrupt_fn)(struct fake *f);

static void corrupt_size_unaligned(struct fake *f)
{
	size_t n = build(WARD_EV_OPEN, 1, 8);
	((struct ward_rec *)rec_buf)->size -= 4;
	produce_raw(f, rec_buf, n);
}

static void corrupt_size_past_head(struct fake *f)
{
	size_t n = build(WARD_EV_OPEN, 1, 8);
	((struct ward_rec *)rec_buf)->size += 8;
	produce_raw(f, rec_buf, n);
}

static void corrupt_kind(struct fake *f)
{
	size_t n = build(WARD_EV_OPEN, 1, 8);
	((struct ward_field_hdr *)((struct ward_rec *)rec_buf + 1))->kind = WARD_KIND_STR;
	produce_raw(f, rec_buf, n);
}

static void corrupt_nfields(struct fake *f)
{
	size_t n = build(WARD_EV_OPEN, 1, 8);
	((struct ward_rec *)rec_buf)->nfields = 3;
	produce_raw(f, rec_buf, n);
}

static void corrupt_head_too_far(struct fake *f)
{
	produce(f, WARD_EV_OPEN, 1, 8);
	publish(f, RING_SIZE + 8);
}

static void corrupt_head_short(struct fake *f)
{
	produce(f, WARD_EV_OPEN, 1, 8);
	publish(f, 16); /* part of a header */
}

static void corrupt_pad_size(struct fake *f)
{
	struct ward_rec *pad = (struct ward_rec *)f->data;
	pad->size = 64; /* a PAD must reach the end of the ring */
	pad->type = WARD_REC_PAD;
	publish(f, RING_SIZE);
}

static void expect_eproto(corrupt_fn corrupt)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	corrupt(f);
	const ward_event *ev = NULL;
	struct batch b = { .f = f };
	assert_int_equal(ward_client_next(c, &ev, 0), -EPROTO);
	assert_int_equal(ward_client_next(c, &ev, -1), -EPROTO); /* it stays corrupt */
	assert_int_equal(ward_client_dispatch(c, on_event, &b, 0), -EPROTO);
	assert_null(ev);
	assert_int_equal(b.seen, 0);
	ward_client_free(c);
	fake_stop(f);
}

static void test_corrupt_ring(void **state)
{
	expect_eproto(corrupt_size_unaligned);
	expect_eproto(corrupt_size_past_head);
	expect_eproto(corrupt_kind);
	expect_eproto(corrupt_nfields);
	expect_eproto(corrupt_head_too_far);
	expect_eproto(corrupt_head_short);
	expect_eproto(corrupt_pad_size);
}

/* A gap too short for a header, with head ending inside it. */
static void test_corrupt_short_gap(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	produce(f, WARD_EV_OPEN, 1, RING_SIZE - 8 - 57); /* leaves 8 bytes */
	const ward_event *ev;
	assert_int_equal(ward_client_next(c, &ev, 0), 1);
	publish(f, f->hdr->head + 4);
	assert_int_equal(ward_client_next(c, &ev, 0), -EPROTO);
	ward_client_free(c);
	fake_stop(f);
}

/* Events delivered before a corrupt record in the same batch still count;
 * the error comes with the next call. */
static void test_corrupt_mid_batch(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	produce(f, WARD_EV_OPEN, 1, 8);
	produce(f, WARD_EV_OPEN, 2, 8);
	corrupt_kind(f);
	struct batch b = { .f = f };
	assert_int_equal(ward_client_dispatch(c, on_event, &b, 0), 2);
	assert_true(fd_readable(ward_client_fd(c)));
	assert_int_equal(ward_client_dispatch(c, on_event, &b, 0), -EPROTO);
	ward_client_free(c);
	fake_stop(f);
}

/* ---- content ---- */

static void test_content_request(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	const char *req = "{\"op\":\"status\",\"client\":\"block\"}";
	char *s = NULL;
	assert_int_equal(ward_client_content(c, req, &s), 0);
	assert_string_equal(s, f->content);
	/* the request went as its text, without the NUL */
	assert_int_equal(f->content_req_len, strlen(req));
	assert_memory_equal(f->content_req, req, strlen(req));
	free(s);

	/* a refusal is passed on, and the connection stays in step */
	s = (char *)&s;
	assert_int_equal(ward_client_content(c, "{\"op\":\"refuse\"}", &s), -EPERM);
	assert_ptr_equal(s, (char *)&s);
	f->content = "";
	f->content_len = 0;
	assert_int_equal(ward_client_content(c, "{}", &s), 0);
	assert_string_equal(s, "");
	free(s);

	/* the largest request that fits one message, and one byte more */
	size_t cap = WARD_MSG_MAX - sizeof(struct ward_msg);
	char *big = malloc(cap + 2);
	assert_non_null(big);
	memset(big, ' ', cap + 1);
	big[cap + 1] = '\0';
	s = NULL;
	assert_int_equal(ward_client_content(c, big, &s), -EINVAL);
	big[cap] = '\0';
	assert_int_equal(ward_client_content(c, big, &s), 0);
	assert_int_equal(f->content_req_len, cap);
	free(s);
	free(big);

	/* refused before anything is sent */
	s = NULL;
	f->content_req_len = 0;
	assert_int_equal(ward_client_content(c, "", &s), -EINVAL);
	assert_int_equal(ward_client_content(c, NULL, &s), -EINVAL);
	assert_int_equal(ward_client_content(c, "{}", NULL), -EINVAL);
	assert_int_equal(ward_client_content(NULL, "{}", &s), -EINVAL);
	assert_null(s);
	assert_int_equal(f->content_req_len, 0);
	assert_int_equal(ward_client_subscribe(c, NULL, 0), 0); /* still in step */
	ward_client_free(c);
	fake_stop(f);
}

static void test_content_reply_with_nul(void **state)
{
	struct fake *f = fake_start(FAKE_OK, RING_SIZE);
	ward_client *c = connect_ok(f);
	f->content = "{}\0{}";
	f->content_len = 5;
	char *s = NULL;
	assert_int_equal(ward_client_content(c, "{}", &s), -EPROTO);
	assert_null(s);
	/* not an answer wardd gives: the connection is closed */
	assert_int_equal(ward_client_content(c, "{}", &s), -EPIPE);
	ward_client_free(c);
	fake_stop(f);
}

/* Set the four WARD_CONTENT_* variables; NULL unsets one. */
static void set_content_env(const char *mode, const char *file, const char *version, const char *channel)
{
	const char *names[] = { "WARD_CONTENT_MODE", "WARD_CONTENT_FILE", "WARD_CONTENT_VERSION",
				"WARD_CONTENT_CHANNEL" };
	const char *values[] = { mode, file, version, channel };
	for (int i = 0; i < 4; i++) {
		if (values[i])
			setenv(names[i], values[i], 1);
		else
			unsetenv(names[i]);
	}
}

static void test_content_info_none(void **state)
{
	set_content_env(NULL, NULL, NULL, NULL);
	struct ward_content_info ci;
	memset(&ci, 0x5a, sizeof(ci));
	assert_int_equal(ward_content_info(&ci), 0);
	assert_int_equal(ci.mode, WARD_CONTENT_NONE);
	assert_null(ci.path);
	assert_int_equal(ci.version, 0);
	assert_null(ci.channel);
	assert_int_equal(ward_content_info(NULL), -EINVAL);
}

static void test_content_info_modes(void **state)
{
	static const struct {
		const char *name;
		int mode;
	} modes[] = {
		{ "active", WARD_CONTENT_ACTIVE },
		{ "shadow", WARD_CONTENT_SHADOW },
		{ "validate", WARD_CONTENT_VALIDATE },
	};
	for (size_t i = 0; i < 3; i++) {
		set_content_env(modes[i].name, "/var/lib/ward/content/block/payload", "42", "stable");
		struct ward_content_info ci;
		assert_int_equal(ward_content_info(&ci), 0);
		assert_int_equal(ci.mode, modes[i].mode);
		assert_string_equal(ci.path, "/var/lib/ward/content/block/payload");
		assert_int_equal(ci.version, 42);
		assert_string_equal(ci.channel, "stable");
		/* the pointers are the environment's */
		assert_ptr_equal(ci.path, getenv("WARD_CONTENT_FILE"));
	}
	/* the bounds of version and channel */
	set_content_env("active", "/p", "9223372036854775807", "a");
	struct ward_content_info ci;
	assert_int_equal(ward_content_info(&ci), 0);
	assert_int_equal(ci.version, INT64_MAX);
	set_content_env("active", "/p", "1", "0123456789abcdef.-_0123456789abc");
	assert_int_equal(ward_content_info(&ci), 0);
	assert_int_equal(ci.version, 1);
	assert_int_equal(strlen(ci.channel), 32);
	set_content_env(NULL, NULL, NULL, NULL);
}

static void test_content_info_malformed(void **state)
{
	static char long_path[PATH_MAX + 1];
	memset(long_path, 'p', PATH_MAX);
	long_path[0] = '/';
	long_path[PATH_MAX] = '\0';
	static const char *const bad[][4] = {
		/* some set, some not */
		{ "active", NULL, NULL, NULL },
		{ NULL, "/p", "1", "stable" },
		{ "active", "/p", NULL, "stable" },
		{ "active", "/p", "1", NULL },
		/* modes */
		{ "", "/p", "1", "stable" },
		{ "Active", "/p", "1", "stable" },
		{ "validate ", "/p", "1", "stable" },
		{ "none", "/p", "1", "stable" },
		/* paths */
		{ "active", "", "1", "stable" },
		{ "active", "payload", "1", "stable" },
		{ "active", "./payload", "1", "stable" },
		{ "active", long_path, "1", "stable" },
		/* versions */
		{ "active", "/p", "", "stable" },
		{ "active", "/p", "0", "stable" },
		{ "active", "/p", "07", "stable" },
		{ "active", "/p", "-1", "stable" },
		{ "active", "/p", "+1", "stable" },
		{ "active", "/p", " 1", "stable" },
		{ "active", "/p", "1 ", "stable" },
		{ "active", "/p", "1x", "stable" },
		{ "active", "/p", "0x10", "stable" },
		{ "active", "/p", "9223372036854775808", "stable" },
		{ "active", "/p", "18446744073709551617", "stable" },
		/* channels */
		{ "active", "/p", "1", "" },
		{ "active", "/p", "1", "Stable" },
		{ "active", "/p", "1", "-stable" },
		{ "active", "/p", "1", ".stable" },
		{ "active", "/p", "1", "sta ble" },
		{ "active", "/p", "1", "stable\n" },
		{ "active", "/p", "1", "0123456789abcdef0123456789abcdef0" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_content_env(bad[i][0], bad[i][1], bad[i][2], bad[i][3]);
		struct ward_content_info ci;
		memset(&ci, 0x5a, sizeof(ci));
		int r = ward_content_info(&ci);
		if (r != -EINVAL)
			fail_msg("case %zu: %d", i, r);
		assert_int_equal(ci.mode, 0x5a5a5a5a); /* unchanged */
	}
	set_content_env(NULL, NULL, NULL, NULL);
}

static int parse_never(const char *path, void *userdata, char *err, size_t errlen)
{
	abort(); /* must not be called */
}

static void test_content_validate_not_validate(void **state)
{
	/* returns at once, in this process */
	set_content_env(NULL, NULL, NULL, NULL);
	assert_int_equal(ward_content_validate(parse_never, NULL), 0);
	assert_int_equal(ward_content_validate(NULL, NULL), -EINVAL);
	set_content_env("active", "/p", "3", "stable");
	assert_int_equal(ward_content_validate(parse_never, NULL), 0);
	set_content_env("shadow", "/p", "3", "stable");
	assert_int_equal(ward_content_validate(parse_never, NULL), 0);
	/* malformed, but not validate mode: ward_content_info() tells */
	set_content_env("active", "relative", "3", "stable");
	assert_int_equal(ward_content_validate(parse_never, NULL), 0);
	set_content_env(NULL, NULL, NULL, NULL);
}

struct child {
	int status;
	char out[4096]; /* its stdout */
	char err[4096]; /* its stderr */
};

static void read_all(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;
	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd);
}

/* Run ward_content_validate(@parse, @userdata) in a child with the
 * environment set here; collect what it wrote and how it ended.  A child in
 * which ward_content_validate() returns exits 99. */
static void run_validate(ward_content_parse_fn parse, void *userdata, struct child *ch)
{
	int out[2], err[2];
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(err), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		close(out[0]);
		close(out[1]);
		close(err[0]);
		close(err[1]);
		int r = ward_content_validate(parse, userdata);
		printf("returned %d\n", r);
		fflush(stdout);
		_exit(99);
	}
	close(out[1]);
	close(err[1]);
	read_all(out[0], ch->out, sizeof(ch->out));
	read_all(err[0], ch->err, sizeof(ch->err));
	assert_int_equal(waitpid(pid, &ch->status, 0), pid);
}

static int exit_status(const struct child *ch)
{
	return WIFEXITED(ch->status) ? WEXITSTATUS(ch->status) : 1000 + WTERMSIG(ch->status);
}

static const char payload_path[] = "/run/ward/content/block/42/payload";

/* Accepts when called with the payload and its userdata; says so on
 * stdout, without a newline, as a careless parser might. */
static int parse_accept(const char *path, void *userdata, char *err, size_t errlen)
{
	printf("parser chatter");
	if (strcmp(path, payload_path) != 0 || strcmp(userdata, "lists") != 0 || errlen < 400 || err[0]) {
		snprintf(err, errlen, "wrong arguments");
		return 1;
	}
	return 0;
}

static void test_content_validate_accept(void **state)
{
	struct child ch;
	char lists[] = "lists";
	set_content_env("validate", payload_path, "9223372036854775807", "stable");
	run_validate(parse_accept, lists, &ch);
	assert_int_equal(exit_status(&ch), 0);
	/* the verdict is the only line on stdout; the parser's output went to stderr */
	assert_string_equal(ch.out, "accepted: version 9223372036854775807\n");
	assert_string_equal(ch.err, "parser chatter");
	set_content_env(NULL, NULL, NULL, NULL);
}

static const char *reject_reason; /* what parse_reject writes */

static int parse_reject(const char *path, void *userdata, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", reject_reason);
	puts("parser chatter");
	return -1;
}

/* A parser that leaves err without a NUL. */
static int parse_reject_unterminated(const char *path, void *userdata, char *err, size_t errlen)
{
	memset(err, 'u', errlen);
	return 2;
}

static void expect_rejected(ward_content_parse_fn parse, const char *reason, const char *line)
{
	struct child ch;
	reject_reason = reason;
	run_validate(parse, NULL, &ch);
	assert_int_equal(exit_status(&ch), 65);
	assert_string_equal(ch.out, line);
}

static void test_content_validate_reject(void **state)
{
	static char reason[1000], line[1000];
	set_content_env("validate", payload_path, "42", "stable");
	expect_rejected(parse_reject, "line 3: 3 fields, the schema has 2", "rejected: line 3: 3 fields, the schema has 2\n");
	expect_rejected(parse_reject, "", "rejected: the parser gave no reason\n");

	/* control characters (C0, DEL, C1) and bytes that are not UTF-8 become
	 * '?'; other UTF-8 stays; the reason is cut at 400 bytes */
	const char *head = "a\tb\nc\x1b[31m\x7f \xc3\xa9 \xc2\x85 \x80 \xed\xa0\x80 \xe2\x82\xac ";
	const char *clean = "a?b?c?[31m? \xc3\xa9 ? ? ??? \xe2\x82\xac ";
	snprintf(reason, sizeof(reason), "%s", head);
	memset(reason + strlen(head), 'x', 600);
	snprintf(line, sizeof(line), "rejected: %s", clean);
	memset(line + strlen(line), 'x', 400 - strlen(clean));
	strcpy(line + strlen("rejected: ") + 400, "\n");
	expect_rejected(parse_reject, reason, line);

	/* never inside a character: an é across the limit is left out */
	memset(reason, 'a', 399);
	strcpy(reason + 399, "\xc3\xa9 and more");
	snprintf(line, sizeof(line), "rejected: %.399s\n", reason);
	expect_rejected(parse_reject, reason, line);

	/* an err the parser filled to its end */
	memset(reason, 'u', 400);
	snprintf(line, sizeof(line), "rejected: %.400s\n", reason);
	expect_rejected(parse_reject_unterminated, NULL, line);
	set_content_env(NULL, NULL, NULL, NULL);
}

static void test_content_validate_bad_env(void **state)
{
	/* the parser is never called: each case ends in a rejection */
	set_content_env("validate", "payload", "42", "stable");
	expect_rejected(parse_never, NULL, "rejected: malformed environment: WARD_CONTENT_FILE is not an absolute path\n");
	set_content_env("validate", "/p", "042", "stable");
	expect_rejected(parse_never, NULL, "rejected: malformed environment: WARD_CONTENT_VERSION is not a version (1 to 2^63-1)\n");
	set_content_env("validate", "/p", "42", "Stable");
	expect_rejected(parse_never, NULL, "rejected: malformed environment: WARD_CONTENT_CHANNEL is not a channel name\n");
	set_content_env("validate", NULL, "42", NULL);
	expect_rejected(parse_never, NULL, "rejected: malformed environment: WARD_CONTENT_FILE is not set\n");
	set_content_env("validate", "/p", "42", "stable");
	expect_rejected(NULL, NULL, "rejected: the client has no parser\n");
	set_content_env(NULL, NULL, NULL, NULL);
}

static void test_null_args(void **state)
{
	assert_null(ward_client_free(NULL));
	assert_int_equal(ward_client_new(NULL, "x"), -EINVAL);
	assert_int_equal(ward_client_fd(NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_subscribe),
		cmocka_unit_test(test_long_name),
		cmocka_unit_test(test_status_json),
		cmocka_unit_test(test_status_oversize),
		cmocka_unit_test(test_status_with_nul),
		cmocka_unit_test(test_handshake_errors),
		cmocka_unit_test(test_no_wardd),
		cmocka_unit_test(test_hello_timeout),
		cmocka_unit_test(test_subscribe_timeout),
		cmocka_unit_test(test_events_and_accessors),
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_pad_wrap),
		cmocka_unit_test(test_short_gap),
		cmocka_unit_test(test_gaps_and_lost),
		cmocka_unit_test(test_next_releases_previous),
		cmocka_unit_test(test_dispatch_batch),
		cmocka_unit_test(test_dispatch_stop_early),
		cmocka_unit_test(test_fd_readiness),
		cmocka_unit_test(test_wait_wakeup),
		cmocka_unit_test(test_wait_timeout),
		cmocka_unit_test(test_closed_flag),
		cmocka_unit_test(test_wardd_gone),
		cmocka_unit_test(test_corrupt_ring),
		cmocka_unit_test(test_corrupt_short_gap),
		cmocka_unit_test(test_corrupt_mid_batch),
		cmocka_unit_test(test_content_request),
		cmocka_unit_test(test_content_reply_with_nul),
		cmocka_unit_test(test_content_info_none),
		cmocka_unit_test(test_content_info_modes),
		cmocka_unit_test(test_content_info_malformed),
		cmocka_unit_test(test_content_validate_not_validate),
		cmocka_unit_test(test_content_validate_accept),
		cmocka_unit_test(test_content_validate_reject),
		cmocka_unit_test(test_content_validate_bad_env),
		cmocka_unit_test(test_null_args),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
