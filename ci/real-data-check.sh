#!/usr/bin/env bash
# Real-data check: unpacks the CIFAR-10 JPEGs from ../shared/datasets (once) into runs/data and
# runs suites/real/cifar10-jpeg-small.yaml (small CNN, Vanilla/Mixup/CutMix, a few epochs),
# then copies the run's CSVs, report and plots to reports/cifar10-jpeg-small/.
# usage: ci/real-data-check.sh [extra `mixbench run` flags]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/ci/real-data-lib.sh"
unpack_cifar10_jpeg
build_mixbench
run="$root/runs/cifar10-jpeg-small"
"$mixbench" run "$root/suites/real/cifar10-jpeg-small.yaml" --out "$run" "$@"
publish_run "$run" "$root/reports/cifar10-jpeg-small" summary.csv methods.csv
