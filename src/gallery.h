/* gallery.h - one batch through many activations: OUT/gallery.png, OUT/gallery.html
 * and OUT/gallery.json.
 *
 * The same kernels and pixels as a single run: each function's output grid is drawn
 * through its per-channel lookup table exactly as run.c draws an element-wise chain,
 * so a card equals output_KKKK.png of a run of that one function with the same data
 * and grid options.
 * gallery.png holds the input grid first, then every function's output grid in the
 * page's order, left to right and top to bottom, CACT_GALLERY_COLS cells a row with a
 * white gap of CACT_GALLERY_GAP pixels; gallery.json lists each cell's function and
 * position, and manifest.json (written last) holds the same plus "files": every file
 * of the gallery in OUT. OUT is written as a normal run writes it (outdir.h, with
 * cact_run_out_names): staged, then swapped or merged in, earlier runs' files gone.
 */
#ifndef CACT_GALLERY_H
#define CACT_GALLERY_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "act.h"
#include "ca.h"
#include "cifar.h"
#include "grid.h"

#define CACT_GALLERY_COLS 6
#define CACT_GALLERY_GAP 8

struct cact_gallery_opts {
    const char *data_dir;
    enum cact_cifar_kind kind;
    enum cact_cifar_split split;
    enum cact_cifar_label label;
    int data_verified;          /* as cact_run_opts.data_verified */
    size_t batch;               /* images per batch, >= 1 */
    int drop_last, shuffle;
    uint64_t seed;
    size_t gallery_batch;       /* which batch (step) to show, 0-based */
    struct cact_act_chain base; /* ToTensor/Normalize; its functions are ignored */
    const struct cact_act_fn *fns; /* [n_fns] element-wise functions, or NULL: every */
    size_t n_fns;               /* element-wise row of the table with its defaults */
    struct cact_grid_opts grid;
    int png_level;
    const char *out_dir;        /* created if missing; replaced as one unit (outdir.h) */
    void (*notice)(const char *msg, void *ctx); /* as cact_run_opts: OUT held by another run */
    void *notice_ctx;
    const volatile sig_atomic_t *cancel;
    int html;                   /* also write gallery.html */
};

struct cact_gallery_stats {
    size_t functions;
    int png_w, png_h;
};

/* Fill opts with the defaults of cact_run_opts_default's data and grid settings:
 * cifar10 test, batch 64, gallery_batch 0, every function, torchvision grid, html on. */
void cact_gallery_opts_default(struct cact_gallery_opts *o);

/* The functions "every element-wise function with its defaults" means: table rows
 * with an element-wise kernel and no required parameter, in table order. Writes at
 * most max into out; returns how many there are. */
size_t cact_gallery_default_fns(struct cact_act_fn *out, size_t max);

/* Run it. CACT_ERR_USAGE: a channel-wise function (softmax family), gallery_batch out
 * of range, bad grid options; CACT_ERR_MISSING/FORMAT/IO from the dataset
 * (cact_cifar_open); CACT_ERR_IO naming an output file; CACT_ERR_NOMEM. Files are
 * written atomically, gallery.json and gallery.html after gallery.png. */
enum cact_status cact_gallery_run(const struct cact_gallery_opts *o, struct cact_gallery_stats *stats,
                                  struct cact_err *err);

#endif
