"""UTF-8 validation throughput: fastframe vs ``bytes.decode`` and wsaccel.

Three texts at every size in ``SIZES``:

* ``ascii``: printable ASCII (JSON-like), the common case a SIMD fast path wins.
* ``mixed``: ASCII, Latin, Greek, Cyrillic, CJK and emoji, so sequences of
  every length 1-4 appear often.
* ``tokens``: LLM-style tokens of 1-30 bytes whose lengths add up to the size;
  each token is validated by its own call, as a client streaming an AI
  response validates every tiny text frame. Per-call overhead dominates here,
  and every implementation pays the same Python ``for`` loop around its call.

Implementations: fastframe's one-shot ``validate_utf8`` and its incremental
``Utf8Validator`` (``reset``/``feed``/``finish`` on a single chunk, suffix
``-stream``) on both backends; ``decode`` = ``bytes.decode("utf-8")`` in a
``try`` (what most libraries do, and it also builds the ``str``); wsaccel's
``Utf8Validator.validate`` (reset first: it keeps state across calls; the text
is valid only if it is valid *and* ends on a code point boundary).

Beside them, the targets of the SIMD validator and decoder (issue 10):

* ``scan``: a read-only scan of the same 1 MiB of ASCII (``bytes.find`` of
  a byte that is not there, which is the C library's SIMD ``memchr``): the
  floor a validator's ASCII path is held to.
* ``FrameParser 1MiB masked mixed text``: a server parses one masked frame of
  1 MiB of mixed text (unmask and validate, in one pass in the compiled
  parser), against ``copy``, a ``bytearray`` of the payload, and against
  fastframe's ``apply_mask`` and ``validate_utf8`` alone on the payload.
* ``decode_utf8``: fastframe's text decoder against ``bytes.decode`` on
  tokens of 1-30 bytes (one call each), and 1 KiB and 64 KiB of ASCII, of
  mixed text and of one script each (Latin-1, Cyrillic, CJK, emoji).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from _support import FASTFRAME, MASK, SIZES, encode_frame, fastframe, label, peer, run_fresh, text, tokens

IMPLS = (
    *FASTFRAME,
    *(f"{impl}-stream" for impl in FASTFRAME),
    "decode",
    "wsaccel",
)
KINDS = ("ascii", "mixed", "tokens")


Check = Callable[[bytes], bool]
CheckAll = Callable[[list[bytes]], bool]


def validators(impl: str) -> tuple[Check, CheckAll]:
    """Return ``(one, many)`` for ``impl``.

    ``one(data)`` says whether ``data`` is a complete, valid UTF-8 text;
    ``many(tokens)`` whether every token is, one call per token. ``many``
    inlines the implementation's calls in its loop, so no implementation pays
    for an extra Python frame per token.
    """
    if impl.endswith("-stream"):
        stream = fastframe(impl).Utf8Validator()
        reset, feed, finish = stream.reset, stream.feed, stream.finish

        def stream_one(data: bytes) -> bool:
            reset()
            return bool(feed(data) and finish())

        def stream_many(items: list[bytes]) -> bool:
            for item in items:
                reset()
                if not (feed(item) and finish()):
                    return False
            return True

        return stream_one, stream_many
    if impl.startswith("fastframe"):
        validate_utf8 = fastframe(impl).validate_utf8

        def fastframe_many(items: list[bytes]) -> bool:
            for item in items:
                if not validate_utf8(item):
                    return False
            return True

        return validate_utf8, fastframe_many
    if impl == "decode":

        def decode_one(data: bytes) -> bool:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                return False
            return True

        def decode_many(items: list[bytes]) -> bool:
            try:
                for item in items:
                    item.decode("utf-8")
            except UnicodeDecodeError:
                return False
            return True

        return decode_one, decode_many
    if impl == "wsaccel":
        # Its validator keeps state across calls (it is incremental), and a
        # text is valid only if it is valid *and* ends on a code point boundary.
        checker = peer("wsaccel.utf8validator", "Utf8Validator")()
        reset, validate = checker.reset, checker.validate

        def wsaccel_one(data: bytes) -> bool:
            reset()
            valid, ends_on_code_point, _, _ = validate(data)
            return bool(valid and ends_on_code_point)

        def wsaccel_many(items: list[bytes]) -> bool:
            for item in items:
                reset()
                valid, ends_on_code_point, _, _ = validate(item)
                if not (valid and ends_on_code_point):
                    return False
            return True

        return wsaccel_one, wsaccel_many
    raise AssertionError(impl)


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("kind", KINDS)
def test_validate_utf8(benchmark: Any, impl: str, size: int, kind: str) -> None:
    """Validate ``size`` bytes of ``kind`` text."""
    one, many = validators(impl)
    # A broken validator that accepts everything must not pass unnoticed.
    assert not one(b"ok \xe2\x82"), f"{impl} accepted a truncated sequence"
    assert not one(b"\xed\xa0\x80"), f"{impl} accepted a surrogate"
    assert not many([b"ok", b"\xc3"]), f"{impl} accepted a truncated token"

    group = f"validate_utf8 {kind} {SIZE_NAMES[size]}"
    if kind == "tokens":
        items = tokens(size)
        assert many(items), f"{impl} rejected valid tokens"
        label(benchmark, group, impl, nbytes=sum(map(len, items)), frames=len(items))
        benchmark(many, items)
        return
    data = text(kind, size)
    assert one(data), f"{impl} rejected valid {kind} text"
    label(benchmark, group, impl, nbytes=size)
    if impl == "decode":
        # Time the bound method itself: on valid input the try costs nothing.
        benchmark(data.decode, "utf-8")
    else:
        benchmark(one, data)


SIZE_NAMES = {size: name for name, size in SIZES.items()}


def test_call_floor(benchmark: Any) -> None:
    """``len`` on the 125-byte mixed message: the cheapest call of a C function.

    It joins the ``validate_utf8 mixed 125B`` group as ``len``, so that a
    run shows how much of a small call's time is the harness's loop and the
    call itself, which no validator can go below.
    """
    data = text("mixed", SIZES["125B"])
    assert len(data) == SIZES["125B"]
    label(benchmark, "validate_utf8 mixed 125B", "len", nbytes=len(data))
    benchmark(len, data)


@pytest.mark.parametrize("impl", ("fastframe-cython", "scan"))
def test_ascii_scan_floor(benchmark: Any, impl: str) -> None:
    """Validate 1 MiB of ASCII, against a read-only SIMD scan of the same bytes."""
    data = text("ascii", SIZES["1MiB"])
    label(benchmark, "validate_utf8 ascii 1MiB vs scan", impl, nbytes=len(data))
    if impl == "scan":
        assert data.find(b"\x80") == -1
        benchmark(data.find, b"\x80")
        return
    validate_utf8 = fastframe(impl).validate_utf8
    assert validate_utf8(data) and not validate_utf8(data + b"\x80")
    benchmark(validate_utf8, data)


@pytest.mark.parametrize("impl", (*FASTFRAME, "copy", "apply_mask", "validate_utf8"))
def test_parser_1m_masked_text(benchmark: Any, request: pytest.FixtureRequest, impl: str) -> None:
    """A server parses one masked text frame of 1 MiB of mixed text (unmask and validate).

    Beside the parsers: ``copy``, the target's reference; ``apply_mask`` and
    ``validate_utf8`` (fastframe's compiled kernels, each alone on the
    payload), the two passes the parser fuses into one: a parser near
    ``validate_utf8`` alone is as fast as validation lets it be.
    """
    payload = text("mixed", SIZES["1MiB"])
    label(benchmark, "FrameParser 1MiB masked mixed text", impl, nbytes=len(payload), frames=1)
    if impl == "copy":
        assert bytearray(payload) == payload
        run_fresh(benchmark, request.config, lambda _: bytearray(payload), lambda: None)
        return
    if impl in ("apply_mask", "validate_utf8"):
        kernels = fastframe("fastframe-cython")
        masked = kernels.apply_mask(payload, MASK)
        assert masked != payload and kernels.apply_mask(masked, MASK) == payload
        assert kernels.validate_utf8(payload) and not kernels.validate_utf8(payload[:-1] + b"\xc3")
        if impl == "apply_mask":
            run_fresh(benchmark, request.config, lambda _: kernels.apply_mask(masked, MASK), lambda: None)
        else:
            run_fresh(benchmark, request.config, lambda _: kernels.validate_utf8(payload), lambda: None)
        return
    data = encode_frame(0x1, payload, mask=MASK)
    frame_parser = fastframe(impl).FrameParser
    limit = 2 * len(payload)

    def setup() -> Any:
        return frame_parser(client=False, max_frame_size=limit, max_message_size=limit)

    def parse(parser: Any) -> Any:
        return parser.feed(data)

    [frame] = parse(setup())
    assert bytes(frame.payload) == payload, f"{impl} parsed the frame wrongly"
    run_fresh(benchmark, request.config, parse, setup)


SIZES_DECODE = {"1KiB": 1024, "64KiB": 65536}
#: Tokens of one character (punctuation, digits, a space, an accented letter,
#: one CJK or emoji character), which token streams send too: 1-4 bytes.
ONE_CHAR_TOKENS = [chr(c).encode() for c in (*range(0x20, 0x7F), *range(0xA0, 0x100), 0x44F, 0x4E2D, 0x1F600)] * 256
#: The decoder's cases: tokens, one-character tokens, then each kind of
#: ``_support.text`` at 1 KiB and 64 KiB.  From latin1 on, one script each, so that every PEP 393 kind
#: is written: Latin-1 (2-byte sequences, 1-byte kind), Cyrillic (2-byte
#: sequences, 2-byte kind), CJK (3-byte sequences, 2-byte kind), emoji
#: (4-byte sequences, 4-byte kind).
DECODE_CASES = {
    "tokens": 0,
    "1-char tokens": 0,
    **{
        f"{kind} {name}": SIZES_DECODE[name]
        for kind in ("ascii", "mixed", "latin1", "cyrillic", "cjk", "emoji")
        for name in SIZES_DECODE
    },
}


@pytest.mark.parametrize("impl", ("fastframe-cython", "fastframe-python", "decode"))
@pytest.mark.parametrize("case", DECODE_CASES)
def test_decode_utf8(benchmark: Any, impl: str, case: str) -> None:
    """Decode text to ``str``: fastframe.decode_utf8 against bytes.decode."""
    if impl == "decode":

        def decode(data: bytes) -> str:
            return data.decode("utf-8")

    else:
        decode = fastframe(impl).decode_utf8
        try:
            decode(b"ok \xe2\x82")
        except UnicodeDecodeError:
            pass
        else:
            raise AssertionError(f"{impl} decoded a truncated sequence")
    group = f"decode_utf8 {case}"
    if case.endswith("tokens"):
        items = tokens(64 * 1024) if case == "tokens" else ONE_CHAR_TOKENS
        assert [decode(item) for item in items] == [item.decode("utf-8") for item in items]
        label(benchmark, group, impl, nbytes=sum(map(len, items)), frames=len(items))
        if impl == "decode":

            def decode_all(items: list[bytes]) -> None:
                for item in items:
                    item.decode("utf-8")

        else:
            fn = decode

            def decode_all(items: list[bytes]) -> None:
                for item in items:
                    fn(item)

        benchmark(decode_all, items)
        return
    kind, _, _ = case.partition(" ")
    data = text(kind, DECODE_CASES[case])
    assert decode(data) == data.decode("utf-8")
    label(benchmark, group, impl, nbytes=len(data))
    if impl == "decode":
        # The bound method itself, as for validation above.
        benchmark(data.decode, "utf-8")
    else:
        benchmark(decode, data)
