#!/usr/bin/env bash
# Fuzz the C kernels (libFuzzer) and the compiled modules (atheris, against
# the pure twins), with AddressSanitizer and UndefinedBehaviorSanitizer.
#
#   bash fuzz/run.sh [seconds per target, default 60]
#
# Needs clang and its sanitizer runtimes: apt-get install clang-14 libclang-rt-14-dev
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
CLANG="${CLANG:-$(command -v clang-14 || command -v clang)}"
OUT=build/fuzz
mkdir -p "$OUT/corpus-kernels"

# A CPU without AVX-512 fuzzes the AVX-512 kernels emulated through SIMDe
# (FF_EMULATE_AVX512, see ff_cpu.h) beside its own levels.
EMULATE=()
if ! grep -qw avx512bw /proc/cpuinfo && grep -qw avx2 /proc/cpuinfo && [ -f /usr/include/simde/x86/avx512.h ]; then
    EMULATE=(-DFF_EMULATE_AVX512 -Wno-psabi)
fi
echo "== libFuzzer: C kernels (${SECONDS_PER_TARGET}s${EMULATE:+, AVX-512 emulated})"
"$CLANG" -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined "${EMULATE[@]}" -I src/fastframe/_kernels \
    fuzz/fuzz_kernels.c -o "$OUT/fuzz_kernels"
"$OUT/fuzz_kernels" -max_total_time="$SECONDS_PER_TARGET" -max_len=4096 -artifact_prefix="$OUT/" \
    -print_final_stats=1 "$OUT/corpus-kernels" 2>&1 | tail -n 12

echo "== atheris: compiled modules vs pure twins (${SECONDS_PER_TARGET}s)"
python3 -m venv "$OUT/venv"
"$OUT/venv/bin/python" -m pip install -q --upgrade pip
"$OUT/venv/bin/python" -m pip install -q --upgrade atheris Cython 'setuptools>=77'
# atheris ships an ASan runtime with libFuzzer's coverage hooks linked in;
# clang's own would take the hooks and blind the fuzzer.
ASAN_LIB="$("$OUT/venv/bin/python" -c 'import atheris; print(atheris.path())')/asan_with_fuzzer.so"
rm -rf "$OUT/src" && cp -r src "$OUT/src" && cp setup.py pyproject.toml README.md "$OUT/"
(
    cd "$OUT"
    rm -f src/fastframe/*.so src/fastframe/*.c
    CC="$CLANG" LDSHARED="$CLANG -shared" FASTFRAME_DEBUG_BUILD=1 FASTFRAME_REQUIRE_EXTENSIONS=1 \
        CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link" \
        LDFLAGS="-fsanitize=address,undefined" \
        venv/bin/python setup.py -q build_ext --inplace > build.log 2>&1 || { cat build.log; exit 1; }
)
mkdir -p "$OUT/corpus-modules"
# PYTHONMALLOC=malloc: every bytes object comes from malloc, where ASan sees it.
ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 LD_PRELOAD="$ASAN_LIB" PYTHONPATH="$OUT/src" \
    PYTHONMALLOC=malloc "$OUT/venv/bin/python" fuzz/fuzz_modules.py -max_total_time="$SECONDS_PER_TARGET" \
    -artifact_prefix="$OUT/" \
    -max_len=8192 "$OUT/corpus-modules" 2>&1 | tail -n 12
