/* pngw.c - PNG encoding: stb_image_write frames the file, we pick each row's filter,
 * ISA-L (default levels) or zlib (stored and the slow, small levels) deflates.
 *
 * stb_image_write is compiled here from Debian's header (libstb-dev), privately
 * (STB_IMAGE_WRITE_STATIC), with STBIW_ZLIB_COMPRESS pointing at our deflate wrapper:
 * stb's built-in deflate is slower and writes 27-41% larger files on these grids.
 *
 * Filtering: stb's own adaptive filter choice tries all five filters per row with a
 * byte-at-a-time switch that GCC cannot vectorize; it was ~20% of encoding time. So we
 * force stb's filter to None (it then only copies rows behind a 0 filter byte) and
 * re-filter the rows inside the zlib hook with the same heuristic (minimum sum of
 * |signed byte| over None/Sub/Up/Average/Paeth, ties to the lower type, stb's
 * first-row mapping), written as loops GCC vectorizes. The output bytes are
 * identical to stb's own choice.
 *
 * Thread safety: stb reads two globals per call (stbi_write_png_compression_level,
 * stbi_write_force_png_filter). The first we never change; the second is set to 0
 * once, under pthread_once, before any encode. The level and row width travel to
 * pngw_zlib_compress in a _Thread_local instead, so concurrent encodes with
 * different levels do not interfere.
 */
#include "pngw.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#include <zlib.h>

static unsigned char *pngw_zlib_compress(unsigned char *data, int data_len, int *out_len,
                                         int quality);

static void pngw_stb_free(void *p);

#define STB_IMAGE_WRITE_STATIC
#define STBIW_ZLIB_COMPRESS pngw_zlib_compress
/* stb frees the zlib stream our hook returns with STBIW_FREE; pngw_stb_free keeps it
 * when it is this thread's reusable buffer (see pngw_zcache). */
#define STBIW_MALLOC(sz) malloc(sz)
#define STBIW_REALLOC(p, sz) realloc(p, sz)
#define STBIW_FREE(p) pngw_stb_free(p)
/* ISA-L's CRC-32 (carry-less multiply where the CPU has it) is PNG's CRC, as zlib's
 * is, at several times zlib's speed; stb's byte-at-a-time table is slower still. */
#define STBIW_CRC32(buf, len) ((unsigned int)crc32_gzip_refl(0, (buf), (uint64_t)(len)))
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

/* Deflate settings per pngw level; see the table in pngw.h for the reasoning. */
enum pngw_engine { PNGW_ZLIB, PNGW_ISAL };

struct pngw_zset {
    enum pngw_engine engine;
    int level;     /* the engine's compression level (zlib 0..9, ISA-L 0..3) */
    int strategy;  /* zlib: Z_DEFAULT_STRATEGY, Z_RLE, ...; unused by ISA-L */
    int mem;       /* zlib: memLevel 1..9; unused by ISA-L */
    int hist_bits; /* ISA-L: log2 of the longest match distance, 1..15; unused by zlib */
};

/* ISA-L level 1 keeping matches within 4 bytes: runs (distance 1) and repeats of the
 * previous pixel (distance 3), which is what filtered grid rows offer. */
#define PNGW_ISAL_FAST { PNGW_ISAL, 1, 0, 0, 2 }

static const struct pngw_zset pngw_levels[10] = {
    [0] = { PNGW_ZLIB, 0, Z_DEFAULT_STRATEGY, 9, 0 },
    [1] = PNGW_ISAL_FAST, /* levels 1..5 are the same encoder: nothing in between pays */
    [2] = PNGW_ISAL_FAST,
    [3] = PNGW_ISAL_FAST,
    [4] = PNGW_ISAL_FAST,
    [5] = PNGW_ISAL_FAST,
    [6] = { PNGW_ZLIB, 6, Z_FILTERED, 9, 0 },
    [7] = { PNGW_ZLIB, 7, Z_FILTERED, 9, 0 },
    [8] = { PNGW_ZLIB, 8, Z_FILTERED, 9, 0 },
    [9] = { PNGW_ZLIB, 9, Z_FILTERED, 9, 0 },
};

/* What the encode running on this thread tells pngw_zlib_compress (stb's callback
 * has no context pointer). */
struct pngw_ctx {
    const struct pngw_zset *zs;
    size_t row_bytes; /* 3 * width: bytes per row after the filter byte */
};
static _Thread_local struct pngw_ctx pngw_cur;

/* ---- Filtering ---- */

/* PNG filter types (PNG spec, section 9.2). */
enum { PNGW_NONE, PNGW_SUB, PNGW_UP, PNGW_AVG, PNGW_PAETH, PNGW_N_FILTERS };
#define PNGW_BPP 3 /* bytes per pixel: 8-bit RGB */

/* The filter loops below are written for GCC's vectorizer (no branches that depend on
 * data, restrict pointers, narrow types); -O2's cost model leaves some of them scalar,
 * so they ask for -O3. On x86-64 GCC also builds AVX-512 (x86-64-v4) and AVX2 copies of
 * the two hot ones and picks one at load time by what the CPU has (target_clones; the
 * default copy is plain SSE2, so the binary runs on any x86-64). The AVX-512 copy
 * made encoding 3% faster than the AVX2 one on the test set's grids. */
#if defined(__GNUC__) && !defined(__clang__)
#define PNGW_HOT __attribute__((optimize("O3")))
#else
#define PNGW_HOT
#endif
#if defined(__GNUC__) && defined(__x86_64__) && defined(__ELF__) && !defined(__clang__) && \
    !defined(CIFAR_ACT_NO_X86_CLONES) /* make test-generic: test the default copy */
#define PNGW_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define PNGW_CLONES
#endif

/* |(signed char)v|, computed as min(v, 256 - v) in bytes so that it vectorizes. */
static inline uint8_t pngw_mag(uint8_t v)
{
    uint8_t neg = (uint8_t)-v;
    return v < neg ? v : neg;
}

/* Paeth's predictor with p = a + b - c expanded, in 16 bits so that eight or sixteen
 * lanes fit a vector: pa = |p - a| = |b - c|, pb = |a - c|, pc = |a + b - 2c|. */
static inline uint8_t pngw_paeth_pred(int16_t a, int16_t b, int16_t c)
{
    int16_t pa = (int16_t)abs(b - c), pb = (int16_t)abs(a - c);
    int16_t pc = (int16_t)abs(a + b - 2 * c);
    return (uint8_t)((pa <= pb && pa <= pc) ? a : pb <= pc ? b : c);
}

/* The heuristic's estimate of how well a row compresses under each filter:
 * cost[f] = sum of |(signed char)filtered byte| for row z with previous row up, in one
 * pass. The Paeth-filtered row, the costliest to compute and the usual winner (87-90%
 * of grid rows), is also stored to paeth (n bytes), so that it need not be computed
 * twice; the others are not stored. Bytes before the first pixel count as 0 (PNG
 * spec). The inner sums are 16-bit over chunks of 256 bytes (at most 256 * 128 = 2^15),
 * which vectorizes with half the widening work of 32-bit sums; chunks add up in 64
 * bits. */
#define PNGW_CHUNK ((size_t)256)
PNGW_HOT PNGW_CLONES static void pngw_costs(const uint8_t *restrict z,
                                            const uint8_t *restrict up, size_t n,
                                            uint64_t cost[PNGW_N_FILTERS],
                                            uint8_t *restrict paeth)
{
    for (int f = 0; f < PNGW_N_FILTERS; f++)
        cost[f] = 0;
    for (size_t i = 0; i < PNGW_BPP && i < n; i++) { /* a = c = 0 */
        cost[PNGW_NONE] += pngw_mag(z[i]);
        cost[PNGW_SUB] += pngw_mag(z[i]);
        cost[PNGW_UP] += pngw_mag((uint8_t)(z[i] - up[i]));
        cost[PNGW_AVG] += pngw_mag((uint8_t)(z[i] - (up[i] >> 1)));
        paeth[i] = (uint8_t)(z[i] - up[i]);
        cost[PNGW_PAETH] += pngw_mag(paeth[i]);
    }
    for (size_t c0 = PNGW_BPP; c0 < n; c0 += PNGW_CHUNK) {
        size_t end = n - c0 < PNGW_CHUNK ? n : c0 + PNGW_CHUNK;
        uint16_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0;
        for (size_t i = c0; i < end; i++) {
            uint8_t x = z[i], a = z[i - PNGW_BPP], b = up[i], c = up[i - PNGW_BPP];
            s0 = (uint16_t)(s0 + pngw_mag(x));
            s1 = (uint16_t)(s1 + pngw_mag((uint8_t)(x - a)));
            s2 = (uint16_t)(s2 + pngw_mag((uint8_t)(x - b)));
            s3 = (uint16_t)(s3 + pngw_mag((uint8_t)(x - ((a + b) >> 1))));
            uint8_t p = (uint8_t)(x - pngw_paeth_pred(a, b, c));
            paeth[i] = p;
            s4 = (uint16_t)(s4 + pngw_mag(p));
        }
        cost[PNGW_NONE] += s0;
        cost[PNGW_SUB] += s1;
        cost[PNGW_UP] += s2;
        cost[PNGW_AVG] += s3;
        cost[PNGW_PAETH] += s4;
    }
}

/* Write row z filtered with filter f (previous row up) to out: n bytes. f is None, Sub,
 * Up or Average; the Paeth row comes from pngw_costs. */
PNGW_HOT PNGW_CLONES static void pngw_filter(int f, uint8_t *restrict out,
                                             const uint8_t *restrict z,
                                             const uint8_t *restrict up, size_t n)
{
    size_t i, first = n < PNGW_BPP ? n : PNGW_BPP;

    switch (f) {
    case PNGW_SUB:
        for (i = 0; i < first; i++)
            out[i] = z[i];
        for (i = PNGW_BPP; i < n; i++)
            out[i] = (uint8_t)(z[i] - z[i - PNGW_BPP]);
        break;
    case PNGW_UP:
        for (i = 0; i < n; i++)
            out[i] = (uint8_t)(z[i] - up[i]);
        break;
    case PNGW_AVG:
        for (i = 0; i < first; i++)
            out[i] = (uint8_t)(z[i] - (up[i] >> 1));
        for (i = PNGW_BPP; i < n; i++)
            out[i] = (uint8_t)(z[i] - ((z[i - PNGW_BPP] + up[i]) >> 1));
        break;
    default:
        memcpy(out, z, n);
        break;
    }
}

/* Filter rows in place: data holds h rows of [filter byte 0][row_bytes raw bytes] as
 * stb writes them with its filter forced to None. Each row gets the filter with the
 * lowest cost (pngw_costs), ties to the lower type; this is stb's (and libpng's)
 * heuristic and, because the first row's "previous row" is zeros, also stb's first-row
 * rule: Up then equals None and Paeth equals Sub, so neither wins a tie. Rows go
 * bottom-up so that the previous row is still raw when a row is filtered. scratch
 * holds 2 * row_bytes bytes: the filtered row and a row of zeros. */
static void pngw_filter_rows(uint8_t *data, size_t row_bytes, size_t h, uint8_t *scratch)
{
    uint8_t *zero = scratch + row_bytes;

    memset(zero, 0, row_bytes);
    for (size_t y = h; y-- > 0;) {
        uint8_t *row = data + y * (row_bytes + 1);
        const uint8_t *up = y ? row - row_bytes : zero; /* raw bytes of row y - 1 */
        uint64_t cost[PNGW_N_FILTERS];
        int best = PNGW_NONE;

        pngw_costs(row + 1, up, row_bytes, cost, scratch); /* scratch: the Paeth row */
        for (int f = PNGW_SUB; f < PNGW_N_FILTERS; f++)
            if (cost[f] < cost[best])
                best = f;
        row[0] = (uint8_t)best;
        if (best != PNGW_NONE) {
            if (best != PNGW_PAETH)
                pngw_filter(best, scratch, row + 1, up, row_bytes);
            memcpy(row + 1, scratch, row_bytes);
        }
    }
}

/* ---- Deflate ---- */

/* Each thread keeps its deflate streams, filter scratch and deflate output buffer
 * between images, and resets a stream instead of building a new one: deflateInit2 at
 * memLevel 9 allocates ~400 KB and deflateEnd frees it again, ISA-L's stream and level
 * buffer are ~0.7 MB, and a fresh ~230 KB output buffer per image comes from mmap
 * (glibc's threshold is 128 KB); for a 274x274 grid the page faults and clearing cost
 * ~10% of a zlib encode and more of an ISA-L one. The output buffer is lent to stb,
 * which copies it into the PNG and hands it back through STBIW_FREE (pngw_stb_free);
 * the next encode on the thread may reuse it in any case, since stb is done with it
 * when stbi_write_png_to_mem returns (on its out-of-memory path stb drops it without
 * STBIW_FREE). Buffers over PNGW_KEEP_MAX are not kept, so one huge image does not pin
 * its memory to the thread. The cache is dropped by the pthread key's destructor when
 * the thread exits. */
#define PNGW_KEEP_MAX ((size_t)8 << 20)

/* ISA-L's level buffer: the largest suggested size holds 128 Ki match tokens, so one
 * 274x274 grid (225 KB filtered) needs only two Huffman blocks; the smaller sizes were
 * 0.1-0.2% larger and no faster (pngw.h). */
#define PNGW_ISAL_LEVEL_BUF ((size_t)ISAL_DEF_LVL1_EXTRA_LARGE)

struct pngw_zcache {
    z_stream strm;
    struct pngw_zset zs;          /* the settings strm was initialised with */
    int inited;                   /* strm needs deflateEnd */
    struct isal_zstream *istrm;   /* ISA-L stream, NULL until first needed */
    uint8_t *ilevel_buf;          /* its level buffer, PNGW_ISAL_LEVEL_BUF bytes */
    uint8_t *scratch;             /* pngw_filter_rows scratch, scratch_cap bytes */
    size_t scratch_cap;
    unsigned char *out;           /* deflate output, out_cap bytes */
    size_t out_cap;
};

static pthread_key_t pngw_zkey;
static int pngw_zkey_ok; /* pthread_key_create succeeded: caches are kept */

static void pngw_zcache_free(void *p)
{
    struct pngw_zcache *c = p;

    if (!c)
        return;
    if (c->inited)
        deflateEnd(&c->strm);
    free(c->istrm);
    free(c->ilevel_buf);
    free(c->scratch);
    free(c->out);
    free(c);
}

/* STBIW_FREE: free(p), unless p is this thread's kept deflate buffer. */
static void pngw_stb_free(void *p)
{
    struct pngw_zcache *c = pngw_zkey_ok ? pthread_getspecific(pngw_zkey) : NULL;

    if (!c || p != c->out)
        free(p);
}

/* Make c's stream for zs ready for a new image: a reset zlib stream, or an ISA-L
 * stream initialised with zs's level and history. 0 if out of memory or zlib fails. */
static int pngw_zcache_ready(struct pngw_zcache *c, const struct pngw_zset *zs)
{
    if (zs->engine == PNGW_ISAL) {
        if (!c->istrm)
            c->istrm = malloc(sizeof *c->istrm);
        if (!c->ilevel_buf)
            c->ilevel_buf = malloc(PNGW_ISAL_LEVEL_BUF);
        if (!c->istrm || !c->ilevel_buf)
            return 0;
        isal_deflate_init(c->istrm);
        c->istrm->level = (uint32_t)zs->level;
        c->istrm->level_buf = c->ilevel_buf;
        c->istrm->level_buf_size = (uint32_t)PNGW_ISAL_LEVEL_BUF;
        c->istrm->hist_bits = (uint16_t)zs->hist_bits;
        c->istrm->gzip_flag = IGZIP_ZLIB; /* PNG's IDAT holds a zlib stream */
        return 1;
    }
    if (c->inited && c->zs.level == zs->level && c->zs.strategy == zs->strategy &&
        c->zs.mem == zs->mem && deflateReset(&c->strm) == Z_OK)
        return 1;
    if (c->inited)
        deflateEnd(&c->strm);
    c->inited = 0;
    memset(&c->strm, 0, sizeof c->strm); /* zalloc/zfree/opaque NULL: malloc/free */
    if (deflateInit2(&c->strm, zs->level, Z_DEFLATED, 15, zs->mem, zs->strategy) != Z_OK)
        return 0;
    c->inited = 1;
    c->zs = *zs;
    return 1;
}

/* This thread's cache with a stream ready for zs and at least `scratch` bytes of
 * scratch; NULL if out of memory. *owned says the caller must pngw_zcache_free it
 * (no pthread key: nothing is kept). */
static struct pngw_zcache *pngw_zcache_get(const struct pngw_zset *zs, size_t scratch,
                                           int *owned)
{
    struct pngw_zcache *c = pngw_zkey_ok ? pthread_getspecific(pngw_zkey) : NULL;

    *owned = 0;
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return NULL;
        if (!pngw_zkey_ok || pthread_setspecific(pngw_zkey, c) != 0)
            *owned = 1;
    }
    if (c->scratch_cap < scratch) {
        uint8_t *bigger = realloc(c->scratch, scratch);
        if (!bigger)
            goto fail;
        c->scratch = bigger;
        c->scratch_cap = scratch;
    }
    if (!pngw_zcache_ready(c, zs))
        goto fail;
    return c;
fail:
    if (*owned)
        pngw_zcache_free(c);
    return NULL;
}

/* Run the stream once over the whole input into *buf (*cap bytes, *used of them
 * written so far): 1 when the stream is complete, 0 when the output filled up and
 * needs more room, -1 on a library error. */
static int pngw_deflate_step(struct pngw_zcache *c, const struct pngw_zset *zs,
                             unsigned char *buf, size_t cap, size_t *used)
{
    if (zs->engine == PNGW_ISAL) {
        struct isal_zstream *z = c->istrm;

        z->next_out = buf + *used;
        z->avail_out = (uint32_t)(cap - *used);
        if (isal_deflate(z) != COMP_OK)
            return -1;
        *used = cap - z->avail_out;
        if (z->internal_state.state == ZSTATE_END)
            return 1;
        return z->avail_out == 0 ? 0 : -1; /* stopped with room left: a bug */
    } else {
        z_stream *z = &c->strm;
        int zr;

        z->next_out = buf + *used;
        z->avail_out = (uInt)(cap - *used);
        zr = deflate(z, Z_FINISH);
        *used = cap - z->avail_out;
        if (zr == Z_STREAM_END)
            return 1;
        /* Z_OK or Z_BUF_ERROR with a full buffer mean "more room"; anything else fails. */
        return (zr == Z_OK || zr == Z_BUF_ERROR) && z->avail_out == 0 ? 0 : -1;
    }
}

/* stb's STBIW_ZLIB_COMPRESS hook: filter the rows stb copied (pngw_filter_rows), then
 * deflate data_len bytes into a malloc'd zlib stream (stb frees it with STBIW_FREE).
 * `quality` is stb's global level, which we ignore in favour of pngw_cur. Returns NULL
 * on any deflate or allocation failure; stb then returns NULL and cact_pngw_encode reports
 * it. */
static unsigned char *pngw_zlib_compress(unsigned char *data, int data_len, int *out_len,
                                         int quality)
{
    const struct pngw_zset *zs = pngw_cur.zs;
    size_t rb = pngw_cur.row_bytes;
    struct pngw_zcache *c;
    unsigned char *buf = NULL;
    size_t cap, used = 0;
    int ok = 0, owned = 0, done;

    (void)quality;
    /* stb hands us exactly h rows of 1 + rb bytes; anything else is a bug. */
    if (!zs || rb == 0 || data_len < 0 || (size_t)data_len % (rb + 1) != 0)
        return NULL;
    c = pngw_zcache_get(zs, 2 * rb, &owned);
    if (!c)
        return NULL;
    pngw_filter_rows(data, rb, (size_t)data_len / (rb + 1), c->scratch);
    if (zs->engine == PNGW_ISAL) {
        c->istrm->next_in = data;
        c->istrm->avail_in = (uint32_t)data_len;
        c->istrm->end_of_stream = 1;
    } else {
        c->strm.next_in = data;
        c->strm.avail_in = (uInt)data_len;
    }

    /* zlib's bound (stored blocks plus headers) covers ISA-L too, which falls back to
     * stored blocks for incompressible data; zlib before 1.3 underestimates level 0
     * with memLevel 9 for tiny inputs, and either way a short buffer only means
     * another round. Use the thread's buffer if the cache is kept (not owned) and the
     * size is not too big. */
    cap = compressBound((uLong)data_len) + 64;
    if (!owned && cap <= PNGW_KEEP_MAX) {
        if (c->out_cap < cap) {
            free(c->out);
            c->out_cap = 0;
            c->out = malloc(cap);
            if (!c->out)
                goto out;
            c->out_cap = cap;
        }
        buf = c->out;
        cap = c->out_cap;
    } else {
        buf = malloc(cap);
        if (!buf)
            goto out;
    }
    while ((done = pngw_deflate_step(c, zs, buf, cap, &used)) == 0) {
        unsigned char *bigger;

        if (cap > INT_MAX / 2)
            goto out;
        bigger = realloc(buf, cap * 2);
        if (!bigger)
            goto out;
        if (buf == c->out) { /* the kept buffer moved (or grew) */
            c->out = bigger;
            c->out_cap = cap * 2;
        }
        buf = bigger;
        cap *= 2;
    }
    if (done < 0 || used > INT_MAX)
        goto out;
    *out_len = (int)used;
    ok = 1;
out:
    /* A failed stream is reset (or rebuilt) by the next pngw_zcache_get. */
    if (!ok && buf != c->out)
        free(buf);
    if (!ok)
        buf = NULL;
    if (owned)
        pngw_zcache_free(c); /* buf is never c->out here */
    return buf;
}

/* ---- Encoding ---- */

static pthread_once_t pngw_once = PTHREAD_ONCE_INIT;

/* stb then copies rows behind a None filter byte; pngw_zlib_compress filters them. */
static void pngw_init_stb(void)
{
    stbi_write_force_png_filter = PNGW_NONE;
    pngw_zkey_ok = pthread_key_create(&pngw_zkey, pngw_zcache_free) == 0;
}

/* cact_pngw_encode with explicit zlib settings (tools/pngw_bench.c calls it to compare
 * settings; it #includes this file). */
static enum cact_status pngw_encode_zset(const uint8_t *rgb, int w, int h,
                                       const struct pngw_zset *zs, unsigned char **out,
                                       size_t *out_len, struct cact_err *err)
{
    unsigned char *png;
    int len = 0;

    *out = NULL;
    *out_len = 0;
    /* stb computes the filtered size (3w+1)*h in int; keep it, plus the deflate
     * overhead, well inside INT_MAX. */
    if (!cact_pngw_size_ok(w < 1 ? 0 : (uint64_t)w, h < 1 ? 0 : (uint64_t)h))
        return cact_fail(err, CACT_ERR_USAGE, "bad PNG size %dx%d", w, h);
    pthread_once(&pngw_once, pngw_init_stb);
    pngw_cur.zs = zs;
    pngw_cur.row_bytes = (size_t)3 * (size_t)w;
    png = stbi_write_png_to_mem(rgb, 3 * w, w, h, 3, &len);
    pngw_cur.zs = NULL;
    pngw_cur.row_bytes = 0;
    if (!png)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory encoding a %dx%d PNG", w, h);
    *out = png;
    *out_len = (size_t)len;
    return CACT_OK;
}

enum cact_status cact_pngw_encode(const uint8_t *rgb, int w, int h, int level,
                           unsigned char **out, size_t *out_len, struct cact_err *err)
{
    *out = NULL;
    *out_len = 0;
    if (level < 0 || level > 9)
        return cact_fail(err, CACT_ERR_USAGE, "PNG level %d out of range 0..9", level);
    return pngw_encode_zset(rgb, w, h, &pngw_levels[level], out, out_len, err);
}

/* Both writers: encode, then write through `write` (cact_write_atomic or
 * cact_write_new). */
static enum cact_status pngw_write_with(enum cact_status (*write)(const char *, const void *,
                                                                   size_t, struct cact_err *),
                                        const char *path, const uint8_t *rgb, int w, int h,
                                        int level, size_t *bytes, struct cact_err *err)
{
    unsigned char *png = NULL;
    size_t len = 0;
    enum cact_status st;

    if (bytes)
        *bytes = 0;
    st = cact_pngw_encode(rgb, w, h, level, &png, &len, err);
    if (st != CACT_OK)
        goto out;
    st = write(path, png, len, err);
    if (st == CACT_OK && bytes)
        *bytes = len;
out:
    free(png);
    return st;
}

enum cact_status cact_pngw_write_atomic(const char *path, const uint8_t *rgb, int w, int h,
                                 int level, size_t *bytes, struct cact_err *err)
{
    return pngw_write_with(cact_write_atomic, path, rgb, w, h, level, bytes, err);
}

enum cact_status cact_pngw_write_new(const char *path, const uint8_t *rgb, int w, int h,
                                     int level, size_t *bytes, struct cact_err *err)
{
    return pngw_write_with(cact_write_new, path, rgb, w, h, level, bytes, err);
}

int cact_pngw_size_ok(uint64_t w, uint64_t h)
{
    return w >= 1 && h >= 1 && w < ((uint64_t)1 << 31) && h < ((uint64_t)1 << 31) &&
           (3 * w + 1) * h < CACT_PNGW_MAX_FILTERED;
}
