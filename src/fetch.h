/* fetch.h - make sure a verified dataset is under the data directory, downloading
 * and extracting it in one resumable stream when it is not.
 *
 * Flow: download (libcurl, Range resume, retries) -> SHA-256 of the archive bytes ->
 * gzip inflate -> ustar/GNU tar reader -> the known members, written under temporary
 * names, MD5-verified, then renamed into DATA_DIR/<layout dir>/.
 *
 * Files under DATA_DIR:
 *   cifar-10-batches-bin/  (CIFAR-100: cifar-100-binary/)  the extracted members;
 *       test split: test_batch.bin + batches.meta.txt (CIFAR-100: test.bin +
 *       coarse_label_names.txt + fine_label_names.txt); train split: also
 *       data_batch_1..5.bin (CIFAR-100: train.bin).
 *   <dir>/.<member>.verified  stamp written after a member verified: "md5 size mtime
 *       ctime inode". When a member's stat still matches its stamp and the stamp's
 *       MD5 is the expected one, the member is not hashed again (keeps repeat runs
 *       fast; any rewrite, touch or copy changes ctime or inode and forces a re-hash).
 *   cifar-10-binary.tar.gz.part  compressed bytes received so far; a later run (after
 *       a network failure or a killed process) re-feeds it through the extractor and
 *       asks the server only for the rest (HTTP Range). Removed after success.
 *   cifar-10-binary.tar.gz  the verified archive when keep_archive is set; also the
 *       place a user may put the archive by hand (used before any download).
 *   .cifar-act.lock  flock(2) held while fetching: a second process waits, then finds
 *       the data present. Never removed (removing it would race).
 *
 * Verification: members with a known MD5 (official table: test_batch.bin,
 * data_batch_1..5.bin, test.bin, train.bin) are always checked; the class-name files
 * have no official digest and are only required to be present. The archive's size and
 * SHA-256 are checked when the bytes come from the official URL, and whenever sha256
 * is given (for any URL or a local archive). A failure names the check with expected
 * and actual values and removes everything this run wrote, the .part included; a
 * user's archive file is never removed.
 *
 * Network: redirects followed; TLS always verified; proxies from libcurl's standard
 * environment variables (http_proxy, https_proxy, no_proxy, all_proxy). Transient
 * failures (connection refused/reset, timeouts, a stall below stall_bytes per second
 * for stall_seconds, HTTP 5xx/408/429) are retried with exponential backoff, resuming
 * each time; `retries` counts consecutive attempts that got no further into the
 * archive than any attempt before (a server that ignores Range and drops the
 * connection starts each attempt at byte 0: that is no progress), and max_attempts
 * and max_seconds bound the whole download. A host name that does not resolve on
 * first contact is not retried (CACT_HINT_NO_NETWORK). Other HTTP errors (4xx) fail
 * at once naming the URL and status. The library never prints.
 */
#ifndef CACT_FETCH_H
#define CACT_FETCH_H

#include <signal.h>
#include <stdint.h>

#include "ca.h"
#include "dataset.h"

struct cact_fetch_progress {
    uint64_t done;   /* compressed bytes received so far, resumed part included */
    uint64_t total;  /* archive size, 0 if unknown */
    double rate;     /* bytes per second over the recent past */
    double eta;      /* seconds, < 0 if unknown */
    uint64_t resumed_from; /* bytes of a .part this transfer resumed after (HTTP Range),
                              0 for a fresh start or a server that ignored the Range */
};

/* FOR TESTS ONLY: an expected MD5 (and size) for a member, by its file name
 * ("test_batch.bin"). */
struct cact_fetch_md5 {
    const char *member;
    const char *md5;  /* lowercase hex */
    uint64_t size;    /* exact bytes, 0: not checked */
};

struct cact_fetch_opts {
    const char *data_dir;      /* directory that holds cifar-10-batches-bin/ etc. */
    enum cact_cifar_kind kind;
    enum cact_cifar_split split;    /* train also needs the data batches */
    const char *url;           /* NULL: the official URL */
    const char *sha256;        /* expected archive SHA-256 (hex), NULL: official only */
    const char *archive;       /* local .tar.gz to extract instead of downloading */
    int offline;               /* never use the network */
    int keep_archive;          /* keep the verified .tar.gz beside the data */
    /* Called from the fetching thread, at most a few times a second (plus once at the
     * end of a transfer); may be NULL. */
    void (*progress)(const struct cact_fetch_progress *p, void *ctx);
    void *progress_ctx;

    /* Robustness knobs, with the defaults cact_fetch_opts_default() sets. The library
     * reads no environment; the CLI may override them (its tests do). */
    int retries;               /* consecutive attempts without new bytes: 5 */
    long retry_base_ms;        /* wait base * 2^(k-1) ms (at most 60 s) before retry k:
                                  1000 */
    long stall_bytes;          /* slower than this many bytes/s ...: 1024 */
    long stall_seconds;        /* ... for this long is a stall: 60 */
    int max_attempts;          /* attempts in all, progress or not: 30; 0: no limit */
    long max_seconds;          /* the whole download, waits included: 4 h; 0: no limit */
    /* Called with one line (no newline) when the fetch is about to wait: before each
     * retry ("<what failed>; retry 2 of 5 in 2.0 s") and when another process holds
     * the data directory's lock. From the fetching thread; may be NULL. */
    void (*notice)(const char *msg, void *ctx);
    void *notice_ctx;
    /* If not NULL and *cancel becomes non-zero (a signal handler sets it), stop soon
     * with CACT_ERR_INTERRUPTED, keeping the .part for a later resume. */
    const volatile sig_atomic_t *cancel;

    /* FOR TESTS ONLY (the CLI never sets it): replaces the official MD5 table, so small
     * fixture archives can be verified. Ends with member == NULL. Members it does not
     * list are not digest-checked. */
    const struct cact_fetch_md5 *test_md5;
};

/* All zero/NULL, kind CACT_CIFAR_10, split CACT_CIFAR_TEST, and the knob defaults above. */
void cact_fetch_opts_default(struct cact_fetch_opts *o);

/* Return CACT_OK once every file that (kind, split) needs is present and verified.
 * Files already present and verified: no network, no lock, nothing written (except a
 * refreshed stamp). Otherwise, holding the lock: extracts `archive`, else
 * DATA_DIR/<archive name> if present, else finishes a complete .part, else downloads
 * (unless offline: then CACT_ERR_MISSING saying which file to put where).
 * Errors: CACT_ERR_NETWORK, CACT_ERR_CHECKSUM (expected and actual values), CACT_ERR_IO,
 * CACT_ERR_FORMAT, CACT_ERR_MISSING, CACT_ERR_USAGE (bad options), CACT_ERR_INTERRUPTED,
 * each with a one-line message in err. */
enum cact_status cact_fetch_ensure(const struct cact_fetch_opts *o, struct cact_err *err);

/* Only check: CACT_OK if every needed file is present and verified; CACT_ERR_MISSING or
 * CACT_ERR_CHECKSUM (naming the file) otherwise. Never downloads or extracts. */
enum cact_status cact_fetch_verify(const struct cact_fetch_opts *o, struct cact_err *err);

/* The official URL and archive name of a kind: cact_dataset_get(kind)->url, ->archive. */

#endif
