/* SPDX-License-Identifier: Apache-2.0 */
/*
 * protect.h — self-protection.  wardd's own files (its executable, the
 * manifests, the clients' executables and content, its journal, and what
 * --protect names) may not be opened for writing by anybody but wardd while
 * it runs: auth.c's fanotify group marks them (FAN_OPEN_PERM) whatever the
 * clients subscribe to, and asks this module what to answer.  Signals,
 * ptrace and BPF detach commands aimed at ward are reported as `tamper`
 * events (this kernel refuses LSM-BPF, so they cannot be prevented).
 *
 * Whether an open is for writing: the opening thread is blocked in its
 * open system call while wardd decides, so /proc/PID/task/TID/syscall
 * holds the call and its flags (openat2's struct open_how is read from the
 * process).  When no thread of the process is in a call wardd understands
 * (io_uring, say), the open is denied: for these files, fail-closed.
 *
 * Main thread only.
 */
#ifndef WARDD_PROTECT_H
#define WARDD_PROTECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct json_object;

#define PROTECT_MAX_PATHS 64
#define PROTECT_MAX_DIRS 256  /* directories marked, subdirectories included */
#define PROTECT_MAX_FILES 1024 /* files marked one by one */
#define PROTECT_MAX_THREADS 64 /* threads of an opener looked at, at most */

/* Add @path (a file, or a directory: the files in it and in its
 * subdirectories, as they are now) to what is protected.  Before
 * protect_start(). */
void protect_add(const char *path);
/* Mark everything added on fanotify group @fan_fd.  Returns the number of
 * objects marked. */
int protect_start(int fan_fd);
/* Whether the file @st (of an event's descriptor @fd) is protected. */
bool protect_covers(int fd, const struct stat *st);
/* Whether process @pid is opening a file for writing now (1), only for
 * reading or executing (0).  -1: cannot tell (then deny). */
int protect_write_intent(pid_t pid);
/* A write-open of a protected file was denied: count it and report it as a
 * tamper event (path from @fd). */
void protect_denied(pid_t pid, int fd);
/* The sensors' record of a signal, ptrace or bpf call by @actor against
 * @target (signal @sig, bpf command @cmd): a tamper event when it is aimed
 * at ward.  Called by the pipeline for every such record. */
void protect_check_call(uint32_t type, pid_t actor, pid_t actor_tid, int64_t target, uint64_t sig, uint64_t cmd,
			int64_t result);
/* Whether @pid is one of ward's supervised clients (the supervisor). */
void protect_set_client_fn(int (*fn)(pid_t pid));
/* Event types the sensors must watch for self-protection. */
uint64_t protect_sensor_mask(void);
void protect_status(struct json_object *o);

#endif
