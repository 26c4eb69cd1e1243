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

#include "archive.h"
#include "dataset.h"
#include "download.h"
#include "extract.h"
#include "meter.h"
#include "partrec.h"
#include "verify.h"

#define FETCH_PATH 4096
#define FETCH_MAX_FILES CACT_DATASET_MAX_FILES
#define FETCH_CHUNK (1 << 20)

/* ---- Options ---- */

void cact_fetch_opts_default(struct cact_fetch_opts *o)
{
    memset(o, 0, sizeof *o);
    o->kind = CACT_CIFAR_10;
    o->split = CACT_CIFAR_TEST;
    o->retries = 5;
    o->retry_base_ms = 1000;
    o->stall_bytes = 1024;
    o->stall_seconds = 60;
    o->max_attempts = 30;
    o->max_seconds = 4 * 3600;
}

/* ---- One run's state ---- */

struct fetch_ctx {
    const struct cact_fetch_opts *o;
    const struct cact_dataset *ds;
    const char *url;
    const char *sha256;          /* expected archive SHA-256, NULL: not checked */
    uint64_t size;               /* expected archive size, 0: not checked */
    uint64_t max_in;             /* bound on compressed bytes read, 0: none */
    uint64_t max_out;            /* bound on inflated bytes, 0: none */

    int n;                       /* members this split needs */
    const char *md5[FETCH_MAX_FILES];
    uint64_t msize[FETCH_MAX_FILES];  /* exact member size, 0: not known */
    char name[FETCH_MAX_FILES][256];  /* "<dir>/<file>" inside the archive */
    char dest[FETCH_MAX_FILES][FETCH_PATH];
    char stamp[FETCH_MAX_FILES][FETCH_PATH];
    struct cact_archive_member members[FETCH_MAX_FILES];
    char dir[FETCH_PATH];        /* DATA_DIR/<dir> */
    char part[FETCH_PATH];       /* DATA_DIR/<archive>.part */
    char source[FETCH_PATH];     /* DATA_DIR/<archive>.part.source: where .part came from */
    char validator[256];         /* ETag or Last-Modified the .part's bytes came with */
    const struct cact_download_result *res; /* the attempt under way */
    int source_written;          /* this attempt's validator recorded */
    char kept[FETCH_PATH];       /* DATA_DIR/<archive> */
    char lock[FETCH_PATH];

    /* The stream: archive bytes -> (.part) -> extract.c. */
    struct cact_extract *x;
    int part_fd;                 /* -1 unless downloading */
    uint64_t bytes;              /* archive bytes through the pipeline */
    uint64_t total;              /* for progress, 0 unknown */
    uint64_t resume_at;          /* for progress: offset this transfer resumed at */

    struct cact_meter meter;     /* rate and ETA of the transfer under way */
    int cancelled;
    int restarts;                /* times the download started again at byte 0 */
    double deadline;             /* cact_now_s() after which we give up, 0: none */
    int deadline_hit;
};

static int path_join(char *buf, size_t size, const char *a, const char *b)
{
    int n = snprintf(buf, size, "%s/%s", a, b);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Every file of the dataset (the archive holds them all, whatever the split) at its
 * catalogue (or test) size, the class-name files at their maximum, plus 1/8 and 1 MiB
 * for tar headers, padding and small extra members (CIFAR-10 has a readme.html).
 * 0 (no bound) when a record file's size is not known. */
static uint64_t inflated_bound(const struct fetch_ctx *c)
{
    uint64_t total = 0;

    for (int i = 0; i < c->ds->n_files; i++) {
        const struct cact_dataset_file *f = &c->ds->files[i];
        uint64_t size = f->size;
        if (c->o->test_md5) {
            size = 0;
            for (const struct cact_fetch_md5 *t = c->o->test_md5; t->member; t++)
                if (strcmp(t->member, f->name) == 0)
                    size = t->size;
        }
        if (f->role == CACT_DATASET_META)
            size = size ? size : CACT_DATASET_META_MAX;
        else if (size == 0)
            return 0;
        total += size;
    }
    return total + total / 8 + (1 << 20);
}

/* Fill in names and paths for o; CACT_ERR_USAGE for bad options. */
static enum cact_status ctx_init(struct fetch_ctx *c, const struct cact_fetch_opts *o,
                               struct cact_err *err)
{
    const struct cact_dataset *ds;
    char part_name[256];
    int official;

    memset(c, 0, sizeof *c);
    c->o = o;
    c->part_fd = -1;
    if (!o->data_dir || !*o->data_dir)
        return cact_fail(err, CACT_ERR_USAGE, "no data directory given");
    ds = cact_dataset_get(o->kind);
    if (!ds)
        return cact_fail(err, CACT_ERR_USAGE, "unknown dataset kind %d", (int)o->kind);
    if (o->split != CACT_CIFAR_TEST && o->split != CACT_CIFAR_TRAIN)
        return cact_fail(err, CACT_ERR_USAGE, "unknown split %d", (int)o->split);
    if (o->sha256 && (strlen(o->sha256) != 64 ||
                      strspn(o->sha256, "0123456789abcdefABCDEF") != 64))
        return cact_fail(err, CACT_ERR_USAGE, "SHA-256 '%s' is not 64 hex digits", o->sha256);
    c->ds = ds;
    c->url = o->url ? o->url : ds->url;
    official = strcmp(c->url, ds->url) == 0;
    c->sha256 = o->sha256 ? o->sha256 : official ? ds->sha256 : NULL;
    c->size = official && !o->sha256 ? ds->archive_size : 0;

    snprintf(part_name, sizeof part_name, "%s.part", ds->archive);
    if (path_join(c->dir, sizeof c->dir, o->data_dir, ds->dir) ||
        path_join(c->part, sizeof c->part, o->data_dir, part_name) ||
        snprintf(c->source, sizeof c->source, "%s.source", c->part) >= (int)sizeof c->source ||
        path_join(c->kept, sizeof c->kept, o->data_dir, ds->archive) ||
        path_join(c->lock, sizeof c->lock, o->data_dir, ".cifar-act.lock"))
        return cact_fail(err, CACT_ERR_USAGE, "data directory name too long");
    for (int i = 0; i < ds->n_files; i++) {
        const struct cact_dataset_file *f = &ds->files[i];
        char sname[300];
        int k = c->n;
        if (!cact_dataset_needs(f, o->split))
            continue;
        c->md5[k] = f->md5;
        c->msize[k] = f->size;
        if (o->test_md5) {
            c->md5[k] = NULL;
            c->msize[k] = 0;
            for (const struct cact_fetch_md5 *t = o->test_md5; t->member; t++)
                if (strcmp(t->member, f->name) == 0) {
                    c->md5[k] = t->md5;
                    c->msize[k] = t->size;
                }
        }
        snprintf(c->name[k], sizeof c->name[k], "%s/%s", ds->dir, f->name);
        snprintf(sname, sizeof sname, ".%s.verified", f->name);
        if (path_join(c->dest[k], sizeof c->dest[k], c->dir, f->name) ||
            path_join(c->stamp[k], sizeof c->stamp[k], c->dir, sname))
            return cact_fail(err, CACT_ERR_USAGE, "data directory name too long");
        c->members[k] = (struct cact_archive_member){ c->name[k], c->dest[k], c->md5[k],
                                                      c->msize[k] };
        c->n++;
    }
    c->max_out = inflated_bound(c);
    /* Other sources: a gzip stream of these members is barely larger than they are,
     * so twice the inflated bound is generous and still stops a stream of empty
     * deflate blocks (endless input, no output). */
    c->max_in = c->size ? c->size : c->max_out ? 2 * c->max_out + (1 << 20) : 0;
    return CACT_OK;
}

/* ---- Verifying what is on disk ---- */

/* Member k present and, if it has a digest, matching it (by stamp or by hashing). */
static enum cact_status check_member(struct fetch_ctx *c, int k, struct cact_err *err)
{
    return cact_verify_file(c->dest[k], c->stamp[k], c->md5[k], c->msize[k], err);
}

/* Every member; the first failure is reported, except that an I/O error (say,
 * permission denied) on any member wins: the caller must not replace that file. */
static enum cact_status check_all(struct fetch_ctx *c, struct cact_err *err)
{
    enum cact_status first = CACT_OK;
    struct cact_err e;

    for (int k = 0; k < c->n; k++) {
        enum cact_status st;
        if (first != CACT_OK) {
            /* Already failing: only look for an unreadable file, without hashing. */
            int fd;
            st = cact_open_regular(c->dest[k], &fd, NULL, &e);
            if (st == CACT_OK)
                close(fd);
        } else {
            st = check_member(c, k, &e);
        }
        if (st == CACT_ERR_IO) {
            if (err)
                *err = e;
            return st;
        }
        if (st != CACT_OK && first == CACT_OK) {
            first = st;
            if (err)
                *err = e;
        }
    }
    return first;
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

/* ---- Progress (the rate and ETA: meter.c) ---- */

static void progress_start(struct fetch_ctx *c)
{
    cact_meter_start(&c->meter, c->bytes);
}

/* Report when the meter says one is due, or now if force. */
static void progress_maybe(struct fetch_ctx *c, int force)
{
    struct cact_fetch_progress p;

    if (!c->o->progress ||
        !cact_meter_update(&c->meter, c->bytes, c->total, force, &p.rate, &p.eta))
        return;
    p.done = c->bytes;
    p.total = c->total;
    p.resumed_from = c->resume_at;
    c->o->progress(&p, c->o->progress_ctx);
}

static int cancel_requested(struct fetch_ctx *c)
{
    if (c->o->cancel && *c->o->cancel)
        c->cancelled = 1;
    return c->cancelled;
}

/* ---- The stream (extract.c), checked against this source's limits ---- */

static enum cact_status stream_reset(struct fetch_ctx *c, struct cact_err *err)
{
    struct cact_extract_limits lim = { c->sha256, c->size, c->max_in, c->max_out };

    c->bytes = 0;
    if (!c->x) {
        enum cact_status st = cact_extract_new(&c->x, c->members, c->n, err);
        if (st != CACT_OK)
            return st;
    }
    return cact_extract_reset(c->x, &lim, err);
}

static enum cact_status stream_feed(struct fetch_ctx *c, const void *buf, size_t len,
                                    struct cact_err *err)
{
    enum cact_status st = cact_extract_feed(c->x, buf, len, err);
    c->bytes = cact_extract_bytes(c->x);
    return st;
}

/* Every check on a complete stream, the members into place, then their stamps. */
static enum cact_status stream_finish(struct fetch_ctx *c, struct cact_err *err)
{
    enum cact_status st = cact_extract_finish(c->x, err);
    if (st != CACT_OK)
        return st;
    for (int k = 0; k < c->n; k++)
        if (c->md5[k])
            cact_verify_stamp(c->stamp[k], c->dest[k], cact_extract_member_md5(c->x, k));
    return CACT_OK;
}

/* ---- Local archives ---- */

/* Open a local archive: a FIFO or directory is refused before a read could block (or
 * fail obscurely); an absent one is an I/O error like any file that cannot be opened
 * (CACT_ERR_MISSING is for dataset files). */
static enum cact_status open_archive(const char *path, int *fd, struct stat *sb,
                                     struct cact_err *err)
{
    enum cact_status st = cact_open_regular(path, fd, sb, err);
    if (st == CACT_ERR_MISSING)
        st = cact_fail(err, CACT_ERR_IO, "cannot open %s: %s", path, strerror(ENOENT));
    return st;
}

/* Extract a .tar.gz file we did not write: it is never removed. */
static enum cact_status extract_file(struct fetch_ctx *c, const char *path,
                                   struct cact_err *err)
{
    enum cact_status st;
    unsigned char *buf = NULL;
    FILE *f = NULL;
    struct stat sb;
    size_t got;
    int fd = -1;

    /* Not bytes from the official URL: only a given SHA-256 is checked. */
    c->sha256 = c->o->sha256;
    c->size = 0;
    c->max_in = c->max_out ? 2 * c->max_out + (1 << 20) : 0;
    st = stream_reset(c, err);
    if (st != CACT_OK)
        goto out;
    buf = malloc(FETCH_CHUNK);
    if (!buf) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
        goto out;
    }
    st = open_archive(path, &fd, &sb, err);
    if (st != CACT_OK)
        goto out;
    f = fdopen(fd, "rb");
    if (!f) {
        st = cact_fail(err, CACT_ERR_NOMEM, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    fd = -1;
    c->total = (uint64_t)sb.st_size;
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
        cact_err_prefix(err, path); /* say which file was at fault */
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    free(buf);
    return st;
}

/* ---- Downloading ---- */

/* ---- Where the .part came from (the record itself: partrec.c) ---- */

/* The record is written before any byte of an attempt lands in the .part, so a killed
 * run leaves it too. */
static void source_write(struct fetch_ctx *c)
{
    cact_partrec_write(c->source, c->url, c->validator);
}

/* Once per attempt, before its first byte is kept: record the validator of the
 * response when it differs from the one recorded (or nothing was received yet). */
static void source_note_response(struct fetch_ctx *c)
{
    const char *v;
    if (!c->res || c->source_written)
        return;
    c->source_written = 1;
    v = cact_partrec_validator(c->res->etag, c->res->last_modified);
    if (strcmp(v, c->validator) != 0 || !c->res->received) {
        snprintf(c->validator, sizeof c->validator, "%s", v);
        source_write(c);
    }
}

/* Empty the .part and the stream: the download starts again at byte 0. */
static enum cact_status part_restart(struct fetch_ctx *c, struct cact_err *err)
{
    if (ftruncate(c->part_fd, 0) != 0)
        return cact_fail(err, CACT_ERR_IO, "cannot truncate %s: %s", c->part, strerror(errno));
    c->restarts++;
    return stream_reset(c, err);
}

/* download.c's sink: the body goes to the .part file and through the stream. */
static enum cact_status dl_sink(void *ctx, const void *buf, size_t len, int restart,
                              struct cact_err *err)
{
    struct fetch_ctx *c = ctx;
    enum cact_status st;

    if (restart) {
        /* The server ignored our Range: throw away the .part and start clean. */
        st = part_restart(c, err);
        if (st != CACT_OK)
            return st;
        c->resume_at = 0;
        progress_start(c);
    }
    source_note_response(c); /* once per attempt, before its first byte is kept */
    /* O_APPEND: every write lands at the end, after a truncate too. */
    st = cact_write_all(c->part_fd, buf, len, -1, c->part, err);
    if (st != CACT_OK)
        return st;
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
    if (c->deadline && cact_now_s() > c->deadline) {
        c->deadline_hit = 1;
        return 1;
    }
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

/* The .part's fate, decided here only, from how the attempt to use it ended:
 * success: it becomes the kept archive (keep_archive) or goes; bytes that can never
 * become the right archive (CACT_ERR_FORMAT, CACT_ERR_CHECKSUM): removed; anything
 * else (network, I/O, memory, interrupted): kept for a later resume, unless empty. */
static enum cact_status part_settle(struct fetch_ctx *c, enum cact_status st,
                                    struct cact_err *err)
{
    struct stat sb;
    int empty = 1;

    if (c->part_fd >= 0) {
        empty = fstat(c->part_fd, &sb) == 0 && sb.st_size == 0;
        close(c->part_fd);
        c->part_fd = -1;
    }
    if (st == CACT_OK || st == CACT_ERR_FORMAT || st == CACT_ERR_CHECKSUM || empty)
        unlink(c->source); /* the record goes with the bytes it describes */
    if (st == CACT_OK) {
        if (c->o->keep_archive) {
            if (rename(c->part, c->kept) != 0)
                return cact_fail(err, CACT_ERR_IO, "cannot rename %s to %s: %s", c->part,
                                 c->kept, strerror(errno));
        } else if (unlink(c->part) != 0 && errno != ENOENT) {
            return cact_fail(err, CACT_ERR_IO, "cannot remove %s: %s", c->part,
                             strerror(errno));
        }
        return CACT_OK;
    }
    if (st == CACT_ERR_FORMAT || st == CACT_ERR_CHECKSUM || empty)
        unlink(c->part);
    return st;
}

/* The CLI adds the options that supply a local archive (CACT_HINT_OFFLINE). */
static enum cact_status offline_missing(struct fetch_ctx *c, const char *why,
                                      struct cact_err *err)
{
    cact_fail(err, CACT_ERR_MISSING, "%s; offline, so not downloading: put %s (from %s) into %s/",
              why, c->ds->archive, c->url, c->o->data_dir);
    return cact_hint(err, CACT_HINT_OFFLINE);
}

/* A bound on the whole download was hit: say which, and what the last attempt met. */
static enum cact_status give_up(struct fetch_ctx *c, int attempts, const char *why_fmt,
                                long limit, struct cact_err *err)
{
    char why[160], last[CACT_ERR_MSG_MAX];
    snprintf(why, sizeof why, why_fmt, limit);
    snprintf(last, sizeof last, "%s", err->msg);
    return cact_fail(err, CACT_ERR_NETWORK,
                     "%s: giving up after %d attempts and %" PRIu64 " of the archive's bytes "
                     "received: %s (last attempt: %s)",
                     c->url, attempts, c->bytes, why, last);
}

/* A .part recorded as coming from another URL is not continued from this one (that
 * would stitch two files together): it starts over, with a notice. A .part with no
 * record (an older cifar-act, a file put there by hand) is resumed as before. */
static enum cact_status part_check_source(struct fetch_ctx *c, struct cact_err *err)
{
    char was[CACT_PARTREC_MAX];
    struct stat sb;

    c->validator[0] = '\0';
    if (fstat(c->part_fd, &sb) != 0 || sb.st_size == 0)
        return CACT_OK;
    if (!cact_partrec_read(c->source, was, sizeof was, c->validator, sizeof c->validator) ||
        strcmp(was, c->url) == 0)
        return CACT_OK;
    c->validator[0] = '\0';
    if (c->o->notice) {
        char line[3 * FETCH_PATH + 1024];
        snprintf(line, sizeof line, "%s holds %lld bytes from %s, not %s: starting over",
                 c->part, (long long)sb.st_size, was, c->url);
        c->o->notice(line, c->o->notice_ctx);
    }
    if (ftruncate(c->part_fd, 0) != 0)
        return cact_fail(err, CACT_ERR_IO, "cannot truncate %s: %s", c->part, strerror(errno));
    unlink(c->source);
    return CACT_OK;
}

static enum cact_status download(struct fetch_ctx *c, const char *why, struct cact_err *err)
{
    const struct cact_fetch_opts *o = c->o;
    struct cact_download_req req;
    struct cact_download_result res;
    enum cact_status st;
    int fails = 0, attempts = 0, restarted_416 = 0;
    uint64_t furthest;

    c->part_fd = open(c->part, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (c->part_fd < 0) {
        if (o->offline && errno == ENOENT)
            return offline_missing(c, why, err);
        return cact_fail(err, CACT_ERR_IO, "cannot open %s: %s", c->part, strerror(errno));
    }
    st = part_check_source(c, err);
    if (st != CACT_OK)
        goto out;
    st = refeed_part(c, err);
    if (st != CACT_OK)
        goto out;
    if (cact_extract_done(c->x))
        goto finish; /* a previous run received everything: no network */
    if (o->offline) {
        st = offline_missing(c, why, err);
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
    /* Progress means bytes past the furthest point any attempt reached: a server that
     * ignores Range restarts every attempt at byte 0, so bytes received alone would
     * reset the count for ever. Attempts and time are bounded in total as well. */
    furthest = c->bytes;
    c->deadline = o->max_seconds > 0 ? cact_now_s() + (double)o->max_seconds : 0;
    c->res = &res;
    for (;;) {
        req.offset = c->bytes;
        req.if_range = c->validator[0] ? c->validator : NULL;
        c->source_written = 0;
        if (attempts == 0 && c->bytes == 0)
            source_write(c); /* the URL, before any byte: a killed run leaves it too */
        attempts++;
        c->resume_at = req.offset;
        progress_start(c);
        st = cact_download_run(&req, &res, err);
        if (st == CACT_OK) {
            progress_maybe(c, 1);
            if (!cact_extract_done(c->x)) {
                st = cact_extract_finish(c->x, err); /* says "truncated after N bytes" */
                cact_err_prefix(err, c->url);
                goto out;
            }
            break;
        }
        if (st == CACT_ERR_INTERRUPTED && c->deadline_hit) {
            st = give_up(c, attempts, "the time limit of %ld s was reached", o->max_seconds,
                         err);
            goto out;
        }
        if (st != CACT_ERR_NETWORK)
            goto out; /* I/O, memory, interrupted: part_settle keeps the .part */
        if (res.status == 416 && req.offset > 0 && !restarted_416) {
            /* The server has fewer bytes than our .part: start over once. */
            restarted_416 = 1;
            st = part_restart(c, err);
            if (st != CACT_OK)
                goto out;
            continue;
        }
        if (res.unresolved && furthest == 0) {
            /* First contact and the name does not resolve: almost always no network
             * at all; retrying for minutes would only delay the advice. */
            cact_hint(err, CACT_HINT_NO_NETWORK);
            goto out;
        }
        if (!res.transient)
            goto out;
        if (c->bytes > furthest) {
            furthest = c->bytes;
            fails = 0; /* progress: only consecutive fruitless attempts count */
        }
        if (++fails > o->retries) {
            char what[160];
            if (res.restarted || c->restarts)
                snprintf(what, sizeof what, "giving up after %d attempts without getting "
                         "past byte %" PRIu64 " (the server ignores resume requests, so "
                         "each attempt starts again at byte 0)", attempts, furthest);
            else
                snprintf(what, sizeof what, "giving up after %d attempts", attempts);
            cact_err_prefix(err, what);
            goto out;
        }
        if (o->max_attempts > 0 && attempts >= o->max_attempts) {
            st = give_up(c, attempts, "the limit of %ld attempts was reached",
                         (long)o->max_attempts, err);
            goto out;
        }
        long ms = o->retry_base_ms;
        for (int i = 1; i < fails && ms < 60000; i++)
            ms *= 2;
        if (ms > 60000)
            ms = 60000;
        if (c->deadline && cact_now_s() + (double)ms / 1000.0 > c->deadline) {
            st = give_up(c, attempts, "the time limit of %ld s would pass before the next "
                         "attempt", o->max_seconds, err);
            goto out;
        }
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
out:
    c->res = NULL;
    /* Content errors come from layers that do not know the URL: name it. */
    if ((st == CACT_ERR_FORMAT || st == CACT_ERR_CHECKSUM) && !strstr(err->msg, c->url))
        cact_err_prefix(err, c->url);
    return part_settle(c, st, err);
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

/* Take the data directory's lock, creating the lock file if needed (*created says
 * whether this call did). A failed first run removes the lock file it created (item
 * "leave nothing behind"), so after the flock the file must still be the one on the
 * path: if it was unlinked meanwhile, take the lock again on the new file. */
static enum cact_status lock_take(struct fetch_ctx *c, int *fd, int *created,
                                  struct cact_err *err)
{
    for (;;) {
        struct stat a, b;
        *created = 0;
        *fd = open(c->lock, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (*fd >= 0)
            *created = 1;
        else if (errno == EEXIST)
            *fd = open(c->lock, O_RDWR | O_CLOEXEC);
        if (*fd < 0) {
            if (errno == ENOENT)
                continue; /* removed between the two opens */
            return cact_fail(err, CACT_ERR_IO, "cannot open %s: %s", c->lock, strerror(errno));
        }
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
        if (fstat(*fd, &a) == 0 && stat(c->lock, &b) == 0 && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev)
            return CACT_OK;
        close(*fd); /* the holder removed it: ours is a lock on nothing */
        *fd = -1;
    }
}

/* The shallowest prefix of dir that does not exist yet ("" if dir exists): what
 * cact_mkdirs(dir) is about to create, so a failed run can remove exactly that. */
static void first_missing(const char *dir, char *top, size_t size)
{
    char buf[FETCH_PATH];
    struct stat sb;
    size_t len = strlen(dir);

    top[0] = '\0';
    if (len == 0 || len >= sizeof buf)
        return;
    memcpy(buf, dir, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char ch = buf[i];
        buf[i] = '\0';
        if (stat(buf, &sb) != 0 && errno == ENOENT) {
            snprintf(top, size, "%s", buf);
            return;
        }
        buf[i] = ch;
    }
}

/* rmdir dir and its parents up to and including top, while they are empty. */
static void remove_created(const char *dir, const char *top)
{
    char buf[FETCH_PATH];
    size_t tl = strlen(top);

    if (!tl || strncmp(dir, top, tl) != 0)
        return;
    snprintf(buf, sizeof buf, "%s", dir);
    while (strlen(buf) >= tl) {
        char *slash;
        if (rmdir(buf) != 0)
            return; /* not empty (a .part worth keeping, the user's files): stays */
        slash = strrchr(buf, '/');
        if (!slash)
            return;
        *slash = '\0';
    }
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
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        unlink(c->part);
        unlink(c->source);
    }
    close(fd);
}

/* ---- The entry point ---- */

/* A local archive given when the data is already verified is not read; if it could
 * not have been used anyway, say so rather than pass over it in silence. */
static void archive_unused(struct fetch_ctx *c, const char *path)
{
    struct cact_err e;
    char line[CACT_ERR_MSG_MAX + FETCH_PATH + 64];
    int fd;

    if (!c->o->notice)
        return;
    cact_err_clear(&e);
    if (cact_open_regular(path, &fd, NULL, &e) == CACT_OK) {
        close(fd);
        return;
    }
    snprintf(line, sizeof line, "%s; not needed: the data under %s is already verified", e.msg,
             c->o->data_dir);
    c->o->notice(line, c->o->notice_ctx);
}

enum cact_status cact_fetch_ensure(const struct cact_fetch_opts *o, struct cact_err *err)
{
    struct fetch_ctx *c = calloc(1, sizeof *c);
    struct cact_err why, local;
    struct stat sb;
    enum cact_status st;
    int lock_fd = -1, lock_made = 0, made_dir = 0;
    char made_top[FETCH_PATH];

    made_top[0] = '\0';
    if (!err)
        err = &local; /* the helpers below read err->msg back */
    if (!c)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    st = ctx_init(c, o, err);
    if (st != CACT_OK)
        goto out;
    /* Fast path without the lock: a read-only data directory works when complete. */
    cact_err_clear(&why);
    st = check_all(c, &why);
    if (st == CACT_OK) {
        drop_stale_part(c);
        if (o->archive)
            archive_unused(c, o->archive);
        goto out;
    }
    if (st == CACT_ERR_IO) {
        /* Permission denied (or another read error) on a dataset file: it is not
         * corrupt, and not ours to download over. */
        st = cact_fail(err, CACT_ERR_IO, "%s; the file is left as it is (unreadable is not "
                       "corrupt: fix its permissions or use another data directory)", why.msg);
        goto out;
    }
    if (o->archive) {
        /* A FIFO, directory or unreadable file fails now, not after taking the lock. */
        int fd;
        st = open_archive(o->archive, &fd, NULL, err);
        if (st != CACT_OK)
            goto out;
        close(fd);
    }
    first_missing(o->data_dir, made_top, sizeof made_top);
    st = cact_mkdirs(o->data_dir, err);
    if (st != CACT_OK)
        goto out;
    st = lock_take(c, &lock_fd, &lock_made, err);
    if (st != CACT_OK)
        goto out;
    /* Another process may have finished while we waited. */
    cact_err_clear(&why);
    st = check_all(c, &why);
    if (st == CACT_OK)
        goto out;
    if (st == CACT_ERR_IO) {
        *err = why; /* unreadable is not corrupt: the file is not replaced */
        goto out;
    }
    made_dir = stat(c->dir, &sb) != 0;
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
        cact_extract_free(c->x);
        if (c->part_fd >= 0)
            close(c->part_fd);
    }
    /* A failed run leaves no empty directory and no lock file that it created (a
     * .part worth resuming keeps its directory). Still holding the lock: lock_take
     * notices a lock file removed under a waiting process. */
    if (st != CACT_OK && c) {
        if (made_dir)
            rmdir(c->dir);
        if (lock_made)
            unlink(c->lock);
        remove_created(o->data_dir, made_top);
    }
    if (lock_fd >= 0)
        close(lock_fd); /* releases the flock */
    free(c);
    return st;
}
