/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_trust.c — libFuzzer harness for roots of trust (daemon/bundle.c):
 * the root file, the initial check, and rotation from a fixed old root
 * (version 5, keys 0, 1, 2 of four derived from fixed seeds, threshold 2).
 *
 * Input: one flags byte, a u16 LE length L, L bytes of signature file, and
 * the rest is the root file.  Flags: bits 0-3 — the harness itself signs
 * the root file with key 0..3 and puts those signatures first (so that
 * mutated roots still reach the threshold checks); bits 4-5 — now
 * (2026-12-01, the epoch, 2027-11-26T00:00:00Z, the end of time).
 *
 * Invariants: nothing crashes or reads out of bounds (ASan); a root that
 * parses is canonical (trust_format() writes back exactly its bytes) and
 * within its limits; the checks refuse a badly formed root with the same
 * reason as trust_parse(); an accepted root is the parsed one, not
 * expired, signed by its own threshold of its own keys, and (rotation)
 * newer than the old root and signed by the old root's threshold too.
 *
 * WARD_FUZZ_WRITE_SEEDS=DIR fuzz_trust writes the seed corpus
 * (fuzz/corpus/trust) into DIR and exits.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bundle.h"
#include "signed_input.h"

#define NKEYS 4

static struct minisign_seckey sk[NKEYS];
static struct minisign_pubkey pk[NKEYS];
static struct trust_root old;
static const int64_t nows[4] = {1795996800 /* 2026-12-01 */, 0, 1827187200 /* 2027-11-26 */, BUNDLE_TIME_MAX};

/* ---- seeds ---- */

static void write_seed(const char *dir, const char *name, uint8_t flags, const struct trust_root *r, unsigned signers)
{
	char text[TRUST_FILE_MAX], sigs[4096];
	int n = trust_format(r, text, sizeof(text));
	fuzz_check(n > 0);
	size_t sl = fuzz_sign(sk, NKEYS, signers, "fuzz", (const uint8_t *)text, (size_t)n, sigs, sizeof(sigs));
	fuzz_write_seed(dir, name, flags, sigs, sl, (const uint8_t *)text, (size_t)n);
}

static void write_seeds(const char *dir)
{
	struct trust_root r = old;
	write_seed(dir, "initial", 0, &r, 3);
	r.version = 6;
	r.keys[0] = pk[3];
	write_seed(dir, "rotate", 0, &r, 15);
	write_seed(dir, "rotate_signed_here", 15, &r, 0);
	write_seed(dir, "rotate_new_keys_only", 0, &r, 14 & ~2u);
	r.version = 4;
	write_seed(dir, "rollback", 15, &r, 0);
	r.version = 7;
	fuzz_check(bundle_time_parse("2026-01-01T00:00:00Z", 20, &r.expires) == 0);
	write_seed(dir, "expired", 15, &r, 0);
	/* sixteen keys, one of ours */
	struct trust_root big = old;
	big.version = (uint64_t)INT64_MAX;
	big.nkeys = TRUST_KEYS_MAX;
	big.threshold = 1;
	for (unsigned j = 1; j < TRUST_KEYS_MAX; j++) {
		memset(&big.keys[j], (int)j, sizeof(big.keys[j]));
	}
	write_seed(dir, "sixteen_keys", 1 | 2, &big, 0);
	/* and a seventeenth, which trust_format() does not write */
	char text[TRUST_FILE_MAX], path[512];
	int n = trust_format(&big, text, sizeof(text));
	fuzz_check(n > 0);
	const char *k1 = strstr(text, "\nkey ") + 1, *nl = strchr(k1, '\n');
	memcpy(text + n, k1, (size_t)(nl + 1 - k1));
	n += (int)(nl + 1 - k1);
	text[n - 3] = text[n - 3] == 'A' ? 'B' : 'A'; /* another public key, the same key id */
	snprintf(path, sizeof(path), "%s/seventeen_keys", dir);
	FILE *f = fopen(path, "wb");
	fuzz_check(f != NULL);
	fuzz_check(fwrite("\3\0\0", 1, 3, f) == 3 && fwrite(text, 1, (size_t)n, f) == (size_t)n);
	fuzz_check(fclose(f) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	for (int i = 0; i < NKEYS; i++)
		fuzz_key("ward fuzz trust", "trustky", i, &sk[i], &pk[i]);
	old.version = 5;
	fuzz_check(bundle_time_parse("2030-01-01T00:00:00Z", 20, &old.expires) == 0);
	old.threshold = 2;
	old.nkeys = 3;
	memcpy(old.keys, pk, 3 * sizeof(pk[0]));
	const char *dir = getenv("WARD_FUZZ_WRITE_SEEDS");
	if (dir) {
		write_seeds(dir);
		exit(0);
	}
	return 0;
}

static void same_root(const struct trust_root *a, const struct trust_root *b)
{
	fuzz_check(a->version == b->version && a->expires == b->expires && a->threshold == b->threshold &&
	      a->nkeys == b->nkeys && memcmp(a->keys, b->keys, a->nkeys * sizeof(a->keys[0])) == 0);
}

/* At least @threshold of @keys signed @msg, counted again. */
static void signed_by(const struct minisign_pubkey *keys, unsigned nkeys, unsigned threshold, const char *sigtext,
		      size_t st, const uint8_t *msg, size_t len)
{
	static struct minisign_sig sigs[BUNDLE_SIGS_MAX];
	size_t n = 0;
	unsigned valid = 0;
	fuzz_check(sigset_parse(sigtext, st, sigs, BUNDLE_SIGS_MAX, &n, NULL, 0) == 0);
	fuzz_check(sigset_count(keys, nkeys, sigs, n, msg, len, &valid, NULL, 0) == BR_OK);
	fuzz_check(valid >= threshold && valid <= nkeys);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char sigtext[BUNDLE_SIGFILE_MAX + NKEYS * 512];
	char err[256];
	struct fuzz_input in;
	if (fuzz_split(data, size, &in))
		return 0;
	uint8_t flags = in.flags;
	const uint8_t *buf = in.file;
	size_t len = in.len;
	int64_t now = nows[(flags >> 4) & 3];
	size_t st = fuzz_sigtext(sk, NKEYS, flags & 15, &in, sigtext, sizeof(sigtext));

	struct trust_root r, out;
	enum bundle_refusal pr = trust_parse(buf, len, &r, err, sizeof(err));
	fuzz_check(pr == BR_OK || pr == BR_OVERSIZED || pr == BR_MALFORMED);
	fuzz_check((pr == BR_OK) == (err[0] == '\0'));
	if (pr == BR_OK) {
		fuzz_check(r.nkeys >= 1 && r.nkeys <= TRUST_KEYS_MAX && r.threshold >= 1 && r.threshold <= r.nkeys);
		fuzz_check(r.version >= 1 && r.version <= (uint64_t)INT64_MAX);
		for (unsigned j = 0; j < r.nkeys; j++)
			for (unsigned e = 0; e < j; e++)
				fuzz_check(memcmp(r.keys[e].keyid, r.keys[j].keyid, MINISIGN_KEYID_LEN) &&
				      memcmp(r.keys[e].pk, r.keys[j].pk, 32));
		char again[TRUST_FILE_MAX + 1];
		int n = trust_format(&r, again, sizeof(again));
		fuzz_check(n > 0 && (size_t)n == len && memcmp(again, buf, len) == 0);
	}

	enum bundle_refusal ir = trust_check_initial(buf, len, sigtext, st, now, &out, err, sizeof(err));
	fuzz_check((ir == BR_OK) == (err[0] == '\0'));
	if (pr != BR_OK)
		fuzz_check(ir == pr);
	if (ir == BR_OK) {
		same_root(&out, &r);
		fuzz_check(out.expires > now);
		signed_by(out.keys, out.nkeys, out.threshold, sigtext, st, buf, len);
	}

	enum bundle_refusal rr = trust_rotate(&old, buf, len, sigtext, st, now, &out, err, sizeof(err));
	fuzz_check((rr == BR_OK) == (err[0] == '\0'));
	if (pr != BR_OK)
		fuzz_check(rr == pr);
	if (rr == BR_OK) {
		same_root(&out, &r);
		fuzz_check(out.expires > now && out.version > old.version);
		signed_by(out.keys, out.nkeys, out.threshold, sigtext, st, buf, len);
		signed_by(old.keys, old.nkeys, old.threshold, sigtext, st, buf, len);
		/* what rotation accepts would be accepted as an initial root, too */
		fuzz_check(ir == BR_OK);
	}
	return 0;
}
