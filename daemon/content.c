/* SPDX-License-Identifier: Apache-2.0 */
/*
 * content.c — see content.h.
 *
 * Files, per client, in its content directory (read-only for the client,
 * written only by wardd's content worker):
 *   state.json                      what is active, last-known-good, pinned...
 *   v<N>.payload                    the payload of version N (what the client reads)
 *   v<N>.bundle, v<N>.bundle.minisig  the signed original, kept for audit
 *   root, root.minisig              the root of trust after a rotation
 * Only the versions still in use (active, last-known-good, candidate) are
 * kept; the others are removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <ward/ward.h>
#include "broker.h"
#include "bundle.h"
#include "cgroups.h"
#include "files.h"
#include "content.h"
#include "log.h"
#include "manifest.h"
#include "pipeline.h"
#include "record.h"
#include "supervisor.h"

#define CONTENT_TAG 0x434f4e54     /* "CONT": our epoll tag */
#define CLIENTS_MAX 256            /* MANIFEST_DIR_MAX */
#define SIG_FILE_MAX (BUNDLE_SIGS_MAX * 4096)
#define STATE_FILE_MAX (64u << 10)
#define REJECTED_KEPT 8
#define TICK_MS 100                /* how often content_tick() looks */
#define RETRY_MS 10000             /* a shadow that could not start is tried again */
#define CPU_SLACK_NS 500000000ull    /* 500 ms: a start (exec, loading content) ... */
#define CPU_SLACK_NS_PER_S 10000000ull /* ... and 1% of a CPU: idle clients differ by noise */
#define MEMORY_SLACK (16ull << 20)

enum phase { P_NONE, P_VALIDATING, P_WAITING, P_SHADOW };
static const char *const phase_names[] = {
	[P_NONE] = "none", [P_VALIDATING] = "validating", [P_WAITING] = "waiting", [P_SHADOW] = "shadow",
};

struct gates {
	uint64_t compared, differ, denied_allowed, misses, crashes;
	uint64_t act_cpu0, sh_cpu0, act_cpu, sh_cpu, act_peak, sh_peak;
	uint64_t sampled_ms;
	char crash_what[192];
};

struct cclient {
	const struct ward_manifest *m;
	int root_ok;
	char root_err[300];
	struct trust_root root;
	/* kept in state.json */
	uint64_t active, lkg, pinned, highest;
	int has_lkg, paused;
	char highest_channel[MANIFEST_CHANNEL_MAX + 1];
	int64_t promoted_at;        /* realtime s; 0: not since wardd started watching */
	uint64_t rejected[REJECTED_KEPT];
	struct {
		uint64_t version;
		enum phase phase;
		int64_t installed, not_before; /* realtime s */
		uint64_t expires;
	} cand;
	char last[CONTENT_REASON_MAX + 160];
	/* this run only */
	int busy;                   /* an install in the worker */
	char waiting_why[160];
	uint64_t promoted_ms, retry_ms, bake_until_ms;
	uint32_t post_crashes;
	struct gates g;
};

enum job_kind { J_INSTALL, J_WRITE, J_UNLINK };
struct job {
	struct job *next;
	enum job_kind kind;
	size_t idx;
	uint32_t conn;
	char path[PATH_MAX], sigpath[PATH_MAX]; /* install: the files; write/unlink: path */
	char dir[PATH_MAX];
	/* install */
	struct trust_root root;
	char client[64], channel[MANIFEST_CHANNEL_MAX + 1];
	uint64_t highest;
	size_t max;
	int64_t now;
	int64_t delay_s;            /* -1: the manifest's */
	enum bundle_refusal refusal;
	char err[600];
	int is_root;
	struct bundle_meta meta;
	struct trust_root newroot;
	/* write */
	char *data;
	size_t len;
};

static struct {
	int tag;
	int epfd;
	int pipe[2];
	pthread_t thread;
	int running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *todo, *todo_tail, *done;
	int stopping;
	struct cclient c[CLIENTS_MAX];
	size_t n;
} C = {.tag = CONTENT_TAG, .pipe = {-1, -1}, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int64_t now_real(void)
{
	return (int64_t)time(NULL);
}

static struct cclient *find(const char *name)
{
	for (size_t i = 0; i < C.n; i++)
		if (!strcmp(C.c[i].m->name, name))
			return &C.c[i];
	return NULL;
}

/* ---- files (the worker's, and start-up's: daemon/files.h) ---- */

static void payload_path(const struct cclient *c, uint64_t v, char *out, size_t len)
{
	snprintf(out, len, "%s/v%" PRIu64 ".payload", c->m->content_dir, v);
}

/* The worker: a bundle or a root of trust, checked and stored. */
static void do_install(struct job *j)
{
	uint8_t *data = NULL, *sig = NULL;
	size_t len = 0, siglen = 0;
	int r = file_read_all(j->path, j->max, &data, &len);
	if (r) {
		j->refusal = r == -EFBIG ? BR_OVERSIZED : BR_MALFORMED;
		if (r == -EFBIG)
			snprintf(j->err, sizeof(j->err), "%.300s: %zu bytes, more than the client's max_bytes (%zu)", j->path,
				 len, j->max);
		else
			snprintf(j->err, sizeof(j->err), "%.300s: %s", j->path, r == -EINVAL ? "not a regular file" : strerror(-r));
		goto out;
	}
	r = file_read_all(j->sigpath, SIG_FILE_MAX, &sig, &siglen);
	if (r) {
		j->refusal = BR_MALFORMED;
		snprintf(j->err, sizeof(j->err), "%.300s: %s", j->sigpath,
			 r == -EFBIG ? "too big for a signature file" : r == -ENOENT ? "no signature file" : strerror(-r));
		goto out;
	}
	static const char root_magic[] = "ward-root ";
	if (len >= sizeof(root_magic) - 1 && !memcmp(data, root_magic, sizeof(root_magic) - 1)) {
		j->is_root = 1;
		j->refusal = trust_rotate(&j->root, data, len, (const char *)sig, siglen, j->now, &j->newroot, j->err,
					  sizeof(j->err));
		if (j->refusal == BR_OK) {
			char p[PATH_MAX + 16];
			snprintf(p, sizeof(p), "%s/root.minisig", j->dir);
			if ((r = file_write_atomic(p, sig, siglen, true)) == 0) {
				snprintf(p, sizeof(p), "%s/root", j->dir);
				r = file_write_atomic(p, data, len, true);
			}
			if (r) {
				j->refusal = BR_MALFORMED;
				snprintf(j->err, sizeof(j->err), "cannot store the new root: %s", strerror(-r));
			}
		}
		goto out;
	}
	struct bundle b;
	j->refusal = bundle_verify(&j->root, data, len, j->max, (const char *)sig, siglen, j->client, j->channel,
				   j->highest, j->now, &b, j->err, sizeof(j->err));
	if (j->refusal != BR_OK)
		goto out;
	j->meta = b.meta;
	char p[PATH_MAX + 48];
	snprintf(p, sizeof(p), "%s/v%" PRIu64 ".bundle.minisig", j->dir, b.meta.version);
	if (!(r = file_write_atomic(p, sig, siglen, true))) {
		snprintf(p, sizeof(p), "%s/v%" PRIu64 ".bundle", j->dir, b.meta.version);
		if (!(r = file_write_atomic(p, data, len, true))) {
			snprintf(p, sizeof(p), "%s/v%" PRIu64 ".payload", j->dir, b.meta.version);
			r = file_write_atomic(p, b.payload, b.payload_len, true);
		}
	}
	if (r) {
		j->refusal = BR_MALFORMED;
		snprintf(j->err, sizeof(j->err), "cannot store version %" PRIu64 ": %s", b.meta.version, strerror(-r));
	}
out:
	free(data);
	free(sig);
}

static void *worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&C.mu);
	for (;;) {
		while (!C.todo && !C.stopping)
			pthread_cond_wait(&C.cv, &C.mu);
		if (!C.todo)
			break;
		struct job *j = C.todo;
		C.todo = j->next;
		if (!C.todo)
			C.todo_tail = NULL;
		pthread_mutex_unlock(&C.mu);
		if (j->kind == J_INSTALL) {
			do_install(j);
		} else if (j->kind == J_WRITE) {
			int r = file_write_atomic(j->path, j->data, j->len, true);
			if (r)
				log_warnx("content: cannot write %s: %s", j->path, strerror(-r));
		} else if (unlink(j->path) && errno != ENOENT) {
			log_warn("content: cannot remove %s", j->path);
		}
		pthread_mutex_lock(&C.mu);
		if (j->kind == J_INSTALL) {
			j->next = C.done;
			C.done = j;
			char b = 1;
			if (write(C.pipe[1], &b, 1) < 0) {
				/* full: the main thread is awake anyway */
			}
		} else {
			free(j->data);
			free(j);
		}
	}
	pthread_mutex_unlock(&C.mu);
	return NULL;
}

static void submit(struct job *j)
{
	if (!C.running) {
		/* no worker (it could not start): this thread must not open
		 * files in the protected content directory, it would wait on
		 * itself; installs are refused (on_install) */
		log_warnx("content: no worker: %s not %s", j->path, j->kind == J_WRITE ? "written" : "removed");
		free(j->data);
		free(j);
		return;
	}
	pthread_mutex_lock(&C.mu);
	if (C.todo_tail)
		C.todo_tail->next = j;
	else
		C.todo = j;
	C.todo_tail = j;
	pthread_cond_signal(&C.cv);
	pthread_mutex_unlock(&C.mu);
}

static void remove_file(const char *path)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->kind = J_UNLINK;
	snprintf(j->path, sizeof(j->path), "%.4000s", path);
	submit(j);
}

/* Remove what no longer serves: versions other than active, last-known-good
 * and the candidate. */
static void prune(struct cclient *c, uint64_t v)
{
	if (!v || v == c->active || (c->has_lkg && v == c->lkg) || v == c->cand.version)
		return;
	static const char *const ext[] = {"payload", "bundle", "bundle.minisig"};
	for (size_t k = 0; k < 3; k++) {
		char p[PATH_MAX + 48];
		snprintf(p, sizeof(p), "%s/v%" PRIu64 ".%s", c->m->content_dir, v, ext[k]);
		remove_file(p);
	}
}

/* ---- state ---- */

static void save(struct cclient *c)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "format", json_object_new_int(1));
	json_object_object_add(o, "active", json_object_new_uint64(c->active));
	if (c->has_lkg)
		json_object_object_add(o, "last_known_good", json_object_new_uint64(c->lkg));
	json_object_object_add(o, "pinned", json_object_new_uint64(c->pinned));
	json_object_object_add(o, "paused", json_object_new_boolean(c->paused));
	json_object_object_add(o, "highest", json_object_new_uint64(c->highest));
	json_object_object_add(o, "highest_channel", json_object_new_string(c->highest_channel));
	json_object_object_add(o, "promoted_at", json_object_new_int64(c->promoted_at));
	struct json_object *rej = json_object_new_array();
	for (size_t i = 0; i < REJECTED_KEPT; i++)
		if (c->rejected[i])
			json_object_array_add(rej, json_object_new_uint64(c->rejected[i]));
	json_object_object_add(o, "rejected", rej);
	if (c->cand.phase != P_NONE && c->cand.phase != P_VALIDATING) {
		struct json_object *k = json_object_new_object();
		json_object_object_add(k, "version", json_object_new_uint64(c->cand.version));
		json_object_object_add(k, "installed", json_object_new_int64(c->cand.installed));
		json_object_object_add(k, "not_before", json_object_new_int64(c->cand.not_before));
		json_object_object_add(k, "expires", json_object_new_uint64(c->cand.expires));
		json_object_object_add(o, "candidate", k);
	}
	json_object_object_add(o, "last", json_object_new_string(c->last));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	struct job *j = calloc(1, sizeof(*j));
	if (j && (j->data = strdup(s))) {
		j->kind = J_WRITE;
		j->len = strlen(s);
		snprintf(j->path, sizeof(j->path), "%s/state.json", c->m->content_dir);
		submit(j);
	} else {
		free(j);
		log_warnx("content %s: out of memory saving the state", c->m->name);
	}
	json_object_put(o);
}

static uint64_t get_u64(struct json_object *o, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int) ?
		       json_object_get_uint64(v) : 0;
}

static void load_state(struct cclient *c)
{
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/state.json", c->m->content_dir);
	uint8_t *buf = NULL;
	size_t len;
	int r = file_read_all(path, STATE_FILE_MAX, &buf, &len);
	if (r == -ENOENT)
		return;
	struct json_object *o = r ? NULL : json_tokener_parse((const char *)buf);
	free(buf);
	if (!o || !json_object_is_type(o, json_type_object) || get_u64(o, "format") != 1) {
		log_warnx("content %s: %s is unreadable or malformed: starting without content", c->m->name, path);
		snprintf(c->last, sizeof(c->last), "state file unreadable: started without content");
		json_object_put(o);
		return;
	}
	struct json_object *v;
	c->active = get_u64(o, "active");
	c->has_lkg = json_object_object_get_ex(o, "last_known_good", &v);
	c->lkg = get_u64(o, "last_known_good");
	c->pinned = get_u64(o, "pinned");
	c->paused = json_object_object_get_ex(o, "paused", &v) && json_object_get_boolean(v);
	c->highest = get_u64(o, "highest");
	c->promoted_at = (int64_t)get_u64(o, "promoted_at");
	if (json_object_object_get_ex(o, "highest_channel", &v) && json_object_is_type(v, json_type_string))
		snprintf(c->highest_channel, sizeof(c->highest_channel), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(o, "rejected", &v) && json_object_is_type(v, json_type_array))
		for (size_t i = 0; i < REJECTED_KEPT && i < json_object_array_length(v); i++)
			c->rejected[i] = json_object_get_uint64(json_object_array_get_idx(v, i));
	if (json_object_object_get_ex(o, "last", &v) && json_object_is_type(v, json_type_string))
		snprintf(c->last, sizeof(c->last), "%s", json_object_get_string(v));
	struct json_object *k;
	if (json_object_object_get_ex(o, "candidate", &k) && json_object_is_type(k, json_type_object)) {
		c->cand.version = get_u64(k, "version");
		c->cand.installed = (int64_t)get_u64(k, "installed");
		c->cand.not_before = (int64_t)get_u64(k, "not_before");
		c->cand.expires = get_u64(k, "expires");
		/* a bake does not survive wardd: it starts again */
		c->cand.phase = c->cand.version ? P_WAITING : P_NONE;
	}
	json_object_put(o);
	/* what the state names must be there */
	struct stat st;
	uint64_t *vs[] = {&c->active, &c->lkg, &c->cand.version};
	for (size_t i = 0; i < 3; i++) {
		if (!*vs[i])
			continue;
		payload_path(c, *vs[i], path, sizeof(path));
		if (stat(path, &st) == 0)
			continue;
		log_warnx("content %s: %s is missing", c->m->name, path);
		snprintf(c->last, sizeof(c->last), "payload of version %" PRIu64 " missing: not used", *vs[i]);
		*vs[i] = 0;
	}
	if (!c->cand.version)
		c->cand.phase = P_NONE;
}

/* The root of trust: the manifest's file, or the newer root a rotation left. */
static void load_root(struct cclient *c)
{
	char sigpath[PATH_MAX + 16];
	const char *paths[2] = {c->m->content.trust, NULL};
	char rotated[PATH_MAX + 16];
	snprintf(rotated, sizeof(rotated), "%s/root", c->m->content_dir);
	paths[1] = rotated;
	for (int i = 0; i < 2; i++) {
		uint8_t *buf = NULL, *sig = NULL;
		size_t len, siglen;
		snprintf(sigpath, sizeof(sigpath), "%s.minisig", paths[i]);
		int r = file_read_all(paths[i], TRUST_FILE_MAX, &buf, &len);
		if (!r)
			r = file_read_all(sigpath, SIG_FILE_MAX, &sig, &siglen);
		struct trust_root t;
		char err[300];
		if (r) {
			if (i == 0)
				snprintf(c->root_err, sizeof(c->root_err), "%.200s: %s", buf ? sigpath : paths[i],
					 r == -EFBIG ? "too big" : strerror(-r));
		} else if (trust_check_initial(buf, len, (const char *)sig, siglen, now_real(), &t, err, sizeof(err)) !=
			   BR_OK) {
			if (i == 0)
				snprintf(c->root_err, sizeof(c->root_err), "%s", err);
			else
				log_warnx("content %s: rotated root %s ignored: %s", c->m->name, rotated, err);
		} else if (!c->root_ok || t.version > c->root.version) {
			c->root = t;
			c->root_ok = 1;
			c->root_err[0] = '\0';
		}
		free(buf);
		free(sig);
	}
	if (!c->root_ok)
		log_warnx("content %s: no root of trust: %s", c->m->name, c->root_err);
}

/* ---- events ---- */

static void emit(struct cclient *c, const char *action, uint64_t version, uint64_t from, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void emit(struct cclient *c, const char *action, uint64_t version, uint64_t from, const char *fmt, ...)
{
	char reason[CONTENT_REASON_MAX + 160] = "";
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(reason, sizeof(reason), fmt, ap);
		va_end(ap);
	}
	snprintf(c->last, sizeof(c->last), "%s v%" PRIu64 "%s%s", action, version, reason[0] ? ": " : "", reason);
	log_info("content %s: %s", c->m->name, c->last);
	if (!((broker_mask() >> WARD_EV_CONTENT) & 1))
		return;
	static _Alignas(8) uint8_t buf[4096];
	struct ward_rec_builder b;
	ward_rb_init(&b, buf, sizeof(buf), WARD_EV_CONTENT);
	ward_rb_str(&b, WARD_F_NAME, c->m->name, strlen(c->m->name));
	ward_rb_str(&b, WARD_F_STATE, action, strlen(action));
	ward_rb_u64(&b, WARD_F_VERSION, version);
	ward_rb_u64(&b, WARD_F_FROM_VERSION, from);
	ward_rb_str(&b, WARD_F_CHANNEL, c->m->content.channel, strlen(c->m->content.channel));
	if (reason[0])
		ward_rb_str(&b, WARD_F_REASON, reason, strnlen(reason, 400));
	size_t n = ward_rb_finish(&b);
	if (!n)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	pipeline_stamp(buf, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
	broker_deliver(WARD_EV_CONTENT, buf, n);
}

/* ---- the life of a candidate ---- */

static void clear_candidate(struct cclient *c)
{
	uint64_t v = c->cand.version;
	if (c->cand.phase == P_SHADOW)
		supervisor_stop_instance(c->m->name, CONTENT_SHADOW);
	if (c->cand.phase == P_VALIDATING)
		supervisor_stop_instance(c->m->name, CONTENT_VALIDATE);
	memset(&c->cand, 0, sizeof(c->cand));
	memset(&c->g, 0, sizeof(c->g));
	c->waiting_why[0] = '\0';
	prune(c, v);
}

/* Remember @v among the rejected versions, newest first. */
static void remember_rejected(struct cclient *c, uint64_t v)
{
	memmove(c->rejected + 1, c->rejected, (REJECTED_KEPT - 1) * sizeof(c->rejected[0]));
	c->rejected[0] = v;
}

/* A bake in progress stops and its candidate waits (a pin, a pause). */
static void hold(struct cclient *c)
{
	if (c->cand.phase == P_SHADOW) {
		supervisor_stop_instance(c->m->name, CONTENT_SHADOW);
		c->cand.phase = P_WAITING;
	}
}

static void reject(struct cclient *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reject(struct cclient *c, const char *fmt, ...)
{
	char why[CONTENT_REASON_MAX + 100];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	uint64_t v = c->cand.version;
	remember_rejected(c, v);
	clear_candidate(c);
	emit(c, "rejected", v, c->active, "%s", why);
	log_warnx("content %s: version %" PRIu64 " rejected: %s", c->m->name, v, why);
	save(c);
}

/* Make @version active, with an event; the version it replaces goes
 * unless it is still in use.  The caller restarts the instance and saves. */
static void activate(struct cclient *c, uint64_t version, const char *action, const char *why)
{
	uint64_t from = c->active;
	c->active = version;
	emit(c, action, version, from, "%s", why);
	prune(c, from);
}

/* The active version becomes last-known-good; the one before goes. */
static void keep_active_as_lkg(struct cclient *c)
{
	uint64_t old = c->has_lkg ? c->lkg : 0;
	c->lkg = c->active;
	c->has_lkg = 1;
	prune(c, old);
}

static void promote(struct cclient *c, const char *why)
{
	uint64_t v = c->cand.version;
	if (c->cand.phase == P_SHADOW)
		supervisor_stop_instance(c->m->name, CONTENT_SHADOW);
	memset(&c->cand, 0, sizeof(c->cand));
	memset(&c->g, 0, sizeof(c->g));
	c->promoted_ms = now_ms();
	c->promoted_at = now_real();
	c->post_crashes = 0;
	keep_active_as_lkg(c);
	activate(c, v, "promoted", why);
	save(c);
	supervisor_replace_active(c->m->name, "content promoted");
}

static void rollback(struct cclient *c, const char *why)
{
	uint64_t bad = c->active, to = c->has_lkg ? c->lkg : 0;
	remember_rejected(c, bad);
	c->has_lkg = 0;
	c->lkg = 0;
	c->promoted_ms = 0;
	c->promoted_at = 0;
	c->post_crashes = 0;
	activate(c, to, "rolled_back", why);
	char to_s[32] = "no content";
	if (to)
		snprintf(to_s, sizeof(to_s), "v%" PRIu64, to);
	snprintf(c->last, sizeof(c->last), "rolled back from v%" PRIu64 " to %s: %.400s", bad, to_s, why);
	log_warnx("content %s: %s", c->m->name, c->last);
	save(c);
}

static void start_shadow(struct cclient *c)
{
	char err[256];
	int r = supervisor_start_instance(c->m->name, CONTENT_SHADOW, 0, err, sizeof(err));
	if (r) {
		snprintf(c->waiting_why, sizeof(c->waiting_why), "cannot start its shadow: %.120s", err);
		c->retry_ms = now_ms() + RETRY_MS;
		return;
	}
	/* the cgroups outlive a bake: what they used before is not this one's */
	struct cg_stats st;
	memset(&c->g, 0, sizeof(c->g));
	if (supervisor_instance_stats(c->m->name, CONTENT_ACTIVE, &st) == 0)
		c->g.act_cpu0 = st.cpu_usage_ns;
	if (supervisor_instance_stats(c->m->name, CONTENT_SHADOW, &st) == 0)
		c->g.sh_cpu0 = st.cpu_usage_ns;
	c->cand.phase = P_SHADOW;
	c->waiting_why[0] = '\0';
	c->bake_until_ms = now_ms() + (uint64_t)c->m->content.bake_s * 1000;
	emit(c, "shadow", c->cand.version, c->active, "baking for %u s beside v%" PRIu64, c->m->content.bake_s,
	     c->active);
}

/* The figures the gates compare, now: CPU since the bake began, memory
 * as the highest sampled (once a second; a cgroup's own peak would
 * include earlier bakes). */
static void measure(struct cclient *c)
{
	struct cg_stats st;
	c->g.sampled_ms = now_ms();
	if (supervisor_instance_stats(c->m->name, CONTENT_SHADOW, &st) == 0) {
		c->g.sh_cpu = st.cpu_usage_ns > c->g.sh_cpu0 ? st.cpu_usage_ns - c->g.sh_cpu0 : 0;
		if (st.memory_bytes > c->g.sh_peak)
			c->g.sh_peak = st.memory_bytes;
	}
	if (supervisor_instance_stats(c->m->name, CONTENT_ACTIVE, &st) == 0) {
		c->g.act_cpu = st.cpu_usage_ns > c->g.act_cpu0 ? st.cpu_usage_ns - c->g.act_cpu0 : 0;
		if (st.memory_bytes > c->g.act_peak)
			c->g.act_peak = st.memory_bytes;
	}
}

/* The bake is over: every gate, or the first one failed. */
static void judge(struct cclient *c)
{
	const typeof(c->m->content.gates) *gt = &c->m->content.gates;
	measure(c);
	if (c->g.compared && c->g.differ * 100 > (uint64_t)gt->divergence_percent * c->g.compared) {
		reject(c, "its verdicts differ from the active content's on %" PRIu64 " of %" PRIu64
		       " requests (%.1f%%, gate %u%%); %" PRIu64 " denied what the active content allowed",
		       c->g.differ, c->g.compared, 100.0 * (double)c->g.differ / (double)c->g.compared,
		       gt->divergence_percent, c->g.denied_allowed);
		return;
	}
	uint64_t slack = CPU_SLACK_NS + CPU_SLACK_NS_PER_S * c->m->content.bake_s;
	uint64_t cpu_limit = c->g.act_cpu * gt->cpu_percent / 100 + slack;
	if (c->g.sh_cpu > cpu_limit) {
		reject(c, "its CPU time was %" PRIu64 " ms against the active's %" PRIu64 " ms (gate %u%% + %" PRIu64 " ms)",
		       c->g.sh_cpu / 1000000, c->g.act_cpu / 1000000, gt->cpu_percent,
		       slack / 1000000);
		return;
	}
	if (c->g.act_peak && c->g.sh_peak > c->g.act_peak * gt->memory_percent / 100 + MEMORY_SLACK) {
		reject(c, "its memory peaked at %" PRIu64 " KiB against the active's %" PRIu64 " KiB (gate %u%% + 16 MiB)",
		       c->g.sh_peak >> 10, c->g.act_peak >> 10, gt->memory_percent);
		return;
	}
	char why[200];
	snprintf(why, sizeof(why), "passed its gates over %u s: %" PRIu64 " requests compared, %" PRIu64
		 " differed, %" PRIu64 " deadlines missed, %" PRIu64 " crashes", c->m->content.bake_s, c->g.compared,
		 c->g.differ, c->g.misses, c->g.crashes);
	promote(c, why);
}

static void advance(struct cclient *c, uint64_t now)
{
	if (c->cand.phase == P_WAITING) {
		if (c->paused)
			snprintf(c->waiting_why, sizeof(c->waiting_why), "rollouts paused");
		else if (c->pinned)
			snprintf(c->waiting_why, sizeof(c->waiting_why), "pinned to v%" PRIu64, c->pinned);
		else if (now_real() < c->cand.not_before)
			snprintf(c->waiting_why, sizeof(c->waiting_why), "held back for %" PRId64 " s more",
				 c->cand.not_before - now_real());
		else if (now >= c->retry_ms)
			start_shadow(c);
		return;
	}
	if (c->cand.phase != P_SHADOW)
		return;
	const typeof(c->m->content.gates) *gt = &c->m->content.gates;
	if (c->g.misses > gt->deadline_misses) {
		reject(c, "its shadow missed %" PRIu64 " deadlines (gate %u)", c->g.misses, gt->deadline_misses);
		return;
	}
	if (now >= c->bake_until_ms)
		judge(c);
	else if (now - c->g.sampled_ms >= 1000)
		measure(c);
}

/* ---- news from the supervisor and auth.c ---- */

int content_env(const char *name, enum content_role role, char env[][512], size_t n)
{
	struct cclient *c = find(name);
	if (!c || n < 4)
		return 0;
	uint64_t v = role == CONTENT_ACTIVE ? c->active : c->cand.version;
	if (!v)
		return 0;
	static const char *const modes[] = {"active", "shadow", "validate"};
	char path[PATH_MAX];
	payload_path(c, v, path, sizeof(path));
	snprintf(env[0], 512, "WARD_CONTENT_MODE=%s", modes[role]);
	if (snprintf(env[1], 512, "WARD_CONTENT_FILE=%s", path) >= 512)
		return 0; /* cannot happen: content_dir is checked at start */
	snprintf(env[2], 512, "WARD_CONTENT_VERSION=%" PRIu64, v);
	snprintf(env[3], 512, "WARD_CONTENT_CHANNEL=%s", c->m->content.channel);
	return 4;
}

void content_validated(const char *name, int accepted, const char *reason)
{
	struct cclient *c = find(name);
	if (!c || c->cand.phase != P_VALIDATING)
		return;
	if (!accepted) {
		reject(c, "the client's own parser rejected it: %s", reason);
		return;
	}
	c->highest = c->cand.version;
	snprintf(c->highest_channel, sizeof(c->highest_channel), "%s", c->m->content.channel);
	c->cand.phase = P_WAITING;
	c->retry_ms = 0;
	emit(c, "validated", c->cand.version, c->active, "%s", reason);
	save(c);
	advance(c, now_ms());
}

void content_shadow_exited(const char *name, const char *what)
{
	struct cclient *c = find(name);
	if (!c || c->cand.phase != P_SHADOW)
		return;
	c->g.crashes++;
	snprintf(c->g.crash_what, sizeof(c->g.crash_what), "%s", what);
	if (c->g.crashes > c->m->content.gates.crashes) {
		reject(c, "its shadow crashed (%s); gate: %u crashes", what, c->m->content.gates.crashes);
		return;
	}
	char err[256];
	if (supervisor_start_instance(name, CONTENT_SHADOW, 0, err, sizeof(err)))
		reject(c, "its shadow crashed (%s) and cannot start again: %s", what, err);
}

int content_active_crashed(const char *name, const char *what)
{
	struct cclient *c = find(name);
	if (!c || !c->active || !c->promoted_ms ||
	    now_ms() - c->promoted_ms > (uint64_t)c->m->content.rollback.window_s * 1000)
		return 0;
	if (++c->post_crashes < c->m->content.rollback.crashes)
		return 0;
	char why[CONTENT_REASON_MAX];
	snprintf(why, sizeof(why), "%u crashes within %u s of its promotion (last: %s)", c->post_crashes,
		 c->m->content.rollback.window_s, what);
	rollback(c, why);
	return 1;
}

void content_shadow_verdict(const char *name, int missed, uint32_t active_verdict, uint32_t shadow_verdict)
{
	struct cclient *c = find(name);
	if (!c || c->cand.phase != P_SHADOW)
		return;
	if (missed) {
		c->g.misses++;
		return;
	}
	c->g.compared++;
	if (active_verdict != shadow_verdict)
		c->g.differ++;
	if (shadow_verdict == WARD_VERDICT_DENY && active_verdict == WARD_VERDICT_ALLOW)
		c->g.denied_allowed++;
}

/* ---- requests (`ward content ...`) ---- */

static void answer(uint32_t conn, struct json_object *o)
{
	broker_content_reply(conn, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
								     JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void answer_error(uint32_t conn, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void answer_error(uint32_t conn, const char *code, const char *fmt, ...)
{
	char msg[700];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(code));
	json_object_object_add(o, "message", json_object_new_string(msg));
	answer(conn, o);
}

/* A success: @fmt's message and the status of client @only (NULL: all). */
static struct json_object *ok_reply(const char *only, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static struct json_object *ok_reply(const char *only, const char *fmt, ...)
{
	char msg[600] = "";
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "message", json_object_new_string(msg));
	content_status(o, only);
	return o;
}

static const char *str_of(struct json_object *req, const char *key)
{
	struct json_object *v;
	return json_object_object_get_ex(req, key, &v) && json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) : NULL;
}

static void on_install(uint32_t conn, struct cclient *c, struct json_object *req)
{
	const char *bundle = str_of(req, "bundle"), *sig = str_of(req, "signature");
	if (!bundle || bundle[0] != '/' || (sig && sig[0] != '/')) {
		answer_error(conn, "malformed", "install needs \"bundle\" (and may have \"signature\"): absolute paths");
		return;
	}
	if (!C.running) {
		answer_error(conn, "internal", "wardd's content worker is not running (see its log)");
		return;
	}
	if (!c->root_ok) {
		answer_error(conn, "no_root", "%s has no valid root of trust: %s", c->m->name, c->root_err);
		return;
	}
	if (c->busy || c->cand.phase == P_VALIDATING) {
		answer_error(conn, "busy", "%s: version %" PRIu64 " is being %s; try again when it is done", c->m->name,
			     c->cand.version, c->busy ? "checked" : "validated");
		return;
	}
	struct job *j = calloc(1, sizeof(*j));
	if (!j) {
		answer_error(conn, "internal", "out of memory");
		return;
	}
	j->kind = J_INSTALL;
	j->idx = (size_t)(c - C.c);
	j->conn = conn;
	snprintf(j->path, sizeof(j->path), "%s", bundle);
	if (sig)
		snprintf(j->sigpath, sizeof(j->sigpath), "%s", sig);
	else
		snprintf(j->sigpath, sizeof(j->sigpath), "%s.minisig", bundle);
	snprintf(j->dir, sizeof(j->dir), "%s", c->m->content_dir);
	j->root = c->root;
	snprintf(j->client, sizeof(j->client), "%s", c->m->name);
	snprintf(j->channel, sizeof(j->channel), "%s", c->m->content.channel);
	/* the version only ever increases on a channel; a channel the
	 * client was never on starts from nothing */
	j->highest = strcmp(c->highest_channel, c->m->content.channel) ? 0 : c->highest;
	if (c->active > j->highest && !strcmp(c->highest_channel, c->m->content.channel))
		j->highest = c->active;
	j->max = c->m->content.max_bytes;
	j->now = now_real();
	struct json_object *v;
	j->delay_s = json_object_object_get_ex(req, "delay_s", &v) && json_object_is_type(v, json_type_int) &&
			     json_object_get_int64(v) >= 0 ?
		     json_object_get_int64(v) : -1;
	c->busy = 1;
	submit(j);
}

static void installed(struct job *j)
{
	struct cclient *c = &C.c[j->idx];
	c->busy = 0;
	if (j->refusal != BR_OK) {
		/* nothing changed; said to the operator and to subscribers */
		const char *code = bundle_refusal_name(j->refusal);
		emit(c, "refused", j->meta.version, c->active, "%s: %s", code, j->err);
		answer_error(j->conn, code, "%s", j->err);
		return;
	}
	if (j->is_root) {
		uint64_t from = c->root.version;
		c->root = j->newroot;
		emit(c, "root_rotated", c->root.version, from, "%u keys, threshold %u", c->root.nkeys, c->root.threshold);
		answer(j->conn, ok_reply(c->m->name, "root of trust rotated from version %" PRIu64 " to %" PRIu64, from,
					 c->root.version));
		return;
	}
	if (c->cand.phase != P_NONE) {
		uint64_t old = c->cand.version;
		clear_candidate(c);
		emit(c, "superseded", old, c->active, "by version %" PRIu64, j->meta.version);
	}
	c->cand.version = j->meta.version;
	c->cand.installed = now_real();
	c->cand.expires = (uint64_t)j->meta.expires;
	c->cand.not_before = c->cand.installed + (j->delay_s >= 0 ? j->delay_s : (int64_t)c->m->content.delay_s);
	c->cand.phase = P_VALIDATING;
	emit(c, "installed", c->cand.version, c->active, "signed by %u of the root's keys; validating", c->root.threshold);
	char err[256];
	if (supervisor_start_instance(c->m->name, CONTENT_VALIDATE, c->m->content.validate_timeout_ms, err,
				      sizeof(err))) {
		reject(c, "its validator cannot start: %s", err);
		answer_error(j->conn, "validator", "version %" PRIu64 ": its validator cannot start: %s", j->meta.version,
			     err);
		return;
	}
	answer(j->conn, ok_reply(c->m->name, "version %" PRIu64 " accepted; the client's own parser is checking it",
				 j->meta.version));
}

static uint64_t version_of(struct json_object *req, int *ok)
{
	struct json_object *v;
	*ok = json_object_object_get_ex(req, "version", &v) && json_object_is_type(v, json_type_int) &&
	      json_object_get_int64(v) >= 0;
	return *ok ? (uint64_t)json_object_get_int64(v) : 0;
}

void content_request(uint32_t conn, const char *json, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *req = tok ? json_tokener_parse_ex(tok, json, (int)len) : NULL;
	int complete = tok && json_tokener_get_error(tok) == json_tokener_success;
	json_tokener_free(tok);
	const char *op = req && complete && json_object_is_type(req, json_type_object) ? str_of(req, "op") : NULL;
	if (!op) {
		answer_error(conn, "malformed", "a content request is a JSON object with \"op\"");
		json_object_put(req);
		return;
	}
	const char *name = str_of(req, "client");
	struct cclient *c = name ? find(name) : NULL;
	if (!strcmp(op, "status")) {
		if (name && !c)
			answer_error(conn, "no_client", "no client %s takes content", name);
		else
			answer(conn, ok_reply(name, "%s", ""));
		json_object_put(req);
		return;
	}
	if (!c) {
		answer_error(conn, "no_client", "%s%s%s", name ? "no client " : "the request names no \"client\"",
			     name ? name : "", name ? " takes content (its manifest has no content.trust)" : "");
		json_object_put(req);
		return;
	}
	int ok;
	uint64_t v;
	if (!strcmp(op, "install")) {
		on_install(conn, c, req);
	} else if (!strcmp(op, "promote")) {
		if (c->cand.phase != P_WAITING && c->cand.phase != P_SHADOW)
			answer_error(conn, "no_candidate", "%s has no validated candidate to promote", name);
		else if (c->pinned)
			answer_error(conn, "pinned", "%s is pinned to v%" PRIu64 ": unpin it first", name, c->pinned);
		else {
			v = c->cand.version;
			promote(c, "promoted by the operator");
			answer(conn, ok_reply(c->m->name, "version %" PRIu64 " promoted", v));
		}
	} else if (!strcmp(op, "rollback")) {
		if (!c->has_lkg)
			answer_error(conn, "no_lkg", "%s has no last-known-good content to roll back to", name);
		else if (c->pinned)
			answer_error(conn, "pinned", "%s is pinned to v%" PRIu64 ": unpin it first", name, c->pinned);
		else {
			v = c->active;
			rollback(c, "by the operator");
			supervisor_replace_active(c->m->name, "content rolled back");
			answer(conn, ok_reply(c->m->name, "version %" PRIu64 " rolled back", v));
		}
	} else if (!strcmp(op, "pin")) {
		v = version_of(req, &ok);
		if (!ok) {
			answer_error(conn, "malformed", "pin needs \"version\" (0 to unpin)");
		} else if (v && v != c->active && !(c->has_lkg && v == c->lkg)) {
			answer_error(conn, "no_version", "%s has no version %" PRIu64 " to pin (active v%" PRIu64 "%s)", name,
				     v, c->active, c->has_lkg ? ", or its last-known-good" : "");
		} else {
			c->pinned = v;
			if (v)
				hold(c);
			if (v && v != c->active) {
				/* the last-known-good: the two change places */
				c->lkg = c->active;
				c->has_lkg = 1;
				activate(c, v, "pinned", "by the operator");
				supervisor_replace_active(c->m->name, "content pinned");
			} else {
				emit(c, v ? "pinned" : "unpinned", v ? v : c->active, c->active, "by the operator");
			}
			save(c);
			if (v)
				answer(conn, ok_reply(c->m->name, "pinned to version %" PRIu64, v));
			else
				answer(conn, ok_reply(c->m->name, "unpinned"));
		}
	} else if (!strcmp(op, "pause") || !strcmp(op, "resume")) {
		c->paused = !strcmp(op, "pause");
		if (c->paused)
			hold(c);
		emit(c, c->paused ? "paused" : "resumed", c->active, c->active, "by the operator");
		save(c);
		answer(conn, ok_reply(c->m->name, "rollouts %s", c->paused ? "paused" : "resumed"));
	} else {
		answer_error(conn, "malformed", "unknown op \"%.40s\" (status, install, promote, rollback, pin, pause, resume)",
			     op);
	}
	json_object_put(req);
}

/* ---- status ---- */

void content_status(struct json_object *o, const char *only)
{
	struct json_object *arr = json_object_new_array();
	uint64_t now = now_ms();
	for (size_t i = 0; i < C.n; i++) {
		struct cclient *c = &C.c[i];
		if (only && strcmp(only, c->m->name))
			continue;
		struct json_object *j = json_object_new_object();
		json_object_object_add(j, "name", json_object_new_string(c->m->name));
		json_object_object_add(j, "channel", json_object_new_string(c->m->content.channel));
		if (c->root_ok) {
			struct json_object *r = json_object_new_object();
			char t[BUNDLE_TIME_LEN + 1];
			bundle_time_format(c->root.expires, t);
			json_object_object_add(r, "version", json_object_new_uint64(c->root.version));
			json_object_object_add(r, "keys", json_object_new_int((int)c->root.nkeys));
			json_object_object_add(r, "threshold", json_object_new_int((int)c->root.threshold));
			json_object_object_add(r, "expires", json_object_new_string(t));
			json_object_object_add(j, "root", r);
		} else {
			json_object_object_add(j, "root_error", json_object_new_string(c->root_err));
		}
		json_object_object_add(j, "active", json_object_new_uint64(c->active));
		if (c->has_lkg)
			json_object_object_add(j, "last_known_good", json_object_new_uint64(c->lkg));
		json_object_object_add(j, "pinned", json_object_new_uint64(c->pinned));
		json_object_object_add(j, "paused", json_object_new_boolean(c->paused));
		json_object_object_add(j, "highest", json_object_new_uint64(c->highest));
		if (c->promoted_ms) {
			uint64_t left = c->promoted_ms + (uint64_t)c->m->content.rollback.window_s * 1000;
			json_object_object_add(j, "rollback_watch_s", json_object_new_uint64(left > now ? (left - now) / 1000 : 0));
			json_object_object_add(j, "crashes_since_promotion", json_object_new_uint64(c->post_crashes));
		}
		if (c->cand.phase != P_NONE || c->busy) {
			struct json_object *k = json_object_new_object();
			json_object_object_add(k, "version", json_object_new_uint64(c->cand.version));
			json_object_object_add(k, "phase", json_object_new_string(c->busy ? "checking" : phase_names[c->cand.phase]));
			if (c->waiting_why[0] && c->cand.phase == P_WAITING)
				json_object_object_add(k, "waiting_for", json_object_new_string(c->waiting_why));
			if (c->cand.phase == P_SHADOW) {
				measure(c);
				json_object_object_add(k, "bake_left_s", json_object_new_uint64(
					c->bake_until_ms > now ? (c->bake_until_ms - now + 999) / 1000 : 0));
				struct json_object *g = json_object_new_object();
				json_object_object_add(g, "crashes", json_object_new_uint64(c->g.crashes));
				json_object_object_add(g, "deadline_misses", json_object_new_uint64(c->g.misses));
				json_object_object_add(g, "compared", json_object_new_uint64(c->g.compared));
				json_object_object_add(g, "differ", json_object_new_uint64(c->g.differ));
				json_object_object_add(g, "denied_what_active_allowed", json_object_new_uint64(c->g.denied_allowed));
				json_object_object_add(g, "cpu_ns", json_object_new_uint64(c->g.sh_cpu));
				json_object_object_add(g, "active_cpu_ns", json_object_new_uint64(c->g.act_cpu));
				json_object_object_add(g, "memory_peak", json_object_new_uint64(c->g.sh_peak));
				json_object_object_add(g, "active_memory_peak", json_object_new_uint64(c->g.act_peak));
				json_object_object_add(k, "gates", g);
			}
			json_object_object_add(j, "candidate", k);
		}
		struct json_object *rej = json_object_new_array();
		for (size_t r = 0; r < REJECTED_KEPT; r++)
			if (c->rejected[r])
				json_object_array_add(rej, json_object_new_uint64(c->rejected[r]));
		json_object_object_add(j, "rejected", rej);
		if (c->last[0])
			json_object_object_add(j, "last", json_object_new_string(c->last));
		json_object_array_add(arr, j);
	}
	json_object_object_add(o, "content", arr);
}

/* ---- set-up, loop ---- */

void content_load(const struct ward_manifest *m)
{
	if (C.n >= CLIENTS_MAX || find(m->name))
		return;
	struct cclient *c = &C.c[C.n++];
	memset(c, 0, sizeof(*c));
	c->m = m;
	load_root(c);
	load_state(c);
}

int content_init(int epfd)
{
	C.epfd = epfd;
	if (pipe2(C.pipe, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &C.tag};
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, C.pipe[0], &ev))
		return -errno;
	int r = pthread_create(&C.thread, NULL, worker, NULL);
	if (r)
		return -r;
	C.running = 1;
	return 0;
}

int content_owns(const void *tag)
{
	return tag == &C.tag;
}

void content_on_event(void *tag, uint32_t events)
{
	(void)tag;
	(void)events;
	char b[64];
	while (read(C.pipe[0], b, sizeof(b)) > 0)
		;
	pthread_mutex_lock(&C.mu);
	struct job *done = C.done;
	C.done = NULL;
	pthread_mutex_unlock(&C.mu);
	while (done) {
		struct job *next = done->next;
		installed(done);
		free(done);
		done = next;
	}
}

void content_tick(void)
{
	/* delays, bakes and gates are seconds long: ten looks a second do,
	 * however busy the loop is */
	static uint64_t last;
	uint64_t now = C.n ? now_ms() : 0;
	if (!C.n || now - last < TICK_MS)
		return;
	last = now;
	for (size_t i = 0; i < C.n; i++)
		advance(&C.c[i], now);
}

void content_stop(void)
{
	if (C.running) {
		pthread_mutex_lock(&C.mu);
		C.stopping = 1;
		pthread_cond_signal(&C.cv);
		pthread_mutex_unlock(&C.mu);
		pthread_join(C.thread, NULL); /* the state writes queued are done first */
		C.running = 0;
	}
	while (C.done) {
		struct job *next = C.done->next;
		free(C.done);
		C.done = next;
	}
	if (C.pipe[0] >= 0) {
		epoll_ctl(C.epfd, EPOLL_CTL_DEL, C.pipe[0], NULL);
		close(C.pipe[0]);
		close(C.pipe[1]);
		C.pipe[0] = C.pipe[1] = -1;
	}
	C.n = 0;
}
