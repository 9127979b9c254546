// matmul_reference and get_rows against a double-precision product of the dequantized weights
// (the fast path of matmul is checked against matmul_reference in dot_kernels_test.cpp).
//
// Error budget (matmul): the weight is dequantized by the same reference converter as the
// expected value, so the only error is the f32 dot product:
//   |y - y_ref| <= 1e-5 * sum_c |W[r][c] * x[t][c]| + 1e-30.
// get_rows must equal the reference dequantizer bit for bit. Every thread count gives the same
// bits as the caller's thread alone.
#include "backend/cpu/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "backend_test_util.h"

namespace tessera::backend::cpu {
namespace {

using test::TensorType;

constexpr double kMatmulRelBudget = 1e-5;

// Columns that are not a multiple of 32 (plain types), or several blocks (quantized ones).
int64_t test_cols(TensorType type) {
  const uint32_t block = gguf::tensor_type_info(type)->block_size;
  return block == 1 ? 77 : block * (block == 32 ? 5 : 3);
}

class MatmulTypes : public ::testing::TestWithParam<TensorType> {};

TEST_P(MatmulTypes, MatchesDoubleReferenceForEveryTokenAndThreadCount) {
  const TensorType type = GetParam();
  const int64_t rows = 19;  // not a multiple of the row tile or of any thread count
  const int64_t cols = test_cols(type);
  const std::vector<uint8_t> bytes = test::random_weight(type, rows, cols, 11);
  const std::vector<float> wd = test::dequantized(type, bytes, rows * cols);
  const WeightView w{type, bytes.data(), rows, cols};
  ASSERT_TRUE(check_weight(w, "w").ok());
  const auto pools = test::test_pools();

  for (int64_t n_tokens : {1, 3, 17}) {
    SCOPED_TRACE("n_tokens " + std::to_string(n_tokens));
    const std::vector<float> x = test::random_floats(23 + n_tokens, n_tokens * cols, 2.0);
    const std::vector<float> bias = test::random_floats(5, rows);
    for (bool with_bias : {false, true}) {
      std::vector<float> y(n_tokens * rows);
      matmul_reference(w, x.data(), n_tokens, y.data(), with_bias ? bias.data() : nullptr, nullptr);
      for (int64_t t = 0; t < n_tokens; ++t) {
        for (int64_t r = 0; r < rows; ++r) {
          double ref = with_bias ? bias[r] : 0.0;
          double mag = std::fabs(ref);
          for (int64_t c = 0; c < cols; ++c) {
            const double p = static_cast<double>(wd[r * cols + c]) * x[t * cols + c];
            ref += p;
            mag += std::fabs(p);
          }
          EXPECT_NEAR(y[t * rows + r], ref, kMatmulRelBudget * mag + 1e-30)
              << "t " << t << " r " << r;
        }
      }
      for (const auto& pool : pools) {
        std::vector<float> yp(n_tokens * rows);
        matmul_reference(w, x.data(), n_tokens, yp.data(), with_bias ? bias.data() : nullptr,
                         pool.get());
        test::expect_same_bits(y, yp, "threads");
      }
    }
  }
}

TEST_P(MatmulTypes, GetRowsEqualsTheDequantizer) {
  const TensorType type = GetParam();
  const int64_t rows = 13;
  const int64_t cols = test_cols(type);
  const std::vector<uint8_t> bytes = test::random_weight(type, rows, cols, 7);
  const std::vector<float> wd = test::dequantized(type, bytes, rows * cols);
  const WeightView w{type, bytes.data(), rows, cols};
  const std::vector<int32_t> ids = {3, 0, 12, 3, 7};
  const auto pools = test::test_pools();
  for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), pools[1].get()}) {
    std::vector<float> out(ids.size() * cols);
    ASSERT_TRUE(get_rows(w, ids.data(), static_cast<int64_t>(ids.size()), out.data(), pool).ok());
    for (size_t i = 0; i < ids.size(); ++i) {
      for (int64_t c = 0; c < cols; ++c) {
        ASSERT_EQ(out[i * cols + c], wd[ids[i] * cols + c]) << "id " << ids[i] << " col " << c;
      }
    }
  }
}

std::string type_name(const ::testing::TestParamInfo<TensorType>& info) {
  return gguf::tensor_type_info(info.param)->name;
}

INSTANTIATE_TEST_SUITE_P(AllWeightTypes, MatmulTypes, ::testing::ValuesIn(test::weight_types()),
                         type_name);

TEST(GetRows, RejectsIdsOutsideTheVocabulary) {
  const std::vector<float> table = test::random_floats(1, 4 * 8);
  const WeightView w{TensorType::F32, table.data(), 4, 8};
  std::vector<float> out(8, -1.0f);
  for (int32_t bad : {-1, 4, 1 << 30}) {
    const Status st = get_rows(w, &bad, 1, out.data(), nullptr);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code, ErrorCode::out_of_range);
    EXPECT_NE(st.error().message.find(std::to_string(bad)), std::string::npos);
  }
  EXPECT_EQ(out[0], -1.0f);  // nothing written
}

TEST(CheckWeight, NamesTheTensorAndTheProblem) {
  uint8_t dummy[64] = {};
  Status st = check_weight(WeightView{TensorType::Q4_0, dummy, 2, 40}, "blk.0.attn_q.weight");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(st.error().message.find("blk.0.attn_q.weight"), std::string::npos);
  st = check_weight(WeightView{TensorType::IQ2_XXS, dummy, 1, 256}, "w");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, ErrorCode::unsupported);
  EXPECT_NE(st.error().message.find("IQ2_XXS"), std::string::npos);
  EXPECT_TRUE(check_weight(WeightView{TensorType::Q4_K, dummy, 0, 256}, "w").ok());
}

TEST(DotF32, MatchesDoubleOnOddLengths) {
  for (int64_t n : {0, 1, 7, 8, 9, 100, 1001}) {
    const std::vector<float> a = test::random_floats(2, n);
    const std::vector<float> b = test::random_floats(3, n);
    double ref = 0, mag = 0;
    for (int64_t i = 0; i < n; ++i) {
      ref += static_cast<double>(a[i]) * b[i];
      mag += std::fabs(static_cast<double>(a[i]) * b[i]);
    }
    EXPECT_NEAR(dot_f32(a.data(), b.data(), n), ref, 1e-6 * mag + 1e-30) << n;
  }
}

}  // namespace
}  // namespace tessera::backend::cpu
