# cython: language_level=3, freethreading_compatible=True
"""Frame headers, frames and close payloads (RFC 6455 §5.2, §5.5.1), compiled twin of ``_frames_py``."""

cimport cython
from cpython.buffer cimport PyBuffer_Release
from cpython.bytes cimport (
    PyBytes_AS_STRING, PyBytes_CheckExact, PyBytes_FromStringAndSize, PyBytes_GET_SIZE,
)
from cpython.number cimport PyNumber_Index
from cpython.object cimport PyObject
from cpython.pythread cimport (
    WAIT_LOCK, PyThread_acquire_lock, PyThread_allocate_lock, PyThread_release_lock, PyThread_type_lock,
)
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport uint8_t, uint64_t
from libc.string cimport memcpy

from ._buffers cimport as_bytes, get_buffer, load_mask
from ._ckernels cimport (
    FF_HEADER_BAD_LENGTH, FF_HEADER_NEED_MORE, FF_MAX_HEADER, MASK_GIL_RELEASE_SIZE, ff_build_header,
    ff_close_code_valid, ff_header, ff_mask, ff_parse_header, ff_utf8_is_valid,
)

import os
import secrets

from ._shared import MAX_PAYLOAD_LENGTH, OPCODES, encode_close, frame_repr, header_repr, split_message
from .enums import CloseCode, Opcode
from .errors import ProtocolError


cdef extern from "Python.h":
    # With exc NULL an out-of-range integer is clipped to PY_SSIZE_T_MIN/MAX;
    # a non-integer is still a TypeError.
    Py_ssize_t _as_ssize_t_clipped "PyNumber_AsSsize_t"(object o, PyObject *exc) except? -1


__all__ = [
    "Header",
    "Frame",
    "parse_header",
    "build_header",
    "build_frame",
    "build_fragments",
    "parse_close",
    "build_close",
    "MAX_PAYLOAD_LENGTH",
    "OPCODES",
]


cdef dict _CLOSE_CODES = {int(member): member for member in CloseCode}
cdef object _NO_STATUS_RCVD = CloseCode.NO_STATUS_RCVD


cdef object _check_field(str name, object value, object top):
    """An integer Header field: TypeError for a non-integer, ValueError out of 0..top."""
    value = PyNumber_Index(value)
    if not 0 <= value <= top:
        raise ValueError(f"{name} must be in 0..{'2**63-1' if top == MAX_PAYLOAD_LENGTH else top}, got {value}")
    return value


# Not tracked by the garbage collector: a header holds only ints, bytes and
# flags, so it cannot be part of a reference cycle.
# The docstring opens with the signature and "--": inspect.signature() reads
# it there (a compiled class has no other), and __doc__ leaves it out.
@cython.no_gc
@cython.freelist(32)
cdef class Header:
    """Header()
--

    A parsed frame header (RFC 6455 §5.2).

    Fields are checked on assignment, the same way by both backends: the
    bits are stored as ``bool``; ``opcode`` (0 to 15), ``length`` (0 to
    2**63 - 1) and ``size`` (0 to 14) must be integers in range (TypeError,
    ValueError); ``mask`` is None or any 4-byte buffer, stored as bytes.

    Attributes:
        fin: the FIN bit: this frame ends its message.
        rsv1: the RSV1 bit (used by permessage-deflate, RFC 7692).
        rsv2: the RSV2 bit.
        rsv3: the RSV3 bit.
        opcode: the 4-bit opcode as a plain ``int`` (reserved values included:
            deciding what is allowed is the parser's job).
        masked: the MASK bit.
        length: the payload length in bytes.
        mask: the 4-byte masking key, or None for an unmasked frame.
        size: the length of the header itself in bytes (2 to 14).
    """

    cdef public bint fin
    cdef public bint rsv1
    cdef public bint rsv2
    cdef public bint rsv3
    cdef public bint masked
    # Checked on assignment, as in the pure twin (see _check_field there).
    cdef int _opcode
    cdef unsigned long long _length
    cdef bytes _mask
    cdef int _size

    # The properties carry no docstrings: the class docstring documents the
    # fields, as the pure twin's does (test_backend.py::test_same_docstrings).
    @property
    def opcode(self):
        return self._opcode

    @opcode.setter
    def opcode(self, value):
        self._opcode = <int>_check_field("opcode", value, 15)

    @property
    def length(self):
        return self._length

    @length.setter
    def length(self, value):
        self._length = <unsigned long long>_check_field("length", value, MAX_PAYLOAD_LENGTH)

    @property
    def mask(self):
        return self._mask

    @mask.setter
    def mask(self, value):
        cdef uint8_t key[4]
        if value is None:
            self._mask = None
        else:
            load_mask(value, key)
            self._mask = PyBytes_FromStringAndSize(<char *>key, 4)

    @property
    def size(self):
        return self._size

    @size.setter
    def size(self, value):
        self._size = <int>_check_field("size", value, FF_MAX_HEADER)

    def __delattr__(self, name):
        raise AttributeError(f"cannot delete {name!r}: a Header's fields always have a value")

    def __repr__(self):
        return header_repr(self)

    def __eq__(self, other):
        if not isinstance(other, Header):
            return NotImplemented
        cdef Header o = other
        return (
            self.fin == o.fin and self.rsv1 == o.rsv1 and self.rsv2 == o.rsv2
            and self.rsv3 == o.rsv3 and self._opcode == o._opcode and self.masked == o.masked
            and self._length == o._length and self._mask == o._mask and self._size == o._size
        )

    __hash__ = None


def parse_header(buf, offset=0):
    """Parse the frame header that starts at ``buf[offset]`` (RFC 6455 §5.2).

    Only the header's own encoding is checked here; protocol rules (reserved
    bits and opcodes, masking, control frame sizes) are :class:`FrameParser`'s.

    Args:
        buf: any C-contiguous buffer.
        offset: where the header starts in ``buf``.

    Returns:
        The header, or None if ``buf`` ends before the header does.

    Raises:
        ProtocolError: the 64-bit length has its most significant bit set
            (code 1002).
        TypeError: ``buf`` is not a C-contiguous buffer.
        ValueError: ``offset`` is negative or past the end of ``buf``.
    """
    cdef Py_buffer view
    cdef ff_header h
    cdef int r
    cdef Py_ssize_t n
    # Clipped to PY_SSIZE_T_MIN/MAX rather than OverflowError: any value out
    # of range is a ValueError below, as in the pure twin.
    cdef Py_ssize_t start = _as_ssize_t_clipped(offset, NULL)
    if PyBytes_CheckExact(buf):
        n = PyBytes_GET_SIZE(buf)
        if start < 0 or start > n:
            raise ValueError(f"offset {offset} is outside the buffer of {n} bytes")
        r = ff_parse_header(<const uint8_t *>PyBytes_AS_STRING(buf) + start, <size_t>(n - start), &h)
    else:
        get_buffer(buf, &view, False)
        n = view.len
        if start < 0 or start > n:
            PyBuffer_Release(&view)
            raise ValueError(f"offset {offset} is outside the buffer of {n} bytes")
        r = ff_parse_header(<const uint8_t *>view.buf + start, <size_t>(n - start), &h)
        PyBuffer_Release(&view)
    if r == FF_HEADER_NEED_MORE:
        return None
    if r == FF_HEADER_BAD_LENGTH:
        raise ProtocolError(CloseCode.PROTOCOL_ERROR, "payload length has its most significant bit set")
    cdef Header header = Header.__new__(Header)
    header.fin = h.fin
    header.rsv1 = h.rsv1
    header.rsv2 = h.rsv2
    header.rsv3 = h.rsv3
    header._opcode = h.opcode
    header.masked = h.masked
    header._length = h.length
    header._mask = PyBytes_FromStringAndSize(<char *>h.mask, 4) if h.masked else None
    header._size = <int>h.size
    return header


# Masking keys cut from a pool of bytes drawn from the OS's CSPRNG: RFC 6455
# §5.3 asks for keys from "a strong source of entropy", and one system call
# per frame costs more than building the frame.  The lock is never held
# across Python code (which could release the GIL), so it cannot deadlock;
# it matters on free-threaded builds.  A forked child empties the pool, so
# parent and child never share keys, and takes a new lock: a thread of the
# parent may have held the old one at the fork, and no thread of the child
# will ever release it.
cdef enum:
    KEY_POOL_SIZE = 4096
cdef uint8_t _key_pool[KEY_POOL_SIZE]
cdef Py_ssize_t _key_pos = KEY_POOL_SIZE
cdef PyThread_type_lock _key_lock = PyThread_allocate_lock()
if _key_lock == NULL:
    raise MemoryError("cannot allocate the masking key lock")


cdef int _random_key(uint8_t key[4]) except -1:
    global _key_pos
    cdef bytes fresh
    while True:
        PyThread_acquire_lock(_key_lock, WAIT_LOCK)
        if _key_pos + 4 <= KEY_POOL_SIZE:
            memcpy(key, _key_pool + _key_pos, 4)
            _key_pos += 4
            PyThread_release_lock(_key_lock)
            return 0
        PyThread_release_lock(_key_lock)
        fresh = secrets.token_bytes(KEY_POOL_SIZE)
        PyThread_acquire_lock(_key_lock, WAIT_LOCK)
        if _key_pos + 4 > KEY_POOL_SIZE:
            memcpy(_key_pool, PyBytes_AS_STRING(fresh), KEY_POOL_SIZE)
            _key_pos = 0
        PyThread_release_lock(_key_lock)


def _after_fork_in_child():
    global _key_pos, _key_lock
    cdef PyThread_type_lock fresh = PyThread_allocate_lock()
    if fresh == NULL:
        raise MemoryError("cannot allocate the masking key lock")
    # The old lock is left allocated: freeing a lock that may be held is
    # undefined on some platforms, and this costs a few bytes per fork.
    _key_lock = fresh
    _key_pos = KEY_POOL_SIZE


# For tests/test_fork.py only: hold the lock from a thread of the test's
# choosing, which Python code cannot otherwise do.
def _hold_key_lock():
    with nogil:
        PyThread_acquire_lock(_key_lock, WAIT_LOCK)


def _release_key_lock():
    PyThread_release_lock(_key_lock)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


cdef inline int _resolve_mask(object mask, uint8_t key[4]) except -1:
    """Fill key; return 1 for a masked frame, 0 for an unmasked one."""
    if mask is None:
        return 0
    if mask is True:
        _random_key(key)
        return 1
    load_mask(mask, key)
    return 1


cdef inline uint8_t _first_byte(object opcode, bint fin, bint rsv1, bint rsv2, bint rsv3) except? 0:
    cdef Py_ssize_t op = _as_ssize_t_clipped(opcode, NULL)  # clipped, not OverflowError
    if not 0 <= op <= 15:
        raise ValueError(f"opcode must be in 0..15, got {opcode}")
    return (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0) | (0x10 if rsv3 else 0) | <uint8_t>op


def build_header(opcode, length, *, bint fin=True, bint rsv1=False, bint rsv2=False,
                 bint rsv3=False, mask=None):
    """Build a frame header with the minimal length encoding (RFC 6455 §5.2).

    This is the low-level encoder: any 4-bit opcode and any bits are allowed,
    so a caller can also write frames that a peer must reject.

    Args:
        opcode: 0 to 15.
        length: the payload length, 0 to 2**63 - 1.
        fin: the FIN bit.
        rsv1: the RSV1 bit.
        rsv2: the RSV2 bit.
        rsv3: the RSV3 bit.
        mask: None for an unmasked frame, a 4-byte key, or True for a fresh
            random key from :mod:`secrets` (the key is the last 4 bytes).

    Returns:
        The header bytes, masking key included.

    Raises:
        ValueError: ``opcode`` or ``length`` is out of range, or ``mask`` is
            not 4 bytes long.
        TypeError: ``mask`` is neither None, True nor a buffer.
    """
    cdef uint8_t out[FF_MAX_HEADER]
    cdef uint8_t key[4]
    cdef uint8_t first = _first_byte(opcode, fin, rsv1, rsv2, rsv3)
    length = PyNumber_Index(length)
    if not 0 <= length <= MAX_PAYLOAD_LENGTH:
        raise ValueError(f"length must be in 0..2**63-1, got {length}")
    cdef bint masked = _resolve_mask(mask, key)
    cdef size_t size = ff_build_header(out, first, <uint64_t>length, key if masked else NULL)
    return PyBytes_FromStringAndSize(<char *>out, <Py_ssize_t>size)


cdef inline void _copy_payload(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t *key) noexcept nogil:
    if key != NULL:
        ff_mask(dst, src, n, key, 0)
    else:
        memcpy(dst, src, n)


def build_frame(opcode, payload, *, bint fin=True, bint rsv1=False, bint rsv2=False,
                bint rsv3=False, mask=None):
    """Build a complete frame: header and (masked) payload (RFC 6455 §5.2).

    Clients must mask every frame they send and servers must not (§5.1): pass
    ``mask=True`` on the client side.

    Args:
        opcode: a defined opcode (:class:`Opcode`).
        payload: any C-contiguous buffer.
        fin: the FIN bit; control frames must have it set.
        rsv1: the RSV1 bit.
        rsv2: the RSV2 bit.
        rsv3: the RSV3 bit.
        mask: None, a 4-byte key, or True for a fresh random key.

    Returns:
        The frame as bytes.

    Raises:
        ValueError: ``opcode`` is reserved, a control frame is longer than
            125 bytes or not final (§5.5), or ``mask`` is not 4 bytes long.
        TypeError: ``payload`` is not a buffer.
    """
    cdef uint8_t head[FF_MAX_HEADER]
    cdef uint8_t key[4]
    cdef Py_buffer view
    cdef bint masked
    cdef size_t size
    cdef bytes out
    cdef uint8_t *dst
    cdef uint8_t first = _first_byte(opcode, fin, rsv1, rsv2, rsv3)
    cdef uint8_t op = first & 0x0F
    if OPCODES[op] is None:
        raise ValueError(f"opcode {<int>op} is reserved")
    get_buffer(payload, &view, False)
    try:
        if op >= 8:
            if view.len > 125:
                raise ValueError(f"control frame payload must be at most 125 bytes, got {view.len}")
            if not fin:
                raise ValueError("control frames cannot be fragmented")
        masked = _resolve_mask(mask, key)
        size = ff_build_header(head, first, <uint64_t>view.len, key if masked else NULL)
        out = PyBytes_FromStringAndSize(NULL, <Py_ssize_t>size + view.len)
        dst = <uint8_t *>PyBytes_AS_STRING(out)
        memcpy(dst, head, size)
        if view.len >= MASK_GIL_RELEASE_SIZE:
            # As apply_mask: past this size other threads gain more than the
            # release costs.  The export keeps the payload alive and unmoved.
            with nogil:
                _copy_payload(dst + size, <const uint8_t *>view.buf, <size_t>view.len, key if masked else NULL)
        else:
            _copy_payload(dst + size, <const uint8_t *>view.buf, <size_t>view.len, key if masked else NULL)
    finally:
        PyBuffer_Release(&view)
    return out


def build_fragments(opcode, payload, fragment_size, *, bint rsv1=False, mask=None):
    """Split a message into frames of at most ``fragment_size`` payload bytes (RFC 6455 §5.4).

    The first frame carries ``opcode`` (and RSV1, for a message compressed by
    permessage-deflate), the others are continuation frames, the last has FIN.
    A text message may be cut inside a code point: the RFC validates the
    whole message, not each fragment.  An empty payload gives one empty frame.

    Args:
        opcode: TEXT or BINARY.
        payload: the whole message, any C-contiguous buffer.
        fragment_size: the largest payload per frame, at least 1.
        rsv1: set RSV1 on the first frame.
        mask: None, a 4-byte key used for every frame, or True for a fresh
            random key per frame (a client must mask, §5.3).

    Returns:
        The frames, as bytes, in order.

    Raises:
        ValueError: ``opcode`` is not a data opcode or ``fragment_size`` < 1.
    """
    return split_message(build_frame, opcode, payload, fragment_size, rsv1, mask)


# Not tracked by the garbage collector: tracking shows in the parser's time
# per small frame (test_small_masked_frames in bench/test_bench_parser.py),
# and a frame holds only bytes and C values, so it cannot be part of a
# reference cycle.
# The docstring opens with the signature and "--": inspect.signature() reads
# it there (a compiled class has no other), and __doc__ leaves it out.
@cython.no_gc
@cython.freelist(256)
cdef class Frame:
    """Frame(opcode, payload=b'', *, fin=True, rsv1=False, rsv2=False, rsv3=False)
--

    One WebSocket frame, payload unmasked (RFC 6455 §5.2).

    Fields are checked on assignment as the constructor checks its
    arguments, the same way by both backends: ``opcode`` becomes an
    :class:`Opcode` (ValueError for a reserved one), ``payload`` any
    C-contiguous buffer, copied to bytes (TypeError otherwise), the bits
    ``bool``.

    Attributes:
        opcode: the frame's :class:`Opcode`.
        payload: the application (or extension) data, unmasked.
        fin: the FIN bit.
        rsv1: the RSV1 bit.
        rsv2: the RSV2 bit.
        rsv3: the RSV3 bit.
    """

    def __init__(self, opcode, payload=b"", *, bint fin=True, bint rsv1=False, bint rsv2=False,
                 bint rsv3=False):
        self._opcode = Opcode(opcode)
        self._payload = as_bytes(payload)
        self.fin = fin
        self.rsv1 = rsv1
        self.rsv2 = rsv2
        self.rsv3 = rsv3

    # No docstring: the class's Attributes document it, as for the pure
    # twin's plain attribute (tests/test_backend.py compares the two).
    @property
    def opcode(self):
        return OPCODES[self._opcode]

    @opcode.setter
    def opcode(self, value):
        self._opcode = Opcode(value)

    @property
    def payload(self):
        return self._payload

    @payload.setter
    def payload(self, value):
        self._payload = as_bytes(value)

    def __delattr__(self, name):
        raise AttributeError(f"cannot delete {name!r}: a Frame's fields always have a value")

    def __repr__(self):
        return frame_repr(self)

    def __eq__(self, other):
        if not isinstance(other, Frame):
            return NotImplemented
        cdef Frame o = other
        return (
            self._opcode == o._opcode and self._payload == o._payload and self.fin == o.fin
            and self.rsv1 == o.rsv1 and self.rsv2 == o.rsv2 and self.rsv3 == o.rsv3
        )

    __hash__ = None

    def __reduce__(self):
        return (_rebuild_frame, (self._opcode, self._payload, self.fin, self.rsv1, self.rsv2, self.rsv3))


def _rebuild_frame(opcode, payload, fin, rsv1, rsv2, rsv3):
    return Frame(opcode, payload, fin=fin, rsv1=rsv1, rsv2=rsv2, rsv3=rsv3)


def parse_close(payload):
    """Read the status code and reason of a close frame (RFC 6455 §5.5.1).

    Args:
        payload: the close frame's unmasked payload.

    Returns:
        ``(code, reason)``.  An empty payload means no status code was sent:
        ``(1005, "")`` (``CloseCode.NO_STATUS_RCVD``, §7.1.5).

    Raises:
        ProtocolError: a 1-byte payload or a code that may not be sent on the
            wire (code 1002); a reason that is not valid UTF-8 (code 1007).
        TypeError: ``payload`` is not a buffer.
    """
    cdef Py_buffer view
    get_buffer(payload, &view, False)
    try:
        return _parse_close(<const uint8_t *>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)


cdef tuple _parse_close(const uint8_t *p, Py_ssize_t n):
    if n == 0:
        return (_NO_STATUS_RCVD, "")
    if n == 1:
        raise ProtocolError(CloseCode.PROTOCOL_ERROR, "close frame payload of 1 byte")
    cdef unsigned int code = (p[0] << 8) | p[1]
    if not ff_close_code_valid(code):
        raise ProtocolError(CloseCode.PROTOCOL_ERROR, f"invalid close code {code}")
    if not ff_utf8_is_valid(p + 2, <size_t>(n - 2)):
        raise ProtocolError(CloseCode.INVALID_DATA, "invalid UTF-8 in close reason")
    return (_CLOSE_CODES.get(code, code), PyUnicode_DecodeUTF8(<const char *>p + 2, n - 2, NULL))


def build_close(code, reason=""):
    """Build the payload of a close frame (RFC 6455 §5.5.1).

    Args:
        code: a status code that may be sent on the wire (§7.4).
        reason: a short explanation; at most 123 bytes once UTF-8 encoded, so
            that the payload fits a control frame.

    Returns:
        The payload: the code as 2 bytes big-endian, then the UTF-8 reason.

    Raises:
        ValueError: ``code`` may not be sent, or ``reason`` is too long.
        TypeError: ``code`` is not an integer or ``reason`` not a ``str``.
    """
    return encode_close(code, reason)
