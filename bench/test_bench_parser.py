"""Sans-I/O frame parsing: bytes from the socket in, complete frames out.

Workloads (see DESIGN.md):

* ``FrameParser 1000x16B masked``: a server receives one buffer holding 1000
  masked 16-byte binary frames (chat, telemetry, games). Reported per frame.
* ``FrameParser 64KiB masked``: one masked 64 KiB binary frame, against
  ``copy`` (``bytearray`` of the 64 KiB payload, the memory-bandwidth floor).
* ``FrameParser 16MiB masked in 1KiB chunks``: one masked 16 MiB frame fed
  1 KiB at a time (file upload). fastframe only, against ``copy``:
  ``b"".join`` of the same chunks, the memory-bandwidth floor of reassembling
  them (one C loop; a parser also pays one Python call per chunk).
* ``FrameParser construction``: a fresh parser, as every connection builds
  one (aiohttp: its reader and data queue).
* ``FrameParser 1000 tokens``: a client receives 1000 unmasked text frames of
  1-30 bytes in mixed scripts (AI token streaming). Every implementation
  validates the UTF-8 of each message; ``fastframe-*-messages`` (FrameParser
  and MessageAssembler) also decodes each to ``str``, as aiohttp and
  websockets do.

Each round parses with a fresh parser (built outside the timed region):
parsers are stateful, and aiohttp's queue counts every message ever received.

The peers, driven the way their own tests drive them:

* ``aiohttp``: the compiled ``WebSocketReader`` (``reader_c``) feeding a
  ``WebSocketDataQueue``; the messages pile up in the queue unread.
* ``websockets``: ``Frame.parse`` over a ``StreamReader``, in a loop until the
  buffer is empty, decoding text payloads as its connection layer does. This
  is a lower bound for websockets: its ``Protocol`` does more per frame.
* ``wsproto``: ``FrameProtocol.receive_bytes`` then ``received_frames()``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from _support import FASTFRAME, MASK, encode_frame, fastframe, label, peer, random_bytes, run_fresh, tokens

OP_TEXT, OP_BINARY = 0x1, 0x2
#: Size limits high enough for every workload here (aiohttp stores them in a C unsigned int).
LIMIT = 64 * 1024 * 1024
N_FRAMES = 1000
PEERS = ("aiohttp", "websockets", "wsproto")


class _Protocol:
    """The two members of aiohttp's protocol that its data queue touches."""

    _reading_paused = False

    def pause_reading(self) -> None:
        """Never reached: the queue's limit is far above what we feed it."""


def driver(impl: str, data: bytes, *, client: bool, text: bool) -> tuple[Callable[[], Any], Callable[[Any], Any]]:
    """Return ``(setup, parse)`` for ``impl``: ``parse(setup())`` parses ``data``.

    ``parse`` returns whatever the implementation returns; ``payloads`` turns
    that into the list of payloads for the correctness check.
    """
    if impl.endswith("-messages"):
        # Whole messages, text decoded to str: what aiohttp's reader and a
        # websockets connection deliver to the application.
        api = fastframe(impl)

        def new_assembler() -> Any:
            parser = api.FrameParser(client=client, max_frame_size=LIMIT, max_message_size=LIMIT)
            return api.MessageAssembler(parser)

        return new_assembler, lambda assembler: assembler.feed(data)
    if impl.startswith("fastframe"):
        frame_parser = fastframe(impl).FrameParser
        return (
            lambda: frame_parser(client=client, max_frame_size=LIMIT, max_message_size=LIMIT),
            lambda parser: parser.feed(data),
        )
    if impl == "aiohttp":
        reader_c = peer("aiohttp._websocket.reader_c")

        def aiohttp_setup() -> Any:
            queue = reader_c.WebSocketDataQueue(_Protocol(), 2**30, loop=None)
            return reader_c.WebSocketReader(queue, LIMIT, compress=False, decode_text=True), queue

        return aiohttp_setup, lambda state: state[0].feed_data(data)
    if impl == "websockets":
        parse = peer("websockets.frames", "Frame").parse
        stream_reader = peer("websockets.streams", "StreamReader")
        mask = not client  # websockets' flag: "the frames must be masked"

        def websockets_parse(reader: Any) -> list[Any]:
            reader.feed_data(data)
            frames = []
            while reader.buffer:
                parser = parse(reader.read_exact, mask=mask, max_size=LIMIT)
                try:
                    next(parser)
                except StopIteration as done:
                    frame = done.value
                else:
                    raise AssertionError("websockets wants more data than a complete frame")
                frames.append(frame.data.decode() if text else frame)
            return frames

        return stream_reader, websockets_parse
    if impl == "wsproto":
        frame_protocol = peer("wsproto.frame_protocol", "FrameProtocol")

        def wsproto_parse(protocol: Any) -> list[Any]:
            protocol.receive_bytes(data)
            return list(protocol.received_frames())

        return lambda: frame_protocol(client=client, extensions=[]), wsproto_parse
    raise AssertionError(impl)


def payloads(impl: str, state: Any, result: Any) -> list[bytes]:
    """Extract the received payloads, as bytes, for the correctness check."""
    if impl == "aiohttp":
        assert result == (False, b""), f"aiohttp failed: {state[1].exception()!r}"
        items = [message.data for message, _size in state[1]._buffer]
    elif impl == "websockets":
        items = [item if isinstance(item, str) else item.data for item in result]
    elif impl.endswith("-messages"):
        items = [message.data for message in result]
    else:  # fastframe and wsproto frames both have .payload
        items = [frame.payload for frame in result]
    return [item.encode() if isinstance(item, str) else bytes(item) for item in items]


def check_and_run(
    benchmark: Any,
    request: pytest.FixtureRequest,
    impl: str,
    data: bytes,
    expected: list[bytes],
    *,
    client: bool,
    text: bool,
) -> None:
    """Check that ``impl`` parses ``data`` into ``expected``, then benchmark it."""
    setup, parse = driver(impl, data, client=client, text=text)
    state = setup()
    assert payloads(impl, state, parse(state)) == expected, f"{impl} parsed the frames wrongly"
    run_fresh(benchmark, request.config, parse, setup)


@pytest.mark.parametrize("impl", (*FASTFRAME, *PEERS))
def test_small_masked_frames(benchmark: Any, request: pytest.FixtureRequest, impl: str) -> None:
    """A server parses 1000 masked 16-byte binary frames from one buffer."""
    rng = random.Random(1)
    expected = [rng.randbytes(16) for _ in range(N_FRAMES)]
    data = b"".join(encode_frame(OP_BINARY, p, mask=rng.randbytes(4)) for p in expected)
    label(benchmark, f"FrameParser {N_FRAMES}x16B masked", impl, nbytes=16 * N_FRAMES, frames=N_FRAMES)
    check_and_run(benchmark, request, impl, data, expected, client=False, text=False)


@pytest.mark.parametrize("impl", (*FASTFRAME, *PEERS, "copy"))
def test_64k_masked_frame(benchmark: Any, request: pytest.FixtureRequest, impl: str) -> None:
    """A server parses one masked 64 KiB binary frame."""
    payload = random_bytes(64 * 1024)
    label(benchmark, "FrameParser 64KiB masked", impl, nbytes=len(payload), frames=1)
    if impl == "copy":
        # Timed like the parsers (pedantic, one call per round) so the ratio
        # does not depend on how each mode amortizes the timer.
        assert bytearray(payload) == payload
        run_fresh(benchmark, request.config, lambda _: bytearray(payload), lambda: None)
        return
    data = encode_frame(OP_BINARY, payload, mask=MASK)
    check_and_run(benchmark, request, impl, data, [payload], client=False, text=False)


@pytest.mark.parametrize("impl", (*FASTFRAME, "copy"))
def test_16m_frame_in_chunks(benchmark: Any, request: pytest.FixtureRequest, impl: str) -> None:
    """A server parses one masked 16 MiB frame arriving in 1 KiB reads."""
    payload = random_bytes(16 * 1024 * 1024)
    data = encode_frame(OP_BINARY, payload, mask=MASK)
    chunks = [data[i : i + 1024] for i in range(0, len(data), 1024)]
    label(benchmark, "FrameParser 16MiB masked in 1KiB chunks", impl, nbytes=len(payload), frames=1)

    setup: Callable[[], Any]
    parse: Callable[[Any], Any]
    if impl == "copy":

        def join(_: None) -> bytes:
            return b"".join(chunks)

        setup, parse = (lambda: None), join
        assert parse(setup()) == data
    else:
        frame_parser = fastframe(impl).FrameParser

        def feed_all(parser: Any) -> list[Any]:
            frames: list[Any] = []
            for chunk in chunks:
                frames += parser.feed(chunk)
            return frames

        def new_parser() -> Any:
            return frame_parser(client=False, max_frame_size=LIMIT, max_message_size=LIMIT)

        setup, parse = new_parser, feed_all
        received = parse(setup())
        assert b"".join(frame.payload for frame in received) == payload, f"{impl} reassembled the frame wrongly"
    # Each round moves 16 MiB (and allocates it): a few rounds are enough.
    run_fresh(benchmark, request.config, parse, setup, max_time=1.0)


@pytest.mark.parametrize("impl", (*FASTFRAME, *(f"{impl}-messages" for impl in FASTFRAME), *PEERS))
def test_token_stream(benchmark: Any, request: pytest.FixtureRequest, impl: str) -> None:
    """A client parses 1000 unmasked 1-30 byte text frames (an AI response)."""
    expected = tokens(30 * N_FRAMES)[:N_FRAMES]
    data = b"".join(encode_frame(OP_TEXT, token, mask=None) for token in expected)
    label(benchmark, f"FrameParser {N_FRAMES} tokens", impl, nbytes=sum(map(len, expected)), frames=N_FRAMES)
    check_and_run(benchmark, request, impl, data, expected, client=True, text=True)


@pytest.mark.parametrize("impl", (*FASTFRAME, *PEERS))
def test_construction(benchmark: Any, impl: str) -> None:
    """A connection's parser, built: what every new connection pays before its first byte."""
    setup, parse = driver(impl, b"", client=False, text=False)
    # A parser that does not work must not be timed.
    state = setup()
    assert payloads(impl, state, parse(state)) == []
    label(benchmark, "FrameParser construction", impl, frames=1)
    benchmark(setup)
