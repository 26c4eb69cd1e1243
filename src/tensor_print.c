/* tensor_print.c - torch/_tensor_str.py for float32, into a caller buffer. */
#include "tensor_print.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define TP_PRECISION 4
#define TP_THRESHOLD 1000 /* more elements than this: summarize */
#define TP_EDGEITEMS 3
#define TP_LINEWIDTH 80

/* ---- Output buffer ---- */

struct tp_out {
    char *buf;
    size_t size, len; /* len counts everything, also what did not fit */
};

static void tp_put(struct tp_out *o, const char *s, size_t n)
{
    if (o->len + 1 < o->size) {
        size_t room = o->size - 1 - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void tp_puts(struct tp_out *o, const char *s)
{
    tp_put(o, s, strlen(s));
}

static void tp_rep(struct tp_out *o, char c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tp_put(o, &c, 1);
}

static size_t tp_finish(struct tp_out *o)
{
    if (o->size)
        o->buf[o->len < o->size ? o->len : o->size - 1] = '\0';
    return o->len;
}

/* ---- _Formatter ---- */

struct tp_fmt {
    int int_mode, sci_mode, max_width;
};

/* Python's str.format of a float: like printf, but NaN is "nan" whatever its sign. */
static int tp_num(char *s, size_t n, const char *spec, int width, double v)
{
    if (isnan(v))
        return snprintf(s, n, "%*s", width, "nan");
    return snprintf(s, n, spec, width, TP_PRECISION, v);
}

/* Visit the values _Formatter sees: all of them, or get_summarized_data's. */
static void tp_scan(const struct cact_tensor *t, int d, size_t off, int summarize,
                    void (*fn)(void *ctx, float v), void *ctx)
{
    size_t stride = 1;

    if (d == t->ndim) {
        fn(ctx, t->data[off]);
        return;
    }
    for (int k = d + 1; k < t->ndim; k++)
        stride *= t->shape[k];
    for (size_t i = 0; i < t->shape[d]; i++) {
        if (summarize && t->shape[d] > 2 * TP_EDGEITEMS && i == TP_EDGEITEMS)
            i = t->shape[d] - TP_EDGEITEMS;
        tp_scan(t, d + 1, off + i * stride, summarize, fn, ctx);
    }
}

struct tp_stats {
    size_t count;
    double amin, amax;
    int all_int;
};

static void tp_stat(void *ctx, float v)
{
    struct tp_stats *s = ctx;
    double a;
    if (!isfinite(v) || v == 0.0f)
        return;
    a = fabs((double)v);
    if (!s->count || a < s->amin)
        s->amin = a;
    if (!s->count || a > s->amax)
        s->amax = a;
    if (v != ceilf(v))
        s->all_int = 0;
    s->count++;
}

struct tp_widths {
    const struct tp_fmt *f;
    int width;
};

static void tp_width(void *ctx, float v)
{
    struct tp_widths *w = ctx;
    char s[64];
    int n;
    if (!isfinite(v) || v == 0.0f)
        return;
    if (w->f->sci_mode)
        n = tp_num(s, sizeof s, "%*.*e", 0, v);
    else if (w->f->int_mode)
        n = snprintf(s, sizeof s, "%.0f", (double)v) + 1;
    else
        n = tp_num(s, sizeof s, "%*.*f", 0, v);
    if (n > w->width)
        w->width = n;
}

static void tp_fmt_init(struct tp_fmt *f, const struct cact_tensor *t, int summarize)
{
    struct tp_stats s = {0, 0, 0, 1};
    struct tp_widths w = {f, 1};

    f->int_mode = 1;
    f->sci_mode = 0;
    f->max_width = 1;
    tp_scan(t, 0, 0, summarize, tp_stat, &s);
    if (!s.count)
        return; /* nothing nonzero and finite: int mode, width 1 */
    f->int_mode = s.all_int;
    if (s.amax / s.amin > 1000.0 || s.amax > 1.0e8 || (!s.all_int && s.amin < 1.0e-4))
        f->sci_mode = 1;
    tp_scan(t, 0, 0, summarize, tp_width, &w);
    f->max_width = w.width;
}

static void tp_fmt_value(const struct tp_fmt *f, float v, struct tp_out *o)
{
    char s[64];
    int n;

    if (f->sci_mode) {
        n = tp_num(s, sizeof s, "%*.*e", f->max_width, v);
    } else if (f->int_mode) {
        if (isnan(v))
            n = snprintf(s, sizeof s, "nan");
        else
            n = snprintf(s, sizeof s, isinf(v) ? "%.0f" : "%.0f.", (double)v);
    } else {
        n = tp_num(s, sizeof s, "%*.*f", 0, v);
    }
    if (n < f->max_width)
        tp_rep(o, ' ', (size_t)(f->max_width - n));
    tp_put(o, s, (size_t)n);
}

/* ---- _tensor_str_with_formatter ---- */

static void tp_vector(const struct cact_tensor *t, size_t off, int indent, int summarize,
                      const struct tp_fmt *f, struct tp_out *o)
{
    size_t len = t->shape[t->ndim - 1];
    int per_line = (TP_LINEWIDTH - indent) / (f->max_width + 2);
    int on_line = 0;

    if (per_line < 1)
        per_line = 1;
    tp_puts(o, "[");
    for (size_t i = 0; i < len; i++) {
        int ellipsis = summarize && len > 2 * TP_EDGEITEMS && i == TP_EDGEITEMS;
        if (i) {
            if (on_line == per_line) {
                tp_puts(o, ",\n");
                tp_rep(o, ' ', (size_t)indent + 1);
                on_line = 0;
            } else {
                tp_puts(o, ", ");
            }
        }
        if (ellipsis) {
            tp_puts(o, " ...");
            i = len - TP_EDGEITEMS - 1;
        } else {
            tp_fmt_value(f, t->data[off + i], o);
        }
        on_line++;
    }
    tp_puts(o, "]");
}

static void tp_tensor(const struct cact_tensor *t, int d, size_t off, int indent, int summarize,
                      const struct tp_fmt *f, struct tp_out *o)
{
    size_t stride = 1, len = t->shape[d];
    int dim = t->ndim - d;

    if (dim == 1) {
        tp_vector(t, off, indent, summarize, f, o);
        return;
    }
    for (int k = d + 1; k < t->ndim; k++)
        stride *= t->shape[k];
    tp_puts(o, "[");
    for (size_t i = 0; i < len; i++) {
        if (i) {
            tp_puts(o, ",");
            tp_rep(o, '\n', (size_t)dim - 1);
            tp_rep(o, ' ', (size_t)indent + 1);
        }
        if (summarize && len > 2 * TP_EDGEITEMS && i == TP_EDGEITEMS) {
            tp_puts(o, "...");
            i = len - TP_EDGEITEMS - 1;
            continue;
        }
        tp_tensor(t, d + 1, off + i * stride, indent + 1, summarize, f, o);
    }
    tp_puts(o, "]");
}

size_t cact_tensor_format(const struct cact_tensor *t, char *buf, size_t size)
{
    struct tp_out o = {buf, size, 0};
    struct tp_fmt f;
    int summarize = t->n > TP_THRESHOLD;
    const int indent = 7; /* strlen("tensor(") */

    tp_puts(&o, "tensor(");
    if (t->n == 0) {
        /* _tensor_str: an empty tensor shows its size unless it is 1-D, (0). */
        tp_puts(&o, "[]");
        for (int d = 0; t->ndim != 1 && d < t->ndim; d++) {
            char s[32];
            snprintf(s, sizeof s, "%s%zu%s", d ? ", " : ", size=(", t->shape[d],
                     d + 1 == t->ndim ? ")" : "");
            tp_puts(&o, s);
        }
    } else {
        tp_fmt_init(&f, t, summarize);
        if (t->ndim == 0)
            tp_fmt_value(&f, t->data[0], &o);
        else
            tp_tensor(t, 0, 0, indent, summarize, &f, &o);
    }
    tp_puts(&o, ")");
    return tp_finish(&o);
}

size_t cact_tensor_format_shape(const struct cact_tensor *t, char *buf, size_t size)
{
    struct tp_out o = {buf, size, 0};
    char s[32];

    tp_puts(&o, "torch.Size([");
    for (int d = 0; d < t->ndim; d++) {
        snprintf(s, sizeof s, "%s%zu", d ? ", " : "", t->shape[d]);
        tp_puts(&o, s);
    }
    tp_puts(&o, "])");
    return tp_finish(&o);
}
