/* test_fidelity.c - our pixels against PyTorch's, on the real CIFAR-10 test set.
 *
 * Goldens: tests/golden/grids.txt from tools/gen_golden_grids.py (format described
 * there). Every record runs the whole job (cact_run_job: loader, kernels, grid, PNG
 * writer), decodes the PNG it wrote with stb_image, and compares:
 *   input  - the input grid must equal torchvision/TensorBoard's pixels exactly;
 *   lut    - element-wise functions: output grid within 1 level of PyTorch's, in at
 *            most 0.01% of values; both through the lookup-table path and the float path;
 *   full   - channel-wise functions (softmax family): the same bound against the
 *            decoded reference PNG.
 *   norm   - (tests/golden/grids_norm.txt) make_grid(normalize=True, value_range,
 *            scale_each), both styles, input and output grids, both paths: the decoded
 *            PNG must hash to torchvision's pixels, 0 values off.
 *
 * Which norm goldens: exact pixels see the last ulp (a sigmoid 1 ulp high turns a
 * TensorBoard pixel 2 into 3 under value_range 0.5..0.75), and PyTorch's scalar CPU
 * kernels differ from its vectorized ones by that much. So with our generic kernels in
 * use (CIFAR_ACT_GENERIC=1, cact_act_kernels_generic(): libm, like PyTorch's scalar
 * path) the norm records come from tests/golden/grids_norm_default.txt (PyTorch under
 * ATEN_CPU_CAPABILITY=default); with any other implementation from grids_norm.txt
 * (PyTorch's AVX2 kernels). Both files have the same cases; the generator writes both.
 */
#include <openssl/evp.h>
#include <stb_image.h>
#include <string.h>
#include <unistd.h>

#include "act.h"
#include "act_kernels.h"
#include "check.h"
#include "cifar.h"
#include "grid.h"
#include "run.h"

static char out_dir[256];
static char golden_dir[512];
static const char *data_dir;

static void sha256_hex(const uint8_t *p, size_t n, char hex[65])
{
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
        sprintf(hex + 2 * i, "%02x", md[i]);
}

static void opts_for(struct cact_run_opts *o, const char *style, const char *norm, const char *spec)
{
    struct cact_err e;
    cact_run_opts_default(o);
    o->data_dir = data_dir;
    o->out_dir = out_dir;
    o->max_batches = 1;
    o->png_level = 1;
    o->grid.style = strcmp(style, "tb") == 0 ? CACT_GRID_TENSORBOARD : CACT_GRID_TORCHVISION;
    if (strcmp(norm, "-") != 0 && cact_act_parse_normalize(norm, &o->chain, &e) != CACT_OK)
        fprintf(stderr, "bad normalize %s: %s\n", norm, e.msg);
    if (spec) {
        /* A golden spec that does not parse fails here by name: run without it, the
         * output of some rows (relu6 on [0, 1]) would match by accident. */
        int ok = cact_act_parse(spec, &o->chain.fn[0], &e) == CACT_OK;
        CHECK_MSG(ok, "golden spec '%s' does not parse: %s", spec, e.msg);
        if (ok)
            o->chain.n = 1;
    }
}

/* Run the job; return the decoded PNG `name` (w*h*3 bytes, caller frees) or NULL. */
static uint8_t *run_and_decode(const struct cact_run_opts *o, const char *name, int *w, int *h)
{
    struct cact_run_stats st;
    struct cact_err e;
    char path[600];
    int comp;
    if (cact_run_job(o, &st, &e) != CACT_OK) {
        fprintf(stderr, "cact_run_job: %s\n", e.msg);
        return NULL;
    }
    snprintf(path, sizeof path, "%s/%s", out_dir, name);
    return stbi_load(path, w, h, &comp, 3);
}

/* Values off by more than 1 level (must be none) and off at all (at most 0.01%). */
static void compare(const char *what, const uint8_t *ours, const uint8_t *ref, size_t n)
{
    size_t off = 0, far = 0;
    for (size_t i = 0; i < n; i++) {
        int d = abs((int)ours[i] - (int)ref[i]);
        off += d != 0;
        far += d > 1;
    }
    CHECK_MSG(far == 0, "%s: %zu values differ by more than 1 level", what, far);
    CHECK_MSG(off * 10000 <= n, "%s: %zu of %zu values differ (more than 0.01%%)", what, off, n);
    if (off)
        printf("%s: %zu of %zu values differ by 1 level\n", what, off, n);
}

static void check_input(const char *style, int batch, int n, int w, int h, const char *sha)
{
    char hex[65], what[128];
    snprintf(what, sizeof what, "input %s batch %d", style, batch);
    if (batch == 0) {
        for (int force_float = 0; force_float < 2; force_float++) {
            struct cact_run_opts o;
            int gw, gh;
            opts_for(&o, style, "-", NULL);
            o.force_float = force_float;
            uint8_t *px = run_and_decode(&o, "input_0000.png", &gw, &gh);
            CHECK_MSG(px && gw == w && gh == h, "%s: no PNG or wrong size", what);
            if (!px)
                continue;
            sha256_hex(px, (size_t)w * h * 3, hex);
            CHECK_MSG(strcmp(hex, sha) == 0, "%s (float path %d): pixels differ", what,
                      force_float);
            stbi_image_free(px);
        }
        return;
    }
    /* Later batches through the library: loader -> ToTensor -> grid. */
    struct cact_cifar_set *s = NULL;
    struct cact_err e;
    struct cact_act_chain chain = {0};
    struct cact_grid_opts g;
    size_t idx[64];
    uint8_t bytes[64 * CACT_CIFAR_PIXELS];
    float x[64 * CACT_CIFAR_PIXELS];
    int labels[64], gw, gh;
    cact_grid_opts_default(&g);
    g.style = strcmp(style, "tb") == 0 ? CACT_GRID_TENSORBOARD : CACT_GRID_TORCHVISION;
    cact_grid_size(&g, (size_t)n, &gw, &gh);
    CHECK_MSG(gw == w && gh == h, "%s: grid %dx%d, golden %dx%d", what, gw, gh, w, h);
    if (cact_cifar_open(&s, data_dir, CACT_CIFAR_10, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, &e) != CACT_OK) {
        CHECK_MSG(0, "%s", e.msg);
        return;
    }
    for (int i = 0; i < n; i++)
        idx[i] = (size_t)batch * 64 + (size_t)i;
    CHECK_EQ_INT(cact_cifar_read(s, idx, (size_t)n, bytes, labels, &e), CACT_OK);
    cact_act_to_tensor(&chain, x, bytes, (size_t)n, CACT_CIFAR_PLANE);
    uint8_t *rgb = malloc((size_t)gw * gh * 3);
    cact_grid_render(&g, x, (size_t)n, rgb);
    sha256_hex(rgb, (size_t)gw * gh * 3, hex);
    CHECK_MSG(strcmp(hex, sha) == 0, "%s: pixels differ", what);
    free(rgb);
    cact_cifar_free(s);
}

/* The reference output grid of batch 0 from PyTorch's per-channel table. */
static uint8_t *lut_reference(const char *style, const char *hex, const char *sha, int *w,
                              int *h)
{
    static uint8_t bytes[64 * CACT_CIFAR_PIXELS];
    static int have_bytes;
    uint8_t lut[3][256];
    struct cact_grid_opts g;
    char got[65];
    if (!have_bytes) {
        struct cact_cifar_set *s = NULL;
        struct cact_err e;
        size_t idx[64];
        int labels[64];
        if (cact_cifar_open(&s, data_dir, CACT_CIFAR_10, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, &e) != CACT_OK)
            return NULL;
        for (int i = 0; i < 64; i++)
            idx[i] = (size_t)i;
        have_bytes = cact_cifar_read(s, idx, 64, bytes, labels, &e) == CACT_OK;
        cact_cifar_free(s);
        if (!have_bytes)
            return NULL;
    }
    if (strlen(hex) != 3 * 256 * 2)
        return NULL;
    for (int i = 0; i < 3 * 256; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return NULL;
        lut[i / 256][i % 256] = (uint8_t)v;
    }
    cact_grid_opts_default(&g);
    g.style = strcmp(style, "tb") == 0 ? CACT_GRID_TENSORBOARD : CACT_GRID_TORCHVISION;
    cact_grid_size(&g, 64, w, h);
    uint8_t *rgb = malloc((size_t)*w * *h * 3);
    cact_grid_render_lut(&g, bytes, 64, (const uint8_t(*)[256])lut, rgb);
    sha256_hex(rgb, (size_t)*w * *h * 3, got);
    if (strcmp(got, sha) != 0) {
        free(rgb);
        return NULL;
    }
    return rgb;
}

static void check_output(const char *what, const char *style, const char *norm,
                         const char *spec, const uint8_t *ref, int w, int h)
{
    char label[300];
    for (int force_float = 0; force_float < 2; force_float++) {
        struct cact_run_opts o;
        int gw, gh;
        opts_for(&o, style, norm, spec);
        o.force_float = force_float;
        uint8_t *px = run_and_decode(&o, "output_0000.png", &gw, &gh);
        snprintf(label, sizeof label, "%s%s", what, force_float ? " (float path)" : "");
        CHECK_MSG(px && gw == w && gh == h, "%s: no PNG or wrong size", label);
        if (px)
            compare(label, px, ref, (size_t)w * h * 3);
        stbi_image_free(px);
    }
}

/* GRIDOPTS of a norm record: "normalize" [+scale_each] [+value_range=LO:HI]. */
static int parse_grid_opts(const char *s, struct cact_grid_opts *g)
{
    const char *r = strstr(s, "value_range=");
    if (strncmp(s, "normalize", 9) != 0)
        return 0;
    g->normalize = 1;
    g->scale_each = strstr(s, "scale_each") != NULL;
    if (r) {
        g->has_value_range = 1;
        if (sscanf(r + 12, "%lf:%lf", &g->value_range[0], &g->value_range[1]) != 2)
            return 0;
    }
    return 1;
}

static void check_norm(char **field)
{
    char what[300], hex[65];
    const char *kind = field[5];
    snprintf(what, sizeof what, "norm %s %s %s %s %s", field[1], field[2], field[3], field[4],
             kind);
    for (int force_float = 0; force_float < 2; force_float++) {
        struct cact_run_opts o;
        char name[32];
        int gw, gh;
        opts_for(&o, field[1], field[2], field[3]);
        o.force_float = force_float;
        if (!parse_grid_opts(field[4], &o.grid)) {
            CHECK_MSG(0, "%s: bad grid options", what);
            return;
        }
        snprintf(name, sizeof name, "%s_0000.png", kind);
        uint8_t *px = run_and_decode(&o, name, &gw, &gh);
        CHECK_MSG(px && gw == atoi(field[8]) && gh == atoi(field[9]),
                  "%s (float path %d): no PNG or wrong size", what, force_float);
        if (!px)
            continue;
        sha256_hex(px, (size_t)gw * gh * 3, hex);
        CHECK_MSG(strcmp(hex, field[11]) == 0, "%s (float path %d): pixels differ", what,
                  force_float);
        if (strcmp(field[10], "-") != 0) {
            char path[700];
            int w, h, comp;
            size_t off = 0;
            snprintf(path, sizeof path, "%s/%s", golden_dir, field[10]);
            uint8_t *ref = stbi_load(path, &w, &h, &comp, 3);
            CHECK_MSG(ref && w == gw && h == gh, "%s: bad golden %s", what, path);
            if (ref && w == gw && h == gh)
                for (size_t i = 0; i < (size_t)w * h * 3; i++)
                    off += px[i] != ref[i];
            CHECK_MSG(off == 0, "%s (float path %d): %zu values differ from %s", what,
                      force_float, off, field[10]);
            stbi_image_free(ref);
        }
        stbi_image_free(px);
    }
}

int main(void)
{
    char path[600], line[8192];
    int records = 0;
    data_dir = check_data_dir();
    if (!data_dir) {
        CHECK_MSG(0, "the real test set was not found (see the line above)");
        return check_summary("test_fidelity");
    }
    snprintf(golden_dir, sizeof golden_dir, "%s/tests/golden", check_env("CA_ROOT", "."));
    snprintf(out_dir, sizeof out_dir, "%s/test_fidelity.XXXXXX", check_env("TMPDIR", "/tmp"));
    if (!mkdtemp(out_dir))
        return 2;
    snprintf(path, sizeof path, "%s/grids.txt", golden_dir);
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    while (f && fgets(line, sizeof line, f)) {
        char *field[12];
        int n = 0;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        for (char *p = line, *t; n < 12 && (t = strsep(&p, "\t")) != NULL;)
            field[n++] = t;
        records++;
        if (strcmp(field[0], "input") == 0 && n >= 7) {
            check_input(field[1], atoi(field[2]), atoi(field[3]), atoi(field[4]),
                        atoi(field[5]), field[6]);
        } else if (strcmp(field[0], "lut") == 0 && n >= 6) {
            char what[300];
            int w, h;
            snprintf(what, sizeof what, "lut %s %s %s", field[1], field[2], field[3]);
            uint8_t *ref = lut_reference(field[1], field[5], field[4], &w, &h);
            CHECK_MSG(ref != NULL, "%s: golden table does not reproduce its grid", what);
            if (ref)
                check_output(what, field[1], field[2], field[3], ref, w, h);
            free(ref);
        } else if (strcmp(field[0], "full") == 0 && n >= 10) {
            char what[300];
            int w, h, comp;
            snprintf(what, sizeof what, "full %s %s %s", field[1], field[2], field[3]);
            snprintf(path, sizeof path, "%s/%s", golden_dir, field[8]);
            uint8_t *ref = stbi_load(path, &w, &h, &comp, 3);
            char hex[65] = "";
            if (ref)
                sha256_hex(ref, (size_t)w * h * 3, hex);
            CHECK_MSG(ref && strcmp(hex, field[9]) == 0, "%s: bad golden %s", what, path);
            if (ref)
                check_output(what, field[1], field[2], field[3], ref, w, h);
            stbi_image_free(ref);
        } else {
            CHECK_MSG(0, "unknown golden record '%s'", field[0]);
        }
    }
    if (f)
        fclose(f);
    /* make_grid's normalize options, from the PyTorch kernels ours follow (see above). */
    snprintf(path, sizeof path, "%s/%s", golden_dir,
             cact_act_kernels_generic() ? "grids_norm_default.txt" : "grids_norm.txt");
    printf("norm goldens: %s (kernels: %s)\n", path, cact_act_kernels_isa());
    f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    int norm_records = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *field[12];
        int n = 0;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = '\0';
        for (char *p = line, *t; n < 12 && (t = strsep(&p, "\t")) != NULL;)
            field[n++] = t;
        CHECK_MSG(n == 12 && strcmp(field[0], "norm") == 0, "bad norm record");
        if (n == 12) {
            check_norm(field);
            norm_records++;
        }
    }
    if (f)
        fclose(f);
    CHECK_MSG(norm_records >= 40, "only %d norm records", norm_records);
    /* Every table row must have a golden entry with default parameters. */
    for (size_t i = 0; i < cact_act_count(); i++) {
        const struct cact_act_desc *d = cact_act_at(i);
        char cmd[700];
        snprintf(cmd, sizeof cmd, "grep -q -P '^(lut|full)\\ttv\\t-\\t%s(\\t|\\()' '%s/grids.txt'",
                 d->name, golden_dir);
        CHECK_MSG(system(cmd) == 0, "no fidelity golden for '%s'", d->name);
    }
    CHECK_MSG(records >= 200, "only %d golden records", records);
    snprintf(path, sizeof path, "rm -rf '%s'", out_dir);
    if (system(path) != 0)
        fprintf(stderr, "could not remove %s\n", out_dir);
    return check_summary("test_fidelity");
}
