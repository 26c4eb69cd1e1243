/* pngw.h - write 8-bit RGB images as PNG: stb_image_write frames, pngw.c picks each
 * row's filter, zlib deflates. ("pngw", not "png": libpng owns the png_ prefix.)
 */
#ifndef PNGW_H
#define PNGW_H

#include <stddef.h>
#include <stdint.h>

#include "ca.h"

/* PNG levels (--png-level) and the zlib settings they select. Every level keeps the
 * per-row adaptive filter (stb's and libpng's heuristic: min sum of |filtered bytes|)
 * and memLevel 9. Measured on the whole CIFAR-10 test set, input + sigmoid output
 * grids (314 PNGs, 70.4 MB of RGB; tools/pngw_bench.c, CPU time of one thread, zlib
 * 1.2.13, Xeon with AVX2), against the 36,794,428 bytes torchvision's save_image
 * (PIL, zlib 6) writes:
 *
 *   level  zlib settings            total bytes    vs PIL    speed (1 core)
 *   0      stored (no compression)  70,497,876     +91.6%    ~850 MB/s
 *   1-5    Z_RLE                    36,973,264     +0.49%    ~100 MB/s  (default: 1)
 *   6      level 6, Z_FILTERED      36,788,878     -0.02%    ~18 MB/s
 *   7      level 7, Z_FILTERED      36,677,325     -0.32%    ~15 MB/s
 *   8      level 8, Z_FILTERED      36,530,441     -0.72%    ~8 MB/s
 *   9      level 9, Z_FILTERED      36,469,793     -0.88%    ~5 MB/s
 *
 * Where level 1's time goes (perf): zlib ~88% (deflate_rle's run matching and symbol
 * tallying ~39%, Huffman trees and bit output ~37%, slide_hash ~8%, adler32 ~3%);
 * filter choice ~5%; copies and crc32 the rest.
 *
 * Why: filtered grid rows are mostly runs and small values, so run-length matching
 * (distance 1) finds nearly everything LZ77 does. zlib's LZ77 levels 1-5 with the
 * default strategy were both slower and 2.5-6.7% larger than Z_RLE, so levels 1-5 all
 * use Z_RLE (which has no levels); the default strategy at 6/9 is 1.6%/0.9% larger
 * than Z_FILTERED at the same speed. PIL itself encodes these grids at ~15 MB/s.
 *
 * Why not libdeflate (Debian 12: libdeflate-dev 1.14, libdeflate_zlib_compress):
 * measured on the same filtered rows (deflate CPU time only, one thread; zlib Z_RLE
 * takes 0.63 s there, +0.49%), no level is both faster than Z_RLE and within +2% of PIL:
 *
 *   libdeflate level  1       2       3       4       5       6       7       8
 *   vs PIL            +3.36%  +2.77%  +2.47%  +2.31%  +1.27%  +0.91%  +0.50%  +0.02%
 *   deflate CPU (s)   0.43    0.66    0.71    0.73    0.96    1.16    1.66    3.28
 *
 * Level 1 would cut the whole run by ~25% (0.41 -> 0.31 s wall, --jobs 2) but is
 * 2.9% larger than Z_RLE; level 5 is 1.5x slower than Z_RLE. Only at the top does it
 * win: levels 10/12 give -1.76%/-1.94% at 12/8 MB/s against zlib 9's -0.88% at 5 MB/s.
 * That does not pay for a second encoder or a dependency, so zlib stays.
 *
 * Filter heuristics tuned for Z_RLE were measured and rejected (same data, level 1,
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
#define PNGW_DEFAULT_LEVEL 1

/* Encode rgb ([h][w][3]) at PNG level 0..9 (table above) into a malloc'd buffer the
 * caller frees. CA_ERR_USAGE for a level outside 0..9, w or h < 1, or more than 2^30
 * bytes of filtered data ((3w+1)*h; stb counts in int); *out stays NULL. CA_ERR_NOMEM
 * if memory or zlib fails. Thread-safe: concurrent calls with different levels do not interact. */
enum ca_status pngw_encode(const uint8_t *rgb, int w, int h, int level,
                           unsigned char **out, size_t *out_len, struct ca_err *err);

/* Encode and write to path atomically: the bytes go to "path.tmp.PID.N", are
 * flushed and closed, then renamed over path, so an interrupted run never leaves a
 * truncated PNG. On failure the temporary file is removed and err names the path.
 * Thread-safe (uses ca_write_atomic). */
enum ca_status pngw_write_atomic(const char *path, const uint8_t *rgb, int w, int h,
                                 int level, struct ca_err *err);

#endif
