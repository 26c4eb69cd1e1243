/* meter.h - a transfer's progress: how fast bytes arrive and when they will be done.
 *
 * The caller counts the bytes; the meter turns them into a rate and an ETA and says
 * when a report is due, at most every CACT_METER_PERIOD_S seconds (so a callback that
 * redraws a progress bar runs a few times a second, not once a chunk). The rate is a
 * moving average over those periods (0.7 old + 0.3 new), so one slow or fast period
 * does not swing the ETA. Times come from cact_now_s() (monotonic seconds). Plain
 * struct, nothing to free; no I/O, never prints.
 */
#ifndef CACT_METER_H
#define CACT_METER_H

#include <stdint.h>

#define CACT_METER_PERIOD_S 0.25 /* at most four reports a second */

struct cact_meter {
    double t_last;   /* cact_now_s() at the start or the last report */
    uint64_t b_last; /* bytes done then */
    double rate;     /* bytes per second, moving average; 0 until the first report */
};

/* Start (or start again) at `done` bytes, now: the rate begins from nothing, as after
 * a new connection or a restart at byte 0. */
void cact_meter_start(struct cact_meter *m, uint64_t done);

/* `done` bytes of `total` (0: total unknown) so far. Returns 0, changing nothing, when
 * less than CACT_METER_PERIOD_S has passed since the last report and force is 0.
 * Otherwise folds the bytes since then into the rate and returns 1 with *rate (bytes
 * per second, 0 while unknown) and *eta: seconds left at that rate, 0 when done >=
 * total, < 0 when unknown (no total, or no rate yet). A count that went backwards
 * leaves the rate as it was. */
int cact_meter_update(struct cact_meter *m, uint64_t done, uint64_t total, int force,
                      double *rate, double *eta);

#endif
