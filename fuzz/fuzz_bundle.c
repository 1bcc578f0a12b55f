/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_bundle.c — libFuzzer harness for content bundles (daemon/bundle.c):
 * the bundle file, its metadata, signature files and the whole check
 * against a fixed root (keys 0, 1, 2 derived from fixed seeds, threshold 2).
 *
 * Input: one flags byte, a u16 LE length L, L bytes of signature file, and
 * the rest is the bundle file.  Flags: bit 0/1 — the harness itself signs
 * the bundle with key 0/1 and puts that signature first (so that mutated
 * bundles still reach the checks after the signatures); bit 2 — any
 * channel (else "stable"); bits 3-4 — the highest version installed (0, 6,
 * 7, 2^63-1); bits 5-6 — now (2026-12-01, the epoch, 2026-12-26T01:00:00Z,
 * the end of time).
 *
 * Invariants: nothing crashes or reads out of bounds (ASan); whatever
 * metadata parses is canonical (bundle_meta_format() writes back exactly
 * its bytes), and a bundle that parses is exactly what bundle_build()
 * makes of its metadata and payload when the hash matches; bundle_verify()
 * refuses a badly structured file with the same reason as bundle_parse();
 * on BR_OK the payload is the end of the buffer, its hash is the one named,
 * and the client, channel, expiry and version are the ones asked for.
 *
 * WARD_FUZZ_WRITE_SEEDS=DIR fuzz_bundle writes the seed corpus
 * (fuzz/corpus/bundle) into DIR and exits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bundle.h"
#include "signed_input.h"

#define NKEYS 3
#define MAX_LEN (1u << 20)

static struct minisign_seckey sk[NKEYS];
static struct trust_root root;
static const int64_t nows[4] = {1795996800 /* 2026-12-01 */, 0, 1798246800 /* 2026-12-26T01:00:00Z */,
				BUNDLE_TIME_MAX};
static const uint64_t highs[4] = {0, 6, 7, (uint64_t)INT64_MAX};

/* ---- seeds ---- */

static void write_seeds(const char *dir)
{
	static const char payload[] = "deny exec /tmp/*\nallow exec /usr/bin/*\n";
	struct bundle_meta m = {.client = "block", .channel = "stable", .version = 7};
	fuzz_check(bundle_time_parse("2026-11-26T01:00:00Z", 20, &m.created) == 0);
	fuzz_check(bundle_time_parse("2026-12-26T01:00:00Z", 20, &m.expires) == 0);
	uint8_t *b;
	size_t bl;
	char sigs[4096];
	size_t sl;

	fuzz_check(bundle_build(&m, (const uint8_t *)payload, sizeof(payload) - 1, &b, &bl) == 0);
	sl = fuzz_sign(sk, NKEYS, 3, "fuzz seed", b, bl, sigs, sizeof(sigs));
	fuzz_write_seed(dir, "valid", 0, sigs, sl, b, bl);
	fuzz_write_seed(dir, "valid_signed_here", 3, "", 0, b, bl);
	fuzz_write_seed(dir, "valid_any_channel_rollback", 3 | 4 | 16, "", 0, b, bl);
	sl = fuzz_sign(sk, NKEYS, 7, "fuzz seed", b, bl, sigs, sizeof(sigs));
	fuzz_write_seed(dir, "three_signatures", 0, sigs, sl, b, bl);
	sl = fuzz_sign(sk, NKEYS, 1, "fuzz seed", b, bl, sigs, sizeof(sigs));
	fuzz_write_seed(dir, "one_signature", 0, sigs, sl, b, bl);
	fuzz_write_seed(dir, "expired", 3 | 64, "", 0, b, bl);
	fuzz_write_seed(dir, "root_expired", 3 | 96, "", 0, b, bl);
	fuzz_write_seed(dir, "truncated", 3, "", 0, b, bl - 1);
	fuzz_write_seed(dir, "header_only", 3, "", 0, b, 12);
	free(b);

	struct bundle_meta w = m;
	strcpy(w.client, "nginx-guard");
	strcpy(w.channel, "beta");
	w.version = (uint64_t)INT64_MAX;
	fuzz_check(bundle_build(&w, NULL, 0, &b, &bl) == 0);
	fuzz_write_seed(dir, "wrong_client_empty_payload", 3, "", 0, b, bl);
	free(b);

	w = m;
	strcpy(w.channel, "beta");
	fuzz_check(bundle_build(&w, (const uint8_t *)payload, sizeof(payload) - 1, &b, &bl) == 0);
	fuzz_write_seed(dir, "wrong_channel", 3, "", 0, b, bl);
	free(b);

	/* a seventh metadata line */
	char text[BUNDLE_META_MAX];
	int ml = bundle_meta_format(&m, text, sizeof(text) - 16);
	fuzz_check(ml > 0);
	memcpy(text + ml, "client=block\n", 13);
	b = malloc(BUNDLE_HDR_LEN + (size_t)ml + 13);
	fuzz_check(b != NULL);
	memcpy(b, BUNDLE_MAGIC, 8);
	memset(b + 8, 0, 12);
	b[8] = (uint8_t)(ml + 13);
	b[9] = (uint8_t)((ml + 13) >> 8);
	memcpy(b + BUNDLE_HDR_LEN, text, (size_t)ml + 13);
	fuzz_write_seed(dir, "metadata_line_7", 3, "", 0, b, BUNDLE_HDR_LEN + (size_t)ml + 13);
	free(b);

	/* metadata naming another payload */
	fuzz_check(bundle_build(&m, (const uint8_t *)"x", 1, &b, &bl) == 0);
	b[bl - 1] = 'y';
	fuzz_write_seed(dir, "hash_mismatch", 3, "", 0, b, bl);
	/* a signature over other bytes, by a root key */
	sl = fuzz_sign(sk, NKEYS, 2, "fuzz seed", b, bl - 1, sigs, sizeof(sigs));
	fuzz_write_seed(dir, "bad_signature", 1, sigs, sl, b, bl);
	free(b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	for (int i = 0; i < NKEYS; i++)
		fuzz_key("ward fuzz bundle", "fuzzkey", i, &sk[i], &root.keys[i]);
	root.version = 1;
	root.expires = BUNDLE_TIME_MAX;
	root.threshold = 2;
	root.nkeys = NKEYS;
	const char *dir = getenv("WARD_FUZZ_WRITE_SEEDS");
	if (dir) {
		write_seeds(dir);
		exit(0);
	}
	return 0;
}

/* Parsed metadata is canonical: formatting it gives back its bytes. */
static void canonical(const struct bundle_meta *m, const uint8_t *text, size_t len)
{
	char again[BUNDLE_META_MAX + 1];
	int n = bundle_meta_format(m, again, sizeof(again));
	fuzz_check(n > 0 && (size_t)n == len && memcmp(again, text, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char sigtext[BUNDLE_SIGFILE_MAX + 2 * 512];
	char err[256];
	struct fuzz_input in;
	if (fuzz_split(data, size, &in))
		return 0;
	uint8_t flags = in.flags;
	const uint8_t *buf = in.file;
	size_t len = in.len;
	int64_t now = nows[(flags >> 5) & 3];
	uint64_t highest = highs[(flags >> 3) & 3];
	const char *channel = flags & 4 ? NULL : "stable";

	/* the signature file: the harness's signatures first, then the input's */
	size_t st = fuzz_sigtext(sk, 2, flags & 3, &in, sigtext, sizeof(sigtext));

	/* the structure alone */
	struct bundle b;
	enum bundle_refusal pr = bundle_parse(buf, len, MAX_LEN, &b, err, sizeof(err));
	fuzz_check(pr == BR_OK || pr == BR_TRUNCATED || pr == BR_MALFORMED);
	fuzz_check(strlen(err) < sizeof(err));
	if (pr == BR_OK) {
		size_t ml = len - BUNDLE_HDR_LEN - b.payload_len;
		fuzz_check(b.payload == buf + BUNDLE_HDR_LEN + ml && ml >= 1 && ml <= BUNDLE_META_MAX);
		canonical(&b.meta, buf + BUNDLE_HDR_LEN, ml);
		uint8_t h[32];
		crypto_hash_sha256(h, b.payload_len ? b.payload : (const uint8_t *)"", b.payload_len);
		struct bundle_meta m = b.meta;
		uint8_t *again;
		size_t alen;
		fuzz_check(bundle_build(&m, b.payload, b.payload_len, &again, &alen) == 0);
		fuzz_check(memcmp(m.payload_sha256, h, 32) == 0);
		if (memcmp(h, b.meta.payload_sha256, 32) == 0)
			fuzz_check(alen == len && memcmp(again, buf, len) == 0);
		free(again);
	}
	/* the metadata slice on its own */
	if (len > BUNDLE_HDR_LEN) {
		size_t ml = (size_t)buf[8] | (size_t)buf[9] << 8;
		if (ml > len - BUNDLE_HDR_LEN)
			ml = len - BUNDLE_HDR_LEN;
		struct bundle_meta m;
		if (bundle_meta_parse((const char *)buf + BUNDLE_HDR_LEN, ml, &m, err, sizeof(err)) == BR_OK)
			canonical(&m, buf + BUNDLE_HDR_LEN, ml);
	}
	/* the signature file on its own */
	static struct minisign_sig sigs[BUNDLE_SIGS_MAX];
	size_t n = 0;
	if (sigset_parse(sigtext, st, sigs, BUNDLE_SIGS_MAX, &n, err, sizeof(err)) == 0) {
		fuzz_check(n >= 1 && n <= BUNDLE_SIGS_MAX);
		for (size_t i = 0; i < n; i++)
			fuzz_check(strlen(sigs[i].trusted_comment) == sigs[i].trusted_len);
		unsigned valid = 99;
		if (sigset_count(root.keys, root.nkeys, sigs, n, buf, len, &valid, err, sizeof(err)) == BR_OK)
			fuzz_check(valid <= root.nkeys);
	}
	/* the whole check */
	struct bundle out;
	enum bundle_refusal r = bundle_verify(&root, buf, len, MAX_LEN, sigtext, st, "block", channel, highest, now,
					      &out, err, sizeof(err));
	fuzz_check(strlen(err) < sizeof(err));
	fuzz_check((r == BR_OK) == (err[0] == '\0'));
	if (pr != BR_OK)
		fuzz_check(r == pr);
	if (r == BR_OK) {
		fuzz_check(pr == BR_OK);
		fuzz_check(out.payload >= buf + BUNDLE_HDR_LEN && out.payload + out.payload_len == buf + len);
		uint8_t h[32];
		crypto_hash_sha256(h, out.payload_len ? out.payload : (const uint8_t *)"", out.payload_len);
		fuzz_check(memcmp(h, out.meta.payload_sha256, 32) == 0);
		fuzz_check(strcmp(out.meta.client, "block") == 0);
		fuzz_check(!channel || strcmp(out.meta.channel, channel) == 0);
		fuzz_check(out.meta.expires > now && out.meta.version > highest);
		fuzz_check(n >= 2); /* threshold 2: the signatures parsed above */
	}
	return 0;
}
