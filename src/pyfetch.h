/* pyfetch.h - torchvision's Python version of CIFAR-10/100 as a data source: check it
 * by the MD5s torchvision publishes, extract it from torchvision's archive, and choose
 * between it and the binary version.
 *
 * Files (torchvision/datasets/cifar.py, CIFAR10 and CIFAR100): under DATA_DIR,
 *   cifar-10-batches-py/{test_batch, data_batch_1..5, batches.meta}
 *   cifar-100-python/{test, train, meta}
 * each with the MD5 torchvision lists (its "meta" entry included); the archives
 * cifar-10-python.tar.gz / cifar-100-python.tar.gz with their tgz_md5. Nothing is
 * downloaded here: the Python version is used when it is already there (or a user's
 * archive is given); the download stays the binary version's (cact_fetch_ensure).
 * A file that verified gets verify.c's stamp (DIR/.NAME.verified), so it is hashed again
 * only when it changes (size, mtime, ctime or inode).
 */
#ifndef CACT_PYFETCH_H
#define CACT_PYFETCH_H

#include "ca.h"
#include "cifar.h"
#include "fetch.h"

/* 1 if the first file (kind, split) needs in the Python version exists. */
int cact_pyfetch_present(const char *data_dir, enum cact_cifar_kind kind,
                         enum cact_cifar_split split);

/* 1 if path's file name is torchvision's archive for kind ("cifar-10-python.tar.gz"). */
int cact_pyfetch_is_archive(const char *path, enum cact_cifar_kind kind);

/* Check every file (o->kind, o->split) needs in the Python version, and the meta file,
 * against torchvision's MD5s (o->test_md5, if set, replaces the table; members it does
 * not list are not digest-checked). CACT_ERR_MISSING naming the file, CACT_ERR_CHECKSUM
 * naming the file with expected and actual digests, CACT_ERR_IO. */
enum cact_status cact_pyfetch_verify(const struct cact_fetch_opts *o, struct cact_err *err);

/* Extract the Python version's files for (o->kind, o->split) from the local archive
 * o->archive into o->data_dir, each member MD5-checked, the archive's own MD5 checked
 * (torchvision's tgz_md5; o->test_md5 may list it by the archive's file name) before
 * anything is renamed into place; on failure nothing is left behind. Errors as
 * cact_archive_* plus CACT_ERR_CHECKSUM for the archive digest. */
enum cact_status cact_pyfetch_extract(const struct cact_fetch_opts *o, struct cact_err *err);

/* Make sure a verified dataset is there and say which version (*used):
 *   o->archive is torchvision's archive: extract it (cact_pyfetch_extract), Python;
 *   else the binary version's first file exists: cact_fetch_ensure, binary;
 *   else (no o->url, o->sha256 or o->archive) the Python version's first file exists:
 *       cact_pyfetch_verify, Python;
 *   else cact_fetch_ensure (downloads the binary version unless offline); if that
 *   reports CACT_ERR_MISSING, its message also says where the Python version comes from.
 * Returns what the step returns. */
enum cact_status cact_pyfetch_ensure(const struct cact_fetch_opts *o,
                                     enum cact_cifar_format *used, struct cact_err *err);

#endif
