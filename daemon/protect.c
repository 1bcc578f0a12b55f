/* SPDX-License-Identifier: Apache-2.0 */
/* protect.c — see protect.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include <ward/ward.h>
#include "broker.h"
#include "log.h"
#include "pipeline.h"
#include "protect.h"
#include "record.h"
#include "wire.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/* bpf(2) commands that take ward's programs away (or get a handle that can) */
#define BPF_CMD_PROG_DETACH 9
#define BPF_CMD_LINK_GET_FD_BY_ID 30
#define BPF_CMD_LINK_DETACH 34
#define INTENT_TRIES 25 /* × 20 µs: how long a thread may take to go to sleep */

struct obj {
	dev_t dev;
	ino_t ino;
};

static struct {
	char *paths[PROTECT_MAX_PATHS];
	int npaths;
	struct obj files[PROTECT_MAX_FILES]; /* marked one by one */
	int nfiles;
	struct obj dirs[PROTECT_MAX_DIRS];   /* marked for the files in them */
	char *dir_paths[PROTECT_MAX_DIRS];
	int ndirs;
	int fan_fd;
	uint64_t denied, unknown_intent, allowed_reads, tamper_calls, mark_errors;
	pid_t self;
	int (*is_client)(pid_t pid);
	int warned;
} P = {.fan_fd = -1};

void protect_set_client_fn(int (*fn)(pid_t pid))
{
	P.is_client = fn;
}

void protect_add(const char *path)
{
	if (P.npaths >= PROTECT_MAX_PATHS || !path || path[0] != '/')
		return;
	/* marks are on files, not names: follow the links now (a library's
	 * .so.0 is usually one) */
	char real[PATH_MAX];
	P.paths[P.npaths++] = strdup(realpath(path, real) ? real : path);
}

static void mark_file(const char *path)
{
	struct stat st;
	if (P.nfiles >= PROTECT_MAX_FILES || lstat(path, &st) || !S_ISREG(st.st_mode))
		return;
	if (fanotify_mark(P.fan_fd, FAN_MARK_ADD, FAN_OPEN_PERM, AT_FDCWD, path)) {
		P.mark_errors++;
		log_warn("self-protection: mark %s", path);
		return;
	}
	P.files[P.nfiles++] = (struct obj){st.st_dev, st.st_ino};
}

static void mark_dir(const char *path, int depth)
{
	struct stat st;
	if (P.ndirs >= PROTECT_MAX_DIRS || lstat(path, &st) || !S_ISDIR(st.st_mode))
		return;
	if (fanotify_mark(P.fan_fd, FAN_MARK_ADD, FAN_OPEN_PERM | FAN_EVENT_ON_CHILD, AT_FDCWD, path)) {
		P.mark_errors++;
		log_warn("self-protection: mark %s", path);
		return;
	}
	P.dirs[P.ndirs] = (struct obj){st.st_dev, st.st_ino};
	P.dir_paths[P.ndirs++] = strdup(path);
	if (depth >= 4)
		return;
	/* O_PATH-free listing: opendir opens the directory, which no mark
	 * of ours covers (FAN_ONDIR is not asked for) */
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *e;
	char sub[PATH_MAX];
	while ((e = readdir(d)) && P.ndirs < PROTECT_MAX_DIRS) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= sizeof(sub))
			continue;
		if (e->d_type == DT_DIR)
			mark_dir(sub, depth + 1);
		else if (e->d_type == DT_REG)
			mark_file(sub); /* by inode too: a hard link elsewhere is the same file */
	}
	closedir(d);
}

int protect_start(int fan_fd)
{
	P.fan_fd = fan_fd;
	P.self = getpid();
	P.nfiles = 0;
	for (int i = 0; i < P.ndirs; i++)
		free(P.dir_paths[i]);
	P.ndirs = 0;
	for (int i = 0; i < P.npaths; i++) {
		struct stat st;
		if (lstat(P.paths[i], &st)) {
			if (!P.warned)
				log_warnx("self-protection: %s does not exist: nothing to protect there", P.paths[i]);
			continue;
		}
		if (S_ISDIR(st.st_mode))
			mark_dir(P.paths[i], 0);
		else if (S_ISREG(st.st_mode))
			mark_file(P.paths[i]);
		else if (!P.warned)
			log_warnx("self-protection: %s is neither a file nor a directory: not protected", P.paths[i]);
	}
	P.warned = 1; /* re-marking after a flush says nothing new */
	return P.nfiles + P.ndirs;
}

bool protect_covers(int fd, const struct stat *st)
{
	if (!P.nfiles && !P.ndirs)
		return false;
	for (int i = 0; i < P.nfiles; i++)
		if (P.files[i].dev == st->st_dev && P.files[i].ino == st->st_ino)
			return true;
	bool same_dev = false;
	for (int i = 0; i < P.ndirs && !same_dev; i++)
		same_dev = P.dirs[i].dev == st->st_dev;
	if (!same_dev || !P.ndirs)
		return false;
	/* in a protected directory?  Its current name says (procfs: no
	 * permission event) */
	char link[64], path[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	char *slash = strrchr(path, '/');
	if (!slash)
		return false;
	*slash = '\0';
	for (int i = 0; i < P.ndirs; i++)
		if (!strcmp(P.dir_paths[i], path[0] ? path : "/"))
			return true;
	return false;
}

/* What one thread is doing: 1 an open for writing, 0 an open for reading
 * or an exec, -1 something else. */
static int thread_intent(pid_t pid, const char *tid, int *budget)
{
	char path[96], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/task/%s/syscall", (int)pid, tid);
	unsigned long long a[7] = {0};
	long nr;
	char *p, *end;
	/* The opener queues its event and only then goes to sleep for the
	 * answer: read at once, it may still be "running" for a moment. */
	for (;;) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return -1;
		buf[n] = '\0';
		p = buf;
		nr = strtol(p, &end, 10);
		if (end != p)
			break;
		if (*budget <= 0)
			return -1; /* still running: not in a system call we know */
		(*budget)--;
		struct timespec ts = {0, 20000};
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < 6; i++) {
		p = end;
		a[i] = strtoull(p, &end, 16);
		if (end == p)
			return -1;
	}
	unsigned long long flags;
	switch (nr) {
	case SYS_execve:
	case SYS_execveat:
		return 0;
	case SYS_creat:
		return 1;
	case SYS_open:
		flags = a[1];
		break;
	case SYS_openat:
	case SYS_open_by_handle_at:
		flags = a[2];
		break;
	case SYS_openat2:
		/* its flags are in the caller's memory, which another thread
		 * can rewrite after the kernel read them (and reading it could
		 * block this thread on a page the caller controls): taken as a
		 * write */
		return 1;
	default:
		return -1;
	}
	return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) ? 1 : 0;
}

/* One look at every thread of @pid; running threads are looked at again
 * while @budget lasts. */
static int scan_threads(pid_t pid, int *budget)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int any_read = 0, any_write = 0, threads = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		/* bounded work on the main thread: a process with more threads
		 * than this cannot be judged, and is refused (fail-closed) */
		if (++threads > PROTECT_MAX_THREADS) {
			any_read = any_write = 0;
			break;
		}
		int k = thread_intent(pid, e->d_name, budget);
		any_write |= k == 1;
		any_read |= k == 0;
	}
	closedir(d);
	return any_write ? 1 : any_read ? 0 : -1;
}

int protect_write_intent(pid_t pid)
{
	/* first without waiting; then, if no thread was seen in an open yet
	 * (the opener may not have gone to sleep), a little longer */
	int none = 0, budget = INTENT_TRIES;
	int k = scan_threads(pid, &none);
	if (k < 0)
		k = scan_threads(pid, &budget);
	if (k < 0)
		P.unknown_intent++;
	return k;
}

/* ---- tamper events ---- */

static _Alignas(8) uint8_t tbuf[WARD_REC_MAX];

static void tamper_event(const char *kind, pid_t actor, pid_t tid, int prevented, const char *path, int64_t target,
			 uint64_t sig, uint64_t cmd, int64_t result, uint32_t from_type)
{
	if (!((broker_mask() >> WARD_EV_TAMPER) & 1))
		return;
	struct ward_rec_builder b;
	ward_rb_init(&b, tbuf, sizeof(tbuf), WARD_EV_TAMPER);
	pipeline_add_process_of(&b, (uint32_t)actor, (uint32_t)tid);
	ward_rb_str(&b, WARD_F_NAME, kind, strlen(kind));
	ward_rb_u64(&b, WARD_F_PREVENTED, (uint64_t)prevented);
	if (path)
		ward_rb_str(&b, WARD_F_PATH, path, strlen(path));
	if (from_type == WARD_EV_SIGNAL || from_type == WARD_EV_PTRACE) {
		ward_rb_i64(&b, WARD_F_TARGET_PID, target);
		ward_rb_i64(&b, WARD_F_RESULT, result);
		if (from_type == WARD_EV_SIGNAL)
			ward_rb_u64(&b, WARD_F_SIGNAL, sig);
	} else if (from_type == WARD_EV_BPF) {
		ward_rb_u64(&b, WARD_F_BPF_CMD, cmd);
		ward_rb_i64(&b, WARD_F_RESULT, result);
	}
	size_t n = ward_rb_finish(&b);
	if (!n)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	pipeline_stamp(tbuf, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
	broker_deliver(WARD_EV_TAMPER, tbuf, n);
}

void protect_denied(pid_t pid, int fd)
{
	char link[64], path[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	P.denied++;
	log_warnx("self-protection: pid %d may not write %s: denied", (int)pid, path);
	tamper_event("write", pid, pid, 1, path, 0, 0, 0, -EPERM, WARD_EV_AUTH_OPEN);
}

/* Is @pid ward: wardd, or one of its supervised clients (by cgroup)? */
static bool is_ward(int64_t pid)
{
	if (pid == P.self)
		return true;
	if (pid <= 0)
		return pid == -1 || -pid == getpgrp(); /* everyone, or wardd's group */
	return P.is_client && P.is_client((pid_t)pid);
}

void protect_check_call(uint32_t type, pid_t actor, pid_t actor_tid, int64_t target, uint64_t sig, uint64_t cmd,
			int64_t result)
{
	if (actor == P.self)
		return;
	switch (type) {
	case WARD_EV_SIGNAL:
		if (sig == 0 || !is_ward(target))
			return; /* sig 0 only asks whether it lives */
		P.tamper_calls++;
		tamper_event("kill", actor, actor_tid, 0, NULL, target, sig, 0, result, type);
		break;
	case WARD_EV_PTRACE:
		if (!is_ward(target))
			return;
		P.tamper_calls++;
		tamper_event("ptrace", actor, actor_tid, 0, NULL, target, 0, 0, result, type);
		break;
	case WARD_EV_BPF:
		if (cmd != BPF_CMD_LINK_DETACH && cmd != BPF_CMD_PROG_DETACH && cmd != BPF_CMD_LINK_GET_FD_BY_ID)
			return;
		P.tamper_calls++;
		tamper_event("bpf", actor, actor_tid, 0, NULL, 0, 0, cmd, result, type);
		break;
	}
}

uint64_t protect_sensor_mask(void)
{
	return (1ull << WARD_EV_SIGNAL) | (1ull << WARD_EV_PTRACE) | (1ull << WARD_EV_BPF);
}

void protect_status(struct json_object *o)
{
	struct json_object *j = json_object_new_object();
	struct json_object *how = json_object_new_object();
	json_object_object_add(how, "write_open_of_ward_files",
			       json_object_new_string(P.fan_fd >= 0 ? "prevented" : "not covered (no fanotify)"));
	json_object_object_add(how, "rename_or_unlink_of_ward_files", json_object_new_string("not covered"));
	json_object_object_add(how, "kill", json_object_new_string("detected"));
	json_object_object_add(how, "ptrace", json_object_new_string("detected"));
	json_object_object_add(how, "bpf_detach", json_object_new_string("detected"));
	json_object_object_add(j, "coverage", how);
	json_object_object_add(j, "why_not_prevented",
			       json_object_new_string("preventing kill, ptrace and bpf needs LSM-BPF, which this kernel "
						      "refuses to attach (kernel.lsm_bpf_file_open)"));
	json_object_object_add(j, "protected_files", json_object_new_int(P.nfiles));
	json_object_object_add(j, "protected_dirs", json_object_new_int(P.ndirs));
	json_object_object_add(j, "writes_denied", json_object_new_uint64(P.denied));
	json_object_object_add(j, "denied_unknown_intent", json_object_new_uint64(P.unknown_intent));
	json_object_object_add(j, "tamper_calls_reported", json_object_new_uint64(P.tamper_calls));
	json_object_object_add(j, "mark_errors", json_object_new_uint64(P.mark_errors));
	json_object_object_add(o, "self_protection", j);
}
