/* dataset.h - the dataset catalogue: what CIFAR-10 and CIFAR-100 are, on the server and
 * on disk. The one table both the downloader (fetch.c: which files, their digests and
 * sizes, the archive) and the loader (cifar.c: record files, label bytes, class count)
 * read, so they cannot disagree. A leaf: includes only ca.h; nothing here touches disk.
 */
#ifndef CACT_DATASET_H
#define CACT_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "ca.h"

/* Their name tables (what users spell) are in cifar.h/cifar.c. */
enum cact_cifar_kind { CACT_CIFAR_10, CACT_CIFAR_100, CACT_CIFAR_KIND_COUNT };
enum cact_cifar_split { CACT_CIFAR_TEST, CACT_CIFAR_TRAIN, CACT_CIFAR_SPLIT_COUNT };
enum cact_cifar_label { /* CIFAR-100 only */
    CACT_CIFAR_LABEL_FINE, CACT_CIFAR_LABEL_COARSE, CACT_CIFAR_LABEL_COUNT
};

#define CACT_DATASET_KINDS CACT_CIFAR_KIND_COUNT
#define CACT_DATASET_MAX_FILES 8        /* every file of one dataset */
#define CACT_DATASET_MAX_RECORD_FILES 5 /* record files of one split */
#define CACT_DATASET_META_MAX (64 * 1024) /* a class-name file is a few hundred bytes */

enum cact_dataset_role {
    CACT_DATASET_RECORDS, /* fixed-size records: label byte(s) + 3072 pixel bytes */
    CACT_DATASET_META     /* class names, one per line */
};

/* One file of a dataset: in <dir>/ on disk and in the archive. */
struct cact_dataset_file {
    const char *name;            /* "test_batch.bin" */
    enum cact_dataset_role role;
    enum cact_cifar_split split; /* RECORDS: the split it belongs to */
    enum cact_cifar_label label; /* META: the labels it names (CIFAR-10: both) */
    const char *md5;             /* official MD5 (lowercase hex), NULL if none published */
    uint64_t size;               /* exact size in bytes; 0 if not published (META: at
                                    most CACT_DATASET_META_MAX) */
};

struct cact_dataset {
    const char *label;        /* "CIFAR-10", for messages */
    const char *dir;          /* top directory, in the archive and under the data dir */
    const char *url;          /* official download URL */
    const char *archive;      /* official archive file name: "cifar-10-binary.tar.gz" */
    uint64_t archive_size;    /* bytes of the official archive */
    const char *sha256;       /* its SHA-256, lowercase hex */
    int label_bytes;          /* per record: 1 (CIFAR-10) or 2 (coarse, fine) */
    int n_classes[2];         /* by enum cact_cifar_label */
    int n_files;
    struct cact_dataset_file files[CACT_DATASET_MAX_FILES]; /* test records first */
};

/* The catalogue row for kind, or NULL for a value outside the enum. Static storage. */
const struct cact_dataset *cact_dataset_get(enum cact_cifar_kind kind);

/* 1 if a verified copy of (kind, split) on disk must hold file f: the train split
 * keeps the test files too (they come in the same download), every split needs the names. */
int cact_dataset_needs(const struct cact_dataset_file *f, enum cact_cifar_split split);

/* Images in the official files of (kind, split), from the catalogue's sizes: 10000
 * (test), 50000 (train); 0 for a value outside the enums. */
size_t cact_dataset_images(enum cact_cifar_kind kind, enum cact_cifar_split split);

/* What the loader reads for (kind, split, label), relative to the data directory. */
struct cact_dataset_layout {
    const char *dir;                                    /* the row's dir */
    int n_files;
    const char *files[CACT_DATASET_MAX_RECORD_FILES];   /* record files, in dataset order */
    const char *meta;                                   /* class-name file for the labels */
    int label_bytes;                                    /* 1 or 2 */
    int n_classes;                                      /* 10, or 100 fine / 20 coarse */
};

/* Fill out from the catalogue. CACT_ERR_USAGE for a kind, split or label outside its
 * enum. CIFAR-10 answers both label kinds with its one list of 10 names. */
enum cact_status cact_dataset_layout(enum cact_cifar_kind kind, enum cact_cifar_split split,
                                     enum cact_cifar_label label,
                                     struct cact_dataset_layout *out, struct cact_err *err);

#endif
