/* test_cifar.c - the dataset loader on fixtures this test writes, bad files included,
 * and on the real test set (found by check_data_dir: $CA_DATA). */
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cifar.h"

static char root[256];

static void write_file(const char *rel, const void *data, size_t len)
{
    check_write_file(root, rel, data, len);
}

/* n CIFAR-10 records: label i % 10, pixel bytes (i*7 + j) & 255. */
static void write_records(const char *rel, size_t n, size_t first, int bad_label_at)
{
    size_t rec = 1 + CACT_CIFAR_PIXELS;
    uint8_t *buf = malloc(n * rec);
    for (size_t i = 0; i < n; i++) {
        size_t g = first + i;
        buf[i * rec] = (uint8_t)((int)i == bad_label_at ? 10 : g % 10);
        for (size_t j = 0; j < CACT_CIFAR_PIXELS; j++)
            buf[i * rec + 1 + j] = (uint8_t)((g * 7 + j) & 255);
    }
    write_file(rel, buf, n * rec);
    free(buf);
}

static const char meta[] = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";

static void test_good(void)
{
    struct cact_cifar_set *s = NULL;
    struct cact_err e;
    write_records("cifar-10-batches-bin/test_batch.bin", 20, 0, -1);
    write_file("cifar-10-batches-bin/batches.meta.txt", meta, strlen(meta));
    CHECK_EQ_INT(cact_cifar_open(&s, root, CACT_CIFAR_10, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, &e), CACT_OK);
    if (!s)
        return;
    CHECK_EQ_INT(cact_cifar_count(s), 20);
    CHECK_EQ_INT(cact_cifar_n_classes(s), 10);
    CHECK(strcmp(cact_cifar_class_name(s, 3), "cat") == 0);
    CHECK(strcmp(cact_cifar_class_name(s, 10), "?") == 0);

    /* Non-consecutive indices, and a run, in one call. */
    size_t idx[4] = {5, 6, 7, 2};
    uint8_t px[4 * CACT_CIFAR_PIXELS];
    int labels[4];
    CHECK_EQ_INT(cact_cifar_read(s, idx, 4, px, labels, &e), CACT_OK);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(labels[i], idx[i] % 10);
        CHECK_EQ_INT(px[i * CACT_CIFAR_PIXELS + 0], (idx[i] * 7) & 255);
        CHECK_EQ_INT(px[i * CACT_CIFAR_PIXELS + 3071], (idx[i] * 7 + 3071) & 255);
    }
    idx[0] = 20;
    CHECK_EQ_INT(cact_cifar_read(s, idx, 1, px, labels, &e), CACT_ERR_USAGE);
    cact_cifar_free(s);
}

static void test_train_files(void)
{
    struct cact_cifar_set *s = NULL;
    struct cact_err e;
    char rel[128];
    for (int f = 0; f < 5; f++) {
        snprintf(rel, sizeof rel, "cifar-10-batches-bin/data_batch_%d.bin", f + 1);
        write_records(rel, 3 + (size_t)f, (size_t)(f * 100), -1);
    }
    CHECK_EQ_INT(cact_cifar_open(&s, root, CACT_CIFAR_10, CACT_CIFAR_TRAIN, CACT_CIFAR_LABEL_FINE, &e), CACT_OK);
    if (!s)
        return;
    CHECK_EQ_INT(cact_cifar_count(s), 3 + 4 + 5 + 6 + 7);
    /* Index 3 is the first record of data_batch_2 (global id 100); a run across the
     * file boundary must be split correctly. */
    size_t idx[3] = {2, 3, 4};
    uint8_t px[3 * CACT_CIFAR_PIXELS];
    int labels[3];
    CHECK_EQ_INT(cact_cifar_read(s, idx, 3, px, labels, &e), CACT_OK);
    CHECK_EQ_INT(labels[0], 2);
    CHECK_EQ_INT(labels[1], 0);
    CHECK_EQ_INT(px[CACT_CIFAR_PIXELS + 1], (100 * 7 + 1) & 255);
    CHECK_EQ_INT(labels[2], 1);
    cact_cifar_free(s);
}

static void expect_open_error(enum cact_status want, const char *needle)
{
    struct cact_cifar_set *s = NULL;
    struct cact_err e;
    cact_err_clear(&e);
    enum cact_status st = cact_cifar_open(&s, root, CACT_CIFAR_10, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, &e);
    CHECK_MSG(st == want, "status %d, wanted %d (%s)", st, want, e.msg);
    CHECK_MSG(strstr(e.msg, needle) != NULL, "'%s' not in '%s'", needle, e.msg);
    CHECK(s == NULL);
    cact_cifar_free(s);
}

static void test_bad(void)
{
    char path[512];
    write_file("cifar-10-batches-bin/batches.meta.txt", meta, strlen(meta));

    write_records("cifar-10-batches-bin/test_batch.bin", 3, 0, -1);
    snprintf(path, sizeof path, "%s/cifar-10-batches-bin/test_batch.bin", root);
    CHECK(truncate(path, 3 * 3073 - 5) == 0);
    expect_open_error(CACT_ERR_FORMAT, "size 9214 bytes is not a multiple of the 3073-byte");

    write_file("cifar-10-batches-bin/test_batch.bin", "", 0);
    expect_open_error(CACT_ERR_FORMAT, "is empty");

    unlink(path);
    expect_open_error(CACT_ERR_MISSING, "test_batch.bin not found");

    write_records("cifar-10-batches-bin/test_batch.bin", 3, 0, -1);
    write_file("cifar-10-batches-bin/batches.meta.txt", "a\nb\n", 4);
    expect_open_error(CACT_ERR_FORMAT, "2 class names, expected 10");
    snprintf(path, sizeof path, "%s/cifar-10-batches-bin/batches.meta.txt", root);
    unlink(path);
    expect_open_error(CACT_ERR_MISSING, "batches.meta.txt not found");
    write_file("cifar-10-batches-bin/batches.meta.txt", meta, strlen(meta));

    /* A label out of range is found at open time (before any output), and named;
     * 300 records so the scan crosses a chunk boundary. */
    write_records("cifar-10-batches-bin/test_batch.bin", 300, 0, 290);
    expect_open_error(CACT_ERR_FORMAT, "record 290 has label 10, outside 0..9");

    /* Opened as verified, the scan is skipped, but reading that record still fails. */
    {
        struct cact_cifar_set *s = NULL;
        struct cact_err e;
        size_t idx[2] = { 289, 290 };
        uint8_t px[2 * CACT_CIFAR_PIXELS];
        int labels[2];

        cact_err_clear(&e);
        CHECK_EQ_INT(cact_cifar_open_verified(&s, root, CACT_CIFAR_10, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, &e),
                     CACT_OK);
        CHECK(s != NULL);
        CHECK_EQ_INT(s ? (int)cact_cifar_read(s, idx, 1, px, labels, &e) : -1, CACT_OK);
        CHECK_EQ_INT(s ? (int)cact_cifar_read(s, idx, 2, px, labels, &e) : -1, CACT_ERR_FORMAT);
        CHECK_MSG(strstr(e.msg, "record 290 has label 10") != NULL, "message '%s'", e.msg);
        cact_cifar_free(s);
    }
}

static void test_cifar100(void)
{
    struct cact_cifar_set *s = NULL;
    struct cact_err e;
    size_t rec = 2 + CACT_CIFAR_PIXELS;
    uint8_t buf[4 * (2 + CACT_CIFAR_PIXELS)];
    char names[100 * 8], *p = names;
    char path[512];

    snprintf(path, sizeof path, "%s/cifar-100-binary", root);
    mkdir(path, 0777);
    memset(buf, 9, sizeof buf);
    for (int i = 0; i < 4; i++) {
        buf[i * rec] = (uint8_t)(i + 1);      /* coarse */
        buf[i * rec + 1] = (uint8_t)(50 + i); /* fine */
    }
    write_file("cifar-100-binary/test.bin", buf, sizeof buf);
    for (int i = 0; i < 100; i++)
        p += sprintf(p, "f%d\n", i);
    write_file("cifar-100-binary/fine_label_names.txt", names, strlen(names));
    p = names;
    for (int i = 0; i < 20; i++)
        p += sprintf(p, "c%d\r\n", i);
    write_file("cifar-100-binary/coarse_label_names.txt", names, strlen(names));

    size_t idx[2] = {1, 3};
    uint8_t px[2 * CACT_CIFAR_PIXELS];
    int labels[2];
    CHECK_EQ_INT(cact_cifar_open(&s, root, CACT_CIFAR_100, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, &e), CACT_OK);
    if (s) {
        CHECK_EQ_INT(cact_cifar_read(s, idx, 2, px, labels, &e), CACT_OK);
        CHECK_EQ_INT(labels[0], 51);
        CHECK(strcmp(cact_cifar_class_name(s, 51), "f51") == 0);
        CHECK_EQ_INT(px[0], 9);
        cact_cifar_free(s);
    }
    CHECK_EQ_INT(cact_cifar_open(&s, root, CACT_CIFAR_100, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_COARSE, &e), CACT_OK);
    if (s) {
        CHECK_EQ_INT(cact_cifar_read(s, idx, 2, px, labels, &e), CACT_OK);
        CHECK_EQ_INT(labels[1], 4);
        CHECK(strcmp(cact_cifar_class_name(s, 4), "c4") == 0); /* \r stripped */
        cact_cifar_free(s);
    }
}

static void test_loader(void)
{
    struct cact_cifar_loader ld, ld2;
    struct cact_err e;
    size_t idx[64];

    CHECK_EQ_INT(cact_cifar_loader_init(&ld, 10000, 64, 0, 0, 0, &e), CACT_OK);
    CHECK_EQ_INT(ld.n_batches, 157);
    CHECK_EQ_INT(cact_cifar_loader_batch(&ld, 0, idx), 64);
    CHECK_EQ_INT(idx[63], 63);
    CHECK_EQ_INT(cact_cifar_loader_batch(&ld, 156, idx), 16);
    CHECK_EQ_INT(idx[0], 9984);
    CHECK_EQ_INT(cact_cifar_loader_batch(&ld, 157, idx), 0);
    cact_cifar_loader_free(&ld);

    CHECK_EQ_INT(cact_cifar_loader_init(&ld, 10000, 64, 1, 0, 0, &e), CACT_OK);
    CHECK_EQ_INT(ld.n_batches, 156);
    cact_cifar_loader_free(&ld);
    CHECK_EQ_INT(cact_cifar_loader_init(&ld, 10000, 0, 0, 0, 0, &e), CACT_ERR_USAGE);

    /* Shuffle: a permutation, the same for the same seed, different for another. */
    CHECK_EQ_INT(cact_cifar_loader_init(&ld, 1000, 1000, 0, 1, 42, &e), CACT_OK);
    CHECK_EQ_INT(cact_cifar_loader_init(&ld2, 1000, 1000, 0, 1, 42, &e), CACT_OK);
    CHECK(memcmp(ld.order, ld2.order, 1000 * sizeof *ld.order) == 0);
    char seen[1000] = {0};
    int moved = 0, dup = 0;
    for (size_t i = 0; i < 1000; i++) {
        dup += seen[ld.order[i]]++;
        moved += ld.order[i] != i;
    }
    CHECK_EQ_INT(dup, 0);
    CHECK(moved > 900);
    cact_cifar_loader_free(&ld2);
    CHECK_EQ_INT(cact_cifar_loader_init(&ld2, 1000, 1000, 0, 1, 43, &e), CACT_OK);
    CHECK(memcmp(ld.order, ld2.order, 1000 * sizeof *ld.order) != 0);
    /* Same seed, same order on every machine and version: pin a few entries. */
    CHECK_EQ_INT(ld.order[0], 650);
    CHECK_EQ_INT(ld.order[1], 152);
    CHECK_EQ_INT(ld.order[999], 413);
    cact_cifar_loader_free(&ld);
    cact_cifar_loader_free(&ld2);
}

static void test_real(void)
{
    char dir[512];
    struct cact_cifar_set *s = NULL;
    struct cact_err e;
    const char *real = check_data_dir();
    if (!real) {
        CHECK_MSG(0, "the real test set was not found (see the line above)");
        return;
    }
    if (snprintf(dir, sizeof dir, "%s", real) >= (int)sizeof dir) {
        CHECK_MSG(0, "data path too long: %s", real);
        return;
    }
    if (cact_cifar_open(&s, dir, CACT_CIFAR_10, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, &e) != CACT_OK) {
        fprintf(stderr, "real test set not available: %s\n", e.msg);
        CHECK_MSG(0, "the real test set must be at $CA_DATA/cifar-10-batches-bin");
        return;
    }
    CHECK_EQ_INT(cact_cifar_count(s), 10000);
    CHECK(strcmp(cact_cifar_class_name(s, 0), "airplane") == 0);
    CHECK(strcmp(cact_cifar_class_name(s, 9), "truck") == 0);
    /* The first test images are a cat, a ship, a ship, an airplane. */
    size_t idx[4] = {0, 1, 2, 3};
    uint8_t px[4 * CACT_CIFAR_PIXELS];
    int labels[4];
    CHECK_EQ_INT(cact_cifar_read(s, idx, 4, px, labels, &e), CACT_OK);
    CHECK_EQ_INT(labels[0], 3);
    CHECK_EQ_INT(labels[1], 8);
    CHECK_EQ_INT(labels[2], 8);
    CHECK_EQ_INT(labels[3], 0);
    cact_cifar_free(s);
}

int main(void)
{
    char path[512];
    snprintf(root, sizeof root, "%s/test_cifar.XXXXXX", check_env("TMPDIR", "/tmp"));
    if (!mkdtemp(root))
        return 2;
    snprintf(path, sizeof path, "%s/cifar-10-batches-bin", root);
    mkdir(path, 0777);
    test_good();
    test_train_files();
    test_bad();
    test_cifar100();
    test_loader();
    test_real();
    snprintf(path, sizeof path, "rm -rf '%s'", root);
    if (system(path) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return check_summary("test_cifar");
}
