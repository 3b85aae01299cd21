#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: check that mixbench really uses CUDA, then time one epoch of
# every available method with PreActResNet18 on CIFAR-100-shaped data, writing the per-phase
# times as CSV.
#
# usage: ci/gpu-check.sh [OUT_DIR]   (default runs/gpu-check-out)
# Uses target/release/mixbench (override with MIXBENCH=path). If that binary was built
# elsewhere, point LD_LIBRARY_PATH at this machine's libtorch first.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${MIXBENCH:-$root/target/release/mixbench}
out=${1:-$root/runs/gpu-check-out}
mkdir -p "$out"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
"$bin" doctor --require-cuda | tee "$out/doctor.txt"
rm -rf "$out/run"
"$bin" run "$root/suites/gpu-check.yaml" --out "$out/run"

# One CSV: cell, then the metrics columns (epoch, lr, ..., time_* per phase, time_epoch).
csv="$out/phase-times.csv"
first=1
for metrics in "$out"/run/cells/*/metrics.csv; do
  cell=$(basename "$(dirname "$metrics")")
  if [ $first = 1 ]; then
    echo "cell,$(head -n 1 "$metrics")" >"$csv"
    first=0
  fi
  tail -n +2 "$metrics" | sed "s/^/$cell,/" >>"$csv"
done
cp "$out/run/summary.csv" "$out/summary.csv"
cat "$csv"
