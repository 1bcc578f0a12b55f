/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_record.c — libFuzzer harness for the record validator.  Whatever
 * ward_rec_validate() accepts must be safe to read with every event
 * accessor, since that is exactly what libward hands to its callers.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ward/ward.h>
#include "record.h"

static void walk(const ward_event *ev)
{
	(void)ward_event_type(ev);
	(void)ward_event_seq(ev);
	(void)ward_event_global_seq(ev);
	(void)ward_event_time(ev);
	uint32_t f;
	for (unsigned i = 0; (f = ward_event_field_at(ev, i)) != 0; i++) {
		uint64_t u;
		int64_t s;
		const char *str;
		size_t len;
		if (ward_field_kind(f) == WARD_KIND_NONE) {
			/* a field from a newer wardd: skipped, never read */
			if (ward_event_str(ev, f, &str, &len) != -ENOENT ||
			    ward_event_u64(ev, f, &u) != -ENOENT)
				abort();
		} else if (ward_event_str(ev, f, &str, &len) == 0) {
			/* the whole value is readable and ends in a NUL */
			if (len == 0 || str[len - 1] != '\0' || strnlen(str, len) >= len)
				abort();
		} else if (ward_event_u64(ev, f, &u) != 0 || ward_event_i64(ev, f, &s) != 0) {
			abort(); /* validated fields are strings or numbers */
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* records sit 8-byte aligned in the ring; libFuzzer's input need not */
	uint64_t *buf = malloc(size + 8);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (ward_rec_validate(buf, size) == 0)
		walk((const ward_event *)buf);
	free(buf);
	return 0;
}
