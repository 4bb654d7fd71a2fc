# cython: language_level=3, freethreading_compatible=True
"""WebSocket payload masking (RFC 6455 §5.3), compiled twin of ``_mask_py``.

The XOR runs in the SIMD kernel the dispatcher chose (``KERNEL``); see
``_kernels/ff_mask.h`` and ``_kernels/ff_cpu.h``.
"""

from cpython.buffer cimport PyBuffer_Release
from cpython.bytearray cimport PyByteArray_CheckExact, PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_CheckExact, PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_CheckExact
from cpython.number cimport PyNumber_AsSsize_t, PyNumber_Index
from cpython.pyport cimport PY_SSIZE_T_MAX
from libc.stdint cimport uint8_t

from ._buffers cimport get_buffer, load_mask
from ._ckernels cimport FF_SIMD_CAPS, MASK_GIL_RELEASE_SIZE, ff_cpu_cap_unknown, ff_mask, ff_mask_kernel_name

cdef extern from *:
    """
    #ifdef Py_GIL_DISABLED
    #define FF_FREE_THREADED 1
    #else
    #define FF_FREE_THREADED 0
    #endif
    """
    const bint FF_FREE_THREADED


__all__ = ["apply_mask", "mask_inplace", "KERNEL"]

# The default offset, and the same object as every small 0.
cdef object _ZERO = 0

#: Name of the masking kernel this CPU runs: avx512, avx2, sse2, neon or scalar.
KERNEL = ff_mask_kernel_name().decode("ascii")

# Warned here only: importing fastframe (the package, before any of its
# modules) selects the backend, whose first compiled module is this one, so
# the warning comes once per process; the other modules read the same value.
if ff_cpu_cap_unknown():
    import os
    import sys
    import warnings

    # Point at the line that imported fastframe, past the import machinery
    # and the package (this module runs no Python frame of its own).
    _frame = sys._getframe(0)
    _level = 1
    while _frame.f_back is not None and (
        _frame.f_code.co_filename.startswith("<frozen importlib")
        or _frame.f_globals.get("__name__", "").partition(".")[0] in ("importlib", "fastframe")
    ):
        _frame = _frame.f_back
        _level += 1
    del _frame
    warnings.warn(
        f"FASTFRAME_SIMD={os.environ.get('FASTFRAME_SIMD')!r} is not one of {FF_SIMD_CAPS.decode('ascii')}: "
        "the SIMD kernels are not capped",
        RuntimeWarning,
        stacklevel=_level,
    )
    del _level


cdef inline Py_ssize_t _check_offset(object offset) except -1:
    """The offset as a C integer: TypeError, ValueError or OverflowError as the pure twin."""
    if offset is _ZERO:
        # The usual call: an identity test, small enough to inline into the
        # callers, skips the conversion call below.
        return 0
    return _convert_offset(offset)


cdef Py_ssize_t _convert_offset(object offset) except -1:
    """_check_offset for any offset but the small int 0."""
    cdef Py_ssize_t off
    cdef long long value
    cdef int overflow
    if PyLong_CheckExact(offset):
        # A plain int in range needs no try block, whose setup shows on a
        # small chunk (mask_inplace 16B in bench/test_bench_mask.py). Errors
        # take the slow path.
        value = PyLong_AsLongLongAndOverflow(offset, &overflow)
        if not overflow and 0 <= value <= PY_SSIZE_T_MAX:
            return <Py_ssize_t>value
    try:
        off = PyNumber_AsSsize_t(offset, OverflowError)
    except OverflowError:
        if PyNumber_Index(offset) < 0:
            raise ValueError(f"offset must be >= 0, got {offset}") from None
        raise OverflowError("offset is too large") from None
    if off < 0:
        raise ValueError(f"offset must be >= 0, got {off}")
    return off


cdef inline void _run(uint8_t *dst, const uint8_t *src, Py_ssize_t n, const uint8_t *key, size_t offset) noexcept:
    if n >= MASK_GIL_RELEASE_SIZE:
        with nogil:
            ff_mask(dst, src, <size_t>n, key, offset)
    else:
        ff_mask(dst, src, <size_t>n, key, offset)


def apply_mask(data, mask):
    """Mask or unmask ``data`` with a 4-byte key (RFC 6455 §5.3).

    Masking and unmasking are the same operation: byte ``i`` is XORed with
    ``mask[i % 4]``.  Thread-safe: threads may call it at once on the same
    ``data``.

    Args:
        data: any C-contiguous buffer (bytes, bytearray, memoryview, ...).
        mask: the 4-byte masking key.

    Returns:
        A new ``bytes`` object with the (un)masked data.

    Raises:
        TypeError: ``data`` or ``mask`` is not a C-contiguous buffer.
        ValueError: ``mask`` is not exactly 4 bytes long.
    """
    cdef uint8_t key[4]
    cdef Py_buffer view
    cdef Py_ssize_t n
    cdef bytes out
    load_mask(mask, key)
    if PyBytes_CheckExact(data):
        n = PyBytes_GET_SIZE(data)
        out = PyBytes_FromStringAndSize(NULL, n)
        _run(<uint8_t *>PyBytes_AS_STRING(out), <const uint8_t *>PyBytes_AS_STRING(data), n, key, 0)
        return out
    get_buffer(data, &view, False)
    try:
        out = PyBytes_FromStringAndSize(NULL, view.len)
        _run(<uint8_t *>PyBytes_AS_STRING(out), <const uint8_t *>view.buf, view.len, key, 0)
    finally:
        PyBuffer_Release(&view)
    return out


def mask_inplace(buffer, mask, offset=0):
    """Mask or unmask a writable buffer in place (RFC 6455 §5.3).

    ``offset`` is the position of ``buffer[0]`` within the masked payload:
    unmasking a payload that arrives in chunks is ``mask_inplace(chunk, mask,
    offset)`` with ``offset`` advanced by each chunk's length, with no copy.
    Thread-safe as long as no other thread uses ``buffer`` meanwhile.

    Args:
        buffer: a writable C-contiguous buffer (bytearray, writable memoryview).
        mask: the 4-byte masking key.
        offset: position of ``buffer[0]`` in the payload; only ``offset % 4``
            matters.

    Raises:
        TypeError: ``buffer`` is read-only or not a buffer, or ``mask`` is not
            a buffer.
        ValueError: ``mask`` is not 4 bytes long or ``offset`` is negative.
        OverflowError: ``offset`` does not fit in a C ``Py_ssize_t``.
    """
    cdef uint8_t key[4]
    cdef Py_buffer view
    cdef Py_ssize_t n, off
    if PyByteArray_CheckExact(buffer):
        # Converting the other arguments can run Python code (__index__,
        # __buffer__) that resizes the bytearray: read its size and address
        # only afterwards.
        load_mask(mask, key)
        off = _check_offset(offset)
        n = PyByteArray_GET_SIZE(buffer)
        if n < MASK_GIL_RELEASE_SIZE and not FF_FREE_THREADED:
            # Small bytearrays (the common chunk) skip the buffer export; we
            # hold the GIL, so nobody can resize it meanwhile.  Without a GIL
            # another thread could, so there the export (which forbids
            # resizing) is always taken.
            ff_mask(<uint8_t *>PyByteArray_AS_STRING(buffer), <const uint8_t *>PyByteArray_AS_STRING(buffer),
                    <size_t>n, key, <size_t>off)
            return
        # Large (or free-threaded): export it, which forbids resizing while
        # the GIL is released.
        get_buffer(buffer, &view, True)
        _run(<uint8_t *>view.buf, <const uint8_t *>view.buf, view.len, key, <size_t>off)
        PyBuffer_Release(&view)
        return
    get_buffer(buffer, &view, True)
    try:
        load_mask(mask, key)
        off = _check_offset(offset)
        _run(<uint8_t *>view.buf, <const uint8_t *>view.buf, view.len, key, <size_t>off)
    finally:
        PyBuffer_Release(&view)
