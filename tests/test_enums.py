"""Tests of ``fastframe.enums`` against RFC 6455 §5.2 and §7.4.

``enums`` is plain Python with no compiled twin, so these tests do not take
the ``backend`` fixture: they would run twice on the same code.
"""

from __future__ import annotations

import enum

import pytest

import fastframe
from fastframe.enums import CONTROL_OPCODES, DATA_OPCODES, CloseCode, Opcode, is_valid_close_code

# RFC 6455 §5.2, "Opcode":
#   %x0 continuation frame, %x1 text frame, %x2 binary frame,
#   %x3-7 reserved for further non-control frames,
#   %x8 connection close, %x9 ping, %xA pong,
#   %xB-F reserved for further control frames.
RFC_OPCODES = {"CONTINUATION": 0x0, "TEXT": 0x1, "BINARY": 0x2, "CLOSE": 0x8, "PING": 0x9, "PONG": 0xA}
RESERVED_OPCODES = [*range(0x3, 0x8), *range(0xB, 0x10)]

# RFC 6455 §7.4.1 and the IANA "WebSocket Close Code Number Registry".
RFC_CLOSE_CODES = {
    "NORMAL_CLOSURE": 1000,
    "GOING_AWAY": 1001,
    "PROTOCOL_ERROR": 1002,
    "UNSUPPORTED_DATA": 1003,
    # 1004 is reserved, with no meaning.
    "NO_STATUS_RCVD": 1005,
    "ABNORMAL_CLOSURE": 1006,
    "INVALID_DATA": 1007,
    "POLICY_VIOLATION": 1008,
    "MESSAGE_TOO_BIG": 1009,
    "MANDATORY_EXTENSION": 1010,
    "INTERNAL_ERROR": 1011,
    "SERVICE_RESTART": 1012,
    "TRY_AGAIN_LATER": 1013,
    "BAD_GATEWAY": 1014,
    "TLS_HANDSHAKE": 1015,
}
# §7.4.1: 1005, 1006 and 1015 "MUST NOT be set as a status code in a Close
# control frame by an endpoint".
NEVER_ON_THE_WIRE = {1005, 1006, 1015}


def wire_close_code_per_spec(code: int) -> bool:
    """RFC 6455 §7.4.2, range by range, written independently of the code under test."""
    if 0 <= code <= 999:
        return False  # "not used"
    if 1000 <= code <= 2999:
        # Reserved for this protocol and its revisions: only the defined
        # codes that an endpoint may send.
        defined = set(RFC_CLOSE_CODES.values())
        return code in defined and code not in NEVER_ON_THE_WIRE
    if 3000 <= code <= 3999:
        return True  # registered with IANA by libraries and frameworks
    if 4000 <= code <= 4999:
        return True  # private use
    return False  # no meaning in RFC 6455


def test_opcode_values():
    assert {op.name: op.value for op in Opcode} == RFC_OPCODES
    assert issubclass(Opcode, enum.IntEnum)
    for name, value in RFC_OPCODES.items():
        assert Opcode(value) is Opcode[name]
        assert Opcode[name] == value


@pytest.mark.parametrize("value", RESERVED_OPCODES)
def test_reserved_opcodes_are_not_members(value):
    with pytest.raises(ValueError):
        Opcode(value)


def test_control_and_data_opcodes():
    # §5.5: control frames have opcodes whose most significant bit is 1.
    assert CONTROL_OPCODES == {op for op in Opcode if op & 0x8}
    assert CONTROL_OPCODES == {Opcode.CLOSE, Opcode.PING, Opcode.PONG}
    # §5.6: data frames are text and binary (and their continuations).
    assert DATA_OPCODES == {Opcode.TEXT, Opcode.BINARY}
    assert not CONTROL_OPCODES & DATA_OPCODES
    assert Opcode.CONTINUATION not in CONTROL_OPCODES | DATA_OPCODES
    assert isinstance(CONTROL_OPCODES, frozenset) and isinstance(DATA_OPCODES, frozenset)
    # Plain ints, as read from a header, look up the same way.
    assert 0x9 in CONTROL_OPCODES and 0x1 in DATA_OPCODES and 0x3 not in CONTROL_OPCODES | DATA_OPCODES


def test_close_code_values():
    assert {code.name: code.value for code in CloseCode} == RFC_CLOSE_CODES
    assert issubclass(CloseCode, enum.IntEnum)
    with pytest.raises(ValueError):
        CloseCode(1004)


def test_is_valid_close_code_whole_range():
    wrong = [code for code in range(65536) if is_valid_close_code(code) != wire_close_code_per_spec(code)]
    assert wrong == []
    valid = [code for code in range(65536) if is_valid_close_code(code)]
    assert len(valid) == 4 + 8 + 2000  # 1000-1003, 1007-1014, 3000-4999
    assert valid[:4] == [1000, 1001, 1002, 1003] and valid[4:12] == list(range(1007, 1015))
    assert (valid[12], valid[-1]) == (3000, 4999)


@pytest.mark.parametrize("code", [-1, -1000, 65536, 2**16 + 1000, 2**32 + 1000, 2**64 + 3000])
def test_is_valid_close_code_out_of_range(code):
    assert is_valid_close_code(code) is False


def test_close_code_members_on_the_wire():
    for code in CloseCode:
        assert is_valid_close_code(code) is (code not in NEVER_ON_THE_WIRE), code


def test_reexported():
    assert fastframe.Opcode is Opcode
    assert fastframe.CloseCode is CloseCode
