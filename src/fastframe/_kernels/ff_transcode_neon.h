/* The NEON writers (arm64): valid UTF-8 to PEP 393 units, as the SIMD
 * writers of ff_transcode.h, which includes this file after its scalar
 * writer and its lane-packing tables.
 *
 * Same contract: ff_utf8_decode_neon(p, n, out, width, count) writes the
 * code points of p[0..n) as `count` units of `width` bytes (1, 2 or 4) and
 * returns the number written; invalid input gives meaningless code points
 * but never a read past p[n) nor a write past unit `count`.
 *
 * A step takes 16 input bytes and reads 3 more (src[0..19)), so that every
 * sequence whose lead is among the 16 is read whole.  All ASCII, the bytes
 * are widened as they are.  Otherwise each position gets the code point a
 * sequence starting there would have (RFC 3629 §3), computed in 16-bit lanes
 * (8 positions a vector): with u = lead << 6 | c1 and v = u << 6 | c2, a
 * 2-byte code point is u's low 11 bits, a 3-byte one v (16 bits drop the
 * 1110 prefix by themselves), and a 4-byte one has v << 6 | c3 as its low
 * 16 bits and (lead & 7) << 2 | c1 >> 4 as its high 5.  vqtbl1q_u8 (NEON's
 * byte shuffle) then packs the positions that hold a lead (any byte but
 * 10xxxxxx) to the front of each 8, with the patterns of
 * ff_transcode_pack / ff_transcode_pack16, and each half is stored whole
 * right after the units of the one before: at most 16 units a step.  The
 * last steps run on a zero-padded copy of the input into a buffer of 16
 * units, of which only those before `count` are copied out.
 *
 * The 16-bit lanes are shuffled as bytes, low byte first: little-endian
 * arm64 only (every arm64 Linux, macOS and Windows); a big-endian build
 * keeps the scalar writer.
 */
#ifndef FF_TRANSCODE_NEON_H
#define FF_TRANSCODE_NEON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "ff_cpu.h"

#if defined(FF_ARM64) && !(defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)
#define FF_HAVE_TRANSCODE_NEON 1

/* The lead positions of the 16 bytes b0 (signed bytes above -65: any byte
 * but 80-BF), one bit each: NEON has no movemask, so each lane keeps its
 * own bit and each half is summed across. */
static FF_ALWAYS_INLINE unsigned ff_transcode_neon_leads(uint8x16_t b0)
{
    static const uint8_t bits[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    uint8x16_t m = vandq_u8(vcgtq_s8(vreinterpretq_s8_u8(b0), vdupq_n_s8(-65)), vld1q_u8(bits));
    return (unsigned)vaddv_u8(vget_low_u8(m)) | (unsigned)vaddv_u8(vget_high_u8(m)) << 8;
}

/* The 16-bit lanes of `cp` marked in the 8-bit mask `half`, packed to the
 * front (the lanes past them are 0). */
static FF_ALWAYS_INLINE uint16x8_t ff_transcode_neon_pack16(uint16x8_t cp, unsigned half)
{
    uint8x16_t pattern = vcombine_u8(vcreate_u8(ff_transcode_pack16[half][0]), vcreate_u8(ff_transcode_pack16[half][1]));
    return vreinterpretq_u16_u8(vqtbl1q_u8(vreinterpretq_u8_u16(cp), pattern));
}

/* UCS1: only ASCII and the leads C2, C3, whose code point is the lead's
 * low 2 bits, then the next byte's 6: one byte in, one out. */
static FF_ALWAYS_INLINE unsigned ff_transcode_neon_ucs1_step(const uint8_t *src, uint8_t *dst)
{
    uint8x16_t b0 = vld1q_u8(src);
    if (vmaxvq_u8(b0) < 0x80) {
        vst1q_u8(dst, b0);
        return 0xFFFF;
    }
    uint8x16_t c1 = vandq_u8(vld1q_u8(src + 1), vdupq_n_u8(0x3F));
    uint8x16_t cp = vbslq_u8(vcltq_u8(b0, vdupq_n_u8(0x80)), b0, vorrq_u8(vshlq_n_u8(b0, 6), c1));
    unsigned leads = ff_transcode_neon_leads(b0), lo = leads & 0xFF, hi = leads >> 8;
    vst1_u8(dst, vtbl1_u8(vget_low_u8(cp), vcreate_u8(ff_transcode_pack[lo])));
    vst1_u8(dst + ff_popcount8(lo), vtbl1_u8(vget_high_u8(cp), vcreate_u8(ff_transcode_pack[hi])));
    return leads;
}

/* The code points of 8 positions, given their bytes and the three after
 * each, widened to 16 bits: their low 16 bits, and in *high (when `four`,
 * else untouched) the bits above for 4-byte leads, 0 for the others. */
static FF_ALWAYS_INLINE uint16x8_t ff_transcode_neon_cps(uint16x8_t w0, uint16x8_t b1, uint16x8_t b2, uint16x8_t b3,
                                                         int four, uint16x8_t *high)
{
    const uint16x8_t low6 = vdupq_n_u16(0x3F);
    uint16x8_t c1 = vandq_u16(b1, low6);
    uint16x8_t u = vorrq_u16(vshlq_n_u16(w0, 6), c1);
    uint16x8_t v = vorrq_u16(vshlq_n_u16(u, 6), vandq_u16(b2, low6));
    uint16x8_t cp = vbslq_u16(vcgtq_u16(w0, vdupq_n_u16(0xDF)), v, vandq_u16(u, vdupq_n_u16(0x7FF)));
    if (four) {
        uint16x8_t is4 = vcgtq_u16(w0, vdupq_n_u16(0xEF));
        cp = vbslq_u16(is4, vorrq_u16(vshlq_n_u16(v, 6), vandq_u16(b3, low6)), cp);
        *high = vandq_u16(is4, vorrq_u16(vshlq_n_u16(vandq_u16(w0, vdupq_n_u16(7)), 2), vshrq_n_u16(c1, 4)));
    }
    return vbslq_u16(vcltq_u16(w0, vdupq_n_u16(0x80)), w0, cp);
}

/* UCS2: sequences of 1-3 bytes (up to U+FFFF). */
static FF_ALWAYS_INLINE unsigned ff_transcode_neon_ucs2_step(const uint8_t *src, uint16_t *dst)
{
    uint8x16_t b0 = vld1q_u8(src);
    if (vmaxvq_u8(b0) < 0x80) {
        vst1q_u16(dst, vmovl_u8(vget_low_u8(b0)));
        vst1q_u16(dst + 8, vmovl_high_u8(b0));
        return 0xFFFF;
    }
    uint8x16_t b1 = vld1q_u8(src + 1), b2 = vld1q_u8(src + 2);
    uint16x8_t unused;
    uint16x8_t cp_lo = ff_transcode_neon_cps(vmovl_u8(vget_low_u8(b0)), vmovl_u8(vget_low_u8(b1)),
                                             vmovl_u8(vget_low_u8(b2)), vdupq_n_u16(0), 0, &unused);
    uint16x8_t cp_hi = ff_transcode_neon_cps(vmovl_high_u8(b0), vmovl_high_u8(b1), vmovl_high_u8(b2),
                                             vdupq_n_u16(0), 0, &unused);
    unsigned leads = ff_transcode_neon_leads(b0), lo = leads & 0xFF, hi = leads >> 8;
    vst1q_u16(dst, ff_transcode_neon_pack16(cp_lo, lo));
    vst1q_u16(dst + ff_popcount8(lo), ff_transcode_neon_pack16(cp_hi, hi));
    return leads;
}

/* 8 units of UCS4 from their low and high 16 bits (already packed). */
static FF_ALWAYS_INLINE void ff_transcode_neon_store32(uint32_t *dst, uint16x8_t low, uint16x8_t high)
{
    vst1q_u32(dst, vorrq_u32(vmovl_u16(vget_low_u16(low)), vshll_n_u16(vget_low_u16(high), 16)));
    vst1q_u32(dst + 4, vorrq_u32(vmovl_high_u16(low), vshll_high_n_u16(high, 16)));
}

/* UCS4: sequences of 1-4 bytes; a step without a 4-byte lead leaves the
 * high bits 0. */
static FF_ALWAYS_INLINE unsigned ff_transcode_neon_ucs4_step(const uint8_t *src, uint32_t *dst)
{
    uint8x16_t b0 = vld1q_u8(src);
    uint8_t top = vmaxvq_u8(b0);
    if (top < 0x80) {
        uint16x8_t lo16 = vmovl_u8(vget_low_u8(b0)), hi16 = vmovl_high_u8(b0);
        vst1q_u32(dst, vmovl_u16(vget_low_u16(lo16)));
        vst1q_u32(dst + 4, vmovl_high_u16(lo16));
        vst1q_u32(dst + 8, vmovl_u16(vget_low_u16(hi16)));
        vst1q_u32(dst + 12, vmovl_high_u16(hi16));
        return 0xFFFF;
    }
    int four = top >= 0xF0;
    uint8x16_t b1 = vld1q_u8(src + 1), b2 = vld1q_u8(src + 2), b3 = vld1q_u8(src + 3);
    uint16x8_t high_lo = vdupq_n_u16(0), high_hi = vdupq_n_u16(0);
    uint16x8_t cp_lo = ff_transcode_neon_cps(vmovl_u8(vget_low_u8(b0)), vmovl_u8(vget_low_u8(b1)),
                                             vmovl_u8(vget_low_u8(b2)), vmovl_u8(vget_low_u8(b3)), four, &high_lo);
    uint16x8_t cp_hi = ff_transcode_neon_cps(vmovl_high_u8(b0), vmovl_high_u8(b1), vmovl_high_u8(b2),
                                             vmovl_high_u8(b3), four, &high_hi);
    unsigned leads = ff_transcode_neon_leads(b0), lo = leads & 0xFF, hi = leads >> 8;
    ff_transcode_neon_store32(dst, ff_transcode_neon_pack16(cp_lo, lo), ff_transcode_neon_pack16(high_lo, lo));
    ff_transcode_neon_store32(dst + ff_popcount8(lo), ff_transcode_neon_pack16(cp_hi, hi),
                              ff_transcode_neon_pack16(high_hi, hi));
    return leads;
}

/* The loop around a step: in place while a whole step fits (19 bytes to
 * read, 16 units to write), then on copies, as described above.  A step
 * that starts on continuation bytes (the end of a sequence the step before
 * wrote) skips them as non-leads. */
#define FF_TRANSCODE_NEON_WRITER(T, STEP)                                                   \
    size_t i = 0, j = 0;                                                                    \
    while (i + 19 <= n && j + 16 <= count) {                                                \
        unsigned leads = STEP(p + i, out + j);                                              \
        j += ff_popcount8(leads & 0xFF) + ff_popcount8(leads >> 8);     \
        i += 16;                                                                            \
    }                                                                                       \
    while (i < n && j < count) {                                                            \
        uint8_t in[32];                                                                     \
        T units[16];                                                                        \
        const uint8_t *src = p + i;                                                         \
        size_t left = n - i;                                                                \
        if (left < 19) {                                                                    \
            memset(in, 0, sizeof in);                                                       \
            memcpy(in, src, left);                                                          \
            src = in;                                                                       \
        }                                                                                   \
        unsigned leads = STEP(src, units);                                                  \
        size_t got = ff_popcount8(leads & 0xFF) + ff_popcount8(leads >> 8); \
        got = got < count - j ? got : count - j;                                            \
        memcpy(out + j, units, got * sizeof(T));                                            \
        i += 16, j += got;                                                                  \
    }                                                                                       \
    return j;

static size_t ff_utf8_decode_neon_ucs1(const uint8_t *p, size_t n, uint8_t *out, size_t count)
{
    FF_TRANSCODE_NEON_WRITER(uint8_t, ff_transcode_neon_ucs1_step)
}

static size_t ff_utf8_decode_neon_ucs2(const uint8_t *p, size_t n, uint16_t *out, size_t count)
{
    FF_TRANSCODE_NEON_WRITER(uint16_t, ff_transcode_neon_ucs2_step)
}

static size_t ff_utf8_decode_neon_ucs4(const uint8_t *p, size_t n, uint32_t *out, size_t count)
{
    FF_TRANSCODE_NEON_WRITER(uint32_t, ff_transcode_neon_ucs4_step)
}

#undef FF_TRANSCODE_NEON_WRITER

/* The NEON writer for any width. */
static inline size_t ff_utf8_decode_neon(const uint8_t *p, size_t n, void *out, int width, size_t count)
{
    if (width == 1)
        return ff_utf8_decode_neon_ucs1(p, n, (uint8_t *)out, count);
    if (width == 2)
        return ff_utf8_decode_neon_ucs2(p, n, (uint16_t *)out, count);
    return ff_utf8_decode_neon_ucs4(p, n, (uint32_t *)out, count);
}

#endif /* FF_ARM64, little-endian */

#endif /* FF_TRANSCODE_NEON_H */
