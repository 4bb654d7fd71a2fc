/* Unmasking and UTF-8 validation of a masked text payload in one pass
 * (RFC 6455 §5.3 and §8.1).
 *
 * A server receives every text frame masked; unmasking it (ff_mask.h) and
 * then validating it (ff_utf8.h) reads the payload twice.  The kernels here
 * XOR each block of the payload with the key, store it, and hand the same
 * registers to the block checks of ff_utf8_simd.h (ff_u8_check_block_*, the
 * validators' own), so the payload is read once.
 *
 * ff_unmask_utf8_at() has exactly the contract of
 *
 *     ff_mask_at(level, dst, src, n, mask, offset);
 *     return ff_utf8_validate_at(level, state, dst, n);
 *
 * all n bytes of dst are written as ff_mask writes them, also when the text
 * fails early; the return value and *state are the automaton's, with the
 * same fail-fast position.  As in ff_utf8.h, the fused kernels only say how
 * long a prefix is certainly valid and ends on a code point boundary; the
 * automaton decides from there, over the unmasked bytes, where the text
 * fails and in which state a chunk ends.  A chunk that starts inside a code
 * point (one a previous chunk left open) is stepped through the automaton
 * byte by byte up to the next boundary, at most three bytes, because the
 * SIMD checks start from a boundary.
 */
#ifndef FF_UNMASK_UTF8_H
#define FF_UNMASK_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "ff_cpu.h"
#include "ff_mask.h"
#include "ff_utf8.h"
#include "ff_utf8_simd.h"

/* A fused kernel: dst[0..n) = src[0..n) XOR the 8-byte key pattern aligned
 * to src[0] (ff_mask_key64); returns n if dst is valid, complete UTF-8, else
 * a code point boundary b with dst[0..b) valid and complete, before the
 * first invalid byte and at most a block and a few bytes before it, as the
 * validators of ff_utf8_simd.h do. */
typedef size_t (*ff_unmask_utf8_fn)(uint8_t *, const uint8_t *, size_t, uint64_t);

#ifdef FF_HAVE_AVX
/* ---- SSSE3: 16-byte vectors, four per block ------------------------------ */
FF_TARGET("ssse3")
static size_t ff_unmask_utf8_ssse3(uint8_t *dst, const uint8_t *src, size_t n, uint64_t key)
{
    ff_u8_consts128 k;
    ff_u8_carry128 carry;
    ff_u8_init_ssse3(&k, &carry);
    const __m128i kv = _mm_set1_epi64x((long long)key);
    uint8_t tail[64];
    size_t i = 0;
    for (;;) {
        int last = n - i <= 64;
        __m128i a, b, c, d;
        if (n - i < 64) {
            /* The pattern has period 4 and i is a multiple of 64: the key
             * is still aligned.  Zeros after the text are ASCII, so a
             * sequence it leaves unfinished shows as a lead without its
             * continuations. */
            ff_mask_words(dst + i, src + i, n - i, key);
            memset(tail, 0, sizeof tail);
            if (n > i)
                memcpy(tail, dst + i, n - i);
            a = _mm_loadu_si128((const __m128i *)tail);
            b = _mm_loadu_si128((const __m128i *)(tail + 16));
            c = _mm_loadu_si128((const __m128i *)(tail + 32));
            d = _mm_loadu_si128((const __m128i *)(tail + 48));
        } else {
            a = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + i)), kv);
            b = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + i + 16)), kv);
            c = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + i + 32)), kv);
            d = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(src + i + 48)), kv);
            _mm_storeu_si128((__m128i *)(dst + i), a);
            _mm_storeu_si128((__m128i *)(dst + i + 16), b);
            _mm_storeu_si128((__m128i *)(dst + i + 32), c);
            _mm_storeu_si128((__m128i *)(dst + i + 48), d);
        }
        if (ff_u8_check_block_ssse3(&k, a, b, c, d, &carry, last)) {
            if (!last)
                ff_mask_sse2(dst + i + 64, src + i + 64, n - i - 64, key);
            return ff_utf8_simd_stop(dst, i);
        }
        if (last)
            return n;
        i += 64;
    }
}

/* ---- AVX2: 32-byte vectors, two per block -------------------------------- */
FF_TARGET("avx2")
static size_t ff_unmask_utf8_avx2(uint8_t *dst, const uint8_t *src, size_t n, uint64_t key)
{
    ff_u8_consts256 k;
    ff_u8_carry256 carry;
    ff_u8_init_avx2(&k, &carry);
    const __m256i kv = _mm256_set1_epi64x((long long)key);
    uint8_t tail[64];
    size_t i = 0;
    for (;;) {
        int last = n - i <= 64;
        __m256i a, b;
        if (n - i < 64 && n >= 96 && dst != src) {
            /* The last 64 bytes as one block overlapping the one before, as
             * in ff_utf8_simd_avx2; bytes unmasked again come out the same.
             * Not in place: there the overlap is unmasked already. */
            size_t q = n - 64;
            const __m256i kq = _mm256_set1_epi64x((long long)ff_mask_advance(key, q));
            carry.prev = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + q - 32)), kq);
            a = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + q)), kq);
            b = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + q + 32)), kq);
            _mm256_storeu_si256((__m256i *)(dst + q), a);
            _mm256_storeu_si256((__m256i *)(dst + q + 32), b);
        } else if (n - i < 64) {
            /* As in the SSSE3 kernel: unmask the tail, check it zero-padded. */
            ff_mask_words(dst + i, src + i, n - i, key);
            memset(tail, 0, sizeof tail);
            if (n > i)
                memcpy(tail, dst + i, n - i);
            a = _mm256_loadu_si256((const __m256i *)tail);
            b = _mm256_loadu_si256((const __m256i *)(tail + 32));
        } else {
            a = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + i)), kv);
            b = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(src + i + 32)), kv);
            _mm256_storeu_si256((__m256i *)(dst + i), a);
            _mm256_storeu_si256((__m256i *)(dst + i + 32), b);
        }
        if (ff_u8_check_block_avx2(&k, a, b, &carry, last)) {
            /* Unmask what is left as ff_mask does; the automaton decides
             * where the text fails, from a boundary before this block. */
            if (!last)
                ff_mask_avx2(dst + i + 64, src + i + 64, n - i - 64, key);
            return ff_utf8_simd_stop(dst, i);
        }
        if (last)
            return n;
        i += 64;
    }
}

/* ---- AVX-512 (F, BW; VBMI where present): one 64-byte vector per block ---- */
/* The structure of ff_utf8_simd_avx512 with the XOR and the store added,
 * once per block check (ff_utf8_simd.h).  The C checks run it where the CPU
 * has AVX-512, and elsewhere emulated (FF_EMULATE_AVX512, ff_cpu.h). */
#define FF_UNMASK_UTF8_AVX512(NAME, TARGET, CHECK)                                                             \
    TARGET static size_t NAME(uint8_t *dst, const uint8_t *src, size_t n, uint64_t key)                        \
    {                                                                                                          \
        ff_u8_consts512 k;                                                                                     \
        ff_u8_carry512 carry;                                                                                  \
        ff_u8_init_avx512(&k, &carry);                                                                         \
        const __m512i kv = _mm512_set1_epi64((long long)key);                                                  \
        size_t i = 0;                                                                                          \
        for (;;) {                                                                                             \
            int last = n - i <= 64;                                                                            \
            __m512i in;                                                                                        \
            if (n - i < 64) {                                                                                  \
                /* Bytes past the end stay zero (ASCII) and are not stored. */                                 \
                __mmask64 m = (__mmask64)((((uint64_t)1) << (n - i)) - 1);                                     \
                in = _mm512_maskz_mov_epi8(m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, (const void *)(src + i)), kv)); \
                _mm512_mask_storeu_epi8((void *)(dst + i), m, in);                                             \
            } else {                                                                                           \
                in = _mm512_xor_si512(_mm512_loadu_si512((const void *)(src + i)), kv);                        \
                _mm512_storeu_si512((void *)(dst + i), in);                                                    \
            }                                                                                                  \
            if (CHECK(&k, in, &carry, last)) {                                                                 \
                if (!last)                                                                                     \
                    ff_mask_avx512(dst + i + 64, src + i + 64, n - i - 64, key);                               \
                return ff_utf8_simd_stop(dst, i);                                                              \
            }                                                                                                  \
            if (last)                                                                                          \
                return n;                                                                                      \
            i += 64;                                                                                           \
        }                                                                                                      \
    }
FF_UNMASK_UTF8_AVX512(ff_unmask_utf8_avx512, FF_TARGET_AVX512, ff_u8_check_block_avx512)
FF_UNMASK_UTF8_AVX512(ff_unmask_utf8_avx512vbmi, FF_TARGET_AVX512VBMI, ff_u8_check_block_avx512vbmi)
#endif /* FF_HAVE_AVX */

/* ---- NEON: 16-byte vectors, four per block ------------------------------- */
#ifdef FF_ARM64
static size_t ff_unmask_utf8_neon(uint8_t *dst, const uint8_t *src, size_t n, uint64_t key)
{
    ff_u8_consts_neon k;
    ff_u8_carry_neon carry;
    ff_u8_init_neon(&k, &carry);
    const uint8x16_t kv = vreinterpretq_u8_u64(vdupq_n_u64(key));
    uint8_t tail[64];
    size_t i = 0;
    for (;;) {
        int last = n - i <= 64;
        uint8x16_t a, b, c, d;
        if (n - i < 64) {
            ff_mask_words(dst + i, src + i, n - i, key);
            memset(tail, 0, sizeof tail);
            if (n > i)
                memcpy(tail, dst + i, n - i);
            a = vld1q_u8(tail), b = vld1q_u8(tail + 16), c = vld1q_u8(tail + 32), d = vld1q_u8(tail + 48);
        } else {
            a = veorq_u8(vld1q_u8(src + i), kv);
            b = veorq_u8(vld1q_u8(src + i + 16), kv);
            c = veorq_u8(vld1q_u8(src + i + 32), kv);
            d = veorq_u8(vld1q_u8(src + i + 48), kv);
            vst1q_u8(dst + i, a);
            vst1q_u8(dst + i + 16, b);
            vst1q_u8(dst + i + 32, c);
            vst1q_u8(dst + i + 48, d);
        }
        if (ff_u8_check_block_neon(&k, a, b, c, d, &carry, last)) {
            if (!last)
                ff_mask_neon(dst + i + 64, src + i + 64, n - i - 64, key);
            return ff_utf8_simd_stop(dst, i);
        }
        if (last)
            return n;
        i += 64;
    }
}
#endif /* FF_ARM64 */

/* The fused kernel of a SIMD level, or NULL where the level has no SIMD
 * validator (scalar; SSE2 without SSSE3; big-endian CPUs): the caller then
 * unmasks and validates in two passes. */
static inline ff_unmask_utf8_fn ff_unmask_utf8_kernel(int level)
{
    switch (level) {
#ifdef FF_HAVE_AVX
    case FF_LEVEL_AVX512: return ff_cpu_has(FF_CPU_AVX512VBMI) ? ff_unmask_utf8_avx512vbmi : ff_unmask_utf8_avx512;
    case FF_LEVEL_AVX2: return ff_unmask_utf8_avx2;
    case FF_LEVEL_SSE2: return ff_cpu_has(FF_CPU_SSSE3) ? ff_unmask_utf8_ssse3 : NULL;
#endif
#ifdef FF_ARM64
    case FF_LEVEL_NEON: return ff_unmask_utf8_neon;
#endif
    default: return NULL;
    }
}

/* Unmask src[0..n) into dst (the payload's bytes from position `offset`,
 * as ff_mask) and advance the UTF-8 automaton in *state over the unmasked
 * bytes (as ff_utf8_validate_at): returns n if every byte was accepted,
 * else the index of the first byte that made the text invalid, with *state
 * FF_UTF8_REJECT.  dst may equal src but must not otherwise overlap it. */
static inline size_t ff_unmask_utf8_at(int level, uint32_t *state, uint8_t *dst, const uint8_t *src, size_t n,
                                       const uint8_t mask[4], size_t offset)
{
    if (level == FF_LEVEL_AUTO)
        level = ff_cpu_level();
    uint32_t s = *state;
    ff_unmask_utf8_fn fused = n >= FF_UTF8_SIMD_MIN && s != FF_UTF8_REJECT ? ff_unmask_utf8_kernel(level) : NULL;
    if (fused == NULL) {
        ff_mask_at(level, dst, src, n, mask, offset);
        return ff_utf8_validate_at(level, state, dst, n);
    }
    size_t i = 0;
    if (s != FF_UTF8_ACCEPT) {
        /* The end of a code point the previous chunk began: at most three
         * bytes to the boundary the SIMD checks start from. */
        uint64_t key = ff_mask_key64(mask, offset);
        const uint8_t *k = (const uint8_t *)&key;
        for (; s != FF_UTF8_ACCEPT && i < n; i++) {
            dst[i] = src[i] ^ k[i & 7];
            s = ff_utf8_step(s, dst[i]);
            if (s == FF_UTF8_REJECT) {
                ff_mask_at(level, dst + i + 1, src + i + 1, n - i - 1, mask, offset + i + 1);
                *state = s;
                return i;
            }
        }
        if (i == n) {
            *state = s;
            return n;
        }
    }
    size_t b = i + fused(dst + i, src + i, n - i, ff_mask_key64(mask, offset + i));
    *state = FF_UTF8_ACCEPT;
    if (b == n)
        return n;
    return b + ff_utf8_validate_at(level, state, dst + b, n - b);
}

/* The entry point the modules use: the dispatcher's level. */
static inline size_t ff_unmask_utf8(uint32_t *state, uint8_t *dst, const uint8_t *src, size_t n,
                                    const uint8_t mask[4], size_t offset)
{
    return ff_unmask_utf8_at(FF_LEVEL_AUTO, state, dst, src, n, mask, offset);
}

#endif /* FF_UNMASK_UTF8_H */
