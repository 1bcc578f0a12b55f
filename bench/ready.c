/* SPDX-License-Identifier: Apache-2.0 */
/* ready.c — see ready.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ready.h"

int write_ready_file(const char *path)
{
	size_t len = strlen(path) + 8;
	char *tmp = malloc(len);
	FILE *f;
	int rc = -1;

	if (!tmp)
		return -1;
	snprintf(tmp, len, "%s.tmp", path);
	f = fopen(tmp, "w");
	if (f) {
		fprintf(f, "%ld\n", (long)getpid());
		if (fclose(f) == 0 && rename(tmp, path) == 0)
			rc = 0;
		else
			unlink(tmp);
	}
	free(tmp);
	return rc;
}
