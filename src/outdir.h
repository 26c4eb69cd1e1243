/* outdir.h - an output directory (--out) replaced as one unit.
 *
 * A run never writes into OUT while it works. It writes into a fresh staging
 * directory, and cact_outdir_commit() makes that OUT's content at the end:
 *
 *   swap (the usual case): the staging directory is a sibling of OUT,
 *       ".<OUT's name>.cifar-act-stage.PID.N", and commit exchanges the two names with
 *       renameat2(RENAME_EXCHANGE) - one atomic step: a reader sees the whole previous
 *       result or the whole new one, never a mix and never a missing file. The previous
 *       result, now under the staging name, is then emptied: its files of ours are
 *       truncated to zero length and the directory is kept as ".BASE.cifar-act-pool",
 *       which the next run renames into place as its staging directory, so that it
 *       writes into existing inodes (cheaper than allocating new ones right after
 *       deleting as many, on ext4 without a journal; outdir.c says why); files it does
 *       not write are still empty at commit and are dropped. Files are written into
 *       the staging directory under their final names (nothing to rename over), which
 *       also avoids ext4's flush on rename-over (auto_da_alloc).
 *   merge (fallback): when OUT holds anything whose name is not one of ours (the
 *       caller's `ours` table: a user's notes.txt, a subdirectory), when OUT is the
 *       current directory or a mount point, when no sibling can be created (OUT's parent
 *       is not writable), or when the file system cannot exchange. The staging
 *       directory is then inside OUT, OUT/.cifar-act-stage.PID.N (when a failed exchange
 *       falls back, it stays the sibling). Commit then removes `last` (the manifest)
 *       from OUT first, renames each staged file over its namesake (a replaced file is
 *       never absent; a directory of ours is merged the same way, one level down),
 *       removes our files in OUT that this run did not produce, and puts `last` in
 *       place at the very end. Files that are not ours are never touched.
 *
 * Guarantees, with `last` = the manifest: after commit OUT holds exactly the staged
 * files of ours plus whatever of others was there; a run that fails, or is interrupted
 * or killed before commit, leaves OUT as it was; a run killed during a merge leaves no
 * `last` (clearly incomplete). Never during a swap: it is one system call.
 *
 * Locking: one run at a time per OUT. The lock is flock(2) on the directory OUT itself
 * (no lock file to leave behind); a second run waits, announcing it once through
 * notice, and checks after waking that OUT is still the directory it locked (a swap
 * replaces it). Staging directories are locked the same way while in use, so the next
 * run that holds OUT's lock deletes the staging directories of killed runs (our files
 * in them, then the directory) and the temporary files ("NAME.tmp.*") of ours in OUT.
 */
#ifndef CACT_OUTDIR_H
#define CACT_OUTDIR_H

#include <signal.h>

#include "ca.h"

/* One kind of file a run writes into OUT: `prefix` exactly when suffix is NULL
 * ("manifest.json"), else prefix, one or more digits, suffix ("input_" "0007" ".png").
 * A name followed by ".tmp." and anything is ours too (a temporary of that file).
 * With dir set: a directory named exactly prefix ("html"), whose files are all ours
 * (one level: a directory inside it is not). */
struct cact_outdir_name {
    const char *prefix;
    const char *suffix;
    int dir;
};

struct cact_outdir_opts {
    const char *path;                      /* OUT; created (with parents) if missing */
    const struct cact_outdir_name *ours;   /* ends with prefix == NULL */
    /* Called once with one line (no newline) when another run holds OUT; may be NULL. */
    void (*notice)(const char *msg, void *ctx);
    void *notice_ctx;
    /* While waiting for the lock: stop with CACT_ERR_INTERRUPTED once *cancel != 0. */
    const volatile sig_atomic_t *cancel;
    /* A shard of a sharded run (several processes fill OUT together, see below). */
    int shared;
};

struct cact_outdir;

/* Shards (shared set): several runs fill OUT together, each with its own files. A
 * shard always stages inside OUT and commits by merging; cact_outdir_begin releases
 * OUT's lock once the staging directory exists (which stays locked, so no sweep takes
 * it), and the shard takes it again only for the short commit (cact_outdir_relock).
 * Its commit renames the staged files in and removes nothing: clearing what is not
 * of the same sharded run is the caller's, with cact_outdir_clear, under the lock.
 * With a shard's `last` (its manifest part) the guarantees above hold per shard: a
 * shard killed before or during its commit leaves no part. */

/* Create OUT if missing, take its lock (waiting for another run), sweep what killed
 * runs left, choose swap or merge, and create the staging directory.
 * Errors: CACT_ERR_IO naming the path (cannot create, not a directory, not writable,
 * cannot lock), CACT_ERR_USAGE (empty or too long a path), CACT_ERR_INTERRUPTED,
 * CACT_ERR_NOMEM. *od is NULL on failure. */
enum cact_status cact_outdir_begin(struct cact_outdir **od, const struct cact_outdir_opts *o,
                                   struct cact_err *err);

/* The directory every writer of this run writes its OUT files into (the staging
 * directory; its files become OUT's at commit). Valid until cact_outdir_free. */
const char *cact_outdir_stage(const struct cact_outdir *od);

/* 1 if the run commits by swapping directories, 0 if by merging (see above). */
int cact_outdir_swaps(const struct cact_outdir *od);

/* Make the staged files OUT's content, `last` (a name in the staging directory, or
 * NULL) the last to appear. CACT_ERR_IO naming the paths on failure: then OUT is the
 * previous result (swap) or lacks `last` (merge). Call at most once. */
enum cact_status cact_outdir_commit(struct cact_outdir *od, const char *last,
                                    struct cact_err *err);

/* OUT, resolved (realpath). */
const char *cact_outdir_path(const struct cact_outdir *od);

/* A shard: take OUT's lock again (waiting as cact_outdir_begin does) for the commit;
 * held until cact_outdir_free. CACT_OK at once if not shared or already held.
 * CACT_ERR_IO also when OUT was replaced meanwhile (a run that was not a shard swapped
 * it, staging directory included); CACT_ERR_INTERRUPTED. */
enum cact_status cact_outdir_relock(struct cact_outdir *od, struct cact_err *err);

/* With OUT's lock held: remove `first` (may be NULL; the manifest, so that OUT is
 * visibly incomplete from the first removal), then every file of ours in OUT and in
 * its directories of ours, except those keep(name, ctx) returns nonzero for (name
 * relative to OUT: "input_0003.png", "html/px_0003.js"; keep may be NULL); directories
 * of ours left empty go too. Staging directories and files not ours are untouched.
 * Best effort, like a sweep. */
void cact_outdir_clear(struct cact_outdir *od, const char *first,
                       int (*keep)(const char *name, void *ctx), void *ctx);

/* Delete the staging directory if not committed (our files in it, then it), release
 * the lock, free. NULL is fine. */
void cact_outdir_free(struct cact_outdir *od);

/* 1 if name (a directory if is_dir) matches a row of ours (a temporary of such a file
 * included). */
int cact_outdir_is_ours(const struct cact_outdir_name *ours, const char *name, int is_dir);

#endif
