"""Shared fixtures: every test that takes ``backend`` runs on both backends.

If the compiled backend failed to build, its tests fail (ImportError), they
do not skip: a broken build must not pass CI.  ``--backend python`` (or
``cython``) deselects the other one explicitly, together with the tests
marked ``compiled`` (those that import the compiled modules directly), e.g.
on PyPy.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from fastframe._backend import BACKENDS, load_backend


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        action="append",
        choices=BACKENDS,
        help="run the backend-parametrized tests on this backend only (repeatable; default: both)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--backend") or list(BACKENDS)
        metafunc.parametrize("backend", chosen, indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "cython" in (config.getoption("--backend") or BACKENDS):
        return
    deselected = [item for item in items if item.get_closest_marker("compiled")]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker("compiled")]


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> SimpleNamespace:
    """The public API of one backend: ``backend.apply_mask``, ``backend.FrameParser``, ..."""
    return load_backend(request.param)


#: The C kernels' headers, which the programs in tests/c/ include.
KERNELS_DIR = Path(__file__).resolve().parents[1] / "src" / "fastframe" / "_kernels"


@pytest.fixture(scope="session")
def c_program(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Build ``tests/c/<name>.c`` against this checkout's kernels: ``c_program(name, *defines) -> path``.

    Each ``define`` becomes a ``-D`` flag (``"FF_EMULATE_AVX512"``, say).
    Skips where no Unix C compiler is found (MSVC takes other flags; the
    kernels' x86 paths are the same code there).
    """
    compiler = shlex.split(sysconfig.get_config_var("CC") or "cc")
    built: dict[tuple[str, ...], Path] = {}

    def build(name: str, *defines: str) -> Path:
        if sys.platform == "win32" or not shutil.which(compiler[0]):
            pytest.skip("needs a Unix C compiler (cc, gcc or clang)")
        key = (name, *defines)
        if key not in built:
            program = tmp_path_factory.mktemp("c") / "_".join(key)
            source = Path(__file__).parent / "c" / f"{name}.c"
            flags = ["-O2", "-Wall", "-Werror", *(f"-D{define}" for define in defines), "-I", str(KERNELS_DIR)]
            subprocess.run([*compiler, *flags, str(source), "-o", str(program)], check=True)
            built[key] = program
        return built[key]

    return build
