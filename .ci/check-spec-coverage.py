#!/usr/bin/env python3
"""Fails if docs/spec-coverage.md names a mitx-core test that does not exist.

Usage: cargo test -q -p mitx-core --lib -- --list | python3 .ci/check-spec-coverage.py
"""
import re
import sys

tests = {line.rsplit(": ", 1)[0].strip() for line in sys.stdin if line.strip().endswith(": test")}
doc = open("docs/spec-coverage.md", encoding="utf-8").read()
named = re.findall(r"`([a-z_0-9]+(?:::[a-z_0-9]+)+)`", doc)
named = [n for n in named if "_s" in n.rsplit("::", 1)[-1] or "tests" in n or "scenarios" in n]
missing = sorted({n for n in named if n not in tests})
if not tests:
    sys.exit("no test list on stdin")
if missing:
    print("docs/spec-coverage.md names tests that do not exist:", *missing, sep="\n  ")
    sys.exit(1)
print(f"spec coverage: {len(set(named))} tests named, all exist")
