#!/usr/bin/env bash
# valgrind memcheck over a focused test run of the compiled modules: the
# hostile-input catalogue, the twin checks and the parser's rule tables, on
# the compiled backend only.  The run
# fails on any invalid read, write or free anywhere, on any use of
# uninitialised memory inside fastframe's code, and on a failing test.
# Leaks are left to tests/test_leaks.py (the interpreter keeps objects alive
# until exit by design).  CPython's own uninitialised-value reports (3.11
# reads the digit of an int that has none, e.g. int.from_bytes of zero bytes
# at every .pyc import) are counted and listed, not failed on; glibc's AVX2
# wmemcmp vector reads are suppressed (valgrind.supp).
#
# Takes about 18 minutes on a loaded 2-core VM (the selection below runs in
# 8 s of CPU natively).
#
#   bash fuzz/valgrind.sh [pytest args...]    # default selection: $VALGRIND_TESTS
#
# Needs valgrind (apt-get install valgrind).  PYTHONMALLOC=malloc puts every
# Python object in malloc, where memcheck sees its bounds.  The modules are
# built with -O1 -g (FASTFRAME_DEBUG_BUILD=1) so that reports name lines.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=build/valgrind

source fuzz/_build.sh
test_venv "$OUT"
build_in_place "$OUT" FASTFRAME_DEBUG_BUILD=1

if [ "$#" -eq 0 ]; then
    # Hostile input first: the catalogue, the parser's rule table and the
    # twin checks, on the compiled backend (valgrind runs code 30 to 50
    # times slower; pass other tests as arguments for a longer run).
    set -- tests/test_malformed.py tests/test_twins.py \
        "tests/test_parser.py::test_protocol_errors" "tests/test_parser.py::test_valid_streams"
fi

PYTHONPATH="$PWD/$OUT/src" "$OUT/venv/bin/python" -c \
    'import fastframe, sys; assert fastframe.BACKEND == "cython" and fastframe.__file__.startswith(sys.argv[1]), fastframe.__file__' \
    "$PWD/$OUT/src"
rm -f "$OUT"/memcheck.*.log
status=0
# The tests run in one pytest-xdist worker per core, each under memcheck
# (its log: memcheck.<pid>.log); the pytest that hands them out runs natively.
cat > "$OUT/memcheck-python" <<EOF
#!/bin/sh
exec valgrind --tool=memcheck --leak-check=no --track-origins=yes --num-callers=40 \\
    --suppressions="$PWD/fuzz/valgrind.supp" --log-file="$PWD/$OUT/memcheck.%p.log" "$PWD/$OUT/venv/bin/python" "\$@"
EOF
chmod +x "$OUT/memcheck-python"
# --capture=sys leaves file descriptor 2 alone, for valgrind's report.
PYTHONPATH="$PWD/$OUT/src" PYTHONMALLOC=malloc \
    "$OUT/venv/bin/python" -m pytest -q -p no:cacheprovider --capture=sys --backend cython \
    --tx "$(nproc)*popen//python=$PWD/$OUT/memcheck-python" --dist load "$@" || status=$?
# A worker stopped at the end of the run writes no summary; its errors are in its log all the same.
grep -h "ERROR SUMMARY" "$OUT"/memcheck.*.log || true
python3 - "$OUT"/memcheck.*.log <<'PY' || status=1
import re, sys
from collections import Counter

OURS = re.compile(r"fastframe|_frames\.c|_parser\.c|_messages\.c|_mask\.c|_utf8\.c|_relay\.c|ff_[a-z0-9_]+\.h")
MEMORY = ("Invalid read", "Invalid write", "Invalid free", "Mismatched free", "overlap", "Syscall param")
bad, cpython = [], Counter()
for path in sys.argv[1:]:
    text = open(path).read()
    for block in re.split(r"^==\d+== \n", text, flags=re.M):
        lines = [re.sub(r"^==\d+== ", "", line) for line in block.splitlines()]
        if not lines or not re.match(r"(Invalid|Mismatched|Source and|Syscall|Conditional|Use of uninit)", lines[0]):
            continue
        # The error's own stack, without the origin's (--track-origins).
        stack = "\n".join(lines[: next((i for i, l in enumerate(lines) if "was created by" in l), len(lines))])
        if lines[0].startswith(MEMORY) or OURS.search(stack):
            bad.append(block)
        else:
            first = next((l.split(": ", 1)[-1] for l in lines[1:] if l.strip().startswith("at ")), "?")
            cpython[f"{lines[0]} at {first}"] += 1
print(f"memcheck: {len(bad)} errors in fastframe or invalid accesses; CPython's own reports:")
for what, n in cpython.most_common():
    print(f"  {n:4d}  {what}")
for block in bad:
    print(block)
sys.exit(1 if bad else 0)
PY
echo "full reports: $OUT/memcheck.*.log"
exit $status
