#!/usr/bin/env bash
# Run the benchmark suite against every peer and print the ratio tables.
#
# Usage (from the repository root, or anywhere):  bash bench/run.sh [pytest args...]
#
# Creates .venv-bench/ in the repository root, installs fastframe (built from
# this checkout, not editable) with the "bench" extra that pulls in the peers,
# runs bench/ with pytest-benchmark, writes bench-results.json and prints
# bench/ratios.py's summary. Extra arguments go to pytest, e.g.
#   bash bench/run.sh -k mask --benchmark-max-time=1
# The whole run takes about 3-5 minutes on 2 cores.
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
"$py" -m pip install --quiet ".[bench]"

# The build falls back to the pure-Python twins when the extensions fail to
# compile; say so loudly, since every fastframe-cython entry would then skip.
"$py" - <<'PY'
import fastframe
print(f"fastframe {fastframe.__version__}: BACKEND={fastframe.BACKEND} KERNELS={fastframe.KERNELS}")
if fastframe.BACKEND != "cython":
    print("WARNING: the compiled backend is not available; fastframe-cython benchmarks will skip")
PY

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
