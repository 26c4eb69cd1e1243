/* fixture.h - helpers for the tests: temporary directories, whole-file reads, small
 * CIFAR-style member files and datasets, fixture archives
 * (tools/make_fixture_archive.py), digests, and the loopback HTTP server
 * (tests/http_server.py), which is always stopped: by fx_server_stop(), and by an
 * atexit handler if a test bails out early.
 *
 * Include after check.h. Paths: CA_ROOT (the checkout, set by tests/run-tests.sh).
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cifar.h"
#include "fetch.h"

/* ---- Files ---- */

/* rm -rf dir (no symlinks are followed: lstat). */
static inline void fx_rmrf(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    struct stat sb;
    char p[4096];

    if (d) {
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p)
                continue; /* cannot be ours: fixtures use short names */
            if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
                fx_rmrf(p);
            else
                unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* A new empty directory under TMPDIR; caller frees the string. */
static inline char *fx_tmpdir(void)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/cifar-act-fetch.XXXXXX", check_env("TMPDIR", "/tmp"));
    if (!mkdtemp(buf)) {
        perror("mkdtemp");
        exit(2);
    }
    return strdup(buf);
}

static inline char *fx_path(const char *dir, const char *name)
{
    static char bufs[8][4096];
    static int k;
    char *b = bufs[k++ % 8], tmp[4096];
    /* Through tmp: dir may be an earlier result of fx_path. */
    int n = snprintf(tmp, sizeof tmp, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        fprintf(stderr, "path too long: %s/%s\n", dir, name);
        exit(2);
    }
    memcpy(b, tmp, (size_t)n + 1);
    return b;
}

static inline int fx_write(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(d, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Whole file, malloc'd, with a NUL after its last byte (so a text file is a string);
 * NULL if it cannot be read. */
static inline unsigned char *fx_read(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *b = NULL;
    long len;

    *n = 0;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        b = malloc((size_t)len + 1);
        if (b && fread(b, 1, (size_t)len, f) == (size_t)len) {
            b[len] = '\0';
            *n = (size_t)len;
        } else {
            free(b);
            b = NULL;
        }
    }
    fclose(f);
    return b;
}

/* A text file as a string (malloc'd), its length in *n unless n is NULL; NULL if it
 * cannot be read. */
static inline char *fx_read_text(const char *path, size_t *n)
{
    size_t len;
    char *s = (char *)fx_read(path, &len);
    if (n)
        *n = len;
    return s;
}

static inline int fx_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static inline long long fx_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* Entries of dir whose name contains sub ("" counts all but . and ..). */
static inline int fx_count(const char *dir, const char *sub)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strstr(e->d_name, sub))
            n++;
    closedir(d);
    return n;
}

static inline int fx_same_file(const char *a, const char *b)
{
    size_t na, nb;
    unsigned char *x = fx_read(a, &na), *y = fx_read(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

/* ---- Digests ---- */

static inline void fx_hex(const unsigned char *d, unsigned n, char *out)
{
    for (unsigned i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static inline void fx_digest(const EVP_MD *md, const void *p, size_t n, char *out)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    EVP_Digest(p, n, d, &dn, md, NULL);
    fx_hex(d, dn, out);
}

static inline void fx_digest_file(const EVP_MD *md, const char *path, char *out)
{
    size_t n;
    unsigned char *b = fx_read(path, &n);
    fx_digest(md, b ? b : (const unsigned char *)"", n, out);
    free(b);
}

/* ---- Fixture data ---- */

static inline uint64_t fx_rand(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* CIFAR-10 members with `records` random records each, in src/, and their MD5s. */
struct fx_set {
    char md5[7][33];
    struct cact_fetch_md5 tab[8];
};

static const char *const fx_c10_files[7] = {
    "test_batch.bin",   "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
    "data_batch_4.bin", "data_batch_5.bin", "batches.meta.txt",
};

static inline void fx_make_cifar10(const char *src, int records, uint64_t seed, struct fx_set *s)
{
    static const char meta[] = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\n"
                               "ship\ntruck\n";
    size_t n = (size_t)records * 3073;
    unsigned char *b = malloc(n);
    int k = 0;

    memset(s, 0, sizeof *s);
    for (int f = 0; f < 6; f++) {
        for (size_t i = 0; i < n; i++)
            b[i] = (unsigned char)fx_rand(&seed);
        for (int r = 0; r < records; r++)
            b[(size_t)r * 3073] = (unsigned char)(r % 10);
        fx_write(fx_path(src, fx_c10_files[f]), b, n);
        fx_digest(EVP_md5(), b, n, s->md5[f]);
        s->tab[k++] = (struct cact_fetch_md5){ fx_c10_files[f], s->md5[f], n };
    }
    fx_write(fx_path(src, "batches.meta.txt"), meta, sizeof meta - 1);
    fx_digest(EVP_md5(), meta, sizeof meta - 1, s->md5[6]);
    s->tab[k] = (struct cact_fetch_md5){ NULL, NULL, 0 };
    free(b);
}

/* DIR/cifar-10-batches-bin/ with 10 images, image i a flat grey of level 20*i and
 * label i (exact pixel values for the run tests), and batches.meta.txt holding meta
 * (ten class names, one a line). Exits 2 if it cannot write them. */
static inline void fx_make_grey10(const char *dir, const char *meta)
{
    uint8_t rec[1 + CACT_CIFAR_PIXELS];
    char path[4200];
    FILE *f;

    snprintf(path, sizeof path, "%s/cifar-10-batches-bin", dir);
    mkdir(path, 0777);
    snprintf(path, sizeof path, "%s/cifar-10-batches-bin/test_batch.bin", dir);
    f = fopen(path, "wb");
    for (int i = 0; f && i < 10; i++) {
        rec[0] = (uint8_t)i;
        memset(rec + 1, 20 * i, CACT_CIFAR_PIXELS);
        if (fwrite(rec, 1, sizeof rec, f) != sizeof rec)
            exit(2);
    }
    if (!f || fclose(f) != 0)
        exit(2);
    snprintf(path, sizeof path, "%s/cifar-10-batches-bin/batches.meta.txt", dir);
    if (fx_write(path, meta, strlen(meta)) != 0)
        exit(2);
}

/* A fresh data directory name under dir, removed if it exists (not created: fetch must
 * create it). The result lives until four more calls. */
static inline const char *fx_newdata(const char *dir, const char *name)
{
    static char bufs[4][4096];
    static int k;
    char *b = bufs[k++ % 4];
    snprintf(b, 4096, "%s/%s", dir, name);
    fx_rmrf(b);
    return b;
}

/* The fetch tests' options: data from url into data, the train split, the fixture's
 * digests (tab), and short retry and stall timers. */
static inline void fx_fetch_opts(struct cact_fetch_opts *o, const char *data, const char *url,
                                 const struct cact_fetch_md5 *tab)
{
    cact_fetch_opts_default(o);
    o->data_dir = data;
    o->url = url;
    o->split = CACT_CIFAR_TRAIN;
    o->test_md5 = tab;
    o->retry_base_ms = 10;
    o->stall_seconds = 1;
    o->stall_bytes = 1000;
}

static inline int fx_run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    return rc;
}

/* tools/make_fixture_archive.py OUT SRC ARGS */
static inline int fx_pack(const char *out, const char *src, const char *args)
{
    char cmd[12288];
    snprintf(cmd, sizeof cmd, "python3 '%s/tools/make_fixture_archive.py' '%s' '%s' %s",
             check_env("CA_ROOT", "."), out, src, args ? args : "");
    return fx_run(cmd);
}

/* ---- The loopback server ---- */

struct fx_server {
    pid_t pid;
    int port;
    char log[4096];
    char url[256];
};

static pid_t fx_server_pids[16];

static inline void fx_server_reap_all(void)
{
    for (int i = 0; i < 16; i++)
        if (fx_server_pids[i] > 0) {
            kill(fx_server_pids[i], SIGTERM);
            waitpid(fx_server_pids[i], NULL, 0);
            fx_server_pids[i] = 0;
        }
}

/* Start tests/http_server.py serving file, with space-separated fault args. Its
 * request log goes to logdir/server.log. Returns 0 and fills s, or -1. */
static inline int fx_server_start(struct fx_server *s, const char *file, const char *logdir,
                           const char *args)
{
    static int registered;
    char script[4096], argbuf[1024], line[64];
    char *argv[40];
    int argc = 0, fds[2];
    FILE *in;

    memset(s, 0, sizeof *s);
    if (!registered) {
        atexit(fx_server_reap_all);
        registered = 1;
    }
    snprintf(script, sizeof script, "%s/tests/http_server.py", check_env("CA_ROOT", "."));
    snprintf(s->log, sizeof s->log, "%s/server.log", logdir);
    unlink(s->log);
    argv[argc++] = "python3";
    argv[argc++] = script;
    argv[argc++] = (char *)file;
    argv[argc++] = "--log";
    argv[argc++] = s->log;
    snprintf(argbuf, sizeof argbuf, "%s", args ? args : "");
    for (char *t = strtok(argbuf, " "); t && argc < 38; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp("python3", argv);
        _exit(127);
    }
    close(fds[1]);
    for (int i = 0; i < 16; i++)
        if (!fx_server_pids[i]) {
            fx_server_pids[i] = s->pid;
            break;
        }
    in = fdopen(fds[0], "r");
    if (!in || !fgets(line, sizeof line, in)) {
        if (in)
            fclose(in);
        return -1;
    }
    fclose(in);
    s->port = atoi(line);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d/cifar-10-binary.tar.gz", s->port);
    return s->port > 0 ? 0 : -1;
}

static inline void fx_server_stop(struct fx_server *s)
{
    if (s->pid <= 0)
        return;
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    for (int i = 0; i < 16; i++)
        if (fx_server_pids[i] == s->pid)
            fx_server_pids[i] = 0;
    s->pid = 0;
}

/* Lines of the server log containing sub ("" counts requests). */
static inline int fx_log_count(const struct fx_server *s, const char *sub)
{
    FILE *f = fopen(s->log, "r");
    char line[1024];
    int n = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, sub))
            n++;
    fclose(f);
    return n;
}

/* Never let a proxy from the environment see loopback test traffic. */
static inline void fx_no_proxy(void)
{
    static const char *const vars[] = { "http_proxy", "HTTP_PROXY", "https_proxy",
                                        "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        unsetenv(vars[i]);
    setenv("no_proxy", "127.0.0.1,localhost", 1);
}

#endif
