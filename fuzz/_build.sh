# Sourced by sanitized_tests.sh and valgrind.sh (from the repository root):
# a virtual environment for the test suite, and fastframe's compiled modules
# built in place from a copy of the sources, so that the tests import that
# build through PYTHONPATH and nothing is installed.

# test_venv OUT: OUT/venv with the test extra's requirements (read from
# pyproject.toml) and the build tools, but not fastframe itself.
test_venv() {
    local out="$1"
    python3 -m venv "$out/venv"
    "$out/venv/bin/python" -m pip install -q --upgrade pip
    "$out/venv/bin/python" - > "$out/requirements.txt" <<'PY'
import tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["project"]["optional-dependencies"]["test"]))
PY
    "$out/venv/bin/python" -m pip install -q -r "$out/requirements.txt" Cython 'setuptools>=77'
}

# build_in_place OUT [NAME=value ...]: the sources copied to OUT/src and their
# compiled modules built there, in the environment given (a compiler, flags);
# a failed build prints its log and fails.
build_in_place() {
    local out="$1"
    shift
    rm -rf "$out/src" && cp -r src "$out/src" && cp setup.py pyproject.toml README.md LICENSE "$out/"
    (
        cd "$out"
        rm -f src/fastframe/*.so src/fastframe/*.c
        env "$@" FASTFRAME_REQUIRE_EXTENSIONS=1 venv/bin/python setup.py -q build_ext --inplace > build.log 2>&1 \
            || { cat build.log; exit 1; }
    )
}
