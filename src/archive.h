/* archive.h - streaming extractor for .tar.gz archives of untrusted bytes.
 *
 * Compressed bytes are pushed in with cact_archive_feed() in pieces of any size, as they
 * arrive from the network or a file; zlib inflates them (gzip wrapper, CRC-32 and
 * length checked at the end) and a ustar/GNU tar reader walks the entries. Only the
 * members the caller names are kept: each is written to a temporary file whose name
 * we choose (cact_temp_name() of its destination, never a path read from the archive)
 * while its MD5 is computed on the fly. cact_archive_finish() checks that the stream and
 * every member are complete and verified; cact_archive_commit() then renames the
 * temporaries into place. cact_archive_free() removes every temporary not committed, so a
 * failed or abandoned extraction leaves nothing behind.
 *
 * Tar parsing is defensive: header checksums verified (unsigned and historic signed
 * sums), numeric fields parsed within their width (octal or GNU base-256, bounded),
 * member sizes capped, GNU long names ('L') and pax path records ('x') honoured for
 * the next entry's name, global pax headers ('g'), long link names ('K') and unknown
 * types skipped by their size, and the first all-zero header ends the archive.
 * A gzip file of several members (`cat a.gz b.gz`) is one stream; any other bytes
 * after a member's trailer are an error. Names are compared exactly, after dropping a
 * leading "./"; nothing else in the archive is ever written; an entry of a wanted name
 * that is a link fails, saying so. cact_archive_set_max_inflated() bounds the
 * decompressed bytes, so skipped members and bytes after the tar end cannot cost
 * unbounded time.
 */
#ifndef CACT_ARCHIVE_H
#define CACT_ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "ca.h"

#define CACT_ARCHIVE_MAX_MEMBERS 8
#define CACT_ARCHIVE_MD5_HEX 33                          /* 32 hex digits + NUL */
#define CACT_ARCHIVE_MAX_MEMBER_SIZE (UINT64_C(1) << 30) /* 1 GiB: CIFAR files are < 160 MB */

/* One member to extract. The strings are borrowed: they must outlive the archive. */
struct cact_archive_member {
    const char *name; /* path inside the archive: "cifar-10-batches-bin/test_batch.bin" */
    const char *dest; /* final path on disk; NULL: only hash it, write nothing */
    const char *md5;  /* expected MD5, lowercase hex; NULL: no digest check */
    uint64_t size;    /* exact expected size in bytes; 0: not known. A header giving
                         another size fails (CACT_ERR_CHECKSUM) before anything is written */
};

struct cact_archive;

/* Start an extraction of n (1..CACT_ARCHIVE_MAX_MEMBERS) members. The caller owns *out and
 * frees it with cact_archive_free(). CACT_ERR_USAGE for a bad n, CACT_ERR_NOMEM. */
enum cact_status cact_archive_new(struct cact_archive **out, const struct cact_archive_member *m, int n,
                           struct cact_err *err);

/* Push len compressed bytes. Errors are sticky (later calls return the same status):
 * CACT_ERR_FORMAT (bad gzip data, bad tar header, duplicate member, a member that is a
 * link, data after the end, the inflated bound passed),
 * CACT_ERR_CHECKSUM (a member's MD5 or known size differs: expected and actual values),
 * CACT_ERR_IO (cannot write a temporary: message names it), CACT_ERR_NOMEM. */
enum cact_status cact_archive_feed(struct cact_archive *a, const void *buf, size_t len,
                            struct cact_err *err);

/* Fail with CACT_ERR_FORMAT ("inflates to more than N bytes") once the decompressed
 * bytes exceed max_bytes (0: no bound, the default). Call before the first feed. */
void cact_archive_set_max_inflated(struct cact_archive *a, uint64_t max_bytes);

/* 1 once the whole gzip stream has been inflated (its trailer checked), else 0. */
int cact_archive_stream_done(const struct cact_archive *a);

/* Compressed bytes accepted so far (for messages). */
uint64_t cact_archive_bytes_in(const struct cact_archive *a);

/* The end of input: CACT_OK if the gzip stream ended, the tar reader stopped on an
 * entry boundary, and every member was found, complete and verified. CACT_ERR_FORMAT
 * for a truncated archive ("ends after N bytes") or a missing member (named).
 * Returns the sticky error if there was one. */
enum cact_status cact_archive_finish(struct cact_archive *a, struct cact_err *err);

/* After a successful cact_archive_finish(): rename each member's temporary to its dest
 * (members with a NULL dest are skipped). CACT_ERR_IO naming the file if a rename
 * fails; members renamed before it stay (they are verified). */
enum cact_status cact_archive_commit(struct cact_archive *a, struct cact_err *err);

/* Member i's MD5 (lowercase hex) and size once it is complete, else NULL / 0. */
const char *cact_archive_member_md5(const struct cact_archive *a, int i);
uint64_t cact_archive_member_size(const struct cact_archive *a, int i);

/* Close and remove every uncommitted temporary, free everything. NULL is fine. */
void cact_archive_free(struct cact_archive *a);

#endif
