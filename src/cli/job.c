/* job.c - run the fetch and the job the options describe, and turn the outcome into
 * messages and an exit status. */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ca.h"
#include "pyfetch.h"

volatile sig_atomic_t cli_signal;
/* The library polls this flag (fetch and run options point at it). */
static volatile sig_atomic_t cli_cancel;

static void cli_on_signal(int sig)
{
    cli_signal = sig;
    cli_cancel = 1;
}

void cli_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cli_on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a read from a slow file or a wait for a lock returns EINTR, so
     * Ctrl-C always ends the run; the library then stops with CACT_ERR_INTERRUPTED. */
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_exit_status(enum cact_status code)
{
    if (code == CACT_ERR_INTERRUPTED && cli_signal)
        return 128 + cli_signal;
    return cact_exit_code(code);
}

int cli_fetch(struct cli_args *a)
{
    struct cact_fetch_opts *fo = &a->fetch;
    struct cact_err err;

    cact_err_clear(&err);
    /* Check where the job will write before a possibly long download. */
    if (a->action == CLI_RUN && cact_mkdirs(a->run.out_dir, &err) != CACT_OK) {
        cli_error("--out: %s", err.msg);
        return 1;
    }
    fo->cancel = &cli_cancel;
    a->run.cancel = &cli_cancel;
    if (a->no_verify)
        return 0;
    fo->data_dir = a->run.data_dir;
    fo->kind = a->run.kind;
    fo->split = a->run.split;
    if (!a->quiet && isatty(STDERR_FILENO))
        fo->progress = cli_fetch_progress;
    if (!a->quiet)
        fo->notice = cli_fetch_notice;
    /* pickle helper: the binary version, or torchvision's Python one if that is what
     * is there (or --archive is torchvision's archive); the manifest says which. */
    enum cact_cifar_format used;
    enum cact_status st = cact_pyfetch_ensure(fo, &used, &err);
    cli_progress_end();
    if (st != CACT_OK) {
        cli_error("%s", err.msg);
        return cli_exit_status(err.code);
    }
    if (a->action == CLI_DOWNLOAD_ONLY) {
        if (!a->quiet)
            printf("cifar-act: dataset ready under %s\n", a->run.data_dir);
        return 0;
    }
    a->run.data_verified = 1;
    return 0;
}

int cli_job(struct cli_args *a)
{
    const struct cact_run_opts *ro = &a->run;
    struct cact_run_stats stats;
    struct cact_err err;

    cact_err_clear(&err);
    if (!a->quiet && isatty(STDERR_FILENO))
        a->run.progress = cli_run_progress;
    if (cact_run_job(ro, &stats, &err) != CACT_OK) {
        cli_error("%s", err.msg);
        return cli_exit_status(err.code);
    }
    if (!a->quiet)
        printf("cifar-act: %zu batches, %zu images -> %zu PNG files (%.1f MB) in %s/ "
               "in %.2f s (%.0f images/s)\n",
               stats.batches, stats.images, stats.files, (double)stats.png_bytes / 1e6,
               ro->out_dir, stats.seconds,
               stats.seconds > 0 ? (double)stats.images / stats.seconds : 0.0);
    return 0;
}
