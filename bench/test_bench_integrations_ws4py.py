"""ws4py's masking and validation, unpatched and patched by ``fastframe.patch("ws4py")``, in one run.

What ws4py's ``Stream`` calls for every frame it receives:

* ``ws4py Frame.unmask 16B`` / ``64KiB``: a received frame's payload
  unmasked (``Frame.unmask``; ``Frame.mask`` when sending is the same code).
* ``ws4py Utf8Validator 64KiB mixed``: ``ws4py.streaming.Utf8Validator``'s
  ``validate()`` on 64 KiB of mixed-script text, as the stream validates a
  text frame.
* ``ws4py Stream 100x16B masked``: its sans-I/O ``Stream`` receives 100
  masked 16-byte text frames, fed as ``WebSocket.process`` feeds it (the
  bytes its parser asks for), and delivers 100 messages. Reported per frame.

Implementations: ``ws4py`` (its own pure-Python code),
``ws4py+fastframe-cython`` and ``ws4py+fastframe-python``.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

from _support import MASK, encode_frame, label, patched, peer, random_bytes, run_fresh, text, xor_mask

OP_TEXT = 0x1
N_FRAMES = 100
IMPLS = ("ws4py", "ws4py+fastframe-cython", "ws4py+fastframe-python")


@pytest.fixture
def ws4py(request: pytest.FixtureRequest) -> Iterator[Any]:
    """``ws4py.streaming`` as ``impl`` has it: unpatched, or patched on one backend."""
    streaming = peer("ws4py.streaming")
    with patched(request.node.callspec.params["impl"], "ws4py") as on:
        assert (streaming.Utf8Validator.__module__ == "fastframe.integrations.ws4py") is on
        yield streaming


@pytest.mark.parametrize("size", [16, 64 * 1024], ids=["16B", "64KiB"])
@pytest.mark.parametrize("impl", IMPLS)
def test_unmask(benchmark: Any, impl: str, size: int, ws4py: Any) -> None:
    """One received frame's payload unmasked."""
    payload = random_bytes(size)
    frame = peer("ws4py.framing", "Frame")(opcode=2, body=payload, masking_key=MASK, fin=1)
    label(benchmark, f"ws4py Frame.unmask {'16B' if size == 16 else '64KiB'}", impl, nbytes=size, frames=1)
    assert frame.unmask(payload) == xor_mask(payload), "the frame was unmasked wrongly"
    benchmark(frame.unmask, payload)


@pytest.mark.parametrize("impl", IMPLS)
def test_utf8_validator(benchmark: Any, impl: str, ws4py: Any) -> None:
    """64 KiB of mixed-script text validated in one call, as ws4py's stream does."""
    data = bytearray(text("mixed", 64 * 1024))
    validator = ws4py.Utf8Validator()
    label(benchmark, "ws4py Utf8Validator 64KiB mixed", impl, nbytes=len(data), frames=1)

    def validate() -> Any:
        validator.reset()
        return validator.validate(data)

    assert validate()[:2] == (True, True), "the validator read valid text as invalid"
    benchmark(validate)


@pytest.mark.parametrize("impl", IMPLS)
def test_stream(benchmark: Any, request: pytest.FixtureRequest, impl: str, ws4py: Any) -> None:
    """ws4py's Stream receives 100 masked 16-byte text frames, fed the bytes it asks for."""
    rng = random.Random(1)
    expected = [text("mixed", 16, seed=n) for n in range(N_FRAMES)]
    data = b"".join(encode_frame(OP_TEXT, p, mask=rng.randbytes(4)) for p in expected)

    def setup() -> Any:
        return ws4py.Stream(expect_masking=True)

    def receive_all(stream: Any) -> list[bytes]:
        received = []
        pos = 0
        wanted = 1
        send = stream.parser.send
        while pos < len(data):
            chunk = data[pos : pos + wanted]
            pos += len(chunk)
            wanted = send(chunk) or 1
            if stream.has_message:
                received.append(bytes(stream.message.data))
                stream.message = None
        return received

    assert receive_all(setup()) == expected, "the frames were read wrongly"
    label(benchmark, f"ws4py Stream {N_FRAMES}x16B masked", impl, nbytes=16 * N_FRAMES, frames=N_FRAMES)
    run_fresh(benchmark, request.config, receive_all, setup)
