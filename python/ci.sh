#!/usr/bin/env bash
# The Python module: build the CLI (the tests compare with it), install the module into a fresh
# virtual environment with pip (maturin builds it), and run its tests.
# Needs python3 (3.9+) with venv, and PyPI (maturin, pytest, numpy, safetensors).
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
BIN="$(realpath "${CARGO_TARGET_DIR:-target}/release/superbound")"

VENV="${SUPERBOUND_VENV:-$(mktemp -d)/venv}"
python3 -m venv "$VENV"
export PATH="$VENV/bin:$PATH"   # maturin's build hook runs `maturin` from PATH
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet "maturin>=1.7,<2" pytest numpy safetensors
# --no-build-isolation: build with the maturin just installed (no second download).
"$VENV/bin/pip" install --quiet --no-build-isolation ./python
SUPERBOUND_BIN="$BIN" "$VENV/bin/python" -m pytest -q python/tests
