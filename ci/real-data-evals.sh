#!/usr/bin/env bash
# Real-data check of the robustness and few-shot suites: unpacks the CIFAR-10 JPEGs from
# ../shared/datasets (once) into runs/data, runs suites/real/cifar10-jpeg-robustness-fewshot.yaml
# (small CNN per method, then noise/FGSM/PGD accuracy and 5-way episodes on classes 5-9) and
# copies the run's CSVs, report and plots to reports/cifar10-jpeg-robustness-fewshot/.
# usage: ci/real-data-evals.sh [extra `mixbench run` flags]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/ci/real-data-lib.sh"
unpack_cifar10_jpeg
build_mixbench
run="$root/runs/cifar10-jpeg-robustness-fewshot"
"$mixbench" run "$root/suites/real/cifar10-jpeg-robustness-fewshot.yaml" --out "$run" "$@"
out="$root/reports/cifar10-jpeg-robustness-fewshot"
publish_run "$run" "$out" summary.csv methods.csv \
  robustness.csv robustness-cells.csv robustness-methods.csv \
  fewshot.csv fewshot-episodes.csv fewshot-methods.csv
