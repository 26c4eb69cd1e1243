/* ca.h - status codes and error messages shared by every cifar-act module.
 *
 * Library functions return an enum ca_status (CA_OK == 0) and, on failure, leave one
 * human-readable line (no trailing newline) in a caller-owned struct ca_err. Only the
 * CLI (src/main.c) prints it, and maps the status to an exit code with ca_exit_code().
 */
#ifndef CA_H
#define CA_H

#include <stddef.h>

/* The version cifar-act reports (--version) and records (manifest.json). */
#define CA_VERSION "0.1.0"

enum ca_status {
    CA_OK = 0,
    CA_ERR_USAGE,      /* bad option value or --fn spec: exit 2 */
    CA_ERR_IO,         /* open/read/write/rename failed */
    CA_ERR_FORMAT,     /* bytes on disk are not what they should be */
    CA_ERR_MISSING,    /* dataset file absent (and we may not download it) */
    CA_ERR_CHECKSUM,   /* size or digest mismatch */
    CA_ERR_NETWORK,    /* transfer failed after retries, or HTTP error */
    CA_ERR_NOMEM,
    CA_ERR_INTERRUPTED /* a signal asked us to stop */
};

#define CA_ERR_MSG_MAX 1024

struct ca_err {
    enum ca_status code;
    char msg[CA_ERR_MSG_MAX];
};

/* Record a failure: formats printf-style into err->msg (if err is not NULL), sets
 * err->code, and returns code so callers can write `return ca_fail(err, ...)`. */
enum ca_status ca_fail(struct ca_err *err, enum ca_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clear err to CA_OK with an empty message. */
void ca_err_clear(struct ca_err *err);

/* Exit status the CLI uses for a status: 0 ok, 2 usage, 1 everything else. */
int ca_exit_code(enum ca_status code);

/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated): digests in messages. */
void ca_hex(const unsigned char *bytes, size_t n, char *out);

/* ---- Files ---- */

/* Write len bytes to path atomically: to a unique temporary name in the same
 * directory ("path.tmp.PID.N"), fsync-free fflush+fclose (both checked), then
 * rename(2) over path. On any failure the temporary file is removed, path is left as
 * it was, and err names the file. Thread-safe. */
enum ca_status ca_write_atomic(const char *path, const void *data, size_t len,
                               struct ca_err *err);

/* ca_write_atomic for a job's outputs (PNGs), where speed matters more than path
 * naming some version at every instant: an existing path is unlinked just before the
 * rename instead of being renamed over. On ext4, renaming over an existing file
 * forces the new file's data to disk first (auto_da_alloc), which made a re-run into
 * an existing output directory 10% slower with two threads, 30% with one. path still never names a partial file;
 * it is briefly absent, and if the rename then fails, the old file is gone too. */
enum ca_status ca_write_output(const char *path, const void *data, size_t len,
                               struct ca_err *err);

/* A unique temporary name for path in buf ("path.tmp.PID.N"); thread-safe. */
void ca_temp_name(const char *path, char *buf, size_t size);

/* mkdir -p: create dir and its missing parents (mode 0777 & ~umask). Then check that
 * dir is a writable directory. CA_ERR_IO naming the path on failure. */
enum ca_status ca_mkdirs(const char *dir, struct ca_err *err);

#endif
