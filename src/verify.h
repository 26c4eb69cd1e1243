/* verify.h - the verification cache: is a file on disk the one its digest names?
 *
 * Hashing the 30-180 MB record files on every run would cost more than the job, so a
 * verified file gets a stamp beside it, "<dir>/.<name>.verified", holding one line
 * "md5 size mtime ctime inode". While the file's stat still matches its stamp and the
 * stamp's MD5 is the expected one, the file is taken as verified without reading it;
 * any rewrite, touch or copy changes ctime or inode and forces a re-hash.
 * Knows nothing of CIFAR: paths, digests and sizes are passed in. Never prints.
 */
#ifndef CACT_VERIFY_H
#define CACT_VERIFY_H

#include <stdint.h>

#include "ca.h"

#define CACT_VERIFY_MD5_HEX 33 /* 32 hex digits + NUL */

/* MD5 of a regular file's bytes into hex. Opens with cact_open_regular, so a FIFO or
 * device fails at once instead of blocking. CACT_ERR_IO naming the file (permission
 * denied says so), CACT_ERR_FORMAT (not a regular file), CACT_ERR_NOMEM. */
enum cact_status cact_verify_md5_file(const char *path, char hex[CACT_VERIFY_MD5_HEX],
                                      struct cact_err *err);

/* Is path present, a regular file, of `size` bytes (0: any size) and, when md5 is not
 * NULL, of that MD5 (by a matching stamp, else by hashing, then stamping)?
 * CACT_OK; CACT_ERR_MISSING (absent); CACT_ERR_CHECKSUM (size or digest differ:
 * expected and actual values); CACT_ERR_FORMAT (not a regular file); CACT_ERR_IO
 * (cannot stat or read it, e.g. permission denied: the caller must not treat the file
 * as corrupt and replace it); CACT_ERR_NOMEM. Each names the file. */
enum cact_status cact_verify_file(const char *path, const char *stamp, const char *md5,
                                  uint64_t size, struct cact_err *err);

/* Record that path (as it is now) has MD5 md5, in the stamp file. Best effort: a
 * directory without write permission bits (a shared read-only copy) gets no stamp and
 * nothing fails; it only means hashing again next time. */
void cact_verify_stamp(const char *stamp, const char *path, const char *md5);

#endif
