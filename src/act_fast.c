/* act_fast.c - the fast activation kernels: branch-free, auto-vectorized, dispatched.
 *
 * Same formulas and operation order as the generic kernels in act_kernels.c (which
 * follow ATen), but exp, log1p, tanh and erf are inline range reductions plus
 * polynomials (coefficients from tools/fit_kernel_coeffs.py), written without
 * branches or libm calls so that GCC vectorizes every loop. Selects are ternaries on
 * values both computed; that needs -fno-trapping-math, set below for this file only.
 *
 * On x86-64 each kernel is built three times (AVX-512F, AVX2, baseline SSE2) with
 * target_clones, and the loader picks one for the running CPU; elsewhere it is built
 * once for the baseline. Only IEEE add/sub/mul/div, comparisons and integer bit
 * operations are used (no FMA contraction: -ffp-contract=off), so every clone, the
 * vector body and the scalar tail give the same bits for the same input.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math")
#endif

#include "act_kernels.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones) && !defined(CIFAR_ACT_NO_CLONES)
#define ACT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef ACT_CLONES
#define ACT_CLONES
#endif

const char *act_fast_isa(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("avx512f"))
        return "avx512f";
    if (__builtin_cpu_supports("avx2"))
        return "avx2";
#endif
    return "default";
}

/* ---- Scalar building blocks (inlined into every loop) ---- */

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

/* r with the sign bit of s (r >= 0). */
static inline float with_sign_of(float r, float s)
{
    return u2f(f2u(r) | (f2u(s) & 0x80000000u));
}

/* exp(x), within about 1 ulp; NaN in, NaN out; exact 0 below -104, inf above 89.
 * n = round(x / ln 2) by the 1.5 * 2^23 trick (no rint call, vectorizes on SSE2),
 * r = x - n ln 2 in two parts (Cody-Waite), e^r = 1 + r + r^2 q(r), and 2^n applied
 * as two factors so results in the subnormal range and near overflow come out right. */
static inline float fast_exp(float x)
{
    const float magic = 12582912.0f;
    x = x < -104.0f ? -104.0f : x;
    x = x > 89.0f ? 89.0f : x;
    float t = x * 1.44269502f + magic;
    float n = t - magic;
    int32_t ni = (int32_t)(f2u(t) - f2u(magic));
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float q = 0.00138141774f;
    q = q * r + 0.0083689196f;
    q = q * r + 0.0416684076f;
    q = q * r + 0.166665196f;
    q = q * r + 0.49999994f;
    float p = 1.0f + (r + r * r * q);
    int32_t n1 = ni >> 1, n2 = ni - n1;
    float s1 = u2f((uint32_t)(n1 + 127) << 23);
    float s2 = u2f((uint32_t)(n2 + 127) << 23);
    return p * s1 * s2;
}

/* log(w) for finite normal w > 0: w = m 2^e with m in [sqrt(1/2), sqrt(2)),
 * log(m) = f - f^2/2 + f^3 P(f) with f = m - 1 (the Cephes arrangement). */
static inline float fast_log_pos(float w)
{
    uint32_t u = f2u(w);
    int32_t e = (int32_t)(u >> 23) - 127;
    float m = u2f((u & 0x007fffffu) | 0x3f800000u);
    int32_t big = m > 1.41421356f;
    m = big ? m * 0.5f : m;
    e = e + big;
    float f = m - 1.0f;
    float z = f * f;
    float pp = -0.0763442963f;
    pp = pp * f + 0.127615497f;
    pp = pp * f + -0.131601945f;
    pp = pp * f + 0.142017618f;
    pp = pp * f + -0.166233569f;
    pp = pp * f + 0.200012267f;
    pp = pp * f + -0.250008225f;
    pp = pp * f + 0.333333313f;
    float ef = (float)e;
    float y = f * z * pp;
    y = y + ef * -2.12194440e-4f;
    y = y + -0.5f * z;
    return (f + y) + ef * 0.693359375f;
}

/* log1p(u) for u >= 0 (what exp returns): log(1 + u) of the rounded sum, plus the
 * first-order correction for the rounding of 1 + u. inf and NaN pass through. */
static inline float fast_log1p(float u)
{
    float w = 1.0f + u;
    float c = (u - (w - 1.0f)) / w;
    float r = fast_log_pos(w) + c;
    return u <= FLT_MAX ? r : u;
}

/* tanh(x): odd polynomial below 0.625, 1 - 2 / (e^2|x| + 1) above; sign of x. */
static inline float fast_tanh(float x)
{
    float a = fabsf(x);
    float z = a * a;
    float pp = -0.00570499059f;
    pp = pp * z + 0.0206390899f;
    pp = pp * z + -0.0537397154f;
    pp = pp * z + 0.133314416f;
    pp = pp * z + -0.333332807f;
    float small = a + a * z * pp;
    float big = 1.0f - 2.0f / (fast_exp(a + a) + 1.0f);
    return with_sign_of(a < 0.625f ? small : big, x);
}

/* erf(x) to about 1e-7 absolute, which is what GELU's 1 + erf(x) can use:
 * x P(x^2) below 2, Q(|x| - 2.96) up to 3.92, 1 beyond (erf rounds to 1 there). */
static inline float fast_erf(float x)
{
    float a = fabsf(x);
    float z = a * a;
    float ps = -2.70889231e-08f;
    ps = ps * z + 7.90855097e-07f;
    ps = ps * z + -1.13812966e-05f;
    ps = ps * z + 0.000110848188f;
    ps = ps * z + -0.000837396597f;
    ps = ps * z + 0.00520391623f;
    ps = ps * z + -0.0268521179f;
    ps = ps * z + 0.112832464f;
    ps = ps * z + -0.376125425f;
    ps = ps * z + 1.12837911f;
    float t = a - 2.96f;
    float qb = 2.63409347e-05f;
    qb = qb * t + -2.17700126e-05f;
    qb = qb * t + -0.00014385728f;
    qb = qb * t + 0.000459644536f;
    qb = qb * t + -0.00085097109f;
    qb = qb * t + 0.00119731808f;
    qb = qb * t + -0.00126689742f;
    qb = qb * t + 0.000975063886f;
    qb = qb * t + -0.000523106777f;
    qb = qb * t + 0.000176668967f;
    qb = qb * t + 0.999971628f;
    float r = a < 2.0f ? a * ps : qb;
    r = a >= 3.92f ? 1.0f : r;
    r = r > 1.0f ? 1.0f : r;
    return with_sign_of(r, x);
}

static inline float clamp6(float t)
{
    t = t < 0.0f ? 0.0f : t;
    return t > 6.0f ? 6.0f : t;
}

/* ---- Element-wise kernels ---- */

/* One loop per kernel; SETUP copies parameters into locals first, because y may alias
 * p as far as the compiler knows, and a reload per element would stop vectorization. */
#define FAST_ELEM(name, setup, expr)                                                   \
    ACT_CLONES void act_fast_##name(float *y, const float *x, size_t n, const float *p) \
    {                                                                                  \
        setup;                                                                         \
        (void)p;                                                                       \
        for (size_t i = 0; i < n; i++) {                                               \
            const float v = x[i];                                                      \
            y[i] = (expr);                                                             \
        }                                                                              \
    }

#define NO_SETUP ((void)0)

/* The GELU and SELU constants as ATen computes them (see act_kernels.c). */
#define K_SQRT1_2 ((float)M_SQRT1_2)
#define K_BETA ((float)(M_SQRT2 * M_2_SQRTPI * 0.5))
#define K_KAPPA 0.044715f
#define K_SELU_ALPHA ((float)1.6732632423543772848170429916717)
#define K_SELU_SCALE ((float)1.0507009873554804934193349852946)

FAST_ELEM(relu, NO_SETUP, v < 0.0f ? 0.0f : v)
FAST_ELEM(hardtanh, const float lo = p[0]; const float hi = p[1],
          (v < lo ? lo : v) > hi ? hi : (v < lo ? lo : v))
FAST_ELEM(relu6, NO_SETUP, (v < 0.0f ? 0.0f : v) > 6.0f ? 6.0f : (v < 0.0f ? 0.0f : v))
FAST_ELEM(leaky_relu, const float s = p[0], v > 0.0f ? v : v * s)
FAST_ELEM(rrelu, const float s = (float)(((double)p[0] + (double)p[1]) / 2.0),
          v > 0.0f ? v : v * s)
FAST_ELEM(elu, const float neg = p[0] * 1.0f,
          v > 0.0f ? v : (fast_exp(v) - 1.0f) * neg)
FAST_ELEM(selu, const float neg = K_SELU_ALPHA * K_SELU_SCALE,
          v > 0.0f ? v * K_SELU_SCALE : (fast_exp(v) - 1.0f) * neg)
FAST_ELEM(celu, const float neg = p[0] * 1.0f; const float is = (float)(1.0 / (double)p[0]),
          v > 0.0f ? v : (fast_exp(v * is) - 1.0f) * neg)
FAST_ELEM(gelu_erf, NO_SETUP, v * 0.5f * (1.0f + fast_erf(v * K_SQRT1_2)))
FAST_ELEM(gelu_tanh, NO_SETUP,
          0.5f * v * (1.0f + fast_tanh(K_BETA * (v + K_KAPPA * (v * v * v)))))
FAST_ELEM(silu, NO_SETUP, v / (1.0f + fast_exp(-v)))
FAST_ELEM(mish, NO_SETUP, v * fast_tanh(fast_log1p(fast_exp(v))))
FAST_ELEM(sigmoid, NO_SETUP, 1.0f / (1.0f + fast_exp(-v)))
FAST_ELEM(hardsigmoid, NO_SETUP, clamp6(v + 3.0f) / 6.0f)
FAST_ELEM(tanh, NO_SETUP, fast_tanh(v))
FAST_ELEM(hardswish, NO_SETUP, v * clamp6(v + 3.0f) / 6.0f)
FAST_ELEM(hardshrink, const float l = p[0], (v >= -l && v <= l) ? 0.0f : v)
FAST_ELEM(softshrink, const float l = p[0], v > l ? v - l : (v < -l ? v + l : 0.0f))
FAST_ELEM(tanhshrink, NO_SETUP, v - fast_tanh(v))
FAST_ELEM(softplus, const float beta = p[0]; const float th = p[1],
          v * beta > th ? v : fast_log1p(fast_exp(v * beta)) / beta)
FAST_ELEM(softsign, NO_SETUP, v / (fabsf(v) + 1.0f))
FAST_ELEM(logsigmoid, NO_SETUP, (v < 0.0f ? v : 0.0f) - fast_log1p(fast_exp(-fabsf(v))))
FAST_ELEM(threshold, const float th = p[0]; const float val = p[1], v <= th ? val : v)

void act_fast_gelu(float *y, const float *x, size_t n, const float *p)
{
    if (p[0] != 0.0f)
        act_fast_gelu_tanh(y, x, n, p);
    else
        act_fast_gelu_erf(y, x, n, p);
}

/* ---- Softmax family over 3 channels ---- */

/* Pixels are processed across the plane (contiguous per channel), so the loop
 * vectorizes over pixels. Blocks go through local buffers: the compiler then needs no
 * run-time alias checks between the six channel pointers (y may equal x). */
#define SM_BLOCK 256

ACT_CLONES void act_fast_softmax3(float *y, const float *x, size_t n_img, size_t plane,
                                  int mode)
{
    float a[3][SM_BLOCK], o[3][SM_BLOCK];
    const float sign = mode == 2 ? -1.0f : 1.0f;
    for (size_t img = 0; img < n_img; img++) {
        const float *xi = x + img * 3 * plane;
        float *yi = y + img * 3 * plane;
        for (size_t px0 = 0; px0 < plane; px0 += SM_BLOCK) {
            size_t len = plane - px0 < SM_BLOCK ? plane - px0 : SM_BLOCK;
            for (int c = 0; c < 3; c++)
                memcpy(a[c], xi + (size_t)c * plane + px0, len * sizeof(float));
            if (mode == 1) {
                for (size_t i = 0; i < len; i++) {
                    float v0 = a[0][i], v1 = a[1][i], v2 = a[2][i];
                    float m = v0;
                    m = (v1 > m || v1 != v1) ? v1 : m;
                    m = (v2 > m || v2 != v2) ? v2 : m;
                    float s = 0.0f + fast_exp(v0 - m);
                    s = s + fast_exp(v1 - m);
                    s = s + fast_exp(v2 - m);
                    float ls = fast_log_pos(s);
                    /* s is in [1, 3] unless the pixel has NaN or inf in it. */
                    ls = s <= FLT_MAX ? ls : s;
                    o[0][i] = (v0 - m) - ls;
                    o[1][i] = (v1 - m) - ls;
                    o[2][i] = (v2 - m) - ls;
                }
            } else {
                for (size_t i = 0; i < len; i++) {
                    float v0 = sign * a[0][i], v1 = sign * a[1][i], v2 = sign * a[2][i];
                    float m = v0;
                    m = (v1 > m || v1 != v1) ? v1 : m;
                    m = (v2 > m || v2 != v2) ? v2 : m;
                    float e0 = fast_exp(v0 - m), e1 = fast_exp(v1 - m), e2 = fast_exp(v2 - m);
                    float s = 0.0f + e0;
                    s = s + e1;
                    s = s + e2;
                    o[0][i] = e0 / s;
                    o[1][i] = e1 / s;
                    o[2][i] = e2 / s;
                }
            }
            for (int c = 0; c < 3; c++)
                memcpy(yi + (size_t)c * plane + px0, o[c], len * sizeof(float));
        }
    }
}
