/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libward — the client API of ward.
 *
 * A client connects to wardd (the broker) over a Unix socket in the runtime
 * directory ($WARD_RUNTIME_DIR, default /run/ward), subscribes to event types,
 * and receives events in batches through a shared-memory ring that wardd
 * writes and the client only reads.  ward_client_fd() returns a descriptor
 * for poll/epoll that is readable when the ring has data or wardd is gone.
 *
 * Conventions (as in systemd's sd-* and libcurl):
 *   - Handles are opaque.  Constructors are `int x_new(x **ret, ...)`.
 *   - Every function that can fail returns a negative errno value on error
 *     and leaves its output arguments unchanged.
 *   - Every `_free` function accepts NULL and returns NULL.
 *   - The library never prints and never calls exit(), except
 *     ward_content_validate() in validate mode, which exists to do both.
 *   - Event type and field numbers are only ever appended to: a number once
 *     published keeps its meaning forever.
 *
 * Thread safety: a ward_client may be used by one thread at a time, with
 * one exception: ward_client_respond() may be called from any thread at any
 * time, alongside any other call but ward_client_free().  Different clients
 * are independent.
 *
 * Requests (subscribe, status, content) wait at most 5 s for wardd's answer.  A
 * request that fails on the connection itself (timeout, protocol error)
 * ends the connection, since a late answer could be taken for the next
 * one's: every later call returns -EPIPE, and the client is freed and
 * created anew.  A request wardd refuses (-EINVAL, -EAGAIN) does not.
 */
#ifndef WARD_WARD_H
#define WARD_WARD_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the protocol and of this header's ABI. */
#define WARD_API_VERSION 1

#include <ward/event_types.h>

/*
 * Event fields.  Stable numbers: only ever appended to.  An event carries the
 * fields that apply to its type (docs/events.md); fields 1..31 describe the
 * acting process and appear in every event.
 */
enum ward_field {
	WARD_F_INVALID = 0,
	/* the acting process (every event) */
	WARD_F_PID = 1,           /* u64: thread-group id */
	WARD_F_PPID = 2,          /* u64 */
	WARD_F_UID = 3,           /* u64 */
	WARD_F_GID = 4,           /* u64 */
	WARD_F_EUID = 5,          /* u64 */
	WARD_F_EGID = 6,          /* u64 */
	WARD_F_COMM = 7,          /* str */
	WARD_F_EXE = 8,           /* str: executable path, as the kernel resolved it (sensors)
				     or as /proc/<pid>/exe names it (AUTH requests) */
	WARD_F_ARGV = 9,          /* strv: NUL-separated arguments */
	WARD_F_CWD = 10,          /* str */
	WARD_F_START_TIME = 11,   /* u64: ns since boot (CLOCK_BOOTTIME) */
	WARD_F_CGROUP_ID = 12,    /* u64: cgroup v2 id */
	WARD_F_CONTAINER_ID = 13, /* str: container id named by the cgroup path */
	WARD_F_TID = 14,          /* u64: thread id that acted */

	/* the type's own object (see docs/events.md for which type has which) */
	WARD_F_RESULT = 32,       /* i64: syscall return value (negative errno on failure) */
	WARD_F_PATH = 33,         /* str */
	WARD_F_NEW_PATH = 34,     /* str: rename and link destination */
	WARD_F_LINK_TARGET = 35,  /* str: symlink contents */
	WARD_F_FLAGS = 36,        /* u64 */
	WARD_F_MODE = 37,         /* u64 */
	WARD_F_OWNER_UID = 38,    /* i64: chown uid, -1 = unchanged */
	WARD_F_OWNER_GID = 39,    /* i64: chown gid, -1 = unchanged */
	WARD_F_LENGTH = 40,       /* i64: truncate length */
	WARD_F_FD = 41,           /* i64 */
	WARD_F_FAMILY = 42,       /* u64: AF_* */
	WARD_F_PROTOCOL = 43,     /* u64: IPPROTO_* */
	WARD_F_SOCK_TYPE = 44,    /* u64: SOCK_* */
	WARD_F_LOCAL_ADDR = 45,   /* str */
	WARD_F_LOCAL_PORT = 46,   /* u64 */
	WARD_F_REMOTE_ADDR = 47,  /* str */
	WARD_F_REMOTE_PORT = 48,  /* u64 */
	WARD_F_BACKLOG = 49,      /* u64 */
	WARD_F_TARGET_PID = 50,   /* i64 */
	WARD_F_TARGET_TID = 51,   /* i64 */
	WARD_F_SIGNAL = 52,       /* u64 */
	WARD_F_REQUEST = 53,      /* u64: ptrace request */
	WARD_F_OLD_UID = 54,      /* u64 */
	WARD_F_OLD_GID = 55,      /* u64 */
	WARD_F_OLD_EUID = 56,     /* u64 */
	WARD_F_OLD_EGID = 57,     /* u64 */
	WARD_F_NEW_UID = 58,      /* u64 */
	WARD_F_NEW_GID = 59,      /* u64 */
	WARD_F_NEW_EUID = 60,     /* u64 */
	WARD_F_NEW_EGID = 61,     /* u64 */
	WARD_F_SYSCALL = 62,      /* str: the syscall's name, where a type has several */
	WARD_F_CAP_EFFECTIVE = 63,     /* u64 */
	WARD_F_CAP_PERMITTED = 64,     /* u64 */
	WARD_F_CAP_INHERITABLE = 65,   /* u64 */
	WARD_F_OLD_CAP_EFFECTIVE = 66, /* u64 */
	WARD_F_OLD_CAP_PERMITTED = 67, /* u64 */
	WARD_F_NAME = 68,         /* str: memfd name, BPF program name */
	WARD_F_ARGS = 69,         /* str: module parameters */
	WARD_F_BPF_CMD = 70,      /* u64: BPF_* command */
	WARD_F_PROG_TYPE = 71,    /* u64: BPF_PROG_TYPE_* */
	WARD_F_ATTACH_TYPE = 72,  /* u64: BPF_* attach type */
	WARD_F_INSN_COUNT = 73,   /* u64 */
	WARD_F_SOURCE = 74,       /* str: mount source */
	WARD_F_FSTYPE = 75,       /* str */
	WARD_F_CHILD_PID = 76,    /* u64 */
	WARD_F_EXIT_CODE = 77,    /* u64: exit status when exited normally */
	WARD_F_EXIT_SIGNAL = 78,  /* u64: signal that ended the process, 0 if none */
	WARD_F_CORE_DUMPED = 79,  /* u64: 1 if a core was dumped */
	WARD_F_FILENAME = 80,     /* str: exec path as the caller passed it */
	WARD_F_TARGET_COMM = 81,  /* str: comm of a signal/ptrace target, when known */
	WARD_F_OLD_SUID = 82,     /* u64 */
	WARD_F_NEW_SUID = 83,     /* u64 */
	WARD_F_ARGV_TRUNCATED = 84, /* u64: 1 when exec's argv was cut at 4095 bytes */
	/* authorization (docs/auth.md) */
	WARD_F_AUTH_ID = 85,      /* u64: the request a verdict answers (AUTH messages only) */
	WARD_F_DEADLINE = 86,     /* u64: answer before this, ns of CLOCK_MONOTONIC (AUTH messages only) */
	WARD_F_VERDICT = 87,      /* u64: enum ward_verdict that the kernel applied */
	WARD_F_DECIDED_BY = 88,   /* str: name of the client whose answer decided */
	WARD_F_REASON = 89,       /* str: how the verdict came about (docs/auth.md) */
	WARD_F_LATENCY_NS = 90,   /* u64: from wardd reading the request to the verdict */
	WARD_F_SHA256 = 91,       /* str: executable's SHA-256, 64 hex digits */
	WARD_F_RULE_ID = 92,      /* u64: the network rule that denied */
	WARD_F_RULE_CLIENT = 93,  /* str: name of the client that installed that rule */
	WARD_F_DEV = 94,          /* u64: st_dev of the file */
	WARD_F_INO = 95,          /* u64: st_ino of the file */
	WARD_F_STATE = 96,        /* str: a supervised client's new state (docs/supervisor.md) */
	WARD_F_RESTARTS = 97,     /* u64: times the supervisor restarted that client */
	WARD_F_PREVENTED = 98,    /* u64: tamper: 1 if ward stopped it, 0 if it only saw it */
	WARD_F_VERSION = 99,      /* u64: content: the bundle's version */
	WARD_F_FROM_VERSION = 100, /* u64: content: the version it replaces (0: none) */
	WARD_F_CHANNEL = 101,     /* str: content: the bundle's channel */
	/* append new fields here */
	WARD_F_MAX_
};

/* How a field's value is stored. */
enum ward_field_kind {
	WARD_KIND_NONE = 0,
	WARD_KIND_U64 = 1,
	WARD_KIND_I64 = 2,
	WARD_KIND_STR = 3,  /* bytes followed by a NUL */
	WARD_KIND_STRV = 4, /* NUL-terminated strings, one after another */
};

typedef struct ward_client ward_client;
typedef struct ward_event ward_event;

/* Statistics a client can read about itself. */
struct ward_client_stats {
	uint64_t received;  /* events handed to the caller */
	uint64_t lost;      /* events wardd could not deliver (ring full) */
	uint64_t gaps;      /* number of seq gaps the library observed */
};

/*
 * ward_client_new() — connect to wardd and register as a client.
 * @ret:  on success, *ret is set to a new handle; free it with ward_client_free().
 * @name: a short name shown by `ward status` (copied; may be NULL).
 * Connects to "$WARD_RUNTIME_DIR/ward.sock" (default /run/ward/ward.sock),
 * maps the shared ring wardd creates for this client.  The ring's size is
 * wardd's default (8 MiB), or $WARD_CLIENT_RING_KB (64 to 262144, rounded up
 * to a power of two) when set: a bigger ring rides out longer pauses.
 * wardd identifies the calling process (its user, its cgroup, its
 * executable and that file's SHA-256) against the manifests in
 * /etc/ward/clients.d (docs/manifests.md); the client may then do exactly
 * what its manifest grants.  A root process no manifest names may only
 * read NOTIFY events and the status (`ward events`, `ward status`).
 * Returns 0, or -ENOENT / -ECONNREFUSED when wardd is not running,
 * -EACCES when no manifest names the process (and it is not root), -EPERM
 * when its manifest is quarantined or disabled, -EBUSY when its manifest
 * already has 8 connections, -EAGAIN when wardd is busy identifying other
 * processes (try again), -ESRCH when the process went away while wardd
 * looked, -EPROTO on a protocol mismatch, -ENOMEM, or another negative
 * errno.  A registered client's ring is at most 64 MiB.
 */
int ward_client_new(ward_client **ret, const char *name);

/* ward_client_free() — disconnect and release everything.  NULL is a no-op.
 * Events obtained from the client become invalid.  Always returns NULL. */
ward_client *ward_client_free(ward_client *c);

/*
 * ward_client_subscribe() — replace the client's subscription with @types.
 * @types: an array of @n enum ward_event_type values (n = 0 unsubscribes all).
 * Waits for wardd's acknowledgement.  Returns 0, -EINVAL for an unknown type
 * (subscription unchanged), -EAGAIN when the client re-subscribed more than
 * 20 times in a second (subscription unchanged; wardd re-attaches sensors
 * for each change), -EPERM for a type the client's manifest does not grant
 * (subscription unchanged), -EPIPE if wardd went away, or another negative
 * errno.
 */
int ward_client_subscribe(ward_client *c, const uint32_t *types, size_t n);

/* ward_client_fd() — a file descriptor for poll/epoll that becomes readable
 * when events are waiting or when wardd has gone away.  Owned by the client:
 * do not close it.  After it polls readable, call ward_client_dispatch() or
 * ward_client_next() with timeout 0 (which returns -EPIPE if wardd is gone). */
int ward_client_fd(const ward_client *c);

/*
 * ward_client_next() — return the next event.
 * @ev: set to an event owned by the client, valid until the next call of
 *      ward_client_next(), ward_client_dispatch() or ward_client_free().
 * @timeout_ms: -1 waits forever, 0 never waits.
 * Returns 1 with *ev set, 0 on timeout (*ev unchanged), -EPIPE if wardd
 * disconnected the client or went away, -EPROTO if the ring is corrupt, -EINTR.
 */
int ward_client_next(ward_client *c, const ward_event **ev, int timeout_ms);

/* Callback for ward_client_dispatch(); return non-zero to stop early.
 * @ev is valid only until the callback returns. */
typedef int (*ward_event_fn)(const ward_event *ev, void *userdata);

/*
 * ward_client_dispatch() — call @fn for every event waiting (after waiting up
 * to @timeout_ms for the first one), then release them to wardd in one step.
 * This is the batch path: no syscall per event.
 * Returns the number of events handled (0 on timeout) or a negative errno as
 * for ward_client_next().
 */
int ward_client_dispatch(ward_client *c, ward_event_fn fn, void *userdata, int timeout_ms);

/* ward_client_stats() — copy the client's counters into @st.  Returns 0. */
int ward_client_stats(const ward_client *c, struct ward_client_stats *st);

/*
 * ward_client_resume() — catch up on what the client missed: every NOTIFY
 * event of its subscription (and not muted) whose global_seq is greater
 * than @after_global_seq is delivered, oldest first, before any new event.
 * wardd keeps recent events in a journal for this (its size is wardd's
 * --journal-mb), across its own restarts too, so a client that crashed, or
 * lost wardd, reconnects, subscribes and resumes from the global_seq of the
 * last event it finished with (ward_event_global_seq(); a client that must
 * survive its own restart keeps it on disk).  Events may come twice
 * (at-least-once); none is lost within the journal's bound.
 * Call it once, right after ward_client_new() and before
 * ward_client_subscribe(): replay starts with the subscription, and no new
 * event reaches the client before the replay has caught up.  The events
 * arrive through ward_client_next()/ward_client_dispatch() with new seq
 * numbers.
 * Returns 0, 1 when the journal no longer held some of the events, or
 * never numbered @after_global_seq (a journal started afresh): they are
 * lost, and the first event delivered shows where it resumes;
 * -EOPNOTSUPP when wardd keeps no journal, -EALREADY on a second call,
 * -EBUSY once events have been delivered on this connection, -EPIPE, or
 * another negative errno.
 * @after_global_seq may be WARD_RESUME_LAST: after the last event that any
 * connection of this client's manifest acknowledged (finished with: libward
 * tells wardd as the client moves on to the next event), which wardd keeps
 * in its journal across its own restarts.  A supervised client that calls
 * this at every start loses nothing when it, or wardd, is restarted.
 * Without a manifest, or with nothing acknowledged yet, it replays nothing
 * and returns 0.
 * (LIBWARD_0.3)
 */
#define WARD_RESUME_LAST UINT64_MAX
int ward_client_resume(ward_client *c, uint64_t after_global_seq);

/*
 * ward_client_status_json() — ask wardd for its status (as `ward status --json`).
 * @ret: set to a NUL-terminated JSON text the caller frees with free().
 * Returns 0, -EPERM for a client that is not root, or a negative errno.
 */
int ward_client_status_json(ward_client *c, char **ret);

/* ---- Authorization (docs/auth.md) ----
 *
 * A client subscribed to an AUTH type receives each request as an event
 * (ward_event_is_auth() is 1) carrying WARD_F_AUTH_ID and WARD_F_DEADLINE,
 * and answers with ward_client_respond() before the deadline.  The kernel
 * applies DENY if any subscribed client denies, else ALLOW.  A client that
 * misses its deadline gets its declared default verdict for that type and
 * a strike; too many strikes within a minute (wardd --auth-strikes, 5) and
 * wardd disconnects it.  A client
 * that disconnects has its pending requests resolved at once with its
 * defaults.  Subscribing to an AUTH type with ward_client_subscribe()
 * instead (NOTIFY) delivers each request once decided, with WARD_F_VERDICT,
 * WARD_F_DECIDED_BY, WARD_F_REASON and WARD_F_LATENCY_NS: what `ward events`
 * shows.
 */
enum ward_verdict {
	WARD_VERDICT_ALLOW = 0,
	WARD_VERDICT_DENY = 1,
};

/* ward_client_respond() flags */
#define WARD_RESPOND_CACHE 0x1u /* the verdict depends on the file alone (its
				   content, its inode: not its name, not the
				   process).  An ALLOW then holds for every
				   process until the file is written (the
				   kernel answers); a DENY for 2 s */

/* ward_auth_sub flags */
#define WARD_AUTH_FILE 0x1u /* with each request, a read-only descriptor of the
			       file (see ward_client_take_file()); needs the
			       manifest's file_descriptors entitlement) */

/* One AUTH subscription: the type, the verdict taken when the client misses
 * its deadline (fail-open: WARD_VERDICT_ALLOW; fail-closed: DENY), flags. */
struct ward_auth_sub {
	uint32_t type;            /* WARD_EV_AUTH_EXEC or WARD_EV_AUTH_OPEN */
	uint32_t default_verdict; /* enum ward_verdict */
	uint32_t flags;           /* 0 or WARD_AUTH_FILE */
};

/*
 * ward_client_subscribe_auth() — replace the client's AUTH subscription.
 * @subs: @n entries (n = 0 ends the AUTH subscription; pending requests
 *        then resolve with the client's defaults).
 * @deadline_ms: time the client needs per request, 0 for wardd's default
 *        (1000 ms); wardd caps it at its configured maximum (at most 10 s).
 *        A client's manifest sets the deadline and the verdict on a miss of
 *        each type it answers: the client may ask for less time than its
 *        manifest's deadline, never more, and its default_verdict counts
 *        only where the manifest says nothing.
 * Independent of ward_client_subscribe() (the NOTIFY subscription).
 * Adding a type clears every cached verdict (the new client must be asked).
 * Returns 0, -EINVAL for a type that is not AUTH-capable, a default that
 * is not a verdict or an unknown flag (subscription unchanged), -EPERM for
 * a type or WARD_AUTH_FILE the client's manifest does not grant, -EOPNOTSUPP when wardd has no
 * fanotify, -ENOSPC when 32 clients already answer AUTH types, -EAGAIN as
 * for ward_client_subscribe() or when clients added AUTH types 8 times in
 * the last second (try again a second later), -EPIPE, or another negative
 * errno.
 */
int ward_client_subscribe_auth(ward_client *c, const struct ward_auth_sub *subs, size_t n,
			       uint32_t deadline_ms);

/* ward_event_is_auth() — 1 if @ev is a request waiting for this client's
 * verdict, 0 if it is a notification. */
int ward_event_is_auth(const ward_event *ev);

/*
 * ward_client_take_file() — the read-only descriptor of the file request
 * @ev is about (subscribed with WARD_AUTH_FILE), so a content scanner reads
 * exactly what is being opened or executed, never a path that may have
 * changed.  Reading it raises no AUTH request of its own.  The caller owns
 * the descriptor (close it).  Take it before answering: libward keeps the
 * descriptors of the last 64 requests only.  Returns the descriptor, or
 * -ENOENT (none came: not asked for, not entitled, or the client's socket
 * was full), -EPIPE, -EPROTO.
 */
int ward_client_take_file(ward_client *c, const ward_event *ev);

/*
 * ward_client_respond() — answer the AUTH request @auth_id (the event's
 * WARD_F_AUTH_ID; the event itself need not be valid any more, so a client
 * may decide on another thread and answer later).
 * @verdict: enum ward_verdict.  @flags: 0 or WARD_RESPOND_CACHE.
 * Does not wait for wardd.  An answer after the deadline, or to a request
 * already decided (another client denied), is ignored by wardd.
 * Returns 0, -EINVAL for a bad verdict or flag, -EPIPE, -EAGAIN if the
 * socket is full (wardd is not reading: the deadline will take over).
 */
int ward_client_respond(ward_client *c, uint64_t auth_id, uint32_t verdict, uint32_t flags);

/*
 * ward_client_clear_cache() — forget every cached verdict, in wardd and in
 * the kernel: the next access to any file asks the clients again.  For a
 * client whose policy changed.  Waits for wardd.  Returns 0, -EPERM
 * without the manifest's clear_cache entitlement, -EAGAIN when called more
 * than once a second by any client (the cache was just cleared), -EPIPE,
 * or another negative errno.
 */
int ward_client_clear_cache(ward_client *c);

/* ---- Mutes ----
 *
 * A client mutes what it does not want: events of the processes, the
 * executables or the target paths it names, each for some event types.
 * Muted AUTH requests are not sent to the client, which counts as its
 * ALLOW.  A class of mutes (process, executable, target path) can be
 * inverted: then, for the types its mutes name, only matching events get
 * through.  A process every NOTIFY subscriber mutes (for all the types it
 * subscribed to) is dropped in the kernel, by the sensors; the other mutes
 * are applied in wardd (the kernel could only ignore an inode, which follows
 * a file renamed to another name; docs/auth.md).
 */
enum ward_mute_kind {
	WARD_MUTE_PROCESS = 1,      /* @pid: the acting process (thread-group id) */
	WARD_MUTE_EXE_LITERAL = 2,  /* @path: the acting process's executable, exactly */
	WARD_MUTE_EXE_PREFIX = 3,   /* @path: executables whose path starts with it */
	WARD_MUTE_PATH_LITERAL = 4, /* @path: the target (WARD_F_PATH or WARD_F_NEW_PATH) */
	WARD_MUTE_PATH_PREFIX = 5,  /* @path: targets whose path starts with it
				       ("/tmp/" for a directory, not "/tmp") */
};

/*
 * ward_client_mute() — mute @kind (@pid for WARD_MUTE_PROCESS, else the
 * absolute @path) for the @n event types in @types (n = 0: every type).
 * Muting again adds types.  Waits for wardd.  Returns 0, -EINVAL (unknown
 * kind or type, a path not absolute or of 4096 bytes or more), -ENOSPC
 * (1024 mutes per client), -EPIPE, or another negative errno.
 */
int ward_client_mute(ward_client *c, uint32_t kind, uint64_t pid, const char *path,
		     const uint32_t *types, size_t n);
/* ward_client_unmute() — the reverse, for the @n types (n = 0: all).
 * Returns 0, -ENOENT (no such mute), -EINVAL, -EPIPE. */
int ward_client_unmute(ward_client *c, uint32_t kind, uint64_t pid, const char *path,
		       const uint32_t *types, size_t n);
/* ward_client_unmute_all() — drop every mute and inversion.  Returns 0 or
 * a negative errno. */
int ward_client_unmute_all(ward_client *c);
/* ward_client_invert_muting() — invert (@inverted 1) or restore the class
 * of @kind (WARD_MUTE_PROCESS; EXE_*; PATH_*).  Returns 0, -EINVAL, -EPIPE. */
int ward_client_invert_muting(ward_client *c, uint32_t kind, int inverted);

/* ---- Network policy (docs/auth.md) ----
 *
 * AUTH_CONNECT and AUTH_BIND are decided in the kernel, with no round trip:
 * a client installs deny rules, cgroup-bpf programs apply them to every
 * connect() and bind() (the call fails with EPERM), and each denial is a
 * NOTIFY event of type WARD_EV_AUTH_CONNECT or WARD_EV_AUTH_BIND naming the
 * rule (WARD_F_RULE_ID) and the client that installed it (WARD_F_RULE_CLIENT).
 * A client's rules last while it is connected.
 */
struct ward_net_rule {
	uint32_t type;       /* WARD_EV_AUTH_CONNECT or WARD_EV_AUTH_BIND */
	uint16_t family;     /* AF_INET or AF_INET6 */
	uint8_t prefix_len;  /* CIDR prefix of addr: 0..32 (AF_INET), 0..128 (AF_INET6) */
	uint8_t protocol;    /* IPPROTO_TCP, IPPROTO_UDP, or 0 for any */
	uint8_t addr[16];    /* network order; AF_INET uses the first 4 bytes, the rest 0.
				An AF_INET rule also matches IPv4-mapped IPv6 addresses. */
	uint16_t port_lo;    /* inclusive range, host order; 0 and 65535 for any port */
	uint16_t port_hi;
	uint64_t cgroup_id;  /* 0: every process; else only processes in this cgroup v2
				(its directory's inode number) and below it */
};

/*
 * ward_client_add_net_rule() — install a deny rule; *@rule_id gets its id
 * (never 0, never reused while wardd runs).  Waits for wardd.
 * Returns 0, -EPERM without the manifest's net_rules entitlement, -EINVAL
 * for a malformed rule, -ENOENT if @r->cgroup_id names
 * no cgroup (wardd searches at most 10000 cgroup directories), -ENOSPC
 * when the client has 64 rules or wardd 256 in all, -EOPNOTSUPP when this
 * kernel cannot enforce rules (or, for a cgroup scope, when wardd runs in a
 * cgroup namespace), -EPIPE, or another negative errno.  On error nothing
 * is installed.
 */
int ward_client_add_net_rule(ward_client *c, const struct ward_net_rule *r, uint32_t *rule_id);

/* ward_client_remove_net_rule() — remove one of the client's rules.  Waits
 * for wardd.  Returns 0, -ENOENT (no such rule), -EPERM (another client's),
 * -EPIPE, or another negative errno. */
int ward_client_remove_net_rule(ward_client *c, uint32_t rule_id);

/* ---- Content (docs/content.md) ----
 *
 * A client's content (its rules, lists, signatures: bytes in the client's
 * own format) reaches it in a bundle that wardd verifies.  wardd extracts
 * the payload to a file the client can read and starts the client's
 * executable with four environment variables, all set or none:
 *
 *   WARD_CONTENT_MODE     "active", "shadow" or "validate"
 *   WARD_CONTENT_FILE     absolute path of the payload
 *   WARD_CONTENT_VERSION  the bundle's version, decimal, 1..2^63-1
 *   WARD_CONTENT_CHANNEL  the bundle's channel, [a-z0-9][a-z0-9._-]{0,31}
 *
 * active:   the content in force.
 * shadow:   a candidate, run beside the active instance: wardd records its
 *           verdicts and does not apply them.  The client need not behave
 *           differently.
 * validate: a sandboxed run that must not connect to wardd and only parses
 *           the payload with the client's own parser (ward_content_validate()).
 *
 * Like every variable libward reads, they are read with secure_getenv(): a
 * set-user-ID or set-capabilities process sees none.
 * (LIBWARD_0.4)
 */
enum ward_content_mode {
	WARD_CONTENT_NONE = 0,     /* started without content */
	WARD_CONTENT_ACTIVE = 1,
	WARD_CONTENT_SHADOW = 2,
	WARD_CONTENT_VALIDATE = 3,
};

struct ward_content_info {
	int mode;            /* enum ward_content_mode */
	const char *path;    /* the payload file; NULL with WARD_CONTENT_NONE */
	uint64_t version;    /* 0 with WARD_CONTENT_NONE */
	const char *channel; /* NULL with WARD_CONTENT_NONE */
};

/*
 * ward_content_info() — what content this process was started with, from
 * the environment wardd sets.  Checks the form only (the file is not
 * opened).  The pointers in *@out point into the environment: valid while
 * it is unchanged (no setenv(), unsetenv() or putenv() of these variables).
 * Returns 0 (mode WARD_CONTENT_NONE when none of the variables is set), or
 * -EINVAL for a NULL @out, or when the variables are present but malformed:
 * some missing, an unknown mode, a path that is not absolute or is PATH_MAX
 * bytes or longer, a version that is not 1..2^63-1 in decimal without sign
 * or leading zero, a channel not of the form above (*@out unchanged).
 */
int ward_content_info(struct ward_content_info *out);

/* The client's own parser, run on the payload file @path (in validate mode
 * by ward_content_validate(); a client may call it itself to load its
 * content).  Returns 0 to accept, or non-zero to reject with a reason
 * written into @err (@errlen bytes, NUL-terminated; @err starts empty). */
typedef int (*ward_content_parse_fn)(const char *path, void *userdata, char *err, size_t errlen);

/*
 * ward_content_validate() — call first thing in main(), before connecting
 * to wardd.
 * Not in validate mode (WARD_CONTENT_MODE unset or not "validate"): returns
 * 0 at once and does nothing (-EINVAL if @parse is NULL).
 * In validate mode: runs @parse(path, @userdata, err, errlen) on the
 * payload, writes one line to stdout, and ends the process with _exit()
 * (no atexit handler runs); it never returns:
 *   "accepted: version N
"   exit status 0, when @parse returned 0;
 *   "rejected: REASON
"      exit status 65 (EX_DATAERR) otherwise, REASON
 *                             being @parse's err ("the parser gave no
 *                             reason" when empty).
 * wardd shows REASON to the operator.  It is sanitised: each control
 * character and each byte that is not UTF-8 becomes '?', and it is cut to
 * 400 bytes on a character boundary.  While @parse runs, stdout is
 * redirected to stderr (wardd's log), so the verdict is the only line on
 * stdout, whatever the parser prints.  When the WARD_CONTENT_* variables
 * are malformed (see ward_content_info()), or @parse is NULL, the content
 * is rejected with a reason saying so ("malformed environment: ...").  A
 * parser that crashes or exits by itself is a crash of the validator:
 * wardd rejects the content too.
 */
int ward_content_validate(ward_content_parse_fn parse, void *userdata);

/*
 * ward_client_content() — administration (a root process, not a
 * registered client; `ward content ...`): send one content request, a
 * JSON text (docs/content.md, "Requests"), and wait for wardd's answer.
 * libward does not parse either text.
 * @request_json: NUL-terminated, 1 to 65520 bytes (one message's body).
 * @ret: set to wardd's answer, a NUL-terminated JSON text the caller frees
 *       with free().
 * Returns 0, -EINVAL (@request_json NULL, empty or too long; nothing is
 * sent), -EPERM for a connection that may not manage content (not root,
 * or a registered client), another error wardd refuses the request with,
 * -ETIMEDOUT after 5 s without an answer, -EPIPE, -ENOMEM, or another
 * negative errno.  A refusal keeps the connection; a timeout or protocol
 * error ends it, as for every request.
 * (LIBWARD_0.4)
 */
int ward_client_content(ward_client *c, const char *request_json, char **ret);

/* ---- Events.  An event is read-only and owned by its client. ---- */

uint32_t ward_event_type(const ward_event *ev);
uint64_t ward_event_seq(const ward_event *ev);        /* per client, starts at 1 */
uint64_t ward_event_global_seq(const ward_event *ev); /* per wardd instance */
uint64_t ward_event_time(const ward_event *ev);       /* ns since the epoch (CLOCK_REALTIME) */

/* ward_event_u64() — unsigned (U64) or signed (I64, cast) field @f into *out.
 * Returns 0, -ENOENT if the event has no such field, -EINVAL if it is a string. */
int ward_event_u64(const ward_event *ev, uint32_t f, uint64_t *out);
/* ward_event_i64() — as ward_event_u64(), signed. */
int ward_event_i64(const ward_event *ev, uint32_t f, int64_t *out);
/* ward_event_str() — string (STR) or string-vector (STRV) field @f.
 * *out points into the event (NUL-terminated; a STRV is several NUL-terminated
 * strings one after another, *len bytes in all including the last NUL).
 * @len may be NULL.  Returns 0, -ENOENT, or -EINVAL if not a string. */
int ward_event_str(const ward_event *ev, uint32_t f, const char **out, size_t *len);

/* ward_event_field_at() — iterate: the @i-th field present in the event.
 * Returns its field number, or 0 when @i is past the last field. */
uint32_t ward_event_field_at(const ward_event *ev, unsigned i);

/* ---- Names ---- */

/* "exec", "open", ...; NULL for an unknown type.  Static storage. */
const char *ward_event_type_name(uint32_t type);
/* The type named @name, or WARD_EV_INVALID. */
uint32_t ward_event_type_from_name(const char *name);
/* "pid", "path", ...; NULL for an unknown field.  Static storage. */
const char *ward_field_name(uint32_t f);
/* enum ward_field_kind of field @f; WARD_KIND_NONE if unknown. */
int ward_field_kind(uint32_t f);
/* Whether @f describes the acting process (goes under "process" in JSON). */
int ward_field_is_process(uint32_t f);

/* strerror-like text for a negative errno returned by libward; static. */
const char *ward_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif /* WARD_WARD_H */
