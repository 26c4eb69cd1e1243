/* grid.c - tile a batch into one RGB image, the torchvision or TensorBoard way.
 *
 * Both render paths build the grid one unscaled row at a time, straight into the
 * first bytes of the matching (scaled) output row, then enlarge that row in place and
 * copy it down `scale - 1` times. So nothing is allocated and the functions cannot
 * fail: the caller's buffer, sized by cact_grid_size, is all the memory used.
 */
#include "grid.h"

#include <assert.h>
#include <string.h>

#define GRID_SIDE 32                       /* CIFAR images are 32x32 */
#define GRID_PLANE (GRID_SIDE * GRID_SIDE) /* one channel of one image */

/* The three-way byte interleave needs byte shuffles (SSSE3 and up) to vectorize, and
 * GCC's -O2 cost model skips it: so -O3, plus an AVX2 copy picked at load time where
 * the CPU has it (the default copy runs on any x86-64). The input grid of every batch
 * goes through it. */
#if defined(__GNUC__) && !defined(__clang__)
#define GRID_HOT __attribute__((optimize("O3")))
#else
#define GRID_HOT
#endif
#if defined(__GNUC__) && defined(__x86_64__) && defined(__ELF__) && !defined(__clang__) && \
    !defined(CIFAR_ACT_NO_X86_CLONES) /* make test-generic: test the default copy */
#define GRID_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define GRID_CLONES
#endif

/* ---- Layout ---- */

/* Everything the row builders need, computed once from opts and n. */
struct grid_layout {
    int cols, rows;  /* tiles across / down */
    int pad;         /* pixels before each tile and after the last one (0 for TB) */
    int w, h;        /* unscaled grid size */
    int single;      /* torchvision's one-image case: the image itself, no padding */
};

static void grid_layout_get(const struct cact_grid_opts *o, size_t n, struct grid_layout *l)
{
    int nrow = o->nrow >= 1 ? o->nrow : 1;

    assert(n >= 1);
    l->single = o->style == CACT_GRID_TORCHVISION && n == 1;
    /* torchvision: xmaps = min(nrow, n); tensorboard: ncols = min(n, ncols). Same. */
    l->cols = (size_t)nrow < n ? nrow : (int)n;
    l->rows = (int)((n + (size_t)l->cols - 1) / (size_t)l->cols);
    l->pad = o->style == CACT_GRID_TORCHVISION && !l->single && o->padding > 0 ? o->padding : 0;
    l->w = (GRID_SIDE + l->pad) * l->cols + l->pad;
    l->h = (GRID_SIDE + l->pad) * l->rows + l->pad;
}

void cact_grid_opts_default(struct cact_grid_opts *o)
{
    o->style = CACT_GRID_TORCHVISION;
    o->nrow = 8;
    o->padding = 2;
    o->pad_value = 0.0f;
    o->scale = 1;
}

void cact_grid_size(const struct cact_grid_opts *o, size_t n, int *w, int *h)
{
    struct grid_layout l;
    int s = o->scale >= 1 ? o->scale : 1;

    grid_layout_get(o, n, &l);
    *w = l.w * s;
    *h = l.h * s;
}

/* ---- Quantization ---- */

uint8_t cact_grid_quantize(enum cact_grid_style style, float v)
{
    /* Each step is its own float32 operation, as in PyTorch/numpy; the build uses
     * -ffp-contract=off so v*255 + 0.5 is never fused into one rounding. The
     * negated comparison sends NaN to 0 (x86 converts NaN to 0 in both libraries). */
    float t = v * 255.0f;

    if (style == CACT_GRID_TORCHVISION)
        t = t + 0.5f;
    if (!(t >= 0.0f))
        return 0;
    if (t >= 255.0f)
        return 255;
    return (uint8_t)t; /* truncation, like .to(torch.uint8) / .astype(np.uint8) */
}

/* The byte every padding pixel gets: pad_value quantized (torchvision fills the grid
 * with pad_value before save_image scales it), or black for TensorBoard's canvas. */
static uint8_t grid_pad_byte(const struct cact_grid_opts *o)
{
    return o->style == CACT_GRID_TORCHVISION ? cact_grid_quantize(CACT_GRID_TORCHVISION, o->pad_value) : 0;
}

/* ---- Row assembly ---- */

/* Which image row (if any) unscaled grid row gy shows: sets *tile_row to the first
 * tile index of that row of tiles and *iy to the row inside the image. Returns 0 for
 * a row that is all padding. */
static int grid_row_source(const struct grid_layout *l, int gy, int *tile_row, int *iy)
{
    int band = GRID_SIDE + l->pad;
    int y = gy - l->pad;

    if (y < 0)
        return 0;
    *iy = y % band;
    if (*iy >= GRID_SIDE)
        return 0;
    *tile_row = y / band;
    return *tile_row < l->rows;
}

/* Enlarge the unscaled row at the start of row (w pixels) to w*s pixels in place,
 * going right to left so no source pixel is overwritten before it is read. */
static void grid_stretch_row(uint8_t *row, int w, int s)
{
    for (int x = w - 1; x >= 0; x--) {
        uint8_t r = row[3 * x], g = row[3 * x + 1], b = row[3 * x + 2];
        uint8_t *d = row + (size_t)3 * x * s;
        for (int k = 0; k < s; k++) {
            d[3 * k] = r;
            d[3 * k + 1] = g;
            d[3 * k + 2] = b;
        }
    }
}

/* Finish unscaled row gy, already built at the start of its first output row. */
static void grid_emit_row(uint8_t *rgb, const struct grid_layout *l, int s, int gy)
{
    size_t stride = (size_t)3 * l->w * s;
    uint8_t *row = rgb + stride * gy * s;

    if (s == 1)
        return;
    grid_stretch_row(row, l->w, s);
    for (int k = 1; k < s; k++)
        memcpy(row + stride * k, row, stride);
}

/* Start of unscaled row gy's storage (the first of its s output rows). */
static uint8_t *grid_row_ptr(uint8_t *rgb, const struct grid_layout *l, int s, int gy)
{
    return rgb + (size_t)3 * l->w * s * gy * s;
}

/* ---- Rendering ---- */

void cact_grid_render(const struct cact_grid_opts *o, const float *x, size_t n, uint8_t *rgb)
{
    struct grid_layout l;
    int s = o->scale >= 1 ? o->scale : 1;
    uint8_t pad = grid_pad_byte(o);

    grid_layout_get(o, n, &l);
    for (int gy = 0; gy < l.h; gy++) {
        uint8_t *row = grid_row_ptr(rgb, &l, s, gy);
        int tile_row, iy;

        memset(row, pad, (size_t)3 * l.w);
        if (grid_row_source(&l, gy, &tile_row, &iy)) {
            for (int c = 0; c < l.cols; c++) {
                size_t k = (size_t)tile_row * l.cols + c;
                if (k >= n)
                    break;
                const float *img = x + k * 3 * GRID_PLANE + (size_t)iy * GRID_SIDE;
                uint8_t *d = row + (size_t)3 * (l.pad + c * (GRID_SIDE + l.pad));
                for (int px = 0; px < GRID_SIDE; px++) {
                    d[3 * px] = cact_grid_quantize(o->style, img[px]);
                    d[3 * px + 1] = cact_grid_quantize(o->style, img[GRID_PLANE + px]);
                    d[3 * px + 2] = cact_grid_quantize(o->style, img[2 * GRID_PLANE + px]);
                }
            }
        }
        grid_emit_row(rgb, &l, s, gy);
    }
}

/* One tile row: planes r, g, b (GRID_SIDE bytes each) to interleaved RGB at d. */
GRID_HOT GRID_CLONES static void grid_interleave(uint8_t *restrict d,
                                                 const uint8_t *restrict r,
                                                 const uint8_t *restrict g,
                                                 const uint8_t *restrict b)
{
    for (int i = 0; i < GRID_SIDE; i++) {
        d[3 * i] = r[i];
        d[3 * i + 1] = g[i];
        d[3 * i + 2] = b[i];
    }
}

/* The same through per-channel tables. Three lookups per pixel, no branches: the
 * whole activation and quantization were folded into lut by the caller. */
static void grid_interleave_lut(uint8_t *restrict d, const uint8_t *restrict r,
                                const uint8_t *restrict g, const uint8_t *restrict b,
                                const uint8_t lut[3][256])
{
    for (int i = 0; i < GRID_SIDE; i++) {
        d[3 * i] = lut[0][r[i]];
        d[3 * i + 1] = lut[1][g[i]];
        d[3 * i + 2] = lut[2][b[i]];
    }
}

void cact_grid_render_lut(const struct cact_grid_opts *o, const uint8_t *px, size_t n,
                     const uint8_t lut[3][256], uint8_t *rgb)
{
    struct grid_layout l;
    int s = o->scale >= 1 ? o->scale : 1;
    uint8_t pad = grid_pad_byte(o);

    grid_layout_get(o, n, &l);
    for (int gy = 0; gy < l.h; gy++) {
        uint8_t *row = grid_row_ptr(rgb, &l, s, gy);
        int tile_row, iy;

        memset(row, pad, (size_t)3 * l.w);
        if (grid_row_source(&l, gy, &tile_row, &iy)) {
            for (int c = 0; c < l.cols; c++) {
                size_t k = (size_t)tile_row * l.cols + c;
                if (k >= n)
                    break;
                const uint8_t *r = px + k * 3 * GRID_PLANE + (size_t)iy * GRID_SIDE;
                const uint8_t *g = r + GRID_PLANE, *b = r + 2 * GRID_PLANE;
                uint8_t *d = row + (size_t)3 * (l.pad + c * (GRID_SIDE + l.pad));
                if (lut)
                    grid_interleave_lut(d, r, g, b, lut);
                else
                    grid_interleave(d, r, g, b);
            }
        }
        grid_emit_row(rgb, &l, s, gy);
    }
}

void cact_grid_pair(const uint8_t *a, const uint8_t *b, int w, int h, int gap,
               const uint8_t gap_rgb[3], uint8_t *out)
{
    size_t half = (size_t)3 * w;
    size_t stride = (size_t)3 * (2 * w + gap);

    for (int y = 0; y < h; y++) {
        uint8_t *d = out + stride * y;
        memcpy(d, a + half * y, half);
        for (int x = 0; x < gap; x++)
            memcpy(d + half + (size_t)3 * x, gap_rgb, 3);
        memcpy(d + half + (size_t)3 * gap, b + half * y, half);
    }
}

/* ---- Names ---- */

const char *const cact_grid_style_names[CACT_GRID_STYLE_COUNT] = {
    [CACT_GRID_TORCHVISION] = "torchvision",
    [CACT_GRID_TENSORBOARD] = "tensorboard",
};
