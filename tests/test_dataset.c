/* test_dataset.c - the catalogue (dataset.c): every row's invariants, and the loader's
 * view (cact_dataset_layout) against the downloader's (cact_fetch_verify): every file
 * the loader reads is one fetch requires, and with exactly those files present
 * cact_fetch_verify is satisfied (the train split also keeps the test files). */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cifar.h"
#include "dataset.h"
#include "fetch.h"

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs("x", f) == EOF || fclose(f) != 0)
        perror(path);
}

static void check_pair(const char *root, enum cact_cifar_kind kind, enum cact_cifar_split split)
{
    static const struct cact_fetch_md5 no_digests[] = {{NULL, NULL, 0}};
    struct cact_dataset_layout fine, coarse, test;
    struct cact_fetch_opts o;
    struct cact_err e;
    char dir[512], path[800], cmd[600];
    const char *names[2 * CACT_CIFAR_MAX_FILES + 2];
    int n = 0, n_loader;

    CHECK(cact_dataset_layout(kind, split, CACT_CIFAR_LABEL_FINE, &fine, &e) == CACT_OK);
    CHECK(cact_dataset_layout(kind, split, CACT_CIFAR_LABEL_COARSE, &coarse, &e) == CACT_OK);
    for (int i = 0; i < fine.n_files; i++)
        names[n++] = fine.files[i];
    names[n++] = fine.meta;
    if (strcmp(coarse.meta, fine.meta) != 0)
        names[n++] = coarse.meta;
    n_loader = n;
    CHECK(cact_dataset_layout(kind, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, &test, &e) == CACT_OK);
    for (int i = 0; split == CACT_CIFAR_TRAIN && i < test.n_files; i++)
        names[n++] = test.files[i];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'/*", root);
    CHECK(system(cmd) == 0);
    snprintf(dir, sizeof dir, "%s/%s", root, fine.dir);
    CHECK(mkdir(dir, 0777) == 0);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        touch(path);
    }
    cact_fetch_opts_default(&o);
    o.data_dir = root;
    o.kind = kind;
    o.split = split;
    o.offline = 1;
    o.test_md5 = no_digests;
    CHECK_MSG(cact_fetch_verify(&o, &e) == CACT_OK, "%s %d: loader's files do not satisfy fetch: %s",
              fine.dir, split, e.msg);
    /* Each file the loader needs must be one fetch insists on. */
    for (int i = 0; i < n_loader; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
        CHECK_MSG(cact_fetch_verify(&o, &e) != CACT_OK, "fetch does not require %s/%s", fine.dir,
                  names[i]);
        touch(path);
    }
}

/* Every row: names, digests and sizes well formed; records files are whole records;
 * the label count and class counts fit the record layout; the enum has no gaps. */
static void test_rows(void)
{
    struct cact_err e;
    struct cact_dataset_layout l;
    CHECK(cact_dataset_get((enum cact_cifar_kind)CACT_DATASET_KINDS) == NULL);
    CHECK(cact_dataset_layout((enum cact_cifar_kind)7, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, &l,
                              &e) == CACT_ERR_USAGE);
    for (int k = 0; k < CACT_DATASET_KINDS; k++) {
        const struct cact_dataset *ds = cact_dataset_get((enum cact_cifar_kind)k);
        int metas = 0;
        CHECK(ds && ds->label && ds->dir && ds->url && ds->archive);
        if (!ds)
            continue;
        CHECK(strstr(ds->url, ds->archive) != NULL);
        CHECK(ds->archive_size > 0 && ds->sha256 && strlen(ds->sha256) == 64);
        CHECK(ds->label_bytes == 1 || ds->label_bytes == 2);
        CHECK(ds->n_files > 0 && ds->n_files <= CACT_DATASET_MAX_FILES);
        for (int i = 0; i < ds->n_files; i++) {
            const struct cact_dataset_file *f = &ds->files[i];
            CHECK(f->name && strchr(f->name, '/') == NULL);
            if (f->role == CACT_DATASET_RECORDS) {
                CHECK_MSG(f->md5 && strlen(f->md5) == 32, "%s has no MD5", f->name);
                CHECK_MSG(f->size && f->size % (uint64_t)(ds->label_bytes + 3072) == 0,
                          "%s: size %llu is not whole records", f->name,
                          (unsigned long long)f->size);
            } else {
                metas++;
                CHECK(f->size <= CACT_DATASET_META_MAX);
            }
        }
        CHECK(metas >= 1);
        CHECK_EQ_INT(cact_dataset_images((enum cact_cifar_kind)k, CACT_CIFAR_TEST), 10000);
        CHECK_EQ_INT(cact_dataset_images((enum cact_cifar_kind)k, CACT_CIFAR_TRAIN), 50000);
    }
}

int main(void)
{
    test_rows();
    char root[256], cmd[300];
    snprintf(root, sizeof root, "%s/test_dataset.XXXXXX", check_env("TMPDIR", "/tmp"));
    if (!mkdtemp(root))
        return 2;
    check_pair(root, CACT_CIFAR_10, CACT_CIFAR_TEST);
    check_pair(root, CACT_CIFAR_10, CACT_CIFAR_TRAIN);
    check_pair(root, CACT_CIFAR_100, CACT_CIFAR_TEST);
    check_pair(root, CACT_CIFAR_100, CACT_CIFAR_TRAIN);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return check_summary("test_dataset");
}
