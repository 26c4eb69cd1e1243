/* run_info.h - what a run did, described for the writers that record it:
 * manifest.json (manifest.h) today, other writers (event files, an HTML page) alike.
 *
 * run.c fills one struct cact_run_info and hands it to each writer; writers only read
 * it, and never see the orchestrator's options (struct cact_run_opts), so arrows go one
 * way: run -> writers. Everything pointed to is owned by run.c and lives until the
 * writer returns.
 */
#ifndef CACT_RUN_INFO_H
#define CACT_RUN_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "act.h"
#include "cifar.h"
#include "grid.h"

/* separate: input_KKKK.png and output_KKKK.png; pairs: compare_KKKK.png. */
enum cact_run_layout { CACT_RUN_LAYOUT_SEPARATE, CACT_RUN_LAYOUT_PAIRS, CACT_RUN_LAYOUT_COUNT };

/* "separate", "pairs", indexed by the enum (see cact_name_find()); in run_info.c. */
extern const char *const cact_run_layout_names[CACT_RUN_LAYOUT_COUNT];

/* min/mean/max of a tensor's float values; NaN values are left out of min and max
 * and make the mean NaN (the manifest writes JSON null). */
struct cact_run_values {
    double min, mean, max;
};

#define CACT_RUN_FILE_NAME_MAX 32
#define CACT_RUN_MAX_FILES 2   /* files per batch: input + output, or compare */

/* One file a batch wrote, by its name in OUT and its role: "input", "output" or
 * "compare" (the manifest's keys). */
struct cact_run_file {
    const char *role;
    char name[CACT_RUN_FILE_NAME_MAX];
};

/* One batch. idx (dataset indices) and labels have n entries. */
struct cact_run_batch {
    size_t n;
    size_t *idx;
    int *labels;
    struct cact_run_values in, out;   /* after ToTensor(+Normalize) / after the chain */
    struct cact_grid_clip clip_in, clip_out; /* gridnorm: what each grid clipped */
    int n_files;
    struct cact_run_file files[CACT_RUN_MAX_FILES];
};

struct cact_run_info {
    /* The dataset. */
    enum cact_cifar_kind kind;
    enum cact_cifar_split split;
    enum cact_cifar_label label;      /* meaningful for CIFAR-100 only */
    const char *data_dir;
    enum cact_cifar_format data_format; /* which version was read (pickle helper) */
    size_t n_images;                  /* images in the split */
    int n_classes;
    const char *const *class_names;   /* [n_classes] */
    /* The settings. */
    const struct cact_act_chain *chain;
    size_t batch;
    int drop_last, shuffle;
    uint64_t seed;                    /* meaningful when shuffle */
    const struct cact_grid_opts *grid;
    enum cact_run_layout layout;
    int png_level;
    /* The batches written, in order. */
    size_t n_batches;
    const struct cact_run_batch *batches;
    /* The run's other files in OUT besides the batches' PNGs and the manifest
     * (index.html, html/px_FFFF.js), as OUT-relative names. */
    size_t n_extra;
    const char (*extra)[CACT_RUN_FILE_NAME_MAX];
    /* The run's file outside OUT: with a log directory, the TensorBoard event file,
     * event_file relative to logdir (as given). Both NULL without one. */
    const char *logdir, *event_file;
};

#endif
