"""Test ids that are the same in every process.

``ids=repr`` names a parameter by its repr, and the repr of a plain object
or a memoryview carries its address, which differs between runs: pytest-xdist
refuses to start when its workers collect different ids. :func:`stable_id`
is the repr with the address left out.
"""

from __future__ import annotations

import re

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def stable_id(value: object) -> str:
    """Return ``repr(value)`` without any ``at 0x...`` address in it."""
    return _ADDRESS.sub("", repr(value))
