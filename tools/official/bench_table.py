#!/usr/bin/env python3
"""The side-by-side speed table of ci/bench-vs-official.sh (standard library only).

  bench_table.py criterion CRITERION_DIR ROUND   # one CSV row per mixbench step of this round
  bench_table.py table OFFICIAL_CSV MIXBENCH_CSV NOTE   # the Markdown table

Rows pair a mixbench criterion bench with an official timing of time_official.py on the same
batch: SAGE at rand_pos 0.01, Puzzle Mix per block_num, Co-Mixup per batch of 100.
"""
import csv
import json
import os
import statistics
import sys

# (row label, criterion group/bench, official method, official setting)
PAIRS = [
    ("SAGE, rand_pos 0.01", "sage_mix_b100_32x32_cpu/rand_pos_0.01_native", "sage", "rand_pos=0.01"),
    ("Puzzle Mix, block_num 2", "puzzlemix_mix_b100_32x32_cpu/block_num_2", "puzzlemix", "block_num=2"),
    ("Puzzle Mix, block_num 4", "puzzlemix_mix_b100_32x32_cpu/block_num_4", "puzzlemix", "block_num=4"),
    ("Puzzle Mix, block_num 8", "puzzlemix_mix_b100_32x32_cpu/block_num_8", "puzzlemix", "block_num=8"),
    ("Puzzle Mix, block_num 16", "puzzlemix_mix_b100_32x32_cpu/block_num_16", "puzzlemix", "block_num=16"),
    ("Co-Mixup, batch of 100", "comixup_mix_32x32_cpu/batch_100", "comixup", "mixup_process;B=100"),
]


def criterion_rows(directory, round_):
    writer = csv.writer(sys.stdout)
    for label, bench, _, _ in PAIRS:
        path = os.path.join(directory, bench, "new", "estimates.json")
        with open(path) as f:
            median_ns = json.load(f)["median"]["point_estimate"]
        writer.writerow([round_, label, f"{median_ns / 1e6:.4f}"])


def table(official_csv, mixbench_csv, note):
    official, ours = {}, {}
    with open(official_csv) as f:
        for row in csv.reader(f):
            if len(row) < 6 or row[1] == "method":
                continue
            official.setdefault((row[1], row[2]), {})[row[0]] = float(row[5])
    with open(mixbench_csv) as f:
        for round_, label, ms in csv.reader(f):
            ours.setdefault(label, {})[round_] = float(ms)
    print(f"Side by side on one batch ({note}); medians over rounds, [min-max] over rounds:\n")
    print("| mixing step, B = 100, 32x32 | mixbench | official | speed-up (per-round range) |")
    print("|---|---:|---:|---:|")
    for label, _, method, setting in PAIRS:
        a, b = ours.get(label, {}), official.get((method, setting), {})
        rounds = sorted(set(a) & set(b))
        if not rounds:
            print(f"| {label} | - | - | not measured |")
            continue
        ma, mb = [a[r] for r in rounds], [b[r] for r in rounds]
        ratios = [b[r] / a[r] for r in rounds]
        print(
            f"| {label} | {statistics.median(ma):.2f} ms [{min(ma):.2f}-{max(ma):.2f}] "
            f"| {statistics.median(mb):.1f} ms [{min(mb):.1f}-{max(mb):.1f}] "
            f"| {statistics.median(mb) / statistics.median(ma):.1f}x [{min(ratios):.1f}-{max(ratios):.1f}] |"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["criterion"] and len(sys.argv) == 4:
        criterion_rows(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["table"] and len(sys.argv) == 5:
        table(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
