/* test_grid.c - grid layout, quantization, orientation, the LUT fast path, scale, pair.
 *
 * Layout expectations are computed here independently of grid.c (from the formulas in
 * torchvision 0.14 make_grid and torch.utils.tensorboard._utils.make_grid), and the
 * quantization edge cases were produced by PyTorch/numpy themselves (see the table).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "check.h"
#include "grid.h"

#define SIDE 32
#define PLANE (SIDE * SIDE)
#define IMG (3 * PLANE)

/* ---- Helpers ---- */

static uint8_t *render(const struct cact_grid_opts *o, const float *x, size_t n, int *w, int *h)
{
    cact_grid_size(o, n, w, h);
    uint8_t *rgb = malloc((size_t)3 * *w * *h);
    /* Poison so a pixel the renderer forgets to write shows up. */
    memset(rgb, 0xA5, (size_t)3 * *w * *h);
    cact_grid_render(o, x, n, rgb);
    return rgb;
}

static const uint8_t *pix(const uint8_t *rgb, int w, int x, int y)
{
    return rgb + ((size_t)y * w + x) * 3;
}

static int pix_is(const uint8_t *rgb, int w, int x, int y, int r, int g, int b)
{
    const uint8_t *p = pix(rgb, w, x, y);
    return p[0] == r && p[1] == g && p[2] == b;
}

static struct cact_grid_opts opts(enum cact_grid_style style, int nrow, int padding, float pad_value,
                             int scale)
{
    struct cact_grid_opts o;
    cact_grid_opts_default(&o);
    o.style = style;
    o.nrow = nrow;
    o.padding = padding;
    o.pad_value = pad_value;
    o.scale = scale;
    return o;
}

/* ---- Sizes ---- */

static void test_defaults(void)
{
    struct cact_grid_opts o;
    memset(&o, 0x55, sizeof o);
    cact_grid_opts_default(&o);
    CHECK(o.style == CACT_GRID_TORCHVISION);
    CHECK_EQ_INT(o.nrow, 8);
    CHECK_EQ_INT(o.padding, 2);
    CHECK(o.pad_value == 0.0f);
    CHECK_EQ_INT(o.scale, 1);
}

static void test_sizes_known(void)
{
    /* The sizes the issue quotes, measured with torchvision / tensorboard. */
    struct { enum cact_grid_style s; size_t n; int w, h; } k[] = {
        { CACT_GRID_TORCHVISION, 64, 274, 274 }, { CACT_GRID_TENSORBOARD, 64, 256, 256 },
        { CACT_GRID_TORCHVISION, 16, 274, 70 },  { CACT_GRID_TENSORBOARD, 16, 256, 64 },
        { CACT_GRID_TORCHVISION, 1, 32, 32 },    { CACT_GRID_TENSORBOARD, 1, 32, 32 },
        { CACT_GRID_TORCHVISION, 3, 104, 36 },   { CACT_GRID_TENSORBOARD, 3, 96, 32 },
        { CACT_GRID_TORCHVISION, 9, 274, 70 },   { CACT_GRID_TENSORBOARD, 9, 256, 64 },
    };
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++) {
        struct cact_grid_opts o = opts(k[i].s, 8, 2, 0, 1);
        int w, h;
        cact_grid_size(&o, k[i].n, &w, &h);
        CHECK_MSG(w == k[i].w && h == k[i].h, "style %d n %zu: %dx%d, wanted %dx%d", k[i].s,
                  k[i].n, w, h, k[i].w, k[i].h);
    }
}

/* Sizes beyond int: exact in 64 bits, 0 (not an overflowed int) from cact_grid_size.
 * The first is the job UBSan caught (--batch 50000 --nrow 1 --padding 1024 --scale 64):
 * its height was computed as a signed int product and overflowed. */
static void test_sizes_huge(void)
{
    struct cact_grid_opts o;
    uint64_t w64, h64;
    int w = -1, h = -1;

    cact_grid_opts_default(&o);
    o.nrow = 1;
    o.padding = 1024;
    o.scale = 64;
    cact_grid_size64(&o, 50000, &w64, &h64);
    CHECK_EQ_INT(w64, 2080ull * 64);
    CHECK_EQ_INT(h64, (1056ull * 50000 + 1024) * 64);
    cact_grid_size(&o, 50000, &w, &h);
    CHECK_EQ_INT(w, 0);
    CHECK_EQ_INT(h, 0);
    /* The largest values the CLI accepts, in every direction. */
    o.nrow = 4096;
    cact_grid_size64(&o, 1000000, &w64, &h64);
    CHECK_EQ_INT(w64, (1056ull * 4096 + 1024) * 64);
    CHECK_EQ_INT(h64, (1056ull * 245 + 1024) * 64);
    /* Still exact where int holds it: the same as the int version. */
    o.padding = 2;
    o.scale = 3;
    cact_grid_size64(&o, 64, &w64, &h64);
    cact_grid_size(&o, 64, &w, &h);
    CHECK_EQ_INT(w, (34 * 64 + 2) * 3); /* nrow 4096 > 64 images: one row of 64 */
    CHECK_EQ_INT(h, (34 + 2) * 3);
    CHECK(w64 == (uint64_t)w && h64 == (uint64_t)h);
}

static void test_sizes_many(void)
{
    static const int nrows[] = { 1, 2, 3, 5, 8, 10, 64, 100 };
    static const int pads[] = { 0, 1, 2, 5 };
    static const int scales[] = { 1, 2, 3 };
    int bad = 0;

    /* One check for the whole sweep; the first few mismatches are printed. */
    for (size_t n = 1; n <= 130; n++)
        for (size_t a = 0; a < sizeof nrows / sizeof nrows[0]; a++)
            for (size_t b = 0; b < sizeof pads / sizeof pads[0]; b++)
                for (size_t c = 0; c < sizeof scales / sizeof scales[0]; c++) {
                    int nrow = nrows[a], pad = pads[b], s = scales[c];
                    int xmaps = (size_t)nrow < n ? nrow : (int)n;
                    int ymaps = (int)ceil((double)n / xmaps);
                    int tw, th, bw, bh;
                    struct cact_grid_opts tv = opts(CACT_GRID_TORCHVISION, nrow, pad, 0, s);
                    struct cact_grid_opts tb = opts(CACT_GRID_TENSORBOARD, nrow, pad, 0, s);
                    int ew = n == 1 ? 32 : (32 + pad) * xmaps + pad;
                    int eh = n == 1 ? 32 : (32 + pad) * ymaps + pad;

                    cact_grid_size(&tv, n, &tw, &th);
                    cact_grid_size(&tb, n, &bw, &bh);
                    if (tw != ew * s || th != eh * s || bw != 32 * xmaps * s ||
                        bh != 32 * ymaps * s) {
                        if (bad++ < 5)
                            fprintf(stderr, "n %zu nrow %d pad %d scale %d: tv %dx%d tb %dx%d\n",
                                    n, nrow, pad, s, tw, th, bw, bh);
                    }
                }
    CHECK_EQ_INT(bad, 0);
}

/* ---- Quantization ---- */

/* Expected bytes from PyTorch 1.13 (torchvision: t.mul(255).add_(0.5).clamp_(0,255)
 * .to(torch.uint8)) and numpy 1.24 ((a*255).clip(0,255).astype(np.uint8)), float32. */
static const struct { float v; uint8_t tv, tb; } quant_cases[] = {
    { 0x0.0p+0f, 0, 0 },
    { -0x0.0p+0f, 0, 0 },
    { 0x1.0p+0f, 255, 255 },
    { 0x1.0p-1f, 128, 127 },                /* 0.5 */
    { 0x1.010102p-9f, 1, 0 },               /* 0.5/255 */
    { 0x1.010104p-9f, 1, 0 },               /* next float up */
    { 0x1.0101p-9f, 1, 0 },                 /* next float down */
    { 0x1.818182p-8f, 2, 1 },               /* 1.5/255 */
    { 0x1.fefefep-1f, 255, 254 },           /* 254.5/255 */
    { 0x1.fefefcp-1f, 254, 254 },           /* next float down */
    { 0x1.feffp-1f, 255, 254 },             /* next float up */
    { 0x1.fdfdfep-1f, 254, 254 },           /* 254/255 */
    { 0x1.010102p-8f, 1, 1 },               /* 1/255 */
    { 0x1.0101p-8f, 1, 0 },                 /* just below 1/255 */
    { 0x1.000002p+0f, 255, 255 },           /* just above 1 */
    { 0x1.fffffep-1f, 255, 254 },           /* just below 1 */
    { -0x1.12e0bep-30f, 0, 0 },             /* -1e-9 */
    { -0x1.010102p-9f, 0, 0 },              /* -0.5/255 */
    { -0x1.0p+0f, 0, 0 },
    { 0x1.0p+1f, 255, 255 },
    { 0x1.93e594p+99f, 255, 255 },          /* 1e30 */
    { -0x1.93e594p+99f, 0, 0 },
    { 0x1.ff933cp+127f, 255, 255 },         /* 3.4e38: x*255 overflows to inf */
    { 0x1.0p-149f, 0, 0 },                  /* smallest denormal */
};

static void test_quantize(void)
{
    for (size_t i = 0; i < sizeof quant_cases / sizeof quant_cases[0]; i++) {
        float v = quant_cases[i].v;
        CHECK_MSG(cact_grid_quantize(CACT_GRID_TORCHVISION, v) == quant_cases[i].tv,
                  "tv %a -> %d, want %d", v, cact_grid_quantize(CACT_GRID_TORCHVISION, v),
                  quant_cases[i].tv);
        CHECK_MSG(cact_grid_quantize(CACT_GRID_TENSORBOARD, v) == quant_cases[i].tb,
                  "tb %a -> %d, want %d", v, cact_grid_quantize(CACT_GRID_TENSORBOARD, v),
                  quant_cases[i].tb);
    }
    CHECK_EQ_INT(cact_grid_quantize(CACT_GRID_TORCHVISION, NAN), 0);
    CHECK_EQ_INT(cact_grid_quantize(CACT_GRID_TENSORBOARD, NAN), 0);
    CHECK_EQ_INT(cact_grid_quantize(CACT_GRID_TORCHVISION, -NAN), 0);
    CHECK_EQ_INT(cact_grid_quantize(CACT_GRID_TORCHVISION, INFINITY), 255);
    CHECK_EQ_INT(cact_grid_quantize(CACT_GRID_TENSORBOARD, INFINITY), 255);
    CHECK_EQ_INT(cact_grid_quantize(CACT_GRID_TORCHVISION, -INFINITY), 0);
    CHECK_EQ_INT(cact_grid_quantize(CACT_GRID_TENSORBOARD, -INFINITY), 0);

    /* ToTensor bytes come back unchanged in both styles (b/255 in float32). */
    int bad_tv = 0, bad_tb = 0;
    for (int b = 0; b < 256; b++) {
        float v = (float)b / 255.0f;
        bad_tv += cact_grid_quantize(CACT_GRID_TORCHVISION, v) != b;
        bad_tb += cact_grid_quantize(CACT_GRID_TENSORBOARD, v) != b;
    }
    CHECK_EQ_INT(bad_tv, 0);
    CHECK_EQ_INT(bad_tb, 0);
}

/* Values through the whole render path, padding included (pad_value is quantized
 * like any pixel, as make_grid fills the float grid before save_image scales it). */
static void test_render_quantizes(void)
{
    size_t nq = sizeof quant_cases / sizeof quant_cases[0];
    float *x = calloc(2 * IMG, sizeof *x);
    for (size_t i = 0; i < 2 * IMG; i++)
        x[i] = quant_cases[i % nq].v;
    for (int s = 0; s < 2; s++) {
        struct cact_grid_opts o = opts(s ? CACT_GRID_TENSORBOARD : CACT_GRID_TORCHVISION, 8, 2, 0.5f, 1);
        int w, h, pad = s ? 0 : 2, bad = 0;
        uint8_t *rgb = render(&o, x, 2, &w, &h);
        for (int k = 0; k < 2; k++)
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < PLANE; i++) {
                    size_t src = (size_t)k * IMG + (size_t)c * PLANE + i;
                    int gx = pad + k * (32 + pad) + i % 32, gy = pad + i / 32;
                    uint8_t want = s ? quant_cases[src % nq].tb : quant_cases[src % nq].tv;
                    bad += pix(rgb, w, gx, gy)[c] != want;
                }
        CHECK_EQ_INT(bad, 0);
        /* pad_value 0.5 -> 128 in torchvision (0.5*255+0.5 = 128.0); TB has no padding. */
        CHECK(s ? w == 64 && h == 32 : pix_is(rgb, w, 0, 0, 128, 128, 128));
        free(rgb);
    }
    free(x);
}

/* ---- Layout ---- */

/* Image k is flat: R = k, G = 200 - k, B = 7 (bytes, as value/255). */
static float *flat_batch(size_t n)
{
    float *x = malloc(n * IMG * sizeof *x);
    for (size_t k = 0; k < n; k++)
        for (int i = 0; i < PLANE; i++) {
            x[k * IMG + i] = (float)k / 255.0f;
            x[k * IMG + PLANE + i] = (float)(200 - k) / 255.0f;
            x[k * IMG + 2 * PLANE + i] = 7.0f / 255.0f;
        }
    return x;
}

/* Every pixel of the grid against the make_grid formulas: tile i at
 * (y*(H+pad)+pad, x*(W+pad)+pad), everything else pad. */
static void check_layout(enum cact_grid_style style, size_t n, int nrow, int pad, float pad_value)
{
    struct cact_grid_opts o = opts(style, nrow, pad, pad_value, 1);
    float *x = flat_batch(n);
    int w, h, bad = 0;
    uint8_t *rgb = render(&o, x, n, &w, &h);
    int p = style == CACT_GRID_TORCHVISION && n > 1 ? pad : 0;
    uint8_t pb = style == CACT_GRID_TORCHVISION ? cact_grid_quantize(CACT_GRID_TORCHVISION, pad_value) : 0;
    int cols = (size_t)nrow < n ? nrow : (int)n;

    for (int gy = 0; gy < h; gy++)
        for (int gx = 0; gx < w; gx++) {
            int tx = -1, ty = -1;
            for (int c = 0; c < cols; c++)
                if (gx >= c * (32 + p) + p && gx < c * (32 + p) + p + 32)
                    tx = c;
            for (int r = 0; r * cols < (int)n; r++)
                if (gy >= r * (32 + p) + p && gy < r * (32 + p) + p + 32)
                    ty = r;
            size_t k = (size_t)ty * cols + tx;
            if (tx >= 0 && ty >= 0 && k < n)
                bad += !pix_is(rgb, w, gx, gy, (int)k, 200 - (int)k, 7);
            else
                bad += !pix_is(rgb, w, gx, gy, pb, pb, pb);
        }
    CHECK_MSG(bad == 0, "style %d n %zu nrow %d pad %d: %d bad pixels", style, n, nrow, pad,
              bad);
    free(rgb);
    free(x);
}

static void test_layout(void)
{
    static const size_t ns[] = { 1, 2, 3, 7, 8, 9, 10, 16, 17, 64 };
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        check_layout(CACT_GRID_TORCHVISION, ns[i], 8, 2, 0.0f);
        check_layout(CACT_GRID_TORCHVISION, ns[i], 3, 5, 0.5f);
        check_layout(CACT_GRID_TORCHVISION, ns[i], 1, 0, 1.0f);
        check_layout(CACT_GRID_TENSORBOARD, ns[i], 8, 2, 0.7f);
        check_layout(CACT_GRID_TENSORBOARD, ns[i], 3, 0, 0.0f);
    }

    /* Hand-computed spots for 10 images, nrow 4, padding 3, pad_value 1: tile 5 is at
     * row 1, column 1: top-left (3 + 35, 3 + 35) = (38, 38), bottom-right (69, 69). */
    struct cact_grid_opts o = opts(CACT_GRID_TORCHVISION, 4, 3, 1.0f, 1);
    float *x = flat_batch(10);
    int w, h;
    uint8_t *rgb = render(&o, x, 10, &w, &h);
    CHECK_EQ_INT(w, 143);
    CHECK_EQ_INT(h, 108);
    CHECK(pix_is(rgb, w, 38, 38, 5, 195, 7));
    CHECK(pix_is(rgb, w, 69, 69, 5, 195, 7));
    CHECK(pix_is(rgb, w, 37, 38, 255, 255, 255));
    CHECK(pix_is(rgb, w, 70, 69, 255, 255, 255));
    CHECK(pix_is(rgb, w, 3, 73, 8, 192, 7));      /* tile 8 at (3, 73) */
    CHECK(pix_is(rgb, w, 38, 73, 9, 191, 7));     /* tile 9 at (38, 73) */
    CHECK(pix_is(rgb, w, 73, 73, 255, 255, 255)); /* cell 10 is empty */
    CHECK(pix_is(rgb, w, 142, 107, 255, 255, 255));
    free(rgb);
    free(x);
}

/* make_grid returns a single image as it is: no padding, whatever padding says. */
static void test_single_image(void)
{
    float *x = malloc(IMG * sizeof *x);
    for (int i = 0; i < IMG; i++)
        x[i] = (float)((i * 37) % 256) / 255.0f;
    for (int s = 0; s < 2; s++) {
        struct cact_grid_opts o = opts(s ? CACT_GRID_TENSORBOARD : CACT_GRID_TORCHVISION, 8, 4, 1.0f, 1);
        int w, h, bad = 0;
        uint8_t *rgb = render(&o, x, 1, &w, &h);
        CHECK_EQ_INT(w, 32);
        CHECK_EQ_INT(h, 32);
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < PLANE; i++)
                bad += pix(rgb, 32, i % 32, i / 32)[c] != ((c * PLANE + i) * 37) % 256;
        CHECK_EQ_INT(bad, 0);
        free(rgb);
    }
    free(x);
}

/* ---- Orientation: a red F on blue (stb's test image idea) ---- */

/* The F: stem x 4..7, y 4..27; top bar y 4..7, x 4..23; middle bar y 14..17, x 4..17.
 * Flips, transposes and rotations all move some red pixel onto blue. */
static int in_f(int x, int y)
{
    return (x >= 4 && x <= 7 && y >= 4 && y <= 27) || (y >= 4 && y <= 7 && x >= 4 && x <= 23) ||
           (y >= 14 && y <= 17 && x >= 4 && x <= 17);
}

static void make_f(float *img)
{
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++) {
            int f = in_f(x, y);
            img[y * 32 + x] = f ? 1.0f : 0.0f;              /* R */
            img[PLANE + y * 32 + x] = 0.0f;                 /* G */
            img[2 * PLANE + y * 32 + x] = f ? 0.0f : 1.0f;  /* B */
        }
}

static void check_f_at(const uint8_t *rgb, int w, int ox, int oy, int s, const char *what)
{
    int bad = 0;
    for (int y = 0; y < 32 * s; y++)
        for (int x = 0; x < 32 * s; x++) {
            int f = in_f(x / s, y / s);
            bad += !pix_is(rgb, w, ox + x, oy + y, f ? 255 : 0, 0, f ? 0 : 255);
        }
    CHECK_MSG(bad == 0, "%s: F at (%d,%d) has %d wrong pixels", what, ox, oy, bad);
    /* Spot checks that name the failure mode. */
    CHECK_MSG(pix_is(rgb, w, ox + 20 * s, oy + 5 * s, 255, 0, 0), "%s: top bar (flip?)", what);
    CHECK_MSG(pix_is(rgb, w, ox + 20 * s, oy + 25 * s, 0, 0, 255), "%s: bottom right", what);
    CHECK_MSG(pix_is(rgb, w, ox + 5 * s, oy + 25 * s, 255, 0, 0), "%s: stem (transpose?)",
              what);
    CHECK_MSG(pix_is(rgb, w, ox + 25 * s, oy + 5 * s, 0, 0, 255), "%s: right of bar", what);
    CHECK_MSG(pix_is(rgb, w, ox + 28 * s, oy + 28 * s, 0, 0, 255), "%s: blue, not red (R/B?)",
              what);
}

static void test_orientation(void)
{
    /* Three images, nrow 2: F, green, F -> F at tile 0 and tile 2 (second row). */
    float *x = calloc(3 * IMG, sizeof *x);
    make_f(x);
    for (int i = 0; i < PLANE; i++)
        x[IMG + PLANE + i] = 1.0f;
    make_f(x + 2 * IMG);

    for (int scale = 1; scale <= 2; scale++) {
        struct cact_grid_opts tv = opts(CACT_GRID_TORCHVISION, 2, 2, 0, scale);
        struct cact_grid_opts tb = opts(CACT_GRID_TENSORBOARD, 2, 2, 0, scale);
        int w, h;
        uint8_t *rgb = render(&tv, x, 3, &w, &h);
        CHECK_EQ_INT(w, 70 * scale);
        CHECK_EQ_INT(h, 70 * scale);
        check_f_at(rgb, w, 2 * scale, 2 * scale, scale, "tv tile 0");
        check_f_at(rgb, w, 2 * scale, 36 * scale, scale, "tv tile 2");
        CHECK(pix_is(rgb, w, 36 * scale, 2 * scale, 0, 255, 0));
        CHECK(pix_is(rgb, w, 50 * scale, 50 * scale, 0, 0, 0)); /* empty cell: pad */
        free(rgb);

        rgb = render(&tb, x, 3, &w, &h);
        CHECK_EQ_INT(w, 64 * scale);
        CHECK_EQ_INT(h, 64 * scale);
        check_f_at(rgb, w, 0, 0, scale, "tb tile 0");
        check_f_at(rgb, w, 0, 32 * scale, scale, "tb tile 2");
        CHECK(pix_is(rgb, w, 32 * scale, 0, 0, 255, 0));
        CHECK(pix_is(rgb, w, 63 * scale, 63 * scale, 0, 0, 0));
        free(rgb);
    }

    /* The LUT path gets the same F from bytes. */
    uint8_t *px = malloc(3 * IMG);
    for (int i = 0; i < 3 * IMG; i++)
        px[i] = (uint8_t)(x[i] * 255.0f);
    struct cact_grid_opts tv = opts(CACT_GRID_TORCHVISION, 2, 2, 0, 1);
    int w, h;
    cact_grid_size(&tv, 3, &w, &h);
    uint8_t *rgb = malloc((size_t)3 * w * h);
    cact_grid_render_lut(&tv, px, 3, NULL, rgb);
    check_f_at(rgb, w, 2, 2, 1, "lut tile 0");
    check_f_at(rgb, w, 2, 36, 1, "lut tile 2");
    free(rgb);
    free(px);
    free(x);
}

/* ---- LUT fast path == float path ---- */

static float map_apply(int m, int c, float v)
{
    switch (m) {
    case 0: return v;                                     /* identity */
    case 1: return 1.0f / (1.0f + expf(-v));              /* sigmoid */
    case 2: return -v;                                    /* all clamped to 0 */
    case 3: return v * 2.0f - 0.5f;                       /* both clamps */
    case 4: return c == 0 ? v * v : c == 1 ? 1.0f - v : v / 3.0f; /* per channel */
    case 5: return ((int)(v * 255.0f) % 7 == 0) ? NAN : v;       /* NaN sprinkled */
    case 6: return (v - 0.5f) / 0.5f;                     /* Normalize(0.5, 0.5) */
    default: return logf(v);                              /* -inf at 0 */
    }
}

static void test_lut_matches_float(void)
{
    static const size_t ns[] = { 1, 2, 5, 16, 64 };
    static const struct { int style, nrow, pad, scale; float pv; } os[] = {
        { CACT_GRID_TORCHVISION, 8, 2, 1, 0.0f }, { CACT_GRID_TORCHVISION, 3, 1, 2, 0.3f },
        { CACT_GRID_TORCHVISION, 8, 0, 1, 1.0f }, { CACT_GRID_TENSORBOARD, 8, 2, 1, 0.0f },
        { CACT_GRID_TENSORBOARD, 5, 0, 3, 0.5f },
    };
    size_t maxn = 64;
    uint8_t *px = malloc(maxn * IMG);
    float *x = malloc(maxn * IMG * sizeof *x);
    uint32_t seed = 12345;

    for (size_t i = 0; i < maxn * IMG; i++) {
        seed = seed * 1664525u + 1013904223u;
        px[i] = (uint8_t)(seed >> 24);
    }
    for (int m = 0; m < 8; m++)
        for (size_t oi = 0; oi < sizeof os / sizeof os[0]; oi++) {
            struct cact_grid_opts o = opts(os[oi].style, os[oi].nrow, os[oi].pad, os[oi].pv,
                                      os[oi].scale);
            uint8_t lut[3][256];
            for (int c = 0; c < 3; c++)
                for (int b = 0; b < 256; b++)
                    lut[c][b] = cact_grid_quantize(o.style, map_apply(m, c, (float)b / 255.0f));
            for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++) {
                size_t n = ns[ni];
                for (size_t i = 0; i < n * IMG; i++)
                    x[i] = map_apply(m, (int)(i / PLANE % 3), (float)px[i] / 255.0f);
                int w, h;
                uint8_t *a = render(&o, x, n, &w, &h);
                uint8_t *b = malloc((size_t)3 * w * h);
                memset(b, 0x5A, (size_t)3 * w * h);
                cact_grid_render_lut(&o, px, n, (const uint8_t(*)[256])lut, b);
                CHECK_MSG(memcmp(a, b, (size_t)3 * w * h) == 0, "map %d opts %zu n %zu", m, oi,
                          n);
                free(a);
                free(b);
            }
        }
    free(x);
    free(px);
}

/* ---- Scale ---- */

static void test_scale(void)
{
    float *x = malloc(5 * IMG * sizeof *x);
    for (int i = 0; i < 5 * IMG; i++)
        x[i] = (float)((i * 7919) % 256) / 255.0f;
    for (int st = 0; st < 2; st++)
        for (int s = 2; s <= 4; s++) {
            struct cact_grid_opts o1 = opts(st ? CACT_GRID_TENSORBOARD : CACT_GRID_TORCHVISION, 3, 2, 0.25f, 1);
            struct cact_grid_opts os = o1;
            os.scale = s;
            int w1, h1, ws, hs, bad = 0;
            uint8_t *a = render(&o1, x, 5, &w1, &h1);
            uint8_t *b = render(&os, x, 5, &ws, &hs);
            CHECK_EQ_INT(ws, w1 * s);
            CHECK_EQ_INT(hs, h1 * s);
            for (int y = 0; y < hs; y++)
                for (int xx = 0; xx < ws; xx++)
                    bad += memcmp(pix(b, ws, xx, y), pix(a, w1, xx / s, y / s), 3) != 0;
            CHECK_MSG(bad == 0, "style %d scale %d: %d bad pixels", st, s, bad);
            free(a);
            free(b);
        }
    free(x);
}

/* ---- Pair ---- */

static void test_pair(void)
{
    enum { W = 5, H = 3, GAP = 2 };
    uint8_t a[H][W][3], b[H][W][3], out[H][2 * W + GAP][3];
    const uint8_t gap_rgb[3] = { 9, 8, 7 };
    int bad = 0;

    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) {
                a[y][x][c] = (uint8_t)(y * 100 + x * 10 + c);
                b[y][x][c] = (uint8_t)(255 - (y * 50 + x * 5 + c));
            }
    memset(out, 0xEE, sizeof out);
    cact_grid_pair(&a[0][0][0], &b[0][0][0], W, H, GAP, gap_rgb, &out[0][0][0]);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < 2 * W + GAP; x++)
            for (int c = 0; c < 3; c++) {
                uint8_t want = x < W ? a[y][x][c] : x < W + GAP ? gap_rgb[c] : b[y][x - W - GAP][c];
                bad += out[y][x][c] != want;
            }
    CHECK_EQ_INT(bad, 0);

    /* Zero gap: just the two side by side. */
    uint8_t out0[H][2 * W][3];
    cact_grid_pair(&a[0][0][0], &b[0][0][0], W, H, 0, gap_rgb, &out0[0][0][0]);
    CHECK(memcmp(out0[1][0], a[1][0], 3 * W) == 0);
    CHECK(memcmp(out0[1][W], b[1][0], 3 * W) == 0);
}

/* ---- Goldens: layout and quantization against PyTorch on the real test set ---- */

/* The grid half of tests/golden/grids.txt (tools/gen_golden_grids.py), without any
 * activation code: input grids must hash to torch's (float path and byte path), and
 * torch's own tables laid out by cact_grid_render_lut must hash to torch's output grids. */

static void sha256_hex(const uint8_t *p, size_t n, char hex[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

static int hex_nibble(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Split line (modified in place) at tabs into at most max fields; returns the count. */
static int split_tabs(char *line, char **f, int max)
{
    int n = 0;
    line[strcspn(line, "\n")] = '\0';
    while (n < max) {
        f[n++] = line;
        line = strchr(line, '\t');
        if (!line)
            break;
        *line++ = '\0';
    }
    return n;
}

/* Batch k (64 images, 16 for the last) of the CIFAR-10 test set as [n][3][32][32]. */
static size_t read_batch(FILE *f, int k, uint8_t *px)
{
    uint8_t rec[3073];
    size_t n = 0;
    if (fseek(f, (long)k * 64 * 3073, SEEK_SET) != 0)
        return 0;
    while (n < 64 && fread(rec, 1, sizeof rec, f) == sizeof rec)
        memcpy(px + n++ * IMG, rec + 1, IMG);
    return n;
}

static void test_goldens(void)
{
    char path[4096];
    const char *real = check_data_dir();
    if (!real) {
        CHECK_MSG(0, "the real test set was not found (see the line above)");
        return;
    }
    if (snprintf(path, sizeof path, "%s/cifar-10-batches-bin/test_batch.bin", real) >=
        (int)sizeof path) {
        CHECK_MSG(0, "data path too long: %s", real);
        return;
    }
    FILE *data = fopen(path, "rb");
    CHECK_MSG(data != NULL, "cannot open %s", path);
    if (!data)
        return;
    snprintf(path, sizeof path, "%s/tests/golden/grids.txt", check_env("CA_ROOT", "."));
    FILE *g = fopen(path, "r");
    CHECK_MSG(g != NULL, "cannot open %s", path);
    if (!g) {
        fclose(data);
        return;
    }

    uint8_t *px[157] = { 0 };
    size_t n[157] = { 0 };
    uint8_t *rgb = malloc((size_t)3 * 274 * 274);
    float *x = malloc((size_t)64 * IMG * sizeof *x);
    int n_input = 0, n_lut = 0;
    char *buf = malloc(8192), hex[65];

    while (fgets(buf, 8192, g)) {
        char *f[12];
        if (buf[0] == '#' || buf[0] == '\n')
            continue;
        int nf = split_tabs(buf, f, 12);
        int lut_row = nf == 6 && !strcmp(f[0], "lut") && !strcmp(f[2], "-");
        int input_row = nf == 7 && !strcmp(f[0], "input");
        if (!lut_row && !input_row)
            continue; /* normalized tables and full grids need act: test_fidelity.c */
        struct cact_grid_opts o;
        cact_grid_opts_default(&o);
        o.style = !strcmp(f[1], "tb") ? CACT_GRID_TENSORBOARD : CACT_GRID_TORCHVISION;
        int k = input_row ? atoi(f[2]) : 0;
        if (k < 0 || k > 156)
            continue;
        if (!px[k]) {
            px[k] = malloc((size_t)64 * IMG);
            n[k] = read_batch(data, k, px[k]);
        }
        int w, h;
        cact_grid_size(&o, n[k], &w, &h);

        if (input_row) {
            CHECK_MSG(n[k] == (size_t)atoi(f[3]) && w == atoi(f[4]) && h == atoi(f[5]),
                      "input %s %d: %zu images %dx%d", f[1], k, n[k], w, h);
            /* Float path, through ToTensor's b/255... */
            for (size_t i = 0; i < n[k] * IMG; i++)
                x[i] = (float)px[k][i] / 255.0f;
            cact_grid_render(&o, x, n[k], rgb);
            sha256_hex(rgb, (size_t)3 * w * h, hex);
            CHECK_MSG(!strcmp(hex, f[6]), "input %s batch %d (float path)", f[1], k);
            /* ...and the byte path. */
            cact_grid_render_lut(&o, px[k], n[k], NULL, rgb);
            sha256_hex(rgb, (size_t)3 * w * h, hex);
            CHECK_MSG(!strcmp(hex, f[6]), "input %s batch %d (lut path)", f[1], k);
            n_input++;
        } else {
            uint8_t lut[3][256];
            int ok = strlen(f[5]) == 1536;
            for (int i = 0; ok && i < 768; i++) {
                int hi = hex_nibble(f[5][2 * i]), lo = hex_nibble(f[5][2 * i + 1]);
                ok = hi >= 0 && lo >= 0;
                lut[i / 256][i % 256] = (uint8_t)(hi * 16 + lo);
            }
            CHECK_MSG(ok, "bad table for %s %s", f[1], f[3]);
            cact_grid_render_lut(&o, px[0], n[0], (const uint8_t(*)[256])lut, rgb);
            sha256_hex(rgb, (size_t)3 * w * h, hex);
            CHECK_MSG(!strcmp(hex, f[4]), "table %s %s: grid differs from torch's", f[1], f[3]);
            n_lut++;
        }
    }
    CHECK_EQ_INT(n_input, 4);
    CHECK_MSG(n_lut >= 60, "only %d un-normalized tables", n_lut);
    for (int k = 0; k < 157; k++)
        free(px[k]);
    free(buf);
    free(x);
    free(rgb);
    fclose(g);
    fclose(data);
}

int main(void)
{
    test_defaults();
    test_sizes_known();
    test_sizes_many();
    test_sizes_huge();
    test_quantize();
    test_render_quantizes();
    test_layout();
    test_single_image();
    test_orientation();
    test_lut_matches_float();
    test_scale();
    test_pair();
    test_goldens();
    return check_summary("test_grid");
}
