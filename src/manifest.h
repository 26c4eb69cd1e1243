/* manifest.h - OUT/manifest.json: what a run did, so a person or a script can tell
 * which images, labels and settings every PNG holds.
 */
#ifndef CACT_MANIFEST_H
#define CACT_MANIFEST_H

#include <stddef.h>

#include "ca.h"
#include "cifar.h"
#include "run.h"

/* min/mean/max of a tensor's float values; NaN values are left out of min and max
 * and make the mean NaN (written as JSON null). */
struct cact_manifest_stats {
    double min, mean, max;
};

/* One batch as the manifest records it. idx and labels have n entries and are owned
 * by whoever filled the struct. */
struct cact_manifest_batch {
    size_t n;
    size_t *idx;
    int *labels;
    struct cact_manifest_stats in, out;
    struct cact_grid_clip clip_in, clip_out; /* gridnorm: what each grid clipped */
};

/* "input_0007.png": prefix, "_", the batch number with at least 4 digits, ".png". */
void cact_manifest_file_name(char *buf, size_t size, const char *prefix, size_t k);

/* Write OUT/manifest.json atomically (cact_write_atomic). */
enum cact_status cact_manifest_write(const char *path, const struct cact_run_opts *o,
                              const struct cact_cifar_set *set, size_t n_images,
                              const struct cact_manifest_batch *batches, size_t n_batches,
                              struct cact_err *err);

#endif
