/* pngw.h - write 8-bit RGB images as PNG: stb_image_write frames and filters,
 * zlib deflates. ("pngw", not "png": libpng owns the png_ prefix.)
 */
#ifndef PNGW_H
#define PNGW_H

#include <stddef.h>
#include <stdint.h>

#include "ca.h"

#define PNGW_DEFAULT_LEVEL 1

/* Encode rgb ([h][w][3]) at zlib level 0..9 into a malloc'd buffer the caller frees.
 * CA_ERR_NOMEM or CA_ERR_USAGE (bad size/level) on failure. Thread-safe (uses ca_write_atomic). */
enum ca_status pngw_encode(const uint8_t *rgb, int w, int h, int level,
                           unsigned char **out, size_t *out_len, struct ca_err *err);

/* Encode and write to path atomically: the bytes go to "path.tmp.PID.N", are
 * flushed and closed, then renamed over path, so an interrupted run never leaves a
 * truncated PNG. On failure the temporary file is removed and err names the path.
 * Thread-safe (uses ca_write_atomic). */
enum ca_status pngw_write_atomic(const char *path, const uint8_t *rgb, int w, int h,
                                 int level, struct ca_err *err);

#endif
