// The fast dot kernels (quant_dot.h) and the fast matmul path against double-precision
// references, for every tile shape, and the determinism contract: an element of any tile
// equals the 1 x 1 result bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "backend/cpu/matmul.h"
#include "backend/cpu/quant_dot.h"
#include "backend_test_util.h"

namespace tessera::backend::cpu::test {
namespace {

struct Case {
  TensorType type;
  int64_t cols;
};

class DotKernelTest : public ::testing::TestWithParam<Case> {};

std::vector<float> dequantize(TensorType type, const uint8_t* bytes, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  gguf::tensor_type_info(type)->dequantize(bytes, out.data(), n);
  return out;
}

TEST_P(DotKernelTest, TilesMatchTheReferenceAndEachOther) {
  const Case c = GetParam();
  const DotKernel* k = find_dot_kernel(c.type);
  if (k == nullptr) GTEST_SKIP() << "no fast kernel for this type on this CPU";
  const int64_t rows = 8, tokens = 8, n = c.cols;  // beyond every kernel's own tile
  const std::vector<uint8_t> w = random_weight(c.type, rows, n, 11);
  const size_t ws = w.size() / rows;
  const std::vector<float> xf = random_floats(12, static_cast<size_t>(tokens * n), 2.0);
  std::vector<uint8_t> xa;
  size_t xs = static_cast<size_t>(n) * sizeof(float);
  if (k->act_type == TensorType::F32) {
    xa.resize(xf.size() * sizeof(float));
    std::memcpy(xa.data(), xf.data(), xa.size());
  } else {
    xs = act_row_bytes(k->act_type, n);
    xa.resize(xs * tokens);
    convert_activations(k->act_type, xf.data(), tokens, n, xa.data(), nullptr);
  }
  // References: the exact dot of the values the kernel sees (weights and activations as
  // stored), in double.
  std::vector<float> single(rows * tokens);
  for (int64_t i = 0; i < rows; ++i) {
    const std::vector<float> wv = dequantize(c.type, w.data() + i * ws, n);
    for (int64_t j = 0; j < tokens; ++j) {
      const std::vector<float> xv =
          k->act_type == TensorType::F32
              ? std::vector<float>(xf.begin() + j * n, xf.begin() + (j + 1) * n)
              : dequantize(k->act_type, xa.data() + j * xs, n);
      double ref = 0, mag = 0;
      for (int64_t t = 0; t < n; ++t) {
        ref += static_cast<double>(wv[t]) * xv[t];
        mag += std::fabs(static_cast<double>(wv[t]) * xv[t]);
      }
      float got = 0;
      k->tile(n, w.data() + i * ws, ws, xa.data() + j * xs, xs, 1, 1, &got, 1);
      EXPECT_NEAR(got, ref, 1e-5 * mag + 1e-6) << "row " << i << " token " << j;
      single[i * tokens + j] = got;
    }
  }
  for (int rm = 1; rm <= rows; ++rm) {
    for (int rn = 1; rn <= tokens; ++rn) {
      float out[8 * 8];
      k->tile(n, w.data(), ws, xa.data(), xs, rm, rn, out, 8);
      for (int i = 0; i < rm; ++i) {
        for (int j = 0; j < rn; ++j) {
          ASSERT_EQ(out[i * 8 + j], single[i * tokens + j])
              << rm << "x" << rn << " tile, element " << i << "," << j;
        }
      }
    }
  }
}

TEST_P(DotKernelTest, FastMatmulIsCloseToTheReferenceAndBatchInvariant) {
  const Case c = GetParam();
  if (find_dot_kernel(c.type) == nullptr) GTEST_SKIP() << "no fast kernel on this CPU";
  const int64_t rows = 37, n = c.cols, tokens = 15;
  const std::vector<uint8_t> w = random_weight(c.type, rows, n, 21);
  const WeightView view{c.type, w.data(), rows, n};
  const std::vector<float> x = random_floats(22, static_cast<size_t>(tokens * n));
  const std::vector<float> bias = random_floats(23, rows);
  std::vector<float> fast(rows * tokens), ref(rows * tokens);
  auto pools = test_pools();
  matmul(view, x.data(), tokens, fast.data(), bias.data(), pools[1].get());
  matmul_reference(view, x.data(), tokens, ref.data(), bias.data(), nullptr);
  // Activations rounded to 8 bits (or weights widened exactly): relative to the row's scale.
  const bool int8 = find_dot_kernel(c.type)->act_type != TensorType::F32;
  for (int64_t t = 0; t < tokens; ++t) {
    double mag = 0;
    for (int64_t r = 0; r < rows; ++r) mag = std::max(mag, std::fabs(double(ref[t * rows + r])));
    for (int64_t r = 0; r < rows; ++r) {
      EXPECT_NEAR(fast[t * rows + r], ref[t * rows + r], (int8 ? 0.03 : 1e-5) * (mag + 1))
          << "token " << t << " row " << r;
    }
  }
  // Any token alone, on any thread count, gives the same bits as inside the batch.
  for (int64_t t = 0; t < tokens; ++t) {
    std::vector<float> alone(rows);
    matmul(view, x.data() + t * n, 1, alone.data(), bias.data(), pools[t % pools.size()].get());
    for (int64_t r = 0; r < rows; ++r) ASSERT_EQ(alone[r], fast[t * rows + r]) << t << "," << r;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Types, DotKernelTest,
    ::testing::Values(Case{TensorType::Q8_0, 32}, Case{TensorType::Q8_0, 896},
                      Case{TensorType::Q4_0, 64}, Case{TensorType::Q4_0, 4864},
                      Case{TensorType::F16, 16}, Case{TensorType::F16, 37},
                      Case{TensorType::F16, 896}, Case{TensorType::BF16, 45},
                      Case{TensorType::BF16, 2048}, Case{TensorType::Q4_K, 256},
                      Case{TensorType::Q4_K, 2816}, Case{TensorType::Q5_K, 512},
                      Case{TensorType::Q6_K, 768}),
    [](const ::testing::TestParamInfo<Case>& p) {
      return std::string(gguf::tensor_type_name(p.param.type)) + "_" + std::to_string(p.param.cols);
    });

TEST(DotKernelsTest, ReportsTheInstructionSet) {
  const std::string isa = dot_kernels_isa();
  EXPECT_TRUE(isa == "avx512vnni" || isa == "avx2" || isa == "scalar") << isa;
  for (const TensorType t : {TensorType::F16, TensorType::Q8_0, TensorType::Q4_K}) {
    const DotKernel* k = find_dot_kernel(t);
    if (k == nullptr) continue;
    EXPECT_GE(k->tile_rows, 1);
    EXPECT_GE(k->tile_cols, 1);
    EXPECT_LE(k->tile_rows * k->tile_cols, kMaxTileArea) << gguf::tensor_type_info(t)->name;
  }
}

}  // namespace
}  // namespace tessera::backend::cpu::test
