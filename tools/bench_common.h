/* bench_common.h - the measurement method shared by tools/bench_kernels.c and
 * tools/bench_kernels_xnnpack.c, so the two tables compare like with like: the same
 * sizes, the same inputs, the same repetitions and median. tools/bench_kernels_torch.py
 * mirrors it for PyTorch.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One batch of 64 CIFAR images (cache-resident) and the whole test set (memory-bound). */
static const size_t bench_sizes[] = {196608, 30720000};

static double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* n floats uniform in [-8, 8] from a fixed LCG: the same inputs in every tool. */
static void bench_fill_inputs(float *x, size_t n)
{
    uint32_t seed = 12345;
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) * (16.0f / 16777216.0f) - 8.0f;
    }
}

/* Median elements/ns of run(ctx) over n elements: one warm-up call (pages in, picks
 * the clone), then 15 repetitions (5 for large n), each timing enough calls to cover
 * ~20 M elements. prepare(ctx), if not NULL, runs before each call, outside the timing
 * (restoring an in-place input). Returns -1 if run fails (returns non-zero). */
static double bench_median_rate(int (*run)(void *ctx), void (*prepare)(void *ctx),
                                void *ctx, size_t n)
{
    enum { MAX_REPS = 15 };
    int reps = n < 1000000 ? MAX_REPS : 5;
    size_t inner = n < 20000000 ? 20000000 / n : 1;
    double t[MAX_REPS];

    if (run(ctx) != 0)
        return -1;
    for (int r = 0; r < reps; r++) {
        double el = 0;
        for (size_t k = 0; k < inner; k++) {
            if (prepare)
                prepare(ctx);
            double t0 = bench_now_ns();
            if (run(ctx) != 0)
                return -1;
            el += bench_now_ns() - t0;
        }
        t[r] = el / (double)inner;
    }
    qsort(t, (size_t)reps, sizeof t[0], bench_cmp_double);
    return (double)n / t[reps / 2];
}

/* 1 if name is among argv[first..argc), or no names were given. */
static int bench_wanted(const char *name, int argc, char **argv, int first)
{
    if (first >= argc)
        return 1;
    for (int i = first; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

#endif
