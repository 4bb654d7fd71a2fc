"""The stack people deploy: uvicorn serving a Starlette WebSocket app, patched by fastframe or not.

Run ``python bench/e2e_uvicorn.py`` (``--help`` for the options; ``--quick``
for a smoke test under a minute).  Every measurement starts a server process
(uvicorn 0.54 with one of its WebSocket implementations, serving the Starlette
app below) and a client process on 127.0.0.1, and reports what the client
counts: messages per second, the median of ``--runs`` runs.  In a patched run
the server process calls ``fastframe.patch()`` in its entry point, before
uvicorn starts, as a deployment would.

uvicorn's WebSocket implementations (``ws=``):

``websockets-sansio``
    its default: websockets' sans-I/O ``ServerProtocol`` (``fastframe.patch``
    replaces its frame parsing and masking).
``websockets``
    the legacy one: ``websockets.legacy`` (its ``read_frame`` and masking).
``wsproto``
    wsproto's ``WSConnection`` (its whole ``FrameProtocol``).

Scenarios (issue 9):

``tokens``
    The AI-token stream: after the client's "go", the endpoint sends 100 000
    text messages of 5-30 bytes (mixed scripts and emoji, bench/e2e.py's token
    pool) with ``websocket.send_text``, one call per token.  Mostly the
    server's send path; masking is not involved (servers do not mask).
``client-to-server``
    Many small masked messages into the server (its receive path, where
    fastframe's parser and unmasking work): the client writes 100 000 masked
    16-byte text frames, built beforehand with ``fastframe.build_frame``,
    500 per write; the endpoint counts its ``receive_text`` calls and answers
    with the count and a digest of what it received when the last one is in.
``echo-16B``
    A window of 100 masked 16-byte binary messages, echoed by the endpoint
    with ``receive_bytes``/``send_bytes``, again and again.

The client is the same in every run and never patched: a plain asyncio
client written here, which writes frames pre-built with fastframe's
``build_frame`` and reads with fastframe's ``MessageAssembler`` (the compiled
backend when it is installed), so the server is the bottleneck.  Every run
checks what arrived: each token, each message the server counted (digest),
each echo.  ``--profile DIR`` also profiles the patched server (cProfile,
the receive phase of ``client-to-server`` only) for each implementation and
prints where its time goes, by layer.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import cProfile
import hashlib
import json
import multiprocessing
import os
import platform
import pstats
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Optional

from e2e import GUID, make_tokens, summarize, versions

#: uvicorn's WebSocket implementations (its ``ws=`` names) and the library each one runs on.
IMPLEMENTATIONS = {"websockets-sansio": "websockets", "websockets": "websockets", "wsproto": "wsproto"}
SCENARIOS = ("tokens", "client-to-server", "echo-16B")
#: Frames per write of the client in client-to-server.
BATCH = 500
#: Echoes in flight: one at a time would measure the scheduler's wake-up latency more than the stack.
ECHO_WINDOW = 100
ECHO_SIZE = 16
SINK_SIZE = 16
#: Every run is cut off after this many seconds.
RUN_TIMEOUT = 120.0


@dataclass(frozen=True)
class Sizes:
    tokens: int
    #: Messages the client sends in client-to-server.
    messages: int
    echoes: int
    #: An echo run stops after this many seconds even if it has not sent all its messages.
    echo_seconds: float


FULL = Sizes(tokens=100_000, messages=50_000, echoes=10_000, echo_seconds=5.0)
QUICK = Sizes(tokens=10_000, messages=10_000, echoes=2_000, echo_seconds=2.0)


def make_texts(count: int, size: int = SINK_SIZE) -> list[str]:
    """``count`` texts of exactly ``size`` UTF-8 bytes, from the token pool (mixed scripts and emoji)."""
    texts = []
    for token in make_tokens(count, seed=16):
        while len(token.encode()) > size:
            token = token[:-1]
        texts.append(token + "." * (size - len(token.encode())))
    return texts


def digest(texts: list[str]) -> str:
    """What the client-to-server endpoint answers: the message count and a digest of their text."""
    return f"{len(texts)} {hashlib.sha256(''.join(texts).encode()).hexdigest()}"


# -- the server process: a Starlette app served by uvicorn.

#: Where the server process writes its cProfile profile of the client-to-server receive phase, if profiled.
_profile_path: Optional[str] = None
#: Set by perf_section for a run under ``perf record -D -1 --control fifo:CTL,ACK``: "CTL,ACK".
PERF_CONTROL = "FASTFRAME_E2E_PERF_CONTROL"


class Recorder:
    """Records the client-to-server receive phase: cProfile to ``path``, or perf's events switched on.

    Under ``perf record`` (which cannot attach to a running process here), the events start disabled
    and this switches them on and off through perf's control FIFOs, so the samples cover this phase.
    """

    def __init__(self, path: Optional[str], perf_control: Optional[str]) -> None:
        self.path = path
        self.perf_control = perf_control.split(",") if perf_control else None
        self.profiler = cProfile.Profile()

    def perf(self, command: str) -> None:
        assert self.perf_control is not None
        control, ack = self.perf_control
        with open(control, "w") as fifo:
            fifo.write(command + "\n")
        with open(ack) as fifo:
            fifo.readline()

    def __enter__(self) -> None:
        if self.perf_control:
            self.perf("enable")
        if self.path:
            self.profiler.enable()

    def __exit__(self, *exc_info: Any) -> None:
        if self.path:
            self.profiler.disable()
            self.profiler.dump_stats(self.path)
        if self.perf_control:
            self.perf("disable")


def make_app(tokens: list[str]) -> Any:
    """The Starlette app: /tokens streams the tokens, /sink counts messages, /echo echoes."""
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    async def wait_closed(websocket: WebSocket) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()

    async def stream(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()
        send_text = websocket.send_text
        for token in tokens:
            await send_text(token)
        await wait_closed(websocket)

    async def sink(websocket: WebSocket) -> None:
        await websocket.accept()
        received: list[str] = []
        receive_text = websocket.receive_text
        # Written here, not at exit: on SIGTERM uvicorn re-raises the signal once it has stopped.
        with Recorder(_profile_path, os.environ.get(PERF_CONTROL)):
            # An empty message ends the stream: the client's messages are never empty.
            while text := await receive_text():
                received.append(text)
        await websocket.send_text(digest(received))
        await wait_closed(websocket)

    async def echo(websocket: WebSocket) -> None:
        await websocket.accept()
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.send_bytes(await websocket.receive_bytes())

    routes = [WebSocketRoute("/tokens", stream), WebSocketRoute("/sink", sink), WebSocketRoute("/echo", echo)]
    return Starlette(routes=routes)


def serve(
    implementation: str,
    patched: bool,
    backend: Optional[str],
    token_count: int,
    ready: Any,
    profile_path: Optional[str] = None,
    loop: str = "asyncio",
) -> None:
    """Server process: patches (or not) before uvicorn starts, puts its port and setup on ``ready``, serves.

    ``backend`` "python" sets ``FASTFRAME_NO_EXTENSIONS`` before fastframe is imported here, so the
    patch builds on the pure twins; None leaves the environment's choice.
    """
    global _profile_path
    if backend == "python":
        os.environ["FASTFRAME_NO_EXTENSIONS"] = "1"
    elif backend == "cython":
        os.environ.pop("FASTFRAME_NO_EXTENSIONS", None)
    import fastframe

    library = IMPLEMENTATIONS[implementation]
    if patched:
        # What a deployment does: one line in its entry point, every installed
        # library it supports; on the pure backend, which patches nothing by
        # default, the library is named.
        if fastframe.BACKEND == "python":
            fastframe.patch(library)
        else:
            fastframe.patch()
        if not fastframe.integrations.is_patched(library):
            raise RuntimeError(f"fastframe.patch() did not patch {library}")
    import uvicorn

    _profile_path = profile_path
    config = uvicorn.Config(
        make_app(make_tokens(token_count)),
        ws=implementation,
        loop=loop,
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=2,
    )
    # Bound and listening before the port is announced, so the client never finds it closed.
    # IPPROTO_TCP, as uvicorn's own sockets have: asyncio leaves TCP_NODELAY off on the connections of
    # a socket made with proto 0, and Nagle's algorithm would then hold small replies for the client's ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    ready.put({"port": sock.getsockname()[1], "backend": fastframe.BACKEND, "pid": os.getpid()})
    uvicorn.Server(config).run(sockets=[sock])


# -- the client process: plain asyncio and fastframe, the same in every run.


class Client:
    """A WebSocket client over asyncio streams: pre-built masked frames out, fastframe's assembler in."""

    async def open(self, port: int, path: str) -> None:
        import fastframe

        self.fastframe = fastframe
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16))
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key.decode()}\r\n\r\n".encode()
        )
        response = await self.reader.readuntil(b"\r\n\r\n")
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        if not response.startswith(b"HTTP/1.1 101 ") or accept not in response:
            raise RuntimeError(f"the handshake failed: {response!r}")
        self.assembler = fastframe.MessageAssembler(fastframe.FrameParser(client=True, max_message_size=None))
        self.pending: list[Any] = []

    def frame(self, message: Any) -> bytes:
        """``message`` as a masked frame (RFC 6455 §5.3: a client masks every frame, a fresh key each)."""
        opcode = self.fastframe.Opcode.TEXT if isinstance(message, str) else self.fastframe.Opcode.BINARY
        data = message.encode() if isinstance(message, str) else message
        return bytes(self.fastframe.build_frame(opcode, data, mask=True))

    async def receive(self, count: int) -> list[Any]:
        """The next ``count`` data messages' payloads (str or bytes)."""
        data_opcodes = (self.fastframe.Opcode.TEXT, self.fastframe.Opcode.BINARY)
        while len(self.pending) < count:
            data = await self.reader.read(1 << 16)
            if not data:
                raise ConnectionError("the server closed the connection")
            for message in self.assembler.feed(data):
                if message.opcode in data_opcodes:
                    self.pending.append(message.data)
                elif message.opcode == self.fastframe.Opcode.CLOSE:
                    raise ConnectionError(f"the server closed: {self.fastframe.parse_close(message.data)}")
        messages, self.pending = self.pending[:count], self.pending[count:]
        return messages

    async def close(self) -> None:
        """The closing handshake (RFC 6455 §7.1.2): our close frame, then the server's, then EOF."""
        payload = self.fastframe.build_close(1000, "")
        self.writer.write(self.fastframe.build_frame(self.fastframe.Opcode.CLOSE, payload, mask=True))
        with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
            await self.writer.drain()
            await asyncio.wait_for(self.reader.read(), 5)
        self.writer.close()


async def run_tokens(port: int, sizes: Sizes) -> tuple[int, float, Optional[str]]:
    client = Client()
    await client.open(port, "/tokens")
    started = time.perf_counter()
    client.writer.write(client.frame("go"))
    received = await client.receive(sizes.tokens)
    seconds = time.perf_counter() - started
    await client.close()
    wrong = sum(a != b for a, b in zip(received, make_tokens(sizes.tokens)))
    return len(received), seconds, f"{wrong} tokens differ from those sent" if wrong else None


async def run_client_to_server(port: int, sizes: Sizes) -> tuple[int, float, Optional[str]]:
    client = Client()
    await client.open(port, "/sink")
    texts = make_texts(sizes.messages)
    frames = [client.frame(text) for text in texts]
    batches = [b"".join(frames[i : i + BATCH]) for i in range(0, len(frames), BATCH)]
    started = time.perf_counter()
    for batch in batches:
        client.writer.write(batch)
        await client.writer.drain()
    client.writer.write(client.frame(""))
    (answer,) = await client.receive(1)
    seconds = time.perf_counter() - started
    await client.close()
    expected = digest(texts)
    return sizes.messages, seconds, None if answer == expected else f"the server received {answer!r}, not {expected!r}"


async def run_echo(port: int, sizes: Sizes) -> tuple[int, float, Optional[str]]:
    client = Client()
    await client.open(port, "/echo")
    payloads = [os.urandom(ECHO_SIZE) for _ in range(ECHO_WINDOW)]
    received = wrong = 0
    started = time.perf_counter()
    deadline = started + sizes.echo_seconds
    while received < sizes.echoes and time.perf_counter() < deadline:
        # A fresh key per frame, as a browser masks: built here, inside the measured loop.
        client.writer.write(b"".join(client.frame(payload) for payload in payloads))
        echoes = await client.receive(ECHO_WINDOW)
        wrong += sum(a != b for a, b in zip(echoes, payloads))
        received += ECHO_WINDOW
    seconds = time.perf_counter() - started
    await client.close()
    return received, seconds, f"{wrong} echoes differ from what was sent" if wrong else None


RUNNERS = {"tokens": run_tokens, "client-to-server": run_client_to_server, "echo-16B": run_echo}


def run_client(scenarios: list[str], port: int, sizes: Sizes, results: Any) -> None:
    """Client process: runs the scenarios one after the other; {scenario: {messages, seconds} or {error}}."""
    # The client is the same in every run: never patched, compiled fastframe when it is there.
    os.environ.pop("FASTFRAME_NO_EXTENSIONS", None)
    outcomes: dict[str, dict[str, Any]] = {}
    for scenario in scenarios:
        try:
            coroutine = RUNNERS[scenario](port, sizes)
            messages, seconds, error = asyncio.run(asyncio.wait_for(coroutine, RUN_TIMEOUT))
            outcomes[scenario] = {"error": error} if error else {"messages": messages, "seconds": seconds}
        except Exception as exc:
            outcomes[scenario] = {"error": f"{type(exc).__name__}: {exc}"}
    results.put(outcomes)


def measure(
    scenarios: list[str],
    implementation: str,
    patched: bool,
    sizes: Sizes,
    backend: Optional[str] = None,
    profile_path: Optional[str] = None,
    loop: str = "asyncio",
) -> dict[str, dict[str, Any]]:
    """One run: a uvicorn server process and a client process that runs ``scenarios`` against it in turn.

    Returns, per scenario, messages per second (``rate``) or an error, and which fastframe backend the
    server ran (``server_backend``).
    """
    context = multiprocessing.get_context("spawn")
    ready, results = context.Queue(), context.Queue()
    server = context.Process(
        target=serve, args=(implementation, patched, backend, sizes.tokens, ready, profile_path, loop)
    )
    server.start()
    client = None
    setup: dict[str, Any] = {}
    timeout = 60 + (RUN_TIMEOUT + 10) * len(scenarios)
    try:
        setup = ready.get(timeout=60)
        client = context.Process(target=run_client, args=(scenarios, setup["port"], sizes, results))
        client.start()
        outcomes: dict[str, dict[str, Any]] = results.get(timeout=timeout)
    except Exception as exc:  # a process that died or hung: reported in the table, the other runs go on
        outcomes = {scenario: {"error": f"{type(exc).__name__}: {exc}"} for scenario in scenarios}
    finally:
        if client is not None:
            client.join(10)
            if client.is_alive():
                client.terminate()
                client.join(5)
        # SIGTERM: uvicorn shuts down gracefully.
        server.terminate()
        server.join(15)
        if server.is_alive():
            server.kill()
            server.join(5)
    for outcome in outcomes.values():
        outcome["server_backend"] = setup.get("backend")
        outcome["server_pid"] = setup.get("pid")
        if "error" not in outcome:
            outcome["rate"] = outcome["messages"] / outcome["seconds"]
    return outcomes


# -- profiles: where the patched server's time goes, by layer.

LAYERS = (
    ("/uvicorn/", "uvicorn (ASGI server, its WebSocket protocol glue)"),
    ("/starlette/", "starlette (WebSocket class, routing)"),
    ("/websockets/", "websockets (the library's protocol code)"),
    ("/wsproto/", "wsproto (the library's protocol code)"),
    ("/h11/", "h11"),
    # Cython functions are invisible to cProfile: the compiled parser's time is its Python caller's.
    ("/fastframe/", "fastframe (its integration, compiled calls included)"),
    ("/asyncio/", "asyncio (event loop, queues, futures)"),
    (os.path.basename(__file__), "the benchmark's endpoint"),
)
#: Built-ins in which the server waits for the client rather than works.
IDLE = ("<method 'poll' of 'select.epoll' objects>", "<method 'select' of 'select.poll' objects>")


def layer_of(function: tuple[str, int, str]) -> Optional[str]:
    """The layer of a profiled function; None for a built-in (C) function, which its callers own."""
    filename, _, name = function
    if filename == "~":
        if name in IDLE:
            return "idle (waiting in epoll for the client)"
        return "fastframe (its integration, compiled calls included)" if "fastframe" in name else None
    for marker, layer in LAYERS:
        if marker in filename:
            return layer
    return "other Python (stdlib, dataclasses, ...)"


def profile_layers(path: str) -> tuple[float, list[tuple[str, float]], list[tuple[float, int, str]]]:
    """Total time, own time per layer (built-ins charged to their callers' layers), top functions."""
    stats: Any = pstats.Stats(path)
    by_layer: dict[str, float] = defaultdict(float)
    total = 0.0
    for function, (_, _, own, _, callers) in stats.stats.items():
        total += own
        layer = layer_of(function)
        if layer is not None:
            by_layer[layer] += own
            continue
        # A built-in: shared among its callers in proportion to the time each spent in it.
        weights = {caller: entry[2] for caller, entry in callers.items()}
        weight = sum(weights.values())
        if not weight:
            by_layer["built-ins (caller unknown)"] += own
            continue
        for caller, share in weights.items():
            by_layer[layer_of(caller) or "built-ins (caller unknown)"] += own * share / weight
    top = sorted(
        ((own, calls, pstats.func_std_string(function)) for function, (_, calls, own, _, _) in stats.stats.items()),
        reverse=True,
    )
    return total, sorted(by_layer.items(), key=lambda item: -item[1]), top


def profile(directory: str, implementations: list[str], sizes: Sizes, loop: str, top: int = 15) -> str:
    """Profiles the patched server in client-to-server for each implementation; a markdown report."""
    os.makedirs(directory, exist_ok=True)
    lines = []
    for implementation in implementations:
        path = os.path.join(directory, f"client-to-server-{implementation}-patched.prof")
        (outcome,) = measure(["client-to-server"], implementation, True, sizes, profile_path=path, loop=loop).values()
        if "error" in outcome or not os.path.exists(path):
            lines.append(f"### ws={implementation}: {outcome.get('error', 'no profile written')}")
            continue
        total, layers, functions = profile_layers(path)
        busy = total - sum(seconds for layer, seconds in layers if layer.startswith("idle"))
        lines += [
            f"### ws={implementation}, patched: {total:.2f} s profiled, {sizes.messages:,} messages "
            f"({outcome['rate']:,.0f} msg/s under the profiler; {path})",
            "",
            "| layer | own time | per message | share of the busy time |",
            "|---|---:|---:|---:|",
            *(
                f"| {layer} | {seconds:.3f} s | {seconds / sizes.messages * 1e6:.1f} µs | "
                + ("" if layer.startswith("idle") else f"{seconds / busy:.0%}")
                + " |"
                for layer, seconds in layers
            ),
            "",
            "| own time | calls | function |",
            "|---:|---:|---|",
            *(f"| {own:.3f} s | {calls:,} | `{name}` |" for own, calls, name in functions[:top]),
            "",
        ]
        if shutil.which("perf"):
            lines += perf_section(directory, implementation, sizes, loop)
    return "\n".join(lines)


def perf_section(directory: str, implementation: str, sizes: Sizes, loop: str) -> list[str]:
    """CPU samples of the patched server's receive phase by shared object: C code counted where it runs.

    cProfile does not see Cython functions and inflates Python calls; sampling shows the share of the
    compiled fastframe modules against the interpreter (all Python code, of every layer) and the kernel.
    The run happens under ``perf record`` in a child process of this script, its events switched on by
    the server's endpoint for the receive phase only, and the report keeps the server process's samples.
    """
    from fastframe._backend import MODULES

    path = os.path.join(directory, f"client-to-server-{implementation}-patched.perf")
    control, ack, results = (os.path.join(directory, name) for name in ("perf-control", "perf-ack", "perf.json"))
    for fifo in (control, ack):
        with contextlib.suppress(FileNotFoundError):
            os.remove(fifo)
        os.mkfifo(fifo)
    command = [
        *("perf", "record", "-q", "-F", "999", "-D", "-1", "--control", f"fifo:{control},{ack}", "-o", path),
        *(sys.executable, "-W", "ignore", os.path.abspath(__file__), "--scenario", "client-to-server"),
        *("--ws", implementation, "--patched", "--runs", "1", "--loop", loop, "--json", results),
        *(("--quick",) if sizes == QUICK else ()),
    ]
    run = subprocess.run(command, env={**os.environ, PERF_CONTROL: f"{control},{ack}"}, capture_output=True, text=True)
    try:
        with open(results) as file:
            (outcome,) = json.load(file)["results"][0]["runs"]
    except (OSError, ValueError) as exc:
        return [f"perf: no results ({exc}): {run.stderr.strip()[-500:]}", ""]
    report = subprocess.run(
        ["perf", "report", "-i", path, "--stdio", "-q", "--sort", "pid,dso"], capture_output=True, text=True
    )
    # The server's samples, as shares of its own (perf report's --pid finds none in a run started with -D -1).
    server = f"{outcome['server_pid']}:"
    shares = []
    for line in report.stdout.splitlines():
        share, _, rest = line.strip().partition("%")
        process, _, dso = rest.strip().partition(" ")
        if process.startswith(server):
            with contextlib.suppress(ValueError):
                shares.append((float(share), dso.strip()))
    total = sum(share for share, _ in shares)
    shares = [(share * 100 / total, dso) for share, dso in shares]
    if "error" in outcome or not shares:
        return [f"perf: {outcome.get('error') or report.stderr.strip() or 'no samples'}", ""]
    compiled = sum(share for share, dso in shares if dso.split(".")[0] in MODULES)
    return [
        f"CPU samples of the server (`perf record -F 999`, {path}): fastframe's compiled modules "
        f"{compiled:.1f}% of its samples in the receive phase ({outcome['rate']:,.0f} msg/s under perf).",
        "",
        "| shared object | samples |",
        "|---|---:|",
        *(f"| {dso} | {share:.1f}% |" for share, dso in shares[:8]),
        "",
    ]


# -- the table.


def table(results: list[dict[str, Any]], modes: list[str], sizes: Sizes, runs: int) -> str:
    """A markdown table: messages per second (medians), and patched / unpatched."""

    def cell(entry: Optional[dict[str, Any]]) -> str:
        if entry is None:
            return ""
        if "median" in entry:
            spread = f" ({entry['spread']:.0%})" if len(entry["runs"]) > 1 else ""
            return f"{entry['median']:,.0f}{spread}"
        return "error"

    rows: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for entry in results:
        rows.setdefault((entry["scenario"], entry["implementation"]), {})[entry["mode"]] = entry
    header = ["scenario", "uvicorn ws=", *(f"{mode} msg/s" for mode in modes)]
    if len(modes) == 2:
        header += ["patched / unpatched", "run by run"]
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * (len(header) - 2)]
    for (scenario, implementation), by_mode in rows.items():
        line = [scenario, implementation, *(cell(by_mode.get(mode)) for mode in modes)]
        if len(modes) == 2:
            before, after = (by_mode[mode].get("median") for mode in modes)
            line.append(f"{after / before:.2f}x" if before and after else "")
            # Run i of each mode ran one after the other: their ratio is the least exposed to load drifts.
            pairs = zip(*(by_mode[mode]["runs"] for mode in modes))
            ratios = [b["rate"] / a["rate"] for a, b in pairs if "rate" in a and "rate" in b]
            line.append(f"{statistics.median(ratios):.2f}x" if ratios else "")
        lines.append("| " + " | ".join(line) + " |")
    lines += [
        "",
        f"Medians of {runs} run(s), in parentheses the spread of the runs ((max - min) / median); "
        "run by run: the median of the ratios of the runs made one after the other; "
        f"{sizes.tokens:,} tokens per stream, {sizes.messages:,} messages of {SINK_SIZE} B into the server, "
        f"{sizes.echoes:,} echoes of {ECHO_SIZE} B (or {sizes.echo_seconds:g} s).",
    ]
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="uvicorn + Starlette WebSocket benchmark over loopback (server and client processes), "
        "the server patched by fastframe against unpatched.",
        epilog="Scenarios: " + ", ".join(SCENARIOS) + ". See the module docstring for what each measures.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--patched", dest="modes", action="store_const", const=["patched"], help="patched only")
    mode.add_argument("--unpatched", dest="modes", action="store_const", const=["unpatched"], help="unpatched only")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; the table shows medians (3)")
    parser.add_argument("--quick", action="store_true", help="fewer messages and one run: a smoke test")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="only these scenarios (repeatable)")
    parser.add_argument("--ws", action="append", choices=IMPLEMENTATIONS, help="only these implementations")
    parser.add_argument("--loop", default="asyncio", choices=("asyncio", "uvloop"), help="uvicorn's event loop")
    parser.add_argument("--profile", metavar="DIR", help="also profile the patched servers; .prof files into DIR")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    arguments = parser.parse_args(argv)
    modes = arguments.modes or ["unpatched", "patched"]
    sizes = QUICK if arguments.quick else FULL
    runs = 1 if arguments.quick else arguments.runs

    scenarios = arguments.scenario or list(SCENARIOS)
    implementations = arguments.ws or list(IMPLEMENTATIONS)
    entries = {
        (scenario, implementation, mode_name): {
            "scenario": scenario,
            "implementation": implementation,
            "mode": mode_name,
            "runs": [],
        }
        for scenario in scenarios
        for implementation in implementations
        for mode_name in modes
    }
    # One server per implementation, mode and run, which the client takes through every scenario.
    # Runs alternate between the modes (ABBA...), so that a change in the machine's load weighs on both.
    for run in range(runs):
        for implementation in implementations:
            for mode_name in modes if run % 2 == 0 else modes[::-1]:
                outcomes = measure(scenarios, implementation, mode_name == "patched", sizes, loop=arguments.loop)
                for scenario, outcome in outcomes.items():
                    entries[scenario, implementation, mode_name]["runs"].append(outcome)
    results = list(entries.values())
    for entry in results:
        summarize(entry)
        if "median" in entry:
            shown = f"{entry['median']:,.0f} msg/s (runs within {entry['spread']:.0%} of each other)"
        else:
            shown = entry["error"]
        print(
            f"{entry['scenario']:17} {entry['implementation']:18} {entry['mode']:10} {shown}",
            file=sys.stderr,
            flush=True,
        )

    print(table(results, modes, sizes, runs))
    if arguments.profile:
        print()
        print(profile(arguments.profile, implementations, sizes, arguments.loop))
    if arguments.json:
        document = {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load": os.getloadavg(),
            "versions": {**versions(), **uvicorn_versions()},
            "loop": arguments.loop,
            "sizes": vars(sizes),
            "runs": runs,
            "results": results,
        }
        with open(arguments.json, "w") as file:
            file.write(json.dumps(document, indent=2) + "\n")
    return 1 if any("error" in entry for entry in results) else 0


def uvicorn_versions() -> dict[str, str]:
    import importlib.metadata

    found = {}
    for name in ("uvicorn", "starlette", "h11", "httptools", "uvloop"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


if __name__ == "__main__":
    sys.exit(main())
