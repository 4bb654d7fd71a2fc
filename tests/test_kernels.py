"""The C kernels (``src/fastframe/_kernels``) on their own, on this CPU and on others.

``tests/c/kernel_checks.c`` checks masking, UTF-8 validation and decoding,
header parsing/building and the dispatcher's ``FASTFRAME_SIMD`` caps against
references written from RFC 6455 §5.2-5.3, RFC 3629 §4 and Unicode §3.9.  It
runs here once per SIMD cap, and cross-compiled under qemu-user on arm64
(the NEON kernel) and on s390x (a big-endian CPU), where the extension
modules are never built on this machine, and once more built with
``FF_EMULATE_AVX512``, where SIMDe computes the AVX-512 intrinsics in
portable C so that the AVX-512 kernels run on CPUs without AVX-512.  The
cross and emulated runs skip when the cross compiler, qemu or SIMDe is
missing, unless ``FASTFRAME_REQUIRE_CROSS=1`` (set by ``.ci/run``, which
installs them).

``tests/c/decode_checks.c`` checks the writers from UTF-8 to each PEP 393
kind (``ff_transcode.h``, ``ff_transcode_neon.h``) and the one-pass scans
(``ff_decode.h``) at every level this CPU runs, against the code points each
text was encoded from, the scalar writer and the automaton, here and under
qemu-user (NEON's also under AddressSanitizer and UBSan).

Then the dispatcher as the compiled modules see it: the SIMD level it picks
is the one this CPU's flags call for, an unknown ``FASTFRAME_SIMD`` value
warns, and the compiled parser, frames and messages pass their tests under
every cap this CPU has.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Optional

import pytest

from support.params import stable_id

KERNELS_DIR = Path(__file__).resolve().parents[1] / "src" / "fastframe" / "_kernels"
SOURCE = Path(__file__).parent / "c" / "kernel_checks.c"
#: The FASTFRAME_SIMD values, narrowest first; "native" leaves it unset.
LEVELS = ["scalar", "sse2", "avx2", "avx512"]
CAPS = ["native", *LEVELS]

#: (target, cross compiler, emulator, masking and UTF-8 kernels expected, big-endian)
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


def _cpu_flags() -> set[str]:
    """The CPU flags Linux lists in ``/proc/cpuinfo`` (empty elsewhere)."""
    if not sys.platform.startswith("linux"):
        return set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.partition(":")[2].split())
    return set()


def _utf8_kernel(level: str) -> str:
    """The UTF-8 kernel an x86 level runs: its SIMD validator, or the SSE2
    ASCII kernel under the automaton where the CPU lacks SSSE3; at the
    AVX-512 level, the VBMI validator where the CPU has VBMI."""
    if level == "sse2":
        return "ssse3" if "ssse3" in _cpu_flags() else "sse2"
    if level == "avx512" and "avx512vbmi" in _cpu_flags():
        return "avx512vbmi"
    return level


def _cpu_level() -> Optional[str]:
    """The SIMD level this CPU's flags call for, on Linux x86-64; None elsewhere.

    Read from ``/proc/cpuinfo``, where Linux lists only what the CPU has and
    the OS enabled: AVX-512 F and BW (the kernels use both, and AVX2 in
    their tails) give avx512, AVX2 gives avx2, and SSE2 is the x86-64
    baseline.
    """
    if not sys.platform.startswith("linux") or platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            break
    else:
        return None
    if {"avx512f", "avx512bw", "avx2"} <= flags:
        return "avx512"
    if "avx2" in flags:
        return "avx2"
    return "sse2"


def _capped(cap: str, best: str) -> str:
    """The level a FASTFRAME_SIMD cap leaves of the x86 level ``best``."""
    return best if cap == "native" else LEVELS[min(LEVELS.index(cap), LEVELS.index(best))]


def _env(cap: Optional[str], **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("FASTFRAME_SIMD", None)
    env.pop("FASTFRAME_NO_EXTENSIONS", None)
    if cap is not None and cap != "native":
        env["FASTFRAME_SIMD"] = cap
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def native_program(c_program: Callable[..., Path]) -> Path:
    """kernel_checks.c built with this Python's C compiler."""
    return c_program("kernel_checks")


@pytest.mark.compiled
@pytest.mark.parametrize("cap", CAPS)
def test_kernels_on_this_cpu(native_program: Path, cap: str) -> None:
    """Every kernel this CPU runs (capped by FASTFRAME_SIMD) agrees with the references."""
    result = _run([str(native_program)], cap)
    if cap == "scalar":
        assert result["mask_kernel"] == "scalar" and result["utf8_kernel"] == "scalar", result
    best = _cpu_level()
    if best is not None:
        level = _capped(cap, best)
        want = (level, level, _utf8_kernel(level))
        assert (result["level"], result["mask_kernel"], result["utf8_kernel"]) == want, result


@pytest.mark.compiled
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
    assert result["mask_kernel"] == mask_kernel and result["utf8_kernel"] == mask_kernel, result
    assert result["big_endian"] is big_endian, result
    # The scalar cap must reach the portable path on that CPU too.
    assert _run([emulator, str(program)], "scalar")["mask_kernel"] == "scalar"


#: Debian's libsimde-dev: SIMDe's portable implementations of the AVX-512 intrinsics.
SIMDE_HEADER = "simde/x86/avx512.h"


def _require_simde() -> None:
    """Skip (fail under FASTFRAME_REQUIRE_CROSS) where the AVX-512 emulation cannot be built or run."""
    if "avx2" not in _cpu_flags():
        pytest.skip("the emulated AVX-512 kernels use AVX2 for their tails: needs an AVX2 CPU (Linux x86-64)")
    if not any((Path(root) / SIMDE_HEADER).is_file() for root in ("/usr/include", "/usr/local/include")):
        if os.environ.get("FASTFRAME_REQUIRE_CROSS", "") not in ("", "0"):
            pytest.fail(f"FASTFRAME_REQUIRE_CROSS is set but {SIMDE_HEADER} is not installed")
        pytest.skip(f"needs {SIMDE_HEADER} (Debian: libsimde-dev)")


@pytest.mark.compiled
@pytest.mark.parametrize(
    ("defines", "utf8_kernel"),
    [(("FF_EMULATE_AVX512",), "avx512vbmi"), (("FF_EMULATE_AVX512", "FF_EMULATE_NO_VBMI"), "avx512")],
    ids=["vbmi", "no-vbmi"],
)
def test_avx512_kernels_emulated(c_program: Callable[..., Path], defines: tuple[str, ...], utf8_kernel: str) -> None:
    """The AVX-512 kernels (masking, the ASCII scan, the UTF-8 validator and the fused unmask-and-validate
    pass, with VBMI and without) agree with the references, run through SIMDe's portable AVX-512 on a CPU
    without it.

    Built with FF_EMULATE_AVX512 (see ff_cpu.h), the kernels' own code runs
    with every _mm512_* intrinsic computed in portable C, so lanes, masks,
    carries across blocks and tails are checked exactly as on AVX-512
    hardware; only their speed is not.  On a CPU that has AVX-512 this runs
    the same checks a second way.
    """
    _require_simde()
    result = _run([str(c_program("kernel_checks", *defines))])
    assert (result["level"], result["mask_kernel"], result["utf8_kernel"]) == ("avx512", "avx512", utf8_kernel), result


@pytest.mark.compiled
def test_avx512_mask_walks_emulated(c_program: Callable[..., Path]) -> None:
    """The AVX-512 masking kernel, emulated, at every distance between source and destination modulo 4 KiB.

    tests/c/mask_distances.c (see test_mask.py) drives it through both of
    its walking directions and guards both ends of the output.
    """
    _require_simde()
    proc = subprocess.run(
        [str(c_program("mask_distances", "FF_EMULATE_AVX512"))],
        env=_env(None),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["kernel"] == "avx512" and result["errors"] == 0, result
    assert result["forward"] > 0 and result["backward"] > 0, result
    assert result["forward"] + result["backward"] == result["checks"] == 10 * 4096 * 2, result


# --- the dispatcher as the compiled modules see it ---------------------------

_PROBE = textwrap.dedent(
    """
    import json, warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import fastframe
    print(json.dumps({
        "backend": fastframe.BACKEND,
        "kernels": fastframe.KERNELS,
        "warnings": [[w.category.__name__, str(w.message), w.filename] for w in caught],
    }))
    """
)


def _probe(cap: Optional[str], backend_name: str = "cython") -> dict[str, object]:
    """Import fastframe in a fresh interpreter under a FASTFRAME_SIMD value."""
    extra = {"FASTFRAME_NO_EXTENSIONS": "1"} if backend_name == "python" else {}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE], env=_env(cap, **extra), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    assert result["backend"] == backend_name, result
    return result


@cache
def _native_kernels() -> dict[str, object]:
    """fastframe.KERNELS of the compiled backend with FASTFRAME_SIMD unset."""
    kernels = _probe(None)["kernels"]
    assert isinstance(kernels, dict)
    return kernels


@pytest.mark.compiled
@pytest.mark.skipif(_cpu_level() is None, reason="reads the CPU flags from /proc/cpuinfo (Linux x86-64)")
def test_simd_level_matches_the_cpu() -> None:
    """Uncapped, the compiled backend runs the widest kernels this CPU's flags allow.

    A dispatcher that misreads a CPUID bit (AVX-512 BW from the wrong
    register, say) still passes every correctness test, on narrower
    kernels: only this comparison with the flags the OS reports catches it.
    """
    level = _cpu_level()
    assert _native_kernels() == {"mask": level, "utf8": _utf8_kernel(level)}


@pytest.mark.parametrize(
    ("value", "known"),
    [("avx-2", False), ("AVX2", False), ("neon", False), ("avx512 ", False), ("", True), *((v, True) for v in LEVELS)],
    ids=stable_id,
)
def test_unknown_simd_value_warns(backend: SimpleNamespace, value: str, known: bool) -> None:
    """An unknown FASTFRAME_SIMD value is a RuntimeWarning at import, naming the accepted ones.

    It caps nothing, as before; a known value (or an empty one) is silent.
    The pure backend has no SIMD kernels and never reads FASTFRAME_SIMD, so
    no value, known or not, makes it warn.
    """
    result = _probe(value, backend.name)
    warnings = result["warnings"]
    assert isinstance(warnings, list)
    if backend.name == "python":
        assert warnings == [] and result["kernels"] == {"mask": "python", "utf8": "python"}, result
        return
    if known:
        assert warnings == [], result
        return
    assert len(warnings) == 1, result
    category, message, filename = warnings[0]
    assert category == "RuntimeWarning", result
    assert repr(value) in message and all(name in message for name in LEVELS), message
    # It points at the line that imported fastframe, not into importlib.
    assert filename == "<string>", result
    assert result["kernels"] == _native_kernels(), "an unknown value must cap nothing"


#: Slices of the compiled UTF-8, parser, frames and messages tests that push
#: payloads through the kernels (masking from 64 bytes, the SIMD UTF-8
#: validator from 32 bytes); the property and oracle tests stay out, they run
#: uncapped in the main suite.
_CAPPED_TESTS = ["tests/test_utf8.py", "tests/test_parser.py", "tests/test_frames.py", "tests/test_messages.py"]
_CAPPED_DESELECT = "not property and not agree and not against and not Oracle and not reference"

_CAPPED_RUN = textwrap.dedent(
    """
    import json, sys
    import fastframe, pytest

    expected = json.loads(sys.argv[1])
    assert fastframe.KERNELS == expected, (fastframe.KERNELS, expected)
    sys.exit(pytest.main(sys.argv[2:]))
    """
)


@pytest.mark.compiled
@pytest.mark.parametrize("cap", LEVELS)
def test_compiled_modules_under_each_cap(cap: str) -> None:
    """_utf8, _parser, _frames and _messages pass a slice of their tests at every SIMD level this CPU has.

    In the main run they only ever see the widest kernels; FASTFRAME_SIMD is
    read once per process, hence a fresh one per cap.
    """
    best = _native_kernels()["mask"]
    assert isinstance(best, str)
    if best not in LEVELS:
        pytest.skip(f"the masking kernel here is {best}: the caps are x86 levels")
    if LEVELS.index(cap) > LEVELS.index(best):
        pytest.skip(f"this CPU runs {best}, not {cap}")
    root = Path(__file__).resolve().parents[1]
    command = [
        sys.executable,
        "-c",
        _CAPPED_RUN,
        json.dumps({"mask": cap, "utf8": _utf8_kernel(cap)}),
        "-q",
        "-p",
        "no:cacheprovider",
        "--backend",
        "cython",
        "-m",
        "not slow",
        "-k",
        _CAPPED_DESELECT,
        *_CAPPED_TESTS,
    ]
    proc = subprocess.run(command, cwd=root, env=_env(cap), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout, proc.stdout[-2000:]


# --- the UTF-8 -> str writers (tests/c/decode_checks.c) ----------------------

DECODE_SOURCE = Path(__file__).parent / "c" / "decode_checks.c"


def _run_decode_checks(command: list[str], **env: str) -> dict[str, object]:
    proc = subprocess.run(command, env=_env(None, **env), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    assert result["errors"] == 0, result
    # The random texts, block edges and invalid bytes at one level alone are over 80,000 checks.
    assert isinstance(result["checks"], int) and result["checks"] > 80_000, result
    return result


@pytest.mark.compiled
def test_decode_writers_on_this_cpu(c_program: Callable[..., Path]) -> None:
    """The writers from UTF-8 to each PEP 393 kind and the one-pass scans, at every level this CPU runs,
    give the code points the text was encoded from and the automaton's verdict, stay in bounds on invalid
    bytes, and the SIMD ones run where the CPU has them (AVX2; SSE4.1 writers and the SSSE3 scan at the
    SSE2 level)."""
    result = _run_decode_checks([str(c_program("decode_checks"))])
    best = _cpu_level()
    if best is not None:
        levels = LEVELS[: min(LEVELS.index(best), LEVELS.index("avx2")) + 1]
        sse41 = "sse4.1" if "sse4_1" in _cpu_flags() else "scalar"
        kernels = [{"avx2": "avx2", "sse2": sse41}.get(level, "scalar") for level in levels]
        ssse3 = "ssse3" if "ssse3" in _cpu_flags() else "two-pass"
        scans = [{"avx2": "avx2", "sse2": ssse3}.get(level, "two-pass") for level in levels]
        assert (result["levels"], result["kernels"], result["scans"]) == (levels, kernels, scans), result


@pytest.mark.compiled
@pytest.mark.parametrize(("target", "compiler", "emulator", "mask_kernel", "big_endian"), CROSS_TARGETS)
def test_decode_writers_on_other_architectures(
    tmp_path: Path, target: str, compiler: str, emulator: str, mask_kernel: str, big_endian: bool
) -> None:
    """The writers and scans, cross-compiled and run under qemu-user: NEON's on arm64 (and the scalar ones
    there), the scalar ones on big-endian s390x."""
    missing = [tool for tool in (compiler, emulator) if not shutil.which(tool)]
    if missing:
        if os.environ.get("FASTFRAME_REQUIRE_CROSS", "") not in ("", "0"):
            pytest.fail(f"FASTFRAME_REQUIRE_CROSS is set but {missing} are not installed")
        pytest.skip(f"needs {' and '.join(missing)} (Debian: gcc-{compiler.removesuffix('-gcc')}, qemu-user)")
    program = tmp_path / f"decode_checks_{target}"
    flags = ["-O2", "-Wall", "-Werror", "-static", "-I", str(KERNELS_DIR)]
    subprocess.run([compiler, *flags, str(DECODE_SOURCE), "-o", str(program)], check=True)
    result = _run_decode_checks([emulator, str(program)])
    levels = ["scalar", mask_kernel] if mask_kernel != "scalar" else ["scalar"]
    simd = ["scalar", *levels[1:]]
    assert (result["levels"], result["kernels"], result["scans"]) == (levels, simd, ["two-pass", *levels[1:]]), result


#: Where Debian's arm64 cross toolchain keeps its libraries (libasan, libubsan), for qemu-aarch64.
ARM64_SYSROOT = Path("/usr/aarch64-linux-gnu")


@pytest.mark.compiled
def test_decode_neon_sanitized(tmp_path: Path) -> None:
    """The NEON writers and scan under AddressSanitizer and UBSan (qemu-aarch64): decode_checks.c hands them
    exact heap blocks, so a read one byte past the text or a write one unit past the output is an error.
    The fuzzer cannot reach the NEON code on x86, so this is where its bounds are checked."""
    compiler, emulator = "aarch64-linux-gnu-gcc", "qemu-aarch64"
    missing = [tool for tool in (compiler, emulator) if not shutil.which(tool)]
    if missing or not list(ARM64_SYSROOT.glob("lib/libasan.so*")):
        if os.environ.get("FASTFRAME_REQUIRE_CROSS", "") not in ("", "0"):
            pytest.fail(f"FASTFRAME_REQUIRE_CROSS is set but {missing or 'libasan for arm64'} is not installed")
        pytest.skip("needs gcc-aarch64-linux-gnu (with its libasan) and qemu-user")
    program = tmp_path / "decode_checks_arm64_asan"
    flags = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined"]
    subprocess.run(
        [compiler, *flags, "-Wall", "-Werror", "-I", str(KERNELS_DIR), str(DECODE_SOURCE), "-o", str(program)],
        check=True,
    )
    # No LD_PRELOAD: the x86 ASan runtime that fuzz/sanitized_tests.sh preloads would load into qemu itself,
    # whose shadow memory beside the guest's own ASan gets qemu killed.
    result = _run_decode_checks(
        [emulator, str(program)], QEMU_LD_PREFIX=str(ARM64_SYSROOT), ASAN_OPTIONS="detect_leaks=0", LD_PRELOAD=""
    )
    assert (result["kernels"], result["scans"]) == (["scalar", "neon"], ["two-pass", "neon"]), result
