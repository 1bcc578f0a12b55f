/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common.h — what the supervised-client suites (test_faults, test_clients)
 * share: a directory with fault_client where every uid can run it, its
 * SHA-256, and reading wardd's status.
 */
#ifndef WARD_TEST_FAULTS_COMMON_H
#define WARD_TEST_FAULTS_COMMON_H

#include <limits.h>
#include <stdint.h>

#include <json-c/json.h>

extern char fc_root[PATH_MAX];     /* /tmp/ward-PREFIX-PID, mode 0755 */
extern char fc_bin[PATH_MAX + 32]; /* fc_root/bin/fault_client */
extern char fc_sha[65];            /* its SHA-256 */

long fc_now_ms(void);
/* system() of a formatted command; returns its status. */
int fc_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Make fc_root for @prefix and put fault_client there.  0 or -1. */
int fc_prepare(const char *prefix);
/* Clear fc_root's clients.d, state and content, and make clients.d again. */
int fc_fresh_dirs(void);
/* Write fc_root/clients.d/@file (mode 0644). */
void fc_write_file(const char *file, const char *text);
/* Write manifest @name.yaml: fault_client with @args (YAML flow items),
 * run as @uid, SHA-256 @hash (NULL: fc_sha), NOTIFY exec/exit/fork/open and
 * auth_exec; with @deadline_ms (not 0) an auth: section for auth_exec
 * (on_miss allow); content and state directories under fc_root; then
 * @extra (YAML, may be NULL). */
void fc_manifest(const char *name, unsigned uid, const char *args, const char *hash, int deadline_ms,
		 const char *extra);
/* The harness's wardd options for these suites, replacing any set before:
 * AUTH marks only on the harness's private tmpfs, manifests from
 * fc_root/clients.d.  More may be added before harness_start(). */
void fc_wardd_options(void);
/* wardd's status through the harness's client (NULL on error); free with
 * json_object_put(). */
json_object *fc_status(void);
json_object *fc_get(json_object *o, const char *key);
uint64_t fc_u64(json_object *o, const char *key);
/* The supervisor's entry of client @name in status @st (owned by @st). */
json_object *fc_client(json_object *st, const char *name);

#endif
