"""Tests for ``fastframe.integrations.websockets``: websockets 17 patched behaves as websockets.

- the patch replaces exactly the hook points and ``unpatch()`` puts the very
  same objects back, whether websockets (and its deprecated ``legacy``
  package) was imported before or after ``patch()``;
- an unsupported version is refused with the range and nothing patched;
- differential: random, mutated and compressed frame streams, randomly
  chunked, through websockets' own sans-I/O ``Protocol`` and legacy
  ``read_frame``, unpatched then patched, give the same frames (types
  included), replies, close codes and exceptions;
- an echo over loopback with websockets' asyncio, threading and legacy
  implementations, with and without permessage-deflate.

Every test runs the integration on both fastframe backends.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.metadata
import logging
import subprocess
import sys
import textwrap
import warnings
import zlib
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, Optional
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fastframe import integrations
from fastframe.integrations import _patching, websockets as integration
from fastframe.integrations._patching import IntegrationError
from support import decoder, encoder, rfc, strategies
from support.chunking import cut
from support.integration import PatchCheck

websockets = pytest.importorskip("websockets")
try:
    _patching.require_version("websockets", integration._integration.minimum, integration._integration.below)
except IntegrationError as exc:
    # The test extra installs 17.x where it can (Python 3.11+); older Pythons get an older oracle.
    pytest.skip(str(exc), allow_module_level=True)

from websockets.exceptions import PayloadTooBig, ProtocolError  # noqa: E402
from websockets.extensions.permessage_deflate import PerMessageDeflate  # noqa: E402
from websockets.frames import Frame, Opcode  # noqa: E402
from websockets.protocol import Protocol, Side  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import websockets.legacy.framing as legacy_framing
    import websockets.legacy.protocol as legacy_protocol

import websockets.frames as ws_frames  # noqa: E402
import websockets.protocol as ws_protocol  # noqa: E402

_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

#: The hook points and the objects websockets has there before any patch.
HOOKS = {
    (ws_protocol.Protocol, "parse"): ws_protocol.Protocol.__dict__["parse"],
    (ws_frames, "apply_mask"): ws_frames.apply_mask,
    (ws_frames.Frame, "serialize"): ws_frames.Frame.__dict__["serialize"],
    (legacy_framing, "apply_mask"): legacy_framing.apply_mask,
    (legacy_protocol.WebSocketCommonProtocol, "read_frame"): (
        legacy_protocol.WebSocketCommonProtocol.__dict__["read_frame"]
    ),
}


def _no_legacy_import_hook() -> None:
    assert not any(isinstance(finder, integration._LegacyImportHook) for finder in sys.meta_path)


PATCH = PatchCheck(integration, HOOKS, "websockets", clean=_no_legacy_import_hook)


@pytest.fixture
def patched(backend: SimpleNamespace) -> Iterator[SimpleNamespace]:
    """websockets patched on ``backend`` for the test, restored after it."""
    with _patching.using_backend(backend.name):
        assert integration.patch() is True
    try:
        yield backend
    finally:
        integration.unpatch()


@pytest.fixture
def patching(backend: SimpleNamespace) -> Iterator[Any]:
    """A context manager factory: websockets patched on ``backend`` inside the block."""

    class Patched:
        def __enter__(self) -> None:
            with _patching.using_backend(backend.name):
                integration.patch()

        def __exit__(self, *exc: object) -> None:
            integration.unpatch()

    try:
        yield Patched
    finally:
        integration.unpatch()


# ---------------------------------------------------------------------------
# Patch, unpatch, versions, import order.


def test_patch_replaces_every_hook_and_unpatch_restores_the_same_objects(backend):
    with PATCH.round_trip(backend):
        assert integrations.is_patched("websockets")
        assert ws_frames.apply_mask is backend.apply_mask
        assert legacy_framing.apply_mask is backend.apply_mask


def test_facade_patches_websockets_by_name(backend):
    with _patching.using_backend(backend.name):
        assert "websockets" in integrations.patch("websockets")
    try:
        assert ws_protocol.Protocol.__dict__["parse"] is not HOOKS[(ws_protocol.Protocol, "parse")]
    finally:
        assert integrations.unpatch("websockets") == ("websockets",)


def test_supported_versions_cover_the_installed_release():
    assert integration.SUPPORTED_VERSIONS == ">=17.0,<18.0"
    assert importlib.metadata.version("websockets").startswith("17.")


@pytest.mark.parametrize("version", ["16.1.1", "18.0", "3.4"])
def test_unsupported_version_is_refused_and_nothing_is_patched(backend, monkeypatch, version):
    PATCH.check_refused(backend, monkeypatch, version, ">=17.0,<18.0")


def test_a_failing_patch_leaves_nothing_patched(backend, monkeypatch):
    def broken(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(integration, "_patch_legacy_protocol", broken)
    with _patching.using_backend(backend.name), pytest.raises(RuntimeError, match="boom"):
        integration.patch()
    assert not integration.is_patched()
    PATCH.assert_restored()


# A fresh interpreter: which objects websockets' modules hold after patch()
# and unpatch(), with websockets imported (or not) first.
_IMPORT_ORDER = textwrap.dedent(
    """
    import sys, warnings
    warnings.simplefilter("error", DeprecationWarning)
    order, backend = sys.argv[1], sys.argv[2]
    from fastframe.integrations import _patching, websockets as integration
    def snapshot():
        import websockets.frames as f, websockets.protocol as p
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import websockets.legacy.framing as lf, websockets.legacy.protocol as lp
        return [p.Protocol.__dict__["parse"], f.apply_mask, f.Frame.__dict__["serialize"],
                lf.apply_mask, lp.WebSocketCommonProtocol.__dict__["read_frame"]]
    if order == "before":
        original = snapshot()
    with _patching.using_backend(backend) as api:
        integration.patch()
    # patch() itself must not import (and so not warn about) websockets.legacy.
    assert "websockets.legacy" not in sys.modules or order == "before"
    patched = snapshot()
    if order == "after":
        original = None
    assert patched[1] is api.apply_mask and patched[3] is api.apply_mask, patched
    # A patched Protocol and legacy read_frame do the work.
    from websockets.protocol import Protocol, Side
    proto = Protocol(Side.SERVER)
    proto.receive_data(bytes([0x81, 0x82, 1, 2, 3, 4, ord("h") ^ 1, ord("i") ^ 2]))
    [frame] = proto.events_received()
    assert bytes(frame.data) == b"hi", frame
    integration.unpatch()
    restored = snapshot()
    if original is not None:
        assert all(a is b for a, b in zip(original, restored)), (original, restored)
    import websockets.utils
    try:
        import websockets.speedups as speedups
    except ImportError:
        speedups = websockets.utils
    assert restored[1] is restored[3] is speedups.apply_mask, restored
    assert all(f.__module__.startswith("websockets.") for f in (restored[0], restored[2], restored[4])), restored
    assert all(a is not b for a, b in zip(patched, restored))
    print("ok")
    """
)


@pytest.mark.parametrize("order", ["before", "after"])
def test_import_order_websockets_imported_before_or_after_patch(backend, order):
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ORDER, order, backend.name],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_legacy_imported_after_patch_is_patched_and_restored(backend):
    # The hook patches websockets.legacy when it is imported later: simulate
    # that by dropping the modules from sys.modules and importing them again.
    saved = {name: sys.modules.pop(name) for name in list(sys.modules) if name.startswith("websockets.legacy")}
    try:
        with _patching.using_backend(backend.name) as patched:
            integration.patch()
        assert any(isinstance(finder, integration._LegacyImportHook) for finder in sys.meta_path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import websockets.legacy.protocol as fresh_protocol

        fresh_framing = sys.modules["websockets.legacy.framing"]
        assert fresh_protocol is not legacy_protocol
        assert fresh_framing.apply_mask is patched.apply_mask
        original = fresh_protocol.WebSocketCommonProtocol.__dict__["read_frame"]
        assert original.__module__ == "fastframe.integrations.websockets"
        integration.unpatch()
        assert fresh_protocol.WebSocketCommonProtocol.__dict__["read_frame"].__module__ == "websockets.legacy.protocol"
        assert fresh_framing.apply_mask is HOOKS[(legacy_framing, "apply_mask")]
        assert not any(isinstance(finder, integration._LegacyImportHook) for finder in sys.meta_path)
    finally:
        integration.unpatch()
        for name in [name for name in sys.modules if name.startswith("websockets.legacy")]:
            del sys.modules[name]
        sys.modules.update(saved)
        websockets.legacy = saved["websockets.legacy"]


# ---------------------------------------------------------------------------
# Sending: Frame.serialize with known keys, as websockets' own tests get them.


@pytest.mark.parametrize("length", [0, 1, 125, 126, 65535, 65536])
@pytest.mark.parametrize("mask", [False, True])
def test_serialize_matches_websockets(patching, length, mask):
    frame = Frame(Opcode.BINARY, bytes(range(256)) * (length // 256) + bytes(length % 256), fin=False)
    extensions = [PerMessageDeflate(False, False, 15, 15)]
    with mock.patch("secrets.token_bytes", return_value=b"\x37\xfa\x21\x3d"):
        expected = [frame.serialize(mask=mask), frame.serialize(mask=mask, extensions=extensions)]
        extensions = [PerMessageDeflate(False, False, 15, 15)]
        with patching():
            got = [frame.serialize(mask=mask), frame.serialize(mask=mask, extensions=extensions)]
    assert got == expected
    assert [type(value) for value in got] == [bytes, bytes]


def test_serialize_draws_a_fresh_key_per_frame(patched):
    frame = Frame(Opcode.TEXT, b"same payload")
    assert len({frame.serialize(mask=True) for _ in range(8)}) == 8
    with pytest.raises(ProtocolError, match="fragmented control frame"):
        Frame(Opcode.PING, b"", fin=False).serialize(mask=True)


# ---------------------------------------------------------------------------
# Differential: the sans-I/O Protocol, unpatched and patched.


def _deflate_message(payload: bytes, pieces: int) -> list[bytes]:
    """``payload`` compressed as permessage-deflate (RFC 7692 §7.2.1), cut in ``pieces`` frames' payloads."""
    compressor = zlib.compressobj(wbits=-15)
    data = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
    data = data[:-4]
    step = max(1, -(-len(data) // pieces))
    return [data[i : i + step] for i in range(0, len(data), step)] or [b""]


@st.composite
def compressed_specs(draw: Any, client: bool) -> list[strategies.Spec]:
    """Messages compressed with a fresh window each (no context takeover), some not compressed, pings between."""
    specs: list[strategies.Spec] = []
    for _ in range(draw(st.integers(1, 4))):
        key = None if client else draw(strategies.keys)
        opcode = draw(st.sampled_from(rfc.DATA_OPCODES))
        payload = draw(strategies.texts).encode() * draw(st.integers(1, 30))
        if draw(st.integers(0, 4)) == 0:
            specs.append(strategies.Spec(opcode, payload, key=key))
            continue
        parts = _deflate_message(payload, draw(st.integers(1, 3)))
        for n, part in enumerate(parts):
            last = n == len(parts) - 1
            specs.append(strategies.Spec(opcode if n == 0 else rfc.CONTINUATION, part, fin=last, rsv1=n == 0, key=key))
            if not last and draw(st.booleans()):
                specs.append(strategies.Spec(rfc.PING, b"p", key=key))
    return specs


@st.composite
def protocol_cases(draw: Any) -> dict[str, Any]:
    client = draw(st.booleans())
    deflate = draw(st.booleans())
    if deflate and draw(st.booleans()):
        specs = draw(compressed_specs(client))
        mutate = draw(st.sampled_from(("none", "spec", "bytes")))
        if mutate == "spec":
            extra = draw(strategies.mutated_specs(client))
            specs = specs + extra
        data = strategies.encode_specs(specs)
        if mutate == "bytes":
            data = draw(strategies.byte_mutations(data))
    else:
        data = draw(strategies.streams(client))
    # Limits where they bite: the frame and message sizes of this stream, and their neighbours.
    near = st.sampled_from(decoder.limit_candidates(data))
    max_size: Any = draw(
        st.one_of(
            st.just(2**20),
            st.none(),
            near,
            near,
            st.tuples(st.one_of(st.none(), near), st.one_of(st.none(), near)),
        )
    )
    chunks = draw(st.lists(st.integers(1, 64), max_size=12))
    return {
        "client": client,
        "deflate": deflate,
        "data": data,
        "max_size": max_size,
        "chunks": chunks,
        "eof": draw(st.booleans()),
    }


def _frame_record(frame: Any) -> tuple[Any, ...]:
    return (
        frame.opcode,
        type(frame.opcode),
        bytes(frame.data),
        type(frame.data),
        frame.fin,
        frame.rsv1,
        frame.rsv2,
        frame.rsv3,
    )


def _exc_record(exc: Optional[BaseException]) -> Any:
    if exc is None:
        return None
    record = [type(exc), str(exc)]
    if isinstance(exc, PayloadTooBig):
        record += [exc.size, exc.max_size, exc.current_size]
    return tuple(record)


def run_protocol(case: dict[str, Any]) -> list[Any]:
    """Feed a case to websockets' Protocol; everything observable, step by step."""
    side = Side.CLIENT if case["client"] else Side.SERVER
    protocol = Protocol(side, max_size=case["max_size"], logger=logging.getLogger("fastframe.tests.websockets"))
    if case["deflate"]:
        protocol.extensions = [PerMessageDeflate(True, True, 15, 15)]
    trace: list[Any] = []
    with mock.patch("secrets.token_bytes", return_value=b"\x00\xff\x10\xef"):
        for chunk in cut(case["data"], case["chunks"]):
            protocol.receive_data(chunk)
            trace.append(
                (
                    [_frame_record(frame) for frame in protocol.events_received()],
                    protocol.data_to_send(),
                    protocol.state,
                    protocol.current_size,
                    _exc_record(protocol.parser_exc),
                    len(protocol.reader.buffer),
                )
            )
        if case["eof"]:
            protocol.receive_eof()
            trace.append((protocol.events_received(), protocol.data_to_send(), protocol.state))
    trace.append((protocol.close_code, protocol.close_reason, _exc_record(protocol.parser_exc)))
    return trace


@_SETTINGS
@given(case=protocol_cases())
def test_protocol_receives_as_websockets(patching, case):
    expected = run_protocol(case)
    with patching():
        got = run_protocol(case)
    assert got == expected


def test_protocol_differential_catches_a_corrupted_payload(backend, monkeypatch):
    # The differential above must see a wrong byte: break the backend's
    # masking for the patched run and check that the traces differ.
    case = {
        "client": False,
        "deflate": False,
        "data": encoder.encode_frame(rfc.TEXT, b"hello", key=rfc.MASK_KEY),
        "max_size": 2**20,
        "chunks": [],
        "eof": False,
    }
    expected = run_protocol(case)
    broken = SimpleNamespace(**vars(backend))
    broken.apply_mask = lambda data, key: bytes(backend.apply_mask(data, key))[:-1] + b"?"
    monkeypatch.setattr(_patching, "_selected", broken)
    # Plain data frames are read in bulk by fastframe's _relay: break that too.
    bulk = integration._relay(backend).read_data_frames

    def broken_bulk(*args: Any) -> Any:
        pos, current_size = bulk(*args)
        for frame in args[-1]:
            frame.data = bytes(frame.data)[:-1] + b"?"
        return pos, current_size

    monkeypatch.setattr(integration, "_relay", lambda api: SimpleNamespace(read_data_frames=broken_bulk))
    integration.patch()
    try:
        got = run_protocol(case)
    finally:
        integration.unpatch()
    assert got != expected


@pytest.mark.parametrize("client", [False, True])
def test_protocol_stream_of_many_frames_in_one_chunk(patching, client):
    key = None if client else rfc.MASK_KEY
    specs = []
    for n in range(300):
        specs.append(strategies.Spec(rfc.TEXT if n % 3 else rfc.BINARY, f"token {n} ✓".encode(), key=key))
        if n % 50 == 7:
            specs.append(strategies.Spec(rfc.PING, str(n).encode(), key=key))
        if n % 40 == 11:
            specs += [
                strategies.Spec(rfc.TEXT, b"frag", fin=False, key=key),
                strategies.Spec(rfc.CONTINUATION, b"ment", fin=False, key=key),
                strategies.Spec(rfc.CONTINUATION, b"ed", key=key),
            ]
    specs.append(strategies.Spec(rfc.CLOSE, encoder.close_payload(1000, b"done"), key=key))
    specs.append(strategies.Spec(rfc.TEXT, b"after close: discarded", key=key))
    data = strategies.encode_specs(specs)
    case = {"client": client, "deflate": False, "data": data, "max_size": 2**20, "chunks": [], "eof": True}
    expected = run_protocol(case)
    with patching():
        got = run_protocol(case)
    assert got == expected
    assert len(got[0][0]) == len(specs) - 1


# ---------------------------------------------------------------------------
# Differential: the legacy implementation's read_frame.


async def _legacy_frames(case: dict[str, Any]) -> list[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        protocol = legacy_protocol.WebSocketCommonProtocol(max_size=None)
    protocol.is_client = case["client"]
    if case["deflate"]:
        protocol.extensions = [PerMessageDeflate(True, True, 15, 15)]
    reader = protocol.reader
    max_size = case["max_size"] if isinstance(case["max_size"], int) else None

    async def feed() -> None:
        for chunk in cut(case["data"], case["chunks"]):
            reader.feed_data(chunk)
            await asyncio.sleep(0)
        if case["eof"]:
            reader.feed_eof()

    feeder = asyncio.ensure_future(feed())
    trace: list[Any] = []
    try:
        while True:
            try:
                frame = await asyncio.wait_for(protocol.read_frame(max_size), 0.02)
            except Exception as exc:
                trace.append(_exc_record(exc))
                break
            trace.append((frame.fin, frame.opcode, type(frame.opcode), frame.data, type(frame.data), frame.rsv1))
    finally:
        await feeder
    trace.append(len(reader._buffer))
    return trace


def run_legacy(case: dict[str, Any]) -> list[Any]:
    return asyncio.run(_legacy_frames(case))


@settings(_SETTINGS, max_examples=60)
@given(case=protocol_cases())
def test_legacy_read_frame_as_websockets(patching, case):
    expected = run_legacy(case)
    with patching():
        got = run_legacy(case)
    assert got == expected


# ---------------------------------------------------------------------------
# Echo over loopback: websockets' public API, patched, with and without compression.

ECHO_MESSAGES = [
    "",
    "hello",
    "héllo wörld ✓ 🎉" * 40,
    b"",
    bytes(range(256)) * 3,
    b"\x00" * 125,
    b"\x01" * 126,
    b"\x02" * 65535,
    b"\x03" * 65536,
    "🎉" * 70000,
]


@dataclasses.dataclass
class Echoed:
    sent: list[Any]
    received: list[Any]
    close_code: Optional[int]


FRAGMENTED = ["frag", "ment", "ed ✓"]
TOKENS = [f"tok{n} ✓" for n in range(2000)]


async def _coroutine_echo(serve: Any, connect: Any, compression: Optional[str]) -> Echoed:
    """The echo through an implementation with coroutine ``send``/``recv`` (asyncio's, legacy's)."""

    async def handler(ws: Any) -> None:
        async for message in ws:
            await ws.send(message)

    async with serve(handler, "127.0.0.1", 0, compression=compression, max_size=2**21) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}", compression=compression, max_size=2**21) as ws:
            received = []
            for message in ECHO_MESSAGES:
                await ws.send(message)
                received.append(await ws.recv())
            await ws.send(FRAGMENTED)
            received.append(await ws.recv())
            for token in TOKENS:
                await ws.send(token)
            received += [await ws.recv() for _ in TOKENS]
        return Echoed([*ECHO_MESSAGES, "".join(FRAGMENTED), *TOKENS], received, ws.close_code)


async def _asyncio_echo(compression: Optional[str]) -> Echoed:
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve

    return await _coroutine_echo(serve, connect, compression)


def _sync_echo(compression: Optional[str]) -> Echoed:
    import threading

    from websockets.sync.client import connect
    from websockets.sync.server import serve

    def handler(ws: Any) -> None:
        for message in ws:
            ws.send(message)

    with serve(handler, "127.0.0.1", 0, compression=compression, max_size=2**21) as server:
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        try:
            port = server.socket.getsockname()[1]
            with connect(f"ws://127.0.0.1:{port}", compression=compression, max_size=2**21) as ws:
                received = []
                for message in ECHO_MESSAGES:
                    ws.send(message)
                    received.append(ws.recv())
                ws.send(FRAGMENTED)
                received.append(ws.recv())
            return Echoed([*ECHO_MESSAGES, "".join(FRAGMENTED)], received, ws.close_code)
        finally:
            server.shutdown()
            thread.join()


async def _legacy_echo(compression: Optional[str]) -> Echoed:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from websockets.legacy.client import connect
        from websockets.legacy.server import serve

    return await _coroutine_echo(serve, connect, compression)


@pytest.mark.parametrize("compression", [None, "deflate"])
@pytest.mark.parametrize("implementation", ["asyncio", "sync", "legacy"])
def test_echo_over_loopback(patched, implementation, compression):
    if implementation == "asyncio":
        echoed = asyncio.run(_asyncio_echo(compression))
    elif implementation == "legacy":
        echoed = asyncio.run(_legacy_echo(compression))
    else:
        echoed = _sync_echo(compression)
    assert len(echoed.received) == len(echoed.sent)
    for sent, received in zip(echoed.sent, echoed.received):
        assert type(received) is type(sent)
        assert received == sent
    assert echoed.close_code == 1000


async def _too_big(implementation: str) -> tuple[Any, ...]:
    if implementation == "asyncio":
        from websockets.asyncio.client import connect
        from websockets.asyncio.server import serve
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from websockets.legacy.client import connect
            from websockets.legacy.server import serve

    async def handler(ws: Any) -> None:
        async for message in ws:
            await ws.send(message)

    async with serve(handler, "127.0.0.1", 0, max_size=1000) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}") as ws:
            await ws.send("x" * 1000)
            first = await ws.recv()
            await ws.send(["x" * 600, "x" * 401])
            with pytest.raises(websockets.exceptions.ConnectionClosedError) as info:
                await ws.recv()
    return first, info.value.rcvd.code, info.value.rcvd.reason


@pytest.mark.parametrize("implementation", ["asyncio", "legacy"])
def test_message_over_max_size_closes_as_websockets_does(patching, implementation):
    expected = asyncio.run(_too_big(implementation))
    with patching():
        got = asyncio.run(_too_big(implementation))
    assert got == expected
    assert got[1] == 1009


@pytest.mark.parametrize("side", [Side.SERVER, Side.CLIENT])
def test_internal_error_while_reading_a_frame_closes_with_1011(patching, side):
    # websockets' own tests make struct.unpack fail inside Frame.parse; the
    # patched Protocol must meet that failure the same way (code 1011).
    data = b"\x81\x80\x00\x00\x00\x00" if side is Side.SERVER else b"\x81\x00"

    def run() -> tuple[Any, ...]:
        protocol = Protocol(side, logger=logging.getLogger("fastframe.tests.websockets"))
        with mock.patch("struct.unpack", side_effect=RuntimeError("BOOM")):
            with mock.patch("secrets.token_bytes", return_value=b"\x01\x02\x03\x04"):
                protocol.receive_data(data)
        return _exc_record(protocol.parser_exc), protocol.data_to_send(), protocol.state

    expected = run()
    with patching():
        got = run()
    assert got == expected
    assert expected[0] == (RuntimeError, "BOOM")
