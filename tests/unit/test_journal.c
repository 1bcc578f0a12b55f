/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_journal — daemon/journal.c on a file in a temp dir: append, find,
 * wrap around, drop the oldest, report a resume from further back than it
 * holds, and be continued by the next opener (as a restarted wardd does),
 * or started afresh when its header is damaged or its size differs.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal.h"
#include "wire.h"

static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ward-journal-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/journal", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	journal_close(true);
	rmdir(dir);
	return 0;
}

/* A record of @size bytes (multiple of 8) with global_seq @g. */
static void append(uint64_t g, uint32_t size)
{
	static _Alignas(8) uint8_t buf[8192];
	struct ward_rec *r = (void *)buf;
	memset(buf, 0, size);
	r->size = size;
	r->type = 4;
	r->global_seq = g;
	journal_append(r);
}

static void t_append_find(void **state)
{
	(void)state;
	assert_int_equal(journal_open(path, JOURNAL_MIN_BYTES), 0);
	assert_false(journal_continued());
	for (uint64_t g = 1; g <= 100; g++)
		append(g * 2, 64); /* gaps in global_seq are normal */
	assert_int_equal(journal_last_seq(), 200);
	uint64_t pos;
	assert_int_equal(journal_find(50, &pos), 0);
	const struct ward_rec *r = journal_next(&pos, NULL);
	assert_non_null(r);
	assert_int_equal(r->global_seq, 52);
	assert_int_equal(journal_find(200, &pos), 0);
	assert_int_equal(pos, journal_head());
	assert_null(journal_next(&pos, NULL));
	/* everything, in order */
	assert_int_equal(journal_find(0, &pos), 0);
	uint64_t want = 2;
	while ((r = journal_next(&pos, NULL))) {
		assert_int_equal(r->global_seq, want);
		want += 2;
	}
	assert_int_equal(want, 202);
}

static void t_wrap_and_bound(void **state)
{
	(void)state;
	assert_int_equal(journal_open(path, JOURNAL_MIN_BYTES), 0);
	/* 3 MiB of odd-sized records through a 1 MiB journal: it wraps
	 * (with padding) and drops the oldest */
	uint64_t g = 0;
	for (int i = 0; i < 3 * 1024; i++)
		append(++g, 1000 + (uint32_t)(i % 7) * 8);
	assert_true(journal_head() - journal_tail() <= JOURNAL_MIN_BYTES);
	uint64_t pos;
	/* from the start: the journal says it no longer holds it all */
	assert_int_equal(journal_find(0, &pos), 1);
	assert_int_equal(pos, journal_tail());
	/* every record it still holds, in order, none torn */
	const struct ward_rec *r = journal_next(&pos, NULL);
	assert_non_null(r);
	uint64_t first = r->global_seq, n = 1, prev = first;
	while ((r = journal_next(&pos, NULL))) {
		assert_int_equal(r->global_seq, prev + 1);
		assert_true(r->size >= 1000 && r->size <= 1048);
		prev = r->global_seq;
		n++;
	}
	assert_int_equal(prev, g);
	assert_true(n > 900); /* a 1 MiB area holds about a thousand */
	/* from a record still held: complete */
	assert_int_equal(journal_find(first + 10, &pos), 0);
	r = journal_next(&pos, NULL);
	assert_int_equal(r->global_seq, first + 11);
	/* a reader that fell behind the tail is moved up and told */
	uint64_t stale = 0;
	bool skipped = false;
	r = journal_next(&stale, &skipped);
	assert_true(skipped);
	assert_int_equal(r->global_seq, first);
}

static void t_continue(void **state)
{
	(void)state;
	assert_int_equal(journal_open(path, JOURNAL_MIN_BYTES), 0);
	for (uint64_t g = 1; g <= 10; g++)
		append(g, 128);
	journal_save_mask(0x30);
	journal_close(false); /* a wardd that stops (or is killed) */
	assert_int_equal(journal_open(path, JOURNAL_MIN_BYTES), 0);
	assert_true(journal_continued());
	assert_int_equal(journal_last_seq(), 10);
	assert_int_equal(journal_saved_mask(), 0x30);
	append(11, 128);
	uint64_t pos;
	assert_int_equal(journal_find(9, &pos), 0);
	assert_int_equal(journal_next(&pos, NULL)->global_seq, 10);
	assert_int_equal(journal_next(&pos, NULL)->global_seq, 11);
	journal_close(false);
	/* another size: a new journal */
	assert_int_equal(journal_open(path, 2 * JOURNAL_MIN_BYTES), 0);
	assert_false(journal_continued());
	assert_int_equal(journal_last_seq(), 0);
	journal_close(false);
	/* a damaged header: a new journal, no crash */
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	uint64_t junk[4] = {0x4c4e524aU | (1ull << 32), 2 * JOURNAL_MIN_BYTES, 5, 999999999};
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 0), sizeof(junk));
	close(fd);
	assert_int_equal(journal_open(path, 2 * JOURNAL_MIN_BYTES), 0);
	assert_false(journal_continued());
}

static void t_bad_args(void **state)
{
	(void)state;
	assert_int_equal(journal_open(path, 12345), -EINVAL);
	assert_int_equal(journal_open(path, JOURNAL_MIN_BYTES / 2), -EINVAL);
	assert_false(journal_active());
	/* a symbolic link where the journal goes is not followed */
	assert_int_equal(symlink("/tmp/elsewhere", path), 0);
	assert_true(journal_open(path, JOURNAL_MIN_BYTES) < 0);
	unlink(path);
	/* a record too big for it is not kept */
	assert_int_equal(journal_open(path, JOURNAL_MIN_BYTES), 0);
	static _Alignas(8) uint8_t big[JOURNAL_MIN_BYTES / 2];
	struct ward_rec *r = (void *)big;
	r->size = sizeof(big);
	r->global_seq = 1;
	journal_append(r);
	assert_int_equal(journal_last_seq(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_append_find, setup, teardown),
		cmocka_unit_test_setup_teardown(t_wrap_and_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(t_continue, setup, teardown),
		cmocka_unit_test_setup_teardown(t_bad_args, setup, teardown),
	};
	return cmocka_run_group_tests_name("journal", tests, NULL, NULL);
}
