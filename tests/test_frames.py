"""Tests for frame headers, frames and close payloads (``_frames`` and ``_frames_py``).

Every test of behaviour runs on both backends through the ``backend``
fixture.  Expected values come from RFC 6455 (§5.2, §5.5.1, §5.7, §7.4), from
the independent encoder and decoders in ``tests/support`` and from websockets'
``Frame`` (``TestWebsocketsOracle``), never from fastframe itself.  The
``repr`` tests compare the compiled twin with the pure one directly; they are
marked ``compiled`` and take no ``backend`` fixture.
"""

from __future__ import annotations

import array
import pickle
import random
import struct
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from websockets.frames import Frame as WSFrame, Opcode as WSOpcode
from websockets.streams import StreamReader

from fastframe._backend import load_backend
from fastframe.enums import Opcode
from fastframe.errors import ProtocolError
from support.decoder import header_fields, ref_parse_header
from support.encoder import encode_frame, encode_header, mask
from support.params import stable_id
from support.rfc import CONTROL_OPCODES, DEFINED_OPCODES, MASK_KEY, RESERVED_OPCODES, VALID_CLOSE_CODES
from support.strategies import keys, texts

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    # The backend fixture holds no state, and neither do the test classes.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.differing_executors],
)

# RFC 6455 §5.7, byte for byte.
HELLO = bytes.fromhex("810548656c6c6f")
HELLO_MASKED = bytes.fromhex("818537fa213d7f9f4d5158")
HEL = bytes.fromhex("010348656c")
LO = bytes.fromhex("80026c6f")
PING_HELLO = bytes.fromhex("890548656c6c6f")
PONG_HELLO_MASKED = bytes.fromhex("8a8537fa213d7f9f4d5158")
BINARY_256_HEADER = bytes.fromhex("827e0100")
BINARY_64K_HEADER = bytes.fromhex("827f0000000000010000")


# ---------------------------------------------------------------------------
# parse_header


class TestParseHeader:
    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            # fin, rsv1, rsv2, rsv3, opcode, masked, length, mask, size
            (HELLO, (True, False, False, False, 1, False, 5, None, 2)),
            (HELLO_MASKED, (True, False, False, False, 1, True, 5, MASK_KEY, 6)),
            (HEL, (False, False, False, False, 1, False, 3, None, 2)),
            (LO, (True, False, False, False, 0, False, 2, None, 2)),
            (PING_HELLO, (True, False, False, False, 9, False, 5, None, 2)),
            (PONG_HELLO_MASKED, (True, False, False, False, 10, True, 5, MASK_KEY, 6)),
            (BINARY_256_HEADER, (True, False, False, False, 2, False, 256, None, 4)),
            (BINARY_64K_HEADER, (True, False, False, False, 2, False, 65536, None, 10)),
        ],
        ids=["hello", "hello-masked", "hel", "lo", "ping", "pong-masked", "256", "64k"],
    )
    def test_rfc_examples(self, backend, data, expected):
        header = backend.parse_header(data)
        assert header_fields(header) == expected
        assert type(header.opcode) is int
        assert type(header.length) is int
        assert type(header.size) is int
        for bit in (header.fin, header.rsv1, header.rsv2, header.rsv3, header.masked):
            assert type(bit) is bool

    def test_every_first_byte(self, backend):
        for b0 in range(256):
            for b1 in (0x00, 0x05, 0x7D, 0x80, 0x85):
                data = bytes([b0, b1]) + MASK_KEY
                assert header_fields(backend.parse_header(data)) == ref_parse_header(data), data.hex()

    @pytest.mark.parametrize(
        ("data", "length", "size"),
        [
            (b"\x82\x00", 0, 2),
            (b"\x82\x7d", 125, 2),
            (b"\x82\x7e\x00\x7e", 126, 4),
            (b"\x82\x7e\xff\xff", 65535, 4),
            (b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 65536, 10),
            (b"\x82\x7f\x00\x00\x00\x01\x00\x00\x00\x00", 2**32, 10),
            (b"\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff", 2**63 - 1, 10),
            # Non-minimal encodings are a sender's fault (§5.2); the header
            # parser reports what is written.
            (b"\x82\x7e\x00\x00", 0, 4),
            (b"\x82\x7e\x00\x05", 5, 4),
            (b"\x82\x7f\x00\x00\x00\x00\x00\x00\x00\x05", 5, 10),
            (b"\x82\xfe\x01\x00" + MASK_KEY, 256, 8),
            (b"\x82\xff\x7f\xff\xff\xff\xff\xff\xff\xff" + MASK_KEY, 2**63 - 1, 14),
        ],
    )
    def test_lengths(self, backend, data, length, size):
        header = backend.parse_header(data + b"trailing payload")
        assert header.length == length
        assert header.size == size
        assert header_fields(header) == ref_parse_header(data)

    @pytest.mark.parametrize(
        "data",
        [
            HELLO[:2],
            HELLO_MASKED[:6],
            BINARY_256_HEADER,
            BINARY_64K_HEADER,
            b"\x82\xfe\x01\x00" + MASK_KEY,
            b"\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00" + MASK_KEY,
        ],
    )
    def test_truncated_header_needs_more(self, backend, data):
        for k in range(len(data)):
            assert backend.parse_header(data[:k]) is None, k
            # At an offset, with bytes before the header.
            assert backend.parse_header(b"junk" + data[:k], 4) is None, k
            assert backend.parse_header(bytearray(data[:k])) is None, k
        assert backend.parse_header(data).size == len(data)
        assert backend.parse_header(b"junk" + data, 4).size == len(data)

    @pytest.mark.parametrize(
        "length_bytes",
        [b"\x80\x00\x00\x00\x00\x00\x00\x00", b"\xff\xff\xff\xff\xff\xff\xff\xff", b"\x80\x00\x00\x00\x00\x00\x00\x05"],
    )
    @pytest.mark.parametrize("b1", [0x7F, 0xFF])
    def test_length_msb_set(self, backend, length_bytes, b1):
        data = bytes([0x82, b1]) + length_bytes + MASK_KEY
        with pytest.raises(ProtocolError) as info:
            backend.parse_header(data)
        assert info.value.code == 1002
        with pytest.raises(ProtocolError) as info:
            backend.parse_header(b"xy" + data, 2)
        assert info.value.code == 1002
        # Before the length is complete, more bytes are needed.
        for k in range(10):
            assert backend.parse_header(data[:k]) is None

    def test_offset(self, backend):
        stream = HELLO + HELLO_MASKED + BINARY_256_HEADER
        header = backend.parse_header(stream, len(HELLO))
        assert header_fields(header) == ref_parse_header(HELLO_MASKED)
        header = backend.parse_header(stream, len(HELLO) + len(HELLO_MASKED))
        assert header.length == 256
        assert backend.parse_header(stream, len(stream)) is None
        assert backend.parse_header(stream, len(stream) - 1) is None
        assert backend.parse_header(b"", 0) is None

    # Also beyond a C ssize_t: still "out of range", not an overflow.
    @pytest.mark.parametrize("offset", [-1, -100, 8, 9, 1000, 2**62, 2**63, 2**70, -(2**63) - 1, -(2**70)])
    def test_offset_out_of_range(self, backend, offset):
        with pytest.raises(ValueError):
            backend.parse_header(HELLO, offset)

    def test_buffer_types(self, backend):
        expected = ref_parse_header(HELLO_MASKED)
        for buf in (
            HELLO_MASKED,
            bytearray(HELLO_MASKED),
            memoryview(HELLO_MASKED),
            memoryview(b"xx" + HELLO_MASKED)[2:],
            array.array("B", HELLO_MASKED),
        ):
            assert header_fields(backend.parse_header(buf)) == expected, type(buf)

    @pytest.mark.parametrize("bad", ["\x81\x05", 0x8105, None, [0x81, 0x05], memoryview(b"\x81\x00\x05\x00")[::2]])
    def test_not_a_buffer(self, backend, bad):
        with pytest.raises(TypeError):
            backend.parse_header(bad)

    def test_equality(self, backend):
        a = backend.parse_header(HELLO_MASKED)
        b = backend.parse_header(bytearray(b"??" + HELLO_MASKED), 2)
        assert a == b
        assert not (a != b)
        for other in (HELLO, PING_HELLO, HEL, PONG_HELLO_MASKED, b"\x81\x85\x37\xfa\x21\x3e", b"\xc1\x85" + MASK_KEY):
            c = backend.parse_header(other)
            assert a != c, other.hex()
            assert not (a == c)
        assert a != header_fields(a)
        assert a != "header"
        with pytest.raises(TypeError):
            hash(a)

    def test_constructed_header_is_all_zero(self, backend):
        header = backend.Header()
        assert header_fields(header) == (False, False, False, False, 0, False, 0, None, 0)
        assert repr(header) == (
            "Header(fin=False, rsv1=False, rsv2=False, rsv3=False, opcode=0, masked=False, length=0, mask=None, size=0)"
        )
        header.opcode = 9
        assert header.opcode == 9

    @pytest.mark.parametrize("name", ["fin", "rsv1", "rsv2", "rsv3", "opcode", "masked", "length", "mask", "size"])
    def test_fields_cannot_be_deleted(self, backend, name):
        header = backend.parse_header(HELLO_MASKED)
        before = header_fields(header)
        with pytest.raises(AttributeError, match=f"cannot delete '{name}'"):
            delattr(header, name)
        assert header_fields(header) == before

    @pytest.mark.compiled
    def test_repr_same_as_pure_twin(self):
        compiled, pure = load_backend("cython"), load_backend("python")
        for data in (HELLO, HELLO_MASKED, BINARY_64K_HEADER, b"\x7f\x00"):
            text = repr(compiled.parse_header(data))
            assert text == repr(pure.parse_header(data))
            assert text.startswith("Header(")

    @PROPERTY
    @given(
        b0=st.integers(0, 255),
        length=st.one_of(st.integers(0, 300), st.integers(0, 2**63 - 1)),
        key=st.one_of(st.none(), st.binary(min_size=4, max_size=4)),
        form=st.sampled_from((None, 16, 64)),
        before=st.binary(max_size=5),
        after=st.binary(max_size=5),
    )
    def test_matches_reference(self, backend, b0, length, key, form, before, after):
        if form == 16 and length > 0xFFFF:
            form = 64
        data = encode_header(
            b0 & 0x0F,
            length,
            fin=bool(b0 & 0x80),
            rsv1=bool(b0 & 0x40),
            rsv2=bool(b0 & 0x20),
            rsv3=bool(b0 & 0x10),
            key=key,
            form=form,
        )
        header = backend.parse_header(before + data + after, len(before))
        assert header_fields(header) == ref_parse_header(data)
        assert header.length == length
        assert header.mask == key
        assert header.size == len(data)

    @PROPERTY
    @given(data=st.binary(max_size=16), offset=st.integers(0, 16))
    def test_random_bytes_match_reference(self, backend, data, offset):
        if offset > len(data):
            with pytest.raises(ValueError):
                backend.parse_header(data, offset)
            return
        expected = ref_parse_header(data, offset)
        if expected == "msb":
            with pytest.raises(ProtocolError) as info:
                backend.parse_header(data, offset)
            assert info.value.code == 1002
        elif expected is None:
            assert backend.parse_header(data, offset) is None
        else:
            assert header_fields(backend.parse_header(data, offset)) == expected


# ---------------------------------------------------------------------------
# build_header


class TestBuildHeader:
    def test_rfc_examples(self, backend):
        assert backend.build_header(1, 5) == HELLO[:2]
        assert backend.build_header(1, 5, mask=MASK_KEY) == HELLO_MASKED[:6]
        assert backend.build_header(1, 3, fin=False) == HEL[:2]
        assert backend.build_header(0, 2) == LO[:2]
        assert backend.build_header(9, 5) == PING_HELLO[:2]
        assert backend.build_header(10, 5, mask=MASK_KEY) == PONG_HELLO_MASKED[:6]
        assert backend.build_header(2, 256) == BINARY_256_HEADER
        assert backend.build_header(2, 65536) == BINARY_64K_HEADER

    @pytest.mark.parametrize(
        ("length", "expected"),
        [
            (0, b"\x82\x00"),
            (1, b"\x82\x01"),
            (125, b"\x82\x7d"),
            (126, b"\x82\x7e\x00\x7e"),
            (127, b"\x82\x7e\x00\x7f"),
            (65535, b"\x82\x7e\xff\xff"),
            (65536, b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
            (2**32, b"\x82\x7f\x00\x00\x00\x01\x00\x00\x00\x00"),
            (2**63 - 1, b"\x82\x7f\x7f\xff\xff\xff\xff\xff\xff\xff"),
        ],
    )
    def test_minimal_length_encoding(self, backend, length, expected):
        assert backend.build_header(2, length) == expected
        masked = backend.build_header(2, length, mask=b"\x01\x02\x03\x04")
        assert masked == bytes([expected[0], expected[1] | 0x80]) + expected[2:] + b"\x01\x02\x03\x04"

    @pytest.mark.parametrize("length", [-1, -(2**70), 2**63, 2**64 - 1, 2**64, 2**100])
    def test_length_out_of_range(self, backend, length):
        with pytest.raises(ValueError):
            backend.build_header(2, length)

    def test_every_opcode_and_bit(self, backend):
        for opcode in range(16):
            for bits in range(16):
                fin, rsv1, rsv2, rsv3 = (bool(bits & m) for m in (8, 4, 2, 1))
                got = backend.build_header(opcode, 3, fin=fin, rsv1=rsv1, rsv2=rsv2, rsv3=rsv3)
                assert got == bytes([bits << 4 | opcode, 3])

    @pytest.mark.parametrize("opcode", [-1, 16, 255, 2**40, 2**63, 2**70, -(2**63) - 1, -(2**70)])
    def test_opcode_out_of_range(self, backend, opcode):
        with pytest.raises(ValueError):
            backend.build_header(opcode, 0)

    @pytest.mark.parametrize("opcode", ["1", 1.0, None, b"\x01"])
    def test_opcode_not_an_int(self, backend, opcode):
        with pytest.raises(TypeError):
            backend.build_header(opcode, 0)

    def test_opcode_enum(self, backend):
        assert backend.build_header(Opcode.PING, 0) == b"\x89\x00"

    def test_integer_types(self, backend):
        """Any integer type (``__index__``) for the opcode and the length."""

        class Index:
            def __init__(self, value: int) -> None:
                self.value = value

            def __index__(self) -> int:
                return self.value

        assert backend.build_header(Index(9), Index(200)) == b"\x89\x7e\x00\xc8"
        assert backend.build_frame(Index(1), b"hi") == b"\x81\x02hi"

    @pytest.mark.parametrize("length", [5.0, 200.0, "5", None], ids=stable_id)
    def test_length_not_an_int(self, backend, length):
        with pytest.raises(TypeError):
            backend.build_header(1, length)

    @pytest.mark.parametrize(
        "key", [MASK_KEY, bytearray(MASK_KEY), memoryview(MASK_KEY), memoryview(b"-" + MASK_KEY)[1:]]
    )
    def test_mask_buffer_types(self, backend, key):
        assert backend.build_header(1, 5, mask=key) == HELLO_MASKED[:6]

    @pytest.mark.parametrize("key", [b"", b"\x01\x02\x03", b"\x01\x02\x03\x04\x05"])
    def test_mask_wrong_length(self, backend, key):
        with pytest.raises(ValueError):
            backend.build_header(1, 5, mask=key)

    @pytest.mark.parametrize("key", ["abcd", 1234, 1.5])
    def test_mask_not_a_buffer(self, backend, key):
        with pytest.raises(TypeError):
            backend.build_header(1, 5, mask=key)

    @pytest.mark.parametrize("length", [0, 5, 200, 70000])
    def test_random_mask(self, backend, length):
        keys = set()
        for _ in range(16):
            header = backend.build_header(1, length, mask=True)
            plain = backend.build_header(1, length)
            assert len(header) == len(plain) + 4
            assert header[0] == plain[0]
            assert header[1] == plain[1] | 0x80
            assert header[2 : len(plain)] == plain[2:]
            keys.add(header[-4:])
        # 16 draws of a 32-bit random key: a repeat is a 1-in-10^7 event.
        assert len(keys) == 16

    @PROPERTY
    @given(
        opcode=st.integers(0, 15),
        length=st.one_of(st.integers(0, 70000), st.integers(0, 2**63 - 1)),
        bits=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
        key=st.one_of(st.none(), st.binary(min_size=4, max_size=4)),
    )
    def test_matches_reference_encoder(self, backend, opcode, length, bits, key):
        fin, rsv1, rsv2, rsv3 = bits
        got = backend.build_header(opcode, length, fin=fin, rsv1=rsv1, rsv2=rsv2, rsv3=rsv3, mask=key)
        assert got == encode_header(opcode, length, fin=fin, rsv1=rsv1, rsv2=rsv2, rsv3=rsv3, key=key)
        assert header_fields(backend.parse_header(got)) == ref_parse_header(got)


# ---------------------------------------------------------------------------
# build_frame


class TestBuildFrame:
    def test_rfc_examples(self, backend):
        assert backend.build_frame(1, b"Hello") == HELLO
        assert backend.build_frame(1, b"Hello", mask=MASK_KEY) == HELLO_MASKED
        assert backend.build_frame(1, b"Hel", fin=False) + backend.build_frame(0, b"lo") == HEL + LO
        assert backend.build_frame(9, b"Hello") == PING_HELLO
        assert backend.build_frame(10, b"Hello", mask=MASK_KEY) == PONG_HELLO_MASKED
        payload = bytes(range(256))
        assert backend.build_frame(2, payload) == BINARY_256_HEADER + payload
        payload = bytes(range(256)) * 256
        assert backend.build_frame(2, payload) == BINARY_64K_HEADER + payload

    @pytest.mark.parametrize("opcode", RESERVED_OPCODES)
    def test_reserved_opcode(self, backend, opcode):
        with pytest.raises(ValueError):
            backend.build_frame(opcode, b"")

    @pytest.mark.parametrize("opcode", [-1, 16, 2**63, 2**70, -(2**70)])
    def test_opcode_out_of_range(self, backend, opcode):
        with pytest.raises(ValueError):
            backend.build_frame(opcode, b"")

    @pytest.mark.parametrize("opcode", CONTROL_OPCODES)
    def test_control_frame_rules(self, backend, opcode):
        payload = bytes(range(125))
        assert backend.build_frame(opcode, payload) == encode_frame(opcode, payload)
        assert backend.build_frame(opcode, payload, mask=MASK_KEY) == encode_frame(opcode, payload, key=MASK_KEY)
        with pytest.raises(ValueError):
            backend.build_frame(opcode, payload + b"!")
        with pytest.raises(ValueError):
            backend.build_frame(opcode, bytes(70000), mask=MASK_KEY)
        with pytest.raises(ValueError):
            backend.build_frame(opcode, b"", fin=False)

    @pytest.mark.parametrize("opcode", [0, 1, 2])
    def test_data_frames_may_be_fragmented(self, backend, opcode):
        assert backend.build_frame(opcode, b"abc", fin=False) == encode_frame(opcode, b"abc", fin=False)

    def test_bits(self, backend):
        for bits in range(16):
            fin, rsv1, rsv2, rsv3 = (bool(bits & m) for m in (8, 4, 2, 1))
            got = backend.build_frame(2, b"xyz", fin=fin, rsv1=rsv1, rsv2=rsv2, rsv3=rsv3)
            assert got == encode_frame(2, b"xyz", fin=fin, rsv1=rsv1, rsv2=rsv2, rsv3=rsv3)

    @pytest.mark.parametrize("length", [0, 1, 3, 4, 5, 125, 126, 1000, 65536])
    def test_random_mask(self, backend, length):
        payload = bytes(i * 7 % 251 for i in range(length))
        frames = {backend.build_frame(2, payload, mask=True) for _ in range(8)}
        assert len(frames) == 8 or length == 0  # fresh keys
        for frame in frames:
            parsed = ref_parse_header(frame)
            assert parsed[5] and parsed[6] == length
            key, size = parsed[7], parsed[8]
            assert frame[size - 4 : size] == key
            assert mask(frame[size:], key) == payload

    @pytest.mark.parametrize(
        "payload",
        [b"Hello", bytearray(b"Hello"), memoryview(b"Hello"), memoryview(b"xHello")[1:], array.array("B", b"Hello")],
    )
    def test_payload_buffer_types(self, backend, payload):
        assert backend.build_frame(1, payload) == HELLO
        assert backend.build_frame(1, payload, mask=bytearray(MASK_KEY)) == HELLO_MASKED

    @pytest.mark.parametrize("payload", ["Hello", 5, None])
    def test_payload_not_a_buffer(self, backend, payload):
        with pytest.raises(TypeError):
            backend.build_frame(1, payload)

    @pytest.mark.parametrize("key", [b"", b"abc", b"abcde"])
    def test_mask_wrong_length(self, backend, key):
        with pytest.raises(ValueError):
            backend.build_frame(1, b"Hello", mask=key)

    def test_large_payload(self, backend):
        payload = bytes(range(256)) * 4097 + b"tail"  # just over 1 MiB
        key = b"\x9a\x01\xfe\x42"
        assert backend.build_frame(2, payload) == encode_frame(2, payload)
        assert backend.build_frame(2, payload, mask=key) == encode_frame(2, payload, key=key)

    @PROPERTY
    @given(
        opcode=st.sampled_from(DEFINED_OPCODES),
        payload=st.binary(max_size=300),
        bits=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
        key=st.one_of(st.none(), st.binary(min_size=4, max_size=4)),
        offset=st.integers(0, 3),
    )
    def test_matches_reference_encoder(self, backend, opcode, payload, bits, key, offset):
        fin, rsv1, rsv2, rsv3 = bits
        if opcode >= 8:
            fin = True
            payload = payload[:125]
        # A payload view that does not start at a 4-byte boundary of its buffer.
        view = memoryview(bytes(offset) + payload)[offset:]
        got = backend.build_frame(opcode, view, fin=fin, rsv1=rsv1, rsv2=rsv2, rsv3=rsv3, mask=key)
        assert got == encode_frame(opcode, payload, fin=fin, rsv1=rsv1, rsv2=rsv2, rsv3=rsv3, key=key)


# ---------------------------------------------------------------------------
# build_fragments


class TestBuildFragments:
    def test_rfc_example(self, backend):
        assert backend.build_fragments(1, b"Hello", 3) == [HEL, LO]

    def test_empty_payload(self, backend):
        assert backend.build_fragments(1, b"", 10) == [b"\x81\x00"]
        assert backend.build_fragments(2, b"", 1, mask=MASK_KEY) == [b"\x82\x80" + MASK_KEY]

    @pytest.mark.parametrize("size", [5, 6, 1000])
    def test_one_fragment(self, backend, size):
        assert backend.build_fragments(2, b"12345", size) == [encode_frame(2, b"12345")]

    def test_exact_multiple(self, backend):
        assert backend.build_fragments(2, b"abcdef", 2) == [
            encode_frame(2, b"ab", fin=False),
            encode_frame(0, b"cd", fin=False),
            encode_frame(0, b"ef"),
        ]

    def test_cut_inside_code_points_and_rsv1_on_first_only(self, backend):
        text = "é€😀".encode()
        got = backend.build_fragments(1, text, 2, rsv1=True, mask=MASK_KEY)
        pieces = [text[i : i + 2] for i in range(0, len(text), 2)]
        assert got == [
            encode_frame(1 if n == 0 else 0, piece, fin=n == len(pieces) - 1, rsv1=n == 0, key=MASK_KEY)
            for n, piece in enumerate(pieces)
        ]

    def test_random_mask_per_frame(self, backend):
        frames = backend.build_fragments(2, bytes(64), 8, mask=True)
        assert len(frames) == 8
        keys = set()
        for n, frame in enumerate(frames):
            parsed = ref_parse_header(frame)
            assert parsed[0] == (n == 7) and parsed[4] == (2 if n == 0 else 0) and parsed[5]
            keys.add(parsed[7])
            assert mask(frame[parsed[8] :], parsed[7]) == bytes(8)
        assert len(keys) == 8

    @pytest.mark.parametrize("opcode", [0, *CONTROL_OPCODES, *RESERVED_OPCODES])
    def test_not_a_data_opcode(self, backend, opcode):
        with pytest.raises(ValueError):
            backend.build_fragments(opcode, b"abc", 1)

    @pytest.mark.parametrize("size", [0, -1])
    def test_fragment_size_too_small(self, backend, size):
        with pytest.raises(ValueError):
            backend.build_fragments(1, b"abc", size)

    def test_buffer_types(self, backend):
        expected = [HEL, LO]
        for payload in (
            bytearray(b"Hello"),
            memoryview(b"Hello"),
            memoryview(b"..Hello")[2:],
            array.array("B", b"Hello"),
        ):
            assert backend.build_fragments(1, payload, 3) == expected

    @PROPERTY
    @given(
        opcode=st.sampled_from((1, 2)),
        payload=st.binary(max_size=400),
        size=st.integers(1, 130),
        rsv1=st.booleans(),
        key=st.one_of(st.none(), st.binary(min_size=4, max_size=4)),
    )
    def test_matches_reference_encoder(self, backend, opcode, payload, size, rsv1, key):
        pieces = [payload[i : i + size] for i in range(0, len(payload), size)] or [b""]
        expected = [
            encode_frame(opcode if n == 0 else 0, piece, fin=n == len(pieces) - 1, rsv1=rsv1 and n == 0, key=key)
            for n, piece in enumerate(pieces)
        ]
        assert backend.build_fragments(opcode, payload, size, rsv1=rsv1, mask=key) == expected


# ---------------------------------------------------------------------------
# Frame


class TestFrame:
    def test_defaults(self, backend):
        frame = backend.Frame(1)
        assert frame.opcode is Opcode.TEXT
        assert frame.payload == b""
        assert (frame.fin, frame.rsv1, frame.rsv2, frame.rsv3) == (True, False, False, False)

    def test_attributes(self, backend):
        frame = backend.Frame(Opcode.BINARY, bytearray(b"\x00\xff"), fin=False, rsv1=True, rsv2=False, rsv3=True)
        assert frame.opcode is Opcode.BINARY
        assert type(frame.opcode) is Opcode
        assert frame.payload == b"\x00\xff"
        assert type(frame.payload) is bytes
        assert (frame.fin, frame.rsv1, frame.rsv2, frame.rsv3) == (False, True, False, True)
        for bit in (frame.fin, frame.rsv1, frame.rsv2, frame.rsv3):
            assert type(bit) is bool

    @pytest.mark.parametrize("opcode", DEFINED_OPCODES)
    def test_every_opcode(self, backend, opcode):
        frame = backend.Frame(opcode, memoryview(b"abc"))
        assert frame.opcode == opcode
        assert isinstance(frame.opcode, Opcode)
        assert type(frame.payload) is bytes

    @pytest.mark.parametrize("opcode", [*RESERVED_OPCODES, -1, 16])
    def test_invalid_opcode(self, backend, opcode):
        with pytest.raises(ValueError):
            backend.Frame(opcode)

    def test_flags_are_keyword_only(self, backend):
        with pytest.raises(TypeError):
            backend.Frame(1, b"", False)

    @pytest.mark.parametrize("name", ["opcode", "payload", "fin", "rsv1", "rsv2", "rsv3"])
    def test_fields_cannot_be_deleted(self, backend, name):
        frame = backend.Frame(Opcode.BINARY, b"\x00\xff", fin=False, rsv1=True)
        with pytest.raises(AttributeError, match=f"cannot delete '{name}'"):
            delattr(frame, name)
        assert frame == backend.Frame(Opcode.BINARY, b"\x00\xff", fin=False, rsv1=True)

    @pytest.mark.parametrize(
        "payload", [[104, 105], (104, 105), iter(b"hi"), 5, "hi", None, memoryview(b"h-i")[::2]], ids=stable_id
    )
    def test_payload_not_a_contiguous_buffer(self, backend, payload):
        # bytes(payload) would take an int, a list of ints or any iterable.
        with pytest.raises(TypeError):
            backend.Frame(2, payload)

    def test_payload_is_copied(self, backend):
        data = bytearray(b"abc")
        frame = backend.Frame(2, data)
        data[0] = 0x7A
        assert frame.payload == b"abc"

    def test_equality(self, backend):
        base = dict(fin=True, rsv1=False, rsv2=False, rsv3=False)
        a = backend.Frame(1, b"x", **base)
        assert a == backend.Frame(Opcode.TEXT, bytearray(b"x"), **base)
        assert not (a != backend.Frame(1, b"x", **base))
        assert a != backend.Frame(2, b"x", **base)
        assert a != backend.Frame(1, b"y", **base)
        for name in base:
            other = backend.Frame(1, b"x", **{**base, name: not base[name]})
            assert a != other, name
            assert not (a == other), name
        assert a != (1, b"x")
        assert a != "frame"
        with pytest.raises(TypeError):
            hash(a)

    @pytest.mark.compiled
    def test_repr_same_as_pure_twin(self):
        compiled, pure = load_backend("cython"), load_backend("python")
        cases = [
            (1, b"Hello", {}),
            (2, bytes(range(40)), {"fin": False, "rsv1": True}),
            (0, b"", {"fin": False}),
            (8, b"\x03\xe8bye", {"rsv2": True, "rsv3": True}),
            (9, b"x" * 33, {}),
        ]
        for opcode, payload, kwargs in cases:
            text = repr(compiled.Frame(opcode, payload, **kwargs))
            assert text == repr(pure.Frame(opcode, payload, **kwargs))
            assert Opcode(opcode).name in text

    @pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
    def test_pickle(self, backend, protocol):
        for frame in (
            backend.Frame(1, b"Hello"),
            backend.Frame(0, b"", fin=False),
            backend.Frame(2, bytes(300), rsv1=True, rsv2=True, rsv3=True),
            backend.Frame(Opcode.CLOSE, b"\x03\xe8"),
        ):
            copy = pickle.loads(pickle.dumps(frame, protocol))
            assert type(copy) is type(frame)
            assert copy == frame
            assert copy.opcode is frame.opcode


# ---------------------------------------------------------------------------
# parse_close and build_close


def _expected_close(payload: bytes):
    """Reference for parse_close: a result, or the ProtocolError code."""
    if not payload:
        return (1005, "")
    if len(payload) == 1:
        return 1002
    code = int.from_bytes(payload[:2], "big")
    if code not in VALID_CLOSE_CODES:
        return 1002
    try:
        return (code, payload[2:].decode("utf-8"))
    except UnicodeDecodeError:
        return 1007


class TestParseClose:
    def test_empty(self, backend):
        assert backend.parse_close(b"") == (1005, "")

    @pytest.mark.parametrize("payload", [b"\x03", b"\xe8", b"\x00", b"\xff"])
    def test_one_byte(self, backend, payload):
        with pytest.raises(ProtocolError) as info:
            backend.parse_close(payload)
        assert info.value.code == 1002

    def test_every_code(self, backend):
        for code in range(65536):
            payload = struct.pack("!H", code)
            if code in VALID_CLOSE_CODES:
                got = backend.parse_close(payload)
                assert got == (code, "")
                assert isinstance(got[0], int)
            else:
                with pytest.raises(ProtocolError) as info:
                    backend.parse_close(payload)
                assert info.value.code == 1002, code

    @pytest.mark.parametrize(
        "reason",
        ["", "bye", "é", "€", "😀", "héllo wörld €😀", "x" * 123, "€" * 41],
    )
    def test_valid_reason(self, backend, reason):
        assert backend.parse_close(b"\x03\xe8" + reason.encode()) == (1000, reason)
        assert backend.parse_close(b"\x0f\xa0" + reason.encode()) == (4000, reason)

    @pytest.mark.parametrize(
        "reason",
        [
            b"\xff",
            b"\x80",
            b"\xc0\x80",
            b"\xc3",
            b"ok\xe2\x82",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\xf8\x88\x80\x80\x80",
            b"abc\xfe",
        ],
    )
    def test_invalid_reason(self, backend, reason):
        with pytest.raises(ProtocolError) as info:
            backend.parse_close(b"\x03\xe8" + reason)
        assert info.value.code == 1007

    def test_buffer_types(self, backend):
        payload = b"\x03\xe9going away"
        for buf in (payload, bytearray(payload), memoryview(payload), memoryview(b"..." + payload)[3:]):
            assert backend.parse_close(buf) == (1001, "going away")

    @pytest.mark.parametrize("bad", ["\x03\xe8", 1000, None])
    def test_not_a_buffer(self, backend, bad):
        with pytest.raises(TypeError):
            backend.parse_close(bad)

    @PROPERTY
    @given(
        payload=st.one_of(
            st.binary(max_size=12),
            st.builds(
                lambda c, r: struct.pack("!H", c) + r, st.sampled_from(sorted(VALID_CLOSE_CODES)), st.binary(max_size=8)
            ),
            st.builds(lambda c, r: struct.pack("!H", c) + r.encode(), st.integers(0, 65535), texts),
        )
    )
    def test_matches_reference(self, backend, payload):
        expected = _expected_close(payload)
        if isinstance(expected, int):
            with pytest.raises(ProtocolError) as info:
                backend.parse_close(payload)
            assert info.value.code == expected
        else:
            assert backend.parse_close(payload) == expected


class TestBuildClose:
    def test_every_code(self, backend):
        for code in [*range(6000), 65535, 65536, -1]:
            if code in VALID_CLOSE_CODES:
                assert backend.build_close(code) == struct.pack("!H", code)
                assert backend.build_close(code, "bye") == struct.pack("!H", code) + b"bye"
            else:
                with pytest.raises(ValueError):
                    backend.build_close(code)

    @pytest.mark.parametrize("code", [1004, 1005, 1006, 1015, 1016, 2999, 5000])
    def test_not_sendable(self, backend, code):
        with pytest.raises(ValueError):
            backend.build_close(code, "reason")

    @pytest.mark.parametrize(
        ("reason", "ok"),
        [
            ("x" * 123, True),
            ("x" * 124, False),
            ("é" * 61 + "x", True),  # 123 bytes
            ("é" * 62, False),  # 124 bytes, 62 characters
            ("€" * 41, True),  # 123 bytes
            ("€" * 41 + "x", False),
            ("😀" * 30 + "abc", True),  # 123 bytes
            ("😀" * 31, False),
        ],
    )
    def test_reason_length(self, backend, reason, ok):
        if ok:
            payload = backend.build_close(1000, reason)
            assert payload == b"\x03\xe8" + reason.encode()
            assert len(payload) <= 125
        else:
            with pytest.raises(ValueError):
                backend.build_close(1000, reason)

    @PROPERTY
    @given(code=st.sampled_from(sorted(VALID_CLOSE_CODES)), reason=texts)
    def test_round_trip(self, backend, code, reason):
        if len(reason.encode()) > 123:
            return
        payload = backend.build_close(code, reason)
        assert payload == struct.pack("!H", code) + reason.encode()
        assert backend.parse_close(payload) == (code, reason)
        # A valid close frame, as a peer sends it.
        frame = backend.build_frame(8, payload, mask=MASK_KEY)
        assert frame == encode_frame(8, payload, key=MASK_KEY)


# ---------------------------------------------------------------------------
# websockets as an independent oracle


class _AnyBitsFrame(WSFrame):
    """websockets' ``Frame`` that lets the RSV bits through.

    ``Frame.check()``, which both ``serialize()`` and ``parse()`` call, rejects
    an RSV bit that no negotiated extension accounts for (RFC 6455 §5.2): that
    is a connection's policy, not framing, and fastframe's builders write
    whatever bits they are given.  The rest of the check still runs, so
    control frames must still be final and carry 125 bytes at most (§5.5).
    """

    def check(self) -> None:
        WSFrame(self.opcode, self.data, self.fin).check()


#: Payload lengths on both sides of the limits of the 7-bit, 16-bit and 64-bit
#: length encodings (§5.2).
BOUNDARY_LENGTHS = (0, 1, 124, 125, 126, 127, 65535, 65536, 65537)


@st.composite
def oracle_frames(draw: st.DrawFn) -> tuple[int, bytes, dict[str, bool]]:
    """A frame websockets can serialize: opcode, payload and flags (``fin``, ``rsv1`` ...)."""
    opcode = draw(st.sampled_from(DEFINED_OPCODES))
    length = draw(st.one_of(st.sampled_from(BOUNDARY_LENGTHS), st.integers(0, 300)))
    fin, rsv1, rsv2, rsv3 = draw(st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()))
    if opcode in CONTROL_OPCODES:
        # §5.5: control frames are not fragmented and carry 125 bytes at most.
        fin, length = True, min(length, 125)
    if length <= 300:
        payload = draw(st.binary(min_size=length, max_size=length))
    else:
        # Too big for hypothesis' buffer; a pattern that repeats would let a
        # masking key applied at the wrong phase go unnoticed.
        payload = random.Random(draw(st.integers(0, 2**32 - 1))).randbytes(length)
    return opcode, payload, {"fin": fin, "rsv1": rsv1, "rsv2": rsv2, "rsv3": rsv3}


def boundary_examples(**others: Any) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Run each length boundary every time, whatever hypothesis draws; ``others`` are the other arguments."""
    flags = {"fin": True, "rsv1": False, "rsv2": False, "rsv3": False}
    frames = [(9, bytes(range(125)), flags)]
    for length in (125, 126, 65535, 65536):
        payload = bytes(i * 7 % 251 for i in range(length))
        frames += [(2, payload, {**flags, "rsv1": True}), (0, payload, {**flags, "fin": False, "rsv3": True})]

    def decorate(test: Callable[..., None]) -> Callable[..., None]:
        for frame in frames:
            test = example(frame=frame, **others)(test)
        return test

    return decorate


def websockets_parse(data: bytes, *, masked: bool) -> tuple[WSFrame, bytes]:
    """One frame read by websockets' ``Frame.parse``, driven as its own tests drive it.

    Returns:
        The frame, and what websockets left unread.
    """
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = _AnyBitsFrame.parse(reader.read_exact, mask=masked)
    try:
        next(parser)
    except StopIteration as stop:
        return stop.value, bytes(reader.buffer)
    # Unreachable after feed_eof(): a short frame raises EOFError instead.
    raise AssertionError("websockets' Frame.parse is waiting for more bytes")


class TestWebsocketsOracle:
    """build_frame and parse_header against websockets' ``Frame`` (RFC 6455 §5.2, §5.3)."""

    @PROPERTY
    @boundary_examples()
    @given(frame=oracle_frames())
    def test_unmasked_frame_as_websockets_serializes_it(self, backend, frame):
        opcode, payload, flags = frame
        expected = _AnyBitsFrame(WSOpcode(opcode), payload, **flags).serialize(mask=False)
        assert backend.build_frame(opcode, payload, mask=None, **flags) == expected

    @PROPERTY
    @boundary_examples(key=True)
    @boundary_examples(key=MASK_KEY)
    @given(frame=oracle_frames(), key=st.one_of(st.just(True), keys))
    def test_masked_frame_read_back_by_websockets(self, backend, frame, key):
        opcode, payload, flags = frame
        data = backend.build_frame(opcode, payload, mask=key, **flags)
        parsed, unread = websockets_parse(data, masked=True)
        # websockets read exactly one frame: the length in the header is right.
        assert unread == b""
        assert int(parsed.opcode) == opcode
        assert (parsed.fin, parsed.rsv1, parsed.rsv2, parsed.rsv3) == tuple(flags.values())
        assert bytes(parsed.data) == payload
        if key is not True:
            size = len(data) - len(payload)
            assert data[size - 4 : size] == key

    @PROPERTY
    @boundary_examples(masked=False, after=b"")
    @boundary_examples(masked=True, after=b"\x81")
    @given(frame=oracle_frames(), masked=st.booleans(), after=st.binary(max_size=8))
    def test_parse_header_of_websockets_frame(self, backend, frame, masked, after):
        opcode, payload, flags = frame
        data = _AnyBitsFrame(WSOpcode(opcode), payload, **flags).serialize(mask=masked)
        # §5.2: the shortest length encoding, then the masking key if any.
        length_size = 0 if len(payload) <= 125 else 2 if len(payload) <= 0xFFFF else 8
        size = 2 + length_size + 4 * masked
        assert len(data) == size + len(payload)
        header = backend.parse_header(data + after)
        assert (header.fin, header.rsv1, header.rsv2, header.rsv3) == tuple(flags.values())
        assert header.opcode == opcode
        assert header.masked == masked
        assert header.length == len(payload)
        assert header.size == size
        if masked:
            assert header.mask == data[size - 4 : size]
            # And it is the key websockets masked the payload with (§5.3).
            assert mask(data[size:], header.mask) == payload
        else:
            assert header.mask is None
