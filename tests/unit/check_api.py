#!/usr/bin/env python3
"""check_api.py — the public API's three places agree:
every function declared in include/ward/ward.h is exported by lib/libward.sym,
has a comment right above it (its contract), and is exported by the built
library; nothing else is exported.  Exit 1 with the differences otherwise."""
import re
import subprocess
import sys

src, lib = sys.argv[1], sys.argv[2]
header = open(src + "/include/ward/ward.h").read()
sym = open(src + "/lib/libward.sym").read()

decl = re.compile(r"^(?:[\w \*]+?)\b(ward_\w+)\s*\(", re.M)
declared = set()
undocumented = []
lines = header.splitlines()
for i, line in enumerate(lines):
    m = decl.match(line)
    if not m or line.startswith(("typedef", "#", " ", "\t", "/", "*")):
        continue
    declared.add(m.group(1))
    # the contract: a comment ends within the lines just above (a group of
    # related declarations may share one comment)
    above = "\n".join(lines[max(0, i - 6):i])
    if "*/" not in above:
        undocumented.append(m.group(1))

in_map = set(re.findall(r"^\s*(ward_\w+);", sym, re.M))
nm = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True, check=True)
exported = set(re.findall(r" T (ward_\w+)", nm.stdout))

problems = []
for name, s in [("declared in ward.h but not in libward.sym", declared - in_map),
                ("in libward.sym but not declared in ward.h", in_map - declared),
                ("declared but not exported by the library", declared - exported),
                ("exported by the library but not declared", exported - declared),
                ("without a contract comment in ward.h", set(undocumented))]:
    if s:
        problems.append("%s: %s" % (name, ", ".join(sorted(s))))
if problems:
    print("\n".join(problems))
    sys.exit(1)
print("%d public functions: declared, documented, mapped and exported" % len(declared))
