/* act.h - ToTensor/Normalize and PyTorch's activation functions, as one table.
 *
 * Data is float32, laid out like a PyTorch batch: [n][3][32*32] (NCHW, plane = H*W).
 * Formulas, parameter names and defaults follow PyTorch 1.13 (torch.nn).
 * To add an activation: add a row to act_table in act.c (and regenerate the goldens
 * with tools/gen_golden_kernels.py); tests/test_act.c iterates the table.
 */
#ifndef CACT_ACT_H
#define CACT_ACT_H

#include <stddef.h>
#include <stdint.h>

#include "ca.h"

#define CACT_ACT_MAX_PARAMS 3
#define CACT_ACT_MAX_CHAIN 16
#define CACT_ACT_CHANNELS 3

/* One parameter, with PyTorch's keyword name and default. A parameter with `choices`
 * is a string enum (gelu's approximate='none'|'tanh'): its float value is the index
 * into choices. */
struct cact_act_param {
    const char *name;
    float def;
    const char *const *choices; /* NULL-terminated, or NULL for a number */
};

/* Element-wise kernel: y[i] = f(x[i]) for i < n. y may equal x (in place).
 * p holds the row's parameters in table order. */
typedef void (*cact_act_elem_fn)(float *y, const float *x, size_t n, const float *p);

/* Channel-wise kernel (softmax family): x is [n_img][channels][plane]; the function
 * runs over the channel dimension for every (image, pixel). y may equal x. */
typedef void (*cact_act_chan_fn)(float *y, const float *x, size_t n_img, size_t channels,
                            size_t plane, const float *p);

struct cact_act_desc {
    const char *name;         /* "leaky_relu" (torch.nn.functional spelling) */
    const char *torch_module; /* "LeakyReLU" (also accepted by cact_act_parse) */
    const char *formula;      /* one line, shown by --list */
    int n_params;
    struct cact_act_param params[CACT_ACT_MAX_PARAMS];
    cact_act_elem_fn elem;         /* exactly one of elem / chan is set */
    cact_act_chan_fn chan;
};

/* The table: cact_act_count() rows, cact_act_at(i) for 0 <= i < cact_act_count(). */
size_t cact_act_count(void);
const struct cact_act_desc *cact_act_at(size_t i);

/* Row by name or torch.nn class name (case-sensitive for names, exact for classes);
 * NULL if none. Never falls back to a default. */
const struct cact_act_desc *cact_act_find(const char *name);

/* A resolved function: row + parameter values (defaults filled in). */
struct cact_act_fn {
    const struct cact_act_desc *desc;
    float p[CACT_ACT_MAX_PARAMS];
};

/* Parse "name", "name()", "name(kw=value, ...)" or "Class(kw=value)".
 * Positional values are accepted in table order too: "hardtanh(-2, 2)".
 * Enum values may be quoted: gelu(approximate='tanh').
 * Returns CACT_OK, or CACT_ERR_USAGE with a one-line message naming the problem and
 * listing the valid choices (names, or the row's parameter names). */
enum cact_status cact_act_parse(const char *spec, struct cact_act_fn *out, struct cact_err *err);

/* Write a canonical spelling with every parameter, e.g. "leaky_relu(negative_slope=0.2)",
 * "gelu(approximate='tanh')", into buf (always NUL-terminated). Returns buf. */
char *cact_act_format(const struct cact_act_fn *fn, char *buf, size_t size);

/* Pre-activation transform: ToTensor (x/255 in float32, as torchvision), then an
 * optional Normalize((x - mean[c]) / std[c]) per channel. */
struct cact_act_chain {
    int normalize;              /* 0: ToTensor only */
    float mean[CACT_ACT_CHANNELS];
    float std[CACT_ACT_CHANNELS];
    int n;                      /* number of functions, applied in order */
    struct cact_act_fn fn[CACT_ACT_MAX_CHAIN];
};

/* Parse --normalize "MEAN,STD" (one value each) or "M1,M2,M3,S1,S2,S3".
 * CACT_ERR_USAGE on a bad value or a std of zero. */
enum cact_status cact_act_parse_normalize(const char *spec, struct cact_act_chain *chain,
                                   struct cact_err *err);

/* y = ToTensor(+Normalize) of bytes x: [n_img][3][plane] uint8 -> float32. */
void cact_act_to_tensor(const struct cact_act_chain *chain, float *y, const uint8_t *x,
                   size_t n_img, size_t plane);

/* Apply chain->fn[0..n) in order, in place, on x: [n_img][3][plane]. */
void cact_act_chain_apply(const struct cact_act_chain *chain, float *x, size_t n_img, size_t plane);

/* 1 when every function in the chain is element-wise, so each output value depends
 * only on its input byte and channel (the output can be a 256-entry table per channel). */
int cact_act_chain_is_elementwise(const struct cact_act_chain *chain);

/* For an element-wise chain: lut[c][b] = chain(ToTensor(+Normalize)(b)) for channel c,
 * the exact float the full path would compute. */
void cact_act_chain_lut(const struct cact_act_chain *chain, float lut[CACT_ACT_CHANNELS][256]);

#endif
