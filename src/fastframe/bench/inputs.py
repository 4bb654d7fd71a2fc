"""The bytes every implementation is given: built once per run, deterministic, checked by construction.

Frames are encoded here from RFC 6455 §5.2 directly (not with fastframe), so
a stream is the same whichever implementation reads it.
"""

from __future__ import annotations

import random
import struct
from typing import Optional

#: The masking key of the masking kernels: four distinct bytes, so a wrong key phase shows.
MASK = b"\x37\xfa\x21\x3d"
OP_TEXT, OP_BINARY = 0x1, 0x2

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


def random_bytes(size: int, seed: int = 6455) -> bytes:
    """``size`` deterministic pseudo-random bytes."""
    return random.Random(seed).randbytes(size)


def xor_mask(data: bytes, mask: bytes = MASK) -> bytes:
    """RFC 6455 §5.3 masking as one big-integer XOR: slow, and obviously right."""
    n = len(data)
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def text(kind: str, size: int, seed: int = 6455) -> bytes:
    """Exactly ``size`` bytes of valid UTF-8 text.

    Args:
        kind: ``"ascii"``, ``"mixed"`` (every sequence length), or one
            script: ``"latin1"``, ``"cyrillic"``, ``"cjk"``, ``"emoji"``.
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
    # Cut back to a code point boundary, then pad with ASCII to the exact size.
    data = "".join(parts).encode()[:size].decode("utf-8", "ignore").encode()
    return data + b" " * (size - len(data))


def tokens(count: int, seed: int = 6455) -> list[bytes]:
    """``count`` tokens of 5-30 bytes of UTF-8, as an AI response streams them."""
    rng = random.Random(seed)
    pool = [token.encode() for token in _TOKENS]
    out: list[bytes] = []
    while len(out) < count:
        token = rng.choice(pool)
        while len(token) < 5:
            token += rng.choice(pool)
        out.append(token[:30].decode("utf-8", "ignore").encode())
    return out


def tokens_totalling(total: int, seed: int = 6455) -> list[bytes]:
    """Tokens of 1-30 bytes of UTF-8, as they come, whose lengths add up to about ``total``."""
    rng = random.Random(seed)
    out: list[bytes] = []
    length = 0
    while length < total:
        token = rng.choice(_TOKENS).encode()
        out.append(token)
        length += len(token)
    return out


def encode_frame(opcode: int, payload: bytes, *, mask: Optional[bytes], fin: bool = True) -> bytes:
    """One frame (RFC 6455 §5.2); ``mask=None`` sends it unmasked, as a server does."""
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


def stream(payloads: list[bytes], opcode: int, *, masked: bool, seed: int = 1) -> bytes:
    """The frames of ``payloads`` back to back, each with its own random key when ``masked``."""
    rng = random.Random(seed)
    return b"".join(
        encode_frame(opcode, payload, mask=rng.getrandbits(32).to_bytes(4, "big") if masked else None)
        for payload in payloads
    )


def chunks(data: bytes, size: int) -> list[bytes]:
    """``data`` cut as a socket would return it: reads of at most ``size`` bytes."""
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def decode_frame(data: bytes) -> tuple[int, bool, bool, bytes]:
    """One complete frame read back: ``(opcode, fin, masked, unmasked payload)``.

    Raises:
        ValueError: ``data`` is not exactly one frame.
    """
    if len(data) < 2:
        raise ValueError("shorter than a frame header")
    opcode, fin, masked = data[0] & 0x0F, bool(data[0] & 0x80), bool(data[1] & 0x80)
    n, pos = data[1] & 0x7F, 2
    if n == 126:
        (n,) = struct.unpack_from("!H", data, 2)
        pos = 4
    elif n == 127:
        (n,) = struct.unpack_from("!Q", data, 2)
        pos = 10
    key = data[pos : pos + 4] if masked else None
    pos += 4 if masked else 0
    payload = data[pos:]
    if len(payload) != n:
        raise ValueError(f"the header says {n} bytes, the frame has {len(payload)}")
    return opcode, fin, masked, xor_mask(payload, key) if key is not None else payload
