/* bar.c - the CLI's progress bar (bar.h). */
#include "bar.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double bar_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int cli_term_cols(int fd)
{
    struct winsize ws;
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    int n = c ? atoi(c) : 0;
    return n > 0 ? n : 80;
}

void cli_bar_eta(char *buf, size_t size, double eta, int stalled)
{
    if (stalled) {
        snprintf(buf, size, "stalled");
        return;
    }
    /* A rate near zero makes remaining/rate meaningless (it once showed 8864666368195
     * s); past 99 hours, say we do not know. */
    if (!(eta >= 0) || eta > 99 * 3600.0) {
        snprintf(buf, size, "--:--");
        return;
    }
    unsigned long s = (unsigned long)(eta + 0.5);
    if (s >= 3600)
        snprintf(buf, size, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, size, "%lu:%02lu", s / 60, s % 60);
}

void cli_bar_format(char *buf, size_t size, int cols, const char *label, const char *count,
                    double frac, const char *rate, const char *eta)
{
    char left[128], right[128];
    int max = cols - 1, n;

    snprintf(left, sizeof left, "%s  %s", label, count);
    /* The bar takes what is left. On a narrow terminal the rate goes first, so that a
     * bar of at least 10 columns stays; below 5 there is no bar. */
    int room = -1;
    for (int with_rate = 1; with_rate >= 0; with_rate--) {
        if (frac >= 0)
            snprintf(right, sizeof right, "  %3.0f%%%s%s  ETA %s",
                     100.0 * (frac > 1 ? 1 : frac), with_rate ? "  " : "",
                     with_rate ? rate : "", eta);
        else
            snprintf(right, sizeof right, "  %s", rate);
        room = max - (int)strlen(left) - (int)strlen(right) - 3;
        if (room >= 10 || frac < 0)
            break;
    }
    if (room < 5)
        room = 0;
    if (frac >= 0 && room > 0) {
        int fill = (int)(frac * room + 1e-9);
        fill = fill < 0 ? 0 : fill > room ? room : fill;
        n = snprintf(buf, size, "%s [", left);
        for (int i = 0; i < room && n + 2 < (int)size; i++)
            buf[n++] = i < fill ? '#' : '-';
        buf[n] = '\0';
        snprintf(buf + n, size - (size_t)n, "]%s", right);
    } else {
        snprintf(buf, size, "%s%s", left, right);
    }
    if (max > 0 && strlen(buf) > (size_t)max)
        buf[max] = '\0';
}

void cli_bar_init(struct cli_bar *b, FILE *out, const char *label)
{
    memset(b, 0, sizeof *b);
    b->out = out;
    b->label = label;
    b->t_draw = -1;
    b->t_change = bar_now();
}

void cli_bar_draw(struct cli_bar *b, uint64_t done, uint64_t total, const char *count,
                  const char *rate, double eta, int force)
{
    char line[512], when[32];
    double t = bar_now();

    if (done > b->done || b->t_draw < 0)
        b->t_change = t;
    b->done = done;
    /* A terminal needs no more than ten updates a second. */
    if (!force && b->t_draw >= 0 && t - b->t_draw < 0.1)
        return;
    b->t_draw = t;
    int stalled = (!total || done < total) && t - b->t_change >= CLI_BAR_STALL_S;
    cli_bar_eta(when, sizeof when, total && done >= total ? 0 : eta, stalled);
    int cols = cli_term_cols(fileno(b->out));
    cli_bar_format(line, sizeof line, cols, b->label, count,
                   total ? (double)done / (double)total : -1, rate, when);
    /* Pad to the width so a shorter line wipes the longer one before it. */
    fprintf(b->out, "\r%-*s", cols - 1 > 0 ? cols - 1 : 0, line);
    fflush(b->out);
    b->on_screen = 1;
}

void cli_bar_end(struct cli_bar *b)
{
    if (b->on_screen)
        fputc('\n', b->out);
    b->on_screen = 0;
}
