/* fuzz_pickle.c - libFuzzer target for the restricted unpickler (src/pickle.c).
 *
 * Build and run (clang needed): make fuzz; tools/fuzz.sh [SECONDS] pickle
 * Input: byte 0 picks what to parse the rest as: bit 0 clear, a batch file
 * (cact_pickle_batch_mem, or with bit 3 set cact_pickle_batch_fd on a memfd holding the
 * bytes: the file path, built with a 7-byte read buffer so every boundary is crossed);
 * bit 0 set, a meta file, bits 1..2 picking the key (label_names, fine_label_names,
 * coarse_label_names). Seeds in tests/fuzz/pickle/
 * are such files (synthetic pixels) behind their mode byte.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const keys[4] = {"label_names", "fine_label_names", "coarse_label_names",
                                        "label_names"};
    struct cact_err err;

    if (size < 1 || size > (4u << 20))
        return 0;
    if (data[0] & 1) {
        struct cact_pickle_names n;
        if (cact_pickle_names_mem(data + 1, size - 1, "fuzz", keys[(data[0] >> 1) & 3], 100, &n,
                                  &err) == CACT_OK && n.n > 0 && strlen(n.name[n.n - 1]) == 0)
            __builtin_trap(); /* names are 1..255 bytes */
        cact_pickle_names_free(&n);
    } else {
        struct cact_pickle_batch b;
        enum cact_status st;
        if (data[0] & 8) {
            int fd = memfd_create("fuzz", 0);
            if (fd < 0 || write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) {
                if (fd >= 0)
                    close(fd);
                return 0;
            }
            st = cact_pickle_batch_fd(fd, "fuzz", &b, &err);
            close(fd);
        } else {
            st = cact_pickle_batch_mem(data + 1, size - 1, "fuzz", &b, &err);
        }
        if (st == CACT_OK) {
            /* The contract: the pixels lie inside the input, labels are bytes. */
            if (b.data_offset + (uint64_t)b.rows * b.cols > size - 1)
                __builtin_trap();
            for (size_t i = 0; i < b.rows; i++)
                if (b.labels[i] < 0 || b.labels[i] > 255 || (b.coarse && b.coarse[i] > 255))
                    __builtin_trap();
        }
        cact_pickle_batch_free(&b);
    }
    return 0;
}
