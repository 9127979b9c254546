// Row normalizations and rotary position embedding on the GPU: the CUDA forms of
// backend/cpu/norm.h and backend/cpu/rope.h, with the same arithmetic (sums in double, the
// f32 steps rounded one at a time as the CPU does them; only the order of the sums differs).
// Every launcher only enqueues work on `stream` (no sync, no allocation, no error check: the
// caller checks cudaGetLastError); an empty shape launches nothing. Pointers are device
// memory; x and y are f32 [n_rows][n_cols] contiguous, y may equal x (in place) but must not
// partially overlap it.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace tessera::cuda {

// y[r][c] = x[r][c] * (1 / sqrt(mean_c(x[r][c]^2) + eps)) * weight[c]; weight: n_cols floats,
// or null for none.
void launch_rms_norm(cudaStream_t stream, const float* x, const float* weight, float eps,
                     int64_t n_rows, int64_t n_cols, float* y);

// y[r][c] = (x[r][c] - mean_r) * (1 / sqrt(var_r + eps)) * weight[c] + bias[c], var_r the
// population variance (two passes, in double); weight and bias may each be null (1 / 0).
void launch_layer_norm(cudaStream_t stream, const float* x, const float* weight, const float* bias,
                       float eps, int64_t n_rows, int64_t n_cols, float* y);

// Rotates x [n_tokens][n_heads][head_dim] in place: token t at position pos[t] (device int32,
// n_tokens values; any value). In each head the first n_rot dimensions rotate by pairs: style
// 1 (neox) pairs (i, i + n_rot / 2), any other style (0, normal) pairs (2i, 2i + 1); the rest
// are kept. Angles as cpu/rope.h: theta_scale = powf(freq_base, -2 / n_rot) computed on the
// host, theta_0 = (float)pos, theta_{i+1} = theta_i * theta_scale in f32, angle_i = freq_scale
// * (theta_i / freq_factors[i]); cos and sin of the f32 angle are evaluated in double and
// rounded to f32. freq_factors: n_rot / 2 device floats, or null for none. Launches nothing
// unless n_rot is even and 0 < n_rot <= head_dim. Uses n_rot * 4 bytes of shared memory per
// block (a launch error past the device's limit).
void launch_rope(cudaStream_t stream, float* x, int64_t n_tokens, int n_heads, int head_dim,
                 const int32_t* pos, int style, int n_rot, float freq_base, float freq_scale,
                 const float* freq_factors);

}  // namespace tessera::cuda
