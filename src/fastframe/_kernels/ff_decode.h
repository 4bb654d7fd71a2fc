/* UTF-8 to code points: fastframe.decode_utf8 and the text of messages.
 *
 * CPython's own decoder guesses ASCII first and starts over with a
 * resizable writer at the first other character, which costs a short token
 * like " café" twice what it costs here: the text is validated (the SIMD
 * validator of ff_utf8.h), measured (its length in code points and the
 * widest kind of character, with SIMD) and then its code points are written
 * straight into a string of the right PEP 393 kind by the SIMD writers of
 * ff_transcode.h.  Text that is all ASCII is found first and copied.
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
#include "ff_cpu.h"
#include "ff_transcode.h"
#include "ff_utf8.h"

/* Number of code points in p[0..n), and in *maxchar the largest code point
 * of the kind they need: 0x7F (ASCII), 0xFF (Latin-1), 0xFFFF or 0x10FFFF. */
static inline uint32_t ff_utf8_kind_of(uint8_t top)
{
    return top < 0x80 ? 0x7F : top < 0xC4 ? 0xFF : top < 0xF0 ? 0xFFFF : 0x10FFFF;
}

static inline size_t ff_utf8_measure_scalar(const uint8_t *p, size_t n, uint32_t *maxchar)
{
    uint8_t top = 0;
    size_t continuations = 0;
    for (size_t i = 0; i < n; i++) {
        top = p[i] > top ? p[i] : top;
        continuations += (p[i] & 0xC0) == 0x80;
    }
    *maxchar = ff_utf8_kind_of(top);
    return n - continuations;
}

#ifdef FF_HAVE_SSE2
/* Continuation bytes 80..BF are the signed bytes below -64. */
static inline size_t ff_utf8_measure_sse2(const uint8_t *p, size_t n, uint32_t *maxchar)
{
    __m128i top = _mm_setzero_si128();
    const __m128i limit = _mm_set1_epi8(-64);
    size_t i = 0, continuations = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        top = _mm_max_epu8(top, v);
        continuations += (size_t)__builtin_popcount((unsigned)_mm_movemask_epi8(_mm_cmplt_epi8(v, limit)));
    }
    uint8_t lanes[16];
    _mm_storeu_si128((__m128i *)lanes, top);
    uint32_t rest;
    size_t count = ff_utf8_measure_scalar(p + i, n - i, &rest);
    uint8_t t = 0;
    for (int k = 0; k < 16; k++)
        t = lanes[k] > t ? lanes[k] : t;
    uint32_t kind = ff_utf8_kind_of(t);
    *maxchar = kind > rest ? kind : rest;
    return i - continuations + count;
}
#endif

#ifdef FF_HAVE_AVX
FF_TARGET("avx2,popcnt")
static size_t ff_utf8_measure_avx2(const uint8_t *p, size_t n, uint32_t *maxchar)
{
    __m256i top = _mm256_setzero_si256();
    const __m256i limit = _mm256_set1_epi8(-64);
    size_t i = 0, continuations = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(p + i));
        top = _mm256_max_epu8(top, v);
        continuations += (size_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(_mm256_cmpgt_epi8(limit, v)));
    }
    uint8_t lanes[32];
    _mm256_storeu_si256((__m256i *)lanes, top);
    uint32_t rest;
    size_t count = ff_utf8_measure_scalar(p + i, n - i, &rest);
    uint8_t t = 0;
    for (int k = 0; k < 32; k++)
        t = lanes[k] > t ? lanes[k] : t;
    uint32_t kind = ff_utf8_kind_of(t);
    *maxchar = kind > rest ? kind : rest;
    return i - continuations + count;
}
#endif

/* Number of code points in p[0..n), and in *maxchar the largest code point
 * of the kind they need: 0x7F (ASCII), 0xFF (Latin-1), 0xFFFF or 0x10FFFF. */
static inline size_t ff_utf8_measure_at(int level, const uint8_t *p, size_t n, uint32_t *maxchar)
{
    if (level == FF_LEVEL_AUTO)
        level = ff_cpu_level();
#ifdef FF_HAVE_AVX
    if (level == FF_LEVEL_AVX2 || level == FF_LEVEL_AVX512)
        return ff_utf8_measure_avx2(p, n, maxchar);
#endif
#ifdef FF_HAVE_SSE2
    if (level != FF_LEVEL_SCALAR)
        return ff_utf8_measure_sse2(p, n, maxchar);
#endif
    (void)level;
    return ff_utf8_measure_scalar(p, n, maxchar);
}

static inline size_t ff_utf8_measure(const uint8_t *p, size_t n, uint32_t *maxchar)
{
    return ff_utf8_measure_at(n >= 32 ? FF_LEVEL_AUTO : FF_LEVEL_SCALAR, p, n, maxchar);
}

#ifdef Py_PYTHON_H
/* A str from UTF-8 already known to be valid, in one allocation of the
 * right kind.  Only where Python.h was included first (the compiled
 * modules), so that the C tests and fuzzers can use the kernels above. */
static PyObject *ff_str_from_valid_utf8(const uint8_t *p, Py_ssize_t n)
{
    size_t ascii = ff_ascii_prefix(FF_LEVEL_AUTO, p, (size_t)n);
    if (ascii == (size_t)n) {
        PyObject *s = PyUnicode_New(n, 0x7F);
        if (s != NULL)
            memcpy(PyUnicode_1BYTE_DATA(s), p, (size_t)n);
        return s;
    }
    uint32_t maxchar;
    size_t count = ascii + ff_utf8_measure(p + ascii, (size_t)n - ascii, &maxchar);
    PyObject *s = PyUnicode_New((Py_ssize_t)count, (Py_UCS4)maxchar);
    if (s == NULL)
        return NULL;
    int kind = (int)PyUnicode_KIND(s);
    void *out = PyUnicode_DATA(s);
    if (kind == 1) {
        memcpy(out, p, ascii);
        ff_utf8_decode(p + ascii, (size_t)n - ascii, (char *)out + ascii, 1, count - ascii);
    } else {
        /* The writer widens the ASCII prefix a block at a time itself. */
        ff_utf8_decode(p, (size_t)n, out, kind, count);
    }
    return s;
}

/* fastframe.decode_utf8: a str from p[0..n), or UnicodeDecodeError (from
 * CPython's decoder, so that its start, end and reason are exactly those of
 * bytes.decode) when p is not valid UTF-8. */
static PyObject *ff_decode_utf8(const uint8_t *p, Py_ssize_t n)
{
    if (!ff_utf8_is_valid(p, (size_t)n))
        return PyUnicode_DecodeUTF8((const char *)p, n, "strict");
    return ff_str_from_valid_utf8(p, n);
}
#endif

#endif /* FF_DECODE_H */
