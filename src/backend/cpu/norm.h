// Normalizations over rows of f32 values. Sums are accumulated in double (as ggml does), the
// output is written in f32. `y` may equal `x` (in place); partial overlap is not allowed.
// Threads split the rows; pool may be null.
#pragma once

#include <cstdint>

#include "backend/cpu/thread_pool.h"

namespace tessera::backend::cpu {

// y[r][c] = x[r][c] / sqrt(mean_c(x[r][c]^2) + eps) * weight[c]
// x, y: [n_rows][n_cols] contiguous; weight: n_cols floats, or null for none.
void rms_norm(const float* x, const float* weight, float eps, int64_t n_rows, int64_t n_cols,
              float* y, ThreadPool* pool);

// y[r][c] = (x[r][c] - mean_r) / sqrt(var_r + eps) * weight[c] + bias[c]
// (var_r: the population variance of row r). weight and bias may each be null (1 / 0).
void layer_norm(const float* x, const float* weight, const float* bias, float eps, int64_t n_rows,
                int64_t n_cols, float* y, ThreadPool* pool);

}  // namespace tessera::backend::cpu
