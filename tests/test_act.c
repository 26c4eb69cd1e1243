/* test_act.c - act_table against PyTorch goldens, spec parsing, ToTensor, chains.
 *
 * Golden data: tests/golden/kernels.{txt,f32} from tools/gen_golden_kernels.py
 * (PyTorch 1.13 CPU float32, one thread). Every table row must have a golden row.
 * Every kernel implementation the CPU can run (avx512f, avx2, default, generic) is checked.
 *
 * Accuracy bound, per output element with PyTorch value r and ours y:
 *   - NaN where PyTorch gives NaN (and only there); the same infinity where it gives one;
 *   - otherwise |y - r| <= max(4 ulp(r), 1e-7 if |r| < 1e-6, cancellation floor).
 * The cancellation floor is non-zero only for rows whose PyTorch formula subtracts
 * two O(1) rounded values, so that PyTorch's own result carries an absolute error of a
 * few ulp of that intermediate; matching it more tightly would mean matching its
 * libm bit for bit. These rows and floors are:
 *   elu, selu, celu (x <= 0): (exp(x) - 1) * negcoef -> 4 * 2^-24 * |negcoef|
 *   gelu (both):  x/2 * (1 + erf|tanh(...)) -> 4 * 2^-24 * |x|
 *   tanhshrink:   x - tanh(x)               -> 4 ulp(x)
 *   log_softmax:  (x - max) - log(sum)      -> 4 * 2^-23 (log(sum) < 1.1)
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "act.h"
#include "act_kernels.h"
#include "check.h"

/* ---- Golden data ---- */

#define MAX_GOLDEN 128

struct golden {
    size_t n;           /* inputs per block */
    size_t shape[4];    /* N C H W */
    float *data;        /* whole kernels.f32 */
    size_t n_data;
    int n_rows;
    char spec[MAX_GOLDEN][128];
    size_t offset[MAX_GOLDEN];
};

static int load_golden(struct golden *g)
{
    char path[4096];
    const char *root = check_env("CA_ROOT", ".");
    FILE *f;
    char line[512];

    memset(g, 0, sizeof *g);
    snprintf(path, sizeof path, "%s/tests/golden/kernels.txt", root);
    f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        size_t off;
        int at;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        if (sscanf(line, "shape %zu %zu %zu %zu", &g->shape[0], &g->shape[1], &g->shape[2],
                   &g->shape[3]) == 4)
            continue;
        if (strncmp(line, "inputs", 6) == 0)
            continue;
        if (sscanf(line, "row %zu %n", &off, &at) == 1 && g->n_rows < MAX_GOLDEN) {
            g->offset[g->n_rows] = off;
            snprintf(g->spec[g->n_rows], sizeof g->spec[0], "%s", line + at);
            g->n_rows++;
        }
    }
    fclose(f);
    g->n = g->shape[0] * g->shape[1] * g->shape[2] * g->shape[3];

    snprintf(path, sizeof path, "%s/tests/golden/kernels.f32", root);
    f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    g->n_data = g->n * (size_t)(g->n_rows + 1);
    g->data = malloc(g->n_data * sizeof *g->data);
    if (!g->data || fread(g->data, sizeof *g->data, g->n_data, f) != g->n_data) {
        fprintf(stderr, "short read of %s\n", path);
        fclose(f);
        return -1;
    }
    fclose(f);
    /* The file is little-endian; so is every machine we build on. */
    for (int i = 0; i < g->n_rows; i++)
        if (g->offset[i] + g->n > g->n_data)
            return -1;
    return g->n > 0 && g->n_rows > 0 ? 0 : -1;
}

static double ulp(float v)
{
    v = fabsf(v);
    if (v >= 3.4028234e38f)
        return (double)v - (double)nextafterf(v, 0.0f);
    return (double)nextafterf(v, INFINITY) - (double)v;
}

/* The cancellation floor documented at the top. */
static double cancel_floor(const struct cact_act_fn *fn, float x)
{
    const char *name = fn->desc->name;
    if (strcmp(name, "elu") == 0 || strcmp(name, "celu") == 0)
        return x <= 0.0f ? 4.0 * 0x1p-24 * fabs((double)fn->p[0]) : 0.0;
    if (strcmp(name, "selu") == 0)
        return x <= 0.0f ? 4.0 * 0x1p-24 * 1.7581 : 0.0;
    if (strcmp(name, "gelu") == 0)
        return 4.0 * 0x1p-24 * fabs((double)x);
    if (strcmp(name, "tanhshrink") == 0)
        return 4.0 * ulp(x);
    if (strcmp(name, "log_softmax") == 0)
        return 4.0 * 0x1p-23;
    return 0.0;
}

static int verbose;
static struct cact_act_fn parse_ok(const char *spec);

/* Every kernel implementation this build and CPU can run; tests loop over them. */
static const char *const isas[] = {"avx512f", "avx2", "default", "generic"};
#define N_ISAS (sizeof isas / sizeof isas[0])

static int use_isa(size_t k)
{
    return cact_act_kernels_use(isas[k]) == 0;
}

/* Compare one golden row; returns the number of bad elements (also CHECKed). */
static int check_row(const struct golden *g, int row, const struct cact_act_fn *fn, const char *path)
{
    const float *x = g->data, *ref = g->data + g->offset[row];
    size_t n = g->n, plane = g->shape[2] * g->shape[3];
    float *y = malloc(n * sizeof *y);
    int bad = 0;
    double worst = 0.0;

    if (fn->desc->kind == CACT_ACT_KIND_ELEM)
        cact_act_apply(fn, y, x, 1, 1, n);
    else
        cact_act_apply(fn, y, x, g->shape[0], g->shape[1], plane);
    for (size_t i = 0; i < n; i++) {
        float r = ref[i], v = y[i];
        int ok;
        double err = 0.0;
        /* For channel-wise rows the input that matters is the pixel's; use this one. */
        if (isnan(r)) {
            ok = isnan(v);
        } else if (isinf(r)) {
            ok = v == r;
        } else {
            double tol = 4.0 * ulp(r);
            if (fabsf(r) < 1e-6f && tol < 1e-7)
                tol = 1e-7;
            double fl = cancel_floor(fn, x[i]);
            if (fl > tol)
                tol = fl;
            err = fabs((double)v - (double)r);
            ok = err <= tol;
            if (err / ulp(r) > worst && !(fabsf(r) < 1e-6f))
                worst = err / ulp(r);
        }
        if (!ok) {
            if (bad < 5)
                fprintf(stderr, "  %s [%s] x=%.9g: got %.9g, PyTorch %.9g (%.1f ulp)\n",
                        g->spec[row], path, (double)x[i], (double)v, (double)r,
                        isfinite(r) && isfinite(v) ? fabs((double)v - r) / ulp(r) : -1.0);
            bad++;
        }
    }
    CHECK_MSG(bad == 0, "%s [%s]: %d of %zu outputs off PyTorch", g->spec[row], path, bad, n);
    if (verbose)
        printf("  %-40s %-8s worst %.2f ulp (|r| >= 1e-6), %d bad\n", g->spec[row], path,
               worst, bad);
    free(y);
    return bad;
}

static void test_golden(const struct golden *g)
{
    int covered[64] = {0};
    CHECK(cact_act_count() <= 64);
    for (size_t ik = 0; ik < N_ISAS; ik++) {
        if (!use_isa(ik))
            continue;
        const char *path = isas[ik];
        for (int r = 0; r < g->n_rows; r++) {
            struct cact_act_fn fn;
            struct cact_err err;
            cact_err_clear(&err);
            enum cact_status st = cact_act_parse(g->spec[r], &fn, &err);
            CHECK_MSG(st == CACT_OK, "golden spec '%s' does not parse: %s", g->spec[r], err.msg);
            if (st != CACT_OK)
                continue;
            for (size_t i = 0; i < cact_act_count(); i++)
                if (cact_act_at(i) == fn.desc)
                    covered[i] = 1;
            check_row(g, r, &fn, path);
        }
    }
    cact_act_kernels_set_generic(0);
    for (size_t i = 0; i < cact_act_count(); i++)
        CHECK_MSG(covered[i], "row '%s' has no golden data: add it to "
                  "tools/golden_specs.py and regenerate (act.h, step 4)", cact_act_at(i)->name);
}

/* NaN in: NaN out for every row but softshrink, which PyTorch maps to 0. */
static void test_nan(void)
{
    for (size_t ik = 0; ik < N_ISAS; ik++) {
        if (!use_isa(ik))
            continue;
        for (size_t i = 0; i < cact_act_count(); i++) {
            const struct cact_act_desc *d = cact_act_at(i);
            struct cact_act_fn fn = {d, {0}};
            float x[3 * 4], y[3 * 4];
            for (int k = 0; k < d->n_params; k++)
                fn.p[k] = isnan(d->params[k].def) ? 0.5f : d->params[k].def;
            for (int k = 0; k < 12; k++)
                x[k] = k % 4 == 1 ? NAN : 0.25f * (float)k;
            cact_act_apply(&fn, y, x, 1, 3, 4);
            int want_nan = strcmp(d->name, "softshrink") != 0;
            for (int k = 1; k < 12; k += 4)
                CHECK_MSG(want_nan ? isnan(y[k]) : y[k] == 0.0f, "%s(NaN) = %g [%s]", d->name,
                          (double)y[k], isas[ik]);
        }
    }
    cact_act_kernels_set_generic(0);
}

/* y == x gives the same bits as y != x, for every row, on the golden inputs. */
static void test_in_place(const struct golden *g)
{
    size_t n = g->n, plane = g->shape[2] * g->shape[3];
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    for (size_t ik = 0; ik < N_ISAS; ik++) {
        if (!use_isa(ik))
            continue;
        for (size_t i = 0; i < cact_act_count(); i++) {
            const struct cact_act_desc *d = cact_act_at(i);
            struct cact_act_fn fn = {d, {0}};
            for (int k = 0; k < d->n_params; k++)
                fn.p[k] = isnan(d->params[k].def) ? 0.5f : d->params[k].def;
            memcpy(b, g->data, n * sizeof *b);
            if (d->kind == CACT_ACT_KIND_ELEM) {
                cact_act_apply(&fn, a, g->data, 1, 1, n);
                cact_act_apply(&fn, b, b, 1, 1, n);
            } else {
                cact_act_apply(&fn, a, g->data, g->shape[0], g->shape[1], plane);
                cact_act_apply(&fn, b, b, g->shape[0], g->shape[1], plane);
            }
            CHECK_MSG(memcmp(a, b, n * sizeof *a) == 0, "%s: in place differs [%s]", d->name,
                      isas[ik]);
            /* Odd lengths and offsets: the scalar tail must agree with the vector body. */
            if (d->kind == CACT_ACT_KIND_ELEM) {
                cact_act_apply(&fn, b, g->data + 3, 1, 1, 1001);
                for (size_t k = 0; k < 1001; k++)
                    if (memcmp(&b[k], &a[k + 3], sizeof *b) != 0) {
                        CHECK_MSG(0, "%s: element %zu depends on its position [%s]", d->name,
                                  k + 3, isas[ik]);
                        break;
                    }
            }
        }
    }
    cact_act_kernels_set_generic(0);
    free(a);
    free(b);
}

/* Large arrays (2^21 floats and up) take the fast kernels' streaming path: it must give
 * the same bits as small calls, aligned or not, in place or not. */
static void test_large(const struct golden *g)
{
    size_t n = ((size_t)1 << 21) + 4099, plane = 1024, n_img = n / (3 * plane) + 1;
    size_t total = n_img * 3 * plane;
    float *x = malloc((total + 16) * sizeof *x), *y = malloc((total + 16) * sizeof *y);
    float *ref = malloc(total * sizeof *ref);
    static const char *const specs[] = {"relu", "sigmoid", "gelu", "identity", "softplus",
                                        "softmax", "log_softmax", "softmin"};
    for (size_t i = 0; i < total + 16; i++)
        x[i] = g->data[i % g->n];
    for (size_t ik = 0; ik < N_ISAS; ik++) {
        if (!use_isa(ik))
            continue;
        for (size_t s = 0; s < sizeof specs / sizeof specs[0]; s++) {
            struct cact_act_fn fn = parse_ok(specs[s]);
            for (int shift = 0; shift <= 1; shift++) {
                float *xs = x + shift, *ys = y + shift;
                if (fn.desc->kind == CACT_ACT_KIND_ELEM) {
                    for (size_t i = 0; i < n; i += 4096)
                        cact_act_apply(&fn, ref + i, xs + i, 1, 1, n - i < 4096 ? n - i : 4096);
                    cact_act_apply(&fn, ys, xs, 1, 1, n);
                    CHECK_MSG(memcmp(ys, ref, n * sizeof *ref) == 0,
                              "%s: large call differs (shift %d) [%s]", specs[s], shift,
                              isas[ik]);
                    memcpy(ys, xs, n * sizeof *ys);
                    cact_act_apply(&fn, ys, ys, 1, 1, n);
                    CHECK_MSG(memcmp(ys, ref, n * sizeof *ref) == 0,
                              "%s: large in-place call differs (shift %d) [%s]", specs[s],
                              shift, isas[ik]);
                } else {
                    for (size_t i = 0; i < n_img; i++)
                        cact_act_apply(&fn, ref + i * 3 * plane, xs + i * 3 * plane, 1, 3,
                                       plane);
                    cact_act_apply(&fn, ys, xs, n_img, 3, plane);
                    CHECK_MSG(memcmp(ys, ref, total * sizeof *ref) == 0,
                              "%s: large call differs (shift %d) [%s]", specs[s], shift,
                              isas[ik]);
                }
            }
        }
    }
    cact_act_kernels_set_generic(0);
    free(x);
    free(y);
    free(ref);
}

/* ---- Table and lookup ---- */

/* Every row is filled in: an enum cact_act_id value inserted without its row leaves a
 * hole of zeros in act_table. Returns 0 when some row is empty (the other tests would
 * only crash on it). */
static int test_rows_filled(void)
{
    int ok = 1;
    CHECK(cact_act_count() == CACT_ACT_COUNT);
    for (size_t i = 0; i < cact_act_count(); i++) {
        const struct cact_act_desc *d = cact_act_at(i);
        int filled = d && d->name && d->torch_module && d->formula;
        CHECK_MSG(filled, "row %zu of act_table is empty (after '%s'): enum cact_act_id has "
                  "a value without a row", i, i > 0 && cact_act_at(i - 1)->name
                  ? cact_act_at(i - 1)->name : "-");
        if (!filled)
            ok = 0;
        else
            CHECK_MSG(cact_act_id_of(d) == (enum cact_act_id)i, "%s: id", d->name);
    }
    return ok;
}

/* Every implementation compiled in (generic, default, and the AVX2 / AVX-512 clones,
 * whether or not this CPU runs them) has exactly one kernel per row: the slot of the
 * row's kind, and not the other. Returns 0 on a gap (the other tests would crash). */
static int test_kernel_tables(void)
{
    int ok = 1, n_impl = 0, all_have[CACT_ACT_COUNT];
    const struct cact_act_impl *im;
    for (size_t i = 0; i < CACT_ACT_COUNT; i++)
        all_have[i] = 1;
    for (size_t k = 0; (im = cact_act_impl_at(k)) != NULL; k++) {
        n_impl++;
        for (size_t i = 0; i < cact_act_count(); i++) {
            const struct cact_act_desc *d = cact_act_at(i);
            int is_elem = d->kind == CACT_ACT_KIND_ELEM;
            int has = is_elem ? im->elem[i] != NULL : im->chan[i] != NULL;
            int other = is_elem ? im->chan[i] != NULL : im->elem[i] != NULL;
            CHECK_MSG(has, "kernel tables: %s has no kernel for '%s' (see act.h, steps 2-3)",
                      im->isa, d->name);
            CHECK_MSG(!other, "kernel tables: %s has a %s kernel for the %s row '%s'", im->isa,
                      is_elem ? "channel-wise" : "element-wise",
                      is_elem ? "element-wise" : "channel-wise", d->name);
            if (!has || other)
                ok = 0;
            if (!has)
                all_have[i] = 0;
        }
    }
    /* cact_act_parse refuses the rows this reports incomplete. */
    for (size_t i = 0; i < cact_act_count(); i++)
        CHECK_MSG(cact_act_kernels_complete((enum cact_act_id)i, cact_act_at(i)->kind) ==
                  all_have[i], "cact_act_kernels_complete disagrees for '%s'",
                  cact_act_at(i)->name);
    CHECK_MSG((size_t)n_impl == cact_act_impl_count(), "cact_act_impl_count");
    /* This build's list: generic + default, and the two clones on x86-64 GCC. */
    CHECK_MSG(n_impl >= 2, "only %d implementations", n_impl);
    if (cact_act_fast_impl("avx2"))
        CHECK(n_impl == 4);
    return ok;
}

static void test_table(void)
{
    CHECK(cact_act_count() >= 27);
    CHECK(cact_act_at(cact_act_count()) == NULL);
    for (size_t i = 0; i < cact_act_count(); i++) {
        const struct cact_act_desc *d = cact_act_at(i);
        CHECK_MSG(d->kind == CACT_ACT_KIND_ELEM || d->kind == CACT_ACT_KIND_CHAN, "%s: kind",
                  d->name);
        CHECK_MSG(d->formula && d->formula[0], "%s: formula", d->name);
        CHECK_MSG(d->n_params >= 0 && d->n_params <= CACT_ACT_MAX_PARAMS, "%s", d->name);
        CHECK(cact_act_find(d->name) == d);
        CHECK(cact_act_find(d->torch_module) == d);
        for (size_t j = 0; j < i; j++) {
            CHECK_MSG(strcmp(cact_act_at(j)->name, d->name) != 0, "duplicate %s", d->name);
            CHECK_MSG(strcmp(cact_act_at(j)->torch_module, d->torch_module) != 0, "duplicate %s",
                      d->torch_module);
        }
    }
    CHECK(cact_act_find("RELU") == NULL);
    CHECK(cact_act_find("") == NULL);
    CHECK(cact_act_find("relu ") == NULL);
    static const char *const required[] = {
        "relu", "relu6", "leaky_relu", "rrelu", "elu", "selu", "celu", "gelu", "silu",
        "mish", "sigmoid", "hardsigmoid", "tanh", "hardtanh", "hardswish", "hardshrink",
        "softshrink", "tanhshrink", "softplus", "softsign", "logsigmoid", "threshold",
        "prelu", "identity", "softmax", "log_softmax", "softmin"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        CHECK_MSG(cact_act_find(required[i]) != NULL, "missing row %s", required[i]);
}

/* ---- Parsing ---- */

static struct cact_act_fn parse_ok(const char *spec)
{
    struct cact_act_fn fn;
    struct cact_err err;
    memset(&fn, 0, sizeof fn);
    cact_err_clear(&err);
    enum cact_status st = cact_act_parse(spec, &fn, &err);
    CHECK_MSG(st == CACT_OK, "'%s' should parse: %s", spec, err.msg);
    return fn;
}

static void parse_bad(const char *spec, const char *want1, const char *want2)
{
    struct cact_act_fn fn;
    struct cact_err err;
    cact_err_clear(&err);
    enum cact_status st = cact_act_parse(spec, &fn, &err);
    CHECK_MSG(st == CACT_ERR_USAGE, "'%s' should fail", spec);
    CHECK_MSG(err.code == CACT_ERR_USAGE, "'%s': err.code", spec);
    CHECK_MSG(strstr(err.msg, want1) != NULL, "'%s': message '%s' lacks '%s'", spec, err.msg,
              want1);
    if (want2)
        CHECK_MSG(strstr(err.msg, want2) != NULL, "'%s': message '%s' lacks '%s'", spec,
                  err.msg, want2);
    CHECK_MSG(strchr(err.msg, '\n') == NULL, "'%s': message is one line", spec);
}

static void test_parse(void)
{
    struct cact_act_fn fn;

    fn = parse_ok("relu");
    CHECK(fn.desc == cact_act_find("relu"));
    fn = parse_ok("relu()");
    CHECK(fn.desc == cact_act_find("relu"));
    fn = parse_ok("  relu ( )  ");
    CHECK(fn.desc == cact_act_find("relu"));
    fn = parse_ok("ReLU");
    CHECK(fn.desc == cact_act_find("relu"));
    fn = parse_ok("leaky_relu");
    CHECK(fn.p[0] == 0.01f);
    fn = parse_ok("LeakyReLU(negative_slope=0.2)");
    CHECK(fn.desc == cact_act_find("leaky_relu") && fn.p[0] == 0.2f);
    fn = parse_ok("leaky_relu(0.2)");
    CHECK(fn.p[0] == 0.2f);
    fn = parse_ok("hardtanh(-2, 2)");
    CHECK(fn.p[0] == -2.0f && fn.p[1] == 2.0f);
    fn = parse_ok("hardtanh(max_val=3, min_val=-2)");
    CHECK(fn.p[0] == -2.0f && fn.p[1] == 3.0f);
    fn = parse_ok("hardtanh(-2, max_val=3)");
    CHECK(fn.p[0] == -2.0f && fn.p[1] == 3.0f);
    fn = parse_ok("hardtanh(max_val=3)");
    CHECK(fn.p[0] == -1.0f && fn.p[1] == 3.0f);
    fn = parse_ok("gelu");
    CHECK(fn.p[0] == 0.0f);
    fn = parse_ok("gelu(approximate='tanh')");
    CHECK(fn.p[0] == 1.0f);
    fn = parse_ok("gelu(approximate=\"tanh\")");
    CHECK(fn.p[0] == 1.0f);
    fn = parse_ok("gelu(approximate=tanh)");
    CHECK(fn.p[0] == 1.0f);
    fn = parse_ok("GELU('none')");
    CHECK(fn.desc == cact_act_find("gelu") && fn.p[0] == 0.0f);
    fn = parse_ok("rrelu");
    CHECK(fn.p[0] == 0.125f && fn.p[1] == 1.0f / 3.0f);
    fn = parse_ok("softplus(beta=2, threshold=5)");
    CHECK(fn.p[0] == 2.0f && fn.p[1] == 5.0f);
    fn = parse_ok("threshold(0.5, -1)");
    CHECK(fn.p[0] == 0.5f && fn.p[1] == -1.0f);
    fn = parse_ok("Threshold(threshold=1e-1,value=2.5e1)");
    CHECK(fn.p[0] == 0.1f && fn.p[1] == 25.0f);
    fn = parse_ok("prelu");
    CHECK(fn.p[0] == 0.25f);
    fn = parse_ok("Softmax");
    CHECK(fn.desc == cact_act_find("softmax"));

    parse_bad("foo", "unknown activation 'foo'", "log_softmax");
    parse_bad("relu7", "unknown activation", "relu6");
    parse_bad("", "expected an activation name", "relu");
    parse_bad("(1)", "expected an activation name", "relu");
    parse_bad("leaky_relu(slope=1)", "unknown parameter 'slope'", "negative_slope");
    parse_bad("softplus(betta=1)", "unknown parameter", "beta, threshold");
    parse_bad("relu(1)", "takes no parameters", NULL);
    parse_bad("leaky_relu(abc)", "bad number 'abc'", "negative_slope");
    parse_bad("leaky_relu(negative_slope=)", "bad number", NULL);
    parse_bad("leaky_relu(0.1", "missing ')'", NULL);
    parse_bad("leaky_relu(0.1,", "empty argument", NULL);
    parse_bad("leaky_relu(0.1) x", "trailing", NULL);
    parse_bad("leaky_relu x", "trailing", NULL);
    parse_bad("leaky_relu(0.1x)", "unexpected 'x)'", NULL);
    parse_bad("hardtanh(1 2)", "unexpected", NULL);
    parse_bad("hardtanh(1, 2, 3)", "too many values", "min_val, max_val");
    parse_bad("hardtanh(min_val=1, 2)", "positional value after a keyword", NULL);
    parse_bad("hardtanh(1, min_val=2)", "min_val given twice", NULL);
    parse_bad("leaky_relu(,)", "empty argument", NULL);
    parse_bad("gelu(approximate='fast')", "one of 'none', 'tanh'", "fast");
    parse_bad("gelu(approximate='tanh)", "unterminated", "'none', 'tanh'");
    parse_bad("gelu(approximate=1)", "one of 'none', 'tanh'", NULL);
    parse_bad("threshold", "missing required parameter 'threshold'", "threshold, value");
    parse_bad("threshold(0.5)", "missing required parameter 'value'", NULL);
    parse_bad("rrelu(0.5, 0.1)", "lower", "upper");
    parse_bad("hardtanh(2, 1)", "min_val", "max_val");
    parse_bad("softshrink(-1)", "lambd must be >= 0", NULL);
    parse_bad("celu(alpha=0)", "alpha must not be 0", NULL);
    parse_bad("softplus(beta=0)", "beta must not be 0", NULL);
    parse_bad("leaky_relu(nan)", "finite", NULL);
    parse_bad("leaky_relu(inf)", "finite", NULL);
    parse_bad("leaky_relu(1e39)", "finite", NULL);
}

/* PyTorch spellings as users paste them (module paths, inplace=, dim=): the same
 * function as the plain name, the same canonical spelling, and clear errors. */
static void test_parse_pytorch(void)
{
    static const struct {
        const char *spec, *canonical;
    } ok[] = {
        {"nn.ReLU()", "relu"},
        {"torch.nn.ReLU(inplace=True)", "relu"},
        {"nn.ReLU(inplace=False)", "relu"},
        {"nn.ReLU(True)", "relu"},
        {"relu(inplace=True)", "relu"},
        {"relu(inplace=1)", "relu"},
        {"F.relu", "relu"},
        {"F.relu(inplace=True)", "relu"},
        {"torch.relu", "relu"},
        {"torch.sigmoid", "sigmoid"},
        {"torch.nn.Sigmoid()", "sigmoid"},
        {"nn.functional.silu(inplace=False)", "silu"},
        {"torch.nn.functional.gelu(approximate='tanh')", "gelu(approximate='tanh')"},
        {"nn.GELU(approximate='tanh')", "gelu(approximate='tanh')"},
        {"nn.LeakyReLU(0.2, True)", "leaky_relu(negative_slope=0.2)"},
        {"nn.LeakyReLU(negative_slope=0.2, inplace=True)", "leaky_relu(negative_slope=0.2)"},
        {"nn.Hardtanh(-2, 2, inplace=True)", "hardtanh(min_val=-2, max_val=2)"},
        {"nn.Threshold(0.1, 20, True)", "threshold(threshold=0.1, value=20)"},
        {"nn.Softmax(dim=1)", "softmax"},
        {"nn.Softmax(1)", "softmax"},
        {"nn.Softmax(dim=-3)", "softmax"},
        {"torch.nn.LogSoftmax(dim=1)", "log_softmax"},
        {"F.softmin(dim=1)", "softmin"},
        {"torch.softmax(dim=1)", "softmax"},
        {" nn.ELU( alpha = 0.5 , inplace = True ) ", "elu(alpha=0.5)"},
    };
    char buf[256];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct cact_act_fn fn = parse_ok(ok[i].spec), plain;
        if (!fn.desc)
            continue;
        cact_act_format(&fn, buf, sizeof buf);
        CHECK_MSG(strcmp(buf, ok[i].canonical) == 0, "'%s' formats as '%s', not '%s'",
                  ok[i].spec, buf, ok[i].canonical);
        plain = parse_ok(ok[i].canonical);
        CHECK_MSG(plain.desc == fn.desc && memcmp(plain.p, fn.p, sizeof fn.p) == 0,
                  "'%s' is not '%s'", ok[i].spec, ok[i].canonical);
    }

    parse_bad("nn.Softmax(dim=2)", "dim=2 is not supported", "dim=1");
    parse_bad("nn.Softmax(dim=0)", "dim=0 is not supported", NULL);
    parse_bad("nn.Softmax(dim=None)", "dim=None is not supported", NULL);
    parse_bad("nn.Softmax(dim=1.0)", "dim=1.0 is not supported", NULL);
    parse_bad("nn.Softmax(2)", "dim=2 is not supported", NULL);
    parse_bad("nn.Softmax(dim=1, dim=1)", "dim given twice", NULL);
    parse_bad("relu(dim=1)", "takes no parameters (got 'dim')", NULL);
    parse_bad("leaky_relu(dim=1)", "unknown parameter 'dim'", "negative_slope");
    parse_bad("relu(inplace=yes)", "inplace must be True or False, not 'yes'", NULL);
    parse_bad("relu(inplace=true)", "inplace must be True or False", NULL);
    parse_bad("relu(inplace=)", "inplace must be True or False", NULL);
    parse_bad("relu(inplace=True, inplace=False)", "inplace given twice", NULL);
    parse_bad("nn.ReLU(True, True)", "takes no parameters", NULL);
    parse_bad("nn.ReLU(inplace=True", "missing ')'", NULL);
    parse_bad("nn.relu", "torch.nn's class is nn.ReLU", "F.relu");
    parse_bad("torch.nn.relu()", "torch.nn's class is torch.nn.ReLU", NULL);
    parse_bad("F.ReLU", "the function is F.relu", "nn.ReLU");
    parse_bad("torch.Sigmoid", "the function is torch.sigmoid", NULL);
    parse_bad("np.relu", "unknown module path 'np'", "nn.ReLU");
    parse_bad("torch.nn.functional.nn.relu", "unknown module path", NULL);
    parse_bad("nn.", "unknown activation 'nn.'", "relu");
    parse_bad("nn.Swish()", "unknown activation 'nn.Swish'", "silu");
    parse_bad(".relu", "expected an activation name", NULL);
}

static void test_format(void)
{
    char buf[256];
    struct cact_act_fn fn;

    fn = parse_ok("relu");
    CHECK(strcmp(cact_act_format(&fn, buf, sizeof buf), "relu") == 0);
    fn = parse_ok("leaky_relu(0.2)");
    CHECK_MSG(strcmp(cact_act_format(&fn, buf, sizeof buf), "leaky_relu(negative_slope=0.2)") == 0,
              "%s", buf);
    fn = parse_ok("GELU(approximate='tanh')");
    CHECK_MSG(strcmp(cact_act_format(&fn, buf, sizeof buf), "gelu(approximate='tanh')") == 0, "%s",
              buf);
    fn = parse_ok("hardtanh");
    CHECK_MSG(strcmp(cact_act_format(&fn, buf, sizeof buf), "hardtanh(min_val=-1, max_val=1)") == 0,
              "%s", buf);
    fn = parse_ok("rrelu");
    CHECK_MSG(strcmp(cact_act_format(&fn, buf, sizeof buf), "rrelu(lower=0.125, upper=0.33333334)")
              == 0, "%s", buf);

    /* parse(format(x)) == x for every row, at defaults and at other values. */
    for (size_t i = 0; i < cact_act_count(); i++) {
        const struct cact_act_desc *d = cact_act_at(i);
        for (int variant = 0; variant < 2; variant++) {
            struct cact_act_fn a = {d, {0}}, b;
            struct cact_err err;
            for (int k = 0; k < d->n_params; k++) {
                float v = isnan(d->params[k].def) ? 0.5f * (float)(k + 1) : d->params[k].def;
                if (variant && !d->params[k].choices)
                    v = v * 1.5f + 0.1f * (float)(k + 1) + 1e-3f;
                if (variant && d->params[k].choices)
                    v = 1.0f;
                a.p[k] = v;
            }
            cact_act_format(&a, buf, sizeof buf);
            cact_err_clear(&err);
            memset(&b, 0, sizeof b);
            CHECK_MSG(cact_act_parse(buf, &b, &err) == CACT_OK, "'%s' does not parse: %s", buf,
                      err.msg);
            CHECK_MSG(b.desc == a.desc && memcmp(a.p, b.p, sizeof a.p) == 0,
                      "round trip of '%s'", buf);
        }
    }

    /* A short buffer is still terminated. */
    fn = parse_ok("softplus");
    cact_act_format(&fn, buf, 5);
    CHECK(strlen(buf) == 4);
    memset(buf, 'x', sizeof buf);
    cact_act_format(&fn, buf, 1);
    CHECK(buf[0] == '\0');
}

/* ---- ToTensor, Normalize, chains ---- */

static void test_normalize_parse(void)
{
    struct cact_act_chain ch;
    struct cact_err err;

    memset(&ch, 0, sizeof ch);
    CHECK(cact_act_parse_normalize("0.5,0.25", &ch, &err) == CACT_OK);
    CHECK(ch.normalize == 1);
    for (int c = 0; c < 3; c++)
        CHECK(ch.mean[c] == 0.5f && ch.std[c] == 0.25f);
    memset(&ch, 0, sizeof ch);
    CHECK(cact_act_parse_normalize("0.4914, 0.4822, 0.4465, 0.2470, 0.2435, 0.2616", &ch, &err)
          == CACT_OK);
    CHECK(ch.mean[1] == 0.4822f && ch.std[2] == 0.2616f);

    static const char *const bad[] = {"", "1", "1,0", "0,0,0,1,1,0", "1,2,3", "a,b",
                                      "0.5,0.5x", "1,2,3,4,5,6,7", "nan,1", "1,inf", "1,,2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&ch, 0, sizeof ch);
        cact_err_clear(&err);
        CHECK_MSG(cact_act_parse_normalize(bad[i], &ch, &err) == CACT_ERR_USAGE &&
                  err.msg[0] != '\0', "--normalize '%s' should fail", bad[i]);
    }
    cact_err_clear(&err);
    cact_act_parse_normalize("1,0", &ch, &err);
    CHECK_MSG(strstr(err.msg, "std") != NULL, "%s", err.msg);
}

static void test_to_tensor(void)
{
    struct cact_act_chain ch;
    uint8_t bytes[3 * 256];
    float y[3 * 256];
    int exact = 1;

    memset(&ch, 0, sizeof ch);
    for (int c = 0; c < 3; c++)
        for (int b = 0; b < 256; b++)
            bytes[c * 256 + b] = (uint8_t)b;
    cact_act_to_tensor(&ch, y, bytes, 1, 256);
    for (int c = 0; c < 3; c++)
        for (int b = 0; b < 256; b++) {
            volatile float fb = (float)b, d = 255.0f;
            float want = fb / d;
            if (memcmp(&want, &y[c * 256 + b], sizeof want) != 0)
                exact = 0;
        }
    CHECK_MSG(exact, "ToTensor is not (float)b / 255.0f bit for bit");
    /* And it is not the multiply by 1/255, which differs for some bytes. */
    int differs = 0;
    for (int b = 0; b < 256; b++) {
        volatile float fb = (float)b, r = 1.0f / 255.0f;
        if (fb * r != y[b])
            differs++;
    }
    CHECK(differs > 0);

    struct cact_err err;
    CHECK(cact_act_parse_normalize("0.4914,0.4822,0.4465,0.2470,0.2435,0.2616", &ch, &err) == CACT_OK);
    cact_act_to_tensor(&ch, y, bytes, 1, 256);
    exact = 1;
    for (int c = 0; c < 3; c++)
        for (int b = 0; b < 256; b++) {
            volatile float fb = (float)b, d = 255.0f, m = ch.mean[c], s = ch.std[c];
            float t = fb / d;
            volatile float u = t - m;
            float want = u / s;
            if (memcmp(&want, &y[c * 256 + b], sizeof want) != 0)
                exact = 0;
        }
    CHECK_MSG(exact, "Normalize is not (x - mean) / std in float32");
    /* Spot values from torchvision: ToTensor()(255) == 1, Normalize at 0 byte. */
    CHECK(y[255] == (1.0f - 0.4914f) / 0.2470f);

    /* Several images, planes in NCHW order. */
    memset(&ch, 0, sizeof ch);
    uint8_t two[2 * 3 * 4];
    float out[2 * 3 * 4];
    for (int i = 0; i < 24; i++)
        two[i] = (uint8_t)(i * 10);
    cact_act_to_tensor(&ch, out, two, 2, 4);
    for (int i = 0; i < 24; i++)
        CHECK(out[i] == (float)(i * 10) / 255.0f);
}

static void set_chain(struct cact_act_chain *ch, const char *const *specs, int n)
{
    ch->n = n;
    for (int i = 0; i < n; i++)
        ch->fn[i] = parse_ok(specs[i]);
}

static void test_chain(void)
{
    struct cact_act_chain ch;
    float x[3 * 8], a[3 * 8], b[3 * 8];

    memset(&ch, 0, sizeof ch);
    for (int i = 0; i < 24; i++)
        x[i] = -2.0f + 0.2f * (float)i;

    /* Order matters: threshold then relu differs from relu then threshold. */
    static const char *const order1[] = {"threshold(0.5, -1)", "relu"};
    static const char *const order2[] = {"relu", "threshold(0.5, -1)"};
    set_chain(&ch, order1, 2);
    memcpy(a, x, sizeof x);
    cact_act_chain_apply(&ch, a, 1, 8);
    for (int i = 0; i < 24; i++)
        CHECK(a[i] == (x[i] <= 0.5f ? 0.0f : x[i]));
    set_chain(&ch, order2, 2);
    memcpy(b, x, sizeof x);
    cact_act_chain_apply(&ch, b, 1, 8);
    for (int i = 0; i < 24; i++)
        CHECK(b[i] == (x[i] <= 0.5f ? -1.0f : x[i]));

    /* A channel-wise step in a chain: sums to 1 over the channels of each pixel. */
    static const char *const sm[] = {"tanh", "softmax"};
    set_chain(&ch, sm, 2);
    CHECK(!cact_act_chain_is_elementwise(&ch));
    memcpy(a, x, sizeof x);
    cact_act_chain_apply(&ch, a, 1, 8);
    for (int px = 0; px < 8; px++)
        CHECK_NEAR(a[px] + a[8 + px] + a[16 + px], 1.0, 1e-6);

    ch.n = 0;
    CHECK(cact_act_chain_is_elementwise(&ch));
    memcpy(a, x, sizeof x);
    cact_act_chain_apply(&ch, a, 1, 8);
    CHECK(memcmp(a, x, sizeof x) == 0);
    static const char *const el[] = {"relu", "sigmoid", "gelu('tanh')"};
    set_chain(&ch, el, 3);
    CHECK(cact_act_chain_is_elementwise(&ch));
    static const char *const mixed[] = {"relu", "log_softmax"};
    set_chain(&ch, mixed, 2);
    CHECK(!cact_act_chain_is_elementwise(&ch));
}

/* cact_act_chain_lut equals ToTensor(+Normalize) + cact_act_chain_apply, bit for bit, for every
 * element-wise row alone and in a chain, with and without Normalize, on both paths. */
static void test_lut(void)
{
    uint8_t bytes[2 * 3 * 256];
    float full[2 * 3 * 256], lut[CACT_ACT_CHANNELS][256];
    struct cact_err err;

    for (int img = 0; img < 2; img++)
        for (int c = 0; c < 3; c++)
            for (int b = 0; b < 256; b++)
                bytes[(img * 3 + c) * 256 + b] = (uint8_t)(img ? 255 - b : b);
    for (size_t ik = 0; ik < N_ISAS; ik++) {
        if (!use_isa(ik))
            continue;
        for (int norm = 0; norm <= 1; norm++) {
            for (size_t i = 0; i <= cact_act_count(); i++) {
                struct cact_act_chain ch;
                memset(&ch, 0, sizeof ch);
                if (norm)
                    cact_act_parse_normalize("0.5,0.5,0.5,0.01,0.2,3", &ch, &err);
                if (i < cact_act_count()) {
                    const struct cact_act_desc *d = cact_act_at(i);
                    if (d->kind != CACT_ACT_KIND_ELEM)
                        continue;
                    ch.n = 1;
                    ch.fn[0].desc = d;
                    for (int k = 0; k < d->n_params; k++)
                        ch.fn[0].p[k] = isnan(d->params[k].def) ? 0.5f : d->params[k].def;
                } else {
                    static const char *const multi[] = {"gelu", "softplus(2, 5)", "elu"};
                    set_chain(&ch, multi, 3);
                }
                cact_act_to_tensor(&ch, full, bytes, 2, 256);
                cact_act_chain_apply(&ch, full, 2, 256);
                cact_act_chain_lut(&ch, lut);
                int same = 1;
                for (int img = 0; img < 2; img++)
                    for (int c = 0; c < 3; c++)
                        for (int b = 0; b < 256; b++) {
                            float v = full[(img * 3 + c) * 256 + b];
                            float w = lut[c][bytes[(img * 3 + c) * 256 + b]];
                            if (memcmp(&v, &w, sizeof v) != 0)
                                same = 0;
                        }
                CHECK_MSG(same, "lut != full path for %s (normalize %d, %s)",
                          i < cact_act_count() ? cact_act_at(i)->name : "chain", norm,
                          isas[ik]);
            }
        }
    }
    cact_act_kernels_set_generic(0);
}

int main(void)
{
    struct golden g;
    verbose = getenv("ACT_TEST_VERBOSE") != NULL;

    if (!test_rows_filled() || !test_kernel_tables())
        return check_summary("test_act");
    test_table();
    test_parse();
    test_parse_pytorch();
    test_format();
    test_normalize_parse();
    test_to_tensor();
    test_chain();
    test_lut();
    test_nan();
    if (load_golden(&g) == 0) {
        CHECK(g.n >= 10000);
        test_golden(&g);
        test_in_place(&g);
        test_large(&g);
        free(g.data);
    } else {
        CHECK_MSG(0, "golden data missing or malformed (tests/golden/kernels.*)");
    }
    return check_summary("test_act");
}
