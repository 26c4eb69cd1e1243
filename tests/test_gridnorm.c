/* test_gridnorm.c - make_grid(normalize, value_range, scale_each) and the clip counts:
 * the map's arithmetic, the table path against the float path on the same values
 * (both styles, every option), clip counts from floats and from a histogram, and a
 * whole run on a fixture (run stats and manifest). Pixels against PyTorch itself are
 * in test_fidelity (grids_norm.txt). */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fixture.h"
#include "grid.h"
#include "run.h"

#define PLANE 1024
#define PIX (3 * PLANE)

static char root[256];

static void test_map(void)
{
    struct cact_grid_opts o;
    struct cact_grid_norm m;

    cact_grid_opts_default(&o);
    cact_grid_norm_init(&m, &o, -5, 5);
    CHECK(cact_grid_norm_apply(&m, -3.0f) == -3.0f); /* off: identity */
    o.normalize = 1;
    cact_grid_norm_init(&m, &o, -2, 2);
    CHECK(cact_grid_norm_apply(&m, -2.0f) == 0.0f);
    CHECK(cact_grid_norm_apply(&m, 2.0f) == 1.0f);
    CHECK(cact_grid_norm_apply(&m, 0.0f) == 0.5f);
    o.has_value_range = 1, o.value_range[0] = -1, o.value_range[1] = 1;
    cact_grid_norm_init(&m, &o, -2, 2); /* value_range wins over min/max */
    CHECK(cact_grid_norm_apply(&m, -7.0f) == 0.0f);
    CHECK(cact_grid_norm_apply(&m, 7.0f) == 1.0f);
    CHECK(cact_grid_norm_apply(&m, 0.5f) == 0.75f);
    /* The divisor is max(high - low, 1e-5) in double, then float32. */
    o.value_range[0] = 0.1, o.value_range[1] = 0.3;
    cact_grid_norm_init(&m, &o, 0, 0);
    CHECK(m.div == (float)(0.3 - 0.1));
    CHECK(m.div != (float)0.3 - (float)0.1);
    o.value_range[0] = 0.5, o.value_range[1] = 0.5;
    cact_grid_norm_init(&m, &o, 0, 0);
    CHECK(m.div == (float)1e-5);
    CHECK(cact_grid_norm_apply(&m, 0.9f) == 0.0f);
    o.has_value_range = 0;
    cact_grid_norm_init(&m, &o, NAN, NAN); /* a NaN min/max: everything NaN */
    CHECK(isnan(cact_grid_norm_apply(&m, 0.3f)));
    CHECK_EQ_INT(cact_grid_quantize(CACT_GRID_TORCHVISION, cact_grid_norm_apply(&m, 0.3f)), 0);
}

/* The table path (bytes, per-channel float table, cact_grid_tables) against the float
 * path (cact_grid_render on the same floats): equal pixels for every option. */
static void test_paths_agree(void)
{
    enum { N = 11 };
    static uint8_t px[N * PIX];
    static float x[N * PIX];
    static uint8_t a[400 * 400 * 3], b[400 * 400 * 3];
    static uint8_t luts[N][3][256];
    float f[3][256];
    size_t hist[3][256] = {{0}};
    uint32_t s = 12345;

    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++) /* not monotonic, negative and above 1 */
            f[c][v] = (float)(sin(v * 0.05 + c) * (1.5 + c)) + 0.1f * (float)c;
    for (size_t k = 0; k < N; k++)
        for (int i = 0; i < PIX; i++) {
            s = s * 1103515245u + 12345u;
            /* each image uses a different byte range, so per-image min/max differ */
            px[k * PIX + i] = (uint8_t)((s >> 16) % (40 + 20 * k) + 3 * k);
        }
    for (size_t k = 0; k < N; k++)
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < PLANE; i++) {
                uint8_t v = px[k * PIX + c * PLANE + i];
                x[k * PIX + c * PLANE + i] = f[c][v];
                hist[c][v]++;
            }
    for (int style = 0; style < 2; style++)
        for (int variant = 0; variant < 5; variant++) {
            struct cact_grid_opts o;
            int w, h;
            cact_grid_opts_default(&o);
            o.style = style ? CACT_GRID_TENSORBOARD : CACT_GRID_TORCHVISION;
            o.nrow = 4;
            o.normalize = variant > 0;
            o.scale_each = variant == 2 || variant == 4;
            o.has_value_range = variant >= 3;
            o.value_range[0] = -0.7, o.value_range[1] = 1.3;
            cact_grid_size(&o, N, &w, &h);
            size_t nt = cact_grid_tables(&o, (const float(*)[256])f, px, N,
                                         (const size_t(*)[256])hist, luts);
            CHECK_EQ_INT(nt, variant == 2 ? N : 1);
            cact_grid_render_luts(&o, px, N, (const uint8_t(*)[3][256])luts, nt, a);
            cact_grid_render(&o, x, N, b);
            CHECK_MSG(memcmp(a, b, (size_t)w * h * 3) == 0, "style %d variant %d: paths differ",
                      style, variant);
            /* Normalizing min/max must use the full 0..255 span somewhere. */
            if (variant == 1 || variant == 2) {
                int lo = 255, hi = 0;
                for (size_t i = 0; i < (size_t)w * h * 3; i++) {
                    if (b[i] < lo)
                        lo = b[i];
                    if (b[i] > hi)
                        hi = b[i];
                }
                CHECK_MSG(lo == 0 && hi == 255, "variant %d: span %d..%d", variant, lo, hi);
            }
            struct cact_grid_clip cf = {0}, ch = {0};
            cact_grid_clip_floats(&o, x, (size_t)N * PIX, &cf);
            cact_grid_clip_hist(&o, (const size_t(*)[256])hist, (const float(*)[256])f, &ch);
            CHECK(cf.values == (uint64_t)N * PIX && ch.values == cf.values);
            CHECK_MSG(cf.below == ch.below && cf.above == ch.above && cf.nan == ch.nan,
                      "variant %d: clip counts differ between floats and histogram", variant);
            if (variant == 0)
                CHECK(cf.below > 0 && cf.above > 0);
            if (variant == 1 || variant == 2)
                CHECK(cf.below == 0 && cf.above == 0);
        }
}

/* One NaN makes torch.min/max NaN: the whole batch shows 0, or with scale_each only
 * its own image (checked against torchvision 0.14 by hand: make_grid gives all-NaN). */
static void test_nan(void)
{
    static float x[2 * PIX];
    static uint8_t rgb[32 * 64 * 3];
    struct cact_grid_opts o;
    int w, h;

    for (int i = 0; i < 2 * PIX; i++)
        x[i] = (float)(i % 97) / 96.0f;
    x[5] = NAN;
    for (int each = 0; each < 2; each++) {
        size_t zero[2] = {0, 0};
        cact_grid_opts_default(&o);
        o.style = CACT_GRID_TENSORBOARD; /* no padding: tile k is columns 32k..32k+31 */
        o.normalize = 1;
        o.scale_each = each;
        cact_grid_size(&o, 2, &w, &h);
        CHECK(w == 64 && h == 32);
        cact_grid_render(&o, x, 2, rgb);
        for (int y = 0; y < 32; y++)
            for (int xx = 0; xx < 64; xx++)
                for (int c = 0; c < 3; c++)
                    zero[xx / 32] += rgb[(y * 64 + xx) * 3 + c] == 0;
        CHECK_EQ_INT(zero[0], PIX);
        CHECK_MSG(each ? zero[1] < PIX / 10 : zero[1] == PIX, "scale_each %d: %zu zeros", each,
                  zero[1]);
    }
}

/* A run on 10 flat grey images (level 20*i): exact clip numbers in stats and manifest. */
static void test_run_clip(void)
{
    char path[700], out[600];

    fx_make_grey10(root, "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n");

    for (int force_float = 0; force_float < 2; force_float++)
        for (int ranged = 0; ranged < 2; ranged++) {
            struct cact_run_opts o;
            struct cact_run_stats st;
            struct cact_err e;
            snprintf(out, sizeof out, "%s/out%d%d", root, force_float, ranged);
            cact_run_opts_default(&o);
            o.data_dir = root;
            o.out_dir = out;
            o.batch = 4;
            o.jobs = 2;
            o.force_float = force_float;
            CHECK_EQ_INT(cact_act_parse_normalize("0.5,0.5", &o.chain, &e), CACT_OK);
            CHECK_EQ_INT(cact_act_parse("relu", &o.chain.fn[0], &e), CACT_OK);
            o.chain.n = 1;
            if (ranged) {
                o.grid.normalize = 1;
                o.grid.has_value_range = 1;
                o.grid.value_range[0] = -0.5, o.grid.value_range[1] = 0.5;
            }
            CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
            /* Input (2*level/255 - 1): levels 0..120 (7 images) are below 0; below -0.5
             * are levels 0..60 (4 images); above 0.5 are levels >= 200 (none). */
            CHECK_EQ_INT(st.clip_in.values, 10 * PIX);
            CHECK_EQ_INT(st.clip_in.below, (ranged ? 4 : 7) * PIX);
            CHECK_EQ_INT(st.clip_in.above, 0);
            /* Output relu: nothing below 0; above 0.5 none (max 0.41). */
            CHECK_EQ_INT(st.clip_out.values, 10 * PIX);
            CHECK_EQ_INT(st.clip_out.below, 0);
            CHECK_EQ_INT(st.clip_out.above, 0);
            CHECK_EQ_INT(st.clip_out.nan, 0);
            snprintf(path, sizeof path, "%s/manifest.json", out);
            char *m = fx_read_text(path, NULL);
            char want[300];
            snprintf(want, sizeof want,
                     "\"input\": {\"range\": [%s], \"values\": 30720, \"below\": %d, "
                     "\"above\": 0, \"nan\": 0}",
                     ranged ? "-0.5, 0.5" : "0, 1", (ranged ? 4 : 7) * PIX);
            CHECK_MSG(m && strstr(m, want) != NULL, "manifest lacks %s", want);
            CHECK(m && strstr(m, ranged ? "\"value_range\": [-0.5, 0.5]"
                                        : "\"value_range\": null") != NULL);
            free(m);
        }
}

int main(void)
{
    char cmd[300];
    snprintf(root, sizeof root, "%s/test_gridnorm.XXXXXX", check_env("TMPDIR", "/tmp"));
    if (!mkdtemp(root))
        return 2;
    test_map();
    test_paths_agree();
    test_nan();
    test_run_clip();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return check_summary("test_gridnorm");
}
