// The rows32 matmul path (rows32_gemm.h, F16 / BF16 weights arranged by weight_repack.h)
// against a scalar model of its contract (std::fma in column order), bit for bit: both
// kernels this CPU runs (AVX2, and AVX-512 where present), tokens from 1 (decode) past a tile,
// row counts that are not multiples of the group, odd widths, every thread count, with and
// without bias; and the arrangement read back as documented.
#include "backend/cpu/rows32_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cpu/cpu_isa.h"
#include "backend/cpu/matmul.h"
#include "backend/cpu/weight_repack.h"
#include "backend_test_util.h"

namespace tessera::backend::cpu::test {
namespace {

std::vector<float> widen(TensorType type, const std::vector<uint8_t>& w, int64_t n) {
  std::vector<float> out(static_cast<size_t>(n));
  gguf::tensor_type_info(type)->dequantize(w.data(), out.data(), n);
  return out;
}

// y[t][r] per the contract.
std::vector<float> model(const std::vector<float>& w, const std::vector<float>& x, int64_t rows,
                         int64_t cols, int64_t tokens, const float* bias) {
  std::vector<float> y(static_cast<size_t>(rows * tokens));
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      float acc = 0.0f;
      for (int64_t k = 0; k < cols; ++k) acc = std::fma(w[r * cols + k], x[t * cols + k], acc);
      y[t * rows + r] = bias != nullptr ? acc + bias[r] : acc;
    }
  }
  return y;
}

TEST(Rows32Gemm, ArrangementHoldsEachColumnOfAGroupTogether) {
  const int64_t rows = 37, cols = 21;  // 8-column blocks and a tail
  const std::vector<uint8_t> w = random_weight(TensorType::F16, rows, cols, 3);
  std::vector<uint8_t> arranged(rows32_bytes(rows, cols), 0xAB);
  ASSERT_EQ(arranged.size(), static_cast<size_t>(64 * cols * 2));
  repack_rows32(w.data(), rows, cols, arranged.data());
  for (int64_t r = 0; r < 64; ++r) {
    for (int64_t k = 0; k < cols; ++k) {
      const size_t at = static_cast<size_t>(((r / 32) * cols + k) * 32 + r % 32) * 2;
      uint16_t got, want = 0;
      std::memcpy(&got, arranged.data() + at, 2);
      if (r < rows) std::memcpy(&want, w.data() + (r * cols + k) * 2, 2);
      ASSERT_EQ(got, want) << "row " << r << " column " << k;
    }
  }
}

TEST(Rows32Gemm, KernelsFollowTheContractBitForBit) {
  std::vector<std::pair<std::string, Rows32GemmFn>> kernels;
  if (cpu_isa() != Isa::scalar) kernels.emplace_back("avx2", rows32_gemm_avx2);
  if (cpu_isa() == Isa::avx512vnni) kernels.emplace_back("avx512", rows32_gemm_avx512);
  if (kernels.empty()) GTEST_SKIP() << "no rows32 kernel on this CPU";
  for (const TensorType type : {TensorType::F16, TensorType::BF16}) {
    for (const int64_t rows : {1, 31, 32, 70, 128}) {
      for (const int64_t cols : {1, 17, 96}) {
        const std::vector<uint8_t> w = random_weight(type, rows, cols, 5 + rows);
        std::vector<uint8_t> arranged(rows32_bytes(rows, cols));
        repack_rows32(w.data(), rows, cols, arranged.data());
        const std::vector<float> wf = widen(type, w, rows * cols);
        const std::vector<float> bias = random_floats(9, static_cast<size_t>(rows));
        for (const int64_t tokens : {1, 2, 3, 7, 13}) {
          const std::vector<float> x =
              random_floats(11 + tokens, static_cast<size_t>(tokens * cols));
          for (const bool with_bias : {false, true}) {
            const float* b = with_bias ? bias.data() : nullptr;
            const std::vector<float> want = model(wf, x, rows, cols, tokens, b);
            for (const auto& [name, fn] : kernels) {
              SCOPED_TRACE(name + " " + gguf::tensor_type_name(type) + " rows " +
                           std::to_string(rows) + " cols " + std::to_string(cols) + " tokens " +
                           std::to_string(tokens));
              std::vector<float> y(want.size(), -1.0f);
              fn(type == TensorType::BF16, cols, arranged.data(), 0, rows, x.data(), 0, tokens, b,
                 y.data(), static_cast<size_t>(rows));
              expect_same_bits(y, want, "kernel");
            }
          }
        }
      }
    }
  }
}

TEST(Rows32Gemm, MatmulOnArrangedWeightsIsBatchAndThreadInvariant) {
  if (find_rows32_gemm() == nullptr) GTEST_SKIP() << "no rows32 kernel on this CPU";
  const int64_t rows = 150, cols = 64, tokens = 19;
  const std::vector<uint8_t> w = random_weight(TensorType::F16, rows, cols, 21);
  std::vector<uint8_t> arranged(rows32_bytes(rows, cols));
  repack_rows32(w.data(), rows, cols, arranged.data());
  const WeightView view{TensorType::F16, arranged.data(), rows, cols, backend::Layout::rows32};
  const std::vector<float> x = random_floats(22, static_cast<size_t>(tokens * cols));
  const std::vector<float> bias = random_floats(23, rows);
  const std::vector<float> want =
      model(widen(TensorType::F16, w, rows * cols), x, rows, cols, tokens, bias.data());
  for (const auto& pool : test_pools()) {
    std::vector<float> y(want.size());
    matmul(view, x.data(), tokens, y.data(), bias.data(), pool.get());
    expect_same_bits(y, want, "batch");
    for (int64_t t = 0; t < tokens; t += 5) {
      std::vector<float> alone(static_cast<size_t>(rows));
      matmul(view, x.data() + t * cols, 1, alone.data(), bias.data(), pool.get());
      const std::vector<float> in_batch(want.begin() + t * rows, want.begin() + (t + 1) * rows);
      expect_same_bits(alone, in_batch, "a token alone");
    }
  }
}

}  // namespace
}  // namespace tessera::backend::cpu::test
