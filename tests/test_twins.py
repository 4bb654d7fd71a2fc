"""The twins agree on what callers can do wrong: argument and attribute errors.

A caller's mistake (a non-buffer fed to a parser, a bad value assigned to a
Header or Frame field, a frame built by hand with a bytearray payload) must
get the same answer from both backends, and must not break the object it
was given to.
"""

from __future__ import annotations

from typing import Any

import pytest

from fastframe import Message, Opcode, ProtocolError
from support.params import stable_id

BINARY = 2
TEXT = 1
PING = 9
MASK_KEY = b"\x37\xfa\x21\x3d"


# ---------------------------------------------------------------------------
# FrameParser.feed() with something that is not a buffer


@pytest.mark.parametrize("bad", [129, None, "text", [1, 2], 1.5, memoryview(b"a-b-c")[::2]], ids=stable_id)
def test_feed_type_error_leaves_parser_usable(backend, bad):
    """A TypeError from feed() is the caller's, not a lost stream position (no 1011 later)."""
    parser = backend.FrameParser(client=True)
    assert parser.feed(b"\x81\x02h") == []  # a frame in progress: the state to keep
    with pytest.raises(TypeError):
        parser.feed(bad)
    frames = parser.feed(b"i\x82\x00")
    assert [(f.opcode, f.payload) for f in frames] == [(Opcode.TEXT, b"hi"), (Opcode.BINARY, b"")]
    assert parser.buffered == 0


def test_feed_type_error_between_frames(backend):
    parser = backend.FrameParser(client=True)
    with pytest.raises(TypeError):
        parser.feed(129)
    with pytest.raises(TypeError):
        parser.feed(object())
    assert [f.payload for f in parser.feed(b"\x81\x02ok")] == [b"ok"]


def test_assembler_feed_type_error_leaves_it_usable(backend):
    asm = backend.MessageAssembler(backend.FrameParser(client=True))
    assert asm.feed(b"\x01\x01a") == []
    with pytest.raises(TypeError):
        asm.feed(129)
    assert asm.feed(b"\x80\x01b") == [Message(Opcode.TEXT, "ab")]


# ---------------------------------------------------------------------------
# MessageAssembler on frames from another parser: any bytes-like payload


class _Frame:
    """A frame from some other parser: only the attributes the assembler reads."""

    def __init__(self, opcode: int, payload: Any, fin: bool = True, rsv1: bool = False) -> None:
        self.opcode = Opcode(opcode)
        self.payload = payload
        self.fin = fin
        self.rsv1 = rsv1


class _Replay:
    def __init__(self, frames: list[Any]) -> None:
        self.frames = frames

    def feed(self, data: Any) -> list[Any]:
        frames, self.frames = self.frames, []
        return frames


@pytest.mark.parametrize("kind", [bytearray, memoryview, bytes], ids=lambda k: k.__name__)
def test_assembler_takes_any_bytes_like_payload(backend, kind):
    frames = [
        _Frame(BINARY, kind(b"\x00\xff")),
        _Frame(PING, kind(b"p")),
        _Frame(TEXT, kind("h\u00e9".encode()), fin=False),
        _Frame(PING, kind(b"")),
        _Frame(0, kind(b"llo")),
        _Frame(BINARY, kind(b"z"), fin=False, rsv1=True),
        _Frame(0, kind(b"!")),
        _Frame(TEXT, kind(b"ok")),
    ]
    got = backend.MessageAssembler(_Replay(frames)).feed(b"")
    assert got == [
        (Opcode.BINARY, b"\x00\xff", False),
        (Opcode.PING, b"p", False),
        (Opcode.PING, b"", False),
        (Opcode.TEXT, "h\u00e9llo", False),
        (Opcode.BINARY, b"z!", True),
        (Opcode.TEXT, "ok", False),
    ]
    for message in got:
        # bytes, never the caller's (mutable) object.
        assert type(message.data) in (bytes, str)


def test_assembler_payload_is_copied_from_a_bytearray(backend):
    data = bytearray(b"abc")
    (message,) = backend.MessageAssembler(_Replay([_Frame(BINARY, data)])).feed(b"")
    data[0] = 0x7A
    assert message.data == b"abc"


def test_assembler_undecoded_text_from_bytearray(backend):
    frames = [_Frame(TEXT, bytearray(b"a\xc3"), fin=False), _Frame(0, bytearray(b"\xa9"))]
    got = backend.MessageAssembler(_Replay(frames), decode_text=False).feed(b"")
    assert got == [(Opcode.TEXT, "a\u00e9".encode(), False)]
    assert type(got[0].data) is bytes


@pytest.mark.parametrize("payload", [None, 5, "text", [1, 2]], ids=stable_id)
def test_assembler_rejects_a_payload_that_is_no_buffer(backend, payload):
    with pytest.raises(TypeError):
        backend.MessageAssembler(_Replay([_Frame(BINARY, payload)])).feed(b"")


def test_assembler_invalid_utf8_in_bytearray(backend):
    asm = backend.MessageAssembler(_Replay([_Frame(TEXT, bytearray(b"\xff"))]))
    with pytest.raises(ProtocolError) as info:
        asm.feed(b"")
    assert info.value.code == 1007


# ---------------------------------------------------------------------------
# Header fields: validated on assignment, the same way on both backends


def _header(backend: Any) -> Any:
    header = backend.parse_header(b"\x81\x85" + MASK_KEY)
    assert header is not None
    return header


@pytest.mark.parametrize(
    ("name", "value", "stored"),
    [
        ("opcode", 0, 0),
        ("opcode", 15, 15),
        ("opcode", Opcode.PING, 9),
        ("length", 0, 0),
        ("length", 2**63 - 1, 2**63 - 1),
        ("length", True, 1),
        ("size", 14, 14),
        ("size", 0, 0),
        ("mask", None, None),
        ("mask", b"abcd", b"abcd"),
        ("mask", bytearray(b"abcd"), b"abcd"),
        ("mask", memoryview(b"wxyz"), b"wxyz"),
        ("fin", 0, False),
        ("rsv1", "yes", True),
        ("rsv2", [], False),
        ("rsv3", 2, True),
        ("masked", None, False),
    ],
    ids=lambda v: stable_id(v)[:20],
)
def test_header_field_accepted(backend, name, value, stored):
    header = _header(backend)
    setattr(header, name, value)
    got = getattr(header, name)
    assert got == stored
    assert type(got) is type(stored) if name not in ("opcode", "length", "size") else type(got) is int


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("opcode", -1, ValueError),
        ("opcode", 16, ValueError),
        ("opcode", 2**70, ValueError),
        ("opcode", 1.0, TypeError),
        ("opcode", "1", TypeError),
        ("opcode", None, TypeError),
        ("length", -1, ValueError),
        ("length", 2**63, ValueError),
        ("length", 2**64, ValueError),
        ("length", -(2**70), ValueError),
        ("length", 3.0, TypeError),
        ("length", None, TypeError),
        ("size", -1, ValueError),
        ("size", 15, ValueError),
        ("size", "2", TypeError),
        ("mask", b"abc", ValueError),
        ("mask", b"abcde", ValueError),
        ("mask", "abcd", TypeError),
        ("mask", 1234, TypeError),
        ("mask", True, TypeError),
    ],
    ids=lambda v: stable_id(v)[:20],
)
def test_header_field_rejected(backend, name, value, error):
    header = _header(backend)
    before = getattr(header, name)
    with pytest.raises(error):
        setattr(header, name, value)
    assert getattr(header, name) == before


def test_header_mask_is_copied(backend):
    header = _header(backend)
    key = bytearray(b"abcd")
    header.mask = key
    key[0] = 0x7A
    assert header.mask == b"abcd"


def test_header_no_other_attributes(backend):
    with pytest.raises(AttributeError):
        _header(backend).payload = b""  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------
# Frame fields: validated on assignment as the constructor validates


@pytest.mark.parametrize(
    ("name", "value", "stored"),
    [
        ("opcode", 2, Opcode.BINARY),
        ("opcode", Opcode.CLOSE, Opcode.CLOSE),
        ("payload", b"abc", b"abc"),
        ("payload", bytearray(b"abc"), b"abc"),
        ("payload", memoryview(b"xyz"), b"xyz"),
        ("fin", 0, False),
        ("rsv1", "yes", True),
        ("rsv2", None, False),
        ("rsv3", [0], True),
    ],
    ids=lambda v: stable_id(v)[:20],
)
def test_frame_field_accepted(backend, name, value, stored):
    frame = backend.Frame(1, b"x")
    setattr(frame, name, value)
    got = getattr(frame, name)
    assert got == stored
    assert type(got) is type(stored)


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("opcode", 3, ValueError),
        ("opcode", 16, ValueError),
        ("opcode", -1, ValueError),
        ("payload", None, TypeError),
        ("payload", "text", TypeError),
        ("payload", 5, TypeError),
        ("payload", [1, 2], TypeError),
        ("payload", memoryview(b"a-b-c")[::2], TypeError),
    ],
    ids=lambda v: stable_id(v)[:20],
)
def test_frame_field_rejected(backend, name, value, error):
    frame = backend.Frame(1, b"x")
    before = getattr(frame, name)
    with pytest.raises(error):
        setattr(frame, name, value)
    assert getattr(frame, name) == before


def test_frame_payload_is_copied(backend):
    frame = backend.Frame(1, b"x")
    data = bytearray(b"abc")
    frame.payload = data
    data[0] = 0x7A
    assert frame.payload == b"abc"


def test_assembled_hand_made_frames_after_assignment(backend):
    """Frames built by hand and edited go through either backend's assembler."""
    frame = backend.Frame(BINARY, b"")
    frame.payload = bytearray(b"edited")
    frame.opcode = TEXT
    assert backend.MessageAssembler(_Replay([frame])).feed(b"") == [(Opcode.TEXT, "edited", False)]
