/* SPDX-License-Identifier: Apache-2.0 */
/*
 * message.h — the one message a parser of untrusted input leaves in the
 * caller's buffer (manifest.c, minisign.c, bundle.c): how it is written,
 * and how bytes of the input appear in it.
 */
#ifndef WARDD_MESSAGE_H
#define WARDD_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

#define MSG_QUOTE_MAX 72 /* an excerpt of the input in a message, quotes and escapes included */

/* Format the message into @err (@errlen bytes; nothing when @err is NULL
 * or @errlen 0) and return @code. */
int msg_fail(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* @s (@len bytes) as a short, printable, quoted excerpt in @out: input
 * ends up in logs, so '"' and '\' are escaped, control bytes (and, with
 * @ascii_only, every byte above 0x7e) become \xNN, and a long excerpt ends
 * in "...".  Returns @out. */
const char *msg_quote(char out[MSG_QUOTE_MAX], const char *s, size_t len, bool ascii_only);

#endif
