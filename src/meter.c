/* meter.c - rate and ETA of a transfer; see meter.h. */
#include "meter.h"

#include "ca.h"

void cact_meter_start(struct cact_meter *m, uint64_t done)
{
    m->t_last = cact_now_s();
    m->b_last = done;
    m->rate = 0;
}

int cact_meter_update(struct cact_meter *m, uint64_t done, uint64_t total, int force,
                      double *rate, double *eta)
{
    double t = cact_now_s(), dt = t - m->t_last;

    if (!force && dt < CACT_METER_PERIOD_S)
        return 0;
    if (dt > 0 && done >= m->b_last) {
        double inst = (double)(done - m->b_last) / dt;
        m->rate = m->rate > 0 ? 0.7 * m->rate + 0.3 * inst : inst;
    }
    m->t_last = t;
    m->b_last = done;
    *rate = m->rate;
    *eta = total > done && m->rate > 0 ? (double)(total - done) / m->rate
           : total && total <= done ? 0
                                    : -1;
    return 1;
}
