/* ca.h - status codes and error messages shared by every cifar-act module.
 *
 * Library functions return an enum cact_status (CACT_OK == 0) and, on failure, leave one
 * human-readable line (no trailing newline) in a caller-owned struct cact_err. Only the
 * CLI (src/cli/) prints it, and maps the status to an exit code with cact_exit_code().
 */
#ifndef CACT_H
#define CACT_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h> /* off_t */

/* The version cifar-act reports (--version) and records (manifest.json). */
#define CACT_VERSION "0.1.0"

enum cact_status {
    CACT_OK = 0,
    CACT_ERR_USAGE,      /* bad option value or --fn spec: exit 2 */
    CACT_ERR_IO,         /* open/read/write/rename failed */
    CACT_ERR_FORMAT,     /* bytes on disk are not what they should be */
    CACT_ERR_MISSING,    /* dataset file absent (and we may not download it) */
    CACT_ERR_CHECKSUM,   /* size or digest mismatch */
    CACT_ERR_NETWORK,    /* transfer failed after retries, or HTTP error */
    CACT_ERR_NOMEM,
    CACT_ERR_INTERRUPTED /* a signal asked us to stop */
};

#define CACT_ERR_MSG_MAX 1024

/* What the user can do about a failure, for the CLI to spell: library code never names
 * a command-line option, so it says which situation it met and the CLI adds the
 * remedy in its own terms. cact_fail() resets it to CACT_HINT_NONE. */
enum cact_hint {
    CACT_HINT_NONE = 0,
    CACT_HINT_DATA_DIR,   /* dataset files not found under the data directory */
    CACT_HINT_OFFLINE,    /* offline and the data is missing: a local archive would do */
    CACT_HINT_NO_NETWORK, /* the server could not be reached at all (no DNS, no route) */
    CACT_HINT_COUNT
};

struct cact_err {
    enum cact_status code;
    enum cact_hint hint;
    char msg[CACT_ERR_MSG_MAX];
};

/* Record a failure: formats printf-style into err->msg (if err is not NULL), sets
 * err->code, and returns code so callers can write `return cact_fail(err, ...)`. A
 * message longer than CACT_ERR_MSG_MAX - 1 bytes keeps its start and its end (the
 * reason) with "..." for the middle. */
enum cact_status cact_fail(struct cact_err *err, enum cact_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clear err to CACT_OK with an empty message. */
void cact_err_clear(struct cact_err *err);

/* Set err->hint (if err is not NULL) and return err's code: `return cact_hint(err, H);`
 * right after cact_fail(). */
enum cact_status cact_hint(struct cact_err *err, enum cact_hint hint);

/* Prepend "prefix: " to err->msg (if err is not NULL), cutting the middle if it does
 * not fit (as cact_fail does); code and hint stay. For naming the file or URL a lower
 * layer's message is about. */
void cact_err_prefix(struct cact_err *err, const char *prefix);

/* Seconds on CLOCK_MONOTONIC: for intervals, never for dates. */
double cact_now_s(void);

/* Exit status for a status: 0 ok, 2 usage, 130 interrupted (what a shell reports for
 * SIGINT; the CLI reports 143 when SIGTERM was the cause), 1 everything else. */
int cact_exit_code(enum cact_status code);

/* Index of s in names[0..n), or -1: the parser for every enum that has a name table
 * beside it (cact_grid_style_names, cact_run_layout_names, cact_cifar_*_names). */
int cact_name_find(const char *const *names, int n, const char *s);

/* Lowercase hex of n bytes into out (2n+1 bytes, NUL-terminated): digests in messages. */
void cact_hex(const unsigned char *bytes, size_t n, char *out);

/* s (NUL-terminated, UTF-8 passed through) to f as a JSON string with its quotes:
 * '"' and '\\' escaped, control bytes as \u00XX. Write errors are f's (ferror). */
void cact_json_str(FILE *f, const char *s);

/* ---- Files ---- */

/* Write len bytes to path atomically: to a unique temporary name in the same
 * directory ("path.tmp.PID.N"), fsync-free fflush+fclose (both checked), then
 * rename(2) over path. On any failure the temporary file is removed, path is left as
 * it was, and err names the file. Thread-safe. */
enum cact_status cact_write_atomic(const char *path, const void *data, size_t len,
                               struct cact_err *err);

/* Write len bytes to path, a new file or an empty one (a recycled inode, outdir.h):
 * for files in a directory only this process writes into (a run's staging directory),
 * where nobody can see a partial file and nothing is replaced, so no temporary name and
 * no rename are needed. fwrite, fflush and fclose are checked; on failure the partial
 * file is removed and err names it. CACT_ERR_IO. Thread-safe. */
enum cact_status cact_write_new(const char *path, const void *data, size_t len,
                                struct cact_err *err);

/* A unique temporary name for path in buf ("path.tmp.PID.N"); thread-safe. */
void cact_temp_name(const char *path, char *buf, size_t size);

/* mkdir -p: create dir and its missing parents (mode 0777 & ~umask). Then check that
 * dir is a writable directory. CACT_ERR_IO naming the path on failure. */
enum cact_status cact_mkdirs(const char *dir, struct cact_err *err);

/* Open path read-only for a reader that must not hang: with O_NONBLOCK (so a FIFO
 * without a writer does not block the open), then fstat, refusing anything that is not
 * a regular file before a single read; O_NONBLOCK is then cleared. *fd is the open
 * descriptor (O_CLOEXEC) on success, -1 otherwise; sb (may be NULL) gets its stat.
 * CACT_ERR_MISSING (absent), CACT_ERR_FORMAT ("is a FIFO, not a regular file", ...),
 * CACT_ERR_IO ("permission denied" and the rest), each naming the path. */
struct stat;
enum cact_status cact_open_regular(const char *path, int *fd, struct stat *sb,
                                   struct cact_err *err);

/* Read exactly len bytes of fd at offset off (pread; EINTR retried). path names fd in
 * the message. CACT_ERR_IO: a read error, or "unexpected end of file (did it
 * shrink?)" when the file ends first. Thread-safe (no file position). */
enum cact_status cact_pread_all(int fd, void *buf, size_t len, off_t off, const char *path,
                                struct cact_err *err);

/* Write exactly len bytes to fd: at offset off with pwrite (thread-safe), or with off < 0
 * at the file position (write; O_APPEND's end). EINTR retried. CACT_ERR_IO naming path
 * on an error or a write that makes no progress. */
enum cact_status cact_write_all(int fd, const void *buf, size_t len, off_t off,
                                const char *path, struct cact_err *err);

#endif
