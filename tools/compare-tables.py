#!/usr/bin/env python3
"""Compares the table CSVs of two result folders (e.g. `vixml nb run` vs Jupyter): same files, same header, same
rows; numbers equal up to 1e-9 relative; columns that measure the machine rather than the model (wall-clock time:
"seconds", "time", "duration", "s/epoch", "(ms)"; memory: "rss"; throughput: "/s") are skipped, and the machine load a
scale line records ("load 1.96 at start") is not compared. Usage: compare-tables.py EXPECTED_DIR ACTUAL_DIR. Every CSV in ACTUAL_DIR must exist in EXPECTED_DIR, and
at least one must be compared. Exit 0 when all match, else 1 with one line per difference."""
import csv
import re
import math
import os
import sys

MACHINE_WORDS = ("seconds", "time", "duration", "s/epoch", "(ms)", "rss", "/s")
LOAD = re.compile(r"load (average )?[0-9.]+( at start)?")


def number(s):
    try:
        return float(s)
    except ValueError:
        return None


def same(a, b):
    x, y = number(a), number(b)
    if x is None or y is None:
        return a == b or LOAD.sub("load", a) == LOAD.sub("load", b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return abs(x - y) <= 1e-9 * max(1.0, abs(x), abs(y))


def main(expected_dir, actual_dir):
    problems, compared = [], 0
    names = sorted(f for f in os.listdir(actual_dir) if f.endswith(".csv"))
    for name in names:
        exp_path = os.path.join(expected_dir, name)
        if not os.path.exists(exp_path):
            problems.append(f"{name}: only in {actual_dir}")
            continue
        with open(exp_path, newline="", encoding="utf-8") as f:
            exp = list(csv.reader(f))
        with open(os.path.join(actual_dir, name), newline="", encoding="utf-8") as f:
            act = list(csv.reader(f))
        if not exp or exp[0] != act[0]:
            problems.append(f"{name}: headers differ: {exp[0] if exp else None} vs {act[0] if act else None}")
            continue
        skip = {i for i, c in enumerate(exp[0]) if any(w in c.lower() for w in MACHINE_WORDS)}
        if len(exp) != len(act):
            problems.append(f"{name}: {len(exp) - 1} rows vs {len(act) - 1}")
            continue
        for r, (er, ar) in enumerate(zip(exp[1:], act[1:]), start=2):
            for c, (e, a) in enumerate(zip(er, ar)):
                if c not in skip and not same(e, a):
                    problems.append(f"{name}: line {r}, column '{exp[0][c]}': {e} vs {a}")
        compared += 1
        print(f"compare: {name}: {len(exp) - 1} rows match" + (f" (skipped {', '.join(exp[0][i] for i in sorted(skip))})" if skip else ""))
    if compared == 0 and not problems:
        problems.append(f"no table CSV to compare in {actual_dir}")
    for p in problems:
        print(f"compare: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
