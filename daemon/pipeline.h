/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pipeline.h — from a sensor record to a delivered event: check the record,
 * keep the process table current (fork, exec, exit, cwd), enrich with the
 * acting process, stamp global_seq and the time, hand to the broker.
 */
#ifndef WARDD_PIPELINE_H
#define WARDD_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

void pipeline_init(void);
/* Records handled per loop turn at most (see pipeline_on_record). */
#define PIPELINE_BUDGET 8192
/* ring_buffer callback: one sensor record.  Returns 0, or -EAGAIN once the
 * turn's budget is spent (the record was handled; consumption stops). */
int pipeline_on_record(void *ctx, void *data, size_t size);
/* Whether an exec record waits for its SHA-256 (then the sensors' ring is
 * not read; after PARK_MS it goes without).  Call each turn. */
int pipeline_parked(void);
/* A hash worker result: 1 if it was the pipeline's (@cookie), else 0. */
int pipeline_on_hash(uint64_t cookie, int err, const uint8_t *digest);
/* Start a loop turn's budget. */
void pipeline_new_turn(void);
/* Re-read the offset between boot time and wall-clock time. */
void pipeline_sync_clock(void);
struct ward_rec_builder;
/* The acting-process fields of an event wardd did not get from a sensor
 * (fanotify's requests name only a pid): /proc and the process table. */
void pipeline_add_process_of(struct ward_rec_builder *b, uint32_t pid, uint32_t tid);
/* Give a finished record the next global_seq and its time. */
void pipeline_stamp(void *rec, uint64_t realtime_ns);
struct wk_net_enforce;
/* netpolicy_poll callback: a connect or bind a client's rule denied. */
int pipeline_on_net_enforce(void *ctx, const struct wk_net_enforce *e);
/* Continue global_seq after @seq (the journal's last, after a restart). */
void pipeline_set_global_seq(uint64_t seq);
/* Counters for `ward status`. */
void pipeline_status(struct json_object *obj);

/* Exposed for unit tests: rebuild a path the sensors wrote leaf first. */
size_t pipeline_unreverse(const char *src, size_t len, char *out, size_t outlen);

#endif
