"""Checking and timing: every implementation is checked before it is timed, and timed interleaved.

The method (issue 12): inputs are built once and shared; each
implementation's output is compared with fastframe's pure twin first, and a
wrong answer or an exception is recorded instead of a time; the rest are
calibrated (loops per sample), warmed up, then sampled ``repeats`` times in
rotating order, so a change in the machine's load weighs on every
implementation of a case alike. A sample is the mean time of one call over
its loop; the figure reported is the median of the samples.

The clock is the process's CPU time by default (``--clock cpu``): on a
shared machine, the time the process waits for a core is not the code's,
and wall-clock samples that include it make medians of short loops
unreliable. ``--clock wall`` measures wall time instead.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass, field
from typing import Any, Optional

#: The reference implementation every other one is checked against.
ORACLE = "fastframe-python"
#: Implementations that are references, not competitors: never "the best peer".
REFERENCES = ("copy",)
#: The clocks a sample can be timed with.
CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}

_UNSET: Any = object()


@dataclass
class Impl:
    """One implementation of one case.

    ``func(arg())`` is one call. With ``fresh`` the argument (a new parser, a
    new reader) is built for every call, outside the timed region; otherwise
    it is built once and shared by every call.
    """

    name: str
    func: Callable[[Any], Any]
    arg: Callable[[], Any]
    fresh: bool = False
    #: Turns ``(argument, result)`` into what is compared with the oracle's.
    output: Callable[[Any, Any], Any] = lambda _arg, result: result
    #: Entered around the check and around every sample (e.g. a library patched).
    context: Optional[Callable[[], ContextManager[Any]]] = None
    #: What the output must be, when not the oracle's (the copy reference).
    expect: Any = _UNSET
    #: Extra inputs the call is checked on (invalid UTF-8, other header lengths).
    probes: Sequence[Any] = ()
    #: False for the oracle when only checking against it, not measuring it.
    timed: bool = True


@dataclass
class Case:
    """One kernel at one size, or one scenario: implementations run on the same input."""

    group: str  # "kernel", "scenario" or "patched"
    name: str  # "apply_mask", "tokens", ...
    label: str  # "16 B", "5000 tokens", ...
    size: int  # the x axis of the plot: payload bytes of one call
    nbytes: int  # payload bytes handled per call (0: not a byte throughput)
    ops: int  # messages (or frames) per call
    impls: list[Impl]
    description: str = ""


@dataclass
class Result:
    """What one implementation did on one case."""

    case: Case
    impl: str
    status: str  # "ok", "wrong", "error"
    detail: str = ""
    samples: list[float] = field(default_factory=list)  # seconds per call

    @property
    def median(self) -> Optional[float]:
        """Median seconds per call, or None when not timed."""
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        middle = len(ordered) // 2
        if len(ordered) % 2:
            return ordered[middle]
        return (ordered[middle - 1] + ordered[middle]) / 2


@contextlib.contextmanager
def _entered(impl: Impl) -> Iterator[None]:
    if impl.context is None:
        yield
    else:
        with impl.context():
            yield


def _run_output(impl: Impl, probe: Any = _UNSET) -> Any:
    arg = impl.arg() if probe is _UNSET else probe
    return impl.output(arg, impl.func(arg))


def _outputs(impl: Impl) -> list[Any]:
    with _entered(impl):
        return [_run_output(impl), *(_run_output(impl, probe) for probe in impl.probes)]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check(case: Case) -> dict[str, Result]:
    """Run every implementation once and compare it with the oracle (or its own ``expect``).

    Returns:
        A result per implementation: ``ok`` (to be timed), ``wrong`` or ``error``.
    """
    results: dict[str, Result] = {}
    expected: Optional[list[Any]] = None
    oracle = [impl for impl in case.impls if impl.name == ORACLE]
    if oracle:
        expected = _outputs(oracle[0])
    for impl in case.impls:
        try:
            got = _outputs(impl)
        except Exception as exc:  # a peer's failure is reported, never fatal
            results[impl.name] = Result(case, impl.name, "error", f"{type(exc).__name__}: {exc}")
            continue
        want = [impl.expect] if impl.expect is not _UNSET else expected
        if want is None:
            results[impl.name] = Result(case, impl.name, "error", "no oracle to check against")
        elif got[: len(want)] != want:
            bad = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), 0)
            what = "its input" if bad == 0 else f"the input {_short(impl.probes[bad - 1])}"
            detail = f"on {what}: got {_short(got[bad])}, expected {_short(want[bad])}"
            results[impl.name] = Result(case, impl.name, "wrong", detail)
        else:
            results[impl.name] = Result(case, impl.name, "ok")
    return results


def _sample(impl: Impl, loops: int, clock: Callable[[], float] = time.process_time) -> float:
    """Mean seconds per call over ``loops`` calls, timed by ``clock``."""
    func = impl.func
    with _entered(impl):
        if impl.fresh:
            # Each state is dropped as soon as its call returns, with what it received:
            # kept alive, every call's results would land on fresh pages, and page
            # faults (slow on a VM) would be what gets measured.
            pop = [impl.arg() for _ in range(loops)].pop
            start = clock()
            for _ in itertools.repeat(None, loops):
                func(pop())
            elapsed = clock() - start
        else:
            arg = impl.arg()
            start = clock()
            for _ in itertools.repeat(None, loops):
                func(arg)
            elapsed = clock() - start
    return elapsed / loops


def _calibrate(impl: Impl, target: float, clock: Callable[[], float]) -> int:
    """Loops per sample so that a sample lasts about ``target`` seconds (also the warm-up).

    Sized on the fastest call seen: the first calls may be cold, or the
    process preempted, and either would make the loop too short to time.
    """
    loops, best = 1, float("inf")
    while True:
        per_call = _sample(impl, loops, clock)
        best = min(best, per_call)
        if per_call * loops >= target / 4 or loops >= 1_000_000:
            break
        loops *= 8
    loops = max(1, min(1_000_000, int(target / max(best, 1e-9))))
    best = min(best, _sample(impl, loops, clock))
    return max(1, min(1_000_000, int(target / max(best, 1e-9))))


def measure(
    case: Case, *, repeats: int, target: float, clock: str = "cpu", tick: Optional[Callable[[], None]] = None
) -> list[Result]:
    """Check, then time, every implementation of ``case``.

    Args:
        case: the case.
        repeats: samples per implementation (the median is reported).
        target: seconds one sample should last.
        clock: ``"cpu"`` (the process's CPU time) or ``"wall"``: see :data:`CLOCKS`.
        tick: called after each implementation's check and each round, for a progress bar.

    Returns:
        One result per implementation, in the case's order.
    """
    timer = CLOCKS[clock]
    results = check(case)
    timed = [impl for impl in case.impls if impl.timed and results[impl.name].status == "ok"]
    loops = {}
    for impl in timed:
        try:
            loops[impl.name] = _calibrate(impl, target, timer)
        except Exception as exc:  # it passed its check: a failure now is still reported
            results[impl.name] = Result(case, impl.name, "error", f"{type(exc).__name__}: {exc}")
    timed = [impl for impl in timed if impl.name in loops]
    if tick is not None:
        tick()
    gc.collect()
    for round_number in range(repeats):
        # Rotate the order every round: no implementation always runs first (or after the slowest).
        shift = round_number % max(1, len(timed))
        for impl in timed[shift:] + timed[:shift]:
            results[impl.name].samples.append(_sample(impl, loops[impl.name], timer))
        if tick is not None:
            tick()
    return [results[impl.name] for impl in case.impls if impl.timed]
