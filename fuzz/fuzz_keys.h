/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_keys.h — fixed minisign keys and signing for the harnesses that
 * must get past signatures (fuzz_bundle, fuzz_trust): a flags byte of the
 * input asks the harness to sign it itself.
 */
#ifndef WARD_FUZZ_KEYS_H
#define WARD_FUZZ_KEYS_H

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

#endif
