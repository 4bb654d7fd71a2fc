"""fastframe under tornado: its WebSocket mask and the reads of its frame loop.

tornado (``tornado.websocket.WebSocketProtocol13``) reads every frame with
three or four ``await self._read_bytes(n)`` (header, extended length, key,
payload), each a full ``IOStream.read_bytes`` round: a new ``Future``, the
stream's read state set and cleared, the bytes cut from its buffer.  When the
bytes are already in the stream's buffer, most of that is bookkeeping.  Its
mask is ``tornado.speedups.websocket_mask`` (C, 8 bytes per step) or, without
the extension, a Python loop over an ``array``.

The patch replaces:

- ``_websocket_mask`` where tornado binds it (``tornado.util`` and, imported
  by name, ``tornado.websocket``) and ``tornado.speedups.websocket_mask``
  (when the extension is built), with fastframe's ``apply_mask`` behind
  tornado's signature ``(mask, data) -> bytes``.  What fastframe refuses
  (a key that is not 4 bytes, a ``str``) goes to the function it replaced,
  so the results and errors for those are tornado's own.
- ``WebSocketProtocol13._read_bytes`` with one that takes bytes the stream
  already holds straight from its buffer (as ``IOStream.read_bytes`` would
  have, through the stream's own ``_consume``), and otherwise awaits
  ``read_bytes`` as tornado does.  tornado's frame loop, its checks (reserved
  bits, control frame length, ``max_message_size``), its message assembly,
  permessage-deflate, UTF-8 decoding and close handling stay tornado's code.

Behaviour is tornado's own (RFC 6455 §5 as tornado reads it): the same
messages, the same aborts and close codes; ``_wire_bytes_in`` counts the same
bytes.  A read the stream cannot satisfy from its buffer, a read while another
is pending (tornado's "Already reading"), and a stream that reads into a
user's buffer all take tornado's own ``read_bytes``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from . import _patching

__all__ = ["SUPPORTED_VERSIONS", "PATCHED_BY_DEFAULT", "patch", "unpatch", "is_patched"]


def _build_mask(api: Any, original: Callable[[Any, Any], bytes]) -> Callable[[Any, Any], bytes]:
    """tornado's ``websocket_mask(mask, data)`` (RFC 6455 §5.3) over ``api.apply_mask``."""
    apply_mask = api.apply_mask

    def websocket_mask(mask: Any, data: Any) -> bytes:
        """Mask or unmask ``data`` with the 4-byte ``mask`` (RFC 6455 §5.3), as tornado's own does.

        Args:
            mask: the 4-byte masking key.
            data: the payload, any buffer.

        Returns:
            The (un)masked payload as ``bytes``.
        """
        try:
            return apply_mask(data, mask)  # type: ignore[no-any-return]
        except (TypeError, ValueError):
            # What fastframe refuses gets tornado's own answer: its result
            # (speedups accepts a str) or its exception and message.
            return original(mask, data)

    websocket_mask.__wrapped__ = original  # type: ignore[attr-defined]
    return websocket_mask


async def _read_bytes(self: Any, n: int) -> bytes:
    """``WebSocketProtocol13._read_bytes``: ``n`` bytes from the stream, from its buffer when it has them."""
    stream = self.stream
    # The conditions under which IOStream.read_bytes would complete at once
    # from its buffer: no read pending, no user buffer, enough bytes.
    if stream._read_future is None and not stream._user_read_buffer and stream._read_buffer_size >= n:
        data: bytes = stream._consume(n)
        # What read_bytes does after every read: watch an idle stream for its close.
        stream._maybe_add_error_listener()
    else:
        data = await stream.read_bytes(n)
    self._wire_bytes_in += n
    return data


def _apply(patches: _patching.PatchSet) -> None:
    util, websocket, iostream = _patching.import_modules("tornado.util", "tornado.websocket", "tornado.iostream")
    # The internals the fast read relies on, checked before anything is replaced.
    for name in ("_consume", "_maybe_add_error_listener", "read_bytes"):
        if not callable(getattr(iostream.BaseIOStream, name, None)):
            raise _patching.IntegrationError(f"tornado.iostream.BaseIOStream has no {name}(): unsupported tornado")
    protocol = websocket.WebSocketProtocol13
    if not callable(protocol.__dict__.get("_read_bytes")):
        raise _patching.IntegrationError("tornado.websocket.WebSocketProtocol13 has no _read_bytes()")
    api = _patching.api()
    targets: list[tuple[ModuleType, str]] = [(util, "_websocket_mask"), (websocket, "_websocket_mask")]
    try:
        speedups = importlib.import_module("tornado.speedups")
    except ImportError:
        pass  # tornado built without its extension: util holds the Python mask
    else:
        targets.append((speedups, "websocket_mask"))
    for module, name in targets:
        patches.replace(module, name, _build_mask(api, getattr(module, name)))
    patches.replace(protocol, "_read_bytes", _read_bytes)


_integration = _patching.Integration("tornado", "6.4", "7", _apply)

#: The tornado releases this integration supports.
SUPPORTED_VERSIONS: str = _integration.supported_versions

#: Whether fastframe.patch() with no names patches tornado: yes, its frame
#: receive is faster patched (bench/test_bench_integrations_tornado.py).
PATCHED_BY_DEFAULT = True


def patch() -> bool:
    """Make tornado mask with fastframe and read buffered frames without a read round each (RFC 6455 §5).

    Returns:
        True if this call patched tornado, False if it already was.

    Raises:
        IntegrationError: tornado is not installed, or not at a supported version.
    """
    return _integration.patch()


def unpatch() -> bool:
    """Restore tornado's own mask functions and ``WebSocketProtocol13._read_bytes``; True if it was patched."""
    return _integration.unpatch()


def is_patched() -> bool:
    """Whether tornado is patched now."""
    return _integration.is_patched()
