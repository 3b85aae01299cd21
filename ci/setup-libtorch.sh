#!/usr/bin/env bash
# Makes libtorch 2.11.0 (the version tch 0.24 is built for) available to the build, and links
# it at third_party/libtorch, where .cargo/config.toml points LIBTORCH.
#
# - If LIBTORCH is already set, that libtorch is used as it is (its version is checked).
# - Otherwise the PyPI wheel torch==2.11.0 (a CUDA build that also runs on CPU-only machines)
#   is installed once into a per-user cache keyed by version,
#   ${MIXBENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mixbench}/torch-2.11.0, so that fresh
#   clones and CI runs on the same machine reuse it. A second run does nothing.
set -euo pipefail

version=2.11.0
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
link="$root/third_party/libtorch"

check_version() {
  local dir=$1 found=""
  if [ -f "$dir/build-version" ]; then
    found=$(cut -d+ -f1 <"$dir/build-version")
  elif [ -f "$dir/version.py" ]; then
    found=$(sed -n "s/^__version__ = '\([0-9.]*\).*/\1/p" "$dir/version.py")
  fi
  if [ "$found" != "$version" ]; then
    echo "error: libtorch at $dir is version '${found:-unknown}', tch 0.24 needs $version" >&2
    exit 1
  fi
  [ -f "$dir/lib/libtorch_cpu.so" ] || { echo "error: $dir/lib/libtorch_cpu.so is missing" >&2; exit 1; }
}

if [ -n "${LIBTORCH:-}" ]; then
  target=$LIBTORCH
else
  cache=${MIXBENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mixbench}
  install="$cache/torch-$version"
  if [ ! -f "$install/.complete" ]; then
    echo "installing torch==$version (libtorch for tch) into $install; this happens once" >&2
    mkdir -p "$cache"
    rm -rf "$install.partial"
    python3 -m pip install --quiet --no-cache-dir --disable-pip-version-check \
      --target "$install.partial" "torch==$version"
    rm -rf "$install"
    mv "$install.partial" "$install"
    touch "$install/.complete"
  fi
  target="$install/torch"
fi

check_version "$target"
mkdir -p "$root/third_party"
if [ "$(readlink "$link" 2>/dev/null)" != "$target" ]; then
  ln -sfn "$target" "$link"
fi
echo "$target"
