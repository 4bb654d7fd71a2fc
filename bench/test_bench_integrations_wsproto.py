"""wsproto's receive path, unpatched and patched by ``fastframe.patch("wsproto")``, in one run.

What wsproto users run: ``FrameProtocol.receive_bytes`` then
``received_frames()`` (what ``wsproto.connection.Connection`` calls for every
``receive_data``), with a fresh protocol for every round.

* ``wsproto FrameProtocol 1000x16B masked``: a server receives one buffer of
  1000 masked 16-byte binary frames (chat, telemetry). Reported per frame.
* ``wsproto FrameProtocol 64KiB masked``: a server receives one masked 64 KiB
  binary frame (file upload).
* ``wsproto FrameProtocol 1000 tokens``: a client receives 1000 unmasked text
  frames of 1-30 bytes in mixed scripts (AI token streaming), decoded to str.

Implementations: ``wsproto`` (its own code), ``wsproto+fastframe-cython`` and
``wsproto+fastframe-python`` (patched, the integration built on each
fastframe backend). The issue's target is ``wsproto+fastframe-cython`` at
least 5x faster than ``wsproto`` on the first two (``bench/ratios.py``
reports it).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from _support import MASK, encode_frame, label, patched, peer, random_bytes, run_fresh, tokens

OP_TEXT, OP_BINARY = 0x1, 0x2
N_FRAMES = 1000
IMPLS = ("wsproto", "wsproto+fastframe-cython", "wsproto+fastframe-python")


@pytest.fixture
def frame_protocol(request: pytest.FixtureRequest) -> Iterator[Any]:
    """wsproto's ``FrameProtocol`` class as ``impl`` has it: unpatched, or patched on one backend."""
    frame_protocol = peer("wsproto.frame_protocol")
    with patched(request.node.callspec.params["impl"], "wsproto") as on:
        assert (frame_protocol.FrameProtocol.__module__ == "fastframe.integrations.wsproto") is on
        yield frame_protocol.FrameProtocol


def check_and_run(
    benchmark: Any, request: pytest.FixtureRequest, protocol: Any, data: bytes, expected: list[Any], *, client: bool
) -> None:
    """Check once that the protocol reads ``data`` as ``expected``, then benchmark it."""

    def setup() -> Any:
        return protocol(client=client, extensions=[])

    def receive(proto: Any) -> list[Any]:
        proto.receive_bytes(data)
        return list(proto.received_frames())

    frames = receive(setup())
    assert [frame.payload for frame in frames] == expected, "the frames were read wrongly"
    assert all(frame.frame_finished and frame.message_finished for frame in frames)
    run_fresh(benchmark, request.config, receive, setup)


@pytest.mark.parametrize("impl", IMPLS)
def test_small_masked_frames(benchmark: Any, request: pytest.FixtureRequest, impl: str, frame_protocol: Any) -> None:
    """A server receives 1000 masked 16-byte binary frames in one buffer."""
    rng = random.Random(1)
    expected = [rng.randbytes(16) for _ in range(N_FRAMES)]
    data = b"".join(encode_frame(OP_BINARY, p, mask=rng.randbytes(4)) for p in expected)
    label(benchmark, f"wsproto FrameProtocol {N_FRAMES}x16B masked", impl, nbytes=16 * N_FRAMES, frames=N_FRAMES)
    check_and_run(benchmark, request, frame_protocol, data, expected, client=False)


@pytest.mark.parametrize("impl", IMPLS)
def test_64k_masked_frame(benchmark: Any, request: pytest.FixtureRequest, impl: str, frame_protocol: Any) -> None:
    """A server receives one masked 64 KiB binary frame."""
    payload = random_bytes(64 * 1024)
    label(benchmark, "wsproto FrameProtocol 64KiB masked", impl, nbytes=len(payload), frames=1)
    data = encode_frame(OP_BINARY, payload, mask=MASK)
    check_and_run(benchmark, request, frame_protocol, data, [payload], client=False)


@pytest.mark.parametrize("impl", IMPLS)
def test_token_stream(benchmark: Any, request: pytest.FixtureRequest, impl: str, frame_protocol: Any) -> None:
    """A client receives 1000 unmasked 1-30 byte text frames (an AI response), decoded to str."""
    expected = tokens(30 * N_FRAMES)[:N_FRAMES]
    data = b"".join(encode_frame(OP_TEXT, token, mask=None) for token in expected)
    label(benchmark, f"wsproto FrameProtocol {N_FRAMES} tokens", impl, nbytes=sum(map(len, expected)), frames=N_FRAMES)
    check_and_run(benchmark, request, frame_protocol, data, [t.decode() for t in expected], client=True)
