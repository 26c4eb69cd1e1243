/* act_kernels.h - the activation kernels behind act_table (internal to the act module,
 * its tests and tools/bench_kernels.c; the CLI goes through act.h, cact_act_apply).
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
 * The best one the CPU supports is chosen when the first kernel runs, unless the caller
 * picked one with cact_act_kernels_use() before. The CLI does so from the environment
 * (CIFAR_ACT_GENERIC=1 forces "generic", CIFAR_ACT_ISA=name picks one the CPU can run;
 * src/cli/args.c), and so do the tests (tests/check.h): the library reads no
 * environment.
 * Every implementation is deterministic per element: an input gives the same output
 * wherever it sits in the array and whatever the array length (cact_act_chain_lut relies
 * on this). Different implementations may differ in the last bits.
 */
#ifndef CACT_ACT_KERNELS_H
#define CACT_ACT_KERNELS_H

#include <stddef.h>

#include "act_id.h"

/* Element-wise kernel: y[i] = f(x[i]) for i < n. y may equal x (in place).
 * p holds the row's parameters in table order. */
typedef void (*cact_act_elem_fn)(float *y, const float *x, size_t n, const float *p);

/* Channel-wise kernel (softmax family): x is [n_img][channels][plane]; the function
 * runs over the channel dimension for every (image, pixel). y may equal x. */
typedef void (*cact_act_chan_fn)(float *y, const float *x, size_t n_img, size_t channels,
                                 size_t plane, const float *p);

/* One implementation: a kernel per table row, indexed by enum cact_act_id. A row of
 * kind CACT_ACT_KIND_ELEM has exactly its elem slot set, a CACT_ACT_KIND_CHAN row its
 * chan slot (tests/test_act.c checks every implementation compiled in). */
struct cact_act_impl {
    const char *isa;
    cact_act_elem_fn elem[CACT_ACT_COUNT];
    cact_act_chan_fn chan[CACT_ACT_COUNT];
};

/* What the one softmax loop of each implementation computes over the channels. */
enum cact_act_softmax_mode {
    CACT_ACT_SM_SOFTMAX,     /* exp(x_c - max) / sum */
    CACT_ACT_SM_LOG_SOFTMAX, /* (x_c - max) - log(sum) */
    CACT_ACT_SM_SOFTMIN      /* softmax of -x, as torch.nn.functional.softmin */
};

/* The generic softmax loop, any channel count (the fast ones handle 3 channels and
 * call this for others). */
void cact_act_softmax_generic(float *y, const float *x, size_t n_img, size_t channels,
                              size_t plane, enum cact_act_softmax_mode mode);

/* The generic implementation (act_kernels.c). */
extern const struct cact_act_impl cact_act_impl_generic;

/* A fast implementation by name ("default", "avx2", "avx512f"), or NULL when this
 * build or this CPU has none by that name (act_fast.c). */
const struct cact_act_impl *cact_act_fast_impl(const char *isa);
/* The i-th fast implementation compiled in, runnable on this CPU or not; NULL past
 * the last (act_fast.c). */
const struct cact_act_impl *cact_act_fast_compiled(size_t i);

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

/* Every implementation compiled into this build, whether or not this CPU can run it
 * (for tests that read the tables): cact_act_impl_at(i) for i < cact_act_impl_count(). */
size_t cact_act_impl_count(void);
const struct cact_act_impl *cact_act_impl_at(size_t i);

/* 1 when every implementation compiled in has the kernel for row id (of that kind),
 * else 0: cact_act_parse refuses a row that some implementation lacks. */
int cact_act_kernels_complete(enum cact_act_id id, enum cact_act_kind kind);

#endif
