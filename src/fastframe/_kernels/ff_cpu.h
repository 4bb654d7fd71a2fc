/* CPU feature detection for run-time dispatch of the SIMD kernels.
 *
 * One wheel serves every x86-64 CPU: SSE2 is the baseline there, AVX2 and
 * AVX-512 kernels are compiled with per-function target attributes and
 * chosen at module import from what the CPU *and the OS* support (the OS
 * must save the wider registers on context switch, hence the XGETBV check).
 * On arm64 NEON is part of the baseline.
 */
#ifndef FF_CPU_H
#define FF_CPU_H

#include <stdint.h>

#if defined(__x86_64__) || defined(_M_X64) || defined(__i386__) || defined(_M_IX86)
#define FF_X86 1
#endif

#if defined(__aarch64__) || defined(_M_ARM64)
#define FF_ARM64 1
#endif

/* Per-function target attributes exist on GCC and Clang; MSVC lets any
 * function use any intrinsic. */
#if defined(FF_X86) && (defined(__GNUC__) || defined(__clang__))
#define FF_TARGET(t) __attribute__((target(t)))
#define FF_HAVE_AVX 1
#elif defined(FF_X86) && defined(_MSC_VER)
#define FF_TARGET(t)
#define FF_HAVE_AVX 1
#else
#define FF_TARGET(t)
#endif

#if defined(FF_X86) && (defined(__SSE2__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 2))
#define FF_HAVE_SSE2 1
#endif

#ifdef FF_HAVE_AVX
#include <immintrin.h>
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

#ifdef FF_ARM64
#include <arm_neon.h>
#endif

/* Count trailing zeros of a non-zero value. */
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
static inline unsigned ff_ctz32(uint32_t v) { unsigned long r; _BitScanForward(&r, v); return (unsigned)r; }
static inline unsigned ff_ctz64(uint64_t v) { unsigned long r; _BitScanForward64(&r, v); return (unsigned)r; }
#else
static inline unsigned ff_ctz32(uint32_t v) { return (unsigned)__builtin_ctz(v); }
static inline unsigned ff_ctz64(uint64_t v) { return (unsigned)__builtin_ctzll(v); }
#endif

enum { FF_CPU_SSE2 = 1, FF_CPU_AVX2 = 2, FF_CPU_AVX512 = 4, FF_CPU_NEON = 8 };

#ifdef FF_HAVE_AVX
static void ff_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
#if defined(_MSC_VER) && !defined(__clang__)
    int regs[4];
    __cpuidex(regs, (int)leaf, (int)sub);
    r[0] = (uint32_t)regs[0]; r[1] = (uint32_t)regs[1];
    r[2] = (uint32_t)regs[2]; r[3] = (uint32_t)regs[3];
#else
    __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
#endif
}

static uint64_t ff_xgetbv0(void)
{
#if defined(_MSC_VER) && !defined(__clang__)
    return (uint64_t)_xgetbv(0);
#else
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
#endif
}
#endif

/* Bit set of FF_CPU_* features usable by this process. */
static int ff_cpu_features(void)
{
    int features = 0;
#ifdef FF_HAVE_SSE2
    features |= FF_CPU_SSE2;
#endif
#ifdef FF_ARM64
    features |= FF_CPU_NEON;
#endif
#ifdef FF_HAVE_AVX
    uint32_t r[4];
    ff_cpuid(0, 0, r);
    uint32_t max_leaf = r[0];
    if (max_leaf < 7)
        return features;
    ff_cpuid(1, 0, r);
    int osxsave = (r[2] >> 27) & 1;
    int avx = (r[2] >> 28) & 1;
    if (!osxsave || !avx)
        return features;
    uint64_t xcr0 = ff_xgetbv0();
    int os_ymm = (xcr0 & 0x6) == 0x6;         /* XMM and YMM state */
    int os_zmm = (xcr0 & 0xE6) == 0xE6;       /* plus opmask and ZMM state */
    ff_cpuid(7, 0, r);
    int avx2 = (r[1] >> 5) & 1;
    int avx512f = (r[1] >> 16) & 1;
    int avx512bw = (r[1] >> 30) & 1;
    if (os_ymm && avx2)
        features |= FF_CPU_AVX2;
    if (os_zmm && avx512f && avx512bw)
        features |= FF_CPU_AVX512;
#endif
    return features;
}

/* FASTFRAME_SIMD=scalar|sse2|avx2|avx512 caps the kernels (tests, benchmarks,
 * and a way out if a kernel ever misbehaves on some CPU). */
#include <stdlib.h>
#include <string.h>
static int ff_cpu_features_capped(void)
{
    int f = ff_cpu_features();
    const char *cap = getenv("FASTFRAME_SIMD");
    if (cap == NULL || cap[0] == '\0')
        return f;
    if (strcmp(cap, "scalar") == 0)
        return 0;
    if (strcmp(cap, "sse2") == 0)
        return f & (FF_CPU_SSE2 | FF_CPU_NEON);
    if (strcmp(cap, "avx2") == 0)
        return f & (FF_CPU_SSE2 | FF_CPU_AVX2 | FF_CPU_NEON);
    return f;
}

#endif /* FF_CPU_H */
