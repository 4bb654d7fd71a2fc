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
 * The SIMD writers take 16 input bytes a step.  A block of ASCII is widened
 * as it is.  Otherwise, at every byte position a step computes the code
 * point a sequence starting there would have (RFC 3629 §3), keeps the
 * positions that hold a lead byte (any byte but 10xxxxxx), packs them to
 * the front with one lane permutation per 8 positions (ff_transcode_pack
 * below) and stores 8 units, of which the next store overwrites those past
 * the code points found.  Sequences whose lead falls in the step are read
 * whole (3 bytes of lookahead), so every step starts wherever the last one
 * stopped and skips the continuation bytes it finds there.  UCS1 and UCS2
 * compute in 8- and 16-bit lanes; UCS4 in 32-bit lanes, with one byte
 * shuffle and two multiply-adds per 8 positions (ff_transcode_cps8).  In
 * UCS2, runs of eight 3-byte sequences (CJK) skip the packing: 24 bytes
 * give 8 units with fixed shuffles (ff_transcode_ucs2_three); and text with
 * no sequence longer than 2 bytes (the measure's kind 0x7FF: Greek,
 * Cyrillic, Hebrew, Arabic) has a writer that reads no third byte
 * (ff_utf8_decode_max_at chooses it).  In UCS4, text that starts with
 * emoji in ASCII (no byte C0-EF) goes 32 positions at a time with no
 * lookup by the lead's length (ff_transcode_ucs4_four32_avx2) as long as
 * it stays so.  The last steps run on padded copies
 * of the input and output (FF_TRANSCODE_WRITER), so no text ends in a
 * scalar loop.  At the SSE2 level, a CPU with SSE4.1
 * runs the same steps in 128-bit vectors (UCS4 there: the UCS2 computation
 * widened, or scalar code for a step with a 4-byte lead); NEON has its own
 * writers (ff_transcode_neon.h); the scalar level uses the scalar writer.
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

/* ---- The lane-packing table ------------------------------------------------ */

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

/* ff_transcode_pack16[m]: ff_transcode_pack[m] for 16-bit lanes, as a
 * pshufb pattern of 16 bytes: lane k of entry m (the r-th set bit of m) is
 * the byte pair 2k, 2k+1 at bytes 2r, 2r+1; the bytes past them are 0
 * (tests/c/decode_checks.c checks it against that definition). */
static const uint64_t ff_transcode_pack16[256][2] = {
    {UINT64_C(0x0000000000000000), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0000000000000100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0000000000000302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0000000003020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0000000000000504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0000000005040100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0000000005040302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0000050403020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0000000000000706), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0000000007060100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0000000007060302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0000070603020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0000000007060504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0000070605040100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0000070605040302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0706050403020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0000000000000908), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0000000009080100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0000000009080302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0000090803020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0000000009080504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0000090805040100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0000090805040302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0908050403020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0000000009080706), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0000090807060100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0000090807060302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0908070603020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0000090807060504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0908070605040100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0908070605040302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0706050403020100), UINT64_C(0x0000000000000908)},
    {UINT64_C(0x0000000000000B0A), UINT64_C(0x0000000000000000)}, {UINT64_C(0x000000000B0A0100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x000000000B0A0302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x00000B0A03020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x000000000B0A0504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x00000B0A05040100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000B0A05040302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0B0A050403020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x000000000B0A0706), UINT64_C(0x0000000000000000)}, {UINT64_C(0x00000B0A07060100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000B0A07060302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0B0A070603020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000B0A07060504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0B0A070605040100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0B0A070605040302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0706050403020100), UINT64_C(0x0000000000000B0A)},
    {UINT64_C(0x000000000B0A0908), UINT64_C(0x0000000000000000)}, {UINT64_C(0x00000B0A09080100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000B0A09080302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0B0A090803020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000B0A09080504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0B0A090805040100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0B0A090805040302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0908050403020100), UINT64_C(0x0000000000000B0A)},
    {UINT64_C(0x00000B0A09080706), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0B0A090807060100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0B0A090807060302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0908070603020100), UINT64_C(0x0000000000000B0A)},
    {UINT64_C(0x0B0A090807060504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0908070605040100), UINT64_C(0x0000000000000B0A)},
    {UINT64_C(0x0908070605040302), UINT64_C(0x0000000000000B0A)}, {UINT64_C(0x0706050403020100), UINT64_C(0x000000000B0A0908)},
    {UINT64_C(0x0000000000000D0C), UINT64_C(0x0000000000000000)}, {UINT64_C(0x000000000D0C0100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x000000000D0C0302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x00000D0C03020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x000000000D0C0504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x00000D0C05040100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000D0C05040302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C050403020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x000000000D0C0706), UINT64_C(0x0000000000000000)}, {UINT64_C(0x00000D0C07060100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000D0C07060302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C070603020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000D0C07060504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C070605040100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0D0C070605040302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0706050403020100), UINT64_C(0x0000000000000D0C)},
    {UINT64_C(0x000000000D0C0908), UINT64_C(0x0000000000000000)}, {UINT64_C(0x00000D0C09080100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000D0C09080302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C090803020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000D0C09080504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C090805040100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0D0C090805040302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0908050403020100), UINT64_C(0x0000000000000D0C)},
    {UINT64_C(0x00000D0C09080706), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C090807060100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0D0C090807060302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0908070603020100), UINT64_C(0x0000000000000D0C)},
    {UINT64_C(0x0D0C090807060504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0908070605040100), UINT64_C(0x0000000000000D0C)},
    {UINT64_C(0x0908070605040302), UINT64_C(0x0000000000000D0C)}, {UINT64_C(0x0706050403020100), UINT64_C(0x000000000D0C0908)},
    {UINT64_C(0x000000000D0C0B0A), UINT64_C(0x0000000000000000)}, {UINT64_C(0x00000D0C0B0A0100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000D0C0B0A0302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C0B0A03020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000D0C0B0A0504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C0B0A05040100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0D0C0B0A05040302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0B0A050403020100), UINT64_C(0x0000000000000D0C)},
    {UINT64_C(0x00000D0C0B0A0706), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C0B0A07060100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0D0C0B0A07060302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0B0A070603020100), UINT64_C(0x0000000000000D0C)},
    {UINT64_C(0x0D0C0B0A07060504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0B0A070605040100), UINT64_C(0x0000000000000D0C)},
    {UINT64_C(0x0B0A070605040302), UINT64_C(0x0000000000000D0C)}, {UINT64_C(0x0706050403020100), UINT64_C(0x000000000D0C0B0A)},
    {UINT64_C(0x00000D0C0B0A0908), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C0B0A09080100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0D0C0B0A09080302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0B0A090803020100), UINT64_C(0x0000000000000D0C)},
    {UINT64_C(0x0D0C0B0A09080504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0B0A090805040100), UINT64_C(0x0000000000000D0C)},
    {UINT64_C(0x0B0A090805040302), UINT64_C(0x0000000000000D0C)}, {UINT64_C(0x0908050403020100), UINT64_C(0x000000000D0C0B0A)},
    {UINT64_C(0x0D0C0B0A09080706), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0B0A090807060100), UINT64_C(0x0000000000000D0C)},
    {UINT64_C(0x0B0A090807060302), UINT64_C(0x0000000000000D0C)}, {UINT64_C(0x0908070603020100), UINT64_C(0x000000000D0C0B0A)},
    {UINT64_C(0x0B0A090807060504), UINT64_C(0x0000000000000D0C)}, {UINT64_C(0x0908070605040100), UINT64_C(0x000000000D0C0B0A)},
    {UINT64_C(0x0908070605040302), UINT64_C(0x000000000D0C0B0A)}, {UINT64_C(0x0706050403020100), UINT64_C(0x00000D0C0B0A0908)},
    {UINT64_C(0x0000000000000F0E), UINT64_C(0x0000000000000000)}, {UINT64_C(0x000000000F0E0100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x000000000F0E0302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x00000F0E03020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x000000000F0E0504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x00000F0E05040100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000F0E05040302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0F0E050403020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x000000000F0E0706), UINT64_C(0x0000000000000000)}, {UINT64_C(0x00000F0E07060100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000F0E07060302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0F0E070603020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000F0E07060504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0F0E070605040100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0F0E070605040302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0706050403020100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x000000000F0E0908), UINT64_C(0x0000000000000000)}, {UINT64_C(0x00000F0E09080100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000F0E09080302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0F0E090803020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000F0E09080504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0F0E090805040100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0F0E090805040302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0908050403020100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x00000F0E09080706), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0F0E090807060100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0F0E090807060302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0908070603020100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x0F0E090807060504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0908070605040100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x0908070605040302), UINT64_C(0x0000000000000F0E)}, {UINT64_C(0x0706050403020100), UINT64_C(0x000000000F0E0908)},
    {UINT64_C(0x000000000F0E0B0A), UINT64_C(0x0000000000000000)}, {UINT64_C(0x00000F0E0B0A0100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000F0E0B0A0302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0F0E0B0A03020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000F0E0B0A0504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0F0E0B0A05040100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0F0E0B0A05040302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0B0A050403020100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x00000F0E0B0A0706), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0F0E0B0A07060100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0F0E0B0A07060302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0B0A070603020100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x0F0E0B0A07060504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0B0A070605040100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x0B0A070605040302), UINT64_C(0x0000000000000F0E)}, {UINT64_C(0x0706050403020100), UINT64_C(0x000000000F0E0B0A)},
    {UINT64_C(0x00000F0E0B0A0908), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0F0E0B0A09080100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0F0E0B0A09080302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0B0A090803020100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x0F0E0B0A09080504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0B0A090805040100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x0B0A090805040302), UINT64_C(0x0000000000000F0E)}, {UINT64_C(0x0908050403020100), UINT64_C(0x000000000F0E0B0A)},
    {UINT64_C(0x0F0E0B0A09080706), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0B0A090807060100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x0B0A090807060302), UINT64_C(0x0000000000000F0E)}, {UINT64_C(0x0908070603020100), UINT64_C(0x000000000F0E0B0A)},
    {UINT64_C(0x0B0A090807060504), UINT64_C(0x0000000000000F0E)}, {UINT64_C(0x0908070605040100), UINT64_C(0x000000000F0E0B0A)},
    {UINT64_C(0x0908070605040302), UINT64_C(0x000000000F0E0B0A)}, {UINT64_C(0x0706050403020100), UINT64_C(0x00000F0E0B0A0908)},
    {UINT64_C(0x000000000F0E0D0C), UINT64_C(0x0000000000000000)}, {UINT64_C(0x00000F0E0D0C0100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000F0E0D0C0302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0F0E0D0C03020100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x00000F0E0D0C0504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0F0E0D0C05040100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0F0E0D0C05040302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C050403020100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x00000F0E0D0C0706), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0F0E0D0C07060100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0F0E0D0C07060302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C070603020100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x0F0E0D0C07060504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C070605040100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x0D0C070605040302), UINT64_C(0x0000000000000F0E)}, {UINT64_C(0x0706050403020100), UINT64_C(0x000000000F0E0D0C)},
    {UINT64_C(0x00000F0E0D0C0908), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0F0E0D0C09080100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0F0E0D0C09080302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C090803020100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x0F0E0D0C09080504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C090805040100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x0D0C090805040302), UINT64_C(0x0000000000000F0E)}, {UINT64_C(0x0908050403020100), UINT64_C(0x000000000F0E0D0C)},
    {UINT64_C(0x0F0E0D0C09080706), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C090807060100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x0D0C090807060302), UINT64_C(0x0000000000000F0E)}, {UINT64_C(0x0908070603020100), UINT64_C(0x000000000F0E0D0C)},
    {UINT64_C(0x0D0C090807060504), UINT64_C(0x0000000000000F0E)}, {UINT64_C(0x0908070605040100), UINT64_C(0x000000000F0E0D0C)},
    {UINT64_C(0x0908070605040302), UINT64_C(0x000000000F0E0D0C)}, {UINT64_C(0x0706050403020100), UINT64_C(0x00000F0E0D0C0908)},
    {UINT64_C(0x00000F0E0D0C0B0A), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0F0E0D0C0B0A0100), UINT64_C(0x0000000000000000)},
    {UINT64_C(0x0F0E0D0C0B0A0302), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C0B0A03020100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x0F0E0D0C0B0A0504), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C0B0A05040100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x0D0C0B0A05040302), UINT64_C(0x0000000000000F0E)}, {UINT64_C(0x0B0A050403020100), UINT64_C(0x000000000F0E0D0C)},
    {UINT64_C(0x0F0E0D0C0B0A0706), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C0B0A07060100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x0D0C0B0A07060302), UINT64_C(0x0000000000000F0E)}, {UINT64_C(0x0B0A070603020100), UINT64_C(0x000000000F0E0D0C)},
    {UINT64_C(0x0D0C0B0A07060504), UINT64_C(0x0000000000000F0E)}, {UINT64_C(0x0B0A070605040100), UINT64_C(0x000000000F0E0D0C)},
    {UINT64_C(0x0B0A070605040302), UINT64_C(0x000000000F0E0D0C)}, {UINT64_C(0x0706050403020100), UINT64_C(0x00000F0E0D0C0B0A)},
    {UINT64_C(0x0F0E0D0C0B0A0908), UINT64_C(0x0000000000000000)}, {UINT64_C(0x0D0C0B0A09080100), UINT64_C(0x0000000000000F0E)},
    {UINT64_C(0x0D0C0B0A09080302), UINT64_C(0x0000000000000F0E)}, {UINT64_C(0x0B0A090803020100), UINT64_C(0x000000000F0E0D0C)},
    {UINT64_C(0x0D0C0B0A09080504), UINT64_C(0x0000000000000F0E)}, {UINT64_C(0x0B0A090805040100), UINT64_C(0x000000000F0E0D0C)},
    {UINT64_C(0x0B0A090805040302), UINT64_C(0x000000000F0E0D0C)}, {UINT64_C(0x0908050403020100), UINT64_C(0x00000F0E0D0C0B0A)},
    {UINT64_C(0x0D0C0B0A09080706), UINT64_C(0x0000000000000F0E)}, {UINT64_C(0x0B0A090807060100), UINT64_C(0x000000000F0E0D0C)},
    {UINT64_C(0x0B0A090807060302), UINT64_C(0x000000000F0E0D0C)}, {UINT64_C(0x0908070603020100), UINT64_C(0x00000F0E0D0C0B0A)},
    {UINT64_C(0x0B0A090807060504), UINT64_C(0x000000000F0E0D0C)}, {UINT64_C(0x0908070605040100), UINT64_C(0x00000F0E0D0C0B0A)},
    {UINT64_C(0x0908070605040302), UINT64_C(0x00000F0E0D0C0B0A)}, {UINT64_C(0x0706050403020100), UINT64_C(0x0F0E0D0C0B0A0908)},
};

#ifdef FF_HAVE_AVX
/* ---- Steps ----------------------------------------------------------------
 *
 * One step, in every SIMD writer below: 16 input bytes at src, read with 3
 * bytes of lookahead (src[0..19)), and at most 16 units written at dst.  A
 * step with any non-ASCII byte computes the code point each position would
 * start and packs those of the lead bytes (signed bytes above -65: any byte
 * but 80-BF) to the front of each half (8 positions), stored whole, the
 * second half right after the leads of the first.  A step returns its mask
 * of leads, whose count is the number of units it wrote; the continuation
 * bytes that end a step, if any, are skipped as non-leads by the next. */

/* POPCNT where the caller's target has it (a constant once inlined). */
#define FF_TRANSCODE_POP8(x, popcnt) ((popcnt) ? (size_t)__builtin_popcount(x) : ff_popcount8(x))

/* UCS1: the text has only ASCII and the leads C2 and C3 (U+0080-U+00FF),
 * whose code point is the lead's low 2 bits, then 6 bits of the next byte:
 * one byte in, one byte out.  The same 128-bit step serves the AVX2 and the
 * SSE4.1 writers. */
FF_TARGET("sse4.1")
static inline unsigned ff_transcode_ucs1_step(const uint8_t *src, uint8_t *dst, int popcnt)
{
    __m128i b0 = _mm_loadu_si128((const __m128i *)src);
    if (!_mm_movemask_epi8(b0)) {
        _mm_storeu_si128((__m128i *)dst, b0);
        return 0xFFFF;
    }
    __m128i c1 = _mm_and_si128(_mm_loadu_si128((const __m128i *)(src + 1)), _mm_set1_epi8(0x3F));
    __m128i two = _mm_or_si128(_mm_and_si128(_mm_slli_epi16(b0, 6), _mm_set1_epi8((char)0xC0)), c1);
    /* ASCII bytes (high bit clear) stay as they are. */
    __m128i cp = _mm_blendv_epi8(b0, two, b0);
    unsigned leads = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(b0, _mm_set1_epi8(-65)));
    unsigned lo = leads & 0xFF, hi = leads >> 8;
    _mm_storel_epi64((__m128i *)dst, _mm_shuffle_epi8(cp, _mm_loadl_epi64((const __m128i *)&ff_transcode_pack[lo])));
    _mm_storel_epi64((__m128i *)(dst + FF_TRANSCODE_POP8(lo, popcnt)),
                     _mm_shuffle_epi8(_mm_srli_si128(cp, 8), _mm_loadl_epi64((const __m128i *)&ff_transcode_pack[hi])));
    return leads;
}

/* The same for 32 positions (AVX2): one pshufb packs the 4 groups of 8, two
 * per 128-bit half; the 4 stores of 8 bytes take their offsets from
 * popcounts of the lead mask's prefixes.  Reads src[0..33), writes at most
 * 32 bytes.  Returns the 32-bit lead mask. */
FF_TARGET("avx2,popcnt")
static inline unsigned ff_transcode_ucs1_step32_avx2(const uint8_t *src, uint8_t *dst)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)src);
    if (!_mm256_movemask_epi8(v)) {
        _mm256_storeu_si256((__m256i *)dst, v);
        return 0xFFFFFFFFu;
    }
    __m256i c1 = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(src + 1)), _mm256_set1_epi8(0x3F));
    __m256i two = _mm256_or_si256(_mm256_and_si256(_mm256_slli_epi16(v, 6), _mm256_set1_epi8((char)0xC0)), c1);
    __m256i cp = _mm256_blendv_epi8(v, two, v);
    unsigned leads = (unsigned)_mm256_movemask_epi8(_mm256_cmpgt_epi8(v, _mm256_set1_epi8(-65)));
    __m128i g01 = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)&ff_transcode_pack[leads & 0xFF]),
                                     _mm_loadl_epi64((const __m128i *)&ff_transcode_pack[(leads >> 8) & 0xFF]));
    __m128i g23 = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)&ff_transcode_pack[(leads >> 16) & 0xFF]),
                                     _mm_loadl_epi64((const __m128i *)&ff_transcode_pack[leads >> 24]));
    /* The second group of each half reads its half's bytes 8-15. */
    __m256i pattern = _mm256_add_epi8(_mm256_inserti128_si256(_mm256_castsi128_si256(g01), g23, 1),
                                      _mm256_setr_epi64x(0, 0x0808080808080808, 0, 0x0808080808080808));
    cp = _mm256_shuffle_epi8(cp, pattern);
    __m128i h0 = _mm256_castsi256_si128(cp), h1 = _mm256_extracti128_si256(cp, 1);
    _mm_storel_epi64((__m128i *)dst, h0);
    _mm_storel_epi64((__m128i *)(dst + __builtin_popcount(leads & 0xFF)), _mm_unpackhi_epi64(h0, h0));
    _mm_storel_epi64((__m128i *)(dst + __builtin_popcount(leads & 0xFFFF)), h1);
    _mm_storel_epi64((__m128i *)(dst + __builtin_popcount(leads & 0xFFFFFF)), _mm_unpackhi_epi64(h1, h1));
    return leads;
}

/* The pshufb pattern that packs the 16-bit lanes of 8 positions marked in
 * `half`. */
FF_TARGET("sse4.1")
static inline __m128i ff_transcode_pack16_of(unsigned half)
{
    return _mm_loadu_si128((const __m128i *)ff_transcode_pack16[half]);
}

/* UCS2: sequences of 1-3 bytes (up to U+FFFF), in 16-bit lanes.  With u =
 * lead << 6 | c1, a 2-byte code point is u's low 11 bits, and a 3-byte one
 * u << 6 | c2, whose 16 bits drop the lead's 1110 prefix by themselves.
 * The constants are made once per call of a writer: made in the step, the
 * compiler builds some of them again at every step. */
typedef struct {
    __m256i low6, low11, below_three, ascii_end, ascii_top, two_bits, spread3, bits3, pairs, halves;
    __m256i top2, low6_8, lead_base, group8, above_continuation256;
    __m128i above_continuation;
} ff_transcode_ucs2;

FF_TARGET("avx2")
static inline void ff_transcode_ucs2_init(ff_transcode_ucs2 *k)
{
    k->low6 = _mm256_set1_epi16(0x3F);
    k->low11 = _mm256_set1_epi16(0x7FF);
    k->below_three = _mm256_set1_epi16(0xDF);
    k->ascii_end = _mm256_set1_epi16(0x80);
    k->ascii_top = _mm256_set1_epi16(0x7F);
    /* The lead's 110 prefix after the shift and the continuation's 10. */
    k->two_bits = _mm256_set1_epi16(0x3080);
    k->top2 = _mm256_set1_epi8((char)0xC0);
    k->low6_8 = _mm256_set1_epi8(0x3F);
    k->lead_base = _mm256_set1_epi8(0x30);
    k->group8 = _mm256_setr_epi64x(0, 0x0808080808080808, 0, 0x0808080808080808);
    k->above_continuation256 = _mm256_set1_epi8(-65);
    k->above_continuation = _mm_set1_epi8(-65);
    /* For ff_transcode_ucs2_three: per 32-bit lane c2, c1, lead, 0; the
     * bits each keeps; then c2 + 64 * c1 and the lead, joined as
     * lead << 12 | c1 << 6 | c2. */
    k->spread3 = _mm256_setr_epi8(2, 1, 0, -1, 5, 4, 3, -1, 8, 7, 6, -1, 11, 10, 9, -1, 2, 1, 0, -1, 5, 4, 3, -1, 8, 7,
                                  6, -1, 11, 10, 9, -1);
    k->bits3 = _mm256_set1_epi32(0x000F3F3F);
    k->pairs = _mm256_set1_epi16(0x4001);
    k->halves = _mm256_set1_epi32(0x10000001);
    FF_OPAQUE(k->low6);
    FF_OPAQUE(k->low11);
    FF_OPAQUE(k->below_three);
    FF_OPAQUE(k->ascii_end);
    FF_OPAQUE(k->ascii_top);
    FF_OPAQUE(k->two_bits);
    FF_OPAQUE(k->above_continuation);
    FF_OPAQUE(k->bits3);
    FF_OPAQUE(k->pairs);
    FF_OPAQUE(k->halves);
}

/* The code points of the 16 positions of b0 (the 16 bytes at src) whose
 * sequences have 1-3 bytes, in 16-bit lanes, packed to the front of each
 * half: the leads of the low half in the low 128 bits, of the high half in
 * the high ones.  *leads: the lead positions. */
FF_TARGET("avx2")
static inline __m256i ff_transcode_cps16(const ff_transcode_ucs2 *k, __m128i b0, const uint8_t *src, unsigned *leads)
{
    __m256i w0 = _mm256_cvtepu8_epi16(b0);
    __m256i c1 = _mm256_and_si256(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(src + 1))), k->low6);
    __m256i c2 = _mm256_and_si256(_mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(src + 2))), k->low6);
    __m256i u = _mm256_or_si256(_mm256_slli_epi16(w0, 6), c1);
    __m256i cp = _mm256_blendv_epi8(_mm256_and_si256(u, k->low11), _mm256_or_si256(_mm256_slli_epi16(u, 6), c2),
                                    _mm256_cmpgt_epi16(w0, k->below_three));
    cp = _mm256_blendv_epi8(cp, w0, _mm256_cmpgt_epi16(k->ascii_end, w0));
    unsigned m = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(b0, k->above_continuation));
    *leads = m;
    return _mm256_shuffle_epi8(cp, _mm256_inserti128_si256(_mm256_castsi128_si256(ff_transcode_pack16_of(m & 0xFF)),
                                                           ff_transcode_pack16_of(m >> 8), 1));
}

FF_TARGET("avx2,popcnt")
static inline unsigned ff_transcode_ucs2_step_avx2(const ff_transcode_ucs2 *k, const uint8_t *src, uint16_t *dst)
{
    __m128i b0 = _mm_loadu_si128((const __m128i *)src);
    if (!_mm_movemask_epi8(b0)) {
        _mm256_storeu_si256((__m256i *)dst, _mm256_cvtepu8_epi16(b0));
        return 0xFFFF;
    }
    unsigned leads;
    __m256i cp = ff_transcode_cps16(k, b0, src, &leads);
    _mm_storeu_si128((__m128i *)dst, _mm256_castsi256_si128(cp));
    _mm_storeu_si128((__m128i *)(dst + __builtin_popcount(leads & 0xFF)), _mm256_extracti128_si256(cp, 1));
    return leads;
}

/* UCS2 of text whose sequences all have 1 or 2 bytes (leads up to DF:
 * Greek, Cyrillic, Hebrew, Arabic ... with ASCII; the measure's kind
 * 0x7FF), so no position needs a third byte.  A lead 110xxxxx followed by
 * 10yyyyyy, taken as lead << 6 ^ c1, is 0x3000 ^ 0x80 ^ xxxxxyyyyyy in 16
 * bits: one XOR with 0x3080 leaves the code point, without masking either
 * byte.  Reads src[0..17). */
FF_TARGET("avx2,popcnt")
static inline unsigned ff_transcode_ucs2_two_step_avx2(const ff_transcode_ucs2 *k, const uint8_t *src, uint16_t *dst)
{
    __m128i b0 = _mm_loadu_si128((const __m128i *)src);
    if (!_mm_movemask_epi8(b0)) {
        _mm256_storeu_si256((__m256i *)dst, _mm256_cvtepu8_epi16(b0));
        return 0xFFFF;
    }
    __m256i w0 = _mm256_cvtepu8_epi16(b0);
    __m256i c1 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(src + 1)));
    __m256i two = _mm256_xor_si256(_mm256_slli_epi16(w0, 6), _mm256_xor_si256(c1, k->two_bits));
    __m256i cp = _mm256_blendv_epi8(w0, two, _mm256_cmpgt_epi16(w0, k->ascii_top));
    unsigned leads = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(b0, k->above_continuation));
    cp = _mm256_shuffle_epi8(cp, _mm256_inserti128_si256(_mm256_castsi128_si256(ff_transcode_pack16_of(leads & 0xFF)),
                                                         ff_transcode_pack16_of(leads >> 8), 1));
    _mm_storeu_si128((__m128i *)dst, _mm256_castsi256_si128(cp));
    _mm_storeu_si128((__m128i *)(dst + __builtin_popcount(leads & 0xFF)), _mm256_extracti128_si256(cp, 1));
    return leads;
}

/* The same for 32 positions, computed in bytes: the low byte of each code
 * point (lead << 6, its top 2 bits, then the continuation's low 6; an ASCII
 * byte as it is) and the high one (the lead's bits 2-4: the lead shifted
 * right by 2 is 0x30-0x37, saturated down by 0x30; ASCII, at most 0x1F, goes
 * to 0).  Both are packed by one pshufb per plane (8 positions per group,
 * two groups per 128-bit half) and interleaved into 16-bit units, 4 stores
 * whose offsets are popcounts of the lead mask's prefixes, independent of
 * each other.  Reads src[0..33), writes at most 32 units.  Returns the
 * 32-bit lead mask. */
FF_TARGET("avx2,popcnt")
static inline unsigned ff_transcode_ucs2_two32_avx2(const ff_transcode_ucs2 *k, const uint8_t *src, uint16_t *dst)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)src);
    unsigned high = (unsigned)_mm256_movemask_epi8(v);
    if (!high) {
        _mm256_storeu_si256((__m256i *)dst, _mm256_cvtepu8_epi16(_mm256_castsi256_si128(v)));
        _mm256_storeu_si256((__m256i *)(dst + 16), _mm256_cvtepu8_epi16(_mm256_extracti128_si256(v, 1)));
        return 0xFFFFFFFFu;
    }
    __m256i c1 = _mm256_loadu_si256((const __m256i *)(src + 1));
    __m256i lo = _mm256_or_si256(_mm256_and_si256(_mm256_slli_epi16(v, 6), k->top2),
                                 _mm256_and_si256(c1, k->low6_8));
    lo = _mm256_blendv_epi8(v, lo, v);
    __m256i hi = _mm256_subs_epu8(_mm256_and_si256(_mm256_srli_epi16(v, 2), k->low6_8), k->lead_base);
    unsigned leads = (unsigned)_mm256_movemask_epi8(_mm256_cmpgt_epi8(v, k->above_continuation256));
    __m128i g01 = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)&ff_transcode_pack[leads & 0xFF]),
                                     _mm_loadl_epi64((const __m128i *)&ff_transcode_pack[(leads >> 8) & 0xFF]));
    __m128i g23 = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)&ff_transcode_pack[(leads >> 16) & 0xFF]),
                                     _mm_loadl_epi64((const __m128i *)&ff_transcode_pack[leads >> 24]));
    /* The second group of each half reads its half's bytes 8-15. */
    __m256i pattern = _mm256_add_epi8(_mm256_inserti128_si256(_mm256_castsi128_si256(g01), g23, 1), k->group8);
    __m256i plo = _mm256_shuffle_epi8(lo, pattern);
    __m256i phi = _mm256_shuffle_epi8(hi, pattern);
    __m256i u0 = _mm256_unpacklo_epi8(plo, phi); /* groups 0 and 2 */
    __m256i u1 = _mm256_unpackhi_epi8(plo, phi); /* groups 1 and 3 */
    _mm_storeu_si128((__m128i *)dst, _mm256_castsi256_si128(u0));
    _mm_storeu_si128((__m128i *)(dst + __builtin_popcount(leads & 0xFF)), _mm256_castsi256_si128(u1));
    _mm_storeu_si128((__m128i *)(dst + __builtin_popcount(leads & 0xFFFF)), _mm256_extracti128_si256(u0, 1));
    _mm_storeu_si128((__m128i *)(dst + __builtin_popcount(leads & 0xFFFFFF)), _mm256_extracti128_si256(u1, 1));
    return leads;
}

/* Eight 3-byte sequences in a row (CJK text), the commonest run of UCS2
 * text that the step above takes slowly: if the 24 bytes at src are eight
 * leads each followed by two continuation bytes, and byte 24 is no
 * continuation (so the eighth sequence has only those), write their 8 code
 * points at dst and return 1; else write nothing and return 0.  In valid
 * UTF-8, a lead followed by exactly two continuations is a 3-byte lead.
 * Reads src[0..28). */
FF_TARGET("avx2")
static inline int ff_transcode_ucs2_three(const ff_transcode_ucs2 *k, const uint8_t *src, uint16_t *dst)
{
    /* Bytes 0-15 in the low 128 bits, 12-27 in the high ones. */
    __m256i x = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)src)),
                                        _mm_loadu_si128((const __m128i *)(src + 12)), 1);
    unsigned leads = (unsigned)_mm256_movemask_epi8(
        _mm256_cmpgt_epi8(x, _mm256_broadcastsi128_si256(k->above_continuation)));
    /* Leads at 0, 3, 6, 9 of each half, and at 12 of the high one (byte 24). */
    if ((leads & 0x1FFF0FFF) != 0x12490249)
        return 0;
    __m256i lanes = _mm256_and_si256(_mm256_shuffle_epi8(x, k->spread3), k->bits3);
    __m256i cp = _mm256_madd_epi16(_mm256_maddubs_epi16(lanes, k->pairs), k->halves);
    /* Code points up to U+FFFF: the unsigned pack to 16 bits is exact. */
    cp = _mm256_permute4x64_epi64(_mm256_packus_epi32(cp, cp), 0x08);
    _mm_storeu_si128((__m128i *)dst, _mm256_castsi256_si128(cp));
    return 1;
}

/* ---- Code points in 32-bit lanes, 8 positions at a time -----------------
 *
 * For each of 16 positions, the code point a sequence starting there would
 * have (RFC 3629 §3).  The step reads two windows, the 16 bytes at src in
 * the low 128 bits and the 16 at src + 3 in the high ones, so that every
 * position's byte and the three after it lie in one window on the side of
 * the register where its 32-bit lane is (pshufb does not cross the halves).
 * Every byte keeps its payload bits, chosen by its high nibble (a lead
 * keeps 7, 5, 4 or 3 bits, a continuation 6), once for both windows; one
 * byte shuffle per 8 positions lays out, for each position, its byte and the
 * next three in one 32-bit lane, last byte lowest; two multiply-adds join
 * the four 6-bit fields into lead << 18 | c1 << 12 | c2 << 6 | c3; a shift
 * right by 18, 12, 6 or 0 (the lead's length, from the same nibble) leaves
 * the code point.  The bytes after the lead are cut to their 6 low bits in
 * the lane, so that an ASCII byte after a short sequence, shifted out,
 * cannot carry into it. */
typedef struct {
    __m256i payload, shifts, nibble, low6, pairs, halves, spread_lo, spread_hi, shift_lo, shift_hi;
    __m256i four_bits, above_continuation, above_three;
} ff_transcode_cps;

FF_TARGET("avx2")
static inline void ff_transcode_cps_init(ff_transcode_cps *k)
{
    /* By the high nibble: ASCII keeps 7 bits and shifts by 18, a 2-, 3- or
     * 4-byte lead keeps 5, 4 or 3 bits and shifts by 12, 6 or 0; a
     * continuation keeps 6 (its shift is never used). */
    k->payload = _mm256_setr_epi8(0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x3F, 0x3F, 0x3F, 0x3F, 0x1F, 0x1F,
                                  0x0F, 0x07, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x7F, 0x3F, 0x3F, 0x3F, 0x3F,
                                  0x1F, 0x1F, 0x0F, 0x07);
    k->shifts = _mm256_setr_epi8(18, 18, 18, 18, 18, 18, 18, 18, 0, 0, 0, 0, 12, 12, 6, 0, 18, 18, 18, 18, 18, 18, 18,
                                 18, 0, 0, 0, 0, 12, 12, 6, 0);
    k->nibble = _mm256_set1_epi8(0x0F);
    /* Per lane: the lead's byte (highest) whole, the three after it cut to 6 bits. */
    k->low6 = _mm256_set1_epi32((int)0xFF3F3F3F);
    /* maddubs: c3 + 64 * c2 and c1 + 64 * lead; madd: low + 4096 * high. */
    k->pairs = _mm256_set1_epi16(0x4001);
    k->halves = _mm256_set1_epi32(0x10000001);
    /* Lane e of positions 0-7 (_lo) and 8-15 (_hi): bytes p+3, p+2, p+1, p
     * of its window, p the position (lanes 0-3, the window at src) or the
     * position less 3 (lanes 4-7, the window at src + 3). */
    k->spread_lo = _mm256_setr_epi8(3, 2, 1, 0, 4, 3, 2, 1, 5, 4, 3, 2, 6, 5, 4, 3, 4, 3, 2, 1, 5, 4, 3, 2, 6, 5, 4, 3,
                                    7, 6, 5, 4);
    k->spread_hi = _mm256_setr_epi8(11, 10, 9, 8, 12, 11, 10, 9, 13, 12, 11, 10, 14, 13, 12, 11, 12, 11, 10, 9, 13, 12,
                                    11, 10, 14, 13, 12, 11, 15, 14, 13, 12);
    /* The shift of lane e: byte p, then zeros (index -1: pshufb writes 0). */
    k->shift_lo = _mm256_setr_epi8(0, -1, -1, -1, 1, -1, -1, -1, 2, -1, -1, -1, 3, -1, -1, -1, 1, -1, -1, -1, 2, -1, -1,
                                   -1, 3, -1, -1, -1, 4, -1, -1, -1);
    k->shift_hi = _mm256_setr_epi8(8, -1, -1, -1, 9, -1, -1, -1, 10, -1, -1, -1, 11, -1, -1, -1, 9, -1, -1, -1, 10, -1,
                                   -1, -1, 11, -1, -1, -1, 12, -1, -1, -1);
    /* For ff_transcode_ucs4_four32_avx2: a 4-byte lead keeps 3 bits, its
     * continuations 6; the leads (above BF as signed bytes), and the bytes
     * above EF (ASCII and F0-FF). */
    k->four_bits = _mm256_set1_epi32(0x073F3F3F);
    k->above_continuation = _mm256_set1_epi8(-65);
    k->above_three = _mm256_set1_epi8(-17);
    FF_OPAQUE(k->nibble);
    FF_OPAQUE(k->low6);
    FF_OPAQUE(k->pairs);
    FF_OPAQUE(k->halves);
    FF_OPAQUE(k->four_bits);
}

/* The code points of 8 positions, from the payload bits and shifts of both
 * windows, with a pair of the patterns above. */
FF_TARGET("avx2")
static inline __m256i ff_transcode_cps8(const ff_transcode_cps *k, __m256i bits, __m256i shifts, __m256i spread,
                                        __m256i shift)
{
    __m256i lanes = _mm256_and_si256(_mm256_shuffle_epi8(bits, spread), k->low6);
    __m256i joined = _mm256_madd_epi16(_mm256_maddubs_epi16(lanes, k->pairs), k->halves);
    return _mm256_srlv_epi32(joined, _mm256_shuffle_epi8(shifts, shift));
}

/* UCS4: sequences of 1-4 bytes. */
FF_TARGET("avx2,popcnt")
static inline unsigned ff_transcode_ucs4_step_avx2(const ff_transcode_cps *k, const uint8_t *src, uint32_t *dst)
{
    __m128i b0 = _mm_loadu_si128((const __m128i *)src);
    if (!_mm_movemask_epi8(b0)) {
        _mm256_storeu_si256((__m256i *)dst, _mm256_cvtepu8_epi32(b0));
        _mm256_storeu_si256((__m256i *)(dst + 8), _mm256_cvtepu8_epi32(_mm_srli_si128(b0, 8)));
        return 0xFFFF;
    }
    /* No branch to the UCS2 computation for steps without a 4-byte lead:
     * in mixed text it costs more in mispredictions than it saves
     * (bench/test_bench_utf8.py, the decode_utf8 mixed case). */
    __m256i x = _mm256_inserti128_si256(_mm256_castsi128_si256(b0), _mm_loadu_si128((const __m128i *)(src + 3)), 1);
    __m256i hi4 = _mm256_and_si256(_mm256_srli_epi16(x, 4), k->nibble);
    __m256i bits = _mm256_and_si256(x, _mm256_shuffle_epi8(k->payload, hi4));
    __m256i shifts = _mm256_shuffle_epi8(k->shifts, hi4);
    __m256i cp_lo = ff_transcode_cps8(k, bits, shifts, k->spread_lo, k->shift_lo);
    __m256i cp_hi = ff_transcode_cps8(k, bits, shifts, k->spread_hi, k->shift_hi);
    unsigned leads = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(b0, _mm_set1_epi8(-65)));
    unsigned lo = leads & 0xFF, hi = leads >> 8;
    __m256i pack_lo = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)&ff_transcode_pack[lo]));
    __m256i pack_hi = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)&ff_transcode_pack[hi]));
    _mm256_storeu_si256((__m256i *)dst, _mm256_permutevar8x32_epi32(cp_lo, pack_lo));
    _mm256_storeu_si256((__m256i *)(dst + __builtin_popcount(lo)), _mm256_permutevar8x32_epi32(cp_hi, pack_hi));
    return leads;
}

/* ff_transcode_cps8 for positions whose leads are all ASCII or 4-byte, with
 * no lookup by nibble: a 4-byte lead's fields, cut to their payload bits,
 * are joined by the two multiply-adds; an ASCII lead is its lane's top
 * byte, chosen by the lane's sign. */
FF_TARGET("avx2,popcnt")
static FF_ALWAYS_INLINE __m256i ff_transcode_four8(const ff_transcode_cps *k, __m256i x, __m256i spread)
{
    __m256i lanes = _mm256_shuffle_epi8(x, spread);
    __m256i four = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_and_si256(lanes, k->four_bits), k->pairs), k->halves);
    return _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(_mm256_srli_epi32(lanes, 24)),
                                                _mm256_castsi256_ps(four), _mm256_castsi256_ps(lanes)));
}

/* The packed code points of 8 positions at dst. */
FF_TARGET("avx2,popcnt")
static FF_ALWAYS_INLINE void ff_transcode_ucs4_store8(uint32_t *dst, __m256i cp, unsigned m)
{
    __m256i pack = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)&ff_transcode_pack[m]));
    _mm256_storeu_si256((__m256i *)dst, _mm256_permutevar8x32_epi32(cp, pack));
}

/* UCS4 of 32 positions whose leads are all ASCII or 4-byte (emoji in ASCII
 * text): if the 32 bytes at src have no byte C0-EF, write their code points
 * at dst (at most 32 units) and return 1 with the 32-bit lead mask in
 * *leads; else write nothing and return 0.  Half the loop's work per
 * position of ff_transcode_ucs4_step_avx2: one check and one lead mask for
 * 32 positions, no lookup by nibble, no variable shift.  Reads
 * src[0..35). */
FF_TARGET("avx2,popcnt")
static FF_ALWAYS_INLINE int ff_transcode_ucs4_four32_avx2(const ff_transcode_cps *k, const uint8_t *src, uint32_t *dst,
                                                          unsigned *leads)
{
    __m256i v = _mm256_loadu_si256((const __m256i *)src);
    unsigned m = (unsigned)_mm256_movemask_epi8(_mm256_cmpgt_epi8(v, k->above_continuation));
    if (m != (unsigned)_mm256_movemask_epi8(_mm256_cmpgt_epi8(v, k->above_three)))
        return 0;
    *leads = m;
    /* Each position's byte and the three after it in the half of its lane,
     * as ff_transcode_ucs4_step_avx2 lays them out, for positions 0-15 and
     * 16-31. */
    __m256i x0 = _mm256_inserti128_si256(v, _mm_loadu_si128((const __m128i *)(src + 3)), 1);
    __m256i x1 = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm256_extracti128_si256(v, 1)),
                                         _mm_loadu_si128((const __m128i *)(src + 19)), 1);
    ff_transcode_ucs4_store8(dst, ff_transcode_four8(k, x0, k->spread_lo), m & 0xFF);
    ff_transcode_ucs4_store8(dst + __builtin_popcount(m & 0xFF), ff_transcode_four8(k, x0, k->spread_hi),
                             (m >> 8) & 0xFF);
    ff_transcode_ucs4_store8(dst + __builtin_popcount(m & 0xFFFF), ff_transcode_four8(k, x1, k->spread_lo),
                             (m >> 16) & 0xFF);
    ff_transcode_ucs4_store8(dst + __builtin_popcount(m & 0xFFFFFF), ff_transcode_four8(k, x1, k->spread_hi), m >> 24);
    return 1;
}

/* ---- Writers ----------------------------------------------------------------
 *
 * Steps run in place while a whole step fits: 19 bytes to read, 16 units to
 * write.  The last steps run on copies: the input's last bytes padded with
 * zeros (ASCII, whose units come after the real ones), the output into a
 * window of which only the units that fit before `count` are copied out
 * (for valid text, the real ones).  So a writer never reads past p[n) nor
 * writes past unit `count`, whatever the bytes, and no text ends in a
 * scalar loop.  Both copies have a fixed size where the text allows it (32
 * bytes of input, 16 units of output, which a compiler turns into vector
 * moves rather than calls): the input copy is then the last 32 bytes of the
 * text, read from where the step starts, and the output window the last 16
 * units before `count`, read first, so that copying it back rewrites the
 * units before j as they were.  FF_TRANSCODE_FAST is a writer's own
 * shortcut, tried before each step. */
#define FF_TRANSCODE_WRITER(T, STEP, POP16)                                                 \
    size_t i = 0, j = 0;                                                                    \
    FF_TRANSCODE_STEPS(T, STEP, POP16)

/* The steps of FF_TRANSCODE_WRITER from i, j on (a writer with steps of its
 * own first). */
#define FF_TRANSCODE_STEPS(T, STEP, POP16)                                                  \
    while (i + 19 <= n && j + 16 <= count) {                                                \
        FF_TRANSCODE_FAST()                                                                \
        j += POP16(STEP(p + i, out + j));                                                   \
        i += 16;                                                                            \
    }                                                                                       \
    while (i < n && j < count) {                                                            \
        uint8_t in[64];                                                                     \
        T window[32];                                                                       \
        const uint8_t *src = p + i;                                                         \
        size_t left = n - i;                                                                \
        if (left < 19) {                                                                    \
            memset(in + 32, 0, 32);                                                         \
            if (n >= 32) {                                                                  \
                memcpy(in, p + n - 32, 32);                                                 \
                src = in + 32 - left;                                                       \
            } else {                                                                        \
                memcpy(in + 32, src, left);                                                 \
                src = in + 32;                                                              \
            }                                                                               \
        }                                                                                   \
        size_t got;                                                                         \
        if (j + 16 <= count) {                                                              \
            got = POP16(STEP(src, out + j));                                                \
        } else if (count >= 16) {                                                           \
            T *end = out + count - 16;                                                      \
            memcpy(window, end, 16 * sizeof(T));                                            \
            got = POP16(STEP(src, window + (j + 16 - count)));                              \
            memcpy(end, window, 16 * sizeof(T));                                            \
        } else {                                                                            \
            got = POP16(STEP(src, window));                                                 \
            memcpy(out + j, window, (got < count - j ? got : count - j) * sizeof(T));       \
        }                                                                                   \
        got = got < count - j ? got : count - j;                                            \
        i += 16, j += got;                                                                  \
    }                                                                                       \
    return j;

#define FF_TRANSCODE_POPCNT16(x) ((size_t)__builtin_popcount(x))
#define FF_TRANSCODE_POP16(x) (ff_popcount8((x) & 0xFF) + ff_popcount8((x) >> 8))
#define FF_TRANSCODE_FAST()

#define FF_TRANSCODE_UCS1_AVX2(src, dst) ff_transcode_ucs1_step(src, dst, 1)
FF_TARGET("avx2,popcnt")
static size_t ff_utf8_decode_avx2_ucs1(const uint8_t *p, size_t n, uint8_t *out, size_t count)
{
    size_t i = 0, j = 0;
    while (i + 33 <= n && j + 32 <= count) {
        j += (size_t)__builtin_popcount(ff_transcode_ucs1_step32_avx2(p + i, out + j));
        i += 32;
    }
    FF_TRANSCODE_STEPS(uint8_t, FF_TRANSCODE_UCS1_AVX2, FF_TRANSCODE_POPCNT16)
}

/* UCS2: runs of eight 3-byte sequences go the short way, tried where a
 * step starts on a 3-byte lead. */
#undef FF_TRANSCODE_FAST
#define FF_TRANSCODE_FAST()                                                                \
    if ((p[i] & 0xF0) == 0xE0) {                                                            \
        while (i + 28 <= n && j + 8 <= count && ff_transcode_ucs2_three(&k, p + i, out + j)) \
            i += 24, j += 8;                                                                \
        if (i + 19 > n || j + 16 > count)                                                   \
            break;                                                                          \
    }
#define FF_TRANSCODE_UCS2_AVX2(src, dst) ff_transcode_ucs2_step_avx2(&k, src, dst)
FF_TARGET("avx2,popcnt")
static size_t ff_utf8_decode_avx2_ucs2(const uint8_t *p, size_t n, uint16_t *out, size_t count)
{
    ff_transcode_ucs2 k;
    ff_transcode_ucs2_init(&k);
    FF_TRANSCODE_WRITER(uint16_t, FF_TRANSCODE_UCS2_AVX2, FF_TRANSCODE_POPCNT16)
}
#undef FF_TRANSCODE_FAST
#define FF_TRANSCODE_FAST()

/* UCS2 from text of 1-2-byte sequences only (the measure's kind 0x7FF). */
#define FF_TRANSCODE_UCS2_TWO_AVX2(src, dst) ff_transcode_ucs2_two_step_avx2(&k, src, dst)
FF_TARGET("avx2,popcnt")
static size_t ff_utf8_decode_avx2_ucs2_two(const uint8_t *p, size_t n, uint16_t *out, size_t count)
{
    ff_transcode_ucs2 k;
    ff_transcode_ucs2_init(&k);
    size_t i = 0, j = 0;
    while (i + 33 <= n && j + 32 <= count) {
        j += (size_t)__builtin_popcount(ff_transcode_ucs2_two32_avx2(&k, p + i, out + j));
        i += 32;
    }
    FF_TRANSCODE_STEPS(uint16_t, FF_TRANSCODE_UCS2_TWO_AVX2, FF_TRANSCODE_POPCNT16)
}

#define FF_TRANSCODE_UCS4_AVX2(src, dst) ff_transcode_ucs4_step_avx2(&k, src, dst)
FF_TARGET("avx2,popcnt")
static size_t ff_utf8_decode_avx2_ucs4(const uint8_t *p, size_t n, uint32_t *out, size_t count)
{
    ff_transcode_cps k;
    ff_transcode_cps_init(&k);
    /* Emoji in ASCII goes 32 positions at a time up to the first 32 bytes
     * with a C0-EF byte, then the steps of 1-4-byte sequences take the rest:
     * trying the short way again at every step costs text of every length
     * of sequence more in mispredicted branches than it saves
     * (bench/test_bench_utf8.py, the decode_utf8 mixed and emoji cases). */
    size_t i = 0, j = 0;
    while (i + 35 <= n && j + 32 <= count) {
        unsigned leads;
        if (!ff_transcode_ucs4_four32_avx2(&k, p + i, out + j, &leads))
            break;
        j += (size_t)__builtin_popcount(leads);
        i += 32;
    }
    FF_TRANSCODE_STEPS(uint32_t, FF_TRANSCODE_UCS4_AVX2, FF_TRANSCODE_POPCNT16)
}

static inline size_t ff_utf8_decode_avx2(const uint8_t *p, size_t n, void *out, int width, size_t count)
{
    if (width == 1)
        return ff_utf8_decode_avx2_ucs1(p, n, (uint8_t *)out, count);
    if (width == 2)
        return ff_utf8_decode_avx2_ucs2(p, n, (uint16_t *)out, count);
    return ff_utf8_decode_avx2_ucs4(p, n, (uint32_t *)out, count);
}

/* ---- The SSE4.1 writer (the SSE2 level, where the CPU has SSE4.1) ---------
 *
 * The UCS1 step above, the UCS2 step in 128-bit vectors (a half of 8
 * positions at a time), and a UCS4 step that widens it. */

/* The code points of 8 positions at q whose sequences have 1-3 bytes, in
 * 16-bit lanes, packed by the lead positions in `half`. */
FF_TARGET("sse4.1")
static inline __m128i ff_transcode_cps16_sse41(const uint8_t *q, unsigned half)
{
    const __m128i low6 = _mm_set1_epi16(0x3F);
    __m128i w0 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)q));
    __m128i c1 = _mm_and_si128(_mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(q + 1))), low6);
    __m128i c2 = _mm_and_si128(_mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(q + 2))), low6);
    __m128i u = _mm_or_si128(_mm_slli_epi16(w0, 6), c1);
    __m128i cp = _mm_blendv_epi8(_mm_and_si128(u, _mm_set1_epi16(0x7FF)), _mm_or_si128(_mm_slli_epi16(u, 6), c2),
                                 _mm_cmpgt_epi16(w0, _mm_set1_epi16(0xDF)));
    cp = _mm_blendv_epi8(cp, w0, _mm_cmpgt_epi16(_mm_set1_epi16(0x80), w0));
    return _mm_shuffle_epi8(cp, ff_transcode_pack16_of(half));
}

FF_TARGET("sse4.1")
static inline unsigned ff_transcode_ucs2_step_sse41(const uint8_t *src, uint16_t *dst)
{
    __m128i b0 = _mm_loadu_si128((const __m128i *)src);
    if (!_mm_movemask_epi8(b0)) {
        _mm_storeu_si128((__m128i *)dst, _mm_cvtepu8_epi16(b0));
        _mm_storeu_si128((__m128i *)(dst + 8), _mm_cvtepu8_epi16(_mm_srli_si128(b0, 8)));
        return 0xFFFF;
    }
    unsigned leads = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(b0, _mm_set1_epi8(-65)));
    _mm_storeu_si128((__m128i *)dst, ff_transcode_cps16_sse41(src, leads & 0xFF));
    _mm_storeu_si128((__m128i *)(dst + ff_popcount8(leads & 0xFF)), ff_transcode_cps16_sse41(src + 8, leads >> 8));
    return leads;
}

/* UCS4 at this level: a step without a 4-byte lead takes the UCS2
 * computation, widened; a step with one (emoji), the scalar decoding of
 * its leads, one unit each, as the vector steps write them. */
FF_TARGET("sse4.1")
static inline unsigned ff_transcode_ucs4_step_sse41(const uint8_t *src, uint32_t *dst)
{
    __m128i b0 = _mm_loadu_si128((const __m128i *)src);
    if (!_mm_movemask_epi8(b0)) {
        _mm_storeu_si128((__m128i *)dst, _mm_cvtepu8_epi32(b0));
        _mm_storeu_si128((__m128i *)(dst + 4), _mm_cvtepu8_epi32(_mm_srli_si128(b0, 4)));
        _mm_storeu_si128((__m128i *)(dst + 8), _mm_cvtepu8_epi32(_mm_srli_si128(b0, 8)));
        _mm_storeu_si128((__m128i *)(dst + 12), _mm_cvtepu8_epi32(_mm_srli_si128(b0, 12)));
        return 0xFFFF;
    }
    unsigned leads = (unsigned)_mm_movemask_epi8(_mm_cmpgt_epi8(b0, _mm_set1_epi8(-65)));
    __m128i four = _mm_subs_epu8(b0, _mm_set1_epi8((char)0xEF));
    if (_mm_testz_si128(four, four)) {
        size_t j = 0;
        for (size_t h = 0; h < 16; h += 8) {
            unsigned half = (leads >> h) & 0xFF;
            __m128i cp = ff_transcode_cps16_sse41(src + h, half);
            _mm_storeu_si128((__m128i *)(dst + j), _mm_cvtepu16_epi32(cp));
            _mm_storeu_si128((__m128i *)(dst + j + 4), _mm_cvtepu16_epi32(_mm_srli_si128(cp, 8)));
            j += ff_popcount8(half);
        }
        return leads;
    }
    size_t j = 0;
    for (size_t k = 0; k < 16; k++) {
        uint8_t b = src[k];
        if ((b & 0xC0) == 0x80)
            continue;
        /* Every byte's payload, then 6 bits of each byte the length adds
         * (src[k + 3] at most: in the step's lookahead). */
        size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
        uint32_t c = len == 1 ? b : (uint32_t)b & (0x7Fu >> len);
        for (size_t t = 1; t < len; t++)
            c = (c << 6) | (src[k + t] & 0x3F);
        dst[j++] = c;
    }
    return leads;
}

#define FF_TRANSCODE_UCS1_SSE41(src, dst) ff_transcode_ucs1_step(src, dst, 0)
FF_TARGET("sse4.1")
static size_t ff_utf8_decode_sse41_ucs1(const uint8_t *p, size_t n, uint8_t *out, size_t count)
{
    FF_TRANSCODE_WRITER(uint8_t, FF_TRANSCODE_UCS1_SSE41, FF_TRANSCODE_POP16)
}

FF_TARGET("sse4.1")
static size_t ff_utf8_decode_sse41_ucs2(const uint8_t *p, size_t n, uint16_t *out, size_t count)
{
    FF_TRANSCODE_WRITER(uint16_t, ff_transcode_ucs2_step_sse41, FF_TRANSCODE_POP16)
}

FF_TARGET("sse4.1")
static size_t ff_utf8_decode_sse41_ucs4(const uint8_t *p, size_t n, uint32_t *out, size_t count)
{
    FF_TRANSCODE_WRITER(uint32_t, ff_transcode_ucs4_step_sse41, FF_TRANSCODE_POP16)
}
#undef FF_TRANSCODE_FAST
#endif

/* The NEON writers (arm64), on the tables above. */
#include "ff_transcode_neon.h"

/* ---- Dispatch ------------------------------------------------------------- */

/* The name of the writer a level runs, for the C checks. */
static inline const char *ff_utf8_decode_kernel_name(int level)
{
    if (level == FF_LEVEL_AUTO)
        level = ff_cpu_level();
#ifdef FF_HAVE_AVX
    if (level == FF_LEVEL_AVX2 || level == FF_LEVEL_AVX512)
        return "avx2";
    if (level == FF_LEVEL_SSE2 && ff_cpu_has(FF_CPU_SSE41))
        return "sse4.1";
#endif
#ifdef FF_HAVE_TRANSCODE_NEON
    if (level == FF_LEVEL_NEON)
        return "neon";
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
    if (level == FF_LEVEL_SSE2 && ff_cpu_has(FF_CPU_SSE41))
        return width == 1   ? ff_utf8_decode_sse41_ucs1(p, n, (uint8_t *)out, count)
               : width == 2 ? ff_utf8_decode_sse41_ucs2(p, n, (uint16_t *)out, count)
                            : ff_utf8_decode_sse41_ucs4(p, n, (uint32_t *)out, count);
#endif
#ifdef FF_HAVE_TRANSCODE_NEON
    if (level == FF_LEVEL_NEON)
        return ff_utf8_decode_neon(p, n, out, width, count);
#endif
    (void)level;
    return ff_utf8_decode_scalar(p, n, out, width, count);
}

/* ff_utf8_decode_at for text whose largest code point is of the kind
 * `maxchar`, as ff_utf8_measure and ff_utf8_scan give it (0x7F, 0xFF,
 * 0x7FF, 0xFFFF or 0x10FFFF), in units of that kind's width: text of 1- and
 * 2-byte sequences only (0x7FF) takes the AVX2 writer that reads no third
 * byte.  Returns the number of code points written; never reads past p[n)
 * nor writes past code point count, whatever the bytes and maxchar. */
static inline size_t ff_utf8_decode_max_at(int level, const uint8_t *p, size_t n, void *out, uint32_t maxchar,
                                           size_t count)
{
    if (level == FF_LEVEL_AUTO)
        level = ff_cpu_level();
#ifdef FF_HAVE_AVX
    if (maxchar == 0x7FF && (level == FF_LEVEL_AVX2 || level == FF_LEVEL_AVX512))
        return ff_utf8_decode_avx2_ucs2_two(p, n, (uint16_t *)out, count);
#endif
    return ff_utf8_decode_at(level, p, n, out, maxchar <= 0xFF ? 1 : maxchar <= 0xFFFF ? 2 : 4, count);
}

/* Below this many bytes the scalar writer is the faster: a SIMD writer
 * would run only its padded last steps (bench/test_bench_utf8.py, the
 * decode_utf8 tokens case). */
#define FF_UTF8_DECODE_SIMD_MIN 32

/* ff_utf8_decode_at with the level ff_cpu_level() chose, for text from
 * FF_UTF8_DECODE_SIMD_MIN bytes on. */
static inline size_t ff_utf8_decode(const uint8_t *p, size_t n, void *out, int width, size_t count)
{
    return ff_utf8_decode_at(n >= FF_UTF8_DECODE_SIMD_MIN ? FF_LEVEL_AUTO : FF_LEVEL_SCALAR, p, n, out, width, count);
}

/* ff_utf8_decode_max_at with the level ff_cpu_level() chose, for text from
 * FF_UTF8_DECODE_SIMD_MIN bytes on. */
static inline size_t ff_utf8_decode_max(const uint8_t *p, size_t n, void *out, uint32_t maxchar, size_t count)
{
    return ff_utf8_decode_max_at(n >= FF_UTF8_DECODE_SIMD_MIN ? FF_LEVEL_AUTO : FF_LEVEL_SCALAR, p, n, out, maxchar,
                                 count);
}

#endif /* FF_TRANSCODE_H */
