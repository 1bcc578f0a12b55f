/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_manifest.c — libFuzzer harness for client manifests: the input is
 * one manifest file, parsed by manifest_parse_buffer() exactly as wardd
 * will parse the files of /etc/ward/clients.d.
 * Invariants checked: an error is -EINVAL or -ENOMEM with one non-empty,
 * NUL-terminated, single-line message naming the file, and the output
 * struct untouched; a success holds only what the schema allows; nothing
 * leaks (ASan's leak check, after manifest_free).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ward/ward.h>
#include "log.h"
#include "manifest.h"

#define AUTH_CAPABLE ((1ull << WARD_EV_AUTH_EXEC) | (1ull << WARD_EV_AUTH_OPEN))

static void check(const struct ward_manifest *m)
{
	size_t len = strlen(m->name);
	if (!len || len > MANIFEST_NAME_MAX || strlen(m->sha256) != MANIFEST_SHA256_HEX)
		abort();
	if (m->executable[0] != '/' || m->content_dir[0] != '/' || m->state_dir[0] != '/')
		abort();
	if (m->uid == 0 || m->nargs > MANIFEST_ARGS_MAX || !m->args || m->args[m->nargs])
		abort();
	for (size_t i = 0; i < m->nargs; i++)
		if (strlen(m->args[i]) >= MANIFEST_STR_MAX)
			abort();
	if ((m->auth_mask & ~AUTH_CAPABLE) || (m->notify_mask & 1) || (m->notify_mask >> WARD_EV_MAX_))
		abort();
	for (int t = 0; t < WARD_EV_MAX_; t++) {
		const struct manifest_auth_policy *p = &m->auth[t];
		int entitled = (m->auth_mask >> t) & 1;
		if (entitled ? p->deadline_ms < 1 || p->deadline_ms > 10000 || p->on_miss > WARD_VERDICT_DENY
			     : p->deadline_ms || p->on_miss)
			abort();
	}
	if (m->limits.memory_bytes < (1ull << 20) || m->limits.memory_bytes > (64ull << 30) ||
	    m->limits.cpu_percent < 1 || m->limits.pids < 1 || m->limits.pids > 32768 ||
	    m->limits.open_files < 16 || m->limits.open_files > 1048576)
		abort();
	if (m->restart.backoff_initial_ms < 10 || m->restart.backoff_initial_ms > m->restart.backoff_max_ms ||
	    m->restart.backoff_max_ms > 3600000 || m->restart.quarantine_after < 1 ||
	    m->restart.quarantine_after > 1000 || m->restart.quarantine_window_s < 1 ||
	    m->restart.quarantine_window_s > 86400 || m->restart.policy > MANIFEST_RESTART_NEVER)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ward_manifest m, untouched;
	char err[512];
	log_quiet = 1;
	memset(&m, 0x5a, sizeof(m));
	memcpy(&untouched, &m, sizeof(m));
	memset(err, 'x', sizeof(err));
	int rc = manifest_parse_buffer("fuzz.yaml", (const char *)data, size, &m, err, sizeof(err));
	if (rc == 0) {
		if (err[0] != '\0')
			abort();
		check(&m);
		manifest_free(&m);
		return 0;
	}
	if (rc != -EINVAL && rc != -ENOMEM)
		abort();
	if (!memchr(err, '\0', sizeof(err)) || strncmp(err, "fuzz.yaml:", 10) || strchr(err, '\n'))
		abort();
	if (memcmp(&m, &untouched, sizeof(m)))
		abort();
	return 0;
}
