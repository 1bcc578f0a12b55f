/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_record.c — the record builder and validator (lib/record.c): a built
 * record reads back field for field, and every kind of corruption the
 * validator exists to catch is rejected.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <ward/ward.h>
#include "record.h"

static uint64_t buf[WARD_REC_MAX / 8 + 8]; /* 8-byte aligned, room past the max */

static const char argv_blob[] = "ls\0-l\0/tmp"; /* 11 bytes, no final NUL */

/* pid (u64), result (i64), comm (str), argv (strv) */
static size_t build_sample(void)
{
	struct ward_rec_builder b;
	ward_rb_init(&b, buf, sizeof(buf), WARD_EV_EXEC);
	ward_rb_u64(&b, WARD_F_PID, 4242);
	ward_rb_i64(&b, WARD_F_RESULT, -13);
	ward_rb_str(&b, WARD_F_COMM, "bash", 4);
	ward_rb_strv(&b, WARD_F_ARGV, argv_blob, sizeof(argv_blob) - 1);
	return ward_rb_finish(&b);
}

static struct ward_rec *rec(void)
{
	return (struct ward_rec *)buf;
}

/* The value bytes of the @i-th field, for corrupting it. */
static struct ward_field_hdr *field(unsigned i)
{
	return (struct ward_field_hdr *)ward_rec_field_at(rec(), i);
}

static void test_round_trip(void **state)
{
	size_t n = build_sample();
	/* 32 header + 16 pid + 16 result + 16 "bash\0" + 8+16 argv (12 bytes) */
	assert_int_equal(n, 32 + 16 + 16 + 16 + 24);
	assert_int_equal(rec()->size, n);
	assert_int_equal(rec()->type, WARD_EV_EXEC);
	assert_int_equal(rec()->nfields, 4);
	assert_int_equal(ward_rec_validate(buf, n), 0);

	const struct ward_field_hdr *h = ward_rec_find(rec(), WARD_F_PID);
	uint64_t u;
	assert_non_null(h);
	memcpy(&u, h + 1, 8);
	assert_int_equal(u, 4242);

	h = ward_rec_find(rec(), WARD_F_RESULT);
	int64_t i;
	assert_non_null(h);
	assert_int_equal(h->kind, WARD_KIND_I64);
	memcpy(&i, h + 1, 8);
	assert_int_equal(i, -13);

	h = ward_rec_find(rec(), WARD_F_COMM);
	assert_non_null(h);
	assert_int_equal(h->len, 5);
	assert_string_equal((const char *)(h + 1), "bash");

	h = ward_rec_find(rec(), WARD_F_ARGV);
	assert_non_null(h);
	assert_int_equal(h->len, sizeof(argv_blob)); /* a final NUL was added */
	assert_memory_equal(h + 1, argv_blob, sizeof(argv_blob));

	assert_null(ward_rec_find(rec(), WARD_F_PATH));
	assert_int_equal(ward_rec_field_at(rec(), 0)->id, WARD_F_PID);
	assert_int_equal(ward_rec_field_at(rec(), 3)->id, WARD_F_ARGV);
	assert_null(ward_rec_field_at(rec(), 4));
}

static void test_padding_is_zero(void **state)
{
	memset(buf, 0xa5, sizeof(buf));
	size_t n = build_sample();
	const struct ward_field_hdr *h = ward_rec_find(rec(), WARD_F_COMM);
	const uint8_t *v = (const uint8_t *)(h + 1);
	for (unsigned k = h->len; k < 8; k++)
		assert_int_equal(v[k], 0);
	assert_int_equal(ward_rec_validate(buf, n), 0);
}

static void test_str_embedded_nul(void **state)
{
	struct ward_rec_builder b;
	ward_rb_init(&b, buf, sizeof(buf), WARD_EV_OPEN);
	ward_rb_str(&b, WARD_F_PATH, "/etc\0passwd", 11);
	size_t n = ward_rb_finish(&b);
	assert_int_equal(ward_rec_validate(buf, n), 0);
	const struct ward_field_hdr *h = ward_rec_find(rec(), WARD_F_PATH);
	assert_int_equal(h->len, 5);
	assert_string_equal((const char *)(h + 1), "/etc");
}

static void test_strv_keeps_final_nul(void **state)
{
	struct ward_rec_builder b;
	ward_rb_init(&b, buf, sizeof(buf), WARD_EV_EXEC);
	ward_rb_strv(&b, WARD_F_ARGV, "a\0b\0", 4);
	size_t n = ward_rb_finish(&b);
	assert_int_equal(ward_rec_validate(buf, n), 0);
	assert_int_equal(ward_rec_find(rec(), WARD_F_ARGV)->len, 4);
}

static void test_overflow_cap(void **state)
{
	struct ward_rec_builder b;
	ward_rb_init(&b, buf, 64, WARD_EV_EXEC);
	ward_rb_u64(&b, WARD_F_PID, 1);        /* 48 bytes: fits */
	ward_rb_str(&b, WARD_F_COMM, "x", 1);  /* 64: fits exactly */
	assert_int_equal(b.overflow, 0);
	ward_rb_u64(&b, WARD_F_UID, 0);        /* 80: does not */
	assert_int_equal(b.overflow, 1);
	ward_rb_u64(&b, WARD_F_GID, 0);        /* stays overflowed */
	assert_int_equal(ward_rb_finish(&b), 0);

	ward_rb_init(&b, buf, 16, WARD_EV_EXEC); /* not even a header */
	assert_int_equal(ward_rb_finish(&b), 0);
}

static void test_overflow_rec_max(void **state)
{
	static char big[WARD_REC_MAX];
	memset(big, 'x', sizeof(big));
	struct ward_rec_builder b;
	ward_rb_init(&b, buf, sizeof(buf), WARD_EV_OPEN); /* cap above WARD_REC_MAX */
	ward_rb_str(&b, WARD_F_PATH, big, WARD_REC_MAX - 32 - 8);
	assert_int_equal(ward_rb_finish(&b), 0);

	ward_rb_init(&b, buf, sizeof(buf), WARD_EV_OPEN);
	ward_rb_str(&b, WARD_F_PATH, big, WARD_REC_MAX - 32 - 8 - 1); /* exactly the max */
	assert_int_equal(ward_rb_finish(&b), WARD_REC_MAX);
	assert_int_equal(ward_rec_validate(buf, WARD_REC_MAX), 0);
}

static void test_empty_record(void **state)
{
	struct ward_rec_builder b;
	ward_rb_init(&b, buf, sizeof(buf), WARD_EV_EXIT);
	assert_int_equal(ward_rb_finish(&b), sizeof(struct ward_rec));
	assert_int_equal(ward_rec_validate(buf, sizeof(struct ward_rec)), 0);
	assert_null(ward_rec_field_at(rec(), 0));
}

static void test_reject_truncated(void **state)
{
	size_t n = build_sample();
	assert_int_equal(ward_rec_validate(buf, n - 8), -EPROTO);
	assert_int_equal(ward_rec_validate(buf, sizeof(struct ward_rec) - 1), -EPROTO);
	assert_int_equal(ward_rec_validate(buf, 0), -EPROTO);
}

static void test_reject_bad_size(void **state)
{
	size_t n = build_sample();
	rec()->size = (uint32_t)n - 4; /* not a multiple of 8 */
	assert_int_equal(ward_rec_validate(buf, n), -EPROTO);
	rec()->size = 16; /* smaller than the header */
	assert_int_equal(ward_rec_validate(buf, n), -EPROTO);
	rec()->size = (uint32_t)n + 8; /* fields end before size does */
	assert_int_equal(ward_rec_validate(buf, n + 8), -EPROTO);
	rec()->size = WARD_REC_MAX + 8;
	assert_int_equal(ward_rec_validate(buf, sizeof(buf)), -EPROTO);
}

static void test_reject_nfields_lying(void **state)
{
	size_t n = build_sample();
	rec()->nfields = 5;
	assert_int_equal(ward_rec_validate(buf, n), -EPROTO);
	rec()->nfields = 3;
	assert_int_equal(ward_rec_validate(buf, n), -EPROTO);
	rec()->nfields = 0;
	assert_int_equal(ward_rec_validate(buf, n), -EPROTO);
}

static void test_reject_bad_kind(void **state)
{
	size_t n = build_sample();
	field(0)->kind = WARD_KIND_I64; /* pid is U64 */
	assert_int_equal(ward_rec_validate(buf, n), -EPROTO);
	field(0)->kind = 9;
	assert_int_equal(ward_rec_validate(buf, n), -EPROTO);
	field(0)->kind = WARD_KIND_U64;
	field(0)->id = WARD_F_INVALID;
	assert_int_equal(ward_rec_validate(buf, n), -EPROTO);
}

/* A field number this library does not know comes from a newer wardd: it is
 * skipped by its length, not an error (numbers are only ever appended). */
static void test_unknown_field_skipped(void **state)
{
	size_t n = build_sample();
	field(0)->id = 31; /* no such field (yet) */
	field(0)->kind = 77;
	assert_int_equal(ward_rec_validate(buf, n), 0);
	uint64_t v;
	assert_int_not_equal(ward_event_u64((const ward_event *)rec(), 31, &v), 0);
	assert_int_equal(ward_event_u64((const ward_event *)rec(), WARD_F_RESULT, &v), 0);
	assert_non_null(ward_rec_find(rec(), WARD_F_COMM));
}

static void test_reject_bad_len(void **state)
{
	size_t n = build_sample();
	field(0)->len = 4; /* a U64 is 8 bytes */
	assert_int_equal(ward_rec_validate(buf, n), -EPROTO);

	n = build_sample();
	field(3)->len = 0xfffffff0u; /* past the record */
	assert_int_equal(ward_rec_validate(buf, n), -EPROTO);

	/* lengths whose rounding up to 8 would wrap a 32-bit sum to 0 */
	for (uint32_t len = 0xfffffff9u; len != 0; len++) {
		n = build_sample();
		field(3)->len = len;
		assert_int_equal(ward_rec_validate(buf, n), -EPROTO);
		n = build_sample();
		field(2)->len = len;
		assert_int_equal(ward_rec_validate(buf, n), -EPROTO);
	}

	n = build_sample();
	field(2)->len = 0; /* a string holds at least its NUL */
	assert_int_equal(ward_rec_validate(buf, n), -EPROTO);
}

static void test_reject_unterminated_str(void **state)
{
	size_t n = build_sample();
	struct ward_field_hdr *h = field(2); /* comm "bash\0" */
	((char *)(h + 1))[4] = 'x';
	assert_int_equal(ward_rec_validate(buf, n), -EPROTO);

	n = build_sample();
	h = field(2);
	((char *)(h + 1))[1] = '\0'; /* a NUL inside a STR */
	assert_int_equal(ward_rec_validate(buf, n), -EPROTO);

	n = build_sample();
	h = field(3); /* argv */
	((char *)(h + 1))[h->len - 1] = 'x';
	assert_int_equal(ward_rec_validate(buf, n), -EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_padding_is_zero),
		cmocka_unit_test(test_str_embedded_nul),
		cmocka_unit_test(test_strv_keeps_final_nul),
		cmocka_unit_test(test_overflow_cap),
		cmocka_unit_test(test_overflow_rec_max),
		cmocka_unit_test(test_empty_record),
		cmocka_unit_test(test_reject_truncated),
		cmocka_unit_test(test_reject_bad_size),
		cmocka_unit_test(test_reject_nfields_lying),
		cmocka_unit_test(test_reject_bad_kind),
		cmocka_unit_test(test_unknown_field_skipped),
		cmocka_unit_test(test_reject_bad_len),
		cmocka_unit_test(test_reject_unterminated_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
