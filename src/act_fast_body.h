/* act_fast_body.h - the fast kernels, included by act_fast.c once per instruction set.
 *
 * Not a normal header: act_fast.c defines, before each inclusion,
 *   FN(name)          name with the instruction set's suffix (static names stay apart),
 *   MADD(a, b, c)     a * b + c, as one fused multiply-add where the ISA has FMA,
 *   STREAM_COPY_AVAILABLE  1 where the next two exist, else 0 (nothing streams),
 *   STREAM_COPY(d, s, n)  copy n floats (a multiple of 16; d and s 64-byte aligned)
 *                     from s (a line just computed, or a block) with non-temporal stores,
 *   STREAM_FENCE()    order those stores before any later ones,
 *   FAST_NO_UNROLL    a pragma that keeps the next loop from being unrolled, or nothing,
 *   ISA_NAME          "avx512f", "avx2", "default",
 * and a `#pragma GCC target` for the instruction set around the inclusion.
 *
 * Same formulas and operation order as the generic kernels (act_kernels.c, after
 * ATen), but exp, log1p and tanh are inline range reductions plus polynomials
 * (coefficients from tools/fit_kernel_coeffs.py) without branches or libm calls, so
 * that GCC vectorizes every loop, and GELU's erf form is rearranged around one
 * polynomial pair (fast_gelu_erf). Selects are ternaries on values both computed.
 */

/* exp(x), within about 1 ulp; NaN in, NaN out; exact 0 below -104, inf above 89.
 * n = round(x / ln 2) by the 1.5 * 2^23 trick (no rint call, vectorizes on SSE2),
 * r = x - n ln 2 in two parts (Cody-Waite), e^r = 1 + r + r^2 q(r), and 2^n applied
 * as two factors so results in the subnormal range and near overflow come out right. */
static inline float FN(fast_exp)(float x)
{
    const float magic = 12582912.0f;
    x = x < -104.0f ? -104.0f : x;
    x = x > 89.0f ? 89.0f : x;
    float t = MADD(x, 1.44269502f, magic);
    float n = t - magic;
    int32_t ni = (int32_t)(f2u(t) - f2u(magic));
    float r = MADD(n, -0.693359375f, x);
    r = MADD(n, 2.12194440e-4f, r);
    float q = 0.00138141774f;
    q = MADD(q, r, 0.0083689196f);
    q = MADD(q, r, 0.0416684076f);
    q = MADD(q, r, 0.166665196f);
    q = MADD(q, r, 0.49999994f);
    float e = 1.0f + MADD(r * r, q, r);
    int32_t n1 = ni >> 1, n2 = ni - n1;
    float s1 = u2f((uint32_t)(n1 + 127) << 23);
    float s2 = u2f((uint32_t)(n2 + 127) << 23);
    return e * s1 * s2;
}

/* exp(x) for x <= 0 (or NaN), within about 1 ulp, for the kernels whose argument is
 * never positive (ELU's negative side, sigmoid and SiLU of -|x|, softmax's x - max).
 * One clamp and one scale factor: the magic number carries the exponent bias, so the
 * low bits of t are n + 127 and shifting them up gives 2^n directly. Results below
 * 2^-126 (x < -87.3, subnormal) flush to +0: the clamp at -88 gives n = -127 and a
 * zero scale. Positive x gives garbage, which callers discard. */
static inline float FN(fast_exp_neg)(float x)
{
    const float magic = 12583039.0f; /* 1.5 * 2^23 + 127 */
    x = x < -88.0f ? -88.0f : x;
    float t = MADD(x, 1.44269502f, magic);
    float s = u2f(f2u(t) << 23);
    float n = t - magic;
    float r = MADD(n, -0.693359375f, x);
    r = MADD(n, 2.12194440e-4f, r);
    float q = 0.00138141774f;
    q = MADD(q, r, 0.0083689196f);
    q = MADD(q, r, 0.0416684076f);
    q = MADD(q, r, 0.166665196f);
    q = MADD(q, r, 0.49999994f);
    float pr = MADD(r * r, q, r);
    return MADD(pr, s, s);
}

/* num / (1 + e^-x) with e^-x computed as e = e^-|x| and reflected: for x > 0 this is
 * ATen's num / (1 + e^-x) itself, for x <= 0 it is num e / (1 + e) (the same value,
 * e^x / (1 + e^x)). The exp never overflows; NaN in, NaN out. sigmoid is num = 1. */
static inline float FN(fast_over_1pexp_neg)(float x, float num)
{
    float e = FN(fast_exp_neg)(-fabsf(x));
    return (x > 0.0f ? num : num * e) / (1.0f + e);
}

/* log(w) for finite normal w > 0: w = m 2^e with m in [sqrt(1/2), sqrt(2)),
 * log(m) = f - f^2/2 + f^3 P(f) with f = m - 1 (the Cephes arrangement). */
static inline float FN(fast_log_pos)(float w)
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
    pp = MADD(pp, f, 0.127615497f);
    pp = MADD(pp, f, -0.131601945f);
    pp = MADD(pp, f, 0.142017618f);
    pp = MADD(pp, f, -0.166233569f);
    pp = MADD(pp, f, 0.200012267f);
    pp = MADD(pp, f, -0.250008225f);
    pp = MADD(pp, f, 0.333333313f);
    float ef = (float)e;
    float y = f * z * pp;
    y = MADD(ef, -2.12194440e-4f, y);
    y = MADD(-0.5f, z, y);
    return MADD(ef, 0.693359375f, f + y);
}

/* log1p(u) for u >= 0 (what exp returns): log(1 + u) of the rounded sum, plus the
 * first-order correction for the rounding of 1 + u. inf and NaN pass through. */
static inline float FN(fast_log1p)(float u)
{
    float w = 1.0f + u;
    float c = (u - (w - 1.0f)) / w;
    float r = FN(fast_log_pos)(w) + c;
    return u <= FLT_MAX ? r : u;
}

/* tanh(x): odd polynomial below 0.625, 1 - 2 / (e^2|x| + 1) above; sign of x. */
static inline float FN(fast_tanh)(float x)
{
    float a = fabsf(x);
    float z = a * a;
    float pp = -0.00570499059f;
    pp = MADD(pp, z, 0.0206390899f);
    pp = MADD(pp, z, -0.0537397154f);
    pp = MADD(pp, z, 0.133314416f);
    pp = MADD(pp, z, -0.333332807f);
    float small = MADD(a * z, pp, a);
    float big = 1.0f - 2.0f / (FN(fast_exp)(a + a) + 1.0f);
    return with_sign_of(a < 0.625f ? small : big, x);
}

/* GELU, erf form: x/2 (1 + erf(x/sqrt 2)) = x/2 + |x| h(|x|) with h(u) = erf(u/sqrt 2)/2
 * (erf is odd, so x erf(x/sqrt 2) = |x| erf(|x|/sqrt 2)). h(u) = u P(u^2 - 4) below
 * 2.8284, Q(u - 4.0390625) up to 5.25, and 1/2 beyond (1/2 - h(5.25) = 7.6e-8; large
 * negative x give exactly 0, as in PyTorch). Degrees 8 and 8, fits within 3e-8
 * (tools/fit_kernel_coeffs.py).
 * Written this way the kernel needs no scaling of x and no sign handling: 25 vector
 * operations per 16 floats where erf(x/sqrt 2) and its uses took 30 (about 20% faster
 * in cache), and the last fused multiply-add rounds once where x/2 (1 + erf) rounded
 * 1 + erf first. P in u^2 - 4 (one fused a * a - 4, as cheap as a * a) halves the
 * rounding of its alternating terms near u = 2.8, where the test's bound for gelu,
 * 4 * 2^-24 |x| (tests/test_act.c), is tightest. Against a double-precision reference
 * over every float in [-12, 12] the error is at most 0.37 of that bound with FMA and
 * 0.47 without (the erf form before: 0.80 and 0.81), and Q stays below 1/2 in float,
 * so negative x never give a positive result. NaN in, NaN out; -inf gives NaN, as
 * PyTorch's formula does (inf * 0). */
static inline float FN(fast_gelu_erf)(float v)
{
    float a = fabsf(v);
    float w = MADD(a, a, -4.0f);
    float ps = 3.84743654e-10f;
    ps = MADD(ps, w, -7.8652489e-09f);
    ps = MADD(ps, w, 1.21836294e-07f);
    ps = MADD(ps, w, -1.80060556e-06f);
    ps = MADD(ps, w, 2.36492742e-05f);
    ps = MADD(ps, w, -0.000268853037f);
    ps = MADD(ps, w, 0.0026401591f);
    ps = MADD(ps, w, -0.0230792183f);
    ps = MADD(ps, w, 0.23862493f);
    float t = a - 4.0390625f;
    float qb = -1.76389403e-06f;
    qb = MADD(qb, t, 2.14950614e-05f);
    qb = MADD(qb, t, -7.91294951e-05f);
    qb = MADD(qb, t, 0.000166641184f);
    qb = MADD(qb, t, -0.00025426675f);
    qb = MADD(qb, t, 0.000290507596f);
    qb = MADD(qb, t, -0.000231435624f);
    qb = MADD(qb, t, 0.000114543494f);
    qb = MADD(qb, t, 0.499973178f);
    float h = a < 2.8284f ? a * ps : qb;
    h = a < 5.25f ? h : 0.5f;
    return MADD(a, h, v * 0.5f);
}

/* ---- Element-wise loops ---- */

/* Above this many floats (8 MB, past L2) the output goes out with non-temporal
 * stores: a result that large will not be read from cache anyway, and streaming saves
 * the read-for-ownership of every output line (a third of the memory traffic of
 * y = f(x)). Each kernel has its own streaming loop (s_, below) that computes one
 * 64-byte line and streams it straight from registers, and prefetches x STREAM_AHEAD
 * floats (16 KB) ahead into L2 (locality 2: prefetcht1 on x86). Measured on the
 * 30.72 M-float bench, one thread (tools/bench_kernels.c):
 *   - computing 4 KB blocks into an L1 buffer and streaming each afterwards (this
 *     file's earlier way) ran compute and memory one after the other: gelu 1.37 el/ns;
 *   - streaming from registers without a prefetch was worse (gelu ~0.95): the
 *     hardware prefetcher does not run far enough ahead of a slow loop;
 *   - with a prefetch into L1 (prefetcht0): gelu ~1.7-1.85, relu ~2.0-2.4;
 *   - with a prefetch into L2: gelu ~1.9, relu 2.15 -> ~2.85. The distance hardly
 *     matters between 1024 and 16384 floats.
 * Results are the same bits either way. */
#define STREAM_MIN ((size_t)1 << 21)
#define STREAM_AHEAD 4096

static void FN(run)(cact_act_elem_fn k, cact_act_elem_fn ks, float *y, const float *x, size_t n,
                    const float *p)
{
    /* Elements before y's first 64-byte boundary. Both paths below start there: a
     * vector store that straddles two lines costs two, and malloc's large blocks start
     * 16 bytes past a boundary, so with AVX-512 every store into such a y straddles.
     * Aligned, the cheap kernels run about 20% faster on an L2-resident batch (and x,
     * usually as misaligned as y, comes into line with it). */
    size_t head = (64 - ((uintptr_t)y & 63)) % 64 / sizeof(float);

    (void)ks;
    if (((uintptr_t)y & 3) != 0 || head >= n) {
        k(y, x, n, p);
        return;
    }
    k(y, x, head, p);
#if STREAM_COPY_AVAILABLE
    if (n >= STREAM_MIN) {
        size_t body = (n - head) / 16 * 16;
        ks(y + head, x + head, body, p);
        STREAM_FENCE();
        k(y + head + body, x + head + body, n - head - body, p);
        return;
    }
#endif
    k(y + head, x + head, n - head, p);
}

/* The streaming loop of a kernel: y 64-byte aligned, n a multiple of 16. The inner
 * loop over one line vectorizes completely (one AVX-512 vector), so o_ lives in
 * registers and the same operations as the direct loop's give the same bits. */
#if STREAM_COPY_AVAILABLE
#define FAST_STREAM(name, near, setup, expr)                                           \
    static void FN(s_##name)(float *y, const float *x, size_t n, const float *p)       \
    {                                                                                  \
        setup;                                                                         \
        (void)p;                                                                       \
        for (size_t i = 0; i < n; i += 16) {                                           \
            _Alignas(64) float o_[16];                                                 \
            if (i + STREAM_AHEAD < n)                                                  \
                __builtin_prefetch(x + i + STREAM_AHEAD, 0, 2);                        \
            if ((near) && i + (near) < n)                                              \
                __builtin_prefetch(x + i + (near), 0, 3);                              \
            FAST_NO_UNROLL                                                             \
            for (size_t j = 0; j < 16; j++) {                                          \
                const float v = x[i + j];                                              \
                o_[j] = (expr);                                                        \
            }                                                                          \
            STREAM_COPY(y + i, o_, 16);                                                \
        }                                                                              \
    }
#define FAST_STREAM_FN(name) FN(s_##name)
#else
#define FAST_STREAM(name, near, setup, expr)
#define FAST_STREAM_FN(name) NULL
#endif

/* One direct loop per kernel (d_), its streaming loop (s_), and the table entry (k_)
 * that runs them. SETUP copies parameters into locals first: y may alias p as far as
 * the compiler knows, and a reload per element would stop vectorization. NEAR, when
 * not 0, adds a prefetch of x that many floats ahead into L1 to the streaming loop. */
#define FAST_ELEM_NEAR(name, near, setup, expr)                                        \
    static void FN(d_##name)(float *y, const float *x, size_t n, const float *p)       \
    {                                                                                  \
        setup;                                                                         \
        (void)p;                                                                       \
        for (size_t i = 0; i < n; i++) {                                               \
            const float v = x[i];                                                      \
            y[i] = (expr);                                                             \
        }                                                                              \
    }                                                                                  \
    FAST_STREAM(name, near, setup, expr)                                               \
    static void FN(k_##name)(float *y, const float *x, size_t n, const float *p)       \
    {                                                                                  \
        FN(run)(FN(d_##name), FAST_STREAM_FN(name), y, x, n, p);                       \
    }

/* Kernels that compute (a division or more) also prefetch x STREAM_NEAR floats (2 KB)
 * ahead into L1 when streaming; those that only select or scale (FAST_SELECT) do not.
 * 30.72 M floats, medians of 3 interleaved runs: sigmoid +25%, celu +22%, silu +15%,
 * elu, gelu +12%, tanh, hardswish +6%; but relu, leaky_relu, rrelu, softshrink -9%. */
#define STREAM_NEAR 512
#define FAST_ELEM(name, setup, expr) FAST_ELEM_NEAR(name, STREAM_NEAR, setup, expr)
#define FAST_SELECT(name, setup, expr) FAST_ELEM_NEAR(name, 0, setup, expr)

FAST_SELECT(relu, NO_SETUP, v < 0.0f ? 0.0f : v)
FAST_SELECT(hardtanh, const float lo = p[0]; const float hi = p[1],
            (v < lo ? lo : v) > hi ? hi : (v < lo ? lo : v))
FAST_SELECT(relu6, NO_SETUP, (v < 0.0f ? 0.0f : v) > 6.0f ? 6.0f : (v < 0.0f ? 0.0f : v))
FAST_SELECT(leaky_relu, const float s = p[0], v > 0.0f ? v : v * s)
FAST_SELECT(rrelu, const float s = (float)(((double)p[0] + (double)p[1]) / 2.0),
            v > 0.0f ? v : v * s)
FAST_ELEM(elu, const float neg = p[0] * 1.0f,
          v > 0.0f ? v : (FN(fast_exp_neg)(v) - 1.0f) * neg)
FAST_ELEM(selu, const float neg = K_SELU_ALPHA * K_SELU_SCALE,
          v > 0.0f ? v * K_SELU_SCALE : (FN(fast_exp_neg)(v) - 1.0f) * neg)
FAST_ELEM(celu, const float neg = p[0] * 1.0f; const float is = (float)(1.0 / (double)p[0]),
          v > 0.0f ? v : (FN(fast_exp_neg)(v * is) - 1.0f) * neg)
FAST_ELEM(gelu_erf, NO_SETUP, FN(fast_gelu_erf)(v))
FAST_ELEM(gelu_tanh, NO_SETUP,
          0.5f * v * (1.0f + FN(fast_tanh)(K_BETA * MADD(K_KAPPA, v * v * v, v))))
FAST_ELEM(silu, NO_SETUP, FN(fast_over_1pexp_neg)(v, v))
FAST_ELEM(mish, NO_SETUP, v * FN(fast_tanh)(FN(fast_log1p)(FN(fast_exp)(v))))
FAST_ELEM(sigmoid, NO_SETUP, FN(fast_over_1pexp_neg)(v, 1.0f))
FAST_ELEM(hardsigmoid, NO_SETUP, clamp6(v + 3.0f) / 6.0f)
FAST_ELEM(tanh, NO_SETUP, FN(fast_tanh)(v))
FAST_ELEM(hardswish, NO_SETUP, v * clamp6(v + 3.0f) / 6.0f)
FAST_SELECT(hardshrink, const float l = p[0], (v >= -l && v <= l) ? 0.0f : v)
FAST_SELECT(softshrink, const float l = p[0], v > l ? v - l : (v < -l ? v + l : 0.0f))
FAST_ELEM(tanhshrink, NO_SETUP, v - FN(fast_tanh)(v))
FAST_ELEM(softplus, const float beta = p[0]; const float th = p[1],
          v * beta > th ? v : FN(fast_log1p)(FN(fast_exp)(v * beta)) / beta)
FAST_ELEM(softsign, NO_SETUP, v / (fabsf(v) + 1.0f))
FAST_ELEM(logsigmoid, NO_SETUP,
          (v < 0.0f ? v : 0.0f) - FN(fast_log1p)(FN(fast_exp)(-fabsf(v))))
FAST_SELECT(threshold, const float th = p[0]; const float val = p[1], v <= th ? val : v)
FAST_SELECT(identity, NO_SETUP, v)

static void FN(k_gelu)(float *y, const float *x, size_t n, const float *p)
{
    if (p[0] != 0.0f)
        FN(k_gelu_tanh)(y, x, n, p);
    else
        FN(k_gelu_erf)(y, x, n, p);
}

/* A copy below STREAM_MIN is memmove's: glibc copies blocks that size with `rep movsb`,
 * which on x86 writes whole lines without first reading them (about 15% faster than
 * our loop on an L2-resident batch). Past L2 our streaming path is faster than glibc's,
 * which on this machine never streams (its threshold follows the L3 size). */
static void FN(k_identity_or_nothing)(float *y, const float *x, size_t n, const float *p)
{
    if (y == x)
        return;
    if (n < STREAM_MIN)
        memmove(y, x, n * sizeof *y);
    else
        FN(k_identity)(y, x, n, p);
}

/* ---- Softmax family over 3 channels ---- */

/* Pixels are processed across the plane (contiguous per channel), so the loops
 * vectorize over pixels. Results go through a local block buffer before they are
 * stored: y may equal x, and with a local destination the compiler needs no run-time
 * alias checks between the channel pointers. Other channel counts use the generic
 * kernel. */
#define SM_BLOCK 256
/* Streaming, a block is one line per channel: its three lines go out while the next
 * block computes, as the element-wise kernels' streaming loops do. 30.72 M floats,
 * medians of 3 interleaved runs: softmax 1.34 -> 1.71 el/ns, log_softmax 1.15 -> 1.35,
 * softmin 1.34 -> 1.57 (32 pixels: 1.55, 1.34, 1.51; software prefetches on top of
 * 16: no better). */
#define SM_STREAM_BLOCK 16

/* Softmax of sign * x over three channels for len pixels, into o. sign is a literal
 * at both call sites, so the multiply folds away. The maximum need not propagate NaN
 * as ATen's does: a NaN anywhere in the pixel makes the sum, and so every output, NaN
 * all the same. */
static inline void FN(softmax_block)(float o[3][SM_BLOCK], const float *x0, const float *x1,
                                     const float *x2, size_t len, const float sign)
{
    for (size_t i = 0; i < len; i++) {
        float v0 = sign * x0[i], v1 = sign * x1[i], v2 = sign * x2[i];
        float m = v0;
        m = v1 > m ? v1 : m;
        m = v2 > m ? v2 : m;
        float e0 = FN(fast_exp_neg)(v0 - m), e1 = FN(fast_exp_neg)(v1 - m);
        float e2 = FN(fast_exp_neg)(v2 - m);
        float s = 0.0f + e0;
        s = s + e1;
        s = s + e2;
        o[0][i] = e0 / s;
        o[1][i] = e1 / s;
        o[2][i] = e2 / s;
    }
}

static void FN(softmax)(float *y, const float *x, size_t n_img, size_t channels,
                        size_t plane, int mode)
{
    _Alignas(64) float o[3][SM_BLOCK];
    int stream = 0;
    size_t head = 0; /* pixels before y's first 64-byte boundary, when streaming */

    (void)stream;
    if (channels != 3) {
        cact_act_impl_generic.softmax(y, x, n_img, channels, plane, mode);
        return;
    }
#if STREAM_COPY_AVAILABLE
    /* With plane % 16 == 0 every channel row of every image starts at the same offset
     * within a 64-byte line, so a first block of `head` pixels puts all later block
     * starts on a line boundary (y from malloc is usually 16 bytes past one). */
    stream = n_img * 3 * plane >= STREAM_MIN && ((uintptr_t)y & 3) == 0 && plane % 16 == 0;
    if (stream)
        head = (64 - ((uintptr_t)y & 63)) % 64 / sizeof(float);
#endif
    for (size_t img = 0; img < n_img; img++) {
        const float *xi = x + img * 3 * plane;
        float *yi = y + img * 3 * plane;
        for (size_t px0 = 0, len; px0 < plane; px0 += len) {
            len = px0 == 0 && head ? head : stream ? SM_STREAM_BLOCK : SM_BLOCK;
            len = plane - px0 < len ? plane - px0 : len;
            const float *x0 = xi + px0, *x1 = x0 + plane, *x2 = x1 + plane;
            if (mode == 1) {
                for (size_t i = 0; i < len; i++) {
                    float v0 = x0[i], v1 = x1[i], v2 = x2[i];
                    float m = v0;
                    m = v1 > m ? v1 : m;
                    m = v2 > m ? v2 : m;
                    float s = 0.0f + FN(fast_exp_neg)(v0 - m);
                    s = s + FN(fast_exp_neg)(v1 - m);
                    s = s + FN(fast_exp_neg)(v2 - m);
                    /* s is in [1, 3] unless the pixel holds NaN or inf. */
                    float ls = s <= FLT_MAX ? FN(fast_log_pos)(s) : s;
                    o[0][i] = (v0 - m) - ls;
                    o[1][i] = (v1 - m) - ls;
                    o[2][i] = (v2 - m) - ls;
                }
            } else if (mode == 2) {
                FN(softmax_block)(o, x0, x1, x2, len, -1.0f);
            } else {
                FN(softmax_block)(o, x0, x1, x2, len, 1.0f);
            }
            for (int c = 0; c < 3; c++) {
                float *dst = yi + (size_t)c * plane + px0;
#if STREAM_COPY_AVAILABLE
                if (stream && len % 16 == 0 && ((uintptr_t)dst & 63) == 0) {
                    STREAM_COPY(dst, o[c], len);
                    continue;
                }
#endif
                memcpy(dst, o[c], len * sizeof(float));
            }
        }
    }
#if STREAM_COPY_AVAILABLE
    if (stream)
        STREAM_FENCE();
#endif
}

static const struct cact_act_impl FN(impl) = {
    .isa = ISA_NAME,
    .relu = FN(k_relu),
    .hardtanh = FN(k_hardtanh),
    .relu6 = FN(k_relu6),
    .leaky_relu = FN(k_leaky_relu),
    .rrelu = FN(k_rrelu),
    .elu = FN(k_elu),
    .selu = FN(k_selu),
    .celu = FN(k_celu),
    .gelu = FN(k_gelu),
    .silu = FN(k_silu),
    .mish = FN(k_mish),
    .sigmoid = FN(k_sigmoid),
    .hardsigmoid = FN(k_hardsigmoid),
    .tanh = FN(k_tanh),
    .hardswish = FN(k_hardswish),
    .hardshrink = FN(k_hardshrink),
    .softshrink = FN(k_softshrink),
    .tanhshrink = FN(k_tanhshrink),
    .softplus = FN(k_softplus),
    .softsign = FN(k_softsign),
    .logsigmoid = FN(k_logsigmoid),
    .threshold = FN(k_threshold),
    .identity = FN(k_identity_or_nothing),
    .softmax = FN(softmax),
};
