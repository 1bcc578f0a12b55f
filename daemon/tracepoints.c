/* SPDX-License-Identifier: Apache-2.0 */
/* tracepoints.c — see tracepoints.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "files.h"
#include "log.h"
#include "tracepoints.h"

static int read_id(const char *events, const char *name)
{
	char path[PATH_MAX], buf[32];
	snprintf(path, sizeof(path), "%s/syscalls/%s/id", events, name);
	ssize_t n = file_read_small(path, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *end;
	long id = strtol(buf, &end, 10);
	return end != buf && id > 0 && id < INT32_MAX ? (int)id : -1;
}

static void read_all(const char *events, const char *const *names, int n, int *ids)
{
	for (int i = 0; i < n; i++)
		ids[i] = read_id(events, names[i]);
}

int tracepoint_ids(const char *scratch_dir, const char *const *names, int n, int *ids)
{
	static const char *const mounted[] = {"/sys/kernel/tracing/events",
					      "/sys/kernel/debug/tracing/events"};
	for (size_t i = 0; i < sizeof(mounted) / sizeof(mounted[0]); i++) {
		char probe[PATH_MAX];
		snprintf(probe, sizeof(probe), "%s/syscalls", mounted[i]);
		if (access(probe, F_OK) == 0) {
			read_all(mounted[i], names, n, ids);
			return 0;
		}
	}
	/* No tracefs mounted (as on a minimal VM): mount one where nobody else
	 * looks, read the ids, and take it away again.  The ids stay valid for
	 * the life of the kernel; the perf events do not need the mount. */
	char dir[PATH_MAX], events[PATH_MAX + 8];
	snprintf(dir, sizeof(dir), "%s/.tracefs-%d", scratch_dir, (int)getpid());
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	if (mount("tracefs", dir, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
		int err = -errno;
		rmdir(dir);
		return err;
	}
	snprintf(events, sizeof(events), "%s/events", dir);
	read_all(events, names, n, ids);
	if (umount2(dir, MNT_DETACH))
		log_warn("umount %s", dir);
	rmdir(dir);
	return 0;
}

int tracepoint_perf_fd(int id)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.config = (unsigned long long)id,
		.sample_period = 1,
		.wakeup_events = 1,
	};
	/* pid -1, cpu 0: a BPF program on a tracepoint event runs on every CPU */
	return (int)syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
}

struct bpf_link *tracepoint_attach(struct bpf_program *prog, int id)
{
	int pfd = tracepoint_perf_fd(id);
	if (pfd < 0)
		return NULL;
	struct bpf_link *l = bpf_program__attach_perf_event(prog, pfd);
	if (!l) {
		int err = errno;
		close(pfd);
		errno = err;
	}
	return l;
}
