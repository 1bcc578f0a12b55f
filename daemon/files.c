/* SPDX-License-Identifier: Apache-2.0 */
/*
 * files.c — see files.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"

int file_read_all(const char *path, size_t max, uint8_t **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (S_ISDIR(st.st_mode))
		r = -EISDIR;
	else if (!S_ISREG(st.st_mode))
		r = -EINVAL;
	else if ((uint64_t)st.st_size > max)
		r = -EFBIG;
	if (r) {
		if (r == -EFBIG)
			*len = (size_t)st.st_size;
		close(fd);
		return r;
	}
	size_t size = (size_t)st.st_size, off = 0;
	uint8_t *buf = malloc(size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (off < size) {
		ssize_t n = read(fd, buf + off, size - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			free(buf);
			close(fd);
			return r;
		}
		if (n == 0)
			break; /* it shrank meanwhile: what is there */
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	*out = buf;
	*len = off;
	return 0;
}

ssize_t file_read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t off = 0;
	int err = 0;
	while (off < cap) {
		ssize_t n = read(fd, buf + off, cap - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			err = -errno;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	return off || !err ? (ssize_t)off : err;
}

int file_write_atomic(const char *path, const void *data, size_t len, bool replace)
{
	char *tmp;
	if (asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0)
		return -ENOMEM;
	int fd = mkostemp(tmp, O_CLOEXEC), r = 0;
	if (fd < 0) {
		r = -errno;
		free(tmp);
		return r;
	}
	if (fchmod(fd, 0644) < 0)
		r = -errno;
	for (size_t off = 0; !r && off < len;) {
		ssize_t n = write(fd, (const char *)data + off, len - off);
		if (n < 0 && errno != EINTR)
			r = -errno;
		else if (n > 0)
			off += (size_t)n;
	}
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && replace && rename(tmp, path) < 0) {
		r = -errno;
	} else if (!r && !replace && link(tmp, path) < 0) {
		struct stat st;
		r = -errno;
		if ((r == -EPERM || r == -EOPNOTSUPP || r == -EMLINK) && lstat(path, &st) < 0 && errno == ENOENT) {
			/* no hard links on this file system: not atomic, but no clobbering either */
			r = rename(tmp, path) < 0 ? -errno : 0;
			if (!r) {
				free(tmp);
				return 0;
			}
		}
	}
	if (r || !replace)
		unlink(tmp);
	free(tmp);
	return r;
}
