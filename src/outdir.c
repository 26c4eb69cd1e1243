/* outdir.c - stage a run's files, then swap or merge them into OUT; see outdir.h. */
#define _GNU_SOURCE /* renameat2, RENAME_EXCHANGE (glibc 2.28) */
#include "outdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OUTDIR_PATH 4096
#define OUTDIR_STAGE ".cifar-act-stage." /* staging directories, inside OUT or ".BASE" + it */
#define OUTDIR_POOL ".cifar-act-pool"    /* ".BASE" + it: emptied files of the run before last */

struct cact_outdir {
    const struct cact_outdir_name *ours;
    char out[OUTDIR_PATH];   /* OUT, resolved (realpath): a symlink's target is swapped */
    char stage[OUTDIR_PATH];
    char pool[OUTDIR_PATH];  /* ".BASE.cifar-act-pool" beside OUT, swap mode only */
    int out_fd, stage_fd;    /* both flock'ed while we live */
    int swap, committed;
    int recycled;            /* the staging directory is the pool: empty files in it */
    int shared;              /* a shard: merge without pruning, OUT locked only to commit */
    void (*notice)(const char *msg, void *ctx);
    void *notice_ctx;
    const volatile sig_atomic_t *cancel;
};

/* ---- Names ---- */

int cact_outdir_is_ours(const struct cact_outdir_name *ours, const char *name, int is_dir)
{
    for (const struct cact_outdir_name *r = ours; r && r->prefix; r++) {
        size_t pl = strlen(r->prefix);
        const char *p = name + pl, *end;

        if (strncmp(name, r->prefix, pl) != 0)
            continue;
        if (r->dir) {
            if (is_dir && *p == '\0')
                return 1;
            continue;
        }
        if (is_dir)
            continue;
        if (r->suffix) {
            size_t sl = strlen(r->suffix);
            const char *d = p;
            while (*d >= '0' && *d <= '9')
                d++;
            if (d == p || strncmp(d, r->suffix, sl) != 0)
                continue;
            end = d + sl;
        } else {
            end = p;
        }
        if (*end == '\0' || strncmp(end, ".tmp.", 5) == 0)
            return 1;
    }
    return 0;
}

/* Whether entry e of d is a directory (not following symlinks: a link is a file). */
static int outdir_is_dir(DIR *d, const struct dirent *e)
{
    struct stat sb;
    if (e->d_type != DT_UNKNOWN)
        return e->d_type == DT_DIR;
    return fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode);
}

static int outdir_dots(const char *n)
{
    return strcmp(n, ".") == 0 || strcmp(n, "..") == 0;
}

static int outdir_join(char *buf, const char *dir, const char *name)
{
    int n = snprintf(buf, OUTDIR_PATH, "%s/%s", dir, name);
    return n > 0 && n < OUTDIR_PATH;
}

/* ---- Removing directories we own ---- */

/* Unlink the entries of dir: all files if everything, else only names of ours. At
 * depth 0 a subdirectory (any, if everything; else a directory of ours, a row with dir
 * set) loses all its files, then itself; never deeper. Then rmdir dir if it is empty.
 * Best effort: a directory that keeps a file we may not delete is left, and so is the
 * file. */
static void outdir_remove_at(const char *dir, const struct cact_outdir_name *ours,
                             int everything, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[OUTDIR_PATH];

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (outdir_dots(e->d_name))
            continue;
        if (outdir_is_dir(d, e)) {
            if (depth == 0 && (everything || cact_outdir_is_ours(ours, e->d_name, 1)) &&
                outdir_join(p, dir, e->d_name))
                outdir_remove_at(p, NULL, 1, 1);
        } else if (everything || cact_outdir_is_ours(ours, e->d_name, 0)) {
            (void)unlinkat(dirfd(d), e->d_name, 0);
        }
    }
    closedir(d);
    (void)rmdir(dir);
}

static void outdir_remove(const char *dir, const struct cact_outdir_name *ours, int everything)
{
    outdir_remove_at(dir, ours, everything, 0);
}

/* A staging directory nobody holds (its run was killed): remove it. One still in use
 * is flock'ed by its run and left alone. A staging directory of ours may be a previous
 * OUT swapped out, so only names of ours are removed. */
static void outdir_sweep_one(const char *path, const struct cact_outdir_name *ours)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0)
        return;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        outdir_remove(path, ours, 0);
    close(fd); /* also releases the flock */
}

/* Everything killed runs may have left, with OUT's lock held: sibling staging
 * directories ".BASE.cifar-act-stage.*" in parent, staging directories inside OUT,
 * and temporaries of our files in OUT. */
static void outdir_sweep(struct cact_outdir *od, const char *parent, const char *base)
{
    char prefix[OUTDIR_PATH], p[OUTDIR_PATH];
    struct dirent *e;
    DIR *d;

    if (parent && snprintf(prefix, sizeof prefix, ".%s%s", base, OUTDIR_STAGE) < (int)sizeof prefix &&
        (d = opendir(parent)) != NULL) {
        size_t pl = strlen(prefix);
        while ((e = readdir(d)) != NULL)
            if (strncmp(e->d_name, prefix, pl) == 0 && outdir_join(p, parent, e->d_name))
                outdir_sweep_one(p, od->ours);
        closedir(d);
    }
    if ((d = opendir(od->out)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strncmp(e->d_name, OUTDIR_STAGE, strlen(OUTDIR_STAGE)) == 0) {
                if (outdir_join(p, od->out, e->d_name))
                    outdir_sweep_one(p, od->ours);
            } else if (strstr(e->d_name, ".tmp.") && !outdir_is_dir(d, e) &&
                       cact_outdir_is_ours(od->ours, e->d_name, 0)) {
                (void)unlinkat(dirfd(d), e->d_name, 0);
            }
        }
        closedir(d);
    }
}

/* The first entry of OUT that is not ours (into name), or 0 if every entry is. Our
 * staging directories inside OUT count as ours. */
static int outdir_foreign(const struct cact_outdir *od, char *name, size_t size)
{
    DIR *d = opendir(od->out);
    struct dirent *e;
    int found = 0;

    if (!d)
        return 0;
    while (!found && (e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (outdir_dots(n) || strncmp(n, OUTDIR_STAGE, strlen(OUTDIR_STAGE)) == 0)
            continue;
        if (!cact_outdir_is_ours(od->ours, n, outdir_is_dir(d, e))) {
            snprintf(name, size, "%s", n);
            found = 1;
        }
    }
    closedir(d);
    return found;
}

/* ---- The lock ---- */

static int outdir_nap(const volatile sig_atomic_t *cancel)
{
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    return cancel && *cancel;
}

/* flock OUT itself. A run that held it may have swapped another directory in under
 * the name meanwhile: then lock that one instead. */
static enum cact_status outdir_lock(struct cact_outdir *od, struct cact_err *err)
{
    int told = 0;

    for (;;) {
        struct stat a, b;
        int fd = open(od->out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0) {
            if (errno == ENOENT && cact_mkdirs(od->out, err) == CACT_OK)
                continue; /* removed while we waited */
            return cact_fail(err, CACT_ERR_IO, "cannot open directory %s: %s", od->out,
                             strerror(errno));
        }
        while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int e = errno;
            if (e != EWOULDBLOCK && e != EINTR) {
                close(fd);
                return cact_fail(err, CACT_ERR_IO, "cannot lock %s: %s", od->out, strerror(e));
            }
            if (!told && od->notice) {
                char line[OUTDIR_PATH + 64];
                snprintf(line, sizeof line, "waiting for another cifar-act writing to %s",
                         od->out);
                od->notice(line, od->notice_ctx);
            }
            told = 1;
            if (outdir_nap(od->cancel)) {
                close(fd);
                return cact_fail(err, CACT_ERR_INTERRUPTED, "interrupted waiting for %s",
                                 od->out);
            }
        }
        if (fstat(fd, &a) == 0 && stat(od->out, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino) {
            od->out_fd = fd;
            return CACT_OK;
        }
        close(fd);
    }
}

/* ---- Begin ---- */

static enum cact_status outdir_make_stage(struct cact_outdir *od, const char *fmt,
                                          const char *dir, const char *base, mode_t mode)
{
    static atomic_uint counter;
    unsigned n = atomic_fetch_add(&counter, 1);
    int len = snprintf(od->stage, sizeof od->stage, fmt, dir, base, OUTDIR_STAGE,
                       (long)getpid(), n);

    if (len <= 0 || len >= (int)sizeof od->stage)
        return CACT_ERR_USAGE;
    /* The pool, when there is one, becomes the staging directory: see outdir_recycle. */
    od->recycled = od->pool[0] && rename(od->pool, od->stage) == 0;
    if (!od->recycled && mkdir(od->stage, 0700) != 0)
        return CACT_ERR_IO;
    od->stage_fd = open(od->stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    /* A fresh directory: nobody else can hold it. Once swapped in it is OUT, so it
     * gets OUT's permissions. */
    if (od->stage_fd < 0 || flock(od->stage_fd, LOCK_EX | LOCK_NB) != 0 ||
        fchmod(od->stage_fd, mode) != 0) {
        if (od->stage_fd >= 0)
            close(od->stage_fd);
        od->stage_fd = -1;
        rmdir(od->stage);
        return CACT_ERR_IO;
    }
    return CACT_OK;
}

enum cact_status cact_outdir_begin(struct cact_outdir **odp, const struct cact_outdir_opts *o,
                                   struct cact_err *err)
{
    struct cact_outdir *od;
    enum cact_status st;
    char parent[OUTDIR_PATH], foreign[256];
    const char *base;
    struct stat so, sp, sc;
    char *slash;

    *odp = NULL;
    st = cact_mkdirs(o->path, err);
    if (st != CACT_OK)
        return st;
    od = calloc(1, sizeof *od);
    if (!od)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    od->ours = o->ours;
    od->out_fd = od->stage_fd = -1;
    od->shared = o->shared;
    od->notice = o->notice;
    od->notice_ctx = o->notice_ctx;
    od->cancel = o->cancel;
    if (strlen(o->path) >= PATH_MAX || !realpath(o->path, od->out)) {
        st = cact_fail(err, CACT_ERR_IO, "cannot resolve directory %s: %s", o->path,
                       strlen(o->path) >= PATH_MAX ? "name too long" : strerror(errno));
        goto out;
    }
    st = outdir_lock(od, err);
    if (st != CACT_OK)
        goto out;

    snprintf(parent, sizeof parent, "%s", od->out);
    slash = strrchr(parent, '/');
    base = slash ? slash + 1 : "";
    if (slash == parent)
        parent[1] = '\0', base = od->out + 1; /* "/x": parent "/" */
    else if (slash)
        *slash = '\0';
    outdir_sweep(od, *base ? parent : NULL, base);

    /* Swap only when OUT is ours alone, is not our current directory (the caller's
     * shell would be left in a deleted one) and not a mount point; a sibling staging
     * directory must be creatable. Otherwise merge, staging inside OUT (same file
     * system, and nothing written beside a directory that is not ours alone). */
    if (fstat(od->out_fd, &so) != 0) {
        st = cact_fail(err, CACT_ERR_IO, "cannot stat %s: %s", od->out, strerror(errno));
        goto out;
    }
    int same_dev = *base && stat(parent, &sp) == 0 && sp.st_dev == so.st_dev;
    int is_cwd = stat(".", &sc) == 0 && sc.st_dev == so.st_dev && sc.st_ino == so.st_ino;
    od->swap = !od->shared && same_dev && !is_cwd && !outdir_foreign(od, foreign, sizeof foreign);
    st = CACT_ERR_IO;
    if (od->swap && snprintf(od->pool, sizeof od->pool, "%s/.%s%s", parent, base, OUTDIR_POOL) >=
                        (int)sizeof od->pool)
        od->pool[0] = '\0';
    if (od->swap)
        st = outdir_make_stage(od, "%s/.%s%s%ld.%u", parent, base, so.st_mode & 07777);
    if (st != CACT_OK) {
        od->swap = 0;
        od->pool[0] = '\0';
        st = outdir_make_stage(od, "%s/%s%s%ld.%u", od->out, "", so.st_mode & 07777);
    }
    if (st != CACT_OK) {
        st = cact_fail(err, CACT_ERR_IO, "cannot create a staging directory in %s: %s",
                       od->out, strerror(errno));
        goto out;
    }
    /* A shard works unlocked beside the others; its staging directory stays locked. */
    if (od->shared) {
        close(od->out_fd);
        od->out_fd = -1;
    }
out:
    if (st != CACT_OK)
        cact_outdir_free(od);
    else
        *odp = od;
    return st;
}

const char *cact_outdir_path(const struct cact_outdir *od)
{
    return od->out;
}

enum cact_status cact_outdir_relock(struct cact_outdir *od, struct cact_err *err)
{
    struct stat a, b;
    enum cact_status st;

    if (!od->shared || od->out_fd >= 0)
        return CACT_OK;
    st = outdir_lock(od, err);
    if (st != CACT_OK)
        return st;
    /* A run that was not a shard may have swapped OUT away meanwhile, with our staging
     * directory in it. */
    if (fstat(od->stage_fd, &a) != 0 || stat(od->stage, &b) != 0 || a.st_dev != b.st_dev ||
        a.st_ino != b.st_ino)
        return cact_fail(err, CACT_ERR_IO,
                         "%s was replaced by another cifar-act run while this shard worked",
                         od->out);
    return CACT_OK;
}

/* Remove one entry of ours in dir (a file, or a directory of ours one level deep)
 * unless keep says otherwise; rel is its name relative to OUT. */
static void outdir_clear_at(const struct cact_outdir *od, const char *dir, const char *prefix,
                            int (*keep)(const char *name, void *ctx), void *ctx)
{
    char p[OUTDIR_PATH], rel[OUTDIR_PATH];
    struct dirent *e;
    DIR *d = opendir(dir);

    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        int is_dir;
        if (outdir_dots(n) || strncmp(n, OUTDIR_STAGE, strlen(OUTDIR_STAGE)) == 0)
            continue;
        is_dir = outdir_is_dir(d, e);
        if (*prefix ? is_dir : !cact_outdir_is_ours(od->ours, n, is_dir))
            continue; /* not ours; or two levels down */
        if (snprintf(rel, sizeof rel, "%s%s", prefix, n) >= (int)sizeof rel ||
            !outdir_join(p, dir, n))
            continue;
        if (is_dir) {
            char sub[OUTDIR_PATH];
            snprintf(sub, sizeof sub, "%s/", n);
            outdir_clear_at(od, p, sub, keep, ctx);
            (void)rmdir(p); /* if now empty */
        } else if (!keep || !keep(rel, ctx)) {
            (void)unlinkat(dirfd(d), n, 0);
        }
    }
    closedir(d);
}

void cact_outdir_clear(struct cact_outdir *od, const char *first,
                       int (*keep)(const char *name, void *ctx), void *ctx)
{
    char p[OUTDIR_PATH];

    if (first && (!keep || !keep(first, ctx)) && outdir_join(p, od->out, first))
        (void)unlink(p);
    outdir_clear_at(od, od->out, "", keep, ctx);
}

const char *cact_outdir_stage(const struct cact_outdir *od)
{
    return od->stage;
}

int cact_outdir_swaps(const struct cact_outdir *od)
{
    return od->swap;
}

/* ---- Commit ---- */

struct outdir_entry {
    char *name;
    int is_dir;
};

struct outdir_names {
    struct outdir_entry *v;
    size_t n, cap;
};

static int outdir_cmp(const void *a, const void *b)
{
    return strcmp(((const struct outdir_entry *)a)->name, ((const struct outdir_entry *)b)->name);
}

static void outdir_names_free(struct outdir_names *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].name);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static int outdir_names_has(const struct outdir_names *s, const char *name)
{
    struct outdir_entry key = {(char *)name, 0};
    return bsearch(&key, s->v, s->n, sizeof *s->v, outdir_cmp) != NULL;
}

/* The entries of dir, sorted. With ours (the staging directory's top level) each must
 * be ours: a writer that stages another name is a bug, and swapping it in would make
 * OUT look foreign to the next run. */
static enum cact_status outdir_list(const char *dir, const struct cact_outdir_name *ours,
                                    struct outdir_names *s, struct cact_err *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    enum cact_status st = CACT_OK;

    if (!d)
        return cact_fail(err, CACT_ERR_IO, "cannot read %s: %s", dir, strerror(errno));
    while (st == CACT_OK && (e = readdir(d)) != NULL) {
        int is_dir;
        if (outdir_dots(e->d_name))
            continue;
        is_dir = outdir_is_dir(d, e);
        if (ours && !cact_outdir_is_ours(ours, e->d_name, is_dir)) {
            st = cact_fail(err, CACT_ERR_IO, "%s/%s: not a name of cifar-act's output files",
                           dir, e->d_name);
            break;
        }
        if (s->n == s->cap) {
            size_t cap = s->cap ? 2 * s->cap : 512;
            struct outdir_entry *v = realloc(s->v, cap * sizeof *v);
            if (!v) {
                st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
                break;
            }
            s->v = v;
            s->cap = cap;
        }
        if (!(s->v[s->n].name = strdup(e->d_name)))
            st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
        else
            s->v[s->n++].is_dir = is_dir;
    }
    closedir(d);
    if (st == CACT_OK)
        qsort(s->v, s->n, sizeof *s->v, outdir_cmp);
    return st;
}

/* Move the staged entries of `from` into `to`, each file renamed over its namesake
 * (never absent), a directory of ours merged the same way one level down; then remove
 * what `to` holds of ours that was not staged; `last` (if not NULL) is removed first
 * and moved in at the very end. With ours NULL (inside a directory of ours) every name
 * in `to` is ours. */
static enum cact_status outdir_merge(const char *from, const char *to,
                                     const struct cact_outdir_name *ours, const char *last,
                                     int prune, struct cact_err *err)
{
    struct outdir_names s = {0};
    char a[OUTDIR_PATH], b[OUTDIR_PATH];
    enum cact_status st;
    struct dirent *e;
    DIR *d = NULL;

    st = outdir_list(from, NULL, &s, err);
    if (st != CACT_OK)
        goto out;
    /* From here until `last` lands, OUT is visibly incomplete. */
    if (last && outdir_join(b, to, last) && unlink(b) != 0 && errno != ENOENT) {
        st = cact_fail(err, CACT_ERR_IO, "cannot remove %s: %s", b, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < s.n; i++) {
        const char *n = s.v[i].name;
        if (last && strcmp(n, last) == 0)
            continue;
        if (!outdir_join(a, from, n) || !outdir_join(b, to, n)) {
            st = cact_fail(err, CACT_ERR_IO, "path too long: %s/%s", to, n);
            goto out;
        }
        if (s.v[i].is_dir) {
            if (mkdir(b, 0777) != 0 && errno != EEXIST) {
                st = cact_fail(err, CACT_ERR_IO, "cannot create directory %s: %s", b,
                               strerror(errno));
                goto out;
            }
            st = outdir_merge(a, b, NULL, NULL, prune, err);
            if (st != CACT_OK)
                goto out;
            (void)rmdir(a);
        } else if (rename(a, b) != 0) {
            st = cact_fail(err, CACT_ERR_IO, "cannot rename %s to %s: %s", a, b, strerror(errno));
            goto out;
        }
    }
    /* Ours of an earlier run that this one did not produce (a shard keeps the other
     * shards' files: they are of the same run). */
    if (!prune)
        goto last;
    if (!(d = opendir(to))) {
        st = cact_fail(err, CACT_ERR_IO, "cannot read %s: %s", to, strerror(errno));
        goto out;
    }
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        int is_dir;
        if (outdir_dots(n) || (last && strcmp(n, last) == 0) || outdir_names_has(&s, n))
            continue;
        is_dir = outdir_is_dir(d, e);
        if (ours && !cact_outdir_is_ours(ours, n, is_dir))
            continue;
        if (!outdir_join(b, to, n))
            continue;
        if (is_dir) {
            if (!ours)
                continue; /* two levels down: never ours */
            outdir_remove_at(b, NULL, 1, 1);
        } else if (unlink(b) != 0 && errno != ENOENT) {
            st = cact_fail(err, CACT_ERR_IO, "cannot remove %s: %s", b, strerror(errno));
            goto out;
        }
    }
last:
    if (last && outdir_join(a, from, last) && outdir_join(b, to, last) && rename(a, b) != 0)
        st = cact_fail(err, CACT_ERR_IO, "cannot rename %s to %s: %s", a, b, strerror(errno));
out:
    if (d)
        closedir(d);
    outdir_names_free(&s);
    return st;
}

/* ---- The pool: inodes kept for the next run ----
 * After a swap the previous result's files are garbage. Deleting them costs the next
 * run dearly on ext4 without a journal: it will not reuse an inode deleted in the last
 * 30 s, and skipping each one costs an inode-table lookup per file created (perf:
 * recently_deleted + find_get_block_common, 56% of the kernel's time; a replacing run
 * took 0.18 s more CPU than unlink-then-rename). So they are truncated to zero length
 * (their data blocks freed) and the directory is kept as ".BASE.cifar-act-pool"; the
 * next run renames it into place as its staging directory and writes its files into
 * those inodes (cact_write_new reuses an empty file). Files the next run does not
 * write are still empty at commit and are dropped then. */

/* The previous result, now at od->stage after the swap: empty our files, drop
 * temporaries and directories of ours, and keep it as the pool. If anything that is
 * not ours is in it (a file that appeared during the swap), just remove ours. */
static void outdir_recycle(struct cact_outdir *od)
{
    char p[OUTDIR_PATH];
    struct dirent *e;
    int foreign = 0;
    DIR *d;

    if (!od->pool[0] || !(d = opendir(od->stage))) {
        outdir_remove(od->stage, od->ours, 0);
        return;
    }
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        int is_dir;
        if (outdir_dots(n))
            continue;
        is_dir = outdir_is_dir(d, e);
        if (!cact_outdir_is_ours(od->ours, n, is_dir)) {
            foreign = 1;
        } else if (is_dir) {
            if (outdir_join(p, od->stage, n))
                outdir_remove_at(p, NULL, 1, 1);
        } else if (strstr(n, ".tmp.")) {
            (void)unlinkat(dirfd(d), n, 0);
        } else {
            int fd = openat(dirfd(d), n, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
            if (fd < 0 || ftruncate(fd, 0) != 0)
                (void)unlinkat(dirfd(d), n, 0);
            if (fd >= 0)
                close(fd);
        }
    }
    closedir(d);
    if (foreign || rename(od->stage, od->pool) != 0)
        outdir_remove(od->stage, od->ours, 0);
}

/* Pool files this run did not write: still empty regular files. (Every file a writer
 * stages has content: a PNG, JSON, HTML.) */
static void outdir_drop_unwritten(const struct cact_outdir *od)
{
    struct dirent *e;
    struct stat sb;
    DIR *d = opendir(od->stage);

    if (!d)
        return;
    while ((e = readdir(d)) != NULL)
        if (!outdir_dots(e->d_name) &&
            fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISREG(sb.st_mode) && sb.st_size == 0)
            (void)unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
}

enum cact_status cact_outdir_commit(struct cact_outdir *od, const char *last,
                                    struct cact_err *err)
{
    struct outdir_names s = {0};
    enum cact_status st;
    char foreign[256];

    if (od->recycled)
        outdir_drop_unwritten(od);
    st = outdir_list(od->stage, od->ours, &s, err); /* every staged name is ours */
    outdir_names_free(&s);
    if (st != CACT_OK)
        return st;
    /* A file of someone else's may have appeared in OUT while we worked: the swap
     * would move it into the directory we delete, so merge instead. */
    if (od->swap && !outdir_foreign(od, foreign, sizeof foreign)) {
        if (renameat2(AT_FDCWD, od->stage, AT_FDCWD, od->out, RENAME_EXCHANGE) == 0) {
            od->committed = 1;
            /* The previous result now has the staging name: it becomes the pool. */
            outdir_recycle(od);
            return CACT_OK;
        }
        /* EINVAL/ENOSYS/ENOTSUP: a file system without exchange; anything else will
         * show again, with its reason, in the merge. */
    }
    od->swap = 0;
    st = outdir_merge(od->stage, od->out, od->ours, last, !od->shared, err);
    if (st == CACT_OK) {
        od->committed = 1;
        (void)rmdir(od->stage);
    }
    return st;
}

void cact_outdir_free(struct cact_outdir *od)
{
    if (!od)
        return;
    /* Not committed: the staging directory holds only this run's files. */
    if (!od->committed && od->stage[0])
        outdir_remove(od->stage, od->ours, 1);
    if (od->stage_fd >= 0)
        close(od->stage_fd);
    if (od->out_fd >= 0)
        close(od->out_fd);
    free(od);
}
