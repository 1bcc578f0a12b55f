/* SPDX-License-Identifier: Apache-2.0 */
/*
 * minisign.h — Ed25519 signatures in the minisign format, so that what ward
 * signs `minisign -V` verifies, and what minisign signs ward verifies
 * (groundwork for signed content bundles, docs/content.md).  libsodium does
 * the cryptography; this module only reads and writes the formats:
 *
 *   public key file   "untrusted comment: ...\n" then base64 of
 *                     "Ed" | key id (8) | Ed25519 public key (32)
 *   signature file    "untrusted comment: ...\n"
 *                     base64 of "Ed" or "ED" | key id (8) | signature (64)
 *                     "trusted comment: TEXT\n"
 *                     base64 of the global signature (64)
 *   secret key file   (unencrypted only: `minisign -G -W`)
 *                     "untrusted comment: ...\n" then base64 of
 *                     "Ed" | kdf "\0\0" | "B2" | salt (32) | opslimit (8) |
 *                     memlimit (8) | key id (8) | Ed25519 secret key (64) |
 *                     checksum (32)
 *
 * "Ed" signs the message itself; "ED" (minisign's default) signs its
 * BLAKE2b-512 hash.  The global signature covers the signature and the
 * trusted comment, so the comment cannot be changed either.
 *
 * A trusted comment with a control character (a NUL above all) is refused:
 * it is read as text, and must mean exactly what was signed.
 *
 * Every parser takes untrusted bytes (length-bounded, need not be
 * NUL-terminated), refuses anything else with one message in @err, and
 * allocates nothing.  Fuzzed by fuzz/fuzz_minisign.c.
 */
#ifndef WARDD_MINISIGN_H
#define WARDD_MINISIGN_H

#include <stddef.h>
#include <stdint.h>

#define MINISIGN_KEYID_LEN 8
#define MINISIGN_KEYID_HEX (2 * MINISIGN_KEYID_LEN) /* a key id as text, without its NUL */
#define MINISIGN_COMMENT_MAX 1024 /* bytes of a trusted comment */
#define MINISIGN_FILE_MAX 4096    /* bytes of a key or signature file */

struct minisign_pubkey {
	uint8_t keyid[MINISIGN_KEYID_LEN];
	uint8_t pk[32];
};

struct minisign_seckey {
	uint8_t keyid[MINISIGN_KEYID_LEN];
	uint8_t sk[64];
};

struct minisign_sig {
	int prehashed; /* "ED": the signature is over BLAKE2b-512(message) */
	uint8_t keyid[MINISIGN_KEYID_LEN];
	uint8_t sig[64];
	char trusted_comment[MINISIGN_COMMENT_MAX + 1]; /* NUL-terminated */
	size_t trusted_len;
	uint8_t global_sig[64];
};

/* Parse a public key file (or its base64 line alone).  0 or -EINVAL. */
int minisign_pubkey_parse(const char *text, size_t len, struct minisign_pubkey *pk, char *err, size_t errlen);
/* Parse an unencrypted secret key file.  0, -EINVAL, or -ENOTSUP for an
 * encrypted one (ward does not ask for passwords). */
int minisign_seckey_parse(const char *text, size_t len, struct minisign_seckey *sk, char *err, size_t errlen);
/* Parse a signature file.  0 or -EINVAL. */
int minisign_sig_parse(const char *text, size_t len, struct minisign_sig *sig, char *err, size_t errlen);

/* A key id as minisign prints it: the little-endian number in upper-case
 * hex, NUL-terminated. */
void minisign_keyid_hex(const uint8_t id[MINISIGN_KEYID_LEN], char out[MINISIGN_KEYID_HEX + 1]);

/* Check @sig over @msg with @pk: key id, signature, global signature.
 * 0, -ENOKEY (signed by another key), -EBADMSG (a signature does not
 * verify). */
int minisign_verify(const struct minisign_pubkey *pk, const struct minisign_sig *sig, const uint8_t *msg,
		    size_t len, char *err, size_t errlen);

/* Sign @msg ("ED", prehashed, as minisign does) with @sk and @trusted_comment
 * (no newline, at most MINISIGN_COMMENT_MAX bytes), writing the signature
 * file's text (NUL-terminated) to @out.  Returns its length, or -EINVAL,
 * -ENOSPC (@outlen too small: 512 + comment is enough). */
int minisign_sign(const struct minisign_seckey *sk, const uint8_t *msg, size_t len, const char *trusted_comment,
		  char *out, size_t outlen);

#endif
