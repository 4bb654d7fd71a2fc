"""Tests for ``bench/e2e_uvicorn.py``: uvicorn serving Starlette, patched by fastframe, delivers intact.

A tiny run of every scenario against a patched uvicorn server with each of
its WebSocket implementations, the server's fastframe on each backend (the
pure one through ``FASTFRAME_NO_EXTENSIONS`` in the server process): every
token the endpoint sends arrives unchanged, the endpoint receives every
message the client sent (the count and a digest of their text), and every
echo equals what was sent.  The benchmark's client makes these checks in each
of its runs; here they must all pass.  One unpatched run shows the same
checks hold without fastframe.

Skipped where uvicorn or Starlette is not installed (``pip install '.[e2e]'``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

# bench/ is not a package: its directory goes on the path first.
import e2e_uvicorn

TINY = e2e_uvicorn.Sizes(tokens=300, messages=300, echoes=200, echo_seconds=60.0)
#: What the client counts in each scenario: echoes go by windows of ECHO_WINDOW.
EXPECTED = {"tokens": TINY.tokens, "client-to-server": TINY.messages, "echo-16B": TINY.echoes}


def check(outcomes: dict[str, dict[str, Any]], server_backend: str) -> None:
    assert sorted(outcomes) == sorted(e2e_uvicorn.SCENARIOS)
    for scenario, outcome in outcomes.items():
        assert "error" not in outcome, f"{scenario}: {outcome['error']}"
        assert outcome["server_backend"] == server_backend, scenario
        assert outcome["messages"] == EXPECTED[scenario], scenario
        assert outcome["rate"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("implementation", list(e2e_uvicorn.IMPLEMENTATIONS))
def test_patched_server_delivers_every_message_intact(backend: SimpleNamespace, implementation: str) -> None:
    outcomes = e2e_uvicorn.measure(list(e2e_uvicorn.SCENARIOS), implementation, True, TINY, backend=backend.name)
    check(outcomes, backend.name)


@pytest.mark.slow
def test_unpatched_server_delivers_every_message_intact(backend: SimpleNamespace) -> None:
    outcomes = e2e_uvicorn.measure(list(e2e_uvicorn.SCENARIOS), "websockets-sansio", False, TINY, backend=backend.name)
    check(outcomes, backend.name)


def test_client_to_server_texts_are_16_bytes_of_mixed_scripts() -> None:
    texts = e2e_uvicorn.make_texts(500)
    assert {len(text.encode()) for text in texts} == {e2e_uvicorn.SINK_SIZE}
    # Multi-byte code points (scripts beyond ASCII, and emoji of 4 bytes) are in the stream.
    assert any(not text.isascii() for text in texts)
    assert any(any(len(char.encode()) == 4 for char in text) for text in texts)
    assert len(set(texts)) > 100
