/* pngw_bench.c - PNG size and speed of deflate settings (zlib, ISA-L) on the real grids.
 *
 * Renders the whole CIFAR-10 test set as the CLI does for `--fn sigmoid`: 157 batches
 * of 64 (the last has 16), input and output torchvision grids (314 PNGs of 274x274 and
 * 274x70), then encodes all of them with each candidate setting and prints total bytes,
 * the ratio to PIL's total (pass it as argv[2]) and throughput in raw RGB MB/s (best
 * of REPS runs, by CPU time of this single thread, so that other load on the machine
 * does not count; best wall time too). Optional argv[3] picks one candidate by index,
 * argv[4] sets REPS.
 *
 *   cc -O2 -g -std=c11 -pthread -D_DEFAULT_SOURCE -ffp-contract=off -Isrc \
 *      -I/usr/include/stb tools/pngw_bench.c src/grid.c src/ca.c -lisal -lz -lm \
 *      -o build/pngw_bench
 *   build/pngw_bench ../shared/cifar-10-batches-bin/test_batch.bin 36794428
 *
 * Not part of the library or `make test`: it #includes src/pngw.c to reach the
 * file-local pngw_encode_zset. The sigmoid here is 1/(1+expf(-x)), close enough
 * to torch's for measuring compression.
 */
#include "../src/pngw.c"

#include <math.h>
#include <stdio.h>
#include <time.h>

#include "grid.h"

#define N_IMG 10000
#define BATCH 64
#define REC 3073

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double now(void) { return clock_s(CLOCK_MONOTONIC); }
static double cpu_now(void) { return clock_s(CLOCK_THREAD_CPUTIME_ID); }

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "../shared/cifar-10-batches-bin/test_batch.bin";
    double pil = argc > 2 ? atof(argv[2]) : 0;
    static uint8_t rec[N_IMG * REC];
    static uint8_t px[N_IMG * 3072];
    uint8_t lut[3][256];
    struct cact_grid_opts o;
    int n_grids = 0;
    uint8_t *grids[2 * (N_IMG / BATCH + 1)];
    int gw[2 * (N_IMG / BATCH + 1)], gh[2 * (N_IMG / BATCH + 1)];
    double raw = 0;
    FILE *f = fopen(path, "rb");

    if (!f || fread(rec, 1, sizeof rec, f) != sizeof rec) {
        fprintf(stderr, "cannot read %s\n", path);
        return 1;
    }
    fclose(f);
    for (int i = 0; i < N_IMG; i++)
        memcpy(px + (size_t)i * 3072, rec + (size_t)i * REC + 1, 3072);
    for (int b = 0; b < 256; b++) {
        float x = (float)b / 255.0f;
        float y = 1.0f / (1.0f + expf(-x));
        for (int c = 0; c < 3; c++)
            lut[c][b] = cact_grid_quantize(CACT_GRID_TORCHVISION, y);
    }
    cact_grid_opts_default(&o);
    for (int k = 0; k < N_IMG; k += BATCH) {
        size_t n = N_IMG - k < BATCH ? N_IMG - k : BATCH;
        for (int pass = 0; pass < 2; pass++) {
            int w, h;
            cact_grid_size(&o, n, &w, &h);
            grids[n_grids] = malloc((size_t)3 * w * h);
            cact_grid_render_lut(&o, px + (size_t)k * 3072, n, pass ? (const uint8_t(*)[256])lut : NULL,
                            grids[n_grids]);
            gw[n_grids] = w;
            gh[n_grids] = h;
            raw += 3.0 * w * h;
            n_grids++;
        }
    }
    static const struct { const char *name; struct pngw_zset z; } cand[] = {
        { "L0 store", { PNGW_ZLIB, 0, Z_DEFAULT_STRATEGY, 9, 0 } },
        { "isal L0", { PNGW_ISAL, 0, 0, 0, 0 } },
        { "isal L1 hist1", { PNGW_ISAL, 1, 0, 0, 1 } },
        { "isal L1 hist2 (default)", { PNGW_ISAL, 1, 0, 0, 2 } },
        { "isal L1 hist3", { PNGW_ISAL, 1, 0, 0, 3 } },
        { "isal L1 hist4", { PNGW_ISAL, 1, 0, 0, 4 } },
        { "isal L1 hist8", { PNGW_ISAL, 1, 0, 0, 8 } },
        { "isal L1 hist15", { PNGW_ISAL, 1, 0, 0, 15 } },
        { "isal L2 hist2", { PNGW_ISAL, 2, 0, 0, 2 } },
        { "isal L3 hist1", { PNGW_ISAL, 3, 0, 0, 1 } },
        { "isal L3 hist2", { PNGW_ISAL, 3, 0, 0, 2 } },
        { "isal L3 hist15", { PNGW_ISAL, 3, 0, 0, 15 } },
        { "L1 huffman m9", { PNGW_ZLIB, 1, Z_HUFFMAN_ONLY, 9, 0 } },
        { "L1 rle m9", { PNGW_ZLIB, 1, Z_RLE, 9, 0 } },
        { "L1 rle m8", { PNGW_ZLIB, 1, Z_RLE, 8, 0 } },
        { "L1 rle m6", { PNGW_ZLIB, 1, Z_RLE, 6, 0 } },
        { "L1 default m9", { PNGW_ZLIB, 1, Z_DEFAULT_STRATEGY, 9, 0 } },
        { "L2 default m9", { PNGW_ZLIB, 2, Z_DEFAULT_STRATEGY, 9, 0 } },
        { "L3 default m9", { PNGW_ZLIB, 3, Z_DEFAULT_STRATEGY, 9, 0 } },
        { "L4 default m9", { PNGW_ZLIB, 4, Z_DEFAULT_STRATEGY, 9, 0 } },
        { "L4 filtered m9", { PNGW_ZLIB, 4, Z_FILTERED, 9, 0 } },
        { "L5 default m9", { PNGW_ZLIB, 5, Z_DEFAULT_STRATEGY, 9, 0 } },
        { "L5 filtered m9", { PNGW_ZLIB, 5, Z_FILTERED, 9, 0 } },
        { "L6 default m8 (PIL)", { PNGW_ZLIB, 6, Z_DEFAULT_STRATEGY, 8, 0 } },
        { "L6 default m9", { PNGW_ZLIB, 6, Z_DEFAULT_STRATEGY, 9, 0 } },
        { "L6 filtered m9", { PNGW_ZLIB, 6, Z_FILTERED, 9, 0 } },
        { "L7 filtered m9", { PNGW_ZLIB, 7, Z_FILTERED, 9, 0 } },
        { "L8 filtered m9", { PNGW_ZLIB, 8, Z_FILTERED, 9, 0 } },
        { "L9 default m9", { PNGW_ZLIB, 9, Z_DEFAULT_STRATEGY, 9, 0 } },
        { "L9 filtered m9", { PNGW_ZLIB, 9, Z_FILTERED, 9, 0 } },
    };
    int only = argc > 3 ? atoi(argv[3]) : -1;
    int reps = argc > 4 ? atoi(argv[4]) : 3;
    printf("%d grids, %.1f MB raw RGB\n", n_grids, raw / 1e6);
    {
        /* cact_grid_render_lut itself, for scale: all 314 grids again, best of 5. */
        double best = 1e9;
        for (int rep = 0; rep < 5; rep++) {
            double t0 = now();
            int g = 0;
            for (int k = 0; k < N_IMG; k += BATCH, g += 2) {
                size_t n = N_IMG - k < BATCH ? N_IMG - k : BATCH;
                cact_grid_render_lut(&o, px + (size_t)k * 3072, n, NULL, grids[g]);
                cact_grid_render_lut(&o, px + (size_t)k * 3072, n, (const uint8_t(*)[256])lut,
                                grids[g + 1]);
            }
            if (now() - t0 < best)
                best = now() - t0;
        }
        printf("cact_grid_render_lut: %.4f s for %d grids (%.0f MB/s)\n", best, n_grids,
               raw / 1e6 / best);
    }
    for (size_t c = 0; c < sizeof cand / sizeof cand[0]; c++) {
        double t0, c0, best = 1e9, best_cpu = 1e9, total = 0;
        if (only >= 0 && (int)c != only)
            continue;
        for (int rep = 0; rep < reps; rep++) {
            total = 0;
            t0 = now();
            c0 = cpu_now();
            for (int g = 0; g < n_grids; g++) {
                unsigned char *png;
                size_t len;
                if (pngw_encode_zset(grids[g], gw[g], gh[g], &cand[c].z, &png, &len, NULL)) {
                    fprintf(stderr, "encode failed\n");
                    return 1;
                }
                total += len;
                free(png);
            }
            double t = now() - t0, tc = cpu_now() - c0;
            if (t < best)
                best = t;
            if (tc < best_cpu)
                best_cpu = tc;
        }
        printf("%-22s %10.0f bytes  %+6.2f%% vs PIL  cpu %6.3f s  %6.1f MB/s  (wall %6.3f s)\n",
               cand[c].name, total, pil > 0 ? 100.0 * (total / pil - 1) : 0.0, best_cpu,
               raw / 1e6 / best_cpu, best);
    }
    for (int g = 0; g < n_grids; g++)
        free(grids[g]);
    return 0;
}
