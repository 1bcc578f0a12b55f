/* SPDX-License-Identifier: Apache-2.0 */
/* message.c — see message.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "message.h"

int msg_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *msg_quote(char out[MSG_QUOTE_MAX], const char *s, size_t len, bool ascii_only)
{
	size_t o = 0, i;
	out[o++] = '"';
	for (i = 0; i < len && o < MSG_QUOTE_MAX - 8; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f || (ascii_only && ch > 0x7f)) {
			o += (size_t)snprintf(out + o, 5, "\\x%02x", ch);
		} else {
			out[o++] = (char)ch;
		}
	}
	if (i < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}
