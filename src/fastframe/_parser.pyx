# cython: language_level=3, freethreading_compatible=True
"""Sans-I/O WebSocket frame parser (RFC 6455 §5), compiled twin of ``_parser_py``.

The whole per-frame path — header, rule checks, unmasking copy, UTF-8
check, Frame construction — runs in C with no Python call; a frame costs
two allocations (its payload and a Frame from a free list).
"""

cimport cython
from cpython.buffer cimport PyBuffer_Release
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_CheckExact, PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.list cimport PyList_Append
from cpython.long cimport PyLong_AsLongLongAndOverflow
from libc.stdint cimport uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy

from ._buffers cimport get_buffer
from ._ckernels cimport (
    FF_HEADER_BAD_LENGTH, FF_HEADER_NEED_MORE, FF_MAX_HEADER, FF_UTF8_ACCEPT, ff_close_code_valid, ff_header,
    ff_mask, ff_parse_header, ff_unmask_utf8, ff_utf8_validate,
)
from ._frames cimport Frame

from ._shared import DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_MESSAGE_SIZE, OPCODES, check_limit
from .enums import CloseCode
from .errors import ProtocolError


cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX

__all__ = ["FrameParser", "DEFAULT_MAX_FRAME_SIZE", "DEFAULT_MAX_MESSAGE_SIZE"]

# The C copy of _shared.UNLIMITED, which check_limit returns for None.
cdef uint64_t UNLIMITED = (<uint64_t>1 << 63) - 1
# A frame's payload buffer is allocated whole from its header up to this
# size (no copy as it fills).  Past it, the buffer grows with what actually
# arrives, doubling, so that a peer announcing a huge frame (where the limits
# allow one) cannot make the parser allocate memory it never sends.
cdef enum:
    PREALLOCATE_UP_TO = 64 * 1024 * 1024


cdef uint64_t _limit(str name, object value) except? 0:
    """check_limit, with the common cases (None, a plain int in range) in C:
    the Python call cost a connection more than the rest of its parser's
    construction (bench/test_bench_parser.py, FrameParser construction)."""
    cdef long long v
    cdef int overflow = 0
    if value is None:
        return UNLIMITED
    if type(value) is int:
        v = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow == 0 and v >= 0:
            return <uint64_t>v
    # Errors, bool, int subclasses and out-of-range values: the shared rules.
    return check_limit(name, value)


cdef tuple _OPCODES = OPCODES
cdef object _PROTOCOL_ERROR = CloseCode.PROTOCOL_ERROR
cdef object _INVALID_DATA = CloseCode.INVALID_DATA
cdef object _MESSAGE_TOO_BIG = CloseCode.MESSAGE_TOO_BIG
cdef object _INTERNAL_ERROR = CloseCode.INTERNAL_ERROR


# The docstring opens with the signature and "--": inspect.signature() reads
# it there (a compiled class has no other), and __doc__ leaves it out.
@cython.final
cdef class FrameParser:
    """FrameParser(*, client=False, max_frame_size=1048576, max_message_size=1048576, allow_rsv1=False, validate_utf8=True)
--

    Turn the bytes a peer sends into frames, enforcing RFC 6455.

    Sans-I/O: feed it whatever the socket returned, in chunks of any size,
    and get back the frames those bytes completed, with payloads unmasked.
    It checks the rules of RFC 6455 §5 that a single direction of traffic
    can break, and raises :class:`~fastframe.ProtocolError` with the close
    code to send (§7.4.1).  Two are left to the caller, as the other Python
    libraries do: a length written in more bytes than it needs (§5.2), and
    frames after a Close (§5.5.1), which the connection's state decides.

    - 1002: reserved bits set without an extension that allows them,
      reserved opcodes, control frames over 125 bytes or fragmented, a
      continuation frame with no message to continue, a new message inside a
      fragmented one, wrong masking for the role (§5.1), a 64-bit length with
      its MSB set, a 1-byte close payload or a close code that may not be sent.
    - 1007: a text message or a close reason that is not valid UTF-8,
      detected as soon as the first impossible byte arrives (§8.1).
    - 1009: a frame longer than ``max_frame_size`` or a message longer than
      ``max_message_size``, decided from the header before the payload is
      buffered.
    - 1011: an earlier ``feed()`` was cut short by another exception
      (``MemoryError``, ``KeyboardInterrupt``) in the middle of a frame, so
      the stream's position is lost.

    After an error the parser stays failed: every later ``feed()`` raises a
    ProtocolError with the same code and reason.  Frames that the failing
    call completed before the error are in the exception's ``frames``.

    Memory: the parser holds at most one partial header (13 bytes) and the
    payload of the frame in progress, whose length the header announced and
    the limits bound.  The compiled parser allocates that payload's buffer
    when the header arrives (up to 64 MiB; past that it grows with the bytes
    that arrive), the pure one as the bytes arrive.  A parser is not
    thread-safe; use one per connection.

    Args:
        client: True if we are the client: frames from the server must not be
            masked.  False (the default) if we are the server: frames from
            the client must be masked.
        max_frame_size: largest payload of a single frame, or None for no
            limit.  Default 1 MiB.
        max_message_size: largest data message, all its fragments together,
            or None for no limit.  Default 1 MiB.
        allow_rsv1: accept RSV1 on the first frame of a data message, as
            permessage-deflate (RFC 7692) does.  Such a message is passed
            through compressed; its UTF-8 is not checked here (decompressing
            and validating it is the caller's job), and the limits apply to
            the compressed size.
        validate_utf8: check that text messages and close reasons are UTF-8.
    """

    cdef bint _client
    cdef bint _allow_rsv1
    cdef bint _validate_utf8
    cdef uint64_t _max_frame_size
    cdef uint64_t _max_message_size
    # A header split across feeds.
    cdef uint8_t _partial_header[FF_MAX_HEADER]
    cdef Py_ssize_t _partial_size
    # The frame whose payload is arriving: `_payload` is a bytes object of
    # the announced length, filled (and unmasked) in place as chunks come;
    # nobody else holds it until the frame is complete.
    cdef bint _in_frame
    cdef ff_header _header
    cdef bytes _payload
    cdef uint64_t _received
    # The data message in progress.
    cdef bint _in_message
    cdef bint _check_text
    cdef uint64_t _message_size
    cdef uint32_t _utf8
    cdef uint32_t _close_utf8  # a close frame may come mid-message
    cdef object _error
    cdef bint _parsing  # inside _parse: still set on entry if the last one was interrupted

    def __init__(self, *, bint client=False, max_frame_size=DEFAULT_MAX_FRAME_SIZE,
                 max_message_size=DEFAULT_MAX_MESSAGE_SIZE, bint allow_rsv1=False,
                 bint validate_utf8=True):
        self._client = client
        self._max_frame_size = _limit("max_frame_size", max_frame_size)
        self._max_message_size = _limit("max_message_size", max_message_size)
        self._allow_rsv1 = allow_rsv1
        self._validate_utf8 = validate_utf8
        self._partial_size = 0
        self._in_frame = False
        self._payload = None
        self._received = 0
        self._in_message = False
        self._check_text = False
        self._message_size = 0
        self._utf8 = FF_UTF8_ACCEPT
        self._close_utf8 = FF_UTF8_ACCEPT
        self._error = None
        self._parsing = False

    @property
    def client(self):
        """True if this parser reads what a server sends."""
        return self._client

    @property
    def max_frame_size(self):
        """Largest accepted frame payload in bytes (None: no limit)."""
        return None if self._max_frame_size == UNLIMITED else self._max_frame_size

    @property
    def max_message_size(self):
        """Largest accepted data message in bytes (None: no limit)."""
        return None if self._max_message_size == UNLIMITED else self._max_message_size

    @property
    def buffered(self):
        """Bytes held for a frame that is not complete yet (header and payload); 0 after an error."""
        return self._partial_size + self._received

    def feed(self, data):
        """Parse the next bytes received from the peer.

        Args:
            data: any C-contiguous buffer; any split of the stream is fine.

        Returns:
            The frames completed by ``data``, in order (often empty).

        Raises:
            ProtocolError: the peer broke the protocol (see the class docs).
            TypeError: ``data`` is not a C-contiguous buffer.
        """
        cdef list frames = []
        # On free-threaded builds two threads feeding one parser must not
        # interleave (the payload buffer is filled at an offset); on builds
        # with a GIL this compiles to nothing.
        with cython.critical_section(self):
            self._feed(data, frames)
        return frames

    cdef int _feed(self, object data, list frames) except -1:
        cdef Py_buffer view
        if self._error is not None:
            raise ProtocolError(*self._error)
        if PyBytes_CheckExact(data):
            self._begin_parse(frames)
            self._parse(<const uint8_t *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data), frames)
        else:
            # The buffer is taken before the in-progress flag is set: a
            # caller's TypeError here leaves the stream where it was.
            get_buffer(data, &view, False)
            try:
                self._begin_parse(frames)
                self._parse(<const uint8_t *>view.buf, view.len, frames)
            finally:
                PyBuffer_Release(&view)
        self._parsing = False
        return 0

    cdef inline int _begin_parse(self, list frames) except -1:
        if self._parsing:
            self._fail_interrupted(frames)
        self._parsing = True
        return 0

    cdef int _fail_interrupted(self, list frames) except -1:
        # The last feed() was cut short by an exception that is not a
        # protocol error (MemoryError, KeyboardInterrupt, ...) somewhere in
        # a frame, so where the next frame starts is lost: a guess could
        # turn payload bytes into frames.  No try block on the hot path
        # catches this; the flag left set tells.
        self._fail(_INTERNAL_ERROR, "an earlier feed() was interrupted by an exception", frames)

    cdef int _fail(self, object code, str reason, list frames) except -1:
        exc = ProtocolError(code, reason)
        exc.frames = frames
        # The code and reason, not the exception: its traceback would hold
        # this parser in a reference cycle.
        self._error = (code, reason)
        # A failed connection reads nothing more: free what it held.
        self._partial_size = 0
        self._in_frame = False
        self._payload = None
        self._received = 0
        raise exc

    cdef int _parse(self, const uint8_t *p, Py_ssize_t n, list frames) except -1:
        cdef Py_ssize_t pos = 0
        cdef Py_ssize_t take
        cdef ff_header h
        cdef int r
        if self._partial_size:
            # Complete the header split by the previous feed.  At most 14
            # bytes, so copying is cheaper than anything clever.
            take = min(<Py_ssize_t>FF_MAX_HEADER - self._partial_size, n)
            memcpy(self._partial_header + self._partial_size, p, <size_t>take)
            r = ff_parse_header(self._partial_header, <size_t>(self._partial_size + take), &h)
            if r == FF_HEADER_NEED_MORE:
                self._partial_size += take
                return 0
            if r == FF_HEADER_BAD_LENGTH:
                return self._fail(_PROTOCOL_ERROR, "payload length has its most significant bit set", frames)
            pos = <Py_ssize_t>h.size - self._partial_size
            self._partial_size = 0
            pos += self._begin_frame(&h, p + pos, n - pos, frames)
        while True:
            if self._in_frame:
                pos += self._continue_frame(p + pos, n - pos, frames)
                if self._in_frame:
                    return 0
            if pos >= n:
                return 0
            r = ff_parse_header(p + pos, <size_t>(n - pos), &h)
            if r == FF_HEADER_NEED_MORE:
                memcpy(self._partial_header, p + pos, <size_t>(n - pos))
                self._partial_size = n - pos
                return 0
            if r == FF_HEADER_BAD_LENGTH:
                return self._fail(_PROTOCOL_ERROR, "payload length has its most significant bit set", frames)
            pos += <Py_ssize_t>h.size
            pos += self._begin_frame(&h, p + pos, n - pos, frames)

    cdef inline int _check_header(self, ff_header *h, list frames) except -1:
        """Apply the rules a header alone can break (RFC 6455 §5.1–5.5)."""
        cdef uint8_t opcode = h.opcode
        cdef uint64_t length = h.length
        if h.rsv2 or h.rsv3:
            return self._fail(_PROTOCOL_ERROR, "reserved bits RSV2/RSV3 must be 0", frames)
        if h.rsv1 and not (self._allow_rsv1 and (opcode == 1 or opcode == 2)):
            return self._fail(_PROTOCOL_ERROR, "reserved bit RSV1 must be 0 here", frames)
        if _OPCODES[opcode] is None:
            return self._fail(_PROTOCOL_ERROR, f"reserved opcode {opcode}", frames)
        if h.masked == self._client:
            return self._fail(
                _PROTOCOL_ERROR,
                "a server must not mask frames" if self._client else "a client must mask frames",
                frames,
            )
        if opcode >= 8:
            if length > 125:
                return self._fail(_PROTOCOL_ERROR, "control frame payload over 125 bytes", frames)
            if not h.fin:
                return self._fail(_PROTOCOL_ERROR, "fragmented control frame", frames)
            if length > self._max_frame_size:
                return self._fail(_MESSAGE_TOO_BIG, "frame exceeds max_frame_size", frames)
            return 0
        if opcode == 0:
            if not self._in_message:
                return self._fail(_PROTOCOL_ERROR, "continuation frame without a message to continue", frames)
        elif self._in_message:
            return self._fail(_PROTOCOL_ERROR, "new data frame inside a fragmented message", frames)
        if length > self._max_frame_size or length > <uint64_t>PY_SSIZE_T_MAX:
            return self._fail(_MESSAGE_TOO_BIG, "frame exceeds max_frame_size", frames)
        if opcode != 0:
            self._message_size = 0
            self._check_text = opcode == 1 and self._validate_utf8 and not h.rsv1
            self._utf8 = FF_UTF8_ACCEPT
        if length > self._max_message_size - self._message_size:
            return self._fail(_MESSAGE_TOO_BIG, "message exceeds max_message_size", frames)
        self._message_size += length
        self._in_message = not h.fin
        return 0

    cdef inline int _check_payload(self, ff_header *h, const uint8_t *payload, uint64_t start,
                                   uint64_t end, list frames) except -1:
        """Validate payload bytes [start, end) as they arrive, so that a bad byte fails at once (§8.1).

        ``payload`` is the start of the (unmasked) payload buffer.
        """
        cdef bint last = end == h.length
        if h.opcode < 8:
            if self._check_text:
                self._text_checked(
                    ff_utf8_validate(&self._utf8, payload + start, <size_t>(end - start)) == end - start,
                    last and h.fin, frames)
        elif h.opcode == 8:
            self._check_close_chunk(payload, start, end, last, frames)
        return 0

    cdef inline int _unmask_text(self, ff_header *h, uint8_t *payload, const uint8_t *p, uint64_t start,
                                 uint64_t end, list frames) except -1:
        """Unmask text payload bytes [start, end) from ``p`` and validate them in the same pass (§5.3, §8.1).

        The same bytes and the same failure as ``ff_mask`` then
        ``_check_payload``, with the payload read once.
        """
        return self._text_checked(
            ff_unmask_utf8(&self._utf8, payload + start, p, <size_t>(end - start), h.mask, <size_t>start)
            == end - start,
            end == h.length and h.fin, frames)

    cdef inline int _text_checked(self, bint accepted, bint message_end, list frames) except -1:
        """Fail on invalid text, or on text that ends inside a code point at the message's end (§8.1)."""
        if not accepted:
            return self._fail(_INVALID_DATA, "invalid UTF-8 in text message", frames)
        if message_end and self._utf8 != FF_UTF8_ACCEPT:
            return self._fail(_INVALID_DATA, "text message ends inside a UTF-8 sequence", frames)
        return 0

    cdef int _check_close_chunk(self, const uint8_t *payload, uint64_t start, uint64_t end, bint last,
                                list frames) except -1:
        """RFC 6455 §5.5.1 and §7.4 on a close payload, as its bytes arrive."""
        cdef unsigned int code
        cdef uint64_t skip
        if start < 2 <= end:
            code = (payload[0] << 8) | payload[1]
            if not ff_close_code_valid(code):
                return self._fail(_PROTOCOL_ERROR, f"invalid close code {code}", frames)
        if self._validate_utf8:
            if start < 2:
                self._close_utf8 = FF_UTF8_ACCEPT
            if end > 2:
                skip = start if start > 2 else 2
                if ff_utf8_validate(&self._close_utf8, payload + skip, <size_t>(end - skip)) != end - skip:
                    return self._fail(_INVALID_DATA, "invalid UTF-8 in close reason", frames)
        if last:
            if end == 1:
                return self._fail(_PROTOCOL_ERROR, "close frame payload of 1 byte", frames)
            if self._validate_utf8 and end > 2 and self._close_utf8 != FF_UTF8_ACCEPT:
                return self._fail(_INVALID_DATA, "invalid UTF-8 in close reason", frames)
        return 0

    cdef Py_ssize_t _begin_frame(self, ff_header *h, const uint8_t *p, Py_ssize_t avail,
                                 list frames) except -1:
        """Start the frame whose header was just read; return bytes consumed."""
        self._check_header(h, frames)
        cdef Py_ssize_t length = <Py_ssize_t>h.length
        cdef bytes payload
        cdef uint8_t *dst
        if avail >= length:
            # Fast path: the whole payload is here; unmask while copying.
            payload = PyBytes_FromStringAndSize(NULL, length)
            dst = <uint8_t *>PyBytes_AS_STRING(payload)
            if h.masked and self._check_text and h.opcode < 8:
                self._unmask_text(h, dst, p, 0, <uint64_t>length, frames)
            else:
                if h.masked:
                    ff_mask(dst, p, <size_t>length, h.mask, 0)
                else:
                    memcpy(dst, p, <size_t>length)
                if h.opcode == 8 or self._check_text:
                    self._check_payload(h, dst, 0, <uint64_t>length, frames)
            self._complete(h, payload, frames)
            return length
        self._header = h[0]
        self._payload = PyBytes_FromStringAndSize(
            NULL, length if length <= PREALLOCATE_UP_TO else max(avail, <Py_ssize_t>PREALLOCATE_UP_TO))
        self._received = 0
        self._in_frame = True
        return self._continue_frame(p, avail, frames)

    cdef Py_ssize_t _continue_frame(self, const uint8_t *p, Py_ssize_t avail,
                                    list frames) except -1:
        """Take the next payload bytes of the frame in progress; return bytes consumed."""
        cdef ff_header *h = &self._header
        cdef Py_ssize_t take = <Py_ssize_t>(h.length - self._received)
        if take > avail:
            take = avail
        cdef uint64_t start = self._received
        cdef Py_ssize_t capacity = PyBytes_GET_SIZE(self._payload)
        cdef bytes grown
        if <Py_ssize_t>start + take > capacity:
            # Only past PREALLOCATE_UP_TO: double, never beyond the frame.
            capacity = max(<Py_ssize_t>start + take, min(<Py_ssize_t>h.length, 2 * capacity))
            grown = PyBytes_FromStringAndSize(NULL, capacity)
            memcpy(PyBytes_AS_STRING(grown), PyBytes_AS_STRING(self._payload), <size_t>start)
            self._payload = grown
        cdef uint8_t *base = <uint8_t *>PyBytes_AS_STRING(self._payload)
        if h.masked and self._check_text and h.opcode < 8:
            self._received += <uint64_t>take
            self._unmask_text(h, base, p, start, self._received, frames)
        else:
            if h.masked:
                ff_mask(base + start, p, <size_t>take, h.mask, <size_t>start)
            else:
                memcpy(base + start, p, <size_t>take)
            self._received += <uint64_t>take
            if h.opcode == 8 or self._check_text:
                self._check_payload(h, base, start, self._received, frames)
        if self._received == h.length:
            payload = self._payload
            self._payload = None
            self._received = 0
            self._in_frame = False
            self._complete(h, payload, frames)
        return take

    cdef inline int _complete(self, ff_header *h, bytes payload, list frames) except -1:
        cdef Frame frame = Frame.__new__(Frame)
        frame._opcode = h.opcode
        frame._payload = payload
        frame.fin = h.fin
        frame.rsv1 = h.rsv1
        frame.rsv2 = False
        frame.rsv3 = False
        PyList_Append(frames, frame)
        return 0
