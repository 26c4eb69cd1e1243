/* cifar.c - CIFAR-10/100 binary files: layout, validation, record reads, batching. */
#include "cifar.h"
#include "pickle.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The meta files are a few hundred bytes; anything far larger is not one. */
#define CIFAR_META_MAX CACT_DATASET_META_MAX
#define CIFAR_MAX_CLASSES 100

struct cifar_file {
    int fd;
    size_t first;  /* dataset index of the file's first record */
    size_t count;  /* records in the file */
    off_t base;    /* offset of the first record: 0, or the pixel array's in a pickle */
    int32_t *labels; /* Python version: [count] labels; NULL: in the records */
    char path[4096];
};

struct cact_cifar_set {
    struct cact_dataset_layout layout;
    enum cact_cifar_label label;
    size_t record;  /* bytes per record: label bytes + CACT_CIFAR_PIXELS */
    size_t count;
    int n_files;
    struct cifar_file files[CACT_CIFAR_MAX_FILES];
    int n_classes;
    char *names[CIFAR_MAX_CLASSES];
    char *meta_buf; /* owns the strings names[] point into */
    enum cact_cifar_format format;
    struct cact_pickle_names py_names; /* Python version: owns the strings instead */
};

/* ---- Opening ---- */

/* The CLI adds how to point at the data or fetch it (CACT_HINT_DATA_DIR). */
static enum cact_status cifar_missing(struct cact_err *err, const char *path, const char *data_dir,
                                    const char *dir)
{
    cact_fail(err, CACT_ERR_MISSING,
              "%s not found: the data directory %s must contain %s/ (the binary version)",
              path, data_dir, dir);
    return cact_hint(err, CACT_HINT_DATA_DIR);
}

static enum cact_status cifar_read_meta(struct cact_cifar_set *s, const char *data_dir,
                                      struct cact_err *err)
{
    char path[4096];
    enum cact_status st = CACT_OK;
    FILE *f = NULL;
    int fd = -1;
    size_t len;

    snprintf(path, sizeof path, "%s/%s/%s", data_dir, s->layout.dir, s->layout.meta);
    /* Not a plain fopen: a FIFO put there would block it for ever. */
    st = cact_open_regular(path, &fd, NULL, err);
    if (st == CACT_ERR_MISSING)
        st = cifar_missing(err, path, data_dir, s->layout.dir);
    if (st != CACT_OK)
        goto out;
    f = fdopen(fd, "rb");
    if (!f) {
        st = cact_fail(err, CACT_ERR_NOMEM, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    fd = -1;
    s->meta_buf = malloc(CIFAR_META_MAX + 1);
    if (!s->meta_buf) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory reading %s", path);
        goto out;
    }
    len = fread(s->meta_buf, 1, CIFAR_META_MAX + 1, f);
    if (ferror(f)) {
        st = cact_fail(err, CACT_ERR_IO, "cannot read %s: %s", path, strerror(errno));
        goto out;
    }
    if (len > CIFAR_META_MAX) {
        st = cact_fail(err, CACT_ERR_FORMAT, "%s: larger than %d bytes, not a class-name list",
                     path, CIFAR_META_MAX);
        goto out;
    }
    s->meta_buf[len] = '\0';
    if (memchr(s->meta_buf, '\0', len)) {
        st = cact_fail(err, CACT_ERR_FORMAT, "%s: contains NUL bytes, not a class-name list", path);
        goto out;
    }
    /* One name per line; blank lines (the official file ends with some) are skipped. */
    for (char *line = s->meta_buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            line[--n] = '\0';
        if (n == 0)
            continue;
        if (s->n_classes == s->layout.n_classes) {
            st = cact_fail(err, CACT_ERR_FORMAT, "%s: more than %d class names", path,
                         s->layout.n_classes);
            goto out;
        }
        s->names[s->n_classes++] = line;
    }
    if (s->n_classes != s->layout.n_classes)
        st = cact_fail(err, CACT_ERR_FORMAT, "%s: %d class names, expected %d", path,
                     s->n_classes, s->layout.n_classes);
out:
    if (f)
        fclose(f);
    if (fd >= 0)
        close(fd);
    return st;
}

static enum cact_status cifar_pread_all(const struct cifar_file *cf, void *buf, size_t len,
                                      off_t off, struct cact_err *err)
{
    return cact_pread_all(cf->fd, buf, len, off, cf->path, err);
}

/* Check every label once at open time, so a corrupt record stops the job before any
 * output is written rather than halfway through. Reads in bounded chunks. */
static enum cact_status cifar_scan_labels(const struct cact_cifar_set *s, const struct cifar_file *cf,
                                        struct cact_err *err)
{
    enum { CHUNK = 256 };
    size_t label_at = (s->layout.label_bytes == 2 && s->label == CACT_CIFAR_LABEL_FINE) ? 1 : 0;
    enum cact_status st = CACT_OK;
    uint8_t *buf = malloc(CHUNK * s->record);

    if (!buf)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory checking %s", cf->path);
    for (size_t r = 0; r < cf->count && st == CACT_OK; r += CHUNK) {
        size_t n = cf->count - r < CHUNK ? cf->count - r : CHUNK;
        st = cifar_pread_all(cf, buf, n * s->record, (off_t)(r * s->record), err);
        for (size_t j = 0; j < n && st == CACT_OK; j++) {
            int label = buf[j * s->record + label_at];
            if (label >= s->layout.n_classes)
                st = cact_fail(err, CACT_ERR_FORMAT,
                             "%s: record %zu has label %d, outside 0..%d (corrupt file?)",
                             cf->path, r + j, label, s->layout.n_classes - 1);
        }
    }
    free(buf);
    return st;
}

/* cact_cifar_open and cact_cifar_open_verified: scan says whether to check every label. */
static enum cact_status cifar_open_impl(struct cact_cifar_set **out, const char *data_dir,
                                      enum cact_cifar_kind kind, enum cact_cifar_split split,
                                      enum cact_cifar_label label, int scan, struct cact_err *err)
{
    enum cact_status st = CACT_OK;
    struct cact_cifar_set *s = calloc(1, sizeof *s);

    *out = NULL;
    if (!s)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    for (int i = 0; i < CACT_CIFAR_MAX_FILES; i++)
        s->files[i].fd = -1;
    st = cact_dataset_layout(kind, split, label, &s->layout, err);
    if (st != CACT_OK)
        goto out;
    s->label = label;
    s->record = (size_t)s->layout.label_bytes + CACT_CIFAR_PIXELS;

    for (int i = 0; i < s->layout.n_files; i++) {
        struct cifar_file *cf = &s->files[i];
        struct stat sb;

        snprintf(cf->path, sizeof cf->path, "%s/%s/%s", data_dir, s->layout.dir,
                 s->layout.files[i]);
        /* Refuses a FIFO or device before any read could block on it. */
        st = cact_open_regular(cf->path, &cf->fd, &sb, err);
        if (st == CACT_ERR_MISSING)
            st = cifar_missing(err, cf->path, data_dir, s->layout.dir);
        if (st != CACT_OK)
            goto out;
        s->n_files = i + 1;
        if (sb.st_size == 0) {
            st = cact_fail(err, CACT_ERR_FORMAT, "%s is empty (0 bytes)", cf->path);
            goto out;
        }
        if ((size_t)sb.st_size % s->record != 0) {
            st = cact_fail(err, CACT_ERR_FORMAT,
                         "%s: size %lld bytes is not a multiple of the %zu-byte record "
                         "(truncated, or not the binary version of %s?)",
                         cf->path, (long long)sb.st_size, s->record,
                         kind == CACT_CIFAR_10 ? "CIFAR-10" : "CIFAR-100");
            goto out;
        }
        cf->first = s->count;
        cf->count = (size_t)sb.st_size / s->record;
        s->count += cf->count;
        st = scan ? cifar_scan_labels(s, cf, err) : CACT_OK;
        if (st != CACT_OK)
            goto out;
    }
    st = cifar_read_meta(s, data_dir, err);
out:
    if (st != CACT_OK)
        cact_cifar_free(s);
    else
        *out = s;
    return st;
}

enum cact_status cact_cifar_open(struct cact_cifar_set **out, const char *data_dir,
                          enum cact_cifar_kind kind, enum cact_cifar_split split,
                          enum cact_cifar_label label, struct cact_err *err)
{
    return cifar_open_impl(out, data_dir, kind, split, label, 1, err);
}

enum cact_status cact_cifar_open_verified(struct cact_cifar_set **out, const char *data_dir,
                                   enum cact_cifar_kind kind, enum cact_cifar_split split,
                                   enum cact_cifar_label label, struct cact_err *err)
{
    return cifar_open_impl(out, data_dir, kind, split, label, 0, err);
}

void cact_cifar_free(struct cact_cifar_set *s)
{
    if (!s)
        return;
    for (int i = 0; i < CACT_CIFAR_MAX_FILES; i++) {
        if (s->files[i].fd >= 0)
            close(s->files[i].fd);
        free(s->files[i].labels);
    }
    free(s->meta_buf);
    cact_pickle_names_free(&s->py_names);
    free(s);
}

size_t cact_cifar_count(const struct cact_cifar_set *s) { return s->count; }
int cact_cifar_n_classes(const struct cact_cifar_set *s) { return s->n_classes; }
const char *cact_cifar_path(const struct cact_cifar_set *s, int file) { return s->files[file].path; }

const char *cact_cifar_class_name(const struct cact_cifar_set *s, int label)
{
    return label >= 0 && label < s->n_classes ? s->names[label] : "?";
}

/* ---- The Python version (torchvision's download) ---- */

const char *const cact_cifar_format_names[CACT_CIFAR_FORMAT_COUNT] = {
    [CACT_CIFAR_FORMAT_BINARY] = "binary",
    [CACT_CIFAR_FORMAT_PYTHON] = "python",
};

void cact_cifar_py_layout_get(enum cact_cifar_kind kind, enum cact_cifar_split split,
                              enum cact_cifar_label label, struct cact_dataset_layout *out)
{
    static const char *const train10[] = {"data_batch_1", "data_batch_2", "data_batch_3",
                                          "data_batch_4", "data_batch_5"};
    memset(out, 0, sizeof *out);
    if (cact_dataset_layout(kind, split, label, out, NULL) != CACT_OK)
        return; /* a kind, split or label outside its enum: dir stays NULL */
    out->label_bytes = 0;
    if (kind == CACT_CIFAR_10) {
        out->dir = "cifar-10-batches-py";
        out->meta = "batches.meta";
        if (split == CACT_CIFAR_TRAIN)
            memcpy(out->files, train10, sizeof train10);
        else
            out->files[0] = "test_batch";
    } else {
        out->dir = "cifar-100-python";
        out->meta = "meta";
        out->files[0] = split == CACT_CIFAR_TRAIN ? "train" : "test";
    }
}

/* The key in the meta pickle that names the classes of the chosen labels. */
static const char *cifar_py_names_key(enum cact_cifar_kind kind, enum cact_cifar_label label)
{
    if (kind == CACT_CIFAR_10)
        return "label_names";
    return label == CACT_CIFAR_LABEL_COARSE ? "coarse_label_names" : "fine_label_names";
}

static enum cact_status cifar_py_file(struct cact_cifar_set *s, struct cifar_file *cf,
                                      enum cact_cifar_kind kind, struct cact_err *err)
{
    struct cact_pickle_batch b;
    int32_t *labels;
    enum cact_status st = cact_pickle_batch_fd(cf->fd, cf->path, &b, err);

    if (st != CACT_OK)
        goto out;
    if (b.cols != CACT_CIFAR_PIXELS || b.rows == 0) {
        st = cact_fail(err, CACT_ERR_FORMAT, "%s: 'data' is %zu x %zu, expected N x %d images",
                       cf->path, b.rows, b.cols, CACT_CIFAR_PIXELS);
        goto out;
    }
    /* CIFAR-100 files carry both label lists: b.labels is the fine one. */
    labels = kind == CACT_CIFAR_100 && s->label == CACT_CIFAR_LABEL_COARSE ? b.coarse : b.labels;
    if (!labels) {
        st = cact_fail(err, CACT_ERR_FORMAT, "%s: no 'coarse_labels' list", cf->path);
        goto out;
    }
    for (size_t r = 0; r < b.rows; r++)
        if (labels[r] >= s->layout.n_classes) {
            st = cact_fail(err, CACT_ERR_FORMAT,
                           "%s: record %zu has label %d, outside 0..%d (corrupt file?)",
                           cf->path, r, (int)labels[r], s->layout.n_classes - 1);
            goto out;
        }
    cf->base = (off_t)b.data_offset;
    cf->count = b.rows;
    cf->labels = labels;
    if (labels == b.coarse)
        b.coarse = NULL;
    else
        b.labels = NULL;
out:
    cact_pickle_batch_free(&b);
    return st;
}

static enum cact_status cifar_py_missing(struct cact_err *err, const char *path)
{
    return cact_fail(err, CACT_ERR_MISSING,
                     "%s not found (the Python version: torchvision.datasets.CIFAR10/100"
                     "(root, download=True) leaves it under root)", path);
}

enum cact_status cact_cifar_open_python(struct cact_cifar_set **out, const char *data_dir,
                                        enum cact_cifar_kind kind, enum cact_cifar_split split,
                                        enum cact_cifar_label label, struct cact_err *err)
{
    enum cact_status st = CACT_OK;
    char path[4096];
    struct cact_cifar_set *s = calloc(1, sizeof *s);

    *out = NULL;
    if (!s)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory");
    for (int i = 0; i < CACT_CIFAR_MAX_FILES; i++)
        s->files[i].fd = -1;
    cact_cifar_py_layout_get(kind, split, label, &s->layout);
    if (!s->layout.dir) {
        free(s);
        return cact_fail(err, CACT_ERR_USAGE, "no such dataset, split or label");
    }
    s->label = label;
    s->format = CACT_CIFAR_FORMAT_PYTHON;
    s->record = CACT_CIFAR_PIXELS;

    for (int i = 0; i < s->layout.n_files; i++) {
        struct cifar_file *cf = &s->files[i];
        snprintf(cf->path, sizeof cf->path, "%s/%s/%s", data_dir, s->layout.dir,
                 s->layout.files[i]);
        cf->fd = open(cf->path, O_RDONLY | O_CLOEXEC);
        if (cf->fd < 0) {
            st = errno == ENOENT ? cifar_py_missing(err, cf->path)
                                 : cact_fail(err, CACT_ERR_IO, "cannot open %s: %s", cf->path,
                                             strerror(errno));
            goto out;
        }
        s->n_files = i + 1;
        st = cifar_py_file(s, cf, kind, err);
        if (st != CACT_OK)
            goto out;
        cf->first = s->count;
        s->count += cf->count;
    }
    snprintf(path, sizeof path, "%s/%s/%s", data_dir, s->layout.dir, s->layout.meta);
    st = cact_pickle_names_read(path, cifar_py_names_key(kind, label), CIFAR_MAX_CLASSES,
                                &s->py_names, err);
    if (st == CACT_ERR_MISSING)
        st = cifar_py_missing(err, path);
    if (st != CACT_OK)
        goto out;
    if (s->py_names.n != s->layout.n_classes) {
        st = cact_fail(err, CACT_ERR_FORMAT, "%s: %d class names, expected %d", path,
                       s->py_names.n, s->layout.n_classes);
        goto out;
    }
    s->n_classes = s->py_names.n;
    for (int k = 0; k < s->n_classes; k++)
        s->names[k] = s->py_names.name[k];
out:
    if (st != CACT_OK)
        cact_cifar_free(s);
    else
        *out = s;
    return st;
}

static int cifar_exists(const char *data_dir, const struct cact_dataset_layout *l)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/%s", data_dir, l->dir, l->files[0]);
    return access(path, F_OK) == 0;
}

enum cact_status cact_cifar_open_any(struct cact_cifar_set **out, const char *data_dir,
                                     enum cact_cifar_kind kind, enum cact_cifar_split split,
                                     enum cact_cifar_label label, int verified,
                                     struct cact_err *err)
{
    struct cact_dataset_layout bin, py;
    *out = NULL;
    enum cact_status lst = cact_dataset_layout(kind, split, label, &bin, err);
    if (lst != CACT_OK)
        return lst;
    cact_cifar_py_layout_get(kind, split, label, &py);
    if (cifar_exists(data_dir, &bin))
        return cifar_open_impl(out, data_dir, kind, split, label, !verified, err);
    if (cifar_exists(data_dir, &py))
        return cact_cifar_open_python(out, data_dir, kind, split, label, err);
    /* Neither: the binary reader's own message (where the binary version comes from),
     * then where the Python version would be and who leaves it there. */
    enum cact_status st = cifar_open_impl(out, data_dir, kind, split, label, !verified, err);
    if (st == CACT_ERR_MISSING && err) {
        char more[2 * CACT_ERR_MSG_MAX];
        snprintf(more, sizeof more, "%s; or the Python version: %s/%s/%s, as "
                 "torchvision.datasets.%s(root, download=True) leaves it", err->msg, data_dir,
                 py.dir, py.files[0], kind == CACT_CIFAR_10 ? "CIFAR10" : "CIFAR100");
        enum cact_hint hint = err->hint; /* the CLI's advice still applies */
        cact_fail(err, CACT_ERR_MISSING, "%s", more);
        cact_hint(err, hint);
    }
    return st;
}

enum cact_cifar_format cact_cifar_format(const struct cact_cifar_set *s) { return s->format; }

/* ---- Reading ---- */

enum cact_status cact_cifar_read(const struct cact_cifar_set *s, const size_t *idx, size_t n,
                          uint8_t *px, int *labels, struct cact_err *err)
{
    enum cact_status st = CACT_OK;
    uint8_t *buf = NULL;
    size_t i = 0;
    /* CIFAR-100 records are [coarse][fine][pixels]. */
    size_t label_at = (s->layout.label_bytes == 2 && s->label == CACT_CIFAR_LABEL_FINE) ? 1 : 0;

    buf = malloc(n * s->record);
    if (!buf)
        return cact_fail(err, CACT_ERR_NOMEM, "out of memory reading a batch of %zu", n);
    while (i < n) {
        int f = 0;
        if (idx[i] >= s->count) {
            st = cact_fail(err, CACT_ERR_USAGE, "image index %zu out of range (%zu images)",
                         idx[i], s->count);
            goto out;
        }
        while (f + 1 < s->n_files && idx[i] >= s->files[f + 1].first)
            f++;
        const struct cifar_file *cf = &s->files[f];
        /* Read runs of consecutive records in one call: an unshuffled batch is one read. */
        size_t run = 1;
        while (i + run < n && idx[i + run] == idx[i] + run &&
               idx[i + run] < cf->first + cf->count)
            run++;
        st = cifar_pread_all(cf, buf, run * s->record,
                             cf->base + (off_t)((idx[i] - cf->first) * s->record), err);
        if (st != CACT_OK)
            goto out;
        for (size_t j = 0; j < run; j++) {
            const uint8_t *rec = buf + j * s->record;
            int label = cf->labels ? cf->labels[idx[i + j] - cf->first] : rec[label_at];
            if (label >= s->layout.n_classes) {
                st = cact_fail(err, CACT_ERR_FORMAT,
                             "%s: record %zu has label %d, outside 0..%d (corrupt file?)",
                             cf->path, idx[i + j] - cf->first, label,
                             s->layout.n_classes - 1);
                goto out;
            }
            labels[i + j] = label;
            memcpy(px + (i + j) * CACT_CIFAR_PIXELS, rec + s->layout.label_bytes, CACT_CIFAR_PIXELS);
        }
        i += run;
    }
out:
    free(buf);
    return st;
}

/* ---- Batches ---- */

static uint64_t cifar_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, bound) without modulo bias (rejection sampling). */
static uint64_t cifar_uniform(uint64_t *state, uint64_t bound)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do
        r = cifar_splitmix64(state);
    while (r >= limit);
    return r % bound;
}

enum cact_status cact_cifar_loader_init(struct cact_cifar_loader *ld, size_t count, size_t batch,
                                 int drop_last, int shuffle, uint64_t seed,
                                 struct cact_err *err)
{
    memset(ld, 0, sizeof *ld);
    if (batch == 0)
        return cact_fail(err, CACT_ERR_USAGE, "batch size must be at least 1");
    ld->count = count;
    ld->batch = batch;
    ld->drop_last = drop_last;
    ld->n_batches = drop_last ? count / batch : (count + batch - 1) / batch;
    if (shuffle && count > 1) {
        uint64_t state = seed;
        ld->order = malloc(count * sizeof *ld->order);
        if (!ld->order)
            return cact_fail(err, CACT_ERR_NOMEM, "out of memory for the shuffle order");
        for (size_t i = 0; i < count; i++)
            ld->order[i] = i;
        for (size_t i = count - 1; i > 0; i--) {
            size_t j = (size_t)cifar_uniform(&state, (uint64_t)i + 1);
            size_t t = ld->order[i];
            ld->order[i] = ld->order[j];
            ld->order[j] = t;
        }
    }
    return CACT_OK;
}

void cact_cifar_loader_free(struct cact_cifar_loader *ld)
{
    free(ld->order);
    ld->order = NULL;
}

size_t cact_cifar_loader_batch(const struct cact_cifar_loader *ld, size_t k, size_t *idx)
{
    if (k >= ld->n_batches)
        return 0;
    size_t start = k * ld->batch;
    size_t n = ld->count - start < ld->batch ? ld->count - start : ld->batch;
    for (size_t i = 0; i < n; i++)
        idx[i] = ld->order ? ld->order[start + i] : start + i;
    return n;
}

/* ---- Names ---- */

const char *const cact_cifar_kind_names[CACT_CIFAR_KIND_COUNT] = {
    [CACT_CIFAR_10] = "cifar10",
    [CACT_CIFAR_100] = "cifar100",
};
const char *const cact_cifar_split_names[CACT_CIFAR_SPLIT_COUNT] = {
    [CACT_CIFAR_TEST] = "test",
    [CACT_CIFAR_TRAIN] = "train",
};
const char *const cact_cifar_label_names[CACT_CIFAR_LABEL_COUNT] = {
    [CACT_CIFAR_LABEL_FINE] = "fine",
    [CACT_CIFAR_LABEL_COARSE] = "coarse",
};
