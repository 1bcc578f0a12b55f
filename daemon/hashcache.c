/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hashcache.c — see hashcache.h.  A fixed array of entries chained into
 * buckets by (dev, ino), a CLOCK hand over the array, and one worker thread
 * fed by a bounded job ring; one mutex guards all of it, and is never held
 * across I/O.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sodium.h>

#include "hashcache.h"
#include "log.h"

#define NONE UINT32_MAX
#define CHUNK (64u << 10)          /* per pread; on the stack of whichever thread hashes */
#define STOP_WAIT_S 2              /* hashcache_free's wait for a worker stuck in a read */
#define RACY_MAX_NS (3600ull * 1000000000ull) /* keeps the ns arithmetic in range */

/* What must not change for a digest to stay valid. */
struct key {
	uint64_t dev, ino;
	int64_t size;
	int64_t mtime_sec, ctime_sec; /* seconds and ns apart: a user-set mtime far in
				       * the future would overflow a count of ns */
	uint32_t mtime_nsec, ctime_nsec;
};

struct entry {
	struct key k;
	uint32_t next;      /* bucket chain, NONE at the end */
	uint8_t ref;        /* CLOCK's second-chance bit, set by hits */
	uint8_t digest[HASHCACHE_DIGEST_LEN];
};

struct job {
	int fd;             /* our dup, closed by whoever drops the job; -1: open path */
	uint64_t cookie;
	char *path;         /* hashcache_submit_path: opened by the worker */
	dev_t dev;          /* ... and it must be this file */
	ino_t ino;
};

struct result {
	uint64_t cookie;
	int err;
	uint8_t digest[HASHCACHE_DIGEST_LEN];
};

struct stats {
	uint64_t hits, misses, files_hashed, bytes_hashed, reads, too_big, changed, errors,
		racy, evictions, refused;
};

struct hc {
	pthread_mutex_t lock;
	pthread_cond_t wake;        /* the worker: a job was queued, or stop */

	struct entry *entries;
	uint32_t capacity, used, hand;
	uint32_t *buckets;
	uint32_t bucket_mask;
	uint64_t max_bytes;
	uint64_t racy_ns, min_racy_ns;

	/* Submitted jobs live in exactly one of: jobs (queued), busy (the one
	 * being hashed), results (done, not taken).  Their sum is bounded by
	 * HASHCACHE_QUEUE_MAX, so results can never overflow and a main loop
	 * that stops taking gets -EBUSY instead of growing memory. */
	struct job jobs[HASHCACHE_QUEUE_MAX];
	unsigned job_head, job_count, busy;
	struct result results[HASHCACHE_QUEUE_MAX];
	unsigned res_head, res_count;
	int efd;

	pthread_t worker;
	atomic_int stop;            /* read without the lock between chunks */
	int worker_done;            /* the worker has left its loop */
	int orphaned;               /* free gave up waiting: the worker frees all */
	struct stats st;
};

static struct hc *H;

static void make_key(struct key *k, const struct stat *st)
{
	memset(k, 0, sizeof(*k));
	k->dev = (uint64_t)st->st_dev;
	k->ino = (uint64_t)st->st_ino;
	k->size = (int64_t)st->st_size;
	k->mtime_sec = (int64_t)st->st_mtim.tv_sec;
	k->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	k->ctime_sec = (int64_t)st->st_ctim.tv_sec;
	k->ctime_nsec = (uint32_t)st->st_ctim.tv_nsec;
}

static int same_key(const struct key *a, const struct key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec &&
	       a->ctime_sec == b->ctime_sec && a->ctime_nsec == b->ctime_nsec;
}

/* Buckets go by inode alone, so a new version of a file replaces the old
 * entry instead of taking a second one. */
static uint32_t bucket_of(const struct hc *s, uint64_t dev, uint64_t ino)
{
	uint64_t h = ino * 0x9e3779b97f4a7c15ull ^ dev * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 31;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 29;
	return (uint32_t)h & s->bucket_mask;
}

/* Entry index for the inode of @k, or NONE.  Under the lock. */
static uint32_t find_inode(const struct hc *s, const struct key *k)
{
	for (uint32_t i = s->buckets[bucket_of(s, k->dev, k->ino)]; i != NONE; i = s->entries[i].next)
		if (s->entries[i].k.dev == k->dev && s->entries[i].k.ino == k->ino)
			return i;
	return NONE;
}

static void unlink_entry(struct hc *s, uint32_t idx)
{
	const struct key *k = &s->entries[idx].k;
	uint32_t *pp = &s->buckets[bucket_of(s, k->dev, k->ino)];
	while (*pp != idx)
		pp = &s->entries[*pp].next;
	*pp = s->entries[idx].next;
}

/* CLOCK: the first entry without a hit since the hand last passed.  Ends
 * within two turns, as the first turn clears every bit it passes. */
static uint32_t clock_victim(struct hc *s)
{
	for (;;) {
		uint32_t i = s->hand;
		s->hand = (s->hand + 1) % s->capacity;
		if (!s->entries[i].ref)
			return i;
		s->entries[i].ref = 0;
	}
}

/* Under the lock. */
static int cache_get(struct hc *s, const struct key *k, uint8_t out[HASHCACHE_DIGEST_LEN])
{
	uint32_t i = find_inode(s, k);
	if (i == NONE || !same_key(&s->entries[i].k, k))
		return -ENOENT;
	s->entries[i].ref = 1;
	memcpy(out, s->entries[i].digest, HASHCACHE_DIGEST_LEN);
	return 0;
}

/* Under the lock. */
static void cache_put(struct hc *s, const struct key *k, const uint8_t d[HASHCACHE_DIGEST_LEN])
{
	uint32_t i = find_inode(s, k);
	if (i != NONE) {
		/* a newer version of a file we had (or a duplicate job) */
		s->entries[i].k = *k;
		s->entries[i].ref = 1;
		memcpy(s->entries[i].digest, d, HASHCACHE_DIGEST_LEN);
		return;
	}
	if (s->used < s->capacity) {
		i = s->used++;
	} else {
		i = clock_victim(s);
		unlink_entry(s, i);
		s->st.evictions++;
	}
	struct entry *e = &s->entries[i];
	e->k = *k;
	/* New entries start without the bit: a file executed once goes before
	 * one that was looked up again. */
	e->ref = 0;
	memcpy(e->digest, d, HASHCACHE_DIGEST_LEN);
	uint32_t b = bucket_of(s, k->dev, k->ino);
	e->next = s->buckets[b];
	s->buckets[b] = i;
}

/* Whether a write could still come with the ctime @k has: the kernel stamps
 * ctime from a clock that ticks coarsely (and some filesystems round it to
 * seconds), so a write in the same tick as the one we saw leaves the key as
 * it is — git's "racily clean" problem.  Writes after @start get a later
 * ctime once ctime is more than a tick before @start. */
static int is_racy(const struct key *k, const struct timespec *start, uint64_t window)
{
	int64_t ds = (int64_t)start->tv_sec - k->ctime_sec;
	if (ds > (int64_t)(window / 1000000000ull) + 1)
		return 0;
	if (ds < -1)
		return 1; /* ctime in the future: clock stepped back, or another host's */
	int64_t d = ds * 1000000000ll + (int64_t)start->tv_nsec - (int64_t)k->ctime_nsec;
	return d <= (int64_t)window;
}

/* Read and hash the file @k describes (fstat of @fd before the call).
 * Returns 0, -EAGAIN, -ECANCELED (stop asked) or -errno; counts reads. */
static int read_and_hash(struct hc *s, int fd, const struct key *k, uint8_t out[HASHCACHE_DIGEST_LEN])
{
	crypto_hash_sha256_state h;
	uint8_t buf[CHUNK];
	uint64_t size = (uint64_t)k->size, off = 0, reads = 0;
	int err = 0;

	crypto_hash_sha256_init(&h);
	while (off < size) {
		if (atomic_load_explicit(&s->stop, memory_order_relaxed)) {
			err = -ECANCELED;
			break;
		}
		size_t want = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
		ssize_t n = pread(fd, buf, want, (off_t)off);
		reads++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (n == 0) {
			err = -EAGAIN; /* truncated under us */
			break;
		}
		crypto_hash_sha256_update(&h, buf, (unsigned long long)n);
		off += (uint64_t)n;
	}
	if (!err) {
		/* Appended to under us: there is a byte past the size we hashed. */
		ssize_t n;
		do {
			n = pread(fd, buf, 1, (off_t)size);
			reads++;
		} while (n < 0 && errno == EINTR);
		if (n < 0)
			err = -errno;
		else if (n > 0)
			err = -EAGAIN;
	}
	if (!err) {
		/* Written in place under us (same size): mtime or ctime moved. */
		struct stat after;
		struct key k2;
		if (fstat(fd, &after)) {
			err = -errno;
		} else {
			make_key(&k2, &after);
			if (!same_key(k, &k2))
				err = -EAGAIN;
		}
	}
	if (!err)
		crypto_hash_sha256_final(&h, out);
	sodium_memzero(&h, sizeof(h));

	pthread_mutex_lock(&s->lock);
	s->st.reads += reads;
	s->st.bytes_hashed += off;
	if (!err)
		s->st.files_hashed++;
	else if (err == -EAGAIN)
		s->st.changed++;
	else if (err != -ECANCELED)
		s->st.errors++;
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* hashcache_hash_fd for either thread.  @count_miss: the worker does not
 * count its misses, since the main thread's lookup already did. */
static int hash_fd(struct hc *s, int fd, uint8_t out[HASHCACHE_DIGEST_LEN], int count_miss)
{
	struct stat st;
	struct key k;
	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	make_key(&k, &st);

	pthread_mutex_lock(&s->lock);
	int err = cache_get(s, &k, out);
	if (!err)
		s->st.hits++;
	else if (count_miss)
		s->st.misses++;
	if (err && (uint64_t)k.size > s->max_bytes) {
		s->st.too_big++;
		err = -EFBIG;
	}
	pthread_mutex_unlock(&s->lock);
	if (err != -ENOENT)
		return err;

	/* Sampled before the first read: see is_racy. */
	struct timespec start;
	clock_gettime(CLOCK_REALTIME, &start);
	err = read_and_hash(s, fd, &k, out);
	if (err)
		return err;

	pthread_mutex_lock(&s->lock);
	uint64_t window = s->racy_ns > s->min_racy_ns ? s->racy_ns : s->min_racy_ns;
	if (is_racy(&k, &start, window))
		s->st.racy++;
	else
		cache_put(s, &k, out);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void drop_job(struct job *j)
{
	if (j->fd >= 0)
		close(j->fd);
	free(j->path);
	j->fd = -1;
	j->path = NULL;
}

static void destroy(struct hc *s)
{
	for (unsigned i = 0; i < s->job_count; i++)
		drop_job(&s->jobs[(s->job_head + i) % HASHCACHE_QUEUE_MAX]);
	if (s->efd >= 0)
		close(s->efd);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s->entries);
	free(s->buckets);
	free(s);
}

static void *worker_main(void *arg)
{
	struct hc *s = arg;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->job_count && !atomic_load(&s->stop))
			pthread_cond_wait(&s->wake, &s->lock);
		if (atomic_load(&s->stop))
			break;
		struct job j = s->jobs[s->job_head];
		s->job_head = (s->job_head + 1) % HASHCACHE_QUEUE_MAX;
		s->job_count--;
		s->busy = 1;
		pthread_mutex_unlock(&s->lock);

		struct result r = {.cookie = j.cookie};
		if (j.fd < 0 && j.path) {
			/* opened here, never on wardd's main thread: an open can
			 * wait (a permission event, a hung network filesystem) */
			j.fd = open(j.path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
			struct stat st;
			if (j.fd < 0)
				r.err = -errno;
			else if (fstat(j.fd, &st) || st.st_dev != j.dev || st.st_ino != j.ino)
				r.err = -ESTALE; /* not the file that ran */
		}
		if (j.fd >= 0 && !r.err)
			r.err = hash_fd(s, j.fd, r.digest, 0);
		if (j.fd >= 0)
			close(j.fd);
		free(j.path);

		pthread_mutex_lock(&s->lock);
		s->busy = 0;
		if (atomic_load(&s->stop))
			break;
		s->results[(s->res_head + s->res_count) % HASHCACHE_QUEUE_MAX] = r;
		s->res_count++;
		/* Under the lock, so hashcache_take cannot drain this count
		 * before it sees the result. */
		uint64_t one = 1;
		if (write(s->efd, &one, sizeof(one)) < 0)
			log_warn("hash cache eventfd");
	}
	s->worker_done = 1;
	int orphaned = s->orphaned;
	pthread_mutex_unlock(&s->lock);
	if (orphaned)
		destroy(s);
	return NULL;
}

int hashcache_init(size_t capacity, uint64_t max_bytes)
{
	if (H)
		return -EALREADY;
	if (!capacity)
		capacity = HASHCACHE_DEFAULT_CAPACITY;
	if (capacity > HASHCACHE_MAX_CAPACITY)
		return -EINVAL;
	if (!max_bytes)
		max_bytes = HASHCACHE_DEFAULT_MAX_BYTES;
	if (sodium_init() < 0)
		return -EIO;

	struct hc *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->efd = -1;
	uint32_t nb = 1;
	while (nb < capacity)
		nb <<= 1;
	s->entries = calloc(capacity, sizeof(*s->entries));
	s->buckets = malloc(nb * sizeof(*s->buckets));
	if (!s->entries || !s->buckets) {
		free(s->entries);
		free(s->buckets);
		free(s);
		return -ENOMEM;
	}
	memset(s->buckets, 0xff, nb * sizeof(*s->buckets)); /* all NONE */
	s->bucket_mask = nb - 1;
	s->capacity = (uint32_t)capacity;
	s->max_bytes = max_bytes;
	s->racy_ns = HASHCACHE_DEFAULT_RACY_NS;
	struct timespec res;
	s->min_racy_ns = 10000000; /* a jiffy at HZ=100, if the kernel will not say */
	if (clock_getres(CLOCK_REALTIME_COARSE, &res) == 0)
		s->min_racy_ns = (uint64_t)res.tv_sec * 1000000000ull + (uint64_t)res.tv_nsec;
	atomic_init(&s->stop, 0);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);

	int err;
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->efd < 0) {
		err = -errno;
		destroy(s);
		return err;
	}
	/* The worker must not take process signals: wardd blocks SIGTERM and
	 * SIGINT to read them from a signalfd, and a thread that left them
	 * unblocked would get them delivered (and die) instead. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&s->worker, NULL, worker_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		destroy(s);
		return -err;
	}
	H = s;
	return 0;
}

void hashcache_free(void)
{
	struct hc *s = H;
	if (!s)
		return;
	H = NULL;
	pthread_mutex_lock(&s->lock);
	atomic_store(&s->stop, 1);
	for (; s->job_count; s->job_count--) {
		drop_job(&s->jobs[s->job_head]);
		s->job_head = (s->job_head + 1) % HASHCACHE_QUEUE_MAX;
	}
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);

	/* The worker checks stop between reads, so this waits for one pread at
	 * most — unless that pread never returns (a dead FUSE daemon, a hard
	 * NFS mount), which must not keep wardd from exiting. */
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += STOP_WAIT_S;
	if (pthread_timedjoin_np(s->worker, NULL, &dl) != 0) {
		pthread_mutex_lock(&s->lock);
		int gone = s->worker_done;
		if (!gone)
			s->orphaned = 1;
		pthread_mutex_unlock(&s->lock);
		if (!gone) {
			pthread_detach(s->worker);
			log_warnx("hash cache: worker stuck in a read; leaving it to exit on its own");
			return;
		}
		pthread_join(s->worker, NULL);
	}
	destroy(s);
}

void hashcache_set_racy_ns(uint64_t ns)
{
	struct hc *s = H;
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->racy_ns = ns < RACY_MAX_NS ? ns : RACY_MAX_NS;
	pthread_mutex_unlock(&s->lock);
}

int hashcache_lookup(const struct stat *st, uint8_t out[HASHCACHE_DIGEST_LEN])
{
	struct hc *s = H;
	if (!s)
		return -ENOENT;
	struct key k;
	make_key(&k, st);
	pthread_mutex_lock(&s->lock);
	int err = cache_get(s, &k, out);
	if (err)
		s->st.misses++;
	else
		s->st.hits++;
	pthread_mutex_unlock(&s->lock);
	return err;
}

int hashcache_hash_fd(int fd, uint8_t out[HASHCACHE_DIGEST_LEN])
{
	struct hc *s = H;
	if (!s)
		return -EINVAL;
	return hash_fd(s, fd, out, 1);
}

/* Queue @j for the worker; -EBUSY (the caller still owns @j) when
 * HASHCACHE_QUEUE_MAX jobs and results are outstanding. */
static int enqueue(struct hc *s, const struct job *j)
{
	pthread_mutex_lock(&s->lock);
	if (s->job_count + s->busy + s->res_count >= HASHCACHE_QUEUE_MAX) {
		s->st.refused++;
		pthread_mutex_unlock(&s->lock);
		return -EBUSY;
	}
	s->jobs[(s->job_head + s->job_count) % HASHCACHE_QUEUE_MAX] = *j;
	s->job_count++;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int hashcache_submit(int fd, uint64_t cookie)
{
	struct hc *s = H;
	if (!s)
		return -EINVAL;
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (d < 0)
		return -errno;
	struct job j = {.fd = d, .cookie = cookie};
	int r = enqueue(s, &j);
	if (r)
		drop_job(&j);
	return r;
}

int hashcache_submit_path(const char *path, dev_t dev, ino_t ino, uint64_t cookie)
{
	struct hc *s = H;
	if (!s || !path || path[0] != '/')
		return -EINVAL;
	struct job j = {.fd = -1, .cookie = cookie, .path = strdup(path), .dev = dev, .ino = ino};
	if (!j.path)
		return -ENOMEM;
	int r = enqueue(s, &j);
	if (r)
		drop_job(&j);
	return r;
}

int hashcache_done_fd(void)
{
	return H ? H->efd : -1;
}

int hashcache_take(uint64_t *cookie, int *err, uint8_t out[HASHCACHE_DIGEST_LEN])
{
	struct hc *s = H;
	if (!s)
		return 0;
	pthread_mutex_lock(&s->lock);
	if (!s->res_count) {
		/* Empty: re-arm.  The worker posts under this lock, so no
		 * result can slip between the check and the drain. */
		uint64_t v;
		if (read(s->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			log_warn("hash cache eventfd");
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	struct result *r = &s->results[s->res_head];
	*cookie = r->cookie;
	*err = r->err;
	if (!r->err)
		memcpy(out, r->digest, HASHCACHE_DIGEST_LEN);
	s->res_head = (s->res_head + 1) % HASHCACHE_QUEUE_MAX;
	s->res_count--;
	pthread_mutex_unlock(&s->lock);
	return 1;
}

void hashcache_hex(const uint8_t d[HASHCACHE_DIGEST_LEN], char out[HASHCACHE_HEX_LEN])
{
	static const char digits[] = "0123456789abcdef";
	for (int i = 0; i < HASHCACHE_DIGEST_LEN; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * HASHCACHE_DIGEST_LEN] = '\0';
}

void hashcache_status(struct json_object *o)
{
	struct hc *s = H;
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	struct stats st = s->st;
	uint64_t entries = s->used, capacity = s->capacity, max_bytes = s->max_bytes;
	uint64_t depth = s->job_count + s->busy, waiting = s->res_count;
	pthread_mutex_unlock(&s->lock);
	/* json-c allocates: outside the lock */
	static const struct {
		const char *name;
		size_t off;
	} fields[] = {
		{"hits", offsetof(struct stats, hits)},
		{"misses", offsetof(struct stats, misses)},
		{"files_hashed", offsetof(struct stats, files_hashed)},
		{"bytes_hashed", offsetof(struct stats, bytes_hashed)},
		{"reads", offsetof(struct stats, reads)},
		{"too_big", offsetof(struct stats, too_big)},
		{"changed_while_read", offsetof(struct stats, changed)},
		{"errors", offsetof(struct stats, errors)},
		{"not_cached_racy", offsetof(struct stats, racy)},
		{"evictions", offsetof(struct stats, evictions)},
		{"submits_refused", offsetof(struct stats, refused)},
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		uint64_t v;
		memcpy(&v, (const char *)&st + fields[i].off, sizeof(v));
		json_object_object_add(o, fields[i].name, json_object_new_uint64(v));
	}
	json_object_object_add(o, "entries", json_object_new_uint64(entries));
	json_object_object_add(o, "capacity", json_object_new_uint64(capacity));
	json_object_object_add(o, "max_bytes", json_object_new_uint64(max_bytes));
	json_object_object_add(o, "queue_depth", json_object_new_uint64(depth));
	json_object_object_add(o, "results_waiting", json_object_new_uint64(waiting));
}
