"""Fast paths into other libraries' own objects, pure twin of ``_relay``.

The integrations (``fastframe.integrations``) hand a library's receive path
to these: they read frames and deliver exactly the objects the library's own
parser would, stopping at whatever they leave to the library's code.  Not
part of the public API.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any, Optional

from ._mask_py import apply_mask, mask_inplace

__all__ = ["FrameRelay", "read_data_frames"]

# Skips a NamedTuple's Python-level __new__, as the library's own parser does.
_new_record = tuple.__new__


# Why FrameRelay._relay stopped.
_DONE, _HEADER, _FULL, _LIBRARY, _SYNC, _COLLECT = range(6)
#: The extent of a frame whose length the library refuses: all that follows is the library's.
_ALL = 2**64 - 1


class FrameRelay:
    """Read a connection's frames for a library that queues one record per message (aiohttp).

    The engine of an integration: :meth:`feed` takes the bytes the library's
    reader was given and delivers the whole, unfragmented, uncompressed text
    and binary frames itself (unmasked in either role, RFC 6455 §5.3; text
    decoded), and hands every other frame, exactly that frame's bytes, to
    the library's own parser, which checks it and raises its own errors:
    control frames, fragmented messages (§5.4), compressed or reserved bits
    (§5.2), frames of ``max_size`` bytes or more, invalid UTF-8 (§8.1), a
    header cut short.  A frame it delivers whose payload is not all in one
    :meth:`feed` it collects as the rest arrives, unmasking each piece with
    its key phase and growing its buffer with the bytes that came, never to
    the announced length, and delivers it when whole; if it is text of
    invalid UTF-8, the library's parser is handed that frame's bytes as
    they came (header, payload masked again).  A frame it delivers
    becomes ``cls((kind, data, ""))`` and ``queue.feed_data(record,
    len(payload))``, with ``(binary_cls, binary_kind, text_cls, text_kind,
    overhead, decode_text) = kinds`` (text as ``str`` when ``decode_text``,
    else as ``bytes``); ``overhead`` is what the queue adds to each record's
    size.  When the reader's class or the reader itself has its own
    ``_handle_frame`` (a subclass, a test), each such frame goes to
    ``reader._handle_frame(True, opcode, payload, 0)`` instead, its payload
    a ``bytearray`` if it was masked, or (aiohttp folding its pieces) if
    ``max_size`` is set and it came in more than ``max(1024, max_size //
    256)`` pieces before the last, as the library's parser passes it.

    The library's parser keeps state from the last data frame header it
    read, which it reports with every frame after it, control frames too
    (aiohttp's ``_frame_fin`` and ``_compressed``, passed to
    ``_handle_frame`` and named in its errors).  So the first frame the
    relay could deliver, and the first after any other data frame the
    library reads, goes to the library's parser instead; the state it then
    holds is the one each frame the relay delivers would leave (a whole
    text frame of invalid UTF-8 it is handed leaves that state too).

    Flow control is the library's: before each frame (never within one:
    nothing is queued while a frame arrives), if ``queue._size`` is
    over ``queue._limit``, the rest of the bytes are kept and
    ``stall(True)`` is called; the library then feeds ``b""`` when the
    queue has drained, and the next feed calls ``stall(False)`` first.

    Args:
        reader: the library's reader (held weakly).
        queue: its queue: ``feed_data(record, size)``, ``_size``, ``_limit``.
        library_feed: ``library_feed(reader, data)``, the library's parser.
        library_handle: the library's own per-frame hook, to tell when the
            reader's ``_handle_frame`` is another.
        stall: ``stall(True)`` when the relay stalls on a full queue, ``stall(False)`` when it goes on.
        kinds: what records are made of, as above.
        max_size: frames of this length or longer go to the library; 0: no limit.
    """

    def __init__(
        self,
        reader: Any,
        queue: Any,
        library_feed: Callable[[Any, bytes], None],
        library_handle: Any,
        stall: Callable[[bool], None],
        kinds: tuple[Any, Any, Any, Any, int, bool],
        max_size: int,
    ) -> None:
        self._reader = weakref.ref(reader)
        self._queue = queue
        self._library_feed = library_feed
        self._library_handle = library_handle
        self._stall = stall
        self._binary_cls, self._binary_kind, self._text_cls, self._text_kind, self._overhead, self._decode_text = kinds
        if max_size < 0:
            raise ValueError(f"max_size must be 0 or more, got {max_size}")
        self._max_size = max_size
        self._pending = b""  # bytes kept over a stall
        self._head = b""  # the start of a header the library's parser has, the rest to come
        self._left = 0  # bytes of the frame the library's parser is reading, still to come
        self._fragmented = False  # a fragmented message in progress: its frames are the library's
        # The library's parser holds the state a whole plain data frame
        # leaves (aiohttp: _frame_fin True, _compressed FALSE), so a frame
        # the relay delivers leaves it unchanged.
        self._synced = False
        self._stalled = False  # stall(True) was the last call
        # A frame the relay delivers, its payload still arriving: what came, unmasked (None: no such frame).
        self._body: Optional[bytearray] = None
        self._want = 0  # its payload bytes still to come
        self._frame: tuple[bytes, int, Optional[bytes]] = (b"", 0, None)  # its header, opcode and mask
        self._pieces = 0  # the pieces of its payload that came before the last, as the library counts them

    def feed(self, data: bytes) -> None:
        """Read ``data``, the next bytes of the connection (``b""`` to resume after a stall)."""
        if type(data) is not bytes:
            raise TypeError(f"data must be bytes, not {type(data).__name__}")
        reader = self._reader()
        if reader is None:
            raise ReferenceError("the reader is gone")
        if self._stalled:
            self._stalled = False
            self._stall(False)
        queue = self._queue
        if self._pending:
            data = self._pending + data
            self._pending = b""
        n = len(data)
        if self._head and n:
            if queue._size > queue._limit:
                self._keep(data)
                return
            self._hand_on_header(data)
        handle = None
        if "_handle_frame" in getattr(reader, "__dict__", ()) or type(reader)._handle_frame is not self._library_handle:
            handle = reader._handle_frame
        pos = 0
        while pos < n:
            if self._body is not None:
                pos = self._collect(reader, data, pos, handle)
                continue
            left = self._left
            if left:
                # The frame in progress is the library's: its bytes go to its
                # parser, which would stall first on a full queue, as here.
                if queue._size > queue._limit:
                    self._keep(data[pos:])
                    return
                end = n if left >= n - pos else pos + left
                self._library_feed(reader, data if pos == 0 and end == n else data[pos:end])
                self._left = left - (end - pos)
                pos = end
                continue
            pos, why, extent = self._relay(data, pos, handle, not self._fragmented)
            if why == _DONE:
                break
            if why == _FULL:
                self._keep(data[pos:])
                return
            if why == _HEADER:
                # The library's parser reads it, as it would (refusing it
                # from its first bytes if it must).
                self._head = data[pos:]
                self._library_feed(reader, self._head)
                return
            if why == _SYNC:
                self._left = extent
                self._synced = True
                continue
            if why == _COLLECT:
                pos = self._begin(data, pos)
                continue
            self._hand_on(data[pos], extent)

    def _begin(self, data: bytes, pos: int) -> int:
        """Keep the frame at ``data[pos:]``, its payload not all there; returns where its payload starts."""
        header = _header(data, pos)
        assert header is not None
        size, length, mask = header
        assert length is not None
        self._frame = (data[pos : pos + size], data[pos] & 0x0F, mask)
        # Grown as the payload arrives: the announced length may be a lie.
        self._body = bytearray()
        self._want = length
        self._pieces = 0
        return pos + size

    def _collect(self, reader: Any, data: bytes, pos: int, handle: Any) -> int:
        """Add the next bytes of the frame being collected; deliver it when whole.  Returns where it stopped."""
        body = self._body
        assert body is not None
        take = min(self._want, len(data) - pos)
        piece = bytearray(data[pos : pos + take])
        mask = self._frame[2]
        if mask is not None:
            # The key phase is the piece's place in the payload (RFC 6455 §5.3).
            mask_inplace(piece, mask, len(body))
        body += piece
        self._want -= take
        if self._want:
            if take:
                self._pieces += 1
            return pos + take
        self._body = None
        self._deliver(reader, body, handle)
        return pos + take

    def _deliver(self, reader: Any, body: bytearray, handle: Any) -> None:
        """Deliver the collected frame, its unmasked payload ``body``, as a whole one."""
        header, opcode, mask = self._frame
        if handle is not None:
            # The library's parser passes a bytearray when it masked in place or folded the pieces.
            folded = self._max_size and self._pieces > max(1024, self._max_size // 256)
            handle(True, opcode, body if mask is not None or folded else bytes(body), 0)
            return
        payload = bytes(body)
        record = self._record(opcode, payload)
        if record is None:
            # The library raises its own error from the frame's own bytes.
            self._library_feed(reader, header + (apply_mask(payload, mask) if mask is not None else payload))
            return
        self._queue.feed_data(record, len(payload))

    def _record(self, opcode: int, payload: bytes) -> Optional[Any]:
        """The queue's record of a whole data frame, its unmasked ``payload``; None for text of invalid UTF-8."""
        if opcode == 2:
            return _new_record(self._binary_cls, (self._binary_kind, payload, ""))
        if not self._decode_text:
            return _new_record(self._text_cls, (self._text_kind, payload, ""))
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return _new_record(self._text_cls, (self._text_kind, text, ""))

    def _keep(self, rest: bytes) -> None:
        self._pending = rest
        self._stalled = True
        self._stall(True)

    def _hand_on(self, first: int, extent: int) -> None:
        """The next ``extent`` bytes are a frame for the library's parser, its first byte ``first``."""
        if first & 0x0F < 8:
            # Its header changes the library's parser's state, whatever comes of it.
            self._fragmented = not first & 0x80
            self._synced = False
        self._left = extent

    def _hand_on_header(self, data: bytes) -> None:
        """The library's parser has the start of a header: the rest of its frame, in ``data``, is its too."""
        head = self._head + data[:14]
        header = _header(head, 0)
        if header is None:
            self._head += data
            self._left = len(data)
            return
        size, length, _mask = header
        self._hand_on(head[0], _ALL if length is None else size + length - len(self._head))
        self._head = b""

    def _relay(self, data: bytes, pos: int, handle: Any, deliver: bool) -> tuple[int, int, int]:
        """Deliver the frames at ``data[pos:]`` it can; returns where it stopped, why, and that frame's extent."""
        queue = self._queue
        put = queue.feed_data
        record_of = self._record
        size = queue._size
        limit = queue._limit
        n = len(data)
        while pos < n:
            # Where the library's parser stalls too: before any frame, bytes left.
            if size > limit:
                return pos, _FULL, 0
            header = _header(data, pos)
            if header is None:
                return pos, _HEADER, 0
            size_of_header, length, mask = header
            if length is None:
                # The library refuses the length before reading more.
                return pos, _LIBRARY, _ALL
            first = data[pos]
            opcode = first & 0x0F
            if not deliver or first & 0xF0 != 0x80 or opcode not in (1, 2):
                return pos, _LIBRARY, size_of_header + length
            start = pos + size_of_header
            if self._max_size and length >= self._max_size:
                return pos, _LIBRARY, size_of_header + length
            if not self._synced:
                return pos, _SYNC, size_of_header + length
            if length > n - start:
                return pos, _COLLECT, 0
            body = data[start : start + length]
            if handle is not None:
                handle(True, opcode, bytearray(apply_mask(body, mask)) if mask is not None else body, 0)
                size = queue._size
                pos = start + length
                continue
            record = record_of(opcode, apply_mask(body, mask) if mask is not None else body)
            if record is None:
                # The library raises its own error, its parser in step after this header.
                return pos, _SYNC, size_of_header + length
            put(record, length)
            size += length + self._overhead
            pos = start + length
        return pos, _DONE, 0


def _header(data: Any, pos: int) -> Optional[tuple[int, Optional[int], Optional[bytes]]]:
    """``(size, length, mask)`` of the header at ``data[pos:]`` (RFC 6455 §5.2), None if cut short.

    ``length`` is None when the 64-bit length has its most significant bit set.
    """
    n = len(data)
    if n - pos < 2:
        return None
    second = data[pos + 1]
    length: Optional[int] = second & 0x7F
    start = pos + 2
    if length == 126:
        if n < start + 2:
            return None
        length = int.from_bytes(data[start : start + 2], "big")
        start += 2
    elif length == 127:
        if n < start + 8:
            return None
        length = int.from_bytes(data[start : start + 8], "big")
        start += 8
        if length >> 63:
            return start - pos, None, None
    mask = None
    if second & 0x80:
        if n < start + 4:
            return None
        mask = data[start : start + 4]
        start += 4
    return start - pos, length, mask


def read_data_frames(
    buf: bytearray,
    pos: int,
    masked: bool,
    max_message_size: Optional[int],
    max_fragment_size: Optional[int],
    current_size: Optional[int],
    frame_cls: Any,
    opcodes: tuple[Any, ...],
    events: list[Any],
) -> tuple[int, Optional[int]]:
    """Turn the plain data frames at ``buf[pos:]`` into a library's frame objects (websockets' sans-I/O ``Protocol``).

    Reads frames while each is whole in ``buf``, is text, binary or a
    continuation (RFC 6455 §5.6) with no reserved bit set (§5.2, no
    extension in use), has the masking of ``masked`` (§5.3), fits the size
    limit the library's parser would give it, and continues a fragmented
    message exactly when one is in progress (§5.4).  It stops at the first
    other frame, which the library reads itself, with its own errors.

    Each frame becomes ``frame_cls`` with the fields ``opcode`` (from
    ``opcodes``, by value), ``data`` (``bytes`` if it was masked, else a
    ``bytearray``, as the library's parser gives them), ``fin``, ``rsv1``,
    ``rsv2`` and ``rsv3``, set as its dataclass ``__init__`` would, and is
    appended to ``events``.  The limit for each frame is
    ``max_message_size`` less the size of the message in progress
    (``current_size``; None when there is none) and at most
    ``max_fragment_size``; None means no limit.

    Args:
        buf: the library's receive buffer (not changed here).
        pos: where a frame starts in it.
        masked: whether frames must be masked (the library is a server).
        max_message_size: the library's message limit, or None.
        max_fragment_size: the library's frame limit, or None.
        current_size: the size of the fragmented message in progress, or None.
        frame_cls: the library's frame class: a plain dataclass with those six fields.
        opcodes: the library's opcode for each value 0 to 15 (None for unknown ones).
        events: where the frames go.

    Returns:
        ``(pos, current_size)``: where it stopped in ``buf``, and the size of
        the message in progress then.
    """
    n = len(buf)
    if not 0 <= pos <= n:
        raise ValueError(f"pos must be in 0..{n}, got {pos}")
    if len(opcodes) != 16:
        raise ValueError("opcodes must have 16 entries")
    while pos < n:
        header = _header(buf, pos)
        if header is None:
            break
        size, length, mask = header
        first = buf[pos]
        code = first & 0x0F
        if length is None or code > 2 or first & 0x70 or (mask is not None) != masked or opcodes[code] is None:
            break
        if (code == 0) != (current_size is not None):
            break  # the library's own parser raises its error
        # The limit as the library's parser computes it.
        allowed = max_fragment_size
        if max_message_size is not None:
            allowed = max_message_size - (current_size or 0)
            if max_fragment_size is not None and max_fragment_size < allowed:
                allowed = max_fragment_size
        if allowed is not None and (allowed < 0 or length > allowed):
            break
        start = pos + size
        if length > n - start:
            break
        body = buf[start : start + length]
        data: Any = apply_mask(body, mask) if mask is not None else body
        fin = bool(first & 0x80)
        frame = object.__new__(frame_cls)
        frame.__dict__.update(opcode=opcodes[code], data=data, fin=fin, rsv1=False, rsv2=False, rsv3=False)
        events.append(frame)
        if code == 0:
            assert current_size is not None
            current_size = None if fin else current_size + length
        elif not fin:
            current_size = length
        pos = start + length
    return pos, current_size
