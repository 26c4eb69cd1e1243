/* part.h - a shard's manifest part: OUT/manifest.part-KKKK.json.
 *
 * A sharded run (--shard K/N in the CLI) is N processes, each doing the batches k with
 * k mod N == K into one OUT. Each shard records what it did in its part: the run's
 * settings (canonical, the same bytes in every shard of the same run), and for each of
 * its batches what the manifest and the viewer need (indices, labels, statistics, clip
 * counts, the byte histogram). Whoever merges (run.c) reads the N parts back and writes
 * OUT/manifest.json and OUT/index.html from them alone: no dataset, no options.
 *
 * "The same run" is the run id: FNV-1a-64 of the settings' JSON text, as 16 hex
 * digits. The settings include N, the total batch count and the log directory, not K
 * or the thread count, which do not change the output.
 *
 * The reader takes the file's bytes as untrusted: a bounded JSON parser (size, depth,
 * the fields it knows, each checked for type and range), every function spec through
 * cact_act_parse, and CACT_ERR_FORMAT naming the file and the field for anything else.
 */
#ifndef CACT_PART_H
#define CACT_PART_H

#include <stddef.h>

#include "ca.h"
#include "html.h"     /* cact_html_hist */
#include "run_info.h"

/* OUT/manifest.part-KKKK.json (K with at least 4 digits). */
#define CACT_PART_PREFIX "manifest.part-"
#define CACT_PART_SUFFIX ".json"
#define CACT_PART_MAX_SHARDS 1024
/* Largest part file read. A batch's record is about 4 KB with the viewer's histogram
 * (3 x 256 counts), 0.6 KB without: the train set in batches of 64 in one shard is
 * 3 MB. The reader's tree takes up to ~40 bytes per byte of text (a node per number),
 * so this also bounds its memory. */
#define CACT_PART_MAX_BYTES ((size_t)64 << 20)

/* What a part records besides the run's description. */
struct cact_part_meta {
    size_t shard, shards;   /* K, N */
    int jobs;               /* the shard's worker threads (the page shows them) */
    int html, html_pixels;  /* index.html written at the merge; with html_pixels each
                               shard stages html/pxshard_KKKK.b64 and the merge writes
                               html/px_FFFF.js from them (html.h) */
    int use_lut;            /* the lookup-table path (the page says which) */
    const char *logdir;     /* resolved log directory, or NULL */
    const char *event;      /* the shard's event file name in logdir, or NULL */
};

/* The settings' JSON text for in and m (K and jobs left out) and the run id:
 * malloc'ed text into *text (the caller frees), 16 hex digits and NUL into id.
 * CACT_ERR_NOMEM. */
enum cact_status cact_part_settings(const struct cact_run_info *in,
                                    const struct cact_part_meta *m, char **text, char id[17],
                                    struct cact_err *err);

/* Write the part for shard m->shard of in (in->batches indexed by global batch number,
 * in->n_batches of them, this shard's filled; hists likewise, or NULL without html)
 * to path atomically (cact_write_atomic). CACT_ERR_NOMEM, CACT_ERR_IO naming the file. */
enum cact_status cact_part_write(const char *path, const struct cact_run_info *in,
                                 const struct cact_part_meta *m, const cact_html_hist *hists,
                                 struct cact_err *err);

/* A part read back. info describes the run (its class names, chain and grid point into
 * this struct) with info.batches NULL; the shard's batches are batches[0..n_mine), of
 * global numbers ks[], with hists[] (NULL without html). Strings are owned here. */
struct cact_part {
    char run[17];
    struct cact_part_meta meta;
    struct cact_run_info info;
    struct cact_act_chain chain;
    struct cact_grid_opts grid;
    size_t n_mine;
    size_t *ks;
    struct cact_run_batch *batches;
    cact_html_hist *hists;
    void *mem; /* private */
};

/* Parse len bytes of a part (name: for messages). *p NULL on failure.
 * CACT_ERR_FORMAT naming name and what is wrong, CACT_ERR_NOMEM. */
enum cact_status cact_part_parse(const char *text, size_t len, const char *name,
                                 struct cact_part **p, struct cact_err *err);

/* Read and parse the file at path (at most CACT_PART_MAX_BYTES, a regular file).
 * Errors of cact_open_regular, CACT_ERR_IO, and those of cact_part_parse. */
enum cact_status cact_part_read(const char *path, struct cact_part **p, struct cact_err *err);

void cact_part_free(struct cact_part *p);

/* If name is a part's file name, its K (>= 0); else -1. */
long cact_part_name_shard(const char *name);

#endif
