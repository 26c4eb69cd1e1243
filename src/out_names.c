/* out_names.c - the table of out_names.h. */
#include "out_names.h"

#include <stddef.h>

const struct cact_outdir_name cact_run_out_names[] = {
    {"input_", ".png", 0},
    {"output_", ".png", 0},
    {"compare_", ".png", 0},
    {"manifest.json", NULL, 0},
    {"manifest.part-", ".json", 0}, /* part.h: a shard's manifest part */
    {"index.html", NULL, 0},   /* html.h: the viewer */
    {"html", NULL, 1},         /* html.h: OUT/html/px_FFFF.js, a shard's pxshard_KKKK.b64 */
    {"gallery.png", NULL, 0},  /* gallery.h */
    {"gallery.json", NULL, 0},
    {"gallery.html", NULL, 0},
    {NULL, NULL, 0}
};
