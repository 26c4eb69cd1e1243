/* tfevent.c - TensorBoard event files: framing, protobuf encoding, histograms, writer. */
#define _GNU_SOURCE /* renameat2, RENAME_NOREPLACE (glibc 2.28) */
#include "tfevent.h"

#include <errno.h>
#include <fcntl.h>
#include <isa-l/crc.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* ---- CRC ---- */

uint32_t cact_tfevent_crc32c(const void *data, size_t n)
{
    /* ISA-L's crc32_iscsi neither inverts on entry nor on exit (checked against the
     * known answers in tests/test_tfevent.c), so the standard CRC-32C is
     * ~crc32_iscsi(.., ~0). Its length is an int: feed large buffers in pieces. */
    const unsigned char *p = data;
    uint32_t crc = 0xFFFFFFFFu;

    while (n > 0) {
        int part = n > (size_t)(INT_MAX / 2) ? INT_MAX / 2 : (int)n;
        crc = crc32_iscsi((unsigned char *)p, part, crc);
        p += part;
        n -= (size_t)part;
    }
    return ~crc;
}

uint32_t cact_tfevent_masked_crc(const void *data, size_t n)
{
    uint32_t c = cact_tfevent_crc32c(data, n);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

/* ---- Protobuf encoder ---- */

void cact_tfevent_pb_free(struct cact_tfevent_pb *b)
{
    if (!b)
        return;
    free(b->data);
    memset(b, 0, sizeof *b);
}

static int pb_reserve(struct cact_tfevent_pb *b, size_t extra)
{
    size_t cap;
    uint8_t *p;

    if (b->oom)
        return 0;
    if (extra <= b->cap - b->len)
        return 1;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return 0;
    }
    cap = b->cap ? b->cap : 256;
    while (cap - b->len < extra)
        cap *= 2;
    p = realloc(b->data, cap);
    if (!p) {
        b->oom = 1;
        return 0;
    }
    b->data = p;
    b->cap = cap;
    return 1;
}

void cact_tfevent_pb_raw(struct cact_tfevent_pb *b, const void *p, size_t n)
{
    if (n == 0 || !pb_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static size_t pb_varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

/* Encode v at p (room for 10 bytes); returns the length. */
static size_t pb_varint_put(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

void cact_tfevent_pb_varint(struct cact_tfevent_pb *b, uint64_t v)
{
    if (!pb_reserve(b, 10))
        return;
    b->len += pb_varint_put(b->data + b->len, v);
}

void cact_tfevent_pb_fixed32(struct cact_tfevent_pb *b, uint32_t v)
{
    uint8_t p[4];
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    cact_tfevent_pb_raw(b, p, 4);
}

void cact_tfevent_pb_fixed64(struct cact_tfevent_pb *b, uint64_t v)
{
    uint8_t p[8];
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
    cact_tfevent_pb_raw(b, p, 8);
}

void cact_tfevent_pb_key(struct cact_tfevent_pb *b, unsigned field, unsigned wire)
{
    cact_tfevent_pb_varint(b, ((uint64_t)field << 3) | wire);
}

void cact_tfevent_pb_int(struct cact_tfevent_pb *b, unsigned field, int64_t v)
{
    if (v == 0)
        return;
    cact_tfevent_pb_key(b, field, 0);
    cact_tfevent_pb_varint(b, (uint64_t)v);
}

static uint64_t pb_double_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

void cact_tfevent_pb_double(struct cact_tfevent_pb *b, unsigned field, double v)
{
    uint64_t u = pb_double_bits(v);
    if (u == 0)
        return;
    cact_tfevent_pb_key(b, field, 1);
    cact_tfevent_pb_fixed64(b, u);
}

void cact_tfevent_pb_bytes(struct cact_tfevent_pb *b, unsigned field, const void *p, size_t n)
{
    if (n == 0)
        return;
    cact_tfevent_pb_key(b, field, 2);
    cact_tfevent_pb_varint(b, n);
    cact_tfevent_pb_raw(b, p, n);
}

void cact_tfevent_pb_packed_double(struct cact_tfevent_pb *b, unsigned field, const double *v,
                                   size_t n)
{
    if (n == 0)
        return;
    cact_tfevent_pb_key(b, field, 2);
    cact_tfevent_pb_varint(b, (uint64_t)n * 8);
    if (!pb_reserve(b, n * 8))
        return;
    for (size_t i = 0; i < n; i++)
        cact_tfevent_pb_fixed64(b, pb_double_bits(v[i]));
}

size_t cact_tfevent_pb_begin(struct cact_tfevent_pb *b, unsigned field)
{
    cact_tfevent_pb_key(b, field, 2);
    /* One byte for the length; cact_tfevent_pb_end makes room if it needs more. */
    if (pb_reserve(b, 1))
        b->data[b->len++] = 0;
    return b->len;
}

void cact_tfevent_pb_end(struct cact_tfevent_pb *b, size_t mark)
{
    size_t body, n;
    uint8_t tmp[10];

    if (b->oom)
        return;
    body = b->len - mark;
    n = pb_varint_len(body);
    if (n > 1) {
        if (!pb_reserve(b, n - 1))
            return;
        memmove(b->data + mark + n - 1, b->data + mark, body);
        b->len += n - 1;
    }
    pb_varint_put(tmp, body);
    memcpy(b->data + mark - 1, tmp, n);
}

/* ---- Histograms ---- */

static double histo_edges[CACT_TFEVENT_HISTO_EDGES];
static pthread_once_t histo_once = PTHREAD_ONCE_INIT;

static void histo_build_edges(void)
{
    /* The same double arithmetic as SummaryWriter.__init__ (Python floats are IEEE
     * doubles), so the edges are bit-identical to torch's. */
    double pos[(CACT_TFEVENT_HISTO_EDGES - 1) / 2];
    size_t n = 0, half = (CACT_TFEVENT_HISTO_EDGES - 1) / 2;

    for (double v = 1e-12; v < 1e20; v *= 1.1)
        pos[n++] = v;
    _Static_assert(CACT_TFEVENT_HISTO_EDGES % 2 == 1, "edges: negatives, 0, positives");
    for (size_t i = 0; i < half; i++) {
        histo_edges[half - 1 - i] = -pos[i];
        histo_edges[half + 1 + i] = pos[i];
    }
    histo_edges[half] = 0.0;
}

const double *cact_tfevent_histo_edges(void)
{
    pthread_once(&histo_once, histo_build_edges);
    return histo_edges;
}

void cact_tfevent_histo_init(struct cact_tfevent_histo *h)
{
    cact_tfevent_histo_edges();
    memset(h, 0, sizeof *h);
    h->min = INFINITY;
    h->max = -INFINITY;
}

/* The bucket of v, or -1 outside the edges (NaN included): numpy.histogram's
 * searchsorted(edges, v, 'right') - 1, with the last edge in the last bucket. */
static long histo_bucket(double v)
{
    const double *e = histo_edges;
    size_t lo = 0, hi = CACT_TFEVENT_HISTO_EDGES - 1;

    if (!(v >= e[0] && v <= e[CACT_TFEVENT_HISTO_EDGES - 1]))
        return -1;
    if (v == e[CACT_TFEVENT_HISTO_EDGES - 1])
        return CACT_TFEVENT_HISTO_EDGES - 2;
    /* Invariant: e[lo] <= v < e[hi]. */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (e[mid] <= v)
            lo = mid;
        else
            hi = mid;
    }
    return (long)lo;
}

void cact_tfevent_histo_add(struct cact_tfevent_histo *h, double v, double count)
{
    long k;

    if (count <= 0)
        return;
    h->num += count;
    h->sum += v * count;
    h->sum_squares += v * v * count;
    /* numpy's min/max propagate NaN; once NaN, stay NaN. */
    if (isnan(v)) {
        h->min = h->max = NAN;
    } else if (!isnan(h->min)) {
        if (v < h->min)
            h->min = v;
        if (v > h->max)
            h->max = v;
    }
    k = histo_bucket(v);
    if (k >= 0)
        h->count[k] += count;
}

void cact_tfevent_histo_add_floats(struct cact_tfevent_histo *h, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cact_tfevent_histo_add(h, x[i], 1.0);
}

/* ---- Records ---- */

/* A record starts with 12 header bytes that record_end fills in. */
static size_t record_begin(struct cact_tfevent_pb *out)
{
    static const uint8_t zero[12];
    size_t mark = out->len;
    cact_tfevent_pb_raw(out, zero, sizeof zero);
    return mark;
}

static enum cact_status record_end(struct cact_tfevent_pb *out, size_t mark)
{
    uint8_t *h;
    uint64_t len;

    if (out->oom)
        return CACT_ERR_NOMEM;
    len = out->len - mark - 12;
    h = out->data + mark;
    for (int i = 0; i < 8; i++)
        h[i] = (uint8_t)(len >> (8 * i));
    uint32_t lc = cact_tfevent_masked_crc(h, 8);
    for (int i = 0; i < 4; i++)
        h[8 + i] = (uint8_t)(lc >> (8 * i));
    cact_tfevent_pb_fixed32(out, cact_tfevent_masked_crc(h + 12, (size_t)len));
    return out->oom ? CACT_ERR_NOMEM : CACT_OK;
}

enum cact_status cact_tfevent_file_version(struct cact_tfevent_pb *out, double wall_time)
{
    static const char version[] = "brain.Event:2";
    size_t rec = record_begin(out);
    cact_tfevent_pb_double(out, 1, wall_time);
    cact_tfevent_pb_bytes(out, 3, version, sizeof version - 1);
    return record_end(out, rec);
}

/* Event{wall_time, step, summary{value{tag, ...}}}: opens the Value; the caller adds
 * its fields and closes with value_end. */
struct value_marks {
    size_t rec, summary, value;
};

static void value_begin(struct cact_tfevent_pb *out, struct value_marks *m, double wall_time,
                        int64_t step, const char *tag)
{
    m->rec = record_begin(out);
    cact_tfevent_pb_double(out, 1, wall_time);
    cact_tfevent_pb_int(out, 2, step);
    m->summary = cact_tfevent_pb_begin(out, 5);
    m->value = cact_tfevent_pb_begin(out, 1);
    cact_tfevent_pb_bytes(out, 1, tag, strlen(tag));
}

static enum cact_status value_end(struct cact_tfevent_pb *out, const struct value_marks *m)
{
    cact_tfevent_pb_end(out, m->value);
    cact_tfevent_pb_end(out, m->summary);
    return record_end(out, m->rec);
}

enum cact_status cact_tfevent_image(struct cact_tfevent_pb *out, double wall_time, int64_t step,
                                    const char *tag, int width, int height,
                                    const void *png, size_t png_len)
{
    struct value_marks m;
    size_t img;

    value_begin(out, &m, wall_time, step, tag);
    img = cact_tfevent_pb_begin(out, 4);
    cact_tfevent_pb_int(out, 1, height);
    cact_tfevent_pb_int(out, 2, width);
    cact_tfevent_pb_int(out, 3, 3); /* RGB */
    cact_tfevent_pb_bytes(out, 4, png, png_len);
    cact_tfevent_pb_end(out, img);
    return value_end(out, &m);
}

enum cact_status cact_tfevent_histo_event(struct cact_tfevent_pb *out, double wall_time,
                                          int64_t step, const char *tag,
                                          const struct cact_tfevent_histo *h)
{
    const double *e = cact_tfevent_histo_edges();
    struct value_marks m;
    size_t hm;
    long first = -1, last = -1;

    for (long i = 0; i < CACT_TFEVENT_HISTO_EDGES - 1; i++)
        if (h->count[i] > 0) {
            if (first < 0)
                first = i;
            last = i;
        }

    value_begin(out, &m, wall_time, step, tag);
    hm = cact_tfevent_pb_begin(out, 5);
    cact_tfevent_pb_double(out, 1, h->num > 0 ? h->min : 0.0);
    cact_tfevent_pb_double(out, 2, h->num > 0 ? h->max : 0.0);
    cact_tfevent_pb_double(out, 3, h->num);
    cact_tfevent_pb_double(out, 4, h->sum);
    cact_tfevent_pb_double(out, 5, h->sum_squares);
    if (first >= 0) {
        /* torch's make_histogram: limits edge[first .. last+1], counts 0 then
         * count[first .. last]. The leading empty bucket gives TensorBoard, which
         * reads only upper limits, the lowest value's lower edge. */
        size_t n = (size_t)(last - first) + 2;
        cact_tfevent_pb_packed_double(out, 6, e + first, n);
        cact_tfevent_pb_key(out, 7, 2);
        cact_tfevent_pb_varint(out, (uint64_t)n * 8);
        cact_tfevent_pb_fixed64(out, 0);
        for (long i = first; i <= last; i++)
            cact_tfevent_pb_fixed64(out, pb_double_bits(h->count[i]));
    }
    cact_tfevent_pb_end(out, hm);
    return value_end(out, &m);
}

enum cact_status cact_tfevent_text(struct cact_tfevent_pb *out, double wall_time, int64_t step,
                                   const char *tag, const char *text)
{
    static const char plugin[] = "text";
    struct value_marks m;
    size_t md, pd, tensor, shape;

    value_begin(out, &m, wall_time, step, tag);
    md = cact_tfevent_pb_begin(out, 9);
    pd = cact_tfevent_pb_begin(out, 1);
    cact_tfevent_pb_bytes(out, 1, plugin, sizeof plugin - 1);
    cact_tfevent_pb_end(out, pd);
    cact_tfevent_pb_end(out, md);
    tensor = cact_tfevent_pb_begin(out, 8);
    cact_tfevent_pb_int(out, 1, 7); /* DT_STRING */
    shape = cact_tfevent_pb_begin(out, 2); /* a scalar: a shape with no dims */
    cact_tfevent_pb_end(out, shape);
    /* string_val is repeated: an empty string is still one element on the wire. */
    cact_tfevent_pb_key(out, 8, 2);
    cact_tfevent_pb_varint(out, strlen(text));
    cact_tfevent_pb_raw(out, text, strlen(text));
    cact_tfevent_pb_end(out, tensor);
    return value_end(out, &m);
}

double cact_tfevent_wall_time(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

/* ---- Writer ---- */

struct tfevent_pending {
    int ready;
    struct cact_tfevent_pb recs;
};

struct cact_tfevent_writer {
    int fd;
    char *path;
    pthread_mutex_t lock;    /* guards everything below */
    size_t next;             /* lowest sequence number not yet written */
    size_t max_seen;         /* 1 + highest sequence number handed over */
    struct tfevent_pending *pend; /* ring: pend[(seq - next + head) % cap] */
    size_t head, cap;
    double last_wall;        /* latest wall_time written */
    struct cact_err failed;  /* sticky write error */
};

static atomic_uint tfevent_writers; /* the <n> of the file name */

static enum cact_status writer_write_all(struct cact_tfevent_writer *w, const uint8_t *p,
                                         size_t n, struct cact_err *err)
{
    return cact_write_all(w->fd, p, n, -1, w->path, err);
}

/* Records are built on worker threads, so a later step can carry an earlier wall_time.
 * The lesson's writer stamps them in step order; so does this one: with fix, a record
 * whose wall_time (the Event's first field, as our builders write it) is earlier than
 * one already written gets that time instead, and its payload CRC again. Without fix,
 * only notes the latest time (data is not written to). */
static void writer_order_times(struct cact_tfevent_writer *w, uint8_t *data, size_t n, int fix)
{
    size_t off = 0;

    while (n - off >= 16) {
        uint8_t *h = data + off, *pl = h + 12;
        uint64_t len = 0, bits = 0;
        double t;

        for (int i = 0; i < 8; i++)
            len |= (uint64_t)h[i] << (8 * i);
        if (len > n - off - 16)
            break;
        if (len >= 9 && pl[0] == 0x09) {
            for (int i = 0; i < 8; i++)
                bits |= (uint64_t)pl[1 + i] << (8 * i);
            memcpy(&t, &bits, sizeof t);
            if (t >= w->last_wall) {
                w->last_wall = t;
            } else if (fix) {
                bits = pb_double_bits(w->last_wall);
                for (int i = 0; i < 8; i++)
                    pl[1 + i] = (uint8_t)(bits >> (8 * i));
                uint32_t c = cact_tfevent_masked_crc(pl, (size_t)len);
                for (int i = 0; i < 4; i++)
                    pl[len + (size_t)i] = (uint8_t)(c >> (8 * i));
            }
        }
        off += 16 + (size_t)len;
    }
}

/* The host part of TensorBoard's file name. */
static void tfevent_host(char host[256])
{
    if (gethostname(host, 256) != 0)
        snprintf(host, 256, "localhost");
    host[255] = '\0';
    /* A '/' would make the name a path; no real host name has one. */
    for (char *c = host; *c; c++)
        if (*c == '/')
            *c = '_';
}

static enum cact_status writer_open(struct cact_tfevent_writer **wp, const char *dir,
                                    const char *name, struct cact_err *err);

enum cact_status cact_tfevent_writer_open(struct cact_tfevent_writer **wp, const char *dir,
                                          struct cact_err *err)
{
    return writer_open(wp, dir, NULL, err);
}

enum cact_status cact_tfevent_writer_open_as(struct cact_tfevent_writer **wp, const char *dir,
                                             const char *name, struct cact_err *err)
{
    if (!name[0] || strchr(name, '/'))
        return cact_fail(err, CACT_ERR_USAGE, "%s: not a file name", name);
    return writer_open(wp, dir, name, err);
}

static enum cact_status writer_open(struct cact_tfevent_writer **wp, const char *dir,
                                    const char *name, struct cact_err *err)
{
    struct cact_tfevent_writer *w = NULL;
    struct cact_tfevent_pb first = {0};
    char host[256];
    enum cact_status st;
    size_t size;

    *wp = NULL;
    st = cact_mkdirs(dir, err);
    if (st != CACT_OK)
        return st;
    w = calloc(1, sizeof *w);
    if (!w)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    w->fd = -1;
    pthread_mutex_init(&w->lock, NULL);
    cact_err_clear(&w->failed);
    tfevent_host(host);
    size = strlen(dir) + strlen(host) + (name ? strlen(name) : 0) + 96;
    w->path = malloc(size);
    if (!w->path) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (name) { /* a file of ours: one left by a killed attempt is replaced */
        snprintf(w->path, size, "%s/%s", dir, name);
        w->fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
        if (w->fd < 0) {
            st = cact_fail(err, CACT_ERR_IO, "%s: cannot create: %s", w->path, strerror(errno));
            goto out;
        }
    }
    for (; !name;) {
        unsigned n = atomic_fetch_add(&tfevent_writers, 1);
        snprintf(w->path, size, "%s/events.out.tfevents.%010lld.%s.%ld.%u", dir,
                 (long long)time(NULL), host, (long)getpid(), n);
        w->fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (w->fd >= 0)
            break;
        if (errno != EEXIST) {
            st = cact_fail(err, CACT_ERR_IO, "%s: cannot create: %s", w->path, strerror(errno));
            goto out;
        }
    }
    st = cact_tfevent_file_version(&first, cact_tfevent_wall_time());
    if (st != CACT_OK) {
        cact_fail(err, st, "out of memory");
        goto out;
    }
    st = writer_write_all(w, first.data, first.len, err);
out:
    cact_tfevent_pb_free(&first);
    if (st != CACT_OK) {
        if (w->fd >= 0) {
            close(w->fd);
            unlink(w->path);
        }
        free(w->path);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return st;
    }
    *wp = w;
    return CACT_OK;
}

const char *cact_tfevent_writer_path(const struct cact_tfevent_writer *w)
{
    return w->path;
}

enum cact_status cact_tfevent_writer_write(struct cact_tfevent_writer *w,
                                           const struct cact_tfevent_pb *recs, struct cact_err *err)
{
    if (recs->oom)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    /* Only notes the time: recs is the caller's and stays as it was. */
    writer_order_times(w, recs->data, recs->len, 0);
    return writer_write_all(w, recs->data, recs->len, err);
}

/* Make the ring hold sequence numbers up to seq (lock held). */
static int writer_grow(struct cact_tfevent_writer *w, size_t seq)
{
    size_t need = seq - w->next + 1, cap;
    struct tfevent_pending *p;

    if (need <= w->cap)
        return 1;
    cap = w->cap ? w->cap : 8;
    while (cap < need)
        cap *= 2;
    p = calloc(cap, sizeof *p);
    if (!p)
        return 0;
    for (size_t i = 0; i < w->cap; i++)
        p[i] = w->pend[(w->head + i) % w->cap];
    free(w->pend);
    w->pend = p;
    w->head = 0;
    w->cap = cap;
    return 1;
}

enum cact_status cact_tfevent_writer_put(struct cact_tfevent_writer *w, size_t seq,
                                         struct cact_tfevent_pb *recs, struct cact_err *err)
{
    enum cact_status st = CACT_OK;
    struct tfevent_pending *slot;

    pthread_mutex_lock(&w->lock);
    if (w->failed.code != CACT_OK) {
        if (err)
            *err = w->failed;
        st = w->failed.code;
        goto out;
    }
    if (recs->oom) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (seq < w->next || (seq - w->next < w->cap &&
                          w->pend[(w->head + seq - w->next) % w->cap].ready)) {
        st = cact_fail(err, CACT_ERR_USAGE, "%s: step %zu handed over twice", w->path, seq);
        goto out;
    }
    if (!writer_grow(w, seq)) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
        goto out;
    }
    slot = &w->pend[(w->head + seq - w->next) % w->cap];
    slot->recs = *recs;
    slot->ready = 1;
    memset(recs, 0, sizeof *recs);
    if (seq + 1 > w->max_seen)
        w->max_seen = seq + 1;

    /* Write every ready record set from `next` on. Holding the lock while writing keeps
     * the file in order; the writes are small next to the work that made them. */
    while (w->cap && w->pend[w->head].ready) {
        slot = &w->pend[w->head];
        writer_order_times(w, slot->recs.data, slot->recs.len, 1);
        st = writer_write_all(w, slot->recs.data, slot->recs.len, &w->failed);
        cact_tfevent_pb_free(&slot->recs);
        slot->ready = 0;
        w->head = (w->head + 1) % w->cap;
        w->next++;
        if (st != CACT_OK) {
            if (err)
                *err = w->failed;
            break;
        }
    }
out:
    pthread_mutex_unlock(&w->lock);
    return st;
}

enum cact_status cact_tfevent_writer_close(struct cact_tfevent_writer *w, struct cact_err *err)
{
    enum cact_status st = CACT_OK;

    if (!w)
        return CACT_OK;
    if (w->failed.code != CACT_OK) {
        if (err)
            *err = w->failed;
        st = w->failed.code;
    } else if (w->next < w->max_seen) {
        st = cact_fail(err, CACT_ERR_FORMAT,
                       "%s: step %zu never arrived; %zu later steps were not written",
                       w->path, w->next, w->max_seen - w->next - 1);
    }
    if (close(w->fd) != 0 && st == CACT_OK)
        st = cact_fail(err, CACT_ERR_IO, "%s: close failed: %s", w->path, strerror(errno));
    for (size_t i = 0; i < w->cap; i++)
        cact_tfevent_pb_free(&w->pend[i].recs);
    free(w->pend);
    free(w->path);
    pthread_mutex_destroy(&w->lock);
    free(w);
    return st;
}

/* ---- Merging event files (a sharded run's) ---- */

struct merge_file {
    uint8_t *data;
    size_t len, off;   /* off: the next record */
    int64_t step;      /* of the record at off */
    size_t rec_len;    /* its framed length; 0: at the end */
};

static enum cact_status merge_read(const char *path, struct merge_file *f, struct cact_err *err)
{
    struct stat sb;
    size_t got = 0;
    int fd;
    enum cact_status st = cact_open_regular(path, &fd, &sb, err);

    if (st != CACT_OK)
        return st;
    if ((uint64_t)sb.st_size > ((uint64_t)1 << 34)) {
        close(fd);
        return cact_fail(err, CACT_ERR_FORMAT, "%s: too large for an event file of ours", path);
    }
    f->data = malloc((size_t)sb.st_size + 1);
    if (!f->data) {
        close(fd);
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory reading %s", path);
    }
    while (got < (size_t)sb.st_size) {
        ssize_t k = read(fd, f->data + got, (size_t)sb.st_size - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    f->len = got;
    return CACT_OK;
}

/* A varint at p[*i..n); 0 if it runs out or is too long. */
static int merge_varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && *i < n; shift += 7) {
        uint8_t b = p[(*i)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 1;
    }
    return 0;
}

/* Check the record at f->off (framing, both CRCs) and read its Event's step (field 2;
 * absent: 0) and whether it is a file_version record (field 3). */
static enum cact_status merge_next(const char *path, struct merge_file *f, int *version,
                                   struct cact_err *err)
{
    const uint8_t *h = f->data + f->off, *pl;
    uint64_t len = 0, v;
    uint32_t crc;
    size_t i = 0;

    f->rec_len = 0;
    *version = 0;
    if (f->off == f->len)
        return CACT_OK;
    if (f->len - f->off < 16)
        goto bad;
    for (int b = 0; b < 8; b++)
        len |= (uint64_t)h[b] << (8 * b);
    memcpy(&crc, h + 8, 4);
    if (len > f->len - f->off - 16 || crc != cact_tfevent_masked_crc(h, 8))
        goto bad;
    pl = h + 12;
    memcpy(&crc, pl + len, 4);
    if (crc != cact_tfevent_masked_crc(pl, (size_t)len))
        goto bad;
    f->step = 0;
    while (i < len) {
        uint64_t key;
        if (!merge_varint(pl, (size_t)len, &i, &key))
            goto bad;
        switch (key & 7) {
        case 0:
            if (!merge_varint(pl, (size_t)len, &i, &v))
                goto bad;
            if (key >> 3 == 2)
                f->step = (int64_t)v;
            break;
        case 1:
            i += 8;
            break;
        case 5:
            i += 4;
            break;
        case 2:
            if (!merge_varint(pl, (size_t)len, &i, &v) || v > len - i)
                goto bad;
            if (key >> 3 == 3)
                *version = 1;
            i += (size_t)v;
            break;
        default:
            goto bad;
        }
    }
    if (i != len)
        goto bad;
    f->rec_len = 16 + (size_t)len;
    return CACT_OK;
bad:
    return cact_fail(err, CACT_ERR_FORMAT, "%s: not a whole event record at byte %zu", path,
                     f->off);
}

enum cact_status cact_tfevent_merge(const char *dir, const char *const *names, size_t n,
                                    char *out_path, size_t size, struct cact_err *err)
{
    struct merge_file *f = calloc(n ? n : 1, sizeof *f);
    struct cact_tfevent_pb out = {0};
    struct cact_tfevent_writer order = {0};
    char path[4096], tmp[4096], host[256];
    enum cact_status st = CACT_OK;
    int version;

    if (!f)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    for (size_t j = 0; st == CACT_OK && j < n; j++) {
        if (snprintf(path, sizeof path, "%s/%s", dir, names[j]) >= (int)sizeof path) {
            st = cact_fail(err, CACT_ERR_IO, "path too long: %s/%s", dir, names[j]);
            break;
        }
        if ((st = merge_read(path, &f[j], err)) != CACT_OK)
            break;
        /* One file_version record: the first file's (its time starts the run). */
        while ((st = merge_next(path, &f[j], &version, err)) == CACT_OK && version) {
            if (out.len == 0)
                cact_tfevent_pb_raw(&out, f[j].data + f[j].off, f[j].rec_len);
            f[j].off += f[j].rec_len;
        }
        if (st == CACT_OK && out.len == 0)
            st = cact_tfevent_file_version(&out, cact_tfevent_wall_time());
    }
    /* Smallest step first; a tie keeps file order (shard 0's settings before its
     * step 0), and one file's records keep theirs. */
    while (st == CACT_OK) {
        size_t best = n;
        for (size_t j = 0; j < n; j++)
            if (f[j].rec_len && (best == n || f[j].step < f[best].step))
                best = j;
        if (best == n)
            break;
        cact_tfevent_pb_raw(&out, f[best].data + f[best].off, f[best].rec_len);
        f[best].off += f[best].rec_len;
        snprintf(path, sizeof path, "%s/%s", dir, names[best]);
        while ((st = merge_next(path, &f[best], &version, err)) == CACT_OK && version)
            f[best].off += f[best].rec_len;
    }
    if (st == CACT_OK && out.oom)
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory merging event files in %s", dir);
    if (st != CACT_OK)
        goto out;
    writer_order_times(&order, out.data, out.len, 1); /* wall_time never goes back */
    /* Whole under a name TensorBoard skips, then renamed to one it reads (never over
     * an existing file). */
    static atomic_uint merges;
    snprintf(tmp, sizeof tmp, "%s/.cifar-act-merge.%ld.%u.tmp", dir, (long)getpid(),
             atomic_fetch_add(&merges, 1));
    (void)unlink(tmp);
    if ((st = cact_write_new(tmp, out.data, out.len, err)) != CACT_OK)
        goto out;
    tfevent_host(host);
    for (;;) {
        unsigned k = atomic_fetch_add(&tfevent_writers, 1);
        snprintf(path, sizeof path, "%s/events.out.tfevents.%010lld.%s.%ld.%u", dir,
                 (long long)time(NULL), host, (long)getpid(), k);
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
            break;
        if (errno != EEXIST) {
            st = cact_fail(err, CACT_ERR_IO, "cannot rename %s to %s: %s", tmp, path,
                           strerror(errno));
            (void)unlink(tmp);
            goto out;
        }
    }
    if (out_path)
        snprintf(out_path, size, "%s", path);
out:
    for (size_t j = 0; j < n; j++)
        free(f[j].data);
    free(f);
    cact_tfevent_pb_free(&out);
    return st;
}
