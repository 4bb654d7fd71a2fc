"""End to end over loopback: WebSocket servers and clients in separate processes, patched by fastframe or not.

Run ``python bench/e2e.py`` (``--help`` for the options).  Every measurement
starts a server process and a client process on 127.0.0.1, both patched with
``fastframe.patch(library)`` or both not, and reports what the client counts:
messages received per second, the median of ``--runs`` runs.  Compression is
off everywhere (permessage-deflate would measure zlib, not framing).

Scenarios (issue 9):

``echo-16B``, ``echo-64KiB``
    The client sends a window of binary messages (100 of 16 B, 8 of 64 KiB)
    and waits for their echoes, again and again: through both processes'
    send and receive paths.
``tokens-send``
    The AI-token stream: after the client's "go", the server pushes 100 000
    text messages of 5-30 bytes (mixed scripts and emoji), one send call of the
    library per token.  Both processes are busy, and a slower receiver lets the
    server batch its writes, so this figure alone does not judge the receive
    path.
``tokens-client-bound``
    The same tokens, pre-built as frames with ``fastframe.build_frame`` and
    written by a plain asyncio server (no WebSocket library) hundreds per
    write, so that the client's receive path is the bottleneck.  picows, the
    fastest Python WebSocket client, is measured here as the reference.

Libraries: websockets (its asyncio API), aiohttp, and wsproto driven over
asyncio streams by a server and a client written here.  A library whose
fastframe integration does not exist yet has no patched figures ("n/a").
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import multiprocessing
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Optional

LIBRARIES = ("websockets", "aiohttp", "wsproto")
#: Clients of the client-bound token stream: the libraries and the reference.
TOKEN_CLIENTS = (*LIBRARIES, "picows")
SCENARIOS = ("echo-16B", "echo-64KiB", "tokens-send", "tokens-client-bound")
ECHO_SIZES = {"echo-16B": 16, "echo-64KiB": 65536}
#: Messages in flight in an echo: one at a time would measure the scheduler's wake-up latency
#: (on a busy machine, more than the frames cost); a window keeps both processes working.
ECHO_WINDOW = {16: 100, 65536: 8}
#: Frames per write of the client-bound server.
BATCH = 500
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
#: Every run is cut off after this many seconds.
RUN_TIMEOUT = 120.0


@dataclass(frozen=True)
class Sizes:
    tokens: int
    echoes: dict[str, int]
    #: An echo run stops after this many seconds even if it has not sent all its messages.
    echo_seconds: float


FULL = Sizes(tokens=100_000, echoes={"echo-16B": 20_000, "echo-64KiB": 2_000}, echo_seconds=10.0)
QUICK = Sizes(tokens=20_000, echoes={"echo-16B": 3_000, "echo-64KiB": 300}, echo_seconds=3.0)


def make_tokens(count: int, seed: int = 9) -> list[str]:
    """``count`` tokens of 5 to 30 UTF-8 bytes, mixing scripts and emoji as a language model streams them."""
    pieces = [
        " the",
        " of",
        " token",
        ",",
        ".",
        " é",
        "ß",
        " данные",
        " λ",
        " 数据",
        " 日本",
        " 한국",
        " ไทย",
        " 😀",
        "🚀",
        "👍🏽",
    ]
    rng = random.Random(seed)
    tokens = []
    for _ in range(count):
        target = rng.randint(5, 30)
        token = ""
        while len(token.encode()) < target:
            token += rng.choice(pieces)
        # Whole code points only: trim back to at most 30 bytes.
        while len(token.encode()) > 30:
            token = token[:-1]
        tokens.append(token)
    return tokens


def patch(library: str, patched: bool) -> None:
    """Patch ``library`` with fastframe in this process if ``patched``, and check that it took."""
    if not patched:
        return
    import fastframe

    fastframe.patch(library)
    if not fastframe.integrations.is_patched(library):
        raise RuntimeError(f"fastframe.patch({library!r}) did not patch it")


def integration_exists(library: str) -> bool:
    return importlib.util.find_spec(f"fastframe.integrations.{library}") is not None


# -- servers: each binds 127.0.0.1:0, puts its port on the queue, and serves until terminated.
# Paths: /echo sends every message back; /tokens waits for one message, then streams the tokens.


async def websockets_server(ready: Any, tokens: list[str]) -> None:
    from websockets.asyncio.server import ServerConnection, serve

    async def handler(connection: ServerConnection) -> None:
        assert connection.request is not None
        if connection.request.path == "/tokens":
            await connection.recv()
            for token in tokens:
                await connection.send(token)
            await connection.wait_closed()
        else:
            async for message in connection:
                await connection.send(message)

    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
        ready.put(next(iter(server.sockets)).getsockname()[1])
        await asyncio.Future()


async def aiohttp_server(ready: Any, tokens: list[str]) -> None:
    from aiohttp import WSMsgType, web

    async def echo(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False, max_msg_size=0)
        await ws.prepare(request)
        async for message in ws:
            if message.type is WSMsgType.BINARY:
                await ws.send_bytes(message.data)
            elif message.type is WSMsgType.TEXT:
                await ws.send_str(message.data)
        return ws

    async def stream(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False, max_msg_size=0)
        await ws.prepare(request)
        await ws.receive()
        for token in tokens:
            await ws.send_str(token)
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/echo", echo)
    app.router.add_get("/tokens", stream)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert server is not None
    ready.put(server.sockets[0].getsockname()[1])
    await asyncio.Future()


async def wsproto_server(ready: Any, tokens: list[str]) -> None:
    from wsproto import ConnectionType, WSConnection
    from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Message, Request, TextMessage

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = WSConnection(ConnectionType.SERVER)
        path = ""
        parts: list[Any] = []
        streaming = False
        while True:
            data = await reader.read(65536)
            if not data:
                break
            connection.receive_data(data)
            for event in connection.events():
                if isinstance(event, Request):
                    path = event.target
                    writer.write(connection.send(AcceptConnection()))
                elif isinstance(event, (TextMessage, BytesMessage)):
                    parts.append(event.data)
                    if not event.message_finished:
                        continue
                    message = "".join(parts) if isinstance(event, TextMessage) else b"".join(parts)
                    parts = []
                    if path == "/tokens" and not streaming:
                        streaming = True
                        # The library's send per token, each written as it comes; drained now and then
                        # so that the client's pace limits the stream, not the server's memory.
                        for i, token in enumerate(tokens):
                            writer.write(connection.send(Message(data=token)))
                            if i % 64 == 63:
                                await writer.drain()
                    elif path != "/tokens":
                        writer.write(connection.send(Message(data=message)))
                elif isinstance(event, CloseConnection):
                    writer.write(connection.send(event.response()))
                    await writer.drain()
                    writer.close()
                    return
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    ready.put(server.sockets[0].getsockname()[1])
    await asyncio.Future()


async def raw_token_server(ready: Any, tokens: list[str]) -> None:
    """Writes the tokens as frames built beforehand, BATCH frames per write: only the client works."""
    import fastframe

    frames = [fastframe.build_frame(fastframe.Opcode.TEXT, token.encode()) for token in tokens]
    batches = [b"".join(frames[i : i + BATCH]) for i in range(0, len(frames), BATCH)]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        key = next(
            line.split(b":", 1)[1].strip()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        # The client's "go" (a masked frame of a few bytes; its content does not matter here).
        await reader.read(64)
        for batch in batches:
            writer.write(batch)
            await writer.drain()
        # Whatever the client sends next starts its closing handshake: answer it (RFC 6455 §5.5.1).
        await reader.read(64)
        writer.write(fastframe.build_frame(fastframe.Opcode.CLOSE, fastframe.build_close(1000, "")))
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    ready.put(server.sockets[0].getsockname()[1])
    await asyncio.Future()


SERVERS: dict[str, Callable[[Any, list[str]], Awaitable[None]]] = {
    "websockets": websockets_server,
    "aiohttp": aiohttp_server,
    "wsproto": wsproto_server,
    "raw": raw_token_server,
}


def serve(kind: str, library: str, patched: bool, token_count: int, ready: Any) -> None:
    """Server process: ``kind`` is a library's server, or "raw" for the client-bound token stream."""
    patch(library, patched)
    asyncio.run(SERVERS[kind](ready, make_tokens(token_count)))


# -- clients: each returns (messages received, seconds, a check value the caller compares).


class Client:
    """The operations a scenario needs from one library's client."""

    async def open(self, url: str) -> None:
        raise NotImplementedError

    async def send(self, message: Any) -> None:
        raise NotImplementedError

    async def recv(self) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class WebsocketsClient(Client):
    async def open(self, url: str) -> None:
        from websockets.asyncio.client import connect

        self.ws = await connect(url, compression=None, max_size=None)
        self.send = self.ws.send  # type: ignore[method-assign]
        self.recv = self.ws.recv  # type: ignore[method-assign]

    async def close(self) -> None:
        await self.ws.close()


class AiohttpClient(Client):
    async def open(self, url: str) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(url, max_msg_size=0, compress=0)
        self.receive = self.ws.receive

    async def send(self, message: Any) -> None:
        if isinstance(message, str):
            await self.ws.send_str(message)
        else:
            await self.ws.send_bytes(message)

    async def recv(self) -> Any:
        return (await self.receive()).data

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


class WsprotoClient(Client):
    """wsproto over asyncio streams: what a wsproto-based client does with the bytes of a socket."""

    async def open(self, url: str) -> None:
        from wsproto import ConnectionType, WSConnection
        from wsproto.events import AcceptConnection, Request

        host_port, _, path = url.removeprefix("ws://").partition("/")
        host, _, port = host_port.partition(":")
        self.reader, self.writer = await asyncio.open_connection(host, int(port))
        self.connection = WSConnection(ConnectionType.CLIENT)
        self.writer.write(self.connection.send(Request(host=host_port, target="/" + path)))
        self.messages: list[Any] = []
        self.next = 0
        self.parts: list[Any] = []
        events = await self.read()
        if not any(isinstance(event, AcceptConnection) for event in events):
            raise RuntimeError(f"wsproto: the handshake failed: {events}")

    async def read(self) -> list[Any]:
        from wsproto.events import BytesMessage, TextMessage

        data = await self.reader.read(65536)
        if not data:
            raise ConnectionError("wsproto: the server closed the connection")
        self.connection.receive_data(data)
        events = []
        for event in self.connection.events():
            if isinstance(event, (TextMessage, BytesMessage)):
                self.parts.append(event.data)
                if event.message_finished:
                    joiner = "" if isinstance(event, TextMessage) else b""
                    self.messages.append(joiner.join(self.parts))  # type: ignore[attr-defined]
                    self.parts = []
            else:
                events.append(event)
        return events

    async def send(self, message: Any) -> None:
        from wsproto.events import Message

        self.writer.write(self.connection.send(Message(data=message)))
        await self.writer.drain()

    async def recv(self) -> Any:
        while self.next == len(self.messages):
            self.messages.clear()
            self.next = 0
            await self.read()
        self.next += 1
        return self.messages[self.next - 1]

    async def close(self) -> None:
        from wsproto.events import CloseConnection

        self.writer.write(self.connection.send(CloseConnection(code=1000)))
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()
            await asyncio.wait_for(self.reader.read(), 5)
        self.writer.close()


CLIENTS: dict[str, Callable[[], Client]] = {
    "websockets": WebsocketsClient,
    "aiohttp": AiohttpClient,
    "wsproto": WsprotoClient,
}


async def receive_tokens(library: str, url: str, count: int) -> tuple[int, float, int]:
    if library == "picows":
        return await picows_tokens(url, count)
    client = CLIENTS[library]()
    await client.open(url)
    received = characters = 0
    started = time.perf_counter()
    await client.send("go")
    recv = client.recv
    while received < count:
        characters += len(await recv())
        received += 1
    seconds = time.perf_counter() - started
    await client.close()
    return received, seconds, characters


async def picows_tokens(url: str, count: int) -> tuple[int, float, int]:
    from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

    done = asyncio.get_running_loop().create_future()

    class Listener(WSListener):  # type: ignore[misc]
        received = 0
        characters = 0

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            # The stream's frames are unfragmented: a frame is a message, decoded as the others decode it.
            if frame.msg_type == WSMsgType.TEXT:
                self.characters += len(frame.get_payload_as_utf8_text())
                self.received += 1
                if self.received == count:
                    done.set_result(time.perf_counter())

    transport, listener = await ws_connect(Listener, url)
    started = time.perf_counter()
    transport.send(WSMsgType.TEXT, b"go")
    finished = await done
    transport.send_close()
    transport.disconnect()
    return listener.received, finished - started, listener.characters


async def echo(library: str, url: str, size: int, count: int, limit: float) -> tuple[int, float, int]:
    client = CLIENTS[library]()
    await client.open(url)
    payload = bytes(random.Random(size).randrange(256) for _ in range(size))
    window = ECHO_WINDOW[size]
    received = wrong = 0
    started = time.perf_counter()
    deadline = started + limit
    send, recv = client.send, client.recv
    while received < count and time.perf_counter() < deadline:
        for _ in range(window):
            await send(payload)
        for _ in range(window):
            wrong += (await recv()) != payload
        received += window
    seconds = time.perf_counter() - started
    await client.close()
    return received, seconds, wrong


def run_client(scenario: str, library: str, patched: bool, port: int, sizes: Sizes, results: Any) -> None:
    """Client process: measures one run and puts {messages, seconds, check} on the queue."""
    try:
        if library != "picows":
            patch(library, patched)
        if scenario.startswith("echo"):
            url = f"ws://127.0.0.1:{port}/echo"
            coroutine = echo(library, url, ECHO_SIZES[scenario], sizes.echoes[scenario], sizes.echo_seconds)
        else:
            coroutine = receive_tokens(library, f"ws://127.0.0.1:{port}/tokens", sizes.tokens)
        messages, seconds, check = asyncio.run(asyncio.wait_for(coroutine, RUN_TIMEOUT))
        results.put({"messages": messages, "seconds": seconds, "check": check})
    except BaseException as exc:
        results.put({"error": f"{type(exc).__name__}: {exc}"})
        raise


def measure(scenario: str, library: str, patched: bool, sizes: Sizes) -> dict[str, Any]:
    """One run: a server process, a client process; messages received per second, or an error."""
    context = multiprocessing.get_context("spawn")
    ready, results = context.Queue(), context.Queue()
    kind = "raw" if scenario == "tokens-client-bound" else library
    server = context.Process(target=serve, args=(kind, library, patched and kind != "raw", sizes.tokens, ready))
    server.start()
    client = None
    try:
        port = ready.get(timeout=60)
        client = context.Process(target=run_client, args=(scenario, library, patched, port, sizes, results))
        client.start()
        outcome: dict[str, Any] = results.get(timeout=RUN_TIMEOUT + 30)
    except Exception as exc:  # a process that died or hung: reported in the table, the other runs go on
        outcome = {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        for process in (client, server):
            if process is not None:
                process.join(5 if process is client else 0)
                if process.is_alive():
                    process.terminate()
                    process.join(5)
    if "error" in outcome:
        return outcome
    # Each run checks its result: every echo equal to what was sent, every token received.
    if scenario.startswith("echo"):
        if outcome["check"]:
            return {"error": f"{outcome['check']} echoes differ from what was sent"}
    elif (outcome["messages"], outcome["check"]) != (sizes.tokens, token_characters(sizes.tokens)):
        return {
            "error": f"received {outcome['messages']} tokens of {outcome['check']} characters, expected "
            f"{sizes.tokens} of {token_characters(sizes.tokens)}"
        }
    outcome["rate"] = outcome["messages"] / outcome["seconds"]
    return outcome


@functools.lru_cache
def token_characters(count: int) -> int:
    return sum(len(token) for token in make_tokens(count))


def cases(scenarios: list[str], libraries: list[str]) -> list[tuple[str, str]]:
    chosen = []
    for scenario in scenarios:
        clients = TOKEN_CLIENTS if scenario == "tokens-client-bound" else LIBRARIES
        chosen += [(scenario, library) for library in clients if library in libraries]
    return chosen


def versions() -> dict[str, str]:
    found = {}
    for name in ("fastframe", *TOKEN_CLIENTS):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def fastframe_backend() -> dict[str, Any]:
    """The backend a patch builds on (the facade's selection), and its SIMD kernels."""
    import fastframe

    return {"backend": fastframe.BACKEND, "kernels": fastframe.KERNELS}


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description="End to end WebSocket benchmark over loopback (server and client processes), "
        "patched by fastframe against unpatched.",
        epilog="Scenarios: " + ", ".join(SCENARIOS) + ". See the module docstring for what each measures.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--patched", dest="modes", action="store_const", const=["patched"], help="patched only")
    mode.add_argument("--unpatched", dest="modes", action="store_const", const=["unpatched"], help="unpatched only")
    mode.add_argument(
        "--both", dest="modes", action="store_const", const=["unpatched", "patched"], help="both (the default)"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement; the table shows medians (3)")
    parser.add_argument("--quick", action="store_true", help="fewer messages and one run: a smoke test")
    parser.add_argument("--scenario", action="append", choices=SCENARIOS, help="only these scenarios (repeatable)")
    parser.add_argument("--library", action="append", choices=TOKEN_CLIENTS, help="only these libraries (repeatable)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH ('-': standard output)")
    arguments = parser.parse_args(argv)
    modes = arguments.modes or ["unpatched", "patched"]
    sizes = QUICK if arguments.quick else FULL
    runs = 1 if arguments.quick else arguments.runs
    chosen = cases(arguments.scenario or list(SCENARIOS), arguments.library or list(TOKEN_CLIENTS))

    results: list[dict[str, Any]] = []
    for scenario, library in chosen:
        entries = []
        for mode_name in modes:
            entry: dict[str, Any] = {"scenario": scenario, "library": library, "mode": mode_name, "runs": []}
            results.append(entry)
            if mode_name == "patched" and library == "picows":
                entry["skipped"] = "the reference: never patched"
            elif mode_name == "patched" and not integration_exists(library):
                entry["skipped"] = f"fastframe.integrations.{library} does not exist"
            else:
                entries.append(entry)
        # Runs alternate between the modes, in turn (ABBA...), so that a change in the machine's
        # load during the measurement weighs on both alike.
        for run in range(runs):
            for entry in entries if run % 2 == 0 else entries[::-1]:
                entry["runs"].append(measure(scenario, library, entry["mode"] == "patched", sizes))
        for entry in entries:
            summarize(entry)
            if "median" in entry:
                shown = f"{entry['median']:,.0f} msg/s (runs within {entry['spread']:.0%} of each other)"
            else:
                shown = entry["error"]
            print(f"{scenario:20} {library:11} {entry['mode']:10} {shown}", file=sys.stderr, flush=True)

    # With --json -, standard output is the JSON alone.
    print(table(results, modes, sizes, runs), file=sys.stderr if arguments.json == "-" else sys.stdout)
    if arguments.json:
        document = {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "versions": versions(),
            "fastframe": fastframe_backend(),
            "sizes": {"tokens": sizes.tokens, "echoes": sizes.echoes, "echo_seconds": sizes.echo_seconds},
            "runs": runs,
            "results": results,
        }
        text = json.dumps(document, indent=2)
        if arguments.json == "-":
            print(text)
        else:
            with open(arguments.json, "w") as file:
                file.write(text + "\n")
    return 1 if any("error" in entry for entry in results) else 0


def summarize(entry: dict[str, Any]) -> None:
    """The entry's median rate and the spread of its runs ((max - min) / median), or its first error."""
    rates = [run["rate"] for run in entry["runs"] if "rate" in run]
    errors = [run["error"] for run in entry["runs"] if "error" in run]
    if errors:
        entry["error"] = errors[0]
    else:
        entry["median"] = statistics.median(rates)
        entry["spread"] = (max(rates) - min(rates)) / entry["median"]


def table(results: list[dict[str, Any]], modes: list[str], sizes: Sizes, runs: int) -> str:
    """A markdown table: messages received per second (medians), and patched / unpatched."""

    def cell(entry: Optional[dict[str, Any]]) -> str:
        if entry is None:
            return ""
        if "median" in entry:
            spread = f" ({entry['spread']:.0%})" if len(entry["runs"]) > 1 else ""
            return f"{entry['median']:,.0f}{spread}"
        return "n/a" if "skipped" in entry else "error"

    rows = {}
    for entry in results:
        rows.setdefault((entry["scenario"], entry["library"]), {})[entry["mode"]] = entry
    header = ["scenario", "client", *(f"{mode} msg/s" for mode in modes)]
    if len(modes) == 2:
        header.append("patched / unpatched")
    lines = ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * (len(header) - 2)]
    for (scenario, library), by_mode in rows.items():
        line = [scenario, library, *(cell(by_mode.get(mode)) for mode in modes)]
        if len(modes) == 2:
            before, after = (by_mode[mode].get("median") for mode in modes)
            line.append(f"{after / before:.2f}x" if before and after else "")
        lines.append("| " + " | ".join(line) + " |")
    lines.append("")
    lines.append(
        f"Medians of {runs} run(s), in parentheses the spread of the runs ((max - min) / median); "
        f"{sizes.tokens:,} tokens per stream; "
        f"echoes: {', '.join(f'{n:,} x {s}' for s, n in sizes.echoes.items())} (or {sizes.echo_seconds:g} s)."
    )
    lines += targets(rows)
    return "\n".join(lines)


def targets(rows: dict[tuple[str, str], dict[str, dict[str, Any]]]) -> list[str]:
    """Issue 9's end-to-end targets, each with its measured ratio, where this run measured both sides."""

    def median(scenario: str, library: str, mode: str) -> Optional[float]:
        return rows.get((scenario, library), {}).get(mode, {}).get("median")

    checks = [
        ("websockets client-bound tokens, patched / unpatched", 1.5, "tokens-client-bound", "websockets", "unpatched"),
        ("websockets 16 B echo, patched / unpatched", 1.2, "echo-16B", "websockets", "unpatched"),
        ("aiohttp client-bound tokens, patched / picows", 1.0, "tokens-client-bound", "picows", "unpatched"),
    ]
    lines = []
    for label, target, scenario, reference, reference_mode in checks:
        library = label.split()[0]
        patched, base = median(scenario, library, "patched"), median(scenario, reference, reference_mode)
        if patched and base:
            verdict = "met" if patched / base >= target else "NOT met"
            lines.append(f"- {label}: {patched / base:.2f} (target >= {target:g}): {verdict}")
    return ["", "Targets (issue 9):", *lines] if lines else []


if __name__ == "__main__":
    sys.exit(main())
