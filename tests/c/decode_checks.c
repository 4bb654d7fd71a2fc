/* Checks the UTF-8 -> PEP 393 writers of ff_transcode.h at every SIMD level
 * this machine runs, against the code points the text was built from
 * (encoded here by RFC 3629 §3) and against the scalar writer:
 *
 * - the lane-packing tables against their definition;
 * - the kind the measure gives (0x7F, 0xFF, 0x7FF, 0xFFFF, 0x10FFFF) against
 *   the largest code point the text was built from, and the writer the
 *   kind picks (ff_utf8_decode_max_at: text of 1-2-byte sequences only has
 *   its own AVX2 writer);
 * - the one-pass scan (validate and measure, ff_decode.h) against the
 *   automaton's verdict and the scalar measure, on valid and invalid text,
 *   read from an exact heap block;
 * - random valid text of every kind (Latin-1, 2-byte scripts, CJK, emoji,
 *   mixes with ASCII) at every length up to 300 code points and some long;
 * - 2-byte text with ASCII at random places, at every length to 200 bytes,
 *   whole and with its last sequence cut;
 * - one non-ASCII character, and a run of them, at every offset around the
 *   16-, 32- and 64-byte block edges, in ASCII;
 * - runs of one sequence length (the UCS2 writer's run of eight 3-byte
 *   sequences) broken by a character of another length at every position;
 * - emoji in ASCII (the UCS4 writer's run of ASCII and 4-byte leads) at
 *   every length to 200 bytes, whole, cut and with a byte changed; 4-byte
 *   leads at every offset around the 16- and 32-byte edges; a 2- or 3-byte
 *   character, or an ASCII run, at every position of emoji text;
 * - invalid bytes (random, and valid text with one byte changed): the writer
 *   returns at most the count it was given and writes nothing past it (guard
 *   bytes here; under -fsanitize=address the input and output are exact heap
 *   blocks, so a read or write one byte out is caught).
 *
 * Prints one JSON line {"levels", "kernels", "scans", "checks", "errors"}
 * (the writer and the scan of each level); exits 1 on any error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ff_decode.h"

#define CHECKS_RNG_SEED 0x2545F4914F6CDD1Du
#include "checks.h"

/* RFC 3629 §3: the UTF-8 form of code point c at out; returns its length. */
static size_t encode(uint32_t c, uint8_t *out)
{
    if (c < 0x80) {
        out[0] = (uint8_t)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (uint8_t)(0xC0 | (c >> 6));
        out[1] = (uint8_t)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (c >> 12));
        out[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (c >> 18));
    out[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (c & 0x3F));
    return 4;
}

/* Code point pools: ASCII, Latin-1, the rest of 2 bytes (Greek, Cyrillic,
 * ...), 3 bytes (CJK, but also the edges U+0800 and U+FFFF), 4 bytes. */
enum { POOL_ASCII, POOL_LATIN1, POOL_TWO, POOL_THREE, POOL_FOUR, POOLS };

static uint32_t pick(int pool)
{
    uint64_t r = rng();
    switch (pool) {
    case POOL_ASCII: return (uint32_t)(r % 0x80);
    case POOL_LATIN1: return 0x80 + (uint32_t)(r % 0x80);
    case POOL_TWO: return 0x100 + (uint32_t)(r % (0x800 - 0x100));
    case POOL_THREE: {
        uint32_t c = 0x800 + (uint32_t)(r % (0x10000 - 0x800 - 0x800));
        return c >= 0xD800 ? c + 0x800 : c; /* no surrogates */
    }
    default: return 0x10000 + (uint32_t)(r % (0x110000 - 0x10000));
    }
}

#define MAX_CPS 70000

static uint32_t cps[MAX_CPS];
static uint8_t text[4 * MAX_CPS];
static uint32_t scalar_out[MAX_CPS + 16];

static int levels[FF_LEVELS], nlevels;

static uint32_t unit(const uint8_t *out, int width, size_t k)
{
    if (width == 1)
        return out[k];
    if (width == 2) {
        uint16_t u;
        memcpy(&u, out + 2 * k, 2);
        return u;
    }
    uint32_t u;
    memcpy(&u, out + 4 * k, 4);
    return u;
}

#define GUARD 64

static int width_of(uint32_t maxchar)
{
    return maxchar <= 0xFF ? 1 : maxchar <= 0xFFFF ? 2 : 4;
}

/* Runs the writer `level` has for the kind `maxchar` on p[0..n) (copied
 * into an exact heap block) into an exact heap block of count units, plus
 * guard bytes when not under AddressSanitizer.  Returns what it returned;
 * the output is in *result. */
static size_t run(int level, const uint8_t *p, size_t n, uint32_t maxchar, size_t count, uint8_t **result)
{
    int width = width_of(maxchar);
    uint8_t *in = malloc(n ? n : 1);
    uint8_t *out = malloc(count * (size_t)width + GUARD);
    if (!in || !out)
        exit(2);
    memcpy(in, p, n);
    memset(out, 0xA5, count * (size_t)width + GUARD);
    size_t got = ff_utf8_decode_max_at(level, in, n, out, maxchar, count);
    int guard = 1;
    for (size_t k = 0; k < GUARD; k++)
        guard &= out[count * (size_t)width + k] == 0xA5;
    CHECK(guard && got <= count, "%s: n=%zu kind %x wrote past %zu units (returned %zu)",
          ff_cpu_level_name(level), n, maxchar, count, got);
    free(in);
    *result = out;
    return got;
}

/* The scan of every level on p[0..n) (copied into an exact heap block):
 * valid exactly when the automaton says so, and then the scalar measure's
 * count and kind. */
static void check_scan(const uint8_t *p, size_t n)
{
    uint32_t state = FF_UTF8_ACCEPT;
    int valid = ff_utf8_validate_at(FF_LEVEL_SCALAR, &state, p, n) == n && state == FF_UTF8_ACCEPT;
    uint32_t want_max;
    size_t want = ff_utf8_measure_at(FF_LEVEL_SCALAR, p, n, &want_max);
    uint8_t *in = malloc(n ? n : 1);
    if (!in)
        exit(2);
    memcpy(in, p, n);
    for (int l = 0; l < nlevels; l++) {
        size_t count = 12345;
        uint32_t maxchar = 1;
        int got = ff_utf8_scan_at(levels[l], in, n, &count, &maxchar);
        CHECK(got == valid, "scan %s: n=%zu says %s", ff_cpu_level_name(levels[l]), n, got ? "valid" : "invalid");
        if (got && valid)
            CHECK(count == want && maxchar == want_max, "scan %s: n=%zu counted %zu (kind %x), want %zu (%x)",
                  ff_cpu_level_name(levels[l]), n, count, maxchar, want, want_max);
    }
    /* And the entry point decode_utf8 calls, which takes short text its own way. */
    size_t count = 12345;
    uint32_t maxchar = 1;
    int got = n < 32 ? ff_utf8_scan_short(in, n, &count, &maxchar) : ff_utf8_scan(in, n, &count, &maxchar);
    CHECK(got == valid, "ff_utf8_scan: n=%zu says %s", n, got ? "valid" : "invalid");
    if (got && valid)
        CHECK(count == want && maxchar == want_max, "ff_utf8_scan: n=%zu counted %zu (kind %x), want %zu (%x)", n,
              count, maxchar, want, want_max);
    free(in);
}

/* Valid text: every level gives the code points it was built from, as the
 * scalar writer does. */
static void check_valid(const uint32_t *want, size_t ncp, const char *what)
{
    size_t n = 0;
    uint32_t top = 0;
    for (size_t k = 0; k < ncp; k++) {
        n += encode(want[k], text + n);
        top = want[k] > top ? want[k] : top;
    }
    uint32_t maxchar;
    size_t count = ff_utf8_measure_at(FF_LEVEL_SCALAR, text, n, &maxchar);
    int width = width_of(maxchar);
    uint32_t kind = top < 0x80 ? 0x7F : top < 0x100 ? 0xFF : top < 0x800 ? 0x7FF : top < 0x10000 ? 0xFFFF : 0x10FFFF;
    CHECK(count == ncp && maxchar == kind, "%s: measured %zu code points (kind %x), built %zu (kind %x)", what, count,
          maxchar, ncp, kind);
    if (count != ncp)
        return;
    check_scan(text, n);
    size_t scalar = ff_utf8_decode_scalar(text, n, scalar_out, 4, count);
    CHECK(scalar == count, "%s: scalar writer wrote %zu of %zu", what, scalar, count);
    for (int l = 0; l < nlevels; l++) {
        uint8_t *out;
        size_t got = run(levels[l], text, n, maxchar, count, &out);
        size_t bad = count;
        for (size_t k = 0; k < count && bad == count; k++)
            if (unit(out, width, k) != want[k] || scalar_out[k] != want[k])
                bad = k;
        CHECK(got == count && bad == count, "%s: %s n=%zu width %d: wrote %zu of %zu, first wrong unit %zu",
              what, ff_cpu_level_name(levels[l]), n, width, got, count, bad);
        free(out);
    }
}

/* Any bytes: every level stays in bounds. */
static void check_any(const uint8_t *p, size_t n)
{
    uint32_t maxchar;
    size_t count = ff_utf8_measure_at(FF_LEVEL_SCALAR, p, n, &maxchar);
    check_scan(p, n);
    /* Every writer, whatever kind the bytes would give. */
    static const uint32_t kinds[] = {0xFF, 0x7FF, 0xFFFF, 0x10FFFF};
    for (size_t w = 0; w < sizeof kinds / sizeof kinds[0]; w++)
        for (int l = 0; l < nlevels; l++) {
            uint8_t *out;
            run(levels[l], p, n, kinds[w], count, &out);
            free(out);
            /* A count smaller than the text has (a caller that measured wrong). */
            run(levels[l], p, n, kinds[w], count / 2, &out);
            free(out);
        }
}

static void check_table(void)
{
    for (unsigned m = 0; m < 256; m++) {
        uint64_t want = 0;
        unsigned r = 0;
        for (unsigned k = 0; k < 8; k++)
            if (m >> k & 1)
                want |= (uint64_t)k << (8 * r++);
        CHECK(ff_transcode_pack[m] == want, "ff_transcode_pack[%u] = %016llx, want %016llx", m,
              (unsigned long long)ff_transcode_pack[m], (unsigned long long)want);
        /* The same lanes as byte pairs, for 16-bit units. */
        uint8_t pairs[16] = {0};
        for (unsigned k = 0, r = 0; k < 8; k++)
            if (m >> k & 1) {
                pairs[2 * r] = (uint8_t)(2 * k);
                pairs[2 * r + 1] = (uint8_t)(2 * k + 1);
                r++;
            }
        /* As the x86 loads read the words: little-endian. */
        uint64_t halves[2] = {0, 0};
        for (unsigned k = 0; k < 16; k++)
            halves[k / 8] |= (uint64_t)pairs[k] << (8 * (k % 8));
        CHECK(ff_transcode_pack16[m][0] == halves[0] && ff_transcode_pack16[m][1] == halves[1],
              "ff_transcode_pack16[%u] is wrong", m);
        /* Bytes k + 3 .. k of the r-th set bit k in 32-bit lane r (bit 0's
         * past the last), as four little-endian words. */
        uint8_t spread[32];
        for (unsigned r = 0, k = 0; r < 8; r++) {
            while (k < 8 && !(m >> k & 1))
                k++;
            unsigned at = k < 8 ? k : 0;
            for (unsigned b = 0; b < 4; b++)
                spread[4 * r + b] = (uint8_t)(at + 3 - b);
            k++;
        }
        uint64_t words[4] = {0, 0, 0, 0};
        for (unsigned b = 0; b < 32; b++)
            words[b / 8] |= (uint64_t)spread[b] << (8 * (b % 8));
        CHECK(!memcmp(ff_transcode_spread4[m], words, sizeof words), "ff_transcode_spread4[%u] is wrong", m);
    }
}

/* Text from the pools in `mix` (a bit set), ncp code points. */
static void fill(uint32_t *out, size_t ncp, unsigned mix)
{
    int pools[POOLS], np = 0;
    for (int q = 0; q < POOLS; q++)
        if (mix >> q & 1)
            pools[np++] = q;
    for (size_t k = 0; k < ncp; k++)
        out[k] = pick(pools[rng() % (uint64_t)np]);
}

static void check_random(void)
{
    static const unsigned mixes[] = {
        1u << POOL_LATIN1, 1u << POOL_TWO, 1u << POOL_THREE, 1u << POOL_FOUR,
        1u << POOL_ASCII | 1u << POOL_LATIN1, 1u << POOL_ASCII | 1u << POOL_TWO,
        1u << POOL_ASCII | 1u << POOL_THREE, 1u << POOL_ASCII | 1u << POOL_FOUR,
        (1u << POOLS) - 1, (1u << POOLS) - 2,
    };
    char what[64];
    for (size_t m = 0; m < sizeof mixes / sizeof mixes[0]; m++) {
        for (size_t ncp = 0; ncp <= 300; ncp++) {
            fill(cps, ncp, mixes[m]);
            snprintf(what, sizeof what, "random mix %zu", m);
            check_valid(cps, ncp, what);
        }
        fill(cps, 65536, mixes[m]);
        snprintf(what, sizeof what, "random mix %zu, 64K", m);
        check_valid(cps, 65536, what);
    }
}

/* One character, and a run of 5, of each length at every offset 0..130 of
 * 140 bytes of ASCII: across every 16-, 32- and 64-byte edge. */
static void check_edges(void)
{
    static const uint32_t samples[] = {0x80, 0xFF, 0x100, 0x7FF, 0x800, 0x4E2D, 0xFFFF, 0x10000, 0x1F600, 0x10FFFF};
    for (size_t s = 0; s < sizeof samples / sizeof samples[0]; s++)
        for (size_t run_len = 1; run_len <= 5; run_len += 4)
            for (size_t at = 0; at <= 130; at++) {
                size_t ncp = 140;
                for (size_t k = 0; k < ncp; k++)
                    cps[k] = 'a' + (uint32_t)(k % 26);
                for (size_t k = at; k < at + run_len && k < ncp; k++)
                    cps[k] = samples[s];
                check_valid(cps, ncp, "edges");
                /* The text cut right after the character(s). */
                check_valid(cps, at + run_len, "edges, cut");
            }
}

/* The writer of 1-2-byte sequences: 2-byte text (U+0100-U+07FF, and
 * Latin-1) with ASCII at random places, one in `spread`, as many code
 * points as fill every length to 200 bytes; then each text with its last
 * sequence cut (invalid: in bounds only). */
static void check_two(void)
{
    static const unsigned spreads[] = {2, 4, 16};
    for (size_t s = 0; s < sizeof spreads / sizeof spreads[0]; s++)
        for (size_t want = 0; want <= 200; want++) {
            size_t ncp = 0, n = 0;
            while (n < want) {
                uint32_t c = rng() % spreads[s] == 0 ? pick(POOL_ASCII) : pick(rng() % 8 ? POOL_TWO : POOL_LATIN1);
                if (c >= 0x80 && n + 2 > want)
                    c = 'a';
                cps[ncp++] = c;
                n += c < 0x80 ? 1 : 2;
            }
            check_valid(cps, ncp, "two-byte text");
            n = 0;
            for (size_t k = 0; k < ncp; k++)
                n += encode(cps[k], text + n);
            if (n && text[n - 1] >= 0x80)
                check_any(text, n - 1);
        }
}

/* Emoji in ASCII (the AVX2 UCS4 writer's run of 32 bytes with only ASCII
 * and 4-byte leads): text of 4-byte sequences with ASCII at random places,
 * one in `spread`, filling every length to 200 bytes, whole, with its last
 * sequence cut, and with one byte changed at every position (both invalid:
 * in bounds only); a run of 4-byte sequences after 0-40 bytes of ASCII, so
 * that their leads fall on every offset around the 16- and 32-byte edges
 * and the run's 35th byte; and emoji text with one 2- or 3-byte character,
 * or an ASCII run, at every position, where the run ends. */
static void check_emoji(void)
{
    static const unsigned spreads[] = {2, 3, 8};
    static const uint8_t bad[] = {0x80, 0xBF, 0xC2, 0xE0, 0xF8, 0xFF, 'a'};
    for (size_t s = 0; s < sizeof spreads / sizeof spreads[0]; s++)
        for (size_t want = 0; want <= 200; want++) {
            size_t ncp = 0, n = 0;
            while (n < want) {
                uint32_t c = rng() % spreads[s] == 0 ? pick(POOL_ASCII) : pick(POOL_FOUR);
                if (c >= 0x80 && n + 4 > want)
                    c = ' ';
                cps[ncp++] = c;
                n += c < 0x80 ? 1 : 4;
            }
            check_valid(cps, ncp, "emoji text");
            n = 0;
            for (size_t k = 0; k < ncp; k++)
                n += encode(cps[k], text + n);
            if (n >= 4 && text[n - 4] >= 0xF0)
                for (size_t cut = 1; cut <= 3; cut++)
                    check_any(text, n - cut);
            if (want % 40 == 0)
                for (size_t at = 0; at < n; at++) {
                    uint8_t keep = text[at];
                    text[at] = bad[(at + want) % sizeof bad];
                    check_any(text, n);
                    text[at] = keep;
                }
        }
    for (size_t lead = 0; lead <= 40; lead++)
        for (size_t len = 1; len <= 20; len++) {
            for (size_t k = 0; k < lead; k++)
                cps[k] = 'a' + (uint32_t)(k % 26);
            for (size_t k = lead; k < lead + len; k++)
                cps[k] = pick(POOL_FOUR);
            check_valid(cps, lead + len, "emoji run");
            for (size_t k = lead + len; k < lead + len + 30; k++)
                cps[k] = ' ';
            check_valid(cps, lead + len + 30, "emoji run, then ASCII");
        }
    static const int others[] = {POOL_LATIN1, POOL_TWO, POOL_THREE};
    for (size_t o = 0; o < sizeof others / sizeof others[0]; o++)
        for (size_t at = 0; at < 60; at++) {
            for (size_t k = 0; k < 60; k++)
                cps[k] = k % 3 == 2 ? ' ' : pick(POOL_FOUR);
            cps[at] = pick(others[o]);
            check_valid(cps, 60, "emoji text, one other");
            cps[(at * 7 + 3) % 60] = pick(others[(o + 1) % 3]);
            check_valid(cps, 60, "emoji text, two others");
        }
    for (size_t at = 0; at < 60; at++) {
        for (size_t k = 0; k < 80; k++)
            cps[k] = k >= at && k < at + 20 ? 'a' : pick(POOL_FOUR);
        check_valid(cps, 80, "emoji text, an ASCII run");
    }
}

/* A run of one sequence length (the writers' fast runs: eight 3-byte
 * sequences at a time in UCS2) broken by one character of another length,
 * or two, at every position. */
static void check_runs(void)
{
    for (int run = POOL_LATIN1; run < POOLS; run++)
        for (int other = POOL_ASCII; other < POOLS; other++) {
            if (other == run)
                continue;
            for (size_t at = 0; at < 70; at++) {
                fill(cps, 70, 1u << run);
                cps[at] = pick(other);
                check_valid(cps, 70, "runs");
                if (at + 9 < 70)
                    cps[at + 9] = pick(other);
                check_valid(cps, 70, "runs, broken twice");
                check_valid(cps, at + 1, "runs, cut");
            }
        }
}

/* The scan's block edges: valid text of every length to 260 bytes (short,
 * a padded last block, an overlapping last block) with one byte changed at
 * every position, and cut at every length. */
static void check_scan_edges(void)
{
    static const uint8_t bad[] = {0x80, 0xBF, 0xC0, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 'a'};
    uint8_t buf[300];
    fill(cps, 120, (1u << POOLS) - 1);
    size_t total = 0;
    for (size_t k = 0; k < 120 && total < 260; k++)
        total += encode(cps[k], text + total);
    for (size_t n = 0; n <= 260 && n <= total; n++) {
        check_scan(text, n);
        for (size_t at = 0; at < n; at++) {
            memcpy(buf, text, n);
            buf[at] = bad[(n + at) % sizeof bad];
            check_scan(buf, n);
        }
    }
    /* A sequence cut short at every offset, then ASCII: also a whole block
     * of it, which the scan skips as ASCII after a block left open. */
    static const uint8_t *cut[] = {(const uint8_t *)"\xC3", (const uint8_t *)"\xE4\xB8",
                                   (const uint8_t *)"\xF0\x9F\x98", (const uint8_t *)"\xF0\x9F"};
    for (size_t c = 0; c < sizeof cut / sizeof cut[0]; c++) {
        size_t len = strlen((const char *)cut[c]);
        for (size_t at = 0; at <= 200; at++) {
            memset(buf, 'a', sizeof buf);
            memcpy(buf + at, cut[c], len);
            static const size_t after[] = {0, 1, 3, 64, 67, 96};
            for (size_t k = 0; k < sizeof after / sizeof after[0]; k++)
                check_scan(buf, at + len + after[k]);
        }
    }
}

/* The scans of long text: an ASCII run of lengths from 0 to 200 in front of
 * 1000 bytes of one script, then one byte changed at every position of the
 * last 80 bytes (the overlapping last block and the one before it), and the
 * text cut at each of those positions; and text whose only non-ASCII
 * character sits at every offset of the last 70 bytes, after a long ASCII
 * run, whole and cut inside it. */
static void check_scan_long(void)
{
    static uint8_t buf[1400];
    static const uint8_t bad[] = {0x80, 0xC2, 0xE0, 0xED, 0xF0, 0xF4, 0xFF, 'a'};
    for (int pool = POOL_LATIN1; pool < POOLS; pool++)
        for (size_t lead = 0; lead <= 200; lead += 1 + lead / 8) {
            memset(buf, 'x', lead);
            size_t n = lead;
            while (n < lead + 1000)
                n += encode(pick(pool), buf + n);
            check_scan(buf, n);
            for (size_t at = n - 80; at < n; at++) {
                uint8_t keep = buf[at];
                buf[at] = bad[(at + lead) % sizeof bad];
                check_scan(buf, n);
                buf[at] = keep;
                check_scan(buf, at);
            }
        }
    for (size_t n = 1000; n < 1070; n += 3)
        for (size_t at = n - 70; at + 4 <= n; at++) {
            memset(buf, 'y', n);
            encode(0x1F600, buf + at);
            check_scan(buf, n);
            check_scan(buf, at + 2);
        }
}

static void check_invalid(void)
{
    uint8_t buf[400];
    for (int round = 0; round < 3000; round++) {
        size_t n = (size_t)(rng() % sizeof buf);
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint8_t)rng();
        check_any(buf, n);
    }
    for (int round = 0; round < 3000; round++) {
        size_t ncp = (size_t)(rng() % 90);
        fill(cps, ncp, (1u << POOLS) - 1);
        size_t n = 0;
        for (size_t k = 0; k < ncp; k++)
            n += encode(cps[k], text + n);
        if (n == 0)
            continue;
        size_t at = (size_t)(rng() % n);
        static const uint8_t bad[] = {0x80, 0xBF, 0xC0, 0xE0, 0xED, 0xF0, 0xF4, 0xF8, 0xFF, 'a'};
        text[at] = bad[rng() % sizeof bad];
        check_any(text, n);
        check_any(text, at + 1); /* cut inside or right after the change */
    }
}

int main(void)
{
    int best = ff_cpu_level();
    levels[nlevels++] = FF_LEVEL_SCALAR;
    for (int l = FF_LEVEL_SSE2; l <= FF_LEVEL_AVX2; l++)
        if (best != FF_LEVEL_NEON && best >= l)
            levels[nlevels++] = l;
    if (best == FF_LEVEL_NEON)
        levels[nlevels++] = FF_LEVEL_NEON;
    check_table();
    check_random();
    check_edges();
    check_two();
    check_emoji();
    check_runs();
    check_invalid();
    check_scan_edges();
    check_scan_long();
    printf("{\"levels\": [");
    for (int l = 0; l < nlevels; l++)
        printf("%s\"%s\"", l ? ", " : "", ff_cpu_level_name(levels[l]));
    printf("], \"kernels\": [");
    for (int l = 0; l < nlevels; l++)
        printf("%s\"%s\"", l ? ", " : "", ff_utf8_decode_kernel_name(levels[l]));
    printf("], \"scans\": [");
    for (int l = 0; l < nlevels; l++)
        printf("%s\"%s\"", l ? ", " : "", ff_utf8_scan_kernel_name(levels[l]));
    printf("], \"checks\": %lu, \"errors\": %lu}\n", checks, errors);
    return errors ? 1 : 0;
}
