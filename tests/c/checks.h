/* What the C check programs in tests/c share: the CHECK macro and its
 * counters, and a small deterministic random generator.
 *
 * CHECK(cond, fmt, ...) counts a check and, when cond is false, an error,
 * printing the first ten errors (file, line and the formatted message) to
 * stderr; each program prints `checks` and `errors` in its JSON line and
 * exits 1 if `errors` is not zero.
 *
 * rng() is xorshift64, so runs are reproducible.  A program may define
 * CHECKS_RNG_SEED (non-zero) before including this file to draw its own
 * sequence.
 */
#ifndef FF_TESTS_CHECKS_H
#define FF_TESTS_CHECKS_H

#include <stdint.h>
#include <stdio.h>

static unsigned long checks, errors;

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        checks++;                                                             \
        if (!(cond) && errors++ < 10) {                                       \
            fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                   \
            fprintf(stderr, __VA_ARGS__);                                     \
            fputc('\n', stderr);                                              \
        }                                                                     \
    } while (0)

#ifndef CHECKS_RNG_SEED
#define CHECKS_RNG_SEED 0x9E3779B97F4A7C15u
#endif

static uint64_t rng_state = CHECKS_RNG_SEED;

static inline uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

#endif /* FF_TESTS_CHECKS_H */
