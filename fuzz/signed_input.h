/* SPDX-License-Identifier: Apache-2.0 */
/*
 * signed_input.h — what the harnesses of signed files (fuzz_bundle,
 * fuzz_trust) share: their input format, fixed minisign keys, and signing
 * (a flags byte of the input asks the harness to sign the file itself, so
 * that mutations get past the signatures).
 */
#ifndef WARD_FUZZ_SIGNED_INPUT_H
#define WARD_FUZZ_SIGNED_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "minisign.h"

/* abort() unless @ok: a broken invariant is a finding. */
void fuzz_check(int ok);
/* Key @i, the same every run: its seed is "@label key @i", its key id the
 * 7 bytes of @idprefix and the digit @i. */
void fuzz_key(const char *label, const char *idprefix, int i, struct minisign_seckey *sk,
	      struct minisign_pubkey *pk);
/* Signature blocks over @msg by each key i < @nkeys of @sk whose bit is in
 * @mask, into @out (NUL-terminated); their length. */
size_t fuzz_sign(const struct minisign_seckey *sk, int nkeys, unsigned mask, const char *comment, const uint8_t *msg,
		 size_t len, char *out, size_t cap);

/* The input: [u8 flags][u16 LE n][n bytes of a signature file][the file]. */
struct fuzz_input {
	uint8_t flags;
	const char *sig;     /* the input's own signature file */
	size_t siglen;
	const uint8_t *file; /* the bundle or root */
	size_t len;
};
/* Split @data: 0, or -1 when it is too short to be an input. */
int fuzz_split(const uint8_t *data, size_t size, struct fuzz_input *in);
/* The signature file to check @in with: blocks by the keys i < @nkeys of
 * @sk whose bit is in @mask, then the input's own; its length. */
size_t fuzz_sigtext(const struct minisign_seckey *sk, int nkeys, unsigned mask, const struct fuzz_input *in,
		    char *out, size_t cap);
/* A seed in the input format, into @dir/@name (fuzz/corpus). */
void fuzz_write_seed(const char *dir, const char *name, uint8_t flags, const char *sig, size_t siglen,
		     const uint8_t *file, size_t len);

#endif
