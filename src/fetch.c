/* fetch.c - verified dataset on disk: check, lock, extract or download; see fetch.h. */
#include "fetch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "archive.h"
#include "download.h"

#define FETCH_PATH 4096
#define FETCH_MAX_FILES 8
#define FETCH_CHUNK (1 << 20)
#define FETCH_PROGRESS_S 0.25 /* at most four progress calls a second */

/* ---- The datasets ---- */

/* One file of a dataset. These names must match cact_cifar_layout_get() in cifar.c; the
 * table is kept here because it also describes the archive (digests, order). */
struct fetch_file {
    const char *name;  /* in <dir>/ on disk and in the archive */
    const char *md5;   /* official MD5, NULL if none published */
    int train_only;    /* only the train split needs it */
};

struct fetch_dataset {
    const char *label;
    const char *url;
    const char *archive;  /* official archive file name */
    const char *dir;      /* top directory, in the archive and under DATA_DIR */
    uint64_t size;
    const char *sha256;
    int n_files;
    struct fetch_file files[FETCH_MAX_FILES];
};

static const struct fetch_dataset fetch_table[] = {
    [CACT_CIFAR_10] = {
        .label = "CIFAR-10",
        .url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
        .archive = "cifar-10-binary.tar.gz",
        .dir = "cifar-10-batches-bin",
        .size = 170052171,
        .sha256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
        .n_files = 7,
        .files = {
            { "test_batch.bin", "803d5f7f4d78ea53de84dbe85f74fb6d", 0 },
            { "batches.meta.txt", NULL, 0 },
            { "data_batch_1.bin", "5dd7e06a14cb22eb9f671a540d1b7c25", 1 },
            { "data_batch_2.bin", "5ea93a67294ea407fff1d09f752e9692", 1 },
            { "data_batch_3.bin", "942cd6a4bcdd0dd3c604fbe906cb4421", 1 },
            { "data_batch_4.bin", "ae636b3ba5c66a11e91e8cb52e771fcb", 1 },
            { "data_batch_5.bin", "53f37980c15c3d472c316c40844f3f0d", 1 },
        },
    },
    [CACT_CIFAR_100] = {
        .label = "CIFAR-100",
        .url = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
        .archive = "cifar-100-binary.tar.gz",
        .dir = "cifar-100-binary",
        .size = 168513733,
        .sha256 = "58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec",
        .n_files = 4,
        .files = {
            { "test.bin", "4499cfba6c016c1be1438163640a0898", 0 },
            { "coarse_label_names.txt", NULL, 0 },
            { "fine_label_names.txt", NULL, 0 },
            { "train.bin", "6172c7755cfe09b2fe270c85cebc1b15", 1 },
        },
    },
};

const char *cact_fetch_default_url(enum cact_cifar_kind kind)
{
    return kind == CACT_CIFAR_100 ? fetch_table[CACT_CIFAR_100].url : fetch_table[CACT_CIFAR_10].url;
}

const char *cact_fetch_archive_name(enum cact_cifar_kind kind)
{
    return kind == CACT_CIFAR_100 ? fetch_table[CACT_CIFAR_100].archive
                             : fetch_table[CACT_CIFAR_10].archive;
}

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);
    char *end = NULL;
    long x;

    if (!v || !*v)
        return def;
    errno = 0;
    x = strtol(v, &end, 10);
    return errno || *end || x < 0 ? def : x;
}

void cact_fetch_opts_default(struct cact_fetch_opts *o)
{
    memset(o, 0, sizeof *o);
    o->kind = CACT_CIFAR_10;
    o->split = CACT_CIFAR_TEST;
    o->retries = 5;
    o->retry_base_ms = env_long("CIFAR_ACT_RETRY_BASE_MS", 1000);
    o->stall_bytes = 1024;
    o->stall_seconds = env_long("CIFAR_ACT_STALL_SECONDS", 60);
}

/* ---- One run's state ---- */

struct fetch_ctx {
    const struct cact_fetch_opts *o;
    const struct fetch_dataset *ds;
    const char *url;
    const char *sha256;          /* expected archive SHA-256, NULL: not checked */
    uint64_t size;               /* expected archive size, 0: not checked */

    int n;                       /* members this split needs */
    const char *md5[FETCH_MAX_FILES];
    char name[FETCH_MAX_FILES][256];  /* "<dir>/<file>" inside the archive */
    char dest[FETCH_MAX_FILES][FETCH_PATH];
    char stamp[FETCH_MAX_FILES][FETCH_PATH];
    struct cact_archive_member members[FETCH_MAX_FILES];
    char dir[FETCH_PATH];        /* DATA_DIR/<dir> */
    char part[FETCH_PATH];       /* DATA_DIR/<archive>.part */
    char kept[FETCH_PATH];       /* DATA_DIR/<archive> */
    char lock[FETCH_PATH];

    /* The stream: archive bytes -> SHA-256 (+ .part) -> extractor. */
    struct cact_archive *ar;
    EVP_MD_CTX *sha;
    int part_fd;                 /* -1 unless downloading */
    uint64_t bytes;              /* archive bytes through the pipeline */
    uint64_t total;              /* for progress, 0 unknown */
    uint64_t resume_at;          /* for progress: offset this transfer resumed at */

    double t_last, rate;
    uint64_t b_last;
    int cancelled;
};

static int path_join(char *buf, size_t size, const char *a, const char *b)
{
    int n = snprintf(buf, size, "%s/%s", a, b);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Fill in names and paths for o; CACT_ERR_USAGE for bad options. */
static enum cact_status ctx_init(struct fetch_ctx *c, const struct cact_fetch_opts *o,
                               struct cact_err *err)
{
    const struct fetch_dataset *ds;
    char part_name[256];
    int official;

    memset(c, 0, sizeof *c);
    c->o = o;
    c->part_fd = -1;
    if (!o->data_dir || !*o->data_dir)
        return cact_fail(err, CACT_ERR_USAGE, "no data directory given");
    if (o->kind != CACT_CIFAR_10 && o->kind != CACT_CIFAR_100)
        return cact_fail(err, CACT_ERR_USAGE, "unknown dataset kind %d", (int)o->kind);
    if (o->split != CACT_CIFAR_TEST && o->split != CACT_CIFAR_TRAIN)
        return cact_fail(err, CACT_ERR_USAGE, "unknown split %d", (int)o->split);
    if (o->sha256 && (strlen(o->sha256) != 64 ||
                      strspn(o->sha256, "0123456789abcdefABCDEF") != 64))
        return cact_fail(err, CACT_ERR_USAGE, "SHA-256 '%s' is not 64 hex digits", o->sha256);
    ds = &fetch_table[o->kind];
    c->ds = ds;
    c->url = o->url ? o->url : ds->url;
    official = strcmp(c->url, ds->url) == 0;
    c->sha256 = o->sha256 ? o->sha256 : official ? ds->sha256 : NULL;
    c->size = official && !o->sha256 ? ds->size : 0;

    snprintf(part_name, sizeof part_name, "%s.part", ds->archive);
    if (path_join(c->dir, sizeof c->dir, o->data_dir, ds->dir) ||
        path_join(c->part, sizeof c->part, o->data_dir, part_name) ||
        path_join(c->kept, sizeof c->kept, o->data_dir, ds->archive) ||
        path_join(c->lock, sizeof c->lock, o->data_dir, ".cifar-act.lock"))
        return cact_fail(err, CACT_ERR_USAGE, "data directory name too long");
    for (int i = 0; i < ds->n_files; i++) {
        const struct fetch_file *f = &ds->files[i];
        char sname[300];
        int k = c->n;
        if (f->train_only && o->split != CACT_CIFAR_TRAIN)
            continue;
        c->md5[k] = f->md5;
        if (o->test_md5) {
            c->md5[k] = NULL;
            for (const struct cact_fetch_md5 *t = o->test_md5; t->member; t++)
                if (strcmp(t->member, f->name) == 0)
                    c->md5[k] = t->md5;
        }
        snprintf(c->name[k], sizeof c->name[k], "%s/%s", ds->dir, f->name);
        snprintf(sname, sizeof sname, ".%s.verified", f->name);
        if (path_join(c->dest[k], sizeof c->dest[k], c->dir, f->name) ||
            path_join(c->stamp[k], sizeof c->stamp[k], c->dir, sname))
            return cact_fail(err, CACT_ERR_USAGE, "data directory name too long");
        c->members[k] = (struct cact_archive_member){ c->name[k], c->dest[k], c->md5[k] };
        c->n++;
    }
    return CACT_OK;
}

/* Prepend "prefix: " to err->msg, cutting what does not fit. */
static void err_prefix(struct cact_err *err, const char *prefix)
{
    char msg[CACT_ERR_MSG_MAX];
    size_t pl = strlen(prefix), ml = strlen(err->msg);

    if (pl > sizeof msg / 2)
        pl = sizeof msg / 2;
    if (ml > sizeof msg - pl - 3)
        ml = sizeof msg - pl - 3;
    memcpy(msg, prefix, pl);
    memcpy(msg + pl, ": ", 2);
    memcpy(msg + pl + 2, err->msg, ml);
    msg[pl + 2 + ml] = '\0';
    memcpy(err->msg, msg, pl + 3 + ml);
}

/* ---- Verifying what is on disk ---- */

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

/* Best effort: a read-only data directory just means hashing again next time.
 * "Read-only" by its mode bits too: root may write anywhere, but a directory with no
 * write bit (a shared, read-only copy of the data) is not ours to add files to. */
static void stamp_write(const char *stamp, const char *path, const char *md5)
{
    struct stat sb, db;
    char line[256], dir[FETCH_PATH];
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

static enum cact_status md5_file(const char *path, char *hex, struct cact_err *err)
{
    enum cact_status st = CACT_OK;
    EVP_MD_CTX *md = NULL;
    unsigned char *buf = NULL, d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    FILE *f = NULL;
    size_t got;

    md = EVP_MD_CTX_new();
    buf = malloc(FETCH_CHUNK);
    if (!md || !buf) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
        goto out;
    }
    f = fopen(path, "rb");
    if (!f) {
        st = cact_fail(err, CACT_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    if (EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1) {
        st = cact_fail(err, CACT_ERR_NOMEM, "MD5 init failed");
        goto out;
    }
    while ((got = fread(buf, 1, FETCH_CHUNK, f)) > 0)
        if (EVP_DigestUpdate(md, buf, got) != 1) {
            st = cact_fail(err, CACT_ERR_NOMEM, "MD5 update failed");
            goto out;
        }
    if (ferror(f)) {
        st = cact_fail(err, CACT_ERR_IO, "cannot read %s", path);
        goto out;
    }
    if (EVP_DigestFinal_ex(md, d, &dn) != 1) {
        st = cact_fail(err, CACT_ERR_NOMEM, "MD5 final failed");
        goto out;
    }
    cact_hex(d, dn, hex);
out:
    if (f)
        fclose(f);
    free(buf);
    EVP_MD_CTX_free(md);
    return st;
}

/* Member k present and, if it has a digest, matching it (by stamp or by hashing). */
static enum cact_status check_member(struct fetch_ctx *c, int k, struct cact_err *err)
{
    struct stat sb, sb2;
    char actual[CACT_ARCHIVE_MD5_HEX];
    enum cact_status st;

    if (stat(c->dest[k], &sb) != 0) {
        if (errno == ENOENT)
            return cact_fail(err, CACT_ERR_MISSING, "%s is missing", c->dest[k]);
        return cact_fail(err, CACT_ERR_IO, "cannot stat %s: %s", c->dest[k], strerror(errno));
    }
    if (!S_ISREG(sb.st_mode))
        return cact_fail(err, CACT_ERR_FORMAT, "%s is not a regular file", c->dest[k]);
    if (!c->md5[k] || stamp_matches(c->stamp[k], &sb, c->md5[k]))
        return CACT_OK;
    st = md5_file(c->dest[k], actual, err);
    if (st != CACT_OK)
        return st;
    if (strcasecmp(actual, c->md5[k]) != 0)
        return cact_fail(err, CACT_ERR_CHECKSUM, "%s: MD5 %s, expected %s", c->dest[k], actual,
                       c->md5[k]);
    /* Stamp only if the file did not change while we hashed it. */
    if (stat(c->dest[k], &sb2) == 0 && sb2.st_ino == sb.st_ino &&
        sb2.st_size == sb.st_size && sb2.st_mtim.tv_sec == sb.st_mtim.tv_sec &&
        sb2.st_mtim.tv_nsec == sb.st_mtim.tv_nsec)
        stamp_write(c->stamp[k], c->dest[k], actual);
    return CACT_OK;
}

static enum cact_status check_all(struct fetch_ctx *c, struct cact_err *err)
{
    for (int k = 0; k < c->n; k++) {
        enum cact_status st = check_member(c, k, err);
        if (st != CACT_OK)
            return st;
    }
    return CACT_OK;
}

enum cact_status cact_fetch_verify(const struct cact_fetch_opts *o, struct cact_err *err)
{
    struct fetch_ctx *c = calloc(1, sizeof *c);
    enum cact_status st;

    if (!c)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    st = ctx_init(c, o, err);
    if (st == CACT_OK)
        st = check_all(c, err);
    free(c);
    return st;
}

/* ---- Progress ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void progress_start(struct fetch_ctx *c)
{
    c->t_last = now_s();
    c->b_last = c->bytes;
    c->rate = 0;
}

/* Report at most every FETCH_PROGRESS_S seconds, or now if force. The rate is a
 * moving average, so one slow or fast quarter-second does not swing the ETA. */
static void progress_maybe(struct fetch_ctx *c, int force)
{
    struct cact_fetch_progress p;
    double t = now_s(), dt = t - c->t_last;

    if (!c->o->progress || (!force && dt < FETCH_PROGRESS_S))
        return;
    if (dt > 0 && c->bytes >= c->b_last) {
        double inst = (double)(c->bytes - c->b_last) / dt;
        c->rate = c->rate > 0 ? 0.7 * c->rate + 0.3 * inst : inst;
    }
    c->t_last = t;
    c->b_last = c->bytes;
    p.done = c->bytes;
    p.total = c->total;
    p.rate = c->rate;
    p.resumed_from = c->resume_at;
    p.eta = c->total > c->bytes && c->rate > 0 ? (double)(c->total - c->bytes) / c->rate
            : c->total && c->total <= c->bytes ? 0
                                                : -1;
    c->o->progress(&p, c->o->progress_ctx);
}

static int cancel_requested(struct fetch_ctx *c)
{
    if (c->o->cancel && *c->o->cancel)
        c->cancelled = 1;
    return c->cancelled;
}

/* ---- The stream ---- */

/* Drop all stream state and start again at archive byte 0. */
static enum cact_status stream_reset(struct fetch_ctx *c, struct cact_err *err)
{
    cact_archive_free(c->ar);
    c->ar = NULL;
    c->bytes = 0;
    if (!c->sha && !(c->sha = EVP_MD_CTX_new()))
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    if (EVP_DigestInit_ex(c->sha, EVP_sha256(), NULL) != 1)
        return cact_fail(err, CACT_ERR_NOMEM, "SHA-256 init failed");
    return cact_archive_new(&c->ar, c->members, c->n, err);
}

/* Archive bytes, in order, from any source. */
static enum cact_status stream_feed(struct fetch_ctx *c, const void *buf, size_t len,
                                  struct cact_err *err)
{
    if (c->size && c->bytes + len > c->size)
        return cact_fail(err, CACT_ERR_CHECKSUM,
                       "archive is larger than the expected %" PRIu64 " bytes", c->size);
    if (EVP_DigestUpdate(c->sha, buf, len) != 1)
        return cact_fail(err, CACT_ERR_NOMEM, "SHA-256 update failed");
    c->bytes += len;
    return cact_archive_feed(c->ar, buf, len, err);
}

/* Every check on a complete stream, then the members go into place. */
static enum cact_status stream_finish(struct fetch_ctx *c, struct cact_err *err)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    enum cact_status st;

    st = cact_archive_finish(c->ar, err);
    if (st != CACT_OK)
        return st;
    if (c->size && c->bytes != c->size)
        return cact_fail(err, CACT_ERR_CHECKSUM, "archive size %" PRIu64 ", expected %" PRIu64,
                       c->bytes, c->size);
    if (EVP_DigestFinal_ex(c->sha, d, &dn) != 1)
        return cact_fail(err, CACT_ERR_NOMEM, "SHA-256 final failed");
    cact_hex(d, dn, hex);
    if (c->sha256 && strcasecmp(hex, c->sha256) != 0)
        return cact_fail(err, CACT_ERR_CHECKSUM, "archive SHA-256 %s, expected %s", hex,
                       c->sha256);
    st = cact_archive_commit(c->ar, err);
    if (st != CACT_OK)
        return st;
    for (int k = 0; k < c->n; k++)
        if (c->md5[k])
            stamp_write(c->stamp[k], c->dest[k], cact_archive_member_md5(c->ar, k));
    return CACT_OK;
}

/* ---- Local archives ---- */

/* Extract a .tar.gz file we did not write: it is never removed. */
static enum cact_status extract_file(struct fetch_ctx *c, const char *path,
                                   struct cact_err *err)
{
    enum cact_status st;
    unsigned char *buf = NULL;
    FILE *f = NULL;
    struct stat sb;
    size_t got;

    /* Not bytes from the official URL: only a given SHA-256 is checked. */
    c->sha256 = c->o->sha256;
    c->size = 0;
    st = stream_reset(c, err);
    if (st != CACT_OK)
        goto out;
    buf = malloc(FETCH_CHUNK);
    if (!buf) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
        goto out;
    }
    f = fopen(path, "rb");
    if (!f) {
        st = cact_fail(err, CACT_ERR_IO, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    c->total = fstat(fileno(f), &sb) == 0 ? (uint64_t)sb.st_size : 0;
    progress_start(c);
    while ((got = fread(buf, 1, FETCH_CHUNK, f)) > 0) {
        st = stream_feed(c, buf, got, err);
        if (st != CACT_OK)
            goto out;
        if (cancel_requested(c)) {
            st = cact_fail(err, CACT_ERR_INTERRUPTED, "extraction of %s interrupted", path);
            goto out;
        }
        progress_maybe(c, 0);
    }
    if (ferror(f)) {
        st = cact_fail(err, CACT_ERR_IO, "cannot read %s", path);
        goto out;
    }
    progress_maybe(c, 1);
    st = stream_finish(c, err);
out:
    if (st != CACT_OK && st != CACT_ERR_NOMEM && st != CACT_ERR_INTERRUPTED &&
        strstr(err->msg, path) == NULL)
        err_prefix(err, path); /* say which file was at fault */
    if (f)
        fclose(f);
    free(buf);
    return st;
}

/* ---- Downloading ---- */

/* download.c's sink: the body goes to the .part file and through the stream. */
static enum cact_status dl_sink(void *ctx, const void *buf, size_t len, int restart,
                              struct cact_err *err)
{
    struct fetch_ctx *c = ctx;
    enum cact_status st;
    const unsigned char *p = buf;
    size_t left = len;

    if (restart) {
        /* The server ignored our Range: throw away the .part and start clean. */
        if (ftruncate(c->part_fd, 0) != 0)
            return cact_fail(err, CACT_ERR_IO, "cannot truncate %s: %s", c->part,
                           strerror(errno));
        st = stream_reset(c, err);
        if (st != CACT_OK)
            return st;
        c->resume_at = 0;
        progress_start(c);
    }
    while (left > 0) {
        /* O_APPEND: every write lands at the end, after a truncate too. */
        ssize_t w = write(c->part_fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return cact_fail(err, CACT_ERR_IO, "cannot write %s: %s", c->part,
                           w < 0 ? strerror(errno) : "no progress");
        p += w;
        left -= (size_t)w;
    }
    st = stream_feed(c, buf, len, err);
    if (st != CACT_OK)
        return st;
    progress_maybe(c, 0);
    return CACT_OK;
}

static int dl_tick(void *ctx)
{
    struct fetch_ctx *c = ctx;
    progress_maybe(c, 0);
    return cancel_requested(c);
}

/* Sleep ms milliseconds in short naps, returning early (1) if cancelled. */
static int nap_ms(struct fetch_ctx *c, long ms)
{
    while (ms > 0) {
        long step = ms < 50 ? ms : 50;
        struct timespec ts = { 0, step * 1000000L };
        if (cancel_requested(c))
            return 1;
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return cancel_requested(c);
}

/* Feed the existing .part through the stream. A .part that cannot be the start of a
 * good archive is discarded (truncated) so the download starts over. */
static enum cact_status refeed_part(struct fetch_ctx *c, struct cact_err *err)
{
    enum cact_status st;
    unsigned char *buf = NULL;
    struct cact_err perr;
    ssize_t got;
    off_t pos = 0;

    st = stream_reset(c, err);
    if (st != CACT_OK)
        return st;
    buf = malloc(FETCH_CHUNK);
    if (!buf)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    cact_err_clear(&perr);
    for (;;) {
        got = pread(c->part_fd, buf, FETCH_CHUNK, pos);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            st = cact_fail(err, CACT_ERR_IO, "cannot read %s: %s", c->part, strerror(errno));
            goto out;
        }
        if (got == 0)
            break;
        pos += got;
        st = stream_feed(c, buf, (size_t)got, &perr);
        if (st == CACT_ERR_FORMAT || st == CACT_ERR_CHECKSUM)
            break;
        if (st != CACT_OK) {
            *err = perr;
            goto out;
        }
    }
    if (st == CACT_ERR_FORMAT || st == CACT_ERR_CHECKSUM) {
        if (ftruncate(c->part_fd, 0) != 0) {
            st = cact_fail(err, CACT_ERR_IO, "cannot truncate %s: %s", c->part,
                         strerror(errno));
            goto out;
        }
        st = stream_reset(c, err);
    }
out:
    free(buf);
    return st;
}

static void part_discard(struct fetch_ctx *c)
{
    if (c->part_fd >= 0) {
        close(c->part_fd);
        c->part_fd = -1;
    }
    unlink(c->part);
}

static enum cact_status offline_missing(struct fetch_ctx *c, const char *why,
                                      struct cact_err *err)
{
    return cact_fail(err, CACT_ERR_MISSING,
                   "%s; offline, so not downloading: put %s (from %s) into %s/, "
                   "or use --archive FILE",
                   why, c->ds->archive, c->url, c->o->data_dir);
}

static enum cact_status download(struct fetch_ctx *c, const char *why, struct cact_err *err)
{
    const struct cact_fetch_opts *o = c->o;
    struct cact_download_req req;
    struct cact_download_result res;
    enum cact_status st;
    int fails = 0, restarted_416 = 0;

    c->part_fd = open(c->part, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (c->part_fd < 0) {
        if (o->offline && errno == ENOENT)
            return offline_missing(c, why, err);
        return cact_fail(err, CACT_ERR_IO, "cannot open %s: %s", c->part, strerror(errno));
    }
    st = refeed_part(c, err);
    if (st != CACT_OK)
        goto out;
    if (cact_archive_stream_done(c->ar))
        goto finish; /* a previous run received everything: no network */
    if (o->offline) {
        int empty = c->bytes == 0;
        st = offline_missing(c, why, err);
        if (empty)
            part_discard(c); /* we just created it */
        goto out;
    }

    memset(&req, 0, sizeof req);
    req.url = c->url;
    req.low_speed_bytes = o->stall_bytes;
    req.low_speed_seconds = o->stall_seconds;
    req.connect_timeout = 30;
    req.sink = dl_sink;
    req.tick = dl_tick;
    req.ctx = c;
    req.total = c->size ? NULL : &c->total; /* the official size is known already */
    c->total = c->size;
    for (;;) {
        req.offset = c->bytes;
        c->resume_at = req.offset;
        progress_start(c);
        st = cact_download_run(&req, &res, err);
        if (st == CACT_OK) {
            progress_maybe(c, 1);
            if (!cact_archive_stream_done(c->ar)) {
                st = cact_archive_finish(c->ar, err); /* says "truncated after N bytes" */
                err_prefix(err, c->url);
                part_discard(c);
                goto out;
            }
            break;
        }
        if (st == CACT_ERR_FORMAT || st == CACT_ERR_CHECKSUM) {
            part_discard(c); /* these bytes can never become the right archive */
            goto out;
        }
        if (st != CACT_ERR_NETWORK)
            goto out; /* I/O, memory, interrupted: keep the .part to resume */
        if (res.status == 416 && req.offset > 0 && !restarted_416) {
            /* The server has fewer bytes than our .part: start over once. */
            restarted_416 = 1;
            if (ftruncate(c->part_fd, 0) != 0) {
                st = cact_fail(err, CACT_ERR_IO, "cannot truncate %s: %s", c->part,
                             strerror(errno));
                goto out;
            }
            st = stream_reset(c, err);
            if (st != CACT_OK)
                goto out;
            continue;
        }
        if (!res.transient)
            goto out;
        if (res.received > 0)
            fails = 0; /* progress: only consecutive fruitless attempts count */
        if (++fails > o->retries) {
            char what[64];
            snprintf(what, sizeof what, "giving up after %d attempts", fails);
            err_prefix(err, what);
            goto out;
        }
        long ms = o->retry_base_ms;
        for (int i = 1; i < fails && ms < 60000; i++)
            ms *= 2;
        if (ms > 60000)
            ms = 60000;
        if (o->notice) {
            char line[CACT_ERR_MSG_MAX + 64];
            snprintf(line, sizeof line, "%s; retry %d of %d in %.1f s", err->msg, fails,
                     o->retries, (double)ms / 1000.0);
            o->notice(line, o->notice_ctx);
        }
        if (nap_ms(c, ms)) {
            st = cact_fail(err, CACT_ERR_INTERRUPTED, "download of %s interrupted", c->url);
            goto out;
        }
    }
finish:
    st = stream_finish(c, err);
    if (st != CACT_OK) {
        if (st == CACT_ERR_FORMAT || st == CACT_ERR_CHECKSUM)
            part_discard(c);
        goto out;
    }
    close(c->part_fd);
    c->part_fd = -1;
    if (o->keep_archive) {
        if (rename(c->part, c->kept) != 0)
            st = cact_fail(err, CACT_ERR_IO, "cannot rename %s to %s: %s", c->part, c->kept,
                         strerror(errno));
    } else if (unlink(c->part) != 0 && errno != ENOENT) {
        st = cact_fail(err, CACT_ERR_IO, "cannot remove %s: %s", c->part, strerror(errno));
    }
out:
    if (c->part_fd >= 0) {
        struct stat sb;
        /* An empty .part we created helps no later run. */
        if (st != CACT_OK && fstat(c->part_fd, &sb) == 0 && sb.st_size == 0)
            unlink(c->part);
        close(c->part_fd);
        c->part_fd = -1;
    }
    return st;
}

/* ---- Locking and cleanup ---- */

/* Temporaries of a process that died mid-extraction ("<member>.tmp.PID.N"). Only
 * called with the lock held, when nobody else can be writing them. */
static void sweep_temps(struct fetch_ctx *c)
{
    DIR *d = opendir(c->dir);
    struct dirent *e;

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        /* Stamps are written through temporaries too: ".<member>.verified.tmp.*". */
        const char *n = e->d_name[0] == '.' ? e->d_name + 1 : e->d_name;
        for (int i = 0; i < c->ds->n_files; i++) {
            const char *f = c->ds->files[i].name;
            size_t fl = strlen(f);
            if (strncmp(n, f, fl) != 0)
                continue;
            if (n != e->d_name && strncmp(n + fl, ".verified", 9) == 0)
                fl += 9;
            if (strncmp(n + fl, ".tmp.", 5) == 0) {
                char p[FETCH_PATH];
                if (path_join(p, sizeof p, c->dir, e->d_name) == 0)
                    unlink(p);
                break;
            }
        }
    }
    closedir(d);
}

static enum cact_status lock_take(struct fetch_ctx *c, int *fd, struct cact_err *err)
{
    *fd = open(c->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (*fd < 0)
        return cact_fail(err, CACT_ERR_IO, "cannot open %s: %s", c->lock, strerror(errno));
    /* Poll rather than block: a blocking flock restarts after signals (SA_RESTART)
     * and would not notice the cancel flag while another process downloads. */
    for (int told = 0; flock(*fd, LOCK_EX | LOCK_NB) != 0; told = 1) {
        int e = errno;
        if (e == EWOULDBLOCK && !told && c->o->notice) {
            char line[FETCH_PATH + 64];
            snprintf(line, sizeof line, "waiting for another cifar-act using %s", c->lock);
            c->o->notice(line, c->o->notice_ctx);
        }
        if (e == EWOULDBLOCK || e == EINTR) {
            if (!nap_ms(c, 100))
                continue;
            e = EINTR;
        }
        close(*fd);
        *fd = -1;
        if (e == EINTR)
            return cact_fail(err, CACT_ERR_INTERRUPTED, "interrupted waiting for %s", c->lock);
        return cact_fail(err, CACT_ERR_IO, "cannot lock %s: %s", c->lock, strerror(e));
    }
    return CACT_OK;
}

/* Data verified but a .part left by a run killed after its last rename: remove it,
 * unless another process holds the lock (it may be downloading another split). */
static void drop_stale_part(struct fetch_ctx *c)
{
    struct stat sb;
    int fd;

    if (stat(c->part, &sb) != 0)
        return;
    fd = open(c->lock, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        unlink(c->part);
    close(fd);
}

/* ---- The entry point ---- */

enum cact_status cact_fetch_ensure(const struct cact_fetch_opts *o, struct cact_err *err)
{
    struct fetch_ctx *c = calloc(1, sizeof *c);
    struct cact_err why, local;
    struct stat sb;
    enum cact_status st;
    int lock_fd = -1;

    if (!err)
        err = &local; /* the helpers below read err->msg back */
    if (!c)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    st = ctx_init(c, o, err);
    if (st != CACT_OK)
        goto out;
    /* Fast path without the lock: a read-only data directory works when complete. */
    cact_err_clear(&why);
    if (check_all(c, &why) == CACT_OK) {
        drop_stale_part(c);
        st = CACT_OK;
        goto out;
    }
    st = cact_mkdirs(o->data_dir, err);
    if (st != CACT_OK)
        goto out;
    st = lock_take(c, &lock_fd, err);
    if (st != CACT_OK)
        goto out;
    /* Another process may have finished while we waited. */
    cact_err_clear(&why);
    if (check_all(c, &why) == CACT_OK) {
        st = CACT_OK;
        goto out;
    }
    st = cact_mkdirs(c->dir, err);
    if (st != CACT_OK)
        goto out;
    sweep_temps(c);
    if (o->archive) {
        st = extract_file(c, o->archive, err);
    } else if (stat(c->kept, &sb) == 0) {
        st = extract_file(c, c->kept, err);
    } else {
        char reason[2 * CACT_ERR_MSG_MAX];
        snprintf(reason, sizeof reason, "%s %s data not verified: %s", c->ds->label,
                 o->split == CACT_CIFAR_TRAIN ? "train" : "test", why.msg);
        st = download(c, reason, err);
    }
out:
    if (c) {
        cact_archive_free(c->ar);
        EVP_MD_CTX_free(c->sha);
        if (c->part_fd >= 0)
            close(c->part_fd);
    }
    if (lock_fd >= 0)
        close(lock_fd); /* releases the flock */
    free(c);
    return st;
}
