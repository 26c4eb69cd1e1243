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
};

/* Defaults: torchvision, nrow 8, padding 2, pad_value 0, scale 1. */
void cact_grid_opts_default(struct cact_grid_opts *o);

/* Size in pixels of the grid for n images (n >= 1), scale included. */
void cact_grid_size(const struct cact_grid_opts *o, size_t n, int *w, int *h);

/* Quantize one float to a pixel byte, per style. */
uint8_t cact_grid_quantize(enum cact_grid_style style, float v);

/* Render n images of x ([n][3][32][32] float) into rgb ([h][w][3], size from cact_grid_size). */
void cact_grid_render(const struct cact_grid_opts *o, const float *x, size_t n, uint8_t *rgb);

/* Same layout from bytes: px is [n][3][32][32] uint8, and lut[c][b] gives the output
 * byte of input byte b in channel c (already quantized). lut NULL means identity. */
void cact_grid_render_lut(const struct cact_grid_opts *o, const uint8_t *px, size_t n,
                     const uint8_t lut[3][256], uint8_t *rgb);

/* --layout pairs: place two equal-sized grids a and b side by side with a gap of
 * `gap` pixels filled with gap_rgb, into out ([h][2w+gap][3]). */
void cact_grid_pair(const uint8_t *a, const uint8_t *b, int w, int h, int gap,
               const uint8_t gap_rgb[3], uint8_t *out);

#endif
