/* act_id.h - the names of act_table's rows and their two kinds: everything the
 * activation kernels (act_kernels.h) need to know about the table, so the kernels and
 * the table (act.h) both include this and neither includes the other.
 * Included by act.h; a program uses it through act.h.
 */
#ifndef CACT_ACT_ID_H
#define CACT_ACT_ID_H

/* The rows of the table, in its order (also --list's). */
enum cact_act_id {
    CACT_ACT_RELU,
    CACT_ACT_RELU6,
    CACT_ACT_LEAKY_RELU,
    CACT_ACT_RRELU,
    CACT_ACT_ELU,
    CACT_ACT_SELU,
    CACT_ACT_CELU,
    CACT_ACT_GELU,
    CACT_ACT_SILU,
    CACT_ACT_MISH,
    CACT_ACT_SIGMOID,
    CACT_ACT_HARDSIGMOID,
    CACT_ACT_TANH,
    CACT_ACT_HARDTANH,
    CACT_ACT_HARDSWISH,
    CACT_ACT_HARDSHRINK,
    CACT_ACT_SOFTSHRINK,
    CACT_ACT_TANHSHRINK,
    CACT_ACT_SOFTPLUS,
    CACT_ACT_SOFTSIGN,
    CACT_ACT_LOGSIGMOID,
    CACT_ACT_THRESHOLD,
    CACT_ACT_PRELU,
    CACT_ACT_IDENTITY,
    CACT_ACT_SOFTMAX,
    CACT_ACT_LOG_SOFTMAX,
    CACT_ACT_SOFTMIN,
    CACT_ACT_COUNT
};

/* Element-wise (each output from its own input) or over the channels of each pixel. */
enum cact_act_kind {
    CACT_ACT_KIND_ELEM,
    CACT_ACT_KIND_CHAN
};

#endif
