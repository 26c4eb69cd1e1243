/* run.h - the whole job: dataset batches -> ToTensor/activations -> grids -> PNG files
 * and OUT/manifest.json, spread over worker threads.
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

enum cact_run_layout { CACT_RUN_LAYOUT_SEPARATE, CACT_RUN_LAYOUT_PAIRS, CACT_RUN_LAYOUT_COUNT };

/* "separate", "pairs", indexed by the enum (see cact_name_find()). */
extern const char *const cact_run_layout_names[CACT_RUN_LAYOUT_COUNT];

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
    int jobs;                /* worker threads, >= 1 */
    /* Called after each finished batch, serialized (never two at once); may be NULL. */
    void (*progress)(const struct cact_run_progress *p, void *ctx);
    void *progress_ctx;
    /* Set asynchronously (signal handler) to stop early: CACT_ERR_INTERRUPTED. */
    volatile sig_atomic_t *cancel;
};

struct cact_run_stats {
    size_t batches, images;
    size_t files;            /* PNG files written */
    uint64_t png_bytes;      /* their total size */
    char event_path[4096];   /* with logdir: the event file written; else "" */
    double seconds;
    struct cact_grid_clip clip_in, clip_out; /* gridnorm: values the grids clipped */
};

/* Defaults: cifar10 test, batch 64, sigmoid is NOT filled in (chain empty), torchvision
 * grid, separate layout, CACT_PNGW_DEFAULT_LEVEL, out_dir "out", jobs = online CPUs. */
void cact_run_opts_default(struct cact_run_opts *o);

/* Check out_dir (create, must be writable) before any work; open the dataset; run.
 * Writes OUT/{input,output}_KKKK.png (or compare_KKKK.png) and OUT/manifest.json.
 * On failure err says what failed (file names included); files already finished stay,
 * but none is ever half-written and manifest.json is written only on success.
 * With logdir, also LOGDIR/events.out.tfevents.* (tblog.h), one step per batch in
 * batch order whatever the job count; a failed run leaves the steps before the first
 * one that did not finish, as whole records. */
enum cact_status cact_run_job(const struct cact_run_opts *o, struct cact_run_stats *stats,
                       struct cact_err *err);

#endif
