// rms_norm, layer_norm and rope against double-precision references.
//
// Error budgets:
//   rms_norm:   |y - ref| <= 2e-6 * |ref| + 1e-7 (sum in double; a few f32 roundings after).
//   layer_norm: |y - ref| <= 2e-6 * (|x| + |mean|) * scale * |w| + 1e-6 (the centring
//               subtracts f32 values, so the error scales with the inputs, not the output).
//   rope:       angles follow ggml's f32 recurrence theta_{i+1} = theta_i * base^(-2/n_rot),
//               which drifts by about one f32 rounding per pair, so per pair
//               |y - ref| <= (|x0| + |x1|) * (|angle| * (i + 4) * 1.2e-7 + 1e-6).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backend/cpu/norm.h"
#include "backend/cpu/rope.h"
#include "backend_test_util.h"

namespace tessera::backend::cpu {
namespace {

TEST(RmsNorm, MatchesDoubleReference) {
  const auto pools = test::test_pools();
  for (int64_t n_rows : {1, 3, 17}) {
    for (int64_t n_cols : {1, 31, 96, 257}) {
      const std::vector<float> x = test::random_floats(n_rows * 131 + n_cols, n_rows * n_cols, 3.0);
      const std::vector<float> w = test::random_floats(9, n_cols, 2.0);
      const float eps = 1e-5f;
      for (bool with_weight : {true, false}) {
        std::vector<float> y(x.size());
        rms_norm(x.data(), with_weight ? w.data() : nullptr, eps, n_rows, n_cols, y.data(),
                 nullptr);
        for (int64_t r = 0; r < n_rows; ++r) {
          double ss = 0;
          for (int64_t c = 0; c < n_cols; ++c)
            ss += static_cast<double>(x[r * n_cols + c]) * x[r * n_cols + c];
          const double s = 1.0 / std::sqrt(ss / static_cast<double>(n_cols) + eps);
          for (int64_t c = 0; c < n_cols; ++c) {
            const double ref = x[r * n_cols + c] * s * (with_weight ? w[c] : 1.0);
            ASSERT_NEAR(y[r * n_cols + c], ref, 2e-6 * std::fabs(ref) + 1e-7);
          }
        }
        for (const auto& pool : pools) {
          std::vector<float> yp(x);  // in place
          rms_norm(yp.data(), with_weight ? w.data() : nullptr, eps, n_rows, n_cols, yp.data(),
                   pool.get());
          test::expect_same_bits(y, yp, "threads / in place");
        }
      }
    }
  }
}

TEST(LayerNorm, MatchesDoubleReference) {
  const auto pools = test::test_pools();
  for (int64_t n_rows : {1, 3, 17}) {
    for (int64_t n_cols : {2, 31, 96, 257}) {
      std::vector<float> x = test::random_floats(n_rows * 7 + n_cols, n_rows * n_cols, 2.0);
      for (auto& v : x) v += 0.75f;  // a non-zero mean
      const std::vector<float> w = test::random_floats(4, n_cols, 2.0);
      const std::vector<float> b = test::random_floats(5, n_cols, 1.0);
      const float eps = 1e-12f;
      std::vector<float> y(x.size());
      layer_norm(x.data(), w.data(), b.data(), eps, n_rows, n_cols, y.data(), nullptr);
      for (int64_t r = 0; r < n_rows; ++r) {
        const float* xr = x.data() + r * n_cols;
        double mean = 0;
        for (int64_t c = 0; c < n_cols; ++c) mean += xr[c];
        mean /= static_cast<double>(n_cols);
        double var = 0;
        for (int64_t c = 0; c < n_cols; ++c) var += (xr[c] - mean) * (xr[c] - mean);
        const double s = 1.0 / std::sqrt(var / static_cast<double>(n_cols) + eps);
        for (int64_t c = 0; c < n_cols; ++c) {
          const double ref = (xr[c] - mean) * s * w[c] + b[c];
          const double budget =
              2e-6 * (std::fabs(xr[c]) + std::fabs(mean)) * s * std::fabs(w[c]) + 1e-6;
          ASSERT_NEAR(y[r * n_cols + c], ref, budget) << r << " " << c;
        }
      }
      for (const auto& pool : pools) {
        std::vector<float> yp(x);
        layer_norm(yp.data(), w.data(), b.data(), eps, n_rows, n_cols, yp.data(), pool.get());
        test::expect_same_bits(y, yp, "threads / in place");
      }
      std::vector<float> plain(x.size());  // no weight, no bias: zero mean, unit variance
      layer_norm(x.data(), nullptr, nullptr, eps, n_rows, n_cols, plain.data(), nullptr);
      if (n_cols > 2) {
        double m = 0, v = 0;
        for (int64_t c = 0; c < n_cols; ++c) m += plain[c];
        for (int64_t c = 0; c < n_cols; ++c) v += plain[c] * plain[c];
        EXPECT_NEAR(m / static_cast<double>(n_cols), 0.0, 1e-5);
        EXPECT_NEAR(v / static_cast<double>(n_cols), 1.0, 1e-4);
      }
    }
  }
}

struct RopeCase {
  RopeStyle style;
  int head_dim;
  int n_rot;
  float freq_scale;
  bool factors;
};

void check_rope(const RopeCase& rc) {
  const int n_heads = 3;
  const std::vector<int32_t> positions = {0, 1, 7, 100, 1234, 5, 4095};
  const auto n_tokens = static_cast<int64_t>(positions.size());
  const std::vector<float> x0 = test::random_floats(77, n_tokens * n_heads * rc.head_dim, 1.5);
  std::vector<float> factors(static_cast<size_t>(rc.n_rot / 2));
  for (size_t i = 0; i < factors.size(); ++i) factors[i] = 1.0f + 0.5f * static_cast<float>(i % 5);
  RopeParams p;
  p.style = rc.style;
  p.n_rot = rc.n_rot;
  p.freq_base = 500000.0f;
  p.freq_scale = rc.freq_scale;
  p.freq_factors = rc.factors ? factors.data() : nullptr;

  std::vector<float> x = x0;
  rope(x.data(), n_tokens, n_heads, rc.head_dim, positions.data(), p, nullptr);
  const int half = rc.n_rot / 2;
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int h = 0; h < n_heads; ++h) {
      const size_t off = static_cast<size_t>((t * n_heads + h) * rc.head_dim);
      const float* in = x0.data() + off;
      const float* out = x.data() + off;
      for (int d = rc.n_rot; d < rc.head_dim; ++d) ASSERT_EQ(out[d], in[d]);  // not rotated
      for (int i = 0; i < half; ++i) {
        const double ff = rc.factors ? factors[static_cast<size_t>(i)] : 1.0;
        const double angle = positions[static_cast<size_t>(t)] *
                             std::pow(500000.0, -2.0 * i / rc.n_rot) * rc.freq_scale / ff;
        const int a = rc.style == RopeStyle::neox ? i : 2 * i;
        const int b = rc.style == RopeStyle::neox ? i + half : 2 * i + 1;
        const double ra = in[a] * std::cos(angle) - in[b] * std::sin(angle);
        const double rb = in[a] * std::sin(angle) + in[b] * std::cos(angle);
        const double budget =
            (std::fabs(in[a]) + std::fabs(in[b])) * (std::fabs(angle) * (i + 4) * 1.2e-7 + 1e-6);
        ASSERT_NEAR(out[a], ra, budget) << "t " << t << " h " << h << " pair " << i;
        ASSERT_NEAR(out[b], rb, budget) << "t " << t << " h " << h << " pair " << i;
      }
    }
  }
  for (const auto& pool : test::test_pools()) {
    std::vector<float> xp = x0;
    rope(xp.data(), n_tokens, n_heads, rc.head_dim, positions.data(), p, pool.get());
    test::expect_same_bits(x, xp, "threads");
  }
}

TEST(Rope, NormalStyleFullRotation) {
  check_rope({RopeStyle::normal, 64, 64, 1.0f, false});
}
TEST(Rope, NeoxStyleFullRotation) {
  check_rope({RopeStyle::neox, 64, 64, 1.0f, false});
}
TEST(Rope, PartialRotationLeavesTheRest) {
  check_rope({RopeStyle::normal, 48, 32, 1.0f, false});
  check_rope({RopeStyle::neox, 48, 16, 1.0f, false});
}
TEST(Rope, FrequencyFactorsAndLinearScaling) {
  check_rope({RopeStyle::normal, 32, 32, 0.25f, true});
  check_rope({RopeStyle::neox, 40, 40, 0.5f, true});
}

TEST(Rope, PositionZeroIsIdentityAndPairsKeepTheirNorm) {
  const std::vector<float> x0 = test::random_floats(3, 2 * 16);
  std::vector<float> x = x0;
  const std::vector<int32_t> pos = {0, 321};
  RopeParams p;
  p.n_rot = 16;
  rope(x.data(), 2, 1, 16, pos.data(), p, nullptr);
  for (int d = 0; d < 16; ++d) EXPECT_EQ(x[d], x0[d]);
  for (int i = 0; i < 8; ++i) {
    const float* a = x0.data() + 16;
    const float* b = x.data() + 16;
    EXPECT_NEAR(std::hypot(a[2 * i], a[2 * i + 1]), std::hypot(b[2 * i], b[2 * i + 1]), 1e-6);
  }
}

}  // namespace
}  // namespace tessera::backend::cpu
