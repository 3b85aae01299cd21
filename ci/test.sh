#!/usr/bin/env bash
# The test command of the README: first tests the crates that need no libtorch (parameters,
# data sets, results: records, reports, claims, compare, history) before libtorch exists, so
# Cargo shows they build without it; then sets up libtorch (once per machine), checks formatting and
# lints (warnings are errors), fuzzes the input readers for a minute with fixed seeds, then
# builds and runs every test of the workspace, and last checks Slurm scale-out and resume on a
# real one-node Slurm (ci/slurm-check.sh). Tests that need ../shared/datasets (or Debian's
# Fashion-MNIST, installed here when missing) skip with a message when it is absent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# No libtorch yet in a fresh clone: these crates must build and pass without it (the corruptions'
# parity tests among them).
env -u LIBTORCH cargo test --locked -p mixbench-params -p mixbench-data -p mixbench-corruptions -p mixbench-results
bash ci/setup-libtorch.sh >/dev/null
# Fashion-MNIST for the composite data set's tests (they skip with a message without it).
bash ci/ensure-fashion-mnist.sh || echo "warning: Fashion-MNIST unavailable; its tests skip" >&2
# Headless Chromium for the report.html browser test (it skips with a message without it).
if ! command -v chromium >/dev/null; then
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; } \
    >/dev/null 2>&1 || echo "warning: Chromium could not be installed; the browser test skips" >&2
fi
# Where Chromium is installed, the browser test must use it (it fails rather than skips).
if command -v chromium >/dev/null; then export MIXBENCH_CHROMIUM=$(command -v chromium); fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
MIXBENCH_FUZZ_SEED_START=1 bash ci/fuzz.sh 60
cargo test --workspace --locked "$@"
# Resume and scale-out against a real one-node Slurm (installed here when missing; skips with
# a message where it cannot be installed or started).
bash ci/slurm-check.sh
