/* html.c - index.html and gallery.html: data and SVG computed here, behaviour in the
 * plain JavaScript and CSS of src/html_page.{js,css} (built into html_assets.h). */
#include "html.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "html_assets.h" /* generated: html_page_css[], html_page_js[] (lines, NULL-ended) */

#define HTML_CURVE_POINTS 241

/* ---- A growing string ---- */

struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
};

static void sb_grow(struct sbuf *b, size_t more)
{
    size_t cap;
    char *p;

    if (b->oom || b->len + more < b->cap)
        return;
    cap = b->cap ? b->cap : 1 << 16;
    while (cap <= b->len + more)
        cap *= 2;
    p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return;
    }
    b->p = p;
    b->cap = cap;
}

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
    sb_grow(b, n + 1);
    if (b->oom)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_puts(struct sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    /* Straight into the free space when it fits (nearly always): one formatting pass,
     * not a sizing pass and a second one (the page's numbers were ~5% of a run). */
    if (!b->oom && b->cap - b->len > 1) {
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->p[b->len] = 0; /* undo the truncated attempt */
    }
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    sb_grow(b, (size_t)n + 1);
    if (b->oom)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Decimal digits of v, without printf: the page has tens of thousands of numbers. */
static void sb_uint(struct sbuf *b, uint64_t v)
{
    char d[20];
    int i = (int)sizeof d;

    do
        d[--i] = (char)('0' + v % 10);
    while (v /= 10);
    sb_put(b, d + i, sizeof d - (size_t)i);
}

/* v with dec (0..3) decimals, rounded to nearest (halves away from zero, where %.*f
 * rounds the exact binary value: a last-digit difference an SVG path does not show).
 * Finite |v| < 1e15 only: the histogram paths' coordinates. */
static void sb_fixed(struct sbuf *b, double v, int dec)
{
    static const uint64_t pow10[4] = {1, 10, 100, 1000};
    long long q = llround(v * (double)pow10[dec]);
    uint64_t u;

    if (q < 0)
        sb_put(b, "-", 1);
    u = q < 0 ? (uint64_t)(-q) : (uint64_t)q;
    sb_uint(b, u / pow10[dec]);
    if (dec) {
        char f[4];
        uint64_t r = u % pow10[dec];
        for (int i = dec - 1; i >= 0; i--, r /= 10)
            f[i] = (char)('0' + r % 10);
        sb_put(b, ".", 1);
        sb_put(b, f, (size_t)dec);
    }
}

/* Text for HTML element content and attribute values. */
static void sb_html(struct sbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        case '&': sb_puts(b, "&amp;"); break;
        case '"': sb_puts(b, "&quot;"); break;
        case '\'': sb_puts(b, "&#39;"); break;
        default: sb_put(b, s, 1);
        }
    }
}

/* A JSON string that is also safe inside <script type="application/json">: '<' is
 * escaped, so no "</script>" can end the element early. */
static void sb_json_str(struct sbuf *b, const char *s)
{
    sb_puts(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            sb_printf(b, "\\%c", c);
        else if (c < 0x20 || c == '<' || c == '>' || c == '&')
            sb_printf(b, "\\u%04x", c);
        else
            sb_put(b, s, 1);
    }
    sb_puts(b, "\"");
}

static void sb_json_num(struct sbuf *b, double v)
{
    if (isfinite(v))
        sb_printf(b, "%.9g", v);
    else
        sb_puts(b, "null");
}

static void sb_lines(struct sbuf *b, const char *const *lines)
{
    for (; *lines; lines++)
        sb_puts(b, *lines);
}

/* Pages go through cact_write_atomic (renamed over: always some complete version);
 * the many pixel files through cact_write_new, as the PNGs they sit beside: run.c
 * writes them into OUT's staging directory (outdir.h), where nothing is replaced. */
static enum cact_status sb_write(struct sbuf *b, const char *dir, const char *name,
                                 struct cact_html_stats *stats, struct cact_err *err)
{
    char path[4096];
    enum cact_status st;

    if (b->oom)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory writing %s/%s", dir, name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    st = (strncmp(name, "html/", 5) == 0 ? cact_write_new : cact_write_atomic)(
        path, b->p ? b->p : "", b->len, err);
    if (st == CACT_OK && stats) {
        stats->files++;
        stats->bytes += b->len;
    }
    return st;
}

/* ---- Histograms ---- */

void cact_html_hist_add(cact_html_hist hist, const uint8_t *px, size_t n)
{
    /* Four tallies take turns, so runs of equal bytes (common in images) do not wait
     * on one counter's previous increment (as run.c's run_hist). */
    for (int c = 0; c < CACT_ACT_CHANNELS; c++) {
        uint32_t part[4][256];
        memset(part, 0, sizeof part);
        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = px + i * 3 * 1024 + (size_t)c * 1024;
            for (int j = 0; j < 1024; j += 4) {
                part[0][p[j]]++;
                part[1][p[j + 1]]++;
                part[2][p[j + 2]]++;
                part[3][p[j + 3]]++;
            }
        }
        for (int b = 0; b < 256; b++)
            hist[c][b] += (uint64_t)part[0][b] + part[1][b] + part[2][b] + part[3][b];
    }
}

uint64_t cact_html_bin(const cact_html_hist hist, const float f[CACT_ACT_CHANNELS][256],
                       double lo, double hi, uint64_t out[CACT_HTML_BINS])
{
    uint64_t total = 0;

    memset(out, 0, CACT_HTML_BINS * sizeof *out);
    for (int c = 0; c < CACT_ACT_CHANNELS; c++)
        for (int b = 0; b < 256; b++) {
            double v = f[c][b];
            int i;
            if (!hist[c][b] || !(v >= lo && v <= hi))
                continue;
            i = hi > lo ? (int)((v - lo) / (hi - lo) * CACT_HTML_BINS) : 0;
            if (i >= CACT_HTML_BINS)
                i = CACT_HTML_BINS - 1;
            out[i] += hist[c][b];
            total += hist[c][b];
        }
    return total;
}

/* ---- What the plots show: tables, ranges, the curve ---- */

struct plot {
    int elementwise;
    float in_f[CACT_ACT_CHANNELS][256];   /* ToTensor(+Normalize) of each byte */
    float out_f[CACT_ACT_CHANNELS][256];  /* the chain's output of each byte */
    double x_lo, x_hi;                    /* input values actually used */
    double y_lo, y_hi;                    /* output axis: used values, the curve, [0,1] */
    float cx[HTML_CURVE_POINTS], cy[HTML_CURVE_POINTS];
    uint64_t clip_lo, clip_hi, values;    /* outputs below 0 / above 1 (black / white) */
};

static void plot_widen(double *lo, double *hi)
{
    if (!(*hi > *lo)) {
        *lo -= 0.5;
        *hi += 0.5;
    }
}

/* Fill p from the chain and the byte counts of everything the page covers. */
static void plot_init(struct plot *p, const struct cact_act_chain *chain, const cact_html_hist all)
{
    struct cact_act_chain input_only = *chain;

    memset(p, 0, sizeof *p);
    input_only.n = 0;
    cact_act_chain_lut(&input_only, p->in_f);
    p->elementwise = cact_act_chain_is_elementwise(chain);
    if (p->elementwise)
        cact_act_chain_lut(chain, p->out_f);

    p->x_lo = INFINITY;
    p->x_hi = -INFINITY;
    p->y_lo = 0;
    p->y_hi = 1;
    for (int c = 0; c < CACT_ACT_CHANNELS; c++)
        for (int b = 0; b < 256; b++) {
            if (!all[c][b])
                continue;
            if (p->in_f[c][b] < p->x_lo)
                p->x_lo = p->in_f[c][b];
            if (p->in_f[c][b] > p->x_hi)
                p->x_hi = p->in_f[c][b];
            if (!p->elementwise)
                continue;
            double v = p->out_f[c][b];
            p->values += all[c][b];
            if (v < 0)
                p->clip_lo += all[c][b];
            if (v > 1)
                p->clip_hi += all[c][b];
            if (v < p->y_lo)
                p->y_lo = v;
            if (v > p->y_hi)
                p->y_hi = v;
        }
    if (!isfinite(p->x_lo)) {
        p->x_lo = 0;
        p->x_hi = 1;
    }
    plot_widen(&p->x_lo, &p->x_hi);
    if (!p->elementwise)
        return;
    /* The curve between the used values, through the same kernels. */
    for (int i = 0; i < HTML_CURVE_POINTS; i++)
        p->cx[i] = p->cy[i] = (float)(p->x_lo + (p->x_hi - p->x_lo) * i / (HTML_CURVE_POINTS - 1));
    for (int i = 0; i < chain->n; i++)
        cact_act_apply(&chain->fn[i], p->cy, p->cy, 1, 1, HTML_CURVE_POINTS);
    for (int i = 0; i < HTML_CURVE_POINTS; i++) {
        if (!isfinite(p->cy[i]))
            continue;
        if (p->cy[i] < p->y_lo)
            p->y_lo = p->cy[i];
        if (p->cy[i] > p->y_hi)
            p->y_hi = p->cy[i];
    }
    plot_widen(&p->y_lo, &p->y_hi);
}

/* ---- SVG ---- */

/* Geometry of the plot, in SVG user units: the curve's box, the input histogram under
 * it (same x axis) and the output histogram at its right (same y axis). */
enum { SVG_W = 560, SVG_H = 372, CX0 = 56, CY0 = 12, CW = 360, CH = 250,
       HIN_Y0 = CY0 + CH + 24, HIN_H = 60, HOUT_X0 = CX0 + CW + 16, HOUT_W = 80 };

static double sx(const struct plot *p, double v)
{
    return CX0 + (v - p->x_lo) / (p->x_hi - p->x_lo) * CW;
}

static double sy(const struct plot *p, double v)
{
    return CY0 + CH - (v - p->y_lo) / (p->y_hi - p->y_lo) * CH;
}

/* A histogram as one step path: horizontal (bars up from y = HIN_Y0 + HIN_H across the
 * curve's width) or vertical (bars right from x = HOUT_X0 along the curve's height).
 * Each histogram is scaled to its own peak. */
static void svg_hist_path(struct sbuf *b, const uint64_t bins[CACT_HTML_BINS], int vertical)
{
    uint64_t peak = 0;
    double step = (vertical ? CH : CW) / (double)CACT_HTML_BINS;

    for (int i = 0; i < CACT_HTML_BINS; i++)
        if (bins[i] > peak)
            peak = bins[i];
    if (!peak)
        return;
    /* Two paths per step of the run: numbers by hand, the constant step once. */
    char st[32];
    int stn = snprintf(st, sizeof st, vertical ? "v-%.2f" : "h%.2f", step);
    if (vertical) {
        sb_printf(b, "M%d %d", HOUT_X0, CY0 + CH);
        double prev = 0;
        for (int i = 0; i < CACT_HTML_BINS; i++) {
            double w = (double)bins[i] / (double)peak * HOUT_W;
            sb_put(b, "h", 1);
            sb_fixed(b, w - prev, 1);
            sb_put(b, st, (size_t)stn);
            prev = w;
        }
        sb_put(b, "h", 1);
        sb_fixed(b, -prev, 1);
        sb_put(b, "Z", 1);
    } else {
        sb_printf(b, "M%d %d", CX0, HIN_Y0 + HIN_H);
        double prev = 0;
        for (int i = 0; i < CACT_HTML_BINS; i++) {
            double h = (double)bins[i] / (double)peak * HIN_H;
            sb_put(b, "v", 1);
            sb_fixed(b, prev - h, 1);
            sb_put(b, st, (size_t)stn);
            prev = h;
        }
        sb_put(b, "v", 1);
        sb_fixed(b, prev, 1);
        sb_put(b, "Z", 1);
    }
}

static void svg_text(struct sbuf *b, double x, double y, const char *anchor, const char *cls,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void svg_text(struct sbuf *b, double x, double y, const char *anchor, const char *cls,
                     const char *fmt, ...)
{
    char text[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" class=\"%s\">", x, y, anchor, cls);
    sb_html(b, text);
    sb_puts(b, "</text>");
}

/* The whole plot. in_run/out_run: the whole page's histograms (filled, grey);
 * in_bat/out_bat: the shown batch's (outlined), with ids the script updates, or NULL. */
static void svg_plot(struct sbuf *b, const struct plot *p, const char *id,
                     const uint64_t in_run[CACT_HTML_BINS], const uint64_t out_run[CACT_HTML_BINS],
                     const uint64_t in_bat[CACT_HTML_BINS], const uint64_t out_bat[CACT_HTML_BINS],
                     const char *in_label, const char *out_label)
{
    sb_printf(b, "<svg class=\"plot\" id=\"%s\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
                 "role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">",
              id, SVG_W, SVG_H, SVG_W, SVG_H);
    sb_printf(b, "<rect class=\"box\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>", CX0, CY0, CW, CH);
    /* Axes: the input range (x) and output range (y), with 0 and 1 marked: outside
     * [0,1] the output pixel is clipped to black or white. */
    svg_text(b, CX0, CY0 + CH + 14, "middle", "tick", "%.3g", p->x_lo);
    svg_text(b, CX0 + CW, CY0 + CH + 14, "middle", "tick", "%.3g", p->x_hi);
    if (p->x_lo < 0 && p->x_hi > 0) {
        sb_printf(b, "<line class=\"zero\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>",
                  sx(p, 0), CY0, sx(p, 0), CY0 + CH);
        svg_text(b, sx(p, 0), CY0 + CH + 14, "middle", "tick", "0");
    }
    if (p->elementwise) {
        static const double marks[2] = {0, 1};
        for (int i = 0; i < 2; i++) {
            double y = sy(p, marks[i]);
            sb_printf(b, "<line class=\"clipline\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>",
                      CX0, y, HOUT_X0 + HOUT_W, y);
            svg_text(b, CX0 - 4, y + 4, "end", "tick", "%s", i ? "1 white" : "0 black");
        }
        if (p->y_lo < 0)
            svg_text(b, CX0 - 4, CY0 + CH, "end", "tick", "%.3g", p->y_lo);
        if (p->y_hi > 1)
            svg_text(b, CX0 - 4, CY0 + 10, "end", "tick", "%.3g", p->y_hi);
        sb_printf(b, "<text class=\"axis\" transform=\"translate(12 %d) rotate(-90)\" "
                     "text-anchor=\"middle\">output value</text>", CY0 + CH / 2);
        sb_puts(b, "<polyline class=\"curve\" points=\"");
        for (int i = 0; i < HTML_CURVE_POINTS; i++)
            if (isfinite(p->cy[i]))
                sb_printf(b, "%.1f,%.1f ", sx(p, p->cx[i]), sy(p, p->cy[i]));
        sb_puts(b, "\"/>");
    } else {
        svg_text(b, CX0 + CW / 2.0, CY0 + CH / 2.0, "middle", "axis",
                 "channel-wise chain: an output depends on all three channels, no 1-D curve");
    }
    /* Histograms: whole run filled, the shown batch outlined. */
    sb_puts(b, "<path class=\"hrun\" d=\"");
    svg_hist_path(b, in_run, 0);
    sb_puts(b, "\"/>");
    if (in_bat) {
        sb_printf(b, "<path class=\"hbat\" id=\"%s-hin\" d=\"", id);
        svg_hist_path(b, in_bat, 0);
        sb_puts(b, "\"/>");
    }
    svg_text(b, CX0 + CW / 2.0, HIN_Y0 + HIN_H + 16, "middle", "axis",
             "input values: %s (histograms scaled to their peaks)", in_label);
    if (p->elementwise) {
        sb_puts(b, "<path class=\"hrun\" d=\"");
        svg_hist_path(b, out_run, 1);
        sb_puts(b, "\"/>");
        if (out_bat) {
            sb_printf(b, "<path class=\"hbat\" id=\"%s-hout\" d=\"", id);
            svg_hist_path(b, out_bat, 1);
            sb_puts(b, "\"/>");
        }
        sb_printf(b, "<text class=\"axis\" transform=\"translate(%d %d) rotate(90)\" "
                     "text-anchor=\"middle\">output values</text>",
                  HOUT_X0 + HOUT_W + 10, CY0 + CH / 2);
    }
    if (out_label)
        svg_text(b, HOUT_X0 + HOUT_W / 2.0, HIN_Y0 + 20, "middle", "legend", "%s", out_label);
    sb_puts(b, "</svg>");
}

/* ---- Shared page parts ---- */

static void page_head(struct sbuf *b, const char *title)
{
    sb_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<link rel=\"icon\" href=\"data:,\">\n<title>");
    sb_html(b, title);
    sb_puts(b, "</title>\n<style>\n");
    sb_lines(b, html_page_css);
    sb_puts(b, "</style></head>\n<body>\n");
}

static void page_tail(struct sbuf *b)
{
    sb_puts(b, "<script>\n");
    sb_lines(b, html_page_js);
    sb_puts(b, "</script>\n</body></html>\n");
}

static const char *input_label(const struct cact_act_chain *c, char *buf, size_t size)
{
    if (!c->normalize)
        snprintf(buf, size, "ToTensor: byte / 255");
    else if (c->mean[0] == c->mean[1] && c->mean[1] == c->mean[2] && c->std[0] == c->std[1] &&
             c->std[1] == c->std[2])
        snprintf(buf, size, "(byte / 255 - %g) / %g", c->mean[0], c->std[0]);
    else
        snprintf(buf, size, "(byte / 255 - mean[c]) / std[c]");
    return buf;
}

/* The chain as a table: every function, every parameter (value and PyTorch default),
 * the formula. */
static void page_chain(struct sbuf *b, const struct cact_act_chain *c)
{
    char spec[256];

    sb_puts(b, "<table class=\"chain\"><tr><th>step</th><th>torch.nn</th><th>parameters</th>"
               "<th>formula</th></tr>\n<tr><td>1</td><td>ToTensor</td><td></td><td>x = byte / 255</td></tr>\n");
    if (c->normalize)
        sb_printf(b, "<tr><td>2</td><td>Normalize</td><td>mean=(%g, %g, %g), std=(%g, %g, %g)</td>"
                     "<td>x = (x - mean[c]) / std[c]</td></tr>\n",
                  c->mean[0], c->mean[1], c->mean[2], c->std[0], c->std[1], c->std[2]);
    for (int i = 0; i < c->n; i++) {
        const struct cact_act_fn *fn = &c->fn[i];
        sb_printf(b, "<tr><td>%d</td><td>", i + 2 + c->normalize);
        sb_html(b, fn->desc->torch_module);
        sb_puts(b, " <code>");
        sb_html(b, cact_act_format(fn, spec, sizeof spec));
        sb_puts(b, "</code></td><td>");
        if (!fn->desc->n_params)
            sb_puts(b, "none");
        for (int j = 0; j < fn->desc->n_params; j++) {
            const struct cact_act_param *pa = &fn->desc->params[j];
            char val[64], def[64];
            if (pa->choices) {
                snprintf(val, sizeof val, "'%s'", pa->choices[(int)fn->p[j]]);
                snprintf(def, sizeof def, "'%s'", pa->choices[(int)pa->def]);
            } else {
                snprintf(val, sizeof val, "%g", fn->p[j]);
                if (isnan(pa->def))
                    snprintf(def, sizeof def, "required");
                else
                    snprintf(def, sizeof def, "%g", pa->def);
            }
            sb_printf(b, "%s<code>", j ? "<br>" : "");
            sb_html(b, pa->name);
            sb_printf(b, "=%s</code> <span class=\"def\">(default ", val);
            sb_html(b, def);
            sb_puts(b, ")</span>");
        }
        sb_puts(b, "</td><td><code>");
        sb_html(b, fn->desc->formula);
        sb_puts(b, "</code></td></tr>\n");
    }
    sb_puts(b, "</table>\n");
}

static void page_settings(struct sbuf *b, const struct cact_html_kv *kv, size_t n)
{
    sb_puts(b, "<table class=\"kv\">\n");
    for (size_t i = 0; i < n; i++) {
        sb_puts(b, "<tr><th>");
        sb_html(b, kv[i].key);
        sb_puts(b, "</th><td>");
        sb_html(b, kv[i].value);
        sb_puts(b, "</td></tr>\n");
    }
    sb_puts(b, "</table>\n");
}

static void json_image(struct sbuf *b, const struct cact_html_image *im)
{
    sb_puts(b, "[");
    sb_json_str(b, im->file);
    sb_printf(b, ",%d,%d,%d,%d,%d,%d]", im->file_w, im->file_h, im->x, im->y, im->w, im->h);
}

static void json_table(struct sbuf *b, const float t[CACT_ACT_CHANNELS][256])
{
    sb_puts(b, "[");
    for (int c = 0; c < CACT_ACT_CHANNELS; c++) {
        sb_puts(b, c ? "],[" : "[");
        for (int i = 0; i < 256; i++) {
            if (i)
                sb_puts(b, ",");
            sb_json_num(b, t[c][i]);
        }
    }
    sb_puts(b, "]]");
}

/* The data every page's script starts from: grid geometry, class names, tables. */
static void json_common(struct sbuf *b, const char *kind, const struct cact_grid_opts *g,
                        const char *const *classes, int n_classes, const struct plot *p)
{
    sb_printf(b, "\"kind\":\"%s\",\"grid\":{\"style\":\"%s\",\"nrow\":%d,\"padding\":%d,\"scale\":%d},",
              kind, g->style == CACT_GRID_TENSORBOARD ? "tensorboard" : "torchvision", g->nrow,
              g->style == CACT_GRID_TENSORBOARD ? 0 : g->padding, g->scale);
    sb_puts(b, "\"classes\":[");
    for (int i = 0; i < n_classes; i++) {
        if (i)
            sb_puts(b, ",");
        sb_json_str(b, classes[i]);
    }
    sb_puts(b, "],\"inv\":");
    json_table(b, p->in_f);
    if (p->elementwise && g->normalize) {
        /* --grid-normalize: the pixel depends on each batch's (or image's) range. */
        sb_puts(b, ",\"lut\":");
        json_table(b, p->out_f);
        sb_puts(b, ",\"q\":null");
    } else if (p->elementwise) {
        sb_puts(b, ",\"lut\":");
        json_table(b, p->out_f);
        sb_puts(b, ",\"q\":[");
        for (int c = 0; c < CACT_ACT_CHANNELS; c++) {
            sb_puts(b, c ? "],[" : "[");
            for (int i = 0; i < 256; i++)
                sb_printf(b, "%s%u", i ? "," : "", cact_grid_quantize(g->style, p->out_f[c][i]));
        }
        sb_puts(b, "]]");
    } else {
        sb_puts(b, ",\"lut\":null,\"q\":null");
    }
}

static enum cact_status check_image(const struct cact_html_image *im, const char *what,
                                    struct cact_err *err)
{
    if (!im->file || !*im->file || strchr(im->file, '"') || im->w < 1 || im->h < 1 ||
        im->x < 0 || im->y < 0 || im->x + im->w > im->file_w || im->y + im->h > im->file_h)
        return cact_fail(err, CACT_ERR_USAGE, "html: %s image region is not inside its file", what);
    return CACT_OK;
}

static enum cact_status check_labels(const int *labels, size_t n, int n_classes,
                                     struct cact_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= n_classes)
            return cact_fail(err, CACT_ERR_USAGE, "html: label %d out of range 0..%d",
                             labels[i], n_classes - 1);
    return CACT_OK;
}

/* ---- Pixel data files ---- */

static const char b64_tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static char b64_pair[4096][2]; /* two characters per 12 bits: half the lookups */
static pthread_once_t b64_once = PTHREAD_ONCE_INIT;

static void b64_init(void)
{
    for (int i = 0; i < 4096; i++) {
        b64_pair[i][0] = b64_tab[i >> 6];
        b64_pair[i][1] = b64_tab[i & 63];
    }
}

/* base64 of n bytes (a multiple of 3: no padding) into o, 4 * n / 3 characters. Six
 * bytes per turn as one big-endian load: four 12-bit table lookups, one 8-byte store. */
static void b64_encode(char *o, const uint8_t *p, size_t n)
{
    size_t i = 0;

    pthread_once(&b64_once, b64_init);
    for (; i + 8 <= n; i += 6, o += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8); /* two bytes past the six: i + 8 <= n */
        v = __builtin_bswap64(v) >> 16;
        memcpy(o, b64_pair[v >> 36], 2);
        memcpy(o + 2, b64_pair[v >> 24 & 4095], 2);
        memcpy(o + 4, b64_pair[v >> 12 & 4095], 2);
        memcpy(o + 6, b64_pair[v & 4095], 2);
    }
    for (; i + 3 <= n; i += 3, o += 4) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        memcpy(o, b64_pair[v >> 12], 2);
        memcpy(o + 2, b64_pair[v & 4095], 2);
    }
}

/* ---- Pixel data files: several batches to a file ---- */

/* One file being filled: its text, allocated for a group of full batches, and how many
 * of its batches are still to come. */
struct px_file {
    char *text;
    size_t head, len, missing;
};

struct cact_html_px {
    char dir[4096];
    size_t n_batches, batch, per_file, n_files, cap;
    pthread_mutex_t lock;
    struct px_file *files; /* [n_files] */
    /* Texts of written files, for the next ones: a run touches a few files' worth of
     * fresh memory, not 40 MB (page faults were most of the pixel files' system time).
     * A shard's writer keeps its batch buffers here the same way. */
    char **spare;          /* [n_files], a shard's: [its batches] */
    size_t n_spare;
    /* A shard's writer (shards != 0): its one file, open for pwrite. */
    size_t shard, shards;
    int fd;
    char path[4200];
};

size_t cact_html_px_per_file(size_t batch)
{
    size_t bytes = (batch ? batch : 1) * CACT_HTML_PX_IMAGE;
    return bytes >= CACT_HTML_PX_FILE_BYTES ? 1 : CACT_HTML_PX_FILE_BYTES / bytes;
}

size_t cact_html_px_files(size_t n_batches, size_t batch)
{
    size_t g = cact_html_px_per_file(batch);
    return n_batches / g + (n_batches % g != 0);
}

void cact_html_px_name(char *buf, size_t size, size_t f)
{
    snprintf(buf, size, "html/px_%04zu.js", f);
}

#define PX_SHARD_PREFIX "html/pxshard_"
#define PX_SHARD_SUFFIX ".b64"

void cact_html_px_shard_name(char *buf, size_t size, size_t shard)
{
    snprintf(buf, size, PX_SHARD_PREFIX "%04zu" PX_SHARD_SUFFIX, shard);
}

long cact_html_px_name_shard(const char *name)
{
    size_t pl = strlen(PX_SHARD_PREFIX), sl = strlen(PX_SHARD_SUFFIX);
    const char *d = name + pl;
    long k = 0;

    if (strncmp(name, PX_SHARD_PREFIX, pl) != 0 || !(*d >= '0' && *d <= '9'))
        return -1;
    for (; *d >= '0' && *d <= '9'; d++)
        if ((k = k * 10 + (*d - '0')) > 1L << 30)
            return -1;
    if (strncmp(d, PX_SHARD_SUFFIX, sl) != 0 || (d[sl] && strncmp(d + sl, ".tmp.", 5) != 0))
        return -1;
    return k;
}

/* Images of batch k in a run of n_batches batches of batch images, the last last_n. */
static size_t px_batch_n(size_t k, size_t n_batches, size_t batch, size_t last_n)
{
    return k + 1 == n_batches ? last_n : batch;
}

enum cact_status cact_html_px_open(struct cact_html_px **wp, const char *dir, size_t n_batches,
                                   size_t batch, struct cact_err *err)
{
    struct cact_html_px *w;
    enum cact_status st;
    char sub[4200];

    *wp = NULL;
    if (!n_batches || !batch)
        return cact_fail(err, CACT_ERR_USAGE, "html: no batch for the pixel files");
    if (snprintf(sub, sizeof sub, "%s/html", dir) >= (int)sizeof sub - 32)
        return cact_fail(err, CACT_ERR_IO, "path too long: %s/html", dir);
    if ((st = cact_mkdirs(sub, err)) != CACT_OK)
        return st;
    w = calloc(1, sizeof *w);
    if (!w)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    snprintf(w->dir, sizeof w->dir, "%s", dir);
    w->n_batches = n_batches;
    w->batch = batch;
    w->per_file = cact_html_px_per_file(batch);
    w->n_files = cact_html_px_files(n_batches, batch);
    w->cap = 32 + w->per_file * batch * CACT_HTML_PX_IMAGE + 8;
    w->files = calloc(w->n_files, sizeof *w->files);
    w->spare = calloc(w->n_files, sizeof *w->spare);
    if (!w->files || !w->spare) {
        free(w->files);
        free(w->spare);
        free(w);
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory for %zu pixel files", n_batches);
    }
    for (size_t f = 0; f < w->n_files; f++) {
        size_t first = f * w->per_file;
        w->files[f].missing = n_batches - first < w->per_file ? n_batches - first : w->per_file;
    }
    w->fd = -1;
    pthread_mutex_init(&w->lock, NULL);
    *wp = w;
    return CACT_OK;
}

enum cact_status cact_html_px_open_shard(struct cact_html_px **wp, const char *dir,
                                         size_t n_batches, size_t batch, size_t shard,
                                         size_t shards, struct cact_err *err)
{
    struct cact_html_px *w;
    char name[64], sub[4200];
    size_t mine;
    enum cact_status st;

    *wp = NULL;
    if (!n_batches || !batch || shard >= shards)
        return cact_fail(err, CACT_ERR_USAGE, "html: no batch for the pixel files, or shard %zu "
                                              "of %zu", shard, shards);
    if (snprintf(sub, sizeof sub, "%s/html", dir) >= (int)sizeof sub - 32)
        return cact_fail(err, CACT_ERR_IO, "path too long: %s/html", dir);
    if ((st = cact_mkdirs(sub, err)) != CACT_OK)
        return st;
    mine = n_batches > shard ? (n_batches - shard - 1) / shards + 1 : 0;
    w = calloc(1, sizeof *w);
    if (!w || !(w->spare = calloc(mine ? mine : 1, sizeof *w->spare))) {
        free(w);
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    }
    snprintf(w->dir, sizeof w->dir, "%s", dir);
    w->n_batches = n_batches;
    w->batch = batch;
    w->cap = batch * CACT_HTML_PX_IMAGE;
    w->shard = shard;
    w->shards = shards;
    cact_html_px_shard_name(name, sizeof name, shard);
    snprintf(w->path, sizeof w->path, "%s/%s", dir, name);
    w->fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (w->fd < 0) {
        st = cact_fail(err, CACT_ERR_IO, "cannot create %s: %s", w->path, strerror(errno));
        free(w->spare);
        free(w);
        return st;
    }
    pthread_mutex_init(&w->lock, NULL);
    *wp = w;
    return CACT_OK;
}

/* A shard's batch k: encoded into a buffer of its own, written at its place in the
 * shard's file (every batch before it, of this shard, is full). */
static enum cact_status px_add_shard(struct cact_html_px *w, size_t k, const uint8_t *px,
                                     size_t n, struct cact_err *err)
{
    char *text;
    off_t off = (off_t)(k / w->shards) * (off_t)w->cap;
    enum cact_status st;

    if (k % w->shards != w->shard)
        return cact_fail(err, CACT_ERR_USAGE, "html: batch %zu is not shard %zu of %zu's", k,
                         w->shard, w->shards);
    pthread_mutex_lock(&w->lock);
    text = w->n_spare ? w->spare[--w->n_spare] : malloc(w->cap);
    pthread_mutex_unlock(&w->lock);
    if (!text)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory for %s", w->path);
    b64_encode(text, px, n * 3 * 1024);
    st = cact_write_all(w->fd, text, n * CACT_HTML_PX_IMAGE, off, w->path, err);
    pthread_mutex_lock(&w->lock);
    w->spare[w->n_spare++] = text; /* at most one per batch of the shard: room for all */
    pthread_mutex_unlock(&w->lock);
    return st;
}

enum cact_status cact_html_px_add(struct cact_html_px *w, size_t k, const uint8_t *px, size_t n,
                                  struct cact_err *err)
{
    struct px_file *pf;
    size_t f, first, off, end;
    char *text;
    enum cact_status st = CACT_OK;

    if (k >= w->n_batches || !n || n > w->batch || (n < w->batch && k + 1 < w->n_batches))
        return cact_fail(err, CACT_ERR_USAGE,
                         "html: batch %zu of %zu images for the pixel files (batches of %zu, "
                         "only the last of %zu may be short)", k, n, w->batch, w->n_batches);
    if (w->shards)
        return px_add_shard(w, k, px, n, err);
    f = k / w->per_file;
    first = f * w->per_file;
    pf = &w->files[f];
    pthread_mutex_lock(&w->lock);
    if (!pf->text) { /* the first of its batches to arrive takes the file's text */
        pf->text = w->n_spare ? w->spare[--w->n_spare] : malloc(w->cap);
        if (pf->text)
            pf->head = pf->len = (size_t)snprintf(pf->text, 32, "cactPx(%zu,\"", f);
    }
    text = pf->text;
    pthread_mutex_unlock(&w->lock);
    if (!text)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory for pixel file %zu", f);

    /* Every batch before k in this file is full: k's place is known without them. */
    off = pf->head + (k - first) * w->batch * CACT_HTML_PX_IMAGE;
    b64_encode(text + off, px, n * 3 * 1024);
    end = off + n * CACT_HTML_PX_IMAGE;

    pthread_mutex_lock(&w->lock);
    if (end > pf->len)
        pf->len = end;
    int last = --pf->missing == 0;
    pthread_mutex_unlock(&w->lock);
    if (last) { /* the others are done with the text: it is this thread's alone */
        char path[4200], name[64];
        memcpy(text + pf->len, "\");\n", 4);
        cact_html_px_name(name, sizeof name, f);
        snprintf(path, sizeof path, "%s/%s", w->dir, name);
        st = cact_write_new(path, text, pf->len + 4, err);
        pthread_mutex_lock(&w->lock);
        w->spare[w->n_spare++] = pf->text;
        pf->text = NULL;
        pthread_mutex_unlock(&w->lock);
    }
    return st;
}

void cact_html_px_free(struct cact_html_px *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        (void)close(w->fd); /* written with pwrite: nothing buffered to lose */
    for (size_t f = 0; f < w->n_files; f++)
        free(w->files[f].text);
    for (size_t i = 0; i < w->n_spare; i++)
        free(w->spare[i]);
    free(w->spare);
    free(w->files);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

/* 1 if the n characters at s are all of base64's alphabet (no '=': no padding here).
 * Written as comparisons, not a table, so that GCC vectorizes it. */
static int px_is_b64(const char *s, size_t n)
{
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bad |= !((unsigned char)((c | 0x20) - 'a') < 26 || (unsigned char)(c - '0') < 10 ||
                 c == '+' || c == '/');
    }
    return !bad;
}

enum cact_status cact_html_px_merge(const char *dir, size_t n_batches, size_t batch,
                                    size_t last_n, size_t shards, struct cact_err *err)
{
    size_t g = cact_html_px_per_file(batch), n_files = cact_html_px_files(n_batches, batch);
    size_t cap = 32 + g * batch * CACT_HTML_PX_IMAGE + 8;
    int *fd = NULL;
    char *text = NULL, name[64], path[4200];
    enum cact_status st = CACT_OK;

    if (!n_batches || !batch || !last_n || last_n > batch || !shards)
        return cact_fail(err, CACT_ERR_USAGE, "html: no batch or shard to merge pixel files of");
    fd = malloc(shards * sizeof *fd);
    for (size_t j = 0; fd && j < shards; j++)
        fd[j] = -1;
    text = malloc(cap);
    if (!fd || !text) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* Every shard file whole before anything is written: its size is what its batches
     * give, so a part of another run, or a file cut short, is never pasted in. */
    for (size_t j = 0; j < shards; j++) {
        struct stat sb;
        size_t want = 0;
        for (size_t k = j; k < n_batches; k += shards)
            want += px_batch_n(k, n_batches, batch, last_n) * CACT_HTML_PX_IMAGE;
        cact_html_px_shard_name(name, sizeof name, j);
        if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
            st = cact_fail(err, CACT_ERR_IO, "path too long: %s/%s", dir, name);
            goto out;
        }
        if ((st = cact_open_regular(path, &fd[j], &sb, err)) != CACT_OK)
            goto out;
        if ((uint64_t)sb.st_size != (uint64_t)want) {
            st = cact_fail(err, CACT_ERR_FORMAT, "%s: %lld bytes, but shard %zu of %zu's batches "
                           "make %zu", path, (long long)sb.st_size, j, shards, want);
            goto out;
        }
    }
    for (size_t f = 0; f < n_files && st == CACT_OK; f++) {
        size_t len = (size_t)snprintf(text, 32, "cactPx(%zu,\"", f);
        for (size_t k = f * g; k < (f + 1) * g && k < n_batches; k++) {
            size_t n = px_batch_n(k, n_batches, batch, last_n) * CACT_HTML_PX_IMAGE;
            off_t off = (off_t)(k / shards) * (off_t)(batch * CACT_HTML_PX_IMAGE);
            cact_html_px_shard_name(name, sizeof name, k % shards);
            snprintf(path, sizeof path, "%s/%s", dir, name); /* fits: checked above */
            if ((st = cact_pread_all(fd[k % shards], text + len, n, off, path, err)) != CACT_OK)
                goto out;
            /* The bytes go into a script: anything but base64 (a file someone else put
             * there) could end the string and run, so it is refused. */
            if (!px_is_b64(text + len, n)) {
                st = cact_fail(err, CACT_ERR_FORMAT, "%s: not base64 (batch %zu)", path, k);
                goto out;
            }
            len += n;
        }
        memcpy(text + len, "\");\n", 4);
        cact_html_px_name(name, sizeof name, f);
        snprintf(path, sizeof path, "%s/%s", dir, name);
        st = cact_write_atomic(path, text, len + 4, err);
    }
out:
    for (size_t j = 0; fd && j < shards; j++)
        if (fd[j] >= 0)
            (void)close(fd[j]);
    free(fd);
    free(text);
    return st;
}

/* ---- index.html ---- */

enum cact_status cact_html_write_run(const char *dir, const struct cact_html_run *r,
                                     struct cact_html_stats *stats, struct cact_err *err)
{
    struct sbuf b = {0};
    cact_html_hist *hist = NULL, all;
    const cact_html_hist *hists = r->hists;
    uint8_t *px = NULL;
    struct cact_html_px *pxw = NULL;
    size_t max_n = 0;
    struct plot *p = NULL;
    uint64_t bins_in[CACT_HTML_BINS], bins_out[CACT_HTML_BINS];
    enum cact_status st = CACT_OK;
    char label[128];

    if (stats)
        memset(stats, 0, sizeof *stats);
    if (!r->n_batches || !r->batches || (!r->read && !r->hists) || !r->chain || !r->grid)
        return cact_fail(err, CACT_ERR_USAGE, "html: nothing to show (no batch)");
    for (size_t k = 0; k < r->n_batches; k++) {
        const struct cact_html_batch *bt = &r->batches[k];
        if (!bt->n)
            return cact_fail(err, CACT_ERR_USAGE, "html: batch %zu has no image", k);
        if ((st = check_image(&bt->input, "input", err)) != CACT_OK ||
            (st = check_image(&bt->output, "output", err)) != CACT_OK ||
            (st = check_labels(bt->labels, bt->n, r->n_classes, err)) != CACT_OK)
            return st;
        if (bt->n > max_n)
            max_n = bt->n;
    }

    p = malloc(sizeof *p);
    if (!p) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (!hists) {
        /* Per batch: its bytes once, for the histogram and the pixel files. */
        hist = calloc(r->n_batches, sizeof *hist);
        px = malloc(max_n * 3 * 1024);
        if (!hist || !px) {
            st = cact_fail(err, CACT_ERR_NOMEM, "out of memory for %zu batches", r->n_batches);
            goto out;
        }
        if ((st = cact_html_px_open(&pxw, dir, r->n_batches, r->batches[0].n, err)) != CACT_OK)
            goto out;
        for (size_t k = 0; k < r->n_batches; k++) {
            if ((st = r->read(r->read_ctx, k, px, err)) != CACT_OK ||
                (st = cact_html_px_add(pxw, k, px, r->batches[k].n, err)) != CACT_OK)
                goto out;
            cact_html_hist_add(hist[k], px, r->batches[k].n);
        }
        if (stats)
            stats->files += cact_html_px_files(r->n_batches, r->batches[0].n);
        hists = (const cact_html_hist *)hist;
    }
    memset(all, 0, sizeof all);
    for (size_t k = 0; k < r->n_batches; k++)
        for (int c = 0; c < CACT_ACT_CHANNELS; c++)
            for (int v = 0; v < 256; v++)
                all[c][v] += hists[k][c][v];
    plot_init(p, r->chain, (const uint64_t(*)[256])all);

    page_head(&b, r->title);
    sb_puts(&b, "<header><h1>");
    sb_html(&b, r->title);
    sb_printf(&b, "</h1><p class=\"sub\">%zu steps, every one of them; ", r->n_batches);
    sb_puts(&b, "keys: &larr; &rarr; Home End; hover or tap a tile</p></header>\n");
    sb_printf(&b,
              "<nav class=\"bar\" id=\"bar\">"
              "<button id=\"first\" title=\"first step (Home)\">&laquo; first</button>"
              "<button id=\"prev\" title=\"previous step (&larr;)\">&lsaquo; prev</button>"
              "<input id=\"slider\" type=\"range\" min=\"0\" max=\"%zu\" value=\"0\" aria-label=\"step\">"
              "<button id=\"next\" title=\"next step (&rarr;)\">next &rsaquo;</button>"
              "<button id=\"last\" title=\"last step (End)\">last &raquo;</button>"
              "<label>step <input id=\"step\" type=\"number\" min=\"0\" max=\"%zu\" value=\"0\"> / %zu</label>"
              "<label>zoom <select id=\"zoom\"><option value=\"0\">actual size</option>"
              "<option value=\"1\">1&times;</option><option value=\"2\" selected>2&times;</option>"
              "<option value=\"3\">3&times;</option><option value=\"4\">4&times;</option>"
              "<option value=\"5\">5&times;</option><option value=\"6\">6&times;</option>"
              "<option value=\"7\">7&times;</option><option value=\"8\">8&times;</option></select></label>"
              "<label>find image <input id=\"find\" type=\"number\" min=\"0\" placeholder=\"dataset index\"></label>"
              "<span id=\"findmsg\"></span></nav>\n",
              r->n_batches - 1, r->n_batches - 1, r->n_batches - 1);
    sb_puts(&b,
            "<main class=\"view\">"
            "<figure class=\"panel\"><figcaption>input <a id=\"in-link\" href=\"#\"></a></figcaption>"
            "<div class=\"clip\" id=\"in-clip\"><img id=\"in-img\" alt=\"input grid\"><div class=\"mark\"></div></div></figure>"
            "<figure class=\"panel\"><figcaption>output <a id=\"out-link\" href=\"#\"></a></figcaption>"
            "<div class=\"clip\" id=\"out-clip\"><img id=\"out-img\" alt=\"output grid\"><div class=\"mark\"></div></div></figure>"
            "<figure class=\"panel\"><figcaption>compare: input "
            "<input id=\"blend\" type=\"range\" min=\"0\" max=\"100\" value=\"100\" aria-label=\"blend\"> output "
            "<label><input id=\"flicker\" type=\"checkbox\"> flicker</label></figcaption>"
            "<div class=\"clip\" id=\"bl-clip\"><img id=\"bl-in\" alt=\"input grid\"><img id=\"bl-out\" class=\"over\" alt=\"output grid\">"
            "<div class=\"mark\"></div></div></figure>\n"
            "<section class=\"detail\" id=\"detail\"><div id=\"tile-info\">Hover or tap a tile.</div>"
            "<div class=\"enl\"><div class=\"clip\" id=\"enl-in\"><img alt=\"input image\"><div class=\"cross\"></div></div>"
            "<div class=\"clip\" id=\"enl-out\"><img alt=\"output image\"><div class=\"cross\"></div></div></div>"
            "<div id=\"pixel-info\"></div></section>"
            "</main>\n");

    sb_puts(&b, "<section class=\"why\"><h2>Why the images look that way</h2>"
                "<p>The chain over the input range this run used, with the input values under it and the "
                "output values at its right: grey for the whole run, outlined for step <span id=\"why-step\">0</span>.</p>\n");
    cact_html_bin((const uint64_t(*)[256])all, (const float(*)[256])p->in_f, p->x_lo, p->x_hi, bins_in);
    cact_html_bin((const uint64_t(*)[256])all, (const float(*)[256])p->out_f, p->y_lo, p->y_hi, bins_out);
    svg_plot(&b, p, "plot", bins_in, bins_out, bins_in, bins_out,
             input_label(r->chain, label, sizeof label), NULL);
    sb_puts(&b, "</section>\n<section class=\"settings\"><h2>Settings</h2>\n");
    page_chain(&b, r->chain);
    page_settings(&b, r->settings, r->n_settings);
    if (p->elementwise && p->values && !r->grid->normalize)
        sb_printf(&b, "<p>Clipped by the PNG's 0..255 range: %.4f%% of output values below 0 "
                      "(black), %.4f%% above 1 (white).</p>\n",
                  100.0 * (double)p->clip_lo / (double)p->values,
                  100.0 * (double)p->clip_hi / (double)p->values);
    sb_puts(&b, "<p>Files: ");
    if (r->manifest) {
        sb_puts(&b, "<a id=\"manifest-link\" href=\"");
        sb_html(&b, r->manifest);
        sb_puts(&b, "\">");
        sb_html(&b, r->manifest);
        sb_puts(&b, "</a>; ");
    }
    sb_puts(&b, "this step's PNGs are linked above the grids; every step:</p>\n<p class=\"files\">");
    for (size_t k = 0; k < r->n_batches; k++) {
        const struct cact_html_batch *bt = &r->batches[k];
        sb_puts(&b, "<a href=\"");
        sb_html(&b, bt->input.file);
        sb_printf(&b, "\">%zu</a>", k);
        if (strcmp(bt->output.file, bt->input.file)) {
            sb_puts(&b, "/<a href=\"");
            sb_html(&b, bt->output.file);
            sb_puts(&b, "\">out</a>");
        }
        sb_puts(&b, " ");
    }
    sb_puts(&b, "</p></section>\n");

    /* The data, as JSON the script parses. */
    sb_puts(&b, "<script type=\"application/json\" id=\"cact-data\">{");
    json_common(&b, "run", r->grid, r->class_names, r->n_classes, p);
    sb_printf(&b, ",\"px\":%s,\"pxg\":%zu", r->hists && r->no_pixels ? "false" : "true",
              cact_html_px_per_file(r->batches[0].n));
    sb_puts(&b, ",\"b\":[");
    for (size_t k = 0; k < r->n_batches; k++) {
        const struct cact_html_batch *bt = &r->batches[k];
        uint64_t bi[CACT_HTML_BINS], bo[CACT_HTML_BINS];
        sb_printf(&b, "%s\n{\"n\":%zu,\"idx\":[", k ? "," : "", bt->n);
        for (size_t i = 0; i < bt->n; i++) {
            if (i)
                sb_put(&b, ",", 1);
            sb_uint(&b, bt->idx[i]);
        }
        sb_puts(&b, "],\"lab\":[");
        for (size_t i = 0; i < bt->n; i++) { /* check_labels: 0 <= label < n_classes */
            if (i)
                sb_put(&b, ",", 1);
            sb_uint(&b, (uint64_t)bt->labels[i]);
        }
        sb_puts(&b, "],\"i\":");
        json_image(&b, &bt->input);
        sb_puts(&b, ",\"o\":");
        json_image(&b, &bt->output);
        cact_html_bin(hists[k], (const float(*)[256])p->in_f, p->x_lo, p->x_hi, bi);
        sb_puts(&b, ",\"hi\":\"");
        svg_hist_path(&b, bi, 0);
        sb_puts(&b, "\",\"ho\":\"");
        if (p->elementwise) {
            cact_html_bin(hists[k], (const float(*)[256])p->out_f, p->y_lo, p->y_hi, bo);
            svg_hist_path(&b, bo, 1);
        }
        sb_puts(&b, "\"}");
    }
    sb_puts(&b, "]}</script>\n");
    page_tail(&b);
    st = sb_write(&b, dir, "index.html", stats, err);
out:
    free(b.p);
    free(px);
    cact_html_px_free(pxw);
    free(hist);
    free(p);
    return st;
}

/* ---- gallery.html ---- */

enum cact_status cact_html_write_gallery(const char *dir, const struct cact_html_gallery *g,
                                         struct cact_err *err)
{
    struct sbuf b = {0};
    cact_html_hist all;
    struct plot *p = NULL;
    uint64_t bins_in[CACT_HTML_BINS], bins_out[CACT_HTML_BINS];
    enum cact_status st;
    char spec[256], label[128], id[32];

    if (!g->n || !g->px || !g->input_chain || !g->grid || !g->n_cards)
        return cact_fail(err, CACT_ERR_USAGE, "html: gallery with no image or no function");
    if ((st = check_image(&g->input, "input", err)) != CACT_OK ||
        (st = check_labels(g->labels, g->n, g->n_classes, err)) != CACT_OK)
        return st;
    for (size_t i = 0; i < g->n_cards; i++) {
        if ((st = check_image(&g->cards[i].grid, "gallery card", err)) != CACT_OK)
            return st;
        if (!cact_act_chain_is_elementwise(g->cards[i].chain))
            return cact_fail(err, CACT_ERR_USAGE,
                             "html: gallery card %zu is not element-wise", i);
    }
    p = malloc(sizeof *p);
    if (!p)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    memset(all, 0, sizeof all);
    cact_html_hist_add(all, g->px, g->n);

    page_head(&b, g->title);
    sb_puts(&b, "<header><h1>");
    sb_html(&b, g->title);
    sb_printf(&b, "</h1><p class=\"sub\">%zu functions on the same %zu images; hover a tile</p></header>\n",
              g->n_cards, g->n);
    sb_puts(&b, "<nav class=\"bar\"><label>zoom <select id=\"zoom\"><option value=\"0\">actual size</option>"
                "<option value=\"1\" selected>1&times;</option><option value=\"2\">2&times;</option>"
                "<option value=\"3\">3&times;</option><option value=\"4\">4&times;</option>"
                "<option value=\"5\">5&times;</option><option value=\"6\">6&times;</option>"
                "<option value=\"7\">7&times;</option><option value=\"8\">8&times;</option></select></label>"
                "<span id=\"tile-info\">Hover a tile.</span></nav>\n<main class=\"cards\">\n");

    /* The input card: the grid and the input values. */
    plot_init(p, g->input_chain, (const uint64_t(*)[256])all);
    cact_html_bin((const uint64_t(*)[256])all, (const float(*)[256])p->in_f, p->x_lo, p->x_hi, bins_in);
    sb_puts(&b, "<figure class=\"card input\" data-card=\"-1\"><figcaption><h3>input</h3><code>");
    sb_html(&b, input_label(g->input_chain, label, sizeof label));
    sb_puts(&b, "</code></figcaption><div class=\"clip\"><img alt=\"input grid\"></div>");
    svg_plot(&b, p, "plot-in", bins_in, bins_in, NULL, NULL, label, NULL);
    sb_puts(&b, "</figure>\n");

    for (size_t i = 0; i < g->n_cards; i++) {
        const struct cact_act_chain *c = g->cards[i].chain;
        plot_init(p, c, (const uint64_t(*)[256])all);
        cact_html_bin((const uint64_t(*)[256])all, (const float(*)[256])p->in_f, p->x_lo, p->x_hi, bins_in);
        cact_html_bin((const uint64_t(*)[256])all, (const float(*)[256])p->out_f, p->y_lo, p->y_hi, bins_out);
        sb_printf(&b, "<figure class=\"card\" data-card=\"%zu\"><figcaption><h3>", i);
        for (int j = 0; j < c->n; j++) {
            sb_puts(&b, j ? " &rarr; " : "");
            sb_html(&b, cact_act_format(&c->fn[j], spec, sizeof spec));
        }
        sb_puts(&b, "</h3>");
        for (int j = 0; j < c->n; j++) {
            sb_puts(&b, "<div class=\"formula\">");
            sb_html(&b, c->fn[j].desc->torch_module);
            sb_puts(&b, ": <code>");
            sb_html(&b, c->fn[j].desc->formula);
            sb_puts(&b, "</code></div>");
        }
        sb_puts(&b, "</figcaption><div class=\"clip\"><img alt=\"output grid\"></div>");
        snprintf(id, sizeof id, "plot-%zu", i);
        svg_plot(&b, p, id, bins_in, bins_out, NULL, NULL, label, NULL);
        if (p->values && !g->grid->normalize)
            sb_printf(&b, "<p class=\"clipfig\">clipped: %.2f%% black, %.2f%% white</p>",
                      100.0 * (double)p->clip_lo / (double)p->values,
                      100.0 * (double)p->clip_hi / (double)p->values);
        sb_puts(&b, "</figure>\n");
    }
    sb_puts(&b, "</main>\n<section class=\"settings\"><h2>Settings</h2>\n");
    page_settings(&b, g->settings, g->n_settings);
    if (g->manifest) {
        sb_puts(&b, "<p>Files: <a href=\"");
        sb_html(&b, g->manifest);
        sb_puts(&b, "\">");
        sb_html(&b, g->manifest);
        sb_puts(&b, "</a>, <a href=\"");
        sb_html(&b, g->input.file);
        sb_puts(&b, "\">");
        sb_html(&b, g->input.file);
        sb_puts(&b, "</a></p>\n");
    }
    sb_puts(&b, "</section>\n");

    sb_puts(&b, "<script type=\"application/json\" id=\"cact-data\">{");
    plot_init(p, g->input_chain, (const uint64_t(*)[256])all);
    json_common(&b, "gallery", g->grid, g->class_names, g->n_classes, p);
    sb_printf(&b, ",\"n\":%zu,\"idx\":[", g->n);
    for (size_t i = 0; i < g->n; i++)
        sb_printf(&b, "%s%zu", i ? "," : "", g->idx[i]);
    sb_puts(&b, "],\"lab\":[");
    for (size_t i = 0; i < g->n; i++)
        sb_printf(&b, "%s%d", i ? "," : "", g->labels[i]);
    sb_puts(&b, "],\"input\":");
    json_image(&b, &g->input);
    sb_puts(&b, ",\"cards\":[");
    for (size_t i = 0; i < g->n_cards; i++) {
        sb_puts(&b, i ? "," : "");
        json_image(&b, &g->cards[i].grid);
    }
    sb_puts(&b, "]}</script>\n");
    page_tail(&b);
    st = sb_write(&b, dir, "gallery.html", NULL, err);
    free(b.p);
    free(p);
    return st;
}
