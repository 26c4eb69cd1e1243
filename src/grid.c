/* grid.c - tile a batch into one RGB image, the torchvision or TensorBoard way.
 *
 * Both render paths build the grid one unscaled row at a time, straight into the
 * first bytes of the matching (scaled) output row, then enlarge that row in place and
 * copy it down `scale - 1` times. So nothing is allocated and the functions cannot
 * fail: the caller's buffer, sized by cact_grid_size, is all the memory used.
 */
#include "grid.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
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
    o->normalize = 0;
    o->scale_each = 0;
    o->has_value_range = 0;
    o->value_range[0] = 0.0;
    o->value_range[1] = 1.0;
}

void cact_grid_size64(const struct cact_grid_opts *o, size_t n, uint64_t *w, uint64_t *h)
{
    /* grid_layout_get's sums in 64 bits: every int input gives an exact size. */
    uint64_t nrow = o->nrow >= 1 ? (uint64_t)o->nrow : 1;
    uint64_t s = o->scale >= 1 ? (uint64_t)o->scale : 1;
    uint64_t cols = nrow < n ? nrow : n, rows = (n + cols - 1) / cols;
    int single = o->style == CACT_GRID_TORCHVISION && n == 1;
    uint64_t pad = o->style == CACT_GRID_TORCHVISION && !single && o->padding > 0
                       ? (uint64_t)o->padding : 0;

    assert(n >= 1);
    *w = ((GRID_SIDE + pad) * cols + pad) * s;
    *h = ((GRID_SIDE + pad) * rows + pad) * s;
}

void cact_grid_size(const struct cact_grid_opts *o, size_t n, int *w, int *h)
{
    uint64_t w64, h64;

    cact_grid_size64(o, n, &w64, &h64);
    *w = w64 <= INT_MAX && h64 <= INT_MAX ? (int)w64 : 0;
    *h = w64 <= INT_MAX && h64 <= INT_MAX ? (int)h64 : 0;
}

/* ---- Quantization ---- */

/* Inline for the table builders, which run it 768 times per table. */
static inline uint8_t grid_quantize(enum cact_grid_style style, float v)
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

uint8_t cact_grid_quantize(enum cact_grid_style style, float v)
{
    return grid_quantize(style, v);
}

/* The byte every padding pixel gets: pad_value quantized (torchvision fills the grid
 * with pad_value before save_image scales it), or black for TensorBoard's canvas. */
static uint8_t grid_pad_byte(const struct cact_grid_opts *o)
{
    return o->style == CACT_GRID_TORCHVISION ? cact_grid_quantize(CACT_GRID_TORCHVISION, o->pad_value) : 0;
}

/* ---- make_grid normalize ---- */

void cact_grid_norm_init(struct cact_grid_norm *m, const struct cact_grid_opts *o, double tmin,
                         double tmax)
{
    double low = tmin, high = tmax, d;

    m->on = o->normalize;
    if (!m->on) {
        m->low = 0.0f, m->high = 1.0f, m->div = 1.0f;
        return;
    }
    if (o->has_value_range)
        low = o->value_range[0], high = o->value_range[1];
    /* norm_ip: max(high - low, 1e-5) is Python arithmetic on doubles; PyTorch then
     * rounds each Python scalar to the tensor's float32. NaN - NaN stays NaN here
     * (Python's max(nan, 1e-5) returns nan too: the comparison is false). */
    d = high - low;
    if (d < 1e-5)
        d = 1e-5;
    m->low = (float)low;
    m->high = (float)high;
    m->div = (float)d;
}

static inline float grid_norm_apply(const struct cact_grid_norm *m, float v)
{
    float t = v;

    if (!m->on)
        return v;
    /* clamp_ is min(max(v, low), high), which keeps a NaN v NaN; then sub_, div_. */
    if (t < m->low)
        t = m->low;
    if (t > m->high)
        t = m->high;
    t = t - m->low;
    return t / m->div;
}

float cact_grid_norm_apply(const struct cact_grid_norm *m, float v)
{
    return grid_norm_apply(m, v);
}

/* torch.min/max of count floats: NaN if any value is NaN. */
static void grid_minmax(const float *x, size_t count, double *mn, double *mx)
{
    float lo = INFINITY, hi = -INFINITY;
    int nan = 0;

    for (size_t i = 0; i < count; i++) {
        float v = x[i];
        if (v != v)
            nan = 1;
        if (v < lo)
            lo = v;
        if (v > hi)
            hi = v;
    }
    *mn = nan ? NAN : lo;
    *mx = nan ? NAN : hi;
}

/* The map for image k of x (scale_each) or for the whole batch. */
static void grid_norm_for(const struct cact_grid_opts *o, const float *x, size_t n, size_t k,
                          struct cact_grid_norm *m)
{
    double mn = 0, mx = 1;

    if (o->normalize && !o->has_value_range) {
        if (o->scale_each)
            grid_minmax(x + k * 3 * GRID_PLANE, 3 * GRID_PLANE, &mn, &mx);
        else
            grid_minmax(x, n * 3 * GRID_PLANE, &mn, &mx);
    }
    cact_grid_norm_init(m, o, mn, mx);
}

/* min/max of f over the (channel, byte) pairs marked in seen; NaN if one of them is NaN. */
static void grid_table_minmax(const float f[3][256], const uint8_t seen[3][256], double *mn,
                              double *mx)
{
    float lo = INFINITY, hi = -INFINITY;
    int nan = 0;

    for (int c = 0; c < 3; c++)
        for (int b = 0; b < 256; b++)
            if (seen[c][b]) {
                float v = f[c][b];
                if (v != v)
                    nan = 1;
                if (v < lo)
                    lo = v;
                if (v > hi)
                    hi = v;
            }
    *mn = nan ? NAN : lo;
    *mx = nan ? NAN : hi;
}

/* lut = quantize(map(f)) for all 768 entries. Written as selects over one channel's
 * 256 floats so that -O3 vectorizes it: with scale_each this runs twice per image. */
GRID_HOT static void grid_table_fill(const struct cact_grid_opts *o,
                                     const struct cact_grid_norm *m, const float f[3][256],
                                     uint8_t lut[3][256])
{
    const float low = m->low, high = m->high, div = m->div;
    const float add = o->style == CACT_GRID_TORCHVISION ? 0.5f : 0.0f;
    const int on = m->on;

    for (int c = 0; c < 3; c++)
        for (int b = 0; b < 256; b++) {
            float t = f[c][b];
            if (on) {
                t = t < low ? low : t;
                t = t > high ? high : t;
                t = (t - low) / div;
            }
            /* grid_quantize; + 0.0f for TensorBoard changes no value, NaN included. */
            t = t * 255.0f + add;
            lut[c][b] = !(t >= 0.0f) ? 0 : t >= 255.0f ? 255 : (uint8_t)t;
        }
}

size_t cact_grid_tables(const struct cact_grid_opts *o, const float f[3][256], const uint8_t *px,
                        size_t n, const size_t hist[3][256], uint8_t (*luts)[3][256])
{
    struct cact_grid_norm m;
    uint8_t seen[3][256];
    double mn = 0, mx = 1;

    if (!o->normalize || o->has_value_range) {
        /* One map for every image: value_range is the same for each of them. */
        cact_grid_norm_init(&m, o, mn, mx);
        grid_table_fill(o, &m, f, luts[0]);
        return 1;
    }
    if (!o->scale_each) {
        for (int c = 0; c < 3; c++)
            for (int b = 0; b < 256; b++)
                seen[c][b] = hist[c][b] != 0;
        grid_table_minmax(f, (const uint8_t(*)[256])seen, &mn, &mx);
        cact_grid_norm_init(&m, o, mn, mx);
        grid_table_fill(o, &m, f, luts[0]);
        return 1;
    }
    for (size_t k = 0; k < n; k++) {
        const uint8_t *img = px + k * 3 * GRID_PLANE;
        memset(seen, 0, sizeof seen);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < GRID_PLANE; i++)
                seen[c][img[c * GRID_PLANE + i]] = 1;
        grid_table_minmax(f, (const uint8_t(*)[256])seen, &mn, &mx);
        cact_grid_norm_init(&m, o, mn, mx);
        grid_table_fill(o, &m, f, luts[k]);
    }
    return n;
}

/* ---- What was clipped ---- */

int cact_grid_clip_range(const struct cact_grid_opts *o, double *low, double *high)
{
    *low = 0.0;
    *high = 1.0;
    if (!o->normalize)
        return 1;
    if (!o->has_value_range)
        return 0;
    *low = o->value_range[0];
    *high = o->value_range[1];
    return 1;
}

/* Bounds as the float32 comparisons of the clamp see them. */
static void grid_clip_bounds(const struct cact_grid_opts *o, int *on, float *lo, float *hi)
{
    double l, h;
    *on = cact_grid_clip_range(o, &l, &h);
    *lo = (float)l;
    *hi = (float)h;
}

void cact_grid_clip_floats(const struct cact_grid_opts *o, const float *x, size_t count,
                           struct cact_grid_clip *clip)
{
    uint64_t below = 0, above = 0, nan = 0;
    float lo, hi;
    int on;

    grid_clip_bounds(o, &on, &lo, &hi);
    for (size_t i = 0; i < count; i++) {
        float v = x[i];
        nan += v != v;
        if (on) {
            below += v < lo;
            above += v > hi;
        }
    }
    clip->values += count;
    clip->below += below;
    clip->above += above;
    clip->nan += nan;
}

void cact_grid_clip_hist(const struct cact_grid_opts *o, const size_t hist[3][256],
                         const float f[3][256], struct cact_grid_clip *clip)
{
    float lo, hi;
    int on;

    grid_clip_bounds(o, &on, &lo, &hi);
    for (int c = 0; c < 3; c++)
        for (int b = 0; b < 256; b++) {
            uint64_t k = hist[c][b];
            float v = f[c][b];
            if (!k)
                continue;
            clip->values += k;
            if (v != v)
                clip->nan += k;
            else if (on && v < lo)
                clip->below += k;
            else if (on && v > hi)
                clip->above += k;
        }
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

/* Per-image maps are kept for one row of tiles at a time, without allocating: up to
 * GRID_NORM_CACHE columns; wider rows (an unusual --nrow) recompute the rest. */
#define GRID_NORM_CACHE 64

void cact_grid_render(const struct cact_grid_opts *o, const float *x, size_t n, uint8_t *rgb)
{
    struct grid_layout l;
    int s = o->scale >= 1 ? o->scale : 1;
    uint8_t pad = grid_pad_byte(o);
    struct cact_grid_norm batch_norm, cache[GRID_NORM_CACHE];
    int per_image = o->normalize && o->scale_each && !o->has_value_range;
    int cached_row = -1;

    grid_layout_get(o, n, &l);
    if (!per_image)
        grid_norm_for(o, x, n, 0, &batch_norm);
    for (int gy = 0; gy < l.h; gy++) {
        uint8_t *row = grid_row_ptr(rgb, &l, s, gy);
        int tile_row, iy;

        memset(row, pad, (size_t)3 * l.w);
        if (grid_row_source(&l, gy, &tile_row, &iy)) {
            if (per_image && cached_row != tile_row) {
                for (int c = 0; c < l.cols && c < GRID_NORM_CACHE; c++) {
                    size_t k = (size_t)tile_row * l.cols + c;
                    if (k < n)
                        grid_norm_for(o, x, n, k, &cache[c]);
                }
                cached_row = tile_row;
            }
            for (int c = 0; c < l.cols; c++) {
                size_t k = (size_t)tile_row * l.cols + c;
                struct cact_grid_norm tmp;
                const struct cact_grid_norm *m = &batch_norm;
                if (k >= n)
                    break;
                if (per_image) {
                    if (c < GRID_NORM_CACHE) {
                        m = &cache[c];
                    } else {
                        grid_norm_for(o, x, n, k, &tmp);
                        m = &tmp;
                    }
                }
                const float *img = x + k * 3 * GRID_PLANE + (size_t)iy * GRID_SIDE;
                uint8_t *d = row + (size_t)3 * (l.pad + c * (GRID_SIDE + l.pad));
                for (int px = 0; px < GRID_SIDE; px++) {
                    d[3 * px] = grid_quantize(o->style, grid_norm_apply(m, img[px]));
                    d[3 * px + 1] = grid_quantize(
                        o->style, grid_norm_apply(m, img[GRID_PLANE + px]));
                    d[3 * px + 2] = grid_quantize(
                        o->style, grid_norm_apply(m, img[2 * GRID_PLANE + px]));
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

/* luts: NULL (identity), one table for all images (n_luts 1) or one per image. */
static void grid_render_tables(const struct cact_grid_opts *o, const uint8_t *px, size_t n,
                               const uint8_t (*luts)[3][256], size_t n_luts, uint8_t *rgb)
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
                if (luts)
                    grid_interleave_lut(d, r, g, b, luts[n_luts == n ? k : 0]);
                else
                    grid_interleave(d, r, g, b);
            }
        }
        grid_emit_row(rgb, &l, s, gy);
    }
}

void cact_grid_render_lut(const struct cact_grid_opts *o, const uint8_t *px, size_t n,
                     const uint8_t lut[3][256], uint8_t *rgb)
{
    grid_render_tables(o, px, n, lut ? (const uint8_t(*)[3][256])lut : NULL, 1, rgb);
}

void cact_grid_render_luts(const struct cact_grid_opts *o, const uint8_t *px, size_t n,
                           const uint8_t (*luts)[3][256], size_t n_luts, uint8_t *rgb)
{
    grid_render_tables(o, px, n, luts, n_luts, rgb);
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
