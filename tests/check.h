/* check.h - the tiny test harness every tests/test_*.c includes.
 *
 * CHECK(cond) and friends count one check each and print file:line on failure; a test
 * program ends with `return check_summary("name");`, which prints
 * "name: N passed, N failed" and returns the exit status. tests/run-tests.sh adds up
 * those lines. Paths: CA_BUILD (build dir), CA_BIN (the cifar-act binary) and
 * CA_DATA (the real dataset: check_data_dir()) come from the environment the runner
 * sets.
 */
#ifndef CHECK_H
#define CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "act_kernels.h"

/* The kernel choice the CLI takes from the environment (src/cli/args.c), taken here
 * for every test program before main: make test-generic sets CIFAR_ACT_GENERIC=1 so
 * the portable kernels are the ones tested. The library reads no environment. */
__attribute__((constructor)) static void check_kernels_from_env(void)
{
    const char *g = getenv("CIFAR_ACT_GENERIC"), *isa = getenv("CIFAR_ACT_ISA");
    if (g && *g && strcmp(g, "0") != 0)
        cact_act_kernels_set_generic(1);
    else if (isa && *isa && cact_act_kernels_use(isa) != 0)
        fprintf(stderr, "check.h: CIFAR_ACT_ISA=%s is not available here\n", isa);
}

static int check_passed, check_failed;

#define CHECK_MSG(cond, ...)                                                 \
    do {                                                                     \
        if (cond) {                                                          \
            check_passed++;                                                  \
        } else {                                                             \
            check_failed++;                                                  \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)

#define CHECK(cond) CHECK_MSG(cond, "check failed")
#define CHECK_EQ_INT(a, b)                                                   \
    CHECK_MSG((long long)(a) == (long long)(b), "%lld != %lld",              \
              (long long)(a), (long long)(b))
#define CHECK_NEAR(a, b, tol)                                                \
    CHECK_MSG(fabs((double)(a) - (double)(b)) <= (tol), "%.9g vs %.9g (tol %g)", \
              (double)(a), (double)(b), (double)(tol))

static inline const char *check_env(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

/* Write a fixture file dir/rel; a test that cannot write its fixtures stops (exit 2). */
static inline void check_write_file(const char *dir, const char *rel, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

static inline int check_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

/* The directory holding the real CIFAR-10 test set (cifar-10-batches-bin/), by the one
 * rule of tests/lib.sh's cact_find_data: tests/run-tests.sh finds it once and sets
 * CA_DATA; a test run alone applies the same order ($CIFAR_ACT_DATA, ./data,
 * ../shared). NULL, after one line saying where it looked, if none has it. */
static inline const char *check_data_dir(void)
{
    static char found[4096];
    const char *cand[3] = { getenv("CA_DATA"), NULL, NULL };
    char probe[4200];

    if (found[0])
        return found;
    if (!cand[0] || !*cand[0]) {
        cand[0] = getenv("CIFAR_ACT_DATA");
        cand[1] = "data";
        cand[2] = "../shared";
    }
    for (int i = 0; i < 3; i++) {
        FILE *f;
        if (!cand[i] || !*cand[i])
            continue;
        snprintf(probe, sizeof probe, "%s/cifar-10-batches-bin/test_batch.bin", cand[i]);
        if ((f = fopen(probe, "rb")) != NULL) {
            fclose(f);
            snprintf(found, sizeof found, "%s", cand[i]);
            return found;
        }
    }
    fprintf(stderr, "the real CIFAR-10 test set is in none of $CA_DATA, $CIFAR_ACT_DATA, "
                    "./data, ../shared (each would hold cifar-10-batches-bin/test_batch.bin)\n");
    return NULL;
}

#endif
