/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bundle.h — content bundles and the root of trust that signs them
 * (docs/content.md).  A bundle carries one client's content (rules,
 * signatures, allow lists: bytes ward does not interpret) with metadata
 * saying whose it is and how new it is; a threshold of the root's keys
 * signs it in the minisign format (minisign.h), so `minisign -V` verifies
 * it too.
 *
 * Bundle file (the "body": the whole file, exactly what signatures sign):
 *
 *   offset 0    8 bytes  magic "WARDBND1"
 *   offset 8    u32 LE   M, metadata length (1..BUNDLE_META_MAX)
 *   offset 12   u64 LE   P, payload length
 *   offset 20   M bytes  metadata text
 *   offset 20+M P bytes  payload (opaque)
 *
 * and nothing after it: a file shorter than 20 + M + P is "truncated" (the
 * message gives both sizes), a longer one "malformed" (trailing bytes).  A
 * file longer than the caller's limit is "oversized" before anything else
 * is looked at, even when its header cannot be read.
 *
 * Metadata text: exactly these six lines, in this order, each once, each
 * "key=value\n", nothing else (no CR, no blank line, no space around '='):
 *
 *   client=block                        [a-z0-9][a-z0-9._-]{0,62}
 *   channel=stable                      [a-z0-9][a-z0-9._-]{0,31}
 *   version=7                           1..2^63-1, decimal, no leading zero
 *   created=2026-11-26T01:00:00Z        UTC, a real calendar time
 *   expires=2026-12-26T01:00:00Z        later than created
 *   payload_sha256=<64 lower-case hex>  SHA-256 of the payload
 *
 * So one metadata has one text (bundle_meta_format() writes it), and what
 * is displayed is what was signed.
 *
 * Signature file (BUNDLE.minisig): one or more minisign signatures back to
 * back, each the four lines minisign writes (untrusted comment, signature,
 * "trusted comment: ...", global signature), at most BUNDLE_SIGS_MAX.
 * `minisign -V` reads only the first; ward reads all of them.  The trusted
 * comments are verified (minisign_verify) but not read: what a bundle is
 * lies in its body, which every signature covers.
 *
 * Root of trust (a text file, signed the same way by a detached
 * multi-signature file over its bytes):
 *
 *   ward-root 1
 *   version 3                           1..2^63-1, decimal, no leading zero
 *   expires 2027-11-26T00:00:00Z
 *   threshold 2                         1..number of keys
 *   key RWT7T8ZSIcG7...                 1..TRUST_KEYS_MAX lines: the base64
 *   key ...                             line of a minisign public key
 *
 * in that order, every line ending in "\n", at most TRUST_FILE_MAX bytes,
 * nothing else.  Two keys with the same key id, or the same public key
 * under two key ids, are refused: a signature names its key only by an
 * unsigned label, so one key listed twice would count twice.
 *
 * A root is trusted either as the initial root (installed by hand: it must
 * be signed by its own threshold of its own keys) or by rotation from the
 * root in force (a higher version, signed by the old root's threshold of
 * the old keys AND by the new root's threshold of the new keys), and only
 * while not expired.  A rotation may start from an expired root (the newer
 * root is how an expired one is replaced).
 *
 * Refusals are enum bundle_refusal, one per reason, with one message in
 * @err (NUL-terminated; @err may be NULL when @errlen is 0).  Bytes from
 * the input appear in messages only quoted, shortened, with control and
 * non-ASCII bytes escaped.  Refusal names (bundle_refusal_name()) are
 * stable: they are what ward reports and what tests match.
 *
 * Pure module: buffers in, results out; no logging, no global state, no
 * file I/O, nothing allocated except by bundle_build().  Every parser takes
 * untrusted, length-bounded bytes that need not be NUL-terminated.  Output
 * structures are written only on success (except sigset_parse()'s array,
 * which may be partly written).  libsodium does the hashing (its
 * sodium_init() is called here too, which is harmless).  Fuzzed by
 * fuzz/fuzz_bundle.c and fuzz/fuzz_trust.c.
 */
#ifndef WARDD_BUNDLE_H
#define WARDD_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "minisign.h"

#define BUNDLE_MAGIC "WARDBND1"
#define BUNDLE_HDR_LEN 20
#define BUNDLE_META_MAX 4096 /* bytes of metadata text */
#define BUNDLE_SIGS_MAX 16   /* signatures in one signature file */
#define BUNDLE_SIGFILE_MAX (BUNDLE_SIGS_MAX * MINISIGN_FILE_MAX) /* bytes of a signature file */
#define TRUST_KEYS_MAX 16
#define TRUST_FILE_MAX 8192

#define BUNDLE_CLIENT_MAX 63  /* characters of a client name */
#define BUNDLE_CHANNEL_MAX 32 /* characters of a channel name */
#define BUNDLE_TIME_LEN 20    /* "YYYY-MM-DDTHH:MM:SSZ" */
#define BUNDLE_TIME_MIN 0LL            /* 1970-01-01T00:00:00Z */
#define BUNDLE_TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

/* Why a bundle or a root is refused; 0 is accepted. */
enum bundle_refusal {
	BR_OK = 0,
	BR_OVERSIZED,          /* the file is longer than the caller's limit */
	BR_TRUNCATED,          /* shorter than its header says */
	BR_MALFORMED,          /* anything else not in the format (bundle, metadata, root, signature file) */
	BR_BAD_SIGNATURE,      /* a signature by a listed key does not verify */
	BR_TOO_FEW_SIGNATURES, /* fewer valid signatures by distinct listed keys than the threshold */
	BR_HASH_MISMATCH,      /* the payload is not the one the metadata names */
	BR_WRONG_CLIENT,       /* a bundle for another client */
	BR_WRONG_CHANNEL,      /* ... or another channel */
	BR_EXPIRED,            /* expires <= now: a freeze attack or stale content */
	BR_ROLLBACK,           /* not newer than what is installed */
	BR_ROOT_EXPIRED,       /* the root of trust has expired */
};

/* "ok", "oversized", "truncated", "malformed", "bad_signature",
 * "too_few_signatures", "hash_mismatch", "wrong_client", "wrong_channel",
 * "expired", "rollback", "root_expired"; "unknown" for anything else. */
const char *bundle_refusal_name(enum bundle_refusal r);

struct bundle_meta {
	char client[BUNDLE_CLIENT_MAX + 1];   /* NUL-terminated */
	char channel[BUNDLE_CHANNEL_MAX + 1]; /* NUL-terminated */
	uint64_t version;                     /* 1..INT64_MAX */
	int64_t created, expires;             /* seconds since the epoch, UTC */
	uint8_t payload_sha256[32];
};

struct bundle {
	struct bundle_meta meta;
	const uint8_t *payload; /* points into the caller's buffer */
	size_t payload_len;
};

struct trust_root {
	uint64_t version;   /* 1..INT64_MAX */
	int64_t expires;
	unsigned threshold; /* 1..nkeys */
	unsigned nkeys;     /* 1..TRUST_KEYS_MAX; distinct key ids and public keys */
	struct minisign_pubkey keys[TRUST_KEYS_MAX];
};

/* ---- bundles ---- */

/* The structure of the bundle file @buf (@len bytes) only: size against
 * @max_len, header, lengths, metadata.  No signature and no payload hash is
 * checked here.  BR_OK (with *@b filled, b->payload pointing into @buf),
 * BR_OVERSIZED, BR_TRUNCATED or BR_MALFORMED. */
enum bundle_refusal bundle_parse(const uint8_t *buf, size_t len, size_t max_len, struct bundle *b, char *err,
				 size_t errlen);

/* The metadata text @text (@len bytes, at most BUNDLE_META_MAX).  BR_OK or
 * BR_MALFORMED, the message naming the line ("line 3: ..."). */
enum bundle_refusal bundle_meta_parse(const char *text, size_t len, struct bundle_meta *m, char *err, size_t errlen);

/* The metadata text of @m exactly as it goes into a bundle (and as it is
 * displayed), NUL-terminated in @out.  m->payload_sha256 is written as it
 * is.  Returns its length, -ENOSPC (@outlen must exceed the length), or
 * -EINVAL when @m is not valid metadata (it would not parse back). */
int bundle_meta_format(const struct bundle_meta *m, char *out, size_t outlen);

/* A bundle body from @m and the payload @payload (@len bytes; NULL when
 * @len is 0): m->payload_sha256 is computed here and written into *@m (only
 * on success), the body malloc'd into *@out (the caller frees it), its
 * length in *@outlen.  0, -EINVAL (@m not valid, see bundle_meta_format) or
 * -ENOMEM. */
int bundle_build(struct bundle_meta *m, const uint8_t *payload, size_t len, uint8_t **out, size_t *outlen);

/* ---- signature files ---- */

/* Split the signature file @text (@len bytes, at most BUNDLE_SIGFILE_MAX)
 * into its four-line blocks and parse each with minisign_sig_parse() into
 * @sigs (room for @max; at most BUNDLE_SIGS_MAX are read).  Empty lines at
 * the end are allowed, nothing else between or after the blocks.  0 with
 * *@n set (at least 1), or -EINVAL ("signature 2: ...", @sigs possibly
 * partly written). */
int sigset_parse(const char *text, size_t len, struct minisign_sig *sigs, size_t max, size_t *n, char *err,
		 size_t errlen);

/* Count the distinct keys of @keys[0..@nkeys) that made a valid signature
 * over @msg (@len bytes) among @sigs[0..@n).
 * - A signature whose key id is one of @keys but which does not verify
 *   (signature or global signature) is BR_BAD_SIGNATURE, the message naming
 *   the signature and its key id: it is damage or forgery, never ignored.
 * - Signatures by key ids not in @keys are ignored (a bundle may be signed
 *   for several roots).
 * - A key is counted once however often it signed; keys with the same key
 *   id or the same public key count as one.
 * Otherwise BR_OK with *@valid set. */
enum bundle_refusal sigset_count(const struct minisign_pubkey *keys, unsigned nkeys, const struct minisign_sig *sigs,
				 size_t n, const uint8_t *msg, size_t len, unsigned *valid, char *err, size_t errlen);

/* ---- roots of trust ---- */

/* The root file @buf (@len bytes).  BR_OK, BR_OVERSIZED (more than
 * TRUST_FILE_MAX bytes) or BR_MALFORMED ("line 5: ..."). */
enum bundle_refusal trust_parse(const uint8_t *buf, size_t len, struct trust_root *r, char *err, size_t errlen);

/* The root file's text for @r, NUL-terminated in @out.  Returns its length,
 * -ENOSPC, or -EINVAL when @r is not a valid root (it would not parse
 * back: counts out of range, duplicate keys, times out of range). */
int trust_format(const struct trust_root *r, char *out, size_t outlen);

/* An initial root (one installed by hand): the file @buf (@len bytes) and
 * its signature file @sigtext (@siglen bytes), checked in this order:
 * structure (BR_OVERSIZED, BR_MALFORMED), expired at @now
 * (BR_ROOT_EXPIRED), signature file (BR_MALFORMED), signatures by its own
 * keys (BR_BAD_SIGNATURE; fewer than its own threshold:
 * BR_TOO_FEW_SIGNATURES).  Fills *@out on BR_OK. */
enum bundle_refusal trust_check_initial(const uint8_t *buf, size_t len, const char *sigtext, size_t siglen, int64_t now,
					struct trust_root *out, char *err, size_t errlen);

/* Rotation from the root in force @old to the file @buf (@len bytes) with
 * its signature file @sigtext, in this order: structure (BR_OVERSIZED,
 * BR_MALFORMED), version not above old->version (BR_ROLLBACK, also for an
 * equal version), new root expired at @now (BR_ROOT_EXPIRED), signature
 * file (BR_MALFORMED), signatures: a bad one by an old or a new key
 * BR_BAD_SIGNATURE; fewer than old->threshold of the old keys, or fewer
 * than the new threshold of the new keys, BR_TOO_FEW_SIGNATURES.  @old
 * itself may have expired.  Fills *@out on BR_OK. */
enum bundle_refusal trust_rotate(const struct trust_root *old, const uint8_t *buf, size_t len, const char *sigtext,
				 size_t siglen, int64_t now, struct trust_root *out, char *err, size_t errlen);

/* ---- the whole check ---- */

/* A bundle file @buf (@len bytes) with its signature file @sigtext
 * (@siglen bytes) against @root, for the client @expect_client (and, when
 * not NULL, the channel @expect_channel), with @highest the highest version
 * installed so far (0: none) and @now the time.  In this order, the first
 * failure wins:
 *   size (BR_OVERSIZED) → structure (BR_TRUNCATED, BR_MALFORMED) → @root
 *   not a root trust_parse() would accept (BR_MALFORMED: a threshold of 0
 *   would accept anything) → root expired at @now (BR_ROOT_EXPIRED) →
 *   signature file (BR_MALFORMED) → signatures: a bad one
 *   BR_BAD_SIGNATURE, fewer than root->threshold valid distinct keys
 *   BR_TOO_FEW_SIGNATURES ("1 of 2 needed") → payload hash
 *   (BR_HASH_MISMATCH) → client (BR_WRONG_CLIENT, naming both) → channel
 *   (BR_WRONG_CHANNEL) → expires <= @now (BR_EXPIRED, "expired at ...
 *   (freeze attack or stale content)") → version <= @highest (BR_ROLLBACK,
 *   "version 6 is not newer than 7").
 * Fills *@out on BR_OK (out->payload points into @buf). */
enum bundle_refusal bundle_verify(const struct trust_root *root, const uint8_t *buf, size_t len, size_t max_len,
				  const char *sigtext, size_t siglen, const char *expect_client,
				  const char *expect_channel, uint64_t highest, int64_t now, struct bundle *out,
				  char *err, size_t errlen);

/* ---- times ---- */

/* "YYYY-MM-DDTHH:MM:SSZ" (exactly @len == 20 bytes, UTC, a real calendar
 * time with seconds 0..59, years 1970..9999) to seconds since the epoch.
 * 0 or -EINVAL. */
int bundle_time_parse(const char *s, size_t len, int64_t *out);
/* @t in that form, NUL-terminated; clamped to BUNDLE_TIME_MIN..MAX. */
void bundle_time_format(int64_t t, char out[BUNDLE_TIME_LEN + 1]);

#endif
