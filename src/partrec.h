/* partrec.h - the record of where a partial download (a .part file) came from.
 *
 * Beside DATA_DIR/<archive>.part lives DATA_DIR/<archive>.part.source, two lines:
 *     URL\n
 *     VALIDATOR\n      (the response's strong ETag, else its Last-Modified; may be empty)
 * so that a later run resumes the .part only from the same URL, and sends the
 * validator as If-Range so that a server whose file changed sends it whole. The
 * record is a hint: losing it only means a .part is resumed without that check (the
 * archive's digests still catch a mix). What to do with a .part, and when to write or
 * remove its record, is fetch.c's policy; this module only reads and writes the file.
 * Knows nothing of CIFAR or HTTP; never prints.
 */
#ifndef CACT_PARTREC_H
#define CACT_PARTREC_H

#include <stddef.h>

/* The longest record read or written, in bytes (a longer URL is not recorded). */
#define CACT_PARTREC_MAX 4608

/* Write the record at path (atomically: cact_write_atomic). Best effort: a record that
 * does not fit CACT_PARTREC_MAX, or cannot be written, is skipped silently. */
void cact_partrec_write(const char *path, const char *url, const char *validator);

/* Read the record at path: 1 with the URL in url (usize bytes, truncated to fit) and
 * the validator in validator (vsize bytes, truncated to fit), or 0, leaving both
 * untouched, when the file is absent, unreadable or not two lines. */
int cact_partrec_read(const char *path, char *url, size_t usize, char *validator,
                      size_t vsize);

/* The validator to record for a response with these headers ("" when absent): a
 * strong ETag, else Last-Modified, else "" (a weak ETag, "W/...", may not be used in
 * If-Range). Returns one of its arguments, or a static "". */
const char *cact_partrec_validator(const char *etag, const char *last_modified);

#endif
