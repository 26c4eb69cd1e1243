/* run_info.c - the name table beside enum cact_run_layout (run_info.h). */
#include "run_info.h"

const char *const cact_run_layout_names[CACT_RUN_LAYOUT_COUNT] = {
    [CACT_RUN_LAYOUT_SEPARATE] = "separate",
    [CACT_RUN_LAYOUT_PAIRS] = "pairs",
};
