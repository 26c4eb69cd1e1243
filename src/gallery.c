/* gallery.c - one batch, many activations, one PNG and one page. */
#include "gallery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "manifest.h"
#include "out_names.h"
#include "outdir.h"
#include "run.h" /* cact_run_opts_default */
#include "run_info.h"
#include "pngw.h"

/* The data, grid, PNG and OUT defaults are a run's, taken from the one place that
 * sets them, so the two jobs cannot drift apart. */
void cact_gallery_opts_default(struct cact_gallery_opts *o)
{
    struct cact_run_opts r;

    cact_run_opts_default(&r);
    memset(o, 0, sizeof *o);
    o->data_dir = r.data_dir;
    o->kind = r.kind;
    o->split = r.split;
    o->label = r.label;
    o->batch = r.batch;
    o->grid = r.grid;
    o->png_level = r.png_level;
    o->out_dir = r.out_dir;
    o->html = r.html;
}

size_t cact_gallery_default_fns(struct cact_act_fn *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < cact_act_count(); i++) {
        const struct cact_act_desc *d = cact_act_at(i);
        int required = 0;
        if (d->kind != CACT_ACT_KIND_ELEM)
            continue;
        for (int j = 0; j < d->n_params; j++)
            if (d->params[j].def != d->params[j].def) /* NaN: no default (Threshold) */
                required = 1;
        if (required)
            continue;
        if (n < max) {
            out[n].desc = d;
            for (int j = 0; j < d->n_params; j++)
                out[n].p[j] = d->params[j].def;
        }
        n++;
    }
    return n;
}

static enum cact_status gallery_json(const struct cact_gallery_opts *o, const struct cact_cifar_set *set,
                                     const size_t *idx, const int *labels, size_t n,
                                     const struct cact_act_fn *fns, size_t nf, int gw, int gh,
                                     int pw, int ph, const char *dir, struct cact_err *err)
{
    char *buf = NULL, path[4096], spec[256];
    size_t len = 0;
    enum cact_status st;
    FILE *f = open_memstream(&buf, &len);

    if (!f)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory for gallery.json");
    fprintf(f, "{\n  \"tool\": \"cifar-act\",\n  \"version\": \"%s\",\n  \"kind\": \"gallery\",\n", CACT_VERSION);
    fprintf(f, "  \"dataset\": \"%s\",\n  \"split\": \"%s\",\n  \"data_dir\": ",
            o->kind == CACT_CIFAR_10 ? "cifar10" : "cifar100", o->split == CACT_CIFAR_TRAIN ? "train" : "test");
    cact_json_str(f, o->data_dir);
    fprintf(f, ",\n  \"batch_size\": %zu,\n  \"shuffle\": %s,\n  \"seed\": %llu,\n  \"batch\": %zu,\n",
            o->batch, o->shuffle ? "true" : "false", (unsigned long long)o->seed, o->gallery_batch);
    if (o->base.normalize)
        fprintf(f, "  \"normalize\": {\"mean\": [%.9g, %.9g, %.9g], \"std\": [%.9g, %.9g, %.9g]},\n",
                o->base.mean[0], o->base.mean[1], o->base.mean[2], o->base.std[0], o->base.std[1], o->base.std[2]);
    else
        fprintf(f, "  \"normalize\": null,\n");
    fprintf(f, "  \"grid\": {\"style\": \"%s\", \"nrow\": %d, \"padding\": %d, \"scale\": %d},\n",
            o->grid.style == CACT_GRID_TENSORBOARD ? "tensorboard" : "torchvision", o->grid.nrow,
            o->grid.padding, o->grid.scale);
    fprintf(f, "  \"images\": [");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%zu", i ? ", " : "", idx[i]);
    fprintf(f, "],\n  \"labels\": [");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%d", i ? ", " : "", labels[i]);
    fprintf(f, "],\n  \"class_names\": [");
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s", i ? ", " : "");
        cact_json_str(f, cact_cifar_class_name(set, labels[i]));
    }
    fprintf(f, "],\n  \"png\": {\"file\": \"gallery.png\", \"width\": %d, \"height\": %d, "
               "\"cell_width\": %d, \"cell_height\": %d, \"gap\": %d},\n",
            pw, ph, gw, gh, CACT_GALLERY_GAP * o->grid.scale);
    fprintf(f, "  \"order\": [\n    {\"input\": true, \"x\": 0, \"y\": 0}");
    for (size_t i = 0; i < nf; i++) {
        size_t cell = i + 1;
        int gap = CACT_GALLERY_GAP * o->grid.scale;
        fprintf(f, ",\n    {\"spec\": ");
        cact_json_str(f, cact_act_format(&fns[i], spec, sizeof spec));
        fprintf(f, ", \"module\": \"%s\", \"formula\": ", fns[i].desc->torch_module);
        cact_json_str(f, fns[i].desc->formula);
        fprintf(f, ", \"x\": %d, \"y\": %d}", (int)(cell % CACT_GALLERY_COLS) * (gw + gap),
                (int)(cell / CACT_GALLERY_COLS) * (gh + gap));
    }
    fprintf(f, "\n  ],\n  \"files\": [\"gallery.png\", \"gallery.json\"%s]\n}\n",
            o->html ? ", \"gallery.html\"" : "");
    if (fclose(f) != 0) {
        free(buf);
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory for gallery.json");
    }
    /* The same text as gallery.json and as the manifest, which comes last. */
    snprintf(path, sizeof path, "%s/gallery.json", dir);
    st = cact_write_atomic(path, buf, len, err);
    if (st == CACT_OK) {
        snprintf(path, sizeof path, "%s/%s", dir, CACT_MANIFEST_NAME);
        st = cact_write_atomic(path, buf, len, err);
    }
    free(buf);
    return st;
}

enum cact_status cact_gallery_run(const struct cact_gallery_opts *o, struct cact_gallery_stats *stats,
                                  struct cact_err *err)
{
    struct cact_cifar_set *set = NULL;
    struct cact_cifar_loader ld = {0};
    struct cact_act_fn *all = NULL;
    const struct cact_act_fn *fns = o->fns;
    size_t nf = o->n_fns, n, cells;
    size_t *idx = NULL;
    int *labels = NULL;
    uint8_t *px = NULL, *grid = NULL, *png = NULL;
    uint8_t (*luts)[3][256] = NULL;
    size_t hist[CACT_ACT_CHANNELS][256] = {{0}};
    struct cact_act_chain *chains = NULL;
    struct cact_html_card *cards = NULL;
    const char **classes = NULL;
    int gw, gh, cols, rows, gap = CACT_GALLERY_GAP * (o->grid.scale > 0 ? o->grid.scale : 1), pw, ph;
    enum cact_status st;
    char path[4096];
    struct cact_outdir *od = NULL;
    const char *dir = NULL;

    if (stats)
        memset(stats, 0, sizeof *stats);
    if (o->batch < 1 || o->grid.nrow < 1 || o->grid.scale < 1 || o->grid.padding < 0)
        return cact_fail(err, CACT_ERR_USAGE, "gallery: bad batch or grid options");
    if (!fns) {
        nf = cact_gallery_default_fns(NULL, 0);
        all = calloc(nf, sizeof *all);
        if (!all)
            return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
        cact_gallery_default_fns(all, nf);
        fns = all;
    }
    if (!nf) {
        st = cact_fail(err, CACT_ERR_USAGE, "gallery: no function given");
        goto out;
    }
    for (size_t i = 0; i < nf; i++)
        if (fns[i].desc->kind != CACT_ACT_KIND_ELEM) {
            st = cact_fail(err, CACT_ERR_USAGE,
                           "gallery: %s is channel-wise (not element-wise), so it has no card; "
                           "run it on its own", fns[i].desc->name);
            goto out;
        }
    st = (o->data_verified ? cact_cifar_open_verified : cact_cifar_open)(&set, o->data_dir, o->kind,
                                                                        o->split, o->label, err);
    if (st != CACT_OK)
        goto out;
    st = cact_cifar_loader_init(&ld, cact_cifar_count(set), o->batch, o->drop_last, o->shuffle, o->seed, err);
    if (st != CACT_OK)
        goto out;
    if (o->gallery_batch >= ld.n_batches) {
        st = cact_fail(err, CACT_ERR_USAGE, "gallery batch %zu: the data has batches 0..%zu",
                       o->gallery_batch, ld.n_batches ? ld.n_batches - 1 : 0);
        goto out;
    }
    idx = malloc(o->batch * sizeof *idx);
    labels = malloc(o->batch * sizeof *labels);
    px = malloc(o->batch * CACT_CIFAR_PIXELS);
    chains = calloc(nf + 1, sizeof *chains);
    cards = calloc(nf, sizeof *cards);
    classes = calloc((size_t)cact_cifar_n_classes(set), sizeof *classes);
    if (!idx || !labels || !px || !chains || !cards || !classes) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
        goto out;
    }
    n = cact_cifar_loader_batch(&ld, o->gallery_batch, idx);
    if ((st = cact_cifar_read(set, idx, n, px, labels, err)) != CACT_OK)
        goto out;

    {   /* OUT as a normal run takes it: locked, staged, swapped or merged at the end. */
        struct cact_outdir_opts oo = {o->out_dir, cact_run_out_names, o->notice, o->notice_ctx,
                                      o->cancel, 0};
        if ((st = cact_outdir_begin(&od, &oo, err)) != CACT_OK)
            goto out;
        dir = cact_outdir_stage(od);
    }
    cact_grid_size(&o->grid, n, &gw, &gh);
    cells = nf + 1;
    cols = cells < CACT_GALLERY_COLS ? (int)cells : CACT_GALLERY_COLS;
    rows = (int)((cells + (size_t)cols - 1) / (size_t)cols);
    pw = cols * gw + (cols - 1) * gap;
    ph = rows * gh + (rows - 1) * gap;
    grid = malloc((size_t)gw * (size_t)gh * 3);
    png = malloc((size_t)pw * (size_t)ph * 3);
    luts = malloc(n * sizeof *luts); /* one per image with --scale-each */
    if (!grid || !png || !luts) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory for a %dx%d gallery", pw, ph);
        goto out;
    }
    memset(png, 255, (size_t)pw * (size_t)ph * 3);
    for (size_t i = 0; i < n * CACT_CIFAR_PIXELS; i++)
        hist[i % CACT_CIFAR_PIXELS / CACT_CIFAR_PLANE][px[i]]++;
    for (size_t cell = 0; cell < cells; cell++) {
        /* Cell 0: ToTensor(+Normalize) alone, the input grid; then each function, drawn
         * as run.c draws an element-wise chain: the float table, made into byte tables
         * by cact_grid_tables (quantized, or --grid-normalize's map per batch/image). */
        struct cact_act_chain *c = &chains[cell];
        float f[CACT_ACT_CHANNELS][256];
        size_t nt;
        int x0 = (int)(cell % (size_t)cols) * (gw + gap), y0 = (int)(cell / (size_t)cols) * (gh + gap);

        *c = o->base;
        c->n = 0;
        if (cell) {
            c->n = 1;
            c->fn[0] = fns[cell - 1];
        }
        cact_act_chain_lut(c, f);
        nt = cact_grid_tables(&o->grid, (const float(*)[256])f, px, n, (const size_t(*)[256])hist, luts);
        cact_grid_render_luts(&o->grid, px, n, (const uint8_t(*)[3][256])luts, nt, grid);
        for (int y = 0; y < gh; y++)
            memcpy(png + ((size_t)(y0 + y) * (size_t)pw + (size_t)x0) * 3, grid + (size_t)y * (size_t)gw * 3,
                   (size_t)gw * 3);
        if (cell)
            cards[cell - 1] = (struct cact_html_card){c, {"gallery.png", pw, ph, x0, y0, gw, gh}};
    }
    snprintf(path, sizeof path, "%s/gallery.png", dir);
    if ((st = cact_pngw_write_atomic(path, png, pw, ph, o->png_level, NULL, err)) != CACT_OK)
        goto out;
    if ((st = gallery_json(o, set, idx, labels, n, fns, nf, gw, gh, pw, ph, dir, err)) != CACT_OK)
        goto out;
    if (o->html) {
        char sv[8][96], title[160];
        struct cact_html_kv kv[8];
        size_t nkv = 0;
        for (int i = 0; i < cact_cifar_n_classes(set); i++)
            classes[i] = cact_cifar_class_name(set, i);
        snprintf(title, sizeof title, "Gallery: %zu activations on batch %zu of %s %s", nf, o->gallery_batch,
                 o->kind == CACT_CIFAR_10 ? "CIFAR-10" : "CIFAR-100", o->split == CACT_CIFAR_TRAIN ? "train" : "test");
        snprintf(sv[0], sizeof sv[0], "%zu (images %zu..., %zu of them)", o->gallery_batch, idx[0], n);
        kv[nkv++] = (struct cact_html_kv){"batch", sv[0]};
        snprintf(sv[1], sizeof sv[1], "%zu%s", o->batch, o->shuffle ? ", shuffled" : "");
        kv[nkv++] = (struct cact_html_kv){"batch size", sv[1]};
        if (o->shuffle) {
            snprintf(sv[2], sizeof sv[2], "%llu", (unsigned long long)o->seed);
            kv[nkv++] = (struct cact_html_kv){"seed", sv[2]};
        }
        if (o->base.normalize)
            snprintf(sv[3], sizeof sv[3], "mean=(%g, %g, %g), std=(%g, %g, %g)", o->base.mean[0],
                     o->base.mean[1], o->base.mean[2], o->base.std[0], o->base.std[1], o->base.std[2]);
        else
            snprintf(sv[3], sizeof sv[3], "none (ToTensor only)");
        kv[nkv++] = (struct cact_html_kv){"normalize", sv[3]};
        snprintf(sv[4], sizeof sv[4], "%s, nrow %d, padding %d, scale %d",
                 o->grid.style == CACT_GRID_TENSORBOARD ? "tensorboard" : "torchvision", o->grid.nrow,
                 o->grid.style == CACT_GRID_TENSORBOARD ? 0 : o->grid.padding, o->grid.scale);
        kv[nkv++] = (struct cact_html_kv){"grid", sv[4]};
        kv[nkv++] = (struct cact_html_kv){"data directory", o->data_dir};
        kv[nkv++] = (struct cact_html_kv){"cifar-act", CACT_VERSION};
        struct cact_html_gallery g = {
            title, &o->grid, classes, cact_cifar_n_classes(set), kv, nkv, "gallery.json", n, idx, labels, px,
            &chains[0], {"gallery.png", pw, ph, 0, 0, gw, gh}, cards, nf};
        if ((st = cact_html_write_gallery(dir, &g, err)) != CACT_OK)
            goto out;
    }
    if ((st = cact_outdir_commit(od, CACT_MANIFEST_NAME, err)) != CACT_OK)
        goto out;
    if (stats) {
        stats->functions = nf;
        stats->png_w = pw;
        stats->png_h = ph;
    }
out:
    cact_outdir_free(od); /* an uncommitted staging directory goes with it */
    free(classes);
    free(cards);
    free(chains);
    free(luts);
    free(png);
    free(grid);
    free(px);
    free(labels);
    free(idx);
    free(all);
    cact_cifar_loader_free(&ld);
    cact_cifar_free(set);
    return st;
}
