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

python3 -m venv "$OUT/venv"
"$OUT/venv/bin/python" -m pip install -q --upgrade pip
# The test extra's requirements, read from pyproject.toml, and the build tools;
# fastframe itself comes from the build below, through PYTHONPATH.
"$OUT/venv/bin/python" - > "$OUT/requirements.txt" <<'PY'
import tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["optional-dependencies"]["test"]))
PY
"$OUT/venv/bin/python" -m pip install -q -r "$OUT/requirements.txt" Cython 'setuptools>=77'

rm -rf "$OUT/src" && cp -r src "$OUT/src" && cp setup.py pyproject.toml README.md LICENSE "$OUT/"
(
    cd "$OUT"
    rm -f src/fastframe/*.so src/fastframe/*.c
    FASTFRAME_DEBUG_BUILD=1 FASTFRAME_REQUIRE_EXTENSIONS=1 \
        venv/bin/python setup.py -q build_ext --inplace > build.log 2>&1 || { cat build.log; exit 1; }
)

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
# --capture=sys leaves file descriptor 2 alone, for valgrind's report.
PYTHONPATH="$PWD/$OUT/src" PYTHONMALLOC=malloc \
    valgrind --tool=memcheck --leak-check=no --track-origins=yes --num-callers=40 --suppressions=fuzz/valgrind.supp \
    --log-file="$OUT/memcheck.%p.log" \
    "$OUT/venv/bin/python" -m pytest -q -p no:cacheprovider --capture=sys --backend cython "$@" || status=$?
grep -h "ERROR SUMMARY" "$OUT"/memcheck.*.log
python3 - "$OUT"/memcheck.*.log <<'PY' || status=1
import re, sys
from collections import Counter

OURS = re.compile(r"fastframe|_frames\.c|_parser\.c|_messages\.c|_mask\.c|_utf8\.c|ff_[a-z]+\.h")
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
