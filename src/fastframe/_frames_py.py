"""Frame headers, frames and close payloads (RFC 6455 §5.2, §5.5.1), pure twin of ``_frames``."""

from __future__ import annotations

import operator
import os
import secrets
import struct
import threading
from typing import Any, Literal, Optional, Union

from ._buffers import Buffer, byte_view, mask_key
from ._mask_py import apply_mask
from ._shared import MAX_PAYLOAD_LENGTH, OPCODES, encode_close, frame_repr, header_repr, split_message
from .enums import CloseCode, Opcode, is_valid_close_code
from .errors import ProtocolError

__all__ = [
    "Header",
    "Frame",
    "parse_header",
    "build_header",
    "build_frame",
    "build_fragments",
    "parse_close",
    "build_close",
    "MAX_PAYLOAD_LENGTH",
    "OPCODES",
]

MaskArg = Union[None, Literal[True], Buffer]

_unpack_16 = struct.Struct("!H").unpack_from
_unpack_64 = struct.Struct("!Q").unpack_from


_HEADER_INTS = {"opcode": 15, "length": MAX_PAYLOAD_LENGTH, "size": 14}


def _check_field(name: str, value: Any, top: int) -> int:
    """An integer Header field: TypeError for a non-integer, ValueError out of 0..top."""
    # int(): PyPy's operator.index returns an int subclass (True, an IntEnum)
    # as it is; CPython's returns a plain int, which the compiled twin stores.
    number = int(operator.index(value))
    if not 0 <= number <= top:
        raise ValueError(f"{name} must be in 0..{'2**63-1' if top == MAX_PAYLOAD_LENGTH else top}, got {number}")
    return number


class _HeaderFields:
    """The storage of :class:`Header`, unchecked: parse_header fills it with values it has checked."""

    __slots__ = ("fin", "length", "mask", "masked", "opcode", "rsv1", "rsv2", "rsv3", "size")

    fin: bool
    rsv1: bool
    rsv2: bool
    rsv3: bool
    opcode: int
    masked: bool
    length: int
    mask: Optional[bytes]
    size: int


class Header(_HeaderFields):
    """A parsed frame header (RFC 6455 §5.2).

    Fields are checked on assignment, the same way by both backends: the
    bits are stored as ``bool``; ``opcode`` (0 to 15), ``length`` (0 to
    2**63 - 1) and ``size`` (0 to 14) must be integers in range (TypeError,
    ValueError); ``mask`` is None or any 4-byte buffer, stored as bytes.

    Attributes:
        fin: the FIN bit: this frame ends its message.
        rsv1: the RSV1 bit (used by permessage-deflate, RFC 7692).
        rsv2: the RSV2 bit.
        rsv3: the RSV3 bit.
        opcode: the 4-bit opcode as a plain ``int`` (reserved values included:
            deciding what is allowed is the parser's job).
        masked: the MASK bit.
        length: the payload length in bytes.
        mask: the 4-byte masking key, or None for an unmasked frame.
        size: the length of the header itself in bytes (2 to 14).
    """

    __slots__ = ()

    def __init__(self) -> None:
        # All zero, as the compiled twin; parse_header skips this (see _RawHeader).
        self.fin = self.rsv1 = self.rsv2 = self.rsv3 = self.masked = False
        self.opcode = self.length = self.size = 0
        self.mask = None

    def __setattr__(self, name: str, value: Any) -> None:
        top = _HEADER_INTS.get(name)
        if top is not None:
            value = _check_field(name, value, top)
        elif name == "mask":
            value = None if value is None else mask_key(value)
        else:
            value = bool(value)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete {name!r}: a Header's fields always have a value")

    def __repr__(self) -> str:
        return header_repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Header):
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _HeaderFields.__slots__)

    __hash__ = None  # type: ignore[assignment]


class _RawHeader(_HeaderFields):
    """A Header being filled by parse_header: plain slot stores, no checks.

    The checks of Header.__setattr__ cost as much as parsing the header; the
    values parse_header stores are in range by construction.  Once filled,
    the object becomes a Header (same slots, so its class can be swapped).
    """

    __slots__ = ()


#: An object to fill without running __init__ or the field checks.
_new_unchecked = object.__new__


def parse_header(buf: Buffer, offset: int = 0) -> Optional[Header]:
    """Parse the frame header that starts at ``buf[offset]`` (RFC 6455 §5.2).

    Only the header's own encoding is checked here; protocol rules (reserved
    bits and opcodes, masking, control frame sizes) are :class:`FrameParser`'s.

    Args:
        buf: any C-contiguous buffer.
        offset: where the header starts in ``buf``.

    Returns:
        The header, or None if ``buf`` ends before the header does.

    Raises:
        ProtocolError: the 64-bit length has its most significant bit set
            (code 1002).
        TypeError: ``buf`` is not a C-contiguous buffer.
        ValueError: ``offset`` is negative or past the end of ``buf``.
    """
    if type(buf) is not bytes:
        buf = byte_view(buf)
    offset = operator.index(offset)
    if offset < 0 or offset > len(buf):
        raise ValueError(f"offset {offset} is outside the buffer of {len(buf)} bytes")
    available = len(buf) - offset
    if available < 2:
        return None
    b0 = buf[offset]
    b1 = buf[offset + 1]
    length = b1 & 0x7F
    size = 2
    if length == 126:
        if available < 4:
            return None
        (length,) = _unpack_16(buf, offset + 2)
        size = 4
    elif length == 127:
        if available < 10:
            return None
        (length,) = _unpack_64(buf, offset + 2)
        if length > MAX_PAYLOAD_LENGTH:
            raise ProtocolError(CloseCode.PROTOCOL_ERROR, "payload length has its most significant bit set")
        size = 10
    header: Any = _new_unchecked(_RawHeader)
    header.masked = masked = b1 >= 0x80
    if masked:
        if available < size + 4:
            return None
        header.mask = bytes(buf[offset + size : offset + size + 4])
        size += 4
    else:
        header.mask = None
    header.fin = b0 >= 0x80
    header.rsv1 = bool(b0 & 0x40)
    header.rsv2 = bool(b0 & 0x20)
    header.rsv3 = bool(b0 & 0x10)
    header.opcode = b0 & 0x0F
    header.length = length
    header.size = size
    header.__class__ = Header
    return header  # type: ignore[no-any-return]


class _KeyPool:
    """Masking keys cut from a pool of bytes drawn from the OS's CSPRNG.

    RFC 6455 §5.3 asks for keys from "a strong source of entropy".  One
    system call per frame (``secrets.token_bytes(4)``) costs more than
    building the frame, so keys are cut from 4 KiB drawn at once.  In a
    forked child the pool is emptied, so that parent and child never share
    keys, and the lock is new: another thread of the parent may have held
    it at the fork, and that thread does not exist in the child.
    """

    SIZE = 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._pos = 0

    def take(self) -> bytes:
        while True:
            with self._lock:
                pos = self._pos
                if pos + 4 <= len(self._pool):
                    self._pos = pos + 4
                    return self._pool[pos : pos + 4]
            # Drawn outside the lock: the system call may release the GIL.
            fresh = secrets.token_bytes(self.SIZE)
            with self._lock:
                if self._pos + 4 > len(self._pool):
                    self._pool = fresh
                    self._pos = 0

    def after_fork(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._pos = 0


_keys = _KeyPool()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_keys.after_fork)


def _resolve_mask(mask: MaskArg) -> Optional[bytes]:
    if mask is None:
        return None
    if mask is True:
        return _keys.take()
    return mask_key(mask)


def _first_byte(opcode: int, fin: bool, rsv1: bool, rsv2: bool, rsv3: bool) -> int:
    opcode = operator.index(opcode)  # any integer type, as the compiled twin
    if not 0 <= opcode <= 15:
        raise ValueError(f"opcode must be in 0..15, got {opcode}")
    return (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0) | (0x10 if rsv3 else 0) | opcode


def _encode_header(first: int, length: int, key: Optional[bytes]) -> bytes:
    mask_bit = 0x80 if key is not None else 0
    if length < 126:
        head = bytes((first, mask_bit | length))
    elif length < 65536:
        head = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, length)
    return head + key if key is not None else head


def build_header(
    opcode: int,
    length: int,
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    mask: MaskArg = None,
) -> bytes:
    """Build a frame header with the minimal length encoding (RFC 6455 §5.2).

    This is the low-level encoder: any 4-bit opcode and any bits are allowed,
    so a caller can also write frames that a peer must reject.

    Args:
        opcode: 0 to 15.
        length: the payload length, 0 to 2**63 - 1.
        fin: the FIN bit.
        rsv1: the RSV1 bit.
        rsv2: the RSV2 bit.
        rsv3: the RSV3 bit.
        mask: None for an unmasked frame, a 4-byte key, or True for a fresh
            random key from :mod:`secrets` (the key is the last 4 bytes).

    Returns:
        The header bytes, masking key included.

    Raises:
        ValueError: ``opcode`` or ``length`` is out of range, or ``mask`` is
            not 4 bytes long.
        TypeError: ``mask`` is neither None, True nor a buffer.
    """
    first = _first_byte(opcode, fin, rsv1, rsv2, rsv3)
    length = operator.index(length)
    if not 0 <= length <= MAX_PAYLOAD_LENGTH:
        raise ValueError(f"length must be in 0..2**63-1, got {length}")
    return _encode_header(first, length, _resolve_mask(mask))


def build_frame(
    opcode: int,
    payload: Buffer,
    *,
    fin: bool = True,
    rsv1: bool = False,
    rsv2: bool = False,
    rsv3: bool = False,
    mask: MaskArg = None,
) -> bytes:
    """Build a complete frame: header and (masked) payload (RFC 6455 §5.2).

    Clients must mask every frame they send and servers must not (§5.1): pass
    ``mask=True`` on the client side.

    Args:
        opcode: a defined opcode (:class:`Opcode`).
        payload: any C-contiguous buffer.
        fin: the FIN bit; control frames must have it set.
        rsv1: the RSV1 bit.
        rsv2: the RSV2 bit.
        rsv3: the RSV3 bit.
        mask: None, a 4-byte key, or True for a fresh random key.

    Returns:
        The frame as bytes.

    Raises:
        ValueError: ``opcode`` is reserved, a control frame is longer than
            125 bytes or not final (§5.5), or ``mask`` is not 4 bytes long.
        TypeError: ``payload`` is not a buffer.
    """
    first = _first_byte(opcode, fin, rsv1, rsv2, rsv3)
    opcode = first & 0x0F
    if OPCODES[opcode] is None:
        raise ValueError(f"opcode {opcode} is reserved")
    if type(payload) is not bytes:
        payload = byte_view(payload)
    length = len(payload)
    if opcode >= 8:
        if length > 125:
            raise ValueError(f"control frame payload must be at most 125 bytes, got {length}")
        if not fin:
            raise ValueError("control frames cannot be fragmented")
    key = _resolve_mask(mask)
    head = _encode_header(first, length, key)
    if key is None:
        return head + payload
    return head + apply_mask(payload, key)


def build_fragments(
    opcode: int,
    payload: Buffer,
    fragment_size: int,
    *,
    rsv1: bool = False,
    mask: MaskArg = None,
) -> list[bytes]:
    """Split a message into frames of at most ``fragment_size`` payload bytes (RFC 6455 §5.4).

    The first frame carries ``opcode`` (and RSV1, for a message compressed by
    permessage-deflate), the others are continuation frames, the last has FIN.
    A text message may be cut inside a code point: the RFC validates the
    whole message, not each fragment.  An empty payload gives one empty frame.

    Args:
        opcode: TEXT or BINARY.
        payload: the whole message, any C-contiguous buffer.
        fragment_size: the largest payload per frame, at least 1.
        rsv1: set RSV1 on the first frame.
        mask: None, a 4-byte key used for every frame, or True for a fresh
            random key per frame (a client must mask, §5.3).

    Returns:
        The frames, as bytes, in order.

    Raises:
        ValueError: ``opcode`` is not a data opcode or ``fragment_size`` < 1.
    """
    return split_message(build_frame, opcode, payload, fragment_size, rsv1, mask)


class _FrameFields:
    """The storage of :class:`Frame`, unchecked: the parser fills it with values it has checked."""

    __slots__ = ("fin", "opcode", "payload", "rsv1", "rsv2", "rsv3")

    opcode: Opcode
    payload: bytes
    fin: bool
    rsv1: bool
    rsv2: bool
    rsv3: bool


class Frame(_FrameFields):
    """One WebSocket frame, payload unmasked (RFC 6455 §5.2).

    Fields are checked on assignment as the constructor checks its
    arguments, the same way by both backends: ``opcode`` becomes an
    :class:`Opcode` (ValueError for a reserved one), ``payload`` any
    C-contiguous buffer, copied to bytes (TypeError otherwise), the bits
    ``bool``.

    Attributes:
        opcode: the frame's :class:`Opcode`.
        payload: the application (or extension) data, unmasked.
        fin: the FIN bit.
        rsv1: the RSV1 bit.
        rsv2: the RSV2 bit.
        rsv3: the RSV3 bit.
    """

    __slots__ = ()

    def __init__(
        self,
        opcode: int,
        payload: Buffer = b"",
        *,
        fin: bool = True,
        rsv1: bool = False,
        rsv2: bool = False,
        rsv3: bool = False,
    ) -> None:
        self.opcode = opcode  # type: ignore[assignment]  # converted by __setattr__
        self.payload = payload  # type: ignore[assignment]
        self.fin = fin
        self.rsv1 = rsv1
        self.rsv2 = rsv2
        self.rsv3 = rsv3

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "opcode":
            value = Opcode(value)
        elif name == "payload":
            # Not bytes(value), which takes an int (bytes(5) is five zero
            # bytes) or a list of ints: only a C-contiguous buffer.
            value = value if type(value) is bytes else byte_view(value).tobytes()
        else:
            value = bool(value)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete {name!r}: a Frame's fields always have a value")

    def __repr__(self) -> str:
        return frame_repr(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return NotImplemented
        return (
            self.opcode == other.opcode
            and self.payload == other.payload
            and self.fin == other.fin
            and self.rsv1 == other.rsv1
            and self.rsv2 == other.rsv2
            and self.rsv3 == other.rsv3
        )

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_frame, (int(self.opcode), self.payload, self.fin, self.rsv1, self.rsv2, self.rsv3))


class _RawFrame(_FrameFields):
    """A Frame being filled by make_frame: plain slot stores, then its class becomes Frame (see _RawHeader)."""

    __slots__ = ()


def make_frame(opcode: Opcode, payload: bytes, fin: bool, rsv1: bool, rsv2: bool, rsv3: bool) -> Frame:
    """Build a Frame from checked values, skipping ``__init__``'s conversions (parser hot path)."""
    frame: Any = _new_unchecked(_RawFrame)
    frame.opcode = opcode
    frame.payload = payload
    frame.fin = fin
    frame.rsv1 = rsv1
    frame.rsv2 = rsv2
    frame.rsv3 = rsv3
    frame.__class__ = Frame
    return frame  # type: ignore[no-any-return]


def _rebuild_frame(opcode: int, payload: bytes, fin: bool, rsv1: bool, rsv2: bool, rsv3: bool) -> Frame:
    return Frame(opcode, payload, fin=fin, rsv1=rsv1, rsv2=rsv2, rsv3=rsv3)


def parse_close(payload: Buffer) -> tuple[int, str]:
    """Read the status code and reason of a close frame (RFC 6455 §5.5.1).

    Args:
        payload: the close frame's unmasked payload.

    Returns:
        ``(code, reason)``.  An empty payload means no status code was sent:
        ``(1005, "")`` (``CloseCode.NO_STATUS_RCVD``, §7.1.5).

    Raises:
        ProtocolError: a 1-byte payload or a code that may not be sent on the
            wire (code 1002); a reason that is not valid UTF-8 (code 1007).
        TypeError: ``payload`` is not a buffer.
    """
    if type(payload) is not bytes:
        payload = byte_view(payload).tobytes()
    length = len(payload)
    if length == 0:
        return CloseCode.NO_STATUS_RCVD, ""
    if length == 1:
        raise ProtocolError(CloseCode.PROTOCOL_ERROR, "close frame payload of 1 byte")
    code = (payload[0] << 8) | payload[1]
    if not is_valid_close_code(code):
        raise ProtocolError(CloseCode.PROTOCOL_ERROR, f"invalid close code {code}")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(CloseCode.INVALID_DATA, "invalid UTF-8 in close reason") from None
    return _close_code(code), reason


def _close_code(code: int) -> int:
    """The code as a :class:`CloseCode` member when it has a name."""
    try:
        return CloseCode(code)
    except ValueError:
        return code


def build_close(code: int, reason: str = "") -> bytes:
    """Build the payload of a close frame (RFC 6455 §5.5.1).

    Args:
        code: a status code that may be sent on the wire (§7.4).
        reason: a short explanation; at most 123 bytes once UTF-8 encoded, so
            that the payload fits a control frame.

    Returns:
        The payload: the code as 2 bytes big-endian, then the UTF-8 reason.

    Raises:
        ValueError: ``code`` may not be sent, or ``reason`` is too long.
        TypeError: ``code`` is not an integer or ``reason`` not a ``str``.
    """
    return encode_close(code, reason)
