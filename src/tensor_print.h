/* tensor_print.h - a tensor as PyTorch 1.13 prints it (str(tensor), str(tensor.shape)).
 *
 * Follows torch/_tensor_str.py for a float32 CPU tensor without grad, default print
 * options: precision 4; int mode (every nonzero finite value an integer: "1.", "-3.")
 * unless the nonzero finite |values| span more than 1000x or exceed 1e8, then
 * scientific; otherwise fixed "%.4f", switching to scientific "%.4e" when they span
 * more than 1000x, exceed 1e8 or go below 1e-4. Every element is right-aligned to the
 * widest nonzero finite value; nan/inf print as "nan", "inf", "-inf". Rows wrap at
 * linewidth 80 (elements per line = (80 - indent) / (width + 2)); with more than 1000
 * elements, every dimension longer than 6 shows its first and last 3 entries around
 * "..." (the widths then come from the shown values only).
 *
 * Pure functions: they write into the caller's buffer, snprintf-style (always
 * NUL-terminated when size > 0, never more than size bytes), and return the length
 * the full text needs, excluding the NUL, so a caller can size a buffer by calling
 * once with size 0.
 */
#ifndef CACT_TENSOR_PRINT_H
#define CACT_TENSOR_PRINT_H

#include <stddef.h>

#include "tensor.h"

/* str(t): "tensor([[1., 0.],\n        [0., 3.]])" (no trailing newline). */
size_t cact_tensor_format(const struct cact_tensor *t, char *buf, size_t size);

/* str(t.shape): "torch.Size([1, 1, 2, 2])", "torch.Size([])" for 0-D. */
size_t cact_tensor_format_shape(const struct cact_tensor *t, char *buf, size_t size);

#endif
