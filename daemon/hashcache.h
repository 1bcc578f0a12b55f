/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hashcache.h — SHA-256 digests of executables, cached by the identity and
 * version of the file: (st_dev, st_ino, st_size, st_mtim, st_ctim) from
 * fstat().  A digest is served only for that exact key, so a file written,
 * truncated, renamed over or touched since it was hashed is hashed again
 * (ctime cannot be set from user space, so restoring mtime does not hide a
 * change).  One entry per inode, at most `capacity` of them, evicted by
 * CLOCK (second chance), so memory is bounded (about 90 bytes an entry).
 *
 * Files are read only through a descriptor the caller already has (the one
 * fanotify opened): wardd never opens a path itself, since that open could
 * wait on wardd's own permission event.  Reading uses pread(), so the
 * caller's file offset is left alone.
 *
 * Threads: wardd's main thread calls hashcache_lookup() (cheap: a mutex and
 * a hash probe) and hands misses to hashcache_submit(); one worker thread,
 * started by hashcache_init(), does the reading, and its results come back
 * through an eventfd the main loop polls.  Every function here may be
 * called from any thread, except init and free, which the main thread
 * calls with no other caller active.
 */
#ifndef WARDD_HASHCACHE_H
#define WARDD_HASHCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct json_object;

#define HASHCACHE_DIGEST_LEN 32
#define HASHCACHE_HEX_LEN 65                           /* 64 digits and a NUL */
#define HASHCACHE_DEFAULT_CAPACITY 4096u
#define HASHCACHE_MAX_CAPACITY (1u << 20)
#define HASHCACHE_DEFAULT_MAX_BYTES (64ull << 20)
#define HASHCACHE_DEFAULT_RACY_NS 2000000000ull        /* see hashcache_set_racy_ns */
/* Submitted jobs not yet taken back (queued, being hashed, or finished and
 * waiting for hashcache_take) are at most this many. */
#define HASHCACHE_QUEUE_MAX 256u

/* Allocate the cache and start the worker.  @capacity entries (0: the
 * default; above HASHCACHE_MAX_CAPACITY: -EINVAL); files larger than
 * @max_bytes (0: the default) are never read.  Returns 0, -EALREADY,
 * -EINVAL, -ENOMEM, or -errno from eventfd/pthread_create/libsodium (-EIO). */
int hashcache_init(size_t capacity, uint64_t max_bytes);
/* Stop the worker and free everything.  Queued jobs are dropped (their
 * descriptors closed, no results); the job being hashed is abandoned at its
 * next read.  Waits up to 2 s for the worker: if it is stuck in a read that
 * does not return (a hung FUSE or NFS server), it is left detached to free
 * the state itself when the read returns, and this returns anyway.  Safe to
 * call when not initialised. */
void hashcache_free(void);

/* Racy-entry window: a file whose ctime is less than @ns before the start
 * of its hashing is hashed but not cached, because a write in the same
 * timestamp tick (a jiffy, or a second or two on filesystems with coarse
 * timestamps) would leave the key unchanged.  Never less than the coarse
 * clock's resolution, whatever @ns says.  The default is restored by
 * hashcache_init; tests lower it. */
void hashcache_set_racy_ns(uint64_t ns);

/* The cached digest for the file @st describes (from the caller's fstat).
 * Returns 0 (hit, digest in @out) or -ENOENT (miss, also when not
 * initialised).  Never does I/O. */
int hashcache_lookup(const struct stat *st, uint8_t out[HASHCACHE_DIGEST_LEN]);

/* Synchronous: fstat @fd, serve a hit from the cache, else read and hash
 * the file here and cache the digest.  Blocks for the whole read: the main
 * loop uses hashcache_submit instead.  Returns 0 (digest in @out), -EFBIG
 * (larger than max_bytes: not read), -EAGAIN (the file changed while it was
 * read: size, EOF or fstat differed; nothing cached), -EINVAL (not a
 * regular file, or not initialised), or -errno from fstat/pread. */
int hashcache_hash_fd(int fd, uint8_t out[HASHCACHE_DIGEST_LEN]);

/* Asynchronous: queue @fd for the worker, which hashes it as
 * hashcache_hash_fd does (a hit costs no read) and posts the result under
 * @cookie.  @fd is duplicated (F_DUPFD_CLOEXEC): the caller may close its
 * own at once.  Returns 0, -EBUSY (HASHCACHE_QUEUE_MAX results outstanding:
 * take some first, or report the event without a digest), -EINVAL (not
 * initialised) or -errno from the dup. */
int hashcache_submit(int fd, uint64_t cookie);
/* As hashcache_submit, but the worker opens absolute @path itself
 * (read-only, non-blocking) and hashes it only if it is file @dev/@ino
 * (else the result is -ESTALE).  For wardd's main thread, which must not
 * open files.  Returns 0, -EBUSY, -EINVAL, -ENOMEM. */
int hashcache_submit_path(const char *path, dev_t dev, ino_t ino, uint64_t cookie);
/* An eventfd, readable while results wait to be taken: register it with
 * epoll (EPOLLIN, level-triggered) and, when it fires, call hashcache_take
 * until it returns 0; that last call re-arms it.  -1 when not initialised. */
int hashcache_done_fd(void);
/* Take one finished result: 1 with @cookie, @err (0, -EFBIG, -EAGAIN,
 * -errno, as hashcache_hash_fd) and, when @err is 0, the digest in @out;
 * 0 when none is waiting. */
int hashcache_take(uint64_t *cookie, int *err, uint8_t out[HASHCACHE_DIGEST_LEN]);

/* Lower-case hex of a digest, NUL-terminated. */
void hashcache_hex(const uint8_t d[HASHCACHE_DIGEST_LEN], char out[HASHCACHE_HEX_LEN]);

/* Add the counters to @o, for `ward status`: hits, misses, files_hashed,
 * bytes_hashed, reads (pread calls), too_big, changed_while_read, errors,
 * not_cached_racy, evictions, entries, capacity, max_bytes, queue_depth
 * (queued + being hashed), results_waiting, submits_refused.  Adds nothing
 * when not initialised. */
void hashcache_status(struct json_object *o);

#endif
