/* test_part.c - manifest parts (src/part.c): a written part reads back exactly
 * (settings, run id, the shard's batches with NaN statistics and histograms), and
 * hostile bytes - every truncation, deep nesting, tampered settings, values out of
 * range, escapes the writer never makes - are a CACT_ERR_FORMAT naming the field. */
#define _GNU_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fixture.h"
#include "part.h"

static const char *const classes[3] = {"cat", "d\"og\\", "tab\there"};

int main(void)
{
    struct cact_act_chain chain = {0};
    struct cact_grid_opts grid;
    struct cact_run_batch b[5];
    cact_html_hist hists[5];
    size_t idx[5][4];
    int labels[5][4];
    struct cact_err e;
    char *dir = fx_tmpdir(), path[4200], *settings = NULL, id[17];

    CHECK_EQ_INT(cact_act_parse("leaky_relu(negative_slope=0.2)", &chain.fn[0], &e), CACT_OK);
    CHECK_EQ_INT(cact_act_parse("softmax", &chain.fn[1], &e), CACT_OK);
    chain.n = 2;
    CHECK_EQ_INT(cact_act_parse_normalize("0.1,0.2,0.3,0.4,0.5,0.6", &chain, &e), CACT_OK);
    cact_grid_opts_default(&grid);
    grid.normalize = 1;
    grid.has_value_range = 1;
    grid.value_range[0] = -0.1;
    grid.value_range[1] = 1.0 / 3.0;
    grid.pad_value = 0.3f;
    memset(b, 0, sizeof b);
    for (size_t k = 0; k < 5; k++) {
        b[k].n = k == 4 ? 2 : 4;
        for (size_t i = 0; i < 4; i++) {
            idx[k][i] = 9999 - 4 * k - i;
            labels[k][i] = (int)((k + i) % 3);
        }
        b[k].idx = idx[k];
        b[k].labels = labels[k];
        b[k].in = (struct cact_run_values){-1.0 / 7.0, NAN, 1e300};
        b[k].out = (struct cact_run_values){-INFINITY, 0.5, INFINITY};
        b[k].clip_in = (struct cact_grid_clip){12288, k, 2, 3};
        for (int c = 0; c < 3; c++)
            for (int x = 0; x < 256; x++)
                hists[k][c][x] = (uint64_t)(k * 1000 + (size_t)c * 256 + (size_t)x);
    }
    struct cact_run_info in = {
        .kind = CACT_CIFAR_100, .split = CACT_CIFAR_TRAIN, .label = CACT_CIFAR_LABEL_COARSE,
        .data_dir = "../da\"ta", .data_format = CACT_CIFAR_FORMAT_PYTHON, .n_images = 10000,
        .n_classes = 3, .class_names = classes, .chain = &chain, .batch = 4, .drop_last = 0,
        .shuffle = 1, .seed = UINT64_MAX, .grid = &grid, .layout = CACT_RUN_LAYOUT_PAIRS,
        .png_level = 7, .n_batches = 5, .batches = b};
    struct cact_part_meta m = {1, 2, 3, 1, 1, 0, "/tmp/log dir", ".cifar-act-shard-x.events"};

    /* ---- Round trip ---- */
    snprintf(path, sizeof path, "%s/manifest.part-0001.json", dir);
    CHECK_EQ_INT(cact_part_write(path, &in, &m, (const cact_html_hist *)hists, &e), CACT_OK);
    CHECK_EQ_INT(cact_part_settings(&in, &m, &settings, id, &e), CACT_OK);
    struct cact_part *p = NULL;
    CHECK_EQ_INT(cact_part_read(path, &p, &e), CACT_OK);
    if (!p)
        return check_summary("test_part");
    CHECK(strcmp(p->run, id) == 0);
    CHECK_EQ_INT(p->meta.shard, 1);
    CHECK_EQ_INT(p->meta.shards, 2);
    CHECK_EQ_INT(p->meta.jobs, 3);
    CHECK(p->meta.html && p->meta.html_pixels && !p->meta.use_lut);
    CHECK(strcmp(p->meta.logdir, "/tmp/log dir") == 0);
    CHECK(strcmp(p->meta.event, ".cifar-act-shard-x.events") == 0);
    CHECK_EQ_INT(p->info.kind, CACT_CIFAR_100);
    CHECK_EQ_INT(p->info.split, CACT_CIFAR_TRAIN);
    CHECK_EQ_INT(p->info.label, CACT_CIFAR_LABEL_COARSE);
    CHECK(strcmp(p->info.data_dir, "../da\"ta") == 0);
    CHECK_EQ_INT(p->info.data_format, CACT_CIFAR_FORMAT_PYTHON);
    CHECK_EQ_INT(p->info.n_classes, 3);
    for (int c = 0; c < 3; c++)
        CHECK(strcmp(p->info.class_names[c], classes[c]) == 0);
    CHECK_EQ_INT(p->chain.n, 2);
    CHECK(p->chain.fn[0].desc == chain.fn[0].desc && p->chain.fn[0].p[0] == chain.fn[0].p[0]);
    CHECK(p->chain.normalize && memcmp(p->chain.mean, chain.mean, sizeof chain.mean) == 0 &&
          memcmp(p->chain.std, chain.std, sizeof chain.std) == 0);
    CHECK(p->info.seed == UINT64_MAX && p->info.shuffle && p->info.batch == 4);
    CHECK(p->grid.normalize && p->grid.has_value_range && p->grid.value_range[0] == -0.1 &&
          p->grid.value_range[1] == 1.0 / 3.0 && p->grid.pad_value == 0.3f);
    CHECK_EQ_INT(p->info.layout, CACT_RUN_LAYOUT_PAIRS);
    CHECK_EQ_INT(p->info.png_level, 7);
    CHECK_EQ_INT(p->info.n_batches, 5);
    CHECK_EQ_INT(p->n_mine, 2);
    for (size_t i = 0; i < p->n_mine && i < 2; i++) {
        size_t k = 1 + 2 * i;
        const struct cact_run_batch *r = &p->batches[i];
        CHECK_EQ_INT(p->ks[i], k);
        CHECK_EQ_INT(r->n, b[k].n);
        CHECK(memcmp(r->idx, b[k].idx, r->n * sizeof *r->idx) == 0);
        CHECK(memcmp(r->labels, b[k].labels, r->n * sizeof *r->labels) == 0);
        CHECK(r->in.min == b[k].in.min && isnan(r->in.mean) && r->in.max == 1e300);
        CHECK(isnan(r->out.min) && r->out.mean == 0.5 && isnan(r->out.max)); /* null: NaN */
        CHECK(r->clip_in.below == k && r->clip_in.values == 12288 && r->clip_in.nan == 3);
        CHECK(memcmp(p->hists[i], hists[k], sizeof hists[k]) == 0);
    }
    cact_part_free(p);
    CHECK_EQ_INT(cact_part_name_shard("manifest.part-0003.json"), 3);
    CHECK_EQ_INT(cact_part_name_shard("manifest.part-1023.json"), 1023);
    CHECK_EQ_INT(cact_part_name_shard("manifest.part-.json"), -1);
    CHECK_EQ_INT(cact_part_name_shard("manifest.part-3.json.tmp.1.2"), -1);
    CHECK_EQ_INT(cact_part_name_shard("manifest.json"), -1);

    /* ---- Hostile bytes ---- */
    FILE *f = fopen(path, "rb");
    static char text[1 << 16];
    size_t len = f ? fread(text, 1, sizeof text, f) : 0;
    if (f)
        fclose(f);
    CHECK(len > 100 && len < sizeof text);
    /* Every truncation (but at the trailing newline) fails cleanly, never OK. */
    int bad = 0;
    for (size_t n = 0; n + 1 < len; n++) {
        cact_err_clear(&e);
        if (cact_part_parse(text, n, "t", &p, &e) != CACT_ERR_FORMAT || p || !e.msg[0])
            bad++;
        cact_part_free(p);
    }
    CHECK_MSG(bad == 0, "%d truncations not a format error", bad);
    CHECK_EQ_INT(cact_part_parse(text, len, "t", &p, &e), CACT_OK);
    cact_part_free(p);

    /* One edit each: the status and a word of the message. */
    static const struct { const char *from, *to, *says; } edits[] = {
        {"\"batch_size\": 4", "\"batch_size\": 5", "\"run\""},          /* settings tampered */
        {"\"shard\": 1", "\"shard\": 0", "\"batch\""},                  /* batches of another */
        {"\"of\": 2", "\"of\": 3", "\"of\""},
        {"\"cifar-act-part\": 1", "\"cifar-act-part\": 2", "cifar-act-part"},
        {"\"labels\": [1,2,0,1]", "\"labels\": [1,2,0,3]", "\"labels\""},
        {"\"images\": [9995", "\"images\": [10000", "\"images\""},
        {"\"images\": [9995", "\"images\": [1e999", "\"images\""},
        {"\"images\": [9995", "\"images\": [-1", "\"images\""},
        {"\"images\": [9995", "\"images\": [09995", "bad number"},
        {"\"jobs\": 3", "\"jobs\": \"3\"", "\"jobs\""},
        {"\"jobs\": 3", "\"jobs\": 3.5", "\"jobs\""},
        {"\"event\": \".cifar", "\"event\": \"\\u0000", "escape"},
        {"\"event\": \".cifar", "\"event\": \"\\u00e9", "escape"},
        {"\"event\": \".cifar", "\"event\": \"\\n", "escape"},
        {"\"clip_in\": [12288", "\"clip_in\": [[[[[[[[[12288]]]]]]]]]", "deeply"},
        {"\"jobs\": 3", "\"jobs\": 3 3", "expected"},
        {"\"jobs\": 3", "\"jobs\": tru", "unexpected"},
        {"\"jobs\": 3", "\"jobs\": 11111111111111111111111111111111111111111111111111111111111111111",
         "too long"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        static char t2[1 << 16];
        char *at = strstr(text, edits[i].from);
        CHECK_MSG(at != NULL, "edit %zu: '%s' not in the part", i, edits[i].from);
        if (!at)
            continue;
        size_t pre = (size_t)(at - text), fl = strlen(edits[i].from), tl = strlen(edits[i].to);
        memcpy(t2, text, pre);
        memcpy(t2 + pre, edits[i].to, tl);
        memcpy(t2 + pre + tl, at + fl, len - pre - fl);
        cact_err_clear(&e);
        enum cact_status st = cact_part_parse(t2, len - fl + tl, "edited", &p, &e);
        CHECK_MSG(st == CACT_ERR_FORMAT && !p && strstr(e.msg, edits[i].says) &&
                  strncmp(e.msg, "edited", 6) == 0,
                  "edit %zu (%s): status %d, message '%s'", i, edits[i].to, st, e.msg);
        cact_part_free(p);
    }
    /* Deep nesting at the top, and not a part at all. */
    static char deep[4096];
    memset(deep, '[', 2000);
    CHECK_EQ_INT(cact_part_parse(deep, 2000, "deep", &p, &e), CACT_ERR_FORMAT);
    CHECK_EQ_INT(cact_part_parse("[]", 2, "arr", &p, &e), CACT_ERR_FORMAT);
    CHECK_EQ_INT(cact_part_parse("{}", 2, "obj", &p, &e), CACT_ERR_FORMAT);
    CHECK(strstr(e.msg, "cifar-act-part") != NULL);
    /* Not a regular file. */
    CHECK_EQ_INT(cact_part_read(dir, &p, &e), CACT_ERR_FORMAT);

    unlink(path);
    rmdir(dir);
    free(settings);
    free(dir);
    return check_summary("test_part");
}
