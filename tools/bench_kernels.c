/* bench_kernels.c - activation kernel throughput, elements per nanosecond.
 *
 * Usage: bench_kernels [--generic] [--in-place] [name...]
 * For every act_table row at its default parameters (threshold at 0.1, 20; plus
 * gelu(approximate='tanh')), runs y = f(x) on 196,608 floats (one batch of 64 CIFAR
 * images, cache-resident) and on 30,720,000 floats (the 10,000-image test set, memory
 * bound), and prints the median over several timed runs. Inputs are uniform in
 * [-8, 8], as in tools/bench_kernels_torch.py, which prints PyTorch's numbers in the
 * same layout. --generic forces the plain scalar kernels; --in-place runs y == x (as
 * cact_act_chain_apply does), restoring the input between runs outside the timing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "act.h"
#include "act_kernels.h"
#include "bench_common.h"

static void run(const struct cact_act_fn *fn, float *y, const float *x, size_t n)
{
    if (fn->desc->kind == CACT_ACT_KIND_ELEM)
        cact_act_apply(fn, y, x, 1, 1, n);
    else
        cact_act_apply(fn, y, x, n / (3 * 1024), 3, 1024);
}

/* One timed call: y = f(x), or in place. */
struct kctx {
    const struct cact_act_fn *fn;
    float *x, *out;
    const float *src;
    size_t n;
};

static int kctx_run(void *p)
{
    struct kctx *c = p;
    run(c->fn, c->out, c->x, c->n);
    return 0;
}

/* In place the kernel overwrote its input: restore it, outside the timing. */
static void kctx_restore(void *p)
{
    struct kctx *c = p;
    memcpy(c->x, c->src, c->n * sizeof *c->x);
}

int main(int argc, char **argv)
{
    int in_place = 0, first = 1;
    size_t nmax = bench_sizes[1];
    float *x, *y, *src;

    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "--generic") == 0) {
            cact_act_kernels_set_generic(1);
        } else if (strcmp(argv[first], "--in-place") == 0) {
            in_place = 1;
        } else {
            fprintf(stderr, "usage: %s [--generic] [--in-place] [name...]\n", argv[0]);
            return 2;
        }
    }
    x = malloc(nmax * sizeof *x);
    y = malloc(nmax * sizeof *y);
    src = malloc(nmax * sizeof *src);
    if (!x || !y || !src) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    bench_fill_inputs(src, nmax);
    memcpy(x, src, nmax * sizeof *x);
    memset(y, 0, nmax * sizeof *y);

    printf("# cifar-act kernels (%s), 1 thread, %s; elements/ns, median\n",
           cact_act_kernels_isa(), in_place ? "in place" : "y = f(x)");
    printf("%-14s %12s %12s\n", "function", "n=196608", "n=30720000");
    for (size_t i = 0; i <= cact_act_count(); i++) {
        struct cact_act_fn fn;
        struct cact_err err;
        const char *label;
        if (i < cact_act_count()) {
            label = cact_act_at(i)->name;
            if (cact_act_parse(label, &fn, &err) != CACT_OK && cact_act_parse("threshold(0.1, 20)", &fn, &err) != CACT_OK)
                continue;
        } else {
            label = "gelu_tanh";
            cact_act_parse("gelu(approximate='tanh')", &fn, &err);
        }
        if (!bench_wanted(label, argc, argv, first))
            continue;
        double r[2];
        for (int s = 0; s < 2; s++) {
            struct kctx c = {&fn, x, in_place ? x : y, src, bench_sizes[s]};
            memcpy(x, src, c.n * sizeof *x);
            r[s] = bench_median_rate(kctx_run, in_place ? kctx_restore : NULL, &c, c.n);
        }
        printf("%-14s %12.3f %12.3f\n", label, r[0], r[1]);
        fflush(stdout);
    }
    free(x);
    free(y);
    free(src);
    return 0;
}
