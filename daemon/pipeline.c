/* SPDX-License-Identifier: Apache-2.0 */
/* pipeline.c — see pipeline.h.  One function per event family builds the
 * type's own fields; the process fields are common. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include <ward/ward.h>
#include "broker.h"
#include "events.h"
#include "hashcache.h"
#include "log.h"
#include "journal.h"
#include "pipeline.h"
#include "protect.h"
#include "proctable.h"
#include "record.h"
#include "netpolicy.h"
#include "sensors.h"

#define AF_UNIX_ 1

static uint64_t global_seq;
static int64_t boot_to_real_ns;
static uint64_t seen[WK_MAX_TYPES];
static uint64_t malformed;
static _Alignas(8) uint8_t recbuf[WARD_REC_MAX];

/* A sensor record with its strings located. */
struct kev {
	const struct wk_hdr *h;
	const union wk_payload *p;
	const char *str[WK_NSTR];
	const char *raw[WK_NSTR]; /* each string's bytes as the sensor wrote them */
	int resolved[WK_NSTR]; /* from a dentry walk: absolute, or cut ("...") */
	char unix_name[112];
	char path[WK_NSTR][WK_PATH_BUF + 8]; /* rev strings, rebuilt */
};

void pipeline_sync_clock(void)
{
	struct timespec rt, bt;
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_BOOTTIME, &bt);
	boot_to_real_ns = ((int64_t)rt.tv_sec - bt.tv_sec) * 1000000000ll + (rt.tv_nsec - bt.tv_nsec);
}

void pipeline_init(void)
{
	pipeline_sync_clock();
}

size_t pipeline_unreverse(const char *src, size_t len, char *out, size_t outlen)
{
	/* src: "leaf\0parent\0...\0top\0"; out: "/top/.../parent/leaf" */
	size_t o = 0;
	if (outlen < 2)
		return 0;
	size_t end = len;
	while (end > 0) {
		size_t e = end - 1; /* the NUL ending the last unwritten component */
		size_t s = e;
		while (s > 0 && src[s - 1] != '\0')
			s--;
		size_t n = e - s;
		if (o + 1 + n + 1 > outlen)
			break;
		out[o++] = '/';
		memcpy(out + o, src + s, n);
		o += n;
		end = s;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return o;
}

/* Locate strings; rebuild reversed paths.  Returns 0 or -EPROTO. */
static int kev_parse(struct kev *k, const void *data, size_t size)
{
	if (size < WK_FIXED_SIZE)
		return -EPROTO;
	k->h = data;
	k->p = (const void *)((const uint8_t *)data + sizeof(struct wk_hdr));
	size_t off = WK_FIXED_SIZE;
	for (int i = 0; i < WK_NSTR; i++) {
		size_t n = k->h->str_len[i];
		if (off + n > size)
			return -EPROTO;
		const char *s = (const char *)data + off;
		k->raw[i] = s;
		k->str[i] = NULL;
		k->resolved[i] = (k->h->str_rev & WK_REV(i)) != 0;
		if (k->resolved[i]) {
			/* a walk that ended at once is the root: "/" */
			char *out = k->path[i];
			size_t room = sizeof(k->path[i]);
			if (k->h->str_rev & WK_CUT(i)) {
				/* the top is missing: say so rather than show a
				 * wrong absolute path */
				memcpy(out, "...", 3);
				out += 3;
				room -= 3;
			}
			pipeline_unreverse(s, n, out, room);
			k->str[i] = k->path[i];
		} else if (n) {
			/* user strings may be cut at their maximum: copy and terminate */
			size_t m = strnlen(s, n);
			if (m >= sizeof(k->path[i]))
				m = sizeof(k->path[i]) - 1;
			memcpy(k->path[i], s, m);
			k->path[i][m] = '\0';
			k->str[i] = k->path[i];
		}
		off += n;
	}
	return 0;
}

static void add_str(struct ward_rec_builder *b, uint16_t id, const char *s)
{
	if (s)
		ward_rb_str(b, id, s, strlen(s));
}

static void add_process(struct ward_rec_builder *b, const struct kev *k, struct proc *p)
{
	const struct wk_hdr *h = k->h;
	ward_rb_u64(b, WARD_F_PID, h->pid);
	ward_rb_u64(b, WARD_F_TID, h->tid);
	ward_rb_u64(b, WARD_F_PPID, h->ppid);
	ward_rb_u64(b, WARD_F_UID, h->uid);
	ward_rb_u64(b, WARD_F_GID, h->gid);
	ward_rb_u64(b, WARD_F_EUID, h->euid);
	ward_rb_u64(b, WARD_F_EGID, h->egid);
	size_t clen = strnlen(h->comm, sizeof(h->comm));
	ward_rb_str(b, WARD_F_COMM, h->comm, clen);
	add_str(b, WARD_F_EXE, p->exe);
	if (p->argv)
		ward_rb_strv(b, WARD_F_ARGV, p->argv, p->argv_len);
	add_str(b, WARD_F_CWD, p->cwd);
	ward_rb_u64(b, WARD_F_START_TIME, h->start_time);
	ward_rb_u64(b, WARD_F_CGROUP_ID, h->cgroup_id);
	add_str(b, WARD_F_CONTAINER_ID, proc_container_id(p, h->cgroup_id));
}

void pipeline_add_process_of(struct ward_rec_builder *b, uint32_t pid, uint32_t tid)
{
	struct proc_status st = {0};
	uint64_t cgroup_id = 0;
	int live = proc_read_ids(pid, &st, &cgroup_id) == 0;
	struct proc *p = proc_get(pid);
	/* The sensors keep an entry current (its exec was read before this
	 * request: wardd drains their ring first); one read from /proc is
	 * checked against /proc now. */
	if (p->from_proc)
		proc_refresh(p);
	ward_rb_u64(b, WARD_F_PID, pid);
	ward_rb_u64(b, WARD_F_TID, tid);
	if (live) {
		ward_rb_u64(b, WARD_F_PPID, st.ppid);
		ward_rb_u64(b, WARD_F_UID, st.uid);
		ward_rb_u64(b, WARD_F_GID, st.gid);
		ward_rb_u64(b, WARD_F_EUID, st.euid);
		ward_rb_u64(b, WARD_F_EGID, st.egid);
	}
	add_str(b, WARD_F_COMM, st.comm[0] ? st.comm : p->comm[0] ? p->comm : NULL);
	add_str(b, WARD_F_EXE, p->exe);
	if (p->argv)
		ward_rb_strv(b, WARD_F_ARGV, p->argv, p->argv_len);
	add_str(b, WARD_F_CWD, p->cwd);
	if (p->start_time)
		ward_rb_u64(b, WARD_F_START_TIME, p->start_time);
	if (!cgroup_id)
		cgroup_id = p->cgroup_id;
	if (cgroup_id) {
		ward_rb_u64(b, WARD_F_CGROUP_ID, cgroup_id);
		add_str(b, WARD_F_CONTAINER_ID, proc_container_id(p, cgroup_id));
	}
}

void pipeline_stamp(void *rec, uint64_t realtime_ns)
{
	struct ward_rec *r = rec;
	r->global_seq = ++global_seq;
	journal_note_seq(global_seq);
	r->time_ns = realtime_ns;
}

/* An absolute form of a path the caller passed: joined with the directory
 * the sensor resolved (@dir) or the process's cwd.  An empty path names that
 * directory itself (AT_EMPTY_PATH).  Paths from a dentry walk (@resolved)
 * are already as absolute as they can be. */
static const char *absolute(char *out, size_t outlen, const char *path, int resolved,
			    const char *dir, const struct proc *p)
{
	if (!path || resolved || path[0] == '/')
		return path;
	const char *base = dir && dir[0] ? dir : p->cwd;
	if (!base || !base[0])
		return path;
	if (path[0] == '\0')
		return base;
	int n = snprintf(out, outlen, "%s%s%s", base, base[strlen(base) - 1] == '/' ? "" : "/", path);
	return n > 0 && (size_t)n < outlen ? out : path;
}

static void add_file(struct ward_rec_builder *b, const struct kev *k, const struct proc *p)
{
	const struct wk_file *f = &k->p->file;
	char buf0[2 * WK_PATH_BUF + 2], buf1[2 * WK_PATH_BUF + 2];
	uint32_t t = k->h->type;
	ward_rb_i64(b, WARD_F_RESULT, f->result);
	/* an empty path is the directory only when the call succeeded (with
	 * AT_EMPTY_PATH); a failed one did not name anything */
	const char *p0 = k->str[0] && !k->str[0][0] && f->result < 0 ? k->str[0]
		       : absolute(buf0, sizeof(buf0), k->str[0], k->resolved[0], k->str[2], p);
	add_str(b, WARD_F_PATH, p0);
	if (t == WARD_EV_SYMLINK)
		add_str(b, WARD_F_LINK_TARGET, k->str[1]);
	else if (k->str[1])
		add_str(b, WARD_F_NEW_PATH, absolute(buf1, sizeof(buf1), k->str[1], k->resolved[1], k->str[3], p));
	if (t == WARD_EV_OPEN || t == WARD_EV_CREATE || t == WARD_EV_UNLINK || t == WARD_EV_RENAME ||
	    t == WARD_EV_LINK || t == WARD_EV_CHMOD || t == WARD_EV_CHOWN)
		ward_rb_u64(b, WARD_F_FLAGS, f->flags);
	if (t == WARD_EV_OPEN || t == WARD_EV_CREATE || t == WARD_EV_CHMOD)
		ward_rb_u64(b, WARD_F_MODE, f->mode);
	if (t == WARD_EV_CHOWN) {
		ward_rb_i64(b, WARD_F_OWNER_UID, f->owner_uid);
		ward_rb_i64(b, WARD_F_OWNER_GID, f->owner_gid);
	}
	if (t == WARD_EV_TRUNCATE)
		ward_rb_i64(b, WARD_F_LENGTH, f->arg);
	if (f->fd >= 0)
		ward_rb_i64(b, WARD_F_FD, f->fd);
	add_str(b, WARD_F_SYSCALL, sensors_syscall_name(f->syscall));
}

static void add_addr(struct ward_rec_builder *b, uint16_t id, uint16_t family, const uint8_t *a)
{
	char s[INET6_ADDRSTRLEN];
	if (family == AF_INET && inet_ntop(AF_INET, a, s, sizeof(s)))
		add_str(b, id, s);
	else if (family == AF_INET6 && inet_ntop(AF_INET6, a, s, sizeof(s)))
		add_str(b, id, s);
}

/* An AF_UNIX address from its raw bytes: a path as is, an abstract name as
 * "@name" (the usual notation), NULL when there is none. */
static const char *unix_name(struct kev *k, char *out, size_t outlen)
{
	size_t n = k->h->str_len[0];
	const char *raw = k->raw[0];
	if (n == 0 || outlen < 2)
		return NULL;
	if (raw[0] != '\0')
		return k->str[0];
	size_t m = 0;
	out[m++] = '@';
	for (size_t i = 1; i < n && raw[i] && m + 1 < outlen; i++)
		out[m++] = raw[i];
	out[m] = '\0';
	return out;
}

static void add_net(struct ward_rec_builder *b, struct kev *k)
{
	const struct wk_net *n = &k->p->net;
	uint32_t t = k->h->type;
	ward_rb_i64(b, WARD_F_RESULT, n->result);
	ward_rb_i64(b, WARD_F_FD, n->fd);
	ward_rb_u64(b, WARD_F_FAMILY, n->family);
	ward_rb_u64(b, WARD_F_SOCK_TYPE, n->sock_type);
	ward_rb_u64(b, WARD_F_PROTOCOL, n->protocol);
	if (n->family == AF_UNIX_) {
		add_str(b, t == WARD_EV_CONNECT ? WARD_F_REMOTE_ADDR : WARD_F_LOCAL_ADDR,
			unix_name(k, k->unix_name, sizeof(k->unix_name)));
	} else {
		add_addr(b, WARD_F_LOCAL_ADDR, n->family, n->local_addr);
		ward_rb_u64(b, WARD_F_LOCAL_PORT, n->local_port);
		if (t == WARD_EV_CONNECT || t == WARD_EV_ACCEPT) {
			add_addr(b, WARD_F_REMOTE_ADDR, n->family, n->remote_addr);
			ward_rb_u64(b, WARD_F_REMOTE_PORT, n->remote_port);
		}
	}
	if (t == WARD_EV_LISTEN)
		ward_rb_u64(b, WARD_F_BACKLOG, n->backlog);
}

static void add_cred(struct ward_rec_builder *b, const struct kev *k)
{
	const struct wk_cred *c = &k->p->cred;
	ward_rb_i64(b, WARD_F_RESULT, c->result);
	add_str(b, WARD_F_SYSCALL, sensors_syscall_name(c->syscall));
	if (k->h->type == WARD_EV_CAPSET) {
		ward_rb_i64(b, WARD_F_TARGET_PID, c->target_pid);
		ward_rb_u64(b, WARD_F_CAP_EFFECTIVE, c->cap_eff);
		ward_rb_u64(b, WARD_F_CAP_PERMITTED, c->cap_prm);
		ward_rb_u64(b, WARD_F_CAP_INHERITABLE, c->cap_inh);
		if (c->have_old) {
			ward_rb_u64(b, WARD_F_OLD_CAP_EFFECTIVE, c->old_cap_eff);
			ward_rb_u64(b, WARD_F_OLD_CAP_PERMITTED, c->old_cap_prm);
		}
		return;
	}
	if (!c->have_old)
		goto new_ids; /* the call began before the sensor: old ids unknown */
	ward_rb_u64(b, WARD_F_OLD_UID, c->old_uid);
	ward_rb_u64(b, WARD_F_OLD_GID, c->old_gid);
	ward_rb_u64(b, WARD_F_OLD_EUID, c->old_euid);
	ward_rb_u64(b, WARD_F_OLD_EGID, c->old_egid);
	ward_rb_u64(b, WARD_F_OLD_SUID, c->old_suid);
new_ids:
	ward_rb_u64(b, WARD_F_NEW_UID, c->new_uid);
	ward_rb_u64(b, WARD_F_NEW_GID, c->new_gid);
	ward_rb_u64(b, WARD_F_NEW_EUID, c->new_euid);
	ward_rb_u64(b, WARD_F_NEW_EGID, c->new_egid);
	ward_rb_u64(b, WARD_F_NEW_SUID, c->new_suid);
}

static void add_target(struct ward_rec_builder *b, const struct kev *k)
{
	const struct wk_target *t = &k->p->target;
	ward_rb_i64(b, WARD_F_RESULT, t->result);
	add_str(b, WARD_F_SYSCALL, sensors_syscall_name(t->syscall));
	ward_rb_i64(b, WARD_F_TARGET_PID, t->pid);
	if (k->h->type == WARD_EV_PTRACE) {
		ward_rb_u64(b, WARD_F_REQUEST, t->request);
	} else {
		ward_rb_i64(b, WARD_F_TARGET_TID, t->tid);
		ward_rb_u64(b, WARD_F_SIGNAL, t->sig);
	}
	struct proc *target = t->pid > 0 ? proc_find((uint32_t)t->pid) : NULL;
	if (target && target->comm[0])
		add_str(b, WARD_F_TARGET_COMM, target->comm);
}

static void add_sys(struct ward_rec_builder *b, const struct kev *k)
{
	const struct wk_sys *s = &k->p->sys;
	uint32_t t = k->h->type;
	ward_rb_i64(b, WARD_F_RESULT, s->result);
	add_str(b, WARD_F_SYSCALL, sensors_syscall_name(s->syscall));
	if (s->fd >= 0)
		ward_rb_i64(b, WARD_F_FD, s->fd);
	switch (t) {
	case WARD_EV_MODULE_LOAD:
		add_str(b, WARD_F_PATH, k->str[0]);
		add_str(b, WARD_F_ARGS, k->str[1]);
		ward_rb_u64(b, WARD_F_FLAGS, s->flags);
		break;
	case WARD_EV_BPF:
		ward_rb_u64(b, WARD_F_BPF_CMD, s->cmd);
		ward_rb_u64(b, WARD_F_PROG_TYPE, s->prog_type);
		ward_rb_u64(b, WARD_F_ATTACH_TYPE, s->attach_type);
		ward_rb_u64(b, WARD_F_INSN_COUNT, s->insn_cnt);
		add_str(b, WARD_F_NAME, k->str[0]);
		break;
	case WARD_EV_MOUNT:
		add_str(b, WARD_F_SOURCE, k->str[0]);
		add_str(b, WARD_F_PATH, k->str[1]);
		add_str(b, WARD_F_FSTYPE, k->str[2]);
		ward_rb_u64(b, WARD_F_FLAGS, s->flags);
		break;
	case WARD_EV_UMOUNT:
		add_str(b, WARD_F_PATH, k->str[1]);
		ward_rb_u64(b, WARD_F_FLAGS, s->flags);
		break;
	case WARD_EV_MEMFD_CREATE:
		add_str(b, WARD_F_NAME, k->str[0]);
		ward_rb_u64(b, WARD_F_FLAGS, s->flags);
		break;
	}
}

/* Process-table side effects that must happen before enrichment (exec: the
 * event describes the new image) and the type's own fields. */
/*
 * The executable's SHA-256.  From the cache, keyed by the identity and
 * version the sensor read from the inode, when it is there.  Otherwise the
 * exec record waits: the hash worker opens and hashes the file (this
 * thread never opens one: it could wait on its own fanotify permission
 * event, or on a hung network filesystem), and meanwhile wardd stops
 * reading the sensors' ring, so every later event stays behind the exec in
 * order, in the kernel's buffer.  At most PARK_MS, then the exec goes
 * without a digest (counted) and the hash still fills the cache.
 */
#define PARK_MS 200
#define PIPELINE_COOKIE (1ull << 63) /* hash results for the pipeline, not auth.c */

static uint64_t exec_unhashed, exec_parked;
static struct {
	int active;
	uint64_t cookie;
	uint64_t until;      /* monotonic ns */
	uint32_t type;
	size_t len;
	_Alignas(8) uint8_t rec[WARD_REC_MAX];
} parked;
static uint64_t park_serial;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void exec_stat(const struct wk_exec *e, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev((unsigned)(e->dev >> 20), (unsigned)(e->dev & 0xfffff));
	st->st_ino = e->ino;
	st->st_size = (off_t)e->size;
	st->st_mtim.tv_sec = (time_t)(e->mtime_ns / 1000000000ull);
	st->st_mtim.tv_nsec = (long)(e->mtime_ns % 1000000000ull);
	st->st_ctim.tv_sec = (time_t)(e->ctime_ns / 1000000000ull);
	st->st_ctim.tv_nsec = (long)(e->ctime_ns % 1000000000ull);
}

static void add_sha256(struct ward_rec_builder *b, const uint8_t *d)
{
	char hex[HASHCACHE_HEX_LEN];
	hashcache_hex(d, hex);
	ward_rb_str(b, WARD_F_SHA256, hex, HASHCACHE_HEX_LEN - 1);
}

/* 1: digest added; 0: the record must wait for the worker (submitted);
 * -1: no digest to be had. */
static int add_exec_hash(struct ward_rec_builder *b, const struct kev *k, const struct proc *p)
{
	const struct wk_exec *e = &k->p->exec;
	struct stat st;
	exec_stat(e, &st);
	uint8_t d[HASHCACHE_DIGEST_LEN];
	if (e->mtime_ns && hashcache_lookup(&st, d) == 0) {
		add_sha256(b, d);
		return 1;
	}
	if (!p->exe || p->exe[0] != '/')
		return -1;
	uint64_t cookie = PIPELINE_COOKIE | ++park_serial;
	return hashcache_submit_path(p->exe, st.st_dev, st.st_ino, cookie) == 0 ? (parked.cookie = cookie, 0) : -1;
}

/* Deliver the parked exec record, with @digest if there is one. */
static void unpark(const uint8_t *digest)
{
	struct ward_rec_builder b;
	ward_rb_resume(&b, parked.rec, sizeof(parked.rec), parked.len);
	if (digest)
		add_sha256(&b, digest);
	else
		exec_unhashed++;
	size_t n = ward_rb_finish(&b);
	parked.active = 0;
	if (n)
		broker_deliver(parked.type, parked.rec, n);
	else
		malformed++;
}

int pipeline_parked(void)
{
	if (parked.active && mono_ns() >= parked.until)
		unpark(NULL); /* slow disk, big file: on without the digest */
	return parked.active;
}

int pipeline_on_hash(uint64_t cookie, int err, const uint8_t *digest)
{
	if (!(cookie & PIPELINE_COOKIE))
		return 0;
	if (parked.active && cookie == parked.cookie)
		unpark(err ? NULL : digest);
	return 1; /* ours, even if late: the cache has it now */
}

static void add_lifecycle(struct ward_rec_builder *b, const struct kev *k)
{
	switch (k->h->type) {
	case WARD_EV_FORK:
		ward_rb_u64(b, WARD_F_CHILD_PID, k->p->fork.child_pid);
		break;
	case WARD_EV_EXEC:
		add_str(b, WARD_F_FILENAME, k->str[1]);
		if (k->p->exec.argv_truncated)
			ward_rb_u64(b, WARD_F_ARGV_TRUNCATED, 1);
		break;
	case WARD_EV_EXIT: {
		uint32_t st = k->p->exit.status;
		ward_rb_u64(b, WARD_F_EXIT_CODE, (st >> 8) & 0xff);
		ward_rb_u64(b, WARD_F_EXIT_SIGNAL, st & 0x7f);
		ward_rb_u64(b, WARD_F_CORE_DUMPED, (st & 0x80) ? 1 : 0);
		break;
	}
	}
}

static void update_table_before(const struct kev *k, struct proc *p)
{
	switch (k->h->type) {
	case WARD_EV_EXEC: {
		const char *exe = k->str[0] && strcmp(k->str[0], "/") ? k->str[0] : k->str[1];
		proc_set_str(&p->exe, exe);
		/* argv is raw (NUL-separated), not rebuilt: take it from the record */
		proc_set_argv(p, k->raw[2], k->h->str_len[2]);
		/* now known from the kernel: its exact start time too, or the
		 * next event's exact comparison would call it another process */
		p->start_time = k->h->start_time;
		p->from_proc = 0;
		break;
	}
	case WK_CWD:
		proc_set_str(&p->cwd, k->str[0]);
		break;
	case WK_SNAPSHOT: {
		/* identity of a process that joined the scope (see process.bpf.c) */
		if (k->str[0])
			proc_set_str(&p->exe, k->str[0]);
		if (k->h->str_len[2])
			proc_set_argv(p, k->raw[2], k->h->str_len[2]);
		if (k->str[3])
			proc_set_str(&p->cwd, k->str[3]);
		p->start_time = k->h->start_time;
		p->from_proc = 0;
		break;
	}
	}
}

static void update_table_after(const struct kev *k, struct proc *p)
{
	if (k->h->type == WARD_EV_FORK)
		proc_fork(k->p->fork.child_pid, p, k->p->fork.child_start_time);
	else if (k->h->type == WARD_EV_EXIT)
		proc_remove(k->h->pid);
}

/*
 * Two threads that exit together can both be the one that sees the thread
 * group's count reach zero, so a process's exit may come twice.  The last
 * few exits are remembered by (pid, start time) and a repeat is dropped.
 */
static int exit_seen(uint32_t pid, uint64_t start_time)
{
	static struct {
		uint32_t pid;
		uint64_t start_time;
	} recent[64];
	static unsigned next;
	for (unsigned i = 0; i < 64; i++)
		if (recent[i].pid == pid && recent[i].start_time == start_time)
			return 1;
	recent[next % 64].pid = pid;
	recent[next % 64].start_time = start_time;
	next++;
	return 0;
}

/* The table's entry for @pid, unless it belongs to an earlier process that
 * had the same pid: then it is read afresh from /proc. */
static struct proc *proc_get_checked(uint32_t pid, uint64_t start_time)
{
	struct proc *p = proc_find(pid);
	if (p && !proc_same_start(p, start_time)) {
		proc_remove(pid);
		p = NULL;
	}
	return p ? p : proc_get(pid);
}

static void on_record(void *data, size_t size);
static unsigned budget_left = PIPELINE_BUDGET;

void pipeline_new_turn(void)
{
	budget_left = PIPELINE_BUDGET;
}

/* After this record, is the turn's budget spent?  Then the callback returns
 * -EAGAIN, which stops libbpf's consume loop (the record counts as read):
 * under a flood wardd still gets back to its sockets and timers. */
static int spend(void)
{
	return --budget_left == 0 ? -EAGAIN : 0;
}

int pipeline_on_record(void *ctx, void *data, size_t size)
{
	int r = spend();
	on_record(data, size);
	/* an exec waits for its digest: stop reading the ring (the record
	 * counts as read) until it is delivered */
	return parked.active ? -EAGAIN : r;
}

static void on_record(void *data, size_t size)
{
	static struct kev k;
	if (kev_parse(&k, data, size)) {
		malformed++;
		return;
	}
	uint32_t type = k.h->type;
	if (type >= WK_MAX_TYPES || (type >= WARD_EV_MAX_ && type < WK_INTERNAL)) {
		malformed++;
		return;
	}
	if (type == WARD_EV_EXIT && exit_seen(k.h->pid, k.h->start_time))
		return; /* the process's last two threads both reported it */
	struct proc *p = proc_get_checked(k.h->pid, k.h->start_time);
	memcpy(p->comm, k.h->comm, sizeof(p->comm) - 1);
	update_table_before(&k, p);
	seen[type]++;
	/* aimed at ward?  (self-protection watches these whoever subscribed) */
	if (type == WARD_EV_SIGNAL || type == WARD_EV_PTRACE)
		protect_check_call(type, (pid_t)k.h->pid, (pid_t)k.h->tid, k.p->target.pid, k.p->target.sig, 0,
				   k.p->target.result);
	else if (type == WARD_EV_BPF)
		protect_check_call(type, (pid_t)k.h->pid, (pid_t)k.h->tid, 0, 0, k.p->sys.cmd, k.p->sys.result);
	/* lifecycle records of a muted pid come for the table's sake only */
	int muted = type <= WARD_EV_EXIT && sensors_pid_muted(k.h->pid);
	if (type < WARD_EV_MAX_ && ((broker_mask() >> type) & 1) && !muted) {
		struct ward_rec_builder b;
		ward_rb_init(&b, recbuf, sizeof(recbuf), (uint16_t)type);
		add_process(&b, &k, p);
		int park = 0;
		if (type <= WARD_EV_EXIT) {
			add_lifecycle(&b, &k);
			if (type == WARD_EV_EXEC) {
				int h = add_exec_hash(&b, &k, p);
				park = h == 0;
				if (h < 0)
					exec_unhashed++;
			}
		} else if (type <= WARD_EV_SYMLINK)
			add_file(&b, &k, p);
		else if (type <= WARD_EV_ACCEPT)
			add_net(&b, &k);
		else if (type <= WARD_EV_CAPSET)
			add_cred(&b, &k);
		else if (type <= WARD_EV_SIGNAL)
			add_target(&b, &k);
		else
			add_sys(&b, &k);
		size_t n = ward_rb_finish(&b);
		if (n) {
			struct ward_rec *r = (struct ward_rec *)recbuf;
			r->global_seq = ++global_seq;
			journal_note_seq(global_seq);
			/* unsigned: wraps rather than overflows on a nonsense ktime */
			r->time_ns = k.h->ktime + (uint64_t)boot_to_real_ns;
			if (park) {
				memcpy(parked.rec, recbuf, n);
				parked.len = n;
				parked.type = type;
				parked.until = mono_ns() + PARK_MS * 1000000ull;
				parked.active = 1;
				exec_parked++;
			} else {
				broker_deliver(type, recbuf, n);
			}
		} else {
			malformed++;
		}
	}
	update_table_after(&k, p);
}

int pipeline_on_net_enforce(void *ctx, const struct wk_net_enforce *e)
{
	(void)ctx;
	uint32_t type = e->type;
	if ((type != WARD_EV_AUTH_CONNECT && type != WARD_EV_AUTH_BIND) ||
	    (e->family != AF_INET && e->family != AF_INET6)) {
		malformed++;
		return 0;
	}
	seen[type]++;
	if (!((broker_mask() >> type) & 1))
		return 0;
	struct proc *p = proc_get(e->tgid);
	struct ward_rec_builder b;
	ward_rb_init(&b, recbuf, sizeof(recbuf), (uint16_t)type);
	ward_rb_u64(&b, WARD_F_PID, e->tgid);
	ward_rb_u64(&b, WARD_F_TID, e->tid);
	ward_rb_u64(&b, WARD_F_PPID, p->ppid);
	ward_rb_u64(&b, WARD_F_UID, e->uid);
	ward_rb_u64(&b, WARD_F_GID, e->gid);
	ward_rb_str(&b, WARD_F_COMM, e->comm, strnlen(e->comm, sizeof(e->comm)));
	add_str(&b, WARD_F_EXE, p->exe);
	if (p->argv)
		ward_rb_strv(&b, WARD_F_ARGV, p->argv, p->argv_len);
	add_str(&b, WARD_F_CWD, p->cwd);
	if (p->start_time)
		ward_rb_u64(&b, WARD_F_START_TIME, p->start_time);
	ward_rb_u64(&b, WARD_F_CGROUP_ID, e->cgroup_id);
	add_str(&b, WARD_F_CONTAINER_ID, proc_container_id(p, e->cgroup_id));
	ward_rb_u64(&b, WARD_F_FAMILY, e->family);
	ward_rb_u64(&b, WARD_F_PROTOCOL, e->protocol);
	ward_rb_u64(&b, WARD_F_SOCK_TYPE, e->sock_type);
	int connect = type == WARD_EV_AUTH_CONNECT;
	add_addr(&b, connect ? WARD_F_REMOTE_ADDR : WARD_F_LOCAL_ADDR, e->family, e->addr);
	ward_rb_u64(&b, connect ? WARD_F_REMOTE_PORT : WARD_F_LOCAL_PORT, e->port);
	ward_rb_u64(&b, WARD_F_VERDICT, WARD_VERDICT_DENY);
	ward_rb_u64(&b, WARD_F_RULE_ID, e->rule_id);
	const char *who = broker_client_name(e->client_id);
	ward_rb_str(&b, WARD_F_RULE_CLIENT, who, strlen(who));
	ward_rb_str(&b, WARD_F_DECIDED_BY, who, strlen(who));
	ward_rb_str(&b, WARD_F_REASON, "rule", 4);
	size_t n = ward_rb_finish(&b);
	if (!n) {
		malformed++;
		return 0;
	}
	pipeline_stamp(recbuf, e->ktime + (uint64_t)boot_to_real_ns);
	broker_deliver(type, recbuf, n);
	return 0;
}

void pipeline_set_global_seq(uint64_t seq)
{
	if (seq > global_seq)
		global_seq = seq;
}

void pipeline_status(struct json_object *obj)
{
	struct json_object *ev = json_object_new_object();
	uint64_t total_drops = 0;
	for (uint32_t t = 1; t < WARD_EV_MAX_; t++) {
		struct json_object *o = json_object_new_object();
		uint64_t d = sensors_drops(t);
		total_drops += d;
		json_object_object_add(o, "seen", json_object_new_uint64(seen[t]));
		json_object_object_add(o, "drops", json_object_new_uint64(d));
		json_object_object_add(ev, ward_event_type_name(t), o);
	}
	total_drops += sensors_drops(WK_CWD) + sensors_drops(WK_SNAPSHOT);
	json_object_object_add(obj, "events", ev);
	json_object_object_add(obj, "ringbuf_drops", json_object_new_uint64(total_drops));
	json_object_object_add(obj, "malformed_records", json_object_new_uint64(malformed));
	json_object_object_add(obj, "exec_without_sha256", json_object_new_uint64(exec_unhashed));
	json_object_object_add(obj, "exec_waited_for_sha256", json_object_new_uint64(exec_parked));
	json_object_object_add(obj, "global_seq", json_object_new_uint64(global_seq));
	json_object_object_add(obj, "processes_tracked", json_object_new_uint64(proctable_count()));
}
