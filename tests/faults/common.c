/* SPDX-License-Identifier: Apache-2.0 */
/* common.c — see common.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <ward/ward.h>
#include "common.h"
#include "harness.h"

char fc_root[PATH_MAX];
char fc_bin[PATH_MAX + 32];
char fc_sha[65];

long fc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int fc_run(const char *fmt, ...)
{
	char cmd[4 * PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

int fc_prepare(const char *prefix)
{
	snprintf(fc_root, sizeof(fc_root), "/tmp/ward-%s-%d", prefix, (int)getpid());
	snprintf(fc_bin, sizeof(fc_bin), "%s/bin/fault_client", fc_root);
	if (fc_run("rm -rf '%s' && mkdir -p -m 0755 '%s/bin' && install -m 0755 '%s' '%s'", fc_root, fc_root,
		   FAULT_CLIENT_PATH, fc_bin))
		return -1;
	chmod(fc_root, 0755);
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", fc_bin);
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	int ok = fscanf(p, "%64s", fc_sha) == 1;
	pclose(p);
	return ok && strlen(fc_sha) == 64 ? 0 : -1;
}

int fc_fresh_dirs(void)
{
	return fc_run("rm -rf '%s/clients.d' '%s/state' '%s/content' && mkdir -m 0755 '%s/clients.d'", fc_root,
		      fc_root, fc_root, fc_root);
}

void fc_write_file(const char *file, const char *text)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/clients.d/%s", fc_root, file);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0644);
}

void fc_manifest(const char *name, unsigned uid, const char *args, const char *hash, int deadline_ms,
		 const char *extra)
{
	char text[16384], auth[128] = "", file[128];
	if (deadline_ms)
		snprintf(auth, sizeof(auth), "auth:\n  auth_exec: {deadline_ms: %d, on_miss: allow}\n", deadline_ms);
	snprintf(text, sizeof(text),
		 "name: %s\n"
		 "executable: %s\n"
		 "sha256: %s\n"
		 "args: [%s]\n"
		 "user: %u\n"
		 "entitlements:\n"
		 "  notify: [exec, exit, fork, open]\n"
		 "  auth: [auth_exec]\n"
		 "%s"
		 "content_dir: %s/content/%s\n"
		 "state_dir: %s/state/%s\n"
		 "%s",
		 name, fc_bin, hash ? hash : fc_sha, args, uid, auth, fc_root, name, fc_root, name, extra ? extra : "");
	snprintf(file, sizeof(file), "%s.yaml", name);
	fc_write_file(file, text);
}

void fc_wardd_options(void)
{
	char dir[PATH_MAX + 16]; /* the harness keeps a copy */
	snprintf(dir, sizeof(dir), "%s/clients.d", fc_root);
	harness_clear_options();
	harness_use_auth_mount(); /* AUTH marks only on a private tmpfs */
	harness_wardd_option("--clients-dir");
	harness_wardd_option(dir);
}

json_object *fc_status(void)
{
	char *text = NULL;
	if (ward_client_status_json(harness_client(), &text) < 0)
		return NULL;
	json_object *o = json_tokener_parse(text);
	free(text);
	return o;
}

json_object *fc_get(json_object *o, const char *k)
{
	json_object *v = NULL;
	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

uint64_t fc_u64(json_object *o, const char *k)
{
	json_object *v = fc_get(o, k);
	return v ? (uint64_t)json_object_get_int64(v) : 0;
}

json_object *fc_client(json_object *st, const char *name)
{
	json_object *arr = fc_get(fc_get(st, "supervisor"), "clients");
	for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *c = json_object_array_get_idx(arr, i);
		const char *n = json_object_get_string(fc_get(c, "name"));
		if (n && !strcmp(n, name))
			return c;
	}
	return NULL;
}
