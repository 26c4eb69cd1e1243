/* test_fetch.c - cact_fetch_ensure() end to end, on loopback only: file:// URLs, local
 * archives, offline mode, and tests/http_server.py with its fault modes (dropped
 * connections, a flipped byte, 404, 500s, redirects, ignored Range, stalls), a
 * download killed and resumed by another process, two processes sharing a data
 * directory, and the real CIFAR-10 test batch served and fetched byte-identical. */
#include "check.h"
#include "fixture.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

static char *dir;       /* everything of this run */
static char *src;       /* fixture member files */
static char arch[4096]; /* fixture archive (CIFAR-10 layout, 20-record batches) */
static char arch_sha[65];
static char file_url[4200];
static long long arch_size;
static struct fx_set set;

static const char *newdata(const char *name)
{
    return fx_newdata(dir, name);
}

static void opts(struct cact_fetch_opts *o, const char *data, const char *url)
{
    fx_fetch_opts(o, data, url, set.tab);
}

/* Every member (train: all seven) byte-identical to the fixture's. */
static int data_ok(const char *data, int train)
{
    char d[4096];
    snprintf(d, sizeof d, "%s/cifar-10-batches-bin", data);
    for (int i = 0; i < 7; i++) {
        int want = train || i == 0 || i == 6;
        const char *p = fx_path(d, fx_c10_files[i]);
        if (want ? !fx_same_file(p, fx_path(src, fx_c10_files[i])) : fx_exists(p)) {
            fprintf(stderr, "data_ok: %s %s\n", p, want ? "differs" : "should not exist");
            return 0;
        }
    }
    return 1;
}

/* Nothing of a failed run: no members, no temporaries, no .part. */
static int nothing_left(const char *data)
{
    char d[4096];
    snprintf(d, sizeof d, "%s/cifar-10-batches-bin", data);
    int n = fx_count(d, "") + fx_count(data, ".part");
    if (n)
        fprintf(stderr, "nothing_left: %d entries remain in %s\n", n, data);
    return n == 0;
}

static const char *part_of(const char *data)
{
    return fx_path(data, "cifar-10-binary.tar.gz.part");
}

struct prog {
    int calls, backwards;
    uint64_t last_done, last_total;
    volatile sig_atomic_t *cancel;
};

static void on_progress(const struct cact_fetch_progress *p, void *ctx)
{
    struct prog *g = ctx;
    if (g->calls && p->done < g->last_done)
        g->backwards++;
    g->calls++;
    g->last_done = p->done;
    g->last_total = p->total;
    if (g->cancel)
        *g->cancel = 1;
}

static int closed_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(s);
    return port;
}

/* ---- Local sources ---- */

static void test_file_url(void)
{
    struct cact_fetch_opts o;
    struct cact_err err;
    const char *data = newdata("file");

    opts(&o, data, file_url);
    CHECK_MSG(cact_fetch_verify(&o, &err) == CACT_ERR_MISSING, "%s", err.msg);
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK(data_ok(data, 1));
    CHECK(!fx_exists(part_of(data)));
    CHECK(fx_exists(fx_path(data, ".cifar-act.lock")));
    CHECK(fx_exists(fx_path(data, "cifar-10-batches-bin/.test_batch.bin.verified")));
    CHECK(!fx_exists(fx_path(data, "cifar-10-batches-bin/.batches.meta.txt.verified")));
    CHECK_EQ_INT(fx_count(fx_path(data, "cifar-10-batches-bin"), ".tmp."), 0);
    CHECK_MSG(cact_fetch_verify(&o, &err) == CACT_OK, "%s", err.msg);

    /* Present and verified: no network at all (this URL would fail), even offline. */
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x.tar.gz", closed_port());
    o.url = url;
    o.retries = 0;
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    o.offline = 1;
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);

    /* The test split extracts only what it needs. */
    data = newdata("file-test");
    opts(&o, data, file_url);
    o.split = CACT_CIFAR_TEST;
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK(data_ok(data, 0));

    /* file:// resumes a .part too. */
    {
        size_t an;
        unsigned char *ab = fx_read(arch, &an);
        data = newdata("file-resume");
        mkdir(data, 0777);
        fx_write(part_of(data), ab, an / 3);
        opts(&o, data, file_url);
        CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
        CHECK(data_ok(data, 1));
        CHECK(!fx_exists(part_of(data)));
        free(ab);
    }

    /* A truncated file:// source fails with "truncated" and leaves nothing. */
    size_t n;
    unsigned char *b = fx_read(arch, &n);
    char cut[4096], cut_url[4200];
    snprintf(cut, sizeof cut, "%s/cut.tar.gz", dir);
    fx_write(cut, b, n / 2);
    snprintf(cut_url, sizeof cut_url, "file://%s", cut);
    data = newdata("file-cut");
    opts(&o, data, cut_url);
    CHECK_EQ_INT(cact_fetch_ensure(&o, &err), CACT_ERR_FORMAT);
    CHECK_MSG(strstr(err.msg, "truncated") != NULL, "%s", err.msg);
    CHECK(nothing_left(data));
    free(b);
}

static void test_archive_option(void)
{
    struct cact_fetch_opts o;
    struct cact_err err;
    const char *data = newdata("arch");
    char url[128];

    snprintf(url, sizeof url, "http://127.0.0.1:%d/x.tar.gz", closed_port());
    opts(&o, data, url);
    o.retries = 0;
    o.archive = arch;
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK(data_ok(data, 1));

    /* With the archive's SHA-256 given, it is checked. */
    data = newdata("arch-sha");
    opts(&o, data, NULL);
    o.archive = arch;
    o.sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
    CHECK_EQ_INT(cact_fetch_ensure(&o, &err), CACT_ERR_CHECKSUM);
    CHECK_MSG(strstr(err.msg, arch_sha) && strstr(err.msg, o.sha256), "%s", err.msg);
    CHECK(nothing_left(data));
    CHECK(fx_exists(arch)); /* the user's file stays */
    o.sha256 = arch_sha;
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK(data_ok(data, 1));

    /* A damaged archive: the message names it, and nothing is left. */
    size_t n;
    unsigned char *b = fx_read(arch, &n);
    char bad[4096];
    snprintf(bad, sizeof bad, "%s/bad.tar.gz", dir);
    b[n / 2] ^= 0x55;
    fx_write(bad, b, n);
    free(b);
    data = newdata("arch-bad");
    opts(&o, data, NULL);
    o.archive = bad;
    enum cact_status st = cact_fetch_ensure(&o, &err);
    CHECK_MSG(st == CACT_ERR_FORMAT || st == CACT_ERR_CHECKSUM, "%d %s", (int)st, err.msg);
    CHECK_MSG(strstr(err.msg, bad) != NULL, "%s", err.msg);
    CHECK(nothing_left(data));
    CHECK(fx_exists(bad));

    /* A missing archive file. */
    o.archive = "/nonexistent/cifar.tar.gz";
    CHECK_EQ_INT(cact_fetch_ensure(&o, &err), CACT_ERR_IO);
    CHECK_MSG(strstr(err.msg, "/nonexistent/cifar.tar.gz") != NULL, "%s", err.msg);
}

static void test_offline(void)
{
    struct cact_fetch_opts o;
    struct cact_err err;
    const char *data = newdata("off");

    opts(&o, data, NULL);
    o.offline = 1;
    CHECK_EQ_INT(cact_fetch_ensure(&o, &err), CACT_ERR_MISSING);
    CHECK_MSG(strstr(err.msg, "cifar-10-binary.tar.gz") && strstr(err.msg, data) &&
                  strstr(err.msg, "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz") &&
                  strstr(err.msg, "test_batch.bin"),
              "%s", err.msg);
    /* The library names no option: it says offline (the CLI adds --archive). */
    CHECK(strstr(err.msg, "--") == NULL && err.hint == CACT_HINT_OFFLINE);
    CHECK(nothing_left(data));
    /* Nor the directory, nor the lock file it created for that (issue 9 item 10). */
    CHECK_MSG(!fx_exists(data), "%s left behind", data);

    /* The archive put where the message says is used. */
    size_t n;
    unsigned char *b = fx_read(arch, &n);
    mkdir(data, 0777);
    fx_write(fx_path(data, "cifar-10-binary.tar.gz"), b, n);
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK(data_ok(data, 1));
    CHECK(fx_exists(fx_path(data, "cifar-10-binary.tar.gz")));

    /* A complete .part (a run killed after its last byte) finishes offline. */
    data = newdata("off-part");
    mkdir(data, 0777);
    fx_write(part_of(data), b, n);
    opts(&o, data, file_url); /* a .part from the official URL would need its size */
    o.offline = 1;
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK(data_ok(data, 1));
    CHECK(!fx_exists(part_of(data)));

    /* An incomplete one does not, and is kept for later. */
    data = newdata("off-half");
    mkdir(data, 0777);
    fx_write(part_of(data), b, n / 2);
    o.data_dir = data;
    CHECK_EQ_INT(cact_fetch_ensure(&o, &err), CACT_ERR_MISSING);
    CHECK_EQ_INT(fx_size(part_of(data)), (long long)(n / 2));
    free(b);
}

static void test_verify_on_disk(void)
{
    struct cact_fetch_opts o;
    struct cact_err err;
    const char *data = newdata("disk");
    char p[4096];
    struct stat sb;

    opts(&o, data, file_url);
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    snprintf(p, sizeof p, "%s/cifar-10-batches-bin/data_batch_3.bin", data);
    /* Same size, mtime put back: the stamp's ctime still catches the change. */
    CHECK(stat(p, &sb) == 0);
    size_t n;
    unsigned char *b = fx_read(p, &n);
    b[100] ^= 1;
    fx_write(p, b, n);
    struct timespec ts[2] = { sb.st_atim, sb.st_mtim };
    CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0);
    CHECK_EQ_INT(cact_fetch_verify(&o, &err), CACT_ERR_CHECKSUM);
    CHECK_MSG(strstr(err.msg, set.md5[3]) && strstr(err.msg, "data_batch_3.bin"), "%s",
              err.msg);
    /* cact_fetch_ensure repairs it. */
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK(data_ok(data, 1));
    free(b);

    /* A missing meta file is missing data too. */
    unlink(fx_path(fx_path(data, "cifar-10-batches-bin"), "batches.meta.txt"));
    CHECK_EQ_INT(cact_fetch_verify(&o, &err), CACT_ERR_MISSING);
    CHECK_MSG(strstr(err.msg, "batches.meta.txt") != NULL, "%s", err.msg);
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK(data_ok(data, 1));
}

static void test_cifar100(void)
{
    struct cact_fetch_opts o;
    struct cact_err err;
    char s100[4096], a100[4096], url[4200], md5t[33], md5r[33];
    uint64_t seed = 99;
    size_t nt = 10 * 3074, nr = 30 * 3074;
    unsigned char *b = malloc(nr);

    snprintf(s100, sizeof s100, "%s/src100", dir);
    mkdir(s100, 0777);
    for (size_t i = 0; i < nr; i++)
        b[i] = (unsigned char)fx_rand(&seed);
    fx_write(fx_path(s100, "test.bin"), b, nt);
    fx_write(fx_path(s100, "train.bin"), b, nr);
    fx_write(fx_path(s100, "coarse_label_names.txt"), "a\nb\n", 4);
    fx_write(fx_path(s100, "fine_label_names.txt"), "c\nd\n", 4);
    fx_digest(EVP_md5(), b, nt, md5t);
    fx_digest(EVP_md5(), b, nr, md5r);
    snprintf(a100, sizeof a100, "%s/c100.tar.gz", dir);
    CHECK(fx_pack(a100, s100, "--kind cifar100") == 0);
    snprintf(url, sizeof url, "file://%s", a100);
    const struct cact_fetch_md5 tab[] = { { "test.bin", md5t, 0 }, { "train.bin", md5r, 0 }, { 0, 0, 0 } };

    const char *data = newdata("c100");
    opts(&o, data, url);
    o.kind = CACT_CIFAR_100;
    o.test_md5 = tab;
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    static const char *const f100[] = { "test.bin", "train.bin", "coarse_label_names.txt",
                                        "fine_label_names.txt" };
    for (int i = 0; i < 4; i++)
        CHECK_MSG(fx_same_file(fx_path(fx_path(data, "cifar-100-binary"), f100[i]),
                               fx_path(s100, f100[i])),
                  "%s", f100[i]);
    CHECK(!fx_exists(fx_path(data, "cifar-100-binary.tar.gz.part")));
    CHECK(strcmp(cact_dataset_get(CACT_CIFAR_100)->archive, "cifar-100-binary.tar.gz") == 0);
    CHECK(strcmp(cact_dataset_get(CACT_CIFAR_100)->url,
                 "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz") == 0);

    /* Offline CIFAR-100 names its own archive. */
    data = newdata("c100-off");
    o.data_dir = data;
    o.offline = 1;
    CHECK_EQ_INT(cact_fetch_ensure(&o, &err), CACT_ERR_MISSING);
    CHECK_MSG(strstr(err.msg, "cifar-100-binary.tar.gz") != NULL, "%s", err.msg);
    free(b);
}

static void test_usage(void)
{
    struct cact_fetch_opts o;
    struct cact_err err;
    opts(&o, NULL, file_url);
    CHECK_EQ_INT(cact_fetch_ensure(&o, &err), CACT_ERR_USAGE);
    opts(&o, newdata("usage"), file_url);
    o.sha256 = "abc";
    CHECK_EQ_INT(cact_fetch_ensure(&o, &err), CACT_ERR_USAGE);
    CHECK_MSG(strstr(err.msg, "abc") != NULL, "%s", err.msg);
    CHECK_EQ_INT(cact_fetch_ensure(&o, NULL), CACT_ERR_USAGE); /* err may be NULL */
    opts(&o, newdata("usage"), file_url);
    o.kind = (enum cact_cifar_kind)7;
    CHECK_EQ_INT(cact_fetch_ensure(&o, &err), CACT_ERR_USAGE);

    /* The library reads no environment (the CLI does, and passes the knobs in). */
    setenv("CIFAR_ACT_RETRY_BASE_MS", "3", 1);
    setenv("CIFAR_ACT_STALL_SECONDS", "2", 1);
    cact_fetch_opts_default(&o);
    CHECK_EQ_INT(o.stall_seconds, 60);
    unsetenv("CIFAR_ACT_RETRY_BASE_MS");
    unsetenv("CIFAR_ACT_STALL_SECONDS");
    CHECK_EQ_INT(o.retry_base_ms, 1000);
    CHECK_EQ_INT(o.retries, 5);
    CHECK(o.url == NULL && o.test_md5 == NULL && o.kind == CACT_CIFAR_10 && o.split == CACT_CIFAR_TEST);
}

/* ---- HTTP ---- */

static void test_http_basic(void)
{
    struct fx_server s;
    struct cact_fetch_opts o;
    struct cact_err err;
    struct prog g = { 0 };
    const char *data = newdata("http");

    CHECK(fx_server_start(&s, arch, dir, "") == 0);
    opts(&o, data, s.url);
    o.sha256 = arch_sha;
    o.progress = on_progress;
    o.progress_ctx = &g;
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK(data_ok(data, 1));
    CHECK(!fx_exists(part_of(data)));
    CHECK_EQ_INT(fx_log_count(&s, ""), 1);
    CHECK(g.calls >= 1 && g.backwards == 0);
    CHECK_EQ_INT(g.last_done, arch_size);
    CHECK_EQ_INT(g.last_total, arch_size);

    /* Already there: no request at all. */
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK_EQ_INT(fx_log_count(&s, ""), 1);

    /* A wrong SHA-256: both values in the message, nothing left behind. */
    data = newdata("http-sha");
    opts(&o, data, s.url);
    o.sha256 = "1111111111111111111111111111111111111111111111111111111111111111";
    CHECK_EQ_INT(cact_fetch_ensure(&o, &err), CACT_ERR_CHECKSUM);
    CHECK_MSG(strstr(err.msg, arch_sha) && strstr(err.msg, o.sha256), "%s", err.msg);
    CHECK(nothing_left(data));

    /* keep_archive: the verified archive stays, as DATA_DIR/cifar-10-binary.tar.gz. */
    data = newdata("http-keep");
    opts(&o, data, s.url);
    o.keep_archive = 1;
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK(data_ok(data, 1));
    CHECK(fx_same_file(fx_path(data, "cifar-10-binary.tar.gz"), arch));
    CHECK(!fx_exists(part_of(data)));
    fx_server_stop(&s);
}

static void test_http_faults(void)
{
    struct fx_server s;
    struct cact_fetch_opts o;
    struct cact_err err;
    const char *data;
    char args[128];
    enum cact_status st;

    /* The connection drops after 100000 bytes, every time: resumed to the end. */
    CHECK(fx_server_start(&s, arch, dir, "--drop-after 100000") == 0);
    data = newdata("drop");
    opts(&o, data, s.url);
    o.sha256 = arch_sha;
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK(data_ok(data, 1));
    CHECK_EQ_INT(fx_log_count(&s, ""), (int)((arch_size + 99999) / 100000));
    CHECK_EQ_INT(fx_log_count(&s, "bytes=100000- 206"), 1);
    CHECK_EQ_INT(fx_log_count(&s, "bytes=300000- 206"), 1);
    fx_server_stop(&s);

    /* One flipped byte: verification fails and nothing is left. */
    snprintf(args, sizeof args, "--flip-at %lld", arch_size / 3);
    CHECK(fx_server_start(&s, arch, dir, args) == 0);
    data = newdata("flip");
    opts(&o, data, s.url);
    st = cact_fetch_ensure(&o, &err);
    CHECK_MSG(st == CACT_ERR_FORMAT || st == CACT_ERR_CHECKSUM, "%d %s", (int)st, err.msg);
    CHECK(nothing_left(data));
    CHECK_EQ_INT(fx_log_count(&s, ""), 1); /* content errors are not retried */
    fx_server_stop(&s);

    /* 404: reported at once with URL and status. */
    CHECK(fx_server_start(&s, arch, dir, "--status 404") == 0);
    data = newdata("404");
    opts(&o, data, s.url);
    CHECK_EQ_INT(cact_fetch_ensure(&o, &err), CACT_ERR_NETWORK);
    CHECK_MSG(strstr(err.msg, "404") && strstr(err.msg, s.url), "%s", err.msg);
    CHECK_EQ_INT(fx_log_count(&s, ""), 1);
    CHECK(nothing_left(data));
    fx_server_stop(&s);

    /* 500 three times, then served: retried with backoff. */
    CHECK(fx_server_start(&s, arch, dir, "--fail 3") == 0);
    data = newdata("500");
    opts(&o, data, s.url);
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK(data_ok(data, 1));
    CHECK_EQ_INT(fx_log_count(&s, " 500"), 3);
    CHECK_EQ_INT(fx_log_count(&s, ""), 4);
    fx_server_stop(&s);

    /* 500 for ever: bounded retries. */
    CHECK(fx_server_start(&s, arch, dir, "--fail 1000") == 0);
    data = newdata("500x");
    opts(&o, data, s.url);
    o.retries = 2;
    double t0 = cact_now_s();
    CHECK_EQ_INT(cact_fetch_ensure(&o, &err), CACT_ERR_NETWORK);
    CHECK_MSG(strstr(err.msg, "giving up after 3 attempts") && strstr(err.msg, "500"), "%s",
              err.msg);
    CHECK_EQ_INT(fx_log_count(&s, ""), 3);
    CHECK(cact_now_s() - t0 >= 0.025); /* waited 10 + 20 ms */
    CHECK(nothing_left(data));
    fx_server_stop(&s);

    /* Connection refused is transient too. */
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/x.tar.gz", closed_port());
    data = newdata("refused");
    opts(&o, data, url);
    o.retries = 1;
    CHECK_EQ_INT(cact_fetch_ensure(&o, &err), CACT_ERR_NETWORK);
    CHECK_MSG(strstr(err.msg, "giving up after 2 attempts") && strstr(err.msg, url), "%s",
              err.msg);

    /* Redirects are followed. */
    CHECK(fx_server_start(&s, arch, dir, "--redirect") == 0);
    data = newdata("redir");
    opts(&o, data, s.url);
    o.sha256 = arch_sha;
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK(data_ok(data, 1));
    CHECK_EQ_INT(fx_log_count(&s, " 302"), 1);
    CHECK_EQ_INT(fx_log_count(&s, "/real/"), 1);
    fx_server_stop(&s);

    /* A server that honours Range continues a half .part with a 206 ... */
    size_t n;
    unsigned char *b = fx_read(arch, &n);
    char rng[64];
    snprintf(rng, sizeof rng, "bytes=%zu- 206", n / 2);
    CHECK(fx_server_start(&s, arch, dir, "") == 0);
    data = newdata("range");
    mkdir(data, 0777);
    fx_write(part_of(data), b, n / 2);
    opts(&o, data, s.url);
    o.sha256 = arch_sha;
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK(data_ok(data, 1));
    CHECK_EQ_INT(fx_log_count(&s, rng), 1);
    CHECK_EQ_INT(fx_log_count(&s, ""), 1);
    fx_server_stop(&s);

    /* ... one that ignores it (200) makes us start over cleanly. */
    CHECK(fx_server_start(&s, arch, dir, "--ignore-range") == 0);
    data = newdata("norange");
    mkdir(data, 0777);
    fx_write(part_of(data), b, n / 2);
    opts(&o, data, s.url);
    o.sha256 = arch_sha;
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK(data_ok(data, 1));
    snprintf(rng, sizeof rng, "bytes=%zu- 200", n / 2);
    CHECK_EQ_INT(fx_log_count(&s, rng), 1);
    CHECK(!fx_exists(part_of(data)));

    /* A .part that cannot be the start of the archive is thrown away. */
    data = newdata("junkpart");
    mkdir(data, 0777);
    fx_write(part_of(data), "this is not gzip data at all", 28);
    o.data_dir = data;
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK(data_ok(data, 1));
    fx_server_stop(&s);
    free(b);

    /* A stall (server stops sending) is a failure after stall_seconds: resumed. */
    CHECK(fx_server_start(&s, arch, dir, "--stall-after 50000") == 0);
    data = newdata("stall");
    opts(&o, data, s.url);
    o.sha256 = arch_sha;
    t0 = cact_now_s();
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK(data_ok(data, 1));
    CHECK(cact_now_s() - t0 < 10);
    CHECK_EQ_INT(fx_log_count(&s, ""), 2);
    CHECK_EQ_INT(fx_log_count(&s, "bytes=50000- 206"), 1);
    fx_server_stop(&s);
}

/* A cancel flag stops the transfer and keeps the .part. */
static void test_cancel(void)
{
    struct fx_server s;
    struct cact_fetch_opts o;
    struct cact_err err;
    volatile sig_atomic_t cancel = 0;
    struct prog g = { 0 };
    const char *data = newdata("cancel");

    g.cancel = &cancel;
    CHECK(fx_server_start(&s, arch, dir, "--rate 200000") == 0);
    opts(&o, data, s.url);
    o.cancel = &cancel;
    o.progress = on_progress;
    o.progress_ctx = &g;
    CHECK_EQ_INT(cact_fetch_ensure(&o, &err), CACT_ERR_INTERRUPTED);
    CHECK(fx_size(part_of(data)) > 0);
    CHECK(g.calls >= 1);
    CHECK_EQ_INT(g.last_total, arch_size); /* known from the response, mid-transfer */
    CHECK(g.last_done > 0 && g.last_done < (uint64_t)arch_size);
    CHECK_EQ_INT(fx_count(fx_path(data, "cifar-10-batches-bin"), ""), 0);
    fx_server_stop(&s);
}

/* A child downloading slowly is killed (SIGKILL); the next process resumes its .part
 * with a Range request and finishes. */
static void test_killed_resume(void)
{
    struct fx_server s;
    struct cact_fetch_opts o;
    struct cact_err err;
    const char *data = newdata("killed");
    pid_t pid;
    long long part = 0;
    double t0;

    CHECK(fx_server_start(&s, arch, dir, "--rate 150000") == 0);
    opts(&o, data, s.url);
    o.sha256 = arch_sha;
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        struct cact_err e;
        _exit(cact_fetch_ensure(&o, &e) == CACT_OK ? 0 : 1); /* _exit: keep the parent's atexit */
    }
    t0 = cact_now_s();
    while (cact_now_s() - t0 < 20 && (part = fx_size(part_of(data))) < 120000)
        usleep(10000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    part = fx_size(part_of(data));
    CHECK_MSG(part >= 120000 && part < arch_size, "part %lld", part);
    CHECK(!fx_exists(fx_path(data, "cifar-10-batches-bin/test_batch.bin")));
    fx_server_stop(&s);
    /* Leftovers of dead processes, as if killed mid-rename or mid-stamp: swept. */
    fx_write(fx_path(data, "cifar-10-batches-bin/test_batch.bin.tmp.99999.0"), "x", 1);
    fx_write(fx_path(data, "cifar-10-batches-bin/.data_batch_2.bin.verified.tmp.9.1"), "x",
             1);

    /* The same URL (same port): a .part records where it came from. */
    char port_arg[32];
    snprintf(port_arg, sizeof port_arg, "--port %d", s.port);
    CHECK(fx_server_start(&s, arch, dir, port_arg) == 0);
    opts(&o, data, s.url);
    o.sha256 = arch_sha;
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK(data_ok(data, 1));
    char rng[64];
    snprintf(rng, sizeof rng, "bytes=%lld- 206", part);
    CHECK_EQ_INT(fx_log_count(&s, rng), 1);
    CHECK_EQ_INT(fx_log_count(&s, ""), 1);
    CHECK(!fx_exists(part_of(data)));
    CHECK_EQ_INT(fx_count(fx_path(data, "cifar-10-batches-bin"), ".tmp."), 0); /* swept */
    fx_server_stop(&s);
}

/* Two processes on one data directory: one downloads, the other waits for the lock
 * and then finds the data present. */
static void test_concurrent(void)
{
    struct fx_server s;
    struct cact_fetch_opts o;
    const char *data = newdata("twice");
    pid_t pid[2];
    int ok = 0;

    CHECK(fx_server_start(&s, arch, dir, "--rate 600000") == 0);
    opts(&o, data, s.url);
    o.sha256 = arch_sha;
    fflush(NULL);
    for (int i = 0; i < 2; i++) {
        pid[i] = fork();
        if (pid[i] == 0) {
            struct cact_err e;
            enum cact_status st = cact_fetch_ensure(&o, &e);
            if (st != CACT_OK)
                fprintf(stderr, "child %d: %s\n", i, e.msg);
            _exit(st == CACT_OK && data_ok(data, 1) ? 0 : 1);
        }
    }
    for (int i = 0; i < 2; i++) {
        int status = 0;
        waitpid(pid[i], &status, 0);
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    CHECK_EQ_INT(ok, 2);
    CHECK_EQ_INT(fx_log_count(&s, ""), 1);
    CHECK(data_ok(data, 1));
    fx_server_stop(&s);
}

/* The real CIFAR-10 test batch, packed like the official archive, served over
 * loopback and fetched with the official MD5 table: byte-identical. */
static void test_end_to_end(void)
{
    const char *shared = check_data_dir();
    char real_dir[4200], srcr[4096], archr[4096], sha[65];
    struct fx_server s;
    struct cact_fetch_opts o;
    struct cact_err err;

    CHECK_MSG(shared != NULL, "the real test set was not found (see the line above)");
    if (!shared)
        return;
    snprintf(real_dir, sizeof real_dir, "%s/cifar-10-batches-bin", shared);
    snprintf(srcr, sizeof srcr, "%s/srcreal", dir);
    mkdir(srcr, 0777);
    CHECK(symlink(fx_path(real_dir, "test_batch.bin"), fx_path(srcr, "test_batch.bin")) == 0);
    CHECK(symlink(fx_path(real_dir, "batches.meta.txt"), fx_path(srcr, "batches.meta.txt")) ==
          0);
    snprintf(archr, sizeof archr, "%s/real.tar.gz", dir);
    CHECK(fx_pack(archr, srcr, "--level 1") == 0);
    fx_digest_file(EVP_sha256(), archr, sha);

    CHECK(fx_server_start(&s, archr, dir, "") == 0);
    const char *data = newdata("real");
    cact_fetch_opts_default(&o); /* the official MD5 table: test_md5 stays NULL */
    o.data_dir = data;
    o.url = s.url;
    o.sha256 = sha;
    double t0 = cact_now_s();
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    printf("end-to-end: %lld-byte archive fetched and extracted in %.2f s\n",
           fx_size(archr), cact_now_s() - t0);
    CHECK(fx_same_file(fx_path(data, "cifar-10-batches-bin/test_batch.bin"),
                       fx_path(real_dir, "test_batch.bin")));
    CHECK(fx_same_file(fx_path(data, "cifar-10-batches-bin/batches.meta.txt"),
                       fx_path(real_dir, "batches.meta.txt")));
    CHECK_MSG(cact_fetch_verify(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK_EQ_INT(fx_log_count(&s, ""), 1);
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
        return check_summary("test_fetch");
    }
    fx_digest_file(EVP_sha256(), arch, arch_sha);
    arch_size = fx_size(arch);
    snprintf(file_url, sizeof file_url, "file://%s", arch);

    test_usage();
    test_file_url();
    test_archive_option();
    test_offline();
    test_verify_on_disk();
    test_cifar100();
    test_http_basic();
    test_http_faults();
    test_cancel();
    test_killed_resume();
    test_concurrent();
    test_end_to_end();

    fx_server_reap_all();
    fx_rmrf(dir);
    return check_summary("test_fetch");
}
