/* SPDX-License-Identifier: Apache-2.0 */
/* journal.c — see journal.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "journal.h"
#include "log.h"
#include "wire.h"

#define JOURNAL_MAGIC 0x4c4e524aU /* "JRNL" */
#define JOURNAL_VERSION 1u
#define HDR_SIZE 4096u

struct jhdr {
	uint32_t magic;
	uint32_t version;
	uint64_t size;     /* data bytes, power of two */
	uint64_t head;     /* position after the newest record */
	uint64_t tail;     /* position of the oldest record */
	uint64_t last_seq; /* global_seq of the newest record */
	uint64_t mask;     /* the subscribed types, as the last wardd recorded them */
	uint64_t created;  /* CLOCK_REALTIME s, for the status */
	uint64_t dropped_seq; /* global_seq of the newest record dropped to make room */
	uint64_t seq_hwm;     /* the highest global_seq wardd gave anything (AUTH too) */
	/* per manifest: the last global_seq its client acknowledged */
	struct {
		char name[64];
		uint64_t acked;
	} cursors[JOURNAL_CURSORS];
};
_Static_assert(sizeof(struct jhdr) <= 4096, "the journal header is one page");

static struct {
	int fd;
	struct jhdr *h;
	uint8_t *data;
	uint64_t size;
	char path[4096];
	bool continued;
	uint64_t appended, too_big, dropped_records;
} J = {.fd = -1};

bool journal_active(void)
{
	return J.h != NULL;
}

bool journal_continued(void)
{
	return J.continued;
}

static uint64_t size_at(uint64_t pos);

/* The header of a journal a previous wardd left: believable? */
static const char *check(const struct jhdr *h, uint64_t size)
{
	if (h->magic != JOURNAL_MAGIC || h->version != JOURNAL_VERSION)
		return "not a journal of this version";
	if (h->size != size)
		return "another size";
	if (h->tail > h->head || h->head - h->tail > size || (h->head & 7) || (h->tail & 7))
		return "damaged positions";
	return NULL;
}

int journal_open(const char *path, uint64_t bytes)
{
	if (bytes < JOURNAL_MIN_BYTES || bytes > JOURNAL_MAX_BYTES || (bytes & (bytes - 1)))
		return -EINVAL;
	if (J.h)
		return -EALREADY;
	snprintf(J.path, sizeof(J.path), "%s", path);
	/* O_NOFOLLOW: the runtime directory is root's, but never write
	 * through a link someone put there */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != 0) {
		close(fd);
		return -EPERM;
	}
	uint64_t len = HDR_SIZE + bytes;
	const char *why = NULL;
	if ((uint64_t)st.st_size != len) {
		why = st.st_size ? "another size" : NULL;
		if (ftruncate(fd, 0) || ftruncate(fd, (off_t)len)) {
			int err = -errno;
			close(fd);
			return err;
		}
	}
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int err = -errno;
		close(fd);
		return err;
	}
	J.fd = fd;
	J.h = p;
	J.data = (uint8_t *)p + HDR_SIZE;
	J.size = bytes;
	if (!why && st.st_size)
		why = check(J.h, bytes);
	if (st.st_size && !why) {
		/* every record from tail to head must chain up: keep what
		 * does, up to the first that does not */
		uint64_t p = J.h->tail;
		while (p < J.h->head) {
			uint64_t off = p & (J.size - 1), room = J.size - off, s = room;
			if (room >= sizeof(struct ward_rec)) {
				const struct ward_rec *r = (const void *)(J.data + off);
				if (r->type != WARD_REC_PAD &&
				    (r->size < sizeof(*r) || (r->size & 7) || r->size > room))
					break;
				s = size_at(p);
			}
			if (p + s > J.h->head)
				break;
			p += s;
		}
		if (p != J.h->head) {
			log_warnx("journal %s: damaged at position %llu: keeping the records before it", path,
				  (unsigned long long)p);
			J.h->head = p;
		}
		J.continued = true;
		log_info("journal %s continued: %llu bytes of records up to global_seq %llu", path,
			 (unsigned long long)(J.h->head - J.h->tail), (unsigned long long)J.h->last_seq);
	} else {
		if (why)
			log_warnx("journal %s: %s: starting a new one", path, why);
		memset(J.h, 0, sizeof(*J.h));
		J.h->magic = JOURNAL_MAGIC;
		J.h->version = JOURNAL_VERSION;
		J.h->size = bytes;
		J.h->created = (uint64_t)time(NULL);
	}
	return 0;
}

uint64_t journal_last_seq(void)
{
	return J.h ? J.h->last_seq : 0;
}

void journal_set_cursor(const char *name, uint64_t acked)
{
	if (!J.h || !name[0] || strlen(name) >= 64)
		return;
	int free_slot = -1;
	for (int i = 0; i < JOURNAL_CURSORS; i++) {
		if (!strncmp(J.h->cursors[i].name, name, sizeof(J.h->cursors[i].name))) {
			if (acked > J.h->cursors[i].acked)
				J.h->cursors[i].acked = acked;
			return;
		}
		if (!J.h->cursors[i].name[0] && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		return;
	J.h->cursors[free_slot].acked = acked;
	memcpy(J.h->cursors[free_slot].name, name, strlen(name) + 1);
}

uint64_t journal_cursor(const char *name)
{
	for (int i = 0; J.h && name[0] && i < JOURNAL_CURSORS; i++)
		if (!strncmp(J.h->cursors[i].name, name, sizeof(J.h->cursors[i].name)))
			return J.h->cursors[i].acked;
	return 0;
}

void journal_note_seq(uint64_t seq)
{
	if (J.h && seq > J.h->seq_hwm)
		J.h->seq_hwm = seq;
}

uint64_t journal_seq_hwm(void)
{
	return J.h ? (J.h->seq_hwm > J.h->last_seq ? J.h->seq_hwm : J.h->last_seq) : 0;
}

uint64_t journal_saved_mask(void)
{
	return J.h && J.continued ? J.h->mask : 0;
}

void journal_save_mask(uint64_t mask)
{
	if (J.h)
		J.h->mask = mask;
}

uint64_t journal_head(void)
{
	return J.h ? atomic_load_explicit((_Atomic uint64_t *)&J.h->head, memory_order_acquire) : 0;
}

uint64_t journal_tail(void)
{
	return J.h ? J.h->tail : 0;
}

/* The size of the record (or padding) at position @pos, which must be in
 * [tail, head): a PAD record, or the implicit padding when fewer bytes
 * than a header remain before the end. */
static uint64_t size_at(uint64_t pos)
{
	uint64_t off = pos & (J.size - 1);
	uint64_t room = J.size - off;
	if (room < sizeof(struct ward_rec))
		return room;
	const struct ward_rec *r = (const void *)(J.data + off);
	return r->size >= sizeof(*r) && r->size <= room && !(r->size & 7) ? r->size : room;
}

/* Drop the oldest records until @need bytes after head are free. */
static void make_room(uint64_t need)
{
	while (J.h->head + need - J.h->tail > J.size && J.h->tail < J.h->head) {
		uint64_t s = size_at(J.h->tail);
		const struct ward_rec *r = (const void *)(J.data + (J.h->tail & (J.size - 1)));
		if (J.size - (J.h->tail & (J.size - 1)) >= sizeof(*r) && r->type != WARD_REC_PAD) {
			J.dropped_records++;
			J.h->dropped_seq = r->global_seq;
		}
		J.h->tail += s;
	}
	if (J.h->tail > J.h->head)
		J.h->tail = J.h->head;
}

void journal_append(const struct ward_rec *r)
{
	if (!J.h)
		return;
	uint64_t size = r->size;
	if (size > J.size / 4 || size < sizeof(*r) || (size & 7)) {
		J.too_big++;
		return;
	}
	uint64_t off = J.h->head & (J.size - 1);
	uint64_t room = J.size - off;
	uint64_t need = size <= room ? size : room + size;
	make_room(need);
	if (size > room) {
		if (room >= sizeof(struct ward_rec)) {
			struct ward_rec pad = {.size = (uint32_t)room, .type = WARD_REC_PAD};
			memcpy(J.data + off, &pad, sizeof(pad));
		}
		off = 0;
		memcpy(J.data, r, size);
		J.h->last_seq = r->global_seq;
		atomic_store_explicit((_Atomic uint64_t *)&J.h->head, J.h->head + room + size, memory_order_release);
	} else {
		memcpy(J.data + off, r, size);
		J.h->last_seq = r->global_seq;
		atomic_store_explicit((_Atomic uint64_t *)&J.h->head, J.h->head + size, memory_order_release);
	}
	J.appended++;
}

const struct ward_rec *journal_next(uint64_t *pos, bool *skipped)
{
	if (!J.h)
		return NULL;
	if (*pos < J.h->tail) {
		*pos = J.h->tail;
		if (skipped)
			*skipped = true;
	}
	while (*pos < J.h->head) {
		uint64_t off = *pos & (J.size - 1);
		uint64_t s = size_at(*pos);
		const struct ward_rec *r = (const void *)(J.data + off);
		if (*pos + s > J.h->head) {
			*pos = J.h->head; /* cannot happen after journal_open's check */
			return NULL;
		}
		*pos += s;
		if (J.size - off >= sizeof(*r) && r->type != WARD_REC_PAD && r->size == s)
			return r;
	}
	return NULL;
}

int journal_find(uint64_t after, uint64_t *pos)
{
	uint64_t p = J.h ? J.h->tail : 0;
	/* a record newer than @after was dropped to make room, or @after is
	 * beyond anything this journal numbered (a new journal): lost */
	int missed = J.h && (J.h->dropped_seq > after || after > journal_seq_hwm());
	for (;;) {
		uint64_t here = p;
		const struct ward_rec *r = journal_next(&p, NULL);
		if (!r || r->global_seq > after) {
			*pos = r ? here : p;
			return missed;
		}
	}
}

void journal_check(void)
{
	struct stat st;
	if (!J.h || (fstat(J.fd, &st) == 0 && (uint64_t)st.st_size == HDR_SIZE + J.size))
		return;
	/* truncate(2) raises no permission event: a shorter file would turn
	 * the next append into SIGBUS */
	log_warnx("journal %s changed size behind wardd's back: journaling stopped", J.path);
	journal_close(false);
}

void journal_status(struct json_object *o)
{
	struct json_object *j = json_object_new_object();
	json_object_object_add(j, "path", json_object_new_string(J.path));
	json_object_object_add(j, "active", json_object_new_boolean(J.h != NULL));
	if (J.h) {
		json_object_object_add(j, "size_bytes", json_object_new_uint64(J.size));
		json_object_object_add(j, "used_bytes", json_object_new_uint64(J.h->head - J.h->tail));
		json_object_object_add(j, "last_global_seq", json_object_new_uint64(J.h->last_seq));
		json_object_object_add(j, "continued", json_object_new_boolean(J.continued));
		json_object_object_add(j, "appended", json_object_new_uint64(J.appended));
		json_object_object_add(j, "dropped_oldest", json_object_new_uint64(J.dropped_records));
		json_object_object_add(j, "too_big", json_object_new_uint64(J.too_big));
	}
	json_object_object_add(o, "journal", j);
}

void journal_close(bool remove)
{
	if (J.h)
		munmap(J.h, HDR_SIZE + J.size);
	if (J.fd >= 0)
		close(J.fd);
	if (remove && J.path[0])
		unlink(J.path);
	J.h = NULL;
	J.data = NULL;
	J.fd = -1;
	J.continued = false;
}
