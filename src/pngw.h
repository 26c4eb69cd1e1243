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
 *         setting within 0.2% of PIL's size.
 *   6-9   zlib at that level, Z_FILTERED: a little smaller, far slower.
 * Sizes, speeds and the settings that were measured and rejected: BENCHMARKS.md,
 * "PNG encoding alone". */
#define CACT_PNGW_DEFAULT_LEVEL 1

/* Encode rgb ([h][w][3]) at PNG level 0..9 (table above) into a malloc'd buffer the
 * caller frees. CACT_ERR_USAGE for a level outside 0..9, w or h < 1, or more than 2^30
 * bytes of filtered data ((3w+1)*h; stb counts in int); *out stays NULL. CACT_ERR_NOMEM
 * if memory, zlib or ISA-L fails. Thread-safe: concurrent calls with different levels
 * do not interact. */
enum cact_status cact_pngw_encode(const uint8_t *rgb, int w, int h, int level,
                           unsigned char **out, size_t *out_len, struct cact_err *err);

/* Encode and write to path: the bytes go to "path.tmp.PID.N", are flushed and closed,
 * then an existing path is unlinked and the file renamed to path, so an interrupted
 * run never leaves a truncated PNG (cact_write_output says why not rename over it). On
 * failure the temporary file is removed and err names the path. Thread-safe. If bytes
 * is not NULL, it receives the file's size on success (0 otherwise). */
enum cact_status cact_pngw_write_atomic(const char *path, const uint8_t *rgb, int w, int h,
                                 int level, size_t *bytes, struct cact_err *err);

#endif
