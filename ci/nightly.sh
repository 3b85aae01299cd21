#!/usr/bin/env bash
# The nightly regression job: runs suites/nightly/<kind>.yaml on real data, adds the run to the
# history database, compares it with the committed baseline reports/baselines/nightly-<kind>,
# (with the thresholds in suites/nightly/thresholds/<kind>.yaml when that file exists),
# and exits with the comparison's status (0 nothing regressed, 1 something regressed, 2 error),
# leaving the run's report.html, its compare/ folder (compare.html) and the history page
# (history.html beside the database) for people to read.
#
# usage: ci/nightly.sh [cpu|gpu]
# env:   NIGHTLY_DB               history database (default runs/nightly/history.sqlite)
#        NIGHTLY_UPDATE_BASELINE  1: replace the baseline with this run (commit it afterwards)
#        MIXBENCH_SHARED_DIR      where datasets/cifar10-jpeg.tar.gz is (default ../shared)
#
# The CIFAR-10 JPEGs are unpacked once into runs/data; Debian's Fashion-MNIST is installed when
# missing. Without a baseline the run becomes the baseline (and the exit status is 0).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kind=${1:-cpu}
suite=$root/suites/nightly/$kind.yaml
[ -f "$suite" ] || { echo "error: no nightly suite $suite (kinds: cpu, gpu)" >&2; exit 2; }
name=nightly-$kind
baseline=$root/reports/baselines/$name
db=${NIGHTLY_DB:-$root/runs/nightly/history.sqlite}

source "$root/ci/real-data-lib.sh"
unpack_cifar10_jpeg 2
bash "$root/ci/ensure-fashion-mnist.sh" || exit 2
build_mixbench -q
exe=$mixbench

commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
run=$root/runs/nightly/$name-$(date -u +%Y%m%dT%H%M%SZ)-$commit
mkdir -p "$(dirname "$db")"
jobs=2
[ "$kind" = gpu ] && jobs=1
started=$(date +%s)
set +e
"$exe" run "$suite" --out "$run" --jobs "$jobs"
run_status=$?
set -e
elapsed=$(( $(date +%s) - started ))
echo "nightly: run finished with status $run_status in $elapsed s: $run"
[ "$run_status" -le 2 ] || exit 2

"$exe" history add "$run" --db "$db"
"$exe" history html --db "$db" --out "$(dirname "$db")/history.html" \
  --metric top1_last --metric robust_top1 --metric epoch_time_mean --metric runtime_ratio

status=0
if [ -d "$baseline" ]; then
  set +e
  thresholds=()
  [ -f "$root/suites/nightly/thresholds/$kind.yaml" ] &&
    thresholds=(--thresholds "$root/suites/nightly/thresholds/$kind.yaml")
  "$exe" compare "$baseline" "$run" --out "$run/compare" "${thresholds[@]}"
  status=$?
  set -e
else
  echo "nightly: no baseline at $baseline yet; this run becomes it"
  NIGHTLY_UPDATE_BASELINE=1
fi

if [ "${NIGHTLY_UPDATE_BASELINE:-0}" = 1 ]; then
  # The baseline is what compare reads of the run (no weights, checkpoints or plots).
  rm -rf "$baseline"
  mkdir -p "$(dirname "$baseline")"
  "$exe" baseline "$run" "$baseline"
  {
    echo "suite: $name"
    echo "commit: $(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)"
    echo "made: $(date -u +%Y-%m-%dT%H:%M:%SZ) by ci/nightly.sh $kind"
    echo "run: $elapsed s (mixbench run --jobs $jobs), exit $run_status"
    cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
    echo "machine: $(nproc) CPU cores ($cpu); $("$exe" doctor 2>/dev/null |
      awk '$1 == "libtorch" { l = "libtorch " $2 } $1 == "cuda" { $1 = ""; c = "cuda" $0 }
           END { print l "; " c }')"
  } >"$baseline/BASELINE.txt"
  echo "nightly: baseline written to $baseline (commit it)"
fi
echo "nightly: report $run/report.html"
exit "$status"
