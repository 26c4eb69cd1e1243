/* kernel_ir.c - one activation kernel on one batch-sized array, for counting its
 * instructions with callgrind (wall time on a shared machine is noise; Ir is not).
 *
 *   make build/tools/kernel_ir
 *   valgrind --tool=callgrind --toggle-collect=cact_act_apply \
 *       --callgrind-out-file=cg.out build/tools/kernel_ir ISA SPEC
 *   grep ^summary cg.out        (Ir inside cact_act_apply)
 *
 * ISA is a name cact_act_kernels_use() takes ("avx2", "default", "generic"; valgrind
 * has no AVX-512, so "avx512f" does not run under it), SPEC an --fn spec ("relu6").
 * Runs the kernel 10 times on 196,608 floats (one batch of 64 images, below the
 * streaming threshold) uniform in [-8, 8], as tools/bench_kernels.c, and prints the
 * sum of the outputs so that nothing is optimized away. Exit 2 on a bad argument. */
#include <stdint.h>
#include <stdio.h>

#include "act.h"
#include "act_kernels.h"

#define N 196608
#define REPS 10

int main(int argc, char **argv)
{
    static float x[N], y[N];
    struct cact_act_fn fn;
    struct cact_err e;
    uint64_t s = 1;
    double sum = 0;

    if (argc != 3 || cact_act_kernels_use(argv[1]) != 0) {
        fprintf(stderr, "usage: kernel_ir ISA SPEC (ISA one this CPU runs)\n");
        return 2;
    }
    if (cact_act_parse(argv[2], &fn, &e) != CACT_OK) {
        fprintf(stderr, "kernel_ir: %s\n", e.msg);
        return 2;
    }
    for (size_t i = 0; i < N; i++) { /* a fixed LCG: the same inputs every run */
        s = s * 6364136223846793005u + 1442695040888963407u;
        x[i] = (float)((double)(s >> 40) / 16777216.0 * 16.0 - 8.0);
    }
    for (int r = 0; r < REPS; r++)
        cact_act_apply(&fn, y, x, 1, 1, N);
    for (size_t i = 0; i < N; i++)
        sum += y[i];
    printf("%s %s sum %.6f\n", cact_act_kernels_isa(), argv[2], sum);
    return 0;
}
