"""Tests for ``fastframe.integrations.tornado``: tornado's own WebSocket behaviour, faster.

- Differential: random and mutated frame streams, written in random chunks
  to a socket, read by tornado's own frame loop (``WebSocketProtocol13``
  over an ``IOStream``) unpatched and patched: the same messages, pings and
  pongs to the handler, the same bytes written back (pongs, close frames),
  the same close code, reason and abort, and the same wire byte count; with
  small ``max_message_size`` limits too.
- The mask against tornado's own (C and Python), odd input included.
- Patch/unpatch round trip, import order (fresh interpreters), version refusal.
- An echo over loopback, a tornado server and a websocket-client client, with
  and without permessage-deflate.

tornado's own WebSocket tests run patched with ``python -m fastframe.testing.peer tornado``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import textwrap
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from support.encoder import mask
from support.integration import ECHO_MESSAGES, FRAGMENTED_MESSAGES, PatchCheck, joined, run_fresh
from support.strategies import keys, streams
from support.tornado_echo import echo

# Where the test extra is not installed (the wheel builds' smoke test).
pytest.importorskip("tornado")
pytest.importorskip("websocket")

import tornado.iostream
import tornado.util
import tornado.websocket

from fastframe.integrations import tornado as integration

try:
    import tornado.speedups as speedups
except ImportError:  # tornado built without its extension
    speedups = None

PROTOCOL = tornado.websocket.WebSocketProtocol13

#: What the patch replaces, as tornado defines it.
ORIGINALS: dict[tuple[Any, str], Any] = {
    (tornado.util, "_websocket_mask"): tornado.util._websocket_mask,
    (tornado.websocket, "_websocket_mask"): tornado.websocket._websocket_mask,
    (PROTOCOL, "_read_bytes"): PROTOCOL.__dict__["_read_bytes"],
}
if speedups is not None:
    ORIGINALS[speedups, "websocket_mask"] = speedups.websocket_mask

PATCH = PatchCheck(integration, ORIGINALS, "tornado")
_unpatched = PATCH.unpatched_fixture()
patched = PATCH.patched


class Handler:
    """What tornado's protocol calls on its handler, recorded."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def on_message(self, message: Any) -> None:
        self.events.append(("message", type(message), message))

    def on_ping(self, data: bytes) -> None:
        self.events.append(("ping", data))

    def on_pong(self, data: bytes) -> None:
        self.events.append(("pong", data))

    def log_exception(self, *exc_info: Any) -> None:
        self.events.append(("exception", exc_info[0]))

    def on_ws_connection_close(self, code: Any = None, reason: Any = None) -> None:
        self.events.append(("connection closed", code, reason))


async def _receive(chunks: list[bytes], max_message_size: int) -> list[Any]:
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    stream = tornado.iostream.IOStream(ours)
    handler = Handler()
    params = tornado.websocket._WebSocketParams(max_message_size=max_message_size)
    proto = PROTOCOL(handler, mask_outgoing=False, params=params)
    proto.stream = stream
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(proto._receive_frame_loop())
    for chunk in chunks:
        if task.done():
            break  # tornado aborted: nothing more is read
        try:
            await loop.sock_sendall(theirs, chunk)
        except ConnectionError:
            break
        # Let tornado read it: some chunks arrive alone, others together.
        for _ in range(3):
            await asyncio.sleep(0)
    with contextlib.suppress(OSError):
        theirs.shutdown(socket.SHUT_WR)
    try:
        await asyncio.wait_for(task, 30)
    except Exception as exc:
        # tornado lets some errors out of its loop (a close reason that is not UTF-8).
        handler.events.append(("raised", type(exc), str(exc)))
    written = bytearray()
    with contextlib.suppress(BlockingIOError, ConnectionError):
        while True:
            data = theirs.recv(1 << 16)
            if not data:
                break
            written += data
    theirs.close()
    stream.close()
    if proto._waiting is not None:
        tornado.ioloop.IOLoop.current().remove_timeout(proto._waiting)
    state = (proto.close_code, proto.close_reason, proto.client_terminated, proto.server_terminated)
    return [*handler.events, ("written", bytes(written)), ("state", state), ("wire", proto._wire_bytes_in)]


def trace(data: bytes, sizes: list[int], max_message_size: int) -> list[Any]:
    """Everything tornado's frame loop (patched or not, as it is now) does with ``data`` sent in ``sizes``."""
    chunks = []
    pos = 0
    for size in sizes:
        if pos < len(data):
            chunks.append(data[pos : pos + size])
            pos += size
    if pos < len(data):
        chunks.append(data[pos:])
    return asyncio.run(_receive(chunks, max_message_size))


SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
limits = st.one_of(st.just(10 * 1024 * 1024), st.integers(0, 300))


@SETTINGS
@given(data=st.data(), masked=st.booleans(), sizes=st.lists(st.integers(1, 48), max_size=12), limit=limits)
def test_streams_give_the_same_messages_replies_and_errors(backend, data, masked, sizes, limit):
    # A server's input is masked; tornado does not insist, so unmasked streams too.
    stream = data.draw(streams(client=not masked))
    expected = trace(stream, sizes, limit)
    with patched(backend):
        got = trace(stream, sizes, limit)
    assert got == expected


@pytest.mark.parametrize(
    "stream",
    [
        pytest.param(
            bytes([0x82, 0xFF]) + (70_000).to_bytes(8, "big") + b"\x01\x02\x03\x04" + bytes(70_000), id="64bit"
        ),
        pytest.param(bytes([0x81, 0xFE, 0x01, 0x00]) + b"\x00" * 4 + "é".encode() * 128, id="16bit-text"),
        pytest.param(b"\x89\x80abcd\x8a\x80abcd\x88\x82abcd" + mask(b"\x03\xe8", b"abcd"), id="ping-pong-close"),
        pytest.param(b"\x01\x83abcd" + mask(b"one", b"abcd") + b"\x80\x83abcd" + mask(b"two", b"abcd"), id="fragments"),
        pytest.param(b"\x81\x82abcd" + mask(b"\xc3\x28", b"abcd"), id="invalid-utf8"),
        pytest.param(b"\xc1\x80abcd", id="rsv1"),
    ],
)
@pytest.mark.parametrize("step", [1, 5, 1 << 20])
def test_known_streams(backend, stream, step):
    sizes = [step] * (len(stream) // step + 1)
    expected = trace(stream, sizes, 1 << 20)
    with patched(backend):
        assert trace(stream, sizes, 1 << 20) == expected


def _mask_outcome(function: Any, key: Any, data: Any) -> Any:
    try:
        result = function(key, data)
    except Exception as exc:
        return ("raised", type(exc), str(exc))
    return (type(result), result)


def _masks() -> list[Any]:
    functions = [tornado.util._websocket_mask, tornado.websocket._websocket_mask]
    if speedups is not None:
        functions.append(speedups.websocket_mask)
    return functions


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=keys, data=st.binary(max_size=300))
def test_masks_give_the_same_bytes(backend, key, data):
    expected = [_mask_outcome(function, key, data) for function in _masks()]
    with patched(backend):
        got = [_mask_outcome(function, key, data) for function in _masks()]
    assert got == expected
    assert got[0] == (bytes, mask(data, key))


@pytest.mark.parametrize(("key", "data"), [(b"abc", b"hello"), (b"abcde", b""), ("abcd", "héllo"), (b"abcd", 5)])
def test_masks_leave_odd_input_to_tornado(backend, key, data):
    expected = [_mask_outcome(function, key, data) for function in _masks()]
    with patched(backend):
        assert [_mask_outcome(function, key, data) for function in _masks()] == expected


def test_patch_and_unpatch_restore_the_exact_objects(backend):
    PATCH.check_round_trip(backend)


@pytest.mark.parametrize("version", ["6.3.3", "7.0.0", "5.1.1"])
def test_unsupported_versions_are_refused_and_nothing_is_patched(backend, monkeypatch, version):
    PATCH.check_refused(backend, monkeypatch, version, ">=6.4,<7")


IMPORT_ORDER = textwrap.dedent(
    """
    import sys
    order = sys.argv[1]
    if order == "before":
        import tornado.websocket
    import fastframe
    assert fastframe.patch("tornado") == ("tornado",)
    assert fastframe.BACKEND == sys.argv[2], fastframe.BACKEND
    if order == "after":
        import tornado.websocket
    from tornado.websocket import WebSocketProtocol13, _websocket_mask
    print(_websocket_mask.__module__, WebSocketProtocol13._read_bytes.__module__)
    assert _websocket_mask(b"abcd", b"abcd") == bytes(4)
    """
)


@pytest.mark.parametrize("order", ["before", "after"])
def test_patch_takes_effect_whatever_the_import_order(backend, order):
    assert run_fresh(IMPORT_ORDER, backend, order).split() == ["fastframe.integrations.tornado"] * 2


MESSAGES = [*ECHO_MESSAGES, *FRAGMENTED_MESSAGES]


@pytest.mark.parametrize("compression", [False, True], ids=["plain", "permessage-deflate"])
def test_echo_over_loopback(backend, compression):
    expected = echo(MESSAGES, compression=compression)
    sent = [joined(m) for m in MESSAGES]
    assert expected[1] == [*sent, ("ping", b"are you there"), ("close", 1000, "done")]
    with patched(backend):
        got = echo(MESSAGES, compression=compression)
    assert got == expected
