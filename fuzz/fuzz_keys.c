/* SPDX-License-Identifier: Apache-2.0 */
/* fuzz_keys.c — see fuzz_keys.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fuzz_keys.h"

void fuzz_check(int ok)
{
	if (!ok)
		abort();
}

void fuzz_key(const char *label, const char *idprefix, int i, struct minisign_seckey *sk,
	      struct minisign_pubkey *pk)
{
	uint8_t seed[32];
	memset(seed, 0, sizeof(seed));
	snprintf((char *)seed, sizeof(seed), "%s key %d", label, i);
	crypto_sign_seed_keypair(pk->pk, sk->sk, seed);
	memcpy(sk->keyid, idprefix, 7);
	sk->keyid[7] = (uint8_t)('0' + i);
	memcpy(pk->keyid, sk->keyid, MINISIGN_KEYID_LEN);
}

size_t fuzz_sign(const struct minisign_seckey *sk, int nkeys, unsigned mask, const char *comment, const uint8_t *msg,
		 size_t len, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = '\0';
	for (int i = 0; i < nkeys; i++) {
		if (!(mask & (1u << i)))
			continue;
		int n = minisign_sign(&sk[i], msg, len, comment, out + o, cap - o);
		fuzz_check(n > 0);
		o += (size_t)n;
	}
	return o;
}
