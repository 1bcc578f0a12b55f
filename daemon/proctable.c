/* SPDX-License-Identifier: Apache-2.0 */
/* proctable.c — see proctable.h.  A chained hash table keyed by tgid. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <signal.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "files.h"
#include "log.h"
#include "proctable.h"

#define NBUCKETS 65536u

static struct proc **buckets;
static size_t nprocs;

/* cgroup id -> container id, so /proc/<pid>/cgroup is read once per cgroup */
struct cgcache {
	uint64_t cgroup_id;
	char id[72];
};
#define CGCACHE_SIZE 1024u
static struct cgcache cgcache[CGCACHE_SIZE];

char proc_cgroup2_root[64];

static void proc_destroy(struct proc *p);

static void find_cgroup2_root(void)
{
	static const char *const cands[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
	for (size_t i = 0; i < 2; i++) {
		struct statfs sf;
		if (statfs(cands[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
			snprintf(proc_cgroup2_root, sizeof(proc_cgroup2_root), "%s", cands[i]);
			return;
		}
	}
	proc_cgroup2_root[0] = '\0';
}

int proctable_init(void)
{
	find_cgroup2_root();
	buckets = calloc(NBUCKETS, sizeof(*buckets));
	return buckets ? 0 : -ENOMEM;
}

int proc_same_start(const struct proc *p, uint64_t start_time)
{
	if (p->start_time == 0 || start_time == 0)
		return 1; /* unknown: assume the same */
	if (!p->from_proc)
		return p->start_time == start_time;
	/* /proc counts clock ticks: allow one tick either way */
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t tick = 1000000000ull / (uint64_t)(hz > 0 ? hz : 100);
	uint64_t d = p->start_time > start_time ? p->start_time - start_time : start_time - p->start_time;
	return d <= tick;
}

size_t proctable_sweep(void)
{
	size_t gone = 0;
	for (size_t i = 0; i < NBUCKETS; i++) {
		struct proc **pp = &buckets[i];
		while (*pp) {
			struct proc *p = *pp;
			if (kill((pid_t)p->pid, 0) && errno == ESRCH) {
				*pp = p->next;
				proc_destroy(p);
				nprocs--;
				gone++;
			} else {
				pp = &p->next;
			}
		}
	}
	return gone;
}

static void proc_destroy(struct proc *p)
{
	free(p->exe);
	free(p->argv);
	free(p->cwd);
	free(p);
}

void proctable_free(void)
{
	if (!buckets)
		return;
	for (size_t i = 0; i < NBUCKETS; i++) {
		struct proc *p = buckets[i], *n;
		for (; p; p = n) {
			n = p->next;
			proc_destroy(p);
		}
	}
	free(buckets);
	buckets = NULL;
	nprocs = 0;
}

size_t proctable_count(void)
{
	return nprocs;
}

struct proc *proc_find(uint32_t pid)
{
	for (struct proc *p = buckets[pid % NBUCKETS]; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

static struct proc *proc_insert(uint32_t pid)
{
	struct proc *p = calloc(1, sizeof(*p));
	if (!p)
		fatal("calloc");
	p->pid = pid;
	p->next = buckets[pid % NBUCKETS];
	buckets[pid % NBUCKETS] = p;
	nprocs++;
	return p;
}

void proc_remove(uint32_t pid)
{
	struct proc **pp = &buckets[pid % NBUCKETS];
	for (; *pp; pp = &(*pp)->next) {
		if ((*pp)->pid == pid) {
			struct proc *p = *pp;
			*pp = p->next;
			proc_destroy(p);
			nprocs--;
			return;
		}
	}
}

void proc_set_str(char **field, const char *s)
{
	free(*field);
	*field = s ? strdup(s) : NULL;
}

void proc_set_argv(struct proc *p, const char *argv, size_t len)
{
	free(p->argv);
	p->argv = NULL;
	p->argv_len = 0;
	if (!argv || !len)
		return;
	p->argv = malloc(len);
	if (!p->argv)
		fatal("malloc");
	memcpy(p->argv, argv, len);
	p->argv_len = len;
}

static char *readlink_dup(const char *path)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return strdup(buf);
}

/* ppid and start time (clock ticks since boot) from /proc/<pid>/stat. */
static void read_stat(struct proc *p)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%u/stat", p->pid);
	ssize_t n = file_read_small(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return;
	buf[n] = '\0';
	char *s = strrchr(buf, ')'); /* comm may contain spaces and parens */
	if (!s)
		return;
	unsigned long long fields[20] = {0};
	/* after ") ": state ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime stime cutime cstime prio nice threads itreal start */
	char state;
	if (sscanf(s + 1, " %c %llu %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %llu",
		   &state, &fields[0], &fields[1]) == 3) {
		p->ppid = (uint32_t)fields[0];
		long hz = sysconf(_SC_CLK_TCK);
		p->start_time = fields[1] * (1000000000ull / (unsigned long long)(hz > 0 ? hz : 100));
	}
}

static void fill_from_proc(struct proc *p)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%u/exe", p->pid);
	proc_set_str(&p->exe, NULL);
	p->exe = readlink_dup(path);
	snprintf(path, sizeof(path), "/proc/%u/cwd", p->pid);
	proc_set_str(&p->cwd, NULL);
	p->cwd = readlink_dup(path);
	char buf[4096];
	snprintf(path, sizeof(path), "/proc/%u/cmdline", p->pid);
	ssize_t n = file_read_small(path, buf, sizeof(buf));
	proc_set_argv(p, n > 0 ? buf : NULL, n > 0 ? (size_t)n : 0);
	read_stat(p);
	snprintf(path, sizeof(path), "/proc/%u/comm", p->pid);
	n = file_read_small(path, p->comm, sizeof(p->comm) - 1);
	p->comm[n > 0 ? n - (p->comm[n - 1] == '\n') : 0] = '\0';
	p->from_proc = 1;
}

int proc_read_status(uint32_t pid, struct proc_status *st)
{
	char path[64], buf[2048];
	snprintf(path, sizeof(path), "/proc/%u/status", pid);
	ssize_t n = file_read_small(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	int got = 0;
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		unsigned a, b;
		if (strncmp(line, "Name:\t", 6) == 0) {
			size_t len = strcspn(line + 6, "\n");
			if (len >= sizeof(st->comm))
				len = sizeof(st->comm) - 1;
			memcpy(st->comm, line + 6, len);
			st->comm[len] = '\0';
			got |= 1;
		} else if (sscanf(line, "PPid:\t%u", &a) == 1) {
			st->ppid = a;
			got |= 2;
		} else if (sscanf(line, "Uid:\t%u\t%u", &a, &b) == 2) {
			st->uid = a;
			st->euid = b;
			got |= 4;
		} else if (sscanf(line, "Gid:\t%u\t%u", &a, &b) == 2) {
			st->gid = a;
			st->egid = b;
			got |= 8;
			break; /* the last line wanted */
		}
	}
	return got == 15 ? 0 : -EPROTO;
}

/* PIDFD_GET_INFO (Linux 6.13): a process's ids in two system calls, where
 * /proc/<pid>/status costs an open, a long formatted read and a close.
 * Debian 12's headers predate it: the first published layout, by hand. */
struct ward_pidfd_info {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid, spare0;
};
#define WARD_PIDFD_GET_INFO _IOWR(0xFF, 11, struct ward_pidfd_info)
#define WARD_PIDFD_INFO_CREDS (1ull << 1)
#define WARD_PIDFD_INFO_CGROUPID (1ull << 2)

int proc_read_ids(uint32_t pid, struct proc_status *st, uint64_t *cgroup_id)
{
	static int no_pidfd_info;
	*cgroup_id = 0;
	if (!no_pidfd_info) {
		int fd = (int)syscall(SYS_pidfd_open, pid, 0);
		if (fd < 0)
			return -ESRCH;
		struct ward_pidfd_info info = {.mask = WARD_PIDFD_INFO_CREDS | WARD_PIDFD_INFO_CGROUPID};
		int r = ioctl(fd, WARD_PIDFD_GET_INFO, &info);
		int err = errno;
		close(fd);
		if (r == 0 && (info.mask & WARD_PIDFD_INFO_CREDS)) {
			st->ppid = info.ppid;
			st->uid = info.ruid;
			st->euid = info.euid;
			st->gid = info.rgid;
			st->egid = info.egid;
			st->comm[0] = '\0';
			if (info.mask & WARD_PIDFD_INFO_CGROUPID)
				*cgroup_id = info.cgroupid;
			return 0;
		}
		if (r == 0 || err == ESRCH)
			return -ESRCH;
		no_pidfd_info = 1; /* an older kernel: /proc from now on */
	}
	return proc_read_status(pid, st);
}

void proc_refresh(struct proc *p)
{
	char path[64], buf[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/%u/exe", p->pid);
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return; /* gone: keep what we knew */
	buf[n] = '\0';
	if (!p->exe || strcmp(p->exe, buf)) {
		fill_from_proc(p); /* it exec'ed and nobody told us */
		return;
	}
	snprintf(path, sizeof(path), "/proc/%u/cwd", p->pid);
	proc_set_str(&p->cwd, NULL);
	p->cwd = readlink_dup(path);
	snprintf(path, sizeof(path), "/proc/%u/comm", p->pid);
	n = file_read_small(path, p->comm, sizeof(p->comm) - 1);
	p->comm[n > 0 ? n - (p->comm[n - 1] == '\n') : 0] = '\0';
}

struct proc *proc_get(uint32_t pid)
{
	struct proc *p = proc_find(pid);
	if (p)
		return p;
	p = proc_insert(pid);
	fill_from_proc(p);
	return p;
}

struct proc *proc_fork(uint32_t pid, const struct proc *parent, uint64_t start_time)
{
	proc_remove(pid); /* a stale entry of a reused pid */
	struct proc *p = proc_insert(pid);
	if (parent) {
		p->ppid = parent->pid;
		p->exe = parent->exe ? strdup(parent->exe) : NULL;
		p->cwd = parent->cwd ? strdup(parent->cwd) : NULL;
		proc_set_argv(p, parent->argv, parent->argv_len);
		p->cgroup_id = parent->cgroup_id;
		memcpy(p->container_id, parent->container_id, sizeof(p->container_id));
		memcpy(p->comm, parent->comm, sizeof(p->comm));
	}
	p->start_time = start_time;
	return p;
}

int proctable_seed(void)
{
	DIR *d = opendir("/proc");
	if (!d) {
		log_warn("opendir /proc");
		return 0;
	}
	int added = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		uint32_t pid = (uint32_t)strtoul(de->d_name, NULL, 10);
		if (pid == 0 || proc_find(pid))
			continue;
		proc_get(pid);
		added++;
	}
	closedir(d);
	return added;
}

static int is_hex_run(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return 0;
	return 1;
}

int container_id_from_cgroup_path(const char *path, char *out, size_t outlen)
{
	/* A container id is a run of 64 lowercase hex digits forming a whole
	 * path component, or one after a runtime's prefix ("docker-",
	 * "cri-containerd-", "crio-", "libpod-") with an optional ".scope". */
	const char *s = path;
	while (s && *s) {
		const char *comp = s + (*s == '/');
		const char *end = strchr(comp, '/');
		size_t len = end ? (size_t)(end - comp) : strlen(comp);
		for (size_t off = 0; off + 64 <= len; off++) {
			if (off > 0 && comp[off - 1] != '-')
				continue;
			const char *c = comp + off;
			size_t rest = len - off - 64;
			if (is_hex_run(c, 64) &&
			    (rest == 0 || (rest == 6 && strncmp(c + 64, ".scope", 6) == 0))) {
				if (outlen < 65)
					return 0;
				memcpy(out, c, 64);
				out[64] = '\0';
				return 1;
			}
		}
		s = end;
	}
	return 0;
}

/*
 * Read /proc/@pid/cgroup: the container id its paths name (empty if none)
 * into @id, and whether the process is still in cgroup v2 @cgroup_id (its
 * "0::" path is that directory).  Returns -1 if /proc has no answer.
 */
static int lookup_container(uint32_t pid, uint64_t cgroup_id, char id[72], int *still_there)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	ssize_t n = file_read_small(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	id[0] = '\0';
	*still_there = proc_cgroup2_root[0] == '\0'; /* nothing to check against */
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *colon = strchr(line, ':');
		colon = colon ? strchr(colon + 1, ':') : NULL;
		if (!colon)
			continue;
		if (strncmp(line, "0::", 3) == 0 && proc_cgroup2_root[0]) {
			char dir[PATH_MAX];
			struct stat st;
			snprintf(dir, sizeof(dir), "%s%s", proc_cgroup2_root, colon + 1);
			*still_there = stat(dir, &st) == 0 && (uint64_t)st.st_ino == cgroup_id;
		}
		if (!id[0])
			container_id_from_cgroup_path(colon + 1, id, 72);
	}
	return 0;
}

const char *proc_container_id(struct proc *p, uint64_t cgroup_id)
{
	if (p->cgroup_id == cgroup_id && cgroup_id != 0)
		return p->container_id[0] ? p->container_id : NULL;
	struct cgcache *c = &cgcache[cgroup_id % CGCACHE_SIZE];
	char id[72];
	int still_there = 0;
	if (cgroup_id != 0 && c->cgroup_id == cgroup_id) {
		memcpy(id, c->id, sizeof(id));
	} else if (lookup_container(p->pid, cgroup_id, id, &still_there) < 0 || !still_there) {
		/* gone, or moved since the event: what /proc says now does not
		 * describe the event's cgroup; ask again next time */
		p->cgroup_id = 0;
		p->container_id[0] = '\0';
		return NULL;
	} else {
		c->cgroup_id = cgroup_id;
		memcpy(c->id, id, sizeof(c->id));
	}
	p->cgroup_id = cgroup_id;
	memcpy(p->container_id, id, sizeof(p->container_id));
	return p->container_id[0] ? p->container_id : NULL;
}
