/* SPDX-License-Identifier: Apache-2.0 */
/* cgtest.c — see cgtest.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cgtest.h"

static int make_one(const char *who, char *path, bool reuse)
{
	if (mkdir(path, 0755) == 0 || (reuse && errno == EEXIST))
		return 0;
	fprintf(stderr, "%s: mkdir %s: %s\n", who, path, strerror(errno));
	path[0] = '\0';
	return -1;
}

int cgtest_make(const char *who, const char *name, const char *subname, bool reuse, char *top, size_t toplen,
		char *sub, size_t sublen)
{
	static const char *roots[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
	const char *root = NULL;
	top[0] = sub[0] = '\0';
	for (size_t i = 0; i < 2 && !root; i++) {
		struct statfs sf;
		if (statfs(roots[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
			root = roots[i];
	}
	if (!root) {
		fprintf(stderr, "%s: no cgroup v2 hierarchy mounted\n", who);
		return -1;
	}
	snprintf(top, toplen, "%s/%s", root, name);
	if (make_one(who, top, reuse))
		return -1;
	snprintf(sub, sublen, "%s/%s", top, subname);
	return make_one(who, sub, reuse);
}

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
