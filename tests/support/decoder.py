"""A reference header decoder, independent of fastframe, and what it reads off a stream."""

from __future__ import annotations

from typing import Any


def ref_parse_header(buf: bytes, offset: int = 0) -> Any:
    """Reference decoder: a field tuple, None (need more) or "msb"."""
    data = bytes(buf[offset : offset + 14])
    if len(data) < 2:
        return None
    b0, b1 = data[0], data[1]
    length = b1 & 0x7F
    pos = 2
    if length == 126:
        if len(data) < 4:
            return None
        length = int.from_bytes(data[2:4], "big")
        pos = 4
    elif length == 127:
        if len(data) < 10:
            return None
        length = int.from_bytes(data[2:10], "big")
        if length >= 2**63:
            return "msb"
        pos = 10
    key = None
    if b1 & 0x80:
        if len(data) < pos + 4:
            return None
        key = bytes(data[pos : pos + 4])
        pos += 4
    return (
        bool(b0 & 0x80),
        bool(b0 & 0x40),
        bool(b0 & 0x20),
        bool(b0 & 0x10),
        b0 & 0x0F,
        bool(b1 & 0x80),
        length,
        key,
        pos,
    )


def header_fields(header: Any) -> tuple[Any, ...]:
    """A parsed header as the tuple :func:`ref_parse_header` returns."""
    return (
        header.fin,
        header.rsv1,
        header.rsv2,
        header.rsv3,
        header.opcode,
        header.masked,
        header.length,
        header.mask,
        header.size,
    )


def limit_candidates(data: bytes) -> list[int]:
    """Frame and message sizes in ``data``, and their neighbours: where limits bite."""
    sizes = {0, 1}
    pos, message = 0, 0
    while len(data) - pos >= 2:
        parsed = ref_parse_header(data, pos)
        if parsed is None or parsed == "msb":
            break
        opcode, length = parsed[4], parsed[6]
        sizes.add(length)
        if opcode < 8:
            message = length if opcode else message + length
            sizes.add(message)
        pos += parsed[8] + length
    return sorted({max(0, n + d) for n in sizes for d in (-1, 0, 1)})
