"""The figure (``--plot PATH.png``): throughput against size per kernel, and the scenarios as bars.

One panel per kernel, log–log: payload size on x, throughput on y (GB/s;
headers per second for ``parse_header``), one line per implementation, the
copy reference dashed. One more panel: each scenario's throughput (MB/s, log
scale) per implementation, as grouped bars. Colours follow the
implementation across panels.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import Any, Optional

from .cases import size_label
from .report import figures, from_json
from .timing import Result


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise PlotUnavailable(
            f"--plot needs matplotlib ({exc}): pip install matplotlib, or 'fastframe[bench]'"
        ) from exc
    return plt


def plot(results: Sequence[Result], path: str, *, title: str) -> None:
    """Draw ``results`` into the PNG file ``path``.

    Raises:
        PlotUnavailable: matplotlib is not installed.
    """
    plt = _pyplot()
    timed = [r for r in results if r.median is not None]
    kernels: dict[str, list[Result]] = {}
    scenarios: list[Result] = []
    for r in timed:
        if r.case.group == "scenario":
            scenarios.append(r)
        else:
            kernels.setdefault(r.case.name, []).append(r)
    panels = len(kernels) + (1 if scenarios else 0)
    if panels == 0:
        raise ValueError("nothing was timed: no figure to draw")
    columns = min(4, panels)
    rows = math.ceil(panels / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(4.0 * columns, 3.1 * rows), squeeze=False)
    names = list(dict.fromkeys(r.impl for r in timed if r.impl != "copy"))
    palette = plt.get_cmap("tab20").colors
    colour = {name: palette[i % len(palette)] for i, name in enumerate(names)}
    colour["copy"] = "black"
    flat = [ax for row in axes for ax in row]
    for ax, (kernel, members) in zip(flat, kernels.items()):
        per_second = all(r.case.nbytes == 0 for r in members)
        for impl in dict.fromkeys(r.impl for r in members):
            points = sorted((r.case.size, r) for r in members if r.impl == impl)
            xs = [size for size, _ in points]
            ys = [
                (figures(r)["messages_per_s"] or 0.0) / 1e6 if per_second else figures(r)["gb_per_s"] or 0.0
                for _, r in points
            ]
            style = {"linestyle": "--", "linewidth": 1.5} if impl == "copy" else {"marker": "o", "markersize": 3}
            ax.plot(xs, ys, label=impl, color=colour[impl], **style)
        ax.set_xscale("log", base=2)
        sizes = sorted({r.case.size for r in members})
        ax.set_xticks(sizes, [size_label(size) for size in sizes])
        ax.minorticks_off()
        ax.set_yscale("log")
        ax.set_title(kernel, fontsize=9)
        ax.set_xlabel("payload bytes", fontsize=7)
        ax.set_ylabel("M headers/s" if per_second else "GB/s", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.grid(True, which="major", alpha=0.3)
    if scenarios:
        ax = flat[len(kernels)]
        cases = list(dict.fromkeys(r.case.name for r in scenarios))
        impls = list(dict.fromkeys(r.impl for r in scenarios))
        width = 0.8 / len(impls)
        for i, impl in enumerate(impls):
            got = {r.case.name: (figures(r)["mb_per_s"] or 0.0) for r in scenarios if r.impl == impl}
            bars: list[float] = [n + i * width for n, case in enumerate(cases) if case in got]
            ys = [got[case] for case in cases if case in got]
            bar_style = {"hatch": "//", "fill": False} if impl == "copy" else {}
            ax.bar(bars, ys, width, label=impl, color=colour[impl], edgecolor=colour[impl], **bar_style)
        ax.set_xticks([n + 0.4 - width / 2 for n in range(len(cases))], cases, fontsize=7)
        ax.set_yscale("log")
        ax.set_ylabel("MB/s received", fontsize=7)
        ax.set_title("scenarios (messages received)", fontsize=9)
        ax.tick_params(labelsize=6)
        if len(flat) > panels:
            # A spare panel holds the legend, clear of the bars.
            flat[panels].legend(*ax.get_legend_handles_labels(), loc="center left", fontsize=7, title="scenarios")
        else:
            ax.legend(fontsize=5, ncol=2)
    for ax in flat[panels:]:
        ax.axis("off")
    handles, labels = [], []
    for ax in flat[: len(kernels)]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=7, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.07, 1, 0.96))
    fig.savefig(path, dpi=72)
    plt.close(fig)
    _shrink(path)


def _shrink(path: str) -> None:
    """Re-save the PNG with a 64-colour palette: a third of the size, small enough to commit."""
    try:
        from PIL import Image  # matplotlib's own dependency
    except ImportError:
        return
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=64)
    small.save(path, optimize=True)


def plot_title(data: dict[str, Any]) -> str:
    """The figure's title: what was measured, on which machine, when."""
    m = data["machine"]
    load = f", load {m['load'][0]:g}" if m.get("load") else ""
    return f"fastframe {m['fastframe']} vs peers — {m['cpu']}, {m['cores']} cores{load}, {data['date'][:10]}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m fastframe.bench.plot RUN.json OUT.png``: draw a saved run again."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m fastframe.bench.plot RUN.json OUT.png", file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as saved:
        data = json.load(saved)
    plot(from_json(data), args[1], title=plot_title(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
