"""Tests of ``fastframe._mask`` / ``fastframe._mask_py`` (RFC 6455 §5.3).

Every test that takes ``backend`` runs on both twins.  The oracle is the
pure-Python ``websockets.utils.apply_mask`` (an independent implementation);
in-place masking at an offset is checked against the oracle with the key
rotated by ``offset % 4``, which is what §5.3 says:

    transformed-octet-i = original-octet-i XOR masking-key-octet-(i MOD 4)

``test_simd_kernel_caps`` runs the compiled module in subprocesses with each
``FASTFRAME_SIMD`` cap, so every SIMD kernel this CPU has gets exercised.
"""

from __future__ import annotations

import array
import json
import mmap
import os
import platform
import random
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from websockets.utils import apply_mask as oracle_apply_mask

from support.params import stable_id

#: RFC 6455 §5.7's example key; no zero byte, so a stray XOR always shows.
MASK = bytes.fromhex("37fa213d")

#: The ``backend`` fixture is a stateless namespace of functions, so reusing it
#: across hypothesis examples is safe.
PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: Every size up to 300 covers every block size of every kernel (8-byte words,
#: 16/64-byte SSE2 and NEON, 32/128-byte AVX2, 64/256-byte AVX-512, the 64-byte
#: cut-over to the kernels, the AVX2 store-alignment prologue from 256 bytes);
#: the rest straddle the AVX-512 store-alignment prologue (from 512 bytes) and
#: its 256-byte loop.  All are tested at every alignment 0..63.
SIZES = [
    *range(301),
    383,
    *range(509, 516),
    *range(575, 578),
    *range(639, 642),
    *range(767, 770),
    1023,
    1024,
    1025,
    1031,
    2053,
]
#: Large payloads (including the sizes at which the compiled twin releases the GIL).
LARGE_SIZES = [4096 + 7, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 13, 256 * 1024 + 1, 1024 * 1024 + 3]


def rotate(mask: bytes, offset: int) -> bytes:
    """The key as seen from payload position ``offset``."""
    phase = offset % 4
    return mask[phase:] + mask[:phase]


def payload(n: int, seed: int = 0) -> bytes:
    return random.Random(f"{n}-{seed}").randbytes(n)


def aligned_copy(data: bytes, align: int, guard: int = 64) -> tuple[bytearray, memoryview]:
    """``data`` placed at ``align`` in a bytearray with random guard bytes around it."""
    rng = random.Random(len(data) * 64 + align)
    buf = bytearray(rng.randbytes(align) + data + rng.randbytes(guard))
    return buf, memoryview(buf)[align : align + len(data)]


# --- known answers ---------------------------------------------------------


def test_rfc6455_hello_example(backend):
    # RFC 6455 §5.7: "A single-frame masked text message" containing "Hello".
    masked = bytes.fromhex("7f9f4d5158")
    assert backend.apply_mask(b"Hello", MASK) == masked
    assert backend.apply_mask(masked, MASK) == b"Hello"
    buf = bytearray(b"Hello")
    assert backend.mask_inplace(buf, MASK) is None
    assert buf == masked
    backend.mask_inplace(buf, MASK)
    assert buf == b"Hello"


def test_rfc6455_hello_example_chunked(backend):
    masked = bytearray.fromhex("7f9f4d5158")
    view = memoryview(masked)
    backend.mask_inplace(view[:1], MASK, 0)
    backend.mask_inplace(view[1:3], MASK, 1)
    backend.mask_inplace(view[3:], MASK, 3)
    assert masked == b"Hello"


def test_empty(backend):
    result = backend.apply_mask(b"", MASK)
    assert result == b""
    assert type(result) is bytes
    assert backend.apply_mask(bytearray(), MASK) == b""
    assert backend.apply_mask(memoryview(b"abc")[1:1], MASK) == b""
    buf = bytearray()
    backend.mask_inplace(buf, MASK, 3)
    assert buf == bytearray()


def test_zero_mask_is_identity(backend):
    data = payload(300)
    assert backend.apply_mask(data, b"\0\0\0\0") == data


def test_single_bytes(backend):
    for byte in range(256):
        for phase in range(4):
            expected = bytes([byte ^ MASK[phase]])
            buf = bytearray([byte])
            backend.mask_inplace(buf, MASK, phase)
            assert buf == expected, (byte, phase)
            assert backend.apply_mask(bytes([byte]), rotate(MASK, phase)) == expected


# --- every size, alignment and offset against the oracle --------------------


def test_apply_mask_every_size_and_alignment(backend):
    for n in SIZES:
        data = payload(n)
        expected = oracle_apply_mask(data, MASK)
        for align in range(64):
            buf, view = aligned_copy(data, align)
            before = bytes(buf)
            result = backend.apply_mask(view, MASK)
            assert type(result) is bytes
            assert result == expected, (n, align)
            assert buf == before, "apply_mask modified its input"


def test_mask_inplace_every_size_alignment_and_offset(backend):
    for n in SIZES:
        data = payload(n, seed=1)
        for offset in range(4):
            expected = oracle_apply_mask(data, rotate(MASK, offset))
            for align in range(64):
                buf, view = aligned_copy(data, align)
                before = bytes(buf)
                backend.mask_inplace(view, MASK, offset)
                assert buf[align : align + n] == expected, (n, align, offset)
                # Nothing written outside the view.
                assert buf[:align] == before[:align], (n, align, offset)
                assert buf[align + n :] == before[align + n :], (n, align, offset)


@pytest.mark.parametrize("n", LARGE_SIZES)
def test_large_payloads(backend, n):
    data = payload(n, seed=2)
    expected = oracle_apply_mask(data, MASK)
    masked = backend.apply_mask(data, MASK)
    assert type(masked) is bytes
    assert masked == expected
    assert backend.apply_mask(bytearray(data), MASK) == expected
    whole = bytearray(data)
    backend.mask_inplace(whole, MASK, 3)
    assert whole == oracle_apply_mask(data, rotate(MASK, 3))
    for align in (1, 3, 33, 63):
        _, view = aligned_copy(data, align)
        assert backend.apply_mask(view, MASK) == expected
    for offset in range(4):
        expected_rotated = oracle_apply_mask(data, rotate(MASK, offset))
        align = 5 + offset
        buf, view = aligned_copy(data, align)
        before = bytes(buf)
        backend.mask_inplace(view, MASK, offset)
        assert view == expected_rotated, offset
        assert buf[:align] == before[:align]
        assert buf[align + n :] == before[align + n :]


def test_chunked_large_payload_socket_sized_chunks(backend):
    data = payload(1024 * 1024 + 3, seed=3)
    expected = oracle_apply_mask(data, MASK)
    buf = bytearray(data)
    view = memoryview(buf)
    rng = random.Random(4)
    pos = 0
    while pos < len(buf):
        size = rng.choice([1, 2, 3, 5, 63, 64, 65, 1400, 4093, 16384, 65536, 65537])
        backend.mask_inplace(view[pos : pos + size], MASK, pos)
        pos += size
    assert buf == expected


def test_large_offsets_only_phase_matters(backend):
    data = payload(257, seed=5)
    for offset in (4, 5, 6, 7, 1001, 2**31 - 1, 2**31, 2**32 + 2, 2**62 + 1, sys.maxsize):
        buf = bytearray(data)
        backend.mask_inplace(buf, MASK, offset)
        assert buf == oracle_apply_mask(data, rotate(MASK, offset)), offset


def test_offset_keyword_and_index_protocol(backend):
    class Index:
        def __index__(self) -> int:
            return 6

    data = payload(77, seed=6)
    expected = oracle_apply_mask(data, rotate(MASK, 2))
    buf = bytearray(data)
    backend.mask_inplace(buf, MASK, offset=2)
    assert buf == expected
    buf = bytearray(data)
    backend.mask_inplace(buf, MASK, Index())
    assert buf == expected
    buf = bytearray(data)
    backend.mask_inplace(buffer=buf, mask=MASK, offset=2)
    assert buf == expected
    assert backend.apply_mask(data=data, mask=MASK) == oracle_apply_mask(data, MASK)


# --- buffer types -----------------------------------------------------------


def test_data_buffer_types(backend):
    data = payload(203, seed=7)
    expected = oracle_apply_mask(data, MASK)
    wide = array.array("I", payload(4 * 50, seed=8))
    cases = [
        (data, expected),
        (bytearray(data), expected),
        (memoryview(data), expected),
        (memoryview(bytearray(data)), expected),
        (memoryview(data).toreadonly(), expected),
        (array.array("B", data), expected),
        (wide, oracle_apply_mask(wide.tobytes(), MASK)),
        (memoryview(wide), oracle_apply_mask(wide.tobytes(), MASK)),
        # A C-contiguous 2-D view is read as its raw bytes.
        (memoryview(data[:200]).cast("B", (10, 20)), oracle_apply_mask(data[:200], MASK)),
    ]
    for value, result in cases:
        assert backend.apply_mask(value, MASK) == result, type(value)


def test_mask_buffer_types(backend):
    data = payload(130, seed=9)
    expected = oracle_apply_mask(data, MASK)
    masks = [
        bytearray(MASK),
        memoryview(MASK),
        memoryview(b"xyz" + MASK)[3:],
        array.array("B", MASK),
        array.array("I", MASK),  # one 4-byte item: read as raw bytes
        memoryview(bytearray(MASK)).cast("B", (2, 2)),
    ]
    for mask in masks:
        assert backend.apply_mask(data, mask) == expected, mask
        buf = bytearray(data)
        backend.mask_inplace(buf, mask, 0)
        assert buf == expected, mask


def test_mmap(backend):
    data = payload(5000, seed=11)
    with mmap.mmap(-1, len(data)) as region:
        region[:] = data
        assert backend.apply_mask(region, MASK) == oracle_apply_mask(data, MASK)
        backend.mask_inplace(region, MASK, 2)
        assert region[:] == oracle_apply_mask(data, rotate(MASK, 2))


def test_mask_inplace_buffer_types(backend):
    data = payload(150, seed=10)
    for offset in range(4):
        expected = oracle_apply_mask(data, rotate(MASK, offset))
        for make in (bytearray, lambda d: memoryview(bytearray(d)), lambda d: array.array("B", d)):
            buf = make(data)
            backend.mask_inplace(buf, MASK, offset)
            assert bytes(buf) == expected
        wide = array.array("H", data)
        backend.mask_inplace(wide, MASK, offset)
        assert wide.tobytes() == expected
        grid = bytearray(data)
        backend.mask_inplace(memoryview(grid).cast("B", (15, 10)), MASK, offset)
        assert grid == expected


# --- properties -------------------------------------------------------------


@PROPERTY
@given(
    data=st.binary(max_size=300) | st.binary(min_size=300, max_size=3000),
    mask=st.binary(min_size=4, max_size=4),
    align=st.integers(0, 63),
)
def test_apply_mask_matches_oracle(backend, data, mask, align):
    buf, view = aligned_copy(data, align)
    before = bytes(buf)
    expected = oracle_apply_mask(data, mask)
    assert backend.apply_mask(data, mask) == expected
    assert backend.apply_mask(view, mask) == expected
    assert backend.apply_mask(view, bytearray(mask)) == expected
    assert buf == before, "apply_mask modified its input"


@PROPERTY
@given(
    data=st.binary(max_size=300) | st.binary(min_size=300, max_size=3000),
    mask=st.binary(min_size=4, max_size=4),
    align=st.integers(0, 63),
    offset=st.integers(0, 3) | st.integers(0, 2**40),
)
def test_mask_inplace_matches_oracle(backend, data, mask, align, offset):
    buf, view = aligned_copy(data, align)
    guards = bytes(buf)
    backend.mask_inplace(view, mask, offset)
    assert view == oracle_apply_mask(data, rotate(mask, offset))
    assert buf[:align] == guards[:align]
    assert buf[align + len(data) :] == guards[align + len(data) :]


@PROPERTY
@given(
    data=st.binary(max_size=2000),
    mask=st.binary(min_size=4, max_size=4),
    cuts=st.lists(st.integers(0, 2000), max_size=12),
    start=st.integers(0, 7),
)
def test_chunked_mask_inplace_equals_one_shot(backend, data, mask, cuts, start):
    """Unmasking chunk by chunk with advancing offsets is one-shot unmasking.

    ``start`` is the payload position of the first chunk (0 for a whole payload).
    """
    points = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    # Chunks as views of one buffer (zero copy) ...
    buf = bytearray(data)
    view = memoryview(buf)
    for a, b in zip(points, points[1:]):
        backend.mask_inplace(view[a:b], mask, start + a)
    expected = oracle_apply_mask(data, rotate(mask, start))
    assert buf == expected
    # ... and as separate buffers, as they come off a socket.
    out = b""
    for a, b in zip(points, points[1:]):
        chunk = bytearray(data[a:b])
        backend.mask_inplace(chunk, mask, start + a)
        out += chunk
    assert out == expected


@PROPERTY
@given(data=st.binary(max_size=1000), mask=st.binary(min_size=4, max_size=4), offset=st.integers(0, 9))
def test_masking_twice_is_identity(backend, data, mask, offset):
    assert backend.apply_mask(backend.apply_mask(data, mask), mask) == data
    buf = bytearray(data)
    backend.mask_inplace(buf, mask, offset)
    backend.mask_inplace(buf, mask, offset)
    assert buf == data


def test_threads(backend):
    """Large inputs may release the GIL; results must not mix between threads."""
    datas = [payload(256 * 1024 + i, seed=20 + i) for i in range(4)]
    masks = [bytes([i + 1, 2 * i + 3, 0x55, 0xAA ^ i]) for i in range(4)]
    results: list[object] = [None] * 4

    def work(i: int) -> None:
        for _ in range(3):
            out = backend.apply_mask(datas[i], masks[i])
            buf = bytearray(datas[i])
            backend.mask_inplace(buf, masks[i], i)
            results[i] = (out, bytes(buf))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i in range(4):
        assert results[i] == (
            oracle_apply_mask(datas[i], masks[i]),
            oracle_apply_mask(datas[i], rotate(masks[i], i)),
        ), i


# --- bad input: same exception type on both backends, never a crash ---------

BAD_LENGTH_MASKS = [
    b"",
    b"abc",
    b"abcde",
    b"abcdefgh",
    bytearray(3),
    bytearray(5),
    memoryview(b"abcde"),
    memoryview(b""),
]
NOT_BUFFERS = ["abcd", "", None, 0, 1234, 1.5, [1, 2, 3, 4], (1, 2, 3, 4), object()]
NON_CONTIGUOUS = [memoryview(b"abcdefgh")[::2], memoryview(bytearray(b"abcdefgh"))[::2], memoryview(b"abcd")[::-1]]


@pytest.mark.parametrize("mask", BAD_LENGTH_MASKS, ids=stable_id)
def test_wrong_mask_length(backend, mask):
    with pytest.raises(ValueError):
        backend.apply_mask(b"payload", mask)
    with pytest.raises(ValueError):
        backend.apply_mask(b"", mask)
    buf = bytearray(b"payload")
    with pytest.raises(ValueError):
        backend.mask_inplace(buf, mask)
    with pytest.raises(ValueError):
        backend.mask_inplace(buf, mask, 3)
    assert buf == b"payload"


@pytest.mark.parametrize("mask", NOT_BUFFERS + NON_CONTIGUOUS, ids=stable_id)
def test_mask_not_a_contiguous_buffer(backend, mask):
    with pytest.raises(TypeError):
        backend.apply_mask(b"payload", mask)
    buf = bytearray(b"payload")
    with pytest.raises(TypeError):
        backend.mask_inplace(buf, mask)
    assert buf == b"payload"


@pytest.mark.parametrize("data", NOT_BUFFERS + NON_CONTIGUOUS, ids=stable_id)
def test_apply_mask_data_not_a_contiguous_buffer(backend, data):
    with pytest.raises(TypeError):
        backend.apply_mask(data, MASK)


@pytest.mark.parametrize(
    "buffer",
    [
        b"payload",
        b"",
        memoryview(b"payload"),
        memoryview(bytearray(b"payload")).toreadonly(),
        memoryview(bytearray()).toreadonly(),
        memoryview(bytearray(b"payload"))[::2],
        *NOT_BUFFERS,
    ],
    ids=stable_id,
)
def test_mask_inplace_needs_writable_contiguous_buffer(backend, buffer):
    before = bytes(buffer) if isinstance(buffer, (bytes, memoryview)) else None
    with pytest.raises(TypeError):
        backend.mask_inplace(buffer, MASK)
    with pytest.raises(TypeError):
        backend.mask_inplace(buffer, MASK, 1)
    if before is not None:
        assert bytes(buffer) == before


def test_mask_inplace_readonly_view_of_writable_buffer_untouched(backend):
    buf = bytearray(b"payload")
    with pytest.raises(TypeError):
        backend.mask_inplace(memoryview(buf).toreadonly(), MASK)
    assert buf == b"payload"


@pytest.mark.parametrize("offset", [-1, -3, -4, -5, -(2**31), -sys.maxsize, -sys.maxsize - 1, -(2**70)])
def test_negative_offset(backend, offset):
    for data in (b"payload", b""):
        buf = bytearray(data)
        with pytest.raises(ValueError):
            backend.mask_inplace(buf, MASK, offset)
        assert buf == data


@pytest.mark.parametrize("offset", [sys.maxsize + 1, 2**64, 2**100])
def test_offset_too_large(backend, offset):
    buf = bytearray(b"payload")
    with pytest.raises(OverflowError):
        backend.mask_inplace(buf, MASK, offset)
    assert buf == b"payload"


@pytest.mark.parametrize("offset", [1.0, 2.5, "1", b"1", None, [1]], ids=stable_id)
def test_offset_not_an_integer(backend, offset):
    buf = bytearray(b"payload")
    with pytest.raises(TypeError):
        backend.mask_inplace(buf, MASK, offset)
    assert buf == b"payload"


def _numpy():
    if platform.python_implementation() != "CPython":
        pytest.skip("the test extra installs numpy on CPython only")
    if os.environ.get("CIBUILDWHEEL") == "1":
        pytest.importorskip("numpy")  # wheel tests install no numpy
    import numpy

    return numpy


def test_numpy_arrays(backend):
    """numpy refuses read-only or non-contiguous requests with ValueError:
    both backends turn that into the same TypeError as for any buffer."""
    np = _numpy()
    data = np.arange(256, dtype=np.uint8)
    assert backend.apply_mask(data, MASK) == oracle_apply_mask(data.tobytes(), MASK)
    # Items wider than a byte are read as their raw bytes.
    words = np.arange(64, dtype=np.uint32)
    assert backend.apply_mask(words, MASK) == oracle_apply_mask(words.tobytes(), MASK)
    writable = data.copy()
    backend.mask_inplace(writable, MASK, 1)
    assert writable.tobytes() == oracle_apply_mask(data.tobytes(), MASK[1:] + MASK[:1])
    with pytest.raises(TypeError, match="C-contiguous buffer is required"):
        backend.apply_mask(data[::2], MASK)
    with pytest.raises(TypeError, match="writable C-contiguous buffer is required"):
        backend.mask_inplace(data[::2], MASK)
    readonly = data.copy()
    readonly.flags.writeable = False
    with pytest.raises(TypeError, match="writable C-contiguous buffer is required"):
        backend.mask_inplace(readonly, MASK)
    assert readonly.tobytes() == data.tobytes()


def test_released_memoryview(backend):
    released = memoryview(bytearray(b"payload"))
    released.release()
    with pytest.raises(ValueError):
        backend.apply_mask(released, MASK)
    with pytest.raises(ValueError):
        backend.apply_mask(b"payload", released)
    with pytest.raises(ValueError):
        backend.mask_inplace(released, MASK)


# Python code that runs while mask_inplace converts its arguments (an
# offset's __index__; a mask's __buffer__ on Python >= 3.12) shrinks the
# buffer being masked.  Either the call holds the buffer (BufferError, as the
# pure twin does, buffer untouched) or it sees the new size; it must never
# write past the end.  Run in a child: a heap overflow may crash.
_RESIZE_DURING_CALL = textwrap.dedent(
    r"""
    import sys
    from fastframe._backend import load_backend

    mask_inplace = load_backend(sys.argv[1]).mask_inplace
    # Below and above the size at which the compiled twin exports the buffer.
    for size in (60_000, 70_000):
        buf = bytearray(b"x" * size)

        def shrink():
            buf.clear()

        class Offset:
            def __index__(self):
                shrink()
                return 1

        class Mask:
            def __buffer__(self, flags):  # Python >= 3.12 only
                shrink()
                return memoryview(b"abcd")

        calls = [(b"abcd", Offset())]
        if sys.version_info >= (3, 12):
            calls.append((Mask(), 1))
        for mask, offset in calls:
            buf[:] = b"x" * size
            try:
                mask_inplace(buf, mask, offset)
            except BufferError:
                assert buf == b"x" * size, ("buffer changed", size, type(mask))
            else:
                assert buf == b"", ("buffer changed", size, type(mask))
        junk = [bytearray(64) for _ in range(100_000)]  # shake out heap damage
    print("ok")
    """
)


def test_buffer_resized_while_converting_arguments(backend):
    package_dir = Path(sys.modules[backend.mask_inplace.__module__].__file__).parent
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(package_dir.parent), *filter(None, [env.get("PYTHONPATH")])])
    proc = subprocess.run(
        [sys.executable, "-c", _RESIZE_DURING_CALL, backend.name], env=env, capture_output=True, text=True, timeout=60
    )
    assert (proc.returncode, proc.stdout.strip()) == (0, "ok"), proc.stderr


def test_wrong_arity(backend):
    with pytest.raises(TypeError):
        backend.apply_mask(b"payload")
    with pytest.raises(TypeError):
        backend.apply_mask(b"payload", MASK, 0)
    with pytest.raises(TypeError):
        backend.mask_inplace(bytearray(b"payload"))
    with pytest.raises(TypeError):
        backend.mask_inplace(bytearray(b"payload"), MASK, 0, 0)


def test_kernel_name(backend):
    if backend.name == "python":
        assert backend.kernels["mask"] == "python"
    else:
        assert backend.kernels["mask"] in {"avx512", "avx2", "sse2", "neon", "scalar"}


# --- every SIMD kernel of the compiled module -------------------------------

_KERNEL_ORDER = ["scalar", "sse2", "avx2", "avx512"]

# Run in a fresh interpreter: FASTFRAME_SIMD is read once per process, when
# the compiled modules are loaded.  Checks masking and UTF-8 validation (whose ASCII fast path is a
# SIMD kernel too) at every size 0..300, every alignment and every offset
# against the oracles, and prints the kernel names.
_KERNEL_CHECK = textwrap.dedent(
    r"""
    import json, random, sys
    from fastframe import _mask, _utf8
    from websockets.utils import apply_mask as oracle

    package_dir = sys.argv[1]
    assert _mask.__file__.startswith(package_dir), (_mask.__file__, package_dir)
    assert _utf8.__file__.startswith(package_dir), (_utf8.__file__, package_dir)

    # The kernels first, so that the parent learns them even if a check fails.
    print(json.dumps({"mask": _mask.KERNEL, "utf8": _utf8.KERNEL}), flush=True)
    MASK = bytes.fromhex("37fa213d")
    checks = 0

    def fail(*what):
        sys.exit("MISMATCH kernel=%s/%s: %r" % (_mask.KERNEL, _utf8.KERNEL, what))

    sizes = json.loads(sys.argv[2])
    for n in sizes:
        rng = random.Random(n)
        data = rng.randbytes(n)
        aligns = range(64) if n <= 2100 else (0, 1, 7, 31, 63)
        expected = [oracle(data, MASK[k:] + MASK[:k]) for k in range(4)]
        for align in aligns:
            guard = rng.randbytes(align + 64)
            buf = bytearray(guard[:align] + data + guard[align:])
            view = memoryview(buf)[align:align + n]
            if _mask.apply_mask(view, MASK) != expected[0]:
                fail("apply_mask", n, align)
            for offset in range(4):
                _mask.mask_inplace(view, MASK, offset)
                if bytes(view) != expected[offset]:
                    fail("mask_inplace", n, align, offset)
                if buf[:align] + buf[align + n:] != guard:
                    fail("mask_inplace wrote out of bounds", n, align, offset)
                _mask.mask_inplace(view, MASK, offset)
                checks += 2
            checks += 1

    # UTF-8: ASCII with one inserted sequence at every position; the kernels
    # find the first non-ASCII byte, and the automaton takes over from there.
    inserts = [
        (b"\xc3\xa9", None),               # valid 2-byte
        (b"\xe2\x82\xac", None),           # valid 3-byte
        (b"\xf0\x9f\x98\x80", None),       # valid 4-byte
        (b"\x80", 0),                      # stray continuation byte
        (b"\xff", 0),                      # never valid
        (b"\xed\xa0\x80", 1),              # surrogate: fails at its 2nd byte
        (b"\xe2\x82" + b"A", 2),           # truncated sequence followed by ASCII
    ]
    for n in list(range(301)) + [1024 + 37, 4096 + 3]:
        rng = random.Random(-n)
        base = bytes(rng.randrange(0, 128) for _ in range(n))
        for align in (range(64) if n <= 300 else (0, 1, 63)):
            buf = bytearray(align) + base
            if not _utf8.validate_utf8(memoryview(buf)[align:]):
                fail("ascii", n, align)
            checks += 1
        # Every position in buffers around the kernels' block sizes, else
        # the first and the last 40 (the kernels' tails).
        everywhere = n in (63, 64, 65, 127, 128, 129, 255, 256, 257, 300)
        for pos in range(min(n, 301)):
            if not (everywhere or pos < 40 or pos >= n - 40):
                continue
            for seq, bad in inserts:
                if pos + len(seq) > n:
                    continue
                data = base[:pos] + seq + base[pos + len(seq):]
                valid = bad is None
                try:
                    data.decode("utf-8")
                    decodes = True
                except UnicodeDecodeError:
                    decodes = False
                assert decodes == valid, (data, seq)
                view = memoryview(bytearray(pos % 64) + data)[pos % 64:]
                if _utf8.validate_utf8(data) != valid or _utf8.validate_utf8(view) != valid:
                    fail("validate_utf8", n, pos, seq)
                v = _utf8.Utf8Validator()
                if v.feed(view) != valid or v.accepted != (n if valid else pos + bad):
                    fail("Utf8Validator", n, pos, seq, v.accepted)
                checks += 3
    print(json.dumps({"checks": checks}))
    """
)


_CAPS = ("native", "avx512", "avx2", "sse2", "scalar")


@cache
def _kernel_checks() -> dict[str, subprocess.Popen]:
    """Start the check under every cap at once (they run in parallel)."""
    # Fails (does not skip) when the compiled modules were not built.
    import fastframe._mask
    import fastframe._utf8

    package_dir = str(Path(fastframe._mask.__file__).parent)
    sizes = json.dumps([*SIZES, 4096 + 7, 65536 + 13])
    procs = {}
    for cap in _CAPS:
        env = dict(os.environ)
        env.pop("FASTFRAME_SIMD", None)
        if cap != "native":
            env["FASTFRAME_SIMD"] = cap
        # The child imports the same fastframe as this process.
        env["PYTHONPATH"] = os.pathsep.join([str(Path(package_dir).parent), *filter(None, [env.get("PYTHONPATH")])])
        procs[cap] = subprocess.Popen(
            [sys.executable, "-c", _KERNEL_CHECK, package_dir, sizes],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    return procs


@cache
def _kernel_output(cap: str) -> tuple[int, str, str]:
    proc = _kernel_checks()[cap]
    stdout, stderr = proc.communicate(timeout=300)
    return proc.returncode, stdout, stderr


def _kernels_chosen(cap: str) -> dict:
    """The kernels the child picked (it prints them before checking them)."""
    returncode, stdout, stderr = _kernel_output(cap)
    lines = stdout.splitlines()
    assert lines, f"FASTFRAME_SIMD={cap}: no output (exit {returncode}):\n{stderr}"
    return json.loads(lines[0])


def _kernel_check(cap: str) -> dict:
    returncode, stdout, stderr = _kernel_output(cap)
    assert returncode == 0, f"FASTFRAME_SIMD={cap}: exit {returncode}\n{stdout}\n{stderr}"
    result = {**_kernels_chosen(cap), **json.loads(stdout.splitlines()[-1])}
    assert result["checks"] > 100_000, result
    return result


def _expected_kernel(cap: str, native: str) -> str | None:
    """The kernel a cap should select, or None when it cannot be predicted (arm64)."""
    if cap == "scalar":
        return "scalar"
    if native not in _KERNEL_ORDER:
        return None
    return _KERNEL_ORDER[min(_KERNEL_ORDER.index(cap), _KERNEL_ORDER.index(native))]


@pytest.mark.compiled
@pytest.mark.parametrize("cap", _CAPS)
def test_simd_kernel_caps(cap):
    """Each FASTFRAME_SIMD cap selects its kernel, and that kernel is correct.

    No ``backend`` fixture: this is about the compiled module only, and it
    must fail, not skip, when that module was not built.
    """
    native = _kernels_chosen("native")
    result = _kernel_check(cap)
    if cap == "native":
        if platform.machine().lower() in ("x86_64", "amd64"):
            # SSE2 is the x86-64 baseline: never fall back to the scalar loop.
            assert result["mask"] in {"sse2", "avx2", "avx512"}, result
            assert result["utf8"] in {"sse2", "ssse3", "avx2", "avx512", "avx512vbmi"}, result
        assert result["mask"] in {"neon", *_KERNEL_ORDER}, result
        assert result["utf8"] in {"neon", "ssse3", "avx512vbmi", *_KERNEL_ORDER}, result
        return
    for module in ("mask", "utf8"):
        # The SSE2 level validates UTF-8 with SSSE3 where the CPU has it, the
        # AVX-512 level with VBMI where the CPU has it.
        level = {"ssse3": "sse2", "avx512vbmi": "avx512"}.get(native[module], native[module])
        expected = _expected_kernel(cap, level)
        if module == "utf8" and expected == "sse2" and result[module] == "ssse3":
            expected = "ssse3"
        if module == "utf8" and expected == "avx512" and native[module] == "avx512vbmi":
            expected = "avx512vbmi"
        if expected is not None:
            assert result[module] == expected, (module, cap, result)


@pytest.fixture(scope="module")
def mask_distances_program(c_program: Callable[..., Path]) -> Path:
    """tests/c/mask_distances.c compiled against this checkout's kernels."""
    return c_program("mask_distances")


@pytest.mark.compiled
@pytest.mark.parametrize("cap", _CAPS)
def test_kernel_every_source_destination_distance(mask_distances_program, cap):
    """Out of place, every distance between src and dst modulo 4 KiB, either side.

    The AVX2 and AVX-512 kernels walk a buffer backwards when dst is up to
    2 KiB ahead of src (modulo 4 KiB), to dodge 4K aliasing; which way they
    walk depends on where the allocator put the output, so only a sweep over
    distances exercises both walks deterministically.  The C program checks every
    result byte by byte against §5.3 and guards both ends of the output.
    """
    env = dict(os.environ)
    env.pop("FASTFRAME_SIMD", None)
    if cap != "native":
        env["FASTFRAME_SIMD"] = cap
    proc = subprocess.run([str(mask_distances_program)], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout)
    assert result["errors"] == 0, result
    assert result["checks"] == 10 * 4096 * 2, result
    native = _kernels_chosen("native")["mask"]
    expected = native if cap == "native" else _expected_kernel(cap, native)
    if expected is not None:
        assert result["kernel"] == expected, (cap, result)
    # The kernels count their own walks: every call (all are 64 bytes or
    # more) runs one kernel once, and only AVX2 and AVX-512 walk backwards.
    assert result["forward"] + result["backward"] == result["checks"], result
    if result["kernel"] in ("avx2", "avx512"):
        assert result["forward"] > 0 and result["backward"] > 0, result
    else:
        assert result["backward"] == 0, result
