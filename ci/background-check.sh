#!/usr/bin/env bash
# Background-reliance check: installs Debian's Fashion-MNIST when missing, unpacks the
# CIFAR-10 JPEGs from ../shared/datasets (once) into runs/data, runs
# suites/background/background.yaml (every method on synthetic shapes and on
# Fashion-MNIST-on-CIFAR composites, with and without class-correlated training backgrounds,
# then the background evaluation) and copies the run's CSVs, report and plots to
# reports/background-small/.
# usage: ci/background-check.sh [extra `mixbench run` flags]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$root/ci/ensure-fashion-mnist.sh"
source "$root/ci/real-data-lib.sh"
unpack_cifar10_jpeg
build_mixbench
run="$root/runs/background"
"$mixbench" run "$root/suites/background/background.yaml" --out "$run" "$@"
out="$root/reports/background-small"
publish_run "$run" "$out" summary.csv methods.csv \
  background.csv background-cells.csv background-methods.csv
