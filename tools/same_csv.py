#!/usr/bin/env python3
"""Compares every CSV file of two run folders cell by cell, leaving out what is expected to
differ between two runs of the same suite: times (columns naming a time, seconds or a runtime
statistic, and the runtime evaluation's files), code versions, and the recorded method
parameters with the configuration hash that covers them. Prints each difference and a count;
exits 1 when anything differs.

usage: tools/same_csv.py BEFORE_RUN_DIR AFTER_RUN_DIR
"""
import csv
import glob
import os
import sys

LEFT_OUT = {"code_version", "code_versions", "method_params", "config_hash", "run"}
TIME_STATISTICS = {"median", "q1", "q3", "min", "max", "ratio", "ratio_lo", "ratio_hi"}


def is_time(column):
    c = column.lower()
    return "time" in c or "seconds" in c or c in TIME_STATISTICS


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main(before, after):
    names = sorted(
        os.path.relpath(p, before) for p in glob.glob(f"{before}/**/*.csv", recursive=True)
    )
    differences, compared, timings = 0, 0, 0
    for name in names:
        if "runtime" in os.path.basename(name):
            timings += 1
            continue
        other = os.path.join(after, name)
        if not os.path.exists(other):
            print(f"only in {before}: {name}")
            differences += 1
            continue
        a, b = rows(os.path.join(before, name)), rows(other)
        if len(a) != len(b):
            print(f"{name}: {len(a)} rows -> {len(b)}")
            differences += 1
            continue
        columns = [c for c in (a[0] if a else {}) if c not in LEFT_OUT and not is_time(c)]
        for i, (ra, rb) in enumerate(zip(a, b)):
            for c in columns:
                # claims.csv's evidence text quotes the times it tested.
                if name.endswith("claims.csv") and c == "detail":
                    continue
                if ra.get(c) != rb.get(c):
                    print(f"{name}:{i + 2}: {c}: {ra.get(c)!r} -> {rb.get(c)!r}")
                    differences += 1
        compared += 1
    print(f"{compared} files compared, {timings} runtime files left out (times), "
          f"{differences} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
