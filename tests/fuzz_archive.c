/* fuzz_archive.c - libFuzzer target for the .tar.gz extractor (src/archive.c).
 *
 * Build and run (clang needed): make fuzz; tools/fuzz.sh [SECONDS] runs every target
 * on its committed seeds (tests/fuzz/archive/); tools/fuzz_archive.sh [SECONDS] this one.
 *
 * Input: byte 0 picks the mode, the rest is the payload.
 *   bit 0 set:   the payload is a raw tar; we gzip it (zlib, level 0) before feeding,
 *                so the fuzzer reaches the tar reader instead of dying in inflate.
 *   bit 0 clear: the payload is fed as it is (exercises inflate and the gzip trailer).
 *   bits 1..7:   chunk size for cact_archive_feed (1 + bits * 67), to cross every boundary.
 * Members are digest-only (dest NULL), so nothing is written to disk; the expected
 * MD5 of one and the size of another are set so the mismatch paths run too. Several
 * gzip members in a row are one stream (mode bit 0 clear reaches that code).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct cact_archive_member m[3] = {
        { "cifar-10-batches-bin/test_batch.bin", NULL, NULL, 0 },
        { "cifar-10-batches-bin/batches.meta.txt", NULL, "d41d8cd98f00b204e9800998ecf8427e", 0 },
        { "cifar-10-batches-bin/data_batch_1.bin", NULL, NULL, 3073 },
    };
    struct cact_archive *a = NULL;
    struct cact_err err;
    unsigned char *gz = NULL;
    const unsigned char *p;
    size_t n, chunk;

    if (size < 1 || size > (1u << 20))
        return 0;
    chunk = 1 + (size_t)(data[0] >> 1) * 67;
    p = data + 1;
    n = size - 1;
    if (data[0] & 1) {
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        if (deflateInit2(&zs, 0, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return 0;
        size_t cap = deflateBound(&zs, n) + 64;
        gz = malloc(cap);
        if (!gz) {
            deflateEnd(&zs);
            return 0;
        }
        zs.next_in = (unsigned char *)(uintptr_t)p;
        zs.avail_in = (uInt)n;
        zs.next_out = gz;
        zs.avail_out = (uInt)cap;
        deflate(&zs, Z_FINISH);
        n = cap - zs.avail_out;
        deflateEnd(&zs);
        p = gz;
    }
    if (cact_archive_new(&a, m, 3, &err) == CACT_OK) {
        enum cact_status st = CACT_OK;
        /* The bound fetch sets, scaled to the fuzzer's 1 MiB inputs. */
        cact_archive_set_max_inflated(a, 4u << 20);
        for (size_t pos = 0; pos < n && st == CACT_OK; pos += chunk)
            st = cact_archive_feed(a, p + pos, n - pos < chunk ? n - pos : chunk, &err);
        if (st == CACT_OK && cact_archive_finish(a, &err) == CACT_OK)
            cact_archive_commit(a, &err);
    }
    cact_archive_free(a);
    free(gz);
    return 0;
}
