"""pytest configuration for the benchmark suite (``python -m pytest bench``).

The helpers live in ``_support.py``; this file makes them importable under
any import mode, reports which implementations the run measures, and warms
every benchmark up before pytest-benchmark calibrates it.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from collections.abc import Iterator
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

        where = Path(fastframe.__file__).parent
        ours = (
            f"fastframe {fastframe.__version__} from {where}: "
            f"BACKEND={fastframe.BACKEND}, KERNELS={getattr(fastframe, 'KERNELS', '?')}"
        )
    except Exception as exc:  # the suites skip fastframe entries in that case
        ours = f"fastframe unavailable: {exc!r}"
    peers = ", ".join(f"{name} {_version(name)}" for name in _PEERS)
    return [ours, f"peers: {peers}"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Warm every benchmark up once before pytest-benchmark calibrates it.

    Calibration starts with a single call; if that first, cold call alone takes
    longer than ``--benchmark-min-time`` it settles on one iteration per round,
    and the timer's own overhead (~60 ns) lands in every result: parse_header
    measured 111 ns instead of 41 ns that way. With ``warmup`` the calibration
    times each candidate loop twice and keeps the warm figure; one warmup
    round (``warmup_iterations=1``) keeps the cost of that negligible.
    """
    for item in items:
        if str(item.path).startswith(_HERE + os.sep) and item.get_closest_marker("benchmark") is None:
            item.add_marker(pytest.mark.benchmark(warmup=True, warmup_iterations=1))


@pytest.fixture(autouse=True)
def _freeze_gc() -> Iterator[None]:
    """Keep pytest's own heap out of the garbage collector's work.

    The GC stays on, so every implementation still pays for the young
    collections its allocations trigger. But a full collection walks every
    tracked object in the process, and in a benchmark process most of them
    belong to pytest: rounds of ~50 µs then hit 30-140 ms pauses, which inflate
    the run time and the means. ``gc.freeze()`` parks what exists before the
    test in the permanent generation, so full collections stay proportional
    to what the code under test allocates.
    """
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()
