#!/usr/bin/env bash
# The test command of the README: sets up libtorch (once per machine), checks formatting and
# lints (warnings are errors), fuzzes the input readers for a minute with fixed seeds, then
# builds and runs every test of the workspace. Tests that need ../shared/datasets skip with a
# message when it is absent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash ci/setup-libtorch.sh >/dev/null
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
MIXBENCH_FUZZ_SEED_START=1 bash ci/fuzz.sh 60
cargo test --workspace --locked "$@"
