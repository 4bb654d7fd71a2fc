"""A UTF-8 oracle: can this prefix still become valid UTF-8?

It answers by trying completions with the standard library's strict decoder,
independently of fastframe's automaton.
"""

from __future__ import annotations

import itertools
from typing import Optional

# Second and later bytes of a code point fall in 80-BF with first-continuation
# ranges 80-8F, 80-9F, 90-BF, A0-BF (RFC 3629 §4): their end points cover
# every case, so these completions decide whether a prefix can still be valid.
_CONT = (0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF)
_COMPLETIONS = [bytes(c) for n in (1, 2, 3) for c in itertools.product(_CONT, repeat=n)]


def _decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8", "strict")
    except UnicodeDecodeError:
        return False
    return True


def utf8_extendable(data: bytes) -> bool:
    """True if ``data`` is a prefix of some valid UTF-8 string."""
    if _decodes(data):
        return True
    for k in (1, 2, 3):
        if len(data) < k or not _decodes(data[:-k]):
            continue
        tail = data[-k:]
        if any(_decodes(tail + c) for c in _COMPLETIONS if len(c) <= 4 - k):
            return True
    return False


def first_impossible_byte(data: bytes) -> Optional[int]:
    """Index of the first byte after which ``data`` can no longer be UTF-8, or None."""
    if utf8_extendable(data):
        return None
    lo, hi = 0, len(data) - 1  # data[:hi + 1] is not extendable
    while lo < hi:
        mid = (lo + hi) // 2
        if utf8_extendable(data[: mid + 1]):
            lo = mid + 1
        else:
            hi = mid
    return lo
