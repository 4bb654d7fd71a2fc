/* Checks ff_mask() out of place at every distance between source and
 * destination modulo 4 KiB, on both sides, which drives the AVX2 and
 * AVX-512 kernels through both walking directions (see
 * ff_mask_walk_backward).  Each result is compared with the definition of
 * RFC 6455 §5.3, byte by byte, and guard bytes around the destination catch
 * a write past either end.  The walks are counted by the kernels themselves
 * (FF_MASK_COUNT_WALK), so the counts say what they did, not what they
 * should have done.
 *
 * Run with FASTFRAME_SIMD set to pick the kernel.  Prints one JSON line:
 * {"kernel", "checks", "forward", "backward", "errors"}; exits 1 on any error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long walks[2]; /* forward, backward */
#define FF_MASK_COUNT_WALK(backward) (walks[(backward) ? 1 : 0]++)

#include "ff_mask.h"

#include "checks.h"

#define GUARD 64
#define MAX_N 2100

static const size_t lengths[] = {64, 255, 256, 511, 512, 513, 777, 1024, 1500, MAX_N};

int main(void)
{
    /* Room for src, a gap of up to 4 KiB + 63 and dst, either way round. */
    size_t arena_size = 2 * (MAX_N + 2 * GUARD) + 4096 + 128;
    uint8_t *arena = malloc(arena_size);
    uint8_t *expect = malloc(MAX_N);
    if (!arena || !expect)
        return 2;
    for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
        size_t n = lengths[li];
        for (size_t gap = 0; gap < 4096; gap++) {
            for (int below = 0; below < 2; below++) {
                /* src 16-aligned plus a shift, as for CPython objects. */
                size_t shift = (gap * 7) & 63;
                uint8_t *lo = arena + GUARD + shift;
                uint8_t *hi = lo + n + GUARD + gap;
                uint8_t *src = below ? hi : lo;
                uint8_t *dst = below ? lo : hi;
                uint8_t mask[4] = {(uint8_t)(0x37 + gap), 0xfa, (uint8_t)(0x21 ^ n), 0x3d};
                size_t offset = gap & 3;
                for (size_t i = 0; i < n; i++) {
                    src[i] = (uint8_t)(i * 131 + gap);
                    expect[i] = src[i] ^ mask[(i + offset) & 3];
                }
                memset(dst - GUARD, 0xA5, n + 2 * GUARD);
                ff_mask(dst, src, n, mask, offset);
                int ok = memcmp(dst, expect, n) == 0;
                for (size_t i = 0; i < GUARD; i++)
                    ok &= dst[-1 - (ptrdiff_t)i] == 0xA5 && dst[n + i] == 0xA5;
                CHECK(ok, "mismatch: n=%zu gap=%zu below=%d shift=%zu", n, gap, below, shift);
            }
        }
    }
    printf("{\"kernel\": \"%s\", \"checks\": %lu, \"forward\": %lu, \"backward\": %lu, \"errors\": %lu}\n",
           ff_mask_kernel_name(), checks, walks[0], walks[1], errors);
    free(arena);
    free(expect);
    return errors ? 1 : 0;
}
