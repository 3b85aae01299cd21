#!/usr/bin/env bash
# The quickstart of the README: sets up libtorch (once per machine), builds mixbench in
# release mode and runs the built-in quickstart suite into runs/quickstart.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash ci/setup-libtorch.sh >/dev/null
cargo build --release --locked -p mixbench
target/release/mixbench quickstart "$@"
