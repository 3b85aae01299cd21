#!/usr/bin/env bash
# The test command of the README: sets up libtorch (once per machine), checks formatting and
# lints (warnings are errors), then builds and runs every test of the workspace. Tests that
# need ../shared/datasets skip with a message when it is absent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash ci/setup-libtorch.sh >/dev/null
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked "$@"
