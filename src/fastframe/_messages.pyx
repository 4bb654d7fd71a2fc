# cython: language_level=3, freethreading_compatible=True
"""Whole messages from frames (RFC 6455 §5.4), compiled twin of ``_messages_py``.

An AI token stream is a message per frame, so the per-message cost is what
matters here: frames from the compiled parser are read as C structs, and a
:class:`Message` is built without going through its Python ``__new__``.
"""

cimport cython
from cpython.list cimport PyList_Append
from cpython.object cimport PyTypeObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_SET_ITEM
from cpython.unicode cimport PyUnicode_DecodeUTF8
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_FromStringAndSize

from libc.stdint cimport uint8_t, uint64_t

from ._buffers cimport as_bytes
from ._ckernels cimport (
    FF_HEADER_BAD_LENGTH, FF_HEADER_NEED_MORE, FF_HEADER_OK, ff_header, ff_mask, ff_parse_header, ff_str_from_valid_utf8,
    ff_utf8_is_valid,
)
from ._frames cimport Frame

from ._parser import FrameParser
from ._shared import OPCODES, Message
from .enums import CloseCode
from .errors import ProtocolError
from weakref import ref

cdef extern from "Python.h":
    # Returns a new reference, which Cython takes over.
    object PyType_GenericAlloc(PyTypeObject *type, Py_ssize_t nitems)
    void PyObject_GC_UnTrack(object op)

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

# Text up to this size is validated and decoded here; longer text goes to
# CPython's decoder, whose word-at-a-time ASCII and Latin-1 loops win there
# (the "FrameParser 1000 tokens" case of bench/test_bench_parser.py, with
# fastframe-cython-messages, measures the short side).
cdef enum:
    SHORT_TEXT = 64

__all__ = ["FrameRelay", "Message", "MessageAssembler"]

cdef tuple _OPCODES = OPCODES
cdef object _Message = Message
cdef object _INVALID_DATA = CloseCode.INVALID_DATA
cdef object _PROTOCOL_ERROR = CloseCode.PROTOCOL_ERROR
# Message is a NamedTuple: a tuple subclass with no fields of its own, so a
# tuple-sized allocation of its type, filled like a tuple, is a Message (this
# is what tuple.__new__ does for a subclass, minus the argument tuple).
cdef bint _ALLOC_MESSAGE = Message.__basicsize__ == tuple.__basicsize__ and Message.__itemsize__ == tuple.__itemsize__




cdef inline object _message(object opcode, object data, bint compressed):
    cdef object msg
    cdef object flag = True if compressed else False
    if not _ALLOC_MESSAGE:
        return tuple.__new__(_Message, (opcode, data, flag))
    msg = PyType_GenericAlloc(<PyTypeObject *>_Message, 3)
    ff_tuple_init_hash(msg)
    Py_INCREF(opcode)
    PyTuple_SET_ITEM(msg, 0, opcode)
    Py_INCREF(data)
    PyTuple_SET_ITEM(msg, 1, data)
    Py_INCREF(flag)
    PyTuple_SET_ITEM(msg, 2, flag)
    # Out of the garbage collector's sight, as CPython does for a tuple of
    # atoms: an Opcode, a str or bytes and a bool cannot lead back to the
    # message.  Tracked, a token stream's messages kept the collector
    # running (see fastframe-cython-messages in bench/test_bench_parser.py's
    # token stream).
    PyObject_GC_UnTrack(msg)
    return msg


# The docstring opens with the signature and "--": inspect.signature() reads
# it there (a compiled class has no other), and __doc__ leaves it out.
@cython.final
cdef class MessageAssembler:
    """MessageAssembler(parser=None, *, decode_text=True)
--

    Join the frames a :class:`~fastframe.FrameParser` returns into messages.

    The parser has already enforced the protocol: fragment sequencing, the
    message size limit (from each header, before buffering) and UTF-8 (as
    the bytes arrive), so the assembler only joins.  A message in progress
    holds its fragments until the final one, never more than the parser's
    ``max_message_size``.

    Args:
        parser: the frame parser to read from (any object with a
            ``feed(data) -> list[Frame]`` method, whose frames may carry
            any bytes-like payload: it is copied to bytes); by default a new
            ``FrameParser()`` of the same backend, with its defaults (server
            side, 1 MiB limits).
        decode_text: deliver text messages as ``str`` (True, the default) or
            as the UTF-8 ``bytes`` (False, e.g. to hand JSON bytes to a parser
            that reads them directly).
    """

    cdef object _parser
    cdef bint _decode_text
    cdef int _opcode  # of the fragmented message in progress, or -1
    cdef bint _compressed
    cdef list _parts
    cdef object _error

    def __init__(self, parser=None, *, bint decode_text=True):
        if parser is None:
            parser = FrameParser()
        self._parser = parser
        self._decode_text = decode_text
        self._opcode = -1
        self._compressed = False
        self._parts = []
        self._error = None

    @property
    def parser(self):
        """The frame parser this assembler reads from."""
        return self._parser

    def feed(self, data):
        """Parse the next bytes received and return the messages they complete.

        Args:
            data: any C-contiguous buffer.

        Returns:
            Completed data messages and control frames, in order.

        Raises:
            ProtocolError: from the parser; or, for what a parser that
                does not check let through, 1007 for a text message that is
                not UTF-8 and 1002 for a continuation frame with no message.
                The messages completed before the error by this call are in
                the exception's ``messages``; later calls raise the same
                error.
        """
        cdef list messages = []
        with cython.critical_section(self):
            self._feed(data, messages)
        return messages

    cdef int _feed(self, object data, list messages) except -1:
        if self._error is not None:
            raise ProtocolError(self._error.code, self._error.reason)
        try:
            try:
                frames = self._parser.feed(data)
            except ProtocolError as exc:
                self._assemble(exc.frames, messages)
                raise
            self._assemble(frames, messages)
        except ProtocolError as exc:
            exc.messages = messages
            self._error = exc
            self._parts = []
            raise
        return 0

    cdef int _assemble(self, list frames, list messages) except -1:
        cdef Frame frame
        cdef int opcode
        cdef bint fin, rsv1
        cdef bytes payload
        for obj in frames:
            if type(obj) is Frame:
                frame = <Frame>obj
                opcode = frame._opcode
                fin = frame.fin
                rsv1 = frame.rsv1
                payload = frame._payload
            else:  # a frame from another parser, e.g. the pure twin's
                opcode = obj.opcode
                fin = obj.fin
                rsv1 = obj.rsv1
                payload = as_bytes(obj.payload)
            if opcode >= 8:
                PyList_Append(messages, _message(_OPCODES[opcode], payload, False))
                continue
            if opcode != 0:
                if fin:
                    # Unfragmented: by far the most common case, no join.
                    PyList_Append(messages, self._finish(opcode, rsv1, payload))
                    continue
                self._opcode = opcode
                self._compressed = rsv1
                self._parts = [payload]
                continue
            if self._opcode < 0:
                # FrameParser rejects these; another parser might not.
                raise ProtocolError(_PROTOCOL_ERROR, "continuation frame without a message to continue")
            if PyBytes_GET_SIZE(payload):
                # Empty fragments add nothing: kept, endless ones from a
                # peer would grow the list under no size limit.
                self._parts.append(payload)
            if fin:
                payload = b"".join(self._parts)
                self._parts = []
                opcode = self._opcode
                self._opcode = -1
                PyList_Append(messages, self._finish(opcode, self._compressed, payload))
        return 0

    cdef object _finish(self, int opcode, bint compressed, bytes payload):
        cdef const uint8_t *p
        cdef Py_ssize_t n
        if opcode == 1 and self._decode_text and not compressed:
            p = <const uint8_t *>PyBytes_AS_STRING(payload)
            n = PyBytes_GET_SIZE(payload)
            # Invalid UTF-8 only gets this far from a parser told not to
            # validate (or not ours).
            if n <= SHORT_TEXT:
                if not ff_utf8_is_valid(p, <size_t>n):
                    raise ProtocolError(_INVALID_DATA, "invalid UTF-8 in text message")
                return _message(_OPCODES[opcode], ff_str_from_valid_utf8(p, n), False)
            try:
                text = PyUnicode_DecodeUTF8(<const char *>p, n, NULL)
            except UnicodeDecodeError:
                raise ProtocolError(_INVALID_DATA, "invalid UTF-8 in text message") from None
            return _message(_OPCODES[opcode], text, False)
        return _message(_OPCODES[opcode], payload, compressed)


cdef inline object _record(object cls, object kind, object data):
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
    frame not all there yet, a header cut short.  A frame it delivers
    becomes ``cls((kind, data, ""))`` and ``queue.feed_data(record,
    len(payload))``, with ``(binary_cls, binary_kind, text_cls, text_kind,
    overhead, decode_text) = kinds`` (text as ``str`` when ``decode_text``,
    else as ``bytes``); ``overhead`` is what the queue adds to each record's
    size.  When the reader's class or the reader itself has its own
    ``_handle_frame`` (a subclass, a test), each such frame goes to
    ``reader._handle_frame(True, opcode, payload, 0)`` instead, its payload
    a ``bytearray`` if it was masked, as the library's parser passes it.

    Flow control is the library's: before each frame, if ``queue._size`` is
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
    cdef bint _stalled  # stall(True) was the last call

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
        self._stalled = False

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
            self._hand_on(data[pos], extent)

    cdef void _keep(self, bytes rest) except *:
        self._pending = rest
        self._stalled = True
        self._stall(True)

    cdef void _hand_on(self, uint8_t first, uint64_t extent) noexcept:
        """The next ``extent`` bytes are a frame for the library's parser, its first byte ``first``."""
        if first & 0x0F < 8:
            self._fragmented = not (first & 0x80)
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
            if (self._max_size and length >= self._max_size) or length > <uint64_t>(n - pos - <Py_ssize_t>h.size):
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
                p = <const uint8_t *>PyBytes_AS_STRING(payload)
            else:
                payload = PyBytes_FromStringAndSize(<const char *>p, <Py_ssize_t>length)
            if h.opcode == 2:
                record = _record(self._binary_cls, self._binary_kind, payload)
            elif not self._decode_text:
                record = _record(self._text_cls, self._text_kind, payload)
            elif length <= SHORT_TEXT:
                if not ff_utf8_is_valid(p, <size_t>length):
                    return pos  # the library raises its own error
                record = _record(self._text_cls, self._text_kind, ff_str_from_valid_utf8(p, <Py_ssize_t>length))
            else:
                try:
                    text = PyUnicode_DecodeUTF8(<const char *>p, <Py_ssize_t>length, NULL)
                except UnicodeDecodeError:
                    return pos
                record = _record(self._text_cls, self._text_kind, text)
            put(record, <Py_ssize_t>length)
            size += <Py_ssize_t>length + self._overhead
            pos += h.size + <Py_ssize_t>length
        why[0] = RELAY_DONE
        return pos
