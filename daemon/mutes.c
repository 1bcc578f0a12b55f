/* SPDX-License-Identifier: Apache-2.0 */
/* mutes.c — see mutes.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ward/ward.h>
#include "mutes.h"
#include "record.h"

int mute_class(uint32_t kind)
{
	switch (kind) {
	case WARD_MUTE_PROCESS: return MUTE_CLASS_PROCESS;
	case WARD_MUTE_EXE_LITERAL: case WARD_MUTE_EXE_PREFIX: return MUTE_CLASS_EXE;
	case WARD_MUTE_PATH_LITERAL: case WARD_MUTE_PATH_PREFIX: return MUTE_CLASS_PATH;
	default: return -1;
	}
}

static int valid(uint32_t kind, uint64_t types, const char *path, size_t len)
{
	int cls = mute_class(kind);
	if (cls < 0 || !types)
		return 0;
	if (cls == MUTE_CLASS_PROCESS)
		return 1;
	/* absolute, bounded, no NUL inside */
	return path && len > 0 && len < MUTE_PATH_MAX && path[0] == '/' && !memchr(path, '\0', len);
}

static struct mute *find(const struct muteset *s, uint32_t kind, uint64_t pid, const char *path, size_t len)
{
	for (size_t i = 0; i < s->n; i++) {
		struct mute *m = &s->m[i];
		if (m->kind != kind)
			continue;
		if (kind == WARD_MUTE_PROCESS ? m->pid == pid : m->len == len && memcmp(m->path, path, len) == 0)
			return m;
	}
	return NULL;
}

int muteset_add(struct muteset *s, uint32_t kind, uint64_t types, uint64_t pid, const char *path, size_t len)
{
	if (!valid(kind, types, path, len))
		return -EINVAL;
	struct mute *m = find(s, kind, pid, path, len);
	if (m) {
		m->types |= types;
		return 0;
	}
	if (s->n == MUTES_MAX)
		return -ENOSPC;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct mute *n = realloc(s->m, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->m = n;
		s->cap = cap;
	}
	m = &s->m[s->n];
	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->types = types;
	if (kind == WARD_MUTE_PROCESS) {
		m->pid = pid;
	} else {
		if (!(m->path = malloc(len + 1)))
			return -ENOMEM;
		memcpy(m->path, path, len);
		m->path[len] = '\0';
		m->len = len;
	}
	s->n++;
	return 0;
}

int muteset_remove(struct muteset *s, uint32_t kind, uint64_t types, uint64_t pid, const char *path, size_t len)
{
	if (!valid(kind, types, path, len))
		return -EINVAL;
	struct mute *m = find(s, kind, pid, path, len);
	if (!m)
		return -ENOENT;
	m->types &= ~types;
	if (!m->types) {
		free(m->path);
		*m = s->m[--s->n];
	}
	return 0;
}

void muteset_clear(struct muteset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->m[i].path);
	free(s->m);
	memset(s, 0, sizeof(*s));
}

int muteset_invert(struct muteset *s, uint32_t kind, int inverted)
{
	int cls = mute_class(kind);
	if (cls < 0)
		return -EINVAL;
	if (inverted)
		s->inverted |= 1u << cls;
	else
		s->inverted &= ~(1u << cls);
	return 0;
}

static const char *str_field(const struct ward_rec *r, uint16_t id, size_t *len)
{
	const struct ward_field_hdr *h = ward_rec_find(r, id);
	if (!h || h->kind != WARD_KIND_STR || h->len == 0)
		return NULL;
	*len = h->len - 1; /* the NUL */
	return (const char *)(h + 1);
}

/* A path matches a literal mute exactly; a prefix mute, when it starts with
 * the prefix (a prefix "/usr/" matches "/usr/bin/x"; "/usr" also "/usrx":
 * say "/usr/" to mean the directory). */
static int path_match(const struct mute *m, const char *p, size_t len)
{
	if (!p)
		return 0;
	int literal = m->kind == WARD_MUTE_EXE_LITERAL || m->kind == WARD_MUTE_PATH_LITERAL;
	if (literal)
		return len == m->len && memcmp(p, m->path, len) == 0;
	return len >= m->len && memcmp(p, m->path, m->len) == 0;
}

/* What mutes look at in a record, located once per record. */
struct subject {
	uint64_t pid;
	const char *exe, *path, *path2;
	size_t exe_len, path_len, path2_len;
};

static void subject_of(const struct ward_rec *r, struct subject *f)
{
	memset(f, 0, sizeof(*f));
	const struct ward_field_hdr *h = ward_rec_find(r, WARD_F_PID);
	if (h && h->kind == WARD_KIND_U64)
		memcpy(&f->pid, h + 1, sizeof(f->pid));
	f->exe = str_field(r, WARD_F_EXE, &f->exe_len);
	f->path = str_field(r, WARD_F_PATH, &f->path_len);
	f->path2 = str_field(r, WARD_F_NEW_PATH, &f->path2_len);
}

static int mute_matches(const struct mute *m, int cls, const struct subject *f)
{
	if (cls == MUTE_CLASS_PROCESS)
		return m->pid == f->pid;
	if (cls == MUTE_CLASS_EXE)
		return path_match(m, f->exe, f->exe_len);
	return path_match(m, f->path, f->path_len) || path_match(m, f->path2, f->path2_len);
}

int muteset_drops(const struct muteset *s, uint32_t type, const struct ward_rec *r)
{
	if (!s->n && !s->inverted)
		return 0;
	/* per class: does a mute name this type, and does one match */
	int covered[MUTE_CLASSES] = {0}, matched[MUTE_CLASSES] = {0};
	struct subject f;
	int located = 0;
	for (size_t i = 0; i < s->n; i++) {
		const struct mute *m = &s->m[i];
		int cls = mute_class(m->kind);
		if (cls < 0 || !((m->types >> type) & 1))
			continue;
		covered[cls] = 1;
		if (matched[cls])
			continue;
		if (!located) {
			subject_of(r, &f);
			located = 1;
		}
		matched[cls] = mute_matches(m, cls, &f);
	}
	for (int cls = 0; cls < MUTE_CLASSES; cls++) {
		if (!covered[cls])
			continue; /* an inverted class leaves the types it does not name alone */
		int inverted = (s->inverted >> cls) & 1;
		/* muted: a match drops; inverted: only a match gets through */
		if (inverted ? !matched[cls] : matched[cls])
			return 1;
	}
	return 0;
}

int muteset_mutes_pid(const struct muteset *s, uint64_t pid, uint64_t types)
{
	if (s->inverted & (1u << MUTE_CLASS_PROCESS))
		return 0;
	struct mute *m = find(s, WARD_MUTE_PROCESS, pid, NULL, 0);
	return m && (m->types & types) == types;
}
