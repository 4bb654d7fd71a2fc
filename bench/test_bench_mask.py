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


def apply_masker(impl: str) -> Callable[[bytes], Any]:
    """Return ``f(data) -> masked buffer`` for ``impl`` (the key is ``MASK``)."""
    if impl.startswith("fastframe"):
        apply_mask = fastframe(impl).apply_mask
        return lambda data: apply_mask(data, MASK)
    if impl == "websockets":
        ws_apply_mask = peer("websockets.speedups", "apply_mask")
        return lambda data: ws_apply_mask(data, MASK)
    if impl == "aiohttp":
        aio_mask = peer("aiohttp._websocket.mask", "_websocket_mask_cython")

        def aiohttp_apply(data: bytes) -> bytearray:
            buf = bytearray(data)
            aio_mask(MASK, buf)
            return buf

        return aiohttp_apply
    if impl == "tornado":
        websocket_mask = peer("tornado.speedups", "websocket_mask")
        return lambda data: websocket_mask(MASK, data)
    if impl == "wsaccel":
        # The masker keeps its key phase between calls, so a one-shot use
        # builds a new one (as autobahn and ws4py do per frame).
        wsaccel_masker = peer("wsaccel.xormask", "XorMaskerSimple")
        return lambda data: wsaccel_masker(MASK).process(data)
    if impl == "wsproto":
        wsproto_masker = peer("wsproto.frame_protocol", "XorMaskerSimple")
        return lambda data: wsproto_masker(MASK).process(data)
    if impl == "copy":
        return bytearray
    raise AssertionError(impl)


def inplace_masker(impl: str) -> Callable[[bytearray], Any]:
    """Return ``f(buf)`` that masks ``buf`` in place (or copies into it)."""
    if impl.startswith("fastframe"):
        mask_inplace = fastframe(impl).mask_inplace
        return lambda buf: mask_inplace(buf, MASK)
    if impl == "aiohttp":
        aio_mask = peer("aiohttp._websocket.mask", "_websocket_mask_cython")
        return lambda buf: aio_mask(MASK, buf)
    raise AssertionError(impl)


@pytest.mark.parametrize("impl", APPLY_IMPLS)
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_apply_mask(benchmark: Any, impl: str, size: int) -> None:
    """Mask ``size`` random bytes into a new buffer."""
    func = apply_masker(impl)
    data = random_bytes(size)
    expected = data if impl == "copy" else xor_mask(data)
    assert bytes(func(data)) == expected, f"{impl} masked {size} bytes wrongly"

    label(benchmark, f"apply_mask {SIZES_BY_VALUE[size]}", impl, nbytes=size)
    benchmark(func, data)


@pytest.mark.parametrize("impl", INPLACE_IMPLS)
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_mask_inplace(benchmark: Any, impl: str, size: int) -> None:
    """XOR a preallocated bytearray in place: no allocation per call."""
    data = random_bytes(size)
    buf = bytearray(data)
    if impl == "copy":
        # A memoryview slice assignment is a plain memcpy; ``bytearray[:] =``
        # takes a much slower generic path and would flatter the maskers.
        source = bytes(size)
        view = memoryview(buf)

        def func(_target: bytearray) -> None:
            view[:] = source

    else:
        func = inplace_masker(impl)
        func(buf)
        assert buf == xor_mask(data), f"{impl} masked {size} bytes in place wrongly"
        func(buf)
        assert buf == data, f"{impl} did not unmask {size} bytes in place"

    label(benchmark, f"mask_inplace {SIZES_BY_VALUE[size]}", impl, nbytes=size)
    benchmark(func, buf)


SIZES_BY_VALUE = {size: name for name, size in SIZES.items()}
