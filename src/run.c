/* run.c - the job: batches through the activation chain into PNG grids, N threads. */
#include "run.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "manifest.h"
#include "pngw.h"
#include "tblog.h" /* --logdir: the event file */

/* The gap between input and output in --layout pairs: white, so it shows against
 * black padding. In grid pixels before --scale. */
#define RUN_PAIR_GAP 8

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
    o->jobs = cpus > 0 ? (int)cpus : 1;
}

/* ---- Shared state of one job ---- */

struct run_ctx {
    const struct cact_run_opts *o;
    struct cact_cifar_set *set;
    struct cact_cifar_loader ld;
    size_t n_batches;
    int use_lut;
    float in_f[CACT_ACT_CHANNELS][256], out_f[CACT_ACT_CHANNELS][256];
    uint8_t in_lut[CACT_ACT_CHANNELS][256], out_lut[CACT_ACT_CHANNELS][256];
    struct cact_manifest_batch *mb; /* [n_batches] */
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
    w->rgb_out = malloc(rgb);
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
    if (!w->idx || !w->labels || !w->px || !w->rgb_in || !w->rgb_out || !w->luts ||
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

static void run_acc_done(const struct run_acc *a, size_t n, struct cact_manifest_stats *s)
{
    s->min = a->min;
    s->max = a->max;
    s->mean = n ? a->sum / (double)n : NAN;
}

static void run_stats_floats(const float *x, size_t n, struct cact_manifest_stats *s)
{
    struct run_acc a;
    run_acc_init(&a);
    for (size_t i = 0; i < n; i++)
        run_acc_add(&a, x[i], 1.0);
    run_acc_done(&a, n, s);
}

/* The same statistics from a byte histogram and the float tables. */
static void run_stats_lut(const size_t hist[CACT_ACT_CHANNELS][256], size_t n,
                          const float f[CACT_ACT_CHANNELS][256], struct cact_manifest_stats *s)
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

static enum cact_status run_write(struct run_ctx *c, const char *prefix, size_t k,
                                const uint8_t *rgb, int w, int h, struct cact_err *err)
{
    char name[64], path[4096];
    size_t bytes;
    enum cact_status st;

    cact_manifest_file_name(name, sizeof name, prefix, k);
    snprintf(path, sizeof path, "%s/%s", c->o->out_dir, name);
    st = cact_pngw_write_atomic(path, rgb, w, h, c->o->png_level, &bytes, err);
    if (st != CACT_OK)
        return st;
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
    struct cact_manifest_batch *mb = &c->mb[k];
    size_t n = cact_cifar_loader_batch(&c->ld, k, w->idx);
    size_t values = n * CACT_CIFAR_PIXELS;
    enum cact_status st;
    int gw, gh;

    st = cact_cifar_read(c->set, w->idx, n, w->px, w->labels, err);
    if (st != CACT_OK)
        return st;
    mb->idx = malloc(n * sizeof *mb->idx);
    mb->labels = malloc(n * sizeof *mb->labels);
    if (!mb->idx || !mb->labels)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    mb->n = n;
    memcpy(mb->idx, w->idx, n * sizeof *mb->idx);
    memcpy(mb->labels, w->labels, n * sizeof *mb->labels);

    cact_grid_size(&o->grid, n, &gw, &gh);
    if (c->use_lut) {
        size_t hist[CACT_ACT_CHANNELS][256];
        run_hist(w->px, n, hist);
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
            nt = cact_grid_tables(&o->grid, (const float(*)[256])c->out_f, w->px, n,
                                  (const size_t(*)[256])hist, w->luts);
            cact_grid_render_luts(&o->grid, w->px, n, (const uint8_t(*)[3][256])w->luts, nt,
                                  w->rgb_out);
        } else {
            cact_grid_render_lut(&o->grid, w->px, n, (const uint8_t(*)[256])c->in_lut,
                                 w->rgb_in);
            cact_grid_render_lut(&o->grid, w->px, n, (const uint8_t(*)[256])c->out_lut,
                                 w->rgb_out);
        }
    } else {
        float *out = o->inplace ? w->x : w->y;
        cact_act_to_tensor(&o->chain, w->x, w->px, n, CACT_CIFAR_PLANE);
        run_stats_floats(w->x, values, &mb->in);
        cact_grid_clip_floats(&o->grid, w->x, values, &mb->clip_in); /* gridnorm */
        /* Render the input before the kernels run: with --inplace they overwrite it. */
        cact_grid_render(&o->grid, w->x, n, w->rgb_in);
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
        cact_grid_render(&o->grid, out, n, w->rgb_out);
    }

    if (o->layout == CACT_RUN_LAYOUT_PAIRS) {
        static const uint8_t white[3] = {255, 255, 255};
        int gap = RUN_PAIR_GAP * o->grid.scale;
        cact_grid_pair(w->rgb_in, w->rgb_out, gw, gh, gap, white, w->pair);
        return run_write(c, "compare", k, w->pair, 2 * gw + gap, gh, err);
    }
    st = run_write(c, "input", k, w->rgb_in, gw, gh, err);
    if (st == CACT_OK)
        st = run_write(c, "output", k, w->rgb_out, gw, gh, err);
    return st;
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
        size_t k = atomic_fetch_add(&c->next, 1);
        if (k >= c->n_batches)
            break;
        if (run_batch(c, &w, k, &e) != CACT_OK) {
            run_fail(c, &e);
            break;
        }
        pthread_mutex_lock(&c->lock);
        c->done++;
        c->images_done += c->mb[k].n;
        if (c->o->progress) {
            struct cact_run_progress p = {c->done, c->n_batches, c->images_done,
                                     run_now() - c->t0};
            c->o->progress(&p, c->o->progress_ctx);
        }
        pthread_mutex_unlock(&c->lock);
    }
    run_work_free(&w);
    return NULL;
}

/* ---- The job ---- */

static enum cact_status run_check_opts(const struct cact_run_opts *o, struct cact_err *err)
{
    if (o->batch < 1)
        return cact_fail(err, CACT_ERR_USAGE, "--batch must be at least 1");
    if (o->grid.nrow < 1)
        return cact_fail(err, CACT_ERR_USAGE, "--nrow must be at least 1");
    if (o->grid.padding < 0)
        return cact_fail(err, CACT_ERR_USAGE, "--padding must be 0 or more");
    if (o->grid.scale < 1)
        return cact_fail(err, CACT_ERR_USAGE, "--scale must be at least 1");
    if (o->png_level < 0 || o->png_level > 9)
        return cact_fail(err, CACT_ERR_USAGE, "--png-level must be 0..9");
    if (o->jobs < 1)
        return cact_fail(err, CACT_ERR_USAGE, "--jobs must be at least 1");
    return CACT_OK;
}

enum cact_status cact_run_job(const struct cact_run_opts *o, struct cact_run_stats *stats,
                       struct cact_err *err)
{
    struct run_ctx *c = NULL;
    pthread_t *threads = NULL;
    int started = 0, jobs;
    enum cact_status st;
    char path[4096];

    memset(stats, 0, sizeof *stats);
    st = run_check_opts(o, err);
    if (st != CACT_OK)
        return st;
    if (!o->out_dir && !o->logdir)
        return cact_fail(err, CACT_ERR_USAGE,
                         "nothing to write: no output directory and no log directory");
    st = o->out_dir ? cact_mkdirs(o->out_dir, err) : CACT_OK;
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
                     "no batch to write: %zu images with --batch %zu and --drop-last",
                     cact_cifar_count(c->set), o->batch);
        goto out;
    }
    c->mb = calloc(c->n_batches, sizeof *c->mb);
    if (!c->mb) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
        goto out;
    }
    cact_grid_size(&o->grid, o->batch < cact_cifar_count(c->set) ? o->batch : cact_cifar_count(c->set),
              &c->grid_w, &c->grid_h);

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

    /* tblog hook: open the event file, with the settings as its first text. */
    if (o->logdir) {
        char extra[512], md[4096];
        snprintf(extra, sizeof extra,
                 "| dataset | %s %s |\n| batches | %zu |\n| shuffle | %s |\n| seed | %llu |\n"
                 "| drop_last | %s |\n| cifar-act | %s |\n",
                 cact_cifar_kind_names[o->kind], cact_cifar_split_names[o->split],
                 c->n_batches, o->shuffle ? "yes" : "no", (unsigned long long)o->seed,
                 o->drop_last ? "yes" : "no", CACT_VERSION);
        cact_tblog_settings(md, sizeof md, &o->chain, o->batch, extra);
        st = cact_tblog_open(&c->tb, o->logdir, &o->chain, o->png_level, md, err);
        if (st != CACT_OK)
            goto out;
    }

    jobs = o->jobs < (int)c->n_batches ? o->jobs : (int)c->n_batches;
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

    /* tblog hook: every step is in the file; close it before the manifest. */
    if (c->tb)
        snprintf(stats->event_path, sizeof stats->event_path, "%s", cact_tblog_path(c->tb));
    st = cact_tblog_close(c->tb, err);
    c->tb = NULL;
    if (st != CACT_OK)
        goto out;
    if (o->out_dir) {
        snprintf(path, sizeof path, "%s/manifest.json", o->out_dir);
        st = cact_manifest_write(path, o, c->set, cact_cifar_count(c->set), c->mb,
                                 c->n_batches, err);
        if (st != CACT_OK)
            goto out;
    }
    stats->batches = c->n_batches;
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
    if (c->mb)
        for (size_t k = 0; k < c->n_batches; k++) {
            free(c->mb[k].idx);
            free(c->mb[k].labels);
        }
    free(c->mb);
    free(threads);
    cact_cifar_loader_free(&c->ld);
    cact_cifar_free(c->set);
    pthread_mutex_destroy(&c->lock);
    free(c);
    return st;
}

/* ---- Names ---- */

const char *const cact_run_layout_names[CACT_RUN_LAYOUT_COUNT] = {
    [CACT_RUN_LAYOUT_SEPARATE] = "separate",
    [CACT_RUN_LAYOUT_PAIRS] = "pairs",
};
