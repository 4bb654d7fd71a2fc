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
 * one step is a load, a shift and a mask, with no branch.  From 32 bytes
 * on a code point boundary, the SIMD validator of the level ff_cpu_level()
 * chose (ff_utf8_simd.h) takes over and hands back to the automaton only for
 * the last block of an invalid or unfinished chunk, so that the automaton
 * alone decides where the text fails and in which state a chunk ends.
 * Where a level has no SIMD validator, runs of ASCII are skipped by the
 * ASCII kernel of that level.
 */
#ifndef FF_UTF8_H
#define FF_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "ff_cpu.h"
#include "ff_utf8_simd.h"

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

/* The transition table, written out: a const table cannot be used before it
 * is filled.  A row is the next state for every state on one byte value:
 * FF_UTF8_ROW takes the next state from ACCEPT, NEED1, NEED2, NEED3, E0, ED,
 * F0 and F4, in that order; REJECT always stays REJECT.  Thirteen kinds of
 * byte (RFC 3629 §4, the well-formed sequences), then 256 rows of them.
 * tests/c/kernel_checks.c checks every 1-, 2- and 3-byte sequence and the
 * 4-byte edges against a table of ranges written from the RFC. */
#define FF_UTF8_NEXT(state, next) ((uint64_t)(next) << (state))
#define FF_UTF8_ROW(accept, need1, need2, need3, e0, ed, f0, f4)                                       \
    (FF_UTF8_NEXT(FF_UTF8_ACCEPT, accept) | FF_UTF8_NEXT(FF_UTF8_REJECT, FF_UTF8_REJECT) |            \
     FF_UTF8_NEXT(FF_UTF8_NEED1, need1) | FF_UTF8_NEXT(FF_UTF8_NEED2, need2) |                        \
     FF_UTF8_NEXT(FF_UTF8_NEED3, need3) | FF_UTF8_NEXT(FF_UTF8_E0, e0) | FF_UTF8_NEXT(FF_UTF8_ED, ed) | \
     FF_UTF8_NEXT(FF_UTF8_F0, f0) | FF_UTF8_NEXT(FF_UTF8_F4, f4))
#define FF_UTF8_X_ FF_UTF8_REJECT
/* 00..7F: ASCII, only on a boundary. */
#define FF_UTF8_ASCII FF_UTF8_ROW(FF_UTF8_ACCEPT, FF_UTF8_X_, FF_UTF8_X_, FF_UTF8_X_, FF_UTF8_X_, FF_UTF8_X_, FF_UTF8_X_, FF_UTF8_X_)
/* 80..8F, 90..9F, A0..BF: continuation bytes; E0, ED, F0 and F4 take one part of the range each. */
#define FF_UTF8_CONT(e0, ed, f0, f4) \
    FF_UTF8_ROW(FF_UTF8_X_, FF_UTF8_ACCEPT, FF_UTF8_NEED1, FF_UTF8_NEED2, e0, ed, f0, f4)
#define FF_UTF8_C80 FF_UTF8_CONT(FF_UTF8_X_, FF_UTF8_NEED1, FF_UTF8_X_, FF_UTF8_NEED2)
#define FF_UTF8_C90 FF_UTF8_CONT(FF_UTF8_X_, FF_UTF8_NEED1, FF_UTF8_NEED2, FF_UTF8_X_)
#define FF_UTF8_CA0 FF_UTF8_CONT(FF_UTF8_NEED1, FF_UTF8_X_, FF_UTF8_NEED2, FF_UTF8_X_)
/* Lead bytes: valid only on a boundary, each starts its own state. */
#define FF_UTF8_LEAD(next) FF_UTF8_ROW(next, FF_UTF8_X_, FF_UTF8_X_, FF_UTF8_X_, FF_UTF8_X_, FF_UTF8_X_, FF_UTF8_X_, FF_UTF8_X_)
/* C0, C1 (overlong), F5..FF (past U+10FFFF): never valid. */
#define FF_UTF8_BAD FF_UTF8_LEAD(FF_UTF8_X_)
#define FF_UTF8_R2(r) r, r
#define FF_UTF8_R4(r) FF_UTF8_R2(r), FF_UTF8_R2(r)
#define FF_UTF8_R8(r) FF_UTF8_R4(r), FF_UTF8_R4(r)
#define FF_UTF8_R16(r) FF_UTF8_R8(r), FF_UTF8_R8(r)

static const uint64_t ff_utf8_table[] = {
    FF_UTF8_R16(FF_UTF8_ASCII), FF_UTF8_R16(FF_UTF8_ASCII), FF_UTF8_R16(FF_UTF8_ASCII), /* 00..2F */
    FF_UTF8_R16(FF_UTF8_ASCII), FF_UTF8_R16(FF_UTF8_ASCII), FF_UTF8_R16(FF_UTF8_ASCII), /* 30..5F */
    FF_UTF8_R16(FF_UTF8_ASCII), FF_UTF8_R16(FF_UTF8_ASCII),                             /* 60..7F */
    FF_UTF8_R16(FF_UTF8_C80),                                                           /* 80..8F */
    FF_UTF8_R16(FF_UTF8_C90),                                                           /* 90..9F */
    FF_UTF8_R16(FF_UTF8_CA0), FF_UTF8_R16(FF_UTF8_CA0),                                 /* A0..BF */
    FF_UTF8_R2(FF_UTF8_BAD),                                                            /* C0..C1 */
    FF_UTF8_R8(FF_UTF8_LEAD(FF_UTF8_NEED1)), FF_UTF8_R4(FF_UTF8_LEAD(FF_UTF8_NEED1)),   /* C2..CD */
    FF_UTF8_R2(FF_UTF8_LEAD(FF_UTF8_NEED1)), FF_UTF8_R16(FF_UTF8_LEAD(FF_UTF8_NEED1)),  /* CE..DF */
    FF_UTF8_LEAD(FF_UTF8_E0),                                                           /* E0 */
    FF_UTF8_R8(FF_UTF8_LEAD(FF_UTF8_NEED2)), FF_UTF8_R4(FF_UTF8_LEAD(FF_UTF8_NEED2)),   /* E1..EC */
    FF_UTF8_LEAD(FF_UTF8_ED),                                                           /* ED */
    FF_UTF8_R2(FF_UTF8_LEAD(FF_UTF8_NEED2)),                                            /* EE..EF */
    FF_UTF8_LEAD(FF_UTF8_F0),                                                           /* F0 */
    FF_UTF8_R2(FF_UTF8_LEAD(FF_UTF8_NEED3)), FF_UTF8_LEAD(FF_UTF8_NEED3),               /* F1..F3 */
    FF_UTF8_LEAD(FF_UTF8_F4),                                                           /* F4 */
    FF_UTF8_R8(FF_UTF8_BAD), FF_UTF8_R2(FF_UTF8_BAD), FF_UTF8_BAD,                      /* F5..FF */
};
/* A row too few would leave FF with all-zero transitions, to ACCEPT: fail the build instead. */
typedef char ff_utf8_table_has_256_rows[sizeof ff_utf8_table == 256 * sizeof(uint64_t) ? 1 : -1];

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

FF_TARGET_AVX512
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

/* The ASCII kernel of a SIMD level (see ff_cpu.h), or the next narrower one;
 * no NEON kernel yet: arm64 takes the 8-byte words. */
static inline ff_ascii_fn ff_ascii_kernel(int level)
{
    switch (level) {
#ifdef FF_HAVE_AVX
    case FF_LEVEL_AVX512: return ff_ascii_prefix_avx512;
    case FF_LEVEL_AVX2: return ff_ascii_prefix_avx2;
#endif
#ifdef FF_HAVE_SSE2
    case FF_LEVEL_SSE2: return ff_ascii_prefix_sse2;
#endif
    default: return ff_ascii_prefix_words;
    }
}

/* Name of the UTF-8 kernel the dispatcher chose: the SIMD validator
 * (avx512, avx2, ssse3, neon), else the ASCII kernel the automaton uses
 * (sse2, scalar). */
static inline const char *ff_utf8_kernel_at(int level)
{
    const char *simd = ff_utf8_simd_name(ff_utf8_simd_kernel(level));
    if (simd != NULL)
        return simd;
#ifdef FF_HAVE_SSE2
    if (ff_ascii_kernel(level) == ff_ascii_prefix_sse2) return "sse2";
#endif
    return "scalar";
}

static inline const char *ff_utf8_kernel_name(void)
{
    return ff_utf8_kernel_at(ff_cpu_level());
}

/* Chunks from this size go to the SIMD validator: below it, the automaton
 * with its ASCII skip is as fast (bench/test_bench_utf8.py, the token cases). */
#define FF_UTF8_SIMD_MIN 32

static inline size_t ff_ascii_prefix(int level, const uint8_t *p, size_t n)
{
    /* Short strings (chat, AI tokens) stay inline: no indirect call. */
    if (n < 32)
        return ff_ascii_prefix_words(p, n);
    return ff_ascii_kernel(level == FF_LEVEL_AUTO ? ff_cpu_level() : level)(p, n);
}

/* Advance the automaton in *state over p[0..n).
 *
 * Returns n if every byte was accepted, else the index of the first byte
 * that made the stream invalid; *state is then FF_UTF8_REJECT.  A stream is
 * valid UTF-8 when it ends with *state == FF_UTF8_ACCEPT.  `level` picks the
 * SIMD level of the validator and of the ASCII kernel (FF_LEVEL_AUTO: the
 * dispatcher's; tests and fuzzers name each level the CPU has);
 * ff_utf8_validate() below is the entry point the modules use.
 */
static inline size_t ff_utf8_validate_at(int level, uint32_t *state, const uint8_t *p, size_t n)
{
    uint32_t s = *state;
    size_t i = 0;
    if (s == FF_UTF8_REJECT)
        return 0;
    if (level == FF_LEVEL_AUTO)
        level = ff_cpu_level();
    /* NULL once the SIMD validator has had its turn: what it leaves (at
     * most its last block and a few bytes) is the automaton's. */
    ff_utf8_simd_fn simd = n >= FF_UTF8_SIMD_MIN ? ff_utf8_simd_kernel(level) : NULL;
    while (i < n) {
        if (s == FF_UTF8_ACCEPT) {
            size_t left = n - i;
            if (simd != NULL && left >= FF_UTF8_SIMD_MIN) {
                i += simd(p + i, left);
                simd = NULL;
                if (i == n)
                    break;
                continue;
            }
            /* Take the ASCII kernel only for a real run of ASCII: in mixed
             * text, calling it for the odd space between letters costs more
             * than it saves. */
            if (left >= 16) {
                uint64_t a, b;
                memcpy(&a, p + i, 8);
                memcpy(&b, p + i + 8, 8);
                if (!((a | b) & UINT64_C(0x8080808080808080))) {
                    i += 16 + ff_ascii_prefix(level, p + i + 16, left - 16);
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

static inline size_t ff_utf8_validate(uint32_t *state, const uint8_t *p, size_t n)
{
    return ff_utf8_validate_at(FF_LEVEL_AUTO, state, p, n);
}

static inline int ff_utf8_is_valid(const uint8_t *p, size_t n)
{
    uint32_t s = FF_UTF8_ACCEPT;
    return ff_utf8_validate(&s, p, n) == n && s == FF_UTF8_ACCEPT;
}

#endif /* FF_UTF8_H */
