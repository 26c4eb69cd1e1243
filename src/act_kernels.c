/* act_kernels.c - PyTorch 1.13's element-wise activations, generic and fast.
 *
 * The formulas and their operation order are taken from ATen's CPU kernels
 * (aten/src/ATen/native/cpu/Activation.cpp, UnaryOpsKernel.cpp, SoftMaxKernel.cpp)
 * and torch/nn/functional.py, because the goal is PyTorch's float32 output, not the
 * mathematically best one: ELU computes exp(x) - 1 (not expm1), GELU computes
 * 1 + erf(...), Tanhshrink x - tanh(x), and the tests compare against PyTorch.
 * NaN goes through every function as PyTorch lets it (softshrink maps NaN to 0, as
 * ATen's mask-and-or vector kernel does).
 */
#include "act_kernels.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- Parameters derived the way ATen derives them ---- */

/* SELU's constants (torch/nn/functional.py), rounded to float as ATen's
 * elu_kernel does with alpha.to<float>() and scale.to<float>(). */
#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946

/* RReLU in eval mode is leaky_relu with slope (lower + upper) / 2, computed in double
 * from the Scalars and rounded to float by the leaky_relu kernel. */
static float rrelu_slope(const float *p)
{
    return (float)(((double)p[0] + (double)p[1]) / 2.0);
}

/* CELU is elu(x, alpha, scale=1, input_scale=1/alpha) with 1/alpha in double. */
static float celu_input_scale(float alpha)
{
    return (float)(1.0 / (double)alpha);
}

/* ---- Generic kernels: scalar loops over libm ---- */

static void g_hardtanh(float *y, const float *x, size_t n, float lo, float hi)
{
    /* at::clamp: comparisons leave NaN and -0 as they are. */
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        v = v < lo ? lo : v;
        y[i] = v > hi ? hi : v;
    }
}

static void g_leaky(float *y, const float *x, size_t n, float slope)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = v > 0.0f ? v : v * slope;
    }
}

/* ATen's elu_kernel: x > 0 ? x * poscoef : (exp(x * negiptcoef) - 1) * negcoef. */
static void g_elu_common(float *y, const float *x, size_t n, float negcoef, float poscoef,
                         float negiptcoef)
{
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = v > 0.0f ? v * poscoef : (expf(v * negiptcoef) - 1.0f) * negcoef;
    }
}

static void g_relu(float *y, const float *x, size_t n, const float *p)
{
    (void)p;
    /* clamp_min(x, 0): NaN and -0 pass through unchanged. */
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = v < 0.0f ? 0.0f : v;
    }
}

static void g_hardtanh_p(float *y, const float *x, size_t n, const float *p)
{
    g_hardtanh(y, x, n, p[0], p[1]);
}

static void g_relu6(float *y, const float *x, size_t n, const float *p)
{
    (void)p;
    g_hardtanh(y, x, n, 0.0f, 6.0f);
}

static void g_leaky_relu(float *y, const float *x, size_t n, const float *p)
{
    g_leaky(y, x, n, p[0]);
}

static void g_rrelu(float *y, const float *x, size_t n, const float *p)
{
    g_leaky(y, x, n, rrelu_slope(p));
}

static void g_elu(float *y, const float *x, size_t n, const float *p)
{
    g_elu_common(y, x, n, p[0] * 1.0f, 1.0f, 1.0f);
}

static void g_selu(float *y, const float *x, size_t n, const float *p)
{
    (void)p;
    g_elu_common(y, x, n, (float)SELU_ALPHA * (float)SELU_SCALE, (float)SELU_SCALE, 1.0f);
}

static void g_celu(float *y, const float *x, size_t n, const float *p)
{
    g_elu_common(y, x, n, p[0] * 1.0f, 1.0f, celu_input_scale(p[0]));
}

/* GELU constants exactly as ATen writes them (double expressions cast to float). */
#define GELU_KALPHA ((float)M_SQRT1_2)
#define GELU_KBETA ((float)(M_SQRT2 * M_2_SQRTPI * 0.5))
#define GELU_KKAPPA 0.044715f

static void g_gelu(float *y, const float *x, size_t n, const float *p)
{
    if (p[0] != 0.0f) {
        for (size_t i = 0; i < n; i++) {
            float v = x[i];
            float cube = v * v * v;
            float inner = GELU_KBETA * (v + GELU_KKAPPA * cube);
            y[i] = 0.5f * v * (1.0f + tanhf(inner));
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float v = x[i];
            y[i] = v * 0.5f * (1.0f + erff(v * GELU_KALPHA));
        }
    }
}

static void g_silu(float *y, const float *x, size_t n, const float *p)
{
    (void)p;
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] / (1.0f + expf(-x[i]));
}

static void g_mish(float *y, const float *x, size_t n, const float *p)
{
    (void)p;
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * tanhf(log1pf(expf(x[i])));
}

static void g_sigmoid(float *y, const float *x, size_t n, const float *p)
{
    (void)p;
    for (size_t i = 0; i < n; i++)
        y[i] = 1.0f / (1.0f + expf(-x[i]));
}

/* min(max(x + 3, 0), 6): ATen's vec::minimum/maximum propagate NaN. */
static float hard_clamp6(float t)
{
    t = t < 0.0f ? 0.0f : t;
    return t > 6.0f ? 6.0f : t;
}

static void g_hardsigmoid(float *y, const float *x, size_t n, const float *p)
{
    (void)p;
    for (size_t i = 0; i < n; i++)
        y[i] = hard_clamp6(x[i] + 3.0f) / 6.0f;
}

static void g_tanh(float *y, const float *x, size_t n, const float *p)
{
    (void)p;
    for (size_t i = 0; i < n; i++)
        y[i] = tanhf(x[i]);
}

static void g_hardswish(float *y, const float *x, size_t n, const float *p)
{
    (void)p;
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * hard_clamp6(x[i] + 3.0f) / 6.0f;
}

static void g_hardshrink(float *y, const float *x, size_t n, const float *p)
{
    const float l = p[0];
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = (v >= -l && v <= l) ? 0.0f : v;
    }
}

static void g_softshrink(float *y, const float *x, size_t n, const float *p)
{
    const float l = p[0];
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        y[i] = v > l ? v - l : (v < -l ? v + l : 0.0f);
    }
}

static void g_tanhshrink(float *y, const float *x, size_t n, const float *p)
{
    (void)p;
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] - tanhf(x[i]);
}

static void g_softplus(float *y, const float *x, size_t n, const float *p)
{
    const float beta = p[0], th = p[1];
    for (size_t i = 0; i < n; i++) {
        float v = x[i], b = v * beta;
        y[i] = b > th ? v : log1pf(expf(b)) / beta;
    }
}

static void g_softsign(float *y, const float *x, size_t n, const float *p)
{
    (void)p;
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] / (fabsf(x[i]) + 1.0f);
}

/* ATen's log_sigmoid: min(x, 0) - log1p(exp(-|x|)); the minimum propagates NaN. */
static void g_logsigmoid(float *y, const float *x, size_t n, const float *p)
{
    (void)p;
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float m = v < 0.0f ? v : 0.0f;
        y[i] = m - log1pf(expf(-fabsf(v)));
    }
}

static void g_threshold(float *y, const float *x, size_t n, const float *p)
{
    const float th = p[0], val = p[1];
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] <= th ? val : x[i];
}

/* Softmax family over the channel dimension of [n_img][channels][plane]. softmin is
 * softmax of -x, as torch.nn.functional does. As ATen: subtract the channel maximum
 * (NaN-propagating), sum exp in channel order in float, then divide by the sum, or for
 * log_softmax (x - max) - log(sum). */
void cact_act_softmax_generic(float *y, const float *x, size_t n_img, size_t channels,
                              size_t plane, enum cact_act_softmax_mode mode)
{
    const float sign = mode == CACT_ACT_SM_SOFTMIN ? -1.0f : 1.0f;
    for (size_t img = 0; img < n_img; img++) {
        const float *xi = x + img * channels * plane;
        float *yi = y + img * channels * plane;
        for (size_t px = 0; px < plane; px++) {
            float m = sign * xi[px];
            for (size_t c = 1; c < channels; c++) {
                float v = sign * xi[c * plane + px];
                m = (v > m || v != v) ? v : m;
            }
            float s = 0.0f;
            for (size_t c = 0; c < channels; c++)
                s += expf(sign * xi[c * plane + px] - m);
            if (mode == CACT_ACT_SM_LOG_SOFTMAX) {
                float ls = logf(s);
                for (size_t c = 0; c < channels; c++)
                    yi[c * plane + px] = (xi[c * plane + px] - m) - ls;
            } else {
                for (size_t c = 0; c < channels; c++)
                    yi[c * plane + px] = expf(sign * xi[c * plane + px] - m) / s;
            }
        }
    }
}

static void g_softmax(float *y, const float *x, size_t n_img, size_t channels, size_t plane,
                      const float *p)
{
    (void)p;
    cact_act_softmax_generic(y, x, n_img, channels, plane, CACT_ACT_SM_SOFTMAX);
}

static void g_log_softmax(float *y, const float *x, size_t n_img, size_t channels,
                          size_t plane, const float *p)
{
    (void)p;
    cact_act_softmax_generic(y, x, n_img, channels, plane, CACT_ACT_SM_LOG_SOFTMAX);
}

static void g_softmin(float *y, const float *x, size_t n_img, size_t channels, size_t plane,
                      const float *p)
{
    (void)p;
    cact_act_softmax_generic(y, x, n_img, channels, plane, CACT_ACT_SM_SOFTMIN);
}

static void g_identity(float *y, const float *x, size_t n, const float *p)
{
    (void)p;
    if (y != x)
        memmove(y, x, n * sizeof *y);
}

/* One kernel per row of act_table (src/act.c), at its enum cact_act_id. PReLU (one
 * weight at its initial value) is leaky_relu's formula. */
const struct cact_act_impl cact_act_impl_generic = {
    .isa = "generic",
    .elem = {
        [CACT_ACT_RELU] = g_relu,
        [CACT_ACT_RELU6] = g_relu6,
        [CACT_ACT_LEAKY_RELU] = g_leaky_relu,
        [CACT_ACT_RRELU] = g_rrelu,
        [CACT_ACT_ELU] = g_elu,
        [CACT_ACT_SELU] = g_selu,
        [CACT_ACT_CELU] = g_celu,
        [CACT_ACT_GELU] = g_gelu,
        [CACT_ACT_SILU] = g_silu,
        [CACT_ACT_MISH] = g_mish,
        [CACT_ACT_SIGMOID] = g_sigmoid,
        [CACT_ACT_HARDSIGMOID] = g_hardsigmoid,
        [CACT_ACT_TANH] = g_tanh,
        [CACT_ACT_HARDTANH] = g_hardtanh_p,
        [CACT_ACT_HARDSWISH] = g_hardswish,
        [CACT_ACT_HARDSHRINK] = g_hardshrink,
        [CACT_ACT_SOFTSHRINK] = g_softshrink,
        [CACT_ACT_TANHSHRINK] = g_tanhshrink,
        [CACT_ACT_SOFTPLUS] = g_softplus,
        [CACT_ACT_SOFTSIGN] = g_softsign,
        [CACT_ACT_LOGSIGMOID] = g_logsigmoid,
        [CACT_ACT_THRESHOLD] = g_threshold,
        [CACT_ACT_PRELU] = g_leaky_relu,
        [CACT_ACT_IDENTITY] = g_identity,
    },
    .chan = {
        [CACT_ACT_SOFTMAX] = g_softmax,
        [CACT_ACT_LOG_SOFTMAX] = g_log_softmax,
        [CACT_ACT_SOFTMIN] = g_softmin,
    },
};

/* ---- Dispatch ---- */

static _Atomic(const struct cact_act_impl *) current;

static const struct cact_act_impl *best_fast(void)
{
    static const char *const order[] = {"avx512f", "avx2", "default"};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        const struct cact_act_impl *im = cact_act_fast_impl(order[i]);
        if (im)
            return im;
    }
    return &cact_act_impl_generic;
}

static const struct cact_act_impl *find_impl(const char *isa)
{
    if (strcmp(isa, "generic") == 0)
        return &cact_act_impl_generic;
    return cact_act_fast_impl(isa);
}

const struct cact_act_impl *cact_act_kernels_impl(void)
{
    const struct cact_act_impl *im = atomic_load_explicit(&current, memory_order_acquire);
    if (!im) {
        /* Racing first calls all compute the same answer, so a plain store is fine. */
        /* The CLI (and the tests) may have picked one already with
         * cact_act_kernels_use(); the library itself reads no environment. */
        im = best_fast();
        atomic_store_explicit(&current, im, memory_order_release);
    }
    return im;
}

const char *cact_act_kernels_isa(void)
{
    return cact_act_kernels_impl()->isa;
}

int cact_act_kernels_generic(void)
{
    return cact_act_kernels_impl() == &cact_act_impl_generic;
}

int cact_act_kernels_use(const char *isa)
{
    const struct cact_act_impl *im = find_impl(isa);
    if (!im)
        return -1;
    atomic_store_explicit(&current, im, memory_order_release);
    return 0;
}

void cact_act_kernels_set_generic(int on)
{
    atomic_store_explicit(&current, on ? &cact_act_impl_generic : best_fast(),
                          memory_order_release);
}

size_t cact_act_impl_count(void)
{
    size_t n = 1;
    while (cact_act_fast_compiled(n - 1))
        n++;
    return n;
}

const struct cact_act_impl *cact_act_impl_at(size_t i)
{
    return i == 0 ? &cact_act_impl_generic : cact_act_fast_compiled(i - 1);
}

int cact_act_kernels_complete(enum cact_act_id id, enum cact_act_kind kind)
{
    const struct cact_act_impl *im;
    if ((unsigned)id >= CACT_ACT_COUNT)
        return 0;
    for (size_t i = 0; (im = cact_act_impl_at(i)) != NULL; i++)
        if (kind == CACT_ACT_KIND_ELEM ? !im->elem[id] : !im->chan[id])
            return 0;
    return 1;
}
