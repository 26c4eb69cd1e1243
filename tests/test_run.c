/* test_run.c - the job runner on a small fixture dataset: pairs layout, manifest
 * escaping and contents, zero batches, cancellation, and nothing written on failure. */
#include <stb_image.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "run.h"

static char root[256];

static void write_file(const char *rel, const void *data, size_t len)
{
    check_write_file(root, rel, data, len);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n)
            buf[n] = '\0';
        else {
            free(buf);
            buf = NULL;
        }
    }
    fclose(f);
    return buf;
}

static int count_files(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' 2>/dev/null | wc -l) -eq 0", dir);
    return system(cmd) == 0 ? 0 : 1;
}

static void opts(struct cact_run_opts *o, const char *out)
{
    struct cact_err e;
    cact_run_opts_default(o);
    o->data_dir = root;
    o->out_dir = out;
    o->batch = 4;
    o->jobs = 2;
    cact_act_parse("sigmoid", &o->chain.fn[0], &e);
    o->chain.n = 1;
}

int main(void)
{
    char out[512], path[700];
    struct cact_run_opts o;
    struct cact_run_stats st;
    struct cact_err e;
    uint8_t rec[1 + CACT_CIFAR_PIXELS];

    snprintf(root, sizeof root, "%s/test_run.XXXXXX", check_env("TMPDIR", "/tmp"));
    if (!mkdtemp(root))
        return 2;
    snprintf(path, sizeof path, "%s/cifar-10-batches-bin", root);
    mkdir(path, 0777);
    /* 10 images: image i is a flat grey of level 20*i, label i. */
    FILE *f;
    snprintf(path, sizeof path, "%s/cifar-10-batches-bin/test_batch.bin", root);
    f = fopen(path, "wb");
    for (int i = 0; f && i < 10; i++) {
        rec[0] = (uint8_t)i;
        memset(rec + 1, 20 * i, CACT_CIFAR_PIXELS);
        if (fwrite(rec, 1, sizeof rec, f) != sizeof rec)
            return 2;
    }
    if (!f || fclose(f) != 0)
        return 2;
    /* Class names a JSON writer must escape. */
    static const char meta[] = "a\"quote\nback\\slash\ntab\there\nd\ne\nf\ng\nh\ni\nj\n";
    write_file("cifar-10-batches-bin/batches.meta.txt", meta, strlen(meta));

    /* Separate layout: 3 batches (4, 4, 2), manifest with escaped names and stats. */
    snprintf(out, sizeof out, "%s/out1", root);
    opts(&o, out);
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    CHECK_EQ_INT(st.batches, 3);
    CHECK_EQ_INT(st.images, 10);
    CHECK_EQ_INT(st.files, 6);
    {
        /* png_bytes is what the PNG files on disk add up to. */
        uint64_t sum = 0;
        struct stat sb;
        for (int k = 0; k < 3; k++)
            for (int io = 0; io < 2; io++) {
                snprintf(path, sizeof path, "%s/%s_%04d.png", out, io ? "output" : "input", k);
                if (stat(path, &sb) == 0)
                    sum += (uint64_t)sb.st_size;
            }
        CHECK_MSG(sum > 0 && st.png_bytes == sum, "png_bytes %llu, files %llu",
                  (unsigned long long)st.png_bytes, (unsigned long long)sum);
    }
    snprintf(path, sizeof path, "%s/manifest.json", out);
    char *m = read_all(path);
    CHECK(m != NULL);
    if (m) {
        CHECK(strstr(m, "\"a\\\"quote\"") != NULL);
        CHECK(strstr(m, "\"back\\\\slash\"") != NULL);
        CHECK(strstr(m, "\"tab\\u0009here\"") != NULL);
        CHECK(strstr(m, "\"images\": [8, 9]") != NULL);
        CHECK(strstr(m, "\"labels\": [8, 9]") != NULL);
        /* Batch 0 holds greys 0, 20, 40, 60: ToTensor min 0, max 60/255. */
        CHECK(strstr(m, "\"input_stats\": {\"min\": 0, \"mean\": 0.117647") != NULL);
        CHECK(strstr(m, "\"spec\": \"sigmoid\"") != NULL);
        free(m);
    }

    /* Pairs: input | white gap | output, one file per batch. */
    snprintf(out, sizeof out, "%s/out2", root);
    opts(&o, out);
    o.layout = CACT_RUN_LAYOUT_PAIRS;
    o.max_batches = 1;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_OK);
    CHECK_EQ_INT(st.files, 1);
    snprintf(path, sizeof path, "%s/compare_0000.png", out);
    int w, h, comp;
    uint8_t *px = stbi_load(path, &w, &h, &comp, 3);
    int gw, gh;
    cact_grid_size(&o.grid, 4, &gw, &gh);
    CHECK(px != NULL && w > 2 * gw && h == gh);
    if (px) {
        int gap = w - 2 * gw;
        CHECK(gap >= 4);
        /* The gap is white top to bottom; the image at (2,2) of the first tile is
         * grey 0 on the left (input) and sigmoid(0) = 0.5 -> 128 on the right. */
        int white = 1;
        for (int y = 0; y < h; y++)
            for (int x = gw; x < gw + gap; x++)
                white &= px[3 * (y * w + x)] == 255 && px[3 * (y * w + x) + 2] == 255;
        CHECK(white);
        CHECK_EQ_INT(px[3 * (2 * w + 2)], 0);
        CHECK_EQ_INT(px[3 * (2 * w + gw + gap + 2)], 128);
        /* Padding stays black on both sides. */
        CHECK_EQ_INT(px[0], 0);
        CHECK_EQ_INT(px[3 * (gw + gap)], 0);
        stbi_image_free(px);
    }
    snprintf(path, sizeof path, "%s/input_0000.png", out);
    CHECK(access(path, F_OK) != 0);

    /* No batch at all: an error before anything is written. */
    snprintf(out, sizeof out, "%s/out3", root);
    opts(&o, out);
    o.batch = 64;
    o.drop_last = 1;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_ERR_USAGE);
    CHECK_MSG(strstr(e.msg, "no batch to write: 10 images") != NULL, "%s", e.msg);
    CHECK_EQ_INT(count_files(out), 0);

    /* Cancelled before the first batch: interrupted, no manifest. */
    static volatile sig_atomic_t cancel = 1;
    snprintf(out, sizeof out, "%s/out4", root);
    opts(&o, out);
    o.cancel = &cancel;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_ERR_INTERRUPTED);
    snprintf(path, sizeof path, "%s/manifest.json", out);
    CHECK(access(path, F_OK) != 0);

    /* An output "directory" under a regular file fails, naming it. */
    write_file("plain", "x", 1);
    snprintf(out, sizeof out, "%s/plain/sub", root);
    opts(&o, out);
    CHECK(cact_run_job(&o, &st, &e) == CACT_ERR_IO);
    CHECK_MSG(strstr(e.msg, "plain") != NULL, "%s", e.msg);

    /* Bad options are usage errors. */
    snprintf(out, sizeof out, "%s/out5", root);
    opts(&o, out);
    o.png_level = 10;
    CHECK_EQ_INT(cact_run_job(&o, &st, &e), CACT_ERR_USAGE);

    snprintf(path, sizeof path, "rm -rf '%s'", root);
    if (system(path) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return check_summary("test_run");
}
