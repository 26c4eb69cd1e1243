/* tblog.c - per batch: TensorBoard-style grids as PNG, value histograms, into one
 * event file in step order. */
#include "tblog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cifar.h"
#include "grid.h"
#include "pngw.h"
#include "tfevent.h"

struct cact_tblog {
    struct cact_tfevent_writer *w;
    size_t first, stride;       /* cact_tblog_steps: step first + i * stride is record set i */
    struct cact_act_chain chain;
    int png_level;
    int elementwise;
    struct cact_grid_opts grid; /* add_images: ncols 8, no padding */
    float in_f[CACT_ACT_CHANNELS][256], out_f[CACT_ACT_CHANNELS][256];
    uint8_t in_lut[CACT_ACT_CHANNELS][256], out_lut[CACT_ACT_CHANNELS][256];
};

enum cact_status cact_tblog_open(struct cact_tblog **tp, const char *dir, const char *name,
                                 const struct cact_act_chain *chain, int png_level,
                                 const char *settings_md, struct cact_err *err)
{
    struct cact_tblog *t;
    struct cact_act_chain input_only;
    struct cact_tfevent_pb text = {0};
    enum cact_status st;

    *tp = NULL;
    t = calloc(1, sizeof *t);
    if (!t)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    t->chain = *chain;
    t->stride = 1;
    t->png_level = png_level;
    t->elementwise = cact_act_chain_is_elementwise(chain);
    cact_grid_opts_default(&t->grid);
    t->grid.style = CACT_GRID_TENSORBOARD;
    t->grid.nrow = 8;
    t->grid.padding = 0;
    t->grid.scale = 1;

    /* The input is always a per-channel function of the byte (ToTensor, Normalize). */
    input_only = *chain;
    input_only.n = 0;
    cact_act_chain_lut(&input_only, t->in_f);
    if (t->elementwise)
        cact_act_chain_lut(chain, t->out_f);
    for (int c = 0; c < CACT_ACT_CHANNELS; c++)
        for (int b = 0; b < 256; b++) {
            t->in_lut[c][b] = cact_grid_quantize(CACT_GRID_TENSORBOARD, t->in_f[c][b]);
            t->out_lut[c][b] = cact_grid_quantize(CACT_GRID_TENSORBOARD, t->out_f[c][b]);
        }

    st = name ? cact_tfevent_writer_open_as(&t->w, dir, name, err)
              : cact_tfevent_writer_open(&t->w, dir, err);
    if (st != CACT_OK)
        goto out;
    if (settings_md) {
        st = cact_tfevent_text(&text, cact_tfevent_wall_time(), 0, "settings", settings_md);
        if (st != CACT_OK) {
            cact_fail(err, st, "out of memory");
            goto out;
        }
        st = cact_tfevent_writer_write(t->w, &text, err);
    }
out:
    cact_tfevent_pb_free(&text);
    if (st != CACT_OK) {
        cact_tfevent_writer_close(t->w, NULL);
        free(t);
        return st;
    }
    *tp = t;
    return CACT_OK;
}

const char *cact_tblog_path(const struct cact_tblog *t)
{
    return cact_tfevent_writer_path(t->w);
}

static void tblog_hist_bytes(const uint8_t *px, size_t n, size_t hist[CACT_ACT_CHANNELS][256])
{
    memset(hist, 0, sizeof(size_t) * CACT_ACT_CHANNELS * 256);
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < CACT_ACT_CHANNELS; c++) {
            const uint8_t *p = px + i * CACT_CIFAR_PIXELS + (size_t)c * CACT_CIFAR_PLANE;
            for (size_t j = 0; j < CACT_CIFAR_PLANE; j++)
                hist[c][p[j]]++;
        }
}

static void tblog_histo_table(struct cact_tfevent_histo *h,
                              const size_t hist[CACT_ACT_CHANNELS][256],
                              const float f[CACT_ACT_CHANNELS][256])
{
    cact_tfevent_histo_init(h);
    for (int c = 0; c < CACT_ACT_CHANNELS; c++)
        for (int b = 0; b < 256; b++)
            if (hist[c][b])
                cact_tfevent_histo_add(h, f[c][b], (double)hist[c][b]);
}

/* Encode rgb as PNG and append the image event. */
static enum cact_status tblog_image(struct cact_tblog *t, struct cact_tfevent_pb *recs, size_t step,
                                    const char *tag, const uint8_t *rgb, int w, int h,
                                    struct cact_err *err)
{
    unsigned char *png = NULL;
    size_t len = 0;
    enum cact_status st;

    st = cact_pngw_encode(rgb, w, h, t->png_level, &png, &len, err);
    if (st != CACT_OK)
        return st;
    st = cact_tfevent_image(recs, cact_tfevent_wall_time(), (int64_t)step, tag, w, h, png, len);
    free(png);
    if (st != CACT_OK)
        return cact_fail(err, st, "out of memory");
    return CACT_OK;
}

void cact_tblog_steps(struct cact_tblog *t, size_t first, size_t stride)
{
    t->first = first;
    t->stride = stride ? stride : 1;
}

enum cact_status cact_tblog_batch(struct cact_tblog *t, size_t step, const uint8_t *px,
                                  size_t n, const size_t hist_in[CACT_ACT_CHANNELS][256],
                                  const float *out, struct cact_err *err)
{
    struct cact_tfevent_pb recs = {0};
    struct cact_tfevent_histo *hi = NULL, *ho = NULL;
    size_t(*own)[256] = NULL;
    uint8_t *rgb = NULL;
    enum cact_status st = CACT_OK;
    int w, h;

    if (!t->elementwise && !out)
        return cact_fail(err, CACT_ERR_USAGE, "tblog: this chain needs the output floats");
    cact_grid_size(&t->grid, n, &w, &h);
    rgb = malloc((size_t)w * (size_t)h * 3);
    hi = malloc(sizeof *hi);
    ho = malloc(sizeof *ho);
    if (!hist_in)
        own = malloc(sizeof(size_t[CACT_ACT_CHANNELS][256]));
    if (!rgb || !hi || !ho || (!hist_in && !own)) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!hist_in) {
        tblog_hist_bytes(px, n, own);
        hist_in = (const size_t(*)[256])own;
    }

    /* The same event order as the lesson's loop: input image, output image, then the
     * histograms. */
    cact_grid_render_lut(&t->grid, px, n, (const uint8_t(*)[256])t->in_lut, rgb);
    st = tblog_image(t, &recs, step, "input", rgb, w, h, err);
    if (st != CACT_OK)
        goto out;
    if (t->elementwise)
        cact_grid_render_lut(&t->grid, px, n, (const uint8_t(*)[256])t->out_lut, rgb);
    else
        cact_grid_render(&t->grid, out, n, rgb);
    st = tblog_image(t, &recs, step, "output", rgb, w, h, err);
    if (st != CACT_OK)
        goto out;

    tblog_histo_table(hi, hist_in, (const float(*)[256])t->in_f);
    if (t->elementwise) {
        tblog_histo_table(ho, hist_in, (const float(*)[256])t->out_f);
    } else {
        cact_tfevent_histo_init(ho);
        cact_tfevent_histo_add_floats(ho, out, n * CACT_CIFAR_PIXELS);
    }
    if (cact_tfevent_histo_event(&recs, cact_tfevent_wall_time(), (int64_t)step,
                                 "input/values", hi) != CACT_OK ||
        cact_tfevent_histo_event(&recs, cact_tfevent_wall_time(), (int64_t)step,
                                 "output/values", ho) != CACT_OK) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (step < t->first || (step - t->first) % t->stride) {
        st = cact_fail(err, CACT_ERR_USAGE, "%s: step %zu is not one of this log's",
                       cact_tfevent_writer_path(t->w), step);
        goto out;
    }
    st = cact_tfevent_writer_put(t->w, (step - t->first) / t->stride, &recs, err);
out:
    cact_tfevent_pb_free(&recs);
    free(own);
    free(ho);
    free(hi);
    free(rgb);
    return st;
}

enum cact_status cact_tblog_close(struct cact_tblog *t, struct cact_err *err)
{
    enum cact_status st;

    if (!t)
        return CACT_OK;
    st = cact_tfevent_writer_close(t->w, err);
    free(t);
    return st;
}

char *cact_tblog_settings(char *buf, size_t size, const struct cact_act_chain *chain,
                          size_t batch, const char *extra_rows)
{
    char spec[256];
    size_t len = 0;

#define TBLOG_PUT(...)                                                           \
    do {                                                                         \
        if (len < size) {                                                        \
            int k_ = snprintf(buf + len, size - len, __VA_ARGS__);               \
            len = k_ < 0 ? size : len + (size_t)k_;                              \
        }                                                                        \
    } while (0)

    if (size == 0)
        return buf;
    buf[0] = '\0';
    TBLOG_PUT("| setting | value |\n|---|---|\n| functions | ");
    if (chain->n == 0)
        TBLOG_PUT("none (identity)");
    for (int i = 0; i < chain->n; i++)
        TBLOG_PUT("%s`%s`", i ? " → " : "", cact_act_format(&chain->fn[i], spec, sizeof spec));
    TBLOG_PUT(" |\n| transform | ToTensor()");
    if (chain->normalize)
        TBLOG_PUT(", Normalize(mean=(%g, %g, %g), std=(%g, %g, %g))", chain->mean[0],
                  chain->mean[1], chain->mean[2], chain->std[0], chain->std[1], chain->std[2]);
    TBLOG_PUT(" |\n| normalize | %s |\n| batch size | %zu |\n",
              chain->normalize ? "yes" : "no", batch);
    if (extra_rows)
        TBLOG_PUT("%s", extra_rows);
#undef TBLOG_PUT
    return buf;
}
