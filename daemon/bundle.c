/* SPDX-License-Identifier: Apache-2.0 */
/* bundle.c — see bundle.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "bundle.h"
#include "message.h"
#include "names.h"

#define WHY_MAX 192  /* a message from minisign.c or the metadata, inside ours */
#define ROOT_MAGIC "ward-root 1"

_Static_assert(BUNDLE_HDR_LEN == 8 + 4 + 8, "magic, metadata length, payload length");
_Static_assert(sizeof(BUNDLE_MAGIC) - 1 == 8, "the magic is 8 bytes");

static const char *const meta_keys[] = {"client", "channel", "version", "created", "expires", "payload_sha256"};
#define META_NKEYS (sizeof(meta_keys) / sizeof(meta_keys[0]))

/* ---- messages ---- */

/* For the enum-returning functions: the same, typed. */
#define refuse(err, errlen, r, ...) ((enum bundle_refusal)msg_fail(err, errlen, (int)(r), __VA_ARGS__))

static void clear(char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
}

const char *bundle_refusal_name(enum bundle_refusal r)
{
	switch (r) {
	case BR_OK:
		return "ok";
	case BR_OVERSIZED:
		return "oversized";
	case BR_TRUNCATED:
		return "truncated";
	case BR_MALFORMED:
		return "malformed";
	case BR_BAD_SIGNATURE:
		return "bad_signature";
	case BR_TOO_FEW_SIGNATURES:
		return "too_few_signatures";
	case BR_HASH_MISMATCH:
		return "hash_mismatch";
	case BR_WRONG_CLIENT:
		return "wrong_client";
	case BR_WRONG_CHANNEL:
		return "wrong_channel";
	case BR_EXPIRED:
		return "expired";
	case BR_ROLLBACK:
		return "rollback";
	case BR_ROOT_EXPIRED:
		return "root_expired";
	}
	return "unknown";
}

/* ---- values ---- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool cname_ok(const char *s, size_t size)
{
	size_t len = strnlen(s, size);
	return len < size && ward_name_valid(s, len, size - 1);
}

static const char *dec_problem(enum ward_dec d)
{
	switch (d) {
	case WARD_DEC_LEADING_ZERO:
		return "has a leading zero";
	case WARD_DEC_TOO_LARGE:
		return "is larger than 2^63-1";
	default:
		return "is not a decimal number";
	}
}

static int num(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

static int days_in_month(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

int bundle_time_parse(const char *s, size_t len, int64_t *out)
{
	static const char pattern[] = "dddd-dd-ddTdd:dd:ddZ";
	if (!s || len != BUNDLE_TIME_LEN)
		return -EINVAL;
	for (size_t i = 0; i < BUNDLE_TIME_LEN; i++)
		if (pattern[i] == 'd' ? !is_digit(s[i]) : s[i] != pattern[i])
			return -EINVAL;
	int y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2);
	int h = num(s + 11, 2), mi = num(s + 14, 2), sec = num(s + 17, 2);
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
		return -EINVAL;
	struct tm tm = {
		.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = sec,
	};
	time_t t = timegm(&tm);
	if (t == (time_t)-1 || (int64_t)t < BUNDLE_TIME_MIN || (int64_t)t > BUNDLE_TIME_MAX)
		return -EINVAL; /* a 32-bit time_t past 2038 */
	*out = (int64_t)t;
	return 0;
}

void bundle_time_format(int64_t t, char out[BUNDLE_TIME_LEN + 1])
{
	if (t < BUNDLE_TIME_MIN)
		t = BUNDLE_TIME_MIN;
	if (t > BUNDLE_TIME_MAX)
		t = BUNDLE_TIME_MAX;
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm)) {
		memcpy(out, "1970-01-01T00:00:00Z", BUNDLE_TIME_LEN + 1);
		return;
	}
	/* each field is in range here: the year has four digits */
	unsigned f[6] = {(unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
			 (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
			 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u};
	snprintf(out, BUNDLE_TIME_LEN + 1, "%04u-%02u-%02uT%02u:%02u:%02uZ", f[0], f[1], f[2], f[3], f[4], f[5]);
}

static bool time_ok(int64_t t)
{
	return t >= BUNDLE_TIME_MIN && t <= BUNDLE_TIME_MAX;
}

static int hexval(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- metadata ---- */

static int meta_key_index(const char *s, size_t len)
{
	for (size_t i = 0; i < META_NKEYS; i++)
		if (strlen(meta_keys[i]) == len && memcmp(meta_keys[i], s, len) == 0)
			return (int)i;
	return -1;
}

/* The value @v (@vl bytes) of key number @k on line @line, into *@m. */
static enum bundle_refusal meta_value(int k, unsigned line, const char *v, size_t vl, struct bundle_meta *m,
				      char *err, size_t errlen)
{
	char q[MSG_QUOTE_MAX];
	uint64_t n = 0;
	enum ward_dec d;
	switch (k) {
	case 0:
		if (!ward_name_valid(v, vl, BUNDLE_CLIENT_MAX))
			return refuse(err, errlen, BR_MALFORMED,
				      "line %u: client %s is not a name ([a-z0-9][a-z0-9._-]*, at most %d characters)",
				      line, msg_quote(q, v, vl, true), BUNDLE_CLIENT_MAX);
		memcpy(m->client, v, vl);
		m->client[vl] = '\0';
		return BR_OK;
	case 1:
		if (!ward_name_valid(v, vl, BUNDLE_CHANNEL_MAX))
			return refuse(err, errlen, BR_MALFORMED,
				      "line %u: channel %s is not a name ([a-z0-9][a-z0-9._-]*, at most %d characters)",
				      line, msg_quote(q, v, vl, true), BUNDLE_CHANNEL_MAX);
		memcpy(m->channel, v, vl);
		m->channel[vl] = '\0';
		return BR_OK;
	case 2:
		d = ward_dec_parse(v, vl, &n);
		if (d != WARD_DEC_OK)
			return refuse(err, errlen, BR_MALFORMED, "line %u: version %s %s", line, msg_quote(q, v, vl, true),
				      dec_problem(d));
		if (n == 0)
			return refuse(err, errlen, BR_MALFORMED, "line %u: version 0 (versions start at 1)", line);
		m->version = n;
		return BR_OK;
	case 3:
	case 4:
		if (bundle_time_parse(v, vl, k == 3 ? &m->created : &m->expires))
			return refuse(err, errlen, BR_MALFORMED,
				      "line %u: %s %s is not a time YYYY-MM-DDTHH:MM:SSZ (UTC, years 1970 to 9999)",
				      line, meta_keys[k], msg_quote(q, v, vl, true));
		return BR_OK;
	default:
		if (vl != 64)
			goto bad_hash;
		for (size_t i = 0; i < 64; i++)
			if (hexval(v[i]) < 0)
				goto bad_hash;
		for (size_t i = 0; i < 32; i++)
			m->payload_sha256[i] = (uint8_t)(hexval(v[2 * i]) << 4 | hexval(v[2 * i + 1]));
		return BR_OK;
	}
bad_hash:
	return refuse(err, errlen, BR_MALFORMED, "line %u: payload_sha256 %s is not 64 lower-case hex digits", line,
		      msg_quote(q, v, vl, true));
}

enum bundle_refusal bundle_meta_parse(const char *text, size_t len, struct bundle_meta *m, char *err, size_t errlen)
{
	char q[MSG_QUOTE_MAX];
	struct bundle_meta t;
	memset(&t, 0, sizeof(t));
	if (len == 0 || !text)
		return refuse(err, errlen, BR_MALFORMED, "empty");
	if (len > BUNDLE_META_MAX)
		return refuse(err, errlen, BR_MALFORMED, "%zu bytes, more than %d", len, BUNDLE_META_MAX);
	const char *p = text, *end = text + len;
	for (unsigned i = 0; i < META_NKEYS; i++) {
		unsigned line = i + 1;
		if (p == end)
			return refuse(err, errlen, BR_MALFORMED, "line %u: missing, expected \"%s=...\"", line,
				      meta_keys[i]);
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return refuse(err, errlen, BR_MALFORMED, "line %u: %s does not end in a newline", line,
				      msg_quote(q, p, (size_t)(end - p), true));
		size_t ll = (size_t)(nl - p);
		if (ll == 0)
			return refuse(err, errlen, BR_MALFORMED, "line %u: empty, expected \"%s=...\"", line,
				      meta_keys[i]);
		if (memchr(p, '\r', ll))
			return refuse(err, errlen, BR_MALFORMED,
				      "line %u: carriage return in %s (lines end in \"\\n\" alone)", line,
				      msg_quote(q, p, ll, true));
		const char *eq = memchr(p, '=', ll);
		if (!eq)
			return refuse(err, errlen, BR_MALFORMED, "line %u: %s is not key=value", line, msg_quote(q, p, ll, true));
		size_t kl = (size_t)(eq - p), vl = ll - kl - 1;
		if ((kl && (p[kl - 1] == ' ' || p[kl - 1] == '\t')) || (vl && (eq[1] == ' ' || eq[1] == '\t')))
			return refuse(err, errlen, BR_MALFORMED, "line %u: space around '=' in %s", line,
				      msg_quote(q, p, ll, true));
		int k = meta_key_index(p, kl);
		if (k < 0)
			return refuse(err, errlen, BR_MALFORMED, "line %u: unknown key %s (expected \"%s\")", line,
				      msg_quote(q, p, kl, true), meta_keys[i]);
		if ((unsigned)k < i)
			return refuse(err, errlen, BR_MALFORMED, "line %u: duplicate key \"%s\"", line, meta_keys[k]);
		if ((unsigned)k != i)
			return refuse(err, errlen, BR_MALFORMED,
				      "line %u: \"%s\" where \"%s\" belongs (the keys are client, channel, version, "
				      "created, expires, payload_sha256, in that order, each once)",
				      line, meta_keys[k], meta_keys[i]);
		enum bundle_refusal r = meta_value(k, line, eq + 1, vl, &t, err, errlen);
		if (r)
			return r;
		p = nl + 1;
	}
	if (p != end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *eq = memchr(p, '=', ll);
		if (eq && meta_key_index(p, (size_t)(eq - p)) >= 0)
			return refuse(err, errlen, BR_MALFORMED, "line %zu: duplicate key %s", META_NKEYS + 1,
				      msg_quote(q, p, (size_t)(eq - p), true));
		return refuse(err, errlen, BR_MALFORMED, "line %zu: %s after payload_sha256, which ends the metadata",
			      META_NKEYS + 1, msg_quote(q, p, ll, true));
	}
	if (t.expires <= t.created) {
		char c[BUNDLE_TIME_LEN + 1], e[BUNDLE_TIME_LEN + 1];
		bundle_time_format(t.created, c);
		bundle_time_format(t.expires, e);
		return refuse(err, errlen, BR_MALFORMED, "line 5: expires %s is not after created %s", e, c);
	}
	*m = t;
	clear(err, errlen);
	return BR_OK;
}

static bool meta_valid(const struct bundle_meta *m)
{
	return cname_ok(m->client, sizeof(m->client)) && cname_ok(m->channel, sizeof(m->channel)) &&
	       m->version >= 1 && m->version <= (uint64_t)INT64_MAX && time_ok(m->created) && time_ok(m->expires) &&
	       m->expires > m->created;
}

int bundle_meta_format(const struct bundle_meta *m, char *out, size_t outlen)
{
	if (!m || !meta_valid(m))
		return -EINVAL;
	char c[BUNDLE_TIME_LEN + 1], e[BUNDLE_TIME_LEN + 1], h[65];
	bundle_time_format(m->created, c);
	bundle_time_format(m->expires, e);
	sodium_bin2hex(h, sizeof(h), m->payload_sha256, sizeof(m->payload_sha256));
	int n = snprintf(out, outlen,
			 "client=%s\nchannel=%s\nversion=%llu\ncreated=%s\nexpires=%s\npayload_sha256=%s\n", m->client,
			 m->channel, (unsigned long long)m->version, c, e, h);
	if (n < 0 || (size_t)n >= outlen)
		return -ENOSPC;
	return n;
}

/* ---- bundles ---- */

enum bundle_refusal bundle_parse(const uint8_t *buf, size_t len, size_t max_len, struct bundle *b, char *err,
				 size_t errlen)
{
	if (len > max_len)
		return refuse(err, errlen, BR_OVERSIZED, "%zu bytes, more than the %zu allowed", len, max_len);
	if (!buf && len)
		return refuse(err, errlen, BR_MALFORMED, "no buffer");
	size_t ml = len < 8 ? len : 8;
	if (ml && memcmp(buf, BUNDLE_MAGIC, ml))
		return refuse(err, errlen, BR_MALFORMED, "not a ward bundle (it does not start with \"" BUNDLE_MAGIC
			      "\")");
	if (len < BUNDLE_HDR_LEN)
		return refuse(err, errlen, BR_TRUNCATED, "%zu bytes, shorter than the %d-byte header", len,
			      BUNDLE_HDR_LEN);
	uint32_t meta_len = get_le32(buf + 8);
	uint64_t payload_len = get_le64(buf + 12), total;
	if (meta_len == 0 || meta_len > BUNDLE_META_MAX)
		return refuse(err, errlen, BR_MALFORMED, "metadata length %u in the header (1 to %d)", meta_len,
			      BUNDLE_META_MAX);
	if (__builtin_add_overflow(payload_len, (uint64_t)BUNDLE_HDR_LEN + meta_len, &total))
		return refuse(err, errlen, BR_TRUNCATED,
			      "the header says %d + %u + %llu bytes (more than 2^64), the file has %zu",
			      BUNDLE_HDR_LEN, meta_len, (unsigned long long)payload_len, len);
	if ((uint64_t)len < total)
		return refuse(err, errlen, BR_TRUNCATED, "the header says %llu bytes, the file has %zu",
			      (unsigned long long)total, len);
	if ((uint64_t)len > total)
		return refuse(err, errlen, BR_MALFORMED,
			      "%llu trailing bytes after the payload (the header says %llu bytes, the file has %zu)",
			      (unsigned long long)((uint64_t)len - total), (unsigned long long)total, len);
	struct bundle t;
	char why[WHY_MAX];
	if (bundle_meta_parse((const char *)buf + BUNDLE_HDR_LEN, meta_len, &t.meta, why, sizeof(why)))
		return refuse(err, errlen, BR_MALFORMED, "metadata %s", why);
	t.payload = buf + BUNDLE_HDR_LEN + meta_len;
	t.payload_len = (size_t)payload_len;
	*b = t;
	clear(err, errlen);
	return BR_OK;
}

int bundle_build(struct bundle_meta *m, const uint8_t *payload, size_t len, uint8_t **out, size_t *outlen)
{
	if (!m || !out || !outlen || (!payload && len) || sodium_init() < 0)
		return -EINVAL;
	struct bundle_meta t = *m;
	static const uint8_t none[1];
	crypto_hash_sha256(t.payload_sha256, len ? payload : none, len);
	char text[BUNDLE_META_MAX + 1];
	int ml = bundle_meta_format(&t, text, sizeof(text));
	if (ml <= 0)
		return -EINVAL;
	if (len > SIZE_MAX - BUNDLE_HDR_LEN - (size_t)ml)
		return -ENOMEM;
	size_t total = BUNDLE_HDR_LEN + (size_t)ml + len;
	uint8_t *b = malloc(total);
	if (!b)
		return -ENOMEM;
	memcpy(b, BUNDLE_MAGIC, 8);
	put_le32(b + 8, (uint32_t)ml);
	put_le64(b + 12, (uint64_t)len);
	memcpy(b + BUNDLE_HDR_LEN, text, (size_t)ml);
	if (len)
		memcpy(b + BUNDLE_HDR_LEN + ml, payload, len);
	*m = t;
	*out = b;
	*outlen = total;
	return 0;
}

/* ---- signature files ---- */

/* Only empty lines ("\n" or "\r\n") in [p, end)? */
static bool only_blank(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != '\n' && *p != '\r')
			return false;
	return true;
}

int sigset_parse(const char *text, size_t len, struct minisign_sig *sigs, size_t max, size_t *n, char *err,
		 size_t errlen)
{
	if (len > BUNDLE_SIGFILE_MAX)
		return msg_fail(err, errlen, -EINVAL, "signature file: %zu bytes, more than %d", len, BUNDLE_SIGFILE_MAX);
	if (!text || only_blank(text, text + len))
		return msg_fail(err, errlen, -EINVAL, "signature file: empty");
	size_t limit = max < BUNDLE_SIGS_MAX ? max : BUNDLE_SIGS_MAX, k = 0;
	const char *p = text, *end = text + len;
	while (p < end && !only_blank(p, end)) {
		if (k == limit)
			return msg_fail(err, errlen, -EINVAL, "signature file: more than %zu signatures", limit);
		/* a block is four lines; the last may lack its newline */
		const char *q = p;
		for (int i = 0; i < 4 && q < end; i++) {
			const char *nl = memchr(q, '\n', (size_t)(end - q));
			q = nl ? nl + 1 : end;
		}
		char why[WHY_MAX];
		if (minisign_sig_parse(p, (size_t)(q - p), &sigs[k], why, sizeof(why)))
			return msg_fail(err, errlen, -EINVAL, "signature %zu: %s", k + 1, why);
		k++;
		p = q;
	}
	*n = k;
	clear(err, errlen);
	return 0;
}

enum bundle_refusal sigset_count(const struct minisign_pubkey *keys, unsigned nkeys, const struct minisign_sig *sigs,
				 size_t n, const uint8_t *msg, size_t len, unsigned *valid, char *err, size_t errlen)
{
	bool good[TRUST_KEYS_MAX] = {false};
	if (nkeys > TRUST_KEYS_MAX)
		return refuse(err, errlen, BR_MALFORMED, "%u keys, more than %d", nkeys, TRUST_KEYS_MAX);
	for (size_t i = 0; i < n; i++) {
		bool known = false, ok = false;
		char why[WHY_MAX] = "";
		for (unsigned j = 0; j < nkeys; j++) {
			if (memcmp(keys[j].keyid, sigs[i].keyid, MINISIGN_KEYID_LEN))
				continue;
			known = true;
			if (minisign_verify(&keys[j], &sigs[i], msg, len, why, sizeof(why)) == 0)
				ok = good[j] = true;
		}
		if (known && !ok) {
			char id[2 * MINISIGN_KEYID_LEN + 1];
			minisign_keyid_hex(sigs[i].keyid, id);
			return refuse(err, errlen, BR_BAD_SIGNATURE, "signature %zu, by key %s, does not verify: %s",
				      i + 1, id, why);
		}
	}
	/* one key listed twice, under its id or its public key, counts once */
	unsigned count = 0;
	for (unsigned j = 0; j < nkeys; j++) {
		if (!good[j])
			continue;
		bool seen = false;
		for (unsigned e = 0; e < j && !seen; e++)
			seen = good[e] && (!memcmp(keys[e].keyid, keys[j].keyid, MINISIGN_KEYID_LEN) ||
					   !memcmp(keys[e].pk, keys[j].pk, sizeof(keys[j].pk)));
		count += !seen;
	}
	*valid = count;
	clear(err, errlen);
	return BR_OK;
}

/* ---- roots of trust ---- */

/* What trust_parse() would refuse in a root already in memory, or NULL. */
static const char *root_problem(const struct trust_root *r)
{
	if (r->version < 1 || r->version > (uint64_t)INT64_MAX)
		return "version out of range";
	if (!time_ok(r->expires))
		return "expiry out of range";
	if (r->nkeys < 1 || r->nkeys > TRUST_KEYS_MAX)
		return "number of keys out of range";
	if (r->threshold < 1 || r->threshold > r->nkeys)
		return "threshold out of range";
	for (unsigned j = 0; j < r->nkeys; j++)
		for (unsigned e = 0; e < j; e++)
			if (!memcmp(r->keys[e].keyid, r->keys[j].keyid, MINISIGN_KEYID_LEN) ||
			    !memcmp(r->keys[e].pk, r->keys[j].pk, sizeof(r->keys[j].pk)))
				return "a key listed twice";
	return NULL;
}

/* The value after "@word " on the line [l, l + ll). */
static bool field(const char *l, size_t ll, const char *word, const char **v, size_t *vl)
{
	size_t wl = strlen(word);
	if (ll < wl + 1 || memcmp(l, word, wl) || l[wl] != ' ')
		return false;
	*v = l + wl + 1;
	*vl = ll - wl - 1;
	return true;
}

enum bundle_refusal trust_parse(const uint8_t *buf, size_t len, struct trust_root *r, char *err, size_t errlen)
{
	char q[MSG_QUOTE_MAX];
	if (len > TRUST_FILE_MAX)
		return refuse(err, errlen, BR_OVERSIZED, "root: %zu bytes, more than %d", len, TRUST_FILE_MAX);
	if (!buf || len == 0)
		return refuse(err, errlen, BR_MALFORMED, "root: empty");
	struct trust_root t;
	memset(&t, 0, sizeof(t));
	const char *p = (const char *)buf, *end = p + len;
	unsigned line = 0, key_line[TRUST_KEYS_MAX];
	while (p < end) {
		line++;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return refuse(err, errlen, BR_MALFORMED, "root: line %u: %s does not end in a newline", line,
				      msg_quote(q, p, (size_t)(end - p), true));
		const char *l = p, *v;
		size_t ll = (size_t)(nl - p), vl;
		p = nl + 1;
		for (size_t i = 0; i < ll; i++)
			if ((unsigned char)l[i] < 0x20 || (unsigned char)l[i] >= 0x7f)
				return refuse(err, errlen, BR_MALFORMED,
					      "root: line %u: control character or non-ASCII byte in %s", line,
					      msg_quote(q, l, ll, true));
		enum ward_dec d;
		uint64_t n = 0;
		switch (line) {
		case 1:
			if (ll != strlen(ROOT_MAGIC) || memcmp(l, ROOT_MAGIC, ll))
				return refuse(err, errlen, BR_MALFORMED,
					      "root: line 1: %s, not \"" ROOT_MAGIC
					      "\" (a ward root of trust, format 1)",
					      msg_quote(q, l, ll, true));
			break;
		case 2:
			if (!field(l, ll, "version", &v, &vl))
				return refuse(err, errlen, BR_MALFORMED, "root: line 2: %s, expected \"version N\"",
					      msg_quote(q, l, ll, true));
			d = ward_dec_parse(v, vl, &n);
			if (d != WARD_DEC_OK)
				return refuse(err, errlen, BR_MALFORMED, "root: line 2: version %s %s",
					      msg_quote(q, v, vl, true), dec_problem(d));
			if (n == 0)
				return refuse(err, errlen, BR_MALFORMED,
					      "root: line 2: version 0 (versions start at 1)");
			t.version = n;
			break;
		case 3:
			if (!field(l, ll, "expires", &v, &vl))
				return refuse(err, errlen, BR_MALFORMED,
					      "root: line 3: %s, expected \"expires YYYY-MM-DDTHH:MM:SSZ\"",
					      msg_quote(q, l, ll, true));
			if (bundle_time_parse(v, vl, &t.expires))
				return refuse(err, errlen, BR_MALFORMED,
					      "root: line 3: expires %s is not a time YYYY-MM-DDTHH:MM:SSZ (UTC, years "
					      "1970 to 9999)",
					      msg_quote(q, v, vl, true));
			break;
		case 4:
			if (!field(l, ll, "threshold", &v, &vl))
				return refuse(err, errlen, BR_MALFORMED, "root: line 4: %s, expected \"threshold N\"",
					      msg_quote(q, l, ll, true));
			d = ward_dec_parse(v, vl, &n);
			if (d != WARD_DEC_OK)
				return refuse(err, errlen, BR_MALFORMED, "root: line 4: threshold %s %s",
					      msg_quote(q, v, vl, true), dec_problem(d));
			if (n < 1 || n > TRUST_KEYS_MAX)
				return refuse(err, errlen, BR_MALFORMED, "root: line 4: threshold %llu (1 to %d)",
					      (unsigned long long)n, TRUST_KEYS_MAX);
			t.threshold = (unsigned)n;
			break;
		default: {
			if (!field(l, ll, "key", &v, &vl))
				return refuse(err, errlen, BR_MALFORMED, "root: line %u: %s, expected \"key BASE64\"",
					      line, msg_quote(q, l, ll, true));
			if (t.nkeys == TRUST_KEYS_MAX)
				return refuse(err, errlen, BR_MALFORMED, "root: line %u: more than %d keys", line,
					      TRUST_KEYS_MAX);
			char why[WHY_MAX];
			struct minisign_pubkey *k = &t.keys[t.nkeys];
			if (minisign_pubkey_parse(v, vl, k, why, sizeof(why)))
				return refuse(err, errlen, BR_MALFORMED, "root: line %u: %s", line, why);
			char id[2 * MINISIGN_KEYID_LEN + 1];
			minisign_keyid_hex(k->keyid, id);
			for (unsigned e = 0; e < t.nkeys; e++) {
				if (!memcmp(t.keys[e].keyid, k->keyid, MINISIGN_KEYID_LEN))
					return refuse(err, errlen, BR_MALFORMED,
						      "root: line %u: key id %s is already on line %u", line, id,
						      key_line[e]);
				if (!memcmp(t.keys[e].pk, k->pk, sizeof(k->pk)))
					return refuse(err, errlen, BR_MALFORMED,
						      "root: line %u: key %s is the public key of line %u "
						      "under another id (it would count twice)",
						      line, id, key_line[e]);
			}
			key_line[t.nkeys++] = line;
		}
		}
	}
	if (line < 4)
		return refuse(err, errlen, BR_MALFORMED, "root: ends after line %u (expected %s)", line,
			      line == 1 ? "\"version N\"" : line == 2 ? "\"expires TIME\"" : "\"threshold N\"");
	if (t.nkeys == 0)
		return refuse(err, errlen, BR_MALFORMED, "root: no key");
	if (t.threshold > t.nkeys)
		return refuse(err, errlen, BR_MALFORMED, "root: threshold %u with only %u keys", t.threshold, t.nkeys);
	*r = t;
	clear(err, errlen);
	return BR_OK;
}

int trust_format(const struct trust_root *r, char *out, size_t outlen)
{
	if (!r || root_problem(r))
		return -EINVAL;
	char e[BUNDLE_TIME_LEN + 1];
	bundle_time_format(r->expires, e);
	int n = snprintf(out, outlen, ROOT_MAGIC "\nversion %llu\nexpires %s\nthreshold %u\n",
			 (unsigned long long)r->version, e, r->threshold);
	if (n < 0 || (size_t)n >= outlen)
		return -ENOSPC;
	size_t o = (size_t)n;
	for (unsigned j = 0; j < r->nkeys; j++) {
		uint8_t raw[2 + MINISIGN_KEYID_LEN + 32] = {'E', 'd'};
		char b64[sodium_base64_ENCODED_LEN(sizeof(raw), sodium_base64_VARIANT_ORIGINAL)];
		memcpy(raw + 2, r->keys[j].keyid, MINISIGN_KEYID_LEN);
		memcpy(raw + 2 + MINISIGN_KEYID_LEN, r->keys[j].pk, 32);
		sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
		n = snprintf(out + o, outlen - o, "key %s\n", b64);
		if (n < 0 || (size_t)n >= outlen - o)
			return -ENOSPC;
		o += (size_t)n;
	}
	return (int)o;
}

/* Signatures by at least @threshold of @keys over @msg; @who names the
 * keys in messages. */
static enum bundle_refusal enough(const struct minisign_pubkey *keys, unsigned nkeys, unsigned threshold,
				  const char *who, const struct minisign_sig *sigs, size_t n, const uint8_t *msg,
				  size_t len, char *err, size_t errlen)
{
	unsigned valid = 0;
	char why[WHY_MAX];
	enum bundle_refusal r = sigset_count(keys, nkeys, sigs, n, msg, len, &valid, why, sizeof(why));
	if (r)
		return refuse(err, errlen, r, "%s", why);
	if (valid < threshold)
		return refuse(err, errlen, BR_TOO_FEW_SIGNATURES,
			      "too few signatures: %u of %u needed (valid signatures by distinct %s)", valid,
			      threshold, who);
	return BR_OK;
}

static enum bundle_refusal read_sigs(const char *sigtext, size_t siglen, struct minisign_sig *sigs, size_t *n,
				     char *err, size_t errlen)
{
	char why[WHY_MAX];
	if (sigset_parse(sigtext, siglen, sigs, BUNDLE_SIGS_MAX, n, why, sizeof(why)))
		return refuse(err, errlen, BR_MALFORMED, "%s", why);
	return BR_OK;
}

enum bundle_refusal trust_check_initial(const uint8_t *buf, size_t len, const char *sigtext, size_t siglen, int64_t now,
					struct trust_root *out, char *err, size_t errlen)
{
	struct trust_root t;
	struct minisign_sig sigs[BUNDLE_SIGS_MAX];
	size_t n = 0;
	enum bundle_refusal r = trust_parse(buf, len, &t, err, errlen);
	if (r)
		return r;
	if (t.expires <= now) {
		char e[BUNDLE_TIME_LEN + 1];
		bundle_time_format(t.expires, e);
		return refuse(err, errlen, BR_ROOT_EXPIRED, "root version %llu expired at %s",
			      (unsigned long long)t.version, e);
	}
	if ((r = read_sigs(sigtext, siglen, sigs, &n, err, errlen)))
		return r;
	if ((r = enough(t.keys, t.nkeys, t.threshold, "keys of the root itself", sigs, n, buf, len, err, errlen)))
		return r;
	*out = t;
	clear(err, errlen);
	return BR_OK;
}

enum bundle_refusal trust_rotate(const struct trust_root *old, const uint8_t *buf, size_t len, const char *sigtext,
				 size_t siglen, int64_t now, struct trust_root *out, char *err, size_t errlen)
{
	struct trust_root t;
	struct minisign_sig sigs[BUNDLE_SIGS_MAX];
	size_t n = 0;
	const char *bad = old ? root_problem(old) : "there is none";
	if (bad)
		return refuse(err, errlen, BR_MALFORMED, "the root in force is not valid: %s", bad);
	enum bundle_refusal r = trust_parse(buf, len, &t, err, errlen);
	if (r)
		return r;
	if (t.version <= old->version)
		return refuse(err, errlen, BR_ROLLBACK, "root version %llu is not newer than %llu",
			      (unsigned long long)t.version, (unsigned long long)old->version);
	if (t.expires <= now) {
		char e[BUNDLE_TIME_LEN + 1];
		bundle_time_format(t.expires, e);
		return refuse(err, errlen, BR_ROOT_EXPIRED, "root version %llu expired at %s",
			      (unsigned long long)t.version, e);
	}
	if ((r = read_sigs(sigtext, siglen, sigs, &n, err, errlen)))
		return r;
	if ((r = enough(old->keys, old->nkeys, old->threshold, "keys of the old root", sigs, n, buf, len, err,
			errlen)))
		return r;
	if ((r = enough(t.keys, t.nkeys, t.threshold, "keys of the new root", sigs, n, buf, len, err, errlen)))
		return r;
	*out = t;
	clear(err, errlen);
	return BR_OK;
}

/* ---- the whole check ---- */

enum bundle_refusal bundle_verify(const struct trust_root *root, const uint8_t *buf, size_t len, size_t max_len,
				  const char *sigtext, size_t siglen, const char *expect_client,
				  const char *expect_channel, uint64_t highest, int64_t now, struct bundle *out,
				  char *err, size_t errlen)
{
	struct bundle b;
	struct minisign_sig sigs[BUNDLE_SIGS_MAX];
	size_t n = 0;
	char q[MSG_QUOTE_MAX], e[BUNDLE_TIME_LEN + 1];
	if (sodium_init() < 0)
		return refuse(err, errlen, BR_MALFORMED, "libsodium cannot start");
	enum bundle_refusal r = bundle_parse(buf, len, max_len, &b, err, errlen);
	if (r)
		return r;
	const char *bad = root ? root_problem(root) : "there is none";
	if (bad)
		return refuse(err, errlen, BR_MALFORMED, "the root of trust is not valid: %s", bad);
	if (root->expires <= now) {
		bundle_time_format(root->expires, e);
		return refuse(err, errlen, BR_ROOT_EXPIRED, "the root of trust (version %llu) expired at %s",
			      (unsigned long long)root->version, e);
	}
	if ((r = read_sigs(sigtext, siglen, sigs, &n, err, errlen)))
		return r;
	if ((r = enough(root->keys, root->nkeys, root->threshold, "root keys", sigs, n, buf, len, err, errlen)))
		return r;
	uint8_t h[crypto_hash_sha256_BYTES];
	static const uint8_t none[1];
	crypto_hash_sha256(h, b.payload_len ? b.payload : none, b.payload_len);
	if (sodium_memcmp(h, b.meta.payload_sha256, sizeof(h)))
		return refuse(err, errlen, BR_HASH_MISMATCH,
			      "the payload (%zu bytes) is not the one the metadata names (payload_sha256)",
			      b.payload_len);
	if (!expect_client || strcmp(b.meta.client, expect_client))
		return refuse(err, errlen, BR_WRONG_CLIENT, "a bundle for client \"%s\", not for %s", b.meta.client,
			      expect_client ? msg_quote(q, expect_client, strlen(expect_client), true) : "(none)");
	if (expect_channel && strcmp(b.meta.channel, expect_channel))
		return refuse(err, errlen, BR_WRONG_CHANNEL, "a bundle for channel \"%s\", not for %s",
			      b.meta.channel, msg_quote(q, expect_channel, strlen(expect_channel), true));
	if (b.meta.expires <= now) {
		bundle_time_format(b.meta.expires, e);
		return refuse(err, errlen, BR_EXPIRED, "version %llu expired at %s (freeze attack or stale content)",
			      (unsigned long long)b.meta.version, e);
	}
	if (b.meta.version <= highest)
		return refuse(err, errlen, BR_ROLLBACK, "version %llu is not newer than %llu",
			      (unsigned long long)b.meta.version, (unsigned long long)highest);
	*out = b;
	clear(err, errlen);
	return BR_OK;
}
