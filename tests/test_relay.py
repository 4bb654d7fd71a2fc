"""Tests for FrameRelay (``_relay`` and ``_relay_py``), the fast path of integrations whose library queues records.

The library is played here by a queue that records what it is given and a
reader whose parser (the independent decoder of ``tests/support``) collects
the frames handed to it; aiohttp itself is in tests/test_integrations_aiohttp.py.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from support.chunking import cut
from support.decoder import ref_parse_header
from support.encoder import peer_frame
from support.rfc import BINARY, CLOSE, CONTINUATION, PING, PONG, TEXT
from support.strategies import Spec, encode_specs

PROPERTY = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# ---------------------------------------------------------------------------
# The relay against a library played here

RELAY_OVERHEAD = 128
BINARY_KIND, TEXT_KIND = "binary", "text"


class Record(tuple):  # type: ignore[type-arg]
    """What the relay builds for a message: a tuple subclass, as aiohttp's NamedTuples."""

    __slots__ = ()


class TextRecord(tuple):  # type: ignore[type-arg]
    __slots__ = ()


class RelayQueue:
    """A library's queue: records and their sizes, the flow-control fields."""

    def __init__(self, events: list[Any], limit: int) -> None:
        self.events = events
        self._size = 0
        self._limit = limit

    def feed_data(self, record: Any, size: int) -> None:
        # The library's parser stops before a frame once the queue is over its limit.
        assert self._size <= self._limit, "a record was queued past the limit"
        self.events.append(("relayed", type(record), tuple(record), size))
        self._size += size + RELAY_OVERHEAD


class LibraryReader:
    """A library's reader: its own parser collects whole frames from the bytes it is handed."""

    def __init__(self, events: list[Any], queue: RelayQueue) -> None:
        self.events = events
        self.queue = queue
        self.buffer = b""

    def _handle_frame(self, fin: bool, opcode: int, payload: Any, compressed: int) -> None:
        raise AssertionError("the library's own hook is not called when not overridden")


def library_feed(reader: LibraryReader, data: bytes) -> None:
    # Over the limit, the library's parser would stall by itself: the relay must have stalled first.
    assert reader.queue._size <= reader.queue._limit, "bytes handed to the library past the limit"
    reader.buffer += data
    while (header := ref_parse_header(reader.buffer)) is not None:
        size, length = header[8], header[6]
        if len(reader.buffer) < size + length:
            break
        reader.events.append(("library", reader.buffer[: size + length]))
        reader.buffer = reader.buffer[size + length :]


def relay_class(backend: Any) -> Any:
    suffix = "" if backend.name == "cython" else "_py"
    return __import__(f"fastframe._relay{suffix}", fromlist=["FrameRelay"]).FrameRelay


@st.composite
def relay_frames_strategy(draw: Any) -> list[tuple[bytes, Any]]:
    """Frames of every kind the relay must tell apart, each ``(encoded, spec)``."""
    frames = []
    for _ in range(draw(st.integers(0, 8))):
        opcode = draw(st.sampled_from((TEXT, TEXT, BINARY, BINARY, CONTINUATION, PING, PONG, CLOSE, 3, 11)))
        if opcode == TEXT and draw(st.integers(0, 4)):
            payload = draw(st.text(max_size=30)).encode("utf-8", "surrogatepass")
        else:
            payload = draw(st.one_of(st.binary(max_size=40), st.binary(min_size=126, max_size=200)))
        spec = dict(
            opcode=opcode,
            payload=payload,
            fin=draw(st.integers(0, 5)) > 0,
            rsv1=draw(st.integers(0, 6)) == 0,
            rsv2=draw(st.integers(0, 12)) == 0,
            key=draw(st.one_of(st.none(), st.binary(min_size=4, max_size=4))),
            form=draw(st.sampled_from((None, None, None, 126, 127))),
        )
        frames.append((encode_specs([Spec(**spec)]), spec))
    return frames


def relay_expected(
    frames: list[tuple[bytes, Any]], max_size: int, decode_text: bool, *, in_step: bool = False
) -> list[Any]:
    """Each frame as the relay must deliver it when the stream comes in one piece.

    The first frame the relay may take, and the first after any other data
    frame the library reads, goes to the library: its parser's state is
    then what each frame the relay takes would leave.  ``in_step``: as if
    the library's parser were always in that state.
    """
    expected: list[Any] = []
    fragmented = False
    synced = in_step
    for encoded, spec in frames:
        payload, opcode = spec["payload"], spec["opcode"]
        simple = spec["fin"] and not spec["rsv1"] and not spec["rsv2"] and opcode in (TEXT, BINARY)
        simple = simple and not fragmented and not (max_size and len(payload) >= max_size)
        # Such a frame leaves the library's parser in step, whatever its payload.
        whole = simple
        if simple and opcode == TEXT and decode_text:
            try:
                text: Any = payload.decode("utf-8")
            except UnicodeDecodeError:
                simple = False
        if opcode < 8:
            fragmented = not spec["fin"]
            synced, simple = whole or in_step, simple and synced
        if not simple:
            expected.append(("library", encoded))
        elif opcode == BINARY:
            expected.append(("relayed", Record, (BINARY_KIND, payload, ""), len(payload)))
        else:
            record = (TEXT_KIND, text if decode_text else payload, "")
            expected.append(("relayed", TextRecord, record, len(payload)))
    return expected


def run_relay(backend: Any, chunks: list[bytes], *, max_size: int, decode_text: bool, limit: int) -> list[Any]:
    """Feed ``chunks`` through a relay, draining the queue whenever it stalls; the events in order."""
    events: list[Any] = []
    queue = RelayQueue(events, limit)
    reader = LibraryReader(events, queue)
    stalls: list[bool] = []
    kinds = (Record, BINARY_KIND, TextRecord, TEXT_KIND, RELAY_OVERHEAD, decode_text)
    relay_cls = relay_class(backend)
    relay = relay_cls(reader, queue, library_feed, LibraryReader._handle_frame, stalls.append, kinds, max_size)
    for chunk in chunks:
        relay.feed(chunk)
        while stalls and stalls[-1]:
            assert queue._size > queue._limit, "stalled under the limit"
            queue._size = 0  # the library's reader drained the queue
            relay.feed(b"")
    assert not reader.buffer, "the library was left with part of a frame"
    return events


def canonical(event: Any) -> Any:
    """An event as the message it stands for, whoever read the frame."""
    if event[0] == "relayed":
        return event
    return ("frame", event[1])


@pytest.mark.parametrize("decode_text", [True, False])
@PROPERTY
@given(frames=relay_frames_strategy(), max_size=st.sampled_from((0, 30, 150)), limit=st.sampled_from((0, 300, 1 << 30)))
def test_relay_whole_stream(backend, decode_text, frames, max_size, limit):
    """Fed at once, the relay delivers exactly the frames it may and hands every other to the library, in order."""
    data = b"".join(encoded for encoded, _spec in frames)
    got = run_relay(backend, [data], max_size=max_size, decode_text=decode_text, limit=limit)
    assert got == relay_expected(frames, max_size, decode_text)


@PROPERTY
@given(
    frames=relay_frames_strategy(),
    sizes=st.lists(st.integers(0, 60), max_size=12),
    limit=st.sampled_from((0, 300, 1 << 30)),
)
def test_relay_any_chunking(backend, frames, sizes, limit):
    """Cut anywhere, every frame arrives once, in order: whole from the relay, or exactly its bytes to the library.

    A frame the relay may take and that arrives within one piece is the
    relay's once the library's parser is in step (it last read such a
    frame), and the library's before; one cut across pieces may go either
    way.  The relay takes a frame only when the library's parser is in step.
    """
    data = b"".join(encoded for encoded, _spec in frames)
    chunks = list(cut(data, sizes))
    bounds, offset = set(), 0
    for chunk in chunks:
        offset += len(chunk)
        bounds.add(offset)
    # Each frame as the relay delivers it once the library's parser is in step.
    wants = relay_expected(frames, 0, True, in_step=True)
    # The frames whose header leaves the library's parser in step: those, UTF-8 aside.
    wholes = [want[0] == "relayed" for want in relay_expected(frames, 0, False, in_step=True)]
    got = run_relay(backend, chunks, max_size=0, decode_text=True, limit=limit)
    assert len(got) == len(frames)
    # How the last data frame was read: None (none yet), "relayed", "sync" (one that
    # leaves the library in step, whole, handed to the library), "cut" (one of those cut
    # across pieces, handed to the library), "other" (any other data frame).
    last = None
    start = 0
    for event, want, whole, (encoded, spec) in zip(got, wants, wholes, frames):
        end = start + len(encoded)
        was_cut = any(start < b < end for b in bounds)
        take = want[0] == "relayed"
        if event[0] == "relayed":
            assert event == want
            # The library's parser last read a frame the relay may take: its state is what one leaves.
            assert last in ("relayed", "sync", "cut")
        else:
            assert event == ("library", encoded)
            if take and not was_cut:
                # Handed over whole only to bring the library's parser in step.
                assert last in (None, "other", "cut")
        if spec["opcode"] < 8:
            if event[0] == "relayed":
                last = "relayed"
            elif whole:
                last = "cut" if was_cut else "sync"
            else:
                last = "other"
        start = end


def test_relay_own_handle_frame(backend):
    """A reader with its own _handle_frame gets each frame the relay reads: masked payloads as bytearray."""
    calls: list[Any] = []

    class Subclass(LibraryReader):
        def _handle_frame(self, fin, opcode, payload, compressed):
            calls.append((fin, opcode, type(payload), bytes(payload), compressed))

    events: list[Any] = []
    queue = RelayQueue(events, 1 << 30)
    reader = Subclass(events, queue)
    kinds = (Record, BINARY_KIND, TextRecord, TEXT_KIND, RELAY_OVERHEAD, True)
    relay = relay_class(backend)(reader, queue, library_feed, LibraryReader._handle_frame, print, kinds, 0)
    first, ping = peer_frame(True, BINARY, b"first"), peer_frame(True, PING, b"p")
    relay.feed(first + peer_frame(False, BINARY, b"masked") + peer_frame(True, TEXT, "é".encode()) + ping)
    assert calls == [(True, BINARY, bytearray, b"masked", 0), (True, TEXT, bytes, "é".encode(), 0)]
    # The first goes to the library's parser, which calls the hook itself (not played here).
    assert events == [("library", first), ("library", ping)]


def test_relay_reader_gone(backend):
    """The relay holds its reader weakly: feeding after the reader is gone is an error, not a crash."""
    events: list[Any] = []
    queue = RelayQueue(events, 1 << 30)
    reader = LibraryReader(events, queue)
    kinds = (Record, BINARY_KIND, TextRecord, TEXT_KIND, RELAY_OVERHEAD, True)
    relay = relay_class(backend)(reader, queue, library_feed, LibraryReader._handle_frame, print, kinds, 0)
    del reader
    gc.collect()
    with pytest.raises(ReferenceError):
        relay.feed(b"")
