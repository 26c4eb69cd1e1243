/* progress.c - the progress bars on stderr (only when it is a terminal and not --quiet;
 * job.c decides), drawn by bar.c: one for the download, one for the batches. */
#include "cli.h"

#include <stdio.h>

#include "bar.h"

static struct cli_bar progress_run, progress_fetch;
static int progress_run_started, progress_fetch_started;
static uint64_t progress_resumed; /* the resume offset last announced */

void cli_progress_end(void)
{
    cli_bar_end(&progress_fetch);
    cli_bar_end(&progress_run);
}

void cli_run_progress(const struct cact_run_progress *p, void *ctx)
{
    char count[64], rate[64];
    (void)ctx;
    if (!progress_run_started) {
        cli_bar_init(&progress_run, stderr, "batch");
        progress_run_started = 1;
    }
    double img_s = p->seconds > 0 ? (double)p->images_done / p->seconds : 0;
    /* Batches take about the same time each, so the rest takes what they took so far. */
    double eta = p->batches_done > 0 ? p->seconds / (double)p->batches_done *
                                           (double)(p->batches_total - p->batches_done)
                                     : -1;
    snprintf(count, sizeof count, "%zu/%zu", p->batches_done, p->batches_total);
    if (img_s > 0)
        snprintf(rate, sizeof rate, "%.0f img/s", img_s);
    else
        snprintf(rate, sizeof rate, "-- img/s");
    int last = p->batches_done == p->batches_total;
    cli_bar_draw(&progress_run, p->batches_done, p->batches_total, count, rate, eta,
                 last || p->batches_done <= 1);
    if (last)
        cli_bar_end(&progress_run);
}

static void progress_mb(char *buf, size_t size, double bytes_per_s)
{
    if (bytes_per_s >= 1e6)
        snprintf(buf, size, "%.2f MB/s", bytes_per_s / 1e6);
    else if (bytes_per_s > 0)
        snprintf(buf, size, "%.0f kB/s", bytes_per_s / 1e3);
    else
        snprintf(buf, size, "-- kB/s");
}

void cli_fetch_progress(const struct cact_fetch_progress *p, void *ctx)
{
    char count[64], rate[64];
    if (!progress_fetch_started) {
        /* ctx: the label job.c chose ("extract" for --archive), NULL for "download". */
        cli_bar_init(&progress_fetch, stderr, ctx ? (const char *)ctx : "download");
        progress_fetch_started = 1;
    }
    int force = 0;
    if (p->resumed_from && p->resumed_from != progress_resumed) {
        /* On its own line, above the bar: where this transfer picked up. */
        cli_bar_end(&progress_fetch);
        if (p->total)
            fprintf(stderr, "cifar-act: resuming at %.1f of %.1f MB\n",
                    (double)p->resumed_from / 1e6, (double)p->total / 1e6);
        else
            fprintf(stderr, "cifar-act: resuming at %.1f MB\n", (double)p->resumed_from / 1e6);
        force = 1;
    }
    progress_resumed = p->resumed_from;
    if (p->total)
        snprintf(count, sizeof count, "%.1f/%.1f MB", (double)p->done / 1e6,
                 (double)p->total / 1e6);
    else
        snprintf(count, sizeof count, "%.1f MB", (double)p->done / 1e6);
    progress_mb(rate, sizeof rate, p->rate);
    cli_bar_draw(&progress_fetch, p->done, p->total, count, rate, p->eta,
                 force || (p->total && p->done >= p->total));
}

/* The fetch is about to wait (a retry, another process's lock): say so, on a line of
 * its own. */
void cli_fetch_notice(const char *msg, void *ctx)
{
    (void)ctx;
    cli_progress_end();
    cli_error("%s", msg);
}
