"""Strict UTF-8 validation (RFC 3629), pure-Python twin of ``_utf8``.

CPython's own UTF-8 decoder is strict in the same way RFC 3629 is (no
overlongs, no surrogates, nothing above U+10FFFF) and runs in C, so the twin
leans on it for the bulk of the work.  Where the decoder's report is not
precise enough — how far a stream was valid, whether an unfinished sequence
at the end of a chunk can still be completed — a small automaton over at most
four bytes decides, so the answer does not depend on the decoder's details
(they differ between CPython and PyPy).
"""

from __future__ import annotations

import codecs

from ._buffers import Buffer, byte_view

__all__ = ["validate_utf8", "Utf8Validator", "decode_utf8", "KERNEL"]

#: Name of the validation kernel in use.
KERNEL = "python"

_utf8_decode = codecs.utf_8_decode


def _prefix_length(seq: bytes) -> int:
    """Length of the longest prefix of ``seq`` that starts a valid code point.

    ``seq`` starts on a code point boundary and holds at most 4 bytes.  This is
    RFC 3629 §4's table, read byte by byte: it stops at the first byte that no
    well-formed sequence can have at that place.
    """
    if not seq:
        return 0
    lead = seq[0]
    if lead < 0x80:
        return 1
    if 0xC2 <= lead <= 0xDF:
        need, lo, hi = 1, 0x80, 0xBF
    elif lead == 0xE0:
        need, lo, hi = 2, 0xA0, 0xBF
    elif lead == 0xED:
        need, lo, hi = 2, 0x80, 0x9F
    elif 0xE1 <= lead <= 0xEF:
        need, lo, hi = 2, 0x80, 0xBF
    elif lead == 0xF0:
        need, lo, hi = 3, 0x90, 0xBF
    elif lead == 0xF4:
        need, lo, hi = 3, 0x80, 0x8F
    elif 0xF1 <= lead <= 0xF3:
        need, lo, hi = 3, 0x80, 0xBF
    else:
        return 0
    length = 1
    for byte in seq[1 : need + 1]:
        if not lo <= byte <= hi:
            break
        length += 1
        lo, hi = 0x80, 0xBF
    return length


def validate_utf8(data: Buffer) -> bool:
    """Tell whether ``data`` is well-formed UTF-8 (RFC 3629 §4).

    Text frames and close reasons must be valid UTF-8 (RFC 6455 §5.6, §8.1).
    Thread-safe: threads may call it at once on the same ``data``.

    Args:
        data: any C-contiguous buffer.

    Returns:
        True if ``data`` is valid UTF-8, False otherwise.

    Raises:
        TypeError: ``data`` is not a C-contiguous buffer.
    """
    if type(data) is not bytes:
        data = byte_view(data)
    elif data.isascii():
        return True
    try:
        _utf8_decode(data, "strict", True)
    except UnicodeDecodeError:
        return False
    return True


def decode_utf8(data: Buffer) -> str:
    """Decode UTF-8 (RFC 3629 §4) to ``str``, strictly.

    The text of a text message (RFC 6455 §5.6), validated and decoded
    straight into the narrowest string kind its characters need (PEP 393).

    Args:
        data: any C-contiguous buffer.

    Returns:
        The decoded text, equal to ``bytes(data).decode("utf-8")``.

    Raises:
        UnicodeDecodeError: ``data`` is not valid UTF-8; its ``start``,
            ``end`` and ``reason`` are those ``bytes.decode`` gives.
        TypeError: ``data`` is not a C-contiguous buffer.
    """
    if type(data) is bytes:
        return data.decode("utf-8")
    text: str = _utf8_decode(byte_view(data), "strict", True)[0]
    return text


class Utf8Validator:
    """Incremental UTF-8 validator for a message that arrives in pieces.

    ``feed()`` returns False from the first byte at which the stream can no
    longer become valid UTF-8 — also inside an unfinished code point, such as
    ``ED A0`` (a surrogate) or ``F4 90`` (above U+10FFFF) — and keeps returning
    False until :meth:`reset`.  Code points split across chunks are valid.
    RFC 6455 §8.1 asks endpoints to fail the connection as soon as that
    happens rather than when the message ends.  A validator holds the state
    of one message: it is not thread-safe; use one per connection.
    """

    __slots__ = ("_accepted", "_failed", "_tail")

    def __init__(self) -> None:
        self._tail = b""
        self._accepted = 0
        self._failed = False

    def reset(self) -> None:
        """Forget everything fed so far and start a new stream."""
        self._tail = b""
        self._accepted = 0
        self._failed = False

    @property
    def accepted(self) -> int:
        """Bytes fed before the first invalid byte (all bytes while valid)."""
        return self._accepted

    @property
    def failed(self) -> bool:
        """True once the stream can no longer become valid UTF-8."""
        return self._failed

    def feed(self, data: Buffer) -> bool:
        """Validate the next chunk of the stream.

        Args:
            data: any C-contiguous buffer.

        Returns:
            False if the stream is invalid at or before the end of ``data``,
            True if it can still become valid.

        Raises:
            TypeError: ``data`` is not a C-contiguous buffer.
        """
        if type(data) is not bytes:
            data = byte_view(data).tobytes()
        if self._failed:
            return False
        if not self._tail and data.isascii():
            self._accepted += len(data)
            return True
        tail = self._tail
        chunk = tail + data if tail else data
        # Stream position of chunk[0]: the tail was already counted.
        base = self._accepted - len(tail)
        try:
            _, consumed = _utf8_decode(chunk, "strict", False)
        except UnicodeDecodeError as exc:
            start = exc.start
            self._fail(base + start + _prefix_length(chunk[start : start + 4]))
            return False
        rest = chunk[consumed:]
        valid = _prefix_length(rest)
        if valid != len(rest):
            self._fail(base + consumed + valid)
            return False
        self._tail = rest
        self._accepted += len(data)
        return True

    def finish(self) -> bool:
        """Tell whether everything fed is valid and ends on a code point boundary."""
        return not self._failed and not self._tail

    def _fail(self, accepted: int) -> None:
        self._failed = True
        self._accepted = accepted
        self._tail = b""
