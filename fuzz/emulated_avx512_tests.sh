#!/usr/bin/env bash
# Run the kernel-heavy test modules on the compiled backend built with
# FF_EMULATE_AVX512: on a CPU without AVX-512, SIMDe computes the AVX-512
# intrinsics in portable C (see _kernels/ff_cpu.h), so the AVX-512 kernels run
# inside the extension modules, behind the same Python API, at AVX-512's level.
#
#   bash fuzz/emulated_avx512_tests.sh [pytest args...]
#
# Needs an AVX2 CPU and SIMDe: apt-get install libsimde-dev.  On a CPU with
# AVX-512 the main test run already uses those kernels natively: nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=build/emulated-avx512

if grep -qw avx512bw /proc/cpuinfo; then
    echo "this CPU has AVX-512: the main test run covers its kernels"
    exit 0
fi
grep -qw avx2 /proc/cpuinfo || { echo "needs an AVX2 CPU"; exit 1; }
[ -f /usr/include/simde/x86/avx512.h ] || { echo "needs SIMDe (apt-get install libsimde-dev)"; exit 1; }

source fuzz/_build.sh
test_venv "$OUT"
build_in_place "$OUT" CFLAGS="-DFF_EMULATE_AVX512 -Wno-psabi"

PYTHONPATH="$PWD/$OUT/src" "$OUT/venv/bin/python" - "$PWD/$OUT/src" <<'PY'
import sys
import fastframe
assert fastframe.__file__.startswith(sys.argv[1]), fastframe.__file__
assert fastframe.KERNELS == {"mask": "avx512", "utf8": "avx512"}, fastframe.KERNELS
PY
# The C programs some of these tests build are not emulated and so would
# run AVX2 where the module runs AVX-512: tests/test_kernels.py runs them
# emulated itself.
PYTHONPATH="$PWD/$OUT/src" "$OUT/venv/bin/python" -m pytest -q -p no:cacheprovider --backend cython -n auto \
    -k "not every_source_destination_distance" \
    tests/test_mask.py tests/test_utf8.py tests/test_parser.py tests/test_frames.py tests/test_messages.py \
    tests/test_relay.py tests/test_malformed.py "$@"
