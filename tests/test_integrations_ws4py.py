"""Tests for ``fastframe.integrations.ws4py``: ws4py's own behaviour, faster.

- Differential: random and mutated frame streams, fed to ws4py's sans-I/O
  ``Stream`` in random chunks no larger than it asks for (as its
  ``WebSocket.process`` does), unpatched and patched: the same messages
  (types included), pings, pongs, close and error codes and reasons.
- ``Frame.mask`` and the validator against ws4py's own on random inputs,
  including keys longer than 4 bytes (its parser stores them so) and keys
  its loop rejects.
- Patch/unpatch round trip, import order (fresh interpreters), version refusal.
- An echo over loopback: ws4py's threaded client against a websockets server.

ws4py's own test suite runs patched with ``python -m fastframe.testing.peer ws4py``.
"""

from __future__ import annotations

import textwrap
import threading
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

pytest.importorskip("ws4py")

from ws4py import framing, streaming, utf8validator
from ws4py.client.threadedclient import WebSocketClient
from ws4py.streaming import Stream

from fastframe.integrations import ws4py as integration
from support.encoder import mask
from support.integration import ECHO_MESSAGES, MASKED_STREAMS, PatchCheck, run_fresh
from support.strategies import streams, texts

#: What the patch replaces, as ws4py defines it.
ORIGINALS = {
    (framing.Frame, "mask"): framing.Frame.__dict__["mask"],
    (framing.Frame, "unmask"): framing.Frame.__dict__["unmask"],
    (streaming, "Utf8Validator"): streaming.Utf8Validator,
}


ORIGINAL_VALIDATOR = utf8validator.Utf8Validator

PATCH = PatchCheck(integration, ORIGINALS, "ws4py")
_unpatched = PATCH.unpatched_fixture()
patched = PATCH.patched


def _message(message: Any) -> Any:
    return (type(message).__name__, type(message.data), bytes(message.data or b""), getattr(message, "code", None))


def trace(data: bytes, sizes: list[int], *, expect_masking: bool) -> list[Any]:
    """What the installed ws4py's ``Stream`` reports for ``data``, fed as ``WebSocket.process`` feeds it."""
    stream = Stream(expect_masking=expect_masking)
    events: list[Any] = []
    pos = 0
    sizes = list(sizes)
    wanted = 1
    while pos < len(data):
        take = min(wanted, sizes.pop(0) if sizes else len(data))
        try:
            wanted = stream.parser.send(data[pos : pos + take]) or 1
        except Exception as exc:
            # ws4py lets some errors out of its parser: a new message after an
            # unfinished text message whose bytes end mid-code point takes its
            # len(), which decodes them. The same error, patched or not.
            events.append(("raised", type(exc), str(exc)))
            break
        pos += take
        if stream.closing is not None:
            events.append(("closing", stream.closing.code, bytes(stream.closing.reason or b"")))
            break
        if stream.errors:
            events.append(("errors", [(error.code, error.reason) for error in stream.errors]))
            break
        if stream.has_message:
            events.append(_message(stream.message))
            stream.message = None
        for name in ("pings", "pongs"):
            events += [(name, bytes(control.data)) for control in getattr(stream, name)]
            getattr(stream, name)[:] = []
    return events


def _compare(backend: Any, data: bytes, sizes: list[int], *, expect_masking: bool) -> None:
    expected = trace(data, sizes, expect_masking=expect_masking)
    with patched(backend):
        got = trace(data, sizes, expect_masking=expect_masking)
    assert got == expected


SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(data=st.data(), client=st.booleans(), sizes=st.lists(st.integers(1, 64), max_size=16))
def test_streams_give_the_same_messages_and_errors(backend, data, client, sizes):
    # A server (expect_masking) receives masked frames; a client unmasked ones.
    _compare(backend, data.draw(streams(client)), sizes, expect_masking=not client)


@pytest.mark.parametrize("stream", MASKED_STREAMS)
@pytest.mark.parametrize("step", [1, 5, 1 << 20])
def test_known_streams(backend, stream, step):
    _compare(backend, stream, [step] * (len(stream) // step + 1), expect_masking=True)


@SETTINGS
@given(
    key=st.one_of(st.binary(min_size=4, max_size=12), st.binary(max_size=3), st.none()),
    as_bytearray=st.booleans(),
    payload=st.binary(max_size=300),
)
def test_mask_matches_ws4pys(backend, key, as_bytearray, payload):
    if key is not None and as_bytearray:
        key = bytearray(key)

    def run() -> Any:
        frame = framing.Frame(opcode=2, body=payload, masking_key=key, fin=1)
        try:
            out = frame.mask(payload), frame.unmask(bytearray(payload))
        except Exception as exc:
            return type(exc)
        return [(type(x), bytes(x)) for x in out]

    expected = run()
    with patched(backend):
        got = run()
    assert got == expected
    if key is not None and len(key) >= 4:
        assert got[0][1] == mask(payload, bytes(key[:4]))


@st.composite
def utf8_chunks(draw: Any) -> list[bytes]:
    data = bytearray(draw(texts).encode())
    for _ in range(draw(st.integers(0, 2))):
        data.insert(draw(st.integers(0, len(data))), draw(st.sampled_from((0x80, 0xC0, 0xE0, 0xED, 0xF4, 0xFF, 0xA0))))
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=4)))
    bounds = [0, *cuts, len(data)]
    return [bytes(data[a:b]) for a, b in zip(bounds, bounds[1:])]


@SETTINGS
@given(chunks=utf8_chunks())
def test_validator_matches_ws4pys_indexes_included(backend, chunks):
    original = utf8validator.Utf8Validator()
    expected = [original.validate(bytearray(chunk)) for chunk in [*chunks, b"", b"x"]]
    with patched(backend):
        validator = streaming.Utf8Validator()
        got = [validator.validate(bytearray(chunk)) for chunk in [*chunks, b"", b"x"]]
        validator.reset()
        original.reset()
        assert validator.validate(b"\xc3") == original.validate(bytearray(b"\xc3"))
    assert got == expected


def test_patch_and_unpatch_restore_the_exact_objects(backend):
    with PATCH.round_trip(backend):
        assert framing.Frame.mask is framing.Frame.unmask
        # ws4py's validator reads its table through its module's name: that one stays.
        assert utf8validator.Utf8Validator is ORIGINAL_VALIDATOR


@pytest.mark.parametrize("version", ["0.5.1", "0.7.0", "1.0"])
def test_unsupported_versions_are_refused_and_nothing_is_patched(backend, monkeypatch, version):
    PATCH.check_refused(backend, monkeypatch, version, ">=0.6,<0.7")


IMPORT_ORDER = textwrap.dedent(
    """
    import sys
    order = sys.argv[1]
    if order == "before":
        from ws4py.streaming import Stream
        from ws4py.framing import Frame
    import fastframe
    assert fastframe.patch("ws4py") == ("ws4py",)
    assert fastframe.BACKEND == sys.argv[2], fastframe.BACKEND
    if order == "after":
        from ws4py.streaming import Stream
        from ws4py.framing import Frame
    frame = Frame(opcode=1, body=b"", masking_key=b"\\x01\\x02\\x03\\x04", fin=1)
    assert frame.unmask(b"\\x60\\x60\\x60") == bytearray(b"abc")
    stream = Stream(expect_masking=True)
    stream.parser.send(b"\\x81\\x83\\x01\\x02\\x03\\x04\\x60\\x60\\x60")
    assert stream.has_message and bytes(stream.message.data) == b"abc", stream.errors
    print(Frame.mask.__module__)
    """
)


@pytest.mark.parametrize("order", ["before", "after"])
def test_patch_takes_effect_whatever_the_import_order(backend, order):
    assert run_fresh(IMPORT_ORDER, backend, order).strip() == "fastframe.integrations.ws4py"


# -- An echo over loopback: ws4py's threaded client against a websockets server.

MESSAGES = [*ECHO_MESSAGES, b"\x00"]


class _Client(WebSocketClient):  # type: ignore[misc]
    def opened(self) -> None:
        for message in MESSAGES:
            self.send(message, binary=isinstance(message, bytes))

    def received_message(self, message: Any) -> None:
        self.got.append(message.data.decode() if message.is_text else bytes(message.data))
        if len(self.got) == len(MESSAGES):
            self.close(1000, "done")


def echo() -> list[Any]:
    from websockets.sync.server import serve

    def handler(connection: Any) -> None:
        for message in connection:
            connection.send(message)

    with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        thread = threading.Thread(target=server.serve_forever)
        thread.start()
        try:
            client = _Client(f"ws://127.0.0.1:{server.socket.getsockname()[1]}/")
            client.got = []
            client.connect()
            client.run_forever()
            return list(client.got)
        finally:
            server.shutdown()
            thread.join(30)


def test_echo_over_loopback(backend):
    expected = echo()
    assert expected == MESSAGES
    with patched(backend):
        assert echo() == expected
