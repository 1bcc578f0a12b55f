/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cgroups.c — see cgroups.h.
 *
 * cg_enter, cg_kill, cg_procs and cg_destroy are async-signal-safe: they
 * build paths with memcpy on the stack, format numbers by hand and read
 * cgroup.procs in fixed chunks, carrying a number cut at a chunk's end into
 * the next.  The rest may allocate and use stdio.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroups.h"
#include "files.h"

#define CG_PERIOD_US 100000u         /* cpu.max / cpu.cfs_period_us */
#define CG_KILL_ROUNDS 200           /* cg_kill: rounds of CG_KILL_PAUSE_NS */
#define CG_KILL_PAUSE_NS 10000000L
#define CG_KILL_V1_AFTER 20          /* rounds before v1-only stragglers are killed by pid */
#define CG_V1_UNLIMITED 0x7ffffffffffff000ull /* v1 prints LONG_MAX rounded to a page */

/* ---- async-signal-safe helpers ---- */

/* @dir "/" @file into @out (@len bytes).  0 or -ENAMETOOLONG. */
static int cat_path(char *out, size_t len, const char *dir, const char *file)
{
	size_t a = strlen(dir), b = strlen(file);
	if (a + 1 + b + 1 > len)
		return -ENAMETOOLONG;
	memcpy(out, dir, a);
	out[a] = '/';
	memcpy(out + a + 1, file, b + 1);
	return 0;
}

/* Decimal form of @v into @buf (at least 21 bytes); returns its length. */
static size_t fmt_u64(char *buf, uint64_t v)
{
	char tmp[21];
	size_t n = 0, i;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

/* Write @val to @dir/@file in one write(), as cgroup files want.  0 or
 * -errno (a short write counts as -EIO). */
static int write_file(const char *dir, const char *file, const char *val)
{
	char path[CG_PATH_MAX + 64];
	int err = cat_path(path, sizeof(path), dir, file);
	if (err)
		return err;
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t n = strlen(val);
	ssize_t w = write(fd, val, n);
	err = w < 0 ? -errno : (size_t)w != n ? -EIO : 0;
	close(fd);
	return err;
}

/* Call @fn for each pid listed in @dir/cgroup.procs (any number of them,
 * read in chunks).  Returns how many were listed, or -errno. */
static int procs_each(const char *dir, void (*fn)(pid_t pid, void *ctx), void *ctx)
{
	char path[CG_PATH_MAX + 64], buf[4096];
	int err = cat_path(path, sizeof(path), dir, "cgroup.procs");
	if (err)
		return err;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int count = 0;
	long pid = 0;
	bool in_num = false;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			count = -errno;
			break;
		}
		for (ssize_t i = 0; i <= n; i++) {
			/* i == n at EOF flushes a number not followed by a newline */
			if (i < n && buf[i] >= '0' && buf[i] <= '9') {
				if (pid < 100000000)
					pid = pid * 10 + (buf[i] - '0');
				in_num = true;
				continue;
			}
			if (i == n && n > 0)
				break; /* a number may go on in the next chunk */
			if (in_num && pid > 0) {
				if (fn)
					fn((pid_t)pid, ctx);
				count++;
			}
			pid = 0;
			in_num = false;
		}
		if (n == 0)
			break;
	}
	close(fd);
	return count;
}

static void kill_one(pid_t pid, void *ctx)
{
	kill(pid, SIGKILL);
}

struct collect {
	pid_t *out;
	size_t max, n;
};

static void collect_one(pid_t pid, void *ctx)
{
	struct collect *c = ctx;
	if (c->n < c->max)
		c->out[c->n] = pid;
	c->n++;
}

/* ---- reading files (not async-signal-safe users) ---- */

/* Read @dir/@file into @buf (NUL-terminated).  Returns the length or
 * -errno. */
static ssize_t read_file(const char *dir, const char *file, char *buf, size_t len)
{
	char path[CG_PATH_MAX + 64];
	int err = cat_path(path, sizeof(path), dir, file);
	if (err)
		return err;
	ssize_t n = file_read_small(path, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/* A number or "max" in @dir/@file; "max" and v1's "unlimited" value become
 * @max_value.  Returns 1 (read), 0 (the file does not exist) or -errno. */
static int read_u64(const char *dir, const char *file, uint64_t max_value, uint64_t *v)
{
	char buf[64];
	ssize_t n = read_file(dir, file, buf, sizeof(buf));
	if (n == -ENOENT)
		return 0;
	if (n < 0)
		return (int)n;
	if (strncmp(buf, "max", 3) == 0) {
		*v = max_value;
		return 1;
	}
	char *end;
	errno = 0;
	unsigned long long x = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return -EINVAL;
	*v = x >= CG_V1_UNLIMITED ? max_value : (uint64_t)x;
	return 1;
}

/* The value of "@key N" in a flat keyed file (cpu.stat, memory.events,
 * memory.oom_control).  1, 0 (no file or no key) or -errno. */
static int read_key(const char *dir, const char *file, const char *key, uint64_t *v)
{
	char buf[4096];
	ssize_t n = read_file(dir, file, buf, sizeof(buf));
	if (n == -ENOENT)
		return 0;
	if (n < 0)
		return (int)n;
	size_t klen = strlen(key);
	for (char *line = buf; *line;) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			*v = strtoull(line + klen + 1, NULL, 10);
			return 1;
		}
		char *nl = strchr(line, '\n');
		if (!nl)
			break;
		line = nl + 1;
	}
	return 0;
}

static bool file_exists(const char *dir, const char *file)
{
	char path[CG_PATH_MAX + 64];
	return cat_path(path, sizeof(path), dir, file) == 0 && access(path, F_OK) == 0;
}

/* ---- detection ---- */

void cg_unescape_mountinfo(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Copy @src into the fixed field @dst unless it is set already or too long. */
static void set_once(char *dst, size_t len, const char *src)
{
	if (!dst[0] && strlen(src) < len)
		strcpy(dst, src);
}

/* Is @word one of the space-separated words of @list? */
static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ' || p[-1] == '\n') && (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
			return true;
	return false;
}

/* Which of the three controllers the v2 root offers. */
struct v2_ctl {
	bool memory, cpu, pids;
};

static void v2_controllers(const char *root, struct v2_ctl *c)
{
	char buf[1024];
	memset(c, 0, sizeof(*c));
	if (!root[0] || read_file(root, "cgroup.controllers", buf, sizeof(buf)) < 0)
		return;
	c->memory = has_word(buf, "memory");
	c->cpu = has_word(buf, "cpu");
	c->pids = has_word(buf, "pids");
}

int cg_detect(struct cg_env *env)
{
	memset(env, 0, sizeof(*env));
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint options [optional...] - fstype source superopts */
		char *sep = strstr(line, " - ");
		if (!sep)
			continue;
		*sep = '\0';
		char *save = NULL, *fields[5];
		int nf = 0;
		for (char *t = strtok_r(line, " ", &save); t && nf < 5; t = strtok_r(NULL, " ", &save))
			fields[nf++] = t;
		char *fstype = strtok_r(sep + 3, " \n", &save);
		char *source = fstype ? strtok_r(NULL, " \n", &save) : NULL;
		char *super = source ? strtok_r(NULL, " \n", &save) : NULL;
		if (nf < 5 || !super || strcmp(fields[3], "/") != 0)
			continue; /* a bind mount of a sub-tree: not the hierarchy */
		char *mnt = fields[4];
		cg_unescape_mountinfo(mnt);
		if (strcmp(fstype, "cgroup2") == 0) {
			set_once(env->v2_root, sizeof(env->v2_root), mnt);
		} else if (strcmp(fstype, "cgroup") == 0) {
			char *s2 = NULL;
			for (char *o = strtok_r(super, ",", &s2); o; o = strtok_r(NULL, ",", &s2)) {
				if (strcmp(o, "memory") == 0)
					set_once(env->v1_memory, sizeof(env->v1_memory), mnt);
				else if (strcmp(o, "cpu") == 0)
					set_once(env->v1_cpu, sizeof(env->v1_cpu), mnt);
				else if (strcmp(o, "pids") == 0)
					set_once(env->v1_pids, sizeof(env->v1_pids), mnt);
			}
		}
	}
	free(line);
	fclose(f);

	struct v2_ctl c;
	v2_controllers(env->v2_root, &c);
	bool v1 = env->v1_memory[0] || env->v1_cpu[0] || env->v1_pids[0];
	env->mode = !env->v2_root[0] ? CG_NONE : v1 ? CG_HYBRID : CG_V2;
	env->memory = c.memory || env->v1_memory[0];
	env->cpu = c.cpu || env->v1_cpu[0];
	env->pids = c.pids || env->v1_pids[0];
	return 0;
}

/* ---- creation ---- */

#define ERR(...) (err ? (void)snprintf(err, errlen, __VA_ARGS__) : (void)0)

/* @s is one or more '/'-separated components (@multi) or exactly one, none
 * empty, "." or "..". */
static bool valid_components(const char *s, bool multi)
{
	if (!s || !*s || strlen(s) >= CG_PATH_MAX)
		return false;
	const char *p = s;
	for (;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!e)
			return true;
		if (!multi)
			return false;
		p = e + 1;
	}
}

/* mkdir @path 0755 owned by root, or accept an existing directory (whose
 * mode and owner are left alone unless @fix).  0 or -errno. */
static int make_dir(const char *path, bool fix)
{
	struct stat st;
	if (mkdir(path, 0755) == 0) {
		fix = true; /* ours: undo the umask */
	} else if (errno != EEXIST) {
		return -errno;
	}
	if (stat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;
	if (fix && (st.st_mode & 07777) != 0755 && chmod(path, 0755))
		return -errno;
	if (fix && (st.st_uid != 0 || st.st_gid != 0) && chown(path, 0, 0))
		return -errno;
	return 0;
}

/* Enable @c's controllers in @dir's cgroup.subtree_control (one write each:
 * a failure names its controller).  0 or -errno with a message. */
static int enable_ctl(const char *dir, const struct v2_ctl *c, char *err, size_t errlen)
{
	static const char *names[] = {"memory", "cpu", "pids"};
	const bool want[] = {c->memory, c->cpu, c->pids};
	for (int i = 0; i < 3; i++) {
		char v[16];
		if (!want[i])
			continue;
		snprintf(v, sizeof(v), "+%s", names[i]);
		int e = write_file(dir, "cgroup.subtree_control", v);
		if (e) {
			ERR("enabling %s in %s/cgroup.subtree_control: %s", names[i], dir, strerror(-e));
			return e;
		}
	}
	return 0;
}

/* Make <@root>/<@base>/<@name> into @out (CG_PATH_MAX); in v2 (@ctl not
 * NULL) enable those controllers from the root down to <base>.  0 or -errno
 * with a message. */
static int make_tree(const char *root, const char *base, const char *name, const struct v2_ctl *ctl, char *out,
		     char *err, size_t errlen)
{
	char path[CG_PATH_MAX];
	int e;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s/%s", root, base, name) >= sizeof(path)) {
		ERR("%s/%s/%s: path too long", root, base, name);
		return -ENAMETOOLONG;
	}
	if (ctl && (e = enable_ctl(root, ctl, err, errlen)))
		return e;
	/* each component of base in turn: path is cut after it */
	size_t rlen = strlen(root);
	for (const char *p = base;;) {
		const char *slash = strchr(p, '/');
		size_t end = rlen + 1 + (size_t)((slash ? slash : p + strlen(p)) - base);
		char saved = path[end];
		path[end] = '\0';
		e = make_dir(path, false);
		if (e) {
			ERR("mkdir %s: %s", path, strerror(-e));
			return e;
		}
		if (ctl && (e = enable_ctl(path, ctl, err, errlen)))
			return e;
		path[end] = saved;
		if (!slash)
			break;
		p = slash + 1;
	}
	e = make_dir(path, true);
	if (e) {
		ERR("mkdir %s: %s", path, strerror(-e));
		return e;
	}
	strcpy(out, path);
	return 0;
}

/* Write @val to @dir/@file; a failure gets a message. */
static int set_file(const char *dir, const char *file, const char *val, char *err, size_t errlen)
{
	int e = write_file(dir, file, val);
	if (e)
		ERR("writing \"%s\" to %s/%s: %s", val, dir, file, strerror(-e));
	return e;
}

static int v2_limits(const char *dir, const struct v2_ctl *c, const struct cg_limits *lim, char *err,
		     size_t errlen)
{
	char v[64];
	int e;
	if (c->memory) {
		if (lim->memory_bytes)
			fmt_u64(v, lim->memory_bytes);
		else
			strcpy(v, "max");
		if ((e = set_file(dir, "memory.max", v, err, errlen)))
			return e;
		/* no swap for a limited client: the limit is on what it uses */
		e = write_file(dir, "memory.swap.max", lim->memory_bytes ? "0" : "max");
		if (e && e != -ENOENT) {
			ERR("writing %s/memory.swap.max: %s", dir, strerror(-e));
			return e;
		}
	}
	if (c->cpu) {
		if (lim->cpu_percent)
			snprintf(v, sizeof(v), "%llu %u", (unsigned long long)lim->cpu_percent * (CG_PERIOD_US / 100),
				 CG_PERIOD_US);
		else
			snprintf(v, sizeof(v), "max %u", CG_PERIOD_US);
		if ((e = set_file(dir, "cpu.max", v, err, errlen)))
			return e;
	}
	if (c->pids) {
		if (lim->pids)
			fmt_u64(v, lim->pids);
		else
			strcpy(v, "max");
		if ((e = set_file(dir, "pids.max", v, err, errlen)))
			return e;
	}
	return 0;
}

/* v1 memory: the limit, the same limit on memory+swap when swap accounting
 * exists, and swappiness 0.  memsw must stay >= the limit, so when raising
 * (the limit write fails with EINVAL) memsw goes first. */
static int v1_memory(const char *dir, uint64_t bytes, char *err, size_t errlen)
{
	char v[24];
	if (bytes)
		fmt_u64(v, bytes);
	else
		strcpy(v, "-1");
	bool memsw = file_exists(dir, "memory.memsw.limit_in_bytes");
	int e = write_file(dir, "memory.limit_in_bytes", v);
	if (e == -EINVAL && memsw) {
		if ((e = set_file(dir, "memory.memsw.limit_in_bytes", v, err, errlen)))
			return e;
		e = write_file(dir, "memory.limit_in_bytes", v);
	}
	if (e) {
		ERR("writing \"%s\" to %s/memory.limit_in_bytes: %s", v, dir, strerror(-e));
		return e;
	}
	if (memsw && (e = set_file(dir, "memory.memsw.limit_in_bytes", v, err, errlen)))
		return e;
	write_file(dir, "memory.swappiness", "0"); /* best effort: not every kernel lets us */
	return 0;
}

static int v1_cpu(const char *dir, uint32_t percent, char *err, size_t errlen)
{
	char v[24];
	int e;
	fmt_u64(v, CG_PERIOD_US);
	if ((e = set_file(dir, "cpu.cfs_period_us", v, err, errlen)))
		return e;
	if (percent)
		fmt_u64(v, (uint64_t)percent * (CG_PERIOD_US / 100));
	else
		strcpy(v, "-1");
	return set_file(dir, "cpu.cfs_quota_us", v, err, errlen);
}

static int v1_pids(const char *dir, uint32_t pids, char *err, size_t errlen)
{
	char v[24];
	if (pids)
		fmt_u64(v, pids);
	else
		strcpy(v, "max");
	return set_file(dir, "pids.max", v, err, errlen);
}

int cg_create(const struct cg_env *env, const char *base, const char *name, const struct cg_limits *lim,
	      struct ward_cgroup *out, char *err, size_t errlen)
{
	static const struct cg_limits none;
	struct v2_ctl c;
	int e;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	if (!lim)
		lim = &none;
	if (!valid_components(base, true) || !valid_components(name, false)) {
		ERR("bad cgroup base \"%s\" or name \"%s\"", base ? base : "", name ? name : "");
		return -EINVAL;
	}
	v2_controllers(env->v2_root, &c);
	bool m1 = !c.memory && env->v1_memory[0], p1 = !c.pids && env->v1_pids[0], u1 = !c.cpu && env->v1_cpu[0];
	if (lim->memory_bytes && !c.memory && !m1) {
		ERR("memory limit: no memory controller in cgroup v2 (%s) nor v1", env->v2_root[0] ? env->v2_root : "none");
		return -EOPNOTSUPP;
	}
	if (lim->cpu_percent && !c.cpu && !u1) {
		ERR("cpu limit: no cpu controller in cgroup v2 (%s) nor v1", env->v2_root[0] ? env->v2_root : "none");
		return -EOPNOTSUPP;
	}
	if (lim->pids && !c.pids && !p1) {
		ERR("pids limit: no pids controller in cgroup v2 (%s) nor v1", env->v2_root[0] ? env->v2_root : "none");
		return -EOPNOTSUPP;
	}
	if (!env->v2_root[0] && !m1 && !u1 && !p1) {
		ERR("no cgroup hierarchy mounted");
		return -EOPNOTSUPP;
	}
	if (lim->cpu_percent > 100000u) { /* 1000 CPUs: keeps the quota in range */
		ERR("cpu limit %u%%: too large", lim->cpu_percent);
		return -EINVAL;
	}

	if (env->v2_root[0]) {
		if ((e = make_tree(env->v2_root, base, name, &c, out->v2, err, errlen)))
			goto fail;
		struct stat st;
		if (stat(out->v2, &st)) {
			e = -errno;
			ERR("stat %s: %s", out->v2, strerror(errno));
			goto fail;
		}
		out->v2_id = (uint64_t)st.st_ino;
		if ((e = v2_limits(out->v2, &c, lim, err, errlen)))
			goto fail;
	}
	if (m1 && ((e = make_tree(env->v1_memory, base, name, NULL, out->memory, err, errlen)) ||
		   (e = v1_memory(out->memory, lim->memory_bytes, err, errlen))))
		goto fail;
	if (u1 && ((e = make_tree(env->v1_cpu, base, name, NULL, out->cpu, err, errlen)) ||
		   (e = v1_cpu(out->cpu, lim->cpu_percent, err, errlen))))
		goto fail;
	if (p1 && ((e = make_tree(env->v1_pids, base, name, NULL, out->pids, err, errlen)) ||
		   (e = v1_pids(out->pids, lim->pids, err, errlen))))
		goto fail;
	return 0;
fail:
	cg_destroy(out); /* rmdir never removes a populated one */
	memset(out, 0, sizeof(*out));
	return e;
}

#undef ERR

/* ---- processes ---- */

int cg_enter(const struct ward_cgroup *cg, pid_t pid)
{
	const char *dirs[] = {cg->v2, cg->memory, cg->cpu, cg->pids};
	char num[24];
	if (pid < 0)
		return -EINVAL;
	fmt_u64(num, (uint64_t)pid); /* "0" moves the writer */
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (!dirs[i][0])
			continue;
		int e = write_file(dirs[i], "cgroup.procs", num);
		if (e)
			return e;
	}
	return 0;
}

int cg_procs(const struct ward_cgroup *cg, pid_t *out, size_t max)
{
	const char *dirs[] = {cg->v2, cg->pids, cg->memory, cg->cpu};
	struct collect c = {.out = out, .max = out ? max : 0};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (!dirs[i][0])
			continue;
		int n = procs_each(dirs[i], collect_one, &c);
		return n < 0 ? n : (int)c.n;
	}
	return -ENOENT;
}

int cg_kill(const struct ward_cgroup *cg)
{
	const char *v1[] = {cg->pids, cg->memory, cg->cpu};
	const struct timespec pause = {0, CG_KILL_PAUSE_NS};
	bool have_kill = false;
	int e;

	if (cg->v2[0]) {
		e = write_file(cg->v2, "cgroup.kill", "1");
		if (e == 0)
			have_kill = true;
		else if (e != -ENOENT || !file_exists(cg->v2, "cgroup.procs"))
			return e; /* ENOENT of the directory itself, EACCES, ... */
	}
	for (int round = 0; round < CG_KILL_ROUNDS; round++) {
		int live = 0, n;
		if (cg->v2[0]) {
			/* with cgroup.kill: no pid can be recycled under us */
			n = procs_each(cg->v2, have_kill ? NULL : kill_one, NULL);
			if (n < 0)
				return n;
			live += n;
			if (n && have_kill)
				write_file(cg->v2, "cgroup.kill", "1");
		}
		for (size_t i = 0; i < sizeof(v1) / sizeof(v1[0]); i++) {
			if (!v1[i][0])
				continue;
			/* With a v2 directory, a process is in v1 alone only if
			 * someone moved it out of v2: give cgroup.kill its chance first. */
			bool by_pid = !cg->v2[0] || round >= CG_KILL_V1_AFTER;
			n = procs_each(v1[i], by_pid ? kill_one : NULL, NULL);
			if (n < 0)
				return n;
			live += n;
		}
		if (!live)
			return 0;
		nanosleep(&pause, NULL);
	}
	return -EBUSY;
}

int cg_kill_nowait(const struct ward_cgroup *cg)
{
	const char *v1[] = {cg->pids, cg->memory, cg->cpu};
	if (cg->v2[0] && write_file(cg->v2, "cgroup.kill", "1") == 0)
		return 0;
	/* no cgroup.kill: one SIGKILL to each process there now */
	int live = 0;
	if (cg->v2[0]) {
		int n = procs_each(cg->v2, kill_one, NULL);
		live += n > 0 ? n : 0;
	}
	for (size_t i = 0; i < sizeof(v1) / sizeof(v1[0]); i++)
		if (v1[i][0]) {
			int n = procs_each(v1[i], kill_one, NULL);
			live += n > 0 ? n : 0;
		}
	return live;
}

int cg_destroy(const struct ward_cgroup *cg)
{
	const char *dirs[] = {cg->v2, cg->memory, cg->cpu, cg->pids};
	int first = 0;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (!dirs[i][0] || rmdir(dirs[i]) == 0 || errno == ENOENT)
			continue;
		if (!first)
			first = -errno;
	}
	return first;
}

void cg_remove_base(const struct cg_env *env, const char *base)
{
	const char *roots[] = {env->v2_root, env->v1_memory, env->v1_cpu, env->v1_pids};
	char path[CG_PATH_MAX + 64];
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (roots[i][0] && cat_path(path, sizeof(path), roots[i], base) == 0)
			rmdir(path); /* only when empty: another wardd's clients may be there */
}

/* ---- statistics ---- */

int cg_stats(const struct ward_cgroup *cg, struct cg_stats *st)
{
	const char *dirs[] = {cg->v2, cg->memory, cg->cpu, cg->pids};
	uint64_t v = 0;
	int r;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		struct stat sb;
		if (dirs[i][0] && stat(dirs[i], &sb))
			return -errno;
	}
	st->memory_max = UINT64_MAX;
	st->pids_max = UINT32_MAX;

	if (cg->v2[0] && file_exists(cg->v2, "memory.current")) {
		if ((r = read_u64(cg->v2, "memory.current", UINT64_MAX, &st->memory_bytes)) < 0 ||
		    (r = read_u64(cg->v2, "memory.max", UINT64_MAX, &st->memory_max)) < 0 ||
		    (r = read_u64(cg->v2, "memory.peak", UINT64_MAX, &st->memory_peak)) < 0 ||
		    (r = read_key(cg->v2, "memory.events", "oom_kill", &st->oom_kills)) < 0)
			return r;
	} else if (cg->memory[0]) {
		if ((r = read_u64(cg->memory, "memory.usage_in_bytes", UINT64_MAX, &st->memory_bytes)) < 0 ||
		    (r = read_u64(cg->memory, "memory.limit_in_bytes", UINT64_MAX, &st->memory_max)) < 0 ||
		    (r = read_u64(cg->memory, "memory.max_usage_in_bytes", UINT64_MAX, &st->memory_peak)) < 0 ||
		    (r = read_key(cg->memory, "memory.oom_control", "oom_kill", &st->oom_kills)) < 0)
			return r;
	}

	if (cg->v2[0] && (r = read_key(cg->v2, "cpu.stat", "usage_usec", &v)) != 0) {
		if (r < 0)
			return r;
		st->cpu_usage_ns = v * 1000;
	} else if (cg->cpu[0] && (r = read_u64(cg->cpu, "cpuacct.usage", UINT64_MAX, &v)) != 0) {
		if (r < 0)
			return r;
		st->cpu_usage_ns = v;
	}

	const char *pdir = cg->v2[0] && file_exists(cg->v2, "pids.current") ? cg->v2 : cg->pids;
	if (pdir[0]) {
		if ((r = read_u64(pdir, "pids.current", UINT64_MAX, &v)) < 0)
			return r;
		st->pids = r ? (uint32_t)v : 0;
		if ((r = read_u64(pdir, "pids.max", UINT64_MAX, &v)) < 0)
			return r;
		st->pids_max = r && v < UINT32_MAX ? (uint32_t)v : UINT32_MAX;
	}
	return 0;
}

/* ---- paths ---- */

const char *cg_v2_relative(const struct cg_env *env, const struct ward_cgroup *cg)
{
	size_t n = strlen(env->v2_root);
	if (!cg->v2[0] || !n)
		return "";
	if (n == 1 && env->v2_root[0] == '/')
		return cg->v2; /* cgroup2 mounted on / itself */
	if (strncmp(cg->v2, env->v2_root, n) != 0 || cg->v2[n] != '/')
		return "";
	return cg->v2 + n;
}

int cg_of_pid(pid_t pid, char *out, size_t len)
{
	char path[64];
	if (pid < 0)
		return -EINVAL;
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	else
		strcpy(path, "/proc/self/cgroup");
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int err = -ENOENT;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		if ((size_t)n - 3 + 1 > len) {
			err = -ENAMETOOLONG;
		} else {
			memcpy(out, line + 3, (size_t)n - 3 + 1);
			err = 0;
		}
		break;
	}
	free(line);
	fclose(f);
	return err;
}
