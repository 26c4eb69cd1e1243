/* extract.c - archive bytes -> SHA-256 and bounds -> extractor; see extract.h. */
#include "extract.h"

#include <inttypes.h>
#include <stdlib.h>
#include <strings.h>

#include <openssl/evp.h>

struct cact_extract {
    const struct cact_archive_member *members;
    int n;
    struct cact_extract_limits lim;
    struct cact_archive *ar;
    EVP_MD_CTX *sha;
    uint64_t bytes;
};

enum cact_status cact_extract_new(struct cact_extract **out,
                                  const struct cact_archive_member *members, int n,
                                  struct cact_err *err)
{
    struct cact_extract *x = calloc(1, sizeof *x);

    *out = NULL;
    if (!x || !(x->sha = EVP_MD_CTX_new())) {
        free(x);
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    }
    x->members = members;
    x->n = n;
    *out = x;
    return CACT_OK;
}

void cact_extract_free(struct cact_extract *x)
{
    if (!x)
        return;
    cact_archive_free(x->ar);
    EVP_MD_CTX_free(x->sha);
    free(x);
}

enum cact_status cact_extract_reset(struct cact_extract *x,
                                    const struct cact_extract_limits *lim,
                                    struct cact_err *err)
{
    enum cact_status st;

    cact_archive_free(x->ar);
    x->ar = NULL;
    x->bytes = 0;
    x->lim = *lim;
    if (EVP_DigestInit_ex(x->sha, EVP_sha256(), NULL) != 1)
        return cact_fail(err, CACT_ERR_NOMEM, "SHA-256 init failed");
    st = cact_archive_new(&x->ar, x->members, x->n, err);
    if (st == CACT_OK)
        cact_archive_set_max_inflated(x->ar, lim->max_out);
    return st;
}

enum cact_status cact_extract_feed(struct cact_extract *x, const void *buf, size_t len,
                                   struct cact_err *err)
{
    if (x->lim.size && x->bytes + len > x->lim.size)
        return cact_fail(err, CACT_ERR_CHECKSUM,
                         "archive is larger than the expected %" PRIu64 " bytes", x->lim.size);
    if (x->lim.max_in && x->bytes + len > x->lim.max_in)
        return cact_fail(err, CACT_ERR_FORMAT,
                         "archive is larger than %" PRIu64 " bytes (twice the bound for its "
                         "members); stopped reading", x->lim.max_in);
    if (EVP_DigestUpdate(x->sha, buf, len) != 1)
        return cact_fail(err, CACT_ERR_NOMEM, "SHA-256 update failed");
    x->bytes += len;
    return cact_archive_feed(x->ar, buf, len, err);
}

uint64_t cact_extract_bytes(const struct cact_extract *x) { return x->bytes; }
int cact_extract_done(const struct cact_extract *x) { return x->ar && cact_archive_stream_done(x->ar); }

const char *cact_extract_member_md5(const struct cact_extract *x, int k)
{
    return x->ar ? cact_archive_member_md5(x->ar, k) : NULL;
}

enum cact_status cact_extract_finish(struct cact_extract *x, struct cact_err *err)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];
    enum cact_status st;

    st = cact_archive_finish(x->ar, err);
    if (st != CACT_OK)
        return st;
    if (x->lim.size && x->bytes != x->lim.size)
        return cact_fail(err, CACT_ERR_CHECKSUM, "archive size %" PRIu64 ", expected %" PRIu64,
                         x->bytes, x->lim.size);
    if (EVP_DigestFinal_ex(x->sha, d, &dn) != 1)
        return cact_fail(err, CACT_ERR_NOMEM, "SHA-256 final failed");
    cact_hex(d, dn, hex);
    if (x->lim.sha256 && strcasecmp(hex, x->lim.sha256) != 0)
        return cact_fail(err, CACT_ERR_CHECKSUM, "archive SHA-256 %s, expected %s", hex,
                         x->lim.sha256);
    return cact_archive_commit(x->ar, err);
}
