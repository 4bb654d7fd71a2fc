"""What both twins share: types, constants, and code that gains nothing from being compiled.

``_x_py`` is the pure twin of the compiled ``_x`` and nothing else, so that a
compiled module never imports a pure one.  What both need with a single
implementation lives here instead: the :class:`Message` type, the tables and
limits of RFC 6455, and the bodies of functions whose compiled copy would run
no faster (close payloads, message fragmentation, ``repr``).  The twins keep
their own public functions (each documented, each with its module's name)
and call these.  The hot paths stay written twice on purpose: the compiled
copy is the fast one, the pure copy the one that runs everywhere.
"""

from __future__ import annotations

import operator
import struct
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, Optional, Union

from .enums import Opcode, is_valid_close_code

if TYPE_CHECKING:
    from ._buffers import Buffer

__all__ = [
    "MAX_PAYLOAD_LENGTH",
    "OPCODES",
    "DEFAULT_MAX_FRAME_SIZE",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "UNLIMITED",
    "check_limit",
    "Message",
    "header_repr",
    "frame_repr",
    "encode_close",
    "split_message",
]

#: Largest payload length a header can carry: the 64-bit length's MSB must be 0 (§5.2).
MAX_PAYLOAD_LENGTH = (1 << 63) - 1

#: Opcode members by value; None for the reserved opcodes.  Indexing a tuple
#: is much cheaper than calling the enum.
OPCODES: tuple[Optional[Opcode], ...] = tuple(
    Opcode(value) if value in Opcode._value2member_map_ else None for value in range(16)
)

#: Default limit on one frame's payload: 1 MiB, as websockets' ``max_size``.
DEFAULT_MAX_FRAME_SIZE = 1 << 20
#: Default limit on a whole (possibly fragmented) data message: 1 MiB.
DEFAULT_MAX_MESSAGE_SIZE = 1 << 20
#: A limit of None: no payload can be longer than this.
UNLIMITED = MAX_PAYLOAD_LENGTH


def check_limit(name: str, value: Optional[int]) -> int:
    """Validate a size limit argument; None means no limit (:data:`UNLIMITED`)."""
    if value is None:
        return UNLIMITED
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int or None, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return min(int(value), UNLIMITED)


class Message(NamedTuple):
    """A complete message, or a control frame.

    Attributes:
        opcode: TEXT or BINARY for data messages; CLOSE, PING or PONG for
            control frames, which are delivered as they arrive, also between
            the fragments of a data message (§5.4).
        data: the payload: ``str`` for a text message when the assembler
            decodes text, ``bytes`` otherwise.  A close frame's payload is
            left as bytes: :func:`~fastframe.parse_close` reads it.
        compressed: RSV1 was set on the message's first frame
            (permessage-deflate, RFC 7692): ``data`` is the compressed bytes.
    """

    opcode: Opcode
    data: Union[str, bytes]
    compressed: bool = False


def header_repr(header: Any) -> str:
    """``repr()`` of either twin's ``Header``."""
    return (
        f"Header(fin={header.fin}, rsv1={header.rsv1}, rsv2={header.rsv2}, rsv3={header.rsv3}, "
        f"opcode={header.opcode}, masked={header.masked}, length={header.length}, "
        f"mask={header.mask!r}, size={header.size})"
    )


def frame_repr(frame: Any) -> str:
    """``repr()`` of either twin's ``Frame``: opcode, flags and the payload's first bytes."""
    payload = frame.payload
    data = payload if len(payload) <= 32 else payload[:29] + b"..."
    flags = (("F", frame.fin), ("1", frame.rsv1), ("2", frame.rsv2), ("3", frame.rsv3))
    bits = "".join(name for name, on in flags if on)
    return f"<Frame {frame.opcode.name} [{bits or '-'}] {len(payload)} bytes {data!r}>"


def encode_close(code: int, reason: str) -> bytes:
    """The body of both twins' ``build_close`` (RFC 6455 §5.5.1): their docstring tells the rules."""
    code = operator.index(code)
    if not isinstance(reason, str):
        raise TypeError(f"reason must be a str, not {type(reason).__name__}")
    if not is_valid_close_code(code):
        raise ValueError(f"close code {code} may not be sent in a close frame")
    data = reason.encode("utf-8")
    if len(data) > 123:
        raise ValueError(f"close reason must be at most 123 bytes in UTF-8, got {len(data)}")
    return struct.pack("!H", code) + data


def split_message(
    build_frame: Callable[..., bytes],
    opcode: int,
    payload: Buffer,
    fragment_size: int,
    rsv1: bool,
    mask: Any,
) -> list[bytes]:
    """The body of both twins' ``build_fragments`` (RFC 6455 §5.4), each passing its own ``build_frame``."""
    if opcode != Opcode.TEXT and opcode != Opcode.BINARY:
        raise ValueError(f"only TEXT and BINARY messages are fragmented, not opcode {opcode}")
    if fragment_size < 1:
        raise ValueError(f"fragment_size must be >= 1, got {fragment_size}")
    view = memoryview(payload).cast("B") if type(payload) is not bytes else payload
    length = len(view)
    starts = range(0, length, fragment_size) if length else range(1)
    last = starts[-1]
    return [
        build_frame(
            opcode if start == 0 else Opcode.CONTINUATION,
            view[start : start + fragment_size],
            fin=start == last,
            rsv1=rsv1 and start == 0,
            mask=mask,
        )
        for start in starts
    ]
