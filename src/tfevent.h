/* tfevent.h - TensorBoard event files: TFRecord framing, the protobuf messages
 * TensorBoard reads (Event, Summary, Image, HistogramProto, text tensors), the
 * default histogram buckets, and a writer that puts records on disk in step order.
 *
 * Wire format, written from tensorboard/compat/proto/{event,summary,histogram,
 * tensor}.proto (proto3: zero scalars and empty strings are not on the wire):
 *   Event        wall_time=1 double, step=2 int64, file_version=3 string, summary=5
 *   Summary      value=1 (repeated)
 *   Value        tag=1, image=4, histo=5, tensor=8, metadata=9
 *   Image        height=1, width=2, colorspace=3, encoded_image_string=4
 *   HistogramProto min=1 max=2 num=3 sum=4 sum_squares=5 (doubles),
 *                bucket_limit=6, bucket=7 (packed doubles)
 *   TensorProto  dtype=1 (DT_STRING = 7), tensor_shape=2, string_val=8
 *   SummaryMetadata plugin_data=1 { plugin_name=1, content=2 }
 * TFRecord: uint64 length (little-endian), uint32 masked_crc32c(length bytes),
 * payload, uint32 masked_crc32c(payload); masked = ((c >> 15) | (c << 17)) + 0xa282ead8,
 * CRC-32C (Castagnoli) from ISA-L's crc32_iscsi.
 *
 * Nothing here knows CIFAR or the CLI: tblog.c decides what goes in the file.
 */
#ifndef CACT_TFEVENT_H
#define CACT_TFEVENT_H

#include <stddef.h>
#include <stdint.h>

#include "ca.h"

/* ---- CRC ---- */

/* CRC-32C of n bytes (init ~0, final xor ~0): crc32c("123456789") == 0xE3069283. */
uint32_t cact_tfevent_crc32c(const void *data, size_t n);

/* TFRecord's masked CRC: ((c >> 15) | (c << 17)) + 0xa282ead8 of crc32c(data). */
uint32_t cact_tfevent_masked_crc(const void *data, size_t n);

/* ---- Protobuf encoder ----
 * A growable byte buffer. Appending never fails at the call: an allocation failure
 * sets `oom`, later appends do nothing, and the builders below report CACT_ERR_NOMEM.
 * Zero-initialize (`struct cact_tfevent_pb b = {0};`), free with cact_tfevent_pb_free. */
struct cact_tfevent_pb {
    uint8_t *data;
    size_t len, cap;
    int oom;
};

/* Frees data, back to all-zero; NULL ok. */
void cact_tfevent_pb_free(struct cact_tfevent_pb *b);
void cact_tfevent_pb_raw(struct cact_tfevent_pb *b, const void *p, size_t n);
void cact_tfevent_pb_varint(struct cact_tfevent_pb *b, uint64_t v); /* base-128, low groups first */
void cact_tfevent_pb_fixed32(struct cact_tfevent_pb *b, uint32_t v); /* little-endian */
void cact_tfevent_pb_fixed64(struct cact_tfevent_pb *b, uint64_t v); /* little-endian */
/* Field key: (field << 3) | wire type (0 varint, 1 fixed64, 2 length-delimited). */
void cact_tfevent_pb_key(struct cact_tfevent_pb *b, unsigned field, unsigned wire);
/* Scalar fields with proto3's default rule: a zero value writes nothing. A double is
 * "zero" only when all 64 bits are (so -0.0 and NaN are written). int64 values are
 * written as two's complement varints (10 bytes when negative), as protobuf does. */
void cact_tfevent_pb_int(struct cact_tfevent_pb *b, unsigned field, int64_t v);
void cact_tfevent_pb_double(struct cact_tfevent_pb *b, unsigned field, double v);
/* A length-delimited field (string or bytes); n == 0 writes nothing (proto3). */
void cact_tfevent_pb_bytes(struct cact_tfevent_pb *b, unsigned field, const void *p, size_t n);
/* Packed repeated double: key, byte length, n little-endian doubles; nothing if n == 0. */
void cact_tfevent_pb_packed_double(struct cact_tfevent_pb *b, unsigned field, const double *v,
                                   size_t n);
/* A sub-message of unknown length: begin writes the key and returns a mark; end
 * writes the length (shifting the body when it needs more than one varint byte).
 * An empty sub-message is still on the wire (its presence is the information). */
size_t cact_tfevent_pb_begin(struct cact_tfevent_pb *b, unsigned field);
void cact_tfevent_pb_end(struct cact_tfevent_pb *b, size_t mark);

/* ---- Histograms ----
 * TensorBoard's default buckets, as torch.utils.tensorboard's SummaryWriter builds them
 * for add_histogram(bins="tensorflow"): v = 1e-12, multiplied by 1.1 while v < 1e20,
 * mirrored to the negatives, with 0 in the middle: CACT_TFEVENT_HISTO_EDGES edges,
 * one fewer buckets. A value counts in bucket i when edge[i] <= v < edge[i+1] (the
 * last bucket includes its upper edge), numpy.histogram's rule; values outside the
 * edges and NaN are counted in num/min/max/sum but in no bucket, as numpy does. */
#define CACT_TFEVENT_HISTO_EDGES 1549

/* The edges, ascending; built once, thread-safe. */
const double *cact_tfevent_histo_edges(void);

struct cact_tfevent_histo {
    /* min/max: +inf/-inf while empty, NaN once a NaN was added (numpy's min/max). */
    double min, max, num, sum, sum_squares;
    double count[CACT_TFEVENT_HISTO_EDGES - 1];
};

void cact_tfevent_histo_init(struct cact_tfevent_histo *h);
/* Add `count` copies of v (count >= 0; a histogram of bytes passes its tallies). */
void cact_tfevent_histo_add(struct cact_tfevent_histo *h, double v, double count);
void cact_tfevent_histo_add_floats(struct cact_tfevent_histo *h, const float *x, size_t n);

/* ---- Records ----
 * Each builder appends one whole framed TFRecord holding one Event to out.
 * Return CACT_OK, or CACT_ERR_NOMEM (out->oom set; out may hold a partial record). */

/* Event{wall_time, file_version: "brain.Event:2"}: the first record of every file. */
enum cact_status cact_tfevent_file_version(struct cact_tfevent_pb *out, double wall_time);

/* Event{wall_time, step, summary{value{tag, image{height, width, colorspace 3 (RGB),
 * encoded_image_string: png}}}}: what SummaryWriter.add_image(s) writes. */
enum cact_status cact_tfevent_image(struct cact_tfevent_pb *out, double wall_time, int64_t step,
                                    const char *tag, int width, int height,
                                    const void *png, size_t png_len);

/* Event{..., summary{value{tag, histo: HistogramProto}}} with torch's make_histogram
 * trimming: the buckets from the one before the first non-empty bucket to the last
 * non-empty one, each bucket_limit the bucket's upper edge (the first is an empty
 * bucket whose upper edge is the lowest value's lower edge). A histogram with no value
 * in any bucket (empty, or only NaN/out-of-range values) gets no buckets. */
enum cact_status cact_tfevent_histo_event(struct cact_tfevent_pb *out, double wall_time,
                                          int64_t step, const char *tag,
                                          const struct cact_tfevent_histo *h);

/* Event{..., summary{value{tag, metadata{plugin_data{plugin_name: "text"}},
 * tensor{dtype: DT_STRING, tensor_shape: {} (a scalar), string_val: text}}}}: what the
 * text plugin's text_pb writes; TensorBoard renders text as Markdown. */
enum cact_status cact_tfevent_text(struct cact_tfevent_pb *out, double wall_time, int64_t step,
                                   const char *tag, const char *text);

/* Seconds since the Unix epoch, as the writers' wall_time (gettimeofday). */
double cact_tfevent_wall_time(void);

/* ---- Writer ---- */

struct cact_tfevent_writer;

/* Create dir (mkdir -p) and in it a new file named as TensorBoard's EventFileWriter
 * names its own: "events.out.tfevents.<%010d unix seconds>.<hostname>.<pid>.<n>", n
 * counting the writers this process opened (from 0). The name is claimed with
 * O_EXCL, so an existing file is never touched (n is bumped past it). Writes the
 * file_version record. CACT_ERR_IO naming the path, or CACT_ERR_NOMEM; *w is NULL then. */
enum cact_status cact_tfevent_writer_open(struct cact_tfevent_writer **w, const char *dir,
                                          struct cact_err *err);

/* The same, but the file is dir/name, created or truncated (a file of the caller's,
 * e.g. a shard's, that a killed attempt may have left). CACT_ERR_USAGE if name is
 * empty or has a '/'. */
enum cact_status cact_tfevent_writer_open_as(struct cact_tfevent_writer **w, const char *dir,
                                             const char *name, struct cact_err *err);

/* The file's path (owned by w). */
const char *cact_tfevent_writer_path(const struct cact_tfevent_writer *w);

/* Append the records in recs now (one write(2), no user-space buffering, so a reader
 * or a kill sees whole records). For records that come before any sequenced ones.
 * Not to be called concurrently with put. recs is left as it was. CACT_ERR_IO. */
enum cact_status cact_tfevent_writer_write(struct cact_tfevent_writer *w,
                                           const struct cact_tfevent_pb *recs,
                                           struct cact_err *err);

/* Hand over the records of sequence number seq (0, 1, 2, ... each exactly once, in any
 * order, from any thread). They reach the file in sequence order: seq is written as
 * soon as every lower number has been, each sequence number's records in one write(2).
 * wall_time never decreases in file order: a record built earlier than one already
 * written takes that one's time (its CRC is recomputed), as if stamped in step order.
 * Takes ownership of recs->data (recs is zeroed). After a write error every call
 * returns that error (CACT_ERR_IO naming the file); CACT_ERR_USAGE for a seq already
 * handed over; CACT_ERR_NOMEM. */
enum cact_status cact_tfevent_writer_put(struct cact_tfevent_writer *w, size_t seq,
                                         struct cact_tfevent_pb *recs, struct cact_err *err);

/* Close the file and free w (NULL ok). CACT_ERR_IO if close(2) or an earlier write
 * failed, or CACT_ERR_FORMAT if sequence numbers are missing below the highest one
 * handed over (their successors were never written). w is freed in every case. */
enum cact_status cact_tfevent_writer_close(struct cact_tfevent_writer *w, struct cact_err *err);

/* ---- Merging ---- */

/* Combine the event files dir/names[0..n) (a sharded run's: each in step order,
 * disjoint steps) into one new file in dir named as cact_tfevent_writer_open names
 * them, into out_path (size bytes; may be NULL): one file_version record, then every
 * other record of the inputs ordered by step, ties in input order (so names[0]'s
 * records at a step come first), each file's own order kept; wall_time made
 * non-decreasing as the writer does. Written whole under a name TensorBoard ignores
 * (".cifar-act-merge.*.tmp"), then renamed, never over a file. The inputs are left.
 * Every record's framing and both CRCs are checked: CACT_ERR_FORMAT naming the file
 * and offset; errors of cact_open_regular; CACT_ERR_IO, CACT_ERR_NOMEM. */
enum cact_status cact_tfevent_merge(const char *dir, const char *const *names, size_t n,
                                    char *out_path, size_t size, struct cact_err *err);

#endif
