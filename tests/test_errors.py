"""Tests of ``fastframe.errors``.

``errors`` is plain Python with no compiled twin, so these tests do not take
the ``backend`` fixture: they would run twice on the same code.
"""

from __future__ import annotations

import copy
import pickle

import pytest

import fastframe
from fastframe.enums import CloseCode
from fastframe.errors import ProtocolError

# The close codes a peer must send when failing the connection (RFC 6455 §7.4.1).
CODES = [(1002, CloseCode.PROTOCOL_ERROR), (1007, CloseCode.INVALID_DATA), (1009, CloseCode.MESSAGE_TOO_BIG)]


@pytest.mark.parametrize(("value", "code"), CODES)
def test_attributes(value, code):
    exc = ProtocolError(value, "something went wrong")
    assert isinstance(exc, Exception)
    assert type(exc.code) is CloseCode
    assert exc.code is code
    assert exc.code == value
    assert exc.reason == "something went wrong"
    assert exc.frames == []
    assert exc.messages == []
    assert str(value) in str(exc) and "something went wrong" in str(exc)
    assert repr(exc).startswith("ProtocolError(") and str(value) in repr(exc)


def test_accepts_a_close_code():
    exc = ProtocolError(CloseCode.MESSAGE_TOO_BIG, "too big")
    assert exc.code is CloseCode.MESSAGE_TOO_BIG


def test_lists_are_not_shared():
    first, second = ProtocolError(1002, "a"), ProtocolError(1002, "b")
    first.frames.append("frame")
    first.messages.append("message")
    assert second.frames == [] and second.messages == []
    assert first.frames is not second.frames and first.messages is not second.messages


def test_raise_and_catch():
    with pytest.raises(ProtocolError) as info:
        raise ProtocolError(1007, "invalid UTF-8")
    assert info.value.code is CloseCode.INVALID_DATA
    assert info.value.reason == "invalid UTF-8"


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize(("value", "code"), CODES)
def test_pickle_round_trip(protocol, value, code):
    exc = ProtocolError(value, "reason with ünïcode")
    restored = pickle.loads(pickle.dumps(exc, protocol=protocol))
    assert type(restored) is ProtocolError
    assert restored is not exc
    assert type(restored.code) is CloseCode and restored.code is code
    assert restored.reason == "reason with ünïcode"
    assert restored.frames == [] and restored.messages == []
    assert str(restored) == str(exc) and repr(restored) == repr(exc)


def test_copy():
    exc = ProtocolError(1009, "too big")
    for clone in (copy.copy(exc), copy.deepcopy(exc)):
        assert type(clone) is ProtocolError
        assert (clone.code, clone.reason, clone.frames) == (CloseCode.MESSAGE_TOO_BIG, "too big", [])


def test_reexported():
    assert fastframe.ProtocolError is ProtocolError
