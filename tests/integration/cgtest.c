/* SPDX-License-Identifier: Apache-2.0 */
/* cgtest.c — see cgtest.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cgtest.h"

void cgtest_kill(const char *dir)
{
	char path[PATH_MAX + 32], buf[4096];
	if (!dir[0])
		return;
	size_t n = strlen(dir);
	if (n + sizeof("/cgroup.procs") > sizeof(path))
		return;
	memcpy(path, dir, n);
	memcpy(path + n, "/cgroup.procs", sizeof("/cgroup.procs"));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return;
	buf[len] = '\0';
	long pid = 0;
	for (char *p = buf; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			pid = pid * 10 + (*p - '0');
		} else {
			if (pid > 0)
				kill((pid_t)pid, SIGKILL);
			pid = 0;
		}
	}
}

void cgtest_remove(const char *sub, const char *top)
{
	cgtest_kill(sub);
	cgtest_kill(top);
	for (int i = 0; sub[0] && i < 100 && rmdir(sub) && errno == EBUSY; i++)
		usleep(10000);
	for (int i = 0; top[0] && i < 100 && rmdir(top) && errno == EBUSY; i++)
		usleep(10000);
}
