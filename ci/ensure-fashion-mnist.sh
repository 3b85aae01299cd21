#!/usr/bin/env bash
# Makes Fashion-MNIST available at /usr/share/datasets/fashion-mnist (where Debian's
# `dataset-fashion-mnist` package installs its IDX files), installing the package when it is
# missing: directly as root, through sudo otherwise. Does nothing when the files are there.
set -euo pipefail
dir=/usr/share/datasets/fashion-mnist
if [ -f "$dir/train-images-idx3-ubyte.gz" ] || [ -f "$dir/train-images-idx3-ubyte" ]; then
  exit 0
fi
command -v apt-get >/dev/null || {
  echo "error: $dir is missing and apt-get is not available; put the Fashion-MNIST IDX files" \
    "in a folder and set \`fashion:\` in the suite to it" >&2
  exit 1
}
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
echo "installing dataset-fashion-mnist (Fashion-MNIST IDX files into $dir)" >&2
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
[ -d "$dir" ] || { echo "error: dataset-fashion-mnist installed but $dir is missing" >&2; exit 1; }
