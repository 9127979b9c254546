// Matrix products with GGUF weights, and embedding lookup.
//
// matmul takes the fast path of quant_dot.h when this CPU has a kernel for the weight type
// (activations converted once per call to the kernel's format, e.g. Q8_0 for Q4_0/Q8_0
// weights, as the reference engine does; integer dot products), else matmul_reference: the
// weight is dequantized on the fly, a few rows at a time, into a per-thread f32 buffer, all
// arithmetic f32 — the scalar reference the fast kernels are tested against.
#pragma once

#include <cstdint>

#include "backend/cpu/thread_pool.h"
#include "backend/cpu/weight.h"
#include "util/result.h"

namespace tessera::backend::cpu {

// y[t][r] = sum_c W[r][c] * x[t][c] (+ bias[r]) for t < n_tokens, r < w.rows.
//   w:    a checked weight (check_weight), rows x cols.
//   x:    n_tokens rows of w.cols floats, contiguous ([n_tokens][cols]).
//   y:    n_tokens rows of w.rows floats, contiguous ([n_tokens][rows]); must not overlap x.
//   bias: null, or w.rows floats added to every output row.
// Threads split the output rows; each y element is computed the same way whatever the thread
// count and the number of tokens. Allocation: none after the calling thread's first call with
// the largest n_tokens x cols (thread_local buffers).
void matmul(const WeightView& w, const float* x, int64_t n_tokens, float* y, const float* bias,
            ThreadPool* pool);
// The scalar reference: each weight row dequantized once per call and dotted in f32 with every
// token.
void matmul_reference(const WeightView& w, const float* x, int64_t n_tokens, float* y,
                      const float* bias, ThreadPool* pool);

// out[i][:] = W[ids[i]][:] as f32 for i < n_ids (out: [n_ids][w.cols], contiguous).
// Errors: out_of_range when an id is not in [0, w.rows) (nothing is written then).
// Threads split the ids.
Status get_rows(const WeightView& w, const int32_t* ids, int64_t n_ids, float* out,
                ThreadPool* pool);

// sum_i a[i] * b[i] in f32 with eight interleaved partial sums (fixed order, so the result
// does not depend on the caller's threading). Shared by the kernels.
float dot_f32(const float* a, const float* b, int64_t n);

}  // namespace tessera::backend::cpu
