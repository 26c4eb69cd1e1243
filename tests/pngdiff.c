/* pngdiff.c - exit 0 when two PNG files decode (stb_image) to the same RGB pixels, 1
 * when they differ (saying where), 2 when one cannot be read. For the shell tests,
 * which must compare images by decoded pixels, never by bytes. */
#include <stdio.h>
#include <string.h>

#include <stb_image.h>

int main(int argc, char **argv)
{
    int w[2], h[2], comp, rc = 2;
    unsigned char *p[2] = {NULL, NULL};
    if (argc != 3) {
        fprintf(stderr, "usage: pngdiff A.png B.png\n");
        return 2;
    }
    for (int i = 0; i < 2; i++)
        if (!(p[i] = stbi_load(argv[1 + i], &w[i], &h[i], &comp, 3))) {
            fprintf(stderr, "pngdiff: %s: %s\n", argv[1 + i], stbi_failure_reason());
            goto out;
        }
    rc = 1;
    if (w[0] != w[1] || h[0] != h[1]) {
        fprintf(stderr, "pngdiff: sizes differ: %dx%d, %dx%d\n", w[0], h[0], w[1], h[1]);
        goto out;
    }
    for (size_t i = 0; i < (size_t)w[0] * (size_t)h[0] * 3; i++)
        if (p[0][i] != p[1][i]) {
            fprintf(stderr, "pngdiff: first difference at pixel (%zu, %zu)\n",
                    i / 3 % (size_t)w[0], i / 3 / (size_t)w[0]);
            goto out;
        }
    rc = 0;
out:
    stbi_image_free(p[0]);
    stbi_image_free(p[1]);
    return rc;
}
