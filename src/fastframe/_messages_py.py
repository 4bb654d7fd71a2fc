"""Whole messages from frames (RFC 6455 §5.4), pure twin of ``_messages``.

Fragments are joined, text is decoded, control frames are passed through.
:class:`Message` is shared by both backends (it lives in ``_shared``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Protocol

from ._buffers import Buffer, byte_view
from ._parser_py import FrameParser
from ._shared import Message
from .enums import CloseCode, Opcode
from .errors import ProtocolError

if TYPE_CHECKING:
    from ._frames_py import Frame

__all__ = ["Message", "MessageAssembler"]


# Skips NamedTuple's Python-level __new__ (and its argument parsing): a
# message per token of an AI stream makes this a hot path.
_new_message = tuple.__new__


class _Parser(Protocol):
    def feed(self, data: Buffer) -> list[Frame]: ...


class MessageAssembler:
    """Join the frames a :class:`~fastframe.FrameParser` returns into messages.

    The parser has already enforced the protocol: fragment sequencing, the
    message size limit (from each header, before buffering) and UTF-8 (as
    the bytes arrive), so the assembler only joins.  A message in progress
    holds its fragments until the final one, never more than the parser's
    ``max_message_size``.  An assembler, like its parser, is not
    thread-safe; use one per connection.

    Args:
        parser: the frame parser to read from (any object with a
            ``feed(data) -> list[Frame]`` method, whose frames may carry
            any bytes-like payload: it is copied to bytes); by default a new
            ``FrameParser()`` of the same backend, with its defaults (server
            side, 1 MiB limits).
        decode_text: deliver text messages as ``str`` (True, the default) or
            as the UTF-8 ``bytes`` (False, e.g. to hand JSON bytes to a parser
            that reads them directly).
    """

    __slots__ = ("_compressed", "_decode_text", "_error", "_opcode", "_parser", "_parts")

    def __init__(self, parser: Optional[_Parser] = None, *, decode_text: bool = True) -> None:
        if parser is None:
            parser = FrameParser()
        self._parser = parser
        self._decode_text = decode_text
        self._opcode: Optional[Opcode] = None
        self._compressed = False
        self._parts: list[bytes] = []
        # The close code and reason of the error that failed the assembler
        # (not the exception: its traceback would make a reference cycle).
        self._error: Optional[tuple[int, str]] = None

    @property
    def parser(self) -> _Parser:
        """The frame parser this assembler reads from."""
        return self._parser

    def feed(self, data: Buffer) -> list[Message]:
        """Parse the next bytes received and return the messages they complete.

        Args:
            data: any C-contiguous buffer.

        Returns:
            Completed data messages and control frames, in order.

        Raises:
            ProtocolError: from the parser; or, for what a parser that
                does not check let through, 1007 for a text message that is
                not UTF-8 and 1002 for a continuation frame with no message.
                The messages completed before the error by this call are in
                the exception's ``messages``; later calls raise the same
                error.
        """
        if self._error is not None:
            raise ProtocolError(*self._error)
        messages: list[Message] = []
        try:
            try:
                frames = self._parser.feed(data)
            except ProtocolError as exc:
                self._assemble(exc.frames, messages)
                raise
            self._assemble(frames, messages)
        except ProtocolError as exc:
            exc.messages = messages
            self._error = (exc.code, exc.reason)
            self._parts = []
            raise
        return messages

    def _assemble(self, frames: list[Frame], messages: list[Message]) -> None:
        for frame in frames:
            opcode = frame.opcode
            payload = frame.payload
            if type(payload) is not bytes:
                # A frame from another parser: any bytes-like payload, copied,
                # so that a message never holds the caller's mutable buffer.
                payload = byte_view(payload).tobytes()
            if opcode >= 8:
                messages.append(_new_message(Message, (opcode, payload, False)))
                continue
            if opcode != 0:
                if frame.fin:
                    # Unfragmented: by far the most common case, no join.
                    messages.append(self._finish(opcode, frame.rsv1, payload))
                    continue
                self._opcode = opcode
                self._compressed = frame.rsv1
                self._parts = [payload]
                continue
            start = self._opcode
            if start is None:
                # FrameParser rejects these; another parser might not.
                raise ProtocolError(CloseCode.PROTOCOL_ERROR, "continuation frame without a message to continue")
            if payload:
                # Empty fragments add nothing: kept, endless ones from a
                # peer would grow the list under no size limit.
                self._parts.append(payload)
            if frame.fin:
                payload = b"".join(self._parts)
                self._parts = []
                self._opcode = None
                messages.append(self._finish(start, self._compressed, payload))

    def _finish(self, opcode: Opcode, compressed: bool, payload: bytes) -> Message:
        if opcode == Opcode.TEXT and self._decode_text and not compressed:
            try:
                return _new_message(Message, (opcode, payload.decode("utf-8"), False))
            except UnicodeDecodeError:
                # Only reachable when the parser was told not to validate.
                raise ProtocolError(CloseCode.INVALID_DATA, "invalid UTF-8 in text message") from None
        return _new_message(Message, (opcode, payload, compressed))
