/* out_names.h - every kind of file a cifar-act job (run.c's run, gallery.c's gallery)
 * puts in OUT, for cact_outdir_begin (outdir.h): one table, so each job recognises the
 * other's files as ours. A writer that adds a file to OUT adds its row. Not installed. */
#ifndef CACT_OUT_NAMES_H
#define CACT_OUT_NAMES_H

#include "outdir.h"

/* Ends with a row whose prefix is NULL. */
extern const struct cact_outdir_name cact_run_out_names[];

#endif
