// Elementwise ops and softmax against double-precision references.
//
// Error budgets: add/mul/scale are single f32 operations (exact equality with the f32 op);
// silu, gelu, swiglu: |y - ref| <= 1e-6 * |ref| + 1e-7 (f32 exp / tanh); softmax:
// |y - ref| <= 1e-6 * ref + 1e-9 (exp of values <= 0, sum in double).
#include "backend/cpu/elementwise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "backend_test_util.h"

namespace tessera::backend::cpu {
namespace {

double silu_ref(double x) {
  return x / (1.0 + std::exp(-x));
}
double gelu_ref(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

TEST(Elementwise, AddMulScaleAddRow) {
  const int64_t n = 37;
  const std::vector<float> a = test::random_floats(1, n, 4.0);
  const std::vector<float> b = test::random_floats(2, n, 4.0);
  std::vector<float> out(n);
  add(a.data(), b.data(), out.data(), n);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out[i], a[i] + b[i]);
  mul(a.data(), b.data(), out.data(), n);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out[i], a[i] * b[i]);
  scale(a.data(), 0.125f, out.data(), n);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(out[i], a[i] * 0.125f);
  std::vector<float> in_place = a;
  add(in_place.data(), b.data(), in_place.data(), n);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(in_place[i], a[i] + b[i]);
  const std::vector<float> m = test::random_floats(3, 3 * 5);
  const std::vector<float> row = test::random_floats(4, 5);
  std::vector<float> mo(15);
  add_row(m.data(), row.data(), mo.data(), 3, 5);
  for (int i = 0; i < 15; ++i) ASSERT_EQ(mo[i], m[i] + row[i % 5]);
}

TEST(Elementwise, ActivationsMatchDoubleReference) {
  const int64_t n = 40001;  // large enough to be split over the pool
  std::vector<float> x = test::random_floats(5, n, 12.0);
  const float extremes[] = {-100.0f, -88.9f, -87.0f, -86.4f, 0.0f, 86.6f, 88.8f, 100.0f};
  for (size_t i = 0; i < std::size(extremes); ++i) x[100 + 3 * i] = x[n - 1 - i] = extremes[i];
  const std::vector<float> u = test::random_floats(6, n, 3.0);
  const auto pools = test::test_pools();
  std::vector<float> ys(n), yg(n), yw(n);
  silu(x.data(), ys.data(), n);
  gelu(x.data(), yg.data(), n);
  swiglu(x.data(), u.data(), yw.data(), n);
  for (int64_t i = 0; i < n; ++i) {
    const double s = silu_ref(x[i]), g = gelu_ref(x[i]), w = silu_ref(x[i]) * u[i];
    ASSERT_NEAR(ys[i], s, 1e-6 * std::fabs(s) + 1e-7) << x[i];
    ASSERT_NEAR(yg[i], g, 1e-6 * std::fabs(g) + 1e-7) << x[i];
    ASSERT_NEAR(yw[i], w, 1e-6 * std::fabs(w) + 1e-7) << x[i];
  }
  for (const auto& pool : pools) {
    std::vector<float> p(n);
    silu(x.data(), p.data(), n, pool.get());
    test::expect_same_bits(ys, p, "silu threads");
    gelu(x.data(), p.data(), n, pool.get());
    test::expect_same_bits(yg, p, "gelu threads");
    swiglu(x.data(), u.data(), p.data(), n, pool.get());
    test::expect_same_bits(yw, p, "swiglu threads");
  }
}

TEST(Softmax, MatchesDoubleReferenceAndIsStable) {
  const auto pools = test::test_pools();
  for (int64_t n_rows : {1, 3, 17}) {
    for (int64_t n_cols : {1, 5, 33, 1000}) {
      std::vector<float> x = test::random_floats(n_rows + n_cols, n_rows * n_cols, 20.0);
      x[0] += 500.0f;  // would overflow a naive exp
      std::vector<float> y(x.size());
      softmax(x.data(), y.data(), n_rows, n_cols);
      for (int64_t r = 0; r < n_rows; ++r) {
        const float* xr = x.data() + r * n_cols;
        double mx = -1e300, sum = 0;
        for (int64_t c = 0; c < n_cols; ++c) mx = std::max(mx, static_cast<double>(xr[c]));
        for (int64_t c = 0; c < n_cols; ++c) sum += std::exp(xr[c] - mx);
        for (int64_t c = 0; c < n_cols; ++c) {
          const double ref = std::exp(xr[c] - mx) / sum;
          ASSERT_NEAR(y[r * n_cols + c], ref, 1e-6 * ref + 1e-9);
        }
      }
      for (const auto& pool : pools) {
        std::vector<float> yp(x);
        softmax(yp.data(), yp.data(), n_rows, n_cols, pool.get());
        test::expect_same_bits(y, yp, "threads / in place");
      }
    }
  }
}

TEST(Softmax, MaskedEntriesGetZeroAndAllMaskedRowsAreZero) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {1.0f, -inf, 2.0f, -inf, -inf, -inf};
  std::vector<float> y(6);
  softmax(x.data(), y.data(), 2, 3);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_NEAR(y[0] + y[2], 1.0, 1e-7);
  for (int i = 3; i < 6; ++i) EXPECT_EQ(y[i], 0.0f);
}

}  // namespace
}  // namespace tessera::backend::cpu
