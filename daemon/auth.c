/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auth.c — see auth.h.
 *
 * A request's life: the kernel queues a permission event and blocks the
 * process → auth_on_event() reads it (never blocking: the group is
 * non-blocking) → answered at once if it is wardd's own, if nobody answers
 * its type, from the cache, or when the table of pending requests is full
 * → otherwise it becomes a struct req, and each client that answers the
 * type gets a copy in its ring with its own deadline → votes arrive through
 * auth_vote(), deadlines pass in auth_tick(), clients leave through
 * auth_client_gone() → the first DENY, or the last vote, decides → the
 * verdict is written to the kernel, cached if every voter allowed it as
 * cacheable, and delivered as a notification to `ward events` and any
 * other NOTIFY subscriber.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <ward/ward.h>
#include "auth.h"
#include "broker.h"
#include "content.h"
#include "hashcache.h"
#include "log.h"
#include "pipeline.h"
#include "protect.h"
#include "record.h"

#ifndef FAN_MARK_IGNORE
#define FAN_MARK_IGNORE 0x00000400 /* Linux 6.0 */
#endif
#ifndef FAN_MARK_EVICTABLE
#define FAN_MARK_EVICTABLE 0x00000200 /* Linux 5.19 */
#endif

#define MAX_VOTERS 32          /* AUTH clients per request */
#define READS_PER_TURN 4       /* bounded: a storm of requests cannot starve the loop */
#define BCACHE_SIZE 8192       /* broker cache slots (direct-mapped) */
#define ID_SLOT_BITS 16        /* request id = serial << 16 | slot */
#define LAT_BUCKETS 32         /* latency histogram, log2 of µs */
#define AUTH_FD_MIN 16384      /* see auth_init */
#define MAX_SHADOWS 4          /* shadow instances asked per request */
#define SHADOW_PENDING 1024    /* shadow answers awaited (docs/content.md) */

/* how a voter's vote came about */
enum { H_WAIT, H_ANSWER, H_TIMEOUT, H_GONE, H_SKIP, H_RINGFULL, H_SELF, H_ERROR };
static const char *const how_name[] = {
	[H_WAIT] = "pending", [H_ANSWER] = "client", [H_TIMEOUT] = "timeout",
	[H_GONE] = "disconnect", [H_SKIP] = "muted", [H_RINGFULL] = "ring_full",
	[H_SELF] = "own_access", [H_ERROR] = "error",
};

struct voter {
	uint32_t client_id;
	uint32_t pid;
	uint64_t deadline;   /* monotonic ns */
	uint8_t def;         /* default verdict */
	uint8_t how;
	uint8_t verdict;
	uint8_t cache;       /* answered with WARD_RESPOND_CACHE */
	uint8_t want_file;   /* gets the file's descriptor */
};

struct cache_key {
	uint64_t dev, ino, size, mtime, ctime;
	uint32_t type;
};

struct req {
	uint64_t id;         /* 0: free */
	int fd;              /* the event's descriptor of the file */
	uint32_t pid;
	uint32_t type;
	uint64_t t0;         /* monotonic ns it was read */
	struct cache_key key;
	int have_key;        /* and may be cached (never for ward's own files) */
	uint64_t gen;        /* cache generation it was asked in */
	int hashing;         /* waiting for the hash worker before delivery */
	uint64_t hash_until; /* monotonic ns: then deliver without the digest */
	int nvoters, nwait;
	int last;            /* voter that answered last */
	struct voter v[MAX_VOTERS];
	uint8_t *base;       /* the record without the per-client fields */
	size_t base_len;
	struct req *prev, *next; /* active list */
	int nshadows;        /* shadow instances: asked, compared, never counted */
	struct auth_voter shadows[MAX_SHADOWS];
	int8_t shadow_active[MAX_SHADOWS]; /* the voter of the same manifest, or -1 */
};

/* A shadow instance's answer awaited: compared with its active instance's
 * (or, without one, the decision) when both are known. */
struct shadow_wait {
	uint64_t auth_id;    /* 0: free */
	uint32_t client_id;
	uint64_t deadline;   /* monotonic ns */
	int active;          /* the active verdict, -1 until the request is decided */
	int shadow;          /* its verdict, -1 until it answers */
	char manifest[64];
};

struct bcache_entry {
	struct cache_key key;
	uint64_t expires;    /* monotonic ns; 0 = until the file changes */
	uint32_t verdict;
	uint32_t used;
};

struct target {
	const char *path;
	int dirfd;           /* a directory's own descriptor: marks follow it, not the name */
	unsigned flags;      /* FAN_MARK_FILESYSTEM, FAN_MARK_MOUNT, or 0 (directory) */
	uint64_t marked;     /* fanotify mask in place */
	int err;             /* last marking error, 0 if none */
};

static struct {
	int fd;
	int epfd;
	struct auth_config cfg;
	pid_t self;
	uint64_t mask;       /* AUTH types subscribed */
	struct target targets[3 * AUTH_MAX_MARKS];
	int ntargets;
	struct req *reqs;
	uint32_t *free_slots;
	uint32_t nfree;
	uint64_t serial;
	struct req *active;  /* oldest first */
	struct req *active_tail;
	struct bcache_entry *bcache;
	uint64_t kernel_marks; /* ignore marks added since the last flush */
	uint64_t gen;        /* bumped by every clear: older verdicts are not cached */
	int evictable;       /* FAN_MARK_EVICTABLE accepted */
	int new_ignore;      /* FAN_MARK_IGNORE accepted (6.0) */
	/* counters */
	uint64_t requests[WARD_EV_MAX_], allowed, denied, timeouts, overflow, self_allowed,
		no_client, bcache_hits, kernel_cached, kernel_flushes, late_votes, queue_overflows,
		cache_clears, ring_full, hashed, unhashed, files_unsent, cache_races, hash_late;
	uint64_t lat[LAT_BUCKETS];
	struct shadow_wait shadow[SHADOW_PENDING];
	unsigned nshadow;    /* entries in use ... */
	size_t shadow_end;   /* ... all below this index: the scans stop there */
	uint64_t shadow_asked, shadow_unsent;
} A = {.fd = -1};

static _Alignas(8) uint8_t recbuf[WARD_REC_MAX];

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t fan_mask_of(uint64_t types)
{
	uint64_t m = 0;
	if ((types >> WARD_EV_AUTH_EXEC) & 1)
		m |= FAN_OPEN_EXEC_PERM;
	if ((types >> WARD_EV_AUTH_OPEN) & 1)
		m |= FAN_OPEN_PERM;
	return m;
}

static void add_target(const char *path, unsigned flags)
{
	struct target *t = &A.targets[A.ntargets++];
	t->path = path;
	t->flags = flags;
	/* A directory mark is an inode mark: kept by descriptor, it is put
	 * back after a cache flush (FAN_MARK_FLUSH takes it) on the same
	 * directory even if it was renamed.  Opened before any mark exists. */
	t->dirfd = flags == 0 ? open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (flags == 0 && t->dirfd < 0)
		t->err = errno;
}

int auth_init(int epfd, void *tag, const struct auth_config *cfg)
{
	A.cfg = *cfg;
	A.epfd = epfd;
	A.self = getpid();
	if (A.cfg.max_pending < 16)
		A.cfg.max_pending = 16;
	if (A.cfg.max_pending > (1u << ID_SLOT_BITS))
		A.cfg.max_pending = 1u << ID_SLOT_BITS;
	for (int i = 0; i < cfg->n_fs; i++)
		add_target(cfg->fs[i], FAN_MARK_FILESYSTEM);
	for (int i = 0; i < cfg->n_mounts; i++)
		add_target(cfg->mounts[i], FAN_MARK_MOUNT);
	for (int i = 0; i < cfg->n_dirs; i++)
		add_target(cfg->dirs[i], 0);
	if (A.ntargets == 0)
		add_target("/", FAN_MARK_FILESYSTEM);
	/* Unlimited marks: ignore marks are the kernel cache, and wardd bounds
	 * them itself (kernel_cache_max). */
	A.fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_MARKS,
			     O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (A.fd < 0)
		return -errno;
	/* On SIGKILL the kernel releases a dying process's files highest
	 * descriptor first, and detaching each BPF link can take tens of ms;
	 * the group goes first (letting every held request through at once)
	 * when its descriptor is above all the others. */
	int high = fcntl(A.fd, F_DUPFD_CLOEXEC, AUTH_FD_MIN);
	if (high >= 0) {
		close(A.fd);
		A.fd = high;
	}
	A.reqs = calloc(A.cfg.max_pending, sizeof(*A.reqs));
	A.free_slots = calloc(A.cfg.max_pending, sizeof(*A.free_slots));
	A.bcache = calloc(BCACHE_SIZE, sizeof(*A.bcache));
	if (!A.reqs || !A.free_slots || !A.bcache) {
		auth_stop();
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < A.cfg.max_pending; i++)
		A.free_slots[A.nfree++] = A.cfg.max_pending - 1 - i;
	A.evictable = 1;
	A.new_ignore = 1;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, A.fd, &ev)) {
		int err = -errno;
		auth_stop();
		return err;
	}
	return 0;
}

/* ---- marks ---- */

static void mark_target(struct target *t, uint64_t want)
{
	unsigned extra = t->flags == 0 ? FAN_EVENT_ON_CHILD : 0;
	t->err = 0;
	if (t->marked & ~want) {
		/* Only what was removed is unmarked: a path renamed or mounted
		 * over since leaves the kernel's mark in place, and the status
		 * must keep saying so. */
		if (fanotify_mark(A.fd, FAN_MARK_REMOVE | t->flags, (t->marked & ~want) | extra,
				  t->dirfd >= 0 ? t->dirfd : AT_FDCWD, t->dirfd >= 0 ? NULL : t->path))
			t->err = errno;
		else
			t->marked &= want;
	}
	if (want & ~t->marked) {
		if (fanotify_mark(A.fd, FAN_MARK_ADD | t->flags, want | extra, t->dirfd >= 0 ? t->dirfd : AT_FDCWD,
				  t->dirfd >= 0 ? NULL : t->path)) {
			t->err = errno;
			log_warn("fanotify mark on %s", t->path);
		} else {
			t->marked = want;
		}
	}
}

int auth_protect(void)
{
	return A.fd >= 0 ? protect_start(A.fd) : -EOPNOTSUPP;
}

int auth_available(void)
{
	return A.fd >= 0;
}

void auth_set_mask(uint64_t mask)
{
	if (A.fd < 0)
		return;
	A.mask = mask;
	uint64_t want = fan_mask_of(mask);
	if (!want) {
		/* Nobody answers: drop every mark of the group, whatever became
		 * of the paths they were placed by (cached verdicts go too). */
		fanotify_mark(A.fd, FAN_MARK_FLUSH | FAN_MARK_FILESYSTEM, 0, AT_FDCWD, NULL);
		fanotify_mark(A.fd, FAN_MARK_FLUSH | FAN_MARK_MOUNT, 0, AT_FDCWD, NULL);
		fanotify_mark(A.fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL);
		protect_start(A.fd); /* ward's own files stay protected */
		A.kernel_marks = 0;
		A.gen++;
		if (A.bcache)
			memset(A.bcache, 0, BCACHE_SIZE * sizeof(*A.bcache));
		for (int i = 0; i < A.ntargets; i++) {
			A.targets[i].marked = 0;
			A.targets[i].err = 0;
		}
		return;
	}
	for (int i = 0; i < A.ntargets; i++)
		mark_target(&A.targets[i], want);
	/* a directory target that is also protected shares its inode mark:
	 * removing AUTH bits above may have taken the protection's too */
	for (int i = 0; i < A.ntargets; i++)
		if (A.targets[i].flags == 0) {
			protect_start(A.fd);
			break;
		}
	log_debug("AUTH types now %#llx", (unsigned long long)mask);
}

/* ---- caches ---- */

static uint32_t bcache_slot(const struct cache_key *k)
{
	uint64_t h = k->dev * 0x9e3779b97f4a7c15ull ^ k->ino * 0xc2b2ae3d27d4eb4full ^ k->type;
	h ^= h >> 29;
	return (uint32_t)(h & (BCACHE_SIZE - 1));
}

static int bcache_get(const struct cache_key *k, uint32_t *verdict)
{
	struct bcache_entry *e = &A.bcache[bcache_slot(k)];
	if (!e->used || memcmp(&e->key, k, sizeof(*k)))
		return 0;
	if (e->expires && mono_ns() > e->expires) {
		e->used = 0;
		return 0;
	}
	*verdict = e->verdict;
	return 1;
}

static void bcache_put(const struct cache_key *k, uint32_t verdict, uint64_t ttl_ns)
{
	struct bcache_entry *e = &A.bcache[bcache_slot(k)];
	e->key = *k;
	e->verdict = verdict;
	e->expires = ttl_ns ? mono_ns() + ttl_ns : 0;
	e->used = 1;
}

/* The kernel's cache: an ignore mark on the file's inode for the request's
 * type.  The kernel drops it when the file is modified (no SURV_MODIFY), and
 * an evictable mark does not pin the inode in memory. */
static int same_version(int fd, const struct cache_key *k);

/* Returns 1 when the kernel now answers ALLOW for this file version. */
static int kernel_cache_allow(int fd, uint32_t type, const struct cache_key *key)
{
	if (A.kernel_marks >= A.cfg.kernel_cache_max) {
		auth_clear_cache();
		A.kernel_flushes++;
	}
	uint64_t m = fan_mask_of(1ull << type);
	/* FAN_MARK_IGNORE where the kernel has it (6.0): it refuses (EEXIST)
	 * to merge with a mark of other survive-modify semantics instead of
	 * silently changing them. */
	unsigned ign = A.new_ignore ? FAN_MARK_IGNORE : FAN_MARK_IGNORED_MASK;
	int r = fanotify_mark(A.fd, FAN_MARK_ADD | ign | (A.evictable ? FAN_MARK_EVICTABLE : 0), m, fd, NULL);
	if (r && errno == EINVAL && A.new_ignore) {
		A.new_ignore = 0; /* before 6.0 */
		ign = FAN_MARK_IGNORED_MASK;
		r = fanotify_mark(A.fd, FAN_MARK_ADD | ign | (A.evictable ? FAN_MARK_EVICTABLE : 0), m, fd, NULL);
	}
	if (r && errno == EINVAL && A.evictable) {
		A.evictable = 0; /* before 5.19: plain marks, still bounded by kernel_cache_max */
		r = fanotify_mark(A.fd, FAN_MARK_ADD | ign, m, fd, NULL);
	}
	if (r)
		return 0;
	A.kernel_marks++;
	/* Written while the clients decided?  A write before the mark existed
	 * cleared nothing, so the mark must not stand for content nobody was
	 * asked about.  A write after this check clears the mark itself. */
	if (!same_version(fd, key)) {
		fanotify_mark(A.fd, FAN_MARK_REMOVE | ign, m, fd, NULL);
		A.cache_races++;
		return 0;
	}
	A.kernel_cached++;
	return 1;
}

static int same_version(int fd, const struct cache_key *k)
{
	struct stat st;
	return fstat(fd, &st) == 0 && (uint64_t)st.st_size == k->size &&
	       (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec == k->mtime &&
	       (uint64_t)st.st_ctim.tv_sec * 1000000000ull + (uint64_t)st.st_ctim.tv_nsec == k->ctime;
}

void auth_clear_cache(void)
{
	A.gen++;
	if (A.bcache)
		memset(A.bcache, 0, BCACHE_SIZE * sizeof(*A.bcache));
	if (A.fd < 0)
		return;
	/* Flushing inode marks takes the directory marks with it, and the
	 * self-protection marks: put them back. */
	fanotify_mark(A.fd, FAN_MARK_FLUSH, 0, AT_FDCWD, NULL);
	protect_start(A.fd);
	A.kernel_marks = 0;
	A.cache_clears++;
	for (int i = 0; i < A.ntargets; i++)
		if (A.targets[i].flags == 0) {
			A.targets[i].marked = 0;
			mark_target(&A.targets[i], fan_mask_of(A.mask));
		}
}

/* ---- requests ---- */

static void respond(int fd, uint32_t verdict)
{
	struct fanotify_response r = {.fd = fd, .response = verdict == WARD_VERDICT_DENY ? FAN_DENY : FAN_ALLOW};
	if (write(A.fd, &r, sizeof(r)) != sizeof(r))
		log_warn("fanotify response");
	if (verdict == WARD_VERDICT_DENY)
		A.denied++;
	else
		A.allowed++;
}

static void count_latency(uint64_t ns)
{
	uint64_t us = ns / 1000;
	int b = 0;
	while (us > 1 && b < LAT_BUCKETS - 1) {
		us >>= 1;
		b++;
	}
	A.lat[b]++;
}

/* The request's fields every recipient gets: acting process, file. */
static size_t build_base(uint8_t *buf, size_t cap, uint32_t type, uint32_t pid, int fd,
			 const struct stat *st, const uint8_t *digest)
{
	struct ward_rec_builder b;
	ward_rb_init(&b, buf, cap, (uint16_t)type);
	pipeline_add_process_of(&b, pid, pid);
	char link[64], path[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n > 0)
		ward_rb_str(&b, WARD_F_PATH, path, (size_t)n);
	if (st) {
		ward_rb_u64(&b, WARD_F_DEV, st->st_dev);
		ward_rb_u64(&b, WARD_F_INO, st->st_ino);
	}
	if (digest) {
		char hex[HASHCACHE_HEX_LEN];
		hashcache_hex(digest, hex);
		ward_rb_str(&b, WARD_F_SHA256, hex, HASHCACHE_HEX_LEN - 1);
	}
	return ward_rb_finish(&b);
}

/* Deliver the decided request to NOTIFY subscribers of its type. */
static void notify_result(uint32_t type, const uint8_t *base, size_t base_len, uint32_t verdict,
			  const char *decided_by, const char *reason, uint64_t latency)
{
	if (!((broker_mask() >> type) & 1) || !base_len)
		return;
	memcpy(recbuf, base, base_len);
	struct ward_rec_builder b;
	ward_rb_resume(&b, recbuf, sizeof(recbuf), base_len);
	ward_rb_u64(&b, WARD_F_VERDICT, verdict);
	ward_rb_str(&b, WARD_F_DECIDED_BY, decided_by, strlen(decided_by));
	ward_rb_str(&b, WARD_F_REASON, reason, strlen(reason));
	ward_rb_u64(&b, WARD_F_LATENCY_NS, latency);
	size_t n = ward_rb_finish(&b);
	if (!n)
		return;
	pipeline_stamp(recbuf, real_ns());
	broker_deliver(type, recbuf, n);
}

/* Answer a request that never became a struct req. */
static void answer_now(int fd, uint32_t type, uint32_t pid, const struct stat *st, uint32_t verdict,
		       const char *reason, uint64_t t0)
{
	respond(fd, verdict);
	if ((broker_mask() >> type) & 1) {
		static _Alignas(8) uint8_t base[WARD_REC_MAX];
		size_t n = build_base(base, sizeof(base), type, pid, fd, st, NULL);
		notify_result(type, base, n, verdict, "wardd", reason, mono_ns() - t0);
	}
	close(fd);
}

static void active_unlink(struct req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		A.active = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		A.active_tail = r->prev;
	r->prev = r->next = NULL;
}

static void set_base(struct req *r, const uint8_t *digest);

/* ---- shadow instances ---- */

static void shadow_free(struct shadow_wait *w)
{
	memset(w, 0, sizeof(*w));
	A.nshadow--;
	while (A.shadow_end && !A.shadow[A.shadow_end - 1].auth_id)
		A.shadow_end--;
}

static void shadow_done(struct shadow_wait *w, int missed)
{
	content_shadow_verdict(w->manifest, missed, w->active < 0 ? WARD_VERDICT_ALLOW : (uint32_t)w->active,
			       w->shadow < 0 ? WARD_VERDICT_ALLOW : (uint32_t)w->shadow);
	shadow_free(w);
}

static void shadow_add(const struct req *r, const struct auth_voter *v)
{
	for (size_t i = 0; i < SHADOW_PENDING; i++) {
		struct shadow_wait *w = &A.shadow[i];
		if (w->auth_id)
			continue;
		*w = (struct shadow_wait){.auth_id = r->id, .client_id = v->client_id, .deadline = r->t0 + v->deadline_ns,
					  .active = -1, .shadow = -1};
		snprintf(w->manifest, sizeof(w->manifest), "%s", v->manifest);
		A.nshadow++;
		if (i >= A.shadow_end)
			A.shadow_end = i + 1;
		A.shadow_asked++;
		return;
	}
	A.shadow_unsent++; /* more awaited than the table holds: not compared */
}

/* Request @r is decided (@verdict): each shadow's comparison gets the
 * verdict of its own active instance, or the decision. */
static void shadow_decided(const struct req *r, uint32_t verdict)
{
	for (size_t i = 0; i < A.shadow_end; i++) {
		struct shadow_wait *w = &A.shadow[i];
		if (w->auth_id != r->id)
			continue;
		w->active = (int)verdict;
		for (int k = 0; k < r->nshadows; k++) {
			int a = r->shadow_active[k];
			if (r->shadows[k].client_id == w->client_id && a >= 0 && r->v[a].how != H_WAIT)
				w->active = r->v[a].verdict;
		}
		if (w->shadow >= 0)
			shadow_done(w, 0);
	}
}

/* A vote from a shadow instance: 1 if it was one. */
static int shadow_vote(uint32_t client_id, uint64_t auth_id, uint32_t verdict)
{
	for (size_t i = 0; i < A.shadow_end; i++) {
		struct shadow_wait *w = &A.shadow[i];
		if (w->auth_id != auth_id || w->client_id != client_id)
			continue;
		w->shadow = (int)verdict;
		if (w->active >= 0)
			shadow_done(w, 0);
		return 1;
	}
	return 0;
}

static void shadow_tick(uint64_t now)
{
	for (size_t i = 0; i < A.shadow_end; i++) {
		struct shadow_wait *w = &A.shadow[i];
		if (w->auth_id && w->shadow < 0 && now >= w->deadline)
			shadow_done(w, 1);
		else if (w->auth_id && w->active < 0 && now >= w->deadline + 60000000000ull)
			shadow_done(w, 0); /* the request outlived a minute: compare with nothing */
	}
}

/* Ask the shadows too (after the voters: never before the ones that count). */
static int ask(const struct req *r, uint32_t client_id, uint64_t deadline, int want_file);

static void shadow_deliver(struct req *r)
{
	for (int i = 0; i < r->nshadows; i++) {
		const struct auth_voter *v = &r->shadows[i];
		if (v->pid == r->pid || !r->base || broker_muted(v->client_id, r->type, r->base))
			continue;
		if (ask(r, v->client_id, r->t0 + v->deadline_ns, v->want_file) == 0)
			shadow_add(r, v);
		else
			A.shadow_unsent++;
	}
}

/* Decide, answer the kernel, cache, notify, free. */
static void finish(struct req *r)
{
	int deny = -1, unanswered = -1, all_cache = 1;
	for (int i = 0; i < r->nvoters; i++) {
		struct voter *v = &r->v[i];
		if (v->verdict == WARD_VERDICT_DENY && deny < 0)
			deny = i;
		if (v->how != H_ANSWER && v->how != H_WAIT && v->how != H_SKIP && v->how != H_SELF &&
		    unanswered < 0)
			unanswered = i;
		if (v->how != H_ANSWER || !v->cache)
			all_cache = 0;
	}
	uint32_t verdict = deny >= 0 ? WARD_VERDICT_DENY : WARD_VERDICT_ALLOW;
	int who = deny >= 0 ? deny : unanswered >= 0 ? unanswered : r->last;
	uint64_t latency = mono_ns() - r->t0;
	/* A verdict asked for before a clear answers under the old policy:
	 * it is applied, never cached. */
	if (r->gen != A.gen)
		all_cache = 0;
	if (verdict == WARD_VERDICT_ALLOW && all_cache && r->nvoters && r->have_key) {
		if (kernel_cache_allow(r->fd, r->type, &r->key))
			bcache_put(&r->key, verdict, 0);
	} else if (verdict == WARD_VERDICT_DENY && r->gen == A.gen && r->v[deny].how == H_ANSWER && r->v[deny].cache &&
		   r->have_key && A.cfg.deny_cache_ms) {
		bcache_put(&r->key, verdict, (uint64_t)A.cfg.deny_cache_ms * 1000000ull);
	}
	respond(r->fd, verdict);
	count_latency(latency);
	if (A.nshadow)
		shadow_decided(r, verdict);
	if (!r->base_len && ((broker_mask() >> r->type) & 1))
		set_base(r, NULL); /* decided while the file was being hashed */
	const char *name = who >= 0 ? broker_client_name(r->v[who].client_id) : "wardd";
	const char *reason = who >= 0 ? how_name[r->v[who].how] : "no_client";
	notify_result(r->type, r->base, r->base_len, verdict, name, reason, latency);
	close(r->fd);
	free(r->base);
	active_unlink(r);
	uint32_t slot = (uint32_t)(r - A.reqs);
	memset(r, 0, sizeof(*r));
	A.free_slots[A.nfree++] = slot;
}

/* A voter's vote is in (or was taken for it); finish when that decides. */
static void settle(struct req *r, struct voter *v, int how, uint32_t verdict)
{
	v->how = (uint8_t)how;
	v->verdict = (uint8_t)verdict;
	r->nwait--;
	r->last = (int)(v - r->v);
	if (verdict == WARD_VERDICT_DENY || r->nwait == 0)
		finish(r);
}

static void set_base(struct req *r, const uint8_t *digest);
static void deliver(struct req *r);
static struct req *req_by_id(uint64_t id);

static void on_request(const struct fanotify_event_metadata *m, uint64_t now)
{
	int fd = m->fd;
	uint32_t pid = (uint32_t)m->pid;
	uint32_t type = (m->mask & FAN_OPEN_EXEC_PERM) ? WARD_EV_AUTH_EXEC : WARD_EV_AUTH_OPEN;
	A.requests[type]++;
	/* wardd's own threads: never wait on ourselves */
	if ((pid_t)pid == A.self) {
		A.self_allowed++;
		respond(fd, WARD_VERDICT_ALLOW);
		close(fd);
		return;
	}
	struct stat st;
	int have_st = fstat(fd, &st) == 0;
	/* ward's own files: nobody else writes them; reads go on as any,
	 * but are never cached (an ignore mark would hide the next write) */
	int protected_file = have_st && protect_covers(fd, &st);
	if (protected_file && protect_write_intent((pid_t)pid) != 0) {
		protect_denied((pid_t)pid, fd);
		answer_now(fd, type, pid, &st, WARD_VERDICT_DENY, "protected", now);
		return;
	}
	struct auth_voter voters[MAX_VOTERS], shadows[MAX_SHADOWS];
	int na = broker_auth_voters(type, voters, MAX_VOTERS), nv = 0, nsh = 0;
	for (int i = 0; i < na; i++) {
		if (!voters[i].shadow)
			voters[nv++] = voters[i];
		else if (nsh < MAX_SHADOWS)
			shadows[nsh++] = voters[i];
	}
	if (nv == 0) { /* the last subscriber just left (shadows do not count) */
		A.no_client++;
		answer_now(fd, type, pid, have_st ? &st : NULL, WARD_VERDICT_ALLOW, "no_client", now);
		return;
	}
	struct cache_key key = {0};
	if (have_st && !protected_file) {
		key = (struct cache_key){.dev = st.st_dev, .ino = st.st_ino, .size = (uint64_t)st.st_size,
					 .mtime = (uint64_t)st.st_mtim.tv_sec * 1000000000ull + (uint64_t)st.st_mtim.tv_nsec,
					 .ctime = (uint64_t)st.st_ctim.tv_sec * 1000000000ull + (uint64_t)st.st_ctim.tv_nsec,
					 .type = type};
		uint32_t verdict;
		if (bcache_get(&key, &verdict)) {
			A.bcache_hits++;
			if (verdict == WARD_VERDICT_ALLOW)
				kernel_cache_allow(fd, type, &key); /* the mark was flushed or evicted */
			answer_now(fd, type, pid, &st, verdict, "cache", now);
			return;
		}
	}
	if (A.nfree == 0) {
		/* Never make the kernel wait for room: the configured default. */
		A.queue_overflows++;
		answer_now(fd, type, pid, have_st ? &st : NULL, A.cfg.overflow_verdict, "overflow", now);
		return;
	}
	uint32_t slot = A.free_slots[--A.nfree];
	struct req *r = &A.reqs[slot];
	r->id = (++A.serial << ID_SLOT_BITS) | slot;
	r->fd = fd;
	r->pid = pid;
	r->type = type;
	r->t0 = now;
	r->key = key;
	r->have_key = have_st && !protected_file;
	r->gen = A.gen;
	r->last = -1;
	r->prev = A.active_tail;
	if (A.active_tail)
		A.active_tail->next = r;
	else
		A.active = r;
	A.active_tail = r;
	r->nvoters = r->nwait = nv;
	r->nshadows = nsh;
	memcpy(r->shadows, shadows, (size_t)nsh * sizeof(shadows[0]));
	for (int k = 0; k < nsh; k++) {
		r->shadow_active[k] = -1;
		for (int i = 0; i < nv; i++)
			if (voters[i].manifest[0] && !strcmp(voters[i].manifest, shadows[k].manifest))
				r->shadow_active[k] = (int8_t)i;
	}
	for (int i = 0; i < nv; i++) {
		struct voter *v = &r->v[i];
		v->client_id = voters[i].client_id;
		v->pid = voters[i].pid;
		v->def = (uint8_t)voters[i].default_verdict;
		v->want_file = (uint8_t)voters[i].want_file;
		v->deadline = now + voters[i].deadline_ns;
		v->how = H_WAIT;
	}
	/* An executable is known by its SHA-256: from the cache, or hashed
	 * by the worker (from this descriptor, so nothing is opened) before
	 * the clients are asked.  The deadline runs meanwhile. */
	uint8_t digest[HASHCACHE_DIGEST_LEN];
	int have_digest = 0;
	if (type == WARD_EV_AUTH_EXEC && have_st && S_ISREG(st.st_mode)) {
		have_digest = hashcache_lookup(&st, digest) == 0;
		if (!have_digest && hashcache_submit(fd, r->id) == 0) {
			/* at most half the shortest deadline: a slow disk or a
			 * queue of big files must not eat the clients' time */
			uint64_t shortest = UINT64_MAX;
			for (int i = 0; i < nv; i++)
				if (voters[i].deadline_ns < shortest)
					shortest = voters[i].deadline_ns;
			r->hashing = 1;
			r->hash_until = now + shortest / 2;
			return;
		}
	}
	set_base(r, have_digest ? digest : NULL);
	deliver(r);
}

/* Build the request's common record (the process, the file, the digest). */
static void set_base(struct req *r, const uint8_t *digest)
{
	struct stat st, *stp = NULL;
	if (r->have_key) {
		memset(&st, 0, sizeof(st));
		st.st_dev = r->key.dev;
		st.st_ino = r->key.ino;
		stp = &st;
	}
	if (r->type == WARD_EV_AUTH_EXEC) {
		if (digest)
			A.hashed++;
		else
			A.unhashed++;
	}
	size_t n = build_base(recbuf, sizeof(recbuf), r->type, r->pid, r->fd, stp, digest);
	free(r->base);
	r->base = n ? malloc(n) : NULL;
	r->base_len = 0;
	if (r->base) {
		memcpy(r->base, recbuf, n);
		r->base_len = n;
	}
}

/* Put request @r into client @client_id's ring with its @deadline (and
 * the file's descriptor first if it wants one).  0, or -1 when it did not
 * fit. */
static int ask(const struct req *r, uint32_t client_id, uint64_t deadline, int want_file)
{
	memcpy(recbuf, r->base, r->base_len);
	struct ward_rec_builder b;
	ward_rb_resume(&b, recbuf, sizeof(recbuf), r->base_len);
	ward_rb_u64(&b, WARD_F_AUTH_ID, r->id);
	ward_rb_u64(&b, WARD_F_DEADLINE, deadline);
	size_t len = ward_rb_finish(&b);
	pipeline_stamp(recbuf, real_ns());
	/* the descriptor first, so it is there when the client reads the
	 * request; without it (socket full) the request still goes */
	if (want_file && broker_send_file(client_id, r->id, r->fd))
		A.files_unsent++;
	return len && broker_send_to(client_id, recbuf, len) == 0 ? 0 : -1;
}

/* Ask each voter; a voter asked about itself, or whose ring is full, is
 * settled here (after all deliveries: settling can finish r). */
static void deliver(struct req *r)
{
	int nv = r->nvoters;
	for (int i = 0; i < nv; i++) {
		struct voter *v = &r->v[i];
		if (v->how != H_WAIT)
			continue; /* settled while the file was hashed */
		/* a client is never asked about its own accesses, nor about
		 * what it muted; without a record (out of memory) it cannot be
		 * asked: its default applies, as if it had not answered */
		if (v->pid == r->pid) {
			v->how = H_SELF;
			continue;
		}
		if (!r->base) {
			v->how = H_ERROR;
			continue;
		}
		if (broker_muted(v->client_id, r->type, r->base)) {
			v->how = H_SKIP;
			continue;
		}
		if (ask(r, v->client_id, v->deadline, v->want_file))
			v->how = H_RINGFULL;
	}
	shadow_deliver(r);
	uint64_t id = r->id;
	uint32_t slot = (uint32_t)(r - A.reqs);
	uint32_t doomed[MAX_VOTERS];
	int ndoomed = 0;
	for (int i = 0; i < nv && A.reqs[slot].id == id; i++) {
		struct voter *v = &r->v[i];
		if (v->how == H_SKIP || v->how == H_SELF) {
			int how = v->how;
			v->how = H_WAIT;
			settle(r, v, how, WARD_VERDICT_ALLOW);
		} else if (v->how == H_ERROR) {
			v->how = H_WAIT;
			settle(r, v, H_ERROR, v->def);
		} else if (v->how == H_RINGFULL) {
			A.ring_full++;
			if (broker_strike(v->client_id))
				doomed[ndoomed++] = v->client_id;
			v->how = H_WAIT;
			settle(r, v, H_RINGFULL, v->def);
		}
	}
	for (int i = 0; i < ndoomed; i++)
		broker_disconnect(doomed[i], "missed too many AUTH deadlines");
}

void auth_on_hash(uint64_t cookie, int err, const uint8_t *digest)
{
	struct req *r = req_by_id(cookie);
	if (!r || !r->hashing)
		return; /* decided meanwhile, or asked without the digest */
	r->hashing = 0;
	set_base(r, err ? NULL : digest);
	deliver(r);
}

void auth_on_event(void)
{
	static _Alignas(struct fanotify_event_metadata) char buf[16384];
	for (int k = 0; k < READS_PER_TURN; k++) {
		ssize_t n = read(A.fd, buf, sizeof(buf));
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				log_warn("fanotify read");
			return;
		}
		uint64_t now = mono_ns();
		const struct fanotify_event_metadata *m = (const void *)buf;
		for (; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			if (m->vers != FANOTIFY_METADATA_VERSION) {
				log_warnx("fanotify metadata version %u, expected %u", m->vers,
					  FANOTIFY_METADATA_VERSION);
				if (m->fd >= 0)
					close(m->fd);
				continue;
			}
			if (m->mask & FAN_Q_OVERFLOW) {
				A.overflow++;
				continue;
			}
			if (m->fd < 0)
				continue;
			if (m->mask & (FAN_OPEN_PERM | FAN_OPEN_EXEC_PERM)) {
				on_request(m, now);
			} else {
				close(m->fd);
			}
		}
	}
}

void auth_tick(void)
{
	if (A.nshadow)
		shadow_tick(mono_ns());
	if (!A.active)
		return;
	uint64_t now = mono_ns();
	uint32_t doomed[MAX_VOTERS];
	int ndoomed = 0;
	struct req *next;
	for (struct req *r = A.active; r; r = next) {
		next = r->next;
		uint64_t id = r->id;
		if (r->hashing && now >= r->hash_until) {
			/* ask without the digest; the worker's answer is dropped */
			A.hash_late++;
			r->hashing = 0;
			set_base(r, NULL);
			deliver(r);
			/* deliver() may disconnect clients, which settles other
			 * requests: the rest of the list waits for the next turn */
			break;
		}
		for (int i = 0; i < r->nvoters && r->id == id; i++) {
			struct voter *v = &r->v[i];
			if (v->how != H_WAIT || now < v->deadline)
				continue;
			A.timeouts++;
			/* a client never asked (still hashing) is not to blame */
			if (!r->hashing && broker_strike(v->client_id) && ndoomed < MAX_VOTERS)
				doomed[ndoomed++] = v->client_id;
			settle(r, v, H_TIMEOUT, v->def);
		}
	}
	for (int i = 0; i < ndoomed; i++)
		broker_disconnect(doomed[i], "missed too many AUTH deadlines");
}

static struct req *req_by_id(uint64_t id)
{
	uint32_t slot = (uint32_t)(id & ((1u << ID_SLOT_BITS) - 1));
	if (!A.reqs || slot >= A.cfg.max_pending || A.reqs[slot].id != id || id == 0)
		return NULL;
	return &A.reqs[slot];
}

void auth_vote(uint32_t client_id, uint64_t auth_id, uint32_t verdict, uint32_t flags)
{
	if (A.nshadow && shadow_vote(client_id, auth_id, verdict))
		return;
	struct req *r = req_by_id(auth_id);
	if (r)
		for (int i = 0; i < r->nvoters; i++) {
			struct voter *v = &r->v[i];
			if (v->client_id != client_id || v->how != H_WAIT)
				continue;
			v->cache = (flags & WARD_RESPOND_CACHE) != 0;
			settle(r, v, H_ANSWER, verdict);
			return;
		}
	A.late_votes++; /* decided already (deadline, another client's DENY) */
}

void auth_client_gone(uint32_t client_id, uint64_t mask)
{
	for (size_t i = 0; i < A.shadow_end; i++)
		if (A.shadow[i].auth_id && A.shadow[i].client_id == client_id)
			shadow_free(&A.shadow[i]); /* its exit is the supervisor's news */
	struct req *next;
	for (struct req *r = A.active; r; r = next) {
		next = r->next;
		if (!((mask >> r->type) & 1))
			continue;
		for (int i = 0; i < r->nvoters; i++) {
			struct voter *v = &r->v[i];
			if (v->client_id == client_id && v->how == H_WAIT) {
				settle(r, v, H_GONE, v->def);
				break; /* r may be finished */
			}
		}
	}
}

/* Latency percentile from the log2 histogram: the bucket's upper bound, µs. */
static uint64_t lat_percentile(double q)
{
	uint64_t total = 0, seen = 0;
	for (int b = 0; b < LAT_BUCKETS; b++)
		total += A.lat[b];
	if (!total)
		return 0;
	for (int b = 0; b < LAT_BUCKETS; b++) {
		seen += A.lat[b];
		if ((double)seen >= q * (double)total)
			return 2ull << b;
	}
	return 0;
}

void auth_status(struct json_object *obj)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "available", json_object_new_boolean(A.fd >= 0));
	struct json_object *marks = json_object_new_array();
	for (int i = 0; i < A.ntargets; i++) {
		struct target *t = &A.targets[i];
		struct json_object *m = json_object_new_object();
		json_object_object_add(m, "path", json_object_new_string(t->path));
		json_object_object_add(m, "kind", json_object_new_string(
			t->flags == FAN_MARK_FILESYSTEM ? "filesystem" : t->flags == FAN_MARK_MOUNT ? "mount" : "directory"));
		struct json_object *types = json_object_new_array();
		if (t->marked & FAN_OPEN_EXEC_PERM)
			json_object_array_add(types, json_object_new_string("auth_exec"));
		if (t->marked & FAN_OPEN_PERM)
			json_object_array_add(types, json_object_new_string("auth_open"));
		json_object_object_add(m, "marked", types);
		if (t->err)
			json_object_object_add(m, "error", json_object_new_string(strerror(t->err)));
		json_object_array_add(marks, m);
	}
	json_object_object_add(o, "marks", marks);
	json_object_object_add(o, "requests_exec", json_object_new_uint64(A.requests[WARD_EV_AUTH_EXEC]));
	json_object_object_add(o, "requests_open", json_object_new_uint64(A.requests[WARD_EV_AUTH_OPEN]));
	json_object_object_add(o, "allowed", json_object_new_uint64(A.allowed));
	json_object_object_add(o, "denied", json_object_new_uint64(A.denied));
	json_object_object_add(o, "pending", json_object_new_uint64(A.cfg.max_pending - A.nfree));
	json_object_object_add(o, "deadlines_missed", json_object_new_uint64(A.timeouts));
	json_object_object_add(o, "late_verdicts", json_object_new_uint64(A.late_votes));
	json_object_object_add(o, "shadow_requests", json_object_new_uint64(A.shadow_asked));
	json_object_object_add(o, "shadow_unsent", json_object_new_uint64(A.shadow_unsent));
	json_object_object_add(o, "queue_overflows", json_object_new_uint64(A.queue_overflows));
	json_object_object_add(o, "ring_full", json_object_new_uint64(A.ring_full));
	json_object_object_add(o, "own_requests_allowed", json_object_new_uint64(A.self_allowed));
	json_object_object_add(o, "cache_hits", json_object_new_uint64(A.bcache_hits));
	json_object_object_add(o, "kernel_cache_marks", json_object_new_uint64(A.kernel_marks));
	json_object_object_add(o, "kernel_cached", json_object_new_uint64(A.kernel_cached));
	json_object_object_add(o, "cache_clears", json_object_new_uint64(A.cache_clears));
	json_object_object_add(o, "fanotify_overflows", json_object_new_uint64(A.overflow));
	json_object_object_add(o, "exec_hashed", json_object_new_uint64(A.hashed));
	json_object_object_add(o, "files_not_sent", json_object_new_uint64(A.files_unsent));
	json_object_object_add(o, "auth_exec_without_sha256", json_object_new_uint64(A.unhashed));
	json_object_object_add(o, "no_client", json_object_new_uint64(A.no_client));
	json_object_object_add(o, "not_cached_changed", json_object_new_uint64(A.cache_races));
	json_object_object_add(o, "hash_too_slow", json_object_new_uint64(A.hash_late));
	json_object_object_add(o, "kernel_cache_flushes", json_object_new_uint64(A.kernel_flushes));
	json_object_object_add(o, "latency_p50_us", json_object_new_uint64(lat_percentile(0.5)));
	json_object_object_add(o, "latency_p99_us", json_object_new_uint64(lat_percentile(0.99)));
	json_object_object_add(obj, "auth", o);
}

void auth_stop(void)
{
	/* Nobody will answer: let everything pending through (the kernel
	 * would do the same when the group closes). */
	while (A.active) {
		struct req *r = A.active;
		respond(r->fd, WARD_VERDICT_ALLOW);
		close(r->fd);
		free(r->base);
		active_unlink(r);
		r->id = 0;
	}
	if (A.fd >= 0) {
		epoll_ctl(A.epfd, EPOLL_CTL_DEL, A.fd, NULL);
		close(A.fd);
		A.fd = -1;
	}
	for (int i = 0; i < A.ntargets; i++)
		if (A.targets[i].dirfd >= 0) {
			close(A.targets[i].dirfd);
			A.targets[i].dirfd = -1;
		}
	free(A.reqs);
	free(A.free_slots);
	free(A.bcache);

	A.reqs = NULL;
	A.free_slots = NULL;
	A.bcache = NULL;
}
