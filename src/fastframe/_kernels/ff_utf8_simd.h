/* SIMD UTF-8 validation after Lemire & Keiser, "Validating UTF-8 in less
 * than one instruction per byte" (Software: Practice and Experience, 2021).
 *
 * Every byte is checked against the three bytes before it.  Most errors are
 * a property of one pair (previous byte, byte): a lead not followed by a
 * continuation, a continuation with nothing to continue, an overlong
 * 2-byte form, E0 80..9F (overlong), ED A0..BF (a surrogate), F0 80..8F
 * (overlong), F4 90..BF and F5..FF (past U+10FFFF).  Each such pair is found
 * by three 16-entry lookups, one per nibble — the high and low nibble of
 * the previous byte and the high nibble of the byte — ANDed together: a
 * bit survives only when all three nibbles belong to its error class.  The
 * one error that needs more context, a continuation that is or is not the
 * third or fourth byte of a sequence, is read off the bytes two and three
 * back (>= E0, >= F0).  A block of 64 bytes is one unit: all ASCII, it only
 * has to confirm that the previous block did not end inside a sequence;
 * otherwise its first bytes are checked against the last three of the
 * previous block, carried over in `prev`.
 *
 * The kernels answer one question fast: how long a prefix of p[0..n) is
 * certainly valid and ends on a code point boundary.  They return n for
 * valid, complete text; otherwise a boundary before the first block in
 * which they found an error (or before the end, for text cut inside a code
 * point).  The exact failure position, and the automaton state at a chunk's
 * end, come from the scalar automaton of ff_utf8.h run from there: it has
 * at most a block and a few bytes to go.  So the SIMD kernels only need to
 * be sound (never call invalid text valid); the incremental contract —
 * fail at the first impossible byte, code points split across chunks —
 * stays the automaton's.
 */
#ifndef FF_UTF8_SIMD_H
#define FF_UTF8_SIMD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "ff_cpu.h"

/* Error classes, one bit each (two classes share 0x40: they never meet in
 * the same lookups). */
#define FF_U8_TOO_SHORT 0x01   /* lead byte, then something that is not a continuation */
#define FF_U8_TOO_LONG 0x02    /* ASCII, then a continuation */
#define FF_U8_OVERLONG_3 0x04  /* E0 80..9F */
#define FF_U8_TOO_LARGE 0x08   /* F4 90..BF, or F5..FF then a continuation */
#define FF_U8_SURROGATE 0x10   /* ED A0..BF */
#define FF_U8_OVERLONG_2 0x20  /* C0, C1 then a continuation */
#define FF_U8_TOO_LARGE_1000 0x40 /* F5..FF 80..8F (F4 80..8F is fine) */
#define FF_U8_OVERLONG_4 0x40  /* F0 80..8F */
#define FF_U8_TWO_CONTS 0x80   /* two continuations: right only as the 3rd or 4th byte */
#define FF_U8_CARRY (FF_U8_TOO_SHORT | FF_U8_TOO_LONG | FF_U8_TWO_CONTS)

/* Classes by the high nibble of the previous byte. */
static const uint8_t ff_u8_prev_high[16] = {
    FF_U8_TOO_LONG, FF_U8_TOO_LONG, FF_U8_TOO_LONG, FF_U8_TOO_LONG, /* 0_ ASCII */
    FF_U8_TOO_LONG, FF_U8_TOO_LONG, FF_U8_TOO_LONG, FF_U8_TOO_LONG,
    FF_U8_TWO_CONTS, FF_U8_TWO_CONTS, FF_U8_TWO_CONTS, FF_U8_TWO_CONTS, /* 8_..B_ continuation */
    FF_U8_TOO_SHORT | FF_U8_OVERLONG_2,                                 /* C_ */
    FF_U8_TOO_SHORT,                                                    /* D_ */
    FF_U8_TOO_SHORT | FF_U8_OVERLONG_3 | FF_U8_SURROGATE,               /* E_ */
    FF_U8_TOO_SHORT | FF_U8_TOO_LARGE | FF_U8_TOO_LARGE_1000 | FF_U8_OVERLONG_4, /* F_ */
};

/* Classes by the low nibble of the previous byte: which lead of a row. */
static const uint8_t ff_u8_prev_low[16] = {
    FF_U8_CARRY | FF_U8_OVERLONG_3 | FF_U8_OVERLONG_2 | FF_U8_OVERLONG_4, /* C0, E0, F0 */
    FF_U8_CARRY | FF_U8_OVERLONG_2,                                       /* C1 */
    FF_U8_CARRY,
    FF_U8_CARRY,
    FF_U8_CARRY | FF_U8_TOO_LARGE,                                        /* F4 */
    FF_U8_CARRY | FF_U8_TOO_LARGE | FF_U8_TOO_LARGE_1000,                 /* F5.. */
    FF_U8_CARRY | FF_U8_TOO_LARGE | FF_U8_TOO_LARGE_1000,
    FF_U8_CARRY | FF_U8_TOO_LARGE | FF_U8_TOO_LARGE_1000,
    FF_U8_CARRY | FF_U8_TOO_LARGE | FF_U8_TOO_LARGE_1000,
    FF_U8_CARRY | FF_U8_TOO_LARGE | FF_U8_TOO_LARGE_1000,
    FF_U8_CARRY | FF_U8_TOO_LARGE | FF_U8_TOO_LARGE_1000,
    FF_U8_CARRY | FF_U8_TOO_LARGE | FF_U8_TOO_LARGE_1000,
    FF_U8_CARRY | FF_U8_TOO_LARGE | FF_U8_TOO_LARGE_1000,
    FF_U8_CARRY | FF_U8_TOO_LARGE | FF_U8_TOO_LARGE_1000 | FF_U8_SURROGATE, /* ED */
    FF_U8_CARRY | FF_U8_TOO_LARGE | FF_U8_TOO_LARGE_1000,
    FF_U8_CARRY | FF_U8_TOO_LARGE | FF_U8_TOO_LARGE_1000,
};

/* Classes by the high nibble of the byte itself. */
static const uint8_t ff_u8_cur_high[16] = {
    FF_U8_TOO_SHORT, FF_U8_TOO_SHORT, FF_U8_TOO_SHORT, FF_U8_TOO_SHORT, /* 0_ ASCII */
    FF_U8_TOO_SHORT, FF_U8_TOO_SHORT, FF_U8_TOO_SHORT, FF_U8_TOO_SHORT,
    /* 8_ */
    FF_U8_TOO_LONG | FF_U8_OVERLONG_2 | FF_U8_TWO_CONTS | FF_U8_OVERLONG_3 | FF_U8_TOO_LARGE_1000 | FF_U8_OVERLONG_4,
    /* 9_ */
    FF_U8_TOO_LONG | FF_U8_OVERLONG_2 | FF_U8_TWO_CONTS | FF_U8_OVERLONG_3 | FF_U8_TOO_LARGE,
    /* A_, B_ */
    FF_U8_TOO_LONG | FF_U8_OVERLONG_2 | FF_U8_TWO_CONTS | FF_U8_SURROGATE | FF_U8_TOO_LARGE,
    FF_U8_TOO_LONG | FF_U8_OVERLONG_2 | FF_U8_TWO_CONTS | FF_U8_SURROGATE | FF_U8_TOO_LARGE,
    FF_U8_TOO_SHORT, FF_U8_TOO_SHORT, FF_U8_TOO_SHORT, FF_U8_TOO_SHORT, /* C_..F_ leads */
};

/* For the end of a block: 0xFF except its last three bytes, which a byte
 * must exceed to start a sequence the block does not finish (>= F0 three
 * from the end, >= E0 two from it, >= C0 last). */
#define FF_U8_INCOMPLETE_3 (0xF0 - 1)
#define FF_U8_INCOMPLETE_2 (0xE0 - 1)
#define FF_U8_INCOMPLETE_1 (0xC0 - 1)

/* The boundary the kernels return when they stop at the block starting at
 * `i` (0 < i < n): the start of the last code point that begins before i.
 * Everything before it passed the checks of earlier blocks, including the
 * check that this code point's lead follows a complete sequence, so
 * p[0..boundary) is valid and complete. */
static inline size_t ff_utf8_simd_stop(const uint8_t *p, size_t i)
{
    if (i == 0)
        return 0;
    i--;
    while (i > 0 && (p[i] & 0xC0) == 0x80)
        i--;
    return i;
}

/* ---- The block checks ------------------------------------------------------
 *
 * One function per level, ff_u8_check_block_<level>(k, block, &carry, last),
 * checks a 64-byte block, given as that level's vectors, against the three
 * bytes before it: the validators below and the fused unmask+validate
 * kernels of ff_unmask_utf8.h call it on the bytes they loaded (or unmasked),
 * and differ only in where those come from and in what they do on an error.
 * It returns nonzero if the block has an error, or if `last` and the block
 * ends inside a code point, and updates the carry for the next block: the
 * block's last bytes, and which of them start a sequence the block does not
 * finish (so that an all-ASCII block after them fails).  The block is
 * zero-padded past the end of the text (zeros are ASCII), except where a
 * kernel passes the last 64 bytes again, overlapping, with the carry of the
 * bytes before them.  ff_u8_init_<level> sets the constants, and the carry
 * before the first block (as after ASCII).  All are forced inline: in the
 * hot loops they must not be calls.
 */

/* ---- SSSE3: 16-byte vectors, four per block ------------------------------ */
#ifdef FF_HAVE_AVX
typedef struct {
    __m128i prev_high, prev_low, cur_high, nibble, sub3, sub4, high_bit, incomplete;
} ff_u8_consts128;

/* The last vector of the block before, and its unfinished-sequence bits. */
typedef struct {
    __m128i prev, incomplete;
} ff_u8_carry128;

FF_TARGET("ssse3")
static FF_ALWAYS_INLINE void ff_u8_init_ssse3(ff_u8_consts128 *k, ff_u8_carry128 *carry)
{
    k->prev_high = _mm_loadu_si128((const __m128i *)ff_u8_prev_high);
    k->prev_low = _mm_loadu_si128((const __m128i *)ff_u8_prev_low);
    k->cur_high = _mm_loadu_si128((const __m128i *)ff_u8_cur_high);
    k->nibble = _mm_set1_epi8(0x0F);
    k->sub3 = _mm_set1_epi8((char)(0xE0 - 0x80));
    k->sub4 = _mm_set1_epi8((char)(0xF0 - 0x80));
    k->high_bit = _mm_set1_epi8((char)0x80);
    k->incomplete = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, (char)FF_U8_INCOMPLETE_3,
                                  (char)FF_U8_INCOMPLETE_2, (char)FF_U8_INCOMPLETE_1);
    carry->prev = carry->incomplete = _mm_setzero_si128();
}

FF_TARGET("ssse3")
static FF_ALWAYS_INLINE __m128i ff_u8_check128(const ff_u8_consts128 *k, __m128i in, __m128i prev)
{
    __m128i prev1 = _mm_alignr_epi8(in, prev, 15);
    __m128i sc = _mm_and_si128(
        _mm_and_si128(_mm_shuffle_epi8(k->prev_high, _mm_and_si128(_mm_srli_epi16(prev1, 4), k->nibble)),
                      _mm_shuffle_epi8(k->prev_low, _mm_and_si128(prev1, k->nibble))),
        _mm_shuffle_epi8(k->cur_high, _mm_and_si128(_mm_srli_epi16(in, 4), k->nibble)));
    __m128i prev2 = _mm_alignr_epi8(in, prev, 14);
    __m128i prev3 = _mm_alignr_epi8(in, prev, 13);
    __m128i must23 = _mm_or_si128(_mm_subs_epu8(prev2, k->sub3), _mm_subs_epu8(prev3, k->sub4));
    return _mm_xor_si128(_mm_and_si128(must23, k->high_bit), sc);
}

FF_TARGET("ssse3")
static FF_ALWAYS_INLINE int ff_u8_check_block_ssse3(const ff_u8_consts128 *k, __m128i a, __m128i b, __m128i c,
                                                     __m128i d, ff_u8_carry128 *carry, int last)
{
    const __m128i zero = _mm_setzero_si128();
    __m128i err;
    if (!_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, d)))) {
        err = carry->incomplete;
        carry->incomplete = zero;
    } else {
        err = _mm_or_si128(_mm_or_si128(ff_u8_check128(k, a, carry->prev), ff_u8_check128(k, b, a)),
                           _mm_or_si128(ff_u8_check128(k, c, b), ff_u8_check128(k, d, c)));
        carry->incomplete = _mm_subs_epu8(d, k->incomplete);
    }
    carry->prev = d;
    if (last)
        err = _mm_or_si128(err, carry->incomplete);
    return _mm_movemask_epi8(_mm_cmpeq_epi8(err, zero)) != 0xFFFF;
}

FF_TARGET("ssse3")
static size_t ff_utf8_simd_ssse3(const uint8_t *p, size_t n)
{
    ff_u8_consts128 k;
    ff_u8_carry128 carry;
    ff_u8_init_ssse3(&k, &carry);
    uint8_t tail[64];
    size_t i = 0;
    for (;;) {
        const uint8_t *q = p + i;
        int last = n - i <= 64;
        if (n - i < 64) {
            /* Zeros after the text: ASCII, so a sequence the text leaves
             * unfinished shows up as a lead without its continuations. */
            memset(tail, 0, sizeof tail);
            if (n > i)
                memcpy(tail, q, n - i);
            q = tail;
        }
        __m128i a = _mm_loadu_si128((const __m128i *)q);
        __m128i b = _mm_loadu_si128((const __m128i *)(q + 16));
        __m128i c = _mm_loadu_si128((const __m128i *)(q + 32));
        __m128i d = _mm_loadu_si128((const __m128i *)(q + 48));
        if (ff_u8_check_block_ssse3(&k, a, b, c, d, &carry, last))
            return ff_utf8_simd_stop(p, i);
        if (last)
            return n;
        i += 64;
    }
}

/* ---- AVX2: 32-byte vectors, two per block -------------------------------- */
typedef struct {
    __m256i prev_high, prev_low, cur_high, nibble, sub3, sub4, high_bit, incomplete;
} ff_u8_consts256;

typedef struct {
    __m256i prev, incomplete;
} ff_u8_carry256;

FF_TARGET("avx2")
static FF_ALWAYS_INLINE void ff_u8_init_avx2(ff_u8_consts256 *k, ff_u8_carry256 *carry)
{
    k->prev_high = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)ff_u8_prev_high));
    k->prev_low = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)ff_u8_prev_low));
    k->cur_high = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)ff_u8_cur_high));
    k->nibble = _mm256_set1_epi8(0x0F);
    k->sub3 = _mm256_set1_epi8((char)(0xE0 - 0x80));
    k->sub4 = _mm256_set1_epi8((char)(0xF0 - 0x80));
    k->high_bit = _mm256_set1_epi8((char)0x80);
    k->incomplete = _mm256_setr_epi8(-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
                                     -1, -1, -1, -1, -1, -1, -1, -1, -1, (char)FF_U8_INCOMPLETE_3,
                                     (char)FF_U8_INCOMPLETE_2, (char)FF_U8_INCOMPLETE_1);
    FF_OPAQUE(k->nibble);
    FF_OPAQUE(k->sub3);
    FF_OPAQUE(k->sub4);
    FF_OPAQUE(k->high_bit);
    carry->prev = carry->incomplete = _mm256_setzero_si256();
}

/* `in` shifted right by N bytes across both lanes, with the last N bytes of
 * `prev` shifted in. */
#define FF_U8_PREV256(in, prev, N) _mm256_alignr_epi8((in), _mm256_permute2x128_si256((prev), (in), 0x21), 16 - (N))

/* From p + j, 128 bytes a step while they are all ASCII and the step fits
 * in n: the start of the first step that is not (or of the last bytes).
 * Only the OR of the bytes matters there, so this reads at the speed of a
 * plain scan. */
FF_TARGET("avx2")
static FF_ALWAYS_INLINE size_t ff_u8_skip_ascii_avx2(const uint8_t *p, size_t j, size_t n)
{
    while (j + 128 <= n) {
        __m256i o = _mm256_or_si256(_mm256_or_si256(_mm256_loadu_si256((const __m256i *)(p + j)),
                                                    _mm256_loadu_si256((const __m256i *)(p + j + 32))),
                                    _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(p + j + 64)),
                                                    _mm256_loadu_si256((const __m256i *)(p + j + 96))));
        if (_mm256_movemask_epi8(o))
            break;
        j += 128;
    }
    return j;
}

FF_TARGET("avx2")
static FF_ALWAYS_INLINE __m256i ff_u8_check256(const ff_u8_consts256 *k, __m256i in, __m256i prev)
{
    __m256i prev1 = FF_U8_PREV256(in, prev, 1);
    __m256i sc = _mm256_and_si256(
        _mm256_and_si256(
            _mm256_shuffle_epi8(k->prev_high, _mm256_and_si256(_mm256_srli_epi16(prev1, 4), k->nibble)),
            _mm256_shuffle_epi8(k->prev_low, _mm256_and_si256(prev1, k->nibble))),
        _mm256_shuffle_epi8(k->cur_high, _mm256_and_si256(_mm256_srli_epi16(in, 4), k->nibble)));
    __m256i prev2 = FF_U8_PREV256(in, prev, 2);
    __m256i prev3 = FF_U8_PREV256(in, prev, 3);
    __m256i must23 = _mm256_or_si256(_mm256_subs_epu8(prev2, k->sub3), _mm256_subs_epu8(prev3, k->sub4));
    return _mm256_xor_si256(_mm256_and_si256(must23, k->high_bit), sc);
}

FF_TARGET("avx2")
static FF_ALWAYS_INLINE int ff_u8_check_block_avx2(const ff_u8_consts256 *k, __m256i a, __m256i b,
                                                    ff_u8_carry256 *carry, int last)
{
    __m256i err;
    if (!_mm256_movemask_epi8(_mm256_or_si256(a, b))) {
        err = carry->incomplete;
        carry->incomplete = _mm256_setzero_si256();
    } else {
        err = _mm256_or_si256(ff_u8_check256(k, a, carry->prev), ff_u8_check256(k, b, a));
        carry->incomplete = _mm256_subs_epu8(b, k->incomplete);
    }
    carry->prev = b;
    if (last)
        err = _mm256_or_si256(err, carry->incomplete);
    return !_mm256_testz_si256(err, err);
}

FF_TARGET("avx2")
static size_t ff_utf8_simd_avx2(const uint8_t *p, size_t n)
{
    ff_u8_consts256 k;
    ff_u8_carry256 carry;
    ff_u8_init_avx2(&k, &carry);
    uint8_t tail[64];
    size_t i = 0;
    for (;;) {
        const uint8_t *q = p + i;
        int last = n - i <= 64;
        if (n - i < 64) {
            if (n >= 96) {
                /* The last 64 bytes of the text as one block, overlapping
                 * the block before: the checks are a function of each byte
                 * and the three before it, so checking bytes again changes
                 * nothing, and `prev` holds the real bytes before the block.
                 * No zero padding, no copy: a 125-byte message is two
                 * blocks (bench/test_bench_utf8.py, validate_utf8 mixed
                 * 125B).  If this block is ASCII, prev_incomplete is zero:
                 * a sequence the previous block left unfinished would have
                 * a byte in this block, which overlaps its last three. */
                q = p + n - 64;
                carry.prev = _mm256_loadu_si256((const __m256i *)(q - 32));
            } else {
                memset(tail, 0, sizeof tail);
                if (n > i)
                    memcpy(tail, q, n - i);
                q = tail;
            }
        }
        __m256i a = _mm256_loadu_si256((const __m256i *)q);
        __m256i b = _mm256_loadu_si256((const __m256i *)(q + 32));
        if (!_mm256_movemask_epi8(_mm256_or_si256(a, b)) && !last &&
            _mm256_testz_si256(carry.incomplete, carry.incomplete)) {
            /* A run of ASCII: resume the checks at the first block that is
             * not ASCII (the ASCII before it needs no carry). */
            carry.prev = _mm256_setzero_si256();
            i = ff_u8_skip_ascii_avx2(p, i + 64, n);
            continue;
        }
        if (ff_u8_check_block_avx2(&k, a, b, &carry, last))
            return ff_utf8_simd_stop(p, i);
        if (last)
            return n;
        i += 64;
    }
}

/* ---- AVX-512 (F, BW; VBMI where present): one 64-byte vector per block ---- */

typedef struct {
    __m512i prev_high, prev_low, cur_high, nibble, sub3, sub4, high_bit, incomplete, idx, before1, before2, before3;
} ff_u8_consts512;

typedef struct {
    __m512i prev, incomplete;
} ff_u8_carry512;

FF_TARGET_AVX512
static FF_ALWAYS_INLINE void ff_u8_init_avx512(ff_u8_consts512 *k, ff_u8_carry512 *carry)
{
    k->prev_high = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)ff_u8_prev_high));
    k->prev_low = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)ff_u8_prev_low));
    k->cur_high = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)ff_u8_cur_high));
    k->nibble = _mm512_set1_epi8(0x0F);
    k->sub3 = _mm512_set1_epi8((char)(0xE0 - 0x80));
    k->sub4 = _mm512_set1_epi8((char)(0xF0 - 0x80));
    k->high_bit = _mm512_set1_epi8((char)0x80);
    /* 64-bit elements 8..15 name the second operand: prev's last lane, then in's lanes 0..2. */
    k->idx = _mm512_setr_epi64(14, 15, 0, 1, 2, 3, 4, 5);
    /* Byte j of `in` N bytes back, for VBMI's two-source byte permute: byte
     * j - N of `in`, or for the first N, byte 64 - N + j of `prev` (bit 6
     * names the second source). */
    uint8_t before[3][64];
    for (int back = 1; back <= 3; back++)
        for (int j = 0; j < 64; j++)
            before[back - 1][j] = (uint8_t)(j >= back ? j - back : 128 - back + j);
    k->before1 = _mm512_loadu_si512((const void *)before[0]);
    k->before2 = _mm512_loadu_si512((const void *)before[1]);
    k->before3 = _mm512_loadu_si512((const void *)before[2]);
    uint8_t limits[64];
    memset(limits, 0xFF, sizeof limits);
    limits[61] = FF_U8_INCOMPLETE_3;
    limits[62] = FF_U8_INCOMPLETE_2;
    limits[63] = FF_U8_INCOMPLETE_1;
    k->incomplete = _mm512_loadu_si512((const void *)limits);
    carry->prev = carry->incomplete = _mm512_setzero_si512();
}

/* The bytes 1, 2 and 3 places before each byte of `in`, the first ones from
 * the end of `prev`.  F and BW shift bytes only within 16-byte lanes: a
 * permute of 64-bit elements builds the lane before each lane, then one
 * alignr per distance.  VBMI permutes bytes across the vector, one vpermt2b
 * per distance: a shuffle fewer per block, where the shuffle unit is what
 * limits the block's throughput. */
#define FF_U8_PREVS_BW(k, in, prev, prev1, prev2, prev3)                          \
    do {                                                                           \
        __m512i before_ = _mm512_permutex2var_epi64((in), (k)->idx, (prev));       \
        prev1 = _mm512_alignr_epi8((in), before_, 15);                             \
        prev2 = _mm512_alignr_epi8((in), before_, 14);                             \
        prev3 = _mm512_alignr_epi8((in), before_, 13);                             \
    } while (0)
#define FF_U8_PREVS_VBMI(k, in, prev, prev1, prev2, prev3)                        \
    do {                                                                           \
        prev1 = _mm512_permutex2var_epi8((in), (k)->before1, (prev));              \
        prev2 = _mm512_permutex2var_epi8((in), (k)->before2, (prev));              \
        prev3 = _mm512_permutex2var_epi8((in), (k)->before3, (prev));              \
    } while (0)

/* The block check, once per way of finding the bytes before: VBMI's
 * intrinsics may only be inlined into functions compiled for VBMI, so each
 * way is its own function (and so is each kernel below that calls one). */
#define FF_U8_CHECK_BLOCK_AVX512(NAME, TARGET, PREVS)                                                          \
    TARGET static FF_ALWAYS_INLINE int NAME(const ff_u8_consts512 *k, __m512i in, ff_u8_carry512 *carry,       \
                                            int last)                                                          \
    {                                                                                                          \
        __m512i err;                                                                                           \
        if (!_mm512_movepi8_mask(in)) {                                                                        \
            err = carry->incomplete;                                                                           \
            carry->incomplete = _mm512_setzero_si512();                                                        \
        } else {                                                                                               \
            __m512i prev1, prev2, prev3;                                                                       \
            PREVS(k, in, carry->prev, prev1, prev2, prev3);                                                    \
            __m512i sc = _mm512_and_si512(                                                                     \
                _mm512_and_si512(                                                                              \
                    _mm512_shuffle_epi8(k->prev_high, _mm512_and_si512(_mm512_srli_epi16(prev1, 4), k->nibble)), \
                    _mm512_shuffle_epi8(k->prev_low, _mm512_and_si512(prev1, k->nibble))),                     \
                _mm512_shuffle_epi8(k->cur_high, _mm512_and_si512(_mm512_srli_epi16(in, 4), k->nibble)));      \
            __m512i must23 = _mm512_or_si512(_mm512_subs_epu8(prev2, k->sub3), _mm512_subs_epu8(prev3, k->sub4)); \
            err = _mm512_xor_si512(_mm512_and_si512(must23, k->high_bit), sc);                                 \
            carry->incomplete = _mm512_subs_epu8(in, k->incomplete);                                           \
        }                                                                                                      \
        carry->prev = in;                                                                                      \
        if (last)                                                                                              \
            err = _mm512_or_si512(err, carry->incomplete);                                                     \
        return _mm512_test_epi8_mask(err, err) != 0;                                                           \
    }
FF_U8_CHECK_BLOCK_AVX512(ff_u8_check_block_avx512, FF_TARGET_AVX512, FF_U8_PREVS_BW)
FF_U8_CHECK_BLOCK_AVX512(ff_u8_check_block_avx512vbmi, FF_TARGET_AVX512VBMI, FF_U8_PREVS_VBMI)

#define FF_UTF8_SIMD_AVX512(NAME, TARGET, CHECK)                                                               \
    TARGET static size_t NAME(const uint8_t *p, size_t n)                                                      \
    {                                                                                                          \
        ff_u8_consts512 k;                                                                                     \
        ff_u8_carry512 carry;                                                                                  \
        ff_u8_init_avx512(&k, &carry);                                                                         \
        size_t i = 0;                                                                                          \
        for (;;) {                                                                                             \
            int last = n - i <= 64;                                                                            \
            __m512i in;                                                                                        \
            if (n - i < 64) /* masked-off bytes read as zero: ASCII */                                         \
                in = _mm512_maskz_loadu_epi8((__mmask64)((((uint64_t)1) << (n - i)) - 1), (const void *)(p + i)); \
            else                                                                                               \
                in = _mm512_loadu_si512((const void *)(p + i));                                                \
            if (!_mm512_movepi8_mask(in) && !last && !_mm512_test_epi8_mask(carry.incomplete, carry.incomplete)) { \
                /* A run of ASCII: read ahead as a plain scan does (see the AVX2 kernel). */                   \
                size_t j = i + 64;                                                                             \
                while (j + 256 <= n) {                                                                         \
                    __m512i o = _mm512_or_si512(                                                               \
                        _mm512_or_si512(_mm512_loadu_si512((const void *)(p + j)),                             \
                                        _mm512_loadu_si512((const void *)(p + j + 64))),                       \
                        _mm512_or_si512(_mm512_loadu_si512((const void *)(p + j + 128)),                       \
                                        _mm512_loadu_si512((const void *)(p + j + 192))));                     \
                    if (_mm512_movepi8_mask(o))                                                                \
                        break;                                                                                 \
                    j += 256;                                                                                  \
                }                                                                                              \
                carry.prev = _mm512_setzero_si512();                                                           \
                i = j;                                                                                         \
                continue;                                                                                      \
            }                                                                                                  \
            if (CHECK(&k, in, &carry, last))                                                                   \
                return ff_utf8_simd_stop(p, i);                                                                \
            if (last)                                                                                          \
                return n;                                                                                      \
            i += 64;                                                                                           \
        }                                                                                                      \
    }
FF_UTF8_SIMD_AVX512(ff_utf8_simd_avx512, FF_TARGET_AVX512, ff_u8_check_block_avx512)
FF_UTF8_SIMD_AVX512(ff_utf8_simd_avx512vbmi, FF_TARGET_AVX512VBMI, ff_u8_check_block_avx512vbmi)

#endif /* FF_HAVE_AVX */

/* ---- NEON: 16-byte vectors, four per block ------------------------------- */
#ifdef FF_ARM64
typedef struct {
    uint8x16_t prev_high, prev_low, cur_high, incomplete;
} ff_u8_consts_neon;

typedef struct {
    uint8x16_t prev, incomplete;
} ff_u8_carry_neon;

static FF_ALWAYS_INLINE void ff_u8_init_neon(ff_u8_consts_neon *k, ff_u8_carry_neon *carry)
{
    static const uint8_t limits[16] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                       FF_U8_INCOMPLETE_3, FF_U8_INCOMPLETE_2, FF_U8_INCOMPLETE_1};
    k->prev_high = vld1q_u8(ff_u8_prev_high);
    k->prev_low = vld1q_u8(ff_u8_prev_low);
    k->cur_high = vld1q_u8(ff_u8_cur_high);
    k->incomplete = vld1q_u8(limits);
    carry->prev = carry->incomplete = vdupq_n_u8(0);
}

static FF_ALWAYS_INLINE uint8x16_t ff_u8_check_neon(const ff_u8_consts_neon *k, uint8x16_t in, uint8x16_t prev)
{
    const uint8x16_t nibble = vdupq_n_u8(0x0F);
    uint8x16_t prev1 = vextq_u8(prev, in, 15);
    uint8x16_t sc = vandq_u8(vandq_u8(vqtbl1q_u8(k->prev_high, vshrq_n_u8(prev1, 4)),
                                      vqtbl1q_u8(k->prev_low, vandq_u8(prev1, nibble))),
                             vqtbl1q_u8(k->cur_high, vshrq_n_u8(in, 4)));
    uint8x16_t must23 = vorrq_u8(vqsubq_u8(vextq_u8(prev, in, 14), vdupq_n_u8(0xE0 - 0x80)),
                                 vqsubq_u8(vextq_u8(prev, in, 13), vdupq_n_u8(0xF0 - 0x80)));
    return veorq_u8(vandq_u8(must23, vdupq_n_u8(0x80)), sc);
}

static FF_ALWAYS_INLINE int ff_u8_check_block_neon(const ff_u8_consts_neon *k, uint8x16_t a, uint8x16_t b,
                                                   uint8x16_t c, uint8x16_t d, ff_u8_carry_neon *carry, int last)
{
    uint8x16_t err;
    if (vmaxvq_u8(vorrq_u8(vorrq_u8(a, b), vorrq_u8(c, d))) < 0x80) {
        err = carry->incomplete;
        carry->incomplete = vdupq_n_u8(0);
    } else {
        err = vorrq_u8(vorrq_u8(ff_u8_check_neon(k, a, carry->prev), ff_u8_check_neon(k, b, a)),
                       vorrq_u8(ff_u8_check_neon(k, c, b), ff_u8_check_neon(k, d, c)));
        carry->incomplete = vqsubq_u8(d, k->incomplete);
    }
    carry->prev = d;
    if (last)
        err = vorrq_u8(err, carry->incomplete);
    return vmaxvq_u8(err) != 0;
}

static size_t ff_utf8_simd_neon(const uint8_t *p, size_t n)
{
    ff_u8_consts_neon k;
    ff_u8_carry_neon carry;
    ff_u8_init_neon(&k, &carry);
    uint8_t tail[64];
    size_t i = 0;
    for (;;) {
        const uint8_t *q = p + i;
        int last = n - i <= 64;
        if (n - i < 64) {
            memset(tail, 0, sizeof tail);
            if (n > i)
                memcpy(tail, q, n - i);
            q = tail;
        }
        uint8x16_t a = vld1q_u8(q), b = vld1q_u8(q + 16), c = vld1q_u8(q + 32), d = vld1q_u8(q + 48);
        if (ff_u8_check_block_neon(&k, a, b, c, d, &carry, last))
            return ff_utf8_simd_stop(p, i);
        if (last)
            return n;
        i += 64;
    }
}
#endif /* FF_ARM64 */

typedef size_t (*ff_utf8_simd_fn)(const uint8_t *, size_t);

/* The validating kernel of a SIMD level (see ff_cpu.h), or NULL where the
 * level has none (scalar; SSE2 without SSSE3): the automaton then runs
 * alone, skipping ASCII with ff_ascii_kernel. */
static inline ff_utf8_simd_fn ff_utf8_simd_kernel(int level)
{
    switch (level) {
#ifdef FF_HAVE_AVX
    case FF_LEVEL_AVX512: return ff_cpu_has(FF_CPU_AVX512VBMI) ? ff_utf8_simd_avx512vbmi : ff_utf8_simd_avx512;
    case FF_LEVEL_AVX2: return ff_utf8_simd_avx2;
    /* SSSE3 is not part of the x86-64 baseline (the first AMD64 CPUs lack
     * it): the SSE2 level runs this kernel only where CPUID lists it. */
    case FF_LEVEL_SSE2: return ff_cpu_has(FF_CPU_SSSE3) ? ff_utf8_simd_ssse3 : NULL;
#endif
#ifdef FF_ARM64
    case FF_LEVEL_NEON: return ff_utf8_simd_neon;
#endif
    default: return NULL;
    }
}

/* Name of a validating kernel, for fastframe.KERNELS and the tests. */
static inline const char *ff_utf8_simd_name(ff_utf8_simd_fn fn)
{
#ifdef FF_HAVE_AVX
    if (fn == ff_utf8_simd_avx512vbmi) return "avx512vbmi";
    if (fn == ff_utf8_simd_avx512) return "avx512";
    if (fn == ff_utf8_simd_avx2) return "avx2";
    if (fn == ff_utf8_simd_ssse3) return "ssse3";
#endif
#ifdef FF_ARM64
    if (fn == ff_utf8_simd_neon) return "neon";
#endif
    (void)fn;
    return NULL;
}

#endif /* FF_UTF8_SIMD_H */
