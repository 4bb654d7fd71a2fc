"""Summarize a pytest-benchmark JSON file as ratios against fastframe-cython.

Usage::

    python bench/ratios.py bench-results.json

For every benchmark group (one operation at one size) it prints a markdown
table: each implementation's median time, its throughput (GB/s) where the
payload size is known, its time per frame where a round holds many frames,
and how it compares with fastframe-cython. Then it checks the performance
targets of the project's issues and prints PASS or MISS for each (it never
fails: on a shared 2-core machine the numbers are indicative).

It reads ``extra_info`` written by the suites in this directory: ``impl``
(implementation name), ``bytes`` (payload bytes per round) and ``frames``
(frames or calls per round).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

BASELINE = "fastframe-cython"
SIZES = ("16B", "125B", "1KiB", "16KiB", "1MiB")
SMALL_FRAMES = "FrameParser 1000x16B masked"
#: A miss by at most this fraction of the goal is reported as a tie.
NEAR = 0.05


@dataclass(frozen=True)
class Entry:
    """One implementation's result in one group."""

    impl: str
    median: float  # seconds per round
    nbytes: Optional[int]
    frames: Optional[int]

    @property
    def gbps(self) -> Optional[float]:
        """Throughput in GB/s (10**9 bytes per second), if the size is known."""
        return self.nbytes / self.median / 1e9 if self.nbytes else None

    @property
    def per_frame(self) -> Optional[float]:
        """Seconds per frame (or per call), if the round holds several."""
        return self.median / self.frames if self.frames else None


Groups = dict[str, dict[str, Entry]]


def load(path: Path) -> Groups:
    """Read a ``--benchmark-json`` file into ``{group: {impl: Entry}}``, in run order."""
    data = json.loads(path.read_text())
    groups: Groups = {}
    for bench in data["benchmarks"]:
        info = bench.get("extra_info", {})
        # Fall back to the test id for suites that do not set extra_info.
        impl = info.get("impl") or bench.get("param") or bench["name"]
        entry = Entry(impl, bench["stats"]["median"], info.get("bytes"), info.get("frames"))
        groups.setdefault(bench.get("group") or bench["name"], {})[impl] = entry
    return groups


def fmt_time(seconds: float) -> str:
    """Format a duration with a unit that keeps 3-4 significant digits."""
    for unit, scale in (("ns", 1e-9), ("µs", 1e-6), ("ms", 1e-3)):
        if seconds < scale * 1000:
            return f"{seconds / scale:.1f} {unit}" if seconds < scale * 100 else f"{seconds / scale:.0f} {unit}"
    return f"{seconds:.2f} s"


def fmt_ratio(entry: Entry, base: Optional[Entry]) -> str:
    """Say how ``entry`` compares with the baseline: "2.31× slower", "1.20× faster"."""
    if base is None:
        return "n/a"
    if entry is base:
        return "baseline"
    ratio = entry.median / base.median
    return f"{ratio:.2f}× slower" if ratio >= 1 else f"{1 / ratio:.2f}× faster"


def table(name: str, entries: dict[str, Entry]) -> str:
    """Render one group as a markdown table, fastest first."""
    base = entries.get(BASELINE)
    rows = sorted(entries.values(), key=lambda e: e.median)
    show_gbps = any(e.nbytes for e in rows)
    show_frame = any(e.frames and e.frames > 1 for e in rows)
    head = ["implementation", "median"]
    head += ["GB/s"] * show_gbps + ["per frame"] * show_frame + [f"vs {BASELINE}"]
    lines = [f"### {name}", "", "| " + " | ".join(head) + " |", "|" + "---|" + "---:|" * (len(head) - 1)]
    for e in rows:
        cells = [e.impl, fmt_time(e.median)]
        if show_gbps:
            cells.append(f"{e.gbps:.3g}" if e.gbps is not None else "")
        if show_frame:
            cells.append(fmt_time(e.per_frame) if e.per_frame is not None else "")
        cells.append(fmt_ratio(e, base))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- targets from the issues ---------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A performance goal: ``measure(groups)`` compared with ``goal``."""

    text: str
    measure: Callable[[Groups], Optional[float]]
    goal: float
    at_least: bool  # True: value >= goal passes; False: value <= goal passes
    unit: str


def speedup(group: str, other: str, ours: str = BASELINE) -> Callable[[Groups], Optional[float]]:
    """How many times faster ``ours`` is than ``other`` in ``group``."""

    def measure(groups: Groups) -> Optional[float]:
        entries = groups.get(group, {})
        if ours not in entries or other not in entries:
            return None
        return entries[other].median / entries[ours].median

    return measure


def stat(group: str, value: Callable[[Entry], Optional[float]]) -> Callable[[Groups], Optional[float]]:
    """A statistic of fastframe-cython's entry in ``group``."""

    def measure(groups: Groups) -> Optional[float]:
        entry = groups.get(group, {}).get(BASELINE)
        return None if entry is None else value(entry)

    return measure


def targets(groups: Groups) -> list[Target]:
    """The issue targets, in the order they are reported (some exist only for the groups measured)."""
    found: list[Target] = [
        Target(
            f"apply_mask {size}: speedup over websockets", speedup(f"apply_mask {size}", "websockets"), 1.0, True, "×"
        )
        for size in SIZES
    ]
    found += [
        Target("apply_mask 16KiB: speedup over websockets", speedup("apply_mask 16KiB", "websockets"), 1.5, True, "×"),
        Target("mask_inplace 16KiB: speedup over aiohttp", speedup("mask_inplace 16KiB", "aiohttp"), 2.0, True, "×"),
        Target(
            "validate_utf8 ascii 1MiB: throughput",
            stat("validate_utf8 ascii 1MiB", lambda e: e.gbps),
            20.0,
            True,
            " GB/s",
        ),
        Target(
            f"{SMALL_FRAMES}: time per frame",
            stat(SMALL_FRAMES, lambda e: e.per_frame and e.per_frame * 1e9),
            100.0,
            False,
            " ns",
        ),
        Target(f"{SMALL_FRAMES}: speedup over aiohttp", speedup(SMALL_FRAMES, "aiohttp"), 3.0, True, "×"),
        Target(f"{SMALL_FRAMES}: speedup over websockets", speedup(SMALL_FRAMES, "websockets"), 25.0, True, "×"),
        Target(f"{SMALL_FRAMES}: speedup over wsproto", speedup(SMALL_FRAMES, "wsproto"), 60.0, True, "×"),
        Target(
            "FrameParser 64KiB masked: time relative to copy",
            slowdown("FrameParser 64KiB masked", "copy"),
            1.5,
            False,
            "×",
        ),
        Target(
            "FrameParser 16MiB masked in 1KiB chunks: time relative to copy (O(n), not O(n²))",
            slowdown("FrameParser 16MiB masked in 1KiB chunks", "copy"),
            3.0,
            False,
            "×",
        ),
        Target(
            f"{SMALL_FRAMES}: fastframe-python speedup over wsproto",
            speedup(SMALL_FRAMES, "wsproto", ours="fastframe-python"),
            1.0,
            True,
            "×",
        ),
    ]
    found += [
        Target(
            f"apply_mask {size}: fastframe-python speedup over wsproto",
            speedup(f"apply_mask {size}", "wsproto", ours="fastframe-python"),
            1.0,
            True,
            "×",
        )
        for size in SIZES
    ]
    # Issue 9: wsproto's FrameProtocol patched by fastframe against itself unpatched.
    found += [
        Target(
            f"wsproto FrameProtocol {case}: patched (fastframe-cython) speedup over unpatched",
            speedup(f"wsproto FrameProtocol {case}", "wsproto", ours="wsproto+fastframe-cython"),
            5.0,
            True,
            "×",
        )
        for case in ("1000x16B masked", "64KiB masked")
    ]
    found += utf8_targets(groups)
    return found


def slowdown(group: str, reference: str) -> Callable[[Groups], Optional[float]]:
    """fastframe-cython's time in ``group`` as a multiple of ``reference``'s."""
    faster = speedup(group, reference)

    def measure(groups: Groups) -> Optional[float]:
        s = faster(groups)
        return None if s is None else 1 / s

    return measure


def utf8_targets(groups: Groups) -> list[Target]:
    """Issue 10: the SIMD validator and decoder (bench/test_bench_utf8.py)."""
    found = [
        Target(
            "validate_utf8 mixed 1MiB: throughput",
            stat("validate_utf8 mixed 1MiB", lambda e: e.gbps),
            10.0,
            True,
            " GB/s",
        ),
        Target(
            "validate_utf8 mixed 1MiB: speedup over bytes.decode",
            speedup("validate_utf8 mixed 1MiB", "decode"),
            15.0,
            True,
            "×",
        ),
        Target(
            "validate_utf8 ascii 1MiB: speed relative to a read-only scan",
            speedup("validate_utf8 ascii 1MiB vs scan", "scan"),
            0.9,
            True,
            "×",
        ),
        Target(
            "validate_utf8 mixed 125B: time per call",
            stat("validate_utf8 mixed 125B", lambda e: e.median * 1e9),
            100.0,
            False,
            " ns",
        ),
        Target(
            "FrameParser 1MiB masked mixed text: time relative to copy",
            slowdown("FrameParser 1MiB masked mixed text", "copy"),
            1.5,
            False,
            "×",
        ),
    ]
    # decode_utf8 against bytes.decode, for each case the run measured: >= 3x
    # on non-ASCII text (1 KiB and up), never slower on ASCII and on tokens.
    for group in groups:
        if group.startswith("decode_utf8 "):
            case = group.removeprefix("decode_utf8 ")
            goal = 1.0 if case.startswith(("ascii", "tokens")) else 3.0
            found.append(Target(f"{group}: speedup over bytes.decode", speedup(group, "decode"), goal, True, "×"))
    return found


def report_targets(groups: Groups) -> str:
    """Render PASS / MISS (or n/a when not measured) for every target."""
    lines = ["## Issue targets", ""]
    for t in targets(groups):
        value = t.measure(groups)
        op = "≥" if t.at_least else "≤"
        if value is None:
            lines.append(f"- n/a   {t.text} (not measured; target {op} {t.goal:g}{t.unit})")
            continue
        ok = value >= t.goal if t.at_least else value <= t.goal
        # On a shared machine a few percent is noise: flag near misses as such.
        near = not ok and abs(value - t.goal) <= NEAR * t.goal
        note = f"; within {NEAR:.0%}, a tie" if near else ""
        lines.append(
            f"- {'PASS' if ok else 'MISS'}  {t.text}: {value:.2f}{t.unit} (target {op} {t.goal:g}{t.unit}{note})"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the tables and the target summary for one results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="file written by pytest --benchmark-json")
    args = parser.parse_args(argv)
    groups = load(args.results)
    if not groups:
        print(f"{args.results}: no benchmarks", file=sys.stderr)
        return 1
    for name, entries in groups.items():
        print(table(name, entries), end="\n\n")
    print(report_targets(groups))
    return 0


if __name__ == "__main__":
    sys.exit(main())
