"""Opcodes and close codes of the WebSocket protocol (RFC 6455 §5.2, §7.4)."""

from __future__ import annotations

import enum

__all__ = ["Opcode", "CloseCode", "CONTROL_OPCODES", "DATA_OPCODES", "is_valid_close_code"]


class Opcode(enum.IntEnum):
    """Frame opcodes defined by RFC 6455 §5.2 (3–7 and 0xB–0xF are reserved)."""

    CONTINUATION = 0x0
    TEXT = 0x1
    BINARY = 0x2
    CLOSE = 0x8
    PING = 0x9
    PONG = 0xA


class CloseCode(enum.IntEnum):
    """Close status codes (RFC 6455 §7.4.1 and the IANA registry).

    ``NO_STATUS_RCVD`` (1005), ``ABNORMAL_CLOSURE`` (1006) and ``TLS_HANDSHAKE``
    (1015) are for reporting only: they never appear on the wire.
    """

    NORMAL_CLOSURE = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    NO_STATUS_RCVD = 1005
    ABNORMAL_CLOSURE = 1006
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    MANDATORY_EXTENSION = 1010
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    BAD_GATEWAY = 1014
    TLS_HANDSHAKE = 1015


#: Opcodes of control frames (RFC 6455 §5.5): at most 125 bytes, never fragmented.
CONTROL_OPCODES = frozenset({Opcode.CLOSE, Opcode.PING, Opcode.PONG})
#: Opcodes that start a data message (RFC 6455 §5.6).
DATA_OPCODES = frozenset({Opcode.TEXT, Opcode.BINARY})


def is_valid_close_code(code: int) -> bool:
    """Tell whether ``code`` may appear in a close frame on the wire.

    RFC 6455 §7.4.1–7.4.2: 1000–1003 and 1007–1014 are defined (1012–1014 by
    the IANA registry), 3000–3999 are registered by libraries and frameworks,
    4000–4999 are private.  1004 is reserved, 1005, 1006 and 1015 must never be
    sent, and 1016–2999 are reserved for future revisions.

    Args:
        code: the status code read from a close frame.

    Returns:
        True if a peer may send ``code``.
    """
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999
