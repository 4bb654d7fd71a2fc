# Buffer arguments and masking keys, as the compiled modules check and read
# them: the C counterpart of _buffers.py.
# Inline functions only, so cimporting this needs no module at run time.

from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, PyBUF_WRITABLE
from cpython.bytes cimport PyBytes_CheckExact, PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport uint8_t
from libc.string cimport memcpy


cdef inline int get_buffer(object obj, Py_buffer *view, bint writable) except -1:
    """Export obj's bytes as one C-contiguous block (TypeError otherwise)."""
    try:
        PyObject_GetBuffer(obj, view, PyBUF_WRITABLE if writable else PyBUF_SIMPLE)
    except (BufferError, ValueError):
        # Exporters refuse a read-only or non-contiguous request with either
        # (memoryview: BufferError, numpy: ValueError), and a released view
        # is a ValueError too: the pure twin's check names the problem, so
        # that both backends raise the same exception.  Error path only.
        from ._buffers import byte_view
        byte_view(obj, writable=writable)
        raise
    return 0


cdef inline bytes as_bytes(object obj):
    """obj's bytes as a bytes object: bytes as they are, any other C-contiguous buffer copied.

    Not bytes(obj), which takes an int (bytes(5) is five zero bytes) or a
    list of ints: only a buffer, as the pure twin (TypeError otherwise).
    """
    cdef Py_buffer view
    if PyBytes_CheckExact(obj):
        return obj
    get_buffer(obj, &view, False)
    try:
        return PyBytes_FromStringAndSize(<char *>view.buf, view.len)
    finally:
        PyBuffer_Release(&view)


cdef inline int load_mask(object mask, uint8_t key[4]) except -1:
    """Copy a 4-byte masking key (RFC 6455 §5.3) out of any buffer."""
    if PyBytes_CheckExact(mask) and PyBytes_GET_SIZE(mask) == 4:
        # The usual key, small enough for the compiler to inline into every
        # caller: a call here shows when masking a small chunk (apply_mask
        # 16B in bench/test_bench_mask.py).
        memcpy(key, PyBytes_AS_STRING(mask), 4)
        return 0
    return _load_mask_buffer(mask, key)


cdef inline int _load_mask_buffer(object mask, uint8_t key[4]) except -1:
    """load_mask for any other object: a buffer export, and the errors."""
    cdef Py_buffer view
    cdef Py_ssize_t n
    if PyBytes_CheckExact(mask):
        n = PyBytes_GET_SIZE(mask)
    else:
        get_buffer(mask, &view, False)
        n = view.len
        if n == 4:
            memcpy(key, view.buf, 4)
        PyBuffer_Release(&view)
        if n == 4:
            return 0
    raise ValueError(f"mask must be 4 bytes, got {n}")
