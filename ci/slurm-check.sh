#!/usr/bin/env bash
# Checks `mixbench run --slurm` against a real Slurm: brings up a one-node cluster on this
# machine (ci/slurm-cluster.sh: Debian's slurm-wlm and munge, installed when missing), submits
# a small suite (synthetic data, small CNN, three methods x two seeds, a robustness
# evaluation), requeues one training task with `scontrol requeue` in the middle of its
# training, waits for the training array, the evaluation array and the report job, and
# checks that
#   - every cell finished, each trained by exactly one task run except the requeued one (two
#     runs, the second resuming from its checkpoint: "resuming" in its log);
#   - summary.csv equals that of a local `--inline` run of the same suite (all but the
#     run-name and timing columns);
#   - the evaluations ran and `mixbench status` shows every unit done.
# It stops the daemons it started. Skips (exit 0, with a message) when it cannot install or
# run Slurm here (not root, no apt-get). Takes about two minutes on 2 cores.
#
# usage: ci/slurm-check.sh            (builds target/debug/mixbench unless $MIXBENCH is set)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

say() { echo "slurm-check: $*"; }
skip() { echo "slurm-check: SKIPPED: $*"; exit 0; }
fail() { echo "slurm-check: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || skip "installing and starting Slurm needs root"
if ! command -v sbatch >/dev/null && ! command -v apt-get >/dev/null; then
  skip "Slurm is not installed and apt-get is not available to install it"
fi

if [ -z "${MIXBENCH:-}" ]; then
  cargo build --quiet -p mixbench --bin mixbench
  MIXBENCH=$root/target/debug/mixbench
fi
started=$(date +%s)
work=$(mktemp -d /tmp/mixbench-slurm-check.XXXXXX)
export SLURM_CHECK_DIR=$work/cluster
# A requeued task is held for cred_expire + 1 s before it may run again (Slurm's default 120).
export SLURM_CHECK_CRED_EXPIRE=10
if ! bash ci/slurm-cluster.sh start; then
  command -v sbatch >/dev/null || skip "Slurm could not be installed here (see above)"
  fail "the one-node Slurm cluster did not start (see above)"
fi
trap 'bash ci/slurm-cluster.sh stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

cat >"$work/suite.yaml" <<'EOF'
name: slurm-check
datasets:
  - synthetic: {classes: 3, train_per_class: 700, test_per_class: 20, size: 16, seed: 3}
models: [small_cnn]
methods: [vanilla, mixup, cutmix]
seeds: [0, 1]
training:
  epochs: 5
  batch_size: 20
  lr: 0.05
  milestones: [3]
  device: cpu
  threads: 1
evaluations:
  robustness: {noise: [0.1], fgsm: [4]}
EOF

run=$work/slurm-run
say "submitting with --slurm"
"$MIXBENCH" run "$work/suite.yaml" --out "$run" --slurm --slurm-args "--cpus-per-task=1"
train=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["train"]["job"])' "$run/slurm/submitted.json")
report=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["report"]["job"])' "$run/slurm/submitted.json")
say "training array $train, report job $report"

# Requeue the first task seen running with at least one epoch behind it (a checkpoint).
requeued=""
deadline=$((SECONDS + 240))
while [ -z "$requeued" ]; do
  [ $SECONDS -lt $deadline ] || fail "no training task was seen mid-training within 4 minutes"
  while IFS='|' read -r index state; do
    [ "$state" = RUNNING ] || continue
    cell=$(sed -n "$((index + 1))p" "$run/slurm/train.units")
    rows=$( [ -f "$cell/metrics.csv" ] && tail -n +2 "$cell/metrics.csv" | wc -l || echo 0)
    if [ "$rows" -ge 1 ] && [ "$rows" -lt 4 ] && [ -f "$cell/resume.safetensors" ]; then
      say "requeueing task ${train}_$index ($(basename "$cell"), $rows epochs done)"
      scontrol requeue "${train}_$index"
      requeued=$index
      break
    fi
  done < <(squeue -h -r -j "$train" -o '%K|%T' 2>/dev/null || true)
  sleep 0.2
done
# Skip the hold a requeued task waits out (BeginTime) once it is pending again.
for _ in $(seq 1 150); do
  state=$(squeue -h -j "${train}_$requeued" -o '%T' 2>/dev/null || true)
  if [ "$state" = PENDING ]; then
    scontrol update jobid="${train}_$requeued" StartTime=now || true
    break
  fi
  sleep 0.2
done

say "waiting for every job to finish"
deadline=$((SECONDS + 420))
while squeue -h -j "$train,$report" 2>/dev/null | grep -q .; do
  [ $SECONDS -lt $deadline ] || { squeue; "$MIXBENCH" status "$run"; fail "jobs still queued after 7 minutes"; }
  sleep 2
done
"$MIXBENCH" status "$run" | tee "$work/status.txt"
grep -q "^12 units: 12 done$" "$work/status.txt" || fail "not every unit is done (status above)"
[ -f "$run/report.md" ] || fail "the report job wrote no report.md"

requeued_cell=$(basename "$(sed -n "$((requeued + 1))p" "$run/slurm/train.units")")
python3 - "$run" "$requeued_cell" <<'EOF' || fail "attempts check"
import collections, json, sys
run, requeued = sys.argv[1], sys.argv[2]
counts = collections.Counter()
for line in open(f"{run}/attempts.log"):
    unit = json.loads(line)["unit"]
    if "(" not in unit:
        counts[unit] += 1
bad = {c: n for c, n in counts.items() if n != (2 if c == requeued else 1)}
if len(counts) != 6 or bad:
    sys.exit(f"training attempts per cell: {dict(counts)} (requeued: {requeued})")
print(f"slurm-check: attempts: every cell trained once, {requeued} twice (requeued)")
EOF
log=$(ls "$run/slurm/logs/train-${train}_${requeued}.log")
grep -q "resuming" "$log" || fail "the requeued task did not resume from its checkpoint ($log)"
say "the requeued task resumed: $(grep -m1 resuming "$log")"

say "the same suite locally with --inline, for comparison"
"$MIXBENCH" run "$work/suite.yaml" --out "$work/local" --inline >/dev/null 2>"$work/local.log" \
  || { tail -20 "$work/local.log"; fail "the local run failed"; }
python3 - "$run/summary.csv" "$work/local/summary.csv" <<'EOF' || fail "summary.csv differs from the local run's"
import csv, sys
skip = {"run", "epoch_time_mean", "mix_time_mean", "saliency_time_mean"}
def rows(path):
    with open(path) as f:
        return sorted(({k: v for k, v in r.items() if k not in skip} for r in csv.DictReader(f)),
                      key=lambda r: r["cell"])
a, b = rows(sys.argv[1]), rows(sys.argv[2])
if a != b:
    for ra, rb in zip(a, b):
        diff = {k: (ra[k], rb[k]) for k in ra if ra[k] != rb.get(k)}
        if diff:
            print(ra["cell"], diff)
    sys.exit(1)
print(f"slurm-check: summary.csv: {len(a)} cells equal to the local --inline run's (non-timing columns)")
EOF
say "passed in $(( $(date +%s) - started )) s"
