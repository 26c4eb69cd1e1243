#include "ca.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Put the message src (len bytes) into dst (size bytes). One too long - a path near
 * PATH_MAX - keeps its start and its end, the reason, with the middle cut out. */
static void err_fit(char *dst, size_t size, const char *src, size_t len)
{
    static const char cut[] = "...";
    size_t head, tail;

    if (len < size) {
        memmove(dst, src, len + 1);
        return;
    }
    tail = (size - sizeof cut) / 2;
    head = size - sizeof cut - tail;
    memmove(dst, src, head);
    memcpy(dst + head, cut, sizeof cut - 1);
    memmove(dst + head + sizeof cut - 1, src + len - tail, tail);
    dst[size - 1] = '\0';
}

enum cact_status cact_fail(struct cact_err *err, enum cact_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap, again;
        int n;
        char *big;
        va_start(ap, fmt);
        va_copy(again, ap);
        n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        if (n >= (int)sizeof err->msg && (big = malloc((size_t)n + 1)) != NULL) {
            vsnprintf(big, (size_t)n + 1, fmt, again);
            err_fit(err->msg, sizeof err->msg, big, (size_t)n);
            free(big);
        }
        va_end(again);
        va_end(ap);
        err->code = code;
        err->hint = CACT_HINT_NONE;
    }
    return code;
}

enum cact_status cact_hint(struct cact_err *err, enum cact_hint hint)
{
    if (!err)
        return CACT_OK;
    err->hint = hint;
    return err->code;
}

void cact_err_prefix(struct cact_err *err, const char *prefix)
{
    char msg[2 * CACT_ERR_MSG_MAX + 2];
    size_t pl, ml;

    if (!err)
        return;
    pl = strlen(prefix);
    ml = strlen(err->msg);
    if (pl > CACT_ERR_MSG_MAX)
        pl = CACT_ERR_MSG_MAX;
    memcpy(msg, prefix, pl);
    memcpy(msg + pl, ": ", 2);
    memcpy(msg + pl + 2, err->msg, ml + 1);
    err_fit(err->msg, sizeof err->msg, msg, pl + 2 + ml);
}

double cact_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cact_err_clear(struct cact_err *err)
{
    if (err) {
        err->code = CACT_OK;
        err->hint = CACT_HINT_NONE;
        err->msg[0] = '\0';
    }
}

int cact_exit_code(enum cact_status code)
{
    if (code == CACT_OK)
        return 0;
    if (code == CACT_ERR_INTERRUPTED)
        return 130; /* as a shell reports SIGINT; the CLI says 143 for SIGTERM */
    return code == CACT_ERR_USAGE ? 2 : 1;
}

int cact_name_find(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (names[i] && strcmp(names[i], s) == 0)
            return i;
    return -1;
}

void cact_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

void cact_hex(const unsigned char *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

/* ---- Files ---- */

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cact_temp_name(const char *path, char *buf, size_t size)
{
    static atomic_uint counter;
    unsigned n = atomic_fetch_add(&counter, 1);
    snprintf(buf, size, "%s.tmp.%ld.%u", path, (long)getpid(), n);
}

/* Both writers: write `tmp` (a new file), then rename it to path unless they are the
 * same name. */
static enum cact_status ca_write_via(const char *path, const char *tmp, const void *data,
                                     size_t len, struct cact_err *err)
{
    enum cact_status st = CACT_OK;
    FILE *f = NULL;

    if (tmp != path) {
        f = fopen(tmp, "wbx"); /* C11 exclusive create: never an existing file */
    } else {
        /* A new file, or an empty one left to be reused (outdir.c's pool: writing into
         * an existing inode is cheaper than allocating one). Not O_TRUNC: truncating
         * makes ext4 flush the file at close (auto_da_alloc). */
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
        struct stat sb;
        if (fd >= 0 && (fstat(fd, &sb) != 0 || (sb.st_size != 0 && ftruncate(fd, 0) != 0) ||
                        !(f = fdopen(fd, "wb")))) {
            int e = errno;
            close(fd);
            unlink(path);
            errno = e;
        }
    }
    if (!f) /* nothing of ours to remove: the name may be someone else's file */
        return cact_fail(err, CACT_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    if (len && fwrite(data, 1, len, f) != len) {
        st = cact_fail(err, CACT_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (fflush(f) != 0) {
        st = cact_fail(err, CACT_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    if (fclose(f) != 0) {
        f = NULL;
        st = cact_fail(err, CACT_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    f = NULL;
    if (tmp != path && rename(tmp, path) != 0)
        st = cact_fail(err, CACT_ERR_IO, "cannot rename %s to %s: %s", tmp, path,
                     strerror(errno));
out:
    if (f)
        fclose(f);
    if (st != CACT_OK)
        unlink(tmp);
    return st;
}

enum cact_status cact_write_atomic(const char *path, const void *data, size_t len,
                               struct cact_err *err)
{
    char tmp[4096];

    cact_temp_name(path, tmp, sizeof tmp);
    return ca_write_via(path, tmp, data, len, err);
}

enum cact_status cact_write_new(const char *path, const void *data, size_t len,
                                struct cact_err *err)
{
    return ca_write_via(path, path, data, len, err);
}

static const char *file_type(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket"
           : S_ISCHR(m) ? "a character device" : S_ISBLK(m) ? "a block device"
                        : "not a plain file";
}

enum cact_status cact_open_regular(const char *path, int *fd, struct stat *sb,
                                   struct cact_err *err)
{
    struct stat local;
    int flags;

    if (!sb)
        sb = &local;
    *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (*fd < 0) {
        if (errno == ENOENT)
            return cact_fail(err, CACT_ERR_MISSING, "%s not found", path);
        return cact_fail(err, CACT_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    }
    if (fstat(*fd, sb) != 0) {
        enum cact_status st = cact_fail(err, CACT_ERR_IO, "cannot stat %s: %s", path,
                                        strerror(errno));
        close(*fd);
        *fd = -1;
        return st;
    }
    if (!S_ISREG(sb->st_mode)) {
        close(*fd);
        *fd = -1;
        return cact_fail(err, CACT_ERR_FORMAT, "%s is %s, not a regular file", path,
                         file_type(sb->st_mode));
    }
    flags = fcntl(*fd, F_GETFL);
    if (flags >= 0)
        (void)fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK);
    return CACT_OK;
}

enum cact_status cact_mkdirs(const char *dir, struct cact_err *err)
{
    char buf[4096];
    size_t len = strlen(dir);
    struct stat sb;

    if (len == 0 || len >= sizeof buf)
        return cact_fail(err, CACT_ERR_USAGE, "bad directory name '%s'", dir);
    memcpy(buf, dir, len + 1);
    /* Create each prefix in turn; EEXIST is fine, the final check decides. */
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return cact_fail(err, CACT_ERR_IO, "cannot create directory %s: %s", buf,
                               strerror(errno));
            buf[i] = c;
        }
    }
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return cact_fail(err, CACT_ERR_IO, "%s is not a directory", dir);
    if (access(dir, W_OK | X_OK) != 0)
        return cact_fail(err, CACT_ERR_IO, "directory %s is not writable: %s", dir,
                       strerror(errno));
    return CACT_OK;
}

enum cact_status cact_pread_all(int fd, void *buf, size_t len, off_t off, const char *path,
                                struct cact_err *err)
{
    char *p = buf;
    while (len) {
        ssize_t r = pread(fd, p, len, off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return cact_fail(err, CACT_ERR_IO, "cannot read %s: %s", path, strerror(errno));
        if (r == 0)
            return cact_fail(err, CACT_ERR_IO, "%s: unexpected end of file (did it shrink?)",
                             path);
        p += r;
        len -= (size_t)r;
        off += r;
    }
    return CACT_OK;
}

enum cact_status cact_write_all(int fd, const void *buf, size_t len, off_t off,
                                const char *path, struct cact_err *err)
{
    const char *p = buf;
    while (len) {
        ssize_t w = off < 0 ? write(fd, p, len) : pwrite(fd, p, len, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return cact_fail(err, CACT_ERR_IO, "cannot write %s: %s", path,
                             w < 0 ? strerror(errno) : "no progress");
        p += w;
        len -= (size_t)w;
        if (off >= 0)
            off += w;
    }
    return CACT_OK;
}
