"""Masking throughput (RFC 6455 §5.3): fastframe vs the peers' compiled maskers.

Two operations, each at every size in ``SIZES``:

* ``apply_mask``: bytes in, a new masked buffer out. Peers that only mask in
  place (aiohttp) pay for the copy into a new bytearray, which is what they do
  with a received payload anyway. ``copy`` is ``bytearray(data)``: one
  allocation and one memcpy, the floor for any "new buffer out" function.
* ``mask_inplace``: XOR a preallocated bytearray in place, with no allocation
  (the buffer just flips between masked and unmasked every call). ``copy`` is
  ``memoryview(buf)[:] = other``: a memcpy into an existing buffer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from _support import FASTFRAME, MASK, SIZES, fastframe, label, peer, random_bytes, xor_mask

APPLY_IMPLS = (*FASTFRAME, "websockets", "aiohttp", "tornado", "wsaccel", "wsproto", "copy")
INPLACE_IMPLS = (*FASTFRAME, "aiohttp", "copy")


Call = tuple[Callable[..., Any], tuple[Any, ...]]


def apply_masker(impl: str, data: bytes) -> Call:
    """Return ``(func, args)``: ``func(*args)`` masks ``data`` with ``MASK`` into a new buffer.

    Compiled functions are handed to pytest-benchmark directly, with their own
    argument order, so no Python wrapper frame (~30 ns) dilutes the ratios.
    Wrappers remain only where the peer's API needs more than one call.
    """
    if impl.startswith("fastframe"):
        return fastframe(impl).apply_mask, (data, MASK)
    if impl == "websockets":
        return peer("websockets.speedups", "apply_mask"), (data, MASK)
    if impl == "aiohttp":
        aio_mask = peer("aiohttp._websocket.mask", "_websocket_mask_cython")

        def aiohttp_apply(data: bytes) -> bytearray:
            buf = bytearray(data)
            aio_mask(MASK, buf)
            return buf

        return aiohttp_apply, (data,)
    if impl == "tornado":
        return peer("tornado.speedups", "websocket_mask"), (MASK, data)
    if impl in ("wsaccel", "wsproto"):
        # Both maskers keep their key phase between calls, so a one-shot use
        # builds a new one (as wsproto, autobahn and ws4py do per frame).
        module = "wsaccel.xormask" if impl == "wsaccel" else "wsproto.frame_protocol"
        masker = peer(module, "XorMaskerSimple")
        return (lambda data: masker(MASK).process(data)), (data,)
    if impl == "copy":
        return bytearray, (data,)
    raise AssertionError(impl)


def inplace_masker(impl: str, buf: bytearray) -> Call:
    """Return ``(func, args)``: ``func(*args)`` masks ``buf`` in place (or copies into it)."""
    if impl.startswith("fastframe"):
        return fastframe(impl).mask_inplace, (buf, MASK)
    if impl == "aiohttp":
        return peer("aiohttp._websocket.mask", "_websocket_mask_cython"), (MASK, buf)
    if impl == "copy":
        # A memoryview slice assignment is a plain memcpy; ``bytearray[:] =``
        # takes a much slower generic path and would flatter the maskers.
        return memoryview(buf).__setitem__, (slice(None), bytes(len(buf)))
    raise AssertionError(impl)


@pytest.mark.parametrize("impl", APPLY_IMPLS)
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_apply_mask(benchmark: Any, impl: str, size: int) -> None:
    """Mask ``size`` random bytes into a new buffer."""
    data = random_bytes(size)
    func, args = apply_masker(impl, data)
    expected = data if impl == "copy" else xor_mask(data)
    assert bytes(func(*args)) == expected, f"{impl} masked {size} bytes wrongly"

    label(benchmark, f"apply_mask {SIZES_BY_VALUE[size]}", impl, nbytes=size)
    benchmark(func, *args)


@pytest.mark.parametrize("impl", INPLACE_IMPLS)
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_mask_inplace(benchmark: Any, impl: str, size: int) -> None:
    """XOR a preallocated bytearray in place: no allocation per call."""
    data = random_bytes(size)
    buf = bytearray(data)
    func, args = inplace_masker(impl, buf)
    if impl != "copy":
        func(*args)
        assert buf == xor_mask(data), f"{impl} masked {size} bytes in place wrongly"
        func(*args)
        assert buf == data, f"{impl} did not unmask {size} bytes in place"

    label(benchmark, f"mask_inplace {SIZES_BY_VALUE[size]}", impl, nbytes=size)
    benchmark(func, *args)


SIZES_BY_VALUE = {size: name for name, size in SIZES.items()}
