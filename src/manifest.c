/* manifest.c - JSON for OUT/manifest.json, built in memory and written atomically. */
#include "manifest.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON pieces (strings: cact_json_str, ca.h) ---- */

static void mf_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fprintf(f, "null");
}

static void mf_stats(FILE *f, const struct cact_run_values *s)
{
    fprintf(f, "{\"min\": ");
    mf_num(f, s->min);
    fprintf(f, ", \"mean\": ");
    mf_num(f, s->mean);
    fprintf(f, ", \"max\": ");
    mf_num(f, s->max);
    fprintf(f, "}");
}

/* ---- The manifest ---- */

static void manifest_chain(FILE *f, const struct cact_act_chain *c)
{
    char spec[256];

    fprintf(f, "  \"transform\": {\"to_tensor\": true, \"normalize\": ");
    if (c->normalize) {
        fprintf(f, "{\"mean\": [");
        for (int i = 0; i < CACT_ACT_CHANNELS; i++) {
            fprintf(f, i ? ", " : "");
            mf_num(f, c->mean[i]);
        }
        fprintf(f, "], \"std\": [");
        for (int i = 0; i < CACT_ACT_CHANNELS; i++) {
            fprintf(f, i ? ", " : "");
            mf_num(f, c->std[i]);
        }
        fprintf(f, "]}");
    } else {
        fprintf(f, "null");
    }
    fprintf(f, "},\n  \"functions\": [");
    for (int i = 0; i < c->n; i++) {
        const struct cact_act_fn *fn = &c->fn[i];
        fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
        cact_json_str(f, fn->desc->name);
        fprintf(f, ", \"module\": ");
        cact_json_str(f, fn->desc->torch_module);
        fprintf(f, ", \"spec\": ");
        cact_json_str(f, cact_act_format(fn, spec, sizeof spec));
        fprintf(f, ", \"params\": {");
        for (int j = 0; j < fn->desc->n_params; j++) {
            const struct cact_act_param *p = &fn->desc->params[j];
            fprintf(f, "%s", j ? ", " : "");
            cact_json_str(f, p->name);
            fprintf(f, ": ");
            if (p->choices)
                cact_json_str(f, p->choices[(int)fn->p[j]]);
            else
                mf_num(f, fn->p[j]);
        }
        fprintf(f, "}}");
    }
    fprintf(f, "%s],\n", c->n ? "\n  " : "");
}

/* gridnorm: make_grid's normalize options and what the grids clipped, over the run. */
static void manifest_grid_norm(FILE *f, const struct cact_grid_opts *g,
                               const struct cact_run_batch *batches, size_t n_batches)
{
    double lo, hi;
    int ranged = cact_grid_clip_range(g, &lo, &hi);

    fprintf(f, "  \"grid_normalize\": {\"normalize\": %s, \"value_range\": ",
              g->normalize ? "true" : "false");
    if (g->has_value_range) {
        fprintf(f, "[");
        mf_num(f, g->value_range[0]);
        fprintf(f, ", ");
        mf_num(f, g->value_range[1]);
        fprintf(f, "]");
    } else {
        fprintf(f, "null");
    }
    fprintf(f, ", \"scale_each\": %s},\n  \"clipped\": {", g->scale_each ? "true" : "false");
    for (int which = 0; which < 2; which++) {
        struct cact_grid_clip t = {0};
        for (size_t k = 0; k < n_batches; k++) {
            const struct cact_grid_clip *c = which ? &batches[k].clip_out : &batches[k].clip_in;
            t.values += c->values, t.below += c->below, t.above += c->above, t.nan += c->nan;
        }
        fprintf(f, "%s\"%s\": {\"range\": ", which ? ", " : "", which ? "output" : "input");
        if (ranged) {
            fprintf(f, "[");
            mf_num(f, lo);
            fprintf(f, ", ");
            mf_num(f, hi);
            fprintf(f, "]");
        } else {
            fprintf(f, "null");
        }
        fprintf(f, ", \"values\": %llu, \"below\": %llu, \"above\": %llu, \"nan\": %llu}",
                  (unsigned long long)t.values, (unsigned long long)t.below,
                  (unsigned long long)t.above, (unsigned long long)t.nan);
    }
    fprintf(f, "},\n");
}

enum cact_status cact_manifest_write(const char *path, const struct cact_run_info *in,
                                     struct cact_err *err)
{
    const struct cact_grid_opts *g = in->grid;
    char *text = NULL;
    size_t len = 0;
    enum cact_status st;
    FILE *f = open_memstream(&text, &len);

    if (!f)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory writing %s", path);

    fprintf(f, "{\n  \"tool\": \"cifar-act\",\n  \"version\": \"%s\",\n", CACT_VERSION);
    fprintf(f, "  \"dataset\": \"%s\",\n  \"split\": \"%s\",\n",
              cact_cifar_kind_names[in->kind], cact_cifar_split_names[in->split]);
    if (in->kind == CACT_CIFAR_100)
        fprintf(f, "  \"label\": \"%s\",\n", cact_cifar_label_names[in->label]);
    fprintf(f, "  \"data_dir\": ");
    cact_json_str(f, in->data_dir);
    /* pickle helper: which version of the dataset was read ("binary" or "python"). */
    fprintf(f, ",\n  \"data_format\": \"%s\"", cact_cifar_format_names[in->data_format]);
    fprintf(f, ",\n  \"images\": %zu,\n", in->n_images);
    fprintf(f, "  \"classes\": [");
    for (int i = 0; i < in->n_classes; i++) {
        fprintf(f, "%s", i ? ", " : "");
        cact_json_str(f, in->class_names[i]);
    }
    fprintf(f, "],\n");
    manifest_chain(f, in->chain);
    fprintf(f, "  \"batch_size\": %zu,\n  \"drop_last\": %s,\n  \"shuffle\": %s,\n",
              in->batch, in->drop_last ? "true" : "false", in->shuffle ? "true" : "false");
    if (in->shuffle)
        fprintf(f, "  \"seed\": %llu,\n", (unsigned long long)in->seed);
    fprintf(f, "  \"grid\": {\"style\": \"%s\", \"nrow\": %d, \"padding\": %d, "
                  "\"pad_value\": ",
              cact_grid_style_names[g->style], g->nrow, g->style == CACT_GRID_TENSORBOARD ? 0 : g->padding);
    mf_num(f, g->pad_value);
    fprintf(f, ", \"scale\": %d, \"layout\": \"%s\", \"png_level\": %d},\n",
              g->scale, cact_run_layout_names[in->layout], in->png_level);
    manifest_grid_norm(f, g, in->batches, in->n_batches); /* gridnorm */
    fprintf(f, "  \"batches\": [");
    for (size_t k = 0; k < in->n_batches; k++) {
        const struct cact_run_batch *mb = &in->batches[k];
        fprintf(f, "%s\n    {\"batch\": %zu, ", k ? "," : "", k);
        for (int j = 0; j < mb->n_files; j++) {
            cact_json_str(f, mb->files[j].role);
            fprintf(f, ": ");
            cact_json_str(f, mb->files[j].name);
            fprintf(f, ", ");
        }
        fprintf(f, "\"size\": %zu,\n     \"images\": [", mb->n);
        for (size_t i = 0; i < mb->n; i++)
            fprintf(f, "%s%zu", i ? ", " : "", mb->idx[i]);
        fprintf(f, "],\n     \"labels\": [");
        for (size_t i = 0; i < mb->n; i++)
            fprintf(f, "%s%d", i ? ", " : "", mb->labels[i]);
        fprintf(f, "],\n     \"class_names\": [");
        for (size_t i = 0; i < mb->n; i++) {
            int l = mb->labels[i];
            fprintf(f, "%s", i ? ", " : "");
            cact_json_str(f, l >= 0 && l < in->n_classes ? in->class_names[l] : "?");
        }
        fprintf(f, "],\n     \"input_stats\": ");
        mf_stats(f, &mb->in);
        fprintf(f, ", \"output_stats\": ");
        mf_stats(f, &mb->out);
        fprintf(f, "}");
    }
    fprintf(f, "%s],\n", in->n_batches ? "\n  " : "");
    /* Every file of this run in OUT but the manifest itself: the batches' PNGs, then
     * the rest (index.html, html/...), so a reader can check OUT against it. */
    fprintf(f, "  \"files\": [");
    int first = 1;
    for (size_t k = 0; k < in->n_batches; k++)
        for (int j = 0; j < in->batches[k].n_files; j++) {
            fprintf(f, "%s", first ? "" : ", ");
            cact_json_str(f, in->batches[k].files[j].name);
            first = 0;
        }
    for (size_t i = 0; i < in->n_extra; i++) {
        fprintf(f, "%s", first ? "" : ", ");
        cact_json_str(f, in->extra[i]);
        first = 0;
    }
    fprintf(f, "]");
    /* What the run wrote outside OUT: the event file, so the manifest names it all. */
    if (in->logdir && in->event_file) {
        fprintf(f, ",\n  \"logdir\": ");
        cact_json_str(f, in->logdir);
        fprintf(f, ",\n  \"event_file\": ");
        cact_json_str(f, in->event_file);
    }
    fprintf(f, "\n}\n");
    if (fclose(f) != 0 || !text) /* a memory stream fails only for want of memory */
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory writing %s", path);
    else
        st = cact_write_atomic(path, text, len, err);
    free(text);
    return st;
}
