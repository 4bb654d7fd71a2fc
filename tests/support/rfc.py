"""RFC 6455 facts, written out here rather than imported from fastframe."""

from __future__ import annotations

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
DATA_OPCODES = (TEXT, BINARY)
CONTROL_OPCODES = (CLOSE, PING, PONG)
DEFINED_OPCODES = (CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG)
RESERVED_OPCODES = (3, 4, 5, 6, 7, 11, 12, 13, 14, 15)

# §7.4.1 and the IANA registry (1012-1014), §7.4.2 (3000-4999).
VALID_CLOSE_CODES = frozenset(range(1000, 1004)) | frozenset(range(1007, 1015)) | frozenset(range(3000, 5000))

PROTOCOL_ERROR, INVALID_DATA, MESSAGE_TOO_BIG = 1002, 1007, 1009

MASK_KEY = b"\x37\xfa\x21\x3d"  # the key of RFC 6455 §5.7's examples
