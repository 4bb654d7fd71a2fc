/* Strict UTF-8 validation (RFC 3629 §4), one-shot and incremental.
 *
 * The validator is a deterministic automaton over the well-formed byte
 * sequences of RFC 3629 §4: no overlong forms, no surrogates (ED A0..BF),
 * nothing above U+10FFFF.  Because it rejects at the first byte that no
 * valid continuation can follow, an incremental caller fails fast, also in
 * the middle of a code point (ED A0, F4 90 fail at their second byte).
 *
 * The automaton is a "shift DFA": each state is a bit offset (a multiple of
 * 6) and ff_utf8_table[byte] packs the next state for every current state, so
 * one step is a load, a shift and a mask, with no branch.  Runs of ASCII
 * (the common case: JSON, English, protocol text) are skipped by a SIMD
 * kernel chosen at import.  A full SIMD validator can replace
 * ff_utf8_validate() without changing its contract.
 */
#ifndef FF_UTF8_H
#define FF_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "ff_cpu.h"

enum {
    FF_UTF8_ACCEPT = 0,   /* on a code point boundary */
    FF_UTF8_REJECT = 6,   /* absorbing: the stream can never become valid */
    FF_UTF8_NEED1 = 12,   /* one continuation byte 80..BF to go */
    FF_UTF8_NEED2 = 18,   /* two continuation bytes to go */
    FF_UTF8_NEED3 = 24,   /* three continuation bytes to go */
    FF_UTF8_E0 = 30,      /* after E0: A0..BF (else overlong), then one more */
    FF_UTF8_ED = 36,      /* after ED: 80..9F (else a surrogate), then one more */
    FF_UTF8_F0 = 42,      /* after F0: 90..BF (else overlong), then two more */
    FF_UTF8_F4 = 48       /* after F4: 80..8F (else > U+10FFFF), then two more */
};

static uint64_t ff_utf8_table[256];

static void ff_utf8_set(int state, int lo, int hi, int next)
{
    for (int b = lo; b <= hi; b++) {
        ff_utf8_table[b] &= ~((uint64_t)63 << state);
        ff_utf8_table[b] |= (uint64_t)next << state;
    }
}

static void ff_utf8_build_table(void)
{
    /* Everything not listed below rejects. */
    for (int b = 0; b < 256; b++) {
        uint64_t row = 0;
        for (int s = 0; s <= FF_UTF8_F4; s += 6)
            row |= (uint64_t)FF_UTF8_REJECT << s;
        ff_utf8_table[b] = row;
    }
    ff_utf8_set(FF_UTF8_ACCEPT, 0x00, 0x7F, FF_UTF8_ACCEPT);
    ff_utf8_set(FF_UTF8_ACCEPT, 0xC2, 0xDF, FF_UTF8_NEED1);
    ff_utf8_set(FF_UTF8_ACCEPT, 0xE0, 0xE0, FF_UTF8_E0);
    ff_utf8_set(FF_UTF8_ACCEPT, 0xE1, 0xEC, FF_UTF8_NEED2);
    ff_utf8_set(FF_UTF8_ACCEPT, 0xED, 0xED, FF_UTF8_ED);
    ff_utf8_set(FF_UTF8_ACCEPT, 0xEE, 0xEF, FF_UTF8_NEED2);
    ff_utf8_set(FF_UTF8_ACCEPT, 0xF0, 0xF0, FF_UTF8_F0);
    ff_utf8_set(FF_UTF8_ACCEPT, 0xF1, 0xF3, FF_UTF8_NEED3);
    ff_utf8_set(FF_UTF8_ACCEPT, 0xF4, 0xF4, FF_UTF8_F4);
    ff_utf8_set(FF_UTF8_NEED1, 0x80, 0xBF, FF_UTF8_ACCEPT);
    ff_utf8_set(FF_UTF8_NEED2, 0x80, 0xBF, FF_UTF8_NEED1);
    ff_utf8_set(FF_UTF8_NEED3, 0x80, 0xBF, FF_UTF8_NEED2);
    ff_utf8_set(FF_UTF8_E0, 0xA0, 0xBF, FF_UTF8_NEED1);
    ff_utf8_set(FF_UTF8_ED, 0x80, 0x9F, FF_UTF8_NEED1);
    ff_utf8_set(FF_UTF8_F0, 0x90, 0xBF, FF_UTF8_NEED2);
    ff_utf8_set(FF_UTF8_F4, 0x80, 0x8F, FF_UTF8_NEED2);
}

static inline uint32_t ff_utf8_step(uint32_t state, uint8_t byte)
{
    return (uint32_t)(ff_utf8_table[byte] >> state) & 63;
}

/* The same step on a 64-bit state whose low 6 bits are the state and whose
 * other bits are left-over garbage: x86 and arm64 shifts use only the low 6
 * bits of the count, so the compiler drops the `& 63` and one step is a
 * single shift on the dependency chain, twice as fast as with the mask. */
static inline uint64_t ff_utf8_step_fast(uint64_t state, uint8_t byte)
{
    return ff_utf8_table[byte] >> (state & 63);
}

/* ---- ASCII prefix: index of the first byte >= 0x80, or n ------------- */

static inline size_t ff_ascii_prefix_words(const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w & UINT64_C(0x8080808080808080))
            break;
    }
    while (i < n && p[i] < 0x80)
        i++;
    return i;
}

#ifdef FF_HAVE_SSE2
static size_t ff_ascii_prefix_sse2(const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(p + i + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(p + i + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(p + i + 48));
        __m128i o = _mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d));
        if (_mm_movemask_epi8(o))
            break;
    }
    for (; i + 16 <= n; i += 16) {
        int m = _mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(p + i)));
        if (m)
            return i + (size_t)ff_ctz32((uint32_t)m);
    }
    return i + ff_ascii_prefix_words(p + i, n - i);
}
#endif

#ifdef FF_HAVE_AVX
FF_TARGET("avx2")
static size_t ff_ascii_prefix_avx2(const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 128 <= n; i += 128) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(p + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(p + i + 32));
        __m256i c = _mm256_loadu_si256((const __m256i *)(p + i + 64));
        __m256i d = _mm256_loadu_si256((const __m256i *)(p + i + 96));
        __m256i o = _mm256_or_si256(_mm256_or_si256(a, b), _mm256_or_si256(c, d));
        if (_mm256_movemask_epi8(o))
            break;
    }
    for (; i + 32 <= n; i += 32) {
        unsigned m = (unsigned)_mm256_movemask_epi8(_mm256_loadu_si256((const __m256i *)(p + i)));
        if (m)
            return i + (size_t)ff_ctz32(m);
    }
    return i + ff_ascii_prefix_words(p + i, n - i);
}

FF_TARGET("avx512f,avx512bw")
static size_t ff_ascii_prefix_avx512(const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 256 <= n; i += 256) {
        __m512i a = _mm512_loadu_si512((const void *)(p + i));
        __m512i b = _mm512_loadu_si512((const void *)(p + i + 64));
        __m512i c = _mm512_loadu_si512((const void *)(p + i + 128));
        __m512i d = _mm512_loadu_si512((const void *)(p + i + 192));
        __m512i o = _mm512_or_si512(_mm512_or_si512(a, b), _mm512_or_si512(c, d));
        if (_mm512_movepi8_mask(o))
            break;
    }
    for (; i + 64 <= n; i += 64) {
        uint64_t m = (uint64_t)_mm512_movepi8_mask(_mm512_loadu_si512((const void *)(p + i)));
        if (m)
            return i + (size_t)ff_ctz64(m);
    }
    if (i < n) {
        __mmask64 k = (__mmask64)((((uint64_t)1) << (n - i)) - 1); /* n - i < 64 */
        uint64_t m = (uint64_t)_mm512_movepi8_mask(_mm512_maskz_loadu_epi8(k, (const void *)(p + i)));
        return m ? i + (size_t)ff_ctz64(m) : n;
    }
    return n;
}
#endif

typedef size_t (*ff_ascii_fn)(const uint8_t *, size_t);
static ff_ascii_fn ff_ascii_kernel = ff_ascii_prefix_words;
static const char *ff_utf8_kernel_name = "scalar";

/* Build the automaton and pick the ASCII kernel; call once at import.
 * Inline only so that a module including this header unused is not warned. */
static inline void ff_utf8_init(void)
{
    int f = ff_cpu_features_capped();
    (void)f;
    ff_utf8_build_table();
    ff_ascii_kernel = ff_ascii_prefix_words;
    ff_utf8_kernel_name = "scalar";
#ifdef FF_HAVE_SSE2
    if (f & FF_CPU_SSE2) { ff_ascii_kernel = ff_ascii_prefix_sse2; ff_utf8_kernel_name = "sse2"; }
#endif
#ifdef FF_HAVE_AVX
    if (f & FF_CPU_AVX2) { ff_ascii_kernel = ff_ascii_prefix_avx2; ff_utf8_kernel_name = "avx2"; }
    if (f & FF_CPU_AVX512) { ff_ascii_kernel = ff_ascii_prefix_avx512; ff_utf8_kernel_name = "avx512"; }
#endif
}

static inline size_t ff_ascii_prefix(const uint8_t *p, size_t n)
{
    /* Short strings (chat, AI tokens) stay inline: no indirect call. */
    if (n < 32)
        return ff_ascii_prefix_words(p, n);
    return ff_ascii_kernel(p, n);
}

/* Advance the automaton in *state over p[0..n).
 *
 * Returns n if every byte was accepted, else the index of the first byte
 * that made the stream invalid; *state is then FF_UTF8_REJECT.  A stream is
 * valid UTF-8 when it ends with *state == FF_UTF8_ACCEPT.
 */
static inline size_t ff_utf8_validate(uint32_t *state, const uint8_t *p, size_t n)
{
    uint32_t s = *state;
    size_t i = 0;
    if (s == FF_UTF8_REJECT)
        return 0;
    while (i < n) {
        if (s == FF_UTF8_ACCEPT) {
            /* Take the ASCII kernel only for a real run of ASCII: in mixed
             * text, calling it for the odd space between letters costs more
             * than it saves. */
            size_t left = n - i;
            if (left >= 16) {
                uint64_t a, b;
                memcpy(&a, p + i, 8);
                memcpy(&b, p + i + 8, 8);
                if (!((a | b) & UINT64_C(0x8080808080808080))) {
                    i += 16 + ff_ascii_prefix(p + i + 16, left - 16);
                    continue;
                }
            } else if (p[i] < 0x80) {
                i += ff_ascii_prefix_words(p + i, left);
                if (i == n)
                    break;
            }
        }
        /* Run the automaton without a branch per byte over a block; REJECT
         * is absorbing, so one check after the block finds any failure. */
        size_t start = i;
        uint32_t s0 = s;
        size_t end = (n - i > 16) ? i + 16 : n;
        uint64_t t = s;
        for (; i < end; i++)
            t = ff_utf8_step_fast(t, p[i]);
        s = (uint32_t)(t & 63);
        if (s == FF_UTF8_REJECT) {
            s = s0;
            for (i = start;; i++) {
                s = ff_utf8_step(s, p[i]);
                if (s == FF_UTF8_REJECT) {
                    *state = s;
                    return i;
                }
            }
        }
    }
    *state = s;
    return n;
}

static inline int ff_utf8_is_valid(const uint8_t *p, size_t n)
{
    uint32_t s = FF_UTF8_ACCEPT;
    return ff_utf8_validate(&s, p, n) == n && s == FF_UTF8_ACCEPT;
}

#endif /* FF_UTF8_H */
