/* grid.h - tile a batch into one RGB image, the way torchvision or TensorBoard does.
 *
 * Input: float32 [n][3][32][32] (the batch after ToTensor/activation), values
 * nominally in [0,1]. Output: 8-bit RGB, row-major [h][w][3], caller-owned.
 *
 * CACT_GRID_TORCHVISION = torchvision.utils.save_image(batch, nrow, padding, pad_value):
 *   make_grid layout (padding around every tile, pad_value fill; a batch of exactly
 *   one image is returned unpadded, as make_grid does), then each float v becomes
 *   (uint8) clamp(v*255 + 0.5, 0, 255) (float32 ops, truncation).
 * CACT_GRID_TENSORBOARD = SummaryWriter.add_images(tag, batch) (dataformats NCHW):
 *   tensorboard's make_grid with ncols = nrow (8), no padding, empty cells black,
 *   then (uint8) clip(v*255, 0, 255) (truncation, not rounding).
 * NaN becomes 0 in both. scale > 1 enlarges the finished grid by pixel repetition.
 *
 * make_grid's normalize=True (with value_range and scale_each), torchvision 0.14
 * semantics, for EITHER style and for every grid (input and output alike, since
 * torchvision applies it to whatever tensor it is given): before quantization each
 * value v of one tensor becomes
 *     t = clamp(v, low, high);  t = t - low;  t = t / max(high - low, 1e-5)
 * in float32 steps, where (low, high) is value_range if given (it then wins, with or
 * without scale_each), else the tensor's own min and max over all its values, all three
 * channels; "the tensor" is the whole batch, or each image with scale_each. low and
 * high are float32 in the clamp and the subtraction; the divisor is max(high - low,
 * 1e-5) computed in double (Python) then rounded to float32, as PyTorch does with a
 * Python scalar. The padding keeps pad_value (make_grid fills it after normalizing).
 * A tensor holding NaN has NaN as its min and max (torch.min), so all of it shows 0.
 * With CACT_GRID_TENSORBOARD the same map is applied before add_images' x*255 clip:
 * it stands for add_images(tag, normalized batch), since add_images has no option.
 */
#ifndef CACT_GRID_H
#define CACT_GRID_H

#include <stddef.h>
#include <stdint.h>

enum cact_grid_style { CACT_GRID_TORCHVISION, CACT_GRID_TENSORBOARD, CACT_GRID_STYLE_COUNT };

/* The style names users spell ("torchvision", "tensorboard"), indexed by the enum; the
 * CLI parses with cact_name_find() and the manifest writes them. */
extern const char *const cact_grid_style_names[CACT_GRID_STYLE_COUNT];

struct cact_grid_opts {
    enum cact_grid_style style;
    int nrow;        /* images per grid row (torchvision nrow / tensorboard ncols), >= 1 */
    int padding;     /* pixels, torchvision only (ignored by tensorboard), >= 0 */
    float pad_value; /* torchvision pad_value, in [0,1] units before quantization */
    int scale;       /* nearest-neighbour enlargement, >= 1 */
    /* make_grid(normalize=True, value_range, scale_each): see above. scale_each and
     * value_range only matter when normalize is set, as in torchvision. */
    int normalize;
    int scale_each;
    int has_value_range;
    double value_range[2]; /* low, high (Python floats: doubles) */
};

/* The map one tensor gets from normalize (identity when on == 0). */
struct cact_grid_norm {
    int on;
    float low, high, div;
};

/* What a grid's values did against the range it can show: without normalize [0,1],
 * with value_range [low,high] (clamped there), with min/max normalization nothing.
 * values counts every value quantized (3 per pixel, padding excluded). */
struct cact_grid_clip {
    uint64_t values, below, above, nan;
};

/* Defaults: torchvision, nrow 8, padding 2, pad_value 0, scale 1. */
void cact_grid_opts_default(struct cact_grid_opts *o);

/* Size in pixels of the grid for n images (n >= 1), scale included. Both 0 when
 * either does not fit in int; the render functions need a size that fits. */
void cact_grid_size(const struct cact_grid_opts *o, size_t n, int *w, int *h);
/* The same size, exact for any options (no overflow): for checking limits first. */
void cact_grid_size64(const struct cact_grid_opts *o, size_t n, uint64_t *w, uint64_t *h);

/* Quantize one float to a pixel byte, per style. */
uint8_t cact_grid_quantize(enum cact_grid_style style, float v);

/* Render n images of x ([n][3][32][32] float) into rgb ([h][w][3], size from cact_grid_size).
 * Applies o->normalize (min/max taken from x itself). */
void cact_grid_render(const struct cact_grid_opts *o, const float *x, size_t n, uint8_t *rgb);

/* Same layout from bytes: px is [n][3][32][32] uint8, and lut[c][b] gives the output
 * byte of input byte b in channel c (already quantized). lut NULL means identity.
 * o->normalize is NOT applied here: it is in the table (cact_grid_tables). */
void cact_grid_render_lut(const struct cact_grid_opts *o, const uint8_t *px, size_t n,
                     const uint8_t lut[3][256], uint8_t *rgb);

/* ---- make_grid normalize ---- */

/* The map for a tensor whose min and max are tmin, tmax (ignored with value_range or
 * without normalize). NaN in tmin or tmax gives a map that sends everything to NaN. */
void cact_grid_norm_init(struct cact_grid_norm *m, const struct cact_grid_opts *o, double tmin,
                         double tmax);

/* One value through the map (float32 steps, see above). */
float cact_grid_norm_apply(const struct cact_grid_norm *m, float v);

/* Byte tables for the lookup-table path, when o->normalize is set. f[c][b] is the
 * float value of byte b in channel c (the chain's table); px is the batch's bytes
 * ([n][3][32][32]) and hist its per-channel byte histogram (hist[c][b] = count).
 * Without scale_each writes ONE table, from the min/max of f over the bytes present
 * in hist; with scale_each writes n tables (luts[k] for image k), each from the bytes
 * present in image k. Returns the number of tables written (1 or n). Without
 * normalize, writes one plain quantized table. */
size_t cact_grid_tables(const struct cact_grid_opts *o, const float f[3][256], const uint8_t *px,
                        size_t n, const size_t hist[3][256], uint8_t (*luts)[3][256]);

/* cact_grid_render_lut with one table per image: luts[k] for image k when n_luts == n,
 * luts[0] for all when n_luts == 1. */
void cact_grid_render_luts(const struct cact_grid_opts *o, const uint8_t *px, size_t n,
                           const uint8_t (*luts)[3][256], size_t n_luts, uint8_t *rgb);

/* Add to clip what a grid of the count floats at x shows (all of them are shown). */
void cact_grid_clip_floats(const struct cact_grid_opts *o, const float *x, size_t count,
                           struct cact_grid_clip *clip);

/* The same from a byte histogram and the float table f (lookup-table path). */
void cact_grid_clip_hist(const struct cact_grid_opts *o, const size_t hist[3][256],
                         const float f[3][256], struct cact_grid_clip *clip);

/* The range clip reports against: [0,1], or value_range with normalize. Returns 0 when
 * min/max normalization leaves nothing to clip. */
int cact_grid_clip_range(const struct cact_grid_opts *o, double *low, double *high);

/* --layout pairs: place two equal-sized grids a and b side by side with a gap of
 * `gap` pixels filled with gap_rgb, into out ([h][2w+gap][3]). */
void cact_grid_pair(const uint8_t *a, const uint8_t *b, int w, int h, int gap,
               const uint8_t gap_rgb[3], uint8_t *out);

#endif
