"""Adapters: each library's comparable calls, behind one small interface.

An :class:`Adapter` answers, for each kernel, with a callable doing that job
the library's own way (or ``None`` when the library has no comparable call),
and for streams with a :class:`Receiver`: a fresh parser, how a socket read
is fed to it, and the messages it delivered. fastframe is an adapter too
(one per backend), so every implementation is driven the same way.

Nothing here decides what is correct: :mod:`.timing` checks every call
against fastframe's pure twin before timing it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass
from typing import Any, Optional

from .inputs import MASK

#: Size limits high enough for every input here (aiohttp keeps them in a C unsigned int).
LIMIT = 64 * 1024 * 1024
#: A payload as delivered: ``str`` for text (decoded), ``bytes`` for binary.
Payload = Any


@dataclass
class Receiver:
    """A library's receive path: ``feed(state, chunk)`` per socket read, then ``take(state)``.

    ``take`` returns the payloads delivered so far, text decoded to ``str``.
    """

    new: Callable[[], Any]
    feed: Callable[[Any, bytes], None]
    take: Callable[[Any], list[Payload]]


def _module(name: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module(name)


class Adapter:
    """One implementation family: fastframe on a backend, or a peer library."""

    #: Name in the table and the JSON.
    name = ""
    #: What must import for the library to count as installed.
    module = ""
    #: Its distribution on PyPI, for the version.
    distribution = ""
    #: Said in the output when the library has none of the calls measured.
    note = ""

    def available(self) -> Optional[str]:
        """``None`` if installed, else why not (printed beside the table)."""
        try:
            _module(self.module)
        except Exception as exc:  # ImportError, or a broken install's own error
            return f"{type(exc).__name__}: {exc}"
        return None

    def version(self) -> str:
        """The installed distribution's version, or ``"?"``."""
        try:
            return importlib.metadata.version(self.distribution)
        except (importlib.metadata.PackageNotFoundError, ValueError):  # ValueError: no distribution name
            return "?"

    def apply_mask(self) -> Optional[Callable[[bytes], Any]]:
        """``f(data)``: ``data`` masked with :data:`~.inputs.MASK`, in a new buffer (RFC 6455 §5.3)."""
        return None

    def mask_inplace(self) -> Optional[Callable[[bytearray], Any]]:
        """``f(buf)``: ``buf`` masked in place with :data:`~.inputs.MASK`."""
        return None

    def validate_utf8(self) -> Optional[Callable[[bytes], bool]]:
        """``f(data)``: whether ``data`` is a complete, valid UTF-8 text (RFC 3629)."""
        return None

    def parse_header(self) -> Optional[tuple[Callable[[bytes], Any], Callable[[bytes, Any], Any]]]:
        """``(f, fields)``: ``f(header)`` parses a masked frame header already in memory (RFC 6455 §5.2).

        ``fields(header, result)`` gives ``(opcode, fin, payload length, masked)``.
        """
        return None

    def build_frame(self) -> Optional[Callable[[bytes], Any]]:
        """``f(payload)``: a final binary frame, masked as a client sends it (RFC 6455 §5.3)."""
        return None

    def receiver(self, *, client: bool, frames: bool = False) -> Optional[Receiver]:
        """The receive path of a client (unmasked frames in) or a server (masked frames in).

        With ``frames``, frames may be delivered as they are, unassembled.
        """
        return None

    def patched(self) -> Optional[Callable[[], ContextManager[Any]]]:
        """A context in which ``fastframe.patch()`` is applied to this library, if it can be."""
        return None


class Fastframe(Adapter):
    """fastframe on one backend: ``"cython"`` (compiled) or ``"python"`` (the pure twin)."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.name = f"fastframe-{backend}"
        self.module = "fastframe"
        self.distribution = "fastframe"

    def _api(self) -> Any:
        from fastframe._backend import load_backend

        return load_backend(self.backend)

    def version(self) -> str:
        """fastframe's own ``__version__``: also right when it runs from a source tree, not installed."""
        import fastframe

        return fastframe.__version__

    def available(self) -> Optional[str]:
        try:
            self._api()
        except ImportError as exc:
            return f"ImportError: {exc}"
        return None

    def apply_mask(self) -> Optional[Callable[[bytes], Any]]:
        apply_mask = self._api().apply_mask
        return lambda data: apply_mask(data, MASK)

    def mask_inplace(self) -> Optional[Callable[[bytearray], Any]]:
        mask_inplace = self._api().mask_inplace
        return lambda buf: mask_inplace(buf, MASK)

    def validate_utf8(self) -> Optional[Callable[[bytes], bool]]:
        validate_utf8: Callable[[bytes], bool] = self._api().validate_utf8
        return validate_utf8

    def parse_header(self) -> Optional[tuple[Callable[[bytes], Any], Callable[[bytes, Any], Any]]]:
        def fields(_data: bytes, header: Any) -> Any:
            return (int(header.opcode), bool(header.fin), header.length, header.mask is not None)

        return self._api().parse_header, fields

    def build_frame(self) -> Optional[Callable[[bytes], Any]]:
        build_frame = self._api().build_frame
        return lambda payload: build_frame(0x2, payload, mask=True)

    def receiver(self, *, client: bool, frames: bool = False) -> Optional[Receiver]:
        api = self._api()

        def new() -> Any:
            parser = api.FrameParser(client=client, max_frame_size=LIMIT, max_message_size=LIMIT)
            return ([], parser if frames else api.MessageAssembler(parser))

        def feed(state: Any, chunk: bytes) -> None:
            state[0].extend(state[1].feed(chunk))

        def take(state: Any) -> list[Payload]:
            if frames:
                return [frame.payload for frame in state[0]]
            return [message.data for message in state[0]]

        return Receiver(new, feed, take)


@contextlib.contextmanager
def _patch(library: str, backend: str = "cython") -> Iterator[None]:
    from fastframe.integrations import _patching

    integration = importlib.import_module(f"fastframe.integrations.{library}")
    with _patching.using_backend(backend):
        integration.patch()
    try:
        yield
    finally:
        integration.unpatch()


def _patcher(library: str) -> Optional[Callable[[], ContextManager[Any]]]:
    """A context patching ``library`` with the compiled backend, if it can be patched here."""
    try:
        from fastframe._backend import load_backend

        load_backend("cython")
        with _patch(library):
            pass
    except Exception:  # not installed, outside the supported range, or no compiled backend
        return None
    return lambda: _patch(library)


class Websockets(Adapter):
    """websockets: its C ``apply_mask``, ``Frame`` and the sans-I/O ``Protocol``."""

    name = module = distribution = "websockets"

    def apply_mask(self) -> Optional[Callable[[bytes], Any]]:
        apply_mask = _module("websockets.speedups").apply_mask
        return lambda data: apply_mask(data, MASK)

    def parse_header(self) -> Optional[tuple[Callable[[bytes], Any], Callable[[bytes, Any], Any]]]:
        # websockets has no header-only parser: Frame.parse reads the header
        # (and the key), then suspends until the payload is there.
        frame = _module("websockets.frames").Frame
        reader = _module("websockets.streams").StreamReader()

        def parse(header: bytes) -> Any:
            reader.feed_data(header)
            parser = frame.parse(reader.read_exact, mask=True, max_size=None)
            try:
                next(parser)
            except StopIteration as done:  # an empty payload: the frame is already complete
                return done.value
            return parser

        def fields(header: bytes, parser: Any) -> Any:
            if isinstance(parser, frame):
                got = parser
            else:
                length = header[1] & 0x7F
                if length >= 126:
                    length = int.from_bytes(header[2 : 4 if length == 126 else 10], "big")
                reader.feed_data(bytes(length))
                try:
                    next(parser)
                except StopIteration as done:
                    got = done.value
                else:
                    raise AssertionError("websockets wanted more than the frame")
            return (int(got.opcode), bool(got.fin), len(got.data), True)

        return parse, fields

    def build_frame(self) -> Optional[Callable[[bytes], Any]]:
        frames = _module("websockets.frames")
        frame, binary = frames.Frame, frames.Opcode.BINARY
        return lambda payload: frame(binary, payload).serialize(mask=True)

    def _receiver(self, client: bool) -> Receiver:
        protocol = _module("websockets.protocol")
        side = protocol.Side.CLIENT if client else protocol.Side.SERVER
        text = _module("websockets.frames").Opcode.TEXT

        def new() -> Any:
            # Looked up on every call: under fastframe.patch() the class is patched.
            return [], protocol.Protocol(side, max_size=None)

        def feed(state: Any, chunk: bytes) -> None:
            state[1].receive_data(chunk)
            # The Protocol hands out frames; websockets' connections decode text
            # before delivering it, so that is timed here too, as in every other receiver.
            state[0].extend(f.data.decode() if f.opcode is text else f.data for f in state[1].events_received())

        def take(state: Any) -> list[Payload]:
            return [bytes(data) if isinstance(data, (bytearray, memoryview)) else data for data in state[0]]

        return Receiver(new, feed, take)

    def receiver(self, *, client: bool, frames: bool = False) -> Optional[Receiver]:
        return self._receiver(client)

    def patched(self) -> Optional[Callable[[], ContextManager[Any]]]:
        return _patcher("websockets")


class Wsproto(Adapter):
    """wsproto: its masker and ``FrameProtocol`` (what its ``Connection`` runs)."""

    name = module = distribution = "wsproto"

    def apply_mask(self) -> Optional[Callable[[bytes], Any]]:
        masker = _module("wsproto.frame_protocol").XorMaskerSimple
        # It keeps its key phase between calls: a frame gets a new one, as in wsproto.
        return lambda data: masker(MASK).process(data)

    def build_frame(self) -> Optional[Callable[[bytes], Any]]:
        client = _module("wsproto.frame_protocol").FrameProtocol(client=True, extensions=[])
        return lambda payload: client.send_data(payload, fin=True)

    def receiver(self, *, client: bool, frames: bool = False) -> Optional[Receiver]:
        module = _module("wsproto.frame_protocol")

        def new() -> Any:
            # Looked up on every call: under fastframe.patch() the class is patched.
            return [], [], module.FrameProtocol(client=client, extensions=[])

        def feed(state: Any, chunk: bytes) -> None:
            done, parts, protocol = state
            protocol.receive_bytes(chunk)
            for frame in protocol.received_frames():
                # A frame may come in pieces (frame_finished=False): join them per message.
                parts.append(frame.payload)
                if frame.message_finished:
                    done.append(parts[0][:0].join(parts))
                    parts.clear()

        return Receiver(new, feed, lambda state: state[0])

    def patched(self) -> Optional[Callable[[], ContextManager[Any]]]:
        return _patcher("wsproto")


class _AiohttpProtocol:
    """The two members of aiohttp's protocol its data queue touches."""

    _reading_paused = False

    def pause_reading(self) -> None:
        """Never reached: the queue's limit is far above what is fed."""


class Aiohttp(Adapter):
    """aiohttp: its compiled masker and ``WebSocketReader`` (compiled when aiohttp has it)."""

    name = module = distribution = "aiohttp"

    def apply_mask(self) -> Optional[Callable[[bytes], Any]]:
        mask = _module("aiohttp._websocket.mask")._websocket_mask_cython

        def apply(data: bytes) -> bytearray:
            # It masks in place only: a received payload is copied out of the read buffer anyway.
            buf = bytearray(data)
            mask(MASK, buf)
            return buf

        return apply

    def mask_inplace(self) -> Optional[Callable[[bytearray], Any]]:
        mask = _module("aiohttp._websocket.mask")._websocket_mask_cython
        return lambda buf: mask(MASK, buf)

    def receiver(self, *, client: bool, frames: bool = False) -> Optional[Receiver]:
        reader = _module("aiohttp._websocket.reader")

        def new() -> Any:
            queue = reader.WebSocketDataQueue(_AiohttpProtocol(), 2**30, loop=None)
            # Looked up on every call: under fastframe.patch() the class is patched.
            return reader.WebSocketReader(queue, LIMIT, False, True), queue

        def feed(state: Any, chunk: bytes) -> None:
            failed, _ = state[0].feed_data(chunk)
            if failed:
                raise RuntimeError(f"aiohttp refused the stream: {state[1].exception()!r}")

        def take(state: Any) -> list[Payload]:
            return [message.data for message, _size in state[1]._buffer]

        return Receiver(new, feed, take)

    def patched(self) -> Optional[Callable[[], ContextManager[Any]]]:
        return _patcher("aiohttp")


class Tornado(Adapter):
    """tornado: its C masker (its frame parser needs an IOStream)."""

    name = module = distribution = "tornado"

    def apply_mask(self) -> Optional[Callable[[bytes], Any]]:
        mask = _module("tornado.speedups").websocket_mask
        return lambda data: mask(MASK, data)


def _whole_text(checker: Any) -> Callable[[bytes], bool]:
    """A whole-text check from an incremental ``Utf8Validator`` of autobahn's
    API (wsaccel has the same): valid only if the text also ends on a code point."""
    reset, validate = checker.reset, checker.validate

    def valid(data: bytes) -> bool:
        reset()
        ok, ends_on_code_point, _, _ = validate(data)
        return bool(ok and ends_on_code_point)

    return valid


class Wsaccel(Adapter):
    """wsaccel: the compiled masker and UTF-8 validator autobahn and ws4py use."""

    name = module = distribution = "wsaccel"

    def apply_mask(self) -> Optional[Callable[[bytes], Any]]:
        masker = _module("wsaccel.xormask").XorMaskerSimple
        return lambda data: masker(MASK).process(data)

    def validate_utf8(self) -> Optional[Callable[[bytes], bool]]:
        return _whole_text(_module("wsaccel.utf8validator").Utf8Validator())


class WebsocketClient(Adapter):
    """websocket-client: ``ABNF`` masking, framing and its UTF-8 check."""

    name = distribution = "websocket-client"
    module = "websocket"

    def apply_mask(self) -> Optional[Callable[[bytes], Any]]:
        mask = _module("websocket._abnf").ABNF.mask
        return lambda data: mask(MASK, data)

    def validate_utf8(self) -> Optional[Callable[[bytes], bool]]:
        validate: Callable[[bytes], bool] = _module("websocket._utils").validate_utf8
        return validate

    def build_frame(self) -> Optional[Callable[[bytes], Any]]:
        abnf = _module("websocket._abnf").ABNF
        # Always masked with a fresh key: websocket-client is a client.
        return lambda payload: abnf.create_frame(payload, abnf.OPCODE_BINARY).format()


class Autobahn(Adapter):
    """autobahn: its maskers and UTF-8 validator (wsaccel's when wsaccel is installed)."""

    name = module = distribution = "autobahn"

    def apply_mask(self) -> Optional[Callable[[bytes], Any]]:
        create = _module("autobahn.websocket.xormasker").create_xor_masker
        return lambda data: create(MASK, len(data)).process(data)

    def validate_utf8(self) -> Optional[Callable[[bytes], bool]]:
        return _whole_text(_module("autobahn.websocket.utf8validator").Utf8Validator())


class Picows(Adapter):
    """picows: fast, but its parser lives inside its asyncio transport."""

    name = module = distribution = "picows"
    note = "no standalone masking, UTF-8 or parsing call (measured as a client by --e2e)"


class Stdlib(Adapter):
    """``bytes.decode``: what most libraries validate text with."""

    name = "bytes.decode"
    module = "codecs"
    distribution = ""

    def version(self) -> str:
        import platform

        return f"Python {platform.python_version()}"

    def validate_utf8(self) -> Optional[Callable[[bytes], bool]]:
        def valid(data: bytes) -> bool:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                return False
            return True

        return valid


#: Every peer, in the table's order; tests may add to it.
PEERS: list[Adapter] = [
    Websockets(),
    Wsproto(),
    Aiohttp(),
    Tornado(),
    Wsaccel(),
    WebsocketClient(),
    Autobahn(),
    Picows(),
    Stdlib(),
]
