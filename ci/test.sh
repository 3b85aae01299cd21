#!/usr/bin/env bash
# The test command of the README: sets up libtorch (once per machine), then builds and runs
# every test of the workspace. Tests that need ../shared/datasets skip with a message when it
# is absent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash ci/setup-libtorch.sh >/dev/null
cargo test --workspace --locked "$@"
