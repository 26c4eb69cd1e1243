/* part.c - write a shard's manifest part; read one back with a small bounded JSON
 * parser. See part.h. */
#include "part.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PART_DEPTH 8 /* part { batches [ { hist [ } ] }: 4 levels; room to spare */

/* ---- Writing (open_memstream: the text grows as it is printed) ---- */

/* Doubles exactly (%.17g round-trips), non-finite as null. */
static void pw_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.17g", v);
    else
        fputs("null", f);
}

static const char *pw_bool(int v)
{
    return v ? "true" : "false";
}

static uint64_t part_fnv(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void part_id(const char *s, size_t n, char id[17])
{
    snprintf(id, 17, "%016llx", (unsigned long long)part_fnv(s, n));
}

enum cact_status cact_part_settings(const struct cact_run_info *in,
                                    const struct cact_part_meta *m, char **text, char id[17],
                                    struct cact_err *err)
{
    const struct cact_grid_opts *g = in->grid;
    const struct cact_act_chain *c = in->chain;
    char spec[256];
    size_t len = 0;
    FILE *f;

    *text = NULL;
    f = open_memstream(text, &len);
    if (!f)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    fprintf(f, "{\"dataset\": \"%s\", \"split\": \"%s\", \"label\": \"%s\", \"data_dir\": ",
            cact_cifar_kind_names[in->kind], cact_cifar_split_names[in->split],
            cact_cifar_label_names[in->label]);
    cact_json_str(f, in->data_dir);
    fprintf(f, ", \"data_format\": \"%s\", \"images\": %zu, \"classes\": [",
            cact_cifar_format_names[in->data_format], in->n_images);
    for (int i = 0; i < in->n_classes; i++) {
        fputs(i ? ", " : "", f);
        cact_json_str(f, in->class_names[i]);
    }
    fputs("], \"normalize\": ", f);
    if (c->normalize)
        fprintf(f, "\"%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\"", (double)c->mean[0], (double)c->mean[1],
                (double)c->mean[2], (double)c->std[0], (double)c->std[1], (double)c->std[2]);
    else
        fputs("null", f);
    fputs(", \"functions\": [", f);
    for (int i = 0; i < c->n; i++) {
        fputs(i ? ", " : "", f);
        cact_json_str(f, cact_act_format(&c->fn[i], spec, sizeof spec));
    }
    /* The seed as a string: JSON numbers are doubles to most readers. */
    fprintf(f, "], \"batch_size\": %zu, \"drop_last\": %s, \"shuffle\": %s, \"seed\": \"%llu\", "
               "\"batches\": %zu,\n  \"style\": \"%s\", \"nrow\": %d, \"padding\": %d, "
               "\"pad_value\": %.9g, \"scale\": %d, \"grid_normalize\": %s, \"scale_each\": %s, "
               "\"value_range\": ",
            in->batch, pw_bool(in->drop_last), pw_bool(in->shuffle),
            (unsigned long long)in->seed, in->n_batches, cact_grid_style_names[g->style],
            g->nrow, g->padding, (double)g->pad_value, g->scale, pw_bool(g->normalize),
            pw_bool(g->scale_each));
    if (g->has_value_range) {
        fputc('[', f);
        pw_num(f, g->value_range[0]);
        fputs(", ", f);
        pw_num(f, g->value_range[1]);
        fputc(']', f);
    } else {
        fputs("null", f);
    }
    fprintf(f, ", \"layout\": \"%s\", \"png_level\": %d, \"html\": %s, \"html_pixels\": %s, "
               "\"lut\": %s, \"logdir\": ",
            cact_run_layout_names[in->layout], in->png_level, pw_bool(m->html),
            pw_bool(m->html_pixels), pw_bool(m->use_lut));
    if (m->logdir)
        cact_json_str(f, m->logdir);
    else
        fputs("null", f);
    fprintf(f, ", \"shards\": %zu}", m->shards);
    if (fclose(f) != 0 || !*text) {
        free(*text);
        *text = NULL;
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    }
    part_id(*text, len, id);
    return CACT_OK;
}

enum cact_status cact_part_write(const char *path, const struct cact_run_info *in,
                                 const struct cact_part_meta *m, const cact_html_hist *hists,
                                 struct cact_err *err)
{
    char *settings = NULL, *text = NULL, id[17];
    size_t len = 0;
    enum cact_status st;
    FILE *f;

    st = cact_part_settings(in, m, &settings, id, err);
    if (st != CACT_OK)
        return st;
    f = open_memstream(&text, &len);
    if (!f) {
        free(settings);
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    }
    fprintf(f, "{\"cifar-act-part\": 1, \"run\": \"%s\", \"shard\": %zu, \"of\": %zu, "
               "\"jobs\": %d,\n \"settings\": %s,\n \"event\": ",
            id, m->shard, m->shards, m->jobs, settings);
    if (m->event)
        cact_json_str(f, m->event);
    else
        fputs("null", f);
    fputs(",\n \"batches\": [", f);
    int first = 1;
    for (size_t k = m->shard; k < in->n_batches; k += m->shards) {
        const struct cact_run_batch *b = &in->batches[k];
        const struct cact_grid_clip *cl[2] = {&b->clip_in, &b->clip_out};
        const struct cact_run_values *v[2] = {&b->in, &b->out};
        fprintf(f, "%s\n  {\"batch\": %zu, \"images\": [", first ? "" : ",", k);
        first = 0;
        for (size_t i = 0; i < b->n; i++)
            fprintf(f, "%s%zu", i ? "," : "", b->idx[i]);
        fputs("], \"labels\": [", f);
        for (size_t i = 0; i < b->n; i++)
            fprintf(f, "%s%d", i ? "," : "", b->labels[i]);
        fputs("]", f);
        for (int j = 0; j < 2; j++) {
            fprintf(f, ", \"%s\": [", j ? "output_stats" : "input_stats");
            pw_num(f, v[j]->min);
            fputc(',', f);
            pw_num(f, v[j]->mean);
            fputc(',', f);
            pw_num(f, v[j]->max);
            fprintf(f, "], \"%s\": [%llu,%llu,%llu,%llu]", j ? "clip_out" : "clip_in",
                    (unsigned long long)cl[j]->values, (unsigned long long)cl[j]->below,
                    (unsigned long long)cl[j]->above, (unsigned long long)cl[j]->nan);
        }
        fputs(", \"hist\": ", f);
        if (hists) {
            fputc('[', f);
            for (int ch = 0; ch < CACT_ACT_CHANNELS; ch++)
                for (int x = 0; x < 256; x++)
                    fprintf(f, "%s%llu", ch || x ? "," : "", (unsigned long long)hists[k][ch][x]);
            fputc(']', f);
        } else {
            fputs("null", f);
        }
        fputc('}', f);
    }
    fputs("]}\n", f);
    free(settings);
    if (fclose(f) != 0 || !text) {
        free(text);
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory writing %s", path);
    }
    st = cact_write_atomic(path, text, len, err);
    free(text);
    return st;
}

/* ---- Reading: a JSON tree, bounded ----
 * Nodes in one array (indices, not pointers: it grows), strings decoded into one
 * buffer as long as the text (a decoded string is never longer). Only the escapes the
 * writer uses are accepted: \" \\ and \u00XX below 0x80. */

enum pj_type { PJ_NULL, PJ_BOOL, PJ_NUM, PJ_STR, PJ_ARR, PJ_OBJ };

struct pj_node {
    enum pj_type t;
    int b;
    double num;
    const char *str;    /* PJ_STR: decoded, NUL-terminated */
    const char *key;    /* a member of an object: its name */
    long kid, next;     /* first child, next sibling: indices or -1 */
    size_t n;           /* children */
    size_t start, end;  /* the value's bytes in the text */
};

struct pj {
    const char *s;
    size_t len, pos;
    struct pj_node *v;
    size_t n, cap;
    char *strs;
    size_t strs_len;
    const char *name;
    struct cact_err *err;
};

static enum cact_status pj_bad(struct pj *p, const char *what)
{
    return cact_fail(p->err, CACT_ERR_FORMAT, "%s: not a manifest part: %s at byte %zu",
                     p->name, what, p->pos);
}

static void pj_ws(struct pj *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\n' ||
                               p->s[p->pos] == '\t' || p->s[p->pos] == '\r'))
        p->pos++;
}

static long pj_new(struct pj *p, enum pj_type t)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 256;
        struct pj_node *v = realloc(p->v, cap * sizeof *v);
        if (!v)
            return -1;
        p->v = v;
        p->cap = cap;
    }
    memset(&p->v[p->n], 0, sizeof p->v[0]);
    p->v[p->n].t = t;
    p->v[p->n].kid = p->v[p->n].next = -1;
    return (long)p->n++;
}

static enum cact_status pj_string(struct pj *p, const char **out)
{
    char *d = p->strs + p->strs_len;
    size_t o = 0;

    p->pos++; /* the opening quote */
    for (;;) {
        if (p->pos >= p->len)
            return pj_bad(p, "unterminated string");
        unsigned char c = (unsigned char)p->s[p->pos++];
        if (c == '"')
            break;
        if (c < 0x20)
            return pj_bad(p, "control character in a string");
        if (c == '\\') {
            if (p->pos >= p->len)
                return pj_bad(p, "unterminated string");
            c = (unsigned char)p->s[p->pos++];
            if (c == 'u') {
                unsigned v = 0;
                for (int i = 0; i < 4; i++) {
                    char h = p->pos < p->len ? p->s[p->pos++] : 0;
                    int x = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                          : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                    if (x < 0)
                        return pj_bad(p, "bad \\u escape");
                    v = v * 16 + (unsigned)x;
                }
                if (v == 0 || v >= 0x80)
                    return pj_bad(p, "\\u escape outside 1..127");
                c = (unsigned char)v;
            } else if (c != '"' && c != '\\') {
                return pj_bad(p, "unknown escape");
            }
        }
        d[o++] = (char)c;
    }
    d[o] = '\0';
    p->strs_len += o + 1;
    *out = d;
    return CACT_OK;
}

static enum cact_status pj_value(struct pj *p, int depth, long *out);

static enum cact_status pj_container(struct pj *p, int depth, long me, char close)
{
    long last = -1;
    enum cact_status st;

    p->pos++;
    pj_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        return CACT_OK;
    }
    for (;;) {
        const char *key = NULL;
        long kid;
        pj_ws(p);
        if (close == '}') {
            if (p->pos >= p->len || p->s[p->pos] != '"')
                return pj_bad(p, "expected a member name");
            if ((st = pj_string(p, &key)) != CACT_OK)
                return st;
            pj_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':')
                return pj_bad(p, "expected ':'");
            p->pos++;
        }
        if ((st = pj_value(p, depth + 1, &kid)) != CACT_OK)
            return st;
        p->v[kid].key = key;
        if (last < 0)
            p->v[me].kid = kid;
        else
            p->v[last].next = kid;
        last = kid;
        p->v[me].n++;
        pj_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == close) {
            p->pos++;
            return CACT_OK;
        }
        return pj_bad(p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static enum cact_status pj_value(struct pj *p, int depth, long *out)
{
    enum cact_status st = CACT_OK;
    long me;
    char c;

    if (depth > PART_DEPTH)
        return pj_bad(p, "nested too deeply");
    pj_ws(p);
    if (p->pos >= p->len)
        return pj_bad(p, "unexpected end");
    c = p->s[p->pos];
    me = pj_new(p, PJ_NULL);
    if (me < 0)
        return cact_fail(p->err, CACT_ERR_NOMEM, "out of memory reading %s", p->name);
    p->v[me].start = p->pos;
    if (c == '{' || c == '[') {
        p->v[me].t = c == '{' ? PJ_OBJ : PJ_ARR;
        st = pj_container(p, depth, me, c == '{' ? '}' : ']');
    } else if (c == '"') {
        const char *s = NULL;
        p->v[me].t = PJ_STR;
        st = pj_string(p, &s);
        p->v[me].str = s;
    } else if (p->len - p->pos >= 4 && memcmp(p->s + p->pos, "null", 4) == 0) {
        p->pos += 4;
    } else if (p->len - p->pos >= 4 && memcmp(p->s + p->pos, "true", 4) == 0) {
        p->v[me].t = PJ_BOOL;
        p->v[me].b = 1;
        p->pos += 4;
    } else if (p->len - p->pos >= 5 && memcmp(p->s + p->pos, "false", 5) == 0) {
        p->v[me].t = PJ_BOOL;
        p->pos += 5;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        /* JSON's number grammar, checked here; strtod then reads a copy. */
        size_t a = p->pos, i = a;
        char buf[64];
        if (i < p->len && p->s[i] == '-')
            i++;
        size_t d0 = i;
        while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
            i++;
        if (i == d0 || (p->s[d0] == '0' && i > d0 + 1))
            return pj_bad(p, "bad number");
        if (i < p->len && p->s[i] == '.') {
            size_t f0 = ++i;
            while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
                i++;
            if (i == f0)
                return pj_bad(p, "bad number");
        }
        if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
            i++;
            if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
                i++;
            size_t e0 = i;
            while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9')
                i++;
            if (i == e0)
                return pj_bad(p, "bad number");
        }
        if (i - a >= sizeof buf)
            return pj_bad(p, "number too long");
        memcpy(buf, p->s + a, i - a);
        buf[i - a] = '\0';
        p->v[me].t = PJ_NUM;
        p->v[me].num = strtod(buf, NULL);
        p->pos = i;
    } else {
        return pj_bad(p, "unexpected character");
    }
    p->v[me].end = p->pos;
    *out = me;
    return st;
}

/* ---- From the tree to a part ---- */

struct part_rd {
    struct pj *p;
    struct cact_part *part;
    const char *name;
    struct cact_err *err;
};

static enum cact_status rd_bad(struct part_rd *r, const char *field, const char *what)
{
    return cact_fail(r->err, CACT_ERR_FORMAT, "%s: field \"%s\": %s", r->name, field, what);
}

static const struct pj_node *rd_get(struct part_rd *r, long obj, const char *key)
{
    if (obj < 0 || r->p->v[obj].t != PJ_OBJ)
        return NULL;
    for (long i = r->p->v[obj].kid; i >= 0; i = r->p->v[i].next)
        if (strcmp(r->p->v[i].key, key) == 0)
            return &r->p->v[i];
    return NULL;
}

static long rd_idx(struct part_rd *r, const struct pj_node *n)
{
    return n ? (long)(n - r->p->v) : -1;
}

static enum cact_status rd_uint(struct part_rd *r, long obj, const char *key, double max,
                                size_t *out)
{
    const struct pj_node *n = rd_get(r, obj, key);
    if (!n || n->t != PJ_NUM || !(n->num >= 0) || n->num > max || n->num != floor(n->num))
        return rd_bad(r, key, "missing, or not a whole number in range");
    *out = (size_t)n->num;
    return CACT_OK;
}

static enum cact_status rd_int(struct part_rd *r, long obj, const char *key, int max, int *out)
{
    size_t v;
    enum cact_status st = rd_uint(r, obj, key, max, &v);
    if (st == CACT_OK)
        *out = (int)v;
    return st;
}

static enum cact_status rd_bool(struct part_rd *r, long obj, const char *key, int *out)
{
    const struct pj_node *n = rd_get(r, obj, key);
    if (!n || n->t != PJ_BOOL)
        return rd_bad(r, key, "missing, or not true/false");
    *out = n->b;
    return CACT_OK;
}

/* A string, or NULL for null when nullable. */
static enum cact_status rd_str(struct part_rd *r, long obj, const char *key, int nullable,
                               const char **out)
{
    const struct pj_node *n = rd_get(r, obj, key);
    if (n && n->t == PJ_NULL && nullable) {
        *out = NULL;
        return CACT_OK;
    }
    if (!n || n->t != PJ_STR)
        return rd_bad(r, key, "missing, or not a string");
    *out = n->str;
    return CACT_OK;
}

static enum cact_status rd_enum(struct part_rd *r, long obj, const char *key,
                                const char *const *names, int count, int *out)
{
    const char *s = NULL;
    enum cact_status st = rd_str(r, obj, key, 0, &s);
    if (st != CACT_OK)
        return st;
    *out = cact_name_find(names, count, s);
    return *out < 0 ? rd_bad(r, key, "an unknown name") : CACT_OK;
}

/* An array of exactly n numbers (null allowed: NaN) into out, or of any length up to
 * max into a new array of size_t (whole numbers <= vmax). */
static enum cact_status rd_nums(struct part_rd *r, const struct pj_node *a, const char *key,
                                size_t n, double *out)
{
    size_t i = 0;
    if (!a || a->t != PJ_ARR || a->n != n)
        return rd_bad(r, key, "missing, or not an array of the right length");
    for (long j = a->kid; j >= 0; j = r->p->v[j].next, i++) {
        const struct pj_node *x = &r->p->v[j];
        if (x->t != PJ_NUM && x->t != PJ_NULL)
            return rd_bad(r, key, "not a number");
        out[i] = x->t == PJ_NUM ? x->num : NAN;
    }
    return CACT_OK;
}

static enum cact_status rd_counts(struct part_rd *r, const struct pj_node *a, const char *key,
                                  size_t n, double vmax, uint64_t *out)
{
    size_t i = 0;
    if (!a || a->t != PJ_ARR || a->n != n)
        return rd_bad(r, key, "missing, or not an array of the right length");
    for (long j = a->kid; j >= 0; j = r->p->v[j].next, i++) {
        const struct pj_node *x = &r->p->v[j];
        if (x->t != PJ_NUM || !(x->num >= 0) || x->num > vmax || x->num != floor(x->num))
            return rd_bad(r, key, "not a whole number in range");
        out[i] = (uint64_t)x->num;
    }
    return CACT_OK;
}

static enum cact_status rd_settings(struct part_rd *r, long s)
{
    struct cact_part *pt = r->part;
    struct cact_run_info *in = &pt->info;
    const struct pj_node *cls, *fns, *vr;
    const char *str;
    char **names;
    size_t v;
    int e;
    enum cact_status st;
    struct cact_err pe;

#define RD(x) do { if ((st = (x)) != CACT_OK) return st; } while (0)
    RD(rd_enum(r, s, "dataset", cact_cifar_kind_names, CACT_CIFAR_KIND_COUNT, &e));
    in->kind = (enum cact_cifar_kind)e;
    RD(rd_enum(r, s, "split", cact_cifar_split_names, CACT_CIFAR_SPLIT_COUNT, &e));
    in->split = (enum cact_cifar_split)e;
    RD(rd_enum(r, s, "label", cact_cifar_label_names, CACT_CIFAR_LABEL_COUNT, &e));
    in->label = (enum cact_cifar_label)e;
    RD(rd_str(r, s, "data_dir", 0, &in->data_dir));
    RD(rd_enum(r, s, "data_format", cact_cifar_format_names, CACT_CIFAR_FORMAT_COUNT, &e));
    in->data_format = (enum cact_cifar_format)e;
    RD(rd_uint(r, s, "images", 1e9, &in->n_images));
    cls = rd_get(r, s, "classes");
    if (!cls || cls->t != PJ_ARR || cls->n < 1 || cls->n > 1000)
        return rd_bad(r, "classes", "missing, or not 1..1000 names");
    names = calloc(cls->n, sizeof *names);
    if (!names)
        return cact_fail(r->err, CACT_ERR_NOMEM, "out of memory reading %s", r->name);
    in->class_names = (const char *const *)names;
    in->n_classes = (int)cls->n;
    v = 0;
    for (long j = cls->kid; j >= 0; j = r->p->v[j].next) {
        if (r->p->v[j].t != PJ_STR)
            return rd_bad(r, "classes", "not a string");
        names[v++] = (char *)r->p->v[j].str;
    }
    RD(rd_str(r, s, "normalize", 1, &str));
    memset(&pt->chain, 0, sizeof pt->chain);
    if (str && cact_act_parse_normalize(str, &pt->chain, &pe) != CACT_OK)
        return rd_bad(r, "normalize", pe.msg);
    fns = rd_get(r, s, "functions");
    if (!fns || fns->t != PJ_ARR || fns->n > CACT_ACT_MAX_CHAIN)
        return rd_bad(r, "functions", "missing, or too many");
    for (long j = fns->kid; j >= 0; j = r->p->v[j].next) {
        if (r->p->v[j].t != PJ_STR)
            return rd_bad(r, "functions", "not a string");
        if (cact_act_parse(r->p->v[j].str, &pt->chain.fn[pt->chain.n], &pe) != CACT_OK)
            return rd_bad(r, "functions", pe.msg);
        pt->chain.n++;
    }
    in->chain = &pt->chain;
    RD(rd_uint(r, s, "batch_size", 1e9, &in->batch));
    RD(rd_bool(r, s, "drop_last", &in->drop_last));
    RD(rd_bool(r, s, "shuffle", &in->shuffle));
    RD(rd_str(r, s, "seed", 0, &str));
    {
        char *end;
        errno = 0;
        unsigned long long seed = strtoull(str, &end, 10);
        if (!(str[0] >= '0' && str[0] <= '9') || *end || errno)
            return rd_bad(r, "seed", "not a whole number");
        in->seed = (uint64_t)seed;
    }
    RD(rd_uint(r, s, "batches", 1e9, &in->n_batches));
    cact_grid_opts_default(&pt->grid);
    RD(rd_enum(r, s, "style", cact_grid_style_names, CACT_GRID_STYLE_COUNT, &e));
    pt->grid.style = (enum cact_grid_style)e;
    RD(rd_int(r, s, "nrow", 1 << 20, &pt->grid.nrow));
    RD(rd_int(r, s, "padding", 1 << 20, &pt->grid.padding));
    {
        const struct pj_node *pv = rd_get(r, s, "pad_value");
        if (!pv || pv->t != PJ_NUM || !(pv->num >= 0 && pv->num <= 1))
            return rd_bad(r, "pad_value", "missing, or not in [0, 1]");
        pt->grid.pad_value = (float)pv->num;
    }
    RD(rd_int(r, s, "scale", 1 << 20, &pt->grid.scale));
    RD(rd_bool(r, s, "grid_normalize", &pt->grid.normalize));
    RD(rd_bool(r, s, "scale_each", &pt->grid.scale_each));
    vr = rd_get(r, s, "value_range");
    if (vr && vr->t != PJ_NULL) {
        RD(rd_nums(r, vr, "value_range", 2, pt->grid.value_range));
        if (!(pt->grid.value_range[0] < pt->grid.value_range[1]))
            return rd_bad(r, "value_range", "not LO < HI");
        pt->grid.has_value_range = 1;
    } else if (!vr) {
        return rd_bad(r, "value_range", "missing");
    }
    in->grid = &pt->grid;
    RD(rd_enum(r, s, "layout", cact_run_layout_names, CACT_RUN_LAYOUT_COUNT, &e));
    in->layout = (enum cact_run_layout)e;
    RD(rd_int(r, s, "png_level", 9, &in->png_level));
    RD(rd_bool(r, s, "html", &pt->meta.html));
    RD(rd_bool(r, s, "html_pixels", &pt->meta.html_pixels));
    RD(rd_bool(r, s, "lut", &pt->meta.use_lut));
    RD(rd_str(r, s, "logdir", 1, &pt->meta.logdir));
    RD(rd_uint(r, s, "shards", CACT_PART_MAX_SHARDS, &pt->meta.shards));
    return CACT_OK;
}

static enum cact_status rd_batch(struct part_rd *r, long bn, size_t i)
{
    struct cact_part *pt = r->part;
    struct cact_run_batch *b = &pt->batches[i];
    const struct pj_node *im, *lb;
    double vals[3];
    uint64_t cl[4];
    enum cact_status st;
    size_t k;

    RD(rd_uint(r, bn, "batch", 1e9, &k));
    if (k >= pt->info.n_batches || k % pt->meta.shards != pt->meta.shard ||
        (i && k <= pt->ks[i - 1]))
        return rd_bad(r, "batch", "not one of this shard's batches, in order");
    pt->ks[i] = k;
    im = rd_get(r, bn, "images");
    lb = rd_get(r, bn, "labels");
    if (!im || im->t != PJ_ARR || im->n < 1 || im->n > pt->info.batch || !lb || lb->t != PJ_ARR ||
        lb->n != im->n)
        return rd_bad(r, "images", "missing, empty, longer than the batch, or not as long as labels");
    b->n = im->n;
    b->idx = calloc(b->n, sizeof *b->idx);
    b->labels = calloc(b->n, sizeof *b->labels);
    uint64_t *tmp = calloc(b->n, sizeof *tmp);
    if (!b->idx || !b->labels || !tmp) {
        free(tmp);
        return cact_fail(r->err, CACT_ERR_NOMEM, "out of memory reading %s", r->name);
    }
    st = rd_counts(r, im, "images", b->n, (double)pt->info.n_images - 1, tmp);
    for (size_t j = 0; st == CACT_OK && j < b->n; j++)
        b->idx[j] = (size_t)tmp[j];
    if (st == CACT_OK)
        st = rd_counts(r, lb, "labels", b->n, (double)pt->info.n_classes - 1, tmp);
    for (size_t j = 0; st == CACT_OK && j < b->n; j++)
        b->labels[j] = (int)tmp[j];
    free(tmp);
    if (st != CACT_OK)
        return st;
    RD(rd_nums(r, rd_get(r, bn, "input_stats"), "input_stats", 3, vals));
    b->in = (struct cact_run_values){vals[0], vals[1], vals[2]};
    RD(rd_nums(r, rd_get(r, bn, "output_stats"), "output_stats", 3, vals));
    b->out = (struct cact_run_values){vals[0], vals[1], vals[2]};
    RD(rd_counts(r, rd_get(r, bn, "clip_in"), "clip_in", 4, 9e15, cl));
    b->clip_in = (struct cact_grid_clip){cl[0], cl[1], cl[2], cl[3]};
    RD(rd_counts(r, rd_get(r, bn, "clip_out"), "clip_out", 4, 9e15, cl));
    b->clip_out = (struct cact_grid_clip){cl[0], cl[1], cl[2], cl[3]};
    if (pt->hists)
        RD(rd_counts(r, rd_get(r, bn, "hist"), "hist", 3 * 256, 9e15, &pt->hists[i][0][0]));
    return CACT_OK;
}
#undef RD

enum cact_status cact_part_parse(const char *text, size_t len, const char *name,
                                 struct cact_part **out, struct cact_err *err)
{
    struct pj p = {0};
    struct part_rd r;
    struct cact_part *pt;
    enum cact_status st;
    const struct pj_node *sn, *bs, *run;
    long root, sroot;
    size_t v;
    char id[17];

    *out = NULL;
    if (len > CACT_PART_MAX_BYTES)
        return cact_fail(err, CACT_ERR_FORMAT, "%s: larger than a part can be", name);
    pt = calloc(1, sizeof *pt);
    if (!pt)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    p.s = text;
    p.len = len;
    p.name = name;
    p.err = err;
    p.strs = malloc(len + 1);
    r = (struct part_rd){&p, pt, name, err};
    if (!p.strs) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory reading %s", name);
        goto out;
    }
    pt->mem = p.strs; /* strings stay; the tree goes */
    st = pj_value(&p, 0, &root);
    if (st != CACT_OK)
        goto out;
    pj_ws(&p);
    if (p.pos != len || p.v[root].t != PJ_OBJ) {
        st = pj_bad(&p, "not one JSON object");
        goto out;
    }
    if ((st = rd_uint(&r, root, "cifar-act-part", 1, &v)) != CACT_OK)
        goto out;
    if (v != 1) {
        st = rd_bad(&r, "cifar-act-part", "not version 1");
        goto out;
    }
    sn = rd_get(&r, root, "settings");
    sroot = rd_idx(&r, sn);
    if (!sn || sn->t != PJ_OBJ) {
        st = rd_bad(&r, "settings", "missing, or not an object");
        goto out;
    }
    /* The run id is the settings' bytes as written. */
    part_id(text + sn->start, sn->end - sn->start, id);
    run = rd_get(&r, root, "run");
    if (!run || run->t != PJ_STR || strcmp(run->str, id) != 0) {
        st = rd_bad(&r, "run", "missing, or not the id of its settings");
        goto out;
    }
    memcpy(pt->run, id, sizeof id);
    if ((st = rd_settings(&r, sroot)) != CACT_OK ||
        (st = rd_uint(&r, root, "of", CACT_PART_MAX_SHARDS, &v)) != CACT_OK)
        goto out;
    if (v != pt->meta.shards || v < 1) {
        st = rd_bad(&r, "of", "not the settings' shard count");
        goto out;
    }
    if ((st = rd_uint(&r, root, "shard", (double)v - 1, &pt->meta.shard)) != CACT_OK ||
        (st = rd_int(&r, root, "jobs", 1 << 20, &pt->meta.jobs)) != CACT_OK ||
        (st = rd_str(&r, root, "event", 1, &pt->meta.event)) != CACT_OK)
        goto out;
    bs = rd_get(&r, root, "batches");
    if (!bs || bs->t != PJ_ARR || bs->n > pt->info.n_batches) {
        st = rd_bad(&r, "batches", "missing, or more than the run has");
        goto out;
    }
    pt->n_mine = bs->n;
    pt->ks = calloc(bs->n + 1, sizeof *pt->ks);
    pt->batches = calloc(bs->n + 1, sizeof *pt->batches);
    if (pt->meta.html)
        pt->hists = calloc(bs->n + 1, sizeof *pt->hists);
    if (!pt->ks || !pt->batches || (pt->meta.html && !pt->hists)) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory reading %s", name);
        goto out;
    }
    v = 0;
    for (long j = bs->kid; j >= 0; j = p.v[j].next, v++) {
        if (p.v[j].t != PJ_OBJ) {
            st = rd_bad(&r, "batches", "not an object");
            goto out;
        }
        if ((st = rd_batch(&r, j, v)) != CACT_OK)
            goto out;
    }
out:
    free(p.v);
    if (st != CACT_OK)
        cact_part_free(pt);
    else
        *out = pt;
    return st;
}

void cact_part_free(struct cact_part *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->batches && i < p->n_mine; i++) {
        free(p->batches[i].idx);
        free(p->batches[i].labels);
    }
    free(p->batches);
    free(p->ks);
    free(p->hists);
    free((void *)p->info.class_names);
    free(p->mem);
    free(p);
}

enum cact_status cact_part_read(const char *path, struct cact_part **p, struct cact_err *err)
{
    struct stat sb;
    enum cact_status st;
    char *buf = NULL;
    size_t got = 0;
    int fd;

    *p = NULL;
    st = cact_open_regular(path, &fd, &sb, err);
    if (st != CACT_OK)
        return st;
    if ((uint64_t)sb.st_size > CACT_PART_MAX_BYTES) {
        close(fd);
        return cact_fail(err, CACT_ERR_FORMAT, "%s: larger than a part can be", path);
    }
    buf = malloc((size_t)sb.st_size + 1);
    if (!buf) {
        close(fd);
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory reading %s", path);
    }
    got = (size_t)sb.st_size;
    st = cact_pread_all(fd, buf, got, 0, path, err);
    close(fd);
    if (st == CACT_OK)
        st = cact_part_parse(buf, got, path, p, err);
    free(buf);
    return st;
}

long cact_part_name_shard(const char *name)
{
    size_t pl = strlen(CACT_PART_PREFIX);
    const char *d;
    long k = 0;

    if (strncmp(name, CACT_PART_PREFIX, pl) != 0)
        return -1;
    for (d = name + pl; *d >= '0' && *d <= '9' && d - name - (long)pl < 8; d++)
        k = k * 10 + (*d - '0');
    if (d == name + pl || strcmp(d, CACT_PART_SUFFIX) != 0)
        return -1;
    return k;
}
