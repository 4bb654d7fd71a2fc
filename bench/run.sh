#!/usr/bin/env bash
# Benchmark fastframe side by side with the Python WebSocket libraries.
#
# Usage (from anywhere in a checkout):
#   bash bench/run.sh [fastframe.bench options]   # e.g. --quick, --plot speed.png, --json run.json
#   bash bench/run.sh --suite [pytest args]       # the pytest-benchmark suites and their ratio report
#
# Creates .venv-bench/ in the repository root, installs fastframe (built from
# this checkout, not editable) with the "bench" extra (the peers, rich and
# matplotlib), then runs `python -m fastframe.bench` with the arguments given
# (a full run takes a few minutes; --quick about 20 s). A peer that will not
# install (wsaccel builds from its sdist on some Pythons) is left out with the
# reason printed; the benchmark lists it as not installed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

python="${PYTHON:-python3}"
venv="$root/.venv-bench"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
py="$venv/bin/python"

"$py" -m pip install --quiet --upgrade pip
# pip always rebuilds and reinstalls a local directory, so a second run
# measures the current checkout even if the version number did not change.
if ! "$py" -m pip install --quiet ".[bench]" 2>"$venv/pip-errors.log"; then
    echo "pip could not install every peer at once; installing them one by one:"
    "$py" -m pip install --quiet .
    for package in pytest pytest-benchmark rich matplotlib websockets wsproto aiohttp tornado wsaccel \
        websocket-client autobahn picows; do
        if ! "$py" -m pip install --quiet "$package" 2>"$venv/pip-$package.log"; then
            echo "  $package: not installed ($(grep -m1 -iE 'error' "$venv/pip-$package.log" || tail -n1 "$venv/pip-$package.log"))"
        fi
    done
fi

# The build falls back to the pure-Python twins when the extensions fail to
# compile; say so loudly, since fastframe-cython would then be missing.
"$py" - <<'PY'
import fastframe
if fastframe.BACKEND != "cython":
    print("WARNING: the compiled backend is not available (no C compiler?): only the pure twin is measured")
PY

if [ "${1:-}" != "--suite" ]; then
    exec "$py" -m fastframe.bench "$@"
fi
shift

# Run from the repository root: with the src/ layout, "import fastframe" finds
# the installed package, never ./src. -p no:cacheprovider keeps the tree clean.
"$py" -m pytest bench \
    -p no:cacheprovider \
    --benchmark-only \
    --benchmark-max-time=0.5 \
    --benchmark-min-rounds=5 \
    --benchmark-sort=min \
    --benchmark-columns=median,iqr,rounds,iterations \
    --benchmark-json=bench-results.json \
    "$@"

"$py" bench/ratios.py bench-results.json
