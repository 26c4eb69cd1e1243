/* tblog.h - a job's TensorBoard log: per batch, what the lesson's SummaryWriter
 * records, written to one event file (tfevent.h) in step order.
 *
 * Per step (= batch index): add_images("input") and add_images("output") - the
 * TensorBoard-style grids (CACT_GRID_TENSORBOARD, ncols 8, no padding, scale 1, PNG at
 * the job's level) - and add_histogram("input/values"), ("output/values") over every
 * value of the batch, with TensorBoard's default buckets. Once, at step 0, a text
 * summary "settings" (Markdown) given by the caller.
 *
 * Inputs are the batch's bytes ([n][3][32*32] uint8, as read from the dataset) and,
 * for chains that are not element-wise, the output floats ([n][3][32*32]). For an
 * element-wise chain the output is a table per channel and byte, so a byte histogram
 * per channel gives every value's exact count without touching 196,608 floats.
 */
#ifndef CACT_TBLOG_H
#define CACT_TBLOG_H

#include <stddef.h>
#include <stdint.h>

#include "act.h"
#include "ca.h"

struct cact_tblog;

/* Open DIR/events.out.tfevents.* (cact_tfevent_writer_open), or DIR/name if name is
 * not NULL (cact_tfevent_writer_open_as), and write the settings text (NULL: none).
 * chain: the job's transform and functions (copied); png_level: cact_pngw_encode's
 * level. CACT_ERR_IO / CACT_ERR_NOMEM; *t NULL then. */
enum cact_status cact_tblog_open(struct cact_tblog **t, const char *dir, const char *name,
                                 const struct cact_act_chain *chain, int png_level,
                                 const char *settings_md, struct cact_err *err);

/* The steps this log gets: first, first + stride, ... (a shard's batches; by default
 * 0, 1, 2, ...). Call before the first cact_tblog_batch; stride >= 1. */
void cact_tblog_steps(struct cact_tblog *t, size_t first, size_t stride);

/* The event file's path (owned by t). */
const char *cact_tblog_path(const struct cact_tblog *t);

/* Record batch `step` (each of cact_tblog_steps' once, any order, any thread): n images in px.
 * hist: per-channel byte tallies of px (or NULL: counted here). out: the output floats
 * of a chain that is not element-wise; NULL for an element-wise chain (the table is
 * used). Encodes here, in the caller's thread; the records reach the file once every
 * earlier step's have. CACT_ERR_IO (the file), CACT_ERR_NOMEM, CACT_ERR_USAGE (out
 * NULL for a chain that needs it). */
enum cact_status cact_tblog_batch(struct cact_tblog *t, size_t step, const uint8_t *px,
                                  size_t n, const size_t hist[CACT_ACT_CHANNELS][256],
                                  const float *out, struct cact_err *err);

/* Close the file and free t (NULL ok); errors as cact_tfevent_writer_close. */
enum cact_status cact_tblog_close(struct cact_tblog *t, struct cact_err *err);

/* The settings text for cact_tblog_open, as a Markdown table, into buf (always
 * NUL-terminated): the function chain with every parameter, Normalize, batch size,
 * and the caller's extra rows ("| name | value |\n" lines, may be NULL). Returns buf. */
char *cact_tblog_settings(char *buf, size_t size, const struct cact_act_chain *chain,
                          size_t batch, const char *extra_rows);

#endif
