/* bench_extract.c - throughput of the download pipeline on a local .tar.gz, in MB/s
 * of compressed input (best of three runs each):
 *   inflate      zlib inflate alone, output discarded (the floor for any extractor)
 *   extractor    cact_archive_feed: inflate + tar reader + MD5, members not written
 *   fetch        cact_fetch_ensure with a file:// URL: libcurl read + SHA-256 + inflate +
 *                tar + MD5 + writing the members, into a fresh data directory
 * usage: bench_extract ARCHIVE.tar.gz WORKDIR
 * The archive must hold the real cifar-10-batches-bin/test_batch.bin (the official
 * MD5 table is used); tools/bench_extract.sh builds one and compares gzip | tar.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "archive.h"
#include "fetch.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    unsigned char *b = NULL;
    if (!f || fstat(fileno(f), &sb) != 0)
        goto out;
    b = malloc((size_t)sb.st_size + 1);
    if (b && fread(b, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
        free(b);
        b = NULL;
    }
    *n = (size_t)sb.st_size;
out:
    if (f)
        fclose(f);
    return b;
}

static double bench_inflate(const unsigned char *gz, size_t n)
{
    static unsigned char out[1 << 16];
    z_stream zs;
    double t0 = now();
    int rc;

    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return -1;
    zs.next_in = (unsigned char *)gz;
    zs.avail_in = (uInt)n;
    do {
        zs.next_out = out;
        zs.avail_out = sizeof out;
        rc = inflate(&zs, Z_NO_FLUSH);
    } while (rc == Z_OK);
    inflateEnd(&zs);
    return rc == Z_STREAM_END ? now() - t0 : -1;
}

static double bench_extractor(const unsigned char *gz, size_t n)
{
    struct cact_archive_member m = {"cifar-10-batches-bin/test_batch.bin", NULL,
                                    "803d5f7f4d78ea53de84dbe85f74fb6d", 30730000};
    struct cact_archive *a = NULL;
    struct cact_err err;
    double t0 = now();
    enum cact_status st = cact_archive_new(&a, &m, 1, &err);

    for (size_t pos = 0; st == CACT_OK && pos < n; pos += 16384)
        st = cact_archive_feed(a, gz + pos, n - pos < 16384 ? n - pos : 16384, &err);
    if (st == CACT_OK)
        st = cact_archive_finish(a, &err);
    cact_archive_free(a);
    if (st != CACT_OK)
        fprintf(stderr, "extractor: %s\n", err.msg);
    return st == CACT_OK ? now() - t0 : -1;
}

static double bench_fetch(const char *archive, const char *work, int run)
{
    char url[4200], data[4200], cmd[8600];
    struct cact_fetch_opts o;
    struct cact_err err;
    double t0;

    snprintf(url, sizeof url, "file://%s", archive);
    snprintf(data, sizeof data, "%s/data%d", work, run);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", data);
    if (system(cmd) != 0)
        return -1;
    cact_fetch_opts_default(&o);
    o.data_dir = data;
    o.url = url;
    t0 = now();
    if (cact_fetch_ensure(&o, &err) != CACT_OK) {
        fprintf(stderr, "fetch: %s\n", err.msg);
        return -1;
    }
    t0 = now() - t0;
    if (system(cmd) != 0)
        return -1;
    return t0;
}

int main(int argc, char **argv)
{
    size_t n = 0;
    unsigned char *gz;
    double best[3] = { 1e9, 1e9, 1e9 };
    static const char *const what[3] = {
        "inflate only (zlib)", "extractor: inflate+tar+MD5, no writes",
        "cact_fetch_ensure file://: curl+SHA-256+inflate+tar+MD5+write",
    };

    if (argc != 3) {
        fprintf(stderr, "usage: bench_extract ARCHIVE.tar.gz WORKDIR\n");
        return 2;
    }
    if (argv[1][0] != '/') {
        fprintf(stderr, "bench_extract: give an absolute archive path\n");
        return 2;
    }
    gz = slurp(argv[1], &n);
    if (!gz) {
        fprintf(stderr, "bench_extract: cannot read %s\n", argv[1]);
        return 1;
    }
    for (int r = 0; r < 3; r++) {
        double t[3] = { bench_inflate(gz, n), bench_extractor(gz, n),
                        bench_fetch(argv[1], argv[2], r) };
        for (int k = 0; k < 3; k++) {
            if (t[k] < 0)
                return 1;
            if (t[k] < best[k])
                best[k] = t[k];
        }
    }
    for (int k = 0; k < 3; k++)
        printf("%-58s %7.1f MB/s  (%.3f s for %.1f MB)\n", what[k], (double)n / best[k] / 1e6,
               best[k], (double)n / 1e6);
    free(gz);
    return 0;
}
