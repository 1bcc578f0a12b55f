/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_broker.c — libFuzzer harness for wardd's client protocol: the real
 * request path of daemon/broker.c (header checks, the request table, every
 * handler) on a fake connected client.  The input is a sequence of
 * datagrams, so a fuzzed session can get past HELLO and reach SUBSCRIBE:
 *   [u8 count] then count x ([u16 length] [length bytes]).
 * Invariant checked: a datagram is either answered or gets the client
 * dropped with a reason; wardd never crashes and never leaks descriptors.
 */
#include "../daemon/broker.c"

#include <assert.h>
#include <signal.h>

/* auth.c's side, recorded rather than acted on: the broker's checks are
 * what is fuzzed here. */
static uint64_t auth_calls;
int auth_available(void) { return 1; }
void auth_set_mask(uint64_t mask) { auth_calls += mask != 0; }
void auth_vote(uint32_t client_id, uint64_t auth_id, uint32_t verdict, uint32_t flags)
{
	/* the broker passes on only well-formed verdicts */
	assert(verdict <= WARD_VERDICT_DENY && !(flags & ~WARD_RESPOND_CACHE));
	auth_calls++;
}
void auth_client_gone(uint32_t client_id, uint64_t mask) { auth_calls++; }
void auth_clear_cache(void) { auth_calls++; }

/* content.c's side: every request answered at once (its parsing of the
 * request is content.c's; the broker's part is the framing) */
void content_request(uint32_t client_id, const char *json, size_t len)
{
	assert(strlen(json) == len);
	broker_content_reply(client_id, "{\"ok\":false}");
}

/* netpolicy.c's side: a fake table, so rules can be added and removed */
static uint32_t np_next, np_owner[8];
int netpolicy_epoll_fd(void) { return 3; }
int netpolicy_add(const struct netpolicy_rule *r, uint32_t client_id, uint32_t *rule_id)
{
	if (r->type != WARD_EV_AUTH_CONNECT && r->type != WARD_EV_AUTH_BIND)
		return -EINVAL;
	for (uint32_t i = 0; i < 8; i++)
		if (!np_owner[i]) {
			np_owner[i] = client_id;
			*rule_id = ++np_next * 8 + i;
			return 0;
		}
	return -ENOSPC;
}
int netpolicy_remove(uint32_t rule_id, uint32_t client_id)
{
	uint32_t i = rule_id % 8;
	if (!np_owner[i])
		return -ENOENT;
	if (np_owner[i] != client_id)
		return -EPERM;
	np_owner[i] = 0;
	return 0;
}
void netpolicy_remove_client(uint32_t client_id)
{
	for (uint32_t i = 0; i < 8; i++)
		if (np_owner[i] == client_id)
			np_owner[i] = 0;
}

static void drain(int fd)
{
	char buf[WARD_MSG_MAX];
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	for (;;) {
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				    .msg_controllen = sizeof(cbuf)};
		if (recvmsg(fd, &mh, MSG_DONTWAIT) <= 0)
			return;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_type == SCM_RIGHTS)
				for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++)
					close(((int *)CMSG_DATA(cm))[k]);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	B.epfd = -1;
	B.ring_bytes = 1 << 16;
	log_quiet = 1; /* the handlers log every drop: keep the fuzzer's output readable */
	/* as wardd does: a wake-up written to a pipe whose reader is gone must
	 * fail with EPIPE, not kill the process */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sp[2];
	if (size < 1)
		return 0;
	/* fails with EMFILE if an earlier run leaked descriptors */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp))
		abort();
	struct client *c = calloc(1, sizeof(*c));
	c->kind = TAG_CLIENT;
	c->fd = sp[0];
	c->ring_fd = c->ctl_fd = c->event_fd = -1;
	B.clients[0] = c;

	unsigned count = data[0];
	size_t off = 1;
	const char *why = NULL;
	for (unsigned i = 0; i < count && !why && off + 2 <= size; i++) {
		size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8;
		off += 2;
		if (len > size - off)
			len = size - off;
		/* wardd receives into an aligned buffer; so does the harness */
		static _Alignas(16) uint8_t msgbuf[WARD_MSG_MAX];
		memcpy(msgbuf, data + off, len < sizeof(msgbuf) ? len : sizeof(msgbuf));
		why = handle_msg(c, msgbuf, (ssize_t)len, len > sizeof(msgbuf));
		off += len;
		drain(sp[1]);
	}
	client_free(c, NULL); /* closes sp[0] and whatever the handlers made */
	close(sp[1]);
	assert(B.clients[0] == NULL);
	return 0;
}
