# The C kernels in _kernels/, declared once for every compiled module.
# Each module that cimports a name here #includes its header: the kernels are
# static inline.  No init call: the kernels consult one dispatcher
# (ff_cpu.h, ff_cpu_level), which chooses the SIMD level on first use.

from libc.stdint cimport uint8_t, uint32_t, uint64_t

cdef extern from "ff_header.h":
    ctypedef struct ff_header:
        uint8_t fin, rsv1, rsv2, rsv3, opcode, masked
        uint8_t mask[4]
        uint64_t length
        size_t size
    int ff_parse_header(const uint8_t *p, size_t n, ff_header *h) nogil
    size_t ff_build_header(uint8_t *out, uint8_t first, uint64_t length, const uint8_t *mask) nogil
    int ff_close_code_valid(unsigned int code) nogil
    enum:
        FF_MAX_HEADER
        FF_HEADER_NEED_MORE
        FF_HEADER_OK
        FF_HEADER_BAD_LENGTH

cdef extern from "ff_cpu.h":
    int ff_cpu_cap_unknown()
    const char *FF_SIMD_CAPS

cdef extern from "ff_mask.h":
    void ff_mask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t *mask, size_t offset) nogil
    const char *ff_mask_kernel_name()

cdef extern from "ff_utf8.h":
    size_t ff_utf8_validate(uint32_t *state, const uint8_t *p, size_t n) nogil
    int ff_utf8_is_valid(const uint8_t *p, size_t n) nogil
    const char *ff_utf8_kernel_name()
    enum:
        FF_UTF8_ACCEPT
        FF_UTF8_REJECT

cdef extern from "ff_unmask_utf8.h":
    # ff_mask, then ff_utf8_validate on the unmasked bytes, in one pass.
    size_t ff_unmask_utf8(uint32_t *state, uint8_t *dst, const uint8_t *src, size_t n, const uint8_t *mask,
                          size_t offset) nogil

cdef extern from "ff_decode.h":
    # A new str (the kind its widest character needs) from valid UTF-8.
    object ff_str_from_valid_utf8(const uint8_t *p, Py_ssize_t n)
    # The same from any bytes: UnicodeDecodeError, as bytes.decode raises it, if not UTF-8.
    object ff_decode_utf8(const uint8_t *p, Py_ssize_t n)

# Masking releases the GIL from this size (apply_mask, mask_inplace,
# build_frame): releasing and retaking it costs about as much as masking a
# few KiB, and past this size other threads gain more than this one loses.
cdef enum:
    MASK_GIL_RELEASE_SIZE = 64 * 1024
