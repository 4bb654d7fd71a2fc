"""aiohttp's WebSocket reader, unpatched and patched by ``fastframe.patch("aiohttp")``, in one run.

Workloads (see DESIGN.md), each one buffer through ``WebSocketReader.feed_data``
into aiohttp's ``WebSocketDataQueue`` (its compiled twin when aiohttp has one),
the messages left in the queue unread:

* ``aiohttp reader 1000x16B masked``: what a server reads from chat or telemetry clients.
* ``aiohttp reader 64KiB masked``: one masked 64 KiB binary frame (uploads), the
  reader's first frame.  The first frame fastframe could read goes to aiohttp's
  own parser (so that its state is what aiohttp's reading leaves: see
  ``FrameRelay``), so patched and unpatched read this one alike.
* ``aiohttp reader 64KiB masked, second``: the same frame after a small one
  (fed in the untimed setup), as every frame but a connection's first is read.
* ``aiohttp reader 4MiB masked in 64KiB reads, second``: one masked 4 MiB binary
  frame (a file transfer) fed 64 KiB at a time, after a small one as above: the
  frame spans reads, as every large one does.
* ``aiohttp reader 1000 tokens``: a client reads unmasked text frames of 5-30 bytes
  in mixed scripts (AI token streaming), decoded to ``str``.

Implementations: ``aiohttp`` (its own reader), ``aiohttp+fastframe-cython`` and
``aiohttp+fastframe-python`` (patched, on each fastframe backend).  Each round
uses a fresh reader and queue, built outside the timed region.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from _support import MASK, encode_frame, peer, random_bytes, run_fresh, tokens

OP_TEXT, OP_BINARY = 0x1, 0x2
LIMIT = 64 * 1024 * 1024
N_FRAMES = 1000
IMPLS = ("aiohttp", "aiohttp+fastframe-cython", "aiohttp+fastframe-python")


class _Protocol:
    """The two members of aiohttp's protocol that its data queue touches."""

    _reading_paused = False

    def pause_reading(self) -> None:
        """Never reached: the queue's limit is far above what we feed it."""


def reader_class(impl: str) -> Any:
    """aiohttp's reader class, or the one ``fastframe.patch("aiohttp")`` installs on a backend."""
    reader = peer("aiohttp._websocket.reader")
    if impl == "aiohttp":
        return reader.WebSocketReader
    integration = pytest.importorskip("fastframe.integrations.aiohttp")
    patching = pytest.importorskip("fastframe.integrations._patching")
    try:
        with patching.using_backend(impl.rpartition("-")[2]):
            integration.patch()
        return reader.WebSocketReader
    except ImportError as exc:
        pytest.skip(f"{impl}: {exc}")
    finally:
        integration.unpatch()


def run(
    benchmark: Any,
    request: pytest.FixtureRequest,
    impl: str,
    group: str,
    data: bytes | list[bytes],
    expected: list[Any],
    first: bytes = b"",
) -> None:
    """Check that ``impl`` queues ``expected`` from ``data``, then benchmark it.

    ``data``: one buffer, or the reads fed one after the other.  ``first``:
    frames fed to each fresh reader before ``data``, outside the timed region.
    """
    queue_cls = peer("aiohttp._websocket.reader", "WebSocketDataQueue")
    cls = reader_class(impl)

    def setup() -> Any:
        queue = queue_cls(_Protocol(), 2**30, loop=None)
        reader = cls(queue, LIMIT, False, True)
        if first:
            reader.feed_data(first)
            queue._buffer.clear()
        return reader, queue

    reads = data if isinstance(data, list) else [data]
    reader, queue = setup()
    for read in reads:
        assert reader.feed_data(read) == (False, b""), f"{impl} failed: {queue.exception()!r}"
    assert [message.data for message, _size in queue._buffer] == expected, f"{impl} read the frames wrongly"
    benchmark.group = group
    benchmark.extra_info["impl"] = impl
    benchmark.extra_info["frames"] = len(expected)
    benchmark.extra_info["bytes"] = sum(len(item) for item in expected)
    if isinstance(data, bytes):
        run_fresh(benchmark, request.config, lambda state: state[0].feed_data(data), setup)
        return

    def feed_all(state: Any) -> None:
        feed = state[0].feed_data
        for read in reads:
            feed(read)

    run_fresh(benchmark, request.config, feed_all, setup)


@pytest.mark.parametrize("impl", IMPLS)
def test_small_masked_frames(benchmark: Any, request: pytest.FixtureRequest, impl: str) -> None:
    """A server reads 1000 masked 16-byte binary frames from one buffer."""
    rng = random.Random(1)
    expected = [rng.randbytes(16) for _ in range(N_FRAMES)]
    data = b"".join(encode_frame(OP_BINARY, p, mask=rng.randbytes(4)) for p in expected)
    run(benchmark, request, impl, f"aiohttp reader {N_FRAMES}x16B masked", data, expected)


@pytest.mark.parametrize("impl", IMPLS)
def test_64k_masked_frame(benchmark: Any, request: pytest.FixtureRequest, impl: str) -> None:
    """A server reads one masked 64 KiB binary frame."""
    payload = random_bytes(64 * 1024)
    run(benchmark, request, impl, "aiohttp reader 64KiB masked", encode_frame(OP_BINARY, payload, mask=MASK), [payload])


@pytest.mark.parametrize("impl", IMPLS)
def test_64k_masked_frame_second(benchmark: Any, request: pytest.FixtureRequest, impl: str) -> None:
    """A server reads one masked 64 KiB binary frame after a 16-byte one."""
    payload = random_bytes(64 * 1024)
    data = encode_frame(OP_BINARY, payload, mask=MASK)
    first = encode_frame(OP_BINARY, bytes(16), mask=MASK)
    run(benchmark, request, impl, "aiohttp reader 64KiB masked, second", data, [payload], first)


@pytest.mark.parametrize("impl", IMPLS)
def test_4m_masked_frame_in_64k_reads(benchmark: Any, request: pytest.FixtureRequest, impl: str) -> None:
    """A server reads one masked 4 MiB binary frame 64 KiB at a time, after a 16-byte one."""
    payload = random_bytes(4 * 1024 * 1024)
    data = encode_frame(OP_BINARY, payload, mask=MASK)
    reads = [data[i : i + 64 * 1024] for i in range(0, len(data), 64 * 1024)]
    first = encode_frame(OP_BINARY, bytes(16), mask=MASK)
    run(benchmark, request, impl, "aiohttp reader 4MiB masked in 64KiB reads, second", reads, [payload], first)


@pytest.mark.parametrize("impl", IMPLS)
def test_tokens(benchmark: Any, request: pytest.FixtureRequest, impl: str) -> None:
    """A client reads 1000 unmasked text frames of 5-30 bytes (mixed scripts), decoded to str."""
    pool = [token for token in tokens(40_000) if 5 <= len(token) <= 30]
    expected = [pool[i % len(pool)].decode() for i in range(N_FRAMES)]
    data = b"".join(encode_frame(OP_TEXT, text.encode(), mask=None) for text in expected)
    run(benchmark, request, impl, f"aiohttp reader {N_FRAMES} tokens", data, expected)
