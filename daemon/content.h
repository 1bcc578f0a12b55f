/* SPDX-License-Identifier: Apache-2.0 */
/*
 * content.h — wardd's content manager: signed bundles for each client that
 * takes content (its manifest has content.trust), from install to retirement
 * (docs/content.md):
 *
 *   install → the signatures, the metadata and the payload are checked
 *             against the client's root of trust (daemon/bundle.h); a
 *             refusal changes nothing
 *   → validating: the client's own parser runs on the payload, sandboxed
 *             (the supervisor starts it with WARD_CONTENT_MODE=validate);
 *             what it rejects is never activated
 *   → waiting: while rollouts are paused, a version is pinned, or the
 *             delay has not passed
 *   → shadow: a second instance of the client runs on the candidate beside
 *             the active one; it gets the same requests, its verdicts are
 *             compared and never enforced; health gates over the bake
 *             period (crashes, deadline misses, CPU, memory, divergence)
 *   → promoted (the previous active becomes last-known-good) or rejected
 *   → after promotion a crash loop rolls back to last-known-good.
 *
 * Runs on wardd's main thread.  The files (reading bundles, writing
 * payloads and the state) are handled by a worker thread: the main thread
 * answers permission events and must never open a file that could raise
 * one.  The state survives wardd in each client's content directory.
 */
#ifndef WARDD_CONTENT_H
#define WARDD_CONTENT_H

#include <stddef.h>
#include <stdint.h>

struct json_object;
struct ward_manifest;

#define CONTENT_REASON_MAX 512

enum content_role { CONTENT_ACTIVE = 0, CONTENT_SHADOW = 1, CONTENT_VALIDATE = 2 };

/* Start the worker; @epfd gets its result pipe (tag: content_owns()). */
int content_init(int epfd);
/* Load what @m's content directory holds (its state, its root of trust).
 * At start-up, before any permission mark: reads files on this thread. */
void content_load(const struct ward_manifest *m);
/* The environment for an instance of client @name in @role:
 * "WARD_CONTENT_MODE=...", "..._FILE=", "..._VERSION=", "..._CHANNEL=" into
 * @env (4 strings of @envlen bytes each).  Returns how many were written:
 * 0 when that instance runs without content. */
int content_env(const char *name, enum content_role role, char env[][512], size_t n);

/* The supervisor's news. */
void content_validated(const char *name, int accepted, const char *reason);
void content_shadow_exited(const char *name, const char *what);
/* The active instance crashed: 1 if that rolled it back to its
 * last-known-good content (the supervisor then restarts it at once, and
 * the crash does not count towards quarantine). */
int content_active_crashed(const char *name, const char *what);

/* auth.c's news: one AUTH request as the shadow of @name answered it
 * (@missed: it did not answer in time) and as the active content did. */
void content_shadow_verdict(const char *name, int missed, uint32_t active_verdict, uint32_t shadow_verdict);

/* A CONTENT request (JSON text) from connection @client_id.  Answers
 * through broker_content_reply(), at once or when the worker is done. */
void content_request(uint32_t client_id, const char *json, size_t len);

int content_owns(const void *tag);
void content_on_event(void *tag, uint32_t events);
/* Each loop turn (it looks at most every 100 ms): delays, bake periods,
 * gates. */
void content_tick(void);
/* "content" for `ward status` (also `ward content status`). */
void content_status(struct json_object *o, const char *only);
void content_stop(void);

#endif
