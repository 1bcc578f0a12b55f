/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_bundle — daemon/bundle.c: content bundles and roots of trust.
 * Bundles are built and signed here (one key made by `minisign -G -W`, the
 * others by libsodium), verified by bundle_verify() and by the minisign
 * tool (every block of a multi-signature file, split out); then every
 * refusal is produced on purpose and its exact reason checked, the
 * metadata and the root file are broken in every way we could think of,
 * and the formatters and parsers are checked against each other.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "bundle.h"
#include "scratch.h"

#define NKEYS 7 /* 0..2: the root's keys, 3..5: a rotated root's, 6: a key nobody trusts */
#define MAX_LEN (1u << 20)
#define SIGS_CAP (BUNDLE_SIGS_MAX * 1024)

static struct minisign_seckey sec[NKEYS];
static struct minisign_pubkey pub[NKEYS];
static struct trust_root root; /* 2 of keys 0, 1, 2; version 3 */
static int64_t now, created, expires, root_expires;

static int64_t T(const char *s)
{
	int64_t t = 0;
	assert_int_equal(bundle_time_parse(s, strlen(s), &t), 0);
	return t;
}

/* A public key file for key @i, as minisign writes one. */
static void write_pub(int i)
{
	uint8_t raw[2 + MINISIGN_KEYID_LEN + 32] = {'E', 'd'};
	char b64[sodium_base64_ENCODED_LEN(sizeof(raw), sodium_base64_VARIANT_ORIGINAL)], text[256], name[16];
	memcpy(raw + 2, pub[i].keyid, MINISIGN_KEYID_LEN);
	memcpy(raw + 2 + MINISIGN_KEYID_LEN, pub[i].pk, 32);
	sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
	int n = snprintf(text, sizeof(text), "untrusted comment: test key %d\n%s\n", i, b64);
	snprintf(name, sizeof(name), "k%d.pub", i);
	scratch_write(name, text, (size_t)n);
}

static int setup(void **state)
{
	(void)state;
	char buf[4096], err[256];
	if (sodium_init() < 0)
		return -1;
	if (system("command -v minisign >/dev/null 2>&1") != 0) {
		fprintf(stderr, "test_bundle: minisign is not installed (scripts/deps.sh installs it)\n");
		return -1;
	}
	if (scratch_make("bundle"))
		return -1;
	/* key 0 is minisign's own, the others libsodium's */
	if (scratch_sh("cd %s && minisign -G -W -p k0.pub -s k0.sec >/dev/null 2>&1", scratch_dir))
		return -1;
	size_t n = scratch_read("k0.sec", buf, sizeof(buf));
	if (minisign_seckey_parse(buf, n, &sec[0], err, sizeof(err)))
		return -1;
	n = scratch_read("k0.pub", buf, sizeof(buf));
	if (minisign_pubkey_parse(buf, n, &pub[0], err, sizeof(err)))
		return -1;
	for (int i = 1; i < NKEYS; i++) {
		crypto_sign_keypair(pub[i].pk, sec[i].sk);
		randombytes_buf(pub[i].keyid, MINISIGN_KEYID_LEN);
		memcpy(sec[i].keyid, pub[i].keyid, MINISIGN_KEYID_LEN);
		write_pub(i);
	}
	now = T("2026-12-01T00:00:00Z");
	created = T("2026-11-26T01:00:00Z");
	expires = T("2026-12-26T01:00:00Z");
	root_expires = T("2027-11-26T00:00:00Z");
	root = (struct trust_root){.version = 3, .expires = root_expires, .threshold = 2, .nkeys = 3};
	memcpy(root.keys, pub, 3 * sizeof(pub[0]));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	scratch_remove();
	return 0;
}

/* ---- helpers ---- */

/* Signatures of @msg by the keys @idx (-1 ends the list), back to back. */
static size_t sign_by(const void *msg, size_t len, const int *idx, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (; *idx >= 0; idx++) {
		int n = minisign_sign(&sec[*idx], msg, len, "ward test", out + o, cap - o);
		assert_true(n > 0);
		o += (size_t)n;
	}
	return o;
}

static struct bundle_meta meta(void)
{
	struct bundle_meta m = {.client = "block", .channel = "stable", .version = 7};
	m.created = created;
	m.expires = expires;
	return m;
}

static uint8_t *build(struct bundle_meta m, const char *payload, size_t *len)
{
	uint8_t *b = NULL;
	assert_int_equal(bundle_build(&m, (const uint8_t *)payload, strlen(payload), &b, len), 0);
	return b;
}

/* A bundle assembled by hand from metadata text and payload. */
static uint8_t *assemble(const char *meta_text, const void *payload, size_t plen, size_t *len)
{
	size_t ml = strlen(meta_text);
	uint8_t *b = malloc(BUNDLE_HDR_LEN + ml + plen + 1);
	assert_non_null(b);
	memcpy(b, "WARDBND1", 8);
	for (int i = 0; i < 4; i++)
		b[8 + i] = (uint8_t)(ml >> (8 * i));
	for (int i = 0; i < 8; i++)
		b[12 + i] = (uint8_t)((uint64_t)plen >> (8 * i));
	memcpy(b + BUNDLE_HDR_LEN, meta_text, ml);
	memcpy(b + BUNDLE_HDR_LEN + ml, payload, plen);
	*len = BUNDLE_HDR_LEN + ml + plen;
	return b;
}

static char err[512];

/* bundle_verify() for client "block", channel "stable", version 6 installed. */
static enum bundle_refusal verify(const uint8_t *b, size_t len, const char *sigs, size_t slen)
{
	struct bundle out;
	enum bundle_refusal r = bundle_verify(&root, b, len, MAX_LEN, sigs, slen, "block", "stable", 6, now, &out, err,
					      sizeof(err));
	if (r == BR_OK) {
		assert_true(out.payload >= b + BUNDLE_HDR_LEN && out.payload + out.payload_len == b + len);
		assert_string_equal(err, "");
	} else {
		assert_true(strlen(err) > 0);
	}
	return r;
}

static const char *const payload = "deny exec /tmp/*\nallow exec /usr/bin/*\n";

/* ---- bundles: accepted ---- */

static void t_build_sign_verify(void **state)
{
	(void)state;
	size_t len;
	struct bundle_meta m = meta();
	uint8_t *b = NULL;
	assert_int_equal(bundle_build(&m, (const uint8_t *)payload, strlen(payload), &b, &len), 0);
	uint8_t h[32];
	crypto_hash_sha256(h, (const uint8_t *)payload, strlen(payload));
	assert_memory_equal(m.payload_sha256, h, 32); /* written back */
	/* byte for byte the documented format */
	char text[1024];
	int ml = bundle_meta_format(&m, text, sizeof(text));
	assert_true(ml > 0);
	assert_non_null(strstr(text, "client=block\nchannel=stable\nversion=7\ncreated=2026-11-26T01:00:00Z\n"
				     "expires=2026-12-26T01:00:00Z\npayload_sha256="));
	size_t hlen;
	uint8_t *hand = assemble(text, payload, strlen(payload), &hlen);
	assert_int_equal(hlen, len);
	assert_memory_equal(hand, b, len);
	free(hand);

	char sigs[SIGS_CAP];
	size_t sl = sign_by(b, len, (const int[]){0, 1, -1}, sigs, sizeof(sigs));
	struct bundle out;
	assert_int_equal(bundle_verify(&root, b, len, MAX_LEN, sigs, sl, "block", "stable", 6, now, &out, err,
				       sizeof(err)),
			 BR_OK);
	assert_string_equal(out.meta.client, "block");
	assert_string_equal(out.meta.channel, "stable");
	assert_int_equal(out.meta.version, 7);
	assert_int_equal(out.meta.created, created);
	assert_int_equal(out.meta.expires, expires);
	assert_int_equal(out.payload_len, strlen(payload));
	assert_memory_equal(out.payload, payload, strlen(payload));
	assert_ptr_equal(out.payload, b + len - strlen(payload));
	/* any channel, nothing installed yet */
	assert_int_equal(bundle_verify(&root, b, len, len, sigs, sl, "block", NULL, 0, now, &out, err, sizeof(err)),
			 BR_OK);
	/* the other order of signatures, one by a stranger among them, trailing empty lines */
	char more[SIGS_CAP];
	size_t ml2 = sign_by(b, len, (const int[]){6, 1, 0, -1}, more, sizeof(more) - 4);
	memcpy(more + ml2, "\n\n", 3);
	assert_int_equal(verify(b, len, more, ml2 + 2), BR_OK);

	/* minisign reads the first block... */
	scratch_write("bundle", b, len);
	scratch_write("bundle.minisig", sigs, sl);
	assert_int_equal(scratch_sh("cd %s && minisign -Vq -m bundle -x bundle.minisig -p k0.pub >/dev/null 2>&1", scratch_dir), 0);
	/* ...only: the second key's signature is the second block */
	assert_true(scratch_sh("cd %s && minisign -Vq -m bundle -x bundle.minisig -p k1.pub >/dev/null 2>&1", scratch_dir) != 0);
	/* each block split out verifies with its own key */
	const char *blk = sigs;
	for (int i = 0; i < 2; i++) {
		const char *q = blk;
		for (int l = 0; l < 4; l++)
			q = strchr(q, '\n') + 1;
		scratch_write("block.minisig", blk, (size_t)(q - blk));
		assert_int_equal(
			scratch_sh("cd %s && minisign -Vq -m bundle -x block.minisig -p k%d.pub >/dev/null 2>&1", scratch_dir, i), 0);
		blk = q;
	}
	assert_int_equal(*blk, '\0');
	/* and minisign refuses the bundle once changed */
	b[len - 1] ^= 1;
	scratch_write("bundle", b, len);
	assert_true(scratch_sh("cd %s && minisign -Vq -m bundle -x bundle.minisig -p k0.pub >/dev/null 2>&1", scratch_dir) != 0);
	free(b);
}

static void t_empty_payload_and_limits(void **state)
{
	(void)state;
	struct bundle_meta m = meta();
	m.version = (uint64_t)INT64_MAX;
	m.created = BUNDLE_TIME_MIN;
	m.expires = BUNDLE_TIME_MAX;
	memset(m.client, 'a', BUNDLE_CLIENT_MAX);
	m.client[BUNDLE_CLIENT_MAX] = '\0';
	memset(m.channel, 'z', BUNDLE_CHANNEL_MAX);
	m.channel[BUNDLE_CHANNEL_MAX] = '\0';
	uint8_t *b = NULL;
	size_t len;
	assert_int_equal(bundle_build(&m, NULL, 0, &b, &len), 0);
	struct bundle out;
	assert_int_equal(bundle_parse(b, len, len, &out, err, sizeof(err)), BR_OK);
	assert_int_equal(out.payload_len, 0);
	assert_string_equal(out.meta.client, m.client);
	assert_string_equal(out.meta.channel, m.channel);
	assert_int_equal(out.meta.version, (uint64_t)INT64_MAX);
	char sigs[SIGS_CAP];
	size_t sl = sign_by(b, len, (const int[]){2, 1, -1}, sigs, sizeof(sigs));
	assert_int_equal(bundle_verify(&root, b, len, len, sigs, sl, m.client, m.channel, (uint64_t)INT64_MAX - 1, now,
				       &out, err, sizeof(err)),
			 BR_OK);
	free(b);
}

/* ---- bundles: each refusal ---- */

static void t_size_refusals(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = build(meta(), payload, &len);
	char sigs[SIGS_CAP];
	size_t sl = sign_by(b, len, (const int[]){0, 1, -1}, sigs, sizeof(sigs));
	struct bundle out;
	/* oversized: before anything else, even an unreadable header */
	assert_int_equal(bundle_verify(&root, b, len, len - 1, sigs, sl, "block", "stable", 6, now, &out, err,
				       sizeof(err)),
			 BR_OVERSIZED);
	assert_int_equal(bundle_parse((const uint8_t *)"junk!", 5, 4, &out, err, sizeof(err)), BR_OVERSIZED);
	assert_int_equal(bundle_parse(b, len, len - 1, &out, err, sizeof(err)), BR_OVERSIZED);
	/* truncated: one byte short, then the header cut; the message gives both sizes */
	assert_int_equal(verify(b, len - 1, sigs, sl), BR_TRUNCATED);
	char want[64];
	snprintf(want, sizeof(want), "header says %zu bytes, the file has %zu", len, len - 1);
	assert_non_null(strstr(err, want));
	assert_int_equal(verify(b, 10, sigs, sl), BR_TRUNCATED);
	assert_int_equal(verify(b, 0, sigs, sl), BR_TRUNCATED);
	assert_int_equal(verify(b, BUNDLE_HDR_LEN + 3, sigs, sl), BR_TRUNCATED);
	/* a payload length that would overflow the total */
	uint8_t hdr[BUNDLE_HDR_LEN];
	memcpy(hdr, b, sizeof(hdr));
	memset(hdr + 12, 0xff, 8);
	assert_int_equal(bundle_parse(hdr, sizeof(hdr), MAX_LEN, &out, err, sizeof(err)), BR_TRUNCATED);
	/* malformed: a trailing byte, the magic, metadata lengths 0 and 4097 */
	uint8_t *big = malloc(len + 1);
	assert_non_null(big);
	memcpy(big, b, len);
	big[len] = '\n';
	assert_int_equal(verify(big, len + 1, sigs, sl), BR_MALFORMED);
	assert_non_null(strstr(err, "trailing"));
	memcpy(big, b, len);
	big[7] = '2';
	assert_int_equal(verify(big, len, sigs, sl), BR_MALFORMED);
	assert_int_equal(bundle_parse((const uint8_t *)"WARX", 4, MAX_LEN, &out, err, sizeof(err)), BR_MALFORMED);
	memcpy(big, b, len);
	memset(big + 8, 0, 4);
	assert_int_equal(verify(big, len, sigs, sl), BR_MALFORMED);
	big[9] = 0x10, big[8] = 0x01; /* 4097 */
	assert_int_equal(verify(big, len, sigs, sl), BR_MALFORMED);
	/* metadata length and payload length disagreeing with the text */
	memcpy(big, b, len);
	big[8]--, big[12]++;
	assert_int_equal(verify(big, len, sigs, sl), BR_MALFORMED); /* the newline of the last line went */
	free(big);
	free(b);
}

static void t_bad_signature(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = build(meta(), payload, &len);
	char sigs[SIGS_CAP];
	size_t sl = sign_by(b, len, (const int[]){0, 1, -1}, sigs, sizeof(sigs));
	/* the payload changed after signing: the signature says so before the hash does */
	b[len - 2] ^= 0x20;
	assert_int_equal(verify(b, len, sigs, sl), BR_BAD_SIGNATURE);
	assert_non_null(strstr(err, "signature 1"));
	b[len - 2] ^= 0x20;
	/* the version raised by hand: still well-formed, no longer signed */
	uint8_t *v = (uint8_t *)memmem(b, len, "version=7", 9);
	assert_non_null(v);
	v[8] = '9';
	assert_int_equal(verify(b, len, sigs, sl), BR_BAD_SIGNATURE);
	v[8] = '7';
	assert_int_equal(verify(b, len, sigs, sl), BR_OK);
	/* the global signature (line 4 of block 2) damaged */
	char bad[SIGS_CAP];
	memcpy(bad, sigs, sl + 1);
	char *l4 = bad;
	for (int l = 0; l < 7; l++)
		l4 = strchr(l4, '\n') + 1;
	l4[0] = l4[0] == 'A' ? 'B' : 'A';
	assert_int_equal(verify(b, len, bad, sl), BR_BAD_SIGNATURE);
	assert_non_null(strstr(err, "signature 2"));
	assert_non_null(strstr(err, "trusted comment"));
	/* the trusted comment changed */
	memcpy(bad, sigs, sl + 1);
	char *tc = strstr(bad, "\ntrusted comment: ward test");
	assert_non_null(tc);
	tc[strlen("\ntrusted comment: ward")] = 'T';
	assert_int_equal(verify(b, len, bad, sl), BR_BAD_SIGNATURE);
	/* enough good signatures do not excuse a bad one by a root key */
	size_t bl = sign_by("other", 5, (const int[]){2, -1}, bad, sizeof(bad));
	memcpy(bad + bl, sigs, sl + 1);
	assert_int_equal(verify(b, len, bad, bl + sl), BR_BAD_SIGNATURE);
	/* a key id of the root with another public key behind it */
	struct minisign_seckey forger = sec[6];
	memcpy(forger.keyid, pub[1].keyid, MINISIGN_KEYID_LEN);
	int n = minisign_sign(&forger, b, len, "forged", bad, sizeof(bad));
	assert_true(n > 0);
	assert_int_equal(verify(b, len, bad, (size_t)n), BR_BAD_SIGNATURE);
	/* a signature of a stranger's is no bad signature, only no signature */
	size_t sl6 = sign_by("other", 5, (const int[]){6, -1}, bad, sizeof(bad));
	memcpy(bad + sl6, sigs, sl + 1);
	assert_int_equal(verify(b, len, bad, sl6 + sl), BR_OK);
	free(b);
}

static void t_too_few_signatures(void **state)
{
	(void)state;
	size_t len;
	uint8_t *b = build(meta(), payload, &len);
	char sigs[SIGS_CAP];
	size_t sl = sign_by(b, len, (const int[]){1, -1}, sigs, sizeof(sigs));
	assert_int_equal(verify(b, len, sigs, sl), BR_TOO_FEW_SIGNATURES);
	assert_non_null(strstr(err, "1 of 2 needed"));
	/* the same key twice counts once */
	sl = sign_by(b, len, (const int[]){1, 1, -1}, sigs, sizeof(sigs));
	assert_int_equal(verify(b, len, sigs, sl), BR_TOO_FEW_SIGNATURES);
	assert_non_null(strstr(err, "1 of 2 needed"));
	/* a stranger's signature does not count */
	sl = sign_by(b, len, (const int[]){0, 6, -1}, sigs, sizeof(sigs));
	assert_int_equal(verify(b, len, sigs, sl), BR_TOO_FEW_SIGNATURES);
	sl = sign_by(b, len, (const int[]){6, 5, 4, 3, -1}, sigs, sizeof(sigs));
	assert_int_equal(verify(b, len, sigs, sl), BR_TOO_FEW_SIGNATURES);
	assert_non_null(strstr(err, "0 of 2 needed"));
	/* a root listing one key twice (not a root trust_parse accepts) still counts it once */
	struct trust_root twice = root;
	twice.keys[2] = twice.keys[1];
	sl = sign_by(b, len, (const int[]){1, -1}, sigs, sizeof(sigs));
	unsigned valid = 9;
	struct minisign_sig parsed[BUNDLE_SIGS_MAX];
	size_t n = 0;
	assert_int_equal(sigset_parse(sigs, sl, parsed, BUNDLE_SIGS_MAX, &n, err, sizeof(err)), 0);
	assert_int_equal(sigset_count(twice.keys, 3, parsed, n, b, len, &valid, err, sizeof(err)), BR_OK);
	assert_int_equal(valid, 1);
	/* ...also under another key id: the key id is an unsigned label */
	memcpy(twice.keys[2].keyid, pub[6].keyid, MINISIGN_KEYID_LEN);
	memcpy(parsed[1].keyid, pub[6].keyid, MINISIGN_KEYID_LEN);
	parsed[1] = parsed[0];
	memcpy(parsed[1].keyid, pub[6].keyid, MINISIGN_KEYID_LEN);
	assert_int_equal(sigset_count(twice.keys, 3, parsed, 2, b, len, &valid, err, sizeof(err)), BR_OK);
	assert_int_equal(valid, 1);
	/* three of three */
	sl = sign_by(b, len, (const int[]){2, 0, 1, -1}, sigs, sizeof(sigs));
	assert_int_equal(sigset_parse(sigs, sl, parsed, BUNDLE_SIGS_MAX, &n, err, sizeof(err)), 0);
	assert_int_equal(sigset_count(root.keys, 3, parsed, n, b, len, &valid, err, sizeof(err)), BR_OK);
	assert_int_equal(valid, 3);
	free(b);
}

static void t_hash_mismatch(void **state)
{
	(void)state;
	/* metadata naming another payload, signed as it is */
	struct bundle_meta m = meta();
	memset(m.payload_sha256, 0xab, 32);
	char text[1024];
	assert_true(bundle_meta_format(&m, text, sizeof(text)) > 0);
	size_t len;
	uint8_t *b = assemble(text, payload, strlen(payload), &len);
	char sigs[SIGS_CAP];
	size_t sl = sign_by(b, len, (const int[]){0, 2, -1}, sigs, sizeof(sigs));
	assert_int_equal(verify(b, len, sigs, sl), BR_HASH_MISMATCH);
	free(b);
	/* the hash of an empty payload for a one-byte one */
	m = meta();
	uint8_t *e = NULL;
	size_t elen;
	assert_int_equal(bundle_build(&m, NULL, 0, &e, &elen), 0);
	assert_true(bundle_meta_format(&m, text, sizeof(text)) > 0);
	b = assemble(text, "x", 1, &len);
	sl = sign_by(b, len, (const int[]){0, 2, -1}, sigs, sizeof(sigs));
	assert_int_equal(verify(b, len, sigs, sl), BR_HASH_MISMATCH);
	free(b);
	free(e);
}

static void t_client_channel_expiry_rollback(void **state)
{
	(void)state;
	size_t len;
	struct bundle out;
	char sigs[SIGS_CAP];
	uint8_t *b = build(meta(), payload, &len);
	size_t sl = sign_by(b, len, (const int[]){0, 1, -1}, sigs, sizeof(sigs));
	assert_int_equal(bundle_verify(&root, b, len, MAX_LEN, sigs, sl, "nginx-guard", "stable", 6, now, &out, err,
				       sizeof(err)),
			 BR_WRONG_CLIENT);
	assert_non_null(strstr(err, "\"block\""));
	assert_non_null(strstr(err, "\"nginx-guard\""));
	assert_int_equal(bundle_verify(&root, b, len, MAX_LEN, sigs, sl, "block", "beta", 6, now, &out, err,
				       sizeof(err)),
			 BR_WRONG_CHANNEL);
	assert_non_null(strstr(err, "\"beta\""));
	/* expired: at the instant of expiry and after */
	assert_int_equal(bundle_verify(&root, b, len, MAX_LEN, sigs, sl, "block", "stable", 6, expires, &out, err,
				       sizeof(err)),
			 BR_EXPIRED);
	assert_non_null(strstr(err, "expired at 2026-12-26T01:00:00Z (freeze attack or stale content)"));
	assert_int_equal(bundle_verify(&root, b, len, MAX_LEN, sigs, sl, "block", "stable", 6, expires + 86400, &out,
				       err, sizeof(err)),
			 BR_EXPIRED);
	assert_int_equal(bundle_verify(&root, b, len, MAX_LEN, sigs, sl, "block", "stable", 6, expires - 1, &out, err,
				       sizeof(err)),
			 BR_OK);
	/* rollback: the same version, an older one */
	assert_int_equal(bundle_verify(&root, b, len, MAX_LEN, sigs, sl, "block", "stable", 7, now, &out, err,
				       sizeof(err)),
			 BR_ROLLBACK);
	assert_non_null(strstr(err, "version 7 is not newer than 7"));
	assert_int_equal(bundle_verify(&root, b, len, MAX_LEN, sigs, sl, "block", "stable", 8, now, &out, err,
				       sizeof(err)),
			 BR_ROLLBACK);
	struct bundle_meta m6 = meta();
	m6.version = 6;
	uint8_t *b6 = build(m6, payload, &len);
	sl = sign_by(b6, len, (const int[]){0, 1, -1}, sigs, sizeof(sigs));
	assert_int_equal(bundle_verify(&root, b6, len, MAX_LEN, sigs, sl, "block", "stable", 7, now, &out, err,
				       sizeof(err)),
			 BR_ROLLBACK);
	assert_non_null(strstr(err, "version 6 is not newer than 7"));
	/* the root expired */
	struct trust_root old = root;
	old.expires = now;
	assert_int_equal(bundle_verify(&old, b6, len, MAX_LEN, sigs, sl, "block", "stable", 0, now, &out, err,
				       sizeof(err)),
			 BR_ROOT_EXPIRED);
	/* a root that is not one */
	old = root;
	old.threshold = 0;
	assert_int_equal(bundle_verify(&old, b6, len, MAX_LEN, sigs, sl, "block", "stable", 0, now, &out, err,
				       sizeof(err)),
			 BR_MALFORMED);
	free(b6);
	free(b);
}

/* The first failure wins, in the documented order. */
static void t_order(void **state)
{
	(void)state;
	struct bundle out;
	char sigs[SIGS_CAP];
	struct bundle_meta m = meta();
	m.client[0] = 'x'; /* wrong client, and (below) expired, old, bad hash */
	memset(m.payload_sha256, 0, 32);
	char text[1024];
	assert_true(bundle_meta_format(&m, text, sizeof(text)) > 0);
	size_t len;
	uint8_t *b = assemble(text, payload, strlen(payload), &len);
	size_t sl = sign_by(b, len, (const int[]){1, -1}, sigs, sizeof(sigs));
	struct trust_root expired = root;
	expired.expires = now - 1;
#define V(rt, l, max, s, sn)                                                                                     \
	bundle_verify(rt, b, l, max, s, sn, "block", "stable", 9, expires + 1, &out, err, sizeof(err))
	assert_int_equal(V(&expired, len, len - 1, "junk", 4), BR_OVERSIZED);
	assert_int_equal(V(&expired, len - 1, len, "junk", 4), BR_TRUNCATED);
	assert_int_equal(V(&expired, len, len, "junk", 4), BR_ROOT_EXPIRED);
	expired.expires = expires + 2;
	assert_int_equal(V(&expired, len, len, "junk", 4), BR_MALFORMED);
	assert_int_equal(V(&expired, len, len, sigs, sl), BR_TOO_FEW_SIGNATURES);
	sl = sign_by(b, len, (const int[]){1, 2, -1}, sigs, sizeof(sigs));
	assert_int_equal(V(&expired, len, len, sigs, sl), BR_HASH_MISMATCH);
	free(b);
	b = build(m, payload, &len);
	sl = sign_by(b, len, (const int[]){1, 2, -1}, sigs, sizeof(sigs));
	assert_int_equal(V(&expired, len, len, sigs, sl), BR_WRONG_CLIENT);
	assert_int_equal(bundle_verify(&expired, b, len, len, sigs, sl, "xlock", "beta", 9, expires + 1, &out, err,
				       sizeof(err)),
			 BR_WRONG_CHANNEL);
	assert_int_equal(bundle_verify(&expired, b, len, len, sigs, sl, "xlock", NULL, 9, expires + 1, &out, err,
				       sizeof(err)),
			 BR_EXPIRED);
	assert_int_equal(bundle_verify(&expired, b, len, len, sigs, sl, "xlock", NULL, 9, expires - 1, &out, err,
				       sizeof(err)),
			 BR_ROLLBACK);
	assert_int_equal(bundle_verify(&expired, b, len, len, sigs, sl, "xlock", NULL, 6, expires - 1, &out, err,
				       sizeof(err)),
			 BR_OK);
#undef V
	free(b);
}

/* ---- signature files ---- */

static void t_sigset_parse(void **state)
{
	(void)state;
	struct minisign_sig *sigs = calloc(BUNDLE_SIGS_MAX + 1, sizeof(*sigs));
	assert_non_null(sigs);
	char *text = malloc(BUNDLE_SIGFILE_MAX + 2);
	assert_non_null(text);
	size_t n = 0, o = 0;
	int idx[BUNDLE_SIGS_MAX + 2];
	for (int i = 0; i <= BUNDLE_SIGS_MAX; i++)
		idx[i] = i % NKEYS;
	idx[BUNDLE_SIGS_MAX + 1] = -1;
	o = sign_by("m", 1, idx, text, BUNDLE_SIGFILE_MAX);
	/* 17 blocks: too many; 16 fine; the caller's room is respected */
	assert_int_equal(sigset_parse(text, o, sigs, BUNDLE_SIGS_MAX + 1, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than 16"));
	size_t o16 = sign_by("m", 1, (int[]){0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4, 5, 6, 0, 1, -1}, text,
			     BUNDLE_SIGFILE_MAX);
	assert_int_equal(sigset_parse(text, o16, sigs, BUNDLE_SIGS_MAX, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 16);
	assert_memory_equal(sigs[15].keyid, pub[1].keyid, MINISIGN_KEYID_LEN);
	assert_int_equal(sigset_parse(text, o16, sigs, 3, &n, err, sizeof(err)), -EINVAL);
	/* the last newline may be missing; empty lines at the end are fine */
	o = sign_by("m", 1, (const int[]){0, 1, -1}, text, BUNDLE_SIGFILE_MAX);
	assert_int_equal(sigset_parse(text, o - 1, sigs, BUNDLE_SIGS_MAX, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	memcpy(text + o, "\n\r\n\n", 5);
	assert_int_equal(sigset_parse(text, o + 4, sigs, BUNDLE_SIGS_MAX, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	/* but nothing else: text after, an empty line between, a block cut short */
	memcpy(text + o, "x\n", 3);
	assert_int_equal(sigset_parse(text, o + 2, sigs, BUNDLE_SIGS_MAX, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "signature 3:"));
	size_t first = (size_t)(strstr(text + 1, "untrusted comment:") - text);
	char gap[SIGS_CAP];
	memcpy(gap, text, first);
	gap[first] = '\n';
	memcpy(gap + first + 1, text + first, o - first);
	assert_int_equal(sigset_parse(gap, o + 1, sigs, BUNDLE_SIGS_MAX, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "signature 2:"));
	assert_int_equal(sigset_parse(text, first - 30, sigs, BUNDLE_SIGS_MAX, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "signature 1:"));
	assert_int_equal(sigset_parse("", 0, sigs, BUNDLE_SIGS_MAX, &n, err, sizeof(err)), -EINVAL);
	assert_int_equal(sigset_parse("\n\n", 2, sigs, BUNDLE_SIGS_MAX, &n, err, sizeof(err)), -EINVAL);
	assert_int_equal(sigset_parse(text, BUNDLE_SIGFILE_MAX + 1, sigs, BUNDLE_SIGS_MAX, &n, err, sizeof(err)),
			 -EINVAL);
	/* a malformed signature file makes a malformed bundle */
	size_t len;
	uint8_t *b = build(meta(), payload, &len);
	assert_int_equal(verify(b, len, "untrusted comment: x\n", 21), BR_MALFORMED);
	assert_int_equal(verify(b, len, "", 0), BR_MALFORMED);
	/* err may be NULL when errlen is 0 */
	assert_int_equal(sigset_parse("", 0, sigs, BUNDLE_SIGS_MAX, &n, NULL, 0), -EINVAL);
	struct bundle out;
	assert_int_equal(bundle_verify(&root, b, len, MAX_LEN, "", 0, "block", NULL, 0, now, &out, NULL, 0),
			 BR_MALFORMED);
	free(b);
	free(text);
	free(sigs);
}

/* ---- metadata ---- */

#define HASH "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define L1 "client=block\n"
#define L2 "channel=stable\n"
#define L3 "version=7\n"
#define L4 "created=2026-11-26T01:00:00Z\n"
#define L5 "expires=2026-12-26T01:00:00Z\n"
#define L6 "payload_sha256=" HASH "\n"

static void t_meta_parse_ok(void **state)
{
	(void)state;
	struct bundle_meta m;
	const char *text = L1 L2 L3 L4 L5 L6;
	assert_int_equal(bundle_meta_parse(text, strlen(text), &m, err, sizeof(err)), BR_OK);
	assert_string_equal(m.client, "block");
	assert_string_equal(m.channel, "stable");
	assert_int_equal(m.version, 7);
	assert_int_equal(m.created, created);
	assert_int_equal(m.expires, expires);
	assert_int_equal(m.payload_sha256[0], 0x01);
	assert_int_equal(m.payload_sha256[31], 0xef);
	/* not NUL-terminated: only @len bytes are read */
	char copy[512];
	memcpy(copy, text, strlen(text));
	memset(copy + strlen(text), 'x', 16);
	assert_int_equal(bundle_meta_parse(copy, strlen(text), &m, err, sizeof(err)), BR_OK);
	/* the edges of every value */
	const char *edges[] = {
		"client=0\n" L2 L3 L4 L5 L6,
		"client=a.b_c-d\n" L2 L3 L4 L5 L6,
		"client=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n" L2 L3 L4 L5 L6,
		L1 "channel=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n" L3 L4 L5 L6,
		L1 L2 "version=1\n" L4 L5 L6,
		L1 L2 "version=9223372036854775807\n" L4 L5 L6,
		L1 L2 L3 "created=1970-01-01T00:00:00Z\nexpires=9999-12-31T23:59:59Z\n" L6,
		L1 L2 L3 "created=2028-02-29T23:59:59Z\nexpires=2028-03-01T00:00:00Z\n" L6,
		L1 L2 L3 "created=2000-02-29T00:00:00Z\n" L5 L6,
	};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		if (bundle_meta_parse(edges[i], strlen(edges[i]), &m, err, sizeof(err)) != BR_OK)
			fail_msg("edge %zu refused: %s", i, err);
	}
	assert_int_equal(m.created, 951782400);
}

static void t_meta_malformed(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *msg; /* in the message */
	} cases[] = {
		{L2 L1 L3 L4 L5 L6, "line 1: \"channel\" where \"client\" belongs"}, /* wrong order */
		{L1 L3 L2 L4 L5 L6, "line 2: \"version\" where \"channel\""},
		{L1 L1 L2 L3 L4 L5 L6, "line 2: duplicate key \"client\""},
		{L1 L2 L3 L4 L5 L6 L1, "line 7: duplicate key \"client\""},
		{L1 L2 L3 L4 L5 L5, "line 6: duplicate key \"expires\""},
		{L1 L3 L4 L5 L6, "line 2:"},                 /* missing channel */
		{L1 L2 L3 L4 L5, "line 6: missing"},         /* missing hash */
		{"", "empty"},
		{L1 L2 L3 L4 L5 L6 "signer=alice\n", "line 7"}, /* extra key */
		{L1 "signer=alice\n" L2 L3 L4 L5 L6, "line 2: unknown key \"signer\""},
		{L1 L2 L3 L4 L5 L6 "\n", "line 7"},        /* blank line at the end */
		{L1 "\n" L2 L3 L4 L5 L6, "line 2: empty"}, /* blank line inside */
		{"client=block\r\n" L2 L3 L4 L5 L6, "line 1: carriage return"},
		{L1 L2 L3 L4 L5 "payload_sha256=" HASH "\r\n", "line 6: carriage return"},
		{L1 L2 L3 L4 L5 "payload_sha256=" HASH, "line 6:"}, /* no final newline */
		{"client = block\n" L2 L3 L4 L5 L6, "line 1: space around '='"},
		{"client =block\n" L2 L3 L4 L5 L6, "line 1: space around '='"},
		{"client= block\n" L2 L3 L4 L5 L6, "line 1: space around '='"},
		{" client=block\n" L2 L3 L4 L5 L6, "line 1: unknown key"},
		{"client=block \n" L2 L3 L4 L5 L6, "line 1: client"},
		{"client:block\n" L2 L3 L4 L5 L6, "line 1: \"client:block\" is not key=value"},
		{"Client=block\n" L2 L3 L4 L5 L6, "line 1: unknown key"},
		{"client=Block\n" L2 L3 L4 L5 L6, "line 1: client"},
		{"client=\n" L2 L3 L4 L5 L6, "line 1: client"},
		{"client=.block\n" L2 L3 L4 L5 L6, "line 1: client"},
		{"client=-block\n" L2 L3 L4 L5 L6, "line 1: client"},
		{"client=bl/ock\n" L2 L3 L4 L5 L6, "line 1: client"},
		{"client=bl\xc3\xb6" "ck\n" L2 L3 L4 L5 L6, "\\xc3\\xb6"}, /* non-ASCII, escaped */
		{"client=block=x\n" L2 L3 L4 L5 L6, "line 1: client"},
		{"client=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n" L2 L3 L4 L5 L6,
		 "at most 63"}, /* 64 characters */
		{L1 "channel=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n" L3 L4 L5 L6, "line 2: channel"}, /* 33 */
		{L1 "channel=\n" L3 L4 L5 L6, "line 2: channel"},
		{L1 L2 "version=07\n" L4 L5 L6, "line 3: version \"07\" has a leading zero"},
		{L1 L2 "version=0\n" L4 L5 L6, "line 3: version 0"},
		{L1 L2 "version=00\n" L4 L5 L6, "leading zero"},
		{L1 L2 "version=\n" L4 L5 L6, "line 3: version"},
		{L1 L2 "version=+7\n" L4 L5 L6, "not a decimal number"},
		{L1 L2 "version=-7\n" L4 L5 L6, "not a decimal number"},
		{L1 L2 "version=7a\n" L4 L5 L6, "not a decimal number"},
		{L1 L2 "version=0x7\n" L4 L5 L6, "not a decimal number"},
		{L1 L2 "version=7.0\n" L4 L5 L6, "not a decimal number"},
		{L1 L2 "version=9223372036854775808\n" L4 L5 L6, "larger than 2^63-1"},
		{L1 L2 "version=18446744073709551616\n" L4 L5 L6, "larger than 2^63-1"},
		{L1 L2 "version=99999999999999999999999\n" L4 L5 L6, "larger than 2^63-1"},
		{L1 L2 L3 "created=2026-02-30T01:00:00Z\n" L5 L6, "line 4: created"},
		{L1 L2 L3 "created=2026-02-29T01:00:00Z\n" L5 L6, "line 4: created"}, /* not a leap year */
		{L1 L2 L3 "created=2100-02-29T01:00:00Z\n" L5 L6, "line 4: created"},
		{L1 L2 L3 "created=2026-04-31T01:00:00Z\n" L5 L6, "line 4: created"},
		{L1 L2 L3 "created=2026-13-01T01:00:00Z\n" L5 L6, "line 4: created"},
		{L1 L2 L3 "created=2026-00-01T01:00:00Z\n" L5 L6, "line 4: created"},
		{L1 L2 L3 "created=2026-11-00T01:00:00Z\n" L5 L6, "line 4: created"},
		{L1 L2 L3 "created=2026-11-26T24:00:00Z\n" L5 L6, "line 4: created"},
		{L1 L2 L3 "created=2026-11-26T01:60:00Z\n" L5 L6, "line 4: created"},
		{L1 L2 L3 "created=2026-11-26T01:00:60Z\n" L5 L6, "line 4: created"}, /* no leap seconds */
		{L1 L2 L3 "created=2026-11-26t01:00:00Z\n" L5 L6, "line 4: created"},
		{L1 L2 L3 "created=2026-11-26T01:00:00z\n" L5 L6, "line 4: created"},
		{L1 L2 L3 "created=2026-11-26 01:00:00Z\n" L5 L6, "line 4: created"},
		{L1 L2 L3 "created=2026-11-26T01:00:00\n" L5 L6, "line 4: created"},
		{L1 L2 L3 "created=2026-11-26T01:00:00+00:00\n" L5 L6, "line 4: created"},
		{L1 L2 L3 "created=2026-11-26T01:00:00.5Z\n" L5 L6, "line 4: created"},
		{L1 L2 L3 "created=2026-1-26T01:00:00Z\n" L5 L6, "line 4: created"},
		{L1 L2 L3 "created=1969-12-31T23:59:59Z\n" L5 L6, "line 4: created"},
		{L1 L2 L3 "created=+026-11-26T01:00:00Z\n" L5 L6, "line 4: created"},
		{L1 L2 L3 "created=1795654800\n" L5 L6, "line 4: created"},
		{L1 L2 L3 L4 "expires=2026-11-31T01:00:00Z\n" L6, "line 5: expires"},
		{L1 L2 L3 L4 "expires=2026-11-26T01:00:00Z\n" L6, "line 5: expires 2026-11-26T01:00:00Z is not after"},
		{L1 L2 L3 L4 "expires=2026-11-26T00:59:59Z\n" L6, "is not after created 2026-11-26T01:00:00Z"},
		{L1 L2 L3 L4 L5 "payload_sha256=" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\n",
		 "line 6: payload_sha256"}, /* upper case */
		{L1 L2 L3 L4 L5 "payload_sha256=" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n",
		 "line 6: payload_sha256"}, /* 63 */
		{L1 L2 L3 L4 L5 "payload_sha256=" HASH "0\n", "line 6: payload_sha256"},
		{L1 L2 L3 L4 L5 "payload_sha256=" "0123456789abcdeg0123456789abcdef0123456789abcdef0123456789abcdef\n",
		 "line 6: payload_sha256"},
		{L1 L2 L3 L4 L5 "payload_sha256=\n", "line 6: payload_sha256"},
		{L1 L2 L3 L4 L5 "sha256=" HASH "\n", "line 6: unknown key"},
	};
	struct bundle_meta m;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(err, 0, sizeof(err));
		enum bundle_refusal r = bundle_meta_parse(cases[i].text, strlen(cases[i].text), &m, err, sizeof(err));
		if (r != BR_MALFORMED || !strstr(err, cases[i].msg))
			fail_msg("case %zu: %s (%s), expected malformed with \"%s\"", i, bundle_refusal_name(r), err,
				 cases[i].msg);
		/* and as the metadata of a bundle */
		size_t len;
		uint8_t *b = assemble(cases[i].text[0] ? cases[i].text : "\n", payload, strlen(payload), &len);
		struct bundle out;
		assert_int_equal(bundle_parse(b, len, MAX_LEN, &out, err, sizeof(err)), BR_MALFORMED);
		assert_non_null(strstr(err, "metadata"));
		free(b);
	}
	/* a NUL byte, a control character (escaped in the message), too much text */
	char text[BUNDLE_META_MAX + 2];
	const char *good = L1 L2 L3 L4 L5 L6;
	size_t gl = strlen(good);
	memcpy(text, good, gl);
	text[3] = '\0';
	assert_int_equal(bundle_meta_parse(text, gl, &m, err, sizeof(err)), BR_MALFORMED);
	text[3] = 'e';
	text[9] = '\x1b';
	assert_int_equal(bundle_meta_parse(text, gl, &m, err, sizeof(err)), BR_MALFORMED);
	assert_non_null(strstr(err, "\\x1b"));
	assert_null(strchr(err, '\x1b'));
	memcpy(text, good, gl);
	memset(text + gl, 'x', sizeof(text) - gl);
	assert_int_equal(bundle_meta_parse(text, BUNDLE_META_MAX + 1, &m, err, sizeof(err)), BR_MALFORMED);
	assert_int_equal(bundle_meta_parse(text, BUNDLE_META_MAX, &m, err, sizeof(err)), BR_MALFORMED);
	assert_non_null(strstr(err, "line 7"));
	/* a long line is shortened in the message */
	assert_true(strlen(err) < 200);
	/* a short err buffer is still NUL-terminated */
	char tiny[8];
	assert_int_equal(bundle_meta_parse(text, BUNDLE_META_MAX, &m, tiny, sizeof(tiny)), BR_MALFORMED);
	assert_int_equal(strlen(tiny), 7);
}

/* ---- round trips ---- */

static void random_name(char *out, size_t max)
{
	static const char first[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	static const char rest[] = "abcdefghijklmnopqrstuvwxyz0123456789._-";
	size_t n = 1 + randombytes_uniform((uint32_t)max);
	out[0] = first[randombytes_uniform(sizeof(first) - 1)];
	for (size_t i = 1; i < n; i++)
		out[i] = rest[randombytes_uniform(sizeof(rest) - 1)];
	out[n] = '\0';
}

static void t_meta_round_trip(void **state)
{
	(void)state;
	for (int i = 0; i < 300; i++) {
		struct bundle_meta m, back;
		memset(&m, 0, sizeof(m));
		random_name(m.client, BUNDLE_CLIENT_MAX);
		random_name(m.channel, BUNDLE_CHANNEL_MAX);
		randombytes_buf(&m.version, sizeof(m.version));
		m.version = (m.version >> (1 + randombytes_uniform(63))) | 1;
		m.created = randombytes_uniform(2000000000u) * (int64_t)(1 + randombytes_uniform(126));
		m.expires = m.created + 1 + randombytes_uniform(1000000000u);
		randombytes_buf(m.payload_sha256, 32);
		char text[1024], again[1024];
		int n = bundle_meta_format(&m, text, sizeof(text));
		assert_true(n > 0 && (size_t)n == strlen(text));
		if (bundle_meta_parse(text, (size_t)n, &back, err, sizeof(err)) != BR_OK)
			fail_msg("%s: %s", text, err);
		assert_string_equal(back.client, m.client);
		assert_string_equal(back.channel, m.channel);
		assert_int_equal(back.version, m.version);
		assert_int_equal(back.created, m.created);
		assert_int_equal(back.expires, m.expires);
		assert_memory_equal(back.payload_sha256, m.payload_sha256, 32);
		assert_int_equal(bundle_meta_format(&back, again, sizeof(again)), n);
		assert_string_equal(again, text);
		/* exactly the length is too little room: the NUL needs one more */
		assert_int_equal(bundle_meta_format(&m, again, (size_t)n), -ENOSPC);
		assert_int_equal(bundle_meta_format(&m, again, (size_t)n + 1), n);
		/* and through a whole bundle */
		size_t plen = randombytes_uniform(300), len;
		uint8_t pl[300], *b = NULL;
		randombytes_buf(pl, plen);
		assert_int_equal(bundle_build(&m, pl, plen, &b, &len), 0);
		struct bundle bb;
		assert_int_equal(bundle_parse(b, len, len, &bb, err, sizeof(err)), BR_OK);
		assert_int_equal(bb.payload_len, plen);
		assert_memory_equal(bb.payload, pl, plen);
		assert_int_equal(bb.meta.version, m.version);
		assert_memory_equal(bb.meta.payload_sha256, m.payload_sha256, 32);
		free(b);
	}
}

static void t_build_refusals(void **state)
{
	(void)state;
	uint8_t *b = NULL;
	size_t len = 0;
	char text[1024];
	struct bundle_meta bad[8];
	for (int i = 0; i < 8; i++)
		bad[i] = meta();
	strcpy(bad[0].client, "Block");
	bad[1].client[0] = '\0';
	memset(bad[2].channel, 'a', sizeof(bad[2].channel)); /* no NUL */
	bad[3].version = 0;
	bad[4].version = (uint64_t)INT64_MAX + 1;
	bad[5].expires = bad[5].created;
	bad[6].created = -1;
	bad[7].expires = BUNDLE_TIME_MAX + 1;
	for (int i = 0; i < 8; i++) {
		uint8_t before[32];
		memcpy(before, bad[i].payload_sha256, 32);
		assert_int_equal(bundle_build(&bad[i], (const uint8_t *)"x", 1, &b, &len), -EINVAL);
		assert_memory_equal(before, bad[i].payload_sha256, 32); /* untouched */
		assert_int_equal(bundle_meta_format(&bad[i], text, sizeof(text)), -EINVAL);
	}
	assert_null(b);
	struct bundle_meta m = meta();
	assert_int_equal(bundle_build(&m, NULL, 3, &b, &len), -EINVAL);
	assert_int_equal(bundle_meta_format(&m, text, 10), -ENOSPC);
}

static void t_times(void **state)
{
	(void)state;
	int64_t t = -1;
	char s[BUNDLE_TIME_LEN + 1];
	assert_int_equal(bundle_time_parse("1970-01-01T00:00:00Z", 20, &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(bundle_time_parse("2026-11-26T01:00:00Z", 20, &t), 0);
	assert_int_equal(t, 1795654800);
	assert_int_equal(bundle_time_parse("9999-12-31T23:59:59Z", 20, &t), 0);
	assert_int_equal(t, BUNDLE_TIME_MAX);
	assert_int_equal(bundle_time_parse("2026-11-26T01:00:00Z", 19, &t), -EINVAL);
	assert_int_equal(bundle_time_parse("2026-11-26T01:00:00Zx", 21, &t), -EINVAL);
	assert_int_equal(bundle_time_parse(NULL, 20, &t), -EINVAL);
	bundle_time_format(1795654800, s);
	assert_string_equal(s, "2026-11-26T01:00:00Z");
	bundle_time_format(-5, s);
	assert_string_equal(s, "1970-01-01T00:00:00Z");
	bundle_time_format(INT64_MAX, s);
	assert_string_equal(s, "9999-12-31T23:59:59Z");
	for (int i = 0; i < 2000; i++) {
		int64_t v = (int64_t)(((uint64_t)randombytes_random() << 32 | randombytes_random()) %
				      (uint64_t)(BUNDLE_TIME_MAX + 1));
		bundle_time_format(v, s);
		assert_int_equal(strlen(s), BUNDLE_TIME_LEN);
		assert_int_equal(bundle_time_parse(s, BUNDLE_TIME_LEN, &t), 0);
		assert_int_equal(t, v);
	}
}

static void t_refusal_names(void **state)
{
	(void)state;
	static const char *const names[] = {"ok", "oversized", "truncated", "malformed", "bad_signature",
					    "too_few_signatures", "hash_mismatch", "wrong_client", "wrong_channel",
					    "expired", "rollback", "root_expired"};
	for (int i = 0; i <= BR_ROOT_EXPIRED; i++)
		assert_string_equal(bundle_refusal_name((enum bundle_refusal)i), names[i]);
	assert_string_equal(bundle_refusal_name((enum bundle_refusal)99), "unknown");
}

/* ---- roots of trust ---- */

static struct trust_root make_root(uint64_t version, int64_t exp, unsigned threshold, const int *idx)
{
	struct trust_root r;
	memset(&r, 0, sizeof(r));
	r.version = version;
	r.expires = exp;
	r.threshold = threshold;
	for (; *idx >= 0; idx++)
		r.keys[r.nkeys++] = pub[*idx];
	return r;
}

static size_t root_text(const struct trust_root *r, char *out, size_t cap)
{
	int n = trust_format(r, out, cap);
	assert_true(n > 0);
	return (size_t)n;
}

static void assert_root_equal(const struct trust_root *a, const struct trust_root *b)
{
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->expires, b->expires);
	assert_int_equal(a->threshold, b->threshold);
	assert_int_equal(a->nkeys, b->nkeys);
	assert_memory_equal(a->keys, b->keys, a->nkeys * sizeof(a->keys[0]));
}

static void t_trust_parse(void **state)
{
	(void)state;
	char text[TRUST_FILE_MAX + 2], buf[512];
	/* by hand, with the key line of minisign's own .pub file */
	size_t n = scratch_read("k0.pub", buf, sizeof(buf));
	char *k0 = strchr(buf, '\n') + 1;
	buf[n - 1] = '\0';
	int tl = snprintf(text, sizeof(text),
			  "ward-root 1\nversion 3\nexpires 2027-11-26T00:00:00Z\nthreshold 1\nkey %s\n", k0);
	struct trust_root r, back;
	assert_int_equal(trust_parse((const uint8_t *)text, (size_t)tl, &r, err, sizeof(err)), BR_OK);
	assert_int_equal(r.version, 3);
	assert_int_equal(r.expires, root_expires);
	assert_int_equal(r.threshold, 1);
	assert_int_equal(r.nkeys, 1);
	assert_memory_equal(&r.keys[0], &pub[0], sizeof(pub[0]));
	char again[TRUST_FILE_MAX];
	assert_int_equal(trust_format(&r, again, sizeof(again)), tl);
	assert_string_equal(again, text);
	/* round trips, 1 to 16 keys */
	for (unsigned nk = 1; nk <= TRUST_KEYS_MAX; nk++) {
		struct trust_root t;
		memset(&t, 0, sizeof(t));
		t.version = 1 + randombytes_uniform(1000000) * (uint64_t)randombytes_uniform(1000000);
		t.expires = randombytes_uniform(2000000000u) * (int64_t)(1 + randombytes_uniform(126));
		t.nkeys = nk;
		t.threshold = 1 + randombytes_uniform(nk);
		for (unsigned j = 0; j < nk; j++) {
			randombytes_buf(t.keys[j].keyid, MINISIGN_KEYID_LEN);
			randombytes_buf(t.keys[j].pk, 32);
		}
		size_t len = root_text(&t, text, sizeof(text));
		assert_int_equal(trust_parse((const uint8_t *)text, len, &back, err, sizeof(err)), BR_OK);
		assert_root_equal(&t, &back);
		assert_int_equal(trust_format(&back, again, sizeof(again)), (int)len);
		assert_memory_equal(again, text, len);
		assert_int_equal(trust_format(&back, again, len), -ENOSPC);
	}
	/* trust_format refuses what trust_parse would */
	struct trust_root t = root;
	t.threshold = 4;
	assert_int_equal(trust_format(&t, again, sizeof(again)), -EINVAL);
	t = root;
	t.threshold = 0;
	assert_int_equal(trust_format(&t, again, sizeof(again)), -EINVAL);
	t = root;
	t.nkeys = 0;
	assert_int_equal(trust_format(&t, again, sizeof(again)), -EINVAL);
	t = root;
	t.nkeys = TRUST_KEYS_MAX + 1;
	assert_int_equal(trust_format(&t, again, sizeof(again)), -EINVAL);
	t = root;
	t.version = 0;
	assert_int_equal(trust_format(&t, again, sizeof(again)), -EINVAL);
	t = root;
	t.keys[2] = t.keys[0];
	assert_int_equal(trust_format(&t, again, sizeof(again)), -EINVAL);
	t = root;
	memcpy(t.keys[2].pk, t.keys[1].pk, 32);
	assert_int_equal(trust_format(&t, again, sizeof(again)), -EINVAL);
}

static void t_trust_malformed(void **state)
{
	(void)state;
	char good[1024], text[TRUST_FILE_MAX + 64], k[3][80];
	root_text(&root, good, sizeof(good));
	/* the three key lines */
	const char *p = strstr(good, "key ");
	for (int i = 0; i < 3; i++) {
		const char *nl = strchr(p, '\n');
		snprintf(k[i], sizeof(k[i]), "%.*s", (int)(nl - p), p);
		p = nl + 1;
	}
#define H "ward-root 1\nversion 3\nexpires 2027-11-26T00:00:00Z\n"
	const struct {
		const char *fmt; /* %1$s %2$s %3$s: the key lines */
		const char *msg;
	} cases[] = {
		{"ward-root 2\nversion 3\nexpires 2027-11-26T00:00:00Z\nthreshold 2\n%1$s\n%2$s\n", "line 1"},
		{"ward-root 1 \nversion 3\nexpires 2027-11-26T00:00:00Z\nthreshold 2\n%1$s\n%2$s\n", "line 1"},
		{"Ward-root 1\nversion 3\nexpires 2027-11-26T00:00:00Z\nthreshold 2\n%1$s\n%2$s\n", "line 1"},
		{"version 3\nward-root 1\nexpires 2027-11-26T00:00:00Z\nthreshold 2\n%1$s\n%2$s\n", "line 1"},
		{"ward-root 1\nversion 0\nexpires 2027-11-26T00:00:00Z\nthreshold 2\n%1$s\n%2$s\n", "version 0"},
		{"ward-root 1\nversion 03\nexpires 2027-11-26T00:00:00Z\nthreshold 2\n%1$s\n%2$s\n", "leading zero"},
		{"ward-root 1\nversion -3\nexpires 2027-11-26T00:00:00Z\nthreshold 2\n%1$s\n%2$s\n", "line 2"},
		{"ward-root 1\nversion  3\nexpires 2027-11-26T00:00:00Z\nthreshold 2\n%1$s\n%2$s\n", "line 2"},
		{"ward-root 1\nversion=3\nexpires 2027-11-26T00:00:00Z\nthreshold 2\n%1$s\n%2$s\n", "line 2"},
		{"ward-root 1\nversion 9223372036854775808\nexpires 2027-11-26T00:00:00Z\nthreshold 2\n%1$s\n", "2^63"},
		{"ward-root 1\nexpires 2027-11-26T00:00:00Z\nversion 3\nthreshold 2\n%1$s\n%2$s\n", "line 2"},
		{H "threshold 2\n%1$s\n%2$s\n" "expires 2028-11-26T00:00:00Z\n", "line 7"},
		{"ward-root 1\nversion 3\nexpires 2027-02-29T00:00:00Z\nthreshold 2\n%1$s\n%2$s\n", "line 3"},
		{"ward-root 1\nversion 3\nexpires 2027-11-26T00:00:00\nthreshold 2\n%1$s\n%2$s\n", "line 3"},
		{"ward-root 1\nversion 3\nexpires 1796083200\nthreshold 2\n%1$s\n%2$s\n", "line 3"},
		{H "threshold 0\n%1$s\n%2$s\n", "threshold 0"},
		{H "threshold 02\n%1$s\n%2$s\n", "leading zero"},
		{H "threshold 17\n%1$s\n%2$s\n", "threshold 17"},
		{H "threshold 3\n%1$s\n%2$s\n", "threshold 3 with only 2 keys"},
		{H "threshold two\n%1$s\n%2$s\n", "line 4"},
		{H "threshold 1\n", "no key"},
		{H, "ends after line 3"},
		{"ward-root 1\n", "ends after line 1"},
		{"", "empty"},
		{H "threshold 1\n%1$s\n%1$s\n", "line 6: key id"},       /* the same key twice */
		{H "threshold 1\n%1$s\n%2$s\n%3$s\n%2$s\n", "line 8: key id"},
		{H "threshold 1\n%1$s\n%2$s", "line 6: \"key "},           /* no final newline */
		{H "threshold 1\n%1$s\r\n%2$s\n", "line 5: control character"},
		{"ward-root 1\r\nversion 3\n", "line 1: control character"},
		{H "threshold 1\n%1$s\n\n%2$s\n", "line 6"},              /* an empty line */
		{H "threshold 1\n%1$s\n%2$s\n\n", "line 7"},
		{H "threshold 1\n%1$s\n# comment\n", "line 6"},
		{H "threshold 1\n%1$s \n", "line 5"},                      /* trailing space */
		{H "threshold 1\nkey  %1$s\n", "line 5"},
		{H "threshold 1\nkey\n", "line 5"},
		{H "threshold 1\nkey \n", "line 5"},
		{H "threshold 1\nkey untrusted comment: x\n", "line 5"},
		{H "threshold 1\nkey RWQ=\n", "line 5"},
		{H "threshold 1\nkey RWT7T8ZSIcG759kEsHCSJd3QyamcaOGMwAmui0F3Ws3WXM4VVfYr0CHy==\n", "line 5"},
		/* "Ed" changed to "Xd": not an Ed25519 key */
		{H "threshold 1\nkey WGT7T8ZSIcG759kEsHCSJd3QyamcaOGMwAmui0F3Ws3WXM4VVfYr0CHy\n", "line 5"},
		{H "threshold 1\nKEY %1$s\n", "line 5"},
		{H "threshold 1\n%1$s\nversion 3\n", "line 6"},
	};
	struct trust_root r;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = snprintf(text, sizeof(text), cases[i].fmt, k[0], k[1], k[2]);
		assert_true(n >= 0 && (size_t)n < sizeof(text));
		memset(err, 0, sizeof(err));
		enum bundle_refusal rr = trust_parse((const uint8_t *)text, (size_t)n, &r, err, sizeof(err));
		if (rr != BR_MALFORMED || !strstr(err, cases[i].msg))
			fail_msg("case %zu: %s (%s), expected malformed with \"%s\"", i, bundle_refusal_name(rr), err,
				 cases[i].msg);
	}
	/* the same public key under two key ids would count twice (trust_format refuses to write it) */
	struct trust_root one = make_root(3, root_expires, 1, (const int[]){0, -1});
	size_t l1 = root_text(&one, text, sizeof(text));
	struct trust_root other = one;
	memcpy(other.keys[0].keyid, pub[6].keyid, MINISIGN_KEYID_LEN);
	char o[512];
	root_text(&other, o, sizeof(o));
	const char *okey = strstr(o, "\nkey ") + 1;
	memcpy(text + l1, okey, strlen(okey) + 1);
	assert_int_equal(trust_parse((const uint8_t *)text, strlen(text), &r, err, sizeof(err)), BR_MALFORMED);
	assert_non_null(strstr(err, "line 6"));
	assert_non_null(strstr(err, "count twice"));
	/* 17 keys */
	struct trust_root big;
	memset(&big, 0, sizeof(big));
	big.version = 1;
	big.expires = root_expires;
	big.threshold = 1;
	big.nkeys = TRUST_KEYS_MAX;
	for (unsigned j = 0; j < TRUST_KEYS_MAX; j++) {
		randombytes_buf(big.keys[j].keyid, MINISIGN_KEYID_LEN);
		randombytes_buf(big.keys[j].pk, 32);
	}
	size_t bl = root_text(&big, text, sizeof(text));
	int kn = snprintf(text + bl, sizeof(text) - bl, "%s\n", k[0]);
	assert_int_equal(trust_parse((const uint8_t *)text, bl + (size_t)kn, &r, err, sizeof(err)), BR_MALFORMED);
	assert_non_null(strstr(err, "more than 16 keys"));
	/* too big: oversized, whatever it holds */
	memset(text, '\n', TRUST_FILE_MAX + 1);
	assert_int_equal(trust_parse((const uint8_t *)text, TRUST_FILE_MAX + 1, &r, err, sizeof(err)), BR_OVERSIZED);
	/* a NUL byte */
	size_t len = root_text(&root, text, sizeof(text));
	text[3] = '\0';
	assert_int_equal(trust_parse((const uint8_t *)text, len, &r, err, sizeof(err)), BR_MALFORMED);
	assert_non_null(strstr(err, "\\x00"));
#undef H
}

static void t_trust_initial(void **state)
{
	(void)state;
	char text[2048], sigs[SIGS_CAP];
	size_t len = root_text(&root, text, sizeof(text));
	struct trust_root out;
	const uint8_t *t = (const uint8_t *)text;
	size_t sl = sign_by(text, len, (const int[]){0, 2, -1}, sigs, sizeof(sigs));
	assert_int_equal(trust_check_initial(t, len, sigs, sl, now, &out, err, sizeof(err)), BR_OK);
	assert_root_equal(&out, &root);
	assert_string_equal(err, "");
	/* minisign agrees on the first block */
	scratch_write("root", text, len);
	scratch_write("root.minisig", sigs, sl);
	assert_int_equal(scratch_sh("cd %s && minisign -Vq -m root -x root.minisig -p k0.pub >/dev/null 2>&1", scratch_dir), 0);
	/* below its own threshold: one key, one key twice, one key and a stranger */
	sl = sign_by(text, len, (const int[]){1, -1}, sigs, sizeof(sigs));
	assert_int_equal(trust_check_initial(t, len, sigs, sl, now, &out, err, sizeof(err)), BR_TOO_FEW_SIGNATURES);
	assert_non_null(strstr(err, "1 of 2 needed"));
	sl = sign_by(text, len, (const int[]){1, 1, -1}, sigs, sizeof(sigs));
	assert_int_equal(trust_check_initial(t, len, sigs, sl, now, &out, err, sizeof(err)), BR_TOO_FEW_SIGNATURES);
	sl = sign_by(text, len, (const int[]){1, 6, -1}, sigs, sizeof(sigs));
	assert_int_equal(trust_check_initial(t, len, sigs, sl, now, &out, err, sizeof(err)), BR_TOO_FEW_SIGNATURES);
	/* signatures over another text */
	sl = sign_by(text, len - 1, (const int[]){1, 2, -1}, sigs, sizeof(sigs));
	assert_int_equal(trust_check_initial(t, len, sigs, sl, now, &out, err, sizeof(err)), BR_BAD_SIGNATURE);
	/* expired, malformed signature file, malformed root */
	sl = sign_by(text, len, (const int[]){0, 1, -1}, sigs, sizeof(sigs));
	assert_int_equal(trust_check_initial(t, len, sigs, sl, root_expires, &out, err, sizeof(err)),
			 BR_ROOT_EXPIRED);
	assert_int_equal(trust_check_initial(t, len, sigs, sl - 20, now, &out, err, sizeof(err)), BR_MALFORMED);
	assert_int_equal(trust_check_initial(t, len - 1, sigs, sl, now, &out, err, sizeof(err)), BR_MALFORMED);
	/* threshold 3 of 3 */
	struct trust_root all = root;
	all.threshold = 3;
	len = root_text(&all, text, sizeof(text));
	sl = sign_by(text, len, (const int[]){0, 1, -1}, sigs, sizeof(sigs));
	assert_int_equal(trust_check_initial(t, len, sigs, sl, now, &out, err, sizeof(err)), BR_TOO_FEW_SIGNATURES);
	sl = sign_by(text, len, (const int[]){0, 1, 2, -1}, sigs, sizeof(sigs));
	assert_int_equal(trust_check_initial(t, len, sigs, sl, now, &out, err, sizeof(err)), BR_OK);
}

static void t_trust_rotate(void **state)
{
	(void)state;
	char text[2048], sigs[SIGS_CAP];
	struct trust_root out;
	struct trust_root next = make_root(4, T("2028-11-26T00:00:00Z"), 2, (const int[]){3, 4, 5, -1});
	size_t len = root_text(&next, text, sizeof(text));
	const uint8_t *t = (const uint8_t *)text;
	/* 2 of 3 old and 2 of 3 new */
	size_t sl = sign_by(text, len, (const int[]){0, 2, 3, 5, -1}, sigs, sizeof(sigs));
	assert_int_equal(trust_rotate(&root, t, len, sigs, sl, now, &out, err, sizeof(err)), BR_OK);
	assert_root_equal(&out, &next);
	/* the new root needs none of the old keys to be its own: its own keys alone are not enough */
	sl = sign_by(text, len, (const int[]){3, 4, 5, -1}, sigs, sizeof(sigs));
	assert_int_equal(trust_rotate(&root, t, len, sigs, sl, now, &out, err, sizeof(err)), BR_TOO_FEW_SIGNATURES);
	assert_non_null(strstr(err, "old root"));
	/* nor the old keys alone */
	sl = sign_by(text, len, (const int[]){0, 1, 2, -1}, sigs, sizeof(sigs));
	assert_int_equal(trust_rotate(&root, t, len, sigs, sl, now, &out, err, sizeof(err)), BR_TOO_FEW_SIGNATURES);
	assert_non_null(strstr(err, "new root"));
	/* one short on either side */
	sl = sign_by(text, len, (const int[]){0, 3, 4, -1}, sigs, sizeof(sigs));
	assert_int_equal(trust_rotate(&root, t, len, sigs, sl, now, &out, err, sizeof(err)), BR_TOO_FEW_SIGNATURES);
	sl = sign_by(text, len, (const int[]){0, 1, 5, 5, -1}, sigs, sizeof(sigs));
	assert_int_equal(trust_rotate(&root, t, len, sigs, sl, now, &out, err, sizeof(err)), BR_TOO_FEW_SIGNATURES);
	/* a bad signature by a new key */
	sl = sign_by(text, len, (const int[]){0, 1, 3, -1}, sigs, sizeof(sigs));
	sl += sign_by(text, len - 1, (const int[]){4, -1}, sigs + sl, sizeof(sigs) - sl);
	assert_int_equal(trust_rotate(&root, t, len, sigs, sl, now, &out, err, sizeof(err)), BR_BAD_SIGNATURE);
	/* keys in both roots count for both */
	struct trust_root overlap = make_root(4, T("2028-11-26T00:00:00Z"), 2, (const int[]){1, 2, 3, -1});
	len = root_text(&overlap, text, sizeof(text));
	sl = sign_by(text, len, (const int[]){1, 2, -1}, sigs, sizeof(sigs));
	assert_int_equal(trust_rotate(&root, t, len, sigs, sl, now, &out, err, sizeof(err)), BR_OK);
	/* the same version, an older one */
	for (uint64_t v = 1; v <= 3; v++) {
		struct trust_root stale = next;
		stale.version = v;
		len = root_text(&stale, text, sizeof(text));
		sl = sign_by(text, len, (const int[]){0, 1, 3, 4, -1}, sigs, sizeof(sigs));
		assert_int_equal(trust_rotate(&root, t, len, sigs, sl, now, &out, err, sizeof(err)), BR_ROLLBACK);
		assert_non_null(strstr(err, "is not newer than 3"));
	}
	/* the new root already expired */
	struct trust_root dead = next;
	dead.expires = now;
	len = root_text(&dead, text, sizeof(text));
	sl = sign_by(text, len, (const int[]){0, 1, 3, 4, -1}, sigs, sizeof(sigs));
	assert_int_equal(trust_rotate(&root, t, len, sigs, sl, now, &out, err, sizeof(err)), BR_ROOT_EXPIRED);
	/* from an expired root: allowed (that is how it is replaced) */
	struct trust_root expired = root;
	expired.expires = now - 1;
	len = root_text(&next, text, sizeof(text));
	sl = sign_by(text, len, (const int[]){0, 1, 3, 4, -1}, sigs, sizeof(sigs));
	assert_int_equal(trust_rotate(&expired, t, len, sigs, sl, now, &out, err, sizeof(err)), BR_OK);
	/* an old root that is not one */
	expired.threshold = 0;
	assert_int_equal(trust_rotate(&expired, t, len, sigs, sl, now, &out, err, sizeof(err)), BR_MALFORMED);
	/* and a bundle signed by the new root's keys verifies against it */
	size_t blen;
	uint8_t *b = build(meta(), payload, &blen);
	sl = sign_by(b, blen, (const int[]){4, 5, -1}, sigs, sizeof(sigs));
	struct bundle bo;
	assert_int_equal(bundle_verify(&next, b, blen, MAX_LEN, sigs, sl, "block", "stable", 6, now, &bo, err,
				       sizeof(err)),
			 BR_OK);
	assert_int_equal(verify(b, blen, sigs, sl), BR_TOO_FEW_SIGNATURES); /* not against the old one */
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_build_sign_verify),
		cmocka_unit_test(t_empty_payload_and_limits),
		cmocka_unit_test(t_size_refusals),
		cmocka_unit_test(t_bad_signature),
		cmocka_unit_test(t_too_few_signatures),
		cmocka_unit_test(t_hash_mismatch),
		cmocka_unit_test(t_client_channel_expiry_rollback),
		cmocka_unit_test(t_order),
		cmocka_unit_test(t_sigset_parse),
		cmocka_unit_test(t_meta_parse_ok),
		cmocka_unit_test(t_meta_malformed),
		cmocka_unit_test(t_meta_round_trip),
		cmocka_unit_test(t_build_refusals),
		cmocka_unit_test(t_times),
		cmocka_unit_test(t_refusal_names),
		cmocka_unit_test(t_trust_parse),
		cmocka_unit_test(t_trust_malformed),
		cmocka_unit_test(t_trust_initial),
		cmocka_unit_test(t_trust_rotate),
	};
	return cmocka_run_group_tests_name("bundle", tests, setup, teardown);
}
