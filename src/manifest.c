/* manifest.c - JSON for OUT/manifest.json, built in memory and written atomically. */
#include "manifest.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- A growing string ---- */

struct jbuf {
    char *p;
    size_t len, cap;
    int oom;
};

static void jb_printf(struct jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void jb_printf(struct jbuf *b, const char *fmt, ...)
{
    va_list ap;
    if (b->oom)
        return;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + (size_t)n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

/* JSON string literal: class names come from a file, so escape everything needed. */
static void jb_str(struct jbuf *b, const char *s)
{
    jb_printf(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            jb_printf(b, "\\%c", c);
        else if (c < 0x20)
            jb_printf(b, "\\u%04x", c);
        else
            jb_printf(b, "%c", c);
    }
    jb_printf(b, "\"");
}

static void jb_num(struct jbuf *b, double v)
{
    if (isfinite(v))
        jb_printf(b, "%.9g", v);
    else
        jb_printf(b, "null");
}

static void jb_stats(struct jbuf *b, const struct cact_run_values *s)
{
    jb_printf(b, "{\"min\": ");
    jb_num(b, s->min);
    jb_printf(b, ", \"mean\": ");
    jb_num(b, s->mean);
    jb_printf(b, ", \"max\": ");
    jb_num(b, s->max);
    jb_printf(b, "}");
}

/* ---- The manifest ---- */

static void manifest_chain(struct jbuf *b, const struct cact_act_chain *c)
{
    char spec[256];

    jb_printf(b, "  \"transform\": {\"to_tensor\": true, \"normalize\": ");
    if (c->normalize) {
        jb_printf(b, "{\"mean\": [");
        for (int i = 0; i < CACT_ACT_CHANNELS; i++) {
            jb_printf(b, i ? ", " : "");
            jb_num(b, c->mean[i]);
        }
        jb_printf(b, "], \"std\": [");
        for (int i = 0; i < CACT_ACT_CHANNELS; i++) {
            jb_printf(b, i ? ", " : "");
            jb_num(b, c->std[i]);
        }
        jb_printf(b, "]}");
    } else {
        jb_printf(b, "null");
    }
    jb_printf(b, "},\n  \"functions\": [");
    for (int i = 0; i < c->n; i++) {
        const struct cact_act_fn *fn = &c->fn[i];
        jb_printf(b, "%s\n    {\"name\": ", i ? "," : "");
        jb_str(b, fn->desc->name);
        jb_printf(b, ", \"module\": ");
        jb_str(b, fn->desc->torch_module);
        jb_printf(b, ", \"spec\": ");
        jb_str(b, cact_act_format(fn, spec, sizeof spec));
        jb_printf(b, ", \"params\": {");
        for (int j = 0; j < fn->desc->n_params; j++) {
            const struct cact_act_param *p = &fn->desc->params[j];
            jb_printf(b, "%s", j ? ", " : "");
            jb_str(b, p->name);
            jb_printf(b, ": ");
            if (p->choices)
                jb_str(b, p->choices[(int)fn->p[j]]);
            else
                jb_num(b, fn->p[j]);
        }
        jb_printf(b, "}}");
    }
    jb_printf(b, "%s],\n", c->n ? "\n  " : "");
}

/* gridnorm: make_grid's normalize options and what the grids clipped, over the run. */
static void manifest_grid_norm(struct jbuf *b, const struct cact_grid_opts *g,
                               const struct cact_run_batch *batches, size_t n_batches)
{
    double lo, hi;
    int ranged = cact_grid_clip_range(g, &lo, &hi);

    jb_printf(b, "  \"grid_normalize\": {\"normalize\": %s, \"value_range\": ",
              g->normalize ? "true" : "false");
    if (g->has_value_range) {
        jb_printf(b, "[");
        jb_num(b, g->value_range[0]);
        jb_printf(b, ", ");
        jb_num(b, g->value_range[1]);
        jb_printf(b, "]");
    } else {
        jb_printf(b, "null");
    }
    jb_printf(b, ", \"scale_each\": %s},\n  \"clipped\": {", g->scale_each ? "true" : "false");
    for (int which = 0; which < 2; which++) {
        struct cact_grid_clip t = {0};
        for (size_t k = 0; k < n_batches; k++) {
            const struct cact_grid_clip *c = which ? &batches[k].clip_out : &batches[k].clip_in;
            t.values += c->values, t.below += c->below, t.above += c->above, t.nan += c->nan;
        }
        jb_printf(b, "%s\"%s\": {\"range\": ", which ? ", " : "", which ? "output" : "input");
        if (ranged) {
            jb_printf(b, "[");
            jb_num(b, lo);
            jb_printf(b, ", ");
            jb_num(b, hi);
            jb_printf(b, "]");
        } else {
            jb_printf(b, "null");
        }
        jb_printf(b, ", \"values\": %llu, \"below\": %llu, \"above\": %llu, \"nan\": %llu}",
                  (unsigned long long)t.values, (unsigned long long)t.below,
                  (unsigned long long)t.above, (unsigned long long)t.nan);
    }
    jb_printf(b, "},\n");
}

enum cact_status cact_manifest_write(const char *path, const struct cact_run_info *in,
                                     struct cact_err *err)
{
    const struct cact_grid_opts *g = in->grid;
    struct jbuf b = {0};
    enum cact_status st;

    jb_printf(&b, "{\n  \"tool\": \"cifar-act\",\n  \"version\": \"%s\",\n", CACT_VERSION);
    jb_printf(&b, "  \"dataset\": \"%s\",\n  \"split\": \"%s\",\n",
              cact_cifar_kind_names[in->kind], cact_cifar_split_names[in->split]);
    if (in->kind == CACT_CIFAR_100)
        jb_printf(&b, "  \"label\": \"%s\",\n", cact_cifar_label_names[in->label]);
    jb_printf(&b, "  \"data_dir\": ");
    jb_str(&b, in->data_dir);
    /* pickle helper: which version of the dataset was read ("binary" or "python"). */
    jb_printf(&b, ",\n  \"data_format\": \"%s\"", cact_cifar_format_names[in->data_format]);
    jb_printf(&b, ",\n  \"images\": %zu,\n", in->n_images);
    jb_printf(&b, "  \"classes\": [");
    for (int i = 0; i < in->n_classes; i++) {
        jb_printf(&b, "%s", i ? ", " : "");
        jb_str(&b, in->class_names[i]);
    }
    jb_printf(&b, "],\n");
    manifest_chain(&b, in->chain);
    jb_printf(&b, "  \"batch_size\": %zu,\n  \"drop_last\": %s,\n  \"shuffle\": %s,\n",
              in->batch, in->drop_last ? "true" : "false", in->shuffle ? "true" : "false");
    if (in->shuffle)
        jb_printf(&b, "  \"seed\": %llu,\n", (unsigned long long)in->seed);
    jb_printf(&b, "  \"grid\": {\"style\": \"%s\", \"nrow\": %d, \"padding\": %d, "
                  "\"pad_value\": ",
              cact_grid_style_names[g->style], g->nrow, g->style == CACT_GRID_TENSORBOARD ? 0 : g->padding);
    jb_num(&b, g->pad_value);
    jb_printf(&b, ", \"scale\": %d, \"layout\": \"%s\", \"png_level\": %d},\n",
              g->scale, cact_run_layout_names[in->layout], in->png_level);
    manifest_grid_norm(&b, g, in->batches, in->n_batches); /* gridnorm */
    jb_printf(&b, "  \"batches\": [");
    for (size_t k = 0; k < in->n_batches; k++) {
        const struct cact_run_batch *mb = &in->batches[k];
        jb_printf(&b, "%s\n    {\"batch\": %zu, ", k ? "," : "", k);
        for (int f = 0; f < mb->n_files; f++) {
            jb_str(&b, mb->files[f].role);
            jb_printf(&b, ": ");
            jb_str(&b, mb->files[f].name);
            jb_printf(&b, ", ");
        }
        jb_printf(&b, "\"size\": %zu,\n     \"images\": [", mb->n);
        for (size_t i = 0; i < mb->n; i++)
            jb_printf(&b, "%s%zu", i ? ", " : "", mb->idx[i]);
        jb_printf(&b, "],\n     \"labels\": [");
        for (size_t i = 0; i < mb->n; i++)
            jb_printf(&b, "%s%d", i ? ", " : "", mb->labels[i]);
        jb_printf(&b, "],\n     \"class_names\": [");
        for (size_t i = 0; i < mb->n; i++) {
            int l = mb->labels[i];
            jb_printf(&b, "%s", i ? ", " : "");
            jb_str(&b, l >= 0 && l < in->n_classes ? in->class_names[l] : "?");
        }
        jb_printf(&b, "],\n     \"input_stats\": ");
        jb_stats(&b, &mb->in);
        jb_printf(&b, ", \"output_stats\": ");
        jb_stats(&b, &mb->out);
        jb_printf(&b, "}");
    }
    jb_printf(&b, "%s],\n", in->n_batches ? "\n  " : "");
    /* Every file of this run in OUT but the manifest itself: the batches' PNGs, then
     * the rest (index.html, html/...), so a reader can check OUT against it. */
    jb_printf(&b, "  \"files\": [");
    int first = 1;
    for (size_t k = 0; k < in->n_batches; k++)
        for (int f = 0; f < in->batches[k].n_files; f++) {
            jb_printf(&b, "%s", first ? "" : ", ");
            jb_str(&b, in->batches[k].files[f].name);
            first = 0;
        }
    for (size_t i = 0; i < in->n_extra; i++) {
        jb_printf(&b, "%s", first ? "" : ", ");
        jb_str(&b, in->extra[i]);
        first = 0;
    }
    jb_printf(&b, "]");
    /* What the run wrote outside OUT: the event file, so the manifest names it all. */
    if (in->logdir && in->event_file) {
        jb_printf(&b, ",\n  \"logdir\": ");
        jb_str(&b, in->logdir);
        jb_printf(&b, ",\n  \"event_file\": ");
        jb_str(&b, in->event_file);
    }
    jb_printf(&b, "\n}\n");
    if (b.oom)
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory writing %s", path);
    else
        st = cact_write_atomic(path, b.p, b.len, err);
    free(b.p);
    return st;
}
