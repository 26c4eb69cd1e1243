/* act.c - the activation table, --fn spec parsing, ToTensor/Normalize and chains.
 *
 * To add an activation: add an enum value and a row to act_table, a kernel in
 * act_kernels.c, and a golden row in tools/gen_golden_kernels.py; tests/test_act.c
 * iterates the table and fails for a row without golden data.
 */
#include "act.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act_kernels.h"

/* ---- The table ---- */

enum act_id {
    ACT_RELU,
    ACT_RELU6,
    ACT_LEAKY_RELU,
    ACT_RRELU,
    ACT_ELU,
    ACT_SELU,
    ACT_CELU,
    ACT_GELU,
    ACT_SILU,
    ACT_MISH,
    ACT_SIGMOID,
    ACT_HARDSIGMOID,
    ACT_TANH,
    ACT_HARDTANH,
    ACT_HARDSWISH,
    ACT_HARDSHRINK,
    ACT_SOFTSHRINK,
    ACT_TANHSHRINK,
    ACT_SOFTPLUS,
    ACT_SOFTSIGN,
    ACT_LOGSIGMOID,
    ACT_THRESHOLD,
    ACT_PRELU,
    ACT_IDENTITY,
    ACT_SOFTMAX,
    ACT_LOG_SOFTMAX,
    ACT_SOFTMIN,
    ACT_COUNT
};

static const char *const gelu_approximate[] = {"none", "tanh", NULL};

/* A default of NAN marks a required parameter: nn.Threshold has no defaults. */
#define REQUIRED NAN

static const struct cact_act_desc act_table[] = {
    [ACT_RELU] = {"relu", "ReLU", "max(0, x)", 0, {{0}}, cact_act_k_relu, NULL},
    [ACT_RELU6] = {"relu6", "ReLU6", "min(max(0, x), 6)", 0, {{0}}, cact_act_k_relu6, NULL},
    [ACT_LEAKY_RELU] = {"leaky_relu", "LeakyReLU", "x if x > 0 else negative_slope * x", 1,
                        {{"negative_slope", 0.01f, NULL}}, cact_act_k_leaky_relu, NULL},
    [ACT_RRELU] = {"rrelu", "RReLU",
                   "x if x > 0 else (lower + upper) / 2 * x (eval mode: no randomness)", 2,
                   {{"lower", 1.0f / 8.0f, NULL}, {"upper", 1.0f / 3.0f, NULL}},
                   cact_act_k_rrelu, NULL},
    [ACT_ELU] = {"elu", "ELU", "x if x > 0 else alpha * (exp(x) - 1)", 1,
                 {{"alpha", 1.0f, NULL}}, cact_act_k_elu, NULL},
    [ACT_SELU] = {"selu", "SELU",
                  "scale * (x if x > 0 else alpha * (exp(x) - 1)), "
                  "alpha = 1.6732632, scale = 1.0507010",
                  0, {{0}}, cact_act_k_selu, NULL},
    [ACT_CELU] = {"celu", "CELU", "x if x > 0 else alpha * (exp(x / alpha) - 1)", 1,
                  {{"alpha", 1.0f, NULL}}, cact_act_k_celu, NULL},
    [ACT_GELU] = {"gelu", "GELU",
                  "x/2 * (1 + erf(x / sqrt(2))); 'tanh': "
                  "x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))",
                  1, {{"approximate", 0.0f, gelu_approximate}}, cact_act_k_gelu, NULL},
    [ACT_SILU] = {"silu", "SiLU", "x * sigmoid(x) = x / (1 + exp(-x))", 0, {{0}}, cact_act_k_silu,
                  NULL},
    [ACT_MISH] = {"mish", "Mish", "x * tanh(softplus(x))", 0, {{0}}, cact_act_k_mish, NULL},
    [ACT_SIGMOID] = {"sigmoid", "Sigmoid", "1 / (1 + exp(-x))", 0, {{0}}, cact_act_k_sigmoid, NULL},
    [ACT_HARDSIGMOID] = {"hardsigmoid", "Hardsigmoid", "min(max(x + 3, 0), 6) / 6", 0, {{0}},
                         cact_act_k_hardsigmoid, NULL},
    [ACT_TANH] = {"tanh", "Tanh", "tanh(x)", 0, {{0}}, cact_act_k_tanh, NULL},
    [ACT_HARDTANH] = {"hardtanh", "Hardtanh", "min(max(x, min_val), max_val)", 2,
                      {{"min_val", -1.0f, NULL}, {"max_val", 1.0f, NULL}}, cact_act_k_hardtanh,
                      NULL},
    [ACT_HARDSWISH] = {"hardswish", "Hardswish", "x * min(max(x + 3, 0), 6) / 6", 0, {{0}},
                       cact_act_k_hardswish, NULL},
    [ACT_HARDSHRINK] = {"hardshrink", "Hardshrink", "0 if -lambd <= x <= lambd else x", 1,
                        {{"lambd", 0.5f, NULL}}, cact_act_k_hardshrink, NULL},
    [ACT_SOFTSHRINK] = {"softshrink", "Softshrink",
                        "x - lambd if x > lambd, x + lambd if x < -lambd, else 0", 1,
                        {{"lambd", 0.5f, NULL}}, cact_act_k_softshrink, NULL},
    [ACT_TANHSHRINK] = {"tanhshrink", "Tanhshrink", "x - tanh(x)", 0, {{0}},
                        cact_act_k_tanhshrink, NULL},
    [ACT_SOFTPLUS] = {"softplus", "Softplus",
                      "log(1 + exp(beta * x)) / beta, or x where beta * x > threshold", 2,
                      {{"beta", 1.0f, NULL}, {"threshold", 20.0f, NULL}}, cact_act_k_softplus,
                      NULL},
    [ACT_SOFTSIGN] = {"softsign", "Softsign", "x / (1 + |x|)", 0, {{0}}, cact_act_k_softsign,
                      NULL},
    [ACT_LOGSIGMOID] = {"logsigmoid", "LogSigmoid", "log(1 / (1 + exp(-x)))", 0, {{0}},
                        cact_act_k_logsigmoid, NULL},
    [ACT_THRESHOLD] = {"threshold", "Threshold",
                       "value if x <= threshold else x (both parameters required)", 2,
                       {{"threshold", REQUIRED, NULL}, {"value", REQUIRED, NULL}},
                       cact_act_k_threshold, NULL},
    [ACT_PRELU] = {"prelu", "PReLU",
                   "x if x > 0 else init * x (one weight, at its initial value)", 1,
                   {{"init", 0.25f, NULL}}, cact_act_k_leaky_relu, NULL},
    [ACT_IDENTITY] = {"identity", "Identity", "x", 0, {{0}}, cact_act_k_identity, NULL},
    [ACT_SOFTMAX] = {"softmax", "Softmax", "exp(x_c) / sum_k exp(x_k) over the channels", 0,
                     {{0}}, NULL, cact_act_k_softmax},
    [ACT_LOG_SOFTMAX] = {"log_softmax", "LogSoftmax",
                         "x_c - log(sum_k exp(x_k)) over the channels", 0, {{0}}, NULL,
                         cact_act_k_log_softmax},
    [ACT_SOFTMIN] = {"softmin", "Softmin", "exp(-x_c) / sum_k exp(-x_k) over the channels", 0,
                     {{0}}, NULL, cact_act_k_softmin},
};

static_assert(sizeof act_table / sizeof act_table[0] == ACT_COUNT,
              "act_table needs one row per enum act_id value");

size_t cact_act_count(void)
{
    return ACT_COUNT;
}

const struct cact_act_desc *cact_act_at(size_t i)
{
    return i < ACT_COUNT ? &act_table[i] : NULL;
}

const struct cact_act_desc *cact_act_find(const char *name)
{
    for (size_t i = 0; i < ACT_COUNT; i++)
        if (strcmp(act_table[i].name, name) == 0 ||
            strcmp(act_table[i].torch_module, name) == 0)
            return &act_table[i];
    return NULL;
}

/* ---- Parsing ---- */

/* "a, b, c" into buf: the names of every row, or a row's parameter names. */
static void list_names(char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ACT_COUNT && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
                                act_table[i].name);
}

static void list_params(const struct cact_act_desc *d, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < d->n_params && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
                                d->params[i].name);
    if (d->n_params == 0)
        snprintf(buf, size, "none");
}

static void list_choices(const struct cact_act_param *pa, char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; pa->choices[i] && len < size; i++)
        len += (size_t)snprintf(buf + len, size - len, "%s'%s'", i ? ", " : "",
                                pa->choices[i]);
}

static const char *skip_space(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return s;
}

static int is_ident(int c)
{
    return isalnum(c) || c == '_';
}

/* Parse one value for parameter pa starting at *sp; on success store it in *out and
 * advance *sp past it. */
static enum cact_status parse_value(const struct cact_act_desc *d, const struct cact_act_param *pa,
                                  const char **sp, float *out, struct cact_err *err)
{
    const char *s = *sp;
    char list[256];

    if (pa->choices) {
        char quote = 0, word[64];
        size_t len = 0;
        if (*s == '\'' || *s == '"')
            quote = *s++;
        while (is_ident((unsigned char)*s) && len + 1 < sizeof word)
            word[len++] = *s++;
        word[len] = '\0';
        list_choices(pa, list, sizeof list);
        if (quote) {
            if (*s != quote)
                return cact_fail(err, CACT_ERR_USAGE, "%s: unterminated or bad string for %s "
                               "(choices: %s)", d->name, pa->name, list);
            s++;
        }
        for (int i = 0; pa->choices[i]; i++) {
            if (strcmp(pa->choices[i], word) == 0) {
                *out = (float)i;
                *sp = s;
                return CACT_OK;
            }
        }
        return cact_fail(err, CACT_ERR_USAGE, "%s: %s must be one of %s, not '%s'", d->name,
                       pa->name, list, word);
    }

    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s) {
        size_t len = strcspn(s, ",)");
        return cact_fail(err, CACT_ERR_USAGE, "%s: bad number '%.*s' for %s", d->name,
                       (int)(len > 40 ? 40 : len), s, pa->name);
    }
    if (!isfinite(v) || fabs(v) > 3.4028234663852886e38)
        return cact_fail(err, CACT_ERR_USAGE, "%s: %s must be a finite float, not '%.*s'",
                       d->name, pa->name, (int)(end - s), s);
    *out = (float)v;
    *sp = end;
    return CACT_OK;
}

/* PyTorch's own argument checks, plus softplus's beta != 0 (PyTorch divides by it). */
static enum cact_status check_domain(const struct cact_act_fn *fn, struct cact_err *err)
{
    const struct cact_act_desc *d = fn->desc;
    const float *p = fn->p;
    if (d == &act_table[ACT_RRELU] && !(p[0] <= p[1]))
        return cact_fail(err, CACT_ERR_USAGE, "rrelu: lower (%g) must be <= upper (%g)",
                       (double)p[0], (double)p[1]);
    if (d == &act_table[ACT_HARDTANH] && !(p[0] < p[1]))
        return cact_fail(err, CACT_ERR_USAGE, "hardtanh: min_val (%g) must be < max_val (%g)",
                       (double)p[0], (double)p[1]);
    if (d == &act_table[ACT_SOFTSHRINK] && p[0] < 0.0f)
        return cact_fail(err, CACT_ERR_USAGE, "softshrink: lambd must be >= 0, not %g",
                       (double)p[0]);
    if (d == &act_table[ACT_CELU] && p[0] == 0.0f)
        return cact_fail(err, CACT_ERR_USAGE, "celu: alpha must not be 0");
    if (d == &act_table[ACT_SOFTPLUS] && p[0] == 0.0f)
        return cact_fail(err, CACT_ERR_USAGE, "softplus: beta must not be 0");
    return CACT_OK;
}

enum cact_status cact_act_parse(const char *spec, struct cact_act_fn *out, struct cact_err *err)
{
    char name[64], list[1024];
    size_t len = 0;
    const char *s = skip_space(spec);
    const struct cact_act_desc *d;
    int given[CACT_ACT_MAX_PARAMS] = {0};
    struct cact_act_fn fn;

    while (is_ident((unsigned char)*s) && len + 1 < sizeof name)
        name[len++] = *s++;
    name[len] = '\0';
    if (len == 0) {
        list_names(list, sizeof list);
        return cact_fail(err, CACT_ERR_USAGE, "expected an activation name in '%s' (choices: %s)",
                       spec, list);
    }
    d = cact_act_find(name);
    if (!d) {
        list_names(list, sizeof list);
        return cact_fail(err, CACT_ERR_USAGE, "unknown activation '%s' (choices: %s)", name,
                       list);
    }
    memset(&fn, 0, sizeof fn);
    fn.desc = d;
    for (int i = 0; i < d->n_params; i++)
        fn.p[i] = d->params[i].def;
    list_params(d, list, sizeof list);

    s = skip_space(s);
    if (*s == '(') {
        int pos = 0, seen_kw = 0;
        s = skip_space(s + 1);
        if (*s == ')')
            goto close;
        for (;;) {
            int idx = -1;
            const char *arg = s;
            char kw[64];
            size_t kl = 0;
            /* "kw = value" or a positional value. */
            while (is_ident((unsigned char)*s) && kl + 1 < sizeof kw)
                kw[kl++] = *s++;
            kw[kl] = '\0';
            const char *after = skip_space(s);
            if (kl > 0 && *after == '=') {
                for (int i = 0; i < d->n_params; i++)
                    if (strcmp(d->params[i].name, kw) == 0)
                        idx = i;
                if (idx < 0) {
                    if (d->n_params == 0)
                        return cact_fail(err, CACT_ERR_USAGE, "%s takes no parameters (got '%s')",
                                       d->name, kw);
                    return cact_fail(err, CACT_ERR_USAGE,
                                   "%s: unknown parameter '%s' (parameters: %s)", d->name, kw,
                                   list);
                }
                seen_kw = 1;
                s = skip_space(after + 1);
            } else {
                s = arg;
                if (*s == ',' || *s == ')' || *s == '\0')
                    return cact_fail(err, CACT_ERR_USAGE, "%s: empty argument in '%s'", d->name,
                                   spec);
                if (seen_kw)
                    return cact_fail(err, CACT_ERR_USAGE,
                                   "%s: positional value after a keyword in '%s'", d->name,
                                   spec);
                if (pos >= d->n_params) {
                    if (d->n_params == 0)
                        return cact_fail(err, CACT_ERR_USAGE, "%s takes no parameters", d->name);
                    return cact_fail(err, CACT_ERR_USAGE,
                                   "%s: too many values (parameters: %s)", d->name, list);
                }
                idx = pos++;
            }
            if (given[idx])
                return cact_fail(err, CACT_ERR_USAGE, "%s: %s given twice", d->name,
                               d->params[idx].name);
            given[idx] = 1;
            enum cact_status st = parse_value(d, &d->params[idx], &s, &fn.p[idx], err);
            if (st != CACT_OK)
                return st;
            s = skip_space(s);
            if (*s == ',') {
                s = skip_space(s + 1);
                continue;
            }
            if (*s == ')')
                break;
            if (*s == '\0')
                return cact_fail(err, CACT_ERR_USAGE, "%s: missing ')' in '%s'", d->name, spec);
            return cact_fail(err, CACT_ERR_USAGE, "%s: unexpected '%.20s' after %s's value",
                           d->name, s, d->params[idx].name);
        }
    close:
        s = skip_space(s + 1);
    }
    if (*s != '\0')
        return cact_fail(err, CACT_ERR_USAGE, "%s: unexpected trailing '%.20s' in '%s'", d->name,
                       s, spec);
    for (int i = 0; i < d->n_params; i++)
        if (isnan(fn.p[i]))
            return cact_fail(err, CACT_ERR_USAGE,
                           "%s: missing required parameter '%s' (parameters: %s)", d->name,
                           d->params[i].name, list);
    enum cact_status st = check_domain(&fn, err);
    if (st != CACT_OK)
        return st;
    *out = fn;
    return CACT_OK;
}

/* Shortest "%g" spelling that reads back as the same float; plain digits rather
 * than an exponent for everyday magnitudes ("20", not "2e+01"). */
static void format_float(float v, char *buf, size_t size)
{
    int everyday = fabsf(v) >= 1e-4f && fabsf(v) < 1e9f;
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, size, "%.*g", prec, (double)v);
        if (everyday && strchr(buf, 'e') && prec < 9)
            continue;
        if (strtof(buf, NULL) == v)
            return;
    }
}

char *cact_act_format(const struct cact_act_fn *fn, char *buf, size_t size)
{
    const struct cact_act_desc *d = fn->desc;
    size_t len;

    if (size == 0)
        return buf;
    len = (size_t)snprintf(buf, size, "%s", d->name);
    if (d->n_params == 0 || len >= size)
        return buf;
    for (int i = 0; i < d->n_params && len < size; i++) {
        const struct cact_act_param *pa = &d->params[i];
        char num[32];
        const char *sep = i ? ", " : "(";
        if (pa->choices) {
            int c = 0, k = (int)fn->p[i];
            while (pa->choices[c] && c < k)
                c++;
            len += (size_t)snprintf(buf + len, size - len, "%s%s='%s'", sep, pa->name,
                                    pa->choices[c] ? pa->choices[c] : "?");
        } else {
            format_float(fn->p[i], num, sizeof num);
            len += (size_t)snprintf(buf + len, size - len, "%s%s=%s", sep, pa->name, num);
        }
    }
    if (len < size)
        snprintf(buf + len, size - len, ")");
    return buf;
}

/* ---- ToTensor / Normalize ---- */

enum cact_status cact_act_parse_normalize(const char *spec, struct cact_act_chain *chain,
                                   struct cact_err *err)
{
    float v[2 * CACT_ACT_CHANNELS];
    int n = 0;
    const char *s = spec;

    for (;;) {
        char *end;
        s = skip_space(s);
        double d = strtod(s, &end);
        if (end == s)
            return cact_fail(err, CACT_ERR_USAGE,
                           "bad number at '%.20s' in '%s' (expected MEAN,STD "
                           "or M1,M2,M3,S1,S2,S3)", s, spec);
        if (!isfinite(d) || fabs(d) > 3.4028234663852886e38)
            return cact_fail(err, CACT_ERR_USAGE, "'%.*s' is not a finite float",
                           (int)(end - s), s);
        if (n == 2 * CACT_ACT_CHANNELS)
            return cact_fail(err, CACT_ERR_USAGE,
                           "too many values in '%s' (expected 2 or 6)", spec);
        v[n++] = (float)d;
        s = skip_space(end);
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s != '\0')
            return cact_fail(err, CACT_ERR_USAGE, "unexpected '%.20s' in '%s'", s,
                           spec);
        break;
    }
    if (n != 2 && n != 2 * CACT_ACT_CHANNELS)
        return cact_fail(err, CACT_ERR_USAGE,
                       "expected 2 values (MEAN,STD) or 6 (M1,M2,M3,S1,S2,S3), "
                       "got %d", n);
    for (int c = 0; c < CACT_ACT_CHANNELS; c++) {
        chain->mean[c] = n == 2 ? v[0] : v[c];
        chain->std[c] = n == 2 ? v[1] : v[CACT_ACT_CHANNELS + c];
        if (chain->std[c] == 0.0f)
            return cact_fail(err, CACT_ERR_USAGE, "std must not be 0 (channel %d)",
                           c);
    }
    chain->normalize = 1;
    return CACT_OK;
}

/* One byte through ToTensor (+ Normalize), as torchvision does it in float32:
 * img.float().div(255), then tensor.sub_(mean).div_(std). Division, not a multiply by
 * 1/255, because the two differ in the last bit for some bytes. */
static float to_tensor_one(const struct cact_act_chain *chain, int c, uint8_t b)
{
    float v = (float)b / 255.0f;
    if (chain->normalize)
        v = (v - chain->mean[c]) / chain->std[c];
    return v;
}

void cact_act_to_tensor(const struct cact_act_chain *chain, float *y, const uint8_t *x, size_t n_img,
                   size_t plane)
{
    float lut[CACT_ACT_CHANNELS][256];
    for (int c = 0; c < CACT_ACT_CHANNELS; c++)
        for (int b = 0; b < 256; b++)
            lut[c][b] = to_tensor_one(chain, c, (uint8_t)b);
    for (size_t img = 0; img < n_img; img++)
        for (int c = 0; c < CACT_ACT_CHANNELS; c++) {
            size_t off = (img * CACT_ACT_CHANNELS + (size_t)c) * plane;
            for (size_t i = 0; i < plane; i++)
                y[off + i] = lut[c][x[off + i]];
        }
}

/* ---- Chains ---- */

void cact_act_chain_apply(const struct cact_act_chain *chain, float *x, size_t n_img, size_t plane)
{
    for (int i = 0; i < chain->n; i++) {
        const struct cact_act_fn *fn = &chain->fn[i];
        if (fn->desc->elem)
            fn->desc->elem(x, x, n_img * CACT_ACT_CHANNELS * plane, fn->p);
        else
            fn->desc->chan(x, x, n_img, CACT_ACT_CHANNELS, plane, fn->p);
    }
}

int cact_act_chain_is_elementwise(const struct cact_act_chain *chain)
{
    for (int i = 0; i < chain->n; i++)
        if (!chain->fn[i].desc->elem)
            return 0;
    return 1;
}

void cact_act_chain_lut(const struct cact_act_chain *chain, float lut[CACT_ACT_CHANNELS][256])
{
    /* The same to_tensor_one and the same kernels as the full path; the kernels are
     * deterministic per element, so the table holds the exact floats. */
    for (int c = 0; c < CACT_ACT_CHANNELS; c++) {
        for (int b = 0; b < 256; b++)
            lut[c][b] = to_tensor_one(chain, c, (uint8_t)b);
        for (int i = 0; i < chain->n; i++) {
            const struct cact_act_fn *fn = &chain->fn[i];
            assert(fn->desc->elem);
            fn->desc->elem(lut[c], lut[c], 256, fn->p);
        }
    }
}
