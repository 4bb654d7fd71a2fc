"""Helpers shared by test_frames, test_parser and test_messages.

Everything here is written independently of fastframe, so that a test never
checks fastframe against fastframe:

- an encoder for frames (:func:`encode_frame`) with table-based masking, also
  able to write frames that break the rules (any bits, non-minimal lengths,
  a length that does not match the payload);
- a reference header decoder and close-payload reader;
- a UTF-8 reference that answers "can this prefix still become valid UTF-8?"
  by trying completions with the standard library's strict decoder;
- chunked feeding: :func:`check_chunkings` feeds one stream whole, split in
  two at every byte boundary, in 1-byte pieces and in random chunks, and
  asserts that every way gives the same result;
- drivers for the two independent oracles, wsproto's ``FrameProtocol`` and
  websockets' ``Frame.parse``, and a comparison of what each side reported
  byte by byte;
- hypothesis strategies for valid and mutated streams.
"""

from __future__ import annotations

import codecs
import dataclasses
import itertools
import random
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Optional

from hypothesis import strategies as st

from fastframe.enums import Opcode
from fastframe.errors import ProtocolError

# ---------------------------------------------------------------------------
# RFC 6455 facts, written out here rather than imported from fastframe.

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
DATA_OPCODES = (TEXT, BINARY)
CONTROL_OPCODES = (CLOSE, PING, PONG)
DEFINED_OPCODES = (CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG)
RESERVED_OPCODES = (3, 4, 5, 6, 7, 11, 12, 13, 14, 15)

# §7.4.1 and the IANA registry (1012-1014), §7.4.2 (3000-4999).
VALID_CLOSE_CODES = frozenset(range(1000, 1004)) | frozenset(range(1007, 1015)) | frozenset(range(3000, 5000))

PROTOCOL_ERROR, INVALID_DATA, MESSAGE_TOO_BIG = 1002, 1007, 1009

MASK_KEY = b"\x37\xfa\x21\x3d"  # the key of RFC 6455 §5.7's examples

# ---------------------------------------------------------------------------
# Masking and encoding.

_XOR = [bytes(b ^ k for b in range(256)) for k in range(256)]


def mask(data: bytes, key: bytes, phase: int = 0) -> bytes:
    """XOR ``data`` with ``key`` (§5.3), starting at key byte ``phase``.

    Table lookups on strided slices: independent of fastframe's big-integer
    XOR and fast enough for 16 MiB.
    """
    assert len(key) == 4
    out = bytearray(data)
    for i in range(4):
        out[i::4] = out[i::4].translate(_XOR[key[(i + phase) % 4]])
    return bytes(out)


def encode_header(
    opcode: int,
    length: int,
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    key: Optional[bytes] = None,
    form: Optional[int] = None,
) -> bytes:
    """A frame header; ``form`` (7, 16 or 64) forces a length encoding."""
    first = (fin << 7) | (rsv1 << 6) | (rsv2 << 5) | (rsv3 << 4) | opcode
    mask_bit = 0x80 if key is not None else 0
    if form is None:
        form = 7 if length <= 125 else 16 if length <= 0xFFFF else 64
    if form == 7:
        assert length <= 125
        head = bytes([first, mask_bit | length])
    elif form == 16:
        head = bytes([first, mask_bit | 126]) + struct.pack("!H", length)
    else:
        head = bytes([first, mask_bit | 127]) + struct.pack("!Q", length)
    return head + (key or b"")


def encode_frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    key: Optional[bytes] = None,
    form: Optional[int] = None,
    length: Optional[int] = None,
) -> bytes:
    """A whole frame; ``length`` overrides the length written in the header."""
    head = encode_header(
        opcode,
        len(payload) if length is None else length,
        fin=fin,
        rsv1=rsv1,
        rsv2=rsv2,
        rsv3=rsv3,
        key=key,
        form=form,
    )
    return head + (mask(payload, key) if key is not None else payload)


def peer_frame(client: bool, opcode: int, payload: bytes = b"", *, key: bytes = MASK_KEY, **kwargs: Any) -> bytes:
    """A frame as the peer of a parser with role ``client`` sends it.

    A client parser reads a server, whose frames are unmasked; a server
    parser reads a client, whose frames are masked (§5.1).
    """
    return encode_frame(opcode, payload, key=None if client else key, **kwargs)


def header_size(first_two: bytes) -> int:
    """Size of the header that starts with these two bytes."""
    b1 = first_two[1]
    size = {126: 4, 127: 10}.get(b1 & 0x7F, 2)
    return size + (4 if b1 & 0x80 else 0)


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


def ref_parse_header(buf: bytes, offset: int = 0) -> Any:
    """Reference decoder: a field tuple, None (need more) or "msb"."""
    data = bytes(buf[offset : offset + 14])
    if len(data) < 2:
        return None
    b0, b1 = data[0], data[1]
    length = b1 & 0x7F
    pos = 2
    if length == 126:
        if len(data) < 4:
            return None
        length = int.from_bytes(data[2:4], "big")
        pos = 4
    elif length == 127:
        if len(data) < 10:
            return None
        length = int.from_bytes(data[2:10], "big")
        if length >= 2**63:
            return "msb"
        pos = 10
    key = None
    if b1 & 0x80:
        if len(data) < pos + 4:
            return None
        key = bytes(data[pos : pos + 4])
        pos += 4
    return (
        bool(b0 & 0x80),
        bool(b0 & 0x40),
        bool(b0 & 0x20),
        bool(b0 & 0x10),
        b0 & 0x0F,
        bool(b1 & 0x80),
        length,
        key,
        pos,
    )


def header_fields(header: Any) -> tuple[Any, ...]:
    """A parsed header as the tuple :func:`ref_parse_header` returns."""
    return (
        header.fin,
        header.rsv1,
        header.rsv2,
        header.rsv3,
        header.opcode,
        header.masked,
        header.length,
        header.mask,
        header.size,
    )


# ---------------------------------------------------------------------------
# UTF-8 reference.

# Second and later bytes of a code point fall in 80-BF with first-continuation
# ranges 80-8F, 80-9F, 90-BF, A0-BF (RFC 3629 §4): their end points cover
# every case, so these completions decide whether a prefix can still be valid.
_CONT = (0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF)
_COMPLETIONS = [bytes(c) for n in (1, 2, 3) for c in itertools.product(_CONT, repeat=n)]


def _decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8", "strict")
    except UnicodeDecodeError:
        return False
    return True


def utf8_extendable(data: bytes) -> bool:
    """True if ``data`` is a prefix of some valid UTF-8 string."""
    if _decodes(data):
        return True
    for k in (1, 2, 3):
        if len(data) < k or not _decodes(data[:-k]):
            continue
        tail = data[-k:]
        if any(_decodes(tail + c) for c in _COMPLETIONS if len(c) <= 4 - k):
            return True
    return False


def first_impossible_byte(data: bytes) -> Optional[int]:
    """Index of the first byte after which ``data`` can no longer be UTF-8, or None."""
    if utf8_extendable(data):
        return None
    lo, hi = 0, len(data) - 1  # data[:hi + 1] is not extendable
    while lo < hi:
        mid = (lo + hi) // 2
        if utf8_extendable(data[: mid + 1]):
            lo = mid + 1
        else:
            hi = mid
    return lo


# ---------------------------------------------------------------------------
# Feeding a parser in chunks.


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
    chunks = list(_cut(data, sizes))
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


def _cut(data: bytes, sizes: Iterable[int]) -> Iterator[bytes]:
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
    ends = list(itertools.accumulate(len(chunk) for chunk in _cut(data, sizes)))

    def end_of_chunk_holding(index: int) -> int:
        return next(end for end in ends if index < end) - 1

    # Each frame comes from the feed that delivers its last byte: none is held back.
    assert got.positions == [end_of_chunk_holding(p) for p in one.positions], context
    if one.code is not None:
        # The raising feed is the one whose chunk holds the byte where 1-byte feeding raised.
        assert got.error_end == end_of_chunk_holding(one.error_end), context
    else:
        assert got.buffered == one.buffered, context


# ---------------------------------------------------------------------------
# Byte-by-byte traces and the oracles.


@dataclasses.dataclass
class Trace:
    """What a side reported while a stream was fed one byte at a time.

    events: ``(position, event)`` in order; the event is a tuple whose first
        item is "data" (a data frame completed), "ctrl" or "close".
    error: ``(position, code)`` or None.
    note: oracle-specific detail about the error (its message).
    """

    events: list[tuple[int, tuple[Any, ...]]]
    error: Optional[tuple[int, int]] = None
    note: str = ""


def close_event(payload: bytes) -> tuple[Any, ...]:
    """A valid close payload as ("close", code, reason)."""
    if not payload:
        return ("close", 1005, "")
    return ("close", int.from_bytes(payload[:2], "big"), payload[2:].decode("utf-8"))


def trace_fastframe(parser: Any, data: bytes, *, message_level: bool) -> Trace:
    """Feed ``data`` byte by byte and trace frames (or messages).

    Frame level: ("data", opcode, fin, payload), ("ctrl", opcode, payload),
    ("close", code, reason).  Message level, to compare with wsproto, which
    reports the message opcode and decoded text: ("data", message opcode,
    fin, whole message payload if fin else None).
    """
    trace = Trace(events=[])
    msg_opcode, parts = None, []

    def add(i: int, frame: Any) -> None:
        nonlocal msg_opcode, parts
        op = int(frame.opcode)
        if op == CLOSE:
            trace.events.append((i, close_event(frame.payload)))
        elif op >= 8:
            trace.events.append((i, ("ctrl", op, frame.payload)))
        elif not message_level:
            trace.events.append((i, ("data", op, frame.fin, frame.payload)))
        else:
            if op != CONTINUATION:
                msg_opcode, parts = op, []
            parts.append(frame.payload)
            trace.events.append((i, ("data", msg_opcode, frame.fin, b"".join(parts) if frame.fin else None)))

    for i in range(len(data)):
        try:
            frames = parser.feed(data[i : i + 1])
        except ProtocolError as exc:
            for f in exc.frames:
                add(i, f)
            trace.error = (i, int(exc.code))
            trace.note = exc.reason
            break
        for f in frames:
            add(i, f)
    return trace


def trace_wsproto(data: bytes, *, client: bool) -> Trace:
    """wsproto's FrameProtocol fed byte by byte, at message level."""
    from wsproto.frame_protocol import FrameProtocol, ParseFailed

    proto = FrameProtocol(client=client, extensions=[])
    trace = Trace(events=[])
    parts: list[Any] = []
    for i in range(len(data)):
        proto.receive_bytes(data[i : i + 1])
        try:
            for frame in proto.received_frames():
                op = int(frame.opcode)
                if op == CLOSE:
                    code, reason = frame.payload
                    trace.events.append((i, ("close", int(code), reason)))
                elif op >= 8:
                    trace.events.append((i, ("ctrl", op, bytes(frame.payload))))
                else:
                    parts.append(frame.payload)
                    if frame.frame_finished:
                        whole = None
                        if frame.message_finished:
                            if op == TEXT:
                                whole = "".join(parts).encode("utf-8")
                            else:
                                whole = b"".join(bytes(p) for p in parts)
                            parts = []
                        trace.events.append((i, ("data", op, frame.message_finished, whole)))
        except ParseFailed as exc:
            trace.error = (i, int(exc.code))
            trace.note = str(exc)
            break
    return trace


def trace_websockets(data: bytes, *, client: bool, max_size: Optional[int] = None) -> Trace:
    """websockets' Frame.parse fed byte by byte, at frame level.

    Frame.parse checks one frame (opcode, masking, length against max_size,
    reserved bits, control frame rules).  The rules between frames are in
    websockets' protocol.py, which also rejects a close frame inside a
    fragmented message (RFC 6455 §5.4 allows it), so instead this driver
    adds them with the standard library: continuation sequencing, UTF-8 of
    text messages (codecs' incremental decoder, checked when a frame is
    complete) and close payloads with websockets' ``Close.parse``.  It stops
    after a close frame, as both oracles do.
    """
    from websockets.exceptions import PayloadTooBig, ProtocolError as WSProtocolError
    from websockets.frames import Close, Frame
    from websockets.streams import StreamReader

    reader = StreamReader()
    trace = Trace(events=[])
    gen = None
    in_message = False
    decoder: Any = None

    def fail(i: int, code: int, note: str) -> Trace:
        trace.error = (i, code)
        trace.note = note
        return trace

    for i in range(len(data)):
        reader.feed_data(data[i : i + 1])
        while True:
            if gen is None:
                if not reader.buffer:
                    break
                gen = Frame.parse(reader.read_exact, mask=not client, max_size=max_size, extensions=None)
            try:
                next(gen)
            except StopIteration as stop:
                gen = None
                frame = stop.value
            except WSProtocolError as exc:
                return fail(i, PROTOCOL_ERROR, str(exc))
            except PayloadTooBig as exc:
                return fail(i, MESSAGE_TOO_BIG, str(exc))
            else:
                break  # needs more data
            op, payload = int(frame.opcode), bytes(frame.data)
            if op == CLOSE:
                try:
                    # Code first, then reason: websockets' Close.parse decodes the
                    # reason first; RFC 6455 does not order the two checks.
                    if len(payload) >= 2:
                        Close.parse(payload[:2])
                    Close.parse(payload)
                except WSProtocolError as exc:
                    return fail(i, PROTOCOL_ERROR, str(exc))
                except UnicodeDecodeError as exc:
                    return fail(i, INVALID_DATA, str(exc))
                trace.events.append((i, close_event(payload)))
                return trace
            if op >= 8:
                trace.events.append((i, ("ctrl", op, payload)))
                continue
            if op == CONTINUATION:
                if not in_message:
                    return fail(i, PROTOCOL_ERROR, "continuation without a message")
            else:
                if in_message:
                    return fail(i, PROTOCOL_ERROR, "new message inside a fragmented one")
                decoder = codecs.getincrementaldecoder("utf-8")() if op == TEXT else None
            in_message = not frame.fin
            if decoder is not None:
                try:
                    decoder.decode(payload, frame.fin)
                except UnicodeDecodeError as exc:
                    return fail(i, INVALID_DATA, str(exc))
            trace.events.append((i, ("data", op, frame.fin, payload)))
    return trace


_INF = 1 << 62


def compare_traces(fast: Trace, oracle: Trace, *, oracle_name: str) -> None:
    """Assert that fastframe and an oracle agree where RFC 6455 is unambiguous.

    - Everything either side reported before the first error is identical.
    - Both sides stop at the first close frame (wsproto and websockets discard
      what follows it; fastframe, a framing layer, keeps parsing).
    - When both raise at the same byte, the close codes are the same.
    - Sides may decide at different bytes *within one frame*: the oracles
      reject a reserved opcode or wrong masking from the first 2 bytes while
      fastframe decides when the whole header (with its masking key) is in;
      fastframe decides reserved bits, sequencing and sizes from the header
      while websockets decides reserved bits once the payload is in and
      wsproto decides sequencing on the first payload byte.  So the side that
      raises later must not have completed that frame, and must raise the
      same code if it raises at all.
    - UTF-8 is the exception: fastframe fails on the first impossible byte
      (§8.1), also for an unfinished code point like ED A0 (a surrogate) at
      the end of a non-final frame, which CPython's incremental decoder — and
      so both oracles — only rejects when the next byte arrives.  After such
      an early 1007 the oracle may still report control frames and non-final
      data frames, and may then raise 1007, or 1002 for a later frame.
    - The RFC does not order "too big" (1009) against other header checks, so
      1002 and 1009 from the same frame are interchangeable.
    """
    fast = _cut_at_close(fast)
    oracle = _cut_at_close(oracle)
    fpos = fast.error[0] if fast.error else _INF
    opos = oracle.error[0] if oracle.error else _INF
    first = min(fpos, opos)
    context = f"fastframe {fast}\n{oracle_name} {oracle}"
    before_f = [e for e in fast.events if e[0] < first]
    before_o = [e for e in oracle.events if e[0] < first]
    assert before_f == before_o, context
    if first == _INF:
        return
    fcode = fast.error[1] if fast.error else None
    ocode = oracle.error[1] if oracle.error else None
    interchangeable = {fcode, ocode} == {PROTOCOL_ERROR, MESSAGE_TOO_BIG}
    if fpos == opos:
        assert fcode == ocode or interchangeable, context
        return
    if fpos < opos:
        later = [e for e in oracle.events if e[0] >= fpos]
        if fcode == INVALID_DATA:
            for _, event in later:
                assert event[0] in ("ctrl", "close") or (event[0] == "data" and not event[2]), context
            assert ocode in (None, INVALID_DATA, PROTOCOL_ERROR), context
            return
        assert not later, context
        assert ocode in (None, fcode) or interchangeable, context
        return
    later = [e for e in fast.events if e[0] >= opos]
    assert not later, context
    assert fcode in (None, ocode) or interchangeable, context


def _cut_at_close(trace: Trace) -> Trace:
    for pos, event in trace.events:
        if event[0] == "close":
            events = [e for e in trace.events if e[0] <= pos]
            error = trace.error if trace.error and trace.error[0] <= pos else None
            return Trace(events=events, error=error, note=trace.note if error else "")
    return trace


def limit_candidates(data: bytes) -> list[int]:
    """Frame and message sizes in ``data``, and their neighbours: where limits bite."""
    sizes = {0, 1}
    pos, message = 0, 0
    while len(data) - pos >= 2:
        parsed = ref_parse_header(data, pos)
        if parsed is None or parsed == "msb":
            break
        opcode, length = parsed[4], parsed[6]
        sizes.add(length)
        if opcode < 8:
            message = length if opcode else message + length
            sizes.add(message)
        pos += parsed[8] + length
    return sorted({max(0, n + d) for n in sizes for d in (-1, 0, 1)})


# ---------------------------------------------------------------------------
# Hypothesis strategies.


@dataclasses.dataclass
class Spec:
    """One frame to encode; the fields map to :func:`encode_frame`'s arguments."""

    opcode: int
    payload: bytes = b""
    fin: bool = True
    rsv1: bool = False
    rsv2: bool = False
    rsv3: bool = False
    key: Optional[bytes] = None
    form: Optional[int] = None
    length: Optional[int] = None

    def encode(self) -> bytes:
        form = self.form
        length = len(self.payload) if self.length is None else self.length
        if form == 7 and length > 125:
            form = None
        return encode_frame(
            self.opcode,
            self.payload,
            fin=self.fin,
            rsv1=self.rsv1,
            rsv2=self.rsv2,
            rsv3=self.rsv3,
            key=self.key,
            form=form,
            length=self.length,
        )


def encode_specs(specs: Sequence[Spec]) -> bytes:
    return b"".join(s.encode() for s in specs)


keys = st.binary(min_size=4, max_size=4)

#: FrameParser options: small limits so that random streams reach them.
parser_options = st.fixed_dictionaries(
    {
        "max_frame_size": st.one_of(st.none(), st.integers(0, 300)),
        "max_message_size": st.one_of(st.none(), st.integers(0, 400)),
        "allow_rsv1": st.booleans(),
        "validate_utf8": st.booleans(),
    }
)

# Text with multi-byte code points of every length, emoji included.
texts = st.text(
    alphabet=st.one_of(
        st.characters(max_codepoint=0x7F),
        st.characters(min_codepoint=0x80, max_codepoint=0x7FF),
        st.characters(min_codepoint=0x800, max_codepoint=0xFFFF, codec="utf-8"),
        st.characters(min_codepoint=0x10000, codec="utf-8"),
    ),
    max_size=40,
)
control_payloads = st.one_of(st.binary(max_size=20), st.binary(min_size=120, max_size=125))
close_payloads = st.one_of(
    st.just(b""),
    st.builds(
        lambda code, reason: close_payload(code, reason.encode("utf-8")[:60].decode("utf-8", "ignore").encode("utf-8")),
        st.sampled_from(sorted(VALID_CLOSE_CODES)),
        texts,
    ),
)


@st.composite
def fragments(draw: Any, payload: bytes) -> list[bytes]:
    """Cut ``payload`` anywhere, also inside a code point; empty pieces allowed."""
    cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=4)))
    bounds = [0, *cuts, len(payload)]
    return [payload[a:b] for a, b in zip(bounds, bounds[1:])]


@st.composite
def valid_specs(draw: Any, client: bool, *, big: bool = True, closing: bool = True) -> list[Spec]:
    """A valid stream from the peer of a ``client`` (or server) parser.

    Messages of text or binary, fragmented at random points (also inside
    UTF-8 sequences), with pings and pongs interleaved between fragments,
    optionally ended by a close frame.
    """

    def key() -> Optional[bytes]:
        return None if client else draw(keys)

    specs: list[Spec] = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.integers(0, 5)) == 0:
            specs.append(Spec(draw(st.sampled_from((PING, PONG))), draw(control_payloads), key=key()))
            continue
        opcode = draw(st.sampled_from(DATA_OPCODES))
        if opcode == TEXT:
            payload = draw(texts).encode("utf-8")
        elif big and draw(st.integers(0, 9)) == 0:
            payload = draw(st.binary(min_size=126, max_size=300))
        else:
            payload = draw(st.binary(max_size=40))
        pieces = draw(fragments(payload))
        for n, piece in enumerate(pieces):
            last = n == len(pieces) - 1
            specs.append(Spec(opcode if n == 0 else CONTINUATION, piece, fin=last, key=key()))
            if not last and draw(st.booleans()):
                specs.append(Spec(draw(st.sampled_from((PING, PONG))), draw(st.binary(max_size=10)), key=key()))
    if closing and draw(st.booleans()):
        specs.append(Spec(CLOSE, draw(close_payloads), key=key()))
    return specs


_SPEC_MUTATIONS = (
    "opcode",
    "fin",
    "rsv1",
    "rsv2",
    "rsv3",
    "mask",
    "invalid_utf8",
    "invalid_utf8",
    "big_control",
    "close_payload",
    "length",
    "form",
    "drop",
    "duplicate",
    "swap",
    "compress",
)


@st.composite
def mutated_specs(draw: Any, client: bool) -> list[Spec]:
    """A valid stream with 1-3 frame-level mutations: each breaks (or may break) one rule."""
    specs = draw(valid_specs(client, big=False))
    if not specs:
        specs = [Spec(TEXT, b"hello", key=None if client else draw(keys))]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(_SPEC_MUTATIONS))
        text_frames = [n for n, spec in enumerate(specs) if spec.opcode in (TEXT, CONTINUATION)]
        if kind == "invalid_utf8" and text_frames:
            i = draw(st.sampled_from(text_frames))
        else:
            i = draw(st.integers(0, len(specs) - 1))
        s = dataclasses.replace(specs[i])
        if kind == "opcode":
            s.opcode = draw(st.integers(0, 15))
        elif kind in ("fin", "rsv1", "rsv2", "rsv3"):
            setattr(s, kind, not getattr(s, kind))
        elif kind == "mask":
            s.key = None if s.key is not None else draw(keys)
        elif kind == "invalid_utf8":
            bad = draw(
                st.sampled_from(
                    (b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90", b"\xe2\x82", b"\x80", b"\xed", b"\xf0\x9f")
                )
            )
            at = draw(st.integers(0, len(s.payload)))
            s.payload = s.payload[:at] + bad + s.payload[at:]
        elif kind == "big_control":
            s.opcode = draw(st.sampled_from(CONTROL_OPCODES))
            s.payload = draw(st.binary(min_size=126, max_size=130))
        elif kind == "close_payload":
            s.opcode = CLOSE
            s.payload = draw(
                st.one_of(
                    st.binary(min_size=1, max_size=1),
                    st.builds(close_payload, st.integers(0, 65535)),
                    st.builds(
                        close_payload,
                        st.sampled_from(sorted(VALID_CLOSE_CODES)),
                        st.sampled_from((b"\xff", b"ok\xc3", b"\xed\xa0\x80")),
                    ),
                )
            )
        elif kind == "length":
            s.length = max(0, len(s.payload) + draw(st.integers(-3, 3)))
        elif kind == "form":
            s.form = draw(st.sampled_from((16, 64)))
        elif kind == "compress":
            # RSV1 on the first frame of a message: valid with allow_rsv1.
            starts = [n for n, spec in enumerate(specs) if spec.opcode in DATA_OPCODES]
            if starts:
                i = draw(st.sampled_from(starts))
                s = dataclasses.replace(specs[i], rsv1=True)
        elif kind == "drop":
            del specs[i]
            if not specs:
                specs = [s]
            continue
        elif kind == "duplicate":
            specs.insert(i, s)
            continue
        elif kind == "swap":
            j = draw(st.integers(0, len(specs) - 1))
            specs[i], specs[j] = specs[j], specs[i]
            continue
        specs[i] = s
    return specs


@st.composite
def byte_mutations(draw: Any, data: bytes) -> bytes:
    """Flip bits, overwrite, insert, delete bytes, truncate."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(("flip", "set", "insert", "delete", "truncate")))
        if not buf:
            kind = "insert"
        if kind == "insert":
            at = draw(st.integers(0, len(buf)))
            buf[at:at] = draw(st.binary(min_size=1, max_size=4))
            continue
        at = draw(st.integers(0, len(buf) - 1))
        if kind == "flip":
            buf[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            buf[at] = draw(st.integers(0, 255))
        elif kind == "delete":
            del buf[at]
        else:
            del buf[at:]
    return bytes(buf)


@st.composite
def streams(draw: Any, client: bool) -> bytes:
    """Valid streams, frame-level mutations, byte-level mutations and garbage."""
    kind = draw(st.sampled_from(("valid", "spec", "spec", "bytes", "garbage")))
    if kind == "valid":
        return encode_specs(draw(valid_specs(client)))
    if kind == "spec":
        return encode_specs(draw(mutated_specs(client)))
    if kind == "bytes":
        return draw(byte_mutations(encode_specs(draw(valid_specs(client, big=False)))))
    return draw(st.binary(max_size=64))
