/* dataset.c - the catalogue of CIFAR datasets; see dataset.h. */
#include "dataset.h"

#include <string.h>

#define C10_BATCH (UINT64_C(10000) * 3073)
#define TRAIN_10(n, md5) \
    { n, CACT_DATASET_RECORDS, CACT_CIFAR_TRAIN, CACT_CIFAR_LABEL_FINE, md5, C10_BATCH }

/* To add a dataset: a row here (and a value in enum cact_cifar_kind); test_dataset
 * checks every row's invariants. */
static const struct cact_dataset dataset_table[CACT_DATASET_KINDS] = {
    [CACT_CIFAR_10] = {
        .label = "CIFAR-10",
        .dir = "cifar-10-batches-bin",
        .url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
        .archive = "cifar-10-binary.tar.gz",
        .archive_size = 170052171,
        .sha256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
        .label_bytes = 1,
        .n_classes = { [CACT_CIFAR_LABEL_FINE] = 10, [CACT_CIFAR_LABEL_COARSE] = 10 },
        .n_files = 7,
        .files = {
            { "test_batch.bin", CACT_DATASET_RECORDS, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE,
              "803d5f7f4d78ea53de84dbe85f74fb6d", C10_BATCH },
            { "batches.meta.txt", CACT_DATASET_META, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE,
              NULL, 0 },
            TRAIN_10("data_batch_1.bin", "5dd7e06a14cb22eb9f671a540d1b7c25"),
            TRAIN_10("data_batch_2.bin", "5ea93a67294ea407fff1d09f752e9692"),
            TRAIN_10("data_batch_3.bin", "942cd6a4bcdd0dd3c604fbe906cb4421"),
            TRAIN_10("data_batch_4.bin", "ae636b3ba5c66a11e91e8cb52e771fcb"),
            TRAIN_10("data_batch_5.bin", "53f37980c15c3d472c316c40844f3f0d"),
        },
    },
    [CACT_CIFAR_100] = {
        .label = "CIFAR-100",
        .dir = "cifar-100-binary",
        .url = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
        .archive = "cifar-100-binary.tar.gz",
        .archive_size = 168513733,
        .sha256 = "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec",
        .label_bytes = 2,
        .n_classes = { [CACT_CIFAR_LABEL_FINE] = 100, [CACT_CIFAR_LABEL_COARSE] = 20 },
        .n_files = 4,
        .files = {
            { "test.bin", CACT_DATASET_RECORDS, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE,
              "4499cfba6c016c1be1438163640a0898", UINT64_C(10000) * 3074 },
            { "coarse_label_names.txt", CACT_DATASET_META, CACT_CIFAR_TEST,
              CACT_CIFAR_LABEL_COARSE, NULL, 0 },
            { "fine_label_names.txt", CACT_DATASET_META, CACT_CIFAR_TEST,
              CACT_CIFAR_LABEL_FINE, NULL, 0 },
            { "train.bin", CACT_DATASET_RECORDS, CACT_CIFAR_TRAIN, CACT_CIFAR_LABEL_FINE,
              "6172c7755cfe09b2fe270c85cebc1b15", UINT64_C(50000) * 3074 },
        },
    },
};

const struct cact_dataset *cact_dataset_get(enum cact_cifar_kind kind)
{
    return (unsigned)kind < CACT_DATASET_KINDS ? &dataset_table[kind] : NULL;
}

int cact_dataset_needs(const struct cact_dataset_file *f, enum cact_cifar_split split)
{
    return f->role == CACT_DATASET_META || f->split == CACT_CIFAR_TEST || f->split == split;
}

size_t cact_dataset_images(enum cact_cifar_kind kind, enum cact_cifar_split split)
{
    const struct cact_dataset *ds = cact_dataset_get(kind);
    uint64_t n = 0;

    if (!ds)
        return 0;
    for (int i = 0; i < ds->n_files; i++)
        if (ds->files[i].role == CACT_DATASET_RECORDS && ds->files[i].split == split)
            n += ds->files[i].size / (uint64_t)(ds->label_bytes + 3072);
    return (size_t)n;
}

enum cact_status cact_dataset_layout(enum cact_cifar_kind kind, enum cact_cifar_split split,
                                     enum cact_cifar_label label,
                                     struct cact_dataset_layout *out, struct cact_err *err)
{
    const struct cact_dataset *ds = cact_dataset_get(kind);

    memset(out, 0, sizeof *out);
    if (!ds)
        return cact_fail(err, CACT_ERR_USAGE, "unknown dataset kind %d", (int)kind);
    if (split != CACT_CIFAR_TEST && split != CACT_CIFAR_TRAIN)
        return cact_fail(err, CACT_ERR_USAGE, "unknown split %d", (int)split);
    if (label != CACT_CIFAR_LABEL_FINE && label != CACT_CIFAR_LABEL_COARSE)
        return cact_fail(err, CACT_ERR_USAGE, "unknown label kind %d", (int)label);
    out->dir = ds->dir;
    out->label_bytes = ds->label_bytes;
    out->n_classes = ds->n_classes[label];
    for (int i = 0; i < ds->n_files; i++) {
        const struct cact_dataset_file *f = &ds->files[i];
        if (f->role == CACT_DATASET_RECORDS && f->split == split &&
            out->n_files < CACT_DATASET_MAX_RECORD_FILES)
            out->files[out->n_files++] = f->name;
        /* CIFAR-10's one name file serves its only label kind. */
        if (f->role == CACT_DATASET_META && (f->label == label || ds->label_bytes == 1))
            out->meta = f->name;
    }
    return CACT_OK;
}
