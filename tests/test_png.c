/* test_png.c - pngw: round trips through stb_image (decoded pixels, never bytes),
 * argument checks, atomic writes and their failures, concurrent encodes.
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
            struct ca_err err;
            ca_err_clear(&err);
            enum ca_status st = pngw_encode(rgb, w, h, level, &png, &len, &err);
            CHECK_MSG(st == CA_OK, "%dx%d level %d: %s", w, h, level, err.msg);
            CHECK_MSG(png && len > 8 && memcmp(png, "\x89PNG\r\n\x1a\n", 8) == 0,
                      "%dx%d level %d: no PNG signature", w, h, level);
            CHECK_MSG(png && decodes_to(png, len, rgb, w, h), "%dx%d level %d: pixels differ",
                      w, h, level);
            free(png);
        }
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
        CHECK(pngw_encode(rgb, w, h, level, &png, &len[level], NULL) == CA_OK);
        free(png);
    }
    CHECK_MSG(len[0] > (size_t)3 * w * h, "level 0 is %zu bytes", len[0]);
    CHECK_MSG(len[PNGW_DEFAULT_LEVEL] < len[0] / 2, "default level %zu vs stored %zu",
              len[PNGW_DEFAULT_LEVEL], len[0]);
    CHECK_MSG(len[9] <= len[1], "level 9 %zu > level 1 %zu", len[9], len[1]);
    free(rgb);
}

static void test_bad_args(void)
{
    uint8_t px[3] = { 1, 2, 3 };
    unsigned char *png = (unsigned char *)"x";
    size_t len = 99;
    struct ca_err err;

    CHECK_EQ_INT(pngw_encode(px, 1, 1, -1, &png, &len, &err), CA_ERR_USAGE);
    CHECK(png == NULL && len == 0);
    CHECK(strstr(err.msg, "-1") != NULL);
    CHECK_EQ_INT(pngw_encode(px, 1, 1, 10, &png, &len, &err), CA_ERR_USAGE);
    CHECK_EQ_INT(pngw_encode(px, 0, 1, 1, &png, &len, &err), CA_ERR_USAGE);
    CHECK_EQ_INT(pngw_encode(px, 1, 0, 1, &png, &len, &err), CA_ERR_USAGE);
    CHECK_EQ_INT(pngw_encode(px, -3, 5, 1, &png, &len, &err), CA_ERR_USAGE);
    CHECK_EQ_INT(pngw_encode(px, 1 << 30, 1 << 30, 1, &png, &len, &err), CA_ERR_USAGE);
    CHECK(png == NULL);
    CHECK_EQ_INT(pngw_encode(px, 1, 1, 1, &png, &len, NULL), CA_OK); /* err may be NULL */
    free(png);
}

/* ---- Files ---- */

static void test_atomic_write(void)
{
    char path[4200];
    int w = 40, h = 9;
    uint8_t *a = make_image(w, h, 1), *b = make_image(h, w, 2);
    struct ca_err err;

    snprintf(path, sizeof path, "%s/out.png", tmpdir);
    ca_err_clear(&err);
    CHECK_EQ_INT(pngw_write_atomic(path, a, w, h, PNGW_DEFAULT_LEVEL, &err), CA_OK);
    CHECK(file_decodes_to(path, a, w, h));
    CHECK_EQ_INT(dir_entries(tmpdir), 1); /* no temporary left behind */

    /* Replacing an existing file (different size, so the old one must be gone). */
    CHECK_EQ_INT(pngw_write_atomic(path, b, h, w, 9, &err), CA_OK);
    CHECK(file_decodes_to(path, b, h, w));
    CHECK_EQ_INT(dir_entries(tmpdir), 1);

    /* A bad level fails before touching the file. */
    CHECK_EQ_INT(pngw_write_atomic(path, a, w, h, 11, &err), CA_ERR_USAGE);
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
    struct ca_err err;
    struct stat sb;

    /* Missing directory: fails, names the path, creates nothing. */
    snprintf(dir, sizeof dir, "%s/missing", tmpdir);
    snprintf(path, sizeof path, "%s/x.png", dir);
    ca_err_clear(&err);
    CHECK_EQ_INT(pngw_write_atomic(path, px, 2, 2, 1, &err), CA_ERR_IO);
    CHECK_MSG(strstr(err.msg, path) != NULL, "message '%s' does not name %s", err.msg, path);
    CHECK(stat(dir, &sb) != 0 && errno == ENOENT);
    CHECK_EQ_INT(dir_entries(tmpdir), 0);

    /* A "directory" that is a regular file: fails even for root. */
    snprintf(file, sizeof file, "%s/plain", tmpdir);
    FILE *f = fopen(file, "w");
    CHECK(f && fclose(f) == 0);
    snprintf(path, sizeof path, "%s/x.png", file);
    ca_err_clear(&err);
    CHECK_EQ_INT(pngw_write_atomic(path, px, 2, 2, 1, &err), CA_ERR_IO);
    CHECK_MSG(strstr(err.msg, path) != NULL, "message '%s' does not name %s", err.msg, path);
    CHECK_EQ_INT(dir_entries(tmpdir), 1);
    unlink(file);

    /* Unwritable directory (meaningless as root, who may write anyway). */
    snprintf(dir, sizeof dir, "%s/ro", tmpdir);
    CHECK(mkdir(dir, 0500) == 0);
    if (access(dir, W_OK) != 0) {
        snprintf(path, sizeof path, "%s/x.png", dir);
        ca_err_clear(&err);
        CHECK_EQ_INT(pngw_write_atomic(path, px, 2, 2, 1, &err), CA_ERR_IO);
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
        if (pngw_encode(j->rgb, j->w, j->h, j->level, &png, &len, NULL) != CA_OK ||
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
        CHECK(pngw_encode(rgb, w, h, jobs[i].level, &want[i], &jobs[i].want_len, NULL) == CA_OK);
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
    test_bad_args();
    test_atomic_write();
    test_write_failures();
    test_threads();
    rmdir(tmpdir);
    return check_summary("test_png");
}
