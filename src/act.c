/* act.c - the activation table, --fn spec parsing, ToTensor/Normalize and chains.
 *
 * Adding an activation: the four steps are in act.h; the first is a row here.
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

static const char *const gelu_approximate[] = {"none", "tanh", NULL};

/* A default of NAN marks a required parameter: nn.Threshold has no defaults. */
#define REQUIRED NAN

/* The rows' parameter checks: PyTorch's own, plus alpha != 0 for celu and beta != 0
 * for softplus (PyTorch divides by them). p is in the row's parameter order. */
static enum cact_status check_rrelu(const float *p, struct cact_err *err)
{
    if (!(p[0] <= p[1]))
        return cact_fail(err, CACT_ERR_USAGE, "rrelu: lower (%g) must be <= upper (%g)",
                         (double)p[0], (double)p[1]);
    return CACT_OK;
}

static enum cact_status check_celu(const float *p, struct cact_err *err)
{
    if (p[0] == 0.0f)
        return cact_fail(err, CACT_ERR_USAGE, "celu: alpha must not be 0");
    return CACT_OK;
}

static enum cact_status check_hardtanh(const float *p, struct cact_err *err)
{
    if (!(p[0] < p[1]))
        return cact_fail(err, CACT_ERR_USAGE, "hardtanh: min_val (%g) must be < max_val (%g)",
                         (double)p[0], (double)p[1]);
    return CACT_OK;
}

static enum cact_status check_softshrink(const float *p, struct cact_err *err)
{
    if (p[0] < 0.0f)
        return cact_fail(err, CACT_ERR_USAGE, "softshrink: lambd must be >= 0, not %g",
                         (double)p[0]);
    return CACT_OK;
}

static enum cact_status check_softplus(const float *p, struct cact_err *err)
{
    if (p[0] == 0.0f)
        return cact_fail(err, CACT_ERR_USAGE, "softplus: beta must not be 0");
    return CACT_OK;
}

#define ELEM CACT_ACT_KIND_ELEM
#define CHAN CACT_ACT_KIND_CHAN
#define NO_PARAMS 0, {{0}}

/* One row per enum cact_act_id value: name, torch.nn class, formula, kind, parameters
 * (count, then name, default and choices of each), parameter check. */
static const struct cact_act_desc act_table[] = {
    [CACT_ACT_RELU] = {"relu", "ReLU", "max(0, x)", ELEM, NO_PARAMS, NULL},
    [CACT_ACT_RELU6] = {"relu6", "ReLU6", "min(max(0, x), 6)", ELEM, NO_PARAMS, NULL},
    [CACT_ACT_LEAKY_RELU] = {"leaky_relu", "LeakyReLU", "x if x > 0 else negative_slope * x",
                             ELEM, 1, {{"negative_slope", 0.01f, NULL}}, NULL},
    [CACT_ACT_RRELU] = {"rrelu", "RReLU",
                        "x if x > 0 else (lower + upper) / 2 * x (eval mode: no randomness)",
                        ELEM, 2, {{"lower", 1.0f / 8.0f, NULL}, {"upper", 1.0f / 3.0f, NULL}},
                        check_rrelu},
    [CACT_ACT_ELU] = {"elu", "ELU", "x if x > 0 else alpha * (exp(x) - 1)", ELEM, 1,
                      {{"alpha", 1.0f, NULL}}, NULL},
    [CACT_ACT_SELU] = {"selu", "SELU",
                       "scale * (x if x > 0 else alpha * (exp(x) - 1)), "
                       "alpha = 1.6732632, scale = 1.0507010",
                       ELEM, NO_PARAMS, NULL},
    [CACT_ACT_CELU] = {"celu", "CELU", "x if x > 0 else alpha * (exp(x / alpha) - 1)", ELEM, 1,
                       {{"alpha", 1.0f, NULL}}, check_celu},
    [CACT_ACT_GELU] = {"gelu", "GELU",
                       "x/2 * (1 + erf(x / sqrt(2))); 'tanh': "
                       "x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))",
                       ELEM, 1, {{"approximate", 0.0f, gelu_approximate}}, NULL},
    [CACT_ACT_SILU] = {"silu", "SiLU", "x * sigmoid(x) = x / (1 + exp(-x))", ELEM, NO_PARAMS,
                       NULL},
    [CACT_ACT_MISH] = {"mish", "Mish", "x * tanh(softplus(x))", ELEM, NO_PARAMS, NULL},
    [CACT_ACT_SIGMOID] = {"sigmoid", "Sigmoid", "1 / (1 + exp(-x))", ELEM, NO_PARAMS, NULL},
    [CACT_ACT_HARDSIGMOID] = {"hardsigmoid", "Hardsigmoid", "min(max(x + 3, 0), 6) / 6", ELEM,
                              NO_PARAMS, NULL},
    [CACT_ACT_TANH] = {"tanh", "Tanh", "tanh(x)", ELEM, NO_PARAMS, NULL},
    [CACT_ACT_HARDTANH] = {"hardtanh", "Hardtanh", "min(max(x, min_val), max_val)", ELEM, 2,
                           {{"min_val", -1.0f, NULL}, {"max_val", 1.0f, NULL}}, check_hardtanh},
    [CACT_ACT_HARDSWISH] = {"hardswish", "Hardswish", "x * min(max(x + 3, 0), 6) / 6", ELEM,
                            NO_PARAMS, NULL},
    [CACT_ACT_HARDSHRINK] = {"hardshrink", "Hardshrink", "0 if -lambd <= x <= lambd else x",
                             ELEM, 1, {{"lambd", 0.5f, NULL}}, NULL},
    [CACT_ACT_SOFTSHRINK] = {"softshrink", "Softshrink",
                             "x - lambd if x > lambd, x + lambd if x < -lambd, else 0", ELEM, 1,
                             {{"lambd", 0.5f, NULL}}, check_softshrink},
    [CACT_ACT_TANHSHRINK] = {"tanhshrink", "Tanhshrink", "x - tanh(x)", ELEM, NO_PARAMS, NULL},
    [CACT_ACT_SOFTPLUS] = {"softplus", "Softplus",
                           "log(1 + exp(beta * x)) / beta, or x where beta * x > threshold",
                           ELEM, 2, {{"beta", 1.0f, NULL}, {"threshold", 20.0f, NULL}},
                           check_softplus},
    [CACT_ACT_SOFTSIGN] = {"softsign", "Softsign", "x / (1 + |x|)", ELEM, NO_PARAMS, NULL},
    [CACT_ACT_LOGSIGMOID] = {"logsigmoid", "LogSigmoid", "log(1 / (1 + exp(-x)))", ELEM,
                             NO_PARAMS, NULL},
    [CACT_ACT_THRESHOLD] = {"threshold", "Threshold",
                            "value if x <= threshold else x (both parameters required)", ELEM,
                            2, {{"threshold", REQUIRED, NULL}, {"value", REQUIRED, NULL}}, NULL},
    [CACT_ACT_PRELU] = {"prelu", "PReLU",
                        "x if x > 0 else init * x (one weight, at its initial value)", ELEM, 1,
                        {{"init", 0.25f, NULL}}, NULL},
    [CACT_ACT_IDENTITY] = {"identity", "Identity", "x", ELEM, NO_PARAMS, NULL},
    [CACT_ACT_SOFTMAX] = {"softmax", "Softmax", "exp(x_c) / sum_k exp(x_k) over the channels",
                          CHAN, NO_PARAMS, NULL},
    [CACT_ACT_LOG_SOFTMAX] = {"log_softmax", "LogSoftmax",
                              "x_c - log(sum_k exp(x_k)) over the channels", CHAN, NO_PARAMS,
                              NULL},
    [CACT_ACT_SOFTMIN] = {"softmin", "Softmin", "exp(-x_c) / sum_k exp(-x_k) over the channels",
                          CHAN, NO_PARAMS, NULL},
};

#undef ELEM
#undef CHAN
#undef NO_PARAMS

static_assert(sizeof act_table / sizeof act_table[0] == CACT_ACT_COUNT,
              "act_table needs one row per enum cact_act_id value");

size_t cact_act_count(void)
{
    return CACT_ACT_COUNT;
}

const struct cact_act_desc *cact_act_at(size_t i)
{
    return i < CACT_ACT_COUNT ? &act_table[i] : NULL;
}

const struct cact_act_desc *cact_act_find(const char *name)
{
    /* A row left empty (an enum value without its row) is skipped rather than crashed
     * on; tests/test_act.c names it. */
    for (size_t i = 0; i < CACT_ACT_COUNT; i++) {
        const struct cact_act_desc *d = &act_table[i];
        if (d->name && d->torch_module &&
            (strcmp(d->name, name) == 0 || strcmp(d->torch_module, name) == 0))
            return d;
    }
    return NULL;
}

enum cact_act_id cact_act_id_of(const struct cact_act_desc *d)
{
    assert(d >= act_table && d < act_table + CACT_ACT_COUNT);
    return (enum cact_act_id)(d - act_table);
}

/* ---- Parsing ---- */

/* "a, b, c" into buf: the names of every row, or a row's parameter names. */
static void list_names(char *buf, size_t size)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < CACT_ACT_COUNT && len < size; i++)
        if (act_table[i].name)
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

/* The module paths PyTorch users write before a name: torch.nn's classes
 * ("nn.ReLU") or functions ("F.relu", "torch.sigmoid"). */
static const struct {
    const char *path;
    int is_class;
} act_paths[] = {
    {"torch.nn", 1},           {"nn", 1},    {"torch.nn.functional", 0},
    {"nn.functional", 0},      {"F", 0},     {"torch", 0},
};

/* Find the row for a name as typed, with or without a module path: a class after
 * torch.nn / nn, a function name after F, torch.nn.functional or torch, either bare. */
static enum cact_status find_spelled(const char *spelled, const struct cact_act_desc **out,
                                     struct cact_err *err)
{
    const char *dot = strrchr(spelled, '.'), *base = dot ? dot + 1 : spelled;
    const struct cact_act_desc *d = cact_act_find(base);
    char list[1024];
    int is_class = -1;

    if (dot) {
        for (size_t i = 0; i < sizeof act_paths / sizeof act_paths[0]; i++)
            if (strlen(act_paths[i].path) == (size_t)(dot - spelled) &&
                strncmp(act_paths[i].path, spelled, (size_t)(dot - spelled)) == 0)
                is_class = act_paths[i].is_class;
        if (is_class < 0)
            return cact_fail(err, CACT_ERR_USAGE, "unknown module path '%.*s' in '%s' (write "
                             "nn.ReLU, torch.nn.ReLU, F.relu, torch.nn.functional.relu, "
                             "torch.relu or relu)", (int)(dot - spelled), spelled, spelled);
    }
    if (!d) {
        list_names(list, sizeof list);
        return cact_fail(err, CACT_ERR_USAGE, "unknown activation '%s' (choices: %s)", spelled,
                         list);
    }
    if (is_class == 1 && strcmp(base, d->torch_module) != 0)
        return cact_fail(err, CACT_ERR_USAGE, "'%s': torch.nn's class is %.*s%s (the function "
                         "is F.%s)", spelled, (int)(dot - spelled + 1), spelled,
                         d->torch_module, d->name);
    if (is_class == 0 && strcmp(base, d->name) != 0)
        return cact_fail(err, CACT_ERR_USAGE, "'%s': the function is %.*s%s (the class is "
                         "nn.%s)", spelled, (int)(dot - spelled + 1), spelled, d->name,
                         d->torch_module);
    *out = d;
    return CACT_OK;
}

static int is_bool_word(const char *s)
{
    size_t len = 0;
    while (is_ident((unsigned char)s[len]))
        len++;
    return (len == 4 && strncmp(s, "True", 4) == 0) || (len == 5 && strncmp(s, "False", 5) == 0);
}

/* inplace=True|False (or 1|0): what PyTorch's modules and functions accept. The value
 * does not change the result (the caller decides where outputs go), so it is read and
 * dropped. */
static enum cact_status parse_inplace(const struct cact_act_desc *d, const char **sp,
                                      struct cact_err *err)
{
    const char *s = *sp;
    size_t len = 0;
    while (is_ident((unsigned char)s[len]))
        len++;
    if (is_bool_word(s) || (len == 1 && (*s == '0' || *s == '1'))) {
        *sp = s + len;
        return CACT_OK;
    }
    len = strcspn(s, ",)");
    return cact_fail(err, CACT_ERR_USAGE, "%s: inplace must be True or False, not '%.*s'",
                     d->name, (int)(len > 40 ? 40 : len), s);
}

/* dim= of the softmax family: the channels of the [n][3][h][w] batch are dim 1 (also
 * -3, counted from the end), the only dimension this program computes over. */
static enum cact_status parse_dim(const struct cact_act_desc *d, const char **sp,
                                  struct cact_err *err)
{
    const char *s = *sp;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end != s && errno == 0 && (v == 1 || v == -3) && !isalnum((unsigned char)*end) &&
        *end != '.') {
        *sp = end;
        return CACT_OK;
    }
    size_t len = strcspn(s, ",)");
    return cact_fail(err, CACT_ERR_USAGE, "%s: dim=%.*s is not supported: it runs over the "
                     "channels of each pixel, dim=1 of the N,C,H,W batch", d->name,
                     (int)(len > 40 ? 40 : len), s);
}

enum cact_status cact_act_parse(const char *spec, struct cact_act_fn *out, struct cact_err *err)
{
    char name[64], list[1024];
    size_t len = 0;
    const char *s = skip_space(spec);
    const struct cact_act_desc *d = NULL;
    int given[CACT_ACT_MAX_PARAMS] = {0}, given_inplace = 0, given_dim = 0;
    struct cact_act_fn fn;
    enum cact_status st;

    while ((is_ident((unsigned char)*s) || (*s == '.' && len > 0)) && len + 1 < sizeof name)
        name[len++] = *s++;
    name[len] = '\0';
    if (len == 0) {
        list_names(list, sizeof list);
        return cact_fail(err, CACT_ERR_USAGE, "expected an activation name in '%s' (choices: %s)",
                       spec, list);
    }
    st = find_spelled(name, &d, err);
    if (st != CACT_OK)
        return st;
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
            const char *arg = s, *what;
            char kw[64];
            size_t kl = 0;
            enum { PARAM, INPLACE, DIM } kind = PARAM;
            /* "kw = value" or a positional value. The whole identifier is scanned: one
             * longer than kw is no parameter of ours, and says so (not "bad number"). */
            while (is_ident((unsigned char)*s)) {
                if (kl + 1 < sizeof kw)
                    kw[kl] = *s;
                kl++, s++;
            }
            kw[kl < sizeof kw ? kl : sizeof kw - 1] = '\0';
            const char *after = skip_space(s);
            if (kl >= sizeof kw && *after == '=')
                return cact_fail(err, CACT_ERR_USAGE,
                                 "%s: unknown parameter '%.20s...' (%zu characters; %s%s)",
                                 d->name, kw, kl, d->n_params ? "parameters: " : d->name,
                                 d->n_params ? list : " takes no parameters");
            if (kl > 0 && *after == '=') {
                for (int i = 0; i < d->n_params; i++)
                    if (strcmp(d->params[i].name, kw) == 0)
                        idx = i;
                if (idx < 0 && strcmp(kw, "inplace") == 0) {
                    kind = INPLACE;
                } else if (idx < 0 && strcmp(kw, "dim") == 0 && d->kind == CACT_ACT_KIND_CHAN) {
                    kind = DIM;
                } else if (idx < 0) {
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
                /* PyTorch's positional order: the parameters, then inplace (nn.ReLU(True),
                 * nn.ELU(1.0, True)); nn.Softmax(1) is its dim. */
                if (pos == d->n_params && is_bool_word(s)) {
                    kind = INPLACE;
                } else if (pos == d->n_params && d->kind == CACT_ACT_KIND_CHAN) {
                    kind = DIM;
                } else if (pos >= d->n_params) {
                    if (d->n_params == 0)
                        return cact_fail(err, CACT_ERR_USAGE, "%s takes no parameters", d->name);
                    return cact_fail(err, CACT_ERR_USAGE,
                                   "%s: too many values (parameters: %s)", d->name, list);
                } else {
                    idx = pos;
                }
                pos++;
            }
            if (kind == INPLACE) {
                what = "inplace";
                if (given_inplace++)
                    return cact_fail(err, CACT_ERR_USAGE, "%s: inplace given twice", d->name);
                st = parse_inplace(d, &s, err);
            } else if (kind == DIM) {
                what = "dim";
                if (given_dim++)
                    return cact_fail(err, CACT_ERR_USAGE, "%s: dim given twice", d->name);
                st = parse_dim(d, &s, err);
            } else {
                what = d->params[idx].name;
                if (given[idx])
                    return cact_fail(err, CACT_ERR_USAGE, "%s: %s given twice", d->name,
                                   d->params[idx].name);
                given[idx] = 1;
                st = parse_value(d, &d->params[idx], &s, &fn.p[idx], err);
            }
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
                           d->name, s, what);
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
    if (d->check) {
        st = d->check(fn.p, err);
        if (st != CACT_OK)
            return st;
    }
    if (!cact_act_kernels_complete(cact_act_id_of(d), d->kind))
        return cact_fail(err, CACT_ERR_USAGE, "%s: this build lacks a kernel for it in some "
                         "implementation (tests/test_act.c names which)", d->name);
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

void cact_act_apply(const struct cact_act_fn *fn, float *y, const float *x, size_t n_img,
                    size_t channels, size_t plane)
{
    const struct cact_act_impl *im = cact_act_kernels_impl();
    enum cact_act_id id = cact_act_id_of(fn->desc);
    if (fn->desc->kind == CACT_ACT_KIND_ELEM)
        im->elem[id](y, x, n_img * channels * plane, fn->p);
    else
        im->chan[id](y, x, n_img, channels, plane, fn->p);
}

void cact_act_chain_apply(const struct cact_act_chain *chain, float *x, size_t n_img, size_t plane)
{
    for (int i = 0; i < chain->n; i++)
        cact_act_apply(&chain->fn[i], x, x, n_img, CACT_ACT_CHANNELS, plane);
}

int cact_act_chain_is_elementwise(const struct cact_act_chain *chain)
{
    for (int i = 0; i < chain->n; i++)
        if (chain->fn[i].desc->kind != CACT_ACT_KIND_ELEM)
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
            assert(fn->desc->kind == CACT_ACT_KIND_ELEM);
            cact_act_apply(fn, lut[c], lut[c], 1, 1, 256);
        }
    }
}
