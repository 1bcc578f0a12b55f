/* SPDX-License-Identifier: Apache-2.0 */
/*
 * block — the smallest useful authorization client: deny the executables
 * and files you name, allow everything else.
 *
 *   block [--exec PATH]... [--open PATH]... [--sha256 HEX]...
 *         [--deadline-ms N] [--fail-closed]
 *
 *   --exec PATH     deny executing PATH                  (answers AUTH_EXEC)
 *   --sha256 HEX    deny executing any file with this
 *                   SHA-256 (64 hex digits), whatever
 *                   its name                             (answers AUTH_EXEC)
 *   --open PATH     deny opening PATH                    (answers AUTH_OPEN)
 *   --deadline-ms N time this client asks for per request (0: wardd's default)
 *   --fail-closed   deny when this client cannot answer in time, and deny an
 *                   exec whose SHA-256 wardd could not compute while
 *                   --sha256 rules exist (default: allow: fail-open)
 *
 * One line on stdout per denial this client decided:
 *   TIME deny TYPE pid=PID comm=COMM path=PATH why=WHY
 * A DENY that wardd repeats from its cache (2 s) is not asked again, so not
 * logged here; `ward events --type auth_exec,auth_open` shows it with
 * reason "cache".
 * Stops on SIGINT/SIGTERM (exit 0).  Exit 1 when wardd is not running or
 * goes away, 2 on a usage error, 65 when its content cannot be used.  See
 * docs/auth.md for the model.
 *
 * Content (docs/content.md): when wardd starts it with content, its lists
 * come from the payload too, merged with the command line's (which may
 * then be empty).  The payload is text, one entry per line:
 *
 *   exec /usr/bin/nc
 *   open /etc/shadow
 *   sha256 0123...(64 hex digits)
 *
 * exactly two fields separated by blanks; blank lines and lines whose
 * first non-blank character is '#' are skipped.  Anything else is
 * rejected, naming the line.  The same parser checks new content for
 * wardd (validate mode) and loads it at start.
 *
 * Paths are compared with WARD_F_PATH exactly.  wardd reads that path from
 * the descriptor the kernel opened, so it is absolute, with every symlink
 * resolved, as seen in wardd's mount namespace; this program resolves the
 * PATHs it is given the same way (realpath) when they exist.  A file that
 * was deleted while open shows as "PATH (deleted)": a path rule does not
 * match it, a --sha256 rule does.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <ward/ward.h>

#define LIST_MAX 10000 /* entries of each kind: a request is checked against each */
#define BLANKS " \t\n\v\f\r" /* what separates the fields of a content line */

/* A growable list of strings (paths or lower-case digests). */
struct list {
	char **v;
	size_t n;
};

struct policy {
	struct list exec;   /* --exec */
	struct list open;   /* --open */
	struct list sha256; /* --sha256, lower case */
	int fail_closed;
};

struct decision {
	uint32_t verdict;   /* enum ward_verdict */
	int cache;          /* answer with WARD_RESPOND_CACHE */
	const char *why;    /* for the log line when denied */
};

struct app {
	ward_client *c;
	struct policy pol;
	int err;            /* a fatal libward error met in the callback */
};

static int list_add(struct list *l, const char *s)
{
	char **v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return -1;
	l->v = v;
	if (!(l->v[l->n] = strdup(s)))
		return -1;
	l->n++;
	return 0;
}

static int list_has(const struct list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

static void list_free(struct list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/*
 * Add @value to the list of @kind: "exec" and "open" take an absolute path,
 * kept as wardd will report it (symlinks resolved when the file exists
 * now, as given otherwise: a file that does not exist yet); "sha256" takes
 * 64 hex digits, kept in lower case as wardd sends them.  Returns NULL, or
 * what is wrong, to be printed after the kind ("exec needs ...").
 */
static const char *policy_add(struct policy *p, const char *kind, const char *value)
{
	char buf[PATH_MAX];
	struct list *l = strcmp(kind, "exec") == 0 ? &p->exec
		       : strcmp(kind, "open") == 0 ? &p->open
		       : strcmp(kind, "sha256") == 0 ? &p->sha256 : NULL;

	if (!l)
		return "is not a kind of entry (exec, open, sha256)";
	if (l == &p->sha256) {
		if (strlen(value) != 64 || strspn(value, "0123456789abcdefABCDEF") != 64)
			return "needs 64 hex digits";
		for (size_t i = 0; i <= 64; i++)
			buf[i] = (char)tolower((unsigned char)value[i]);
		value = buf;
	} else {
		if (value[0] != '/' || strlen(value) >= PATH_MAX)
			return "needs an absolute path";
		if (realpath(value, buf))
			value = buf;
	}
	if (l->n >= LIST_MAX)
		return "has too many entries (at most 10000)";
	return list_add(l, value) ? "failed: out of memory" : NULL;
}

/* The content parser (ward_content_parse_fn): add the lists of the payload
 * @path to the policy @userdata.  0, or non-zero with the reason in @err. */
static int parse_lists(const char *path, void *userdata, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *field[3], *save;
	size_t cap = 0;
	ssize_t len;
	unsigned lineno = 0;
	int bad = 0;

	if (!f) {
		snprintf(err, errlen, "cannot open the payload: %s", strerror(errno));
		return 1;
	}
	while (!bad && (len = getline(&line, &cap, f)) >= 0) {
		unsigned n = 0;
		const char *why;
		lineno++;
		if (strlen(line) != (size_t)len) {
			snprintf(err, errlen, "line %u: a NUL byte", lineno);
			bad = 1;
			break;
		}
		for (char *t = strtok_r(line, BLANKS, &save); t; t = strtok_r(NULL, BLANKS, &save))
			if (n++ < 3)
				field[n - 1] = t;
		if (n == 0 || field[0][0] == '#')
			continue; /* blank, or a comment */
		if (n != 2) {
			snprintf(err, errlen, "line %u: %u field%s, the schema has 2", lineno, n, n == 1 ? "" : "s");
			bad = 1;
		} else if ((why = policy_add(userdata, field[0], field[1]))) {
			snprintf(err, errlen, "line %u: %.40s %s", lineno, field[0], why);
			bad = 1;
		}
	}
	if (!bad && ferror(f)) {
		snprintf(err, errlen, "cannot read the payload: %s", strerror(errno));
		bad = 1;
	}
	free(line);
	fclose(f);
	return bad;
}

/* Add the lists of the content wardd started this client with, if any, to
 * @p.  Returns 1 with content, 0 without, -1 when it cannot be used (said
 * on stderr). */
static int load_content(struct policy *p)
{
	struct ward_content_info ci;
	char err[512] = "";

	if (ward_content_info(&ci) < 0) {
		fprintf(stderr, "block: content: malformed WARD_CONTENT_* environment\n");
		return -1;
	}
	if (ci.mode == WARD_CONTENT_NONE)
		return 0;
	if (parse_lists(ci.path, p, err, sizeof(err))) {
		fprintf(stderr, "block: content version %llu: %s\n", (unsigned long long)ci.version, err);
		return -1;
	}
	/* A shadow instance runs on candidate content beside the active one:
	 * wardd records its verdicts but does not apply them. */
	fprintf(stderr, "block: content version %llu, channel %s%s\n", (unsigned long long)ci.version,
		ci.channel, ci.mode == WARD_CONTENT_SHADOW ? " (shadow)" : "");
	return 1;
}

/*
 * The policy.  Which answers may carry WARD_RESPOND_CACHE?
 *
 * A cacheable answer promises that the verdict depends only on the file's
 * content, for every process, until the file is modified.  For an ALLOW,
 * wardd then puts an ignore mark on the file's *inode*, and the kernel
 * answers later requests itself; a DENY wardd remembers for 2 s under
 * (dev, inode, size, mtime, ctime).
 *
 * A path is not a property of the inode but of a name.  Renaming a file
 * does not modify it, so its ignore mark stays: allow /tmp/a with CACHE,
 * then `mv /tmp/a /usr/bin/denied`, and the kernel would allow
 * /usr/bin/denied without asking.  A hard link gives one inode two names at
 * once, one listed and one not.  So no answer that looked at the path is
 * cached, ALLOW or DENY.
 *
 * The SHA-256 is a property of the content, which modification changes (and
 * a modification clears the mark).  So a DENY because of the digest is
 * cacheable, and an ALLOW is cacheable only when the digest was the whole
 * question: no --exec path rules.  Every answer to AUTH_OPEN looked at the
 * path, so none is cached: with --open, each open on the watched
 * filesystems is a round trip to this process.
 */
static struct decision decide(const struct policy *p, uint32_t type, const char *path, const char *sha)
{
	const struct decision allow = {WARD_VERDICT_ALLOW, 0, NULL};

	if (type == WARD_EV_AUTH_EXEC) {
		if (p->exec.n && path && list_has(&p->exec, path))
			return (struct decision){WARD_VERDICT_DENY, 0, "exec path listed"};
		if (p->sha256.n == 0)
			return allow; /* decided by the path alone: never cached */
		if (!sha) /* larger than wardd's --hash-max-mb, or unreadable */
			return p->fail_closed ? (struct decision){WARD_VERDICT_DENY, 0, "no sha256 (fail-closed)"}
					      : allow;
		if (list_has(&p->sha256, sha))
			return (struct decision){WARD_VERDICT_DENY, 1, "sha256 listed"};
		return (struct decision){WARD_VERDICT_ALLOW, p->exec.n == 0, NULL};
	}
	if (type == WARD_EV_AUTH_OPEN) {
		if (!path)
			return p->fail_closed ? (struct decision){WARD_VERDICT_DENY, 0, "no path (fail-closed)"}
					      : allow;
		if (list_has(&p->open, path))
			return (struct decision){WARD_VERDICT_DENY, 0, "open path listed"};
	}
	return allow;
}

/* Print @s with control bytes escaped: a file name may contain a newline,
 * and must not be able to forge a line of this log. */
static void put_safe(const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch < 0x20 || ch == 0x7f || ch == '\\')
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
}

static void print_deny(const ward_event *ev, const char *path, const char *why)
{
	uint64_t ns = ward_event_time(ev), pid = 0;
	time_t s = (time_t)(ns / 1000000000u);
	struct tm tm;
	char when[32];
	const char *comm = "?";

	gmtime_r(&s, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	ward_event_u64(ev, WARD_F_PID, &pid);
	ward_event_str(ev, WARD_F_COMM, &comm, NULL);
	/* For auth_exec, pid and comm are the process that called execve(),
	 * still its old image: the file it wants to run is `path`. */
	printf("%s.%03uZ deny %s pid=%llu comm=", when, (unsigned)(ns % 1000000000u / 1000000u),
	       ward_event_type_name(ward_event_type(ev)), (unsigned long long)pid);
	put_safe(comm);
	printf(" path=");
	put_safe(path ? path : "?");
	printf(" why=%s\n", why);
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ward_client_dispatch() callback: one request, one answer. */
static int on_event(const ward_event *ev, void *userdata)
{
	struct app *a = userdata;
	uint64_t id, deadline = 0;
	const char *path = NULL, *sha = NULL;

	if (!ward_event_is_auth(ev) || ward_event_u64(ev, WARD_F_AUTH_ID, &id))
		return 0; /* a notification: this client subscribed to none */
	ward_event_u64(ev, WARD_F_DEADLINE, &deadline);
	ward_event_str(ev, WARD_F_PATH, &path, NULL);
	ward_event_str(ev, WARD_F_SHA256, &sha, NULL);

	struct decision d = decide(&a->pol, ward_event_type(ev), path, sha);
	/* Always answer, ALLOW included: an unanswered request holds the
	 * process until the deadline, then costs this client a strike. */
	int r = ward_client_respond(a->c, id, d.verdict, d.cache ? WARD_RESPOND_CACHE : 0);
	if (r == -EAGAIN) /* wardd is not reading; its deadline decides */
		fprintf(stderr, "block: request %llu: answer not sent (socket full)\n", (unsigned long long)id);
	else if (r < 0) {
		a->err = r;
		return 1; /* stop dispatching */
	}
	if (deadline && monotonic_ns() > deadline) /* WARD_F_DEADLINE is CLOCK_MONOTONIC */
		fprintf(stderr, "block: request %llu answered after its deadline (ignored by wardd)\n",
			(unsigned long long)id);
	if (d.verdict == WARD_VERDICT_DENY)
		print_deny(ev, path, d.why);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: block [--exec PATH]... [--open PATH]... [--sha256 HEX]...\n"
		   "             [--deadline-ms N] [--fail-closed]\n");
}

/* Answer requests until a signal on @sfd (returns 0) or until wardd is gone
 * or refuses us (returns 1). */
static int serve(struct app *a, int sfd, uint32_t deadline_ms)
{
	int want_exec = a->pol.exec.n || a->pol.sha256.n, want_open = a->pol.open.n != 0;
	int r = ward_client_new(&a->c, "block");
	if (r < 0) {
		fprintf(stderr, "block: %s\n", ward_strerror(r));
		return 1;
	}
	/* The default verdict is what wardd applies for this client when it
	 * misses a deadline and when it disconnects with requests pending. */
	uint32_t def = a->pol.fail_closed ? WARD_VERDICT_DENY : WARD_VERDICT_ALLOW;
	struct ward_auth_sub subs[2];
	size_t nsubs = 0;
	if (want_exec)
		subs[nsubs++] = (struct ward_auth_sub){.type = WARD_EV_AUTH_EXEC, .default_verdict = def};
	if (want_open)
		subs[nsubs++] = (struct ward_auth_sub){.type = WARD_EV_AUTH_OPEN, .default_verdict = def};
	r = ward_client_subscribe_auth(a->c, subs, nsubs, deadline_ms);
	if (r < 0) {
		fprintf(stderr, "block: subscribe: %s\n", ward_strerror(r));
		return 1;
	}
	fprintf(stderr, "block: answering%s%s, fail-%s (%zu exec paths, %zu digests, %zu open paths)\n",
		want_exec ? " auth_exec" : "", want_open ? " auth_open" : "",
		a->pol.fail_closed ? "closed" : "open", a->pol.exec.n, a->pol.sha256.n, a->pol.open.n);

	struct pollfd pfd[2] = {
		{.fd = ward_client_fd(a->c), .events = POLLIN}, /* requests, or wardd gone */
		{.fd = sfd, .events = POLLIN},
	};
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("block: poll");
			return 1;
		}
		if (pfd[1].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				fprintf(stderr, "block: signal %u: stopping\n", si.ssi_signo);
			return 0;
		}
		if (pfd[0].revents) {
			/* timeout 0: only what is there; -EPIPE if wardd is gone */
			r = ward_client_dispatch(a->c, on_event, a, 0);
			if (r >= 0 && a->err)
				r = a->err;
			if (r < 0) {
				fprintf(stderr, "block: %s\n", ward_strerror(r));
				return 1;
			}
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"exec", required_argument, NULL, 'e'},
		{"open", required_argument, NULL, 'o'},
		{"sha256", required_argument, NULL, 's'},
		{"deadline-ms", required_argument, NULL, 'd'},
		{"fail-closed", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct app a = {0};
	unsigned long deadline_ms = 0;
	const char *kind, *why;
	char *end;
	int opt, bad = 0, status = 2, content = 0;

	/* When wardd runs this program only to check new content (validate
	 * mode), this parses it, reports and exits; otherwise it returns. */
	ward_content_validate(parse_lists, &a.pol);

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'e':
		case 'o':
		case 's':
			kind = opt == 'e' ? "exec" : opt == 'o' ? "open" : "sha256";
			if ((why = policy_add(&a.pol, kind, optarg))) {
				fprintf(stderr, "block: --%s %s, not '%s'\n", kind, why, optarg);
				bad = 1;
			}
			break;
		case 'f': a.pol.fail_closed = 1; break;
		case 'd':
			errno = 0;
			deadline_ms = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || deadline_ms > 10000) {
				fprintf(stderr, "block: --deadline-ms needs 0 to 10000\n");
				bad = 1;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: bad = 1; break;
		}
	}
	if (!bad && optind == argc && (content = load_content(&a.pol)) < 0) {
		status = 65; /* EX_DATAERR */
	} else if (bad || optind != argc || (!content && !a.pol.exec.n && !a.pol.sha256.n && !a.pol.open.n)) {
		usage(stderr);
	} else {
		/* SIGINT/SIGTERM arrive as a readable descriptor, polled with
		 * the client's: no handler, no race between a check and the
		 * wait. */
		sigset_t stop;
		sigemptyset(&stop);
		sigaddset(&stop, SIGINT);
		sigaddset(&stop, SIGTERM);
		sigprocmask(SIG_BLOCK, &stop, NULL);
		int sfd = signalfd(-1, &stop, SFD_CLOEXEC);
		if (sfd < 0) {
			perror("block: signalfd");
			status = 1;
		} else {
			setvbuf(stdout, NULL, _IOLBF, 0); /* a line per denial, even into a pipe */
			status = serve(&a, sfd, (uint32_t)deadline_ms);
			close(sfd);
		}
	}
	/* Disconnecting resolves any request still waiting for this client
	 * with its default verdict at once.  (NULL is fine.) */
	ward_client_free(a.c);
	list_free(&a.pol.exec);
	list_free(&a.pol.open);
	list_free(&a.pol.sha256);
	return status;
}
