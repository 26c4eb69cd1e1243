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
    return fx_newdata(dir, name);
}

static void opts(struct cact_fetch_opts *o, const char *data, const char *url)
{
    fx_fetch_opts(o, data, url, set.tab);
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
    t0 = cact_now_s();
    st = cact_fetch_ensure(&o, &err);
    CHECK_MSG(st == CACT_ERR_NETWORK, "status %d: %s", (int)st, err.msg);
    CHECK_MSG(strstr(err.msg, "giving up after 4 attempts") &&
                  strstr(err.msg, "past byte 100000") && strstr(err.msg, "byte 0"),
              "%s", err.msg);
    CHECK_EQ_INT(fx_log_count(&s, ""), 4);
    CHECK(cact_now_s() - t0 < 15);
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
    t0 = cact_now_s();
    st = cact_fetch_ensure(&o, &err);
    CHECK_MSG(st == CACT_ERR_NETWORK, "status %d: %s", (int)st, err.msg);
    CHECK_MSG(strstr(err.msg, "time limit of 1 s") && strstr(err.msg, s.url), "%s", err.msg);
    CHECK(cact_now_s() - t0 < 5);
    fx_server_stop(&s);
}

/* Run a Python snippet with IN = the fixture archive and OUT = path (sys.argv). */
static int py(const char *code, const char *out)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "python3 -c '%s' '%s' '%s'", code, arch, out);
    return fx_run(cmd);
}

/* ---- 5. Bounded archives ---- */

static void test_bounds(void)
{
    struct cact_fetch_opts o;
    struct cact_err err;
    enum cact_status st;
    char big[4096], junk[4096], blocks[4096], src2[4096];
    struct watchdog w;

    /* A needed member whose size is not the catalogue's: refused at its header, before
     * a byte is written (before: written out whole, then the MD5 failed). */
    snprintf(src2, sizeof src2, "%s/src-big", dir);
    mkdir(src2, 0777);
    {
        struct fx_set other;
        fx_make_cifar10(src2, 21, 99, &other);
    }
    snprintf(big, sizeof big, "%s/bigmember.tar.gz", dir);
    CHECK(fx_pack(big, src2, "") == 0);
    opts(&o, newdata("bigmember"), NULL);
    o.archive = big;
    st = cact_fetch_ensure(&o, &err);
    CHECK_MSG(st == CACT_ERR_CHECKSUM, "status %d: %s", (int)st, err.msg);
    CHECK_MSG(strstr(err.msg, "size 64533 bytes in the archive, expected 61460") &&
                  strstr(err.msg, big), "%s", err.msg);
    CHECK(nothing_left(o.data_dir));

    /* 8 MB of zeros in a member nobody asked for: the inflated bound stops it (before:
     * inflated to the end and accepted). */
    snprintf(junk, sizeof junk, "%s/junk.tar.gz", dir);
    CHECK(py("import gzip,io,sys,tarfile\n"
             "t=tarfile.open(sys.argv[1]); m=[(i,t.extractfile(i)) for i in t.getmembers()]\n"
             "b=io.BytesIO(); o=tarfile.open(fileobj=b,mode=\"w\",format=tarfile.GNU_FORMAT)\n"
             "for i,f in m: o.addfile(i,f)\n"
             "j=tarfile.TarInfo(\"cifar-10-batches-bin/junk.bin\"); j.size=8<<20\n"
             "o.addfile(j,io.BytesIO(bytes(j.size))); o.close()\n"
             "open(sys.argv[2],\"wb\").write(gzip.compress(b.getvalue()))",
             junk) == 0);
    opts(&o, newdata("junk"), NULL);
    o.archive = junk;
    st = cact_fetch_ensure(&o, &err);
    CHECK_MSG(st == CACT_ERR_FORMAT, "status %d: %s", (int)st, err.msg);
    CHECK_MSG(strstr(err.msg, "inflates to more than") && strstr(err.msg, junk), "%s", err.msg);
    CHECK(nothing_left(o.data_dir));

    /* The same archive and then a stream of empty deflate blocks (compressed bytes, no
     * output): the compressed bound stops it. */
    snprintf(blocks, sizeof blocks, "%s/blocks.tar.gz", dir);
    CHECK(py("import sys,zlib,gzip\n"
             "d=gzip.decompress(open(sys.argv[1],\"rb\").read()); c=zlib.compressobj(6,8,31)\n"
             "out=[c.compress(d[:len(d)//2]),c.flush(zlib.Z_SYNC_FLUSH)]\n"
             "out+=[bytes([0,0,0,255,255])*1000000]\n"
             "out+=[c.compress(d[len(d)//2:]),c.flush()]\n"
             "open(sys.argv[2],\"wb\").write(b\"\".join(out))",
             blocks) == 0);
    CHECK_MSG(fx_size(blocks) > 5000000, "%lld", fx_size(blocks));
    opts(&o, newdata("blocks"), NULL);
    o.archive = blocks;
    watchdog_arm(&o, &w, 30);
    st = cact_fetch_ensure(&o, &err);
    alarm(0);
    CHECK_MSG(st == CACT_ERR_FORMAT, "status %d: %s", (int)st, err.msg);
    CHECK_MSG(strstr(err.msg, "archive is larger than") && strstr(err.msg, blocks), "%s",
              err.msg);
    CHECK(nothing_left(o.data_dir));
}

/* ---- 9. Multi-member gzip; 12. a link where a member should be ---- */

static void test_gzip_members_and_links(void)
{
    struct cact_fetch_opts o;
    struct cact_err err;
    enum cact_status st;
    char multi[4096], link[4096];
    struct fx_server s;

    /* cat a.gz b.gz: the tar split in two gzip members (gzip -t and tar tzf accept it;
     * before: "unexpected data after the end of the gzip stream"). */
    snprintf(multi, sizeof multi, "%s/multi.tar.gz", dir);
    CHECK(py("import gzip,sys\n"
             "d=gzip.decompress(open(sys.argv[1],\"rb\").read()); h=len(d)//3\n"
             "open(sys.argv[2],\"wb\").write(gzip.compress(d[:h])+gzip.compress(d[h:2*h])"
             "+gzip.compress(d[2*h:]))",
             multi) == 0);
    opts(&o, newdata("multi"), NULL);
    o.archive = multi;
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    /* ... and over HTTP, resumed across the members' boundaries. */
    CHECK(fx_server_start(&s, multi, dir, "--drop-after 70000") == 0);
    opts(&o, newdata("multi-http"), s.url);
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    fx_server_stop(&s);
    /* Garbage after the last member is still an error. */
    snprintf(link, sizeof link, "%s/trail.tar.gz", dir);
    CHECK(py("import sys\n"
             "open(sys.argv[2],\"wb\").write(open(sys.argv[1],\"rb\").read()+b\"xyz\")",
             link) == 0);
    opts(&o, newdata("trail"), NULL);
    o.archive = link;
    st = cact_fetch_ensure(&o, &err);
    CHECK_MSG(st == CACT_ERR_FORMAT && strstr(err.msg, "after the end"), "%d %s", (int)st,
              err.msg);

    /* test_batch.bin as a symbolic link: said (before: "archive has no member"). */
    snprintf(link, sizeof link, "%s/link.tar.gz", dir);
    CHECK(py("import gzip,io,sys,tarfile\n"
             "t=tarfile.open(sys.argv[1]); b=io.BytesIO()\n"
             "o=tarfile.open(fileobj=b,mode=\"w\",format=tarfile.GNU_FORMAT)\n"
             "for i in t.getmembers():\n"
             "  if i.name.endswith(\"/test_batch.bin\"):\n"
             "    i.type=tarfile.SYMTYPE; i.linkname=\"/etc/passwd\"; i.size=0; o.addfile(i)\n"
             "  else: o.addfile(i,t.extractfile(i))\n"
             "o.close(); open(sys.argv[2],\"wb\").write(gzip.compress(b.getvalue()))",
             link) == 0);
    opts(&o, newdata("link"), NULL);
    o.archive = link;
    st = cact_fetch_ensure(&o, &err);
    CHECK_MSG(st == CACT_ERR_FORMAT, "status %d: %s", (int)st, err.msg);
    CHECK_MSG(strstr(err.msg, "test_batch.bin is a symbolic link") &&
                  strstr(err.msg, "/etc/passwd"), "%s", err.msg);
    CHECK(nothing_left(o.data_dir));
}

/* ---- 6. Errors name their source ---- */

static void test_errors_name_source(void)
{
    struct fx_server s;
    struct cact_fetch_opts o;
    struct cact_err err;
    enum cact_status st;
    char args[64];

    /* A byte flipped in the deflate data: the gzip error names the URL (before:
     * "not a valid gzip stream near byte N: ..." alone). */
    snprintf(args, sizeof args, "--flip-at %lld", arch_size / 2);
    CHECK(fx_server_start(&s, arch, dir, args) == 0);
    opts(&o, newdata("flip"), s.url);
    st = cact_fetch_ensure(&o, &err);
    CHECK_MSG(st == CACT_ERR_FORMAT || st == CACT_ERR_CHECKSUM, "%d %s", (int)st, err.msg);
    CHECK_MSG(strstr(err.msg, s.url) != NULL, "%s", err.msg);
    fx_server_stop(&s);

    /* A SHA-256 that does not match names the URL too. */
    CHECK(fx_server_start(&s, arch, dir, "") == 0);
    opts(&o, newdata("sha"), s.url);
    o.sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
    st = cact_fetch_ensure(&o, &err);
    CHECK_MSG(st == CACT_ERR_CHECKSUM && strstr(err.msg, "SHA-256") && strstr(err.msg, s.url),
              "%d %s", (int)st, err.msg);
    fx_server_stop(&s);

    /* A member's MD5 on the download path: the URL and the member. */
    struct fx_set wrong = set;
    snprintf(wrong.md5[0], sizeof wrong.md5[0], "%s", "00000000000000000000000000000000");
    wrong.tab[0].md5 = wrong.md5[0];
    CHECK(fx_server_start(&s, arch, dir, "") == 0);
    opts(&o, newdata("md5"), s.url);
    o.test_md5 = wrong.tab;
    st = cact_fetch_ensure(&o, &err);
    CHECK_MSG(st == CACT_ERR_CHECKSUM && strstr(err.msg, "MD5") && strstr(err.msg, s.url) &&
                  strstr(err.msg, "test_batch.bin"), "%d %s", (int)st, err.msg);
    fx_server_stop(&s);
}

/* ---- 7. A .part is tied to its source ---- */

struct notes {
    int n;
    char last[2048];
};

static void on_notice(const char *msg, void *ctx)
{
    struct notes *t = ctx;
    t->n++;
    snprintf(t->last, sizeof t->last, "%s", msg);
    if (strstr(msg, "starting over"))
        t->n += 1000;
}

static void test_part_source(void)
{
    struct fx_server a, b;
    struct cact_fetch_opts o;
    struct cact_err err;
    struct fx_set set2;
    struct notes nt = { 0, "" };
    char src2[4096], arch2[4096], port[64];
    const char *data;

    snprintf(src2, sizeof src2, "%s/src2", dir);
    mkdir(src2, 0777);
    fx_make_cifar10(src2, 20, 777, &set2);
    snprintf(arch2, sizeof arch2, "%s/other.tar.gz", dir);
    CHECK(fx_pack(arch2, src2, "") == 0);

    /* Half a download from A, then --url B: B's file from byte 0, with a notice
     * (before: B's bytes from the .part's end stitched onto A's). */
    CHECK(fx_server_start(&a, arch, dir, "--drop-after 100000") == 0);
    data = newdata("two-urls");
    opts(&o, data, a.url);
    o.retries = 0;
    CHECK_EQ_INT(cact_fetch_ensure(&o, &err), CACT_ERR_NETWORK);
    CHECK_EQ_INT(fx_size(fx_path(data, "cifar-10-binary.tar.gz.part")), 100000);
    fx_server_stop(&a);
    CHECK(fx_server_start(&b, arch2, dir, "") == 0);
    opts(&o, data, b.url);
    o.test_md5 = set2.tab;
    o.notice = on_notice;
    o.notice_ctx = &nt;
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK_MSG(nt.n >= 1000 && strstr(nt.last, a.url) != NULL, "%d %s", nt.n, nt.last);
    CHECK_EQ_INT(fx_log_count(&b, ".tar.gz - 200"), 1); /* no Range: from byte 0 */
    CHECK(!fx_exists(fx_path(data, "cifar-10-binary.tar.gz.part")));
    CHECK(!fx_exists(fx_path(data, "cifar-10-binary.tar.gz.part.source")));
    fx_server_stop(&b);

    /* Same URL, but the file behind it changed (its ETag): If-Range gets the new file
     * whole (before: a Range request, and the new file's tail on the old one's head). */
    CHECK(fx_server_start(&a, arch, dir, "--etag v1 --drop-after 100000") == 0);
    data = newdata("etag");
    opts(&o, data, a.url);
    o.retries = 0;
    CHECK_EQ_INT(cact_fetch_ensure(&o, &err), CACT_ERR_NETWORK);
    fx_server_stop(&a);
    snprintf(port, sizeof port, "--etag v2 --port %d", a.port);
    CHECK(fx_server_start(&b, arch2, dir, port) == 0);
    CHECK(strcmp(a.url, b.url) == 0);
    opts(&o, data, b.url);
    /* No digests: the member MD5s would also catch A's head on resume (the .part's
     * re-feed drops it); this checks that If-Range alone keeps the files apart. */
    static const struct cact_fetch_md5 no_digests[] = { { NULL, NULL, 0 } };
    o.test_md5 = no_digests;
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK_EQ_INT(fx_log_count(&b, "bytes=100000- 200 if-range=\"v1\""), 1);
    CHECK(fx_same_file(fx_path(data, "cifar-10-batches-bin/test_batch.bin"),
                       fx_path(src2, "test_batch.bin")));
    fx_server_stop(&b);

    /* Unchanged (same ETag): resumed with a 206 as before. */
    CHECK(fx_server_start(&a, arch, dir, "--etag v1 --drop-after 100000") == 0);
    data = newdata("etag-same");
    opts(&o, data, a.url);
    o.retries = 0;
    CHECK_EQ_INT(cact_fetch_ensure(&o, &err), CACT_ERR_NETWORK);
    fx_server_stop(&a);
    snprintf(port, sizeof port, "--etag v1 --port %d", a.port);
    CHECK(fx_server_start(&b, arch, dir, port) == 0);
    opts(&o, data, b.url);
    CHECK_MSG(cact_fetch_ensure(&o, &err) == CACT_OK, "%s", err.msg);
    CHECK_EQ_INT(fx_log_count(&b, "bytes=100000- 206 if-range=\"v1\""), 1);
    fx_server_stop(&b);
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
    alarm(0);
    test_bounds();
    test_gzip_members_and_links();
    test_errors_name_source();
    test_part_source();

    fx_server_reap_all();
    fx_rmrf(dir);
    free(src);
    free(dir);
    return check_summary("test_fetch_hard");
}
