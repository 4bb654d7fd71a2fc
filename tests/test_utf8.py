"""Tests of ``fastframe._utf8`` / ``fastframe._utf8_py`` (RFC 3629, RFC 6455 §8.1).

Every test that takes ``backend`` runs on both twins.  Two oracles, both
independent of the code under test:

* validity: CPython's strict decoder, ``bytes.decode("utf-8")``;
* fail-fast position: :func:`oracle_scan`, the grammar of RFC 3629 §4 read
  byte by byte.  It gives the length ``k`` of the longest prefix of a stream
  that some continuation can still turn into valid UTF-8, which is exactly
  what ``Utf8Validator.accepted`` must report; every use also checks that it
  agrees with the decoder on validity.

``test_all_three_byte_sequences`` checks the compiled twin on all 2**24
three-byte inputs against an oracle built from the code points' encodings.

From 32 bytes the compiled twin validates with SIMD (64-byte blocks, each
checked against the last bytes of the one before), handing the last block of
an invalid or unfinished chunk to the automaton: the tests under "SIMD
validators" put every kind of sequence and error at and around the 16-, 32-
and 64-byte edges.  tests/test_kernels.py runs them under every
``FASTFRAME_SIMD`` level this CPU has; tests/c/kernel_checks.c has the
exhaustive 1-3 byte sweep at a block edge, per level.
"""

from __future__ import annotations

import array
import operator
import os
import platform
import random
import struct
import sys
import threading

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from support.params import stable_id

#: The ``backend`` fixture is a stateless namespace of functions and classes,
#: so reusing it across hypothesis examples is safe.
PROPERTY = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- the oracle: RFC 3629 §4 ------------------------------------------------
#
#   UTF8-octets = *( UTF8-char )
#   UTF8-char   = UTF8-1 / UTF8-2 / UTF8-3 / UTF8-4
#   UTF8-1      = %x00-7F
#   UTF8-2      = %xC2-DF UTF8-tail
#   UTF8-3      = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
#                 %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
#   UTF8-4      = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
#                 %xF4 %x80-8F 2( UTF8-tail )
#   UTF8-tail   = %x80-BF

_TAIL = (0x80, 0xBF)
_GRAMMAR = [
    ((0x00, 0x7F), ()),
    ((0xC2, 0xDF), (_TAIL,)),
    ((0xE0, 0xE0), ((0xA0, 0xBF), _TAIL)),
    ((0xE1, 0xEC), (_TAIL, _TAIL)),
    ((0xED, 0xED), ((0x80, 0x9F), _TAIL)),
    ((0xEE, 0xEF), (_TAIL, _TAIL)),
    ((0xF0, 0xF0), ((0x90, 0xBF), _TAIL, _TAIL)),
    ((0xF1, 0xF3), (_TAIL, _TAIL, _TAIL)),
    ((0xF4, 0xF4), ((0x80, 0x8F), _TAIL, _TAIL)),
]
#: Lead byte -> the ranges of the bytes that must follow it.
_FOLLOW = {lead: rest for (lo, hi), rest in _GRAMMAR for lead in range(lo, hi + 1)}


def oracle_scan(data: bytes) -> tuple[int, bool]:
    """Return ``(k, complete)`` for ``data`` by RFC 3629 §4.

    ``k`` is the length of the longest prefix of ``data`` that can still be
    extended to valid UTF-8 (so ``data[k]`` is the first byte that no valid
    stream can have there, or ``k == len(data)``); ``complete`` is whether
    ``data`` itself is valid (every sequence finished).
    """
    i, n = 0, len(data)
    while i < n:
        rest = _FOLLOW.get(data[i])
        if rest is None:
            return i, False
        for j, (lo, hi) in enumerate(rest, 1):
            if i + j == n:
                return n, False
            if not lo <= data[i + j] <= hi:
                return i + j, False
        i += 1 + len(rest)
    return n, True


def decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def oracle(data: bytes) -> tuple[int, bool]:
    """``(k, valid)``: the grammar's fail-fast position and the decoder's verdict."""
    k, complete = oracle_scan(data)
    valid = decodes(data)
    assert complete == valid, f"the two oracles disagree on {data.hex()}"
    return k, valid


def check_stream(backend, data: bytes, chunks, k: int, valid: bool) -> None:
    """Feed ``chunks`` (which concatenate to ``data``) and check every answer.

    After each chunk the stream holds ``pos`` bytes: feed() must say whether
    that prefix can still become valid (``pos <= k``), and ``accepted`` must
    be ``min(pos, k)``.
    """
    v = backend.Utf8Validator()
    pos = 0
    for chunk in chunks:
        pos += len(chunk)
        ok = v.feed(chunk)
        assert ok == (pos <= k), (data.hex(), pos, k)
        assert v.accepted == min(pos, k), (data.hex(), pos, k)
        assert v.failed == (pos > k), (data.hex(), pos, k)
    assert pos == len(data)
    assert v.finish() == valid, data.hex()


def check_all(backend, data: bytes, splits: bool = True) -> None:
    """Compare one-shot and incremental validation of ``data`` with the oracles."""
    k, valid = oracle(data)
    assert backend.validate_utf8(data) == valid, data.hex()
    assert backend.validate_utf8(bytearray(data)) == valid, data.hex()
    check_stream(backend, data, [data], k, valid)
    if splits:
        for i in range(len(data) + 1):
            check_stream(backend, data, [data[:i], data[i:]], k, valid)
        check_stream(backend, data, [data[i : i + 1] for i in range(len(data))], k, valid)


# --- known answers ------------------------------------------------------------

# (bytes, valid, k): hand-checked against RFC 3629 §4 (see the grammar above)
# and Markus Kuhn's UTF-8 decoder stress test.
KNOWN = [
    ("", True, 0),
    ("00", True, 1),
    ("7f", True, 1),
    ("48656c6c6f", True, 5),
    ("c280", True, 2),  # U+0080
    ("dfbf", True, 2),  # U+07FF
    ("e0a080", True, 3),  # U+0800
    ("ed9fbf", True, 3),  # U+D7FF, last before the surrogates
    ("ee8080", True, 3),  # U+E000, first after the surrogates
    ("efbbbf", True, 3),  # BOM
    ("efbfbe", True, 3),  # U+FFFE: a noncharacter, still well-formed
    ("efbfbf", True, 3),  # U+FFFF
    ("f0908080", True, 4),  # U+10000
    ("f48fbfbf", True, 4),  # U+10FFFF
    ("ceba e1bdb9 cf83 cebc ceb5".replace(" ", ""), True, 11),  # "κόσμε"
    ("80", False, 0),  # lone continuation byte
    ("bf", False, 0),
    ("c0", False, 0),  # C0 and C1 only start overlong forms
    ("c080", False, 0),  # "modified UTF-8" NUL
    ("c1bf", False, 0),
    ("c2", False, 1),  # truncated
    ("c241", False, 1),
    ("c2c280", False, 1),
    ("e0", False, 1),
    ("e080", False, 1),  # overlong: fails at the 2nd byte
    ("e09f", False, 1),
    ("e080af", False, 1),
    ("e0a0", False, 2),
    ("e0a041", False, 2),
    ("e282", False, 2),
    ("eda080", False, 1),  # U+D800: surrogates fail at the 2nd byte
    ("edbfbf", False, 1),  # U+DFFF
    ("eda0bdedb880", False, 1),  # a surrogate pair, CESU-8 style
    ("f0", False, 1),
    ("f08f", False, 1),  # overlong 4-byte
    ("f08fbfbf", False, 1),
    ("f09f98", False, 3),
    ("f09f9841", False, 3),
    ("f1808080", True, 4),
    ("f3bfbfbf", True, 4),  # U+FFFFF
    ("f490", False, 1),  # above U+10FFFF: fails at the 2nd byte
    ("f4908080", False, 1),
    ("f5", False, 0),
    ("f7bfbfbf", False, 0),
    ("f888808080", False, 0),  # old 5-byte form
    ("fc8480808080", False, 0),  # old 6-byte form
    ("fe", False, 0),
    ("ff", False, 0),
    ("61ff62", False, 1),
    ("61eda080", False, 2),
    ("c3a9ed", False, 3),
    ("c3a9eda0", False, 3),
]


@pytest.mark.parametrize(("hexdata", "valid", "k"), KNOWN, ids=[h or "empty" for h, _, _ in KNOWN])
def test_known_answers(backend, hexdata, valid, k):
    data = bytes.fromhex(hexdata)
    assert oracle(data) == (k, valid)  # the oracles agree with the RFC
    assert backend.validate_utf8(data) is valid
    check_all(backend, data)
    # The same after ASCII long enough for the SIMD fast paths.
    for pad in (7, 64, 200):
        padded = b"x" * pad + data
        check_stream(backend, padded, [padded], pad + k, valid)
        assert backend.validate_utf8(padded) is valid
        # ASCII after an unfinished sequence is the byte that fails it.
        padded += b"y" * pad
        assert oracle(padded) == (len(padded) if valid else pad + k, valid)
        check_stream(backend, padded, [padded], *oracle(padded))
        assert backend.validate_utf8(padded) is valid


# --- exhaustive over short inputs --------------------------------------------


def test_all_one_byte_sequences(backend):
    for byte in range(256):
        data = bytes([byte])
        assert backend.validate_utf8(data) == decodes(data), byte
        check_all(backend, data)


def test_all_two_byte_sequences(backend):
    validate = backend.validate_utf8
    for first in range(256):
        for second in range(256):
            data = bytes((first, second))
            k, valid = oracle(data)
            assert validate(data) == valid, data.hex()
            check_stream(backend, data, [data], k, valid)
            check_stream(backend, data, [data[:1], data[1:]], k, valid)


# Bytes that matter for the 3rd and 4th position of a 4-byte sequence: the
# edges of the continuation range and of its E0/ED/F0/F4 sub-ranges.
EDGES = [0x7F, 0x80, 0x8F, 0x90, 0xBF, 0xC0]


def test_four_byte_sequences_sampled(backend):
    validate = backend.validate_utf8
    for lead in range(0xF0, 0xF5):
        for second in range(256):
            for third in EDGES:
                for fourth in EDGES:
                    data = bytes((lead, second, third, fourth))
                    k, valid = oracle(data)
                    assert validate(data) == valid, data.hex()
                    check_stream(backend, data, [data], k, valid)
                    if fourth in (0x80, 0xC0):
                        check_stream(backend, data, [data[:1], data[1:2], data[2:3], data[3:]], k, valid)
                        check_stream(backend, data, [data[:2], data[2:]], k, valid)


def _three_byte_oracle() -> tuple[bytearray, bytearray, bytearray]:
    """Flags for every 3-byte input, built from the code points' encodings.

    Returns ``(f3, ext2, ext1)``: ``f3[b0 << 16 | b1 << 8 | b2]`` has bit 0 set
    if the 3 bytes are valid UTF-8 and bit 1 if they can be extended to valid
    UTF-8; ``ext2[b0 << 8 | b1]`` and ``ext1[b0]`` say the latter of the
    first 2 and first byte.  A string can be extended iff it is complete code
    points followed by a proper prefix of one more.
    """

    def encodings(lo: int, hi: int) -> list[bytes]:
        # Surrogates are not characters (RFC 3629 §3).
        return [chr(c).encode("utf-8") for c in range(lo, hi + 1) if not 0xD800 <= c <= 0xDFFF]

    as_int = int.from_bytes
    ascii_ = range(0x80)
    two = [as_int(e, "big") for e in encodings(0x80, 0x7FF)]
    three = [as_int(e, "big") for e in encodings(0x800, 0xFFFF)]
    multi = encodings(0x80, 0x10FFFF)
    p1 = {e[0] for e in multi}  # proper prefixes of one code point, by length
    p2 = {as_int(e[:2], "big") for e in multi if len(e) >= 3}
    p3 = {as_int(e[:3], "big") for e in multi if len(e) == 4}
    del multi
    v2 = [a << 8 | b for a in ascii_ for b in ascii_] + two  # valid 2-byte strings

    f3 = bytearray(1 << 24)
    for a in ascii_:
        for b in ascii_:
            f3[a << 16 | b << 8 : a << 16 | b << 8 | 0x80] = b"\x03" * 0x80
    for cp in two:
        for a in ascii_:
            f3[a << 16 | cp] = 3
            f3[cp << 8 | a] = 3
    for cp in three:
        f3[cp] = 3
    for s in v2:
        for lead in p1:
            f3[s << 8 | lead] |= 2
    for a in ascii_:
        for p in p2:
            f3[a << 16 | p] |= 2
    for p in p3:
        f3[p] |= 2

    ext2 = bytearray(1 << 16)
    for s in v2:
        ext2[s] = 1
    for a in ascii_:
        for lead in p1:
            ext2[a << 8 | lead] = 1
    for p in p2:
        ext2[p] = 1
    ext1 = bytearray(1 << 8)
    for b in [*ascii_, *p1]:
        ext1[b] = 1
    return f3, ext2, ext1


@pytest.mark.slow
@pytest.mark.compiled
def test_all_three_byte_sequences():
    """All 2**24 three-byte inputs through the compiled twin.

    Checks validate_utf8 and Utf8Validator fed in one piece, split 1+2 and
    byte by byte.  Each answer is packed into one byte so that whole
    blocks compare at C speed:

        accepted | finish() << 2 | feed after byte 1 << 3 | after byte 2 << 4 | after byte 3 << 5

    No ``backend`` fixture: the pure twin would take minutes; it must fail,
    not skip, when the compiled module was not built.
    """
    from fastframe import _utf8

    f3, ext2, ext1 = _three_byte_oracle()
    # 2,650,112 = 128**3 + 2 * 128 * 1920 + 61440 (three ASCII, ASCII and a
    # 2-byte code point either way round, or one 3-byte code point).
    assert f3.translate(bytes(f & 1 for f in range(256))).count(1) == 2_650_112
    # The oracle agrees with the grammar and the decoder on a sample.
    rng = random.Random(3)
    for idx in [rng.randrange(1 << 24) for _ in range(20000)] + [0xEDA080, 0xED9FBF, 0xE0A080, 0xE09FBF, 0xF48F80]:
        data = idx.to_bytes(3, "big")
        k, valid = oracle(data)
        assert (f3[idx] & 1, f3[idx] >> 1 & 1) == (valid, k == 3), data.hex()
        assert ext2[idx >> 8] == (k >= 2) and ext1[idx >> 16] == (k >= 1), data.hex()

    # Expected code per flag value of f3 (0, 2 or 3), given ext1 and ext2.
    def table(e1: int, e2: int) -> bytes:
        codes = bytearray(256)
        accepted_if_not_ext3 = 2 if e2 else 1 if e1 else 0
        codes[0] = accepted_if_not_ext3 | e1 << 3 | e2 << 4
        codes[2] = 3 | 1 << 3 | 1 << 4 | 1 << 5
        codes[3] = 3 | 1 << 2 | 1 << 3 | 1 << 4 | 1 << 5
        return bytes(codes)

    tables = {(e1, e2): table(e1, e2) for e1 in (0, 1) for e2 in (0, 1)}
    # Each mode reports only the feed() results at its own chunk ends.
    modes = {"one": 0b100111, "1+2": 0b101111, "bytes": 0b111111}
    keep = {mode: bytes(c & bits for c in range(256)) for mode, bits in modes.items()}

    validate = _utf8.validate_utf8
    v = _utf8.Utf8Validator()
    reset, feed, finish = v.reset, v.feed, v.finish

    def one(c):
        reset()
        r = feed(c)
        return v.accepted | finish() << 2 | r << 5

    def one_two(t):
        reset()
        r1 = feed(t[0])
        r2 = feed(t[1])
        return v.accepted | finish() << 2 | r1 << 3 | r2 << 5

    def by_byte(t):
        reset()
        r1 = feed(t[0])
        r2 = feed(t[1])
        r3 = feed(t[2])
        return v.accepted | finish() << 2 | r1 << 3 | r2 << 4 | r3 << 5

    seconds = b"".join(bytes([b1]) * 256 for b1 in range(256))
    thirds = bytes(range(256)) * 256
    first = operator.itemgetter(0)
    for b0 in range(256):
        block = bytearray(3 << 16)
        block[0::3] = bytes([b0]) * (1 << 16)
        block[1::3] = seconds
        block[2::3] = thirds
        flags = f3[b0 << 16 : (b0 + 1) << 16]
        expected = b"".join(
            flags[b1 << 8 : (b1 + 1) << 8].translate(tables[ext1[b0], ext2[b0 << 8 | b1]]) for b1 in range(256)
        )
        items = list(map(first, struct.iter_unpack("3s", block)))
        results = {
            "validate": bytes(map(validate, items)),
            "one": bytes(map(one, items)),
            "1+2": bytes(map(one_two, struct.iter_unpack("1s2s", block))),
            "bytes": bytes(map(by_byte, struct.iter_unpack("1s1s1s", block))),
        }
        wanted = {"validate": flags.translate(bytes(f & 1 for f in range(256)))}
        wanted.update((mode, expected.translate(keep[mode])) for mode in modes)
        for mode, got in results.items():
            if got != wanted[mode]:
                i = next(i for i in range(1 << 16) if got[i] != wanted[mode][i])
                pytest.fail(
                    f"{mode}: {bytes([b0, i >> 8, i & 255]).hex()}: "
                    f"expected {wanted[mode][i]:#08b}, got {got[i]:#08b} "
                    "(accepted | finish << 2 | feed results << 3..5)"
                )


# --- long inputs: the SIMD ASCII fast path and its tails ----------------------

# (sequence, offset of the first rejected byte within it, or None if valid)
INSERTS = [
    (b"\xc3\xa9", None),
    (b"\xe2\x82\xac", None),
    (b"\xf0\x9f\x98\x80", None),
    (b"\x80", 0),
    (b"\xc0\xaf", 0),
    (b"\xff", 0),
    (b"\xed\xa0\x80", 1),
    (b"\xf4\x90\x80\x80", 1),
    (b"\xe2\x82", 2),  # truncated: the ASCII byte after it is rejected
]


@pytest.mark.parametrize("length", [100, 257, 1061])
def test_first_non_ascii_at_every_position(backend, length):
    rng = random.Random(length)
    base = bytes(rng.randrange(0x20, 0x7F) for _ in range(length))
    assert backend.validate_utf8(base)
    for pos in range(min(201, length - 4)):
        for seq, bad in INSERTS:
            data = base[:pos] + seq + base[pos + len(seq) :]
            k = length if bad is None else pos + bad
            assert oracle(data) == (k, bad is None), (pos, seq)
            assert backend.validate_utf8(data) == (bad is None), (pos, seq)
            # Unaligned, as a view into a larger buffer.
            align = pos % 64
            view = memoryview(bytearray(align) + data)[align:]
            assert backend.validate_utf8(view) == (bad is None), (pos, seq)
            check_stream(backend, data, [view], k, bad is None)
            check_stream(backend, data, [data[: pos + 1], data[pos + 1 :]], k, bad is None)
            if bad is None:
                # The fast path resumes after a multi-byte character and
                # finds an invalid byte further on.
                broken = data[:-1] + b"\x80"
                assert backend.validate_utf8(broken) is False
                check_stream(backend, broken, [broken], length - 1, False)


@pytest.mark.parametrize("length", [4096 + 3, 300 * 1024 + 1])
def test_first_non_ascii_near_the_end(backend, length):
    """The kernels' tails; the larger size is past the GIL-release threshold."""
    base = b"z" * length
    for back in range(1, 201 if length < 10_000 else 9):
        pos = length - back
        for seq, bad in INSERTS:
            if pos + len(seq) > length:
                continue
            data = base[:pos] + seq + base[pos + len(seq) :]
            if bad is None:
                k, valid = length, True
            elif bad == len(seq):  # truncated: fails at the next byte, if any
                k, valid = min(pos + bad, length), False
            else:
                k, valid = pos + bad, False
            assert backend.validate_utf8(data) == valid, (pos, seq)
            check_stream(backend, data, [data], k, valid)


# --- hypothesis ---------------------------------------------------------------

#: Lead bytes, continuation bytes and never-valid bytes, at the edges of their ranges.
INTERESTING = [bytes([b]) for b in bytes.fromhex("00417f808f909fa0bfc0c1c2dfe0e1ecedeeeff0f1f3f4f5f7f8feff")]
pieces = st.one_of(
    st.text(max_size=6).map(lambda s: s.encode("utf-8")),
    # Lone surrogates encoded as if they were characters: ED A0..BF xx.
    st.integers(0xD800, 0xDFFF).map(lambda c: chr(c).encode("utf-8", "surrogatepass")),
    st.binary(max_size=4),
    st.sampled_from(INTERESTING),
    st.integers(0, 80).map(lambda n: b"a" * n),
)
#: Mostly near-valid byte strings: text, with now and then a stray byte.
utf8ish = st.lists(pieces, max_size=12).map(b"".join)


@PROPERTY
@given(data=st.binary(max_size=300) | utf8ish)
def test_validate_matches_decoder(backend, data):
    assert backend.validate_utf8(data) == decodes(data)
    assert backend.validate_utf8(memoryview(data)) == decodes(data)


@PROPERTY
@given(data=st.binary(max_size=40) | utf8ish.filter(lambda d: len(d) <= 120))
def test_incremental_every_split_point(backend, data):
    check_all(backend, data)


@PROPERTY
@given(text=st.text(), pad=st.integers(0, 130))
def test_valid_text(backend, text, pad):
    data = b"p" * pad + text.encode("utf-8")
    assert backend.validate_utf8(data) is True
    check_stream(backend, data, [data], len(data), True)
    for i in range(len(data) + 1):
        check_stream(backend, data, [data[:i], data[i:]], len(data), True)


@PROPERTY
@given(text=st.text(min_size=1), pad=st.integers(0, 130), edits=st.data())
def test_corrupted_text(backend, text, pad, edits):
    data = bytearray(b"p" * pad + text.encode("utf-8"))
    for _ in range(edits.draw(st.integers(1, 3))):
        where = edits.draw(st.integers(0, len(data)))
        byte = edits.draw(st.sampled_from(INTERESTING) | st.binary(min_size=1, max_size=1))
        action = edits.draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        if action == "replace" and where < len(data):
            data[where : where + 1] = byte
        elif action == "insert":
            data[where:where] = byte
        elif action == "delete":
            del data[where : where + 1]
        else:
            del data[where:]
    data = bytes(data)
    k, valid = oracle(data)
    assert backend.validate_utf8(data) == valid
    check_stream(backend, data, [data], k, valid)
    check_stream(backend, data, [data[i : i + 1] for i in range(len(data))], k, valid)
    cut = edits.draw(st.integers(0, len(data)))
    check_stream(backend, data, [memoryview(data)[:cut], memoryview(data)[cut:]], k, valid)


@PROPERTY
@given(
    data=st.lists(pieces, max_size=60).map(b"".join) | st.binary(min_size=64, max_size=2000),
    cuts=st.lists(st.integers(0, 3000), max_size=10),
    as_view=st.booleans(),
)
def test_incremental_random_chunks(backend, data, cuts, as_view):
    points = sorted({0, len(data), *(c for c in cuts if c <= len(data))})
    source = memoryview(data) if as_view else data
    chunks = [source[a:b] for a, b in zip(points, points[1:])]
    k, valid = oracle(data)
    check_stream(backend, data, chunks, k, valid)


# --- fail fast, and what happens after a failure --------------------------------

# (bytes, k): the stream fails at data[k], inside an unfinished sequence when
# k > 0, and feed() must say so at that byte, not at the end of the sequence.
FAIL_FAST = [
    ("eda0", 1),
    ("edbf", 1),
    ("f490", 1),
    ("f4bf", 1),
    ("e080", 1),
    ("e09f", 1),
    ("f080", 1),
    ("f08f", 1),
    ("c2c2", 1),
    ("e2c2", 1),
    ("f1c0", 1),
    ("e282e2", 2),
    ("f09f41", 2),
    ("f09f98f0", 3),
    *((f"{b:02x}", 0) for b in (0x80, 0xBF, 0xC0, 0xC1, *range(0xF5, 0x100))),
]


@pytest.mark.parametrize(("hexdata", "k"), FAIL_FAST)
def test_fails_fast(backend, hexdata, k):
    data = bytes.fromhex(hexdata)
    assert oracle_scan(data) == (k, False)
    for prefix in (b"", b"a", "é".encode(), b"b" * 70):
        stream = prefix + data
        pos = len(prefix) + k
        # Fed up to and including the first bad byte: False at once.
        v = backend.Utf8Validator()
        assert v.feed(stream[:pos]) is True
        assert v.failed is False
        assert v.feed(stream[pos : pos + 1]) is False
        assert v.failed is True
        assert v.accepted == pos
        assert v.finish() is False
        # In one piece.
        v = backend.Utf8Validator()
        assert v.feed(stream[: pos + 1]) is False
        assert v.accepted == pos
        assert backend.validate_utf8(stream) is False


def test_stays_failed(backend):
    v = backend.Utf8Validator()
    assert v.feed(b"ab\xed") is True
    assert v.feed(b"\xa0\x80cd") is False
    assert (v.accepted, v.failed, v.finish()) == (3, True, False)
    for chunk in (b"valid", "é€😀".encode(), b"", b"\x80", bytearray(b"ok"), memoryview(b"ok")):
        assert v.feed(chunk) is False
        assert (v.accepted, v.failed, v.finish()) == (3, True, False)


def test_reset(backend):
    v = backend.Utf8Validator()
    v.feed(b"abc\xff")
    assert v.failed
    v.reset()
    assert (v.accepted, v.failed, v.finish()) == (0, False, True)
    assert v.feed("é".encode()) is True
    assert (v.accepted, v.failed, v.finish()) == (2, False, True)
    # Reset in the middle of a code point forgets it.
    assert v.feed(b"\xe2\x82") is True
    assert v.finish() is False
    v.reset()
    assert v.finish() is True
    assert v.feed(b"\xac") is False  # a continuation byte at the start
    v.reset()
    assert v.feed(b"\xe2\x82") is True
    assert v.feed(b"\xac") is True
    assert (v.accepted, v.failed, v.finish()) == (3, False, True)


def test_fresh_and_empty(backend):
    v = backend.Utf8Validator()
    assert (v.accepted, v.failed, v.finish()) == (0, False, True)
    assert v.feed(b"") is True
    assert v.feed(bytearray()) is True
    assert (v.accepted, v.failed, v.finish()) == (0, False, True)
    assert backend.validate_utf8(b"") is True
    assert backend.validate_utf8(memoryview(b"abc")[1:1]) is True


def test_code_points_split_across_chunks(backend):
    for char in ("é", "€", "😀", "\U0010ffff", "\u0800"):
        data = ("a" + char + "b").encode()
        for i in range(len(data) + 1):
            for j in range(i, len(data) + 1):
                v = backend.Utf8Validator()
                assert v.feed(data[:i]) is True
                assert v.feed(b"") is True
                assert v.feed(data[i:j]) is True
                assert v.finish() is (j in (0, 1, len(data) - 1, len(data)))
                assert v.feed(data[j:]) is True
                assert v.finish() is True
                assert v.accepted == len(data)


def test_finish_on_unfinished_sequence(backend):
    for data in (b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"ok\xf4\x8f"):
        v = backend.Utf8Validator()
        assert v.feed(data) is True
        assert (v.accepted, v.failed, v.finish()) == (len(data), False, False)
        assert backend.validate_utf8(data) is False


def test_validators_are_independent(backend):
    a, b = backend.Utf8Validator(), backend.Utf8Validator()
    assert a.feed(b"\xe2") is True
    assert b.feed(b"\xf0\x9f") is True
    assert a.feed(b"\x82") is True
    assert b.feed(b"\x98") is True
    assert b.feed(b"\x80") is True
    assert a.feed(b"\xac") is True
    assert a.finish() and b.finish()
    assert b.feed(b"\xff") is False
    assert a.feed(b"fine") is True
    assert (a.accepted, a.failed, b.accepted, b.failed) == (7, False, 4, True)


def test_large_inputs(backend):
    text = ("ASCII, Ελληνικά, 中文, emoji 😀🎉, and more; " * 30000).encode()  # ~1.5 MB
    assert backend.validate_utf8(text) is True
    assert backend.validate_utf8(b"a" * (1 << 20)) is True
    for pos in (0, 1, 4095, 65536, len(text) // 2 + 1, len(text) - 1):
        broken = bytearray(text)
        broken[pos] = 0xFF
        assert backend.validate_utf8(broken) is False, pos
        v = backend.Utf8Validator()
        assert v.feed(broken) is False
        assert v.accepted == pos
    # In socket-sized chunks.
    v = backend.Utf8Validator()
    view = memoryview(text)
    rng = random.Random(1)
    i = 0
    while i < len(text):
        size = rng.choice([1, 2, 3, 7, 64, 1400, 4096, 65536, 300_000])
        assert v.feed(view[i : i + size]) is True
        i += size
    assert v.finish() and v.accepted == len(text)


def test_threads(backend):
    """Large inputs may release the GIL; validators must not share state."""
    texts = [("x" * 1000 + "é€😀" * 100) * 300, "y" * 300_000 + "ü", "z" * 400_000]
    datas = [t.encode() for t in texts] + [b"w" * 300_000 + b"\xed\xa0\x80" + b"w" * 1000]
    expected = [(True, len(d)) for d in datas[:3]] + [(False, 300_001)]
    results: list[object] = [None] * len(datas)

    def work(i: int) -> None:
        for _ in range(3):
            v = backend.Utf8Validator()
            ok = v.feed(datas[i]) and backend.validate_utf8(datas[i])
            results[i] = (ok, v.accepted)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(datas))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected


# --- buffer types ----------------------------------------------------------------


def test_buffer_types(backend):
    text = ("héllo wörld € 😀 " * 20).encode()
    assert len(text) % 4 == 0
    bad = text[:-5] + b"\xc0" + text[-4:]
    for data, valid, k in ((text, True, len(text)), (bad, False, len(text) - 5)):
        views = [
            bytearray(data),
            memoryview(data),
            memoryview(bytearray(data)),
            memoryview(data).toreadonly(),
            array.array("B", data),
            array.array("H", data),  # read as raw bytes
            array.array("I", data),
            memoryview(data).cast("B", (len(data) // 4, 4)),  # C-contiguous 2-D
        ]
        for view in views:
            assert backend.validate_utf8(view) is valid, type(view)
            v = backend.Utf8Validator()
            assert v.feed(view) is valid
            assert v.accepted == k
        for align in range(64):
            buf = bytearray(align) + data
            assert backend.validate_utf8(memoryview(buf)[align:]) is valid, align


# --- bad input: same exception type on both backends, never a crash ------------

NOT_BUFFERS = ["", "text", "é", None, 0, 1, 1.5, [0x61], (0x61,), object()]
NON_CONTIGUOUS = [memoryview(b"abcdefgh")[::2], memoryview(bytearray(b"abcdefgh"))[::2], memoryview(b"abcd")[::-1]]


@pytest.mark.parametrize("value", NOT_BUFFERS + NON_CONTIGUOUS, ids=stable_id)
def test_validate_not_a_contiguous_buffer(backend, value):
    with pytest.raises(TypeError):
        backend.validate_utf8(value)


@pytest.mark.parametrize("value", NOT_BUFFERS + NON_CONTIGUOUS, ids=stable_id)
def test_feed_not_a_contiguous_buffer(backend, value):
    v = backend.Utf8Validator()
    assert v.feed(b"a\xe2\x82") is True
    with pytest.raises(TypeError):
        v.feed(value)
    # The error changed nothing.
    assert (v.accepted, v.failed, v.finish()) == (3, False, False)
    assert v.feed(b"\xac") is True
    assert v.finish() is True
    # Not even a failed validator accepts a non-buffer silently.
    assert v.feed(b"\xff") is False
    with pytest.raises(TypeError):
        v.feed(value)
    assert (v.accepted, v.failed) == (4, True)


def test_api_shape(backend):
    with pytest.raises(TypeError):
        backend.validate_utf8()
    with pytest.raises(TypeError):
        backend.validate_utf8(b"a", b"b")
    v = backend.Utf8Validator()
    with pytest.raises(TypeError):
        v.feed()
    with pytest.raises(AttributeError):
        v.accepted = 5
    with pytest.raises(AttributeError):
        v.failed = True
    assert backend.validate_utf8(data=b"ok") is True
    assert v.feed(data=b"ok") is True
    assert type(v.accepted) is int and type(v.failed) is bool and type(v.finish()) is bool
    assert type(backend.validate_utf8(b"\xff")) is bool and type(v.feed(b"\xff")) is bool


@pytest.mark.parametrize("args", [(b"a",), (None,), (1, 2)])
def test_validator_takes_no_arguments(backend, args):
    with pytest.raises(TypeError):
        backend.Utf8Validator(*args)
    with pytest.raises(TypeError):
        backend.Utf8Validator(data=b"a")


def test_kernel_name(backend):
    if backend.name == "python":
        assert backend.kernels["utf8"] == "python"
    else:
        assert backend.kernels["utf8"] in {"avx512vbmi", "avx512", "avx2", "ssse3", "sse2", "neon", "scalar"}


# --- published test vectors --------------------------------------------------
#
# Markus Kuhn's UTF-8 decoder stress test, as the Autobahn test suite turned
# it into (expected, bytes) pairs (its cases 6.x), read from the autobahn
# package installed with the test extra; the fail-fast position is checked
# against autobahn's own incremental validator, another independent oracle.


def _autobahn() -> tuple[list[tuple[bool, bytes]], type]:
    if platform.python_implementation() != "CPython":
        pytest.skip("the test extra installs autobahn on CPython only")
    if os.environ.get("CIBUILDWHEEL") == "1":
        # Wheel tests install no autobahn (see pyproject.toml); everywhere
        # else the test extra does, and a missing one fails here.
        pytest.importorskip("autobahn")
    from autobahn.nvx.test.test_nvx_utf8validator import _create_utf8_test_sequences
    from autobahn.websocket.utf8validator import Utf8Validator as AutobahnValidator

    vectors = [(bool(valid), bytes(data)) for _, cases in _create_utf8_test_sequences() for valid, data in cases]
    assert len(vectors) > 100
    return vectors, AutobahnValidator


def test_autobahn_vectors_one_shot(backend):
    vectors, _ = _autobahn()
    for expected, data in vectors:
        assert backend.validate_utf8(data) is expected, data


def test_autobahn_vectors_fail_fast(backend):
    vectors, reference = _autobahn()
    for _, data in vectors:
        oracle = reference()
        # (valid so far, ends on a code point, index in this chunk, index in the stream)
        valid, complete, _, position = oracle.validate(data)
        for pieces in ([data], [data[i : i + 1] for i in range(len(data))]):
            ours = backend.Utf8Validator()
            results = [ours.feed(piece) for piece in pieces]
            assert all(results) is bool(valid), data
            assert ours.finish() is bool(valid and complete), data
            if not valid:
                # Both report the stream index of the first impossible byte.
                assert ours.accepted == position, data
                # Byte by byte, the first False comes with that byte.
                assert results.index(False) == (0 if len(pieces) == 1 else position), data


# --- SIMD validators: every sequence and error at and around a block edge ---------

#: Offsets of a sequence in a buffer: on both sides of the 16-, 32- and 64-byte edges.
EDGES = [15, 16, 31, 32, 63, 64, 65]


@pytest.mark.parametrize("prefix", [b"a", "\u00e9".encode()], ids=["ascii", "e-acute"])
def test_two_byte_sequences_at_block_edges(backend, prefix):
    """All 65536 two-byte sequences at every edge, after ASCII or after text.

    A prefix of ASCII leaves the block before the sequence on the SIMD
    kernels' all-ASCII path; a prefix ending in \u00e9 sends it through the
    lookups.  The fail-fast position is the pair's own, shifted.
    """
    answers = {}
    for x in range(256):
        for y in range(256):
            pair = bytes((x, y))
            answers[pair] = oracle(pair)
    for at in EDGES:
        head = b"a" * (at - len(prefix)) + prefix
        v = backend.Utf8Validator()
        for pair, (k, valid) in answers.items():
            data = head + pair
            assert backend.validate_utf8(data) is valid, (at, pair.hex())
            v.reset()
            assert v.feed(data) is (k == 2), (at, pair.hex())
            assert v.accepted == at + k and v.finish() is valid, (at, pair.hex())


def _multilingual(rng: random.Random, size: int) -> bytes:
    words = [
        "hello",
        "caf\u00e9",
        "\u0436\u0443\u0440\u043d\u0430\u043b",
        "\u4e2d\u6587",
        "\U0001f600",
        "\uffff",
        "\U0010ffff",
        "\ud7ff",
        " ",
        "\u00ff",
        "\u0800",
    ]
    encoded = [word.encode() for word in words]
    out: list[bytes] = []
    total = 0
    while total < size:
        word = rng.choice(encoded)
        out.append(word)
        total += len(word)
    return b"".join(out)


#: Bytes a corruption writes: every class of the RFC 3629 §4 table at its edges.
CORRUPT = [bytes([b]) for b in bytes.fromhex("00617f808f909fa0bfc0c1c2dfe0e1ecedeeeff0f1f3f4f5f8ff")]


@pytest.mark.parametrize("seed", range(4))
def test_single_corruption_at_block_edges(backend, seed):
    """Valid multilingual text with one byte replaced, or one inserted, at every vector edge.

    The first error can be in the block the SIMD kernel checks or in the
    bytes it carries from the block before, and the automaton must still
    give its exact position.
    """
    rng = random.Random(seed)
    text = _multilingual(rng, 300)
    assert decodes(text)
    for edge in range(16, len(text), 16):
        for at in (edge - 1, edge, edge + 1):
            for byte in CORRUPT:
                for data in (text[:at] + byte + text[at + 1 :], text[:at] + byte + text[at:]):
                    k, valid = oracle(data)
                    assert backend.validate_utf8(data) is valid, (at, byte)
                    check_stream(backend, data, [data], k, valid)


@pytest.mark.parametrize("seed", range(3))
def test_multilingual_split_at_every_position(backend, seed):
    """Long text, valid or with an error near its end, fed in two chunks cut at every position.

    Each cut can leave a code point split between the chunks, the automaton
    carrying it into the SIMD kernel's next chunk.
    """
    rng = random.Random(seed)
    text = _multilingual(rng, 260)
    for data in (text, text[:-7] + b"\xed\xa0\x80" + text[-7:], text + b"\xf4\x90"):
        k, valid = oracle(data)
        for cut in range(len(data) + 1):
            check_stream(backend, data, [data[:cut], data[cut:]], k, valid)


def test_truncated_at_every_length(backend):
    """Valid text cut at every length: unfinished only when the cut is inside a code point."""
    text = _multilingual(random.Random(7), 400)
    for n in range(len(text) + 1):
        data = text[:n]
        k, valid = oracle(data)
        assert backend.validate_utf8(data) is valid, n
        check_stream(backend, data, [data], k, valid)


def test_autobahn_vectors_at_block_edges(backend):
    """Markus Kuhn's stress cases after 14 to 65 bytes of text, so that each straddles a block edge."""
    vectors, _ = _autobahn()
    for at in EDGES:
        head = b"a" * (at - 2) + "\u00e9".encode()
        for expected, data in vectors:
            stream = head + data
            assert backend.validate_utf8(stream) is expected, (at, data)
            k, valid = oracle(stream)
            check_stream(backend, stream, [stream], k, valid)


@pytest.mark.parametrize("n", range(96, 161, 4))
def test_last_block_overlapping_the_one_before(backend, n):
    """A sequence, valid, unfinished or broken, at every position near the end of ASCII text.

    From 96 bytes on, the AVX2 validator checks the text's last 64 bytes as
    one block overlapping the block before it; the sequence can sit in the
    overlap, across its start, or in the earlier block with its end in it.
    """
    sequences = [b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xe2\x82", b"\xf0\x9f\x98", b"\xc3"]
    sequences += [b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe0\x80\xaf", b"\x80", b"\xff"]
    for n_text in (n, n + 1, n + 2, n + 3):
        for seq in sequences:
            for at in sorted({*range(56, 70), *range(n_text - 70, n_text - len(seq) + 1)}):
                data = b"q" * at + seq + b"q" * (n_text - at - len(seq))
                k, valid = oracle(data)
                assert backend.validate_utf8(data) is valid, (n_text, at, seq)
                check_stream(backend, data, [data], k, valid)


# --- decode_utf8 -----------------------------------------------------------------


def _decode_error(data: bytes) -> tuple[int, int, str]:
    with pytest.raises(UnicodeDecodeError) as info:
        data.decode("utf-8")
    return info.value.start, info.value.end, info.value.reason


def check_decode(backend, data: bytes) -> None:
    """decode_utf8 gives what bytes.decode gives: the str, or the error at the same place."""
    try:
        want = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        for source in (data, bytearray(data), memoryview(data)):
            with pytest.raises(UnicodeDecodeError) as info:
                backend.decode_utf8(source)
            got = info.value
            assert (got.start, got.end, got.reason) == (exc.start, exc.end, exc.reason), data.hex()
            assert got.encoding == "utf-8" and bytes(got.object) == data
        return
    for source in (data, bytearray(data), memoryview(data)):
        got = backend.decode_utf8(source)
        assert type(got) is str and got == want, data.hex()


@pytest.mark.parametrize(
    "text",
    ["", "a", "hello", "caf\u00e9", "\u00ff" * 3, "\u0100", "\u4e2d\u6587", "\uffff", "\U0001f600", "a\U0010ffff"],
    ids=stable_id,
)
@pytest.mark.parametrize("pad", [0, 7, 8, 31, 32, 63, 64, 65, 200])
def test_decode_every_kind(backend, text, pad):
    """Each PEP 393 kind (ASCII, Latin-1, BMP, astral), after ASCII runs that cross the word and vector edges."""
    for data in ((b"x" * pad + text.encode()), (text.encode() + b"y" * pad), (text * (pad + 1)).encode()):
        check_decode(backend, data)


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="CPython's cached one-character strings")
def test_decode_one_latin1_character_is_cpythons_shared_string(backend):
    """One character up to U+00FF decodes to the string bytes.decode returns: CPython's cached one, not a copy."""
    from fastframe import Opcode, build_frame

    assembler = backend.MessageAssembler(backend.FrameParser(client=True))
    for code in range(256):
        data = chr(code).encode()
        assert backend.decode_utf8(data) is data.decode("utf-8"), hex(code)
        [message] = assembler.feed(build_frame(Opcode.TEXT, data))
        assert message.data is data.decode("utf-8"), hex(code)


def test_decode_sizes(backend):
    """ASCII and multilingual text of every size to 300 bytes and at 1 KiB, 64 KiB, 1 MiB."""
    text = _multilingual(random.Random(3), 1 << 20)
    cut = text.decode("utf-8", "ignore")
    for n in [*range(301), 1024, 65536, 1 << 20]:
        check_decode(backend, b"k" * n)
        check_decode(backend, cut[:n].encode())
        check_decode(backend, text[:n])


@pytest.mark.parametrize("seed", range(3))
def test_decode_errors_match_the_decoder(backend, seed):
    """One corruption at every block edge of multilingual text: the same start, end and reason."""
    rng = random.Random(seed)
    text = _multilingual(rng, 200)
    for at in range(0, len(text)):
        byte = rng.choice(CORRUPT)
        check_decode(backend, text[:at] + byte + text[at + 1 :])
        check_decode(backend, text[:at])


def test_decode_kuhn_stress_cases(backend):
    """The stress cases alone and after text: the str, or the decoder's own error."""
    vectors, _ = _autobahn()
    for _, data in vectors:
        check_decode(backend, data)
        check_decode(backend, "\u00e9".encode() * 31 + data)


@PROPERTY
@given(data=st.binary(max_size=300) | utf8ish | st.text().map(str.encode))
def test_decode_matches_the_decoder(backend, data):
    check_decode(backend, data)


@pytest.mark.parametrize("value", NOT_BUFFERS + NON_CONTIGUOUS, ids=stable_id)
def test_decode_not_a_contiguous_buffer(backend, value):
    with pytest.raises(TypeError):
        backend.decode_utf8(value)


def test_assembler_decodes_text_of_every_length(backend):
    """MessageAssembler delivers text of every length as decode_utf8 builds it; invalid text is 1007."""
    from fastframe import Opcode, ProtocolError, build_frame

    text = _multilingual(random.Random(5), 70000)
    valid = text.decode("utf-8", "ignore").encode()
    for n in [*range(0, 140, 3), 1000, 65536]:
        payload = valid[:n].decode("utf-8", "ignore").encode()
        assembler = backend.MessageAssembler(backend.FrameParser(client=True))
        [message] = assembler.feed(build_frame(Opcode.TEXT, payload))
        assert message.data == payload.decode("utf-8") == backend.decode_utf8(payload)
    parser = backend.FrameParser(client=True, validate_utf8=False)
    assembler = backend.MessageAssembler(parser)
    with pytest.raises(ProtocolError) as info:
        assembler.feed(build_frame(Opcode.TEXT, valid[:100] + b"\xed\xa0\x80"))
    assert info.value.code == 1007


# --- decode_utf8: one script at a time, and at the block edges of the SIMD writers ---

#: Code point ranges by the PEP 393 kind they give and the UTF-8 length they
#: take: Latin-1 (2 bytes, 1-byte kind), the rest of the 2-byte range (Greek,
#: Cyrillic, Hebrew, Arabic: 2-byte kind), the 3-byte range without the
#: surrogates (CJK, and the edges U+0800 and U+FFFF: 2-byte kind), the 4-byte
#: range (emoji and the other astral planes: 4-byte kind).
SCRIPTS = {
    "latin1": [(0x80, 0xFF)],
    "two-byte": [(0x100, 0x7FF)],
    "cjk": [(0x800, 0xD7FF), (0xE000, 0xFFFF)],
    "emoji": [(0x10000, 0x10FFFF)],
}
#: Each script alone, and each mixed with ASCII (one character in two).
SCRIPT_MIXES = [
    *((name,) for name in SCRIPTS),
    *((name, "ascii") for name in SCRIPTS),
    # Every 2-byte sequence and ASCII: the largest kind with no 3-byte sequence.
    ("two-byte", "latin1", "ascii"),
    tuple(SCRIPTS),
]


def _script_text(rng: random.Random, scripts: tuple[str, ...], count: int) -> str:
    """``count`` random code points from ``scripts`` (``"ascii"`` is U+0000-U+007F)."""
    out = []
    for _ in range(count):
        name = rng.choice(scripts)
        low, high = rng.choice(SCRIPTS[name]) if name != "ascii" else (0, 0x7F)
        out.append(chr(rng.randint(low, high)))
    return "".join(out)


@pytest.mark.parametrize("scripts", SCRIPT_MIXES, ids="+".join)
def test_decode_each_script_at_every_length(backend, scripts):
    """Text of one script (or a script and ASCII) cut at every byte length to 200, and whole at every code
    point count to 200: each kind, each sequence length, every place a writer's last block can end."""
    rng = random.Random(6455)
    text = _script_text(rng, scripts, 200)
    data = text.encode()
    for n in range(201):
        check_decode(backend, data[:n].decode("utf-8", "ignore").encode())
        check_decode(backend, text[:n].encode())


@pytest.mark.parametrize("char", ["\u0080", "\u00ff", "\u0100", "\u07ff", "\u0800", "\u4e2d", "\uffff", "\U0001f600"])
def test_decode_first_and_last_non_ascii_at_block_edges(backend, char):
    """One character of each kind and length, and a run of five, at every offset of 140 bytes of ASCII:
    the first and the last non-ASCII character fall on each side of every 16-, 32- and 64-byte edge."""
    ascii_text = "".join(chr(ord("a") + k % 26) for k in range(140))
    width = len(char.encode())
    for run in (1, 5):
        for at in range(0, 140 - run * width + 1):
            # Bytes before the character stay ASCII, so it starts at byte `at`.
            text = ascii_text[:at] + char * run + ascii_text[at + run * width :]
            check_decode(backend, text.encode())
            check_decode(backend, text[: at + run].encode())
            # Non-ASCII text whose last character ends at byte `at` + its length, then ASCII.
            lead = _script_text(random.Random(at), ("cjk", "emoji", "two-byte"), 40)
            check_decode(backend, (lead + char * run + ascii_text[at:]).encode())


@pytest.mark.parametrize("wider", ["\u0800", "\uffff", "\U0001f600"])
def test_decode_two_byte_text_with_one_wider_character(backend, wider):
    """2-byte text (up to U+07FF, which has a writer of its own) with one character of 3 or 4 bytes at
    every position: the one character moves the text to the next writer wherever it falls."""
    rng = random.Random(7)
    text = _script_text(rng, ("two-byte", "latin1", "ascii"), 90)
    assert max(text) <= "\u07ff"
    for at in range(len(text) + 1):
        check_decode(backend, (text[:at] + wider + text[at:]).encode())


@pytest.mark.parametrize("scripts", SCRIPT_MIXES, ids="+".join)
def test_decode_large_texts_of_each_script(backend, scripts):
    """64 KiB and 1 MiB of each script: long runs through the writers' main loops."""
    rng = random.Random(10)
    for count in (1 << 14, 1 << 18):
        data = _script_text(rng, scripts, count).encode()
        got = backend.decode_utf8(data)
        assert type(got) is str and got == data.decode("utf-8")


@pytest.mark.parametrize("cut", ["\u00e9", "\u4e2d", "\U0001f600"], ids=stable_id)
def test_decode_sequence_cut_short_then_ascii(backend, cut):
    """A sequence missing its last byte at every offset to 200, then no, few or a block's worth of ASCII:
    the one-pass scan must see the open sequence also when the next 64-byte block is all ASCII."""
    head = cut.encode()[:-1]
    for at in range(201):
        for after in (0, 1, 3, 64, 67, 96):
            check_decode(backend, b"a" * at + head + b"b" * after)


def test_decode_one_bad_byte_at_every_position_of_every_length(backend):
    """Multilingual text of every length to 200 bytes, one byte replaced at every position: the error is
    bytes.decode's (start, end, reason), wherever the scan's blocks, padded or overlapping, end."""
    text = _multilingual(random.Random(11), 260)
    for n in range(201):
        for at in range(n):
            check_decode(backend, text[:at] + CORRUPT[(n + at) % len(CORRUPT)] + text[at + 1 : n])
