# cython: language_level=3, freethreading_compatible=True
"""Fast paths into other libraries' own objects, compiled twin of ``_relay_py``.

The integrations (``fastframe.integrations``) hand a library's receive path
to these: they read frames with fastframe's kernels and deliver exactly the
objects the library's own parser would, stopping at whatever they leave to
the library's code.  Not part of the public API.
"""

cimport cython
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_FromStringAndSize
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.tuple cimport PyTuple_SET_ITEM
from libc.stdint cimport uint8_t, uint64_t
from libc.string cimport memcpy

from ._ckernels cimport (
    FF_HEADER_BAD_LENGTH, FF_HEADER_NEED_MORE, FF_HEADER_OK, ff_header, ff_mask, ff_parse_header,
    ff_str_from_valid_utf8, ff_utf8_is_valid,
)

from weakref import ref

__all__ = ["FrameRelay", "read_data_frames"]

cdef extern from "Python.h":
    # Returns a new reference, which Cython takes over.
    object PyType_GenericAlloc(PyTypeObject *type, Py_ssize_t nitems)
    void PyObject_GC_UnTrack(object op)
    # Grows a bytes object only this code holds (refcount 1); on failure frees it and sets NULL.
    int _PyBytes_Resize(PyObject **pv, Py_ssize_t newsize) except -1

cdef extern from *:
    """
    /* From 3.14 a tuple caches its hash, -1 meaning "not computed yet";
     * PyType_GenericAlloc zero-fills, which would read as a hash of 0. */
    static inline void ff_tuple_init_hash(PyObject *t)
    {
    #if PY_VERSION_HEX >= 0x030E0000
        ((PyTupleObject *)t)->ob_hash = -1;
    #else
        (void)t;
    #endif
    }
    """
    void ff_tuple_init_hash(object t)

cdef inline object _new_record(object cls, object kind, object data):
    """``cls((kind, data, ""))`` for a tuple type with no fields of its own (as _message)."""
    cdef object record
    cdef PyTypeObject *t = <PyTypeObject *>cls
    if t.tp_basicsize != (<PyTypeObject *>tuple).tp_basicsize or t.tp_itemsize != (<PyTypeObject *>tuple).tp_itemsize:
        return tuple.__new__(cls, (kind, data, ""))
    record = PyType_GenericAlloc(t, 3)
    ff_tuple_init_hash(record)
    Py_INCREF(kind)
    PyTuple_SET_ITEM(record, 0, kind)
    Py_INCREF(data)
    PyTuple_SET_ITEM(record, 1, data)
    Py_INCREF("")
    PyTuple_SET_ITEM(record, 2, "")
    # Atoms only (an enum member, str or bytes, ""): untracked, as _message.
    PyObject_GC_UnTrack(record)
    return record


# Why FrameRelay.feed stopped (_relay's *why).
cdef enum:
    RELAY_DONE = 0  # every frame delivered
    RELAY_HEADER = 1  # a header cut short at the end of the bytes
    RELAY_FULL = 2  # the queue is over its limit
    RELAY_LIBRARY = 3  # a frame for the library's own parser
    RELAY_SYNC = 4  # a frame the relay would deliver, for the library's parser (_synced)
    RELAY_COLLECT = 5  # a frame the relay delivers, its payload not all there yet


# The docstring opens with the signature and "--": inspect.signature() reads
# it there (a compiled class has no other), and __doc__ leaves it out.
@cython.final
cdef class FrameRelay:
    """FrameRelay(reader, queue, library_feed, library_handle, stall, kinds, max_size)
--

    Read a connection's frames for a library that queues one record per message (aiohttp).

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

    cdef object _reader
    cdef object _queue
    cdef object _library_feed
    cdef object _library_handle
    cdef object _stall
    cdef object _binary_cls, _binary_kind, _text_cls, _text_kind
    cdef Py_ssize_t _overhead
    cdef bint _decode_text
    cdef uint64_t _max_size
    cdef bytes _pending  # bytes kept over a stall
    cdef bytes _head  # the start of a header the library's parser has, the rest to come
    cdef uint64_t _left  # bytes of the frame the library's parser is reading, still to come
    cdef bint _fragmented  # a fragmented message in progress: its frames are the library's
    # The library's parser holds the state a whole plain data frame leaves
    # (aiohttp: _frame_fin True, _compressed FALSE), so a frame the relay
    # delivers leaves it unchanged.
    cdef bint _synced
    cdef bint _stalled  # stall(True) was the last call
    # A frame the relay delivers, its payload still arriving (_want bytes
    # more): a bytes object only the relay holds (NULL before its first
    # byte), grown in place as bytes arrive (the announced length may be a
    # lie), _got of its _cap bytes unmasked payload.
    cdef PyObject *_body
    cdef Py_ssize_t _got, _cap
    cdef uint64_t _want  # its payload bytes still to come
    cdef bytes _frame_head  # its header
    cdef int _frame_opcode
    cdef bint _frame_masked
    cdef uint8_t _frame_mask[4]
    cdef Py_ssize_t _pieces  # the pieces of its payload that came before the last, as the library counts them

    def __dealloc__(self):
        Py_XDECREF(self._body)
        self._body = NULL

    def __init__(self, reader, queue, library_feed, library_handle, stall, tuple kinds, max_size):
        self._reader = ref(reader)
        self._queue = queue
        self._library_feed = library_feed
        self._library_handle = library_handle
        self._stall = stall
        self._binary_cls, self._binary_kind, self._text_cls, self._text_kind, self._overhead, self._decode_text = kinds
        if max_size < 0:
            raise ValueError(f"max_size must be 0 or more, got {max_size}")
        self._max_size = max_size
        self._pending = b""
        self._head = b""
        self._left = 0
        self._fragmented = False
        self._synced = False
        self._stalled = False
        self._want = 0

    def feed(self, bytes data not None):
        """Read ``data``, the next bytes of the connection (``b""`` to resume after a stall)."""
        cdef object reader = self._reader()
        cdef object queue = self._queue
        cdef object handle = None
        cdef Py_ssize_t pos = 0, n, end
        cdef uint64_t extent
        cdef int why
        if reader is None:
            raise ReferenceError("the reader is gone")
        if self._stalled:
            self._stalled = False
            self._stall(False)
        if self._pending:
            data = self._pending + data
            self._pending = b""
        n = PyBytes_GET_SIZE(data)
        if self._head and n:
            if queue._size > queue._limit:
                self._keep(data)
                return
            self._hand_on_header(data)
        if "_handle_frame" in getattr(reader, "__dict__", ()) or type(reader)._handle_frame is not self._library_handle:
            handle = reader._handle_frame
        while pos < n:
            if self._want:
                pos = self._collect(reader, data, pos, handle)
                continue
            if self._left:
                # The frame in progress is the library's: its bytes go to its
                # parser, which would stall first on a full queue, as here.
                if queue._size > queue._limit:
                    self._keep(data[pos:])
                    return
                end = n if self._left >= <uint64_t>(n - pos) else pos + <Py_ssize_t>self._left
                self._library_feed(reader, data if pos == 0 and end == n else data[pos:end])
                self._left -= <uint64_t>(end - pos)
                pos = end
                continue
            pos = self._relay(data, pos, handle, not self._fragmented, &why, &extent)
            if why == RELAY_DONE:
                break
            if why == RELAY_FULL:
                self._keep(data[pos:])
                return
            if why == RELAY_HEADER:
                # The library's parser reads it, as it would (refusing it
                # from its first bytes if it must).
                self._head = data[pos:]
                self._library_feed(reader, self._head)
                return
            if why == RELAY_SYNC:
                self._left = extent
                self._synced = True
                continue
            if why == RELAY_COLLECT:
                pos = self._begin(data, pos)
                continue
            self._hand_on(data[pos], extent)

    cdef Py_ssize_t _begin(self, bytes data, Py_ssize_t pos) except -1:
        """Keep the frame at ``data[pos:]``, its payload not all there; returns where its payload starts."""
        cdef ff_header h
        if ff_parse_header(<const uint8_t *>PyBytes_AS_STRING(data) + pos, <size_t>(PyBytes_GET_SIZE(data) - pos),
                           &h) != FF_HEADER_OK:
            raise AssertionError("a frame to collect with no whole header")
        self._frame_head = data[pos:pos + <Py_ssize_t>h.size]
        self._frame_opcode = h.opcode
        self._frame_masked = h.masked
        if h.masked:
            self._frame_mask[0] = h.mask[0]
            self._frame_mask[1] = h.mask[1]
            self._frame_mask[2] = h.mask[2]
            self._frame_mask[3] = h.mask[3]
        self._want = h.length
        self._got = 0
        self._cap = 0
        self._pieces = 0
        return pos + <Py_ssize_t>h.size

    cdef int _grow(self, Py_ssize_t need) except -1:
        """Room in the body for ``need`` more bytes (1 or more): doubled, at most to the whole
        payload, so a hostile length costs no more than twice the bytes that came."""
        cdef Py_ssize_t cap
        cdef object first
        if self._got + need <= self._cap:
            return 0
        cap = self._cap * 2 if self._cap < (<Py_ssize_t>1 << 61) else self._got + need
        if cap < self._got + need:
            cap = self._got + need
        if <uint64_t>(cap - self._got) > self._want:
            cap = self._got + <Py_ssize_t>self._want
        try:
            if self._body == NULL:
                first = PyBytes_FromStringAndSize(NULL, cap)
                Py_INCREF(first)
                self._body = <PyObject *>first
            else:
                _PyBytes_Resize(&self._body, cap)
        except MemoryError:
            # The frame is dropped whole (a failed resize has freed the body): no later byte lands in a stale buffer.
            Py_XDECREF(self._body)
            self._body = NULL
            self._want = 0
            self._got = self._cap = 0
            raise
        self._cap = cap
        return 0

    cdef Py_ssize_t _collect(self, object reader, bytes data, Py_ssize_t pos, object handle) except -1:
        """Add the next bytes of the frame being collected; deliver it when whole.  Returns where it stopped."""
        cdef Py_ssize_t take = PyBytes_GET_SIZE(data) - pos
        cdef const uint8_t *src = <const uint8_t *>PyBytes_AS_STRING(data) + pos
        cdef uint8_t *dst
        cdef object body
        if <uint64_t>take > self._want:
            take = <Py_ssize_t>self._want
        self._grow(take)
        dst = <uint8_t *>PyBytes_AS_STRING(<object>self._body) + self._got
        if self._frame_masked:
            # The key phase is the piece's place in the payload (RFC 6455 §5.3).
            ff_mask(dst, src, <size_t>take, self._frame_mask, <size_t>self._got)
        else:
            memcpy(dst, src, <size_t>take)
        self._got += take
        self._want -= <uint64_t>take
        if self._want:
            if take:
                self._pieces += 1
            return pos + take
        body = <object>self._body
        Py_XDECREF(self._body)
        self._body = NULL
        self._deliver(reader, body, handle)
        return pos + take

    cdef int _deliver(self, object reader, bytes body, object handle) except -1:
        """Deliver the collected frame, its unmasked payload ``body``, as a whole one."""
        cdef Py_ssize_t length = PyBytes_GET_SIZE(body)
        cdef uint8_t *p = <uint8_t *>PyBytes_AS_STRING(body)
        cdef object record
        cdef bint folded
        if handle is not None:
            # The library's parser passes a bytearray when it masked in place or folded the pieces.
            folded = self._max_size != 0 and <uint64_t>self._pieces > max(<uint64_t>1024, self._max_size // 256)
            if self._frame_masked or folded:
                handle(True, self._frame_opcode, PyByteArray_FromStringAndSize(<const char *>p, length), 0)
            else:
                handle(True, self._frame_opcode, body, 0)
            return 0
        record = self._record(self._frame_opcode, body)
        if record is None:
            # The library raises its own error from the frame's own bytes.
            if self._frame_masked:
                ff_mask(p, p, <size_t>length, self._frame_mask, 0)
            self._library_feed(reader, self._frame_head + body)
            return 0
        self._queue.feed_data(record, length)
        return 0

    @cython.final
    cdef inline object _record(self, int opcode, bytes payload):
        """The queue's record of a whole data frame, its unmasked ``payload``; None for text of invalid UTF-8."""
        cdef const uint8_t *p = <const uint8_t *>PyBytes_AS_STRING(payload)
        cdef Py_ssize_t length = PyBytes_GET_SIZE(payload)
        if opcode == 2:
            return _new_record(self._binary_cls, self._binary_kind, payload)
        if not self._decode_text:
            return _new_record(self._text_cls, self._text_kind, payload)
        if not ff_utf8_is_valid(p, <size_t>length):
            return None
        return _new_record(self._text_cls, self._text_kind, ff_str_from_valid_utf8(p, length))

    cdef void _keep(self, bytes rest) except *:
        self._pending = rest
        self._stalled = True
        self._stall(True)

    cdef void _hand_on(self, uint8_t first, uint64_t extent) noexcept:
        """The next ``extent`` bytes are a frame for the library's parser, its first byte ``first``."""
        if first & 0x0F < 8:
            # Its header changes the library's parser's state, whatever comes of it.
            self._fragmented = not (first & 0x80)
            self._synced = False
        self._left = extent

    cdef void _hand_on_header(self, bytes data) except *:
        """The library's parser has the start of a header: the rest of its frame, in ``data``, is its too."""
        cdef bytes head = self._head + data[:14]
        cdef ff_header h
        cdef int status = ff_parse_header(<const uint8_t *>PyBytes_AS_STRING(head), <size_t>PyBytes_GET_SIZE(head), &h)
        cdef uint64_t had = <uint64_t>PyBytes_GET_SIZE(self._head)
        if status == FF_HEADER_NEED_MORE:
            self._head += data
            self._left = <uint64_t>PyBytes_GET_SIZE(data)
            return
        if status == FF_HEADER_OK:
            self._hand_on(<uint8_t>head[0], h.size + h.length - had)
        else:
            # A length the library refuses: all of it is the library's.
            self._left = 0xFFFFFFFFFFFFFFFF
        self._head = b""

    cdef Py_ssize_t _relay(self, bytes data, Py_ssize_t pos, object handle, bint deliver,
                           int *why, uint64_t *extent) except -1:
        """Deliver the frames at ``data[pos:]`` it can; returns where it stopped, and why."""
        cdef const uint8_t *base = <const uint8_t *>PyBytes_AS_STRING(data)
        cdef const uint8_t *p
        cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
        cdef ff_header h
        cdef int status
        cdef uint64_t length
        cdef object payload, record
        cdef object queue = self._queue
        cdef object put = queue.feed_data
        cdef Py_ssize_t size = queue._size
        cdef Py_ssize_t limit = queue._limit
        while pos < n:
            # Where the library's parser stalls too: before any frame, bytes left.
            if size > limit:
                why[0] = RELAY_FULL
                return pos
            status = ff_parse_header(base + pos, <size_t>(n - pos), &h)
            if status != FF_HEADER_OK:
                if status == FF_HEADER_BAD_LENGTH:
                    # The library refuses the length before reading more.
                    why[0] = RELAY_LIBRARY
                    extent[0] = 0xFFFFFFFFFFFFFFFF
                    return pos
                why[0] = RELAY_HEADER
                return pos
            length = h.length
            why[0] = RELAY_LIBRARY
            extent[0] = h.size + length
            if not deliver or not h.fin or h.rsv1 or h.rsv2 or h.rsv3 or (h.opcode != 1 and h.opcode != 2):
                return pos
            if self._max_size and length >= self._max_size:
                return pos
            if not self._synced:
                why[0] = RELAY_SYNC
                return pos
            if length > <uint64_t>(n - pos - <Py_ssize_t>h.size):
                why[0] = RELAY_COLLECT
                return pos
            p = base + pos + h.size
            if handle is not None:
                if h.masked:
                    payload = PyByteArray_FromStringAndSize(NULL, <Py_ssize_t>length)
                    ff_mask(<uint8_t *>PyByteArray_AS_STRING(payload), p, <size_t>length, h.mask, 0)
                else:
                    payload = PyBytes_FromStringAndSize(<const char *>p, <Py_ssize_t>length)
                handle(True, h.opcode, payload, 0)
                size = queue._size
                pos += h.size + <Py_ssize_t>length
                continue
            if h.masked:
                payload = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>length)
                ff_mask(<uint8_t *>PyBytes_AS_STRING(payload), p, <size_t>length, h.mask, 0)
            else:
                payload = PyBytes_FromStringAndSize(<const char *>p, <Py_ssize_t>length)
            record = self._record(h.opcode, payload)
            if record is None:
                # The library raises its own error, its parser in step after this header.
                why[0] = RELAY_SYNC
                return pos
            put(record, <Py_ssize_t>length)
            size += <Py_ssize_t>length + self._overhead
            pos += h.size + <Py_ssize_t>length
        why[0] = RELAY_DONE
        return pos


def read_data_frames(bytearray buf, Py_ssize_t pos, bint masked, max_message_size, max_fragment_size,
                     current_size, frame_cls, tuple opcodes, list events):
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
    cdef const uint8_t *base = <const uint8_t *>PyByteArray_AS_STRING(buf)
    cdef Py_ssize_t n = len(buf)
    cdef ff_header h
    cdef Py_ssize_t length, start
    cdef object data, frame, state
    if pos < 0 or pos > n:
        raise ValueError(f"pos must be in 0..{n}, got {pos}")
    if len(opcodes) != 16:
        raise ValueError("opcodes must have 16 entries")
    new = object.__new__
    while pos < n:
        if ff_parse_header(base + pos, <size_t>(n - pos), &h) != FF_HEADER_OK:
            break
        if h.opcode > 2 or h.rsv1 or h.rsv2 or h.rsv3 or h.masked != masked or opcodes[h.opcode] is None:
            break
        if (h.opcode == 0) != (current_size is not None):
            break  # the library's own parser raises its error
        # The limit as the library's parser computes it.
        allowed = max_fragment_size
        if max_message_size is not None:
            allowed = max_message_size - (current_size or 0)
            if max_fragment_size is not None and max_fragment_size < allowed:
                allowed = max_fragment_size
        if allowed is not None and (allowed < 0 or h.length > <uint64_t>allowed):
            break
        if h.length > <uint64_t>(n - pos - <Py_ssize_t>h.size):
            break
        length = <Py_ssize_t>h.length
        start = pos + <Py_ssize_t>h.size
        if masked:
            data = PyBytes_FromStringAndSize(NULL, length)
            ff_mask(<uint8_t *>PyBytes_AS_STRING(data), base + start, <size_t>length, h.mask, 0)
        else:
            data = PyByteArray_FromStringAndSize(<const char *>(base + start), length)
        frame = new(frame_cls)
        state = frame.__dict__
        state["opcode"] = opcodes[h.opcode]
        state["data"] = data
        state["fin"] = True if h.fin else False
        state["rsv1"] = False
        state["rsv2"] = False
        state["rsv3"] = False
        events.append(frame)
        if h.opcode == 0:
            current_size = None if h.fin else current_size + length
        elif not h.fin:
            current_size = length
        pos = start + length
    return pos, current_size
