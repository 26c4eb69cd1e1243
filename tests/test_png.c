/* test_png.c - pngw: round trips through stb_image (decoded pixels, never bytes),
 * the per-row filter choice against a plain reference, argument checks, atomic writes
 * and their failures, concurrent encodes.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image.h>
#include <zlib.h>

#include "check.h"
#include "pngw.h"

/* ---- Helpers ---- */

/* A test image with flat areas, gradients and noise, so every PNG filter and both
 * literal and match paths of deflate get used. */
static uint8_t *make_image(int w, int h, uint32_t seed)
{
    uint8_t *p = malloc((size_t)3 * w * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = p + ((size_t)y * w + x) * 3;
            seed = seed * 1664525u + 1013904223u;
            if (x < w / 3) {                /* flat block */
                q[0] = 10, q[1] = 200, q[2] = 30;
            } else if (x < 2 * w / 3) {     /* gradients */
                q[0] = (uint8_t)(x * 3), q[1] = (uint8_t)(y * 5), q[2] = (uint8_t)(x + y);
            } else {                        /* noise */
                q[0] = (uint8_t)(seed >> 24), q[1] = (uint8_t)(seed >> 16), q[2] = (uint8_t)(seed >> 8);
            }
        }
    return p;
}

/* Decode png with stb_image; 1 if it is a w x h RGB image equal to rgb. */
static int decodes_to(const unsigned char *png, size_t len, const uint8_t *rgb, int w, int h)
{
    int dw, dh, comp;
    unsigned char *d = stbi_load_from_memory(png, (int)len, &dw, &dh, &comp, 3);
    int ok = d && dw == w && dh == h && comp == 3 &&
             memcmp(d, rgb, (size_t)3 * w * h) == 0;
    if (!d)
        fprintf(stderr, "stb_image: %s\n", stbi_failure_reason());
    stbi_image_free(d);
    return ok;
}

static int file_decodes_to(const char *path, const uint8_t *rgb, int w, int h)
{
    int dw, dh, comp;
    unsigned char *d = stbi_load(path, &dw, &dh, &comp, 3);
    int ok = d && dw == w && dh == h && comp == 3 && memcmp(d, rgb, (size_t)3 * w * h) == 0;
    stbi_image_free(d);
    return ok;
}

/* Number of entries in dir other than . and .. */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static char tmpdir[4096];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/test_png.XXXXXX", check_env("TMPDIR", "/tmp"));
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        exit(1);
    }
}

/* ---- Round trips ---- */

static void test_round_trip(void)
{
    static const int sizes[][2] = { { 1, 1 }, { 2, 1 }, { 1, 2 }, { 3, 5 }, { 31, 7 },
                                    { 33, 33 }, { 274, 274 }, { 275, 13 }, { 1001, 3 },
                                    { 2, 600 } };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int w = sizes[i][0], h = sizes[i][1];
        uint8_t *rgb = make_image(w, h, (uint32_t)i);
        for (int level = 0; level <= 9; level++) {
            unsigned char *png = NULL;
            size_t len = 0;
            struct cact_err err;
            cact_err_clear(&err);
            enum cact_status st = cact_pngw_encode(rgb, w, h, level, &png, &len, &err);
            CHECK_MSG(st == CACT_OK, "%dx%d level %d: %s", w, h, level, err.msg);
            CHECK_MSG(png && len > 8 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0,
                      "%dx%d level %d: no PNG signature", w, h, level);
            CHECK_MSG(png && decodes_to(png, len, rgb, w, h), "%dx%d level %d: pixels differ",
                      w, h, level);
            free(png);
        }
        free(rgb);
    }
}

/* An image whose deflate output is too big for the per-thread buffer takes the
 * malloc path; encodes before and after it on the same thread still round-trip. */
static void test_big_then_small(void)
{
    int sizes[3][2] = { { 40, 30 }, { 2000, 1500 }, { 41, 29 } };
    for (int i = 0; i < 3; i++) {
        int w = sizes[i][0], h = sizes[i][1];
        uint8_t *rgb = make_image(w, h, (uint32_t)i + 5);
        unsigned char *png = NULL;
        size_t len = 0;
        CHECK(cact_pngw_encode(rgb, w, h, i == 1 ? 0 : CACT_PNGW_DEFAULT_LEVEL, &png, &len, NULL) == CACT_OK);
        CHECK_MSG(png && decodes_to(png, len, rgb, w, h), "%dx%d: pixels differ", w, h);
        free(png);
        free(rgb);
    }
}

/* Level 0 stores, higher levels compress: a sanity check that the level reaches zlib. */
static void test_levels_compress(void)
{
    int w = 274, h = 274;
    uint8_t *rgb = make_image(w, h, 7);
    size_t len[10];
    for (int level = 0; level <= 9; level++) {
        unsigned char *png = NULL;
        CHECK(cact_pngw_encode(rgb, w, h, level, &png, &len[level], NULL) == CACT_OK);
        free(png);
    }
    CHECK_MSG(len[0] > (size_t)3 * w * h, "level 0 is %zu bytes", len[0]);
    CHECK_MSG(len[CACT_PNGW_DEFAULT_LEVEL] < len[0] / 2, "default level %zu vs stored %zu",
              len[CACT_PNGW_DEFAULT_LEVEL], len[0]);
    CHECK_MSG(len[9] <= len[1], "level 9 %zu > level 1 %zu", len[9], len[1]);
    free(rgb);
}

/* ---- Filters ---- */

/* The filtered scanlines inside png: its IDAT chunks joined and inflated. Expects
 * exactly (3w+1)*h bytes; returns a malloc'd buffer, or NULL if the PNG does not
 * parse, a chunk's CRC is wrong (stb_image does not check them; zlib's crc32 is the
 * reference here), or it does not inflate to that size. */
static uint8_t *idat_rows(const unsigned char *png, size_t len, int w, int h)
{
    size_t want = ((size_t)3 * w + 1) * h, zlen = 0, pos = 8;
    unsigned char *z = malloc(len);
    uint8_t *rows = malloc(want);
    uLongf got = (uLongf)want;

    while (z && rows && pos + 12 <= len) {
        size_t n = (size_t)png[pos] << 24 | (size_t)png[pos + 1] << 16 |
                   (size_t)png[pos + 2] << 8 | png[pos + 3];
        const unsigned char *crc;
        if (n > len - pos - 12)
            break;
        crc = png + pos + 8 + n;
        if (crc32(0L, png + pos + 4, (uInt)(n + 4)) !=
            ((uLong)crc[0] << 24 | (uLong)crc[1] << 16 | (uLong)crc[2] << 8 | crc[3])) {
            zlen = 0; /* fails the size check below */
            break;
        }
        if (memcmp(png + pos + 4, "IDAT", 4) == 0) {
            memcpy(z + zlen, png + pos + 8, n);
            zlen += n;
        }
        pos += n + 12;
    }
    if (!z || !rows || uncompress(rows, &got, z, (uLong)zlen) != Z_OK || got != want) {
        free(rows);
        rows = NULL;
    }
    free(z);
    return rows;
}

static int ref_paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Filter f (0 None .. 4 Paeth) applied to byte i of row z, straight from the PNG
 * spec; up is the previous row, NULL for the first row (then it counts as zeros). */
static uint8_t ref_filter_byte(int f, const uint8_t *z, const uint8_t *up, size_t i)
{
    int x = z[i], a = i >= 3 ? z[i - 3] : 0, b = up ? up[i] : 0;
    int c = up && i >= 3 ? up[i - 3] : 0;
    static const int none = 0;
    switch (f) {
    case 1: return (uint8_t)(x - a);
    case 2: return (uint8_t)(x - b);
    case 3: return (uint8_t)(x - (a + b) / 2);
    case 4: return (uint8_t)(x - ref_paeth(a, b, c));
    default: return (uint8_t)(x - none);
    }
}

/* The filtered scanlines stb's heuristic gives (libpng's too): per row, the filter
 * with the least sum of |(signed char)byte|, ties to the lower type. Counts the
 * filters chosen into used[5]. */
static uint8_t *ref_rows(const uint8_t *rgb, int w, int h, int used[5])
{
    size_t rb = (size_t)3 * w;
    uint8_t *rows = malloc((rb + 1) * h);
    for (int y = 0; y < h; y++) {
        const uint8_t *z = rgb + rb * y, *up = y ? z - rb : NULL;
        uint8_t *out = rows + (rb + 1) * y;
        long best_cost = -1;
        int best = 0;
        for (int f = 0; f < 5; f++) {
            long cost = 0;
            for (size_t i = 0; i < rb; i++)
                cost += abs((signed char)ref_filter_byte(f, z, up, i));
            if (best_cost < 0 || cost < best_cost)
                best_cost = cost, best = f;
        }
        out[0] = (uint8_t)best;
        for (size_t i = 0; i < rb; i++)
            out[i + 1] = ref_filter_byte(best, z, up, i);
        used[best]++;
    }
    return rows;
}

/* Rows of different character, so that every filter wins somewhere: noise (None),
 * horizontal ramps (Sub), rows repeating the one above (Up), smooth 2-D gradients
 * (Average, Paeth), small noise on top of each, and values from a three-letter
 * alphabet, where Paeth wins and its a/b/c ties decide the output. */
static uint8_t *make_mixed(int w, int h, uint32_t seed)
{
    uint8_t *p = malloc((size_t)3 * w * h);
    int kind = 0;
    for (int y = 0; y < h; y++) {
        seed = seed * 1664525u + 1013904223u;
        if (y % 4 == 0)
            kind = (int)(seed >> 28) % 7;
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                uint8_t *q = p + ((size_t)y * w + x) * 3 + c;
                seed = seed * 1664525u + 1013904223u;
                int noise = (int)(seed >> 29) - 4;
                switch (kind) {
                case 0: *q = (uint8_t)(seed >> 24); break;
                case 1: *q = (uint8_t)(x * (c + 3) + noise); break;
                case 2: *q = y ? q[-3 * w] : (uint8_t)(seed >> 24); break;
                case 3: *q = (uint8_t)((x * 7 + y * 5) * (c + 1) / 4 + noise); break;
                case 4: *q = (uint8_t)(x * x / 8 + y * (c + 2) + (noise & 1)); break;
                case 5: *q = (uint8_t)(120 + 8 * ((seed >> 24) % 3)); break;
                default: *q = (uint8_t)(200 + noise); break;
                }
            }
    }
    return p;
}

/* The encoder's filtered rows equal the reference byte for byte (so the filter choice
 * and every filter's arithmetic are checked, not just that the result decodes), and
 * decode to the original pixels; across the images every filter type is used. */
static void test_filters(void)
{
    static const int sizes[][2] = { { 1, 1 }, { 1, 9 }, { 9, 1 }, { 2, 3 }, { 7, 7 },
                                    { 33, 17 }, { 64, 1 }, { 275, 40 }, { 274, 274 } };
    int used[5] = { 0 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int variant = 0; variant < 3; variant++) {
            int w = sizes[i][0], h = sizes[i][1];
            uint8_t *rgb = variant == 2 ? make_image(w, h, (uint32_t)(i + 77))
                                        : make_mixed(w, h, (uint32_t)(i * 3 + variant));
            uint8_t *want = ref_rows(rgb, w, h, used), *got = NULL;
            unsigned char *png = NULL;
            size_t len = 0;
            /* stored (zlib), the default (ISA-L) and the smallest (zlib) */
            static const int levels[] = { 0, CACT_PNGW_DEFAULT_LEVEL, 9 };
            for (size_t li = 0; li < sizeof levels / sizeof levels[0]; li++) {
                int level = levels[li];
                CHECK(cact_pngw_encode(rgb, w, h, level, &png, &len, NULL) == CACT_OK);
                got = png ? idat_rows(png, len, w, h) : NULL;
                CHECK_MSG(got && memcmp(got, want, ((size_t)3 * w + 1) * h) == 0,
                          "%dx%d variant %d level %d: filtered rows differ from the reference",
                          w, h, variant, level);
                CHECK_MSG(png && decodes_to(png, len, rgb, w, h),
                          "%dx%d variant %d level %d: pixels differ", w, h, variant, level);
                free(got);
                free(png);
            }
            free(want);
            free(rgb);
        }
    }
    for (int f = 0; f < 5; f++)
        CHECK_MSG(used[f] > 0, "filter %d never chosen: the test images miss a case", f);
}

/* A smooth gradient compresses far better filtered than unfiltered: deflating the same
 * rows with every filter byte None (same zlib settings as the default level) must give
 * at least twice the encoder's IDAT. Fails if filtering is skipped or broken. */
static void test_filter_helps(void)
{
    int w = 274, h = 274;
    size_t rb = (size_t)3 * w, n = (rb + 1) * h, len = 0;
    uint8_t *rgb = malloc(rb * h), *none = malloc(n);
    unsigned char *png = NULL, *z = malloc(compressBound((uLong)n));
    z_stream s;

    for (int y = 0; y < h; y++)
        for (size_t i = 0; i < rb; i++)
            rgb[rb * y + i] = (uint8_t)((int)(i / 3) * (int)(i % 3 + 1) + y * 2);
    for (int y = 0; y < h; y++) {
        none[(rb + 1) * y] = 0;
        memcpy(none + (rb + 1) * y + 1, rgb + rb * y, rb);
    }
    memset(&s, 0, sizeof s);
    CHECK(deflateInit2(&s, 1, Z_DEFLATED, 15, 9, Z_RLE) == Z_OK);
    s.next_in = none;
    s.avail_in = (uInt)n;
    s.next_out = z;
    s.avail_out = (uInt)compressBound((uLong)n);
    CHECK(deflate(&s, Z_FINISH) == Z_STREAM_END);
    CHECK(cact_pngw_encode(rgb, w, h, CACT_PNGW_DEFAULT_LEVEL, &png, &len, NULL) == CACT_OK);
    CHECK_MSG(len * 2 < s.total_out, "filtered PNG %zu bytes, unfiltered deflate %lu", len,
              (unsigned long)s.total_out);
    deflateEnd(&s);
    free(png);
    free(z);
    free(none);
    free(rgb);
}

static void test_bad_args(void)
{
    uint8_t px[3] = { 1, 2, 3 };
    unsigned char *png = (unsigned char *)"x";
    size_t len = 99;
    struct cact_err err;

    CHECK_EQ_INT(cact_pngw_encode(px, 1, 1, -1, &png, &len, &err), CACT_ERR_USAGE);
    CHECK(png == NULL && len == 0);
    CHECK(strstr(err.msg, "-1") != NULL);
    CHECK_EQ_INT(cact_pngw_encode(px, 1, 1, 10, &png, &len, &err), CACT_ERR_USAGE);
    CHECK_EQ_INT(cact_pngw_encode(px, 0, 1, 1, &png, &len, &err), CACT_ERR_USAGE);
    CHECK_EQ_INT(cact_pngw_encode(px, 1, 0, 1, &png, &len, &err), CACT_ERR_USAGE);
    CHECK_EQ_INT(cact_pngw_encode(px, -3, 5, 1, &png, &len, &err), CACT_ERR_USAGE);
    CHECK_EQ_INT(cact_pngw_encode(px, 1 << 30, 1 << 30, 1, &png, &len, &err), CACT_ERR_USAGE);
    CHECK(png == NULL);
    CHECK_EQ_INT(cact_pngw_encode(px, 1, 1, 1, &png, &len, NULL), CACT_OK); /* err may be NULL */
    free(png);
}

/* ---- Files ---- */

static void test_atomic_write(void)
{
    char path[4200];
    int w = 40, h = 9;
    uint8_t *a = make_image(w, h, 1), *b = make_image(h, w, 2);
    struct cact_err err;

    snprintf(path, sizeof path, "%s/out.png", tmpdir);
    cact_err_clear(&err);
    size_t bytes = 1;
    struct stat sb;
    CHECK_EQ_INT(cact_pngw_write_atomic(path, a, w, h, CACT_PNGW_DEFAULT_LEVEL, &bytes, &err), CACT_OK);
    CHECK(file_decodes_to(path, a, w, h));
    CHECK(stat(path, &sb) == 0 && (size_t)sb.st_size == bytes); /* the size run reports */
    CHECK_EQ_INT(dir_entries(tmpdir), 1); /* no temporary left behind */

    /* Replacing an existing file (different size, so the old one must be gone). */
    CHECK_EQ_INT(cact_pngw_write_atomic(path, b, h, w, 9, NULL, &err), CACT_OK);
    CHECK(file_decodes_to(path, b, h, w));
    CHECK_EQ_INT(dir_entries(tmpdir), 1);

    /* A bad level fails before touching the file. */
    CHECK_EQ_INT(cact_pngw_write_atomic(path, a, w, h, 11, &bytes, &err), CACT_ERR_USAGE);
    CHECK(bytes == 0);
    CHECK(file_decodes_to(path, b, h, w));
    CHECK_EQ_INT(dir_entries(tmpdir), 1);
    unlink(path);
    free(a);
    free(b);
}

static void test_write_failures(void)
{
    char dir[4200], path[4300], file[4200];
    uint8_t px[12] = { 0 };
    struct cact_err err;
    struct stat sb;

    /* Missing directory: fails, names the path, creates nothing. */
    snprintf(dir, sizeof dir, "%s/missing", tmpdir);
    snprintf(path, sizeof path, "%s/x.png", dir);
    cact_err_clear(&err);
    CHECK_EQ_INT(cact_pngw_write_atomic(path, px, 2, 2, 1, NULL, &err), CACT_ERR_IO);
    CHECK_MSG(strstr(err.msg, path) != NULL, "message '%s' does not name %s", err.msg, path);
    CHECK(stat(dir, &sb) != 0 && errno == ENOENT);
    CHECK_EQ_INT(dir_entries(tmpdir), 0);

    /* A "directory" that is a regular file: fails even for root. */
    snprintf(file, sizeof file, "%s/plain", tmpdir);
    FILE *f = fopen(file, "w");
    CHECK(f && fclose(f) == 0);
    snprintf(path, sizeof path, "%s/x.png", file);
    cact_err_clear(&err);
    CHECK_EQ_INT(cact_pngw_write_atomic(path, px, 2, 2, 1, NULL, &err), CACT_ERR_IO);
    CHECK_MSG(strstr(err.msg, path) != NULL, "message '%s' does not name %s", err.msg, path);
    CHECK_EQ_INT(dir_entries(tmpdir), 1);
    unlink(file);

    /* path itself is a directory: the unlink before the rename must not remove it,
     * and the failure names path and leaves no temporary behind. */
    snprintf(dir, sizeof dir, "%s/taken.png", tmpdir);
    CHECK(mkdir(dir, 0700) == 0);
    cact_err_clear(&err);
    CHECK_EQ_INT(cact_pngw_write_atomic(dir, px, 2, 2, 1, NULL, &err), CACT_ERR_IO);
    CHECK_MSG(strstr(err.msg, dir) != NULL, "message '%s' does not name %s", err.msg, dir);
    CHECK(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode));
    CHECK_EQ_INT(dir_entries(tmpdir), 1);
    rmdir(dir);

    /* Unwritable directory (meaningless as root, who may write anyway). */
    snprintf(dir, sizeof dir, "%s/ro", tmpdir);
    CHECK(mkdir(dir, 0500) == 0);
    if (access(dir, W_OK) != 0) {
        snprintf(path, sizeof path, "%s/x.png", dir);
        cact_err_clear(&err);
        CHECK_EQ_INT(cact_pngw_write_atomic(path, px, 2, 2, 1, NULL, &err), CACT_ERR_IO);
        CHECK_MSG(strstr(err.msg, path) != NULL, "message '%s' does not name %s", err.msg,
                  path);
        CHECK_EQ_INT(dir_entries(dir), 0);
    } else {
        printf("skipped the read-only directory check: running as root\n");
    }
    rmdir(dir);
}

/* ---- Threads ---- */

/* Two threads encode the same image at different levels at once; each must get exactly
 * what a lone encode at its level gives. Comparing bytes is the point here: a level
 * leaking from the other thread would still decode correctly. */
struct job {
    const uint8_t *rgb;
    int w, h, level, rounds, mismatches;
    const unsigned char *want;
    size_t want_len;
};

static void *encode_loop(void *arg)
{
    struct job *j = arg;
    for (int i = 0; i < j->rounds; i++) {
        unsigned char *png = NULL;
        size_t len = 0;
        if (cact_pngw_encode(j->rgb, j->w, j->h, j->level, &png, &len, NULL) != CACT_OK ||
            len != j->want_len || memcmp(png, j->want, len) != 0)
            j->mismatches++;
        free(png);
    }
    return NULL;
}

static void test_threads(void)
{
    int w = 120, h = 60;
    uint8_t *rgb = make_image(w, h, 3);
    struct job jobs[3] = { { rgb, w, h, 0, 40, 0, NULL, 0 },
                           { rgb, w, h, 1, 40, 0, NULL, 0 },
                           { rgb, w, h, 9, 40, 0, NULL, 0 } };
    unsigned char *want[3];
    pthread_t th[3];

    for (int i = 0; i < 3; i++)
        CHECK(cact_pngw_encode(rgb, w, h, jobs[i].level, &want[i], &jobs[i].want_len, NULL) == CACT_OK);
    for (int i = 0; i < 3; i++) {
        jobs[i].want = want[i];
        CHECK(pthread_create(&th[i], NULL, encode_loop, &jobs[i]) == 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        CHECK_MSG(jobs[i].mismatches == 0, "level %d: %d mismatches", jobs[i].level,
                  jobs[i].mismatches);
        free(want[i]);
    }
    CHECK(jobs[0].want_len != jobs[2].want_len);
    free(rgb);
}

int main(void)
{
    make_tmpdir();
    test_round_trip();
    test_levels_compress();
    test_filters();
    test_filter_helps();
    test_big_then_small();
    test_bad_args();
    test_atomic_write();
    test_write_failures();
    test_threads();
    rmdir(tmpdir);
    return check_summary("test_png");
}
