"""tornado, unpatched and patched by ``fastframe.patch("tornado")``, in one run.

* ``tornado receive 1000x16B masked``: tornado's own frame loop
  (``WebSocketProtocol13._receive_frame``, as its ``_receive_frame_loop``
  calls it) reads 1000 masked 16-byte binary frames that its ``IOStream``
  already holds (a server receiving chat or telemetry); reported per frame.
* ``tornado receive 64KiB masked``: one masked 64 KiB binary frame the same way.
* ``tornado receive 1000 tokens``: 1000 masked text frames of 1-30 bytes in
  mixed scripts, decoded to str (a server receiving small text messages).
* ``tornado websocket_mask 16B`` / ``1KiB`` / ``64KiB``: the mask function as
  ``tornado.websocket`` calls it, ``_websocket_mask(mask, data)``.

Implementations: ``tornado`` (its own code: ``tornado.speedups``' C mask where
built), ``tornado+fastframe-cython`` and ``tornado+fastframe-python``
(patched, on each fastframe backend).

The frames are put in the stream's read buffer directly, as its socket reads
would have left them, and the frame coroutine is driven without an event
loop: every read completes from the buffer, so what is timed is tornado's
per-frame work, not the loop's or the socket's.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from _support import MASK, encode_frame, label, patched, peer, random_bytes, run_fresh, tokens, xor_mask

OP_TEXT, OP_BINARY = 0x1, 0x2
N_FRAMES = 1000
IMPLS = ("tornado", "tornado+fastframe-cython", "tornado+fastframe-python")


@pytest.fixture
def websocket(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The ``tornado.websocket`` module as ``impl`` has it: unpatched, or patched on one backend."""
    module = peer("tornado.websocket")
    with patched(request.node.callspec.params["impl"], "tornado") as on:
        assert (module._websocket_mask.__module__ == "fastframe.integrations.tornado") is on
        yield module


class _Handler:
    """The handler calls tornado's protocol makes, keeping the messages."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    def on_message(self, message: Any) -> None:
        self.messages.append(message)

    def on_ping(self, data: bytes) -> None:
        pass

    def on_pong(self, data: bytes) -> None:
        pass

    def log_exception(self, *exc_info: Any) -> None:
        raise AssertionError("tornado logged an exception") from exc_info[1]

    def on_ws_connection_close(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def stream() -> Iterator[Any]:
    """One tornado ``IOStream`` over a socket pair, made on an event loop that stays open."""
    iostream = peer("tornado.iostream")
    loop = asyncio.new_event_loop()
    ours, theirs = socket.socketpair()

    async def make() -> Any:
        return iostream.IOStream(ours)

    made = loop.run_until_complete(make())
    yield made
    made.close()
    theirs.close()
    loop.close()


def _drive(coroutine: Any) -> None:
    """Run a coroutine whose awaits all complete at once (every read is buffered)."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    raise AssertionError("a read waited for the socket: the frames were not all buffered")


def check_and_run(
    benchmark: Any, request: pytest.FixtureRequest, websocket: Any, stream: Any, data: bytes, n: int, expected: Any
) -> None:
    """Check once that tornado reads ``data`` as ``n`` messages ``expected``, then benchmark it."""
    params = websocket._WebSocketParams()

    def setup() -> Any:
        handler = _Handler()
        proto = websocket.WebSocketProtocol13(handler, mask_outgoing=False, params=params)
        proto.stream = stream
        stream._read_buffer = bytearray(data)
        stream._read_buffer_size = len(data)
        return proto

    def receive(proto: Any) -> list[Any]:
        for _ in range(n):
            _drive(proto._receive_frame())
        return proto.handler.messages  # type: ignore[no-any-return]

    assert receive(setup()) == expected, "the frames were read wrongly"
    assert stream._read_buffer_size == 0
    run_fresh(benchmark, request.config, receive, setup)


@pytest.mark.parametrize("impl", IMPLS)
def test_small_masked_frames(
    benchmark: Any, request: pytest.FixtureRequest, impl: str, websocket: Any, stream: Any
) -> None:
    """A server receives 1000 masked 16-byte binary frames from its buffer."""
    rng = random.Random(1)
    expected = [rng.randbytes(16) for _ in range(N_FRAMES)]
    data = b"".join(encode_frame(OP_BINARY, p, mask=rng.randbytes(4)) for p in expected)
    label(benchmark, f"tornado receive {N_FRAMES}x16B masked", impl, nbytes=16 * N_FRAMES, frames=N_FRAMES)
    check_and_run(benchmark, request, websocket, stream, data, N_FRAMES, expected)


@pytest.mark.parametrize("impl", IMPLS)
def test_64k_masked_frame(
    benchmark: Any, request: pytest.FixtureRequest, impl: str, websocket: Any, stream: Any
) -> None:
    """A server receives one masked 64 KiB binary frame from its buffer."""
    payload = random_bytes(64 * 1024)
    label(benchmark, "tornado receive 64KiB masked", impl, nbytes=len(payload), frames=1)
    data = encode_frame(OP_BINARY, payload, mask=MASK)
    check_and_run(benchmark, request, websocket, stream, data, 1, [payload])


@pytest.mark.parametrize("impl", IMPLS)
def test_token_stream(benchmark: Any, request: pytest.FixtureRequest, impl: str, websocket: Any, stream: Any) -> None:
    """A server receives 1000 masked 1-30 byte text frames, decoded to str."""
    expected = tokens(30 * N_FRAMES)[:N_FRAMES]
    data = b"".join(encode_frame(OP_TEXT, token, mask=MASK) for token in expected)
    label(benchmark, f"tornado receive {N_FRAMES} tokens", impl, nbytes=sum(map(len, expected)), frames=N_FRAMES)
    check_and_run(benchmark, request, websocket, stream, data, N_FRAMES, [t.decode() for t in expected])


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize(("case", "size"), [("16B", 16), ("1KiB", 1024), ("64KiB", 65536)])
def test_mask(benchmark: Any, impl: str, websocket: Any, case: str, size: int) -> None:
    """``_websocket_mask(mask, data)`` as ``tornado.websocket`` calls it."""
    data = random_bytes(size)
    assert websocket._websocket_mask(MASK, data) == xor_mask(data), "masked wrongly"
    label(benchmark, f"tornado websocket_mask {case}", impl, nbytes=size)
    benchmark(websocket._websocket_mask, MASK, data)
