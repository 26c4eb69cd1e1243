/* archive.h - streaming extractor for .tar.gz archives of untrusted bytes.
 *
 * Compressed bytes are pushed in with archive_feed() in pieces of any size, as they
 * arrive from the network or a file; zlib inflates them (gzip wrapper, CRC-32 and
 * length checked at the end) and a ustar/GNU tar reader walks the entries. Only the
 * members the caller names are kept: each is written to a temporary file whose name
 * we choose (ca_temp_name() of its destination, never a path read from the archive)
 * while its MD5 is computed on the fly. archive_finish() checks that the stream and
 * every member are complete and verified; archive_commit() then renames the
 * temporaries into place. archive_free() removes every temporary not committed, so a
 * failed or abandoned extraction leaves nothing behind.
 *
 * Tar parsing is defensive: header checksums verified (unsigned and historic signed
 * sums), numeric fields parsed within their width (octal or GNU base-256, bounded),
 * member sizes capped, GNU long names ('L') and pax path records ('x') honoured for
 * the next entry's name, global pax headers ('g'), long link names ('K') and unknown
 * types skipped by their size, and the first all-zero header ends the archive.
 * Bytes after the gzip stream are an error. Names are compared exactly, after
 * dropping a leading "./"; nothing else in the archive is ever written.
 */
#ifndef ARCHIVE_H
#define ARCHIVE_H

#include <stddef.h>
#include <stdint.h>

#include "ca.h"

#define ARCHIVE_MAX_MEMBERS 8
#define ARCHIVE_MD5_HEX 33                          /* 32 hex digits + NUL */
#define ARCHIVE_MAX_MEMBER_SIZE (UINT64_C(1) << 30) /* 1 GiB: CIFAR files are < 160 MB */

/* One member to extract. The strings are borrowed: they must outlive the archive. */
struct archive_member {
    const char *name; /* path inside the archive: "cifar-10-batches-bin/test_batch.bin" */
    const char *dest; /* final path on disk; NULL: only hash it, write nothing */
    const char *md5;  /* expected MD5, lowercase hex; NULL: no digest check */
};

struct archive;

/* Start an extraction of n (1..ARCHIVE_MAX_MEMBERS) members. The caller owns *out and
 * frees it with archive_free(). CA_ERR_USAGE for a bad n, CA_ERR_NOMEM. */
enum ca_status archive_new(struct archive **out, const struct archive_member *m, int n,
                           struct ca_err *err);

/* Push len compressed bytes. Errors are sticky (later calls return the same status):
 * CA_ERR_FORMAT (bad gzip data, bad tar header, duplicate member, data after the end),
 * CA_ERR_CHECKSUM (a member's MD5 differs: message has expected and actual values),
 * CA_ERR_IO (cannot write a temporary: message names it), CA_ERR_NOMEM. */
enum ca_status archive_feed(struct archive *a, const void *buf, size_t len,
                            struct ca_err *err);

/* 1 once the whole gzip stream has been inflated (its trailer checked), else 0. */
int archive_stream_done(const struct archive *a);

/* Compressed bytes accepted so far (for messages). */
uint64_t archive_bytes_in(const struct archive *a);

/* The end of input: CA_OK if the gzip stream ended, the tar reader stopped on an
 * entry boundary, and every member was found, complete and verified. CA_ERR_FORMAT
 * for a truncated archive ("ends after N bytes") or a missing member (named).
 * Returns the sticky error if there was one. */
enum ca_status archive_finish(struct archive *a, struct ca_err *err);

/* After a successful archive_finish(): rename each member's temporary to its dest
 * (members with a NULL dest are skipped). CA_ERR_IO naming the file if a rename
 * fails; members renamed before it stay (they are verified). */
enum ca_status archive_commit(struct archive *a, struct ca_err *err);

/* Member i's MD5 (lowercase hex) and size once it is complete, else NULL / 0. */
const char *archive_member_md5(const struct archive *a, int i);
uint64_t archive_member_size(const struct archive *a, int i);

/* Close and remove every uncommitted temporary, free everything. NULL is fine. */
void archive_free(struct archive *a);

#endif
