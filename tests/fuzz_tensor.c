/* fuzz_tensor.c - libFuzzer target for the --tensor literal parser and the printer
 * (src/tensor.c, src/tensor_print.c): the literal is untrusted command-line text.
 *
 *     make fuzz-tensor && build/fuzz_tensor -max_total_time=60 build/fuzz-tensor-corpus
 *
 * Any input either fails with a message or yields a tensor whose shape multiplies out
 * to its element count; printing it must report a length that matches what a buffer
 * of that size receives, and a too-small buffer must stay NUL-terminated in bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"
#include "tensor_print.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), small[17];
    struct cact_tensor t;
    struct cact_err err;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    cact_err_clear(&err);
    if (cact_tensor_parse(text, &t, &err) == CACT_OK) {
        size_t n = 1;
        for (int d = 0; d < t.ndim; d++)
            n *= t.shape[d];
        if (n != t.n || t.ndim > CACT_TENSOR_MAX_DIM)
            abort();
        (void)cact_tensor_lesson_shape(&t, &err); /* 2-D and empty: refused, t unchanged */
        size_t need = cact_tensor_format(&t, NULL, 0);
        char *s = malloc(need + 1);
        if (s) {
            if (cact_tensor_format(&t, s, need + 1) != need || strlen(s) != need)
                abort();
            free(s);
        }
        if (cact_tensor_format(&t, small, sizeof small) != need ||
            strlen(small) != (need < sizeof small ? need : sizeof small - 1))
            abort();
        cact_tensor_format_shape(&t, small, sizeof small);
    } else if (err.msg[0] == '\0') {
        abort(); /* every failure says why */
    }
    cact_tensor_free(&t);
    free(text);
    return 0;
}
