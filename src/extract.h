/* extract.h - the extraction stream: archive bytes, in order and from any source (a
 * download, a .part, a local file), through the SHA-256 of the archive, its size
 * bounds and the .tar.gz extractor (archive.h), to verified members renamed into
 * place. Knows nothing of CIFAR or of where the bytes come from: members, digests
 * and bounds are passed in. Never prints.
 */
#ifndef CACT_EXTRACT_H
#define CACT_EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "archive.h"
#include "ca.h"

/* What a stream is checked against; set at each cact_extract_reset. */
struct cact_extract_limits {
    const char *sha256; /* expected SHA-256 of the archive bytes (hex), NULL: not checked */
    uint64_t size;      /* exact archive size, 0: not checked (a larger stream fails at
                           once with CACT_ERR_CHECKSUM) */
    uint64_t max_in;    /* bound on compressed bytes, 0: none (CACT_ERR_FORMAT) */
    uint64_t max_out;   /* bound on inflated bytes, 0: none (CACT_ERR_FORMAT) */
};

struct cact_extract;

/* A stream for n members (borrowed: they must outlive it). CACT_ERR_NOMEM, or the
 * errors of cact_archive_new. Call cact_extract_reset before the first feed. */
enum cact_status cact_extract_new(struct cact_extract **out,
                                  const struct cact_archive_member *members, int n,
                                  struct cact_err *err);

/* Drop everything fed so far (temporaries removed) and start again at archive byte 0,
 * checked against lim (copied). CACT_ERR_NOMEM. */
enum cact_status cact_extract_reset(struct cact_extract *x,
                                    const struct cact_extract_limits *lim,
                                    struct cact_err *err);

/* The next len archive bytes. CACT_ERR_CHECKSUM (larger than size), CACT_ERR_FORMAT
 * (a bound passed, or the extractor's format errors), the extractor's other errors. */
enum cact_status cact_extract_feed(struct cact_extract *x, const void *buf, size_t len,
                                   struct cact_err *err);

uint64_t cact_extract_bytes(const struct cact_extract *x); /* archive bytes fed */
int cact_extract_done(const struct cact_extract *x);       /* the gzip stream ended */

/* The end of the bytes: the extractor's checks (complete, every member found and
 * verified), the archive's size and SHA-256, then the members renamed into place.
 * CACT_ERR_FORMAT ("truncated ..."), CACT_ERR_CHECKSUM (expected and actual values),
 * CACT_ERR_IO (a rename). */
enum cact_status cact_extract_finish(struct cact_extract *x, struct cact_err *err);

/* Member k's MD5 once complete, else NULL. */
const char *cact_extract_member_md5(const struct cact_extract *x, int k);

void cact_extract_free(struct cact_extract *x); /* NULL is fine */

#endif
