/* SPDX-License-Identifier: Apache-2.0 */
/*
 * names.h — ward's own name syntax, private to the tree (not exported by
 * libward): the names of clients (manifests, bundles) and of content
 * channels are [a-z0-9][a-z0-9._-]* of 1 to @max bytes; decimal numbers
 * as versions are written; text checked as UTF-8 (the CLI's JSON, a
 * validator's reason).
 */
#ifndef WARD_NAMES_H
#define WARD_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Whether @s (@len bytes, need not be NUL-terminated) is such a name of at
 * most @max bytes. */
bool ward_name_valid(const char *s, size_t len, size_t max);

/* A decimal number 0..2^63-1 in @s (@len bytes): digits only, no sign, no
 * leading zero (versions, counts).  *@out is set only on WARD_DEC_OK. */
enum ward_dec { WARD_DEC_OK, WARD_DEC_NOT_NUMBER, WARD_DEC_LEADING_ZERO, WARD_DEC_TOO_LARGE };
enum ward_dec ward_dec_parse(const char *s, size_t len, uint64_t *out);

/* The length (1 to 4) of the well-formed UTF-8 sequence at @s (@n bytes
 * left, at least 1), or 0 when none starts there: an overlong form, a
 * surrogate, beyond U+10FFFF, or cut short. */
size_t ward_utf8_len(const unsigned char *s, size_t n);

#endif
