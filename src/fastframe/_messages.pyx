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
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE

from libc.stdint cimport uint8_t

from ._buffers cimport as_bytes
from ._ckernels cimport ff_decode_utf8
from ._frames cimport Frame

from ._parser import FrameParser
from ._shared import OPCODES, Message
from .enums import CloseCode
from .errors import ProtocolError

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

__all__ = ["Message", "MessageAssembler"]

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
    ``max_message_size``.  An assembler, like its parser, is not
    thread-safe; use one per connection.

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
            raise ProtocolError(*self._error)
        try:
            try:
                frames = self._parser.feed(data)
            except ProtocolError as exc:
                self._assemble(exc.frames, messages)
                raise
            self._assemble(frames, messages)
        except ProtocolError as exc:
            exc.messages = messages
            # The code and reason, not the exception: its traceback would
            # hold this assembler in a reference cycle.
            self._error = (exc.code, exc.reason)
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
            try:
                text = ff_decode_utf8(p, n)
            except UnicodeDecodeError:
                raise ProtocolError(_INVALID_DATA, "invalid UTF-8 in text message") from None
            return _message(_OPCODES[opcode], text, False)
        return _message(_OPCODES[opcode], payload, compressed)
