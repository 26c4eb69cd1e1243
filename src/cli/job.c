/* job.c - run the fetch and the job the options describe, and turn the outcome into
 * messages and an exit status. */
#include "cli.h"

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ca.h"
#include "grid.h"
#include "pyfetch.h"

volatile sig_atomic_t cli_signal;
/* The library polls this flag (fetch and run options point at it). */
static volatile sig_atomic_t cli_cancel;

static void cli_on_signal(int sig)
{
    cli_signal = sig;
    cli_cancel = 1;
}

void cli_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cli_on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a read from a slow file or a wait for a lock returns EINTR, so
     * Ctrl-C always ends the run; the library then stops with CACT_ERR_INTERRUPTED. */
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_exit_status(enum cact_status code)
{
    if (code == CACT_ERR_INTERRUPTED && cli_signal)
        return 128 + cli_signal;
    return cact_exit_code(code);
}

/* A size the library refused (cact_run_check): its message names the values and the
 * limit; the options that set them are ours to name. */
static int cli_size_error(enum cact_run_limit limit, const struct cact_err *err)
{
    static const char *const opts[] = {
        [CACT_RUN_LIMIT_NONE] = "",
        [CACT_RUN_LIMIT_PNG] = "--batch, --nrow, --padding, --scale, --layout: ",
        [CACT_RUN_LIMIT_MEMORY] = "--batch, --scale, --layout, --no-lut: ",
    };
    return cli_usage("%s%s", opts[limit], err->msg);
}

int cli_fetch(struct cli_args *a)
{
    struct cact_fetch_opts *fo = &a->fetch;
    struct cact_err err;
    struct stat sb;
    int made_out;

    cact_err_clear(&err);
    /* Sizes first (no I/O): a grid PNG or memory cannot hold fails now, not after the
     * download and seconds of work. The split's official image count bounds the batch;
     * cact_run_job checks again with the real count. */
    if (a->action == CLI_RUN) {
        struct cact_run_plan plan;
        if (cact_run_check(&a->run, cact_dataset_images(a->run.kind, a->run.split), &plan,
                           &err) != CACT_OK)
            return cli_size_error(plan.limit, &err);
    }
    /* Check where the job will write before a possibly long download; if the fetch
     * then fails, an --out this run created is removed again (it is empty). */
    made_out = a->action == CLI_RUN && a->run.out_dir && stat(a->run.out_dir, &sb) != 0;
    if (a->action == CLI_RUN && a->run.out_dir && cact_mkdirs(a->run.out_dir, &err) != CACT_OK) {
        cli_error("--out: %s", err.msg);
        return 1;
    }
    if (a->action == CLI_RUN && a->run.logdir && cact_mkdirs(a->run.logdir, &err) != CACT_OK) {
        cli_error("--logdir: %s", err.msg);
        return 1;
    }
    fo->cancel = &cli_cancel;
    a->run.cancel = &cli_cancel;
    if (a->no_verify)
        return 0;
    fo->data_dir = a->run.data_dir;
    fo->kind = a->run.kind;
    fo->split = a->run.split;
    if (!a->quiet && isatty(STDERR_FILENO)) {
        static char extract[] = "extract"; /* the bar's label for a local archive */
        fo->progress = cli_fetch_progress;
        fo->progress_ctx = fo->archive ? extract : NULL;
    }
    if (!a->quiet)
        fo->notice = cli_fetch_notice;
    /* pickle helper: the binary version, or torchvision's Python one if that is what
     * is there (or --archive is torchvision's archive); the manifest says which. */
    enum cact_cifar_format used;
    enum cact_status st = cact_pyfetch_ensure(fo, &used, &err);
    cli_progress_end();
    if (st != CACT_OK) {
        cli_fail(&err);
        if (made_out)
            rmdir(a->run.out_dir);
        return cli_exit_status(err.code);
    }
    if (a->action == CLI_DOWNLOAD_ONLY) {
        if (!a->quiet)
            printf("cifar-act: dataset ready under %s\n", a->run.data_dir);
        return 0;
    }
    a->run.data_verified = 1;
    return 0;
}

int cli_job(struct cli_args *a)
{
    const struct cact_run_opts *ro = &a->run;
    struct cact_run_stats stats;
    struct cact_err err;

    cact_err_clear(&err);
    if (!a->quiet && isatty(STDERR_FILENO))
        a->run.progress = cli_run_progress;
    if (!a->quiet) /* "waiting for another cifar-act writing to OUT" */
        a->run.notice = cli_fetch_notice;
    if (cact_run_job(ro, &stats, &err) != CACT_OK) {
        cli_progress_end();
        if (err.code == CACT_ERR_USAGE && stats.limit != CACT_RUN_LIMIT_NONE)
            return cli_size_error(stats.limit, &err);
        cli_fail(&err);
        return cli_exit_status(err.code);
    }
    if (!a->quiet && !ro->out_dir)
        printf("cifar-act: %zu %s, %zu %s -> %s in %.2f s (%.0f images/s)\n",
               stats.batches, cli_plural(stats.batches, "batch", "batches"), stats.images,
               cli_plural(stats.images, "image", "images"), stats.event_path, stats.seconds,
               stats.seconds > 0 ? (double)stats.images / stats.seconds : 0.0);
    else if (!a->quiet)
        printf("cifar-act: %zu %s, %zu %s -> %zu PNG %s (%.1f MB) in %s/ "
               "in %.2f s (%.0f images/s)\n",
               stats.batches, cli_plural(stats.batches, "batch", "batches"), stats.images,
               cli_plural(stats.images, "image", "images"), stats.files,
               cli_plural(stats.files, "file", "files"), (double)stats.png_bytes / 1e6,
               ro->out_dir, stats.seconds,
               stats.seconds > 0 ? (double)stats.images / stats.seconds : 0.0);
    if (!a->quiet && ro->out_dir && ro->logdir)
        printf("cifar-act: TensorBoard events in %s\n", stats.event_path);
    if (!a->quiet && ro->shards && stats.cleared_complete)
        printf("cifar-act: %s held a complete run; this shard started a new one there (the "
               "earlier files are gone)\n", ro->out_dir);
    if (!a->quiet && ro->shards && stats.merged)
        printf("cifar-act: shard %zu of %zu done; all %zu parts there: merged into "
               "%s/manifest.json\n", ro->shard, ro->shards, ro->shards, ro->out_dir);
    else if (!a->quiet && ro->shards)
        printf("cifar-act: shard %zu of %zu done; %zu of %zu parts there (the last shard to "
               "finish merges)\n", ro->shard, ro->shards, stats.shards_done, ro->shards);
    if (!a->quiet)
        cli_clip_report(a, &stats);
    return 0;
}

int cli_merge(struct cli_args *a)
{
    struct cact_run_stats stats;
    struct cact_err err;

    cact_err_clear(&err);
    if (!a->quiet)
        a->run.notice = cli_fetch_notice;
    if (cact_run_merge(&a->run, &stats, &err) != CACT_OK) {
        cli_fail(&err);
        return cli_exit_status(err.code);
    }
    if (!a->quiet && !stats.merged)
        printf("cifar-act: nothing to merge: %s/manifest.json is there and no part\n",
               a->run.out_dir);
    else if (!a->quiet)
        printf("cifar-act: merged %zu %s (%zu %s, %zu %s) into %s/manifest.json%s%s\n",
               stats.shards, cli_plural(stats.shards, "part", "parts"), stats.batches,
               cli_plural(stats.batches, "batch", "batches"), stats.images,
               cli_plural(stats.images, "image", "images"), a->run.out_dir,
               stats.event_path[0] ? " and " : "", stats.event_path);
    return 0;
}

int cli_gallery(struct cli_args *a)
{
    const struct cact_run_opts *ro = &a->run;
    struct cact_gallery_opts go;
    struct cact_gallery_stats stats;
    struct cact_err err;

    cact_err_clear(&err);
    cact_gallery_opts_default(&go);
    go.data_dir = ro->data_dir;
    go.kind = ro->kind;
    go.split = ro->split;
    go.label = ro->label;
    go.data_verified = ro->data_verified;
    go.batch = ro->batch;
    go.drop_last = ro->drop_last;
    go.shuffle = ro->shuffle;
    go.seed = ro->seed;
    go.gallery_batch = a->gallery_batch;
    go.base = ro->chain;
    go.base.n = 0;
    go.fns = a->n_gallery ? a->gallery_fns : NULL;
    go.n_fns = a->n_gallery;
    go.grid = ro->grid;
    go.png_level = ro->png_level;
    go.out_dir = ro->out_dir;
    go.html = ro->html;
    go.notice = ro->notice; /* as the run: OUT held by another run, Ctrl-C */
    go.notice_ctx = ro->notice_ctx;
    go.cancel = ro->cancel;
    if (cact_gallery_run(&go, &stats, &err) != CACT_OK) {
        cli_error("%s", err.msg);
        return cli_exit_status(err.code);
    }
    if (!a->quiet)
        printf("cifar-act: gallery of %zu functions on batch %zu -> %s/gallery.png (%dx%d)%s\n",
               stats.functions, go.gallery_batch, go.out_dir, stats.png_w, stats.png_h,
               go.html ? ", gallery.html" : "");
    return 0;
}

/* ---- What the grids clipped ---- */

/* "41.3%", but "0%" only for none at all, so a tiny share never reads as nothing. */
static void cli_pct(char *buf, size_t size, uint64_t k, uint64_t n)
{
    double p = n ? 100.0 * (double)k / (double)n : 0.0;
    if (k == 0)
        snprintf(buf, size, "0%%");
    else if (p < 0.1)
        snprintf(buf, size, "<0.1%%");
    else
        snprintf(buf, size, "%.1f%%", p);
}

void cli_clip_report(const struct cli_args *a, const struct cact_run_stats *st)
{
    const struct cact_grid_opts *g = &a->run.grid;
    double lo, hi;
    int ranged = cact_grid_clip_range(g, &lo, &hi);
    int hint = 0;

    for (int which = 0; which < 2; which++) {
        const struct cact_grid_clip *c = which ? &st->clip_out : &st->clip_in;
        const char *kind = which ? "output" : "input";
        char below[16], above[16], nan[16];
        if (!c->values)
            continue;
        cli_pct(below, sizeof below, c->below, c->values);
        cli_pct(above, sizeof above, c->above, c->values);
        cli_pct(nan, sizeof nan, c->nan, c->values);
        if (ranged)
            printf("cifar-act: %s: %s of values below %g shown as 0, %s above %g%s%s%s\n", kind,
                   below, lo, above, hi, c->nan ? ", " : "", c->nan ? nan : "",
                   c->nan ? " NaN shown as 0" : "");
        else
            printf("cifar-act: %s: scaled by its min and max (--grid-normalize), nothing "
                   "clipped%s%s%s\n", kind, c->nan ? "; " : "", c->nan ? nan : "",
                   c->nan ? " NaN shown as 0" : "");
        /* More than 5% of a grid's values lost: worth a hint. */
        if ((double)(c->below + c->above + c->nan) > 0.05 * (double)c->values)
            hint = 1;
    }
    if (hint && !g->normalize)
        printf("cifar-act: hint: --grid-normalize shows the whole range (make_grid's "
               "normalize=True)\n");
    else if (hint && g->has_value_range)
        printf("cifar-act: hint: widen --value-range, or drop it to scale by min and max\n");
}
