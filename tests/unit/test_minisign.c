/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_minisign — daemon/minisign.c against the real minisign (Debian's
 * package, installed by scripts/deps.sh): keys and signatures minisign
 * makes verify here, signatures made here verify with `minisign -V`, and
 * every kind of tampering is refused with its own error.
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

#include "minisign.h"
#include "scratch.h"


static int setup(void **state)
{
	(void)state;
	if (system("command -v minisign >/dev/null 2>&1") != 0) {
		fprintf(stderr, "test_minisign: minisign is not installed (scripts/deps.sh installs it)\n");
		return -1;
	}
	if (scratch_make("minisign"))
		return -1;
	/* two unencrypted keys, a message, minisign's signatures of it */
	return scratch_sh("cd %s && minisign -G -W -p a.pub -s a.sec >/dev/null 2>&1 && "
		  "minisign -G -W -p b.pub -s b.sec >/dev/null 2>&1 && printf 'rules v1\\n' > msg && "
		  "minisign -S -s a.sec -m msg -t 'client=block version=1' >/dev/null 2>&1 && "
		  "minisign -S -l -s a.sec -m msg -x msg.legacy -t 'legacy' >/dev/null 2>&1", scratch_dir) ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	scratch_remove();
	return 0;
}

static void load(const char *pubname, const char *signame, struct minisign_pubkey *pk, struct minisign_sig *sig)
{
	char buf[4096], err[256];
	size_t n = scratch_read(pubname, buf, sizeof(buf));
	assert_int_equal(minisign_pubkey_parse(buf, n, pk, err, sizeof(err)), 0);
	n = scratch_read(signame, buf, sizeof(buf));
	assert_int_equal(minisign_sig_parse(buf, n, sig, err, sizeof(err)), 0);
}

static void t_verify_minisign_made(void **state)
{
	(void)state;
	struct minisign_pubkey pk;
	struct minisign_sig sig;
	char msg[64], err[256];
	size_t n = scratch_read("msg", msg, sizeof(msg));
	load("a.pub", "msg.minisig", &pk, &sig);
	assert_true(sig.prehashed);
	assert_string_equal(sig.trusted_comment, "client=block version=1");
	assert_int_equal(minisign_verify(&pk, &sig, (uint8_t *)msg, n, err, sizeof(err)), 0);
	/* the legacy format ("Ed": the message itself is signed) */
	load("a.pub", "msg.legacy", &pk, &sig);
	assert_false(sig.prehashed);
	assert_int_equal(minisign_verify(&pk, &sig, (uint8_t *)msg, n, err, sizeof(err)), 0);
}

static void t_refusals(void **state)
{
	(void)state;
	struct minisign_pubkey pk, other;
	struct minisign_sig sig;
	char msg[64], err[256], buf[4096];
	size_t n = scratch_read("msg", msg, sizeof(msg));
	load("a.pub", "msg.minisig", &pk, &sig);
	/* another file */
	msg[0] ^= 1;
	assert_int_equal(minisign_verify(&pk, &sig, (uint8_t *)msg, n, err, sizeof(err)), -EBADMSG);
	msg[0] ^= 1;
	/* a truncated file */
	assert_int_equal(minisign_verify(&pk, &sig, (uint8_t *)msg, n - 1, err, sizeof(err)), -EBADMSG);
	/* another trusted comment (a version raised by hand, say) */
	struct minisign_sig forged = sig;
	memcpy(forged.trusted_comment, "client=block version=9", 22);
	assert_int_equal(minisign_verify(&pk, &forged, (uint8_t *)msg, n, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "trusted comment"));
	/* another key */
	size_t k = scratch_read("b.pub", buf, sizeof(buf));
	assert_int_equal(minisign_pubkey_parse(buf, k, &other, err, sizeof(err)), 0);
	assert_int_equal(minisign_verify(&other, &sig, (uint8_t *)msg, n, err, sizeof(err)), -ENOKEY);
	/* same key id, another public key: the signature says no */
	memcpy(other.keyid, pk.keyid, sizeof(pk.keyid));
	assert_int_equal(minisign_verify(&other, &sig, (uint8_t *)msg, n, err, sizeof(err)), -EBADMSG);
}

static void t_sign_for_minisign(void **state)
{
	(void)state;
	char buf[4096], err[256], out[2048];
	struct minisign_seckey sk;
	size_t n = scratch_read("b.sec", buf, sizeof(buf));
	assert_int_equal(minisign_seckey_parse(buf, n, &sk, err, sizeof(err)), 0);
	const char *payload = "bundle payload\n";
	scratch_write("payload", payload, strlen(payload));
	int len = minisign_sign(&sk, (const uint8_t *)payload, strlen(payload), "client=block version=2", out, sizeof(out));
	assert_true(len > 0);
	scratch_write("payload.minisig", out, (size_t)len);
	/* the reference tool agrees */
	assert_int_equal(scratch_sh("cd %s && minisign -Vq -p b.pub -m payload >/dev/null 2>&1", scratch_dir), 0);
	assert_int_equal(scratch_sh("cd %s && minisign -V -p b.pub -m payload 2>/dev/null | grep -q 'client=block version=2'", scratch_dir),
			 0);
	/* and refuses it for another file and another key */
	scratch_write("payload", "bundle payloaD\n", 15);
	assert_true(scratch_sh("cd %s && minisign -Vq -p b.pub -m payload -x payload.minisig >/dev/null 2>&1", scratch_dir) != 0);
	scratch_write("payload", payload, strlen(payload));
	assert_true(scratch_sh("cd %s && minisign -Vq -p a.pub -m payload -x payload.minisig >/dev/null 2>&1", scratch_dir) != 0);
	/* and so does this module */
	struct minisign_pubkey pk;
	struct minisign_sig sig;
	load("b.pub", "payload.minisig", &pk, &sig);
	assert_int_equal(minisign_verify(&pk, &sig, (const uint8_t *)payload, strlen(payload), err, sizeof(err)), 0);
	/* a comment with a newline would forge a line: refused */
	assert_int_equal(minisign_sign(&sk, (const uint8_t *)"x", 1, "a\ntrusted comment: b", out, sizeof(out)), -EINVAL);
	assert_int_equal(minisign_sign(&sk, (const uint8_t *)"x", 1, "short", out, 16), -ENOSPC);
}

static void t_parse_errors(void **state)
{
	(void)state;
	char buf[4096], err[256];
	struct minisign_pubkey pk;
	struct minisign_sig sig;
	struct minisign_seckey sk;
	assert_int_equal(minisign_pubkey_parse("", 0, &pk, err, sizeof(err)), -EINVAL);
	assert_int_equal(minisign_pubkey_parse("untrusted comment: x\n", 21, &pk, err, sizeof(err)), -EINVAL);
	assert_int_equal(minisign_pubkey_parse("RWQ=\n", 5, &pk, err, sizeof(err)), -EINVAL);
	size_t n = scratch_read("a.pub", buf, sizeof(buf));
	assert_int_equal(minisign_pubkey_parse(buf, n - 5, &pk, err, sizeof(err)), -EINVAL); /* cut short */
	memcpy(buf + n, "extra\n", 7);
	assert_int_equal(minisign_pubkey_parse(buf, n + 6, &pk, err, sizeof(err)), -EINVAL);
	n = scratch_read("msg.minisig", buf, sizeof(buf));
	assert_int_equal(minisign_sig_parse(buf, n / 2, &sig, err, sizeof(err)), -EINVAL);
	char *tc = strstr(buf, "\ntrusted comment: "); /* line 3, not inside "untrusted" */
	assert_non_null(tc);
	tc++;
	tc[0] = 'T'; /* not the line minisign writes */
	assert_int_equal(minisign_sig_parse(buf, n, &sig, err, sizeof(err)), -EINVAL);
	tc[0] = 't';
	tc[strlen("trusted comment: ") + 2] = '\0'; /* a NUL inside the comment */
	assert_int_equal(minisign_sig_parse(buf, n, &sig, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "control character"));
	/* a public key is no signature, and a signature no key */
	n = scratch_read("a.pub", buf, sizeof(buf));
	assert_int_equal(minisign_sig_parse(buf, n, &sig, err, sizeof(err)), -EINVAL);
	assert_int_equal(minisign_seckey_parse(buf, n, &sk, err, sizeof(err)), -EINVAL);
	/* an encrypted secret key: not read */
	n = scratch_read("a.sec", buf, sizeof(buf));
	char *nl = strchr(buf, '\n');
	assert_non_null(nl);
	/* base64 "RWQAAE" -> "Ed\0\0B"; "RWRTY0IyA" -> "EdScB2" */
	memcpy(nl + 1, "RWRTY0Iy", 8);
	assert_int_equal(minisign_seckey_parse(buf, n, &sk, err, sizeof(err)), -ENOTSUP);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_verify_minisign_made),
		cmocka_unit_test(t_refusals),
		cmocka_unit_test(t_sign_for_minisign),
		cmocka_unit_test(t_parse_errors),
	};
	return cmocka_run_group_tests_name("minisign", tests, setup, teardown);
}
