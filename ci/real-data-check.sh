#!/usr/bin/env bash
# Real-data check: unpacks the CIFAR-10 JPEGs from ../shared/datasets (once) into runs/data and
# runs suites/real/cifar10-jpeg-small.yaml (small CNN, Vanilla/Mixup/CutMix, a few epochs).
# usage: ci/real-data-check.sh [extra `mixbench run` flags]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
archive=${MIXBENCH_SHARED_DIR:-$root/../shared}/datasets/cifar10-jpeg.tar.gz
[ -f "$archive" ] || { echo "error: $archive not found" >&2; exit 1; }
if [ ! -d "$root/runs/data/cifar10-jpeg/test" ]; then
  mkdir -p "$root/runs/data"
  tar -xzf "$archive" -C "$root/runs/data"
fi
bash "$root/ci/setup-libtorch.sh" >/dev/null
cargo build --release --locked -p mixbench --manifest-path "$root/Cargo.toml"
"$root/target/release/mixbench" run "$root/suites/real/cifar10-jpeg-small.yaml" --out "$root/runs/cifar10-jpeg-small" "$@"
