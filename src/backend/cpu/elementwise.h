// Elementwise f32 operations and row softmax. Every function works on `n` contiguous values;
// `out` may equal an input (in place) but must not partially overlap one. They run on the
// caller's thread unless a pool is given (worth it only for large n).
#pragma once

#include <cstdint>

#include "backend/cpu/thread_pool.h"

namespace tessera::backend::cpu {

void add(const float* a, const float* b, float* out, int64_t n);  // out = a + b
void mul(const float* a, const float* b, float* out, int64_t n);  // out = a * b
void scale(const float* x, float s, float* out, int64_t n);       // out = x * s

// out[r][c] = a[r][c] + b[c]: adds one row (bias) to each of n_rows rows of n_cols values.
void add_row(const float* a, const float* b, float* out, int64_t n_rows, int64_t n_cols);

// silu(x) = x / (1 + exp(-x)). silu, gelu and swiglu use the AVX2 forms below where the CPU has
// AVX2 (exp within 2e-7 relative; the same bits for a value wherever it sits in the array).
void silu(const float* x, float* out, int64_t n, ThreadPool* pool = nullptr);
// gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))  (ggml's tanh approximation)
void gelu(const float* x, float* out, int64_t n, ThreadPool* pool = nullptr);
// out = silu(gate) * up (the SwiGLU feed-forward gate)
void swiglu(const float* gate, const float* up, float* out, int64_t n, ThreadPool* pool = nullptr);

// Numerically stable softmax of each of n_rows rows of n_cols values ([n_rows][n_cols],
// contiguous): out = exp(x - max) / sum(exp(x - max)), the sum accumulated in double.
// A row of all -inf gives all zeros. Threads split the rows.
void softmax(const float* x, float* out, int64_t n_rows, int64_t n_cols,
             ThreadPool* pool = nullptr);

// Per-ISA forms (elementwise_avx2.cpp), called only when the CPU has AVX2 + FMA.
void silu_avx2(const float* x, float* out, int64_t n);
void gelu_avx2(const float* x, float* out, int64_t n);
void swiglu_avx2(const float* gate, const float* up, float* out, int64_t n);

// Scalar forms, for kernels that fuse them.
float silu_f32(float x);
float gelu_f32(float x);

}  // namespace tessera::backend::cpu
