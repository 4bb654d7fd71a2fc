"""websockets' own receive path, unpatched and patched by ``fastframe.patch("websockets")``, in one run.

Workloads (see DESIGN.md), each a server receiving masked binary frames:

* ``websockets Protocol 1000x16B masked``: the sans-I/O ``Protocol`` (behind
  websockets' asyncio, threading and trio connections, and uvicorn's
  ``websockets-sansio``) gets one buffer holding 1000 masked 16-byte frames:
  ``receive_data()`` then ``events_received()``. Reported per frame.
* ``websockets Protocol 64KiB masked``: the same with one 64 KiB frame.
* ``websockets legacy 1000x16B masked`` and ``... 64KiB masked``: the legacy
  implementation (uvicorn's ``ws="websockets"``): ``read_frame()`` until the
  ``asyncio.StreamReader`` holding the frames is empty.

Implementations (``extra_info["impl"]``): ``websockets`` unpatched, and
``websockets+fastframe-cython`` / ``websockets+fastframe-python`` patched on
each fastframe backend. Each round gets a fresh protocol (built outside the
timed region); every implementation's frames are checked once before timing.
"""

from __future__ import annotations

import asyncio
import random
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from _support import MASK, encode_frame, label, peer, random_bytes, run_fresh

OP_BINARY = 0x2
N_FRAMES = 1000
IMPLS = ("websockets", "websockets+fastframe-cython", "websockets+fastframe-python")


@pytest.fixture
def patched_as(request: pytest.FixtureRequest) -> Iterator[Any]:
    """``patched_as(impl)`` patches websockets on the backend ``impl`` names, until the test ends."""
    from fastframe.integrations import _patching, websockets as integration

    def apply(impl: str) -> None:
        if impl == "websockets":
            return
        backend = impl.rpartition("-")[2]
        try:
            with _patching.using_backend(backend):
                integration.patch()
        except ImportError as exc:
            pytest.skip(f"cannot patch websockets on {backend}: {exc}")

    try:
        yield apply
    finally:
        integration.unpatch()


def small_frames() -> tuple[bytes, list[bytes]]:
    rng = random.Random(1)
    payloads = [rng.randbytes(16) for _ in range(N_FRAMES)]
    return b"".join(encode_frame(OP_BINARY, p, mask=rng.randbytes(4)) for p in payloads), payloads


def big_frame() -> tuple[bytes, list[bytes]]:
    payload = random_bytes(64 * 1024)
    return encode_frame(OP_BINARY, payload, mask=MASK), [payload]


CASES = {"1000x16B masked": small_frames, "64KiB masked": big_frame}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("impl", IMPLS)
def test_protocol_receive(
    benchmark: Any, request: pytest.FixtureRequest, patched_as: Any, impl: str, case: str
) -> None:
    """websockets' sans-I/O Protocol, server side, receives one buffer of frames."""
    protocol_class = peer("websockets.protocol", "Protocol")
    server = peer("websockets.protocol", "Side").SERVER
    data, expected = CASES[case]()
    label(benchmark, f"websockets Protocol {case}", impl, nbytes=sum(map(len, expected)), frames=len(expected))
    patched_as(impl)

    def receive(protocol: Any) -> list[Any]:
        protocol.receive_data(data)
        return protocol.events_received()  # type: ignore[no-any-return]

    def setup() -> Any:
        return protocol_class(server, max_size=None)

    assert [bytes(frame.data) for frame in receive(setup())] == expected, f"{impl} received wrong frames"
    run_fresh(benchmark, request.config, receive, setup)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("impl", IMPLS)
def test_legacy_receive(benchmark: Any, request: pytest.FixtureRequest, patched_as: Any, impl: str, case: str) -> None:
    """websockets' legacy protocol, server side, reads every frame its StreamReader holds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        common = peer("websockets.legacy.protocol", "WebSocketCommonProtocol")
    data, expected = CASES[case]()
    label(benchmark, f"websockets legacy {case}", impl, nbytes=sum(map(len, expected)), frames=len(expected))
    patched_as(impl)
    loop = asyncio.new_event_loop()

    async def read_all(protocol: Any) -> list[Any]:
        reader = protocol.reader
        frames = []
        while reader._buffer:
            frames.append(await protocol.read_frame(None))
        return frames

    def receive(protocol: Any) -> list[Any]:
        return loop.run_until_complete(read_all(protocol))

    async def new_protocol() -> Any:
        protocol = common(max_size=None)
        protocol.is_client = False  # what WebSocketServerProtocol sets
        protocol.reader.feed_data(data)
        return protocol

    def setup() -> Any:
        return loop.run_until_complete(new_protocol())

    try:
        assert [frame.data for frame in receive(setup())] == expected, f"{impl} read wrong frames"
        run_fresh(benchmark, request.config, receive, setup)
    finally:
        loop.close()
