/* pngw.h - write 8-bit RGB images as PNG: stb_image_write frames, pngw.c picks each
 * row's filter, ISA-L (default levels) or zlib deflates. ("pngw", not "png": libpng
 * owns the png_ prefix.)
 */
#ifndef CACT_PNGW_H
#define CACT_PNGW_H

#include <stddef.h>
#include <stdint.h>

#include "ca.h"

/* PNG levels (--png-level) and the deflate settings they select. Every level keeps the
 * per-row adaptive filter (stb's and libpng's heuristic: min sum of |filtered bytes|).
 * Measured on the whole CIFAR-10 test set, input + sigmoid output grids (314 PNGs,
 * 70.4 MB of RGB; tools/pngw_bench.c, CPU time of one thread including filtering,
 * ISA-L 2.30, zlib 1.2.13, Xeon with AVX-512), against the 36,794,428 bytes
 * torchvision's save_image (PIL, zlib 6) writes:
 *
 *   level  settings                          total bytes    vs PIL    speed (1 core)
 *   0      zlib, stored (no compression)     70,497,876     +91.6%    ~840 MB/s
 *   1-5    ISA-L level 1, hist_bits 2        36,860,702     +0.18%    ~380 MB/s  (default: 1)
 *   6      zlib level 6, Z_FILTERED          36,788,878     -0.02%    ~18 MB/s
 *   7      zlib level 7, Z_FILTERED          36,677,325     -0.32%    ~15 MB/s
 *   8      zlib level 8, Z_FILTERED          36,530,441     -0.72%    ~8 MB/s
 *   9      zlib level 9, Z_FILTERED          36,469,793     -0.88%    ~5 MB/s
 *
 * Why ISA-L for the default: filtered grid rows are mostly small values with runs, so
 * the matches worth taking are short-distance ones: runs (distance 1) and repeats of
 * the previous pixel (distance 3). ISA-L's hist_bits 2 keeps matches within 4 bytes;
 * longer histories let its greedy matcher take far matches that cost more bits than
 * the literals they replace:
 *
 *   ISA-L level 1, hist_bits   1       2       3       4       8       15 (default)
 *   vs PIL                     +0.23%  +0.18%  +0.50%  +0.70%  +2.55%  +4.41%
 *
 * Its levels 2 and 3 are no smaller (+0.18%, +1.14% at hist_bits 2) and no faster; level
 * 0 is +37%. The best zlib setting at comparable size was level 1 with Z_RLE, memLevel 9:
 * 36,973,264 bytes (+0.49%) at ~100 MB/s, so ISA-L is 3.7x faster with filtering (5x on
 * deflate alone) and 0.3% smaller; with it a whole run takes about a third of the time.
 * zlib's LZ77 levels 1-5 were slower still and 2.5-6.7% larger, Z_HUFFMAN_ONLY +6.45%.
 * libdeflate (Debian 12: 1.14) was measured too: its level 1 is +3.36% (0.43 s of
 * deflate CPU where zlib Z_RLE takes 0.63 s), level 5 +1.27% at 0.96 s. ISA-L's level
 * buffer is its largest suggested size (ISAL_DEF_LVL1_EXTRA_LARGE): the smaller ones
 * were 0.03-0.2% larger and no faster.
 *
 * Where the default level's time goes in a whole run (perf, --jobs 1): ISA-L ~44%
 * (matching ~34%, Huffman coding ~7%, adler32 ~1%), filter choice ~14%, file system
 * writes ~15%, grid rendering ~6%, the rest in the runner and CRCs.
 *
 * Filter heuristics tuned for zlib's Z_RLE were measured and rejected (same data,
 * scratch program #including pngw.c; rows chosen first, then CPU of applying the
 * chosen filters + deflate, best of 9 runs interleaved so drift hits all alike; ±2% is
 * noise):
 *
 *   per-row choice                    total bytes    vs PIL    filter+deflate CPU
 *   min sum|x| (current)              36,973,264     +0.49%    (reference)
 *   sum|x| - 2 * equal-adjacent       36,973,172     +0.49%    +0.4%
 *   sum|x| - 8 * zero bytes           36,973,211     +0.49%    +1.2%
 *   sum|x| of bytes != previous one   36,973,573     +0.49%    +1.1%
 *   sum|x| + 4 * simulated RLE syms   36,973,107     +0.49%    +1.2%
 *   max equal-adjacent                38,130,916     +3.63%    +2.3%
 *   min simulated RLE symbols         39,754,744     +8.05%    -1.0%
 *   distinct byte values              37,815,687     +2.78%    within noise (*)
 *   histogram entropy                 36,973,186     +0.49%    within noise (*)
 *   trial-deflate each row alone      36,973,695     +0.49%    within noise (*)
 *   (*) timed once, not interleaved, where identical choices varied by ±5%.
 *
 * Paeth wins 87-90% of rows under every score that stays within 1% of today's size
 * (the None and Sub rows are the grid's padding rows and the rows below them), and even
 * the trial-deflate oracle picks differently in only ~270 of 85,628 rows: natural CIFAR
 * pixels leave few runs to find (with the current choice, 85% of the input grids'
 * filtered bytes and 76% of the sigmoid grids' are literals), so the choice has little
 * to gain. Cost of the scores themselves, all 314 grids: pngw_costs 26 ms; sum|x| plus
 * an equal-adjacent count (filter each row 5 ways, then count; vectorized) 42 ms; a
 * histogram entropy ~490 ms. */
#define CACT_PNGW_DEFAULT_LEVEL 1

/* The bound on an image pngw encodes: (3w+1)*h bytes of filtered rows below 2^30 (stb counts
 * in int; this keeps that count plus deflate's overhead well inside INT_MAX). */
#define CACT_PNGW_MAX_FILTERED ((uint64_t)1 << 30)

/* 1 if a w x h image is below CACT_PNGW_MAX_FILTERED (w, h >= 1), else 0. No overflow
 * for any w, h below 2^31. */
int cact_pngw_size_ok(uint64_t w, uint64_t h);

/* Encode rgb ([h][w][3]) at PNG level 0..9 (table above) into a malloc'd buffer the
 * caller frees. CACT_ERR_USAGE for a level outside 0..9, or a size cact_pngw_size_ok
 * refuses; *out stays NULL. CACT_ERR_NOMEM if memory, zlib or ISA-L fails. Peak memory
 * is about three times the filtered size (filtered rows, deflate output, the PNG).
 * Thread-safe: concurrent calls with different levels do not interact. */
enum cact_status cact_pngw_encode(const uint8_t *rgb, int w, int h, int level,
                           unsigned char **out, size_t *out_len, struct cact_err *err);

/* Encode and write to path atomically (cact_write_atomic: a temporary name, then
 * rename over path, so path always names a complete PNG, old or new). On failure the
 * temporary file is removed and err names the path. Thread-safe. If bytes is not NULL,
 * it receives the file's size on success (0 otherwise). */
enum cact_status cact_pngw_write_atomic(const char *path, const uint8_t *rgb, int w, int h,
                                 int level, size_t *bytes, struct cact_err *err);

/* The same, for a path that must not exist yet in a directory nobody else reads
 * (cact_write_new: a run's staging directory). */
enum cact_status cact_pngw_write_new(const char *path, const uint8_t *rgb, int w, int h,
                                     int level, size_t *bytes, struct cact_err *err);

#endif
