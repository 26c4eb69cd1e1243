/* fetch.h - make sure a verified dataset is under the data directory, downloading
 * and extracting it in one resumable stream when it is not.
 *
 * Flow: download (libcurl, Range resume, retries) -> SHA-256 of the archive bytes ->
 * gzip inflate -> ustar/GNU tar reader -> the known members, written under temporary
 * names, MD5-verified, then renamed into DATA_DIR/<layout dir>/.
 */
#ifndef FETCH_H
#define FETCH_H

#include <stdint.h>

#include "ca.h"
#include "cifar.h"

struct fetch_progress {
    uint64_t done;   /* compressed bytes received so far, resumed part included */
    uint64_t total;  /* archive size, 0 if unknown */
    double rate;     /* bytes per second over the recent past */
    double eta;      /* seconds, < 0 if unknown */
};

struct fetch_opts {
    const char *data_dir;      /* directory that holds cifar-10-batches-bin/ etc. */
    enum cifar_kind kind;
    enum cifar_split split;    /* train also needs the data batches */
    const char *url;           /* NULL: the official URL */
    const char *sha256;        /* expected archive SHA-256 (hex), NULL: official only */
    const char *archive;       /* local .tar.gz to extract instead of downloading */
    int offline;               /* never use the network */
    int keep_archive;          /* keep the verified .tar.gz beside the data */
    /* Called from the fetching thread, at most a few times a second; may be NULL. */
    void (*progress)(const struct fetch_progress *p, void *ctx);
    void *progress_ctx;
};

void fetch_opts_default(struct fetch_opts *o);

/* Return CA_OK once every file that (kind, split) needs is present and verified.
 * Files already present and verified: no network. Otherwise extracts --archive, or
 * downloads (unless offline: then CA_ERR_MISSING saying which file to put where).
 * Errors: CA_ERR_NETWORK, CA_ERR_CHECKSUM (expected and actual values), CA_ERR_IO,
 * CA_ERR_FORMAT, CA_ERR_MISSING, each with a one-line message in err. */
enum ca_status fetch_ensure(const struct fetch_opts *o, struct ca_err *err);

#endif
