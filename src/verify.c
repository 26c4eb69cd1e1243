/* verify.c - digests of files on disk and the stamps that cache them; see verify.h. */
#include "verify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define VERIFY_CHUNK (1 << 20)
#define VERIFY_PATH 4096

/* The stamp line for a file in state sb with digest md5. */
static void stamp_line(char *buf, size_t size, const struct stat *sb, const char *md5)
{
    snprintf(buf, size, "%s %llu %lld.%09ld %lld.%09ld %llu\n", md5,
             (unsigned long long)sb->st_size, (long long)sb->st_mtim.tv_sec,
             (long)sb->st_mtim.tv_nsec, (long long)sb->st_ctim.tv_sec,
             (long)sb->st_ctim.tv_nsec, (unsigned long long)sb->st_ino);
}

static int stamp_matches(const char *stamp, const struct stat *sb, const char *md5)
{
    char want[256], have[256];
    FILE *f = fopen(stamp, "r");
    int ok = 0;

    if (!f)
        return 0;
    stamp_line(want, sizeof want, sb, md5);
    if (fgets(have, sizeof have, f))
        ok = strcasecmp(want, have) == 0;
    fclose(f);
    return ok;
}

/* "Read-only" by its mode bits too: root may write anywhere, but a directory with no
 * write bit (a shared, read-only copy of the data) is not ours to add files to. */
void cact_verify_stamp(const char *stamp, const char *path, const char *md5)
{
    struct stat sb, db;
    char line[256], dir[VERIFY_PATH];
    char *slash;

    snprintf(dir, sizeof dir, "%s", stamp);
    slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    if (stat(slash ? dir : ".", &db) != 0 || !(db.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)))
        return;
    if (stat(path, &sb) != 0)
        return;
    stamp_line(line, sizeof line, &sb, md5);
    (void)cact_write_atomic(stamp, line, strlen(line), NULL);
}

enum cact_status cact_verify_md5_file(const char *path, char hex[CACT_VERIFY_MD5_HEX],
                                      struct cact_err *err)
{
    enum cact_status st = CACT_OK;
    EVP_MD_CTX *md = NULL;
    unsigned char *buf = NULL, d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    int fd = -1;

    md = EVP_MD_CTX_new();
    buf = malloc(VERIFY_CHUNK);
    if (!md || !buf) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory hashing %s", path);
        goto out;
    }
    st = cact_open_regular(path, &fd, NULL, err);
    if (st != CACT_OK)
        goto out;
    if (EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1) {
        st = cact_fail(err, CACT_ERR_NOMEM, "%s: MD5 init failed", path);
        goto out;
    }
    for (;;) {
        ssize_t got = read(fd, buf, VERIFY_CHUNK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            st = cact_fail(err, CACT_ERR_IO, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        if (EVP_DigestUpdate(md, buf, (size_t)got) != 1) {
            st = cact_fail(err, CACT_ERR_NOMEM, "%s: MD5 update failed", path);
            goto out;
        }
    }
    if (EVP_DigestFinal_ex(md, d, &dn) != 1) {
        st = cact_fail(err, CACT_ERR_NOMEM, "%s: MD5 final failed", path);
        goto out;
    }
    cact_hex(d, dn, hex);
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    EVP_MD_CTX_free(md);
    return st;
}

enum cact_status cact_verify_file(const char *path, const char *stamp, const char *md5,
                                  uint64_t size, struct cact_err *err)
{
    struct stat sb, sb2;
    char actual[CACT_VERIFY_MD5_HEX];
    enum cact_status st;

    if (stat(path, &sb) != 0) {
        if (errno == ENOENT)
            return cact_fail(err, CACT_ERR_MISSING, "%s is missing", path);
        return cact_fail(err, CACT_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
    }
    if (!S_ISREG(sb.st_mode))
        return cact_fail(err, CACT_ERR_FORMAT, "%s is not a regular file", path);
    if (size && (uint64_t)sb.st_size != size)
        return cact_fail(err, CACT_ERR_CHECKSUM, "%s: size %llu bytes, expected %llu", path,
                         (unsigned long long)sb.st_size, (unsigned long long)size);
    if (!md5 || stamp_matches(stamp, &sb, md5))
        return CACT_OK;
    st = cact_verify_md5_file(path, actual, err);
    if (st != CACT_OK)
        return st;
    if (strcasecmp(actual, md5) != 0)
        return cact_fail(err, CACT_ERR_CHECKSUM, "%s: MD5 %s, expected %s", path, actual, md5);
    /* Stamp only if the file did not change while we hashed it. */
    if (stat(path, &sb2) == 0 && sb2.st_ino == sb.st_ino && sb2.st_size == sb.st_size &&
        sb2.st_mtim.tv_sec == sb.st_mtim.tv_sec && sb2.st_mtim.tv_nsec == sb.st_mtim.tv_nsec)
        cact_verify_stamp(stamp, path, actual);
    return CACT_OK;
}
