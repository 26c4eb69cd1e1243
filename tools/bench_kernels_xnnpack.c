/* bench_kernels_xnnpack.c - Debian's XNNPACK (libxnnpack-dev, 0.0~git20220216) on the
 * activations it shares with cifar-act, in elements per nanosecond: the bar to aim at.
 *
 * Usage: bench_kernels_xnnpack [name...]
 * Same measurement as tools/bench_kernels.c: y = f(x) on 196,608 and 30,720,000 floats
 * uniform in [-8, 8] (the same generator and seed), same warm-up, runs and median, and
 * the same table layout, with cifar-act's function names. One thread: every operator is
 * set up and run with a NULL pthreadpool, so XNNPACK runs all tiles on the caller.
 * Only xnn_run_operator is timed; the operator is created once and set up once per
 * size, outside the timing, as a network would.
 *
 * Only exact equivalents at cifar-act's default parameters are listed (see xnn_table).
 * Not here: selu (XNNPACK's ELU has no scale), softmax family (XNNPACK's softmax is over
 * contiguous channels, ours over the strided channel planes of [N][3][32][32]), and the
 * functions XNNPACK 2022-02 lacks (gelu, silu, mish, tanh, softplus, ...).
 *
 * Before timing, every operator's output is checked against a double-precision
 * reference on the whole small input; the program fails if any is off.
 *
 * Build: make build/tools/bench_kernels_xnnpack (only when /usr/include/xnnpack.h
 * exists); links -lXNNPACK, whose shared library pulls in cpuinfo and pthreadpool.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xnnpack.h>

#include "bench_common.h"


/* ---- Operators ---- */

enum xnn_kind { XK_CLAMP, XK_LEAKY_RELU, XK_ELU, XK_SIGMOID, XK_HARDSWISH, XK_COPY };

struct xnn_row {
    const char *name;    /* cifar-act's name (act_table) */
    const char *xnn;     /* what runs it, for the header comment */
    enum xnn_kind kind;
    float a, b;          /* clamp min/max, slope, alpha */
    double (*ref)(double x, double a, double b);
};

static double ref_clamp(double x, double a, double b) { return x < a ? a : x > b ? b : x; }
static double ref_leaky(double x, double a, double b) { (void)b; return x > 0 ? x : a * x; }
static double ref_elu(double x, double a, double b) { (void)b; return x > 0 ? x : a * expm1(x); }
static double ref_sigmoid(double x, double a, double b)
{
    (void)a, (void)b;
    return 1 / (1 + exp(-x));
}
static double ref_hardswish(double x, double a, double b)
{
    (void)a, (void)b;
    return x * ref_clamp(x + 3, 0, 6) / 6;
}
static double ref_identity(double x, double a, double b) { (void)a, (void)b; return x; }

/* To compare another function: add a row whose XNNPACK operator computes exactly
 * cifar-act's function at its default parameters (see act_table in src/act.c). */
static const struct xnn_row xnn_table[] = {
    {"relu", "clamp(0, inf)", XK_CLAMP, 0.0f, INFINITY, ref_clamp},
    {"relu6", "clamp(0, 6)", XK_CLAMP, 0.0f, 6.0f, ref_clamp},
    {"leaky_relu", "leaky_relu(0.01)", XK_LEAKY_RELU, 0.01f, 0, ref_leaky},
    /* RReLU in eval mode: a leaky ReLU with slope (lower + upper) / 2. */
    {"rrelu", "leaky_relu((1/8 + 1/3) / 2)", XK_LEAKY_RELU, (1.0f / 8.0f + 1.0f / 3.0f) / 2.0f,
     0, ref_leaky},
    {"elu", "elu(1)", XK_ELU, 1.0f, 0, ref_elu},
    /* CELU(alpha=1) is ELU(alpha=1). */
    {"celu", "elu(1)", XK_ELU, 1.0f, 0, ref_elu},
    {"sigmoid", "sigmoid", XK_SIGMOID, 0, 0, ref_sigmoid},
    {"hardtanh", "clamp(-1, 1)", XK_CLAMP, -1.0f, 1.0f, ref_clamp},
    {"hardswish", "hardswish", XK_HARDSWISH, 0, 0, ref_hardswish},
    /* PReLU with one weight at its initial value is a leaky ReLU with slope 0.25 (as
     * in act_table). Not XNNPACK's PReLU operator: with channels = 1 it treats every
     * element as a row and runs at ~0.8 elements/ns, a layout it is not made for. */
    {"prelu", "leaky_relu(0.25)", XK_LEAKY_RELU, 0.25f, 0, ref_leaky},
    {"identity", "copy_nc_x32", XK_COPY, 0, 0, ref_identity},
};

/* Creates the operator for row r (channels = strides = 1: a flat array of batch
 * elements). Returns xnn_status_success or XNNPACK's error. */
static enum xnn_status xnn_row_create(const struct xnn_row *r, xnn_operator_t *op)
{
    switch (r->kind) {
    case XK_CLAMP:
        return xnn_create_clamp_nc_f32(1, 1, 1, r->a, r->b, 0, op);
    case XK_LEAKY_RELU:
        return xnn_create_leaky_relu_nc_f32(1, 1, 1, r->a, 0, op);
    case XK_ELU:
        return xnn_create_elu_nc_f32(1, 1, 1, r->a, 0, op);
    case XK_SIGMOID:
        return xnn_create_sigmoid_nc_f32(1, 1, 1, 0, op);
    case XK_HARDSWISH:
        return xnn_create_hardswish_nc_f32(1, 1, 1, 0, op);
    case XK_COPY:
        return xnn_create_copy_nc_x32(1, 1, 1, 0, op);
    }
    return xnn_status_invalid_parameter;
}

/* Points op at y = f(x) over n elements, no threadpool (one thread). */
static enum xnn_status xnn_row_setup(const struct xnn_row *r, xnn_operator_t op, float *y,
                                     const float *x, size_t n)
{
    switch (r->kind) {
    case XK_CLAMP:
        return xnn_setup_clamp_nc_f32(op, n, x, y, NULL);
    case XK_LEAKY_RELU:
        return xnn_setup_leaky_relu_nc_f32(op, n, x, y, NULL);
    case XK_ELU:
        return xnn_setup_elu_nc_f32(op, n, x, y, NULL);
    case XK_SIGMOID:
        return xnn_setup_sigmoid_nc_f32(op, n, x, y, NULL);
    case XK_HARDSWISH:
        return xnn_setup_hardswish_nc_f32(op, n, x, y, NULL);
    case XK_COPY:
        return xnn_setup_copy_nc_x32(op, n, x, y, NULL);
    }
    return xnn_status_invalid_parameter;
}

/* ---- Timing: bench_common.h, as for our kernels ---- */

static int xnn_run_once(void *op)
{
    return xnn_run_operator((xnn_operator_t)op, NULL) != xnn_status_success;
}

/* Largest error of y against r->ref over n elements, in units of max(|ref|, 1) * 2^-23
 * (float ulps near 1, absolute near 0, where sigmoid and elu saturate). */
static double max_err_ulps(const struct xnn_row *r, const float *y, const float *x, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double want = r->ref(x[i], r->a, r->b);
        double e = fabs(y[i] - want) / (fmax(fabs(want), 1.0) * 0x1p-23);
        if (!(e <= worst)) /* NaN counts as worst */
            worst = isnan(e) ? INFINITY : e;
    }
    return worst;
}

/* ---- Main ---- */

int main(int argc, char **argv)
{
    /* XNNPACK's approximations are a few ulps; 64 leaves room and still catches a
     * wrong operator or parameter (those are off by ~2^20 ulps). */
    const double tol_ulps = 64;
    size_t nmax = bench_sizes[1];
    float *x = NULL, *y = NULL;
    int status = 1;

    if (argc > 1 && argv[1][0] == '-') {
        fprintf(stderr, "usage: %s [name...]\n", argv[0]);
        return 2;
    }
    if (xnn_initialize(NULL) != xnn_status_success) {
        fprintf(stderr, "xnn_initialize failed (CPU unsupported?)\n");
        return 1;
    }
    x = malloc(nmax * sizeof *x);
    y = malloc(nmax * sizeof *y);
    if (!x || !y) {
        fprintf(stderr, "out of memory\n");
        goto out;
    }
    bench_fill_inputs(x, nmax); /* the same inputs as bench_kernels.c */
    memset(y, 0, nmax * sizeof *y);

    printf("# XNNPACK (Debian libxnnpack0 0.0~git20220216, kernels picked at init for this "
           "CPU), 1 thread, y = f(x); elements/ns, median\n");
    printf("%-14s %12s %12s\n", "function", "n=196608", "n=30720000");
    for (size_t i = 0; i < sizeof xnn_table / sizeof xnn_table[0]; i++) {
        const struct xnn_row *r = &xnn_table[i];
        xnn_operator_t op = NULL;
        double res[2], err = 0;

        if (!bench_wanted(r->name, argc, argv, 1))
            continue;
        if (xnn_row_create(r, &op) != xnn_status_success) {
            fprintf(stderr, "%s: cannot create XNNPACK %s\n", r->name, r->xnn);
            goto out;
        }
        for (int s = 0; s < 2; s++) {
            if (xnn_row_setup(r, op, y, x, bench_sizes[s]) != xnn_status_success) {
                fprintf(stderr, "%s: cannot set up XNNPACK %s\n", r->name, r->xnn);
                xnn_delete_operator(op);
                goto out;
            }
            if (s == 0) {
                /* Check the whole small input before timing anything. */
                if (xnn_run_operator(op, NULL) == xnn_status_success)
                    err = max_err_ulps(r, y, x, bench_sizes[0]);
                else
                    err = INFINITY;
            }
            res[s] = err <= tol_ulps
                         ? bench_median_rate(xnn_run_once, NULL, op, bench_sizes[s])
                         : -1;
            if (res[s] < 0) {
                fprintf(stderr, "%s: XNNPACK %s fails or is wrong (max error %.3g ulps)\n",
                        r->name, r->xnn, err);
                xnn_delete_operator(op);
                goto out;
            }
        }
        xnn_delete_operator(op);
        printf("%-14s %12.3f %12.3f   # %s, max error %.1f ulps\n", r->name, res[0], res[1],
               r->xnn, err);
        fflush(stdout);
    }
    status = 0;
out:
    free(y);
    free(x);
    xnn_deinitialize();
    return status;
}
