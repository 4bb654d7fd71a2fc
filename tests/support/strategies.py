"""Hypothesis strategies for valid and mutated streams."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Optional

from hypothesis import strategies as st

from .encoder import close_payload, encode_frame
from .rfc import CLOSE, CONTINUATION, CONTROL_OPCODES, DATA_OPCODES, PING, PONG, TEXT, VALID_CLOSE_CODES


@dataclasses.dataclass
class Spec:
    """One frame to encode; the fields map to :func:`encode_frame`'s arguments."""

    opcode: int
    payload: bytes = b""
    fin: bool = True
    rsv1: bool = False
    rsv2: bool = False
    rsv3: bool = False
    key: Optional[bytes] = None
    form: Optional[int] = None
    length: Optional[int] = None

    def encode(self) -> bytes:
        form = self.form
        length = len(self.payload) if self.length is None else self.length
        if form == 7 and length > 125:
            form = None
        return encode_frame(
            self.opcode,
            self.payload,
            fin=self.fin,
            rsv1=self.rsv1,
            rsv2=self.rsv2,
            rsv3=self.rsv3,
            key=self.key,
            form=form,
            length=self.length,
        )


def encode_specs(specs: Sequence[Spec]) -> bytes:
    return b"".join(s.encode() for s in specs)


keys = st.binary(min_size=4, max_size=4)

#: FrameParser options: small limits so that random streams reach them.
parser_options = st.fixed_dictionaries(
    {
        "max_frame_size": st.one_of(st.none(), st.integers(0, 300)),
        "max_message_size": st.one_of(st.none(), st.integers(0, 400)),
        "allow_rsv1": st.booleans(),
        "validate_utf8": st.booleans(),
    }
)

# Text with multi-byte code points of every length, emoji included.
texts = st.text(
    alphabet=st.one_of(
        st.characters(max_codepoint=0x7F),
        st.characters(min_codepoint=0x80, max_codepoint=0x7FF),
        st.characters(min_codepoint=0x800, max_codepoint=0xFFFF, codec="utf-8"),
        st.characters(min_codepoint=0x10000, codec="utf-8"),
    ),
    max_size=40,
)
control_payloads = st.one_of(st.binary(max_size=20), st.binary(min_size=120, max_size=125))
close_payloads = st.one_of(
    st.just(b""),
    st.builds(
        lambda code, reason: close_payload(code, reason.encode("utf-8")[:60].decode("utf-8", "ignore").encode("utf-8")),
        st.sampled_from(sorted(VALID_CLOSE_CODES)),
        texts,
    ),
)


@st.composite
def fragments(draw: Any, payload: bytes) -> list[bytes]:
    """Cut ``payload`` anywhere, also inside a code point; empty pieces allowed."""
    cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=4)))
    bounds = [0, *cuts, len(payload)]
    return [payload[a:b] for a, b in zip(bounds, bounds[1:])]


@st.composite
def valid_specs(draw: Any, client: bool, *, big: bool = True, closing: bool = True) -> list[Spec]:
    """A valid stream from the peer of a ``client`` (or server) parser.

    Messages of text or binary, fragmented at random points (also inside
    UTF-8 sequences), with pings and pongs interleaved between fragments,
    optionally ended by a close frame.
    """

    def key() -> Optional[bytes]:
        return None if client else draw(keys)

    specs: list[Spec] = []
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.integers(0, 5)) == 0:
            specs.append(Spec(draw(st.sampled_from((PING, PONG))), draw(control_payloads), key=key()))
            continue
        opcode = draw(st.sampled_from(DATA_OPCODES))
        if opcode == TEXT:
            payload = draw(texts).encode("utf-8")
        elif big and draw(st.integers(0, 9)) == 0:
            payload = draw(st.binary(min_size=126, max_size=300))
        else:
            payload = draw(st.binary(max_size=40))
        pieces = draw(fragments(payload))
        for n, piece in enumerate(pieces):
            last = n == len(pieces) - 1
            specs.append(Spec(opcode if n == 0 else CONTINUATION, piece, fin=last, key=key()))
            if not last and draw(st.booleans()):
                specs.append(Spec(draw(st.sampled_from((PING, PONG))), draw(st.binary(max_size=10)), key=key()))
    if closing and draw(st.booleans()):
        specs.append(Spec(CLOSE, draw(close_payloads), key=key()))
    return specs


_SPEC_MUTATIONS = (
    "opcode",
    "fin",
    "rsv1",
    "rsv2",
    "rsv3",
    "mask",
    "invalid_utf8",
    "invalid_utf8",
    "big_control",
    "close_payload",
    "length",
    "form",
    "drop",
    "duplicate",
    "swap",
    "compress",
)


@st.composite
def mutated_specs(draw: Any, client: bool) -> list[Spec]:
    """A valid stream with 1-3 frame-level mutations: each breaks (or may break) one rule."""
    specs = draw(valid_specs(client, big=False))
    if not specs:
        specs = [Spec(TEXT, b"hello", key=None if client else draw(keys))]
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(_SPEC_MUTATIONS))
        text_frames = [n for n, spec in enumerate(specs) if spec.opcode in (TEXT, CONTINUATION)]
        if kind == "invalid_utf8" and text_frames:
            i = draw(st.sampled_from(text_frames))
        else:
            i = draw(st.integers(0, len(specs) - 1))
        s = dataclasses.replace(specs[i])
        if kind == "opcode":
            s.opcode = draw(st.integers(0, 15))
        elif kind in ("fin", "rsv1", "rsv2", "rsv3"):
            setattr(s, kind, not getattr(s, kind))
        elif kind == "mask":
            s.key = None if s.key is not None else draw(keys)
        elif kind == "invalid_utf8":
            bad = draw(
                st.sampled_from(
                    (b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90", b"\xe2\x82", b"\x80", b"\xed", b"\xf0\x9f")
                )
            )
            at = draw(st.integers(0, len(s.payload)))
            s.payload = s.payload[:at] + bad + s.payload[at:]
        elif kind == "big_control":
            s.opcode = draw(st.sampled_from(CONTROL_OPCODES))
            s.payload = draw(st.binary(min_size=126, max_size=130))
        elif kind == "close_payload":
            s.opcode = CLOSE
            s.payload = draw(
                st.one_of(
                    st.binary(min_size=1, max_size=1),
                    st.builds(close_payload, st.integers(0, 65535)),
                    st.builds(
                        close_payload,
                        st.sampled_from(sorted(VALID_CLOSE_CODES)),
                        st.sampled_from((b"\xff", b"ok\xc3", b"\xed\xa0\x80")),
                    ),
                )
            )
        elif kind == "length":
            s.length = max(0, len(s.payload) + draw(st.integers(-3, 3)))
        elif kind == "form":
            s.form = draw(st.sampled_from((16, 64)))
        elif kind == "compress":
            # RSV1 on the first frame of a message: valid with allow_rsv1.
            starts = [n for n, spec in enumerate(specs) if spec.opcode in DATA_OPCODES]
            if starts:
                i = draw(st.sampled_from(starts))
                s = dataclasses.replace(specs[i], rsv1=True)
        elif kind == "drop":
            del specs[i]
            if not specs:
                specs = [s]
            continue
        elif kind == "duplicate":
            specs.insert(i, s)
            continue
        elif kind == "swap":
            j = draw(st.integers(0, len(specs) - 1))
            specs[i], specs[j] = specs[j], specs[i]
            continue
        specs[i] = s
    return specs


@st.composite
def byte_mutations(draw: Any, data: bytes) -> bytes:
    """Flip bits, overwrite, insert, delete bytes, truncate."""
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(("flip", "set", "insert", "delete", "truncate")))
        if not buf:
            kind = "insert"
        if kind == "insert":
            at = draw(st.integers(0, len(buf)))
            buf[at:at] = draw(st.binary(min_size=1, max_size=4))
            continue
        at = draw(st.integers(0, len(buf) - 1))
        if kind == "flip":
            buf[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            buf[at] = draw(st.integers(0, 255))
        elif kind == "delete":
            del buf[at]
        else:
            del buf[at:]
    return bytes(buf)


@st.composite
def streams(draw: Any, client: bool) -> bytes:
    """Valid streams, frame-level mutations, byte-level mutations and garbage."""
    kind = draw(st.sampled_from(("valid", "spec", "spec", "bytes", "garbage")))
    if kind == "valid":
        return encode_specs(draw(valid_specs(client)))
    if kind == "spec":
        return encode_specs(draw(mutated_specs(client)))
    if kind == "bytes":
        return draw(byte_mutations(encode_specs(draw(valid_specs(client, big=False)))))
    return draw(st.binary(max_size=64))
