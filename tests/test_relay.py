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
    frames: list[tuple[bytes, Any]],
    max_size: int,
    decode_text: bool,
    *,
    in_step: bool = False,
    header_cut: list[bool] | None = None,
) -> list[Any]:
    """Each frame as the relay must deliver it, however its payload is cut.

    The first frame the relay may take, and the first after any other data
    frame the library reads, goes to the library: its parser's state is
    then what each frame the relay takes would leave.  ``in_step``: as if
    the library's parser were always in that state.  ``header_cut``: for
    each frame, whether its header is cut across pieces: the library's
    parser then reads that frame (from its first bytes), and the relay no
    longer counts on its state.
    """
    expected: list[Any] = []
    fragmented = False
    synced = in_step
    for i, (encoded, spec) in enumerate(frames):
        payload, opcode = spec["payload"], spec["opcode"]
        simple = spec["fin"] and not spec["rsv1"] and not spec["rsv2"] and opcode in (TEXT, BINARY)
        simple = simple and not fragmented and not (max_size and len(payload) >= max_size)
        if header_cut is not None and header_cut[i]:
            if opcode < 8:
                fragmented, synced = not spec["fin"], in_step
            expected.append(("library", encoded))
            continue
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


def header_cuts(frames: list[tuple[bytes, Any]], chunks: list[bytes]) -> list[bool]:
    """For each frame, whether a boundary between ``chunks`` falls inside its header."""
    bounds, offset = set(), 0
    for chunk in chunks:
        offset += len(chunk)
        bounds.add(offset)
    cuts, start = [], 0
    for encoded, _spec in frames:
        header = ref_parse_header(encoded)
        assert header is not None
        cuts.append(any(start < b < start + header[8] for b in bounds))
        start += len(encoded)
    return cuts


@pytest.mark.parametrize("decode_text", [True, False])
@PROPERTY
@given(
    frames=relay_frames_strategy(),
    sizes=st.lists(st.integers(0, 60), max_size=12),
    max_size=st.sampled_from((0, 30, 150)),
    limit=st.sampled_from((0, 300, 1 << 30)),
)
def test_relay_any_chunking(backend, decode_text, frames, sizes, max_size, limit):
    """Cut anywhere, every frame arrives once, in order, as when fed at once: a frame the relay
    may take and whose payload spans pieces is still the relay's; one whose header is cut is the library's."""
    data = b"".join(encoded for encoded, _spec in frames)
    chunks = list(cut(data, sizes))
    got = run_relay(backend, chunks, max_size=max_size, decode_text=decode_text, limit=limit)
    assert got == relay_expected(frames, max_size, decode_text, header_cut=header_cuts(frames, chunks))


def run_chunks(backend: Any, chunks: list[bytes], *, max_size: int = 0, decode_text: bool = True) -> list[Any]:
    return run_relay(backend, chunks, max_size=max_size, decode_text=decode_text, limit=1 << 30)


@pytest.mark.parametrize("client", [True, False], ids=["unmasked", "masked"])
def test_relay_large_frame_in_64k_reads(backend, client):
    """A 1 MiB binary frame read 64 KiB at a time is the relay's, whole and unmasked, its size that of the payload."""
    first = peer_frame(client, BINARY, b"first")
    payload = bytes(range(256)) * 4096 + b"tail"
    big = peer_frame(client, BINARY, payload, key=b"\x01\x80\xfe\x37")
    stream = first + big + peer_frame(client, TEXT, b"after")
    chunks = [stream[i : i + 65536] for i in range(0, len(stream), 65536)]
    got = run_chunks(backend, chunks)
    assert got == [
        ("library", first),
        ("relayed", Record, (BINARY_KIND, payload, ""), len(payload)),
        ("relayed", TextRecord, (TEXT_KIND, "after", ""), 5),
    ]


def test_relay_every_split_point(backend):
    """A small masked text frame cut at each point, inside its UTF-8 sequences too: the relay's, header cut aside."""
    text = "aé€😀z" * 3
    first = peer_frame(False, BINARY, b"first")
    frame = peer_frame(False, TEXT, text.encode(), key=b"\x9a\x01\x55\xc3")
    header_size = 6
    for point in range(1, len(frame)):
        got = run_chunks(backend, [first + frame[:point], frame[point:]])
        if point < header_size:
            want: Any = ("library", frame)
        else:
            want = ("relayed", TextRecord, (TEXT_KIND, text, ""), len(text.encode()))
        assert got == [("library", first), want], point
    # One byte at a time, every key phase in turn.
    got = run_chunks(
        backend, [first + frame[:header_size]] + [frame[i : i + 1] for i in range(header_size, len(frame))]
    )
    assert got == [("library", first), ("relayed", TextRecord, (TEXT_KIND, text, ""), len(text.encode()))]


@pytest.mark.parametrize("client", [True, False], ids=["unmasked", "masked"])
def test_relay_split_invalid_utf8_goes_to_library_as_sent(backend, client):
    """A split text frame of invalid UTF-8 goes to the library's parser exactly as it came, masked as it was."""
    first = peer_frame(client, BINARY, b"first")
    frame = peer_frame(client, TEXT, "é".encode() * 50 + b"\xc3" + b"ok" * 40, key=b"\x10\x20\x30\x40")
    after = peer_frame(client, BINARY, b"after")
    got = run_chunks(backend, [first + frame[:60], frame[60:] + after])
    assert got == [("library", first), ("library", frame), ("relayed", Record, (BINARY_KIND, b"after", ""), 5)]
    # Without decoding it is the relay's, as bytes.
    got = run_chunks(backend, [first + frame[:60], frame[60:]], decode_text=False)
    payload = "é".encode() * 50 + b"\xc3" + b"ok" * 40
    assert got == [("library", first), ("relayed", TextRecord, (TEXT_KIND, payload, ""), len(payload))]


def test_relay_split_frame_then_control_and_more_frames(backend):
    """The end of a split frame, control frames and whole frames in one piece: each in order, each by its reader."""
    first = peer_frame(False, BINARY, b"first")
    big = peer_frame(False, BINARY, b"\x00\xff" * 300)
    ping, pong = peer_frame(False, PING, b"p"), peer_frame(False, PONG, b"")
    text = peer_frame(False, TEXT, "né".encode())
    split = first + big[:100]
    got = run_chunks(backend, [split, big[100:500], big[500:] + ping + text + pong + first])
    assert got == [
        ("library", first),
        ("relayed", Record, (BINARY_KIND, b"\x00\xff" * 300, ""), 600),
        ("library", ping),
        ("relayed", TextRecord, (TEXT_KIND, "né", ""), 3),
        ("library", pong),
        ("relayed", Record, (BINARY_KIND, b"first", ""), 5),
    ]


def test_relay_hostile_length_is_not_allocated(backend):
    """A header announcing 2**62 bytes with no size limit: the relay holds only the bytes that came."""
    first = peer_frame(False, BINARY, b"first")
    header = bytes([0x82, 0xFF]) + (2**62).to_bytes(8, "big") + b"\x00\x00\x00\x00"
    events: list[Any] = []
    queue = RelayQueue(events, 1 << 30)
    reader = LibraryReader(events, queue)
    kinds = (Record, BINARY_KIND, TextRecord, TEXT_KIND, RELAY_OVERHEAD, True)
    relay = relay_class(backend)(reader, queue, library_feed, LibraryReader._handle_frame, print, kinds, 0)
    relay.feed(first + header + b"x" * 1000)
    for _ in range(64):
        relay.feed(b"y" * 4096)
    # Still collecting: nothing after the first frame reached either the queue or the library.
    assert events == [("library", first)]
    assert reader.buffer == b""


def _relay_with_hook(backend, max_size):
    """A relay over a reader whose own _handle_frame records each call: ``(relay, reader, calls, events)``.

    The relay holds its reader weakly: the caller keeps ``reader``.
    """
    calls: list[Any] = []

    class Subclass(LibraryReader):
        def _handle_frame(self, fin, opcode, payload, compressed):
            calls.append((fin, opcode, type(payload), bytes(payload), compressed))

    events: list[Any] = []
    queue = RelayQueue(events, 1 << 30)
    reader = Subclass(events, queue)
    kinds = (Record, BINARY_KIND, TextRecord, TEXT_KIND, RELAY_OVERHEAD, True)
    relay = relay_class(backend)(reader, queue, library_feed, LibraryReader._handle_frame, print, kinds, max_size)
    return relay, reader, calls, events


def test_relay_own_handle_frame(backend):
    """A reader with its own _handle_frame gets each frame the relay reads: masked payloads as bytearray."""
    relay, _reader, calls, events = _relay_with_hook(backend, 0)  # _reader: alive while the relay reads
    first, ping = peer_frame(True, BINARY, b"first"), peer_frame(True, PING, b"p")
    relay.feed(first + peer_frame(False, BINARY, b"masked") + peer_frame(True, TEXT, "é".encode()) + ping)
    assert calls == [(True, BINARY, bytearray, b"masked", 0), (True, TEXT, bytes, "é".encode(), 0)]
    # The first goes to the library's parser, which calls the hook itself (not played here).
    assert events == [("library", first), ("library", ping)]


@pytest.mark.parametrize(
    ("client", "max_size", "step", "kind"),
    [
        (False, 0, 7, bytearray),  # masked: unmasked in place
        (True, 0, 7, bytes),
        (True, 0, 1, bytes),  # no limit: pieces are never folded
        (True, 1 << 18, 7, bytes),  # 1024 pieces allowed; fewer came
        (True, 1 << 18, 1, bytearray),  # more than 1024 pieces: folded into a bytearray
    ],
)
def test_relay_own_handle_frame_split(backend, client, max_size, step, kind):
    """A reader with its own _handle_frame gets a split frame whole, of the type the library's parser passes."""
    relay, _reader, calls, _ = _relay_with_hook(backend, max_size)  # _reader: alive while the relay reads
    first = peer_frame(client, BINARY, b"first")
    payload = bytes(range(251)) * 8
    frame = peer_frame(client, BINARY, payload)
    relay.feed(first + frame[:20])
    for i in range(20, len(frame), step):
        relay.feed(frame[i : i + step])
    assert calls == [(True, BINARY, kind, payload, 0)]


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
