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


def validator(impl: str) -> Callable[[bytes], bool]:
    """Return ``f(data) -> bool``: is ``data`` a complete, valid UTF-8 text."""
    if impl.endswith("-stream"):
        stream = fastframe(impl).Utf8Validator()
        reset, feed, finish = stream.reset, stream.feed, stream.finish

        def incremental(data: bytes) -> bool:
            reset()
            return feed(data) and finish()

        return incremental
    if impl.startswith("fastframe"):
        return fastframe(impl).validate_utf8  # type: ignore[no-any-return]
    if impl == "decode":

        def decode(data: bytes) -> bool:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                return False
            return True

        return decode
    if impl == "wsaccel":
        checker = peer("wsaccel.utf8validator", "Utf8Validator")()
        reset, validate = checker.reset, checker.validate

        def wsaccel(data: bytes) -> bool:
            reset()
            valid, ends_on_code_point, _, _ = validate(data)
            return bool(valid and ends_on_code_point)

        return wsaccel
    raise AssertionError(impl)


def each(func: Callable[[bytes], bool]) -> Callable[[list[bytes]], bool]:
    """Validate a list of tokens one call per token (the AI streaming case)."""

    def validate_all(items: list[bytes]) -> bool:
        for item in items:
            if not func(item):
                return False
        return True

    return validate_all


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("kind", KINDS)
def test_validate_utf8(benchmark: Any, impl: str, size: int, kind: str) -> None:
    """Validate ``size`` bytes of ``kind`` text."""
    func = validator(impl)
    # A broken validator that accepts everything must not pass unnoticed.
    assert not func(b"ok \xe2\x82"), f"{impl} accepted a truncated sequence"
    assert not func(b"\xed\xa0\x80"), f"{impl} accepted a surrogate"

    name = {value: key for key, value in SIZES.items()}[size]
    data: Any
    if kind == "tokens":
        data = tokens(size)
        func = each(func)
        label(benchmark, f"validate_utf8 {kind} {name}", impl, nbytes=sum(map(len, data)), frames=len(data))
    else:
        data = text(kind, size)
        label(benchmark, f"validate_utf8 {kind} {name}", impl, nbytes=size)
    assert func(data), f"{impl} rejected valid {kind} text"
    benchmark(func, data)
