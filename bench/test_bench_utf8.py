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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from _support import FASTFRAME, SIZES, fastframe, label, peer, text, tokens

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
