/* pyfetch.c - torchvision's Python version as a data source: see pyfetch.h. */
#include "pyfetch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "archive.h"
#include "verify.h"

#define PYF_CHUNK (1 << 20)

/* ---- torchvision's table (torchvision/datasets/cifar.py) ---- */

struct pyf_file {
    const char *name;
    const char *md5;
};

struct pyf_source {
    const char *archive;     /* torchvision's filename */
    const char *archive_md5; /* tgz_md5 */
    const char *url;         /* for messages only: nothing here downloads */
    struct pyf_file test, train[5], meta;
    int n_train;
};

static const struct pyf_source pyf_sources[] = {
    [CACT_CIFAR_10] = {
        "cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        { "test_batch", "40351d587109b95175f43aff81a1287e" },
        { { "data_batch_1", "c99cafc152244af753f735de768cd75f" },
          { "data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec" },
          { "data_batch_3", "54ebc095f3ab1f0389bbae665268c751" },
          { "data_batch_4", "634d18415352ddfa80567beed471001a" },
          { "data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb" } },
        { "batches.meta", "5ff9c542aee3614f3951f8cda6e48888" }, 5,
    },
    [CACT_CIFAR_100] = {
        "cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85",
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        { "test", "f0ef6b0ae62326f3e7ffdfab6717acfc" },
        { { "train", "16019d7e3df5f24257cddd939b257f8d" } },
        { "meta", "7973b15100ade9c7d40fb424638fde48" }, 1,
    },
};

/* The files (kind, split) needs, meta last; returns how many. */
static int pyf_files(enum cact_cifar_kind kind, enum cact_cifar_split split,
                     const struct pyf_file **out)
{
    const struct pyf_source *src = &pyf_sources[kind];
    int n = 0;
    if (split == CACT_CIFAR_TRAIN)
        for (int k = 0; k < src->n_train; k++)
            out[n++] = &src->train[k];
    else
        out[n++] = &src->test;
    out[n++] = &src->meta;
    return n;
}

static const char *pyf_dir(enum cact_cifar_kind kind)
{
    struct cact_dataset_layout l;
    cact_cifar_py_layout_get(kind, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, &l);
    return l.dir;
}

/* The expected MD5 of name: the tests' table when given, else torchvision's. */
static const char *pyf_md5(const struct cact_fetch_opts *o, const char *name, const char *official)
{
    if (!o->test_md5)
        return official;
    for (const struct cact_fetch_md5 *t = o->test_md5; t->member; t++)
        if (strcmp(t->member, name) == 0)
            return t->md5;
    return NULL;
}

static const char *pyf_base(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ---- Checks ---- */

int cact_pyfetch_present(const char *data_dir, enum cact_cifar_kind kind,
                         enum cact_cifar_split split)
{
    const struct pyf_file *f[8];
    char path[4096];
    pyf_files(kind, split, f);
    snprintf(path, sizeof path, "%s/%s/%s", data_dir, pyf_dir(kind), f[0]->name);
    return access(path, F_OK) == 0;
}

int cact_pyfetch_is_archive(const char *path, enum cact_cifar_kind kind)
{
    return path && strcmp(pyf_base(path), pyf_sources[kind].archive) == 0;
}

/* Stamps in verify.c's format, in its place for our layout (DIR/.NAME.verified), so a
 * verified file is not hashed again until it changes. */
static void pyf_stamp_path(char *buf, size_t size, const char *data_dir,
                           enum cact_cifar_kind kind, const char *name)
{
    snprintf(buf, size, "%s/%s/.%s.verified", data_dir, pyf_dir(kind), name);
}

/* Present, a regular file and (when its digest is known) of torchvision's MD5: by
 * verify.c, with this source's words for a missing file and a wrong digest. */
enum cact_status cact_pyfetch_verify(const struct cact_fetch_opts *o, struct cact_err *err)
{
    const struct pyf_file *f[8];
    int n = pyf_files(o->kind, o->split, f);
    char path[4096], stamp[4200];
    struct cact_err e;

    for (int k = 0; k < n; k++) {
        const char *want = pyf_md5(o, f[k]->name, f[k]->md5);
        enum cact_status st;
        snprintf(path, sizeof path, "%s/%s/%s", o->data_dir, pyf_dir(o->kind), f[k]->name);
        pyf_stamp_path(stamp, sizeof stamp, o->data_dir, o->kind, f[k]->name);
        cact_err_clear(&e);
        st = cact_verify_file(path, stamp, want, 0, &e);
        if (st == CACT_ERR_MISSING)
            return cact_fail(err, CACT_ERR_MISSING, "%s not found (the Python version is "
                             "incomplete; torchvision's %s has it)", path,
                             pyf_sources[o->kind].archive);
        if (st == CACT_ERR_CHECKSUM)
            return cact_fail(err, st, "%s (torchvision's published digest)", e.msg);
        if (st != CACT_OK) {
            if (err)
                *err = e;
            return st;
        }
    }
    return CACT_OK;
}

/* ---- Extraction from torchvision's archive ---- */

enum cact_status cact_pyfetch_extract(const struct cact_fetch_opts *o, struct cact_err *err)
{
    const struct pyf_source *src = &pyf_sources[o->kind];
    const struct pyf_file *f[8];
    int n = pyf_files(o->kind, o->split, f);
    char names[8][4200], dests[8][4200], dir[4096], hex[CACT_ARCHIVE_MD5_HEX];
    struct cact_archive_member m[8];
    struct cact_archive *a = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *buf = malloc(PYF_CHUNK), d[EVP_MAX_MD_SIZE];
    unsigned dn = 0;
    FILE *in = NULL;
    size_t got;
    enum cact_status st;

    if (!md || !buf || EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1) {
        st = cact_fail(err, CACT_ERR_NOMEM, "out of memory");
        goto out;
    }
    snprintf(dir, sizeof dir, "%s/%s", o->data_dir, pyf_dir(o->kind));
    st = cact_mkdirs(dir, err);
    if (st != CACT_OK)
        goto out;
    for (int k = 0; k < n; k++) {
        snprintf(names[k], sizeof names[k], "%s/%s", pyf_dir(o->kind), f[k]->name);
        snprintf(dests[k], sizeof dests[k], "%s/%s", dir, f[k]->name);
        m[k] = (struct cact_archive_member){ names[k], dests[k], pyf_md5(o, f[k]->name, f[k]->md5), 0 };
    }
    st = cact_archive_new(&a, m, n, err);
    if (st != CACT_OK)
        goto out;
    in = fopen(o->archive, "rb");
    if (!in) {
        st = cact_fail(err, errno == ENOENT ? CACT_ERR_MISSING : CACT_ERR_IO,
                       "cannot open %s: %s", o->archive, strerror(errno));
        goto out;
    }
    while (st == CACT_OK && (got = fread(buf, 1, PYF_CHUNK, in)) > 0) {
        if (EVP_DigestUpdate(md, buf, got) != 1)
            st = cact_fail(err, CACT_ERR_NOMEM, "MD5 update failed");
        else
            st = cact_archive_feed(a, buf, got, err);
        if (st == CACT_OK && o->cancel && *o->cancel)
            st = cact_fail(err, CACT_ERR_INTERRUPTED, "interrupted extracting %s", o->archive);
    }
    if (st == CACT_OK && ferror(in))
        st = cact_fail(err, CACT_ERR_IO, "cannot read %s: %s", o->archive, strerror(errno));
    if (st == CACT_OK)
        st = cact_archive_finish(a, err);
    if (st != CACT_OK)
        goto out;
    if (EVP_DigestFinal_ex(md, d, &dn) != 1) {
        st = cact_fail(err, CACT_ERR_NOMEM, "MD5 final failed");
        goto out;
    }
    cact_hex(d, dn, hex);
    /* The archive's digest before anything is renamed into place. */
    const char *want = pyf_md5(o, src->archive, src->archive_md5);
    if (want && strcasecmp(hex, want) != 0) {
        st = cact_fail(err, CACT_ERR_CHECKSUM, "%s: MD5 %s, expected %s (torchvision's "
                       "published digest of %s)", o->archive, hex, want, src->archive);
        goto out;
    }
    st = cact_archive_commit(a, err);
out:
    if (in)
        fclose(in);
    cact_archive_free(a);
    free(buf);
    EVP_MD_CTX_free(md);
    return st;
}

/* ---- The choice ---- */

enum cact_status cact_pyfetch_ensure(const struct cact_fetch_opts *o,
                                     enum cact_cifar_format *used, struct cact_err *err)
{
    struct cact_dataset_layout bin;
    char path[4096];
    enum cact_status st;

    *used = CACT_CIFAR_FORMAT_BINARY;
    if ((unsigned)o->kind >= CACT_CIFAR_KIND_COUNT || (unsigned)o->split >= CACT_CIFAR_SPLIT_COUNT)
        return cact_fetch_ensure(o, err); /* it says what is wrong with the options */
    if (cact_pyfetch_is_archive(o->archive, o->kind)) {
        *used = CACT_CIFAR_FORMAT_PYTHON;
        st = cact_pyfetch_extract(o, err);
        return st == CACT_OK ? cact_pyfetch_verify(o, err) : st;
    }
    st = cact_dataset_layout(o->kind, o->split, CACT_CIFAR_LABEL_FINE, &bin, err);
    if (st != CACT_OK)
        return st;
    snprintf(path, sizeof path, "%s/%s/%s", o->data_dir, bin.dir, bin.files[0]);
    /* A download source given (--url/--sha256 style options, or an archive) asks for the
     * binary version; otherwise what is already there is used. */
    if (!o->archive && !o->url && !o->sha256 && access(path, F_OK) != 0 &&
        cact_pyfetch_present(o->data_dir, o->kind, o->split)) {
        *used = CACT_CIFAR_FORMAT_PYTHON;
        return cact_pyfetch_verify(o, err);
    }
    *used = CACT_CIFAR_FORMAT_BINARY;
    st = cact_fetch_ensure(o, err);
    if (st == CACT_ERR_MISSING && err) {
        char more[2 * CACT_ERR_MSG_MAX];
        snprintf(more, sizeof more, "%s; or the Python version: %s/%s/ as "
                 "torchvision.datasets.%s(root, download=True) leaves it, or its archive %s (%s)",
                 err->msg, o->data_dir, pyf_dir(o->kind),
                 o->kind == CACT_CIFAR_10 ? "CIFAR10" : "CIFAR100", pyf_sources[o->kind].archive,
                 pyf_sources[o->kind].url);
        enum cact_hint hint = err->hint; /* the CLI's advice still applies */
        cact_fail(err, CACT_ERR_MISSING, "%s", more);
        cact_hint(err, hint);
    }
    return st;
}
