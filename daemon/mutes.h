/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mutes.h — one client's mutes (ward_client_mute() in ward.h): which events
 * it does not want, by acting process, executable path or target path,
 * each for a set of event types, each class invertible.  Pure logic on
 * records, no I/O: the broker asks muteset_drops() before it gives a client
 * an event or an AUTH request, and pushes the processes every client mutes
 * down into the sensors (broker.c).
 */
#ifndef WARDD_MUTES_H
#define WARDD_MUTES_H

#include <stddef.h>
#include <stdint.h>

struct ward_rec;

#define MUTES_MAX 1024     /* per client */
#define MUTE_PATH_MAX 4096 /* bytes, NUL included */

/* the classes inversion applies to */
enum { MUTE_CLASS_PROCESS, MUTE_CLASS_EXE, MUTE_CLASS_PATH, MUTE_CLASSES };

struct mute {
	uint32_t kind;   /* enum ward_mute_kind */
	uint64_t types;  /* bit t: applies to event type t */
	uint64_t pid;    /* WARD_MUTE_PROCESS */
	char *path;      /* the path kinds */
	size_t len;
};

struct muteset {
	struct mute *m;
	size_t n, cap;
	unsigned inverted; /* bit per MUTE_CLASS_* */
};

/* The class of a mute kind, or -1 for an unknown kind. */
int mute_class(uint32_t kind);
/* Add (or widen to more types) the mute @kind/@pid/@path for @types.
 * Returns 0, -EINVAL (bad kind, path not absolute or too long, no types),
 * -ENOSPC (MUTES_MAX), -ENOMEM. */
int muteset_add(struct muteset *s, uint32_t kind, uint64_t types, uint64_t pid, const char *path, size_t len);
/* Narrow that mute by @types (all of them: gone).  Returns 0, -ENOENT. */
int muteset_remove(struct muteset *s, uint32_t kind, uint64_t types, uint64_t pid, const char *path, size_t len);
void muteset_clear(struct muteset *s);
/* Invert (or not) the class of @kind.  Returns 0 or -EINVAL. */
int muteset_invert(struct muteset *s, uint32_t kind, int inverted);
/* Whether the client with these mutes must not get record @r of @type. */
int muteset_drops(const struct muteset *s, uint32_t type, const struct ward_rec *r);
/* Whether @s mutes process @pid, uninverted, for every type in @types. */
int muteset_mutes_pid(const struct muteset *s, uint64_t pid, uint64_t types);

#endif
