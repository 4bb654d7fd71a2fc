"""The free-threading contract: kernels and one-shot functions are thread-safe.

Many threads call masking, UTF-8 validation, header parsing and building,
and close payload parsing and building at once on the same input objects (and ``mask_inplace`` on buffers of their
own), and every result is checked against the independent references of
tests/support.  The inputs include buffers large enough for the compiled
backend to release the GIL (masking from 64 KiB, validation from 256 KiB), so
threads really overlap inside the C kernels on a GIL build too; on a
free-threaded build they overlap everywhere.

A ``FrameParser``, ``Utf8Validator`` or ``MessageAssembler`` belongs to one
connection (one thread at a time): that half of the contract is documented,
not tested here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from support.decoder import header_fields, ref_parse_header
from support.encoder import close_payload, encode_frame, encode_header, mask

THREADS = 8
ROUNDS = 3
KEYS = (b"\x00\x00\x00\x00", b"\x37\xfa\x21\x3d", b"\xff\x01\x80\x7f")
# 0 and 1 byte, around the SIMD block widths, and past the compiled
# backend's GIL-release thresholds (64 KiB for masking, 256 KiB for UTF-8).
SIZES = (0, 1, 3, 15, 16, 17, 63, 64, 65, 1000, 70_000, 300_000)


def _payload(size: int, seed: int) -> bytes:
    return bytes((i * 31 + seed * 7 + (i >> 8)) & 0xFF for i in range(size))


def _texts() -> list[bytes]:
    mixed = "token é ß € 中文 🙂 ".encode()
    big_ascii = b"a" * 300_000
    big_mixed = mixed * (300_000 // len(mixed) + 1)
    return [
        b"",
        b"hello",
        mixed,
        big_ascii,
        big_mixed,
        big_mixed + b"\xed\xa0\x80",  # a surrogate at the very end
        big_ascii[:150_000] + b"\xff" + big_ascii[:150_000],  # an invalid byte in the middle
        mixed[:-1],  # a sequence cut short
        b"\xc0\xaf",  # an overlong encoding
        b"\xf4\x90\x80\x80",  # past U+10FFFF
    ]


def _utf8_ok(data: bytes) -> bool:
    # CPython's strict decoder is the reference (it rejects surrogates,
    # overlongs and code points past U+10FFFF, as RFC 3629 does).
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


Check = Callable[[], bool]


def _checks(backend: SimpleNamespace) -> list[tuple[str, Check]]:
    """Every call with its expected result computed beforehand by the references."""
    checks: list[tuple[str, Check]] = []
    shared_payloads = [_payload(size, seed) for seed, size in enumerate(SIZES)]
    # A bytearray and a memoryview read by every thread at once: the buffer
    # protocol paths, not only bytes.
    shared_array = bytearray(_payload(200_000, 99))
    shared_view = memoryview(shared_array)[5:]

    for key in KEYS:
        for data in [*shared_payloads, shared_array, shared_view]:
            expected = mask(bytes(data), key)

            def apply(data: Any = data, key: bytes = key, expected: bytes = expected) -> bool:
                return backend.apply_mask(data, key) == expected

            checks.append((f"apply_mask {len(data)} B", apply))

            def inplace(data: Any = data, key: bytes = key, expected: bytes = expected) -> bool:
                # Per-thread buffer, unmasked in two chunks as a payload that
                # arrives in two reads: the second chunk continues the key phase.
                buf = bytearray(data)
                half = len(buf) // 2 + 1 if buf else 0
                view = memoryview(buf)
                backend.mask_inplace(view[:half], key)
                backend.mask_inplace(view[half:], key, offset=half)
                view.release()
                return bytes(buf) == expected

            checks.append((f"mask_inplace {len(data)} B", inplace))

    for text in _texts():
        expected_ok = _utf8_ok(text)

        def validate(text: bytes = text, expected_ok: bool = expected_ok) -> bool:
            return backend.validate_utf8(text) is expected_ok

        checks.append((f"validate_utf8 {len(text)} B", validate))

    for opcode, length, fin, key in [
        (0x1, 0, True, None),
        (0x2, 125, False, KEYS[1]),
        (0x1, 126, True, KEYS[2]),
        (0x0, 65535, True, None),
        (0x2, 65536, False, KEYS[1]),
        (0x9, 5, True, KEYS[0]),
        (0x2, 2**63 - 1, True, None),
    ]:
        header = encode_header(opcode, length, fin=fin, key=key)
        # Preceded by junk, so parsing at an offset is exercised as well.
        stream = b"\x00" * 3 + header + b"payload"
        expected_fields = ref_parse_header(stream, 3)

        def parse(stream: bytes = stream, expected_fields: Any = expected_fields) -> bool:
            parsed = backend.parse_header(stream, 3)
            return parsed is not None and header_fields(parsed) == expected_fields

        def parse_short(stream: bytes = stream, size: int = len(header)) -> bool:
            # One byte short of the whole header: more bytes are needed.
            return backend.parse_header(stream[: 3 + size - 1], 3) is None

        def build(
            opcode: int = opcode, length: int = length, fin: bool = fin, key: Any = key, header: bytes = header
        ) -> bool:
            return backend.build_header(opcode, length, fin=fin, mask=key) == header

        checks += [(f"parse_header {length}", parse), (f"parse_header short {length}", parse_short)]
        checks.append((f"build_header {length}", build))

    for code, reason in [(1000, ""), (1001, "going away"), (4000, "é" * 40), (3000, "🙂" * 30)]:
        close = close_payload(code, reason.encode())

        def parse_close(close: bytes = close, code: int = code, reason: str = reason) -> bool:
            return backend.parse_close(close) == (code, reason)

        def build_close(close: bytes = close, code: int = code, reason: str = reason) -> bool:
            return backend.build_close(code, reason) == close

        checks += [(f"parse_close {code}", parse_close), (f"build_close {code}", build_close)]

    for payload in shared_payloads:
        for key in (None, KEYS[1]):
            expected_frame = encode_frame(0x2, payload, key=key)

            def frame(payload: bytes = payload, key: Any = key, expected: bytes = expected_frame) -> bool:
                return backend.build_frame(0x2, payload, mask=key) == expected

            checks.append((f"build_frame {len(payload)} B", frame))
    return checks


def test_one_shot_functions_from_many_threads(backend: SimpleNamespace) -> None:
    checks = _checks(backend)
    barrier = threading.Barrier(THREADS)
    failures: list[str] = []
    done = [0] * THREADS
    lock = threading.Lock()

    def worker(index: int) -> None:
        # Each thread walks the checks from its own starting point, so that
        # different calls (and the same call) run at the same time.
        order = checks[index * 7 % len(checks) :] + checks[: index * 7 % len(checks)]
        barrier.wait()
        for _ in range(ROUNDS):
            for name, check in order:
                try:
                    ok = check()
                except Exception as exc:
                    ok = False
                    name = f"{name}: {exc!r}"
                if not ok:
                    with lock:
                        failures.append(f"thread {index}: {name}")
                done[index] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    # Every thread ran every check: a worker that died early would pass the above.
    assert done == [ROUNDS * len(checks)] * THREADS


def test_shared_inputs_are_left_unchanged(backend: SimpleNamespace) -> None:
    data = bytearray(_payload(100_000, 5))
    before = bytes(data)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for key in KEYS:
                backend.apply_mask(data, key)
                backend.validate_utf8(data)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert data == before


@pytest.mark.skipif(
    not sysconfig.get_config_var("Py_GIL_DISABLED"), reason="needs a free-threaded CPython build (3.13t, 3.14t)"
)
@pytest.mark.parametrize("no_extensions", ["0", "1"], ids=["cython", "python"])
def test_import_keeps_the_gil_disabled(no_extensions: str) -> None:
    # A module without the free-threading declaration makes CPython turn the
    # GIL back on at import, with a RuntimeWarning; PYTHON_GIL=0 would hide it.
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    env["FASTFRAME_NO_EXTENSIONS"] = no_extensions
    code = (
        "import sys, warnings; warnings.simplefilter('error'); import fastframe; "
        "print(fastframe.BACKEND, sys._is_gil_enabled())"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    expected_backend = "python" if no_extensions == "1" else "cython"
    assert out.split() == [expected_backend, "False"]
