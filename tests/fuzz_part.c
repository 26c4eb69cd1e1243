/* fuzz_part.c - libFuzzer target for the manifest-part reader (src/part.c): the bytes
 * of OUT/manifest.part-KKKK.json are untrusted (another process, a user, a disk).
 *
 * Build and run (clang needed): make fuzz; tools/fuzz.sh [SECONDS] part
 * Input: a part file as is. Seeds in tests/fuzz/part/ are parts real shards wrote
 * (tools: cifar-act --shard K/N -b 4 -n 3, with and without the viewer, pairs,
 * Normalize, --grid-normalize --value-range, shuffle, an empty shard).
 * On success the reader's promises are checked: every batch of the shard's, in order,
 * indices and labels in range, a valid chain.
 */
#include <stdint.h>
#include <string.h>

#include "part.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cact_part *p = NULL;
    struct cact_err err;

    if (size > (4u << 20))
        return 0;
    if (cact_part_parse((const char *)data, size, "fuzz", &p, &err) != CACT_OK) {
        if (p || err.code == CACT_OK || !err.msg[0])
            __builtin_trap(); /* a failure has a message and no part */
        return 0;
    }
    const struct cact_run_info *in = &p->info;
    if (p->meta.shard >= p->meta.shards || p->n_mine > in->n_batches || in->n_classes < 1 ||
        in->chain->n > CACT_ACT_MAX_CHAIN || strlen(p->run) != 16)
        __builtin_trap();
    for (size_t i = 0; i < p->n_mine; i++) {
        const struct cact_run_batch *b = &p->batches[i];
        if (p->ks[i] >= in->n_batches || p->ks[i] % p->meta.shards != p->meta.shard ||
            (i && p->ks[i] <= p->ks[i - 1]) || b->n < 1 || b->n > in->batch)
            __builtin_trap();
        for (size_t j = 0; j < b->n; j++)
            if (b->idx[j] >= in->n_images || b->labels[j] < 0 || b->labels[j] >= in->n_classes)
                __builtin_trap();
        if (p->hists && p->hists[i][2][255] > (uint64_t)9e15)
            __builtin_trap();
    }
    for (int c = 0; c < in->n_classes; c++)
        if (!in->class_names[c])
            __builtin_trap();
    cact_part_free(p);
    return 0;
}
