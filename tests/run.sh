#!/usr/bin/env bash
# Install fastframe with its test extras into .venv and run the test suite on
# both backends (compiled and pure).  Works from a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# A failed compile must fail here, not fall back to the pure backend quietly.
FASTFRAME_REQUIRE_EXTENSIONS=1 .venv/bin/python -m pip install -q '.[test]'
.venv/bin/python -c 'import fastframe; print("fastframe", fastframe.__version__, "backend:", fastframe.BACKEND, "kernels:", fastframe.KERNELS)'

# pytest exits 5 when it collects no test: that is a failure too (set -e).
# One worker per core (pytest-xdist); "-n 0" among the arguments runs in one process.
.venv/bin/python -m pytest -n auto "$@"
