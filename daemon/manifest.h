/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest.h — client manifests: one YAML file per client in a directory
 * (default /etc/ward/clients.d/, files ending in .yaml), saying what wardd's
 * supervisor runs (executable, its SHA-256, arguments, user), what the
 * client may see and decide (entitlements, AUTH policies), and how it is
 * contained and restarted (limits, restart).  docs/manifests.md describes
 * every key; this module is its reference.
 *
 * A manifest grants privileges, so parsing is strict: an unknown key, a
 * value of the wrong type, a duplicate key or a value out of range is an
 * error, never a warning, and a manifest with an error is not loaded at
 * all.  YAML anchors, aliases, tags and second documents are refused (a
 * manifest has no use for them and aliases are the billion-laughs door);
 * nesting deeper than the schema is refused at the first level too deep.
 *
 * Errors are ONE message, "FILE:LINE:COL: what is wrong (what is allowed)",
 * lines and columns 1-based, or "FILE: ..." when the problem is the file
 * rather than a place in it.  Bytes from the file appear in messages only
 * quoted, shortened and with control characters escaped.
 *
 * Pure parsing plus reading files: no logging, no global state.  The only
 * outside world consulted is the user database (a user name is resolved
 * to its uid when parsed, so that a name that is uid 0 is refused too) and
 * the number of CPUs online (the range of limits.cpu).
 */
#ifndef WARDD_MANIFEST_H
#define WARDD_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ward/event_types.h>

#define MANIFEST_DEFAULT_DIR "/etc/ward/clients.d"
#define MANIFEST_SUFFIX ".yaml"
#define MANIFEST_FILE_MAX (64u << 10) /* bytes in one manifest file */
#define MANIFEST_DIR_MAX 256u         /* manifests loaded from one directory */
#define MANIFEST_NAME_MAX 63u         /* [a-z0-9][a-z0-9._-]{0,62} */
#define MANIFEST_STR_MAX 4096u        /* paths and arguments: shorter than this */
#define MANIFEST_ARGS_MAX 64u
#define MANIFEST_SHA256_HEX 64u
#define MANIFEST_CHANNEL_MAX 32u      /* [a-z0-9][a-z0-9._-]{0,31} */
#define MANIFEST_CONTENT_ROOT "/var/lib/ward/content" /* default content_dir: ROOT/<name> */
#define MANIFEST_STATE_ROOT "/var/lib/ward/state"     /* default state_dir: ROOT/<name> */

_Static_assert(WARD_EV_MAX_ <= 64, "event type masks are uint64_t");

enum manifest_restart_policy {
	MANIFEST_RESTART_ON_FAILURE = 0, /* the default */
	MANIFEST_RESTART_ALWAYS = 1,
	MANIFEST_RESTART_NEVER = 2,
};

/* The policy for one AUTH type the client answers. */
struct manifest_auth_policy {
	uint32_t deadline_ms; /* 1..10000, default 1000 */
	uint32_t on_miss;     /* enum ward_verdict: ALLOW (default, fail-open) or DENY */
};

struct ward_manifest {
	char *file;       /* where it was read from, for messages */
	unsigned name_line, name_col; /* where name: is in it (1-based), for messages */

	char *name;       /* unique across the directory */
	char *executable; /* absolute, no ".." component */
	char sha256[MANIFEST_SHA256_HEX + 1]; /* lower-case hex, NUL-terminated */
	char **args;      /* nargs arguments after argv[0], then NULL (never NULL itself) */
	size_t nargs;
	char *user;       /* as written: a name or a number */
	uid_t uid;        /* what it resolved to when parsed; never 0 */
	bool enabled;     /* default true */

	/* Entitlements (default: none).  Bit t of a mask is event type t
	 * (include/ward/event_types.h). */
	uint64_t notify_mask;  /* types it may subscribe to as NOTIFY */
	uint64_t auth_mask;    /* types it may answer: only WARD_EV_AUTH_EXEC/OPEN */
	bool file_descriptors; /* may ask WARD_AUTH_FILE */
	bool net_rules;        /* may install network rules */
	bool clear_cache;      /* may clear the verdict cache */

	/* Indexed by event type; filled (defaults or the manifest's auth:
	 * section) for the types in auth_mask, zero for every other type. */
	struct manifest_auth_policy auth[WARD_EV_MAX_];

	struct {
		uint64_t memory_bytes; /* 1M..64G, default 256M */
		uint32_t cpu_percent;  /* 1..100*ncpus, default 100 (one CPU) */
		uint32_t pids;         /* 1..32768, default 64 */
		uint32_t open_files;   /* 16..1048576, default 1024 */
	} limits;

	struct {
		enum manifest_restart_policy policy;
		uint32_t backoff_initial_ms;  /* 10..60000, default 500 */
		uint32_t backoff_max_ms;      /* initial..3600000, default 30000 */
		uint32_t quarantine_after;    /* crashes (1..1000, default 5) ... */
		uint32_t quarantine_window_s; /* ... within this window (1..86400, default 60) */
	} restart;

	char *content_dir; /* absolute; default MANIFEST_CONTENT_ROOT/<name> */
	char *state_dir;   /* absolute; default MANIFEST_STATE_ROOT/<name> */

	/* content: signed bundles (docs/content.md).  trust NULL: the client
	 * takes no content and every other field is its default. */
	struct {
		char *trust;                  /* root of trust file (its signatures: trust + ".minisig") */
		char *channel;                /* the channel it takes; default "stable" */
		uint64_t max_bytes;           /* largest bundle, 1K..1G, default 64M */
		uint32_t validate_timeout_ms; /* 100..600000, default 10000 */
		uint32_t bake_s;              /* shadow period, 1..604800, default 300 */
		uint32_t delay_s;             /* hold new content back, 0..2592000, default 0 */
		struct {
			uint32_t crashes;            /* shadow crashes allowed, default 0 */
			uint32_t deadline_misses;    /* shadow deadline misses allowed, default 0 */
			uint32_t divergence_percent; /* verdicts differing from active, 0..100, default 1 */
			uint32_t cpu_percent;        /* shadow CPU as % of the active's, default 200 */
			uint32_t memory_percent;     /* shadow peak memory as % of the active's, default 200 */
		} gates;
		struct {
			uint32_t crashes;  /* after promotion: this many crashes ... (default 3) */
			uint32_t window_s; /* ... within this window roll back (default 300) */
		} rollback;
	} content;
};

/*
 * manifest_parse_buffer() — parse the manifest @buf (@len bytes, need not
 * be NUL-terminated; at most MANIFEST_FILE_MAX), naming it @file in
 * messages (NULL: "<buffer>").
 * On success returns 0 and fills *@m entirely; the caller owns its strings
 * and releases them with manifest_free().
 * On error returns -EINVAL (anything wrong with the manifest) or -ENOMEM,
 * writes one NUL-terminated message to @err (truncated to @errlen bytes;
 * @err may be NULL when @errlen is 0), and leaves *@m untouched: nothing
 * is allocated that the caller would have to free.
 */
int manifest_parse_buffer(const char *file, const char *buf, size_t len, struct ward_manifest *m,
			  char *err, size_t errlen);

/*
 * manifest_parse_file() — read and parse the manifest at @path, as
 * manifest_parse_buffer() does, after checking the file itself: it must be
 * a regular file (a symbolic link is not followed but refused: O_NOFOLLOW
 * on the last component), owned by root and writable by nobody else (it
 * grants privileges), and at most MANIFEST_FILE_MAX bytes.
 * Returns 0, or a negative errno with one message in @err and *@m
 * untouched: -ELOOP (a symbolic link), -EINVAL (not a regular file, or
 * the manifest is wrong), -EPERM (owner or mode), -EFBIG (too big),
 * -ENOMEM, or -errno from open/fstat/read.
 */
int manifest_parse_file(const char *path, struct ward_manifest *m, char *err, size_t errlen);

/* manifest_free() — release what *@m owns and zero it.  @m may be NULL or
 * zeroed (a no-op); not for a struct a parse failed to fill. */
void manifest_free(struct ward_manifest *m);

/* The manifests of one directory, in the sorted order of their files. */
struct manifest_set {
	struct ward_manifest *m;
	size_t n;
};

/*
 * manifest_load_dir() — load every *.yaml file of @dir (names starting
 * with a dot are ignored, as is every other name), in strcmp() order,
 * into @set, which is overwritten (not freed first) and always left valid
 * for manifest_set_free().  A file with any error, and a file whose name:
 * an earlier file already uses (the message names both files), is
 * reported with one message to @on_error (which may be NULL) and skipped;
 * the others load.  At most MANIFEST_DIR_MAX manifests load; every later
 * file is reported and skipped.
 * @dir itself must be owned by root and writable by nobody else: whoever
 * can rename or delete files in it chooses which client gets a name.
 * Returns the number of manifests loaded (>= 0), or a negative errno,
 * reported to @on_error too, with @set empty: -EPERM (the directory's
 * owner or mode), -ENOMEM, or -errno from opening or reading @dir
 * (-ENOENT when it does not exist).
 */
int manifest_load_dir(const char *dir, struct manifest_set *set,
		      void (*on_error)(const char *msg, void *ctx), void *ctx);

/* manifest_set_free() — free every manifest of @set and empty it.  @set
 * may be NULL. */
void manifest_set_free(struct manifest_set *set);

/* manifest_find() — the manifest called @name in @set, or NULL.  The
 * pointer is valid until @set is freed. */
const struct ward_manifest *manifest_find(const struct manifest_set *set, const char *name);

#endif
