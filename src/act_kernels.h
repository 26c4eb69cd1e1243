/* act_kernels.h - the activation kernels behind act_table (internal to the act module,
 * its tests and tools/bench_kernels.c; the CLI goes through act.h).
 *
 * Every element-wise kernel has the cact_act_elem_fn shape: y[i] = f(x[i]) for i < n,
 * y may equal x, p holds the row's parameters in table order. Channel-wise kernels
 * have the cact_act_chan_fn shape. Each follows the formula and operation order of
 * PyTorch 1.13's CPU float32 kernel, so results stay within a few ulp of it.
 *
 * Implementations ("ISAs"), one struct cact_act_impl each:
 *   "generic"  plain scalar loops over libm's expf, tanhf, erff, log1pf (act_kernels.c);
 *   "default"  the fast kernels (act_fast.c) built for the baseline instruction set
 *              (SSE2 on x86-64, whatever the compiler targets elsewhere);
 *   "avx2", "avx512f"  the same fast kernels built for AVX2+FMA / AVX-512F+FMA
 *              (x86-64 only, used when the CPU has them).
 * The best one the CPU supports is chosen when the first kernel runs, unless the
 * environment says otherwise: CIFAR_ACT_GENERIC=1 (non-empty, not "0") forces
 * "generic"; CIFAR_ACT_ISA=name picks an implementation if the CPU can run it.
 * Every implementation is deterministic per element: an input gives the same output
 * wherever it sits in the array and whatever the array length (cact_act_chain_lut relies
 * on this). Different implementations may differ in the last bits.
 */
#ifndef CACT_ACT_KERNELS_H
#define CACT_ACT_KERNELS_H

#include <stddef.h>

#include "act.h"

struct cact_act_impl {
    const char *isa;
    cact_act_elem_fn relu, hardtanh, relu6, leaky_relu, rrelu, elu, selu, celu, gelu, silu,
        mish, sigmoid, hardsigmoid, tanh, hardswish, hardshrink, softshrink, tanhshrink,
        softplus, softsign, logsigmoid, threshold, identity;
    /* Softmax (mode 0), log_softmax (1) or softmin (2) over the channels. */
    void (*softmax)(float *y, const float *x, size_t n_img, size_t channels, size_t plane,
                    int mode);
};

/* The generic implementation (act_kernels.c). */
extern const struct cact_act_impl cact_act_impl_generic;

/* A fast implementation by name ("default", "avx2", "avx512f"), or NULL when this
 * build or this CPU has none by that name (act_fast.c). */
const struct cact_act_impl *cact_act_fast_impl(const char *isa);

/* The implementation in use (chosen on first call as described above). */
const struct cact_act_impl *cact_act_kernels_impl(void);
const char *cact_act_kernels_isa(void);
int cact_act_kernels_generic(void);

/* Switch implementation for the whole process (tests, benchmarks): returns 0, or -1
 * (and changes nothing) when isa is unknown or unsupported here. Not meant to be called
 * while kernels run in other threads. */
int cact_act_kernels_use(const char *isa);
/* cact_act_kernels_use("generic") for on, else the best fast implementation. */
void cact_act_kernels_set_generic(int on);

/* The entry points act_table points at: they call cact_act_kernels_impl()'s kernel. */
#define CACT_ACT_KERNEL(name) void cact_act_k_##name(float *y, const float *x, size_t n, const float *p)
CACT_ACT_KERNEL(relu);
CACT_ACT_KERNEL(hardtanh);    /* p: min_val, max_val */
CACT_ACT_KERNEL(relu6);
CACT_ACT_KERNEL(leaky_relu);  /* p: negative_slope; prelu has the same formula */
CACT_ACT_KERNEL(rrelu);       /* p: lower, upper */
CACT_ACT_KERNEL(elu);         /* p: alpha */
CACT_ACT_KERNEL(selu);
CACT_ACT_KERNEL(celu);        /* p: alpha */
CACT_ACT_KERNEL(gelu);        /* p: approximate (0 'none', 1 'tanh') */
CACT_ACT_KERNEL(silu);
CACT_ACT_KERNEL(mish);
CACT_ACT_KERNEL(sigmoid);
CACT_ACT_KERNEL(hardsigmoid);
CACT_ACT_KERNEL(tanh);
CACT_ACT_KERNEL(hardswish);
CACT_ACT_KERNEL(hardshrink);  /* p: lambd */
CACT_ACT_KERNEL(softshrink);  /* p: lambd */
CACT_ACT_KERNEL(tanhshrink);
CACT_ACT_KERNEL(softplus);    /* p: beta, threshold */
CACT_ACT_KERNEL(softsign);
CACT_ACT_KERNEL(logsigmoid);
CACT_ACT_KERNEL(threshold);   /* p: threshold, value */
CACT_ACT_KERNEL(identity);
#undef CACT_ACT_KERNEL

#define CACT_ACT_CHAN_KERNEL(name)                                                          \
    void cact_act_k_##name(float *y, const float *x, size_t n_img, size_t channels,         \
                      size_t plane, const float *p)
CACT_ACT_CHAN_KERNEL(softmax);
CACT_ACT_CHAN_KERNEL(log_softmax);
CACT_ACT_CHAN_KERNEL(softmin);
#undef CACT_ACT_CHAN_KERNEL

#endif
