/* XOR (un)masking of WebSocket payloads (RFC 6455 §5.3).
 *
 *   dst[i] = src[i] ^ mask[(i + offset) % 4]
 *
 * `offset` is the position of src[0] within the masked payload, so a payload
 * that arrives in chunks is unmasked chunk by chunk.  dst may equal src (in
 * place) but must not otherwise overlap it.  Any alignment, any length.
 *
 * Small inputs take an inline scalar path (no indirect call); from 64 bytes
 * on, the kernel of the SIMD level ff_cpu_level() chose runs: AVX-512
 * (64 B/step), AVX2 (32 B/step), SSE2 (16 B/step, the x86-64 baseline),
 * NEON, or 8-byte words.
 */
#ifndef FF_MASK_H
#define FF_MASK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "ff_cpu.h"

/* The key as 8 bytes of mask pattern starting at `offset`: the 4-byte key
 * rotated by `offset % 4` bytes, then doubled.  A rotation instead of eight
 * byte loads and shifts, because every call pays for it, the 16-byte frame
 * as much as the megabyte.  "First byte in memory" is the low byte on a
 * little-endian CPU and the high byte on a big-endian one, hence the two
 * directions. */
static inline uint64_t ff_mask_key64(const uint8_t mask[4], size_t offset)
{
    uint32_t k;
    memcpy(&k, mask, 4);
    unsigned r = (unsigned)(offset & 3) * 8;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    k = r ? (k << r) | (k >> (32 - r)) : k;
#else
    k = r ? (k >> r) | (k << (32 - r)) : k;
#endif
    return ((uint64_t)k << 32) | k;
}

/* Scalar tail/short path: 8-byte words, a 4-byte word, then bytes.  `key` is the
 * 8-byte pattern aligned to src[0]. */
static inline void ff_mask_words(uint8_t *dst, const uint8_t *src, size_t n, uint64_t key)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, src + i, 8);
        w ^= key;
        memcpy(dst + i, &w, 8);
    }
    /* i is a multiple of 8 here, so the pattern restarts at src + i: its
     * first 4 bytes in memory mask the next 4 bytes, on any endianness.  A
     * 125-byte frame ends in 5 bytes; one word and one byte, not five. */
    const uint8_t *k = (const uint8_t *)&key;
    if (n - i >= 4) {
        uint32_t w, k4;
        memcpy(&w, src + i, 4);
        memcpy(&k4, k, 4);
        w ^= k4;
        memcpy(dst + i, &w, 4);
        i += 4;
    }
    for (; i < n; i++)
        dst[i] = src[i] ^ k[i & 7];
}

/* The key pattern for data that starts `skip` bytes further on.  The SIMD
 * kernels are x86 (little-endian): byte j of the value is bits 8j..8j+7,
 * and the pattern has period 4, so a rotation right by whole bytes works. */
static inline uint64_t ff_mask_advance(uint64_t key, size_t skip)
{
    unsigned r = (unsigned)(skip & 3) * 8;
    return r ? (key >> r) | (key << (64 - r)) : key;
}

/* Loads run ahead of the stores still in flight.  When dst is a little
 * ahead of src modulo 4 KiB, a load's address matches a pending store's in
 * its low 12 bits, the CPU assumes the load depends on the store and
 * replays it ("4K aliasing"), which shows in apply_mask at 16 KiB
 * (bench/test_bench_mask.py::test_apply_mask, 16KiB) whenever the allocator
 * puts the output from 48 B to 1 KiB past the input.  Walking the buffer
 * from its end then keeps the loads clear of the stores; with src ahead of
 * dst the forward walk is the clear one.  In place, dst == src: nothing
 * aliases. */
static inline int ff_mask_walk_backward(const uint8_t *dst, const uint8_t *src)
{
    size_t ahead = ((uintptr_t)dst - (uintptr_t)src) & 4095;
    return ahead != 0 && ahead < 2048;
}

/* A test program may define FF_MASK_COUNT_WALK(backward) before including
 * this header to count which way the kernels walked (tests/c/mask_distances.c);
 * every kernel invokes it once per call. */
#ifndef FF_MASK_COUNT_WALK
#define FF_MASK_COUNT_WALK(backward) ((void)0)
#endif

#ifdef FF_HAVE_SSE2
static void ff_mask_sse2(uint8_t *dst, const uint8_t *src, size_t n, uint64_t key)
{
    __m128i k = _mm_set1_epi64x((long long)key);
    size_t i = 0;
    FF_MASK_COUNT_WALK(0);
    for (; i + 64 <= n; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(src + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(src + i + 48));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
        _mm_storeu_si128((__m128i *)(dst + i + 16), _mm_xor_si128(b, k));
        _mm_storeu_si128((__m128i *)(dst + i + 32), _mm_xor_si128(c, k));
        _mm_storeu_si128((__m128i *)(dst + i + 48), _mm_xor_si128(d, k));
    }
    for (; i + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        _mm_storeu_si128((__m128i *)(dst + i), _mm_xor_si128(a, k));
    }
    /* i is a multiple of 16, so the pattern is still aligned to dst + i. */
    ff_mask_words(dst + i, src + i, n - i, key);
}
#endif

#ifdef FF_HAVE_AVX
FF_TARGET("avx2")
static void ff_mask_avx2(uint8_t *dst, const uint8_t *src, size_t n, uint64_t key)
{
    if (n >= 256) {
        /* A store that splits a cache line costs two; align dst to 32. */
        size_t head = (32 - ((uintptr_t)dst & 31)) & 31;
        ff_mask_words(dst, src, head, key);
        key = ff_mask_advance(key, head);
        dst += head;
        src += head;
        n -= head;
    }
    __m256i k = _mm256_set1_epi64x((long long)key);
    size_t body = n & ~(size_t)31;
    if (n >= 256 && ff_mask_walk_backward(dst, src)) {
        size_t i = body;
        FF_MASK_COUNT_WALK(1);
        for (; i >= 128; i -= 128) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(src + i - 128));
            __m256i b = _mm256_loadu_si256((const __m256i *)(src + i - 96));
            __m256i c = _mm256_loadu_si256((const __m256i *)(src + i - 64));
            __m256i d = _mm256_loadu_si256((const __m256i *)(src + i - 32));
            _mm256_storeu_si256((__m256i *)(dst + i - 128), _mm256_xor_si256(a, k));
            _mm256_storeu_si256((__m256i *)(dst + i - 96), _mm256_xor_si256(b, k));
            _mm256_storeu_si256((__m256i *)(dst + i - 64), _mm256_xor_si256(c, k));
            _mm256_storeu_si256((__m256i *)(dst + i - 32), _mm256_xor_si256(d, k));
        }
        for (; i >= 32; i -= 32) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(src + i - 32));
            _mm256_storeu_si256((__m256i *)(dst + i - 32), _mm256_xor_si256(a, k));
        }
    } else {
        size_t i = 0;
        FF_MASK_COUNT_WALK(0);
        for (; i + 128 <= body; i += 128) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
            __m256i b = _mm256_loadu_si256((const __m256i *)(src + i + 32));
            __m256i c = _mm256_loadu_si256((const __m256i *)(src + i + 64));
            __m256i d = _mm256_loadu_si256((const __m256i *)(src + i + 96));
            _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
            _mm256_storeu_si256((__m256i *)(dst + i + 32), _mm256_xor_si256(b, k));
            _mm256_storeu_si256((__m256i *)(dst + i + 64), _mm256_xor_si256(c, k));
            _mm256_storeu_si256((__m256i *)(dst + i + 96), _mm256_xor_si256(d, k));
        }
        for (; i < body; i += 32) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(src + i));
            _mm256_storeu_si256((__m256i *)(dst + i), _mm256_xor_si256(a, k));
        }
    }
    /* body is a multiple of 32, so the pattern is still aligned to dst + body. */
    ff_mask_words(dst + body, src + body, n - body, key);
}

FF_TARGET_AVX512
static void ff_mask_avx512(uint8_t *dst, const uint8_t *src, size_t n, uint64_t key)
{
    __m512i k = _mm512_set1_epi64((long long)key);
    if (n >= 512) {
        /* A 64-byte store into a buffer aligned to 16 (as malloc returns)
         * splits a cache line every time and costs two: align dst to 64.
         * The edges take 8-byte words, not masked AVX-512 stores: those
         * cost more than the words on Zen 4, enough to fall behind the AVX2
         * kernel at 1 KiB (bench/test_bench_mask.py::test_mask_inplace, 1KiB). */
        size_t head = (64 - ((uintptr_t)dst & 63)) & 63;
        if (head) {
            ff_mask_words(dst, src, head, key);
            key = ff_mask_advance(key, head);
            k = _mm512_set1_epi64((long long)key);
            dst += head;
            src += head;
            n -= head;
        }
    }
    size_t body = n & ~(size_t)63;
    if (n >= 512 && ff_mask_walk_backward(dst, src)) {
        size_t i = body;
        FF_MASK_COUNT_WALK(1);
        for (; i >= 256; i -= 256) {
            __m512i a = _mm512_loadu_si512((const void *)(src + i - 256));
            __m512i b = _mm512_loadu_si512((const void *)(src + i - 192));
            __m512i c = _mm512_loadu_si512((const void *)(src + i - 128));
            __m512i d = _mm512_loadu_si512((const void *)(src + i - 64));
            _mm512_storeu_si512((void *)(dst + i - 256), _mm512_xor_si512(a, k));
            _mm512_storeu_si512((void *)(dst + i - 192), _mm512_xor_si512(b, k));
            _mm512_storeu_si512((void *)(dst + i - 128), _mm512_xor_si512(c, k));
            _mm512_storeu_si512((void *)(dst + i - 64), _mm512_xor_si512(d, k));
        }
        for (; i >= 64; i -= 64) {
            __m512i a = _mm512_loadu_si512((const void *)(src + i - 64));
            _mm512_storeu_si512((void *)(dst + i - 64), _mm512_xor_si512(a, k));
        }
    } else {
        size_t i = 0;
        FF_MASK_COUNT_WALK(0);
        for (; i + 256 <= body; i += 256) {
            __m512i a = _mm512_loadu_si512((const void *)(src + i));
            __m512i b = _mm512_loadu_si512((const void *)(src + i + 64));
            __m512i c = _mm512_loadu_si512((const void *)(src + i + 128));
            __m512i d = _mm512_loadu_si512((const void *)(src + i + 192));
            _mm512_storeu_si512((void *)(dst + i), _mm512_xor_si512(a, k));
            _mm512_storeu_si512((void *)(dst + i + 64), _mm512_xor_si512(b, k));
            _mm512_storeu_si512((void *)(dst + i + 128), _mm512_xor_si512(c, k));
            _mm512_storeu_si512((void *)(dst + i + 192), _mm512_xor_si512(d, k));
        }
        for (; i < body; i += 64) {
            __m512i a = _mm512_loadu_si512((const void *)(src + i));
            _mm512_storeu_si512((void *)(dst + i), _mm512_xor_si512(a, k));
        }
    }
    /* body is a multiple of 64, so the pattern is still aligned to dst + body. */
    if (n - body >= 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(src + body));
        _mm256_storeu_si256((__m256i *)(dst + body), _mm256_xor_si256(a, _mm512_castsi512_si256(k)));
        body += 32;
    }
    ff_mask_words(dst + body, src + body, n - body, key);
}
#endif

#ifdef FF_ARM64
static void ff_mask_neon(uint8_t *dst, const uint8_t *src, size_t n, uint64_t key)
{
    uint8x16_t k = vreinterpretq_u8_u64(vdupq_n_u64(key));
    size_t i = 0;
    FF_MASK_COUNT_WALK(0);
    for (; i + 64 <= n; i += 64) {
        uint8x16_t a = vld1q_u8(src + i);
        uint8x16_t b = vld1q_u8(src + i + 16);
        uint8x16_t c = vld1q_u8(src + i + 32);
        uint8x16_t d = vld1q_u8(src + i + 48);
        vst1q_u8(dst + i, veorq_u8(a, k));
        vst1q_u8(dst + i + 16, veorq_u8(b, k));
        vst1q_u8(dst + i + 32, veorq_u8(c, k));
        vst1q_u8(dst + i + 48, veorq_u8(d, k));
    }
    for (; i + 16 <= n; i += 16)
        vst1q_u8(dst + i, veorq_u8(vld1q_u8(src + i), k));
    ff_mask_words(dst + i, src + i, n - i, key);
}
#endif

/* The scalar kernel: the 8-byte word loop, under its own name so that the
 * walk counter below sees it as a kernel. */
static void ff_mask_scalar(uint8_t *dst, const uint8_t *src, size_t n, uint64_t key)
{
    FF_MASK_COUNT_WALK(0);
    ff_mask_words(dst, src, n, key);
}

typedef void (*ff_mask_fn)(uint8_t *, const uint8_t *, size_t, uint64_t);

/* The masking kernel of a SIMD level (see ff_cpu.h), or the next narrower one. */
static inline ff_mask_fn ff_mask_kernel(int level)
{
    switch (level) {
#ifdef FF_HAVE_AVX
    case FF_LEVEL_AVX512: return ff_mask_avx512;
    case FF_LEVEL_AVX2: return ff_mask_avx2;
#endif
#ifdef FF_HAVE_SSE2
    case FF_LEVEL_SSE2: return ff_mask_sse2;
#endif
#ifdef FF_ARM64
    case FF_LEVEL_NEON: return ff_mask_neon;
#endif
    default: return ff_mask_scalar;
    }
}

/* Name of the masking kernel the dispatcher chose: avx512, avx2, sse2, neon or scalar. */
static inline const char *ff_mask_kernel_name(void)
{
    ff_mask_fn fn = ff_mask_kernel(ff_cpu_level());
    (void)fn; /* unused where only the portable kernel is compiled */
#ifdef FF_HAVE_AVX
    if (fn == ff_mask_avx512) return "avx512";
    if (fn == ff_mask_avx2) return "avx2";
#endif
#ifdef FF_HAVE_SSE2
    if (fn == ff_mask_sse2) return "sse2";
#endif
#ifdef FF_ARM64
    if (fn == ff_mask_neon) return "neon";
#endif
    return "scalar";
}

/* ff_mask at an explicit SIMD level (FF_LEVEL_AUTO: the dispatcher's), for
 * tests and fuzzers that go through every level the CPU has in one process.
 * The caller must not name a level the CPU lacks. */
static inline void ff_mask_at(int level, uint8_t *dst, const uint8_t *src, size_t n,
                              const uint8_t mask[4], size_t offset)
{
    uint64_t key = ff_mask_key64(mask, offset);
    if (n < 64)
        ff_mask_words(dst, src, n, key);
    else
        ff_mask_kernel(level == FF_LEVEL_AUTO ? ff_cpu_level() : level)(dst, src, n, key);
}

/* The entry point every module uses; see the comment at the top. */
static inline void ff_mask(uint8_t *dst, const uint8_t *src, size_t n,
                           const uint8_t mask[4], size_t offset)
{
    ff_mask_at(FF_LEVEL_AUTO, dst, src, n, mask, offset);
}

#endif /* FF_MASK_H */
