/* libFuzzer harness for the C kernels, built with ASan and UBSan.
 *
 * Input layout: byte 0 selects the SIMD level cap and an alignment shift,
 * bytes 1-4 are a mask, byte 5 an offset; the rest is the payload.  Each
 * kernel is checked against a byte-at-a-time reference written here, on a
 * heap copy of exactly the payload's size so that ASan catches any access
 * one byte past either end.  The SIMD level is passed to the kernels' *_at
 * entry points, capped by the dispatcher to what this CPU runs; the SIMD
 * UTF-8 validator, measure and writer to PEP 393 units (ff_transcode.h)
 * are also checked against the scalar ones, the one-pass scan of
 * decode_utf8 (ff_decode.h: AVX2, and SSSE3 at the sse2 cap) against the
 * automaton and the measure, and the
 * fused unmask-and-validate
 * pass against unmasking, then the scalar automaton.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ff_decode.h"
#include "ff_header.h"
#include "ff_mask.h"
#include "ff_unmask_utf8.h"
#include "ff_utf8.h"

static int ref_utf8_prefix(const uint8_t *p, size_t n, int *complete)
{
    /* Length of the longest prefix that a valid stream can start with;
     * RFC 3629 §4, written out as ranges. */
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        size_t need;
        uint8_t lo = 0x80, hi = 0xBF;
        if (b < 0x80) { i++; continue; }
        else if (b >= 0xC2 && b <= 0xDF) need = 1;
        else if (b == 0xE0) { need = 2; lo = 0xA0; }
        else if (b == 0xED) { need = 2; hi = 0x9F; }
        else if (b >= 0xE1 && b <= 0xEF) need = 2;
        else if (b == 0xF0) { need = 3; lo = 0x90; }
        else if (b == 0xF4) { need = 3; hi = 0x8F; }
        else if (b >= 0xF1 && b <= 0xF3) need = 3;
        else { *complete = 0; return (int)i; }
        size_t j = 1;
        for (; j <= need; j++) {
            if (i + j >= n) { *complete = 0; return (int)n; }
            uint8_t c = p[i + j];
            if (c < lo || c > hi) { *complete = 0; return (int)(i + j); }
            lo = 0x80; hi = 0xBF;
        }
        i += need + 1;
    }
    *complete = 1;
    return (int)n;
}

/* A simple scalar decoder, strict by code point value (Unicode §3.9 D92):
 * the number of code points, or -1 if p is not well-formed. */
static long ref_decode(const uint8_t *p, size_t n, uint32_t *out)
{
    size_t i = 0;
    long count = 0;
    while (i < n) {
        uint8_t b = p[i];
        size_t len;
        uint32_t cp, min;
        if (b < 0x80) { len = 1; cp = b; min = 0; }
        else if ((b & 0xE0) == 0xC0) { len = 2; cp = b & 0x1F; min = 0x80; }
        else if ((b & 0xF0) == 0xE0) { len = 3; cp = b & 0x0F; min = 0x800; }
        else if ((b & 0xF8) == 0xF0) { len = 4; cp = b & 0x07; min = 0x10000; }
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

static int level_for(uint8_t selector)
{
    static const char *caps[] = {"scalar", "sse2", "avx2", "avx512"};
    int known;
    return ff_cpu_cap_level(ff_cpu_best_level(), caps[selector & 3], &known);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 6)
        return 0;
    int level = level_for(data[0]);
    /* The AVX-512 level validates with VBMI where the CPU has it: hide VBMI
     * from the dispatcher for half the inputs, so that both of its
     * validators and fused passes are fuzzed. */
    static int features = FF_CPU_UNSET;
    if (features == FF_CPU_UNSET)
        features = ff_cpu_features();
    ff_cpu_feature_bits = ((data[1] ^ data[2]) & 1) ? features : features & ~FF_CPU_AVX512VBMI;
    size_t shift = (data[0] >> 2) & 63;
    uint8_t mask[4] = {data[1], data[2], data[3], data[4]};
    size_t offset = data[5];
    const uint8_t *payload = data + 6;
    size_t n = size - 6;

    /* Masking: out of place between exact-size buffers, then in place at a
     * shifted alignment, in a buffer that ends where the payload does: an
     * access one byte past any of them is an ASan report.  (ASan's
     * malloc(0) returns a pointer to zero usable bytes, not NULL.) */
    uint8_t *src = malloc(n);
    uint8_t *dst = malloc(n);
    uint8_t *big = malloc(shift + n);
    if (!src || !dst || !big)
        abort();
    memcpy(src, payload, n);
    ff_mask_at(level, dst, src, n, mask, offset);
    for (size_t i = 0; i < n; i++)
        if (dst[i] != (uint8_t)(payload[i] ^ mask[(i + offset) & 3]))
            abort();
    uint8_t *inplace = big + shift;
    memcpy(inplace, payload, n);
    ff_mask_at(level, inplace, inplace, n, mask, offset);
    if (n && memcmp(inplace, dst, n) != 0)
        abort();

    /* UTF-8: one shot and split in two at `offset`, against the reference. */
    int complete;
    int ref = ref_utf8_prefix(src, n, &complete);
    uint32_t state = FF_UTF8_ACCEPT;
    size_t r = ff_utf8_validate_at(level, &state, src, n);
    if (complete) {                      /* valid, ends on a boundary */
        if (r != n || state != FF_UTF8_ACCEPT)
            abort();
    } else if (ref < (int)n) {           /* byte `ref` is impossible */
        if (r != (size_t)ref || state != FF_UTF8_REJECT)
            abort();
    } else if (r != n || state == FF_UTF8_ACCEPT || state == FF_UTF8_REJECT) {
        abort();                         /* valid, cut inside a code point */
    }
    size_t cut = n ? offset % (n + 1) : 0;
    uint32_t s2 = FF_UTF8_ACCEPT;
    size_t r1 = ff_utf8_validate_at(level, &s2, src, cut);
    size_t total = r1;
    if (r1 == cut && s2 != FF_UTF8_REJECT)
        total = cut + ff_utf8_validate_at(level, &s2, src + cut, n - cut);
    if (total != r || s2 != state)
        abort();

    /* The SIMD validator of this level against the scalar automaton: n on
     * valid text; otherwise a boundary b, before the automaton's failure
     * (or the end, for unfinished text), with src[0..b) valid and complete. */
    uint32_t s_scalar = FF_UTF8_ACCEPT;
    size_t r_scalar = ff_utf8_validate_at(FF_LEVEL_SCALAR, &s_scalar, src, n);
    if (r_scalar != r || s_scalar != state)
        abort();
    ff_utf8_simd_fn simd = ff_utf8_simd_kernel(level);
    if (simd != NULL) {
        size_t b = simd(src, n);
        int valid = r_scalar == n && s_scalar == FF_UTF8_ACCEPT;
        uint32_t s_prefix = FF_UTF8_ACCEPT;
        if (valid ? b != n : (b >= n || b > r_scalar))
            abort();
        if (ff_utf8_validate_at(FF_LEVEL_SCALAR, &s_prefix, src, b) != b || s_prefix != FF_UTF8_ACCEPT)
            abort();
    }

    /* The fused pass: dst is the payload masked, so unmasking it gives the
     * payload back, which the fused pass must write exactly and validate as
     * the scalar automaton did above; whole, in two chunks cut at `cut` (the
     * mask phase and the state carried), into exact-size buffers, and in
     * place. */
    uint8_t *fused = malloc(n);
    if (!fused && n)
        abort();
    uint32_t s_fused = FF_UTF8_ACCEPT;
    size_t r_fused = ff_unmask_utf8_at(level, &s_fused, fused, dst, n, mask, offset);
    if (r_fused != r_scalar || s_fused != s_scalar || (n && memcmp(fused, src, n) != 0))
        abort();
    memset(fused, 0, n);
    s_fused = FF_UTF8_ACCEPT;
    r_fused = ff_unmask_utf8_at(level, &s_fused, fused, dst, cut, mask, offset);
    if (r_fused == cut && s_fused != FF_UTF8_REJECT)
        r_fused = cut + ff_unmask_utf8_at(level, &s_fused, fused + cut, dst + cut, n - cut, mask, offset + cut);
    else
        ff_mask_at(level, fused + cut, dst + cut, n - cut, mask, offset + cut);
    if (r_fused != r_scalar || s_fused != s_scalar || (n && memcmp(fused, src, n) != 0))
        abort();
    memcpy(inplace, dst, n);
    s_fused = FF_UTF8_ACCEPT;
    if (ff_unmask_utf8_at(level, &s_fused, inplace, inplace, n, mask, offset) != r_scalar || s_fused != s_scalar ||
        (n && memcmp(inplace, src, n) != 0))
        abort();
    free(fused);

    /* Decoding: the writer of this level and the scalar one, each into an
     * output of exactly the measured size (ASan sees a write past it), on
     * any input; on valid input, both give the code points of the reference
     * decoder, which must agree with the automaton on validity.  Invalid
     * input is also written at the other widths: in bounds whatever the
     * bytes make of the lanes. */
    uint32_t maxchar;
    size_t count = ff_utf8_measure_at(level, src, n, &maxchar);
    uint32_t maxchar_scalar;
    if (ff_utf8_measure_at(FF_LEVEL_SCALAR, src, n, &maxchar_scalar) != count || maxchar_scalar != maxchar)
        abort();
    int width = maxchar <= 0xFF ? 1 : maxchar <= 0xFFFF ? 2 : 4;
    /* The one-pass scan (validate and measure): valid exactly when the
     * automaton says so, and then the measure's count and kind. */
    size_t scan_count = 0;
    uint32_t scan_max = 0;
    int scanned = ff_utf8_scan_at(level, src, n, &scan_count, &scan_max);
    if (scanned != (r_scalar == n && s_scalar == FF_UTF8_ACCEPT) ||
        (scanned && (scan_count != count || scan_max != maxchar)))
        abort();
    void *units = malloc(count * (size_t)width);
    void *units_scalar = malloc(count * (size_t)width);
    uint32_t *want = malloc(n * sizeof(uint32_t));
    if (((!units || !units_scalar) && count) || (!want && n))
        abort();
    /* The entry decode_utf8 takes: by the kind, so text of 1-2-byte
     * sequences (0x7FF) meets the writer of those. */
    size_t decoded = ff_utf8_decode_max_at(level, src, n, units, maxchar, count);
    size_t decoded_scalar = ff_utf8_decode_at(FF_LEVEL_SCALAR, src, n, units_scalar, width, count);
    long ref_count = ref_decode(src, n, want);
    if ((ref_count >= 0) != (complete != 0))
        abort();
    if (ref_count >= 0) {
        uint32_t top = 0;
        for (long k = 0; k < ref_count; k++)
            top = want[k] > top ? want[k] : top;
        uint32_t want_max = top < 0x80    ? 0x7F
                            : top < 0x100   ? 0xFF
                            : top < 0x800   ? 0x7FF
                            : top < 0x10000 ? 0xFFFF
                                            : 0x10FFFF;
        if (decoded != count || decoded_scalar != count || count != (size_t)ref_count || maxchar != want_max)
            abort();
        if (count && memcmp(units, units_scalar, count * (size_t)width) != 0)
            abort();
        for (size_t k = 0; k < count; k++) {
            uint32_t c = width == 1 ? ((uint8_t *)units)[k] : width == 2 ? ((uint16_t *)units)[k] : ((uint32_t *)units)[k];
            if (c != want[k])
                abort();
        }
    } else {
        if (decoded > count || decoded_scalar > count)
            abort();
        for (int w = 1; w <= 4; w *= 2) {
            void *other = malloc(count * (size_t)w);
            if (!other && count)
                abort();
            if (ff_utf8_decode_at(level, src, n, other, w, count) > count)
                abort();
            /* Any bytes through the writer of 1-2-byte sequences. */
            if (w == 2 && ff_utf8_decode_max_at(level, src, n, other, 0x7FF, count) > count)
                abort();
            free(other);
        }
    }
    free(units);
    free(units_scalar);
    free(want);

    /* Header: parse from an exact-size copy; re-encode when minimal. */
    ff_header h;
    int hr = ff_parse_header(src, n, &h);
    if (hr == FF_HEADER_OK) {
        if (h.size > n || h.size < 2 || h.size > FF_MAX_HEADER)
            abort();
        uint8_t out[FF_MAX_HEADER];
        size_t sz = ff_build_header(out, src[0], h.length, h.masked ? h.mask : NULL);
        ff_header h2;
        if (ff_parse_header(out, sz, &h2) != FF_HEADER_OK || h2.length != h.length ||
            h2.masked != h.masked || h2.opcode != h.opcode || h2.fin != h.fin)
            abort();
    } else if (hr == FF_HEADER_NEED_MORE) {
        if (n >= FF_MAX_HEADER)
            abort();
    }
    free(src);
    free(dst);
    free(big);
    return 0;
}
