/* SPDX-License-Identifier: Apache-2.0 */
/*
 * files.h — reading and writing files whole: small /proc, cgroup and
 * tracefs files (which no permission mark can reach), and content bundles
 * and their state (wardd's content worker; `ward content` compiles this
 * file in).  wardd's main thread must not open a file a permission mark
 * could reach once marks exist: it would wait on itself.
 */
#ifndef WARDD_FILES_H
#define WARDD_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The regular file @path, NUL-terminated (the NUL not counted in *@len),
 * malloc'd into *@out (NULL on any error).  0; -EFBIG when longer than @max (*@len: its size,
 * nothing read); -EISDIR; -EINVAL when not a regular file; -ENOMEM; or
 * the -errno of open/read.  A file that shrinks meanwhile is read as far
 * as it goes. */
int file_read_all(const char *path, size_t max, uint8_t **out, size_t *len);

/* Up to @cap bytes of the small file @path (a /proc, cgroup or tracefs
 * file: these need several reads only when they are long) into @buf, not
 * NUL-terminated.  The count read (what was read before an error too), or
 * -errno when nothing could be. */
ssize_t file_read_small(const char *path, char *buf, size_t cap);

/* @data into @path, mode 0644, through a temporary file beside it that is
 * synced first: @path is replaced when @replace, otherwise never
 * (-EEXIST if it exists).  0 or -errno; no temporary file is left. */
int file_write_atomic(const char *path, const void *data, size_t len, bool replace);

#endif
