"""Run a library's own test suite unpatched and patched, and list what differs.

``python -m fastframe.testing.peer wsproto [pytest args]``:

1. downloads the installed version's sdist from PyPI
   (``pip download --no-deps --no-binary :all: <dist>==<version>``) into a
   cache outside the repository (``FASTFRAME_PEER_CACHE``, else
   ``$XDG_CACHE_HOME/fastframe/peers``), and extracts it there: the peer's
   tests are fetched at test time, never vendored;
2. installs the suite's test requirements (from :data:`PEERS`) into the
   current environment, where missing;
3. runs the suite's test paths twice with pytest, from the extracted sdist
   (the tests import the *installed* library): unpatched, then patched through
   :mod:`fastframe.testing.plugin`; both runs load the plugin, which reports
   what was patched, so a patched run that did not patch (or an unpatched run
   that did) is caught;
4. reads each run's per-test outcomes from its JUnit XML, prints the counts
   of both runs and every test whose outcome differs.

The exit status is 0 when every test has the same outcome in both runs and
the patched run really was patched, 1 when outcomes differ, 2 when a run went
wrong (no tests, the patch not applied, pytest's usage errors).

Each library's configuration is one entry of :data:`PEERS`.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

# Not from .plugin, which imports pytest: pytest may be a requirement this runner installs.
from . import PATCH_ENV, REPORT_ENV

__all__ = [
    "PEERS",
    "Peer",
    "Run",
    "cache_dir",
    "count",
    "differences",
    "fetch_sdist",
    "install_requirements",
    "main",
    "parse_junit",
    "run_suite",
]


@dataclasses.dataclass(frozen=True)
class Peer:
    """How to run one library's own test suite.

    Args:
        distribution: the library's name on PyPI (whose installed version is fetched).
        tests: test paths inside the extracted sdist (those a release lacks are left out).
        requirements: what the suite needs besides the library, as pip requirements.
        deselect: pytest node ids left out of both runs, each with the reason.
            Ideally empty: every entry is a test the patch is not proven against.
        args: pytest arguments for both runs.
        sdist_has_tests: False if the sdist ships no tests: the runner then
            needs ``--source``, a copy of the library's repository at the
            release's tag (read-only; never vendored).
        hide: top-level directories of the sdist to move aside, so that the
            tests import the installed library (compiled) and not its source tree.
        installed_tests: the tests are modules of the installed package (its
            wheel ships them): ``tests`` are module names, run with
            ``--pyargs`` from an empty directory, and no sdist is downloaded.
        conftest: with ``installed_tests``, the ``conftest.py`` written into
            that directory for both runs: what the library's own test runner
            sets up before its tests (never a change to a test).
        env: environment variables both runs set (a suite that picks its
            framework from the environment).
    """

    distribution: str
    tests: tuple[str, ...]
    requirements: tuple[str, ...] = ()
    deselect: Mapping[str, str] = dataclasses.field(default_factory=dict)
    args: tuple[str, ...] = ()
    sdist_has_tests: bool = True
    hide: tuple[str, ...] = ()
    installed_tests: bool = False
    conftest: str = ""
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)


#: Every library whose suite this runner knows, by the name fastframe.patch() takes.
PEERS: dict[str, Peer] = {
    # wsproto's sdist ships its tests (in test/ up to 1.2.0, tests/ since 1.3.0); they
    # need pytest (and h11, wsproto's own dependency).
    "wsproto": Peer("wsproto", tests=("tests", "test"), requirements=("pytest",)),
    # websockets' sdist has no tests: --source points at a copy of its repository
    # (git archive <tag> tests). The modules that cover framing, masking, the
    # sans-I/O protocol, its client and server, extensions, and the asyncio,
    # threading, trio and legacy implementations; not the proxy tests (they
    # need mitmproxy and python-socks). Its tests are timing-based: on a busy
    # machine set WEBSOCKETS_TESTS_TIMEOUT_FACTOR; --timeout stops a hung test.
    "websockets": Peer(
        "websockets",
        tests=(
            "tests/test_frames.py",
            "tests/test_streams.py",
            "tests/test_protocol.py",
            "tests/test_client.py",
            "tests/test_server.py",
            "tests/test_connection.py",
            "tests/test_utils.py",
            "tests/test_exceptions.py",
            "tests/extensions",
            "tests/asyncio",
            "tests/sync",
            "tests/trio",
            "tests/legacy",
        ),
        requirements=("pytest", "trio", "pytest-timeout"),
        # Without hypothesis' plugin, which its suite does not use.
        args=("--timeout=120", "-p", "no:hypothesispytest"),
        sdist_has_tests=False,
    ),
    # aiohttp's sdist ships tests/; these modules cover its WebSocket reader,
    # writer, queue, handshake, client and server.  Its pytest.ini addopts
    # want xdist and pytest-cov: replaced by the marker selection it sets
    # there.  Its filterwarnings name coverage's warning class, and its
    # timeout option is pytest-timeout's.
    "aiohttp": Peer(
        "aiohttp",
        tests=(
            "tests/test_websocket_parser.py",
            "tests/test_websocket_writer.py",
            "tests/test_websocket_data_queue.py",
            "tests/test_websocket_handshake.py",
            "tests/test_web_websocket.py",
            "tests/test_web_websocket_functional.py",
            "tests/test_client_ws.py",
            "tests/test_client_ws_functional.py",
        ),
        requirements=("pytest", "pytest-mock", "pytest-timeout", "freezegun", "coverage"),
        args=("-o", "addopts=", "-m", "not dev_mode and not autobahn and not internal"),
        hide=("aiohttp",),
    ),
    # tornado's wheel ships its tests (tornado.test), which import the installed,
    # compiled tornado: its sdist's source tree has no built speedups.  Its
    # WebSocket tests cover framing, masking (Python and C), compression,
    # limits and the client and server; util_test covers tornado.util.  Its
    # own runner (tornado.test.runtests) silences the access log, which its
    # tests' log checks expect.
    "tornado": Peer(
        "tornado",
        tests=("tornado.test.websocket_test", "tornado.test.util_test"),
        requirements=("pytest",),
        installed_tests=True,
        conftest='import logging\nlogging.getLogger("tornado.access").setLevel(logging.CRITICAL)\n',
    ),
    # websocket-client's sdist ships its tests inside the package
    # (websocket/tests), run from the sdist's root (the same pure-Python
    # release as the installed one).  Its tests that need a network or a
    # local echo server skip without them (TEST_WITH_INTERNET, LOCAL_WS_SERVER_PORT).
    "websocket": Peer("websocket-client", tests=("websocket/tests",), requirements=("pytest",)),
    # autobahn's sdist ships its tests inside the package (src/autobahn/*/test).
    # Its WebSocket protocol and frame tests run on Twisted when USE_TWISTED is
    # set; the NVX validator's tests check autobahn.websocket.utf8validator's
    # Utf8Validator (patched) against the Autobahn UTF-8 vectors.  The importlib
    # import mode leaves src/ off sys.path: the tests import the installed autobahn.
    "autobahn": Peer(
        "autobahn",
        tests=(
            "src/autobahn/websocket/test",
            "src/autobahn/nvx/test/test_nvx_utf8validator.py",
            "src/autobahn/twisted/test/test_tx_protocol.py",
            "src/autobahn/twisted/test/test_tx_websocket_agent.py",
        ),
        requirements=("pytest", "twisted"),
        args=("--import-mode=importlib",),
        env={"USE_TWISTED": "1"},
    ),
    # ws4py's sdist ships test/; every module but test_cherrypy.py (CherryPy's
    # server plugin, no framing): frames, masking, the stream and its UTF-8
    # checks, the websocket, client and manager.
    "ws4py": Peer(
        "ws4py",
        tests=(
            "test/test_frame.py",
            "test/test_stream.py",
            "test/test_websocket.py",
            "test/test_client.py",
            "test/test_messaging.py",
            "test/test_manager.py",
            "test/test_utils.py",
            "test/test_logger.py",
        ),
        requirements=("pytest",),
        hide=("ws4py",),
    ),
}

#: pytest's JUnit ``<skipped type=...>`` for an expected failure.
_XFAIL_TYPE = "pytest.xfail"
#: The worst outcome wins when a test has several entries (a call that passed, a teardown that failed).
_SEVERITY = {"passed": 0, "skipped": 1, "xfailed": 1, "failed": 2, "error": 3}


def cache_dir() -> Path:
    """Where sdists are downloaded and extracted: outside any checkout, reused across runs."""
    configured = os.environ.get("FASTFRAME_PEER_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fastframe" / "peers"


def _safe_extract(archive: Path, destination: Path) -> None:
    # An sdist is untrusted input: no member may land outside the destination.
    # Links and devices are left out (autobahn's sdist links documentation
    # files to files it does not ship); a test suite needs neither.
    with tarfile.open(archive) as tar:
        root = destination.resolve()
        members = []
        for member in tar.getmembers():
            target = (destination / member.name).resolve()
            if root != target and root not in target.parents:
                raise RuntimeError(f"{archive.name}: {member.name!r} points outside the archive")
            if member.isfile() or member.isdir():
                members.append(member)
        if sys.version_info >= (3, 12):
            tar.extractall(destination, members=members, filter="data")
        else:
            tar.extractall(destination, members=members)  # the members were checked above


def fetch_sdist(distribution: str, version: str, cache: Path) -> Path:
    """Download and extract ``distribution==version``'s sdist, once; return its root directory."""
    root = cache / f"{distribution}-{version}"
    if (root / ".complete").exists():
        return root / "source"
    downloads = cache / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
    subprocess.run([*command, "--dest", str(downloads), f"{distribution}=={version}"], check=True)
    # sdist file names normalize the project name (PEP 625): typing_extensions-4.15.0.tar.gz.
    wanted = _normalized(distribution)
    suffix = f"-{version}.tar.gz"
    archives = [path for path in downloads.glob(f"*{suffix}") if _normalized(path.name[: -len(suffix)]) == wanted]
    if len(archives) != 1:
        raise RuntimeError(f"expected one sdist of {distribution} {version} in {downloads}, found {archives}")
    shutil.rmtree(root, ignore_errors=True)
    unpacked = root / "unpacked"
    unpacked.mkdir(parents=True)
    _safe_extract(archives[0], unpacked)
    (top,) = list(unpacked.iterdir())
    top.rename(root / "source")
    unpacked.rmdir()
    (root / ".complete").touch()
    return root / "source"


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return match.group()


def install_requirements(requirements: Sequence[str]) -> list[str]:
    """pip-install the requirements whose distribution is missing here; return those installed."""
    missing = []
    for requirement in requirements:
        try:
            importlib.metadata.version(_requirement_name(requirement))
        except importlib.metadata.PackageNotFoundError:
            missing.append(requirement)
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing], check=True)
    return missing


def parse_junit(path: Path) -> dict[str, str]:
    """Each test's outcome from a pytest JUnit XML file: ``{test id: outcome}``.

    The outcome is ``passed``, ``failed``, ``error``, ``skipped`` or
    ``xfailed``; a test id is ``classname::name`` as pytest writes them
    (``tests.test_client::test_connect[x]``).  A test with several entries
    (its call passed, its teardown failed) gets the worst of them.
    """
    outcomes: dict[str, str] = {}
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        test = f"{case.get('classname', '')}::{case.get('name', '')}"
        outcome = "passed"
        for child in case:
            if child.tag == "failure":
                outcome = "failed"
            elif child.tag == "error":
                outcome = "error"
            elif child.tag == "skipped":
                outcome = "xfailed" if child.get("type") == _XFAIL_TYPE else "skipped"
            else:
                continue
            break
        previous = outcomes.get(test)
        if previous is None or _SEVERITY[outcome] > _SEVERITY[previous]:
            outcomes[test] = outcome
    return outcomes


def count(outcomes: Mapping[str, str]) -> dict[str, int]:
    """How many tests had each outcome."""
    return dict(sorted(collections.Counter(outcomes.values()).items()))


def differences(unpatched: Mapping[str, str], patched: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """Every test whose outcome differs, as ``(test, unpatched outcome, patched outcome)``.

    A test present in only one run differs too (its outcome in the other is ``missing``).
    """
    tests = sorted(set(unpatched) | set(patched))
    return [
        (test, unpatched.get(test, "missing"), patched.get(test, "missing"))
        for test in tests
        if unpatched.get(test, "missing") != patched.get(test, "missing")
    ]


@dataclasses.dataclass
class Run:
    """One pytest run of a suite."""

    patched: tuple[str, ...]
    returncode: int
    seconds: float
    outcomes: dict[str, str]
    #: What the plugin reported (empty if pytest stopped before writing it).
    plugin: dict[str, Any]


def run_suite(
    root: Path,
    paths: Sequence[str],
    *,
    patch: Sequence[str] = (),
    pytest_args: Sequence[str] = (),
    workdir: Path,
    env: Optional[Mapping[str, str]] = None,
) -> Run:
    """Run pytest on ``paths`` from ``root`` with the plugin, patching ``patch`` (nothing if empty).

    ``workdir`` receives the JUnit XML and the plugin's report; ``env``
    replaces the environment pytest runs in (default: this one).
    """
    tag = "patched" if patch else "unpatched"
    junit = workdir / f"{tag}.xml"
    report = workdir / f"{tag}.json"
    for stale in (junit, report):
        stale.unlink(missing_ok=True)
    environment = dict(os.environ if env is None else env)
    environment.pop(PATCH_ENV, None)
    if patch:
        environment[PATCH_ENV] = ",".join(patch)
    environment[REPORT_ENV] = str(report)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "fastframe.testing.plugin",
        # Nothing written into the extracted sdist between runs.
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
        *pytest_args,
        *paths,
    ]
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=root, env=environment, check=False)
    seconds = time.perf_counter() - started
    outcomes = parse_junit(junit) if junit.exists() else {}
    plugin = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
    return Run(tuple(patch), completed.returncode, seconds, outcomes, plugin)


def _problems(run: Run) -> list[str]:
    """Why a run cannot be compared: it collected nothing, or the patch state is wrong."""
    problems = []
    # pytest's exit codes: 0 all passed, 1 some failed, 2 interrupted, 3 internal error, 4 usage, 5 no tests.
    if run.returncode not in (0, 1):
        problems.append(f"pytest exited with status {run.returncode}")
    if not run.outcomes:
        problems.append("no test outcomes were recorded")
    if not run.plugin:
        problems.append("the fastframe plugin wrote no report")
    else:
        wanted = sorted(run.patched)
        for moment in ("patched_at_start", "patched_at_end"):
            if sorted(run.plugin.get(moment, [])) != wanted:
                problems.append(f"{moment.replace('_', ' ')}: {run.plugin.get(moment)}, expected {wanted}")
    return problems


def compare(unpatched: Run, patched: Run, *, out: Any = None) -> int:
    """Print both runs' counts and every difference; return the exit status (0, 1 or 2)."""
    out = out or sys.stdout
    status = 0
    for run in (unpatched, patched):
        name = f"patched ({', '.join(run.patched)})" if run.patched else "unpatched"
        backend = run.plugin.get("backend", "?")
        counts = ", ".join(f"{n} {outcome}" for outcome, n in count(run.outcomes).items()) or "no tests"
        print(f"{name:>24}: {counts}  [{len(run.outcomes)} tests, {run.seconds:.1f} s, backend {backend}]", file=out)
        for problem in _problems(run):
            print(f"{'':>24}  PROBLEM: {problem}", file=out)
            status = 2
    diff = differences(unpatched.outcomes, patched.outcomes)
    if diff:
        print(f"{len(diff)} tests differ (unpatched -> patched):", file=out)
        # A run that stopped early has every test missing: its problem says more than the list.
        shown = diff if status == 0 else diff[:10]
        for test, before, after in shown:
            print(f"  {test}: {before} -> {after}", file=out)
        if len(shown) < len(diff):
            print(f"  ... and {len(diff) - len(shown)} more", file=out)
        status = max(status, 1)
    else:
        print("every test has the same outcome patched and unpatched", file=out)
    return status


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fastframe.testing.peer",
        description="Run a library's own test suite (from its sdist) unpatched and patched by fastframe, "
        "and list every test whose outcome differs. Unknown options go to pytest.",
    )
    parser.add_argument("library", choices=sorted(PEERS), help="the library to patch and test")
    parser.add_argument(
        "--tests", action="append", metavar="PATH", help="a test path inside the sdist (default: the table's)"
    )
    parser.add_argument("--cache-dir", type=Path, help=f"where sdists are kept (default: {cache_dir()})")
    parser.add_argument(
        "--source",
        type=Path,
        metavar="DIR",
        help="run the tests from this copy of the library's repository (at the release's tag) instead of its sdist",
    )
    parser.add_argument(
        "--backend",
        choices=("cython", "python"),
        help="the fastframe backend to patch with (python sets FASTFRAME_NO_EXTENSIONS=1 in both runs)",
    )
    parser.add_argument("--no-install", action="store_true", help="do not pip-install missing test requirements")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line: ``python -m fastframe.testing.peer <library> [pytest args]``."""
    options, pytest_args = _parser().parse_known_args(argv)
    peer = PEERS[options.library]
    try:
        version = importlib.metadata.version(peer.distribution)
    except importlib.metadata.PackageNotFoundError:
        print(f"{peer.distribution} is not installed here: install the version to test first", file=sys.stderr)
        return 2
    print(f"{peer.distribution} {version}: its own test suite, unpatched and patched by fastframe")
    scratch = None
    if options.source is not None:
        root = options.source.resolve()
    elif peer.installed_tests:
        # An empty directory: nothing in it shadows the installed package.
        scratch = tempfile.TemporaryDirectory(prefix="fastframe-peer-root-")
        root = Path(scratch.name)
        if peer.conftest:
            (root / "conftest.py").write_text(peer.conftest, encoding="utf-8")
    elif not peer.sdist_has_tests:
        print(
            f"{peer.distribution}'s sdist has no tests: pass --source DIR, a copy of its repository "
            f"at the tag of {version} (e.g. git archive <tag> tests | tar -x -C DIR)",
            file=sys.stderr,
        )
        return 2
    else:
        root = fetch_sdist(peer.distribution, version, options.cache_dir or cache_dir())
    for name in peer.hide:
        # pytest runs from the sdist's root, which Python puts first on sys.path.
        if (root / name).exists():
            (root / name).rename(root / f"{name}.sdist-source")
    if not options.no_install:
        installed = install_requirements(peer.requirements)
        if installed:
            print(f"installed the suite's requirements: {', '.join(installed)}")
    env = dict(os.environ)
    env.update(peer.env)
    if options.backend == "python":
        env["FASTFRAME_NO_EXTENSIONS"] = "1"
    elif options.backend == "cython":
        env.pop("FASTFRAME_NO_EXTENSIONS", None)
    args = [*peer.args, *pytest_args]
    if peer.installed_tests and options.source is None:
        args.append("--pyargs")
    for test, reason in peer.deselect.items():
        print(f"deselected in both runs: {test} ({reason})")
        args += ["--deselect", test]
    # The table lists the test paths of every release; a release has some of them.
    if peer.installed_tests and options.source is None:
        paths = options.tests or list(peer.tests)
    else:
        paths = options.tests or [path for path in peer.tests if (root / path).exists()]
    if not paths:
        print(f"none of {', '.join(peer.tests)} is in {root}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="fastframe-peer-") as work:
        unpatched = run_suite(root, paths, pytest_args=args, workdir=Path(work), env=env)
        patched = run_suite(root, paths, patch=(options.library,), pytest_args=args, workdir=Path(work), env=env)
    if scratch is not None:
        scratch.cleanup()
        root = Path(f"the installed {peer.distribution}")
    print(f"\n{peer.distribution} {version}, tests from {root}:")
    return compare(unpatched, patched)


if __name__ == "__main__":
    sys.exit(main())
