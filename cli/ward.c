/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ward.c — the `ward` command, a libward client:
 *   ward events [--type T,...]   stream events as JSON, one object per line
 *   ward status [--json]         show wardd's status
 *   ward content SUBCOMMAND      signed content bundles (content.c)
 * It uses only the public API (ward.h), as any other client would.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>
#include <ward/ward.h>

#include "content.h"
#include "cli_json.h"
#include "names.h"

#ifndef WARD_VERSION
#define WARD_VERSION "unknown"
#endif

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define WAIT_MS 1000 /* bounds how long a signal can go unnoticed */

/* The key under which each type's own fields appear (the "process" object
 * holds the acting process).  Part of the JSON format, so it lives here and
 * not in the library. */
static const char *const object_names[WARD_EV_MAX_] = {
	[WARD_EV_FORK] = "child",
	[WARD_EV_EXEC] = "exec",
	[WARD_EV_EXIT] = "exit",
	[WARD_EV_OPEN] = "file",
	[WARD_EV_CREATE] = "file",
	[WARD_EV_UNLINK] = "file",
	[WARD_EV_RENAME] = "file",
	[WARD_EV_CHMOD] = "file",
	[WARD_EV_CHOWN] = "file",
	[WARD_EV_TRUNCATE] = "file",
	[WARD_EV_LINK] = "file",
	[WARD_EV_SYMLINK] = "file",
	[WARD_EV_CONNECT] = "net",
	[WARD_EV_BIND] = "net",
	[WARD_EV_LISTEN] = "net",
	[WARD_EV_ACCEPT] = "net",
	[WARD_EV_SETUID] = "cred",
	[WARD_EV_CAPSET] = "cred",
	[WARD_EV_PTRACE] = "target",
	[WARD_EV_SIGNAL] = "target",
	[WARD_EV_MODULE_LOAD] = "module",
	[WARD_EV_BPF] = "bpf",
	[WARD_EV_MOUNT] = "mount",
	[WARD_EV_UMOUNT] = "mount",
	[WARD_EV_MEMFD_CREATE] = "memfd",
	[WARD_EV_AUTH_EXEC] = "file",
	[WARD_EV_AUTH_OPEN] = "file",
	[WARD_EV_AUTH_CONNECT] = "net",
	[WARD_EV_AUTH_BIND] = "net",
	[WARD_EV_CLIENT_STATE] = "client",
	[WARD_EV_TAMPER] = "tamper",
	[WARD_EV_CONTENT] = "content",
};

/* The decision of an AUTH event goes under "auth", not the type's object. */
static bool is_decision_field(uint32_t f)
{
	switch (f) {
	case WARD_F_AUTH_ID: case WARD_F_DEADLINE: case WARD_F_VERDICT: case WARD_F_DECIDED_BY:
	case WARD_F_REASON: case WARD_F_LATENCY_NS: case WARD_F_RULE_ID: case WARD_F_RULE_CLIENT:
		return true;
	default:
		return false;
	}
}

static volatile sig_atomic_t stop_requested;

static void usage(FILE *f)
{
	fputs("Usage: ward COMMAND [OPTIONS]\n"
	      "\n"
	      "Commands:\n"
	      "  events [--type TYPE,...]  print events as JSON, one object per line\n"
	      "  status [--json]           show the state of wardd\n"
	      "  clients [--json]          show each supervised client: state, restarts,\n"
	      "                            deadline misses, CPU, memory, drops\n"
	      "  content SUBCOMMAND ...    sign, verify and install content bundles; roots\n"
	      "                            of trust; rollouts (ward content --help)\n"
	      "\n"
	      "Options:\n"
	      "  -h, --help                show this help\n"
	      "  -V, --version             show the version\n", f);
}

static void list_types(FILE *f)
{
	fputs("valid types:", f);
	for (uint32_t t = 1; t < WARD_EV_MAX_; t++)
		fprintf(f, "%s %s", t > 1 ? "," : "", ward_event_type_name(t));
	fputc('\n', f);
}

/* ---- JSON values ---- */

/* A JSON string from bytes the kernel reported.  Paths and arguments need
 * not be UTF-8, but JSON text must be: bad bytes become U+FFFD. */
static json_object *json_text(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;
	while (i < n && (k = ward_utf8_len(u + i, n - i)))
		i += k;
	if (i == n)
		return json_object_new_string_len(s, (int)n);
	char *buf = malloc(n * 3 + 1);
	if (!buf)
		return NULL;
	size_t o = 0;
	for (i = 0; i < n; i += k) {
		k = ward_utf8_len(u + i, n - i);
		if (k) {
			memcpy(buf + o, s + i, k);
			o += k;
		} else {
			memcpy(buf + o, "\xef\xbf\xbd", 3);
			o += 3;
			k = 1;
		}
	}
	json_object *j = json_object_new_string_len(buf, (int)o);
	free(buf);
	return j;
}

static json_object *json_strv(const char *s, size_t len)
{
	json_object *a = json_object_new_array();
	for (const char *p = s, *end = s + len; p < end;) {
		size_t l = strnlen(p, (size_t)(end - p));
		json_object_array_add(a, json_text(p, l));
		p += l + 1;
	}
	return a;
}

/* The value of field @f as JSON into *out; -ENOENT if the event lacks it. */
static int field_json(const ward_event *ev, uint32_t f, json_object **out)
{
	uint64_t u;
	int64_t i;
	const char *s;
	size_t len;
	int r;
	switch (ward_field_kind(f)) {
	case WARD_KIND_U64:
		if ((r = ward_event_u64(ev, f, &u)) == 0)
			*out = json_object_new_uint64(u);
		return r;
	case WARD_KIND_I64:
		if ((r = ward_event_i64(ev, f, &i)) == 0)
			*out = json_object_new_int64(i);
		return r;
	case WARD_KIND_STR:
		if ((r = ward_event_str(ev, f, &s, &len)) == 0)
			*out = json_text(s, len - 1); /* len counts the NUL */
		return r;
	case WARD_KIND_STRV:
		if ((r = ward_event_str(ev, f, &s, &len)) == 0)
			*out = json_strv(s, len);
		return r;
	default:
		return -ENOENT;
	}
}

/* Which fields @ev has: one walk, rather than a lookup per field number. */
static void fields_present(const ward_event *ev, bool present[WARD_F_MAX_])
{
	uint32_t f;
	memset(present, 0, WARD_F_MAX_ * sizeof(bool));
	for (unsigned i = 0; (f = ward_event_field_at(ev, i)) != 0; i++)
		if (f < WARD_F_MAX_)
			present[f] = true;
}

/* Every field of @ev with ward_field_is_process() == @process, by number. */
static json_object *fields_json(const ward_event *ev, const bool present[WARD_F_MAX_], int process)
{
	json_object *o = json_object_new_object();
	for (uint32_t f = 1; f < WARD_F_MAX_; f++) {
		json_object *v;
		if (ward_field_is_process(f) != process || (present[WARD_F_VERDICT] && is_decision_field(f)))
			continue;
		if (present[f] && field_json(ev, f, &v) == 0)
			json_object_object_add(o, ward_field_name(f), v);
		else if (f == WARD_F_CONTAINER_ID)
			json_object_object_add(o, ward_field_name(f), NULL); /* null: not in a container */
	}
	return o;
}

/* RFC 3339, UTC, nanoseconds: 2026-11-25T19:00:08.123456789Z */
static json_object *time_json(uint64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000u);
	struct tm tm;
	char buf[64];
	if (!gmtime_r(&sec, &tm))
		return json_object_new_uint64(ns);
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%09" PRIu64 "Z", ns % 1000000000u);
	return json_object_new_string(buf);
}

static json_object *event_json(const ward_event *ev)
{
	uint32_t type = ward_event_type(ev);
	const char *name = ward_event_type_name(type);
	const char *obj = type < WARD_EV_MAX_ ? object_names[type] : NULL;
	bool present[WARD_F_MAX_];
	fields_present(ev, present);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "type", name ? json_object_new_string(name)
					       : json_object_new_uint64(type));
	json_object_object_add(o, "action", json_object_new_string("notify"));
	json_object_object_add(o, "seq", json_object_new_uint64(ward_event_seq(ev)));
	json_object_object_add(o, "global_seq", json_object_new_uint64(ward_event_global_seq(ev)));
	json_object_object_add(o, "time", time_json(ward_event_time(ev)));
	json_object_object_add(o, "process", fields_json(ev, present, 1));
	json_object_object_add(o, obj ? obj : "fields", fields_json(ev, present, 0));
	if (present[WARD_F_VERDICT]) {
		/* "auth": {"verdict": "deny", "decided_by": ..., "reason": ..., ...} */
		json_object *a = json_object_new_object();
		uint64_t v = 0;
		ward_event_u64(ev, WARD_F_VERDICT, &v);
		json_object_object_add(a, "verdict", json_object_new_string(v == WARD_VERDICT_DENY ? "deny" : "allow"));
		for (uint32_t f = WARD_F_DECIDED_BY; f <= WARD_F_RULE_CLIENT; f++) {
			json_object *val;
			if (is_decision_field(f) && present[f] && field_json(ev, f, &val) == 0)
				json_object_object_add(a, ward_field_name(f), val);
		}
		json_object_object_add(o, "auth", a);
	}
	return o;
}

/* ---- ward events ---- */

struct printer {
	int write_errno; /* errno of the first failed write to stdout, or 0 */
};

static int print_event(const ward_event *ev, void *userdata)
{
	struct printer *p = userdata;
	json_object *o = event_json(ev);
	fputs(json_object_to_json_string_ext(o, JSON_FLAGS), stdout);
	putchar('\n');
	json_object_put(o);
	if (ferror(stdout)) {
		p->write_errno = errno;
		return 1;
	}
	return 0;
}

static void on_stop_signal(int sig)
{
	stop_requested = 1;
}

static void handle_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal, .sa_flags = SA_RESETHAND };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* a closed stdout shows up as EPIPE from write(), not as a signal */
	signal(SIGPIPE, SIG_IGN);
}

/* Mark the types named in @list ("exec,open") in @wanted. */
static int parse_types(const char *list, bool wanted[WARD_EV_MAX_])
{
	char *copy = strdup(list), *save = NULL;
	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		uint32_t type = ward_event_type_from_name(t);
		if (type == WARD_EV_INVALID) {
			fprintf(stderr, "ward: unknown event type '%s'; ", t);
			list_types(stderr);
			free(copy);
			return -EINVAL;
		}
		wanted[type] = true;
	}
	free(copy);
	return 0;
}

/* Returns the exit status: 0 on a stop signal or a closed stdout. */
static int stream_events(ward_client *c)
{
	static char outbuf[1 << 16]; /* flushed once per batch, not per 4 KiB */
	struct printer p = { 0 };
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	while (!stop_requested) {
		int n = ward_client_dispatch(c, print_event, &p, WAIT_MS);
		if (n == -EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "ward: %s\n", ward_strerror(n));
			return 1;
		}
		if (n > 0 && !p.write_errno && fflush(stdout) != 0)
			p.write_errno = errno;
		if (p.write_errno == EPIPE)
			return 0; /* the reader went away: not an error */
		if (p.write_errno) {
			fprintf(stderr, "ward: writing events: %s\n", strerror(p.write_errno));
			return 1;
		}
	}
	return 0;
}

/* Gaps in the stream are otherwise silent: say so when leaving. */
static void report_losses(const ward_client *c)
{
	struct ward_client_stats st;
	if (ward_client_stats(c, &st) == 0 && (st.lost || st.gaps))
		fprintf(stderr, "ward: %" PRIu64 " events lost (client ring full), %" PRIu64
			" gaps seen in %" PRIu64 " events received\n", st.lost, st.gaps, st.received);
}

static int cmd_events(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool wanted[WARD_EV_MAX_] = { false }, typed = false;
	int o;
	while ((o = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
		if (o == 'h') {
			usage(stdout);
			return 0;
		}
		if (o != 't' || parse_types(optarg, wanted) < 0)
			return 2;
		typed = true;
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	uint32_t types[WARD_EV_MAX_];
	size_t n = 0;
	for (uint32_t t = 1; t < WARD_EV_MAX_; t++)
		if (wanted[t] || !typed)
			types[n++] = t;
	if (n == 0) {
		fprintf(stderr, "ward: --type names no event type; ");
		list_types(stderr);
		return 2;
	}

	ward_client *c;
	int r = ward_client_new(&c, "ward events");
	if (r < 0) {
		fprintf(stderr, "ward: cannot connect to wardd: %s\n", ward_strerror(r));
		return 1;
	}
	r = ward_client_subscribe(c, types, n);
	if (r < 0) {
		fprintf(stderr, "ward: subscribe: %s\n", ward_strerror(r));
		ward_client_free(c);
		return 1;
	}
	handle_signals();
	int status = stream_events(c);
	report_losses(c);
	ward_client_free(c);
	return status;
}

/* ---- ward status ---- */

json_object *json_get(json_object *o, const char *key)
{
	json_object *v = NULL;
	if (o && json_object_is_type(o, json_type_object))
		json_object_object_get_ex(o, key, &v);
	return v;
}

/* A scalar as text; other values as compact JSON. */
static const char *text(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "-";
	case json_type_boolean:
		return json_object_get_boolean(v) ? "yes" : "no";
	case json_type_string:
		return json_object_get_string(v);
	default:
		return json_object_to_json_string_ext(v, JSON_FLAGS);
	}
}

static void print_uptime(json_object *v)
{
	int64_t s = json_object_get_int64(v);
	printf(", up ");
	if (s >= 86400)
		printf("%" PRId64 "d ", s / 86400);
	printf("%02" PRId64 ":%02" PRId64 ":%02" PRId64, s / 3600 % 24, s / 60 % 60, s % 60);
}

static void print_summary(json_object *st)
{
	printf("wardd %s", text(json_get(st, "version")));
	if (json_get(st, "pid"))
		printf(", pid %s", text(json_get(st, "pid")));
	if (json_get(st, "uptime_s"))
		print_uptime(json_get(st, "uptime_s"));
	printf("\nglobal seq %s, ring buffer drops %s\n",
	       text(json_get(st, "global_seq")), text(json_get(st, "ringbuf_drops")));
}

/* An object as a section: "title:" then one "key value" line per member. */
static void print_section(const char *title, json_object *k)
{
	if (!k || !json_object_is_type(k, json_type_object))
		return;
	printf("\n%s:\n", title);
	json_object_object_foreach(k, key, v)
		printf("  %-26s %s\n", key, text(v));
}

/* "exec,open" from a JSON array of names. */
static void print_names(json_object *a)
{
	if (!a || !json_object_is_type(a, json_type_array)) {
		printf("%s", text(a));
		return;
	}
	size_t n = json_object_array_length(a);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? "," : "", text(json_object_array_get_idx(a, i)));
	if (n == 0)
		printf("-");
}

static void print_clients(json_object *a)
{
	if (!a || !json_object_is_type(a, json_type_array))
		return;
	size_t n = json_object_array_length(a);
	printf("\nclients (%zu):\n", n);
	if (n)
		printf("  %-6s %-8s %-20s %-12s %-10s %s\n",
		       "ID", "PID", "NAME", "DELIVERED", "LOST", "SUBSCRIBED");
	for (size_t i = 0; i < n; i++) {
		json_object *cl = json_object_array_get_idx(a, i);
		printf("  %-6s", text(json_get(cl, "id")));
		printf(" %-8s", text(json_get(cl, "pid")));
		printf(" %-20s", text(json_get(cl, "name")));
		printf(" %-12s", text(json_get(cl, "delivered")));
		printf(" %-10s ", text(json_get(cl, "lost")));
		print_names(json_get(cl, "subscribed"));
		json_object *auth = NULL;
		if (json_object_object_get_ex(cl, "auth", &auth)) {
			printf("  AUTH ");
			print_names(auth);
			printf(" (%s ms, %s verdicts, %s deadlines missed)", text(json_get(cl, "deadline_ms")),
			       text(json_get(cl, "verdicts")), text(json_get(cl, "deadlines_missed")));
		}
		putchar('\n');
	}
}

static void print_events(json_object *ev)
{
	if (!ev || !json_object_is_type(ev, json_type_object))
		return;
	printf("\nevents:\n  %-14s %-14s %s\n", "TYPE", "SEEN", "DROPS");
	json_object_object_foreach(ev, key, v) {
		printf("  %-14s", key);
		printf(" %-14s", text(json_get(v, "seen")));
		printf(" %s\n", text(json_get(v, "drops")));
	}
}

/* Keys this rendering does not know yet, so nothing wardd reports is hidden. */
static void print_others(json_object *st)
{
	static const char *const known[] = {
		"version", "pid", "uptime_s", "kernel", "sensors", "clients",
		"events", "ringbuf_drops", "global_seq", "auth", "net_policy", "sha256_cache",
	};
	bool header = false;
	json_object_object_foreach(st, key, v) {
		bool is_known = false;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			is_known |= strcmp(key, known[i]) == 0;
		if (is_known)
			continue;
		if (!header)
			printf("\nother:\n");
		header = true;
		printf("  %-24s %s\n", key, text(v));
	}
}

static void print_status(json_object *st)
{
	if (!json_object_is_type(st, json_type_object)) {
		printf("%s\n", text(st));
		return;
	}
	print_summary(st);
	print_section("kernel", json_get(st, "kernel"));
	print_section("sensors", json_get(st, "sensors"));
	print_clients(json_get(st, "clients"));
	print_section("auth", json_get(st, "auth"));
	print_section("net_policy", json_get(st, "net_policy"));
	print_section("sha256_cache", json_get(st, "sha256_cache"));
	print_events(json_get(st, "events"));
	print_others(st);
}

static const char *jstr(json_object *o, const char *key, const char *dflt)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : dflt;
}

static uint64_t ju64(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) && v ? (uint64_t)json_object_get_int64(v) : 0;
}

/* `ward clients`: one line per manifest. */
static void print_supervised(json_object *st)
{
	json_object *sup, *arr;
	if (!json_object_object_get_ex(st, "supervisor", &sup) || !json_object_object_get_ex(sup, "clients", &arr)) {
		printf("wardd has no supervisor\n");
		return;
	}
	size_t n = json_object_array_length(arr);
	printf("manifests: %s (%zu loaded, %" PRIu64 " skipped)\n", jstr(sup, "clients_dir", "?"), n,
	       ju64(sup, "manifest_errors"));
	if (ju64(sup, "manifest_errors"))
		printf("last manifest error: %s\n", jstr(sup, "last_manifest_error", ""));
	if (!n)
		return;
	printf("%-20s %-12s %8s %8s %8s %10s %10s %10s %12s\n", "NAME", "STATE", "PID", "RESTARTS", "MISSES",
	       "CPU_S", "MEM_MIB", "DROPS", "DELIVERED");
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(arr, i);
		printf("%-20s %-12s %8" PRIu64 " %8" PRIu64 " %8" PRIu64 " %10.2f %10.1f %10" PRIu64 " %12" PRIu64 "\n",
		       jstr(c, "name", "?"), jstr(c, "state", "?"), ju64(c, "pid"), ju64(c, "restarts"),
		       ju64(c, "deadlines_missed"), (double)ju64(c, "cpu_usage_ns") / 1e9,
		       (double)ju64(c, "memory_bytes") / 1048576.0, ju64(c, "drops"), ju64(c, "delivered"));
		const char *why = jstr(c, "reason", NULL);
		if (why)
			printf("%-20s   %s\n", "", why);
	}
}

static int cmd_status(int argc, char **argv)
{
	bool clients = strcmp(argv[0], "clients") == 0;
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool as_json = false;
	int o;
	while ((o = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (o == 'h') {
			usage(stdout);
			return 0;
		}
		if (o != 'j')
			return 2;
		as_json = true;
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	ward_client *c;
	char *text_json = NULL;
	int r = ward_client_new(&c, clients ? "ward clients" : "ward status");
	if (r < 0) {
		fprintf(stderr, "ward: cannot connect to wardd: %s\n", ward_strerror(r));
		return 1;
	}
	r = ward_client_status_json(c, &text_json);
	ward_client_free(c);
	if (r < 0) {
		fprintf(stderr, "ward: status: %s\n", ward_strerror(r));
		return 1;
	}
	json_object *st = json_tokener_parse(text_json);
	if (!st) {
		fprintf(stderr, "ward: wardd sent a status that is not JSON\n");
		free(text_json);
		return 1;
	}
	if (as_json && clients) {
		json_object *sup = NULL;
		json_object_object_get_ex(st, "supervisor", &sup);
		printf("%s\n", sup ? json_object_to_json_string_ext(sup, JSON_C_TO_STRING_PLAIN) : "null");
	} else if (as_json) {
		printf("%s\n", text_json); /* as wardd wrote it, now known to be JSON */
	} else if (clients) {
		print_supervised(st);
	} else {
		print_status(st);
	}
	json_object_put(st);
	free(text_json);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
		printf("ward %s\n", WARD_VERSION);
		return 0;
	}
	/* subcommand options: parse argv[1..] as if the subcommand were argv[0] */
	if (strcmp(cmd, "events") == 0)
		return cmd_events(argc - 1, argv + 1);
	if (strcmp(cmd, "status") == 0 || strcmp(cmd, "clients") == 0)
		return cmd_status(argc - 1, argv + 1);
	if (strcmp(cmd, "content") == 0)
		return cmd_content(argc - 1, argv + 1);
	fprintf(stderr, "ward: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
