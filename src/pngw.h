/* pngw.h - write 8-bit RGB images as PNG: stb_image_write frames, pngw.c picks each
 * row's filter, ISA-L (default levels) or zlib deflates. ("pngw", not "png": libpng
 * owns the png_ prefix.)
 */
#ifndef CACT_PNGW_H
#define CACT_PNGW_H

#include <stddef.h>
#include <stdint.h>

#include "ca.h"

/* PNG levels 0..9 and the deflate settings they select; every level keeps the per-row
 * adaptive filter (stb's and libpng's heuristic: min sum of |filtered bytes|).
 *   0     zlib, stored (no compression)
 *   1-5   ISA-L level 1 with hist_bits 2 (matches within 4 bytes: runs and the previous
 *         pixel, which is what filtered image rows offer). The default: the fastest
 *         setting whose files are about as small as PIL's.
 *   6-9   zlib at that level, Z_FILTERED: a little smaller, far slower.
 * Sizes, speeds and the settings that were measured and rejected: BENCHMARKS.md,
 * "PNG encoding alone". */
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
