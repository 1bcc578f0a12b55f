/* SPDX-License-Identifier: Apache-2.0 */
/*
 * journal.h — the most recent NOTIFY events, kept so that a client can
 * resume from the last event it finished with (ward_client_resume()): after
 * its own restart, or after wardd's.
 *
 * One file, RUNTIME_DIR/journal (tmpfs under /run), mapped shared: a page of
 * header, then a data area of a power-of-two size holding records exactly
 * as clients get them (lib/wire.h §3; seq is stamped per client when a
 * record is copied to it), written like a client's ring (a PAD record where
 * one does not fit before the end).  When the area is full, the oldest
 * records are dropped.  Because the mapping is shared, a wardd killed with
 * SIGKILL leaves every record it appended in the file, and the next wardd
 * continues it: global_seq goes on from the last one.
 *
 * Order of writes: the tail is moved past the bytes a record will cover,
 * then the record is written, then head is published.  A wardd killed in
 * between leaves a record that is simply not there.
 *
 * Positions are byte counts since the journal was created (monotonic);
 * valid ones lie in [tail, head].  Single-threaded (wardd's main thread).
 */
#ifndef WARDD_JOURNAL_H
#define WARDD_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct ward_rec;

#define JOURNAL_FILE "journal"
#define JOURNAL_MIN_BYTES (1ull << 20)
#define JOURNAL_MAX_BYTES (1ull << 32)
#define JOURNAL_CURSORS 48 /* manifests whose acknowledged position is kept */

/* Open the journal at @path with a data area of @bytes (a power of two from
 * JOURNAL_MIN_BYTES to JOURNAL_MAX_BYTES), continuing the one a previous
 * wardd left there when its header is sound and its size the same;
 * otherwise (none, another size, a damaged header) it starts empty, and a
 * reason goes to the log.  Returns 0 or -errno. */
int journal_open(const char *path, uint64_t bytes);
/* Whether journal_open() succeeded. */
bool journal_active(void);
/* Whether the journal was continued from a previous wardd. */
bool journal_continued(void);
/* The global_seq of the newest record (0 when empty). */
uint64_t journal_last_seq(void);
/* The last global_seq the client of manifest @name acknowledged: kept
 * (only ever raised), and read back (0: none). */
void journal_set_cursor(const char *name, uint64_t acked);
uint64_t journal_cursor(const char *name);
/* The highest global_seq ever given (also to records never journaled, such
 * as AUTH requests): a restarted wardd goes on after it, so no global_seq
 * is given twice. */
void journal_note_seq(uint64_t seq);
uint64_t journal_seq_hwm(void);
/* The event types the previous wardd's clients had subscribed to, as it
 * last recorded them; and recording the current ones. */
uint64_t journal_saved_mask(void);
void journal_save_mask(uint64_t mask);

/* Append finished record @r (its global_seq set).  Too big a record
 * (over a quarter of the area) is not kept and counted. */
void journal_append(const struct ward_rec *r);

uint64_t journal_head(void);
uint64_t journal_tail(void);
/* The position of the first record whose global_seq is greater than
 * @after.  Returns 0, or 1 when the journal no longer holds every record
 * after @after (its oldest record is newer than @after + 1): *@pos is then
 * the oldest.  *@pos is head when there is nothing newer. */
int journal_find(uint64_t after, uint64_t *pos);
/* The record at *@pos (skipping padding), advancing *@pos past it; NULL at
 * head.  *@pos older than tail (overwritten meanwhile) is moved to tail
 * first and *@skipped set to true (else left alone). */
const struct ward_rec *journal_next(uint64_t *pos, bool *skipped);

/* Once a second: stop journaling if the file was truncated (which no
 * permission event can refuse) rather than die of SIGBUS. */
void journal_check(void);
/* Counters for `ward status`. */
void journal_status(struct json_object *o);
/* Unmap and close; with @remove, delete the file (a clean stop). */
void journal_close(bool remove);

#endif
