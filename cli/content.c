/* SPDX-License-Identifier: Apache-2.0 */
/*
 * content.c — `ward content ...`: signed content bundles (docs/content.md).
 *
 * Offline, with daemon/bundle.c and daemon/minisign.c linked in (no wardd):
 *   sign     build a bundle and sign it, or add signatures to an existing
 *            bundle or root of trust
 *   root     write a root of trust (unsigned: `sign --append` signs it)
 *   verify   check a bundle against a root as wardd would, or a rotation
 * Online, one JSON request to wardd each (ward_client_content(), root only):
 *   install, status, promote, rollback, pin, pause, resume
 *
 * Secret keys are read, used and wiped; nothing of them is printed (their
 * key ids are public: they are in every signature).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sodium.h>
#include <ward/ward.h>

#include "bundle.h"
#include "files.h"
#include "cli_json.h"
#include "content.h"
#include "minisign.h"
#include "names.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define BUNDLE_MAX ((size_t)1 << 30) /* the largest bundle read: 1 GiB */
#define TEXT_MAX ((size_t)1 << 20)   /* roots and signature files: their parsers refuse what is too long */
#define SIG_TEXT_MAX (512 + MINISIGN_COMMENT_MAX) /* one block from minisign_sign() */
#define COMMENT_MAX 160
#define ERR_MAX 512
#define POLL_MS 200
#define WAIT_DEFAULT_S 120
#define DAY 86400
#define ROOT_PREFIX "ward-root "

/* exit statuses of `install --wait` besides 0 and 1 */
#define EXIT_USAGE 2
#define EXIT_WAITING 3
#define EXIT_TIMEOUT 4

static void content_usage(FILE *f)
{
	fputs("Usage: ward content SUBCOMMAND [OPTIONS]\n"
	      "\n"
	      "Offline (no wardd needed):\n"
	      "  sign -k SECKEY [-k SECKEY]... --client NAME --version N [--channel CH]\n"
	      "       [--expires DURATION|TIME] [--created TIME] [--force] PAYLOAD -o OUT\n"
	      "      build the bundle OUT from the file PAYLOAD and sign it in OUT.minisig,\n"
	      "      once per key (channel stable, created now, expires 30d after created)\n"
	      "  sign -k SECKEY [-k SECKEY]... --append FILE\n"
	      "      sign the bundle or root of trust FILE: the signatures are added to\n"
	      "      FILE.minisig\n"
	      "  root -p PUBKEY [-p PUBKEY]... --threshold N --version N\n"
	      "       [--expires DURATION|TIME] [--force] -o OUT\n"
	      "      write a root of trust (expires 365d from now); sign it with\n"
	      "      `sign --append`\n"
	      "  verify --root ROOT [--client NAME] [--channel CH] [--highest N]\n"
	      "       [--signature SIG] BUNDLE\n"
	      "      check BUNDLE and its signatures (SIG, by default BUNDLE.minisig) as\n"
	      "      wardd would, against ROOT signed by its own keys in ROOT.minisig\n"
	      "  verify --root OLDROOT [--signature SIG] NEWROOT\n"
	      "      check a rotation of the root of trust from OLDROOT to NEWROOT\n"
	      "\n"
	      "Online (asks wardd; root only):\n"
	      "  install CLIENT FILE [--signature SIG] [--delay SECONDS] [--wait[=SECONDS]]\n"
	      "      install a bundle, or a new root of trust; --wait (120 s if no value)\n"
	      "      waits for the bundle's outcome: active (exit 0), rejected (1),\n"
	      "      held back (3), still undecided when the time is up (4)\n"
	      "  status [CLIENT] [--json]   the content of each client that takes content\n"
	      "  promote CLIENT             make the candidate active now\n"
	      "  rollback CLIENT            go back to the last-known-good version\n"
	      "  pin CLIENT VERSION         hold CLIENT at VERSION (active or last-known-good)\n"
	      "  pin CLIENT --off           unpin\n"
	      "  pause CLIENT               hold back new versions\n"
	      "  resume CLIENT              let them through again\n"
	      "\n"
	      "SECKEY is an unencrypted minisign secret key file (minisign -G -W), PUBKEY\n"
	      "a minisign public key file.  DURATION is a number and a unit s, m, h or d\n"
	      "(3600s, 90m, 12h, 30d); TIME is UTC, YYYY-MM-DDTHH:MM:SSZ.\n"
	      "\n"
	      "Options:\n"
	      "  -h, --help                 show this help\n",
	      f);
}

static int usage_error(void)
{
	content_usage(stderr);
	return EXIT_USAGE;
}

/* getopt_long() returned ':' or '?' (opterr is 0: the message is ours). */
static int bad_option(const char *sub, int o, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";
	char shopt[3] = { '-', (char)optopt, '\0' };
	int n = (int)strlen(arg);
	if (arg[0] == '-' && arg[1] == '-') {
		n = (int)strcspn(arg, "="); /* --name=value: the name */
	} else if (optopt > 0 && optopt < 128) {
		arg = shopt;
		n = 2;
	}
	fprintf(stderr, "ward: content %s: %s %.*s\n", sub, o == ':' ? "missing the argument of" : "unknown option",
		n, arg);
	return usage_error();
}

/* A single-valued option given once. */
static bool set_once(const char **slot, const char *sub, const char *opt, const char *value)
{
	if (*slot) {
		fprintf(stderr, "ward: content %s: %s given twice\n", sub, opt);
		return false;
	}
	*slot = value;
	return true;
}

/* ---- values ---- */

/* A decimal number @min..@max: digits only, no sign, no leading zero.
 * Says what is wrong on stderr. */
static bool parse_num(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (ward_dec_parse(s, strlen(s), &v) != WARD_DEC_OK || v < min || v > max) {
		fprintf(stderr, "ward: %s '%s': not a number from %" PRIu64 " to %" PRIu64 "\n", opt, s, min, max);
		return false;
	}
	*out = v;
	return true;
}

/* [a-z0-9][a-z0-9._-]*, at most @max characters (the bundle format's names) */
static bool parse_name(const char *opt, const char *s, size_t max)
{
	bool ok = ward_name_valid(s, strlen(s), max);
	if (!ok)
		fprintf(stderr, "ward: %s '%s': not a name ([a-z0-9][a-z0-9._-]*, at most %zu characters)\n", opt, s,
			max);
	return ok;
}

/* "3600s", "90m", "12h", "30d" in seconds; -EINVAL. */
static int parse_duration(const char *s, int64_t *out)
{
	uint64_t n = 0;
	size_t i = 0;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		if (n > (uint64_t)BUNDLE_TIME_MAX)
			return -EINVAL;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == 0 || !s[i] || s[i + 1])
		return -EINVAL;
	uint64_t unit;
	switch (s[i]) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = DAY; break;
	default: return -EINVAL;
	}
	if (n > (uint64_t)BUNDLE_TIME_MAX / unit)
		return -EINVAL;
	*out = (int64_t)(n * unit);
	return 0;
}

/* A TIME, or a DURATION after @base (--expires). */
static bool parse_when(const char *opt, const char *s, int64_t base, int64_t *out)
{
	int64_t d;
	if (strlen(s) == BUNDLE_TIME_LEN && bundle_time_parse(s, BUNDLE_TIME_LEN, out) == 0)
		return true;
	if (parse_duration(s, &d) == 0 && base <= BUNDLE_TIME_MAX - d) {
		*out = base + d;
		return true;
	}
	fprintf(stderr, "ward: %s '%s': neither a TIME (YYYY-MM-DDTHH:MM:SSZ, UTC) nor a DURATION (3600s, 90m, "
		"12h, 30d) ending by 9999-12-31\n", opt, s);
	return false;
}

/* ---- files ---- */

static const char *file_error(int r)
{
	return r == -EINVAL ? "not a regular file" : strerror(-r);
}

/* file_read_all() saying what went wrong: true when loaded. */
static bool load(const char *path, size_t max, uint8_t **out, size_t *len)
{
	int r = file_read_all(path, max, out, len);
	if (r == -EFBIG)
		fprintf(stderr, "ward: %s: %zu bytes, more than %zu\n", path, *len, max);
	else if (r < 0)
		fprintf(stderr, "ward: %s: %s\n", path, file_error(r));
	return r == 0;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* PATH.minisig, malloc'd (exits on no memory: nothing to clean up yet). */
static char *sig_path(const char *path)
{
	char *s;
	if (asprintf(&s, "%s.minisig", path) < 0) {
		fputs("ward: out of memory\n", stderr);
		exit(1);
	}
	return s;
}

/* ---- keys ---- */

struct signer {
	const char *path;
	struct minisign_seckey sk;
	char id[2 * MINISIGN_KEYID_LEN + 1];
};

static bool load_seckey(const char *path, struct signer *s)
{
	uint8_t *text;
	size_t len;
	char err[ERR_MAX];
	if (!load(path, MINISIGN_FILE_MAX, &text, &len))
		return false;
	int r = minisign_seckey_parse((const char *)text, len, &s->sk, err, sizeof(err));
	sodium_memzero(text, len);
	free(text);
	if (r) {
		fprintf(stderr, "ward: %s: %s\n", path, err);
		return false;
	}
	s->path = path;
	minisign_keyid_hex(s->sk.keyid, s->id);
	return true;
}

/* Every key of @paths into @s, distinct: true, or false after saying why. */
static bool load_signers(const char *const *paths, size_t n, struct signer *s)
{
	for (size_t i = 0; i < n; i++) {
		if (!load_seckey(paths[i], &s[i]))
			return false;
		for (size_t j = 0; j < i; j++)
			if (!memcmp(s[i].sk.keyid, s[j].sk.keyid, MINISIGN_KEYID_LEN)) {
				fprintf(stderr, "ward: %s and %s are the same key (key id %s)\n", s[j].path,
					s[i].path, s[i].id);
				return false;
			}
	}
	return true;
}

static void wipe_signers(struct signer *s, size_t n)
{
	sodium_memzero(s, n * sizeof(*s));
}

/* The public key of a secret key: libsodium's secret key ends with it. */
static void signer_pubkey(const struct signer *s, struct minisign_pubkey *pk)
{
	memcpy(pk->keyid, s->sk.keyid, MINISIGN_KEYID_LEN);
	memcpy(pk->pk, s->sk.sk + 32, 32);
}

/* One signature block by each of @s[0..@n) over @msg, appended to @out
 * (room for @n * SIG_TEXT_MAX more bytes at *@used). */
static bool sign_all(const struct signer *s, size_t n, const uint8_t *msg, size_t len, const char *comment,
		     char *out, size_t *used)
{
	for (size_t i = 0; i < n; i++) {
		int r = minisign_sign(&s[i].sk, msg, len, comment, out + *used, SIG_TEXT_MAX);
		if (r < 0) {
			fprintf(stderr, "ward: signing with %s: %s\n", s[i].path, strerror(-r));
			return false;
		}
		*used += (size_t)r;
	}
	return true;
}

static void print_ids(const struct signer *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "", s[i].id);
}

/* ---- ward content sign ---- */

struct sign_opts {
	const char *keys[BUNDLE_SIGS_MAX];
	size_t nkeys;
	const char *out, *client, *version, *channel, *expires, *created, *append, *payload;
	bool force;
};

static int sign_new(const struct sign_opts *o)
{
	struct bundle_meta m;
	uint64_t version;
	memset(&m, 0, sizeof(m));
	const char *channel = o->channel ? o->channel : "stable";
	if (!parse_name("--client", o->client, BUNDLE_CLIENT_MAX) ||
	    !parse_name("--channel", channel, BUNDLE_CHANNEL_MAX) ||
	    !parse_num("--version", o->version, 1, INT64_MAX, &version))
		return EXIT_USAGE;
	int64_t now = (int64_t)time(NULL);
	m.created = now;
	if (o->created && (strlen(o->created) != BUNDLE_TIME_LEN ||
			   bundle_time_parse(o->created, BUNDLE_TIME_LEN, &m.created))) {
		fprintf(stderr, "ward: --created '%s': not a TIME (YYYY-MM-DDTHH:MM:SSZ, UTC)\n", o->created);
		return EXIT_USAGE;
	}
	if (o->expires) {
		if (!parse_when("--expires", o->expires, m.created, &m.expires))
			return EXIT_USAGE;
	} else if (m.created > BUNDLE_TIME_MAX - 30 * DAY) {
		fputs("ward: --created is too late for the default expiry (30 days later); give --expires\n", stderr);
		return EXIT_USAGE;
	} else {
		m.expires = m.created + 30 * DAY;
	}
	char c[BUNDLE_TIME_LEN + 1], e[BUNDLE_TIME_LEN + 1];
	bundle_time_format(m.created, c);
	bundle_time_format(m.expires, e);
	if (m.expires <= m.created) {
		fprintf(stderr, "ward: expires %s is not after created %s\n", e, c);
		return EXIT_USAGE;
	}
	snprintf(m.client, sizeof(m.client), "%s", o->client);
	snprintf(m.channel, sizeof(m.channel), "%s", channel);
	m.version = version;

	char *sigout = sig_path(o->out);
	int status = 1;
	struct signer s[BUNDLE_SIGS_MAX];
	uint8_t *payload = NULL, *body = NULL;
	char *sigtext = NULL;
	size_t plen = 0, blen = 0, used = 0;
	if (!o->force && (exists(o->out) || exists(sigout))) {
		fprintf(stderr, "ward: %s exists (--force replaces it)\n", exists(o->out) ? o->out : sigout);
		goto out;
	}
	if (!load_signers(o->keys, o->nkeys, s) || !load(o->payload, BUNDLE_MAX, &payload, &plen))
		goto out;
	int r = bundle_build(&m, payload, plen, &body, &blen);
	if (r < 0) {
		fprintf(stderr, "ward: cannot build the bundle: %s\n", r == -EINVAL ? "invalid metadata" : strerror(-r));
		goto out;
	}
	char comment[COMMENT_MAX];
	snprintf(comment, sizeof(comment), "ward bundle client=%s channel=%s version=%" PRIu64, m.client, m.channel,
		 m.version);
	sigtext = malloc(o->nkeys * SIG_TEXT_MAX + 1);
	if (!sigtext) {
		fputs("ward: out of memory\n", stderr);
		goto out;
	}
	if (!sign_all(s, o->nkeys, body, blen, comment, sigtext, &used))
		goto out;
	/* the signatures first: a bundle is never there without them */
	if ((r = file_write_atomic(sigout, sigtext, used, o->force)) < 0) {
		fprintf(stderr, "ward: %s: %s%s\n", sigout, strerror(-r), r == -EEXIST ? " (--force replaces it)" : "");
		goto out;
	}
	if ((r = file_write_atomic(o->out, body, blen, o->force)) < 0) {
		fprintf(stderr, "ward: %s: %s%s\n", o->out, strerror(-r), r == -EEXIST ? " (--force replaces it)" : "");
		if (!o->force)
			unlink(sigout);
		goto out;
	}
	printf("%s: client=%s channel=%s version=%" PRIu64 ", created %s, expires %s, payload %zu bytes\n", o->out,
	       m.client, m.channel, m.version, c, e, plen);
	printf("%s: signed by %zu key%s: ", sigout, o->nkeys, o->nkeys == 1 ? "" : "s");
	print_ids(s, o->nkeys);
	putchar('\n');
	if (m.expires <= now)
		fprintf(stderr, "ward: warning: %s expired at %s: wardd refuses it\n", o->out, e);
	status = fflush(stdout) == 0 ? 0 : 1;
out:
	wipe_signers(s, sizeof(s) / sizeof(s[0]));
	free(payload);
	free(body);
	free(sigtext);
	free(sigout);
	return status;
}

/* The signature file @text (@len bytes) with its trailing empty lines cut
 * to one newline; its blocks parsed into @sigs.  true, or false after
 * saying why. */
static bool existing_sigs(const char *path, char *text, size_t *len, struct minisign_sig *sigs, size_t *n)
{
	char err[ERR_MAX];
	while (*len > 0 && text[*len - 1] == '\n')
		(*len)--;
	*n = 0;
	if (*len == 0)
		return true; /* empty: as if missing */
	text[(*len)++] = '\n'; /* one newline: where one was, or on file_read_all()'s NUL */
	if (sigset_parse(text, *len, sigs, BUNDLE_SIGS_MAX, n, err, sizeof(err))) {
		fprintf(stderr, "ward: %s: %s (repair or remove it)\n", path, err);
		return false;
	}
	return true;
}

static int sign_append(const struct sign_opts *o)
{
	const char *file = o->append;
	char *sigfile = sig_path(file), comment[COMMENT_MAX], err[ERR_MAX];
	uint8_t *buf = NULL, *old = NULL;
	char *text = NULL;
	size_t len = 0, oldlen = 0, nold = 0, ntodo = 0;
	struct signer s[BUNDLE_SIGS_MAX], todo[BUNDLE_SIGS_MAX];
	struct minisign_sig *sigs = calloc(BUNDLE_SIGS_MAX, sizeof(*sigs));
	int status = 1;
	if (!sigs) {
		fputs("ward: out of memory\n", stderr);
		goto out;
	}
	if (!load(file, BUNDLE_MAX, &buf, &len))
		goto out;
	const char *kind;
	if (len >= 8 && !memcmp(buf, BUNDLE_MAGIC, 8)) {
		struct bundle b;
		enum bundle_refusal r = bundle_parse(buf, len, BUNDLE_MAX, &b, err, sizeof(err));
		if (r) {
			fprintf(stderr, "ward: %s: not a valid bundle (%s): %s\n", file, bundle_refusal_name(r), err);
			goto out;
		}
		uint8_t h[crypto_hash_sha256_BYTES];
		crypto_hash_sha256(h, b.payload, b.payload_len);
		if (sodium_memcmp(h, b.meta.payload_sha256, sizeof(h)))
			fprintf(stderr, "ward: warning: %s: its payload is not the one its metadata names: wardd "
				"refuses it (hash_mismatch)\n", file);
		snprintf(comment, sizeof(comment), "ward bundle client=%s channel=%s version=%" PRIu64, b.meta.client,
			 b.meta.channel, b.meta.version);
		kind = "bundle";
	} else if (len >= strlen(ROOT_PREFIX) && !memcmp(buf, ROOT_PREFIX, strlen(ROOT_PREFIX))) {
		struct trust_root t;
		enum bundle_refusal r = trust_parse(buf, len, &t, err, sizeof(err));
		if (r) {
			fprintf(stderr, "ward: %s: not a valid root of trust (%s): %s\n", file, bundle_refusal_name(r),
				err);
			goto out;
		}
		snprintf(comment, sizeof(comment), "ward root version=%" PRIu64, t.version);
		kind = "root of trust";
	} else {
		fprintf(stderr, "ward: %s is neither a ward bundle nor a root of trust\n", file);
		goto out;
	}

	int r = file_read_all(sigfile, TEXT_MAX, &old, &oldlen);
	if (r == -ENOENT) {
		oldlen = 0;
	} else if (r < 0) {
		if (r == -EFBIG)
			fprintf(stderr, "ward: %s: %zu bytes, too big for a signature file\n", sigfile, oldlen);
		else
			fprintf(stderr, "ward: %s: %s\n", sigfile, file_error(r));
		goto out;
	}
	if (old && !existing_sigs(sigfile, (char *)old, &oldlen, sigs, &nold))
		goto out;
	if (!load_signers(o->keys, o->nkeys, s))
		goto out;
	/* keys that signed FILE already are skipped; a signature by one of
	 * them that does not verify (FILE changed since) would make wardd
	 * refuse FILE: it has to go first */
	for (size_t i = 0; i < o->nkeys; i++) {
		struct minisign_pubkey pk;
		bool done = false;
		signer_pubkey(&s[i], &pk);
		for (size_t j = 0; j < nold; j++) {
			if (memcmp(sigs[j].keyid, pk.keyid, MINISIGN_KEYID_LEN))
				continue;
			if (minisign_verify(&pk, &sigs[j], buf, len, err, sizeof(err))) {
				fprintf(stderr, "ward: %s: signature %zu, by key %s, does not verify over %s (%s); "
					"remove it and sign again\n", sigfile, j + 1, s[i].id, file, err);
				goto out;
			}
			done = true;
		}
		if (done)
			printf("%s: key %s signed it already\n", sigfile, s[i].id);
		else
			todo[ntodo++] = s[i];
	}
	if (ntodo == 0) {
		printf("%s: nothing to add\n", sigfile);
		status = 0;
		goto out;
	}
	if (nold + ntodo > BUNDLE_SIGS_MAX) {
		fprintf(stderr, "ward: %s: %zu signatures and %zu more: at most %d\n", sigfile, nold, ntodo,
			BUNDLE_SIGS_MAX);
		goto out;
	}
	size_t used = oldlen;
	text = malloc(oldlen + ntodo * SIG_TEXT_MAX + 1);
	if (!text) {
		fputs("ward: out of memory\n", stderr);
		goto out;
	}
	if (oldlen)
		memcpy(text, old, oldlen);
	size_t total = 0;
	if (!sign_all(todo, ntodo, buf, len, comment, text, &used))
		goto out;
	if (sigset_parse(text, used, sigs, BUNDLE_SIGS_MAX, &total, err, sizeof(err))) {
		fprintf(stderr, "ward: %s: the result would not parse: %s\n", sigfile, err); /* cannot happen */
		goto out;
	}
	if ((r = file_write_atomic(sigfile, text, used, true)) < 0) {
		fprintf(stderr, "ward: %s: %s\n", sigfile, strerror(-r));
		goto out;
	}
	printf("%s: %s signed by %zu more key%s (", sigfile, kind, ntodo, ntodo == 1 ? "" : "s");
	print_ids(todo, ntodo);
	printf("); %zu signature%s in all\n", total, total == 1 ? "" : "s");
	status = fflush(stdout) == 0 ? 0 : 1;
out:
	wipe_signers(s, sizeof(s) / sizeof(s[0]));
	wipe_signers(todo, sizeof(todo) / sizeof(todo[0]));
	free(sigs);
	free(buf);
	free(old);
	free(text);
	free(sigfile);
	return status;
}

static int cmd_sign(int argc, char **argv)
{
	enum { OPT_CLIENT = 256, OPT_VERSION, OPT_CHANNEL, OPT_EXPIRES, OPT_CREATED, OPT_APPEND, OPT_FORCE };
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "client", required_argument, NULL, OPT_CLIENT },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "channel", required_argument, NULL, OPT_CHANNEL },
		{ "expires", required_argument, NULL, OPT_EXPIRES },
		{ "created", required_argument, NULL, OPT_CREATED },
		{ "append", required_argument, NULL, OPT_APPEND },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct sign_opts o;
	bool ok = true;
	int c;
	memset(&o, 0, sizeof(o));
	while (ok && (c = getopt_long(argc, argv, ":k:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			content_usage(stdout);
			return 0;
		case 'k':
			if (o.nkeys == BUNDLE_SIGS_MAX) {
				fprintf(stderr, "ward: content sign: at most %d keys\n", BUNDLE_SIGS_MAX);
				return EXIT_USAGE;
			}
			o.keys[o.nkeys++] = optarg;
			break;
		case 'o': ok = set_once(&o.out, "sign", "-o", optarg); break;
		case OPT_CLIENT: ok = set_once(&o.client, "sign", "--client", optarg); break;
		case OPT_VERSION: ok = set_once(&o.version, "sign", "--version", optarg); break;
		case OPT_CHANNEL: ok = set_once(&o.channel, "sign", "--channel", optarg); break;
		case OPT_EXPIRES: ok = set_once(&o.expires, "sign", "--expires", optarg); break;
		case OPT_CREATED: ok = set_once(&o.created, "sign", "--created", optarg); break;
		case OPT_APPEND: ok = set_once(&o.append, "sign", "--append", optarg); break;
		case OPT_FORCE: o.force = true; break;
		default:
			return bad_option("sign", c, argv);
		}
	}
	if (!ok)
		return usage_error();
	if (o.nkeys == 0) {
		fputs("ward: content sign: no key (-k SECKEY)\n", stderr);
		return usage_error();
	}
	if (o.append) {
		if (o.out || o.client || o.version || o.channel || o.expires || o.created || o.force || optind != argc) {
			fputs("ward: content sign --append FILE takes only -k SECKEY options\n", stderr);
			return usage_error();
		}
		return sign_append(&o);
	}
	if (!o.client || !o.version || !o.out || argc - optind != 1) {
		fprintf(stderr, "ward: content sign: %s\n", !o.client ? "no --client NAME" : !o.version ?
			"no --version N" : !o.out ? "no -o OUT" : "one PAYLOAD file, please");
		return usage_error();
	}
	o.payload = argv[optind];
	return sign_new(&o);
}

/* ---- ward content root ---- */

static int cmd_root(int argc, char **argv)
{
	enum { OPT_THRESHOLD = 256, OPT_VERSION, OPT_EXPIRES, OPT_FORCE };
	static const struct option opts[] = {
		{ "pubkey", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "threshold", required_argument, NULL, OPT_THRESHOLD },
		{ "version", required_argument, NULL, OPT_VERSION },
		{ "expires", required_argument, NULL, OPT_EXPIRES },
		{ "force", no_argument, NULL, OPT_FORCE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *keys[TRUST_KEYS_MAX], *out = NULL, *threshold = NULL, *version = NULL, *expires = NULL;
	size_t nkeys = 0;
	bool force = false, ok = true;
	int c;
	while (ok && (c = getopt_long(argc, argv, ":p:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			content_usage(stdout);
			return 0;
		case 'p':
			if (nkeys == TRUST_KEYS_MAX) {
				fprintf(stderr, "ward: content root: at most %d keys\n", TRUST_KEYS_MAX);
				return EXIT_USAGE;
			}
			keys[nkeys++] = optarg;
			break;
		case 'o': ok = set_once(&out, "root", "-o", optarg); break;
		case OPT_THRESHOLD: ok = set_once(&threshold, "root", "--threshold", optarg); break;
		case OPT_VERSION: ok = set_once(&version, "root", "--version", optarg); break;
		case OPT_EXPIRES: ok = set_once(&expires, "root", "--expires", optarg); break;
		case OPT_FORCE: force = true; break;
		default:
			return bad_option("root", c, argv);
		}
	}
	if (!ok)
		return usage_error();
	if (!nkeys || !threshold || !version || !out || optind != argc) {
		fprintf(stderr, "ward: content root: %s\n", !nkeys ? "no key (-p PUBKEY)" : !threshold ?
			"no --threshold N" : !version ? "no --version N" : !out ? "no -o OUT" : "no other arguments, please");
		return usage_error();
	}
	if (!force && exists(out)) {
		fprintf(stderr, "ward: %s exists (--force replaces it)\n", out);
		return 1;
	}
	struct trust_root t;
	uint64_t v, th;
	memset(&t, 0, sizeof(t));
	int64_t now = (int64_t)time(NULL);
	if (!parse_num("--version", version, 1, INT64_MAX, &v) || !parse_num("--threshold", threshold, 1, nkeys, &th))
		return EXIT_USAGE;
	if (expires) {
		if (!parse_when("--expires", expires, now, &t.expires))
			return EXIT_USAGE;
	} else {
		t.expires = now + 365 * DAY;
	}
	t.version = v;
	t.threshold = (unsigned)th;
	for (size_t i = 0; i < nkeys; i++) {
		uint8_t *text;
		size_t len;
		char err[ERR_MAX], a[2 * MINISIGN_KEYID_LEN + 1];
		if (!load(keys[i], MINISIGN_FILE_MAX, &text, &len))
			return 1;
		int r = minisign_pubkey_parse((const char *)text, len, &t.keys[i], err, sizeof(err));
		free(text);
		if (r) {
			fprintf(stderr, "ward: %s: %s\n", keys[i], err);
			return 1;
		}
		minisign_keyid_hex(t.keys[i].keyid, a);
		for (size_t j = 0; j < i; j++)
			if (!memcmp(t.keys[i].keyid, t.keys[j].keyid, MINISIGN_KEYID_LEN) ||
			    !memcmp(t.keys[i].pk, t.keys[j].pk, 32)) {
				fprintf(stderr, "ward: %s and %s are the same key, or share key id %s: each key counts "
					"once\n", keys[j], keys[i], a);
				return 1;
			}
		t.nkeys++;
	}
	char text[TRUST_FILE_MAX + 1], e[BUNDLE_TIME_LEN + 1];
	int n = trust_format(&t, text, sizeof(text));
	if (n < 0) {
		fprintf(stderr, "ward: cannot write the root: %s\n", n == -EINVAL ? "not a valid root" : strerror(-n));
		return 1;
	}
	int r = file_write_atomic(out, text, (size_t)n, force);
	if (r < 0) {
		fprintf(stderr, "ward: %s: %s%s\n", out, strerror(-r), r == -EEXIST ? " (--force replaces it)" : "");
		return 1;
	}
	/* signatures over what was there before cannot verify over this */
	char *sigfile = sig_path(out);
	bool stale = force && unlink(sigfile) == 0;
	bundle_time_format(t.expires, e);
	printf("%s: root of trust version %" PRIu64 ", %u key%s, threshold %u, expires %s\n", out, t.version, t.nkeys,
	       t.nkeys == 1 ? "" : "s", t.threshold, e);
	if (stale)
		printf("%s: removed (it signed the file replaced)\n", sigfile);
	printf("It is not signed yet. Sign it with at least %u of its keys:\n"
	       "  ward content sign -k SECKEY [-k SECKEY]... --append %s\n"
	       "and, to rotate from the root in force, also with that root's threshold of its keys.\n",
	       t.threshold, out);
	if (t.expires <= now)
		fprintf(stderr, "ward: warning: %s expired at %s: wardd refuses it\n", out, e);
	free(sigfile);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- ward content verify ---- */

static int refused(enum bundle_refusal r, const char *what, const char *err)
{
	fprintf(stderr, "ward: refused (%s): %s%s%s\n", bundle_refusal_name(r), what ? what : "", what ? ": " : "",
		err);
	return 1;
}

/* How many of @keys signed @msg in @sigtext (already checked: no error). */
static unsigned count_signers(const struct minisign_pubkey *keys, unsigned nkeys, const char *sigtext,
			      size_t siglen, const uint8_t *msg, size_t len)
{
	struct minisign_sig *sigs = calloc(BUNDLE_SIGS_MAX, sizeof(*sigs));
	size_t n = 0;
	unsigned valid = 0;
	char err[ERR_MAX];
	if (sigs && sigset_parse(sigtext, siglen, sigs, BUNDLE_SIGS_MAX, &n, err, sizeof(err)) == 0)
		sigset_count(keys, nkeys, sigs, n, msg, len, &valid, err, sizeof(err));
	free(sigs);
	return valid;
}

static int verify_rotation(const char *oldpath, const struct trust_root *old, const char *path,
			   const uint8_t *buf, size_t len, const char *sig, size_t siglen, int64_t now)
{
	struct trust_root t;
	char err[ERR_MAX], e[BUNDLE_TIME_LEN + 1];
	enum bundle_refusal r = trust_rotate(old, buf, len, sig, siglen, now, &t, err, sizeof(err));
	if (r)
		return refused(r, NULL, err);
	unsigned by_old = count_signers(old->keys, old->nkeys, sig, siglen, buf, len);
	unsigned by_new = count_signers(t.keys, t.nkeys, sig, siglen, buf, len);
	bundle_time_format(t.expires, e);
	printf("%s: root of trust version %" PRIu64 ", %u key%s, threshold %u, expires %s\n", path, t.version,
	       t.nkeys, t.nkeys == 1 ? "" : "s", t.threshold, e);
	printf("verified: a rotation from version %" PRIu64 " (%s), signed by %u of the old root's %u keys "
	       "(threshold %u) and %u of the new root's %u keys (threshold %u)\n", old->version, oldpath, by_old,
	       old->nkeys, old->threshold, by_new, t.nkeys, t.threshold);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int verify_bundle(const struct trust_root *root, const uint8_t *buf, size_t len, const char *sig,
			 size_t siglen, const char *client, const char *channel, uint64_t highest, int64_t now)
{
	struct bundle b;
	char err[ERR_MAX], meta[BUNDLE_META_MAX + 1], own[BUNDLE_CLIENT_MAX + 1];
	enum bundle_refusal r = bundle_parse(buf, len, BUNDLE_MAX, &b, err, sizeof(err));
	if (r)
		return refused(r, NULL, err);
	/* by default, for the client it says it is for; bundle_verify()
	 * fills @b again, the same bundle, then checked */
	snprintf(own, sizeof(own), "%s", b.meta.client);
	r = bundle_verify(root, buf, len, BUNDLE_MAX, sig, siglen, client ? client : own, channel, highest, now, &b,
			  err, sizeof(err));
	if (r)
		return refused(r, NULL, err);
	if (bundle_meta_format(&b.meta, meta, sizeof(meta)) < 0) {
		fputs("ward: the verified metadata does not format (a bug)\n", stderr);
		return 1;
	}
	fputs(meta, stdout);
	printf("verified: signed by %u of the root's %u keys (threshold %u)\n",
	       count_signers(root->keys, root->nkeys, sig, siglen, buf, len), root->nkeys, root->threshold);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int cmd_verify(int argc, char **argv)
{
	enum { OPT_ROOT = 256, OPT_CLIENT, OPT_CHANNEL, OPT_HIGHEST, OPT_SIGNATURE };
	static const struct option opts[] = {
		{ "root", required_argument, NULL, OPT_ROOT },
		{ "client", required_argument, NULL, OPT_CLIENT },
		{ "channel", required_argument, NULL, OPT_CHANNEL },
		{ "highest", required_argument, NULL, OPT_HIGHEST },
		{ "signature", required_argument, NULL, OPT_SIGNATURE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *rootpath = NULL, *client = NULL, *channel = NULL, *highest_s = NULL, *sigpath = NULL;
	bool ok = true;
	int c;
	while (ok && (c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			content_usage(stdout);
			return 0;
		case OPT_ROOT: ok = set_once(&rootpath, "verify", "--root", optarg); break;
		case OPT_CLIENT: ok = set_once(&client, "verify", "--client", optarg); break;
		case OPT_CHANNEL: ok = set_once(&channel, "verify", "--channel", optarg); break;
		case OPT_HIGHEST: ok = set_once(&highest_s, "verify", "--highest", optarg); break;
		case OPT_SIGNATURE: ok = set_once(&sigpath, "verify", "--signature", optarg); break;
		default:
			return bad_option("verify", c, argv);
		}
	}
	if (!ok)
		return usage_error();
	if (!rootpath || argc - optind != 1) {
		fprintf(stderr, "ward: content verify: %s\n", !rootpath ? "no --root ROOT" : "one FILE, please");
		return usage_error();
	}
	uint64_t highest = 0;
	if (highest_s && !parse_num("--highest", highest_s, 0, INT64_MAX, &highest))
		return EXIT_USAGE;
	const char *path = argv[optind];
	char *rootsig = sig_path(rootpath), *defsig = sig_path(path), err[ERR_MAX], e[BUNDLE_TIME_LEN + 1];
	uint8_t *root = NULL, *rsig = NULL, *buf = NULL, *sig = NULL;
	size_t rootlen = 0, rsiglen = 0, len = 0, siglen = 0;
	int status = 1;
	int64_t now = (int64_t)time(NULL);
	if (!sigpath)
		sigpath = defsig;
	if (!load(rootpath, TEXT_MAX, &root, &rootlen) || !load(rootsig, TEXT_MAX, &rsig, &rsiglen))
		goto out;
	int r = file_read_all(path, BUNDLE_MAX, &buf, &len);
	if (r == -EFBIG) {
		char why[64];
		snprintf(why, sizeof(why), "%zu bytes, more than the %zu allowed", len, BUNDLE_MAX);
		refused(BR_OVERSIZED, path, why);
		goto out;
	} else if (r < 0) {
		fprintf(stderr, "ward: %s: %s\n", path, file_error(r));
		goto out;
	}
	if (!load(sigpath, TEXT_MAX, &sig, &siglen))
		goto out;
	bool is_root = len >= strlen(ROOT_PREFIX) && !memcmp(buf, ROOT_PREFIX, strlen(ROOT_PREFIX));
	if (is_root && (client || channel || highest_s)) {
		fputs("ward: content verify: --client, --channel and --highest are for bundles, not roots\n", stderr);
		status = usage_error();
		goto out;
	}
	struct trust_root t;
	enum bundle_refusal br = trust_check_initial(root, rootlen, (const char *)rsig, rsiglen, now, &t, err,
						     sizeof(err));
	if (br == BR_ROOT_EXPIRED && is_root) {
		/* a rotation may start from an expired root: its signatures
		 * are checked as of just before it expired */
		struct trust_root old;
		if (trust_parse(root, rootlen, &old, err, sizeof(err)) == BR_OK) {
			br = trust_check_initial(root, rootlen, (const char *)rsig, rsiglen, old.expires - 1, &t, err,
						 sizeof(err));
			bundle_time_format(old.expires, e);
			if (br == BR_OK)
				printf("%s: expired at %s (a rotation may start from an expired root)\n", rootpath, e);
		}
	}
	if (br) {
		refused(br, rootpath, err);
		goto out;
	}
	if (is_root)
		status = verify_rotation(rootpath, &t, path, buf, len, (const char *)sig, siglen, now);
	else
		status = verify_bundle(&t, buf, len, (const char *)sig, siglen, client, channel, highest, now);
out:
	free(root);
	free(rsig);
	free(buf);
	free(sig);
	free(rootsig);
	free(defsig);
	return status;
}

/* ---- talking to wardd ---- */

static const char *str(json_object *o, const char *key)
{
	json_object *v = json_get(o, key);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool u64(json_object *o, const char *key, uint64_t *out)
{
	json_object *v = json_get(o, key);
	if (!v || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_uint64(v);
	return true;
}

static uint64_t u64_or(json_object *o, const char *key, uint64_t dflt)
{
	uint64_t v;
	return u64(o, key, &v) ? v : dflt;
}

/* The first client object of a reply's "content". */
static json_object *first_client(json_object *reply)
{
	json_object *a = json_get(reply, "content");
	return a && json_object_is_type(a, json_type_array) && json_object_array_length(a) > 0 ?
		       json_object_array_get_idx(a, 0) : NULL;
}

static ward_client *connect_wardd(void)
{
	ward_client *c;
	int r = ward_client_new(&c, "ward content");
	if (r < 0) {
		fprintf(stderr, "ward: cannot connect to wardd: %s\n", ward_strerror(r));
		return NULL;
	}
	return c;
}

/* Send @req (consumed) and parse wardd's answer into *@reply: a JSON object
 * with "ok".  true, or false after saying why. */
static bool ask(ward_client *c, json_object *req, json_object **reply)
{
	char *text = NULL;
	int r = ward_client_content(c, json_object_to_json_string_ext(req, JSON_FLAGS), &text);
	json_object_put(req);
	if (r < 0) {
		fprintf(stderr, "ward: content: %s%s\n", ward_strerror(r),
			r == -EPERM ? " (wardd takes content requests from root only)" : "");
		return false;
	}
	json_object *o = json_tokener_parse(text);
	free(text);
	json_object *ok = json_get(o, "ok");
	if (!ok || !json_object_is_type(ok, json_type_boolean)) {
		fputs("ward: wardd sent an answer that is not a JSON object with \"ok\"\n", stderr);
		json_object_put(o);
		return false;
	}
	*reply = o;
	return true;
}

/* A refusal as "ward: CODE: MESSAGE"; true when the reply is ok. */
static bool reply_ok(json_object *reply)
{
	if (json_object_get_boolean(json_get(reply, "ok")))
		return true;
	const char *code = str(reply, "error"), *msg = str(reply, "message");
	fprintf(stderr, "ward: %s: %s\n", code ? code : "error", msg && msg[0] ? msg : "(no message)");
	return false;
}

static json_object *new_request(const char *op, const char *client)
{
	json_object *req = json_object_new_object();
	json_object_object_add(req, "op", json_object_new_string(op));
	if (client)
		json_object_object_add(req, "client", json_object_new_string(client));
	return req;
}

/* Send @req (consumed) on a new connection; print the reply's message.
 * The exit status. */
static int one_request(json_object *req)
{
	ward_client *c = connect_wardd();
	json_object *reply = NULL;
	if (!c) {
		json_object_put(req);
		return 1;
	}
	bool asked = ask(c, req, &reply);
	ward_client_free(c);
	if (!asked)
		return 1;
	int status = 1;
	if (reply_ok(reply)) {
		const char *msg = str(reply, "message");
		if (msg && msg[0])
			printf("%s\n", msg);
		status = fflush(stdout) == 0 ? 0 : 1;
	}
	json_object_put(reply);
	return status;
}

/* Options of the online subcommands without their own: --help alone.
 * -1 to go on, else the exit status. */
/* The options of a command that has --help and at most one flag --@flag
 * (NULL: none), which sets *@set.  -1 to go on, else the exit status. */
static int help_or_flag(const char *sub, int argc, char **argv, const char *flag, bool *set)
{
	const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ flag, no_argument, NULL, 'f' }, /* NULL: the end */
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			content_usage(stdout);
			return 0;
		}
		if (c != 'f' || !flag)
			return bad_option(sub, c, argv);
		*set = true;
	}
	return -1;
}

/* ---- ward content promote | rollback | pause | resume CLIENT ---- */

static int cmd_simple(int argc, char **argv)
{
	const char *op = argv[0];
	int r = help_or_flag(op, argc, argv, NULL, NULL);
	if (r >= 0)
		return r;
	if (argc - optind != 1) {
		fprintf(stderr, "ward: content %s: one CLIENT, please\n", op);
		return usage_error();
	}
	return one_request(new_request(op, argv[optind]));
}

/* ---- ward content pin CLIENT VERSION | --off ---- */

static int cmd_pin(int argc, char **argv)
{
	bool off = false;
	int r = help_or_flag("pin", argc, argv, "off", &off);
	if (r >= 0)
		return r;
	uint64_t v = 0;
	if (argc - optind != (off ? 1 : 2)) {
		fputs("ward: content pin: CLIENT VERSION, or CLIENT --off\n", stderr);
		return usage_error();
	}
	if (!off && !parse_num("VERSION", argv[optind + 1], 1, INT64_MAX, &v))
		return EXIT_USAGE;
	json_object *req = new_request("pin", argv[optind]);
	json_object_object_add(req, "version", json_object_new_int64((int64_t)v));
	return one_request(req);
}

/* ---- ward content status ---- */

static void print_gates(json_object *g)
{
	uint64_t cpu = u64_or(g, "cpu_ns", 0), acpu = u64_or(g, "active_cpu_ns", 0);
	uint64_t mem = u64_or(g, "memory_peak", 0), amem = u64_or(g, "active_memory_peak", 0);
	printf("  %-17s %" PRIu64 " crashes, %" PRIu64 " deadline misses; %" PRIu64 " verdicts compared, %" PRIu64
	       " differ, %" PRIu64 " denied what the active allowed\n", "gates", u64_or(g, "crashes", 0),
	       u64_or(g, "deadline_misses", 0), u64_or(g, "compared", 0), u64_or(g, "differ", 0),
	       u64_or(g, "denied_what_active_allowed", 0));
	printf("  %-17s CPU %.3f s (active %.3f s), memory peak %.1f MiB (active %.1f MiB)\n", "", (double)cpu / 1e9,
	       (double)acpu / 1e9, (double)mem / 1048576.0, (double)amem / 1048576.0);
}

static void print_candidate(json_object *k)
{
	uint64_t v;
	if (!k) {
		printf("  %-17s -\n", "candidate");
		return;
	}
	const char *phase = str(k, "phase"), *why = str(k, "waiting_for");
	printf("  %-17s ", "candidate");
	if (u64(k, "version", &v))
		printf("%" PRIu64 ", ", v);
	printf("%s", phase ? phase : "?");
	if (why)
		printf(": %s", why);
	if (u64(k, "bake_left_s", &v))
		printf(", %" PRIu64 " s of bake left", v);
	putchar('\n');
	json_object *g = json_get(k, "gates");
	if (g)
		print_gates(g);
}

static void print_root(json_object *cl)
{
	json_object *r = json_get(cl, "root");
	const char *why = str(cl, "root_error");
	if (r) {
		const char *e = str(r, "expires");
		printf("  %-17s version %" PRIu64 ", %" PRIu64 " keys, threshold %" PRIu64 ", expires %s\n", "root",
		       u64_or(r, "version", 0), u64_or(r, "keys", 0), u64_or(r, "threshold", 0), e ? e : "?");
	} else {
		printf("  %-17s none: %s\n", "root", why ? why : "?");
	}
}

/* Members this rendering does not know, so that nothing wardd says is hidden. */
static void print_other(json_object *cl)
{
	static const char *const known[] = {
		"name", "channel", "root", "root_error", "active", "last_known_good", "pinned", "paused", "highest",
		"rollback_watch_s", "crashes_since_promotion", "candidate", "rejected", "last",
	};
	json_object_object_foreach(cl, key, v) {
		bool is_known = false;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			is_known |= strcmp(key, known[i]) == 0;
		if (!is_known)
			printf("  %-17s %s\n", key, json_object_is_type(v, json_type_string) ?
			       json_object_get_string(v) : json_object_to_json_string_ext(v, JSON_FLAGS));
	}
}

static void print_content_client(json_object *cl)
{
	uint64_t v;
	const char *name = str(cl, "name"), *channel = str(cl, "channel"), *last = str(cl, "last");
	printf("%s\n", name ? name : "?");
	printf("  %-17s %s\n", "channel", channel ? channel : "?");
	v = u64_or(cl, "active", 0);
	if (v)
		printf("  %-17s %" PRIu64 "\n", "active", v);
	else
		printf("  %-17s none\n", "active");
	if (!u64(cl, "last_known_good", &v))
		printf("  %-17s -\n", "last-known-good");
	else if (v)
		printf("  %-17s %" PRIu64 "\n", "last-known-good", v);
	else
		printf("  %-17s none (no content)\n", "last-known-good");
	v = u64_or(cl, "pinned", 0);
	if (v)
		printf("  %-17s %" PRIu64 "\n", "pinned", v);
	else
		printf("  %-17s -\n", "pinned");
	printf("  %-17s %s\n", "paused", json_object_get_boolean(json_get(cl, "paused")) ? "yes" : "no");
	if (u64(cl, "highest", &v))
		printf("  %-17s %" PRIu64 "\n", "highest", v);
	print_candidate(json_get(cl, "candidate"));
	if (u64(cl, "rollback_watch_s", &v))
		printf("  %-17s %" PRIu64 " s left, %" PRIu64 " crashes since promotion\n", "rollback watch", v,
		       u64_or(cl, "crashes_since_promotion", 0));
	json_object *rej = json_get(cl, "rejected");
	size_t n = rej && json_object_is_type(rej, json_type_array) ? json_object_array_length(rej) : 0;
	printf("  %-17s ", "rejected");
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? ", " : "", json_object_get_string(json_object_array_get_idx(rej, i)));
	printf("%s\n", n ? "" : "-");
	print_root(cl);
	print_other(cl);
	printf("  %-17s %s\n", "last", last ? last : "-");
}

static int cmd_status(int argc, char **argv)
{
	bool as_json = false;
	int r = help_or_flag("status", argc, argv, "json", &as_json);
	if (r >= 0)
		return r;
	if (argc - optind > 1) {
		fputs("ward: content status: at most one CLIENT\n", stderr);
		return usage_error();
	}
	ward_client *cl = connect_wardd();
	json_object *reply = NULL;
	if (!cl)
		return 1;
	bool asked = ask(cl, new_request("status", optind < argc ? argv[optind] : NULL), &reply);
	ward_client_free(cl);
	if (!asked)
		return 1;
	if (!reply_ok(reply)) {
		json_object_put(reply);
		return 1;
	}
	json_object *arr = json_get(reply, "content");
	size_t n = arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
	if (as_json) {
		printf("%s\n", arr ? json_object_to_json_string_ext(arr, JSON_FLAGS) : "[]");
	} else if (n == 0) {
		printf("no client takes content (none has content.trust in its manifest)\n");
	} else {
		for (size_t i = 0; i < n; i++) {
			if (i)
				putchar('\n');
			print_content_client(json_object_array_get_idx(arr, i));
		}
	}
	json_object_put(reply);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- ward content install ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Does the file start like a root of trust? (wardd tells them apart so.) */
static bool looks_like_root(const char *path)
{
	char head[sizeof(ROOT_PREFIX) - 1];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, head, sizeof(head));
	close(fd);
	return n == (ssize_t)sizeof(head) && !memcmp(head, ROOT_PREFIX, sizeof(head));
}

static bool in_array(json_object *a, uint64_t v)
{
	size_t n = a && json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
	for (size_t i = 0; i < n; i++)
		if (json_object_get_uint64(json_object_array_get_idx(a, i)) == v)
			return true;
	return false;
}

/* Poll wardd until version @v of @client is decided, or @wait_s pass. */
static int wait_outcome(ward_client *c, const char *client, uint64_t v, uint64_t wait_s)
{
	uint64_t deadline = now_ms() + wait_s * 1000;
	for (;;) {
		json_object *reply = NULL;
		sleep_ms(POLL_MS);
		if (!ask(c, new_request("status", client), &reply))
			return 1;
		if (!reply_ok(reply)) {
			json_object_put(reply);
			return 1;
		}
		json_object *cl = first_client(reply), *k = json_get(cl, "candidate");
		const char *last = str(cl, "last"), *phase = str(k, "phase"), *why = str(k, "waiting_for");
		uint64_t kv = 0;
		bool ours = k && u64(k, "version", &kv) && kv == v;
		int status = -1;
		if (u64_or(cl, "active", 0) == v) {
			printf("active\n");
			status = 0;
		} else if (ours && phase && !strcmp(phase, "waiting") && why) {
			printf("waiting: %s\n", why);
			status = EXIT_WAITING;
		} else if (!ours && in_array(json_get(cl, "rejected"), v)) {
			printf("rejected: %s\n", last ? last : "(no reason given)");
			status = 1;
		} else if (!ours) {
			if (last)
				printf("superseded: %s\n", last);
			else
				printf("superseded: version %" PRIu64 " is no longer the candidate\n", v);
			status = 1;
		} else if (now_ms() >= deadline) {
			printf("timed out after %" PRIu64 " s: version %" PRIu64 " is %s\n", wait_s, v,
			       phase ? phase : "undecided");
			status = EXIT_TIMEOUT;
		}
		json_object_put(reply);
		if (status >= 0)
			return fflush(stdout) == 0 ? status : 1;
	}
}

static int cmd_install(int argc, char **argv)
{
	enum { OPT_SIGNATURE = 256, OPT_DELAY, OPT_WAIT };
	static const struct option opts[] = {
		{ "signature", required_argument, NULL, OPT_SIGNATURE },
		{ "delay", required_argument, NULL, OPT_DELAY },
		{ "wait", optional_argument, NULL, OPT_WAIT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sig = NULL, *delay_s = NULL, *wait_arg = NULL;
	bool wait = false, ok = true;
	int c;
	while (ok && (c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			content_usage(stdout);
			return 0;
		case OPT_SIGNATURE: ok = set_once(&sig, "install", "--signature", optarg); break;
		case OPT_DELAY: ok = set_once(&delay_s, "install", "--delay", optarg); break;
		case OPT_WAIT:
			if (wait) {
				fputs("ward: content install: --wait given twice\n", stderr);
				ok = false;
			}
			wait = true;
			wait_arg = optarg;
			break;
		default:
			return bad_option("install", c, argv);
		}
	}
	if (!ok)
		return usage_error();
	if (argc - optind != 2) {
		fputs("ward: content install: CLIENT FILE, please\n", stderr);
		return usage_error();
	}
	uint64_t delay = 0, wait_s = WAIT_DEFAULT_S;
	if (delay_s && !parse_num("--delay", delay_s, 0, INT64_MAX, &delay))
		return EXIT_USAGE;
	if (wait_arg && !parse_num("--wait", wait_arg, 1, UINT32_MAX, &wait_s))
		return EXIT_USAGE;
	const char *client = argv[optind], *file = argv[optind + 1];
	/* wardd opens the files itself, from its own working directory */
	char bundle_abs[PATH_MAX], sig_abs[PATH_MAX];
	if (!realpath(file, bundle_abs)) {
		fprintf(stderr, "ward: %s: %s\n", file, strerror(errno));
		return 1;
	}
	if (sig && !realpath(sig, sig_abs)) {
		fprintf(stderr, "ward: %s: %s\n", sig, strerror(errno));
		return 1;
	}
	bool is_root = looks_like_root(bundle_abs);
	json_object *req = new_request("install", client);
	json_object_object_add(req, "bundle", json_object_new_string(bundle_abs));
	if (sig)
		json_object_object_add(req, "signature", json_object_new_string(sig_abs));
	if (delay_s)
		json_object_object_add(req, "delay_s", json_object_new_int64((int64_t)delay));

	ward_client *cl = connect_wardd();
	json_object *reply = NULL;
	if (!cl) {
		json_object_put(req);
		return 1;
	}
	int status = 1;
	if (!ask(cl, req, &reply) || !reply_ok(reply))
		goto out;
	const char *msg = str(reply, "message");
	if (msg && msg[0])
		printf("%s\n", msg);
	fflush(stdout);
	status = 0;
	if (!wait || is_root) /* a new root is in force once accepted */
		goto out;
	uint64_t v;
	if (!u64(json_get(first_client(reply), "candidate"), "version", &v)) {
		fputs("ward: wardd's answer names no candidate version to wait for\n", stderr);
		status = 1;
		goto out;
	}
	status = wait_outcome(cl, client, v, wait_s);
out:
	json_object_put(reply);
	ward_client_free(cl);
	return status;
}

/* ---- dispatch ---- */

int cmd_content(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} subs[] = {
		{ "sign", cmd_sign },
		{ "root", cmd_root },
		{ "verify", cmd_verify },
		{ "install", cmd_install },
		{ "status", cmd_status },
		{ "promote", cmd_simple },
		{ "rollback", cmd_simple },
		{ "pause", cmd_simple },
		{ "resume", cmd_simple },
		{ "pin", cmd_pin },
	};
	if (argc < 2)
		return usage_error();
	const char *sub = argv[1];
	if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) {
		content_usage(stdout);
		return 0;
	}
	if (sodium_init() < 0) {
		fputs("ward: libsodium cannot start\n", stderr);
		return 1;
	}
	opterr = 0; /* bad_option() says it */
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(sub, subs[i].name))
			return subs[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "ward: unknown content subcommand '%s'\n", sub);
	return usage_error();
}
