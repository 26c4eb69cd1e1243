/* pickle.h - a restricted unpickler for exactly the Python version of CIFAR-10/100.
 *
 * torchvision.datasets.CIFAR10/100(download=True) leaves cifar-10-batches-py/
 * {data_batch_1..5, test_batch, batches.meta} and cifar-100-python/{train, test, meta}:
 * dicts pickled by Python 2's cPickle, protocol 2. A batch holds
 *     b'data'    numpy uint8 array [n][3072] (R plane, G plane, B plane; the same bytes
 *                as a binary-version record without its label bytes),
 *     b'labels'  (CIFAR-10) or b'fine_labels' and b'coarse_labels' (CIFAR-100): lists
 *                of n ints,
 *     b'batch_label', b'filenames' (parsed, not used);
 * a meta file holds b'label_names' (CIFAR-10) or b'fine_label_names' and
 * b'coarse_label_names' (CIFAR-100): lists of strings, plus a few ints.
 *
 * What is accepted (anything else is refused with CACT_ERR_FORMAT and a one-line
 * message naming the file, the byte offset and what was found):
 *   - opcodes: PROTO 2 (first, and only protocol 2), STOP, MARK, EMPTY_DICT,
 *     EMPTY_LIST, EMPTY_TUPLE, TUPLE, TUPLE1..3, APPEND(S), SETITEM(S), NONE,
 *     NEWTRUE, NEWFALSE, BININT1, BININT2, BININT, SHORT_BINSTRING, BINSTRING,
 *     BINUNICODE, BINPUT, LONG_BINPUT, BINGET, LONG_BINGET, GLOBAL, REDUCE, BUILD;
 *   - GLOBAL only 'numpy.core.multiarray _reconstruct', 'numpy ndarray', 'numpy dtype';
 *     they are names, never looked up: nothing is imported or executed;
 *   - REDUCE only _reconstruct(ndarray, (0,), b'b') and dtype('u1', 0, 1); BUILD only
 *     on those results, with numpy's state tuples (dtype: (3, '|', None, None, None,
 *     -1, -1, 0); array: (1, shape, dtype, False, raw bytes) with len == prod(shape));
 *   - the top of the stack at STOP is a dict, nothing else is on it, and the file ends
 *     right after STOP.
 *
 * Limits (each gives a clear error, none reached by the real files): nesting (open
 * MARKs) <= CACT_PICKLE_MAX_DEPTH, stack <= 65536 values, memo indices < 2^20, list
 * and dict sizes <= 2^20, strings kept in memory <= 64 KiB each and 64 MiB in all.
 * A longer string (the pixel array) is never read into memory: its offset and length
 * are recorded and the bytes skipped, so memory is bounded by the labels and file
 * names (about 3 MB for CIFAR-100 train), not by the 150 MB file. Every length is
 * checked against the bytes that remain before it is used.
 */
#ifndef CACT_PICKLE_H
#define CACT_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "ca.h"

#define CACT_PICKLE_MAX_DEPTH 32

/* A batch file: where its pixels are and its labels. */
struct cact_pickle_batch {
    uint64_t data_offset; /* byte offset in the file (or buffer) of data[0][0] */
    size_t rows;          /* data.shape[0]: images */
    size_t cols;          /* data.shape[1]: bytes per image (3072 for CIFAR) */
    int32_t *labels;      /* [rows]: b'labels' if present, else b'fine_labels'; owned */
    int32_t *coarse;      /* [rows]: b'coarse_labels', NULL if absent; owned */
};

/* Parse the batch file at path into *out (zeroed first; free with
 * cact_pickle_batch_free, also after a failure). Requires b'data' as a 2-D uint8
 * C-order array and b'labels' or b'fine_labels' with exactly rows ints (each in
 * 0..255); b'coarse_labels', if present, must have rows ints too.
 * Returns CACT_OK; CACT_ERR_MISSING (file absent); CACT_ERR_IO (open/read failed);
 * CACT_ERR_FORMAT (not such a pickle, or refused: the message says what);
 * CACT_ERR_NOMEM. */
enum cact_status cact_pickle_batch_read(const char *path, struct cact_pickle_batch *out,
                                        struct cact_err *err);

/* The same on an open file (read with pread from offset 0; not closed), so the caller
 * can keep reading pixels from the very file that was checked; name is for messages. */
enum cact_status cact_pickle_batch_fd(int fd, const char *name, struct cact_pickle_batch *out,
                                      struct cact_err *err);

/* The same on len bytes in memory; name is used in messages. data_offset is then an
 * offset into buf. Used by the fuzz target and the hostile-input tests. */
enum cact_status cact_pickle_batch_mem(const void *buf, size_t len, const char *name,
                                       struct cact_pickle_batch *out, struct cact_err *err);

void cact_pickle_batch_free(struct cact_pickle_batch *b); /* NULL and zeroed are fine */

/* A list of class names from a meta file. */
struct cact_pickle_names {
    int n;
    char **name; /* [n] NUL-terminated, pointing into buf; owned */
    char *buf;
};

/* Parse the meta file at path and return the list under key ("label_names",
 * "fine_label_names", "coarse_label_names"): 1..max_names strings, each 1..255 bytes
 * with no control characters (they end up in file names and the manifest).
 * Return codes as cact_pickle_batch_read; CACT_ERR_FORMAT also when key is absent or
 * is not a list of strings. Free with cact_pickle_names_free (also after failure). */
enum cact_status cact_pickle_names_read(const char *path, const char *key, int max_names,
                                        struct cact_pickle_names *out, struct cact_err *err);
enum cact_status cact_pickle_names_mem(const void *buf, size_t len, const char *name,
                                       const char *key, int max_names,
                                       struct cact_pickle_names *out, struct cact_err *err);
void cact_pickle_names_free(struct cact_pickle_names *n);

#endif
