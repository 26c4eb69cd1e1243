/* killat.c - an LD_PRELOAD shim that SIGKILLs the process at its N-th rename or unlink
 * under a directory, for tests/cli_out.sh.
 *
 * Why: outdir.h promises that a run killed during a merge (OUT holds a file that is not
 * ours, so the staged files are renamed in one by one) leaves no manifest, never touches
 * the foreign file, and that the next run cleans up. The merge takes a few milliseconds,
 * so no signal sent from outside lands in it reliably; this shim kills the run at an
 * exact step instead, the way a crash or the OOM killer would (no handler runs).
 *
 * What it counts: calls of rename, renameat, renameat2, unlink and unlinkat (what
 * outdir.c uses; strace shows the merge makes only rename and unlink) of which a path
 * argument - old or new for a rename - is CACT_KILLAT_DIR itself or below it. A path
 * is taken as the binary passes it, made absolute against the current directory or
 * the dirfd (/proc/self/fd) when relative; no symlinks are resolved, so give the
 * directory as the binary resolves it (realpath: outdir.c uses OUT's). With
 * CACT_KILLAT_SKIP=NAME a path below DIR/NAME* (an entry directly in DIR whose name
 * starts with NAME, such as ".cifar-act-stage.") does not count: the staging
 * directory's own renames, before the merge, are then left out.
 *
 * Environment:
 *   CACT_KILLAT_DIR=path        nothing is counted without it
 *   CACT_KILLAT_N=N             on the N-th counted call raise(SIGKILL) before making
 *                               it, or after it with CACT_KILLAT_AFTER=1 (0: never)
 *   CACT_KILLAT_COUNT_FILE=f    at a normal exit, write the number of counted calls
 *   CACT_KILLAT_SKIP=NAME       see above
 * rmdir is not wrapped (removing an empty directory loses nothing). */
#define _GNU_SOURCE /* RTLD_NEXT, renameat2 */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_long killat_count;

/* 1 if path (relative to dirfd when not absolute) is DIR or below it, outside a
 * skipped entry. */
static int killat_under(int dirfd, const char *path)
{
    const char *dir = getenv("CACT_KILLAT_DIR"), *skip = getenv("CACT_KILLAT_SKIP");
    char abs[PATH_MAX * 2], base[PATH_MAX], link[64];
    size_t dl;

    if (!dir || !*dir || !path)
        return 0;
    dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--; /* "OUT/" is OUT */
    if (path[0] != '/') {
        ssize_t n = -1;
        if (dirfd == AT_FDCWD) {
            if (getcwd(base, sizeof base))
                n = (ssize_t)strlen(base);
        } else {
            snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
            n = readlink(link, base, sizeof base - 1);
        }
        if (n < 0)
            return 0;
        base[n] = '\0';
        snprintf(abs, sizeof abs, "%s/%s", base, path);
        path = abs;
    }
    /* A prefix on a component boundary: DIR "/o" is not below "/o2". */
    if (strncmp(path, dir, dl) != 0 || (path[dl] != '/' && path[dl] != '\0'))
        return 0;
    if (skip && *skip && path[dl] == '/' && strncmp(path + dl + 1, skip, strlen(skip)) == 0)
        return 0;
    return 1;
}

/* Called before each wrapped call: counts it if it is under DIR, kills now if it is the
 * N-th and the kill is to come before it, and returns 1 if it is to come after it. */
static int killat_step(int fd1, const char *p1, int fd2, const char *p2)
{
    const char *ns = getenv("CACT_KILLAT_N"), *after = getenv("CACT_KILLAT_AFTER");
    long n;

    if (!killat_under(fd1, p1) && !killat_under(fd2, p2))
        return 0;
    n = atomic_fetch_add(&killat_count, 1) + 1;
    if (!ns || atol(ns) != n)
        return 0;
    if (after && strcmp(after, "1") == 0)
        return 1;
    raise(SIGKILL);
    return 0;
}

/* The real function, looked up once (ISO C cannot cast dlsym's void * to a function
 * pointer; POSIX allows copying it through memcpy). */
#define KILLAT_REAL(name, params)                                                        \
    static int(*real) params;                                                            \
    if (!real) {                                                                         \
        void *sym = dlsym(RTLD_NEXT, name);                                              \
        memcpy(&real, &sym, sizeof real);                                                \
    }

int rename(const char *old, const char *new)
{
    KILLAT_REAL("rename", (const char *, const char *));
    int k = killat_step(AT_FDCWD, old, AT_FDCWD, new), r = real(old, new);
    if (k)
        raise(SIGKILL);
    return r;
}

int renameat(int ofd, const char *old, int nfd, const char *new)
{
    KILLAT_REAL("renameat", (int, const char *, int, const char *));
    int k = killat_step(ofd, old, nfd, new), r = real(ofd, old, nfd, new);
    if (k)
        raise(SIGKILL);
    return r;
}

int renameat2(int ofd, const char *old, int nfd, const char *new, unsigned flags)
{
    KILLAT_REAL("renameat2", (int, const char *, int, const char *, unsigned));
    int k = killat_step(ofd, old, nfd, new), r = real(ofd, old, nfd, new, flags);
    if (k)
        raise(SIGKILL);
    return r;
}

int unlink(const char *path)
{
    KILLAT_REAL("unlink", (const char *));
    int k = killat_step(AT_FDCWD, path, AT_FDCWD, NULL), r = real(path);
    if (k)
        raise(SIGKILL);
    return r;
}

int unlinkat(int fd, const char *path, int flags)
{
    KILLAT_REAL("unlinkat", (int, const char *, int));
    int k = killat_step(fd, path, AT_FDCWD, NULL), r = real(fd, path, flags);
    if (k)
        raise(SIGKILL);
    return r;
}

/* The count, for a test that first learns how many calls a whole commit makes. */
__attribute__((destructor)) static void killat_report(void)
{
    const char *f = getenv("CACT_KILLAT_COUNT_FILE");
    FILE *fp;

    if (f && *f && (fp = fopen(f, "w")) != NULL) {
        fprintf(fp, "%ld\n", (long)atomic_load(&killat_count));
        fclose(fp);
    }
}
