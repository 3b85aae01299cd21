#!/usr/bin/env bash
# Real-data check of the corruptions, calibration and occlusion evaluations: unpacks the
# CIFAR-10 JPEGs from ../shared/datasets (once) into runs/data, runs
# suites/real/cifar10-jpeg-corruptions.yaml (small CNN per method, then the three
# evaluations), copies the run's CSVs, report and plots to reports/cifar10-jpeg-corruptions/,
# then times generation against evaluation: suites/real/cifar10-jpeg-corruptions-timing.yaml
# (PreActResNet18 on the 10,000 test images, severity 3) and `mixbench data corrupt` on the whole
# 10,000-image test split (18 corruptions x 5 severities; all 19 when MIXBENCH_FROST_PICTURES
# names the folder of the reference's frost pictures), whose output it prints and keeps in
# reports/cifar10-jpeg-corruptions/generation.txt.
# usage: ci/real-data-corruptions.sh [extra `mixbench run` flags]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/ci/real-data-lib.sh"
unpack_cifar10_jpeg
build_mixbench
run="$root/runs/cifar10-jpeg-corruptions"
"$mixbench" run "$root/suites/real/cifar10-jpeg-corruptions.yaml" --out "$run" "$@"
out="$root/reports/cifar10-jpeg-corruptions"
publish_run "$run" "$out" summary.csv methods.csv \
  corruptions.csv corruptions-cells.csv corruptions-methods.csv \
  calibration.csv calibration-methods.csv calibration-reliability.csv \
  occlusion.csv occlusion-cells.csv occlusion-methods.csv
timing="$root/runs/cifar10-jpeg-corruptions-timing"
"$mixbench" run "$root/suites/real/cifar10-jpeg-corruptions-timing.yaml" --out "$timing" "$@"
cp "$timing/corruptions.csv" "$out/timing-corruptions.csv"
frost=()
[ -n "${MIXBENCH_FROST_PICTURES:-}" ] && frost=(--frost-pictures "$MIXBENCH_FROST_PICTURES")
"$mixbench" data corrupt "$root/suites/real/cifar10-jpeg-corruptions-timing.yaml" "${frost[@]}" \
  --out "$root/runs/cifar10-jpeg-c" | sed "s|$root/||" | tee "$out/generation.txt"
