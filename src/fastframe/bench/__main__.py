"""``python -m fastframe.bench`` (or ``fastframe-bench``): fastframe side by side with the peers.

Measures fastframe (compiled and pure) and every peer installed beside it on
the kernels (:mod:`.cases`) at sizes from 16 B to 1 MiB and on workload
streams (:mod:`.scenarios`), then prints a table; ``--json``, ``--plot`` and
``--compare`` save, draw and compare runs. ``--help`` lists the options.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Optional

from . import peers as registry, report
from .cases import KERNELS, QUICK_SIZES, SIZES, kernel_case
from .peers import Adapter, Fastframe
from .scenarios import SCENARIOS, scenario_case
from .timing import ORACLE, Case, Result, measure

#: ``--e2e`` is cut off after this many seconds.
E2E_SECONDS = 240.0


def parse_size(text: str) -> int:
    """``16``, ``4K``, ``1M`` (KiB and MiB) -> bytes."""
    text = text.strip().upper().removesuffix("IB").removesuffix("B")
    scale = {"K": 1 << 10, "M": 1 << 20}.get(text[-1:], 1)
    value = int(text[:-1] if scale > 1 else text) * scale
    if value <= 0:
        raise argparse.ArgumentTypeError(f"a size must be positive: {text!r}")
    return value


def selected(only: Optional[str]) -> tuple[list[str], list[str]]:
    """The kernels and scenarios ``--only`` picks (names, prefixes, ``kernels``, ``scenarios``)."""
    if not only:
        return list(KERNELS), list(SCENARIOS)
    kernels: list[str] = []
    scenarios: list[str] = []
    for word in (w.strip() for w in only.split(",") if w.strip()):
        if word == "kernels":
            kernels += KERNELS
        elif word == "scenarios":
            scenarios += SCENARIOS
        else:
            hits = [k for k in KERNELS if k.startswith(word)] + [s for s in SCENARIOS if s.startswith(word)]
            if not hits:
                raise SystemExit(f"--only: no kernel or scenario named {word!r}; see --list")
            kernels += [h for h in hits if h in KERNELS]
            scenarios += [h for h in hits if h in SCENARIOS]
    return list(dict.fromkeys(kernels)), list(dict.fromkeys(scenarios))


def arguments(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m fastframe.bench",
        description="Benchmark fastframe side by side with the WebSocket libraries installed beside it.",
        epilog="Cells show the time per operation (or messages/s), the throughput, and the time as a multiple "
        "of fastframe's (0.5× = twice as fast as fastframe). Install the peers with pip install 'fastframe[bench]'.",
    )
    parser.add_argument("--quick", action="store_true", help="fewer sizes, repeats and messages: about 20 s")
    parser.add_argument(
        "--only", metavar="NAMES", help="comma-separated kernels or scenarios (or prefixes); see --list"
    )
    parser.add_argument("--sizes", metavar="LIST", help="payload sizes for the kernels, e.g. 16,1K,1M")
    parser.add_argument(
        "--fastframe", metavar="BACKENDS", default="cython,python", help="fastframe backends to measure (cython,python)"
    )
    parser.add_argument("--peers", metavar="NAMES", help="measure only these peers (comma-separated; 'none': no peer)")
    parser.add_argument("--repeats", type=int, help="samples per implementation; the median is shown (7; quick 5)")
    parser.add_argument("--target", type=float, help="seconds per sample (0.01; quick 0.002)")
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="time samples with the process's CPU time (the default: a shared machine's waits left out) or wall time",
    )
    parser.add_argument("--json", metavar="PATH", help="write every sample and the machine to PATH ('-': stdout)")
    parser.add_argument("--plot", metavar="PATH", help="draw throughput against size (and the scenarios) into PATH.png")
    parser.add_argument("--compare", metavar="OLD", help="show the change against an earlier --json file")
    parser.add_argument("--markdown", metavar="PATH", help="write a one-row-per-case summary as a Markdown table")
    parser.add_argument("--e2e", action="store_true", help="also run bench/e2e.py --quick (loopback, from a checkout)")
    parser.add_argument("--plain", action="store_true", help="plain-text table and no progress bar, even with rich")
    parser.add_argument("--list", action="store_true", help="list the kernels, scenarios and peers, then exit")
    return parser.parse_args(argv)


def adapters_for(args: argparse.Namespace) -> tuple[list[Adapter], dict[str, dict[str, str]], set[str]]:
    """The implementations to run, what each is (version or why missing), and the names to time."""
    backends = [b.strip() for b in args.fastframe.split(",") if b.strip()]
    ours: list[Adapter] = [Fastframe(b) for b in ("cython", "python") if b in backends or f"fastframe-{b}" == ORACLE]
    peers: list[Adapter] = list(registry.PEERS)
    if args.peers:
        wanted = {p.strip() for p in args.peers.split(",")} - {"none"}
        unknown = wanted - {p.name for p in peers}
        if unknown:
            names = ", ".join(p.name for p in peers)
            raise SystemExit(f"--peers: no peer named {', '.join(sorted(unknown))}; the peers: {names}")
        peers = [p for p in peers if p.name in wanted]
    info: dict[str, dict[str, str]] = {}
    chosen: list[Adapter] = []
    for adapter in [*ours, *peers]:
        why = adapter.available()
        if why is None:
            chosen.append(adapter)
            info[adapter.name] = {"version": adapter.version()}
        else:
            info[adapter.name] = {"missing": why}
    timed = {a.name for a in chosen if not isinstance(a, Fastframe) or a.backend in backends}
    timed |= {f"{a.name}+fastframe" for a in chosen}
    return chosen, info, timed


@contextlib.contextmanager
def progress(total: int, enabled: bool) -> Iterator[Callable[[str], Callable[[], None]]]:
    """``step(description)`` -> a tick function; a rich progress bar on a terminal, nothing otherwise."""
    bar: Any = None
    if enabled and sys.stderr.isatty():
        try:
            from rich.console import Console
            from rich.progress import Progress
        except ImportError:
            pass
        else:
            bar = Progress(console=Console(stderr=True), transient=True)
    if bar is None:
        yield lambda _description: lambda: None
        return
    with bar:
        task = bar.add_task("measuring", total=total)

        def step(description: str) -> Callable[[], None]:
            bar.update(task, description=description)
            return lambda: bar.advance(task)

        yield step


def run_e2e(quick: bool) -> Optional[dict[str, Any]]:
    """Run ``bench/e2e.py`` from the current checkout, bounded by :data:`E2E_SECONDS`."""
    script = Path("bench/e2e.py")
    if not script.is_file():
        print("--e2e: bench/e2e.py not found: run from a fastframe checkout (it starts servers and clients)")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "e2e.json")
        command = [sys.executable, str(script), "--quick", "--json", out]
        print(f"--e2e: {' '.join(command[1:])} (at most {E2E_SECONDS:.0f} s)", flush=True)
        try:
            subprocess.run(command, timeout=E2E_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            print(f"--e2e: stopped after {E2E_SECONDS:.0f} s")
            return None
        try:
            with open(out, encoding="utf-8") as results:
                loaded: dict[str, Any] = json.load(results)
                return loaded
        except (OSError, ValueError) as exc:
            print(f"--e2e: no results ({exc})")
            return None


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the benchmark; the exit status is 1 if a fastframe implementation gave a wrong answer."""
    args = arguments(argv)
    adapters, info, timed_names = adapters_for(args)
    if args.list:
        print("kernels:", ", ".join(KERNELS))
        print("scenarios:", ", ".join(SCENARIOS))
        print("implementations:", ", ".join(f"{n} ({v.get('version') or 'missing'})" for n, v in info.items()))
        return 0
    if args.plot:
        # Fail before measuring, not after.
        from .plot import _pyplot

        try:
            _pyplot()
        except RuntimeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    kernels, scenarios = selected(args.only)
    sizes = [parse_size(s) for s in args.sizes.split(",")] if args.sizes else list(QUICK_SIZES if args.quick else SIZES)
    repeats = args.repeats or (5 if args.quick else 7)
    target = args.target or (0.002 if args.quick else 0.01)

    cases: list[Case] = [kernel_case(k, size, adapters) for k in kernels for size in sizes]
    cases += [scenario_case(s, adapters, quick=args.quick) for s in scenarios]
    for case in cases:
        for impl in case.impls:
            impl.timed = impl.name in timed_names or impl.name in ("copy", "bytes.decode")

    gc.collect()
    # What exists now is not the code under test's garbage (PyPy has no gc.freeze).
    freeze, unfreeze = getattr(gc, "freeze", None), getattr(gc, "unfreeze", None)
    if freeze is not None:
        freeze()
    results: list[Result] = []
    with progress(len(cases) * (repeats + 1), enabled=not args.plain) as step:
        for case in cases:
            tick = step(f"{case.name} {case.label}")
            results += measure(case, repeats=repeats, target=target, clock=args.clock, tick=tick)
    if unfreeze is not None:
        unfreeze()

    report.print_tables(report.tables(results), plain=args.plain)
    for line in report.problems(results):
        print(line)
    missing = [f"{name} ({v['missing']})" for name, v in info.items() if "missing" in v]
    if missing:
        print("not installed, skipped:", "; ".join(missing))
    for adapter in adapters:
        if adapter.note:
            print(f"{adapter.name}: {adapter.note}")
    load = report.machine()["load"]
    print(
        f"{report.cpu_model()}, {os.cpu_count()} cores, load {load}; kernels {report.machine()['kernels']}; "
        f"medians of {repeats} samples of ~{target * 1e3:g} ms ({args.clock} time), implementations interleaved"
    )

    settings = {
        "repeats": repeats,
        "target_seconds": target,
        "clock": args.clock,
        "sizes": sizes,
        "kernels": kernels,
        "scenarios": scenarios,
    }
    data = report.to_json(results, implementations=info, settings=settings, quick=args.quick)
    if args.e2e:
        data["e2e"] = run_e2e(args.quick)
    if args.compare:
        with open(args.compare, encoding="utf-8") as old_file:
            old = json.load(old_file)
        rows = report.compare(old, results)
        header = ["case", "implementation", "before", "now", "now ÷ before"]
        title = f"change against {args.compare} ({old.get('date', '?')}): below 1×, faster now"
        report.print_tables([(title, header, [list(r) for r in rows])], plain=args.plain)
        if not rows:
            print(f"--compare: no case of this run is in {args.compare}")
    if args.json:
        report.write_json(data, args.json)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as out:
            out.write(report.markdown(results) + "\n")
    if args.plot:
        from .plot import plot, plot_title

        plot(results, args.plot, title=plot_title(data))
        print(f"plot: {args.plot}")
    ours_wrong = [r for r in results if r.impl.startswith("fastframe") and r.status != "ok"]
    return 1 if ours_wrong else 0


if __name__ == "__main__":
    sys.exit(main())
