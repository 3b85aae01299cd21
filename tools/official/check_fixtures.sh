#!/usr/bin/env bash
# Regenerates every committed parity fixture from the official code into a temporary folder and
# compares each with the committed file byte for byte.
#
#   tools/official/check_fixtures.sh OFFICIAL_ROOT [--cifar PATH]
#
# OFFICIAL_ROOT holds the user's checkouts SAGE/ (SamsungLabs/SAGE), PuzzleMix/
# (snu-mllab/PuzzleMix) and Co-Mixup/ (snu-mllab/Co-Mixup), at the commits named in the
# fixture READMEs. Python packages: tools/official/requirements.txt ($PYTHON, default python3).
# Prints one line per fixture, "identical" or "differs" (with the sha256 of both), and exits
# non-zero if any fixture differs or a script fails.
set -u -o pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 OFFICIAL_ROOT [--cifar PATH]" >&2
    exit 2
fi
official=$(cd "$1" && pwd) || exit 2
shift
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
python=${PYTHON:-python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# script | official-code option | committed fixture
fixtures=(
    "sage_fixture.py|--sage $official/SAGE|methods/sage/tests/fixtures/official_sage.safetensors"
    "puzzlemix_fixture.py|--puzzlemix $official/PuzzleMix|methods/puzzlemix/tests/fixtures/official_puzzlemix.safetensors"
    "comixup_fixture.py|--comixup $official/Co-Mixup|methods/comixup/tests/fixtures/official_comixup.safetensors"
    "saliencymix_fixture.py||methods/saliencymix/tests/fixtures/opencv_fine_grained.safetensors"
    "manifold_fixture.py|--sage $official/SAGE|harness/tests/fixtures/official_manifold.safetensors"
)

"$python" -c 'import torch; print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()} (unpinned)")'
status=0
for entry in "${fixtures[@]}"; do
    IFS='|' read -r script option committed <<<"$entry"
    out="$tmp/$(basename "$committed")"
    # shellcheck disable=SC2086  # $option is one flag and one path
    if ! "$python" "$here/$script" $option "$@" --out "$out" >"$tmp/$script.log" 2>&1; then
        echo "$committed: FAILED ($script; log below)"
        tail -n 20 "$tmp/$script.log" | sed 's/^/    /'
        status=1
        continue
    fi
    if cmp -s "$out" "$root/$committed"; then
        echo "$committed: identical ($(sha256sum "$out" | cut -c1-16))"
    else
        echo "$committed: differs (regenerated $(sha256sum "$out" | cut -c1-16), committed $(sha256sum "$root/$committed" | cut -c1-16))"
        status=1
    fi
done
exit $status
