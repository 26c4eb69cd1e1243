#include "ca.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum cact_status cact_fail(struct cact_err *err, enum cact_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void cact_err_clear(struct cact_err *err)
{
    if (err) {
        err->code = CACT_OK;
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

/* Both writers: temporary file, then rename, unlinking path first if asked. */
static enum cact_status ca_write_via_temp(const char *path, const void *data, size_t len,
                                       int unlink_first, struct cact_err *err)
{
    char tmp[4096];
    enum cact_status st = CACT_OK;
    FILE *f = NULL;

    cact_temp_name(path, tmp, sizeof tmp);
    f = fopen(tmp, "wb");
    if (!f) {
        st = cact_fail(err, CACT_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
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
    if (unlink_first)
        (void)unlink(path); /* ENOENT is the usual case; a real problem fails rename */
    if (rename(tmp, path) != 0)
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
    return ca_write_via_temp(path, data, len, 0, err);
}

enum cact_status cact_write_output(const char *path, const void *data, size_t len,
                               struct cact_err *err)
{
    return ca_write_via_temp(path, data, len, 1, err);
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
