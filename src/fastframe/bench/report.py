"""Output: the terminal table, the JSON file, and the comparison with an earlier run.

The JSON file (``--json PATH``) holds:

``schema``
    ``1``: bumped when a key changes meaning.
``date``, ``quick``, ``command``
    When (UTC, ISO 8601), whether ``--quick``, and the command line.
``machine``
    ``cpu`` (model), ``cores``, ``load`` (1-, 5- and 15-minute load averages
    at the start), ``os``, ``python``, ``implementation``, ``fastframe``
    (version), ``kernels`` (the SIMD kernels the compiled backend chose, or
    ``"python"``).
``implementations``
    Name -> ``{"version": ...}`` for each one measured, or
    ``{"missing": reason}`` for each peer that is not installed.
``settings``
    ``repeats``, ``target_seconds`` (one sample's length), ``clock`` (``cpu``
    or ``wall``), ``sizes``, ``kernels``, ``scenarios``.
``results``
    One object per implementation and case: ``group`` (``kernel`` or
    ``scenario``), ``name``, ``case`` (its label), ``size``, ``bytes`` and
    ``ops`` (payload bytes and messages or frames per call), ``impl``,
    ``status`` (``ok``, ``wrong`` or ``error``: only ``ok`` is timed),
    ``detail``, ``samples_ns`` (every sample: ns per call), ``median_ns``
    (per call), ``ns_per_op``, ``gb_per_s``, ``messages_per_s``, ``mb_per_s``
    (``null`` when not timed or not meaningful).
``e2e``
    With ``--e2e`` only: what ``bench/e2e.py --json`` wrote (``null`` if it
    did not finish in time).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from collections.abc import Iterable, Sequence
from typing import Any, Optional

from .timing import REFERENCES, Case, Result

SCHEMA = 1
#: Implementations that are fastframe, the reference of the ratios.
FASTFRAME = ("fastframe-cython", "fastframe-python")


def cpu_model() -> str:
    """The CPU's model name, as the OS reports it."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith(("model name", "Model", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """What the figures depend on: CPU, load, OS, Python, fastframe's kernels."""
    import fastframe

    try:
        load: Optional[list[float]] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load": load,
        "os": platform.platform(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "fastframe": fastframe.__version__,
        "backend": fastframe.BACKEND,
        "kernels": dict(fastframe.KERNELS),
    }


def figures(result: Result) -> dict[str, Optional[float]]:
    """``ns_per_op``, ``gb_per_s``, ``messages_per_s``, ``mb_per_s`` of a timed result (else ``None``)."""
    median, case = result.median, result.case
    if median is None or median <= 0:
        return dict.fromkeys(("ns_per_op", "gb_per_s", "messages_per_s", "mb_per_s"))
    return {
        "ns_per_op": median * 1e9 / case.ops,
        "gb_per_s": case.nbytes / median / 1e9 if case.nbytes else None,
        "messages_per_s": case.ops / median,
        "mb_per_s": case.nbytes / median / 1e6 if case.nbytes else None,
    }


def to_json(
    results: Sequence[Result],
    *,
    implementations: dict[str, dict[str, str]],
    settings: dict[str, Any],
    quick: bool,
) -> dict[str, Any]:
    """The whole run as a JSON-ready dict (the keys are documented in this module's docstring)."""
    rows = []
    for r in results:
        c = r.case
        rows.append(
            {
                "group": c.group,
                "name": c.name,
                "case": c.label,
                "size": c.size,
                "bytes": c.nbytes,
                "ops": c.ops,
                "impl": r.impl,
                "status": r.status,
                "detail": r.detail,
                "samples_ns": [s * 1e9 for s in r.samples],
                "median_ns": None if r.median is None else r.median * 1e9,
                **figures(r),
            }
        )
    return {
        "schema": SCHEMA,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": quick,
        "command": " ".join(["python -m fastframe.bench", *sys.argv[1:]]),
        "machine": machine(),
        "implementations": implementations,
        "settings": settings,
        "results": rows,
    }


# --- formatting ---------------------------------------------------------------


def fmt_time(ns: float) -> str:
    """``57 ns``, ``1.23 µs``, ``22.5 ms``: three significant digits."""
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def fmt_rate(value: float, unit: str) -> str:
    """``1.2k msg/s``, ``3.4M msg/s``, ``12.3 GB/s``."""
    for prefix, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g}{prefix} {unit}"
    return f"{value:.3g} {unit}"


def fmt_mbps(value: float) -> str:
    """``28.8 MB/s``, ``6,360 MB/s``."""
    return f"{value:,.0f} MB/s" if value >= 1000 else f"{value:.3g} MB/s"


def fmt_ratio(ratio: float) -> str:
    """A time ratio: ``3.2×`` (slower), ``0.85×`` (faster)."""
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.0f}×"


def _is_peer(name: str) -> bool:
    return name not in FASTFRAME and name not in REFERENCES and "+fastframe" not in name


def _reference(by_impl: dict[str, Result]) -> Optional[Result]:
    for name in FASTFRAME:
        if name in by_impl and by_impl[name].median is not None:
            return by_impl[name]
    return None


def _best_peer(by_impl: dict[str, Result]) -> Optional[Result]:
    timed = [r for name, r in by_impl.items() if _is_peer(name) and r.median is not None]
    return min(timed, key=lambda r: r.median or 0.0, default=None)


def _cell(result: Result, fastframe: Optional[Result], scenario: bool) -> str:
    if result.status != "ok":
        return "WRONG (not timed)" if result.status == "wrong" else "error (not timed)"
    median = result.median
    if median is None:
        return "-"
    f = figures(result)
    if scenario:
        first = fmt_rate(f["messages_per_s"] or 0.0, "msg/s")
        second = fmt_mbps(f["mb_per_s"] or 0.0)
    else:
        first = fmt_time(f["ns_per_op"] or 0.0)
        second = f"{f['gb_per_s']:.3g} GB/s" if f["gb_per_s"] is not None else ""
    if fastframe is not None and fastframe is not result and fastframe.median:
        second = f"{second} {fmt_ratio(median / fastframe.median)}".strip()
    return f"{first}\n{second}" if second else first


def tables(results: Sequence[Result]) -> list[tuple[str, list[str], list[list[str]]]]:
    """The results as ``(title, header, rows)`` grids: one per kernel, one for the scenarios.

    Rows are implementations, columns the sizes (or scenarios); a cell is the
    time per operation (or messages/s), the throughput, and the time as a
    multiple of fastframe's (``0.5×``: twice as fast as fastframe). The last
    rows compare fastframe with the best peer and with the copy reference.
    """
    grids = []
    groups: dict[str, list[Result]] = {}
    for r in results:
        key = "scenarios" if r.case.group == "scenario" else r.case.name
        groups.setdefault(key, []).append(r)
    for key, members in groups.items():
        scenario = key == "scenarios"
        columns: list[str] = []
        cells: dict[tuple[str, str], Result] = {}
        impls: list[str] = []
        for r in members:
            column = f"{r.case.name}\n{r.case.label}" if scenario else r.case.label
            if column not in columns:
                columns.append(column)
            if r.impl not in impls:
                impls.append(r.impl)
            cells[(r.impl, column)] = r
        rows = []
        for impl in impls:
            row = [impl]
            for column in columns:
                by_impl = {name: cells[(name, column)] for name in impls if (name, column) in cells}
                here = cells.get((impl, column))
                row.append("" if here is None else _cell(here, _reference(by_impl), scenario))
            rows.append(row)
        best_row, copy_row = ["fastframe vs best peer"], ["fastframe, % of copy speed"]
        for column in columns:
            by_impl = {name: cells[(name, column)] for name in impls if (name, column) in cells}
            ours, best, copy = _reference(by_impl), _best_peer(by_impl), by_impl.get("copy")
            if ours is not None and ours.median and best is not None and best.median:
                ratio = best.median / ours.median
                if ratio >= 1:
                    best_row.append(f"{ratio:.3g}× faster\nthan {best.impl}")
                else:
                    best_row.append(f"{best.impl}\n{1 / ratio:.3g}× faster")
            else:
                best_row.append("")
            if ours is not None and ours.median and copy is not None and copy.median and members[0].case.nbytes:
                copy_row.append(f"{copy.median / ours.median:.0%}")
            else:
                copy_row.append("")
        rows += [best_row, copy_row]
        description = members[0].case.description
        title = "scenarios: messages received per second" if scenario else f"{key}: {description}"
        grids.append((title, ["implementation", *columns], rows))
    return grids


def problems(results: Iterable[Result]) -> list[str]:
    """One line per implementation that was flagged instead of timed."""
    return [
        f"{r.impl} on {r.case.name} {r.case.label}: {r.status.upper()}, not timed ({r.detail})"
        for r in results
        if r.status != "ok"
    ]


def render_plain(title: str, header: list[str], rows: list[list[str]]) -> str:
    """A grid as aligned plain text (no rich): multi-line cells on one line."""
    flat = [[cell.replace("\n", " ") for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in flat) for i in range(len(header))]
    lines = [title]
    for n, row in enumerate(flat):
        lines.append(
            "  ".join(
                cell.ljust(width) if i == 0 else cell.rjust(width) for i, (cell, width) in enumerate(zip(row, widths))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def print_tables(grids: Sequence[tuple[str, list[str], list[list[str]]]], *, plain: bool = False) -> None:
    """Print the grids: rich tables when rich is installed (and wanted), plain text otherwise."""
    console = None
    if not plain:
        try:
            from rich.console import Console
            from rich.table import Table
        except ImportError:
            pass
        else:
            console = Console()
    for title, header, rows in grids:
        if console is None:
            print(render_plain(title, header, rows) + "\n")
            continue
        table = Table(title=title, title_justify="left")
        for i, name in enumerate(header):
            table.add_column(name, justify="left" if i == 0 else "right")
        for n, row in enumerate(rows):
            table.add_row(*row, end_section=n == len(rows) - 3)
        console.print(table)


def compare(old: dict[str, Any], results: Sequence[Result]) -> list[tuple[str, str, str, str, str]]:
    """Rows ``(case, impl, before, now, change)`` for every result timed in both runs.

    ``change`` is the time now divided by the time before: below 1, faster now.
    """
    before = {
        (row["group"], row["name"], row["size"], row["impl"]): row["median_ns"]
        for row in old.get("results", [])
        if row.get("median_ns")
    }
    rows = []
    for r in results:
        key = (r.case.group, r.case.name, r.case.size, r.impl)
        if r.median is None or key not in before:
            continue
        then, now = float(before[key]), r.median * 1e9
        ops = r.case.ops
        rows.append(
            (f"{r.case.name} {r.case.label}", r.impl, fmt_time(then / ops), fmt_time(now / ops), fmt_ratio(now / then))
        )
    return rows


def write_json(data: dict[str, Any], path: str) -> None:
    """Write the run to ``path`` (``-``: standard output)."""
    text = json.dumps(data, indent=1, ensure_ascii=False)
    if path == "-":
        print(text)
        return
    with open(path, "w", encoding="utf-8") as out:
        out.write(text + "\n")


def markdown(results: Sequence[Result]) -> str:
    """A summary as a Markdown table (one row per case), as the README shows it.

    Columns: the case, fastframe's time per operation and throughput, every
    other implementation's time as a multiple of fastframe's (the best peer
    first), and fastframe's throughput as a share of the copy reference's.
    """
    cases: dict[tuple[str, str], dict[str, Result]] = {}
    for r in results:
        cases.setdefault((r.case.name, r.case.label), {})[r.impl] = r
    lines = [
        "| case | fastframe | the others (time ÷ fastframe's) | % of copy speed |",
        "|---|---:|---|---:|",
    ]
    for (name, label), by_impl in cases.items():
        ours = _reference(by_impl)
        if ours is None or not ours.median:
            continue
        f = figures(ours)
        scenario = ours.case.group == "scenario"
        if scenario:
            here = f"{fmt_rate(f['messages_per_s'] or 0.0, 'msg/s')}, {fmt_mbps(f['mb_per_s'] or 0.0)}"
        else:
            here = fmt_time(f["ns_per_op"] or 0.0)
            if f["gb_per_s"] is not None:
                here += f" ({f['gb_per_s']:.3g} GB/s)"
        others = sorted(
            (r for n, r in by_impl.items() if r is not ours and n != "copy" and r.median),
            key=lambda r: (not _is_peer(r.impl), r.median or 0.0),
        )
        shown = ", ".join(f"{r.impl} {fmt_ratio((r.median or 0.0) / ours.median)}" for r in others)
        flagged = [n for n, r in by_impl.items() if r.status != "ok"]
        if flagged:
            shown += "; " + ", ".join(f"{n} wrong, not timed" for n in flagged)
        copy = by_impl.get("copy")
        share = f"{copy.median / ours.median:.0%}" if copy and copy.median and ours.case.nbytes else ""
        per = " per frame" if ours.case.ops > 1 and not scenario else ""
        lines.append(f"| {name} {label}{per} | {here} | {shown} | {share} |")
    return "\n".join(lines)


def from_json(data: dict[str, Any]) -> list[Result]:
    """The results of a saved run (``--json``), to draw or print again."""
    cases: dict[tuple[str, str, str], Case] = {}
    results = []
    for row in data["results"]:
        key = (row["group"], row["name"], row["case"])
        if key not in cases:
            cases[key] = Case(row["group"], row["name"], row["case"], row["size"], row["bytes"], row["ops"], [])
        samples = [ns * 1e-9 for ns in row["samples_ns"]]
        results.append(Result(cases[key], row["impl"], row["status"], row["detail"], samples))
    return results
