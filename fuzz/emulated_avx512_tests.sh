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
# The AVX-512 level with VBMI (the validators' byte permutes) and without it
# (AVX-512 F and BW only, as on Skylake-X), each in its own build.
for variant in vbmi no-vbmi; do
    dir="$OUT/$variant"
    mkdir -p "$dir" && ln -sfn "$PWD/$OUT/venv" "$dir/venv"
    if [ "$variant" = vbmi ]; then
        defines="-DFF_EMULATE_AVX512" utf8_kernel=avx512vbmi
    else
        defines="-DFF_EMULATE_AVX512 -DFF_EMULATE_NO_VBMI" utf8_kernel=avx512
    fi
    echo "-- AVX-512 emulated, $variant"
    build_in_place "$dir" CFLAGS="$defines -Wno-psabi"
    PYTHONPATH="$PWD/$dir/src" "$OUT/venv/bin/python" - "$PWD/$dir/src" "$utf8_kernel" <<'PY'
import sys
import fastframe
assert fastframe.__file__.startswith(sys.argv[1]), fastframe.__file__
assert fastframe.KERNELS == {"mask": "avx512", "utf8": sys.argv[2]}, fastframe.KERNELS
PY
    # The C programs some of these tests build are not emulated and so would
    # run AVX2 where the module runs AVX-512: tests/test_kernels.py runs them
    # emulated itself.
    PYTHONPATH="$PWD/$dir/src" "$OUT/venv/bin/python" -m pytest -q -p no:cacheprovider --backend cython -n auto \
        -k "not every_source_destination_distance" \
        tests/test_mask.py tests/test_utf8.py tests/test_parser.py tests/test_frames.py tests/test_messages.py \
        tests/test_relay.py tests/test_malformed.py "$@"
done
