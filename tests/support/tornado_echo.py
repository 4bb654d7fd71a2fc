"""An echo over loopback: a tornado WebSocket server, a websocket-client client.

The server runs its own IOLoop in a thread; the client is websocket-client's
blocking ``WebSocket``.  :func:`echo` sends a list of messages (text, binary,
fragmented), a ping and a close, and returns what each side saw, so a test
can compare a run with a library patched against one without.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Union

#: What the client sends: str is a text message, bytes binary, a list the fragments of one message.
Outgoing = Union[str, bytes, list[Any]]


def _server_thread(ready: threading.Event, state: dict[str, Any], compression: bool) -> None:
    import tornado.web
    import tornado.websocket

    log: list[Any] = state["server_log"]

    class Echo(tornado.websocket.WebSocketHandler):
        def get_compression_options(self) -> Any:
            return {} if compression else None

        def on_message(self, message: Union[str, bytes]) -> None:
            log.append(message)
            self.write_message(message, binary=isinstance(message, bytes))

        def on_ping(self, data: bytes) -> None:
            log.append(("ping", data))

        def on_close(self) -> None:
            log.append(("close", self.close_code, self.close_reason))

    async def main() -> None:
        app = tornado.web.Application([("/", Echo)], websocket_max_message_size=1 << 22)
        server = app.listen(0, "127.0.0.1")
        (sock,) = server._sockets.values()
        state["port"] = sock.getsockname()[1]
        state["stop"] = stop = asyncio.Event()
        state["loop"] = asyncio.get_running_loop()
        ready.set()
        await stop.wait()
        server.stop()

    asyncio.run(main())


def echo(messages: list[Outgoing], *, compression: bool = False) -> tuple[list[Any], list[Any]]:
    """Send ``messages``, a ping and a close through a tornado echo server; return (client log, server log)."""
    import websocket

    state: dict[str, Any] = {"server_log": []}
    ready = threading.Event()
    thread = threading.Thread(target=_server_thread, args=(ready, state, compression), daemon=True)
    thread.start()
    assert ready.wait(30), "the tornado server did not start"
    client_log: list[Any] = []
    try:
        ws = websocket.create_connection(f"ws://127.0.0.1:{state['port']}/", timeout=30)
        try:
            for message in messages:
                parts = message if isinstance(message, list) else [message]
                opcode = websocket.ABNF.OPCODE_TEXT if isinstance(parts[0], str) else websocket.ABNF.OPCODE_BINARY
                if len(parts) == 1:
                    ws.send(parts[0], opcode)
                else:
                    ws.send_frame(websocket.ABNF.create_frame(parts[0], opcode, fin=0))
                    for n, part in enumerate(parts[1:], 2):
                        # create_frame encodes str only for a text opcode.
                        part = part.encode() if isinstance(part, str) else part
                        cont = websocket.ABNF.create_frame(part, websocket.ABNF.OPCODE_CONT, fin=int(n == len(parts)))
                        ws.send_frame(cont)
                opcode, data = ws.recv_data()
                client_log.append((opcode, data))
            ws.ping(b"are you there")
            opcode, data = ws.recv_data(control_frame=True)
            client_log.append((opcode, data))
            ws.close(status=1000, reason=b"done")
            client_log.append(("closed", ws.connected))
        finally:
            ws.shutdown()
    finally:
        loop = state.get("loop")
        if loop is not None:
            loop.call_soon_threadsafe(state["stop"].set)
        thread.join(30)
    return client_log, state["server_log"]
