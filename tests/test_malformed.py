"""A catalogue of hostile input: what a peer can send to hurt the parser.

Each class of hostile stream is written by the independent encoder of
``streams.py`` for both roles, and fed to a FrameParser and to a
MessageAssembler of each backend, whole and one byte at a time.  Each must
end with the exact close code (RFC 6455 §7.4.1) or, for the few that the
README documents as accepted, with the frames they carry; and the memory
the parser takes while reading it (tracemalloc's peak) is bounded by what
was actually sent, never by what a header announced.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any, Optional

import pytest

from fastframe import ProtocolError
from support.encoder import close_payload, encode_frame, encode_header, peer_frame
from support.rfc import BINARY, CLOSE, CONTINUATION, MASK_KEY, PING, PONG, TEXT

try:
    import tracemalloc
except ImportError:  # PyPy has none: the codes are still checked, not the memory bounds
    tracemalloc = None  # type: ignore[assignment]

#: The memory bounds need tracemalloc (CPython's).
needs_tracemalloc = pytest.mark.skipif(tracemalloc is None, reason="needs tracemalloc (CPython)")

KiB = 1 << 10
MiB = 1 << 20
#: Allowance for the interpreter's own allocations while a stream is fed
#: (frame lists, small objects, tracemalloc's bookkeeping is not counted).
SLACK = 64 * KiB
#: What one delivered Frame or Message may cost besides its payload.
PER_ITEM = 256


@dataclasses.dataclass
class Hostile:
    """One class of hostile input.

    build: the stream, for a parser of role ``client``.
    code: the close code the parser must raise, or None where the input is
        accepted (documented behaviour): then ``frames`` frames must come out.
    """

    id: str
    build: Callable[[bool], bytes]
    code: Optional[int]
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    frames: Optional[int] = None


def one(opcode: int, payload: bytes = b"", **kwargs: Any) -> Callable[[bool], bytes]:
    """A single frame as the peer sends it."""
    return lambda client: peer_frame(client, opcode, payload, **kwargs)


def after_ok(opcode: int, payload: bytes = b"", **kwargs: Any) -> Callable[[bool], bytes]:
    """A valid frame, then the hostile one: the error must not lose the first."""
    return lambda client: peer_frame(client, BINARY, b"ok") + peer_frame(client, opcode, payload, **kwargs)


def in_message(opcode: int, payload: bytes = b"", **kwargs: Any) -> Callable[[bool], bytes]:
    """The hostile frame inside a fragmented text message."""
    return lambda client: peer_frame(client, TEXT, b"a", fin=False) + peer_frame(client, opcode, payload, **kwargs)


def raw_header(opcode: int, length: int, *, form: Optional[int] = None, tail: bytes = b"") -> Callable[[bool], bytes]:
    """A header announcing ``length`` (in the given encoding), then ``tail``."""
    return lambda client: encode_header(opcode, length, key=None if client else MASK_KEY, form=form) + tail


def wrong_mask(client: bool) -> bytes:
    """A frame masked the way the peer must not: unmasked to a server, masked to a client."""
    return encode_frame(TEXT, b"abc", key=MASK_KEY if client else None)


def text(*pieces: bytes) -> Callable[[bool], bytes]:
    """A text message in these fragments, the last final."""

    def build(client: bool) -> bytes:
        last = len(pieces) - 1
        return b"".join(
            peer_frame(client, TEXT if n == 0 else CONTINUATION, piece, fin=n == last) for n, piece in enumerate(pieces)
        )

    return build


def close(code: int, reason: bytes = b"") -> Callable[[bool], bytes]:
    return one(CLOSE, close_payload(code, reason))


def endless_continuations(size: int, count: int) -> Callable[[bool], bytes]:
    """A binary message that never ends: ``count`` non-final fragments of ``size`` bytes."""

    def build(client: bool) -> bytes:
        first = peer_frame(client, BINARY, b"x" * size, fin=False)
        return first + peer_frame(client, CONTINUATION, b"y" * size, fin=False) * count

    return build


def ping_flood(count: int) -> Callable[[bool], bytes]:
    """A fragmented message with ``count`` pings between its fragments, then its end."""

    def build(client: bool) -> bytes:
        ping = peer_frame(client, PING, b"are you there?")
        return (
            peer_frame(client, TEXT, b"start ", fin=False)
            + ping * count
            + peer_frame(client, CONTINUATION, b"middle ", fin=False)
            + ping * count
            + peer_frame(client, CONTINUATION, b"end")
        )

    return build


def big_frame(size: int) -> Callable[[bool], bytes]:
    return lambda client: peer_frame(client, BINARY, bytes(range(256)) * (size // 256))


CATALOGUE = [
    # Reserved bits and opcodes (§5.2).
    Hostile("rsv1-without-extension", after_ok(TEXT, b"x", rsv1=True), 1002),
    Hostile("rsv2", after_ok(BINARY, b"x", rsv2=True), 1002),
    Hostile("rsv3", after_ok(BINARY, b"x", rsv3=True), 1002),
    Hostile("rsv2-with-deflate", after_ok(TEXT, b"x", rsv1=True, rsv2=True), 1002, {"allow_rsv1": True}),
    Hostile("rsv1-on-continuation-with-deflate", in_message(CONTINUATION, b"x", rsv1=True), 1002, {"allow_rsv1": True}),
    Hostile("rsv1-on-ping-with-deflate", after_ok(PING, b"", rsv1=True), 1002, {"allow_rsv1": True}),
    *[Hostile(f"reserved-data-opcode-{op}", after_ok(op, b"x"), 1002) for op in (3, 4, 5, 6, 7)],
    *[Hostile(f"reserved-control-opcode-{op}", after_ok(op, b""), 1002) for op in (11, 12, 13, 14, 15)],
    Hostile("reserved-opcode-inside-message", in_message(3, b"x"), 1002),
    # Control frames (§5.5).
    Hostile("ping-126-bytes", one(PING, b"p" * 126), 1002),
    Hostile("pong-64bit-length-70000", raw_header(PONG, 70000), 1002),
    Hostile("close-126-bytes", close(1000, b"r" * 124), 1002),
    Hostile("fragmented-ping", one(PING, b"", fin=False), 1002),
    Hostile("fragmented-close-inside-message", in_message(CLOSE, close_payload(1000), fin=False), 1002),
    # Fragmentation (§5.4).
    Hostile("continuation-without-message", after_ok(CONTINUATION, b"x"), 1002),
    Hostile("continuation-after-final-fragment", lambda c: text(b"a", b"b")(c) + one(CONTINUATION, b"c")(c), 1002),
    Hostile("text-inside-fragmented-message", in_message(TEXT, b"x"), 1002),
    Hostile("binary-inside-fragmented-message", in_message(BINARY, b"x"), 1002),
    # Masking (§5.1).
    Hostile("wrong-masking-for-role", wrong_mask, 1002),
    # Lengths (§5.2).
    Hostile("length-2**63", raw_header(BINARY, 2**63), 1002),
    Hostile("length-2**64-1", raw_header(BINARY, 2**64 - 1), 1002),
    Hostile("length-2**63-1-default-limit", raw_header(BINARY, 2**63 - 1), 1009),
    Hostile("length-2**62-default-limit", raw_header(BINARY, 2**62), 1009),
    Hostile("length-2**62-large-limit", raw_header(BINARY, 2**62), 1009, {"max_frame_size": 2**61}),
    Hostile("length-2**62-message-limit", raw_header(BINARY, 2**62), 1009, {"max_frame_size": None}),
    Hostile("ping-2**62", raw_header(PING, 2**62), 1002, {"max_frame_size": None, "max_message_size": None}),
    Hostile("length-16bit-over-limit", raw_header(BINARY, 60000, tail=b"\x00" * 100), 1009, {"max_frame_size": 50000}),
    # The README documents non-minimal lengths as accepted, as the other
    # libraries do (§5.2 says "minimal number of bytes" for the sender).
    Hostile("non-minimal-16bit-length", lambda c: peer_frame(c, BINARY, b"hello", form=16), None, frames=1),
    Hostile("non-minimal-64bit-length", lambda c: peer_frame(c, BINARY, b"x" * 200, form=64), None, frames=1),
    Hostile("non-minimal-64bit-zero-length-ping", lambda c: peer_frame(c, PING, b"", form=64), None, frames=1),
    Hostile("non-minimal-16bit-ping-of-125", lambda c: peer_frame(c, PING, b"p" * 125, form=16), None, frames=1),
    # Close payloads (§5.5.1, §7.4).
    Hostile("close-1-byte-payload", one(CLOSE, b"\x03"), 1002),
    Hostile("close-code-0", close(0, b"r"), 1002),
    Hostile("close-code-999", close(999), 1002),
    Hostile("close-code-1004-reserved", close(1004), 1002),
    Hostile("close-code-1005-no-status-on-the-wire", close(1005), 1002),
    Hostile("close-code-1006-abnormal-on-the-wire", close(1006), 1002),
    Hostile("close-code-1015-tls-on-the-wire", close(1015), 1002),
    Hostile("close-code-1016-unassigned", close(1016), 1002),
    Hostile("close-code-2999-unassigned", close(2999), 1002),
    Hostile("close-code-5000", close(5000), 1002),
    Hostile("close-code-65535", close(65535, b"x" * 100), 1002),
    Hostile("close-reason-invalid-byte", close(1000, b"bye \xff"), 1007),
    Hostile("close-reason-truncated-sequence", close(1000, "bye €".encode()[:-1]), 1007),
    Hostile("close-reason-surrogate", close(1001, b"\xed\xa0\x80"), 1007),
    Hostile("close-reason-overlong", close(1000, b"\xc0\xaf"), 1007),
    Hostile("close-reason-above-u10ffff", close(4000, b"\xf4\x90\x80\x80"), 1007),
    # Text (§8.1).
    Hostile("text-invalid-byte", text(b"abc\xff"), 1007),
    Hostile("text-surrogate", text(b"\xed\xb0\x80"), 1007),
    Hostile("text-overlong-nul", text(b"\xc0\x80"), 1007),
    Hostile("text-ends-inside-sequence", text(b"caf\xc3"), 1007),
    Hostile("text-invalid-across-fragments", text(b"ok \xe2\x82", b"\x41"), 1007),
    Hostile("text-ends-inside-sequence-after-fragments", text(b"ok", b"\xf0\x9f", b"\x98"), 1007),
    # Sizes and floods.
    Hostile("frame-over-max-frame-size", one(BINARY, b"x" * 2000), 1009, {"max_frame_size": 1000}),
    Hostile("endless-continuations", endless_continuations(16, 600), 1009, {"max_message_size": 8 * KiB}),
    Hostile("endless-empty-continuations", endless_continuations(0, 3000), None, frames=3001),
    Hostile("ping-flood-inside-message", ping_flood(1500), None, frames=3003),
    Hostile("dribbled-64k-frame", big_frame(64 * KiB), None, frames=1),
    Hostile("dribbled-frame-over-limit", big_frame(64 * KiB), 1009, {"max_frame_size": 32 * KiB}),
]


@pytest.fixture(params=CATALOGUE, ids=lambda case: case.id)
def case(request: pytest.FixtureRequest) -> Hostile:
    return request.param  # type: ignore[no-any-return]


def test_catalogue_size():
    names = {case.id for case in CATALOGUE}
    assert len(names) == len(CATALOGUE)
    assert len(names) >= 30


def chunks(stream: bytes, bytewise: bool) -> Iterator[bytes]:
    if not bytewise:
        yield stream
        return
    for i in range(len(stream)):
        yield stream[i : i + 1]


def read(reader: Any, stream: bytes, bytewise: bool) -> tuple[Optional[int], int, Optional[int]]:
    """Feed ``stream``; return (close code or None, items delivered, tracemalloc peak or None without it)."""
    delivered = 0
    code = None
    if tracemalloc is None:
        for chunk in chunks(stream, bytewise):
            try:
                delivered += len(reader.feed(chunk))
            except ProtocolError as exc:
                return int(exc.code), delivered + len(exc.frames) + len(exc.messages), None
        return None, delivered, None
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        for chunk in chunks(stream, bytewise):
            try:
                delivered += len(reader.feed(chunk))
            except ProtocolError as exc:
                code = int(exc.code)
                delivered += len(exc.frames) + len(exc.messages)
                break
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return code, delivered, peak


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
@pytest.mark.parametrize("layer", ["parser", "assembler"])
@pytest.mark.parametrize("client", [False, True], ids=["server", "client"])
def test_hostile(backend, case, client, layer, bytewise):
    stream = case.build(client)
    parser = backend.FrameParser(client=client, **case.kwargs)
    reader = parser if layer == "parser" else backend.MessageAssembler(parser)
    code, delivered, peak = read(reader, stream, bytewise)
    assert code == case.code
    if case.code is None:
        assert parser.buffered == 0
        if layer == "parser":
            assert delivered == case.frames
    else:
        # The parser stays failed and holds nothing.
        assert parser.buffered == 0
        with pytest.raises(ProtocolError) as info:
            reader.feed(b"\x81\x00")
        assert info.value.code == case.code
    # Bounded by what was sent (the frames returned hold copies of it),
    # never by what a header announced.
    bound = SLACK + 4 * len(stream)  # a few copies: the frames returned, unmasked
    if not bytewise:
        # One feed returns them all at once (the assembler gets the frames).
        bound += PER_ITEM * max(delivered, case.frames or 0)
    assert peak is None or peak <= bound, (peak, bound)


@pytest.mark.parametrize("client", [False, True], ids=["server", "client"])
@pytest.mark.parametrize("form", [7, 16, 64])
def test_truncated_header_at_every_byte(backend, client, form):
    """A header cut anywhere is held, not guessed: no frame, no error, exactly its bytes buffered."""
    length = {7: 5, 16: 300, 64: 70000}[form]
    frame = peer_frame(client, BINARY, b"z" * length, form=form)
    size = {7: 2, 16: 4, 64: 10}[form] + (0 if client else 4)
    for cut in range(1, size):
        for bytewise in (False, True):
            parser = backend.FrameParser(client=client)
            code, delivered, peak = read(parser, frame[:cut], bytewise)
            assert (code, delivered) == (None, 0), cut
            assert parser.buffered == cut
            assert peak is None or peak <= SLACK
            # The rest of the stream completes the frame.
            assert [f.payload for f in parser.feed(frame[cut:])] == [b"z" * length]


@pytest.mark.parametrize("client", [False, True], ids=["server", "client"])
def test_huge_announced_frame_never_allocated(backend, client):
    """With no limits (trusted peers only), a 2**62-byte header costs what arrives, not what it announces.

    The compiled parser allocates a payload buffer from the header up to
    64 MiB and grows it with what arrives past that (see FrameParser's
    Memory notes); the pure one holds what arrives.
    """
    parser = backend.FrameParser(client=client, max_frame_size=None, max_message_size=None)
    stream = raw_header(BINARY, 2**62, tail=b"\x00" * 4096)(client)
    code, delivered, peak = read(parser, stream, False)
    assert (code, delivered) == (None, 0)
    assert parser.buffered == 4096  # the payload so far
    assert peak is None or peak <= SLACK + 4 * len(stream) + 64 * MiB


@needs_tracemalloc
@pytest.mark.parametrize("client", [False, True], ids=["server", "client"])
def test_endless_empty_continuations_hold_nothing(backend, client):
    """Zero-length fragments never reach a size limit: the assembler must not
    keep one entry per fragment, or a peer grows its memory without sending data."""
    asm = backend.MessageAssembler(backend.FrameParser(client=client))
    empty = peer_frame(client, CONTINUATION, b"", fin=False)
    asm.feed(peer_frame(client, BINARY, b"x", fin=False))
    asm.feed(empty * 1000)  # warm up
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(20):
            assert asm.feed(empty * 1000) == []
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 16 * KiB, grown
    assert asm.feed(peer_frame(client, CONTINUATION, b"y")) == [(BINARY, b"xy", False)]
