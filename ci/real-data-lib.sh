# Sourced by the scripts that run suites on the real CIFAR-10 JPEGs (real-data-check.sh,
# real-data-evals.sh, background-check.sh, nightly.sh); expects `root` (the checkout) set.
#
# unpack_cifar10_jpeg [EXIT]: unpacks ${MIXBENCH_SHARED_DIR:-../shared}/datasets/
#   cifar10-jpeg.tar.gz into runs/data once; a missing archive is an error naming it, exit
#   status EXIT (default 1).
# build_mixbench [cargo flags]: sets up libtorch, builds mixbench in release mode and sets
#   `mixbench` to the binary (under CARGO_TARGET_DIR when it is set).
# publish_run RUN OUT FILE...: copies the named files of run directory RUN, its report.md
#   (with the run directory written relative to the checkout) and its plots (PNG and the SVG
#   the report links to) into OUT, the committed record under reports/.

unpack_cifar10_jpeg() {
  local status=${1:-1}
  local archive=${MIXBENCH_SHARED_DIR:-$root/../shared}/datasets/cifar10-jpeg.tar.gz
  if [ ! -d "$root/runs/data/cifar10-jpeg/test" ]; then
    [ -f "$archive" ] || { echo "error: $archive not found (the CIFAR-10 JPEG copy)" >&2; exit "$status"; }
    mkdir -p "$root/runs/data"
    tar -xzf "$archive" -C "$root/runs/data"
  fi
}

build_mixbench() {
  bash "$root/ci/setup-libtorch.sh" >/dev/null
  cargo build --release --locked "$@" -p mixbench --manifest-path "$root/Cargo.toml"
  mixbench=${CARGO_TARGET_DIR:-$root/target}/release/mixbench
}

publish_run() {
  local run=$1 out=$2
  shift 2
  mkdir -p "$out/plots"
  local file
  for file in "$@"; do cp "$run/$file" "$out/"; done
  sed "s|$root/||g" "$run/report.md" >"$out/report.md"
  cp "$run"/plots/*.png "$run"/plots/*.svg "$out/plots/"
}
