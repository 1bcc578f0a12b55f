/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_journal.c — libFuzzer harness for the journal a previous wardd left
 * (daemon/journal.c): the input is the start of the file (header and first
 * records; the rest is zeros), which journal_open() must either continue
 * or refuse and start afresh.  Then every record is walked, a resume
 * position looked up from a global_seq taken from the input, and records
 * appended (which drops the oldest).
 * Invariants: nothing crashes or reads out of bounds (ASan); every record
 * journal_next() hands out lies inside the data area, is at least a header
 * long and a multiple of 8; positions never go backwards.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "wire.h"

#define DATA (JOURNAL_MIN_BYTES)
#define FILE_LEN (4096 + DATA)

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_quiet = 1;
	snprintf(path, sizeof(path), "/tmp/ward-fuzz-journal-%d", (int)getpid());
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return 0;
	if (ftruncate(fd, FILE_LEN) || (size && pwrite(fd, data, size < FILE_LEN ? size : FILE_LEN, 0) < 0)) {
		close(fd);
		return 0;
	}
	close(fd);
	if (journal_open(path, DATA) == 0) {
		uint64_t pos = journal_tail(), prev = pos;
		const struct ward_rec *r;
		int n = 0;
		while ((r = journal_next(&pos, NULL)) && n++ < 100000) {
			if (r->size < sizeof(*r) || (r->size & 7) || pos <= prev)
				abort();
			prev = pos;
		}
		uint64_t after = 0;
		if (size >= 8)
			memcpy(&after, data + size - 8, 8);
		journal_find(after, &pos);
		if (pos < journal_tail() || pos > journal_head())
			abort();
		static _Alignas(8) uint8_t rec[256];
		struct ward_rec *w = (void *)rec;
		for (int i = 0; i < 64; i++) {
			memset(rec, 0, sizeof(rec));
			w->size = (uint32_t)(sizeof(*w) + (i % 8) * 24);
			w->type = 4;
			w->global_seq = journal_last_seq() + 1;
			journal_append(w);
		}
		journal_close(false);
	}
	unlink(path);
	return 0;
}
