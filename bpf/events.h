/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * events.h — the records the sensors write into the BPF ring buffer, as read
 * by wardd (daemon/pipeline.c).  Plain C types only: this header is compiled
 * both by clang for BPF and by the host compiler, and tests/unit/test_layout.c
 * checks that both see the same sizes and offsets.
 *
 * A record is a struct wk_hdr, then the type's payload (a member of union
 * wk_payload), then hdr.str_len[0..WK_NSTR-1] bytes of strings, one after
 * another.  A string whose bit is set in hdr.str_rev holds a path as the
 * kernel's dentry walk produced it: components leaf first, each
 * NUL-terminated; wardd reverses and joins them with '/'.  Other strings are
 * as read from memory (NUL-terminated when complete; a string may be cut at
 * its maximum length).
 *
 * Type numbers below WK_INTERNAL are enum ward_event_type (ward.h); types from
 * WK_INTERNAL up are internal to wardd (they keep its process table current)
 * and are never shown to clients.
 */
#ifndef WARD_BPF_EVENTS_H
#define WARD_BPF_EVENTS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "../include/ward/event_types.h"

#define WK_NSTR 4
#define WK_STR_MAX 4096         /* one user string */
#define WK_PATH_BUF 4096        /* one dentry-walk path */
#define WK_ARGV_MAX 4096        /* exec arguments */
#define WK_COMM_LEN 16
#define WK_MAX_TYPES 128        /* size of the per-type maps */

enum wk_internal_type {
	WK_INTERNAL = 100,
	WK_CWD = 100,          /* chdir/fchdir succeeded: str0 = new cwd (rev) */
	WK_SNAPSHOT = 101,     /* a task moved itself into a cgroup v2 (wardd --cgroup):
				* str0 = exe (rev), str2 = argv, str3 = cwd (rev) */
};

/* hdr.str_rev bits: string i is a leaf-first path; string i was cut at the
 * walk's depth or size limit (its top components are missing). */
#define WK_REV(i) (1u << (i))
#define WK_CUT(i) (1u << (8 + (i)))

struct wk_hdr {
	__u16 type;
	__u16 size;           /* whole record */
	__u16 str_len[WK_NSTR];
	__u16 str_rev;        /* WK_REV / WK_CUT bits */
	__u16 pad16;
	__u64 ktime;          /* bpf_ktime_get_boot_ns() */
	__u64 cgroup_id;
	__u64 start_time;     /* task->group_leader->start_boottime (CLOCK_BOOTTIME ns) */
	__u32 pid;            /* tgid */
	__u32 tid;
	__u32 ppid;
	__u32 uid, gid, euid, egid;
	__u32 pad;
	char comm[WK_COMM_LEN];
};

struct wk_fork {
	__u32 child_pid;
	__u32 child_tid;
	__u64 child_start_time;
};

struct wk_exec {
	__u32 old_pid;
	__u32 argv_truncated;
	/* the executable's identity and version, the key of wardd's SHA-256
	 * cache (dev as the kernel encodes it: major << 20 | minor) */
	__u64 dev;
	__u64 ino;
	__u64 size;
	__u64 mtime_ns;       /* 0 where the kernel's inode has no i_mtime_sec */
	__u64 ctime_ns;
	/* str0: exe (rev), str1: filename as passed, str2: argv */
};

struct wk_exit {
	__u32 status;         /* wait status: (code << 8) | signal | 0x80 core */
	__u32 pad;
};

/* open, create, unlink, rename, chmod, chown, truncate, link, symlink, cwd */
struct wk_file {
	__s64 result;
	__s64 arg;            /* truncate: length */
	__s32 owner_uid;
	__s32 owner_gid;
	__u32 flags;
	__u32 mode;
	__s32 fd;             /* fd operated on (fchmod...), -1 if none */
	__s32 dirfd;          /* dirfd of *at() calls, AT_FDCWD if none */
	__u32 syscall;        /* syscall number */
	__u32 pad;
	/* str0: path (rev if resolved from an fd), str1: second path (rename,
	 * link, symlink), str2 / str3: the directory a relative str0 / str1 is
	 * resolved against, when it is not the cwd (rev) */
};

struct wk_net {
	__s64 result;
	__s32 fd;
	__u16 family;
	__u16 sock_type;
	__u16 protocol;
	__u16 local_port;     /* host order */
	__u16 remote_port;    /* host order */
	__u16 pad;
	__u32 backlog;
	__u8 local_addr[16];  /* IPv4 in the first 4 bytes */
	__u8 remote_addr[16];
	/* str0: AF_UNIX address as passed (addrlen - 2 bytes; an abstract
	 * name starts with a NUL) */
};

struct wk_cred {
	__s64 result;
	__u32 syscall;
	__u32 target_pid;     /* capset: pid in the header, 0 = self */
	__u32 have_old;       /* the old_* values were saved at syscall entry */
	__u32 pad;
	__u32 old_uid, old_gid, old_euid, old_egid, old_suid;
	__u32 new_uid, new_gid, new_euid, new_egid, new_suid;
	__u64 old_cap_eff, old_cap_prm;
	__u64 cap_eff, cap_prm, cap_inh;
};

struct wk_target {
	__s64 result;
	__u64 request;        /* ptrace request */
	__s32 pid;            /* ptrace/kill target; tgkill tgid */
	__s32 tid;            /* tgkill/tkill tid */
	__u32 sig;
	__u32 syscall;
};

struct wk_sys {
	__s64 result;
	__u64 flags;
	__s32 fd;
	__u32 cmd;            /* bpf command */
	__u32 prog_type;
	__u32 attach_type;
	__u32 insn_cnt;
	__u32 syscall;
	/* module_load: str0 path (rev, finit_module), str1 params
	 * bpf: str0 program name
	 * mount: str0 source, str1 target, str2 fstype; umount: str1 target
	 * memfd_create: str0 name */
};

union wk_payload {
	struct wk_fork fork;
	struct wk_exec exec;
	struct wk_exit exit;
	struct wk_file file;
	struct wk_net net;
	struct wk_cred cred;
	struct wk_target target;
	struct wk_sys sys;
};

/* Header + payload: strings start at this offset. */
#define WK_FIXED_SIZE (sizeof(struct wk_hdr) + sizeof(union wk_payload))
/* Largest record the sensors write. */
#define WK_EVENT_MAX (WK_FIXED_SIZE + 2 * WK_PATH_BUF + 2 * WK_STR_MAX)

/* Slots of the wk_config array map. */
enum wk_config_key {
	WK_CFG_SUBSCRIBED = 0,  /* bit t: someone wants type t (ward types) */
	WK_CFG_SELF_TGID = 1,   /* wardd's own tgid, never reported */
	WK_CFG_MUTING = 2,      /* WK_MUTING_* bits: which mute maps hold entries */
	WK_CFG_NKEYS
};

/* WK_CFG_MUTING bits: a mute map is looked up only when it holds entries */
#define WK_MUTING_PIDS 1
#define WK_MUTING_CGROUPS 2

#endif /* WARD_BPF_EVENTS_H */
