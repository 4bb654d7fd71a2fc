# cython: language_level=3, freethreading_compatible=True
"""Strict UTF-8 validation (RFC 3629), compiled twin of ``_utf8_py``.

The automaton is in ``_kernels/ff_utf8.h``, the SIMD validators in
``_kernels/ff_utf8_simd.h``, the decoder to ``str`` in ``_kernels/ff_decode.h``.
"""

from cpython.buffer cimport PyBuffer_Release
from cpython.bytes cimport PyBytes_CheckExact, PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport uint8_t, uint32_t

from ._buffers cimport get_buffer
from ._ckernels cimport FF_UTF8_ACCEPT, FF_UTF8_REJECT, ff_decode_utf8, ff_utf8_kernel_name, ff_utf8_validate


__all__ = ["validate_utf8", "Utf8Validator", "decode_utf8", "KERNEL"]

cdef enum:
    GIL_RELEASE_SIZE = 256 * 1024

#: Name of the UTF-8 kernel this CPU runs: the SIMD validator (avx512, avx2,
#: ssse3, neon), or the ASCII kernel beside the automaton (sse2, scalar).
KERNEL = ff_utf8_kernel_name().decode("ascii")


cdef inline size_t _run(uint32_t *state, const uint8_t *p, Py_ssize_t n) noexcept:
    cdef size_t r
    if n >= GIL_RELEASE_SIZE:
        with nogil:
            r = ff_utf8_validate(state, p, <size_t>n)
        return r
    return ff_utf8_validate(state, p, <size_t>n)


def validate_utf8(data):
    """Tell whether ``data`` is well-formed UTF-8 (RFC 3629 §4).

    Text frames and close reasons must be valid UTF-8 (RFC 6455 §5.6, §8.1).
    Thread-safe: threads may call it at once on the same ``data``.

    Args:
        data: any C-contiguous buffer.

    Returns:
        True if ``data`` is valid UTF-8, False otherwise.

    Raises:
        TypeError: ``data`` is not a C-contiguous buffer.
    """
    cdef uint32_t state = FF_UTF8_ACCEPT
    cdef Py_buffer view
    cdef Py_ssize_t n
    cdef size_t r
    if PyBytes_CheckExact(data):
        n = PyBytes_GET_SIZE(data)
        r = _run(&state, <const uint8_t *>PyBytes_AS_STRING(data), n)
    else:
        get_buffer(data, &view, False)
        n = view.len
        r = _run(&state, <const uint8_t *>view.buf, n)
        PyBuffer_Release(&view)
    return r == <size_t>n and state == FF_UTF8_ACCEPT


def decode_utf8(data):
    """Decode UTF-8 (RFC 3629 §4) to ``str``, strictly.

    The text of a text message (RFC 6455 §5.6), validated and decoded
    straight into the narrowest string kind its characters need (PEP 393).

    Args:
        data: any C-contiguous buffer.

    Returns:
        The decoded text, equal to ``bytes(data).decode("utf-8")``.

    Raises:
        UnicodeDecodeError: ``data`` is not valid UTF-8; its ``start``,
            ``end`` and ``reason`` are those ``bytes.decode`` gives.
        TypeError: ``data`` is not a C-contiguous buffer.
    """
    cdef Py_buffer view
    if PyBytes_CheckExact(data):
        return ff_decode_utf8(<const uint8_t *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
    get_buffer(data, &view, False)
    try:
        return ff_decode_utf8(<const uint8_t *>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)


# The docstring opens with the signature and "--": inspect.signature() reads
# it there (a compiled class has no other), and __doc__ leaves it out.
cdef class Utf8Validator:
    """Utf8Validator()
--

    Incremental UTF-8 validator for a message that arrives in pieces.

    ``feed()`` returns False from the first byte at which the stream can no
    longer become valid UTF-8 — also inside an unfinished code point, such as
    ``ED A0`` (a surrogate) or ``F4 90`` (above U+10FFFF) — and keeps returning
    False until :meth:`reset`.  Code points split across chunks are valid.
    RFC 6455 §8.1 asks endpoints to fail the connection as soon as that
    happens rather than when the message ends.  A validator holds the state
    of one message: it is not thread-safe; use one per connection.
    """

    cdef uint32_t _state
    cdef unsigned long long _accepted

    def __init__(self):
        self._state = FF_UTF8_ACCEPT
        self._accepted = 0

    def reset(self):
        """Forget everything fed so far and start a new stream."""
        self._state = FF_UTF8_ACCEPT
        self._accepted = 0

    @property
    def accepted(self):
        """Bytes fed before the first invalid byte (all bytes while valid)."""
        return self._accepted

    @property
    def failed(self):
        """True once the stream can no longer become valid UTF-8."""
        return self._state == FF_UTF8_REJECT

    def feed(self, data):
        """Validate the next chunk of the stream.

        Args:
            data: any C-contiguous buffer.

        Returns:
            False if the stream is invalid at or before the end of ``data``,
            True if it can still become valid.

        Raises:
            TypeError: ``data`` is not a C-contiguous buffer.
        """
        cdef Py_buffer view
        cdef size_t r
        if PyBytes_CheckExact(data):
            if self._state == FF_UTF8_REJECT:
                return False
            r = _run(&self._state, <const uint8_t *>PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data))
        else:
            get_buffer(data, &view, False)
            if self._state == FF_UTF8_REJECT:
                PyBuffer_Release(&view)
                return False
            r = _run(&self._state, <const uint8_t *>view.buf, view.len)
            PyBuffer_Release(&view)
        self._accepted += r
        return self._state != FF_UTF8_REJECT

    def finish(self):
        """Tell whether everything fed is valid and ends on a code point boundary."""
        return self._state == FF_UTF8_ACCEPT
