/* archive.c - streaming .tar.gz extractor; see archive.h for the contract. */
#include "archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#define TAR_BLOCK 512
#define TAR_NAME_MAX 1024 /* longest name we can match; longer ones match nothing */
#define TAR_EXT_MAX 8192  /* largest 'L' / 'x' payload we read; larger ones are skipped */

enum tar_state { TAR_HEADER, TAR_DATA, TAR_PAD, TAR_END };
enum slot_state { SLOT_UNSEEN, SLOT_WRITING, SLOT_DONE, SLOT_COMMITTED };

/* What the bytes of the current entry are for. */
enum { CUR_SKIP = -1, CUR_EXT = -2 };

struct archive_slot {
    struct cact_archive_member m;
    enum slot_state state;
    int fd;               /* open temporary while writing, else -1 */
    char tmp[4096];       /* temporary name, "" until created */
    uint64_t size;
    char md5[CACT_ARCHIVE_MD5_HEX];
};

struct cact_archive {
    struct archive_slot slot[CACT_ARCHIVE_MAX_MEMBERS];
    int n;

    z_stream zs;
    int z_ready;          /* inflateInit2 succeeded: inflateEnd owed */
    int z_done;           /* Z_STREAM_END seen (of the latest gzip member) */
    int magic;            /* bytes of the next member's gzip magic seen after z_done */
    uint64_t max_out;     /* bound on decompressed bytes, 0: none */
    uint64_t bytes_in;    /* compressed bytes accepted */
    uint64_t tar_off;     /* decompressed bytes handed to the tar reader */

    enum tar_state ts;
    unsigned char hdr[TAR_BLOCK];
    size_t hdr_fill;
    uint64_t remain;      /* data bytes left in the current entry */
    uint64_t pad;         /* padding bytes left after it */
    int cur;              /* slot index, CUR_SKIP or CUR_EXT */
    EVP_MD_CTX *md;

    char ext_type;        /* 'L' or 'x' while collecting an extension payload */
    char ext[TAR_EXT_MAX + 1];
    size_t ext_fill;
    /* Name for the next entry from an 'L' or pax header: 0 none, 1 set, -1 one was
     * given but is too long to be any of ours (so the entry must match nothing). */
    int next_name_state;
    char next_name[TAR_NAME_MAX + 1];

    struct cact_err err;    /* sticky first error */
    unsigned char out[64 * 1024];
};

/* ---- Errors ---- */

/* Record the first failure in a (later calls return it again) and copy it to err. */
static enum cact_status ar_fail(struct cact_archive *a, struct cact_err *err, enum cact_status code,
                              const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum cact_status ar_fail(struct cact_archive *a, struct cact_err *err, enum cact_status code,
                              const char *fmt, ...)
{
    if (a->err.code == CACT_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(a->err.msg, sizeof a->err.msg, fmt, ap);
        va_end(ap);
        a->err.code = code;
    }
    if (err && err != &a->err)
        *err = a->err;
    return a->err.code;
}

static enum cact_status ar_sticky(struct cact_archive *a, struct cact_err *err)
{
    if (err)
        *err = a->err;
    return a->err.code;
}

/* ---- Lifetime ---- */

enum cact_status cact_archive_new(struct cact_archive **out, const struct cact_archive_member *m, int n,
                           struct cact_err *err)
{
    struct cact_archive *a = NULL;
    enum cact_status st = CACT_OK;

    *out = NULL;
    if (n < 1 || n > CACT_ARCHIVE_MAX_MEMBERS)
        return cact_fail(err, CACT_ERR_USAGE, "archive: %d members (1..%d allowed)", n,
                       CACT_ARCHIVE_MAX_MEMBERS);
    a = calloc(1, sizeof *a);
    if (!a)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    a->n = n;
    for (int i = 0; i < n; i++) {
        a->slot[i].m = m[i];
        a->slot[i].fd = -1;
    }
    a->cur = CUR_SKIP;
    /* 16 + MAX_WBITS: expect the gzip wrapper and check its CRC-32 and length. */
    if (inflateInit2(&a->zs, 16 + MAX_WBITS) != Z_OK) {
        st = cact_fail(err, CACT_ERR_NOMEM, "cannot start zlib inflate");
        goto out;
    }
    a->z_ready = 1;
    a->md = EVP_MD_CTX_new();
    if (!a->md) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory (EVP_MD_CTX)");
        goto out;
    }
    *out = a;
    a = NULL;
out:
    cact_archive_free(a);
    return st;
}

void cact_archive_free(struct cact_archive *a)
{
    if (!a)
        return;
    for (int i = 0; i < a->n; i++) {
        struct archive_slot *s = &a->slot[i];
        if (s->fd >= 0)
            close(s->fd);
        if (s->tmp[0] && s->state != SLOT_COMMITTED)
            unlink(s->tmp);
    }
    if (a->z_ready)
        inflateEnd(&a->zs);
    EVP_MD_CTX_free(a->md);
    free(a);
}

int cact_archive_stream_done(const struct cact_archive *a)
{
    return a->z_done;
}

uint64_t cact_archive_bytes_in(const struct cact_archive *a)
{
    return a->bytes_in;
}

const char *cact_archive_member_md5(const struct cact_archive *a, int i)
{
    if (i < 0 || i >= a->n || a->slot[i].state < SLOT_DONE)
        return NULL;
    return a->slot[i].md5;
}

uint64_t cact_archive_member_size(const struct cact_archive *a, int i)
{
    if (i < 0 || i >= a->n || a->slot[i].state < SLOT_DONE)
        return 0;
    return a->slot[i].size;
}

/* ---- Tar headers ---- */

/* Parse a numeric header field of width n: octal digits after optional leading
 * spaces, ended by NUL, space or the field's end (an empty field is 0); or GNU
 * base-256 (first byte 0x80, the rest big-endian). Values stay below 2^63 so sums
 * cannot overflow. -1 for anything else, including negative base-256 numbers. */
static int tar_number(const unsigned char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i = 0;

    if (p[0] & 0x80) {
        if (p[0] != 0x80)
            return -1;
        for (i = 1; i < n; i++) {
            if (v >> 55)
                return -1;
            v = v << 8 | p[i];
        }
        *out = v;
        return 0;
    }
    while (i < n && p[i] == ' ')
        i++;
    /* At most 12 octal digits fit a field: 36 bits, no overflow possible. */
    while (i < n && p[i] >= '0' && p[i] <= '7')
        v = v * 8 + (uint64_t)(p[i++] - '0');
    if (i < n && p[i] != ' ' && p[i] != '\0')
        return -1;
    *out = v;
    return 0;
}

static int tar_is_zero_block(const unsigned char *h)
{
    for (int i = 0; i < TAR_BLOCK; i++)
        if (h[i])
            return 0;
    return 1;
}

/* The stored checksum must equal the sum of the header bytes with the checksum field
 * read as spaces; old tars summed signed chars, so accept that too. */
static int tar_checksum_ok(const unsigned char *h, uint64_t *stored, long *computed)
{
    unsigned long usum = 0;
    long ssum = 0;

    for (int i = 0; i < TAR_BLOCK; i++) {
        unsigned char c = (i >= 148 && i < 156) ? ' ' : h[i];
        usum += c;
        ssum += (signed char)c;
    }
    *computed = (long)usum;
    if (tar_number(h + 148, 8, stored) != 0)
        return 0;
    return *stored == usum || (ssum >= 0 && *stored == (uint64_t)ssum);
}

/* The entry's name: POSIX ustar joins prefix "/" name; GNU tar uses the prefix bytes
 * for other things, so only the "ustar\0" magic has one. */
static void tar_header_name(const unsigned char *h, char *buf, size_t size)
{
    size_t nlen = strnlen((const char *)h, 100);

    if (memcmp(h + 257, "ustar\0", 6) == 0 && h[345] != '\0') {
        size_t plen = strnlen((const char *)h + 345, 155);
        snprintf(buf, size, "%.*s/%.*s", (int)plen, (const char *)h + 345, (int)nlen,
                 (const char *)h);
    } else {
        snprintf(buf, size, "%.*s", (int)nlen, (const char *)h);
    }
}

static int tar_find_slot(const struct cact_archive *a, const char *name)
{
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->slot[i].m.name, name) == 0)
            return i;
    return -1;
}

/* Pax extended header: records "LEN key=value\n". Only path= matters to us; a
 * malformed record ends the parse (the entry then keeps its header name, which is
 * harmless: contents are still digest-checked and names never become paths). */
static void tar_parse_pax(struct cact_archive *a)
{
    size_t pos = 0, n = a->ext_fill;

    while (pos < n) {
        size_t len = 0, i = pos;
        while (i < n && a->ext[i] >= '0' && a->ext[i] <= '9' && len <= n)
            len = len * 10 + (size_t)(a->ext[i++] - '0');
        if (i >= n || a->ext[i] != ' ' || len == 0 || len > n - pos ||
            a->ext[pos + len - 1] != '\n')
            return;
        const char *kv = a->ext + i + 1, *end = a->ext + pos + len - 1;
        const char *eq = memchr(kv, '=', (size_t)(end - kv));
        if (eq && eq - kv == 4 && memcmp(kv, "path", 4) == 0) {
            size_t vlen = (size_t)(end - eq - 1);
            if (vlen > TAR_NAME_MAX || memchr(eq + 1, '\0', vlen)) {
                a->next_name_state = -1;
            } else {
                memcpy(a->next_name, eq + 1, vlen);
                a->next_name[vlen] = '\0';
                a->next_name_state = 1;
            }
        }
        pos += len;
    }
}

/* The current entry's data is complete. */
static enum cact_status tar_entry_end(struct cact_archive *a, struct cact_err *err)
{
    if (a->cur >= 0) {
        struct archive_slot *s = &a->slot[a->cur];
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned dn = 0;

        a->cur = CUR_SKIP;
        if (s->fd >= 0) {
            int rc = close(s->fd);
            s->fd = -1;
            if (rc != 0)
                return ar_fail(a, err, CACT_ERR_IO, "cannot write %s: %s", s->tmp,
                               strerror(errno));
        }
        if (EVP_DigestFinal_ex(a->md, d, &dn) != 1 || dn != 16)
            return ar_fail(a, err, CACT_ERR_NOMEM, "MD5 failed");
        cact_hex(d, dn, s->md5);
        s->state = SLOT_DONE;
        if (s->m.md5 && strcasecmp(s->m.md5, s->md5) != 0)
            return ar_fail(a, err, CACT_ERR_CHECKSUM,
                           "%s: MD5 %s, expected %s (%llu bytes)", s->m.name, s->md5,
                           s->m.md5, (unsigned long long)s->size);
    } else if (a->cur == CUR_EXT) {
        a->cur = CUR_SKIP;
        a->ext[a->ext_fill] = '\0';
        if (a->ext_type == 'L') {
            /* GNU long name: NUL-terminated inside the payload. */
            size_t len = strlen(a->ext);
            if (len > TAR_NAME_MAX) {
                a->next_name_state = -1;
            } else {
                memcpy(a->next_name, a->ext, len + 1);
                a->next_name_state = 1;
            }
        } else {
            tar_parse_pax(a);
        }
    }
    a->ts = a->pad ? TAR_PAD : TAR_HEADER;
    return CACT_OK;
}

static enum cact_status tar_header(struct cact_archive *a, struct cact_err *err)
{
    const unsigned char *h = a->hdr;
    uint64_t size = 0, stored = 0;
    long computed = 0;
    char hname[TAR_NAME_MAX + 2];
    const char *name;
    int type, slot;

    if (tar_is_zero_block(h)) {
        /* End of archive. Whatever follows (the second zero block, record padding)
         * is ignored, but the gzip stream is still inflated to check its trailer. */
        a->ts = TAR_END;
        return CACT_OK;
    }
    if (!tar_checksum_ok(h, &stored, &computed))
        return ar_fail(a, err, CACT_ERR_FORMAT,
                       "bad tar header at offset %llu: checksum %llo, computed %lo",
                       (unsigned long long)(a->tar_off - TAR_BLOCK),
                       (unsigned long long)stored, computed);
    if (tar_number(h + 124, 12, &size) != 0)
        return ar_fail(a, err, CACT_ERR_FORMAT, "bad tar header at offset %llu: size field",
                       (unsigned long long)(a->tar_off - TAR_BLOCK));
    type = h[156];
    /* Links, devices, directories and FIFOs carry no data whatever size says. */
    if (type >= '1' && type <= '6')
        size = 0;
    a->remain = size;
    a->pad = (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK;
    a->cur = CUR_SKIP;

    if (type == 'L' || type == 'x') {
        if (size <= TAR_EXT_MAX) {
            a->cur = CUR_EXT;
            a->ext_type = (char)type;
            a->ext_fill = 0;
        } else {
            a->next_name_state = -1;
        }
    } else if (type == 'g' || type == 'K') {
        /* Global pax header, GNU long link name: nothing we use. */
    } else {
        /* A real entry: it consumes any name an extension header gave it. */
        if (a->next_name_state == 1) {
            name = a->next_name;
        } else if (a->next_name_state == -1) {
            name = NULL;
        } else {
            tar_header_name(h, hname, sizeof hname);
            name = hname;
        }
        a->next_name_state = 0;
        slot = name ? tar_find_slot(a, name) : -1;
        if (slot >= 0 && (type == '1' || type == '2'))
            /* Never followed: say what it is rather than "no member" later. */
            return ar_fail(a, err, CACT_ERR_FORMAT,
                           "%s is a %s link in the archive (to '%.100s'), not a file; links "
                           "are never followed", a->slot[slot].m.name,
                           type == '2' ? "symbolic" : "hard", (const char *)h + 157);
        if (!(type == '0' || type == '\0' || type == '7'))
            slot = -1;
        if (slot >= 0) {
            struct archive_slot *s = &a->slot[slot];
            if (s->state != SLOT_UNSEEN)
                return ar_fail(a, err, CACT_ERR_FORMAT, "archive has %s twice", s->m.name);
            if (size > CACT_ARCHIVE_MAX_MEMBER_SIZE)
                return ar_fail(a, err, CACT_ERR_FORMAT, "%s: size %llu is too large",
                               s->m.name, (unsigned long long)size);
            /* Before a byte is written: a known size that differs can never verify. */
            if (s->m.size && size != s->m.size)
                return ar_fail(a, err, CACT_ERR_CHECKSUM,
                               "%s: size %llu bytes in the archive, expected %llu", s->m.name,
                               (unsigned long long)size, (unsigned long long)s->m.size);
            if (EVP_DigestInit_ex(a->md, EVP_md5(), NULL) != 1)
                return ar_fail(a, err, CACT_ERR_NOMEM, "MD5 init failed");
            s->state = SLOT_WRITING;
            s->size = size;
            if (s->m.dest) {
                cact_temp_name(s->m.dest, s->tmp, sizeof s->tmp);
                s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
                if (s->fd < 0) {
                    int e = errno;
                    s->tmp[0] = '\0'; /* not ours to unlink */
                    return ar_fail(a, err, CACT_ERR_IO, "cannot create %s.tmp.*: %s",
                                   s->m.dest, strerror(e));
                }
            }
            a->cur = slot;
        }
    }
    if (size == 0)
        return tar_entry_end(a, err);
    a->ts = TAR_DATA;
    return CACT_OK;
}

static enum cact_status tar_data(struct cact_archive *a, const unsigned char *p, size_t k,
                               struct cact_err *err)
{
    if (a->cur >= 0) {
        struct archive_slot *s = &a->slot[a->cur];
        if (EVP_DigestUpdate(a->md, p, k) != 1)
            return ar_fail(a, err, CACT_ERR_NOMEM, "MD5 update failed");
        struct cact_err we;
        if (s->fd >= 0 && cact_write_all(s->fd, p, k, -1, s->tmp, &we) != CACT_OK)
            return ar_fail(a, err, we.code, "%s", we.msg);
    } else if (a->cur == CUR_EXT) {
        memcpy(a->ext + a->ext_fill, p, k); /* bounded: size <= TAR_EXT_MAX */
        a->ext_fill += k;
    }
    return CACT_OK;
}

/* Walk n decompressed bytes through the tar state machine. */
static enum cact_status tar_consume(struct cact_archive *a, const unsigned char *p, size_t n,
                                  struct cact_err *err)
{
    enum cact_status st = CACT_OK;

    while (n > 0 && st == CACT_OK) {
        size_t k;
        switch (a->ts) {
        case TAR_END:
            a->tar_off += n;
            return CACT_OK;
        case TAR_HEADER:
            k = TAR_BLOCK - a->hdr_fill;
            if (k > n)
                k = n;
            memcpy(a->hdr + a->hdr_fill, p, k);
            a->hdr_fill += k;
            a->tar_off += k;
            p += k;
            n -= k;
            if (a->hdr_fill == TAR_BLOCK) {
                a->hdr_fill = 0;
                st = tar_header(a, err);
            }
            break;
        case TAR_DATA:
            k = a->remain < n ? (size_t)a->remain : n;
            st = tar_data(a, p, k, err);
            a->remain -= k;
            a->tar_off += k;
            p += k;
            n -= k;
            if (st == CACT_OK && a->remain == 0)
                st = tar_entry_end(a, err);
            break;
        case TAR_PAD:
            k = a->pad < n ? (size_t)a->pad : n;
            a->pad -= k;
            a->tar_off += k;
            p += k;
            n -= k;
            if (a->pad == 0)
                a->ts = TAR_HEADER;
            break;
        }
    }
    return st;
}

/* ---- Feeding ---- */

/* Inflate in[0..len) (or until this gzip member ends) through the tar reader; *used
 * gets the input bytes consumed. base: compressed offset of in[0], for messages. */
static enum cact_status ar_inflate(struct cact_archive *a, const unsigned char *in, size_t len,
                                   uint64_t base, size_t *used, struct cact_err *err)
{
    enum cact_status st;

    *used = 0;
    a->zs.next_in = (unsigned char *)(uintptr_t)in; /* zlib does not write input */
    a->zs.avail_in = (uInt)len;
    if ((size_t)a->zs.avail_in != len)
        return ar_fail(a, err, CACT_ERR_USAGE, "cact_archive_feed: chunk too large");
    for (;;) {
        a->zs.next_out = a->out;
        a->zs.avail_out = sizeof a->out;
        int rc = inflate(&a->zs, Z_NO_FLUSH);
        if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR)
            return ar_fail(a, err, CACT_ERR_FORMAT,
                           "not a valid gzip stream near byte %llu: %s",
                           (unsigned long long)(base + len - a->zs.avail_in),
                           a->zs.msg ? a->zs.msg : "inflate error");
        if (rc == Z_MEM_ERROR)
            return ar_fail(a, err, CACT_ERR_NOMEM, "out of memory (inflate)");
        size_t produced = sizeof a->out - a->zs.avail_out;
        /* Skipped members and bytes after the tar end cost time too: bounded. */
        if (a->max_out && a->tar_off + produced > a->max_out)
            return ar_fail(a, err, CACT_ERR_FORMAT,
                           "archive inflates to more than %llu bytes, the bound for its "
                           "members; stopped near compressed byte %llu",
                           (unsigned long long)a->max_out,
                           (unsigned long long)(base + len - a->zs.avail_in));
        st = tar_consume(a, a->out, produced, err);
        if (st != CACT_OK)
            return st;
        if (rc == Z_STREAM_END) {
            a->z_done = 1;
            break;
        }
        /* Z_OK or Z_BUF_ERROR: done with this input once output space is left over. */
        if (a->zs.avail_out != 0 || rc == Z_BUF_ERROR)
            break;
    }
    *used = len - a->zs.avail_in;
    return CACT_OK;
}

/* A gzip file may be several members one after another (`cat a.gz b.gz`, which gzip
 * and tar accept): after a member's trailer, the next bytes must be another member's
 * magic; anything else is data after the end. */
static const unsigned char gz_magic[2] = { 0x1f, 0x8b };

enum cact_status cact_archive_feed(struct cact_archive *a, const void *buf, size_t len,
                            struct cact_err *err)
{
    const unsigned char *p = buf;
    enum cact_status st;
    size_t off = 0, used;

    if (a->err.code != CACT_OK)
        return ar_sticky(a, err);
    while (off < len) {
        if (a->z_done) {
            if (p[off] != gz_magic[a->magic])
                return ar_fail(a, err, CACT_ERR_FORMAT,
                               "unexpected data after the end of the gzip stream (offset %llu)",
                               (unsigned long long)(a->bytes_in + off - a->magic));
            off++;
            if (++a->magic < 2)
                continue;
            a->magic = 0;
            a->z_done = 0;
            if (inflateReset(&a->zs) != Z_OK)
                return ar_fail(a, err, CACT_ERR_NOMEM, "cannot restart zlib inflate");
            st = ar_inflate(a, gz_magic, 2, a->bytes_in + off - 2, &used, err);
            if (st != CACT_OK)
                return st;
            continue;
        }
        st = ar_inflate(a, p + off, len - off, a->bytes_in + off, &used, err);
        if (st != CACT_OK)
            return st;
        off += used;
        if (used == 0 && !a->z_done)
            break; /* cannot happen: inflate consumes all input unless the member ends */
    }
    a->bytes_in += len;
    return CACT_OK;
}

void cact_archive_set_max_inflated(struct cact_archive *a, uint64_t max_bytes)
{
    a->max_out = max_bytes;
}

enum cact_status cact_archive_finish(struct cact_archive *a, struct cact_err *err)
{
    if (a->err.code != CACT_OK)
        return ar_sticky(a, err);
    if (!a->z_done || a->magic)
        return ar_fail(a, err, CACT_ERR_FORMAT,
                       "archive is truncated: the gzip stream ends early, after %llu bytes",
                       (unsigned long long)a->bytes_in);
    if (a->ts != TAR_END && !(a->ts == TAR_HEADER && a->hdr_fill == 0))
        return ar_fail(a, err, CACT_ERR_FORMAT,
                       "tar data is truncated inside an entry (offset %llu)",
                       (unsigned long long)a->tar_off);
    for (int i = 0; i < a->n; i++)
        if (a->slot[i].state != SLOT_DONE)
            return ar_fail(a, err, CACT_ERR_FORMAT, "archive has no member %s",
                           a->slot[i].m.name);
    return CACT_OK;
}

enum cact_status cact_archive_commit(struct cact_archive *a, struct cact_err *err)
{
    if (a->err.code != CACT_OK)
        return ar_sticky(a, err);
    for (int i = 0; i < a->n; i++) {
        struct archive_slot *s = &a->slot[i];
        if (s->state != SLOT_DONE)
            return ar_fail(a, err, CACT_ERR_USAGE, "cact_archive_commit before cact_archive_finish");
        if (!s->m.dest)
            continue;
        if (rename(s->tmp, s->m.dest) != 0)
            return ar_fail(a, err, CACT_ERR_IO, "cannot rename %s to %s: %s", s->tmp,
                           s->m.dest, strerror(errno));
        s->state = SLOT_COMMITTED;
    }
    return CACT_OK;
}
