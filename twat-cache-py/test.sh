#!/usr/bin/env bash
# Builds the Python package twat_cache into a virtual environment and runs its pytest
# suite. The environment lives in the Cargo target dir (<target>/py-venv, created on the
# first run with maturin, pytest and numpy (for the array tests) from PyPI); the extension is built by `maturin
# develop` in the dev profile, reusing the workspace's compiled dependencies.
#
#   twat-cache-py/test.sh            # build + pytest
#   twat-cache-py/test.sh -k mcache  # extra arguments go to pytest
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
target="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_TARGET_DIR="$target"
venv="$target/py-venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    echo "== creating $venv"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.9.4,<2" "pytest>=7" numpy
fi
# maturin develop needs VIRTUAL_ENV to know where to install.
export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"
echo "== maturin develop (twat-cache-py)"
(cd "$here" && maturin develop --quiet)
echo "== pytest (twat-cache-py/tests)"
cd "$here"
# Each test sets its own TWAT_CACHE_DIR; this one only catches anything that would not.
root_dir="$(mktemp -d)"
trap 'rm -rf "$root_dir"' EXIT
TWAT_CACHE_DIR="$root_dir" python -m pytest -q -p no:cacheprovider "$@"
