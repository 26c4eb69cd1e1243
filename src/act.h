/* act.h - ToTensor/Normalize and PyTorch's activation functions, as one table.
 *
 * Data is float32, laid out like a PyTorch batch: [n][3][32*32] (NCHW, plane = H*W).
 * Formulas, parameter names and defaults follow PyTorch 1.13 (torch.nn).
 *
 * Adding an element-wise activation takes four edits. Each one forgotten fails the
 * build or a named test (never a crash), so the list below is complete:
 *   1. The row. Its CACT_ACT_* value in enum cact_act_id (src/act_id.h; appending it
 *      just before CACT_ACT_COUNT keeps a forgotten row a build error) and its row in
 *      act_table in src/act.c: name, torch.nn class, formula, parameters with PyTorch's
 *      names and defaults, and, beside the row, a check_* function for PyTorch's
 *      argument checks if it has any. Forgotten: CACT_ACT_FOO is undeclared (build),
 *      or the static_assert on act_table's size fails (build), or test_act's "row N
 *      of act_table is empty".
 *   2. The generic kernel: g_foo in src/act_kernels.c (a plain scalar loop over libm,
 *      in the formula and operation order of PyTorch's CPU kernel) and its
 *      [CACT_ACT_FOO] entry in cact_act_impl_generic. Forgotten: test_act's
 *      "kernel tables: generic has no kernel for 'foo'".
 *   3. The fast kernel: in src/act_fast.inc, a static inline FN(foo_one) (one element,
 *      ordinary statements), one FAST_ELEM or FAST_SELECT line that makes its loops,
 *      and its [CACT_ACT_FOO] entry in the table at the end of that file. Forgotten:
 *      "kernel tables: default has no kernel for 'foo'" (and avx2, avx512f).
 *   4. The golden spec: one line in tools/golden_specs.py, then regenerate the goldens
 *      with /usr/bin/python3 tools/gen_golden_kernels.py and tools/gen_golden_grids.py
 *      (PyTorch 1.13 from Debian) and commit tests/golden/. Forgotten: test_act's "row
 *      'foo' has no golden data" and test_fidelity's "no fidelity golden for 'foo'".
 * Everything else (--list, the manifest, parsing, the accuracy, NaN, in-place,
 * streaming and table tests, bench_kernels) iterates the table. Only a function whose
 * PyTorch formula cancels (tests/test_act.c's cancel_floor) or maps NaN to a number
 * (test_nan) also needs its exception named in that test. A channel-wise row (softmax
 * family) sets kind CACT_ACT_KIND_CHAN and fills the chan tables instead.
 */
#ifndef CACT_ACT_H
#define CACT_ACT_H

#include <stddef.h>
#include <stdint.h>

#include "act_id.h" /* enum cact_act_id, enum cact_act_kind */
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

struct cact_act_desc {
    const char *name;         /* "leaky_relu" (torch.nn.functional spelling) */
    const char *torch_module; /* "LeakyReLU" (also accepted by cact_act_parse) */
    const char *formula;      /* one line, shown by --list */
    enum cact_act_kind kind;
    int n_params;
    struct cact_act_param params[CACT_ACT_MAX_PARAMS];
    /* PyTorch's own checks of the parameter values p (in table order), or NULL when
     * every finite value is valid: CACT_OK, or CACT_ERR_USAGE with a message. */
    enum cact_status (*check)(const float *p, struct cact_err *err);
};

/* The table: cact_act_count() rows, cact_act_at(i) for 0 <= i < cact_act_count(). */
size_t cact_act_count(void);
const struct cact_act_desc *cact_act_at(size_t i);

/* Row by name or torch.nn class name (case-sensitive for names, exact for classes);
 * NULL if none. Never falls back to a default. */
const struct cact_act_desc *cact_act_find(const char *name);

/* The row's position in the table: its enum cact_act_id. d must come from the table. */
enum cact_act_id cact_act_id_of(const struct cact_act_desc *d);

/* A resolved function: row + parameter values (defaults filled in). */
struct cact_act_fn {
    const struct cact_act_desc *desc;
    float p[CACT_ACT_MAX_PARAMS];
};

/* Parse "name", "name()", "name(kw=value, ...)" or "Class(kw=value)".
 * Positional values are accepted in table order too: "hardtanh(-2, 2)".
 * Enum values may be quoted: gelu(approximate='tanh').
 * PyTorch spellings as users paste them are accepted too:
 *   - a module path: a class after "torch.nn." or "nn." (nn.ReLU()), a function name
 *     after "torch.nn.functional.", "nn.functional.", "F." or "torch." (F.relu,
 *     torch.sigmoid); a name under the wrong path is an error naming the right one;
 *   - inplace=True|False (or 1|0), and a positional True|False after the parameters
 *     (nn.ReLU(True)), on every row: read and ignored, since the value of the function
 *     is the same either way (where results go is the caller's choice);
 *   - for the channel-wise rows, dim=1 (or -3, or positional: nn.Softmax(1)), the
 *     channels of the N,C,H,W batch, which is what they compute; any other dim is an
 *     error.
 * None of these changes the result or cact_act_format's canonical spelling.
 * Returns CACT_OK, or CACT_ERR_USAGE with a one-line message naming the problem and
 * listing the valid choices (names, or the row's parameter names); also CACT_ERR_USAGE
 * for a row that some kernel implementation of this build lacks (tests/test_act.c
 * rules that out). */
enum cact_status cact_act_parse(const char *spec, struct cact_act_fn *out, struct cact_err *err);

/* Write a canonical spelling with every parameter, e.g. "leaky_relu(negative_slope=0.2)",
 * "gelu(approximate='tanh')", into buf (always NUL-terminated). Returns buf. */
char *cact_act_format(const struct cact_act_fn *fn, char *buf, size_t size);

/* Run fn (from cact_act_parse, or a table row with valid parameters) on x, laid out
 * [n_img][channels][plane], into y with the kernels in use (act_kernels.h). y may equal
 * x. An element-wise fn sees a flat array of n_img * channels * plane floats (so
 * cact_act_apply(fn, y, x, 1, 1, n) is y[i] = f(x[i]) for i < n); a channel-wise fn
 * runs over the channels of every (image, pixel). */
void cact_act_apply(const struct cact_act_fn *fn, float *y, const float *x, size_t n_img,
                    size_t channels, size_t plane);

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
