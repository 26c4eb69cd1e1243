/* bar.h - the CLI's progress bar on a terminal, curl/pip style: one line, redrawn in
 * place, sized to the terminal's width:
 *
 *   download  22.2/162.6 MB [#########-----------------]  14%  3.10 MB/s  ETA 0:45
 *   batch  37/157 [##########------------------------]  24%  15360 img/s  ETA 0:02
 *
 * The CLI only (it prints); the caller decides whether stderr is a terminal and
 * whether --quiet is set. Not thread-safe: run and fetch serialize their callbacks. */
#ifndef CACT_CLI_BAR_H
#define CACT_CLI_BAR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct cli_bar {
    FILE *out;             /* the terminal (stderr) */
    const char *label;     /* "download", "batch" */
    double t_draw;         /* when last drawn (monotonic seconds), < 0: never */
    double t_change;       /* when `done` last grew */
    uint64_t done;         /* the last value seen */
    int on_screen;         /* a bar line is showing: end it before other output */
};

/* A bar labelled label (a static string), drawing on out. Nothing is drawn yet. */
void cli_bar_init(struct cli_bar *b, FILE *out, const char *label);

/* Redraw with done of total units (total 0: unknown, no bar or percentage);
 * count is what to show for them ("22.2/162.6 MB", "37/157"), rate the speed ("3.10
 * MB/s"), eta in seconds (< 0 unknown: "--:--"). When done has not grown for
 * CLI_BAR_STALL_S seconds the ETA shows "stalled". At most ten draws a second, except
 * with force (the first and the last draw). */
#define CLI_BAR_STALL_S 3.0
void cli_bar_draw(struct cli_bar *b, uint64_t done, uint64_t total, const char *count,
                  const char *rate, double eta, int force);

/* End the bar's line (newline) if one is showing, so the next message starts a line. */
void cli_bar_end(struct cli_bar *b);

/* ---- Pieces, exposed for the CLI's tests of formatting ---- */

/* "0:45", "12:05", "1:02:03"; "--:--" for eta < 0 or above 99 hours; "stalled". */
void cli_bar_eta(char *buf, size_t size, double eta, int stalled);

/* The line for a terminal cols wide (at most cols - 1 characters, so the cursor never
 * wraps): label, count, [bar] when frac >= 0 and room is left, percentage, rate, ETA. */
void cli_bar_format(char *buf, size_t size, int cols, const char *label, const char *count,
                    double frac, const char *rate, const char *eta);

/* Columns of the terminal on fd (TIOCGWINSZ), else $COLUMNS, else 80. */
int cli_term_cols(int fd);

#endif
