"""A real client nobody here wrote: headless Chromium echoes through websockets and aiohttp servers.

The test serves ``tests/browser/echo.html`` on 127.0.0.1, starts one echo
server process per configuration (``tests/browser/echo_server.py``: the
library, permessage-deflate on or off, unpatched or patched by fastframe on
one of its backends) and opens the page in ``chromium --headless``.  The page
echoes text (ASCII, multilingual, emoji) and binary messages of 0 B to 1 MiB
across the RFC 6455 §5.2 length edges (125/126, 65535/65536), whole and
(websockets only: aiohttp's API sends every message in one frame) fragmented
by the server, then a burst of thousands of token-sized messages,
checks every echo byte for byte and POSTs a verdict per configuration back to
the test.  Browsers mask each frame with a fresh key (§5.3), and negotiate
permessage-deflate (RFC 7692) when the server offers it.

One browser runs every configuration (one page load), because starting
Chromium costs seconds; each configuration still gets its own test and
verdict.  Patched configurations run on the compiled backend with and without
compression, and on the pure backend with compression only: without it the
pure twin would parse the same frames minus RSV1, one more browser run for
little.  A library whose fastframe integration does not exist yet skips them,
with the reason.

Without Chromium the tests skip; ``FASTFRAME_REQUIRE_BROWSER=1`` (set in CI)
makes that a failure.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, NoReturn, Optional

import pytest

# A browser and a dozen server processes: tens of seconds (-m "not slow" leaves them out).
pytestmark = pytest.mark.slow

HERE = Path(__file__).resolve().parent / "browser"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: The whole browser run is cut off after this many seconds: several times what it needs on a busy machine.
DEADLINE = 150.0


@dataclass(frozen=True)
class Config:
    """One echo server: which library, with or without permessage-deflate, patched on which backend."""

    library: str
    compression: str  # "deflate" or "none"
    patch: str  # "none", "cython" or "python"
    corrupt: bool = False

    @property
    def id(self) -> str:
        patched = "unpatched" if self.patch == "none" else f"patched-{self.patch}"
        return f"{self.library}-{self.compression}-{patched}" + ("-corrupt" if self.corrupt else "")

    @property
    def paths(self) -> tuple[str, ...]:
        # aiohttp's server API always sends a message in one frame: there is no fragmented echo to ask of it.
        return ("/echo", "/fragment") if self.library == "websockets" else ("/echo",)


CONFIGS = [
    Config(library, compression, patch)
    for library in ("websockets", "aiohttp")
    for compression, patch in [
        ("deflate", "none"),
        ("none", "none"),
        ("deflate", "cython"),
        ("none", "cython"),
        ("deflate", "python"),
    ]
]
#: A server that flips one byte of one echo: the page must say so.
CORRUPT = Config("websockets", "none", "none", corrupt=True)


def why_not_runnable(config: Config, backends: Optional[list[str]]) -> Optional[str]:
    """Why ``config`` cannot run here (a missing library or integration, a deselected backend), or None."""
    if importlib.util.find_spec(config.library) is None:
        return f"{config.library} is not installed"
    if config.patch == "none":
        return None
    if backends and config.patch not in backends:
        return f"the {config.patch} backend is deselected (--backend)"
    if importlib.util.find_spec(f"fastframe.integrations.{config.library}") is None:
        return f"fastframe.integrations.{config.library} does not exist yet: nothing to patch {config.library} with"
    return None


def skip(reason: str, *, required: bool) -> NoReturn:
    """Skip; fail instead if what is missing is ``required`` under FASTFRAME_REQUIRE_BROWSER=1 (set in CI)."""
    if required and os.environ.get("FASTFRAME_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (FASTFRAME_REQUIRE_BROWSER=1)")
    pytest.skip(reason)


def find_browser() -> Optional[str]:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


class Results:
    """What the page POSTs back: a verdict per configuration, then the end of the run."""

    def __init__(self) -> None:
        self.verdicts: dict[str, dict[str, Any]] = {}
        self.done = threading.Event()
        self.error: Optional[str] = None
        self.progress: Any = None


def start_page_server(configs: list[dict[str, Any]], results: Results) -> ThreadingHTTPServer:
    page = (HERE / "echo.html").read_bytes()
    listing = json.dumps(configs).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body, kind = {"/": (page, "text/html; charset=utf-8"), "/configs": (listing, "application/json")}.get(
                self.path, (b"", "")
            )
            self.send_response(200 if kind else 404)
            self.send_header("Content-Type", kind or "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            data = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path == "/result":
                results.verdicts[data["id"]] = data
            elif self.path == "/progress":
                results.progress = data
            elif self.path == "/done":
                results.error = data.get("error")
                results.done.set()
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextlib.contextmanager
def echo_servers(configs: list[Config]) -> Iterator[dict[Config, int]]:
    """Start a server process per configuration; yield their ports; stop them all."""
    processes: dict[Config, subprocess.Popen[str]] = {}
    try:
        for config in configs:
            command = [sys.executable, str(HERE / "echo_server.py"), config.library]
            command += ["--compression", config.compression, "--patch", config.patch]
            command += ["--corrupt"] if config.corrupt else []
            processes[config] = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        ports = {}
        for config, process in processes.items():
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"the {config.id} echo server exited with {process.wait()}")
            started = json.loads(line)
            # A patched configuration that did not patch would test nothing new.
            assert started["patched"] == (config.patch != "none"), (config.id, started)
            ports[config] = started["port"]
        yield ports
    finally:
        for process in processes.values():
            assert process.stdin is not None
            process.stdin.close()
        for process in processes.values():
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def run_browser(browser: str, url: str, results: Results, profile: Path) -> str:
    """Open ``url`` in headless ``browser`` until the page reports it is done; return the browser's log."""
    command = [
        browser,
        "--headless",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
        "--disable-gpu",
        "--disable-dev-shm-usage",  # containers have a small /dev/shm
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--no-proxy-server",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        url,
    ]
    log = profile / "browser.log"
    with open(log, "w") as stderr:
        # The browser is not under test: keep a sanitizer runtime preloaded for the Python processes
        # (fuzz/sanitized_tests.sh) out of it.
        env = {name: value for name, value in os.environ.items() if name != "LD_PRELOAD"}
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env, start_new_session=True)
        try:
            deadline = time.monotonic() + DEADLINE
            # A browser that crashed or refused to start ends the wait early.
            while not results.done.wait(0.5) and process.poll() is None and time.monotonic() < deadline:
                pass
            if process.returncode is not None and not results.done.is_set():
                results.error = f"the browser exited with {process.returncode} before the page was done"
        finally:
            # The whole group: Chromium's renderer and helper processes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, 9)
            process.wait()
    return log.read_text(errors="replace")


@pytest.fixture(scope="module")
def browser_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run every runnable configuration in one browser; the verdicts by configuration id."""
    browser = find_browser()
    if browser is None:
        reason = f"needs Chromium (none of {', '.join(BROWSERS)} is on PATH; Debian: apt-get install chromium)"
        skip(reason, required=True)
    backends = request.config.getoption("--backend")
    configs = [config for config in [*CONFIGS, CORRUPT] if why_not_runnable(config, backends) is None]
    results = Results()
    started = time.monotonic()
    with echo_servers(configs) as ports:
        listing = [
            {"id": config.id, "urls": [f"ws://127.0.0.1:{ports[config]}{path}" for path in config.paths]}
            for config in configs
        ]
        page_server = start_page_server(listing, results)
        try:
            url = f"http://127.0.0.1:{page_server.server_address[1]}/"
            log = run_browser(browser, url, results, tmp_path_factory.mktemp("chromium"))
        finally:
            page_server.shutdown()
            page_server.server_close()
    if not results.done.is_set() or results.error:
        tail = "\n".join(log.splitlines()[-30:])
        problem = results.error or f"no verdict within {DEADLINE:.0f} s; the page was at {results.progress}"
        pytest.fail(f"the page did not finish: {problem}; verdicts after seconds: {timings(results)}\n{tail}")
    # Shown with -s, or on a failure: where the time went, per configuration.
    print("browser verdicts after seconds:", timings(results))
    for config_id, verdict in results.verdicts.items():
        print(f"  {config_id}: slowest echoes (ms) per path:", [run["slowest_ms"] for run in verdict["runs"]])
    return {"verdicts": results.verdicts, "seconds": time.monotonic() - started}


def timings(results: Results) -> dict[str, float]:
    return {config_id: round(verdict["seconds"], 1) for config_id, verdict in results.verdicts.items()}


def params() -> list[Any]:
    return [pytest.param(config, id=config.id) for config in CONFIGS]


@pytest.mark.parametrize("config", params())
def test_browser_echo(config: Config, request: pytest.FixtureRequest) -> None:
    """Every message the browser sent came back byte for byte, whole and fragmented, and the close was clean."""
    reason = why_not_runnable(config, request.config.getoption("--backend"))
    if reason:
        # CI installs the libraries; a missing integration or a deselected backend is expected.
        skip(reason, required="is not installed" in reason)
    verdict = request.getfixturevalue("browser_run")["verdicts"].get(config.id)
    assert verdict is not None, f"the page sent no verdict for {config.id}"
    assert verdict["failures"] == [] and verdict["failed"] == 0, verdict
    # Each path: 9 sizes x (binary + 3 texts); the first, then the burst of tokens. A run cut short counts fewer.
    assert [run["count"] for run in verdict["runs"]] == [9 * 4 + 5000] + [9 * 4] * (len(config.paths) - 1)
    # The browser offers permessage-deflate (RFC 7692): it must be in use exactly when the server enables it.
    for run in verdict["runs"]:
        assert ("permessage-deflate" in run["extensions"]) == (config.compression == "deflate"), run


def test_browser_notices_a_wrong_byte(request: pytest.FixtureRequest) -> None:
    """A server that flips one bit of one echo fails the page's check: the verdicts above mean something."""
    reason = why_not_runnable(CORRUPT, None)
    if reason:
        # CI installs the libraries; a missing integration or a deselected backend is expected.
        skip(reason, required="is not installed" in reason)
    verdict = request.getfixturevalue("browser_run")["verdicts"][CORRUPT.id]
    # The 65536-byte binary message, on each path, at the byte the server flipped.
    assert verdict["failed"] == len(CORRUPT.paths), verdict
    assert all("binary 65536 B: byte 1000 is" in failure for failure in verdict["failures"]), verdict
