/* cact_example.c - libcifaract from an installed tree: batch 0 of the CIFAR-10 test
 * set, sigmoid, one PNG grid (what `cifar-act --fn sigmoid` writes as output_0000.png).
 *   cc cact_example.c $(pkg-config --cflags --libs cifar-act) -o cact_example
 *   ./cact_example DATA_DIR OUT.png      (DATA_DIR contains cifar-10-batches-bin/) */
#include <stdio.h>
#include <stdlib.h>

#include <cifar-act/act.h>
#include <cifar-act/cifar.h>
#include <cifar-act/grid.h>
#include <cifar-act/pngw.h>

int main(int argc, char **argv)
{
    struct cact_err err;
    struct cact_cifar_set *set = NULL;          /* cact_cifar_open / cact_cifar_free */
    struct cact_cifar_loader ld = {0};          /* _init / _free */
    struct cact_act_chain chain = {0};          /* plain struct, nothing to free */
    struct cact_grid_opts grid;
    size_t idx[64];
    int labels[64], w, h, rc = 1;
    uint8_t *px = NULL, *rgb = NULL;            /* ours: malloc / free */
    float *x = NULL;

    if (argc != 3) {
        fprintf(stderr, "usage: %s DATA_DIR OUT.png\n", argv[0]);
        return 2;
    }
    if (cact_cifar_open(&set, argv[1], CACT_CIFAR_10, CACT_CIFAR_TEST,
                        CACT_CIFAR_LABEL_FINE, &err) != CACT_OK ||
        cact_cifar_loader_init(&ld, cact_cifar_count(set), 64, 0, 0, 0, &err) != CACT_OK ||
        cact_act_parse("sigmoid", &chain.fn[0], &err) != CACT_OK)
        goto out;
    chain.n = 1;

    size_t n = cact_cifar_loader_batch(&ld, 0, idx);     /* batch 0: images 0..63 */
    px = malloc(n * CACT_CIFAR_PIXELS);
    x = malloc(n * CACT_CIFAR_PIXELS * sizeof *x);
    cact_grid_opts_default(&grid);                       /* save_image(nrow=8, padding=2) */
    cact_grid_size(&grid, n, &w, &h);
    rgb = malloc((size_t)w * (size_t)h * 3);
    if (!px || !x || !rgb) {
        cact_fail(&err, CACT_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (cact_cifar_read(set, idx, n, px, labels, &err) != CACT_OK)
        goto out;
    cact_act_to_tensor(&chain, x, px, n, CACT_CIFAR_PLANE);  /* ToTensor: x / 255 */
    cact_act_chain_apply(&chain, x, n, CACT_CIFAR_PLANE);    /* sigmoid, in place */
    cact_grid_render(&grid, x, n, rgb);
    if (cact_pngw_write_atomic(argv[2], rgb, w, h, CACT_PNGW_DEFAULT_LEVEL, NULL, &err)
        != CACT_OK)
        goto out;
    printf("%s: %zu images, first label %s\n", argv[2], n,
           cact_cifar_class_name(set, labels[0]));
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "cact_example: %s\n", err.msg);
    free(rgb);
    free(x);
    free(px);
    cact_cifar_loader_free(&ld);
    cact_cifar_free(set);
    return rc;
}
