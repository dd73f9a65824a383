#!/usr/bin/env bash
# Builds the ghoststream wheel (maturin, abi3, the dev profile), installs it into a private
# virtual environment with pytest and NumPy, and runs the Python tests (python/tests) there.
# `make test` runs it; by hand: bash python/test.sh [pytest arguments].
#
#   GHOSTSTREAM_PYENV     the virtual environment (default ~/.cache/ghoststream/pyenv)
#   CARGO_TARGET_DIR      cargo's build folder (default: the workspace's target/)
#   GHOSTSTREAM_PROFILE   the cargo profile maturin builds with (default dev; release for speed)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
venv=${GHOSTSTREAM_PYENV:-$HOME/.cache/ghoststream/pyenv}
profile=${GHOSTSTREAM_PROFILE:-dev}
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
  echo "python/test.sh: creating the virtual environment $venv"
  "$python" -m venv "$venv"
fi
# From pip's default index; pinned to majors so a new release cannot change the build silently.
"$venv/bin/python" -m pip install -q --disable-pip-version-check \
  "maturin>=1,<2" "numpy>=1.21,<3" "pytest>=7,<9"

wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
# One abi3 wheel (CPython >= 3.9), tagged linux_x86_64: it links the system's FFmpeg, PipeWire
# and D-Bus libraries, so it is no manylinux wheel (no auditwheel repair), and stripped.
(cd "$here" && "$venv/bin/maturin" build --profile "$profile" --interpreter "$venv/bin/python" \
  --compatibility linux --auditwheel skip --strip --out "$wheels" --quiet)
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps \
  "$wheels"/ghoststream-*.whl
# From the tests' folder, so that `import ghoststream` is the installed wheel, not the source tree.
cd "$here/tests"
exec "$venv/bin/python" -m pytest -q "$@"
