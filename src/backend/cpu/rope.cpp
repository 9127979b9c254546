#include "backend/cpu/rope.h"

#include <cassert>
#include <cmath>
#include <vector>

namespace tessera::backend::cpu {

void rope(float* x, int64_t n_tokens, int n_heads, int head_dim, const int32_t* pos,
          const RopeParams& params, ThreadPool* pool) {
  const int n_rot = params.n_rot;
  assert(n_rot > 0 && n_rot % 2 == 0 && n_rot <= head_dim);
  const int half = n_rot / 2;
  const float theta_scale = std::pow(params.freq_base, -2.0f / static_cast<float>(n_rot));
  parallel_for(pool, n_tokens, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> cache;  // cos, sin interleaved per pair
    if (cache.size() < static_cast<size_t>(n_rot)) cache.resize(static_cast<size_t>(n_rot));
    float* cs = cache.data();
    for (int64_t t = begin; t < end; ++t) {
      float theta = static_cast<float>(pos[t]);
      for (int i = 0; i < half; ++i) {
        const float ff = params.freq_factors != nullptr ? params.freq_factors[i] : 1.0f;
        const float angle = params.freq_scale * (theta / ff);
        cs[2 * i] = std::cos(angle);
        cs[2 * i + 1] = std::sin(angle);
        theta *= theta_scale;
      }
      for (int h = 0; h < n_heads; ++h) {
        float* v = x + (t * n_heads + h) * head_dim;
        for (int i = 0; i < half; ++i) {
          const int a = params.style == RopeStyle::neox ? i : 2 * i;
          const int b = params.style == RopeStyle::neox ? i + half : 2 * i + 1;
          const float x0 = v[a];
          const float x1 = v[b];
          v[a] = x0 * cs[2 * i] - x1 * cs[2 * i + 1];
          v[b] = x0 * cs[2 * i + 1] + x1 * cs[2 * i];
        }
      }
    }
  });
}

}  // namespace tessera::backend::cpu
