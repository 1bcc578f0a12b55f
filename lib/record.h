/* SPDX-License-Identifier: Apache-2.0 */
/*
 * record.h — building and checking event records (format in wire.h §3).
 * wardd builds records with the ward_rb_* builder; libward checks every record
 * it reads with ward_rec_validate() before handing it to the caller, so a
 * corrupt ring yields -EPROTO, never an out-of-bounds read.
 */
#ifndef WARD_RECORD_H
#define WARD_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include "wire.h"

struct ward_rec_builder {
	uint8_t *buf;
	size_t cap;
	size_t len;
	int overflow; /* set once a field did not fit; the record is then unusable */
};

/* Start a record of @type in @buf (@cap bytes, 8-byte aligned). */
void ward_rb_init(struct ward_rec_builder *b, void *buf, size_t cap, uint16_t type);
void ward_rb_u64(struct ward_rec_builder *b, uint16_t id, uint64_t v);
void ward_rb_i64(struct ward_rec_builder *b, uint16_t id, int64_t v);
/* @s need not be NUL-terminated; @n bytes are copied and a NUL appended.
 * Embedded NULs end the string. */
void ward_rb_str(struct ward_rec_builder *b, uint16_t id, const char *s, size_t n);
/* @s holds NUL-separated strings, @n bytes; a final NUL is added if missing. */
void ward_rb_strv(struct ward_rec_builder *b, uint16_t id, const char *s, size_t n);
/* Continue a record built earlier: @buf (@cap bytes) already holds @len
 * bytes of a record (as ward_rb_finish() returned them). */
void ward_rb_resume(struct ward_rec_builder *b, void *buf, size_t cap, size_t len);
/* Finish: returns the record size (multiple of 8), or 0 if it overflowed.
 * seq, global_seq and time_ns are left for the caller to fill. */
size_t ward_rb_finish(struct ward_rec_builder *b);

/* Check that @rec (@avail readable bytes) is a well-formed record: size
 * within avail and WARD_REC_MAX, every field inside it, kinds matching the
 * field table, strings NUL-terminated.  Returns 0 or -EPROTO. */
int ward_rec_validate(const void *rec, size_t avail);

/* Find field @id in a validated record; NULL if absent.  The value follows
 * the returned header. */
const struct ward_field_hdr *ward_rec_find(const struct ward_rec *r, uint16_t id);
/* The @i-th field of a validated record, or NULL. */
const struct ward_field_hdr *ward_rec_field_at(const struct ward_rec *r, unsigned i);

#endif
