"""fastframe for aiohttp 3.14 (3.14.5 and later): its WebSocket reader's frame parsing, and the writer's masking.

``patch()`` replaces ``WebSocketReader`` wherever aiohttp looks it up (its
client, its server and its public modules import it by name) with a
subclass of aiohttp's own reader whose ``_feed_data`` parses frames with
fastframe's :class:`~fastframe.FrameParser` (RFC 6455 §5) instead of
aiohttp's per-byte state machine.  Everything else is aiohttp's:

- Whole unfragmented, uncompressed text and binary frames become the same
  ``WSMessage`` tuples aiohttp builds (text decoded the same way, the same
  ``WebSocketError`` for invalid UTF-8) and go into the same queue with the
  same sizes.  Every other frame (fragments, permessage-deflate, control
  frames) goes through aiohttp's own ``_handle_frame``, which keeps its
  state, its decompressor, its limits and its messages.  A subclass that
  overrides ``_handle_frame`` (aiohttp's tests do) gets every frame through it.
- The queue's flow control is aiohttp's: frames are queued one at a time
  while the queue is under its limit; past it the reader stalls exactly
  where aiohttp's would, and the queue drives it again as it drains.
- fastframe's parser accepts a subset of what aiohttp accepts (it enforces
  the masking of the role it sees first, close codes and a few more rules
  of RFC 6455 that aiohttp leaves alone).  When it refuses a frame, that
  frame and everything after it go to aiohttp's own parser, so aiohttp
  decides: the same ``WebSocketError``, close code and message, or none if
  aiohttp accepts the frame.

The writer's masking (``aiohttp._websocket.writer.websocket_mask``) uses
fastframe's SIMD :func:`~fastframe.mask_inplace`.

Speed: ``bench/test_bench_integrations_aiohttp.py``.
"""

from __future__ import annotations

import importlib
import sys
import weakref
from collections.abc import Callable
from operator import attrgetter
from types import ModuleType
from typing import Any, Optional

from ..errors import ProtocolError
from . import _patching
from ._patching import Integration, IntegrationError, PatchSet

__all__ = ["SUPPORTED_VERSIONS", "PATCHED_BY_DEFAULT", "patch", "unpatch", "is_patched"]

#: The modules that bind ``WebSocketReader`` by name (``from ... import WebSocketReader``).
_READER_HOMES = (
    "aiohttp._websocket.reader",
    "aiohttp.http_websocket",
    "aiohttp.http",
    "aiohttp.client",
    "aiohttp.client_ws",
    "aiohttp.web_protocol",
    "aiohttp.web_ws",
)

# The private fields of aiohttp's compiled reader and queue (``reader_c.pxd``),
# in the order Cython's pickling support lists them (sorted by name).  Two
# of them must be written from here, and a compiled class offers no other
# way: the queue's ``_stalled_reader`` (how a stalled reader is driven
# again) and the reader's header state when aiohttp's parser takes over.
_QUEUE_FIELDS = (
    "_buffer",
    "_eof",
    "_exception",
    "_get_buffer",
    "_limit",
    "_loop",
    "_protocol",
    "_put_buffer",
    "_size",
    "_stalled_reader",
    "_waiter",
)
_READER_FIELDS = (
    "_compress",
    "_compressed",
    "_decode_text",
    "_decompressobj",
    "_exc",
    "_frame_fin",
    "_frame_mask",
    "_frame_opcode",
    "_frame_payload_len",
    "_has_mask",
    "_max_fragments",
    "_max_msg_size",
    "_opcode",
    "_partial",
    "_payload_buffer",
    "_payload_bytes_to_read",
    "_payload_fragments",
    "_payload_len_flag",
    "_state",
    "_tail",
    "_weak_self",
    "queue",
)

#: The first bytes of the frame in progress kept for a replay: any header (14) and control payload (125).
_KEEP = 14 + 125
#: What aiohttp's queue adds to each message's size (``MSG_SIZE_OVERHEAD``), checked at patch time.
_OVERHEAD = 128

_payload = attrgetter("payload")


def _field_setter(cls: type, fields: tuple[str, ...]) -> Callable[..., None]:
    """A function that sets private fields of ``cls`` instances, compiled or not."""
    if not hasattr(cls, "__setstate_cython__"):

        def set_plain(obj: Any, **values: Any) -> None:
            for name, value in values.items():
                setattr(obj, name, value)

        return set_plain
    index = {name: i for i, name in enumerate(fields)}

    def set_compiled(obj: Any, **values: Any) -> None:
        state = list(obj.__reduce_cython__()[2])
        for name, value in values.items():
            state[index[name]] = value
        obj.__setstate_cython__(tuple(state))

    return set_compiled


def _check_layout(reader_cls: type, queue_cls: type, set_queue: Callable[..., None]) -> None:
    """Refuse an aiohttp build whose private fields are not where this module writes them."""

    class Protocol:
        _reading_paused = False

    protocol = Protocol()
    queue = queue_cls(protocol, 100, loop=None)
    reader = reader_cls(queue, 1000, True, False)
    marker = weakref.ref(reader)
    set_queue(queue, _stalled_reader=marker)
    fine = queue._stalled_reader is marker and queue._limit == 200 and queue._size == 0
    if hasattr(reader_cls, "__reduce_cython__"):
        state = reader.__reduce_cython__()[2]
        named = dict(zip(_READER_FIELDS, state))
        fine = fine and len(state) == len(_READER_FIELDS)
        fine = fine and named["queue"] is queue and named["_max_msg_size"] == 1000 and named["_tail"] == b""
        fine = fine and named["_compress"] is True and named["_decode_text"] is False and named["_opcode"] == -1
        fine = fine and queue.__reduce_cython__()[2][_QUEUE_FIELDS.index("_protocol")] is protocol
    if not fine:
        raise IntegrationError(
            f"this build of aiohttp is not supported; fastframe supports aiohttp{SUPPORTED_VERSIONS}"
        )


def _make_reader(base: type, set_queue: Callable[..., None], set_reader: Callable[..., None]) -> type:
    """aiohttp's ``WebSocketReader`` (``base``) parsing with the fastframe backend in use now."""
    api = _patching.api()
    frame_parser = api.FrameParser
    protocol_error = ProtocolError
    parse_header = api.parse_header
    models = importlib.import_module("aiohttp._websocket.models")
    ws_error = models.WebSocketError
    invalid_text = models.WSCloseCode.INVALID_TEXT
    message = models.WSMessage
    text_bytes = models.WSMessageTextBytes
    text_type = models.WSMsgType.TEXT
    binary_type = models.WSMsgType.BINARY
    new = tuple.__new__

    def header_at(buf: bytes, offset: int) -> Any:
        # A candidate place may hold any bytes, a 64-bit length with its MSB set too.
        try:
            return parse_header(buf, offset)
        except protocol_error:
            return None

    base_feed = base._feed_data  # type: ignore[attr-defined]
    base_handle = base._handle_frame  # type: ignore[attr-defined]

    class WebSocketReader(base):  # type: ignore[misc]
        __doc__ = f"""aiohttp's WebSocket reader, its frames parsed by fastframe ({api.name} backend)."""

        def __init__(self, queue: Any, max_msg_size: int, compress: bool, decode_text: bool) -> None:
            super().__init__(queue, max_msg_size, compress, decode_text)
            self._ff_queue = queue
            # aiohttp refuses a message of max_msg_size bytes or more (0: no limit).
            self._ff_max = max_msg_size - 1 if max_msg_size else None
            self._ff_compress = compress
            self._ff_decode_text = decode_text
            self._ff_parser: Any = None  # made when the first header tells the peer's role
            self._ff_masked = False
            self._ff_backlog: list[Any] = []  # frames parsed, not queued yet: the queue is full
            self._ff_replay: Optional[bytes] = None  # bytes for aiohttp's own parser, after the backlog
            self._ff_slow = False  # aiohttp's parser reads the rest of the stream
            self._ff_weak = weakref.ref(self)
            # aiohttp's header state, mirrored: the compression flag of the
            # data message in progress (-1 before any) and whether the last
            # data frame was final.
            self._ff_compressed = -1
            self._ff_frame_fin = False
            self._ff_partial = 0  # bytes of the fragmented data message in progress
            self._ff_seen = (0, 0)  # the header bytes of the frame in progress already checked
            # Where the frame in progress starts in the stream, and its first
            # bytes: enough to hand that frame and what follows to aiohttp.
            self._ff_total = 0
            self._ff_start = 0
            self._ff_head = b""

        def _feed_data(self, data: bytes) -> None:
            queue = self._ff_queue
            if queue._stalled_reader is not None:
                set_queue(queue, _stalled_reader=None)
            if self._ff_slow and not self._ff_backlog:
                base_feed(self, data)
                return
            if data:
                if self._ff_slow:
                    self._ff_replay = (self._ff_replay or b"") + data
                else:
                    self._ff_parse(data)
            self._ff_deliver()

        def _ff_parse(self, data: bytes) -> None:
            parser = self._ff_parser
            if parser is None:
                data = self._ff_head + data
                self._ff_head = b""
                if len(data) < 2:
                    self._ff_head = data
                    return
                # aiohttp reads masked and unmasked frames in either role:
                # the first frame decides, a change goes to aiohttp's parser.
                self._ff_masked = bool(data[1] & 0x80)
                parser = self._ff_parser = frame_parser(
                    client=not self._ff_masked,
                    max_frame_size=None,
                    max_message_size=self._ff_max,
                    allow_rsv1=self._ff_compress,
                    validate_utf8=False,
                )
            start = self._ff_total
            try:
                frames = parser.feed(data)
            except protocol_error as exc:
                pos, walked = self._ff_walk(data, start, len(exc.frames))
                frames = self._ff_switch(data, start, pos, exc.frames, walked)
            else:
                self._ff_total = start + len(data)
                frames = self._ff_resync(data, start, frames, parser.buffered)
            if self._ff_backlog:
                self._ff_backlog.extend(frames)
            else:
                self._ff_backlog = frames

        def _ff_refused(self, head: bytes) -> bool:
            """Whether fastframe's parser will refuse the frame whose header starts with ``head``.

            aiohttp refuses a frame from the first header bytes that tell it is
            wrong, fastframe once the header is complete (RFC 6455 §5.2).
            """
            first, second = head[0], head[1]
            opcode = first & 0x0F
            if first & 0x30 or (first & 0x40 and not (self._ff_compress and opcode in (1, 2))):
                return True
            if opcode in (3, 4, 5, 6, 7) or opcode > 10 or bool(second & 0x80) != self._ff_masked:
                return True
            length = second & 0x7F
            if opcode >= 8:
                return not first & 0x80 or length > 125
            if length == 126:
                length = int.from_bytes(head[2:4], "big") if len(head) >= 4 else -1
            elif length == 127:
                length = int.from_bytes(head[2:10], "big") if len(head) >= 10 else -1
            partial = self._ff_partial if opcode == 0 else 0
            return self._ff_max is not None and length >= 0 and length + partial > self._ff_max

        def _ff_first_end(self, data: bytes, start: int) -> tuple[int, int, bool]:
            """Where the frame in progress when ``data`` (at stream offset ``start``) arrived ends.

            Returns ``(end, skip, refused)``: its end offset, 1 if it started
            before ``data`` else 0 (then ``end`` is ``start``), and whether
            aiohttp refuses it (a control frame with a 16- or 64-bit length).
            """
            if self._ff_start == start:
                return start, 0, False
            head = self._ff_head
            header = parse_header(head if len(head) >= 14 else head + data[:14])
            refused = header.opcode >= 8 and header.size != (6 if self._ff_masked else 2)
            return self._ff_start + header.size + header.length, 1, refused

        def _ff_walk(self, data: bytes, start: int, count: int) -> tuple[int, int]:
            """Walk the headers of the first ``count`` frames completed by ``data``.

            Stops at a control frame whose length is written in 16 or 64 bits:
            fastframe accepts it, aiohttp refuses it (RFC 6455 §5.5).

            Returns:
                The stream offset reached and the number of frames walked.
            """
            small = 6 if self._ff_masked else 2
            pos, walked, refused = self._ff_first_end(data, start)
            if refused or walked > count:
                return self._ff_start, 0
            while walked < count:
                header = parse_header(data, pos - start)
                if header.opcode >= 8 and header.size != small:
                    break
                pos += header.size + header.length
                walked += 1
            return pos, walked

        def _ff_switch(self, data: bytes, start: int, pos: int, frames: list[Any], walked: int) -> list[Any]:
            """Hand the stream from offset ``pos`` to aiohttp's parser, after ``frames[:walked]``."""
            # Before data only if the frame in progress is refused: a control frame, all in head.
            self._ff_replay = data[pos - start :] if pos >= start else self._ff_head[pos - self._ff_start :] + data
            self._ff_slow = True
            self._ff_parser = None
            self._ff_head = b""
            return frames[:walked]

        def _ff_resync(self, data: bytes, start: int, frames: list[Any], buffered: int) -> list[Any]:
            """Find where the frame now in progress starts, without walking the frames of ``data``.

            Returns:
                The frames to deliver: all of them, or those before a frame
                aiohttp refuses (then the rest goes to aiohttp's parser).
            """
            end = start + len(data)
            if not frames:
                head = self._ff_head
                if len(head) < _KEEP:
                    self._ff_head = head + data[: _KEEP - len(head)]
                return frames
            pos, skip, refused = self._ff_first_end(data, start)
            rest = frames[skip:] if skip else frames
            if rest:
                # Each frame's size if its length was written in as few bytes
                # as RFC 6455 §5.2 requires; checked below.
                lengths = list(map(len, map(_payload, rest)))
                pos += sum(lengths) + len(lengths) * (6 if self._ff_masked else 2)
                if max(lengths) > 125:
                    pos += sum(2 if n < 65536 else 8 for n in lengths if n > 125)
            if refused or end - buffered != pos:
                # The frame in progress has its header (2 to 14 bytes), or some
                # length was written in more bytes than needed (which RFC 6455
                # §5.2 forbids; aiohttp accepts it, but not on a control frame):
                # try every place where the frame in progress can start, and
                # walk the headers unless exactly that one fits.
                fits = [c for c in self._ff_starts(end, buffered) if self._ff_fits(data, start, end, buffered, c, rest)]
                if refused or fits != [pos]:
                    pos, walked = self._ff_walk(data, start, len(frames))
                    if walked < len(frames):
                        return self._ff_switch(data, start, pos, frames, walked)
            self._ff_start = pos
            self._ff_head = data[pos - start : pos - start + _KEEP]
            return frames

        def _ff_starts(self, end: int, buffered: int) -> tuple[int, ...]:
            """Where the frame in progress may start: after its header, or with its header incomplete."""
            masked = 4 if self._ff_masked else 0
            return (
                end - buffered,
                end - buffered - 2 - masked,
                end - buffered - 4 - masked,
                end - buffered - 10 - masked,
            )

        def _ff_fits(self, data: bytes, start: int, end: int, buffered: int, at: int, rest: list[Any]) -> bool:
            """Whether the frame in progress can start at stream offset ``at``, after the last frame of ``rest``."""
            offset = at - start
            if not rest or offset < 0:
                return False
            header = header_at(data, offset) if offset < len(data) else None
            if at == end - buffered:
                # Its header is not complete yet, or nothing of it has arrived.
                if header is not None:
                    return False
            elif header is None or header.size != end - buffered - at or header.length <= buffered:
                return False
            elif header.masked != self._ff_masked:
                return False
            # The last complete frame must end there.
            last = rest[-1]
            n = len(last.payload)
            for size in (2, 4, 10):
                size += 4 if self._ff_masked else 0
                if offset - n - size >= 0:
                    header = header_at(data, offset - n - size)
                    if (
                        header is not None
                        and header.size == size
                        and header.length == n
                        and header.opcode == last.opcode
                        and header.fin == last.fin
                        and header.rsv1 == last.rsv1
                        and header.masked == self._ff_masked
                    ):
                        return True
            return False

        def _ff_deliver(self) -> None:
            backlog = self._ff_backlog
            queue = self._ff_queue
            limit = queue._limit
            size = queue._size
            put = queue.feed_data
            inline = "_handle_frame" not in self.__dict__ and type(self)._handle_frame is base_handle
            decode_text = self._ff_decode_text
            compressed = self._ff_compressed
            frame_fin = self._ff_frame_fin
            count = len(backlog)
            i = 0
            try:
                while i < count:
                    if size > limit:
                        break
                    frame = backlog[i]
                    i += 1
                    opcode = frame.opcode
                    if opcode == 2 or opcode == 1:
                        # fastframe hands on a text or binary frame only outside a
                        # fragmented message: aiohttp's header state resets to it.
                        if frame.fin and inline and not frame.rsv1:
                            compressed = 0
                            frame_fin = True
                            payload = frame.payload
                            n = len(payload)
                            if opcode == 2:
                                put(new(message, (binary_type, payload, "")), n)
                            elif decode_text:
                                try:
                                    text = payload.decode("utf-8")
                                except UnicodeDecodeError as exc:
                                    raise ws_error(invalid_text, "Invalid UTF-8 text message") from exc
                                put(new(message, (text_type, text, "")), n)
                            else:
                                put(new(text_bytes, (text_type, payload, "")), n)
                            size += n + _OVERHEAD
                            continue
                    if opcode < 8:
                        if frame_fin or compressed == -1:
                            compressed = 1 if frame.rsv1 else 0
                        frame_fin = frame.fin
                        payload = frame.payload
                        self._ff_partial = 0 if frame_fin else len(payload) + (self._ff_partial if opcode == 0 else 0)
                    else:
                        # aiohttp hands masked payloads on as bytearray (ping and pong data).
                        payload = bytearray(frame.payload) if self._ff_masked else frame.payload
                    self._handle_frame(frame.fin, int(opcode), payload, compressed)
                    size = queue._size
            finally:
                self._ff_compressed = compressed
                self._ff_frame_fin = frame_fin
                if i == count:
                    backlog.clear()
                else:
                    del backlog[:i]
            if backlog:
                set_queue(queue, _stalled_reader=self._ff_weak)
                return
            head = self._ff_head
            seen = (self._ff_start, min(self._ff_total - self._ff_start, 14))
            if self._ff_parser is not None and seen[1] >= 2 and seen != self._ff_seen:
                self._ff_seen = seen
                refused = self._ff_refused(head)
            else:
                refused = False
            if refused:
                # Let aiohttp see that frame now, and refuse it as it does.
                self._ff_replay = head
                self._ff_slow = True
                self._ff_parser = None
                self._ff_head = b""
            elif size > limit and not self._ff_slow and (self._ff_total > self._ff_start or self._ff_head):
                # Bytes are left and the queue is full: stalled where aiohttp's
                # parser would be, to be driven again as the queue drains.
                set_queue(queue, _stalled_reader=self._ff_weak)
                return
            replay = self._ff_replay
            if replay is not None:
                self._ff_replay = None
                # aiohttp's parser starts at a frame boundary; give it the header
                # state of the message in progress.
                set_reader(self, _frame_fin=frame_fin, _compressed=compressed)
                base_feed(self, replay)

    WebSocketReader.__qualname__ = WebSocketReader.__name__ = base.__name__
    WebSocketReader.__module__ = __name__
    return WebSocketReader


def _fast_mask(mask_inplace: Callable[..., None]) -> Callable[[bytes, bytearray], None]:
    def websocket_mask(mask: bytes, data: bytearray) -> None:
        """Mask ``data`` in place with the 4-byte ``mask`` (RFC 6455 §5.3), as aiohttp's own does."""
        mask_inplace(data, mask)

    return websocket_mask


def _apply(patches: PatchSet) -> None:
    reader_module: ModuleType = importlib.import_module("aiohttp._websocket.reader")
    writer_module: ModuleType = importlib.import_module("aiohttp._websocket.writer")
    original = reader_module.WebSocketReader
    queue_cls = reader_module.WebSocketDataQueue
    reader_py = importlib.import_module("aiohttp._websocket.reader_py")
    if getattr(reader_py, "MSG_SIZE_OVERHEAD", None) != _OVERHEAD or not hasattr(original, "_feed_data"):
        raise IntegrationError(f"this aiohttp is not supported; fastframe supports aiohttp{SUPPORTED_VERSIONS}")
    set_queue = _field_setter(queue_cls, _QUEUE_FIELDS)
    set_reader = _field_setter(original, _READER_FIELDS)
    _check_layout(original, queue_cls, set_queue)
    reader = _make_reader(original, set_queue, set_reader)
    for name in _READER_HOMES:
        module = importlib.import_module(name)
        if getattr(module, "WebSocketReader", None) is original:
            patches.replace(module, "WebSocketReader", reader)
    aiohttp = sys.modules["aiohttp"]
    if getattr(aiohttp, "WebSocketReader", None) is original:
        patches.replace(aiohttp, "WebSocketReader", reader)
    patches.replace(writer_module, "websocket_mask", _fast_mask(_patching.api().mask_inplace))


# 3.14.3 and older have no stalling queue (``_stalled_reader``); 3.14.4 has the
# same private fields as 3.14.5 but its suite has not been run patched.
_integration = Integration("aiohttp", "3.14.5", "3.15", _apply)

#: The aiohttp releases whose internals this module hooks.
SUPPORTED_VERSIONS = _integration.supported_versions

#: Whether fastframe.patch() with no names patches aiohttp: no, aiohttp's compiled reader is
#: faster than the patched one today (bench/test_bench_integrations_aiohttp.py).
PATCHED_BY_DEFAULT = False


def patch() -> bool:
    """Make aiohttp's WebSocket reader parse frames with fastframe, and its writer mask with it.

    Takes effect whether aiohttp was imported before or after the call; a
    connection opened before keeps the reader it has.

    Returns:
        True if this call patched aiohttp, False if it already was.

    Raises:
        IntegrationError: aiohttp is not installed, or not at a supported version.
    """
    return _integration.patch()


def unpatch() -> bool:
    """Restore aiohttp's own reader and masking; True if it was patched."""
    return _integration.unpatch()


def is_patched() -> bool:
    """Whether aiohttp is patched now."""
    return _integration.is_patched()
