/* SPDX-License-Identifier: Apache-2.0 */
/*
 * manifest.c — see manifest.h.  libyaml's event parser feeds a small
 * recursive descent over tables of keys: each mapping of the schema is one
 * table {key, handler, required}, so everything a manifest can say is
 * listed in the tables at the end of the parsing half (and in
 * docs/manifests.md).  Values are checked as they are read, and an
 * unexpected event (a list where a string belongs, a mapping one level
 * deeper than the schema) ends the parse at once, so libyaml is never
 * asked for more than the schema's depth.  What depends on two keys (auth
 * policies and the entitlements, the two backoffs) is checked once the
 * document is read, against the marks saved for it.
 *
 * The manifest is built in a local struct that is freed on error and
 * copied to the caller only on success.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include <ward/ward.h>
#include "manifest.h"
#include "message.h"
#include "names.h"

#define AUTH_CAPABLE ((1ull << WARD_EV_AUTH_EXEC) | (1ull << WARD_EV_AUTH_OPEN))
#define KEY_PATH_MAX 64   /* the longest is "auth.auth_open.deadline_ms" */
#define KEYS_MAX 16       /* keys in one table */
#define USER_NAME_MAX 32  /* as useradd's default */
#define DEADLINE_DEFAULT_MS 1000
#define PW_BUF_MAX (1u << 20)

struct ctx {
	yaml_parser_t yp;
	yaml_event_t ev;
	bool have_ev;             /* ev holds an event to delete */
	const char *file, *buf;
	size_t len;
	char *err;
	size_t errlen;
	int rc;                   /* the first error: the one reported */
	const char *where;        /* key path of the value being read; "" at the top */
	struct ward_manifest *m;
	int cur_type;             /* the AUTH type whose policy is being read */
	/* for the checks made after the document */
	yaml_mark_t top_mark;
	uint64_t auth_seen;                  /* types given a policy under auth: */
	yaml_mark_t auth_mark[WARD_EV_MAX_];
	bool initial_set, max_set;
	yaml_mark_t initial_mark, max_mark;
};

typedef int (*value_fn)(struct ctx *c, const char *key);

struct key {
	const char *name;
	value_fn parse;
	bool required;
};

/* ---- messages ---- */

static int vfail(struct ctx *c, int rc, const yaml_mark_t *mk, const char *fmt, va_list ap)
{
	if (c->rc)
		return c->rc; /* only the first error is reported */
	c->rc = rc;
	if (!c->err || !c->errlen)
		return rc;
	int n = mk ? snprintf(c->err, c->errlen, "%s:%zu:%zu: ", c->file, mk->line + 1, mk->column + 1)
		   : snprintf(c->err, c->errlen, "%s: ", c->file);
	if (n >= 0 && (size_t)n < c->errlen)
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	return rc;
}

__attribute__((format(printf, 3, 4)))
static int fail(struct ctx *c, yaml_mark_t mk, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = vfail(c, -EINVAL, &mk, fmt, ap);
	va_end(ap);
	return rc;
}

static int oom(struct ctx *c)
{
	if (c->rc)
		return c->rc;
	c->rc = -ENOMEM;
	if (c->err && c->errlen)
		snprintf(c->err, c->errlen, "%s: out of memory", c->file);
	return -ENOMEM;
}

/* Line and column of byte @off, for libyaml's reader errors, which carry
 * an offset but no mark. */
static yaml_mark_t mark_at(const struct ctx *c, size_t off)
{
	yaml_mark_t mk = {0};
	for (size_t i = 0; i < off && i < c->len; i++) {
		if (c->buf[i] == '\n') {
			mk.line++;
			mk.column = 0;
		} else {
			mk.column++;
		}
	}
	return mk;
}

/* For "in KEY" after a message that can come anywhere. */
static const char *in_where(const struct ctx *c, char out[KEY_PATH_MAX + 8])
{
	if (!*c->where)
		return "";
	snprintf(out, KEY_PATH_MAX + 8, " in %s", c->where);
	return out;
}

static int syntax_error(struct ctx *c)
{
	if (c->yp.error == YAML_MEMORY_ERROR)
		return oom(c);
	yaml_mark_t mk = c->yp.error == YAML_READER_ERROR ? mark_at(c, c->yp.problem_offset)
							  : c->yp.problem_mark;
	char w[KEY_PATH_MAX + 8];
	const char *problem = c->yp.problem ? c->yp.problem : "malformed input";
	if (c->yp.context)
		return fail(c, mk, "not valid YAML%s: %s %s (started at line %zu)", in_where(c, w),
			    problem, c->yp.context, c->yp.context_mark.line + 1);
	return fail(c, mk, "not valid YAML%s: %s", in_where(c, w), problem);
}

/* ---- events ---- */

static bool is_null(const yaml_event_t *e)
{
	if (e->type != YAML_SCALAR_EVENT || e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = (const char *)e->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

static const char *kind_of(const yaml_event_t *e)
{
	switch (e->type) {
	case YAML_SCALAR_EVENT:
		return is_null(e) ? "an empty value" : "a single value";
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	default:
		return "nothing";
	}
}

/* The next event into c->ev.  Anchors, aliases and tags are refused here,
 * wherever they are: a manifest has no use for them, and aliases are how
 * a small YAML file expands into a huge one. */
static int next(struct ctx *c)
{
	if (c->have_ev) {
		yaml_event_delete(&c->ev);
		c->have_ev = false;
	}
	if (!yaml_parser_parse(&c->yp, &c->ev))
		return syntax_error(c);
	c->have_ev = true;
	const yaml_char_t *anchor = NULL, *tag = NULL;
	switch (c->ev.type) {
	case YAML_ALIAS_EVENT:
		anchor = c->ev.data.alias.anchor;
		break;
	case YAML_SCALAR_EVENT:
		anchor = c->ev.data.scalar.anchor;
		tag = c->ev.data.scalar.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = c->ev.data.sequence_start.anchor;
		tag = c->ev.data.sequence_start.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = c->ev.data.mapping_start.anchor;
		tag = c->ev.data.mapping_start.tag;
		break;
	default:
		break;
	}
	char w[KEY_PATH_MAX + 8], q[MSG_QUOTE_MAX];
	if (c->ev.type == YAML_ALIAS_EVENT)
		return fail(c, c->ev.start_mark, "YAML alias %s%s: anchors and aliases are not allowed in a manifest",
			    msg_quote(q, (const char *)anchor, strlen((const char *)anchor), false), in_where(c, w));
	if (anchor)
		return fail(c, c->ev.start_mark, "YAML anchor %s%s: anchors and aliases are not allowed in a manifest",
			    msg_quote(q, (const char *)anchor, strlen((const char *)anchor), false), in_where(c, w));
	if (tag)
		return fail(c, c->ev.start_mark, "YAML tag %s%s: tags are not allowed in a manifest",
			    msg_quote(q, (const char *)tag, strlen((const char *)tag), false), in_where(c, w));
	return 0;
}

#define SVAL(c) ((const char *)(c)->ev.data.scalar.value)
#define SLEN(c) ((c)->ev.data.scalar.length)
#define PLAIN(c) ((c)->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
#define MARK(c) ((c)->ev.start_mark)

/* Next event, which must be a scalar that is not null. */
static int want_scalar(struct ctx *c, const char *key, const char *what)
{
	int rc = next(c);
	if (rc)
		return rc;
	if (c->ev.type != YAML_SCALAR_EVENT || is_null(&c->ev))
		return fail(c, MARK(c), "%s: expected %s, found %s", key, what, kind_of(&c->ev));
	return 0;
}

static int want_start(struct ctx *c, const char *key, yaml_event_type_t type, const char *what)
{
	int rc = next(c);
	if (rc)
		return rc;
	if (c->ev.type != type)
		return fail(c, MARK(c), "%s: expected %s, found %s", key, what, kind_of(&c->ev));
	return 0;
}

/* ---- values ---- */

/* Decimal digits only: no sign, no leading zero (YAML 1.1 reads 010 as
 * eight, 1.2 as ten), no 1_000, no 0x10.  Returns how many bytes of @s
 * it read (0: no number), the value in @v. */
static size_t digits(const char *s, size_t len, uint64_t *v)
{
	size_t i = 0;
	uint64_t n = 0;
	while (i < len && s[i] >= '0' && s[i] <= '9') {
		unsigned d = (unsigned)(s[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return 0;
		n = n * 10 + d;
		i++;
	}
	if (i > 1 && s[0] == '0')
		return 0;
	*v = n;
	return i;
}

/* A plain scalar: numbers, booleans and sizes are never quoted, so that
 * "500" (a string in YAML) is not silently read as 500. */
static int want_plain(struct ctx *c, const char *key, const char *what)
{
	int rc = want_scalar(c, key, what);
	if (rc)
		return rc;
	if (!PLAIN(c)) {
		char q[MSG_QUOTE_MAX];
		return fail(c, MARK(c), "%s: expected %s, found the quoted string %s (write it unquoted)",
			    key, what, msg_quote(q, SVAL(c), SLEN(c), false));
	}
	return 0;
}

static int number(struct ctx *c, const char *key, uint64_t min, uint64_t max, uint64_t *out)
{
	int rc = want_plain(c, key, "a number");
	if (rc)
		return rc;
	uint64_t v;
	char q[MSG_QUOTE_MAX];
	if (digits(SVAL(c), SLEN(c), &v) != SLEN(c) || !SLEN(c))
		return fail(c, MARK(c), "%s: %s is not a number (decimal digits, %llu to %llu)", key,
			    msg_quote(q, SVAL(c), SLEN(c), false), (unsigned long long)min, (unsigned long long)max);
	if (v < min || v > max)
		return fail(c, MARK(c), "%s: %llu is out of range (%llu to %llu)", key,
			    (unsigned long long)v, (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

static int number32(struct ctx *c, const char *key, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	int rc = number(c, key, min, max, &v);
	if (!rc)
		*out = (uint32_t)v;
	return rc;
}

static int boolean(struct ctx *c, const char *key, bool *out)
{
	int rc = want_plain(c, key, "true or false");
	if (rc)
		return rc;
	static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False", "FALSE"};
	for (size_t i = 0; i < 3; i++) {
		if (!strcmp(SVAL(c), yes[i]) || !strcmp(SVAL(c), no[i])) {
			*out = !strcmp(SVAL(c), yes[i]);
			return 0;
		}
	}
	char q[MSG_QUOTE_MAX];
	return fail(c, MARK(c), "%s: expected true or false, found %s", key, msg_quote(q, SVAL(c), SLEN(c), false));
}

/* A copy of the scalar value (quoted or not), shorter than @max bytes, no
 * NUL inside. */
static int string(struct ctx *c, const char *key, const char *what, size_t max, char **out)
{
	int rc = want_scalar(c, key, what);
	if (rc)
		return rc;
	if (memchr(SVAL(c), '\0', SLEN(c)))
		return fail(c, MARK(c), "%s: contains a NUL character", key);
	if (SLEN(c) >= max)
		return fail(c, MARK(c), "%s: %zu bytes long; at most %zu", key, SLEN(c), max - 1);
	if (!(*out = strdup(SVAL(c))))
		return oom(c);
	return 0;
}

/* Whether the NUL-terminated @s equals the scalar exactly (a scalar may
 * hold a NUL, which strcmp would stop at). */
static bool scalar_is(const struct ctx *c, const char *s)
{
	return strlen(s) == SLEN(c) && !memcmp(s, SVAL(c), SLEN(c));
}

static bool has_dotdot(const char *p)
{
	for (const char *s = p; (s = strstr(s, "..")); s += 2)
		if ((s == p || s[-1] == '/') && (s[2] == '/' || s[2] == '\0'))
			return true;
	return false;
}

/* An absolute path without a ".." component. */
static int path(struct ctx *c, const char *key, char **out)
{
	int rc = string(c, key, "an absolute path", MANIFEST_STR_MAX, out);
	if (rc)
		return rc;
	char q[MSG_QUOTE_MAX];
	if ((*out)[0] != '/' || has_dotdot(*out))
		return fail(c, MARK(c), "%s: %s must be an absolute path without \"..\" components", key,
			    msg_quote(q, SVAL(c), SLEN(c), false));
	return 0;
}

/* ---- keys ---- */

static int p_name(struct ctx *c, const char *key)
{
	int rc = string(c, key, "a name", MANIFEST_STR_MAX, &c->m->name);
	if (rc)
		return rc;
	c->m->name_line = (unsigned)MARK(c).line + 1;
	c->m->name_col = (unsigned)MARK(c).column + 1;
	char q[MSG_QUOTE_MAX];
	if (!ward_name_valid(c->m->name, strlen(c->m->name), MANIFEST_NAME_MAX))
		return fail(c, MARK(c), "%s: %s is not a valid name (1 to 63 of a-z 0-9 . _ -, starting "
			    "with a letter or digit)", key, msg_quote(q, SVAL(c), SLEN(c), false));
	return 0;
}

static int p_executable(struct ctx *c, const char *key) { return path(c, key, &c->m->executable); }
static int p_content_dir(struct ctx *c, const char *key) { return path(c, key, &c->m->content_dir); }
static int p_state_dir(struct ctx *c, const char *key) { return path(c, key, &c->m->state_dir); }
static int p_enabled(struct ctx *c, const char *key) { return boolean(c, key, &c->m->enabled); }

static int p_sha256(struct ctx *c, const char *key)
{
	int rc = want_scalar(c, key, "64 hex digits");
	if (rc)
		return rc;
	const char *s = SVAL(c);
	bool ok = SLEN(c) == MANIFEST_SHA256_HEX;
	for (size_t i = 0; ok && i < MANIFEST_SHA256_HEX; i++) {
		char ch = s[i];
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
		c->m->sha256[i] = ch;
	}
	char q[MSG_QUOTE_MAX];
	if (!ok) {
		memset(c->m->sha256, 0, sizeof(c->m->sha256));
		return fail(c, MARK(c), "%s: %s is not a SHA-256 digest (64 hex digits)", key,
			    msg_quote(q, s, SLEN(c), false));
	}
	c->m->sha256[MANIFEST_SHA256_HEX] = '\0';
	return 0;
}

static int p_args(struct ctx *c, const char *key)
{
	int rc = want_start(c, key, YAML_SEQUENCE_START_EVENT, "a list of strings");
	if (rc)
		return rc;
	if (!(c->m->args = calloc(MANIFEST_ARGS_MAX + 1, sizeof(char *))))
		return oom(c);
	for (;;) {
		if ((rc = next(c)))
			return rc;
		if (c->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (c->m->nargs == MANIFEST_ARGS_MAX)
			return fail(c, MARK(c), "%s: more than %u arguments", key, MANIFEST_ARGS_MAX);
		if (c->ev.type != YAML_SCALAR_EVENT || is_null(&c->ev))
			return fail(c, MARK(c), "%s: expected a string for argument %zu, found %s%s",
				    key, c->m->nargs + 1, kind_of(&c->ev),
				    is_null(&c->ev) ? " (write '' for an empty argument)" : "");
		if (memchr(SVAL(c), '\0', SLEN(c)))
			return fail(c, MARK(c), "%s: argument %zu contains a NUL character", key, c->m->nargs + 1);
		if (SLEN(c) >= MANIFEST_STR_MAX)
			return fail(c, MARK(c), "%s: argument %zu is %zu bytes long; at most %u", key,
				    c->m->nargs + 1, SLEN(c), MANIFEST_STR_MAX - 1);
		if (!(c->m->args[c->m->nargs] = strdup(SVAL(c))))
			return oom(c);
		c->m->nargs++;
	}
}

/* A user name or a numeric uid, resolved now, so that any name for uid 0
 * is refused, not only "root". */
static int p_user(struct ctx *c, const char *key)
{
	int rc = string(c, key, "a user name or uid", MANIFEST_STR_MAX, &c->m->user);
	if (rc)
		return rc;
	const char *u = c->m->user;
	size_t len = strlen(u);
	char q[MSG_QUOTE_MAX];
	msg_quote(q, u, len, false);
	uint64_t v;
	if (u[0] >= '0' && u[0] <= '9') {
		if (digits(u, len, &v) != len || v >= (uid_t)-1)
			return fail(c, MARK(c), "%s: %s is not a uid (1 to %u)", key, q, (uid_t)-2);
		if (v == 0)
			return fail(c, MARK(c), "%s: uid 0 is root; clients never run as root", key);
		c->m->uid = (uid_t)v;
		return 0;
	}
	bool ok = len <= USER_NAME_MAX && ((u[0] >= 'a' && u[0] <= 'z') || (u[0] >= 'A' && u[0] <= 'Z') || u[0] == '_');
	for (size_t i = 1; ok && i < len; i++)
		ok = (u[i] >= 'a' && u[i] <= 'z') || (u[i] >= 'A' && u[i] <= 'Z') ||
		     (u[i] >= '0' && u[i] <= '9') || strchr("_.-", u[i]);
	if (!ok)
		return fail(c, MARK(c), "%s: %s is neither a user name nor a uid", key, q);
	if (!strcmp(u, "root"))
		return fail(c, MARK(c), "%s: clients never run as root", key);
	struct passwd pw, *res = NULL;
	char *buf = NULL;
	int e;
	for (size_t size = 1024;; size *= 2) {
		free(buf);
		if (!(buf = malloc(size)))
			return oom(c);
		e = getpwnam_r(u, &pw, buf, size, &res);
		if (e != ERANGE || size >= PW_BUF_MAX)
			break;
	}
	uid_t uid = res ? pw.pw_uid : 0;
	free(buf);
	if (e == ENOMEM)
		return oom(c);
	if (e)
		return fail(c, MARK(c), "%s: cannot look up %s: %s", key, q, strerror(e));
	if (!res)
		return fail(c, MARK(c), "%s: no user %s on this system (give an existing user or a uid)", key, q);
	if (uid == 0)
		return fail(c, MARK(c), "%s: %s is uid 0; clients never run as root", key, q);
	c->m->uid = uid;
	return 0;
}

/* A list of event type names into @mask.  @auth: only the AUTH-capable
 * types; otherwise any type, or [all]. */
static int type_list(struct ctx *c, const char *key, uint64_t *mask, bool auth)
{
	const char *allowed = auth ? "the AUTH types auth_exec, auth_open"
				   : "event type names as in docs/events.md, or [all]";
	int rc = want_start(c, key, YAML_SEQUENCE_START_EVENT, auth ? "a list such as [auth_exec]"
								     : "a list such as [exec, open]");
	if (rc)
		return rc;
	char q[MSG_QUOTE_MAX];
	bool all = false;
	for (size_t n = 0;; n++) {
		if ((rc = next(c)))
			return rc;
		if (c->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (c->ev.type != YAML_SCALAR_EVENT || is_null(&c->ev))
			return fail(c, MARK(c), "%s: expected %s, found %s", key, allowed, kind_of(&c->ev));
		msg_quote(q, SVAL(c), SLEN(c), false);
		if (!auth && scalar_is(c, "all")) {
			if (n)
				return fail(c, MARK(c), "%s: \"all\" stands alone: [all]", key);
			all = true;
			for (uint32_t t = 1; t < WARD_EV_MAX_; t++)
				if (ward_event_type_name(t))
					*mask |= 1ull << t;
			continue;
		}
		if (all)
			return fail(c, MARK(c), "%s: %s after \"all\": [all] stands alone", key, q);
		uint32_t t = strlen(SVAL(c)) == SLEN(c) ? ward_event_type_from_name(SVAL(c)) : WARD_EV_INVALID;
		if (t == WARD_EV_INVALID || t >= WARD_EV_MAX_)
			return fail(c, MARK(c), "%s: unknown event type %s (allowed: %s)", key, q, allowed);
		if (auth && !(AUTH_CAPABLE & (1ull << t)))
			return fail(c, MARK(c), "%s: %s is not a type a client answers (allowed: %s)", key, q, allowed);
		if (*mask & (1ull << t))
			return fail(c, MARK(c), "%s: %s is listed twice", key, q);
		*mask |= 1ull << t;
	}
}

static int p_notify(struct ctx *c, const char *key) { return type_list(c, key, &c->m->notify_mask, false); }
static int p_auth_types(struct ctx *c, const char *key) { return type_list(c, key, &c->m->auth_mask, true); }
static int p_fds(struct ctx *c, const char *key) { return boolean(c, key, &c->m->file_descriptors); }
static int p_net_rules(struct ctx *c, const char *key) { return boolean(c, key, &c->m->net_rules); }
static int p_clear_cache(struct ctx *c, const char *key) { return boolean(c, key, &c->m->clear_cache); }

static int p_deadline(struct ctx *c, const char *key)
{
	return number32(c, key, 1, 10000, &c->m->auth[c->cur_type].deadline_ms);
}

static int p_on_miss(struct ctx *c, const char *key)
{
	int rc = want_scalar(c, key, "allow or deny");
	if (rc)
		return rc;
	if (scalar_is(c, "allow") || scalar_is(c, "deny")) {
		c->m->auth[c->cur_type].on_miss = scalar_is(c, "deny") ? WARD_VERDICT_DENY : WARD_VERDICT_ALLOW;
		return 0;
	}
	char q[MSG_QUOTE_MAX];
	return fail(c, MARK(c), "%s: %s is not allow or deny", key, msg_quote(q, SVAL(c), SLEN(c), false));
}

/* A size in bytes: digits, then nothing or K, M, G (powers of 1024), from
 * @min to @max (@range says so in messages). */
static int size(struct ctx *c, const char *key, uint64_t min, uint64_t max, const char *range, uint64_t *out)
{
	int rc = want_plain(c, key, "a size such as 256M");
	if (rc)
		return rc;
	static const char units[] = "KMG";
	uint64_t v, mult = 1;
	size_t n = digits(SVAL(c), SLEN(c), &v);
	if (n && n + 1 == SLEN(c)) {
		const char *unit = SVAL(c)[n] ? strchr(units, SVAL(c)[n]) : NULL;
		mult = unit ? 1ull << (10 * (unit - units + 1)) : 0;
	} else if (n != SLEN(c)) {
		n = 0;
	}
	char q[MSG_QUOTE_MAX];
	if (!n || !mult)
		return fail(c, MARK(c), "%s: %s is not a size (bytes, or a number with K, M or G: "
			    "powers of 1024; %s)", key, msg_quote(q, SVAL(c), SLEN(c), false), range);
	if (v > max / mult || v * mult < min || v * mult > max)
		return fail(c, MARK(c), "%s: %s is out of range (%s)", key, msg_quote(q, SVAL(c), SLEN(c), false), range);
	*out = v * mult;
	return 0;
}

static int p_memory(struct ctx *c, const char *key)
{
	return size(c, key, 1ull << 20, 64ull << 30, "1M to 64G", &c->m->limits.memory_bytes);
}

static uint32_t cpu_max_percent(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > 1 << 20)
		n = 1 << 20;
	return (uint32_t)n * 100;
}

/* A share of one CPU in percent, "50%"; 200% is two CPUs' worth. */
static int p_cpu(struct ctx *c, const char *key)
{
	uint32_t max = cpu_max_percent();
	int rc = want_plain(c, key, "a percentage such as 50%");
	if (rc)
		return rc;
	uint64_t v;
	size_t n = digits(SVAL(c), SLEN(c), &v);
	char q[MSG_QUOTE_MAX];
	if (!n || n + 1 != SLEN(c) || SVAL(c)[n] != '%')
		return fail(c, MARK(c), "%s: %s is not a percentage (such as 50%%: half of one CPU; "
			    "1%% to %u%% on this machine)", key, msg_quote(q, SVAL(c), SLEN(c), false), max);
	if (v < 1 || v > max)
		return fail(c, MARK(c), "%s: %llu%% is out of range (1%% to %u%%: 100%% per CPU online)",
			    key, (unsigned long long)v, max);
	c->m->limits.cpu_percent = (uint32_t)v;
	return 0;
}

static int p_pids(struct ctx *c, const char *key) { return number32(c, key, 1, 32768, &c->m->limits.pids); }
static int p_open_files(struct ctx *c, const char *key)
{
	return number32(c, key, 16, 1048576, &c->m->limits.open_files);
}

static int p_policy(struct ctx *c, const char *key)
{
	int rc = want_scalar(c, key, "always, on-failure or never");
	if (rc)
		return rc;
	static const char *const names[] = {
		[MANIFEST_RESTART_ON_FAILURE] = "on-failure",
		[MANIFEST_RESTART_ALWAYS] = "always",
		[MANIFEST_RESTART_NEVER] = "never",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (scalar_is(c, names[i])) {
			c->m->restart.policy = (enum manifest_restart_policy)i;
			return 0;
		}
	}
	char q[MSG_QUOTE_MAX];
	return fail(c, MARK(c), "%s: %s is not always, on-failure or never", key, msg_quote(q, SVAL(c), SLEN(c), false));
}

static int p_backoff_initial(struct ctx *c, const char *key)
{
	int rc = number32(c, key, 10, 60000, &c->m->restart.backoff_initial_ms);
	c->initial_set = true;
	c->initial_mark = MARK(c);
	return rc;
}

static int p_backoff_max(struct ctx *c, const char *key)
{
	int rc = number32(c, key, 10, 3600000, &c->m->restart.backoff_max_ms);
	c->max_set = true;
	c->max_mark = MARK(c);
	return rc;
}

static int p_quarantine_after(struct ctx *c, const char *key)
{
	return number32(c, key, 1, 1000, &c->m->restart.quarantine_after);
}

static int p_quarantine_window(struct ctx *c, const char *key)
{
	return number32(c, key, 1, 86400, &c->m->restart.quarantine_window_s);
}

/* ---- mappings ---- */

static void key_list(const struct key *keys, size_t n, char *out, size_t size)
{
	size_t o = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n && o < size; i++)
		o += (size_t)snprintf(out + o, size - o, "%s%s", i ? ", " : "", keys[i].name);
}

/* The keys of the mapping whose MAPPING_START is c->ev, each read by its
 * handler: unknown and repeated keys are errors, and so is a required key
 * left out.  @prefix is the mapping's own key path ("" at the top). */
static int mapping(struct ctx *c, const char *prefix, const struct key *keys, size_t n)
{
	yaml_mark_t start = MARK(c);
	size_t first_line[KEYS_MAX] = {0}; /* 0: not seen yet */
	char q[MSG_QUOTE_MAX], list[256];
	const char *in = *prefix ? " in " : "";
	int rc;
	for (;;) {
		if ((rc = next(c)))
			return rc;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if (c->ev.type != YAML_SCALAR_EVENT)
			return fail(c, MARK(c), "expected a key%s%s, found %s", in, prefix, kind_of(&c->ev));
		size_t i = 0;
		while (i < n && !scalar_is(c, keys[i].name))
			i++;
		if (i == n) {
			key_list(keys, n, list, sizeof(list));
			return fail(c, MARK(c), "unknown key %s%s%s (allowed: %s)", msg_quote(q, SVAL(c), SLEN(c), false),
				    in, prefix, list);
		}
		char path[KEY_PATH_MAX];
		snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", keys[i].name);
		if (first_line[i])
			return fail(c, MARK(c), "%s: duplicate key (first at line %zu)", path, first_line[i]);
		first_line[i] = MARK(c).line + 1;
		const char *outer = c->where;
		c->where = path;
		rc = keys[i].parse(c, path);
		c->where = outer;
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < n; i++)
		if (keys[i].required && !first_line[i])
			return fail(c, start, "missing required key %s%s%s%s", prefix, *prefix ? "." : "",
				    keys[i].name, *prefix ? "" : " (required: name, executable, sha256, user)");
	return 0;
}

#define TABLE(t) t, sizeof(t) / sizeof(t[0])

static int sub_mapping(struct ctx *c, const char *key, const struct key *keys, size_t n)
{
	int rc = want_start(c, key, YAML_MAPPING_START_EVENT, "a mapping (or leave the key out)");
	return rc ? rc : mapping(c, key, keys, n);
}

static const struct key entitlement_keys[] = {
	{"notify", p_notify}, {"auth", p_auth_types}, {"file_descriptors", p_fds},
	{"net_rules", p_net_rules}, {"clear_cache", p_clear_cache},
};
static const struct key policy_keys[] = {{"deadline_ms", p_deadline}, {"on_miss", p_on_miss}};
static const struct key limit_keys[] = {
	{"memory", p_memory}, {"cpu", p_cpu}, {"pids", p_pids}, {"open_files", p_open_files},
};
static const struct key restart_keys[] = {
	{"policy", p_policy}, {"backoff_initial_ms", p_backoff_initial}, {"backoff_max_ms", p_backoff_max},
	{"quarantine_after", p_quarantine_after}, {"quarantine_window_s", p_quarantine_window},
};

/* content: (docs/content.md) */
static int p_trust(struct ctx *c, const char *key) { return path(c, key, &c->m->content.trust); }
static int p_channel(struct ctx *c, const char *key)
{
	int rc = string(c, key, "a channel name", MANIFEST_STR_MAX, &c->m->content.channel);
	if (rc)
		return rc;
	char q[MSG_QUOTE_MAX];
	if (!ward_name_valid(c->m->content.channel, strlen(c->m->content.channel), MANIFEST_CHANNEL_MAX))
		return fail(c, MARK(c), "%s: %s is not a valid channel (1 to 32 of a-z 0-9 . _ -, starting "
			    "with a letter or digit)", key, msg_quote(q, SVAL(c), SLEN(c), false));
	return 0;
}
static int p_max_bytes(struct ctx *c, const char *key)
{
	return size(c, key, 1ull << 10, 1ull << 30, "1K to 1G", &c->m->content.max_bytes);
}
static int p_validate_timeout(struct ctx *c, const char *key)
{
	return number32(c, key, 100, 600000, &c->m->content.validate_timeout_ms);
}
static int p_bake(struct ctx *c, const char *key) { return number32(c, key, 1, 604800, &c->m->content.bake_s); }
static int p_delay(struct ctx *c, const char *key) { return number32(c, key, 0, 2592000, &c->m->content.delay_s); }
static int p_g_crashes(struct ctx *c, const char *key)
{
	return number32(c, key, 0, 1000, &c->m->content.gates.crashes);
}
static int p_g_misses(struct ctx *c, const char *key)
{
	return number32(c, key, 0, 1000000, &c->m->content.gates.deadline_misses);
}
static int p_g_divergence(struct ctx *c, const char *key)
{
	return number32(c, key, 0, 100, &c->m->content.gates.divergence_percent);
}
static int p_g_cpu(struct ctx *c, const char *key)
{
	return number32(c, key, 100, 10000, &c->m->content.gates.cpu_percent);
}
static int p_g_memory(struct ctx *c, const char *key)
{
	return number32(c, key, 100, 10000, &c->m->content.gates.memory_percent);
}
static int p_rb_crashes(struct ctx *c, const char *key)
{
	return number32(c, key, 1, 1000, &c->m->content.rollback.crashes);
}
static int p_rb_window(struct ctx *c, const char *key)
{
	return number32(c, key, 1, 86400, &c->m->content.rollback.window_s);
}
static const struct key gate_keys[] = {
	{"crashes", p_g_crashes}, {"deadline_misses", p_g_misses}, {"divergence_percent", p_g_divergence},
	{"cpu_percent", p_g_cpu}, {"memory_percent", p_g_memory},
};
static const struct key rollback_keys[] = {{"crashes", p_rb_crashes}, {"window_s", p_rb_window}};
static int p_gates(struct ctx *c, const char *key) { return sub_mapping(c, key, TABLE(gate_keys)); }
static int p_rollback(struct ctx *c, const char *key) { return sub_mapping(c, key, TABLE(rollback_keys)); }
static const struct key content_keys[] = {
	{"trust", p_trust, true}, {"channel", p_channel}, {"max_bytes", p_max_bytes},
	{"validate_timeout_ms", p_validate_timeout}, {"bake_s", p_bake}, {"delay_s", p_delay},
	{"gates", p_gates}, {"rollback", p_rollback},
};
static int p_content(struct ctx *c, const char *key) { return sub_mapping(c, key, TABLE(content_keys)); }

static int p_entitlements(struct ctx *c, const char *key) { return sub_mapping(c, key, TABLE(entitlement_keys)); }
static int p_limits(struct ctx *c, const char *key) { return sub_mapping(c, key, TABLE(limit_keys)); }
static int p_restart(struct ctx *c, const char *key) { return sub_mapping(c, key, TABLE(restart_keys)); }

/* auth: its keys are AUTH type names, each with a policy mapping.  Whether
 * the client is entitled to the type is checked after the document, since
 * entitlements: may come later in the file. */
static int p_auth(struct ctx *c, const char *key)
{
	int rc = want_start(c, key, YAML_MAPPING_START_EVENT, "a mapping (or leave the key out)");
	if (rc)
		return rc;
	char q[MSG_QUOTE_MAX];
	for (;;) {
		if ((rc = next(c)))
			return rc;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			return 0;
		if (c->ev.type != YAML_SCALAR_EVENT)
			return fail(c, MARK(c), "expected a key in %s, found %s", key, kind_of(&c->ev));
		uint32_t t = strlen(SVAL(c)) == SLEN(c) ? ward_event_type_from_name(SVAL(c)) : WARD_EV_INVALID;
		msg_quote(q, SVAL(c), SLEN(c), false);
		if (t == WARD_EV_INVALID || t >= WARD_EV_MAX_)
			return fail(c, MARK(c), "unknown key %s in %s (allowed: auth_exec, auth_open)", q, key);
		if (!(AUTH_CAPABLE & (1ull << t)))
			return fail(c, MARK(c), "%s: %s is not a type a client answers (allowed: auth_exec, auth_open)",
				    key, q);
		if (c->auth_seen & (1ull << t))
			return fail(c, MARK(c), "%s.%s: duplicate key (first at line %zu)", key, SVAL(c),
				    c->auth_mark[t].line + 1);
		c->auth_seen |= 1ull << t;
		c->auth_mark[t] = MARK(c);
		c->cur_type = (int)t;
		c->m->auth[t] = (struct manifest_auth_policy){DEADLINE_DEFAULT_MS, WARD_VERDICT_ALLOW};
		char path[KEY_PATH_MAX];
		snprintf(path, sizeof(path), "%s.%s", key, ward_event_type_name(t));
		const char *outer = c->where;
		c->where = path;
		rc = sub_mapping(c, path, TABLE(policy_keys));
		c->where = outer;
		if (rc)
			return rc;
	}
}

static const struct key top_keys[] = {
	{"name", p_name, true},
	{"executable", p_executable, true},
	{"sha256", p_sha256, true},
	{"args", p_args},
	{"user", p_user, true},
	{"enabled", p_enabled},
	{"entitlements", p_entitlements},
	{"auth", p_auth},
	{"limits", p_limits},
	{"restart", p_restart},
	{"content_dir", p_content_dir},
	{"state_dir", p_state_dir},
	{"content", p_content},
};
_Static_assert(sizeof(top_keys) / sizeof(top_keys[0]) <= KEYS_MAX, "mapping()'s first_line[]");

/* What needs the whole document: policies only for entitled types, the
 * backoffs in order, the defaults that derive from other keys. */
static int finish(struct ctx *c)
{
	struct ward_manifest *m = c->m;
	for (uint32_t t = 1; t < WARD_EV_MAX_; t++) {
		if ((c->auth_seen & (1ull << t)) && !(m->auth_mask & (1ull << t)))
			return fail(c, c->auth_mark[t], "auth.%s: a policy for a type the client is not entitled "
				    "to answer (list it in entitlements.auth, or remove this)", ward_event_type_name(t));
		if ((m->auth_mask & (1ull << t)) && !(c->auth_seen & (1ull << t)))
			m->auth[t] = (struct manifest_auth_policy){DEADLINE_DEFAULT_MS, WARD_VERDICT_ALLOW};
	}
	uint32_t initial = m->restart.backoff_initial_ms, max = m->restart.backoff_max_ms;
	if (initial > max) {
		if (c->max_set)
			return fail(c, c->max_mark, "restart.backoff_max_ms: %u is less than "
				    "restart.backoff_initial_ms (%u)", max, initial);
		return fail(c, c->initial_mark, "restart.backoff_initial_ms: %u is more than "
			    "restart.backoff_max_ms (%u, the default)", initial, max);
	}
	if (!m->args && !(m->args = calloc(1, sizeof(char *))))
		return oom(c);
	if (!m->content_dir && asprintf(&m->content_dir, "%s/%s", MANIFEST_CONTENT_ROOT, m->name) < 0) {
		m->content_dir = NULL;
		return oom(c);
	}
	if (!m->state_dir && asprintf(&m->state_dir, "%s/%s", MANIFEST_STATE_ROOT, m->name) < 0) {
		m->state_dir = NULL;
		return oom(c);
	}
	if (m->content.trust && !m->content.channel && !(m->content.channel = strdup("stable")))
		return oom(c);
	return 0;
}

/* stream-start, one document holding one mapping, stream-end. */
static int document(struct ctx *c)
{
	int rc;
	if ((rc = next(c)))
		return rc; /* STREAM_START */
	if ((rc = next(c)))
		return rc;
	if (c->ev.type == YAML_STREAM_END_EVENT)
		return fail(c, MARK(c), "empty manifest (required: name, executable, sha256, user)");
	if ((rc = next(c)))
		return rc; /* after DOCUMENT_START */
	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return fail(c, MARK(c), "a manifest is a mapping of keys (name: ..., executable: ...), "
			    "found %s", kind_of(&c->ev));
	if ((rc = mapping(c, "", TABLE(top_keys))))
		return rc;
	if ((rc = next(c)))
		return rc; /* DOCUMENT_END */
	if ((rc = next(c)))
		return rc;
	if (c->ev.type == YAML_DOCUMENT_START_EVENT)
		return fail(c, MARK(c), "a second YAML document: one manifest per file, with nothing after it");
	if (c->ev.type != YAML_STREAM_END_EVENT)
		return fail(c, MARK(c), "unexpected content after the manifest");
	return finish(c);
}

void manifest_free(struct ward_manifest *m)
{
	if (!m)
		return;
	free(m->file);
	free(m->name);
	free(m->executable);
	for (size_t i = 0; m->args && i < m->nargs; i++)
		free(m->args[i]);
	free(m->args);
	free(m->user);
	free(m->content_dir);
	free(m->state_dir);
	free(m->content.trust);
	free(m->content.channel);
	memset(m, 0, sizeof(*m));
}

int manifest_parse_buffer(const char *file, const char *buf, size_t len, struct ward_manifest *out,
			  char *err, size_t errlen)
{
	struct ward_manifest m = {
		.enabled = true,
		.limits = {.memory_bytes = 256ull << 20, .cpu_percent = 100, .pids = 64, .open_files = 1024},
		.restart = {.policy = MANIFEST_RESTART_ON_FAILURE, .backoff_initial_ms = 500,
			    .backoff_max_ms = 30000, .quarantine_after = 5, .quarantine_window_s = 60},
		.content = {.max_bytes = 64ull << 20, .validate_timeout_ms = 10000, .bake_s = 300,
			    .gates = {.divergence_percent = 1, .cpu_percent = 200, .memory_percent = 200},
			    .rollback = {.crashes = 3, .window_s = 300}},
	};
	struct ctx c = {.file = file ? file : "<buffer>", .buf = buf ? buf : "", .len = buf ? len : 0,
			.err = err, .errlen = errlen, .where = "", .m = &m};
	if (err && errlen)
		err[0] = '\0';
	if (len > MANIFEST_FILE_MAX) {
		if (err && errlen)
			snprintf(err, errlen, "%s: %zu bytes; a manifest is at most %u bytes", c.file, len,
				 MANIFEST_FILE_MAX);
		return -EINVAL;
	}
	if (!yaml_parser_initialize(&c.yp))
		return oom(&c);
	yaml_parser_set_input_string(&c.yp, (const unsigned char *)c.buf, c.len);
	int rc = (m.file = strdup(c.file)) ? document(&c) : oom(&c);
	if (c.have_ev)
		yaml_event_delete(&c.ev);
	yaml_parser_delete(&c.yp);
	if (rc) {
		manifest_free(&m);
		return rc;
	}
	*out = m;
	return 0;
}

/* ---- files ---- */

__attribute__((format(printf, 5, 6)))
static int file_error(char *err, size_t errlen, const char *file, int rc, const char *fmt, ...)
{
	if (!err || !errlen)
		return rc;
	int n = snprintf(err, errlen, "%s: ", file);
	if (n >= 0 && (size_t)n < errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* @name relative to @dirfd (or AT_FDCWD), shown as @shown in messages. */
static int parse_at(int dirfd, const char *name, const char *shown, struct ward_manifest *m,
		    char *err, size_t errlen)
{
	/* O_NONBLOCK: a FIFO put there must not hang wardd in open(); it is
	 * refused as "not a regular file" just after. */
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ELOOP)
			return file_error(err, errlen, shown, -ELOOP, "is a symbolic link; a manifest must "
					  "be a regular file (symbolic links are not followed)");
		return file_error(err, errlen, shown, -e, "cannot open: %s", strerror(e));
	}
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0)
		rc = file_error(err, errlen, shown, -errno, "cannot stat: %s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = file_error(err, errlen, shown, -EINVAL, "not a regular file");
	else if (st.st_uid != 0)
		rc = file_error(err, errlen, shown, -EPERM, "owned by uid %u, not root: a manifest grants "
				"privileges, so only root may write it", (unsigned)st.st_uid);
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		rc = file_error(err, errlen, shown, -EPERM, "writable by group or others (mode %04o): a "
				"manifest grants privileges, so only root may write it",
				(unsigned)(st.st_mode & 07777));
	else if (st.st_size > (off_t)MANIFEST_FILE_MAX)
		rc = file_error(err, errlen, shown, -EFBIG, "%lld bytes; a manifest is at most %u bytes",
				(long long)st.st_size, MANIFEST_FILE_MAX);
	if (rc) {
		close(fd);
		return rc;
	}
	/* One byte more than allowed, to see a file that grew since fstat. */
	char *buf = malloc(MANIFEST_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		return file_error(err, errlen, shown, -ENOMEM, "out of memory");
	}
	size_t len = 0;
	while (len <= MANIFEST_FILE_MAX) {
		ssize_t r = read(fd, buf + len, MANIFEST_FILE_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = file_error(err, errlen, shown, -errno, "cannot read: %s", strerror(errno));
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (!rc && len > MANIFEST_FILE_MAX)
		rc = file_error(err, errlen, shown, -EFBIG, "more than %u bytes; a manifest is at most %u bytes",
				MANIFEST_FILE_MAX, MANIFEST_FILE_MAX);
	if (!rc)
		rc = manifest_parse_buffer(shown, buf, len, m, err, errlen);
	free(buf);
	return rc;
}

int manifest_parse_file(const char *path, struct ward_manifest *m, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = '\0';
	return parse_at(AT_FDCWD, path, path, m, err, errlen);
}

/* ---- directories ---- */

__attribute__((format(printf, 3, 4)))
static void report(void (*on_error)(const char *, void *), void *ctx, const char *fmt, ...)
{
	if (!on_error)
		return;
	char msg[MANIFEST_STR_MAX + 512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	on_error(msg, ctx);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool wanted(const char *name)
{
	size_t len = strlen(name), sl = strlen(MANIFEST_SUFFIX);
	return name[0] != '.' && len > sl && !strcmp(name + len - sl, MANIFEST_SUFFIX);
}

/* The names of @dirfd's manifest files, sorted.  Returns their number or
 * -errno; *@out is the caller's to free (each name, then the array). */
static ssize_t list_dir(int dirfd, char ***out)
{
	int fd = dup(dirfd);
	DIR *d = fd < 0 ? NULL : fdopendir(fd);
	if (!d) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return -e;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	for (;;) {
		errno = 0;
		struct dirent *de = readdir(d);
		if (!de) {
			rc = -errno;
			break;
		}
		if (!wanted(de->d_name))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nn = realloc(names, ncap * sizeof(*nn));
			if (!nn) {
				rc = -ENOMEM;
				break;
			}
			names = nn;
			cap = ncap;
		}
		if (!(names[n] = strdup(de->d_name))) {
			rc = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (rc) {
		while (n)
			free(names[--n]);
		free(names);
		return rc;
	}
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	*out = names;
	return (ssize_t)n;
}

void manifest_set_free(struct manifest_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		manifest_free(&set->m[i]);
	free(set->m);
	set->m = NULL;
	set->n = 0;
}

const struct ward_manifest *manifest_find(const struct manifest_set *set, const char *name)
{
	for (size_t i = 0; set && name && i < set->n; i++)
		if (!strcmp(set->m[i].name, name))
			return &set->m[i];
	return NULL;
}

int manifest_load_dir(const char *dir, struct manifest_set *set,
		      void (*on_error)(const char *msg, void *ctx), void *ctx)
{
	set->m = NULL;
	set->n = 0;
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		int e = errno;
		report(on_error, ctx, "%s: cannot open the manifest directory: %s", dir, strerror(e));
		return -e;
	}
	struct stat st;
	if (fstat(dirfd, &st) < 0) {
		int e = errno;
		close(dirfd);
		report(on_error, ctx, "%s: cannot stat: %s", dir, strerror(e));
		return -e;
	}
	/* Whoever may rename or delete files here decides which manifest wins
	 * a name, and can remove clients: only root. */
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(dirfd);
		report(on_error, ctx, "%s: the manifest directory must be owned by root and writable by "
		       "nobody else (owner uid %u, mode %04o); no manifest loaded", dir,
		       (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	char **names = NULL;
	ssize_t n = list_dir(dirfd, &names);
	if (n < 0) {
		close(dirfd);
		report(on_error, ctx, "%s: cannot read the manifest directory: %s", dir, strerror((int)-n));
		return (int)n;
	}
	size_t dl = strlen(dir);
	const char *sep = dl && dir[dl - 1] == '/' ? "" : "/";
	size_t cap = 0;
	int rc = 0;
	char err[MANIFEST_STR_MAX + 256];
	for (ssize_t i = 0; i < n && !rc; i++) {
		char *shown;
		if (asprintf(&shown, "%s%s%s", dir, sep, names[i]) < 0) {
			rc = -ENOMEM;
			break;
		}
		struct ward_manifest m;
		const struct ward_manifest *prev;
		if (set->n == MANIFEST_DIR_MAX) {
			report(on_error, ctx, "%s: skipped: at most %u manifests are loaded from a directory",
			       shown, MANIFEST_DIR_MAX);
		} else if ((rc = parse_at(dirfd, names[i], shown, &m, err, sizeof(err)))) {
			if (rc != -ENOMEM) {
				report(on_error, ctx, "%s", err);
				rc = 0;
			}
		} else if ((prev = manifest_find(set, m.name))) {
			report(on_error, ctx, "%s:%u:%u: name: \"%s\" is already used by %s; %s is skipped",
			       shown, m.name_line, m.name_col, m.name, prev->file, shown);
			manifest_free(&m);
		} else {
			if (set->n == cap) {
				size_t ncap = cap ? cap * 2 : 8;
				struct ward_manifest *nm = realloc(set->m, ncap * sizeof(*nm));
				if (!nm) {
					manifest_free(&m);
					free(shown);
					rc = -ENOMEM;
					break;
				}
				set->m = nm;
				cap = ncap;
			}
			set->m[set->n++] = m;
		}
		free(shown);
	}
	for (ssize_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	close(dirfd);
	if (rc) {
		manifest_set_free(set);
		report(on_error, ctx, "%s: out of memory; no manifest loaded", dir);
		return rc;
	}
	return (int)set->n;
}
