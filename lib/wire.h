/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wire.h — what crosses between wardd and a client.  Private to ward (wardd
 * and libward are built from the same tree); clients see only ward.h.
 *
 * 1. Control socket: SOCK_SEQPACKET at $WARD_RUNTIME_DIR/ward.sock.  Each
 *    datagram is one message: a struct ward_msg header followed by a body of
 *    (len - sizeof(struct ward_msg)) bytes.  All integers little-endian (host
 *    order; both ends are on the same host).  A message larger than
 *    WARD_MSG_MAX, shorter than its header, with a bad magic, an unknown
 *    type, or a body of the wrong size gets the sender disconnected.
 *
 *      client -> wardd   HELLO      struct ward_msg_hello
 *      wardd  -> client  WELCOME    struct ward_msg_welcome + SCM_RIGHTS
 *                                   [ring_fd (read-only), ctl_fd, wake_fd]
 *      client -> wardd   SUBSCRIBE  struct ward_msg_subscribe
 *      wardd  -> client  REPLY      struct ward_msg_reply
 *      client -> wardd   STATUS     (empty body)
 *      wardd  -> client  STATUS_REPLY  JSON text (no NUL), up to WARD_MSG_MAX
 *      client -> wardd   VERDICT    struct ward_msg_verdict (never answered)
 *      client -> wardd   CLEAR_CACHE  (empty body)
 *      wardd  -> client  REPLY      struct ward_msg_reply
 *      client -> wardd   NET_RULE_ADD     struct ward_net_rule (ward.h)
 *      wardd  -> client  REPLY      struct ward_msg_reply, value = the rule id
 *      client -> wardd   NET_RULE_REMOVE  struct ward_msg_net_rule_remove
 *      wardd  -> client  REPLY      struct ward_msg_reply
 *      client -> wardd   MUTE       struct ward_msg_mute
 *      wardd  -> client  REPLY      struct ward_msg_reply
 *      client -> wardd   RESUME     struct ward_msg_resume (after_global_seq
 *                                   UINT64_MAX: after the manifest's acked one)
 *      wardd  -> client  REPLY      struct ward_msg_reply, value = 1 when the
 *                                   journal no longer held some of the events
 *      wardd  -> client  FILE       struct ward_msg_file + SCM_RIGHTS [fd]
 *      client -> wardd   CONTENT    JSON text (no NUL): a content request
 *                                   (docs/content.md, "Requests")
 *      wardd  -> client  CONTENT_REPLY  JSON text (no NUL), up to WARD_MSG_MAX;
 *                                   or REPLY with a negative errno when the
 *                                   connection may not manage content
 *
 *    FILE is the one message wardd sends unasked: the read-only descriptor
 *    of the file an AUTH request is about, to a client that asked for it
 *    (WARD_AUTH_FILE), sent just before the request goes into the ring.  It
 *    may arrive while the client waits for a REPLY; libward keeps it aside.
 *
 *    Requests are answered in order; the client waits for each answer.
 *    VERDICT is the exception: it gets no answer, so a client can send it
 *    from any thread at any time (a datagram is sent whole or not at all).
 *
 * 2. Event ring: a memfd of WARD_RING_HDR_SIZE + size bytes, size a power of
 *    two.  wardd maps it read-write and seals it (F_SEAL_FUTURE_WRITE etc.);
 *    the client maps it read-only.  Byte 0: struct ward_ring_hdr; data from
 *    WARD_RING_HDR_SIZE.  wardd writes records at (head % size) and then
 *    publishes head (release).  A record never wraps: when the next record
 *    does not fit before the end of the data area, wardd writes a PAD record
 *    (type WARD_REC_PAD) that fills the rest and starts again at offset 0.
 *    When fewer than sizeof(struct ward_rec) bytes remain before the end,
 *    there is no room for a PAD header: those bytes are skipped implicitly
 *    (the reader moves to offset 0 as if a PAD record were there).
 *
 *    ctl memfd (one page, both sides read-write): struct ward_ring_ctl.
 *    The client publishes tail (release) when it has finished with records;
 *    wardd never writes a record over bytes the client has not released.
 *    wardd treats tail as untrusted: a tail beyond head, or behind head by
 *    more than size, disconnects the client.  With tail, the client
 *    publishes acked_global_seq, the global_seq of the last record it
 *    released; wardd keeps it per manifest in its journal (RESUME with
 *    WARD_RESUME_LAST starts after it) and trusts it for nothing else.
 *
 *    Wake-up: wake_fd is the read end of a pipe whose write end only wardd
 *    holds (non-blocking).  ctl->waiting starts at 1.  Before sleeping on
 *    wake_fd, the client sets ctl->waiting = 1 and re-reads head; after
 *    publishing head, wardd reads waiting and, if set, clears it and writes
 *    a byte to the pipe.  (seq_cst on both sides.)  The client drains the
 *    pipe before arming.
 *
 *    A STATUS that wardd cannot answer gets a REPLY with a negative errno.
 *
 * 3. Record: struct ward_rec, then nfields fields, each a struct ward_field_hdr
 *    followed by len bytes padded with zeros to a multiple of 8.  U64/I64 values
 *    are 8 bytes; STR is the bytes plus a NUL; STRV is strings each with its NUL.
 */
#ifndef WARD_WIRE_H
#define WARD_WIRE_H

#include <stdint.h>

#define WARD_MSG_MAGIC 0x31445257u /* "WRD1" */
#define WARD_MSG_MAX 65536u        /* largest message either side sends */
#define WARD_SOCK_NAME "ward.sock"
#define WARD_DEFAULT_RUNTIME_DIR "/run/ward"

enum ward_msg_type {
	WARD_MSG_HELLO = 1,
	WARD_MSG_WELCOME = 2,
	WARD_MSG_SUBSCRIBE = 3,
	WARD_MSG_REPLY = 4,
	WARD_MSG_STATUS = 5,
	WARD_MSG_STATUS_REPLY = 6,
	WARD_MSG_VERDICT = 7,
	WARD_MSG_CLEAR_CACHE = 8,
	WARD_MSG_NET_RULE_ADD = 9,
	WARD_MSG_NET_RULE_REMOVE = 10,
	WARD_MSG_FILE = 11,
	WARD_MSG_MUTE = 12,
	WARD_MSG_RESUME = 13,
	WARD_MSG_CONTENT = 14,
	WARD_MSG_CONTENT_REPLY = 15,
};

struct ward_msg {
	uint32_t magic;
	uint16_t type;
	uint16_t flags; /* 0 */
	uint32_t len;   /* header + body */
	uint32_t reserved; /* 0 */
};

struct ward_msg_hello {
	uint32_t api_version;
	uint32_t ring_size_log2; /* 0 = wardd's default; else 16..28 */
	char name[64];           /* NUL-padded */
};

struct ward_msg_welcome {
	uint32_t api_version;
	uint32_t client_id;
	uint64_t ring_size; /* data bytes */
};

struct ward_msg_subscribe {
	uint64_t notify_mask;    /* bit t = enum ward_event_type t */
	uint64_t auth_mask;      /* AUTH types whose requests the client answers */
	uint64_t auth_deny_mask; /* of those, the ones whose default is DENY */
	uint32_t deadline_ms;    /* per request; 0 = wardd's default */
	uint32_t reserved;       /* 0 */
	uint64_t auth_file_mask; /* of the AUTH types, those it wants descriptors for */
};

enum { WARD_MUTE_OP_ADD = 1, WARD_MUTE_OP_REMOVE = 2, WARD_MUTE_OP_CLEAR = 3, WARD_MUTE_OP_INVERT = 4 };

struct ward_msg_mute {
	uint32_t op;        /* WARD_MUTE_OP_* */
	uint32_t kind;      /* enum ward_mute_kind (not for CLEAR) */
	uint64_t types;     /* bit t = event type t */
	uint64_t pid;
	uint32_t inverted;  /* INVERT: 1 or 0 */
	uint32_t path_len;  /* bytes of path used, no NUL */
	char path[4096];
};

struct ward_msg_file {
	uint64_t auth_id;
};

struct ward_msg_verdict {
	uint64_t auth_id;
	uint32_t verdict; /* enum ward_verdict */
	uint32_t flags;   /* WARD_RESPOND_* */
};

struct ward_msg_reply {
	int32_t error;  /* 0 or negative errno */
	uint32_t value; /* what a request asked for (NET_RULE_ADD: the id), else 0 */
};

struct ward_msg_net_rule_remove {
	uint32_t rule_id;
	uint32_t reserved; /* 0 */
};

struct ward_msg_resume {
	uint64_t after_global_seq; /* replay journaled events newer than this */
};

#define WARD_RING_MAGIC 0x474e4952u /* "RING" */
#define WARD_RING_HDR_SIZE 4096u

struct ward_ring_hdr {
	uint32_t magic;
	uint32_t version;     /* WARD_API_VERSION */
	uint64_t size;        /* data bytes, power of two */
	uint64_t head;        /* producer position (bytes written, monotonic) */
	uint64_t lost;        /* events wardd could not deliver to this client */
	uint64_t reserved;    /* 0 */
	uint32_t closed;      /* 1 when wardd has dropped this client */
	uint32_t pad;
};

struct ward_ring_ctl {
	uint64_t tail;     /* consumer position (bytes released) */
	uint32_t waiting;  /* consumer is about to sleep on wake_fd */
	uint32_t pad;
	uint64_t acked_global_seq; /* global_seq of the last record released (0: none yet) */
};

#define WARD_REC_PAD 0xffffu
#define WARD_REC_MAX 65536u /* largest record */

struct ward_rec {
	uint32_t size; /* whole record including this header, multiple of 8 */
	uint16_t type; /* enum ward_event_type, or WARD_REC_PAD */
	uint16_t nfields;
	uint64_t seq;
	uint64_t global_seq;
	uint64_t time_ns;
};

struct ward_field_hdr {
	uint16_t id;   /* enum ward_field */
	uint16_t kind; /* enum ward_field_kind */
	uint32_t len;  /* value bytes, before padding */
};

/* widen first: a 32-bit len near UINT32_MAX must not wrap to 0 */
#define WARD_ALIGN8(x) (((uint64_t)(x) + 7u) & ~(uint64_t)7u)

#endif /* WARD_WIRE_H */
