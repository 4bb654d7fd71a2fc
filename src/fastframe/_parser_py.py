"""Sans-I/O WebSocket frame parser (RFC 6455 §5), pure-Python twin of ``_parser``."""

from __future__ import annotations

from typing import Optional

from ._buffers import Buffer, byte_view, rotate_key
from ._frames_py import Frame, Header, make_frame, parse_header
from ._mask_py import apply_mask
from ._shared import DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_MESSAGE_SIZE, OPCODES, UNLIMITED, check_limit
from ._utf8_py import Utf8Validator
from .enums import CloseCode, Opcode, is_valid_close_code
from .errors import ProtocolError

__all__ = ["FrameParser", "DEFAULT_MAX_FRAME_SIZE", "DEFAULT_MAX_MESSAGE_SIZE"]

_PROTOCOL_ERROR = CloseCode.PROTOCOL_ERROR
_INVALID_DATA = CloseCode.INVALID_DATA
_MESSAGE_TOO_BIG = CloseCode.MESSAGE_TOO_BIG
_INTERNAL_ERROR = CloseCode.INTERNAL_ERROR
_CLOSE = Opcode.CLOSE


class FrameParser:
    """Turn the bytes a peer sends into frames, enforcing RFC 6455.

    Sans-I/O: feed it whatever the socket returned, in chunks of any size,
    and get back the frames those bytes completed, with payloads unmasked.
    It checks the rules of RFC 6455 §5 that a single direction of traffic
    can break, and raises :class:`~fastframe.ProtocolError` with the close
    code to send (§7.4.1).  Two are left to the caller, as the other Python
    libraries do: a length written in more bytes than it needs (§5.2), and
    frames after a Close (§5.5.1), which the connection's state decides.

    - 1002: reserved bits set without an extension that allows them,
      reserved opcodes, control frames over 125 bytes or fragmented, a
      continuation frame with no message to continue, a new message inside a
      fragmented one, wrong masking for the role (§5.1), a 64-bit length with
      its MSB set, a 1-byte close payload or a close code that may not be sent.
    - 1007: a text message or a close reason that is not valid UTF-8,
      detected as soon as the first impossible byte arrives (§8.1).
    - 1009: a frame longer than ``max_frame_size`` or a message longer than
      ``max_message_size``, decided from the header before the payload is
      buffered.
    - 1011: an earlier ``feed()`` was cut short by another exception
      (``MemoryError``, ``KeyboardInterrupt``) in the middle of a frame, so
      the stream's position is lost.

    After an error the parser stays failed: every later ``feed()`` raises a
    ProtocolError with the same code and reason.  Frames that the failing
    call completed before the error are in the exception's ``frames``.

    Memory: the parser holds at most one partial header (13 bytes) and the
    payload of the frame in progress, whose length the header announced and
    the limits bound.  The compiled parser allocates that payload's buffer
    when the header arrives (up to 64 MiB; past that it grows with the bytes
    that arrive), the pure one as the bytes arrive.  A parser is not
    thread-safe; use one per connection.

    Args:
        client: True if we are the client: frames from the server must not be
            masked.  False (the default) if we are the server: frames from
            the client must be masked.
        max_frame_size: largest payload of a single frame, or None for no
            limit.  Default 1 MiB.
        max_message_size: largest data message, all its fragments together,
            or None for no limit.  Default 1 MiB.
        allow_rsv1: accept RSV1 on the first frame of a data message, as
            permessage-deflate (RFC 7692) does.  Such a message is passed
            through compressed; its UTF-8 is not checked here (decompressing
            and validating it is the caller's job), and the limits apply to
            the compressed size.
        validate_utf8: check that text messages and close reasons are UTF-8.
    """

    __slots__ = (
        "_allow_rsv1",
        "_check_text",
        "_client",
        "_close_utf8",
        "_error",
        "_header",
        "_in_message",
        "_max_frame_size",
        "_max_message_size",
        "_message_size",
        "_parsing",
        "_partial_header",
        "_payload",
        "_received",
        "_utf8",
        "_validate_utf8",
    )

    def __init__(
        self,
        *,
        client: bool = False,
        max_frame_size: Optional[int] = DEFAULT_MAX_FRAME_SIZE,
        max_message_size: Optional[int] = DEFAULT_MAX_MESSAGE_SIZE,
        allow_rsv1: bool = False,
        validate_utf8: bool = True,
    ) -> None:
        self._client = bool(client)
        self._max_frame_size = check_limit("max_frame_size", max_frame_size)
        self._max_message_size = check_limit("max_message_size", max_message_size)
        self._allow_rsv1 = bool(allow_rsv1)
        self._validate_utf8 = bool(validate_utf8)
        self._partial_header = b""  # a header split across feeds
        self._header: Optional[Header] = None  # the frame whose payload is arriving
        self._payload = bytearray()
        self._received = 0
        self._in_message = False  # a fragmented data message is in progress
        self._message_size = 0
        self._check_text = False  # the message in progress is text to validate
        self._utf8 = Utf8Validator()
        self._close_utf8 = Utf8Validator()  # a close frame may come mid-message
        # The close code and reason of the error that failed the parser: not
        # the exception, whose traceback would hold this parser in a cycle.
        self._error: Optional[tuple[int, str]] = None
        self._parsing = False  # inside _parse: still set on entry if the last one was interrupted

    @property
    def client(self) -> bool:
        """True if this parser reads what a server sends."""
        return self._client

    @property
    def max_frame_size(self) -> Optional[int]:
        """Largest accepted frame payload in bytes (None: no limit)."""
        return None if self._max_frame_size == UNLIMITED else self._max_frame_size

    @property
    def max_message_size(self) -> Optional[int]:
        """Largest accepted data message in bytes (None: no limit)."""
        return None if self._max_message_size == UNLIMITED else self._max_message_size

    @property
    def buffered(self) -> int:
        """Bytes held for a frame that is not complete yet (header and payload); 0 after an error."""
        return len(self._partial_header) + self._received

    def feed(self, data: Buffer) -> list[Frame]:
        """Parse the next bytes received from the peer.

        Args:
            data: any C-contiguous buffer; any split of the stream is fine.

        Returns:
            The frames completed by ``data``, in order (often empty).

        Raises:
            ProtocolError: the peer broke the protocol (see the class docs).
            TypeError: ``data`` is not a C-contiguous buffer.
        """
        if self._error is not None:
            raise ProtocolError(*self._error)
        if type(data) is not bytes:
            data = byte_view(data).tobytes()
        frames: list[Frame] = []
        try:
            if self._parsing:
                # The last feed() was cut short by an exception that is not
                # a protocol error (MemoryError, KeyboardInterrupt, ...)
                # somewhere in a frame, so where the next frame starts is
                # lost: a guess could turn payload bytes into frames.
                raise ProtocolError(_INTERNAL_ERROR, "an earlier feed() was interrupted by an exception")
            self._parsing = True
            self._parse(data, frames)
            self._parsing = False
        except ProtocolError as exc:
            self._error = (exc.code, exc.reason)
            exc.frames = frames
            # A failed connection reads nothing more: free what it held.
            self._partial_header = b""
            self._header = None
            self._payload = bytearray()
            self._received = 0
            raise
        return frames

    def _parse(self, data: bytes, frames: list[Frame]) -> None:
        if self._partial_header:
            data = self._partial_header + data
            self._partial_header = b""
        end = len(data)
        pos = 0
        while True:
            header = self._header
            if header is None:
                header = parse_header(data, pos)
                if header is None:
                    self._partial_header = data[pos:]
                    return
                self._check_header(header)
                pos += header.size
                length = header.length
                if end - pos >= length:
                    # Fast path: the whole payload is here.
                    payload = data[pos : pos + length]
                    pos += length
                    if header.mask is not None and length:
                        payload = apply_mask(payload, header.mask)
                    self._check_payload(header, payload)
                    self._complete(header, payload, frames)
                    continue
                self._header = header
                self._payload = bytearray()
                self._received = 0
            # The payload of `header` arrives in pieces.
            take = min(header.length - self._received, end - pos)
            if take == 0:
                return
            chunk = data[pos : pos + take]
            pos += take
            if header.mask is not None:
                chunk = _apply_mask_at(chunk, header.mask, self._received)
            self._check_payload(header, chunk)
            self._payload += chunk
            self._received += take
            if self._received < header.length:
                return
            payload = bytes(self._payload)
            self._header = None
            self._payload = bytearray()
            self._received = 0
            self._complete(header, payload, frames)

    def _check_header(self, header: Header) -> None:
        """Apply the rules a header alone can break (RFC 6455 §5.1–5.5)."""
        opcode = header.opcode
        if header.rsv2 or header.rsv3:
            raise ProtocolError(_PROTOCOL_ERROR, "reserved bits RSV2/RSV3 must be 0")
        if header.rsv1 and not (self._allow_rsv1 and (opcode == 1 or opcode == 2)):
            raise ProtocolError(_PROTOCOL_ERROR, "reserved bit RSV1 must be 0 here")
        if OPCODES[opcode] is None:
            raise ProtocolError(_PROTOCOL_ERROR, f"reserved opcode {opcode}")
        if header.masked == self._client:
            raise ProtocolError(
                _PROTOCOL_ERROR,
                "a server must not mask frames" if self._client else "a client must mask frames",
            )
        length = header.length
        if opcode >= 8:
            if length > 125:
                raise ProtocolError(_PROTOCOL_ERROR, "control frame payload over 125 bytes")
            if not header.fin:
                raise ProtocolError(_PROTOCOL_ERROR, "fragmented control frame")
            if length > self._max_frame_size:
                raise ProtocolError(_MESSAGE_TOO_BIG, "frame exceeds max_frame_size")
            return
        if opcode == 0:
            if not self._in_message:
                raise ProtocolError(_PROTOCOL_ERROR, "continuation frame without a message to continue")
        elif self._in_message:
            raise ProtocolError(_PROTOCOL_ERROR, "new data frame inside a fragmented message")
        if length > self._max_frame_size:
            raise ProtocolError(_MESSAGE_TOO_BIG, "frame exceeds max_frame_size")
        if opcode != 0:
            self._message_size = 0
            self._check_text = opcode == 1 and self._validate_utf8 and not header.rsv1
            if self._check_text:
                self._utf8.reset()
        if length > self._max_message_size - self._message_size:
            raise ProtocolError(_MESSAGE_TOO_BIG, "message exceeds max_message_size")
        self._message_size += length
        self._in_message = not header.fin

    def _check_payload(self, header: Header, chunk: bytes) -> None:
        """Validate text as it arrives, so that a bad byte fails at once (§8.1).

        ``chunk`` is unmasked and starts ``self._received`` bytes into the
        payload of ``header``.
        """
        opcode = header.opcode
        last = self._received + len(chunk) == header.length
        if opcode < 8:
            if self._check_text:
                utf8 = self._utf8
                if not utf8.feed(chunk):
                    raise ProtocolError(_INVALID_DATA, "invalid UTF-8 in text message")
                if last and header.fin and not utf8.finish():
                    raise ProtocolError(_INVALID_DATA, "text message ends inside a UTF-8 sequence")
        elif opcode == _CLOSE:
            self._check_close_chunk(chunk, last)

    def _check_close_chunk(self, chunk: bytes, last: bool) -> None:
        """RFC 6455 §5.5.1 and §7.4 on a close payload, as its bytes arrive."""
        start = self._received
        end = start + len(chunk)
        if start < 2 <= end:
            code_bytes = (self._payload + chunk)[:2] if start else chunk[:2]
            code = (code_bytes[0] << 8) | code_bytes[1]
            if not is_valid_close_code(code):
                raise ProtocolError(_PROTOCOL_ERROR, f"invalid close code {code}")
        if self._validate_utf8:
            utf8 = self._close_utf8
            if start < 2:
                utf8.reset()
            if end > 2 and not utf8.feed(chunk[max(0, 2 - start) :]):
                raise ProtocolError(_INVALID_DATA, "invalid UTF-8 in close reason")
        if last:
            if end == 1:
                raise ProtocolError(_PROTOCOL_ERROR, "close frame payload of 1 byte")
            if self._validate_utf8 and end > 2 and not self._close_utf8.finish():
                raise ProtocolError(_INVALID_DATA, "invalid UTF-8 in close reason")

    def _complete(self, header: Header, payload: bytes, frames: list[Frame]) -> None:
        opcode = header.opcode
        frames.append(make_frame(OPCODES[opcode], payload, header.fin, header.rsv1, False, False))  # type: ignore[arg-type]


def _apply_mask_at(chunk: bytes, mask: bytes, offset: int) -> bytes:
    """Unmask a chunk that starts ``offset`` bytes into the payload."""
    return apply_mask(chunk, rotate_key(mask, offset))
