"""An echo server for tests/test_browser.py: one library, one configuration, one process.

Run as ``python echo_server.py LIBRARY --compression deflate|none
--patch none|cython|python [--corrupt]``.  It binds 127.0.0.1 on a free
port, prints one JSON line (the port, and whether fastframe patched the
library), and serves until its standard input closes, so that it never
outlives the test that started it.

Paths: ``/echo`` sends each message back as it came; ``/fragment`` sends it
back in three fragments (RFC 6455 §5.4), which a browser never does itself.
``--corrupt`` flips one byte of the echo of every 65536-byte binary message,
so the test can show that the page notices.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, Union

Data = Union[str, bytes]

# Above the page's largest message (1 MiB), which each library's default (1 MiB in websockets) would refuse.
MAX_SIZE = 4 << 20


def thirds(data: bytes) -> Iterator[bytes]:
    """``data`` in three fragments: text is cut in its UTF-8 encoding, often inside a character (§5.6)."""
    third = len(data) // 3
    yield data[:third]
    yield data[third : 2 * third]
    yield data[2 * third :]


def corrupted(message: Data, corrupt: bool) -> Data:
    if corrupt and isinstance(message, bytes) and len(message) == 65536:
        return message[:1000] + bytes([message[1000] ^ 0x01]) + message[1001:]
    return message


async def serve_websockets(compression: bool, corrupt: bool) -> AsyncIterator[int]:
    from websockets.asyncio.server import ServerConnection, serve

    async def handler(connection: ServerConnection) -> None:
        fragment = connection.request is not None and connection.request.path == "/fragment"
        async for message in connection:
            message = corrupted(message, corrupt)
            if not fragment:
                await connection.send(message)
            elif isinstance(message, str):
                await connection.send(thirds(message.encode()), text=True)
            else:
                await connection.send(thirds(message))

    options: dict[str, Any] = {} if compression else {"compression": None}
    async with serve(handler, "127.0.0.1", 0, max_size=MAX_SIZE, **options) as server:
        yield next(iter(server.sockets)).getsockname()[1]


async def serve_aiohttp(compression: bool, corrupt: bool) -> AsyncIterator[int]:
    from aiohttp import WSMsgType, web

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=compression, max_msg_size=MAX_SIZE)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type is WSMsgType.BINARY:
                await ws.send_bytes(corrupted(msg.data, corrupt))
        return ws

    app = web.Application()
    app.router.add_get("/echo", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        server = site._server
        assert server is not None
        yield server.sockets[0].getsockname()[1]
    finally:
        await runner.cleanup()


SERVERS = {"websockets": serve_websockets, "aiohttp": serve_aiohttp}


@contextlib.contextmanager
def patched(library: str, backend: str) -> Iterator[bool]:
    """fastframe's patch of ``library`` on ``backend`` within the block; ``backend == "none"``: unpatched."""
    if backend == "none":
        yield False
        return
    import fastframe
    from fastframe.integrations._patching import using_backend

    with using_backend(backend):
        fastframe.patch(library)
    try:
        yield fastframe.integrations.is_patched(library)
    finally:
        fastframe.unpatch(library)


async def main(arguments: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    # Standard input closes when the test ends, even if it is killed.
    threading.Thread(
        target=lambda: (sys.stdin.read(), loop.call_soon_threadsafe(stop.set_result, None)), daemon=True
    ).start()
    server = SERVERS[arguments.library](arguments.compression == "deflate", arguments.corrupt)
    with patched(arguments.library, arguments.patch) as is_patched:
        port = await server.__anext__()
        print(json.dumps({"port": port, "patched": is_patched}), flush=True)
        await stop
        await server.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("library", choices=sorted(SERVERS))
    parser.add_argument("--compression", choices=["deflate", "none"], default="deflate")
    parser.add_argument("--patch", choices=["none", "cython", "python"], default="none")
    parser.add_argument("--corrupt", action="store_true")
    asyncio.run(main(parser.parse_args()))
