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
    /* shards >= 1: this run is shard `shard` (0 <= shard < shards <= CACT_PART_MAX_SHARDS)
     * of a sharded run and does the batches k with k mod shards == shard (round robin:
     * every shard gets the same number of batches, give or take one, whatever each
     * costs; file names and event-file steps keep the global k). Needs out_dir. 0: the
     * whole run, alone. See cact_run_job. */
    size_t shard, shards;
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
                                bytes behind the page's pixel values under the cursor
                                (a shard: OUT/html/pxshard_KKKK.b64, merged into them) */
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
    /* A shard (opts shards >= 1) and cact_run_merge: the run's shard count, how many of
     * their parts OUT holds now, and whether this call merged them (then OUT's
     * manifest.json and index.html describe the whole run, and event_path is the merged
     * event file with a log directory). */
    size_t shards, shards_done;
    int merged;
    /* A shard: OUT held a complete run (its manifest.json) that this shard's commit
     * cleared, as it clears anything not of its own sharded run. */
    int cleared_complete;
};

/* Defaults: cifar10 test, batch 64, sigmoid is NOT filled in (chain empty), torchvision
 * grid, separate layout, CACT_PNGW_DEFAULT_LEVEL, out_dir "out", html on with pixels,
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

/* ---- Sharded runs ----
 * A shard (opts shards >= 1) stages its files like any run, then writes its manifest
 * part (part.h) and commits into OUT under OUT's lock, held only for the commit
 * (outdir.h, shared): it first clears what is not of the same sharded run (an earlier
 * complete run, manifest first; another run's parts and files; debris of killed
 * commits), never another shard's files of the same run, and puts its part in last.
 * While shards work OUT has no manifest.json. The shard whose commit completes the set
 * of N parts merges: OUT/html/px_FFFF.js from the shards' pixel bytes (html.h), then
 * OUT/index.html from the parts, the parts and the shards' pixel bytes removed, then
 * OUT/manifest.json - the same content as one unsharded run's (less the html "jobs"
 * row if the shards' thread counts differ: shard 0's is shown). With logdir, every
 * shard writes LOGDIR/.cifar-act-shard-KKKK-of-NNNN.RUNID.events (shard 0 with the
 * settings text) and the merge combines them into one events.out.tfevents.* file in
 * step order (cact_tfevent_merge), removing theirs once the manifest is written.
 * A shard killed before its commit leaves no part (the merge names it missing) and a
 * staging directory the next run sweeps. */

/* The merge, asked for: o->out_dir is OUT (not created), notice and cancel as for a
 * job. CACT_OK when merged (stats->merged) or when OUT holds no part but a
 * manifest.json (nothing to merge). CACT_ERR_MISSING: OUT absent, no part at all, or
 * some shards' parts absent (the message lists their K); CACT_ERR_FORMAT: a part that
 * cannot be read, or parts of more than one run (the message names one); CACT_ERR_IO,
 * CACT_ERR_NOMEM, CACT_ERR_INTERRUPTED. */
enum cact_status cact_run_merge(const struct cact_run_opts *o, struct cact_run_stats *stats,
                                struct cact_err *err);

#endif
