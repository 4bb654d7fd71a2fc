"""fastframe for aiohttp 3.14 (3.14.5 and later): its WebSocket reader, and the writer's masking.

``patch()`` replaces ``WebSocketReader`` wherever aiohttp looks it up (its
client, its server and its public modules import it by name) with a
subclass of aiohttp's own reader whose frames are read by fastframe's
compiled ``FrameRelay`` (``fastframe._relay``) instead of aiohttp's
per-byte state machine:

- Whole unfragmented, uncompressed text and binary frames, masked or not,
  become the same ``WSMessage`` tuples aiohttp builds (text decoded the
  same way) and go into the same queue with the same sizes.
- Every other frame goes, exactly that frame's bytes, to aiohttp's own
  parser, which keeps its state, its decompressor, its limits and its
  messages: control frames, fragmented messages, permessage-deflate,
  frames of ``max_msg_size`` or more, invalid UTF-8 (aiohttp raises its
  own ``WebSocketError`` with its close code), a frame not all there yet
  and a header cut short (aiohttp refuses a header from its first bytes).
- The queue's flow control is aiohttp's: before each frame, past the
  queue's limit, the reader stalls as aiohttp's parser would, and the
  queue drives it again as it drains.
- A subclass that overrides ``_handle_frame`` (aiohttp's tests do) gets
  every frame through it, each fastframe reads as aiohttp's parser passes it.

The writer's masking (``aiohttp._websocket.writer.websocket_mask``) uses
fastframe's SIMD :func:`~fastframe.mask_inplace`.

Speed: ``bench/test_bench_integrations_aiohttp.py``.
"""

from __future__ import annotations

import importlib
import sys
import weakref
from collections.abc import Callable
from types import ModuleType
from typing import Any

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

# The private fields of aiohttp's compiled queue (``reader_c.pxd``), in the
# order Cython's pickling support lists them (sorted by name).  The queue's
# ``_stalled_reader`` (how a stalled reader is driven again) must be written
# from here, and a compiled class offers no other way.
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

#: What aiohttp's queue adds to each message's size (``MSG_SIZE_OVERHEAD``), checked at patch time.
_OVERHEAD = 128


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


def _check_layout(queue_cls: type, set_queue: Callable[..., None]) -> None:
    """Refuse an aiohttp build whose queue's private fields are not where this module writes them."""

    class Protocol:
        _reading_paused = False

    protocol = Protocol()
    queue = queue_cls(protocol, 100, loop=None)
    marker = object()
    set_queue(queue, _stalled_reader=marker)
    fine = queue._stalled_reader is marker and queue._limit == 200 and queue._size == 0
    if hasattr(queue_cls, "__reduce_cython__"):
        state = queue.__reduce_cython__()[2]
        fine = fine and len(state) == len(_QUEUE_FIELDS) and state[_QUEUE_FIELDS.index("_protocol")] is protocol
    if not fine:
        raise IntegrationError(
            f"this build of aiohttp is not supported; fastframe supports aiohttp{SUPPORTED_VERSIONS}"
        )


def _make_reader(base: type, set_queue: Callable[..., None]) -> type:
    """aiohttp's ``WebSocketReader`` (``base``) reading frames with the fastframe backend in use now."""
    api = _patching.api()
    frame_relay = importlib.import_module("fastframe._relay" + ("" if api.name == "cython" else "_py")).FrameRelay
    models = importlib.import_module("aiohttp._websocket.models")
    message, text_bytes = models.WSMessage, models.WSMessageTextBytes
    text_kind, binary_kind = models.WSMsgType.TEXT, models.WSMsgType.BINARY
    base_feed = base._feed_data  # type: ignore[attr-defined]
    base_handle = base._handle_frame  # type: ignore[attr-defined]

    class WebSocketReader(base):  # type: ignore[misc]
        __doc__ = f"""aiohttp's WebSocket reader, its frames read by fastframe ({api.name} backend)."""

        def __init__(self, queue: Any, max_msg_size: int, compress: bool, decode_text: bool) -> None:
            super().__init__(queue, max_msg_size, compress, decode_text)
            weak = weakref.ref(self)
            relay = frame_relay(
                self,
                queue,
                base_feed,
                base_handle,
                lambda stalled: set_queue(queue, _stalled_reader=weak if stalled else None),
                (message, binary_kind, message if decode_text else text_bytes, text_kind, _OVERHEAD, decode_text),
                max_msg_size,
            )
            self._ff_relay = relay
            if type(self)._feed_data is WebSocketReader._feed_data:
                # Straight to the relay when aiohttp's compiled feed_data
                # looks up _feed_data: no Python frame in between.  A
                # subclass with its own _feed_data keeps it.
                self.__dict__["_feed_data"] = relay.feed

        def _feed_data(self, data: bytes) -> None:
            self._ff_relay.feed(data)

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
    _check_layout(queue_cls, set_queue)
    reader = _make_reader(original, set_queue)
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

#: Whether fastframe.patch() with no names patches aiohttp: yes, the patched reader is faster
#: than aiohttp's compiled one (bench/test_bench_integrations_aiohttp.py).
PATCHED_BY_DEFAULT = True


def patch() -> bool:
    """Make aiohttp's WebSocket reader read frames with fastframe, and its writer mask with it.

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
