/* cli.h - the pieces of the cifar-act command line (src/cli/), shared between its files.
 *
 * The CLI is the only code that parses argv, prints or exits. main.c dispatches;
 * args.c turns argv (and the CIFAR_ACT_* environment) into options for the library;
 * msg.c formats every message; progress.c draws the progress lines; job.c runs the
 * fetch and the job and maps their status to an exit code.
 */
#ifndef CACT_CLI_H
#define CACT_CLI_H

#include <signal.h>
#include <stddef.h>

#include "fetch.h"
#include "gallery.h"
#include "run.h"

/* --gallery takes at most this many functions. */
#define CLI_GALLERY_MAX 64

/* What the command line asked for. */
enum cli_action { CLI_RUN, CLI_DOWNLOAD_ONLY, CLI_LIST, CLI_HELP, CLI_VERSION, CLI_TENSOR,
                  CLI_MERGE };

struct cli_args {
    enum cli_action action;
    struct cact_run_opts run;
    struct cact_fetch_opts fetch;
    int quiet;
    int list_long;  /* --list --long: the wide table */
    int no_verify;
    /* --gallery [NAMES]: one batch through many functions instead of the job. */
    int gallery;
    size_t n_gallery;                       /* 0: every element-wise function */
    struct cact_act_fn gallery_fns[CLI_GALLERY_MAX];
    size_t gallery_batch;                   /* --gallery-batch K */
    int out_given;    /* --out was on the command line (--logdir alone writes no PNGs) */
    const char *tensor; /* --tensor LIST (CLI_TENSOR) */
    const char *shard_spec; /* --shard K/N, auto or auto/N (resolved into run.shard[s]) */
};

/* ---- args.c ---- */

/* Parse argv into a (defaults first, then CIFAR_ACT_DATA, then the options).
 * Returns 0, or the exit status (2) after printing a usage error. */
int cli_parse(int argc, char **argv, struct cli_args *a);

/* --help and --list on stdout; 0, or 1 if stdout could not be written. --list fits
 * 80 columns (formulas wrapped under each name); wide: one row per function. */
int cli_help(void);
int cli_list(int wide);

/* ---- msg.c ---- */

/* "cifar-act: <message>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A library failure: its message, plus the remedy in our options' terms when the
 * library gave a hint (err->hint, enum cact_hint in ca.h). */
void cli_fail(const struct cact_err *err);

/* A usage error: "cifar-act: <message> (see cifar-act --help)"; returns 2, the exit
 * status for usage errors, so parsers can `return cli_usage(...)`. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Flush stdout and check it: a full disk or a closed pipe is an error (exit 1), not a
 * silent success. Returns rc if stdout is fine, else 1 after saying why. */
int cli_stdout_done(int rc);

/* one for n == 1, else many: "1 batch", "2 batches", "0 batches". */
const char *cli_plural(size_t n, const char *one, const char *many);

/* ---- progress.c ---- */

/* Progress and notice callbacks for the library; they print to stderr. */
void cli_run_progress(const struct cact_run_progress *p, void *ctx);
void cli_fetch_progress(const struct cact_fetch_progress *p, void *ctx);
void cli_fetch_notice(const char *msg, void *ctx);
/* End a progress line still open on the terminal (before an error or the summary). */
void cli_progress_end(void);

/* ---- job.c ---- */

/* Set by the SIGINT/SIGTERM handler: the signal number, 0 while none came. */
extern volatile sig_atomic_t cli_signal;

/* Install the SIGINT/SIGTERM handlers: sigaction without SA_RESTART, so a blocking
 * read or wait returns EINTR and the library sees the cancel flag. */
void cli_signals_install(void);

/* Make sure the dataset is there and verified (cact_pyfetch_ensure: the binary version,
 * or torchvision's Python one when that is what is there), unless --no-verify.
 * Returns 0 or the exit status after printing the error. */
int cli_fetch(struct cli_args *a);

/* Run the job (cact_run_job) and print its summary. Returns the exit status. */
int cli_job(struct cli_args *a);

/* --merge DIR (cact_run_merge) and its summary. Returns the exit status. */
int cli_merge(struct cli_args *a);

/* Run the gallery (cact_gallery_run) instead of the job. Returns the exit status. */
int cli_gallery(struct cli_args *a);
/* Print the end-of-run report of what the grids clipped (not with --quiet). */
void cli_clip_report(const struct cli_args *a, const struct cact_run_stats *st);

/* ---- tensor.c ---- */

/* --tensor: parse the literal, run the chain, print shape, output and the input after
 * the call as PyTorch prints them. Returns the exit status. */
int cli_tensor(const struct cli_args *a);

/* Exit status for a failed library call: cact_exit_code(), except that an interrupted
 * call exits 128 + the signal's number (130 for SIGINT, 143 for SIGTERM), as shells do. */
int cli_exit_status(enum cact_status code);

#endif
