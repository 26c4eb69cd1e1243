/* test_html.c - the page writer (html.h) on a synthetic run, and the gallery job
 * (gallery.h) on the real test set: its cards equal single runs' grids by decoded
 * pixels. The pages' behaviour in a browser: tests/cli_browser.sh. */
#include <stb_image.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fixture.h"
#include "gallery.h"
#include "html.h"
#include "run.h"

static char tmp[256];

static int exists(const char *dir, const char *name)
{
    return fx_exists(fx_path(dir, name));
}

static int no_temp_files(const char *dir)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "! ls -A '%s' '%s/html' 2>/dev/null | grep -q '\\.tmp\\.'", dir, dir);
    return system(cmd) == 0;
}

/* ---- A synthetic run: 2 batches (3 images, then 1), bytes from a formula ---- */

static uint8_t syn_px(size_t img, size_t j) { return (uint8_t)(img * 37 + j * 11 + j / 1024); }

static int fail_read;

static enum cact_status syn_read(void *ctx, size_t k, uint8_t *px, struct cact_err *err)
{
    const struct cact_html_batch *b = ctx;
    if (fail_read)
        return cact_fail(err, CACT_ERR_IO, "synthetic read failure at batch %zu", k);
    for (size_t i = 0; i < b[k].n; i++)
        for (size_t j = 0; j < 3072; j++)
            px[i * 3072 + j] = syn_px(b[k].idx[i], j);
    return CACT_OK;
}

static size_t b64_decode(const char *s, uint8_t *out)
{
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; *s && *s != '"'; s++) {
        const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *p = strchr(tab, *s);
        if (*s == '=' || !p)
            break;
        acc = acc << 6 | (uint32_t)(p - tab);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n;
}

/* The pixel files on their own: several batches to a file, batches arriving in any
 * order (from several workers), the last one short; a short batch elsewhere refused. */
static void test_px_files(void)
{
    enum { B = 256 }; /* 2 MB / (256 * 4096): 2 batches to a file */
    static uint8_t px[B * 3072], got[2 * B * 3072 + 8];
    struct cact_html_px *w;
    struct cact_err e;
    char dir[512], path[800], name[64];
    size_t len;

    CHECK_EQ_INT(cact_html_px_per_file(B), 2);
    CHECK_EQ_INT(cact_html_px_per_file(1), 512);
    CHECK_EQ_INT(cact_html_px_per_file(100000), 1);
    CHECK_EQ_INT(cact_html_px_files(3, B), 2);
    CHECK_EQ_INT(cact_html_px_files(4, B), 2);
    cact_html_px_name(name, sizeof name, 12);
    CHECK(strcmp(name, "html/px_0012.js") == 0);
    snprintf(dir, sizeof dir, "%s/pxfiles", tmp);
    mkdir(dir, 0777);
    CHECK(cact_html_px_open(&w, dir, 3, B, &e) == CACT_OK);
    if (!w)
        return;
    /* Batch k, image i: image number k * B + i. Order 1, 2 (short: 5 images), 0. */
    static const size_t order[3] = {1, 2, 0}, nk[3] = {B, B, 5};
    for (int t = 0; t < 3; t++) {
        size_t k = order[t];
        for (size_t i = 0; i < nk[k]; i++)
            for (size_t j = 0; j < 3072; j++)
                px[i * 3072 + j] = syn_px(k * B + i, j);
        CHECK(cact_html_px_add(w, k, px, nk[k], &e) == CACT_OK);
        /* File 1 (batch 2 alone) is written with its batch; file 0 after batch 0, its
         * second. */
        CHECK_EQ_INT(exists(dir, "html/px_0000.js"), t == 2);
        CHECK_EQ_INT(exists(dir, "html/px_0001.js"), t >= 1);
    }
    cact_html_px_free(w);
    for (int f = 0; f < 2; f++) {
        char head[32], *js;
        snprintf(path, sizeof path, "%s/html/px_%04d.js", dir, f);
        js = fx_read_text(path, &len);
        snprintf(head, sizeof head, "cactPx(%d,\"", f);
        CHECK(js && strncmp(js, head, strlen(head)) == 0);
        if (js) {
            size_t n = b64_decode(js + strlen(head), got), want = f ? 5 : 2 * B, bad = 0;
            CHECK_EQ_INT(n, want * 3072);
            for (size_t i = 0; i < want && i * 3072 < n; i++)
                for (size_t j = 0; j < 3072; j++)
                    bad += got[i * 3072 + j] != syn_px(f * 2 * B + i, j);
            CHECK_EQ_INT(bad, 0);
            CHECK_EQ_INT(len, strlen(head) + want * CACT_HTML_PX_IMAGE + 4);
        }
        free(js);
    }
    /* Only the last batch may be short (its place in the file depends on it). */
    CHECK(cact_html_px_open(&w, dir, 3, B, &e) == CACT_OK);
    CHECK(cact_html_px_add(w, 0, px, 5, &e) == CACT_ERR_USAGE);
    CHECK(strstr(e.msg, "only the last") != NULL);
    CHECK(cact_html_px_add(w, 3, px, B, &e) == CACT_ERR_USAGE);
    cact_html_px_free(w); /* with nothing written: no leak (make asan) */
    CHECK(cact_html_px_open(&w, dir, 0, B, &e) == CACT_ERR_USAGE && !w);
}

/* A shard's pixel bytes and their merge: for N = 1, 2, 3 and 7 shards of 7 batches (the
 * last short, 4 pixel files of 2), the merged files equal the unsharded writer's, byte
 * for byte; a shard's file cut short, a batch of another shard and a bad name are
 * refused. */
static void test_px_shards(void)
{
    enum { B = 256, NB = 7, LAST = 3 };
    static uint8_t px[B * 3072];
    static const size_t n_shards[] = {1, 2, 3, 7};
    struct cact_html_px *w;
    struct cact_err e;
    char ref[512], dir[512], name[64], a[800], b[800];

    cact_html_px_shard_name(name, sizeof name, 3);
    CHECK(strcmp(name, "html/pxshard_0003.b64") == 0);
    CHECK_EQ_INT(cact_html_px_name_shard("html/pxshard_0003.b64"), 3);
    CHECK_EQ_INT(cact_html_px_name_shard("html/pxshard_12.b64.tmp.1.2"), 12);
    CHECK_EQ_INT(cact_html_px_name_shard("html/pxshard_.b64"), -1);
    CHECK_EQ_INT(cact_html_px_name_shard("html/pxshard_0003.b64x"), -1);
    CHECK_EQ_INT(cact_html_px_name_shard("html/px_0003.js"), -1);
    CHECK_EQ_INT(cact_html_px_name_shard("pxshard_0003.b64"), -1);

    snprintf(ref, sizeof ref, "%s/pxref", tmp);
    mkdir(ref, 0777);
    CHECK(cact_html_px_open(&w, ref, NB, B, &e) == CACT_OK);
    for (size_t k = 0; w && k < NB; k++) {
        size_t n = k + 1 == NB ? LAST : B;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < 3072; j++)
                px[i * 3072 + j] = syn_px(k * B + i, j);
        CHECK(cact_html_px_add(w, k, px, n, &e) == CACT_OK);
    }
    cact_html_px_free(w);
    for (size_t t = 0; t < sizeof n_shards / sizeof n_shards[0]; t++) {
        size_t ns = n_shards[t];
        snprintf(dir, sizeof dir, "%s/pxsh%zu", tmp, ns);
        mkdir(dir, 0777);
        for (size_t s = ns; s-- > 0;) { /* shards in reverse, their batches too */
            CHECK(cact_html_px_open_shard(&w, dir, NB, B, s, ns, &e) == CACT_OK);
            for (size_t k = NB; w && k-- > 0;) {
                size_t n = k + 1 == NB ? LAST : B;
                if (k % ns != s)
                    continue;
                for (size_t i = 0; i < n; i++)
                    for (size_t j = 0; j < 3072; j++)
                        px[i * 3072 + j] = syn_px(k * B + i, j);
                CHECK(cact_html_px_add(w, k, px, n, &e) == CACT_OK);
            }
            if (w && ns > 1) /* a batch of another shard */
                CHECK(cact_html_px_add(w, (s + 1) % ns, px, B, &e) == CACT_ERR_USAGE);
            cact_html_px_free(w);
        }
        CHECK(cact_html_px_merge(dir, NB, B, LAST, ns, &e) == CACT_OK);
        for (size_t f = 0; f < cact_html_px_files(NB, B); f++) {
            cact_html_px_name(name, sizeof name, f);
            snprintf(a, sizeof a, "%s/%s", ref, name);
            snprintf(b, sizeof b, "%s/%s", dir, name);
            CHECK(fx_same_file(a, b));
        }
        CHECK(no_temp_files(dir));
    }
    /* Shard 1 of 3 cut short by one image: refused, naming the file; nothing written. */
    snprintf(dir, sizeof dir, "%s/pxsh3", tmp);
    snprintf(a, sizeof a, "%s/html/pxshard_0001.b64", dir);
    CHECK(truncate(a, 4096) == 0);
    snprintf(b, sizeof b, "%s/html/px_0000.js", dir);
    CHECK(unlink(b) == 0);
    CHECK(cact_html_px_merge(dir, NB, B, LAST, 3, &e) == CACT_ERR_FORMAT);
    CHECK(strstr(e.msg, "pxshard_0001.b64: 4096 bytes, but shard 1 of 3") != NULL);
    CHECK(!exists(dir, "html/px_0000.js"));
    CHECK(cact_html_px_merge(dir, NB, B, LAST, 4, &e) != CACT_OK); /* no shard 3 */
    /* A byte that is not base64 (one that could end the script's string) is refused. */
    snprintf(dir, sizeof dir, "%s/pxsh2", tmp);
    snprintf(a, sizeof a, "%s/html/pxshard_0001.b64", dir);
    {
        FILE *f = fopen(a, "r+b");
        CHECK(f && fseek(f, 5000, SEEK_SET) == 0 && fputc('"', f) == '"');
        if (f)
            fclose(f);
    }
    CHECK(cact_html_px_merge(dir, NB, B, LAST, 2, &e) == CACT_ERR_FORMAT);
    CHECK(strstr(e.msg, "pxshard_0001.b64: not base64 (batch 1)") != NULL);
    snprintf(dir, sizeof dir, "%s/pxsh3", tmp);
    CHECK(cact_html_px_merge(dir, NB, B, B + 1, 3, &e) == CACT_ERR_USAGE);
    CHECK(cact_html_px_open_shard(&w, dir, NB, B, 3, 3, &e) == CACT_ERR_USAGE && !w);
}

static void test_hist(void)
{
    static uint8_t px[2 * 3072];
    cact_html_hist h;
    float f[3][256];
    uint64_t bins[CACT_HTML_BINS], total = 0;

    for (size_t j = 0; j < sizeof px; j++)
        px[j] = (uint8_t)(j % 3072 < 1024 ? 1 : j % 3072 < 2048 ? 255 : 0);
    memset(h, 0, sizeof h);
    cact_html_hist_add(h, px, 2);
    CHECK_EQ_INT(h[0][1], 2048);
    CHECK_EQ_INT(h[1][255], 2048);
    CHECK_EQ_INT(h[2][0], 2048);
    for (int c = 0; c < 3; c++)
        for (int b = 0; b < 256; b++)
            f[c][b] = (float)b / 255.0f;
    CHECK_EQ_INT(cact_html_bin((const uint64_t(*)[256])h, (const float(*)[256])f, 0, 1, bins), 6144);
    CHECK_EQ_INT(bins[0], 2048 + 2048);            /* 0 and 1/255 share the first bin */
    CHECK_EQ_INT(bins[CACT_HTML_BINS - 1], 2048);  /* 1.0 goes into the last bin */
    for (int i = 0; i < CACT_HTML_BINS; i++)
        total += bins[i];
    CHECK_EQ_INT(total, 6144);
    /* Out of range values are not counted. */
    CHECK_EQ_INT(cact_html_bin((const uint64_t(*)[256])h, (const float(*)[256])f, 0.5, 1, bins), 2048);
}

static void test_run_page(void)
{
    static const size_t idx0[3] = {5, 1, 9}, idx1[1] = {2};
    static const int lab0[3] = {0, 1, 2}, lab1[1] = {2};
    static const char *const classes[3] = {"cat", "dog", "</script><b>"};
    struct cact_html_batch b[2] = {
        {3, idx0, lab0, {"input_0000.png", 104, 38, 0, 0, 104, 38}, {"output_0000.png", 104, 38, 0, 0, 104, 38}},
        {1, idx1, lab1, {"input_0001.png", 32, 32, 0, 0, 32, 32}, {"output_0001.png", 32, 32, 0, 0, 32, 32}},
    };
    struct cact_act_chain chain = {0};
    struct cact_grid_opts g;
    struct cact_html_kv kv[1] = {{"batch size", "3 & <more>"}};
    struct cact_html_run r;
    struct cact_html_stats stats;
    struct cact_err e;
    char dir[512], path[800];
    size_t len;
    char *page, *js;

    cact_grid_opts_default(&g);
    CHECK(cact_act_parse("leaky_relu(negative_slope=0.25)", &chain.fn[0], &e) == CACT_OK);
    chain.n = 1;
    r = (struct cact_html_run){"leaky <relu>", &chain, &g, classes, 3, kv, 1, "manifest.json", b, 2, NULL, syn_read, b, 0};
    snprintf(dir, sizeof dir, "%s/run", tmp);
    mkdir(dir, 0777);
    CHECK(cact_html_write_run(dir, &r, &stats, &e) == CACT_OK);
    CHECK_EQ_INT(stats.files, 2);
    CHECK(exists(dir, "index.html") && exists(dir, "html/px_0000.js") && !exists(dir, "html/px_0001.js"));
    CHECK(no_temp_files(dir));

    /* Both batches in one pixel file (batches of 3: 170 to a file), their bytes one
     * after the other, each in [n][3][32][32] order. */
    snprintf(path, sizeof path, "%s/html/px_0000.js", dir);
    js = fx_read_text(path, &len);
    CHECK(js && strncmp(js, "cactPx(0,\"", 10) == 0);
    if (js) {
        static uint8_t got[4 * 3072 + 8];
        size_t n = b64_decode(js + 10, got), bad = 0;
        CHECK_EQ_INT(n, 4 * 3072);
        for (size_t i = 0; i < 4; i++)
            for (size_t j = 0; j < 3072; j++)
                bad += got[i * 3072 + j] != syn_px(i < 3 ? idx0[i] : idx1[0], j);
        CHECK_EQ_INT(bad, 0);
        CHECK(strcmp(js + len - 4, "\");\n") == 0);
    }
    free(js);

    snprintf(path, sizeof path, "%s/index.html", dir);
    page = fx_read_text(path, &len);
    CHECK(page != NULL);
    if (page) {
        CHECK(strstr(page, "<title>leaky &lt;relu&gt;</title>") != NULL);
        CHECK(strstr(page, "3 &amp; &lt;more&gt;") != NULL);          /* settings escaped */
        CHECK(strstr(page, "\\u003c/script\\u003e\\u003cb\\u003e") != NULL);      /* JSON cannot end the script */
        CHECK(strstr(page, "</script><b>") == NULL);
        CHECK(strstr(page, "negative_slope=0.25") != NULL);          /* parameter and default */
        CHECK(strstr(page, "(default 0.01)") != NULL);
        CHECK(strstr(page, "x if x &gt; 0 else negative_slope * x") != NULL); /* formula */
        CHECK(strstr(page, "\"idx\":[5,1,9]") != NULL);
        CHECK(strstr(page, "\"lab\":[0,1,2]") != NULL);
        CHECK(strstr(page, "\"px\":true,\"pxg\":170") != NULL);  /* batches per pixel file */
        CHECK(strstr(page, "\"output_0001.png\",32,32,0,0,32,32") != NULL);
        CHECK(strstr(page, "<svg class=\"plot\"") != NULL && strstr(page, "class=\"curve\"") != NULL);
        CHECK(strstr(page, "http://") == NULL || strstr(page, "xmlns=\"http://www.w3.org/2000/svg\"") != NULL);
        CHECK(strstr(page, "https://") == NULL);                      /* nothing from a network */
        CHECK(strstr(page, "image-rendering: pixelated") != NULL);
    }
    free(page);

    /* Inconsistent descriptions: nothing written. */
    snprintf(dir, sizeof dir, "%s/bad", tmp);
    mkdir(dir, 0777);
    int bad_lab[1] = {3};
    b[1].labels = bad_lab;
    CHECK(cact_html_write_run(dir, &r, NULL, &e) == CACT_ERR_USAGE);
    CHECK(strstr(e.msg, "label 3") != NULL);
    CHECK(!exists(dir, "index.html"));
    b[1].labels = lab1;
    b[1].output.w = 33;
    CHECK(cact_html_write_run(dir, &r, NULL, &e) == CACT_ERR_USAGE);
    b[1].output.w = 32;
    /* The reader's failure comes back with its message; no index.html. */
    fail_read = 1;
    CHECK(cact_html_write_run(dir, &r, NULL, &e) == CACT_ERR_IO);
    CHECK(strstr(e.msg, "synthetic read failure") != NULL);
    CHECK(!exists(dir, "index.html"));
    fail_read = 0;
    /* An unwritable place names the path. */
    CHECK(cact_html_write_run("/proc/cifar-act-nope", &r, NULL, &e) == CACT_ERR_IO);
    CHECK(strstr(e.msg, "/proc/cifar-act-nope") != NULL);
}

/* ---- The gallery on the real test set ---- */

static const char *data_dir(void)
{
    static char d[600];
    struct stat sb;
    const char *env = getenv("CIFAR_ACT_DATA");
    if (env && *env) {
        snprintf(d, sizeof d, "%s/cifar-10-batches-bin/test_batch.bin", env);
        if (stat(d, &sb) == 0)
            return env;
    }
    if (stat("data/cifar-10-batches-bin/test_batch.bin", &sb) == 0)
        return "data";
    return check_env("CA_SHARED", "../shared");
}

static uint8_t *load(const char *dir, const char *name, int *w, int *h)
{
    char p[1024];
    int c;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stbi_load(p, w, h, &c, 3);
}

/* Region (x, y, w, h) of a (aw wide) equals all of b (w x h). */
static size_t region_diff(const uint8_t *a, int aw, int x, int y, const uint8_t *b, int w, int h)
{
    size_t bad = 0;
    for (int r = 0; r < h; r++)
        bad += memcmp(a + ((size_t)(y + r) * (size_t)aw + (size_t)x) * 3, b + (size_t)r * (size_t)w * 3,
                      (size_t)w * 3) != 0;
    return bad;
}

static void test_gallery(void)
{
    static const char *specs[4] = {"relu", "sigmoid", "tanh", "gelu(approximate=tanh)"};
    struct cact_act_fn fns[4];
    struct cact_gallery_opts go;
    struct cact_gallery_stats gs;
    struct cact_run_opts ro;
    struct cact_run_stats rs;
    struct cact_err e;
    char gdir[512], rdir[512];
    int pw, ph, w, h;

    for (int i = 0; i < 4; i++)
        CHECK(cact_act_parse(specs[i], &fns[i], &e) == CACT_OK);
    /* Plain; shuffled at batch 3; with make_grid's normalize and scale_each. */
    for (int variant = 0; variant < 3; variant++) {
        int shuffled = variant == 1;
        snprintf(gdir, sizeof gdir, "%s/gallery%d", tmp, variant);
        cact_gallery_opts_default(&go);
        go.data_dir = data_dir();
        go.out_dir = gdir;
        go.fns = fns;
        go.n_fns = 4;
        go.shuffle = shuffled;
        go.seed = 7;
        go.gallery_batch = shuffled ? 3 : 0;
        go.grid.normalize = go.grid.scale_each = variant == 2;
        CHECK(cact_act_parse_normalize("0.5,0.5", &go.base, &e) == CACT_OK);
        CHECK_MSG(cact_gallery_run(&go, &gs, &e) == CACT_OK, "%s", e.msg);
        CHECK_EQ_INT(gs.functions, 4);
        CHECK(exists(gdir, "gallery.png") && exists(gdir, "gallery.html") && exists(gdir, "gallery.json"));
        uint8_t *gal = load(gdir, "gallery.png", &pw, &ph);
        CHECK(gal != NULL && pw == gs.png_w && ph == gs.png_h);
        for (int i = 0; i < 4 && gal; i++) {
            /* The single-function run with the same data options, batch K's grid. */
            snprintf(rdir, sizeof rdir, "%s/single%d_%d", tmp, variant, i);
            cact_run_opts_default(&ro);
            ro.data_dir = go.data_dir;
            ro.out_dir = rdir;
            ro.shuffle = shuffled;
            ro.seed = 7;
            ro.max_batches = go.gallery_batch + 1;
            ro.html = 0;
            ro.grid = go.grid;
            ro.chain = go.base;
            ro.chain.fn[0] = fns[i];
            ro.chain.n = 1;
            ro.force_float = i == 3; /* the float path too: same pixels */
            CHECK_MSG(cact_run_job(&ro, &rs, &e) == CACT_OK, "%s", e.msg);
            char name[64];
            snprintf(name, sizeof name, "output_%04zu.png", go.gallery_batch);
            uint8_t *one = load(rdir, name, &w, &h);
            CHECK(one != NULL);
            if (one) {
                int cell = i + 1, gap = CACT_GALLERY_GAP;
                int x = (cell % CACT_GALLERY_COLS) * (w + gap), y = (cell / CACT_GALLERY_COLS) * (h + gap);
                CHECK_MSG(region_diff(gal, pw, x, y, one, w, h) == 0, "%s card differs from %s", specs[i], name);
            }
            stbi_image_free(one);
            if (i == 0) {
                snprintf(name, sizeof name, "input_%04zu.png", go.gallery_batch);
                one = load(rdir, name, &w, &h);
                CHECK(one && region_diff(gal, pw, 0, 0, one, w, h) == 0);
                stbi_image_free(one);
            }
        }
        stbi_image_free(gal);
    }
    char jpath[600];
    snprintf(jpath, sizeof jpath, "%s/gallery0/gallery.json", tmp);
    char *json = fx_read_text(jpath, NULL);
    CHECK(json && strstr(json, "\"spec\": \"relu\"") && strstr(json, "\"spec\": \"gelu(approximate='tanh')\"") &&
          strstr(json, "\"spec\": \"relu\"") < strstr(json, "\"spec\": \"sigmoid\""));
    free(json);

    /* Every element-wise function by default; channel-wise ones are refused. */
    size_t nd = cact_gallery_default_fns(NULL, 0), elem = 0;
    for (size_t i = 0; i < cact_act_count(); i++)
        elem += cact_act_at(i)->kind == CACT_ACT_KIND_ELEM;
    CHECK(nd >= elem - 1 && nd <= elem); /* threshold has no defaults */
    struct cact_act_fn sm;
    CHECK(cact_act_parse("softmax", &sm, &e) == CACT_OK);
    go.fns = &sm;
    go.n_fns = 1;
    CHECK(cact_gallery_run(&go, NULL, &e) == CACT_ERR_USAGE && strstr(e.msg, "softmax"));
    go.fns = fns;
    go.shuffle = 0;
    go.gallery_batch = 157;
    CHECK_MSG(cact_gallery_run(&go, NULL, &e) == CACT_ERR_USAGE && strstr(e.msg, "0..156"), "%s", e.msg);
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "%s/test_html.XXXXXX", check_env("TMPDIR", "/tmp"));
    if (!mkdtemp(tmp))
        return 2;
    test_hist();
    test_px_files();
    test_px_shards();
    test_run_page();
    test_gallery();
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmp);
    return check_summary("test_html");
}
