/* run.h - the whole job: dataset batches -> ToTensor/activations -> grids -> PNG files
 * and OUT/manifest.json, spread over worker threads.
 *
 * OUT is replaced as one unit (outdir.h): the run writes into a staging directory and
 * swaps it in at the end, so OUT always holds one run's complete files under its
 * manifest; one run at a time per OUT.
 *
 * Every batch is independent, so workers take batch numbers from a shared counter and
 * each writes its own files; the output is identical for any number of jobs.
 * An element-wise chain takes the lookup-table path: each output pixel is
 * lut[channel][input byte], built with the same float kernels, so pixels equal the
 * float path's exactly. Channel-wise chains (softmax family), and force_float, run
 * the float kernels on every value.
 */
#ifndef CACT_RUN_H
#define CACT_RUN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "act.h"
#include "ca.h"
#include "cifar.h"
#include "grid.h"
#include "run_info.h" /* enum cact_run_layout */

struct cact_run_progress {
    size_t batches_done, batches_total;
    size_t images_done;
    double seconds; /* since the job started */
};

struct cact_run_opts {
    const char *data_dir;
    enum cact_cifar_kind kind;
    enum cact_cifar_split split;
    enum cact_cifar_label label;
    int data_verified;       /* the caller just checked data_dir's files against their
                                MD5s (cact_fetch_ensure): open with cact_cifar_open_verified */
    size_t batch;            /* images per batch, >= 1 */
    int drop_last;
    int shuffle;
    uint64_t seed;
    size_t max_batches;      /* 0: all */
    struct cact_act_chain chain;
    int inplace;             /* float path: kernels overwrite the input buffer */
    int force_float;         /* never use the lookup-table path */
    struct cact_grid_opts grid;
    enum cact_run_layout layout;
    int png_level;           /* pngw level 0..9 (pngw.h) */
    const char *out_dir;     /* created if missing; NULL: no PNGs and no manifest
                                (only the event file, logdir must be set) */
    const char *logdir;      /* NULL, or a TensorBoard event file goes here (tblog.h) */
    int html;                /* also write OUT/index.html and OUT/html/ (html.h) */
    int html_pixels;         /* with html (default 1): OUT/html/px_FFFF.js, the input
                                bytes behind the page's pixel values under the cursor */
    int jobs;                /* worker threads, >= 1; fewer when memory_limit says so */
    uint64_t memory_limit;   /* bytes for the workers' buffers; 0: half of the RAM */
    /* Called after each finished batch, serialized (never two at once); may be NULL. */
    void (*progress)(const struct cact_run_progress *p, void *ctx);
    void *progress_ctx;
    /* Called with one line (no newline) when the run is about to wait for another
     * run writing to out_dir; may be NULL. */
    void (*notice)(const char *msg, void *ctx);
    void *notice_ctx;
    /* Set asynchronously (signal handler) to stop early: CACT_ERR_INTERRUPTED. */
    volatile sig_atomic_t *cancel;
};

/* Which limit refused the options. The library names values, never CLI flags: a CLI
 * maps LIMIT_PNG to its grid options (batch, nrow, padding, scale, layout) and
 * LIMIT_MEMORY to those plus its memory setting. */
enum cact_run_limit { CACT_RUN_LIMIT_NONE, CACT_RUN_LIMIT_PNG, CACT_RUN_LIMIT_MEMORY };

struct cact_run_stats {
    size_t batches, images;
    size_t files;            /* PNG files written */
    uint64_t png_bytes;      /* their total size */
    char event_path[4096];   /* with logdir: the event file written; else "" */
    double seconds;
    enum cact_run_limit limit; /* on CACT_ERR_USAGE from the size check: which limit */
    struct cact_grid_clip clip_in, clip_out; /* gridnorm: values the grids clipped */
};

/* Defaults: cifar10 test, batch 64, sigmoid is NOT filled in (chain empty), torchvision
 * grid, separate layout, CACT_PNGW_DEFAULT_LEVEL, out_dir "out", html on without pixels,
 * jobs = online CPUs. */
void cact_run_opts_default(struct cact_run_opts *o);

/* ---- Sizes and memory, before any work ---- */

struct cact_run_plan {
    uint64_t grid_w, grid_h;  /* the grid of a full batch, scale included, pixels */
    uint64_t file_w, file_h;  /* its PNG (pairs: both grids and the gap) */
    uint64_t worker_bytes;    /* one worker's peak: batch buffers, one grid (pairs: two
                                 and the pairs image), and up to 3x the PNG's filtered
                                 rows while encoding (pngw.h) */
    uint64_t memory_limit;    /* the budget applied (opts, or half of the RAM) */
    int jobs;                 /* workers that fit: min(opts jobs, limit / worker_bytes) */
    enum cact_run_limit limit;
};

/* Check the options and size the job for batches of min(batch, n_images) images
 * (n_images 0: not known yet, use batch) - arithmetic only, no I/O, so a CLI can call
 * it before fetching. Peak memory of a job is then jobs * worker_bytes, plus 12 bytes
 * per image for the manifest's records and a few MB of tables.
 * CACT_ERR_USAGE with a message naming the values and the limit: a PNG larger than
 * CACT_PNGW_MAX_FILTERED allows (plan->limit = CACT_RUN_LIMIT_PNG), one worker needing
 * more than the memory limit (CACT_RUN_LIMIT_MEMORY), or a value out of range (batch,
 * nrow, scale, jobs < 1, padding < 0, png_level outside 0..9; CACT_RUN_LIMIT_NONE).
 * plan may be NULL. */
enum cact_status cact_run_check(const struct cact_run_opts *o, size_t n_images,
                                struct cact_run_plan *plan, struct cact_err *err);

/* ---- The job ---- */

/* cact_run_check, take OUT (waiting for another run holding it, see notice), open the
 * dataset, run with plan.jobs workers, write the manifest, then make the staged files
 * OUT's content (outdir.h). Writes {input,output}_KKKK.png (or compare_KKKK.png) and
 * manifest.json, and with html the viewer OUT/index.html (html.h). After any return,
 * OUT's manifest.json describes exactly the cifar-act
 * files in OUT, or OUT has none (a failed merge): on failure or interruption before
 * the end, OUT is left as it was. Files in OUT that cifar-act did not write are never
 * touched. With logdir, also LOGDIR/events.out.tfevents.* (tblog.h), one step per
 * batch in batch order whatever the job count; a failed run leaves the steps before
 * the first one that did not finish, as whole records (--logdir is not --out: it is not
 * replaced as a unit). Errors: those of cact_run_check, of the dataset (cifar.h),
 * CACT_ERR_IO naming the file, CACT_ERR_NOMEM, CACT_ERR_INTERRUPTED; CACT_ERR_USAGE
 * with neither out_dir nor logdir. */
enum cact_status cact_run_job(const struct cact_run_opts *o, struct cact_run_stats *stats,
                       struct cact_err *err);

#endif
