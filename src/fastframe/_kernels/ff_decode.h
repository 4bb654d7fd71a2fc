/* UTF-8 to code points: fastframe.decode_utf8 and the text of messages.
 *
 * CPython's own decoder guesses ASCII first and starts over with a
 * resizable writer at the first other character, which costs a short token
 * like " café" twice what it costs here: one pass validates the text and
 * measures it (its length in code points and the widest kind of character,
 * ff_utf8_scan_at below), then its code points are written straight into a
 * string of the right PEP 393 kind by the SIMD writers of ff_transcode.h.
 * Text that is all ASCII is copied.
 *
 * The kind is read off the largest byte: lead bytes C2-C3 give code points
 * up to U+00FF, C4-DF up to U+07FF, E0-EF up to U+FFFF, F0-F4 beyond; a
 * continuation byte (80-BF) never raises it past its own lead.  U+07FF is
 * no kind of CPython's (PyUnicode_New makes it UCS2) but tells the writers
 * that no sequence has more than 2 bytes.  Valid UTF-8 (RFC 3629 §4)
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

/* The largest code point of the kind text whose largest byte is `top`
 * needs: 0x7F (ASCII), 0xFF (Latin-1), 0x7FF (sequences of 1-2 bytes),
 * 0xFFFF or 0x10FFFF. */
static inline uint32_t ff_utf8_kind_of(uint8_t top)
{
    return top < 0x80 ? 0x7F : top < 0xC4 ? 0xFF : top < 0xE0 ? 0x7FF : top < 0xF0 ? 0xFFFF : 0x10FFFF;
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
 * of the kind they need (ff_utf8_kind_of). */
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

/* ---- Validate and measure in one pass ------------------------------------
 *
 * decode_utf8 needs three answers before it can allocate the string: is the
 * text valid, how many code points does it hold, and how wide is the widest.
 * The AVX2 scan reads each 64-byte block once for all three: the block
 * checks of the SIMD validator (ff_u8_check256, ff_utf8_simd.h), the
 * running maximum byte (the kind, as above) and the count of continuation
 * bytes.  It only says valid or not: on invalid text the caller hands the
 * bytes to CPython's decoder for the exact error.  The last bytes are read
 * as one block that overlaps the one before (its continuation bytes already
 * counted are masked off), or, for short text, from a zero-padded copy:
 * zeros are ASCII, so a sequence cut by the end fails as a lead without its
 * continuations. */
#ifdef FF_HAVE_AVX
FF_TARGET("avx2,popcnt")
static int ff_utf8_scan_avx2(const uint8_t *p, size_t n, size_t *count, uint32_t *maxchar)
{
    ff_u8_consts256 k;
    ff_u8_carry256 carry; /* unused: the scan carries its own `prev` beside the counts */
    ff_u8_init_avx2(&k, &carry);
    const __m256i incomplete = k.incomplete;
    /* Continuation bytes 80..BF are the signed bytes below -64. */
    const __m256i limit = _mm256_set1_epi8(-64);
    const __m256i zero = _mm256_setzero_si256();
    __m256i prev = zero, prev_incomplete = zero, err = zero, top = zero;
    size_t i = 0, continuations = 0;
    for (; i + 64 <= n; i += 64) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(p + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(p + i + 32));
        if (!_mm256_movemask_epi8(_mm256_or_si256(a, b))) {
            /* ASCII: only a sequence the block before left open can fail. */
            err = _mm256_or_si256(err, prev_incomplete);
            prev_incomplete = zero;
            /* A run of ASCII: skip ahead as the AVX2 validator does.
             * `prev` stays ASCII, which the checks treat as they treat
             * zeros. */
            i = ff_u8_skip_ascii_avx2(p, i + 64, n) - 64;
        } else {
            err = _mm256_or_si256(err, _mm256_or_si256(ff_u8_check256(&k, a, prev), ff_u8_check256(&k, b, a)));
            prev_incomplete = _mm256_subs_epu8(b, incomplete);
            top = _mm256_max_epu8(top, _mm256_max_epu8(a, b));
            continuations += (size_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(_mm256_cmpgt_epi8(limit, a)));
            continuations += (size_t)__builtin_popcount((unsigned)_mm256_movemask_epi8(_mm256_cmpgt_epi8(limit, b)));
        }
        prev = b;
    }
    size_t left = n - i;
    if (left == 0) {
        err = _mm256_or_si256(err, prev_incomplete);
    } else {
        __m256i a, b;
        /* Of the block's 64 bytes, the last `left` are new. */
        unsigned skip = 64 - (unsigned)left;
        if (n >= 96) {
            /* The checks are a function of each byte and the three before
             * it, so checking bytes again changes nothing, and `prev` holds
             * the real bytes before the block. */
            const uint8_t *q = p + n - 64;
            prev = _mm256_loadu_si256((const __m256i *)(q - 32));
            a = _mm256_loadu_si256((const __m256i *)q);
            b = _mm256_loadu_si256((const __m256i *)(q + 32));
        } else {
            uint8_t tail[64];
            memset(tail, 0, sizeof tail);
            memcpy(tail, p + i, left);
            a = _mm256_loadu_si256((const __m256i *)tail);
            b = _mm256_loadu_si256((const __m256i *)(tail + 32));
            skip = 0; /* the padding is ASCII: nothing to mask off */
        }
        err = _mm256_or_si256(err, _mm256_or_si256(ff_u8_check256(&k, a, prev), ff_u8_check256(&k, b, a)));
        err = _mm256_or_si256(err, _mm256_subs_epu8(b, incomplete));
        top = _mm256_max_epu8(top, _mm256_max_epu8(a, b));
        uint64_t cont = (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(limit, a)) |
                        (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpgt_epi8(limit, b)) << 32;
        continuations += (size_t)__builtin_popcountll(cont >> skip);
    }
    if (!_mm256_testz_si256(err, err))
        return 0;
    /* The largest byte: fold the 32 lanes down to one. */
    __m128i t = _mm_max_epu8(_mm256_castsi256_si128(top), _mm256_extracti128_si256(top, 1));
    t = _mm_max_epu8(t, _mm_srli_si128(t, 8));
    t = _mm_max_epu8(t, _mm_srli_si128(t, 4));
    t = _mm_max_epu8(t, _mm_srli_si128(t, 2));
    t = _mm_max_epu8(t, _mm_srli_si128(t, 1));
    *maxchar = ff_utf8_kind_of((uint8_t)_mm_cvtsi128_si32(t));
    *count = n - continuations;
    return 1;
}
#endif

#if defined(FF_HAVE_AVX) || defined(FF_ARM64)
/* The last block of the 16-byte-vector scans below, when it overlaps the
 * block before: lane j of the 16 bytes at ff_utf8_scan_new + left is 0xFF
 * when byte j of those 16 is among the block's last `left` (its new ones),
 * else 0.  Loads at + left, + 16 + left, ... cover the block's 64 bytes. */
static const uint8_t ff_utf8_scan_new[128] = {
    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
};
#endif

/* ---- The one-pass scan in 16-byte vectors: SSSE3 and NEON ----------------
 *
 * The AVX2 scan's plan with the validator's block checks of these levels
 * (ff_u8_check_block_ssse3, ff_u8_check_block_neon: four 16-byte vectors a
 * block, their carry from block to block), which also decide the last
 * block's unfinished sequences.  A block that is not all ASCII adds its
 * continuation bytes to the count and raises the running maximum; the
 * first block with an error ends the scan.  The last bytes are read as one
 * block that overlaps the one before, from 80 bytes on (the checks then
 * get the 16 real bytes before it as `prev`; its bytes already counted are
 * masked off with ff_utf8_scan_new), or from a zero-padded copy. */
#ifdef FF_HAVE_AVX
/* The continuation bytes (80..BF: the signed bytes below -64) of a block,
 * as bytes 0..4 per lane summed by psadbw, lanes kept where `keep` is set. */
FF_TARGET("ssse3")
static FF_ALWAYS_INLINE __m128i ff_utf8_scan_conts_ssse3(__m128i a, __m128i b, __m128i c, __m128i d, const uint8_t *keep)
{
    const __m128i limit = _mm_set1_epi8(-64);
    const __m128i zero = _mm_setzero_si128();
    __m128i ma = _mm_and_si128(_mm_cmplt_epi8(a, limit), _mm_loadu_si128((const __m128i *)keep));
    __m128i mb = _mm_and_si128(_mm_cmplt_epi8(b, limit), _mm_loadu_si128((const __m128i *)(keep + 16)));
    __m128i mc = _mm_and_si128(_mm_cmplt_epi8(c, limit), _mm_loadu_si128((const __m128i *)(keep + 32)));
    __m128i md = _mm_and_si128(_mm_cmplt_epi8(d, limit), _mm_loadu_si128((const __m128i *)(keep + 48)));
    /* Each mask lane is 0 or -1: minus their sum is 0..4. */
    __m128i sum = _mm_sub_epi8(zero, _mm_add_epi8(_mm_add_epi8(ma, mb), _mm_add_epi8(mc, md)));
    return _mm_sad_epu8(sum, zero);
}

/* The SSE2 level's scan where the CPU has SSSE3 (as its validator). */
FF_TARGET("ssse3")
static int ff_utf8_scan_ssse3(const uint8_t *p, size_t n, size_t *count, uint32_t *maxchar)
{
    ff_u8_consts128 k;
    ff_u8_carry128 carry;
    ff_u8_init_ssse3(&k, &carry);
    const uint8_t *all = ff_utf8_scan_new + 64;
    __m128i top = _mm_setzero_si128(), conts = _mm_setzero_si128();
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(p + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(p + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(p + i + 48));
        if (ff_u8_check_block_ssse3(&k, a, b, c, d, &carry, i + 64 == n))
            return 0;
        if (_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d)))) {
            top = _mm_max_epu8(top, _mm_max_epu8(_mm_max_epu8(a, b), _mm_max_epu8(c, d)));
            conts = _mm_add_epi64(conts, ff_utf8_scan_conts_ssse3(a, b, c, d, all));
        }
    }
    size_t left = n - i;
    if (left) {
        uint8_t tail[64];
        const uint8_t *q, *keep = ff_utf8_scan_new + left;
        if (n >= 80) {
            q = p + n - 64;
            carry.prev = _mm_loadu_si128((const __m128i *)(q - 16));
        } else {
            memset(tail, 0, sizeof tail);
            memcpy(tail, p + i, left);
            q = tail;
            keep = all; /* the padding is ASCII: nothing to mask off */
        }
        __m128i a = _mm_loadu_si128((const __m128i *)q);
        __m128i b = _mm_loadu_si128((const __m128i *)(q + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(q + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(q + 48));
        if (ff_u8_check_block_ssse3(&k, a, b, c, d, &carry, 1))
            return 0;
        top = _mm_max_epu8(top, _mm_max_epu8(_mm_max_epu8(a, b), _mm_max_epu8(c, d)));
        conts = _mm_add_epi64(conts, ff_utf8_scan_conts_ssse3(a, b, c, d, keep));
    }
    /* The largest byte: fold the 16 lanes down to one. */
    top = _mm_max_epu8(top, _mm_srli_si128(top, 8));
    top = _mm_max_epu8(top, _mm_srli_si128(top, 4));
    top = _mm_max_epu8(top, _mm_srli_si128(top, 2));
    top = _mm_max_epu8(top, _mm_srli_si128(top, 1));
    *maxchar = ff_utf8_kind_of((uint8_t)_mm_cvtsi128_si32(top));
    uint64_t sums[2];
    _mm_storeu_si128((__m128i *)sums, conts);
    *count = n - (size_t)(sums[0] + sums[1]);
    return 1;
}
#endif

#ifdef FF_ARM64
/* The continuation bytes (80..BF: the signed bytes below -64) of a block,
 * lanes kept where `keep` is set. */
static FF_ALWAYS_INLINE size_t ff_utf8_scan_conts_neon(uint8x16_t a, uint8x16_t b, uint8x16_t c, uint8x16_t d,
                                                       const uint8_t *keep)
{
    const int8x16_t limit = vdupq_n_s8(-64);
    uint8x16_t ma = vandq_u8(vcltq_s8(vreinterpretq_s8_u8(a), limit), vld1q_u8(keep));
    uint8x16_t mb = vandq_u8(vcltq_s8(vreinterpretq_s8_u8(b), limit), vld1q_u8(keep + 16));
    uint8x16_t mc = vandq_u8(vcltq_s8(vreinterpretq_s8_u8(c), limit), vld1q_u8(keep + 32));
    uint8x16_t md = vandq_u8(vcltq_s8(vreinterpretq_s8_u8(d), limit), vld1q_u8(keep + 48));
    /* Each mask lane is 0 or 0xFF: its top bit is the count, 0..4 a lane summed. */
    uint8x16_t sum = vaddq_u8(vaddq_u8(vshrq_n_u8(ma, 7), vshrq_n_u8(mb, 7)),
                              vaddq_u8(vshrq_n_u8(mc, 7), vshrq_n_u8(md, 7)));
    return (size_t)vaddlvq_u8(sum);
}

/* The NEON level's scan (arm64). */
static int ff_utf8_scan_neon(const uint8_t *p, size_t n, size_t *count, uint32_t *maxchar)
{
    ff_u8_consts_neon k;
    ff_u8_carry_neon carry;
    ff_u8_init_neon(&k, &carry);
    const uint8_t *all = ff_utf8_scan_new + 64;
    uint8x16_t top = vdupq_n_u8(0);
    size_t i = 0, continuations = 0;
    for (; i + 64 <= n; i += 64) {
        uint8x16_t a = vld1q_u8(p + i), b = vld1q_u8(p + i + 16), c = vld1q_u8(p + i + 32), d = vld1q_u8(p + i + 48);
        if (ff_u8_check_block_neon(&k, a, b, c, d, &carry, i + 64 == n))
            return 0;
        uint8x16_t block_top = vmaxq_u8(vmaxq_u8(a, b), vmaxq_u8(c, d));
        if (vmaxvq_u8(block_top) >= 0x80) {
            top = vmaxq_u8(top, block_top);
            continuations += ff_utf8_scan_conts_neon(a, b, c, d, all);
        }
    }
    size_t left = n - i;
    if (left) {
        uint8_t tail[64];
        const uint8_t *q, *keep = ff_utf8_scan_new + left;
        if (n >= 80) {
            q = p + n - 64;
            carry.prev = vld1q_u8(q - 16);
        } else {
            memset(tail, 0, sizeof tail);
            memcpy(tail, p + i, left);
            q = tail;
            keep = all; /* the padding is ASCII: nothing to mask off */
        }
        uint8x16_t a = vld1q_u8(q), b = vld1q_u8(q + 16), c = vld1q_u8(q + 32), d = vld1q_u8(q + 48);
        if (ff_u8_check_block_neon(&k, a, b, c, d, &carry, 1))
            return 0;
        top = vmaxq_u8(top, vmaxq_u8(vmaxq_u8(a, b), vmaxq_u8(c, d)));
        continuations += ff_utf8_scan_conts_neon(a, b, c, d, keep);
    }
    *maxchar = ff_utf8_kind_of(vmaxvq_u8(top));
    *count = n - continuations;
    return 1;
}
#endif

/* Which scan ff_utf8_scan_at runs at `level`, for the C checks: "avx2",
 * "ssse3", "neon", or "two-pass" (the validator of the level, then its
 * measure: scalar, and SSE2 without SSSE3). */
static inline const char *ff_utf8_scan_kernel_name(int level)
{
    if (level == FF_LEVEL_AUTO)
        level = ff_cpu_level();
#ifdef FF_HAVE_AVX
    if (level == FF_LEVEL_AVX2 || level == FF_LEVEL_AVX512)
        return "avx2";
    if (level == FF_LEVEL_SSE2 && ff_cpu_has(FF_CPU_SSSE3))
        return "ssse3";
#endif
#ifdef FF_ARM64
    if (level == FF_LEVEL_NEON)
        return "neon";
#endif
    (void)level;
    return "two-pass";
}

/* Is p[0..n) valid UTF-8?  If so, *count and *maxchar as ff_utf8_measure
 * gives them; if not, they are left as they were.  In one pass at the AVX2
 * and AVX-512 levels (the AVX2 scan above), at SSE2 where the CPU has SSSE3
 * and at NEON (the 16-byte-vector scans); else the validator of the level,
 * then its measure. */
static inline int ff_utf8_scan_at(int level, const uint8_t *p, size_t n, size_t *count, uint32_t *maxchar)
{
    if (level == FF_LEVEL_AUTO)
        level = ff_cpu_level();
#ifdef FF_HAVE_AVX
    if (level == FF_LEVEL_AVX2 || level == FF_LEVEL_AVX512)
        return ff_utf8_scan_avx2(p, n, count, maxchar);
    if (level == FF_LEVEL_SSE2 && ff_cpu_has(FF_CPU_SSSE3))
        return ff_utf8_scan_ssse3(p, n, count, maxchar);
#endif
#ifdef FF_ARM64
    if (level == FF_LEVEL_NEON)
        return ff_utf8_scan_neon(p, n, count, maxchar);
#endif
    uint32_t state = FF_UTF8_ACCEPT;
    if (ff_utf8_validate_at(level, &state, p, n) != n || state != FF_UTF8_ACCEPT)
        return 0;
    *count = ff_utf8_measure_at(n >= 32 ? level : FF_LEVEL_SCALAR, p, n, maxchar);
    return 1;
}

/* The scan of short text (AI tokens, chat): the automaton of ff_utf8.h and
 * the measure in one loop, after a check for all ASCII a word at a time.
 * REJECT is absorbing, so the state is checked once, at the end. */
static inline int ff_utf8_scan_short(const uint8_t *p, size_t n, size_t *count, uint32_t *maxchar)
{
    uint64_t any = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        any |= w;
    }
    for (; i < n; i++)
        any |= p[i];
    if (!(any & UINT64_C(0x8080808080808080))) {
        *count = n;
        *maxchar = 0x7F;
        return 1;
    }
    uint64_t state = FF_UTF8_ACCEPT;
    uint8_t top = 0;
    size_t continuations = 0;
    for (i = 0; i < n; i++) {
        state = ff_utf8_step_fast(state, p[i]);
        top = p[i] > top ? p[i] : top;
        continuations += (p[i] & 0xC0) == 0x80;
    }
    if ((state & 63) != FF_UTF8_ACCEPT)
        return 0;
    *count = n - continuations;
    *maxchar = ff_utf8_kind_of(top);
    return 1;
}

/* The scan decode_utf8 runs: ff_utf8_scan_at with the level
 * ff_cpu_level() chose, or below 32 bytes the short scan above, which
 * beats the AVX2 scan's padded block there (bench/test_bench_utf8.py, the
 * decode_utf8 tokens case). */
static inline int ff_utf8_scan(const uint8_t *p, size_t n, size_t *count, uint32_t *maxchar)
{
    if (n < 32)
        return ff_utf8_scan_short(p, n, count, maxchar);
    return ff_utf8_scan_at(FF_LEVEL_AUTO, p, n, count, maxchar);
}

#ifdef Py_PYTHON_H
/* A one-character Latin-1 str from valid UTF-8 of one code point (1 or 2
 * bytes): CPython keeps these 256 strings allocated and bytes.decode returns
 * them, so building a new one would cost an allocation and give a string
 * that bytes.decode would not (bench/test_bench_utf8.py, "decode_utf8
 * 1-char tokens"). */
static inline PyObject *ff_str_latin1_char(const uint8_t *p, Py_ssize_t n)
{
    return PyUnicode_FromOrdinal(n == 1 ? p[0] : (Py_UCS4)((p[0] & 0x1F) << 6 | (p[1] & 0x3F)));
}

/* A str from UTF-8 already known to be valid, in one allocation of the
 * right kind.  Only where Python.h was included first (the compiled
 * modules), so that the C tests and fuzzers can use the kernels above. */
static PyObject *ff_str_from_valid_utf8(const uint8_t *p, Py_ssize_t n)
{
    if (n == 1)
        return ff_str_latin1_char(p, n);
    size_t ascii = ff_ascii_prefix(FF_LEVEL_AUTO, p, (size_t)n);
    if (ascii == (size_t)n) {
        PyObject *s = PyUnicode_New(n, 0x7F);
        if (s != NULL)
            memcpy(PyUnicode_1BYTE_DATA(s), p, (size_t)n);
        return s;
    }
    uint32_t maxchar;
    size_t count = ascii + ff_utf8_measure(p + ascii, (size_t)n - ascii, &maxchar);
    if (count == 1 && maxchar <= 0xFF)
        return ff_str_latin1_char(p, n);
    PyObject *s = PyUnicode_New((Py_ssize_t)count, (Py_UCS4)maxchar);
    if (s == NULL)
        return NULL;
    void *out = PyUnicode_DATA(s);
    if (PyUnicode_KIND(s) == PyUnicode_1BYTE_KIND) {
        memcpy(out, p, ascii);
        ff_utf8_decode(p + ascii, (size_t)n - ascii, (char *)out + ascii, 1, count - ascii);
    } else {
        /* The writer widens the ASCII prefix a block at a time itself. */
        ff_utf8_decode_max(p, (size_t)n, out, maxchar, count);
    }
    return s;
}

/* fastframe.decode_utf8: a str from p[0..n), or UnicodeDecodeError (from
 * CPython's decoder, so that its start, end and reason are exactly those of
 * bytes.decode) when p is not valid UTF-8. */
static PyObject *ff_decode_utf8(const uint8_t *p, Py_ssize_t n)
{
    size_t count;
    uint32_t maxchar;
    if (n == 1 && p[0] < 0x80)
        return ff_str_latin1_char(p, n);
    if (!ff_utf8_scan(p, (size_t)n, &count, &maxchar))
        return PyUnicode_DecodeUTF8((const char *)p, n, "strict");
    if (count == 1 && maxchar <= 0xFF)
        return ff_str_latin1_char(p, n);
    PyObject *s = PyUnicode_New((Py_ssize_t)count, (Py_UCS4)maxchar);
    if (s == NULL)
        return NULL;
    if (maxchar == 0x7F)
        memcpy(PyUnicode_1BYTE_DATA(s), p, (size_t)n);
    else
        ff_utf8_decode_max(p, (size_t)n, PyUnicode_DATA(s), maxchar, count);
    return s;
}
#endif

#endif /* FF_DECODE_H */
