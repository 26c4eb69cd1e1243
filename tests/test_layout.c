/* test_layout.c - the loader (cact_cifar_layout_get) and the downloader (fetch's table)
 * must agree on which files a dataset is: every file the loader reads is one fetch
 * requires, and with exactly those files present cact_fetch_verify is satisfied (the
 * train split also keeps the test files, which fetch always wants). */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cifar.h"
#include "fetch.h"

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs("x", f) == EOF || fclose(f) != 0)
        perror(path);
}

static void check_pair(const char *root, enum cact_cifar_kind kind, enum cact_cifar_split split)
{
    static const struct cact_fetch_md5 no_digests[] = {{NULL, NULL}};
    struct cact_cifar_layout fine, coarse, test;
    struct cact_fetch_opts o;
    struct cact_err e;
    char dir[512], path[800], cmd[600];
    const char *names[2 * CACT_CIFAR_MAX_FILES + 2];
    int n = 0, n_loader;

    cact_cifar_layout_get(kind, split, CACT_CIFAR_LABEL_FINE, &fine);
    cact_cifar_layout_get(kind, split, CACT_CIFAR_LABEL_COARSE, &coarse);
    for (int i = 0; i < fine.n_files; i++)
        names[n++] = fine.files[i];
    names[n++] = fine.meta;
    if (strcmp(coarse.meta, fine.meta) != 0)
        names[n++] = coarse.meta;
    n_loader = n;
    cact_cifar_layout_get(kind, CACT_CIFAR_TEST, CACT_CIFAR_LABEL_FINE, &test);
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

int main(void)
{
    char root[256], cmd[300];
    snprintf(root, sizeof root, "%s/test_layout.XXXXXX", check_env("TMPDIR", "/tmp"));
    if (!mkdtemp(root))
        return 2;
    check_pair(root, CACT_CIFAR_10, CACT_CIFAR_TEST);
    check_pair(root, CACT_CIFAR_10, CACT_CIFAR_TRAIN);
    check_pair(root, CACT_CIFAR_100, CACT_CIFAR_TEST);
    check_pair(root, CACT_CIFAR_100, CACT_CIFAR_TRAIN);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    return check_summary("test_layout");
}
