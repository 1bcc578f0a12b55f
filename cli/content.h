/* SPDX-License-Identifier: Apache-2.0 */
/* content.h — `ward content ...` (content.c). */
#ifndef WARD_CLI_CONTENT_H
#define WARD_CLI_CONTENT_H

/* @argv[0] is "content"; returns the exit status. */
int cmd_content(int argc, char **argv);

#endif
