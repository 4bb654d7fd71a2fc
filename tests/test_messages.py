"""Tests for MessageAssembler and Message (``_messages`` and ``_messages_py``).

Every test builds the assembler of the backend under test on that backend's
parser, ``backend.MessageAssembler(backend.FrameParser(...))``; some also
put it on the other backend's parser, since any object with a ``feed()``
will do.  Streams come from the independent encoder of ``tests/support``;
expected messages are computed here by joining frames, or come from wsproto.
"""

from __future__ import annotations

import gc
import sys
from functools import partial
from typing import Any, Optional

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import fastframe
from fastframe import Message
from fastframe._backend import BACKENDS, load_backend
from fastframe.enums import Opcode
from fastframe.errors import ProtocolError
from support.chunking import chunkings, cut, frame_tuple
from support.decoder import limit_candidates
from support.encoder import close_payload, peer_frame
from support.oracles import close_event, trace_wsproto
from support.rfc import BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT
from support.strategies import encode_specs, parser_options, streams, valid_specs

PROPERTY = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

MiB = 1 << 20


def assembler(
    backend: Any, client: bool = False, *, decode_text: bool = True, parser_backend: Any = None, **kwargs: Any
) -> Any:
    parser = (parser_backend or backend).FrameParser(client=client, **kwargs)
    return backend.MessageAssembler(parser, decode_text=decode_text)


def compiled_asked_for(config: pytest.Config) -> bool:
    """False only when ``--backend python`` (without ``cython``) was asked for, e.g. on PyPy."""
    return "cython" in (config.getoption("--backend") or BACKENDS)


def other_backend(backend: Any, config: pytest.Config) -> Any:
    """The other backend.  The compiled one is loaded unless ``--backend python``
    was asked for: a failed build fails here (ImportError), it does not skip."""
    if backend.name == "python" and not compiled_asked_for(config):
        pytest.skip("--backend python: the compiled backend was not asked for")
    return load_backend("python" if backend.name == "cython" else "cython")


def parser_backends(backend: Any, config: pytest.Config) -> list[Any]:
    """This backend, and the other: the assembler must take either's frames.

    Under ``--backend python`` (PyPy: no compiled backend) the test still
    runs on the pure one's own parser, rather than skipping whole.
    """
    if backend.name == "python" and not compiled_asked_for(config):
        return [backend]
    return [backend, other_backend(backend, config)]


def check_message(message: Any) -> tuple[Any, ...]:
    """A message as a plain tuple, after checking its types."""
    assert isinstance(message, Message)
    assert type(message.opcode) is Opcode
    assert type(message.compressed) is bool
    if message.opcode == TEXT and isinstance(message.data, str):
        assert not message.compressed
    else:
        assert type(message.data) is bytes
    return (int(message.opcode), message.data, message.compressed)


def feed_messages(asm: Any, data: bytes, sizes: list[int]) -> tuple[list[Any], Optional[int]]:
    """Feed in chunks; the messages returned (and those of the error), and the error code."""
    got: list[Any] = []
    for chunk in cut(data, sizes):
        try:
            messages = asm.feed(chunk)
        except ProtocolError as exc:
            got += [check_message(m) for m in exc.messages]
            # Errors are final: a later feed raises the same error, with no messages.
            for again in (b"\x81\x00", b""):
                with pytest.raises(ProtocolError) as info:
                    asm.feed(again)
                assert (info.value.code, info.value.reason) == (exc.code, exc.reason)
                assert info.value.messages == []
            return got, int(exc.code)
        assert type(messages) is list
        got += [check_message(m) for m in messages]
    return got, None


def check_message_chunkings(make: Any, data: bytes, *, every_split: bool = True) -> tuple[list[Any], Optional[int]]:
    """Every chunking gives the same messages and error code as feeding whole."""
    whole = feed_messages(make(), data, [len(data)])
    for label, sizes in chunkings(len(data), seed=len(data), every_split=every_split, random_count=3):
        assert feed_messages(make(), data, sizes) == whole, label
    return whole


def join_frames(frames: list[tuple[Any, ...]], decode_text: bool = True) -> tuple[list[tuple[Any, ...]], Optional[int]]:
    """Reference assembler: messages from frame tuples, per RFC 6455 §5.4.

    Returns the messages and 1007 if a text message to decode is not UTF-8
    (possible only when the parser does not validate), else None.
    """
    out: list[tuple[Any, ...]] = []
    opcode, parts, compressed = None, [], False
    for op, payload, fin, rsv1, _, _ in frames:
        if op >= 8:
            out.append((op, payload, False))
            continue
        if op != CONTINUATION:
            opcode, parts, compressed = op, [], rsv1
        parts.append(payload)
        if fin:
            data: Any = b"".join(parts)
            if opcode == TEXT and decode_text and not compressed:
                try:
                    data = data.decode("utf-8")
                except UnicodeDecodeError:
                    return out, 1007
            out.append((opcode, data, compressed))
    return out, None


# ---------------------------------------------------------------------------
# Message


def test_message_tuple():
    """Message is one NamedTuple shared by both backends, so this runs once."""
    message = Message(Opcode.TEXT, "hi")
    assert message.compressed is False
    assert message == (Opcode.TEXT, "hi", False)
    assert Message(Opcode.BINARY, b"x", True).compressed is True
    opcode, data, compressed = Message(Opcode.PING, b"p")
    assert (opcode, data, compressed) == (Opcode.PING, b"p", False)


# ---------------------------------------------------------------------------
# Assembling


def test_default_parser(backend):
    asm = backend.MessageAssembler()
    assert type(asm.parser) is backend.FrameParser
    assert asm.parser.client is False
    assert asm.parser.max_frame_size == MiB
    assert asm.parser.max_message_size == MiB
    messages = asm.feed(peer_frame(False, TEXT, "héllo".encode()))
    assert [check_message(m) for m in messages] == [(TEXT, "héllo", False)]
    # Server side by default: an unmasked frame is a protocol error.
    with pytest.raises(ProtocolError) as info:
        backend.MessageAssembler().feed(peer_frame(True, TEXT, b"x"))
    assert info.value.code == 1002


def test_messages_are_the_shared_message_class(backend):
    """Both assemblers return instances of exactly the one ``fastframe.Message``.

    The compiled assembler builds them without calling ``Message.__new__``, so
    this is not a given; the facade's re-exports are tested in test_backend.
    """
    assert fastframe.Message is Message
    stream = peer_frame(True, TEXT, b"hi") + peer_frame(True, BINARY, b"\x00") + peer_frame(True, PING, b"p")
    messages = assembler(backend, client=True).feed(stream)
    assert [type(m) for m in messages] == [Message, Message, Message]
    assert messages == [(Opcode.TEXT, "hi", False), (Opcode.BINARY, b"\x00", False), (Opcode.PING, b"p", False)]
    text = messages[0]
    assert (text.opcode, text.data, text.compressed) == (Opcode.TEXT, "hi", False)
    # A real tuple of three: equal and hashing alike to one built the usual way.
    assert len(text) == 3
    assert hash(text) == hash(Message(Opcode.TEXT, "hi", False))
    assert text._replace(data="ho") == Message(Opcode.TEXT, "ho")


def test_messages_survive_the_garbage_collector(backend):
    """Messages hold only atoms; the compiled assembler hides them from the collector.

    They are still ordinary, correct objects after collections, referenced by
    the returned list alone (so freed with it: tuples take no weak references).
    """
    stream = b"".join(peer_frame(True, TEXT, f"token {i}".encode()) for i in range(2000))
    messages = assembler(backend, client=True).feed(stream)
    gc.collect()
    assert [m.data for m in messages] == [f"token {i}" for i in range(2000)]
    assert all(type(m) is Message and m.opcode is Opcode.TEXT for m in messages)
    if backend.name == "cython":
        assert not any(gc.is_tracked(m) for m in messages)
    if sys.implementation.name == "cpython":  # PyPy has no reference counts
        # The list's reference, the loop variable's and getrefcount's argument.
        assert {sys.getrefcount(m) for m in messages} == {3}


def test_parser_property(backend, pytestconfig):
    for parser_backend in parser_backends(backend, pytestconfig):
        parser = parser_backend.FrameParser(client=True)
        assert backend.MessageAssembler(parser).parser is parser


def test_decode_text_is_keyword_only(backend):
    with pytest.raises(TypeError):
        backend.MessageAssembler(backend.FrameParser(), False)


class _ListParser:
    """Any object with feed() will do: this one replays frames."""

    def __init__(self, backend: Any, frames: list[Any]) -> None:
        self.frames = [backend.Frame(op, payload, fin=fin, rsv1=rsv1) for op, payload, fin, rsv1 in frames]

    def feed(self, data: bytes) -> list[Any]:
        frames, self.frames = self.frames, []
        return frames


def test_duck_typed_parser(backend, pytestconfig):
    frames = [
        (TEXT, b"h\xc3", False, False),
        (PING, b"!", True, False),
        (CONTINUATION, b"\xa9", True, False),
        (BINARY, b"z", True, True),
    ]
    for frame_backend in parser_backends(backend, pytestconfig):
        asm = backend.MessageAssembler(_ListParser(frame_backend, frames))
        got = [check_message(m) for m in asm.feed(b"")]
        assert got == [(PING, b"!", False), (TEXT, "hé", False), (BINARY, b"z", True)]


@pytest.mark.parametrize("fin", [True, False])
def test_continuation_without_message_from_a_lax_parser(backend, fin):
    """FrameParser rejects an orphan continuation (1002); another parser might
    not, and then the assembler must, not join it to nothing."""
    frames = [(BINARY, b"ok", True, False), (CONTINUATION, b"orphan", fin, False), (BINARY, b"late", True, False)]
    asm = backend.MessageAssembler(_ListParser(backend, frames))
    with pytest.raises(ProtocolError) as info:
        asm.feed(b"")
    assert info.value.code == 1002
    assert [check_message(m) for m in info.value.messages] == [(BINARY, b"ok", False)]
    with pytest.raises(ProtocolError) as again:
        asm.feed(b"")
    assert (again.value.code, again.value.reason) == (info.value.code, info.value.reason)


def messages_stream(f):
    text = "aé€😀z".encode()
    close = close_payload(1000, "bye ✓".encode())
    stream = (
        f(TEXT, "plain ✓".encode())
        + f(BINARY, b"\x00\xff")
        + f(TEXT, text[:2], fin=False)  # cut inside "é"
        + f(PING, b"ping")
        + f(CONTINUATION, text[2:8], fin=False)  # cut inside "😀"
        + f(PONG, b"")
        + f(CONTINUATION, b"", fin=False)
        + f(CLOSE, close)
        + f(CONTINUATION, text[8:])
        + f(BINARY, b"bin", fin=False)
        + f(CONTINUATION, b"ary")
        + f(TEXT, b"")
        + f(BINARY, b"")
    )
    return stream, close


def compressed_stream(f):
    stream = (
        f(TEXT, b"\xff\x00", rsv1=True)
        + f(TEXT, b"\xc0", fin=False, rsv1=True)
        + f(PING, b"")
        + f(CONTINUATION, b"\xed\xa0")
        + f(BINARY, b"z", rsv1=True)
        + f(TEXT, "plain é".encode())
    )
    return stream


def before_error_stream(f):
    valid = (
        f(TEXT, b"one") + f(BINARY, b"a", fin=False) + f(PING, b"p") + f(CONTINUATION, b"b") + f(TEXT, b"in", fin=False)
    )
    return valid + f(CONTINUATION, b"progress", fin=False) + f(BINARY, b"new message inside")


def unvalidated_stream(f):
    return f(TEXT, "ok é".encode()) + f(BINARY, b"\xff") + f(TEXT, b"\xff", fin=False) + f(CONTINUATION, b"\xfe")


@pytest.mark.parametrize("foreign", [False, True], ids=["own-parser", "other-backend-parser"])
@pytest.mark.parametrize("client", [False, True], ids=["server", "client"])
def test_messages(backend, client, foreign, pytestconfig):
    pb = other_backend(backend, pytestconfig) if foreign else backend
    f = partial(peer_frame, client)
    stream, close = messages_stream(f)
    expected = [
        (TEXT, "plain ✓", False),
        (BINARY, b"\x00\xff", False),
        (PING, b"ping", False),
        (PONG, b"", False),
        (CLOSE, close, False),
        (TEXT, "aé€😀z", False),
        (BINARY, b"binary", False),
        (TEXT, "", False),
        (BINARY, b"", False),
    ]
    got = check_message_chunkings(lambda: assembler(backend, client, parser_backend=pb), stream)
    assert got == (expected, None)
    raw = [(op, data.encode() if isinstance(data, str) else data, c) for op, data, c in expected]
    got = check_message_chunkings(lambda: assembler(backend, client, decode_text=False, parser_backend=pb), stream)
    assert got == (raw, None)


@pytest.mark.parametrize("client", [False, True], ids=["server", "client"])
def test_compressed(backend, client):
    f = partial(peer_frame, client)
    stream = compressed_stream(f)
    expected = [
        (TEXT, b"\xff\x00", True),
        (PING, b"", False),
        (TEXT, b"\xc0\xed\xa0", True),
        (BINARY, b"z", True),
        (TEXT, "plain é", False),
    ]
    assert check_message_chunkings(lambda: assembler(backend, client, allow_rsv1=True), stream) == (expected, None)


@pytest.mark.parametrize("client", [False, True], ids=["server", "client"])
def test_messages_before_error(backend, client):
    f = partial(peer_frame, client)
    expected = [(TEXT, "one", False), (PING, b"p", False), (BINARY, b"ab", False)]
    stream = before_error_stream(f)
    asm = assembler(backend, client)
    with pytest.raises(ProtocolError) as info:
        asm.feed(stream)
    assert info.value.code == 1002
    assert [check_message(m) for m in info.value.messages] == expected
    # Every chunking agrees.
    assert check_message_chunkings(lambda: assembler(backend, client), stream) == (expected, 1002)
    # Errors are final.
    with pytest.raises(ProtocolError) as again:
        asm.feed(f(TEXT, b"later"))
    assert again.value.code == 1002
    assert again.value.messages == []


@pytest.mark.parametrize("client", [False, True], ids=["server", "client"])
def test_invalid_utf8_fails_fast(backend, client):
    f = partial(peer_frame, client)
    stream = f(TEXT, b"ok") + f(TEXT, b"abc", fin=False) + f(CONTINUATION, b"\xff" + b"x" * 500)
    # Fed 1 byte at a time, the error comes with the 0xFF, before the frame ends.
    asm = assembler(backend, client)
    raised_at = None
    got = []
    for i in range(len(stream)):
        try:
            got += asm.feed(stream[i : i + 1])
        except ProtocolError as exc:
            raised_at, code = i, exc.code
            break
    assert code == 1007
    assert raised_at == len(stream) - 501
    assert [check_message(m) for m in got] == [(TEXT, "ok", False)]


def _every_code_point() -> list[str]:
    """Every Unicode scalar value, as runs of up to 16 characters (at most 64 UTF-8 bytes)."""
    scalars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    return ["".join(scalars[i : i + 16]) for i in range(0, len(scalars), 16)]


@pytest.mark.slow
def test_text_decoded_for_every_code_point(backend):
    """Text messages decode to exactly what CPython's decoder gives, for every code point.

    The compiled assembler decodes short text (up to 64 bytes: AI tokens,
    chat) itself and hands longer text to CPython; runs of 16 characters
    take the short path, the same runs joined by 16 take the long one.
    Equality also checks the str's internal kind: a str built with too wide
    a kind compares unequal to the canonical one.
    """
    runs = _every_code_point()
    for texts in (runs, ["".join(runs[i : i + 16]) for i in range(0, len(runs), 16)]):
        stream = b"".join(peer_frame(True, TEXT, text.encode()) for text in texts)
        messages = assembler(backend, client=True, max_message_size=None, max_frame_size=None).feed(stream)
        assert [m.data for m in messages] == texts


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a",
        "\x7f" * 3,
        "a\x80",
        "\xff",
        "caf\xe9",
        "\u0100",
        "\u07ff\x80",
        "\u0800",
        "\uffffa",
        "\U00010000",
        "\U0010ffff\xe9",
        " \u4f60\u597d",
        "\U0001f600 ok",
        "x" * 64,
        "\xe9" * 32,
        "\xe9" * 33,
        "\U0001f600" * 16,
        "\U0001f600" * 17,
    ],
)
def test_text_decoded_at_kind_boundaries(backend, text):
    """The narrowest str kind that holds the text, on both sides of the 64-byte cut."""
    messages = assembler(backend, client=True).feed(peer_frame(True, TEXT, text.encode()))
    assert [m.data for m in messages] == [text]
    assert type(messages[0].data) is str


@pytest.mark.parametrize("payload", [b"\xff", b"ok \xc3", b"\xed\xa0\x80", b"x" * 63 + b"\xc3", b"x" * 70 + b"\xff"])
def test_unvalidated_invalid_text_is_1007_short_or_long(backend, payload):
    """Invalid UTF-8 from a parser that does not check: 1007 on both decoding paths."""
    asm = assembler(backend, client=True, validate_utf8=False)
    with pytest.raises(ProtocolError) as info:
        asm.feed(peer_frame(True, TEXT, payload))
    assert info.value.code == 1007


@pytest.mark.parametrize("client", [False, True], ids=["server", "client"])
def test_unvalidated_text(backend, client):
    """With a parser that does not validate UTF-8, decoding is the assembler's check."""
    f = partial(peer_frame, client)
    stream = unvalidated_stream(f)
    asm = assembler(backend, client, decode_text=False, validate_utf8=False)
    assert [check_message(m) for m in asm.feed(stream)] == [
        (TEXT, "ok é".encode(), False),
        (BINARY, b"\xff", False),
        (TEXT, b"\xff\xfe", False),
    ]
    asm = assembler(backend, client, validate_utf8=False)
    with pytest.raises(ProtocolError) as info:
        asm.feed(stream)
    assert info.value.code == 1007
    # The messages completed before the error are not lost.
    assert [check_message(m) for m in info.value.messages] == [(TEXT, "ok é", False), (BINARY, b"\xff", False)]
    # And the error is final, like the parser's.
    for later in (f(TEXT, b"fine"), b""):
        with pytest.raises(ProtocolError) as again:
            asm.feed(later)
        assert (again.value.code, again.value.reason) == (info.value.code, info.value.reason)
        assert again.value.messages == []


@pytest.mark.parametrize("client", [False, True], ids=["server", "client"])
def test_large_fragmented_text(backend, client):
    f = partial(peer_frame, client)
    text = "wörld € 😀 " * 80000  # > 1 MiB in UTF-8
    data = text.encode()
    assert len(data) > MiB
    cuts = [0, 1, 1000, 1001, 500_000, 500_003, len(data)]
    stream = b""
    for n, (a, b) in enumerate(zip(cuts, cuts[1:])):
        stream += f(TEXT if n == 0 else CONTINUATION, data[a:b], fin=b == len(data))
        stream += f(PING, b"%d" % n) if b != len(data) else b""
    expected = [(PING, b"%d" % n, False) for n in range(len(cuts) - 2)] + [(TEXT, text, False)]
    for sizes in ([len(stream)], [1024] * (len(stream) // 1024 + 1), [65537] * 100):
        asm = assembler(backend, client, max_frame_size=2 * MiB, max_message_size=2 * MiB)
        assert feed_messages(asm, stream, sizes) == (expected, None)
    # The message limit counts the whole message.
    asm = assembler(backend, client, max_frame_size=2 * MiB, max_message_size=len(data) - 1)
    assert feed_messages(asm, stream, [len(stream)])[1] == 1009


# ---------------------------------------------------------------------------
# Properties


@PROPERTY
@given(data=st.data(), client=st.booleans(), decode_text=st.booleans())
def test_valid_streams_property(backend, data, client, decode_text):
    specs = data.draw(valid_specs(client))
    stream = encode_specs(specs)
    expected = join_frames([(s.opcode, s.payload, s.fin, False, False, False) for s in specs], decode_text)[0]
    got = check_message_chunkings(
        lambda: assembler(backend, client, decode_text=decode_text), stream, every_split=len(stream) < 300
    )
    assert got == (expected, None)


@PROPERTY
@given(data=st.data(), client=st.booleans())
def test_against_wsproto_valid_streams(backend, data, client):
    specs = data.draw(valid_specs(client))
    # wsproto does not know close code 1014 (Bad Gateway), which the IANA
    # registry (RFC 6455 §11.7) added after the RFC; fastframe and websockets
    # accept it.  test_parser's test_against_wsproto excludes it too.
    assume(not any(s.opcode == CLOSE and s.payload[:2] == close_payload(1014) for s in specs))
    stream = encode_specs(specs)
    ws = trace_wsproto(stream, client=client)
    assert ws.error is None
    expected = []
    for _, event in ws.events:
        if event[0] == "close":
            expected.append(event)
        elif event[0] == "ctrl":
            expected.append((event[1], event[2]))
        elif event[2]:  # message complete
            expected.append((event[1], event[3]))
    got = []
    for op, payload, _ in feed_messages(assembler(backend, client, decode_text=False), stream, [len(stream)])[0]:
        if op == CLOSE:
            got.append(close_event(payload))
            break  # wsproto stops at the close frame
        got.append((op, payload))
    assert got == expected


@PROPERTY
@given(
    data=st.data(),
    client=st.booleans(),
    options=parser_options,
    decode_text=st.booleans(),
    sizes=st.lists(st.integers(1, 40), max_size=10),
)
def test_assembler_joins_what_the_parser_returns(backend, data, client, options, decode_text, sizes):
    """On any stream: the messages are the parser's frames joined, errors are the parser's."""
    stream = data.draw(streams(client))
    parser = backend.FrameParser(client=client, **options)
    frames: list[Any] = []
    code = None
    for chunk in cut(stream, sizes):
        try:
            frames += [frame_tuple(x) for x in parser.feed(chunk)]
        except ProtocolError as exc:
            frames += [frame_tuple(x) for x in exc.frames]
            code = int(exc.code)
            break
    expected, decode_error = join_frames(frames, decode_text)
    got = feed_messages(assembler(backend, client, decode_text=decode_text, **options), stream, sizes)
    # A text message that does not decode fails before any later parser error.
    assert got == (expected, decode_error or code)


def mixes() -> list[tuple[Any, Any]]:
    """(assembler backend, parser backend) pairs with a compiled side, to compare with pure on pure."""
    compiled, pure = load_backend("cython"), load_backend("python")
    return [(compiled, compiled), (compiled, pure), (pure, compiled)]


@pytest.mark.compiled
@settings(PROPERTY, max_examples=300)
@given(
    data=st.data(),
    client=st.booleans(),
    options=parser_options,
    decode_text=st.booleans(),
    sizes=st.lists(st.integers(1, 40), max_size=10),
)
def test_backends_agree(data, client, options, decode_text, sizes):
    """Same stream, same chunks: the compiled assembler on either parser, and the pure assembler
    on the compiled parser, agree with the pure assembler on the pure parser."""
    stream = data.draw(streams(client))
    limits = st.one_of(st.none(), st.sampled_from(limit_candidates(stream)))
    options = {**options, "max_frame_size": data.draw(limits), "max_message_size": data.draw(limits)}
    pure = load_backend("python")
    expected = feed_messages(assembler(pure, client, decode_text=decode_text, **options), stream, sizes)
    for asm_backend, parser_backend in mixes():
        got = feed_messages(
            assembler(asm_backend, client, decode_text=decode_text, parser_backend=parser_backend, **options),
            stream,
            sizes,
        )
        assert got == expected, (asm_backend.name, parser_backend.name)


@pytest.mark.compiled
@pytest.mark.parametrize("client", [False, True], ids=["server", "client"])
@pytest.mark.parametrize("decode_text", [True, False])
@pytest.mark.parametrize(
    ("build", "options"),
    [
        (lambda f: messages_stream(f)[0], {}),
        (lambda f: messages_stream(f)[0], {"max_message_size": 10}),
        (compressed_stream, {"allow_rsv1": True}),
        (compressed_stream, {}),
        (compressed_stream, {"allow_rsv1": True, "validate_utf8": False}),
        (before_error_stream, {}),
        (unvalidated_stream, {"validate_utf8": False}),
        (unvalidated_stream, {}),
    ],
)
def test_backends_agree_on_fixed_streams(client, decode_text, build, options):
    """The compiled side (assembler, parser or both) and pure on pure, in every chunking."""
    stream = build(partial(peer_frame, client))
    pure = load_backend("python")
    for _, sizes in chunkings(len(stream), every_split=True, random_count=3):
        expected = feed_messages(assembler(pure, client, decode_text=decode_text, **options), stream, sizes)
        for asm_backend, parser_backend in mixes():
            got = feed_messages(
                assembler(asm_backend, client, decode_text=decode_text, parser_backend=parser_backend, **options),
                stream,
                sizes,
            )
            assert got == expected, (asm_backend.name, parser_backend.name)
