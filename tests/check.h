/* check.h - the tiny test harness every tests/test_*.c includes.
 *
 * CHECK(cond) and friends count one check each and print file:line on failure; a test
 * program ends with `return check_summary("name");`, which prints
 * "name: N passed, N failed" and returns the exit status. tests/run-tests.sh adds up
 * those lines. Paths: CA_BUILD (build dir), CA_BIN (the cifar-act binary) and
 * CA_SHARED (../shared by default) come from the environment the runner sets.
 */
#ifndef CHECK_H
#define CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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

static const char *check_env(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

/* Write a fixture file dir/rel; a test that cannot write its fixtures stops (exit 2). */
static void check_write_file(const char *dir, const char *rel, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
}

static int check_summary(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
