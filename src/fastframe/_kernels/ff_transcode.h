/* Valid UTF-8 to PEP 393 strings: the writers behind fastframe.decode_utf8.
 *
 * ff_utf8_decode_at(level, p, n, out, width, count) writes the code points
 * of p[0..n) as `count` units of `width` bytes (1, 2 or 4: CPython's UCS1,
 * UCS2 and UCS4 kinds) at out, where count and the width come from
 * ff_utf8_measure (ff_decode.h), after the text was validated.  Invalid
 * input gives meaningless code points but never a read past p[n) nor a write
 * past unit `count`: hostile bytes that skipped validation cannot turn into
 * a memory error.
 *
 * The AVX2 writer takes 16 input bytes a step.  A block of ASCII is widened
 * as it is.  Otherwise, at every byte position it computes the code point a
 * sequence starting there would have (RFC 3629 §3: the lead byte's payload
 * bits, then 6 bits of each of the next 1-3 bytes, loaded as three vectors
 * shifted by one, two and three bytes), keeps the positions that hold a lead
 * byte (any byte but 10xxxxxx), packs them to the front of the vector with
 * one lane permutation per 8 positions (ff_transcode_pack below), narrows
 * them to the width and stores 8 units, of which the next step overwrites
 * those past the code points found.  Sequences whose lead falls in the step
 * are read whole (3 bytes of lookahead), so every step starts wherever the
 * last one stopped and skips the continuation bytes it finds there.  The
 * last bytes, where a load or a store would run past the end, go through the
 * scalar writer.  At the SSE2 level, a CPU with SSE4.1 runs the same steps
 * for UCS1 and UCS2 in 128-bit vectors; UCS4 there, and every other level
 * (NEON included), use the scalar writer.
 */
#ifndef FF_TRANSCODE_H
#define FF_TRANSCODE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "ff_cpu.h"

/* ---- The scalar writer --------------------------------------------------- */

/* The decoding loop for one output width: while 8 bytes are left, a run
 * of 8 ASCII bytes is widened at once and a sequence never runs past the
 * end; the last bytes go one code point at a time, and a sequence cut by
 * the end (invalid) stops there.  Continuation bytes at the start belong to
 * a code point written before (where a SIMD writer hands over), so they are
 * skipped.  Returns the number of units written from out[j0]. */
#define FF_UTF8_DECODE_LOOP(name, T)                                                                     \
    static size_t name(const uint8_t *p, size_t n, T *out, size_t count)                                 \
    {                                                                                                    \
        size_t i = 0, j = 0;                                                                             \
        while (i < n && i < 3 && (p[i] & 0xC0) == 0x80)                                                  \
            i++;                                                                                         \
        while (i + 8 <= n && j + 8 <= count) {                                                           \
            uint64_t w;                                                                                  \
            memcpy(&w, p + i, 8);                                                                        \
            if (!(w & UINT64_C(0x8080808080808080))) {                                                   \
                for (int k = 0; k < 8; k++)                                                              \
                    out[j + (size_t)k] = (T)p[i + (size_t)k];                                            \
                i += 8, j += 8;                                                                          \
                continue;                                                                                \
            }                                                                                            \
            uint8_t b = p[i];                                                                            \
            uint32_t c;                                                                                  \
            if (b < 0x80) {                                                                              \
                c = b;                                                                                   \
                i += 1;                                                                                  \
            } else if (b < 0xE0) {                                                                       \
                c = ((uint32_t)(b & 0x1F) << 6) | (p[i + 1] & 0x3F);                                     \
                i += 2;                                                                                  \
            } else if (b < 0xF0) {                                                                       \
                c = ((uint32_t)(b & 0x0F) << 12) | ((uint32_t)(p[i + 1] & 0x3F) << 6) | (p[i + 2] & 0x3F); \
                i += 3;                                                                                  \
            } else {                                                                                     \
                c = ((uint32_t)(b & 0x07) << 18) | ((uint32_t)(p[i + 1] & 0x3F) << 12) |                 \
                    ((uint32_t)(p[i + 2] & 0x3F) << 6) | (p[i + 3] & 0x3F);                              \
                i += 4;                                                                                  \
            }                                                                                            \
            out[j++] = (T)c;                                                                             \
        }                                                                                                \
        while (i < n && j < count) {                                                                     \
            uint8_t b = p[i];                                                                            \
            size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;                                 \
            if (i + len > n)                                                                             \
                break;                                                                                   \
            uint32_t c = len == 1 ? b : (uint32_t)b & (0x7F >> len);                                     \
            for (size_t k = 1; k < len; k++)                                                             \
                c = (c << 6) | (p[i + k] & 0x3F);                                                        \
            i += len;                                                                                    \
            out[j++] = (T)c;                                                                             \
        }                                                                                                \
        return j;                                                                                        \
    }

FF_UTF8_DECODE_LOOP(ff_utf8_decode_ucs1, uint8_t)
FF_UTF8_DECODE_LOOP(ff_utf8_decode_ucs2, uint16_t)
FF_UTF8_DECODE_LOOP(ff_utf8_decode_ucs4, uint32_t)

/* The scalar writer for any width. */
static inline size_t ff_utf8_decode_scalar(const uint8_t *p, size_t n, void *out, int width, size_t count)
{
    if (width == 1)
        return ff_utf8_decode_ucs1(p, n, (uint8_t *)out, count);
    if (width == 2)
        return ff_utf8_decode_ucs2(p, n, (uint16_t *)out, count);
    return ff_utf8_decode_ucs4(p, n, (uint32_t *)out, count);
}

/* ---- The AVX2 writer ----------------------------------------------------- */

/* ff_transcode_pack[m]: the lanes set in the 8-bit mask m, in order, one
 * byte each, the first in the lowest byte; the bytes past popcount(m) are
 * 0.  Byte r of entry m is k_r, the r-th set bit of m (tests/c/decode_checks.c
 * checks the table against that definition).  As it is, it is a pshufb
 * pattern that packs the marked bytes of 8 to the front; doubled and
 * interleaved with itself plus one, one for 16-bit lanes; widened to 32-bit
 * lanes, a vpermd pattern. */
static const uint64_t ff_transcode_pack[256] = {
    UINT64_C(0x0000000000000000), UINT64_C(0x0000000000000000), UINT64_C(0x0000000000000001), UINT64_C(0x0000000000000100),
    UINT64_C(0x0000000000000002), UINT64_C(0x0000000000000200), UINT64_C(0x0000000000000201), UINT64_C(0x0000000000020100),
    UINT64_C(0x0000000000000003), UINT64_C(0x0000000000000300), UINT64_C(0x0000000000000301), UINT64_C(0x0000000000030100),
    UINT64_C(0x0000000000000302), UINT64_C(0x0000000000030200), UINT64_C(0x0000000000030201), UINT64_C(0x0000000003020100),
    UINT64_C(0x0000000000000004), UINT64_C(0x0000000000000400), UINT64_C(0x0000000000000401), UINT64_C(0x0000000000040100),
    UINT64_C(0x0000000000000402), UINT64_C(0x0000000000040200), UINT64_C(0x0000000000040201), UINT64_C(0x0000000004020100),
    UINT64_C(0x0000000000000403), UINT64_C(0x0000000000040300), UINT64_C(0x0000000000040301), UINT64_C(0x0000000004030100),
    UINT64_C(0x0000000000040302), UINT64_C(0x0000000004030200), UINT64_C(0x0000000004030201), UINT64_C(0x0000000403020100),
    UINT64_C(0x0000000000000005), UINT64_C(0x0000000000000500), UINT64_C(0x0000000000000501), UINT64_C(0x0000000000050100),
    UINT64_C(0x0000000000000502), UINT64_C(0x0000000000050200), UINT64_C(0x0000000000050201), UINT64_C(0x0000000005020100),
    UINT64_C(0x0000000000000503), UINT64_C(0x0000000000050300), UINT64_C(0x0000000000050301), UINT64_C(0x0000000005030100),
    UINT64_C(0x0000000000050302), UINT64_C(0x0000000005030200), UINT64_C(0x0000000005030201), UINT64_C(0x0000000503020100),
    UINT64_C(0x0000000000000504), UINT64_C(0x0000000000050400), UINT64_C(0x0000000000050401), UINT64_C(0x0000000005040100),
    UINT64_C(0x0000000000050402), UINT64_C(0x0000000005040200), UINT64_C(0x0000000005040201), UINT64_C(0x0000000504020100),
    UINT64_C(0x0000000000050403), UINT64_C(0x0000000005040300), UINT64_C(0x0000000005040301), UINT64_C(0x0000000504030100),
    UINT64_C(0x0000000005040302), UINT64_C(0x0000000504030200), UINT64_C(0x0000000504030201), UINT64_C(0x0000050403020100),
    UINT64_C(0x0000000000000006), UINT64_C(0x0000000000000600), UINT64_C(0x0000000000000601), UINT64_C(0x0000000000060100),
    UINT64_C(0x0000000000000602), UINT64_C(0x0000000000060200), UINT64_C(0x0000000000060201), UINT64_C(0x0000000006020100),
    UINT64_C(0x0000000000000603), UINT64_C(0x0000000000060300), UINT64_C(0x0000000000060301), UINT64_C(0x0000000006030100),
    UINT64_C(0x0000000000060302), UINT64_C(0x0000000006030200), UINT64_C(0x0000000006030201), UINT64_C(0x0000000603020100),
    UINT64_C(0x0000000000000604), UINT64_C(0x0000000000060400), UINT64_C(0x0000000000060401), UINT64_C(0x0000000006040100),
    UINT64_C(0x0000000000060402), UINT64_C(0x0000000006040200), UINT64_C(0x0000000006040201), UINT64_C(0x0000000604020100),
    UINT64_C(0x0000000000060403), UINT64_C(0x0000000006040300), UINT64_C(0x0000000006040301), UINT64_C(0x0000000604030100),
    UINT64_C(0x0000000006040302), UINT64_C(0x0000000604030200), UINT64_C(0x0000000604030201), UINT64_C(0x0000060403020100),
    UINT64_C(0x0000000000000605), UINT64_C(0x0000000000060500), UINT64_C(0x0000000000060501), UINT64_C(0x0000000006050100),
    UINT64_C(0x0000000000060502), UINT64_C(0x0000000006050200), UINT64_C(0x0000000006050201), UINT64_C(0x0000000605020100),
    UINT64_C(0x0000000000060503), UINT64_C(0x0000000006050300), UINT64_C(0x0000000006050301), UINT64_C(0x0000000605030100),
    UINT64_C(0x0000000006050302), UINT64_C(0x0000000605030200), UINT64_C(0x0000000605030201), UINT64_C(0x0000060503020100),
    UINT64_C(0x0000000000060504), UINT64_C(0x0000000006050400), UINT64_C(0x0000000006050401), UINT64_C(0x0000000605040100),
    UINT64_C(0x0000000006050402), UINT64_C(0x0000000605040200), UINT64_C(0x0000000605040201), UINT64_C(0x0000060504020100),
    UINT64_C(0x0000000006050403), UINT64_C(0x0000000605040300), UINT64_C(0x0000000605040301), UINT64_C(0x0000060504030100),
    UINT64_C(0x0000000605040302), UINT64_C(0x0000060504030200), UINT64_C(0x0000060504030201), UINT64_C(0x0006050403020100),
    UINT64_C(0x0000000000000007), UINT64_C(0x0000000000000700), UINT64_C(0x0000000000000701), UINT64_C(0x0000000000070100),
    UINT64_C(0x0000000000000702), UINT64_C(0x0000000000070200), UINT64_C(0x0000000000070201), UINT64_C(0x0000000007020100),
    UINT64_C(0x0000000000000703), UINT64_C(0x0000000000070300), UINT64_C(0x0000000000070301), UINT64_C(0x0000000007030100),
    UINT64_C(0x0000000000070302), UINT64_C(0x0000000007030200), UINT64_C(0x0000000007030201), UINT64_C(0x0000000703020100),
    UINT64_C(0x0000000000000704), UINT64_C(0x0000000000070400), UINT64_C(0x0000000000070401), UINT64_C(0x0000000007040100),
    UINT64_C(0x0000000000070402), UINT64_C(0x0000000007040200), UINT64_C(0x0000000007040201), UINT64_C(0x0000000704020100),
    UINT64_C(0x0000000000070403), UINT64_C(0x0000000007040300), UINT64_C(0x0000000007040301), UINT64_C(0x0000000704030100),
    UINT64_C(0x0000000007040302), UINT64_C(0x0000000704030200), UINT64_C(0x0000000704030201), UINT64_C(0x0000070403020100),
    UINT64_C(0x0000000000000705), UINT64_C(0x0000000000070500), UINT64_C(0x0000000000070501), UINT64_C(0x0000000007050100),
    UINT64_C(0x0000000000070502), UINT64_C(0x0000000007050200), UINT64_C(0x0000000007050201), UINT64_C(0x0000000705020100),
    UINT64_C(0x0000000000070503), UINT64_C(0x0000000007050300), UINT64_C(0x0000000007050301), UINT64_C(0x0000000705030100),
    UINT64_C(0x0000000007050302), UINT64_C(0x0000000705030200), UINT64_C(0x0000000705030201), UINT64_C(0x0000070503020100),
    UINT64_C(0x0000000000070504), UINT64_C(0x0000000007050400), UINT64_C(0x0000000007050401), UINT64_C(0x0000000705040100),
    UINT64_C(0x0000000007050402), UINT64_C(0x0000000705040200), UINT64_C(0x0000000705040201), UINT64_C(0x0000070504020100),
    UINT64_C(0x0000000007050403), UINT64_C(0x0000000705040300), UINT64_C(0x0000000705040301), UINT64_C(0x0000070504030100),
    UINT64_C(0x0000000705040302), UINT64_C(0x0000070504030200), UINT64_C(0x0000070504030201), UINT64_C(0x0007050403020100),
    UINT64_C(0x0000000000000706), UINT64_C(0x0000000000070600), UINT64_C(0x0000000000070601), UINT64_C(0x0000000007060100),
    UINT64_C(0x0000000000070602), UINT64_C(0x0000000007060200), UINT64_C(0x0000000007060201), UINT64_C(0x0000000706020100),
    UINT64_C(0x0000000000070603), UINT64_C(0x0000000007060300), UINT64_C(0x0000000007060301), UINT64_C(0x0000000706030100),
    UINT64_C(0x0000000007060302), UINT64_C(0x0000000706030200), UINT64_C(0x0000000706030201), UINT64_C(0x0000070603020100),
    UINT64_C(0x0000000000070604), UINT64_C(0x0000000007060400), UINT64_C(0x0000000007060401), UINT64_C(0x0000000706040100),
    UINT64_C(0x0000000007060402), UINT64_C(0x0000000706040200), UINT64_C(0x0000000706040201), UINT64_C(0x0000070604020100),
    UINT64_C(0x0000000007060403), UINT64_C(0x0000000706040300), UINT64_C(0x0000000706040301), UINT64_C(0x0000070604030100),
    UINT64_C(0x0000000706040302), UINT64_C(0x0000070604030200), UINT64_C(0x0000070604030201), UINT64_C(0x0007060403020100),
    UINT64_C(0x0000000000070605), UINT64_C(0x0000000007060500), UINT64_C(0x0000000007060501), UINT64_C(0x0000000706050100),
    UINT64_C(0x0000000007060502), UINT64_C(0x0000000706050200), UINT64_C(0x0000000706050201), UINT64_C(0x0000070605020100),
    UINT64_C(0x0000000007060503), UINT64_C(0x0000000706050300), UINT64_C(0x0000000706050301), UINT64_C(0x0000070605030100),
    UINT64_C(0x0000000706050302), UINT64_C(0x0000070605030200), UINT64_C(0x0000070605030201), UINT64_C(0x0007060503020100),
    UINT64_C(0x0000000007060504), UINT64_C(0x0000000706050400), UINT64_C(0x0000000706050401), UINT64_C(0x0000070605040100),
    UINT64_C(0x0000000706050402), UINT64_C(0x0000070605040200), UINT64_C(0x0000070605040201), UINT64_C(0x0007060504020100),
    UINT64_C(0x0000000706050403), UINT64_C(0x0000070605040300), UINT64_C(0x0000070605040301), UINT64_C(0x0007060504030100),
    UINT64_C(0x0000070605040302), UINT64_C(0x0007060504030200), UINT64_C(0x0007060504030201), UINT64_C(0x0706050403020100),
};

#ifdef FF_HAVE_AVX
/* One step, in every writer below: 16 input bytes at p[i], read with 3
 * bytes of lookahead (p[i..i+19)), and at most 16 units written at out[j].
 * A step with any non-ASCII byte computes the code point each position would
 * start and packs those of the lead bytes (signed bytes above -65: any byte
 * but 80-BF) to the front of each half (8 positions), which is stored whole
 * and advances j by its count of leads; the continuation bytes that end the
 * step, if any, are skipped as non-leads by the next. */
#define FF_TRANSCODE_STEP_OK(i, j) ((i) + 19 <= n && (j) + 16 <= count)

/* UCS1: the text has only ASCII and the leads C2 and C3 (U+0080-U+00FF),
 * whose code point is the lead's low 2 bits, then 6 bits of the next byte:
 * one byte in, one byte out. */
FF_TARGET("avx2,popcnt")
static size_t ff_utf8_decode_avx2_ucs1(const uint8_t *p, size_t n, uint8_t *out, size_t count)
{
    const __m128i low6 = _mm_set1_epi8(0x3F), top2 = _mm_set1_epi8((char)0xC0);
    const __m128i above_continuation = _mm_set1_epi8(-65);
    size_t i = 0, j = 0;
    while (FF_TRANSCODE_STEP_OK(i, j)) {
        __m128i b0 = _mm_loadu_si128((const __m128i *)(p + i));
        if (!_mm_movemask_epi8(b0)) {
            _mm_storeu_si128((__m128i *)(out + j), b0);
            i += 16, j += 16;
            continue;
        }
        __m128i c1 = _mm_and_si128(_mm_loadu_si128((const __m128i *)(p + i + 1)), low6);
        __m128i two = _mm_or_si128(_mm_and_si128(_mm_slli_epi16(b0, 6), top2), c1);
        /* ASCII bytes (high bit clear) stay as they are. */
        __m128i cp = _mm_blendv_epi8(b0, two, b0);
        unsigned leads = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(b0, above_continuation));
        unsigned lo = leads & 0xFF, hi = leads >> 8;
        __m128i pack_lo = _mm_loadl_epi64((const __m128i *)&ff_transcode_pack[lo]);
        __m128i pack_hi = _mm_loadl_epi64((const __m128i *)&ff_transcode_pack[hi]);
        _mm_storel_epi64((__m128i *)(out + j), _mm_shuffle_epi8(cp, pack_lo));
        j += (size_t)__builtin_popcount(lo);
        _mm_storel_epi64((__m128i *)(out + j), _mm_shuffle_epi8(_mm_srli_si128(cp, 8), pack_hi));
        j += (size_t)__builtin_popcount(hi);
        i += 16;
    }
    return j + ff_utf8_decode_ucs1(p + i, n - i, out + j, count - j);
}

/* UCS2: sequences of 1-3 bytes (up to U+FFFF), in 16-bit lanes.  With u =
 * lead << 6 | c1, a 2-byte code point is u's low 11 bits, and a 3-byte one
 * u << 6 | c2, whose 16 bits drop the lead's 1110 prefix by themselves. */
FF_TARGET("avx2,popcnt")
static size_t ff_utf8_decode_avx2_ucs2(const uint8_t *p, size_t n, uint16_t *out, size_t count)
{
    const __m256i low6 = _mm256_set1_epi16(0x3F), low11 = _mm256_set1_epi16(0x7FF);
    const __m256i below_three = _mm256_set1_epi16(0xDF), ascii_end = _mm256_set1_epi16(0x80);
    const __m128i above_continuation = _mm_set1_epi8(-65);
    const __m256i one = _mm256_set1_epi8(1);
    size_t i = 0, j = 0;
    while (FF_TRANSCODE_STEP_OK(i, j)) {
        __m128i b0 = _mm_loadu_si128((const __m128i *)(p + i));
        if (!_mm_movemask_epi8(b0)) {
            _mm256_storeu_si256((__m256i *)(out + j), _mm256_cvtepu8_epi16(b0));
            i += 16, j += 16;
            continue;
        }
        __m256i w0 = _mm256_cvtepu8_epi16(b0);
        __m256i c1 = _mm256_and_si256(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(p + i + 1))), low6);
        __m256i c2 = _mm256_and_si256(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(p + i + 2))), low6);
        __m256i u = _mm256_or_si256(_mm256_slli_epi16(w0, 6), c1);
        __m256i cp = _mm256_blendv_epi8(_mm256_and_si256(u, low11), _mm256_or_si256(_mm256_slli_epi16(u, 6), c2),
                                        _mm256_cmpgt_epi16(w0, below_three));
        cp = _mm256_blendv_epi8(cp, w0, _mm256_cmpgt_epi16(ascii_end, w0));
        unsigned leads = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(b0, above_continuation));
        unsigned lo = leads & 0xFF, hi = leads >> 8;
        /* Lane k of a half becomes the byte pair 2k, 2k+1. */
        __m256i pack = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadl_epi64((const __m128i *)&ff_transcode_pack[lo])),
            _mm_loadl_epi64((const __m128i *)&ff_transcode_pack[hi]), 1);
        pack = _mm256_add_epi8(pack, pack);
        pack = _mm256_unpacklo_epi8(pack, _mm256_add_epi8(pack, one));
        cp = _mm256_shuffle_epi8(cp, pack);
        _mm_storeu_si128((__m128i *)(out + j), _mm256_castsi256_si128(cp));
        j += (size_t)__builtin_popcount(lo);
        _mm_storeu_si128((__m128i *)(out + j), _mm256_extracti128_si256(cp, 1));
        j += (size_t)__builtin_popcount(hi);
        i += 16;
    }
    return j + ff_utf8_decode_ucs2(p + i, n - i, out + j, count - j);
}

/* UCS4: sequences of 1-4 bytes, in 32-bit lanes: lead << 18 | c1 << 12 |
 * c2 << 6 | c3, with the lead's payload bits only, shifted right to its
 * length (a 1-byte code point is the lead alone, 18 bits up). */
FF_TARGET("avx2,popcnt")
static size_t ff_utf8_decode_avx2_ucs4(const uint8_t *p, size_t n, uint32_t *out, size_t count)
{
    /* By the high nibble of a lead byte: the payload bits it keeps, and the
     * shift for its length.  Continuation bytes (8-B) are never kept, so
     * their entries do not matter. */
    const __m128i payload = _mm_setr_epi8(0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0, 0, 0, 0, 0x1F, 0x1F,
                                          0x0F, 0x07);
    const __m128i shifts = _mm_setr_epi8(18, 18, 18, 18, 18, 18, 18, 18, 0, 0, 0, 0, 12, 12, 6, 0);
    const __m128i low6 = _mm_set1_epi8(0x3F), nibble = _mm_set1_epi8(0x0F);
    const __m128i above_continuation = _mm_set1_epi8(-65);
    /* maddubs weights: the even byte times 1 plus the odd byte times 64. */
    const __m128i join6 = _mm_set1_epi16(0x4001);
    size_t i = 0, j = 0;
    while (FF_TRANSCODE_STEP_OK(i, j)) {
        __m128i b0 = _mm_loadu_si128((const __m128i *)(p + i));
        if (!_mm_movemask_epi8(b0)) {
            _mm256_storeu_si256((__m256i *)(out + j), _mm256_cvtepu8_epi32(b0));
            _mm256_storeu_si256((__m256i *)(out + j + 8), _mm256_cvtepu8_epi32(_mm_srli_si128(b0, 8)));
            i += 16, j += 16;
            continue;
        }
        __m128i c1 = _mm_and_si128(_mm_loadu_si128((const __m128i *)(p + i + 1)), low6);
        __m128i c2 = _mm_and_si128(_mm_loadu_si128((const __m128i *)(p + i + 2)), low6);
        __m128i c3 = _mm_and_si128(_mm_loadu_si128((const __m128i *)(p + i + 3)), low6);
        __m128i hi4 = _mm_and_si128(_mm_srli_epi16(b0, 4), nibble);
        __m128i lead = _mm_and_si128(b0, _mm_shuffle_epi8(payload, hi4));
        __m128i shift = _mm_shuffle_epi8(shifts, hi4);
        /* Per position, lead << 6 | c1 and c2 << 6 | c3 in 16-bit lanes. */
        __m128i top_lo = _mm_maddubs_epi16(_mm_unpacklo_epi8(c1, lead), join6);
        __m128i top_hi = _mm_maddubs_epi16(_mm_unpackhi_epi8(c1, lead), join6);
        __m128i low_lo = _mm_maddubs_epi16(_mm_unpacklo_epi8(c3, c2), join6);
        __m128i low_hi = _mm_maddubs_epi16(_mm_unpackhi_epi8(c3, c2), join6);
        __m256i cp_lo = _mm256_srlv_epi32(
            _mm256_or_si256(_mm256_slli_epi32(_mm256_cvtepu16_epi32(top_lo), 12), _mm256_cvtepu16_epi32(low_lo)),
            _mm256_cvtepu8_epi32(shift));
        __m256i cp_hi = _mm256_srlv_epi32(
            _mm256_or_si256(_mm256_slli_epi32(_mm256_cvtepu16_epi32(top_hi), 12), _mm256_cvtepu16_epi32(low_hi)),
            _mm256_cvtepu8_epi32(_mm_srli_si128(shift, 8)));
        unsigned leads = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(b0, above_continuation));
        unsigned lo = leads & 0xFF, hi = leads >> 8;
        __m256i pack_lo = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)&ff_transcode_pack[lo]));
        __m256i pack_hi = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)&ff_transcode_pack[hi]));
        _mm256_storeu_si256((__m256i *)(out + j), _mm256_permutevar8x32_epi32(cp_lo, pack_lo));
        j += (size_t)__builtin_popcount(lo);
        _mm256_storeu_si256((__m256i *)(out + j), _mm256_permutevar8x32_epi32(cp_hi, pack_hi));
        j += (size_t)__builtin_popcount(hi);
        i += 16;
    }
    return j + ff_utf8_decode_ucs4(p + i, n - i, out + j, count - j);
}
#undef FF_TRANSCODE_STEP_OK

static inline size_t ff_utf8_decode_avx2(const uint8_t *p, size_t n, void *out, int width, size_t count)
{
    if (width == 1)
        return ff_utf8_decode_avx2_ucs1(p, n, (uint8_t *)out, count);
    if (width == 2)
        return ff_utf8_decode_avx2_ucs2(p, n, (uint16_t *)out, count);
    return ff_utf8_decode_avx2_ucs4(p, n, (uint32_t *)out, count);
}
#endif

/* ---- The SSE4.1 writer (the SSE2 level, where the CPU has SSE4.1) ---------
 *
 * The steps of the AVX2 writer above for UCS1 and UCS2, in 128-bit vectors
 * (UCS2 a half of 8 positions at a time); UCS4 uses the scalar writer at
 * this level. */
#ifdef FF_HAVE_AVX
static int ff_transcode_sse41_cached = -1;

/* Does the CPU have SSE4.1 (with SSSE3 before it)?  Cached like the
 * dispatcher's choice (ff_cpu.h): a benign race on one int. */
static inline int ff_transcode_have_sse41(void)
{
    int have = FF_LOAD_RELAXED(&ff_transcode_sse41_cached);
    if (have < 0) {
        uint32_t r[4];
        ff_cpuid(0, 0, r);
        have = 0;
        if (r[0] >= 1) {
            ff_cpuid(1, 0, r);
            have = (int)((r[2] >> 19) & 1) && (int)((r[2] >> 9) & 1);
        }
        FF_STORE_RELAXED(&ff_transcode_sse41_cached, have);
    }
    return have;
}

/* The set bits of an 8-bit mask, without the POPCNT instruction, which
 * some SSE4.1 CPUs lack. */
static inline size_t ff_popcount8(unsigned x)
{
    x = x - ((x >> 1) & 0x55);
    x = (x & 0x33) + ((x >> 2) & 0x33);
    return (size_t)((x + (x >> 4)) & 0x0F);
}

FF_TARGET("sse4.1")
static size_t ff_utf8_decode_sse41_ucs1(const uint8_t *p, size_t n, uint8_t *out, size_t count)
{
    const __m128i low6 = _mm_set1_epi8(0x3F), top2 = _mm_set1_epi8((char)0xC0);
    const __m128i above_continuation = _mm_set1_epi8(-65);
    size_t i = 0, j = 0;
    while (i + 19 <= n && j + 16 <= count) {
        __m128i b0 = _mm_loadu_si128((const __m128i *)(p + i));
        if (!_mm_movemask_epi8(b0)) {
            _mm_storeu_si128((__m128i *)(out + j), b0);
            i += 16, j += 16;
            continue;
        }
        __m128i c1 = _mm_and_si128(_mm_loadu_si128((const __m128i *)(p + i + 1)), low6);
        __m128i two = _mm_or_si128(_mm_and_si128(_mm_slli_epi16(b0, 6), top2), c1);
        __m128i cp = _mm_blendv_epi8(b0, two, b0);
        unsigned leads = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(b0, above_continuation));
        unsigned lo = leads & 0xFF, hi = leads >> 8;
        __m128i pack_lo = _mm_loadl_epi64((const __m128i *)&ff_transcode_pack[lo]);
        __m128i pack_hi = _mm_loadl_epi64((const __m128i *)&ff_transcode_pack[hi]);
        _mm_storel_epi64((__m128i *)(out + j), _mm_shuffle_epi8(cp, pack_lo));
        j += ff_popcount8(lo);
        _mm_storel_epi64((__m128i *)(out + j), _mm_shuffle_epi8(_mm_srli_si128(cp, 8), pack_hi));
        j += ff_popcount8(hi);
        i += 16;
    }
    return j + ff_utf8_decode_ucs1(p + i, n - i, out + j, count - j);
}

FF_TARGET("sse4.1")
static size_t ff_utf8_decode_sse41_ucs2(const uint8_t *p, size_t n, uint16_t *out, size_t count)
{
    const __m128i low6 = _mm_set1_epi16(0x3F), low11 = _mm_set1_epi16(0x7FF);
    const __m128i below_three = _mm_set1_epi16(0xDF), ascii_end = _mm_set1_epi16(0x80);
    const __m128i above_continuation = _mm_set1_epi8(-65), one = _mm_set1_epi8(1);
    size_t i = 0, j = 0;
    while (i + 19 <= n && j + 16 <= count) {
        __m128i b0 = _mm_loadu_si128((const __m128i *)(p + i));
        if (!_mm_movemask_epi8(b0)) {
            _mm_storeu_si128((__m128i *)(out + j), _mm_cvtepu8_epi16(b0));
            _mm_storeu_si128((__m128i *)(out + j + 8), _mm_cvtepu8_epi16(_mm_srli_si128(b0, 8)));
            i += 16, j += 16;
            continue;
        }
        unsigned leads = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(b0, above_continuation));
        for (size_t h = 0; h < 16; h += 8) {
            const uint8_t *q = p + i + h;
            __m128i w0 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)q));
            __m128i c1 = _mm_and_si128(_mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(q + 1))), low6);
            __m128i c2 = _mm_and_si128(_mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(q + 2))), low6);
            __m128i u = _mm_or_si128(_mm_slli_epi16(w0, 6), c1);
            __m128i cp = _mm_blendv_epi8(_mm_and_si128(u, low11), _mm_or_si128(_mm_slli_epi16(u, 6), c2),
                                         _mm_cmpgt_epi16(w0, below_three));
            cp = _mm_blendv_epi8(cp, w0, _mm_cmpgt_epi16(ascii_end, w0));
            unsigned half = (leads >> h) & 0xFF;
            __m128i pack = _mm_loadl_epi64((const __m128i *)&ff_transcode_pack[half]);
            pack = _mm_add_epi8(pack, pack);
            pack = _mm_unpacklo_epi8(pack, _mm_add_epi8(pack, one));
            _mm_storeu_si128((__m128i *)(out + j), _mm_shuffle_epi8(cp, pack));
            j += ff_popcount8(half);
        }
        i += 16;
    }
    return j + ff_utf8_decode_ucs2(p + i, n - i, out + j, count - j);
}
#endif

/* ---- Dispatch ------------------------------------------------------------- */

/* The name of the writer a level runs, for the C checks. */
static inline const char *ff_utf8_decode_kernel_name(int level)
{
    if (level == FF_LEVEL_AUTO)
        level = ff_cpu_level();
#ifdef FF_HAVE_AVX
    if (level == FF_LEVEL_AVX2 || level == FF_LEVEL_AVX512)
        return "avx2";
    if (level == FF_LEVEL_SSE2 && ff_transcode_have_sse41())
        return "sse4.1";
#endif
    (void)level;
    return "scalar";
}

/* Decode p[0..n) into `count` code points of `width` bytes each (1, 2 or 4,
 * CPython's PyUnicode kinds) at out with the writer of `level`
 * (FF_LEVEL_AUTO: ff_cpu_level()'s), where count and the width come from
 * ff_utf8_measure.  Returns the number of code points written: count, for
 * valid UTF-8.  Never reads past p[n) nor writes past code point count. */
static inline size_t ff_utf8_decode_at(int level, const uint8_t *p, size_t n, void *out, int width, size_t count)
{
    if (level == FF_LEVEL_AUTO)
        level = ff_cpu_level();
#ifdef FF_HAVE_AVX
    if (level == FF_LEVEL_AVX2 || level == FF_LEVEL_AVX512)
        return ff_utf8_decode_avx2(p, n, out, width, count);
    if (level == FF_LEVEL_SSE2 && width < 4 && ff_transcode_have_sse41())
        return width == 1 ? ff_utf8_decode_sse41_ucs1(p, n, (uint8_t *)out, count)
                          : ff_utf8_decode_sse41_ucs2(p, n, (uint16_t *)out, count);
#endif
    (void)level;
    return ff_utf8_decode_scalar(p, n, out, width, count);
}

/* ff_utf8_decode_at with the level ff_cpu_level() chose. */
static inline size_t ff_utf8_decode(const uint8_t *p, size_t n, void *out, int width, size_t count)
{
    return ff_utf8_decode_at(FF_LEVEL_AUTO, p, n, out, width, count);
}

#endif /* FF_TRANSCODE_H */
