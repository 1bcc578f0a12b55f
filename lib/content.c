/* SPDX-License-Identifier: Apache-2.0 */
/*
 * content.c — the client's side of content bundles (docs/content.md): what
 * content wardd started this process with (the WARD_CONTENT_* environment),
 * and the validate mode, in which the process only runs its own parser on
 * the payload and reports on stdout and in its exit status.
 *
 * Nothing here talks to wardd: in validate mode the process is sandboxed
 * and must not.  ward_client_content(), the administration request, is in
 * libward.c with the other requests.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ward/ward.h>
#include "names.h"

#define EXIT_ACCEPTED 0
#define EXIT_REJECTED 65  /* EX_DATAERR */
#define REASON_MAX 400    /* bytes of the reason on the verdict line */
#define PARSE_ERR_MAX 1024 /* what the parser may write into err */
#define CHANNEL_MAX 32

static const char *const env_names[] = {
	"WARD_CONTENT_MODE", "WARD_CONTENT_FILE", "WARD_CONTENT_VERSION", "WARD_CONTENT_CHANNEL",
};
static const char *const env_missing[] = {
	"WARD_CONTENT_MODE is not set", "WARD_CONTENT_FILE is not set",
	"WARD_CONTENT_VERSION is not set", "WARD_CONTENT_CHANNEL is not set",
};

/* The environment as ward_content_info() reads it; on -EINVAL, *@why says
 * which variable is wrong. */
static int content_env(struct ward_content_info *out, const char **why)
{
	const char *v[4];
	unsigned set = 0;
	for (unsigned i = 0; i < 4; i++) {
		v[i] = secure_getenv(env_names[i]);
		set += v[i] != NULL;
	}
	if (set == 0) {
		*out = (struct ward_content_info){ .mode = WARD_CONTENT_NONE };
		return 0;
	}
	if (set < 4) { /* wardd sets all four or none */
		for (unsigned i = 4; i-- > 0;)
			if (!v[i])
				*why = env_missing[i];
		return -EINVAL;
	}
	struct ward_content_info ci = { .path = v[1], .channel = v[3] };
	if (strcmp(v[0], "active") == 0)
		ci.mode = WARD_CONTENT_ACTIVE;
	else if (strcmp(v[0], "shadow") == 0)
		ci.mode = WARD_CONTENT_SHADOW;
	else if (strcmp(v[0], "validate") == 0)
		ci.mode = WARD_CONTENT_VALIDATE;
	else {
		*why = "WARD_CONTENT_MODE is not active, shadow or validate";
		return -EINVAL;
	}
	if (v[1][0] != '/' || strlen(v[1]) >= PATH_MAX) {
		*why = "WARD_CONTENT_FILE is not an absolute path";
		return -EINVAL;
	}
	if (ward_dec_parse(v[2], strlen(v[2]), &ci.version) != WARD_DEC_OK || ci.version == 0) {
		*why = "WARD_CONTENT_VERSION is not a version (1 to 2^63-1)";
		return -EINVAL;
	}
	if (!ward_name_valid(v[3], strlen(v[3]), CHANNEL_MAX)) {
		*why = "WARD_CONTENT_CHANNEL is not a channel name";
		return -EINVAL;
	}
	*out = ci;
	return 0;
}

int ward_content_info(struct ward_content_info *out)
{
	const char *why;
	if (!out)
		return -EINVAL;
	return content_env(out, &why);
}

/* The length of the character at @s (@n bytes left): that of its UTF-8
 * sequence, or 1 for a byte that starts none.  *@printable: a well-formed
 * character that is not a control character (C0, DEL, C1). */
static size_t char_len(const unsigned char *s, size_t n, bool *printable)
{
	size_t len = ward_utf8_len(s, n);
	if (len == 0) {
		*printable = false;
		return 1;
	}
	*printable = len > 1 ? !(s[0] == 0xc2 && s[1] < 0xa0) /* U+0080..U+009F */ : s[0] >= 0x20 && s[0] != 0x7f;
	return len;
}

/* @src as one line of at most REASON_MAX bytes into @dst (REASON_MAX + 1):
 * each control character, and each byte that is not UTF-8, becomes '?',
 * and the text is cut on a character boundary. */
static void sanitise(char *dst, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = strlen(src), out = 0;
	while (n > 0) {
		bool printable;
		size_t len = char_len(s, n, &printable);
		size_t put = printable ? len : 1;
		if (out + put > REASON_MAX)
			break;
		if (printable)
			memcpy(dst + out, s, len);
		else
			dst[out] = '?';
		out += put;
		s += len;
		n -= len;
	}
	dst[out] = '\0';
}

static void write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return; /* nobody reads: the exit status still tells */
		s += n;
		len -= (size_t)n;
	}
}

/* Write the verdict line to @fd and end the process. */
static __attribute__((noreturn)) void verdict(int fd, bool accepted, uint64_t version, const char *reason)
{
	char clean[REASON_MAX + 1], line[REASON_MAX + 64];
	int n;
	if (accepted) {
		n = snprintf(line, sizeof(line), "accepted: version %llu\n", (unsigned long long)version);
	} else {
		sanitise(clean, reason && *reason ? reason : "the parser gave no reason");
		n = snprintf(line, sizeof(line), "rejected: %s\n", clean);
	}
	fflush(stdout);
	write_all(fd, line, (size_t)n);
	_exit(accepted ? EXIT_ACCEPTED : EXIT_REJECTED);
}

int ward_content_validate(ward_content_parse_fn parse, void *userdata)
{
	const char *mode = secure_getenv("WARD_CONTENT_MODE");
	if (!mode || strcmp(mode, "validate") != 0)
		return parse ? 0 : -EINVAL;

	/* The verdict line must be the last line on stdout: whatever the
	 * parser prints goes to stderr (wardd's log) instead. */
	fflush(stdout);
	int out = dup(STDOUT_FILENO);
	if (out >= 0 && dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		close(out);
		out = -1;
	}
	if (out < 0)
		out = STDOUT_FILENO;

	struct ward_content_info ci;
	const char *why = NULL;
	if (content_env(&ci, &why) < 0) {
		char reason[128];
		snprintf(reason, sizeof(reason), "malformed environment: %s", why);
		verdict(out, false, 0, reason);
	}
	if (!parse)
		verdict(out, false, 0, "the client has no parser");
	char err[PARSE_ERR_MAX] = "";
	int r = parse(ci.path, userdata, err, sizeof(err));
	err[sizeof(err) - 1] = '\0';
	verdict(out, r == 0, ci.version, err);
}
