/* fuzz_dataset.c - libFuzzer target for the dataset loader (src/cifar.c) on arbitrary
 * files: cact_cifar_open on a data directory whose record file or class-name file holds
 * the fuzzer's bytes, then reads through cact_cifar_loader like the job does.
 *
 * Input: byte 0 picks the case: bit 0 the kind (CIFAR-10 / CIFAR-100), bit 1 which
 * file gets the payload (records / class names; the other one is valid), bit 2 the
 * label kind (CIFAR-100), bit 3 shuffled order. Files live in one directory per
 * process under $TMPDIR (rewritten every input). Nothing else on disk is touched.
 * Build: make fuzz; run: tools/fuzz.sh [SECONDS]. Seeds: tests/fuzz/dataset/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cifar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[256];

static int put(const char *dir, const char *name, const void *p, size_t n)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s/%s", root, dir, name);
    f = fopen(path, "wb");
    if (!f)
        return -1;
    if (n && fwrite(p, 1, n, f) != n) {
        fclose(f);
        return -1;
    }
    return fclose(f);
}

static void setup(void)
{
    char d[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/cact-fuzz-dataset.%ld", tmp && *tmp ? tmp : "/tmp",
             (long)getpid());
    mkdir(root, 0700);
    snprintf(d, sizeof d, "%s/cifar-10-batches-bin", root);
    mkdir(d, 0700);
    snprintf(d, sizeof d, "%s/cifar-100-binary", root);
    mkdir(d, 0700);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char c10_meta[] = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\n"
                                    "ship\ntruck\n";
    static char c100_fine[100 * 4], c100_coarse[20 * 4];
    static uint8_t record[3074 * 3];
    struct cact_cifar_set *s = NULL;
    struct cact_cifar_loader ld;
    struct cact_err err;
    int mode, c100;
    const uint8_t *p;
    size_t n;

    if (!root[0]) {
        setup();
        for (int i = 0; i < 100; i++)
            memcpy(c100_fine + 4 * i, (char[]){ 'f', (char)('0' + i / 10), (char)('0' + i % 10), '\n' }, 4);
        for (int i = 0; i < 20; i++)
            memcpy(c100_coarse + 4 * i, (char[]){ 'c', (char)('0' + i / 10), (char)('0' + i % 10), '\n' }, 4);
    }
    if (size < 1 || size > (1u << 20))
        return 0;
    mode = data[0];
    p = data + 1;
    n = size - 1;
    c100 = mode & 1;
    const char *dir = c100 ? "cifar-100-binary" : "cifar-10-batches-bin";
    const char *recs = c100 ? "test.bin" : "test_batch.bin";
    if (mode & 2) { /* payload is the class names; records are valid */
        if (put(dir, recs, record, sizeof record) != 0)
            return 0;
        if (c100) {
            put(dir, "fine_label_names.txt", p, n);
            put(dir, "coarse_label_names.txt", p, n);
        } else {
            put(dir, "batches.meta.txt", p, n);
        }
    } else {
        if (put(dir, recs, p, n) != 0)
            return 0;
        if (c100) {
            put(dir, "fine_label_names.txt", c100_fine, sizeof c100_fine);
            put(dir, "coarse_label_names.txt", c100_coarse, sizeof c100_coarse);
        } else {
            put(dir, "batches.meta.txt", c10_meta, sizeof c10_meta - 1);
        }
    }
    enum cact_cifar_label label = c100 && (mode & 4) ? CACT_CIFAR_LABEL_COARSE
                                                     : CACT_CIFAR_LABEL_FINE;
    if (cact_cifar_open(&s, root, c100 ? CACT_CIFAR_100 : CACT_CIFAR_10, CACT_CIFAR_TEST, label,
                        &err) != CACT_OK)
        return 0;
    size_t count = cact_cifar_count(s);
    for (int c = -1; c <= cact_cifar_n_classes(s); c++)
        (void)cact_cifar_class_name(s, c);
    if (cact_cifar_loader_init(&ld, count, 7, 0, (mode & 8) != 0, 42, &err) == CACT_OK) {
        size_t idx[7];
        uint8_t px[7 * CACT_CIFAR_PIXELS];
        int labels[7];
        /* At most a few batches: the loader's logic, not the file's length, is the point. */
        for (size_t k = 0; k < ld.n_batches && k < 4; k++) {
            size_t m = cact_cifar_loader_batch(&ld, k, idx);
            if (cact_cifar_read(s, idx, m, px, labels, &err) == CACT_OK)
                for (size_t j = 0; j < m; j++)
                    if (labels[j] < 0 || labels[j] >= cact_cifar_n_classes(s))
                        abort(); /* promised: labels are checked */
        }
        cact_cifar_loader_free(&ld);
    }
    cact_cifar_free(s);
    return 0;
}
