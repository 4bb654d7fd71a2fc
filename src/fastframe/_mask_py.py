"""WebSocket payload masking (RFC 6455 §5.3), pure-Python twin of ``_mask``.

Pure Python has two fast ways to XOR bytes, both running in C inside the
interpreter: for short data, a whole-integer XOR (the payload becomes one big
integer, the repeated key another); for longer data, where converting to and
from integers costs more, ``bytes.translate`` with a 256-byte XOR table
applied to every fourth byte — four strided passes at C speed.

Long data is masked in blocks of ``_BLOCK`` bytes, so that the strided
temporaries stay small and a new payload is built with one allocation of its
final size: two payload-sized buffers alive at once push glibc's heap past its
trim threshold, and every call then pays a page fault per 4 KiB (it shows in
the ``apply_mask 1MiB`` case of bench/test_bench_mask.py).
"""

from __future__ import annotations

import io
import operator
import sys
from collections.abc import Iterator
from typing import Optional, Union

from ._buffers import Buffer, byte_view, mask_key, rotate_key

__all__ = ["apply_mask", "mask_inplace", "KERNEL"]

#: Name of the masking kernel in use (the compiled twin names its SIMD kernel).
KERNEL = "python"


# Crossover between the two methods: the integer XOR wins up to 1 KiB, which
# is 2**8 keys (see _xor); the 1KiB and 16KiB cases of bench/test_bench_mask.py
# fall on either side of it.
_INTEGER_XOR_UP_TO = 1024

#: ``_REPEAT[i]`` is the bytes ``01 00 00 00`` repeated ``2**i`` times, as an
#: integer: times a 4-byte key, it is the key repeated.  One multiplication by
#: a small number is cheaper than building the repeated key as bytes and
#: converting those.
_REPEAT = [
    int.from_bytes(b"\x01\x00\x00\x00" * (1 << i), "little") for i in range((_INTEGER_XOR_UP_TO >> 2).bit_length())
]

#: The largest offset the compiled twin takes (a C ``Py_ssize_t``).
_MAX_OFFSET = sys.maxsize

#: Bytes masked per round of strided passes; a multiple of 4, so every block
#: starts at key phase 0.  64 KiB was the fastest block from 256 KiB to 8 MiB
#: of data (``apply_mask 1MiB`` in bench/test_bench_mask.py).
_BLOCK = 64 * 1024

#: ``_XOR_TABLES[k]`` is the ``bytes.translate`` table that XORs every byte
#: with ``k``.  Built as integers (the identity table XORed with ``k`` in every
#: byte), all 256 of them (64 KiB) are made once, at import, by big-integer
#: arithmetic in C rather than a loop over bytes.
_IDENTITY_TABLE = int.from_bytes(bytes(range(256)), "little")
_EVERY_BYTE_ONE = int.from_bytes(b"\x01" * 256, "little")
_XOR_TABLES = [(_IDENTITY_TABLE ^ _EVERY_BYTE_ONE * byte).to_bytes(256, "little") for byte in range(256)]


def _xor(data: Buffer, key: bytes, length: int) -> bytes:
    """XOR ``length`` bytes of ``data`` with ``key`` repeated from its start."""
    if length > _INTEGER_XOR_UP_TO:
        return _xor_translate_copy(data, key, length)
    # 2**i whole keys cover the data: the smallest power of two that does,
    # so that _REPEAT stays a handful of integers.
    i = (((length + 3) >> 2) - 1).bit_length()
    stream = int.from_bytes(key, "little") * _REPEAT[i]
    masked = (int.from_bytes(data, "little") ^ stream).to_bytes(4 << i, "little")
    return masked if len(masked) == length else masked[:length]


def _blocks(length: int) -> Iterator[tuple[int, int]]:
    """Split ``range(length)`` into ``(start, end)`` blocks of ``_BLOCK`` bytes.

    A tail shorter than the key joins the block before it: on that tail some
    strided slice would be empty, and bytearray treats an empty extended
    slice assignment as a deletion, which it refuses while exported.
    """
    start = 0
    while start < length:
        end = start + _BLOCK
        if length - end < 4:
            end = length
        yield start, end
        start = end


def _translate_block(block: bytearray, key: bytes, start: int = 0, end: Optional[int] = None) -> None:
    """XOR ``block[start:end]`` in place with ``key``, one strided pass per key byte."""
    # Unrolled: on a few KiB a loop and its slice objects show in
    # bench/test_bench_mask.py's 16KiB cases.
    block[start:end:4] = block[start:end:4].translate(_XOR_TABLES[key[0]])
    block[start + 1 : end : 4] = block[start + 1 : end : 4].translate(_XOR_TABLES[key[1]])
    block[start + 2 : end : 4] = block[start + 2 : end : 4].translate(_XOR_TABLES[key[2]])
    block[start + 3 : end : 4] = block[start + 3 : end : 4].translate(_XOR_TABLES[key[3]])


def _xor_translate_copy(data: Buffer, key: bytes, length: int) -> bytes:
    """``_xor`` for long data: masked into a new ``bytes``, one block at a time."""
    if length <= _BLOCK:
        block = bytearray(data)
        _translate_block(block, key)
        return bytes(block)
    # BytesIO.getvalue() hands over its own buffer when that is exactly full,
    # so the result is allocated once, at its final size (a copy would be
    # correct too, only slower: PyPy, for one, may copy).
    source = memoryview(data)
    result = io.BytesIO()
    result.seek(length - 1)
    result.write(b"\0")
    result.seek(0)
    for start, end in _blocks(length):
        block = bytearray(source[start:end])
        _translate_block(block, key)
        result.write(block)
    return result.getvalue()


def _xor_translate(buffer: Union[bytearray, memoryview], key: bytes) -> None:
    """XOR a writable buffer in place, one block of strided passes at a time."""
    length = len(buffer)
    if isinstance(buffer, bytearray):
        for start, end in _blocks(length):
            _translate_block(buffer, key, start, end)
    else:
        # A strided memoryview assignment copies byte by byte in a generic
        # loop, far slower than a bytearray copy of each block.
        for start, end in _blocks(length):
            block = bytearray(buffer[start:end])
            _translate_block(block, key)
            buffer[start:end] = block


def apply_mask(data: Buffer, mask: Buffer) -> bytes:
    """Mask or unmask ``data`` with a 4-byte key (RFC 6455 §5.3).

    Masking and unmasking are the same operation: byte ``i`` is XORed with
    ``mask[i % 4]``.  Thread-safe: threads may call it at once on the same
    ``data``.

    Args:
        data: any C-contiguous buffer (bytes, bytearray, memoryview, ...).
        mask: the 4-byte masking key.

    Returns:
        A new ``bytes`` object with the (un)masked data.

    Raises:
        TypeError: ``data`` or ``mask`` is not a C-contiguous buffer.
        ValueError: ``mask`` is not exactly 4 bytes long.
    """
    key = mask_key(mask)
    if type(data) is not bytes:
        data = byte_view(data)
    length = len(data)
    if length == 0:
        return b""
    return _xor(data, key, length)


def mask_inplace(buffer: Buffer, mask: Buffer, offset: int = 0) -> None:
    """Mask or unmask a writable buffer in place (RFC 6455 §5.3).

    ``offset`` is the position of ``buffer[0]`` within the masked payload:
    unmasking a payload that arrives in chunks is ``mask_inplace(chunk, mask,
    offset)`` with ``offset`` advanced by each chunk's length, with no copy.
    Thread-safe as long as no other thread uses ``buffer`` meanwhile.

    Args:
        buffer: a writable C-contiguous buffer (bytearray, writable memoryview).
        mask: the 4-byte masking key.
        offset: position of ``buffer[0]`` in the payload; only ``offset % 4``
            matters.

    Raises:
        TypeError: ``buffer`` is read-only or not a buffer, or ``mask`` is not
            a buffer.
        ValueError: ``mask`` is not 4 bytes long or ``offset`` is negative.
        OverflowError: ``offset`` does not fit in a C ``Py_ssize_t``.
    """
    # A bytearray (the usual receive buffer) needs no view: skipping it
    # halves the cost of a small chunk.
    target = buffer if type(buffer) is bytearray else byte_view(buffer, writable=True)
    key = mask_key(mask)
    if type(offset) is not int:
        offset = operator.index(offset)
    if not 0 <= offset <= _MAX_OFFSET:
        if offset < 0:
            raise ValueError(f"offset must be >= 0, got {offset}")
        raise OverflowError("offset is too large")
    length = len(target)
    if length == 0:
        return
    # rotate_key tests the phase too; testing it here skips the call in the
    # usual case, phase 0, which shows on small chunks (mask_inplace 16B in
    # bench/test_bench_mask.py).
    if offset & 3:
        key = rotate_key(key, offset)
    if length > _INTEGER_XOR_UP_TO:
        _xor_translate(target, key)
    else:
        target[:] = _xor(target, key, length)
