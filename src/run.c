/* run.c - the job: batches through the activation chain into PNG grids, N threads. */
#include "run.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "html.h"
#include "manifest.h"
#include "out_names.h"
#include "outdir.h"
#include "part.h"    /* --shard: manifest parts and the merge */
#include "pngw.h"
#include "tblog.h" /* --logdir: the event file */
#include "tfevent.h" /* --shard: the merge of the shards' event files */

/* The gap between input and output in the pairs layout: white, so it shows against
 * black padding. In grid pixels before scaling. */
#define RUN_PAIR_GAP 8

/* ---- File names in OUT ---- */

/* Every file a run puts in OUT is in cact_run_out_names (out_names.h), so that OUT can
 * be replaced as a unit and earlier runs' files recognised (outdir.h). A writer that
 * adds a file to OUT adds its row there, and its names to run_info's extra list. */

/* "input_0007.png": role, "_", the batch number with at least 4 digits, ".png". */
static void run_file_name(char *buf, size_t size, const char *role, size_t k)
{
    snprintf(buf, size, "%s_%04zu.png", role, k);
}

static double run_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cact_run_opts_default(struct cact_run_opts *o)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    memset(o, 0, sizeof *o);
    o->data_dir = "data";
    o->kind = CACT_CIFAR_10;
    o->split = CACT_CIFAR_TEST;
    o->label = CACT_CIFAR_LABEL_FINE;
    o->batch = 64;
    cact_grid_opts_default(&o->grid);
    o->layout = CACT_RUN_LAYOUT_SEPARATE;
    o->png_level = CACT_PNGW_DEFAULT_LEVEL;
    o->out_dir = "out";
    o->html = 1;
    o->html_pixels = 1;
    o->jobs = cpus > 0 ? (int)cpus : 1;
}

/* ---- Shared state of one job ---- */

struct run_ctx {
    const struct cact_run_opts *o;
    const char *dir;           /* where the files go: OUT's staging directory */
    struct cact_cifar_set *set;
    struct cact_cifar_loader ld;
    size_t n_batches;
    size_t first, stride;      /* the batches done: first, first + stride, ... (a shard) */
    size_t n_mine;             /* how many of them */
    int use_lut;
    float in_f[CACT_ACT_CHANNELS][256], out_f[CACT_ACT_CHANNELS][256];
    uint8_t in_lut[CACT_ACT_CHANNELS][256], out_lut[CACT_ACT_CHANNELS][256];
    struct cact_run_batch *mb; /* [n_batches] */
    cact_html_hist *html_hist; /* [n_batches] with o->html: filled by the workers */
    struct cact_html_px *html_px; /* with o->html_pixels too: the pixel files (html.h) */
    struct cact_tblog *tb;     /* tblog hook: NULL without logdir */
    int grid_w, grid_h;        /* of a full batch: the buffers' size */
    double t0;

    atomic_size_t next;
    atomic_int failed;
    pthread_mutex_t lock;      /* guards the fields below */
    size_t done, images_done, files;
    uint64_t png_bytes;
    struct cact_err err;
};

/* Per-worker buffers, sized for a full batch. */
struct run_work {
    size_t *idx;
    int *labels;
    uint8_t *px;   /* [batch][3072] */
    float *x, *y;  /* float path only: [batch][3072]; y unused with --inplace */
    uint8_t *rgb_in, *rgb_out, *pair;
    uint8_t (*luts)[3][256]; /* gridnorm: normalize tables, 1 or batch (scale_each) */
};

static void run_work_free(struct run_work *w)
{
    free(w->idx);
    free(w->labels);
    free(w->px);
    free(w->x);
    free(w->y);
    free(w->rgb_in);
    free(w->rgb_out);
    free(w->pair);
    free(w->luts);
}

static enum cact_status run_work_init(struct run_work *w, const struct run_ctx *c,
                                    struct cact_err *err)
{
    size_t b = c->o->batch;
    size_t rgb = (size_t)c->grid_w * (size_t)c->grid_h * 3;
    int pairs = c->o->layout == CACT_RUN_LAYOUT_PAIRS;

    memset(w, 0, sizeof *w);
    w->idx = malloc(b * sizeof *w->idx);
    w->labels = malloc(b * sizeof *w->labels);
    w->px = malloc(b * CACT_CIFAR_PIXELS);
    w->rgb_in = malloc(rgb);
    if (pairs)
        w->rgb_out = malloc(rgb); /* separate files share rgb_in (run_batch) */
    if (!c->use_lut) {
        w->x = malloc(b * CACT_CIFAR_PIXELS * sizeof *w->x);
        if (!c->o->inplace)
            w->y = malloc(b * CACT_CIFAR_PIXELS * sizeof *w->y);
    }
    w->luts = malloc((c->o->grid.scale_each ? b : 1) * sizeof *w->luts); /* gridnorm */
    if (pairs) {
        size_t gap = (size_t)RUN_PAIR_GAP * (size_t)c->o->grid.scale;
        w->pair = malloc(((size_t)c->grid_w * 2 + gap) * (size_t)c->grid_h * 3);
    }
    if (!w->idx || !w->labels || !w->px || !w->rgb_in || (pairs && !w->rgb_out) || !w->luts ||
        (!c->use_lut && (!w->x || (!c->o->inplace && !w->y))) || (pairs && !w->pair)) {
        run_work_free(w);
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory for a batch of %zu", b);
    }
    return CACT_OK;
}

/* ---- Statistics ---- */

/* min/mean/max accumulated in double; NaN is left out of min and max (comparisons
 * are false) but makes the mean NaN, as manifest.h documents. */
struct run_acc {
    double sum, min, max;
};

static void run_acc_init(struct run_acc *a)
{
    a->sum = 0;
    a->min = INFINITY;
    a->max = -INFINITY;
}

static void run_acc_add(struct run_acc *a, double v, double count)
{
    a->sum += v * count;
    if (v < a->min)
        a->min = v;
    if (v > a->max)
        a->max = v;
}

static void run_acc_done(const struct run_acc *a, size_t n, struct cact_run_values *s)
{
    s->min = a->min;
    s->max = a->max;
    s->mean = n ? a->sum / (double)n : NAN;
}

static void run_stats_floats(const float *x, size_t n, struct cact_run_values *s)
{
    struct run_acc a;
    run_acc_init(&a);
    for (size_t i = 0; i < n; i++)
        run_acc_add(&a, x[i], 1.0);
    run_acc_done(&a, n, s);
}

/* The same statistics from a byte histogram and the float tables. */
static void run_stats_lut(const size_t hist[CACT_ACT_CHANNELS][256], size_t n,
                          const float f[CACT_ACT_CHANNELS][256], struct cact_run_values *s)
{
    struct run_acc a;
    run_acc_init(&a);
    for (int c = 0; c < CACT_ACT_CHANNELS; c++)
        for (int b = 0; b < 256; b++)
            if (hist[c][b])
                run_acc_add(&a, f[c][b], (double)hist[c][b]);
    run_acc_done(&a, n, s);
}

/* ---- One batch ---- */

/* hist[c][b]: how many bytes of channel c in the n images px holds equal b. Four
 * tallies per channel take turns, so that runs of equal bytes (common in images) do
 * not wait on one counter's previous increment; that made a plain loop ~4% of a run. */
static void run_hist(const uint8_t *px, size_t n, size_t hist[CACT_ACT_CHANNELS][256])
{
    _Static_assert(CACT_CIFAR_PLANE % 4 == 0, "run_hist reads a plane four bytes at a time");
    for (int ch = 0; ch < CACT_ACT_CHANNELS; ch++) {
        size_t part[4][256] = { { 0 } };

        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = px + i * CACT_CIFAR_PIXELS + (size_t)ch * CACT_CIFAR_PLANE;
            for (size_t j = 0; j < CACT_CIFAR_PLANE; j += 4) {
                part[0][p[j]]++;
                part[1][p[j + 1]]++;
                part[2][p[j + 2]]++;
                part[3][p[j + 3]]++;
            }
        }
        for (int b = 0; b < 256; b++)
            hist[ch][b] = part[0][b] + part[1][b] + part[2][b] + part[3][b];
    }
}

static enum cact_status run_write(struct run_ctx *c, struct cact_run_batch *mb,
                                  const char *role, size_t k, const uint8_t *rgb, int w, int h,
                                  struct cact_err *err)
{
    struct cact_run_file *f = &mb->files[mb->n_files];
    char path[4096];
    size_t bytes;
    enum cact_status st;

    f->role = role;
    run_file_name(f->name, sizeof f->name, role, k);
    if (snprintf(path, sizeof path, "%s/%s", c->dir, f->name) >= (int)sizeof path)
        return cact_fail(err, CACT_ERR_IO, "path too long: %s/%s", c->dir, f->name);
    /* The staging directory is ours alone: write the final name directly. */
    st = cact_pngw_write_new(path, rgb, w, h, c->o->png_level, &bytes, err);
    if (st != CACT_OK)
        return st;
    mb->n_files++;
    pthread_mutex_lock(&c->lock);
    c->files++;
    c->png_bytes += (uint64_t)bytes;
    pthread_mutex_unlock(&c->lock);
    return CACT_OK;
}

static enum cact_status run_batch(struct run_ctx *c, struct run_work *w, size_t k,
                                struct cact_err *err)
{
    const struct cact_run_opts *o = c->o;
    struct cact_run_batch *mb = &c->mb[k];
    size_t n = cact_cifar_loader_batch(&c->ld, k, w->idx);
    size_t values = n * CACT_CIFAR_PIXELS;
    enum cact_status st;
    int gw, gh;

    st = cact_cifar_read(c->set, w->idx, n, w->px, w->labels, err);
    if (st != CACT_OK)
        return st;
    /* html: this batch's bytes into the viewer's pixel files while they are in cache;
     * its histogram comes below, from the one the statistics count anyway. */
    if (c->html_px && (st = cact_html_px_add(c->html_px, k, w->px, n, err)) != CACT_OK)
        return st;
    mb->idx = malloc(n * sizeof *mb->idx);
    mb->labels = malloc(n * sizeof *mb->labels);
    if (!mb->idx || !mb->labels)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    mb->n = n;
    memcpy(mb->idx, w->idx, n * sizeof *mb->idx);
    memcpy(mb->labels, w->labels, n * sizeof *mb->labels);

    cact_grid_size(&o->grid, n, &gw, &gh);
    /* Separate files: the input grid is written before the output grid is drawn into
     * the same buffer (one grid per worker, not two: 0.9 GB at scale 64). */
    int pairs = o->layout == CACT_RUN_LAYOUT_PAIRS;
    uint8_t *rgb_out = pairs ? w->rgb_out : w->rgb_in;
    if (c->use_lut) {
        size_t hist[CACT_ACT_CHANNELS][256];
        run_hist(w->px, n, hist);
        if (c->html_hist) /* html: the same counts, for index.html's histograms */
            for (int ch = 0; ch < CACT_ACT_CHANNELS; ch++)
                for (int b = 0; b < 256; b++)
                    c->html_hist[k][ch][b] = hist[ch][b];
        run_stats_lut((const size_t(*)[256])hist, values, (const float(*)[256])c->in_f,
                      &mb->in);
        run_stats_lut((const size_t(*)[256])hist, values, (const float(*)[256])c->out_f,
                      &mb->out);
        /* gridnorm: what the grids clip, and with normalize tables made per batch. */
        cact_grid_clip_hist(&o->grid, (const size_t(*)[256])hist, (const float(*)[256])c->in_f,
                            &mb->clip_in);
        cact_grid_clip_hist(&o->grid, (const size_t(*)[256])hist, (const float(*)[256])c->out_f,
                            &mb->clip_out);
        /* tblog hook: this batch's TensorBoard step (grids, histograms from hist). */
        if (c->tb) {
            st = cact_tblog_batch(c->tb, k, w->px, n, (const size_t(*)[256])hist, NULL, err);
            if (st != CACT_OK)
                return st;
        }
        if (!o->out_dir)
            return CACT_OK;
        if (o->grid.normalize) {
            size_t nt = cact_grid_tables(&o->grid, (const float(*)[256])c->in_f, w->px, n,
                                         (const size_t(*)[256])hist, w->luts);
            cact_grid_render_luts(&o->grid, w->px, n, (const uint8_t(*)[3][256])w->luts, nt,
                                  w->rgb_in);
        } else {
            cact_grid_render_lut(&o->grid, w->px, n, (const uint8_t(*)[256])c->in_lut,
                                 w->rgb_in);
        }
        if (!pairs && (st = run_write(c, mb, "input", k, w->rgb_in, gw, gh, err)) != CACT_OK)
            return st;
        if (o->grid.normalize) {
            size_t nt = cact_grid_tables(&o->grid, (const float(*)[256])c->out_f, w->px, n,
                                         (const size_t(*)[256])hist, w->luts);
            cact_grid_render_luts(&o->grid, w->px, n, (const uint8_t(*)[3][256])w->luts, nt,
                                  rgb_out);
        } else {
            cact_grid_render_lut(&o->grid, w->px, n, (const uint8_t(*)[256])c->out_lut,
                                 rgb_out);
        }
    } else {
        float *out = o->inplace ? w->x : w->y;
        if (c->html_hist) /* html: no byte histogram on this path otherwise */
            cact_html_hist_add(c->html_hist[k], w->px, n);
        cact_act_to_tensor(&o->chain, w->x, w->px, n, CACT_CIFAR_PLANE);
        run_stats_floats(w->x, values, &mb->in);
        cact_grid_clip_floats(&o->grid, w->x, values, &mb->clip_in); /* gridnorm */
        /* Render the input before the kernels run: with --inplace they overwrite it. */
        if (o->out_dir) {
            cact_grid_render(&o->grid, w->x, n, w->rgb_in);
            if (!pairs && (st = run_write(c, mb, "input", k, w->rgb_in, gw, gh, err)) != CACT_OK)
                return st;
        }
        if (!o->inplace)
            memcpy(out, w->x, values * sizeof *out);
        cact_act_chain_apply(&o->chain, out, n, CACT_CIFAR_PLANE);
        run_stats_floats(out, values, &mb->out);
        cact_grid_clip_floats(&o->grid, out, values, &mb->clip_out); /* gridnorm */
        /* tblog hook: the float path passes its output values. */
        if (c->tb) {
            st = cact_tblog_batch(c->tb, k, w->px, n, NULL, out, err);
            if (st != CACT_OK)
                return st;
        }
        if (!o->out_dir)
            return CACT_OK;
        cact_grid_render(&o->grid, out, n, rgb_out);
    }

    if (pairs) {
        static const uint8_t white[3] = {255, 255, 255};
        int gap = RUN_PAIR_GAP * o->grid.scale;
        cact_grid_pair(w->rgb_in, w->rgb_out, gw, gh, gap, white, w->pair);
        return run_write(c, mb, "compare", k, w->pair, 2 * gw + gap, gh, err);
    }
    return run_write(c, mb, "output", k, rgb_out, gw, gh, err);
}

/* ---- Workers ---- */

static void run_fail(struct run_ctx *c, const struct cact_err *e)
{
    pthread_mutex_lock(&c->lock);
    if (!atomic_load(&c->failed)) {
        c->err = *e;
        atomic_store(&c->failed, 1);
    }
    pthread_mutex_unlock(&c->lock);
}

static void *run_worker(void *arg)
{
    struct run_ctx *c = arg;
    struct run_work w;
    struct cact_err e;

    cact_err_clear(&e);
    if (run_work_init(&w, c, &e) != CACT_OK) {
        run_fail(c, &e);
        return NULL;
    }
    while (!atomic_load(&c->failed)) {
        if (c->o->cancel && *c->o->cancel) {
            cact_fail(&e, CACT_ERR_INTERRUPTED, "interrupted");
            run_fail(c, &e);
            break;
        }
        size_t i = atomic_fetch_add(&c->next, 1);
        if (i >= c->n_mine)
            break;
        size_t k = c->first + i * c->stride;
        if (run_batch(c, &w, k, &e) != CACT_OK) {
            run_fail(c, &e);
            break;
        }
        pthread_mutex_lock(&c->lock);
        c->done++;
        c->images_done += c->mb[k].n;
        if (c->o->progress) {
            struct cact_run_progress p = {c->done, c->n_mine, c->images_done,
                                     run_now() - c->t0};
            c->o->progress(&p, c->o->progress_ctx);
        }
        pthread_mutex_unlock(&c->lock);
    }
    run_work_free(&w);
    return NULL;
}

/* ---- OUT/index.html (html.h): describe the finished run to the page writer ---- */

/* The viewer for the run in (its batches indexed by batch number), drawn with o's
 * chain and grid, into dir. fresh: dir is a staging directory, where an empty recycled
 * index.html is removed first; else (a merge into OUT) it is replaced atomically. */
static enum cact_status run_html(const struct cact_run_opts *o, const struct cact_run_info *in,
                                 int use_lut, const cact_html_hist *hists, const char *dir,
                                 int fresh, struct cact_err *err)
{
    struct cact_html_batch *hb = NULL;
    const char **classes = NULL;
    struct cact_html_run r;
    struct cact_html_kv kv[20];
    char title[512], spec[256], sv[20][64];
    size_t nkv = 0;
    int n_classes = in->n_classes, pairs = o->layout == CACT_RUN_LAYOUT_PAIRS;
    enum cact_status st;

    hb = calloc(in->n_batches, sizeof *hb);
    classes = calloc((size_t)n_classes, sizeof *classes);
    if (!hb || !classes) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory for index.html");
        goto out;
    }
    for (int i = 0; i < n_classes; i++)
        classes[i] = in->class_names[i];
    for (size_t k = 0; k < in->n_batches; k++) {
        /* The files the batch wrote (run_write): compare, or input and output. */
        const struct cact_run_batch *b = &in->batches[k];
        const char *inn = b->files[0].name, *outn = b->files[pairs ? 0 : 1].name;
        int gw, gh, gap = RUN_PAIR_GAP * o->grid.scale;
        cact_grid_size(&o->grid, b->n, &gw, &gh);
        hb[k].n = b->n;
        hb[k].idx = b->idx;
        hb[k].labels = b->labels;
        if (pairs) {
            hb[k].input = (struct cact_html_image){inn, 2 * gw + gap, gh, 0, 0, gw, gh};
            hb[k].output = (struct cact_html_image){inn, 2 * gw + gap, gh, gw + gap, 0, gw, gh};
        } else {
            hb[k].input = (struct cact_html_image){inn, gw, gh, 0, 0, gw, gh};
            hb[k].output = (struct cact_html_image){outn, gw, gh, 0, 0, gw, gh};
        }
    }
    title[0] = 0;
    for (int i = 0; i < o->chain.n; i++)
        snprintf(title + strlen(title), sizeof title - strlen(title), "%s%s", i ? " \xe2\x86\x92 " : "",
                 cact_act_format(&o->chain.fn[i], spec, sizeof spec));
    snprintf(title + strlen(title), sizeof title - strlen(title), "%s on %s %s",
             o->chain.n ? "" : "ToTensor only", o->kind == CACT_CIFAR_10 ? "CIFAR-10" : "CIFAR-100",
             o->split == CACT_CIFAR_TRAIN ? "train" : "test");
#define RUN_KV(k, ...) (snprintf(sv[nkv], sizeof sv[0], __VA_ARGS__), \
                        kv[nkv] = (struct cact_html_kv){k, sv[nkv]}, nkv++)
    kv[nkv++] = (struct cact_html_kv){"dataset", o->kind == CACT_CIFAR_10 ? "CIFAR-10" : "CIFAR-100"};
    kv[nkv++] = (struct cact_html_kv){"split", o->split == CACT_CIFAR_TRAIN ? "train" : "test"};
    kv[nkv++] = (struct cact_html_kv){"data directory", o->data_dir};
    RUN_KV("images in the set", "%zu", in->n_images);
    RUN_KV("batch size", "%zu", o->batch);
    RUN_KV("steps (batches)", "%zu", in->n_batches);
    kv[nkv++] = (struct cact_html_kv){"drop_last", o->drop_last ? "yes" : "no"};
    RUN_KV("shuffle", o->shuffle ? "yes, seed %llu" : "no", (unsigned long long)o->seed);
    kv[nkv++] = (struct cact_html_kv){"grid style", o->grid.style == CACT_GRID_TENSORBOARD
        ? "tensorboard (add_images: 8 columns, no padding, truncated)"
        : "torchvision (save_image: padded, rounded)"};
    RUN_KV("nrow", "%d", o->grid.nrow);
    RUN_KV("padding, pad_value", "%d, %g", o->grid.style == CACT_GRID_TENSORBOARD ? 0 : o->grid.padding,
           o->grid.pad_value);
    RUN_KV("scale", "%d", o->grid.scale);
    kv[nkv++] = (struct cact_html_kv){"layout", pairs ? "pairs (compare_KKKK.png)" : "separate"};
    RUN_KV("PNG level", "%d", o->png_level);
    kv[nkv++] = (struct cact_html_kv){"path", use_lut ? "per-channel lookup table" : "float kernels"};
    RUN_KV("jobs", "%d", o->jobs);
    kv[nkv++] = (struct cact_html_kv){"cifar-act", CACT_VERSION};
#undef RUN_KV
    r = (struct cact_html_run){title, &o->chain, &o->grid, classes, n_classes, kv, nkv,
                               CACT_MANIFEST_NAME, hb, in->n_batches, hists, NULL, NULL,
                               !o->html_pixels};
    /* Into the staging directory; an empty recycled index.html there would be renamed
     * over (an ext4 flush), so it goes first. */
    char page[4096];
    if (fresh && snprintf(page, sizeof page, "%s/index.html", dir) < (int)sizeof page)
        (void)unlink(page);
    st = cact_html_write_run(dir, &r, NULL, err);
out:
    free(classes);
    free(hb);
    return st;
}

/* ---- The job ---- */

static uint64_t run_ram_half(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || size <= 0)
        return (uint64_t)4 << 30; /* unknown: assume a small machine */
    return (uint64_t)pages * (uint64_t)size / 2;
}

static double run_gb(uint64_t b)
{
    return (double)b / 1e9;
}

enum cact_status cact_run_check(const struct cact_run_opts *o, size_t n_images,
                                struct cact_run_plan *plan, struct cact_err *err)
{
    struct cact_run_plan p;
    int pairs = o->layout == CACT_RUN_LAYOUT_PAIRS;
    size_t n;

    memset(&p, 0, sizeof p);
    if (!plan)
        plan = &p;
    *plan = p;
    if (o->batch < 1)
        return cact_fail(err, CACT_ERR_USAGE, "batch size %zu: must be at least 1", o->batch);
    if (o->grid.nrow < 1)
        return cact_fail(err, CACT_ERR_USAGE, "%d images per grid row: must be at least 1",
                         o->grid.nrow);
    if (o->grid.padding < 0)
        return cact_fail(err, CACT_ERR_USAGE, "grid padding %d: must be 0 or more",
                         o->grid.padding);
    if (o->grid.scale < 1)
        return cact_fail(err, CACT_ERR_USAGE, "grid scale %d: must be at least 1",
                         o->grid.scale);
    if (o->png_level < 0 || o->png_level > 9)
        return cact_fail(err, CACT_ERR_USAGE, "PNG level %d: must be 0..9", o->png_level);
    if (o->jobs < 1)
        return cact_fail(err, CACT_ERR_USAGE, "%d worker threads: must be at least 1", o->jobs);

    n = n_images && n_images < o->batch ? n_images : o->batch;
    cact_grid_size64(&o->grid, n, &plan->grid_w, &plan->grid_h);
    plan->file_w = plan->grid_w;
    plan->file_h = plan->grid_h;
    if (pairs)
        plan->file_w = 2 * plan->grid_w + (uint64_t)RUN_PAIR_GAP * (uint64_t)o->grid.scale;
    if (!cact_pngw_size_ok(plan->file_w, plan->file_h)) {
        plan->limit = CACT_RUN_LIMIT_PNG;
        return cact_fail(err, CACT_ERR_USAGE,
                         "a batch of %zu images, %d per row, padding %d, scale %d%s makes a "
                         "%llux%llu PNG: more than the PNG writer's limit of (3 x width + 1) "
                         "x height < 2^30 bytes of rows",
                         n, o->grid.nrow, o->grid.style == CACT_GRID_TORCHVISION ? o->grid.padding : 0,
                         o->grid.scale, pairs ? ", input and output side by side" : "",
                         (unsigned long long)plan->file_w, (unsigned long long)plan->file_h);
    }

    /* What run_work_init allocates, plus the encoder's peak (pngw.h). Every term is
     * below 2^33 here: the PNG check above bounds the grids, and batch < 2^40 in
     * practice. */
    uint64_t rgb = 3 * plan->grid_w * plan->grid_h;
    uint64_t px = (uint64_t)n * CACT_CIFAR_PIXELS;
    int use_lut = !o->force_float && cact_act_chain_is_elementwise(&o->chain);
    plan->worker_bytes = (uint64_t)n * (sizeof(size_t) + sizeof(int)) + px +
                         (pairs ? 2 : 1) * rgb +
                         (use_lut ? 0 : px * sizeof(float) * (o->inplace ? 1 : 2)) +
                         (pairs ? 3 * plan->file_w * plan->file_h : 0) +
                         (o->grid.scale_each ? (uint64_t)n : 1) * 3 * 256 + /* gridnorm luts */
                         3 * (3 * plan->file_w + 1) * plan->file_h;
    plan->memory_limit = o->memory_limit ? o->memory_limit : run_ram_half();
    if (plan->worker_bytes > plan->memory_limit) {
        plan->limit = CACT_RUN_LIMIT_MEMORY;
        return cact_fail(err, CACT_ERR_USAGE,
                         "a batch of %zu images at scale %d needs %.2f GB of buffers per "
                         "worker thread, more than the memory limit of %.2f GB%s",
                         n, o->grid.scale, run_gb(plan->worker_bytes),
                         run_gb(plan->memory_limit),
                         o->memory_limit ? "" : " (half of the RAM)");
    }
    uint64_t fit = plan->memory_limit / plan->worker_bytes;
    plan->jobs = fit < (uint64_t)o->jobs ? (int)fit : o->jobs;
    return CACT_OK;
}

/* The description the writers of manifest.json (and later others) take. */
static void run_info_fill(const struct run_ctx *c, const char *const *class_names,
                          struct cact_run_info *in)
{
    const struct cact_run_opts *o = c->o;

    memset(in, 0, sizeof *in);
    in->kind = o->kind;
    in->split = o->split;
    in->label = o->label;
    in->data_dir = o->data_dir;
    in->data_format = cact_cifar_format(c->set); /* pickle helper */
    in->n_images = cact_cifar_count(c->set);
    in->n_classes = cact_cifar_n_classes(c->set);
    in->class_names = class_names;
    in->chain = &o->chain;
    in->batch = o->batch;
    in->drop_last = o->drop_last;
    in->shuffle = o->shuffle;
    in->seed = o->seed;
    in->grid = &o->grid;
    in->layout = o->layout;
    in->png_level = o->png_level;
    in->n_batches = c->n_batches;
    in->batches = c->mb;
}

/* ---- Writers of whole-run files ----
 * Each takes the run's description and the directory to write into (OUT's staging
 * directory: the files appear in OUT when the run commits). A new writer goes here,
 * and its file names into cact_run_out_names. */
static enum cact_status run_write_files(const struct cact_run_info *in, const char *dir,
                                        struct cact_err *err)
{
    char path[4096];

    if (snprintf(path, sizeof path, "%s/%s", dir, CACT_MANIFEST_NAME) >= (int)sizeof path)
        return cact_fail(err, CACT_ERR_IO, "path too long: %s/%s", dir, CACT_MANIFEST_NAME);
    /* An empty recycled manifest.json may be there (outdir.h): renaming over it would
     * make ext4 flush the new one first; the directory is ours, so just remove it. */
    (void)unlink(path);
    return cact_manifest_write(path, in, err);
}

/* ---- Shards (--shard): parts, and the merge of a sharded run ---- */

/* A shard's event file in LOGDIR, until the merge combines them: no "tfevents" in
 * the name, so TensorBoard does not read a half-done run out of step order (its
 * loaders drop or reorder steps that go back across files). */
#define RUN_SHARD_EVENTS ".cifar-act-shard-%04zu-of-%04zu.%s.events"

static enum cact_status run_realpath(const char *path, char out[4096], struct cact_err *err)
{
    char buf[PATH_MAX];
    if (strlen(path) >= PATH_MAX || !realpath(path, buf) || strlen(buf) >= 4096)
        return cact_fail(err, CACT_ERR_IO, "cannot resolve directory %s: %s", path,
                         strlen(path) >= PATH_MAX ? "name too long" : strerror(errno));
    memcpy(out, buf, strlen(buf) + 1);
    return CACT_OK;
}

/* The run's files besides the PNGs and the manifest, into *files and in->extra. */
static enum cact_status run_extra(size_t n_batches, size_t batch, int html_pixels,
                                  char (**files)[CACT_RUN_FILE_NAME_MAX],
                                  struct cact_run_info *in, struct cact_err *err)
{
    size_t n_px = html_pixels ? cact_html_px_files(n_batches, batch) : 0;
    size_t n_extra = 1 + n_px;
    char (*f)[CACT_RUN_FILE_NAME_MAX] = calloc(n_extra, sizeof *f);
    if (!f)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    snprintf(f[0], sizeof f[0], "index.html");
    for (size_t k = 0; k < n_px; k++)
        cact_html_px_name(f[1 + k], sizeof f[0], k);
    in->n_extra = n_extra;
    in->extra = (const char(*)[CACT_RUN_FILE_NAME_MAX])f;
    *files = f;
    return CACT_OK;
}

/* The parts in OUT of one run: p[K] or NULL. */
struct run_parts {
    char run[17];                           /* "" until a part is found (run_scan) */
    size_t shards, found, others;
    char other[CACT_ERR_MSG_MAX];           /* why the last other part was not taken */
    struct cact_part *p[CACT_PART_MAX_SHARDS];
};

static void run_parts_free(struct run_parts *r)
{
    for (size_t k = 0; k < CACT_PART_MAX_SHARDS; k++)
        cact_part_free(r->p[k]);
    memset(r, 0, sizeof *r);
}

/* Read every part in dir; keep those of run r->run (or, if "", of the first run
 * found), count the others (another run's, unreadable, duplicates). */
static enum cact_status run_scan(const char *dir, struct run_parts *r, struct cact_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];

    if (!d)
        return cact_fail(err, CACT_ERR_IO, "cannot read %s: %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        long k = cact_part_name_shard(e->d_name);
        struct cact_part *p = NULL;
        struct cact_err pe;

        if (k < 0 || snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        if (cact_part_read(path, &p, &pe) != CACT_OK) {
            r->others++;
            snprintf(r->other, sizeof r->other, "%s", pe.msg);
            continue;
        }
        if (!r->run[0]) {
            memcpy(r->run, p->run, sizeof r->run);
            r->shards = p->meta.shards;
        }
        if (strcmp(p->run, r->run) != 0 || (size_t)k != p->meta.shard || r->p[k]) {
            snprintf(r->other, sizeof r->other, "%s/%s: %s", dir, e->d_name,
                     r->p[k] || (size_t)k != p->meta.shard ? "another file of the same shard"
                                                           : "a part of another run");
            r->others++;
            cact_part_free(p);
            continue;
        }
        r->p[k] = p;
        r->shards = p->meta.shards; /* the run id covers it: the same in every part */
        r->found++;
    }
    closedir(d);
    return CACT_OK;
}

/* cact_outdir_clear's keep for a shard: a file of ours stays if this run writes a file
 * of that name (its layout's PNGs, its shard pixel files if any) and the shard that
 * writes it (k mod N for batch k) has a part of this run in OUT. Pixel files
 * (html/px_*) never stay: only the merge writes them, so any are an earlier run's. */
struct run_keep {
    size_t shards, batches;
    int pairs, pixels;         /* the run's layout is pairs; it writes pixel files */
    const unsigned char *have; /* [shards] */
};

static int run_keep(const char *name, void *ctx)
{
    static const char *const prefix[] = {"input_", "output_", "compare_"};
    const struct run_keep *kp = ctx;
    long part = cact_part_name_shard(name), pxs = cact_html_px_name_shard(name);

    if (part >= 0)
        return (size_t)part < kp->shards && kp->have[part];
    if (pxs >= 0)
        return kp->pixels && (size_t)pxs < kp->shards && kp->have[pxs];
    for (size_t i = 0; i < sizeof prefix / sizeof prefix[0]; i++) {
        size_t pl = strlen(prefix[i]), k = 0;
        const char *d = name + pl;
        if (strncmp(name, prefix[i], pl) != 0 || !(*d >= '0' && *d <= '9') ||
            (i < 2) == kp->pairs) /* pairs: compare_; else input_, output_ */
            continue;
        for (; *d >= '0' && *d <= '9' && k < ((size_t)1 << 40); d++)
            k = k * 10 + (size_t)(*d - '0');
        return k < kp->batches && kp->have[k % kp->shards];
    }
    return 0;
}

/* Combine the N parts of r (all there) into OUT/index.html and OUT/manifest.json,
 * with the lock held; with a log directory, the shards' event files into one. */
static enum cact_status run_merge_parts(const char *out, struct run_parts *r,
                                        struct cact_run_stats *stats, struct cact_err *err)
{
    const struct cact_part *p0 = r->p[0];
    struct cact_run_info info = p0->info;
    struct cact_run_opts o;
    struct cact_run_batch *mb = NULL;
    cact_html_hist *hists = NULL;
    char (*extra)[CACT_RUN_FILE_NAME_MAX] = NULL;
    const char **events = NULL;
    char path[4096];
    size_t total = info.n_batches, n = r->shards;
    int pairs = info.layout == CACT_RUN_LAYOUT_PAIRS;
    enum cact_status st;

    cact_run_opts_default(&o);
    o.data_dir = info.data_dir;
    o.kind = info.kind;
    o.split = info.split;
    o.label = info.label;
    o.batch = info.batch;
    o.drop_last = info.drop_last;
    o.shuffle = info.shuffle;
    o.seed = info.seed;
    o.chain = p0->chain;
    o.grid = p0->grid;
    o.layout = info.layout;
    o.png_level = info.png_level;
    o.html = p0->meta.html;
    o.html_pixels = p0->meta.html_pixels;
    o.force_float = !p0->meta.use_lut;
    o.jobs = p0->meta.jobs > 0 ? p0->meta.jobs : 1;
    o.memory_limit = UINT64_MAX; /* nothing is rendered here */
    st = cact_run_check(&o, info.n_images, NULL, err);
    if (st != CACT_OK || total == 0) {
        if (st == CACT_OK)
            cact_fail(err, CACT_ERR_FORMAT, "no batch");
        cact_err_prefix(err, "the parts' settings");
        return cact_fail(err, CACT_ERR_FORMAT, "%s: %s", out, err->msg);
    }
    mb = calloc(total, sizeof *mb);
    if (o.html)
        hists = calloc(total, sizeof *hists);
    if (p0->meta.logdir)
        events = calloc(n, sizeof *events);
    if (!mb || (o.html && !hists) || (p0->meta.logdir && !events)) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
        goto out;
    }
    memset(stats, 0, sizeof *stats);
    for (size_t j = 0; j < n; j++) {
        const struct cact_part *p = r->p[j];
        size_t want = total > j ? (total - j - 1) / n + 1 : 0;
        if (p->n_mine != want) {
            st = cact_fail(err, CACT_ERR_FORMAT,
                           "%s: the part of shard %zu has %zu batches; the run gives it %zu",
                           out, j, p->n_mine, want);
            goto out;
        }
        for (size_t i = 0; i < p->n_mine; i++) {
            size_t k = p->ks[i];
            mb[k] = p->batches[i]; /* idx and labels stay the part's */
            mb[k].n_files = pairs ? 1 : 2;
            mb[k].files[0].role = pairs ? "compare" : "input";
            run_file_name(mb[k].files[0].name, sizeof mb[k].files[0].name, mb[k].files[0].role, k);
            mb[k].files[1].role = "output";
            run_file_name(mb[k].files[1].name, sizeof mb[k].files[1].name, "output", k);
            if (hists)
                memcpy(hists[k], p->hists[i], sizeof hists[k]);
            stats->images += mb[k].n;
            stats->files += (size_t)mb[k].n_files;
        }
    }
    info.batches = mb;
    if (o.html && (st = run_extra(total, o.batch, o.html_pixels, &extra, &info, err)) != CACT_OK)
        goto out;
    /* The pixel files from the shards' (html.h), before the page that loads them. */
    if (o.html && o.html_pixels &&
        (st = cact_html_px_merge(out, total, o.batch, mb[total - 1].n, n, err)) != CACT_OK)
        goto out;
    if (o.html && (st = run_html(&o, &info, p0->meta.use_lut, (const cact_html_hist *)hists,
                                 out, 0, err)) != CACT_OK)
        goto out;
    /* The shards' event files into one, in step order (tfevent.h); they go once the
     * manifest says the run is complete. */
    if (p0->meta.logdir) {
        for (size_t j = 0; j < n; j++) {
            char *name = malloc(128);
            if (!name) {
                st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
                goto out;
            }
            snprintf(name, 128, RUN_SHARD_EVENTS, j, n, r->run);
            events[j] = name;
        }
        st = cact_tfevent_merge(p0->meta.logdir, events, n, stats->event_path,
                                sizeof stats->event_path, err);
        if (st != CACT_OK)
            goto out;
    }
    if (p0->meta.logdir) { /* the manifest names the merged event file, as one run's */
        const char *slash = strrchr(stats->event_path, '/');
        info.logdir = p0->meta.logdir;
        info.event_file = slash ? slash + 1 : stats->event_path;
    }
    /* The parts and the shards' pixel bytes go before the manifest appears: it describes
     * OUT exactly. */
    for (size_t j = 0; j < n; j++) {
        char name[64];
        if (snprintf(path, sizeof path, "%s/" CACT_PART_PREFIX "%04zu" CACT_PART_SUFFIX, out, j) <
            (int)sizeof path)
            (void)unlink(path);
        cact_html_px_shard_name(name, sizeof name, j);
        if (o.html && o.html_pixels && snprintf(path, sizeof path, "%s/%s", out, name) <
                                           (int)sizeof path)
            (void)unlink(path);
    }
    if (snprintf(path, sizeof path, "%s/%s", out, CACT_MANIFEST_NAME) >= (int)sizeof path) {
        st = cact_fail(err, CACT_ERR_IO, "path too long: %s/%s", out, CACT_MANIFEST_NAME);
        goto out;
    }
    st = cact_manifest_write(path, &info, err);
    if (st != CACT_OK)
        goto out;
    for (size_t j = 0; events && j < n; j++)
        if (snprintf(path, sizeof path, "%s/%s", p0->meta.logdir, events[j]) < (int)sizeof path)
            (void)unlink(path);
    stats->batches = total;
    stats->shards = n;
    stats->shards_done = n;
    stats->merged = 1;
out:
    for (size_t j = 0; events && j < n; j++)
        free((void *)events[j]);
    free(events);
    free(extra);
    free(hists);
    free(mb);
    return st;
}

/* A shard's end: its part into the staging directory, then with OUT's lock: clear
 * what is not of this run, move the files in (the part last), and merge if every
 * shard's part is there. */
static enum cact_status run_shard_commit(struct cact_outdir *od, const struct run_ctx *c,
                                         const struct cact_run_info *info,
                                         const struct cact_part_meta *meta, const char *run_id,
                                         struct cact_run_stats *stats, struct cact_err *err)
{
    const struct cact_run_opts *o = c->o;
    const char *out = cact_outdir_path(od);
    unsigned char have[CACT_PART_MAX_SHARDS] = {0};
    struct run_parts *r = NULL;
    struct run_keep keep = {o->shards, c->n_batches, o->layout == CACT_RUN_LAYOUT_PAIRS,
                            o->html && o->html_pixels, have};
    char name[64], path[4096];
    size_t present = 0;
    enum cact_status st;

    snprintf(name, sizeof name, CACT_PART_PREFIX "%04zu" CACT_PART_SUFFIX, o->shard);
    if (snprintf(path, sizeof path, "%s/%s", c->dir, name) >= (int)sizeof path)
        return cact_fail(err, CACT_ERR_IO, "path too long: %s/%s", c->dir, name);
    st = cact_part_write(path, info, meta, o->html ? (const cact_html_hist *)c->html_hist : NULL,
                         err);
    if (st != CACT_OK)
        return st;
    r = calloc(1, sizeof *r);
    if (!r)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    memcpy(r->run, run_id, sizeof r->run);
    if ((st = cact_outdir_relock(od, err)) != CACT_OK || (st = run_scan(out, r, err)) != CACT_OK)
        goto out;
    for (size_t k = 0; k < o->shards; k++)
        have[k] = r->p[k] != NULL;
    have[o->shard] = 1;
    /* An earlier complete run (its manifest first), another run's parts and files, and
     * what killed commits left: gone. The other shards' of this run stay. */
    if (snprintf(path, sizeof path, "%s/%s", out, CACT_MANIFEST_NAME) < (int)sizeof path &&
        access(path, F_OK) == 0)
        stats->cleared_complete = 1;
    cact_outdir_clear(od, CACT_MANIFEST_NAME, run_keep, &keep);
    st = cact_outdir_commit(od, name, err);
    if (st != CACT_OK)
        goto out;
    for (size_t k = 0; k < o->shards; k++)
        present += have[k];
    stats->shards = o->shards;
    stats->shards_done = present;
    if (present == o->shards) {
        run_parts_free(r);
        memcpy(r->run, run_id, sizeof r->run);
        struct cact_run_stats ms;
        if ((st = run_scan(out, r, err)) != CACT_OK)
            goto out;
        if (r->found != o->shards) {
            st = cact_fail(err, CACT_ERR_IO, "%s: a part went missing during the merge", out);
            goto out;
        }
        st = run_merge_parts(out, r, &ms, err);
        if (st == CACT_OK) {
            stats->merged = 1;
            if (ms.event_path[0])
                snprintf(stats->event_path, sizeof stats->event_path, "%s", ms.event_path);
        }
    }
out:
    if (r)
        run_parts_free(r);
    free(r);
    return st;
}

enum cact_status cact_run_merge(const struct cact_run_opts *o, struct cact_run_stats *stats,
                                struct cact_err *err)
{
    struct cact_outdir *od = NULL;
    struct run_parts *r = NULL;
    struct stat sb;
    const char *out;
    char path[4096], missing[512] = "";
    size_t n_missing = 0;
    enum cact_status st;

    memset(stats, 0, sizeof *stats);
    if (!o->out_dir || stat(o->out_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return cact_fail(err, CACT_ERR_MISSING, "%s: no such directory",
                         o->out_dir ? o->out_dir : "(none)");
    struct cact_outdir_opts oo = {o->out_dir, cact_run_out_names, o->notice, o->notice_ctx,
                                  o->cancel, 1};
    if ((st = cact_outdir_begin(&od, &oo, err)) != CACT_OK ||
        (st = cact_outdir_relock(od, err)) != CACT_OK)
        goto out;
    out = cact_outdir_path(od);
    r = calloc(1, sizeof *r);
    if (!r) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
        goto out;
    }
    if ((st = run_scan(out, r, err)) != CACT_OK)
        goto out;
    if (r->others) {
        st = cact_fail(err, CACT_ERR_FORMAT, "%s: cannot merge: %s", o->out_dir, r->other);
        goto out;
    }
    if (r->found == 0) {
        snprintf(path, sizeof path, "%s/%s", out, CACT_MANIFEST_NAME);
        if (access(path, F_OK) == 0) /* merged already: nothing to do */
            goto out;
        st = cact_fail(err, CACT_ERR_MISSING, "%s: no manifest part (" CACT_PART_PREFIX
                       "KKKK" CACT_PART_SUFFIX ") to merge", o->out_dir);
        goto out;
    }
    for (size_t k = 0; k < r->shards; k++)
        if (!r->p[k]) {
            size_t len = strlen(missing);
            if (len < sizeof missing - 16)
                snprintf(missing + len, sizeof missing - len, "%s%zu", n_missing ? ", " : "", k);
            else if (len < sizeof missing - 4 && !strstr(missing, "..."))
                strcat(missing, ", ...");
            n_missing++;
        }
    stats->shards = r->shards;
    stats->shards_done = r->found;
    if (n_missing) {
        st = cact_fail(err, CACT_ERR_MISSING, "%s: %zu of %zu shards missing (no part): %s",
                       o->out_dir, n_missing, r->shards, missing);
        goto out;
    }
    st = run_merge_parts(out, r, stats, err);
out:
    if (r)
        run_parts_free(r);
    free(r);
    cact_outdir_free(od);
    return st;
}

enum cact_status cact_run_job(const struct cact_run_opts *o, struct cact_run_stats *stats,
                       struct cact_err *err)
{
    struct run_ctx *c = NULL;
    struct cact_outdir *od = NULL;
    struct cact_run_plan plan;
    struct cact_run_info info;
    struct cact_part_meta meta;
    char run_id[17] = "", event_name[128] = "", logdir_real[4096];
    const char **class_names = NULL;
    char (*out_files)[CACT_RUN_FILE_NAME_MAX] = NULL; /* html: its names in OUT */
    pthread_t *threads = NULL;
    int started = 0, jobs;
    enum cact_status st;

    memset(stats, 0, sizeof *stats);
    if (!o->out_dir && !o->logdir)
        return cact_fail(err, CACT_ERR_USAGE,
                         "nothing to write: no output directory and no log directory");
    st = cact_run_check(o, 0, &plan, err);
    stats->limit = plan.limit;
    if (st != CACT_OK)
        return st;
    c = calloc(1, sizeof *c);
    if (!c)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    c->o = o;
    c->t0 = run_now();
    pthread_mutex_init(&c->lock, NULL);
    cact_err_clear(&c->err);

    /* pickle helper: the binary version if it is there, else torchvision's Python one. */
    st = cact_cifar_open_any(&c->set, o->data_dir, o->kind, o->split, o->label,
                             o->data_verified, err);
    if (st != CACT_OK)
        goto out;
    st = cact_cifar_loader_init(&c->ld, cact_cifar_count(c->set), o->batch, o->drop_last, o->shuffle,
                           o->seed, err);
    if (st != CACT_OK)
        goto out;
    c->n_batches = c->ld.n_batches;
    if (o->max_batches && o->max_batches < c->n_batches)
        c->n_batches = o->max_batches;
    if (c->n_batches == 0) {
        st = cact_fail(err, CACT_ERR_USAGE,
                     "no batch to write: %zu images in batches of %zu, dropping the last",
                     cact_cifar_count(c->set), o->batch);
        goto out;
    }
    /* A shard does batches shard, shard + shards, ... (round robin); maybe none. */
    c->first = 0;
    c->stride = 1;
    c->n_mine = c->n_batches;
    if (o->shards) {
        if (o->shard >= o->shards || o->shards > CACT_PART_MAX_SHARDS || !o->out_dir) {
            st = cact_fail(err, CACT_ERR_USAGE,
                           !o->out_dir ? "a shard needs an output directory: its part and the "
                                         "merge live there"
                                       : "shard %zu of %zu: needs 0 <= K < N <= %d",
                           o->shard, o->shards, CACT_PART_MAX_SHARDS);
            goto out;
        }
        c->first = o->shard;
        c->stride = o->shards;
        c->n_mine = c->n_batches > o->shard ? (c->n_batches - o->shard - 1) / o->shards + 1 : 0;
    }
    /* Again with the real image count: smaller batches may fit more workers. */
    st = cact_run_check(o, cact_cifar_count(c->set), &plan, err);
    stats->limit = plan.limit;
    if (st != CACT_OK)
        goto out;
    c->mb = calloc(c->n_batches, sizeof *c->mb);
    class_names = calloc((size_t)cact_cifar_n_classes(c->set) + 1, sizeof *class_names);
    if (o->html && o->out_dir) /* html: per-batch histograms for index.html */
        c->html_hist = calloc(c->n_batches, sizeof *c->html_hist);
    if (!c->mb || !class_names || (o->html && o->out_dir && !c->html_hist)) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < cact_cifar_n_classes(c->set); i++)
        class_names[i] = cact_cifar_class_name(c->set, i);
    c->grid_w = (int)plan.grid_w; /* cact_run_check: within the PNG limit, so in int */
    c->grid_h = (int)plan.grid_h;

    c->use_lut = !o->force_float && cact_act_chain_is_elementwise(&o->chain);
    if (c->use_lut) {
        struct cact_act_chain input_only = o->chain;
        input_only.n = 0;
        cact_act_chain_lut(&input_only, c->in_f);
        cact_act_chain_lut(&o->chain, c->out_f);
        for (int ch = 0; ch < CACT_ACT_CHANNELS; ch++)
            for (int b = 0; b < 256; b++) {
                c->in_lut[ch][b] = cact_grid_quantize(o->grid.style, c->in_f[ch][b]);
                c->out_lut[ch][b] = cact_grid_quantize(o->grid.style, c->out_f[ch][b]);
            }
    }

    /* Take OUT last, just before the work: waiting for another run comes after every
     * check that can fail fast. */
    if (o->out_dir) {
        struct cact_outdir_opts oo = {o->out_dir, cact_run_out_names, o->notice, o->notice_ctx,
                                      o->cancel, o->shards != 0};
        st = cact_outdir_begin(&od, &oo, err);
        if (st != CACT_OK)
            goto out;
        c->dir = cact_outdir_stage(od);
        /* A pixel file holds cact_html_px_per_file() consecutive batches, which round
         * robin spreads over several shards: a shard writes its own batches' bytes into
         * one file of its own, which the merge cuts into pixel files (html.h). */
        if (o->html && o->html_pixels) {
            st = o->shards ? cact_html_px_open_shard(&c->html_px, c->dir, c->n_batches, o->batch,
                                                     o->shard, o->shards, err)
                           : cact_html_px_open(&c->html_px, c->dir, c->n_batches, o->batch, err);
            if (st != CACT_OK)
                goto out;
        }
    }

    /* A shard: the run's id (part.h), which names its event file too. */
    if (o->shards) {
        run_info_fill(c, class_names, &info);
        if (o->logdir && ((st = cact_mkdirs(o->logdir, err)) != CACT_OK ||
                          (st = run_realpath(o->logdir, logdir_real, err)) != CACT_OK))
            goto out;
        meta = (struct cact_part_meta){o->shard, o->shards, o->jobs, o->html, o->html_pixels,
                                       c->use_lut, o->logdir ? logdir_real : NULL, NULL};
        char *settings = NULL;
        st = cact_part_settings(&info, &meta, &settings, run_id, err);
        free(settings);
        if (st != CACT_OK)
            goto out;
        if (o->logdir) {
            snprintf(event_name, sizeof event_name, RUN_SHARD_EVENTS, o->shard, o->shards, run_id);
            meta.event = event_name;
        }
    }

    /* tblog hook: open the event file, with the settings as its first text (a shard's
     * only in shard 0, so that the merged file has it once, at step 0). */
    if (o->logdir) {
        char extra[512], md[4096];
        snprintf(extra, sizeof extra,
                 "| dataset | %s %s |\n| batches | %zu |\n| shuffle | %s |\n| seed | %llu |\n"
                 "| drop_last | %s |\n| cifar-act | %s |\n",
                 cact_cifar_kind_names[o->kind], cact_cifar_split_names[o->split],
                 c->n_batches, o->shuffle ? "yes" : "no", (unsigned long long)o->seed,
                 o->drop_last ? "yes" : "no", CACT_VERSION);
        cact_tblog_settings(md, sizeof md, &o->chain, o->batch, extra);
        st = cact_tblog_open(&c->tb, o->logdir, o->shards ? event_name : NULL, &o->chain,
                             o->png_level, o->shards && o->shard ? NULL : md, err);
        if (st != CACT_OK)
            goto out;
        cact_tblog_steps(c->tb, c->first, c->stride);
    }

    jobs = (size_t)plan.jobs < c->n_mine ? plan.jobs : (int)c->n_mine;
    if (jobs <= 1) {
        run_worker(c);
    } else {
        threads = calloc((size_t)jobs, sizeof *threads);
        if (!threads) {
            st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
            goto out;
        }
        for (; started < jobs; started++) {
            int rc = pthread_create(&threads[started], NULL, run_worker, c);
            if (rc != 0) {
                cact_fail(&c->err, CACT_ERR_NOMEM, "cannot start a thread: %s", strerror(rc));
                atomic_store(&c->failed, 1);
                break;
            }
        }
        for (int i = 0; i < started; i++)
            pthread_join(threads[i], NULL);
    }
    if (atomic_load(&c->failed)) {
        *err = c->err;
        st = c->err.code ? c->err.code : CACT_ERR_IO;
        goto out;
    }
    if (o->cancel && *o->cancel) {
        st = cact_fail(err, CACT_ERR_INTERRUPTED, "interrupted");
        goto out;
    }

    /* tblog hook: every step is in the file; close it before the manifest. */
    if (c->tb)
        snprintf(stats->event_path, sizeof stats->event_path, "%s", cact_tblog_path(c->tb));
    st = cact_tblog_close(c->tb, err);
    c->tb = NULL;
    if (st != CACT_OK)
        goto out;
    if (o->out_dir && o->shards) {
        /* A shard: its part last, then maybe the merge (run_shard_commit). */
        st = run_shard_commit(od, c, &info, &meta, run_id, stats, err);
        if (st != CACT_OK)
            goto out;
    } else if (o->out_dir) {
        run_info_fill(c, class_names, &info);
        if (o->logdir) { /* tblog hook: the event file, named relative to the logdir */
            const char *slash = strrchr(stats->event_path, '/');
            info.logdir = o->logdir;
            info.event_file = slash ? slash + 1 : stats->event_path;
        }
        /* html: its files are listed in the manifest too (written just below). */
        if (o->html && (st = run_extra(c->n_batches, o->batch, o->html_pixels, &out_files,
                                       &info, err)) != CACT_OK)
            goto out;
        st = run_write_files(&info, c->dir, err);
        if (st != CACT_OK)
            goto out;
        /* html: the viewer, beside the PNGs and the manifest it links to. */
        if (o->html && (st = run_html(o, &info, c->use_lut, (const cact_html_hist *)c->html_hist,
                                     c->dir, 1, err)) != CACT_OK)
            goto out;
        /* The manifest last: in a merge it is the sign that OUT is complete. */
        st = cact_outdir_commit(od, CACT_MANIFEST_NAME, err);
        if (st != CACT_OK)
            goto out;
    }
    stats->batches = c->n_mine;
    stats->images = c->images_done;
    stats->files = c->files;
    stats->png_bytes = c->png_bytes;
    stats->seconds = run_now() - c->t0;
    for (size_t k = 0; k < c->n_batches; k++) { /* gridnorm: clip totals */
        const struct cact_grid_clip *ci = &c->mb[k].clip_in, *co = &c->mb[k].clip_out;
        stats->clip_in.values += ci->values, stats->clip_in.below += ci->below;
        stats->clip_in.above += ci->above, stats->clip_in.nan += ci->nan;
        stats->clip_out.values += co->values, stats->clip_out.below += co->below;
        stats->clip_out.above += co->above, stats->clip_out.nan += co->nan;
    }
out:
    cact_tblog_close(c->tb, NULL); /* tblog hook: after a failure, keep the whole steps written */
    cact_outdir_free(od); /* an uncommitted staging directory goes with it */
    if (c->mb)
        for (size_t k = 0; k < c->n_batches; k++) {
            free(c->mb[k].idx);
            free(c->mb[k].labels);
        }
    free(c->mb);
    free(c->html_hist);
    cact_html_px_free(c->html_px);
    free(class_names);
    free(out_files);
    free(threads);
    cact_cifar_loader_free(&c->ld);
    cact_cifar_free(c->set);
    pthread_mutex_destroy(&c->lock);
    free(c);
    return st;
}
