// Elementwise f32 ops and row softmax on the GPU: the CUDA forms of backend/cpu/elementwise.h,
// with the same formulas. Every launcher only enqueues work on `stream` (no sync, no
// allocation, no error check: the caller checks cudaGetLastError); n == 0 or an empty shape
// launches nothing. Pointers are device memory, contiguous f32. `out` may equal an input (in
// place) but must not partially overlap one. Any size works (grid-stride loops).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace tessera::cuda {

void launch_add(cudaStream_t stream, const float* a, const float* b, float* out,
                int64_t n);  // out = a + b
void launch_mul(cudaStream_t stream, const float* a, const float* b, float* out,
                int64_t n);  // out = a * b
void launch_scale(cudaStream_t stream, const float* x, float scale, float* out,
                  int64_t n);  // out = x * scale

// gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), evaluated as the CPU's AVX2 form
// does: x / (1 + exp(-2z)), z = sqrt(2/pi) * fma(0.044715, x^3, x) (no cancellation for
// negative x).
void launch_gelu(cudaStream_t stream, const float* x, float* out, int64_t n);
// silu(x) = x / (1 + exp(-x)) (expf, correctly rounded division).
void launch_silu(cudaStream_t stream, const float* x, float* out, int64_t n);
// out = silu(gate) * up.
void launch_swiglu(cudaStream_t stream, const float* gate, const float* up, float* out, int64_t n);

// out[r][c] = a[r][c] + row[c]; a, out: [n_rows][n_cols]; row: n_cols values.
void launch_add_row(cudaStream_t stream, const float* a, const float* row, float* out,
                    int64_t n_rows, int64_t n_cols);

// Stable softmax of each row of x [n_rows][n_cols]: out = exp(x - max) / sum(exp(x - max)),
// the sum accumulated in double as on the CPU (only its order differs), then one f32
// multiplication by (float)(1 / sum). A row whose max is -inf (all -inf, or NaN and -inf)
// gives zeros.
void launch_softmax(cudaStream_t stream, const float* x, float* out, int64_t n_rows,
                    int64_t n_cols);

}  // namespace tessera::cuda
