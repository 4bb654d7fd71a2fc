#!/usr/bin/env bash
# Run the test suite on the compiled backend built with AddressSanitizer and
# UndefinedBehaviorSanitizer: every test, not only what the fuzzers reach.
#
#   bash fuzz/sanitized_tests.sh [pytest args...]
#
# Needs clang and its sanitizer runtimes: apt-get install clang-14 libclang-rt-14-dev
set -euo pipefail
cd "$(dirname "$0")/.."
CLANG="${CLANG:-$(command -v clang-14 || command -v clang)}"
ASAN_RUNTIME="$("$CLANG" -print-file-name=libclang_rt.asan-x86_64.so)"
OUT=build/sanitized

source fuzz/_build.sh
test_venv "$OUT"
# Recoverable UBSan checks (no -fno-sanitize-recover), so that the
# suppressions file applies; halt_on_error below still stops at the first.
build_in_place "$OUT" CC="$CLANG" LDSHARED="$CLANG -shared" FASTFRAME_DEBUG_BUILD=1 \
    CFLAGS="-fsanitize=address,undefined" LDFLAGS="-fsanitize=address,undefined"

# PYTHONMALLOC=malloc: every Python object comes from malloc, where ASan sees
# it. No leak check: the interpreter keeps objects alive until exit by design.
# --capture=sys leaves file descriptor 2 alone, so that a sanitizer's report
# reaches the log even though it aborts the process mid-test.
ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/fuzz/ubsan-suppressions.txt" \
LD_PRELOAD="$ASAN_RUNTIME" PYTHONPATH="$PWD/$OUT/src" PYTHONMALLOC=malloc \
    "$OUT/venv/bin/python" -c 'import fastframe, sys; assert fastframe.__file__.startswith(sys.argv[1]), fastframe.__file__' "$PWD/$OUT/src"
ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/fuzz/ubsan-suppressions.txt" \
LD_PRELOAD="$ASAN_RUNTIME" PYTHONPATH="$PWD/$OUT/src" PYTHONMALLOC=malloc \
    "$OUT/venv/bin/python" -m pytest -q -p no:cacheprovider --capture=sys --backend cython -n auto tests "$@"
