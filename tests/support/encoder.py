"""An encoder for frames, independent of fastframe, with table-based masking.

It can also write frames that break the rules: any bits, non-minimal
lengths, a length that does not match the payload.
"""

from __future__ import annotations

import struct
from typing import Any, Optional

from .rfc import MASK_KEY

_XOR = [bytes(b ^ k for b in range(256)) for k in range(256)]


def mask(data: bytes, key: bytes, phase: int = 0) -> bytes:
    """XOR ``data`` with ``key`` (§5.3), starting at key byte ``phase``.

    Table lookups on strided slices: independent of fastframe's big-integer
    XOR and fast enough for 16 MiB.
    """
    assert len(key) == 4
    out = bytearray(data)
    for i in range(4):
        out[i::4] = out[i::4].translate(_XOR[key[(i + phase) % 4]])
    return bytes(out)


def encode_header(
    opcode: int,
    length: int,
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    key: Optional[bytes] = None,
    form: Optional[int] = None,
) -> bytes:
    """A frame header; ``form`` (7, 16 or 64) forces a length encoding."""
    first = (fin << 7) | (rsv1 << 6) | (rsv2 << 5) | (rsv3 << 4) | opcode
    mask_bit = 0x80 if key is not None else 0
    if form is None:
        form = 7 if length <= 125 else 16 if length <= 0xFFFF else 64
    if form == 7:
        assert length <= 125
        head = bytes([first, mask_bit | length])
    elif form == 16:
        head = bytes([first, mask_bit | 126]) + struct.pack("!H", length)
    else:
        head = bytes([first, mask_bit | 127]) + struct.pack("!Q", length)
    return head + (key or b"")


def encode_frame(
    opcode: int,
    payload: bytes = b"",
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    key: Optional[bytes] = None,
    form: Optional[int] = None,
    length: Optional[int] = None,
) -> bytes:
    """A whole frame; ``length`` overrides the length written in the header."""
    head = encode_header(
        opcode,
        len(payload) if length is None else length,
        fin=fin,
        rsv1=rsv1,
        rsv2=rsv2,
        rsv3=rsv3,
        key=key,
        form=form,
    )
    return head + (mask(payload, key) if key is not None else payload)


def peer_frame(client: bool, opcode: int, payload: bytes = b"", *, key: bytes = MASK_KEY, **kwargs: Any) -> bytes:
    """A frame as the peer of a parser with role ``client`` sends it.

    A client parser reads a server, whose frames are unmasked; a server
    parser reads a client, whose frames are masked (§5.1).
    """
    return encode_frame(opcode, payload, key=None if client else key, **kwargs)


def header_size(first_two: bytes) -> int:
    """Size of the header that starts with these two bytes."""
    b1 = first_two[1]
    size = {126: 4, 127: 10}.get(b1 & 0x7F, 2)
    return size + (4 if b1 & 0x80 else 0)


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason
