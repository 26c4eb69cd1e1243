/* bench_kernels.c - activation kernel throughput, elements per nanosecond.
 *
 * Usage: bench_kernels [--generic] [--in-place] [name...]
 * For every act_table row at its default parameters (threshold at 0.1, 20; plus
 * gelu(approximate='tanh')), runs y = f(x) on 196,608 floats (one batch of 64 CIFAR
 * images, cache-resident) and on 30,720,000 floats (the 10,000-image test set, memory
 * bound), and prints the median over several timed runs. Inputs are uniform in
 * [-8, 8], as in tools/bench_kernels_torch.py, which prints PyTorch's numbers in the
 * same layout. --generic forces the plain scalar kernels; --in-place runs y == x (as
 * act_chain_apply does), restoring the input between runs outside the timing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "act.h"
#include "act_kernels.h"

static const size_t sizes[] = {196608, 30720000};

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void run(const struct act_fn *fn, float *y, const float *x, size_t n)
{
    const struct act_desc *d = fn->desc;
    if (d->elem)
        d->elem(y, x, n, fn->p);
    else
        d->chan(y, x, n / (3 * 1024), 3, 1024, fn->p);
}

/* Median elements/ns of fn over n elements. */
static double bench(const struct act_fn *fn, float *y, float *x, const float *src, size_t n,
                    int in_place)
{
    enum { MAX_REPS = 15 };
    int reps = n < 1000000 ? MAX_REPS : 5;
    size_t inner = n < 20000000 ? 20000000 / n : 1;
    double t[MAX_REPS];
    float *out = in_place ? x : y;

    run(fn, out, x, n); /* warm up: page in, pick the clone */
    for (int r = 0; r < reps; r++) {
        double el = 0;
        for (size_t k = 0; k < inner; k++) {
            if (in_place)
                memcpy(x, src, n * sizeof *x);
            double t0 = now_ns();
            run(fn, out, x, n);
            el += now_ns() - t0;
        }
        t[r] = el / (double)inner;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    return (double)n / t[reps / 2];
}

static int wanted(const char *name, int argc, char **argv, int first)
{
    if (first >= argc)
        return 1;
    for (int i = first; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int in_place = 0, first = 1;
    size_t nmax = sizes[1];
    float *x, *y, *src;
    uint32_t seed = 12345;

    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "--generic") == 0) {
            act_kernels_set_generic(1);
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
    for (size_t i = 0; i < nmax; i++) {
        seed = seed * 1664525u + 1013904223u;
        src[i] = (float)(seed >> 8) * (16.0f / 16777216.0f) - 8.0f;
    }
    memcpy(x, src, nmax * sizeof *x);
    memset(y, 0, nmax * sizeof *y);

    printf("# cifar-act kernels (%s), 1 thread, %s; elements/ns, median\n",
           act_kernels_isa(), in_place ? "in place" : "y = f(x)");
    printf("%-14s %12s %12s\n", "function", "n=196608", "n=30720000");
    for (size_t i = 0; i <= act_count(); i++) {
        struct act_fn fn;
        struct ca_err err;
        const char *label;
        if (i < act_count()) {
            label = act_at(i)->name;
            if (act_parse(label, &fn, &err) != CA_OK && act_parse("threshold(0.1, 20)", &fn, &err) != CA_OK)
                continue;
        } else {
            label = "gelu_tanh";
            act_parse("gelu(approximate='tanh')", &fn, &err);
        }
        if (!wanted(label, argc, argv, first))
            continue;
        double r[2];
        for (int s = 0; s < 2; s++) {
            memcpy(x, src, sizes[s] * sizeof *x);
            r[s] = bench(&fn, y, x, src, sizes[s], in_place);
        }
        printf("%-14s %12.3f %12.3f\n", label, r[0], r[1]);
        fflush(stdout);
    }
    free(x);
    free(y);
    free(src);
    return 0;
}
