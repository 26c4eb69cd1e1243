/* html.h - OUT/index.html (a viewer for every step of a run) and OUT/gallery.html
 * (one batch through many activations): self-contained pages, plain inline
 * JavaScript and CSS, no network, working from file:// and from any static server.
 *
 * The pages show PNGs someone else wrote (run.c, gallery.c); this module only
 * describes them. What it computes itself, from numbers, in C: the histograms of
 * input and output values (exact, from per-channel byte counts and the chain's
 * per-channel tables), the chain's curve over the input range actually used, and the
 * SVG drawing both. Nothing is sampled: every step of the run is in the page.
 *
 * Pixel values under the cursor: a browser will not let a page read back pixels of
 * a PNG it loaded from file:// (the canvas is tainted), so the viewer gets the input
 * bytes from script files, DIR/html/px_FFFF.js (several batches' bytes in base64,
 * below), loaded only for the step being inspected; the output value follows from the
 * byte through the embedded 256-entry table per channel (element-wise chains only).
 *
 * Pages are written with cact_write_atomic (temporary name, then rename), index.html
 * after the pixel files, so it never names a file that is not there yet. Pixel files
 * written during a run go into its staging directory (outdir.h), where nothing is
 * replaced: cact_write_new, or for a shard's pixel bytes pwrite in place; the merge's
 * pixel files, written into OUT, go through cact_write_atomic too.
 */
#ifndef CACT_HTML_H
#define CACT_HTML_H

#include <stddef.h>
#include <stdint.h>

#include "act.h"
#include "ca.h"
#include "grid.h"

/* Bins of every histogram the pages draw. */
#define CACT_HTML_BINS 64

/* One settings row as the page shows it, e.g. {"batch size", "64"}. Strings are the
 * caller's; the page escapes them. */
struct cact_html_kv {
    const char *key, *value;
};

/* A grid inside a PNG file in the output directory: the region (x, y, w, h) in the
 * file's pixels, so one file may hold several grids (compare_KKKK.png, gallery.png).
 * file_w, file_h: the whole file's size. */
struct cact_html_image {
    const char *file;
    int file_w, file_h;
    int x, y, w, h;
};

/* Byte histogram of a batch: hist[c][b] = how many bytes of channel c equal b. */
typedef uint64_t cact_html_hist[CACT_ACT_CHANNELS][256];

/* Count px ([n][3][32][32] bytes) into hist (added to what is there). */
void cact_html_hist_add(cact_html_hist hist, const uint8_t *px, size_t n);

/* Bin the values of an element-wise table: out[i] (CACT_HTML_BINS, zeroed first) counts
 * the values f[c][b] (hist[c][b] times each) that fall in bin i of [lo, hi]; the value
 * hi goes into the last bin, values outside [lo, hi] and NaN are not counted. Returns
 * how many were counted. */
uint64_t cact_html_bin(const cact_html_hist hist, const float f[CACT_ACT_CHANNELS][256],
                       double lo, double hi, uint64_t out[CACT_HTML_BINS]);

/* ---- The viewer: index.html ---- */

struct cact_html_batch {
    size_t n;                      /* images in the batch */
    const size_t *idx;             /* [n] dataset indices, in grid order */
    const int *labels;             /* [n] */
    struct cact_html_image input, output;
};

/* ---- Pixel files: DIR/html/px_FFFF.js ----
 * File F holds batches F*G .. F*G+G-1 (G = cact_html_px_per_file(batch), the last file
 * fewer), their [n][3][32][32] bytes one after the other as one base64 string:
 * `cactPx(F,"...");`. About 2 MB each, so that a run makes a few dozen files, not one
 * per batch (a file costs more than its bytes: ext4 inode allocation, outdir.h's pool,
 * the manifest's list), and the page loads one such file for the step inspected.
 * Every batch but the run's last is full, so a batch's place in its file is known
 * before the others arrive: workers encode into it in parallel, and whichever
 * finishes a file's last batch writes it (cact_write_new: a staging directory). */

/* Base64 characters per image (3072 bytes, a multiple of 3: no padding). */
#define CACT_HTML_PX_IMAGE 4096
/* What a pixel file aims at, in base64 characters. */
#define CACT_HTML_PX_FILE_BYTES ((size_t)2 << 20)

/* G for batches of batch images: at least 1. */
size_t cact_html_px_per_file(size_t batch);
/* How many pixel files n_batches batches of batch images make. */
size_t cact_html_px_files(size_t n_batches, size_t batch);
/* "html/px_FFFF.js" (at least 4 digits) into buf: the OUT-relative name of file f. */
void cact_html_px_name(char *buf, size_t size, size_t f);

struct cact_html_px;

/* Start the pixel files of n_batches batches of batch images (batch: a full batch)
 * in DIR/html (created if needed). CACT_ERR_USAGE (no batch), CACT_ERR_IO naming the
 * directory, CACT_ERR_NOMEM. *w is NULL on failure; free with cact_html_px_free. */
enum cact_status cact_html_px_open(struct cact_html_px **w, const char *dir, size_t n_batches,
                                   size_t batch, struct cact_err *err);

/* Batch k's bytes px ([n][3][32][32]; n == batch except for the last batch): encode
 * them into their file, and write the file when it is complete. Thread-safe, once per
 * batch. CACT_ERR_USAGE (k out of range, a short batch that is not the last),
 * CACT_ERR_NOMEM, CACT_ERR_IO naming the file. */
enum cact_status cact_html_px_add(struct cact_html_px *w, size_t k, const uint8_t *px, size_t n,
                                  struct cact_err *err);

/* Free w and the text of files not written (a failed run). NULL is fine. */
void cact_html_px_free(struct cact_html_px *w);

/* ---- A shard's pixel bytes: DIR/html/pxshard_KKKK.b64 ----
 * Shard K of N does batches K, K+N, ... (run.h), but a pixel file holds G consecutive
 * batches, so no shard can write one. A shard writes its own batches' base64 instead,
 * in batch order, into one file of plain base64 (no header, no padding: 4096
 * characters per image); once every shard's is there, cact_html_px_merge cuts them into
 * the pixel files an unsharded run writes, byte for byte. */

/* "html/pxshard_KKKK.b64" (at least 4 digits) into buf: shard's file, OUT-relative. */
void cact_html_px_shard_name(char *buf, size_t size, size_t shard);
/* K if name (OUT-relative) is "html/pxshard_" digits ".b64" (a temporary of it too:
 * ".tmp." and anything after), else -1. */
long cact_html_px_name_shard(const char *name);

/* Like cact_html_px_open, for shard `shard` of `shards` (0 <= shard < shards): creates
 * DIR/html/pxshard_KKKK.b64 (truncated if it exists) and cact_html_px_add then takes
 * only batches k with k % shards == shard, writing each at its place in that file
 * (pwrite, thread-safe). The file is complete once every such batch is added; it is
 * closed by cact_html_px_free. Errors as cact_html_px_open, and CACT_ERR_USAGE for a
 * shard out of range; CACT_ERR_IO names the file. */
enum cact_status cact_html_px_open_shard(struct cact_html_px **w, const char *dir,
                                         size_t n_batches, size_t batch, size_t shard,
                                         size_t shards, struct cact_err *err);

/* With every shard's file in DIR/html (a run of n_batches batches of batch images, the
 * last holding last_n, in `shards` shards): write DIR/html/px_FFFF.js, each with
 * cact_write_atomic, exactly as an unsharded run's. The shard files are only read;
 * removing them is the caller's. CACT_ERR_FORMAT naming the file when one has not the
 * size its batches give (another run's, or cut short), CACT_ERR_IO naming the file,
 * CACT_ERR_USAGE (no batch, last_n out of 1..batch), CACT_ERR_NOMEM. */
enum cact_status cact_html_px_merge(const char *dir, size_t n_batches, size_t batch,
                                    size_t last_n, size_t shards, struct cact_err *err);

/* Read batch k's bytes into px ([batches[k].n][3072]): how the writer gets the input
 * bytes (histograms, pixel values) without keeping a copy of the run's data. */
typedef enum cact_status (*cact_html_read_fn)(void *ctx, size_t k, uint8_t *px,
                                              struct cact_err *err);

struct cact_html_run {
    const char *title;                        /* e.g. "sigmoid on CIFAR-10 test" */
    const struct cact_act_chain *chain;       /* ToTensor/Normalize + the functions */
    const struct cact_grid_opts *grid;        /* how the grids were drawn */
    const char *const *class_names;           /* [n_classes] */
    int n_classes;
    const struct cact_html_kv *settings;      /* shown as they are, in order */
    size_t n_settings;
    const char *manifest;                     /* link, e.g. "manifest.json"; may be NULL */
    const struct cact_html_batch *batches;    /* [n_batches], step k = batches[k] */
    size_t n_batches;
    /* Either the histograms of the batches ([n_batches]; their pixel files, if any,
     * written by the caller through cact_html_px_*, opened with batch = batches[0].n),
     * or NULL and a reader: then this function reads every batch, counts it and writes
     * the pixel files itself. */
    const cact_html_hist *hists;
    cact_html_read_fn read;
    void *read_ctx;
    int no_pixels;   /* with hists: no pixel files were written; the page says so */
};

struct cact_html_stats {
    size_t files;        /* files written, index.html included */
    uint64_t bytes;      /* their total size */
};

/* Write DIR/html/px_FFFF.js for every batch (unless r->hists), then DIR/index.html.
 * dir must exist.
 * stats may be NULL.
 * Returns CACT_OK; CACT_ERR_USAGE if the description is inconsistent (no batch, a
 * batch of 0 images, a NULL file name, a label out of range); CACT_ERR_IO naming the
 * file that could not be written (files already finished stay; none is partial);
 * CACT_ERR_NOMEM; or whatever r->read returned (its message kept). */
enum cact_status cact_html_write_run(const char *dir, const struct cact_html_run *r,
                                     struct cact_html_stats *stats, struct cact_err *err);

/* ---- The gallery: gallery.html ---- */

struct cact_html_card {
    const struct cact_act_chain *chain;   /* element-wise: ToTensor/Normalize + functions */
    struct cact_html_image grid;          /* its output grid */
};

struct cact_html_gallery {
    const char *title;
    const struct cact_grid_opts *grid;
    const char *const *class_names;
    int n_classes;
    const struct cact_html_kv *settings;
    size_t n_settings;
    const char *manifest;                 /* link; may be NULL */
    size_t n;                             /* images in the batch */
    const size_t *idx;                    /* [n] */
    const int *labels;                    /* [n] */
    const uint8_t *px;                    /* [n][3072], for the histograms */
    const struct cact_act_chain *input_chain; /* ToTensor/Normalize only (n == 0) */
    struct cact_html_image input;         /* the input grid */
    const struct cact_html_card *cards;   /* [n_cards], in page order */
    size_t n_cards;
};

/* Write DIR/gallery.html. Return codes as cact_html_write_run (CACT_ERR_USAGE also for
 * a card whose chain is not element-wise). */
enum cact_status cact_html_write_gallery(const char *dir, const struct cact_html_gallery *g,
                                         struct cact_err *err);

#endif
