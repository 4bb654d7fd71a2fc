"""Drivers for the two independent oracles, and a comparison of what each side reported.

The oracles are wsproto's ``FrameProtocol`` and websockets' ``Frame.parse``;
fastframe and each oracle are fed a stream one byte at a time.
"""

from __future__ import annotations

import codecs
import dataclasses
from typing import Any, Optional

from fastframe.errors import ProtocolError

from .rfc import CLOSE, CONTINUATION, INVALID_DATA, MESSAGE_TOO_BIG, PROTOCOL_ERROR, TEXT


@dataclasses.dataclass
class Trace:
    """What a side reported while a stream was fed one byte at a time.

    events: ``(position, event)`` in order; the event is a tuple whose first
        item is "data" (a data frame completed), "ctrl" or "close".
    error: ``(position, code)`` or None.
    note: oracle-specific detail about the error (its message).
    """

    events: list[tuple[int, tuple[Any, ...]]]
    error: Optional[tuple[int, int]] = None
    note: str = ""


def close_event(payload: bytes) -> tuple[Any, ...]:
    """A valid close payload as ("close", code, reason)."""
    if not payload:
        return ("close", 1005, "")
    return ("close", int.from_bytes(payload[:2], "big"), payload[2:].decode("utf-8"))


def trace_fastframe(parser: Any, data: bytes, *, message_level: bool) -> Trace:
    """Feed ``data`` byte by byte and trace frames (or messages).

    Frame level: ("data", opcode, fin, payload), ("ctrl", opcode, payload),
    ("close", code, reason).  Message level, to compare with wsproto, which
    reports the message opcode and decoded text: ("data", message opcode,
    fin, whole message payload if fin else None).
    """
    trace = Trace(events=[])
    msg_opcode, parts = None, []

    def add(i: int, frame: Any) -> None:
        nonlocal msg_opcode, parts
        op = int(frame.opcode)
        if op == CLOSE:
            trace.events.append((i, close_event(frame.payload)))
        elif op >= 8:
            trace.events.append((i, ("ctrl", op, frame.payload)))
        elif not message_level:
            trace.events.append((i, ("data", op, frame.fin, frame.payload)))
        else:
            if op != CONTINUATION:
                msg_opcode, parts = op, []
            parts.append(frame.payload)
            trace.events.append((i, ("data", msg_opcode, frame.fin, b"".join(parts) if frame.fin else None)))

    for i in range(len(data)):
        try:
            frames = parser.feed(data[i : i + 1])
        except ProtocolError as exc:
            for f in exc.frames:
                add(i, f)
            trace.error = (i, int(exc.code))
            trace.note = exc.reason
            break
        for f in frames:
            add(i, f)
    return trace


def trace_wsproto(data: bytes, *, client: bool) -> Trace:
    """wsproto's FrameProtocol fed byte by byte, at message level."""
    from wsproto.frame_protocol import FrameProtocol, ParseFailed

    proto = FrameProtocol(client=client, extensions=[])
    trace = Trace(events=[])
    parts: list[Any] = []
    for i in range(len(data)):
        proto.receive_bytes(data[i : i + 1])
        try:
            for frame in proto.received_frames():
                op = int(frame.opcode)
                if op == CLOSE:
                    code, reason = frame.payload
                    trace.events.append((i, ("close", int(code), reason)))
                elif op >= 8:
                    trace.events.append((i, ("ctrl", op, bytes(frame.payload))))
                else:
                    parts.append(frame.payload)
                    if frame.frame_finished:
                        whole = None
                        if frame.message_finished:
                            if op == TEXT:
                                whole = "".join(parts).encode("utf-8")
                            else:
                                whole = b"".join(bytes(p) for p in parts)
                            parts = []
                        trace.events.append((i, ("data", op, frame.message_finished, whole)))
        except ParseFailed as exc:
            trace.error = (i, int(exc.code))
            trace.note = str(exc)
            break
    return trace


def trace_websockets(data: bytes, *, client: bool, max_size: Optional[int] = None) -> Trace:
    """websockets' Frame.parse fed byte by byte, at frame level.

    Frame.parse checks one frame (opcode, masking, length against max_size,
    reserved bits, control frame rules).  The rules between frames are in
    websockets' protocol.py, which also rejects a close frame inside a
    fragmented message (RFC 6455 §5.4 allows it), so instead this driver
    adds them with the standard library: continuation sequencing, UTF-8 of
    text messages (codecs' incremental decoder, checked when a frame is
    complete) and close payloads with websockets' ``Close.parse``.  It stops
    after a close frame, as both oracles do.
    """
    from websockets.exceptions import PayloadTooBig, ProtocolError as WSProtocolError
    from websockets.frames import Close, Frame
    from websockets.streams import StreamReader

    reader = StreamReader()
    trace = Trace(events=[])
    gen = None
    in_message = False
    decoder: Any = None

    def fail(i: int, code: int, note: str) -> Trace:
        trace.error = (i, code)
        trace.note = note
        return trace

    for i in range(len(data)):
        reader.feed_data(data[i : i + 1])
        while True:
            if gen is None:
                if not reader.buffer:
                    break
                gen = Frame.parse(reader.read_exact, mask=not client, max_size=max_size, extensions=None)
            try:
                next(gen)
            except StopIteration as stop:
                gen = None
                frame = stop.value
            except WSProtocolError as exc:
                return fail(i, PROTOCOL_ERROR, str(exc))
            except PayloadTooBig as exc:
                return fail(i, MESSAGE_TOO_BIG, str(exc))
            else:
                break  # needs more data
            op, payload = int(frame.opcode), bytes(frame.data)
            if op == CLOSE:
                try:
                    # Code first, then reason: websockets' Close.parse decodes the
                    # reason first; RFC 6455 does not order the two checks.
                    if len(payload) >= 2:
                        Close.parse(payload[:2])
                    Close.parse(payload)
                except WSProtocolError as exc:
                    return fail(i, PROTOCOL_ERROR, str(exc))
                except UnicodeDecodeError as exc:
                    return fail(i, INVALID_DATA, str(exc))
                trace.events.append((i, close_event(payload)))
                return trace
            if op >= 8:
                trace.events.append((i, ("ctrl", op, payload)))
                continue
            if op == CONTINUATION:
                if not in_message:
                    return fail(i, PROTOCOL_ERROR, "continuation without a message")
            else:
                if in_message:
                    return fail(i, PROTOCOL_ERROR, "new message inside a fragmented one")
                decoder = codecs.getincrementaldecoder("utf-8")() if op == TEXT else None
            in_message = not frame.fin
            if decoder is not None:
                try:
                    decoder.decode(payload, frame.fin)
                except UnicodeDecodeError as exc:
                    return fail(i, INVALID_DATA, str(exc))
            trace.events.append((i, ("data", op, frame.fin, payload)))
    return trace


_INF = 1 << 62


def compare_traces(fast: Trace, oracle: Trace, *, oracle_name: str) -> None:
    """Assert that fastframe and an oracle agree where RFC 6455 is unambiguous.

    - Everything either side reported before the first error is identical.
    - Both sides stop at the first close frame (wsproto and websockets discard
      what follows it; fastframe, a framing layer, keeps parsing).
    - When both raise at the same byte, the close codes are the same.
    - Sides may decide at different bytes *within one frame*: the oracles
      reject a reserved opcode or wrong masking from the first 2 bytes while
      fastframe decides when the whole header (with its masking key) is in;
      fastframe decides reserved bits, sequencing and sizes from the header
      while websockets decides reserved bits once the payload is in and
      wsproto decides sequencing on the first payload byte.  So the side that
      raises later must not have completed that frame, and must raise the
      same code if it raises at all.
    - UTF-8 is the exception: fastframe fails on the first impossible byte
      (§8.1), also for an unfinished code point like ED A0 (a surrogate) at
      the end of a non-final frame, which CPython's incremental decoder — and
      so both oracles — only rejects when the next byte arrives.  After such
      an early 1007 the oracle may still report control frames and non-final
      data frames, and may then raise 1007, or 1002 for a later frame.
    - The RFC does not order "too big" (1009) against other header checks, so
      1002 and 1009 from the same frame are interchangeable.
    """
    fast = _cut_at_close(fast)
    oracle = _cut_at_close(oracle)
    fpos = fast.error[0] if fast.error else _INF
    opos = oracle.error[0] if oracle.error else _INF
    first = min(fpos, opos)
    context = f"fastframe {fast}\n{oracle_name} {oracle}"
    before_f = [e for e in fast.events if e[0] < first]
    before_o = [e for e in oracle.events if e[0] < first]
    assert before_f == before_o, context
    if first == _INF:
        return
    fcode = fast.error[1] if fast.error else None
    ocode = oracle.error[1] if oracle.error else None
    interchangeable = {fcode, ocode} == {PROTOCOL_ERROR, MESSAGE_TOO_BIG}
    if fpos == opos:
        assert fcode == ocode or interchangeable, context
        return
    if fpos < opos:
        later = [e for e in oracle.events if e[0] >= fpos]
        if fcode == INVALID_DATA:
            for _, event in later:
                assert event[0] in ("ctrl", "close") or (event[0] == "data" and not event[2]), context
            assert ocode in (None, INVALID_DATA, PROTOCOL_ERROR), context
            return
        assert not later, context
        assert ocode in (None, fcode) or interchangeable, context
        return
    later = [e for e in fast.events if e[0] >= opos]
    assert not later, context
    assert fcode in (None, ocode) or interchangeable, context


def _cut_at_close(trace: Trace) -> Trace:
    for pos, event in trace.events:
        if event[0] == "close":
            events = [e for e in trace.events if e[0] <= pos]
            error = trace.error if trace.error and trace.error[0] <= pos else None
            return Trace(events=events, error=error, note=trace.note if error else "")
    return trace
