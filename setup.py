"""Build the optional Cython extensions of fastframe.

The extensions are an accelerator: if they cannot be built (no compiler, an
unsupported platform, ``FASTFRAME_NO_EXTENSIONS=1``), installation still
succeeds and fastframe runs on its pure-Python twins.  Source distributions
ship the generated C files, so a source install needs a C compiler but not
Cython.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent
PKG = Path("src") / "fastframe"
# Every Cython module of the package; fastframe._backend.API lists their public names.
MODULES = sorted(path.stem for path in (HERE / PKG).glob("*.pyx"))
NO_EXTENSIONS = os.environ.get("FASTFRAME_NO_EXTENSIONS", "") not in ("", "0")
DEBUG_BUILD = os.environ.get("FASTFRAME_DEBUG_BUILD", "") not in ("", "0")


def _compile_args() -> list[str]:
    if sys.platform == "win32":
        return ["/O2"]
    # -g0: release wheels carry no debug info (it triples their size).
    args = ["-O3", "-g0", "-fno-strict-aliasing"]
    if DEBUG_BUILD:
        # Sanitizer and fuzzing builds: keep frames and symbols for reports.
        args = ["-O1", "-g", "-fno-omit-frame-pointer"]
    return args


def _extensions() -> list[Extension]:
    have_cython = True
    try:
        from Cython.Build import cythonize
    except ImportError:
        have_cython = False
    suffix = ".pyx" if have_cython else ".c"
    exts = [
        Extension(
            f"fastframe.{name}",
            [str(PKG / f"{name}{suffix}")],
            include_dirs=[str(PKG / "_kernels")],
            depends=[str(p) for p in (HERE / PKG / "_kernels").glob("*.h")],
            extra_compile_args=_compile_args(),
        )
        for name in MODULES
    ]
    if not have_cython:
        missing = [e.sources[0] for e in exts if not (HERE / e.sources[0]).exists()]
        if missing:
            raise RuntimeError(f"neither Cython nor the generated C files are available: {missing}")
        return exts
    return cythonize(
        exts,
        compiler_directives={
            "language_level": "3",
            "freethreading_compatible": True,
            # Plain builtin functions and method descriptors instead of
            # cyfunctions: CPython calls them directly, which shows on every
            # small call (apply_mask 16B in bench/test_bench_mask.py).  The
            # clinic-format signature keeps inspect.signature() working on them.
            "binding": False,
            "embedsignature": True,
            "embedsignature.format": "clinic",
        },
        # Generated C goes next to the .pyx so that the sdist ships it.
        build_dir=None,
    )


class OptionalBuildExt(build_ext):
    """Build the extensions, or warn and fall back to the pure-Python twins."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any build failure means "pure backend"
            self._warn(exc)

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:  # noqa: BLE001
            self._warn(exc)

    @staticmethod
    def _warn(exc: BaseException) -> None:
        if os.environ.get("FASTFRAME_REQUIRE_EXTENSIONS", "") not in ("", "0"):
            raise exc
        warnings.warn(
            f"fastframe: building the compiled extensions failed ({exc}); "
            "installing the pure-Python backend only. It is correct but slower.",
            stacklevel=1,
        )


setup(
    ext_modules=[] if NO_EXTENSIONS else _extensions(),
    cmdclass={"build_ext": OptionalBuildExt},
)
