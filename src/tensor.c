/* tensor.c - nested-list literal -> float32 tensor, the lesson's reshape, the chain. */
#include "tensor.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- The literal ---- */

struct tparse {
    const char *text, *p;
    int ndim;                              /* depth of the numbers; -1 until the first */
    size_t shape[CACT_TENSOR_MAX_DIM + 1];
    int have_len[CACT_TENSOR_MAX_DIM + 1];
    float *data;
    size_t n, cap;
    struct cact_err *err;
};

static size_t tp_off(const struct tparse *t)
{
    return (size_t)(t->p - t->text);
}

static void tp_ws(struct tparse *t)
{
    while (*t->p == ' ' || *t->p == '\t' || *t->p == '\n' || *t->p == '\r')
        t->p++;
}

/* One number token at t->p: decimal, or nan / inf / infinity (any case), signed. */
static enum cact_status tp_number(struct tparse *t)
{
    const char *s = t->p, *q = s;
    char tok[80];
    size_t len;
    double v;

    if (*q == '+' || *q == '-')
        q++;
    if (strncasecmp(q, "nan", 3) == 0 && !isalnum((unsigned char)q[3])) {
        q += 3;
        v = NAN;
    } else if (strncasecmp(q, "infinity", 8) == 0 && !isalnum((unsigned char)q[8])) {
        q += 8;
        v = *s == '-' ? -INFINITY : INFINITY;
    } else if (strncasecmp(q, "inf", 3) == 0 && !isalnum((unsigned char)q[3])) {
        q += 3;
        v = *s == '-' ? -INFINITY : INFINITY;
    } else {
        int digits = 0;
        while (isdigit((unsigned char)*q))
            q++, digits++;
        if (*q == '.') {
            q++;
            while (isdigit((unsigned char)*q))
                q++, digits++;
        }
        if (!digits)
            return cact_fail(t->err, CACT_ERR_USAGE,
                             "tensor literal: expected a number or '[' at offset %zu", tp_off(t));
        if (*q == 'e' || *q == 'E') {
            const char *e = q + 1;
            if (*e == '+' || *e == '-')
                e++;
            if (!isdigit((unsigned char)*e))
                return cact_fail(t->err, CACT_ERR_USAGE,
                                 "tensor literal: bad exponent at offset %zu", (size_t)(q - t->text));
            while (isdigit((unsigned char)*e))
                e++;
            q = e;
        }
        len = (size_t)(q - s);
        if (len >= sizeof tok)
            return cact_fail(t->err, CACT_ERR_USAGE,
                             "tensor literal: number too long at offset %zu", tp_off(t));
        memcpy(tok, s, len);
        tok[len] = '\0';
        /* Python reads the literal as a double; torch.tensor rounds it to float32.
         * Out-of-range values become inf (strtod's HUGE_VAL), as they do in torch. */
        v = strtod(tok, NULL);
    }
    if (isalnum((unsigned char)*q) || *q == '.' || *q == '_')
        return cact_fail(t->err, CACT_ERR_USAGE,
                         "tensor literal: unexpected '%c' in a number at offset %zu", *q,
                         (size_t)(q - t->text));
    if (t->n >= CACT_TENSOR_MAX_ELEMS || t->n >= t->cap)
        return cact_fail(t->err, CACT_ERR_USAGE, "tensor literal: more than %d numbers",
                         CACT_TENSOR_MAX_ELEMS);
    t->data[t->n++] = (float)v;
    t->p = q;
    return CACT_OK;
}

static enum cact_status tp_value(struct tparse *t, int depth)
{
    enum cact_status st;
    size_t count = 0, start;

    tp_ws(t);
    if (*t->p != '[') {
        if (t->ndim < 0)
            t->ndim = depth;
        else if (depth != t->ndim)
            return cact_fail(t->err, CACT_ERR_USAGE,
                             "tensor literal: expected a list at offset %zu (numbers are %d "
                             "lists deep elsewhere)", tp_off(t), t->ndim);
        return tp_number(t);
    }
    start = tp_off(t);
    if (depth >= CACT_TENSOR_MAX_DIM)
        return cact_fail(t->err, CACT_ERR_USAGE,
                         "tensor literal: more than %d nested lists at offset %zu",
                         CACT_TENSOR_MAX_DIM, start);
    if (t->ndim >= 0 && depth >= t->ndim)
        return cact_fail(t->err, CACT_ERR_USAGE,
                         "tensor literal: expected a number at offset %zu (numbers are %d "
                         "lists deep elsewhere)", start, t->ndim);
    t->p++;
    tp_ws(t);
    /* An empty list, as torch.tensor takes it: [] is shape (0), [[], []] (2, 0); its
     * numbers would be one level down, so that is the depth of every number. */
    if (*t->p == ']') {
        if (t->ndim < 0)
            t->ndim = depth + 1;
        else if (depth + 1 != t->ndim)
            return cact_fail(t->err, CACT_ERR_USAGE,
                             "tensor literal: empty list at offset %zu (numbers are %d lists "
                             "deep elsewhere)", start, t->ndim);
    }
    for (; *t->p != ']';) {
        st = tp_value(t, depth + 1);
        if (st != CACT_OK)
            return st;
        count++;
        tp_ws(t);
        if (*t->p == ',') {
            t->p++;
            tp_ws(t);
            if (*t->p == ']') /* a trailing comma, as Python allows */
                break;
            continue;
        }
        if (*t->p == ']')
            break;
        if (*t->p == '\0')
            return cact_fail(t->err, CACT_ERR_USAGE,
                             "tensor literal: missing ']' for the '[' at offset %zu", start);
        return cact_fail(t->err, CACT_ERR_USAGE,
                         "tensor literal: expected ',' or ']' at offset %zu", tp_off(t));
    }
    t->p++;
    if (t->have_len[depth] && t->shape[depth] != count)
        return cact_fail(t->err, CACT_ERR_USAGE,
                         "tensor literal: the list at offset %zu has %zu items, expected %zu "
                         "(lists must be rectangular)", start, count, t->shape[depth]);
    t->have_len[depth] = 1;
    t->shape[depth] = count;
    return CACT_OK;
}

enum cact_status cact_tensor_parse(const char *text, struct cact_tensor *out, struct cact_err *err)
{
    struct tparse t;
    enum cact_status st;
    size_t len = strnlen(text, CACT_TENSOR_MAX_TEXT + 1);

    memset(out, 0, sizeof *out);
    if (len > CACT_TENSOR_MAX_TEXT)
        return cact_fail(err, CACT_ERR_USAGE, "tensor literal: longer than %u bytes",
                         CACT_TENSOR_MAX_TEXT);
    memset(&t, 0, sizeof t);
    t.text = t.p = text;
    t.ndim = -1;
    t.err = err;
    /* No literal within the text limit holds more numbers than half its length + 1. */
    size_t cap = len / 2 + 1 < CACT_TENSOR_MAX_ELEMS ? len / 2 + 1 : CACT_TENSOR_MAX_ELEMS;
    t.cap = cap;
    t.data = malloc(cap * sizeof *t.data);
    if (!t.data)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory for a tensor literal");
    st = tp_value(&t, 0);
    if (st == CACT_OK) {
        tp_ws(&t);
        if (*t.p != '\0')
            st = cact_fail(err, CACT_ERR_USAGE, "tensor literal: unexpected '%c' at offset %zu",
                           *t.p, tp_off(&t));
    }
    if (st != CACT_OK) {
        free(t.data);
        return st;
    }
    out->ndim = t.ndim;
    out->n = t.n;
    out->data = t.data;
    for (int d = 0; d < t.ndim; d++)
        out->shape[d] = t.shape[d];
    return CACT_OK;
}

void cact_tensor_free(struct cact_tensor *t)
{
    free(t->data);
    t->data = NULL;
    t->n = 0;
    t->ndim = 0;
}

enum cact_status cact_tensor_lesson_shape(struct cact_tensor *t, struct cact_err *err)
{
    if (t->ndim != 2)
        return CACT_OK;
    /* torch.reshape infers the -1 from the element count: none is ambiguous. */
    if (t->n == 0)
        return cact_fail(err, CACT_ERR_USAGE,
                         "cannot reshape tensor of 0 elements into shape [-1, 1, %zu, %zu] "
                         "because the unspecified dimension size -1 can be any value and is "
                         "ambiguous (as torch.reshape says)", t->shape[0], t->shape[1]);
    t->shape[2] = t->shape[0];
    t->shape[3] = t->shape[1];
    t->shape[0] = t->shape[1] = 1;
    t->ndim = 4;
    return CACT_OK;
}

/* ---- The chain ---- */

enum cact_status cact_tensor_apply(const struct cact_act_chain *chain, const struct cact_tensor *x,
                                   float *y, struct cact_err *err)
{
    const float *src = x->data;

    for (int i = 0; i < chain->n; i++) {
        const struct cact_act_fn *fn = &chain->fn[i];
        if (fn->desc->kind == CACT_ACT_KIND_CHAN && x->ndim < 2)
            return cact_fail(err, CACT_ERR_USAGE,
                             "%s runs over dimension 1 (dim=1), but the tensor has %d "
                             "dimension%s", fn->desc->name, x->ndim, x->ndim == 1 ? "" : "s");
    }
    if (chain->n == 0 && y != x->data)
        memcpy(y, x->data, x->n * sizeof *y);
    for (int i = 0; i < chain->n; i++) {
        const struct cact_act_fn *fn = &chain->fn[i];
        if (fn->desc->kind == CACT_ACT_KIND_ELEM) {
            cact_act_apply(fn, y, src, 1, 1, x->n);
        } else {
            size_t plane = 1;
            for (int d = 2; d < x->ndim; d++)
                plane *= x->shape[d];
            if (y != src)
                memcpy(y, src, x->n * sizeof *y);
            cact_act_apply(fn, y, y, x->shape[0], x->shape[1], plane);
        }
        src = y;
    }
    return CACT_OK;
}
