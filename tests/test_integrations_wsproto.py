"""Tests for ``fastframe.integrations.wsproto``: wsproto's own behaviour, faster.

- Differential: random, mutated and permessage-deflate frame streams, cut in
  random chunks, through wsproto's ``FrameProtocol`` unpatched and patched:
  the same ``Frame`` events (types included), the same ``ParseFailed``
  messages and close codes, at the same point, and nothing after.
- The masker against wsproto's own, chunk by chunk (key rotation, bytearray).
- Patch/unpatch round trip, import order (fresh interpreters), version refusal.
- A large frame arriving in pieces is handed out as it arrives, with nothing
  buffered behind it.
- An echo over loopback between two wsproto connections, with and without
  permessage-deflate, unpatched and patched: the same events.

wsproto's own test suite runs patched with ``python -m fastframe.testing.peer wsproto``.
"""

from __future__ import annotations

import os
import socket
import textwrap
import threading
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from wsproto import WSConnection, connection, extensions as wsproto_extensions, frame_protocol as fp
from wsproto.connection import ConnectionType
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    Pong,
    Request,
    TextMessage,
)
from wsproto.extensions import PerMessageDeflate

from fastframe.integrations import wsproto as integration
from support.chunking import cut
from support.encoder import mask
from support.integration import ECHO_MESSAGES, FRAGMENTED_MESSAGES, PatchCheck, joined, run_fresh
from support.rfc import BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT
from support.strategies import Spec, byte_mutations, encode_specs, keys, streams, texts

#: What the patch replaces, as wsproto defines it.
ORIGINALS = {
    (fp, "FrameProtocol"): fp.FrameProtocol,
    (connection, "FrameProtocol"): connection.FrameProtocol,
    (wsproto_extensions, "FrameProtocol"): wsproto_extensions.FrameProtocol,
    (fp, "XorMaskerSimple"): fp.XorMaskerSimple,
}

PATCH = PatchCheck(integration, ORIGINALS, "wsproto")
_unpatched = PATCH.unpatched_fixture()
patched = PATCH.patched


def _deflate() -> PerMessageDeflate:
    extension = PerMessageDeflate()
    extension.finalize("permessage-deflate")
    return extension


def _describe(frame: Any) -> tuple[Any, ...]:
    payload = frame.payload
    if isinstance(payload, tuple):
        payload = (type(payload[0]), payload[0], payload[1])
    return (type(frame), type(frame.opcode), frame.opcode, type(frame.payload), payload, *frame[2:])


def trace(data: bytes, sizes: list[int], *, client: bool, deflate: bool, per_call: int = 0) -> list[Any]:
    """Everything wsproto's FrameProtocol (whichever is installed now) reports for ``data``.

    ``data`` arrives in chunks of ``sizes``; after each, the frames are read,
    at most ``per_call`` of them (0: all), as a caller that stops iterating does.
    """
    proto = fp.FrameProtocol(client=client, extensions=[_deflate()] if deflate else [])
    events: list[Any] = []
    for chunk in cut(data, sizes):
        proto.receive_bytes(chunk)
        try:
            for n, frame in enumerate(proto.received_frames(), 1):
                events.append(_describe(frame))
                if n == per_call:
                    break
        except fp.ParseFailed as exc:
            events.append(("ParseFailed", str(exc), type(exc.code), exc.code))
        except Exception as exc:
            events.append((type(exc), str(exc)))
        events.append("received")
    return events


def _compare(backend: Any, data: bytes, sizes: list[int], *, client: bool, deflate: bool, per_call: int = 0) -> None:
    expected = trace(data, sizes, client=client, deflate=deflate, per_call=per_call)
    with patched(backend):
        got = trace(data, sizes, client=client, deflate=deflate, per_call=per_call)
    assert got == expected


chunk_sizes = st.lists(st.integers(1, 48), max_size=12)
roles = st.booleans()
SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(data=st.data(), client=roles, sizes=chunk_sizes, per_call=st.sampled_from((0, 0, 1, 2)))
def test_streams_give_the_same_events_and_errors(backend, data, client, sizes, per_call):
    stream = data.draw(streams(client))
    _compare(backend, stream, sizes, client=client, deflate=False, per_call=per_call)


@st.composite
def deflate_specs(draw: Any, client: bool) -> list[Spec]:
    """permessage-deflate messages (RFC 7692 §7.2.1): one compressor for the stream, as with context takeover."""
    compressor = zlib.compressobj(wbits=-15)
    specs = []

    def key() -> Any:
        return None if client else draw(keys)

    for _ in range(draw(st.integers(1, 4))):
        if draw(st.integers(0, 4)) == 0:
            specs.append(Spec(draw(st.sampled_from((PING, PONG))), draw(st.binary(max_size=10)), key=key()))
            continue
        opcode = draw(st.sampled_from((TEXT, BINARY)))
        payload = draw(texts).encode() if opcode == TEXT else draw(st.binary(max_size=300))
        compressed = draw(st.booleans())
        if compressed:
            payload = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
            payload = payload[:-4] if payload.endswith(b"\x00\x00\xff\xff") else payload
        cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=3)))
        bounds = [0, *cuts, len(payload)]
        for n, (start, end) in enumerate(zip(bounds, bounds[1:])):
            last = n == len(bounds) - 2
            first = n == 0
            specs.append(
                Spec(
                    opcode if first else CONTINUATION,
                    payload[start:end],
                    fin=last,
                    rsv1=compressed and first,
                    key=key(),
                )
            )
    if draw(st.booleans()):
        specs.append(Spec(CLOSE, b"\x03\xe8bye", key=key()))
    return specs


@SETTINGS
@given(data=st.data(), client=roles, sizes=chunk_sizes, mutate=st.booleans())
def test_permessage_deflate_streams_give_the_same_events_and_errors(backend, data, client, sizes, mutate):
    stream = encode_specs(data.draw(deflate_specs(client)))
    if mutate:
        stream = data.draw(byte_mutations(stream))
    _compare(backend, stream, sizes, client=client, deflate=True)


@pytest.mark.parametrize("client", [False, True])
@pytest.mark.parametrize(
    "stream",
    [
        pytest.param(encode_specs([Spec(BINARY, bytes(range(256)) * 300)]), id="big-binary"),
        pytest.param(encode_specs([Spec(TEXT, "héllo wörld 🙂".encode() * 5000, fin=False)]), id="big-text"),
        pytest.param(b"\x82\x7f" + (1 << 63).to_bytes(8, "big"), id="length-msb"),
        pytest.param(b"\x82\x7e\x00\x05", id="length-not-minimal"),
        pytest.param(b"\x83\x00", id="reserved-opcode"),
        pytest.param(b"\x09\x00", id="fragmented-ping"),
        pytest.param(b"\x81\x02\xc3\x28", id="invalid-utf8"),
        pytest.param(b"\x88\x02\x03\xed", id="reserved-close-code"),
        pytest.param(b"\x88\x02\x03\xe8\x81\x00", id="frames-after-close"),
    ],
)
@pytest.mark.parametrize("step", [1, 7, 1 << 20])
def test_known_streams(backend, client, stream, step):
    if not client:
        # The same frames as a client sends them: masked with the RFC's key.
        stream = _masked(stream)
    sizes = [step] * (len(stream) // step + 1)
    _compare(backend, stream, sizes, client=client, deflate=False)


def _masked(stream: bytes) -> bytes:
    """Mask every frame of an unmasked stream (the streams above are whole frames, or a header)."""
    out = bytearray()
    pos = 0
    key = b"\x37\xfa\x21\x3d"
    while pos < len(stream):
        first, second = stream[pos], stream[pos + 1]
        length, size = second & 0x7F, 2
        if length == 126:
            length, size = int.from_bytes(stream[pos + 2 : pos + 4], "big"), 4
        elif length == 127:
            length, size = int.from_bytes(stream[pos + 2 : pos + 10], "big"), 10
        payload = stream[pos + size : pos + size + length]
        out += bytes([first, second | 0x80]) + stream[pos + 2 : pos + size] + key + mask(payload, key)
        pos += size + len(payload)
    return bytes(out)


@SETTINGS
@given(key=keys, pieces=st.lists(st.binary(max_size=20), max_size=8), as_bytearray=st.booleans())
def test_masker_matches_wsproto(backend, key, pieces, as_bytearray):
    original = fp.XorMaskerSimple(bytearray(key) if as_bytearray else key)
    expected = [(original.process(piece), original._masking_key) for piece in pieces]
    with patched(backend):
        masker = fp.XorMaskerSimple(bytearray(key) if as_bytearray else key)
        got = [(masker.process(piece), masker._masking_key) for piece in pieces]
    assert [(type(out), out, bytes(k)) for out, k in got] == [(type(out), out, bytes(k)) for out, k in expected]
    assert b"".join(out for out, _ in got) == mask(b"".join(pieces), key)


def test_a_large_frame_is_handed_out_as_it_arrives(backend):
    payload = os.urandom(1 << 20)
    key = b"\x01\x02\x03\x04"
    stream = encode_specs([Spec(BINARY, payload, key=key)])
    with patched(backend):
        proto = fp.FrameProtocol(client=False, extensions=[])
        received = []
        for start in range(0, len(stream), 1000):
            proto.receive_bytes(stream[start : start + 1000])
            (frame,) = proto.received_frames()
            # The payload that arrived is handed out at once: nothing waits in the buffer.
            assert len(frame.payload) == min(1000, len(stream) - start) - (14 if start == 0 else 0)
            assert proto._ff_data == b""
            received.append(frame)
    assert b"".join(frame.payload for frame in received) == payload
    assert [frame.frame_finished for frame in received] == [False] * (len(received) - 1) + [True]
    assert all(frame.opcode is fp.Opcode.BINARY for frame in received)


def test_patch_and_unpatch_restore_the_exact_objects(backend):
    with PATCH.round_trip(backend):
        assert fp.FrameProtocol is connection.FrameProtocol is wsproto_extensions.FrameProtocol
        assert issubclass(fp.FrameProtocol, ORIGINALS[fp, "FrameProtocol"])
        assert type(connection.Connection(ConnectionType.SERVER)._proto) is fp.FrameProtocol


@pytest.mark.parametrize("version", ["1.1.0", "1.4.0", "0.15.0"])
def test_unsupported_versions_are_refused_and_nothing_is_patched(backend, monkeypatch, version):
    PATCH.check_refused(backend, monkeypatch, version, ">=1.2,<1.4")


IMPORT_ORDER = textwrap.dedent(
    """
    import sys
    order = sys.argv[1]
    if order == "before":
        from wsproto.connection import Connection, ConnectionType
    import fastframe
    assert fastframe.patch("wsproto") == ("wsproto",)
    assert fastframe.BACKEND == sys.argv[2], fastframe.BACKEND
    if order == "after":
        from wsproto.connection import Connection, ConnectionType
    from wsproto.events import BytesMessage
    conn = Connection(ConnectionType.SERVER)
    print(type(conn._proto).__module__)
    conn.receive_data(b"\\x82\\x83\\x01\\x02\\x03\\x04" + bytes(b ^ k for b, k in zip(b"abc", b"\\x01\\x02\\x03")))
    (event,) = conn.events()
    assert isinstance(event, BytesMessage) and event.data == b"abc", event
    """
)


@pytest.mark.parametrize("order", ["before", "after"])
def test_patch_takes_effect_whatever_the_import_order(backend, order):
    assert run_fresh(IMPORT_ORDER, backend, order).strip() == "fastframe.integrations.wsproto"


# -- An echo over loopback: two wsproto connections, each in its own thread.

MESSAGES = [*ECHO_MESSAGES, b"\x00", *FRAGMENTED_MESSAGES]


def _pump(sock: socket.socket, ws: Any) -> Iterator[Any]:
    data = sock.recv(1 << 16)
    ws.receive_data(data or None)
    # Read lazily: the server answers each message before a close that follows it changes the state.
    return ws.events()


def _server(listener: socket.socket, deflate: bool, log: list[Any]) -> None:
    sock, _ = listener.accept()
    with sock:
        ws = WSConnection(ConnectionType.SERVER)
        while True:
            for event in _pump(sock, ws):
                log.append(event)
                if isinstance(event, Request):
                    extensions = [PerMessageDeflate()] if deflate else []
                    sock.sendall(ws.send(AcceptConnection(extensions=extensions)))
                elif isinstance(event, Message):
                    sock.sendall(ws.send(type(event)(data=event.data, message_finished=event.message_finished)))
                elif isinstance(event, Ping):
                    sock.sendall(ws.send(event.response()))
                elif isinstance(event, CloseConnection):
                    sock.sendall(ws.send(event.response()))
                    return


def echo(deflate: bool) -> tuple[list[Any], list[Any]]:
    """Send MESSAGES, a ping and a close to an echo server; return what each side saw."""
    server_log: list[Any] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(30)
        thread = threading.Thread(target=_server, args=(listener, deflate, server_log))
        thread.start()
        client_log: list[Any] = []
        with socket.create_connection(listener.getsockname(), timeout=30) as sock:
            ws = WSConnection(ConnectionType.CLIENT)
            extensions = [PerMessageDeflate()] if deflate else []
            sock.sendall(ws.send(Request(host="localhost", target="/", extensions=extensions)))
            while not any(isinstance(event, AcceptConnection) for event in client_log):
                client_log += _pump(sock, ws)
            for message in MESSAGES:
                parts = message if isinstance(message, list) else [message]
                for n, part in enumerate(parts):
                    event = TextMessage if isinstance(part, str) else BytesMessage
                    sock.sendall(ws.send(event(data=part, message_finished=n == len(parts) - 1)))
            sock.sendall(ws.send(Ping(payload=b"are you there")))
            sock.sendall(ws.send(CloseConnection(code=1000, reason="done")))
            while not any(isinstance(event, CloseConnection) for event in client_log):
                client_log += _pump(sock, ws)
        thread.join(30)
    return _messages(client_log), _messages(server_log)


def _messages(events: list[Any]) -> list[Any]:
    """Join the pieces of each message: how they were cut depends on the socket's timing."""
    out: list[Any] = []
    parts: list[Any] = []
    for event in events:
        if isinstance(event, Message):
            parts.append(event.data)
            if event.message_finished:
                out.append("".join(parts) if isinstance(event, TextMessage) else b"".join(parts))
                parts = []
        elif isinstance(event, (Ping, Pong)):
            out.append((type(event).__name__, event.payload))
        elif isinstance(event, CloseConnection):
            out.append(("close", event.code, event.reason))
        else:
            out.append(type(event).__name__)
    return out


@pytest.mark.parametrize("deflate", [False, True], ids=["plain", "permessage-deflate"])
def test_echo_over_loopback(backend, deflate):
    expected_client, expected_server = echo(deflate)
    sent = [joined(m) for m in MESSAGES]
    assert expected_client == ["AcceptConnection", *sent, ("Pong", b"are you there"), ("close", 1000, "done")]
    with patched(backend):
        got = echo(deflate)
    assert got == (expected_client, expected_server)
