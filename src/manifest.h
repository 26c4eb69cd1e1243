/* manifest.h - OUT/manifest.json: what a run did, so a person or a script can tell
 * which images, labels and settings every PNG holds. It takes the run's description
 * (run_info.h) and nothing of the orchestrator.
 */
#ifndef CACT_MANIFEST_H
#define CACT_MANIFEST_H

#include "ca.h"
#include "run_info.h"

/* The manifest's file name in OUT. */
#define CACT_MANIFEST_NAME "manifest.json"

/* Write info as JSON to path atomically (cact_write_atomic). CACT_ERR_NOMEM, or
 * CACT_ERR_IO naming the file. */
enum cact_status cact_manifest_write(const char *path, const struct cact_run_info *info,
                                     struct cact_err *err);

#endif
