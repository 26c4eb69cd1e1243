/* download.h - one libcurl transfer of a URL into a caller's sink, optionally resumed.
 *
 * Any URL libcurl handles (https, http, ftp, file, ...). Redirects are followed
 * (http/https only, at most 10). TLS peers are always verified. Proxies come from
 * libcurl's standard environment variables (http_proxy, https_proxy, no_proxy,
 * all_proxy), which we leave enabled. No content decoding is requested, so a
 * .tar.gz arrives byte for byte even from servers that label it Content-Encoding gzip.
 *
 * This module makes one attempt; retries, backoff and resume bookkeeping are the
 * caller's (fetch.c), helped by download_result.transient.
 */
#ifndef CACT_DOWNLOAD_H
#define CACT_DOWNLOAD_H

#include <stdint.h>

#include "ca.h"

struct cact_download_req {
    const char *url;
    uint64_t offset;        /* > 0: resume, asking for bytes offset.. (HTTP Range) */
    const char *if_range;   /* with offset > 0 over HTTP: an ETag ("\"abc\"") or
                               Last-Modified date the bytes so far came with, sent as
                               If-Range so a changed resource comes whole (200, restart);
                               NULL: none */
    long low_speed_bytes;   /* a transfer slower than this (bytes/s) ... */
    long low_speed_seconds; /* ... for this long is stalled: a transient failure */
    long connect_timeout;   /* seconds */
    /* Receives the body in order, in pieces. restart is 1 on the first call when we
     * asked to resume but the server sends the whole body from byte 0 (HTTP 200 to a
     * Range request): the sink must drop what it had before taking buf. Return CACT_OK
     * to go on; any other status (with err filled) aborts the transfer, and
     * cact_download_run returns that status and message. */
    enum cact_status (*sink)(void *ctx, const void *buf, size_t len, int restart,
                           struct cact_err *err);
    /* Called about ten times a second and more; non-zero stops the transfer with
     * CACT_ERR_INTERRUPTED. May be NULL. */
    int (*tick)(void *ctx);
    void *ctx;
    /* If not NULL, set to the full resource size as soon as a response tells it
     * (before the first sink call), so progress can show a total and an ETA. */
    uint64_t *total;
};

struct cact_download_result {
    long status;       /* final HTTP status, 0 for other protocols or no response */
    int transient;     /* failure worth retrying: connect/reset/timeout/stall, 5xx, 408, 429 */
    int restarted;     /* the server ignored the Range request */
    int unresolved;    /* the host (or proxy) name did not resolve */
    uint64_t received; /* body bytes handed to the sink in this attempt */
    uint64_t total;    /* full resource size if the server said, else 0 */
    char etag[256];          /* the final response's ETag, "" if none (or too long) */
    char last_modified[128]; /* its Last-Modified, "" if none. Both filled before the
                                first sink call of a response */
};

/* Run one transfer. CACT_OK when libcurl completed it. Failures: CACT_ERR_NETWORK with
 * the URL and curl's error or the HTTP status (transient says whether to retry), the
 * sink's status, CACT_ERR_INTERRUPTED from tick, CACT_ERR_NOMEM. res is always filled. */
enum cact_status cact_download_run(const struct cact_download_req *r, struct cact_download_result *res,
                            struct cact_err *err);

#endif
