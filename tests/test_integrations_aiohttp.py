"""fastframe.integrations.aiohttp: aiohttp's WebSocket reader and writer, patched.

The differential tests feed the same byte streams, cut the same way, to
aiohttp's own reader and to the patched one, each with its own queue, and
compare everything a caller can see: what ``feed_data`` returns, the
messages queued (their types too), when the reader stalls on a full queue,
and the error (class, close code, message).
"""

from __future__ import annotations

import asyncio
import os
import sys
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from support.encoder import encode_frame
from support.integration import PatchCheck, run_fresh
from support.rfc import BINARY, CLOSE, CONTINUATION, PING, TEXT
from support.strategies import byte_mutations, encode_specs, keys, mutated_specs, texts, valid_specs

aiohttp = pytest.importorskip("aiohttp")

from aiohttp import WSMsgType, web  # noqa: E402
from aiohttp._websocket import reader as aiohttp_reader, writer as aiohttp_writer  # noqa: E402

from fastframe.integrations import _patching, aiohttp as integration  # noqa: E402

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: aiohttp's own reader, as it was before any patch.
ORIGINAL_READER = aiohttp_reader.WebSocketReader
ORIGINAL_MASK = aiohttp_writer.websocket_mask
#: Every module that binds the name, with what it binds before patching.
HOMES = {
    name: sys.modules[name].WebSocketReader
    for name in (*integration._READER_HOMES, "aiohttp")
    if hasattr(sys.modules.get(name), "WebSocketReader")
}


#: What the patch replaces: the reader wherever it is bound, and the writer's mask.
ORIGINALS: dict[tuple[Any, str], Any] = {
    **{(sys.modules[name], "WebSocketReader"): reader for name, reader in HOMES.items()},
    (aiohttp_writer, "websocket_mask"): ORIGINAL_MASK,
}
PATCH = PatchCheck(integration, ORIGINALS, "aiohttp")
_unpatched = PATCH.unpatched_fixture()


@pytest.fixture
def patched(backend: Any) -> Iterator[type]:
    """The patched reader class, built on ``backend``; unpatched afterwards."""
    with PATCH.patched(backend):
        yield aiohttp.http_websocket.WebSocketReader


class _Protocol:
    """What aiohttp's queue touches of its protocol: reading paused and resumed."""

    def __init__(self) -> None:
        self._reading_paused = False
        self.calls: list[str] = []

    def pause_reading(self) -> None:
        self._reading_paused = True
        self.calls.append("pause")

    def resume_reading(self) -> None:
        self._reading_paused = False
        self.calls.append("resume")


def _error(exc: BaseException | None) -> Any:
    if exc is None:
        return None
    return (type(exc).__name__, getattr(exc, "code", None), str(exc))


def run_reader(
    reader_cls: type,
    chunks: list[bytes],
    *,
    max_msg_size: int,
    compress: bool,
    decode_text: bool,
    limit: int,
    drain: bool,
) -> list[Any]:
    """Feed ``chunks`` to a reader; everything observable, in order."""
    loop = asyncio.new_event_loop()
    try:
        protocol = _Protocol()
        queue = aiohttp_reader.WebSocketDataQueue(protocol, limit, loop=loop)
        reader = reader_cls(queue, max_msg_size, compress, decode_text)
        trace: list[Any] = []

        async def take() -> None:
            while queue._buffer:
                msg = await queue.read()
                trace.append(("msg", msg.type, type(msg.data).__name__, msg.data, msg.extra))

        for chunk in chunks:
            result = reader.feed_data(chunk)
            trace.append(("fed", result, queue._stalled_reader is not None, protocol._reading_paused))
            if drain:
                loop.run_until_complete(take())
        loop.run_until_complete(take())
        trace.append(("end", _error(queue.exception()), queue._stalled_reader is not None, protocol.calls))
        return trace
    finally:
        loop.close()


def cut(data: bytes, points: list[int]) -> list[bytes]:
    bounds = [0, *sorted(p % (len(data) + 1) for p in points), len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


options = st.fixed_dictionaries(
    {
        "max_msg_size": st.sampled_from((0, 5, 60, 4 * 1024 * 1024)),
        "compress": st.booleans(),
        "decode_text": st.booleans(),
        "limit": st.sampled_from((1, 300, 2**16)),
        "drain": st.booleans(),
    }
)


def check_same(patched_cls: type, data: bytes, points: list[int], opts: dict[str, Any]) -> None:
    chunks = cut(data, points)
    expected = run_reader(ORIGINAL_READER, chunks, **opts)
    got = run_reader(patched_cls, chunks, **opts)
    assert got == expected


@st.composite
def deflate_stream(draw: Any, masked: bool) -> bytes:
    """Messages compressed as permessage-deflate does (RFC 7692 §7.2.1), fragmented, pings between."""
    compressor = zlib.compressobj(wbits=-15)
    out = []
    for _ in range(draw(st.integers(1, 4))):
        opcode = draw(st.sampled_from((TEXT, BINARY)))
        payload = draw(texts).encode() if opcode == TEXT else draw(st.binary(max_size=300))
        compressed = draw(st.booleans())
        if compressed:
            body = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
            body = body[:-4] if body.endswith(b"\x00\x00\xff\xff") else body
        else:
            body = payload
        pieces = draw(st.lists(st.integers(0, len(body)), max_size=3))
        bounds = [0, *sorted(pieces), len(body)]
        for n, (a, b) in enumerate(zip(bounds, bounds[1:])):
            key = draw(keys) if masked else None
            last = n == len(bounds) - 2
            out.append(
                encode_frame(
                    opcode if n == 0 else CONTINUATION, body[a:b], fin=last, rsv1=compressed and n == 0, key=key
                )
            )
            if not last and draw(st.booleans()):
                out.append(encode_frame(PING, b"p", key=draw(keys) if masked else None))
    return b"".join(out)


points = st.lists(st.integers(0, 10_000), max_size=6)


@PROPERTY
@given(data=st.data(), client=st.booleans(), cuts=points, opts=options)
def test_valid_streams_same_as_aiohttp(patched: type, data: Any, client: bool, cuts: list[int], opts: Any) -> None:
    check_same(patched, encode_specs(data.draw(valid_specs(client))), cuts, opts)


@PROPERTY
@given(data=st.data(), client=st.booleans(), cuts=points, opts=options)
def test_mutated_streams_same_as_aiohttp(patched: type, data: Any, client: bool, cuts: list[int], opts: Any) -> None:
    check_same(patched, encode_specs(data.draw(mutated_specs(client))), cuts, opts)


@PROPERTY
@given(data=st.data(), client=st.booleans(), cuts=points, opts=options)
def test_byte_mutations_same_as_aiohttp(patched: type, data: Any, client: bool, cuts: list[int], opts: Any) -> None:
    stream = encode_specs(data.draw(valid_specs(client)))
    check_same(patched, data.draw(byte_mutations(stream)), cuts, opts)


@PROPERTY
@given(data=st.data(), masked=st.booleans(), cuts=points, opts=options, mutate=st.booleans())
def test_deflate_streams_same_as_aiohttp(
    patched: type, data: Any, masked: bool, cuts: list[int], opts: Any, mutate: bool
) -> None:
    stream = data.draw(deflate_stream(masked))
    if mutate:
        stream = data.draw(byte_mutations(stream))
    check_same(patched, stream, cuts, {**opts, "compress": True})


def test_stall_and_resume_same_as_aiohttp(patched: type) -> None:
    # Thousands of empty masked frames overflow a small queue many times over.
    stream = encode_frame(TEXT, b"", key=b"abcd") * 3000 + encode_frame(BINARY, b"x" * 70_000, key=b"abcd")
    for size in (len(stream), 1000, 7):
        chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
        opts = {"max_msg_size": 0, "compress": False, "decode_text": True, "limit": 2**16}
        expected = run_reader(ORIGINAL_READER, chunks, drain=False, **opts)
        assert any(entry[0] == "fed" and entry[2] for entry in expected), "the stream must stall aiohttp's reader"
        assert run_reader(patched, chunks, drain=False, **opts) == expected
        assert run_reader(patched, chunks, drain=True, **opts) == run_reader(
            ORIGINAL_READER, chunks, drain=True, **opts
        )


@pytest.mark.parametrize("masked", [False, True])
def test_masking_changes_mid_stream_same_as_aiohttp(patched: type, masked: bool) -> None:
    # aiohttp reads masked and unmasked frames in either role; fastframe's parser does not.
    first, second = (b"abcd", None) if masked else (None, b"abcd")
    stream = b"".join(
        [
            encode_frame(TEXT, b"one", key=first),
            encode_frame(TEXT, b"tw", fin=False, key=first),
            encode_frame(CONTINUATION, b"o", key=second),
            encode_frame(BINARY, b"three", key=second),
        ]
    )
    for size in (1, 3, len(stream)):
        chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
        opts = {"max_msg_size": 0, "compress": False, "decode_text": True, "limit": 2**16, "drain": False}
        expected = run_reader(ORIGINAL_READER, chunks, **opts)
        assert [entry[3] for entry in expected if entry[0] == "msg"] == ["one", "two", b"three"]
        assert run_reader(patched, chunks, **opts) == expected


def test_handle_frame_override_sees_every_frame(patched: type) -> None:
    # aiohttp's tests subclass the reader and replace _handle_frame around _feed_data.
    seen: list[Any] = []

    class Recording(patched):  # type: ignore[misc,valid-type]
        def _handle_frame(self, fin: bool, opcode: int, payload: Any, compressed: int) -> None:
            seen.append((fin, opcode, bytes(payload), compressed))

    loop = asyncio.new_event_loop()
    queue = aiohttp_reader.WebSocketDataQueue(_Protocol(), 2**16, loop=loop)
    reader = Recording(queue, 0, True, True)
    reader._feed_data(encode_frame(TEXT, b"hi", key=b"abcd") + encode_frame(BINARY, b"\x00", rsv1=True, key=b"dcba"))
    loop.close()
    assert seen == [(True, TEXT, b"hi", 0), (True, BINARY, b"\x00", 1)]
    assert not queue._buffer


def _deflated(payload: bytes) -> bytes:
    """``payload`` as one permessage-deflate message body (RFC 7692 §7.2.1)."""
    compressor = zlib.compressobj(wbits=-15)
    return (compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH))[:-4]


def _plain_frames(key: bytes | None) -> bytes:
    return encode_frame(TEXT, b"plain", key=key) + encode_frame(BINARY, b"\x00\x01", key=key)


def _state_streams(key: bytes | None) -> dict[str, bytes]:
    """Streams whose control frames come after data frames read in different ways.

    aiohttp's parser reports with each frame the fin bit and compression of
    the last data frame header it read (RFC 6455 §5.4, RFC 7692 §6): a
    control frame after data frames fastframe reads must see what aiohttp's
    own reading would have left.
    """
    body = _deflated(b"compressed message")
    compressed = encode_frame(TEXT, body[:3], fin=False, rsv1=True, key=key) + encode_frame(
        CONTINUATION, body[3:], key=key
    )
    fragmented = encode_frame(BINARY, b"frag", fin=False, key=key) + encode_frame(CONTINUATION, b"ment", key=key)
    ping = encode_frame(PING, b"p", key=key)
    return {
        "plain first": _plain_frames(key) + ping,
        "empty ping, empty text": encode_frame(PING, key=key) + encode_frame(TEXT, key=key) + ping,
        "after compressed": compressed + _plain_frames(key) + ping,
        "after fragmented": fragmented + ping + _plain_frames(key) + ping,
        "plain, compressed, plain": _plain_frames(key) + ping + compressed + ping + _plain_frames(key) + ping,
    }


def _chunkings(stream: bytes) -> list[list[bytes]]:
    return [[stream], [stream[i : i + 1] for i in range(len(stream))], cut(stream, [3, len(stream) - 2])]


@pytest.mark.parametrize("key", [None, b"abcd"], ids=["client", "server"])
@pytest.mark.parametrize("decode_text", [False, True])
def test_close_frame_error_reports_aiohttp_state(patched: type, key: bytes | None, decode_text: bool) -> None:
    # An empty ping, an empty text frame, then a close frame with a 1-byte
    # payload (§5.5.1): aiohttp's error names the fin bit of the text frame.
    stream = encode_frame(PING, key=key) + encode_frame(TEXT, key=key) + encode_frame(CLOSE, b"\x00", key=key)
    opts = {"max_msg_size": 0, "compress": False, "decode_text": decode_text, "limit": 1, "drain": False}
    for chunks in _chunkings(stream):
        expected = run_reader(ORIGINAL_READER, chunks, **opts)
        assert expected[-1][1][2].startswith("Invalid close frame: True 8 ")
        assert run_reader(patched, chunks, **opts) == expected


@pytest.mark.parametrize("key", [None, b"abcd"], ids=["client", "server"])
@pytest.mark.parametrize("before", ["compressed", "fragmented", "plain"])
def test_close_frame_after_messages_same_as_aiohttp(patched: type, key: bytes | None, before: str) -> None:
    # A message aiohttp reads itself, plain frames fastframe reads, then a close frame aiohttp refuses.
    body = _deflated(b"compressed message")
    first = {
        "compressed": encode_frame(TEXT, body[:3], fin=False, rsv1=True, key=key)
        + encode_frame(CONTINUATION, body[3:], key=key),
        "fragmented": encode_frame(TEXT, b"frag", fin=False, key=key) + encode_frame(CONTINUATION, b"ment", key=key),
        "plain": encode_frame(BINARY, b"one", key=key),
    }[before]
    stream = first + _plain_frames(key) + encode_frame(CLOSE, b"\x03", key=key)
    for decode_text in (False, True):
        opts = {"max_msg_size": 0, "compress": True, "decode_text": decode_text, "limit": 2**16, "drain": True}
        for chunks in _chunkings(stream):
            expected = run_reader(ORIGINAL_READER, chunks, **opts)
            assert expected[-1][1][2].startswith("Invalid close frame: True 8")
            assert run_reader(patched, chunks, **opts) == expected


def _recorded_frames(reader_cls: type, chunks: list[bytes], max_msg_size: int = 0) -> list[Any]:
    """Every ``_handle_frame`` call of a reader whose subclass overrides it, as aiohttp's tests do."""
    seen: list[Any] = []

    class Recording(reader_cls):  # type: ignore[misc,valid-type]
        def _handle_frame(self, fin: bool, opcode: int, payload: Any, compressed: int) -> None:
            seen.append((fin, opcode, type(payload).__name__, bytes(payload), compressed))

    loop = asyncio.new_event_loop()
    try:
        queue = aiohttp_reader.WebSocketDataQueue(_Protocol(), 2**16, loop=loop)
        reader = Recording(queue, max_msg_size, True, True)
        for chunk in chunks:
            assert reader.feed_data(chunk) == (False, b"")
        assert queue.exception() is None
        assert not queue._buffer
    finally:
        loop.close()
    return seen


@pytest.mark.parametrize("key", [None, b"abcd"], ids=["client", "server"])
@pytest.mark.parametrize("name", list(_state_streams(None)))
def test_handle_frame_override_sees_aiohttp_state(patched: type, key: bytes | None, name: str) -> None:
    # Each call's (fin, opcode, payload, compressed), control frames' too.
    stream = _state_streams(key)[name]
    for chunks in _chunkings(stream):
        expected = _recorded_frames(ORIGINAL_READER, chunks)
        assert [call[1] for call in expected].count(PING) >= 1
        assert _recorded_frames(patched, chunks) == expected


def _split_streams(key: bytes | None) -> dict[str, bytes]:
    """Streams whose second frame's payload spans many reads (the first brings aiohttp's parser in step)."""
    first = encode_frame(BINARY, b"first", key=key)
    ping, close = encode_frame(PING, b"p", key=key), encode_frame(CLOSE, b"\x03\xe8", key=key)
    big = bytes(range(256)) * 4096 + b"end"
    text = "aé€😀" * 20000
    return {
        "binary": first + encode_frame(BINARY, big, key=key) + ping + encode_frame(TEXT, b"next", key=key) + close,
        "text": first + encode_frame(TEXT, text.encode(), key=key) + ping + first,
        "invalid": first + encode_frame(TEXT, text.encode()[:-1] + b"\xc3" + b"x" * 70000, key=key) + first,
        "fresh": encode_frame(BINARY, big, key=key) + encode_frame(BINARY, big[:70000], key=key) + close,
    }


@pytest.mark.parametrize("key", [None, b"abcd"], ids=["client", "server"])
@pytest.mark.parametrize("name", list(_split_streams(None)))
@pytest.mark.parametrize("read", [65536, 4093])
def test_frames_spanning_reads_same_as_aiohttp(patched: type, key: bytes | None, name: str, read: int) -> None:
    # A large frame read a piece at a time: the same messages, sizes, stalls and errors.
    stream = _split_streams(key)[name]
    chunks = [stream[i : i + read] for i in range(0, len(stream), read)]
    for opts in (
        dict(max_msg_size=0, compress=False, decode_text=True, limit=2**16, drain=True),
        dict(max_msg_size=4 * 1024 * 1024, compress=True, decode_text=False, limit=1, drain=False),
        dict(max_msg_size=0, compress=False, decode_text=True, limit=300, drain=False),
    ):
        expected = run_reader(ORIGINAL_READER, chunks, **opts)
        if name == "invalid" and opts["decode_text"]:
            assert expected[-1][1] == ("WebSocketError", 1007, "Invalid UTF-8 text message")
        assert run_reader(patched, chunks, **opts) == expected


@pytest.mark.parametrize("key", [None, b"abcd"], ids=["client", "server"])
@pytest.mark.parametrize(("max_msg_size", "read"), [(0, 1), (2**18, 1), (2**18, 5), (0, 700)])
def test_handle_frame_override_sees_frames_spanning_reads(
    patched: type, key: bytes | None, max_msg_size: int, read: int
) -> None:
    # aiohttp passes a bytearray once it folds more than 1024 pieces: the types must match too.
    first = encode_frame(BINARY, b"first", key=key)
    frame = encode_frame(BINARY, bytes(range(251)) * 8, key=key)
    stream = first + frame + encode_frame(PING, b"p", key=key)
    chunks = [first + frame[:20]] + [frame[i : i + read] for i in range(20, len(frame), read)]
    chunks.append(encode_frame(PING, b"p", key=key))
    assert b"".join(chunks) == stream
    expected = _recorded_frames(ORIGINAL_READER, chunks, max_msg_size)
    assert len(expected) == 3
    assert _recorded_frames(patched, chunks, max_msg_size) == expected


def test_patch_unpatch_restores_the_original_objects(backend: Any) -> None:
    with PATCH.round_trip(backend):
        reader = aiohttp_reader.WebSocketReader
        assert issubclass(reader, ORIGINAL_READER)
        for name in HOMES:
            assert sys.modules[name].WebSocketReader is reader, name


def test_patched_writer_masks_as_aiohttp(patched: type) -> None:
    for size in (0, 1, 3, 4, 5, 16, 125, 4097, 70_000):
        data = bytearray(os.urandom(size))
        expected = bytearray(data)
        ORIGINAL_MASK(b"\x01\x82\x43\xf4", expected)
        aiohttp_writer.websocket_mask(b"\x01\x82\x43\xf4", data)
        assert data == expected, size


@pytest.mark.parametrize("version", ["3.13.5", "3.15.0", "4.0.0"])
def test_version_outside_the_range_is_refused(backend: Any, monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    PATCH.check_refused(backend, monkeypatch, version, ">=3.14.5,<3.15")


_IMPORT_ORDER = """
import sys
import fastframe
imports = "import aiohttp, aiohttp.web, aiohttp.client"
if sys.argv[1] == "before":
    exec(imports)
assert fastframe.patch("aiohttp") == ("aiohttp",)
assert fastframe.BACKEND == sys.argv[2], fastframe.BACKEND
if sys.argv[1] == "after":
    exec(imports)
import aiohttp.web_ws, aiohttp.client, aiohttp._websocket.reader as r
from fastframe.integrations import aiohttp as integration
assert integration.is_patched()
assert aiohttp.web_ws.WebSocketReader is r.WebSocketReader
assert aiohttp.client.WebSocketReader is r.WebSocketReader
assert r.WebSocketReader.__module__ == "fastframe.integrations.aiohttp", r.WebSocketReader
print("ok")
"""


@pytest.mark.parametrize("imported", ["before", "after"])
def test_import_order(backend: Any, imported: str) -> None:
    assert run_fresh(_IMPORT_ORDER, backend, imported).strip() == "ok"


# A small echo over loopback, aiohttp's own client and server.

MESSAGES: list[Any] = [
    "",
    "hello",
    "héllo wörld ✓ 你好 🎉" * 30,
    b"",
    bytes(range(256)) * 300,
    "x" * 125,
    b"y" * 126,
    b"z" * 65535,
    b"w" * 65536,
]


async def _echo(compress: int) -> list[Any]:
    received: list[Any] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=bool(compress))
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        received.append(("server saw close", ws.close_code))
        return ws

    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(f"http://127.0.0.1:{port}/", compress=compress) as ws:
                for message in MESSAGES:
                    if isinstance(message, str):
                        await ws.send_str(message)
                    else:
                        await ws.send_bytes(message)
                    reply = await ws.receive(timeout=30)
                    received.append((reply.type, reply.data))
                await ws.ping(b"ping")
                await ws.close(code=4000, message=b"bye")
                received.append(("client close code", ws.close_code))
    finally:
        await runner.cleanup()
    return received


@pytest.mark.parametrize("compress", [0, 15])
def test_echo_over_loopback(backend: Any, compress: int) -> None:
    unpatched = asyncio.run(_echo(compress))
    echoed = [(WSMsgType.TEXT if isinstance(m, str) else WSMsgType.BINARY, m) for m in MESSAGES]
    assert unpatched[: len(MESSAGES)] == echoed
    assert ("server saw close", 4000) in unpatched
    with _patching.using_backend(backend.name):
        integration.patch()
    try:
        assert asyncio.run(_echo(compress)) == unpatched
    finally:
        integration.unpatch()
