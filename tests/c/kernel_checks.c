/* Checks the C kernels against references written here from the
 * specifications, not from the kernels: masking against RFC 6455 §5.3,
 * UTF-8 validation against RFC 3629 §4 (the well-formed byte sequences, as a
 * table of ranges), UTF-8 decoding against a decoder that computes each code
 * point and rejects overlong forms, surrogates and values past U+10FFFF by
 * value (Unicode §3.9, D92), headers against the §5.2 layout, and the SIMD
 * dispatcher's FASTFRAME_SIMD caps against a table.  Portable C, so that the same
 * program runs natively and, cross-compiled, under qemu-user on arm64
 * (NEON) and on a big-endian CPU (s390x), where the extension modules are
 * never built here.
 *
 * Run with FASTFRAME_SIMD set to pick the kernel.  Prints one JSON line:
 * {"mask_kernel", "utf8_kernel", "big_endian", "checks", "errors"}; exits 1
 * on any error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ff_decode.h"
#include "ff_header.h"
#include "ff_mask.h"
#include "ff_unmask_utf8.h"
#include "ff_utf8.h"

#include "checks.h"

/* ---- masking: §5.3, byte i XOR mask[(offset + i) % 4] -------------------- */

#define GUARD 32

static void check_mask(void)
{
    static const size_t long_lengths[] = {511, 512, 513, 1023, 1024, 1025, 4097, 65536 + 3};
    size_t max_n = 65536 + 3;
    uint8_t *src = malloc(max_n + 64), *buf = malloc(max_n + 64 + 2 * GUARD), *expect = malloc(max_n);
    if (!src || !buf || !expect)
        exit(2);
    for (size_t k = 0; k < 300 + sizeof long_lengths / sizeof long_lengths[0]; k++) {
        size_t n = k < 300 ? k : long_lengths[k - 300];
        size_t aligns = n < 4096 ? 64 : 4;
        for (size_t align = 0; align < aligns; align++) {
            size_t offset = (n + align) & 3;
            uint8_t mask[4] = {(uint8_t)rng(), (uint8_t)rng(), (uint8_t)rng(), (uint8_t)rng()};
            uint8_t *s = src + align, *d = buf + GUARD + ((align * 5) & 63);
            for (size_t i = 0; i < n; i++) {
                s[i] = (uint8_t)rng();
                expect[i] = s[i] ^ mask[(offset + i) % 4];
            }
            /* Out of place, with guard bytes around the output. */
            memset(d - GUARD, 0x5A, n + 2 * GUARD);
            ff_mask(d, s, n, mask, offset);
            int ok = memcmp(d, expect, n) == 0;
            for (size_t i = 0; i < GUARD; i++)
                ok &= d[-1 - (ptrdiff_t)i] == 0x5A && d[n + i] == 0x5A;
            CHECK(ok, "ff_mask out of place: n=%zu align=%zu offset=%zu", n, align, offset);
            /* In place. */
            ff_mask(s, s, n, mask, offset);
            CHECK(memcmp(s, expect, n) == 0, "ff_mask in place: n=%zu align=%zu offset=%zu", n, align, offset);
            /* In chunks: each chunk's offset is its position in the payload. */
            if (n >= 2) {
                memcpy(d, s, n);
                size_t cut = 1 + (size_t)(rng() % (n - 1));
                ff_mask(d, d, cut, mask, offset);
                ff_mask(d + cut, d + cut, n - cut, mask, offset + cut);
                ff_mask(d, d, n, mask, offset); /* unmask the whole, back to expect */
                CHECK(memcmp(d, expect, n) == 0, "ff_mask chunked: n=%zu cut=%zu", n, cut);
            }
        }
    }
    free(src);
    free(buf);
    free(expect);
}

/* ---- UTF-8: RFC 3629 §4 / Unicode Table 3-7 ------------------------------ */

/* Second-byte ranges by lead byte; every later byte is 80..BF. */
static int ref_sequence(uint8_t lead, uint8_t *lo, uint8_t *hi, int *len)
{
    *lo = 0x80, *hi = 0xBF;
    if (lead <= 0x7F) *len = 1;
    else if (lead >= 0xC2 && lead <= 0xDF) *len = 2;
    else if (lead == 0xE0) *len = 3, *lo = 0xA0;
    else if (lead >= 0xE1 && lead <= 0xEC) *len = 3;
    else if (lead == 0xED) *len = 3, *hi = 0x9F;
    else if (lead >= 0xEE && lead <= 0xEF) *len = 3;
    else if (lead == 0xF0) *len = 4, *lo = 0x90;
    else if (lead >= 0xF1 && lead <= 0xF3) *len = 4;
    else if (lead == 0xF4) *len = 4, *hi = 0x8F;
    else return 0;
    return 1;
}

/* Index of the first byte at which p[0..n) can no longer be the start of
 * valid UTF-8, or n; *complete tells whether it ends on a boundary. */
static size_t ref_utf8(const uint8_t *p, size_t n, int *complete)
{
    size_t i = 0;
    while (i < n) {
        uint8_t lo, hi;
        int len;
        if (!ref_sequence(p[i], &lo, &hi, &len)) {
            *complete = 0;
            return i;
        }
        for (int j = 1; j < len; j++) {
            if (i + (size_t)j >= n) {
                *complete = 0;
                return n;
            }
            uint8_t b = p[i + (size_t)j];
            if (j == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) {
                *complete = 0;
                return i + (size_t)j;
            }
        }
        i += (size_t)len;
    }
    *complete = 1;
    return n;
}

/* ---- UTF-8 decoding: Unicode §3.9 D92, by code point value --------------- */

/* Decodes p[0..n) into out (room for n code points); returns their number,
 * or -1 if p is not well-formed UTF-8.  Written from the definition by
 * value, not from the byte ranges the validator's references use. */
static long ref_decode(const uint8_t *p, size_t n, uint32_t *out)
{
    size_t i = 0;
    long count = 0;
    while (i < n) {
        uint8_t b = p[i];
        size_t len;
        uint32_t cp, min;
        if (b < 0x80) len = 1, cp = b, min = 0;
        else if ((b & 0xE0) == 0xC0) len = 2, cp = b & 0x1F, min = 0x80;
        else if ((b & 0xF0) == 0xE0) len = 3, cp = b & 0x0F, min = 0x800;
        else if ((b & 0xF8) == 0xF0) len = 4, cp = b & 0x07, min = 0x10000;
        else return -1;
        if (i + len > n)
            return -1;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return -1;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return -1;
        out[count++] = cp;
        i += len;
    }
    return count;
}

#define DECODE_MAX 700
#define DECODE_GUARD 16

/* The decoder against ref_decode on valid input; on any input, it stays
 * within the output measured for it (guard bytes) and the validator agrees
 * with ref_decode on what is valid. */
static void check_decode_one(const uint8_t *p, size_t n, const char *what)
{
    static uint32_t want[DECODE_MAX];
    static uint8_t buf[4 * DECODE_MAX + 2 * DECODE_GUARD];
    if (n > DECODE_MAX)
        exit(2);
    long ref = ref_decode(p, n, want);
    CHECK((ref >= 0) == ff_utf8_is_valid(p, n), "%s: n=%zu reference decoder valid=%d", what, n, ref >= 0);
    uint32_t maxchar;
    size_t count = ff_utf8_measure(p, n, &maxchar);
    int width = maxchar <= 0xFF ? 1 : maxchar <= 0xFFFF ? 2 : 4;
    uint8_t *out = buf + DECODE_GUARD;
    memset(buf, 0xA5, sizeof buf);
    size_t got = ff_utf8_decode_max(p, n, out, maxchar, count);
    int guards = 1;
    for (size_t i = 0; i < DECODE_GUARD; i++)
        guards &= buf[i] == 0xA5 && out[count * (size_t)width + i] == 0xA5;
    CHECK(guards && got <= count, "%s: n=%zu decoder wrote out of bounds (%zu of %zu)", what, n, got, count);
    if (ref < 0)
        return;
    uint32_t top = 0;
    for (long k = 0; k < ref; k++)
        top = want[k] > top ? want[k] : top;
    uint32_t want_max = top < 0x80 ? 0x7F : top < 0x100 ? 0xFF : top < 0x800 ? 0x7FF : top < 0x10000 ? 0xFFFF : 0x10FFFF;
    CHECK(count == (size_t)ref && maxchar == want_max, "%s: n=%zu measured %zu code points up to %x, want %ld up to %x",
          what, n, count, maxchar, ref, want_max);
    int same = got == count;
    for (size_t k = 0; same && k < count; k++) {
        uint32_t c = width == 1 ? out[k] : width == 2 ? ((uint16_t *)(void *)out)[k] : ((uint32_t *)(void *)out)[k];
        same = c == want[k];
    }
    CHECK(same, "%s: n=%zu decoded code points differ", what, n);
}

/* The SIMD validator of this run's level (ff_utf8_simd.h) on its own: it
 * returns n for valid, complete text, else a code point boundary b with
 * p[0..b) valid and complete, at most a block and a few bytes before the
 * first invalid byte (or before the end of unfinished text), so that the
 * automaton that takes over from b has little left to do. */
static void check_simd_one(const uint8_t *p, size_t n, size_t want, int complete, const char *what)
{
    ff_utf8_simd_fn simd = ff_utf8_simd_kernel(ff_cpu_level());
    if (simd == NULL)
        return;
    size_t b = simd(p, n);
    if (complete) {
        CHECK(b == n, "%s: SIMD n=%zu stopped at %zu in valid text", what, n, b);
        return;
    }
    int prefix_complete;
    CHECK(b < n && b <= want && ref_utf8(p, b, &prefix_complete) == b && prefix_complete && want - b <= 64 + 4,
          "%s: SIMD n=%zu returned %zu, first invalid byte %zu", what, n, b, want);
}

static void check_utf8_one(const uint8_t *p, size_t n, const char *what)
{
    int complete;
    size_t want = ref_utf8(p, n, &complete);
    check_simd_one(p, n, want, complete, what);
    uint32_t state = FF_UTF8_ACCEPT;
    size_t got = ff_utf8_validate(&state, p, n);
    int got_complete = got == n && state == FF_UTF8_ACCEPT;
    CHECK(got == want && got_complete == complete, "%s: n=%zu got %zu/%d, want %zu/%d", what, n, got,
          got_complete, want, complete);
    CHECK(ff_utf8_is_valid(p, n) == complete, "%s: ff_utf8_is_valid n=%zu", what, n);
    check_decode_one(p, n, what);
}

/* ---- unmasking and validating in one pass (ff_unmask_utf8.h) ------------- */

/* One masked text, fused, against §5.3 unmasking and ref_utf8: whole, in
 * place, and in two chunks cut at `cut` (the mask phase and the automaton
 * state carried across), with guard bytes around the output. */
static void check_unmask_utf8_one(const uint8_t *text, size_t n, size_t cut, size_t offset, const char *what)
{
    static uint8_t src[4200], buf[4200 + 2 * GUARD], inplace[4200];
    if (n > 4200 - 64)
        exit(2);
    uint8_t mask[4] = {(uint8_t)rng(), (uint8_t)rng(), (uint8_t)rng(), (uint8_t)rng()};
    size_t align = (size_t)(rng() % 32);
    uint8_t *s = src + align, *d = buf + GUARD + (size_t)(rng() % 32);
    for (size_t i = 0; i < n; i++)
        s[i] = text[i] ^ mask[(offset + i) % 4];
    int complete;
    size_t want = ref_utf8(text, n, &complete);

    memset(d - GUARD, 0x5A, n + 2 * GUARD);
    uint32_t state = FF_UTF8_ACCEPT;
    size_t got = ff_unmask_utf8(&state, d, s, n, mask, offset);
    int guards = 1;
    for (size_t i = 0; i < GUARD; i++)
        guards &= d[-1 - (ptrdiff_t)i] == 0x5A && d[n + i] == 0x5A;
    CHECK(guards && memcmp(d, text, n) == 0, "%s: fused n=%zu offset=%zu: unmasked bytes differ", what, n, offset);
    CHECK(got == want && (got == n && state == FF_UTF8_ACCEPT) == complete && (got == n || state == FF_UTF8_REJECT),
          "%s: fused n=%zu offset=%zu got %zu/%u, want %zu/%d", what, n, offset, got, state, want, complete);

    /* The fused kernel alone, as check_simd_one checks the validator: n
     * for valid text, else a boundary close before the first invalid byte. */
    ff_unmask_utf8_fn fused = ff_unmask_utf8_kernel(ff_cpu_level());
    if (fused != NULL) {
        size_t b = fused(d, s, n, ff_mask_key64(mask, offset));
        int prefix_complete;
        CHECK(memcmp(d, text, n) == 0 &&
                  (complete ? b == n
                            : b < n && b <= want && ref_utf8(text, b, &prefix_complete) == b && prefix_complete &&
                                  want - b <= 64 + 4),
              "%s: fused kernel n=%zu offset=%zu returned %zu, first invalid byte %zu", what, n, offset, b, want);
    }

    memcpy(inplace, s, n);
    state = FF_UTF8_ACCEPT;
    got = ff_unmask_utf8(&state, inplace, inplace, n, mask, offset);
    CHECK(memcmp(inplace, text, n) == 0 && got == want && (got == n && state == FF_UTF8_ACCEPT) == complete,
          "%s: fused in place n=%zu offset=%zu got %zu, want %zu", what, n, offset, got, want);

    /* Two chunks, as a frame arrives: the second starts `cut` bytes into
     * the payload, possibly inside a code point. */
    if (cut > n)
        cut = n;
    memset(d - GUARD, 0x5A, n + 2 * GUARD);
    state = FF_UTF8_ACCEPT;
    got = ff_unmask_utf8(&state, d, s, cut, mask, offset);
    if (got == cut) {
        got = cut + ff_unmask_utf8(&state, d + cut, s + cut, n - cut, mask, offset + cut);
    } else {
        ff_mask(d + cut, s + cut, n - cut, mask, offset + cut);
    }
    guards = 1;
    for (size_t i = 0; i < GUARD; i++)
        guards &= d[-1 - (ptrdiff_t)i] == 0x5A && d[n + i] == 0x5A;
    CHECK(guards && memcmp(d, text, n) == 0 && got == want && (got == n && state == FF_UTF8_ACCEPT) == complete,
          "%s: fused in chunks n=%zu cut=%zu offset=%zu got %zu/%u, want %zu/%d", what, n, cut, offset, got, state,
          want, complete);
}

static void check_utf8(void)
{
    uint8_t b[4];
    /* Every sequence of one, two and three bytes. */
    for (unsigned x = 0; x < 256; x++) {
        b[0] = (uint8_t)x;
        check_utf8_one(b, 1, "1 byte");
        for (unsigned y = 0; y < 256; y++) {
            b[1] = (uint8_t)y;
            check_utf8_one(b, 2, "2 bytes");
            for (unsigned z = 0; z < 256; z++) {
                b[2] = (uint8_t)z;
                check_utf8_one(b, 3, "3 bytes");
            }
        }
    }
    /* The same sequences at the end of a block of ASCII (for the SIMD
     * validators: their checks across blocks and at the end of the text):
     * two bytes ending at its last byte and just past it, three bytes
     * ending at its last byte. */
    uint8_t block[68]; /* room for a 4-byte sequence at 64 */
    memset(block, 'a', sizeof block);
    int simd = ff_utf8_simd_kernel(ff_cpu_level()) != NULL; /* else the automaton, checked above */
    for (unsigned x = 0; x < 256 && simd; x++)
        for (unsigned y = 0; y < 256; y++) {
            for (size_t at = 62; at <= 64; at += 2) {
                block[at] = (uint8_t)x, block[at + 1] = (uint8_t)y;
                check_utf8_one(block, at + 2, "2 bytes after ASCII");
                block[at] = block[at + 1] = 'a';
            }
            for (unsigned z = 0; z < 256; z++) {
                block[61] = (uint8_t)x, block[62] = (uint8_t)y, block[63] = (uint8_t)z;
                int complete;
                size_t want = ref_utf8(block + 61, 3, &complete);
                uint32_t state = FF_UTF8_ACCEPT;
                size_t got = ff_utf8_validate(&state, block, 64);
                CHECK(got == 61 + want && (got == 64 && state == FF_UTF8_ACCEPT) == complete,
                      "3 bytes after ASCII %02x %02x %02x: got %zu", x, y, z, got);
                check_simd_one(block, 64, 61 + want, complete, "3 bytes after ASCII");
            }
        }
    memset(block, 'a', sizeof block);
    /* Four bytes: leads F0..F5, every second byte from 70 to C0 (across
     * each lead's range edges), later bytes on and around 80..BF. */
    static const uint8_t tails[] = {0x7F, 0x80, 0xA5, 0xBF, 0xC0};
    for (unsigned x = 0xF0; x <= 0xF5; x++)
        for (unsigned y = 0x70; y <= 0xC0; y++)
            for (size_t z = 0; z < sizeof tails; z++)
                for (size_t w = 0; w < sizeof tails; w++) {
                    b[0] = (uint8_t)x, b[1] = (uint8_t)y, b[2] = tails[z], b[3] = tails[w];
                    check_utf8_one(b, 4, "4 bytes");
                    for (size_t at = 61; at <= 64; at++) { /* across the end of a block */
                        memcpy(block + at - 2, "\xC3\xA9", 2);
                        memcpy(block + at, b, 4);
                        check_utf8_one(block, at + 4, "4 bytes after text");
                        memset(block + at - 2, 'a', 6);
                    }
                }
    /* Long text through the ASCII kernels: an ASCII run with one multi-byte
     * character, valid or not, at every position and alignment, so every
     * kernel's word, vector and tail paths meet it. */
    static const char *inserts[] = {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xFF", "\xC3", "\xED\xA0\x80",
                                    "\xE0\x80\xAF", "\xF4\x90\x80\x80", "\x80"};
    uint8_t *text = malloc(600 + 64);
    if (!text)
        exit(2);
    for (size_t n = 0; n <= 300; n += (n < 80 ? 1 : 37)) {
        for (size_t k = 0; k < sizeof inserts / sizeof inserts[0]; k++) {
            size_t m = strlen(inserts[k]);
            for (size_t at = 0; at <= n; at++) {
                size_t align = (n * 3 + at) & 63;
                uint8_t *t = text + align;
                for (size_t i = 0; i < n + m; i++)
                    t[i] = (uint8_t)(' ' + (i * 7) % 90);
                memcpy(t + at, inserts[k], m);
                check_utf8_one(t, n + m, "ASCII run with an insert");
            }
        }
    }
    /* The last block of text from 96 bytes on overlaps the block before
     * it (AVX2): a sequence the first block leaves unfinished, followed by
     * ASCII up to every length from 96 to 140, must fail. */
    static const char *unfinished[] = {"\xC3", "\xE2", "\xE2\x82", "\xF0", "\xF0\x9F", "\xF0\x9F\x98", "\xC3\xA9"};
    for (size_t n = 96; n <= 140; n++)
        for (size_t k = 0; k < sizeof unfinished / sizeof unfinished[0]; k++)
            for (size_t at = 56; at <= 66; at++) {
                memset(text, 'q', n);
                memcpy(text + at, unfinished[k], strlen(unfinished[k]));
                check_utf8_one(text, n, "unfinished sequence before the last block");
                check_unmask_utf8_one(text, n, at + 1, n & 3, "unfinished sequence before the last block");
            }
    /* Random mixtures, fed whole and split in two at every point. */
    static const char *pieces[] = {"a", "hello ", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xEF\xBF\xBF",
                                   "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF", "\xC0\x80", "\xF8", "\xE0\x9F\xBF"};
    for (int round = 0; round < 3000; round++) {
        size_t n = 0;
        while (n < 200) {
            const char *piece = pieces[rng() % (round & 1 ? 11 : 8)];
            size_t m = strlen(piece);
            memcpy(text + n, piece, m);
            n += m;
        }
        check_utf8_one(text, n, "random mixture");
        int complete;
        size_t want = ref_utf8(text, n, &complete);
        for (size_t cut = 0; cut <= n; cut += 1 + (size_t)(rng() % 5)) {
            uint32_t state = FF_UTF8_ACCEPT;
            size_t got = ff_utf8_validate(&state, text, cut);
            if (got == cut && state != FF_UTF8_REJECT) {
                got = cut + ff_utf8_validate(&state, text + cut, n - cut);
            }
            int got_complete = got == n && state == FF_UTF8_ACCEPT;
            CHECK(got == want && got_complete == complete, "split at %zu of %zu: got %zu, want %zu", cut, n, got,
                  want);
        }
    }
    /* Valid multilingual text with one byte changed, at and around every
     * 16-, 32- and 64-byte boundary (the vector and block edges of every
     * SIMD level), and cut at every length. */
    static const char *valid[] = {"a", "hello ", "\xC3\xA9", "\xD0\x96", "\xE2\x82\xAC", "\xE4\xB8\xAD",
                                  "\xF0\x9F\x98\x80", "\xEF\xBF\xBF", "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF"};
    static const uint8_t corrupt[] = {0x00, 'a', 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1,
                                      0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
    for (int round = 0; round < 40; round++) {
        size_t n = 0;
        while (n < 300) {
            const char *piece = valid[rng() % (round & 1 ? 10 : 4)];
            size_t m = strlen(piece);
            memcpy(text + n, piece, m);
            n += m;
        }
        for (size_t cut = 0; cut <= n; cut++)
            check_utf8_one(text, cut, "valid text cut");
        for (size_t edge = 16; edge < n; edge += 16)
            for (size_t at = edge - 1; at <= edge + 1 && at < n; at++)
                for (size_t k = 0; k < sizeof corrupt; k++) {
                    uint8_t was = text[at];
                    text[at] = corrupt[k];
                    check_utf8_one(text, n, "one byte changed at a block edge");
                    text[at] = was;
                }
    }
    free(text);
}

static void check_unmask_utf8(void)
{
    static const char *valid[] = {"a", "hello ", "\xC3\xA9", "\xD0\x96", "\xE2\x82\xAC", "\xE4\xB8\xAD",
                                  "\xF0\x9F\x98\x80", "\xEF\xBF\xBF", "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF"};
    static const uint8_t corrupt[] = {0x00, 'a', 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1,
                                      0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
    static uint8_t text[4200];
    /* Every length from 0 to 300 and a few long ones, every mask phase,
     * valid text and text cut short, split at a random point. */
    static const size_t long_lengths[] = {511, 512, 513, 1000, 4095, 4096, 4097};
    for (size_t k = 0; k < 301 + sizeof long_lengths / sizeof long_lengths[0]; k++) {
        size_t n = k <= 300 ? k : long_lengths[k - 301];
        size_t m = 0;
        while (m < n + 4) {
            const char *piece = valid[rng() % (k & 1 ? 10 : 4)];
            size_t len = strlen(piece);
            memcpy(text + m, piece, len);
            m += len;
        }
        for (size_t offset = 0; offset < 4; offset++)
            check_unmask_utf8_one(text, n, n ? (size_t)(rng() % (n + 1)) : 0, offset, "mixed text");
        /* One byte changed at and around every 16-byte edge (the vector
         * and block edges of every level) and at random places. */
        for (size_t edge = 16; edge < n && n <= 300; edge += 16)
            for (size_t at = edge - 1; at <= edge + 1 && at < n; at++)
                for (size_t c = 0; c < sizeof corrupt; c++) {
                    uint8_t was = text[at];
                    text[at] = corrupt[c];
                    check_unmask_utf8_one(text, n, (size_t)(rng() % (n + 1)), (size_t)(rng() % 4), "corrupted");
                    text[at] = was;
                }
        for (int r = 0; r < 4 && n; r++) {
            size_t at = (size_t)(rng() % n);
            uint8_t was = text[at];
            text[at] = corrupt[rng() % sizeof corrupt];
            check_unmask_utf8_one(text, n, (size_t)(rng() % (n + 1)), (size_t)(rng() % 4), "corrupted at random");
            text[at] = was;
        }
    }
    /* Impossible prefixes and split code points right at the chunk cut. */
    static const char *edges[] = {"\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE0\x80\x80", "\xF0\x8F\xBF\xBF",
                                  "\xF0\x9F\x98\x80", "\xE2\x82\xAC", "\xC3\xA9", "\xC3"};
    for (size_t e = 0; e < sizeof edges / sizeof edges[0]; e++)
        for (size_t at = 28; at <= 68; at++) {
            size_t len = strlen(edges[e]);
            memset(text, 'x', 140);
            memcpy(text + at, edges[e], len);
            for (size_t cut = at; cut <= at + len; cut++)
                for (size_t offset = 0; offset < 4; offset++)
                    check_unmask_utf8_one(text, 140, cut, offset, "sequence at the cut");
        }
}

/* ---- headers: §5.2 -------------------------------------------------------- */

static void check_header(void)
{
    static const uint64_t lengths[] = {0, 1, 125, 126, 127, 255, 256, 65535, 65536, 65537,
                                       0xFFFFFFFFu, 0x100000000u, (UINT64_C(1) << 63) - 1};
    uint8_t out[FF_MAX_HEADER];
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        uint64_t length = lengths[li];
        for (int masked = 0; masked < 2; masked++) {
            for (unsigned first = 0; first < 256; first += 17) {
                uint8_t mask[4] = {0x37, 0xFA, 0x21, (uint8_t)first};
                size_t size = ff_build_header(out, (uint8_t)first, length, masked ? mask : NULL);
                /* The layout, from §5.2 directly. */
                size_t want_size = (length < 126 ? 2 : length < 65536 ? 4 : 10) + (masked ? 4 : 0);
                int ok = size == want_size && out[0] == first && (out[1] >> 7) == masked;
                if (length < 126)
                    ok &= (out[1] & 0x7F) == length;
                else if (length < 65536)
                    ok &= (out[1] & 0x7F) == 126 && out[2] == (length >> 8) && out[3] == (length & 0xFF);
                else {
                    ok &= (out[1] & 0x7F) == 127;
                    for (int i = 0; i < 8; i++)
                        ok &= out[2 + i] == (uint8_t)(length >> (56 - 8 * i));
                }
                if (masked)
                    ok &= memcmp(out + size - 4, mask, 4) == 0;
                CHECK(ok, "ff_build_header: length=%llu masked=%d first=%u", (unsigned long long)length, masked,
                      first);
                /* Parsed back, and every truncation needs more. */
                ff_header h;
                int r = ff_parse_header(out, size, &h);
                CHECK(r == FF_HEADER_OK && h.size == size && h.length == length && h.masked == masked &&
                          h.fin == (first >> 7) && h.rsv1 == ((first >> 6) & 1) && h.rsv2 == ((first >> 5) & 1) &&
                          h.rsv3 == ((first >> 4) & 1) && h.opcode == (first & 15) &&
                          (!masked || memcmp(h.mask, mask, 4) == 0),
                      "ff_parse_header: length=%llu masked=%d first=%u", (unsigned long long)length, masked, first);
                for (size_t cut = 0; cut < size; cut++)
                    CHECK(ff_parse_header(out, cut, &h) == FF_HEADER_NEED_MORE, "truncated at %zu of %zu", cut,
                          size);
            }
        }
    }
    /* A 64-bit length with its most significant bit set (§5.2). */
    uint8_t bad[10] = {0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1};
    ff_header h;
    CHECK(ff_parse_header(bad, sizeof bad, &h) == FF_HEADER_BAD_LENGTH, "length with the top bit set");
}

/* ---- the dispatcher: FASTFRAME_SIMD caps ----------------------------------- */

static void check_caps(void)
{
    /* The level each cap leaves of each best level (scalar, sse2, avx2,
     * avx512, neon), as the README describes FASTFRAME_SIMD. */
    static const struct {
        const char *cap;
        int known;
        int levels[FF_LEVELS];
    } table[] = {
        {NULL, 1, {FF_LEVEL_SCALAR, FF_LEVEL_SSE2, FF_LEVEL_AVX2, FF_LEVEL_AVX512, FF_LEVEL_NEON}},
        {"", 1, {FF_LEVEL_SCALAR, FF_LEVEL_SSE2, FF_LEVEL_AVX2, FF_LEVEL_AVX512, FF_LEVEL_NEON}},
        {"scalar", 1, {FF_LEVEL_SCALAR, FF_LEVEL_SCALAR, FF_LEVEL_SCALAR, FF_LEVEL_SCALAR, FF_LEVEL_SCALAR}},
        {"sse2", 1, {FF_LEVEL_SCALAR, FF_LEVEL_SSE2, FF_LEVEL_SSE2, FF_LEVEL_SSE2, FF_LEVEL_NEON}},
        {"avx2", 1, {FF_LEVEL_SCALAR, FF_LEVEL_SSE2, FF_LEVEL_AVX2, FF_LEVEL_AVX2, FF_LEVEL_NEON}},
        {"avx512", 1, {FF_LEVEL_SCALAR, FF_LEVEL_SSE2, FF_LEVEL_AVX2, FF_LEVEL_AVX512, FF_LEVEL_NEON}},
        /* Unknown names cap nothing (and the modules warn). */
        {"AVX2", 0, {FF_LEVEL_SCALAR, FF_LEVEL_SSE2, FF_LEVEL_AVX2, FF_LEVEL_AVX512, FF_LEVEL_NEON}},
        {"avx", 0, {FF_LEVEL_SCALAR, FF_LEVEL_SSE2, FF_LEVEL_AVX2, FF_LEVEL_AVX512, FF_LEVEL_NEON}},
        {"neon", 0, {FF_LEVEL_SCALAR, FF_LEVEL_SSE2, FF_LEVEL_AVX2, FF_LEVEL_AVX512, FF_LEVEL_NEON}},
        {"sse2 ", 0, {FF_LEVEL_SCALAR, FF_LEVEL_SSE2, FF_LEVEL_AVX2, FF_LEVEL_AVX512, FF_LEVEL_NEON}},
    };
    for (size_t t = 0; t < sizeof table / sizeof table[0]; t++) {
        for (int best = 0; best < FF_LEVELS; best++) {
            int known = -1;
            int level = ff_cpu_cap_level(best, table[t].cap, &known);
            CHECK(level == table[t].levels[best] && known == table[t].known, "cap %s of %s: %s (known %d)",
                  table[t].cap ? table[t].cap : "NULL", ff_cpu_level_name(best), ff_cpu_level_name(level), known);
        }
    }
    /* This process: the level is the CPU's best capped by the environment. */
    int known;
    int want = ff_cpu_cap_level(ff_cpu_best_level(), getenv("FASTFRAME_SIMD"), &known);
    CHECK(ff_cpu_level() == want && ff_cpu_cap_unknown() == !known, "ff_cpu_level() %d, want %d", ff_cpu_level(), want);
}

int main(void)
{
    check_caps();
    check_mask();
    check_utf8();
    check_unmask_utf8();
    check_header();
    uint16_t one = 1;
    int big_endian = *(uint8_t *)&one == 0;
    printf("{\"level\": \"%s\", \"mask_kernel\": \"%s\", \"utf8_kernel\": \"%s\", \"big_endian\": %s, "
           "\"checks\": %lu, \"errors\": %lu}\n",
           ff_cpu_level_name(ff_cpu_level()), ff_mask_kernel_name(), ff_utf8_kernel_name(),
           big_endian ? "true" : "false", checks, errors);
    return errors != 0;
}
