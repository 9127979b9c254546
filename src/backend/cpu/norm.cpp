#include "backend/cpu/norm.h"

#include <cmath>

namespace tessera::backend::cpu {

void rms_norm(const float* x, const float* weight, float eps, int64_t n_rows, int64_t n_cols,
              float* y, ThreadPool* pool) {
  parallel_for(pool, n_rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * n_cols;
      float* yr = y + r * n_cols;
      double sum = 0.0;
      for (int64_t c = 0; c < n_cols; ++c) sum += static_cast<double>(xr[c]) * xr[c];
      const float mean = static_cast<float>(sum / static_cast<double>(n_cols));
      const float scale = 1.0f / std::sqrt(mean + eps);
      if (weight != nullptr) {
        for (int64_t c = 0; c < n_cols; ++c) yr[c] = xr[c] * scale * weight[c];
      } else {
        for (int64_t c = 0; c < n_cols; ++c) yr[c] = xr[c] * scale;
      }
    }
  });
}

void layer_norm(const float* x, const float* weight, const float* bias, float eps, int64_t n_rows,
                int64_t n_cols, float* y, ThreadPool* pool) {
  parallel_for(pool, n_rows, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x + r * n_cols;
      float* yr = y + r * n_cols;
      double sum = 0.0;
      for (int64_t c = 0; c < n_cols; ++c) sum += xr[c];
      const double mean = sum / static_cast<double>(n_cols);
      double sq = 0.0;
      for (int64_t c = 0; c < n_cols; ++c) {
        const double d = xr[c] - mean;
        sq += d * d;
      }
      const float variance = static_cast<float>(sq / static_cast<double>(n_cols));
      const float scale = 1.0f / std::sqrt(variance + eps);
      const auto meanf = static_cast<float>(mean);
      for (int64_t c = 0; c < n_cols; ++c) {
        float v = (xr[c] - meanf) * scale;
        if (weight != nullptr) v *= weight[c];
        if (bias != nullptr) v += bias[c];
        yr[c] = v;
      }
    }
  });
}

}  // namespace tessera::backend::cpu
