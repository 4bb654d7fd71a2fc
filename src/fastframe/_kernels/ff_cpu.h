/* CPU feature detection for run-time dispatch of the SIMD kernels.
 *
 * One wheel serves every x86-64 CPU: SSE2 is the baseline there, AVX2 and
 * AVX-512 kernels are compiled with per-function target attributes and
 * chosen at run time from what the CPU *and the OS* support (the OS must
 * save the wider registers on context switch, hence the XGETBV check).  On
 * arm64 NEON is part of the baseline.  One dispatcher, ff_cpu_level() below,
 * makes the choice for every kernel; no kernel needs an init call.
 */
#ifndef FF_CPU_H
#define FF_CPU_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

/* The target of the AVX-512 kernels.  Built with FF_EMULATE_AVX512 (by the
 * C check programs in tests/c, never by the extension modules), the _mm512_*
 * intrinsics and mask types come from SIMDe's portable implementations
 * (Debian's libsimde-dev), the kernels are compiled for AVX2, and the
 * dispatcher reports AVX-512 on any AVX2 CPU: the AVX-512 kernels then run,
 * slowly but with their exact semantics, on CPUs that lack AVX-512, which is
 * how they are tested on such machines. */
#if defined(FF_EMULATE_AVX512) && defined(FF_HAVE_AVX)
/* Only the AVX-512 names: the other levels' kernels keep the compiler's own
 * intrinsics. */
#define SIMDE_X86_AVX512F_ENABLE_NATIVE_ALIASES
#define SIMDE_X86_AVX512BW_ENABLE_NATIVE_ALIASES
#define SIMDE_X86_AVX512VBMI_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#define __m512i simde__m512i
#define __mmask64 simde__mmask64
#define FF_TARGET_AVX512 FF_TARGET("avx2")
#define FF_TARGET_AVX512VBMI FF_TARGET("avx2")
/* The intrinsics the kernels use that SIMDe (0.7) lacks, from their
 * definitions in Intel's intrinsics guide.  Compiled for AVX2 like their
 * callers: a 64-byte vector passed between functions of different targets
 * changes the calling convention, which clang then gets wrong. */
FF_TARGET("avx2") static inline __m512i ff_emu_maskz_loadu_epi8(__mmask64 k, const void *p)
{
    uint8_t v[64] = {0};
    for (int i = 0; i < 64; i++)
        if ((k >> i) & 1)  /* masked-off bytes are never read, as on the CPU */
            v[i] = ((const uint8_t *)p)[i];
    return _mm512_loadu_si512(v);
}
/* Per 128-bit lane: the lanes of a (high) and b (low) concatenated, shifted
 * right by `shift` bytes, the low 16 bytes kept. */
FF_TARGET("avx2") static inline __m512i ff_emu_alignr_epi8(__m512i a, __m512i b, int shift)
{
    uint8_t va[64], vb[64], r[64];
    _mm512_storeu_si512(va, a);
    _mm512_storeu_si512(vb, b);
    for (int lane = 0; lane < 64; lane += 16)
        for (int i = 0; i < 16; i++) {
            int j = i + shift;
            r[lane + i] = j < 16 ? vb[lane + j] : j < 32 ? va[lane + j - 16] : 0;
        }
    return _mm512_loadu_si512(r);
}
FF_TARGET("avx2") static inline void ff_emu_mask_storeu_epi8(void *p, __mmask64 k, __m512i a)
{
    uint8_t v[64];
    _mm512_storeu_si512(v, a);
    for (int i = 0; i < 64; i++)
        if ((k >> i) & 1)  /* masked-off bytes are never written */
            ((uint8_t *)p)[i] = v[i];
}
/* SIMDe's returns its own 256-bit type; the tails use the compiler's. */
FF_TARGET("avx2") static inline __m256i ff_emu_castsi512_si256(__m512i a)
{
    uint8_t v[64];
    _mm512_storeu_si512(v, a);
    return _mm256_loadu_si256((const __m256i *)v);
}
#undef _mm512_maskz_loadu_epi8
#undef _mm512_mask_storeu_epi8
#undef _mm512_alignr_epi8
#undef _mm512_castsi512_si256
#define _mm512_maskz_loadu_epi8(k, p) ff_emu_maskz_loadu_epi8((k), (p))
#define _mm512_mask_storeu_epi8(p, k, a) ff_emu_mask_storeu_epi8((p), (k), (a))
#define _mm512_alignr_epi8(a, b, shift) ff_emu_alignr_epi8((a), (b), (shift))
#define _mm512_castsi512_si256(a) ff_emu_castsi512_si256(a)
#else
#define FF_TARGET_AVX512 FF_TARGET("avx512f,avx512bw")
#define FF_TARGET_AVX512VBMI FF_TARGET("avx512f,avx512bw,avx512vbmi")
#endif

#ifdef FF_ARM64
#include <arm_neon.h>
#endif

/* For the small helpers the SIMD loops share (ff_utf8_simd.h's block
 * checks): inlined whatever the compiler's heuristics say, so that a loop
 * calling one compiles as if it were written out there.  With GCC and
 * Clang, callee and caller must have the same target. */
#if defined(_MSC_VER) && !defined(__clang__)
#define FF_ALWAYS_INLINE __forceinline
#elif defined(__GNUC__) || defined(__clang__)
#define FF_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define FF_ALWAYS_INLINE inline
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

/* The set bits of an 8-bit mask, without the POPCNT instruction, which
 * some SSE4.1 CPUs lack (and arm64 has only for vectors). */
static inline size_t ff_popcount8(unsigned x)
{
    x = x - ((x >> 1) & 0x55);
    x = (x & 0x33) + ((x >> 2) & 0x33);
    return (size_t)((x + (x >> 4)) & 0x0F);
}

/* Hides a vector's value from the compiler, which then keeps a constant in
 * a register (or reloads it from the stack) instead of building it again
 * from an immediate inside a loop, as GCC does when vector registers run
 * short: each rebuild is a broadcast, which takes a slot of the shuffle
 * unit that the SIMD kernels are bound by.  For the compiler's own vector
 * types only (not SIMDe's emulated ones). */
#if defined(__GNUC__) || defined(__clang__)
#define FF_OPAQUE(v) __asm__("" : "+x"(v))
#else
#define FF_OPAQUE(v) ((void)0)
#endif

/* FF_CPU_SSSE3 and FF_CPU_SSE41 name instruction sets a kernel at the SSE2
 * level may use where the CPU has them, FF_CPU_AVX512VBMI one for the
 * AVX-512 level (they are not levels of their own); FF_CPU_SSE41 is set only
 * with SSSE3, which every SSE4.1 CPU has and the SSE4.1 kernels use too,
 * FF_CPU_AVX512VBMI only with FF_CPU_AVX512. */
enum {
    FF_CPU_SSE2 = 1,
    FF_CPU_AVX2 = 2,
    FF_CPU_AVX512 = 4,
    FF_CPU_NEON = 8,
    FF_CPU_SSSE3 = 16,
    FF_CPU_SSE41 = 32,
    FF_CPU_AVX512VBMI = 64
};

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
    if (max_leaf < 1)
        return features;
    ff_cpuid(1, 0, r);
    int ssse3 = (r[2] >> 9) & 1;
    int sse41 = (r[2] >> 19) & 1;
    if (ssse3)
        features |= FF_CPU_SSSE3;
    if (ssse3 && sse41)
        features |= FF_CPU_SSE41;
    /* The rest needs leaf 7, and the OS's saving of the YMM registers. */
    int osxsave = (r[2] >> 27) & 1;
    int avx = (r[2] >> 28) & 1;
    if (max_leaf < 7 || !osxsave || !avx)
        return features;
    uint64_t xcr0 = ff_xgetbv0();
    int os_ymm = (xcr0 & 0x6) == 0x6;         /* XMM and YMM state */
    int os_zmm = (xcr0 & 0xE6) == 0xE6;       /* plus opmask and ZMM state */
    ff_cpuid(7, 0, r);
    int avx2 = (r[1] >> 5) & 1;
    int avx512f = (r[1] >> 16) & 1;
    int avx512bw = (r[1] >> 30) & 1;
    int avx512vbmi = (r[2] >> 1) & 1;
    if (os_ymm && avx2)
        features |= FF_CPU_AVX2;
    /* The AVX-512 kernels also use 256-bit AVX2 instructions for their tails. */
    if (os_ymm && avx2 && os_zmm && avx512f && avx512bw) {
        features |= FF_CPU_AVX512;
        if (avx512vbmi)
            features |= FF_CPU_AVX512VBMI;
    }
#ifdef FF_EMULATE_AVX512
    if (os_ymm && avx2)
        features |= FF_CPU_AVX512 | FF_CPU_AVX512VBMI;
#endif
#ifdef FF_EMULATE_NO_VBMI
    /* So that the C checks run the AVX-512 level's kernels without VBMI
     * too, whatever the CPU. */
    features &= ~FF_CPU_AVX512VBMI;
#endif
#endif
    return features;
}

/* ---- The dispatcher: one SIMD level for every kernel ------------------------
 *
 * A level names a family of kernels.  Each kernel header maps a level to its
 * own function in one switch (ff_mask_kernel, ff_ascii_kernel), falling back
 * to the next narrower one it has, so adding a level is: an FF_LEVEL_* value,
 * its name below, its detection in ff_cpu_best_level, and a case in each
 * kernel's switch.
 */
enum {
    FF_LEVEL_SCALAR = 0,  /* portable C, 8-byte words */
    FF_LEVEL_SSE2 = 1,    /* x86-64 baseline */
    FF_LEVEL_AVX2 = 2,
    FF_LEVEL_AVX512 = 3,  /* AVX-512 F and BW */
    FF_LEVEL_NEON = 4,    /* arm64 baseline */
    FF_LEVELS = 5,
    FF_LEVEL_AUTO = -1    /* to the kernels' *_at functions: the level ff_cpu_level() chose */
};

static inline const char *ff_cpu_level_name(int level)
{
    switch (level) {
    case FF_LEVEL_SSE2: return "sse2";
    case FF_LEVEL_AVX2: return "avx2";
    case FF_LEVEL_AVX512: return "avx512";
    case FF_LEVEL_NEON: return "neon";
    default: return "scalar";
    }
}

/* The values FASTFRAME_SIMD accepts, for messages. */
#define FF_SIMD_CAPS "scalar, sse2, avx2, avx512"

/* The widest level this CPU and OS run. */
static inline int ff_cpu_best_level(void)
{
    int f = ff_cpu_features();
    if (f & FF_CPU_AVX512)
        return FF_LEVEL_AVX512;
    if (f & FF_CPU_AVX2)
        return FF_LEVEL_AVX2;
    if (f & FF_CPU_SSE2)
        return FF_LEVEL_SSE2;
    if (f & FF_CPU_NEON)
        return FF_LEVEL_NEON;
    return FF_LEVEL_SCALAR;
}

/* `best` capped by the name `cap` (a FASTFRAME_SIMD value; NULL or "" caps
 * nothing).  Sets *known to 0 when the name is not one of FF_SIMD_CAPS: the
 * level is then `best`, uncapped.  The x86 names leave NEON alone, except
 * "scalar", which caps every CPU to the portable code. */
static inline int ff_cpu_cap_level(int best, const char *cap, int *known)
{
    int limit;
    *known = 1;
    if (cap == NULL || cap[0] == '\0')
        return best;
    if (strcmp(cap, "scalar") == 0)
        limit = FF_LEVEL_SCALAR;
    else if (strcmp(cap, "sse2") == 0)
        limit = FF_LEVEL_SSE2;
    else if (strcmp(cap, "avx2") == 0)
        limit = FF_LEVEL_AVX2;
    else if (strcmp(cap, "avx512") == 0)
        limit = FF_LEVEL_AVX512;
    else {
        *known = 0;
        return best;
    }
    if (best == FF_LEVEL_NEON)
        return limit == FF_LEVEL_SCALAR ? FF_LEVEL_SCALAR : FF_LEVEL_NEON;
    return best < limit ? best : limit;
}

/* The choice is cached in one int per compiled module (each extension
 * module, each C program, has its own copy of this static header).  Two
 * threads that both find it unset both compute it and both store it: a
 * benign race, because they read the same CPUID and the same environment
 * and so store the same value, an int store is atomic (relaxed atomics make
 * that explicit to the compiler and to ThreadSanitizer), and nothing else is
 * published through it (the kernels' tables are const), so no ordering is
 * needed.  Bits 0-3 hold the level, bit 4 says FASTFRAME_SIMD was a name
 * that FF_SIMD_CAPS does not list. */
#define FF_CPU_UNSET (-1)
#define FF_CPU_UNKNOWN_CAP 16
static int ff_cpu_choice = FF_CPU_UNSET;

#if defined(__GNUC__) || defined(__clang__)
#define FF_LOAD_RELAXED(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define FF_STORE_RELAXED(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#else /* MSVC: an aligned int is read and written whole; volatile keeps the access. */
#define FF_LOAD_RELAXED(p) (*(volatile int *)(p))
#define FF_STORE_RELAXED(p, v) (*(volatile int *)(p) = (v))
#endif

static int ff_cpu_feature_bits = FF_CPU_UNSET;

/* Does this CPU and OS have `feature` (one FF_CPU_* bit)?  What CPUID
 * says, whatever FASTFRAME_SIMD caps (that caps the level, which the
 * callers look at first).  Cached like the dispatcher's choice, with the
 * same benign race. */
static inline int ff_cpu_has(int feature)
{
    int bits = FF_LOAD_RELAXED(&ff_cpu_feature_bits);
    if (bits == FF_CPU_UNSET) {
        bits = ff_cpu_features();
        FF_STORE_RELAXED(&ff_cpu_feature_bits, bits);
    }
    return (bits & feature) != 0;
}

static inline int ff_cpu_choose(void)
{
    int choice = FF_LOAD_RELAXED(&ff_cpu_choice);
    if (choice == FF_CPU_UNSET) {
        int known;
        choice = ff_cpu_cap_level(ff_cpu_best_level(), getenv("FASTFRAME_SIMD"), &known);
        if (!known)
            choice |= FF_CPU_UNKNOWN_CAP;
        FF_STORE_RELAXED(&ff_cpu_choice, choice);
    }
    return choice;
}

/* The SIMD level every kernel runs at: the widest this CPU and OS support,
 * capped by FASTFRAME_SIMD=scalar|sse2|avx2|avx512 (for tests, benchmarks,
 * and a way out if a kernel ever misbehaves on some CPU).  Chosen at the
 * first call; safe to call from any thread, with or without the GIL. */
static inline int ff_cpu_level(void)
{
    return ff_cpu_choose() & (FF_CPU_UNKNOWN_CAP - 1);
}

/* Did FASTFRAME_SIMD hold a value that is not in FF_SIMD_CAPS (and so cap
 * nothing)?  The compiled modules turn this into a RuntimeWarning. */
static inline int ff_cpu_cap_unknown(void)
{
    return (ff_cpu_choose() & FF_CPU_UNKNOWN_CAP) != 0;
}

#if defined(__GNUC__) || defined(__clang__)
/* Choose when the shared object is loaded (for an extension module: at
 * import, holding the GIL and the import lock), so that the getenv() above
 * never runs beside a Python thread changing os.environ; the lazy path in
 * ff_cpu_choose stays for compilers without constructors. */
__attribute__((constructor)) static void ff_cpu_choose_at_load(void)
{
    (void)ff_cpu_choose();
}
#endif

#endif /* FF_CPU_H */
