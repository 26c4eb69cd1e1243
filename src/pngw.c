/* pngw.c - PNG encoding: stb_image_write frames the file and picks each row's filter,
 * zlib deflates.
 *
 * stb_image_write is compiled here from Debian's header (libstb-dev), privately
 * (STB_IMAGE_WRITE_STATIC), with STBIW_ZLIB_COMPRESS pointing at our zlib wrapper:
 * stb's built-in deflate is slower and writes 27-41% larger files on these grids.
 *
 * Thread safety: stb reads two globals per call (stbi_write_png_compression_level,
 * stbi_write_force_png_filter). We never change them. The level travels to
 * pngw_zlib_compress in a _Thread_local instead, so concurrent encodes with
 * different levels do not interfere.
 */
#include "pngw.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

static unsigned char *pngw_zlib_compress(unsigned char *data, int data_len, int *out_len,
                                         int quality);

#define STB_IMAGE_WRITE_STATIC
#define STBIW_ZLIB_COMPRESS pngw_zlib_compress
/* zlib's crc32 is much faster than stb's byte-at-a-time table. */
#define STBIW_CRC32(buf, len) ((unsigned int)crc32(0L, (buf), (uInt)(len)))
#define STB_IMAGE_WRITE_IMPLEMENTATION
/* Static stb leaves its file and BMP/TGA/HDR/JPG writers unused (we write files
 * atomically ourselves); nothing else warns. STBI_WRITE_NO_STDIO is not used because
 * this header version then declares stbi_write_hdr_to_func without defining it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#if defined(__GNUC__) && !defined(__clang__)
/* stb's per-row filter trials (5 filters x every byte, then sums of |byte|) are ~40%
 * of encoding time, and GCC's -O2 cost model leaves those loops scalar; vectorizing
 * them halves filtering time with the same output bytes. (clang vectorizes at -O2.) */
#pragma GCC push_options
#pragma GCC optimize("tree-vectorize")
#include <stb_image_write.h>
#pragma GCC pop_options
#else
#include <stb_image_write.h>
#endif
#pragma GCC diagnostic pop

/* ---- Levels ---- */

/* zlib settings per pngw level; see the table in pngw.h for the reasoning. */
struct pngw_zset {
    int level;    /* zlib compression level */
    int strategy; /* Z_DEFAULT_STRATEGY, Z_RLE, ... */
    int mem;      /* memLevel 1..9 */
};

static const struct pngw_zset pngw_levels[10] = {
    [0] = { 0, Z_DEFAULT_STRATEGY, 9 },
    [1] = { 1, Z_RLE, 9 }, /* Z_RLE ignores the level: 1..5 are the same encoder */
    [2] = { 1, Z_RLE, 9 },
    [3] = { 1, Z_RLE, 9 },
    [4] = { 1, Z_RLE, 9 },
    [5] = { 1, Z_RLE, 9 },
    [6] = { 6, Z_FILTERED, 9 },
    [7] = { 7, Z_FILTERED, 9 },
    [8] = { 8, Z_FILTERED, 9 },
    [9] = { 9, Z_FILTERED, 9 },
};

/* The settings of the encode running on this thread, read by pngw_zlib_compress
 * (stb's callback has no context pointer). */
static _Thread_local const struct pngw_zset *pngw_cur_zset;

/* ---- Deflate ---- */

/* stb's STBIW_ZLIB_COMPRESS hook: deflate data_len bytes into a malloc'd zlib stream
 * (stb frees it with STBIW_FREE == free). `quality` is stb's global level, which we
 * ignore in favour of pngw_cur_zset. Returns NULL on any zlib or allocation failure;
 * stb then returns NULL and pngw_encode reports it. */
static unsigned char *pngw_zlib_compress(unsigned char *data, int data_len, int *out_len,
                                         int quality)
{
    const struct pngw_zset *zs = pngw_cur_zset;
    unsigned char *buf = NULL;
    z_stream strm;
    size_t cap;
    int ok = 0, inited = 0, zr;

    (void)quality;
    memset(&strm, 0, sizeof strm); /* zalloc/zfree/opaque NULL: zlib's malloc/free */
    if (deflateInit2(&strm, zs->level, Z_DEFLATED, 15, zs->mem, zs->strategy) != Z_OK)
        goto out;
    inited = 1;
    /* deflateBound is normally enough for one Z_FINISH call, but zlib before 1.3
     * underestimates level 0 with memLevel 9 for tiny inputs, so grow if needed. */
    cap = deflateBound(&strm, (uLong)data_len) + 64;
    buf = malloc(cap);
    if (!buf)
        goto out;
    strm.next_in = data;
    strm.avail_in = (uInt)data_len;
    strm.next_out = buf;
    strm.avail_out = (uInt)cap;
    while ((zr = deflate(&strm, Z_FINISH)) != Z_STREAM_END) {
        unsigned char *bigger;
        /* Z_OK or Z_BUF_ERROR with a full buffer mean "more room"; anything else fails. */
        if ((zr != Z_OK && zr != Z_BUF_ERROR) || strm.avail_out != 0 || cap > INT_MAX / 2)
            goto out;
        bigger = realloc(buf, cap * 2);
        if (!bigger)
            goto out;
        buf = bigger;
        strm.next_out = buf + cap;
        strm.avail_out = (uInt)cap;
        cap *= 2;
    }
    if (strm.total_out > INT_MAX)
        goto out;
    *out_len = (int)strm.total_out;
    ok = 1;
out:
    if (inited)
        deflateEnd(&strm);
    if (!ok) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

/* ---- Encoding ---- */

/* pngw_encode with explicit zlib settings (tools/pngw_bench.c calls it to compare
 * settings; it #includes this file). */
static enum ca_status pngw_encode_zset(const uint8_t *rgb, int w, int h,
                                       const struct pngw_zset *zs, unsigned char **out,
                                       size_t *out_len, struct ca_err *err)
{
    unsigned char *png;
    int len = 0;

    *out = NULL;
    *out_len = 0;
    /* stb computes the filtered size (3w+1)*h in int; keep it, plus the deflate
     * overhead, well inside INT_MAX. */
    if (w < 1 || h < 1 || w > (INT_MAX / 2 - 1) / 3 || (3 * w + 1) > INT_MAX / 2 / h)
        return ca_fail(err, CA_ERR_USAGE, "bad PNG size %dx%d", w, h);
    pngw_cur_zset = zs;
    png = stbi_write_png_to_mem(rgb, 3 * w, w, h, 3, &len);
    pngw_cur_zset = NULL;
    if (!png)
        return ca_fail(err, CA_ERR_NOMEM, "out of memory encoding a %dx%d PNG", w, h);
    *out = png;
    *out_len = (size_t)len;
    return CA_OK;
}

enum ca_status pngw_encode(const uint8_t *rgb, int w, int h, int level,
                           unsigned char **out, size_t *out_len, struct ca_err *err)
{
    *out = NULL;
    *out_len = 0;
    if (level < 0 || level > 9)
        return ca_fail(err, CA_ERR_USAGE, "PNG level %d out of range 0..9", level);
    return pngw_encode_zset(rgb, w, h, &pngw_levels[level], out, out_len, err);
}

enum ca_status pngw_write_atomic(const char *path, const uint8_t *rgb, int w, int h,
                                 int level, struct ca_err *err)
{
    unsigned char *png = NULL;
    size_t len = 0;
    enum ca_status st;

    st = pngw_encode(rgb, w, h, level, &png, &len, err);
    if (st != CA_OK)
        goto out;
    st = ca_write_atomic(path, png, len, err);
out:
    free(png);
    return st;
}
