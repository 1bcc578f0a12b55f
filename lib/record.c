/* SPDX-License-Identifier: Apache-2.0 */
/* record.c — event record builder and validator; see record.h and wire.h. */
#include <errno.h>
#include <string.h>

#include <ward/ward.h>
#include "record.h"

void ward_rb_init(struct ward_rec_builder *b, void *buf, size_t cap, uint16_t type)
{
	b->buf = buf;
	b->cap = cap;
	b->len = sizeof(struct ward_rec);
	b->overflow = cap < sizeof(struct ward_rec);
	if (!b->overflow) {
		struct ward_rec *r = buf;
		memset(r, 0, sizeof(*r));
		r->type = type;
	}
}

void ward_rb_resume(struct ward_rec_builder *b, void *buf, size_t cap, size_t len)
{
	b->buf = buf;
	b->cap = cap;
	b->len = len;
	b->overflow = len < sizeof(struct ward_rec) || len > cap || (len & 7);
}

static void *rb_field(struct ward_rec_builder *b, uint16_t id, uint16_t kind, size_t len)
{
	if (b->overflow)
		return NULL;
	size_t need = sizeof(struct ward_field_hdr) + WARD_ALIGN8(len);
	if (len > UINT32_MAX || b->len + need > b->cap || b->len + need > WARD_REC_MAX) {
		b->overflow = 1;
		return NULL;
	}
	struct ward_field_hdr *h = (struct ward_field_hdr *)(b->buf + b->len);
	h->id = id;
	h->kind = kind;
	h->len = (uint32_t)len;
	uint8_t *val = (uint8_t *)(h + 1);
	/* zero the padding so records never carry stale bytes */
	memset(val + len, 0, WARD_ALIGN8(len) - len);
	b->len += need;
	((struct ward_rec *)b->buf)->nfields++;
	return val;
}

void ward_rb_u64(struct ward_rec_builder *b, uint16_t id, uint64_t v)
{
	void *p = rb_field(b, id, WARD_KIND_U64, 8);
	if (p)
		memcpy(p, &v, 8);
}

void ward_rb_i64(struct ward_rec_builder *b, uint16_t id, int64_t v)
{
	void *p = rb_field(b, id, WARD_KIND_I64, 8);
	if (p)
		memcpy(p, &v, 8);
}

void ward_rb_str(struct ward_rec_builder *b, uint16_t id, const char *s, size_t n)
{
	const char *nul = memchr(s, '\0', n);
	if (nul)
		n = (size_t)(nul - s);
	char *p = rb_field(b, id, WARD_KIND_STR, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
}

void ward_rb_strv(struct ward_rec_builder *b, uint16_t id, const char *s, size_t n)
{
	int add_nul = n == 0 || s[n - 1] != '\0';
	char *p = rb_field(b, id, WARD_KIND_STRV, n + (size_t)add_nul);
	if (p) {
		memcpy(p, s, n);
		if (add_nul)
			p[n] = '\0';
	}
}

size_t ward_rb_finish(struct ward_rec_builder *b)
{
	if (b->overflow)
		return 0;
	((struct ward_rec *)b->buf)->size = (uint32_t)b->len;
	return b->len;
}

int ward_rec_validate(const void *rec, size_t avail)
{
	const struct ward_rec *r = rec;
	if (avail < sizeof(*r) || r->size < sizeof(*r) || r->size > avail ||
	    r->size > WARD_REC_MAX || (r->size & 7))
		return -EPROTO;
	const uint8_t *p = (const uint8_t *)rec + sizeof(*r);
	const uint8_t *end = (const uint8_t *)rec + r->size;
	for (unsigned i = 0; i < r->nfields; i++) {
		if ((size_t)(end - p) < sizeof(struct ward_field_hdr))
			return -EPROTO;
		const struct ward_field_hdr *h = (const void *)p;
		p += sizeof(*h);
		if (WARD_ALIGN8(h->len) > (size_t)(end - p))
			return -EPROTO;
		if (h->id == WARD_F_INVALID)
			return -EPROTO;
		int kind = ward_field_kind(h->id);
		/* A field this library does not know (from a newer wardd) is
		 * skipped by its length: field numbers are only appended. */
		if (kind == WARD_KIND_NONE) {
			p += WARD_ALIGN8(h->len);
			continue;
		}
		if (kind != h->kind)
			return -EPROTO;
		switch (kind) {
		case WARD_KIND_U64:
		case WARD_KIND_I64:
			if (h->len != 8)
				return -EPROTO;
			break;
		case WARD_KIND_STR:
			if (h->len == 0 || memchr(p, '\0', h->len) != p + h->len - 1)
				return -EPROTO;
			break;
		case WARD_KIND_STRV:
			if (h->len == 0 || p[h->len - 1] != '\0')
				return -EPROTO;
			break;
		}
		p += WARD_ALIGN8(h->len);
	}
	return p == end ? 0 : -EPROTO;
}

const struct ward_field_hdr *ward_rec_field_at(const struct ward_rec *r, unsigned i)
{
	if (i >= r->nfields)
		return NULL;
	const uint8_t *p = (const uint8_t *)r + sizeof(*r);
	for (unsigned k = 0;; k++) {
		const struct ward_field_hdr *h = (const void *)p;
		if (k == i)
			return h;
		p += sizeof(*h) + WARD_ALIGN8(h->len);
	}
}

const struct ward_field_hdr *ward_rec_find(const struct ward_rec *r, uint16_t id)
{
	const uint8_t *p = (const uint8_t *)r + sizeof(*r);
	for (unsigned k = 0; k < r->nfields; k++) {
		const struct ward_field_hdr *h = (const void *)p;
		if (h->id == id)
			return h;
		p += sizeof(*h) + WARD_ALIGN8(h->len);
	}
	return NULL;
}
