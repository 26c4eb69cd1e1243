/* act_kernels.h - the activation kernels behind act_table (internal to the act module
 * and its tests; the CLI goes through act.h).
 *
 * Every element-wise kernel has the act_elem_fn shape: y[i] = f(x[i]) for i < n,
 * y may equal x, p holds the row's parameters in table order. Channel-wise kernels
 * have the act_chan_fn shape. Each kernel follows the formula and operation order of
 * PyTorch 1.13's CPU float32 kernel, so results stay within a few ulp of it.
 *
 * Two implementations exist: a generic one (plain scalar loops over libm's expf,
 * tanhf, erff, log1pf) and a fast one (branch-free polynomial kernels the compiler
 * vectorizes, with AVX2 / AVX-512 clones chosen at run time on x86-64). The fast one
 * is used unless the environment variable CIFAR_ACT_GENERIC is set to a non-empty
 * value other than "0" when the first kernel runs, or act_kernels_set_generic(1).
 * Both are deterministic per element: the same input gives the same output wherever
 * it sits in the array, which act_chain_lut relies on.
 */
#ifndef ACT_KERNELS_H
#define ACT_KERNELS_H

#include <stddef.h>

/* 1 when the generic kernels are in use. Reads CIFAR_ACT_GENERIC once. */
int act_kernels_generic(void);

/* Force the generic (1) or fast (0) kernels for the whole process; for tests and
 * benchmarks. Not meant to be called while kernels run in other threads. */
void act_kernels_set_generic(int on);

/* Name of the fast path's instruction set as selected at run time ("avx512f",
 * "avx2", "default"), or "generic". For benchmarks and --version output. */
const char *act_kernels_isa(void);

#define ACT_KERNEL(name) void act_k_##name(float *y, const float *x, size_t n, const float *p)
ACT_KERNEL(relu);
ACT_KERNEL(hardtanh);    /* p: min_val, max_val; relu6 passes 0, 6 itself */
ACT_KERNEL(relu6);
ACT_KERNEL(leaky_relu);  /* p: negative_slope; prelu has the same formula */
ACT_KERNEL(rrelu);       /* p: lower, upper */
ACT_KERNEL(elu);         /* p: alpha */
ACT_KERNEL(selu);
ACT_KERNEL(celu);        /* p: alpha */
ACT_KERNEL(gelu);        /* p: approximate (0 'none', 1 'tanh') */
ACT_KERNEL(silu);
ACT_KERNEL(mish);
ACT_KERNEL(sigmoid);
ACT_KERNEL(hardsigmoid);
ACT_KERNEL(tanh);
ACT_KERNEL(hardswish);
ACT_KERNEL(hardshrink);  /* p: lambd */
ACT_KERNEL(softshrink);  /* p: lambd */
ACT_KERNEL(tanhshrink);
ACT_KERNEL(softplus);    /* p: beta, threshold */
ACT_KERNEL(softsign);
ACT_KERNEL(logsigmoid);
ACT_KERNEL(threshold);   /* p: threshold, value */
ACT_KERNEL(identity);
#undef ACT_KERNEL

/* The fast implementations behind the act_k_* entry points (act_fast.c). */
#define ACT_KERNEL(name) void act_fast_##name(float *y, const float *x, size_t n, const float *p)
ACT_KERNEL(relu);
ACT_KERNEL(hardtanh);
ACT_KERNEL(relu6);
ACT_KERNEL(leaky_relu);
ACT_KERNEL(rrelu);
ACT_KERNEL(elu);
ACT_KERNEL(selu);
ACT_KERNEL(celu);
ACT_KERNEL(gelu);
ACT_KERNEL(gelu_erf);
ACT_KERNEL(gelu_tanh);
ACT_KERNEL(silu);
ACT_KERNEL(mish);
ACT_KERNEL(sigmoid);
ACT_KERNEL(hardsigmoid);
ACT_KERNEL(tanh);
ACT_KERNEL(hardswish);
ACT_KERNEL(hardshrink);
ACT_KERNEL(softshrink);
ACT_KERNEL(tanhshrink);
ACT_KERNEL(softplus);
ACT_KERNEL(softsign);
ACT_KERNEL(logsigmoid);
ACT_KERNEL(threshold);
#undef ACT_KERNEL
/* Softmax (mode 0), log_softmax (1) or softmin (2) over exactly 3 channels. */
void act_fast_softmax3(float *y, const float *x, size_t n_img, size_t plane, int mode);
/* The instruction set target_clones picks on this CPU: "avx512f", "avx2", "default". */
const char *act_fast_isa(void);

#define ACT_CHAN_KERNEL(name)                                                          \
    void act_k_##name(float *y, const float *x, size_t n_img, size_t channels,         \
                      size_t plane, const float *p)
ACT_CHAN_KERNEL(softmax);
ACT_CHAN_KERNEL(log_softmax);
ACT_CHAN_KERNEL(softmin);
#undef ACT_CHAN_KERNEL

#endif
