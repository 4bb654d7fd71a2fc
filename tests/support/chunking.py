"""Feeding a parser in chunks.

:func:`check_chunkings` feeds one stream whole, split in two at every byte
boundary, in 1-byte pieces and in random chunks, and asserts that every way
gives the same result.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Optional

from fastframe.enums import Opcode
from fastframe.errors import ProtocolError

from .decoder import ref_parse_header
from .encoder import header_size


def frame_tuple(frame: Any) -> tuple[Any, ...]:
    """A frame as a plain tuple, after checking the types of its attributes."""
    assert isinstance(frame.opcode, Opcode), frame.opcode
    assert type(frame.payload) is bytes, type(frame.payload)
    for bit in (frame.fin, frame.rsv1, frame.rsv2, frame.rsv3):
        assert type(bit) is bool
    return (int(frame.opcode), frame.payload, frame.fin, frame.rsv1, frame.rsv2, frame.rsv3)


def ft(opcode: int, payload: bytes = b"", fin: bool = True, rsv1: bool = False) -> tuple[Any, ...]:
    """The :func:`frame_tuple` of an expected frame."""
    return (opcode, payload, fin, rsv1, False, False)


@dataclasses.dataclass
class Outcome:
    """What a parser made of a stream fed in some chunking."""

    frames: list[tuple[Any, ...]]
    code: Optional[int] = None
    reason: Optional[str] = None
    #: index of the last byte of the feed that raised
    error_end: Optional[int] = None
    #: ``buffered`` after the last feed, when nothing was raised
    buffered: Optional[int] = None
    #: per frame, index of the last byte of the feed that completed it
    positions: list[int] = dataclasses.field(default_factory=list)


def feed_chunks(parser: Any, data: bytes, sizes: Iterable[int], *, check_buffered: bool = True) -> Outcome:
    """Feed ``data`` in chunks of ``sizes`` (the rest in one last chunk).

    After every feed that does not raise, ``parser.buffered`` is checked
    against what an independent reading of the stream says the parser holds:
    exactly the bytes of a partial header; between the payload received and
    the header plus the payload received once the header is complete.
    After an error, two more feeds must raise the same code and reason.
    """
    out = Outcome(frames=[])
    pos = 0
    boundary = 0  # where the frame in progress starts
    chunks = list(cut(data, sizes))
    for chunk in chunks:
        end = pos + len(chunk)
        try:
            frames = parser.feed(chunk)
        except ProtocolError as exc:
            out.frames += [frame_tuple(f) for f in exc.frames]
            out.positions += [end - 1] * len(exc.frames)
            out.code, out.reason, out.error_end = int(exc.code), exc.reason, end - 1
            for again in (b"", data[:3] or b"\x81"):
                try:
                    parser.feed(again)
                except ProtocolError as exc2:
                    assert (int(exc2.code), exc2.reason) == (out.code, out.reason)
                    assert list(exc2.frames) == []
                else:
                    raise AssertionError("feed() after an error did not raise")
            return out
        assert type(frames) is list
        out.frames += [frame_tuple(f) for f in frames]
        out.positions += [end - 1] * len(frames)
        pos = end
        if check_buffered:
            # Walk the frames completed so far to find where the current one starts.
            boundary = _skip_frames(data, boundary, pos)
            held = parser.buffered
            assert type(held) is int
            pending = pos - boundary
            if pending < 2 or pending < header_size(data[boundary : boundary + 2]):
                assert held == pending, (held, pending)
            else:
                hs = header_size(data[boundary : boundary + 2])
                assert pending - hs <= held <= pending, (held, pending, hs)
    out.buffered = parser.buffered
    return out


def _skip_frames(data: bytes, start: int, end: int) -> int:
    """Position of the first frame in ``data[start:]`` that ``data[:end]`` does not complete."""
    while True:
        if end - start < 2:
            return start
        hs = header_size(data[start : start + 2])
        if end - start < hs:
            return start
        parsed = ref_parse_header(data, start)
        if parsed == "msb" or parsed is None:
            return start
        frame_end = start + hs + parsed[6]
        if frame_end > end:
            return start
        start = frame_end


def cut(data: bytes, sizes: Iterable[int]) -> Iterator[bytes]:
    """``data`` in pieces of ``sizes``, the rest in one last piece (an empty stream is one empty piece)."""
    pos = 0
    for size in sizes:
        if pos >= len(data):
            return
        yield data[pos : pos + size]
        pos += size
    if pos < len(data) or not data:
        yield data[pos:]


def chunkings(
    length: int, *, seed: int = 0, every_split: bool = True, random_count: int = 5
) -> Iterator[tuple[str, list[int]]]:
    """Chunk size lists: every two-piece split, 1-byte pieces, random chunks."""
    if every_split:
        for i in range(1, length):
            yield f"split@{i}", [i]
    else:
        rng = random.Random(seed ^ 0x5EED)
        for i in sorted(rng.sample(range(1, length), min(length - 1, 24))) if length > 1 else ():
            yield f"split@{i}", [i]
    yield "1-byte", [1] * length
    rng = random.Random(seed)
    for n in range(random_count):
        sizes: list[int] = []
        total = 0
        top = rng.choice((3, 8, 40, max(1, length // 2)))
        while total < length:
            sizes.append(rng.randint(1, top))
            total += sizes[-1]
        yield f"random{n}", sizes


def check_chunkings(
    make_parser: Callable[[], Any],
    data: bytes,
    *,
    every_split: bool = True,
    random_count: int = 5,
    seed: int = 0,
) -> Outcome:
    """Feed ``data`` in every chunking; all must agree.  Returns the 1-byte outcome.

    Agreement means: the same frames, in order; the same error code; and an
    error raised by the feed that delivers the byte at which 1-byte feeding
    failed (fail fast: never later, never earlier).  Without an error,
    ``buffered`` is the same at the end.
    """
    whole = feed_chunks(make_parser(), data, [len(data)])
    one = feed_chunks(make_parser(), data, [1] * len(data))
    _agree(whole, one, data, [len(data)], "whole")
    for label, sizes in chunkings(len(data), seed=seed, every_split=every_split, random_count=random_count):
        got = feed_chunks(make_parser(), data, sizes)
        _agree(got, one, data, sizes, label)
    return one


def _agree(got: Outcome, one: Outcome, data: bytes, sizes: list[int], label: str) -> None:
    context = f"chunking {label} of {data[:64].hex()}{'...' if len(data) > 64 else ''}"
    assert got.frames == one.frames, context
    assert got.code == one.code, context
    ends = list(itertools.accumulate(len(chunk) for chunk in cut(data, sizes)))

    def end_of_chunk_holding(index: int) -> int:
        return next(end for end in ends if index < end) - 1

    # Each frame comes from the feed that delivers its last byte: none is held back.
    assert got.positions == [end_of_chunk_holding(p) for p in one.positions], context
    if one.code is not None:
        # The raising feed is the one whose chunk holds the byte where 1-byte feeding raised.
        assert got.error_end == end_of_chunk_holding(one.error_end), context
    else:
        assert got.buffered == one.buffered, context
