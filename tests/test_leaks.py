"""Leak checks: every public call, error paths included, repeated with flat memory.

A reference or a buffer export that is not released leaks on every call,
which a long-running server turns into an outage.  Each call below runs
``FASTFRAME_LEAK_ITERATIONS`` times (default 1000, a size for CI) after a
warm-up, and must leave

- tracemalloc's traced memory flat: what the interpreter's allocators hold
  (objects, including bytes from the compiled modules) grows by less than
  ``TRACED_SLACK`` however many iterations run; and
- the process's resident set flat, for what tracemalloc cannot see (raw
  ``malloc`` in C): less than ``RSS_SLACK`` of growth.

The documented long run (about 1 M iterations per call; takes a while)::

    FASTFRAME_LEAK_ITERATIONS=1000000 .venv/bin/python -m pytest -q tests/test_leaks.py
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable
from typing import Any

import pytest

from fastframe import ProtocolError
from support.encoder import close_payload, peer_frame
from support.rfc import BINARY, CLOSE, CONTINUATION, PING, TEXT

try:
    import tracemalloc
except ImportError:  # PyPy: the tracemalloc test is CPython's alone (skipped below)
    tracemalloc = None  # type: ignore[assignment]

ITERATIONS = int(os.environ.get("FASTFRAME_LEAK_ITERATIONS", "1000"))
WARMUP = 100
KiB = 1 << 10
#: Growth allowed whatever the iteration count: a leak of even one small
#: object per call exceeds it at the CI size (1000 x 33 bytes, an empty
#: bytes object, is 32 KiB).
TRACED_SLACK = 16 * KiB
#: The allocator keeps freed pages, so this check is coarse at the CI size
#: (a leaked 4 KiB payload per call: 4 MiB) and decisive in the long run.
RSS_SLACK = 3 << 20
#: ASan keeps freed memory in its quarantine, so the resident set grows on a
#: sanitized build (fuzz/sanitized_tests.sh): there only the traced checks apply.
UNDER_ASAN = "asan" in os.environ.get("LD_PRELOAD", "")

KEY = b"\x37\xfa\x21\x3d"
PAYLOAD = bytes(range(256)) * 16  # 4 KiB
MASKED_FRAME = peer_frame(False, BINARY, PAYLOAD)
SMALL = PAYLOAD[:300]
PING_FRAME = peer_frame(False, PING, b"p")
TEXT_STREAM = b"".join(
    peer_frame(False, op, data, fin=fin)
    for op, data, fin in [
        (TEXT, "héllo ".encode(), False),
        (PING, b"p", True),
        (CONTINUATION, "wörld".encode(), True),
        (BINARY, SMALL, True),
        (CLOSE, close_payload(1000, b"bye"), True),
    ]
)


def expect(error: type[BaseException], call: Callable[[], Any], code: int = 0) -> None:
    try:
        call()
    except error as exc:
        if code:
            assert isinstance(exc, ProtocolError) and exc.code == code
        return
    raise AssertionError(f"{call} did not raise {error.__name__}")


def feed_in_chunks(b: Any, stream: bytes, **kwargs: Any) -> None:
    parser = b.FrameParser(**kwargs)
    for start in range(0, len(stream), 100):
        parser.feed(stream[start : start + 100])


def validator_run(b: Any, chunks: list[bytes]) -> None:
    v = b.Utf8Validator()
    for chunk in chunks:
        v.feed(chunk)
    v.finish()
    v.reset()


def mask_inplace(b: Any, buffer: Any, offset: int = 0) -> None:
    b.mask_inplace(buffer, KEY, offset)


def header_fields(b: Any) -> None:
    header = b.parse_header(MASKED_FRAME)
    header.mask = bytearray(KEY)
    header.length = 12345
    expect(ValueError, lambda: setattr(header, "length", -1))
    expect(ValueError, lambda: setattr(header, "mask", b"abc"))
    repr(header)


def frame_fields(b: Any) -> None:
    frame = b.Frame(BINARY, PAYLOAD)
    frame.payload = bytearray(PAYLOAD)
    frame.opcode = TEXT
    expect(TypeError, lambda: setattr(frame, "payload", None))
    expect(ValueError, lambda: setattr(frame, "opcode", 3))
    repr(frame)
    assert frame == b.Frame(TEXT, PAYLOAD)


def failing_parser(b: Any, stream: bytes, code: int, **kwargs: Any) -> None:
    parser = b.FrameParser(**kwargs)
    expect(ProtocolError, lambda: parser.feed(stream), code)
    expect(ProtocolError, lambda: parser.feed(b"\x81\x80" + KEY), code)


def failing_assembler(b: Any, stream: bytes, code: int) -> None:
    asm = b.MessageAssembler(b.FrameParser())
    expect(ProtocolError, lambda: asm.feed(stream), code)
    expect(ProtocolError, lambda: asm.feed(b""), code)


def interrupted_parser(b: Any) -> None:
    parser = b.FrameParser()
    parser.feed(MASKED_FRAME[:100])
    expect(TypeError, lambda: parser.feed(129))
    expect(TypeError, lambda: parser.feed(memoryview(b"a-b-c")[::2]))
    parser.feed(MASKED_FRAME[100:])


CALLS: dict[str, Callable[[Any], Any]] = {
    # Masking.
    "apply_mask-bytes": lambda b: b.apply_mask(PAYLOAD, KEY),
    "apply_mask-memoryview-bytearray-key": lambda b: b.apply_mask(memoryview(PAYLOAD), bytearray(KEY)),
    "apply_mask-bad-key": lambda b: expect(ValueError, lambda: b.apply_mask(PAYLOAD, b"abc")),
    "apply_mask-not-a-buffer": lambda b: expect(TypeError, lambda: b.apply_mask("text", KEY)),
    "mask_inplace-bytearray": lambda b: mask_inplace(b, bytearray(PAYLOAD), 3),
    "mask_inplace-memoryview": lambda b: mask_inplace(b, memoryview(bytearray(PAYLOAD))),
    "mask_inplace-read-only": lambda b: expect(TypeError, lambda: mask_inplace(b, PAYLOAD)),
    "mask_inplace-bad-offset": lambda b: expect(ValueError, lambda: mask_inplace(b, bytearray(8), -1)),
    # UTF-8.
    "validate_utf8-valid": lambda b: b.validate_utf8("héllo wörld ✓ 😀".encode() * 50),
    "validate_utf8-invalid": lambda b: b.validate_utf8(b"abc\xed\xa0\x80" * 50),
    "validate_utf8-not-a-buffer": lambda b: expect(TypeError, lambda: b.validate_utf8(5)),
    "Utf8Validator-chunks": lambda b: validator_run(b, [b"h\xc3", b"\xa9llo \xe2\x82", b"\xac", b"\xff", b"x"]),
    # Headers and frames.
    "parse_header": lambda b: b.parse_header(bytearray(MASKED_FRAME), 0),
    "parse_header-short": lambda b: b.parse_header(b"\x82"),
    "parse_header-msb": lambda b: expect(ProtocolError, lambda: b.parse_header(b"\x82\x7f" + b"\xff" * 8)),
    "parse_header-bad-offset": lambda b: expect(ValueError, lambda: b.parse_header(b"\x82\x00", 3)),
    "Header-fields": header_fields,
    "build_header-random-key": lambda b: b.build_header(BINARY, 70000, mask=True),
    "build_header-bad-length": lambda b: expect(ValueError, lambda: b.build_header(BINARY, -1)),
    "build_frame-masked": lambda b: b.build_frame(BINARY, PAYLOAD, mask=KEY),
    "build_frame-random-key-bytearray": lambda b: b.build_frame(TEXT, bytearray(PAYLOAD), mask=True),
    "build_frame-control-too-long": lambda b: expect(ValueError, lambda: b.build_frame(PING, PAYLOAD)),
    "build_frame-not-a-buffer": lambda b: expect(TypeError, lambda: b.build_frame(BINARY, None)),
    "build_fragments": lambda b: b.build_fragments(TEXT, PAYLOAD, 1000, mask=True),
    "build_fragments-bad-size": lambda b: expect(ValueError, lambda: b.build_fragments(TEXT, PAYLOAD, 0)),
    "Frame-fields": frame_fields,
    "Frame-not-a-buffer": lambda b: expect(TypeError, lambda: b.Frame(BINARY, [1, 2])),
    "parse_close": lambda b: b.parse_close(close_payload(1001, "bye ✓".encode())),
    "parse_close-bad-code": lambda b: expect(ProtocolError, lambda: b.parse_close(close_payload(1005)), 1002),
    "parse_close-bad-reason": lambda b: expect(ProtocolError, lambda: b.parse_close(b"\x03\xe8\xff"), 1007),
    "build_close": lambda b: b.build_close(1000, "bye ✓"),
    "build_close-bad-code": lambda b: expect(ValueError, lambda: b.build_close(1005)),
    # The parser and the assembler.
    "FrameParser-whole": lambda b: b.FrameParser().feed(TEXT_STREAM),
    "FrameParser-chunks": lambda b: feed_in_chunks(b, TEXT_STREAM),
    "FrameParser-unlimited-partial": lambda b: b.FrameParser(max_frame_size=None).feed(MASKED_FRAME[:-1]),
    "FrameParser-type-error": interrupted_parser,
    "FrameParser-1002": lambda b: failing_parser(b, PING_FRAME + b"\x83\x80" + KEY, 1002),
    "FrameParser-1007": lambda b: failing_parser(b, peer_frame(False, TEXT, b"ok\xff"), 1007),
    "FrameParser-1009": lambda b: failing_parser(b, MASKED_FRAME, 1009, max_frame_size=100),
    "FrameParser-bad-limit": lambda b: expect(ValueError, lambda: b.FrameParser(max_frame_size=-1)),
    "MessageAssembler": lambda b: b.MessageAssembler(b.FrameParser()).feed(TEXT_STREAM),
    "MessageAssembler-bytes": lambda b: b.MessageAssembler(decode_text=False).feed(TEXT_STREAM),
    "MessageAssembler-1002": lambda b: failing_assembler(b, PING_FRAME + b"\x80\x80" + KEY, 1002),
    "MessageAssembler-1007": lambda b: failing_assembler(b, peer_frame(False, TEXT, b"\xc0\xaf"), 1007),
}


def rss() -> int:
    """Resident set size in bytes (Linux), or 0 where /proc is missing."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def repeat(call: Callable[[Any], Any], b: Any, count: int) -> None:
    for _ in range(count):
        call(b)


@pytest.mark.skipif(
    tracemalloc is None or sys.implementation.name != "cpython", reason="tracemalloc and refcounting: CPython"
)
@pytest.mark.parametrize("name", list(CALLS))
def test_flat_memory(backend, name):
    call = CALLS[name]
    repeat(call, backend, WARMUP)

    # Raw malloc (C) leaks show in the resident set: measured without
    # tracemalloc, whose own bookkeeping grows it.
    gc.collect()
    before = rss()
    repeat(call, backend, ITERATIONS)
    gc.collect()
    grown_rss = rss() - before

    tracemalloc.start()
    try:
        repeat(call, backend, WARMUP)
        gc.collect()
        start = tracemalloc.get_traced_memory()[0]
        repeat(call, backend, ITERATIONS)
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    grown = current - start
    assert grown < TRACED_SLACK, f"{name}: {grown} bytes still traced after {ITERATIONS} calls"
    assert UNDER_ASAN or grown_rss < RSS_SLACK, f"{name}: resident set grew {grown_rss} bytes over {ITERATIONS} calls"
    # One call's working set, not an accumulation.
    assert peak - start < 2 << 20, f"{name}: peak {peak - start} bytes"


FAILING_STREAMS = {
    "FrameParser": (lambda b: b.FrameParser(), PING_FRAME + b"\x83\x80" + KEY),
    "MessageAssembler": (lambda b: b.MessageAssembler(), peer_frame(False, TEXT, b"\xc0\xaf")),
}


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="reference counting: CPython")
@pytest.mark.parametrize("name", list(FAILING_STREAMS))
def test_failed_connection_is_freed_without_the_cycle_collector(backend, name):
    """A failed parser keeps the error's code and reason, not the exception.

    The exception's traceback holds the frames of ``feed()``, and so the
    parser: kept, it would make a cycle that only the collector frees, which
    a server failing many connections between collections piles up.
    """
    make, stream = FAILING_STREAMS[name]
    gc.collect()
    gc.disable()
    try:
        connection = make(backend)
        for _ in range(2):  # the failing call, then the stored error raised again
            with pytest.raises(ProtocolError) as caught:
                connection.feed(stream)
            del caught
        del connection
        found = gc.collect()
    finally:
        gc.enable()
    assert found == 0, f"{found} objects were left to the cycle collector"
