/* cifar.h - CIFAR-10/100 binary datasets on disk, read in DataLoader-style batches.
 *
 * Record layout (official binary version): CIFAR-10 = 1 label byte + 3072 pixel bytes;
 * CIFAR-100 = coarse label byte + fine label byte + 3072 pixel bytes. Pixels are
 * 1024 red, 1024 green, 1024 blue, each 32x32 row-major: exactly [3][32][32], the
 * CHW layout PyTorch uses after ToTensor.
 *
 * A cifar_set keeps the files open and reads records on demand with pread(2), so
 * memory does not grow with the dataset and several threads may read at once.
 */
#ifndef CACT_CIFAR_H
#define CACT_CIFAR_H

#include <stddef.h>
#include <stdint.h>

#include "ca.h"
#include "dataset.h"

#define CACT_CIFAR_SIDE 32
#define CACT_CIFAR_PLANE (CACT_CIFAR_SIDE * CACT_CIFAR_SIDE)  /* 1024 pixels per channel */
#define CACT_CIFAR_PIXELS (3 * CACT_CIFAR_PLANE)         /* 3072 bytes per image */
#define CACT_CIFAR_MAX_FILES CACT_DATASET_MAX_RECORD_FILES

/* The kinds, splits, label kinds and which files each needs: dataset.h. */

/* The names users spell, indexed by each enum (see cact_name_find()):
 * "cifar10"/"cifar100", "test"/"train", "fine"/"coarse". */
extern const char *const cact_cifar_kind_names[CACT_CIFAR_KIND_COUNT];
extern const char *const cact_cifar_split_names[CACT_CIFAR_SPLIT_COUNT];
extern const char *const cact_cifar_label_names[CACT_CIFAR_LABEL_COUNT];

struct cact_cifar_set;

/* Open DATA_DIR/<layout dir>/: every record file and the class names. Validates
 * sizes (a non-zero multiple of the record size; CACT_ERR_FORMAT saying the size), every
 * label (CACT_ERR_FORMAT naming file and record index; one bounded-memory pass) and that
 * the meta file has n_classes names.
 * Missing files give CACT_ERR_MISSING with a message saying what was looked for. */
enum cact_status cact_cifar_open(struct cact_cifar_set **out, const char *data_dir,
                          enum cact_cifar_kind kind, enum cact_cifar_split split,
                          enum cact_cifar_label label, struct cact_err *err);
/* cact_cifar_open for files the caller has just checked against their published MD5s
 * (cact_fetch_ensure): the official files' labels are all in range, so the label scan, a
 * read of every byte before any thread can start (its cost: BENCHMARKS.md), is
 * skipped. Everything else is checked as by cact_cifar_open, and cact_cifar_read still checks
 * each label it returns, so a file swapped after the check fails there. */
enum cact_status cact_cifar_open_verified(struct cact_cifar_set **out, const char *data_dir,
                                   enum cact_cifar_kind kind, enum cact_cifar_split split,
                                   enum cact_cifar_label label, struct cact_err *err);
void cact_cifar_free(struct cact_cifar_set *s); /* NULL is fine */

size_t cact_cifar_count(const struct cact_cifar_set *s);
int cact_cifar_n_classes(const struct cact_cifar_set *s);
const char *cact_cifar_class_name(const struct cact_cifar_set *s, int label); /* "?" if out of range */
const char *cact_cifar_path(const struct cact_cifar_set *s, int file);         /* for messages */

/* Read images idx[0..n) into px ([n][3072]) and their labels. Thread-safe.
 * CACT_ERR_IO on a short read; CACT_ERR_FORMAT for a label out of range (the file changed
 * since cact_cifar_open); CACT_ERR_USAGE for an index >= cact_cifar_count. */
enum cact_status cact_cifar_read(const struct cact_cifar_set *s, const size_t *idx, size_t n,
                          uint8_t *px, int *labels, struct cact_err *err);

/* ---- The Python version (torchvision's download), via src/pickle.c ----
 *
 * torchvision.datasets.CIFAR10/100(root, download=True) leaves the same images as
 * pickles: cifar-10-batches-py/{test_batch, data_batch_1..5, batches.meta},
 * cifar-100-python/{test, train, meta}. Their pixel rows are the binary records without
 * the label bytes, so a set opened from them reads the same pixels for the same image
 * (pread at the array's offset in the pickle); labels come from the pickled lists, held
 * in memory (4 bytes an image). Everything after opening is the same API as above. */

enum cact_cifar_format { CACT_CIFAR_FORMAT_BINARY, CACT_CIFAR_FORMAT_PYTHON, CACT_CIFAR_FORMAT_COUNT };
/* "binary", "python": what the manifest records. */
extern const char *const cact_cifar_format_names[CACT_CIFAR_FORMAT_COUNT];

/* What the Python version of (kind, split) needs: dir "cifar-10-batches-py" /
 * "cifar-100-python", files without ".bin", meta "batches.meta" / "meta",
 * label_bytes 0 (labels are not in the records). */
void cact_cifar_py_layout_get(enum cact_cifar_kind kind, enum cact_cifar_split split,
                              enum cact_cifar_label label, struct cact_dataset_layout *out);

/* Open DATA_DIR/<py layout dir>/ with the restricted unpickler: every batch file is
 * parsed in full (bounded memory: the pixel bytes are located, not loaded), its rows
 * must be 3072 bytes, its labels (b'labels', or b'fine_labels' / b'coarse_labels') in
 * range; the meta file must list n_classes names. Returns as cact_cifar_open, plus
 * CACT_ERR_FORMAT with the unpickler's message for anything it refuses. */
enum cact_status cact_cifar_open_python(struct cact_cifar_set **out, const char *data_dir,
                                        enum cact_cifar_kind kind, enum cact_cifar_split split,
                                        enum cact_cifar_label label, struct cact_err *err);

/* Whichever version is there, the binary one first: if its first record file exists,
 * cact_cifar_open (or _open_verified when verified), else if the Python version's first
 * batch file exists, cact_cifar_open_python; else CACT_ERR_MISSING naming both versions
 * and where each comes from. */
enum cact_status cact_cifar_open_any(struct cact_cifar_set **out, const char *data_dir,
                                     enum cact_cifar_kind kind, enum cact_cifar_split split,
                                     enum cact_cifar_label label, int verified,
                                     struct cact_err *err);

/* Which version a set was opened from. */
enum cact_cifar_format cact_cifar_format(const struct cact_cifar_set *s);

/* ---- Batches (torch.utils.data.DataLoader semantics) ---- */

struct cact_cifar_loader {
    size_t count;       /* images in the set */
    size_t batch;       /* batch size >= 1 */
    int drop_last;
    size_t *order;      /* permutation when shuffled, NULL for 0..count-1 */
    size_t n_batches;
};

/* shuffle: Fisher-Yates driven by splitmix64(seed): the same seed gives the same
 * order on every machine (it is not torch.randperm's order). */
enum cact_status cact_cifar_loader_init(struct cact_cifar_loader *ld, size_t count, size_t batch,
                                 int drop_last, int shuffle, uint64_t seed,
                                 struct cact_err *err);
void cact_cifar_loader_free(struct cact_cifar_loader *ld);

/* Number of images in batch k, and their dataset indices into idx ([batch]). */
size_t cact_cifar_loader_batch(const struct cact_cifar_loader *ld, size_t k, size_t *idx);

#endif
