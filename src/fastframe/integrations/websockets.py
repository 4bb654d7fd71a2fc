"""fastframe under websockets (17.x): the receive path of every implementation, and masking.

What is replaced, and where websockets looks it up:

- ``websockets.protocol.Protocol.parse``, the generator that turns the bytes
  of its ``StreamReader`` into frames for the sans-I/O ``Protocol`` (and so
  for the asyncio, threading and trio implementations, and uvicorn's
  ``websockets-sansio``).  Every complete frame in the reader's buffer is
  parsed in one pass with fastframe's header parser and masking, instead of
  one generator per frame and per read.
- ``websockets.legacy.protocol.WebSocketCommonProtocol.read_frame``, which
  the legacy implementation (uvicorn's ``ws="websockets"``) calls for every
  frame: a frame already in the ``asyncio.StreamReader``'s buffer is taken
  from there in one step instead of up to four ``readexactly()`` calls.
- ``apply_mask`` in ``websockets.frames`` and ``websockets.legacy.framing``
  (each binds it by name at import), and ``Frame.serialize``, for sending.

Behaviour stays websockets' own.  Only frames that websockets would accept
up to its extensions take the fast path; anything else (an incomplete frame,
a reserved opcode, wrong masking, a frame over ``max_size``) goes through
websockets' own ``Frame.parse`` / ``Frame.read``, which raises its own
exceptions with its own messages.  Extensions (permessage-deflate) decode
each frame with websockets' own code and limits, and websockets' own
``recv_frame`` handles control frames.  Masking keys for outgoing frames
come from ``secrets.token_bytes(4)``, looked up at call time, as websockets
does.

``websockets.legacy`` warns on import that it is deprecated, so it is not
imported here: if it is not imported yet, an import hook patches it when it
is.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import importlib.abc
import importlib.machinery
import secrets
import struct
import sys
from collections.abc import Generator, Sequence
from types import ModuleType
from typing import Any, Callable, Optional

from ..errors import ProtocolError as _FastframeProtocolError
from . import _patching
from ._patching import Integration, PatchSet

__all__ = ["SUPPORTED_VERSIONS", "PATCHED_BY_DEFAULT", "patch", "unpatch", "is_patched"]

_LEGACY_FRAMING = "websockets.legacy.framing"
_LEGACY_PROTOCOL = "websockets.legacy.protocol"


def _relay(api: Any) -> ModuleType:
    """fastframe's fast paths into other libraries' objects, of backend ``api``."""
    return importlib.import_module("fastframe._relay" + ("" if api.name == "cython" else "_py"))


def _opcodes(frames: ModuleType) -> tuple[Any, ...]:
    """websockets' ``Opcode`` members by value, None for the values it rejects."""
    known = {int(opcode): opcode for opcode in frames.Opcode}
    return tuple(known.get(value) for value in range(16))


def _build_parse(api: Any, ws: dict[str, Any]) -> Callable[[Any], Generator[None, None, None]]:
    """The replacement of ``Protocol.parse`` (RFC 6455 §5.2, §6.2), built on backend ``api``."""
    parse_header = api.parse_header
    apply_mask = api.apply_mask
    frames = ws["frames"]
    exceptions = ws["exceptions"]
    protocol = ws["protocol"]
    frame_class = frames.Frame
    opcodes = _opcodes(frames)
    cont = frames.Opcode.CONT
    close_code = frames.CloseCode
    server = protocol.Side.SERVER
    ws_protocol_error = exceptions.ProtocolError
    payload_too_big = exceptions.PayloadTooBig
    original_recv_frame = protocol.Protocol.recv_frame
    unpack = struct.unpack
    # Plain data frames in bulk, built as websockets' dataclass __init__ would:
    # only if Frame is still that plain dataclass.
    fields = (
        tuple(field.name for field in dataclasses.fields(frame_class)) if dataclasses.is_dataclass(frame_class) else ()
    )
    plain = fields == ("opcode", "data", "fin", "rsv1", "rsv2", "rsv3") and not hasattr(frame_class, "__post_init__")
    plain = plain and "__slots__" not in vars(frame_class)
    read_data_frames = _relay(api).read_data_frames if plain else None

    def receive_frames(self: Any) -> None:
        """Handle every complete frame at the start of the reader's buffer that websockets would read whole.

        Stops before the first frame that is not complete yet, or that
        websockets' ``Frame.parse`` would refuse before reading its payload
        (reserved opcode, wrong masking, over ``max_size``): ``parse`` hands
        that one to ``Frame.parse``.  The bytes of handled frames are removed
        from the buffer, as ``read_exact`` would have.
        """
        if struct.unpack is not unpack:
            # Someone instruments the stdlib call websockets' Frame.parse reads
            # headers with (its own tests make it fail, to check that an
            # internal error closes with 1011): let Frame.parse run into it.
            return
        buf = self.reader.buffer
        end = len(buf)
        pos = 0
        masked = self.side is server
        extensions = self.extensions
        max_message_size = self.max_message_size
        max_fragment_size = self.max_fragment_size
        events = self.events
        # websockets' recv_frame for data frames is a few lines on current_size;
        # done inline unless someone replaced recv_frame (then it is called).
        inline = type(self).recv_frame is original_recv_frame and "recv_frame" not in self.__dict__
        bulk = read_data_frames if inline and not extensions and not self.debug else None
        try:
            while end - pos >= 2:
                if bulk is not None:
                    pos, self.current_size = bulk(
                        buf,
                        pos,
                        masked,
                        max_message_size,
                        max_fragment_size,
                        self.current_size,
                        frame_class,
                        opcodes,
                        events,
                    )
                    if end - pos < 2:
                        break
                try:
                    header = parse_header(buf, pos)
                except _FastframeProtocolError:
                    # A 64-bit length with its MSB set: websockets reads it as a length.
                    return
                if header is None:
                    return
                code = header.opcode
                opcode = opcodes[code]
                if opcode is None or header.masked != masked:
                    return
                length = header.length
                # The limit websockets' Protocol.parse passes to Frame.parse.
                current_size = self.current_size
                if max_message_size is None:
                    max_size = max_fragment_size
                else:
                    max_size = max_message_size if current_size is None else max_message_size - current_size
                    if max_fragment_size is not None and max_fragment_size < max_size:
                        max_size = max_fragment_size
                if max_size is not None and length > max_size:
                    return
                start = pos + header.size
                stop = start + length
                if stop > end:
                    return
                # Types as read_exact and apply_mask give them: an unmasked
                # payload stays a bytearray, an unmasked one is new bytes.
                if masked:
                    data: Any = apply_mask(buf[start:stop], header.mask)
                else:
                    data = buf[start:stop]
                pos = stop
                frame = frame_class(opcode, data, header.fin, header.rsv1, header.rsv2, header.rsv3)
                if extensions:
                    for extension in reversed(extensions):
                        frame = extension.decode(frame, max_size=max_size)
                if code >= 8 or frame.rsv1 or frame.rsv2 or frame.rsv3:
                    frame.check()
                if self.debug:
                    self.logger.debug("< %s", frame)
                if code >= 8:
                    # A close frame makes recv_frame discard the buffer: hand
                    # it over with this frame's bytes already consumed.
                    del buf[:pos]
                    pos = 0
                    self.recv_frame(frame)
                    end = len(buf)
                    events = self.events
                elif inline:
                    fin = frame.fin
                    if opcode is cont:
                        if current_size is None:
                            raise ws_protocol_error("unexpected continuation frame")
                        self.current_size = None if fin else current_size + len(frame.data)
                    else:
                        if current_size is not None:
                            raise ws_protocol_error("expected a continuation frame")
                        if not fin:
                            self.current_size = len(frame.data)
                    events.append(frame)
                else:
                    self.recv_frame(frame)
        finally:
            if pos:
                del buf[:pos]

    def parse(self: Any) -> Generator[None, None, None]:
        """Parse incoming data into frames: websockets' ``Protocol.parse``, whole frames in one pass.

        Like the original, it never raises: an error fails the connection
        with the close code websockets picks for it (RFC 6455 §7.1.7), is
        stored in ``parser_exc``, and the generator yields one last time.
        """
        reader = self.reader
        try:
            while True:
                if (yield from reader.at_eof()):
                    if self.debug:
                        self.logger.debug("< EOF")
                    raise EOFError("unexpected end of stream")
                receive_frames(self)
                if not reader.buffer:
                    continue
                # A frame that is not complete, or that websockets refuses
                # from its header: websockets' own Frame.parse reads it.
                if self.max_message_size is None:
                    max_size = self.max_fragment_size
                else:
                    max_size = self.max_message_size - (self.current_size or 0)
                    if self.max_fragment_size is not None:
                        max_size = min(max_size, self.max_fragment_size)
                frame = yield from frame_class.parse(
                    reader.read_exact,
                    mask=self.side is server,
                    max_size=max_size,
                    extensions=self.extensions,
                )
                if self.debug:
                    self.logger.debug("< %s", frame)
                self.recv_frame(frame)
        except ws_protocol_error as exc:
            self.fail(close_code.PROTOCOL_ERROR, str(exc))
            self.parser_exc = exc
        except EOFError as exc:
            self.fail(close_code.ABNORMAL_CLOSURE, str(exc))
            self.parser_exc = exc
        except UnicodeDecodeError as exc:
            self.fail(close_code.INVALID_DATA, f"{exc.reason} at position {exc.start}")
            self.parser_exc = exc
        except payload_too_big as exc:
            exc.set_current_size(self.current_size)
            self.fail(close_code.MESSAGE_TOO_BIG, str(exc))
            self.parser_exc = exc
        except Exception as exc:
            self.logger.error("parser failed", exc_info=True)
            # No details in the close reason: they may be security-sensitive.
            self.fail(close_code.INTERNAL_ERROR)
            self.parser_exc = exc
        yield
        raise AssertionError("parse() shouldn't step after error")

    parse.__name__ = parse.__qualname__ = "parse"
    return parse


def _build_serialize(api: Any, ws: dict[str, Any]) -> Callable[..., bytes]:
    """The replacement of ``Frame.serialize`` (RFC 6455 §5.2, §5.3)."""
    build_header = api.build_header
    apply_mask = api.apply_mask

    def serialize(self: Any, *, mask: bool, extensions: Optional[Sequence[Any]] = None) -> bytes:
        """Serialize a frame as websockets' ``Frame.serialize``, with fastframe's header builder and masking.

        The masking key is ``secrets.token_bytes(4)``, looked up at each call
        as websockets does (its tests patch it to get known keys).

        Raises:
            websockets.exceptions.ProtocolError: the frame has incorrect values.
        """
        self.check()
        if extensions:
            for extension in extensions:
                self = extension.encode(self)
        data = self.data
        key = secrets.token_bytes(4) if mask else None
        header = build_header(
            self.opcode,
            len(data),
            fin=self.fin,
            rsv1=self.rsv1,
            rsv2=self.rsv2,
            rsv3=self.rsv3,
            mask=key,
        )
        if key is not None:
            return header + apply_mask(data, key)  # type: ignore[no-any-return]
        return header + data  # type: ignore[no-any-return]

    return serialize


def _build_read_frame(api: Any, ws: dict[str, Any], legacy: ModuleType, original: Any) -> Callable[..., Any]:
    """The replacement of the legacy ``WebSocketCommonProtocol.read_frame``; ``legacy`` is its module."""
    parse_header = api.parse_header
    apply_mask = api.apply_mask
    frames = ws["frames"]
    new_frame_class = frames.Frame
    opcodes = _opcodes(frames)
    stream_reader = asyncio.StreamReader

    async def read_frame(self: Any, max_size: Optional[int]) -> Any:
        """Read one frame: from the reader's buffer when it is all there, else as websockets does.

        A frame takes the fast path only if websockets' ``Frame.read`` would
        read it whole without waiting: the reader holds it entirely and has
        no pending exception, its opcode is known, its masking is right for
        the side, and it is within ``max_size``.
        """
        reader = self.reader
        if type(reader) is stream_reader and reader.exception() is None:
            # asyncio.StreamReader's buffer, as readexactly() consumes it.
            internals: Any = reader
            buf = internals._buffer
            try:
                header = parse_header(buf) if len(buf) >= 2 else None
            except _FastframeProtocolError:
                header = None
            if header is not None:
                code = header.opcode
                opcode = opcodes[code]
                length = header.length
                start = header.size
                stop = start + length
                if (
                    opcode is not None
                    and header.masked != self.is_client
                    and (max_size is None or length <= max_size)
                    and stop <= len(buf)
                ):
                    if header.mask is not None:
                        data = apply_mask(buf[start:stop], header.mask)
                    else:
                        data = bytes(buf[start:stop])
                    del buf[:stop]
                    internals._maybe_resume_transport()
                    fin = header.fin
                    extensions = self.extensions
                    if code < 8 and not extensions and not (header.rsv1 or header.rsv2 or header.rsv3):
                        # A data frame without extensions or reserved bits:
                        # websockets' Frame.check() has nothing to refuse.
                        frame = legacy.Frame(fin, opcode, data)
                    else:
                        new_frame = new_frame_class(opcode, data, fin, header.rsv1, header.rsv2, header.rsv3)
                        for extension in reversed(extensions):
                            new_frame = extension.decode(new_frame, max_size=max_size)
                        new_frame.check()
                        # The legacy frame class as websockets' read_frame finds it.
                        frame = legacy.Frame(
                            new_frame.fin,
                            new_frame.opcode,
                            new_frame.data,
                            new_frame.rsv1,
                            new_frame.rsv2,
                            new_frame.rsv3,
                        )
                    if self.debug:
                        self.logger.debug("< %s", frame)
                    return frame
        return await original(self, max_size)

    return read_frame


def _patch_legacy_framing(patches: PatchSet, api: Any, module: ModuleType) -> None:
    patches.replace(module, "apply_mask", api.apply_mask)


def _patch_legacy_protocol(patches: PatchSet, api: Any, ws: dict[str, Any], module: ModuleType) -> None:
    common = module.WebSocketCommonProtocol
    read_frame = _build_read_frame(api, ws, module, common.__dict__["read_frame"])
    patches.replace(common, "read_frame", read_frame)


class _LegacyImportHook(importlib.abc.MetaPathFinder):
    """Patches ``websockets.legacy`` modules when they are imported after ``patch()``.

    Its ``installed`` attribute puts it on (or takes it off) ``sys.meta_path``,
    so a :class:`PatchSet` records and undoes it like any other replacement.
    """

    def __init__(self) -> None:
        self._patches: Optional[PatchSet] = None
        self._api: Any = None
        self._ws: dict[str, Any] = {}

    def arm(self, patches: PatchSet, api: Any, ws: dict[str, Any]) -> None:
        self._patches, self._api, self._ws = patches, api, ws

    @property
    def installed(self) -> bool:
        return self in sys.meta_path

    @installed.setter
    def installed(self, value: bool) -> None:
        if value and self not in sys.meta_path:
            sys.meta_path.insert(0, self)
        elif not value:
            while self in sys.meta_path:
                sys.meta_path.remove(self)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname not in (_LEGACY_FRAMING, _LEGACY_PROTOCOL):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _PatchingLoader(spec.loader, self)
        return spec

    def loaded(self, module: ModuleType) -> None:
        with _patching._LOCK:
            patches = self._patches
            if patches is None or not _integration.is_patched():
                return
            if module.__name__ == _LEGACY_FRAMING:
                _patch_legacy_framing(patches, self._api, module)
            else:
                _patch_legacy_protocol(patches, self._api, self._ws, module)


class _PatchingLoader(importlib.abc.Loader):
    """Runs a module with its own loader, then lets the hook patch it."""

    def __init__(self, loader: Any, hook: _LegacyImportHook) -> None:
        self._loader = loader
        self._hook = hook

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> Optional[ModuleType]:
        return self._loader.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        self._hook.loaded(module)


_HOOK = _LegacyImportHook()


def _apply(patches: PatchSet) -> None:
    api = _patching.api()
    modules = _patching.import_modules("websockets.exceptions", "websockets.frames", "websockets.protocol")
    ws = dict(zip(("exceptions", "frames", "protocol"), modules))
    frames, protocol = ws["frames"], ws["protocol"]
    patches.replace(protocol.Protocol, "parse", _build_parse(api, ws))
    patches.replace(frames, "apply_mask", api.apply_mask)
    patches.replace(frames.Frame, "serialize", _build_serialize(api, ws))
    framing = sys.modules.get(_LEGACY_FRAMING)
    if framing is not None:
        _patch_legacy_framing(patches, api, framing)
    legacy_protocol = sys.modules.get(_LEGACY_PROTOCOL)
    if legacy_protocol is not None:
        _patch_legacy_protocol(patches, api, ws, legacy_protocol)
    if framing is None or legacy_protocol is None:
        _HOOK.arm(patches, api, ws)
        patches.replace(_HOOK, "installed", True)


_integration = Integration("websockets", "17.0", "18.0", _apply)

#: The websockets releases this integration knows the hook points of.
SUPPORTED_VERSIONS = _integration.supported_versions

#: Whether fastframe.patch() with no names patches websockets: yes, it is faster than
#: websockets' own receive path (bench/test_bench_integrations_websockets.py).
PATCHED_BY_DEFAULT = True


def patch() -> bool:
    """Make websockets parse, unmask and mask frames with fastframe (RFC 6455 §5).

    Returns:
        True if this call patched websockets, False if it already was.

    Raises:
        IntegrationError: websockets is not installed, or not at a version of
            :data:`SUPPORTED_VERSIONS`; nothing is patched.
    """
    return _integration.patch()


def unpatch() -> bool:
    """Restore websockets exactly as it was; True if it was patched."""
    return _integration.unpatch()


def is_patched() -> bool:
    """Whether websockets is patched now."""
    return _integration.is_patched()
