"""``python -m fastframe.bench``: the CLI in --quick mode on tiny sizes, on each backend.

The runs are in-process (``main(argv)``) with only fastframe's own
implementations (``--peers none``) plus the fake peers a test adds, so they
do not depend on which optional peers are installed.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import pytest

from fastframe.bench import __main__ as cli, peers
from support.encoder import mask as mask_payload

#: Tiny, fast runs: two sizes, two samples of 0.2 ms each.
TINY = ["--quick", "--plain", "--sizes", "16,64", "--repeats", "2", "--target", "0.0002"]
#: The keys the JSON file documents (fastframe.bench.report's docstring, the README).
TOP_KEYS = {"schema", "date", "quick", "command", "machine", "implementations", "settings", "results"}
MACHINE_KEYS = {"cpu", "cores", "load", "os", "python", "implementation", "fastframe", "kernels"}
RESULT_KEYS = {
    "group",
    "name",
    "case",
    "size",
    "bytes",
    "ops",
    "impl",
    "status",
    "detail",
    "samples_ns",
    "median_ns",
    "ns_per_op",
    "gb_per_s",
    "messages_per_s",
    "mb_per_s",
}
KEY = b"\x37\xfa\x21\x3d"  # the key the masking kernels use


def run(backend: Any, tmp_path: Path, *extra: str, only: str = "apply_mask,validate_utf8_ascii") -> dict[str, Any]:
    """Run the CLI on ``backend`` alone; return its JSON."""
    out = tmp_path / "run.json"
    argv = [*TINY, "--fastframe", backend.name, "--only", only, "--json", str(out), *extra]
    assert cli.main(argv) == 0
    data: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return data


def rows(data: dict[str, Any], impl: str) -> list[dict[str, Any]]:
    return [row for row in data["results"] if row["impl"] == impl]


def test_quick_json_has_the_documented_keys(backend: Any, tmp_path: Path) -> None:
    # Three samples: an odd count, so the median is one of them.
    data = run(backend, tmp_path, "--peers", "none", "--repeats", "3", only="apply_mask,parse_header,tokens")
    assert TOP_KEYS <= data.keys()
    assert MACHINE_KEYS <= data["machine"].keys()
    assert data["quick"] is True
    assert data["settings"]["sizes"] == [16, 64]
    ours = f"fastframe-{backend.name}"
    assert data["implementations"][ours]["version"] == data["machine"]["fastframe"]
    # Only the chosen backend is measured: the other one is (at most) the unlisted oracle.
    assert {row["impl"] for row in data["results"]} == {ours, "copy"}
    got = {(row["name"], row["size"]) for row in rows(data, ours)}
    assert {("apply_mask", 16), ("apply_mask", 64), ("parse_header", 16), ("parse_header", 64)} <= got
    assert any(name == "tokens" for name, _ in got)
    for row in data["results"]:
        assert RESULT_KEYS <= row.keys()
        assert row["status"] == "ok", row
        samples = row["samples_ns"]
        assert len(samples) == 3 and all(s > 0 for s in samples)
        assert row["median_ns"] == pytest.approx(statistics.median(samples))
        assert row["ns_per_op"] == pytest.approx(row["median_ns"] / row["ops"])
        if row["bytes"]:
            assert row["gb_per_s"] == pytest.approx(row["bytes"] / row["median_ns"])
        else:
            assert row["gb_per_s"] is None
    tokens = [row for row in data["results"] if row["name"] == "tokens" and row["impl"] == ours]
    assert tokens[0]["ops"] == 2000
    assert tokens[0]["messages_per_s"] == pytest.approx(2000 / (tokens[0]["median_ns"] * 1e-9))


def test_the_table_shows_each_case(backend: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(backend, tmp_path, "--peers", "none", only="apply_mask")
    out = capsys.readouterr().out
    assert "apply_mask: mask into a new buffer" in out
    line = next(line for line in out.splitlines() if line.startswith(f"fastframe-{backend.name}"))
    assert line.count("GB/s") == 2  # one cell per size
    copy = next(line for line in out.splitlines() if line.startswith("copy "))
    assert copy.count("×") == 2  # its time as a multiple of fastframe's, per size


def test_plot_writes_a_png_that_opens(backend: Any, tmp_path: Path) -> None:
    image = pytest.importorskip("matplotlib.image")
    png = tmp_path / "plot.png"
    run(backend, tmp_path, "--peers", "none", "--plot", str(png), only="apply_mask,parse_header,telemetry")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = image.imread(str(png))
    height, width = pixels.shape[:2]
    assert height > 100 and width > 100
    assert pixels.min() < pixels.max(), "the image is blank"
    # Drawn again from the saved run: the same figure.
    from fastframe.bench import plot

    again = tmp_path / "again.png"
    assert plot.main([str(tmp_path / "run.json"), str(again)]) == 0
    assert image.imread(str(again)).shape == pixels.shape


def test_plot_without_matplotlib_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    status = cli.main([*TINY, "--only", "apply_mask", "--plot", str(tmp_path / "x.png")])
    assert status == 2
    assert "matplotlib" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_the_table_works_without_rich(
    backend: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    monkeypatch.setitem(sys.modules, "rich.console", None)
    argv = [*TINY[:-7], "--sizes", "16", "--repeats", "2", "--target", "0.0002"]
    assert cli.main([*argv, "--fastframe", backend.name, "--peers", "none", "--only", "apply_mask"]) == 0
    assert f"fastframe-{backend.name}" in capsys.readouterr().out


class Absent(peers.Adapter):
    """A peer that is not installed."""

    name = "absent-peer"
    module = distribution = "fastframe_no_such_module_anywhere"

    def apply_mask(self) -> Optional[Callable[[bytes], Any]]:
        raise AssertionError("never asked: it is not installed")


def test_absent_peers_are_skipped_and_named(
    backend: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(peers, "PEERS", [Absent()])
    data = run(backend, tmp_path, only="apply_mask")
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("not installed"))
    assert "absent-peer" in line and "fastframe_no_such_module_anywhere" in line
    assert "fastframe_no_such_module_anywhere" in data["implementations"]["absent-peer"]["missing"]
    assert not rows(data, "absent-peer")


class Honest(peers.Adapter):
    """A correct masker written here from RFC 6455 §5.3 (and a validator that decodes)."""

    name = "honest-peer"
    module = "json"

    def apply_mask(self) -> Optional[Callable[[bytes], Any]]:
        return lambda data: mask_payload(data, KEY)

    def validate_utf8(self) -> Optional[Callable[[bytes], bool]]:
        def valid(data: bytes) -> bool:
            try:
                data.decode()
            except UnicodeDecodeError:
                return False
            return True

        return valid


class Wrong(peers.Adapter):
    """A masker off by one bit in its last byte, and a validator that accepts everything."""

    name = "wrong-peer"
    module = "json"

    def __init__(self) -> None:
        self.calls = 0

    def apply_mask(self) -> Optional[Callable[[bytes], Any]]:
        def wrong(data: bytes) -> bytes:
            self.calls += 1
            masked = bytearray(mask_payload(data, KEY))
            masked[-1] ^= 1
            return bytes(masked)

        return wrong

    def validate_utf8(self) -> Optional[Callable[[bytes], bool]]:
        return lambda data: True


def test_a_wrong_implementation_is_flagged_and_not_timed(
    backend: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    wrong = Wrong()
    monkeypatch.setattr(peers, "PEERS", [Honest(), wrong])
    data = run(backend, tmp_path)
    out = capsys.readouterr().out
    # Checked once per case (2 sizes), never timed.
    assert wrong.calls == 2
    for row in rows(data, "wrong-peer"):
        assert row["status"] == "wrong" and row["samples_ns"] == [] and row["median_ns"] is None
        assert "expected" in row["detail"]
    assert {row["name"] for row in rows(data, "wrong-peer")} == {"apply_mask", "validate_utf8_ascii"}
    # The validator is caught on the invalid inputs it is also checked on.
    validator = next(row for row in rows(data, "wrong-peer") if row["name"] == "validate_utf8_ascii")
    assert "the input b'ok \\xe2\\x82'" in validator["detail"]
    assert all(row["status"] == "ok" and len(row["samples_ns"]) == 2 for row in rows(data, "honest-peer"))
    assert "WRONG (not timed)" in out
    assert "wrong-peer on apply_mask 16 B: WRONG, not timed" in out


def test_fastframe_itself_wrong_fails_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The pure twin is the oracle, so only the compiled backend can be caught wrong.
    pytest.importorskip("fastframe._utf8", reason="no compiled backend")
    honest = peers.Fastframe.validate_utf8

    def accepts_anything(self: peers.Fastframe) -> Optional[Callable[[bytes], bool]]:
        return (lambda data: True) if self.backend == "cython" else honest(self)

    monkeypatch.setattr(peers.Fastframe, "validate_utf8", accepts_anything)
    argv = [*TINY, "--fastframe", "cython", "--peers", "none", "--only", "validate_utf8_mixed"]
    assert cli.main(argv) == 1
    assert "fastframe-cython on validate_utf8_mixed 16 B: WRONG" in capsys.readouterr().out


def test_compare_prints_the_ratios(backend: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = run(backend, tmp_path, "--peers", "none", only="apply_mask")
    # An earlier run four times as slow: every ratio now is about 0.25.
    for row in old["results"]:
        row["median_ns"] *= 4
    old_path = tmp_path / "old.json"
    old_path.write_text(json.dumps(old), encoding="utf-8")
    capsys.readouterr()
    new = run(backend, tmp_path, "--peers", "none", "--compare", str(old_path), only="apply_mask")
    out = capsys.readouterr().out
    assert f"change against {old_path}" in out
    before = {(row["size"], row["impl"]): row["median_ns"] for row in old["results"]}
    for row in new["results"]:
        ratio = row["median_ns"] / before[(row["size"], row["impl"])]
        line = next(
            line
            for line in out.splitlines()
            if line.startswith(f"apply_mask {row['case']} ") and f" {row['impl']} " in line
        )
        shown = float(line.split()[-1].rstrip("×"))
        # Two decimals below 10×, whole numbers above.
        assert abs(shown - ratio) <= max(0.006, 0.05 * ratio), line


def test_compare_with_nothing_in_common(backend: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old_path = tmp_path / "old.json"
    old_path.write_text(json.dumps({"results": []}), encoding="utf-8")
    run(backend, tmp_path, "--peers", "none", "--compare", str(old_path), only="apply_mask")
    assert "no case of this run is in" in capsys.readouterr().out


def test_only_rejects_an_unknown_name() -> None:
    with pytest.raises(SystemExit, match="no_such_kernel"):
        cli.main([*TINY, "--only", "no_such_kernel"])


def test_markdown_summary_has_a_row_per_case(backend: Any, tmp_path: Path) -> None:
    md = tmp_path / "speed.md"
    data = run(backend, tmp_path, "--peers", "none", "--clock", "wall", "--markdown", str(md), only="apply_mask")
    assert data["settings"]["clock"] == "wall"
    lines = md.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("| case | fastframe |")
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| apply_mask 16 B", "| apply_mask 64 B"]
    ours = {row["size"]: row for row in rows(data, f"fastframe-{backend.name}")}
    assert f"({ours[64]['gb_per_s']:.3g} GB/s)" in lines[3]


def test_peers_rejects_an_unknown_name() -> None:
    with pytest.raises(SystemExit, match="no peer named no_such_peer"):
        cli.main([*TINY, "--peers", "websockets,no_such_peer"])
