/* progress.c - the progress lines on stderr (only when it is a terminal; job.c decides). */
#include "cli.h"

#include <stdio.h>

/* Set while a progress line is on the terminal, so the next message starts a line. */
static int progress_open;

void cli_progress_end(void)
{
    if (progress_open)
        fputc('\n', stderr);
    progress_open = 0;
}

void cli_run_progress(const struct cact_run_progress *p, void *ctx)
{
    static double last = -1;
    (void)ctx;
    /* A terminal needs no more than ten updates a second; the last one always shows. */
    if (p->batches_done != p->batches_total && last >= 0 && p->seconds - last < 0.1)
        return;
    last = p->seconds;
    double rate = p->seconds > 0 ? (double)p->images_done / p->seconds : 0;
    fprintf(stderr, "\rbatch %zu/%zu  %zu images  %.0f images/s ", p->batches_done,
            p->batches_total, p->images_done, rate);
    progress_open = 1;
    if (p->batches_done == p->batches_total)
        cli_progress_end();
}

void cli_fetch_progress(const struct cact_fetch_progress *p, void *ctx)
{
    (void)ctx;
    progress_open = 1;
    double mb = (double)p->done / 1e6;
    if (p->total)
        fprintf(stderr, "\rdownload %.1f/%.1f MB %3.0f%%  %.2f MB/s  ETA %s%.0f s ", mb,
                (double)p->total / 1e6, 100.0 * (double)p->done / (double)p->total,
                p->rate / 1e6, p->eta < 0 ? "?" : "", p->eta < 0 ? 0.0 : p->eta);
    else
        fprintf(stderr, "\rdownload %.1f MB  %.2f MB/s ", mb, p->rate / 1e6);
}

/* The fetch is about to wait (a retry, another process's lock): say so, on a line of
 * its own. */
void cli_fetch_notice(const char *msg, void *ctx)
{
    (void)ctx;
    cli_error("%s", msg);
}
