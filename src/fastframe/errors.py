"""Exceptions raised by fastframe."""

from __future__ import annotations

from typing import Any

from .enums import CloseCode

__all__ = ["ProtocolError"]


class ProtocolError(Exception):
    """The peer broke RFC 6455; the connection must be failed (§7.1.7).

    Attributes:
        code: the close code to send to the peer: 1002 (protocol error),
            1007 (invalid UTF-8) or 1009 (too big), as a :class:`CloseCode`.
        reason: a short human-readable explanation, suitable as close reason.
        frames: the frames that a :class:`~fastframe.FrameParser` completed in
            the same ``feed()`` call before it met the error.  They are valid
            and were not returned, so a caller that wants nothing lost delivers
            them before closing.  Empty everywhere else.
        messages: likewise for :class:`~fastframe.MessageAssembler`: the
            messages completed before the error.
    """

    code: CloseCode
    reason: str
    frames: list[Any]
    messages: list[Any]

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.code = CloseCode(code)
        self.reason = reason
        self.frames = []
        self.messages = []

    def __str__(self) -> str:
        return f"{self.reason} (close code {int(self.code)})"

    def __repr__(self) -> str:
        return f"ProtocolError({int(self.code)}, {self.reason!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (int(self.code), self.reason))
