#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Writes seed records for fuzz_record in the format of lib/wire.h section 3.
# Field numbers and kinds are those of include/ward/ward.h and lib/names.c.
import os
import struct

U64, I64, STR, STRV = 1, 2, 3, 4


def field(fid, kind, value):
    if kind in (U64, I64):
        body = struct.pack('<Q' if kind == U64 else '<q', value)
    else:
        body = value
    pad = b'\0' * (-len(body) % 8)
    return struct.pack('<HHI', fid, kind, len(body)) + body + pad


def record(etype, seq, fields):
    body = b''.join(fields)
    size = 32 + len(body)
    return struct.pack('<IHHQQQ', size, etype, len(fields), seq, seq + 100,
                       1764097208123456789) + body


seeds = {
    'exec': record(2, 1, [
        field(1, U64, 4242), field(7, STR, b'ls\0'),
        field(9, STRV, b'ls\0-l\0/tmp\0'), field(32, I64, 0),
        field(80, STR, b'/usr/bin/ls\0')]),
    'open': record(4, 2, [
        field(1, U64, 1), field(13, STR, b'abc123\0'),
        field(33, STR, b'/etc/shadow\0'), field(36, U64, 0o2),
        field(32, I64, -13)]),
    'exit': record(3, 3, []),
}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'record')
os.makedirs(out, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(out, name), 'wb') as f:
        f.write(data)
