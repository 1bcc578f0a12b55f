/* SPDX-License-Identifier: Apache-2.0 */
/* signed_input.c — see signed_input.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "signed_input.h"

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

int fuzz_split(const uint8_t *data, size_t size, struct fuzz_input *in)
{
	if (size < 3)
		return -1;
	size_t sl = (size_t)data[1] | (size_t)data[2] << 8;
	in->flags = data[0];
	data += 3;
	size -= 3;
	if (sl > size)
		sl = size;
	in->sig = (const char *)data;
	in->siglen = sl;
	in->file = data + sl;
	in->len = size - sl;
	return 0;
}

size_t fuzz_sigtext(const struct minisign_seckey *sk, int nkeys, unsigned mask, const struct fuzz_input *in,
		    char *out, size_t cap)
{
	size_t n = fuzz_sign(sk, nkeys, mask, "fuzz", in->file, in->len, out, cap);
	fuzz_check(n + in->siglen <= cap);
	memcpy(out + n, in->sig, in->siglen);
	return n + in->siglen;
}

void fuzz_write_seed(const char *dir, const char *name, uint8_t flags, const char *sig, size_t siglen,
		     const uint8_t *file, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	fuzz_check(f != NULL);
	uint8_t hdr[3] = {flags, (uint8_t)siglen, (uint8_t)(siglen >> 8)};
	fuzz_check(fwrite(hdr, 1, 3, f) == 3 && fwrite(sig, 1, siglen, f) == siglen && fwrite(file, 1, len, f) == len);
	fuzz_check(fclose(f) == 0);
}
