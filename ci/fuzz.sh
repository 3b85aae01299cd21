#!/usr/bin/env bash
# Fuzzes every reader of user input (suite files, claims files, compare's thresholds files,
# CIFAR binaries, .npy files, batch files, split CSVs; harness/tests/fuzz.rs) for SECONDS
# seconds (default 60): rounds of the property tests with MIXBENCH_FUZZ_CASES cases per target
# (default 5000), each round with a new seed.
# Seeds start at MIXBENCH_FUZZ_SEED_START (default: the current time, so each run explores new
# inputs; CI fixes it). Stops at the first crash, printing the seed that reproduces it.
#
#   bash ci/fuzz.sh 600                                  # ten minutes
#   MIXBENCH_FUZZ_SEED=123 MIXBENCH_FUZZ_CASES=5000 cargo test -p mixbench --test fuzz   # replay
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-60}
cases=${MIXBENCH_FUZZ_CASES:-5000}
first=${MIXBENCH_FUZZ_SEED_START:-$(date +%s)}
bash ci/setup-libtorch.sh >/dev/null
cargo test -p mixbench --test fuzz --locked --no-run 2>/dev/null
log=$(mktemp)
trap 'rm -f "$log"' EXIT
start=$(date +%s)
rounds=0
while (( $(date +%s) - start < seconds )); do
  seed=$((first + rounds))
  if ! MIXBENCH_FUZZ_SEED=$seed MIXBENCH_FUZZ_CASES=$cases \
      cargo test -p mixbench --test fuzz --locked -q >"$log" 2>&1; then
    cat "$log"
    echo "fuzz: crash found; replay with MIXBENCH_FUZZ_SEED=$seed MIXBENCH_FUZZ_CASES=$cases" >&2
    exit 1
  fi
  rounds=$((rounds + 1))
done
echo "fuzz: $rounds rounds (seeds $first..$((first + rounds - 1))) x 5 targets x $cases cases" \
  "= $((rounds * 5 * cases)) inputs in $(( $(date +%s) - start )) s, no crash"
