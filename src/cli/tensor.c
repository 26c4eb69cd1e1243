/* tensor.c - --tensor: the lesson's first demo, printed the way PyTorch prints it. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor.h"
#include "tensor_print.h"

/* str(t) into a fresh buffer (NULL when out of memory). */
static char *cli_tensor_str(const struct cact_tensor *t)
{
    size_t n = cact_tensor_format(t, NULL, 0);
    char *s = malloc(n + 1);
    if (s)
        cact_tensor_format(t, s, n + 1);
    return s;
}

int cli_tensor(const struct cli_args *a)
{
    const struct cact_act_chain *chain = &a->run.chain;
    struct cact_tensor x, y;
    struct cact_err err;
    char shape[128], spec[256], call[1024] = "";
    char *xs = NULL, *ys = NULL, *after = NULL;
    int rc = 1;

    cact_err_clear(&err);
    if (cact_tensor_parse(a->tensor, &x, &err) != CACT_OK) {
        cact_tensor_free(&x);
        if (err.code == CACT_ERR_USAGE)
            return cli_usage("--tensor: %s", err.msg);
        cli_error("--tensor: %s", err.msg);
        return 1;
    }
    if (cact_tensor_lesson_shape(&x, &err) != CACT_OK) {
        cact_tensor_free(&x);
        return cli_usage("--tensor: %s", err.msg);
    }
    y = x;
    /* inplace=True: the module writes into the input's own storage. (+1: an empty
     * tensor's buffer is still a buffer.) */
    y.data = a->run.inplace ? x.data : malloc((x.n + 1) * sizeof *y.data);
    xs = cli_tensor_str(&x);
    if (!y.data || !xs) {
        cli_error("--tensor: out of memory");
        goto out;
    }
    if (cact_tensor_apply(chain, &x, y.data, &err) != CACT_OK) {
        rc = cli_usage("--tensor: %s", err.msg);
        goto out;
    }
    ys = cli_tensor_str(&y);
    after = cli_tensor_str(&x);
    if (!ys || !after) {
        cli_error("--tensor: out of memory");
        goto out;
    }
    if (a->quiet) {
        printf("%s\n", ys);
        rc = 0;
        goto out;
    }
    for (int i = 0; i < chain->n; i++) {
        strncat(call, i ? ", then " : "", sizeof call - strlen(call) - 1);
        strncat(call, cact_act_format(&chain->fn[i], spec, sizeof spec),
                sizeof call - strlen(call) - 1);
    }
    /* What the lesson prints: the shape, then the tensors. */
    cact_tensor_format_shape(&x, shape, sizeof shape);
    printf("%s\ninput:\n%s\n", shape, xs);
    printf("output (%s%s, inplace=%s):\n%s\n", chain->n ? "" : "no function", call,
           a->run.inplace ? "True" : "False", ys);
    printf("input after the call (%s):\n%s\n",
           a->run.inplace ? "overwritten: inplace=True" : "unchanged: inplace=False", after);
    rc = 0;
out:
    free(xs);
    free(ys);
    free(after);
    if (!a->run.inplace)
        free(y.data);
    cact_tensor_free(&x);
    return rc;
}
