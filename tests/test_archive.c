/* test_archive.c - the streaming .tar.gz extractor: real fixture archives (GNU, pax,
 * long names) fed in pieces of every size, digests, hand-made hostile tar headers,
 * and truncated / bit-flipped / tar-corrupted streams that must fail cleanly. */
#include "check.h"
#include "fixture.h"

#include <zlib.h>

#include "archive.h"

static char *dir;      /* scratch directory for one test */
static char *out;      /* where members are extracted */
static char *src;      /* the member files the fixtures are made of */

/* ---- Building archives in memory ---- */

struct buf {
    unsigned char *p;
    size_t n, cap;
};

static void buf_add(struct buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 4096;
        b->p = realloc(b->p, b->cap);
    }
    if (d)
        memcpy(b->p + b->n, d, n);
    else
        memset(b->p + b->n, 0, n);
    b->n += n;
}

static void tar_checksum(unsigned char *h)
{
    unsigned sum = 0;
    memset(h + 148, ' ', 8);
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
}

/* A ustar header; size in octal. */
static void tar_hdr(unsigned char *h, const char *name, char type, uint64_t size)
{
    memset(h, 0, 512);
    snprintf((char *)h, 100, "%s", name);
    memcpy(h + 100, "0000644", 8);
    memcpy(h + 108, "0001750", 8);
    memcpy(h + 116, "0001750", 8);
    snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
    memcpy(h + 136, "11400000000", 12);
    h[156] = (unsigned char)type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    tar_checksum(h);
}

static void tar_entry(struct buf *t, const char *name, char type, const void *d, size_t n)
{
    unsigned char h[512];
    tar_hdr(h, name, type, n);
    buf_add(t, h, 512);
    buf_add(t, d, n);
    buf_add(t, NULL, (512 - n % 512) % 512);
}

static void tar_end(struct buf *t)
{
    buf_add(t, NULL, 1024);
}

static struct buf gzip_buf(const unsigned char *p, size_t n, int level)
{
    struct buf g = { 0 };
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    g.cap = deflateBound(&zs, n) + 64;
    g.p = malloc(g.cap);
    zs.next_in = (unsigned char *)p;
    zs.avail_in = (uInt)n;
    zs.next_out = g.p;
    zs.avail_out = (uInt)g.cap;
    deflate(&zs, Z_FINISH);
    g.n = g.cap - zs.avail_out;
    deflateEnd(&zs);
    return g;
}

static struct buf gunzip_file(const char *path)
{
    struct buf t = { 0 };
    size_t n;
    unsigned char *g = fx_read(path, &n), tmp[65536];
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    inflateInit2(&zs, 16 + MAX_WBITS);
    zs.next_in = g;
    zs.avail_in = (uInt)n;
    int rc;
    do {
        zs.next_out = tmp;
        zs.avail_out = sizeof tmp;
        rc = inflate(&zs, Z_NO_FLUSH);
        buf_add(&t, tmp, sizeof tmp - zs.avail_out);
    } while (rc == Z_OK);
    inflateEnd(&zs);
    free(g);
    return t;
}

/* ---- Feeding ---- */

/* Extract gz (n bytes) in chunks (chunk 0: random sizes from seed) for members m.
 * Returns the first failing status; commits on success. */
static enum cact_status run(const unsigned char *gz, size_t n, size_t chunk, uint64_t seed,
                          const struct cact_archive_member *m, int nm, struct cact_err *err)
{
    struct cact_archive *a = NULL;
    enum cact_status st = cact_archive_new(&a, m, nm, err);
    size_t pos = 0;

    while (st == CACT_OK && pos < n) {
        size_t k = chunk ? chunk : 1 + fx_rand(&seed) % 20000;
        if (k > n - pos)
            k = n - pos;
        st = cact_archive_feed(a, gz + pos, k, err);
        pos += k;
    }
    if (st == CACT_OK)
        st = cact_archive_finish(a, err);
    if (st == CACT_OK)
        st = cact_archive_commit(a, err);
    cact_archive_free(a);
    return st;
}

static struct fx_set set;
static struct cact_archive_member mem[7];
static char names[7][128];

static void members_all(void)
{
    for (int i = 0; i < 7; i++) {
        snprintf(names[i], sizeof names[i], "cifar-10-batches-bin/%s", fx_c10_files[i]);
        mem[i] = (struct cact_archive_member){ names[i], strdup(fx_path(out, fx_c10_files[i])),
                                          set.md5[i], 0 };
    }
}

static void clear_out(void)
{
    fx_rmrf(out);
    mkdir(out, 0777);
}

static int out_matches_src(int nm)
{
    for (int i = 0; i < nm; i++)
        if (!fx_same_file(mem[i].dest, fx_path(src, fx_c10_files[i])))
            return 0;
    return 1;
}

/* ---- Tests ---- */

static void test_fixture_formats(void)
{
    static const char *const fmts[] = { "--format gnu", "--format gnu --long-name",
                                        "--format pax --long-name", "--format ustar" };
    struct cact_err err;
    for (size_t f = 0; f < sizeof fmts / sizeof *fmts; f++) {
        const char *gzp = fx_path(dir, "fmt.tar.gz");
        size_t n;
        CHECK(fx_pack(gzp, src, fmts[f]) == 0);
        unsigned char *gz = fx_read(gzp, &n);
        static const size_t chunks[] = { 0, 1, 7, 512, 65536, 1 << 24 };
        for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
            clear_out();
            enum cact_status st = run(gz, n, chunks[c], 42 + c, mem, 7, &err);
            CHECK_MSG(st == CACT_OK, "%s chunk %zu: %s", fmts[f], chunks[c], err.msg);
            CHECK_MSG(out_matches_src(7), "%s chunk %zu", fmts[f], chunks[c]);
            CHECK_EQ_INT(fx_count(out, ""), 7); /* nothing but the members */
        }
        free(gz);
    }
}

static void test_subset_and_digests(void)
{
    struct cact_err err;
    size_t n;
    const char *gzp = fx_path(dir, "a.tar.gz");
    unsigned char *gz;
    struct cact_archive *a = NULL;

    CHECK(fx_pack(gzp, src, "") == 0);
    gz = fx_read(gzp, &n);

    /* Only the test batch: nothing else is written. */
    clear_out();
    CHECK_EQ_INT(run(gz, n, 4096, 0, mem, 1, &err), CACT_OK);
    CHECK_EQ_INT(fx_count(out, ""), 1);
    CHECK(fx_same_file(mem[0].dest, fx_path(src, "test_batch.bin")));

    /* Digest-only members (dest NULL) write nothing; MD5 and size are reported. */
    clear_out();
    struct cact_archive_member m = { "./cifar-10-batches-bin/test_batch.bin", NULL, NULL, 0 };
    m.name = "cifar-10-batches-bin/test_batch.bin";
    CHECK_EQ_INT(cact_archive_new(&a, &m, 1, &err), CACT_OK);
    CHECK_EQ_INT(cact_archive_feed(a, gz, n, &err), CACT_OK);
    CHECK(cact_archive_stream_done(a));
    CHECK_EQ_INT(cact_archive_bytes_in(a), n);
    CHECK_EQ_INT(cact_archive_finish(a, &err), CACT_OK);
    CHECK(cact_archive_member_md5(a, 0) && strcmp(cact_archive_member_md5(a, 0), set.md5[0]) == 0);
    CHECK_EQ_INT(cact_archive_member_size(a, 0), 20 * 3073);
    CHECK_EQ_INT(cact_archive_commit(a, &err), CACT_OK);
    cact_archive_free(a);
    CHECK_EQ_INT(fx_count(out, ""), 0);

    /* A wrong expected MD5: CACT_ERR_CHECKSUM naming both values; nothing left. */
    clear_out();
    struct cact_archive_member bad[2] = { mem[1], mem[0] };
    bad[1].md5 = "0123456789abcdef0123456789abcdef";
    CHECK_EQ_INT(run(gz, n, 10000, 0, bad, 2, &err), CACT_ERR_CHECKSUM);
    CHECK_MSG(strstr(err.msg, set.md5[0]) && strstr(err.msg, bad[1].md5), "%s", err.msg);
    CHECK_MSG(strstr(err.msg, "test_batch.bin") != NULL, "%s", err.msg);
    CHECK_EQ_INT(fx_count(out, ""), 0);

    /* A member the archive lacks. */
    clear_out();
    struct cact_archive_member ghost[2] = { mem[0], { "cifar-10-batches-bin/ghost.bin",
                                                  fx_path(out, "ghost.bin"), NULL, 0 } };
    CHECK_EQ_INT(run(gz, n, 0, 3, ghost, 2, &err), CACT_ERR_FORMAT);
    CHECK_MSG(strstr(err.msg, "ghost.bin") != NULL, "%s", err.msg);
    CHECK_EQ_INT(fx_count(out, ""), 0);

    /* Bytes after the gzip stream. */
    clear_out();
    unsigned char *more = malloc(n + 3);
    memcpy(more, gz, n);
    memcpy(more + n, "abc", 3);
    CHECK_EQ_INT(run(more, n + 3, 0, 5, mem, 7, &err), CACT_ERR_FORMAT);
    CHECK_MSG(strstr(err.msg, "after the end") != NULL, "%s", err.msg);
    CHECK_EQ_INT(fx_count(out, ""), 0);
    free(more);

    /* Usage errors. */
    CHECK_EQ_INT(cact_archive_new(&a, mem, 0, &err), CACT_ERR_USAGE);
    CHECK_EQ_INT(cact_archive_new(&a, mem, CACT_ARCHIVE_MAX_MEMBERS + 1, &err), CACT_ERR_USAGE);
    cact_archive_free(NULL);
    free(gz);
}

/* Hand-made tars: what the reader must accept and refuse. */
static void test_crafted(void)
{
    struct cact_err err;
    const char *nm = "cifar-10-batches-bin/test_batch.bin";
    static const char data[] = "0123456789 some member data\n";
    char md5[33];
    struct cact_archive_member m;
    unsigned char h[512];

    fx_digest(EVP_md5(), data, sizeof data - 1, md5);
    m = (struct cact_archive_member){ nm, fx_path(out, "t.bin"), md5, 0 };

/* TRY_MSG also requires err.msg to contain frag, so a case fails for the reason its
 * name says and not for another one (a corrupt name would also fail, as "no member"). */
#define TRY(expect, why, build) TRY_MSG(expect, why, "", build)
#define TRY_MSG(expect, why, frag, build)                                         \
    do {                                                                          \
        struct buf t = { 0 };                                                     \
        build;                                                                    \
        struct buf g = gzip_buf(t.p, t.n, 6);                                     \
        clear_out();                                                              \
        cact_err_clear(&err);                                                     \
        enum cact_status st_ = run(g.p, g.n, 0, 9, &m, 1, &err);                    \
        CHECK_MSG(st_ == (expect), "%s: status %d (%s)", why, (int)st_, err.msg); \
        CHECK_MSG(strstr(err.msg, frag) != NULL, "%s: message '%s' lacks '%s'", why,  \
                  err.msg, frag);                                                 \
        if (getenv("TEST_ARCHIVE_SHOW"))                                          \
            fprintf(stderr, "%s -> %s\n", why, err.msg);                          \
        CHECK_MSG(fx_count(out, ".tmp.") == 0, "%s: temporaries left", why);      \
        free(t.p);                                                                \
        free(g.p);                                                                \
    } while (0)

    TRY(CACT_OK, "plain", { tar_entry(&t, nm, '0', data, sizeof data - 1); tar_end(&t); });
    TRY(CACT_OK, "./ prefix and NUL type",
        { tar_entry(&t, "./cifar-10-batches-bin/test_batch.bin", '\0', data, sizeof data - 1);
          tar_end(&t); });
    TRY(CACT_OK, "no end blocks", { tar_entry(&t, nm, '0', data, sizeof data - 1); });
    TRY(CACT_OK, "ustar prefix field", {
        tar_hdr(h, "test_batch.bin", '0', sizeof data - 1);
        memcpy(h + 345, "cifar-10-batches-bin", 20);
        tar_checksum(h);
        buf_add(&t, h, 512);
        buf_add(&t, data, sizeof data - 1);
        buf_add(&t, NULL, 512 - (sizeof data - 1));
        tar_end(&t);
    });
    TRY(CACT_OK, "GNU base-256 size", {
        tar_hdr(h, nm, '0', 0);
        memset(h + 124, 0, 12);
        h[124] = 0x80;
        h[135] = (unsigned char)(sizeof data - 1);
        tar_checksum(h);
        buf_add(&t, h, 512);
        buf_add(&t, data, sizeof data - 1);
        buf_add(&t, NULL, 512 - (sizeof data - 1));
        tar_end(&t);
    });
    TRY(CACT_OK, "GNU long name gives the real name", {
        tar_entry(&t, "././@LongLink", 'L', nm, strlen(nm) + 1);
        tar_entry(&t, "cifar-10-batches-bin/truncated-name", '0', data, sizeof data - 1);
        tar_end(&t);
    });
    TRY_MSG(CACT_ERR_FORMAT, "long name renames the member away", "no member", {
        const char *other = "cifar-10-batches-bin/other.bin";
        tar_entry(&t, "././@LongLink", 'L', other, strlen(other) + 1);
        tar_entry(&t, nm, '0', data, sizeof data - 1);
        tar_end(&t);
    });
    TRY(CACT_OK, "pax path record", {
        char rec[128];
        int len = (int)strlen(nm) + 9; /* "NN path=" + name + "\n" */
        snprintf(rec, sizeof rec, "%d path=%s\n", len, nm);
        CHECK_EQ_INT((int)strlen(rec), len);
        tar_entry(&t, "PaxHeaders/x", 'x', rec, strlen(rec));
        tar_entry(&t, "short", '0', data, sizeof data - 1);
        tar_end(&t);
    });
    TRY(CACT_OK, "malformed pax and global headers are skipped", {
        tar_entry(&t, "g", 'g', "99 nonsense", 11);
        tar_entry(&t, "x", 'x', "5 a=b\n999999999999999999999 path=x\n", 35);
        tar_entry(&t, nm, '0', data, sizeof data - 1);
        tar_end(&t);
    });
    TRY_MSG(CACT_ERR_FORMAT, "over-long name matches nothing", "no member", {
        static char longname[3000];
        memset(longname, 'a', sizeof longname - 1);
        tar_entry(&t, "././@LongLink", 'L', longname, sizeof longname);
        tar_entry(&t, nm, '0', data, sizeof data - 1);
        tar_end(&t);
    });
    TRY_MSG(CACT_ERR_FORMAT, "huge long-name payload is skipped, not buffered", "no member", {
        static char big[20000];
        memset(big, 'b', sizeof big);
        tar_entry(&t, "././@LongLink", 'L', big, sizeof big);
        tar_entry(&t, nm, '0', data, sizeof data - 1);
        tar_end(&t);
    });
    TRY(CACT_ERR_FORMAT, "a symlink is never a member", {
        tar_entry(&t, nm, '2', NULL, 0);
        tar_end(&t);
    });
    TRY_MSG(CACT_ERR_FORMAT, "a directory is never a member", "no member", {
        tar_entry(&t, nm, '5', NULL, 0);
        tar_end(&t);
    });
    TRY_MSG(CACT_ERR_FORMAT, "path tricks do not match", "no member", {
        tar_entry(&t, "cifar-10-batches-bin/../cifar-10-batches-bin/test_batch.bin", '0',
                  data, sizeof data - 1);
        tar_entry(&t, "/cifar-10-batches-bin/test_batch.bin", '0', data, sizeof data - 1);
        tar_end(&t);
    });
    TRY_MSG(CACT_ERR_FORMAT, "duplicate member", "twice", {
        tar_entry(&t, nm, '0', data, sizeof data - 1);
        tar_entry(&t, nm, '0', data, sizeof data - 1);
        tar_end(&t);
    });
    TRY_MSG(CACT_ERR_FORMAT, "bad header checksum", "checksum", {
        tar_hdr(h, nm, '0', sizeof data - 1);
        h[136] ^= 1; /* mtime: outside the name, so only the checksum can catch it */
        buf_add(&t, h, 512);
        buf_add(&t, data, sizeof data - 1);
        tar_end(&t);
    });
    TRY_MSG(CACT_ERR_FORMAT, "garbage in the size field", "size field", {
        tar_hdr(h, nm, '0', sizeof data - 1);
        h[126] = 'x';
        tar_checksum(h);
        buf_add(&t, h, 512);
        tar_end(&t);
    });
    TRY_MSG(CACT_ERR_FORMAT, "negative base-256 size", "size field", {
        tar_hdr(h, nm, '0', 0);
        memset(h + 124, 0xff, 12);
        tar_checksum(h);
        buf_add(&t, h, 512);
        tar_end(&t);
    });
    TRY(CACT_ERR_FORMAT, "member larger than the cap", {
        tar_hdr(h, nm, '0', 0);
        memset(h + 124, 0, 12);
        h[124] = 0x80;
        h[130] = 1; /* 2^40 */
        tar_checksum(h);
        buf_add(&t, h, 512);
        tar_end(&t);
    });
    TRY_MSG(CACT_ERR_FORMAT, "member cut short by the end of the stream", "truncated", {
        tar_hdr(h, nm, '0', 100000);
        buf_add(&t, h, 512);
        buf_add(&t, data, sizeof data - 1);
    });
    TRY_MSG(CACT_ERR_CHECKSUM, "member with other content", "MD5", {
        tar_entry(&t, nm, '0', "x", 1);
        tar_end(&t);
    });
    TRY_MSG(CACT_ERR_FORMAT, "zero block ends the archive before the member", "no member", {
        buf_add(&t, NULL, 512);
        tar_entry(&t, nm, '0', data, sizeof data - 1);
    });
#undef TRY

    /* Not gzip at all. */
    clear_out();
    CHECK_EQ_INT(run((const unsigned char *)"hello, not gzip", 15, 0, 1, &m, 1, &err),
                 CACT_ERR_FORMAT);
    CHECK_EQ_INT(run((const unsigned char *)"", 0, 0, 1, &m, 1, &err), CACT_ERR_FORMAT);
    CHECK_MSG(strstr(err.msg, "truncated") != NULL, "%s", err.msg);
}

/* Truncated and corrupted streams: always a clean failure (or, for a harmless flip, a
 * verified success), never a crash, never a temporary left behind. */
static void test_damage(void)
{
    struct cact_err err;
    size_t n;
    char gzp[4096];
    snprintf(gzp, sizeof gzp, "%s/d.tar.gz", dir);
    CHECK(fx_pack(gzp, src, "--level 1") == 0);
    unsigned char *gz = fx_read(gzp, &n), *bad = malloc(n);
    uint64_t seed = 7;
    int ok = 0, failed = 0;

    for (size_t cut = 0; cut < n; cut += n / 97 + 1) {
        clear_out();
        enum cact_status st = run(gz, cut, 0, cut, mem, 7, &err);
        CHECK_MSG(st == CACT_ERR_FORMAT || st == CACT_ERR_CHECKSUM, "cut %zu: %d", cut, (int)st);
        CHECK_EQ_INT(fx_count(out, ""), 0);
    }
    for (size_t back = 1; back <= 9; back++) {
        clear_out();
        CHECK_EQ_INT(run(gz, n - back, 0, back, mem, 7, &err), CACT_ERR_FORMAT);
        CHECK_EQ_INT(fx_count(out, ""), 0);
    }
    for (int trial = 0; trial < 150; trial++) {
        memcpy(bad, gz, n);
        int flips = 1 + (int)(fx_rand(&seed) % 3);
        for (int f = 0; f < flips; f++)
            bad[fx_rand(&seed) % n] ^= (unsigned char)(1 + fx_rand(&seed) % 255);
        clear_out();
        enum cact_status st = run(bad, n, 0, (uint64_t)trial, mem, 7, &err);
        if (st == CACT_OK) {
            ok++;
            CHECK(out_matches_src(7));
        } else {
            failed++;
            CHECK_MSG(st == CACT_ERR_FORMAT || st == CACT_ERR_CHECKSUM, "flip: %d %s", (int)st,
                      err.msg);
            CHECK_EQ_INT(fx_count(out, ""), 0);
        }
    }
    CHECK(failed > 100); /* gzip CRC catches nearly all of them */
    free(bad);

    /* Damage inside the tar, re-compressed so gzip's CRC cannot catch it: only the tar
     * reader and the member digests stand between us and bad data. */
    struct buf tar = gunzip_file(gzp);
    CHECK(tar.n > 6 * 20 * 3073);
    unsigned char *t2 = malloc(tar.n);
    for (int trial = 0; trial < 200; trial++) {
        memcpy(t2, tar.p, tar.n);
        size_t at;
        if (trial % 2) /* aim at a header: the first block or the one after a member */
            at = (trial % 4 == 1 ? 0 : 512 * 3) + fx_rand(&seed) % 512;
        else
            at = fx_rand(&seed) % tar.n;
        t2[at] ^= (unsigned char)(1 + fx_rand(&seed) % 255);
        struct buf g = gzip_buf(t2, tar.n, 1);
        clear_out();
        enum cact_status st = run(g.p, g.n, 0, (uint64_t)trial, mem, 7, &err);
        if (st == CACT_OK)
            CHECK(out_matches_src(7));
        else
            CHECK_EQ_INT(fx_count(out, ""), 0);
        free(g.p);
    }
    /* Random bytes, compressed and not. */
    for (int trial = 0; trial < 50; trial++) {
        size_t len = 1 + fx_rand(&seed) % 5000;
        for (size_t i = 0; i < len; i++)
            t2[i] = (unsigned char)fx_rand(&seed);
        struct buf g = gzip_buf(t2, len, 1);
        clear_out();
        CHECK(run(g.p, g.n, 0, 1, mem, 7, &err) != CACT_OK);
        CHECK(run(t2, len, 0, 1, mem, 7, &err) != CACT_OK);
        CHECK_EQ_INT(fx_count(out, ""), 0);
        free(g.p);
    }
    printf("byte flips: %d verified ok, %d failed cleanly\n", ok, failed);
    free(t2);
    free(tar.p);
    free(gz);
}

/* An unwritable destination is an I/O error naming the file. */
static void test_io_error(void)
{
    struct cact_err err;
    size_t n;
    const char *gzp = fx_path(dir, "a.tar.gz");
    unsigned char *gz = fx_read(gzp, &n);
    struct cact_archive_member m = mem[0];
    m.dest = "/nonexistent-dir/test_batch.bin";
    CHECK_EQ_INT(run(gz, n, 0, 1, &m, 1, &err), CACT_ERR_IO);
    CHECK_MSG(strstr(err.msg, "/nonexistent-dir/test_batch.bin") != NULL, "%s", err.msg);
    free(gz);
}

int main(void)
{
    dir = fx_tmpdir();
    out = strdup(fx_path(dir, "out"));
    src = strdup(fx_path(dir, "src"));
    mkdir(src, 0777);
    mkdir(out, 0777);
    fx_make_cifar10(src, 20, 1234, &set);
    members_all();

    test_fixture_formats();
    test_subset_and_digests();
    test_crafted();
    test_damage();
    test_io_error();

    fx_rmrf(dir);
    return check_summary("test_archive");
}
