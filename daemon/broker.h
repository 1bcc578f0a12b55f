/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broker.h — client connections: the control socket protocol (lib/wire.h §1)
 * and each client's shared-memory event ring (§2).  wardd writes a record
 * once and copies it into the ring of every client subscribed to its type,
 * stamping the client's own seq.  A client whose ring is full loses the
 * event: its seq still advances (the client sees the gap) and its lost
 * counter in the ring header and in `ward status` grows.
 */
#ifndef WARDD_BROKER_H
#define WARDD_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ward/event_types.h>

struct json_object;

/* Called when the union of all subscriptions changes. */
typedef void (*broker_mask_fn)(uint64_t mask);

/* What the broker enforces of AUTH subscriptions. */
struct broker_auth_cfg {
	uint32_t deadline_ms;     /* a client's deadline when it names none */
	uint32_t deadline_max_ms; /* the most a client may ask for */
	unsigned strikes;         /* missed deadlines in a minute that disconnect */
};

/* Bind the control socket in @runtime_dir and register it with @epfd.
 * @ring_bytes is each client's default ring size.  Returns 0 or -errno. */
int broker_init(int epfd, const char *runtime_dir, uint64_t ring_bytes, broker_mask_fn on_mask,
		const struct broker_auth_cfg *auth);
/* Handle an epoll event whose data.ptr broker registered. */
void broker_on_event(void *tag, uint32_t events);
/* After a restart: keep the event types of @mask (the previous wardd's
 * subscriptions, from the journal) subscribed for @grace_s seconds, so the
 * events its clients would have had are journaled until they are back. */
void broker_inherit_mask(uint64_t mask, unsigned grace_s);
/* Once a second: drop connections that never said HELLO. */
void broker_tick(void);
/* Deliver a finished record (seq is stamped per client). */
void broker_deliver(uint32_t type, void *rec, size_t size);
/* Publish what was written and wake sleeping clients. */
void broker_flush(void);
/* Union of every client's subscription. */
uint64_t broker_mask(void);
/* Clients and counters for `ward status`. */
void broker_status(struct json_object *obj);
/* Disconnect everyone and remove the socket. */
void broker_shutdown(void);

/* ---- for auth.c ---- */
struct auth_voter {
	uint32_t client_id;
	uint32_t pid;             /* the client's own process: never asked about itself */
	uint64_t deadline_ns;     /* relative */
	uint32_t default_verdict; /* enum ward_verdict */
	int want_file;            /* gets a descriptor of the file (WARD_AUTH_FILE) */
	int shadow;               /* a shadow instance: asked, recorded, never enforced */
	char manifest[64];        /* its manifest's name ("" for none) */
};
/* The clients that answer @type (at most @max).  Returns how many. */
int broker_auth_voters(uint32_t type, struct auth_voter *v, int max);
/* Put a request record into one client's ring and wake it.  Returns 0,
 * -ENOSPC (ring full), -ENOENT (client gone). */
int broker_send_to(uint32_t client_id, void *rec, size_t size);
/* Send @fd (the file of request @auth_id) to a client that asked for it.
 * Returns 0, -ENOENT (gone), -EAGAIN (its socket is full). */
int broker_send_file(uint32_t client_id, uint64_t auth_id, int fd);
/* A client's name ("(gone)" if it is not connected).  Static until the next
 * broker call. */
const char *broker_client_name(uint32_t client_id);
/* Count a missed deadline; returns 1 when the client has missed too many
 * (the caller then disconnects it, once it is done with its own state). */
int broker_strike(uint32_t client_id);
void broker_disconnect(uint32_t client_id, const char *why);

/* Whether client @client_id muted record @rec of @type (then it is not
 * asked: its vote is ALLOW). */
int broker_muted(uint32_t client_id, uint32_t type, const void *rec);

/* Processes every NOTIFY subscriber mutes: wardd keeps the sensors' map
 * equal to this set (plus its own --mute-pid). */
typedef void (*broker_pids_fn)(const uint32_t *pids, size_t n);
void broker_set_pids_fn(broker_pids_fn fn);

/*
 * Authentication.  Every connection is identified when it says HELLO, by a
 * callback wardd sets (the supervisor: manifests, cgroup, executable hash),
 * and may then do exactly what its entitlements say.  A request beyond them
 * is answered -EPERM and changes nothing.
 */
struct broker_entitlements {
	char manifest[64];    /* the manifest's name; "" for an unregistered root process */
	uint64_t notify_mask; /* types it may subscribe to as NOTIFY */
	uint64_t auth_mask;   /* AUTH types it may answer */
	bool file_descriptors; /* WARD_AUTH_FILE */
	bool net_rules;        /* network rules */
	bool clear_cache;      /* CLEAR_CACHE */
	bool status;           /* STATUS (`ward status`, `ward clients`) */
	bool content_admin;    /* CONTENT requests (`ward content ...`) */
	bool shadow;           /* a shadow instance: its verdicts are recorded, never enforced */
	/* Per AUTH type: the deadline in ms (0: the client's choice within
	 * wardd's bounds) and the verdict on a miss (-1: the client's choice;
	 * else enum ward_verdict). */
	uint32_t deadline_ms[WARD_EV_MAX_];
	int8_t on_miss[WARD_EV_MAX_];
};

/* Identify connection @client_id from process @pid of user @uid (@pidfd
 * refers to that process, or is -1).  Returns 0 with *@out filled,
 * -EINPROGRESS when the answer follows through broker_identified(), or a
 * negative errno that refuses the connection (-EACCES: not registered,
 * -EPERM: registered but quarantined or disabled). */
typedef int (*broker_identify_fn)(uint32_t client_id, pid_t pid, uid_t uid, int pidfd,
				  struct broker_entitlements *out);
void broker_set_identify_fn(broker_identify_fn fn);
/* The answer to an identification that returned -EINPROGRESS (@ent is
 * NULL when @err is not 0).  A client that left meanwhile is ignored. */
void broker_identified(uint32_t client_id, int err, const struct broker_entitlements *ent);

/* What a registered client's connection did, handed to the supervisor when
 * it ends. */
struct broker_conn_stats {
	uint64_t delivered, lost, verdicts, deadlines_missed, muted;
	uint64_t mask; /* its NOTIFY subscription when it ended */
	int shadow;    /* it was a shadow instance's */
};
/* A connection of manifest @manifest ended (@why: the reason, NULL on a
 * clean close; @misbehaved: wardd dropped it for breaking the protocol or
 * missing deadlines — the supervisor restarts such a client). */
typedef void (*broker_gone_fn)(const char *manifest, uint32_t client_id, pid_t pid, const char *why,
			       int misbehaved, const struct broker_conn_stats *st);
void broker_set_gone_fn(broker_gone_fn fn);
/* Event types to keep subscribed (so journaled) though no connection asks
 * for them now: the subscriptions of supervised clients that are being
 * restarted, so that they can resume without a gap. */
void broker_hold_mask(uint64_t mask);
/* Sum of the live connections of @manifest (their number is returned). */
int broker_manifest_stats(const char *manifest, struct broker_conn_stats *st);
/* Disconnect every connection of @manifest (quarantine). */
void broker_disconnect_manifest(const char *manifest, const char *why);

/* Status JSON provider, set by wardd (the broker answers STATUS requests). */
/* The answer to connection @client_id's CONTENT request (JSON text);
 * nothing if it went away meanwhile. */
void broker_content_reply(uint32_t client_id, const char *json);

typedef struct json_object *(*broker_status_fn)(void);
void broker_set_status_fn(broker_status_fn fn);

#endif
