#!/usr/bin/env bash
# The speed table of docs/benchmarks.md, by one command: mixbench's mixing steps against the official
# code on one shared input batch, alternating A/B for several rounds.
#
#   bash ci/bench-vs-official.sh OFFICIAL_ROOT [ROUNDS]
#
# OFFICIAL_ROOT holds your checkouts SAGE/, PuzzleMix/, Co-Mixup/ (tools/official/README.md
# says which commits); Python needs tools/official/requirements.txt. Per round: the official
# steps (tools/official/time_official.py: median of 5 calls after a warm-up, libtorch's
# threads = the machine's cores) then the criterion benches of mixbench on the same batch.
# Prints the table (medians over rounds, ranges over rounds, ratio of medians and range of
# per-round ratios) and keeps everything under runs/bench-vs-official/.
set -euo pipefail
official=${1:?usage: ci/bench-vs-official.sh OFFICIAL_ROOT [ROUNDS]}
rounds=${2:-3}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
python=${PYTHON:-python3}
out=runs/bench-vs-official
mkdir -p "$out"
bash ci/setup-libtorch.sh >/dev/null
threads=$(nproc)

batch=$root/$out/batch.safetensors
"$python" tools/official/make_batch.py --sage "$official/SAGE" --out "$batch" >&2
cargo bench --locked --no-run -p mixbench-sage -p mixbench-puzzlemix -p mixbench-comixup >&2

: >"$out/official.csv"
: >"$out/mixbench.csv"
for round in $(seq 1 "$rounds"); do
  echo "round $round of $rounds: official" >&2
  "$python" tools/official/time_official.py --batch "$batch" --sage "$official/SAGE" \
    --puzzlemix "$official/PuzzleMix" --comixup "$official/Co-Mixup" \
    --threads "$threads" --warmup 1 --reps 5 | sed "s/^/$round,/" >>"$out/official.csv"
  echo "round $round of $rounds: mixbench" >&2
  export SAGE_BENCH_INPUT=$batch PUZZLEMIX_BENCH_INPUT=$batch COMIXUP_BENCH_INPUT=$batch
  cargo bench --locked -q -p mixbench-sage --bench sage_mix -- rand_pos_0.01_native \
    --warm-up-time 1 --measurement-time 3 >&2
  cargo bench --locked -q -p mixbench-puzzlemix --bench puzzlemix_mix -- \
    --warm-up-time 1 --measurement-time 3 >&2
  cargo bench --locked -q -p mixbench-comixup --bench comixup_mix -- batch_100 \
    --warm-up-time 1 --measurement-time 3 >&2
  "$python" tools/official/bench_table.py criterion target/criterion "$round" >>"$out/mixbench.csv"
done
"$python" tools/official/bench_table.py table "$out/official.csv" "$out/mixbench.csv" \
  "$(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $rounds rounds, $(date -u +%Y-%m-%d)" \
  | tee "$out/table.md"
