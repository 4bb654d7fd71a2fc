"""Shared helpers for the fastframe benchmark suite.

The reference data is independent of fastframe's code under test and of the
peers: the masking, the frame encoder and the texts come from
``fastframe.bench.inputs`` (shared with ``python -m fastframe.bench``), which
writes them from RFC 6455 directly, so a benchmark can check every
implementation's output against them before timing it.

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

import contextlib
import importlib
import os
import time
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import pytest

# Re-exported for the suites (the explicit "as" marks a re-export).
from fastframe.bench.inputs import (
    MASK as MASK,
    decode_frame as decode_frame,
    encode_frame as encode_frame,
    random_bytes as random_bytes,
    text as text,
    tokens_totalling as tokens,  # noqa: F401 (re-exported)
    xor_mask as xor_mask,
)

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


@contextlib.contextmanager
def patched(impl: str, library: str) -> Iterator[bool]:
    """Patch ``library`` as ``impl`` names it, for the ``with`` block.

    Args:
        impl: ``"<library>+fastframe-<backend>"`` patches the library with
            ``fastframe.integrations.<library>`` on that backend; any other
            name (the library alone, or with another accelerator) leaves it
            unpatched, and checks that it is.
        library: the integration's module name, e.g. ``"tornado"``.

    Yields:
        True if the library is patched inside the block.
    """
    integration = peer(f"fastframe.integrations.{library}")
    if "+fastframe-" not in impl:
        assert not integration.is_patched()
        yield False
        return
    backend = fastframe(impl.partition("+")[2])
    from fastframe.integrations import _patching

    with _patching.using_backend(backend.name):
        integration.patch()
    try:
        yield True
    finally:
        integration.unpatch()


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
