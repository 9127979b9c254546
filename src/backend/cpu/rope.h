// Rotary position embedding (RoPE), in place, computed the way ggml's CPU rope does it (in
// f32: theta_scale = base^(-2/n_rot); theta_0 = pos; theta_{i+1} = theta_i * theta_scale;
// angle_i = freq_scale * theta_i / freq_factors[i]; cos/sin in f32), so that results follow
// the reference engine's rounding. No YaRN extrapolation (ext_factor 0, attn_factor 1).
#pragma once

#include <cstdint>

#include "backend/cpu/thread_pool.h"
#include "backend/ops.h"

namespace tessera::backend::cpu {

using backend::RopeStyle;  // ops.h: normal (llama), neox (qwen2)

struct RopeParams {
  RopeStyle style = RopeStyle::normal;
  int n_rot = 0;  // rotated dimensions per head: even, 0 < n_rot <= head_dim
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;  // linear position scaling (1 / rope.scaling.factor)
  // n_rot / 2 divisors of the angles (Llama-3.1 `rope_freqs`), or null for none.
  const float* freq_factors = nullptr;
};

// Rotates x, laid out [n_tokens][n_heads][head_dim] contiguous, in place: token t at
// position pos[t]; in each head the first n_rot dimensions are rotated, the rest kept.
// Threads split the tokens. Allocation: none after a thread's first call with the largest
// n_rot (thread_local cos/sin buffer).
void rope(float* x, int64_t n_tokens, int n_heads, int head_dim, const int32_t* pos,
          const RopeParams& params, ThreadPool* pool);

}  // namespace tessera::backend::cpu
