"""pytest configuration for the benchmark suite (``python -m pytest bench``).

The helpers live in ``_support.py``; this file only makes them importable
under any import mode and reports which implementations the run measures.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

# The suites do ``import _support``; with --import-mode=importlib pytest does not
# put this directory on sys.path, so do it here.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

_PEERS = ("websockets", "wsproto", "aiohttp", "tornado", "wsaccel")


def _version(name: str) -> str:
    """Return ``name``'s version, or why it cannot be benchmarked."""
    try:
        from importlib.metadata import version

        importlib.import_module(name)
        return version(name)
    except Exception as exc:  # any failure just means "skipped in this run"
        return f"unavailable ({type(exc).__name__})"


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Print what is being compared, so a results file explains itself."""
    try:
        import fastframe

        kernel = getattr(fastframe, "KERNEL", "?")
        ours = f"fastframe {_version('fastframe')} from {Path(fastframe.__file__).parent}, BACKEND={fastframe.BACKEND}, KERNEL={kernel}"
    except Exception as exc:  # the suites skip fastframe entries in that case
        ours = f"fastframe unavailable: {exc!r}"
    peers = ", ".join(f"{name} {_version(name)}" for name in _PEERS)
    return [ours, f"peers: {peers}"]
