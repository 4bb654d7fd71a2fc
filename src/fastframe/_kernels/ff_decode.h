/* UTF-8 to code points, for building a str from text already validated.
 *
 * CPython's own decoder guesses ASCII first and starts over with a
 * resizable writer at the first other character, which costs a short token
 * like " café" twice what it costs here: one pass measures the text (its
 * length in code points and the widest kind of character), then the code
 * points are written straight into a string of the right kind.
 *
 * The kind is read off the largest byte: lead bytes C2-C3 give code points
 * up to U+00FF, C4-EF up to U+FFFF, F0-F4 beyond; a continuation byte
 * (80-BF) never raises it past its own lead.  Valid UTF-8 (RFC 3629 §4)
 * gives exact results.  Invalid input gives meaningless code points but
 * never a read or write out of bounds: hostile bytes that skipped
 * validation cannot turn into a memory error.
 */
#ifndef FF_DECODE_H
#define FF_DECODE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Number of code points in p[0..n), and in *maxchar the largest code point
 * of the kind they need: 0x7F (ASCII), 0xFF (Latin-1), 0xFFFF or 0x10FFFF. */
static inline size_t ff_utf8_measure(const uint8_t *p, size_t n, uint32_t *maxchar)
{
    uint8_t top = 0;
    size_t continuations = 0;
    for (size_t i = 0; i < n; i++) {
        top = p[i] > top ? p[i] : top;
        continuations += (p[i] & 0xC0) == 0x80;
    }
    *maxchar = top < 0x80 ? 0x7F : top < 0xC4 ? 0xFF : top < 0xF0 ? 0xFFFF : 0x10FFFF;
    return n - continuations;
}

static inline void ff_ucs_write(void *out, int width, size_t j, uint32_t c)
{
    if (width == 1)
        ((uint8_t *)out)[j] = (uint8_t)c;
    else if (width == 2)
        ((uint16_t *)out)[j] = (uint16_t)c;
    else
        ((uint32_t *)out)[j] = c;
}

/* Decode p[0..n) into `count` code points of `width` bytes each (1, 2 or 4,
 * CPython's PyUnicode kinds) at out, where count and the width come from
 * ff_utf8_measure.  Returns the number of code points written: count, for
 * valid UTF-8. */
static inline size_t ff_utf8_decode(const uint8_t *p, size_t n, void *out, int width, size_t count)
{
    size_t i = 0, j = 0;
    /* While 4 bytes are left, a sequence never runs past the end. */
    while (i + 4 <= n && j < count) {
        uint8_t b = p[i];
        uint32_t c;
        if (b < 0x80) {
            c = b;
            i += 1;
        } else if (b < 0xE0) {
            c = ((uint32_t)(b & 0x1F) << 6) | (p[i + 1] & 0x3F);
            i += 2;
        } else if (b < 0xF0) {
            c = ((uint32_t)(b & 0x0F) << 12) | ((uint32_t)(p[i + 1] & 0x3F) << 6) | (p[i + 2] & 0x3F);
            i += 3;
        } else {
            c = ((uint32_t)(b & 0x07) << 18) | ((uint32_t)(p[i + 1] & 0x3F) << 12) |
                ((uint32_t)(p[i + 2] & 0x3F) << 6) | (p[i + 3] & 0x3F);
            i += 4;
        }
        ff_ucs_write(out, width, j++, c);
    }
    /* The last 3 bytes: a sequence cut by the end (invalid) stops here. */
    while (i < n && j < count) {
        uint8_t b = p[i];
        size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        if (i + len > n)
            break;
        uint32_t c = len == 1 ? b : (uint32_t)b & (0x7F >> len);
        for (size_t k = 1; k < len; k++)
            c = (c << 6) | (p[i + k] & 0x3F);
        i += len;
        ff_ucs_write(out, width, j++, c);
    }
    return j;
}

#ifdef Py_PYTHON_H
/* A str from UTF-8 already known to be valid, in one allocation of the
 * right kind.  Only where Python.h was included first (the compiled
 * modules), so that the C tests and fuzzers can use the kernels above. */
static PyObject *ff_str_from_valid_utf8(const uint8_t *p, Py_ssize_t n)
{
    uint32_t maxchar;
    size_t count = ff_utf8_measure(p, (size_t)n, &maxchar);
    PyObject *s = PyUnicode_New((Py_ssize_t)count, (Py_UCS4)maxchar);
    if (s == NULL)
        return NULL;
    if (maxchar == 0x7F)
        memcpy(PyUnicode_1BYTE_DATA(s), p, (size_t)n);
    else
        ff_utf8_decode(p, (size_t)n, PyUnicode_DATA(s), (int)PyUnicode_KIND(s), count);
    return s;
}
#endif

#endif /* FF_DECODE_H */
