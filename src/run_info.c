/* run_info.c - the name table beside enum cact_run_layout (run_info.h). */
#include "run_info.h"

const char *const cact_run_layout_names[CACT_RUN_LAYOUT_COUNT] = {
    [CACT_RUN_LAYOUT_SEPARATE] = "separate",
    [CACT_RUN_LAYOUT_PAIRS] = "pairs",
};

const struct cact_outdir_name cact_run_out_names[] = {
    {"input_", ".png", 0},
    {"output_", ".png", 0},
    {"compare_", ".png", 0},
    {"manifest.json", NULL, 0},
    {"index.html", NULL, 0},   /* html.h: the viewer */
    {"html", NULL, 1},         /* html.h: OUT/html/px_KKKK.js */
    {"gallery.png", NULL, 0},  /* gallery.h */
    {"gallery.json", NULL, 0},
    {"gallery.html", NULL, 0},
    {NULL, NULL, 0}
};
