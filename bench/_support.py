"""Shared helpers for the fastframe benchmark suite.

Everything here is deliberately independent of both fastframe and the peers:
the reference masking, the frame encoder and the test texts are written from
RFC 6455 directly, so a benchmark can check every implementation's output
against them before timing it.

Naming conventions the report script (``bench/ratios.py``) relies on:

* ``benchmark.group`` is ``"<operation> <case>"``, e.g. ``"apply_mask 16KiB"``;
  one group holds one operation at one size, with one entry per implementation.
* ``benchmark.extra_info["impl"]`` names the implementation (``fastframe-cython``,
  ``fastframe-python``, ``websockets``, ``aiohttp``, ..., ``copy``) and is also the
  test's parametrize id.
* ``extra_info["bytes"]`` (payload bytes per round) and ``extra_info["frames"]``
  (frames or calls per round) let the script print GB/s and ns per frame.
"""

from __future__ import annotations

import importlib
import os
import random
import struct
import time
from collections.abc import Callable
from typing import Any, NoReturn

import pytest

#: Payload sizes shared by the masking and UTF-8 suites (label -> bytes).
SIZES: dict[str, int] = {
    "16B": 16,
    "125B": 125,
    "1KiB": 1024,
    "16KiB": 16 * 1024,
    "1MiB": 1024 * 1024,
}

#: Both fastframe backends, benchmarked side by side.
FASTFRAME = ("fastframe-cython", "fastframe-python")

#: The masking key used everywhere: four distinct bytes, so a wrong key phase shows.
MASK = b"\x37\xfa\x21\x3d"

# Keep pedantic benchmarks (fresh parser per round) from running forever on
# the slow peers, and from being statistically useless on the fast ones.
MIN_ROUNDS = 5
MAX_ROUNDS = 5_000


def _missing(reason: str) -> NoReturn:
    """Skip a benchmark whose implementation is missing; fail it under FASTFRAME_BENCH_STRICT=1.

    A developer's run may lack a peer; CI installs every one, so there a
    missing one is a broken install, not a reason to measure less.
    """
    if os.environ.get("FASTFRAME_BENCH_STRICT") == "1":
        pytest.fail(f"{reason} (FASTFRAME_BENCH_STRICT=1)")
    pytest.skip(reason)


def fastframe(impl: str) -> Any:
    """Return the fastframe backend namespace named by ``impl``, or skip.

    Args:
        impl: ``"fastframe-cython"`` or ``"fastframe-python"`` (a suffix such
            as ``"-stream"`` is ignored).

    Returns:
        The namespace from ``fastframe._backend.load_backend``.
    """
    backend = impl.split("-")[1]
    try:
        from fastframe._backend import load_backend
    except ImportError as exc:
        _missing(f"fastframe is not importable: {exc}")
    try:
        return load_backend(backend)
    except ImportError as exc:
        _missing(f"fastframe {backend} backend is not available: {exc}")


def peer(module: str, attr: str | None = None) -> Any:
    """Import a peer library (or one of its attributes), or skip the test.

    A missing peer, or a pure-Python build of a peer whose compiled module is
    what we want to measure, must skip with a reason rather than fail the run.

    Args:
        module: dotted module name, e.g. ``"websockets.speedups"``.
        attr: optional attribute to fetch from the module.

    Returns:
        The module or the attribute.
    """
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        _missing(f"{module} is not importable: {exc}")
    if attr is None:
        return mod
    try:
        return getattr(mod, attr)
    except AttributeError:
        _missing(f"{module} has no {attr} (API changed?)")


def label(
    benchmark: Any,
    group: str,
    impl: str,
    *,
    nbytes: int | None = None,
    frames: int | None = None,
) -> None:
    """Set a benchmark's group and the metadata the report script reads.

    Args:
        benchmark: the pytest-benchmark fixture.
        group: ``"<operation> <case>"``.
        impl: implementation name.
        nbytes: payload bytes processed per round, for GB/s.
        frames: frames (or calls) per round, for ns per frame.
    """
    benchmark.group = group
    benchmark.extra_info["impl"] = impl
    if nbytes is not None:
        benchmark.extra_info["bytes"] = nbytes
    if frames is not None:
        benchmark.extra_info["frames"] = frames


def run_fresh(
    benchmark: Any,
    config: pytest.Config,
    target: Callable[..., Any],
    setup: Callable[[], Any],
    *,
    max_time: float | None = None,
) -> None:
    """Benchmark ``target(setup())`` with a fresh state for every round.

    Parsers are stateful (and aiohttp's queue counts every message it ever
    received), so each round gets a new one from ``setup``, outside the timed
    region. pytest-benchmark's pedantic mode does not calibrate, so the round
    count is derived here from one probe run and ``--benchmark-max-time``.

    Args:
        benchmark: the pytest-benchmark fixture.
        config: pytest config, for ``--benchmark-max-time``.
        target: called with the object ``setup`` returns; this is timed.
        setup: builds the per-round state (not timed).
        max_time: overrides ``--benchmark-max-time`` for very slow cases.
    """
    # The option's default comes back unparsed (a str), hence float().
    budget = max_time if max_time is not None else float(config.getoption("benchmark_max_time"))
    state = setup()
    start = time.perf_counter()
    target(state)
    elapsed = max(time.perf_counter() - start, 1e-7)
    rounds = max(MIN_ROUNDS, min(MAX_ROUNDS, int(budget / elapsed)))
    benchmark.pedantic(
        target,
        setup=lambda: ((setup(),), {}),
        rounds=rounds,
        warmup_rounds=1,
    )


# --- reference data ---------------------------------------------------------


def random_bytes(size: int, seed: int = 6455) -> bytes:
    """Return ``size`` deterministic pseudo-random bytes."""
    return random.Random(seed).randbytes(size)


def xor_mask(data: bytes, mask: bytes = MASK) -> bytes:
    """Reference RFC 6455 §5.3 masking (whole-integer XOR, obviously correct)."""
    n = len(data)
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def encode_frame(opcode: int, payload: bytes, *, mask: bytes | None, fin: bool = True) -> bytes:
    """Encode one frame (RFC 6455 §5.2); ``mask=None`` sends it unmasked."""
    head = (0x80 if fin else 0) | opcode
    bit = 0x80 if mask is not None else 0
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", head, bit | n)
    elif n < 1 << 16:
        header = struct.pack("!BBH", head, bit | 126, n)
    else:
        header = struct.pack("!BBQ", head, bit | 127, n)
    if mask is None:
        return header + payload
    return header + mask + xor_mask(payload, mask)


# Printable ASCII text, shaped like JSON chat/telemetry payloads.
_ASCII_WORDS = (
    "the",
    "quick",
    "brown",
    "fox",
    '{"id":',
    "42,",
    '"text":',
    '"hello",',
    "world",
    "token",
    "stream",
    "frame",
    "0.125",
    "true}",
    "payload",
    "server",
    "\n",
)
# Latin, Greek, Cyrillic, CJK and emoji (incl. a skin-tone modifier and ZWJ
# sequence) so every UTF-8 sequence length 1-4 appears often.
_MIXED_WORDS = (
    *_ASCII_WORDS,
    "café",
    "naïve",
    "Straße",
    "ação",
    "żółć",
    "αβγ",
    "привет",
    "мир",
    "漢字",
    "文字化け",
    "你好",
    "世界",
    "こんにちは",
    "한국어",
    "😀",
    "🚀",
    "👍🏽",
    "👩\u200d💻",
    "🎉",
)
# One script each, for the decoder to str (its speed depends on the widest
# kind of character and on the sequence lengths): Latin-1 words (French,
# German, Spanish: mostly ASCII letters, 1-byte kind), Cyrillic (2-byte
# sequences, 2-byte kind), CJK (3-byte sequences, no spaces between words)
# and emoji (4-byte sequences, 4-byte kind).
_LATIN1_WORDS = (
    "café",
    "naïve",
    "Straße",
    "ação",
    "über",
    "façade",
    "señor",
    "größer",
    "élève",
    "déjà",
    "mañana",
    "Öl",
    "the",
    "und",
    "les",
)
_CYRILLIC_WORDS = ("привет", "мир", "сообщение", "поток", "данные", "сервер", "ответ", "Москва", "текст", "и")
_CJK_WORDS = ("漢字", "文字化け", "你好", "世界", "こんにちは", "한국어", "数据流", "服务器", "。", "、")
_EMOJI_WORDS = ("😀", "🚀", "👍🏽", "🎉", "🔥", "🌍", "🤖", "💬")
_WORDS = {
    "ascii": _ASCII_WORDS,
    "mixed": _MIXED_WORDS,
    "latin1": _LATIN1_WORDS,
    "cyrillic": _CYRILLIC_WORDS,
    "cjk": _CJK_WORDS,
    "emoji": _EMOJI_WORDS,
}
# LLM-style tokens: mostly a leading space plus a word piece, 1-30 bytes each.
_TOKENS = (
    " the",
    ",",
    ".",
    " model",
    " stream",
    "ing",
    " de",
    " la",
    " café",
    " ação",
    " 你好",
    "世界",
    "。",
    " привет",
    " мир",
    "ü",
    " ß",
    "😀",
    " 🚀",
    "👍🏽",
    "\n\n",
    " 文字化け",
    " こんにちは",
    " 한국어",
    '"',
    ' {"',
    '":',
    " naïve",
    " extraordinarily",
    "👩\u200d💻👩\u200d💻",
)
assert all(1 <= len(t.encode()) <= 30 for t in _TOKENS)


def text(kind: str, size: int, seed: int = 6455) -> bytes:
    """Return exactly ``size`` bytes of valid UTF-8 text.

    Args:
        kind: a key of ``_WORDS``: ``"ascii"``, ``"mixed"``, or one script,
            ``"latin1"``, ``"cyrillic"``, ``"cjk"``, ``"emoji"``.
        size: length in bytes.
        seed: RNG seed, so every run measures the same bytes.
    """
    words = _WORDS[kind]
    rng = random.Random(seed)
    parts: list[str] = []
    length = 0
    while length < size:
        # CJK is written without spaces between words.
        word = rng.choice(words) + ("" if kind == "cjk" else " ")
        parts.append(word)
        length += len(word.encode())
    data = "".join(parts).encode()[:size]
    # Cut back to a code point boundary, then pad with ASCII to the exact size.
    data = data.decode("utf-8", "ignore").encode()
    return data + b" " * (size - len(data))


def tokens(total: int, seed: int = 6455) -> list[bytes]:
    """Return UTF-8 tokens of 1-30 bytes whose lengths add up to about ``total``."""
    rng = random.Random(seed)
    out: list[bytes] = []
    length = 0
    while length < total:
        tok = rng.choice(_TOKENS).encode()
        out.append(tok)
        length += len(tok)
    return out


def decode_frame(data: bytes) -> tuple[int, bool, bytes]:
    """Decode one complete frame: return ``(opcode, masked, unmasked payload)``."""
    opcode = data[0] & 0x0F
    masked = bool(data[1] & 0x80)
    n = data[1] & 0x7F
    pos = 2
    if n == 126:
        (n,) = struct.unpack_from("!H", data, 2)
        pos = 4
    elif n == 127:
        (n,) = struct.unpack_from("!Q", data, 2)
        pos = 10
    if masked:
        key, pos = data[pos : pos + 4], pos + 4
        payload = xor_mask(data[pos : pos + n], key)
    else:
        payload = data[pos : pos + n]
    assert len(payload) == n == len(data) - pos, "frame length does not match its header"
    return opcode, masked, payload
