"""Tests for ``fastframe.integrations.autobahn``: autobahn's own behaviour, faster.

- Differential: random and mutated frame streams, cut in random chunks, into
  autobahn's ``WebSocketServerProtocol`` (its asyncio flavour, on a fake
  transport) unpatched and patched: the same messages, the same failure
  (close code and reason, which quotes the validator's index) and the same
  bytes written back.
- The masker and validator the protocol imports, against autobahn's own and
  wsaccel's, chunk by chunk (tests/test_compat_wsaccel.py covers the classes).
- Patch/unpatch round trip, import order (fresh interpreters), version refusal.
- An echo over loopback between autobahn's asyncio client and server.

autobahn's own test suite runs patched with ``python -m fastframe.testing.peer autobahn``.
"""

from __future__ import annotations

import asyncio
import os
import textwrap
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fastframe.integrations import IntegrationError, _patching, autobahn as integration

pytest.importorskip("autobahn")
try:
    # autobahn 26 needs Python 3.11; older Pythons get an older autobahn, outside the range.
    _patching.require_version("autobahn", "26.1", "27")
except IntegrationError as exc:
    pytest.skip(str(exc), allow_module_level=True)

import txaio

txaio.use_asyncio()

from autobahn.asyncio.websocket import (  # noqa: E402
    WebSocketClientFactory,
    WebSocketClientProtocol,
    WebSocketServerFactory,
    WebSocketServerProtocol,
)
from autobahn.wamp.types import TransportDetails  # noqa: E402
from autobahn.websocket import protocol, utf8validator, xormasker  # noqa: E402

from support.encoder import mask  # noqa: E402
from support.integration import ECHO_MESSAGES, MASKED_STREAMS, PatchCheck, run_fresh  # noqa: E402
from support.strategies import keys, streams  # noqa: E402

#: What the patch replaces, as autobahn defines it.
ORIGINALS = {
    (protocol, "create_xor_masker"): protocol.create_xor_masker,
    (protocol, "XorMaskerNull"): protocol.XorMaskerNull,
    (protocol, "Utf8Validator"): protocol.Utf8Validator,
    (xormasker, "create_xor_masker"): xormasker.create_xor_masker,
    (xormasker, "XorMaskerNull"): xormasker.XorMaskerNull,
    (utf8validator, "Utf8Validator"): utf8validator.Utf8Validator,
}

PATCH = PatchCheck(integration, ORIGINALS, "autobahn")
_unpatched = PATCH.unpatched_fixture()
patched = PATCH.patched


class _Transport:
    """What the protocol writes and whether it closed: all a test needs of a transport."""

    def __init__(self) -> None:
        self.written = bytearray()
        self.closed: list[str] = []

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed.append("close")

    def abort(self) -> None:
        self.closed.append("abort")

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


class _Server(WebSocketServerProtocol):  # type: ignore[misc]
    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.events.append(("message", isBinary, type(payload), payload))

    def onPing(self, payload: bytes) -> None:
        self.events.append(("ping", payload))
        super().onPing(payload)


def open_server(*, client: bool = False) -> Any:
    """An autobahn server protocol in the open state, as after its handshake, on a fake transport."""
    proto = _Server()
    proto.events = []
    proto.factory = WebSocketServerFactory()
    proto.transport = _Transport()
    proto._transport_details = TransportDetails()
    proto._connectionMade()
    proto.state = proto.STATE_OPEN
    proto.websocket_version = 18
    proto.websocket_extensions_in_use = []
    proto.inside_message = False
    proto.current_frame = None
    return proto


def trace(data: bytes, sizes: list[int]) -> list[Any]:
    """Everything the installed autobahn does with ``data`` arriving in chunks of ``sizes``."""
    proto = open_server()
    pos = 0
    for size in [*sizes, len(data)]:
        if pos >= len(data) or proto.state == proto.STATE_CLOSED:
            break
        proto._dataReceived(data[pos : pos + size])
        pos += size
        proto.events.append("received")
    return [
        *proto.events,
        ("state", proto.state, proto.localCloseCode, proto.localCloseReason, proto.wasNotCleanReason),
        ("written", bytes(proto.transport.written), proto.transport.closed),
    ]


def _compare(backend: Any, data: bytes, sizes: list[int]) -> None:
    expected = trace(data, sizes)
    with patched(backend):
        got = trace(data, sizes)
    assert got == expected


SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(data=st.data(), sizes=st.lists(st.integers(1, 64), max_size=12))
def test_streams_give_the_same_messages_and_failures(backend, data, sizes):
    # A server receives masked frames from a client: streams(client=False) masks them.
    _compare(backend, data.draw(streams(False)), sizes)


@pytest.mark.parametrize("stream", MASKED_STREAMS)
@pytest.mark.parametrize("step", [1, 5, 1 << 20])
def test_known_streams(backend, stream, step):
    _compare(backend, stream, [step] * (len(stream) // step + 1))


@SETTINGS
@given(key=keys, length=st.integers(0, 300), cuts=st.lists(st.integers(0, 300), max_size=5))
def test_the_protocols_masker_matches_autobahns(backend, key, length, cuts):
    payload = os.urandom(length)
    bounds = [0, *sorted(min(c, length) for c in cuts), length]
    pieces = [payload[a:b] for a, b in zip(bounds, bounds[1:])]
    original = ORIGINALS[protocol, "create_xor_masker"](key, length)
    expected = [(original.process(piece), original.pointer()) for piece in pieces]
    with patched(backend):
        masker = protocol.create_xor_masker(key, length)
        got = [(masker.process(piece), masker.pointer()) for piece in pieces]
        with pytest.raises(AssertionError):
            protocol.create_xor_masker(key[:3], length)
    assert [(type(out), out, ptr) for out, ptr in got] == [(type(out), out, ptr) for out, ptr in expected]
    assert b"".join(out for out, _ in got) == mask(payload, key)


def test_patch_and_unpatch_restore_the_exact_objects(backend):
    with PATCH.round_trip(backend):
        assert protocol.Utf8Validator is utf8validator.Utf8Validator
        assert open_server().utf8validator.__class__ is protocol.Utf8Validator


@pytest.mark.parametrize("version", ["25.12.2", "27.1.1", "0.10.0"])
def test_unsupported_versions_are_refused_and_nothing_is_patched(backend, monkeypatch, version):
    PATCH.check_refused(backend, monkeypatch, version, ">=26.1,<27")


IMPORT_ORDER = textwrap.dedent(
    """
    import sys
    order = sys.argv[1]
    if order == "before":
        from autobahn.websocket import protocol
    import fastframe
    assert fastframe.patch("autobahn") == ("autobahn",)
    assert fastframe.BACKEND == sys.argv[2], fastframe.BACKEND
    if order == "after":
        from autobahn.websocket import protocol
    masker = protocol.create_xor_masker(b"\\x01\\x02\\x03\\x04", 3)
    assert masker.process(b"\\x60\\x60\\x60") == b"abc" and masker.pointer() == 3
    print(type(protocol.Utf8Validator()).__module__)
    """
)


@pytest.mark.parametrize("order", ["before", "after"])
def test_patch_takes_effect_whatever_the_import_order(backend, order):
    assert run_fresh(IMPORT_ORDER, backend, order).strip() == "fastframe.compat.wsaccel"


# -- An echo over loopback: autobahn's asyncio client and server.

MESSAGES = ECHO_MESSAGES


class _EchoServer(WebSocketServerProtocol):  # type: ignore[misc]
    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.sendMessage(payload, isBinary)


class _EchoClient(WebSocketClientProtocol):  # type: ignore[misc]
    def onOpen(self) -> None:
        self.received: list[Any] = []
        for message in MESSAGES:
            if isinstance(message, str):
                self.sendMessage(message.encode(), isBinary=False)
            else:
                self.sendMessage(message, isBinary=True)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        self.received.append(payload if isBinary else payload.decode())
        if len(self.received) == len(MESSAGES):
            self.sendClose(1000, "done")

    def onClose(self, wasClean: bool, code: int, reason: str) -> None:
        self.factory.done.set_result((self.received, wasClean, code, reason))


async def _echo() -> Any:
    loop = asyncio.get_running_loop()
    # Handshake timeouts far above autobahn's defaults: a slow run (sanitizers,
    # a loaded machine) must not turn into an unclean close.
    timeouts = {"openHandshakeTimeout": 60, "closeHandshakeTimeout": 60}
    server_factory = WebSocketServerFactory()
    server_factory.setProtocolOptions(**timeouts)
    server_factory.protocol = _EchoServer
    server = await loop.create_server(server_factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client_factory = WebSocketClientFactory(f"ws://127.0.0.1:{port}")
    client_factory.setProtocolOptions(**timeouts)
    client_factory.protocol = _EchoClient
    client_factory.done = loop.create_future()
    await loop.create_connection(client_factory, "127.0.0.1", port)
    try:
        return await asyncio.wait_for(client_factory.done, 60)
    finally:
        server.close()


def echo() -> Any:
    return asyncio.run(_echo())


def test_echo_over_loopback(backend):
    expected = echo()
    assert expected[:3] == (MESSAGES, True, 1000)
    with patched(backend):
        assert echo() == expected
