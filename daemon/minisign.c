/* SPDX-License-Identifier: Apache-2.0 */
/* minisign.c — see minisign.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "message.h"
#include "minisign.h"

#define UNTRUSTED "untrusted comment:"
#define TRUSTED "trusted comment: "
#define PK_LEN (2 + MINISIGN_KEYID_LEN + 32)
#define SIG_LEN (2 + MINISIGN_KEYID_LEN + 64)
#define SK_LEN (2 + 2 + 2 + 32 + 8 + 8 + MINISIGN_KEYID_LEN + 64 + 32)

/* The next line of [*p, end): its start and length without "\n" or "\r\n".
 * Returns 0 when there is none left. */
static int next_line(const char **p, const char *end, const char **line, size_t *len)
{
	if (*p >= end)
		return 0;
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	const char *stop = nl ? nl : end;
	*line = *p;
	*len = (size_t)(stop - *p);
	if (*len && (*line)[*len - 1] == '\r')
		(*len)--;
	*p = nl ? nl + 1 : end;
	return 1;
}

/* Nothing but empty lines left? */
static int only_blank(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != '\n' && *p != '\r')
			return 0;
	return 1;
}

static int starts(const char *line, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(line, prefix, n) == 0;
}

/* Exactly @want bytes of standard base64 in @line. */
static int b64(const char *line, size_t len, uint8_t *out, size_t want)
{
	size_t got = 0;
	const char *stop = NULL;
	if (len == 0 || len > 4 * MINISIGN_FILE_MAX)
		return -1;
	if (sodium_base642bin(out, want, line, len, NULL, &got, &stop, sodium_base64_VARIANT_ORIGINAL) ||
	    got != want || stop != line + len)
		return -1;
	return 0;
}

int minisign_pubkey_parse(const char *text, size_t len, struct minisign_pubkey *pk, char *err, size_t errlen)
{
	if (sodium_init() < 0)
		return msg_fail(err, errlen, -EINVAL, "libsodium cannot start");
	if (len > MINISIGN_FILE_MAX)
		return msg_fail(err, errlen, -EINVAL, "public key: more than %d bytes", MINISIGN_FILE_MAX);
	const char *p = text, *end = text + len, *line;
	size_t ll;
	if (!next_line(&p, end, &line, &ll))
		return msg_fail(err, errlen, -EINVAL, "public key: empty");
	if (starts(line, ll, UNTRUSTED) && !next_line(&p, end, &line, &ll))
		return msg_fail(err, errlen, -EINVAL, "public key: a comment and no key");
	uint8_t raw[PK_LEN];
	if (b64(line, ll, raw, sizeof(raw)))
		return msg_fail(err, errlen, -EINVAL, "public key: not %d bytes of base64", PK_LEN);
	if (raw[0] != 'E' || raw[1] != 'd')
		return msg_fail(err, errlen, -EINVAL, "public key: not an Ed25519 minisign key");
	if (!only_blank(p, end))
		return msg_fail(err, errlen, -EINVAL, "public key: unexpected text after the key");
	memcpy(pk->keyid, raw + 2, MINISIGN_KEYID_LEN);
	memcpy(pk->pk, raw + 2 + MINISIGN_KEYID_LEN, 32);
	return 0;
}

int minisign_seckey_parse(const char *text, size_t len, struct minisign_seckey *sk, char *err, size_t errlen)
{
	if (sodium_init() < 0)
		return msg_fail(err, errlen, -EINVAL, "libsodium cannot start");
	if (len > MINISIGN_FILE_MAX)
		return msg_fail(err, errlen, -EINVAL, "secret key: more than %d bytes", MINISIGN_FILE_MAX);
	const char *p = text, *end = text + len, *line;
	size_t ll;
	if (!next_line(&p, end, &line, &ll))
		return msg_fail(err, errlen, -EINVAL, "secret key: empty");
	if (starts(line, ll, UNTRUSTED) && !next_line(&p, end, &line, &ll))
		return msg_fail(err, errlen, -EINVAL, "secret key: a comment and no key");
	uint8_t raw[SK_LEN];
	if (b64(line, ll, raw, sizeof(raw)))
		return msg_fail(err, errlen, -EINVAL, "secret key: not %d bytes of base64", SK_LEN);
	if (raw[0] != 'E' || raw[1] != 'd' || raw[4] != 'B' || raw[5] != '2')
		return msg_fail(err, errlen, -EINVAL, "secret key: not an Ed25519 minisign key");
	if (raw[2] || raw[3]) {
		sodium_memzero(raw, sizeof(raw));
		return msg_fail(err, errlen, -ENOTSUP, "secret key: encrypted (make one with minisign -G -W)");
	}
	const uint8_t *k = raw + 2 + 2 + 2 + 32 + 8 + 8;
	/* the secret key's second half is its public key: a damaged key
	 * would make signatures nobody can verify */
	uint8_t pk[32], seed[32], sk2[64];
	crypto_sign_ed25519_sk_to_seed(seed, k + MINISIGN_KEYID_LEN);
	crypto_sign_seed_keypair(pk, sk2, seed);
	int bad = sodium_memcmp(sk2, k + MINISIGN_KEYID_LEN, 64);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk2, sizeof(sk2));
	if (bad) {
		sodium_memzero(raw, sizeof(raw));
		return msg_fail(err, errlen, -EINVAL, "secret key: damaged (its halves do not match)");
	}
	memcpy(sk->keyid, k, MINISIGN_KEYID_LEN);
	memcpy(sk->sk, k + MINISIGN_KEYID_LEN, 64);
	sodium_memzero(raw, sizeof(raw));
	return 0;
}

int minisign_sig_parse(const char *text, size_t len, struct minisign_sig *sig, char *err, size_t errlen)
{
	if (sodium_init() < 0)
		return msg_fail(err, errlen, -EINVAL, "libsodium cannot start");
	if (len > MINISIGN_FILE_MAX)
		return msg_fail(err, errlen, -EINVAL, "signature: more than %d bytes", MINISIGN_FILE_MAX);
	const char *p = text, *end = text + len, *line;
	size_t ll;
	if (!next_line(&p, end, &line, &ll) || !starts(line, ll, UNTRUSTED))
		return msg_fail(err, errlen, -EINVAL, "signature: line 1 is not \"" UNTRUSTED " ...\"");
	uint8_t raw[SIG_LEN];
	if (!next_line(&p, end, &line, &ll) || b64(line, ll, raw, sizeof(raw)))
		return msg_fail(err, errlen, -EINVAL, "signature: line 2 is not %d bytes of base64", SIG_LEN);
	if (raw[0] != 'E' || (raw[1] != 'd' && raw[1] != 'D'))
		return msg_fail(err, errlen, -EINVAL, "signature: not an Ed25519 minisign signature");
	if (!next_line(&p, end, &line, &ll) || !starts(line, ll, TRUSTED))
		return msg_fail(err, errlen, -EINVAL, "signature: line 3 is not \"" TRUSTED "...\"");
	size_t tl = ll - strlen(TRUSTED);
	if (tl > MINISIGN_COMMENT_MAX)
		return msg_fail(err, errlen, -EINVAL, "signature: trusted comment longer than %d bytes", MINISIGN_COMMENT_MAX);
	const char *tc = line + strlen(TRUSTED);
	/* it is read as text (a bundle's metadata): a NUL would end it early
	 * while the signature covers what follows */
	for (size_t i = 0; i < tl; i++)
		if ((unsigned char)tc[i] < 0x20 && tc[i] != '\t')
			return msg_fail(err, errlen, -EINVAL, "signature: control character in the trusted comment");
	uint8_t global[64];
	if (!next_line(&p, end, &line, &ll) || b64(line, ll, global, sizeof(global)))
		return msg_fail(err, errlen, -EINVAL, "signature: line 4 is not 64 bytes of base64");
	if (!only_blank(p, end))
		return msg_fail(err, errlen, -EINVAL, "signature: unexpected text after line 4");
	sig->prehashed = raw[1] == 'D';
	memcpy(sig->keyid, raw + 2, MINISIGN_KEYID_LEN);
	memcpy(sig->sig, raw + 2 + MINISIGN_KEYID_LEN, 64);
	memcpy(sig->trusted_comment, tc, tl);
	sig->trusted_comment[tl] = '\0';
	sig->trusted_len = tl;
	memcpy(sig->global_sig, global, 64);
	return 0;
}

void minisign_keyid_hex(const uint8_t id[MINISIGN_KEYID_LEN], char out[MINISIGN_KEYID_HEX + 1])
{
	/* minisign prints key ids as the little-endian number */
	for (int i = 0; i < MINISIGN_KEYID_LEN; i++)
		snprintf(out + 2 * i, 3, "%02X", id[MINISIGN_KEYID_LEN - 1 - i]);
}

int minisign_verify(const struct minisign_pubkey *pk, const struct minisign_sig *sig, const uint8_t *msg,
		    size_t len, char *err, size_t errlen)
{
	if (sodium_init() < 0)
		return msg_fail(err, errlen, -EINVAL, "libsodium cannot start");
	if (memcmp(pk->keyid, sig->keyid, MINISIGN_KEYID_LEN)) {
		char a[17], b[17];
		minisign_keyid_hex(sig->keyid, a);
		minisign_keyid_hex(pk->keyid, b);
		return msg_fail(err, errlen, -ENOKEY, "signed by key %s, not by key %s", a, b);
	}
	int bad;
	if (sig->prehashed) {
		uint8_t h[crypto_generichash_BYTES_MAX];
		crypto_generichash(h, sizeof(h), msg, len, NULL, 0);
		bad = crypto_sign_verify_detached(sig->sig, h, sizeof(h), pk->pk);
	} else {
		bad = crypto_sign_verify_detached(sig->sig, msg, len, pk->pk);
	}
	if (bad)
		return msg_fail(err, errlen, -EBADMSG, "the signature does not match the file");
	uint8_t buf[64 + MINISIGN_COMMENT_MAX];
	memcpy(buf, sig->sig, 64);
	memcpy(buf + 64, sig->trusted_comment, sig->trusted_len);
	if (crypto_sign_verify_detached(sig->global_sig, buf, 64 + sig->trusted_len, pk->pk))
		return msg_fail(err, errlen, -EBADMSG, "the trusted comment does not match its signature");
	return 0;
}

int minisign_sign(const struct minisign_seckey *sk, const uint8_t *msg, size_t len, const char *trusted_comment,
		  char *out, size_t outlen)
{
	if (sodium_init() < 0 || !trusted_comment)
		return -EINVAL;
	size_t tl = strlen(trusted_comment);
	if (tl > MINISIGN_COMMENT_MAX || memchr(trusted_comment, '\n', tl) || memchr(trusted_comment, '\r', tl))
		return -EINVAL;
	uint8_t raw[SIG_LEN], h[crypto_generichash_BYTES_MAX], buf[64 + MINISIGN_COMMENT_MAX], global[64];
	raw[0] = 'E';
	raw[1] = 'D';
	memcpy(raw + 2, sk->keyid, MINISIGN_KEYID_LEN);
	crypto_generichash(h, sizeof(h), msg, len, NULL, 0);
	crypto_sign_detached(raw + 2 + MINISIGN_KEYID_LEN, NULL, h, sizeof(h), sk->sk);
	memcpy(buf, raw + 2 + MINISIGN_KEYID_LEN, 64);
	memcpy(buf + 64, trusted_comment, tl);
	crypto_sign_detached(global, NULL, buf, 64 + tl, sk->sk);
	char s64[sodium_base64_ENCODED_LEN(SIG_LEN, sodium_base64_VARIANT_ORIGINAL)];
	char g64[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];
	sodium_bin2base64(s64, sizeof(s64), raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(g64, sizeof(g64), global, sizeof(global), sodium_base64_VARIANT_ORIGINAL);
	char id[17];
	minisign_keyid_hex(sk->keyid, id);
	int n = snprintf(out, outlen, UNTRUSTED " signature from ward, key %s\n%s\n" TRUSTED "%s\n%s\n", id, s64,
			 trusted_comment, g64);
	if (n < 0 || (size_t)n >= outlen)
		return -ENOSPC;
	return n;
}
