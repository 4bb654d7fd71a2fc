"""Frame header parsing and frame building: cost per frame.

``parse_header`` groups time the header alone, for each encoding of the
length (7-bit, 16-bit, 64-bit: 2, 4 and 10 bytes), unmasked and masked (+4).
websockets has no header-only parser, so its entry runs ``Frame.parse`` over a
``StreamReader`` holding just the header: the generator parses the header
(and reads the mask), then suspends waiting for the payload. That is exactly
websockets' per-frame header work, plus creating the generator and putting
the bytes in its reader, which every frame pays in websockets too.

``build_frame`` groups time one complete frame with a 16 B or 16 KiB payload,
unmasked (server to client) and masked with a fresh random key (client to
server), against websockets' ``Frame.serialize`` and wsproto's ``send_data``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from _support import FASTFRAME, decode_frame, encode_frame, fastframe, label, peer, random_bytes

OP_BINARY = 0x2
#: Payload lengths that need a 2-, 4- and 10-byte header.
HEADER_LENGTHS = {2: 16, 4: 1024, 10: 65536}
HEADER_CASES = [(size, masked) for size in HEADER_LENGTHS for masked in (False, True)]


def header_bytes(size: int, masked: bool) -> bytes:
    """Return just the header of a binary frame whose header is ``size`` (+4) bytes."""
    length = HEADER_LENGTHS[size]
    key = b"\x01\x02\x03\x04" if masked else None
    frame = encode_frame(OP_BINARY, bytes(length), mask=key)
    return frame[: size + (4 if masked else 0)]


@pytest.mark.parametrize("impl", (*FASTFRAME, "websockets"))
@pytest.mark.parametrize(
    ("size", "masked"),
    HEADER_CASES,
    ids=[f"{s + 4 * m}B{'-masked' if m else ''}" for s, m in HEADER_CASES],
)
def test_parse_header(benchmark: Any, impl: str, size: int, masked: bool) -> None:
    """Parse one frame header that is already in memory."""
    data = header_bytes(size, masked)
    length = HEADER_LENGTHS[size]
    func: Callable[[bytes], Any]
    if impl.startswith("fastframe"):
        func = fastframe(impl).parse_header
        header = func(data)
        assert (header.opcode, header.length, header.size) == (OP_BINARY, length, len(data))
        assert header.mask == (data[-4:] if masked else None)
    else:
        frame_cls = peer("websockets.frames", "Frame")
        reader = peer("websockets.streams", "StreamReader")()

        def func(header: bytes) -> Any:
            reader.buffer += header
            parser = frame_cls.parse(reader.read_exact, mask=masked)
            next(parser)  # parses the header, then waits for the payload
            return parser

        func(data)
        assert not reader.buffer, "websockets did not consume the whole header"

    case = f"{len(data)}B" + (" masked" if masked else "")
    label(benchmark, f"parse_header {case}", impl, frames=1)
    benchmark(func, data)


BUILD_SIZES = {"16B": 16, "16KiB": 16 * 1024}
BUILD_CASES = [(name, masked) for name in BUILD_SIZES for masked in (False, True)]


def frame_builder(impl: str, masked: bool) -> Callable[[bytes], Any]:
    """Return ``f(payload) -> frame bytes`` for a final binary frame."""
    if impl.startswith("fastframe"):
        build_frame = fastframe(impl).build_frame
        mask = True if masked else None  # True: a fresh random key per frame
        return lambda payload: build_frame(OP_BINARY, payload, mask=mask)
    if impl == "websockets":
        frames = peer("websockets.frames")
        frame_cls, opcode = frames.Frame, frames.Opcode.BINARY
        return lambda payload: frame_cls(opcode, payload).serialize(mask=masked)
    if impl == "wsproto":
        # wsproto masks exactly when it is the client.
        protocol = peer("wsproto.frame_protocol", "FrameProtocol")(client=masked, extensions=[])
        return lambda payload: protocol.send_data(payload, fin=True)
    raise AssertionError(impl)


@pytest.mark.parametrize("impl", (*FASTFRAME, "websockets", "wsproto"))
@pytest.mark.parametrize(
    ("name", "masked"),
    BUILD_CASES,
    ids=[f"{n}{'-masked' if m else ''}" for n, m in BUILD_CASES],
)
def test_build_frame(benchmark: Any, impl: str, name: str, masked: bool) -> None:
    """Serialize one final binary frame around an in-memory payload."""
    payload = random_bytes(BUILD_SIZES[name])
    func = frame_builder(impl, masked)
    assert decode_frame(bytes(func(payload))) == (OP_BINARY, True, masked, payload)

    case = name + (" masked" if masked else "")
    label(benchmark, f"build_frame {case}", impl, nbytes=len(payload), frames=1)
    benchmark(func, payload)
