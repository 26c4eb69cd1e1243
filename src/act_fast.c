/* act_fast.c - the fast activation kernels, built once per instruction set.
 *
 * The kernels themselves are in act_fast.inc, included here up to three times:
 * for AVX-512F+FMA and AVX2+FMA (x86-64, under `#pragma GCC target`, picked at run time
 * by cact_act_fast_impl when the CPU has them) and for the baseline the compiler targets
 * (SSE2 on x86-64; any architecture). This file is compiled at -O3 with
 * -fno-trapping-math (ACT_FAST_FLAGS in the Makefile) so that GCC vectorizes the branch-free loops
 * and turns their ternaries into selects; the generic kernels in act_kernels.c keep
 * the Makefile's flags.
 *
 * Only IEEE add/sub/mul/div/fma, comparisons and integer bit operations are used
 * (contraction stays off, -ffp-contract=off; FMA only where written as MADD), so
 * within one instruction set the vector body and the scalar tail of a loop give the
 * same bits for the same input.
 */
#include "act_kernels.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(CIFAR_ACT_NO_X86_CLONES)
#define ACT_X86 1
#include <immintrin.h>
#else
#define ACT_X86 0
#endif

/* ---- Shared scalar helpers (inlined into every instruction set's loops) ---- */

static inline uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* r (>= 0) with the sign bit of s. */
static inline float with_sign_of(float r, float s)
{
    return u2f(f2u(r) | (f2u(s) & 0x80000000u));
}

/* min(max(t, 0), 6), keeping NaN as ATen's vec::minimum/maximum do. */
static inline float clamp6(float t)
{
    t = t < 0.0f ? 0.0f : t;
    return t > 6.0f ? 6.0f : t;
}

/* The loop-invariant parameters of one fast kernel (act_fast.inc's FAST_ELEM). */
struct fast_par {
    float a, b;
};

/* The float c, which GCC can no longer see is a constant (an empty asm may have changed
 * it). For a clamp between constants GCC folds the two selects into masks on the input
 * (ten vector operations for relu6); between values it does not know it emits one max
 * and one min, as for hardtanh. Evaluated once per call, before the loop. */
#define FAST_OPAQUE(c)                                                                 \
    __extension__({                                                                    \
        float fo_ = (c);                                                               \
        __asm__("" : "+m"(fo_));                                                       \
        fo_;                                                                           \
    })

/* Keeps GCC from unrolling a short inner loop completely before the vectorizer sees it:
 * unrolled, the 16 selects of relu's line became scalar cmovs instead of one vector
 * operation (act_fast.inc's streaming loops). */
#if defined(__GNUC__) && !defined(__clang__)
#define FAST_NO_UNROLL _Pragma("GCC unroll 1")
#else
#define FAST_NO_UNROLL
#endif

/* GELU and SELU constants as ATen computes them (see act_kernels.c). */
#define K_SQRT1_2 ((float)M_SQRT1_2)
#define K_BETA ((float)(M_SQRT2 * M_2_SQRTPI * 0.5))
#define K_KAPPA 0.044715f
#define K_SELU_ALPHA ((float)1.6732632423543772848170429916717)
#define K_SELU_SCALE ((float)1.0507009873554804934193349852946)

#define FN_PASTE(a, b) a##_##b
#define FN_XPASTE(a, b) FN_PASTE(a, b)
#define FN(name) FN_XPASTE(name, ISA_SUFFIX)

/* ---- AVX-512F + FMA ---- */
#if ACT_X86
#pragma GCC push_options
#pragma GCC target("avx512f,fma")
#define ISA_SUFFIX avx512
#define ISA_NAME "avx512f"
#define MADD(a, b, c) __builtin_fmaf((a), (b), (c))
#define STREAM_COPY_AVAILABLE 1
#define STREAM_COPY(d, s, n)                                                           \
    do {                                                                               \
        for (size_t j_ = 0; j_ < (n); j_ += 16)                                        \
            _mm512_stream_ps((d) + j_, _mm512_load_ps((s) + j_));                      \
    } while (0)
#define STREAM_FENCE() _mm_sfence()
#include "act_fast.inc"
#pragma GCC pop_options

/* ---- AVX2 + FMA ---- */
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define ISA_SUFFIX avx2
#define ISA_NAME "avx2"
#define MADD(a, b, c) __builtin_fmaf((a), (b), (c))
#define STREAM_COPY_AVAILABLE 1
#define STREAM_COPY(d, s, n)                                                           \
    do {                                                                               \
        for (size_t j_ = 0; j_ < (n); j_ += 8)                                         \
            _mm256_stream_ps((d) + j_, _mm256_load_ps((s) + j_));                      \
    } while (0)
#define STREAM_FENCE() _mm_sfence()
#include "act_fast.inc"
#pragma GCC pop_options
#endif

/* ---- Baseline: no FMA (a * b + c rounds twice, as written) ---- */
#define ISA_SUFFIX base
#define ISA_NAME "default"
#define MADD(a, b, c) ((a) * (b) + (c))
#if ACT_X86
#define STREAM_COPY_AVAILABLE 1
#define STREAM_COPY(d, s, n)                                                           \
    do {                                                                               \
        for (size_t j_ = 0; j_ < (n); j_ += 4)                                         \
            _mm_stream_ps((d) + j_, _mm_load_ps((s) + j_));                            \
    } while (0)
#define STREAM_FENCE() _mm_sfence()
#else
#define STREAM_COPY_AVAILABLE 0
#endif
#include "act_fast.inc"

/* ---- Selection ---- */

const struct cact_act_impl *cact_act_fast_impl(const char *isa)
{
#if ACT_X86
    __builtin_cpu_init();
    if (strcmp(isa, "avx512f") == 0)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")
                   ? &impl_avx512 : NULL;
    if (strcmp(isa, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
                   ? &impl_avx2 : NULL;
#endif
    if (strcmp(isa, "default") == 0)
        return &impl_base;
    return NULL;
}

const struct cact_act_impl *cact_act_fast_compiled(size_t i)
{
    static const struct cact_act_impl *const all[] = {
#if ACT_X86
        &impl_avx512,
        &impl_avx2,
#endif
        &impl_base,
    };
    return i < sizeof all / sizeof all[0] ? all[i] : NULL;
}
