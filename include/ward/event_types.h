/* SPDX-License-Identifier: Apache-2.0 */
/*
 * event_types.h — the event type numbers, alone, so that the BPF sensors
 * (bpf/events.h) and the C API (ward.h) share one definition.  No includes:
 * it must compile both for BPF and for user space.
 */
#ifndef WARD_EVENT_TYPES_H
#define WARD_EVENT_TYPES_H

/*
 * Event types.  Stable numbers: only ever appended to.  See docs/events.md
 * for every type and its fields.
 */
enum ward_event_type {
	WARD_EV_INVALID = 0,
	/* process */
	WARD_EV_FORK = 1,
	WARD_EV_EXEC = 2,
	WARD_EV_EXIT = 3,
	/* file */
	WARD_EV_OPEN = 4,
	WARD_EV_CREATE = 5,
	WARD_EV_UNLINK = 6,
	WARD_EV_RENAME = 7,
	WARD_EV_CHMOD = 8,
	WARD_EV_CHOWN = 9,
	WARD_EV_TRUNCATE = 10,
	WARD_EV_LINK = 11,
	WARD_EV_SYMLINK = 12,
	/* network */
	WARD_EV_CONNECT = 13,
	WARD_EV_BIND = 14,
	WARD_EV_LISTEN = 15,
	WARD_EV_ACCEPT = 16,
	/* privilege and process control */
	WARD_EV_SETUID = 17,
	WARD_EV_CAPSET = 18,
	WARD_EV_PTRACE = 19,
	WARD_EV_SIGNAL = 20,
	/* system */
	WARD_EV_MODULE_LOAD = 21,
	WARD_EV_BPF = 22,
	WARD_EV_MOUNT = 23,
	WARD_EV_UMOUNT = 24,
	WARD_EV_MEMFD_CREATE = 25,
	/* authorization (see docs/auth.md) */
	WARD_EV_AUTH_EXEC = 26,    /* an exec waiting for a verdict (fanotify) */
	WARD_EV_AUTH_OPEN = 27,    /* an open waiting for a verdict (fanotify) */
	WARD_EV_AUTH_CONNECT = 28, /* a connect a client's rule denied in the kernel */
	WARD_EV_AUTH_BIND = 29,    /* a bind a client's rule denied in the kernel */
	/* ward itself */
	WARD_EV_CLIENT_STATE = 30, /* a supervised client started, stopped, was restarted or quarantined */
	WARD_EV_TAMPER = 31,       /* something tried to write ward's files, kill, trace or detach ward */
	WARD_EV_CONTENT = 32,      /* a client's content bundle was installed, refused, promoted, rolled back... */
	/* append new types here */
	WARD_EV_MAX_ /* one past the highest type; not a type */
};

#endif /* WARD_EVENT_TYPES_H */
