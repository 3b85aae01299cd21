#!/usr/bin/env bash
# On a machine with an NVIDIA GPU, in a few minutes: check that mixbench really uses CUDA, run
# the runtime suite for every method with PreActResNet18 on CIFAR-100-shaped data (with the
# PyTorch eager reference), and compare every method's CUDA code path with its CPU result on
# the same batch. Everything lands in reports/gpu/<device name>/ (or OUT_DIR).
#
# usage: ci/gpu-check.sh [OUT_DIR]
# Uses target/release/mixbench (override with MIXBENCH=path). If that binary was built
# elsewhere, point LD_LIBRARY_PATH at this machine's libtorch first (and MIXBENCH_PYTHON at a
# Python with torch for the reference; python3 by default).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${MIXBENCH:-$root/target/release/mixbench}
card=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1 | tr ' /' '__')
out=${1:-$root/reports/gpu/${card:-unknown}}
mkdir -p "$out"
status=0

{
  date -u +%Y-%m-%dT%H:%M:%SZ
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  echo "command: ci/gpu-check.sh $*"
  git -C "$root" rev-parse --short HEAD 2>/dev/null
} | tee "$out/machine.txt"
"$bin" doctor --require-cuda | tee "$out/doctor.txt" || exit 1

# Every method's device code path against the CPU on the same batch: the 8 real CIFAR-10
# images with the input gradient of SAGE's parity fixture (partners and lambda drawn from the
# seed), one line per method.
batch="$root/methods/sage/tests/fixtures/official_sage.safetensors"
: >"$out/cuda-vs-cpu.txt"
# The registered methods (`mixbench methods`: one unindented line per method), Vanilla's
# identity aside.
for method in $("$bin" methods | awk '/^[^ ]/ && $1 != "vanilla" { print $1 }'); do
  "$bin" mix --method "$method" --input "$batch" --output "$out/mix.safetensors" \
    --device cuda --compare-cpu --tolerance 1e-4 >>"$out/cuda-vs-cpu.txt" 2>&1 \
    || { echo "$method: differs or failed (line above)" >>"$out/cuda-vs-cpu.txt"; status=1; }
done
rm -f "$out/mix.safetensors"
cat "$out/cuda-vs-cpu.txt"

rm -rf "$out/run"
"$bin" run "$root/suites/gpu-check.yaml" --out "$out/run" || status=1
for f in report.md runtime.csv runtime-methods.csv runtime-reference.csv summary.csv; do
  [ -f "$out/run/$f" ] && cp "$out/run/$f" "$out/$f"
done
mkdir -p "$out/plots"
cp "$out/run/plots"/runtime-*.png "$out/plots/" 2>/dev/null || true
rm -rf "$out/run"
sed -n '/## Runtime/,$p' "$out/report.md"
exit $status
