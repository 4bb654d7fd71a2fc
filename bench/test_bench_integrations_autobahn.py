"""autobahn's receive path, unpatched and patched by ``fastframe.patch("autobahn")``, in one run.

What autobahn's ``WebSocketProtocol`` calls for every frame it receives
(``autobahn.websocket.protocol``, whatever the transport):

* ``autobahn masker 16B`` / ``64KiB``: ``create_xor_masker(key, length)`` then
  ``process(payload)``, one masker per frame as the protocol makes them.
* ``autobahn Utf8Validator 64KiB mixed``: ``validate()`` on 64 KiB of
  mixed-script text, as the protocol validates a text frame.
* ``autobahn processData 1000x16B masked``: a server protocol (asyncio
  flavour, a transport that drops what is written) receives one buffer of
  1000 masked 16-byte text frames and delivers 1000 messages: the whole
  receive path, frame parsing included. Reported per frame.

Implementations: ``autobahn`` (its own code: NVX, its CFFI C, when it was
built, else pure Python), ``autobahn+fastframe-cython`` and
``autobahn+fastframe-python``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from _support import MASK, encode_frame, label, patched, peer, random_bytes, run_fresh, text, xor_mask

OP_TEXT = 0x1
N_FRAMES = 1000
IMPLS = ("autobahn", "autobahn+fastframe-cython", "autobahn+fastframe-python")


@pytest.fixture
def protocol(request: pytest.FixtureRequest) -> Iterator[Any]:
    """``autobahn.websocket.protocol`` as ``impl`` has it: unpatched, or patched on one backend."""
    module = peer("autobahn.websocket.protocol")
    with patched(request.node.callspec.params["impl"], "autobahn") as on:
        assert (module.create_xor_masker.__module__ == "fastframe.compat.wsaccel") is on
        yield module


@pytest.mark.parametrize("size", [16, 64 * 1024], ids=["16B", "64KiB"])
@pytest.mark.parametrize("impl", IMPLS)
def test_masker(benchmark: Any, impl: str, size: int, protocol: Any) -> None:
    """One frame's payload unmasked by a fresh masker, as the protocol does it."""
    payload = random_bytes(size)
    create = protocol.create_xor_masker
    label(benchmark, f"autobahn masker {'16B' if size == 16 else '64KiB'}", impl, nbytes=size, frames=1)

    def unmask() -> bytes:
        out: bytes = create(MASK, size).process(payload)
        return out

    assert unmask() == xor_mask(payload), "the masker masked wrongly"
    benchmark(unmask)


@pytest.mark.parametrize("impl", IMPLS)
def test_utf8_validator(benchmark: Any, impl: str, protocol: Any) -> None:
    """64 KiB of mixed-script text validated in one call."""
    data = text("mixed", 64 * 1024)
    validator = protocol.Utf8Validator()
    label(benchmark, "autobahn Utf8Validator 64KiB mixed", impl, nbytes=len(data), frames=1)

    def validate() -> Any:
        validator.reset()
        return validator.validate(data)

    assert validate() == (True, True, len(data), len(data)), "the validator read valid text as invalid"
    benchmark(validate)


@pytest.mark.parametrize("impl", IMPLS)
def test_process_data(benchmark: Any, request: pytest.FixtureRequest, impl: str, protocol: Any) -> None:
    """A server protocol receives 1000 masked 16-byte text frames in one buffer."""
    peer("txaio").use_asyncio()
    websocket = peer("autobahn.asyncio.websocket")
    details = peer("autobahn.wamp.types", "TransportDetails")
    rng = random.Random(1)
    expected = [text("mixed", 16, seed=n) for n in range(N_FRAMES)]
    data = b"".join(encode_frame(OP_TEXT, p, mask=rng.randbytes(4)) for p in expected)

    class Transport:
        def write(self, data: bytes) -> None:
            pass

    class Server(websocket.WebSocketServerProtocol):  # type: ignore[misc,name-defined]
        def onMessage(self, payload: bytes, isBinary: bool) -> None:
            self.received.append(payload)

    factory = websocket.WebSocketServerFactory()

    def setup() -> Any:
        # The state autobahn's handshake leaves an open connection in.
        proto = Server()
        proto.received = []
        proto.factory = factory
        proto.transport = Transport()
        proto._transport_details = details()
        proto._connectionMade()
        proto.state = proto.STATE_OPEN
        proto.websocket_version = 18
        proto.websocket_extensions_in_use = []
        proto.inside_message = False
        proto.current_frame = None
        return proto

    def receive(proto: Any) -> list[bytes]:
        proto._dataReceived(data)
        received: list[bytes] = proto.received
        return received

    assert receive(setup()) == expected, "the frames were read wrongly"
    label(benchmark, f"autobahn processData {N_FRAMES}x16B masked", impl, nbytes=16 * N_FRAMES, frames=N_FRAMES)
    run_fresh(benchmark, request.config, receive, setup)
