"""The C kernels (``src/fastframe/_kernels``) on their own, on this CPU and on others.

``tests/c/kernel_checks.c`` checks masking, UTF-8 validation and header
parsing/building against references written from RFC 6455 §5.2-5.3 and
RFC 3629 §4.  It runs here once per SIMD kernel, and cross-compiled under
qemu-user on arm64 (the NEON kernel) and on s390x (a big-endian CPU), where
the extension modules are never built on this machine.  The cross runs skip
when the cross compiler or qemu is missing, unless
``FASTFRAME_REQUIRE_CROSS=1`` (set by ``.ci/run``, which installs them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.compiled

KERNELS_DIR = Path(__file__).resolve().parents[1] / "src" / "fastframe" / "_kernels"
SOURCE = Path(__file__).parent / "c" / "kernel_checks.c"
CAPS = ["native", "scalar", "sse2", "avx2"]

#: (target, cross compiler, emulator, masking kernel expected, big-endian)
CROSS_TARGETS = [
    ("arm64", "aarch64-linux-gnu-gcc", "qemu-aarch64", "neon", False),
    ("s390x", "s390x-linux-gnu-gcc", "qemu-s390x", "scalar", True),
]


def _run(command: list[str], cap: str = "native") -> dict[str, object]:
    env = dict(os.environ)
    env.pop("FASTFRAME_SIMD", None)
    if cap != "native":
        env["FASTFRAME_SIMD"] = cap
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    assert result["errors"] == 0, result
    # Every 1-, 2- and 3-byte UTF-8 sequence alone is 16.8 million checks.
    assert isinstance(result["checks"], int) and result["checks"] > 30_000_000, result
    return result


@pytest.fixture(scope="module")
def native_program(c_program: Callable[[str], Path]) -> Path:
    """kernel_checks.c built with this Python's C compiler."""
    return c_program("kernel_checks")


@pytest.mark.parametrize("cap", CAPS)
def test_kernels_on_this_cpu(native_program: Path, cap: str) -> None:
    """Every kernel this CPU runs (capped by FASTFRAME_SIMD) agrees with the references."""
    result = _run([str(native_program)], cap)
    if cap == "scalar":
        assert result["mask_kernel"] == "scalar" and result["utf8_kernel"] == "scalar", result


@pytest.mark.parametrize(("target", "compiler", "emulator", "mask_kernel", "big_endian"), CROSS_TARGETS)
def test_kernels_on_other_architectures(
    tmp_path: Path, target: str, compiler: str, emulator: str, mask_kernel: str, big_endian: bool
) -> None:
    """The kernels, cross-compiled and run under qemu-user, agree with the references.

    arm64 runs the NEON masking kernel; s390x is big-endian, which the
    portable paths (the mask key pattern above all) must get right.
    """
    missing = [tool for tool in (compiler, emulator) if not shutil.which(tool)]
    if missing:
        if os.environ.get("FASTFRAME_REQUIRE_CROSS", "") not in ("", "0"):
            pytest.fail(f"FASTFRAME_REQUIRE_CROSS is set but {missing} are not installed")
        pytest.skip(f"needs {' and '.join(missing)} (Debian: gcc-{compiler.removesuffix('-gcc')}, qemu-user)")
    program = tmp_path / f"kernel_checks_{target}"
    subprocess.run(
        [compiler, "-O2", "-Wall", "-Werror", "-static", "-I", str(KERNELS_DIR), str(SOURCE), "-o", str(program)],
        check=True,
    )
    result = _run([emulator, str(program)])
    assert result["mask_kernel"] == mask_kernel, result
    assert result["big_endian"] is big_endian, result
    # The scalar cap must reach the portable path on that CPU too.
    assert _run([emulator, str(program)], "scalar")["mask_kernel"] == "scalar"
