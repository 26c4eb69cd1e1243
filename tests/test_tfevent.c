/* test_tfevent.c - event files: CRC-32C known answers (and against a bitwise CRC
 * written here), varint/fixed encoding, sub-message lengths, TFRecord framing byte
 * for byte, the default histogram buckets, the writer's naming and step order (also
 * from four threads), and tblog's records (tags, step order, decoded pixels, histogram
 * totals). TensorBoard itself reads our files in tests/cli_tensorboard.sh. */
#include <dirent.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <stb_image.h>

#include "act.h"
#include "check.h"
#include "grid.h"
#include "tblog.h"
#include "tfevent.h"

/* CRC-32C one bit at a time, from the polynomial: independent of ISA-L. */
static uint32_t bit_crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

static uint32_t bit_masked(const uint8_t *p, size_t n)
{
    uint32_t c = bit_crc32c(p, n);
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

static int bytes_eq(const struct cact_tfevent_pb *b, const char *hex)
{
    size_t n = strlen(hex) / 2;
    if (b->len != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        if (b->data[i] != v)
            return 0;
    }
    return 1;
}

static void test_crc(void)
{
    uint8_t zero[32] = {0}, big[5000];

    CHECK_EQ_INT(cact_tfevent_crc32c("123456789", 9), 0xE3069283u);
    CHECK_EQ_INT(cact_tfevent_crc32c(zero, 32), 0x8A9136AAu);
    CHECK_EQ_INT(cact_tfevent_crc32c("", 0), 0);
    CHECK_EQ_INT(cact_tfevent_masked_crc("123456789", 9), 0xc78ab0e5u);
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 131 + 7);
    CHECK_EQ_INT(cact_tfevent_crc32c(big, sizeof big), bit_crc32c(big, sizeof big));
    CHECK_EQ_INT(cact_tfevent_masked_crc(big, 17), bit_masked(big, 17));
}

static void test_encoding(void)
{
    static const struct { uint64_t v; const char *hex; } vi[] = {
        {0, "00"}, {1, "01"}, {127, "7f"}, {128, "8001"}, {300, "ac02"},
        {16384, "808001"}, {UINT64_MAX, "ffffffffffffffffff01"},
    };
    for (size_t i = 0; i < sizeof vi / sizeof *vi; i++) {
        struct cact_tfevent_pb b = {0};
        cact_tfevent_pb_varint(&b, vi[i].v);
        CHECK_MSG(bytes_eq(&b, vi[i].hex), "varint %llu", (unsigned long long)vi[i].v);
        cact_tfevent_pb_free(&b);
    }
    struct cact_tfevent_pb b = {0};
    cact_tfevent_pb_fixed32(&b, 0x01020304u);
    cact_tfevent_pb_fixed64(&b, 0x0102030405060708ull);
    CHECK(bytes_eq(&b, "040302010807060504030201"));
    cact_tfevent_pb_free(&b);

    /* proto3 defaults: zeros and empty strings are not written; -0.0 is. */
    cact_tfevent_pb_int(&b, 2, 0);
    cact_tfevent_pb_double(&b, 1, 0.0);
    cact_tfevent_pb_bytes(&b, 3, "", 0);
    CHECK_EQ_INT(b.len, 0);
    cact_tfevent_pb_int(&b, 2, 5);           /* key 0x10 */
    cact_tfevent_pb_int(&b, 2, -1);          /* two's complement, 10 bytes */
    cact_tfevent_pb_double(&b, 1, 1.0);      /* key 0x09, 00..f03f */
    cact_tfevent_pb_double(&b, 1, -0.0);
    cact_tfevent_pb_bytes(&b, 3, "ab", 2);   /* key 0x1a */
    CHECK(bytes_eq(&b, "1005" "10ffffffffffffffffff01" "09000000000000f03f"
                       "090000000000000080" "1a026162"));
    cact_tfevent_pb_free(&b);

    double d[2] = {0.5, 2.0};
    cact_tfevent_pb_packed_double(&b, 6, d, 2);
    CHECK(bytes_eq(&b, "3210" "000000000000e03f" "0000000000000040"));
    cact_tfevent_pb_free(&b);

    /* Sub-messages: an empty one is on the wire; a 200-byte body needs a 2-byte length,
     * and the body must survive the shift. */
    size_t m = cact_tfevent_pb_begin(&b, 2);
    cact_tfevent_pb_end(&b, m);
    CHECK(bytes_eq(&b, "1200"));
    cact_tfevent_pb_free(&b);
    uint8_t body[200];
    for (int i = 0; i < 200; i++)
        body[i] = (uint8_t)i;
    m = cact_tfevent_pb_begin(&b, 1);
    size_t inner = cact_tfevent_pb_begin(&b, 4);
    cact_tfevent_pb_raw(&b, body, sizeof body);
    cact_tfevent_pb_end(&b, inner);
    cact_tfevent_pb_end(&b, m);
    /* outer: 0a, len 203 = cb01; inner: 22, len 200 = c801; body */
    CHECK_EQ_INT(b.len, 2 + 1 + 2 + 200 + 1);
    CHECK(b.len == 206 && b.data[0] == 0x0a && b.data[1] == 0xcb && b.data[2] == 0x01 &&
          b.data[3] == 0x22 && b.data[4] == 0xc8 && b.data[5] == 0x01 &&
          memcmp(b.data + 6, body, 200) == 0);
    cact_tfevent_pb_free(&b);
}

/* Check one framed record at p (n bytes available) with the bitwise CRC; returns its
 * total size or 0. */
static size_t check_frame(const uint8_t *p, size_t n, const uint8_t **payload, uint64_t *len)
{
    uint64_t l = 0;
    uint32_t lc = 0, pc = 0;
    if (n < 16)
        return 0;
    for (int i = 0; i < 8; i++)
        l |= (uint64_t)p[i] << (8 * i);
    for (int i = 0; i < 4; i++)
        lc |= (uint32_t)p[8 + i] << (8 * i);
    if (l > n - 16 || lc != bit_masked(p, 8))
        return 0;
    for (int i = 0; i < 4; i++)
        pc |= (uint32_t)p[12 + l + (size_t)i] << (8 * i);
    if (pc != bit_masked(p + 12, (size_t)l))
        return 0;
    *payload = p + 12;
    *len = l;
    return (size_t)l + 16;
}

static void test_framing(void)
{
    struct cact_tfevent_pb b = {0};
    const uint8_t *pl;
    uint64_t len;

    CHECK_EQ_INT(cact_tfevent_file_version(&b, 1.0), CACT_OK);
    /* Event{wall_time=1.0 (09 + double), file_version=3 "brain.Event:2" (1a 0d ...)} */
    static const uint8_t want[] = {0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x1a, 13,
                                   'b', 'r', 'a', 'i', 'n', '.', 'E', 'v', 'e', 'n', 't',
                                   ':', '2'};
    CHECK_EQ_INT(check_frame(b.data, b.len, &pl, &len), b.len);
    CHECK(len == sizeof want && memcmp(pl, want, sizeof want) == 0);
    cact_tfevent_pb_free(&b);

    /* Image event at step 3: Event{1: wall, 2: 3, 5: Summary{1: Value{1: "t", 4: Image}}}. */
    CHECK_EQ_INT(cact_tfevent_image(&b, 0.0, 3, "t", 8, 4, "PNG", 3), CACT_OK);
    static const uint8_t want_img[] = {0x10, 3, 0x2a, 18, 0x0a, 16, 0x0a, 1, 't', 0x22, 11,
                                       0x08, 4, 0x10, 8, 0x18, 3, 0x22, 3, 'P', 'N', 'G'};
    CHECK_EQ_INT(check_frame(b.data, b.len, &pl, &len), b.len);
    CHECK(len == sizeof want_img && memcmp(pl, want_img, sizeof want_img) == 0);
    cact_tfevent_pb_free(&b);
    /* Step 0 is the default: not on the wire. */
    CHECK_EQ_INT(cact_tfevent_image(&b, 0.0, 0, "t", 8, 4, "PNG", 3), CACT_OK);
    CHECK(check_frame(b.data, b.len, &pl, &len) && pl[0] == 0x2a);
    cact_tfevent_pb_free(&b);
    /* Two records back to back; a flipped payload byte breaks the CRC. */
    cact_tfevent_text(&b, 2.5, 1, "settings", "| a | b |");
    size_t first = b.len;
    cact_tfevent_file_version(&b, 3.0);
    CHECK(check_frame(b.data, b.len, &pl, &len) == first);
    CHECK(check_frame(b.data + first, b.len - first, &pl, &len) == b.len - first);
    b.data[20] ^= 1;
    CHECK(check_frame(b.data, b.len, &pl, &len) == 0);
    cact_tfevent_pb_free(&b);
}

static void test_histo(void)
{
    const double *e = cact_tfevent_histo_edges();
    int half = (CACT_TFEVENT_HISTO_EDGES - 1) / 2, ascending = 1;
    struct cact_tfevent_histo *h = malloc(sizeof *h);

    CHECK(e[half] == 0.0 && e[half + 1] == 1e-12 && e[half - 1] == -1e-12);
    CHECK(e[CACT_TFEVENT_HISTO_EDGES - 1] < 1e20 && e[CACT_TFEVENT_HISTO_EDGES - 1] * 1.1 >= 1e20);
    CHECK(e[half + 2] == 1e-12 * 1.1);
    for (int i = 1; i < CACT_TFEVENT_HISTO_EDGES; i++)
        ascending &= e[i] > e[i - 1] && e[i] == -e[CACT_TFEVENT_HISTO_EDGES - 1 - i];
    CHECK(ascending);

    cact_tfevent_histo_init(h);
    cact_tfevent_histo_add(h, 0.0, 2);      /* [0, 1e-12) */
    cact_tfevent_histo_add(h, 0.5, 3);
    cact_tfevent_histo_add(h, -2.0, 1);
    cact_tfevent_histo_add(h, 1e30, 1);     /* beyond the last edge: no bucket */
    CHECK_EQ_INT(h->num, 7);
    CHECK(h->min == -2.0 && h->max == 1e30);
    CHECK(h->sum == 1.5 - 2.0 + 1e30);
    CHECK(h->count[half] == 2);
    double total = 0;
    int k05 = -1;
    for (int i = 0; i < CACT_TFEVENT_HISTO_EDGES - 1; i++) {
        total += h->count[i];
        if (e[i] <= 0.5 && 0.5 < e[i + 1])
            k05 = i;
    }
    CHECK(total == 6 && k05 >= 0 && h->count[k05] == 3);
    /* An edge value lands in the bucket it starts. */
    cact_tfevent_histo_init(h);
    cact_tfevent_histo_add(h, e[half + 10], 1);
    CHECK(h->count[half + 10] == 1);
    cact_tfevent_histo_add(h, NAN, 1);
    CHECK(isnan(h->min) && isnan(h->max) && h->num == 2);
    free(h);
}

static int list_dir(const char *dir, char names[][256], int max)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    if (!d)
        return 0;
    while ((de = readdir(d)) && n < max)
        if (de->d_name[0] != '.')
            snprintf(names[n++], 256, "%s", de->d_name);
    closedir(d);
    return n;
}

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = malloc(1 << 20);
    *n = f ? fread(buf, 1, 1 << 20, f) : 0;
    if (f)
        fclose(f);
    return buf;
}

/* The records of seq k: one text record whose step is k. */
static void seq_recs(struct cact_tfevent_pb *b, size_t k)
{
    cact_tfevent_text(b, 1.0, (int64_t)k, "k", "x");
}

/* Steps of the text records in the file after the version record, into steps[]. */
static int file_steps(const char *path, long *steps, int max)
{
    size_t n, off, m;
    uint8_t *buf = read_file(path, &n);
    const uint8_t *pl;
    uint64_t len;
    int count = 0;

    off = check_frame(buf, n, &pl, &len);
    if (!off) {
        free(buf);
        return -1;
    }
    while (off < n && count < max) {
        m = check_frame(buf + off, n - off, &pl, &len);
        if (!m) {
            free(buf);
            return -1;
        }
        /* wall_time 09+8 bytes, then step 10 <varint> (0 absent). */
        steps[count++] = pl[9] == 0x10 ? pl[10] : 0;
        off += m;
    }
    free(buf);
    return count;
}

struct thr {
    struct cact_tfevent_writer *w;
    int t;
    int bad;
};

static void *put_thread(void *arg)
{
    struct thr *a = arg;
    for (int k = 96 - 4 + a->t; k >= 0; k -= 4) {
        struct cact_tfevent_pb b = {0};
        struct cact_err e;
        seq_recs(&b, (size_t)k);
        if (cact_tfevent_writer_put(a->w, (size_t)k, &b, &e) != CACT_OK)
            a->bad = 1;
    }
    return NULL;
}

static void test_writer(void)
{
    char dir[] = "/tmp/cifar-act-tfevent.XXXXXX", names[4][256], host[256], want[512];
    struct cact_tfevent_writer *w;
    struct cact_tfevent_pb b = {0};
    struct cact_err e;
    long steps[100];
    char path[1024];

    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/logs", dir);
    CHECK_EQ_INT(cact_tfevent_writer_open(&w, path, &e), CACT_OK);
    CHECK_EQ_INT(list_dir(path, names, 4), 1);
    gethostname(host, sizeof host);
    snprintf(want, sizeof want, ".%s.%ld.", host, (long)getpid());
    /* events.out.tfevents.<10 digits>.<host>.<pid>.<n> */
    CHECK_MSG(strncmp(names[0], "events.out.tfevents.", 20) == 0 &&
                  strspn(names[0] + 20, "0123456789") == 10 && strstr(names[0] + 30, want) ==
                  names[0] + 30, "name %s", names[0]);
    CHECK(strstr(cact_tfevent_writer_path(w), names[0]) != NULL);

    /* Out of order in, in order out; each seq once. */
    size_t order[] = {2, 0, 3, 1};
    for (int i = 0; i < 4; i++) {
        seq_recs(&b, order[i]);
        CHECK_EQ_INT(cact_tfevent_writer_put(w, order[i], &b, &e), CACT_OK);
        CHECK(b.data == NULL);
        if (order[i] == 2) {
            /* Not written yet: only the version record is in the file. */
            CHECK_EQ_INT(file_steps(cact_tfevent_writer_path(w), steps, 100), 0);
        }
    }
    seq_recs(&b, 1);
    CHECK_EQ_INT(cact_tfevent_writer_put(w, 1, &b, &e), CACT_ERR_USAGE);
    cact_tfevent_pb_free(&b);
    snprintf(path, sizeof path, "%s", cact_tfevent_writer_path(w));
    CHECK_EQ_INT(cact_tfevent_writer_close(w, &e), CACT_OK);
    CHECK_EQ_INT(file_steps(path, steps, 100), 4);
    CHECK(steps[0] == 0 && steps[1] == 1 && steps[2] == 2 && steps[3] == 3);

    /* A missing step: what came after it is never written, and close says so. */
    snprintf(path, sizeof path, "%s/gap", dir);
    CHECK_EQ_INT(cact_tfevent_writer_open(&w, path, &e), CACT_OK);
    seq_recs(&b, 0);
    cact_tfevent_writer_put(w, 0, &b, &e);
    seq_recs(&b, 2);
    cact_tfevent_writer_put(w, 2, &b, &e);
    snprintf(path, sizeof path, "%s", cact_tfevent_writer_path(w));
    CHECK_EQ_INT(cact_tfevent_writer_close(w, &e), CACT_ERR_FORMAT);
    CHECK_MSG(strstr(e.msg, "step 1") != NULL, "%s", e.msg);
    CHECK_EQ_INT(file_steps(path, steps, 100), 1);

    /* Four threads, each handing over its steps in reverse. */
    snprintf(path, sizeof path, "%s/threads", dir);
    CHECK_EQ_INT(cact_tfevent_writer_open(&w, path, &e), CACT_OK);
    pthread_t th[4];
    struct thr a[4];
    for (int t = 0; t < 4; t++) {
        a[t] = (struct thr){w, t, 0};
        pthread_create(&th[t], NULL, put_thread, &a[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(th[t], NULL);
        CHECK(!a[t].bad);
    }
    snprintf(path, sizeof path, "%s", cact_tfevent_writer_path(w));
    CHECK_EQ_INT(cact_tfevent_writer_close(w, &e), CACT_OK);
    int ok = file_steps(path, steps, 100) == 96;
    for (int k = 0; ok && k < 96; k++)
        ok = steps[k] == k;
    CHECK_MSG(ok, "96 steps from 4 threads in order");

    /* wall_time never goes back in file order: step 1, built at t=5, is written after
     * step 0 (t=7) and takes t=7, with a valid CRC. */
    snprintf(path, sizeof path, "%s/times", dir);
    CHECK_EQ_INT(cact_tfevent_writer_open(&w, path, &e), CACT_OK);
    cact_tfevent_text(&b, 5.0, 1, "k", "x");
    cact_tfevent_writer_put(w, 1, &b, &e);
    cact_tfevent_text(&b, 7.0, 0, "k", "x");
    cact_tfevent_text(&b, 6.0, 0, "k", "y");
    cact_tfevent_writer_put(w, 0, &b, &e);
    snprintf(path, sizeof path, "%s", cact_tfevent_writer_path(w));
    CHECK_EQ_INT(cact_tfevent_writer_close(w, &e), CACT_OK);
    {
        size_t n, off, m;
        uint8_t *buf = read_file(path, &n);
        const uint8_t *pl;
        uint64_t len;
        double times[3] = {7.0, 7.0, 7.0}, got[3] = {0, 0, 0};
        int k = 0;
        off = check_frame(buf, n, &pl, &len); /* the version record */
        while (off && off < n && k < 3 && (m = check_frame(buf + off, n - off, &pl, &len))) {
            memcpy(&got[k++], pl + 1, 8); /* little-endian host, as this test's framing */
            off += m;
        }
        CHECK_MSG(k == 3 && off == n && memcmp(got, times, sizeof got) == 0,
                  "%d records, times %g %g %g", k, got[0], got[1], got[2]);
        free(buf);
    }

    /* An unwritable place is an error naming it. */
    CHECK_EQ_INT(cact_tfevent_writer_open(&w, "/proc/no-such-dir/x", &e), CACT_ERR_IO);
    CHECK(w == NULL && strstr(e.msg, "/proc/no-such-dir") != NULL);

    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    CHECK(system(path) == 0);
}

/* ---- A minimal protobuf walker, to look inside tblog's records ---- */

static int pb_varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; *i < n && shift < 64; shift += 7) {
        uint8_t b = p[(*i)++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return 1;
    }
    return 0;
}

/* Field `field` of message p[0..n): for wire type 2 its bytes, for 0 its value, for 1
 * its 8 bytes. Returns 1 if found. */
static int pb_get(const uint8_t *p, size_t n, unsigned field, const uint8_t **v, size_t *vn,
                  uint64_t *num)
{
    size_t i = 0;
    uint64_t key, len;
    while (i < n && pb_varint(p, n, &i, &key)) {
        unsigned f = (unsigned)(key >> 3), w = (unsigned)(key & 7);
        const uint8_t *start = p + i;
        if (w == 0) {
            if (!pb_varint(p, n, &i, &len))
                return 0;
            if (f == field) {
                *num = len;
                return 1;
            }
            continue;
        }
        if (w == 1)
            len = 8;
        else if (w == 2 && pb_varint(p, n, &i, &len))
            start = p + i;
        else
            return 0;
        if (len > n - i)
            return 0;
        i += (size_t)len;
        if (f == field) {
            *v = start;
            *vn = (size_t)len;
            return 1;
        }
    }
    return 0;
}

/* tblog end to end without TensorBoard: steps handed over out of order come out in
 * order, each with input and output images whose decoded pixels are add_images'
 * quantization of the chain, and histograms counting every value. */
static void test_tblog(void)
{
    char dir[] = "/tmp/cifar-act-tblog.XXXXXX", cmd[256], path[1024], md[2048];
    uint8_t *px = malloc(10 * 3072);
    struct cact_act_chain chain = {0};
    float lut[3][256];
    struct cact_tblog *t;
    struct cact_err e;

    CHECK(mkdtemp(dir) != NULL);
    for (int i = 0; i < 10; i++)
        memset(px + (size_t)i * 3072, 20 * i, 3072);
    CHECK_EQ_INT(cact_act_parse("sigmoid", &chain.fn[0], &e), CACT_OK);
    chain.n = 1;
    cact_act_chain_lut(&chain, lut);
    cact_tblog_settings(md, sizeof md, &chain, 4, "| extra | row |\n");
    CHECK(strstr(md, "| functions | `sigmoid` |") && strstr(md, "| batch size | 4 |") &&
          strstr(md, "| normalize | no |") && strstr(md, "| extra | row |"));
    CHECK_EQ_INT(cact_tblog_open(&t, dir, NULL, &chain, 1, md, &e), CACT_OK);
    snprintf(path, sizeof path, "%s", cact_tblog_path(t));
    CHECK_EQ_INT(cact_tblog_batch(t, 1, px + 4 * 3072, 4, NULL, NULL, &e), CACT_OK);
    CHECK_EQ_INT(cact_tblog_batch(t, 2, px + 8 * 3072, 2, NULL, NULL, &e), CACT_OK);
    CHECK_EQ_INT(cact_tblog_batch(t, 0, px, 4, NULL, NULL, &e), CACT_OK);
    CHECK_EQ_INT(cact_tblog_close(t, &e), CACT_OK);

    size_t n, off = 0, m;
    uint8_t *buf = read_file(path, &n);
    const uint8_t *pl, *sum, *val, *img, *tag, *x;
    uint64_t len, num;
    size_t sn, vn, in, tn, xn;
    int rec = 0, ok_steps = 1, ok_pixels = 1, ok_histo = 1, images = 0, histos = 0;
    static const char *const order[4] = {"input", "output", "input/values", "output/values"};

    while (off < n && (m = check_frame(buf + off, n - off, &pl, &len)) != 0) {
        off += m;
        if (rec++ < 2)
            continue; /* version, settings */
        int k = (rec - 3) / 4, which = (rec - 3) % 4;
        uint64_t step = 0;
        pb_get(pl, (size_t)len, 2, &x, &xn, &step);
        ok_steps &= step == (uint64_t)k;
        if (!pb_get(pl, (size_t)len, 5, &sum, &sn, &num) ||
            !pb_get(sum, sn, 1, &val, &vn, &num) || !pb_get(val, vn, 1, &tag, &tn, &num) ||
            tn != strlen(order[which]) || memcmp(tag, order[which], tn) != 0) {
            ok_steps = 0;
            continue;
        }
        size_t first = k == 0 ? 0 : k == 1 ? 4 : 8, cnt = k == 2 ? 2 : 4;
        if (which < 2 && pb_get(val, vn, 4, &img, &in, &num) &&
            pb_get(img, in, 4, &x, &xn, &num)) {
            int w, h, c;
            uint8_t *d = stbi_load_from_memory(x, (int)xn, &w, &h, &c, 3);
            images++;
            ok_pixels &= d && w == 32 * (int)cnt && h == 32;
            for (size_t i = 0; d && ok_pixels && i < cnt; i++) {
                int b = 20 * (int)(first + i);
                float v = which == 0 ? (float)b / 255.0f : lut[0][b];
                uint8_t want = cact_grid_quantize(CACT_GRID_TENSORBOARD, v);
                ok_pixels &= d[(16 * (size_t)w + 32 * i + 5) * 3] == want;
            }
            stbi_image_free(d);
        } else if (which >= 2 && pb_get(val, vn, 5, &img, &in, &num)) {
            double dnum = 0, dsum = 0, want = 0;
            uint64_t bits = 0;
            histos++;
            if (pb_get(img, in, 3, &x, &xn, &num))
                for (int i = 0; i < 8; i++)
                    bits |= (uint64_t)x[i] << (8 * i);
            memcpy(&dnum, &bits, 8);
            bits = 0;
            if (pb_get(img, in, 4, &x, &xn, &num))
                for (int i = 0; i < 8; i++)
                    bits |= (uint64_t)x[i] << (8 * i);
            memcpy(&dsum, &bits, 8);
            for (size_t i = 0; i < cnt; i++)
                want += 3072.0 * (which == 2 ? (double)((float)(20 * (first + i)) / 255.0f)
                                             : (double)lut[0][20 * (first + i)]);
            ok_histo &= dnum == 3072.0 * (double)cnt && fabs(dsum - want) < 1e-6 * want;
        }
    }
    CHECK_EQ_INT(rec, 2 + 3 * 4);
    CHECK_EQ_INT(off, n);
    CHECK_MSG(ok_steps, "steps and tags in order");
    CHECK_MSG(images == 6 && ok_pixels, "image pixels (%d images)", images);
    CHECK_MSG(histos == 6 && ok_histo, "histograms (%d)", histos);
    free(buf);

    /* A chain that is not element-wise needs the output floats. */
    struct cact_act_chain sm = {0};
    cact_act_parse("softmax", &sm.fn[0], &e);
    sm.n = 1;
    CHECK_EQ_INT(cact_tblog_open(&t, dir, NULL, &sm, 1, NULL, &e), CACT_OK);
    CHECK_EQ_INT(cact_tblog_batch(t, 0, px, 4, NULL, NULL, &e), CACT_ERR_USAGE);
    cact_tblog_close(t, NULL);
    free(px);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    test_crc();
    test_encoding();
    test_framing();
    test_histo();
    test_writer();
    test_tblog();
    return check_summary("test_tfevent");
}
