/* download.c - one libcurl transfer; see download.h for the contract. */
#include "download.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

struct dl {
    const struct cact_download_req *r;
    struct cact_download_result *res;
    CURL *c;
    int started;          /* first body byte seen: status and range checked */
    int is_http;
    long http_error;      /* status >= 300 seen when the body began */
    int bad_range;        /* 206 for a range we did not ask for */
    int have_cr;          /* Content-Range seen on the current response */
    uint64_t cr_start, cr_total;
    int interrupted;
    enum cact_status sink_st;
    struct cact_err *err;
};

static pthread_once_t dl_once = PTHREAD_ONCE_INIT;
static CURLcode dl_init_rc = CURLE_FAILED_INIT;

static void dl_global_init(void)
{
    dl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* A header's value without the surrounding blanks and CRLF; "" if it does not fit or
 * holds control characters (it is echoed back in If-Range). */
static void dl_header_value(const char *p, size_t len, char *out, size_t size)
{
    while (len && (*p == ' ' || *p == '\t'))
        p++, len--;
    while (len && (p[len - 1] == '\r' || p[len - 1] == '\n' || p[len - 1] == ' '))
        len--;
    out[0] = '\0';
    if (len == 0 || len >= size)
        return;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return;
    memcpy(out, p, len);
    out[len] = '\0';
}

/* Headers: remember Content-Range, ETag and Last-Modified of the latest response
 * (redirects send several). */
static size_t dl_header(char *p, size_t sz, size_t nm, void *ud)
{
    struct dl *d = ud;
    size_t len = sz * nm;
    char line[256];
    unsigned long long a = 0, b = 0, t = 0;

    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        d->have_cr = 0;
        d->cr_total = 0;
        d->res->etag[0] = d->res->last_modified[0] = '\0';
        return len;
    }
    if (len > 5 && strncasecmp(p, "ETag:", 5) == 0) {
        dl_header_value(p + 5, len - 5, d->res->etag, sizeof d->res->etag);
        return len;
    }
    if (len > 14 && strncasecmp(p, "Last-Modified:", 14) == 0) {
        dl_header_value(p + 14, len - 14, d->res->last_modified, sizeof d->res->last_modified);
        return len;
    }
    if (len < 14 || strncasecmp(p, "Content-Range:", 14) != 0)
        return len;
    snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
    if (sscanf(line + 14, " bytes %llu-%llu/%llu", &a, &b, &t) == 3) {
        d->have_cr = 1;
        d->cr_start = a;
        d->cr_total = t;
    } else if (sscanf(line + 14, " bytes %llu-%llu/*", &a, &b) == 2) {
        d->have_cr = 1;
        d->cr_start = a;
    }
    return len;
}

/* The first body byte: decide whether the server resumed where we asked. */
static int dl_begin(struct dl *d, int *restart)
{
    const struct cact_download_req *r = d->r;
    long code = 0;
    char *scheme = NULL;
    curl_off_t cl = -1;

    d->started = 1;
    *restart = 0;
    if (curl_easy_getinfo(d->c, CURLINFO_SCHEME, &scheme) == CURLE_OK && scheme)
        d->is_http = strncasecmp(scheme, "http", 4) == 0;
    curl_easy_getinfo(d->c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    if (!d->is_http) {
        /* file://, ftp://: libcurl applies the range itself (seek, REST). */
        d->res->total = cl >= 0 ? r->offset + (uint64_t)cl : 0;
        return 0;
    }
    curl_easy_getinfo(d->c, CURLINFO_RESPONSE_CODE, &code);
    d->res->status = code;
    if (code >= 300 || code < 200) {
        d->http_error = code;
        return -1;
    }
    if (r->offset > 0 && code != 206) {
        *restart = 1; /* 200: the server ignored Range and sends it all */
        d->res->restarted = 1;
        d->res->total = cl >= 0 ? (uint64_t)cl : 0;
    } else if (code == 206) {
        if (!d->have_cr || d->cr_start != r->offset) {
            d->bad_range = 1;
            return -1;
        }
        d->res->total = d->cr_total ? d->cr_total : cl >= 0 ? r->offset + (uint64_t)cl : 0;
    } else {
        d->res->total = cl >= 0 ? (uint64_t)cl : 0;
    }
    return 0;
}

static size_t dl_write(char *p, size_t sz, size_t nm, void *ud)
{
    struct dl *d = ud;
    size_t len = sz * nm;
    int restart = 0;

    if (!d->started) {
        if (dl_begin(d, &restart) != 0)
            return 0; /* CURLE_WRITE_ERROR; cact_download_run reports why */
        if (d->r->total && d->res->total)
            *d->r->total = d->res->total;
    }
    d->sink_st = d->r->sink(d->r->ctx, p, len, restart, d->err);
    if (d->sink_st != CACT_OK)
        return 0;
    d->res->received += len;
    return len;
}

static int dl_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct dl *d = ud;
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    if (d->r->tick && d->r->tick(d->r->ctx)) {
        d->interrupted = 1;
        return 1;
    }
    return 0;
}

/* Failures a later attempt may get past. */
static int dl_transient_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

static int dl_transient_http(long code)
{
    return code >= 500 || code == 408 || code == 429;
}

#define SETOPT(opt, val)                                                        \
    do {                                                                        \
        if (curl_easy_setopt(c, opt, val) != CURLE_OK) {                        \
            st = cact_fail(err, CACT_ERR_NETWORK, "libcurl does not support %s", #opt); \
            goto out;                                                           \
        }                                                                       \
    } while (0)

enum cact_status cact_download_run(const struct cact_download_req *r, struct cact_download_result *res,
                            struct cact_err *err)
{
    struct dl d;
    CURL *c = NULL;
    CURLcode rc;
    char ebuf[CURL_ERROR_SIZE] = "", range[32];
    enum cact_status st = CACT_OK;
    struct curl_slist *hdrs = NULL;

    memset(res, 0, sizeof *res);
    memset(&d, 0, sizeof d);
    d.r = r;
    d.res = res;
    d.err = err;
    pthread_once(&dl_once, dl_global_init);
    if (dl_init_rc != CURLE_OK)
        return cact_fail(err, CACT_ERR_NETWORK, "cannot initialise libcurl: %s",
                       curl_easy_strerror(dl_init_rc));
    c = curl_easy_init();
    if (!c)
        return cact_fail(err, CACT_ERR_NOMEM, "cannot create a libcurl handle");
    d.c = c;

    SETOPT(CURLOPT_URL, r->url);
    SETOPT(CURLOPT_ERRORBUFFER, ebuf);
    /* CURLOPT_NOSIGNAL stays 0: libcurl then keeps SIGPIPE from killing us when a
     * peer resets a TLS connection. Debian's libcurl resolves names in a thread, so
     * no SIGALRM is involved either way. */
    SETOPT(CURLOPT_FOLLOWLOCATION, 1L);
    SETOPT(CURLOPT_MAXREDIRS, 10L);
    SETOPT(CURLOPT_PROTOCOLS_STR, "http,https,ftp,ftps,file");
    /* A redirect must never reach local files. */
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    SETOPT(CURLOPT_USERAGENT, "cifar-act");
    SETOPT(CURLOPT_CONNECTTIMEOUT, r->connect_timeout > 0 ? r->connect_timeout : 30L);
    if (r->low_speed_bytes > 0 && r->low_speed_seconds > 0) {
        SETOPT(CURLOPT_LOW_SPEED_LIMIT, r->low_speed_bytes);
        SETOPT(CURLOPT_LOW_SPEED_TIME, r->low_speed_seconds);
    }
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
    if (r->offset > 0) {
        /* CURLOPT_RANGE rather than RESUME_FROM: libcurl then hands us a 200 answer
         * (a server ignoring Range) instead of failing, so we can start over. */
        snprintf(range, sizeof range, "%" PRIu64 "-", r->offset);
        SETOPT(CURLOPT_RANGE, range);
    }
    if (r->offset > 0 && r->if_range && *r->if_range) {
        char line[512];
        snprintf(line, sizeof line, "If-Range: %s", r->if_range);
        hdrs = curl_slist_append(NULL, line);
        if (!hdrs) {
            st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
            goto out;
        }
        SETOPT(CURLOPT_HTTPHEADER, hdrs);
    }
    SETOPT(CURLOPT_HEADERFUNCTION, dl_header);
    SETOPT(CURLOPT_HEADERDATA, &d);
    SETOPT(CURLOPT_WRITEFUNCTION, dl_write);
    SETOPT(CURLOPT_WRITEDATA, &d);
    SETOPT(CURLOPT_XFERINFOFUNCTION, dl_xferinfo);
    SETOPT(CURLOPT_XFERINFODATA, &d);
    SETOPT(CURLOPT_NOPROGRESS, 0L);

    rc = curl_easy_perform(c);
    if (!res->status) {
        long code = 0;
        char *scheme = NULL;
        if (curl_easy_getinfo(c, CURLINFO_SCHEME, &scheme) == CURLE_OK && scheme &&
            strncasecmp(scheme, "http", 4) == 0 &&
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK)
            res->status = code;
    }
    if (d.sink_st != CACT_OK) {
        st = d.sink_st; /* the sink filled err */
    } else if (d.interrupted) {
        st = cact_fail(err, CACT_ERR_INTERRUPTED, "download of %s interrupted", r->url);
    } else if (d.bad_range) {
        st = cact_fail(err, CACT_ERR_NETWORK,
                     "%s: asked to resume at byte %" PRIu64 ", server answered %s%llu",
                     r->url, r->offset, d.have_cr ? "from byte " : "without Content-Range ",
                     d.have_cr ? (unsigned long long)d.cr_start : 0ULL);
    } else if (d.http_error || (rc == CURLE_OK && res->status >= 300)) {
        long code = d.http_error ? d.http_error : res->status;
        res->status = code;
        res->transient = dl_transient_http(code);
        st = cact_fail(err, CACT_ERR_NETWORK, "%s: HTTP %ld", r->url, code);
    } else if (rc != CURLE_OK) {
        res->transient = dl_transient_curl(rc);
        res->unresolved = rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_COULDNT_RESOLVE_PROXY;
        st = cact_fail(err, CACT_ERR_NETWORK, "%s: %s", r->url,
                     ebuf[0] ? ebuf : curl_easy_strerror(rc));
    } else if (!d.started && r->offset > 0 && res->status == 200) {
        /* An empty 200 answer to a range request: start over with nothing. */
        res->restarted = 1;
        st = r->sink(r->ctx, NULL, 0, 1, err);
    }
out:
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    return st;
}
