/* tensor.h - the lesson's first demo: a small float32 tensor from a nested-list literal,
 * through an activation chain, the way torch.tensor(...) and nn modules treat it.
 *
 * The literal is untrusted text (a command-line argument): a Python-style nested list
 * of numbers, "[[1, -0.5], [-1, 3]]", or one bare number (a 0-D tensor). Numbers are
 * decimal (ints or floats, exponent allowed) or nan / inf / -inf; each is read as a
 * double and rounded to float32, as torch.tensor(list, dtype=torch.float32) does with
 * Python floats. The tensor is always float32 (torch.tensor of an all-int list would
 * be int64; we document the float32 reading instead). Trailing commas are accepted,
 * as in Python. Lists must be rectangular, at most CACT_TENSOR_MAX_DIM deep, and hold
 * at most CACT_TENSOR_MAX_ELEMS numbers; empty lists are taken as torch.tensor takes
 * them ([] is shape (0), [[], []] is (2, 0): n is 0).
 */
#ifndef CACT_TENSOR_H
#define CACT_TENSOR_H

#include <stddef.h>

#include "act.h"
#include "ca.h"

#define CACT_TENSOR_MAX_DIM 4
#define CACT_TENSOR_MAX_ELEMS 65536
#define CACT_TENSOR_MAX_TEXT (1u << 20) /* bytes of literal */

struct cact_tensor {
    int ndim;                          /* 0..CACT_TENSOR_MAX_DIM */
    size_t shape[CACT_TENSOR_MAX_DIM]; /* shape[0..ndim) */
    size_t n;                          /* product of shape (1 for 0-D) */
    float *data;                       /* [n], row-major (C order), owned */
};

/* Parse text into t (t->data allocated; free with cact_tensor_free, also after a
 * failure). Returns CACT_OK, CACT_ERR_USAGE with a one-line message giving the byte
 * offset of the problem (syntax, ragged lists, too deep, too many numbers, text too
 * long), or CACT_ERR_NOMEM. */
enum cact_status cact_tensor_parse(const char *text, struct cact_tensor *t, struct cact_err *err);

void cact_tensor_free(struct cact_tensor *t);

/* The lesson's reshape: torch.reshape(input, (-1, 1, 2, 2)) of its 2x2 tensor. We apply
 * it to any 2-D tensor (H, W) as (1, 1, H, W), one single-channel image, and keep
 * every other shape as given. CACT_ERR_USAGE for a 2-D tensor with no elements (as
 * torch.reshape raises: the -1 is ambiguous), t unchanged; else CACT_OK. */
enum cact_status cact_tensor_lesson_shape(struct cact_tensor *t, struct cact_err *err);

/* Run chain->fn[0..n) in order on x's values, into y (y may equal x: the
 * inplace=True case). The chain's ToTensor/Normalize part is NOT applied: the demo's
 * tensor is raw. Channel-wise functions (softmax family, dim=1) need ndim >= 2 and
 * run over dimension 1: CACT_ERR_USAGE otherwise, as PyTorch raises. */
enum cact_status cact_tensor_apply(const struct cact_act_chain *chain, const struct cact_tensor *x,
                                   float *y, struct cact_err *err);

#endif
