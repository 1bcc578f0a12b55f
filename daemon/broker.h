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

#include <stddef.h>
#include <stdint.h>

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

/* Status JSON provider, set by wardd (the broker answers STATUS requests). */
typedef struct json_object *(*broker_status_fn)(void);
void broker_set_status_fn(broker_status_fn fn);

#endif
