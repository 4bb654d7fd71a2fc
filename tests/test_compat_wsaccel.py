"""Tests for ``fastframe.compat.wsaccel``: wsaccel's API, with wsaccel as the oracle.

The same inputs, cut into the same random chunks, through wsaccel's own
classes and through ours on each fastframe backend: the same return values
(types included), the same ``pointer()`` after every call, the same errors.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fastframe.compat import wsaccel as compat
from fastframe.integrations import autobahn as autobahn_integration, ws4py as ws4py_integration
from support.encoder import mask
from support.strategies import keys, texts

wsaccel_utf8 = pytest.importorskip("wsaccel.utf8validator")
wsaccel_xormask = pytest.importorskip("wsaccel.xormask")

SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def ours(backend: Any) -> Any:
    """wsaccel's classes built on one fastframe backend."""
    return compat._build(backend)


@st.composite
def utf8_streams(draw: Any) -> bytes:
    """Mostly valid UTF-8 with a few bytes changed, cut or inserted: fails at every kind of byte."""
    data = bytearray(draw(texts).encode())
    for _ in range(draw(st.integers(0, 3))):
        position = draw(st.integers(0, len(data)))
        choice = draw(st.integers(0, 2))
        byte = draw(st.sampled_from((0x80, 0xBF, 0xC0, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF, 0xA0, 0x90)))
        if choice == 0 and position < len(data):
            data[position] = byte
        elif choice == 1:
            data.insert(position, byte)
        else:
            del data[position:]
    return bytes(data)


def cut(data: bytes, points: list[int]) -> list[bytes]:
    bounds = [0, *sorted(min(p, len(data)) for p in points), len(data)]
    return [data[start:end] for start, end in zip(bounds, bounds[1:])]


as_types = st.sampled_from((bytes, bytearray, memoryview))


@SETTINGS
@given(
    streams=st.lists(utf8_streams(), min_size=1, max_size=3),
    cuts=st.lists(st.integers(0, 200), max_size=6),
    kind=as_types,
)
def test_validator_matches_wsaccel(ours, streams, cuts, kind):
    expected_validator = wsaccel_utf8.Utf8Validator()
    validator = ours.Utf8Validator()
    for data in streams:
        # Chunks after a failure, empty chunks, and a reset between streams: the state carries over as in wsaccel.
        for chunk in [*cut(data, cuts), b"", b"a"]:
            assert validator.validate(kind(chunk)) == expected_validator.validate(kind(chunk)), (data, chunk)
        validator.reset()
        expected_validator.reset()


@pytest.mark.parametrize(
    ("chunks", "last"),
    [
        ([b"abc", b"\xc3"], (True, False, 1, 4)),
        ([b"\xc3", b"\xa9"], (True, True, 1, 2)),
        ([b"ab\xed\xa0"], (False, False, 3, 3)),  # a surrogate, caught at its second byte
        ([b"\xf4\x90"], (False, False, 1, 1)),  # above U+10FFFF
        ([b"ab\xff", b"x"], (False, False, 0, 2)),  # stays invalid
        ([b"ab\xff", b""], (True, False, 0, 2)),  # an empty chunk reads nothing
    ],
)
def test_validator_known_results(ours, chunks, last):
    validator = ours.Utf8Validator()
    results = [validator.validate(chunk) for chunk in chunks]
    assert results[-1] == last
    oracle = wsaccel_utf8.Utf8Validator()
    assert results == [oracle.validate(chunk) for chunk in chunks]


@SETTINGS
@given(key=keys, pieces=st.lists(st.binary(max_size=40), max_size=8), kind=as_types, reset_at=st.integers(0, 8))
def test_masker_matches_wsaccel(ours, key, pieces, kind, reset_at):
    for create in ("XorMaskerSimple", "createXorMasker"):
        expected_masker = getattr(wsaccel_xormask, create)(key)
        masker = getattr(ours, create)(key)
        for n, piece in enumerate(pieces):
            if n == reset_at:
                masker.reset()
                expected_masker.reset()
            out = masker.process(kind(piece))
            expected = expected_masker.process(kind(piece))
            assert (type(out), out, masker.pointer()) == (type(expected), expected, expected_masker.pointer())
    whole = ours.XorMaskerSimple(key)
    assert b"".join(whole.process(piece) for piece in pieces) == mask(b"".join(pieces), key)


@pytest.mark.parametrize("length", [None, 0, 127, 128, 1 << 20])
def test_create_xor_masker_takes_a_length(ours, length):
    masker = ours.createXorMasker(b"\x01\x02\x03\x04", length)
    expected = wsaccel_xormask.createXorMasker(b"\x01\x02\x03\x04", length)
    assert masker.process(b"abcdefg") == expected.process(b"abcdefg")
    assert masker.pointer() == expected.pointer() == 7


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview])
def test_null_masker_matches_wsaccel(ours, kind):
    masker, expected = ours.XorMaskerNull(b"abcd"), wsaccel_xormask.XorMaskerNull(b"abcd")
    data = kind(b"hello")
    assert masker.process(data) is data
    assert expected.process(data) is data
    assert masker.pointer() == expected.pointer() == 5
    masker.reset()
    assert masker.pointer() == 0
    assert ours.XorMaskerNull().pointer() == 0


@pytest.mark.parametrize("key", [b"", b"abc", b"abcde"])
def test_a_key_that_is_not_4_bytes_is_refused_as_by_wsaccel(ours, key):
    with pytest.raises(ValueError, match="mask should be 4byte") as expected:
        wsaccel_xormask.XorMaskerSimple(key)
    with pytest.raises(type(expected.value), match="mask should be 4byte"):
        ours.XorMaskerSimple(key)


def test_the_module_names_are_wsaccels():
    masker = compat.createXorMasker(b"\x37\xfa\x21\x3d")
    assert isinstance(masker, compat.XorMaskerSimple)
    assert compat.create_xor_masker is compat.createXorMasker
    assert masker.process(b"Hello") == b"\x7f\x9fMQX"  # RFC 6455 §5.7's masked "Hello"
    assert compat.Utf8Validator().validate("héllo".encode()) == (True, True, 6, 6)
    assert compat.XorMaskerNull().process(b"x") == b"x"


def test_patch_helpers_patch_the_integrations():
    assert not autobahn_integration.is_patched() and not ws4py_integration.is_patched()
    try:
        assert compat.patch_autobahn() is True
        assert compat.patch_ws4py() is True
        assert autobahn_integration.is_patched() and ws4py_integration.is_patched()
        assert compat.patch_autobahn() is False
    finally:
        autobahn_integration.unpatch()
        ws4py_integration.unpatch()
